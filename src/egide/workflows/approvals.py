"""How many people must approve a proposal: a closed set of kinds, a table, a label floor.

The number of approvals is decided here, on the server, from two things the
author cannot spell their way around:

- the proposal's **kind**, one of a closed set (`ProposalKind`); an unknown
  kind is refused, and spellings of a known kind (`Course-of-Action`,
  `course_of_action`, `course of action`) all mean that kind;
- the proposal's **label**: anything at SECRET or above (FR SECRET, NATO
  SECRET, or a label of another policy that dominates them) needs two
  approvers, whatever its kind.

An installation may raise the number for a kind (`EGIDE_PROPOSAL_APPROVALS`),
never lower it below the table.

Who may approve: not an author of the version — whoever asked for the
proposal or amended it — and an approval counts only for the version it
approved (`author_ids`, `current_approvals`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from egide.core.labels import Label, PolicyRegistry
from egide.errors import ConfigurationError, InvalidInput, InvalidLabel
from egide.store import utcnow
from egide.workflows.records import ProposalEventRecord, ProposalRecord


class ProposalKind(StrEnum):
    """What a proposal is for; the closed set of kinds Égide accepts."""

    REPORT = "report"
    INTELLIGENCE_REPORT = "intelligence-report"
    DISSEMINATION = "dissemination"
    MAINTENANCE_PLAN = "maintenance-plan"
    LOGISTICS_PLAN = "logistics-plan"
    COURSE_OF_ACTION = "course-of-action"


# Kinds that commit forces or resources, or send information out of the
# enclave, need two people; the others one (then the label floor applies).
REQUIRED_APPROVALS: Mapping[ProposalKind, int] = MappingProxyType(
    {
        ProposalKind.REPORT: 1,
        ProposalKind.INTELLIGENCE_REPORT: 1,
        ProposalKind.MAINTENANCE_PLAN: 1,
        ProposalKind.DISSEMINATION: 2,
        ProposalKind.LOGISTICS_PLAN: 2,
        ProposalKind.COURSE_OF_ACTION: 2,
    }
)
SENSITIVE_APPROVALS = 2
"""Approvals every proposal labelled SECRET or above needs, whatever its kind."""
MAX_APPROVALS = 5
"""The most approvals a setting may ask for (more could never be gathered in practice)."""

# Markings of the level from which the label floor applies, per built-in policy.
_SENSITIVE_FROM = ("NATO SECRET", "SECRET")


def accepted_kinds() -> str:
    """The accepted kinds, for messages and documentation."""
    return ", ".join(kind.value for kind in ProposalKind)


def parse_kind(text: str) -> ProposalKind:
    """The kind `text` names, whatever its case and separators.

    Raises:
        InvalidInput: not one of the accepted kinds (the message lists them).
    """
    spelled = re.sub(r"[\s_\-]+", "-", text.strip().lower()).strip("-")
    try:
        return ProposalKind(spelled)
    except ValueError:
        raise InvalidInput(
            f"unknown proposal kind {text!r}; accepted kinds: {accepted_kinds()}"
        ) from None


class ApprovalRules:
    """The approvals table of one installation: the built-in one, raised by its settings."""

    def __init__(
        self,
        policies: PolicyRegistry,
        *,
        raised: Mapping[str, int] | None = None,
        two_person_kinds: Iterable[str] = (),
    ) -> None:
        """Build the table.

        Args:
            policies: The loaded policies (to place SECRET in each).
            raised: Kind -> approvals, from `EGIDE_PROPOSAL_APPROVALS`.
            two_person_kinds: Kinds raised to two (`EGIDE_TWO_PERSON_KINDS`, kept for
                installations configured before the table existed).

        Raises:
            ConfigurationError: an unknown kind, or a number below the table or out of range.
        """
        table = dict(REQUIRED_APPROVALS)
        wanted = {**{k: SENSITIVE_APPROVALS for k in two_person_kinds}, **(raised or {})}
        for name, count in wanted.items():
            try:
                kind = parse_kind(name)
            except InvalidInput as error:
                raise ConfigurationError(
                    f"EGIDE_PROPOSAL_APPROVALS names {error.message}; fix the setting"
                ) from None
            if not isinstance(count, int) or not table[kind] <= count <= MAX_APPROVALS:
                raise ConfigurationError(
                    f"EGIDE_PROPOSAL_APPROVALS asks {count!r} approvals for {kind.value}; "
                    f"settings may only raise the built-in {table[kind]}, up to {MAX_APPROVALS}"
                )
            table[kind] = max(table[kind], count)
        self._table: Mapping[ProposalKind, int] = MappingProxyType(table)
        self._thresholds = [policies.parse(m) for m in _SENSITIVE_FROM if _parses(policies, m)]

    @property
    def table(self) -> Mapping[ProposalKind, int]:
        """Approvals per kind in this installation (before the label floor)."""
        return self._table

    def required(self, kind: ProposalKind | None, label: Label) -> int:
        """Approvals a proposal of `kind` at `label` needs; None (a kind of an older
        version, no longer accepted) is held to the strictest kind."""
        count = self._table[kind] if kind is not None else max(self._table.values())
        if self.sensitive(label):
            count = max(count, SENSITIVE_APPROVALS)
        return count

    def sensitive(self, label: Label) -> bool:
        """Whether `label` is at SECRET or above in some policy it can be compared with.

        A label of a policy that cannot be compared with any SECRET is held to be
        sensitive: the rule fails closed.
        """
        compared = False
        for threshold in self._thresholds:
            bare = Label(policy=threshold.policy, level=threshold.level)
            try:
                if label.dominates(bare):
                    return True
            except InvalidLabel:
                continue
            compared = True
        return not compared


def check_expiry(expires_at: datetime | None) -> None:
    """Refuse an approval expiry without a time zone, or not in the future.

    Raises:
        InvalidInput: saying to add a zone, or to give a later time.
    """
    if expires_at is None:
        return
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise InvalidInput(
            f"the expiry {expires_at.isoformat()} has no time zone; add one, "
            "e.g. 2030-01-31T18:00:00Z or 2030-01-31T19:00:00+01:00"
        )
    if expires_at <= utcnow():
        raise InvalidInput("an approval's expiry must be in the future")


def known_kind(kind: str) -> ProposalKind | None:
    """The kind a stored proposal names, or None for one no longer accepted."""
    try:
        return ProposalKind(kind)
    except ValueError:
        return None


def since_last_amendment(events: Sequence[ProposalEventRecord]) -> list[ProposalEventRecord]:
    """Events of the current version: those after the last amendment."""
    last = max((i for i, e in enumerate(events) if e.action == "amend"), default=-1)
    return list(events[last + 1 :])


def current_approvals(
    record: ProposalRecord, events: Sequence[ProposalEventRecord]
) -> list[ProposalEventRecord]:
    """Approvals of the current version: after the last amendment, of this very content."""
    return [
        e
        for e in since_last_amendment(events)
        if e.action == "approve" and e.content_hash == record.content_hash
    ]


def author_ids(record: ProposalRecord, events: Sequence[ProposalEventRecord]) -> set[int]:
    """Who wrote the current version: its requester and everyone who amended it.

    Each amendment builds on the text before it, so an amender stays an author
    of every later version too.
    """
    return {record.author_id, *(e.actor_id for e in events if e.action == "amend")}


def _parses(policies: PolicyRegistry, marking: str) -> bool:
    try:
        policies.parse(marking)
    except InvalidLabel:
        return False
    return True


__all__ = [
    "MAX_APPROVALS",
    "REQUIRED_APPROVALS",
    "SENSITIVE_APPROVALS",
    "ApprovalRules",
    "ProposalKind",
    "accepted_kinds",
    "author_ids",
    "check_expiry",
    "current_approvals",
    "known_kind",
    "parse_kind",
    "since_last_amendment",
]
