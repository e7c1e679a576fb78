"""The scale benchmark's code path on a tiny corpus, on SQLite and PostgreSQL (shape, not speed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egide.benchmarks import scale
from egide.benchmarks.vectors import BenchEmbedder

TOPICS = ["convoy", "bridge", "radar", "harbour", "airfield", "depot", "relay", "tunnel"]


def squad_file(path: Path) -> Path:
    """A SQuAD-format file: 8 paragraphs, 2 questions each."""
    articles = [
        {
            "title": topic,
            "paragraphs": [
                {
                    "context": f"The {topic} near Klevo was inspected by engineers in spring. "
                    f"Its {topic} report lists {i + 3} defects and a repair plan.",
                    "qas": [
                        {"question": f"Who inspected the {topic} near Klevo?"},
                        {"question": f"How many defects does the {topic} report list?"},
                    ],
                }
            ],
        }
        for i, topic in enumerate(TOPICS)
    ]
    path.write_text(json.dumps({"data": articles}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_scale_report_counts(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_admin_url") if backend == "postgresql" else None
    embedder = BenchEmbedder(tmp_path / "cache")
    report = scale.run(
        squad_file(tmp_path / "squad.json"),
        tmp_path / "work",
        sizes=[50, 20],
        backends=[backend],
        queries=6,
        per_document=7,
        embedding_sample_size=2,
        database_url=url,
        embedder=embedder,
        say=lambda _: None,
    )
    json.dumps(report)  # the report is written as JSON
    assert report["paragraphs"] == 8
    assert report["queries"] == 6
    assert report["sizes"] == [20, 50]
    [result] = report["backends"]
    assert result["backend"] == backend
    stages = result["stages"]
    assert [s["chunks"] for s in stages] == [20, 50]
    assert [s["ingest"]["chunks"] for s in stages] == [20, 30]
    assert [s["ingest"]["files"] for s in stages] == [3, 5]  # 7 paragraphs to a file
    for stage in stages:
        assert set(stage["latency_ms"]) == {"hybrid", "fulltext", "dense"}
        for figures in stage["latency_ms"].values():
            assert figures["queries"] == 6
            assert 0 < figures["p50"] <= figures["p95"]
        assert ("dense_plan" in stage) == (backend == "postgresql")
    # 42 of the 50 chunks are marked copies: they reuse their original's vector.
    assert report["vectors_computed_during_runs"] == 0
    assert report["embedding"]["sample"] == 2
    assert report["embedding"]["passages_per_second"] > 0
    text = scale.table(report)
    assert f"{backend:11}      50" in text


def test_copies_are_distinct_chunks_with_their_original_vector(tmp_path: Path) -> None:
    corpus = scale.Corpus(["alpha bravo", "charlie delta"], ["alpha?"])
    files = list(scale.documents(corpus, 0, 5, per_document=2))
    assert [name for name, _, _ in files] == [
        "scale-0000000.txt",
        "scale-0000002.txt",
        "scale-0000004.txt",
    ]
    pairs = [pair for _, _, group in files for pair in group]
    copies = [copy for copy, _ in pairs]
    assert len(set(copies)) == 5
    assert copies[0] == "(NP) alpha bravo [copy 0]"
    assert copies[2] == "(S) alpha bravo [copy 1]"
    assert [original for _, original in pairs] == ["alpha bravo", "charlie delta"] * 2 + [
        "alpha bravo"
    ]
