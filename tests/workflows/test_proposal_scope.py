"""The proposal service keeps a proposal to the organisations of its sources (finding F1)
and resolves a proposal's evidence itself (finding F3), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, column, func, insert, select, table

from egide.app import Platform
from egide.core.principals import Role
from egide.errors import InvalidInput, NotFound
from egide.knowledge.records import ChunkRecord
from egide.settings import Settings
from egide.store import PrincipalRecord, intern_label, utcnow
from egide.store.database import _alembic_config
from egide.store.models import UTCDateTime
from egide.workflows.proposals import Proposal, ProposalService
from egide.workflows.records import ProposalOrganisationRecord, ProposalRecord
from tests.enforcement.conftest import world
from tests.enforcement.world import World

__all__ = ["world"]


@pytest.fixture(scope="module")
def drm(world: World) -> World:
    """The world plus a DRM approver cleared TRÈS SECRET (right level, wrong organisation)."""
    if "drmchief" not in world.tokens:
        world.platform.identity.add_user(
            "test",
            "drmchief",
            clearance=world.platform.policies.parse_clearance("TRÈS SECRET"),
            roles=[Role.APPROVER, Role.ANALYST],
            organisation="DRM",
        )
        _, world.tokens["drmchief"] = world.platform.identity.create_key("test", "drmchief")
    return world


def _chunks(world: World, document: int) -> list[int]:
    with world.platform.database.transaction() as session:
        return list(
            session.scalars(select(ChunkRecord.id).where(ChunkRecord.document_id == document))
        )


def _count(world: World) -> int:
    with world.platform.database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(ProposalRecord)) or 0)


def _create(world: World, who: str, **extra: Any) -> Proposal:
    service: ProposalService = world.platform.proposals
    return service.create(
        world.principal(who),
        kind="report",
        title="Point",
        content={"text": "Le PC avance."},
        **extra,
    )


def test_sources_of_a_cpco_collection_keep_the_proposal_in_cpco(drm: World) -> None:
    world, service = drm, drm.platform.proposals
    proposal = _create(
        world,
        "analyst",
        sources=_chunks(world, world.secret_document),
        workflow="intelligence-synthesis",
    )
    assert proposal.organisations == ("CPCO",) and proposal.marking == "TRÈS SECRET"
    outsider, chief = world.principal("outsider"), world.principal("drmchief")
    assert proposal.id not in [p.id for p in service.readable(outsider)]
    assert proposal.id not in [p.id for p in service.readable(chief)]
    for call in (
        lambda: service.get(chief, proposal.id),
        lambda: service.approve(chief, proposal.id, rationale="vu"),
        lambda: service.amend(chief, proposal.id, {"text": "autre"}, "mieux"),
        lambda: service.reject(chief, proposal.id, "non"),
        lambda: service.dissent(chief, proposal.id, "non"),
        lambda: service.release(chief, proposal.id, "export"),
    ):
        with pytest.raises(NotFound, match=f"no proposal {proposal.id} that you may read"):
            call()
    # Inside CPCO nothing changes.
    approver = world.principal("approver")
    assert proposal.id in [p.id for p in service.readable(approver)]
    assert service.approve(approver, proposal.id, rationale="vu").approvals == ("approver",)


def test_open_sources_and_no_sources_give_an_open_proposal(drm: World) -> None:
    world = drm
    for extra in ({"sources": _chunks(world, world.open_document)}, {}):
        proposal = _create(world, "analyst", **extra)
        assert proposal.organisations == ()
        assert (
            world.platform.proposals.get(world.principal("drmchief"), proposal.id).id == proposal.id
        )


def test_evidence_is_resolved_and_raises_the_label(drm: World) -> None:
    world = drm
    typed = world.platform.policies.parse("DIFFUSION RESTREINTE")
    proposal = _create(
        world, "analyst", label=typed, evidence=[{"document": world.secret_document, "why": "PC"}]
    )
    assert proposal.marking == "TRÈS SECRET" and proposal.organisations == ("CPCO",)
    assert proposal.evidence[0]["why"] == "PC" and proposal.evidence[0]["title"]
    chunk = _chunks(world, world.open_document)[0]
    forged = _create(
        world,
        "outsider",
        evidence=[{"chunk": chunk, "marking": "NON PROTÉGÉ", "title": "faux", "document": None}],
    )
    # Whatever the author wrote about the passage, the server's record of it is kept.
    assert forged.evidence[0]["document"] == world.open_document
    assert forged.evidence[0]["title"] != "faux" and forged.organisations == ()


@pytest.mark.parametrize("who", ["outsider", "low"])
def test_evidence_the_author_may_not_read_is_refused_and_nothing_is_written(
    drm: World, who: str
) -> None:
    world = drm
    before = _count(world)
    hidden = _chunks(world, world.secret_document)[0]
    for evidence in (
        [{"document": world.secret_document}],
        [{"chunk": hidden}],
        [{"chunk": hidden, "document": world.open_document}],
        [{"document": world.open_document}, {"chunk": 2**40}],
    ):
        with pytest.raises(NotFound, match="names no passage or document that you may read"):
            _create(world, who, evidence=evidence)
    with pytest.raises(NotFound):
        _create(world, who, sources=[hidden])
    with pytest.raises(InvalidInput, match="evidence"):
        _create(world, who, evidence=[{"chunk": "douze"}])
    assert _count(world) == before


def test_the_migration_scopes_proposals_written_before_it(
    data_dir: Path, database_url: str
) -> None:
    """A synthesis proposal stored before 0009 is kept to its sources' organisations."""
    platform = Platform(Settings(data_dir=data_dir, database_url=database_url))
    platform.initialise()
    try:
        identity, policies, knowledge = platform.identity, platform.policies, platform.knowledge
        identity.add_organisation("t", "CPCO")
        identity.add_user(
            "t",
            "chef",
            clearance=policies.parse_clearance("SECRET"),
            roles=list(Role),
            organisation="CPCO",
        )
        chef = identity.principal("chef")
        knowledge.create_collection(chef, "cpco", organisations=["CPCO"])
        knowledge.create_collection(chef, "tous")
        hidden = knowledge.ingest(chef, "cpco", "a.txt", b"SECRET\n\nLe PC avance.\n")[
            0
        ].document_id
        open_ = knowledge.ingest(chef, "tous", "b.txt", b"NON PROTEGE\n\nRoutes.\n")[0].document_id
        database = platform.database
        with database.transaction() as session:
            chunk = session.scalar(select(ChunkRecord.id).where(ChunkRecord.document_id == hidden))
            label = intern_label(session, policies.canonical(policies.parse("SECRET")))
            author = session.scalar(
                select(PrincipalRecord.id).where(PrincipalRecord.username == "chef")
            )
        config = _alembic_config()
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0008_document_versions")
        old = table(
            "proposals",
            *(column(n) for n in ("id", "kind", "title", "state", "content_hash", "workflow")),
            *(column(n) for n in ("author_id", "label_id", "required_approvals")),
            column("content", JSON),
            column("evidence", JSON),
            column("created_at", UTCDateTime),
            column("updated_at", UTCDateTime),
        )
        rows = {
            # A synthesis citing only the open document, but built from the hidden one too.
            1: ({"report": {"sources": [{"chunk_id": chunk}]}}, [{"document": open_}]),
            2: ({"text": "x"}, [{"chunk": chunk, "document": hidden}]),
            3: ({"text": "x"}, [{"document": open_}, {"note": "n"}]),
            4: ({"text": "x"}, "damaged"),
        }
        with database.engine.begin() as connection:
            for pid, (content, evidence) in rows.items():
                connection.execute(
                    insert(old).values(
                        id=pid,
                        kind="report",
                        title="t",
                        state="proposed",
                        content_hash="0" * 64,
                        workflow="manual",
                        author_id=author,
                        label_id=label,
                        required_approvals=2,
                        content=content,
                        evidence=evidence,
                        created_at=utcnow(),
                        updated_at=utcnow(),
                    )
                )
        database.migrate()
        with database.transaction() as session:
            scoped = {
                r.id: r.scoped
                for r in session.execute(select(ProposalRecord.id, ProposalRecord.scoped))
            }
            listed = session.execute(
                select(
                    ProposalOrganisationRecord.proposal_id, ProposalOrganisationRecord.organisation
                )
            ).all()
        assert scoped == {1: True, 2: True, 3: False, 4: False}
        assert sorted(map(tuple, listed)) == [(1, "CPCO"), (2, "CPCO")]
    finally:
        platform.close()
