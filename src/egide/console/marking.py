"""The marking component: every labelled item a page shows goes through `PageMarks.mark`.

`mark` renders the item's own marking and raises the page's high-water mark
(the join of every label shown); the layout renders the top and bottom
banners from it after the page's body, so a banner can never be lower than
anything on the page. A page that shows nothing labelled carries the home
label (the lowest level of the home policy).

Colours follow the level, not the policy: one CSS class per kind of level
(`LEVEL_CLASSES`, by portion mark); a level of an operator's own policy is
placed by its rank among its policy's levels.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from egide.core.labels import Label, PolicyRegistry, join

LEVEL_CLASSES = {
    "NP": "unclassified",
    "NU": "unclassified",
    "U": "unclassified",
    "DR": "restricted",
    "NR": "restricted",
    "R": "restricted",
    "NC": "confidential",
    "C": "confidential",
    "S": "secret",
    "NS": "secret",
    "TS": "top-secret",
    "CTS": "top-secret",
}
"""CSS class (console.css) of each level, by its portion mark; colours in the style sheet."""

_BY_RANK = ("unclassified", "restricted", "confidential", "secret", "top-secret")


def level_class(label: Label) -> str:
    """The CSS class colouring `label`'s level."""
    known = LEVEL_CLASSES.get(label.level_info.portion)
    if known is not None:
        return known
    top = max(1, len(label.policy.levels) - 1)
    return _BY_RANK[round(label.level * (len(_BY_RANK) - 1) / top)]


class PageMarks:
    """The labels shown on one page, and their join."""

    def __init__(self, policies: PolicyRegistry, home: Label, lang: str) -> None:
        self._policies = policies
        self._lang = lang
        self.high = home

    def label(self, value: Label | str) -> Label:
        """A label from a value or a marking (display or canonical form)."""
        return value if isinstance(value, Label) else self._policies.parse(value)

    def mark(self, value: Label | str, *, portion: bool = False) -> Markup:
        """The marking of one displayed item, counted in the page's high-water mark.

        Args:
            value: The item's label (a `Label` or a marking).
            portion: Show the short portion mark, e.g. `(S)`, with the full marking as title.
        """
        label = self.label(value)
        self.high = join(self.high, label)
        full = self._policies.format(label, self._lang)
        shown = self._policies.portion(label) if portion else full
        return Markup(
            '<span class="marking {cls}" title="{full}" data-marking="{full}">{shown}</span>'
        ).format(cls=level_class(label), full=escape(full), shown=escape(shown))

    def banner(self) -> tuple[str, str]:
        """The page's high-water marking and its CSS class, for the banners."""
        return self._policies.format(self.high, self._lang), level_class(self.high)
