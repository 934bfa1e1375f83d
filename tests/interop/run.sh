#!/usr/bin/env bash
# Runs the Python interop suite (official MCP SDK ⇄ mcp-keybridge).
#
#   MCP_KEYBRIDGE_BIN=path/to/mcp-keybridge  VENV=path/to/venv  tests/interop/run.sh [pytest args…]
#
# MCP_KEYBRIDGE_BIN defaults to target/debug/mcp-keybridge; VENV to .venv at the repo
# root. Any missing piece (python, venv, a package, the binary) is a hard failure:
# a suite that skips silently would report green on a machine that tested nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${VENV:-$repo/.venv}"
export MCP_KEYBRIDGE_BIN="${MCP_KEYBRIDGE_BIN:-$repo/target/debug/mcp-keybridge}"

die() { echo "interop: $*" >&2; exit 1; }

[ -x "$MCP_KEYBRIDGE_BIN" ] || die "bridge binary not found or not executable: $MCP_KEYBRIDGE_BIN (build it first)"

if [ ! -x "$venv/bin/python" ]; then
    python="$(command -v python3 || true)"
    [ -n "$python" ] || die "python3 not found"
    "$python" -m venv "$venv" || die "cannot create venv at $venv (on Debian: apt-get install python3-venv)"
fi

# pip is quick when everything is already satisfied; -q keeps CI logs readable.
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" \
    || die "pip install -r $here/requirements.txt failed"

# The real OpenID provider of test_oauth_idp.py (oidc-provider, pinned by its lock file).
if [ ! -d "$here/idp/node_modules/oidc-provider" ]; then
    command -v npm >/dev/null || die "npm not found (the OpenID provider tests need node and npm)"
    (cd "$here/idp" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $here/idp failed"
fi

cd "$repo"
# No bytecode caches in the source tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest "$here" -q "$@"
