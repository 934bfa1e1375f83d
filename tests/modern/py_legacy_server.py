#!/usr/bin/env python3
"""A STATEFUL (2025-era) MCP server on the official Python SDK (mcp 2.3.0), for the cross-era
pairs of tests/modern/run.sh (MODERN_PAIRS=1).

    python py_legacy_server.py [--port 0] [--dual-era] [--log FILE]

The SDK's `MCPServer` over Streamable HTTP serves both eras: a POST whose
`MCP-Protocol-Version` header is 2026-07-28 goes to its stateless entry. A 2025-era server
(mcp 1.x, or any server written before 2026-07-28) has no such entry. So by default a small
ASGI filter in front of the SDK app removes a non-handshake `MCP-Protocol-Version` header, and
the SDK's own LEGACY Streamable HTTP transport answers the request as a 2025-era server does
(a sessionless `server/discover` gets its 400 "Missing session ID"). Everything past that is
the SDK's real code: sessions, `initialize`, the GET stream, server→client requests.
`--dual-era` leaves the app as the SDK builds it (then 2026-07-28 requests are served
statelessly by the SDK itself).

Surface:
  tools   echo(text), progress(steps, pause) (one notifications/progress per step), ask(question)
          (ctx.elicit → elicitation/create), sample(prompt) (ctx.session.create_message →
          sampling/createMessage), add_tool(name) (registers a tool, then
          ctx.session.send_tool_list_changed() → notifications/tools/list_changed)
  resources  test://greeting
  prompts    greet(name)

The first stdout line is `LISTENING <port>`. GET /_debug/requests lists every HTTP request the
SDK app received (method, body's JSON-RPC method/id/kind, the headers that matter, the status
it answered); with --log each record is also appended to FILE as a JSON line. No auth.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from typing import Any

import anyio
import uvicorn
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import BaseModel
from starlette.responses import JSONResponse

import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer

SERVER_NAME = "keybridge-py-legacy-server"
SERVER_VERSION = "0.0.1"
RESOURCE_URI = "test://greeting"
RESOURCE_TEXT = "hello from the python legacy server"


def build_server() -> MCPServer:
    mcp = MCPServer(SERVER_NAME, version=SERVER_VERSION, log_level="WARNING")

    @mcp.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @mcp.tool()
    async def progress(steps: int, ctx: Context, pause: float = 0.05) -> str:
        """One notifications/progress per step, then the result; `pause` seconds after each.

        The pause keeps each message in its own read on the client's side: the TypeScript SDK
        (1.x and 2.x) runs notification handlers on a microtask but settles a response at once,
        so progress that arrives in the same chunk as the result is reported as "unknown token"
        and lost, whoever relays it."""
        for i in range(1, steps + 1):
            await ctx.report_progress(i, steps, f"step {i}")
            await anyio.sleep(pause)
        return f"finished {steps} steps"

    class Answer(BaseModel):
        answer: str

    @mcp.tool()
    async def ask(question: str, ctx: Context) -> str:
        """Asks the client (elicitation/create) mid-call."""
        result = await ctx.elicit(question, Answer)
        if result.action == "accept":
            return f"answer: {result.data.answer}"
        return f"no answer ({result.action})"

    @mcp.tool()
    async def sample(prompt: str, ctx: Context) -> str:
        """Asks the client's model (sampling/createMessage) mid-call."""
        result = await ctx.session.create_message(
            [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))],
            max_tokens=50,
        )
        content = result.content
        text = content.text if isinstance(content, types.TextContent) else repr(content)
        return f"model {result.model} said: {text}"

    @mcp.tool()
    async def add_tool(name: str, ctx: Context) -> str:
        """Registers a tool called `name`, then sends notifications/tools/list_changed."""

        def added() -> str:
            return f"I am {name}"

        mcp.add_tool(added, name=name, description=f"dynamically added tool {name}")
        await ctx.session.send_tool_list_changed()
        return f"added {name}"

    @mcp.resource(RESOURCE_URI, name="greeting", mime_type="text/plain")
    def greeting() -> str:
        return RESOURCE_TEXT

    @mcp.prompt()
    def greet(name: str) -> str:
        """Greets someone."""
        return f"Hello, {name}!"

    return mcp


class Recorder:
    """ASGI wrapper: records each request, serves /_debug/requests and (unless dual-era)
    removes a non-handshake MCP-Protocol-Version header so that the SDK's legacy transport
    answers every request."""

    def __init__(self, app: Any, *, legacy_only: bool, log: str | None) -> None:
        self.app = app
        self.legacy_only = legacy_only
        self.log = log
        self.records: list[dict[str, Any]] = []
        self.seq = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/_debug/requests":
            await JSONResponse(self.records)(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        self.seq += 1
        rec: dict[str, Any] = {
            "seq": self.seq,
            "t": time.time(),
            "httpMethod": scope["method"],
            "headers": {
                k: headers[k]
                for k in ("mcp-protocol-version", "mcp-session-id", "mcp-method", "mcp-name", "accept", "last-event-id")
                if k in headers
            },
            "body": summarize(body),
            "status": None,
        }
        self.records.append(rec)
        pv = headers.get("mcp-protocol-version")
        if self.legacy_only and pv is not None and pv not in HANDSHAKE_PROTOCOL_VERSIONS:
            rec["headerRemoved"] = pv
            scope = dict(scope)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"mcp-protocol-version"]

        async def send_recorded(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                rec["status"] = message["status"]
                ct = [v.decode("latin-1") for k, v in message.get("headers", []) if k.lower() == b"content-type"]
                rec["contentType"] = ct[0] if ct else None
                if self.log:
                    with open(self.log, "a", encoding="utf-8") as f:
                        f.write(json.dumps(rec) + "\n")
            await send(message)

        await self.app(scope, replay, send_recorded)


def summarize(body: bytes) -> Any:
    if not body:
        return None
    try:
        msg = json.loads(body)
    except ValueError:
        return {"unparsed": body[:200].decode("utf-8", "replace")}
    if isinstance(msg, list):
        return {"batch": [summarize(json.dumps(m).encode()) for m in msg]}
    if not isinstance(msg, dict):
        return {"other": str(msg)[:200]}
    out: dict[str, Any] = {"id": msg.get("id"), "method": msg.get("method")}
    if "method" in msg:
        out["kind"] = "request" if "id" in msg else "notification"
    else:
        out["kind"] = "response"
        res = msg.get("result")
        if isinstance(res, dict):
            out["resultKeys"] = sorted(res.keys())
        if "error" in msg:
            out["error"] = msg["error"]
    params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
    if "name" in params:
        out["name"] = params["name"]
    meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
    if "io.modelcontextprotocol/protocolVersion" in meta:
        out["metaProtocolVersion"] = meta["io.modelcontextprotocol/protocolVersion"]
    if msg.get("method") == "initialize":
        out["initialize"] = {
            "protocolVersion": params.get("protocolVersion"),
            "capabilities": params.get("capabilities"),
            "clientInfo": params.get("clientInfo"),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dual-era", action="store_true", help="serve 2026-07-28 too, as the SDK does")
    parser.add_argument("--log", default=None)
    args = parser.parse_args()

    mcp = build_server()
    app = mcp.streamable_http_app()
    wrapped = Recorder(app, legacy_only=not args.dual_era, log=args.log)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    # The Starlette app's lifespan (the session manager's task group) must run: uvicorn does it.
    config = uvicorn.Config(wrapped, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    print(f"LISTENING {port}", flush=True)
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
