"""Verify the audit chain, its signed checkpoints and the witness's seals.

The walk stops at the first break and names it: an edited entry (its hash no
longer matches its fields), deleted entries (a gap in ``seq``), inserted or
reordered entries (``prev_hash`` does not link), a forged checkpoint (bad
signature or unknown key), a checkpoint that does not match its entry, and a
truncated tail (a checkpoint signed an entry that is gone). Seals read back
from the witness (outside the database) add three more: the witness sealed
entries the database no longer has (``witness_ahead``), an entry no longer
has the hash the witness sealed (``witness_mismatch``), and a seal the
witness holds is missing from the database (``checkpoint_deleted``). In the
database, an entry re-encoded so that its hash still verifies but searches
miss it is ``reencoded`` (:mod:`egide.audit.stored`). Entries appended after
the newest seal can be removed without trace: see docs/audit.md.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from egide.audit.chain import (
    FORMAT_VERSION,
    GENESIS_HASH,
    AuditEntry,
    Checkpoint,
    format_time,
    parse_time,
)
from egide.audit.reading import iter_entries, read_checkpoints
from egide.audit.signing import fingerprint, public_key_from_text, verify_signature
from egide.audit.stored import first_reencoded
from egide.errors import ConfigurationError, IntegrityError


@dataclass(frozen=True)
class VerificationReport:
    """The outcome of a verification.

    Attributes:
        ok: The chain and every checkpoint verify.
        entries: Entries read.
        checkpoints: Checkpoints whose signature and entry hash verified.
        first_bad_seq: The first entry that is wrong (or missing), if any.
        problem: ``edited``, ``deleted``, ``inserted``, ``reordered``,
            ``truncated``, ``bad_signature``, ``unknown_key``,
            ``checkpoint_mismatch``, ``checkpoint_deleted``, ``witness_ahead``,
            ``witness_mismatch``, ``reencoded`` or ``malformed``.
        message: One sentence for a human.
        witnessed: Witness seals that verified (None: no witness was checked).
        warnings: What verifies but deserves a look (a witness that lags).
    """

    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    message: str = "the audit journal verifies"
    witnessed: int | None = None
    warnings: tuple[str, ...] = ()

    def raise_if_broken(self) -> None:
        """Raise :class:`IntegrityError` with the message unless ``ok``."""
        if not self.ok:
            raise IntegrityError(
                f"audit journal broken at entry {self.first_bad_seq}: {self.message}; "
                "keep the database as it is and compare with the last export"
            )


@dataclass(frozen=True)
class _Problem:
    seq: int
    kind: str
    message: str


def verify_chain(
    entries: Iterable[AuditEntry],
    checkpoints: Iterable[Checkpoint],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    witnessed: Iterable[Checkpoint] | None = None,
    witness_name: str | None = None,
) -> VerificationReport:
    """Verify ``entries`` (in stored order) and ``checkpoints`` against trusted keys.

    Args:
        entries: The chain, ordered by ``seq`` as stored.
        checkpoints: Signed checkpoints, any order.
        public_keys: Trusted signer keys by fingerprint.
        witnessed: Seals read back from the witness (None: no witness to check).
        witness_name: Where they come from, for messages.
    """
    cps = sorted(checkpoints, key=lambda cp: cp.seq)
    seals = sorted(witnessed, key=lambda cp: cp.seq) if witnessed is not None else None
    wanted = {cp.seq for cp in cps} | {seal.seq for seal in seals or ()}
    hash_at: dict[int, str] = {}
    seen: dict[str, int] = {GENESIS_HASH: 0}
    prev_seq, prev_hash, count = 0, GENESIS_HASH, 0
    problem: _Problem | None = None
    for entry in entries:
        count += 1
        if problem is None:
            problem = _check_link(entry, prev_seq, prev_hash, seen)
        seen[entry.hash] = entry.seq
        if entry.seq in wanted:
            hash_at.setdefault(entry.seq, entry.hash)
        prev_seq, prev_hash = max(prev_seq, entry.seq), entry.hash
    verified = 0
    for cp in cps:
        cp_problem = _check_checkpoint(cp, public_keys, hash_at, last_seq=prev_seq)
        if cp_problem is None:
            verified += 1
        elif problem is None or cp_problem.seq < problem.seq:
            problem = cp_problem
    witness_count: int | None = None
    warnings: tuple[str, ...] = ()
    if seals is not None:
        witness = _Witnessed(seals, cps, public_keys, witness_name or "the witness")
        witness_count, seal_problem = witness.check(hash_at, last_seq=prev_seq)
        if seal_problem is not None and (problem is None or seal_problem.seq < problem.seq):
            problem = seal_problem
        warnings = witness.warnings()
    if problem is None:
        return VerificationReport(
            ok=True,
            entries=count,
            checkpoints=verified,
            witnessed=witness_count,
            warnings=warnings,
        )
    return VerificationReport(
        ok=False,
        entries=count,
        checkpoints=verified,
        first_bad_seq=problem.seq,
        problem=problem.kind,
        message=problem.message,
        witnessed=witness_count,
        warnings=warnings,
    )


@dataclass(frozen=True)
class _Witnessed:
    """The witness's seals, checked against the chain and the database's checkpoints."""

    seals: list[Checkpoint]
    stored: list[Checkpoint]
    public_keys: Mapping[str, Ed25519PublicKey]
    name: str

    def check(self, hash_at: Mapping[int, str], *, last_seq: int) -> tuple[int, _Problem | None]:
        """How many seals verify, and the first problem they reveal."""
        stored = {(cp.seq, cp.signature) for cp in self.stored}
        stored_beyond = any(cp.seq > last_seq for cp in self.stored)
        verified = 0
        for seal in self.seals:
            found = self._check_one(seal, hash_at, stored, last_seq, stored_beyond)
            if found is not None:
                return verified, found
            verified += 1
        return verified, None

    def _check_one(
        self,
        seal: Checkpoint,
        hash_at: Mapping[int, str],
        stored: set[tuple[int, str]],
        last_seq: int,
        stored_beyond: bool,
    ) -> _Problem | None:
        forged = _check_signature(seal, self.public_keys, f"the seal in {self.name}")
        if forged is not None:
            return forged
        if seal.seq > last_seq:
            if stored_beyond:  # the database's own checkpoints say so: reported as truncated
                return None
            return _Problem(
                last_seq + 1,
                "witness_ahead",
                f"{self.name} sealed entry {seal.seq} at {format_time(seal.time)} but the "
                f"database's journal ends at entry {last_seq} with no checkpoint past it: "
                f"entries {last_seq + 1} to {seal.seq} were deleted together with their "
                "checkpoints, or the database was restored from a backup older than the witness",
            )
        if hash_at.get(seal.seq) != seal.entry_hash:
            return _Problem(
                seal.seq,
                "witness_mismatch",
                f"entry {seal.seq} does not have the hash {self.name} sealed: the journal "
                "was rewritten up to it and re-chained",
            )
        if (seal.seq, seal.signature) not in stored:
            return _Problem(
                seal.seq,
                "checkpoint_deleted",
                f"{self.name} holds the seal of entry {seal.seq} made at "
                f"{format_time(seal.time)} but the database has lost that checkpoint: "
                "checkpoints were deleted",
            )
        return None

    def warnings(self) -> tuple[str, ...]:
        """A witness that lags the database (seals lost in a crash, or the witness cut)."""
        newest_stored = max((cp.seq for cp in self.stored), default=0)
        newest_seal = max((seal.seq for seal in self.seals), default=0)
        if newest_stored <= newest_seal:
            return ()
        return (
            f"{self.name} holds seals up to entry {newest_seal} but the database has a "
            f"checkpoint of entry {newest_stored}: the witness lags (a crash between commit "
            "and witness write, seals made before the witness existed, or the witness was "
            "cut); compare it with a copy kept elsewhere",
        )


def _check_link(
    entry: AuditEntry, prev_seq: int, prev_hash: str, seen: dict[str, int]
) -> _Problem | None:
    seq = entry.seq
    if seq <= prev_seq:
        return _Problem(seq, "inserted", f"entry {seq} appears twice or out of order")
    if seq > prev_seq + 1:
        missing = f"{prev_seq + 1}" if seq == prev_seq + 2 else f"{prev_seq + 1} to {seq - 1}"
        return _Problem(prev_seq + 1, "deleted", f"entries {missing} are missing (deleted)")
    if entry.prev_hash != prev_hash:
        earlier = seen.get(entry.prev_hash)
        if earlier is not None:
            # It links to an older entry: whatever sits in between was slipped in.
            return _Problem(
                earlier + 1,
                "inserted",
                f"entry {seq} links to entry {earlier}: entries {earlier + 1} to {seq - 1} "
                "were inserted",
            )
        return _Problem(
            seq,
            "reordered",
            f"entry {seq} does not link to entry {prev_seq}: entries were reordered, "
            f"or entry {prev_seq} was rewritten",
        )
    try:
        computed = entry.computed_hash()
    except (TypeError, ValueError):  # a field stored as something JSON cannot hold
        computed = None
    if computed != entry.hash:
        return _Problem(seq, "edited", f"entry {seq} does not match its hash (edited)")
    return None


def _check_checkpoint(
    cp: Checkpoint,
    public_keys: Mapping[str, Ed25519PublicKey],
    hash_at: Mapping[int, str],
    *,
    last_seq: int,
) -> _Problem | None:
    forged = _check_signature(cp, public_keys, "checkpoint")
    if forged is not None:
        return forged
    if cp.seq > last_seq:
        return _Problem(
            last_seq + 1,
            "truncated",
            f"a checkpoint signed entry {cp.seq} but the journal ends at entry {last_seq}: "
            "the tail was deleted",
        )
    if hash_at.get(cp.seq) != cp.entry_hash:
        return _Problem(
            cp.seq,
            "checkpoint_mismatch",
            f"entry {cp.seq} does not have the hash its checkpoint signed (replaced)",
        )
    return None


def _check_signature(
    cp: Checkpoint, public_keys: Mapping[str, Ed25519PublicKey], what: str
) -> _Problem | None:
    key = public_keys.get(cp.key_fingerprint)
    if key is None:
        return _Problem(
            cp.seq,
            "unknown_key",
            f"{what} at entry {cp.seq} is signed by unknown key {cp.key_fingerprint[:16]}…",
        )
    try:
        signature = base64.b64decode(cp.signature, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not verify_signature(key, signature, cp.payload()):
        return _Problem(
            cp.seq, "bad_signature", f"{what} at entry {cp.seq} has an invalid signature"
        )
    return None


def _key_map(public_keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    return {fingerprint(key): key for key in public_keys}


def verify_database(
    session: Session,
    public_keys: Iterable[Ed25519PublicKey],
    *,
    witnessed: Iterable[Checkpoint] | None = None,
    witness_name: str | None = None,
) -> VerificationReport:
    """Verify the journal stored in the database against the trusted signer keys.

    Args:
        session: Any session.
        public_keys: Trusted signer keys.
        witnessed: Seals read from the witness *before* this call (None: no witness).
        witness_name: Where they come from, for messages.
    """
    # Checkpoints first: any entry a checkpoint names is then already committed
    # when the entries are read, even under READ COMMITTED. Witness seals are
    # read before both: a seal reaches the witness only after its commit.
    checkpoints = read_checkpoints(session)
    reencoded = first_reencoded(session)
    try:
        report = verify_chain(
            iter_entries(session),
            checkpoints,
            _key_map(public_keys),
            witnessed=witnessed,
            witness_name=witness_name,
        )
    except (TypeError, ValueError) as err:  # a stored value the database layer cannot read
        if reencoded is None:
            return _malformed(0, f"an entry cannot be read back: {err}")
        report = VerificationReport(ok=False, entries=0, checkpoints=0)
    if reencoded is None:
        return report
    if report.first_bad_seq is not None and report.first_bad_seq <= reencoded[0]:
        return report
    seq, what = reencoded
    return replace(
        report,
        ok=False,
        first_bad_seq=seq,
        problem="reencoded",
        message=(
            f"entry {seq} is not stored as the journal wrote it: {what}; its hash still "
            "verifies, but searches of the journal miss it (the row was rewritten)"
        ),
    )


def verify_file(
    path: Path,
    *,
    trusted_keys: Iterable[Ed25519PublicKey] | None = None,
    witnessed: Iterable[Checkpoint] | None = None,
    witness_name: str | None = None,
) -> VerificationReport:
    """Verify an export (see :mod:`egide.audit.export`) without any database.

    Args:
        path: The JSON-lines export.
        trusted_keys: Keys obtained out of band. If omitted, the keys in the
            file header are used: that proves the file is self-consistent, not
            that it comes from your installation.
        witnessed: Seals from a witness; those made after the export are ignored.
        witness_name: Where they come from, for messages.
    """
    entries: list[AuditEntry] = []
    checkpoints: list[Checkpoint] = []
    header: dict[str, Any] | None = None
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    kind = record.get("type")
                    if number == 1:
                        if kind != "header" or record.get("format") != FORMAT_VERSION:
                            raise ValueError(f"not an {FORMAT_VERSION} export header")
                        header = record
                    elif kind == "entry":
                        entries.append(AuditEntry.from_json(record))
                    elif kind == "checkpoint":
                        checkpoints.append(Checkpoint.from_json(record))
                    else:
                        raise ValueError(f"unknown line type {kind!r}")
                except (ValueError, KeyError, TypeError, AttributeError) as err:
                    return _malformed(len(entries), f"line {number} is malformed: {err}")
    except OSError as err:
        raise ConfigurationError(f"cannot read {path}: {err.strerror}") from err
    if header is None:
        return _malformed(0, "the file is empty: expected an export header line")
    if trusted_keys is None:
        try:
            trusted_keys = [public_key_from_text(k["key"]) for k in header.get("public_keys", [])]
        except (ConfigurationError, KeyError, TypeError):
            return _malformed(len(entries), "the header's public keys are malformed")
    if witnessed is not None:
        try:
            exported_at = parse_time(str(header.get("exported_at")))
        except ValueError:
            return _malformed(len(entries), "the header's exported_at is not a time")
        witnessed = [seal for seal in witnessed if seal.time <= exported_at]
    return verify_chain(
        entries,
        checkpoints,
        _key_map(trusted_keys),
        witnessed=witnessed,
        witness_name=witness_name,
    )


def _malformed(entries: int, message: str) -> VerificationReport:
    return VerificationReport(
        ok=False, entries=entries, checkpoints=0, problem="malformed", message=message
    )
