"""Logistics planning: PyVRP and OR-Tools side by side, cost, gap to best known, feasibility.

    .venv/bin/python bench/planning.py [--limits 5,30,120] [--quick]
        [--instances RC208,E-n22-k4,X-n101-50-k13,military] [--solvers pyvrp,ortools]
        [--military-stops 500] [--reference NAME=COST] [--write-military FILE]

Same as `egide bench planning`. Results go to bench/results/planning.json.
"""

from __future__ import annotations

import sys

from egide.cli.bench import bench_main

if __name__ == "__main__":
    sys.exit(bench_main("planning", sys.argv[1:]))
