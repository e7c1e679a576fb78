"""SQuAD retrieval benchmark: full text, dense and hybrid side by side (table + JSON).

    .venv/bin/python bench/retrieval.py [--squad PATH] [--limit-queries N] [--database-url URL]

Same as `egide bench retrieval`. Results go to bench/results/retrieval-<db>.json.
"""

from __future__ import annotations

import sys

from egide.cli.bench import bench_main

if __name__ == "__main__":
    sys.exit(bench_main("retrieval", sys.argv[1:]))
