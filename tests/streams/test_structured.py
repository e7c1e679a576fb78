"""Structured extraction by a model under a JSON schema: findings, counts, labels, never a crash.

Unit tests use the echo test double (it answers a value built from the schema,
or plain text when told to ignore formats); the end-to-end tests run the real
SmolLM2 demonstration model through llama.cpp, in-process and through
`egide stream run --model … --schema …` — they prove the plumbing, not the
quality of a 135M model's extraction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from egide.app import Platform
from egide.core.labels import PolicyRegistry
from egide.errors import InvalidInput
from egide.inference.testing import EchoBackend
from egide.settings import Settings
from egide.store import AuditEntryRecord
from egide.streams.message import Message
from egide.streams.records import StreamResultRecord
from egide.streams.structured import ModelExtractor, load_schema
from tests.cli.test_cli import Cli

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "unit": {"type": "string"},
        "place": {"type": "string"},
        "kind": {"enum": ["contact", "logistique", "autre"]},
    },
    "required": ["unit", "place", "kind"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("structured") / "data"
    data_dir.mkdir()
    platform = Platform(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'egide.db'}")
    )
    platform.initialise()
    yield platform
    platform.close()


def message(policies: PolicyRegistry, number: int, label: str = "DR") -> Message:
    return Message(
        f"s-{number}-{label}",
        "net",
        "Le 2e RIMa signale un contact à Marsk.",
        policies.parse(label),
        datetime.now(UTC),
        f"test:{number}",
    )


def extractor(
    platform: Platform,
    backend: EchoBackend,
    schema: dict[str, Any] = SCHEMA,
    *,
    label: str = "NON PROTÉGÉ",
    accreditation: str = "SECRET",
    enabled: bool = True,
) -> ModelExtractor:
    return ModelExtractor(
        backend,
        schema,
        name="echo",
        label=platform.policies.parse(label),
        accreditation=platform.policies.parse(accreditation),
        enabled=lambda: enabled,
        digest="abc",
    )


def stored_findings(platform: Platform, message_id: str) -> list[dict[str, Any]]:
    with platform.database.transaction() as session:
        row = session.query(StreamResultRecord).filter_by(message_id=message_id).one()
        return list(row.findings)


def test_a_valid_answer_is_a_model_finding_stored_with_the_message(platform: Platform) -> None:
    stage = extractor(platform, EchoBackend())
    try:
        m = message(platform.policies, 1)
        done = platform.streams.process(m, worker="t", model=stage)
    finally:
        stage.close()
    [finding] = [f for f in done.findings if f.kind == "model"]
    assert json.loads(finding.value) == {"kind": "contact", "place": "echo", "unit": "echo"}
    assert finding.value == '{"kind":"contact","place":"echo","unit":"echo"}'  # compact, sorted
    assert {"kind": "model", "value": finding.value, "span": [0, len(m.text)]} in stored_findings(
        platform, m.id
    )
    assert stage.counts.extracted == 1 and stage.counts.invalid == 0
    with platform.database.transaction() as session:
        entry = (
            session.query(AuditEntryRecord)
            .filter(AuditEntryRecord.action == "stream.process")
            .order_by(AuditEntryRecord.seq.desc())
            .first()
        )
        assert entry is not None and entry.details["model"] == "echo@sha256:abc"
    request = stage._backend.requests[0]  # type: ignore[attr-defined]
    assert request.temperature == 0.0 and request.response_format.schema == SCHEMA


def test_an_answer_that_is_not_json_or_breaks_the_schema_is_counted_never_a_crash(
    platform: Platform,
) -> None:
    plain = extractor(platform, EchoBackend(ignores_formats=True))
    strict = {
        **SCHEMA,
        "properties": {**SCHEMA["properties"], "unit": {"type": "string", "pattern": "^[0-9]+e "}},
    }
    breaking = extractor(platform, EchoBackend(), strict)
    try:
        for number, stage in ((2, plain), (3, breaking)):
            m = message(platform.policies, number)
            done = platform.streams.process(m, worker="t", model=stage)
            assert not done.duplicate and all(f.kind != "model" for f in done.findings)
            assert stage.counts.invalid == 1 and stage.counts.extracted == 0
    finally:
        plain.close()
        breaking.close()
    assert "not JSON" in plain.counts.reasons[0]
    assert "breaks the schema" in breaking.counts.reasons[0]


def test_a_failing_model_is_counted_and_the_flow_goes_on(platform: Platform) -> None:
    stage = extractor(platform, EchoBackend(context_size=8))  # every prompt overflows
    try:
        done = platform.streams.process_many(
            [message(platform.policies, n) for n in (4, 5)], worker="t", model=stage
        )
    finally:
        stage.close()
    assert [p.duplicate for p in done] == [False, False]
    assert stage.counts.failed == 2 and "context" in stage.counts.reasons[0]


def test_messages_outside_the_models_labels_are_never_sent(platform: Platform) -> None:
    backend = EchoBackend()
    stage = extractor(platform, backend, label="DR", accreditation="SECRET")
    try:
        platform.streams.process_many(
            [
                message(platform.policies, 6, "TRÈS SECRET"),  # above the accreditation
                message(platform.policies, 7, "NON PROTÉGÉ"),  # below the weights' label
                message(platform.policies, 8, "SECRET"),
            ],
            worker="t",
            model=stage,
        )
    finally:
        stage.close()
    assert stage.counts.skipped_label == 2 and stage.counts.extracted == 1
    assert len(backend.requests) == 1


def test_a_disabled_model_is_not_asked(platform: Platform) -> None:
    backend = EchoBackend()
    stage = extractor(platform, backend, enabled=False)
    try:
        platform.streams.process(message(platform.policies, 9), worker="t", model=stage)
    finally:
        stage.close()
    assert stage.counts.skipped_disabled == 1 and backend.requests == []


def test_a_message_processed_before_is_not_sent_to_the_model_again(platform: Platform) -> None:
    backend = EchoBackend()
    stage = extractor(platform, backend)
    try:
        m = message(platform.policies, 10)
        first = platform.streams.process(m, worker="t", model=stage)
        again = platform.streams.process(m, worker="u", model=stage)  # a redelivery
    finally:
        stage.close()
    assert not first.duplicate and again.duplicate
    assert len(backend.requests) == 1 and stage.counts.extracted == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "not JSON"),
        ("[1]", "JSON object"),
        ('{"type": "chose"}', "not a valid JSON schema"),
    ],
)
def test_bad_schemas_say_why(text: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        load_schema(text, "schema.json")


@pytest.mark.slow
def test_the_demo_model_extracts_json_valid_against_the_schema(platform: Platform) -> None:
    from egide.inference.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend.from_config({"n_ctx": 2048})
    stage = ModelExtractor(
        backend,
        SCHEMA,
        name="smollm2-135m-demo",
        label=platform.policies.parse("NON PROTÉGÉ"),
        accreditation=platform.policies.parse("SECRET"),
        max_tokens=96,
    )
    texts = [
        "Le 2e RIMa signale un contact avec deux blindés à Marsk.",
        "Fuel convoy for 3rd Battalion delayed at Dravna by 24 hours.",
    ]
    messages = [
        Message(f"demo-{i}", "net", t, platform.policies.parse("DR"), datetime.now(UTC), "t")
        for i, t in enumerate(texts)
    ]
    try:
        done = platform.streams.process_many(messages, worker="t", model=stage)
    finally:
        stage.close()
    counts = stage.counts
    assert counts.extracted + counts.invalid + counts.failed == 2 and counts.failed == 0
    assert counts.extracted >= 1, counts.reasons  # the grammar keeps the answer in the schema
    for processed in done:
        for finding in processed.findings:
            if finding.kind == "model":
                jsonschema.validate(json.loads(finding.value), SCHEMA)


@pytest.mark.slow
def test_stream_run_with_the_demo_model_from_the_terminal(data_dir: Path, tmp_path: Path) -> None:
    cli = Cli(data_dir, f"sqlite:///{data_dir / 'egide.db'}")
    cli.ok("init", "--org", "DRM", "--admin", "chef", "--clearance", "SECRET")
    cli.ok("models", "demo")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA), "utf-8")
    flow = tmp_path / "flow.jsonl"
    flow.write_text(
        json.dumps({"id": "c1", "label": "DR", "text": "Le 2e RIMa signale un contact à Marsk."})
        + "\n",
        "utf-8",
    )
    run = ("stream", "run", "--source", str(flow), "--model", "smollm2-135m-demo")
    out = cli.ok(*run, "--schema", str(schema), "--model-max-tokens", "96")
    assert "processed 1" in out and "model smollm2-135m-demo: extracted 1" in out
    half = cli(*run)
    assert half.code == 2 and "--schema" in half.err and "Traceback" not in half.err
    schema.write_text("{", "utf-8")
    bad = cli(*run, "--schema", str(schema))
    assert bad.code == 2 and "not JSON" in bad.err and "Traceback" not in bad.err
