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

A message whose processing raises (a database error, a fault an input
triggers) — as opposed to one refused for a reason, which is quarantined at
once — is taken back (`nak`, with a growing delay) and tried again, alone, up
to `max_deliver` deliveries (JetStream's `max_deliver` on the durable
consumer): past that it is quarantined with the reason `failed N times: …`
and acknowledged, so that no message is delivered for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from dataclasses import dataclass, replace

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.client import JetStreamContext

from egide.errors import Unavailable
from egide.streams.metrics import WorkerMetrics
from egide.streams.worker import Outcome, RunStats, Worker

LABEL_HEADER = "Egide-Label"
MAX_RETRY_DELAY = 30.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NatsSource:
    """Where a worker reads and publishes.

    Attributes:
        url: The server (`nats://127.0.0.1:4222`), or several of a cluster, comma-separated.
        stream: The JetStream stream holding the messages (created if absent).
        subject: The subject messages are published on.
        durable: The durable consumer's name, shared by every worker of the flow.
        alert_subject: Where alerts are published.
        quarantine_subject: Where quarantined messages are announced.
        batch: Messages pulled at once.
        ack_wait: Seconds before an unacknowledged message is delivered again.
        idle_exit: Stop after this many seconds with nothing to read (None: run until stopped).
        max_deliver: Deliveries of a message that keeps failing before it is quarantined.
        lag_interval: Seconds between two reads of the consumer's lag (for the metrics).
        batch_wait: Seconds a batch waits for more messages once its first has come.
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
    max_deliver: int = 5
    lag_interval: float = 5.0
    batch_wait: float = 0.01


def run_nats(worker: Worker, source: NatsSource, metrics: WorkerMetrics | None = None) -> RunStats:
    """Consume `source` until stopped (SIGINT, SIGTERM) or idle for `idle_exit` seconds."""
    return asyncio.run(_run(worker, source, metrics))


async def _run(worker: Worker, source: NatsSource, metrics: WorkerMetrics | None) -> RunStats:
    try:
        # Several servers of a cluster, comma-separated; the client also learns the
        # others from the server it reaches, and moves to one of them if it goes.
        servers = [url.strip() for url in source.url.split(",") if url.strip()]
        nc = _LabelClient()
        await nc.connect(servers, connect_timeout=5, max_reconnect_attempts=30)
    except (OSError, nats.errors.Error) as error:
        raise Unavailable(
            f"cannot reach the NATS server at {source.url} ({error}); start it or correct --source"
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    stats = RunStats(metrics=metrics)
    watcher: asyncio.Task[None] | None = None
    try:
        js = nc.jetstream()
        await _ensure_stream(js, source)
        config = ConsumerConfig(
            durable_name=source.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=source.ack_wait,
            max_deliver=source.max_deliver,
            max_ack_pending=max(1000, source.batch * 4),
        )
        await _ensure_consumer(js, source, config)
        sub = await js.pull_subscribe(
            source.subject, durable=source.durable, stream=source.stream, config=config
        )
        if metrics is not None:
            watcher = asyncio.create_task(_watch_lag(js, source, metrics, stop))
        idle = 0.0
        while not stop.is_set():
            try:
                messages = await _fetch(sub, source)
            except (TimeoutError, nats.errors.TimeoutError):
                idle += 1.0
                if source.idle_exit is not None and idle >= source.idle_exit:
                    break
                continue
            idle = 0.0
            started = time.perf_counter()
            try:
                outcomes: list[Outcome | None] = list(
                    await asyncio.to_thread(_handle_all, worker, source, messages)
                )
            except Exception as error:  # any fault: retry the messages one by one
                log.warning("a batch of %d failed (%s); retrying one by one", len(messages), error)
                outcomes = [await _handle_one(worker, source, m) for m in messages]
            if metrics is not None:
                metrics.batch_seconds.labels(worker.name).observe(time.perf_counter() - started)
            for message, outcome in zip(messages, outcomes, strict=True):
                if outcome is None:  # failed, taken back for a later delivery
                    stats.fail()
                    continue
                await _publish(nc, source, outcome)
                await message.ack()
                stats.count(outcome, published=message.metadata.timestamp)
        await sub.unsubscribe()
        await nc.flush()  # the last acknowledgements and publications reach the server
    finally:
        stop.set()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
        # Not drain(): a pull subscription's pending fetch makes it wait its full timeout.
        await nc.close()
    return stats


async def _fetch(sub: JetStreamContext.PullSubscription, source: NatsSource) -> list[Msg]:
    """The next batch: waits up to a second for a first message, then `batch_wait` for more.

    A single `fetch(batch)` waits until the batch is full or its timeout passes: at a
    low rate a message would wait for 63 others. The first message is taken as soon
    as it arrives; those already there (or arriving within `batch_wait`) join it, so a
    busy flow still commits whole batches and a quiet one adds milliseconds, not a second.
    """
    messages = await sub.fetch(1, timeout=1.0)
    if source.batch > 1:
        with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
            messages += await sub.fetch(source.batch - 1, timeout=source.batch_wait)
    return messages


async def _handle_one(worker: Worker, source: NatsSource, message: Msg) -> Outcome | None:
    """One message of a failed batch: its outcome, or None when it failed and was taken back.

    A message that has failed `max_deliver` times is quarantined (and so acknowledged).
    """
    try:
        return (await asyncio.to_thread(_handle_all, worker, source, [message]))[0]
    except Exception as error:  # the fault is reported and counted
        attempts = message.metadata.num_delivered
        where = _where(source, message)
        reason = _error_text(error)
        if attempts < source.max_deliver:
            delay = min(MAX_RETRY_DELAY, 2.0**attempts)
            log.warning(
                "%s failed (delivery %d of %d), again in %.0f s: %s",
                where,
                attempts,
                source.max_deliver,
                delay,
                reason,
            )
            await message.nak(delay=delay)
            return None
        try:
            return await asyncio.to_thread(
                worker.dead_letter, message.data, source=where, attempts=attempts, error=reason
            )
        except Exception as again:  # nothing more can be done here
            log.error(
                "%s failed %d times and could not be quarantined (%s); JetStream will not "
                "deliver it again: it stays in stream %s",
                where,
                attempts,
                _error_text(again),
                source.stream,
            )
            await message.nak()
            return None


def _error_text(error: Exception) -> str:
    """The error's kind and first line: never the parameters a database error quotes."""
    origin = getattr(error, "orig", None) or error
    lines = str(origin).strip().splitlines()
    first = lines[0][:300] if lines else ""
    return f"{type(origin).__name__}: {first}" if first else type(origin).__name__


async def _watch_lag(
    js: nats.js.JetStreamContext, source: NatsSource, metrics: WorkerMetrics, stop: asyncio.Event
) -> None:
    """Read the durable consumer's lag from the server every `lag_interval` seconds."""
    while not stop.is_set():
        try:
            info = await js.consumer_info(source.stream, source.durable, timeout=5)
            metrics.consumer.update(
                source.stream,
                source.durable,
                int(info.num_pending or 0),
                int(info.num_ack_pending or 0),
                int(info.num_redelivered or 0),
            )
        except (TimeoutError, nats.errors.Error) as error:
            log.warning("cannot read the lag of consumer %s: %s", source.durable, error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=source.lag_interval)


async def _ensure_consumer(
    js: nats.js.JetStreamContext, source: NatsSource, config: ConsumerConfig
) -> None:
    """Create the durable consumer, or bring an existing one's limits to this worker's."""
    try:
        info = await js.consumer_info(source.stream, source.durable)
    except nats.js.errors.NotFoundError:
        return  # pull_subscribe creates it with `config`
    current = info.config
    if current.max_deliver == config.max_deliver and current.ack_wait == config.ack_wait:
        return
    wanted = replace(current, max_deliver=config.max_deliver, ack_wait=config.ack_wait)
    try:
        await js.add_consumer(source.stream, config=wanted)
    except nats.js.errors.Error as error:
        log.warning(
            "consumer %s keeps max_deliver=%s, ack_wait=%s (cannot update it: %s)",
            source.durable,
            current.max_deliver,
            current.ack_wait,
            error,
        )


def _handle_all(worker: Worker, source: NatsSource, messages: list[Msg]) -> list[Outcome]:
    return worker.handle_many(
        [
            (
                message.data,
                _where(source, message),
                _labels(message),
            )
            for message in messages
        ]
    )


def _where(source: NatsSource, message: Msg) -> str:
    return f"nats:{source.stream}:{message.metadata.sequence.stream}"


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
