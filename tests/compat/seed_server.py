#!/usr/bin/env python3
"""A seed-style MCP server: answers the way mcp-jira-confluence-sse (the seed) does, for the
TypeScript SDK compatibility test.

    python seed_server.py --port N

What makes it "seed-style" (the quirks of the Jira/Confluence server this product was
designed from, whose `sse_server.py` is not part of this repository):
- `POST /mcp` (also `/sse` and `/`) answers every message synchronously with one
  `application/json` body, HTTP 200, no session id, protocol 2024-11-05; only initialize,
  tools/list, tools/call and resources/list exist, everything else is -32601.
- It replies to notifications: `{"jsonrpc":"2.0","id":null,"result":{}}` for
  `notifications/initialized`, a -32601 error with `"id": null` for any other.
- Absent optional fields are written as `null`, as pydantic's `model_dump()` without
  `exclude_none` writes them: `capabilities.logging: null`, `prompts: null`, a tool without a
  docstring has `description: null`, tools and content blocks carry `annotations: null`,
  resources `description: null`.
- `GET /sse` never sends an `endpoint` event and double-wraps its data; it never ends.
- Never 401. Like the seed, `X-Jira-Token` wins, else a Bearer token fills in; the tool
  `auth_source` says which header the token came from (never the token).

Listens on 127.0.0.1 only; nothing goes to stdout: readiness is the port accepting connections.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

PROTOCOL_VERSION = "2024-11-05"

# What mcp 1.x's `ServerCapabilities.model_dump()` gives the seed: no prompts, no logging.
CAPABILITIES = {
    "experimental": {},
    "logging": None,
    "prompts": None,
    "resources": {"subscribe": False, "listChanged": False},
    "tools": {"listChanged": False},
    "completions": None,
}

TOOLS = [
    {
        "name": "echo",
        "title": None,
        "description": "Return the text unchanged.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
        "outputSchema": None,
        "annotations": None,
        "_meta": None,
    },
    {
        "name": "add",
        "title": None,
        "description": None,
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
        "outputSchema": None,
        "annotations": None,
        "_meta": None,
    },
    {
        "name": "auth_source",
        "title": None,
        "description": "Which header carried the token: x-jira-token, bearer or none.",
        "inputSchema": {"type": "object", "properties": {}},
        "outputSchema": None,
        "annotations": None,
        "_meta": None,
    },
]

RESOURCES = [
    {
        "uri": "jira://issues",
        "name": "Jira issues",
        "description": None,
        "mimeType": "application/json",
    }
]


def text(value: str) -> dict:
    return {"content": [{"type": "text", "text": value, "annotations": None, "_meta": None}]}


def error(msg_id, code: int, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


def auth_source(request: Request) -> str:
    if request.headers.get("x-jira-token"):
        return "x-jira-token"
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer ") and auth[7:]:
        return "bearer"
    return "none"


def call_tool(params: dict, request: Request) -> dict:
    name = params.get("name")
    args = params.get("arguments") or {}
    if name == "echo":
        return text(str(args.get("text", "")))
    if name == "add":
        return text(str(int(args["a"]) + int(args["b"])))
    if name == "auth_source":
        return text(auth_source(request))
    raise ValueError(f"unknown tool {name!r}")


async def post(request: Request) -> Response:
    try:
        msg = await request.json()
    except ValueError:
        return JSONResponse(error(None, -32700, "Parse error"))
    method = msg.get("method")
    if "id" not in msg:
        if method == "notifications/initialized":
            return JSONResponse({"jsonrpc": "2.0", "id": None, "result": {}})
        return JSONResponse(error(None, -32601, "Method not found"))
    msg_id = msg["id"]
    params = msg.get("params") or {}
    if method == "initialize":
        result = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": CAPABILITIES,
            "serverInfo": {"name": "mcp-jira-confluence", "version": "0.3.0"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "resources/list":
        result = {"resources": RESOURCES}
    elif method == "tools/call":
        try:
            result = call_tool(params, request)
        except (ValueError, KeyError, TypeError) as e:
            return JSONResponse(error(msg_id, -32603, f"Tool execution failed: {e}"))
    else:
        return JSONResponse(error(msg_id, -32601, "Method not found"))
    return JSONResponse({"jsonrpc": "2.0", "id": msg_id, "result": result})


async def broken_sse(request: Request) -> Response:
    async def events():
        yield 'data: data: {"jsonrpc":"2.0","method":"connection/ready"}\n\n'
        while True:
            await asyncio.sleep(3600)
            yield ": still here\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Starlette(
        routes=[
            Route("/mcp", post, methods=["POST"]),
            Route("/", post, methods=["POST"]),
            Route("/sse", post, methods=["POST"]),
            Route("/sse", broken_sse, methods=["GET"]),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
