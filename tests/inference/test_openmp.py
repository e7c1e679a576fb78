"""llama.cpp's OpenMP threads sleep while they wait, unless the operator chose otherwise.

OpenMP reads its settings when it is loaded, once per process, so each case
runs in a fresh Python process that builds a real backend on the demo model
and asks GNU OpenMP how many times a waiting thread spins before it sleeps
(`omp_display_env`: 0 when passive, 300000 by default).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
import ctypes, json, sys
if sys.argv[1] == "llama-first":
    import llama_cpp  # noqa: F401  (OpenMP loaded before the backend)
from egide.inference.config import LlamaCppConfig
from egide.inference.llamacpp import LlamaCppBackend
backend = LlamaCppBackend(LlamaCppConfig(path=sys.argv[2], n_ctx=256, n_threads=2))
sys.stderr.flush()
ctypes.CDLL("libgomp.so.1").omp_display_env(1)
print(json.dumps(backend.describe().details["openmp_wait_policy"]), flush=True)
"""


def run_child(model: Path, order: str, **env: str) -> tuple[str, str, str]:
    """The backend's reported policy, OpenMP's spin count, and the child's log."""
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, order, str(model)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    reported = json.loads(done.stdout.strip().splitlines()[-1])
    output = done.stdout + done.stderr
    spins = next(
        line.split("=", 1)[1].strip().strip("'")
        for line in output.splitlines()
        if line.strip().startswith("GOMP_SPINCOUNT")
    )
    return reported, spins, done.stderr


def test_the_backend_makes_openmp_threads_sleep_while_they_wait(smollm_path: Path) -> None:
    reported, spins, _ = run_child(smollm_path, "backend-first")
    assert reported == "passive"
    assert spins == "0"


@pytest.mark.parametrize(
    ("env", "reported", "spins"),
    [
        ({"OMP_WAIT_POLICY": "active"}, "operator: OMP_WAIT_POLICY=active", "30000000000"),
        # A spin count alone is a choice too: it is not overridden by the passive policy.
        ({"GOMP_SPINCOUNT": "10000"}, "operator: GOMP_SPINCOUNT=10000", "10000"),
    ],
)
def test_an_operators_choice_is_kept(
    smollm_path: Path, env: dict[str, str], reported: str, spins: str
) -> None:
    assert run_child(smollm_path, "backend-first", **env)[:2] == (reported, spins)


def test_openmp_loaded_too_early_is_reported_not_hidden(smollm_path: Path) -> None:
    reported, spins, log = run_child(smollm_path, "llama-first")
    assert reported.startswith("default")
    assert spins == "300000"
    assert "OMP_WAIT_POLICY=passive" in log  # the warning says what to set
