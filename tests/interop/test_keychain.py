"""Credentials from every source, end to end: the official SDK stdio client drives the bridge,
which reads its secret from a real OS keychain (gnome-keyring's Secret Service on a private
D-Bus session), a command or a file, and talks to the official SDK server.

    SDK stdio client ──▶ mcp-keybridge ──(Bearer from keychain:/cmd:/file:)──▶ SDK MCPServer

The keyring is private to this test session (its own dbus-daemon, HOME and XDG_RUNTIME_DIR),
so running the suite never touches the developer's own keychain. A missing gnome-keyring,
dbus-daemon or secret-tool fails the tests: CI installs them (.ci/run).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from helpers import (
    BRIDGE_BIN,
    EXPECTED_TOOLS,
    OP_TIMEOUT_SECONDS,
    bridge_env,
    bridge_session,
    msg_initialize,
    msg_initialized,
    msg_request,
    read_text,
    run_piped,
    tail,
)

pytestmark = pytest.mark.anyio

KEYRING_TOOLS = ("dbus-daemon", "dbus-send", "gnome-keyring-daemon", "secret-tool")


@dataclass
class Keyring:
    """A private Secret Service; `env` reaches it (and nothing else)."""

    env: dict[str, str]

    def store(self, name: str, value: str) -> None:
        subprocess.run(
            ["secret-tool", "store", "--label", f"mcp-keybridge {name}", "service", "mcp-keybridge", "username", name],
            input=value.encode(),
            env={**os.environ, **self.env},
            check=True,
            timeout=15,
        )

    def lookup(self, name: str) -> str | None:
        proc = subprocess.run(
            ["secret-tool", "lookup", "service", "mcp-keybridge", "username", name],
            capture_output=True,
            env={**os.environ, **self.env},
            timeout=15,
        )
        return proc.stdout.decode() if proc.returncode == 0 else None

    def bridge_env(self, **extra: str) -> dict[str, str]:
        return bridge_env(**self.env, **extra)


def _bus_has_secrets(env: dict[str, str]) -> bool:
    proc = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/",
         "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"],
        capture_output=True,
        env={**os.environ, **env},
        timeout=5,
    )
    return b"boolean true" in proc.stdout


@pytest.fixture(scope="module")
def keyring() -> Iterator[Keyring]:
    """dbus-daemon + a gnome-keyring-daemon unlocked with an empty password, torn down after."""
    missing = [t for t in KEYRING_TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: apt-get install gnome-keyring dbus libsecret-tools",
            pytrace=False,
        )
    scratch = Path(tempfile.mkdtemp(prefix="mkb-keyring-"))
    (scratch / "home").mkdir()
    run_dir = scratch / "run"
    run_dir.mkdir(mode=0o700)
    base = {"HOME": str(scratch / "home"), "XDG_RUNTIME_DIR": str(run_dir)}
    child_env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"} | base
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=child_env,
    )
    daemon = None
    try:
        address = bus.stdout.readline().decode().strip()
        assert address, "dbus-daemon printed no address"
        env = base | {"DBUS_SESSION_BUS_ADDRESS": address}
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=child_env | env,
        )
        daemon.stdin.write(b"pw")
        daemon.stdin.close()
        deadline = time.monotonic() + 20
        while not _bus_has_secrets(env):
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gnome-keyring-daemon did not start on the private bus", pytrace=False)
            time.sleep(0.1)
        yield Keyring(env)
    finally:
        for proc in (daemon, bus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        shutil.rmtree(scratch, ignore_errors=True)


def auth(keyring: Keyring, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    """Runs `mcp-keybridge auth …`; stdin is a pipe, so `auth set` reads it."""
    return subprocess.run(
        [BRIDGE_BIN, "auth", *args],
        input=(stdin or "").encode(),
        capture_output=True,
        env=env if env is not None else keyring.bridge_env(),
        timeout=30,
    )


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def private_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


async def call_echo(args: list[str], env: dict[str, str], errlog: Path) -> None:
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(args, env, errlog) as session:
            await session.initialize()
            tools = await session.list_tools()
            assert {t.name for t in tools.tools} >= EXPECTED_TOOLS
            result = await session.call_tool("echo", {"text": "via keychain"})
            assert not result.is_error, f"{result!r}\nbridge stderr:\n{tail(read_text(errlog))}"


@pytest.mark.parametrize("kind", ["streamable-http", "sse"])
async def test_secret_tool_entry_is_used_by_the_bridge(kind, keyring, sdk_servers, test_token, errlog):
    """A token put in the keychain by another tool (secret-tool) authenticates the bridge."""
    server = sdk_servers.get(kind)
    keyring.store("interop", test_token)
    await call_echo([server.url, "--bearer", "keychain:interop"], keyring.bridge_env(), errlog)
    assert test_token not in read_text(errlog)


async def test_auth_set_then_profile(keyring, sdk_servers, test_token, tmp_path, errlog):
    """`auth set` from stdin, then a profile with no secret in it: bearer and a header template."""
    server = sdk_servers.get("streamable-http")
    done = auth(keyring, "set", "profiled", stdin=test_token + "\n")
    assert done.returncode == 0, done.stderr.decode()
    assert keyring.lookup("profiled") == test_token
    probe = "probe-" + test_token[-8:]
    keyring.store("probe", probe)
    config = private_file(
        tmp_path / "config.toml",
        f'[profiles.sdk]\nurl = "{server.url}"\nbearer = "keychain:profiled"\n'
        '[profiles.sdk.headers]\n"X-Probe" = "v=${keychain:probe}"\n',
    )
    env = keyring.bridge_env(MCP_KEYBRIDGE_CONFIG=str(config))
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        async with bridge_session(["--profile", "sdk"], env, errlog) as session:
            await session.initialize()
            result = await session.call_tool("get_header", {"name": "X-Probe"})
            assert result.content[0].text == f"v={probe}"
    status = auth(keyring, "status", "--profile", "sdk", env=env)
    text = status.stdout.decode() + status.stderr.decode()
    assert status.returncode == 0, text
    assert f"keychain:profiled: ok, {len(test_token)} characters, sha256 {fingerprint(test_token)}" in text
    assert test_token not in text and probe not in text


async def test_deleted_entry_fails_clearly(keyring, sdk_servers, test_token):
    server = sdk_servers.get("streamable-http")
    keyring.store("doomed", test_token)
    assert auth(keyring, "delete", "doomed").returncode == 0
    assert keyring.lookup("doomed") is None
    run = run_piped([server.url, "--bearer", "keychain:doomed"], keyring.bridge_env(), [msg_initialize()])
    # The bridge stays up and answers initialize with the reason, so the client can show it.
    assert run.returncode == 0 and len(run.messages) == 1, run.describe()
    message = run.messages[0]["error"]["message"]
    assert "no secret named \"doomed\"" in message and "auth set doomed" in message, run.describe()
    assert "auth set doomed" in run.stderr, run.describe()


def test_no_keychain_is_a_clear_error(keyring, tmp_path):
    """No D-Bus session bus: every keychain use names the cause and the other sources."""
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    env = bridge_env(HOME=str(tmp_path), XDG_RUNTIME_DIR=str(run_dir))
    for args, stdin in ((["set", "x"], "some-secret"), (["status", "--bearer", "keychain:x"], None)):
        done = auth(keyring, *args, stdin=stdin, env=env)
        err = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 1, err
        assert "keychain is not available" in err and "env:VAR, file:PATH or cmd:COMMAND" in err, err
        assert "some-secret" not in err


@pytest.mark.parametrize("source", ["cmd", "file"])
async def test_cmd_and_file_sources(source, sdk_servers, test_token, tmp_path, errlog):
    server = sdk_servers.get("streamable-http")
    token_file = private_file(tmp_path / "token", test_token + "\n")
    ref = f"cmd:cat {token_file}" if source == "cmd" else f"file:{token_file}"
    await call_echo([server.url, "--bearer", ref], bridge_env(), errlog)


def test_shared_secret_file_is_warned_about(sdk_servers, test_token, tmp_path):
    server = sdk_servers.get("streamable-http")
    token_file = private_file(tmp_path / "token", test_token, mode=0o644)
    run = run_piped([server.url, "--bearer", f"file:{token_file}"], bridge_env(), [msg_initialize()])
    assert "readable by other users" in run.stderr and "chmod 600" in run.stderr, run.describe()


def test_no_source_leaks_its_secret(keyring, sdk_servers, tmp_path):
    """Every source, accepted and rejected, at trace level, and `auth status`: the secret never
    appears on stdout, stderr or in the log file."""
    server = sdk_servers.get("streamable-http")
    secret = "leakcheck-" + os.urandom(12).hex()
    keyring.store("leak", secret)
    token_file = private_file(tmp_path / "secret", secret + "\n")
    config = private_file(tmp_path / "config.toml", '[profiles.leak]\nbearer = "keychain:leak"\n')
    sources = {
        "env": (["--bearer", "env:LEAK"], {"LEAK": secret}),
        "keychain": (["--bearer", "keychain:leak"], {}),
        "cmd": (["--bearer", f"cmd:cat {token_file}"], {}),
        "file": (["--bearer", f"file:{token_file}"], {}),
        "header": (["-H", "X-Api-Key: k=${keychain:leak}"], {}),
        "profile": (["--profile", "leak", "--config", str(config)], {}),
    }
    for name, (args, extra) in sources.items():
        env = keyring.bridge_env(**extra)
        log = tmp_path / f"{name}.log"
        # The server rejects this secret (it is not the test token): a 401 path, with a re-read.
        run = run_piped(
            [server.url, *args, "--log-level", "trace"],
            env,
            [msg_initialize(), msg_initialized(), msg_request(2, "tools/list")],
        )
        status = auth(keyring, "status", *args, env=env)
        logged = run_piped([server.url, *args, "--log-level", "trace", "--log-file", str(log)], env, [msg_initialize()])
        outputs = {
            "bridge stdout": run.stdout,
            "bridge stderr": run.stderr,
            "status stdout": status.stdout.decode(),
            "status stderr": status.stderr.decode(),
            "log file": read_text(log) + logged.stdout + logged.stderr,
        }
        for where, text in outputs.items():
            assert secret not in text, f"{name}: secret leaked to {where}:\n{tail(text)}"
        assert status.returncode == 0 and fingerprint(secret) in outputs["status stdout"], outputs["status stdout"]
        assert run.messages and "error" in run.by_id().get(1, {}), run.describe()


async def test_wrong_keychain_secret_names_source_and_fix(keyring, sdk_servers, errlog):
    server = sdk_servers.get("streamable-http")
    keyring.store("stale", "not-the-right-token")
    with anyio.fail_after(OP_TIMEOUT_SECONDS):
        with pytest.raises(MCPError) as caught:
            async with bridge_session([server.url, "--bearer", "keychain:stale"], keyring.bridge_env(), errlog) as s:
                await s.initialize()
    message = caught.value.message
    assert "keychain:stale" in message and "mcp-keybridge auth set" in message, message
