"""Quotas per user and per organisation: requests, tokens and ingested megabytes per minute.

A request must find a whole request in each of its buckets and a token budget
that is not in debt; the tokens it actually used are charged when it ends
(they are unknown before), so one long answer may drive a bucket into debt and
the next request waits until it is repaid. A document upload also costs its
size in megabytes (at least 64 KB) from the ingestion bucket (reading and
embedding a file costs in proportion to its size, far more than a request): a
file larger than the whole bucket is admitted when the bucket is full and leaves
it in debt.

Buckets live in the API process: with N replicas behind a load balancer, give
each replica 1/N of the quota. The services only see `Admit` (the limiter's
`admit` method), so a limiter whose buckets live in a store the processes share
(PostgreSQL) can replace this one behind the same interface.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from egide.core.principals import Principal
from egide.errors import RateLimited
from egide.settings import Settings

MEGABYTE = 1 << 20
MINIMUM_INGEST_BYTES = 64 << 10


def ingest_cost(size: int) -> float:
    """What an upload of `size` bytes costs, in megabytes: its size, at least 64 KB.

    The floor stands for what any document costs whatever its size (parsing,
    marking, journaling); a budget of 20 MB a minute admits 320 short reports.
    """
    return max(size, MINIMUM_INGEST_BYTES) / MEGABYTE


class Admit(Protocol):
    """A service's admission of one costly request (`RateLimiter.admit`)."""

    def __call__(self, principal: Principal, *, ingest_bytes: int = 0) -> None:
        """Take the request's cost from the principal's budgets, or raise `RateLimited`."""
        ...


class Limiter(Protocol):
    """What the faces and services ask of a limiter, whatever keeps its buckets."""

    def admit(self, principal: Principal, *, ingest_bytes: int = 0) -> None:
        """Take one request (and the megabytes of an upload), or raise `RateLimited`."""
        ...

    def charge(self, principal: Principal, tokens: int) -> None:
        """Charge the tokens a finished request used."""
        ...

    def limits(self, key: str) -> Limits:
        """The quotas in force for a user or organisation key (`user:NAME`, `org:NAME`)."""
        ...


@dataclass(frozen=True)
class Limits:
    """Per-minute limits of one user or organisation (0: unlimited)."""

    requests_per_minute: int
    tokens_per_minute: int
    ingest_mb_per_minute: int = 0


class Bucket:
    """A token bucket: `capacity` units, refilled at `capacity` per minute."""

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, capacity: int, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / 60.0
        self.level = float(capacity)
        self.updated = now

    def refill(self, now: float) -> None:
        """Add what has accrued since the last look."""
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` units are available (0: now)."""
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing / self.rate


class RateLimiter:
    """Token buckets keyed by `user:<name>` and `org:<name>`.

    Args:
        settings: Default limits and per-user/per-organisation overrides.
        clock: Monotonic seconds; tests pass a fake one.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._user = Limits(
            settings.rate_user_requests_per_minute,
            settings.rate_user_tokens_per_minute,
            settings.rate_user_ingest_mb_per_minute,
        )
        self._org = Limits(
            settings.rate_org_requests_per_minute,
            settings.rate_org_tokens_per_minute,
            settings.rate_org_ingest_mb_per_minute,
        )
        self._overrides: Mapping[str, Mapping[str, int]] = settings.rate_overrides
        self._clock = clock
        self._requests: dict[str, Bucket] = {}
        self._tokens: dict[str, Bucket] = {}
        self._ingest: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def limits(self, key: str) -> Limits:
        """The limits of `user:<name>` or `org:<name>`, overrides applied."""
        default = self._user if key.startswith("user:") else self._org
        override = self._overrides.get(key, {})
        return Limits(
            int(override.get("requests_per_minute", default.requests_per_minute)),
            int(override.get("tokens_per_minute", default.tokens_per_minute)),
            int(override.get("ingest_mb_per_minute", default.ingest_mb_per_minute)),
        )

    @staticmethod
    def keys(principal: Principal) -> list[str]:
        """The buckets a principal's requests draw from."""
        keys = [f"user:{principal.username}"]
        if principal.organisation:
            keys.append(f"org:{principal.organisation}")
        return keys

    def admit(self, principal: Principal, *, ingest_bytes: int = 0) -> None:
        """Take one request from each bucket of the principal, or refuse.

        `ingest_bytes`: the size of an uploaded file, which also takes its size in
        megabytes (at least 64 KB) from the ingestion buckets.

        Raises:
            RateLimited: with the seconds after which a retry can succeed.
        """
        now = self._clock()
        with self._lock:
            waits: list[tuple[float, str]] = []
            takes: list[tuple[Bucket, float]] = []
            megabytes = ingest_cost(ingest_bytes) if ingest_bytes > 0 else 0.0
            for key in self.keys(principal):
                limits = self.limits(key)
                if limits.requests_per_minute > 0:
                    bucket = self._bucket(self._requests, key, limits.requests_per_minute, now)
                    waits.append((bucket.wait_for(1.0), f"{key} requests per minute"))
                    takes.append((bucket, 1.0))
                if megabytes and limits.ingest_mb_per_minute > 0:
                    bucket = self._bucket(self._ingest, key, limits.ingest_mb_per_minute, now)
                    # More than the whole bucket: admitted when it is full, leaving a debt.
                    need = min(megabytes, bucket.capacity)
                    waits.append((bucket.wait_for(need), f"{key} megabytes ingested per minute"))
                    takes.append((bucket, megabytes))
                if limits.tokens_per_minute > 0:
                    bucket = self._bucket(self._tokens, key, limits.tokens_per_minute, now)
                    # Any positive balance admits: the cost is charged afterwards.
                    waits.append((bucket.wait_for(1e-9), f"{key} tokens per minute"))
            wait, what = max(waits, default=(0.0, ""))
            if wait > 0:
                raise RateLimited(
                    f"rate limit reached ({what}); retry after {wait:.1f} s "
                    "or ask an administrator to raise the quota",
                    retry_after=wait,
                )
            for bucket, amount in takes:
                bucket.level -= amount

    def charge(self, principal: Principal, tokens: int) -> None:
        """Charge the tokens a finished request used (may leave a bucket in debt)."""
        if tokens <= 0:
            return
        now = self._clock()
        with self._lock:
            for key in self.keys(principal):
                limits = self.limits(key)
                if limits.tokens_per_minute > 0:
                    bucket = self._bucket(self._tokens, key, limits.tokens_per_minute, now)
                    bucket.level -= tokens

    @staticmethod
    def _bucket(table: dict[str, Bucket], key: str, capacity: int, now: float) -> Bucket:
        bucket = table.get(key)
        if bucket is None or bucket.capacity != capacity:
            bucket = table[key] = Bucket(capacity, now)
        else:
            bucket.refill(now)
        return bucket
