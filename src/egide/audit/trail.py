"""The journal entries of what services refuse, and of the reads they serve.

A refused action rolls its own transaction back, and its journal entry with
it; `Trail` writes the refusal in a transaction of its own, so that every
401, 403 and 404 a service answers leaves a record: who asked (`anonymous`
when no credential verified), what action, on which objects, and why — under
the installation's home label, since a refusal records the caller's request,
never the label of what was refused. Reads are journaled after the read's own
transaction and before anything is returned: a result whose entry cannot be
written is not returned.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from egide.audit.journal import Journal
from egide.core.principals import Principal
from egide.errors import AuthenticationFailed, EgideError, Forbidden, NotFound
from egide.store import Database

ANONYMOUS = "anonymous"
# What counts as a refusal: the caller is unknown, not allowed, or asks for what it may
# not see. Bad input (400) and exhausted quotas (429) are answered, not journaled, so a
# flood of them cannot grow the journal.
REFUSALS: tuple[type[EgideError], ...] = (AuthenticationFailed, Forbidden, NotFound)


def actor_of(principal: Principal | None) -> str:
    """How the journal names a caller, `anonymous` when none was authenticated."""
    return principal.actor if principal is not None else ANONYMOUS


def refusal_details(error: EgideError, details: Mapping[str, Any] | None) -> dict[str, Any]:
    """The details of a refusal entry: the status, the error code and its reason."""
    return {
        **(details or {}),
        "refused": True,
        "status": error.http_status,
        "error": error.code,
        "reason": error.message,
    }


class Trail:
    """Journals refusals and reads for the services, each in its own transaction.

    Args:
        database: Where the journal lives.
        journal: The hash-chained journal.
        home: Canonical marking of the home policy's lowest label (refusals carry it).
    """

    def __init__(self, database: Database, journal: Journal, home: str) -> None:
        self._db = database
        self._journal = journal
        self.home = home

    def refused(
        self,
        principal: Principal | None,
        action: str,
        error: EgideError,
        *,
        objects: Sequence[str] = (),
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Journal that `action` was refused to `principal` with `error`."""
        with self._db.transaction() as session:
            self._journal.append(
                session,
                actor=actor_of(principal),
                action=action,
                objects=list(objects),
                label=self.home,
                details=refusal_details(error, details),
            )

    @contextmanager
    def guard(
        self,
        principal: Principal | None,
        action: str,
        *,
        objects: Sequence[str] = (),
        details: Mapping[str, Any] | None = None,
    ) -> Iterator[None]:
        """Journal a refusal raised inside the block, then let it go on."""
        try:
            yield
        except REFUSALS as error:
            self.refused(principal, action, error, objects=objects, details=details)
            raise

    def read(
        self,
        principal: Principal,
        action: str,
        *,
        objects: Sequence[str],
        label: str,
        details: Mapping[str, Any],
    ) -> None:
        """Journal a read that was served (call before returning its result)."""
        with self._db.transaction() as session:
            self._journal.append(
                session,
                actor=principal.actor,
                action=action,
                objects=list(objects),
                label=label,
                details=dict(details),
            )


__all__ = ["ANONYMOUS", "REFUSALS", "Trail", "actor_of", "refusal_details"]
