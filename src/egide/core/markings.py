"""The loaded policies, and markings read and written in French and English.

A marking reads `<level> [compartments…] [handling…] [SPÉCIAL FRANCE | REL TO X, Y]`,
e.g. `SECRET SPÉCIAL FRANCE`, `DR`, `NATO SECRET REL TO FRA, DEU`,
`TRÈS SECRET CRYPTO`. A portion mark is the level's short form in
parentheses, optionally followed by `//` and the rest: `(S)`, `(DR)`,
`(NS//REL TO FRA, DEU)`, `(S//SF)`. A clearance reads like a marking followed
by `NAT` and the nationality and groups held: `SECRET CRYPTO NAT FRA, NATO`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from egide.core.lattice import Clearance, Label
from egide.core.policy import Policy, TagType, normalise, policy_from_toml
from egide.errors import InvalidLabel, UnknownPolicy

_SPECIAL_FRANCE = "SPECIAL FRANCE"
_SPECIAL_FRANCE_VALUE = "FRA"
_NONE = "NONE"
_NATIONALITY = re.compile(r"^[A-Z]{2,5}$")


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
        # Longest phrase first, so "NATO DIFFUSION RESTREINTE" wins over "DIFFUSION RESTREINTE".
        phrases: list[tuple[str, Policy, int | None, str | None]] = []
        for policy in self._policies.values():
            for level in policy.levels:
                for text in {level.name_fr, level.name_en, *level.aliases}:
                    phrases.append((normalise(text), policy, level.rank, None))
            for retired, replacement in policy.retired:
                phrases.append((normalise(retired), policy, None, replacement))
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
        rest = normalise(tail.replace("//", " "))
        if rest == "SF":
            rest = _SPECIAL_FRANCE
        elif rest.startswith("REL ") and not rest.startswith("REL TO"):
            rest = "REL TO " + rest[4:]
        return self._qualifiers(policy, rank, rest, portion)

    def _level(self, text: str, original: str) -> tuple[Policy, int, str]:
        for phrase, policy, rank, replacement in self._phrases:
            if text == phrase or text.startswith(phrase + " ") or text.startswith(phrase + ","):
                if replacement is not None:
                    raise InvalidLabel(
                        f"{phrase!r} no longer exists since the 2021 reform of IGI 1300; "
                        f"mark it {replacement}"
                    )
                assert rank is not None
                return policy, rank, text[len(phrase) :].strip(" ,")
        first = text.split(" ")[0]
        levels = "; ".join(", ".join(lv.name_fr for lv in p.levels) for p in self.policies())
        raise InvalidLabel(
            f"unknown classification {first!r} in marking {original!r}; accepted levels: {levels}"
        )

    def _qualifiers(self, policy: Policy, rank: int, rest: str, original: str) -> Label:
        restrictive = policy.values_of(TagType.RESTRICTIVE)
        informative = policy.values_of(TagType.INFORMATIVE)
        compartments: set[str] = set()
        handling: set[str] = set()
        releasable: dict[str, frozenset[str]] = {}
        rest = rest.replace(",", " , ")
        tokens = rest.split()
        i = 0
        while i < len(tokens):
            token = tokens[i]
            pair = " ".join(tokens[i : i + 2])
            if pair == _SPECIAL_FRANCE:
                releasable[self._rel_category(policy, original)] = frozenset(
                    {_SPECIAL_FRANCE_VALUE}
                )
                i += 2
            elif pair == "REL TO":
                values, i = _rel_values(tokens, i + 2, original)
                releasable[self._rel_category(policy, original)] = values
            elif token in restrictive:
                compartments.add(restrictive[token])
                i += 1
            elif token in informative:
                handling.add(informative[token])
                i += 1
            elif token == ",":
                i += 1
            else:
                accepted = sorted({*restrictive.values(), *informative.values()})
                raise InvalidLabel(
                    f"unknown marking token {token!r} in {original!r} for policy {policy.id}; "
                    f"accepted after the level: {', '.join(accepted)}, SPÉCIAL FRANCE, REL TO …"
                )
        return Label(
            policy=policy,
            level=rank,
            compartments=frozenset(compartments),
            releasable=tuple(releasable.items()),
            handling=frozenset(handling),
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
        """The display marking of `label` in `lang` ("fr" or "en")."""
        if lang not in ("fr", "en"):
            raise InvalidLabel(f"unknown language {lang!r}; use fr or en")
        parts = [label.level_info.name(lang), *sorted(label.compartments), *sorted(label.handling)]
        for _name, values in label.releasable:
            parts.append(_rel_text(label.policy, values, lang))
        return " ".join(parts)

    def portion(self, label: Label) -> str:
        """The portion mark of `label`: `(S)`, `(DR)`, `(S//SF)`, `(NS//REL TO DEU, FRA)`."""
        extra = [*sorted(label.compartments), *sorted(label.handling)]
        for _name, values in label.releasable:
            if _is_special_france(label.policy, values):
                extra.append("SF")
            else:
                extra.append(_rel_text(label.policy, values, "en"))
        mark = label.level_info.portion
        return f"({mark}//{' '.join(extra)})" if extra else f"({mark})"

    def canonical(self, label: Label) -> str:
        """The storage form of `label`: its French display marking, which `parse` reads back."""
        return self.format(label, "fr")

    def parse_clearance(self, text: str) -> Clearance:
        """Read a clearance such as `SECRET CRYPTO NAT FRA, NATO` (NAT defaults to the policy's)."""
        marking, sep, held = normalise(text).partition(" NAT ")
        if not sep and normalise(text).startswith("NAT "):
            raise InvalidLabel(f"clearance {text!r} needs a level before NAT")
        label = self.parse(marking)
        if label.releasable:
            raise InvalidLabel(
                "a clearance holds nationalities with NAT, not REL TO: "
                f"write {marking.split(' REL')[0]} NAT …"
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
        head = self.format(clearance.as_label(), "fr")
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
