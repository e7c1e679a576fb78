"""`egide worker streams` (alias `egide stream run`), `egide stream quarantine|channels|summary`,
`egide watchlist add|list`, `egide alerts tail`.

`worker streams` is a worker acting as the local operator (like `serve`): what
it does is journaled as `stream:<worker>`. The watchlist, alert, channel and
summary commands act as the person whose API key is given; every rule is the
stream service's.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egide.cli.context import ApiKey, authenticated, initialised_platform
from egide.errors import InvalidInput
from egide.streams.channels import ChannelSummary
from egide.streams.extract import with_callsigns
from egide.streams.feed import AlertFeed
from egide.streams.message import MAX_MESSAGE_BYTES
from egide.streams.metrics import WorkerMetrics
from egide.streams.service import AlertView
from egide.streams.summarise import MAX_SENTENCES, parse_window
from egide.streams.worker import RunStats, Worker, run_file

if TYPE_CHECKING:
    from egide.app import Platform
    from egide.streams.structured import ModelExtractor

stream_app = typer.Typer(
    help="Analyse message flows (files, NATS JetStream).", no_args_is_help=True
)
watchlist_app = typer.Typer(
    help="What raises alerts in message flows: terms, entities, areas, descriptions.",
    no_args_is_help=True,
)
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
    model: Annotated[
        str | None,
        typer.Option(help="A chat model for structured extraction (needs --schema)."),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option(help="The JSON schema the model's extraction follows.")
    ] = None,
    model_max_tokens: Annotated[
        int, typer.Option(help="Most tokens of one model extraction.")
    ] = 256,
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
    if (model is None) != (schema is None):
        raise InvalidInput("structured extraction needs both --model NAME and --schema FILE.json")
    extractor = None
    if model is not None and schema is not None:
        extractor = _model_extractor(platform, model, schema, model_max_tokens)
    worker = Worker(
        platform.streams,
        platform.policies,
        name=worker_name,
        max_bytes=max_bytes,
        extractors=extractors,
        model=extractor,
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
    # The model's engine (if any) is released when the process ends.
    _report(stats, extractor)


def _model_extractor(
    platform: Platform, name: str, schema_path: Path, max_tokens: int
) -> ModelExtractor:
    """The model stage: the named chat model (registry or EGIDE_DEPLOYMENTS) and its schema."""
    from egide.serving.loading import load_deployments  # the model runtime only when asked
    from egide.streams.structured import ModelExtractor, load_schema

    if not schema_path.is_file():
        raise InvalidInput(f"no schema file {str(schema_path)!r}; give a JSON schema file")
    if not 16 <= max_tokens <= 4096:
        raise InvalidInput("--model-max-tokens must be between 16 and 4096")
    schema = load_schema(schema_path.read_text("utf-8"), str(schema_path))
    settings = platform.settings.model_copy(update={"models": [name], "embeddings": False})
    deployment = load_deployments(type(platform)(settings)).get(name)
    models = platform.models
    enabled = (lambda: models.is_enabled(name)) if deployment.registered else None
    if enabled is not None and not enabled():
        raise InvalidInput(f"model {name!r} is disabled (kill switch); enable it or choose another")
    if deployment.demo:
        typer.echo(
            f"{name} is the demonstration model: its extractions show the plumbing, "
            "not what a capable model would find",
            err=True,
        )
    return ModelExtractor(
        deployment.backend,
        schema,
        name=name,
        label=deployment.label,
        accreditation=deployment.accreditation,
        enabled=enabled,
        max_tokens=max_tokens,
        digest=deployment.digest,
    )


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


@stream_app.command("channels")
def channels(
    api_key: ApiKey = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """List the channels you may read messages in: how many, the last one's time, their label."""
    me = authenticated(api_key, "listing channels")
    for c in initialised_platform().streams.channels(me):
        if as_json:
            typer.echo(json.dumps(c.as_json(), ensure_ascii=False))
        else:
            typer.echo(f"{c.channel}\t{c.messages}\t{c.last:%Y-%m-%d %H:%M:%S}\t[{c.label}]")


@stream_app.command("summary")
def summary(
    channel: Annotated[str, typer.Argument(help="The channel to summarise.")],
    api_key: ApiKey = None,
    window: Annotated[str, typer.Option(help="How far back: 15m, 1h, 2d (1m to 7d).")] = "1h",
    until: Annotated[
        str | None, typer.Option(help="End of the window, ISO 8601 with zone (default now).")
    ] = None,
    sentences: Annotated[int, typer.Option(help=f"Sentences to quote (1-{MAX_SENTENCES}).")] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="The summary as one JSON object.")
    ] = False,
) -> None:
    """Summarise a channel's last window from the messages your clearance covers."""
    me = authenticated(api_key, "summarising a channel")
    span = parse_window(window)
    end = None
    if until is not None:
        try:
            end = datetime.fromisoformat(until)
        except ValueError:
            raise InvalidInput("--until is not an ISO 8601 time (2026-05-14T12:00:00Z)") from None
    found = initialised_platform().streams.summary(
        me, channel, window=span, until=end, sentences=sentences
    )
    if as_json:
        typer.echo(json.dumps(found.as_json(), ensure_ascii=False))
    else:
        _print_summary(found)


@watchlist_app.command("add")
def add(
    name: str,
    terms: Annotated[
        list[str] | None,
        typer.Argument(help="Words or phrases (kind terms), or KIND:VALUE (kind entities)."),
    ] = None,
    kind: Annotated[
        str, typer.Option(help="terms, entities, area or semantic (docs/streams.md).")
    ] = "terms",
    area: Annotated[
        list[Path] | None,
        typer.Option(help="A GeoJSON file of polygons (kind area; repeatable)."),
    ] = None,
    polygon: Annotated[
        list[str] | None,
        typer.Option(
            help="An inline polygon NAME=LAT,LON;LAT,LON;LAT,LON (kind area; repeatable)."
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="What to alert on, in words (kind semantic).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Cosine similarity needed (kind semantic).")
    ] = None,
    api_key: ApiKey = None,
    label: Annotated[
        str | None, typer.Option(help="The watchlist's label (default: the home label).")
    ] = None,
) -> None:
    """Add a watchlist: a message that matches it raises an alert."""
    platform = initialised_platform()
    me = authenticated(api_key, "adding a watchlist")
    parsed = platform.policies.parse(label) if label else None
    spec: dict[str, Any] = {}
    if polygon:
        spec["areas"] = [_inline_polygon(p) for p in polygon]
    if area:
        spec["geojson"] = [_geojson_file(path) for path in area]
    if description is not None:
        spec["description"] = description
    if threshold is not None:
        spec["threshold"] = threshold
    created = platform.streams.add_watchlist(
        me, name, terms or [], kind=kind, label=parsed, spec=spec
    )
    typer.echo(
        f"watchlist {created.id} {created.name!r} ({created.kind}) [{created.label}]: "
        f"{'; '.join(created.terms)}"
    )


MAX_GEOJSON_BYTES = 10_000_000


def _geojson_file(path: Path) -> Any:
    if not path.is_file():
        raise InvalidInput(f"no GeoJSON file {str(path)!r}")
    if path.stat().st_size > MAX_GEOJSON_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_GEOJSON_BYTES} bytes: simplify it")
    try:
        return json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput(f"{path} is not a GeoJSON (JSON) file: {error}") from None


def _inline_polygon(text: str) -> dict[str, Any]:
    """`NAME=LAT,LON;LAT,LON;...` as an area (latitude first, as messages write it)."""
    name, equals, points = text.partition("=")
    if not equals or not name.strip():
        raise InvalidInput(
            f"--polygon {text!r}: write NAME=LAT,LON;LAT,LON;LAT,LON "
            "(e.g. Marsk=48.10,2.10;48.30,2.10;48.30,2.40)"
        )
    vertices = []
    for point in points.split(";"):
        if not point.strip():
            continue
        try:
            lat, lon = (float(v) for v in point.split(","))
        except ValueError:
            raise InvalidInput(
                f"--polygon {name.strip()!r}: {point.strip()!r} is not LAT,LON in decimal degrees"
            ) from None
        vertices.append([lat, lon])
    return {"name": name.strip(), "polygon": vertices}


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
    if alert.text is not None:
        typer.echo("\t" + " ".join(alert.text.split()))


def _print_summary(found: ChannelSummary) -> None:
    d = found.digest
    typer.echo(
        f"{found.channel} [{found.label}] {found.since:%Y-%m-%d %H:%M} → "
        f"{found.until:%Y-%m-%d %H:%M}: {d.messages} message(s)"
    )
    if d.first and d.last:
        typer.echo(f"first {d.first:%Y-%m-%d %H:%M:%S}, last {d.last:%Y-%m-%d %H:%M:%S}")
    if d.languages:
        typer.echo("languages: " + ", ".join(f"{k} {n}" for k, n in d.languages.items()))
    for quote in d.sentences:
        typer.echo(f"- {quote.text} ({quote.message_id})")
    if d.entities:
        typer.echo("entities:")
        for e in d.entities:
            typer.echo(f"  {e.kind}\t{e.value}\t{e.messages}")


def _report(stats: RunStats, model: ModelExtractor | None = None) -> None:
    typer.echo(
        f"processed {stats.processed}, already done {stats.duplicates}, "
        f"quarantined {stats.quarantined}, alerts {stats.alerts}"
        + (f", failed and retried {stats.failed}" if stats.failed else "")
    )
    for reason in stats.reasons:
        typer.echo(f"quarantined {reason}", err=True)
    if model is not None:
        counts = model.counts
        typer.echo(
            f"model {model.name}: extracted {counts.extracted}, invalid {counts.invalid}, "
            f"failed {counts.failed}, not sent (label) {counts.skipped_label}, "
            f"not sent (disabled) {counts.skipped_disabled}"
        )
        for reason in counts.reasons:
            typer.echo(f"model: {reason}", err=True)
