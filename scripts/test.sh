#!/usr/bin/env bash
# The whole test suite, as README.md gives it: formatting, lints, the Rust unit and
# integration tests (real binary against in-repo servers), and the interop suite against
# the official Python SDK's server and client. Fails on the first red step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "cargo build (the binary the tests spawn)"
cargo build --quiet

step "cargo test (unit and integration tests)"
cargo test --quiet --all-targets 2>&1 | tee /tmp/mkb-cargo-test.log
grep -q "test result: ok" /tmp/mkb-cargo-test.log

step "keychain: auth commands against gnome-keyring on a private D-Bus session"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" tests/keychain.sh

step "interop: official MCP Python SDK server and client"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" tests/interop/run.sh

step "compat: official TypeScript SDK client (as in Claude Desktop) through the bridge"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" tests/compat/run.sh
step "modern: TypeScript SDK 2.x client and 2026-07-28-only server, direct and through the bridge"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" tests/modern/run.sh

step "conformance: the official suite, stateful client x 2025-11-25, stateless client x 2026-07-28"
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" KEYBRIDGE_CONF_SEQUENTIAL=1 \
    bash tests/conformance/run.sh legacy 2025-11-25
MCP_KEYBRIDGE_BIN="$PWD/target/debug/mcp-keybridge" KEYBRIDGE_CONF_SEQUENTIAL=1 \
    bash tests/conformance/run.sh modern 2026-07-28

step "packaging: .deb built and run from a dpkg -x root, Homebrew formula, Scoop manifest"
packaging/check.sh
step "benchmark smoke: bridge, direct client, mcp-remote and mcp-proxy relay correctly"
scripts/bench.sh --smoke
step "dependency audit: cargo deny check licenses bans sources (advisories need github.com)"
command -v cargo-deny >/dev/null || {
    echo "cargo-deny is missing: cargo install --locked cargo-deny (or run .ci/run)" >&2
    exit 1
}
cargo deny check licenses bans sources

step "fuzz: each parser target for ${FUZZ_SECONDS:-20}s (stable toolchain, scripts/fuzz.sh)"
FUZZ_DEV=1 scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
