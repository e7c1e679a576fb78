"""Prometheus metrics of one stream worker, in its own `CollectorRegistry`.

A worker is a process of its own: it serves its metrics on its own port
(`--metrics-port`, loopback unless `--metrics-address` says otherwise), read by
Prometheus like any exporter. What it exports:

- `egide_stream_messages_total{outcome}`: messages handled, by outcome
  (`processed`, `duplicate` — a redelivery whose result was already stored —,
  `quarantined`, `failed` — an error in processing; the message is delivered again);
- `egide_stream_dead_letters_total`: messages quarantined after failing
  `--max-deliver` times;
- `egide_stream_alerts_total`: alerts raised (a redelivered message's alerts
  are not counted again);
- `egide_stream_alert_latency_seconds`: from the message's publication
  (JetStream's timestamp; `received` for a file) to its alerts committed and
  published — what an analyst waits;
- `egide_stream_batch_seconds`: time to analyse and commit one batch;
- `egide_stream_consumer_pending`, `egide_stream_consumer_ack_pending`,
  `egide_stream_consumer_redelivered`: the durable consumer's lag as the NATS
  server reports it (shared by every worker of the flow), refreshed every few
  seconds; `egide_stream_consumer_lag` is pending plus ack-pending;
- the usual `process_*` metrics of the process (CPU seconds, memory).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from threading import Lock
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client import start_http_server as _start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from egide.store import Database
from egide.streams.records import AlertRecord, StreamQuarantineRecord, StreamResultRecord

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _ConsumerCollector(Collector):
    """The durable consumer's lag as last read from the server, with the time it was read."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._values: dict[str, float] | None = None
        self._labels: tuple[str, str] = ("", "")

    def update(
        self, stream: str, durable: str, pending: int, ack_pending: int, redelivered: int
    ) -> None:
        with self._lock:
            self._labels = (stream, durable)
            self._values = {
                "pending": float(pending),
                "ack_pending": float(ack_pending),
                "redelivered": float(redelivered),
                "read_at": time.time(),
            }

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            values, labels = self._values, self._labels
        if values is None:
            return
        names = ["stream", "consumer"]
        described = {
            "pending": "Messages of the stream not yet delivered to any worker",
            "ack_pending": "Messages delivered to a worker and not yet acknowledged",
            "redelivered": "Messages delivered more than once and not yet acknowledged",
        }
        for key, text in described.items():
            family = GaugeMetricFamily(f"egide_stream_consumer_{key}", text, labels=names)
            family.add_metric(list(labels), values[key])
            yield family
        lag = GaugeMetricFamily(
            "egide_stream_consumer_lag", "Pending plus ack-pending messages", labels=names
        )
        lag.add_metric(list(labels), values["pending"] + values["ack_pending"])
        yield lag
        read = GaugeMetricFamily(
            "egide_stream_consumer_read_timestamp_seconds",
            "When the consumer's lag was last read from the server",
            labels=names,
        )
        read.add_metric(list(labels), values["read_at"])
        yield read


class WorkerMetrics:
    """The counters and histograms a stream worker updates as it goes."""

    def __init__(self, worker: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.worker = worker
        self.messages = Counter(
            "egide_stream_messages",
            "Messages handled by this worker, by outcome",
            ["worker", "outcome"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "egide_stream_dead_letters",
            "Messages quarantined after failing the maximum number of deliveries",
            ["worker"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "egide_stream_alerts",
            "Alerts raised by this worker",
            ["worker"],
            registry=self.registry,
        )
        self.alert_latency = Histogram(
            "egide_stream_alert_latency_seconds",
            "From the message's publication (or `received`) to its alert committed and published",
            ["worker"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "egide_stream_batch_seconds",
            "Time to analyse and commit one batch of messages",
            ["worker"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Every outcome exported from the start, at zero: a rate needs a first sample.
        for outcome in ("processed", "duplicate", "quarantined", "failed"):
            self.messages.labels(worker, outcome)
        self.dead_letters.labels(worker)
        self.alerts.labels(worker)
        self.consumer = _ConsumerCollector()
        self.registry.register(self.consumer)
        # The process's CPU time, memory and start time (`process_*`), as any exporter gives.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def handled(self, outcome: str, count: int = 1) -> None:
        """Count messages of one outcome."""
        if count:
            self.messages.labels(self.worker, outcome).inc(count)

    def raised(self, alerts: int, published: datetime | float | None) -> None:
        """Count alerts committed and published now, of a message published at `published`."""
        if not alerts:
            return
        self.alerts.labels(self.worker).inc(alerts)
        if published is None:
            return
        since = published.timestamp() if isinstance(published, datetime) else published
        latency = max(0.0, time.time() - since)
        for _ in range(alerts):
            self.alert_latency.labels(self.worker).observe(latency)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def serve(self, address: str, port: int) -> WSGIServer:
        """Serve `/metrics` on `address:port` from a background thread; returns the server.

        Raises:
            OSError: the port is taken or the address is not this host's.
        """
        server, _ = _start_http_server(port, addr=address, registry=self.registry)
        return server


class StreamTotals(Collector):
    """Totals of stream processing read from the database, for the API's `/metrics`.

    What every worker of every host has committed, whoever scrapes: messages
    with a result, messages in quarantine, alerts stored, and when the newest
    result was committed (a flow that stops shows as a time that stops moving).
    Read at most once every `ttl` seconds, by counts the indexes answer.
    """

    def __init__(self, database: Database, ttl: float = 10.0) -> None:
        self._db = database
        self._ttl = ttl
        self._lock = Lock()
        self._read_at = -float("inf")
        self._values: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        with self._lock:
            if time.monotonic() - self._read_at < self._ttl:
                return self._values
            with self._db.transaction() as session:
                results = session.scalar(select(func.count(StreamResultRecord.id))) or 0
                newest = session.scalar(select(func.max(StreamResultRecord.processed_at)))
                quarantined = session.scalar(select(func.count(StreamQuarantineRecord.id))) or 0
                alerts = session.scalar(select(func.count(AlertRecord.id))) or 0
            self._values = {
                "results": float(results),
                "quarantined": float(quarantined),
                "alerts": float(alerts),
            }
            if newest is not None:
                moment = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
                self._values["newest"] = moment.timestamp()
            self._read_at = time.monotonic()
            return self._values

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            values = self._read()
        except SQLAlchemyError as error:
            log.warning("cannot read the stream totals: %s", error)
            return
        described = {
            "results": (
                "egide_stream_results",
                "Messages processed (one result each), all workers",
            ),
            "quarantined": ("egide_stream_quarantined", "Messages in quarantine"),
            "alerts": ("egide_stream_alerts_stored", "Alerts stored, all labels"),
            "newest": (
                "egide_stream_newest_result_timestamp_seconds",
                "When the newest result was committed",
            ),
        }
        for key, (name, text) in described.items():
            if key in values:
                yield GaugeMetricFamily(name, text, value=values[key])

    def render(self) -> bytes:
        """The exposition of these gauges alone (appended to the API's own metrics)."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return generate_latest(registry)
