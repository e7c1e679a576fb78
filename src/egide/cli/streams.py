"""`egide worker streams`, `egide stream run|quarantine`, `egide watchlist add|list`,
`egide alerts tail`.

`worker streams` (and its alias `stream run`) is a worker acting as the local
operator (like `serve`): what it does is journaled as `stream:<worker>`. The
watchlist and alert commands act as the person whose API key is given; every
rule is the stream service's.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from typing import Annotated

import typer

from egide.cli.context import ApiKey, authenticated, initialised_platform
from egide.errors import InvalidInput
from egide.streams.extract import with_callsigns
from egide.streams.feed import AlertFeed
from egide.streams.message import MAX_MESSAGE_BYTES
from egide.streams.metrics import WorkerMetrics
from egide.streams.service import AlertView
from egide.streams.worker import RunStats, Worker, run_file

stream_app = typer.Typer(
    help="Analyse message flows (files, NATS JetStream).", no_args_is_help=True
)
watchlist_app = typer.Typer(help="Terms that raise alerts in message flows.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts raised by message flows.", no_args_is_help=True)
worker_app = typer.Typer(help="Worker processes (message flows).", no_args_is_help=True)


def run(
    source: Annotated[
        str,
        typer.Option(help="A JSON-lines file, `-` for standard input, or nats://HOST:PORT."),
    ],
    stream: Annotated[str | None, typer.Option(help="JetStream stream (with nats://).")] = None,
    subject: Annotated[str | None, typer.Option(help="Subject of the messages.")] = None,
    durable: Annotated[
        str | None, typer.Option(help="Durable consumer shared by the flow's workers.")
    ] = None,
    alert_subject: Annotated[str, typer.Option(help="Where alerts are published.")] = (
        "egide.alerts"
    ),
    quarantine_subject: Annotated[
        str, typer.Option(help="Where quarantined messages are announced.")
    ] = "egide.quarantine",
    ack_wait: Annotated[
        float, typer.Option(help="Seconds before an unacknowledged message is redelivered.")
    ] = 30.0,
    batch: Annotated[int, typer.Option(help="Messages pulled at once (1-1000).")] = 64,
    idle_exit: Annotated[
        float | None, typer.Option(help="Stop after this many seconds with nothing to read.")
    ] = None,
    max_bytes: Annotated[int, typer.Option(help="Largest message accepted.")] = MAX_MESSAGE_BYTES,
    callsign_pattern: Annotated[
        str | None, typer.Option(help="Regular expression of this theatre's call signs.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="This worker's name in the journal.")] = None,
    max_deliver: Annotated[
        int,
        typer.Option(help="Deliveries of a message that keeps failing before it is quarantined."),
    ] = 5,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port (/metrics).")
    ] = None,
    metrics_address: Annotated[
        str, typer.Option(help="Address the metrics are served on (default: loopback only).")
    ] = "127.0.0.1",
) -> None:
    """Process a flow of messages: extract, match watchlists, raise alerts, quarantine the bad."""
    platform = initialised_platform()
    if not 1 <= batch <= 1000:
        raise InvalidInput("--batch must be between 1 and 1000")
    if not 1 <= max_deliver <= 1000:
        raise InvalidInput("--max-deliver must be between 1 and 1000")
    if metrics_port is not None and not 0 <= metrics_port <= 65535:
        raise InvalidInput("--metrics-port must be between 0 and 65535")
    try:
        extractors = with_callsigns(callsign_pattern)
    except re.error as error:
        raise InvalidInput(f"--callsign-pattern is not a regular expression ({error})") from None
    worker_name = name or f"{durable or 'file'}@{socket.gethostname()}:{os.getpid()}"
    worker = Worker(
        platform.streams,
        platform.policies,
        name=worker_name,
        max_bytes=max_bytes,
        extractors=extractors,
    )
    metrics = _serve_metrics(worker_name, metrics_address, metrics_port)
    if source.startswith(("nats://", "tls://")):
        if not (stream and subject and durable):
            raise InvalidInput("a NATS source needs --stream, --subject and --durable")
        if ack_wait <= 0:
            raise InvalidInput("--ack-wait must be positive")
        from egide.streams.nats import NatsSource, run_nats  # the NATS client only when used

        stats = run_nats(
            worker,
            NatsSource(
                source,
                stream,
                subject,
                durable,
                alert_subject=alert_subject,
                quarantine_subject=quarantine_subject,
                batch=batch,
                ack_wait=ack_wait,
                idle_exit=idle_exit,
                max_deliver=max_deliver,
            ),
            metrics,
        )
    else:
        if source != "-" and not os.path.isfile(source):
            raise InvalidInput(f"no file {source!r}; give a JSON-lines file, `-` or nats://…")
        stats = run_file(worker, source, batch=batch, metrics=metrics)
    _report(stats)


stream_app.command("run")(run)
worker_app.command("streams")(run)


def _serve_metrics(worker: str, address: str, port: int | None) -> WorkerMetrics | None:
    """The worker's metrics, served on `address:port` when a port is given."""
    if port is None:
        return None
    metrics = WorkerMetrics(worker)
    try:
        server = metrics.serve(address, port)
    except OSError as error:
        raise InvalidInput(
            f"cannot serve metrics on {address}:{port} ({error.strerror or error}); "
            "choose a free --metrics-port or a local --metrics-address"
        ) from None
    bound = server.server_address
    typer.echo(f"metrics on http://{address}:{bound[1]}/metrics", err=True)
    return metrics


@stream_app.command("quarantine")
def quarantine() -> None:
    """List quarantined messages: where each came from and why (the local operator's view)."""
    for where, message_id, reason in initialised_platform().streams.quarantined():
        typer.echo(f"{where}\t{message_id or '-'}\t{reason}")


@watchlist_app.command("add")
def add(
    name: str,
    terms: Annotated[list[str], typer.Argument(help="Words or phrases to watch for.")],
    api_key: ApiKey = None,
    label: Annotated[
        str | None, typer.Option(help="The watchlist's label (default: the home label).")
    ] = None,
) -> None:
    """Add a watchlist: any message containing one of its terms raises an alert."""
    platform = initialised_platform()
    me = authenticated(api_key, "adding a watchlist")
    parsed = platform.policies.parse(label) if label else None
    created = platform.streams.add_watchlist(me, name, terms, label=parsed)
    typer.echo(f"watchlist {created.id} {created.name!r} [{created.label}]: {len(created.terms)}")


@watchlist_app.command("list")
def list_command(api_key: ApiKey = None) -> None:
    """List the watchlists your clearance covers."""
    me = authenticated(api_key, "listing watchlists")
    for w in initialised_platform().streams.watchlists(me):
        typer.echo(f"{w.id}\t{w.name}\t{w.kind}\t[{w.label}]\t{', '.join(w.terms)}")


@alerts_app.command("tail")
def tail(
    api_key: ApiKey = None,
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many (1-500).")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Wait for new alerts.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """The newest alerts your clearance covers; with --follow, new ones as they come."""
    me = authenticated(api_key, "reading alerts")
    streams = initialised_platform().streams
    feed = AlertFeed(streams, me) if follow else None
    for alert in streams.alerts(me, limit=lines, newest=True):
        _print(alert, as_json)
    while feed is not None:
        time.sleep(1.0)
        for alert in feed.poll():
            _print(alert, as_json)


def _print(alert: AlertView, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(alert.as_json(), ensure_ascii=False))
        return
    typer.echo(
        f"{alert.created_at:%Y-%m-%d %H:%M:%S}\t{alert.channel}\t{alert.message_id}\t"
        f"{alert.watchlist}: {', '.join(alert.matched)}\t[{alert.label}]"
    )


def _report(stats: RunStats) -> None:
    typer.echo(
        f"processed {stats.processed}, already done {stats.duplicates}, "
        f"quarantined {stats.quarantined}, alerts {stats.alerts}"
        + (f", failed and retried {stats.failed}" if stats.failed else "")
    )
    for reason in stats.reasons:
        typer.echo(f"quarantined {reason}", err=True)
