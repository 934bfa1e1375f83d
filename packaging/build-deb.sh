#!/usr/bin/env bash
# Builds the Debian package: the binary, then its man page and shell completions (generated
# by the binary itself, so they match its --help), then `cargo deb` with the assets listed in
# Cargo.toml's [package.metadata.deb]. Prints the .deb's path on stdout.
#
#   packaging/build-deb.sh                 # release build (what is published)
#   packaging/build-deb.sh --profile dev   # fast, unoptimised (what CI checks)
#
# Needs cargo-deb: cargo install cargo-deb --locked
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=release
if [[ "${1:-}" == "--profile" ]]; then
    profile="${2:?--profile needs a name}"
fi
case "$profile" in
    dev) outdir=debug ;;
    *) outdir="$profile" ;;
esac
target_dir="${CARGO_TARGET_DIR:-target}"

cargo build --quiet --locked --profile "$profile" --bin mcp-keybridge
bin="$target_dir/$outdir/mcp-keybridge"

gen=target/packaging
rm -rf "$gen" && mkdir -p "$gen/completions" "$gen/man"
# The main page and one per subcommand (the main page's SUBCOMMANDS section names them).
"$bin" man --dir "$gen/man" 2>/dev/null
gzip -9n "$gen"/man/*.1
"$bin" completions bash > "$gen/completions/mcp-keybridge.bash"
"$bin" completions zsh > "$gen/completions/_mcp-keybridge"
"$bin" completions fish > "$gen/completions/mcp-keybridge.fish"

# --no-build: the binary above is the one packaged; cargo-deb maps target/release/ in the
# asset list to the profile's directory. Debug info is stripped from the packaged copy.
# cargo-deb prints the package's path last on stdout.
cargo deb --no-build --profile "$profile" --strip --output "$gen/" | tail -n 1
