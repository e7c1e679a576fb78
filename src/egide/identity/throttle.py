"""Failed sign-ins per client: after N in a window, refuse unchecked and journal one summary.

A client is its remote address and, where the credential names one, the API key
id it claims. Each has a fixed window that starts at its first failure and
lasts `window` seconds. Once an address has failed `failures` times in its
window, every further attempt from it is refused with `RateLimited` (429,
`Retry-After`: the rest of the window) before the credential is looked at: no
Argon2, no database read, no journal entry. A key id that has failed that many
times (from any address) is refused the same way, but only to addresses that
have themselves failed in their window: its owner, signing in from an address
that has not failed, is still checked, so nobody can lock a key out by naming it.

Refused attempts are only counted; when a window ends the caller collects its
summary (`closed`) — failures, refused attempts, first and last refusal — and
journals it as one `auth.throttled` entry. The table holds at most
`max_clients` windows (oldest evicted first, summarised if it refused
anything) and the summaries waiting to be journaled are bounded too, so a
flood from many addresses cannot grow memory.

In memory, per process, like `egide.serving.ratelimit`: the three methods
`check`, `failed` and `closed` are the whole interface, which a store shared
by several processes (PostgreSQL) could implement later.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from egide.audit.chain import format_time
from egide.errors import RateLimited

# What a caller claims is theirs to choose: keep it short in the table and the journal.
_CLIP = 128
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True)
class ThrottleSummary:
    """One window of one client that refused attempts: what `auth.throttled` records."""

    client: str
    failures: int
    refused: int
    first: str
    last: str


class _Window:
    __slots__ = ("failures", "first", "last", "refused", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.failures = 0
        self.refused = 0
        self.first = ""
        self.last = ""


class SignInThrottle:
    """Counts failed sign-ins per address and per claimed key id (thread-safe).

    Args:
        failures: Failures a client may make per window (0: no throttle).
        window: Length of a window, in seconds.
        max_clients: Most windows held at once.
        clock: Monotonic seconds; tests pass a fake one.
    """

    def __init__(
        self,
        *,
        failures: int,
        window: float,
        max_clients: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = failures
        self._window = window
        self._max = max(1, max_clients)
        self._clock = clock
        self._table: OrderedDict[str, _Window] = OrderedDict()
        self._pending: list[ThrottleSummary] = []
        self._overflow: ThrottleSummary | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._table)

    def check(self, address: str | None, key_id: str | None) -> None:
        """Refuse, unchecked, a client that has failed too often in its window.

        Raises:
            RateLimited: with the seconds until the window ends.
        """
        if self._limit <= 0:
            return
        now = self._clock()
        addr, key = _keys(address, key_id)
        with self._lock:
            mine = self._live(addr, now)
            blocking = None
            if mine is not None and mine.failures >= self._limit:
                blocking = mine
            elif mine is not None and key is not None:
                claimed = self._live(key, now)
                if claimed is not None and claimed.failures >= self._limit:
                    blocking = claimed
            if blocking is None:
                return
            blocking.refused += 1
            stamp = _stamp()
            blocking.first = blocking.first or stamp
            blocking.last = stamp
            wait = max(1.0, blocking.start + self._window - now)
        raise RateLimited(
            f"too many failed sign-ins from this client; retry after {wait:.0f} s with a "
            "valid API key or OIDC token",
            retry_after=wait,
        )

    def failed(self, address: str | None, key_id: str | None) -> None:
        """Count one failed sign-in of the address, and of the key id it claimed."""
        if self._limit <= 0:
            return
        now = self._clock()
        with self._lock:
            for key in _keys(address, key_id):
                if key is None:
                    continue
                window = self._live(key, now)
                if window is None:
                    window = self._open(key, now)
                window.failures += 1

    def closed(self) -> list[ThrottleSummary]:
        """Summaries of the windows that have ended with refused attempts (to journal)."""
        if not self._table and not self._pending:
            return []  # the common case, without taking the lock
        now = self._clock()
        with self._lock:
            while self._table:
                key, window = next(iter(self._table.items()))
                if window.start + self._window > now:
                    break
                del self._table[key]
                self._summarise(key, window)
            return self._take()

    def drain(self) -> list[ThrottleSummary]:
        """Summaries of every window with refused attempts, ended or not (at shutdown)."""
        with self._lock:
            while self._table:
                self._summarise(*self._table.popitem(last=False))
            return self._take()

    def _live(self, key: str, now: float) -> _Window | None:
        window = self._table.get(key)
        if window is not None and window.start + self._window <= now:
            # Ended: summarise it now; a new failure opens a new window at the end.
            del self._table[key]
            self._summarise(key, window)
            return None
        return window

    def _open(self, key: str, now: float) -> _Window:
        while len(self._table) >= self._max:
            self._summarise(*self._table.popitem(last=False))
        window = self._table[key] = _Window(now)
        return window

    def _summarise(self, key: str, window: _Window) -> None:
        if window.refused == 0:
            return
        summary = ThrottleSummary(key, window.failures, window.refused, window.first, window.last)
        if len(self._pending) < self._max:
            self._pending.append(summary)
            return
        # Too many waiting: fold the rest into one, so that nothing is uncounted.
        folded = self._overflow
        self._overflow = ThrottleSummary(
            "overflow",
            summary.failures + (folded.failures if folded else 0),
            summary.refused + (folded.refused if folded else 0),
            folded.first if folded else summary.first,
            summary.last,
        )

    def _take(self) -> list[ThrottleSummary]:
        taken = self._pending
        if self._overflow is not None:
            taken.append(self._overflow)
        self._pending, self._overflow = [], None
        return taken


def _keys(address: str | None, key_id: str | None) -> tuple[str, str | None]:
    addr = f"address:{(address or UNKNOWN_ADDRESS)[:_CLIP]}"
    return addr, f"key:{key_id[:_CLIP]}" if key_id else None


def _stamp() -> str:
    return format_time(datetime.now(UTC))


__all__ = ["SignInThrottle", "ThrottleSummary"]
