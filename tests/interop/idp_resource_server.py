#!/usr/bin/env python3
"""An MCP resource server on the official Python SDK (mcp 2.3.0) that trusts an external
OpenID provider (idp/idp.mjs): the SDK serves the protected-resource metadata naming that
provider and the 401 challenges; tokens are checked by RFC 7662 introspection at the
provider, as a resource server of a real IdP does with opaque tokens, and must be active,
for this resource (`aud`) and carry the mcp:tools scope.

    python idp_resource_server.py --port N --issuer URL [--dpop EVENTS [--dpop-nonce]]

With --dpop, tokens must be DPoP-bound and come with valid proofs (idp_dpop_gate.py, which
appends its verdicts to EVENTS); --dpop-nonce also requires this server's nonce.

Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
import urllib.parse
import urllib.request

import anyio
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer

SCOPE = "mcp:tools"
# Must match idp.mjs.
RS_CLIENT = ("mcp-resource", "rs-secret-for-introspection")


class IntrospectionVerifier:
    """The SDK's TokenVerifier protocol, by introspection at the provider."""

    def __init__(self, issuer: str, resource: str) -> None:
        self.endpoint = issuer + "/token/introspection"
        self.resource = resource

    def _introspect(self, token: str) -> dict:
        basic = base64.b64encode(":".join(RS_CLIENT).encode()).decode()
        request = urllib.request.Request(
            self.endpoint,
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return json.load(reply)
        except OSError:
            return {}

    async def verify_token(self, token: str) -> AccessToken | None:
        info = await anyio.to_thread.run_sync(self._introspect, token)
        if not info.get("active"):
            return None
        aud = info.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if self.resource not in audiences:
            return None
        return AccessToken(
            token=token,
            client_id=info.get("client_id", ""),
            scopes=info.get("scope", "").split(),
            expires_at=info.get("exp") or int(time.time()) + 60,
            resource=self.resource,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--dpop", metavar="EVENTS")
    parser.add_argument("--dpop-nonce", action="store_true")
    args = parser.parse_args()

    resource = f"http://127.0.0.1:{args.port}/mcp"
    verifier = IntrospectionVerifier(args.issuer, resource)
    mcp = MCPServer(
        "keybridge-idp-interop",
        log_level="WARNING",
        token_verifier=verifier,
        auth=AuthSettings(
            issuer_url=args.issuer,
            resource_server_url=resource,
            validate_token_resource=True,
            required_scopes=[SCOPE],
        ),
    )

    @mcp.tool()
    def whoami(ctx: Context) -> str:
        """Says that the call was authorized (the SDK rejects it otherwise)."""
        return "authorized"

    if not args.dpop:
        mcp.run("streamable-http", host="127.0.0.1", port=args.port)
        return
    import uvicorn

    from idp_dpop_gate import DpopGate

    app = DpopGate(mcp.streamable_http_app(), resource, verifier._introspect, args.dpop, args.dpop_nonce)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
