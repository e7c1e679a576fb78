"""The model registry: import verified weights, list, verify, and the kill switch.

Each mutating method is one database transaction holding the change and its
audit entry together. An import that fails (refused format, bad signature,
digest mismatch, duplicate name) leaves no row, no journal entry and no copied
file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from egide.audit import Journal
from egide.core.access import can_use_model
from egide.core.labels import Label, PolicyRegistry
from egide.core.principals import Principal
from egide.errors import (
    Conflict,
    EgideError,
    Forbidden,
    InvalidInput,
    ModelDisabled,
    NotFound,
)
from egide.modelhub import intake
from egide.modelhub.digests import FileDigest, check_all
from egide.modelhub.formats import RUNTIME_FOR_FORMAT, WeightFormat
from egide.modelhub.info import ModelInfo, VerifyResult
from egide.modelhub.killswitch import DEFAULT_TTL, EnabledCache
from egide.modelhub.records import ModelRecord
from egide.modelhub.signing import load_trusted_keys
from egide.store import Database, LabelRecord, intern_label

# Names and versions become directory names: no separators, no "..".
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ModelRegistry:
    """Imports, lists, verifies, enables and disables models.

    Args:
        database: Where the registry lives.
        journal: Records every import, disable and enable.
        policies: Parses and canonicalises labels.
        data_dir: Imported files go under ``<data_dir>/models/<name>/<version>/``.
        trusted_keys: Publisher public keys (PEM files or directories of them).
        require_signed: Refuse any import without a manifest signed by a trusted key.
        cache_ttl: Maximum age in seconds of this process's view of the kill switch.
    """

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        *,
        data_dir: Path,
        trusted_keys: Sequence[Path] = (),
        require_signed: bool = False,
        cache_ttl: float = DEFAULT_TTL,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self.models_dir = data_dir / "models"
        self._data_dir = data_dir
        self._trusted_sources = tuple(trusted_keys)
        self.require_signed = require_signed
        self._enabled = EnabledCache(self._load_flags, ttl=cache_ttl)

    # import --------------------------------------------------------------------------

    def import_model(
        self,
        actor: str,
        path: Path,
        *,
        name: str,
        label: str,
        accreditation: str | None = None,
        version: str | None = None,
        manifest: Path | None = None,
        signature: Path | None = None,
        in_place: bool = False,
        licence: str | None = None,
        provenance: str | None = None,
        demo: bool = False,
    ) -> ModelInfo:
        """Check, verify, copy and register the model at ``path`` (a file or directory).

        Args:
            actor: Who imports (journal actor name).
            path: A ``.gguf`` file, or a directory of GGUF or safetensors weights
                with their tokenizer/config files.
            name: Unique model name.
            label: Marking of the weights (e.g. ``SECRET`` for a model tuned on SECRET data).
            accreditation: Highest working label the deployment may process;
                the weights' label by default. Must dominate ``label``.
            version: Defaults to the manifest's version, else ``"1"``.
            manifest: Manifest JSON; found as ``egide-manifest.json`` in a directory.
            signature: Detached signature; ``<manifest>.sig`` by default.
            in_place: Reference the files where they are instead of copying them.
            licence: Licence; defaults to the manifest's.
            provenance: Origin; defaults to the manifest's.
            demo: Mark as a demonstration model.

        Raises:
            InvalidInput: bad name, label or refused file; unsigned when signatures are required.
            IntegrityError: the signature or a digest does not verify.
            Conflict: a model with this name exists.
        """
        name = _checked(name, "model name")
        weights, accredited = self._labels(label, accreditation)
        source = path.expanduser().absolute()
        signed = self._signed_manifest(source, manifest, signature)
        meta = signed.manifest if signed else None
        version = _checked(version or (meta.version if meta else "1"), "model version")
        self._refuse_existing(name)
        prepared = intake.prepare(source, self.models_dir, signed, in_place=in_place)
        target = self.models_dir / name / version
        published = False
        try:
            with self._db.transaction() as session:
                record = ModelRecord(
                    name=name,
                    version=version,
                    format=prepared.format.value,
                    runtime=RUNTIME_FOR_FORMAT[prepared.format],
                    location=str(prepared.root if in_place else target.relative_to(self._data_dir)),
                    in_place=in_place,
                    files=[item.to_json() for item in prepared.digests],
                    label_id=intern_label(session, weights),
                    accreditation_id=intern_label(session, accredited),
                    licence=licence if licence is not None else (meta.licence if meta else ""),
                    provenance=provenance
                    if provenance is not None
                    else (meta.provenance if meta else ""),
                    publisher=meta.publisher if meta else "",
                    signer_fingerprint=signed.signer.fingerprint if signed else None,
                    signer_key=signed.signer.name if signed else None,
                    manifest=meta.to_json() if meta else None,
                    demo=demo,
                    importer=actor,
                )
                session.add(record)
                session.flush()
                details = {**_details(record), "accreditation": accredited}
                self._record(session, actor, "model.import", record, weights, details)
                if prepared.staged:
                    intake.publish(prepared.root, target)
                    published = True
        except BaseException:
            if prepared.staged:
                intake.discard(target if published else prepared.root)
            raise
        self._enabled.invalidate()
        return self.get(name)

    def _labels(self, label: str, accreditation: str | None) -> tuple[str, str]:
        weights = self._policies.parse(label)
        accredited = self._policies.parse(accreditation) if accreditation else weights
        if not accredited.dominates(weights):
            raise InvalidInput(
                f"the accreditation {self._policies.format(accredited)} does not dominate the "
                f"weights' label {self._policies.format(weights)}: a deployment must be "
                "accredited at least at the label of its weights"
            )
        return self._policies.canonical(weights), self._policies.canonical(accredited)

    def _signed_manifest(
        self, source: Path, manifest: Path | None, signature: Path | None
    ) -> intake.SignedManifest | None:
        found = intake.find_manifest(source, manifest, signature)
        if found is None:
            if self.require_signed:
                raise InvalidInput(
                    f"{source}: this installation only accepts signed models and no manifest "
                    "was given; ask the publisher for egide-manifest.json and its .sig "
                    "(egide models sign) and pass them with --manifest/--signature"
                )
            return None
        trusted = load_trusted_keys(self._trusted_sources)
        return intake.verify_manifest(found[0], found[1], trusted)

    def _refuse_existing(self, name: str) -> None:
        # Checked before copying (possibly gigabytes); the unique constraint
        # still decides when two imports race.
        with self._db.transaction() as session:
            if session.scalar(select(ModelRecord.id).where(ModelRecord.name == name)):
                raise _conflict(name)

    # reading -------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """Every registered model, by name."""
        with self._db.transaction() as session:
            return [self._info(row[0], row[1], row[2]) for row in session.execute(_select_models())]

    def get(self, name: str) -> ModelInfo:
        """The model named ``name``.

        Raises:
            NotFound: no such model.
        """
        with self._db.transaction() as session:
            row = session.execute(_select_models().where(ModelRecord.name == name)).first()
        if row is None:
            raise NotFound(f"no model named {name!r}; `egide models list` shows the models")
        return self._info(row[0], row[1], row[2])

    def verified_path(self, name: str) -> Path:
        """Re-hash the model's files and return what the runtime should load.

        The inference layer calls this before loading weights.

        Raises:
            NotFound: no such model.
            ModelDisabled: the kill switch is on.
            IntegrityError: a file is missing or modified (names it and both digests).
        """
        info = self.get(name)
        if not info.enabled:
            raise ModelDisabled(_disabled_message(info))
        check_all(info.root, info.files, name)
        return info.weights_path

    def verify(self, name: str | None = None) -> list[VerifyResult]:
        """Re-hash every file of one model, or of all models; never raises on a mismatch."""
        models = [self.get(name)] if name is not None else self.list_models()
        results = []
        for info in models:
            try:
                check_all(info.root, info.files, info.name)
            except EgideError as err:
                results.append(VerifyResult(info.name, ok=False, problem=err.message))
            else:
                results.append(VerifyResult(info.name, ok=True))
        return results

    # kill switch ---------------------------------------------------------------------

    def is_enabled(self, name: str) -> bool:
        """Whether the model may serve requests, as seen at most ``cache_ttl`` seconds ago.

        Cheap enough to call for every request or streamed token.

        Raises:
            NotFound: no such model.
        """
        enabled = self._enabled.get(name)
        if enabled is None:
            raise NotFound(f"no model named {name!r}; `egide models list` shows the models")
        return enabled

    def require_enabled(self, name: str) -> None:
        """Raise `ModelDisabled` if the kill switch is on (cached, see `is_enabled`)."""
        if not self.is_enabled(name):
            raise ModelDisabled(_disabled_message(self.get(name)))

    def authorize_use(self, principal: Principal, name: str, working_label: Label) -> ModelInfo:
        """The model, if ``principal`` may send work at ``working_label`` to it.

        Raises:
            NotFound: no such model.
            ModelDisabled: the kill switch is on.
            Forbidden: clearance or the model's accreditation does not allow it.
        """
        info = self.get(name)
        if not info.enabled:
            raise ModelDisabled(_disabled_message(info))
        decision = can_use_model(
            principal, working_label, info.accreditation, enabled=info.enabled, name=name
        )
        if not decision.allowed:
            raise Forbidden(decision.reason)
        return info

    def disable(self, actor: str, name: str, *, reason: str = "") -> ModelInfo:
        """Turn the kill switch on: every process refuses the model within a second."""
        return self._set_enabled(actor, name, enabled=False, reason=reason)

    def enable(self, actor: str, name: str) -> ModelInfo:
        """Turn the kill switch off."""
        return self._set_enabled(actor, name, enabled=True, reason="")

    def _set_enabled(self, actor: str, name: str, *, enabled: bool, reason: str) -> ModelInfo:
        with self._db.transaction() as session:
            record = session.scalar(select(ModelRecord).where(ModelRecord.name == name))
            if record is None:
                raise NotFound(f"no model named {name!r}; `egide models list` shows the models")
            was = record.enabled
            record.enabled = enabled
            record.disabled_reason = "" if enabled else reason
            session.flush()
            label = session.scalar(
                select(LabelRecord.canonical).where(LabelRecord.id == record.label_id)
            )
            details = {"reason": reason, "was_enabled": was}
            action = "model.enable" if enabled else "model.disable"
            self._record(session, actor, action, record, label or "", details)
        self._enabled.invalidate()
        return self.get(name)

    def _load_flags(self) -> dict[str, bool]:
        with self._db.transaction() as session:
            rows = session.execute(select(ModelRecord.name, ModelRecord.enabled))
            return {row.name: row.enabled for row in rows}

    # helpers -------------------------------------------------------------------------

    def _record(
        self,
        session: Session,
        actor: str,
        action: str,
        record: ModelRecord,
        label: str,
        details: dict[str, object],
    ) -> None:
        self._journal.append(
            session,
            actor=actor,
            action=action,
            objects=[f"model:{record.name}"],
            label=label,
            details=details,
        )

    def _info(self, record: ModelRecord, label: str, accreditation: str) -> ModelInfo:
        location = Path(record.location)
        return ModelInfo(
            name=record.name,
            version=record.version,
            format=WeightFormat(record.format),
            runtime=record.runtime,
            root=location if record.in_place else self._data_dir / location,
            in_place=record.in_place,
            files=tuple(
                FileDigest.from_json(item, f"model {record.name}") for item in record.files
            ),
            label=self._policies.parse(label),
            accreditation=self._policies.parse(accreditation),
            label_text=label,
            accreditation_text=accreditation,
            licence=record.licence,
            provenance=record.provenance,
            publisher=record.publisher,
            signer_fingerprint=record.signer_fingerprint,
            signer_key=record.signer_key,
            enabled=record.enabled,
            disabled_reason=record.disabled_reason,
            demo=record.demo,
            created_at=record.created_at,
            importer=record.importer,
        )


def _select_models() -> Select[ModelRecord, str, str]:
    weights, accreditation = aliased(LabelRecord), aliased(LabelRecord)
    return (
        select(ModelRecord, weights.canonical, accreditation.canonical)
        .join(weights, ModelRecord.label_id == weights.id)
        .join(accreditation, ModelRecord.accreditation_id == accreditation.id)
        .order_by(ModelRecord.name)
    )


def _details(record: ModelRecord) -> dict[str, object]:
    return {
        "name": record.name,
        "version": record.version,
        "format": record.format,
        "files": record.files,
        "signer": record.signer_fingerprint,
        "signer_key": record.signer_key,
        "publisher": record.publisher,
        "in_place": record.in_place,
        "licence": record.licence,
        "provenance": record.provenance,
        "demo": record.demo,
    }


def _disabled_message(info: ModelInfo) -> str:
    why = f" ({info.disabled_reason})" if info.disabled_reason else ""
    return (
        f"model {info.name!r} is disabled by an administrator (kill switch){why}; "
        "use another model or ask for it to be re-enabled"
    )


def _checked(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise InvalidInput(
            f"{what} {value!r} is not allowed: use letters, digits, '.', '_' and '-' "
            "(at most 100 characters, starting with a letter or digit)"
        )
    return value


def _conflict(name: str) -> Conflict:
    return Conflict(
        f"a model named {name!r} already exists; choose another name, or disable the old one"
    )
