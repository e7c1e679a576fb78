"""Intelligence synthesis: a tasking and a source set in, an assessed report proposal out.

1. the sources: a knowledge search over a collection, or explicit documents,
   read under the caller's label filter (inside the SQL, as every read);
2. the analyst's Admiralty gradings attached to each document;
3. the analysis: written by a capable model under the report's JSON schema
   and validated, or assembled by rule from extracted evidence (with the demo
   model, when asked, when the model is not accredited for the sources' label,
   or when its output fails validation — the reason is recorded);
4. the report, its marked blocks and text become a ``report`` proposal that a
   human approves before anything leaves; the synthesis itself is journaled
   with the gradings and the fallback reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from egide import __version__
from egide.audit import Journal
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.digest import sha256_json, sha256_text
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import EgideError, InvalidInput, NotFound
from egide.inference.protocol import Backend, ChatMessage, ChatRequest, JsonSchemaFormat
from egide.knowledge.answer import words
from egide.knowledge.records import ChunkRecord, DocumentRecord
from egide.knowledge.search import hydrate
from egide.knowledge.service import KnowledgeService
from egide.store import MAX_PUBLIC_ID, Database, LabelRecord
from egide.workflows.proposals import Proposal, ProposalService
from egide.workflows.synthesis.assemble import Source, assemble
from egide.workflows.synthesis.lexicon import (
    CREDIBILITY,
    LIKELIHOOD,
    NOT_GRADED,
    RELIABILITY,
    parse_grading,
)
from egide.workflows.synthesis.render import blocks_of, text_of
from egide.workflows.synthesis.report import (
    ANALYSIS_SCHEMA,
    Problem,
    ReportInvalid,
    ensure_valid,
    validate_report,
)

WORKFLOW = "intelligence-synthesis"
ASSEMBLER = "egide-extractive-assembler"
MAX_REPORT_TOKENS = 2048
MIN_REPORT_TOKENS = 256
Mode = Literal["auto", "assembled", "generated"]


@dataclass(frozen=True)
class ModelEngine:
    """A model the workflow may write with: its backend, and what the gateway knows of it."""

    backend: Backend
    name: str
    digest: str
    label: Label
    accreditation: Label
    demo: bool = False


@dataclass(frozen=True)
class SynthesisRequest:
    """What the analyst asks for.

    Attributes:
        tasking: The question or tasking.
        working_label: The label the analyst works at (joined into the report's label).
        collection: Search this collection (with `document_ids` empty, the sources come from it).
        document_ids: Use these documents as the source set instead of a search.
        gradings: Admiralty code per document, keyed by document id, file name or title.
        k: How many passages to place in the context.
        mode: "auto" (model if capable, else assembled), "assembled" or "generated".
    """

    tasking: str
    working_label: Label
    collection: str | None = None
    document_ids: Sequence[int] = ()
    gradings: Mapping[str, str] = field(default_factory=dict)
    k: int = 8
    mode: Mode = "auto"


@dataclass(frozen=True)
class Synthesis:
    """The outcome: the proposal, the report, and how it was made."""

    proposal: Proposal
    report: dict[str, Any]
    text: str
    label: Label
    mode: str
    fallback_reason: str | None
    unused_gradings: tuple[str, ...]


class SynthesisService:
    """Builds assessed reports and proposes them for a human decision."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        knowledge: KnowledgeService,
        proposals: ProposalService,
        *,
        trail: Trail | None = None,
        admit: Callable[[Principal], None] | None = None,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._knowledge = knowledge
        self._proposals = proposals
        self._trail = trail or Trail(database, journal, policies.canonical(knowledge.home_label))
        # The rate limiter's admission: a synthesis is one costly request.
        self._admit = admit

    async def synthesize(
        self,
        principal: Principal,
        request: SynthesisRequest,
        *,
        engine: ModelEngine | None = None,
    ) -> Synthesis:
        """Gather, grade, analyse, validate and propose; refused while AI is suspended.

        Needs the analyst role and a clearance covering the working label; the
        sources are only passages of collections the caller's organisation may
        use. A refusal is journaled (`synthesis.report`).
        """
        await to_thread.run_sync(lambda: self._authorise(principal, request, engine))
        if not request.tasking.strip():
            raise InvalidInput("the tasking is empty: say what the report must answer")
        if not 1 <= request.k <= 20:
            raise InvalidInput("k (passages in the context) must be between 1 and 20")
        sources, unused = await to_thread.run_sync(
            lambda: self._allowed_sources(principal, request)
        )
        # The report names its sources' titles: each is at its document's label.
        label = join(request.working_label, *(s.line_label for s in sources))
        analysis, mode, reason = await self._analysis(request, sources, label, engine)
        try:
            report = self._report(request.tasking, analysis, sources, mode, engine, reason)
        except ReportInvalid as invalid:
            if mode != "generated":
                raise  # an assembled report that fails is a bug in Égide: let it show
            mode, reason = "assembled", f"the model's report failed validation: {invalid.message}"
            analysis = assemble(request.tasking, sources)
            report = self._report(request.tasking, analysis, sources, mode, engine, reason)
        if mode == "generated":
            assert engine is not None
            label = join(label, engine.label)
        return await to_thread.run_sync(
            lambda: self._propose(
                principal, request, sources, report, label, mode, reason, engine, unused
            )
        )

    def _authorise(
        self, principal: Principal, request: SynthesisRequest, engine: ModelEngine | None
    ) -> None:
        details = {
            "collection": request.collection,
            "document_ids": list(request.document_ids),
            "working_label": self._policies.canonical(request.working_label),
            "model": engine.name if engine else None,
        }
        with self._trail.guard(principal, "synthesis.report", details=details):
            access.require(access.can(principal, Action.SYNTHESIS_RUN))
            access.require(access.can_work_at(principal, request.working_label))
        if self._admit is not None:
            self._admit(principal)

    # sources -------------------------------------------------------------------------

    def _allowed_sources(
        self, principal: Principal, request: SynthesisRequest
    ) -> tuple[list[Source], tuple[str, ...]]:
        details = {"collection": request.collection, "document_ids": list(request.document_ids)}
        with self._trail.guard(principal, "synthesis.report", details=details):
            self._proposals.ensure_ai_allowed()
            return self.sources(principal, request)

    def sources(
        self, principal: Principal, request: SynthesisRequest
    ) -> tuple[list[Source], tuple[str, ...]]:
        """The graded, numbered sources the principal may read, and the gradings left unused."""
        gradings = {
            key: parse_grading(code, what=f"document {key!r}")
            for key, code in request.gradings.items()
        }
        if request.document_ids:
            rows = self._documents(principal, request, request.tasking, request.k)
        elif request.collection is not None:
            hits = self._knowledge.search(
                principal,
                request.tasking,
                collection=request.collection,
                k=request.k,
                admitted=self._admit is not None,
            )
            rows = [
                (h.chunk_id, h.document_id, h.document_title, h.filename, h.page, h.label, h.text)
                for h in hits
            ]
        else:
            raise InvalidInput(
                "name the sources: a collection to search, or the ids of the documents to use"
            )
        if not rows:
            raise NotFound(
                "no passage you may read matches this tasking; widen the collection, name "
                "documents explicitly, or rephrase the tasking"
            )
        titled = self._document_labels({d for _, d, t, *_ in rows if d is not None and t})
        used: set[str] = set()
        sources = []
        for number, (chunk, document, title, filename, page, canonical, text) in enumerate(
            rows, start=1
        ):
            label = self._policies.parse(canonical)
            title_label = titled.get(document) if document is not None and title else None
            shown = label if title_label is None else join(label, title_label)
            grading = NOT_GRADED
            # A passage of a document the reader may not read has no id, title or
            # file name: no grading can name it (nor tell that it was named).
            keys = (str(document), filename, title) if document is not None else ()
            for key in keys:
                if key in gradings:
                    grading = gradings[key]
                    used.add(key)
                    break
            sources.append(
                Source(
                    number=number,
                    chunk_id=chunk,
                    document_id=document,
                    # A readable paragraph of a document marked above the reader comes
                    # without its document's title: name the passage instead.
                    title=title or f"passage {chunk} (document title withheld)",
                    filename=filename,
                    page=page,
                    label=label,
                    # The marking stated in the source's line is that of what it shows.
                    marking=self._policies.format(shown),
                    text=text,
                    grading=grading,
                    title_label=title_label,
                )
            )
        return sources, tuple(sorted(set(gradings) - used))

    def _document_labels(self, ids: set[int]) -> dict[int, Label]:
        """The labels of the documents whose titles the reader was shown."""
        if not ids:
            return {}
        with self._db.transaction() as session:
            rows = session.execute(
                select(DocumentRecord.id, LabelRecord.canonical)
                .join(LabelRecord, LabelRecord.id == DocumentRecord.label_id)
                .where(DocumentRecord.id.in_(sorted(ids)))
            ).all()
        return {row.id: self._policies.parse(row.canonical) for row in rows}

    def _documents(
        self, principal: Principal, request: SynthesisRequest, tasking: str, k: int
    ) -> list[tuple[int, int | None, str, str, int | None, str, str]]:
        # An id beyond what the databases store names nothing (and would not bind).
        ids = [i for i in request.document_ids if 1 <= i <= MAX_PUBLIC_ID]
        readable = self._knowledge.readable_label_ids(principal)
        # Named documents come from the collections the caller's organisation may use
        # (and from the collection named, if one is): an id is no way around that limit.
        scope = self._knowledge.collection_scope(principal, None)
        with self._db.transaction() as session:
            query = (
                select(
                    ChunkRecord.id, ChunkRecord.document_id, ChunkRecord.ordinal, ChunkRecord.text
                )
                .join(DocumentRecord, DocumentRecord.id == ChunkRecord.document_id)
                .where(ChunkRecord.document_id.in_(list(ids)))
                .where(ChunkRecord.label_id.in_(readable))
                .where(DocumentRecord.status == "current")
            )
            if scope is not None:
                query = query.where(ChunkRecord.collection_id.in_(scope))
            rows = session.execute(query).all()
            found = {row.document_id for row in rows}
            missing = [str(i) for i in ids if i not in found]
            if missing:
                raise NotFound(
                    f"no document {', '.join(missing)} with a passage you may read; "
                    "check the ids with `egide search`"
                )
            asked = words(tasking)
            order = {doc: i for i, doc in enumerate(ids)}
            ranked = sorted(
                rows,
                key=lambda r: (-len(asked & words(r.text)), order[r.document_id], r.ordinal),
            )
            # The passages are read as search reads them: under row-level security,
            # with the title of a document marked above the reader withheld.
            hits = hydrate(
                session,
                self._knowledge.index,
                [(r.id, 0.0) for r in ranked[:k]],
                {},
                readable=readable,
            )
            return [
                (h.chunk_id, h.document_id, h.document_title, h.filename, h.page, h.label, h.text)
                for h in hits
            ]

    # analysis ------------------------------------------------------------------------

    async def _analysis(
        self,
        request: SynthesisRequest,
        sources: Sequence[Source],
        label: Label,
        engine: ModelEngine | None,
    ) -> tuple[dict[str, Any], str, str | None]:
        reason = _not_capable(request.mode, engine, label, self._policies)
        if reason is None and engine is not None:
            generated, reason = await _generate(engine, request.tasking, sources)
            if generated is not None:
                return generated, "generated", None
        return assemble(request.tasking, sources), "assembled", reason

    def _report(
        self,
        tasking: str,
        analysis: Mapping[str, Any],
        sources: Sequence[Source],
        mode: str,
        engine: ModelEngine | None,
        reason: str | None,
    ) -> dict[str, Any]:
        report = {
            "tasking": tasking.strip(),
            **analysis,
            "sources": [s.entry() for s in sources],
            "ai_involvement": _involvement(mode, engine, reason),
        }
        ensure_valid(report, passages={s.number: s.text for s in sources})
        return report

    # proposal ------------------------------------------------------------------------

    def _propose(
        self,
        principal: Principal,
        request: SynthesisRequest,
        sources: Sequence[Source],
        report: dict[str, Any],
        label: Label,
        mode: str,
        reason: str | None,
        engine: ModelEngine | None,
        unused: tuple[str, ...],
    ) -> Synthesis:
        title = f"Synthèse — {_short(request.tasking)}"
        consulted = engine is not None and (
            mode == "generated" or _not_capable(request.mode, engine, label, self._policies) is None
        )
        labels = {s.number: s.label for s in sources}
        lines = {s.number: s.line_label for s in sources}
        blocks = blocks_of(report, labels, label, self._policies, lines=lines)
        text = text_of(title, blocks, label, self._policies)
        cited = sorted(
            {n for j in report["key_judgments"] for n in j["sources"]}
            | set(report["bluf"]["sources"])
            | {f["source"] for f in report["facts"]}
        )
        by_number = {s.number: s for s in sources}
        evidence = [
            {
                "chunk": by_number[n].chunk_id,
                "document": by_number[n].document_id,
                "title": by_number[n].title,
                "marking": by_number[n].marking,
                "grading": by_number[n].grading.code,
            }
            for n in cited
        ]
        inputs = [s.line_label for s in sources] + (
            [engine.label] if mode == "generated" and engine else []
        )
        details = {
            "tasking_sha256": sha256_text(request.tasking),
            "collection": request.collection,
            "document_ids": list(request.document_ids),
            "gradings": {
                str(s.document_id): s.grading.code for s in sources if s.document_id is not None
            },
            "unused_gradings": list(unused),
            "mode": mode,
            "fallback_reason": reason,
            "model": engine.name if engine else None,
            "model_digest": engine.digest if engine else None,
            "report_sha256": sha256_json(report),
        }

        def journal_synthesis(session: Session, proposal: Proposal) -> None:
            self._journal.append(
                session,
                actor=principal.actor,
                action="synthesis.report",
                objects=[f"proposal:{proposal.id}", *(f"chunk:{s.chunk_id}" for s in sources)],
                label=self._policies.canonical(proposal.label),
                details=details,
            )

        proposal = self._proposals.create(
            principal,
            kind="report",
            title=title,
            content={"report": report, "blocks": blocks, "text": text},
            evidence=evidence,
            # Every source is in the report, cited or not: the proposal is kept to the
            # organisations that may use all of their collections.
            sources=[s.chunk_id for s in sources],
            input_labels=inputs,
            label=request.working_label,
            # A model is named when the sources were sent to it (even if its draft was
            # discarded); a report assembled without consulting one names the assembler.
            model=engine.name if engine and consulted else ASSEMBLER,
            model_digest=engine.digest if engine and consulted else None,
            workflow=WORKFLOW,
            record_also=journal_synthesis,
        )
        return Synthesis(proposal, report, text, proposal.label, mode, reason, unused)


def _not_capable(
    mode: Mode, engine: ModelEngine | None, label: Label, policies: PolicyRegistry
) -> str | None:
    """Why the report is assembled rather than generated, or None to generate."""
    if mode == "assembled":
        return "assembly asked for"
    if engine is None:
        return "no model given"
    if engine.demo:
        return f"{engine.name} is a demonstration model, not capable of analysis"
    if not engine.accreditation.dominates(label):
        return (
            f"{engine.name} is accredited up to {policies.format(engine.accreditation)}, below "
            f"the sources' label {policies.format(label)}; the sources were not sent to it"
        )
    return None


async def _generate(
    engine: ModelEngine, tasking: str, sources: Sequence[Source]
) -> tuple[dict[str, Any] | None, str | None]:
    """The model's analysis if it is valid, else None and why not."""
    messages = [ChatMessage("system", _SYSTEM), ChatMessage("user", _prompt(tasking, sources))]
    backend = engine.backend
    context = backend.describe().context_size
    room = MAX_REPORT_TOKENS
    if context:
        room = min(room, context - backend.count_tokens(messages))
        if room < MIN_REPORT_TOKENS:
            return None, (
                f"the {len(sources)} passages leave {max(room, 0)} tokens of {engine.name}'s "
                f"{context}-token context for the report; ask for fewer passages (k)"
            )
    request = ChatRequest(
        messages=messages,
        max_tokens=room,
        temperature=0.0,
        response_format=JsonSchemaFormat(schema=ANALYSIS_SCHEMA, name="intelligence_synthesis"),
    )
    try:
        result = await backend.chat(request)
    except EgideError as error:
        return None, f"the model failed: {error.message}"
    try:
        analysis = json.loads(result.text)
    except json.JSONDecodeError as error:
        cut = " (cut at max_tokens)" if result.finish_reason == "length" else ""
        return None, f"the model's output is not JSON{cut}: {error.msg} at {error.pos}"
    problems: list[Problem] = validate_report(
        analysis, passages={s.number: s.text for s in sources}, schema=ANALYSIS_SCHEMA
    )
    if problems:
        shown = "; ".join(str(p) for p in problems[:3])
        return None, f"the model's output failed validation: {shown}"
    return analysis, None


_SYSTEM = (
    "You are an intelligence analyst writing to ICD 203 analytic standards. Answer only with "
    "JSON matching the schema. Use only the numbered sources; cite them by number. State each "
    "key judgment's likelihood with exactly one of: " + ", ".join(LIKELIHOOD) + " — and never "
    "any other estimative word (no 'probable', 'probably', 'highly likely'). Give confidence "
    "(high, moderate, low) only in the confidence field, never in a sentence with a likelihood. "
    "Facts are verbatim extracts of one source. Keep assumptions, alternatives and gaps apart."
)


def _prompt(tasking: str, sources: Sequence[Source]) -> str:
    lines = []
    for s in sources:
        if s.grading.reliability is None:
            grade = "ungraded"
        else:
            assert s.grading.credibility is not None
            grade = (
                f"{s.grading.code} ({RELIABILITY[s.grading.reliability]}; "
                f"{CREDIBILITY[s.grading.credibility]})"
            )
        lines.append(f"[{s.number}] {s.title} — grading {grade}\n{s.text}")
    return "Sources:\n\n" + "\n\n".join(lines) + f"\n\nTasking: {tasking}"


def _involvement(mode: str, engine: ModelEngine | None, reason: str | None) -> dict[str, Any]:
    if mode == "generated":
        assert engine is not None
        statement = (
            f"Drafted by the language model {engine.name} (weights SHA-256 {engine.digest}) "
            "under the report's JSON schema, validated by Égide against the analytic "
            "standards; sources, gradings and labels were filled in by Égide, not the model. "
            "A human approves it before release."
        )
        return {
            "mode": mode,
            "model": engine.name,
            "model_digest": engine.digest,
            "statement": statement,
        }
    offered = (
        f" The model {engine.name} (weights SHA-256 {engine.digest}) was not used: {reason}."
        if engine
        else ""
    )
    statement = (
        f"Assembled by rule by Égide {__version__} from passages retrieved by hybrid search "
        "(full text and multilingual-e5 embeddings); no language model wrote any of its text."
        f"{offered} A human approves it before release."
    )
    return {
        "mode": "assembled",
        "model": engine.name if engine else None,
        "model_digest": engine.digest if engine else None,
        "statement": statement,
    }


def _short(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


__all__ = ["WORKFLOW", "ModelEngine", "Synthesis", "SynthesisRequest", "SynthesisService"]
