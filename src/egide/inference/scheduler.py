"""A bounded priority queue in front of one worker thread.

One llama.cpp model instance is not thread-safe, so every request for it runs
on a single worker thread, one at a time. Requests wait in a heap ordered by
priority (higher first) then arrival (FIFO within a priority). The queue is
bounded: when it is full a new request is refused at once with
:class:`~egide.errors.Unavailable` rather than left to wait without limit, so a
load balancer or client can go elsewhere.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from egide.errors import EgideError, Unavailable


@dataclass(order=True, slots=True)
class Job:
    """A unit of work waiting for, or running on, the worker thread.

    Ordering is by `(-priority, seq)`, which is what the heap needs; the other
    fields do not take part in comparisons.
    """

    sort_key: tuple[int, int]
    run: Callable[[threading.Event], None] = field(compare=False)
    reject: Callable[[EgideError], None] = field(compare=False)
    cancelled: threading.Event = field(default_factory=threading.Event, compare=False)

    @property
    def priority(self) -> int:
        """The priority the job was submitted with."""
        return -self.sort_key[0]


class PriorityWorker:
    """Runs submitted jobs one at a time on a dedicated thread, highest priority first.

    Args:
        name: Thread name and the model name used in error messages.
        max_queue: How many jobs may wait while one runs; one more is refused.
    """

    def __init__(self, name: str, max_queue: int) -> None:
        self._name = name
        self._max_queue = max_queue
        self._heap: list[Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running: Job | None = None
        self._closed = False
        # The thread starts with the first job, so building a backend spawns nothing.
        self._thread: threading.Thread | None = None

    @property
    def queue_depth(self) -> int:
        """Jobs waiting for their turn."""
        with self._cond:
            return len(self._heap)

    @property
    def in_flight(self) -> int:
        """1 while a job runs, else 0."""
        with self._cond:
            return 0 if self._running is None else 1

    def submit(
        self,
        run: Callable[[threading.Event], None],
        reject: Callable[[EgideError], None],
        priority: int = 0,
    ) -> Job:
        """Queue `run`; it is called on the worker thread with the job's cancel event.

        Args:
            run: The work; it should return soon after the event it receives is set.
            reject: Called instead of `run` if the job is dropped because the worker closes.
            priority: Higher runs first.

        Raises:
            Unavailable: The queue is full or the worker is closed.
        """
        with self._cond:
            if self._closed:
                raise Unavailable(f"model {self._name!r} is shutting down; retry on another node")
            # The running job counts too, so a burst that arrives before the worker
            # wakes cannot overfill the queue.
            admitted = len(self._heap) + (0 if self._running is None else 1)
            if admitted > self._max_queue:
                raise Unavailable(
                    f"model {self._name!r} is busy: {len(self._heap)} requests already "
                    f"waiting (max_queue={self._max_queue}); retry later or add a replica"
                )
            job = Job((-priority, next(self._seq)), run, reject)
            heapq.heappush(self._heap, job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name=f"egide-llm-{self._name}", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return job

    def cancel(self, job: Job) -> None:
        """Stop `job`: drop it if it still waits, signal it if it runs; no-op if done."""
        job.cancelled.set()
        with self._cond:
            if job in self._heap:
                self._heap.remove(job)
                heapq.heapify(self._heap)

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new jobs, reject waiting ones, stop the running one and join the thread."""
        with self._cond:
            self._closed = True
            dropped, self._heap = self._heap, []
            if self._running is not None:
                self._running.cancelled.set()
            self._cond.notify_all()
            thread = self._thread
        for job in dropped:
            job.reject(Unavailable(f"model {self._name!r} was closed before serving the request"))
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = heapq.heappop(self._heap)
                self._running = job
            try:
                if not job.cancelled.is_set():
                    job.run(job.cancelled)
            finally:
                with self._cond:
                    self._running = None
