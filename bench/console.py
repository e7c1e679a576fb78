"""Console page load times against a running `egide serve`: p50/p95 per page (table + JSON).

    .venv/bin/python bench/console.py --url http://127.0.0.1:8000 --key egk_… [--rounds 50]

Signs in through the console's API key form (as a browser does: pre-session
token, session cookie), then loads each main page `--rounds` times: home,
documents list, the first document's page, the upload form. Times are
server-rendered HTML complete (no browser rendering). Results go to
bench/results/console.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import httpx

from egide.benchmarks.scale import percentile

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_DOCUMENT = re.compile(r'href="(/documents/\d+)"')


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the console's address")
    parser.add_argument("--key", required=True, help="an API key of a user with the analyst role")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("bench/results/console.json"))
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.url, trust_env=False, timeout=30.0) as client:
        found = _CSRF.search(client.get("/signin").text)
        if found is None:
            print("no sign-in form at", args.url, file=sys.stderr)
            return 2
        signed = client.post("/signin/key", data={"key": args.key, "csrf": found.group(1)})
        if signed.status_code != 303:
            print(f"sign-in refused ({signed.status_code}); check --key", file=sys.stderr)
            return 2
        listing = client.get("/documents").text
        first = _DOCUMENT.search(listing)
        pages = ["/", "/documents", "/documents/upload"] + ([first.group(1)] if first else [])
        rows = []
        for path in pages:
            times = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    print(f"{path} answered {response.status_code}", file=sys.stderr)
                    return 1
            rows.append(
                {
                    "page": path,
                    "rounds": args.rounds,
                    "p50_ms": round(percentile(times, 0.5), 2),
                    "p95_ms": round(percentile(times, 0.95), 2),
                    "bytes": len(response.content),
                }
            )
    print(f"{'page':<24}{'p50 ms':>10}{'p95 ms':>10}{'bytes':>10}")
    for row in rows:
        print(f"{row['page']:<24}{row['p50_ms']:>10}{row['p95_ms']:>10}{row['bytes']:>10}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"url": args.url, "pages": rows}, indent=2) + "\n")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
