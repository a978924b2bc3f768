"""A real Azurite blob service for tests: started on a free port, stopped at the end.

``tests/conftest.py`` loads this module as a plugin, so every test may ask for
the ``azurite`` fixture. The fixture yields an :class:`Azurite` with the
well-known ``devstoreaccount1`` connection string. If Azurite is not installed
(``node_modules/.bin/azurite-blob``, from ``scripts/setup`` or
``npm install --no-save azurite@3.35.0``) or does not answer, the test FAILS:
missing infrastructure is never a skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AZURITE_BLOB = ROOT / "node_modules" / ".bin" / "azurite-blob"

ACCOUNT = "devstoreaccount1"
#: Azurite's published development key (not a secret: it is in Microsoft's docs).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

STARTUP_SECONDS = 30


def connection_string(host: str, port: int) -> str:
    """The connection string for ``devstoreaccount1`` on an Azurite at ``host:port``."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT};"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Azurite:
    host: str
    port: int
    process: subprocess.Popen
    workspace: Path

    @property
    def connection_string(self) -> str:
        return connection_string(self.host, self.port)

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def new_container(self, stem: str = "test") -> str:
        """Create a uniquely named container (so concurrent sessions never collide)."""
        name = f"{stem}-{uuid.uuid4().hex[:12]}".lower()
        self.service().create_container(name)
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_azurite() -> Azurite:
    """Start ``azurite-blob`` on a free port; raise RuntimeError (never skip) if it cannot."""
    if not AZURITE_BLOB.exists():
        raise RuntimeError(
            f"Azurite is not installed at {AZURITE_BLOB}: run scripts/setup "
            "(or `npm install --no-save azurite@3.35.0` in the repository root)"
        )
    last_output = ""
    for _attempt in range(3):
        port = free_port()
        workspace = Path(tempfile.mkdtemp(prefix="c360-azurite-"))
        log = (workspace / "azurite.log").open("w+")
        process = subprocess.Popen(
            [
                str(AZURITE_BLOB),
                "--blobHost", "127.0.0.1",
                "--blobPort", str(port),
                "--location", str(workspace / "data"),
                "--silent",
                "--disableTelemetry",
                "--skipApiVersionCheck",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workspace,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if _answers("127.0.0.1", port):
                return Azurite("127.0.0.1", port, process, workspace)
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.seek(0)
        last_output = log.read()[-2000:]
        log.close()
        shutil.rmtree(workspace, ignore_errors=True)
    raise RuntimeError(f"Azurite did not start (tried 3 free ports); its last output:\n{last_output}")


@pytest.fixture(scope="session")
def azurite():
    """A running Azurite for the whole test session; fails loudly if it cannot start."""
    try:
        server = start_azurite()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workspace, ignore_errors=True)
