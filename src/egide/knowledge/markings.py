"""Read a document's markings, fail secure: banners, title lines and portion marks.

Every **line** is classified on its own (a paragraph, a PDF page or a DOCX
paragraph with soft breaks is several lines, and one mark must never label
its neighbours), once folded as a reader sees it (`fold`: look-alike letters,
invisible characters, full-width forms and letter spacing cannot hide a
marking):

- a **banner** is a line that is a marking (`SECRET SPÉCIAL FRANCE`,
  `Secret – Spécial France`, `CLASSIFICATION: NATO SECRET REL TO FRA, DEU`,
  `[SECRET]`); it labels the document and is not content;
- a **title line** opens with a level in capitals followed by ordinary words
  (`TRÈS SECRET - Opération HERMINE`): the document is marked at least at
  that level, and the line stays content;
- a line that looks like a marking but does not parse (an all-capitals line
  opening with a level, a retired marking such as `SECRET DÉFENSE`, an
  explicit classification field) **refuses the document**, naming the line:
  skipping it would let a lower mark label the document;
- a **portion mark** opening a line (`(DR) …`, `(ts) …`, `(NS//REL TO FRA, DEU) …`),
  in any case, labels that line; a portion mark later in a line can only raise the rest of
  the line, never lower it;
- a line with no mark of its own takes the document's label.

Banners are read from the body and from everything a format carries
(`ExtractedDocument.carried`: headers, footers, properties, metadata, e-mail
headers); their join is the document's **outer marking**. A portion keeps its
own level but never loses a compartment or a release category of the outer
marking unless the document's portion marks visibly use that compartment or
category somewhere (then an unmarked one means "not this one"). The
document's label is the join of the outer marking and every portion.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from egide.core.labels import Label, PolicyRegistry, join
from egide.core.policy import normalise
from egide.errors import InvalidLabel
from egide.knowledge.extract.model import Carried, ExtractedDocument
from egide.knowledge.folding import fold_chars, fold_mapped, has_override

# Words announcing a classification; after the strong ones a value must be a marking.
_PREFIX = re.compile(
    r"^(?P<word>security classification|classification|classifi[ée]e?|marquage|marking|"
    r"niveau(?: de (?:classification|protection))?|mention de protection)\s*:\s*",
    re.IGNORECASE,
)
_STRONG_PREFIXES = ("CLASSIF", "MARQUAGE", "MARKING", "SECURITY", "MENTION")
# Markdown renderings of a banner ("> SECRET", "`SECRET`", "- SECRET") and the
# "//SECRET//" of some templates decorate a marking without changing it.
_DECORATION = " \t-–—*_=#|~«»“”\"'>`/"
# Dashes and slashes between words are spelling variants of a space in a marking.
_DASHES = re.compile(r"\s*[–—]\s*|\s+[-/]\s+")
_BRACKET = re.compile(r"^\[([^\]]{1,100})\]\s*(.*)$")
# Portion marks are read whatever their case: "(ts)" is "(TS)" (a mark is short,
# so list numbering such as "(a)" is no level and stays text).
# Padding inside the brackets ("( S )", "(  DR )", "( TS // CRYPTO )") changes nothing.
_PORTION_AT_START = re.compile(
    r"^[\s\-•*·▪–—>`]*\(\s*([A-Z]{1,4}(?:\s*//[^)]{0,80})?)\s*\)", re.IGNORECASE
)
_PORTION_ANYWHERE = re.compile(r"\(\s*([A-Z]{1,4}(?:\s*//[^)]{0,80})?)\s*\)", re.IGNORECASE)
_PADDED_PARTS = re.compile(r"\s*//\s*")
# Reply and forward prefixes of every mail client language, repeated, any case.
_REPLY = re.compile(
    r"^(?:(?:re|aw|wg|sv|vs|vb|antw|tr|fw|fwd|fwds|ref|rif|enc|rv|r|odp|pd|ynt|vl|"
    r"doorst|trans|réf|rép|rép\.|transf)\s*:\s*)+",
    re.IGNORECASE,
)
_BRACKET_ANYWHERE = re.compile(r"\[([^\]]{1,100})\]")
_FIRST_WORD = re.compile(r"[^\W_]+")
# Every line boundary of str.splitlines(): a marking after a carriage return, a form
# feed or a Unicode line separator is a line of its own for every reader, so for this one.
_LINE_BREAK = re.compile("(\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])")


@dataclass(frozen=True)
class Banner:
    """A marking found outside the portions: a banner, a title line or a carried field."""

    label: Label
    source: str
    line: str


@dataclass(frozen=True)
class Piece:
    """A stretch of one segment's text and the label its marks give it.

    `start`/`end` are offsets in `ExtractedDocument.text`. `label` is None only
    when the document carries no marking at all (the upload label then applies).
    A banner piece is a marking line, not content: it is never put in a chunk.
    """

    segment: int
    start: int
    end: int
    label: Label | None
    banner: bool = False


@dataclass(frozen=True)
class DetectedMarkings:
    """Everything found in one document.

    Attributes:
        banners: Banners, title lines and carried markings, in order found.
        pieces: The body text cut at every line and every change of label.
        document_label: Join of everything found (and of the inherited label),
            or None when nothing was (fail secure: the caller must then be given
            a label).
    """

    banners: tuple[Banner, ...]
    pieces: tuple[Piece, ...]
    document_label: Label | None


class _Levels:
    """The level and retired phrases of the loaded policies, normalised, longest first."""

    def __init__(self, registry: PolicyRegistry) -> None:
        phrases: list[tuple[str, str | None]] = []
        for policy in registry.policies():
            for level in policy.levels:
                for name in {level.name_fr, level.name_en, *level.aliases}:
                    phrases.append((normalise(name), None))
            for retired, replacement in policy.retired:
                phrases.append((normalise(retired), replacement))
        self.phrases = sorted(phrases, key=lambda item: -len(item[0]))
        self.first_words = {phrase.split(" ")[0] for phrase, _ in phrases}
        self.parsed: dict[str, Label] = {}
        # Release categories a parsed portion mark writes out (id of its label ->
        # names): "(S//REL TO DEU)" marks REL TO, "(DR)" only implies it.
        self.release_marked: dict[int, frozenset[str]] = {}
        self.portions = {
            normalise(level.portion) for policy in registry.policies() for level in policy.levels
        }

    def head(self, text: str) -> tuple[str, str | None] | None:
        """The level (or retired) phrase `text` opens with, if any."""
        for phrase, replacement in self.phrases:
            if text == phrase or (text.startswith(phrase) and not text[len(phrase)].isalnum()):
                return phrase, replacement
        return None


def _refuse(source: str, line: str, why: str) -> InvalidLabel:
    return InvalidLabel(
        f"{source}: the line {line!r} looks like a classification marking but {why}; "
        "correct the marking (e.g. SECRET, DIFFUSION RESTREINTE, NATO SECRET REL TO FRA, DEU), "
        "or write the title on a line of its own — a marking Égide cannot read is refused, "
        "never skipped"
    )


def _variant(text: str) -> str:
    # "SECRET – SPÉCIAL FRANCE", "SECRET / SPÉCIAL FRANCE": the dash is a space.
    return " ".join(_DASHES.sub(" ", text).split())


def _parse(registry: PolicyRegistry, text: str) -> tuple[Label | None, str | None]:
    """(the marking `text`, None) or (None, why it is refused when it is a retired one)."""
    try:
        return registry.parse(_variant(text)), None
    except InvalidLabel as error:
        return None, error.message if "no longer exists" in error.message else None


def _upper(text: str) -> bool:
    return not any(c.islower() for c in text)


def classify_line(
    line: str, registry: PolicyRegistry, source: str, *, explicit: bool = False
) -> tuple[str, Label] | None:
    """("banner" | "title", label) for a marking line, None for ordinary text.

    The line is read once folded (`fold`): invisible characters, look-alike
    letters, full-width forms and letter spacing cannot hide a marking.

    Raises:
        InvalidLabel: the line looks like a marking that cannot be read (naming it),
            or a level word of it is written with look-alike or invisible characters
            and the line still does not read as a marking.
    """
    found = _read(line, registry, source, explicit=explicit, display=True)
    if has_override(line):
        # A right-to-left override shows the characters backwards (`\u202eTERCES` reads
        # SECRET); a model reads them as stored. A marking either way counts.
        stored = _read(line, registry, source, explicit=explicit, display=False)
        if stored is not None:
            found = stored if found is None else (found[0], join(found[1], stored[1]))
    return found


def _read(
    line: str, registry: PolicyRegistry, source: str, *, explicit: bool, display: bool
) -> tuple[str, Label] | None:
    folded, closed_up = _fold(line, registry, display=display)
    found = _classify(line, folded, registry, source, explicit=explicit)
    if found is None and (closed_up or _hidden_level(line, folded, registry)):
        raise _refuse(
            source, line, "a level word is written with look-alike or invisible characters"
        )
    if found is None and source != "body":
        found = _bracketed_within(folded, registry)
    return found


def _hidden_level(line: str, folded: str, registry: PolicyRegistry) -> bool:
    """Whether folding revealed a level word in capitals the line did not show as written."""
    text = folded.strip().strip(_DECORATION)
    norm_folded = normalise(_variant(text))
    norm_line = normalise(_variant(line.strip().strip(_DECORATION)))
    if norm_folded == norm_line:
        return False
    head = _levels(registry).head(norm_folded)
    if head is None or len(head[0]) < 3 or norm_line.startswith(head[0]):
        return False
    # "Se\u200bcret de fabrication" is prose, as "Secret de fabrication" is.
    return _upper(" ".join(_variant(text).split()[: len(head[0].split())]))


def _bracketed_within(text: str, registry: PolicyRegistry) -> tuple[str, Label] | None:
    """A bracketed marking anywhere in a subject or title ("Point [SECRET] …"): a title."""
    levels = _levels(registry)
    found: list[Label] = []
    for match in _BRACKET_ANYWHERE.finditer(text):
        head = levels.head(normalise(_variant(match.group(1))))
        if head is not None and len(head[0]) >= 3:
            label, _ = _parse(registry, match.group(1))
            if label is not None:
                found.append(label)
    return ("title", join(*found)) if found else None


# Letters spaced out one by one ("S E C R E T", "S.E.C.R.E.T", "S_E_C_R_E_T"): the
# separator used most is the one inside a word, any other one is between words.
_SPACING = " \t._-·•*/"
_SPACED = re.compile(r"[^\W_](?:[\s._\-·•*/]+[^\W_])+[\s._\-·•*/]*")
_SEPARATOR_RUN = re.compile(r"([\s._\-·•*/]+)")


def fold(line: str, registry: PolicyRegistry, *, display: bool = True) -> str:
    """`line` as a reader sees it: how a marking is looked for (never stored).

    Characters are folded by `egide.knowledge.folding.fold_chars` (invisible
    characters removed, look-alike letters and compatibility forms replaced, a
    right-to-left override's span in display order unless `display` is False),
    a letter-spaced level word (`S E C R E T`, `S.E.C.R.E.T`, words two spaces
    apart) closed up, and underscores read as spaces (`TRÈS_SECRET`).
    """
    return _fold(line, registry, display=display)[0]


def _fold(line: str, registry: PolicyRegistry, *, display: bool) -> tuple[str, bool]:
    """`fold`, and whether letter spacing was closed up (a level word then opens the line)."""
    text = fold_chars(line, display=display)
    stripped = text.strip()
    if _SPACED.fullmatch(stripped) and sum(c.isalnum() for c in stripped) >= 3:
        closed = _close_up(stripped)
        if _starts_with_level(normalise(closed), registry):
            return closed, True
    return text.replace("_", " "), False


def _close_up(spaced: str) -> str:
    parts = _SEPARATOR_RUN.split(spaced.rstrip(_SPACING))
    runs = parts[1::2]
    inner = max(set(runs), key=runs.count)
    words, word = [], ""
    for index, part in enumerate(parts):
        if index % 2 == 0:
            word += part
        elif part != inner:
            words.append(word)
            word = ""
    return " ".join([*words, word])


def _starts_with_level(norm: str, registry: PolicyRegistry) -> bool:
    # No word boundary required: "SECRETSPECIALFRANCE" spaced out letter by letter
    # is still a marking (it then refuses, never reads as text).
    return any(
        len(phrase) >= 3 and norm.replace(" ", "").startswith(phrase.replace(" ", ""))
        for phrase, _ in _levels(registry).phrases
    )


def _classify(
    line: str, folded: str, registry: PolicyRegistry, source: str, *, explicit: bool
) -> tuple[str, Label] | None:
    levels = _levels(registry)
    text = _REPLY.sub("", folded.strip()).strip(_DECORATION)
    if not text:
        return None
    prefix = _PREFIX.match(text)
    if prefix:
        text = text[prefix.end() :].strip(_DECORATION)
        if not text:
            return None  # "Classification : ____" of a blank form: nothing claimed
        explicit = explicit or normalise(prefix.group("word")).startswith(_STRONG_PREFIXES)
    bracket = _BRACKET.match(text)
    if bracket and levels.head(normalise(_variant(bracket.group(1)))):
        label, retired = _parse(registry, bracket.group(1))
        if label is None:
            raise _refuse(source, line, retired or "its bracketed marking is not one Égide knows")
        return ("title" if bracket.group(2) else "banner"), label
    portion = _PORTION_AT_START.match(text)
    if portion and source != "body" and _portion_head(_inner(portion)) in levels.portions:
        # "(S) Rapport" as an e-mail subject or a document title.
        return "title", _portion(registry, _inner(portion), source, line)
    first = _FIRST_WORD.match(text)
    if not explicit and (first is None or normalise(first.group(0)) not in levels.first_words):
        return None  # most lines: no level word to open them, nothing more to try
    whole, retired = _parse(registry, text)
    norm = normalise(_variant(text))
    head = levels.head(norm)
    if whole is not None and (explicit or _upper(text) or (head and len(head[0]) >= 3)):
        return "banner", whole
    if explicit:
        raise _refuse(source, line, retired or "it is not a marking of the loaded policies")
    if head is None or len(head[0]) < 3:
        return None  # short aliases (S, DR, NS…) open ordinary lines too: only whole lines count
    words = len(head[0].split())
    opening = " ".join(_variant(text).split()[:words])
    if retired and (_upper(opening) or norm == head[0]):
        raise _refuse(source, line, retired)
    if not _upper(opening):
        return None  # "Secret de la réussite…": prose, not a marking
    if _upper(text):
        raise _refuse(source, line, "it does not parse as a marking")
    return "title", _longest_marking(registry, norm, head[0])


def _longest_marking(registry: PolicyRegistry, norm: str, head: str) -> Label:
    """The longest run of opening words that is a marking (at least the level itself)."""
    # A marking is a few words: look no further than the first dozen of a long line.
    words = [w for w in re.split(r"[\s:;.!?()\[\]]+", norm) if w][:12]
    for count in range(len(words), 0, -1):
        found, _ = _parse(registry, " ".join(words[:count]))
        if found is not None:
            return found
    return registry.parse(head)


def _inner(mark: re.Match[str]) -> str:
    """What a portion mark's brackets hold, without padding: "( TS // CRYPTO )" is "TS//CRYPTO"."""
    return _PADDED_PARTS.sub("//", mark.group(1).strip())


def _portion_head(inner: str) -> str:
    return normalise(inner.split("//")[0])


def _portion(registry: PolicyRegistry, inner: str, source: str, line: str) -> Label:
    levels = _levels(registry)
    parsed = levels.parsed
    if inner not in parsed:  # a document repeats a handful of marks on every line
        try:
            # Marks are read whatever their case: "(ts)" is "(TS)".
            label = registry.parse_portion(f"({inner.upper()})")
            bare = registry.parse_portion(f"({inner.split('//')[0].strip().upper()})")
        except InvalidLabel as error:
            raise _refuse(
                source, line, f"its portion mark does not parse ({error.message})"
            ) from None
        written = dict(label.releasable)
        implied = dict(bare.releasable)
        levels.release_marked[id(label)] = frozenset(
            name
            for name in written.keys() | implied.keys()
            if written.get(name) != implied.get(name)
        )
        parsed[inner] = label
    return parsed[inner]


def portion_label(text: str, registry: PolicyRegistry) -> tuple[Label, int] | None:
    """The portion mark opening `text` and its length, if any (unknown heads are text).

    Read folded: `(Ѕ)` with a Cyrillic letter or `(S\u200b)` is `(S)`.
    """
    folded, offsets = fold_mapped(text)
    match = _PORTION_AT_START.match(folded)
    if not match or _portion_head(_inner(match)) not in _levels(registry).portions:
        return None
    return _portion(registry, _inner(match), "body", text), offsets[match.end() - 1] + 1


def _marks_within(line: str, registry: PolicyRegistry, skip: int) -> Iterator[tuple[int, Label]]:
    """Portion marks after the opening one: (offset in the line, label)."""
    portions = _levels(registry).portions
    folded, offsets = fold_mapped(line)
    start = next(i for i, at in enumerate(offsets) if at >= skip)
    for match in _PORTION_ANYWHERE.finditer(folded, start):
        inner = _inner(match)
        at = match.start()
        if not inner.isupper() and at > 0 and folded[at - 1].isalnum():
            continue  # "le(s) destinataire(s)": French plural, not a mark
        if _portion_head(inner) in portions:
            yield offsets[at], _portion(registry, inner, "body", line)


# One vocabulary per registry, dropped with it (a registry's policies never change).
_CACHE: weakref.WeakKeyDictionary[PolicyRegistry, _Levels] = weakref.WeakKeyDictionary()


def _levels(registry: PolicyRegistry) -> _Levels:
    found = _CACHE.get(registry)
    if found is None:
        found = _CACHE[registry] = _Levels(registry)
    return found


_VALUE_SEPARATOR = re.compile(r"[;,]")
_KEYWORDS = re.compile(r"keyword|categor|mots", re.IGNORECASE)
_COUNTRY_CODES = re.compile(r"\s*[A-Z]{3}\s*")


def _carried_lines(item: Carried) -> Iterator[str]:
    for line in item.text.splitlines():
        # Keywords and categories list several values ("logistique, TRÈS SECRET;
        # dossier"): each value is read on its own, so the most restrictive one
        # counts whatever the order. "REL TO FRA, DEU" stays one value. A field
        # whose purpose is the classification is one marking, read whole.
        if item.explicit:
            yield line
        elif _KEYWORDS.search(item.source):
            yield from _values(line)
        else:
            yield line
            if ";" in line:
                yield from line.split(";")


def _values(line: str) -> list[str]:
    values: list[str] = []
    for piece in _VALUE_SEPARATOR.split(line):
        if values and _COUNTRY_CODES.fullmatch(piece) and "REL TO" in normalise(values[-1]):
            values[-1] = f"{values[-1]}, {piece.strip()}"
        elif piece.strip():
            values.append(piece)
    return values or [line]


def _keyword_marking(item: Carried, registry: PolicyRegistry) -> Label | None:
    """A level written in capitals anywhere in a keywords field ("logistique TRES SECRET")."""
    if not _KEYWORDS.search(item.source):
        return None
    levels = _levels(registry)
    words = fold(item.text, registry).split()
    found: list[Label] = []
    for start in range(len(words)):
        rest = " ".join(words[start:])
        head = levels.head(normalise(_variant(rest.strip(_DECORATION))))
        opening = " ".join(words[start : start + len(head[0].split())]) if head else ""
        if head is not None and len(head[0]) >= 3 and _upper(opening):
            found.append(_longest_marking(registry, normalise(_variant(rest)), head[0]))
    return join(*found) if found else None


@dataclass
class _Line:
    segment: int
    start: int
    text: str
    kind: str  # "banner", "title" or "text"
    opening: Label | None = None
    opening_end: int = 0


def line_breaks(text: str) -> list[str]:
    """The lines of `text` as every reader of markings sees them (any Unicode line boundary)."""
    return _LINE_BREAK.split(text)[::2]


def detect_markings(
    document: ExtractedDocument, registry: PolicyRegistry, *, inherited: Label | None = None
) -> DetectedMarkings:
    """Banners, title lines and portion marks of one document.

    `inherited` is a label the document takes at least (an e-mail attachment
    takes its message's); it counts as an outer marking. Attachments are
    examined on their own call.

    Raises:
        InvalidLabel: a line or field looks like a marking that cannot be read.
    """
    banners: list[Banner] = []
    for item in document.carried:
        for entry in _carried_lines(item):
            found = classify_line(entry, registry, item.source, explicit=item.explicit)
            if found is not None:
                banners.append(Banner(found[1], item.source, entry.strip()))
        keyword = _keyword_marking(item, registry)
        if keyword is not None:
            banners.append(Banner(keyword, item.source, item.text))
    lines: list[_Line] = []
    for index, segment in enumerate(document.segments):
        offset = segment.start
        parts = _LINE_BREAK.split(segment.text)
        for text, brk in zip(parts[::2], [*parts[1::2], ""], strict=True):
            found = classify_line(text, registry, "body")
            line = _Line(index, offset, text, found[0] if found else "text")
            if found is not None:
                banners.append(Banner(found[1], "body", text))
            else:
                opening = portion_label(text, registry)
                if opening is not None:
                    line.opening, line.opening_end = opening
            lines.append(line)
            offset += len(text) + len(brk)
    outer = [b.label for b in banners] + ([inherited] if inherited else [])
    raw = [line.opening for line in lines if line.opening is not None]
    raw += [lb for line in lines for _, lb in _marks_within(line.text, registry, line.opening_end)]
    residual = _residual(join(*outer), raw, _levels(registry)) if outer else None

    memo: dict[int, Label] = {}  # portion labels are shared objects (parsed once per mark)

    def effective(label: Label) -> Label:
        if id(label) not in memo:
            memo[id(label)] = join(label, residual) if residual is not None else label
        return memo[id(label)]

    distinct = {id(label): label for label in raw}.values()
    everything = outer + [effective(label) for label in distinct]
    document_label = join(*everything) if everything else None
    pieces: list[Piece] = []
    for line in lines:
        if line.kind == "banner":
            pieces.append(Piece(line.segment, line.start, line.start + len(line.text), None, True))
            continue
        current = effective(line.opening) if line.opening is not None else document_label
        cut = 0
        for at, mark in _marks_within(line.text, registry, line.opening_end):
            if at > cut:
                pieces.append(Piece(line.segment, line.start + cut, line.start + at, current))
                cut = at
            # A mark inside a line only raises: it cannot tell where a lower portion starts.
            current = join(current, effective(mark)) if current is not None else effective(mark)
        pieces.append(Piece(line.segment, line.start + cut, line.start + len(line.text), current))
    return DetectedMarkings(tuple(banners), tuple(pieces), document_label)


def _residual(outer: Label, portions: list[Label], levels: _Levels) -> Label:
    """What every portion keeps of the outer marking: the categories portions never mark.

    Its level is the lowest, so a portion keeps its own level. A release category
    counts as marked only when a portion mark writes it out ("(S//REL TO DEU)"):
    the one a national level implies ("(DR)" is SPÉCIAL FRANCE) is not a sign
    that unmarked portions are released more widely.
    """
    compartments = frozenset().union(*(p.compartments for p in portions))
    handling = frozenset().union(*(p.handling for p in portions))
    categories = {name for p in portions for name in levels.release_marked.get(id(p), ())}
    return Label(
        policy=outer.policy,
        level=0,
        compartments=outer.compartments - compartments,
        releasable=tuple((n, v) for n, v in outer.releasable if n not in categories),
        handling=outer.handling - handling,
    )
