"""The stream hot path's fast folding equals the per-character definitions it replaced.

Marking detection, label normalisation and the gazetteer fold skip runs of
ASCII and cache per-character folds; these tests hold them to the plain
definitions (one character at a time, no cache) on random text mixing ASCII,
accents, compatibility forms, look-alike letters, invisible and bidirectional
characters.
"""

from __future__ import annotations

import random
import unicodedata

import pytest

from egide.core import policy
from egide.extractors import gazetteer
from egide.knowledge import folding


def _fold_char(char: str) -> str:
    if folding.ignorable(char):
        return ""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", char))
    return unicodedata.normalize("NFC", decomposed.translate(folding._CONFUSABLES))


def _fold_mapped(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    offsets: list[int] = []
    for at, char in enumerate(text):
        for folded in _fold_char(char):
            out.append(folded)
            offsets.append(at)
    offsets.append(len(text))
    return "".join(out), offsets


def _fold_chars(text: str, display: bool) -> str:
    text = folding.display_order(text) if display else text
    return unicodedata.normalize("NFC", "".join(_fold_char(c) for c in text))


def _gazetteer_fold(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for folded in unicodedata.normalize("NFKD", ch).casefold():
            if not unicodedata.combining(folded):
                out.append(folded)
                where.append(i)
    return "".join(out), where


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.upper())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.translate(policy._SEPARATORS).split())


ODD = (
    [chr(c) for c in range(0x80, 0x3000)]
    + list("éàçÉﬁＡ\u200b\u202e\u202c\u2066АΑßİŉ–—")
    + [chr(0x1D400 + i) for i in range(52)]
    + [chr(0xE0041), chr(0x1F600), chr(0xFE0F)]
)


@pytest.mark.parametrize("seed", range(4))
def test_fast_folds_equal_the_character_by_character_definitions(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(3000):
        text = "".join(
            rng.choice(ODD) if rng.random() < 0.3 else rng.choice("abcXYZ -/SECRET(DR)")
            for _ in range(rng.randint(0, 40))
        )
        assert folding.fold_mapped(text) == _fold_mapped(text), repr(text)
        assert folding.fold_chars(text) == _fold_chars(text, True), repr(text)
        assert folding.fold_chars(text, display=False) == _fold_chars(text, False), repr(text)
        assert gazetteer.fold(text) == _gazetteer_fold(text), repr(text)
        assert policy.normalise(text) == _normalise(text), repr(text)
