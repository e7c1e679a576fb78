"""Model directories: no pickle, digests verified, tampering refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from egide.errors import IntegrityError, InvalidInput
from egide.forecasting.histories import describe
from egide.forecasting.storage import DataFile, load, save
from egide.forecasting.training import Trained, TrainingConfig, train
from tests.forecasting.fleet import fleet


@pytest.fixture(scope="module")
def trained() -> Trained:
    return train(fleet(20, seed=11), TrainingConfig(rounds=30, folds=3))


def _save(trained: Trained, directory: Path) -> dict[str, object]:
    return save(
        trained.model,
        directory,
        data=[DataFile(name="fleet.txt", sha256="ab" * 32, rows=10, units=2)],
        training=TrainingConfig(rounds=30, folds=3).to_json(),
        split=trained.split.to_json(),
        report=trained.report,
        description=describe(fleet(20, seed=11)).to_json(),
    )


def test_round_trip_forecasts_the_same(trained: Trained, tmp_path: Path) -> None:
    manifest = _save(trained, tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["booster-1.txt", "booster-2.txt", "booster-3.txt", "manifest.json"]
    assert manifest["lineage"]["training_data"][0]["sha256"] == "ab" * 32  # type: ignore[index]
    assert manifest["validation"] == trained.report
    assert manifest["label"] is None  # the command line reads unlabelled files
    offsets = manifest["conformal"]["interval_offsets"]  # type: ignore[index]
    assert all(low < high for low, high in offsets["90"])
    stored = load(tmp_path / "m")
    fresh = fleet(5, seed=12, first_unit=500)
    a = trained.model.forecast(fresh, horizon=30)
    b = stored.model.forecast(fresh, horizon=30)
    np.testing.assert_allclose(a.rul, b.rul, atol=1e-9)
    np.testing.assert_allclose(a.intervals[0.9][0], b.intervals[0.9][0], atol=1e-3)
    assert b.p_fail is not None and np.all((b.p_fail > 0) & (b.p_fail <= 1))
    assert not list(tmp_path.glob(".m-*"))  # no staging directory left behind


def test_a_changed_booster_file_is_refused(trained: Trained, tmp_path: Path) -> None:
    _save(trained, tmp_path / "m")
    booster = tmp_path / "m" / "booster-2.txt"
    text = booster.read_text(encoding="utf-8")
    booster.write_text(text.replace("leaf_value=", "leaf_value=1", 1), encoding="utf-8")
    with pytest.raises(IntegrityError, match=r"booster-2\.txt: SHA-256 does not match"):
        load(tmp_path / "m")


def test_a_changed_manifest_is_refused(trained: Trained, tmp_path: Path) -> None:
    _save(trained, tmp_path / "m")
    path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["conformal"]["residuals"][0] = [0.0] * len(manifest["conformal"]["residuals"][0])
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IntegrityError, match="manifest was changed after training"):
        load(tmp_path / "m")


def test_bad_directories_are_refused(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"no manifest\.json"):
        load(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me", encoding="utf-8")
    with pytest.raises(InvalidInput, match="already exists and is not empty"):
        _save(trained, tmp_path / "full")
    assert (tmp_path / "full" / "x").read_text(encoding="utf-8") == "keep me"
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a JSON model manifest"):
        load(tmp_path / "j")


def test_a_booster_path_outside_the_directory_is_refused(trained: Trained, tmp_path: Path) -> None:
    _save(trained, tmp_path / "m")
    path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["boosters"][0]["path"] = "../outside.txt"
    manifest.pop("content_sha256")
    from egide.core.digest import sha256_json

    manifest["content_sha256"] = sha256_json(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"booster file '\.\./outside\.txt' is missing"):
        load(tmp_path / "m")
