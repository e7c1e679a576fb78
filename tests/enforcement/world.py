"""One installation with every kind of caller the enforcement tests need.

Callers (organisation, clearance, roles):

- ``analyst``: CPCO, TRÈS SECRET, analyst — the one who may;
- ``approver``: CPCO, TRÈS SECRET, approver; ``admin``: CPCO, TRÈS SECRET, every role;
- ``low``: CPCO, NON PROTÉGÉ, analyst — under-cleared; ``lowapprover``: CPCO, DR, approver;
- ``norole``: no role; ``auditor``; ``operator``; ``scoped``: analyst and approver
  but presenting a key scoped to approver — each the wrong role for analyst work;
- ``outsider``: DRM, TRÈS SECRET, analyst — the wrong organisation for `cpcoonly`;
- ``classifier``: CPCO, TRÈS SECRET, classifier — who may lower and delete documents;
- ``approver2``: CPCO, TRÈS SECRET, approver — the second approval SECRET and above need;
- ``lowauditor``: CPCO, DIFFUSION RESTREINTE, auditor — reads only the entries it dominates.

Collections: ``cpcoonly`` (CPCO only) holds a TRÈS SECRET document;
``commune`` (everyone) a NON PROTÉGÉ one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.settings import Settings
from egide.store import AuditEntryRecord, LabelRecord
from egide.streams.message import Message
from tests.api.conftest import ECHO_MODELS, echo_deployments, write_gguf

SECRET_TEXT = (
    "TRÈS SECRET\n\nOpération HIBOU : le poste de commandement avancé s'installe à Varnie-Est "
    "le 21 novembre.\n\nTRÈS SECRET\n"
)
OPEN_TEXT = (
    "NON PROTÉGÉ\n\nLe convoi logistique CLOU-7 arrive à Marsk le 19 novembre.\n\nNON PROTÉGÉ\n"
)
ALL_ROLES = list(Role)
# username -> (organisation, clearance, roles, key scopes)
CALLERS: dict[str, tuple[str, str, list[Role], list[Role] | None]] = {
    "analyst": ("CPCO", "TRÈS SECRET", [Role.ANALYST], None),
    "approver": ("CPCO", "TRÈS SECRET", [Role.APPROVER], None),
    "admin": ("CPCO", "TRÈS SECRET", ALL_ROLES, None),
    "low": ("CPCO", "NON PROTÉGÉ", [Role.ANALYST], None),
    "lowapprover": ("CPCO", "DIFFUSION RESTREINTE", [Role.APPROVER], None),
    "norole": ("CPCO", "TRÈS SECRET", [], None),
    "auditor": ("CPCO", "TRÈS SECRET", [Role.AUDITOR], None),
    "operator": ("CPCO", "TRÈS SECRET", [Role.OPERATOR], None),
    "scoped": ("CPCO", "TRÈS SECRET", [Role.ANALYST, Role.APPROVER], [Role.APPROVER]),
    "outsider": ("DRM", "TRÈS SECRET", [Role.ANALYST], None),
    "classifier": ("CPCO", "TRÈS SECRET", [Role.CLASSIFIER], None),
    "approver2": ("CPCO", "TRÈS SECRET", [Role.APPROVER], None),
    "lowauditor": ("CPCO", "DIFFUSION RESTREINTE", [Role.AUDITOR], None),
}
WRONG_ROLES = ("norole", "auditor", "operator", "scoped")


@dataclass
class World:
    """The installation, its callers' keys and the ids of its objects."""

    platform: Platform
    tokens: dict[str, str] = field(default_factory=dict)
    secret_document: int = 0
    open_document: int = 0
    created: int = 0
    streamed: int = 0  # watchlists and alerts made (apart from `created`: file names use it)

    def principal(self, username: str) -> Principal:
        """The caller as the services see it (with its key's scopes)."""
        return self.platform.identity.authenticate(self.tokens[username])

    def headers(self, username: str | None, label: str | None = None) -> dict[str, str]:
        """Request headers of `username` (None: no credential at all)."""
        headers = {} if username is None else {"Authorization": f"Bearer {self.tokens[username]}"}
        if label is not None:
            headers["X-Egide-Label"] = label
        return headers

    def mark(self) -> int:
        """The journal's current length: entries after it are what a call wrote."""
        with self.platform.database.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(AuditEntryRecord)) or 0)

    def entries_since(self, mark: int) -> list[tuple[AuditEntryRecord, str]]:
        """Journal entries written after `mark`, with their label."""
        with self.platform.database.transaction() as session:
            rows = session.execute(
                select(AuditEntryRecord, LabelRecord.canonical)
                .join(LabelRecord, AuditEntryRecord.label_id == LabelRecord.id)
                .order_by(AuditEntryRecord.seq)
                .offset(mark)
            ).all()
            for row in rows:
                session.expunge(row[0])
            return [(row[0], row[1]) for row in rows]

    def proposal(self, label: str = "SECRET", kind: str = "report") -> int:
        """A fresh proposal by `analyst`, awaiting a decision."""
        created = self.platform.proposals.create(
            self.principal("analyst"),
            kind=kind,
            title="Point de situation",
            content={"blocks": [{"kind": "paragraph", "text": "Convoi arrivé.", "marking": "DR"}]},
            label=self.platform.policies.parse(label),
        )
        return created.id

    def approved(self, label: str = "SECRET") -> int:
        """A proposal approved by `approver` and `approver2` (SECRET and above need two)."""
        pid = self.proposal(label)
        for approver in ("approver", "approver2"):
            self.platform.proposals.approve(self.principal(approver), pid, rationale="vu")
        return pid

    def document(self, label: str = "SECRET", collection: str = "cpcoonly") -> int:
        """A fresh document marked `label`, ingested by `admin` (each call a new file)."""
        self.created += 1
        text = f"{label}\n\nNote {self.created} : le dépôt de Marsk est plein.\n\n{label}\n"
        return self.platform.knowledge.ingest(
            self.principal("admin"), collection, f"note-{self.created}.txt", text.encode()
        )[0].document_id

    def watchlist(self, label: str = "NON PROTÉGÉ") -> int:
        """A fresh watchlist by `analyst` (each call its own name and term)."""
        self.streamed += 1
        return self.platform.streams.add_watchlist(
            self.principal("analyst"),
            f"veille-{self.streamed}",
            [f"TERME-{self.streamed}"],
            label=self.platform.policies.parse(label),
        ).id

    def plan(self, label: str = "SECRET") -> int:
        """A fresh routing plan by `analyst` (organisation CPCO) at `label`."""
        return self.platform.planning.solve(
            self.principal("analyst"),
            PLAN_PROBLEM,
            label=self.platform.policies.parse(label),
            time_limit=5,
            max_iterations=50,
        ).id

    def plan_job(self, label: str = "SECRET") -> str:
        """A planning job started by `analyst` at `label`; its id."""
        from egide.planning.codec import problem_from_dict

        job = self.platform.planning_jobs.start(
            self.principal("analyst"),
            problem_from_dict(PLAN_PROBLEM),
            label=self.platform.policies.parse(label),
            time_limit=0.2,
        )
        # Wait for it: a solve journaling later would land in another test's entries.
        deadline = time.monotonic() + 60
        while job.state in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert job.state == "done", job.as_json()
        return job.id

    def alert(self, label: str = "NON PROTÉGÉ") -> str:
        """A fresh alert: a message labelled `label` matching a fresh watchlist; its message id."""
        self.watchlist()
        message = Message(
            id=f"msg-{self.streamed}",
            channel="logistique",
            text=f"Le convoi TERME-{self.streamed} arrive.",
            label=self.platform.policies.parse(label),
            received=datetime.now(UTC),
            source=f"test:{self.streamed}",
        )
        self.platform.streams.process(message, worker="test")
        return message.id


PLAN_PROBLEM: dict[str, Any] = {
    "dimensions": ["load"],
    "depots": [{"id": "D", "location": {"x": 0, "y": 0}}],
    "demands": [
        {"id": "U1", "location": {"x": 10, "y": 0}, "quantities": {"load": 30}},
        {"id": "U2", "location": {"x": 0, "y": 10}, "quantities": {"load": 30}},
    ],
    "vehicles": [{"id": "V", "start_depot": "D", "capacity": {"load": 100}}],
}


def build_world(data_dir: Path, database_url: str, **settings: Any) -> World:
    """Initialise the installation: organisations, callers and keys, models, collections."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "embeddings": False,
        "deployments": echo_deployments(),
        # Every case signs in wrongly from the same test address on purpose: what is
        # proven here is each route's refusal and its entry, not the sign-in throttle
        # nor the quotas (tests/api/test_rate_limits.py proves those).
        "auth_throttle_failures": 0,
        # The world's administrator ingests a fresh document for many cases.
        "rate_user_ingest_mb_per_minute": 0,
        **settings,
    }
    platform = Platform(Settings(**values))
    platform.initialise()
    identity, policies = platform.identity, platform.policies
    world = World(platform)
    for org in ("CPCO", "DRM"):
        identity.add_organisation("test", org)
    for name, (org, clearance, roles, scopes) in CALLERS.items():
        identity.add_user(
            "test",
            name,
            clearance=policies.parse_clearance(clearance),
            roles=roles,
            organisation=org,
        )
        _, world.tokens[name] = identity.create_key("test", name, scopes=scopes)
    for name, (label, accreditation, _) in ECHO_MODELS.items():
        platform.models.import_model(
            "test",
            write_gguf(data_dir.parent / "medium" / f"{name}.gguf"),
            name=name,
            label=label,
            accreditation=accreditation,
        )
    admin = identity.principal("admin")
    knowledge = platform.knowledge
    knowledge.create_collection(admin, "cpcoonly", organisations=["CPCO"])
    knowledge.create_collection(admin, "commune")
    world.secret_document = knowledge.ingest(admin, "cpcoonly", "hibou.txt", SECRET_TEXT.encode())[
        0
    ].document_id
    world.open_document = knowledge.ingest(admin, "commune", "clou.txt", OPEN_TEXT.encode())[
        0
    ].document_id
    return world
