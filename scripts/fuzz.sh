#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), on the stable toolchain.
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 600 sse_decoder   # one target, longer
#   FUZZ_DEV=1 scripts/fuzz.sh 20      # unoptimized build, with overflow checks: builds in
#                                      # about a third of the time (what scripts/test.sh runs)
#
# Stable toolchain: cargo-fuzz needs nightly only for sanitizers (-Zsanitizer). With
# `-s none` it passes stable flags only (-Cpasses=sancov-module and LLVM coverage options),
# so no nightly and no RUSTC_BOOTSTRAP. The bridge is safe Rust, so ASan would add little;
# what is hunted here is panics, hangs, memory blow-ups and broken invariants.
#
# The committed seeds are in fuzz/seeds/<target>/ (read-only); what libFuzzer finds goes to
# fuzz/corpus/<target>/ (not committed). A crash leaves its input in fuzz/artifacts/<target>/
# and fails this script; reproduce it with
#   cargo +stable fuzz run -s none <target> fuzz/artifacts/<target>/<file>
# and add a regression test before fixing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is missing: cargo install --locked cargo-fuzz (or run scripts/test.sh --setup-only)" >&2
    exit 1
}
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(stdin_framing sse_decoder www_authenticate header_template profile_config)
fi

toolchain="+stable"
command -v rustup >/dev/null || toolchain=""
profile=()
[ "${FUZZ_DEV:-0}" = 1 ] && profile=(--dev)

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo $toolchain fuzz build -s none "${profile[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    printf '==> fuzz %s for %ss: ' "$target" "$seconds" >&2
    # -timeout: one input taking over 10 s is a hang, reported like a crash.
    # -rss_limit_mb: no input may make the parsers need more than this.
    if ! cargo $toolchain fuzz run -s none "${profile[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz target $target FAILED; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    echo "${execs:-?} executions, no crash, peak RSS ${rss:-?} MB, corpus $(ls "fuzz/corpus/$target" | wc -l) inputs" >&2
done
