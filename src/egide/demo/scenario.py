"""The demonstration scenario: a fictional exercise corpus, people at several clearances,
questions answered under their labels, an intelligence synthesis report (ICD 203 terms,
Admiralty gradings) proposed, refused for export before approval, approved and exported.

Everything runs for real on the embedded default (SQLite, the e5 embedder, the
demo model registered from its package); nothing is mocked.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from egide.app import Platform
from egide.core.principals import Role
from egide.errors import EgideError
from egide.knowledge.answer import Answer
from egide.modelhub.demo import DEMO_MODEL_NAME, register_demo_model
from egide.workflows.export import render_markdown
from egide.workflows.synthesis import SynthesisRequest, parse_grading

COLLECTION = "exercice-trident-boreal"
PEOPLE = {
    # username: (clearance, roles, what they stand for)
    "analyste": ("SECRET NAT FRA", [Role.ANALYST], "analyste renseignement, cleared SECRET"),
    "approbateur": ("SECRET NAT FRA", [Role.APPROVER], "chef de cellule, approves reports"),
    # A SECRET report needs two distinct approvers (docs/proposals.md, who must approve).
    "adjoint": ("SECRET NAT FRA", [Role.APPROVER], "chef de cellule adjoint, second approver"),
    "liaison-deu": ("NATO SECRET NAT DEU", [Role.ANALYST], "German liaison officer"),
    "sous-officier": ("DR NAT FRA", [Role.ANALYST], "logistics NCO, cleared DR"),
    "auditeur": ("SECRET NAT FRA", [Role.AUDITOR], "inspector reading the journal"),
}
QUESTIONS = [
    ("sous-officier", "Quand le convoi CLOU-7 arrive-t-il à Marsk ?"),
    ("analyste", "Où se regroupe le bataillon blindé adverse ?"),
    ("liaison-deu", "Where is the adversary armoured battalion gathering?"),
    ("sous-officier", "Où se regroupe le bataillon blindé adverse ?"),
]

TASKING = "Où se regroupe le bataillon blindé adverse et quand franchira-t-il l'Osna ?"
# The analyst's Admiralty gradings of the exercise sources (the others stay ungraded).
GRADINGS = {
    "renseignement-osna.txt": "B2",
    "nato-intsum.md": "A2",
    "osint-varnie.html": "C3",
    "sitrep-2026-11-18.md": "B1",
}


@dataclass
class DemoResult:
    """What the scenario produced, for the console and the tests."""

    keys: dict[str, str]
    answers: list[tuple[str, str, Answer]]
    proposal_id: int
    export: str
    report: dict[str, Any]


def corpus_files() -> list[tuple[str, bytes]]:
    """The exercise documents shipped with Égide."""
    folder = resources.files("egide.demo") / "corpus"
    return sorted(
        (item.name, item.read_bytes())
        for item in folder.iterdir()
        if item.is_file() and item.name != "README.md"
    )


def run_scenario(platform: Platform, say: Callable[[str], None] = print) -> DemoResult:
    """Set the demonstration up (idempotently) and play it."""
    platform.initialise()
    identity = platform.identity
    policies = platform.policies
    actor = "demo"
    if not identity.list_users():
        identity.add_organisation(actor, "Exercice TRIDENT BORÉAL")
        identity.add_user(
            actor,
            "admin",
            clearance=policies.parse_clearance("TS NAT FRA, DEU, POL"),
            roles=list(Role),
            organisation="Exercice TRIDENT BORÉAL",
        )
    existing = {u.username for u in identity.list_users()}
    for name, (clearance, roles, _) in PEOPLE.items():
        if name not in existing:
            identity.add_user(
                actor,
                name,
                clearance=policies.parse_clearance(clearance),
                roles=roles,
                organisation="Exercice TRIDENT BORÉAL",
            )
    keys = {
        n: identity.create_key(actor, n, name="demo", ttl_days=30)[1] for n in ("admin", *PEOPLE)
    }
    admin = identity.principal("admin")

    if DEMO_MODEL_NAME not in {m.name for m in platform.models.list_models()}:
        register_demo_model(platform.models, actor)
        say(f"model {DEMO_MODEL_NAME} registered (a demo model: plumbing only, no judgement)")

    knowledge = platform.knowledge
    if COLLECTION not in {name for _, name, _ in knowledge.collections(admin)}:
        knowledge.create_collection(admin, COLLECTION, description="exercise corpus (fictional)")
    say("ingesting the exercise corpus (first run embeds ~20 passages)…")
    for filename, data in corpus_files():
        for done in knowledge.ingest(admin, COLLECTION, filename, data):
            say(f"  {done.filename:28} [{done.label}] {done.chunks} chunks ({done.status})")

    answers = []
    for username, question in QUESTIONS:
        person = identity.principal(username)
        working = person.clearance.as_label()
        answer = knowledge.ask(person, question, working, collection=COLLECTION)
        answers.append((username, question, answer))
        say(f"\n{username} ({PEOPLE[username][2]}) asks: {question}")
        say(f"  [{policies.format(answer.label)}]")
        for line in answer.text.splitlines():
            say(f"  {line}")

    analyst = identity.principal("analyste")
    model = platform.models.get(DEMO_MODEL_NAME)
    say(f"\nanalyste grades the sources and asks for a synthesis: {TASKING}")
    for document, code in GRADINGS.items():
        say(f"  {document:28} graded {code} ({parse_grading(code).meaning})")
    synthesis = asyncio.run(
        platform.synthesis.synthesize(
            analyst,
            SynthesisRequest(
                tasking=TASKING,
                working_label=analyst.clearance.as_label(),
                collection=COLLECTION,
                gradings=GRADINGS,
            ),
        )
    )
    # The demo model is too small to analyse: the report is assembled by rule from the
    # extracted evidence, and says so in its AI-involvement statement.
    report = synthesis.report
    proposal = synthesis.proposal
    say(f"  [{proposal.marking}] BLUF: {report['bluf']['text']} {report['bluf']['sources']}")
    for number, judgment in enumerate(report["key_judgments"], start=1):
        say(
            f"  KJ{number}: {judgment['likelihood']} / confidence {judgment['confidence']} "
            f"{judgment['sources']} — {judgment['statement']}"
        )
    for source in report["sources"]:
        say(f"  [{source['number']}] {source['title']} ({source['marking']}) {source['grading']}")
    say(
        f"  {report['ai_involvement']['statement']} ({model.name} is a demo model: "
        "it writes no part of a report)"
    )
    say(f"\nproposal #{proposal.id} [{proposal.marking}] awaits a decision")
    try:
        platform.proposals.release(analyst, proposal.id, "export")
    except EgideError as refused:
        say(f"  export before approval refused: {refused.message}")
    for approver in ("approbateur", "adjoint"):
        decided = platform.proposals.approve(
            identity.principal(approver), proposal.id, rationale="sources recoupées"
        )
    released = platform.proposals.release(analyst, proposal.id, "export markdown")
    export = render_markdown(released, policies)
    say(f"  approved by approbateur and adjoint ({decided.state}); exported:\n")
    say(export)
    with platform.database.transaction() as session:
        verified = platform.journal.verify(session)
    say(f"audit journal: {verified.message} ({verified.entries} entries)")
    return DemoResult(
        keys=keys, answers=answers, proposal_id=proposal.id, export=export, report=report
    )


def write_keys(data_dir: Path, keys: dict[str, str]) -> Path:
    """Save the demo users' API keys for the operator (mode 0600)."""
    path = data_dir / "demo-keys.txt"
    path.write_text("".join(f"{user}\t{key}\n" for user, key in keys.items()), encoding="utf-8")
    os.chmod(path, 0o600)
    return path
