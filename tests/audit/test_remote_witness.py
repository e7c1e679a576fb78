"""Witnesses on another machine: a real NATS JetStream server, and syslog over UDP.

An attacker holding the whole data directory (database, witness file, key
file) can cut the journal's tail and the local witness file together; the
seals already acknowledged by JetStream still betray it.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from egide.audit.remote_witness import NatsWitness
from egide.errors import Unavailable

from .conftest import append_entries, build_platform, sqlite_attack

NATS_URL = os.environ.get("EGIDE_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
def nats_witness() -> Iterator[dict[str, str]]:
    """Settings of a NATS witness on a subject and stream of its own."""
    name = uuid.uuid4().hex[:10]
    settings = {
        "audit_witness_nats_url": NATS_URL,
        "audit_witness_nats_subject": f"egide.test.{name}",
        "audit_witness_nats_stream": f"EGIDE_TEST_{name}",
    }
    probe = NatsWitness(
        NATS_URL, settings["audit_witness_nats_subject"], settings["audit_witness_nats_stream"]
    )
    try:
        probe.seals()
    except Unavailable as error:
        pytest.fail(f"the nats tests need a NATS server with JetStream at {NATS_URL}: {error}")
    finally:
        probe.close()
    yield settings


@pytest.mark.nats
def test_seals_reach_jetstream_and_outlive_the_data_directory(
    data_dir: Path, nats_witness: dict[str, str]
) -> None:
    platform = build_platform(data_dir, audit_seal_interval=3600, **nats_witness)
    append_entries(platform, 12)
    platform.close()
    remote = NatsWitness(
        NATS_URL,
        nats_witness["audit_witness_nats_subject"],
        nats_witness["audit_witness_nats_stream"],
    )
    try:
        assert [seal.seq for seal in remote.seals()][-1] == 12
    finally:
        remote.close()
    # The attacker holds the data directory: cut the tail, its checkpoints, the witness file.
    sqlite_attack(
        data_dir / "egide.db",
        "DELETE FROM audit_entries WHERE seq > 8",
        "DELETE FROM audit_checkpoints WHERE seq > 8",
    )
    platform.settings.witness_path.unlink()
    with platform.database.transaction() as session:
        report = platform.journal.verify(session)
    platform.close()
    assert (report.ok, report.problem, report.first_bad_seq) == (False, "witness_ahead", 9)
    assert "NATS JetStream subject" in report.message


def test_an_unreachable_nats_witness_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    witness = NatsWitness(f"nats://127.0.0.1:{port}", "egide.nowhere", "NOWHERE", timeout=2)
    try:
        with pytest.raises(Unavailable, match="EGIDE_AUDIT_WITNESS_NATS_URL"):
            witness.seals()
    finally:
        witness.close()


def test_seals_are_sent_to_syslog(data_dir: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as collector:
        collector.bind(("127.0.0.1", 0))
        collector.settimeout(10)
        address = f"127.0.0.1:{collector.getsockname()[1]}"
        platform = build_platform(data_dir, audit_seal_interval=3600, audit_witness_syslog=address)
        append_entries(platform, 2)
        platform.close()
        messages = [collector.recv(4096).decode()]
        while json.loads(messages[-1].split(": ", 1)[1])["seq"] < 2:
            messages.append(collector.recv(4096).decode())
    assert all(m.startswith("<86>egide-audit: ") for m in messages)
    seals = [json.loads(m.split(": ", 1)[1]) for m in messages]
    assert seals[-1]["seq"] == 2 and all(s["signature"] for s in seals)
