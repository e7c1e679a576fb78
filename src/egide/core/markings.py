"""The loaded policies, and markings read and written in French and English.

A marking reads `<level> [compartments…] [handling…] [SPÉCIAL FRANCE | REL TO X, Y]`,
e.g. `SECRET SPÉCIAL FRANCE`, `DR`, `NATO SECRET REL TO FRA, DEU`,
`TRÈS SECRET CRYPTO`. A portion mark is the level's short form in
parentheses, optionally followed by `//` and the rest: `(S)`, `(DR)`,
`(NS//REL TO FRA, DEU)`, `(S//SF)`. A clearance reads like a marking followed
by `NAT` and the nationality and groups held: `SECRET CRYPTO NAT FRA, NATO`.

Release markings narrow, never widen: `SECRET SPÉCIAL FRANCE REL TO DEU` is
the intersection of both lists, national only. A compartment or handling
value of another policy without counterpart reads `POLICY:VALUE`
(`NATO SECRET FR:NUCLÉAIRE REL TO FRA`), which is how joins across policies
keep what they cannot translate.

Display hides a release list that originator control implies (FR `SECRET` is
`SECRET SPÉCIAL FRANCE` as a value, and is written `SECRET`), and shows every
other one, so `parse(format(label)) == label` in both languages and
`parse_portion(portion(label)) == label`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from egide.core.lattice import Clearance, Label, translate
from egide.core.policy import Policy, TagType, normalise, policy_from_toml
from egide.errors import InvalidLabel, UnknownPolicy

_log = logging.getLogger(__name__)

_SPECIAL_FRANCE = "SPECIAL FRANCE"
_SPECIAL_FRANCE_VALUE = "FRA"
_NONE = "NONE"
_NATIONALITY = re.compile(r"^[A-Z]{2,5}$")


@dataclass(frozen=True)
class _Parsed:
    """A marking as written, before originator control makes it a `Label`."""

    policy: Policy
    level: int
    compartments: frozenset[str]
    handling: frozenset[str]
    released: frozenset[str] | None

    def label(self) -> Label:
        category = self.policy.release_category
        return Label(
            policy=self.policy,
            level=self.level,
            compartments=self.compartments,
            releasable=()
            if self.released is None or category is None
            else ((category, self.released),),
            handling=self.handling,
        )


class PolicyRegistry:
    """The security policies of an installation, and the marking grammar over them."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self._policies: dict[str, Policy] = {}
        for policy in policies:
            if policy.id in self._policies:
                raise InvalidLabel(f"policy {policy.id} is loaded twice; remove one file")
            self._policies[policy.id] = policy
        for policy in self._policies.values():
            self._link(policy)
        for policy in self._policies.values():
            for other_id, table in list(policy.translations.items()):
                # Without a table of its own, the other policy reads ours backwards.
                self._policies[other_id].translations.setdefault(
                    policy.id, {theirs: mine for mine, theirs in table.items()}
                )
        # Longest phrase first, so "NATO DIFFUSION RESTREINTE" wins over "DIFFUSION RESTREINTE".
        phrases: list[tuple[str, Policy, int | None, tuple[str, str] | None]] = []
        for policy in self._policies.values():
            for level in policy.levels:
                for text in {level.name_fr, level.name_en, *level.aliases}:
                    phrases.append((normalise(text), policy, level.rank, None))
            for retired, replacement in policy.retired:
                phrases.append((normalise(retired), policy, None, (retired, replacement)))
        self._phrases = sorted(phrases, key=lambda item: -len(item[0]))
        self._portions = {
            normalise(level.portion): (policy, level.rank)
            for policy in self._policies.values()
            for level in policy.levels
        }

    def _link(self, policy: Policy) -> None:
        for other_id, markings in policy.equivalences:
            other = self._policies.get(other_id)
            if other is None:
                continue
            names = {normalise(n): lv.rank for lv in other.levels for n in (lv.name_fr, lv.name_en)}
            try:
                ranks = tuple(names[normalise(m)] for m in markings)
            except KeyError as error:
                raise InvalidLabel(
                    f"policy {policy.id} maps a level to {error.args[0]!r}, "
                    f"which is not a level of {other_id}"
                ) from None
            if list(ranks) != sorted(set(ranks)):
                raise InvalidLabel(
                    f"the equivalence {policy.id}->{other_id} must keep the order of levels "
                    "and map distinct levels to distinct levels"
                )
            policy.embeddings[other_id] = ranks
            policy.peers[other_id] = other
        for other_id, pairs in policy.correspondences:
            other = self._policies.get(other_id)
            if other is not None:
                policy.translations[other_id] = _correspondence(policy, other, pairs)

    @classmethod
    def builtin(cls, extra_files: Iterable[Path] = ()) -> PolicyRegistry:
        """The shipped FR (IGI 1300) and NATO policies, plus operator policy files."""
        folder = resources.files("egide.core") / "policies"
        texts = [
            (item.read_text(encoding="utf-8"), item.name)
            for item in sorted(folder.iterdir(), key=lambda i: i.name)
            if item.name.endswith(".toml")
        ]
        for path in extra_files:
            try:
                texts.append((Path(path).read_text(encoding="utf-8"), str(path)))
            except OSError as error:
                raise InvalidLabel(f"cannot read policy file {path}: {error.strerror}") from None
        return cls(policy_from_toml(text, source) for text, source in texts)

    @classmethod
    def from_texts(cls, *texts: str) -> PolicyRegistry:
        """A registry of the given policy-file texts."""
        return cls(policy_from_toml(text) for text in texts)

    def policies(self) -> list[Policy]:
        """The loaded policies, by precedence."""
        return sorted(self._policies.values(), key=lambda p: p.precedence)

    def get(self, policy_id: str) -> Policy:
        """The policy with this id (e.g. "FR")."""
        try:
            return self._policies[policy_id]
        except KeyError:
            loaded = ", ".join(sorted(self._policies))
            raise UnknownPolicy(f"unknown policy {policy_id!r}; loaded: {loaded}") from None

    def by_identifier(self, identifier: str) -> Policy:
        """The policy with this STANAG 4774 policy identifier."""
        for policy in self._policies.values():
            if policy.identifier == identifier:
                return policy
        known = ", ".join(sorted(p.identifier for p in self._policies.values()))
        raise UnknownPolicy(f"unknown policy identifier {identifier!r}; loaded: {known}")

    # parsing -------------------------------------------------------------------------

    def parse(self, marking: str) -> Label:
        """Read a display marking (French or English, any case, accents optional).

        Raises:
            InvalidLabel: naming the token not understood and what is accepted.
        """
        return self._parse(marking).label()

    def _parse(self, marking: str) -> _Parsed:
        text = normalise(marking.replace("//", " "))
        if not text:
            raise InvalidLabel("empty marking; give a level such as DR, SECRET or NATO SECRET")
        policy, rank, rest = self._level(text, marking)
        return self._qualifiers(policy, rank, rest, marking)

    def parse_portion(self, portion: str) -> Label:
        """Read a portion mark such as `(S)`, `(DR)` or `(NS//REL TO FRA, DEU)`."""
        text = portion.strip()
        if not (text.startswith("(") and text.endswith(")")):
            raise InvalidLabel(f"portion mark {portion!r} must be in parentheses, e.g. (DR)")
        head, _, tail = text[1:-1].partition("//")
        found = self._portions.get(normalise(head))
        if found is None:
            known = ", ".join(f"({p})" for p in sorted(self._portions))
            raise InvalidLabel(f"unknown portion mark {portion!r}; accepted: {known}")
        policy, rank = found
        parts: list[str] = []
        for part in (normalise(p) for p in tail.split("//")):
            if part.startswith("REL ") and not part.startswith("REL TO"):
                part = "REL TO " + part[4:]
            parts.extend(_SPECIAL_FRANCE if token == "SF" else token for token in part.split())
        return self._qualifiers(policy, rank, " ".join(parts), portion).label()

    def parse_stored(self, rows: Iterable[tuple[int, str]]) -> list[tuple[int, Label]]:
        """The labels of interned canonical markings, as `(id, label)` pairs.

        A stored marking that no longer reads (written by an older version,
        or by a policy file since changed) is left out and logged: fail
        secure, nobody reads what it labels, and everybody else's reads go on.
        """
        labels = []
        for label_id, canonical in rows:
            try:
                labels.append((label_id, self.parse(canonical)))
            except InvalidLabel as error:
                _log.error("stored label %d %r no longer reads: %s", label_id, canonical, error)
        return labels

    def _level(self, text: str, original: str) -> tuple[Policy, int, str]:
        for phrase, policy, rank, replacement in self._phrases:
            if text == phrase or text.startswith(phrase + " ") or text.startswith(phrase + ","):
                if replacement is not None:
                    retired, instead = replacement
                    raise InvalidLabel(
                        f"{retired!r} (in {original!r}) no longer exists since the 2021 reform "
                        f"of IGI 1300; mark it {instead}"
                    )
                assert rank is not None
                return policy, rank, text[len(phrase) :].strip(" ,")
        first = text.split(" ")[0]
        levels = "; ".join(", ".join(lv.name_fr for lv in p.levels) for p in self.policies())
        raise InvalidLabel(
            f"unknown classification {first!r} in marking {original!r}; accepted levels: {levels}"
        )

    def _qualifiers(self, policy: Policy, rank: int, rest: str, original: str) -> _Parsed:
        restrictive = policy.values_of(TagType.RESTRICTIVE)
        informative = policy.values_of(TagType.INFORMATIVE)
        compartments: set[str] = set()
        handling: set[str] = set()
        released: frozenset[str] | None = None
        rest = rest.replace(",", " , ")
        tokens = rest.split()
        i = 0
        while i < len(tokens):
            token = tokens[i]
            pair = " ".join(tokens[i : i + 2])
            values: frozenset[str] | None = None
            if pair == _SPECIAL_FRANCE:
                self._rel_category(policy, original)
                values = frozenset({_SPECIAL_FRANCE_VALUE})
                i += 2
            elif pair == "REL TO":
                self._rel_category(policy, original)
                values, i = _rel_values(tokens, i + 2, original)
            elif token in restrictive:
                compartments.add(restrictive[token])
                i += 1
            elif token in informative:
                handling.add(informative[token])
                i += 1
            elif ":" in token:
                kind, value = self._foreign(policy, token, original)
                (compartments if kind is TagType.RESTRICTIVE else handling).add(value)
                i += 1
            elif token == ",":
                i += 1
            else:
                accepted = sorted({*restrictive.values(), *informative.values()})
                raise InvalidLabel(
                    f"unknown marking token {token!r} in {original!r} for policy {policy.id}; "
                    f"accepted after the level: {', '.join(accepted)}, SPÉCIAL FRANCE, REL TO …"
                )
            if values is not None:
                # Several release markings narrow: each one restricts further.
                released = values if released is None else released & values
        return _Parsed(
            policy=policy,
            level=rank,
            compartments=frozenset(compartments),
            handling=frozenset(handling),
            released=released,
        )

    def _foreign(self, policy: Policy, token: str, original: str) -> tuple[TagType, str]:
        """A qualified value `POLICY:VALUE` of another policy, as `policy` keeps it."""
        owner_id, _, value = token.partition(":")
        owner = next((p for p in self._policies.values() if normalise(p.id) == owner_id), None)
        if owner is None or owner == policy:
            raise InvalidLabel(
                f"unknown qualified value {token!r} in {original!r}: "
                f"{owner_id!r} is not another loaded policy"
            )
        for kind in (TagType.RESTRICTIVE, TagType.INFORMATIVE):
            name = owner.values_of(kind).get(value)
            if name is not None:
                # A value with a counterpart is written as its counterpart: one form per value.
                return kind, next(iter(translate(frozenset({name}), owner, policy)))
        raise InvalidLabel(
            f"unknown qualified value {token!r} in {original!r}: policy {owner.id} has no "
            f"compartment or handling value {value!r}"
        )

    @staticmethod
    def _rel_category(policy: Policy, original: str) -> str:
        if not policy.permissive:
            raise InvalidLabel(
                f"policy {policy.id} has no releasability: remove REL TO from {original!r}"
            )
        return policy.permissive[0].name

    # formatting ----------------------------------------------------------------------

    def format(self, label: Label, lang: str = "fr") -> str:
        """The display marking of `label` in `lang` ("fr" or "en").

        A release list that originator control implies is not written (FR
        `SECRET`, not `SECRET SPÉCIAL FRANCE`); every other one is.
        """
        if lang not in ("fr", "en"):
            raise InvalidLabel(f"unknown language {lang!r}; use fr or en")
        parts = [label.level_info.name(lang), *sorted(label.compartments), *sorted(label.handling)]
        parts.extend(_rel_text(label.policy, values, lang) for values in _shown(label))
        return " ".join(parts)

    def portion(self, label: Label) -> str:
        """The portion mark of `label`: `(S)`, `(DR)`, `(NP//SF)`, `(NS//REL TO DEU, FRA)`."""
        values_part = " ".join([*sorted(label.compartments), *sorted(label.handling)])
        extra = [values_part] if values_part else []
        for values in _shown(label):
            if _is_special_france(label.policy, values):
                extra.append("SF")
            else:
                extra.append(_rel_text(label.policy, values, "en"))
        mark = label.level_info.portion
        return f"({mark}//{'//'.join(extra)})" if extra else f"({mark})"

    def canonical(self, label: Label) -> str:
        """The storage form of `label`: its French display marking, which `parse` reads back."""
        return self.format(label, "fr")

    def parse_clearance(self, text: str) -> Clearance:
        """Read a clearance such as `SECRET CRYPTO NAT FRA, NATO` (NAT defaults to the policy's)."""
        marking, sep, held = normalise(text).partition(" NAT ")
        if not sep and normalise(text).startswith("NAT "):
            raise InvalidLabel(f"clearance {text!r} needs a level before NAT")
        label = self._parse(marking)
        if label.released is not None:
            raise InvalidLabel(
                "a clearance holds nationalities with NAT, not REL TO: "
                f"write {marking.split(' REL')[0].split(' SPECIAL')[0]} NAT …"
            )
        if label.handling:
            raise InvalidLabel(
                f"a clearance holds a level and compartments; remove the handling mention "
                f"{sorted(label.handling)[0]!r} from {text!r}"
            )
        nationality = (
            frozenset(v.strip() for v in held.split(",") if v.strip())
            if sep
            else label.policy.default_nationality
        )
        for value in nationality:
            if not _NATIONALITY.match(value):
                raise InvalidLabel(f"nationality {value!r} in {text!r} must be a code such as FRA")
        return Clearance(
            policy=label.policy,
            level=label.level,
            compartments=label.compartments,
            nationality=nationality,
        )

    def format_clearance(self, clearance: Clearance) -> str:
        """The storage and display form of a clearance, read back by `parse_clearance`."""
        level = clearance.policy.levels[clearance.level]
        head = " ".join([level.name_fr, *sorted(clearance.compartments)])
        return (
            f"{head} NAT {', '.join(sorted(clearance.nationality))}"
            if clearance.nationality
            else head
        )


def _rel_values(tokens: list[str], start: int, original: str) -> tuple[frozenset[str], int]:
    values: set[str] = set()
    i = start
    while i < len(tokens):
        token = tokens[i]
        if token == ",":
            i += 1
            continue
        if token == _NONE:
            i += 1
            break
        if not _NATIONALITY.match(token) or (values and tokens[i - 1] != ","):
            break
        values.add(token)
        i += 1
    if not values and (i == start or tokens[i - 1] != _NONE):
        raise InvalidLabel(f"REL TO in {original!r} must list nationalities, e.g. REL TO FRA, DEU")
    return frozenset(values), i


def _correspondence(
    policy: Policy, other: Policy, pairs: tuple[tuple[str, str], ...]
) -> dict[str, str]:
    """Resolve and check a `[correspondence.OTHER]` table of `policy`.

    Each value must be a compartment (or handling value) of `policy` mapped to
    a compartment (or handling value) of `other`, and no two to the same one,
    so that translating keeps every protection and dominance stays a partial
    order.
    """
    table: dict[str, str] = {}
    for source, target in pairs:
        for kind in (TagType.RESTRICTIVE, TagType.INFORMATIVE):
            mine = policy.values_of(kind).get(normalise(source))
            if mine is None:
                continue
            theirs = other.values_of(kind).get(normalise(target))
            if theirs is None:
                raise InvalidLabel(
                    f"policy {policy.id} maps {kind.value.lower()} value {source!r} to "
                    f"{target!r}, which is not a {kind.value.lower()} value of {other.id}"
                )
            table[mine] = theirs
            break
        else:
            raise InvalidLabel(
                f"policy {policy.id} maps {source!r} to {other.id}, but {source!r} is not "
                "one of its compartment or handling values"
            )
    if len(set(table.values())) != len(table):
        raise InvalidLabel(
            f"the correspondence {policy.id}->{other.id} maps two values to one; "
            "each value needs its own counterpart"
        )
    return table


def _shown(label: Label) -> list[frozenset[str]]:
    """The release lists a marking writes: those originator control does not imply."""
    implied = label.policy.released_by_default(label.level)
    return [
        values
        for name, values in label.releasable
        if not (name == label.policy.release_category and values == implied)
    ]


def _is_special_france(policy: Policy, values: frozenset[str]) -> bool:
    return policy.default_nationality == {_SPECIAL_FRANCE_VALUE} and values == {
        _SPECIAL_FRANCE_VALUE
    }


def _rel_text(policy: Policy, values: frozenset[str], lang: str) -> str:
    if _is_special_france(policy, values):
        return "SPÉCIAL FRANCE" if lang == "fr" else "SPECIAL FRANCE"
    if not values:
        return "REL TO NONE"
    return "REL TO " + ", ".join(sorted(values))
