"""A self-contained SVG map of a plan: one colour per vehicle, depots as squares, a legend.

Pure SVG text written here (no fonts, scripts or images from anywhere), so the map can travel
with a proposal as evidence and open offline in any browser. Latitude/longitude is drawn in
an equirectangular projection scaled by cos(mean latitude), which is faithful at theatre scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from xml.sax.saxutils import escape

from egide.planning.model import Location, Problem
from egide.planning.solution import Solution

PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39",
)  # fmt: skip
WIDTH, HEIGHT, MARGIN, LEGEND = 800, 600, 30, 220


def render_svg(problem: Problem, solution: Solution) -> str:
    """The SVG document (a string) for this plan."""
    points = {
        **{d.id: d.location for d in problem.depots},
        **{d.id: d.location for d in problem.demands},
    }
    project = _projection(problem, list(points.values()))
    xy = {k: project(v) for k, v in points.items()}
    served = {s.demand for r in solution.routes for s in r.stops}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + LEGEND}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH + LEGEND} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(problem.name or 'plan')}: cost {solution.cost:.2f}</title>",
        f'<rect width="{WIDTH + LEGEND}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    for k, route in enumerate(solution.routes):
        colour = PALETTE[k % len(PALETTE)]
        path = [route.start_depot, *[s.demand for s in route.stops], route.end_depot]
        # A small offset per route keeps routes over the same roads (or places) visible.
        shift = (k % 5 - 2) * 1.5
        coords = " ".join(f"{xy[p][0] + shift:.1f},{xy[p][1] + shift:.1f}" for p in path)
        parts.append(
            f'<polyline class="route" data-vehicle="{escape(route.vehicle)}" points="{coords}" '
            f'fill="none" stroke="{colour}" stroke-width="2" stroke-opacity="0.85"/>'
        )
        for n, stop in enumerate(route.stops, start=1):
            x, y = xy[stop.demand]
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                f"<title>{escape(stop.demand)}: stop {n} of {escape(route.vehicle)}, "
                f"arrives {stop.arrival:.0f} min</title></circle>"
            )
    for demand in problem.demands:
        if demand.id in served:
            continue
        x, y = xy[demand.id]
        parts.append(
            f'<g class="unserved"><line x1="{x - 4:.1f}" y1="{y - 4:.1f}" x2="{x + 4:.1f}" '
            f'y2="{y + 4:.1f}" stroke="#000" stroke-width="2"/><line x1="{x - 4:.1f}" '
            f'y1="{y + 4:.1f}" x2="{x + 4:.1f}" y2="{y - 4:.1f}" stroke="#000" stroke-width="2"/>'
            f"<title>{escape(demand.id)}: not served</title></g>"
        )
    if len(problem.demands) <= 200:
        # Demands at the same place (one per kind of vehicle) share one label.
        places: dict[tuple[float, float], list[str]] = {}
        for demand in problem.demands:
            x, y = xy[demand.id]
            places.setdefault((round(x, 1), round(y, 1)), []).append(demand.id)
        for (x, y), names in places.items():
            parts.append(
                f'<text x="{x + 5:.1f}" y="{y + 12:.1f}" fill="#555" font-size="9">'
                f"{escape(', '.join(names))}</text>"
            )
    for depot in problem.depots:
        x, y = xy[depot.id]
        parts.append(
            f'<rect class="depot" x="{x - 7:.1f}" y="{y - 7:.1f}" width="14" height="14" '
            f'fill="#000" stroke="#fff" stroke-width="1.5"><title>depot {escape(depot.id)}'
            f'</title></rect><text x="{x + 9:.1f}" y="{y - 9:.1f}">{escape(depot.id)}</text>'
        )
    parts += _legend(solution)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _legend(solution: Solution) -> list[str]:
    x0 = WIDTH + 10
    out = [
        f'<g class="legend"><text x="{x0}" y="20" font-weight="bold">Cost {solution.cost:.2f}'
        "</text>",
        f'<rect x="{x0}" y="30" width="12" height="12" fill="#000"/>'
        f'<text x="{x0 + 18}" y="40">depot</text>',
        f'<text x="{x0}" y="58" font-weight="bold">×</text>'
        f'<text x="{x0 + 18}" y="58">unserved ({len(solution.unserved)})</text>',
    ]
    for k, route in enumerate(solution.routes[:28]):
        y = 76 + 18 * k
        colour = PALETTE[k % len(PALETTE)]
        out.append(
            f'<line x1="{x0}" y1="{y - 4}" x2="{x0 + 14}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="3"/><text x="{x0 + 18}" y="{y}">{escape(route.vehicle)}: '
            f"{len(route.stops)} stops, {route.distance:.1f}</text>"
        )
    if len(solution.routes) > 28:
        out.append(f'<text x="{x0}" y="{76 + 18 * 28}">… {len(solution.routes) - 28} more</text>')
    out.append("</g>")
    return out


def _projection(
    problem: Problem, points: list[Location]
) -> Callable[[Location], tuple[float, float]]:
    squash = 1.0
    if problem.coordinates == "latlon" and points:
        squash = math.cos(math.radians(sum(p.y for p in points) / len(points)))
    xs = [p.x * squash for p in points] or [0.0]
    ys = [p.y for p in points] or [0.0]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    size = min(WIDTH, HEIGHT) - 2 * MARGIN
    left, top = min(xs), max(ys)

    def project(p: Location) -> tuple[float, float]:
        # North up: larger y (latitude) is nearer the top of the picture.
        return (MARGIN + (p.x * squash - left) / span * size, MARGIN + (top - p.y) / span * size)

    return project
