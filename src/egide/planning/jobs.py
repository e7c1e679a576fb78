"""Solves run as jobs in a bounded pool of threads of the API process.

A solve is CPU-bound and may take minutes, so `POST /v1/planning/routes` answers 202
with a job id at once and the solve runs here. The pool has `workers` threads; at most
`max_jobs` jobs may be queued or running at once (more is refused with 429 and a
`Retry-After`), so a burst of requests cannot pile up work without bound.

Jobs live in this process's memory: they are a way of waiting for a solve, not a
record (the plan, once stored, is). A job is visible to the principal who started it
only — to anyone else it is answered as if it did not exist. Finished jobs are kept
for `keep_seconds`, then forgotten.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label
from egide.core.principals import Principal
from egide.errors import EgideError, Infeasible, NotFound, RateLimited
from egide.planning.model import Problem
from egide.planning.service import PlanningService

log = logging.getLogger(__name__)

State = Literal["queued", "running", "done", "failed"]


@dataclass
class Job:
    """One solve: its state, timing, and the plan id or the error it ended with."""

    id: str
    owner: int
    label: str
    time_limit: float
    state: State = "queued"
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    plan_id: int | None = None
    error: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The job as served: state, progress (elapsed against the limit), plan or error."""
        now = self.finished or time.monotonic()
        elapsed = 0.0 if self.started is None else now - self.started
        return {
            "id": self.id,
            "state": self.state,
            "progress": {
                "elapsed_s": round(elapsed, 3),
                "time_limit_s": self.time_limit,
                # The engine keeps its best cost to itself until it returns.
                "best_cost": None,
            },
            "plan_id": self.plan_id,
            "error": self.error,
        }


class PlanningJobs:
    """A bounded pool of solver threads and the jobs given to it."""

    def __init__(
        self,
        service: PlanningService,
        *,
        workers: int = 2,
        max_jobs: int = 8,
        keep_seconds: float = 3600.0,
    ) -> None:
        self._service = service
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="egide-plan")
        self._max_jobs = max_jobs
        self._keep = keep_seconds
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(
        self,
        principal: Principal,
        problem: Problem,
        *,
        label: Label | None,
        time_limit: float,
        seed: int = 0,
    ) -> Job:
        """Check the caller (role, label, limit; journaled), then queue the solve."""
        working = self._service.admit(principal, label, time_limit)
        canonical = self._service.canonical(working)
        with self._lock:
            self._forget_old()
            active = sum(1 for j in self._jobs.values() if j.state in ("queued", "running"))
            if active >= self._max_jobs:
                raise RateLimited(
                    f"{active} plans are being solved already (at most {self._max_jobs}); "
                    "try again when one has finished",
                    retry_after=max(1.0, time_limit),
                )
            job = Job(
                id=secrets.token_urlsafe(16),
                owner=principal.id,
                label=canonical,
                time_limit=time_limit,
            )
            self._jobs[job.id] = job
        # The solve itself is journaled as `plan.solve` when the plan is stored.
        self._service.trail.read(
            principal,
            "plan.queue",
            objects=[f"plan-job:{job.id}"],
            label=canonical,
            details={"time_limit_s": time_limit, "seed": seed},
        )
        self._pool.submit(self._run, job, principal, problem, working, time_limit, seed)
        return job

    def get(self, principal: Principal, job_id: str) -> Job:
        """The caller's own job, else `NotFound` as if it did not exist (journaled)."""
        objects = [f"plan-job:{job_id[:64]}"]
        with self._service.trail.guard(principal, "plan.job", objects=objects):
            access.require(access.can(principal, Action.PLAN_SOLVE))
            with self._lock:
                job = self._jobs.get(job_id)
            if job is None or job.owner != principal.id:
                raise NotFound(f"no planning job {job_id[:64]}")
        self._service.trail.read(
            principal,
            "plan.job",
            objects=objects + ([f"plan:{job.plan_id}"] if job.plan_id else []),
            label=job.label,
            details={"state": job.state},
        )
        return job

    def close(self) -> None:
        """Stop taking jobs; queued ones are dropped, running ones finish."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(
        self,
        job: Job,
        principal: Principal,
        problem: Problem,
        label: Label,
        time_limit: float,
        seed: int,
    ) -> None:
        job.started = time.monotonic()
        job.state = "running"
        try:
            plan = self._service.solve(
                principal, problem, label=label, time_limit=time_limit, seed=seed
            )
        except Infeasible as error:
            job.error = {
                "code": error.code,
                "message": error.message,
                "issues": list(error.issues),
            }
            job.state = "failed"
        except EgideError as error:
            job.error = {"code": error.code, "message": error.message, "issues": []}
            job.state = "failed"
        except Exception:  # a job must end, and say so, whatever broke
            log.exception("planning job %s failed", job.id)
            job.error = {
                "code": "internal_error",
                "message": "the solve failed; the operator's log has the details",
                "issues": [],
            }
            job.state = "failed"
        else:
            job.plan_id = plan.id
            job.state = "done"
        finally:
            job.finished = time.monotonic()

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key in [
            k
            for k, j in self._jobs.items()
            if j.finished is not None and now - j.finished > self._keep
        ]:
            del self._jobs[key]


__all__ = ["Job", "PlanningJobs", "State"]
