#!/usr/bin/env bash
# Runs every azpath fuzz target (fuzz/fuzz_targets/) for a bounded time with cargo-fuzz (libFuzzer).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 300 s, every target
#
# Needs a nightly toolchain and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo install cargo-fuzz`). Each target starts from fuzz/seeds/<target>/ and fuzz/regressions/
# <target>/ (copied into fuzz/corpus/<target>/, which is not committed). A crash is written to
# fuzz/artifacts/<target>/ and the script exits 1; after fixing it, copy the input into
# fuzz/regressions/<target>/ so `cargo test` (tests/it/fuzz.rs) replays it on every run.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(facts selector saved_query writers azurehound)
fi
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    cp -n seeds/"$t"/* regressions/"$t"/* "corpus/$t/" 2>/dev/null || true
    echo "== fuzzing $t for ${seconds}s"
    # -rss_limit_mb: a leak or runaway allocation is a finding; -timeout: a slow input is one too.
    set +e
    cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -max_len=262144 -print_final_stats=1 > "/tmp/azpath-fuzz-$t.log" 2>&1
    status=$?
    set -e
    grep -E '^(stat::|==[0-9]+==|SUMMARY|Done)' "/tmp/azpath-fuzz-$t.log" || true
    if [ "$status" -ne 0 ]; then
        echo "!! $t found a failure: see fuzz/artifacts/$t/ and /tmp/azpath-fuzz-$t.log"
        failed=1
    fi
done
exit $failed
