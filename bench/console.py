"""Console page load times: p50/p95 per main page, server HTML and full load in Chromium.

A real `egide serve` (SQLite, no embedder, no model needed) is started on the
loopback interface over a demo-like installation built through the services:
the demo's people and exercise corpus, proposals of every kind — one
amended, one approved by two people — and 60 stream alerts at mixed labels
(the Alerts page shows its newest 50). The benchmark signs in with an API key
as the demo's administrator (every role, the widest clearance, so every page
shows the most it can) and loads each main page:

- **HTML**: the time from sending the request to the last byte of the page,
  measured by the client over loopback (the server's rendering, policy checks
  and journal writes: every page read is journaled);
- **browser**: the navigation's duration in headless Debian Chromium
  (`/usr/bin/chromium`, through Playwright; skipped if absent): HTML, the
  style sheet and the script, up to the load event.

A page that answers 404 (not built yet on this branch) is listed as skipped.
Warm-up loads are left out. Loops are bounded (`--requests`, `--loads`).

    .venv/bin/python bench/console.py [--requests 30] [--loads 10] [--no-browser]

Results go to bench/results/console.json. Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from egide.app import Platform
from egide.benchmarks.scale import percentile
from egide.core.principals import Principal, Role
from egide.demo.scenario import COLLECTION, PEOPLE, corpus_files
from egide.settings import Settings
from egide.streams.message import Message

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ORGANISATION = "Exercice TRIDENT BORÉAL"
MAX_REQUESTS = 500
WARM_UP = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(data_dir: Path) -> dict[str, Any]:
    """The demo's people and corpus, and proposals; the admin's key and the ids to visit."""
    platform = Platform(Settings(data_dir=data_dir, embeddings=False))
    platform.initialise()
    identity, policies = platform.identity, platform.policies
    try:
        identity.add_organisation("bench", ORGANISATION)
        identity.add_user(
            "bench",
            "admin",
            clearance=policies.parse_clearance("TS NAT FRA, DEU, POL"),
            roles=list(Role),
            organisation=ORGANISATION,
        )
        for name, (clearance, roles, _) in PEOPLE.items():
            identity.add_user(
                "bench",
                name,
                clearance=policies.parse_clearance(clearance),
                roles=roles,
                organisation=ORGANISATION,
            )
        _, key = identity.create_key("bench", "admin")
        admin = identity.principal("admin")
        knowledge = platform.knowledge
        knowledge.create_collection(admin, COLLECTION, description="exercise corpus (fictional)")
        documents = []
        for filename, data in corpus_files():
            documents += [
                d.document_id for d in knowledge.ingest(admin, COLLECTION, filename, data)
            ]
        # The document page of the largest document (most passages) is the one timed.
        shown = [knowledge.document(admin, d) for d in documents]
        largest = max(shown, key=lambda d: len(d.portions))
        analyst = identity.principal("analyste")
        readable = [
            d for d in shown if analyst.clearance.permits(policies.parse(d.summary.label)).allowed
        ]
        proposals = platform.proposals
        ids = []
        for number, kind in enumerate(
            ("report", "intelligence-report", "dissemination", "logistics-plan", "course-of-action")
        ):
            source = readable[number % len(readable)]
            cited = source.portions[: min(3, len(source.portions))]
            ids.append(
                proposals.create(
                    analyst,
                    kind=kind,
                    title=f"{kind} — {source.summary.title or source.summary.filename}",
                    content={
                        "blocks": [
                            {"kind": "heading", "text": "Synthèse"},
                            *({"kind": "paragraph", "text": p.text[:400]} for p in cited),
                        ]
                    },
                    evidence=[{"chunk": p.chunk_id, "document": source.summary.id} for p in cited],
                    label=policies.parse(source.summary.label),
                ).id
            )
        approvers = [identity.principal("approbateur"), identity.principal("adjoint")]
        for approver in approvers:  # a dissemination needs two people
            proposals.approve(approver, ids[2], rationale="sources recoupées")
        viewed = proposals.get(admin, ids[1])
        proposals.amend(
            approvers[0],
            ids[1],
            {**viewed.content, "note": "amendé pour le banc"},
            "précision",
        )
        _seed_alerts(platform, admin)
        return {"key": key, "document": largest.summary.id, "proposal": ids[1]}
    finally:
        platform.close()


ALERTS = 60
"""Alerts raised before the bench: more than the Alerts page shows (its newest 50)."""


def _seed_alerts(platform: Platform, admin: Principal) -> None:
    """A watchlist and `ALERTS` messages matching it, at mixed labels, as a worker raises them."""
    policies = platform.policies
    platform.streams.add_watchlist(admin, "veille-banc", ["HIBOU", "convoi"])
    labels = ("NON PROTÉGÉ", "DIFFUSION RESTREINTE", "SECRET")
    platform.streams.process_many(
        [
            Message(
                id=f"banc-{n}",
                channel=f"radio-{n % 4}",
                text=f"Message {n} : le convoi HIBOU passe le point {n}.",
                label=policies.parse(labels[n % len(labels)]),
                received=datetime.now(UTC),
                source=f"bench:{n}",
            )
            for n in range(ALERTS)
        ],
        worker="bench",
    )


def serve(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`egide serve` on loopback, plain http (cookies without Secure: loopback only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGIDE_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
            "EGIDE_DATA_DIR": str(data_dir),
            "EGIDE_EMBEDDINGS": "false",
            "EGIDE_CONSOLE_SECURE_COOKIES": "false",
        }
    )
    command = [sys.executable, "-c", "from egide.cli.main import main; main()", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("egide serve exited; see its log")
        try:
            if httpx.get(f"{url}/signin", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become ready")


def sign_in(client: httpx.Client, key: str) -> None:
    page = client.get("/signin").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    done = client.post("/signin/key", data={"key": key, "csrf": token.group(1)})
    if done.status_code != 303 or "egide_session" not in client.cookies:
        raise RuntimeError(f"sign-in failed: {done.status_code} {done.text[:200]}")


def time_html(client: httpx.Client, path: str, requests: int) -> dict[str, Any]:
    """Milliseconds to the last byte of `path`, `requests` times after a warm-up."""
    first = client.get(path)
    if first.status_code != 200:
        return {"status": first.status_code}
    for _ in range(WARM_UP - 1):
        client.get(path)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        response.read()
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            return {"status": response.status_code}
    return {
        "status": 200,
        "bytes": len(first.content),
        "p50_ms": round(percentile(times, 0.5), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
    }


def time_browser(
    url: str, cookie: str, paths: list[str], loads: int
) -> dict[str, dict[str, float]]:
    """Navigation duration (ms) of each path in headless Chromium, `loads` times."""
    from playwright.sync_api import sync_playwright

    found: dict[str, dict[str, float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(base_url=url)
        context.add_cookies([{"name": "egide_session", "value": cookie, "url": url}])
        page = context.new_page()
        for path in paths:
            durations = []
            for attempt in range(loads + WARM_UP):
                page.goto(path, wait_until="load")
                duration = page.evaluate("performance.getEntriesByType('navigation')[0].duration")
                if attempt >= WARM_UP:
                    durations.append(float(duration))
            found[path] = {
                "p50_ms": round(percentile(durations, 0.5), 1),
                "p95_ms": round(percentile(durations, 0.95), 1),
            }
        browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30, help="timed HTML loads per page")
    parser.add_argument("--loads", type=int, default=10, help="timed Chromium loads per page")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium loads")
    args = parser.parse_args()
    requests = max(1, min(args.requests, MAX_REQUESTS))
    loads = max(1, min(args.loads, MAX_REQUESTS))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        seeded = seed(work / "data")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = serve(work / "data", port, work / "serve.log")
        try:
            wait_ready(url, process)
            pages = {
                "home": "/",
                "documents list": "/documents",
                "document view": f"/documents/{seeded['document']}",
                "ask (GET)": "/ask",
                "proposals list": "/proposals",
                "proposal view": f"/proposals/{seeded['proposal']}",
                "alerts": "/alerts",
                "audit": "/audit",
                "administration": "/admin",
                "admin models": "/admin/models",
                "admin usage": "/admin/usage",
            }
            with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as client:
                sign_in(client, seeded["key"])
                html = {name: time_html(client, path, requests) for name, path in pages.items()}
                cookie = client.cookies["egide_session"]
            served = [pages[n] for n, r in html.items() if r.get("status") == 200]
            browser: dict[str, dict[str, float]] = {}
            browser_note = ""
            if args.no_browser:
                browser_note = "skipped (--no-browser)"
            elif not CHROMIUM.exists():
                browser_note = f"skipped ({CHROMIUM} is missing)"
            else:
                browser = time_browser(url, cookie, served, loads)
        finally:
            process.terminate()
            process.wait(timeout=30)
    results = []
    for name, path in pages.items():
        row: dict[str, Any] = {"page": name, "path": path, **html[name]}
        if html[name].get("status") != 200:
            row["skipped"] = f"answers {html[name].get('status')} (not built on this branch yet)"
        elif path in browser:
            row["browser_p50_ms"] = browser[path]["p50_ms"]
            row["browser_p95_ms"] = browser[path]["p95_ms"]
        results.append(row)
    report: dict[str, Any] = {
        "pages": results,
        "browser": browser_note or "Debian chromium, headless, navigation duration to load",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "requests_per_page": requests,
            "browser_loads_per_page": loads,
        },
    }
    print(
        f"{'page':16} {'path':16} {'HTML p50':>9} {'HTML p95':>9} {'load p50':>9} {'load p95':>9}"
    )
    for row in results:
        if "skipped" in row:
            print(f"{row['page']:16} {row['path']:16} skipped: {row['skipped']}")
            continue
        print(
            f"{row['page']:16} {row['path']:16} {row['p50_ms']:>9} {row['p95_ms']:>9} "
            f"{row.get('browser_p50_ms', '-'):>9} {row.get('browser_p95_ms', '-'):>9}"
        )
    m = report["machine"]
    print(
        f"milliseconds; load average before {m['load_average_before']}, after "
        f"{m['load_average_after']}; browser: {report['browser']}"
    )
    out = ROOT / "bench" / "results" / "console.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
