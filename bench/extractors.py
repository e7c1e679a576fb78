"""Deterministic extractors: messages per second on ~1 KB messages, one core, in process.

    .venv/bin/python bench/extractors.py [--messages 2000]

Each extractor of egide.extractors runs alone over the same synthetic
messages (French and English prose with grid references, positions, call
signs, units and equipment mixed in), then all together. Results go to
bench/results/extractors.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from egide.extractors.found import Found
from egide.extractors.gazetteer import find_equipment
from egide.extractors.latlon import find_latlon
from egide.extractors.mgrs import find_mgrs
from egide.extractors.units import find_callsigns, find_units

ROOT = Path(__file__).resolve().parents[1]
PROSE = [
    "Le convoi a quitté la base à 0600 et progresse vers le nord sans incident notable.",
    "The patrol reports light traffic on the main supply route and no hostile activity.",
    "Appelez le 06 12 34 56 78 pour la relève du 14/05/2026, prévoir 2 500 litres.",
    "Weather is clear, visibility 10 km, wind 15 kt from the west, temperature 21.5 C.",
    "Les populations locales signalent des mouvements de véhicules civils en soirée.",
]
NUGGETS = [
    "Contact en 31U DQ 48251 11932.",
    "Rally at 38SMB4488.",
    "Position 48°51'24\"N 2°21'08\"E.",
    "CP at 485124N0022108E.",
    "ALPHA 2-1 to Tango 6.",
    "Le 2e RIMa et le 1er RCP tiennent le pont.",
    "2 RIFLES with 1st Battalion.",
    "Deux VAB et un Caïman, un Tigre en appui.",
]
EXTRACTORS: dict[str, Callable[[str], list[Found]]] = {
    "mgrs": find_mgrs,
    "latlon": find_latlon,
    "callsigns": find_callsigns,
    "units": find_units,
    "equipment": find_equipment,
}


def messages(count: int, size: int = 1024) -> list[str]:
    """`count` messages of about `size` characters, a few nuggets in each."""
    rng = random.Random(14)
    out = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < size:
            parts.append(rng.choice(NUGGETS if rng.random() < 0.25 else PROSE))
        out.append(" ".join(parts)[:size])
    return out


def measure(extract: Callable[[str], list[Found]], corpus: list[str]) -> dict[str, Any]:
    extract(corpus[0])  # compile and load before timing
    found = 0
    start = time.perf_counter()
    for text in corpus:
        found += len(extract(text))
    seconds = time.perf_counter() - start
    return {
        "messages_per_s": round(len(corpus) / seconds),
        "us_per_message": round(seconds / len(corpus) * 1e6, 1),
        "found": found,
    }


def all_together(text: str) -> list[Found]:
    return [f for extract in EXTRACTORS.values() for f in extract(text)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    corpus = messages(max(1, args.messages))
    load_before = os.getloadavg()
    rows = [{"extractor": name, **measure(f, corpus)} for name, f in EXTRACTORS.items()]
    rows.append({"extractor": "all", **measure(all_together, corpus)})
    report: dict[str, Any] = {
        "extractors": rows,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "messages": len(corpus),
            "mean_message_chars": round(sum(map(len, corpus)) / len(corpus)),
        },
    }
    print(f"{'extractor':10} {'msg/s':>9} {'µs/msg':>9} {'found':>7}")
    for row in rows:
        print(
            f"{row['extractor']:10} {row['messages_per_s']:>9} {row['us_per_message']:>9} "
            f"{row['found']:>7}"
        )
    m = report["machine"]
    print(f"{m['messages']} messages of ~{m['mean_message_chars']} chars, one process")
    out = ROOT / "bench" / "results" / "extractors.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
