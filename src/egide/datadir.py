"""The data directory's private files: created owner-only, and checked so at every start.

The embedded database holds every document, label and journal entry; the
signing key seals the journal; the witness keeps the seals. Readable by the
group or by others, any of them leaks what the labels protect or lets a local
user prepare a forgery. `egide init` creates them 0700 (directories) and 0600
(files) and tightens what already exists; `check_private` refuses to start on
anything looser, naming the chmod to run.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from egide.errors import ConfigurationError
from egide.settings import Settings

_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def sqlite_file(settings: Settings) -> Path | None:
    """The embedded database file, or None when the database is not a SQLite file."""
    try:
        url = make_url(settings.resolved_database_url)
    except ArgumentError:
        return None
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def private_paths(settings: Settings) -> list[tuple[Path, bool]]:
    """The paths that must be owner-only, each with whether it is a directory."""
    paths: list[tuple[Path, bool]] = [
        (settings.data_dir, True),
        (settings.signing_key_path.parent, True),
        (settings.signing_key_path, False),
        (settings.witness_path.parent, True),
        (settings.witness_path, False),
    ]
    database = sqlite_file(settings)
    if database is not None:
        paths += [(Path(f"{database}{suffix}"), False) for suffix in ("", "-wal", "-shm")]
    return paths


def make_private(settings: Settings) -> None:
    """Create the data directory and database file owner-only; tighten them if they exist.

    Raises:
        ConfigurationError: a path cannot be created or changed.
    """
    database = sqlite_file(settings)
    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if database is not None and not database.exists():
            database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created here with its mode, so SQLite (and its -wal and -shm files,
            # which copy the database's mode) never makes it readable by others.
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        for path, is_dir in private_paths(settings):
            if path.exists():
                path.chmod(0o700 if is_dir else 0o600)
    except OSError as error:
        raise ConfigurationError(
            f"cannot make {error.filename or settings.data_dir} private ({error.strerror}); "
            "choose a writable EGIDE_DATA_DIR that you own"
        ) from None


def check_private(settings: Settings) -> None:
    """Refuse to run when the group or other users may read the installation's files.

    Raises:
        ConfigurationError: naming the path and the chmod that fixes it.
    """
    for path, is_dir in private_paths(settings):
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        except OSError as error:
            raise ConfigurationError(f"cannot inspect {path} ({error.strerror})") from None
        if mode & _OPEN_TO_OTHERS:
            wanted = "700" if is_dir else "600"
            raise ConfigurationError(
                f"{path} is open to other users (mode {stat.S_IMODE(mode):o}): "
                f"run chmod {wanted} {path} (or `egide init` to tighten the whole data directory)"
            )
