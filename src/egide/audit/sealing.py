"""Sealing the journal's head on a timer and handing seals to the witness, off every request.

Count-based checkpoints (every N entries) are signed inside the appending
transaction; on their own they leave the last N-1 entries unsigned, and those
could be cut from the tail unseen. `Sealer` closes that window in time: once
an entry has been appended, the head is sealed in a transaction of its own
within ``interval`` seconds (at once if no seal was made for ``interval``
seconds), on one background thread. The same thread writes every committed
seal to the witness (an fsync), so neither signing nor the witness adds
latency to a request: the caller of ``append`` only updates two integers.

The thread stops when idle and starts again on the next append. `close`
(also run at interpreter exit, so a short CLI command leaves its entries
sealed) seals what is still unsealed and writes every pending seal.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable

from egide.audit.chain import Checkpoint
from egide.audit.witness import Witness

logger = logging.getLogger(__name__)

_WAKE = "wake"
_IDLE_EXIT_SECONDS = 30.0


class Sealer:
    """Seals the head within `interval` seconds of an append; writes seals to the witness.

    Args:
        seal_head: Seals the current head in a new transaction unless it is already
            sealed; returns the head's sequence number (0 for an empty journal).
        witness: Where committed seals are written (None: nowhere).
        interval: Most seconds an appended entry waits for its seal (0: no timer;
            the witness still receives every seal).
    """

    def __init__(
        self,
        seal_head: Callable[[], int],
        witness: Witness | None,
        interval: float,
        *,
        name: str = "egide-audit-sealer",
    ) -> None:
        self._seal_head = seal_head
        self.witness = witness
        self.interval = interval
        self._name = name
        self._queue: queue.SimpleQueue[Checkpoint | str | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._appended = 0  # highest seq appended by this process
        self._sealed_through = 0  # highest seq this process knows to be sealed
        self._dirty = False  # an appended entry may still wait for its seal
        self._last_seal = float("-inf")
        self._flushing = False
        ref = weakref.ref(self)
        atexit.register(_close_at_exit, ref)

    # called by the journal ---------------------------------------------------------------

    def appended(self, seq: int) -> None:
        """Note that entry `seq` was appended (cheap: on the path of every append)."""
        with self._lock:
            if seq > self._appended:
                self._appended = seq
            if self.interval <= 0:  # no timer: `close` still seals what is left
                return
            if not self._dirty:
                self._dirty = True
                self._ensure_thread()
                self._queue.put(_WAKE)

    def sealed(self, seal: Checkpoint) -> None:
        """A seal was committed: write it to the witness (from the background thread)."""
        with self._lock:
            self._last_seal = time.monotonic()
            self._sealed_through = max(self._sealed_through, seal.seq)
            if self.witness is None:
                return
            if not self._flushing:
                self._ensure_thread()
                self._queue.put(seal)
                return
        self._record(seal)

    def close(self) -> None:
        """Seal what is unsealed, write every pending seal, stop the thread (restartable)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._flushing = True
            if thread is not None:
                self._queue.put(None)
        try:
            if thread is not None:
                thread.join()
            while True:  # seals committed after the thread stopped
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, Checkpoint):
                    self._record(item)
            # Whatever the timer did, an entry appended since the last seal is sealed now.
            with self._lock:
                unsealed = self._dirty or self._appended > self._sealed_through
            if unsealed:
                self._seal()
        finally:
            with self._lock:
                self._flushing = False

    # the thread -------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        # Under self._lock.
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._timeout())
            except queue.Empty:
                item = _WAKE
                with self._lock:
                    if not self._dirty and self._queue.empty():
                        if self._thread is threading.current_thread():
                            self._thread = None  # idle: the next append starts another
                        return
            if item is None:
                return
            if isinstance(item, Checkpoint):
                self._record(item)
            elif self._due():
                self._seal()

    def _timeout(self) -> float:
        with self._lock:
            if not self._dirty:
                return _IDLE_EXIT_SECONDS
            return max(0.0, self._last_seal + self.interval - time.monotonic())

    def _due(self) -> bool:
        with self._lock:
            return self._dirty and time.monotonic() >= self._last_seal + self.interval

    def _seal(self) -> None:
        try:
            head = self._seal_head()
        except Exception as error:  # the database may be gone: retry later, never crash
            if "database is locked" in str(error):
                # A long writer (a large ingestion) holds SQLite's write lock: expected
                # under load, and the next attempt seals everything since.
                logger.warning(
                    "audit journal busy (a long write holds the database); its head is "
                    "sealed at the next attempt, in %.0f s",
                    self.interval,
                )
            else:
                logger.warning("could not seal the audit journal's head", exc_info=True)
            with self._lock:
                self._last_seal = time.monotonic()
            return
        with self._lock:
            self._last_seal = time.monotonic()
            self._sealed_through = max(self._sealed_through, head)
            # An entry appended meanwhile (or by a transaction still open) keeps it dirty.
            if head >= self._appended:
                self._dirty = False

    def _record(self, seal: Checkpoint) -> None:
        if self.witness is None:
            return
        try:
            self.witness.record(seal)
        except Exception:  # the database keeps the seal; verify reports the witness lag
            logger.error(
                "could not write the seal of audit entry %d to the %s",
                seal.seq,
                self.witness.description,
                exc_info=True,
            )


def _close_at_exit(ref: weakref.ref[Sealer]) -> None:
    sealer = ref()
    if sealer is not None:
        sealer.close()
