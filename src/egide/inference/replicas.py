"""The replicas of one remotely served model: their health, their load, and the choice between them.

Kept apart from the HTTP protocol code so the routing rules read on their own:
a replica is *healthy* until a connection to it fails, then it is left out
until a health probe finds it answering again; among healthy replicas the one
with the fewest requests in flight is chosen, ties broken in turn so that an
idle pool spreads its load.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class Replica:
    """One engine serving the model, and what this process knows of it."""

    url: str
    healthy: bool = True
    in_flight: int = 0
    last_error: str | None = None
    checked_at: float = float("-inf")

    def mark_down(self, error: str) -> None:
        """Leave this replica out until a probe finds it answering."""
        self.healthy = False
        self.last_error = error

    def mark_up(self) -> None:
        """The replica answered: route to it again."""
        self.healthy = True
        self.last_error = None

    def as_dict(self) -> dict[str, object]:
        """State for health endpoints and logs."""
        return {
            "url": self.url,
            "healthy": self.healthy,
            "in_flight": self.in_flight,
            "last_error": self.last_error,
        }


class ReplicaSet:
    """The replicas of one model, with least-loaded selection.

    Args:
        urls: Base URLs of the engines.
    """

    def __init__(self, urls: Iterable[str]) -> None:
        self.replicas = [Replica(url) for url in urls]
        # Round-robin counter that breaks ties between equally loaded replicas.
        self._turn = itertools.count()

    def pick(self, exclude: Iterable[Replica] = ()) -> Replica | None:
        """The healthy replica with the fewest requests in flight, or None."""
        excluded = {id(r) for r in exclude}
        candidates = [r for r in self.replicas if r.healthy and id(r) not in excluded]
        if not candidates:
            return None
        start = next(self._turn) % len(self.replicas)
        order = {id(r): (i - start) % len(self.replicas) for i, r in enumerate(self.replicas)}
        return min(candidates, key=lambda r: (r.in_flight, order[id(r)]))

    def stale(self, exclude: Iterable[Replica], min_age: float) -> list[Replica]:
        """Unhealthy replicas not in `exclude` whose last probe is older than `min_age` seconds."""
        excluded = {id(r) for r in exclude}
        now = time.monotonic()
        return [
            r
            for r in self.replicas
            if not r.healthy and id(r) not in excluded and now - r.checked_at >= min_age
        ]

    @property
    def in_flight(self) -> int:
        """Requests in flight across all replicas."""
        return sum(r.in_flight for r in self.replicas)

    @property
    def any_healthy(self) -> bool:
        """Whether at least one replica is believed to answer."""
        return any(r.healthy for r in self.replicas)

    def summary(self) -> str:
        """One line per replica state, for error messages."""
        return "; ".join(f"{r.url}: {r.last_error or 'healthy'}" for r in self.replicas)
