"""Security labels and clearances: immutable values with dominance and join.

A `Label` is a classification level of one policy, the compartments
(restrictive values) it requires, the releasability (permissive values per
category; absent means releasable to all) and informative handling values.
Labels of different policies are compared and joined through the policies'
equivalences: each is expressed in the policy of highest precedence among
them (NATO over FR in the shipped set), where the translation is exact.

**Originator control is part of the value.** A label of a national policy
(FR) is normalised when it is built: its release list always holds the
originator's nationals, and at a national level (DIFFUSION RESTREINTE and
above) a label without REL TO is releasable to those nationals only. So FR
`SECRET` and `SECRET SPÉCIAL FRANCE` are one value, FR `SECRET REL TO DEU` is
`SECRET REL TO DEU, FRA`, and expressing FR `SECRET` in NATO gives `NATO
SECRET REL TO FRA`: the equivalence table maps protection levels, the release
list travels unchanged. Putting the rule in the value rather than in the read
check means that equality, dominance, join, storage (one canonical string per
value) and every translation agree on it without a second copy of the rule.

Compartments and handling values travel across policies through the
policies' correspondence tables; a value without counterpart is kept
qualified by its policy (`FR:NUCLÉAIRE` in a NATO label), so that no
protection is dropped and the result still reads back.

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

    Building a label of a national policy applies originator control (see the
    module docstring), so two labels with the same access semantics are equal.

    Attributes:
        policy: The policy the label is expressed in.
        level: Rank of the classification level in that policy (0 lowest).
        compartments: Restrictive values; a reader must hold them all. A value
            of another policy without counterpart here reads `POLICY:VALUE`.
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
        releasable = dict(self.releasable)
        category = self.policy.release_category
        if category is not None:
            released = self.policy.originator_release(self.level, releasable.get(category))
            if released is not None:
                releasable[category] = released
        object.__setattr__(self, "releasable", tuple(sorted(releasable.items())))

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

        The level goes through the equivalence table, compartments and
        handling through the correspondence table (qualified when without
        counterpart), the release list unchanged.

        Raises:
            InvalidLabel: the two policies have no equivalence, or `policy` is
                national and would change who may read the label.
        """
        if policy == self.policy:
            return self
        ranks = self.policy.embeddings.get(policy.id)
        if ranks is None:
            raise InvalidLabel(
                f"no equivalence from policy {self.policy.id} to {policy.id}; "
                "declare one in the policy file"
            )
        expressed = Label(
            policy=policy,
            level=ranks[self.level],
            compartments=translate(self.compartments, self.policy, policy),
            releasable=self.releasable,
            handling=translate(self.handling, self.policy, policy),
        )
        if expressed.releasable != self.releasable:
            # Originator control of a national target would add or widen a
            # release list: the label cannot be expressed there faithfully.
            raise InvalidLabel(
                f"a {self.policy.id} label cannot be expressed in the national policy "
                f"{policy.id} without changing who may read it; give {self.policy.id} "
                "a higher precedence than national policies"
            )
        return expressed


def translate(values: frozenset[str], source: Policy, target: Policy) -> frozenset[str]:
    """Compartment or handling values of `source` as `target` names them.

    A value listed in the source's correspondence table takes its counterpart;
    a value qualified by the target (`NATO:ATOMAL` going into NATO) loses its
    qualifier; any other value is kept qualified by the source policy
    (`FR:NUCLÉAIRE`), so no protection is dropped.
    """
    if source == target:
        return values
    table = source.translations.get(target.id, {})
    prefix = f"{target.id}:"
    translated = set()
    for value in values:
        if value.startswith(prefix):
            translated.add(value[len(prefix) :])
        elif ":" in value:
            translated.add(value)
        else:
            translated.add(table.get(value, f"{source.id}:{value}"))
    return frozenset(translated)


def _common_policy(labels: Iterable[Label | Clearance]) -> Policy:
    return max((label.policy for label in labels), key=lambda p: (p.precedence, p.identifier))


def join(*labels: Label) -> Label:
    """High-water mark: highest level, union of compartments, intersection of each REL TO.

    The result is expressed in the policy of highest precedence among the
    inputs, and always reads back from its marking.

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
        target = _common_policy((self, label))
        level, compartments = self._expressed_in(target)
        theirs = label.expressed_in(target)
        if level < theirs.level:
            return Decision(False, "your clearance level is below the object's level (no read up)")
        if not theirs.compartments <= compartments:
            return Decision(False, "you are not briefed into every compartment of the object")
        for _name, values in theirs.releasable:
            if not values & self.nationality:
                return Decision(False, "the object is not releasable to your nationality")
        return Decision(True, "allowed")

    def _expressed_in(self, policy: Policy) -> tuple[int, frozenset[str]]:
        if policy == self.policy:
            return self.level, self.compartments
        ranks = self.policy.embeddings.get(policy.id)
        if ranks is None:
            raise InvalidLabel(
                f"no equivalence from policy {self.policy.id} to {policy.id}; "
                "declare one in the policy file"
            )
        return ranks[self.level], translate(self.compartments, self.policy, policy)

    def as_label(self) -> Label:
        """The highest working label this clearance may read and work at.

        Its level and compartments; where the policy puts the level under
        originator control, released to the policy's nationals (a French
        holder's is plain `SECRET`), or to the holder's own nationalities when
        the holder is not one of them; otherwise unrestricted.
        """
        category = self.policy.release_category
        released = self.policy.released_by_default(self.level)
        if category is None or released is None:
            return Label(policy=self.policy, level=self.level, compartments=self.compartments)
        own = self.nationality & released or self.nationality
        return Label(
            policy=self.policy,
            level=self.level,
            compartments=self.compartments,
            releasable=((category, own),),
        )
