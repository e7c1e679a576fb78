"""The assembler on any mix of sources and gradings: always a valid, correctly marked report."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from egide.core.labels import PolicyRegistry, join
from egide.workflows.synthesis import ensure_valid, parse_grading
from egide.workflows.synthesis.assemble import Source, assemble
from egide.workflows.synthesis.render import blocks_of

POLICIES = PolicyRegistry.builtin()
TEXTS = [
    "(S) Un bataillon blindé adverse se regroupe dans la forêt de Dravna, au nord de Klevo.",
    "Des habitants signalent qu'un bataillon blindé se regroupe dans la forêt de Dravna.",
    "La météo annonce de la neige sur la vallée de l'Osna. Il est probable qu'elle dure.",
    "NOTE DE RENSEIGNEMENT\nL'imagerie montre des engins de génie près du pont de Klevo.",
    "Allied radio traffic increased near Dravna forest overnight, likely a command post.",
]
MARKINGS = ["NON PROTÉGÉ", "DIFFUSION RESTREINTE", "SECRET"]
CODES = ["", "A1", "B2", "C3", "D5", "E4", "F6"]
TASKING = "Où se regroupe le bataillon blindé et que montre l'imagerie du pont ?"


def report_of(tasking: str, sources: list[Source]) -> dict[str, Any]:
    return {
        "tasking": tasking,
        **assemble(tasking, sources),
        "sources": [s.entry() for s in sources],
        "ai_involvement": {
            "mode": "assembled",
            "model": None,
            "model_digest": None,
            "statement": "Assembled by rule.",
        },
    }


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from(range(len(TEXTS))),
            st.sampled_from(MARKINGS),
            st.sampled_from(CODES),
            st.integers(1, 3),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_assembled_reports_are_valid_and_marked_by_what_they_cite(
    picks: list[tuple[int, str, str, int]],
) -> None:
    sources = [
        Source(
            number=n,
            chunk_id=100 + n,
            document_id=document,
            title=f"doc-{document}",
            filename=f"doc-{document}.txt",
            page=None,
            label=POLICIES.parse(marking),
            marking=marking,
            text=TEXTS[text],
            grading=parse_grading(code),
        )
        for n, (text, marking, code, document) in enumerate(picks, start=1)
    ]
    report = report_of(TASKING, sources)
    ensure_valid(report, passages={s.number: s.text for s in sources})
    labels = {s.number: s.label for s in sources}
    everything = join(*labels.values())
    assert "almost certain" not in {j["likelihood"] for j in report["key_judgments"]}
    for block in blocks_of(report, labels, everything, POLICIES):
        if block["kind"] == "heading":
            continue
        assert everything.dominates(POLICIES.parse(block["marking"]))
        if block["text"].startswith("KJ"):
            cited = next(j for j in report["key_judgments"] if j["statement"] in block["text"])
            expected = join(*(labels[n] for n in cited["sources"]))
            assert POLICIES.parse(block["marking"]) == expected
