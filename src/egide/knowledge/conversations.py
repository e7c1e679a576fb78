"""Conversations with the knowledge base, kept per user and labelled (migration 0011).

Rules (the service decides; every face gets them):

- a conversation belongs to the user who started it; only that user reads,
  continues or deletes it, and only while their clearance covers its label —
  anyone else, whatever their clearance or role, is answered "not found",
  exactly as for a conversation that does not exist (and the refusal is
  journaled);
- each message carries a label: a question the conversation's working label
  (chosen before the first question, within the asker's clearance), an answer
  the label of the knowledge service's answer (the join of every passage in
  its context and of the working label); the conversation's label is the join
  of its working label and of every message's label;
- every question goes through `KnowledgeService.ask`, the same call as
  `POST /v1/knowledge/ask` and the `egide-rag` model, which checks the role,
  the clearance, the collection and journals the read; previous turns are
  kept but not yet sent to it (it answers one question at a time);
- deleting a conversation removes its messages and their text; the journal
  keeps that it existed (ids, counts), never what it said.

Journal actions: `conversation.list`, `conversation.read`, `conversation.ask`,
`conversation.delete` (refusals under the same names).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import InvalidInput, NotFound
from egide.knowledge.answer import Answer, Citation
from egide.knowledge.records import ConversationMessageRecord, ConversationRecord
from egide.knowledge.service import KnowledgeService
from egide.store import Database, LabelRecord, intern_label, utcnow

TITLE_CHARS = 120
"""A conversation's title is its first question, cut to this length."""
LIST_LIMIT = 200
"""The most conversations a history list shows (most recent first)."""


@dataclass(frozen=True)
class CitedPassage:
    """A stored citation: which passage of which document supports the answer."""

    number: int
    chunk_id: int
    document_id: int | None
    document_title: str
    page: int | None
    label: Label
    quote: str


@dataclass(frozen=True)
class Message:
    """One message of a conversation, with its own label."""

    id: int
    role: str
    text: str
    label: Label
    citations: tuple[CitedPassage, ...]
    created_at: datetime


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation in the history list."""

    id: int
    title: str
    collection: str | None
    working_label: Label
    label: Label
    messages: int
    updated_at: datetime


@dataclass(frozen=True)
class Conversation:
    """A conversation and its messages, oldest first."""

    summary: ConversationSummary
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Turn:
    """What one question added: the question, the answer, and the conversation's new label."""

    conversation_id: int
    question: Message
    answer: Message
    conversation_label: Label
    mode: str


class ConversationService:
    """Per-user conversations over the knowledge service; decides, journals, stores."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        knowledge: KnowledgeService,
        *,
        trail: Trail,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._knowledge = knowledge
        self._trail = trail

    # asking ----------------------------------------------------------------------------

    def ask(
        self,
        principal: Principal,
        question: str,
        *,
        conversation: int | None = None,
        working_label: Label | None = None,
        collection: str | None = None,
    ) -> Turn:
        """Ask the knowledge base and keep the question and its answer in a conversation.

        Args:
            principal: Who asks (the owner of a new conversation).
            question: The question.
            conversation: Id of one of the principal's conversations to continue;
                its working label and collection are used. None starts one.
            working_label: The working label of a new conversation (default: the
                principal's default label, else the home label); refused above the
                clearance by the knowledge service.
            collection: The collection of a new conversation (None: every one the
                principal may use).

        Raises:
            NotFound: `conversation` is not one the principal may read.
        """
        objects = [f"conversation:{conversation}"] if conversation is not None else []
        if not question.strip():
            raise InvalidInput("the question is empty; type a question")
        with self._trail.guard(principal, "conversation.ask", objects=objects):
            access.require(access.can(principal, Action.KNOWLEDGE_ASK))
            if conversation is not None:
                with self._db.transaction() as session:
                    record = self._owned(session, principal, conversation)
                    working = self._label(session, record.working_label_id)
                    collection = record.collection
            else:
                working = working_label or principal.default_label or self._knowledge.home_label
        # The knowledge service checks the clearance against the working label and the
        # collection, and journals the read (`knowledge.ask`) and any refusal itself.
        answer = self._knowledge.ask(principal, question, working, collection=collection)
        return self._keep(principal, question, working, collection, conversation, answer)

    def _keep(
        self,
        principal: Principal,
        question: str,
        working: Label,
        collection: str | None,
        conversation: int | None,
        answer: Answer,
    ) -> Turn:
        with self._db.transaction() as session:
            if conversation is None:
                record = ConversationRecord(
                    owner_id=principal.id,
                    title=_title(question),
                    collection=collection,
                    working_label_id=self._intern(session, working),
                    label_id=self._intern(session, working),
                )
                session.add(record)
                session.flush()
            else:
                # Locked: two questions at once must both raise the conversation's label.
                record = self._owned(session, principal, conversation, lock=True)
            current = self._label(session, record.label_id)
            asked = ConversationMessageRecord(
                conversation_id=record.id,
                role="user",
                content=question,
                label_id=self._intern(session, working),
                citations=[],
            )
            answered = ConversationMessageRecord(
                conversation_id=record.id,
                role="assistant",
                content=answer.text,
                label_id=self._intern(session, answer.label),
                citations=[self._citation_json(answer, c) for c in answer.citations],
            )
            session.add_all([asked, answered])
            label = join(current, working, answer.label)
            record.label_id = self._intern(session, label)
            record.updated_at = utcnow()
            session.flush()
            self._journal.append(
                session,
                actor=principal.actor,
                action="conversation.ask",
                objects=[f"conversation:{record.id}"]
                + [f"chunk:{c.chunk_id}" for c in answer.citations],
                label=self._policies.canonical(label),
                details={
                    "messages": [asked.id, answered.id],
                    "question_sha256": _sha(question),
                    "answer_sha256": _sha(answer.text),
                    "answer_label": self._policies.canonical(answer.label),
                    "new": conversation is None,
                },
            )
            return Turn(
                conversation_id=record.id,
                question=self._message(session, asked),
                answer=self._message(session, answered),
                conversation_label=label,
                mode=answer.mode,
            )

    # reading ---------------------------------------------------------------------------

    def conversations(self, principal: Principal) -> list[ConversationSummary]:
        """The principal's own conversations their clearance covers, most recent first."""
        with self._trail.guard(principal, "conversation.list"):
            access.require(access.can(principal, Action.KNOWLEDGE_ASK))
        readable = self._knowledge.readable_label_ids(principal)
        with self._db.transaction() as session:
            counts = (
                select(
                    ConversationMessageRecord.conversation_id,
                    func.count().label("n"),
                )
                .group_by(ConversationMessageRecord.conversation_id)
                .subquery()
            )
            rows = session.execute(
                select(ConversationRecord, counts.c.n)
                .outerjoin(counts, counts.c.conversation_id == ConversationRecord.id)
                .where(
                    ConversationRecord.owner_id == principal.id,
                    ConversationRecord.label_id.in_(readable),
                )
                .order_by(ConversationRecord.updated_at.desc(), ConversationRecord.id.desc())
                .limit(LIST_LIMIT)
            ).all()
            found = [self._summary(session, record, n or 0) for record, n in rows]
        self._trail.read(
            principal,
            "conversation.list",
            objects=[f"conversation:{c.id}" for c in found],
            label=self._policies.canonical(
                join(self._knowledge.home_label, *(c.label for c in found))
            ),
            details={"count": len(found)},
        )
        return found

    def conversation(self, principal: Principal, conversation: int) -> Conversation:
        """One of the principal's conversations with its messages (journaled at its label)."""
        objects = [f"conversation:{conversation}"]
        with (
            self._trail.guard(principal, "conversation.read", objects=objects),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.KNOWLEDGE_ASK))
            record = self._owned(session, principal, conversation)
            rows = list(
                session.scalars(
                    select(ConversationMessageRecord)
                    .where(ConversationMessageRecord.conversation_id == record.id)
                    .order_by(ConversationMessageRecord.id)
                )
            )
            shown = Conversation(
                summary=self._summary(session, record, len(rows)),
                messages=tuple(self._message(session, m) for m in rows),
            )
        self._trail.read(
            principal,
            "conversation.read",
            objects=objects,
            label=self._policies.canonical(shown.summary.label),
            details={"messages": len(shown.messages)},
        )
        return shown

    # deleting --------------------------------------------------------------------------

    def delete(self, principal: Principal, conversation: int) -> None:
        """Delete one of the principal's conversations and the text of all its messages.

        Only the owner may, while their clearance covers its label (anyone else:
        not found). No role is needed: a user may always remove what they said.
        """
        objects = [f"conversation:{conversation}"]
        with (
            self._trail.guard(principal, "conversation.delete", objects=objects),
            self._db.transaction() as session,
        ):
            record = self._owned(session, principal, conversation, lock=True)
            label = self._label(session, record.label_id)
            removed = session.execute(
                delete(ConversationMessageRecord).where(
                    ConversationMessageRecord.conversation_id == record.id
                )
            )
            session.delete(record)
            self._journal.append(
                session,
                actor=principal.actor,
                action="conversation.delete",
                objects=objects,
                label=self._policies.canonical(label),
                details={"messages": getattr(removed, "rowcount", None)},
            )

    # helpers ---------------------------------------------------------------------------

    def _owned(
        self, session: Session, principal: Principal, conversation: int, *, lock: bool = False
    ) -> ConversationRecord:
        """The conversation if the principal owns it and may read its label, else NotFound."""
        query = select(ConversationRecord).where(ConversationRecord.id == conversation)
        if lock:
            query = query.with_for_update()
        record = session.scalar(query)
        # Someone else's conversation, or one above the owner's clearance now, is
        # answered exactly like a missing one: its existence is not disclosed.
        if (
            record is None
            or record.owner_id != principal.id
            or not access.can_read(principal, self._label(session, record.label_id)).allowed
        ):
            raise NotFound(
                f"no conversation {conversation} of yours; see the history of your conversations"
            )
        return record

    def _summary(
        self, session: Session, record: ConversationRecord, messages: int
    ) -> ConversationSummary:
        return ConversationSummary(
            id=record.id,
            title=record.title,
            collection=record.collection,
            working_label=self._label(session, record.working_label_id),
            label=self._label(session, record.label_id),
            messages=messages,
            updated_at=record.updated_at,
        )

    def _message(self, session: Session, record: ConversationMessageRecord) -> Message:
        return Message(
            id=record.id,
            role=record.role,
            text=record.content,
            label=self._label(session, record.label_id),
            citations=tuple(self._cited(c) for c in record.citations or []),
            created_at=record.created_at,
        )

    def _cited(self, stored: dict[str, Any]) -> CitedPassage:
        return CitedPassage(
            number=int(stored["number"]),
            chunk_id=int(stored["chunk_id"]),
            document_id=stored.get("document_id"),
            document_title=str(stored.get("document_title", "")),
            page=stored.get("page"),
            label=self._policies.parse(str(stored["label"])),
            quote=str(stored.get("quote", "")),
        )

    def _citation_json(self, answer: Answer, citation: Citation) -> dict[str, Any]:
        """A citation as stored, with its passage's canonical label."""
        labels = {p.number: p.label for p in answer.passages}
        label = labels.get(citation.number) or self._policies.parse(citation.marking)
        return {
            "number": citation.number,
            "chunk_id": citation.chunk_id,
            "document_id": citation.document_id,
            "document_title": citation.document_title,
            "page": citation.page,
            "label": self._policies.canonical(label),
            "quote": citation.quote,
        }

    def _intern(self, session: Session, label: Label) -> int:
        return intern_label(session, self._policies.canonical(label))

    def _label(self, session: Session, label_id: int) -> Label:
        record = session.get(LabelRecord, label_id)
        if record is None:  # a foreign key guarantees it; fail closed all the same
            raise NotFound("the conversation's label is missing; report it to an administrator")
        return self._policies.parse(record.canonical)


def _title(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = [
    "CitedPassage",
    "Conversation",
    "ConversationService",
    "ConversationSummary",
    "Message",
    "Turn",
]
