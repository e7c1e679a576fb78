"""Stock allocation between depots: a linear programme solved by HiGHS.

Given what each depot holds and what the routes leaving it must load, move stock between
depots so every depot can load its routes, at the least transport cost (quantity x cost of
the depot-to-depot leg). Each load dimension is an independent transportation problem; a
dimension that no depot lists a stock for is not tracked (unlimited).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from egide.errors import Infeasible
from egide.planning.solution import Transfer

TOLERANCE = 1e-7


@dataclass(frozen=True)
class StockPlan:
    """The transfers to make before loading, and their total cost."""

    transfers: list[Transfer]
    cost: float


def allocate_stock(
    stock: Mapping[str, Mapping[str, float]],
    need: Mapping[str, Mapping[str, float]],
    cost: Mapping[tuple[str, str], float],
) -> StockPlan:
    """Cheapest transfers so that every depot holds what it must load.

    `stock[depot][dim]` is on hand, `need[depot][dim]` must be loaded there, `cost[(a, b)]`
    is the cost of moving one unit from depot a to depot b. Raises `Infeasible` when the
    depots together hold less than is needed, saying by how much.
    """
    import highspy

    depots = sorted(set(stock) | set(need))
    tracked = sorted({dim for held in stock.values() for dim in held})
    shortages = []
    for dim in tracked:
        held = sum(stock.get(d, {}).get(dim, 0.0) for d in depots)
        wanted = sum(need.get(d, {}).get(dim, 0.0) for d in depots)
        if wanted > held + TOLERANCE:
            shortages.append(
                f"the depots hold {held:g} {dim} but the routes load {wanted:g} "
                f"(short by {wanted - held:g})"
            )
    if shortages:
        raise Infeasible("not enough stock: " + "; ".join(shortages), tuple(shortages))

    transfers: list[Transfer] = []
    total = 0.0
    arcs = [(a, b) for a in depots for b in depots if a != b]
    for dim in tracked:
        short = {d: need.get(d, {}).get(dim, 0.0) - stock.get(d, {}).get(dim, 0.0) for d in depots}
        if all(v <= TOLERANCE for v in short.values()):
            continue
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        for a, b in arcs:
            h.addVar(0.0, inf)
            h.changeColCost(h.getNumCol() - 1, float(cost.get((a, b), 0.0)))
        for d in depots:
            # stock - outgoing + incoming >= need, i.e. incoming - outgoing >= need - stock.
            indices = [k for k, (a, b) in enumerate(arcs) if d in (a, b)]
            values = [1.0 if arcs[k][1] == d else -1.0 for k in indices]
            h.addRow(short[d], inf, len(indices), indices, values)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise Infeasible(f"stock of {dim} cannot be balanced between depots")
        values = h.getSolution().col_value
        for (a, b), quantity in zip(arcs, values, strict=True):
            if quantity > TOLERANCE:
                unit = float(cost.get((a, b), 0.0))
                transfers.append(Transfer(a, b, dim, float(quantity), unit * quantity))
                total += unit * quantity
    return StockPlan(transfers=transfers, cost=total)
