"""Witnesses: copies of the journal's signed seals kept outside the database.

A seal (a :class:`~egide.audit.chain.Checkpoint`) says "entry ``seq`` had
hash ``entry_hash`` at ``time``", signed with the audit key. Seals stored only
in the database can be deleted together with the entries they name, so each
seal is also handed to a witness that the database's owner cannot rewrite:
by default an append-only, fsynced file in its own directory (put it on
another volume), or any other :class:`Witness`. ``egide audit verify`` reads
the witness back and checks the chain against every seal it holds
(docs/audit.md).

A seal reaches the witness only after the transaction that stored it has
committed, so an honest witness is never ahead of the database.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Protocol

from egide.audit.chain import Checkpoint
from egide.errors import ConfigurationError


class Witness(Protocol):
    """Somewhere outside the database that keeps every seal."""

    description: str
    """Where the seals go, for messages (``file /srv/witness/seals.jsonl``)."""

    def record(self, seal: Checkpoint) -> None:
        """Keep ``seal`` durably; returns once it is stored."""

    def seals(self) -> list[Checkpoint]:
        """Every seal kept so far, in the order received."""

    def close(self) -> None:
        """Release connections; the next call opens them again."""


class FileWitness:
    """Seals as JSON lines appended to a file (mode 0600 in a 0700 directory), fsynced.

    The file is only ever opened with ``O_APPEND``: a seal is never rewritten.
    Make it append-only for the operating system too where you can
    (``chattr +a``) and keep it on another volume than the database.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"witness file {path}"

    def record(self, seal: Checkpoint) -> None:
        """Append one line and fsync it.

        Raises:
            ConfigurationError: the file cannot be created or written.
        """
        line = json.dumps(seal.to_json(), separators=(",", ":")) + "\n"
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as err:
            raise ConfigurationError(
                f"cannot write the audit {self.description} ({err.strerror}): "
                "point EGIDE_AUDIT_WITNESS_FILE at a writable file"
            ) from err

    def seals(self) -> list[Checkpoint]:
        """Every seal in the file; a last line cut short by a crash is ignored.

        Raises:
            ConfigurationError: the file is unreadable, or a complete line is not a seal.
        """
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigurationError(
                f"cannot read the audit {self.description} ({err}): "
                "check the file, or point --witness at a copy of it"
            ) from err
        lines = text.split("\n")
        complete, tail = lines[:-1], lines[-1]
        seals: list[Checkpoint] = []
        for number, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            try:
                seals.append(Checkpoint.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as err:
                raise ConfigurationError(
                    f"line {number} of the audit {self.description} is not a seal ({err}): "
                    "the witness was edited; keep it as it is and compare it with a copy"
                ) from err
        del tail  # a torn final write: the seal is still in the database
        return seals

    def close(self) -> None:
        """Nothing to release: the file is opened for each seal."""

    def check_private(self) -> None:
        """Refuse a witness file or directory that other users may read or write.

        Raises:
            ConfigurationError: naming the chmod to run.
        """
        for path, mode in ((self.path.parent, "700"), (self.path, "600")):
            try:
                bits = path.stat().st_mode
            except FileNotFoundError:
                continue
            except OSError as err:
                raise ConfigurationError(f"cannot inspect {path}: {err.strerror}") from err
            if bits & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigurationError(
                    f"the audit witness {path} is open to other users: run chmod {mode} {path}"
                )


class AllWitnesses:
    """Several witnesses as one: each seal goes to every one; their seals are read together.

    A witness that fails does not stop the others from receiving the seal.
    """

    def __init__(self, witnesses: list[Witness]) -> None:
        self.witnesses = witnesses
        self.description = " and ".join(w.description for w in witnesses)

    def record(self, seal: Checkpoint) -> None:
        """Hand `seal` to every witness; raise the first failure once all were tried."""
        failure: Exception | None = None
        for witness in self.witnesses:
            try:
                witness.record(seal)
            except Exception as error:  # re-raised below, once the others have it
                failure = failure or error
        if failure is not None:
            raise failure

    def seals(self) -> list[Checkpoint]:
        """Every distinct seal any witness holds, by sequence number.

        A seal cut from one witness but kept by another is still checked.
        """
        distinct: dict[tuple[int, str], Checkpoint] = {}
        for witness in self.witnesses:
            for seal in witness.seals():
                distinct.setdefault((seal.seq, seal.signature), seal)
        return sorted(distinct.values(), key=lambda seal: seal.seq)

    def close(self) -> None:
        """Close every witness."""
        for witness in self.witnesses:
            witness.close()
