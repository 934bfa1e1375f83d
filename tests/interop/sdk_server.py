#!/usr/bin/env python3
"""A real MCP server built on the official Python SDK (mcp 2.3.0), for interop tests.

The bridge under test talks to this over HTTP exactly as it would to a production server,
so the tests exercise the SDK's real transports, its real bearer-auth middleware and its
real 401 responses rather than a hand-written mock.

    python sdk_server.py --transport sse|streamable-http --port N [--token-file PATH] [--json-response]

Listens on 127.0.0.1 only. With --token-file, every request must carry
`Authorization: Bearer <token>` where <token> is the file's current content (whitespace
stripped). The file is read again on every verification so a test can rotate the token
while the server runs; an empty or missing file rejects every token. Without --token-file
there is no auth at all. A JWT's `sub` claim is the caller's subject, to which the SDK binds
each legacy SSE session.

Nothing is printed to stdout: readiness is signalled by the port accepting connections.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import sys
from pathlib import Path

import anyio
from pydantic import BaseModel
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer

SERVER_NAME = "keybridge-interop-server"
SERVER_VERSION = "0.0.1"
RESOURCE_URI = "test://greeting"
RESOURCE_TEXT = "hello from the interop server"
# Logged by `slow` as it starts; helpers.SLOW_STARTED must match.
SLOW_STARTED = "slow: started"


class FileTokenVerifier:
    """Accepts exactly the token currently stored in a file.

    Implements the SDK's `TokenVerifier` protocol (`async verify_token(token) -> AccessToken | None`).
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            expected = self._path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        # An empty file must not make an empty bearer valid.
        if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
            return None
        # A JWT's `sub` becomes the principal's subject, as a real verifier's would: the SDK
        # binds each legacy SSE session to it, so a token of another subject gets 404.
        return AccessToken(token=token, client_id="interop-client", scopes=[], subject=jwt_subject(token))


def jwt_subject(token: str) -> str | None:
    """The `sub` claim of a JWT-shaped token (unverified: the file is the whole policy)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else None


def build_server(transport: str, port: int, token_file: Path | None) -> MCPServer:
    endpoint = "/sse" if transport == "sse" else "/mcp"
    auth_kwargs = {}
    if token_file is not None:
        base = f"http://127.0.0.1:{port}"
        auth_kwargs = dict(
            token_verifier=FileTokenVerifier(token_file),
            auth=AuthSettings(
                issuer_url=base,
                resource_server_url=base + endpoint,
                # The verifier above is the whole policy; no audience binding to check.
                validate_token_resource=False,
            ),
        )

    mcp = MCPServer(SERVER_NAME, version=SERVER_VERSION, log_level="WARNING", **auth_kwargs)

    @mcp.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @mcp.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer: lets tests hold a request in flight. The log line tells a
        test the call has arrived (SdkServer.wait_log) instead of a guessed pause."""
        print(SLOW_STARTED, file=sys.stderr, flush=True)
        await anyio.sleep(seconds)
        return "done"

    # Unstructured: otherwise the SDK repeats the text in structuredContent, doubling the size.
    @mcp.tool(structured_output=False)
    def big(n: int) -> str:
        """A reply of n bytes, to push large messages through the relay."""
        return "x" * n

    @mcp.tool()
    async def progress(steps: int, ctx: Context) -> str:
        """Sends `steps` progress notifications before its result, so server-to-client
        notifications tied to a request must travel through the bridge."""
        for i in range(1, steps + 1):
            await ctx.report_progress(i, steps, f"step {i}")
        return f"finished {steps} steps"

    @mcp.tool()
    def get_header(name: str, ctx: Context) -> str:
        """The value of one HTTP request header as the server received it ("" if absent):
        proves that --header values reach the server after ${env:…} expansion."""
        headers = ctx.headers or {}
        for key, value in headers.items():
            if key.lower() == name.lower():
                return value
        return ""

    class Answer(BaseModel):
        answer: str

    @mcp.tool()
    async def ask(question: str, ctx: Context) -> str:
        """Asks the client a question (elicitation/create) mid-call: a server-to-client
        request whose response the bridge must carry back upstream."""
        result = await ctx.elicit(question, Answer)
        if result.action == "accept":
            return f"answer: {result.data.answer}"
        return f"no answer ({result.action})"

    @mcp.resource(RESOURCE_URI, name="greeting", mime_type="text/plain")
    def greeting() -> str:
        return RESOURCE_TEXT

    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["sse", "streamable-http"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-file", type=Path, default=None)
    parser.add_argument(
        "--json-response",
        action="store_true",
        help="streamable-http only: answer requests with application/json instead of an SSE stream",
    )
    args = parser.parse_args()

    mcp = build_server(args.transport, args.port, args.token_file)
    if args.transport == "sse":
        mcp.run("sse", host="127.0.0.1", port=args.port)
    else:
        mcp.run("streamable-http", host="127.0.0.1", port=args.port, json_response=args.json_response)


if __name__ == "__main__":
    main()
