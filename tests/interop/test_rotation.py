"""Token rotation without a restart, against the official SDK server, which re-reads the
token it accepts on every request.

- Rotated at the source (keychain, file, command): the server starts refusing the old token,
  the bridge re-reads its source on the 401, and the same session's next call succeeds.
- Rotated only at the server: the error names the source and the fix.
- A JWT near its `exp`: the bridge re-reads its source before it expires, with no 401 at all.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from helpers import OP_TIMEOUT_SECONDS, bridge_session, read_text, start_sdk_server, tail
from test_keychain import keyring, private_file  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.anyio


def new_token() -> str:
    return "rot-" + secrets.token_hex(16)


def jwt(exp_in: float) -> str:
    """An unsigned-looking JWT (the server compares strings; nobody verifies it)."""
    return jwt_for("rotation", exp_in)


def jwt_for(sub: str, exp_in: float) -> str:
    """The same with subject `sub`."""

    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"sub": sub, "jti": secrets.token_hex(8), "exp": int(time.time() + exp_in)}
    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc(claims)}.c2ln"


@pytest.fixture
def server_factory(tmp_path: Path):
    """A server of its own per test: these tests change the token it accepts."""
    started = []

    def start(kind: str, token: str):
        server = start_sdk_server(kind, tmp_path / f"server-{len(started)}", token)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def echo_ok(session, text: str, errlog: Path) -> None:
    result = await session.call_tool("echo", {"text": text})
    assert not result.is_error and result.content[0].text == text, (
        f"{result!r}\nbridge stderr:\n{tail(read_text(errlog))}"
    )


@pytest.mark.parametrize(
    ("kind", "source"),
    [
        ("streamable-http", "keychain"),
        ("sse", "keychain"),
        ("streamable-http", "file"),
        ("streamable-http", "cmd"),
    ],
)
async def test_rotation_at_the_source(kind, source, keyring, server_factory, tmp_path, errlog):
    old, new = new_token(), new_token()
    server = server_factory(kind, old)
    token_file = private_file(tmp_path / "source-token", old)
    ref = {
        "keychain": "keychain:rotating",
        "file": f"file:{token_file}",
        "cmd": f"cmd:cat {token_file}",
    }[source]

    def rotate_source(value: str) -> None:
        if source == "keychain":
            keyring.store("rotating", value)
        else:
            private_file(token_file, value)

    rotate_source(old)
    env = keyring.bridge_env()
    with anyio.fail_after(OP_TIMEOUT_SECONDS * 2):
        async with bridge_session([server.url, "--bearer", ref, "--log-level", "info"], env, errlog) as session:
            await session.initialize()
            await echo_ok(session, "before", errlog)
            # The server now accepts only the new token, and the source holds it.
            server.token_file.write_text(new)
            rotate_source(new)
            await echo_ok(session, "after", errlog)
            await echo_ok(session, "again", errlog)
    log = read_text(errlog)
    assert "credentials changed at their source" in log, tail(log)
    assert old not in log and new not in log


async def test_rotation_only_at_the_server_names_the_fix(keyring, server_factory, errlog):
    old = new_token()
    server = server_factory("streamable-http", old)
    keyring.store("left-behind", old)
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session([server.url, "--bearer", "keychain:left-behind"], keyring.bridge_env(), errlog) as s:
            await s.initialize()
            await echo_ok(s, "before", errlog)
            server.token_file.write_text(new_token())
            with pytest.raises(MCPError) as caught:
                await s.call_tool("echo", {"text": "after"})
    message = caught.value.message
    assert "keychain:left-behind" in message and "mcp-keybridge auth set" in message, message


async def test_jwt_is_reread_before_it_expires(server_factory, tmp_path, errlog):
    """A `cmd:` login script hands out a JWT that expires in ~72 s. The bridge runs the script
    again 60 s before `exp` (so ~12 s in) without any request being made; the next call then
    carries the new token straight away (no 401, so no extra run of the script).

    The margin leaves a loaded CI machine time to start the server and the bridge and make
    the first call before the re-read is due (with 62 s, a 2 s start made it due at once)."""
    first, second = jwt(72), jwt(3600)
    server = server_factory("streamable-http", first)
    current = private_file(tmp_path / "current-jwt", first)
    runs = tmp_path / "runs"
    script = f"echo run >> {runs}; cat {current}"
    with anyio.fail_after(OP_TIMEOUT_SECONDS * 3):
        async with bridge_session(
            [server.url, "--bearer", f"cmd:{script}", "--log-level", "debug"],
            {"PATH": "/usr/bin:/bin"},
            errlog,
        ) as session:
            await session.initialize()
            await echo_ok(session, "first", errlog)
            private_file(current, second)
            deadline = time.monotonic() + 20
            while read_text(runs).count("run") < 2:
                assert time.monotonic() < deadline, "no proactive re-read:\n" + tail(read_text(errlog))
                await anyio.sleep(0.1)
            server.token_file.write_text(second)
            await echo_ok(session, "second", errlog)
    assert read_text(runs).count("run") == 2, "a 401 forced a re-read:\n" + tail(read_text(errlog))
