#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers a visitor's input reaches first: the
# CCCD QR reader, the MRZ reader and the check-in code verifier (targets in
# fuzz/fuzz_targets), each for a set time, with cargo-fuzz and libFuzzer.
#
#   scripts/fuzz.sh [SECONDS]     each target for SECONDS (60 by default)
#
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets this stable
# toolchain use them. It is installed with `cargo install` when missing.
# Crashes are kept in fuzz/artifacts/<target>/ and make the script fail; the
# corpus grows in fuzz/corpus/<target>/ (neither is committed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}

# shellcheck source=scripts/services.sh
LUUTRU_SERVICES_SKIP=1 source scripts/services.sh
ensure_cargo
ensure_c_toolchain
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1 SQLX_OFFLINE=true
failed=0
for target in cccd mrz code; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target, ${seconds}s"
    status=0
    cargo fuzz run "$target" "fuzz/corpus/$target" -- -max_total_time="$seconds" \
        -print_final_stats=1 >"target/fuzz-$target.log" 2>&1 || status=$?
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|panicked' \
        "target/fuzz-$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 30 "target/fuzz-$target.log" >&2
        echo "fuzz.sh: $target failed (exit $status; crashes in fuzz/artifacts/$target/)" >&2
        failed=1
    fi
done
exit "$failed"
