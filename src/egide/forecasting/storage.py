"""Save and load RUL models without pickle: LightGBM text files and a JSON manifest.

A model directory holds::

    booster-1.txt … booster-K.txt   LightGBM's own text format (model_to_string)
    manifest.json                   everything else, and the lineage

The manifest (format ``egide-rul-model/1``) records the SHA-256 of every
booster file and of the training data file(s), the features, the
hyper-parameters and the unit split, the regime statistics, the conformal
residuals, the validation report, library versions and the creation time,
plus ``content_sha256``: the digest of the manifest's own canonical JSON
without that field. Loading verifies every digest and refuses a model whose
files or manifest were changed after training. (A digest detects a change;
it does not say who made the model — the service layer that registers the
model signs and labels it.)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from egide.core.digest import sha256_bytes, sha256_json
from egide.errors import IntegrityError, InvalidInput
from egide.forecasting.conformal import Conformal
from egide.forecasting.features import FeatureSpec
from egide.forecasting.model import Preprocessing, RulModel
from egide.forecasting.regimes import Regimes

FORMAT = "egide-rul-model/1"
MANIFEST = "manifest.json"
_MAX_MANIFEST_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class DataFile:
    """A training data file as the lineage records it."""

    name: str
    sha256: str
    rows: int
    units: int

    def to_json(self) -> dict[str, Any]:
        """The file's lineage entry."""
        return {"name": self.name, "sha256": self.sha256, "rows": self.rows, "units": self.units}


def data_file(path: Path, rows: int, units: int) -> DataFile:
    """Digest a training data file for the lineage."""
    return DataFile(name=path.name, sha256=sha256_bytes(path.read_bytes()), rows=rows, units=units)


@dataclass(frozen=True)
class Stored:
    """A loaded model and its manifest."""

    model: RulModel
    manifest: dict[str, Any]


def save(
    model: RulModel,
    directory: Path,
    *,
    data: list[DataFile],
    training: dict[str, Any],
    split: dict[str, Any],
    report: dict[str, Any],
    description: dict[str, Any],
    label: str | None = None,
) -> dict[str, Any]:
    """Write `model` to a new directory, all or nothing; returns the manifest.

    `label` is the marking of the model — the join of its training data's
    labels — when a service that knows them saves it; the command line,
    which reads unlabelled local files, leaves it empty.

    Raises:
        InvalidInput: `directory` exists and is not empty.
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InvalidInput(
            f"{directory} already exists and is not empty; choose another --out or remove it"
        )
    texts = [b.model_to_string() for b in model.boosters]
    files = [
        {"path": f"booster-{i + 1}.txt", "sha256": sha256_bytes(t.encode("utf-8"))}
        for i, t in enumerate(texts)
    ]
    pre = model.preprocessing
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "kind": "remaining useful life",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "boosters": files,
        "label": label,
        "lineage": {"training_data": [d.to_json() for d in data], "split": split},
        "description": description,
        "settings": list(pre.settings),
        "sensors": list(pre.sensors),
        "features": pre.feature_names,
        "feature_spec": pre.spec.to_json(),
        "rul_cap": model.cap,
        "training": training,
        "regimes": pre.regimes.to_json(),
        "conformal": model.conformal.to_json(),
        "validation": report,
        "libraries": {
            "python": platform.python_version(),
            "lightgbm": lgb.__version__,
            "numpy": np.__version__,
        },
    }
    manifest["content_sha256"] = sha256_json(manifest)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        for entry, text in zip(files, texts, strict=True):
            (staging / entry["path"]).write_text(text, encoding="utf-8")
        (staging / MANIFEST).write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if directory.exists():
            directory.rmdir()
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def load(directory: Path) -> Stored:
    """Read a model directory, verifying every digest.

    Raises:
        InvalidInput: not a model directory, or a manifest that cannot be read.
        IntegrityError: a booster file or the manifest was changed after training.
    """
    path = directory / MANIFEST
    if not path.is_file():
        raise InvalidInput(
            f"{directory}: no {MANIFEST}; give the directory written by `egide maintenance train`"
        )
    if path.stat().st_size > _MAX_MANIFEST_BYTES:
        raise InvalidInput(f"{path}: larger than {_MAX_MANIFEST_BYTES} bytes; not a model manifest")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput(f"{path}: not a JSON model manifest") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"{path}: not a manifest of format {FORMAT}")
    claimed = manifest.pop("content_sha256", None)
    if claimed != sha256_json(manifest):
        raise IntegrityError(
            f"{path}: the manifest was changed after training (its content digest does not "
            "match); do not use this model — train it again or restore it from a trusted copy"
        )
    manifest["content_sha256"] = claimed
    boosters = []
    for entry in manifest["boosters"]:
        name = str(entry["path"])
        file = directory / name
        if Path(name).name != name or not file.is_file():
            raise InvalidInput(f"{directory}: booster file {name!r} is missing")
        data = file.read_bytes()
        if sha256_bytes(data) != entry["sha256"]:
            raise IntegrityError(
                f"{file}: SHA-256 does not match the manifest — the model file was changed "
                "after training; do not use it — train again or restore a trusted copy"
            )
        boosters.append(lgb.Booster(model_str=data.decode("utf-8")))
    try:
        model = _model(manifest, tuple(boosters))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput(f"{path}: malformed model manifest ({error})") from None
    return Stored(model=model, manifest=manifest)


def _model(manifest: dict[str, Any], boosters: tuple[lgb.Booster, ...]) -> RulModel:
    settings = tuple(str(s) for s in manifest["settings"])
    sensors = tuple(str(s) for s in manifest["sensors"])
    spec = FeatureSpec.from_json(manifest["feature_spec"])
    if spec.names(sensors) != manifest["features"]:
        raise ValueError("the feature list does not follow from the sensors and windows")
    for booster in boosters:
        if booster.feature_name() != manifest["features"]:
            raise ValueError("a booster's features differ from the manifest's")
    preprocessing = Preprocessing(
        settings=settings,
        sensors=sensors,
        regimes=Regimes.from_json(manifest["regimes"], len(settings), len(sensors)),
        spec=spec,
    )
    return RulModel(
        preprocessing=preprocessing,
        boosters=boosters,
        conformal=Conformal.from_json(manifest["conformal"]),
        cap=float(manifest["rul_cap"]),
    )
