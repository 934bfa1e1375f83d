"""Shared plumbing for the interop tests: locating the bridge, starting SDK servers,
driving the bridge through the official SDK stdio client or through raw pipes.

Everything here bounds its waits: a hung bridge must turn into a failed test with its
stderr attached, never into a hung CI job.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
SERVER_SCRIPT = HERE / "sdk_server.py"

BRIDGE_BIN = os.environ.get("MCP_KEYBRIDGE_BIN") or str(REPO_ROOT / "target" / "debug" / "mcp-keybridge")

# Must match sdk_server.py.
SERVER_NAME = "keybridge-interop-server"
RESOURCE_URI = "test://greeting"
RESOURCE_TEXT = "hello from the interop server"
EXPECTED_TOOLS = {"echo", "add", "slow", "big", "progress", "get_header", "ask"}

# The bridge's own error code and data marker for replies it could not get from upstream.
BRIDGE_ERROR_CODE = -32603
BRIDGE_SOURCE = "mcp-keybridge"

# How long a bridge may take to turn an upstream failure (401, refused, 405…) into a
# JSON-RPC error. Generous for a loaded 2-core CI box, far below "hangs".
FAIL_FAST_SECONDS = 10.0
# Upper bound for any single happy-path exchange through the bridge.
OP_TIMEOUT_SECONDS = 20.0
# What sdk_server.py's `slow` tool logs as it starts (the call reached the server).
SLOW_STARTED = "slow: started"

# Server flavours: (sdk_server.py --transport, extra args, endpoint path).
SERVER_KINDS: dict[str, tuple[str, list[str], str]] = {
    "sse": ("sse", [], "/sse"),
    # The SDK default: requests answered with a text/event-stream.
    "streamable-http": ("streamable-http", [], "/mcp"),
    # Requests answered with a single application/json body; the bridge must take both.
    "streamable-http-json": ("streamable-http", ["--json-response"], "/mcp"),
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class SdkServer:
    kind: str
    port: int
    url: str
    token: str
    token_file: Path
    log_path: Path
    proc: subprocess.Popen = field(repr=False)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_count(self, text: str) -> int:
        """How many times `text` appears in the server's log (it is shared by many tests)."""
        return self.log().count(text)

    def wait_log(self, text: str, count: int) -> None:
        """Waits (bounded) until `text` has appeared `count` times in the server's log."""
        deadline = time.monotonic() + OP_TIMEOUT_SECONDS
        while self.log_count(text) < count:
            assert self.proc.poll() is None, f"sdk_server.py exited:\n{tail(self.log())}"
            assert time.monotonic() < deadline, f"the server never logged {text!r}:\n{tail(self.log())}"
            time.sleep(0.02)

    async def await_log(self, text: str, count: int) -> None:
        """wait_log for async tests."""
        with anyio.fail_after(OP_TIMEOUT_SECONDS):
            while self.log_count(text) < count:
                assert self.proc.poll() is None, f"sdk_server.py exited:\n{tail(self.log())}"
                await anyio.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_sdk_server(kind: str, workdir: Path, token: str | None, port: int | None = None) -> SdkServer:
    """Start sdk_server.py and wait until its port accepts connections.

    With token=None the server runs without auth. Pass port to restart a server where
    a bridge expects it.
    """
    transport, extra, path = SERVER_KINDS[kind]
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    token_file = workdir / f"{kind}-token"
    log_path = workdir / f"{kind}-server.log"
    cmd = [sys.executable, str(SERVER_SCRIPT), "--transport", transport, "--port", str(port), *extra]
    if token is not None:
        token_file.write_text(token)
        cmd += ["--token-file", str(token_file)]
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    server = SdkServer(kind, port, f"http://127.0.0.1:{port}{path}", token or "", token_file, log_path, proc)

    deadline = time.monotonic() + 30
    while not port_open(port):
        if proc.poll() is not None:
            raise RuntimeError(f"sdk_server.py ({kind}) exited with {proc.returncode}:\n{server.log()}")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"sdk_server.py ({kind}) did not listen on {port} within 30s:\n{server.log()}")
        time.sleep(0.1)
    return server


def bridge_env(**extra: str) -> dict[str, str]:
    """A minimal, explicit environment for the bridge.

    Built from scratch rather than inherited so that a developer's own
    MCP_KEYBRIDGE_TOKEN (or similar) can never leak into or mask a test.
    """
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env["RUST_BACKTRACE"] = "1"
    env.update(extra)
    return env


def transport_args(mode: str | None) -> list[str]:
    """mode None means: leave --transport out and rely on the bridge's default."""
    return [] if mode is None else ["--transport", mode]


@asynccontextmanager
async def bridge_session(
    args: list[str], env: dict[str, str], errlog_path: Path, **session_kwargs: Any
) -> AsyncIterator[ClientSession]:
    """The official SDK stdio client, spawning the bridge; stderr goes to errlog_path.
    session_kwargs go to ClientSession (callbacks for server-to-client requests).

    StdioServerParameters.env is merged over the SDK's small default environment
    (HOME, PATH, …), which never includes MCP_KEYBRIDGE_TOKEN.
    """
    params = StdioServerParameters(command=BRIDGE_BIN, args=args, env=env)
    with open(errlog_path, "w") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write, **session_kwargs) as session:
                    yield session
        except BaseExceptionGroup as group:
            # The SDK's task groups wrap whatever the body raised (an MCPError from
            # initialize, say) in nested groups; tests want to catch the error itself.
            leaves = _leaves(group)
            if len(leaves) == 1:
                raise leaves[0] from group
            raise


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def tail(text: str, n: int = 4000) -> str:
    return text if len(text) <= n else "…" + text[-n:]


def assert_bridge_error(err: MCPError, http_status: Any = ..., stderr: str = "") -> None:
    """An error the bridge made itself, per its contract: -32603 with
    data {"source": "mcp-keybridge", "httpStatus": <int|null>}.

    http_status=... (Ellipsis) accepts any status.
    """
    ctx = f"\nerror: code={err.code} message={err.message!r} data={err.data!r}\nbridge stderr:\n{tail(stderr)}"
    assert err.code == BRIDGE_ERROR_CODE, "expected the bridge's -32603" + ctx
    assert isinstance(err.data, dict), "error.data must be an object" + ctx
    assert err.data.get("source") == BRIDGE_SOURCE, "error.data.source must be mcp-keybridge" + ctx
    assert "httpStatus" in err.data, "error.data must carry httpStatus (int or null)" + ctx
    if http_status is not ...:
        assert err.data["httpStatus"] == http_status, f"expected httpStatus {http_status!r}" + ctx
    assert err.message.strip(), "the error needs a human-readable message" + ctx


# ---------------------------------------------------------------------------
# Raw piped use, as a shell script or CI job would drive the bridge.


def msg_initialize(id_: Any = 1) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": id_,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "interop-piped", "version": "0"},
        },
    }


def msg_initialized() -> dict:
    return {"jsonrpc": "2.0", "method": "notifications/initialized"}


def msg_request(id_: Any, method: str, params: dict | None = None) -> dict:
    m: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        m["params"] = params
    return m


@dataclass
class PipedRun:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict]

    def describe(self) -> str:
        return f"exit={self.returncode}\nstdout:\n{tail(self.stdout)}\nstderr:\n{tail(self.stderr)}"

    def by_id(self) -> dict[Any, dict]:
        return {m["id"]: m for m in self.messages if "id" in m}


def run_piped(
    args: list[str],
    env: dict[str, str],
    messages: Iterable[dict | str],
    timeout: float = OP_TIMEOUT_SECONDS,
) -> PipedRun:
    """Write every message as one line, close stdin, and wait for the bridge to exit.

    A str message is written as-is (for malformed input). Every stdout line must be
    JSON: anything else on stdout is itself a contract violation.
    """
    lines = [m if isinstance(m, str) else json.dumps(m) for m in messages]
    data = "".join(line + "\n" for line in lines)
    try:
        proc = subprocess.run(
            [BRIDGE_BIN, *args],
            input=data.encode(),
            capture_output=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:  # subprocess.run has already killed it
        out = (e.stdout or b"").decode(errors="replace")
        err = (e.stderr or b"").decode(errors="replace")
        pytest.fail(
            f"bridge did not exit within {timeout}s of stdin EOF\nstdout:\n{tail(out)}\nstderr:\n{tail(err)}"
        )
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    parsed = []
    for n, line in enumerate(out.splitlines(), 1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"stdout line {n} is not JSON: {line[:300]!r}\nstderr:\n{tail(err)}")
    return PipedRun(proc.returncode, out, err, parsed)
