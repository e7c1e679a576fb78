"""A real `egide serve` over a seeded installation, a test OIDC provider, and headless Chromium.

The world (users of several clearances, nationalities and organisations;
documents at several labels) is built once per session through the services,
then served by a real `egide serve` subprocess whose console the browser
drives. Chromium is Debian's (`/usr/bin/chromium`), driven by Playwright's
Python package: no browser is ever downloaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from egide.store import AuditEntryRecord, Database
from tests.api.conftest import ECHO_MODELS, echo_deployments, write_gguf
from tests.api.server import Server
from tests.console.provider import Provider, RunningProvider

CHROMIUM = Path("/usr/bin/chromium")
# username -> (organisation, clearance, roles)
USERS: dict[str, tuple[str, str, list[Role]]] = {
    "analyste": ("CPCO", "SECRET", [Role.ANALYST]),
    "chef": ("CPCO", "TRÈS SECRET", [Role.ANALYST, Role.CLASSIFIER]),
    "allie": ("OTAN-DEU", "NATO SECRET NAT DEU", [Role.ANALYST]),
    "auditeur": ("CPCO", "SECRET", [Role.AUDITOR]),
    "oidcuser": ("CPCO", "DIFFUSION RESTREINTE", [Role.ANALYST]),
}
# file name -> text (its banner markings decide its label)
DOCUMENTS = {
    "depot-np.txt": "NON PROTÉGÉ\n\nLe dépôt de Marsk ouvre à huit heures.\n\nNON PROTÉGÉ\n",
    "relève-dr.txt": "DIFFUSION RESTREINTE\n\nLa relève arrive lundi.\n\nDIFFUSION RESTREINTE\n",
    "hibou-s.txt": (
        "SECRET\n\n(NP) Le dépôt de Marsk ouvre à huit heures.\n\n"
        "(S) Le convoi HIBOU part de nuit vers Varnie-Est.\n\nSECRET\n"
    ),
    "otan-ns.txt": (
        "NATO SECRET REL TO DEU, FRA\n\nExercice ALLIED LYNX : point de ravitaillement à Kessel."
        "\n\nNATO SECRET REL TO DEU, FRA\n"
    ),
    "aigle-ts.txt": "TRÈS SECRET\n\nOpération AIGLE : poste de commandement.\n\nTRÈS SECRET\n",
}


@dataclass
class ConsoleWorld:
    """The served installation: its address, keys, document ids, provider, artefacts."""

    server: Server
    data_dir: Path
    provider: Provider
    keys: dict[str, str] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    artefacts: Path = Path()

    @property
    def url(self) -> str:
        return self.server.url

    def journal(self, action: str) -> list[AuditEntryRecord]:
        """Entries of `action`, oldest first (read from the served database)."""
        database = Database(f"sqlite:///{self.data_dir / 'egide.db'}")
        try:
            with database.transaction() as session:
                rows = list(
                    session.scalars(
                        select(AuditEntryRecord)
                        .where(AuditEntryRecord.action == action)
                        .order_by(AuditEntryRecord.seq)
                    )
                )
                for row in rows:
                    session.expunge(row)
                return rows
        finally:
            database.dispose()


def artefacts_dir() -> Path:
    """Where screenshots go: $EGIDE_TEST_ARTEFACTS, else tests/.artefacts (git-ignored)."""
    root = os.environ.get("EGIDE_TEST_ARTEFACTS")
    folder = (Path(root) if root else Path(__file__).parent.parent / ".artefacts") / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def seed(data_dir: Path, world: ConsoleWorld) -> None:
    """Users, keys, collections and documents, through the services."""
    platform = Platform(Settings(data_dir=data_dir, embeddings=False))
    platform.initialise()
    identity, policies = platform.identity, platform.policies
    try:
        for org in sorted({org for org, _, _ in USERS.values()}):
            identity.add_organisation("test", org)
        identity.add_user(
            "test",
            "admin",
            clearance=policies.parse_clearance("TRÈS SECRET"),
            roles=list(Role),
            organisation="CPCO",
        )
        for name, (org, clearance, roles) in USERS.items():
            identity.add_user(
                "test",
                name,
                clearance=policies.parse_clearance(clearance),
                roles=roles,
                organisation=org,
            )
            _, world.keys[name] = identity.create_key("test", name)
        for name, (label, accreditation, _) in ECHO_MODELS.items():
            platform.models.import_model(
                "test",
                write_gguf(data_dir.parent / "medium" / f"{name}.gguf"),
                name=name,
                label=label,
                accreditation=accreditation,
            )
        admin = identity.principal("admin")
        platform.knowledge.create_collection(admin, "commune", description="Tous services")
        for filename, text in DOCUMENTS.items():
            done = platform.knowledge.ingest(admin, "commune", filename, text.encode())
            world.documents[filename] = done[0].document_id
    finally:
        platform.close()


def server_env(data_dir: Path, provider: Provider, **extra: str) -> dict[str, str]:
    """The environment of the served console: plain http on loopback, the test provider."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGIDE_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")])),
            "EGIDE_DATA_DIR": str(data_dir),
            "EGIDE_EMBEDDINGS": "false",
            "EGIDE_CONSOLE_SECURE_COOKIES": "false",
            "EGIDE_OIDC_ISSUER": provider.issuer,
            "EGIDE_OIDC_AUDIENCE": provider.client_id,
            "EGIDE_OIDC_JWKS": f"{provider.issuer}/jwks",
            # Echo models: the server is ready without loading a real model.
            "EGIDE_DEPLOYMENTS": json.dumps(echo_deployments()),
            **extra,
        }
    )
    return env


@pytest.fixture(scope="package")
def console_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    """The seeded installation served by `egide serve`, with its OIDC provider running."""
    workdir = tmp_path_factory.mktemp("console")
    data_dir = workdir / "data"
    provider = Provider()
    running = RunningProvider(provider)
    world = ConsoleWorld(server=None, data_dir=data_dir, provider=provider)  # type: ignore[arg-type]
    world.artefacts = artefacts_dir()
    try:
        seed(data_dir, world)
        world.server = Server(server_env(data_dir, provider), workdir, offline=False)
    except BaseException:
        running.stop()
        raise
    yield world
    world.server.stop()
    running.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (no browser download, ever).

    Package scope, not session: Playwright's synchronous API keeps an event loop
    running in the main thread while it is open, and every later test calling
    `asyncio.run()` would then fail ("cannot be called from a running event loop").
    """
    if not CHROMIUM.exists():
        pytest.fail(
            "/usr/bin/chromium is missing: install Debian's chromium package "
            "(scripts/install does it as root); never run `playwright install`"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, console_world: ConsoleWorld) -> Iterator[Any]:
    """A fresh browser context (no cookies) in French, opened on the console."""
    context = browser.new_context(
        base_url=console_world.url, locale="fr-FR", viewport={"width": 1366, "height": 800}
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def sign_in(page: Any, world: ConsoleWorld, user: str) -> None:
    """Sign in through the API key form."""
    page.goto("/signin")
    page.fill("#key", world.keys[user])
    page.click("form[action='/signin/key'] button[type=submit]")
    page.wait_for_url(f"{world.url}/")


def shoot(page: Any, world: ConsoleWorld, name: str) -> Path:
    """A full-page screenshot saved as a test artefact; its path is printed."""
    path = world.artefacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
