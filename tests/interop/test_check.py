"""`mcp-keybridge check` against the official Python SDK server, on every transport flavour:
the report must name the transport the SDK really speaks, its server info and tools, and say
the bearer was accepted; a wrong token must fail with exit 1, a 401 diagnosis that points at
`auth set`/`auth status`, and neither token anywhere in the output. Last, the loop the README
promises, on a real keychain: stale token → check names `auth set NAME` → that fixes it."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import BRIDGE_BIN, EXPECTED_TOOLS, SERVER_KINDS, SERVER_NAME, bridge_env, tail
# The private Secret Service fixture (its own dbus-daemon and gnome-keyring) and `auth` runner.
from test_keychain import auth, keyring  # noqa: F401 - keyring is a fixture

# What `check` must detect for each server flavour (auto mode).
DETECTED = {"sse": "sse", "streamable-http": "streamable-http", "streamable-http-json": "streamable-http"}

CHECK_TIMEOUT_SECONDS = 30


def run_check(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BRIDGE_BIN, "check", *args],
        env=bridge_env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_SECONDS,
    )


def context(proc: subprocess.CompletedProcess[str]) -> str:
    return f"\nexit {proc.returncode}\nstdout:\n{tail(proc.stdout)}\nstderr:\n{tail(proc.stderr)}"


@pytest.mark.parametrize("kind", sorted(SERVER_KINDS))
def test_check_reports_the_sdk_server(kind: str, sdk_servers, test_token: str) -> None:
    server = sdk_servers.get(kind)
    proc = run_check([server.url, "--bearer", "env:KB_TOKEN", "--json"], KB_TOKEN=test_token)
    assert proc.returncode == 0, context(proc)
    report = json.loads(proc.stdout)
    assert report["ok"] is True, context(proc)
    assert report["transport"] == {"requested": "auto", "used": DETECTED[kind]}
    assert report["server"]["name"] == SERVER_NAME
    assert report["protocolVersion"], context(proc)
    assert set(report["tools"]["names"]) == EXPECTED_TOOLS
    assert report["tools"]["count"] == len(EXPECTED_TOOLS)
    assert report["credentials"] == [{"header": "authorization", "sources": ["env:KB_TOKEN"]}]
    assert report["credentialsStatus"] == "accepted"
    assert report["timingsMs"]["initialize"] > 0
    assert report["timingsMs"]["tools/list"] > 0
    assert test_token not in proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", ["streamable-http", "sse"])
def test_check_human_report_lists_tools_with_verbose(kind: str, sdk_servers, test_token: str) -> None:
    server = sdk_servers.get(kind)
    proc = run_check([server.url, "--bearer", "env:KB_TOKEN", "-v"], KB_TOKEN=test_token)
    assert proc.returncode == 0, context(proc)
    out = proc.stdout
    assert out.startswith("mcp-keybridge check: OK"), context(proc)
    assert f"transport:   {DETECTED[kind]} (detected)" in out, context(proc)
    assert f"server:      {SERVER_NAME} " in out, context(proc)
    assert f"tools:       {len(EXPECTED_TOOLS)}: " in out, context(proc)
    for name in EXPECTED_TOOLS:
        assert name in out
    assert "authorization from env:KB_TOKEN: accepted" in out, context(proc)
    assert test_token not in out + proc.stderr


@pytest.mark.parametrize("kind", ["streamable-http", "sse"])
def test_check_wrong_token_is_diagnosed_without_leaking(kind: str, sdk_servers, test_token: str) -> None:
    server = sdk_servers.get(kind)
    wrong = "kbwrong-" + test_token[::-1]
    proc = run_check([server.url, "--bearer", "env:KB_TOKEN", "--json"], KB_TOKEN=wrong)
    assert proc.returncode == 1, context(proc)
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    assert report["credentialsStatus"] == "rejected", context(proc)
    assert report["error"]["kind"] == "unauthorized", context(proc)
    assert report["error"]["httpStatus"] == 401
    fixes = " | ".join(report["error"]["fix"])
    assert "mcp-keybridge auth set" in fixes and "mcp-keybridge auth status --bearer env:KB_TOKEN" in fixes
    for secret in (wrong, test_token):
        assert secret not in proc.stdout + proc.stderr


def test_check_with_a_real_keychain_follows_its_own_advice(keyring, sdk_servers, test_token: str) -> None:
    """The documented loop on a real Secret Service: a stale token in the keychain → check says
    `mcp-keybridge auth set NAME` → doing exactly that → check passes."""
    server = sdk_servers.get("streamable-http")
    stale = "kbstale-" + test_token[::-1]
    assert auth(keyring, "set", "check-demo", stdin=stale + "\n").returncode == 0
    args = [BRIDGE_BIN, "check", server.url, "--bearer", "keychain:check-demo", "--json"]

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, env=keyring.bridge_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=CHECK_TIMEOUT_SECONDS,
        )

    proc = check()
    assert proc.returncode == 1, context(proc)
    report = json.loads(proc.stdout)
    assert report["error"]["kind"] == "unauthorized", context(proc)
    assert report["error"]["fix"][0] == "mcp-keybridge auth set check-demo"
    assert report["credentials"] == [{"header": "authorization", "sources": ["keychain:check-demo"]}]

    assert auth(keyring, "set", "check-demo", stdin=test_token + "\n").returncode == 0
    proc = check()
    assert proc.returncode == 0, context(proc)
    assert json.loads(proc.stdout)["credentialsStatus"] == "accepted"
    for secret in (stale, test_token):
        assert secret not in proc.stdout + proc.stderr
