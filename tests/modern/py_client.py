#!/usr/bin/env python3
"""Cross-era REAL pairs, Python side: the official Python SDK 2.x client (mcp 2.3.0,
`mcp.Client`, mode "auto": it probes server/discover and falls back to initialize) against

  --target modern     tests/modern/server.mjs (TypeScript SDK 2.x, 2026-07-28 only, bearer auth)
  --target py-legacy  tests/modern/py_legacy_server.py (Python SDK 2.3.0, stateful only)

    python py_client.py --target T --via-bridge BIN URL [--bridge-log FILE] [--timeout S]
    python py_client.py --target T --direct URL                 the reference, over Streamable HTTP

Through the bridge the client spawns BIN URL over stdio (with --bearer env:MODERN_TOKEN for
`modern`); the bridge then holds a session for it on the stateful server. Environment:
MODERN_TOKEN (required for --target modern).

One line per operation: `ok   name  detail` or `FAIL name  reason`. Exit 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

MODERN = "2026-07-28"

# What each server offers, and what its elicitation tool wants.
TARGETS: dict[str, dict[str, Any]] = {
    "modern": {
        "server": "modern-test-server",
        "tools": ["echo", "count", "lookup", "confirm"],
        "resource": ("info://about", "modern-test-server: 2026-07-28 only"),
        "prompt": ("greet", {"name": "Ada"}, "Hello, Ada!"),
        "elicit": ("confirm", {"action": "deploy"}, "Really deploy?", {"confirm": True, "note": "via test"},
                   "confirmed deploy; note=via test; state echoed"),
        "progress": ("count", {"to": 3}, "counted to 3 (progressToken present)"),
    },
    "py-legacy": {
        "server": "keybridge-py-legacy-server",
        "tools": ["echo", "progress", "ask", "sample", "add_tool"],
        "resource": ("test://greeting", "hello from the python legacy server"),
        "prompt": ("greet", {"name": "Ada"}, "Hello, Ada!"),
        "elicit": ("ask", {"question": "Favourite colour?"}, "Favourite colour?", {"answer": "blue"}, "answer: blue"),
        "progress": ("progress", {"steps": 3}, "finished 3 steps"),
    },
}


def text_of(result: Any) -> str | None:
    for block in getattr(result, "content", None) or []:
        if isinstance(block, types.TextContent):
            return block.text
    return None


async def run(args: argparse.Namespace) -> int:
    target = TARGETS[args.target]
    token = os.environ.get("MODERN_TOKEN", "")
    if args.target == "modern" and not token:
        print("py_client.py: MODERN_TOKEN must be set for --target modern", file=sys.stderr)
        return 2
    results: list[tuple[str, bool, str]] = []

    def report(name: str, ok: bool, detail: str) -> None:
        results.append((name, ok, detail))
        print(f"{'ok  ' if ok else 'FAIL'} {name:<44} {detail}", flush=True)

    elicited: list[types.ElicitRequestParams] = []

    async def on_elicit(_ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        elicited.append(params)
        return types.ElicitResult(action="accept", content=target["elicit"][3])

    errlog = None
    if args.via_bridge:
        bridge_args = [args.url, "--log-level", "debug"]
        if args.target == "modern":
            bridge_args += ["--bearer", "env:MODERN_TOKEN"]
        env = {**os.environ, "NO_COLOR": "1"}
        params = StdioServerParameters(command=args.via_bridge, args=bridge_args, env=env)
        errlog = open(args.bridge_log, "a", encoding="utf-8") if args.bridge_log else open(os.devnull, "w")
        transport: Any = stdio_client(params, errlog=errlog)
        label = f"via-bridge (Python SDK 2.x client, auto → {args.target})"
    else:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        transport = streamable_http_client(args.url, http_client=create_mcp_http_client(headers=headers))
        label = f"direct (Python SDK 2.x client, auto → {args.target})"

    client = Client(
        transport,
        mode="auto",
        client_info=types.Implementation(name="keybridge-py-pairs-test", version="0.0.0"),
        elicitation_callback=on_elicit,
        read_timeout_seconds=args.timeout,
    )

    async def op(name: str, fn: Any) -> None:
        try:
            with anyio.fail_after(args.timeout + 2):
                detail = await fn()
            report(name, True, detail)
        except Exception as e:  # noqa: BLE001 - every failure is a line of the report
            report(name, False, f"{type(e).__name__}: {e}".replace("\n", " ")[:600])

    connected = False
    try:
        # One bound for the whole session (each operation has its own, inside it): the scope
        # must enclose the client's context, whose task group lives until the end.
        with anyio.fail_after(args.timeout * 12):
            async with client:
                connected = True
                version = client.protocol_version
                info = client.server_info
                want_version = MODERN if (args.via_bridge or args.target == "modern") else None

                async def connect() -> str:
                    assert info is not None and info.name == target["server"], f"server info {info}"
                    if want_version:
                        assert version == want_version, f"negotiated {version}, expected {want_version}"
                    return f"protocol {version}, server {info.name} {info.version}"

                await op("connect", connect)

                async def list_tools() -> str:
                    names = [t.name for t in (await client.list_tools(cache_mode="refresh")).tools]
                    missing = [n for n in target["tools"] if n not in names]
                    assert not missing, f"missing {missing} in {names}"
                    return f"{len(names)} tools"

                await op("tools/list", list_tools)

                async def call_echo() -> str:
                    msg = 'héllo 👋 "quoted"\nline2'
                    r = await client.call_tool("echo", {"text": msg})
                    assert not r.is_error, f"isError: {r}"
                    assert text_of(r) == msg, f"got {text_of(r)!r}"
                    return "text round-tripped"

                await op("tools/call echo", call_echo)

                async def progress() -> str:
                    seen: list[float] = []

                    async def on_progress(p: float, total: float | None, message: str | None) -> None:
                        seen.append(p)

                    name, arguments, want = target["progress"]
                    r = await client.call_tool(name, arguments, progress_callback=on_progress)
                    assert text_of(r) == want, f"got {text_of(r)!r}"
                    assert seen == [1, 2, 3], f"progress seen: {seen}"
                    return "3 progress notifications, in order"

                await op("progress", progress)

                async def elicit() -> str:
                    name, arguments, message, _content, want = target["elicit"]
                    before = len(elicited)
                    r = await client.call_tool(name, arguments)
                    assert text_of(r) == want, f"got {text_of(r)!r}"
                    asked = elicited[before:]
                    assert len(asked) == 1, f"elicitation callback ran {len(asked)} times"
                    assert asked[0].message == message, f"message {asked[0].message!r}"
                    return "callback answered once; the tool got the answer"

                await op("elicitation round trip", elicit)

                async def list_resources() -> str:
                    uris = [str(r.uri) for r in (await client.list_resources(cache_mode="refresh")).resources]
                    assert target["resource"][0] in uris, f"no {target['resource'][0]} in {uris}"
                    return f"{len(uris)} resource(s)"

                await op("resources/list", list_resources)

                async def read_resource() -> str:
                    uri, want = target["resource"]
                    r = await client.read_resource(uri, cache_mode="refresh")
                    got = getattr(r.contents[0], "text", None)
                    assert got == want, f"got {got!r}"
                    return f"{uri} read"

                await op("resources/read", read_resource)

                async def list_prompts() -> str:
                    prompts = (await client.list_prompts(cache_mode="refresh")).prompts
                    greet = next((p for p in prompts if p.name == target["prompt"][0]), None)
                    assert greet is not None, f"no {target['prompt'][0]} in {[p.name for p in prompts]}"
                    assert [a.name for a in greet.arguments or []] == ["name"], f"arguments {greet.arguments}"
                    return f"{len(prompts)} prompt(s)"

                await op("prompts/list", list_prompts)

                async def get_prompt() -> str:
                    name, arguments, want = target["prompt"]
                    r = await client.get_prompt(name, arguments)
                    content = r.messages[0].content
                    got = content.text if isinstance(content, types.TextContent) else repr(content)
                    assert got == want, f"got {got!r}"
                    return want

                await op("prompts/get", get_prompt)
    except Exception as e:  # noqa: BLE001 - every failure is a line of the report
        detail = "".join(traceback.format_exception_only(type(e), e)).strip().replace("\n", " ")[:600]
        report("connect" if not connected else "session", False, detail)
    finally:
        if errlog:
            errlog.close()

    failed = [r for r in results if not r[1]]
    print(f"{label}: {len(results) - len(failed)}/{len(results)} ok", flush=True)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), required=True)
    parser.add_argument("--via-bridge", metavar="BIN", default=None)
    parser.add_argument("--direct", action="store_true")
    parser.add_argument("url")
    parser.add_argument("--bridge-log", default=None)
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()
    if bool(args.via_bridge) == args.direct:
        parser.error("give exactly one of --via-bridge BIN or --direct")
    sys.exit(anyio.run(run, args))


if __name__ == "__main__":
    main()
