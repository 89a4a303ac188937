#!/usr/bin/env bash
# CLNET_LOG sets the default log sink's level: `debug` shows the algorithm
# each convolution takes (with its shape), the default shows none of it, and
# a value that is no level is reported by name while warnings stay on.
# usage: test_log_env.sh CLNET_BENCH
set -uo pipefail
bench=$1
run() { "$bench" run --model lenet5 --batch 2 --reps 1 --device "${CLNET_DEVICE:-0}" 2>&1; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! out=$(run); then
    echo "$out"
    echo "no OpenCL device: nothing to log"
    [ "${CLNET_TEST_REQUIRE_DEVICE:-0}" = 1 ] && exit 1
    exit 77
fi
echo "$out" | grep -q "algorithm" && fail "the default level shows debug lines"
out=$(CLNET_LOG=debug run) || fail "CLNET_LOG=debug: the run failed"
echo "$out" | grep -qE "conv on .*: 2x1x28x28 to 6 channels, 5x5 window, stride 1x1, groups 1: algorithm " ||
    fail "CLNET_LOG=debug does not name lenet5's first convolution and its algorithm"
out=$(CLNET_LOG=loud run) || fail "CLNET_LOG=loud: the run failed"
echo "$out" | grep -q "CLNET_LOG=loud is not debug, info, warning or error" ||
    fail "an unknown CLNET_LOG value is not reported"
echo "$out" | grep -q "algorithm" && fail "an unknown CLNET_LOG value shows debug lines"
[ $failures -eq 0 ] && echo "log_env: all checks passed"
exit $((failures > 0))
