"""Retrieval quality and speed on a SQuAD-format file: full text, dense and hybrid side by side.

Each paragraph becomes a document; each question is a query whose hit is its own
paragraph. Reports recall@1/5/10, nDCG@10 and MRR@10 per method, ingestion
throughput and query latency (query embedding excluded). Passage and query
vectors come from the real model once and are kept on disk
(`egide.benchmarks.vectors`), so a second run on the same file embeds nothing.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from egide.app import Platform
from egide.benchmarks.vectors import DEFAULT_CACHE_DIR, BenchEmbedder
from egide.core.principals import Role
from egide.knowledge.records import ChunkRecord, DocumentRecord
from egide.knowledge.search import Mode, search
from egide.knowledge.service import KnowledgeService
from egide.settings import Settings


@dataclass
class MethodScores:
    """Quality and latency of one retrieval method."""

    method: str
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    ndcg_at_10: float
    mrr_at_10: float
    latency_p50_ms: float
    latency_p95_ms: float


def load_squad(path: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """Paragraphs, and (question, paragraph index) pairs."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs: list[str] = []
    questions: list[tuple[str, int]] = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            index = len(paragraphs)
            paragraphs.append(paragraph["context"])
            questions.extend((qa["question"], index) for qa in paragraph["qas"])
    return paragraphs, questions


def run(
    squad: Path,
    data_dir: Path,
    *,
    database_url: str | None = None,
    limit_queries: int | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    say: Any = print,
) -> dict[str, Any]:
    """Ingest the paragraphs (once), run every question through the three methods."""
    platform = Platform(Settings(data_dir=data_dir, database_url=database_url))
    platform.initialise()
    identity = platform.identity
    if not identity.list_users():
        identity.add_user(
            "bench",
            "bench",
            clearance=platform.policies.parse_clearance("TS"),
            roles=[Role.ADMIN, Role.ANALYST],
        )
    reader = identity.principal("bench")
    embedder = BenchEmbedder(cache_dir)
    knowledge = KnowledgeService(
        platform.database, platform.journal, platform.policies, lambda: embedder
    )
    paragraphs, questions = load_squad(squad)
    if limit_queries:
        questions = questions[:limit_queries]
    if "squad" not in {name for _, name, _ in knowledge.collections(reader)}:
        knowledge.create_collection(reader, "squad")
    label = platform.policies.parse("NP")
    # Embed in batches up front; paragraphs the chunker cuts in two are embedded as chunks.
    embedder.prepare([p for p in paragraphs if len(p.split()) <= 220], say=say)
    started = time.perf_counter()
    chunks_before = _count(platform)
    for index, paragraph in enumerate(paragraphs):
        knowledge.ingest(reader, "squad", f"p{index:05d}.txt", paragraph.encode(), label=label)
        if index % 200 == 0:
            say(f"ingested {index}/{len(paragraphs)} paragraphs")
    ingest_seconds = time.perf_counter() - started
    new_chunks = _count(platform) - chunks_before
    gold_of_chunk = _gold(platform)

    say(f"embedding {len(questions)} questions (once; cached in {embedder.cache.path})…")
    embedder.prepare([q for q, _ in questions], query=True, say=say)

    results = []
    ranking = knowledge.index
    readable = knowledge.readable_label_ids(reader)
    methods: tuple[Mode, ...] = ("fulltext", "dense", "hybrid")
    for method in methods:
        ranks: list[int | None] = []
        latencies: list[float] = []
        for question, gold in questions:
            with platform.database.transaction() as session:
                begin = time.perf_counter()
                hits = search(
                    session,
                    ranking,
                    embedder,
                    question,
                    readable=readable,
                    k=10,
                    mode=method,
                )
                latencies.append((time.perf_counter() - begin) * 1000)
            documents: list[int] = []
            for hit in hits:
                found = gold_of_chunk.get(hit.chunk_id)
                if found is not None and found not in documents:
                    documents.append(found)
            ranks.append(documents.index(gold) + 1 if gold in documents else None)
        results.append(_scores(method, ranks, latencies))
        say(f"{method}: done")
    platform.close()
    report = {
        "squad": str(squad),
        "database": platform.database.dialect,
        "paragraphs": len(paragraphs),
        "queries": len(questions),
        "ingest": {
            "chunks": new_chunks,
            "seconds": round(ingest_seconds, 2),
            "chunks_per_second": round(new_chunks / ingest_seconds, 2) if new_chunks else None,
        },
        "methods": [asdict(r) for r in results],
    }
    return report


def _count(platform: Platform) -> int:
    from sqlalchemy import func, select

    with platform.database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(ChunkRecord)) or 0)


def _gold(platform: Platform) -> dict[int, int]:
    from sqlalchemy import select

    with platform.database.transaction() as session:
        rows = session.execute(
            select(ChunkRecord.id, DocumentRecord.filename).join(
                DocumentRecord, DocumentRecord.id == ChunkRecord.document_id
            )
        )
        return {row.id: int(row.filename[1:6]) for row in rows}


def _scores(method: str, ranks: list[int | None], latencies: list[float]) -> MethodScores:
    n = len(ranks) or 1

    def recall(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n

    ndcg = sum(1 / math.log2(r + 1) for r in ranks if r is not None and r <= 10) / n
    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    ordered = sorted(latencies) or [0.0]
    return MethodScores(
        method=method,
        recall_at_1=round(recall(1), 4),
        recall_at_5=round(recall(5), 4),
        recall_at_10=round(recall(10), 4),
        ndcg_at_10=round(ndcg, 4),
        mrr_at_10=round(mrr, 4),
        latency_p50_ms=round(statistics.median(ordered), 2),
        latency_p95_ms=round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    )


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    lines = [
        f"SQuAD retrieval — {report['paragraphs']} paragraphs, {report['queries']} queries, "
        f"{report['database']}",
        f"ingestion: {report['ingest']}",
        f"{'method':10} {'R@1':>7} {'R@5':>7} {'R@10':>7} {'nDCG@10':>8} {'MRR':>7} "
        f"{'p50 ms':>8} {'p95 ms':>8}",
    ]
    for m in report["methods"]:
        lines.append(
            f"{m['method']:10} {m['recall_at_1']:7.4f} {m['recall_at_5']:7.4f} "
            f"{m['recall_at_10']:7.4f} {m['ndcg_at_10']:8.4f} {m['mrr_at_10']:7.4f} "
            f"{m['latency_p50_ms']:8.2f} {m['latency_p95_ms']:8.2f}"
        )
    return "\n".join(lines)
