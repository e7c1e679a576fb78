"""Fault tests against the real NATS JetStream server and real worker processes.

Each test publishes to a stream of its own, runs `egide stream run` workers as
separate processes on a durable consumer they share, and checks the database:
every message has exactly one result and one journal entry, every expected
alert exists once, and the alert subject (captured by a deduplicating stream)
carried each alert once. `EGIDE_TEST_STREAM_MESSAGES` sets the size of the
SIGKILL test (default 10,000, the issue's figure).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig
from sqlalchemy import func, select, text

from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from egide.store import AuditEntryRecord
from egide.streams.records import AlertRecord, StreamQuarantineRecord, StreamResultRecord

NATS_URL = os.environ.get("EGIDE_TEST_NATS_URL", "nats://127.0.0.1:4222")
KILL_MESSAGES = int(os.environ.get("EGIDE_TEST_STREAM_MESSAGES", "10000"))
SRC = Path(__file__).resolve().parents[2] / "src"

pytestmark = pytest.mark.nats


@dataclass
class Flow:
    """One test's installation, stream, subjects and durable consumer."""

    platform: Platform
    env: dict[str, str]
    stream: str
    subject: str
    durable: str
    alerts: str
    quarantine: str

    def worker(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        """Start `egide stream run` on this flow as a separate process."""
        command = [
            sys.executable,
            "-c",
            "from egide.cli.main import main; main()",
            "stream",
            "run",
            "--source",
            NATS_URL,
            "--stream",
            self.stream,
            "--subject",
            self.subject,
            "--durable",
            self.durable,
            "--alert-subject",
            self.alerts,
            "--quarantine-subject",
            self.quarantine,
            "--ack-wait",
            "2",
            "--idle-exit",
            "6",
            "--name",
            name,
            *extra,
        ]
        return subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    def count(self, model: type, *where: object) -> int:
        with self.platform.database.transaction() as session:
            query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
            return int(session.scalar(query) or 0)


@pytest.fixture
def flow(data_dir: Path, database_url: str) -> Iterator[Flow]:
    settings = Settings(data_dir=data_dir, database_url=database_url, embeddings=False)
    platform = Platform(settings)
    platform.initialise()
    identity = platform.identity
    identity.add_organisation("test", "CPCO")
    identity.add_user(
        "test",
        "ana",
        clearance=platform.policies.parse_clearance("TS"),
        roles=[Role.ANALYST],
        organisation="CPCO",
    )
    platform.streams.add_watchlist(identity.principal("ana"), "hibou", ["HIBOU"])
    uid = uuid.uuid4().hex[:10]
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "EGIDE_DATA_DIR": str(data_dir),
        "EGIDE_DATABASE_URL": database_url,
        "EGIDE_EMBEDDINGS": "false",
    }
    made = Flow(
        platform,
        env,
        stream=f"EGIDE_TEST_FLOW_{uid}",
        subject=f"egide.test.{uid}.messages",
        durable=f"workers_{uid}",
        alerts=f"egide.test.{uid}.alerts",
        quarantine=f"egide.test.{uid}.quarantine",
    )
    asyncio.run(_streams(made, create=True))
    yield made
    asyncio.run(_streams(made, create=False))
    platform.close()


async def _streams(flow: Flow, *, create: bool) -> None:
    try:
        nc = await nats.connect(NATS_URL, connect_timeout=5, max_reconnect_attempts=1)
    except (OSError, nats.errors.Error) as error:
        pytest.fail(f"the nats tests need a NATS server with JetStream at {NATS_URL}: {error}")
    js = nc.jetstream()
    names = {
        flow.stream: flow.subject,
        f"{flow.stream}_ALERTS": flow.alerts,
        f"{flow.stream}_QUARANTINE": flow.quarantine,
    }
    for name, subject in names.items():
        if create:
            await js.add_stream(StreamConfig(name=name, subjects=[subject], duplicate_window=300))
        else:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name)
    await nc.close()


def _message(i: int) -> dict[str, str]:
    text = f"Convoi CLOU-{i % 90 + 1} à Marsk 1{i % 3}1200ZMAY26, lot {i}."
    if i % 7 == 0:
        text += " Opération HIBOU."
    return {"id": f"msg-{i:05d}", "channel": f"net-{i % 3}", "label": "DR", "text": text}


def _publish(flow: Flow, bodies: list[bytes], headers: list[dict[str, str] | None]) -> None:
    async def send() -> None:
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        for start in range(0, len(bodies), 500):
            part = zip(bodies[start : start + 500], headers[start : start + 500], strict=True)
            await asyncio.gather(*(js.publish(flow.subject, b, headers=h) for b, h in part))
        await nc.close()

    asyncio.run(send())


def _publish_messages(flow: Flow, count: int) -> set[str]:
    messages = [_message(i) for i in range(count)]
    _publish(flow, [json.dumps(m).encode() for m in messages], [None] * count)
    return {m["id"] for m in messages}


def _stream_count(flow: Flow, stream: str) -> int:
    async def info() -> int:
        nc = await nats.connect(NATS_URL)
        found = await nc.jetstream().stream_info(stream)
        await nc.close()
        return int(found.state.messages)

    return asyncio.run(info())


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _finish(workers: list[subprocess.Popen[bytes]], timeout: float = 300) -> list[str]:
    outputs = []
    for worker in workers:
        out, _ = worker.communicate(timeout=timeout)
        text = out.decode(errors="replace")
        assert worker.returncode == 0, text
        outputs.append(text)
    return outputs


def _exactly_once(flow: Flow, ids: set[str]) -> None:
    with flow.platform.database.transaction() as session:
        done = list(session.scalars(select(StreamResultRecord.message_id)))
        alerted = list(session.scalars(select(AlertRecord.message_id)))
        journaled = session.scalar(
            select(func.count())
            .select_from(AuditEntryRecord)
            .where(AuditEntryRecord.action == "stream.process")
        )
    assert len(done) == len(ids) and set(done) == ids
    expected = {f"msg-{i:05d}" for i in range(len(ids)) if i % 7 == 0}
    assert sorted(alerted) == sorted(expected), "an alert was lost or duplicated"
    assert journaled == len(ids), "a message was journaled as processed more or less than once"
    assert flow.count(StreamQuarantineRecord) == 0
    # The alert subject, captured by a stream that deduplicates on Nats-Msg-Id.
    assert _stream_count(flow, f"{flow.stream}_ALERTS") == len(expected)


def test_two_workers_on_one_durable_consumer_share_the_flow_exactly_once(flow: Flow) -> None:
    ids = _publish_messages(flow, 2000)
    workers = [flow.worker("w1", "--batch", "16"), flow.worker("w2", "--batch", "16")]
    _finish(workers)
    _exactly_once(flow, ids)
    by_worker = {
        name: flow.count(StreamResultRecord, StreamResultRecord.worker == name)
        for name in ("w1", "w2")
    }
    assert all(by_worker.values()), f"one worker did nothing: {by_worker}"


def test_a_worker_killed_mid_stream_loses_and_duplicates_nothing(flow: Flow) -> None:
    ids = _publish_messages(flow, KILL_MESSAGES)
    first = flow.worker("doomed")
    _wait(lambda: flow.count(StreamResultRecord) >= len(ids) // 4, 300, "a quarter processed")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    killed_at = flow.count(StreamResultRecord)
    assert killed_at < len(ids), "the worker finished before it could be killed; raise the count"
    _finish([flow.worker("restarted")], timeout=600)
    _exactly_once(flow, ids)


def test_malformed_messages_are_quarantined_with_a_reason_and_the_flow_goes_on(
    flow: Flow,
) -> None:
    good = [json.dumps(_message(i)).encode() for i in range(20)]
    bad = {
        "bad JSON": b'{"id": "x1", "text": \x00',
        "oversize": json.dumps({"id": "x2", "label": "DR", "text": "x" * 5000}).encode(),
        "unreadable marking": json.dumps(
            {"id": "x3", "label": "SECRET DÉFENSE", "text": "Convoi."}
        ).encode(),
        "no label": json.dumps({"id": "x4", "text": "Convoi arrivé."}).encode(),
        "bad field 'channel'": json.dumps(
            {"id": "x5", "channel": "net\u0000", "label": "DR", "text": "Convoi."}
        ).encode(),
    }
    bodies = good[:10] + list(bad.values()) + good[10:]
    headers: list[dict[str, str] | None] = [None] * len(bodies)
    # A label in the transport's header is read like the label field.
    bodies.append(json.dumps({"id": "h1", "text": "Convoi HIBOU."}).encode())
    headers.append({"Egide-Label": "DR"})
    _publish(flow, bodies, headers)
    _finish([flow.worker("w", "--max-bytes", "2000")])
    assert flow.count(StreamResultRecord) == 21
    with flow.platform.database.transaction() as session:
        reasons = list(session.scalars(select(StreamQuarantineRecord.reason)))
    assert len(reasons) == len(bad)
    for expected in bad:
        assert any(r.startswith(expected) for r in reasons), (expected, reasons)
    assert _stream_count(flow, f"{flow.stream}_QUARANTINE") == len(bad)


def _poison(flow: Flow, prefix: str) -> None:
    """Make the database itself refuse results of messages whose id starts with `prefix`.

    A real database error (a trigger raising), not a quarantine reason: the
    worker's processing fails on every delivery.
    """
    with flow.platform.database.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                text(
                    "CREATE FUNCTION egide_test_poison() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.message_id LIKE '{prefix}%' THEN "
                    "RAISE EXCEPTION 'poisoned message refused by the database'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER egide_test_poison BEFORE INSERT ON stream_results "
                    "FOR EACH ROW EXECUTE FUNCTION egide_test_poison()"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE TRIGGER egide_test_poison BEFORE INSERT ON stream_results "
                    f"WHEN NEW.message_id LIKE '{prefix}%' BEGIN "
                    "SELECT RAISE(ABORT, 'poisoned message refused by the database'); END"
                )
            )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int) -> dict[str, float]:
    """The worker's /metrics, read over HTTP: {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        body = response.read().decode()
    values: dict[str, float] = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_a_message_that_keeps_failing_is_quarantined_after_max_deliver(flow: Flow) -> None:
    _poison(flow, "poison")
    bodies = [json.dumps(_message(i)).encode() for i in range(14)]
    poison = {"id": "poison-1", "channel": "net-0", "label": "DR", "text": "Opération HIBOU."}
    bodies.insert(7, json.dumps(poison).encode())
    _publish(flow, bodies, [None] * len(bodies))
    port = _free_port()
    worker = flow.worker(
        "w", "--max-deliver", "3", "--idle-exit", "30", "--metrics-port", str(port)
    )
    try:
        _wait(lambda: flow.count(StreamQuarantineRecord) == 1, 90, "the dead letter")
        scraped = _scrape(port)  # the worker is still running (idle-exit 30 s)
    finally:
        out = _finish([worker])[0]
    # The other messages of the poisoned batch were processed, each once.
    assert flow.count(StreamResultRecord) == 14
    assert flow.count(StreamResultRecord, StreamResultRecord.message_id == "poison-1") == 0
    with flow.platform.database.transaction() as session:
        row = session.execute(select(StreamQuarantineRecord)).scalar_one()
    assert row.message_id == "poison-1"
    assert row.source.startswith(f"nats:{flow.stream}:")
    assert row.reason.startswith("failed 3 times: "), row.reason
    assert "poisoned message refused by the database" in row.reason
    assert "HIBOU" not in row.reason, "the reason quotes the message"
    assert _stream_count(flow, f"{flow.stream}_QUARANTINE") == 1
    assert "failed and retried 2" in out, out
    w = 'worker="w"'
    assert scraped[f'egide_stream_messages_total{{outcome="processed",{w}}}'] == 14
    assert scraped[f'egide_stream_messages_total{{outcome="failed",{w}}}'] == 2
    assert scraped[f'egide_stream_messages_total{{outcome="quarantined",{w}}}'] == 1
    assert scraped[f"egide_stream_dead_letters_total{{{w}}}"] == 1
    assert scraped[f"egide_stream_alerts_total{{{w}}}"] == 2  # msg-00000 and msg-00007
    assert scraped[f"egide_stream_alert_latency_seconds_count{{{w}}}"] == 2
    assert scraped[f'egide_stream_alert_latency_seconds_bucket{{le="+Inf",{w}}}'] == 2
    assert 0 < scraped[f"egide_stream_alert_latency_seconds_sum{{{w}}}"] < 60
    consumer = f'consumer="{flow.durable}",stream="{flow.stream}"'
    assert scraped[f"egide_stream_consumer_pending{{{consumer}}}"] == 0
    assert f"egide_stream_consumer_lag{{{consumer}}}" in scraped


def test_worker_metrics_show_the_lag_of_a_backlog(flow: Flow) -> None:
    """Lag read from the server while a worker is behind, then back to zero."""
    ids = _publish_messages(flow, 3000)
    port = _free_port()
    worker = flow.worker("w", "--batch", "8", "--idle-exit", "8", "--metrics-port", str(port))
    consumer = f'consumer="{flow.durable}",stream="{flow.stream}"'
    try:
        _wait(lambda: _lag(port, consumer) is not None, 60, "a first reading of the lag")
        first = _lag(port, consumer)
        assert first is not None and first > 0, "the backlog does not show as lag"
        _wait(lambda: flow.count(StreamResultRecord) == len(ids), 300, "the backlog")
        _wait(lambda: _lag(port, consumer) == 0, 30, "the lag to fall to zero")
        rate = _scrape(port)['egide_stream_messages_total{outcome="processed",worker="w"}']
        assert rate == len(ids)
    finally:
        _finish([worker])


def _lag(port: int, consumer: str) -> float | None:
    try:
        return _scrape(port).get(f"egide_stream_consumer_lag{{{consumer}}}")
    except OSError:
        return None  # not serving yet


def _raw_publish(subject: str, messages: list[tuple[list[tuple[str, str]], bytes]]) -> None:
    """Publish with the wire protocol: repeated and differently cased headers, as sent."""
    import socket

    with socket.create_connection(("127.0.0.1", 4222)) as sock:
        sock.recv(4096)
        sock.sendall(b'CONNECT {"verbose":false,"headers":true}\r\n')
        for headers, body in messages:
            head = b"NATS/1.0\r\n" + b"".join(
                k.encode() + b": " + v.encode() + b"\r\n" for k, v in headers
            )
            head += b"\r\n"
            sock.sendall(
                b"HPUB %s %d %d\r\n" % (subject.encode(), len(head), len(head) + len(body))
                + head
                + body
                + b"\r\n"
            )
        sock.sendall(b"PING\r\n")
        sock.recv(4096)


def test_hostile_payloads_and_label_headers_over_nats(flow: Flow) -> None:
    from egide.store.models import LabelRecord

    hostile = [
        b'{"id":"d1","text":"x","label":"DR","n":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b"[" * 60000,
        b'{"id":"d3","text":"x","label":"DR","n":' + b"9" * 5000 + b"}",
        b'{"id":"d4","text":"x","label":"DR","received":"9999-12-31T23:59:59-01:00"}',
        b'{"id":"d5","text":"x","label":"DR","received":"0001-01-01T00:00:00+01:00"}',
        b'{"id":"d6","label":"SECRET","label":"DR","text":"x"}',
    ]
    np = "NON PROT\u00c9G\u00c9"
    headed = [
        ([("Egide-Label", "SECRET"), ("Egide-Label", np)], {"id": "h1", "text": "a"}),
        ([("Egide-Label", np), ("Egide-Label", "SECRET")], {"id": "h2", "text": "b"}),
        ([("Egide-Label", np), ("egide-label", "SECRET")], {"id": "h3", "text": "c"}),
        ([("EGIDE-LABEL", "SECRET")], {"id": "h4", "label": np, "text": "d"}),
    ]
    _raw_publish(
        flow.subject,
        [([], body) for body in hostile]
        + [(h, json.dumps(m, ensure_ascii=False).encode()) for h, m in headed]
        + [([], json.dumps(_message(1)).encode())],
    )
    _finish([flow.worker("w", "--max-bytes", "1000000")])
    with flow.platform.database.transaction() as session:
        reasons = list(session.scalars(select(StreamQuarantineRecord.reason)))
        labels = dict(
            session.execute(
                select(StreamResultRecord.message_id, LabelRecord.canonical).join(
                    LabelRecord, LabelRecord.id == StreamResultRecord.label_id
                )
            ).all()
        )
    assert sorted(reasons) == sorted(
        ["bad JSON: nested too deep"] * 2
        + ["bad JSON: a number too long"]
        + ["bad field 'received': an ISO 8601 time with its zone"] * 2
        + ["duplicate field 'label'"]
    )
    assert {labels[i] for i in ("h1", "h2", "h3", "h4")} == {"SECRET"}
    assert labels[_message(1)["id"]] == "DIFFUSION RESTREINTE"
