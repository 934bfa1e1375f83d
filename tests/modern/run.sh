#!/usr/bin/env bash
# The 2026-07-28 (stateless) revision with the official TypeScript SDK 2.x on both ends:
#   1. server.mjs (createMcpHandler, modern-only, bearer auth) on a free loopback port;
#   2. client.mjs --direct: the SDK's own Streamable HTTP client, the reference (must pass —
#      it proves the server and the checks are right);
#   3. client.mjs --via-bridge: the same client over stdio through mcp-keybridge.
#   MODERN_CROSS_ERA=1 adds 4. the 1.x SDK client (@modelcontextprotocol/sdk 1.32.2, what Claude
#      Desktop is built on, 2025 initialize handshake) through the bridge to the same server.
#
#   MCP_KEYBRIDGE_BIN=path/to/mcp-keybridge  tests/modern/run.sh
#   MODERN_OUT=dir   keep the server's request log, the bridge's stderr and the stdio trace there
#
# Needs `npm ci` in tests/modern and Node >= 20. A missing piece is a hard failure, never a skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${MCP_KEYBRIDGE_BIN:-$repo/target/debug/mcp-keybridge}"
timeout_ms="${MODERN_TIMEOUT_MS:-15000}"

die() { echo "modern: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found (Node >= 20 needed; on Debian: apt-get install nodejs npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || die "node $(node --version) is too old: the TypeScript SDK 2.x needs Node >= 20"
for pkg in client server node sdk; do
    [ -f "$here/node_modules/@modelcontextprotocol/$pkg/package.json" ] \
        || die "@modelcontextprotocol/$pkg is not installed: run (cd tests/modern && npm ci)"
done
[ -x "$bin" ] || die "bridge binary not found or not executable: $bin (cargo build first)"

tmp="$(mktemp -d)"
out="${MODERN_OUT:-$tmp}"
mkdir -p "$out"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

MODERN_TOKEN="$(node -e 'console.log(require("crypto").randomBytes(16).toString("hex"))')"
export MODERN_TOKEN
cd "$here"

: >"$out/server.jsonl"
node server.mjs --port 0 --log "$out/server.jsonl" >"$tmp/server.out" 2>"$out/server.stderr" &
server_pid=$!
port=""
for _ in $(seq 1 200); do
    port="$(sed -n 's/^LISTENING \([0-9][0-9]*\)$/\1/p' "$tmp/server.out")"
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.stderr" >&2; die "server.mjs exited"; }
    sleep 0.1
done
[ -n "$port" ] || die "server.mjs did not start within 20 s"
url="http://127.0.0.1:$port/mcp"

status=0
echo "==> modern: direct (SDK 2.x Streamable HTTP client → SDK 2.x server), the reference" >&2
if ! node client.mjs --direct "$url" --timeout "$timeout_ms"; then
    echo "modern: the DIRECT run failed: the server or the test is wrong, not the bridge" >&2
    status=1
fi

run_bridge() {
    local era="$1"
    echo "==> modern: via the bridge ($era client over stdio → $bin → SDK 2.x server)" >&2
    if ! node client.mjs --via-bridge "$bin" "$url" --era "$era" --timeout "$timeout_ms" \
        --bridge-log "$out/bridge-$era.log" --trace "$out/trace-$era.jsonl"; then
        echo "--- bridge stderr ($era client), last 40 lines; full log: $out/bridge-$era.log ---" >&2
        tail -n 40 "$out/bridge-$era.log" >&2 || true
        status=1
    fi
}
run_bridge modern
if [ "${MODERN_CROSS_ERA:-0}" = 1 ]; then run_bridge legacy; fi

if [ -z "${MODERN_OUT:-}" ] && [ "$status" != 0 ]; then
    echo "modern: set MODERN_OUT=dir to keep the server's request log and the stdio trace" >&2
fi
[ "$status" = 0 ] && echo "modern: all passed" >&2
exit "$status"
