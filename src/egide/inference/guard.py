"""The switch that forbids real model calls, so unit tests cannot reach a model by accident.

Set ``EGIDE_ALLOW_MODEL_REQUESTS=0`` (or use
:func:`egide.inference.testing.forbid_model_requests`) and every real runtime
refuses to generate; the test doubles in :mod:`egide.inference.testing` keep
working. An environment variable rather than a module global so that it
reaches subprocesses and needs no import-order care.
"""

from __future__ import annotations

import os

from egide.errors import ConfigurationError

ALLOW_ENV = "EGIDE_ALLOW_MODEL_REQUESTS"


def model_requests_allowed() -> bool:
    """Whether real runtimes may generate (true unless the switch says otherwise)."""
    return os.environ.get(ALLOW_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def check_model_requests_allowed(runtime: str) -> None:
    """Raise if real model calls are switched off.

    Raises:
        ConfigurationError: ``EGIDE_ALLOW_MODEL_REQUESTS`` forbids them.
    """
    if not model_requests_allowed():
        raise ConfigurationError(
            f"a real {runtime!r} model call was attempted while {ALLOW_ENV}=0; "
            "use egide.inference.testing.EchoBackend in unit tests, or unset the variable"
        )
