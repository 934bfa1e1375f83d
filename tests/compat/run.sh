#!/usr/bin/env bash
# The official TypeScript SDK client (what Claude Desktop is built on) against mcp-keybridge:
#   1. schema-check.mjs: every compatibility rule holds against the SDK's own schemas;
#   2. the seed-style server (seed_server.py): works through the bridge, and fails with
#      --strict (proof that the test can fail and that the fixes are what makes it pass);
#   3. the official Python SDK server (tests/interop/sdk_server.py) on Streamable HTTP and on
#      legacy HTTP+SSE, with bearer auth;
#   4. recovery.mjs: a TypeScript SDK server on the session example pattern (session_server.mjs)
#      restarted under an open session, and a start-up credential error that the SDK client
#      sees as an initialize error, then recovers from without a bridge restart.
#
#   MCP_KEYBRIDGE_BIN=path/to/mcp-keybridge  VENV=path/to/venv  tests/compat/run.sh
#
# Needs `npm ci` done in tests/compat (.ci/run does it) and the interop venv (mcp, which
# brings starlette and uvicorn). A missing piece is a hard failure, never a skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${VENV:-$repo/.venv}"
bin="${MCP_KEYBRIDGE_BIN:-$repo/target/debug/mcp-keybridge}"
python="$venv/bin/python"

die() { echo "compat: $*" >&2; exit 1; }

[ -x "$bin" ] || die "bridge binary not found or not executable: $bin (build it first)"
command -v node >/dev/null || die "node not found (on Debian: apt-get install nodejs npm)"
[ -f "$here/node_modules/@modelcontextprotocol/sdk/package.json" ] \
    || die "the TypeScript SDK is not installed: run (cd tests/compat && npm ci)"
[ -x "$python" ] || die "no venv at $venv (see tests/interop/run.sh)"
"$python" -c 'import mcp, starlette, uvicorn' 2>/dev/null \
    || die "the venv lacks mcp/starlette/uvicorn: $python -m pip install -r tests/interop/requirements.txt"

tmp="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Servers print nothing: they are ready when the port accepts connections.
wait_port() {
    "$python" - "$1" <<'EOF' || die "server on port $1 did not start within 20 s"
import socket, sys, time
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}
start_server() {
    local port="$1"
    shift
    PYTHONDONTWRITEBYTECODE=1 "$python" "$@" --port "$port" &
    pids+=($!)
    wait_port "$port"
}

"$python" -c 'import secrets; print(secrets.token_hex(16))' >"$tmp/token"
bearer=(--bearer "file:$tmp/token")
cd "$here"

echo "==> compat: the fixes against the SDK's schemas" >&2
node schema-check.mjs

echo "==> compat: seed-style server" >&2
port="$(free_port)"
start_server "$port" seed_server.py
node client.mjs seed "$bin" "http://127.0.0.1:$port/mcp" "${bearer[@]}"
node client.mjs seed-strict "$bin" "http://127.0.0.1:$port/mcp" "${bearer[@]}" --strict

for transport in streamable-http sse; do
    echo "==> compat: official Python SDK server, $transport, bearer auth" >&2
    port="$(free_port)"
    start_server "$port" "$repo/tests/interop/sdk_server.py" --transport "$transport" --token-file "$tmp/token"
    path=/mcp
    [ "$transport" = sse ] && path=/sse
    node client.mjs sdk "$bin" "http://127.0.0.1:$port$path" "${bearer[@]}"
done
echo "==> compat: TypeScript SDK session-example server restarted under an open session" >&2
node recovery.mjs restart "$bin"
echo "==> compat: start-up credential error seen by the SDK client, then recovery" >&2
node recovery.mjs startup "$bin"
echo "==> compat: the same with an empty keychain entry, fixed by auth set (private keyring)" >&2
for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install gnome-keyring dbus)"
done
mkdir -p "$tmp/kc-home" "$tmp/kc-run" && chmod 700 "$tmp/kc-run"
HOME="$tmp/kc-home" XDG_RUNTIME_DIR="$tmp/kc-run" dbus-run-session -- sh -c \
    'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && node recovery.mjs startup-keychain "$1"' \
    sh "$bin"
echo "compat: all passed" >&2
