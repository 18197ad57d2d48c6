"""Object store emulators for the gs:// and az:// files source tests, one of each per test session.

* GCS: ``gcp-storage-emulator`` (PyPI, a dev dependency) in a thread, in memory, on a free port.
* Azure Blob: azurite (npm), installed once into a cache outside the repo (``$TMPDIR/tenantflow-azurite``)
  at the pinned version, run as ``azurite-blob`` in a subprocess. If it cannot be installed or started the
  Azure tests fail (an error naming the command), never skip: a green run means az:// was tested.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

AZURITE_VERSION = "3.37.0"
AZURITE_CACHE = Path(tempfile.gettempdir()) / "tenantflow-azurite"
# azurite's well-known development account (public, documented by Microsoft)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


@contextmanager
def gcs_emulator() -> Iterator[str]:
    """The endpoint URL of an in-memory GCS emulator."""
    from functools import partial
    from http.server import ThreadingHTTPServer

    from gcp_storage_emulator.server import APIThread, RequestHandler, create_server

    class ThreadingAPI(APIThread):
        # the emulator serves one connection at a time: a client's idle keep-alive connection would then
        # hold every other request (and the shutdown) until it times out
        def run(self) -> None:
            self._httpd = ThreadingHTTPServer((self._host, self._port), partial(RequestHandler, self._storage))
            self._httpd.daemon_threads = True
            self.is_running.set()
            self._httpd.serve_forever()

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=None)
    server._api = ThreadingAPI("127.0.0.1", port, server._storage, daemon=True)
    server.start()
    try:
        _wait_for_port(port, 10, "gcp-storage-emulator")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def azurite_blob_command() -> Path:
    """``azurite-blob`` of the pinned version, installed into the cache on first use."""
    binary = AZURITE_CACHE / "node_modules" / ".bin" / "azurite-blob"
    marker = AZURITE_CACHE / "node_modules" / "azurite" / "package.json"
    if binary.exists() and marker.exists() and json.loads(marker.read_text())["version"] == AZURITE_VERSION:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the az:// tests need azurite (npm install azurite)")
    AZURITE_CACHE.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(AZURITE_CACHE), f"azurite@{AZURITE_VERSION}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not binary.exists():
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return binary


@contextmanager
def azurite() -> Iterator[str]:
    """The blob endpoint URL (with the account) of a fresh azurite."""
    binary = azurite_blob_command()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tenantflow-azurite-data-") as location:
        proc = subprocess.Popen([str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
                                 location, "--skipApiVersionCheck", "--loose", "--silent"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
        try:
            _wait_for_port(port, 30, "azurite-blob", proc)
            yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        finally:
            proc.terminate()
            try:
                proc.wait(2)  # azurite waits for clients' idle keep-alive connections: no need, its data is temporary
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def azurite_connection_string(endpoint: str) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={endpoint};")
