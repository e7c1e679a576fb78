"""The composition root: every service built from one `Settings` by plain constructors.

No engine, model or connection is created at import time; tests build their
own `Platform` with their own settings and data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from egide.audit import Journal, SigningKey
from egide.audit.service import AuditService
from egide.audit.trail import Trail
from egide.audit.witness import AllWitnesses, FileWitness, Witness
from egide.core.labels import Label, PolicyRegistry
from egide.datadir import check_private, make_private
from egide.errors import ConfigurationError
from egide.forecasting.service import MaintenanceService
from egide.identity.admin import Administration
from egide.identity.service import IdentityService
from egide.identity.sessions import SessionService
from egide.identity.throttle import SignInThrottle
from egide.knowledge.conversations import ConversationService
from egide.knowledge.embedder import embedder_factory
from egide.knowledge.extract import ExpansionLimits
from egide.knowledge.service import KnowledgeService
from egide.modelhub import ModelRegistry
from egide.serving.ratelimit import Limiter, RateLimiter
from egide.settings import Settings, home_label
from egide.store import Database
from egide.streams.service import StreamService
from egide.workflows.approvals import ApprovalRules
from egide.workflows.proposals import ProposalService
from egide.workflows.synthesis import SynthesisService


def load_policies(settings: Settings) -> PolicyRegistry:
    """The built-in FR and NATO policies plus the operator's policy files."""
    if not settings.policy_files:
        return PolicyRegistry.builtin()
    return PolicyRegistry.builtin(extra_files=settings.policy_files)


def build_witness(settings: Settings) -> Witness:
    """The witness file, plus the NATS and syslog witnesses the settings name."""
    witnesses: list[Witness] = [FileWitness(settings.witness_path)]
    if settings.audit_witness_nats_url:
        from egide.audit.remote_witness import NatsWitness  # the NATS client only when used

        witnesses.append(
            NatsWitness(
                settings.audit_witness_nats_url,
                settings.audit_witness_nats_subject,
                settings.audit_witness_nats_stream,
            )
        )
    if settings.audit_witness_syslog:
        from egide.audit.remote_witness import SyslogWitness

        witnesses.append(SyslogWitness(settings.audit_witness_syslog))
    return witnesses[0] if len(witnesses) == 1 else AllWitnesses(witnesses)


if TYPE_CHECKING:
    from egide.planning.jobs import PlanningJobs
    from egide.planning.service import PlanningService


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
    def limiter(self) -> Limiter:
        """Request, token and ingestion quotas of this process, shared by every face and service.

        In memory; a limiter keeping its buckets in a store the processes share would
        be built here instead, behind the same `Limiter` interface.
        """
        return RateLimiter(self.settings)

    @cached_property
    def sign_in_throttle(self) -> SignInThrottle:
        """Failed sign-ins per client of this process, shared by every app built on it."""
        settings = self.settings
        return SignInThrottle(
            failures=settings.auth_throttle_failures,
            window=settings.auth_throttle_window_seconds,
            max_clients=settings.auth_throttle_max_clients,
        )

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
        journal = Journal(
            self.signing_key,
            checkpoint_every=self.settings.audit_checkpoint_every,
            witness=build_witness(self.settings),
        )
        journal.start_sealing(self.database.transaction, self.settings.audit_seal_interval)
        return journal

    @cached_property
    def audit(self) -> AuditService:
        home = Label(policy=self.policies.get(self.settings.home_policy), level=0)
        return AuditService(
            self.database, self.journal, self.policies, home, admit=self.limiter.admit
        )

    @cached_property
    def identity(self) -> IdentityService:
        return IdentityService(self.database, self.journal, self.policies, home=self.home_label)

    @cached_property
    def administration(self) -> Administration:
        """Administration by a signed-in person (the console): role, clearance cap, lockout."""
        return Administration(
            self.identity,
            self.models,
            self.limiter,
            self.database,
            self.policies,
            self.trail,
            key_ttl_days=self.settings.api_key_ttl_days,
        )

    @cached_property
    def sessions(self) -> SessionService:
        """Console sessions: opened at sign-in, re-checked on every request."""
        return SessionService(
            self.database,
            self.journal,
            self.policies,
            self.identity,
            idle=timedelta(minutes=self.settings.console_idle_minutes),
            absolute=timedelta(hours=self.settings.console_session_hours),
            throttle=self.sign_in_throttle,
        )

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
            limits=ExpansionLimits(
                max_bytes=self.settings.max_document_bytes,
                max_expanded_bytes=self.settings.max_expanded_bytes,
                max_ratio=self.settings.max_compression_ratio,
                max_members=self.settings.max_archive_members,
                max_depth=self.settings.max_attachment_depth,
            ),
            home=self.home_label,
            trail=self.trail,
            admit=self.limiter.admit,
        )

    @cached_property
    def conversations(self) -> ConversationService:
        """Per-user labelled conversations with the knowledge base (the console's Ask page)."""
        return ConversationService(
            self.database, self.journal, self.policies, self.knowledge, trail=self.trail
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

    @cached_property
    def streams(self) -> StreamService:
        """Stream analysis: results, quarantine, watchlists and alerts (workers and readers)."""
        return StreamService(
            self.database,
            self.journal,
            self.policies,
            home=self.home_label,
            trail=self.trail,
            # The knowledge base's embedder, loaded once per process (one embedding stack).
            embedder=lambda: self.knowledge.embedder.inner,
        )

    @cached_property
    def planning(self) -> PlanningService:
        """Routing plans: solved, validated, stored at a label, proposed for a decision."""
        from egide.planning.service import PlanningService

        return PlanningService(
            self.database,
            self.journal,
            self.policies,
            self.proposals,
            home=self.home_label,
            trail=self.trail,
            max_time_limit=self.settings.planning_max_time_limit,
        )

    @cached_property
    def planning_jobs(self) -> PlanningJobs:
        """Solves of the API, in a bounded pool of threads of this process."""
        from egide.planning.jobs import PlanningJobs

        return PlanningJobs(
            self.planning,
            workers=self.settings.planning_workers,
            max_jobs=self.settings.planning_max_jobs,
        )

    @cached_property
    def maintenance(self) -> MaintenanceService:
        """Maintenance forecasting: labelled RUL models and workshop plans as proposals."""
        return MaintenanceService(
            self.database,
            self.journal,
            self.policies,
            self.proposals,
            trail=self.trail,
            models_dir=self.settings.data_dir / "maintenance" / "models",
        )

    def check_initialised(self) -> None:
        """Refuse to run on a data directory `egide init` has not prepared."""
        if not self.settings.signing_key_path.exists():
            raise ConfigurationError(
                f"{self.settings.data_dir} is not an initialised Égide data directory; "
                "run `egide init` (or set EGIDE_DATA_DIR to the right directory)"
            )
        check_private(self.settings)

    def initialise(self) -> None:
        """Create the data directory, signing key and schema; idempotent."""
        data_dir = self.settings.data_dir
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
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
        make_private(self.settings)
        self.database.migrate()
        SigningKey.load_or_create(self.settings.signing_key_path)
        make_private(self.settings)  # the -wal and -shm files the migration created

    def close(self) -> None:
        """Seal the journal's head, write pending seals to the witness, release connections."""
        if "planning_jobs" in self.__dict__:
            self.planning_jobs.close()
        if "journal" in self.__dict__:
            self.journal.close()
        if "database" in self.__dict__:
            self.database.dispose()
