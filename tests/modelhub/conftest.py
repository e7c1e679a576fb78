"""Model registry fixtures: tiny valid weight files, a publisher key, a registry per database."""

from __future__ import annotations

from pathlib import Path

import pytest

from egide.audit import Journal, SigningKey
from egide.core.labels import PolicyRegistry
from egide.modelhub import ModelRegistry
from egide.store import Database
from tests.modelhub.weights import Publisher, make_publisher


@pytest.fixture(scope="session")
def policies() -> PolicyRegistry:
    """The built-in FR and NATO policies."""
    return PolicyRegistry.builtin()


@pytest.fixture
def journal() -> Journal:
    """A journal with a throwaway checkpoint key."""
    return Journal(SigningKey.generate(), checkpoint_every=1000)


@pytest.fixture
def publisher(tmp_path: Path) -> Publisher:
    """The trusted publisher."""
    return make_publisher(tmp_path / "publisher", "dga-model-cell")


@pytest.fixture
def medium(tmp_path: Path) -> Path:
    """An empty directory standing for the removable medium."""
    path = tmp_path / "medium"
    path.mkdir()
    return path


def build_registry(
    database: Database,
    journal: Journal,
    policies: PolicyRegistry,
    data_dir: Path,
    publisher: Publisher,
    *,
    require_signed: bool = False,
) -> ModelRegistry:
    """A registry trusting ``publisher``."""
    return ModelRegistry(
        database,
        journal,
        policies,
        data_dir=data_dir,
        trusted_keys=[publisher.trusted],
        require_signed=require_signed,
    )


@pytest.fixture
def registry(
    database: Database,
    journal: Journal,
    policies: PolicyRegistry,
    data_dir: Path,
    publisher: Publisher,
) -> ModelRegistry:
    """A registry on each database, trusting ``publisher``, signatures optional."""
    return build_registry(database, journal, policies, data_dir, publisher)
