"""What an identity provider may say about a user: only ever less than Égide's own record.

Égide's record of a user (clearance, roles, organisation) is authoritative.
A token's claims may *narrow* it for the session — a lower clearance, fewer
roles, a working label — never widen it: a TRÈS SECRET claim for a user
recorded SECRET still gives SECRET, and a role the record lacks is not granted.
"""

from __future__ import annotations

from dataclasses import dataclass

from egide.core.labels import Clearance, Label
from egide.core.principals import Role
from egide.errors import InvalidLabel


@dataclass(frozen=True)
class Claims:
    """The narrowing a signed-in session asks for; None means "as recorded"."""

    clearance: Clearance | None = None
    roles: frozenset[Role] | None = None
    default_label: Label | None = None


def narrowed_clearance(recorded: Clearance, claimed: Clearance | None) -> Clearance:
    """The clearance of a session: the recorded one, lowered by the claim, never raised.

    The level is the lower of the two; compartments and nationalities are those
    held in both. A claim that cannot be compared with the record (policies
    without an equivalence) narrows nothing and raises nothing: the record holds.
    """
    if claimed is None:
        return recorded
    mine = Label(policy=recorded.policy, level=recorded.level)
    theirs = Label(policy=claimed.policy, level=claimed.level)
    try:
        lower = mine.dominates(theirs)
    except InvalidLabel:
        return recorded
    base = claimed if lower else recorded
    return Clearance(
        policy=base.policy,
        level=base.level,
        compartments=recorded.compartments & claimed.compartments,
        nationality=recorded.nationality & claimed.nationality,
    )


def session_label(
    clearance: Clearance, claimed: Label | None, recorded: Label | None
) -> Label | None:
    """The default working label of a session: the claim's, else the record's, if permitted."""
    for label in (claimed, recorded):
        if label is not None and clearance.permits(label).allowed:
            return label
    return None


__all__ = ["Claims", "narrowed_clearance", "session_label"]
