"""Text as a reader sees it, character by character: how markings are looked for.

A banner hidden with characters that show nothing (zero-width spaces, variation
selectors, Hangul fillers, bidirectional controls), with letters of other
scripts that look Latin (Cyrillic, Greek, Cherokee, Lisu, small capitals), with
compatibility forms (full-width, mathematical alphanumerics, circled letters:
NFKC) or typed backwards under a right-to-left override still reads as the
banner a person sees. The folded text is only ever used to find markings; what
is stored is the text as written. Letter spacing (`S.E.C.R.E.T`) needs the
policy vocabulary and is closed up by `egide.knowledge.markings.fold`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
"""ASCII characters fold to themselves: only the others are looked at one by one."""


def _ranges(*spans: tuple[int, int]) -> frozenset[str]:
    return frozenset(chr(c) for first, last in spans for c in range(first, last + 1))


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): code points a
# renderer shows as nothing. Category Cf (format characters) is removed as well.
DEFAULT_IGNORABLE = _ranges(
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, joiners, LRM, RLM
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, isolates
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # byte-order mark
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)


def ignorable(char: str) -> bool:
    """Whether `char` shows nothing (a default-ignorable or format character)."""
    return char in DEFAULT_IGNORABLE or unicodedata.category(char) == "Cf"


# Letters of other scripts that look like Latin letters (a compact subset of
# Unicode's confusables.txt): a banner typed with them reads SECRET to a person
# and must read SECRET to Égide. Small capitals read as capitals.
_LOOKALIKES = {
    "A": "АΑᎪꓮᴀ",
    "B": "ВΒᏴꓐʙ",
    "C": "СϹᏟꓚᴄ",
    "D": "Ꭰꓓᴅԁ",
    "E": "ЕΕᎬꓰᴇ",
    "F": "ꓝꜰϜ",
    "G": "Ꮐꓖɢ",
    "H": "НΗᎻꓧʜ",
    "I": "ІΙӀꓲɪ",
    "J": "ЈᎫꓙᴊ",
    "K": "КΚᏦꓗᴋ",
    "L": "Ꮮꓡʟ",
    "M": "МΜᎷᴍ",
    "N": "Νꓠɴ",
    "O": "ОΟꓳᴏ",
    "P": "РΡᏢꓑᴘ",
    "R": "ᎡᏒꓣʀ",
    "S": "ЅᏚꓢꜱ",
    "T": "ТΤᎢꓔᴛ",
    "U": "ꓴᴜ",
    "V": "Ꮩꓦᴠ",
    "W": "ᎳꓪᴡԜ",
    "X": "ХΧꓫ",
    "Y": "УΥꓬʏ",
    "Z": "ΖᏃꓜᴢ",
    "a": "а",
    "c": "сϲ",
    "e": "е",
    "i": "іι",
    "j": "ј",
    "o": "оο",
    "p": "рρ",
    "s": "ѕ",
    "x": "хχ",
    "y": "у",
    "h": "һ",
    "k": "κ",
    "v": "ν",
    "t": "τ",
    "u": "υ",
}
_CONFUSABLES = str.maketrans({c: latin for latin, cs in _LOOKALIKES.items() for c in cs})

_PDF, _PDI = "\u202c", "\u2069"
# Opening controls and whether Latin letters inside them are laid out right to left:
# only an override reverses them; embeddings and isolates keep their order.
_OPENERS = {
    "\u202a": False,
    "\u202b": False,
    "\u202d": False,
    "\u202e": True,
    "\u2066": False,
    "\u2067": False,
    "\u2068": False,
}


def has_override(text: str) -> bool:
    """Whether `text` holds a right-to-left override (its display order differs)."""
    return "\u202e" in text


def display_order(text: str) -> str:
    """`text` in the order it is displayed: a right-to-left override's span reversed.

    An override runs to its pop (U+202C) or the end of the line; spans nest.
    """
    if not has_override(text):
        return text
    return _span(text, 0, rtl=False)[0]


def _span(text: str, at: int, *, rtl: bool) -> tuple[str, int]:
    parts: list[str] = []
    while at < len(text):
        char = text[at]
        at += 1
        if char in (_PDF, _PDI):
            break
        if char in _OPENERS:
            inner, at = _span(text, at, rtl=_OPENERS[char])
            parts.append(inner)
        else:
            parts.append(char)
    return "".join(reversed(parts) if rtl else parts), at


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    # Cached: a flow of messages reads the same few hundred characters over and over,
    # and three normalisations per character were most of the time to read a marking.
    if ignorable(char):
        return ""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", char))
    return unicodedata.normalize("NFC", decomposed.translate(_CONFUSABLES))


def fold_chars(text: str, *, display: bool = True) -> str:
    """`text` as a reader sees it, character by character (never stored).

    Args:
        text: One line.
        display: Reorder a right-to-left override's span as it is displayed;
            False reads the characters in the order they are stored.
    """
    if text.isascii():
        return text  # every ASCII character folds to itself (and holds no override)
    text = display_order(text) if display else text
    return unicodedata.normalize("NFC", _NON_ASCII.sub(lambda m: _fold_char(m.group()), text))


def fold_mapped(text: str) -> tuple[str, list[int]]:
    """`text` folded character by character (stored order), and each folded character's offset."""
    if text.isascii():
        return text, list(range(len(text) + 1))
    out: list[str] = []
    offsets: list[int] = []
    last = 0
    for match in _NON_ASCII.finditer(text):
        at = match.start()
        if at > last:  # a run of ASCII, unchanged
            out.append(text[last:at])
            offsets.extend(range(last, at))
        folded = _fold_char(match.group())
        out.append(folded)
        offsets.extend([at] * len(folded))
        last = at + 1
    out.append(text[last:])
    offsets.extend(range(last, len(text) + 1))
    return "".join(out), offsets
