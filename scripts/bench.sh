#!/usr/bin/env bash
# The benchmark of issue #5 (README.md, "Performance"): builds the release binary and the
# driver, installs the peers (npm mcp-remote, PyPI mcp-proxy, pinned) into bench/.tools/, runs
# every candidate against the same in-process server and prints the table. The bridge runs
# twice: driven by a stateful client and by a 2026-07-28 (stateless) one; the server answers
# both eras and checks each candidate spoke the era it was meant to.
#
#   scripts/bench.sh           full run; writes bench/results.md and bench/results.json
#   scripts/bench.sh --smoke   correctness only: small counts, no timing assertions, fails
#                              when a candidate is missing or relays anything wrong
#   scripts/bench.sh --install only install the peers (scripts/test.sh does this)
# Extra arguments go to the driver (e.g. --rounds 9, --only bridge,bridge-stateless,direct).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MCP_REMOTE_VERSION=0.15.1
MCP_PROXY_VERSION=0.13.0
TOOLS=bench/.tools

smoke=0
install_only=0
for arg in "$@"; do
    [[ $arg == --smoke ]] && smoke=1
    [[ $arg == --install ]] && install_only=1
done

step() { printf '==> %s\n' "$*" >&2; }

mkdir -p "$TOOLS"
# A peer that cannot be installed is reported as missing by the driver, not dropped.
if [[ ! -f $TOOLS/npm/node_modules/mcp-remote/package.json ]] \
    || ! grep -q "\"version\": \"$MCP_REMOTE_VERSION\"" "$TOOLS/npm/node_modules/mcp-remote/package.json"; then
    step "npm install mcp-remote@$MCP_REMOTE_VERSION into $TOOLS/npm"
    if command -v npm >/dev/null; then
        npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" "mcp-remote@$MCP_REMOTE_VERSION" >&2 \
            || echo "bench.sh: could not install mcp-remote" >&2
    else
        echo "bench.sh: npm is not installed; mcp-remote will be reported missing" >&2
    fi
fi
if [[ ! -x $TOOLS/proxy-venv/bin/mcp-proxy ]] \
    || [[ $("$TOOLS/proxy-venv/bin/python" -c "import importlib.metadata as m; print(m.version('mcp-proxy'))" 2>/dev/null) != "$MCP_PROXY_VERSION" ]]; then
    step "pip install mcp-proxy==$MCP_PROXY_VERSION into $TOOLS/proxy-venv"
    { python3 -m venv "$TOOLS/proxy-venv" \
        && PIP_DISABLE_PIP_VERSION_CHECK=1 "$TOOLS/proxy-venv/bin/pip" install -q "mcp-proxy==$MCP_PROXY_VERSION"; } >&2 \
        || echo "bench.sh: could not install mcp-proxy" >&2
fi

[[ $install_only == 1 ]] && exit 0

if [[ $smoke == 1 ]]; then
    # Correctness only: the debug build scripts/test.sh has already made is enough, and CI
    # saves a release build.
    step "cargo build (debug: the bridge and the benchmark driver)"
    cargo build --quiet --bin mcp-keybridge --example bench
    step "benchmark smoke run (correctness only)"
    exec target/debug/examples/bench --require-all --bridge target/debug/mcp-keybridge --tools "$TOOLS" "$@"
fi
step "cargo build --release (the bridge and the benchmark driver)"
cargo build --release --quiet --bin mcp-keybridge --example bench
step "benchmark (takes a few minutes; keep the machine otherwise idle)"
exec target/release/examples/bench --tools "$TOOLS" --out bench/results "$@"
