#!/usr/bin/env bash
# The 2026-07-28 (stateless) revision with the official TypeScript SDK 2.x on both ends:
#   1. server.mjs (createMcpHandler, modern-only, bearer auth) on a free loopback port;
#   2. client.mjs --direct: the SDK's own Streamable HTTP client, the reference (must pass —
#      it proves the server and the checks are right);
#   3. client.mjs --via-bridge: the same client over stdio through mcp-keybridge.
#   MODERN_CROSS_ERA=1 adds 4. the 1.x SDK client (@modelcontextprotocol/sdk 1.32.2, what Claude
#      Desktop is built on, 2025 initialize handshake) through the bridge to the same server.
#   MODERN_PAIRS=1 adds the cross-era REAL pairs (each through the bridge, with its reference run
#      where one exists; see README.md):
#      5. pairs.mjs: the 2.x client PINNED to 2026-07-28 → py_legacy_server.py (official Python SDK
#         2.3.0, stateful only): reference = the same client in its 2025 mode, direct over HTTP;
#      6. pairs.mjs: the pinned 2.x client → tests/compat/seed_server.py (seed-like; no reference:
#         its quirks break a direct SDK client, which is why the bridge exists);
#      7. py_client.py: the Python SDK 2.3.0 client (auto negotiation) over stdio → server.mjs and
#         → py_legacy_server.py; references = the same client direct over HTTP.
#      Needs the Python venv with mcp 2.3.0 (MODERN_PYTHON, default $repo/.venv/bin/python).
#      The stateful server's tools/list_changed for the stateless client is reported as INFO
#      (not translated by the bridge yet), never a failure.
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

pairs="${MODERN_PAIRS:-0}"
py="${MODERN_PYTHON:-$repo/.venv/bin/python}"
if [ "$pairs" = 1 ]; then
    [ -x "$py" ] || die "MODERN_PAIRS=1 needs Python with mcp 2.3.0: $py not found (python3 -m venv .venv && .venv/bin/pip install -r tests/interop/requirements.txt)"
    "$py" -c 'import importlib.metadata as m, sys; v = m.version("mcp"); sys.exit(0 if v.startswith("2.") else f"mcp {v} installed, the pairs need 2.x (2.3.0)")' \
        || die "MODERN_PAIRS=1: $py has no usable mcp 2.x"
    "$py" -c 'import uvicorn, starlette' || die "MODERN_PAIRS=1: $py lacks uvicorn/starlette (they come with mcp)"
fi

tmp="$(mktemp -d)"
out="${MODERN_OUT:-$tmp}"
mkdir -p "$out"
server_pid=""
extra_pids=()
cleanup() {
    for pid in "$server_pid" ${extra_pids[@]+"${extra_pids[@]}"}; do
        if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    done
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

# ---- MODERN_PAIRS=1: cross-era real pairs ----------------------------------------------------
# Every run is bounded twice: per operation inside the client, and as a whole here.
run_bound=$(( timeout_ms * 14 / 1000 + 30 ))
pair() {
    local what="$1"; shift
    echo "==> modern pairs: $what" >&2
    if ! timeout --kill-after=5 "$run_bound" "$@"; then
        echo "modern pairs: FAILED: $what" >&2
        status=1
    fi
}
if [ "$pairs" = 1 ]; then
    : >"$out/py-legacy.jsonl"
    "$py" py_legacy_server.py --port 0 --log "$out/py-legacy.jsonl" >"$tmp/py-legacy.out" 2>"$out/py-legacy.stderr" &
    extra_pids+=($!)
    py_pid=$!
    py_port=""
    for _ in $(seq 1 200); do
        py_port="$(sed -n 's/^LISTENING \([0-9][0-9]*\)$/\1/p' "$tmp/py-legacy.out")"
        [ -n "$py_port" ] && break
        kill -0 "$py_pid" 2>/dev/null || { cat "$out/py-legacy.stderr" >&2; die "py_legacy_server.py exited"; }
        sleep 0.1
    done
    [ -n "$py_port" ] || die "py_legacy_server.py did not start within 20 s"
    py_url="http://127.0.0.1:$py_port/mcp"

    seed_port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$py" "$repo/tests/compat/seed_server.py" --port "$seed_port" >"$out/seed.stderr" 2>&1 &
    extra_pids+=($!)
    seed_pid=$!
    seed_up=0
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$seed_port") 2>/dev/null; then seed_up=1; break; fi
        kill -0 "$seed_pid" 2>/dev/null || { cat "$out/seed.stderr" >&2; die "seed_server.py exited"; }
        sleep 0.1
    done
    [ "$seed_up" = 1 ] || die "seed_server.py did not listen within 20 s"
    seed_url="http://127.0.0.1:$seed_port/mcp"

    pair "reference: TS 2.x client (2025 handshake) → Python SDK legacy server, direct" \
        node pairs.mjs --target py-legacy --direct "$py_url" --timeout "$timeout_ms" --trace "$out/trace-pairs-py-direct.jsonl"
    pair "TS 2.x client pinned 2026-07-28 → bridge → Python SDK legacy server" \
        node pairs.mjs --target py-legacy --via-bridge "$bin" "$py_url" --timeout "$timeout_ms" \
            --bridge-log "$out/bridge-pairs-py.log" --trace "$out/trace-pairs-py.jsonl"
    pair "TS 2.x client pinned 2026-07-28 → bridge → seed-like server" \
        node pairs.mjs --target seed --via-bridge "$bin" "$seed_url" --timeout "$timeout_ms" \
            --bridge-log "$out/bridge-pairs-seed.log" --trace "$out/trace-pairs-seed.jsonl"
    py_timeout=$(( timeout_ms / 1000 ))
    pair "reference: Python SDK 2.x client → SDK 2.x modern server, direct" \
        "$py" py_client.py --target modern --direct "$url" --timeout "$py_timeout"
    pair "Python SDK 2.x client → bridge → SDK 2.x modern server" \
        "$py" py_client.py --target modern --via-bridge "$bin" "$url" --timeout "$py_timeout" --bridge-log "$out/bridge-pairs-pyclient-modern.log"
    pair "reference: Python SDK 2.x client → Python SDK legacy server, direct" \
        "$py" py_client.py --target py-legacy --direct "$py_url" --timeout "$py_timeout"
    pair "Python SDK 2.x client → bridge → Python SDK legacy server" \
        "$py" py_client.py --target py-legacy --via-bridge "$bin" "$py_url" --timeout "$py_timeout" --bridge-log "$out/bridge-pairs-pyclient-legacy.log"
fi

if [ -z "${MODERN_OUT:-}" ] && [ "$status" != 0 ]; then
    echo "modern: set MODERN_OUT=dir to keep the server's request log and the stdio trace" >&2
fi
[ "$status" = 0 ] && echo "modern: all passed" >&2
exit "$status"
