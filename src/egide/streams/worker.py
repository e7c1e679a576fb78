"""A stream worker: read each message, process it through the service, then acknowledge.

Two sources share the same `Worker.handle`:

- a file of JSON lines, or standard input (`run_file`): no broker; each line
  is a message and its place (`file:NAME:LINE`) names it in quarantine;
- NATS JetStream (`run_nats`, in `egide.streams.nats`): a durable pull
  consumer that several workers share.

`handle` returns only once the message's results (or its quarantine entry)
are committed; a source acknowledges after that, never before. A worker that
dies between the two leaves the message unacknowledged: it is delivered again,
finds its result, and changes nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from egide.core.labels import PolicyRegistry
from egide.streams.extract import Extractor
from egide.streams.message import (
    KEPT_RAW_CHARS,
    MAX_ID_CHARS,
    MAX_MESSAGE_BYTES,
    Message,
    Rejected,
    read_message,
)
from egide.streams.metrics import WorkerMetrics
from egide.streams.service import Processed, StreamService
from egide.streams.structured import ModelExtractor

MAX_ERROR_CHARS = 500


@dataclass
class RunStats:
    """What a run did, counted as it goes."""

    processed: int = 0
    duplicates: int = 0
    quarantined: int = 0
    alerts: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)
    metrics: WorkerMetrics | None = None

    def count(self, outcome: Outcome, published: datetime | None = None) -> None:
        """Add one message's outcome; its alerts' latency runs from `published`.

        `published` is when the transport received the message (JetStream's
        timestamp); None takes the message's own `received` time (a file).
        """
        metrics = self.metrics
        if outcome.rejected is not None:
            self.quarantined += 1
            if len(self.reasons) < 20:
                self.reasons.append(f"{outcome.rejected[0]}: {outcome.rejected[1]}")
            if metrics is not None:
                metrics.handled("quarantined")
                if outcome.dead_letter:
                    metrics.dead_letters.labels(metrics.worker).inc()
        elif outcome.processed is not None:
            if outcome.processed.duplicate:
                self.duplicates += 1
                if metrics is not None:
                    metrics.handled("duplicate")
            else:
                self.processed += 1
                self.alerts += len(outcome.processed.alerts)
                if metrics is not None:
                    metrics.handled("processed")
                    metrics.raised(len(outcome.processed.alerts), published or outcome.received)

    def fail(self) -> None:
        """Count one message whose processing failed (it will be delivered again)."""
        self.failed += 1
        if self.metrics is not None:
            self.metrics.handled("failed")


@dataclass(frozen=True)
class Outcome:
    """One message handled: processed (maybe a duplicate), or quarantined (source, reason)."""

    processed: Processed | None = None
    rejected: tuple[str, str] | None = None
    newly_quarantined: bool = False
    received: datetime | None = None
    dead_letter: bool = False


class Worker:
    """Reads messages, has the service process or quarantine them.

    Args:
        service: The stream service (it decides, stores and journals).
        policies: The loaded security policies (to read labels).
        name: How the journal names this worker (`stream:<name>`).
        max_bytes: Largest message accepted.
        extractors: The extractors to run (None: the whole registry).
        model: The optional model stage (structured extraction under a JSON schema).
    """

    def __init__(
        self,
        service: StreamService,
        policies: PolicyRegistry,
        *,
        name: str,
        max_bytes: int = MAX_MESSAGE_BYTES,
        extractors: Mapping[str, Extractor] | None = None,
        model: ModelExtractor | None = None,
    ) -> None:
        self.service = service
        self.model = model
        self.name = name
        self.max_bytes = max_bytes
        self._policies = policies
        self._extractors = extractors

    def handle(
        self, raw: bytes, *, source: str, header_label: str | Sequence[str] | None = None
    ) -> Outcome:
        """Process or quarantine one message; returns once that is committed."""
        return self.handle_many([(raw, source, header_label)])[0]

    def handle_many(
        self, batch: Sequence[tuple[bytes, str, str | Sequence[str] | None]]
    ) -> list[Outcome]:
        """Process or quarantine (raw, source, header label) messages, in one commit when valid.

        Returns once everything is committed, the outcomes in the batch's order.
        """
        outcomes: list[Outcome | None] = []
        valid: list[tuple[int, Message]] = []
        for raw, source, header in batch:
            read: Message | Rejected
            try:
                read = read_message(
                    raw,
                    self._policies,
                    source=source,
                    header_label=header,
                    max_bytes=self.max_bytes,
                )
            except Exception:  # one message must never stop the flow: keep it aside
                read = _failed(raw, source)
            if isinstance(read, Message):
                valid.append((len(outcomes), read))
                outcomes.append(None)
            else:
                new = self.service.quarantine(read, worker=self.name)
                outcomes.append(Outcome(rejected=(read.source, read.reason), newly_quarantined=new))
        if valid:
            done = self._process([m for _, m in valid])
            for (at, message), processed in zip(valid, done, strict=True):
                outcomes[at] = Outcome(processed=processed, received=message.received)
        for at, message in valid:
            outcome = outcomes[at]
            if outcome is not None and outcome.processed is not None and outcome.processed.reused:
                rejected = Rejected(
                    "id reused with different content",
                    _failed(batch[at][0], message.source).raw,
                    message.source,
                    message.id,
                    message.received,
                )
                new = self.service.quarantine(rejected, worker=self.name)
                outcomes[at] = Outcome(
                    rejected=(rejected.source, rejected.reason), newly_quarantined=new
                )
        return [o for o in outcomes if o is not None]

    def _process(self, messages: list[Message]) -> list[Processed]:
        """Process valid messages in one commit; a failure raises (the source retries them)."""
        return self.service.process_many(
            messages, worker=self.name, extractors=self._extractors, model=self.model
        )

    def dead_letter(self, raw: bytes, *, source: str, attempts: int, error: str) -> Outcome:
        """Quarantine a message whose processing failed `attempts` times (reason `failed N times`).

        A message that keeps failing — a database error, a bug an input
        triggers — is not delivered for ever: past the limit it is kept in
        quarantine with the last error, and the flow goes on.
        """
        text = raw[:KEPT_RAW_CHARS].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        reason = f"failed {attempts} times: {error}"[:MAX_ERROR_CHARS]
        rejected = Rejected(reason, text, source, _claimed_id(raw), datetime.now(UTC))
        new = self.service.quarantine(rejected, worker=self.name)
        return Outcome(rejected=(source, reason), newly_quarantined=new, dead_letter=True)


def _claimed_id(raw: bytes) -> str | None:
    """The id a message claims, if it can be read (for the quarantine list only)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    if isinstance(found, str) and 0 < len(found) <= MAX_ID_CHARS and found.isprintable():
        return found
    return None


def _failed(raw: bytes, source: str) -> Rejected:
    kept = raw[:KEPT_RAW_CHARS].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return Rejected("processing failed", kept, source, None, datetime.now(UTC))


def run_file(
    worker: Worker, path: str, *, batch: int = 64, metrics: WorkerMetrics | None = None
) -> RunStats:
    """Process every line of a JSON-lines file (`-`: standard input) and return the counts.

    Lines are committed `batch` at a time (standard input: a line waits for its batch).
    """
    stats = RunStats(metrics=metrics)
    if path == "-":
        # Standard input is not a file that can be read again: its lines are named by run.
        name = f"stdin@{datetime.now(UTC):%Y%m%dT%H%M%S.%f}"
        _run_lines(worker, sys.stdin.buffer, name, stats, batch)
        return stats
    with Path(path).open("rb") as stream:
        _run_lines(worker, stream, f"file:{path}", stats, batch)
    return stats


def _run_lines(worker: Worker, stream: BinaryIO, name: str, stats: RunStats, batch: int) -> None:
    pending: list[tuple[bytes, str, str | None]] = []
    for number, line in _lines(stream, worker.max_bytes):
        pending.append((line, f"{name}:{number}", None))
        if len(pending) >= batch:
            _handle_lines(worker, pending, stats)
            pending = []
    _handle_lines(worker, pending, stats)


def _handle_lines(
    worker: Worker, pending: list[tuple[bytes, str, str | None]], stats: RunStats
) -> None:
    started = time.perf_counter()
    outcomes = worker.handle_many(pending)
    if stats.metrics is not None and pending:
        stats.metrics.batch_seconds.labels(worker.name).observe(time.perf_counter() - started)
    for outcome in outcomes:
        stats.count(outcome)


def _lines(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their number; a line past `max_bytes` is cut (and so oversize).

    The rest of an oversize line is read and thrown away in pieces, never held whole.
    """
    number = 0
    while True:
        line = stream.readline(max_bytes + 2)
        if not line:
            return
        number += 1
        if not line.endswith(b"\n") and len(line) > max_bytes:
            while True:
                rest = stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
        elif not line.strip():
            continue
        yield number, line.rstrip(b"\r\n")
