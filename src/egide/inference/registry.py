"""Runtimes chosen by configuration: a mapping from runtime name to factory.

Each factory takes the model's plain configuration mapping and returns a
:class:`~egide.inference.protocol.Backend`. Factories import their runtime
module only when called, so `import egide.inference` never loads llama.cpp or
opens a connection. A plugin or a test passes its own mapping to
:func:`create_backend` to add a runtime; the built-in ones are registered the
same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from egide.errors import ConfigurationError
from egide.inference.protocol import Backend

BackendFactory = Callable[[Mapping[str, Any]], Backend]


def _llamacpp(config: Mapping[str, Any]) -> Backend:
    from egide.inference.llamacpp import LlamaCppBackend

    return LlamaCppBackend.from_config(config)


def _openai(config: Mapping[str, Any]) -> Backend:
    from egide.inference.remote import RemoteBackend

    return RemoteBackend.from_config(config)


def _echo(config: Mapping[str, Any]) -> Backend:
    from egide.inference.testing import EchoBackend

    return EchoBackend.from_config(config)


RUNTIMES: Mapping[str, BackendFactory] = MappingProxyType(
    {"llamacpp": _llamacpp, "openai": _openai, "echo": _echo}
)
"""Built-in runtimes: embedded llama.cpp, OpenAI-compatible engines, and the test double."""


def create_backend(
    config: Mapping[str, Any], runtimes: Mapping[str, BackendFactory] = RUNTIMES
) -> Backend:
    """Build the backend that `config["runtime"]` names.

    Args:
        config: The model's settings, e.g. ``{"runtime": "llamacpp", "n_ctx": 4096}``.
        runtimes: Registry to look the runtime up in; the built-ins by default.

    Raises:
        ConfigurationError: No runtime, an unknown runtime, or a bad setting.
    """
    runtime = config.get("runtime")
    if not isinstance(runtime, str):
        raise ConfigurationError(
            f"model configuration needs a `runtime` key, one of {', '.join(sorted(runtimes))}"
        )
    try:
        factory = runtimes[runtime]
    except KeyError:
        raise ConfigurationError(
            f"unknown runtime {runtime!r}; known runtimes are {', '.join(sorted(runtimes))}"
        ) from None
    return factory(config)
