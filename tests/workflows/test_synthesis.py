"""Intelligence synthesis on a real knowledge base (SQLite, the real e5 embedder).

The model path uses the `EchoBackend` test double (a unit-level stand-in): its
schema-shaped output cites no real source, so it must fail validation and the
report must fall back to assembly, saying why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from egide.app import Platform
from egide.core.labels import join
from egide.core.principals import Principal, Role
from egide.errors import Forbidden, InvalidInput, NotFound
from egide.inference.protocol import ChatRequest, FinishReason
from egide.inference.testing import EchoBackend
from egide.settings import Settings
from egide.store import AuditEntryRecord
from egide.workflows.document import document_of
from egide.workflows.synthesis import (
    ModelEngine,
    Synthesis,
    SynthesisRequest,
    SynthesisService,
    ensure_valid,
)

DOCS = {
    "note-s.txt": "SECRET\n\nUn bataillon blindé adverse se regroupe dans la forêt de Dravna, "
    "au nord de Klevo.\n\nL'imagerie montre des engins de génie près du pont de Klevo.",
    "rapport-dr.txt": "DIFFUSION RESTREINTE\n\nDes habitants signalent qu'un bataillon blindé "
    "se regroupe dans la forêt de Dravna depuis deux jours.",
    "meteo-np.txt": "NON PROTÉGÉ\n\nLa météo annonce de la neige sur la vallée de l'Osna "
    "à partir du 21 novembre.",
}
TASKING = "Où se regroupe le bataillon blindé adverse et quand franchira-t-il l'Osna ?"


@dataclass
class World:
    platform: Platform
    service: SynthesisService
    people: dict[str, Principal]
    ids: dict[str, int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("synthesis") / "data"
    platform = Platform(Settings(data_dir=data_dir))
    platform.initialise()
    policies = platform.policies
    for name, clearance, roles in [
        ("admin", "TS NAT FRA", [Role.ADMIN, Role.ANALYST]),
        ("secret", "SECRET", [Role.ANALYST]),
        ("dr", "DR", [Role.ANALYST]),
    ]:
        platform.identity.add_user(
            "t", name, clearance=policies.parse_clearance(clearance), roles=roles
        )
    people = {n: platform.identity.principal(n) for n in ("admin", "secret", "dr")}
    platform.knowledge.create_collection(people["admin"], "osna")
    ids = {}
    for name, body in DOCS.items():
        (done,) = platform.knowledge.ingest(people["admin"], "osna", name, body.encode())
        ids[name] = done.document_id
    service = SynthesisService(
        platform.database, platform.journal, policies, platform.knowledge, platform.proposals
    )
    yield World(platform, service, people, ids)
    platform.close()


def run(world: World, who: str, engine: ModelEngine | None = None, **fields: Any) -> Synthesis:
    person = world.people[who]
    values: dict[str, Any] = {"collection": "osna", "k": 5, **fields}
    request = SynthesisRequest(TASKING, person.clearance.as_label(), **values)
    return asyncio.run(world.service.synthesize(person, request, engine=engine))


def test_assembled_report_is_valid_graded_and_labelled(world: World) -> None:
    done = run(world, "secret", gradings={"note-s.txt": "B2", "rapport-dr.txt": "c3"})
    policies = world.platform.policies
    report = done.report
    ensure_valid(report)
    assert done.mode == "assembled" and done.fallback_reason == "no model given"
    # The report's label is the join of every passage in the context.
    assert policies.format(done.label) == "SECRET"
    assert done.proposal.kind == "report" and done.proposal.workflow == "intelligence-synthesis"
    assert done.proposal.state == "proposed"
    gradings = {s["document_id"]: s["grading"] for s in report["sources"]}
    assert gradings[world.ids["note-s.txt"]] == "B2"
    assert gradings[world.ids["rapport-dr.txt"]] == "C3"
    assert "ungraded" in gradings.values()  # the weather note was not graded
    first = report["key_judgments"][0]
    assert "Dravna" in first["statement"]
    # Corroborated by two documents graded B2 and C3: likely, moderate.
    assert first["likelihood"] == "likely" and first["confidence"] == "moderate"
    assert len({report["sources"][n - 1]["document_id"] for n in first["sources"]}) == 2
    assert any("Ungraded sources" in g for g in report["gaps"])
    assert any("franchira" in g or "franchira" in g.lower() for g in report["gaps"])
    # Each judgment block carries the join of what it cites; the DR source alone stays DR.
    labels = {s["number"]: policies.parse(s["marking"]) for s in report["sources"]}
    document = document_of(done.proposal, policies)
    for block in done.proposal.content["blocks"]:
        if block["text"].startswith("KJ1."):
            assert policies.parse(block["marking"]) == join(*(labels[n] for n in first["sources"]))
    dr_facts = [
        b for b in document.blocks if b.kind == "bullet" and "Des habitants signalent" in b.text
    ]
    assert dr_facts and all(policies.format(b.label) == "DIFFUSION RESTREINTE" for b in dr_facts)
    assert done.text.splitlines()[0] == "SECRET" and "(S)" in done.text
    # Evidence is the cited chunks; the journal has the synthesis with its gradings.
    assert {e["grading"] for e in done.proposal.evidence} >= {"B2", "C3"}
    entry = _journal(world, "synthesis.report")[-1]
    assert entry["gradings"][str(world.ids["note-s.txt"])] == "B2"
    assert entry["mode"] == "assembled"


def test_a_reader_is_never_cited_what_they_cannot_read(world: World) -> None:
    done = run(world, "dr", gradings={"note-s.txt": "A1"})
    policies = world.platform.policies
    assert policies.format(done.label) == "DIFFUSION RESTREINTE"
    assert {s["marking"] for s in done.report["sources"]} <= {
        "NON PROTÉGÉ",
        "DIFFUSION RESTREINTE",
    }
    assert "engins de génie" not in done.text and "Klevo" not in done.text
    # The grading of a document they may not read matched nothing, and says so.
    assert done.unused_gradings == ("note-s.txt",)


def test_explicit_documents_and_bad_input(world: World) -> None:
    done = run(world, "secret", collection=None, document_ids=[world.ids["meteo-np.txt"]])
    assert {s["document_id"] for s in done.report["sources"]} == {world.ids["meteo-np.txt"]}
    with pytest.raises(NotFound, match="no document"):
        run(world, "dr", collection=None, document_ids=[world.ids["note-s.txt"]])
    with pytest.raises(InvalidInput, match="Admiralty code"):
        run(world, "secret", gradings={"note-s.txt": "Z9"})
    with pytest.raises(InvalidInput, match="name the sources"):
        run(world, "secret", collection=None)


class ScriptedBackend(EchoBackend):
    """The echo double, answering structured requests with a fixed JSON text."""

    answer: str = "{}"

    def answer_words(self, request: ChatRequest) -> tuple[list[str], FinishReason]:
        return [self.answer], "stop"


def engine(backend: EchoBackend, accreditation: str, world: World) -> ModelEngine:
    policies = world.platform.policies
    return ModelEngine(
        backend=backend,
        name="analyst-model",
        digest="cd" * 32,
        label=policies.parse("NON PROTÉGÉ"),
        accreditation=policies.parse(accreditation),
    )


def test_model_output_that_fails_validation_falls_back(world: World) -> None:
    backend = EchoBackend(name="analyst-model", context_size=100_000)
    done = run(world, "secret", engine(backend, "SECRET", world))
    # The echo double's output fits the schema but cites source [0], which does not exist.
    assert backend.requests and backend.requests[0].response_format is not None
    assert done.mode == "assembled"
    assert done.fallback_reason and "failed validation" in done.fallback_reason
    assert "key_judgments[0].sources" in done.fallback_reason
    assert "was not used" in done.report["ai_involvement"]["statement"]
    assert _journal(world, "synthesis.report")[-1]["fallback_reason"] == done.fallback_reason


def test_valid_model_output_is_used_and_labelled(world: World) -> None:
    backend = ScriptedBackend(name="analyst-model", context_size=100_000)
    probe = run(world, "secret", mode="assembled")
    quote = next(f for f in probe.report["facts"] if "Dravna" in f["text"])
    backend.answer = json.dumps(
        {
            "bluf": {
                "text": "The battalion is likely in Dravna forest.",
                "sources": [quote["source"]],
            },
            "key_judgments": [
                {
                    "statement": "The battalion is likely gathering in Dravna forest.",
                    "likelihood": "likely",
                    "confidence": "moderate",
                    "confidence_basis": "Two documents agree.",
                    "sources": [quote["source"]],
                }
            ],
            "facts": [quote],
            "assumptions": ["The documents are independent."],
            "alternatives": ["It is a deception."],
            "gaps": ["Nothing says when it will cross."],
        },
        ensure_ascii=False,
    )
    done = run(world, "secret", engine(backend, "SECRET", world))
    assert done.mode == "generated" and done.fallback_reason is None
    assert done.proposal.model == "analyst-model" and done.proposal.model_digest == "cd" * 32
    assert done.report["ai_involvement"]["model_digest"] == "cd" * 32
    # A model accredited below the sources' label is never sent them.
    low = ScriptedBackend(name="analyst-model", context_size=100_000)
    refused = run(world, "secret", engine(low, "DIFFUSION RESTREINTE", world))
    assert refused.mode == "assembled" and "accredited up to" in (refused.fallback_reason or "")
    assert low.requests == []


def test_suspended_ai_refuses_synthesis(world: World) -> None:
    proposals = world.platform.proposals
    proposals.set_ai_suspended(world.people["admin"], True, "exercice de coupure")
    try:
        with pytest.raises(Forbidden, match="suspended"):
            run(world, "secret")
    finally:
        proposals.set_ai_suspended(world.people["admin"], False, "fin de l'exercice")


def _journal(world: World, action: str) -> list[dict[str, Any]]:
    with world.platform.database.transaction() as session:
        rows = session.scalars(
            select(AuditEntryRecord)
            .where(AuditEntryRecord.action == action)
            .order_by(AuditEntryRecord.seq)
        )
        return [dict(r.details) for r in rows]
