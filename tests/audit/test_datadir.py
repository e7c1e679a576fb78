"""The data directory is owner-only (finding 9): created so by init, refused otherwise at start."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from egide.app import Platform
from egide.errors import ConfigurationError
from egide.settings import Settings

from .conftest import append_entries, build_platform

EGIDE = shutil.which("egide") or str(Path(sys.executable).parent / "egide")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_everything_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which made the directory 0755 and the database 0644
    try:
        platform = build_platform(tmp_path / "fresh", audit_seal_interval=3600)
        append_entries(platform, 1)
        platform.close()
    finally:
        os.umask(old)
    settings = platform.settings
    assert _mode(settings.data_dir) == 0o700
    assert _mode(settings.data_dir / "egide.db") == 0o600
    assert _mode(settings.signing_key_path) == 0o600
    assert _mode(settings.signing_key_path.parent) == 0o700
    assert _mode(settings.witness_path) == 0o600
    assert _mode(settings.witness_path.parent) == 0o700
    for suffix in ("-wal", "-shm"):
        wal = Path(f"{settings.data_dir / 'egide.db'}{suffix}")
        if wal.exists():
            assert _mode(wal) == 0o600


def test_init_tightens_an_existing_directory(data_dir: Path) -> None:
    data_dir.chmod(0o755)
    platform = build_platform(data_dir)
    platform.close()
    assert _mode(data_dir) == 0o700


@pytest.mark.parametrize(
    ("relative", "mode", "fix"),
    [
        (".", 0o755, "chmod 700"),
        ("egide.db", 0o644, "chmod 600"),
        ("keys/audit-ed25519.pem", 0o640, "chmod 600"),
        ("keys", 0o750, "chmod 700"),
        ("witness", 0o755, "chmod 700"),
    ],
)
def test_start_up_refuses_files_open_to_others(
    data_dir: Path, relative: str, mode: int, fix: str
) -> None:
    build_platform(data_dir).close()
    (data_dir / "witness").mkdir(mode=0o700, exist_ok=True)
    target = data_dir if relative == "." else data_dir / relative
    target.chmod(mode)
    with pytest.raises(ConfigurationError) as caught:
        Platform(Settings(data_dir=data_dir)).check_initialised()
    assert f"run {fix} {target}" in caught.value.message


def test_commands_refuse_an_open_database_with_the_chmod_to_run(data_dir: Path) -> None:
    build_platform(data_dir).close()
    (data_dir / "egide.db").chmod(0o644)
    env = {**os.environ, "EGIDE_DATA_DIR": str(data_dir)}
    env.pop("EGIDE_DATABASE_URL", None)
    done = subprocess.run(
        [EGIDE, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 10, done
    assert f"run chmod 600 {data_dir / 'egide.db'}" in done.stderr
    assert "Traceback" not in done.stderr
