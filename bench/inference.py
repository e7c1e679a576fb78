"""Inference benchmarks, side by side in one run (a table + JSON, not a test).

1. Gateway overhead: the same prompts sent to a `llama_cpp.server` directly and
   through `egide serve` in front of it (a remote deployment), at concurrency
   1, 4 and 16: latency p50/p99, added latency, throughput — in two
   topologies: the engine sharing both cores with Égide and the client
   ("shared"), and the engine alone on one core ("separate", as in a
   deployment where it has its own machine). Beside the end-to-end
   difference, which at concurrency 16 is mostly the engine's queue and
   varies by tens of ms from run to run, the time Égide itself spent on each
   request (its `Server-Timing` header: admission, journal, the call around
   the engine) is reported as p50/p99.
2. Embedded runtime: generated tokens/s and time to first token through the
   API (streamed) versus `llama_cpp.Llama` called directly in Python.
3. Memory: resident set of `egide serve` with the demo model loaded.

Each figure is the median of `--runs` runs, direct and through Égide
interleaved so that drift in the machine's load hits both alike; warm-up
requests are left out. Because wall-clock figures on a shared machine are
noisy, the CPU time `egide serve` spent per request (gateway) and per
generated token (embedded) is reported too, read from /proc: it does not
depend on what else runs. The load average before and after goes into the JSON.
Both sides of the embedded comparison start each answer from an empty KV
cache (as Égide does, for reproducible answers), count generated tokens with
the model's tokenizer, and run llama.cpp with the same settings — threads,
context, batch, sampling, and OpenMP threads that sleep rather than spin
while they wait (`prepare_openmp`, which `egide serve` applies to itself).
Each run's ratios (tokens/s and CPU per token, Égide over direct) are
reported beside the medians, since the goal holds for every run.

    .venv/bin/python bench/inference.py [--requests 24] [--max-tokens 8] [--runs 5]
        [--parts gateway,embedded]

Results go to bench/results/inference.json. Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from egide.benchmarks.scale import percentile

ROOT = Path(__file__).resolve().parents[1]
EGIDE = str(ROOT / ".venv" / "bin" / "egide")
PROMPT = "Résume en une phrase : le convoi CLOU-7 arrive à Marsk le 19 novembre."
# Long enough an answer that tokens/s is measured over `--gen-tokens` tokens (the
# demo model ends a one-sentence answer after some 20 tokens: too few to time).
LONG_PROMPT = "Write a detailed report of 300 words on convoy logistics in winter."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become ready")


def model_path() -> str:
    from egide.inference.llamacpp import default_model_path

    return str(default_model_path())


async def burst(
    url: str,
    headers: dict[str, str],
    model: str,
    n: int,
    concurrency: int,
    max_tokens: int,
    own: list[float] | None = None,
) -> tuple[list[float], float]:
    """Latencies (ms) and requests/s of `n` requests, `concurrency` at a time.

    `own` collects, per request, the time Égide says it spent around the engine
    call (its `Server-Timing` header's `egide` entry).
    """
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "seed": 1,
    }
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    # aiohttp: a client that costs little CPU, so that on two shared cores it takes
    # as little as possible from the engine, on both sides of the comparison.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as client:

        async def one() -> None:
            async with gate:
                begin = time.perf_counter()
                async with client.post(url, json=body, headers=headers) as reply:
                    text = await reply.text()
                    if reply.status != 200:
                        raise RuntimeError(f"{url} answered {reply.status}: {text}")
                    latencies.append((time.perf_counter() - begin) * 1000)
                    if own is not None:
                        own.append(egide_ms(reply.headers.get("server-timing", "")))

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        elapsed = time.perf_counter() - start
    return latencies, n / elapsed


def egide_ms(header: str) -> float:
    """The `egide` duration of a `Server-Timing` header."""
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if name == "egide":
            return float(duration)
    raise RuntimeError(f"no egide entry in Server-Timing {header!r}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def init_site(data_dir: Path, env: dict[str, str]) -> str:
    out = subprocess.run(
        [EGIDE, "init", "--clearance", "TS"], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def pinned(cpus: set[int] | None) -> Any:
    """A `preexec_fn` running the child on `cpus` (None: anywhere)."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


class Side:
    """One way of reaching the engine (direct, pass-through, Égide) and its runs' figures.

    Args:
        url: The chat completions URL.
        headers: Request headers (authentication).
        model: The model name that side knows the engine by.
        pid: The process in front of the engine, whose CPU per request is read.
        own: Whether to collect, per run, Égide's own time per request (`Server-Timing`).
    """

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        model: str,
        pid: int | None = None,
        own: bool = False,
    ) -> None:
        self.url, self.headers, self.model, self.pid = url, headers, model, pid
        self.collects_own = own
        self.own: list[list[float]] = []
        self.latencies: list[list[float]] = []
        self.throughputs: list[float] = []
        self.cpu: list[float] = []

    def run(self, n: int, concurrency: int, max_tokens: int) -> None:
        """One burst of `n` requests, `concurrency` at a time."""
        before = cpu_seconds(self.pid) if self.pid else 0.0
        timings: list[float] | None = None
        if self.collects_own:
            timings = []
            self.own.append(timings)
        lat, tp = asyncio.run(
            burst(self.url, self.headers, self.model, n, concurrency, max_tokens, timings)
        )
        if self.pid:
            self.cpu.append((cpu_seconds(self.pid) - before) * 1000 / n)
        self.latencies.append(lat)
        self.throughputs.append(tp)

    def summary(self, name: str) -> dict[str, float]:
        """Medians over the runs: p50, p99, requests/s and CPU per request."""
        med = statistics.median
        figures = {
            f"{name}_p50_ms": med(percentile(x, 0.5) for x in self.latencies),
            f"{name}_p99_ms": med(percentile(x, 0.99) for x in self.latencies),
            f"{name}_rps": med(self.throughputs),
        }
        if self.cpu:
            figures[f"{name}_cpu_ms_per_request"] = med(self.cpu)
        return figures


def gateway_overhead(args: argparse.Namespace, work: Path, topology: str) -> dict[str, Any]:
    """Direct versus through Égide, with the engine sharing every core or on its own.

    "shared": the engine's two threads, Égide and the client all run on both
    cores, so Égide's CPU is taken from the engine. "separate": the engine has
    core 1 to itself (one thread), Égide and the client core 0 — the topology of
    a deployment, where the engine runs on its own (GPU) machine. Both sides of
    the comparison run in the same topology.
    """
    llama_port, egide_port, bare_port = free_port(), free_port(), free_port()
    everything = os.sched_getaffinity(0)
    engine_cpus = {max(everything)} if topology == "separate" else None
    front_cpus = everything - engine_cpus if engine_cpus else None
    threads = len(engine_cpus) if engine_cpus else 2
    llama = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            model_path(),
            "--host",
            "127.0.0.1",
            "--port",
            str(llama_port),
            "--n_threads",
            str(threads),
            "--n_ctx",
            "2048",
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(engine_cpus),
    )
    env = {
        **os.environ,
        "EGIDE_DATA_DIR": str(work / f"gateway-{topology}"),
        "EGIDE_MODELS": "[]",
        "EGIDE_EMBEDDINGS": "false",
        "EGIDE_RATE_USER_REQUESTS_PER_MINUTE": "0",
        "EGIDE_RATE_USER_TOKENS_PER_MINUTE": "0",
        "EGIDE_RATE_ORG_REQUESTS_PER_MINUTE": "0",
        "EGIDE_RATE_ORG_TOKENS_PER_MINUTE": "0",
        "EGIDE_DEPLOYMENTS": json.dumps(
            [
                {
                    "name": "smol-remote",
                    "runtime": "openai",
                    "model": "smol",
                    "replicas": [f"http://127.0.0.1:{llama_port}"],
                    "schema_style": "llama-cpp-python",
                    "label": "NP",
                    "accreditation": "DR",
                }
            ]
        ),
    }
    key = init_site(work / f"gateway-{topology}", env)
    server = subprocess.Popen(
        [EGIDE, "serve", "--port", str(egide_port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(front_cpus),
    )
    # The floor: a bare Python pass-through on the same server stack and cores as Égide.
    engine_url = f"http://127.0.0.1:{llama_port}"
    bare = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "passthrough.py"), engine_url, str(bare_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(front_cpus),
    )
    if front_cpus:
        os.sched_setaffinity(0, front_cpus)  # the client, beside Égide
    try:
        wait_ready(f"http://127.0.0.1:{llama_port}/v1/models")
        wait_ready(f"http://127.0.0.1:{egide_port}/readyz")
        wait_ready(f"http://127.0.0.1:{bare_port}/v1/models")
        direct = f"http://127.0.0.1:{llama_port}/v1/chat/completions"
        through = f"http://127.0.0.1:{egide_port}/v1/chat/completions"
        floor = f"http://127.0.0.1:{bare_port}/v1/chat/completions"
        auth = {"Authorization": f"Bearer {key}"}
        asyncio.run(burst(direct, {}, "smol", 4, 1, args.max_tokens))  # warm every path
        asyncio.run(burst(floor, {}, "smol", 4, 1, args.max_tokens))
        asyncio.run(burst(through, auth, "smol-remote", 4, 1, args.max_tokens))
        rows = []
        for concurrency in (1, 4, 16):
            # At least three rounds of the concurrency per burst, so that its median
            # is not the first round's ramp-up alone.
            n = max(args.requests, 3 * concurrency)
            sides = {
                "direct": Side(direct, {}, "smol"),
                "passthrough": Side(floor, {}, "smol", bare.pid),
                "egide": Side(through, auth, "smol-remote", server.pid, own=True),
            }
            for _ in range(args.runs):  # interleaved, so drift hits all three alike
                for side in sides.values():
                    side.run(n, concurrency, args.max_tokens)
            egide = sides["egide"]
            row: dict[str, Any] = {"concurrency": concurrency, "requests_per_burst": n}
            for name, side in sides.items():
                row.update(side.summary(name))
            row["serve_cpu_ms_per_request"] = row.pop("egide_cpu_ms_per_request")
            row["egide_own_p50_ms"] = statistics.median(percentile(x, 0.5) for x in egide.own)
            row["egide_own_p99_ms"] = statistics.median(percentile(x, 0.99) for x in egide.own)
            row["added_p50_ms"] = row["egide_p50_ms"] - row["direct_p50_ms"]
            row["added_p99_ms"] = row["egide_p99_ms"] - row["direct_p99_ms"]
            row["throughput_ratio"] = row["egide_rps"] / row["direct_rps"]
            row["passthrough_added_p50_ms"] = row["passthrough_p50_ms"] - row["direct_p50_ms"]
            row["passthrough_added_p99_ms"] = row["passthrough_p99_ms"] - row["direct_p99_ms"]
            row["passthrough_throughput_ratio"] = row["passthrough_rps"] / row["direct_rps"]
            # Each run's own difference (direct and Égide run back to back): the spread
            # says how far the medians above can be trusted.
            per_run = [
                percentile(e, 0.5) - percentile(d, 0.5)
                for d, e in zip(sides["direct"].latencies, egide.latencies, strict=True)
            ]
            row["added_p50_ms_min"] = min(per_run)
            row["added_p50_ms_max"] = max(per_run)
            rows.append({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
        return {"topology": topology, "engine_threads": threads, "rows": rows}
    finally:
        os.sched_setaffinity(0, everything)
        for process in (server, bare, llama):
            process.terminate()
            process.wait(timeout=30)


def embedded(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from egide.inference.llamacpp import prepare_openmp

    # The direct side's threads wait as `egide serve`'s do: like for like.
    openmp = prepare_openmp()
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=model_path(), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    llm = llama_cpp.Llama(model_path=model_path(), n_ctx=2048, n_threads=2, verbose=False)
    messages = [{"role": "user", "content": LONG_PROMPT}]

    def direct_once() -> tuple[float, float, int]:
        # An empty KV cache, as Égide starts every answer (same prompt work on both sides).
        llm.reset()  # type: ignore[no-untyped-call]
        memory = llama_cpp.llama_get_memory(llm.ctx)
        if memory is not None:
            llama_cpp.llama_memory_clear(memory, True)
        begin = time.perf_counter()
        first = None
        parts = []
        for chunk in llm.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=args.gen_tokens,
            temperature=0,
            stream=True,
        ):
            text = chunk["choices"][0]["delta"].get("content")  # type: ignore[index, union-attr]
            if isinstance(text, str) and text:
                first = first or time.perf_counter()
                parts.append(text)
        end = time.perf_counter()
        tokens = count("".join(parts))
        return tokens / (end - (first or begin)), ((first or end) - begin) * 1000, tokens

    port = free_port()
    env = {
        **os.environ,
        "EGIDE_DATA_DIR": str(work / "embedded"),
        "EGIDE_EMBEDDINGS": "false",
        "EGIDE_LLAMACPP_THREADS": "2",
        "EGIDE_LLAMACPP_N_CTX": "2048",
    }
    key = init_site(work / "embedded", env)
    subprocess.run([EGIDE, "models", "demo"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [EGIDE, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=180)
        rss_mb = rss_of(server.pid)
        body = {
            "model": "smollm2-135m-demo",
            "messages": messages,
            "max_tokens": args.gen_tokens,
            "temperature": 0,
            "stream": True,
        }
        headers = {"Authorization": f"Bearer {key}"}
        client = httpx.Client(timeout=300)

        def api_once() -> tuple[float, float, int]:
            begin = time.perf_counter()
            first = None
            parts = []
            with client.stream(
                "POST", f"http://127.0.0.1:{port}/v1/chat/completions", json=body, headers=headers
            ) as reply:
                for line in reply.iter_lines():
                    if line.startswith("data: {") and '"content"' in line:
                        payload = json.loads(line[6:])
                        choices = payload["choices"]
                        text = choices[0]["delta"].get("content") if choices else None
                        if text:
                            first = first or time.perf_counter()
                            parts.append(text)
            end = time.perf_counter()
            tokens = count("".join(parts))
            return tokens / (end - (first or begin)), ((first or end) - begin) * 1000, tokens

        direct_once(), api_once()  # warm-up, left out
        direct: list[tuple[float, float, int]] = []
        api: list[tuple[float, float, int]] = []
        cpu_per_token: list[float] = []
        direct_cpu_per_token: list[float] = []
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            before = time.process_time()
            direct.append(direct_once())
            direct_cpu_per_token.append(
                (time.process_time() - before) * 1000 / max(1, direct[-1][2])
            )
            before = cpu_seconds(server.pid)
            api.append(api_once())
            cpu_per_token.append((cpu_seconds(server.pid) - before) * 1000 / max(1, api[-1][2]))
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    llm.close()
    med = statistics.median
    direct_tps = med(r[0] for r in direct)
    api_tps = med(r[0] for r in api)
    # Each run's API figures over the direct run just before it.
    ratios = [a[0] / d[0] for d, a in zip(direct, api, strict=True)]
    cpu_ratios = [a / d for d, a in zip(direct_cpu_per_token, cpu_per_token, strict=True)]
    return {
        "direct_tokens_per_s": round(direct_tps, 2),
        "api_tokens_per_s": round(api_tps, 2),
        "ratio": round(api_tps / direct_tps, 3),
        "direct_ttft_ms": round(med(r[1] for r in direct), 1),
        "api_ttft_ms": round(med(r[1] for r in api), 1),
        "generated_tokens": med(r[2] for r in api),
        # The model runs inside `egide serve`: its CPU per token includes llama.cpp's
        # own work, to compare with the direct figure (the benchmark process's).
        "serve_cpu_ms_per_token": round(med(cpu_per_token), 2),
        "direct_cpu_ms_per_token": round(med(direct_cpu_per_token), 2),
        "serve_rss_mb": rss_mb,
        "ratio_per_run": [round(r, 3) for r in ratios],
        "cpu_ratio_per_run": [round(r, 3) for r in cpu_ratios],
        "cpu_ratio": round(med(cpu_ratios), 3),
        "openmp_wait_policy": openmp,
    }


def rss_of(pid: int) -> float:
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1])
    return round(total / 1024, 1)


def print_gateway(gateway: list[dict[str, Any]], runs: int) -> None:
    """The gateway tables: Égide, then the bare pass-through, against direct."""
    print("gateway overhead (SmolLM2 via llama_cpp.server; medians of", runs, "runs)")
    print(
        f"{'engine':>8} {'conc':>4} {'direct p50':>10} {'egide p50':>10} {'+p50':>7} "
        f"{'+p50 runs':>15} "
        f"{'direct p99':>10} {'egide p99':>10} {'+p99':>7} {'ratio':>6} {'own p50':>7} "
        f"{'own p99':>7} {'cpu/req':>8}"
    )
    for part in gateway:
        for r in part["rows"]:
            print(
                f"{part['topology']:>8} {r['concurrency']:>4} {r['direct_p50_ms']:>10.1f} "
                f"{r['egide_p50_ms']:>10.1f} {r['added_p50_ms']:>7.1f} "
                f"{r['added_p50_ms_min']:>7.1f}..{r['added_p50_ms_max']:<6.1f} "
                f"{r['direct_p99_ms']:>10.1f} {r['egide_p99_ms']:>10.1f} "
                f"{r['added_p99_ms']:>7.1f} {r['throughput_ratio']:>6.3f} "
                f"{r['egide_own_p50_ms']:>7.2f} {r['egide_own_p99_ms']:>7.2f} "
                f"{r['serve_cpu_ms_per_request']:>7.2f}ms"
            )
    print("the floor: a bare Python pass-through (bench/passthrough.py), same runs")
    print(f"{'engine':>8} {'conc':>4} {'+p50':>7} {'+p99':>7} {'ratio':>6} {'cpu/req':>8}")
    for part in gateway:
        for r in part["rows"]:
            print(
                f"{part['topology']:>8} {r['concurrency']:>4} "
                f"{r['passthrough_added_p50_ms']:>7.1f} {r['passthrough_added_p99_ms']:>7.1f} "
                f"{r['passthrough_throughput_ratio']:>6.3f} "
                f"{r['passthrough_cpu_ms_per_request']:>7.2f}ms"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=24, help="requests per burst (at least 3 x concurrency)"
    )
    parser.add_argument("--max-tokens", type=int, default=8, help="tokens per gateway request")
    parser.add_argument("--gen-tokens", type=int, default=128, help="tokens for tokens/s")
    parser.add_argument("--runs", type=int, default=5, help="repetitions (medians reported)")
    parser.add_argument("--parts", default="gateway,embedded", help="which comparisons to run")
    parser.add_argument(
        "--topologies",
        default="shared,separate",
        help="engine sharing the cores with Égide, and/or on its own core",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    topologies = [t for t in args.topologies.split(",") if t] if "gateway" in parts else []
    if "separate" in topologies and len(os.sched_getaffinity(0)) < 2:
        topologies.remove("separate")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report: dict[str, Any] = {
            "gateway": [gateway_overhead(args, work, t) for t in topologies],
        }
        if "embedded" in parts:
            report["embedded"] = embedded(args, work)
    report["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "runs": args.runs,
        "requests_per_burst": args.requests,
    }
    if report["gateway"]:
        print_gateway(report["gateway"], args.runs)
    e = report.get("embedded")
    if e:
        print(
            f"embedded: direct {e['direct_tokens_per_s']} tok/s, API {e['api_tokens_per_s']} "
            f"tok/s (ratio {e['ratio']}, per run {e['ratio_per_run']}); TTFT direct "
            f"{e['direct_ttft_ms']} ms, API {e['api_ttft_ms']} ms; CPU per token direct "
            f"{e['direct_cpu_ms_per_token']} ms, egide serve {e['serve_cpu_ms_per_token']} ms "
            f"(ratio {e['cpu_ratio']}, per run {e['cpu_ratio_per_run']}); RSS "
            f"{e['serve_rss_mb']} MB; OpenMP {e['openmp_wait_policy']}"
        )
    m = report["machine"]
    print(f"load average before {m['load_average_before']}, after {m['load_average_after']}")
    out = ROOT / "bench" / "results" / "inference.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
