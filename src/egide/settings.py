"""One settings object from which the composition root builds every service.

Every setting can be given as an environment variable `EGIDE_<NAME>`; the data
directory alone relocates the whole installation (`EGIDE_DATA_DIR`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".egide"


class Settings(BaseSettings):
    """Installation settings; see docs/configuration.md for each one."""

    model_config = SettingsConfigDict(env_prefix="EGIDE_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where the embedded database, signing key and imported models live."""

    database_url: str | None = None
    """SQLAlchemy URL; empty means the embedded SQLite file `<data_dir>/egide.db`."""

    policy_files: list[Path] = Field(default_factory=list)
    """Extra security-policy files (TOML) loaded beside the built-in FR and NATO policies."""

    audit_checkpoint_every: int = 100
    """Sign an audit checkpoint every this many journal entries."""

    api_key_ttl_days: int = 365
    """Default lifetime of a new API key, in days (0: no expiry)."""

    @property
    def resolved_database_url(self) -> str:
        """The database URL actually used."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'egide.db'}"

    @property
    def signing_key_path(self) -> Path:
        """Ed25519 private key that signs audit checkpoints."""
        return self.data_dir / "keys" / "audit-ed25519.pem"
