"""The models one API process serves: backends with their labels, accreditation and digest.

A *deployment* is one backend serving one model name, with

- the **label** of the weights (joined into every answer's label),
- the **accreditation**: the highest working label it may process,
- its **family**: deployments of one family are interchangeable, so work
  above one deployment's accreditation can go to an accredited sibling,
- the SHA-256 **digest** of its weights, written in every journal entry.

Deployments come from the model registry (GGUF models run by the embedded
llama.cpp runtime, loaded once per process from `verified_path`), from the
`deployments` setting (remote engine pools, test doubles), and the built-in
embedding model. A settings entry whose name is a registry model takes its
label, accreditation, digest and kill switch from the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from egide.core.digest import sha256_text
from egide.core.labels import Label, PolicyRegistry
from egide.errors import ConfigurationError, EgideError, NotFound
from egide.inference import Backend, create_backend
from egide.settings import Settings, home_label
from egide.workflows.synthesis import ModelEngine

log = logging.getLogger(__name__)

Kind = Literal["chat", "embedding"]
RAG_MODEL_PREFIX = "egide-rag:"
"""Model names `egide-rag:<collection>` ask the knowledge base instead of a model."""
_DEPLOYMENT_KEYS = ("family", "label", "accreditation", "digest", "kind", "demo")


class ModelSource(Protocol):
    """What the gateway needs of the model registry (`egide.modelhub`)."""

    def is_enabled(self, name: str) -> bool:
        """Kill switch: false once `egide models disable` ran (any process)."""
        ...


@dataclass(frozen=True)
class RegisteredModel:
    """A registry model as the gateway sees it."""

    name: str
    runtime: str
    label: Label
    accreditation: Label
    digest: str
    demo: bool
    enabled: bool


@dataclass
class Deployment:
    """One backend serving one model name."""

    name: str
    family: str
    backend: Backend
    label: Label
    accreditation: Label
    digest: str
    demo: bool
    kind: Kind = "chat"
    registered: bool = False
    """Whether the registry knows the model (and so holds its kill switch)."""

    def engine(self) -> ModelEngine:
        """This deployment as the model a workflow drafts with."""
        return ModelEngine(
            backend=self.backend,
            name=self.name,
            digest=self.digest,
            label=self.label,
            accreditation=self.accreditation,
            demo=self.demo,
        )


def weights_digest(files: Sequence[Any]) -> str:
    """One digest for a model's weights: the file's SHA-256, or a digest of all of them."""
    digests = sorted((str(f.path), str(f.sha256)) for f in files)
    weights = [d for p, d in digests if p.lower().endswith((".gguf", ".safetensors"))]
    if len(weights) == 1:
        return weights[0]
    joined = "\n".join(f"{d}  {p}" for p, d in digests)
    return sha256_text(joined)


def highest_label(policies: PolicyRegistry, settings: Settings) -> Label:
    """The highest level of the home policy (no compartment), for test doubles."""
    policy = policies.get(settings.home_policy)
    return Label(policy=policy, level=len(policy.levels) - 1)


class Deployments:
    """The deployments of one process, by model name, with accreditation routing."""

    def __init__(self, deployments: Sequence[Deployment], *, routing: bool = True) -> None:
        self._by_name: dict[str, Deployment] = {}
        for deployment in deployments:
            if deployment.name in self._by_name:
                raise ConfigurationError(
                    f"model {deployment.name!r} is deployed twice; remove one entry"
                )
            self._by_name[deployment.name] = deployment
        self._routing = routing

    def __iter__(self) -> Iterator[Deployment]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str, kind: Kind = "chat") -> Deployment:
        """The deployment serving `name`.

        Raises:
            NotFound: no such model (or not of this kind).
        """
        deployment = self._by_name.get(name)
        if deployment is None or deployment.kind != kind:
            names = ", ".join(sorted(d.name for d in self if d.kind == kind)) or "none"
            raise NotFound(
                f"the model {name!r} does not exist or you do not have access to it; "
                f"{kind} models served here: {names} (see GET /v1/models)"
            )
        return deployment

    def accredited_sibling(self, deployment: Deployment, working: Label) -> Deployment | None:
        """Another deployment of the same family accredited for `working`, if routing is on."""
        if not self._routing:
            return None
        for other in self:
            if (
                other is not deployment
                and other.family == deployment.family
                and other.kind == deployment.kind
                and other.accreditation.dominates(working)
            ):
                return other
        return None

    async def close(self) -> None:
        """Release every backend."""
        for deployment in self:
            try:
                await deployment.backend.close()
            except EgideError as error:  # pragma: no cover - best effort at shutdown
                log.warning("closing %s failed: %s", deployment.name, error.message)


def from_settings(
    entries: Sequence[Mapping[str, Any]],
    policies: PolicyRegistry,
    settings: Settings,
    registered: Mapping[str, RegisteredModel],
) -> list[Deployment]:
    """Deployments of the `deployments` setting (remote pools, test doubles)."""
    result = []
    for entry in entries:
        name = str(entry.get("name") or entry.get("model") or "")
        if not name:
            raise ConfigurationError("each entry of EGIDE_DEPLOYMENTS needs a `name`")
        backend_config = {k: v for k, v in entry.items() if k not in _DEPLOYMENT_KEYS}
        known = registered.get(name)
        label = _label(entry, "label", policies, known.label if known else None)
        accreditation = _label(
            entry, "accreditation", policies, known.accreditation if known else None
        )
        result.append(
            Deployment(
                name=name,
                family=str(entry.get("family") or name),
                backend=create_backend(backend_config),
                label=label or home_label(policies, settings.home_policy),
                accreditation=accreditation or home_label(policies, settings.home_policy),
                digest=str(entry.get("digest") or (known.digest if known else "")),
                demo=bool(entry.get("demo", known.demo if known else False)),
                kind="embedding" if entry.get("kind") == "embedding" else "chat",
                registered=known is not None,
            )
        )
    return result


def from_registry(
    models: Sequence[RegisteredModel],
    paths: Mapping[str, Path],
    settings: Settings,
) -> list[Deployment]:
    """Embedded llama.cpp deployments of the registry's GGUF models, loaded now."""
    result = []
    for model in models:
        backend = create_backend(
            {
                "runtime": "llamacpp",
                "name": model.name,
                "path": str(paths[model.name]),
                "n_ctx": settings.llamacpp_n_ctx,
                "n_threads": settings.llamacpp_threads,
                "max_queue": settings.llamacpp_max_queue,
            }
        )
        result.append(
            Deployment(
                name=model.name,
                family=model.name,
                backend=backend,
                label=model.label,
                accreditation=model.accreditation,
                digest=model.digest,
                demo=model.demo,
                registered=True,
            )
        )
    return result


def _label(
    entry: Mapping[str, Any], key: str, policies: PolicyRegistry, fallback: Label | None
) -> Label | None:
    marking = entry.get(key)
    if marking is None:
        return fallback
    if not isinstance(marking, str):
        raise ConfigurationError(f"deployment {entry.get('name')!r}: {key} must be a marking")
    return policies.parse(marking)


def require_known(name: str, registered: Mapping[str, RegisteredModel]) -> RegisteredModel:
    """The registry model `name`, or a NotFound that says how to import it."""
    try:
        return registered[name]
    except KeyError:
        raise NotFound(
            f"model {name!r} is not in the registry; import it with `egide models import`"
        ) from None
