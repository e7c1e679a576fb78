"""Witnesses on another machine: a NATS JetStream subject, or syslog.

Whoever holds the database host, even with root, cannot take back a seal
already acknowledged by a JetStream cluster elsewhere, nor one already sent to
a remote syslog collector. JetStream can also be read back, so
``egide audit verify`` checks the chain against it; syslog is write-only from
Égide's side (a copy for the security operations centre).

The NATS client is asyncio; a witness is called from the sealer's thread, so
it keeps a private event loop and one connection on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from egide.audit.chain import Checkpoint
from egide.errors import Unavailable

T = TypeVar("T")

_FETCH_BATCH = 1000


class NatsWitness:
    """Seals published to a JetStream subject, acknowledged before `record` returns.

    Args:
        url: The NATS server (``nats://witness.enclave:4222``).
        subject: The subject seals are published to.
        stream: The stream holding the subject; created (deny delete, deny purge,
            file storage) if it does not exist.
        timeout: Seconds to wait for the server on each call.
    """

    def __init__(self, url: str, subject: str, stream: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.subject = subject
        self.stream = stream
        self.timeout = timeout
        self.description = f"NATS JetStream subject {subject} at {url}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = threading.Lock()

    def record(self, seal: Checkpoint) -> None:
        """Publish `seal` and wait for the stream's acknowledgement.

        Raises:
            Unavailable: the server did not acknowledge it in time.
        """
        payload = json.dumps(seal.to_json(), separators=(",", ":")).encode("ascii")
        self._run(self._publish(payload))

    def seals(self) -> list[Checkpoint]:
        """Every seal on the subject, oldest first.

        Raises:
            Unavailable: the server cannot be reached.
        """
        return self._run(self._read())

    def close(self) -> None:
        """Close the connection and the private loop."""
        with self._lock:
            self._shutdown()

    def _shutdown(self) -> None:
        # Under self._lock. Every task the client started ends before the loop closes.
        loop, client = self._loop, self._client
        self._loop, self._client, self._js = None, None, None
        if loop is None:
            return
        if client is not None and not client.is_closed:
            with contextlib.suppress(Exception):  # closing a broken connection may fail
                loop.run_until_complete(asyncio.wait_for(client.close(), self.timeout))
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(_drain(pending))
        loop.close()

    def _run(self, work: Awaitable[T]) -> T:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            try:
                return self._loop.run_until_complete(asyncio.wait_for(work, self.timeout))
            except (TimeoutError, OSError, nats.errors.Error) as error:
                self._shutdown()  # reconnect on the next call
                reason = str(error) or type(error).__name__
                raise Unavailable(
                    f"the audit {self.description} did not answer ({reason}): "
                    "check that the NATS server is up and EGIDE_AUDIT_WITNESS_NATS_URL"
                ) from error

    async def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            self._client = await nats.connect(
                self.url, connect_timeout=self.timeout, max_reconnect_attempts=1
            )
            js = self._client.jetstream(timeout=self.timeout)
            try:
                await js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                await js.add_stream(
                    StreamConfig(
                        name=self.stream,
                        subjects=[self.subject],
                        storage=StorageType.FILE,
                        deny_delete=True,
                        deny_purge=True,
                    )
                )
            self._js = js
        return self._js

    async def _publish(self, payload: bytes) -> None:
        js = await self._jetstream()
        await js.publish(self.subject, payload, stream=self.stream)

    async def _read(self) -> list[Checkpoint]:
        js = await self._jetstream()
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
        )
        subscription = await js.pull_subscribe(self.subject, stream=self.stream, config=config)
        seals: list[Checkpoint] = []
        try:
            while True:
                try:
                    messages = await subscription.fetch(_FETCH_BATCH, timeout=1.0)
                except nats.errors.TimeoutError:
                    break
                for message in messages:
                    seals.append(Checkpoint.from_json(json.loads(message.data)))
                if messages and messages[-1].metadata.num_pending == 0:
                    break
        finally:
            await subscription.unsubscribe()
        return seals


async def _drain(tasks: set[asyncio.Task[Any]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


class SyslogWitness:
    """Seals sent as syslog messages (RFC 3164, facility authpriv) to a collector.

    Args:
        address: A local socket path (``/dev/log``) or ``host:port`` (UDP).
    """

    _PRIORITY = 10 * 8 + 6  # authpriv.info

    def __init__(self, address: str) -> None:
        self.address = address
        self.description = f"syslog {address}"

    def record(self, seal: Checkpoint) -> None:
        """Send one message; raises `Unavailable` if it cannot be sent."""
        body = json.dumps(seal.to_json(), separators=(",", ":"))
        message = f"<{self._PRIORITY}>egide-audit: {body}".encode("ascii")
        target: Any
        if ":" in self.address and not self.address.startswith("/"):
            host, _, port = self.address.rpartition(":")
            family, target = socket.AF_INET, (host, int(port))
        else:
            family, target = socket.AF_UNIX, self.address
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, target)
        except (OSError, ValueError) as error:
            raise Unavailable(
                f"cannot send the audit seal to {self.description} ({error}): "
                "check EGIDE_AUDIT_WITNESS_SYSLOG"
            ) from error

    def seals(self) -> list[Checkpoint]:
        """Syslog cannot be read back from here: compare with the collector's copy."""
        return []

    def close(self) -> None:
        """Nothing to release: a socket is opened for each seal."""
