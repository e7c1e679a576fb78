"""A real `egide serve` in a subprocess on a free loopback port, optionally cut off the network.

With `offline=True` a `sitecustomize` module injected through PYTHONPATH
patches `socket.connect`/`getaddrinfo` in the server process so that every
non-loopback connection or lookup is refused and recorded in a file; tests
assert the file stays empty.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SITECUSTOMIZE = """
import ipaddress, os, socket
_LOG = os.environ["EGIDE_TEST_NET_LOG"]
open(os.environ["EGIDE_TEST_NET_MARK"], "w").write("installed\\n")

def _loopback(host):
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False

def _refuse(what):
    with open(_LOG, "a") as log:
        log.write(what + "\\n")
    raise ConnectionRefusedError(f"offline test: {what} refused")

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        _refuse(f"connect {address!r}")
    return _connect(self, address)

def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        _refuse(f"connect {address!r}")
    return _connect_ex(self, address)

def getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        _refuse(f"getaddrinfo {host!r}")
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
"""


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def egide(env: dict[str, str], *args: str) -> str:
    """Run an `egide` command; fail the test with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", "from egide.cli.main import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"egide {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


class Server:
    """A running `egide serve` process."""

    def __init__(self, env: dict[str, str], workdir: Path, *, offline: bool) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env)
        self.net_log = workdir / f"net-{self.port}.log"
        self.net_mark = workdir / f"net-{self.port}.installed"
        if offline:
            site = workdir / "offline-site"
            site.mkdir(exist_ok=True)
            (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(site), *filter(None, [self.env.get("PYTHONPATH")])]
            )
            self.env["EGIDE_TEST_NET_LOG"] = str(self.net_log)
            self.env["EGIDE_TEST_NET_MARK"] = str(self.net_mark)
        self.log = (workdir / f"server-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from egide.cli.main import main; main()",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"egide serve exited: {Path(self.log.name).read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"egide serve not ready: {Path(self.log.name).read_text()}")

    def refused_connections(self) -> list[str]:
        """Non-loopback connections the server attempted (offline mode)."""
        return self.net_log.read_text().splitlines() if self.net_log.exists() else []

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
