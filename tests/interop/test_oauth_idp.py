"""OAuth against a real OpenID provider: oidc-provider (npm, OpenID certified; idp/idp.mjs)
in front of an MCP resource server on the official Python SDK (idp_resource_server.py),
driven by the SDK's own stdio client through the bridge:

    SDK stdio client ──▶ mcp-keybridge ──(discovery, DCR, PKCE, tokens)──▶ oidc-provider
                                        └──(Bearer, introspected)────────▶ SDK resource server

The provider runs two ways (issue 20): "strict", as its documentation advises (the MCP scope
is a resource scope, refresh tokens only for offline_access with prompt=consent), and
"permissive". The "browser" follows the provider's redirects with a cookie jar, as a user
who signs in and consents at once. Tokens go to a private gnome-keyring.

Needs `npm ci` in tests/interop/idp (run.sh and .ci/run do it) and node on PATH.
"""

from __future__ import annotations

import base64
import html
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import anyio
import pytest

from helpers import BRIDGE_BIN, HERE, OP_TIMEOUT_SECONDS, bridge_session, free_port, port_open, read_text, tail
from test_keychain import keyring  # noqa: F401 - the fixture

pytestmark = pytest.mark.anyio

IDP_DIR = HERE / "idp"
# Must match idp.mjs.
RS_CLIENT = ("mcp-resource", "rs-secret-for-introspection")

BROWSER = """#!/bin/sh
# Follows the sign-in redirects (with cookies, as a browser) to the bridge's callback.
set -e
jar=$(mktemp)
url="$1"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  case "$url" in
    */callback\\?*) curl -sS -o /dev/null "$url"; rm -f "$jar"; exit 0 ;;
  esac
  url=$(curl -sS -b "$jar" -c "$jar" -o /dev/null -w '%{redirect_url}' "$url")
  [ -n "$url" ] || { rm -f "$jar"; exit 1; }
done
exit 1
"""


def wait_port(port: int, proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + 30
    while not port_open(port):
        assert proc.poll() is None, f"{what} exited:\n{read_text(log)}"
        assert time.monotonic() < deadline, f"{what} did not listen:\n{read_text(log)}"
        time.sleep(0.1)


class Idp:
    """oidc-provider and the SDK resource server in front of which it signs users in."""

    def __init__(self, tmp: Path, profile: str, access_ttl: int, extra: tuple[str, ...] = (),
                 rs_extra: tuple[str, ...] = ()) -> None:
        node = shutil.which(os.environ.get("IDP_NODE", "node"))
        if node is None or not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("node or tests/interop/idp/node_modules missing: run `npm ci` in tests/interop/idp", pytrace=False)
        self.idp_port, self.rs_port = free_port(), free_port()
        self.issuer = f"http://127.0.0.1:{self.idp_port}"
        self.url = f"http://127.0.0.1:{self.rs_port}/mcp"
        self.events = tmp / f"idp-{profile}-{self.idp_port}.events"
        self.events.touch()
        self.log = tmp / f"idp-{profile}-{self.idp_port}.log"
        with self.log.open("ab") as log:
            self.idp = subprocess.Popen(
                [node, str(IDP_DIR / "idp.mjs"), "--port", str(self.idp_port), "--resource", self.url,
                 "--events", str(self.events), "--profile", profile, "--access-ttl", str(access_ttl), *extra],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
            self.rs = subprocess.Popen(
                [sys.executable, str(HERE / "idp_resource_server.py"), "--port", str(self.rs_port),
                 "--issuer", self.issuer, *rs_extra],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        wait_port(self.idp_port, self.idp, self.log, "idp.mjs")
        wait_port(self.rs_port, self.rs, self.log, "idp_resource_server.py")

    def lines(self, name: str) -> list[str]:
        """The recorded events called `name`, without the name."""
        return [line.split(" ", 1)[1] for line in self.events.read_text().splitlines() if line.startswith(name + " ")]

    def active(self, token: str) -> bool:
        """RFC 7662 introspection, as the resource server does it: is the token active?"""
        return bool(self.introspect(token).get("active"))

    def introspect(self, token: str) -> dict:
        """RFC 7662 introspection, as the resource server does it."""
        basic = base64.b64encode(":".join(RS_CLIENT).encode()).decode()
        req = urllib.request.Request(
            self.issuer + "/token/introspection",
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={"Authorization": f"Basic {basic}"},
        )
        with urllib.request.urlopen(req, timeout=10) as reply:
            return json.load(reply)

    def stop(self) -> None:
        for proc in (self.rs, self.idp):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def browser(tmp_path: Path) -> str:
    path = tmp_path / "browser.sh"
    path.write_text(BROWSER)
    path.chmod(0o755)
    return str(path)


async def call_whoami(url: str, env: dict[str, str], errlog: Path) -> None:
    with anyio.fail_after(OP_TIMEOUT_SECONDS * 2):
        async with bridge_session([url], env, errlog) as session:
            await session.initialize()
            result = await session.call_tool("whoami", {})
            assert not result.is_error, f"{result!r}\nbridge stderr:\n{tail(read_text(errlog))}"
            assert result.content[0].text == "authorized"


def stored(keyring, url: str) -> dict:  # noqa: F811
    return json.loads(keyring.lookup(f"oauth:{url}"))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BRIDGE_BIN, *args], capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL)


def start(tmp_path: Path, profile: str, access_ttl: int = 3600, *extra: str) -> Idp:
    return Idp(tmp_path, profile, access_ttl, extra)


@pytest.mark.parametrize("profile", ["strict", "permissive"])
async def test_sign_in_once_and_stay_signed_in_across_expiries(profile, keyring, browser, tmp_path, errlog):  # noqa: F811
    # 3-second access tokens: every later start finds the token expired.
    idp = start(tmp_path, profile, access_ttl=3)
    try:
        env = keyring.bridge_env(BROWSER=browser, RUST_LOG="mcp_keybridge=info")
        await call_whoami(idp.url, env, errlog)
        log = read_text(errlog)
        if profile == "strict":
            # The registration with the resource scope is refused, then accepted without it.
            assert idp.lines("register") == ["error:invalid_client_metadata", "ok"], log
            assert idp.lines("authorize") == ["ok scope=mcp:tools offline_access prompt=consent"], log
        else:
            assert idp.lines("register") == ["ok"], log
            assert idp.lines("authorize") == ["ok scope=mcp:tools prompt="], log
        assert idp.lines("code") == ["ok refresh_token=true"], log
        first = stored(keyring, idp.url)["tokens"]
        assert first["access_token"] not in log and first["refresh_token"] not in log

        for _ in range(2):
            time.sleep(4)
            await call_whoami(idp.url, env, errlog)
        assert len(idp.lines("authorize")) == 1, read_text(errlog)
        assert [r for r in idp.lines("refresh") if r.startswith("ok")], idp.lines("refresh")
        assert stored(keyring, idp.url)["tokens"]["refresh_token"] != first["refresh_token"], "rotated"
        assert not idp.active(first["refresh_token"]), "the rotated-out refresh token is dead"
    finally:
        idp.stop()


@pytest.mark.parametrize("profile", ["strict", "permissive"])
async def test_logout_revokes_and_keeps_the_registration(profile, keyring, browser, tmp_path, errlog):  # noqa: F811
    idp = start(tmp_path, profile)
    try:
        env = keyring.bridge_env(BROWSER=browser, RUST_LOG="mcp_keybridge=info")
        await call_whoami(idp.url, env, errlog)
        tokens = stored(keyring, idp.url)["tokens"]
        assert idp.active(tokens["access_token"]) and idp.active(tokens["refresh_token"])

        out = cli(env, "logout", idp.url)
        assert out.returncode == 0, out.stderr
        assert "Revoked the refresh token and the access token" in out.stdout, out.stdout
        assert idp.lines("revoke") == ["ok", "ok"]
        assert not idp.active(tokens["access_token"]) and not idp.active(tokens["refresh_token"])
        assert stored(keyring, idp.url).get("tokens") is None

        # The next sign-in reuses the registration.
        registered = len(idp.lines("register"))
        await call_whoami(idp.url, env, errlog)
        assert len(idp.lines("register")) == registered, read_text(errlog)
        assert len(idp.lines("authorize")) == 2
    finally:
        idp.stop()


async def test_a_revoked_refresh_token_leads_to_one_new_sign_in(keyring, browser, tmp_path, errlog):  # noqa: F811
    idp = start(tmp_path, "strict", access_ttl=3)
    try:
        env = keyring.bridge_env(BROWSER=browser, RUST_LOG="mcp_keybridge=info")
        await call_whoami(idp.url, env, errlog)
        entry = stored(keyring, idp.url)
        client_id = entry["clients"][idp.issuer]["client_id"]
        # The user revokes the app at the provider.
        req = urllib.request.Request(
            idp.issuer + "/token/revocation",
            data=urllib.parse.urlencode(
                {"token": entry["tokens"]["refresh_token"], "client_id": client_id}).encode(),
        )
        urllib.request.urlopen(req, timeout=10).close()
        time.sleep(4)
        await call_whoami(idp.url, env, errlog)
        log = read_text(errlog)
        assert len(idp.lines("authorize")) == 2, log
        assert [r for r in idp.lines("refresh") if r.startswith("error")] == ["error:invalid_grant refresh_token=false"], idp.lines("refresh")
        assert "signing in again" in log or "refresh token was refused" in log, log
    finally:
        idp.stop()


async def test_two_instances_at_once_share_one_sign_in(keyring, browser, tmp_path):  # noqa: F811
    idp = start(tmp_path, "strict")
    try:
        env = keyring.bridge_env(BROWSER=browser, RUST_LOG="mcp_keybridge=info")
        async with anyio.create_task_group() as tg:
            for i in range(2):
                tg.start_soon(call_whoami, idp.url, env, tmp_path / f"bridge-{i}.log")
        assert len(idp.lines("authorize")) == 1
        assert idp.lines("register") == ["error:invalid_client_metadata", "ok"]
    finally:
        idp.stop()


async def initialize_error(args: list[str], env: dict[str, str], errlog: Path) -> str:
    """The bridge's error message for `initialize`."""
    with anyio.fail_after(OP_TIMEOUT_SECONDS * 2):
        with pytest.raises(Exception) as failed:  # noqa: PT011 - the SDK's MCPError
            async with bridge_session(args, env, errlog) as session:
                await session.initialize()
    return str(failed.value)


async def test_errors_name_the_cause_and_a_fix_that_works(keyring, browser, tmp_path, errlog):  # noqa: F811
    env = keyring.bridge_env(BROWSER=browser, RUST_LOG="mcp_keybridge=info")
    # No dynamic registration: the fix is a pre-registered client, and it works.
    idp = start(tmp_path, "strict", 3600, "--no-registration")
    try:
        message = await initialize_error([idp.url], env, errlog)
        assert "offers no dynamic client registration" in message and "--client-id" in message, message
        assert "login" not in message, f"login would fail the same way: {message}"
        await call_whoami_args([idp.url, "--client-id", "keybridge-preregistered"], env, errlog)
        # The next provider may get the same ports: leave nothing for it to find.
        out = cli(env, "logout", idp.url, "--forget-client")
        assert out.returncode == 0 and "Revoked" in out.stdout, out.stdout + out.stderr
    finally:
        idp.stop()
    # Tokens for another audience: the resource rejects a fresh token. One sign-in, and no
    # suggestion to retry what was already given.
    idp = start(tmp_path, "strict", 3600, "--audience", "https://elsewhere.example/mcp")
    try:
        message = await initialize_error([idp.url], env, errlog)
        assert "issued moments ago" in message and "--no-resource-param" in message, message
        assert "login" not in message, message
        message = await initialize_error([idp.url, "--no-resource-param"], env, errlog)
        assert "issued moments ago" in message, message
        assert "--no-resource-param" not in message, message
        # The second run refreshes the stored token, which is refused too: no new sign-in.
        assert len(idp.lines("authorize")) == 1, "never a loop of sign-ins"
    finally:
        idp.stop()


async def call_whoami_args(args: list[str], env: dict[str, str], errlog: Path) -> None:
    with anyio.fail_after(OP_TIMEOUT_SECONDS * 2):
        async with bridge_session(args, env, errlog) as session:
            await session.initialize()
            result = await session.call_tool("whoami", {})
            assert not result.is_error, f"{result!r}\nbridge stderr:\n{tail(read_text(errlog))}"


class DeviceLogin:
    """`mcp-keybridge login --device URL`, its stderr read as it comes (the user code and the
    URL are shown there, never on stdout)."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([BRIDGE_BIN, "login", "--device", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.stderr = ""

    def shown_url(self) -> str:
        """The verification URL, once the bridge has printed it (bounded)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            assert line or self.proc.poll() is None, f"login exited:\n{self.stderr}"
            self.stderr += line
            found = re.search(r"open this URL on any device[^\n]*\n\n\s+(\S+)", self.stderr)
            if found:
                return found.group(1)
        pytest.fail(f"no verification URL on stderr:\n{self.stderr}")

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=60)
        self.stderr += err
        return self.proc.returncode, out, self.stderr


def hidden_fields(page: str, form_id: str | None = None) -> tuple[str, dict[str, str]]:
    """The action and hidden inputs of the page's (first, or `form_id`) form."""
    start = page.rindex("<form", 0, page.index(f'id="{form_id}"')) if form_id else page.index("<form")
    form = page[start:page.index("</form>", start)]
    action = html.unescape(re.search(r'action="([^"]*)"', form).group(1))
    fields = {html.unescape(n): html.unescape(v)
              for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    return action, fields


def confirm_on_another_device(url: str, *, approve: bool = True) -> str:
    """What a person does on their phone: opens the verification URL, lets its page submit
    the code, and presses Continue (or Abort) on the provider's confirmation page; the
    provider's login and consent follow (the auto-approving interaction of idp.mjs). Returns
    the last page."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    # The link carries the code: the provider answers with a form that submits itself.
    page = opener.open(url, timeout=10).read().decode()
    action, fields = hidden_fields(page)
    page = opener.open(urllib.parse.urljoin(url, action), urllib.parse.urlencode(fields).encode(), timeout=10).read().decode()
    assert "Confirm Device" in page, page
    action, fields = hidden_fields(page, "op.deviceConfirmForm")
    if not approve:
        fields["abort"] = "yes"
    try:
        reply = opener.open(urllib.parse.urljoin(url, action), urllib.parse.urlencode(fields).encode(), timeout=10)
        return reply.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.read().decode()


async def test_device_sign_in_at_a_real_provider(keyring, tmp_path, errlog):  # noqa: F811
    idp = start(tmp_path, "strict")
    try:
        # No BROWSER and no display: nothing could open a browser here.
        env = keyring.bridge_env(RUST_LOG="mcp_keybridge=info")
        login = DeviceLogin(env, idp.url)
        url = login.shown_url()
        assert url.startswith(idp.issuer + "/device?user_code="), url
        # The person is slow: the bridge polls meanwhile and hears "authorization_pending".
        deadline = time.monotonic() + 30
        while "error:authorization_pending refresh_token=false" not in idp.lines("device"):
            assert time.monotonic() < deadline, idp.lines("device")
            time.sleep(0.2)
        assert "Sign-in Success" in confirm_on_another_device(url)
        code, out, err = login.finish()
        assert code == 0, err
        assert "Signed in to" in out and "user_code" not in out, out
        assert idp.lines("device_authorization") == [f"ok scope=mcp:tools offline_access resource={idp.url}"], err
        assert idp.lines("device")[-1] == "ok refresh_token=true", idp.lines("device")
        entry = stored(keyring, idp.url)
        tokens = entry["tokens"]
        assert tokens["access_token"] not in err and tokens["refresh_token"] not in err
        assert entry["clients"][idp.issuer]["device_grant"] is True
        # The bridge uses them, with no sign-in of any kind.
        await call_whoami(idp.url, env, errlog)
        assert len(idp.lines("device_authorization")) == 1 and idp.lines("authorize") == [], read_text(errlog)
    finally:
        idp.stop()


async def test_a_refused_device_code_says_what_to_run(keyring, tmp_path):  # noqa: F811
    idp = start(tmp_path, "permissive")
    try:
        env = keyring.bridge_env(RUST_LOG="mcp_keybridge=info")
        login = DeviceLogin(env, idp.url)
        confirm_on_another_device(login.shown_url(), approve=False)
        code, out, err = login.finish()
        assert code == 1, err
        assert "access_denied" in err and f"mcp-keybridge login --device {idp.url}" in err, err
        assert stored_or_none(keyring, idp.url) is None or stored(keyring, idp.url).get("tokens") is None
    finally:
        idp.stop()


def stored_or_none(keyring, url: str):  # noqa: F811
    text = keyring.lookup(f"oauth:{url}")
    return None if text is None else json.loads(text)


async def test_a_fixed_callback_port_at_a_real_provider(keyring, browser, tmp_path, errlog):  # noqa: F811
    idp = start(tmp_path, "strict")
    try:
        env = keyring.bridge_env(BROWSER=browser, RUST_LOG="mcp_keybridge=info")
        port = str(free_port())
        out = cli(env, "login", idp.url, "--callback-port", port)
        assert out.returncode == 0, out.stderr
        fixed = f"http://127.0.0.1:{port}/callback"
        assert stored(keyring, idp.url)["clients"][idp.issuer]["redirect_uri"] == fixed
        assert urllib.parse.quote(fixed, safe="") in out.stderr, out.stderr
        # Again on that port: the provider matches the registered URI, no new registration.
        registered = len(idp.lines("register"))
        out = cli(env, "logout", idp.url)
        assert out.returncode == 0, out.stderr
        await call_whoami_args([idp.url, "--callback-port", port], env, errlog)
        assert len(idp.lines("register")) == registered and len(idp.lines("authorize")) == 2, read_text(errlog)
    finally:
        idp.stop()
