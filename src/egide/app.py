"""The composition root: every service built from one `Settings` by plain constructors.

No engine, model or connection is created at import time; tests build their
own `Platform` with their own settings and data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from egide.audit import Journal, SigningKey
from egide.core.labels import PolicyRegistry
from egide.errors import ConfigurationError
from egide.identity.service import IdentityService
from egide.knowledge.embedder import embedder_factory
from egide.knowledge.service import KnowledgeService
from egide.modelhub import ModelRegistry
from egide.settings import Settings
from egide.store import Database
from egide.workflows.approvals import ApprovalRules
from egide.workflows.proposals import ProposalService


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
        return IdentityService(self.database, self.journal, self.policies)

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
        )

    @cached_property
    def proposals(self) -> ProposalService:
        settings = self.settings
        rules = ApprovalRules(
            self.policies,
            raised=settings.proposal_approvals,
            two_person_kinds=settings.two_person_kinds,
        )
        return ProposalService(
            self.database,
            self.journal,
            self.policies,
            rules=rules,
            max_content_bytes=settings.proposal_max_content_bytes,
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
