"""Equipment named in a text, from a configurable gazetteer (a TOML file).

The gazetteer lists each piece of equipment once, with its aliases and a
category; a match names the canonical entry. Matching ignores case and
accents (``caiman`` finds ``Caïman``) and respects word boundaries (``VAB``
is not found in ``VABX``). An entry marked ``capitalised = true`` matches only
when the text writes it with a capital letter, for names that are also
ordinary words (``rafale``, ``tigre``). The default gazetteer, shipped as
``equipment.toml`` beside this module, holds a few generic public entries;
deployments load their own with `Gazetteer.from_toml`.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from egide.errors import ConfigurationError
from egide.extractors.found import Found

DEFAULT_PATH = Path(__file__).with_name("equipment.toml")


@dataclass(frozen=True)
class Equipment:
    """One gazetteer entry: canonical name, aliases, category."""

    name: str
    aliases: tuple[str, ...]
    category: str
    capitalised: bool = False


def fold(text: str) -> tuple[str, list[int]]:
    """`text` without case or accents, and for each folded character its offset in `text`."""
    if text.isascii():
        # Most traffic is ASCII: lower() folds it one character for one, with no loop in Python.
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    where: list[int] = []
    last = 0
    for match in _NON_ASCII.finditer(text):
        at = match.start()
        if at > last:  # a run of ASCII: lower() folds it one for one
            out.append(text[last:at].lower())
            where.extend(range(last, at))
        folded = _fold_char(match.group())
        out.append(folded)
        where.extend([at] * len(folded))
        last = at + 1
    out.append(text[last:].lower())
    where.extend(range(last, len(text)))
    return "".join(out), where


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One character without case or accents (cached: a flow repeats the same characters)."""
    return "".join(
        f for f in unicodedata.normalize("NFKD", ch).casefold() if not unicodedata.combining(f)
    )


class Gazetteer:
    """Finds the equipment of a list of entries in texts (kind ``equipment``)."""

    def __init__(self, entries: list[Equipment]) -> None:
        self.entries = entries
        self._by_alias: dict[str, Equipment] = {}
        for entry in entries:
            for alias in (entry.name, *entry.aliases):
                key = " ".join(fold(alias)[0].split())
                if not key:
                    raise ConfigurationError(f"equipment {entry.name!r} has an empty alias")
                other = self._by_alias.get(key)
                if other is not None and other is not entry:
                    raise ConfigurationError(
                        f"alias {alias!r} names both {other.name!r} and {entry.name!r}: "
                        "keep it in one entry of the gazetteer"
                    )
                self._by_alias[key] = entry
        # Longest alias first, so "Rafale M" wins over "Rafale"; spaces match any run of spaces.
        keys = sorted(self._by_alias, key=len, reverse=True)
        alternation = "|".join(r"\s+".join(re.escape(w) for w in k.split()) for k in keys)
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)") if keys else None

    @classmethod
    def from_toml(cls, path: Path) -> Gazetteer:
        """Load a gazetteer file (format in docs/streams-extractors.md).

        Raises:
            ConfigurationError: the file is missing, not TOML, or an entry is malformed.
        """
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read the equipment gazetteer {path}: {exc}") from exc
        return cls([_entry(raw, path, i) for i, raw in enumerate(document.get("equipment", []))])

    def __call__(self, text: str) -> list[Found]:
        """Every gazetteer entry named in `text`, in order."""
        if self._pattern is None:
            return []
        folded, where = fold(text)
        found = []
        for m in self._pattern.finditer(folded):
            entry = self._by_alias[" ".join(m.group(0).split())]
            start, end = where[m.start()], where[m.end() - 1] + 1
            if entry.capitalised and not text[start].isupper():
                continue
            found.append(
                Found(
                    "equipment",
                    entry.name,
                    (start, end),
                    {"category": entry.category, "matched": text[start:end]},
                )
            )
        return found


@cache
def default_gazetteer() -> Gazetteer:
    """The gazetteer shipped with Égide (equipment.toml)."""
    return Gazetteer.from_toml(DEFAULT_PATH)


def find_equipment(text: str) -> list[Found]:
    """Equipment of the default gazetteer named in `text`."""
    return default_gazetteer()(text)


def _entry(raw: Any, path: Path, index: int) -> Equipment:
    where = f"{path}, entry {index + 1}"
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{where}: each [[equipment]] must be a table")
    unknown = set(raw) - {"name", "aliases", "category", "capitalised"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}")
    name, aliases = raw.get("name"), raw.get("aliases", [])
    category, capitalised = raw.get("category", ""), raw.get("capitalised", False)
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"{where}: `name` must be a non-empty string")
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ConfigurationError(f"{where}: `aliases` must be a list of strings")
    if not isinstance(category, str) or not isinstance(capitalised, bool):
        raise ConfigurationError(f"{where}: `category` is a string, `capitalised` true or false")
    return Equipment(name.strip(), tuple(aliases), category, capitalised)
