"""The append-only, hash-chained audit journal.

Entries are written in the caller's session, so an action and its entry
commit or roll back together (ARCHITECTURE.md, invariant 3). Appends are
serialised on the chain head: SQLite transactions begin with ``BEGIN
IMMEDIATE`` (see ``egide.store.database``), PostgreSQL takes a transaction
advisory lock, so two writers never read the same head.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from sqlalchemy import Table, event, func, insert, select, text
from sqlalchemy.orm import Session

from egide.audit.chain import GENESIS_HASH, AuditEntry, Checkpoint, checkpoint_payload, entry_hash
from egide.audit.export import export_journal
from egide.audit.reading import read_checkpoints, to_entry
from egide.audit.sealing import Sealer
from egide.audit.signing import SigningKey
from egide.audit.verify import VerificationReport, verify_database
from egide.audit.witness import Witness
from egide.errors import InvalidInput
from egide.store.labels import intern_label
from egide.store.models import AuditCheckpointRecord, AuditEntryRecord, LabelRecord, utcnow

# Any constant works as long as every Égide process uses the same one.
_CHAIN_HEAD_LOCK = 0x41554454  # "AUDT"
_INSERT_ENTRY = insert(cast(Table, AuditEntryRecord.__table__))
_HEAD = (
    select(AuditEntryRecord.seq, AuditEntryRecord.hash)
    .order_by(AuditEntryRecord.seq.desc())
    .limit(1)
)


@dataclass(frozen=True)
class NewEntry:
    """An entry to append: who did what to which objects, under which label."""

    actor: str
    action: str
    label: str
    objects: Sequence[str] = ()
    details: Mapping[str, Any] | None = None


def _clean(entry: NewEntry) -> tuple[NewEntry, list[str], dict[str, Any]]:
    """The entry with its objects and details as they will be read back.

    A JSON round trip gives exactly the values that will be read back (tuples
    become lists, keys become strings), so the hash stays valid.

    Raises:
        InvalidInput: they are not plain JSON.
    """
    if isinstance(entry.objects, str):
        raise InvalidInput('audit objects must be a list of "kind:id" strings, not one string')
    try:
        objects = [str(item) for item in entry.objects]
        details = json.loads(json.dumps(dict(entry.details or {}), allow_nan=False))
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"audit details must be plain JSON: {err}") from err
    return entry, objects, details


class Journal:
    """Appends, seals, reads, verifies and exports the audit journal.

    Args:
        signing_key: Signs checkpoints (seals); keep it outside the database.
        checkpoint_every: Sign a checkpoint after every this many entries.
        witness: Where every committed seal is also written, outside the database.
    """

    def __init__(
        self,
        signing_key: SigningKey,
        *,
        checkpoint_every: int = 100,
        witness: Witness | None = None,
    ) -> None:
        if checkpoint_every < 1:
            raise InvalidInput("checkpoint_every must be at least 1 (EGIDE_AUDIT_CHECKPOINT_EVERY)")
        self.signing_key = signing_key
        self.checkpoint_every = checkpoint_every
        self.witness = witness
        # (engine, canonical label) -> labels.id; interned labels are never deleted.
        self._label_ids: dict[tuple[int, str], int] = {}
        # Writes seals to the witness, and seals on a timer once `start_sealing` is called.
        self._sealer = Sealer(lambda: 0, witness, 0)
        self._sealed_seq = 0

    def start_sealing(self, transaction: Callable[[], Any], interval: float) -> None:
        """Seal the head within `interval` seconds of every append, on a background thread.

        Args:
            transaction: Opens a transaction (`Database.transaction`).
            interval: Most seconds an entry waits for its seal (0: count-based only).
        """
        self._sealer.close()

        def seal_head() -> int:
            with transaction() as session:
                return self._seal_head(session)

        self._sealer = Sealer(seal_head, self.witness, interval)

    def close(self) -> None:
        """Seal any unsealed entry and write pending seals to the witness (at shutdown)."""
        self._sealer.close()
        if self.witness is not None:
            self.witness.close()

    def append(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        objects: Sequence[str] = (),
        label: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Add one entry to the chain, inside the caller's transaction.

        Args:
            session: The session of the action being recorded.
            actor: Who acted (``Principal.audit_name``), or ``"system"``.
            action: A dotted verb such as ``"label.change"``.
            objects: What the action touched, as ``"kind:id"`` strings.
            label: Canonical label of the entry (what an auditor needs to read it).
            details: Any JSON object; stored and hashed as canonical JSON.

        Raises:
            InvalidInput: ``details`` or ``objects`` are not plain JSON.
        """
        return self.append_many(session, [NewEntry(actor, action, label, objects, details)])[0]

    def append_many(self, session: Session, entries: Sequence[NewEntry]) -> list[AuditEntry]:
        """Add entries to the chain in order, inside the caller's transaction.

        One read of the chain head and one insert for all of them, which is what
        lets a writer commit many requests' entries at the cost of one.

        Raises:
            InvalidInput: an entry's ``details`` or ``objects`` are not plain JSON;
                nothing is written.
        """
        cleaned = [_clean(entry) for entry in entries]
        if not cleaned:
            return []
        self._lock_chain_head(session)
        head = session.execute(_HEAD).first()
        seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        rows: list[dict[str, Any]] = []
        appended: list[AuditEntry] = []
        for entry, objects, details in cleaned:
            seq += 1
            time = utcnow()
            digest = entry_hash(
                seq=seq,
                time=time,
                actor=entry.actor,
                action=entry.action,
                objects=objects,
                label=entry.label,
                details=details,
                prev_hash=prev_hash,
            )
            rows.append(
                {
                    "seq": seq,
                    "time": time,
                    "actor": entry.actor,
                    "action": entry.action,
                    "objects": objects,
                    "label_id": self._label_id(session, entry.label),
                    "details": details,
                    "prev_hash": prev_hash,
                    "hash": digest,
                }
            )
            appended.append(
                AuditEntry(
                    seq,
                    time,
                    entry.actor,
                    entry.action,
                    objects,
                    entry.label,
                    details,
                    prev_hash,
                    digest,
                )
            )
            prev_hash = digest
        # One Core statement built once, parameters bound per entry: no ORM unit of
        # work, no statement construction (an append is on the path of every request).
        session.execute(_INSERT_ENTRY, rows)
        for done in appended:
            if done.seq % self.checkpoint_every == 0:
                self._sign(session, done.seq, done.hash)
        self._sealer.appended(seq)
        return appended

    def _label_id(self, session: Session, label: str) -> int:
        """The interned id of `label`, remembered once a transaction that used it committed."""
        bind = session.get_bind()
        known = self._label_ids.get((id(bind), label))
        if known is not None:
            return known
        label_id = intern_label(session, label)

        def remember(_session: Session) -> None:
            # Only after commit: an id interned by a transaction that rolls back is void.
            self._label_ids[(id(bind), label)] = label_id

        event.listen(session, "after_commit", remember, once=True)
        return label_id

    def checkpoint(self, session: Session) -> Checkpoint | None:
        """Sign the current head now; ``None`` if the journal is empty.

        The sealer (`start_sealing`) does this on a timer; call it yourself
        where no sealer runs.
        """
        self._lock_chain_head(session)
        head = session.execute(_HEAD).first()
        if head is None:
            return None
        return self._sign(session, head.seq, head.hash)

    def _seal_head(self, session: Session) -> int:
        """Sign the head unless this process already sealed it; returns its ``seq``."""
        self._lock_chain_head(session)
        head = session.execute(_HEAD).first()
        if head is None:
            return 0
        if head.seq > self._sealed_seq:
            self._sign(session, head.seq, head.hash)
        return int(head.seq)

    def _sign(self, session: Session, seq: int, digest: str) -> Checkpoint:
        time = utcnow()
        fingerprint = self.signing_key.fingerprint
        payload = checkpoint_payload(
            seq=seq, entry_hash=digest, time=time, key_fingerprint=fingerprint
        )
        signature = base64.b64encode(self.signing_key.sign(payload)).decode("ascii")
        session.add(
            AuditCheckpointRecord(
                seq=seq,
                entry_hash=digest,
                time=time,
                key_fingerprint=fingerprint,
                signature=signature,
            )
        )
        session.flush()
        seal = Checkpoint(seq, digest, time, fingerprint, signature)

        def committed(_session: Session) -> None:
            # Only a committed seal may reach the witness: one from a transaction
            # that rolled back would make the witness look ahead of the database.
            self._sealed_seq = max(self._sealed_seq, seq)
            self._sealer.sealed(seal)

        event.listen(session, "after_commit", committed, once=True)
        return seal

    @staticmethod
    def _lock_chain_head(session: Session) -> None:
        if session.get_bind().dialect.name == "postgresql":
            # Held until commit/rollback; READ COMMITTED (the default) then lets
            # the next statement see the head committed by the previous holder.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_HEAD_LOCK})
        # SQLite: the transaction already holds the database write lock.

    def entries(
        self,
        session: Session,
        *,
        readable_labels: Collection[str] | None,
        since_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries after ``since_seq``, oldest first, whose label the reader may read.

        Args:
            session: Any session.
            readable_labels: Canonical labels the reader may see (decided by the
                policy module); ``None`` means no restriction. The filter runs
                in the SQL query.
            since_seq: Return entries with a greater sequence number.
            limit: At most this many entries.
        """
        query = (
            select(AuditEntryRecord, LabelRecord.canonical)
            .join(LabelRecord, AuditEntryRecord.label_id == LabelRecord.id)
            .where(AuditEntryRecord.seq > since_seq)
            .order_by(AuditEntryRecord.seq)
            .limit(limit)
        )
        if readable_labels is not None:
            query = query.where(LabelRecord.canonical.in_(list(readable_labels)))
        return [to_entry(record, canonical) for record, canonical in session.execute(query)]

    def count(self, session: Session) -> int:
        """How many entries the journal holds."""
        return session.scalar(select(func.count()).select_from(AuditEntryRecord)) or 0

    def checkpoints(self, session: Session) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        return read_checkpoints(session)

    def verify(self, session: Session, *, witness: Witness | None = None) -> VerificationReport:
        """Verify the chain, its checkpoints and the witness's seals against this journal's key.

        Args:
            session: Any session.
            witness: The witness to check against (default: this journal's own).
        """
        chosen = witness or self.witness
        seals = chosen.seals() if chosen is not None else None
        return verify_database(
            session,
            [self.signing_key.public_key],
            witnessed=seals,
            witness_name=chosen.description if chosen is not None else None,
        )

    def export(self, session: Session, out: IO[str]) -> int:
        """Write the journal as JSON lines to ``out``; returns the number of entries."""
        return export_journal(session, out, [self.signing_key.public_key])
