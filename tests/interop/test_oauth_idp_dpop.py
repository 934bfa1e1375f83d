"""DPoP (RFC 9449) against a real authorization server: oidc-provider with its dPoP feature
(idp/idp.mjs --dpop, --dpop-nonce) issues DPoP-bound tokens, and the SDK resource server
accepts them only with valid proofs of the bound key (idp_dpop_gate.py, which checks each
proof independently of the bridge and reads the binding from the provider's introspection).
The bridge signs in, uses the token, and on the next start refreshes the DPoP-bound refresh
token with the same key from the keychain.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from helpers import read_text
from test_keychain import keyring  # noqa: F401 - the fixture
from test_oauth_idp import Idp, browser, call_whoami, stored  # noqa: F401 - browser is a fixture

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("nonce", [False, True], ids=["no-nonce", "nonce"])
async def test_dpop_bound_tokens_and_refresh_with_the_kept_key(nonce, keyring, browser, tmp_path: Path, errlog):  # noqa: F811
    events = tmp_path / "rs-dpop.events"
    nonce_flag = ("--dpop-nonce",) if nonce else ()
    # 3-second access tokens: the second start must refresh.
    idp = Idp(tmp_path, "permissive", 3, ("--dpop", *nonce_flag), ("--dpop", str(events), *nonce_flag))
    try:
        env = keyring.bridge_env(BROWSER=browser, RUST_LOG="mcp_keybridge=info")
        await call_whoami(idp.url, env, errlog)
        log = read_text(errlog)
        codes = idp.lines("code")
        if nonce:
            assert codes == ["error:use_dpop_nonce refresh_token=false", "ok refresh_token=true"], log
        else:
            assert codes == ["ok refresh_token=true"], log
        # 3-second tokens are refreshed ahead of each request (a minute's lead): all bound.
        assert set(idp.lines("token_type")) == {"DPoP"}, log
        verdicts = [line.split(" ", 1)[1] for line in events.read_text().splitlines()]
        assert verdicts and not [v for v in verdicts if v.startswith("error")], verdicts
        assert "ok POST" in verdicts, verdicts
        assert ("nonce-challenge" in verdicts) == nonce, verdicts

        entry = stored(keyring, idp.url)
        key, tokens = entry["dpop_key"], entry["tokens"]
        assert tokens["dpop"] is True
        assert idp.introspect(tokens["access_token"]).get("cnf", {}).get("jkt"), "bound by the provider"
        for secret in (key, tokens["access_token"], tokens["refresh_token"]):
            assert secret not in log

        time.sleep(4)
        await call_whoami(idp.url, env, errlog)
        log = read_text(errlog)
        assert len(idp.lines("authorize")) == 1, log
        assert [r for r in idp.lines("refresh") if r.startswith("ok")], idp.lines("refresh")
        assert set(idp.lines("token_type")) == {"DPoP"}, log
        assert not [r for r in idp.lines("refresh") if r.startswith("error") and "use_dpop_nonce" not in r]
        after = stored(keyring, idp.url)
        assert after["dpop_key"] == key, "the key is reused across runs"
        # oidc-provider does not rotate a sender-constrained refresh token (OAuth 2.1 §4.3.1
        # asks rotation only of unbound ones): it stays bound to the same key.
        jkt = idp.introspect(after["tokens"]["refresh_token"]).get("cnf", {}).get("jkt")
        assert jkt and jkt == idp.introspect(after["tokens"]["access_token"])["cnf"]["jkt"]
        assert key not in log
    finally:
        idp.stop()
