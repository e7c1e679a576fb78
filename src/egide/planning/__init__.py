"""Routing and supply planning: a problem in, a validated plan out (docs/planning.md).

A pure domain layer: frozen dataclasses with a JSON form, no database, no labels, no journal.
The planning service (labelled plans, proposals of kind "logistics plan", API jobs, the
console page) is built on these functions:

- `read_problem` / `loads_problem` / `problem_from_dict`: JSON (schema: `schema()`), CSV,
  VRPLIB and Solomon inputs, with errors that name the line or the path;
- `solve`: PyVRP, with feasibility checks before and after (`egide.errors.Infeasible`);
- `validate`: the independent check every returned plan passes;
- `replan` / `diff`: re-solve after changes from the previous plan;
- `allocate_stock`: the HiGHS transfer programme between depots;
- `render_svg`, `plan_document`, `loads_plan`: the map and the plan file.
"""

from egide.planning.codec import (
    loads_plan,
    loads_problem,
    plan_document,
    problem_from_dict,
    problem_to_dict,
    schema,
)
from egide.planning.model import Demand, Depot, Location, Matrix, Problem, TimeWindow, VehicleType
from egide.planning.readers import read_problem
from egide.planning.replan import Changes, Diff, apply_changes, diff, replan
from egide.planning.solution import Route, Solution, Stop, Transfer, Unserved
from egide.planning.solver import solve
from egide.planning.stock import StockPlan, allocate_stock
from egide.planning.svg import render_svg
from egide.planning.validate import Report, validate

__all__ = [
    "Changes",
    "Demand",
    "Depot",
    "Diff",
    "Location",
    "Matrix",
    "Problem",
    "Report",
    "Route",
    "Solution",
    "StockPlan",
    "Stop",
    "TimeWindow",
    "Transfer",
    "Unserved",
    "VehicleType",
    "allocate_stock",
    "apply_changes",
    "diff",
    "loads_plan",
    "loads_problem",
    "plan_document",
    "problem_from_dict",
    "problem_to_dict",
    "read_problem",
    "render_svg",
    "replan",
    "schema",
    "solve",
    "validate",
]
