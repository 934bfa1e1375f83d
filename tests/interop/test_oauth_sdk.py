"""OAuth sign-in against the official Python SDK's authorization-server framework
(`mcp.server.auth`, served by sdk_oauth_server.py), driven by the SDK's own stdio client:

    SDK stdio client ──▶ mcp-keybridge ──(OAuth: discovery, DCR, PKCE, tokens)──▶ SDK MCPServer + AS

The "browser" is a curl script given as BROWSER: it follows the SDK's /authorize redirect to
the bridge's loopback callback. Tokens go to a private gnome-keyring (the keyring fixture of
test_keychain.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from helpers import HERE, OP_TIMEOUT_SECONDS, bridge_session, free_port, port_open, read_text, tail
from test_keychain import keyring  # noqa: F401 - the fixture

pytestmark = pytest.mark.anyio

BROWSER = """#!/bin/sh
set -e
loc=$(curl -sS -o /dev/null -w '%{redirect_url}' "$1")
[ -n "$loc" ] || exit 1
curl -sS -o /dev/null "$loc"
"""


class OAuthServer:
    def __init__(self, tmp: Path, access_ttl: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.events = tmp / "events"
        self.events.touch()
        self.log = tmp / "server.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "sdk_oauth_server.py"), "--port", str(self.port),
                 "--events", str(self.events), "--access-ttl", str(access_ttl)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not port_open(self.port):
            assert self.proc.poll() is None, f"sdk_oauth_server.py exited:\n{read_text(self.log)}"
            assert time.monotonic() < deadline, "sdk_oauth_server.py did not listen"
            time.sleep(0.1)

    def count(self, event: str) -> int:
        return self.events.read_text().split().count(event)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def browser(tmp_path: Path) -> str:
    path = tmp_path / "browser.sh"
    path.write_text(BROWSER)
    path.chmod(0o755)
    return str(path)


async def call_whoami(url: str, env: dict[str, str], errlog: Path) -> None:
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session([url], env, errlog) as session:
            await session.initialize()
            result = await session.call_tool("whoami", {})
            assert not result.is_error, f"{result!r}\nbridge stderr:\n{tail(read_text(errlog))}"
            assert result.content[0].text == "authorized"


async def test_sign_in_restart_and_refresh_against_the_sdk(keyring, browser, tmp_path, errlog):  # noqa: F811
    server = OAuthServer(tmp_path, access_ttl=3)
    try:
        env = keyring.bridge_env(BROWSER=browser, RUST_LOG="mcp_keybridge=info")
        await call_whoami(server.url, env, errlog)
        assert (server.count("register"), server.count("authorize"), server.count("code")) == (1, 1, 1), read_text(errlog)
        stored = json.loads(keyring.lookup(f"oauth:{server.url}"))
        first_refresh = stored["tokens"]["refresh_token"]
        assert stored["tokens"]["scopes"] == ["mcp:tools"]
        log = read_text(errlog)
        assert stored["tokens"]["access_token"] not in log and first_refresh not in log

        # The access token (3 s) has expired: a new instance refreshes, no browser.
        time.sleep(4)
        await call_whoami(server.url, env, errlog)
        assert server.count("authorize") == 1, read_text(errlog)
        assert server.count("refresh") >= 1
        stored = json.loads(keyring.lookup(f"oauth:{server.url}"))
        assert stored["tokens"]["refresh_token"] != first_refresh, "the rotated refresh token is stored"
    finally:
        server.stop()
