"""The maintenance forecasting service: labelled models, journaled plans, proposals.

The engine (:mod:`egide.forecasting`) works on local files and knows nothing
of labels; this service is where the invariants are applied:

* **Training** (``maintenance.train``) needs the ``models.manage`` right and a
  clearance for the training data's label. The model is labelled with the
  join of its training data's labels — written in the manifest's ``label``
  slot, which the manifest's content digest covers — and the journal entry
  records the model's digest, its label and the digests of its data, in the
  same transaction: if the journal cannot be written the model directory is
  removed.
* **Using a model** needs a clearance that dominates its label; an
  unlabelled model (trained by the command line without ``--label``) is
  refused: nobody vouched for what it was trained on.
* **Planning** ends in a proposal of kind ``maintenance-plan`` (one approval,
  two at SECRET and above), labelled with the join of the model's label and
  the fleet data's label, carrying the schedule, the risk table and the
  explanation; the ``maintenance.plan`` journal entry (model digest, fleet
  file digest, workshop digest) is written in the proposal's transaction.

No table is added: the model directory is the registry entry (label and
lineage in its manifest), and the journal is the record of who trained and
who used which model digest.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from egide.audit.journal import Journal
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.digest import sha256_bytes, sha256_json
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import InvalidInput
from egide.store import Database
from egide.workflows.proposals import Proposal, ProposalService

WORKFLOW = "maintenance-plan"
"""The workflow name proposals from this service carry."""
ENGINE = "egide-rul-lightgbm"
"""How a proposal names the model family that produced it (the digest says which one)."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class TrainedModel:
    """A model trained and registered through the service."""

    directory: Path
    manifest: dict[str, Any]
    label: Label


@dataclass(frozen=True)
class MaintenanceProposal:
    """A maintenance plan proposed for decision."""

    proposal: Proposal
    content: dict[str, Any]
    explanation: str


class MaintenanceService:
    """Train labelled RUL models and propose workshop plans, under policy and journal."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        proposals: ProposalService,
        *,
        trail: Trail,
        models_dir: Path | None = None,
    ) -> None:
        self._models_dir = models_dir
        self._db = database
        self._journal = journal
        self._policies = policies
        self._proposals = proposals
        self._trail = trail

    # training --------------------------------------------------------------------------

    def train(
        self,
        principal: Principal,
        train_file: Path,
        out: Path,
        *,
        labels: list[Label],
        seed: int = 0,
        rounds: int = 300,
    ) -> TrainedModel:
        """Train on `train_file` (whose label is the join of `labels`) and register the model.

        Raises:
            Forbidden: no ``models.manage`` right, or not cleared for the data's label.
            InvalidInput: bad data, an existing --out, no label.
        """
        from egide.forecasting.histories import describe
        from egide.forecasting.importing import read_histories
        from egide.forecasting.storage import data_file, save
        from egide.forecasting.training import TrainingConfig, train

        with self._trail.guard(principal, "maintenance.train"):
            if not labels:
                raise InvalidInput("training through the service needs the data's --label")
            label = join(*labels)
            access.require(access.can(principal, Action.MODELS_MANAGE))
            access.require(access.can_work_at(principal, label))
        if not 1 <= rounds <= 10_000:
            raise InvalidInput(f"rounds {rounds} is outside 1..10000")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InvalidInput(f"{out} already exists and is not empty; choose another --out")
        histories = read_histories(train_file)
        description = describe(histories)
        config = TrainingConfig(seed=seed, rounds=rounds)
        trained = train(histories, config)
        canonical = self._policies.canonical(label)
        data = [data_file(train_file, histories.rows, description.units)]
        written = False
        try:
            with self._db.transaction() as session:
                manifest = save(
                    trained.model,
                    out,
                    data=data,
                    training={**config.to_json(), "seconds": round(trained.seconds, 2)},
                    split=trained.split.to_json(),
                    report=trained.report,
                    description=description.to_json(),
                    label=canonical,
                )
                written = True
                self._journal.append(
                    session,
                    actor=principal.actor,
                    action="maintenance.train",
                    objects=[f"rul-model:{manifest['content_sha256']}"],
                    label=canonical,
                    details={
                        "model_sha256": manifest["content_sha256"],
                        "label": canonical,
                        "training_data": [d.to_json() for d in data],
                        "validation": {
                            "rmse": trained.report.get("rmse"),
                            "units": trained.report.get("units"),
                        },
                        "rounds": rounds,
                        "seed": seed,
                    },
                )
        except BaseException:
            if written:
                shutil.rmtree(out, ignore_errors=True)  # no model without its record
            raise
        return TrainedModel(directory=out, manifest=manifest, label=label)

    def model_directory(self, name: str) -> Path:
        """The model directory `name` in the installation's model folder (API callers).

        Raises:
            InvalidInput: not a plain directory name, or no such model.
        """
        if not _NAME.fullmatch(name) or self._models_dir is None:
            raise InvalidInput(
                f"model {name!r}: give the name of a directory in the installation's "
                "maintenance model folder (letters, digits, '.', '_', '-')"
            )
        directory = self._models_dir / name
        if not (directory / "manifest.json").is_file():
            raise InvalidInput(
                f"no maintenance model named {name!r}; copy a labelled model directory into "
                f"{self._models_dir}"
            )
        return directory

    # planning --------------------------------------------------------------------------

    def propose(
        self,
        principal: Principal,
        *,
        model: Path,
        fleet: Path,
        fleet_labels: list[Label],
        workshop: Any,
        lang: str = "en",
        title: str | None = None,
        fleet_name: str | None = None,
    ) -> MaintenanceProposal:
        """Rank the fleet, plan the workshop and propose the plan for decision.

        Raises:
            Forbidden: no ``proposal.create`` right, or not cleared for the model's or
                the fleet's label.
            InvalidInput: an unlabelled model, bad fleet data, a contradictory workshop.
        """
        from egide.forecasting.importing import read_histories
        from egide.forecasting.schedule import explain, parse_workshop, plan_fleet
        from egide.forecasting.storage import load

        with self._trail.guard(principal, "maintenance.plan"):
            if not fleet_labels:
                raise InvalidInput("a plan through the service needs the fleet data's --label")
            access.require(access.can(principal, Action.PROPOSAL_CREATE))
            access.require(access.can_work_at(principal, join(*fleet_labels)))
            if lang not in ("fr", "en"):
                raise InvalidInput(f"language {lang!r} is not available; choose fr or en")
            stored = load(model)
            model_label = self._model_label(stored.manifest, model)
            access.require(access.can_read(principal, model_label))
        shop = parse_workshop(workshop, "workshop")
        histories = read_histories(fleet)
        result = plan_fleet(stored.model, histories, shop)
        explanation = explain(result.plan, lang)
        digest = str(stored.manifest["content_sha256"])
        fleet_sha = sha256_bytes(fleet.read_bytes())
        content: dict[str, Any] = {
            "text": explanation,
            "explanation": explanation,
            "language": lang,
            "schedule": result.plan.to_json(),
            "risk": result.ranking.to_json(),
            "workshop": shop.to_json(),
            "model": {"sha256": digest, "label": stored.manifest["label"]},
            "fleet": {
                "file": fleet_name or fleet.name,
                "sha256": fleet_sha,
                "units": len(result.plan.decisions),
            },
        }
        details = {
            "model_sha256": digest,
            "fleet_sha256": fleet_sha,
            "workshop_sha256": sha256_json(shop.to_json()),
            "serviced": [d.unit for d in result.plan.serviced],
            "risk_accepted": [d.unit for d in result.plan.accepted],
        }

        def journal_plan(session: Session, proposal: Proposal) -> None:
            self._journal.append(
                session,
                actor=principal.actor,
                action="maintenance.plan",
                objects=[f"proposal:{proposal.id}", f"rul-model:{digest}"],
                label=self._policies.canonical(proposal.label),
                details=details,
            )

        heading = "Plan de maintenance" if lang == "fr" else "Maintenance plan"
        proposal = self._proposals.create(
            principal,
            kind="maintenance-plan",
            title=title or f"{heading}: {fleet_name or fleet.name}",
            content=content,
            evidence=[
                {"note": f"unit {u.unit}: p_fail {u.p_fail:.3f} within {result.ranking.horizon}"}
                for u in result.ranking.units[:20]
            ],
            input_labels=[model_label, *fleet_labels],
            model=ENGINE,
            model_digest=digest,
            workflow=WORKFLOW,
            record_also=journal_plan,
        )
        return MaintenanceProposal(proposal=proposal, content=content, explanation=explanation)

    def _model_label(self, manifest: dict[str, Any], directory: Path) -> Label:
        marking = manifest.get("label")
        if not isinstance(marking, str) or not marking:
            raise InvalidInput(
                f"{directory}: the model carries no label (trained without --label); train it "
                "through the service with the training data's --label before planning with it"
            )
        return self._policies.parse(marking)
