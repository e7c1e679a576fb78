"""Structured extraction by a language model under a JSON schema (optional, off by default).

A worker started with `--model NAME --schema FILE.json` asks the model, for
each message, for a JSON document valid against the schema (the runtime
constrains its output: a grammar in llama.cpp, `response_format` on an
OpenAI-compatible engine), validates the answer again with `jsonschema`, and
stores it as a finding of kind `model` whose value is the compact JSON.

What is never done:

- a message above the model's accreditation (level, compartments) is not sent
  to it (`skipped_label`), as for any use of a model (`access.accredited_for`);
- a message below the label of the model's weights is not either: what the
  model writes could carry its weights' label, and the message's results keep
  the message's own label;
- an answer that is not JSON, or not valid against the schema, or cut short,
  gives no finding, only a count (`invalid`); a model that fails (context
  overflow, engine error) gives no finding and a count (`failed`) — never a
  crash of the worker, which keeps processing the flow.

The model runs on an event loop of its own (a background thread): the worker
calls it synchronously, one message after another, before the message's
results are written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from egide.core.access import accredited_for
from egide.core.labels import Label
from egide.errors import EgideError, InvalidInput
from egide.inference.protocol import Backend, ChatMessage, ChatRequest, JsonSchemaFormat
from egide.streams.extract import Finding
from egide.streams.message import Message

log = logging.getLogger(__name__)

MAX_VALUE_CHARS = 8000
"""Longest compact JSON kept as a finding; longer answers count as invalid."""
MAX_MESSAGE_CHARS = 4000
"""Most of a message's text sent to the model (the rest would rarely fit a small context)."""
TIMEOUT_SECONDS = 300.0
INSTRUCTIONS = (
    "Extract the information the JSON schema asks for from the message below. "
    "Answer with one JSON object valid against this schema and nothing else; "
    "use only what the message says.\nSchema: {schema}"
)


@dataclass
class ModelCounts:
    """What the model stage did, counted as it goes."""

    extracted: int = 0
    invalid: int = 0
    failed: int = 0
    skipped_label: int = 0
    skipped_disabled: int = 0
    reasons: list[str] = field(default_factory=list)

    def note(self, reason: str) -> None:
        """Keep the first reasons for the run's report."""
        if len(self.reasons) < 20:
            self.reasons.append(reason)


def load_schema(text: str, where: str = "the schema") -> dict[str, Any]:
    """A JSON schema from its text, checked against its own metaschema.

    Raises:
        InvalidInput: not JSON, not an object, or not a valid JSON schema.
    """
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{where} is not JSON: {error}") from None
    if not isinstance(schema, dict):
        raise InvalidInput(f"{where} must be a JSON object (a JSON schema)")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        raise InvalidInput(f"{where} is not a valid JSON schema: {error.message}") from None
    return schema


class ModelExtractor:
    """Asks a chat model for JSON under a schema; a valid answer is a `model` finding.

    Args:
        backend: The model's runtime.
        schema: The JSON schema answers must follow (checked by `load_schema`).
        name: The model's name (logs and reasons).
        label: The label of the model's weights.
        accreditation: The highest label the model may process.
        enabled: The model's kill switch, asked before each batch (None: always on).
        max_tokens: Most tokens an answer may take.
        digest: SHA-256 of the model's weights (written in the journal beside its name).
    """

    def __init__(
        self,
        backend: Backend,
        schema: Mapping[str, Any],
        *,
        name: str,
        label: Label,
        accreditation: Label,
        enabled: Callable[[], bool] | None = None,
        max_tokens: int = 256,
        digest: str = "",
    ) -> None:
        self.name = name
        self.reference = f"{name}@sha256:{digest}" if digest else name
        """How the journal names the model: its name and weights digest."""
        self.counts = ModelCounts()
        self._backend = backend
        self._schema = dict(schema)
        self._validator = jsonschema.validators.validator_for(self._schema)(self._schema)
        self._label = label
        self._accreditation = accreditation
        self._enabled = enabled
        self._max_tokens = max_tokens
        self._system = INSTRUCTIONS.format(
            schema=json.dumps(self._schema, separators=(",", ":"), ensure_ascii=False)
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"model-extractor-{name}", daemon=True
        )
        self._thread.start()

    def findings(self, messages: Sequence[Message]) -> list[list[Finding]]:
        """For each message, its `model` finding, or nothing (counted in `counts`)."""
        if self._enabled is not None and not self._enabled():
            self.counts.skipped_disabled += len(messages)
            return [[] for _ in messages]
        return [self._one(message) for message in messages]

    def close(self) -> None:
        """Release the model and stop its event loop."""
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._backend.close(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _one(self, message: Message) -> list[Finding]:
        if not accredited_for(self._accreditation, message.label):
            self.counts.skipped_label += 1
            return []
        if not accredited_for(message.label, self._label):
            self.counts.skipped_label += 1
            return []
        text = message.text[:MAX_MESSAGE_CHARS]
        request = ChatRequest(
            messages=[ChatMessage("system", self._system), ChatMessage("user", text)],
            max_tokens=self._max_tokens,
            temperature=0.0,
            response_format=JsonSchemaFormat(self._schema, name="extraction"),
        )
        try:
            future = asyncio.run_coroutine_threadsafe(self._backend.chat(request), self._loop)
            result = future.result(TIMEOUT_SECONDS)
        except (EgideError, TimeoutError) as error:
            self.counts.failed += 1
            self.counts.note(f"{message.id}: the model failed ({error})")
            log.warning("model %s failed on message %s: %s", self.name, message.id, error)
            return []
        value = self._valid(message.id, result.text, result.finish_reason)
        if value is None:
            self.counts.invalid += 1
            return []
        self.counts.extracted += 1
        return [Finding("model", value, (0, len(message.text)))]

    def _valid(self, message_id: str, answer: str, finish: str) -> str | None:
        """The answer as compact JSON if it is valid against the schema, else None."""
        if finish == "length":
            self.counts.note(f"{message_id}: the answer was cut at {self._max_tokens} tokens")
            return None
        try:
            data = json.loads(answer)
        except json.JSONDecodeError as error:
            self.counts.note(f"{message_id}: the answer is not JSON ({error.msg})")
            return None
        broken = jsonschema.exceptions.best_match(self._validator.iter_errors(data))
        if broken is not None:
            self.counts.note(f"{message_id}: the answer breaks the schema ({broken.message})")
            return None
        value = json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        if len(value) > MAX_VALUE_CHARS:
            self.counts.note(f"{message_id}: the answer is longer than {MAX_VALUE_CHARS}")
            return None
        return value
