"""Real tests of the embedded runtime on the SmolLM2-135M demo model via llama.cpp."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import aclosing
from pathlib import Path

import pytest

from egide.errors import ContextOverflow, InvalidInput, Unavailable
from egide.inference import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    JsonObjectFormat,
    JsonSchemaFormat,
    create_backend,
)
from egide.inference.llamacpp import LlamaCppBackend

COLOURS = ChatRequest([ChatMessage("user", "Name three colours.")], max_tokens=32, temperature=0.0)
# A request long enough that cancelling it is observable (SmolLM2 rambles on this).
LONG = ChatRequest(
    [ChatMessage("user", "Write a very long story about a lighthouse keeper.")],
    max_tokens=400,
    temperature=0.0,
)

LONG_ENOUGH = ChatRequest(
    [ChatMessage("user", "Write a very long story about a lighthouse keeper.")],
    max_tokens=48,
    temperature=0.0,
)


async def _idle(backend: LlamaCppBackend, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        info = backend.describe()
        if info.in_flight == 0 and info.queue_depth == 0:
            return True
        await asyncio.sleep(0.02)
    return False


def test_registry_builds_the_demo_model_and_flags_it(smollm_path: Path) -> None:
    backend = create_backend({"runtime": "llamacpp", "n_ctx": 512, "n_threads": 1})
    assert isinstance(backend, LlamaCppBackend)
    info = backend.describe()
    assert info.demo and backend.is_demo_model
    assert info.runtime == "llamacpp"
    assert info.context_size == 512
    assert backend.path == smollm_path
    asyncio.run(backend.close())


def test_chat_and_stream_agree(llama: LlamaCppBackend) -> None:
    async def main() -> None:
        result = await llama.chat(COLOURS)
        assert result.text.strip()
        assert result.finish_reason in ("stop", "length")
        assert result.prompt_tokens == llama.count_tokens(COLOURS.messages)
        assert 0 < result.completion_tokens <= COLOURS.max_tokens
        chunks = [c async for c in llama.stream(COLOURS)]
        assert all(c.finish_reason is None for c in chunks[:-1])
        assert chunks[-1].finish_reason == result.finish_reason
        assert "".join(c.text for c in chunks) == result.text  # greedy: same answer

    asyncio.run(main())


def test_tokens_made_while_the_reader_is_busy_come_as_one_chunk(llama: LlamaCppBackend) -> None:
    async def main() -> None:
        whole = await llama.chat(LONG_ENOUGH)
        async with aclosing(llama.stream(LONG_ENOUGH)) as stream:
            chunks = [await anext(stream)]
            # A reader busy until the whole answer is generated: every other token
            # was waiting when it came back.
            assert await _idle(llama, within=120)
            chunks += [chunk async for chunk in stream]
        texts = [c.text for c in chunks[:-1]]
        assert "".join(texts) == whole.text  # the same answer, nothing lost or reordered
        last = chunks[-1]
        assert last.text == "" and last.finish_reason == whole.finish_reason
        assert last.completion_tokens == whole.completion_tokens == 48  # counted in tokens
        assert len(texts) == 2  # the first token, then all the others as one chunk

    asyncio.run(main())


def test_max_tokens_gives_length(llama: LlamaCppBackend) -> None:
    result = asyncio.run(llama.chat(ChatRequest(LONG.messages, max_tokens=5, temperature=0.0)))
    assert result.finish_reason == "length"
    assert result.completion_tokens <= 6


def test_token_count_applies_the_chat_template(llama: LlamaCppBackend) -> None:
    bare = len(llama._llama.tokenize(b"Name three colours.", add_bos=False))
    counted = llama.count_tokens(COLOURS.messages)
    # SmolLM2's template adds its default system turn and the role markers.
    assert counted > bare + 10


def test_json_schema_output_parses_and_validates(llama: LlamaCppBackend) -> None:
    schema = {
        "type": "object",
        "properties": {
            "unit": {"type": "string"},
            "strength": {"type": "integer"},
            "status": {"type": "string", "enum": ["ready", "deployed", "resting"]},
        },
        "required": ["unit", "strength", "status"],
        "additionalProperties": False,
    }
    request = ChatRequest(
        [ChatMessage("user", "Describe an infantry unit as JSON with unit, strength, status.")],
        max_tokens=80,
        temperature=0.0,
        response_format=JsonSchemaFormat(schema),
    )
    result = asyncio.run(llama.chat(request))
    assert result.finish_reason == "stop"
    data = json.loads(result.text)
    assert set(data) == {"unit", "strength", "status"}
    assert isinstance(data["unit"], str)
    assert isinstance(data["strength"], int)
    assert data["status"] in schema["properties"]["status"]["enum"]  # type: ignore[index]


def test_json_object_output_parses(llama: LlamaCppBackend) -> None:
    request = ChatRequest(
        [ChatMessage("user", 'Reply in JSON: {"answer": ...}. What is 2+2?')],
        max_tokens=100,
        temperature=0.0,
        response_format=JsonObjectFormat(),
    )
    result = asyncio.run(llama.chat(request))
    assert result.finish_reason == "stop"
    assert isinstance(json.loads(result.text), dict)


def test_context_overflow_gives_the_token_counts(smollm_path: Path) -> None:
    small = LlamaCppBackend.from_config({"path": str(smollm_path), "n_ctx": 128, "n_threads": 1})
    long_prompt = ChatRequest([ChatMessage("user", "word " * 300)], max_tokens=16)
    with pytest.raises(ContextOverflow) as err:
        asyncio.run(small.chat(long_prompt))
    prompt_tokens = small.count_tokens(long_prompt.messages)
    assert f"the prompt is {prompt_tokens} tokens" in err.value.message
    n_ctx = small.context_size  # llama.cpp rounds 128 up to its minimum
    assert f"context of {n_ctx} tokens" in err.value.message
    assert err.value.http_status == 400

    fits_alone = ChatRequest([ChatMessage("user", "Hello")], max_tokens=n_ctx - 8)
    prompt_tokens = small.count_tokens(fits_alone.messages)
    with pytest.raises(ContextOverflow) as err:
        asyncio.run(small.chat(fits_alone))
    assert (
        f"the prompt is {prompt_tokens} tokens and max_tokens asks for {n_ctx - 8} more, "
        f"{prompt_tokens + n_ctx - 8} in all" in err.value.message
    )
    assert f"at most {n_ctx - prompt_tokens}" in err.value.message
    asyncio.run(small.close())


def test_closing_the_stream_stops_generation(llama: LlamaCppBackend) -> None:
    async def main() -> None:
        received = []
        async with aclosing(llama.stream(LONG)) as chunks:
            async for chunk in chunks:
                received.append(chunk)
                if len(received) == 3:
                    break
        # The worker notices at the next token, long before 400 tokens are done.
        assert await _idle(llama, within=2.0)
        # And the model serves the next request normally.
        assert (await llama.chat(COLOURS)).text

    asyncio.run(main())


def test_cancelling_the_task_stops_generation(llama: LlamaCppBackend) -> None:
    async def main() -> None:
        task = asyncio.create_task(llama.chat(LONG))
        while llama.describe().in_flight == 0:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _idle(llama, within=2.0)

    asyncio.run(main())


def test_concurrent_tasks_all_complete_correctly(llama: LlamaCppBackend) -> None:
    prompts = ["Name three colours.", "Say hello.", "What is two plus two?", "Name a fruit."]

    async def main() -> list[ChatResult]:
        requests = [
            ChatRequest([ChatMessage("user", p)], max_tokens=24, temperature=0.0) for p in prompts
        ]
        alone = [await llama.chat(r) for r in requests]
        together = await asyncio.gather(*(llama.chat(r) for r in requests * 2))
        # One request at a time per model: concurrent answers equal the sequential ones.
        assert [r.text for r in together] == [r.text for r in alone * 2]
        return alone

    asyncio.run(main())


def test_requests_from_several_threads_all_complete(llama: LlamaCppBackend) -> None:
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            # Each thread has its own event loop; the model's worker serves them all.
            result = asyncio.run(llama.chat(COLOURS))
            results[i] = result.text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(set(results.values())) == 1 and len(results) == 4


def test_priority_and_queue_full_on_the_real_model(smollm_path: Path) -> None:
    backend = LlamaCppBackend.from_config(
        {"path": str(smollm_path), "n_ctx": 1024, "n_threads": 1, "max_queue": 3}
    )
    finished: list[str] = []

    async def run(label: str, priority: int, max_tokens: int = 8) -> None:
        request = ChatRequest(
            [ChatMessage("user", "Say hi.")],
            max_tokens=max_tokens,
            temperature=0.0,
            priority=priority,
        )
        await backend.chat(request)
        finished.append(label)

    async def main() -> None:
        blocker = asyncio.create_task(run("blocker", 0, max_tokens=60))
        while backend.describe().in_flight == 0:
            await asyncio.sleep(0.01)
        tasks = [
            asyncio.create_task(run("low", 0)),
            asyncio.create_task(run("high", 9)),
            asyncio.create_task(run("mid", 3)),
        ]
        while backend.describe().queue_depth < 3:
            await asyncio.sleep(0.01)
        with pytest.raises(Unavailable, match="max_queue=3"):
            await run("refused", 99)
        await asyncio.gather(blocker, *tasks)

    asyncio.run(main())
    assert finished == ["blocker", "high", "mid", "low"]
    asyncio.run(backend.close())


def test_embeddings_are_refused_clearly(llama: LlamaCppBackend) -> None:
    with pytest.raises(InvalidInput, match="does not provide embeddings"):
        asyncio.run(llama.embed(["x"]))
