"""Retrieval at scale: ingestion chunks/s and query latency p50/p95, SQLite and PostgreSQL.

    .venv/bin/python bench/scale.py [--sizes 10000,100000] [--backends sqlite,postgresql]
                                    [--queries 300] [--postgres-url URL]

Same as `egide bench scale`. Results go to bench/results/scale.json.
"""

from __future__ import annotations

import sys

from egide.cli.bench import bench_main

if __name__ == "__main__":
    sys.exit(bench_main("scale", sys.argv[1:]))
