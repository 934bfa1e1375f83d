#!/usr/bin/env bash
# The `auth` commands against a real OS keychain: gnome-keyring's Secret Service on a private
# D-Bus session (the recipe in ../shared/PROTOCOL.md), with a throwaway HOME and
# XDG_RUNTIME_DIR so that nothing touches the keychain of whoever runs it.
#
#   MCP_KEYBRIDGE_BIN=path/to/mcp-keybridge tests/keychain.sh
#
# Needs gnome-keyring, dbus and libsecret-tools (secret-tool); a missing one is a failure,
# not a skip. The bridge-against-SDK-server keychain tests live in tests/interop/
# (test_keychain.py, test_rotation.py), which start their own private keyring the same way.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${MCP_KEYBRIDGE_BIN:-$here/../target/debug/mcp-keybridge}"
die() { echo "keychain: $*" >&2; exit 1; }

[ -x "$bin" ] || die "bridge binary not found or not executable: $bin (build it first)"
for tool in dbus-run-session gnome-keyring-daemon secret-tool sha256sum; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install gnome-keyring dbus libsecret-tools)"
done

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/home" "$scratch/run" "$scratch/run-nobus"
chmod 700 "$scratch/run" "$scratch/run-nobus"

# Runs inside the D-Bus session. Every command's output is kept in $out for the leak check.
inner() {
    set -euo pipefail
    out="$scratch/outputs"
    : >"$out"
    fails=0
    ok() { printf '  ok   %s\n' "$*"; }
    bad() { printf '  FAIL %s\n' "$*"; fails=$((fails + 1)); }
    # run NAME EXPECTED_RC CMD…: records stdout+stderr in $scratch/last and in $out.
    run() {
        local name="$1" want="$2" rc=0
        shift 2
        timeout 30 "$@" >"$scratch/last" 2>&1 || rc=$?
        cat "$scratch/last" >>"$out"
        if [ "$rc" = "$want" ]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, wanted $want"; sed 's/^/       /' "$scratch/last"; fi
    }
    has() { grep -qF -- "$1" "$scratch/last" && ok "$2" || { bad "$2: no '$1' in:"; sed 's/^/       /' "$scratch/last"; }; }

    printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null

    secret="kc-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    fp="$(printf %s "$secret" | sha256sum | cut -c1-8)"

    echo "auth set via stdin, seen by secret-tool"
    printf '%s\n' "$secret" | run "auth set" 0 "$bin" auth set kc-test
    has "sha256 $fp" "auth set reports the fingerprint"
    [ "$(secret-tool lookup service mcp-keybridge username kc-test)" = "$secret" ] \
        && ok "secret-tool lookup sees it" || bad "secret-tool lookup does not see it"

    echo "auth status: length and fingerprint, never the secret"
    run "auth status" 0 "$bin" auth status https://example.invalid/mcp --bearer keychain:kc-test
    has "keychain:kc-test: ok, ${#secret} characters, sha256 $fp" "status line"

    echo "a secret stored by secret-tool is read"
    printf '%s' "$secret-2" | secret-tool store --label test service mcp-keybridge username kc-other
    run "auth status (secret-tool entry)" 0 "$bin" auth status -H 'X-Token: ${keychain:kc-other}'
    has "sha256 $(printf %s "$secret-2" | sha256sum | cut -c1-8)" "fingerprint of the secret-tool entry"

    echo "a JWT's expiry, said plainly"
    b64() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
    exp=$(($(date +%s) - 600))
    jwt="$(printf '{"alg":"HS256","typ":"JWT"}' | b64).$(printf '{"sub":"t","exp":%s}' "$exp" | b64).c2ln"
    printf '%s' "$jwt" | run "auth set (JWT)" 0 "$bin" auth set kc-jwt
    run "auth status (expired JWT): unusable, exit 1" 1 "$bin" auth status --bearer keychain:kc-jwt
    has "JWT expired 10 minutes ago" "expired JWT"

    echo "profiles"
    cat >"$scratch/config.toml" <<EOF
[profiles.work]
url = "https://example.invalid/mcp"
bearer = "keychain:kc-test"
[profiles.work.headers]
"X-Other" = "\${keychain:kc-other}"
"X-Missing" = "\${keychain:kc-nothing}"
EOF
    run "auth status --profile (one missing)" 1 env MCP_KEYBRIDGE_CONFIG="$scratch/config.toml" "$bin" auth status --profile work
    has "Profile work from $scratch/config.toml" "names the profile and file"
    has "keychain:kc-nothing: NOT USABLE: no secret named \"kc-nothing\"" "names the missing entry"
    has "auth set kc-nothing" "gives the fix"
    printf '[profiles.bad]\nbearer = "%s"\n' "$secret" >"$scratch/bad.toml"
    run "literal secret in a profile" 2 "$bin" auth status --profile bad --config "$scratch/bad.toml"
    has "bad.toml:2: profiles.bad.bearer" "names file, line and key"
    has "auth set NAME" "hints at the keychain"

    echo "refusals"
    printf '\n' | run "empty secret" 1 "$bin" auth set kc-empty
    secret-tool lookup service mcp-keybridge username kc-empty >/dev/null 2>&1 \
        && bad "an empty secret was stored" || ok "nothing stored"
    printf 'a\nb\n' | run "two-line secret" 1 "$bin" auth set kc-two
    run "bad name" 2 "$bin" auth set 'a b' </dev/null

    echo "auth delete"
    run "auth delete" 0 "$bin" auth delete kc-test
    secret-tool lookup service mcp-keybridge username kc-test >/dev/null 2>&1 \
        && bad "still there after delete" || ok "secret-tool no longer finds it"
    run "auth delete again" 1 "$bin" auth delete kc-test
    has "nothing is stored as keychain:kc-test" "says so"

    echo "no secret in any output"
    for s in "$secret" "$secret-2" "$jwt"; do
        grep -qF -- "$s" "$out" && bad "a secret appeared in the output" || ok "secret absent (${#s} chars)"
    done
    [ "$fails" = 0 ]
}
export -f inner
export bin scratch

echo "==> keychain tests in a private D-Bus session with gnome-keyring" >&2
HOME="$scratch/home" XDG_RUNTIME_DIR="$scratch/run" dbus-run-session -- bash -c inner \
    2> >(grep -v -e 'dbus-daemon\[' -e 'discover_other_daemon' >&2)

echo "==> no D-Bus session: a clear error, exit 1" >&2
nobus() {
    env -u DBUS_SESSION_BUS_ADDRESS HOME="$scratch/home" XDG_RUNTIME_DIR="$scratch/run-nobus" \
        timeout 30 "$bin" "$@" 2>&1
}
fails=0
for cmd in "auth set kc" "auth delete kc" "auth status --bearer keychain:kc"; do
    rc=0
    # shellcheck disable=SC2086 # word splitting wanted: $cmd is a command line
    text="$(printf 'x-secret-value\n' | nobus $cmd)" || rc=$?
    if [ "$rc" = 1 ] && grep -q "keychain is not available" <<<"$text" \
        && grep -q "env:VAR, file:PATH or cmd:COMMAND" <<<"$text" \
        && ! grep -q "x-secret-value" <<<"$text"; then
        echo "  ok   $cmd (exit 1, cause and alternatives named)"
    else
        echo "  FAIL $cmd: exit $rc"; sed 's/^/       /' <<<"$text"; fails=$((fails + 1))
    fi
done
[ "$fails" = 0 ] || die "no-keychain checks failed"
echo "keychain: all passed" >&2
