"""Ask: questions to the knowledge base, answers with numbered citations, kept conversations.

Every question goes to `platform.conversations` (the `ConversationService`),
which asks the knowledge service — the same call as `POST /v1/knowledge/ask`
and the `egide-rag` model — and keeps the turn under its labels. The page
only translates: the service refuses a working label above the clearance, a
collection the user may not use, or someone else's conversation.

Two ways to ask, the same answer:

- without script, the form posts to `POST /ask` and the browser follows to
  the conversation's page (303);
- with the console's script, the form posts to `POST /ask/stream`, which
  answers with Server-Sent Events: `meta` (the conversation), `delta` (the
  answer's text, piece by piece), `turn` (the turn rendered by the server,
  every marking included) and `label` (the page's new high-water mark, for the
  banners). The knowledge service answers extractively in one piece today; the
  events are those a generative answer will stream token by token.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Form, Response
from fastapi.responses import StreamingResponse
from markupsafe import Markup, escape

from egide.console.pages.documents import _labels_within
from egide.console.web import SECURITY_HEADERS, Checked, SignedIn, View, page_router
from egide.core.labels import Label
from egide.knowledge.conversations import Message, Turn

router = page_router()

_CITATION = re.compile(r"\[(\d+)\]")


@router.get("/ask")
async def ask_page(view: SignedIn) -> Response:
    """A new conversation: the working label and the collection are chosen before asking."""
    return await _page(view, None)


@router.get("/ask/history")
async def history(view: SignedIn, done: str = "") -> Response:
    """The user's own conversations, most recent first, each with its marking."""
    found = await view.call(view.platform.conversations.conversations, view.principal)
    return view.render("ask/history.html", title=view.t("ask.history"), found=found, done=done)


@router.get("/ask/{conversation_id}")
async def conversation_page(view: SignedIn, conversation_id: int) -> Response:
    """One of the user's conversations, its turns, and the form to ask a follow-up."""
    return await _page(view, conversation_id)


@router.post("/ask")
async def ask(
    view: Checked,
    question: Annotated[str, Form(max_length=2000)],
    label: Annotated[str, Form(max_length=500)] = "",
    collection: Annotated[str, Form(max_length=200)] = "",
    conversation: Annotated[int | None, Form()] = None,
) -> Response:
    """Ask without script: the service answers, then the browser shows the conversation."""
    turn = await _ask(view, question, label, collection, conversation)
    return view.redirect(f"/ask/{turn.conversation_id}#m{turn.answer.id}")


@router.post("/ask/stream")
async def ask_stream(
    view: Checked,
    question: Annotated[str, Form(max_length=2000)],
    label: Annotated[str, Form(max_length=500)] = "",
    collection: Annotated[str, Form(max_length=200)] = "",
    conversation: Annotated[int | None, Form()] = None,
) -> Response:
    """Ask from the page's script: the answer as Server-Sent Events (see the module)."""
    turn = await _ask(view, question, label, collection, conversation)
    # Rendered now, through the view: every marking of the turn is the server's.
    fragment = view.console.env.get_template("ask/turn.html").render(
        view=view, t=view.t, turn=(turn.question, turn.answer), linked=_linked
    )
    conversation_mark = str(view.mark(turn.conversation_label))
    marking, level = view.marks.banner()
    events: list[tuple[str, dict[str, Any]]] = [
        ("meta", {"conversation": turn.conversation_id, "url": f"/ask/{turn.conversation_id}"}),
        *(("delta", {"text": piece}) for piece in _pieces(turn.answer.text)),
        ("turn", {"html": fragment, "conversation_marking": conversation_mark}),
        ("label", {"marking": marking, "level": level}),
        ("done", {}),
    ]
    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(_sse(events), media_type="text/event-stream", headers=headers)


@router.post("/ask/{conversation_id}/delete")
async def delete(view: Checked, conversation_id: int) -> Response:
    """Delete one of the user's conversations (the service checks it is theirs, and journals)."""
    await view.call(view.platform.conversations.delete, view.principal, conversation_id)
    return view.redirect("/ask/history?done=deleted")


async def _page(view: View, conversation_id: int | None) -> Response:
    shown = None
    if conversation_id is not None:
        shown = await view.call(
            view.platform.conversations.conversation, view.principal, conversation_id
        )
    collections = await view.call(view.platform.knowledge.collections, view.principal)
    messages = list(shown.messages) if shown else []
    turns = [(messages[i], messages[i + 1]) for i in range(0, len(messages) - 1, 2)]
    default = view.principal.default_label or view.platform.home_label
    return view.render(
        "ask/page.html",
        title=shown.summary.title if shown else view.t("ask.title"),
        conversation=shown,
        turns=turns,
        collections=collections,
        labels=_labels_within(view),
        default=view.platform.policies.canonical(default),
        linked=_linked,
    )


async def _ask(
    view: View, question: str, label: str, collection: str, conversation: int | None
) -> Turn:
    working: Label | None = view.platform.policies.parse(label) if label else None
    return await view.call(
        view.platform.conversations.ask,
        view.principal,
        question,
        conversation=conversation,
        working_label=working,
        collection=collection or None,
    )


def _linked(message: Message) -> Markup:
    """The answer's text, escaped, each `[n]` a link to the cited passage itself.

    The link opens the passage in its document's page (`#passage-<chunk>`); a
    passage of a document the reader may not read (a lower-marked portion of a
    higher document) has no document page for them: it links to the quote below.
    """
    cited = {c.number: c for c in message.citations}

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        citation = cited.get(number)
        if citation is None:
            return match.group(0)
        href = (
            f"/documents/{citation.document_id}#passage-{citation.chunk_id}"
            if citation.document_id is not None
            else f"#c{message.id}-{number}"
        )
        return f'<a class="cite" href="{href}" data-cite="{number}">[{number}]</a>'

    return Markup(_CITATION.sub(link, str(escape(message.text))))


def _pieces(text: str) -> list[str]:
    """The answer's text in word-sized pieces (what a token stream would send)."""
    return re.findall(r"\S+\s*|\s+", text)


async def _sse(events: list[tuple[str, dict[str, Any]]]) -> AsyncIterator[bytes]:
    for name, data in events:
        yield f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
