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
    if ! cargo fuzz run "$target" "fuzz/corpus/$target" -- -max_total_time="$seconds" \
        -print_final_stats=1 2>&1 | tee "target/fuzz-$target.log" |
        grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|.*panicked)'; then
        true
    fi
    if ls "fuzz/artifacts/$target"/crash-* >/dev/null 2>&1; then
        echo "fuzz.sh: $target crashed: fuzz/artifacts/$target/" >&2
        failed=1
    fi
done
exit "$failed"
