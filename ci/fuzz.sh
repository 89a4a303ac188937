#!/usr/bin/env bash
# fuzz.sh - the fuzzing job: builds every libFuzzer target of tests/fuzz in
# build-fuzz (clang, ASan+UBSan, the library instrumented for coverage),
# replays the regression inputs, then fuzzes each target for a fixed time
# (CLNET_FUZZ_SECONDS, default 20) from its committed seed corpus, with a
# 10 s limit per input. Any crash, leak, timeout, out-of-memory or UBSan
# report fails the job; the input that caused it is kept under
# build-fuzz/fuzz-artifacts/ (add it to tests/fuzz/corpus/regressions/ once
# fixed). Prints executions per second and time per target.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

dir=build-fuzz
seconds=${CLNET_FUZZ_SECONDS:-20}
targets=(fuzz_cfg fuzz_checkpoint fuzz_gzip fuzz_cache_entry fuzz_idx fuzz_cifar fuzz_onnx)
corpus=tests/fuzz/corpus

configure() {
    local opts=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
                -Dc_args=-fsanitize=fuzzer-no-link -Dwerror=false)
    if [[ -d $dir/meson-private ]]; then
        meson setup --reconfigure "$dir" "${opts[@]}"
    else
        CC=clang meson setup "$dir" "${opts[@]}"
    fi
}

# seeds TARGET: the committed seed directories of a target.
seeds() {
    case $1 in
    fuzz_cfg) echo lib/nn/zoo ;;
    fuzz_checkpoint) echo "$corpus/checkpoint" ;;
    fuzz_gzip) echo "$corpus/gzip" ;;
    fuzz_cache_entry) echo "$corpus/cache_entry" ;;
    fuzz_onnx) echo "$corpus/onnx" ;;
    fuzz_idx | fuzz_cifar) echo "$dir/tests/fuzz" ;;
    esac
}

configure >/dev/null || { echo "fuzz: configure failed"; exit 1; }
ninja -C "$dir" -j "$(nproc)" "${targets[@]/#/tests/fuzz/}" tests/fuzz/seed_idx.bin >/dev/null ||
    { echo "fuzz: build failed"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
mkdir -p "$dir/fuzz-artifacts"
failed=()
for t in "${targets[@]}"; do
    exe=$dir/tests/fuzz/$t
    regressions=$corpus/regressions/$t
    if [[ -d $regressions ]] && compgen -G "$regressions/*" >/dev/null; then
        if ! "$exe" -timeout=10 "$regressions"/* >"$dir/fuzz-artifacts/$t.replay.log" 2>&1; then
            echo "fuzz: $t: a regression input fails again:"
            tail -n 30 "$dir/fuzz-artifacts/$t.replay.log"
            failed+=("$t")
            continue
        fi
    fi
    work=$(mktemp -d)
    extra=()
    [[ $t == fuzz_cfg ]] && extra=(-dict=tests/fuzz/cfg.dict)
    start=$EPOCHREALTIME
    # shellcheck disable=SC2046
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$dir/fuzz-artifacts/$t-" "${extra[@]}" \
        "$work" $(seeds "$t") >"$dir/fuzz-artifacts/$t.log" 2>&1
    rc=$?
    us=$((${EPOCHREALTIME/[.,]/} - ${start/[.,]/}))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz-artifacts/$t.log")
    cov=$(grep -o 'cov: [0-9]*' "$dir/fuzz-artifacts/$t.log" | tail -n 1)
    rm -rf "$work"
    echo "fuzz: $t: ${runs:-?} inputs in $((us / 1000000)).$((us / 100000 % 10)) s" \
         "($(( ${runs:-0} * 1000000 / (us > 0 ? us : 1) )) execs/s), ${cov:-cov: ?}, exit $rc"
    if ((rc != 0)); then
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$dir/fuzz-artifacts/$t.log" | head -n 10
        failed+=("$t")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets clean"
