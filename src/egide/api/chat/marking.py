"""The marking line a free-text answer starts with, for clients that show only the text.

Clients such as Open WebUI show the answer's text and nothing else: the
`X-Egide-Label` header and the `egide` field never reach the reader. With
`EGIDE_MARKING_IN_CONTENT=first-line` (the default) every free-text answer,
whole or streamed, starts with its marking and a blank line, so a copied
answer carries it. JSON answers (a `response_format`, a tool call) are left
as they are: a program reads them, and a prefix would break the JSON.
"""

from __future__ import annotations

from egide.api.chat.protocol import ChatCompletionRequest
from egide.serving.gateway import Admission, Gateway


def is_json_answer(body: ChatCompletionRequest) -> bool:
    """Whether the answer is JSON for a program (a JSON response format)."""
    return body.response_format is not None and body.response_format.type != "text"


def marking_line(gateway: Gateway, admission: Admission, body: ChatCompletionRequest) -> str:
    """The text a free-text answer starts with: its marking line, or nothing."""
    if gateway.settings.marking_in_content == "off" or is_json_answer(body):
        return ""
    return f"{admission.output_marking}\n\n"


__all__ = ["is_json_answer", "marking_line"]
