"""A per-process view of which models are enabled, at most ``ttl`` seconds old.

The enabled flag lives in the database, so every API replica sees the same
kill switch. Reading it on every request (or every streamed token) would put
the database on the hot path; this cache reads all flags in one query at most
every ``ttl`` seconds instead, which bounds how long a replica keeps serving a
model after it was disabled: ``ttl`` plus one request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

DEFAULT_TTL = 0.5
"""Seconds a snapshot is trusted; keeps the kill switch effective within one second."""
_MISS_RETRY = 0.05


class EnabledCache:
    """Thread-safe snapshot of ``{model name: enabled}``, refreshed when stale.

    Args:
        load: Reads every model's flag from the database.
        ttl: Maximum age of the snapshot in seconds.
        clock: Monotonic clock (tests pass a fake one).
    """

    def __init__(
        self,
        load: Callable[[], Mapping[str, bool]],
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._flags: Mapping[str, bool] = {}
        self._loaded_at: float | None = None

    def get(self, name: str) -> bool | None:
        """Whether ``name`` is enabled; ``None`` if no such model exists."""
        with self._lock:
            now = self._clock()
            if self._loaded_at is None or now - self._loaded_at >= self._ttl:
                self._refresh(now)
            elif name not in self._flags and now - self._loaded_at >= _MISS_RETRY:
                # Perhaps a model imported since the snapshot: look again rather
                # than refuse it for up to ttl seconds, but not on every request
                # for a name that does not exist.
                self._refresh(now)
            return self._flags.get(name)

    def invalidate(self) -> None:
        """Forget the snapshot (this process just changed a flag)."""
        with self._lock:
            self._loaded_at = None

    def _refresh(self, now: float) -> None:
        self._flags = dict(self._load())
        self._loaded_at = now
