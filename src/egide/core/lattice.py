"""Security labels and clearances: immutable values with dominance and join.

A `Label` is a classification level of one policy, the compartments
(restrictive values) it requires, the releasability (permissive values per
category; absent means releasable to all) and informative handling values.
Labels of different policies are compared and joined through the policies'
equivalences: each is expressed in the policy of highest precedence among
them (NATO over FR in the shipped set), where the translation is exact.

A `Clearance` is what a person holds; `Clearance.permits` is the read rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from egide.core.policy import Level, Policy
from egide.errors import InvalidLabel

Releasability = tuple[tuple[str, frozenset[str]], ...]


@dataclass(frozen=True)
class Decision:
    """The answer to an access question, with a reason a person can act on."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class Label:
    """A security label: level, compartments, releasability, handling.

    Attributes:
        policy: The policy the label is expressed in.
        level: Rank of the classification level in that policy (0 lowest).
        compartments: Restrictive values; a reader must hold them all.
        releasable: Per permissive category (sorted by name), the values a
            reader must hold at least one of; a category absent here places no
            restriction.
        handling: Informative values, carried along and joined, no access effect.
    """

    policy: Policy
    level: int
    compartments: frozenset[str] = frozenset()
    releasable: Releasability = ()
    handling: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        rel = {name: sorted(values) for name, values in self.releasable}
        return (
            f"Label({self.policy.id} {self.level_info.portion} "
            f"compartments={sorted(self.compartments)} releasable={rel} "
            f"handling={sorted(self.handling)})"
        )

    def __post_init__(self) -> None:
        if not 0 <= self.level < len(self.policy.levels):
            raise InvalidLabel(f"level rank {self.level} does not exist in policy {self.policy.id}")
        ordered = tuple(sorted(self.releasable, key=lambda item: item[0]))
        object.__setattr__(self, "releasable", ordered)

    @property
    def level_info(self) -> Level:
        """The `Level` of this label."""
        return self.policy.levels[self.level]

    def releasable_to(self, category: str) -> frozenset[str] | None:
        """Values listed for a permissive category, or None when unrestricted."""
        for name, values in self.releasable:
            if name == category:
                return values
        return None

    def dominates(self, other: Label) -> bool:
        """Whether this label is at least as restrictive as `other` in every respect."""
        target = _common_policy((self, other))
        a, b = self.expressed_in(target), other.expressed_in(target)
        if a.level < b.level or not a.compartments >= b.compartments:
            return False
        if not a.handling >= b.handling:
            return False
        for name in {n for n, _ in a.releasable} | {n for n, _ in b.releasable}:
            mine, theirs = a.releasable_to(name), b.releasable_to(name)
            if mine is None and theirs is not None:
                return False
            if mine is not None and theirs is not None and not mine <= theirs:
                return False
        return True

    def join(self, *others: Label) -> Label:
        """The least label that dominates this one and every other (high-water mark)."""
        return join(self, *others)

    def expressed_in(self, policy: Policy) -> Label:
        """The same protection expressed in `policy`, through the policies' equivalence.

        Raises:
            InvalidLabel: the two policies have no equivalence.
        """
        if policy == self.policy:
            return self
        ranks = self.policy.embeddings.get(policy.id)
        if ranks is None:
            raise InvalidLabel(
                f"no equivalence from policy {self.policy.id} to {policy.id}; "
                "declare one in the policy file"
            )
        return Label(
            policy=policy,
            level=ranks[self.level],
            compartments=self.compartments,
            releasable=self.releasable,
            handling=self.handling,
        )


def _common_policy(labels: Iterable[Label]) -> Policy:
    return max((label.policy for label in labels), key=lambda p: (p.precedence, p.identifier))


def join(*labels: Label) -> Label:
    """High-water mark: highest level, union of compartments, intersection of each REL TO.

    Raises:
        InvalidLabel: no label given, or policies without an equivalence.
    """
    if not labels:
        raise InvalidLabel("join needs at least one label")
    target = _common_policy(labels)
    expressed = [label.expressed_in(target) for label in labels]
    releasable: dict[str, frozenset[str]] = {}
    for label in expressed:
        for name, values in label.releasable:
            releasable[name] = releasable[name] & values if name in releasable else values
    return Label(
        policy=target,
        level=max(label.level for label in expressed),
        compartments=frozenset().union(*(label.compartments for label in expressed)),
        releasable=tuple(releasable.items()),
        handling=frozenset().union(*(label.handling for label in expressed)),
    )


@dataclass(frozen=True)
class Clearance:
    """What a principal holds: a level, compartments briefed, nationality and groups.

    Attributes:
        policy: The policy the clearance is granted under.
        level: Highest level (rank) the holder may read.
        compartments: Restrictive values the holder is briefed into.
        nationality: Permissive values the holder counts as (e.g. FRA, NATO).
    """

    policy: Policy
    level: int
    compartments: frozenset[str] = frozenset()
    nationality: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not 0 <= self.level < len(self.policy.levels):
            raise InvalidLabel(f"level rank {self.level} does not exist in policy {self.policy.id}")

    def permits(self, label: Label) -> Decision:
        """Whether the holder may read an object with `label`.

        The reason never names the object's compartments or level, so a refusal
        leaks nothing the reader may not know.
        """
        mine = self.as_label()
        target = _common_policy((mine, label))
        level = mine.expressed_in(target).level
        theirs = label.expressed_in(target)
        if level < theirs.level:
            return Decision(False, "your clearance level is below the object's level (no read up)")
        if not theirs.compartments <= self.compartments:
            return Decision(False, "you are not briefed into every compartment of the object")
        for _name, values in theirs.releasable:
            if not values & self.nationality:
                return Decision(False, "the object is not releasable to your nationality")
        return Decision(True, "allowed")

    def as_label(self) -> Label:
        """The highest label this clearance may hold: its level and compartments."""
        return Label(policy=self.policy, level=self.level, compartments=self.compartments)
