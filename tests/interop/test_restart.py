"""The official SDK server is killed and started again on the same port between two calls:
the second call succeeds through the same bridge process (same stdio client session), on
every transport. While the server is down, a call fails fast with the bridge's error.

Streamable HTTP: the restarted server does not know the old session and answers 404; the
bridge replays the client's initialize and sends the call again. Legacy SSE: the event
stream breaks; the bridge reconnects with backoff and replays initialize on the new stream.
"""

from __future__ import annotations

import time

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from helpers import (
    FAIL_FAST_SECONDS,
    OP_TIMEOUT_SECONDS,
    assert_bridge_error,
    bridge_env,
    bridge_session,
    read_text,
    start_sdk_server,
    tail,
)

pytestmark = pytest.mark.anyio

# Legacy SSE reconnects with backoff (about 1 s, then 1.5 s…): allow a few rounds.
RECOVERY_SECONDS = 30.0


@pytest.mark.parametrize("kind", ["streamable-http", "streamable-http-json", "sse"])
async def test_server_killed_and_restarted_between_two_calls(kind, tmp_path, test_token, errlog):
    server = start_sdk_server(kind, tmp_path / "first", test_token)
    transport = "sse" if kind == "sse" else "streamable-http"
    # Requests wait for a legacy SSE reconnection up to --connect-timeout: keep it short.
    args = [server.url, "--transport", transport, "--bearer", "env:RESTART_TOKEN", "--connect-timeout", "3"]
    env = bridge_env(RESTART_TOKEN=test_token)
    try:
        async with bridge_session(args, env, errlog) as session:
            with anyio.fail_after(OP_TIMEOUT_SECONDS):
                await session.initialize()
                first = await session.call_tool("echo", {"text": "before"})
            assert first.content[0].text == "before"

            server.stop()
            with anyio.fail_after(FAIL_FAST_SECONDS):
                with pytest.raises(MCPError) as down:
                    await session.call_tool("echo", {"text": "while down"})
            assert_bridge_error(down.value, stderr=read_text(errlog))

            server = start_sdk_server(kind, tmp_path / "second", test_token, port=server.port)
            deadline = time.monotonic() + RECOVERY_SECONDS
            while True:
                try:
                    with anyio.fail_after(OP_TIMEOUT_SECONDS):
                        second = await session.call_tool("echo", {"text": "after"})
                    break
                except MCPError as e:
                    # Only legacy SSE may need a moment to reconnect; Streamable HTTP must
                    # recover on the very first call after the restart.
                    assert kind == "sse", f"{e!r}\nbridge stderr:\n{tail(read_text(errlog))}"
                    assert_bridge_error(e, stderr=read_text(errlog))
                    assert time.monotonic() < deadline, tail(read_text(errlog))
                    await anyio.sleep(0.5)
            assert not second.is_error and second.content[0].text == "after", (
                f"{second!r}\nbridge stderr:\n{tail(read_text(errlog))}"
            )
            tools = await session.list_tools()
            assert {t.name for t in tools.tools} >= {"echo"}
    finally:
        server.stop()
