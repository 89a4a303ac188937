#!/usr/bin/env bash
# test_compare.sh - results that travel: `ops --json` and `run --json` write
# self-describing results files (schema, device, driver, commit, date, every
# figure with its command and conditions), and `clnet-bench compare` lays
# files of two devices side by side (Markdown with the ratio of the figures
# the files hold, PNG bars), refuses figures measured at another batch or in
# another pass (status 1, naming the difference), and rejects a file that is
# not a results file (status 2), but reads a recipe results file from before
# the schema (docs/results/) as its training figure; and that ops times as
# many calls as --reps and --min-ms ask, and that --floor adds each row's
# floor, computed from the device's measured limits. The files are written
# here by the harness.
# usage: test_compare.sh CLNET_BENCH
set -uo pipefail

bench=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clnet-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# ref and device 0, the first OpenCL device, stand for two machines.
if [[ $("$bench" devices | head -1) == "0: ref" ]]; then
    [[ -n ${CLNET_TEST_REQUIRE_DEVICE:-} ]] && { echo "FAIL: no OpenCL device"; exit 1; }
    echo "SKIP: no OpenCL device to compare with ref"
    exit 77
fi
layers=(ops --layer lenet5_conv1,lenet5_conv2 --batch 2 --reps 2 --json)
model=(run --model lenet5 --batch 2 --reps 2 --json)
"$bench" "${layers[@]}" --device ref > "$tmp/ops-ref.json" || fail "ops --json on ref"
"$bench" "${layers[@]}" --device 0 > "$tmp/ops-dev.json" || fail "ops --json on device 0"
"$bench" "${model[@]}" --device ref > "$tmp/run-ref.json" || fail "run --json on ref"
"$bench" "${model[@]}" --device 0 > "$tmp/run-dev.json" || fail "run --json on device 0"

for f in ops-ref ops-dev run-ref run-dev; do
    for key in schema command clnet_version clnet_commit date host device hardware figures; do
        grep -q "\"$key\": " "$tmp/$f.json" || fail "$f.json has no \"$key\""
    done
    grep -q '"schema": "clnet-results-1"' "$tmp/$f.json" || fail "$f.json: wrong schema"
done
grep -q '"driver": ' "$tmp/ops-dev.json" || fail "ops --json names no driver"

# Timed calls: at least --reps, more until they add up to --min-ms (default
# 100; a call of these layers at batch 2 takes well under 50 ms), exactly R
# with --min-ms 0, one on ref. reps_in FILE: each figure's reps.
reps_in() {
    grep -o '"reps": [0-9]*' "$1" | awk '{print $2}'
}
"$bench" ops --layer lenet5_conv2 --batch 2 --reps 2 --min-ms 0 --json --device 0 \
    > "$tmp/exact.json" || fail "ops --min-ms 0"
[[ $(reps_in "$tmp/exact.json") == 2 ]] ||
    fail "ops --reps 2 --min-ms 0 timed $(reps_in "$tmp/exact.json") calls"
for f in ops-dev ops-ref; do
    [[ $(reps_in "$tmp/$f.json" | wc -l) -eq 2 ]] || fail "$f.json: not one reps count a layer"
done
for reps in $(reps_in "$tmp/ops-dev.json"); do
    ((reps > 2)) || fail "ops --reps 2 stopped at $reps calls, short of 100 ms"
done
for reps in $(reps_in "$tmp/ops-ref.json"); do
    ((reps == 1)) || fail "ops on ref timed $reps calls, not 1"
done
grep -q '"command": "clnet-bench ops --layer lenet5_conv1,lenet5_conv2 --batch 2 --reps 2 --json --device 0"' \
    "$tmp/ops-dev.json" || fail "ops --json: a figure's command is not the command line"

# --floor: each row's floor is the device's measured launch round trip plus
# the row's FLOP at its measured multiply-add peak (lenet5_conv2: 5x5, all
# its FLOP), in every format.
"$bench" ops --layer lenet5_conv2 --batch 2 --reps 2 --min-ms 0 --floor --json --device 0 \
    > "$tmp/floor.json" || fail "ops --floor --json"
key() {
    grep -o "\"$2\": [0-9.e+-]*" "$1" | head -1 | awk '{print $2}'
}
awk -v f="$(key "$tmp/floor.json" floor_ms)" -v l="$(key "$tmp/floor.json" launch_ms)" \
    -v p="$(key "$tmp/floor.json" fma_gflops)" -v g="$(key "$tmp/floor.json" gflop)" \
    'BEGIN { d = f - (l + g / p * 1e3); exit !(l > 0 && p > 0 && f > 0 && d * d < 2e-4 ^ 2) }' ||
    fail "ops --floor: floor_ms is not launch_ms + gflop at fma_gflops ($(grep -o '"floor_ms.*' "$tmp/floor.json"))"
"$bench" ops --layer lenet5_conv2 --batch 2 --reps 2 --min-ms 0 --floor --csv --device 0 \
    > "$tmp/floor.csv" || fail "ops --floor --csv"
head -1 "$tmp/floor.csv" | grep -q ',floor_ms,launch_ms,fma_gflops$' ||
    fail "ops --floor --csv: no floor columns"
"$bench" ops --layer lenet5_conv2 --batch 2 --reps 2 --min-ms 0 --floor --device ref \
    > "$tmp/floor-ref.txt" || fail "ops --floor on ref"
grep -q 'no floor' "$tmp/floor-ref.txt" || fail "ops --floor on ref does not say it has no floor"

# The value of a figure's key in a file written by run --json (one figure,
# the last object).
figure_value() {
    grep -o "\"$2\": [0-9.]*" "$1" | tail -1 | awk '{print $2}'
}

out=$("$bench" compare --png "$tmp/png" "$tmp/ops-ref.json" "$tmp/ops-dev.json" \
      "$tmp/run-ref.json" "$tmp/run-dev.json" 2> "$tmp/compare.err")
rc=$?
png_ok=1
if [[ $rc -ne 0 ]] && grep -q gnuplot "$tmp/compare.err" && ! command -v gnuplot > /dev/null; then
    png_ok=0    # charts need gnuplot; the Markdown is still checked
elif [[ $rc -ne 0 ]]; then
    cat "$tmp/compare.err"
    fail "compare of four files exited with $rc"
fi
number='[0-9]+\.[0-9]+ \([0-9.]+ ms\)'
for layer in 'lenet5_conv1 \| forward \| 2 \| fp32 \| 1x28x28' \
             'lenet5_conv2 \| forward \| 2 \| fp32 \| 6x14x14'; do
    grep -Eq "^\| $layer \| $number \| $number x[0-9.]+ \|$" <<< "$out" ||
        fail "compare: no row '$layer' with both devices' figures"
done
ref_ips=$(figure_value "$tmp/run-ref.json" images_per_second)
dev_ips=$(figure_value "$tmp/run-dev.json" images_per_second)
ratio=$(awk -v a="$ref_ips" -v b="$dev_ips" 'BEGIN { printf "x%.2f", b / a }')
grep -Eq "^\| lenet5 \| forward \| 2 \| fp32 \| 1x28x28 \| $number \| $number $ratio \|$" <<< "$out" ||
    fail "compare: the lenet5 row does not show both images/s and their ratio $ratio"
# one column per device: ops and run of one device share it
grep -q "| A | $tmp/ops-ref.json | ref |" <<< "$out" || fail "compare: no provenance row for A"
grep -q "| A | $tmp/run-ref.json | ref |" <<< "$out" || fail "compare: run-ref.json not in A"
grep -q "| B | $tmp/run-dev.json | " <<< "$out" || fail "compare: run-dev.json not in B"
if [[ $png_ok -eq 1 ]]; then
    for chart in compare-layers compare-models; do
        [[ -s $tmp/png/$chart.png ]] || fail "compare --png drew no $chart.png"
    done
fi

# Measured differently on the other device: another batch, another pass.
"$bench" ops --layer lenet5_conv1 --batch 3 --json --device 0 > "$tmp/batch3.json" ||
    fail "ops --batch 3 --json"
"$bench" ops --layer lenet5_conv1 --batch 2 --pass backward --json --device 0 \
    > "$tmp/backward.json" || fail "ops --pass backward --json"
for other in batch3:batch backward:pass; do
    "$bench" compare "$tmp/ops-ref.json" "$tmp/${other%%:*}.json" > "$tmp/refused.out" \
        2> "$tmp/refused.err"
    rc=$?
    [[ $rc -eq 1 ]] || fail "compare with ${other%%:*}.json exited with $rc, not 1"
    grep -q "refusing to compare layer lenet5_conv1: the ${other#*:}" "$tmp/refused.err" ||
        fail "compare with ${other%%:*}.json does not name the ${other#*:}: $(cat "$tmp/refused.err")"
    [[ ! -s $tmp/refused.out ]] || fail "compare printed a table though it refused"
done

# Not a results file: a usage error naming the file.
echo '{"layer": "lenet5_conv1"}' > "$tmp/other.json"
"$bench" compare "$tmp/ops-ref.json" "$tmp/other.json" > /dev/null 2> "$tmp/other.err"
rc=$?
[[ $rc -eq 2 ]] || fail "compare of a file without the schema exited with $rc, not 2"
grep -q "other.json: not a results file" "$tmp/other.err" || fail "compare: no message for other.json"

# A recipe results file from before the schema (kept in docs/results/ as
# measured) is read as its training figure.
legacy=$(dirname "$0")/../docs/results/lenet5-mnist-pthread-skylake-avx512-AMD-EPYC-seed1.json
if "$bench" compare "$legacy" > "$tmp/legacy.md" 2> "$tmp/legacy.err"; then
    grep -q "| lenet5 | train | 64 | fp32 |" "$tmp/legacy.md" ||
        fail "compare of the older recipe file: no lenet5 training row: $(cat "$tmp/legacy.md")"
else
    fail "compare of the older recipe file failed: $(cat "$tmp/legacy.err")"
fi

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "ok"
