"""The per-request policy of model use, shared by every face (API, `egide chat`, workflows).

In order: authenticate, check the caller's role, resolve the working label
(header or the caller's default), check the caller may work at it, pick the
deployment (kill switch, accreditation, routing to an accredited sibling),
check the caller may read the output label, take a rate-limit token, and
finally journal what happened — a refusal included. Everything here is in
memory except the credential lookup and the journal write (grouped with
concurrent requests' in one transaction), so the gateway adds little to a
model's latency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from anyio import to_thread

from egide.audit.trail import ANONYMOUS, REFUSALS, actor_of, refusal_details
from egide.audit.writer import JournalWriter
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label, join
from egide.core.principals import Principal
from egide.errors import AuthenticationFailed, EgideError, InvalidLabel, ModelDisabled, NotFound
from egide.identity.throttle import ThrottleSummary
from egide.serving.deployments import (
    RAG_MODEL_PREFIX,
    Deployment,
    Deployments,
    Kind,
    ModelSource,
)
from egide.serving.metrics import Metrics
from egide.serving.ratelimit import Limiter

if TYPE_CHECKING:
    from egide.app import Platform

_LABEL_CACHE_SIZE = 1024
THROTTLED = "auth.throttled"
"""Journal action summarising the sign-in attempts a throttled client made in one window."""


@dataclass(frozen=True)
class Admission:
    """A request the policy lets through, and what its answer will be labelled."""

    principal: Principal
    working: Label
    deployment: Deployment
    output: Label
    output_marking: str
    priority: int
    requested_model: str


@dataclass(frozen=True)
class Catalogue:
    """What a caller may use at its working label: deployments and askable collections."""

    working: Label
    deployments: list[Deployment]
    collections: list[str]


class Authenticator(Protocol):
    """Turns an `Authorization` header into a principal (`egide.api.auth`)."""

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller, or `AuthenticationFailed`."""
        ...

    def remembered(self, authorization: str | None) -> Principal | None:
        """The caller if its credential was checked moments ago (no I/O), else None."""
        ...

    def proxied(self, value: str, peer: str | None) -> Principal:
        """The user a trusted front end names in its header (`egide.api.proxy`)."""
        ...

    def claimed_key_id(self, authorization: str | None) -> str | None:
        """The API key id the credential claims, unverified (None: not an API key)."""
        ...


class Gateway:
    """Authentication, labels, model choice, quotas and journaling for one app."""

    def __init__(
        self,
        platform: Platform,
        deployments: Deployments,
        authenticator: Authenticator,
        limiter: Limiter,
        metrics: Metrics,
        models: ModelSource | None,
    ) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.policies = platform.policies
        self.deployments = deployments
        self.authenticator = authenticator
        self.limiter = limiter
        self.throttle = platform.sign_in_throttle
        self.metrics = metrics
        self._models = models
        # Request entries are committed in groups by one thread (egide.audit.writer).
        self.journal = JournalWriter(platform.database.transaction, platform.journal)
        self._priority_orgs = frozenset(self.settings.priority_organisations)
        self._lowest = platform.home_label
        # Parsing a marking walks the policy grammar: remember the few a site uses.
        self._parsed: dict[str, Label] = {}
        self._markings: dict[Label, str] = {}

    # labels ------------------------------------------------------------------------

    def parse_label(self, marking: str) -> Label:
        """A header marking as a label, cached."""
        label = self._parsed.get(marking)
        if label is None:
            label = self.policies.parse(marking)
            if len(self._parsed) >= _LABEL_CACHE_SIZE:
                self._parsed.clear()
            self._parsed[marking] = label
        return label

    def marking(self, label: Label) -> str:
        """The canonical marking of a label, cached."""
        text = self._markings.get(label)
        if text is None:
            text = self.policies.canonical(label)
            if len(self._markings) >= _LABEL_CACHE_SIZE:
                self._markings.clear()
            self._markings[label] = text
        return text

    def requested_label(self, principal: Principal, header: str | None) -> Label:
        """The working label asked for (header, else the caller's default, else the home label).

        Not checked here: the service doing the work checks and journals it.

        Raises:
            InvalidLabel: the header is not a marking.
        """
        if header is not None and header.strip():
            try:
                return self.parse_label(header)
            except InvalidLabel as error:
                raise InvalidLabel(f"X-Egide-Label: {error.message}") from None
        return principal.default_label or self._lowest

    def working_label(self, principal: Principal, header: str | None) -> Label:
        """The conversation's working label, which the caller's clearance must cover.

        Raises:
            InvalidLabel: the header is not a marking.
            Forbidden: the clearance does not cover it.
        """
        label = self.requested_label(principal, header)
        access.require(access.can_work_at(principal, label))
        return label

    # models ------------------------------------------------------------------------

    def is_enabled(self, deployment: Deployment) -> bool:
        """The kill switch, read through the registry's sub-second cache."""
        if not deployment.registered or self._models is None:
            return True
        try:
            return self._models.is_enabled(deployment.name)
        except NotFound:
            return False

    def decide(self, principal: Principal, working: Label, deployment: Deployment) -> Deployment:
        """The deployment that will serve the work, or a refusal saying why.

        Raises:
            ModelDisabled: the kill switch is on.
            Forbidden: no deployment of the family is accredited for the working label,
                or the answer's label would be above the caller's clearance.
        """
        enabled = self.is_enabled(deployment)
        if not enabled:
            decision = access.can_use_model(
                principal, working, deployment.accreditation, enabled=False, name=deployment.name
            )
            raise ModelDisabled(decision.reason)
        decision = access.can_use_model(
            principal, working, deployment.accreditation, enabled=True, name=deployment.name
        )
        if not decision.allowed and not deployment.accreditation.dominates(working):
            sibling = self.deployments.accredited_sibling(deployment, working)
            if sibling is not None and self.is_enabled(sibling):
                deployment = sibling
                decision = access.can_use_model(
                    principal, working, sibling.accreditation, enabled=True, name=sibling.name
                )
        access.require(decision)
        access.require(access.can_receive_output(principal, join(working, deployment.label)))
        return deployment

    def admit(
        self, principal: Principal, label_header: str | None, model: str, kind: Kind
    ) -> Admission:
        """Run the whole policy for one model request, then take a rate-limit token."""
        access.require(access.can(principal, Action.MODEL_USE))
        working = self.working_label(principal, label_header)
        deployment = self.decide(principal, working, self.deployments.get(model, kind))
        self.limiter.admit(principal)
        return self._admission(principal, working, deployment, model)

    async def decided(
        self, principal: Principal, working: Label, model: str, action: str
    ) -> Admission:
        """A workflow's admission to a model (`decide`), a refusal journaled as `action`.

        No rate-limit token is taken: the workflow took one when it started.
        """
        try:
            deployment = self.decide(principal, working, self.deployments.get(model))
        except REFUSALS as error:
            await self.refused(principal, action, error, objects=[f"model:{model}"])
            raise
        return self._admission(principal, working, deployment, model)

    def _admission(
        self, principal: Principal, working: Label, deployment: Deployment, model: str
    ) -> Admission:
        output = join(working, deployment.label)
        priority = (
            self.settings.priority_level if principal.organisation in self._priority_orgs else 0
        )
        return Admission(
            principal, working, deployment, output, self.marking(output), priority, model
        )

    async def admitted(
        self, principal: Principal, label_header: str | None, model: str, kind: Kind
    ) -> Admission:
        """`admit`, with a refusal journaled (`inference.chat` or `inference.embed`)."""
        try:
            return self.admit(principal, label_header, model, kind)
        except REFUSALS as error:
            action = "inference.chat" if kind == "chat" else "inference.embed"
            await self.refused(
                principal,
                action,
                error,
                objects=[f"model:{model}"],
                details={"requested_model": model, "working_label": label_header},
            )
            raise

    def usable(self, principal: Principal, working: Label) -> list[Deployment]:
        """The deployments the caller may send work at `working` to, by name."""
        result = []
        for deployment in self.deployments:
            try:
                self.decide(principal, working, deployment)
            except EgideError:
                continue
            result.append(deployment)
        return sorted(result, key=lambda d: d.name)

    async def listing(
        self, principal: Principal, label_header: str | None, *, name: str | None = None
    ) -> Catalogue:
        """The models the caller may use at its working label; journaled (`model.list`).

        Besides the deployments, one `egide-rag:<collection>` model per knowledge
        collection the caller may ask (its organisation may use it, it holds the
        analyst role); nothing names the others. With `name`, only that model: one
        the caller may not use answers `NotFound` exactly as a missing one does, and
        the refusal is journaled naming it.
        """
        objects = [f"model:{name}"] if name is not None else []
        try:
            access.require(access.can(principal, Action.MODEL_USE))
            working = self.working_label(principal, label_header)
            usable = self.usable(principal, working)
            collections = await to_thread.run_sync(
                self.platform.knowledge.askable_collections, principal
            )
            if name is not None:
                usable = [d for d in usable if d.name == name]
                collections = [c for c in collections if RAG_MODEL_PREFIX + c == name]
                if not usable and not collections:
                    raise NotFound(
                        f"the model {name!r} does not exist or you may not use it at your "
                        "working label; list the models you may use with GET /v1/models"
                    )
        except REFUSALS as error:
            await self.refused(
                principal, "model.list", error, objects=objects, details={"label": label_header}
            )
            raise
        await self.journal.append(
            actor=principal.actor,
            action="model.list",
            objects=[f"model:{d.name}" for d in usable]
            + [f"model:{RAG_MODEL_PREFIX}{c}" for c in collections],
            label=self.marking(working),
            details={"working_label": self.marking(working)},
        )
        return Catalogue(working, usable, collections)

    # callers -------------------------------------------------------------------------

    async def principal(
        self,
        authorization: str | None,
        path: str,
        client: str | None = None,
        *,
        proxied: tuple[str, str | None] | None = None,
    ) -> Principal:
        """The authenticated caller; a failed sign-in is journaled (`auth.refused`).

        `client` is the remote address. A client that has failed too often in its
        window is refused with `RateLimited` before its credential is checked, and
        not journaled one attempt at a time: each window that refused attempts is
        journaled once (`auth.throttled`) when it ends (`egide.identity.throttle`).
        A credential checked moments ago (held in memory) is answered without I/O
        whatever the throttle says: it is not a guess.

        With `proxied` (the trusted front end's user header and the peer address),
        the caller is the user it names, believed only from a trusted address.
        """
        await self._journal_throttled(self.throttle.closed())
        key_id = None
        if proxied is None:
            principal = self.authenticator.remembered(authorization)
            if principal is not None:
                return principal
            key_id = self.authenticator.claimed_key_id(authorization)
        self.throttle.check(client, key_id)
        try:
            # The database read (and Argon2 on a key's first use) must not block the loop.
            if proxied is not None:
                return await to_thread.run_sync(self.authenticator.proxied, *proxied)
            return await to_thread.run_sync(self.authenticator.authenticate, authorization)
        except AuthenticationFailed as error:
            self.throttle.failed(client, key_id)
            # The path is the caller's to choose: journaled, but not at any length.
            await self.refused(None, "auth.refused", error, details={"path": path[:256]})
            raise

    async def _journal_throttled(self, summaries: Sequence[ThrottleSummary]) -> None:
        for summary in summaries:
            await self.journal.append(**self._throttled_entry(summary))

    def _throttled_entry(self, summary: ThrottleSummary) -> dict[str, Any]:
        return {
            "actor": ANONYMOUS,
            "action": THROTTLED,
            "objects": [],
            "label": self.marking(self._lowest),
            "details": {
                "client": summary.client,
                "failures": summary.failures,
                "refused": summary.refused,
                "first": summary.first,
                "last": summary.last,
                "window_seconds": self.settings.auth_throttle_window_seconds,
            },
        }

    async def refused(
        self,
        principal: Principal | None,
        action: str,
        error: EgideError,
        *,
        objects: Sequence[str] = (),
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Journal a refusal under the home label (it records a request, not an object)."""
        await self.journal.append(
            actor=actor_of(principal),
            action=action,
            objects=list(objects),
            label=self.marking(self._lowest),
            details=refusal_details(error, details),
        )

    # journal -----------------------------------------------------------------------

    async def record(
        self,
        admission: Admission,
        action: str,
        details: Mapping[str, Any],
    ) -> None:
        """Journal one model request; the entry is labelled with the output label."""
        deployment = admission.deployment
        entry = {
            "model": deployment.name,
            "requested_model": admission.requested_model,
            "model_digest": deployment.digest,
            "organisation": admission.principal.organisation,
            "working_label": self.marking(admission.working),
            "model_label": self.marking(deployment.label),
            "output_label": admission.output_marking,
            **details,
        }
        await self.journal.append(
            actor=admission.principal.actor,
            action=action,
            objects=[f"model:{deployment.name}"],
            label=admission.output_marking,
            details=entry,
        )

    def close(self) -> None:
        """Write the journal entries still queued (and open throttle windows), stop the writer."""
        self.journal.close()
        summaries = self.throttle.drain()
        if summaries:
            with self.platform.database.transaction() as session:
                for summary in summaries:
                    self.platform.journal.append(session, **self._throttled_entry(summary))
