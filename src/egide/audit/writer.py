"""Journal entries from asyncio code, committed in groups by one thread.

An API process journals every model request before answering it. Opening a
transaction per request, on a worker thread reached through a thread hop per
request, cost more CPU than the rest of the gateway. `JournalWriter` gives the
appends to one long-lived thread: it takes every entry waiting, appends them
in order in one transaction (one chain-head read, one insert), commits, then
wakes each waiting request. A request is answered only after its entry is
committed, as before; under load one commit serves many requests. An entry
that the journal refuses (details that are not plain JSON) fails alone: the
group is retried one entry per transaction, so the others are written and
their requests answered. Closing the writer (at server shutdown) writes every
queued entry first; an entry that still comes afterwards starts a new thread
rather than being lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from egide.audit.journal import Journal, NewEntry

_GROUP_MAX = 256


@dataclass(frozen=True)
class _Entry:
    """An entry waiting for the writer, and the request awaiting its commit."""

    new: NewEntry
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[None]


class JournalWriter:
    """Appends entries to `journal` from one thread, one transaction per group.

    Args:
        transaction: Opens a transaction (`Database.transaction`).
        journal: The journal appended to.
    """

    def __init__(
        self, transaction: Callable[[], Any], journal: Journal, *, name: str = "egide-journal"
    ) -> None:
        self._transaction = transaction
        self._journal = journal
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def append(
        self,
        *,
        actor: str,
        action: str,
        objects: Sequence[str],
        label: str,
        details: Mapping[str, Any],
    ) -> None:
        """Journal one entry; returns once it is committed.

        Raises:
            InvalidInput: the details are not plain JSON.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        # Should the caller be cancelled, the entry is still written; its outcome is
        # then read here, so a failure is not reported as "never retrieved".
        done.add_done_callback(_consume)
        entry = _Entry(NewEntry(actor, action, label, objects, details), loop, done)
        with self._lock:  # a thread is running whenever an entry waits in the queue
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(entry)
        await asyncio.shield(done)

    def close(self) -> None:
        """Write what is queued and stop the thread; a later entry starts another."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            group: list[_Entry] = []
            if first is None:
                stopping = True
            else:
                group.append(first)
            while len(group) < _GROUP_MAX:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    group.append(item)
            if group:
                self._write(group)

    def _write(self, group: list[_Entry]) -> None:
        try:
            with self._transaction() as session:
                self._journal.append_many(session, [entry.new for entry in group])
        except Exception as error:
            if len(group) == 1:
                _settle(group, [error])
            else:  # find the entry at fault: the others are written one by one
                for entry in group:
                    self._write([entry])
            return
        _settle(group, [None] * len(group))


def _settle(group: Sequence[_Entry], errors: Sequence[BaseException | None]) -> None:
    """Wake the callers of a group: one call into each event loop, not one per entry."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Entry, BaseException | None]]] = {}
    for entry, error in zip(group, errors, strict=True):
        by_loop.setdefault(entry.loop, []).append((entry, error))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_resolve, settled)


def _consume(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


def _resolve(settled: list[tuple[_Entry, BaseException | None]]) -> None:
    for entry, error in settled:
        if entry.done.done():
            continue
        if error is None:
            entry.done.set_result(None)
        else:
            entry.done.set_exception(error)
