"""The home page: who is signed in and what their roles let them do."""

from __future__ import annotations

from fastapi import Response

from egide.console.web import SignedIn, page_router
from egide.core.access import Action

router = page_router()


@router.get("/")
async def home(view: SignedIn) -> Response:
    """What the signed-in user may do (the role matrix of `egide.core.access`)."""
    allowed = [action for action in Action if view.may(action)]
    return view.render("home.html", title=view.t("home.title"), allowed=allowed)
