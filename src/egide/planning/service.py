"""The planning service: labelled, journaled plans over the pure engine (docs/planning.md).

`solve` runs the engine on a problem, has the independent validator replay the plan
(a plan that fails it is never stored nor returned), and stores the problem, the plan
and its SVG map at the label of the input — the label given, or the author's default,
or the installation's home label — which the author must be able to work at. A plan
whose author belongs to an organisation is kept to that organisation.

Plans are read through `get`: the role (`plan.read`), the label (filtered in the SQL)
and the organisation are checked together, and a plan the reader may not see is
answered exactly as one that does not exist. Every read is journaled before it is
returned; journal entries name the plan and its cost, never its contents.

`propose` turns a stored plan into a proposal of kind ``logistics-plan`` at the plan's
label, kept to the plan's organisation: its content carries the problem, the routes
table, what is left unserved and why, the cost and the map, and its blocks (what an
export renders) give the same as headings, paragraphs and bullets. It then follows the
normal approval path (two approvers) to a marked export.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label, PolicyRegistry
from egide.core.principals import Principal
from egide.errors import InvalidInput, NotFound
from egide.planning.codec import problem_from_dict, problem_to_dict
from egide.planning.model import Problem
from egide.planning.records import PlanRecord
from egide.planning.solution import Solution
from egide.planning.solver import solve
from egide.planning.svg import render_svg
from egide.planning.validate import validate
from egide.settings import home_label
from egide.store import MAX_PUBLIC_ID, Database, all_labels, fresh_ids, intern_label
from egide.workflows.approvals import ProposalKind
from egide.workflows.proposals import Proposal, ProposalService

MAX_TIME_LIMIT = 600.0
"""Longest search a plan may ask for, in seconds (the service's cap)."""


@dataclass(frozen=True)
class Plan:
    """A stored plan as a reader sees it."""

    id: int
    label: str
    author: str
    organisation: str | None
    problem: Problem
    solution: Solution
    svg: str
    seed: int
    time_limit: float
    proposal_id: int | None
    created_at: datetime

    def summary(self) -> dict[str, Any]:
        """The routes table, what is unserved and why, and the cost (the wire shape)."""
        return summary(self.solution)

    def as_json(self) -> dict[str, Any]:
        """The plan as served: problem, solution, summary and where its map is."""
        return {
            "id": self.id,
            "label": self.label,
            "author": self.author,
            "organisation": self.organisation,
            "seed": self.seed,
            "time_limit": self.time_limit,
            "proposal_id": self.proposal_id,
            "created_at": self.created_at.isoformat(),
            "summary": self.summary(),
            "problem": problem_to_dict(self.problem),
            "solution": self.solution.to_dict(),
        }


def summary(solution: Solution) -> dict[str, Any]:
    """Routes (vehicle, stops, distance, duration, cost), unserved with reasons, the cost."""
    return {
        "status": solution.status,
        "cost": solution.cost,
        "routes": [
            {
                "vehicle": r.vehicle,
                "vehicle_type": r.vehicle_type,
                "start_depot": r.start_depot,
                "end_depot": r.end_depot,
                "stops": [s.demand for s in r.stops],
                "distance": r.distance,
                "duration": r.duration,
                "cost": r.cost,
            }
            for r in solution.routes
        ],
        "unserved": [
            {"demand": u.demand, "code": u.code, "reason": u.reason} for u in solution.unserved
        ],
    }


class PlanningService:
    """Solves, stores, reads and proposes routing plans, decided and journaled here."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        proposals: ProposalService,
        *,
        home: Label | None = None,
        trail: Trail | None = None,
        max_time_limit: float = MAX_TIME_LIMIT,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._proposals = proposals
        self._home = home or home_label(policies)
        self._trail = trail or Trail(database, journal, policies.canonical(self._home))
        self.max_time_limit = max_time_limit

    @property
    def trail(self) -> Trail:
        """Where refusals and served reads of plans and planning jobs are journaled."""
        return self._trail

    def canonical(self, label: Label) -> str:
        """The stored marking of a label."""
        return self._policies.canonical(label)

    # checks a caller (the API) makes before queueing a job ------------------------------

    def admit(self, principal: Principal, label: Label | None, time_limit: float) -> Label:
        """The working label of a solve, after the role, label and limit checks (journaled)."""
        working = label or principal.default_label or self._home
        with self._trail.guard(principal, "plan.solve"):
            access.require(access.can(principal, Action.PLAN_SOLVE))
            access.require(access.can_work_at(principal, working))
        if not 0 < time_limit <= self.max_time_limit:
            raise InvalidInput(
                f"time limit {time_limit:g} s: give a number of seconds in "
                f"(0, {self.max_time_limit:g}] (this installation's cap)"
            )
        return working

    # solving ---------------------------------------------------------------------------

    def solve(
        self,
        principal: Principal,
        problem: Problem | dict[str, Any],
        *,
        label: Label | None = None,
        time_limit: float = 10.0,
        seed: int = 0,
        max_iterations: int | None = None,
    ) -> Plan:
        """Plan `problem`, validate the plan, and store it with its map at the input's label.

        Raises:
            Forbidden: not an analyst, or cannot work at the label (journaled).
            InvalidInput: the problem breaks the schema, or the time limit is out of range.
            Infeasible: the problem cannot be planned (the reasons are listed).
        """
        working = self.admit(principal, label, time_limit)
        if not isinstance(problem, Problem):
            problem = problem_from_dict(problem, "problem")
        started = time.monotonic()
        solution = solve(problem, time_limit=time_limit, seed=seed, max_iterations=max_iterations)
        elapsed = time.monotonic() - started
        report = validate(problem, solution)
        if not report.ok:
            # The engine's own bug, never the caller's: nothing is stored or returned.
            raise RuntimeError(
                "the plan failed the independent validator and was discarded: "
                + "; ".join(report.violations[:5])
            )
        return self._store(principal, working, problem, solution, seed, time_limit, elapsed)

    def store(
        self,
        principal: Principal,
        problem: Problem,
        solution: Solution,
        *,
        label: Label | None = None,
    ) -> Plan:
        """Store a plan made elsewhere (a plan file), once the validator has replayed it.

        Raises:
            InvalidInput: the plan breaks its problem's constraints (nothing is stored).
        """
        limit = float(solution.solver.get("time_limit_s", 1.0) or 1.0)
        working = self.admit(principal, label, min(limit, self.max_time_limit))
        report = validate(problem, solution)
        if not report.ok:
            raise InvalidInput(
                "the plan breaks its problem's constraints and is not stored: "
                + "; ".join(report.violations[:5])
            )
        seed = int(solution.solver.get("seed", 0) or 0)
        return self._store(principal, working, problem, solution, seed, limit, None)

    def _store(
        self,
        principal: Principal,
        working: Label,
        problem: Problem,
        solution: Solution,
        seed: int,
        time_limit: float,
        elapsed: float | None,
    ) -> Plan:
        svg = render_svg(problem, solution)
        canonical = self._policies.canonical(working)
        with self._db.transaction() as session:
            [plan_id] = fresh_ids(session, PlanRecord.id, 1)
            record = PlanRecord(
                id=plan_id,
                label_id=intern_label(session, canonical),
                organisation=principal.organisation,
                author=principal.actor,
                problem=problem_to_dict(problem),
                solution=solution.to_dict(),
                svg=svg,
                cost=solution.cost,
                seed=seed,
                time_limit=time_limit,
            )
            session.add(record)
            session.flush()
            self._journal.append(
                session,
                actor=principal.actor,
                action="plan.solve" if elapsed is not None else "plan.store",
                objects=[f"plan:{plan_id}"],
                label=canonical,
                details={
                    "cost": solution.cost,
                    "status": solution.status,
                    "routes": len(solution.routes),
                    "unserved": len(solution.unserved),
                    "elapsed_s": None if elapsed is None else round(elapsed, 3),
                    "time_limit_s": time_limit,
                    "seed": seed,
                },
            )
            return self._view(record, canonical)

    # reading ---------------------------------------------------------------------------

    def get(self, principal: Principal, plan_id: int, *, what: str = "plan") -> Plan:
        """A plan the principal may read (journaled), else `NotFound` as if it did not exist."""
        with (
            self._trail.guard(principal, "plan.read", objects=[f"plan:{plan_id}"]),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.PLAN_READ))
            record, canonical = self._readable(session, principal, plan_id)
            plan = self._view(record, canonical)
        self._trail.read(
            principal,
            "plan.read",
            objects=[f"plan:{plan_id}"],
            label=canonical,
            details={"what": what},
        )
        return plan

    # proposing -------------------------------------------------------------------------

    def propose(
        self, principal: Principal, plan_id: int, title: str, rationale: str = ""
    ) -> Proposal:
        """A proposal of kind logistics-plan for a stored plan, at the plan's label."""
        with self._trail.guard(principal, "plan.propose", objects=[f"plan:{plan_id}"]):
            access.require(access.can(principal, Action.PLAN_SOLVE))
        plan = self.get(principal, plan_id, what="propose")
        label = self._policies.parse(plan.label)
        content = {
            "plan_id": plan.id,
            "rationale": rationale.strip(),
            "summary": plan.summary(),
            "problem": problem_to_dict(plan.problem),
            "map_svg": plan.svg,
            "blocks": _blocks(plan, rationale.strip()),
        }

        def link(session: Session, proposal: Proposal) -> None:
            record = session.get(PlanRecord, plan.id)
            if record is not None:
                record.proposal_id = proposal.id

        return self._proposals.create(
            principal,
            kind=ProposalKind.LOGISTICS_PLAN.value,
            title=title,
            content=content,
            label=label,
            organisations=None if plan.organisation is None else {plan.organisation},
            record_also=link,
        )

    # helpers ---------------------------------------------------------------------------

    def _readable(
        self, session: Session, principal: Principal, plan_id: int
    ) -> tuple[PlanRecord, str]:
        if not 1 <= plan_id <= MAX_PUBLIC_ID:
            raise NotFound(f"no plan {plan_id}")
        labels = dict(all_labels(session))
        readable = access.readable_label_ids(
            principal, self._policies.parse_stored(list(labels.items()))
        )
        record = session.scalar(
            select(PlanRecord).where(
                PlanRecord.id == plan_id,
                PlanRecord.label_id.in_(readable),
                _in_scope(principal),
            )
        )
        if record is None:
            raise NotFound(f"no plan {plan_id}")
        return record, labels[record.label_id]

    def _view(self, record: PlanRecord, canonical: str) -> Plan:
        return Plan(
            id=record.id,
            label=canonical,
            author=record.author,
            organisation=record.organisation,
            problem=problem_from_dict(record.problem, f"plan {record.id}"),
            solution=Solution.from_dict(record.solution),
            svg=record.svg,
            seed=record.seed,
            time_limit=record.time_limit,
            proposal_id=record.proposal_id,
            created_at=record.created_at,
        )


def _in_scope(principal: Principal) -> ColumnElement[bool]:
    """A plan without organisation, or one of the reader's organisation."""
    if principal.organisation is None:
        return PlanRecord.organisation.is_(None)
    return or_(PlanRecord.organisation.is_(None), PlanRecord.organisation == principal.organisation)


def _blocks(plan: Plan, rationale: str) -> list[dict[str, str]]:
    """What an export renders: the cost, one bullet per route, the unserved with reasons."""
    solution = plan.solution
    blocks: list[dict[str, str]] = [
        {
            "kind": "paragraph",
            "text": f"Plan {plan.id}: {len(solution.routes)} route(s), cost {solution.cost:.2f}, "
            f"{len(solution.unserved)} demand(s) unserved ({solution.status}).",
        }
    ]
    if rationale:
        blocks.append({"kind": "paragraph", "text": rationale})
    blocks.append({"kind": "heading", "text": "Routes"})
    for route in solution.routes:
        stops = " → ".join([route.start_depot, *(s.demand for s in route.stops), route.end_depot])
        blocks.append(
            {
                "kind": "bullet",
                "text": f"{route.vehicle} ({route.vehicle_type}): {stops}; distance "
                f"{route.distance:.2f}, duration "
                f"{route.duration:.2f}, cost {route.cost:.2f}",
            }
        )
    if solution.unserved:
        blocks.append({"kind": "heading", "text": "Unserved"})
        for item in solution.unserved:
            blocks.append({"kind": "bullet", "text": f"{item.demand}: {item.reason}"})
    blocks.append(
        {
            "kind": "paragraph",
            "text": "The route map (SVG) is attached to the proposal as map_svg and "
            f"served at /v1/planning/plans/{plan.id}/map.svg.",
        }
    )
    return blocks


__all__ = ["MAX_TIME_LIMIT", "Plan", "PlanningService", "summary"]
