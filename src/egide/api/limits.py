"""Refuse request bodies above the configured size with 413, before they are read whole."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from egide.api.errors import error_body


class BodyLimitMiddleware:
    """Pure ASGI middleware (no per-request task overhead) enforcing `max_bytes`.

    A declared `Content-Length` above the limit is refused at once; a chunked
    body is counted as it arrives and refused when it crosses the limit.
    `routes` gives some paths a limit of their own (document uploads), with the
    setting an operator raises to change it.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        routes: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit, setting = self.routes.get(
            scope["path"], (self.max_bytes, "EGIDE_API_MAX_BODY_BYTES")
        )
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    break  # the server refuses a malformed length itself
                if declared > limit:
                    await _refuse(send, limit, setting)
                    return
                # The server delivers no more than the declared length: nothing to count.
                await self.app(scope, receive, send)
                return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    # Answer 413 now and tell the app the client left, so it stops
                    # reading; whatever it tries to send afterwards is dropped.
                    refused = True
                    await _refuse(send, limit, setting)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise


async def _refuse(send: Send, limit: int, setting: str) -> None:
    body = json.dumps(
        error_body(
            413,
            f"the request body is larger than {limit} bytes; send less "
            f"(split the input) or ask the operator to raise {setting}",
            "payload_too_large",
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
