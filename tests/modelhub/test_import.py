"""Importing models: copied, hashed, labelled, journaled; a refused import leaves no trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from egide.audit import Journal
from egide.core.labels import PolicyRegistry
from egide.errors import Conflict, IntegrityError, InvalidInput, InvalidLabel
from egide.modelhub import ModelRegistry, WeightFormat, sign_model
from egide.modelhub.digests import hash_file
from egide.modelhub.records import ModelRecord
from egide.store import Database
from tests.modelhub.conftest import build_registry
from tests.modelhub.weights import (
    Publisher,
    make_publisher,
    safetensors_dir,
    write_gguf,
    write_pickle,
)

ACTOR = "local:operator"


def _sign(model: Path, publisher: Publisher, out_dir: Path | None = None) -> tuple[Path, Path]:
    return sign_model(
        model,
        publisher.private,
        name="tiny",
        version="7",
        licence="Apache-2.0",
        publisher="DGA model cell",
        provenance="fine-tuned on exercise data",
        out_dir=out_dir,
    )


def assert_nothing_written(database: Database, journal: Journal, data_dir: Path) -> None:
    """No model row, no journal entry, no file under the models directory."""
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ModelRecord)) == 0
        assert journal.count(session) == 0
    models = data_dir / "models"
    assert not models.exists() or [p for p in models.rglob("*") if not p.is_dir()] == []


def test_import_copies_hashes_labels_and_journals(
    registry: ModelRegistry, journal: Journal, database: Database, medium: Path, data_dir: Path
) -> None:
    source = write_gguf(medium / "tiny.gguf", b"weights")
    info = registry.import_model(
        ACTOR, source, name="tiny", label="SECRET", accreditation="SECRET", licence="MIT"
    )
    assert info.root == data_dir / "models" / "tiny" / "1"
    assert info.weights_path == info.root / "tiny.gguf"
    assert info.weights_path.read_bytes() == source.read_bytes()
    assert (info.format, info.runtime) == (WeightFormat.GGUF, "llamacpp")
    assert info.files == (hash_file(source, "tiny.gguf"),)
    assert (info.label_text, info.accreditation_text, info.importer) == ("SECRET", "SECRET", ACTOR)
    assert info.enabled and not info.signed and not info.in_place
    with database.transaction() as session:
        (entry,) = journal.entries(session, readable_labels=None)
    assert (entry.actor, entry.action, entry.objects, entry.label) == (
        ACTOR,
        "model.import",
        ["model:tiny"],
        "SECRET",
    )
    assert entry.details["files"] == [info.files[0].to_json()]
    assert entry.details["signer"] is None
    # Editing the medium afterwards changes nothing: the registry holds its own copy.
    source.write_bytes(b"GGUF tampered")
    assert registry.verified_path("tiny") == info.weights_path


def test_import_safetensors_directory(registry: ModelRegistry, medium: Path) -> None:
    info = registry.import_model(ACTOR, safetensors_dir(medium), name="st", label="DR")
    assert (info.format, info.runtime) == (WeightFormat.SAFETENSORS, "openai")
    assert info.weights_path == info.root
    assert (info.root / "tokenizer.json").is_file()
    assert len(info.files) == 4
    assert info.accreditation_text == info.label_text == "DIFFUSION RESTREINTE"


def test_in_place_import_references_the_medium(registry: ModelRegistry, medium: Path) -> None:
    source = write_gguf(medium / "tiny.gguf")
    info = registry.import_model(ACTOR, source, name="tiny", label="NP", in_place=True)
    assert info.in_place and info.weights_path == source


@pytest.mark.parametrize("refused", ["pytorch_model.bin", "model.pt", "model.pth", "modeling.py"])
def test_refused_format_writes_nothing(
    registry: ModelRegistry,
    journal: Journal,
    database: Database,
    medium: Path,
    data_dir: Path,
    refused: str,
) -> None:
    safetensors_dir(medium)
    write_pickle(medium / refused)
    with pytest.raises(InvalidInput, match=refused):
        registry.import_model(ACTOR, medium, name="bad", label="NP")
    assert_nothing_written(database, journal, data_dir)


def test_signed_import_records_the_signer(
    registry: ModelRegistry,
    journal: Journal,
    database: Database,
    medium: Path,
    publisher: Publisher,
) -> None:
    _sign(safetensors_dir(medium), publisher)  # manifest inside the directory: found
    info = registry.import_model(ACTOR, medium, name="tiny", label="NP")
    assert info.signer_fingerprint == publisher.fingerprint
    assert info.signer_key == "dga-model-cell.pem"
    assert (info.version, info.licence, info.publisher) == ("7", "Apache-2.0", "DGA model cell")
    assert info.provenance == "fine-tuned on exercise data"
    assert "egide-manifest.json" not in {f.path for f in info.files}
    with database.transaction() as session:
        (entry,) = journal.entries(session, readable_labels=None)
    assert entry.details["signer"] == publisher.fingerprint


def test_explicit_manifest_for_a_single_file(
    registry: ModelRegistry, medium: Path, publisher: Publisher, tmp_path: Path
) -> None:
    source = write_gguf(medium / "tiny.gguf")
    manifest, signature = _sign(source, publisher, out_dir=tmp_path)
    info = registry.import_model(
        ACTOR, source, name="tiny", label="NP", manifest=manifest, signature=signature
    )
    assert info.signed


def test_altered_file_after_signing_writes_nothing(
    registry: ModelRegistry,
    journal: Journal,
    database: Database,
    medium: Path,
    data_dir: Path,
    publisher: Publisher,
) -> None:
    _sign(safetensors_dir(medium), publisher)
    (medium / "config.json").write_text('{"architectures": ["Evil"]}')
    with pytest.raises(IntegrityError, match=r"config\.json: digest does not match"):
        registry.import_model(ACTOR, medium, name="tiny", label="NP")
    assert_nothing_written(database, journal, data_dir)


def test_file_added_after_signing_writes_nothing(
    registry: ModelRegistry,
    journal: Journal,
    database: Database,
    medium: Path,
    data_dir: Path,
    publisher: Publisher,
) -> None:
    _sign(safetensors_dir(medium), publisher)
    (medium / "extra.txt").write_text("hello")
    with pytest.raises(IntegrityError, match=r"not listed in the manifest: extra\.txt"):
        registry.import_model(ACTOR, medium, name="tiny", label="NP")
    assert_nothing_written(database, journal, data_dir)


def test_bad_signature_writes_nothing(
    registry: ModelRegistry,
    journal: Journal,
    database: Database,
    medium: Path,
    data_dir: Path,
    publisher: Publisher,
) -> None:
    manifest, _ = _sign(safetensors_dir(medium), publisher)
    manifest.write_text(manifest.read_text().replace("Apache-2.0", "Public domain"))
    with pytest.raises(IntegrityError, match="signature does not verify"):
        registry.import_model(ACTOR, medium, name="tiny", label="NP")
    assert_nothing_written(database, journal, data_dir)


def test_untrusted_key_writes_nothing(
    registry: ModelRegistry,
    journal: Journal,
    database: Database,
    medium: Path,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    _sign(safetensors_dir(medium), make_publisher(tmp_path / "stranger", "stranger"))
    with pytest.raises(IntegrityError, match="untrusted key"):
        registry.import_model(ACTOR, medium, name="tiny", label="NP")
    assert_nothing_written(database, journal, data_dir)


def test_unsigned_import_refused_when_policy_requires_signatures(
    database: Database,
    journal: Journal,
    policies: PolicyRegistry,
    data_dir: Path,
    publisher: Publisher,
    medium: Path,
) -> None:
    strict = build_registry(database, journal, policies, data_dir, publisher, require_signed=True)
    safetensors_dir(medium)
    with pytest.raises(InvalidInput, match="only accepts signed models"):
        strict.import_model(ACTOR, medium, name="tiny", label="NP")
    assert_nothing_written(database, journal, data_dir)
    _sign(medium, publisher)
    assert strict.import_model(ACTOR, medium, name="tiny", label="NP").signed


def test_manifest_without_signature_is_refused(
    registry: ModelRegistry, medium: Path, publisher: Publisher
) -> None:
    _, signature = _sign(safetensors_dir(medium), publisher)
    signature.unlink()
    with pytest.raises(InvalidInput, match="has no signature"):
        registry.import_model(ACTOR, medium, name="tiny", label="NP")


def test_duplicate_name_is_a_conflict_and_keeps_the_first(
    registry: ModelRegistry, journal: Journal, database: Database, medium: Path
) -> None:
    first = registry.import_model(ACTOR, write_gguf(medium / "a.gguf", b"a"), name="m", label="NP")
    with pytest.raises(Conflict, match="already exists"):
        registry.import_model(ACTOR, write_gguf(medium / "b.gguf", b"b"), name="m", label="NP")
    assert registry.get("m").files == first.files
    with database.transaction() as session:
        assert journal.count(session) == 1


def test_accreditation_must_dominate_the_weights_label(
    registry: ModelRegistry, journal: Journal, database: Database, medium: Path, data_dir: Path
) -> None:
    with pytest.raises(InvalidInput, match="does not dominate"):
        registry.import_model(
            ACTOR, write_gguf(medium / "m.gguf"), name="m", label="SECRET", accreditation="DR"
        )
    assert_nothing_written(database, journal, data_dir)


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden"])
def test_names_that_are_not_directory_names_are_refused(
    registry: ModelRegistry, medium: Path, name: str
) -> None:
    with pytest.raises(InvalidInput, match="model name"):
        registry.import_model(ACTOR, write_gguf(medium / "m.gguf"), name=name, label="NP")


def test_unknown_marking_is_refused(registry: ModelRegistry, medium: Path) -> None:
    with pytest.raises(InvalidLabel):
        registry.import_model(ACTOR, write_gguf(medium / "m.gguf"), name="m", label="ULTRA")


def test_list_models_by_name(registry: ModelRegistry, medium: Path) -> None:
    for name in ("zeta", "alpha"):
        registry.import_model(ACTOR, write_gguf(medium / f"{name}.gguf"), name=name, label="NP")
    assert [m.name for m in registry.list_models()] == ["alpha", "zeta"]
