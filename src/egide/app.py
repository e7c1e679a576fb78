"""The composition root: every service built from one `Settings` by plain constructors.

No engine, model or connection is created at import time; tests build their
own `Platform` with their own settings and data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from egide.audit import Journal, SigningKey
from egide.audit.trail import Trail
from egide.core.labels import Label, PolicyRegistry
from egide.errors import ConfigurationError
from egide.identity.service import IdentityService
from egide.knowledge.embedder import embedder_factory
from egide.knowledge.service import KnowledgeService
from egide.modelhub import ModelRegistry
from egide.serving.ratelimit import RateLimiter
from egide.settings import Settings, home_label
from egide.store import Database
from egide.workflows.proposals import ProposalService
from egide.workflows.synthesis import SynthesisService


def load_policies(settings: Settings) -> PolicyRegistry:
    """The built-in FR and NATO policies plus the operator's policy files."""
    if not settings.policy_files:
        return PolicyRegistry.builtin()
    return PolicyRegistry.builtin(extra_files=settings.policy_files)


@dataclass
class Platform:
    """The services of one Égide installation, built lazily from its settings."""

    settings: Settings

    @cached_property
    def policies(self) -> PolicyRegistry:
        return load_policies(self.settings)

    @cached_property
    def home_label(self) -> Label:
        """The lowest label of the configured home policy (see `egide.settings.home_label`)."""
        return home_label(self.policies, self.settings.home_policy)

    @cached_property
    def limiter(self) -> RateLimiter:
        """Request and token quotas of this process, shared by every face and service."""
        return RateLimiter(self.settings)

    @cached_property
    def trail(self) -> Trail:
        """Journals refusals and served reads for the services."""
        return Trail(self.database, self.journal, self.policies.canonical(self.home_label))

    @cached_property
    def database(self) -> Database:
        return Database(
            self.settings.resolved_database_url,
            sqlite_synchronous=self.settings.sqlite_synchronous,
        )

    @cached_property
    def signing_key(self) -> SigningKey:
        return SigningKey.load(self.settings.signing_key_path)

    @cached_property
    def journal(self) -> Journal:
        return Journal(self.signing_key, checkpoint_every=self.settings.audit_checkpoint_every)

    @cached_property
    def identity(self) -> IdentityService:
        return IdentityService(self.database, self.journal, self.policies, home=self.home_label)

    @cached_property
    def models(self) -> ModelRegistry:
        return ModelRegistry(
            self.database,
            self.journal,
            self.policies,
            data_dir=self.settings.data_dir,
            trusted_keys=self.settings.model_trusted_keys,
            require_signed=self.settings.require_signed_models,
        )

    @cached_property
    def knowledge(self) -> KnowledgeService:
        return KnowledgeService(
            self.database,
            self.journal,
            self.policies,
            embedder_factory(self.settings.embedder),
            max_bytes=self.settings.max_document_bytes,
            home=self.home_label,
            trail=self.trail,
            admit=self.limiter.admit,
        )

    @cached_property
    def proposals(self) -> ProposalService:
        return ProposalService(
            self.database,
            self.journal,
            self.policies,
            two_person_kinds=self.settings.two_person_kinds,
            home=self.home_label,
            trail=self.trail,
            admit=self.limiter.admit,
        )

    @cached_property
    def synthesis(self) -> SynthesisService:
        return SynthesisService(
            self.database,
            self.journal,
            self.policies,
            self.knowledge,
            self.proposals,
            trail=self.trail,
            admit=self.limiter.admit,
        )

    def check_initialised(self) -> None:
        """Refuse to run on a data directory `egide init` has not prepared."""
        if not self.settings.signing_key_path.exists():
            raise ConfigurationError(
                f"{self.settings.data_dir} is not an initialised Égide data directory; "
                "run `egide init` (or set EGIDE_DATA_DIR to the right directory)"
            )

    def initialise(self) -> None:
        """Create the data directory, signing key and schema; idempotent."""
        data_dir = self.settings.data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            probe = data_dir / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as error:
            raise ConfigurationError(
                f"cannot write to the data directory {data_dir} ({error.strerror}); "
                "choose a writable EGIDE_DATA_DIR or fix its permissions"
            ) from None
        if not os.access(data_dir, os.W_OK):
            raise ConfigurationError(f"the data directory {data_dir} is read-only")
        self.database.migrate()
        SigningKey.load_or_create(self.settings.signing_key_path)

    def close(self) -> None:
        """Release connections."""
        if "database" in self.__dict__:
            self.database.dispose()
