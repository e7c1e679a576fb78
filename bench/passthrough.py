"""The least a Python gateway can do: a reference for bench/inference.py, not part of Égide.

A bare ASGI app under the same server as `egide serve` (uvicorn with uvloop
and httptools) that forwards each request body unchanged to one engine over a
kept-alive aiohttp connection and returns the engine's answer: no
authentication, no policy, no journal, no validation. What it adds to an
engine's latency is what any Python gateway on the same machine adds before
doing any work of its own; `bench/inference.py` measures it beside Égide.

    .venv/bin/python bench/passthrough.py ENGINE_URL PORT
"""

from __future__ import annotations

import sys
from typing import Any

import aiohttp
import uvicorn


class PassThrough:
    """Forwards every HTTP request to `engine` (same method, path and body)."""

    def __init__(self, engine: str) -> None:
        self.engine = engine.rstrip("/")
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.session is not None
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        async with self.session.request(
            scope["method"],
            self.engine + scope["path"],
            data=body or None,
            headers={"content-type": "application/json"},
        ) as reply:
            answer = await reply.read()
            status = reply.status
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(answer)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.session = aiohttp.ClientSession(trust_env=False)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


if __name__ == "__main__":
    uvicorn.run(
        PassThrough(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning"
    )
