"""The NATS JetStream source: a durable pull consumer that several workers share.

Every worker started with the same `--stream` and `--durable` pulls from one
consumer: JetStream hands each message to one of them, and takes it back for
another if it is not acknowledged within `ack_wait` (a worker that died). A
worker acknowledges a message only after `Worker.handle` has committed its
results; a redelivered message finds its result and changes nothing, so the
results hold each message exactly once.

After the commit and before the acknowledgement the worker publishes what the
message produced: each alert on the alert subject (header `Egide-Label`, and
`Nats-Msg-Id` set to the alert id so that a stream capturing the subject keeps
one copy of an alert a redelivery published again), and a quarantined
message's source and reason (never its text: its label is unknown) on the
quarantine subject. Subscribers to the alert subject receive every alert
whatever its label: only systems accredited for the flow's highest label may
subscribe; people read alerts through the API, filtered by their clearance.
"""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import dataclass

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from egide.errors import Unavailable
from egide.streams.worker import Outcome, RunStats, Worker

LABEL_HEADER = "Egide-Label"


@dataclass(frozen=True)
class NatsSource:
    """Where a worker reads and publishes.

    Attributes:
        url: The server (`nats://127.0.0.1:4222`).
        stream: The JetStream stream holding the messages (created if absent).
        subject: The subject messages are published on.
        durable: The durable consumer's name, shared by every worker of the flow.
        alert_subject: Where alerts are published.
        quarantine_subject: Where quarantined messages are announced.
        batch: Messages pulled at once.
        ack_wait: Seconds before an unacknowledged message is delivered again.
        idle_exit: Stop after this many seconds with nothing to read (None: run until stopped).
    """

    url: str
    stream: str
    subject: str
    durable: str
    alert_subject: str = "egide.alerts"
    quarantine_subject: str = "egide.quarantine"
    batch: int = 64
    ack_wait: float = 30.0
    idle_exit: float | None = None


def run_nats(worker: Worker, source: NatsSource) -> RunStats:
    """Consume `source` until stopped (SIGINT, SIGTERM) or idle for `idle_exit` seconds."""
    return asyncio.run(_run(worker, source))


async def _run(worker: Worker, source: NatsSource) -> RunStats:
    try:
        nc = _LabelClient()
        await nc.connect(source.url, connect_timeout=5, max_reconnect_attempts=3)
    except (OSError, nats.errors.Error) as error:
        raise Unavailable(
            f"cannot reach the NATS server at {source.url} ({error}); start it or correct --source"
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    stats = RunStats()
    try:
        js = nc.jetstream()
        await _ensure_stream(js, source)
        config = ConsumerConfig(
            durable_name=source.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=source.ack_wait,
            max_ack_pending=max(1000, source.batch * 4),
        )
        sub = await js.pull_subscribe(
            source.subject, durable=source.durable, stream=source.stream, config=config
        )
        idle = 0.0
        while not stop.is_set():
            try:
                messages = await sub.fetch(source.batch, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                idle += 1.0
                if source.idle_exit is not None and idle >= source.idle_exit:
                    break
                continue
            idle = 0.0
            outcomes = await asyncio.to_thread(_handle_all, worker, source, messages)
            for message, outcome in zip(messages, outcomes, strict=True):
                await _publish(nc, source, outcome)
                await message.ack()
                stats.count(outcome)
        await sub.unsubscribe()
        await nc.flush()  # the last acknowledgements and publications reach the server
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
        # Not drain(): a pull subscription's pending fetch makes it wait its full timeout.
        await nc.close()
    return stats


def _handle_all(worker: Worker, source: NatsSource, messages: list[Msg]) -> list[Outcome]:
    return worker.handle_many(
        [
            (
                message.data,
                f"nats:{source.stream}:{message.metadata.sequence.stream}",
                _labels(message),
            )
            for message in messages
        ]
    )


def _labels(message: Msg) -> list[str]:
    """Every label header, whatever its case and however many: all are joined, none wins."""
    value = (message.headers or {}).get(LABEL_HEADER)
    return value.split(_SEPARATOR) if value is not None else []


_SEPARATOR = "\n"  # never inside a header value (a header line ends at CRLF)


class _LabelClient(Client):
    """A client that keeps every `Egide-Label` header, in any case, not only the last.

    nats-py reads headers into a dict: a second `Egide-Label` (or an `egide-label`)
    would replace, or sit beside, the first. Every label value is kept under
    `LABEL_HEADER`, separated by a newline, so that the message's label is their join.
    """

    @staticmethod
    def _parse_header_lines(raw: bytes) -> dict[str, str]:
        labels: list[str] = []
        kept: list[bytes] = []
        for line in raw.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if sep and name.strip().lower() == LABEL_HEADER.lower().encode():
                labels.append(value.strip().decode("utf-8", errors="replace"))
            else:
                kept.append(line)
        headers = Client._parse_header_lines(b"\r\n".join(kept))
        if labels:
            headers[LABEL_HEADER] = _SEPARATOR.join(labels)
        return headers


async def _publish(nc: Client, source: NatsSource, outcome: Outcome) -> None:
    if outcome.rejected is not None:
        where, reason = outcome.rejected
        body = json.dumps({"source": where, "reason": reason}).encode()
        await nc.publish(source.quarantine_subject, body, headers={"Nats-Msg-Id": where})
    if outcome.processed is not None:
        for alert in outcome.processed.alerts:
            headers = {"Nats-Msg-Id": f"alert-{alert.id}", LABEL_HEADER: alert.label}
            await nc.publish(
                source.alert_subject, json.dumps(alert.as_json()).encode(), headers=headers
            )


async def _ensure_stream(js: nats.js.JetStreamContext, source: NatsSource) -> None:
    try:
        await js.stream_info(source.stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(StreamConfig(name=source.stream, subjects=[source.subject]))
