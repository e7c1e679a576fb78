"""Workshop plan: which units to service in which period, on HiGHS.

The planning horizon is a list of periods (days, weeks, shifts), each with a
number of workshop slots; each period lasts ``cycles_per_period`` operating
cycles. Each unit needs one service of its kind, which consumes spare parts
from a stock shared over the horizon. For each unit ``u`` and period ``t``
the binary ``x[u,t]`` says "service u in period t":

* each unit at most once: ``Σ_t x[u,t] ≤ 1``
* slots: ``Σ_u x[u,t] ≤ slots[t]`` for every period
* parts: ``Σ_{u,t} parts[kind(u), p] · x[u,t] ≤ stock[p]`` for every part

minimising the expected cost ``Σ_{u,t} x[u,t] · (service[kind(u)] +
failure_cost · P(u fails before period t begins)) + Σ_u (1 − Σ_t x[u,t])
· failure_cost · P(u fails within the horizon)``. Period t begins
``t · cycles_per_period`` cycles after the last observation. Failure
probabilities come from the model's conformal predictive distribution, an
upper bound (see :mod:`egide.forecasting.conformal`). A unit serviced is
counted as renewed for the rest of the horizon.

A unit that is not serviced, or serviced after its forecast RUL, while its
forecast RUL falls within the horizon, is **risk accepted**: the plan lists
it with its probability of failure, so whoever approves sees what is left.

Pure: numbers in, a plan out; the explanation is a deterministic template in
French or English citing the evidence.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from egide.errors import InvalidInput
from egide.forecasting.histories import Histories
from egide.forecasting.model import RulModel
from egide.forecasting.risk import Ranking, rank

MAX_PERIODS = 366
MAX_UNITS = 2000


@dataclass(frozen=True)
class ServiceKind:
    """A kind of service: its cost and the parts it consumes."""

    name: str
    cost: float
    parts: dict[str, int]


@dataclass(frozen=True)
class Workshop:
    """Workshop capacity and stock over the planning horizon."""

    periods: tuple[str, ...]
    slots: tuple[int, ...]
    cycles_per_period: int
    failure_cost: float
    kinds: dict[str, ServiceKind]
    default_kind: str
    unit_kinds: dict[int, str]
    stock: dict[str, int]

    @property
    def horizon_cycles(self) -> int:
        """Cycles covered by the whole planning horizon."""
        return self.cycles_per_period * len(self.periods)

    def kind_of(self, unit: int) -> ServiceKind:
        """The service a unit needs."""
        return self.kinds[self.unit_kinds.get(unit, self.default_kind)]

    def to_json(self) -> dict[str, Any]:
        """The workshop as given (normalised)."""
        return {
            "cycles_per_period": self.cycles_per_period,
            "periods": [
                {"name": n, "slots": s} for n, s in zip(self.periods, self.slots, strict=True)
            ],
            "failure_cost": self.failure_cost,
            "service_kinds": {
                k.name: {"cost": k.cost, "parts": dict(k.parts)} for k in self.kinds.values()
            },
            "default_kind": self.default_kind,
            "unit_kinds": {str(u): k for u, k in sorted(self.unit_kinds.items())},
            "stock": dict(self.stock),
        }


def parse_workshop(value: Any, source: str = "workshop") -> Workshop:
    """Read and check a workshop description (see docs/maintenance.md for the format).

    Raises:
        InvalidInput: every problem found, in one message.
    """
    problems: list[str] = []
    if not isinstance(value, dict):
        raise InvalidInput(f"{source}: expected a JSON object with periods, stock and costs")
    known = {
        "cycles_per_period",
        "periods",
        "failure_cost",
        "service_kinds",
        "default_kind",
        "unit_kinds",
        "stock",
    }
    for key in sorted(set(value) - known):
        problems.append(f"unknown field {key!r} (known: {', '.join(sorted(known))})")
    cpp: Any = value.get("cycles_per_period")
    if not _is_int(cpp) or cpp < 1:
        problems.append("cycles_per_period must be a whole number ≥ 1 (cycles flown per period)")
        cpp = 1
    periods: Any = value.get("periods")
    names: list[str] = []
    slots: list[int] = []
    if not isinstance(periods, list) or not periods:
        problems.append('periods must be a non-empty list of {"name": …, "slots": …}')
        periods = []
    elif len(periods) > MAX_PERIODS:
        problems.append(f"at most {MAX_PERIODS} periods, got {len(periods)}")
        periods = []
    for i, period in enumerate(periods, start=1):
        if not isinstance(period, dict) or not isinstance(period.get("name"), str):
            problems.append(f'period {i}: expected {{"name": text, "slots": number}}')
            continue
        if not _is_int(period.get("slots")) or period["slots"] < 0:
            problems.append(
                f"period {period['name']!r}: slots must be a whole number ≥ 0, "
                f"got {period.get('slots')!r}"
            )
            continue
        names.append(period["name"])
        slots.append(int(period["slots"]))
    if len(set(names)) != len(names):
        problems.append("period names must be distinct")
    if names and len(names) == len(periods) and sum(slots) == 0:
        problems.append(
            "no workshop slot in any period: nothing can be serviced — give at least one "
            "period a slot, or do not ask for a plan"
        )
    failure_cost: Any = value.get("failure_cost")
    if not _is_number(failure_cost) or failure_cost <= 0:
        problems.append("failure_cost must be a number > 0 (the cost of one failure in service)")
        failure_cost = 1.0
    stock_in: Any = value.get("stock", {})
    stock: dict[str, int] = {}
    if not isinstance(stock_in, dict):
        problems.append("stock must be an object {part: quantity}")
        stock_in = {}
    for part, quantity in stock_in.items():
        if not _is_int(quantity) or quantity < 0:
            problems.append(
                f"stock of {part!r} must be a whole number ≥ 0, got {quantity!r} "
                "(a negative stock is a debt, not a part on the shelf)"
            )
        else:
            stock[str(part)] = int(quantity)
    kinds: dict[str, ServiceKind] = {}
    kinds_in: Any = value.get("service_kinds")
    if not isinstance(kinds_in, dict) or not kinds_in:
        problems.append("service_kinds must be a non-empty object {kind: {cost, parts}}")
        kinds_in = {}
    for name, kind in kinds_in.items():
        if not isinstance(kind, dict):
            problems.append(f'service kind {name!r}: expected {{"cost": …, "parts": {{…}}}}')
            continue
        cost: Any = kind.get("cost")
        if not _is_number(cost) or cost < 0:
            problems.append(f"service kind {name!r}: cost must be a number ≥ 0")
            continue
        parts_in = kind.get("parts", {})
        if not isinstance(parts_in, dict):
            problems.append(f"service kind {name!r}: parts must be an object {{part: quantity}}")
            continue
        parts: dict[str, int] = {}
        for part, quantity in parts_in.items():
            if not _is_int(quantity) or quantity < 1:
                problems.append(
                    f"service kind {name!r}: part {part!r} quantity must be a whole number ≥ 1"
                )
            elif part not in stock_in:
                problems.append(
                    f"service kind {name!r} uses part {part!r}, which is not in stock: "
                    f'add "{part}": 0 (or the quantity held) to stock'
                )
            else:
                parts[str(part)] = int(quantity)
        kinds[str(name)] = ServiceKind(name=str(name), cost=float(cost), parts=parts)
    default_kind: Any = value.get("default_kind", next(iter(kinds_in), ""))
    if kinds_in and default_kind not in kinds_in:
        problems.append(f"default_kind {default_kind!r} is not one of service_kinds")
    unit_kinds: dict[int, str] = {}
    unit_kinds_in: Any = value.get("unit_kinds", {})
    if not isinstance(unit_kinds_in, dict):
        problems.append("unit_kinds must be an object {unit: kind}")
        unit_kinds_in = {}
    for unit, kind_name in unit_kinds_in.items():
        if not str(unit).isdigit():
            problems.append(f"unit_kinds: {unit!r} is not a unit number")
        elif kinds_in and kind_name not in kinds_in:
            problems.append(f"unit_kinds: unit {unit} needs unknown service kind {kind_name!r}")
        else:
            unit_kinds[int(unit)] = str(kind_name)
    if problems:
        raise InvalidInput(f"{source}: " + "; ".join(problems))
    return Workshop(
        periods=tuple(names),
        slots=tuple(slots),
        cycles_per_period=int(cpp),
        failure_cost=float(failure_cost),
        kinds=kinds,
        default_kind=str(default_kind),
        unit_kinds=unit_kinds,
        stock=stock,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


@dataclass(frozen=True)
class Candidate:
    """A unit to plan: its forecast and its failure probability by the end of each period."""

    unit: int
    rul: float
    interval80: tuple[float, float]
    p_before: tuple[float, ...]  # P(fails before period t begins), t = 0..T-1
    p_horizon: float  # P(fails before the planning horizon ends)


@dataclass(frozen=True)
class Decision:
    """What the plan does with one unit."""

    unit: int
    period: int | None  # index into Workshop.periods, or None: not serviced
    period_name: str | None
    kind: str
    rul: float
    interval80: tuple[float, float]
    p_fail_before: float  # before the service, or within the horizon if not serviced
    expected_cost: float
    risk_accepted: bool

    def to_json(self) -> dict[str, Any]:
        """The decision as a JSON object."""
        return {
            "unit": self.unit,
            "period": self.period_name,
            "kind": self.kind,
            "rul": round(self.rul, 1),
            "rul_80": [round(self.interval80[0], 1), round(self.interval80[1], 1)],
            "p_fail_before": round(self.p_fail_before, 4),
            "expected_cost": round(self.expected_cost, 2),
            "risk_accepted": self.risk_accepted,
        }


@dataclass(frozen=True)
class Plan:
    """The optimal plan and its accounting."""

    workshop: Workshop
    decisions: tuple[Decision, ...]  # serviced first (by period), then the others by risk
    service_cost: float
    expected_failure_cost: float
    slots_used: tuple[int, ...]
    parts_used: dict[str, int]

    @property
    def serviced(self) -> tuple[Decision, ...]:
        """Decisions that service a unit."""
        return tuple(d for d in self.decisions if d.period is not None)

    @property
    def accepted(self) -> tuple[Decision, ...]:
        """Units whose forecast failure falls within the horizon before any service."""
        return tuple(d for d in self.decisions if d.risk_accepted)

    def to_json(self) -> dict[str, Any]:
        """The plan as a JSON object."""
        return {
            "objective": {
                "total": round(self.service_cost + self.expected_failure_cost, 2),
                "service_cost": round(self.service_cost, 2),
                "expected_failure_cost": round(self.expected_failure_cost, 2),
            },
            "horizon_cycles": self.workshop.horizon_cycles,
            "periods": [
                {"name": n, "slots": s, "used": u}
                for n, s, u in zip(
                    self.workshop.periods, self.workshop.slots, self.slots_used, strict=True
                )
            ],
            "parts": {
                p: {"stock": q, "used": self.parts_used.get(p, 0)}
                for p, q in self.workshop.stock.items()
            },
            "decisions": [d.to_json() for d in self.decisions],
            "risk_accepted": [d.unit for d in self.accepted],
        }


def solve(workshop: Workshop, candidates: list[Candidate]) -> Plan:
    """The plan of least expected cost within slots and stock (HiGHS, exact MIP).

    Raises:
        InvalidInput: no candidate, too many, a probability curve of the wrong length.
    """
    import highspy

    periods = len(workshop.periods)
    if not candidates:
        raise InvalidInput("no unit to plan: the fleet file holds no unit")
    if len(candidates) > MAX_UNITS:
        raise InvalidInput(f"at most {MAX_UNITS} units per plan, got {len(candidates)}")
    for c in candidates:
        if len(c.p_before) != periods:
            raise ValueError(f"unit {c.unit}: {len(c.p_before)} probabilities for {periods}")
    fc = workshop.failure_cost
    h = _highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    index: dict[tuple[int, int], int] = {}
    constant = 0.0
    for u, c in enumerate(candidates):
        kind = workshop.kind_of(c.unit)
        p_horizon = c.p_horizon
        constant += fc * p_horizon
        for t in range(periods):
            if workshop.slots[t] == 0:
                continue
            # Cost relative to not servicing: service cost + failure cost avoided.
            cost = kind.cost + fc * (c.p_before[t] - p_horizon)
            h.addVar(0.0, 1.0)
            col = h.getNumCol() - 1
            h.changeColCost(col, cost)
            h.changeColIntegrality(col, highspy.HighsVarType.kInteger)
            index[(u, t)] = col
    inf = highspy.kHighsInf
    for u in range(len(candidates)):
        cols = [index[(u, t)] for t in range(periods) if (u, t) in index]
        if cols:
            h.addRow(-inf, 1.0, len(cols), cols, [1.0] * len(cols))
    for t in range(periods):
        cols = [index[(u, t)] for u in range(len(candidates)) if (u, t) in index]
        if cols:
            h.addRow(-inf, float(workshop.slots[t]), len(cols), cols, [1.0] * len(cols))
    for part, quantity in workshop.stock.items():
        cols, values = [], []
        for (u, _t), col in index.items():
            need = workshop.kind_of(candidates[u].unit).parts.get(part, 0)
            if need:
                cols.append(col)
                values.append(float(need))
        if cols:
            h.addRow(-inf, float(quantity), len(cols), cols, values)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise InvalidInput(
            f"the workshop plan could not be solved ({h.modelStatusToString(h.getModelStatus())})"
        )
    x = h.getSolution().col_value
    chosen = {u: t for (u, t), col in index.items() if x[col] > 0.5}
    decisions: list[Decision] = []
    slots_used = [0] * periods
    parts_used: dict[str, int] = {}
    service_cost = 0.0
    failure_cost = 0.0
    for u, c in enumerate(candidates):
        kind = workshop.kind_of(c.unit)
        slot = chosen.get(u)
        if slot is None:
            p = c.p_horizon
            cost = fc * p
            accepted = c.rul <= workshop.horizon_cycles
        else:
            t = slot
            p = c.p_before[t]
            cost = kind.cost + fc * p
            slots_used[t] += 1
            for part, need in kind.parts.items():
                parts_used[part] = parts_used.get(part, 0) + need
            service_cost += kind.cost
            # Serviced after the period in which the forecast says it fails.
            accepted = c.rul < t * workshop.cycles_per_period
        failure_cost += fc * p
        decisions.append(
            Decision(
                unit=c.unit,
                period=slot,
                period_name=None if slot is None else workshop.periods[slot],
                kind=kind.name,
                rul=c.rul,
                interval80=c.interval80,
                p_fail_before=p,
                expected_cost=cost,
                risk_accepted=accepted,
            )
        )
    decisions.sort(key=lambda d: (d.period is None, d.period or 0, -d.p_fail_before, d.unit))
    return Plan(
        workshop=workshop,
        decisions=tuple(decisions),
        service_cost=service_cost,
        expected_failure_cost=failure_cost,
        slots_used=tuple(slots_used),
        parts_used=parts_used,
    )


_BANNER = threading.Lock()
_banner_shown = False


def _highs() -> Any:
    """A HiGHS instance, without the banner its first construction prints on stdout.

    HiGHS writes "Running HiGHS …" from C++ to file descriptor 1 the first time a
    solver is built in a process, before any option can be set; on the command
    line it would corrupt ``--json`` output. Only that first construction is
    silenced, under a lock.
    """
    global _banner_shown
    import highspy

    with _BANNER:
        if _banner_shown:
            return highspy.Highs()  # type: ignore[no-untyped-call]
        sys.stdout.flush()
        saved = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            solver = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
        _banner_shown = True
        return solver


# --- explanation ------------------------------------------------------------------------

_TEXT = {
    "en": {
        "head": (
            "Proposed workshop plan over {periods} period(s) of {cpp} cycles "
            "({horizon} cycles): {n} of {units} unit(s) serviced, expected cost {total:,.0f} "
            "(services {service:,.0f}, expected failures {failures:,.0f})."
        ),
        "service": (
            "Unit {unit}: {kind} in {period}. Forecast RUL {rul:.0f} cycles "
            "(80 % interval {lo:.0f}-{hi:.0f}); probability of failing before that "
            "period begins {p:.1%}."
        ),
        "accepted": (
            "Risk accepted: unit {unit} ({when}); forecast RUL {rul:.0f} cycles "
            "(80 % interval {lo:.0f}-{hi:.0f}), probability of failing {p:.1%}."
        ),
        "not": "not serviced within the horizon",
        "late": "serviced in {period}, after its forecast failure",
        "none": "No unit is forecast to fail within the horizon without service.",
        "others": (
            "{n} other unit(s) not serviced: forecast RUL beyond the horizon "
            "(probability of failing within it at most {p:.1%})."
        ),
        "limits": "Limits: slots used {slots}; parts used {parts}.",
        "basis": (
            "Probabilities are upper bounds from the model's calibrated (conformal) "
            "distribution; a human decides."
        ),
    },
    "fr": {
        "head": (
            "Plan d'atelier proposé sur {periods} période(s) de {cpp} cycles "
            "({horizon} cycles) : {n} unité(s) sur {units} en maintenance, coût espéré "
            "{total:,.0f} (maintenances {service:,.0f}, pannes espérées {failures:,.0f})."
        ),
        "service": (
            "Unité {unit} : {kind} en {period}. Durée de vie résiduelle prévue {rul:.0f} "
            "cycles (intervalle à 80 % {lo:.0f}-{hi:.0f}) ; probabilité de panne avant le "
            "début de cette période {p:.1%}."
        ),
        "accepted": (
            "Risque accepté : unité {unit} ({when}) ; durée de vie résiduelle prévue "
            "{rul:.0f} cycles (intervalle à 80 % {lo:.0f}-{hi:.0f}), probabilité de panne "
            "{p:.1%}."
        ),
        "not": "pas de maintenance dans l'horizon",
        "late": "maintenance en {period}, après sa panne prévue",
        "none": "Aucune unité n'est prévue en panne dans l'horizon sans maintenance.",
        "others": (
            "{n} autre(s) unité(s) sans maintenance : durée de vie résiduelle prévue "
            "au-delà de l'horizon (probabilité de panne dans l'horizon au plus {p:.1%})."
        ),
        "limits": "Limites : créneaux utilisés {slots} ; pièces utilisées {parts}.",
        "basis": (
            "Les probabilités sont des bornes hautes tirées de la distribution calibrée "
            "(conforme) du modèle ; un humain décide."
        ),
    },
}


def explain(plan: Plan, lang: str = "en") -> str:
    """A deterministic explanation of `plan` in French or English, citing the evidence.

    Raises:
        InvalidInput: a language other than ``fr`` or ``en``.
    """
    if lang not in _TEXT:
        raise InvalidInput(f"language {lang!r} is not available; choose fr or en")
    text = _TEXT[lang]
    w = plan.workshop
    lines = [
        text["head"].format(
            periods=len(w.periods),
            cpp=w.cycles_per_period,
            horizon=w.horizon_cycles,
            n=len(plan.serviced),
            units=len(plan.decisions),
            total=plan.service_cost + plan.expected_failure_cost,
            service=plan.service_cost,
            failures=plan.expected_failure_cost,
        )
    ]
    for d in plan.serviced:
        lines.append(
            text["service"].format(
                unit=d.unit,
                kind=d.kind,
                period=d.period_name,
                rul=d.rul,
                lo=d.interval80[0],
                hi=d.interval80[1],
                p=d.p_fail_before,
            )
        )
    for d in plan.accepted:
        when = text["not"] if d.period is None else text["late"].format(period=d.period_name)
        lines.append(
            text["accepted"].format(
                unit=d.unit,
                when=when,
                rul=d.rul,
                lo=d.interval80[0],
                hi=d.interval80[1],
                p=d.p_fail_before,
            )
        )
    if not plan.accepted:
        lines.append(text["none"])
    rest = [d for d in plan.decisions if d.period is None and not d.risk_accepted]
    if rest:
        lines.append(text["others"].format(n=len(rest), p=max(d.p_fail_before for d in rest)))
    slots = ", ".join(
        f"{n} {u}/{s}" for n, s, u in zip(w.periods, w.slots, plan.slots_used, strict=True)
    )
    parts = ", ".join(f"{p} {plan.parts_used.get(p, 0)}/{q}" for p, q in w.stock.items()) or "-"
    lines.append(text["limits"].format(slots=slots, parts=parts))
    lines.append(text["basis"])
    return "\n".join(lines)


# --- from a model and a fleet -----------------------------------------------------------


@dataclass(frozen=True)
class FleetPlan:
    """A fleet's risk ranking and its workshop plan."""

    ranking: Ranking
    plan: Plan


def plan_fleet(model: RulModel, histories: Histories, workshop: Workshop) -> FleetPlan:
    """Rank the fleet (horizon: the planning horizon, at most the model's cap) and plan it.

    Raises:
        InvalidInput: as :func:`egide.forecasting.risk.rank` and :func:`solve`, or a
            unit in the workshop's ``unit_kinds`` that is not in the fleet.
    """
    fleet_units = {int(u) for u in histories.unit_ids()}
    unknown = sorted(set(workshop.unit_kinds) - fleet_units)
    if unknown:
        raise InvalidInput(
            f"workshop unit_kinds names unit(s) {', '.join(map(str, unknown[:10]))} that are "
            "not in the fleet file; remove them or give the right fleet"
        )
    horizon = int(min(workshop.horizon_cycles, model.cap))
    ranking = rank(model, histories, horizon)
    rul = np.asarray([u.rul for u in ranking.units], dtype=np.float64)
    # Probability of failing before period t begins, t = 0..T (T: the horizon's end).
    by_period = [
        model.conformal.probability_at_most(rul, float(t * workshop.cycles_per_period))
        for t in range(len(workshop.periods) + 1)
    ]
    candidates = [
        Candidate(
            unit=u.unit,
            rul=u.rul,
            interval80=u.interval80,
            p_before=tuple(float(p[i]) for p in by_period[:-1]),
            p_horizon=float(by_period[-1][i]),
        )
        for i, u in enumerate(ranking.units)
    ]
    return FleetPlan(ranking=ranking, plan=solve(workshop, candidates))
