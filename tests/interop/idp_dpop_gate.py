"""DPoP (RFC 9449) in front of the SDK resource server (idp_resource_server.py --dpop): an
ASGI middleware that accepts a token only under the `DPoP` scheme with a valid proof of the
key the token is bound to, checked on its own (PyJWT and hashlib, nothing from the bridge):
`typ` dpop+jwt, ES256 signature with the header's public `jwk`, `htm`/`htu` of this request,
`iat` within a minute, a `jti` never seen, `ath` of the token, and the key's RFC 7638
thumbprint against the `cnf.jkt` the provider's introspection reports. With a nonce
required, a proof without this server's nonce gets 401 `use_dpop_nonce` (RFC 9449 §9).
Each verdict is appended to the events file as "rs_dpop ok METHOD" or "rs_dpop error:WHY".
The accepted request goes on to the SDK as a Bearer one (the SDK knows only that scheme).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable

import anyio
import jwt

Scope = dict
App = Callable[[Scope, Callable, Callable], Awaitable[None]]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict) -> str:
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    return b64url(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest())


class DpopGate:
    """The middleware; `introspect(token)` returns the provider's RFC 7662 answer."""

    def __init__(self, app: App, resource: str, introspect: Callable[[str], dict], events: str,
                 require_nonce: bool) -> None:
        self.app, self.resource, self.introspect, self.events = app, resource, introspect, events
        self.nonce = secrets.token_urlsafe(16) if require_nonce else None
        self.jtis: set[str] = set()

    def record(self, line: str) -> None:
        with open(self.events, "a") as f:
            f.write(f"rs_dpop {line}\n")

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = [(k.decode().lower(), v.decode()) for k, v in scope["headers"]]
        auth = next((v for k, v in headers if k == "authorization"), "")
        scheme, _, token = auth.partition(" ")
        if not auth:
            # The SDK's own 401 challenge starts discovery.
            return await self.app(scope, receive, send)
        proofs = [v for k, v in headers if k == "dpop"]
        if scheme.lower() != "dpop":
            return await self.refuse(send, "invalid_token", f"scheme {scheme}, not DPoP")
        if len(proofs) != 1:
            return await self.refuse(send, "invalid_dpop_proof", f"{len(proofs)} DPoP headers")
        info = await anyio.to_thread.run_sync(self.introspect, token)
        why, claims = self.check(proofs[0], scope["method"], token, info)
        if why:
            return await self.refuse(send, "invalid_dpop_proof", why)
        if self.nonce is not None and claims.get("nonce") != self.nonce:
            self.record("nonce-challenge")
            return await self.refuse(send, "use_dpop_nonce", None)
        self.record(f"ok {scope['method']}")
        rewritten = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"authorization", b"dpop")]
        rewritten.append((b"authorization", f"Bearer {token}".encode()))
        await self.app({**scope, "headers": rewritten}, receive, send)

    def check(self, proof: str, method: str, token: str, info: dict) -> tuple[str | None, dict]:
        try:
            header = jwt.get_unverified_header(proof)
            if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
                return f"typ/alg {header.get('typ')}/{header.get('alg')}", {}
            jwk = header.get("jwk") or {}
            if "d" in jwk:
                return "private key in the jwk", {}
            key = jwt.PyJWK(jwk, algorithm="ES256").key
            claims = jwt.decode(proof, key=key, algorithms=["ES256"], options={"verify_aud": False})
        except jwt.PyJWTError as e:
            return f"proof does not verify: {e}", {}
        if claims.get("htm") != method or claims.get("htu") != self.resource:
            return f"htm/htu {claims.get('htm')} {claims.get('htu')}", {}
        if abs(time.time() - claims.get("iat", 0)) > 60:
            return "iat off by more than a minute", {}
        jti = claims.get("jti")
        if not jti or jti in self.jtis:
            return "jti missing or replayed", {}
        self.jtis.add(jti)
        if claims.get("ath") != b64url(hashlib.sha256(token.encode()).digest()):
            return "ath does not match the token", {}
        if not info.get("active") or (info.get("cnf") or {}).get("jkt") != thumbprint(jwk):
            return "the token is not bound to the proof's key (cnf.jkt)", {}
        return None, claims

    async def refuse(self, send: Callable, error: str, why: str | None) -> None:
        if why:
            self.record(f"error:{why}")
        challenge = f'DPoP error="{error}", algs="ES256"'
        headers = [(b"www-authenticate", challenge.encode()), (b"content-type", b"application/json")]
        if self.nonce is not None:
            headers.append((b"dpop-nonce", self.nonce.encode()))
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps({"error": error}).encode()})
