"""Conversations: kept per user, labelled with the join of their messages, deletable by the owner.

On SQLite and PostgreSQL, through the real knowledge service (full-text retrieval).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.errors import Forbidden, InvalidInput, NotFound
from egide.knowledge.records import ConversationMessageRecord, ConversationRecord
from egide.settings import Settings
from egide.store import AuditEntryRecord, LabelRecord

DOCS = {
    "np.txt": "NON PROTÉGÉ\n\nDépôt Marsk : ouverture huit heures.",
    "s.txt": "SECRET\n\nConvoi HIBOU : départ nocturne vers Varnie-Est.",
    "nato.txt": "NATO SECRET REL TO DEU, FRA\n\nRavitaillement convoi Kessel.",
}


@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir, database_url=database_url, embeddings=False))
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    r = platform.policies
    for name, clearance, roles in [
        ("admin", "TS NAT FRA, DEU", [Role.ADMIN, Role.ANALYST]),
        ("np", "NON PROTÉGÉ", [Role.ANALYST]),
        ("secret", "SECRET", [Role.ANALYST]),
        ("chef", "TRÈS SECRET", [Role.ANALYST, Role.CLASSIFIER]),
        ("deu", "NATO SECRET NAT DEU", [Role.ANALYST]),
        ("auditor", "TRÈS SECRET", [Role.AUDITOR]),
    ]:
        platform.identity.add_user("t", name, clearance=r.parse_clearance(clearance), roles=roles)
    admin = platform.identity.principal("admin")
    platform.knowledge.create_collection(admin, "commune")
    platform.knowledge.create_collection(admin, "otan")
    for name, body in DOCS.items():
        if name == "s.txt":
            continue  # see `add_secret`
        where = "otan" if name.startswith("nato") else "commune"
        platform.knowledge.ingest(admin, where, name, body.encode())
    names = ("admin", "np", "secret", "chef", "deu", "auditor")
    return {n: platform.identity.principal(n) for n in names}


def add_secret(platform: Platform) -> None:
    """The SECRET report arrives (in the same collection as the NP one)."""
    admin = platform.identity.principal("admin")
    platform.knowledge.ingest(admin, "commune", "s.txt", DOCS["s.txt"].encode())


@dataclass
class Entry:
    actor: str
    objects: list[str]
    label: str
    details: dict[str, Any]


def journal(platform: Platform, action: str) -> list[Entry]:
    """Entries of `action`, oldest first, with their canonical label."""
    with platform.database.transaction() as session:
        rows = session.execute(
            select(AuditEntryRecord, LabelRecord.canonical)
            .join(LabelRecord, LabelRecord.id == AuditEntryRecord.label_id)
            .where(AuditEntryRecord.action == action)
            .order_by(AuditEntryRecord.seq)
        ).all()
        return [Entry(e.actor, list(e.objects), label, dict(e.details)) for e, label in rows]


def test_the_conversation_label_is_the_join_of_its_messages(
    platform: Platform, people: dict[str, Principal]
) -> None:
    r, service = platform.policies, platform.conversations
    secret = people["secret"]
    first = service.ask(
        secret, "Dépôt Marsk ouverture ?", working_label=r.parse("NP"), collection="commune"
    )
    assert first.question.label == r.parse("NP")
    assert first.answer.label == r.parse("NP")
    assert first.conversation_label == r.parse("NP")
    assert [c.document_id for c in first.answer.citations] and first.answer.citations[0].quote
    add_secret(platform)  # retrieval (without embeddings) puts every readable passage in context
    second = service.ask(secret, "Convoi HIBOU départ ?", conversation=first.conversation_id)
    # The question stays at the working label; the answer is SECRET; the conversation joins them.
    assert second.question.label == r.parse("NP")
    assert second.answer.label == r.parse("SECRET")
    assert second.conversation_label == r.parse("SECRET")
    shown = service.conversation(secret, first.conversation_id)
    assert [m.role for m in shown.messages] == ["user", "assistant", "user", "assistant"]
    assert shown.summary.label == r.parse("SECRET")
    assert shown.summary.title == "Dépôt Marsk ouverture ?"
    assert shown.messages[3].citations[0].label == r.parse("SECRET")
    entries = journal(platform, "conversation.ask")
    assert [e.label for e in entries] == [r.canonical(r.parse(x)) for x in ("NP", "SECRET")]
    assert f"conversation:{first.conversation_id}" in entries[-1].objects
    # The knowledge service journaled each read itself.
    assert len(journal(platform, "knowledge.ask")) == 2


def test_only_the_owner_reads_even_against_a_higher_clearance(
    platform: Platform, people: dict[str, Principal]
) -> None:
    r, service = platform.policies, platform.conversations
    turn = service.ask(
        people["secret"], "convoi HIBOU", working_label=r.parse("NP"), collection="commune"
    )
    for intruder in ("chef", "admin"):
        with pytest.raises(NotFound):
            service.conversation(people[intruder], turn.conversation_id)
        with pytest.raises(NotFound):
            service.ask(people[intruder], "et ensuite ?", conversation=turn.conversation_id)
        with pytest.raises(NotFound):
            service.delete(people[intruder], turn.conversation_id)
        assert service.conversations(people[intruder]) == []
    # A missing conversation answers exactly the same (its existence is not disclosed).
    with pytest.raises(NotFound) as missing:
        service.conversation(people["chef"], turn.conversation_id + 1000)
    with pytest.raises(NotFound) as foreign:
        service.conversation(people["chef"], turn.conversation_id)
    assert str(missing.value).replace(str(turn.conversation_id + 1000), "N") == str(
        foreign.value
    ).replace(str(turn.conversation_id), "N")
    refusals = journal(platform, "conversation.read")
    assert refusals and all(e.details.get("refused") for e in refusals)
    assert service.conversation(people["secret"], turn.conversation_id).summary.messages == 2


def test_a_role_without_asking_is_refused_and_journaled(
    platform: Platform, people: dict[str, Principal]
) -> None:
    with pytest.raises(Forbidden):
        platform.conversations.conversations(people["auditor"])
    with pytest.raises(Forbidden):
        platform.conversations.ask(people["auditor"], "convoi", working_label=None)
    assert journal(platform, "conversation.list")[-1].details["refused"] is True


def test_a_working_label_above_the_clearance_is_refused(
    platform: Platform, people: dict[str, Principal]
) -> None:
    r, service = platform.policies, platform.conversations
    with pytest.raises(Forbidden, match="working label"):
        service.ask(
            people["np"], "convoi HIBOU", working_label=r.parse("SECRET"), collection="commune"
        )
    with platform.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ConversationRecord)) == 0
    with pytest.raises(InvalidInput):
        service.ask(people["np"], "   ", working_label=r.parse("NP"))


def test_a_lowered_clearance_hides_the_owners_own_conversation(
    platform: Platform, people: dict[str, Principal]
) -> None:
    r, service = platform.policies, platform.conversations
    turn = service.ask(
        people["secret"], "convoi HIBOU", working_label=r.parse("SECRET"), collection="commune"
    )
    lowered = replace(people["secret"], clearance=r.parse_clearance("DR"))
    assert service.conversations(lowered) == []
    with pytest.raises(NotFound):
        service.conversation(lowered, turn.conversation_id)


def test_a_nato_reader_never_gets_french_national_passages(
    platform: Platform, people: dict[str, Principal]
) -> None:
    service = platform.conversations
    add_secret(platform)
    nato = platform.policies.parse("NATO UNCLASSIFIED")
    turn = service.ask(people["deu"], "Dépôt Marsk convoi ravitaillement", working_label=nato)
    titles = {c.document_title for c in turn.answer.citations}
    # NON PROTÉGÉ is releasable to everyone (docs/labels.md); anything French above it is
    # for French nationals only, and never reaches a German NATO reader's context.
    assert "nato.txt" in titles
    national = [c for c in turn.answer.citations if c.label.policy.id == "FR" and c.label.level]
    assert national == [], titles
    assert "HIBOU" not in turn.answer.text and "Varnie" not in turn.answer.text


def test_deleting_removes_the_content_and_is_journaled(
    platform: Platform, people: dict[str, Principal]
) -> None:
    r, service = platform.policies, platform.conversations
    secret = people["secret"]
    kept = service.ask(secret, "Dépôt Marsk", working_label=r.parse("NP"), collection="commune")
    gone = service.ask(
        secret, "convoi HIBOU", working_label=r.parse("SECRET"), collection="commune"
    )
    assert [c.id for c in service.conversations(secret)] == [
        gone.conversation_id,
        kept.conversation_id,
    ]
    service.delete(secret, gone.conversation_id)
    assert [c.id for c in service.conversations(secret)] == [kept.conversation_id]
    with pytest.raises(NotFound):
        service.conversation(secret, gone.conversation_id)
    with platform.database.transaction() as session:
        texts = session.scalars(select(ConversationMessageRecord.content)).all()
    assert texts and not any("HIBOU" in t for t in texts)
    entry = journal(platform, "conversation.delete")[-1]
    assert entry.actor == secret.actor and entry.label == r.canonical(r.parse("SECRET"))
    assert entry.details["messages"] == 2 and "HIBOU" not in str(entry.details)
