#!/usr/bin/env bash
# CI check of every packaging artefact (scripts/test.sh runs it):
#  1. builds the .deb (dev profile: the same packaging path as a release, minus the
#     optimised build), unpacks it with dpkg -x into a temporary root, and runs the packaged
#     binary's --version; checks the man page and completions are in it;
#  2. ruby -c on the Homebrew formula;
#  3. the Scoop manifest against Scoop's JSON schema (packaging/scoop/validate.py).
# Needs cargo-deb, ruby, dpkg and the interop venv (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

echo "--- .deb" >&2
deb="$(packaging/build-deb.sh --profile dev)"
[[ "$(dpkg-deb --field "$deb" Package)" == mcp-keybridge ]]
dpkg -x "$deb" "$root"
version="$("$root/usr/bin/mcp-keybridge" --version)"
expected="mcp-keybridge $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
if [[ "$version" != "$expected" ]]; then
    echo "packaged binary says '$version', expected '$expected'" >&2
    exit 1
fi
for f in usr/share/man/man1/mcp-keybridge.1.gz \
         usr/share/man/man1/mcp-keybridge-auth-status.1.gz \
         usr/share/man/man1/mcp-keybridge-config.1.gz \
         usr/share/bash-completion/completions/mcp-keybridge \
         usr/share/zsh/vendor-completions/_mcp-keybridge \
         usr/share/fish/vendor_completions.d/mcp-keybridge.fish \
         usr/share/doc/mcp-keybridge/copyright \
         usr/share/doc/mcp-keybridge/LICENSE-MIT \
         usr/share/doc/mcp-keybridge/LICENSE-APACHE; do
    [[ -s "$root/$f" ]] || { echo "missing from the .deb: /$f" >&2; exit 1; }
done
gzip -t "$root/usr/share/man/man1/mcp-keybridge.1.gz"
bash -n "$root/usr/share/bash-completion/completions/mcp-keybridge"
echo "$deb: $version, $(du -k "$deb" | cut -f1) KiB" >&2

echo "--- Homebrew formula" >&2
ruby -c packaging/homebrew/mcp-keybridge.rb >&2

echo "--- Scoop manifest" >&2
.venv/bin/python packaging/scoop/validate.py >&2
