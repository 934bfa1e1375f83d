"""Fixtures for the interop suite: the bridge binary, a secret test token, and one
official-SDK server per flavour (started lazily, shared by the session, killed at the end)."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import BRIDGE_BIN, SdkServer, start_sdk_server


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # The SDK's stdio client runs on anyio; asyncio is what real clients use.
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def bridge_bin() -> str:
    """Fails every test loudly (never skips) when the bridge binary is unusable."""
    if not os.path.isfile(BRIDGE_BIN) or not os.access(BRIDGE_BIN, os.X_OK):
        pytest.fail(
            f"bridge binary not found or not executable: {BRIDGE_BIN}\n"
            "build it (cargo build) or point MCP_KEYBRIDGE_BIN at it",
            pytrace=False,
        )
    try:
        subprocess.run([BRIDGE_BIN, "--help"], capture_output=True, timeout=10, check=True, stdin=subprocess.DEVNULL)
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"`{BRIDGE_BIN} --help` failed: {e!r}", pytrace=False)
    return BRIDGE_BIN


@pytest.fixture(scope="session")
def test_token() -> str:
    # Random and distinctive, so finding it anywhere in output is unambiguous evidence of a leak.
    return "kbtest-" + secrets.token_hex(16)


class ServerPool:
    """Starts each server flavour on first use, on its own free port."""

    def __init__(self, workdir: Path, token: str) -> None:
        self._workdir = workdir
        self._token = token
        self._servers: dict[str, SdkServer] = {}

    def get(self, kind: str) -> SdkServer:
        server = self._servers.get(kind)
        if server is not None and server.proc.poll() is not None:
            raise RuntimeError(f"{kind} server died earlier (exit {server.proc.returncode}):\n{server.log()}")
        if server is None:
            server = start_sdk_server(kind, self._workdir, self._token)
            self._servers[kind] = server
        return server

    def stop_all(self) -> None:
        for server in self._servers.values():
            server.stop()


@pytest.fixture(scope="session")
def sdk_servers(tmp_path_factory: pytest.TempPathFactory, test_token: str) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("sdk-servers"), test_token)
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def errlog(tmp_path: Path) -> Path:
    """Where the bridge's stderr goes for the SDK-driven tests."""
    return tmp_path / "bridge-stderr.log"
