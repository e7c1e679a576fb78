"""Prometheus metrics of one app, in its own `CollectorRegistry` (no process-global state)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from egide.inference import BackendInfo

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _BackendCollector(Collector):
    """Queue depth, in-flight requests and health of each backend, read at scrape time."""

    def __init__(self, describe: Callable[[], Iterable[BackendInfo]]) -> None:
        self._describe = describe

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queue = GaugeMetricFamily("egide_model_queue_depth", "Requests waiting", labels=["model"])
        flight = GaugeMetricFamily(
            "egide_model_in_flight", "Requests being generated", labels=["model"]
        )
        healthy = GaugeMetricFamily("egide_model_healthy", "1 if it can serve", labels=["model"])
        for info in self._describe():
            queue.add_metric([info.name], info.queue_depth)
            flight.add_metric([info.name], info.in_flight)
            healthy.add_metric([info.name], 1.0 if info.healthy else 0.0)
        yield from (queue, flight, healthy)


class Metrics:
    """The counters and histograms the gateway updates."""

    def __init__(self, describe: Callable[[], Iterable[BackendInfo]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "egide_requests",
            "API requests by endpoint, model and status",
            ["endpoint", "model", "status"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "egide_tokens",
            "Tokens processed by model and kind (prompt, completion)",
            ["model", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "egide_request_duration_seconds",
            "Time from request to last byte, by endpoint",
            ["endpoint"],
            buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.registry.register(_BackendCollector(describe))

    def observe(self, endpoint: str, model: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(endpoint, model, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def count_tokens(self, model: str, prompt: int, completion: int) -> None:
        """Add one request's token counts."""
        if prompt:
            self.tokens.labels(model, "prompt").inc(prompt)
        if completion:
            self.tokens.labels(model, "completion").inc(completion)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
