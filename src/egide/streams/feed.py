"""A live feed of one reader's alerts, for `egide alerts tail -f` and `GET /v1/alerts/stream`.

Workers commit in parallel, so an alert stamped a moment before the newest one
seen may commit after it. The feed therefore looks back `OVERLAP` behind its
cursor on every poll, leaving out the alerts it has already given: nothing is
missed, nothing is given twice. Every poll goes through
`StreamService.alerts` (role, label filter in the SQL, journal entry of what
is returned), so the feed gives what the reader may read at each poll.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from egide.core.principals import Principal
from egide.streams.service import MAX_ALERTS_PAGE, AlertView, StreamService

OVERLAP = timedelta(seconds=5)


class AlertFeed:
    """The alerts one reader may read that were raised after the feed started, each once."""

    def __init__(
        self,
        service: StreamService,
        principal: Principal,
        after: tuple[datetime, int] | None = None,
    ) -> None:
        service.open_feed(principal)
        self._service = service
        self._principal = principal
        # `after` (a reconnecting client's last event) resumes the feed there: what was
        # raised since is given first. Without it, the feed starts at the newest alert.
        self._cursor = after if after is not None else service.latest_cursor()
        # Alerts up to the cursor are not news, even those that commit late: they are
        # marked given (ids only, none returned to anyone).
        since = self._cursor[0] - OVERLAP if self._cursor else None
        self._given: dict[int, datetime] = service.alert_times_since(since)
        if after is not None:
            self._given = {i: t for i, t in self._given.items() if (t, i) <= after}

    def reauthorise(self, principal: Principal) -> None:
        """Read as `principal` from the next poll on (the caller, authenticated again).

        A live feed holds its reader for a long time: the reader's key may be
        revoked, their account disabled or their clearance changed meanwhile. The
        API re-authenticates them every few seconds and hands the result here.
        """
        self._principal = principal

    def poll(self) -> list[AlertView]:
        """Alerts not given before, oldest first."""
        after = (self._cursor[0] - OVERLAP, 0) if self._cursor else None
        fresh: list[AlertView] = []
        while True:
            page = self._service.alerts(
                self._principal,
                after=after,
                limit=MAX_ALERTS_PAGE,
                exclude=set(self._given),
                journal_empty=False,
            )
            fresh += page
            self._given.update((a.id, a.created_at) for a in page)
            if len(page) < MAX_ALERTS_PAGE:
                break
            after = page[-1].cursor
        if fresh:
            newest = max(a.cursor for a in fresh)
            if self._cursor is None or newest > self._cursor:
                self._cursor = newest
        if self._cursor is not None:
            horizon = self._cursor[0] - OVERLAP
            self._given = {i: t for i, t in self._given.items() if t >= horizon}
        return fresh
