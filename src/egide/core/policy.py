"""Security policies as data: levels, category tags and equivalences, read from TOML.

A policy file plays the part of an Open XML SPIF: it names the ordered
classification levels with their display markings, the categories (each
RESTRICTIVE, PERMISSIVE or INFORMATIVE), whether its information is under
originator control (a *national* policy), and how its levels and category
values are expressed in another policy. See docs/labels.md for the format.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from egide.errors import InvalidLabel


class TagType(StrEnum):
    """How a category constrains access (STANAG 4774 tag types)."""

    RESTRICTIVE = "RESTRICTIVE"
    """Compartments: the reader must hold every one."""
    PERMISSIVE = "PERMISSIVE"
    """Releasability (REL TO): the reader must hold at least one listed value."""
    INFORMATIVE = "INFORMATIVE"
    """Handling information with no effect on access."""


# Separators a banner may be typed with: hyphens and dashes of every kind (a word
# processor turns " - " into an en dash), slashes ("SECRET / SPÉCIAL FRANCE").
_SEPARATORS = dict.fromkeys(
    map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d/"), " "
)


def normalise(text: str) -> str:
    """Upper case, no accents, dashes and slashes as spaces, single spaces.

    This is how markings are compared: `Secret – Spécial France`,
    `SECRET - SPECIAL FRANCE` and `SECRET SPÉCIAL FRANCE` all read
    `SECRET SPECIAL FRANCE`.
    """
    decomposed = unicodedata.normalize("NFKD", text.upper())
    if decomposed.isascii():  # no accent to take off: no loop in Python
        plain = decomposed
    else:
        plain = _NON_ASCII.sub(
            lambda m: "" if unicodedata.combining(m.group()) else m.group(), decomposed
        )
    return " ".join(plain.translate(_SEPARATORS).split())


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class Level:
    """One classification level of a policy."""

    rank: int
    name_fr: str
    name_en: str
    portion: str
    aliases: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        """The display marking in `lang` ("fr" or "en")."""
        return self.name_fr if lang == "fr" else self.name_en


@dataclass(frozen=True)
class Category:
    """A category tag: its name, type and values (empty and `open` for any value)."""

    name: str
    type: TagType
    values: tuple[str, ...] = ()
    open: bool = False


@dataclass(frozen=True, eq=False)
class Policy:
    """One security policy. Equal policies are the same identifier.

    `equivalences` names, for another policy, the marking each of this
    policy's levels (by rank) corresponds to there; `correspondences` names,
    for another policy, the value each of this policy's compartments and
    handling values corresponds to there. The registry resolves them into
    `embeddings` (ranks) and `translations` (values) and fills `peers` so
    that labels can be translated; none takes part in equality.

    A policy with a `default_nationality` is *national*: its information is
    under originator control, releasable only to those nationals unless a
    REL TO releases it more widely, from level `national_from` up (levels
    below are not protected information and carry no restriction unless
    marked). `released_by_default` says what that means for one label.
    """

    id: str
    identifier: str
    name: str
    precedence: int
    levels: tuple[Level, ...]
    categories: tuple[Category, ...]
    default_nationality: frozenset[str] = frozenset()
    retired: tuple[tuple[str, str], ...] = ()
    equivalences: tuple[tuple[str, tuple[str, ...]], ...] = ()
    national_from: int = 0
    correspondences: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    embeddings: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)
    translations: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    peers: dict[str, Policy] = field(default_factory=dict, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and other.identifier == self.identifier

    def __hash__(self) -> int:
        return hash(self.identifier)

    def category(self, name: str) -> Category:
        """The category called `name`."""
        for category in self.categories:
            if category.name == name:
                return category
        raise InvalidLabel(f"policy {self.id} has no category {name!r}")

    def category_of(self, value: str) -> Category:
        """The restrictive or informative category that lists `value`."""
        for category in self.categories:
            if value in category.values:
                return category
        raise InvalidLabel(f"policy {self.id} has no category value {value!r}")

    def values_of(self, kind: TagType) -> dict[str, str]:
        """Normalised value -> value, for every listed value of categories of `kind`."""
        return {normalise(v): v for c in self.categories if c.type is kind for v in c.values}

    @property
    def permissive(self) -> tuple[Category, ...]:
        """The releasability categories."""
        return tuple(c for c in self.categories if c.type is TagType.PERMISSIVE)

    @property
    def national(self) -> bool:
        """Whether the policy's information is under originator control."""
        return bool(self.default_nationality) and bool(self.permissive)

    @property
    def release_category(self) -> str | None:
        """The category REL TO and SPÉCIAL FRANCE fill: the first permissive one."""
        return self.permissive[0].name if self.permissive else None

    def released_by_default(self, level: int) -> frozenset[str] | None:
        """The release list a label at `level` carries without any REL TO marking.

        The policy's nationals at a national level (originator control), None
        (releasable to all) otherwise.
        """
        if self.national and level >= self.national_from:
            return self.default_nationality
        return None

    def originator_release(
        self, level: int, marked: frozenset[str] | None
    ) -> frozenset[str] | None:
        """The release list of the release category, after originator control.

        Args:
            level: Rank of the label's level.
            marked: The values the marking releases to (intersection of its
                release markings), or None when it has none.

        Returns:
            For a national policy: the marked values plus the originator's
            nationals (who always hold their own information), or the
            nationals alone at a national level without marking. Otherwise
            `marked` unchanged.
        """
        if not self.national:
            return marked
        if marked is None:
            return self.released_by_default(level)
        return marked | self.default_nationality


def policy_from_toml(text: str, source: str = "<policy>") -> Policy:
    """Build a policy from the text of a policy file.

    Raises:
        InvalidLabel: the file is not valid TOML or misses a required field;
            the message names the file and the field.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidLabel(f"policy file {source} is not valid TOML: {error}") from None
    try:
        return _build(data)
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidLabel(
            f"policy file {source} is incomplete or malformed ({error!r}); "
            "see docs/labels.md for the format"
        ) from None


def _build(data: dict[str, Any]) -> Policy:
    levels = tuple(
        Level(
            rank=rank,
            name_fr=str(item["name_fr"]),
            name_en=str(item["name_en"]),
            portion=str(item["portion"]),
            aliases=tuple(str(a) for a in item.get("aliases", ())),
        )
        for rank, item in enumerate(data["levels"])
    )
    if not levels:
        raise ValueError("a policy needs at least one level")
    categories = tuple(
        Category(
            name=str(item["name"]),
            type=TagType(item["type"]),
            values=tuple(str(v) for v in item.get("values", ())),
            open=bool(item.get("open", False)),
        )
        for item in data.get("categories", ())
    )
    listed = [v for c in categories for v in c.values]
    if len(set(map(normalise, listed))) != len(listed):
        raise ValueError("category values must be unique within a policy")
    if any(":" in v for v in listed):
        raise ValueError("category values must not contain ':' (it qualifies foreign values)")
    equivalences = tuple(
        (str(other), tuple(str(mapping[level.name_fr]) for level in levels))
        for other, mapping in data.get("equivalence", {}).items()
    )
    correspondences = tuple(
        (str(other), tuple((str(k), str(v)) for k, v in mapping.items()))
        for other, mapping in data.get("correspondence", {}).items()
    )
    return Policy(
        id=str(data["id"]),
        identifier=str(data["identifier"]),
        name=str(data.get("name", data["id"])),
        precedence=int(data.get("precedence", 0)),
        levels=levels,
        categories=categories,
        default_nationality=frozenset(str(v) for v in data.get("default_nationality", ())),
        retired=tuple((str(k), str(v)) for k, v in data.get("retired", {}).items()),
        equivalences=equivalences,
        national_from=_rank_of(levels, data.get("national_from")),
        correspondences=correspondences,
    )


def _rank_of(levels: tuple[Level, ...], name: object) -> int:
    if name is None:
        return 0
    wanted = normalise(str(name))
    for level in levels:
        if wanted in {normalise(n) for n in (level.name_fr, level.name_en, *level.aliases)}:
            return level.rank
    raise ValueError(f"national_from names {name!r}, which is not a level of the policy")
