"""A legacy SSE session bound to the caller's identity (issue 16), against the official SDK
server: mcp 2.3.0 ties each SSE session to the token's principal and answers a POST with
another subject's token with 404 "Could not find session". When the credential source
rotates to a token of another subject, the bridge must open a new stream, replay
`initialize` and send the message again, so the client's session carries on."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from helpers import OP_TIMEOUT_SECONDS, bridge_session, read_text, start_sdk_server, tail
from test_keychain import private_file
from test_rotation import echo_ok, jwt_for

pytestmark = pytest.mark.anyio


async def test_sse_session_survives_a_change_of_subject(tmp_path: Path, errlog: Path):
    alice, bob = jwt_for("alice", 3600), jwt_for("bob", 3600)
    server = start_sdk_server("sse", tmp_path / "server", alice)
    try:
        source = private_file(tmp_path / "source", alice)
        args = [server.url, "--transport", "sse", "--bearer", f"file:{source}", "--log-level", "info"]
        with anyio.fail_after(OP_TIMEOUT_SECONDS * 2):
            async with bridge_session(args, {}, errlog) as session:
                await session.initialize()
                await echo_ok(session, "as alice", errlog)
                # The server now takes only bob's token, and the source holds it.
                server.token_file.write_text(bob)
                private_file(source, bob)
                await echo_ok(session, "as bob", errlog)
                await echo_ok(session, "still bob", errlog)
    finally:
        server.stop()
    log = read_text(errlog)
    assert "no longer knows the legacy SSE session" in log, tail(log)
    assert alice not in log and bob not in log
