"""Interop tests: the official MCP Python SDK (2.3.0) on both ends of mcp-keybridge.

    SDK stdio client ──stdio──▶ mcp-keybridge ──HTTP (+bearer)──▶ SDK MCPServer

Every test goes through the real bridge binary (MCP_KEYBRIDGE_BIN). Tests assert the
bridge's CLI contract; when one fails, suspect the bridge first, but read the message.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitResult, TextContent, TextResourceContents
from mcp_types.version import LATEST_HANDSHAKE_VERSION

from helpers import (
    BRIDGE_BIN,
    EXPECTED_TOOLS,
    FAIL_FAST_SECONDS,
    OP_TIMEOUT_SECONDS,
    RESOURCE_TEXT,
    RESOURCE_URI,
    SERVER_NAME,
    SLOW_STARTED,
    assert_bridge_error,
    bridge_env,
    bridge_session,
    free_port,
    msg_initialize,
    msg_initialized,
    msg_request,
    read_text,
    run_piped,
    start_sdk_server,
    tail,
    transport_args,
)

pytestmark = pytest.mark.anyio

# (server flavour, bridge --transport); None = flag omitted, which must behave as auto.
# `auto` must find the legacy SSE server through the spec's fallback (POST fails → GET).
HAPPY_CASES = [
    ("sse", "sse"),
    ("sse", "auto"),
    ("sse", None),
    ("streamable-http", "streamable-http"),
    ("streamable-http", "auto"),
    ("streamable-http", None),
    ("streamable-http-json", "streamable-http"),
    ("streamable-http-json", "auto"),
]
# One explicit and one auto case per real transport, for the costlier scenarios.
TRANSPORT_CASES = [
    ("sse", "sse"),
    ("sse", "auto"),
    ("streamable-http", "streamable-http"),
    ("streamable-http", "auto"),
]


def case_id(case: tuple[str, str | None]) -> str:
    kind, mode = case
    return f"{kind}-via-{mode or 'default'}"


def text_of(result) -> str:
    assert result.content, f"tool result has no content: {result!r}"
    block = result.content[0]
    assert isinstance(block, TextContent), f"expected text content, got {block!r}"
    return block.text


def bearer_args(server, mode: str | None, *extra: str) -> list[str]:
    return [server.url, *transport_args(mode), "--bearer", "env:TEST_TOKEN", *extra]


# ---------------------------------------------------------------------------
# Happy path through the SDK client


@pytest.mark.parametrize("case", HAPPY_CASES, ids=case_id)
async def test_initialize_list_call_read(case, sdk_servers, test_token, errlog: Path):
    kind, mode = case
    server = sdk_servers.get(kind)
    env = bridge_env(TEST_TOKEN=test_token)
    # A string with quotes, a newline, a tab and non-ASCII: must survive the
    # newline-delimited stdio framing and the HTTP leg byte-for-byte.
    tricky = 'héllo "wörld"\n\ttab ✓ \\ end'
    try:
        with anyio.fail_after(OP_TIMEOUT_SECONDS):
            async with bridge_session(bearer_args(server, mode), env, errlog) as s:
                init = await s.initialize()
                assert init.server_info.name == SERVER_NAME
                # The bridge relays the server's answer untouched; the SDK server agrees
                # to the version the SDK client offers.
                assert init.protocol_version == LATEST_HANDSHAKE_VERSION

                await s.send_ping()

                tools = await s.list_tools()
                assert EXPECTED_TOOLS <= {t.name for t in tools.tools}

                echoed = await s.call_tool("echo", {"text": tricky})
                assert not echoed.is_error
                assert text_of(echoed) == tricky

                added = await s.call_tool("add", {"a": 2, "b": 40})
                assert not added.is_error
                assert text_of(added) == "42"
                assert added.structured_content == {"result": 42}

                resources = await s.list_resources()
                assert RESOURCE_URI in {str(r.uri) for r in resources.resources}
                read = await s.read_resource(RESOURCE_URI)
                assert len(read.contents) == 1
                assert isinstance(read.contents[0], TextResourceContents)
                assert read.contents[0].text == RESOURCE_TEXT
    except MCPError as e:
        pytest.fail(
            f"unexpected MCP error {e.code}: {e.message} data={e.data!r}\nbridge stderr:\n{tail(read_text(errlog))}"
        )
    except TimeoutError:
        pytest.fail(f"flow did not finish within {OP_TIMEOUT_SECONDS}s\nbridge stderr:\n{tail(read_text(errlog))}")
    assert test_token not in read_text(errlog), "the bearer token appeared in the bridge's stderr"


@pytest.mark.parametrize("case", TRANSPORT_CASES + [("streamable-http-json", "streamable-http")], ids=case_id)
async def test_concurrent_requests_do_not_block(case, sdk_servers, test_token, errlog: Path):
    """A slow request in flight must not hold up the next ones: the bridge multiplexes."""
    kind, mode = case
    server = sdk_servers.get(kind)
    finished: dict[str, float] = {}
    results: dict[str, str] = {}
    slow_calls = server.log_count(SLOW_STARTED)
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(bearer_args(server, mode), bridge_env(TEST_TOKEN=test_token), errlog) as s:
            await s.initialize()

            async def slow() -> None:
                results["slow"] = text_of(await s.call_tool("slow", {"seconds": 2}))
                finished["slow"] = time.monotonic()

            async def fast() -> None:
                await server.await_log(SLOW_STARTED, slow_calls + 1)  # slow is in flight
                started = time.monotonic()
                results["echo"] = text_of(await s.call_tool("echo", {"text": "quick"}))
                await s.send_ping()
                finished["echo"] = time.monotonic()
                finished["echo_elapsed"] = finished["echo"] - started

            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                tg.start_soon(fast)

    assert results == {"slow": "done", "echo": "quick"}
    assert finished["echo"] < finished["slow"], (
        f"echo finished after slow(2): requests were serialised\nbridge stderr:\n{tail(read_text(errlog))}"
    )
    assert finished["echo_elapsed"] < 1.5, f"echo+ping took {finished['echo_elapsed']:.2f}s while slow was in flight"


@pytest.mark.parametrize("case", TRANSPORT_CASES, ids=case_id)
async def test_progress_notifications_are_relayed(case, sdk_servers, test_token, errlog: Path):
    """Server→client notifications tied to a request (on the POST's SSE stream, or the
    legacy GET stream) must reach the client before the result."""
    kind, mode = case
    server = sdk_servers.get(kind)
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(bearer_args(server, mode), bridge_env(TEST_TOKEN=test_token), errlog) as s:
            await s.initialize()
            result = await s.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
    assert text_of(result) == "finished 3 steps"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


@pytest.mark.parametrize(
    "case", [("sse", "sse"), ("streamable-http", "streamable-http"), ("streamable-http-json", "auto")], ids=case_id
)
async def test_many_parallel_calls_are_matched(case, sdk_servers, test_token, errlog: Path):
    """25 calls in flight at once: every reply must reach the request it answers."""
    kind, mode = case
    server = sdk_servers.get(kind)
    got: dict[int, str] = {}
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(bearer_args(server, mode), bridge_env(TEST_TOKEN=test_token), errlog) as s:
            await s.initialize()

            async def one(i: int) -> None:
                got[i] = text_of(await s.call_tool("echo", {"text": f"payload-{i}-" + "y" * i}))

            async with anyio.create_task_group() as tg:
                for i in range(25):
                    tg.start_soon(one, i)
    assert got == {i: f"payload-{i}-" + "y" * i for i in range(25)}


@pytest.mark.parametrize("case", TRANSPORT_CASES, ids=case_id)
async def test_server_to_client_request_roundtrip(case, sdk_servers, test_token, errlog: Path):
    """The server asks the client something mid-call (elicitation/create). The request
    must reach the client over stdout and the client's response must go back upstream
    (a POST to the session), or the tool call never finishes."""
    kind, mode = case
    server = sdk_servers.get(kind)
    asked: list[str] = []

    async def on_elicit(context, params) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"answer": "forty-two"})

    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(
            bearer_args(server, mode), bridge_env(TEST_TOKEN=test_token), errlog, elicitation_callback=on_elicit
        ) as s:
            await s.initialize()
            result = await s.call_tool("ask", {"question": "what is the answer?"})
    assert asked == ["what is the answer?"]
    assert text_of(result) == "answer: forty-two", f"{result!r}\nbridge stderr:\n{tail(read_text(errlog))}"


@pytest.mark.parametrize("case", TRANSPORT_CASES + [("streamable-http-json", "streamable-http")], ids=case_id)
async def test_large_message(case, sdk_servers, test_token, errlog: Path):
    """A ~1 MB reply is one stdout line; no truncation, no splitting. (Kept just under
    the 1 MiB SSE event cap the SDK's own HTTP client applies by default.)"""
    kind, mode = case
    server = sdk_servers.get(kind)
    n = 1_000_000
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(bearer_args(server, mode), bridge_env(TEST_TOKEN=test_token), errlog) as s:
            await s.initialize()
            result = await s.call_tool("big", {"n": n})
            # And the connection still works afterwards.
            after = await s.call_tool("echo", {"text": "after"})
    text = text_of(result)
    assert len(text) == n and text == "x" * n
    assert text_of(after) == "after"


@pytest.mark.parametrize("case", [("sse", "sse"), ("streamable-http", "auto")], ids=case_id)
async def test_header_values_expand_env(case, sdk_servers, test_token, errlog: Path):
    """--header values may reference the environment as ${env:VAR} or ${VAR}."""
    kind, mode = case
    server = sdk_servers.get(kind)
    args = bearer_args(
        server,
        mode,
        "--header",
        "X-Interop-A: pre-${env:HDR_A}-post",
        "--header",
        "X-Interop-B: ${HDR_B}",
    )
    env = bridge_env(TEST_TOKEN=test_token, HDR_A="alpha", HDR_B="beta")
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(args, env, errlog) as s:
            await s.initialize()
            a = text_of(await s.call_tool("get_header", {"name": "X-Interop-A"}))
            b = text_of(await s.call_tool("get_header", {"name": "X-Interop-B"}))
    assert a == "pre-alpha-post"
    assert b == "beta"


@pytest.mark.parametrize("case", [("sse", "auto"), ("streamable-http", "auto")], ids=case_id)
async def test_token_from_mcp_keybridge_token_env(case, sdk_servers, test_token, errlog: Path):
    """No --bearer: MCP_KEYBRIDGE_TOKEN supplies the bearer."""
    kind, mode = case
    server = sdk_servers.get(kind)
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(
            [server.url, *transport_args(mode)], bridge_env(MCP_KEYBRIDGE_TOKEN=test_token), errlog
        ) as s:
            init = await s.initialize()
            assert init.server_info.name == SERVER_NAME
            assert text_of(await s.call_tool("echo", {"text": "ok"})) == "ok"
    assert test_token not in read_text(errlog)


async def test_localhost_url_needs_no_allow_http(sdk_servers, test_token, errlog: Path):
    """Loopback by name, not just 127.0.0.1, is allowed over plain http."""
    server = sdk_servers.get("streamable-http")
    url = f"http://localhost:{server.port}/mcp"
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        args = [url, "--bearer", "env:TEST_TOKEN"]
        async with bridge_session(args, bridge_env(TEST_TOKEN=test_token), errlog) as s:
            init = await s.initialize()
    assert init.server_info.name == SERVER_NAME


@pytest.mark.parametrize("kind", ["streamable-http", "sse"])
async def test_server_restart(kind, tmp_path: Path, test_token, errlog: Path):
    """The server restarts mid-session, losing every session.

    Streamable HTTP: the next request carries a session id the new server does not
    know (404); the spec says to start a new session and carry on, so the very next
    call must succeed. Legacy SSE: the event stream breaks and a new one means a new
    session; calls made while the bridge reconnects may fail, but only with the
    bridge's error, quickly, and the session must be usable again within a few seconds.
    """
    server = start_sdk_server(kind, tmp_path / "restart", test_token)
    try:
        async with bridge_session(bearer_args(server, "auto"), bridge_env(TEST_TOKEN=test_token), errlog) as s:
            with anyio.fail_after(OP_TIMEOUT_SECONDS):
                await s.initialize()
                assert text_of(await s.call_tool("echo", {"text": "before"})) == "before"

            server.stop()
            server = start_sdk_server(kind, tmp_path / "restart", test_token, port=server.port)

            deadline = time.monotonic() + FAIL_FAST_SECONDS
            while True:
                try:
                    with anyio.fail_after(FAIL_FAST_SECONDS):
                        after = await s.call_tool("echo", {"text": "after"})
                    break
                except TimeoutError:
                    pytest.fail(f"call after restart hung\nbridge stderr:\n{tail(read_text(errlog))}")
                except MCPError as e:
                    if kind == "streamable-http":
                        pytest.fail(
                            f"no recovery after the server lost the session: {e.code} {e.message} {e.data!r}\n"
                            f"bridge stderr:\n{tail(read_text(errlog))}"
                        )
                    assert_bridge_error(e, stderr=read_text(errlog))
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"session not usable {FAIL_FAST_SECONDS}s after the restart; last error: {e.message}\n"
                            f"bridge stderr:\n{tail(read_text(errlog))}"
                        )
                    await anyio.sleep(0.5)
            assert text_of(after) == "after"
    finally:
        server.stop()


# ---------------------------------------------------------------------------
# Failures must come back as JSON-RPC errors, fast, and without secrets


async def expect_initialize_error(args: list[str], env: dict[str, str], errlog: Path) -> MCPError:
    """Run initialize through the bridge and return the MCPError it must raise,
    failing the test if it succeeds or takes longer than FAIL_FAST_SECONDS."""
    try:
        with anyio.fail_after(FAIL_FAST_SECONDS):
            async with bridge_session(args, env, errlog) as s:
                await s.initialize()
    except MCPError as e:
        return e
    except TimeoutError:
        pytest.fail(
            f"initialize neither succeeded nor failed within {FAIL_FAST_SECONDS}s (hang)\n"
            f"bridge stderr:\n{tail(read_text(errlog))}"
        )
    pytest.fail(f"initialize unexpectedly succeeded\nbridge stderr:\n{tail(read_text(errlog))}")


@pytest.mark.parametrize("case", TRANSPORT_CASES, ids=case_id)
async def test_wrong_token_is_a_fast_401_error(case, sdk_servers, test_token, errlog: Path):
    kind, mode = case
    server = sdk_servers.get(kind)
    wrong = "kbwrong-" + os.urandom(12).hex()
    err = await expect_initialize_error(bearer_args(server, mode), bridge_env(TEST_TOKEN=wrong), errlog)
    stderr = read_text(errlog)
    assert_bridge_error(err, http_status=401, stderr=stderr)
    assert "env:TEST_TOKEN" in err.message, f"401 message must name the credential source: {err.message!r}"
    for secret in (wrong, test_token):
        assert secret not in err.message and secret not in json.dumps(err.data), "token value in the error"
        assert secret not in stderr, "token value in the bridge's stderr"


@pytest.mark.parametrize("case", TRANSPORT_CASES, ids=case_id)
async def test_no_credential_is_a_fast_401_error(case, sdk_servers, errlog: Path):
    """No --bearer and no MCP_KEYBRIDGE_TOKEN: the server's 401 comes back as an error."""
    kind, mode = case
    server = sdk_servers.get(kind)
    err = await expect_initialize_error([server.url, *transport_args(mode)], bridge_env(), errlog)
    assert_bridge_error(err, http_status=401, stderr=read_text(errlog))


@pytest.mark.parametrize("case", [("sse", "sse"), ("streamable-http", "auto")], ids=case_id)
async def test_bearer_env_var_unset(case, sdk_servers, test_token, errlog: Path):
    """--bearer env:TEST_TOKEN with TEST_TOKEN unset. Either the bridge answers
    initialize with -32603 naming env:TEST_TOKEN, or it refuses to start and says why on
    stderr; both must happen quickly."""
    kind, mode = case
    server = sdk_servers.get(kind)
    err = await expect_initialize_error(bearer_args(server, mode), bridge_env(), errlog)
    stderr = read_text(errlog)
    if err.code == -32000:  # the SDK's CONNECTION_CLOSED: the bridge exited
        assert "TEST_TOKEN" in stderr, f"bridge exited without naming the missing variable:\n{tail(stderr)}"
    else:
        assert_bridge_error(err, stderr=stderr)
        assert "env:TEST_TOKEN" in err.message, f"message must name the credential source: {err.message!r}"
    assert test_token not in stderr


@pytest.mark.parametrize("mode", ["streamable-http", "auto", "sse"])
async def test_connection_refused_is_a_fast_error(mode, test_token, errlog: Path):
    port = free_port()  # nothing listens here
    path = "/sse" if mode == "sse" else "/mcp"
    args = [f"http://127.0.0.1:{port}{path}", "--transport", mode, "--bearer", "env:TEST_TOKEN"]
    err = await expect_initialize_error(args, bridge_env(TEST_TOKEN=test_token), errlog)
    assert_bridge_error(err, http_status=None, stderr=read_text(errlog))
    assert test_token not in read_text(errlog)


@pytest.mark.parametrize(
    "case",
    [("sse", "streamable-http"), ("streamable-http", "sse")],
    ids=lambda c: f"{c[0]}-server-forced-{c[1]}",
)
async def test_forced_wrong_transport_fails_fast(case, sdk_servers, test_token, errlog: Path):
    """An explicit --transport that the server does not speak must not fall back
    silently nor hang: the request gets the bridge's error."""
    kind, mode = case
    server = sdk_servers.get(kind)
    err = await expect_initialize_error(bearer_args(server, mode), bridge_env(TEST_TOKEN=test_token), errlog)
    assert_bridge_error(err, stderr=read_text(errlog))


# ---------------------------------------------------------------------------
# Piped use (no SDK client): a script writes lines and closes stdin


def piped_args(server, mode: str | None = "auto", *extra: str) -> list[str]:
    return bearer_args(server, mode, *extra)


@pytest.mark.parametrize("case", TRANSPORT_CASES + [("streamable-http-json", "auto")], ids=case_id)
def test_piped_initialize_and_list(case, sdk_servers, test_token):
    kind, mode = case
    server = sdk_servers.get(kind)
    run = run_piped(
        piped_args(server, mode),
        bridge_env(TEST_TOKEN=test_token),
        [msg_initialize(1), msg_initialized(), msg_request(2, "tools/list")],
    )
    assert run.returncode == 0, run.describe()
    # Exactly one reply per request and nothing for the notification.
    assert [m.get("id") for m in run.messages] == [1, 2], run.describe()
    init, listed = run.messages
    assert "result" in init and "result" in listed, run.describe()
    assert init["result"]["serverInfo"]["name"] == SERVER_NAME, run.describe()
    assert init["result"]["protocolVersion"] == "2025-11-25", run.describe()
    assert EXPECTED_TOOLS <= {t["name"] for t in listed["result"]["tools"]}, run.describe()
    assert test_token not in run.stdout + run.stderr


@pytest.mark.parametrize("case", [("sse", "auto"), ("streamable-http", "auto")], ids=case_id)
def test_piped_waits_for_in_flight_requests(case, sdk_servers, test_token):
    """stdin closes right after the last request: the bridge must still deliver every
    reply (including one that takes 1.5 s) before exiting 0."""
    kind, mode = case
    server = sdk_servers.get(kind)
    run = run_piped(
        piped_args(server, mode),
        bridge_env(TEST_TOKEN=test_token),
        [
            msg_initialize(1),
            msg_initialized(),
            msg_request(2, "tools/call", {"name": "slow", "arguments": {"seconds": 1.5}}),
            msg_request(3, "ping"),
        ],
    )
    assert run.returncode == 0, run.describe()
    replies = run.by_id()
    assert sorted(replies) == [1, 2, 3] and len(run.messages) == 3, run.describe()
    assert replies[2]["result"]["content"][0]["text"] == "done", run.describe()
    assert replies[3]["result"] == {}, run.describe()


@pytest.mark.parametrize("case", [("sse", "auto"), ("streamable-http", "auto")], ids=case_id)
def test_piped_ids_are_relayed_verbatim(case, sdk_servers, test_token):
    """String ids and integers beyond 2^53 must come back exactly as sent."""
    kind, mode = case
    server = sdk_servers.get(kind)
    big_id = 2**53 + 1  # not representable as a float64
    run = run_piped(
        piped_args(server, mode),
        bridge_env(TEST_TOKEN=test_token),
        [
            msg_initialize("init-é"),
            msg_initialized(),
            msg_request(big_id, "ping"),
            msg_request("x" * 40, "tools/list"),
        ],
    )
    assert run.returncode == 0, run.describe()
    assert [m.get("id") for m in run.messages][0] == "init-é", run.describe()
    assert sorted(map(str, run.by_id())) == sorted(["init-é", str(big_id), "x" * 40]), run.describe()
    assert str(big_id) in run.stdout, "large integer id was reformatted: " + run.describe()


def test_piped_parse_error_has_no_id(sdk_servers, test_token):
    """A line that is not JSON gets -32700 without an id (never "id": null), and the
    session carries on."""
    server = sdk_servers.get("streamable-http")
    run = run_piped(
        piped_args(server, "streamable-http"),
        bridge_env(TEST_TOKEN=test_token),
        ["this is not json", msg_initialize(1), msg_initialized(), msg_request(2, "ping")],
    )
    assert run.returncode == 0, run.describe()
    errors = [m for m in run.messages if "error" in m and "id" not in m]
    assert len(errors) == 1 and errors[0]["error"]["code"] == -32700, run.describe()
    assert all(m.get("id", 0) is not None for m in run.messages), '"id": null sent: ' + run.describe()
    assert sorted(run.by_id()) == [1, 2], run.describe()


@pytest.mark.parametrize("case", [("sse", "auto"), ("streamable-http", "auto")], ids=case_id)
def test_piped_401_answers_every_request_and_exits_0(case, sdk_servers):
    """With a rejected token, every request still gets exactly one reply (an error)."""
    kind, mode = case
    server = sdk_servers.get(kind)
    wrong = "kbwrong-" + os.urandom(12).hex()
    run = run_piped(
        piped_args(server, mode, "--log-level", "trace"),
        bridge_env(TEST_TOKEN=wrong),
        [msg_initialize(1), msg_initialized(), msg_request(2, "tools/list")],
        timeout=FAIL_FAST_SECONDS + 5,
    )
    assert run.returncode == 0, run.describe()
    assert sorted(run.by_id()) == [1, 2] and len(run.messages) == 2, run.describe()
    first = run.by_id()[1]
    assert first["error"]["code"] == -32603, run.describe()
    assert first["error"]["data"] == {"source": "mcp-keybridge", "httpStatus": 401}, run.describe()
    assert "env:TEST_TOKEN" in first["error"]["message"], run.describe()
    # The held tools/list failed for the same reason; an error blaming something else
    # (a 405 and "try --transport") would send the user down the wrong path.
    second = run.by_id()[2]
    assert "error" in second and second["error"]["data"].get("httpStatus") == 401, run.describe()
    assert wrong not in run.stdout, "rejected token leaked to stdout"
    assert wrong not in run.stderr, "rejected token leaked to stderr at trace level"


# ---------------------------------------------------------------------------
# Secrets at the most verbose log level


def secret_flow(test_token: str, custom: str) -> tuple[dict[str, str], list[dict]]:
    env = bridge_env(TEST_TOKEN=test_token, CUSTOM=custom)
    msgs = [
        msg_initialize(1),
        msg_initialized(),
        msg_request(2, "tools/list"),
        msg_request(3, "tools/call", {"name": "echo", "arguments": {"text": "trace me"}}),
    ]
    return env, msgs


@pytest.mark.parametrize("case", [("sse", "auto"), ("streamable-http", "auto")], ids=case_id)
@pytest.mark.parametrize("how", ["--log-level", "RUST_LOG"])
def test_trace_logging_leaks_no_secret(case, how, sdk_servers, test_token):
    """--log-level trace, and RUST_LOG=trace, which also turns on the HTTP stack's own
    tracing (hyper, reqwest) that the bridge does not write itself."""
    kind, mode = case
    server = sdk_servers.get(kind)
    custom = "kbcustom-" + os.urandom(12).hex()
    env, msgs = secret_flow(test_token, custom)
    if how == "RUST_LOG":
        env["RUST_LOG"] = "trace"
        level: tuple[str, ...] = ()
    else:
        level = ("--log-level", "trace")
    run = run_piped(
        piped_args(server, mode, "--header", "X-Custom-Token: ${env:CUSTOM}", *level),
        env,
        msgs,
    )
    assert run.returncode == 0, run.describe()
    assert sorted(run.by_id()) == [1, 2, 3], run.describe()
    # Guard against a vacuous pass: trace level must actually have logged something.
    assert run.stderr.strip(), "no stderr output at --log-level trace"
    for name, secret in (("bearer token", test_token), ("custom header value", custom)):
        assert secret not in run.stdout, f"{name} leaked to stdout"
        assert secret not in run.stderr, f"{name} leaked to stderr at trace level:\n" + tail(
            "\n".join(line for line in run.stderr.splitlines() if secret in line)
        )


def test_trace_log_file_leaks_no_secret(sdk_servers, test_token, tmp_path: Path):
    server = sdk_servers.get("streamable-http")
    custom = "kbcustom-" + os.urandom(12).hex()
    log_file = tmp_path / "bridge.log"
    env, msgs = secret_flow(test_token, custom)
    run = run_piped(
        piped_args(
            server,
            "auto",
            *("--header", "X-Custom-Token: ${env:CUSTOM}"),
            *("--log-level", "trace", "--log-file", str(log_file)),
        ),
        env,
        msgs,
    )
    assert run.returncode == 0, run.describe()
    assert sorted(run.by_id()) == [1, 2, 3], run.describe()
    logged = read_text(log_file)
    assert logged.strip(), f"--log-file {log_file} is empty at trace level"
    for secret in (test_token, custom):
        assert secret not in logged, "secret in --log-file"
        assert secret not in run.stdout + run.stderr, "secret in stdout/stderr"


def test_stderr_has_no_ansi_colours_when_not_a_tty(sdk_servers, test_token):
    server = sdk_servers.get("streamable-http")
    run = run_piped(
        piped_args(server, "auto", "--log-level", "debug"),
        bridge_env(TEST_TOKEN=test_token),
        [msg_initialize(1), msg_initialized(), msg_request(2, "ping")],
    )
    assert run.returncode == 0, run.describe()
    assert "\x1b[" not in run.stderr, "ANSI escape codes in stderr written to a pipe:\n" + tail(run.stderr, 1000)


@pytest.mark.parametrize("in_flight", [False, True], ids=["idle", "request-in-flight"])
def test_sigterm_exits_promptly_with_stdin_open(in_flight, sdk_servers, test_token):
    """SIGTERM alone must stop the bridge: a supervisor (or the SDK client's shutdown
    escalation) may signal it while still holding its stdin open, and with a 30 s
    tool call in flight the bridge must not sit it out either."""
    server = sdk_servers.get("streamable-http")
    proc = subprocess.Popen(
        [BRIDGE_BIN, *piped_args(server, "auto", "--log-level", "debug")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=bridge_env(TEST_TOKEN=test_token),
    )
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    exited_in_time = False
    slow_calls = server.log_count(SLOW_STARTED)
    try:
        msgs = [msg_initialize(1), msg_initialized()]
        if in_flight:
            msgs.append(msg_request(2, "tools/call", {"name": "slow", "arguments": {"seconds": 30}}))
        for m in msgs:
            proc.stdin.write((json.dumps(m) + "\n").encode())
        proc.stdin.flush()
        first = json.loads(lines.get(timeout=OP_TIMEOUT_SECONDS))
        assert first.get("id") == 1 and "result" in first, first
        if in_flight:
            server.wait_log(SLOW_STARTED, slow_calls + 1)  # the slow call reached the server
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=8)
            exited_in_time = True
        except subprocess.TimeoutExpired:
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
    assert exited_in_time, f"bridge still running 8 s after SIGTERM (stdin open)\nbridge stderr:\n{tail(err)}"
    assert test_token not in err
