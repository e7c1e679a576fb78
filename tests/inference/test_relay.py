"""Tokens from llama.cpp's thread to the event loop: all delivered, in order, few wake-ups."""

from __future__ import annotations

import asyncio
import threading
import time

from egide.inference.llamacpp import _Finished, _Relay
from egide.inference.protocol import StreamChunk


def test_a_fast_stream_arrives_whole_and_in_order_with_few_wake_ups() -> None:
    async def consume() -> tuple[list[object], int, int]:
        loop = asyncio.get_running_loop()
        relay = _Relay(loop)
        wake_ups = 0
        original = loop.call_soon_threadsafe

        def counting(*args: object) -> object:
            nonlocal wake_ups
            wake_ups += 1
            return original(*args)  # type: ignore[arg-type]

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]

        def generate() -> None:  # 100 tokens, one a millisecond, as a fast model
            for i in range(100):
                relay.emit(StreamChunk(text=f"t{i} "))
                time.sleep(0.001)
            relay.emit(_Finished("stop", 100))

        worker = threading.Thread(target=generate)
        loop.call_soon(worker.start)  # runs once the consumer below is waiting
        events: list[object] = []
        woken_by_first = 0
        while not events or not isinstance(events[-1], _Finished):
            taken = await relay.take()
            if not events:
                woken_by_first = wake_ups
            events.extend(taken)
        await asyncio.to_thread(worker.join)
        return events, wake_ups, woken_by_first

    events, wake_ups, woken_by_first = asyncio.run(consume())
    texts = [e.text for e in events if isinstance(e, StreamChunk)]
    assert texts == [f"t{i} " for i in range(100)]
    assert events[-1] == _Finished("stop", 100)
    assert woken_by_first == 1  # the first token woke the waiting loop: not held back
    assert wake_ups < 50  # about one every WAKE_INTERVAL, not one per token


def test_the_loop_takes_every_waiting_token_at_once_in_order() -> None:
    async def consume() -> tuple[list[object], list[object]]:
        relay = _Relay(asyncio.get_running_loop())
        for i in range(5):  # generated while the loop was busy elsewhere
            relay.emit(StreamChunk(text=f"t{i}"))
        first = await relay.take()
        relay.emit(_Finished("stop", 5))
        relay.emit(None)
        return first, await relay.take()

    first, last = asyncio.run(consume())
    assert first == [StreamChunk(text=f"t{i}") for i in range(5)]  # one hand-over, not five
    assert last == [_Finished("stop", 5), None]
