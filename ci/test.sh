#!/usr/bin/env bash
# test.sh - the test job: installs dependencies, builds, runs the meson test
# suite, then runs it again in an AddressSanitizer + UBSan build, then runs
# every kernel once under Oclgrind (ci/oclgrind.sh, plain build) and every
# parser's fuzz target for a fixed time (ci/fuzz.sh, its own clang build),
# and builds everything once more at --buildtype=release (-O3, whose extra
# analysis finds warnings -O2 does not) with a few quick tests. Warnings are
# errors here (-Dwerror=true), not in the project's defaults: a user's newer
# compiler must not stop their build.
#
# PoCL under ASan: it works. A sanitized program builds and runs PoCL kernels
# correctly; what LeakSanitizer then reports is memory PoCL and LLVM keep until
# exit, which tests/lsan.supp suppresses by library (libpocl, libLLVM, ...),
# never clnet's own. So the sanitizer build runs the suite with OpenCL tests
# included, less the suite 'slow' (whole model lists, harness sweeps: minutes
# each, reaching no code the other tests do not), to keep it inside 15 minutes.
#
# Ends with "N passed, N failed, N skipped" over both builds, counted from
# meson's testlog.json, plus one test each for the Oclgrind and fuzzing
# jobs (and one failure per failed install or build phase), and exits
# non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

plain_dir=build-ci
san_dir=build-ci-asan
release_dir=build-ci-release
failed_phases=()

# elapsed START: seconds since START (an $EPOCHREALTIME value), one decimal.
elapsed() {
    local us=$((${EPOCHREALTIME/[.,]/} - ${1/[.,]/}))
    echo "$((us / 1000000)).$((us / 100000 % 10))"
}

# phase NAME COMMAND...: runs a command, prints its wall time, records failure.
phase() {
    local name=$1 start=$EPOCHREALTIME rc=0
    shift
    echo "== $name"
    "$@" || rc=$?
    local secs
    secs=$(elapsed "$start")
    if ((rc == 0)); then
        echo "== $name: ok, ${secs} s"
    else
        echo "== $name: FAILED (exit $rc), ${secs} s"
        failed_phases+=("$name")
    fi
    return "$rc"
}

# configure DIR [MESON OPTIONS...]: sets up a build dir, or reconfigures it.
configure() {
    local dir=$1
    shift
    if [[ -d $dir/meson-private ]]; then
        meson setup --reconfigure "$dir" "$@"
    else
        meson setup "$dir" "$@"
    fi
}

build() {
    local dir=$1
    shift
    configure "$dir" "$@" && ninja -C "$dir" -j "$(nproc)"
}

# run_tests DIR [MESON TEST OPTIONS...]: the whole suite, with the rule that a
# missing OpenCL device is a failure, not a skip.
run_tests() {
    local dir=$1
    shift
    rm -f "$dir/meson-logs/testlog.json"
    CLNET_TEST_REQUIRE_DEVICE=1 meson test -C "$dir" --no-rebuild --print-errorlogs "$@"
}

# Prints the pass/fail/skip counts of the testlog.json files given.
count_results() {
    python3 - "$@" <<'PY'
import json, os, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            result = json.loads(line)["result"]
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
print(passed, failed, skipped)
PY
}

phase "install dependencies" bash ci/install-deps.sh
if phase "build (plain)" build "$plain_dir" -Dwerror=true; then
    phase "tests (plain)" run_tests "$plain_dir"
fi
if phase "build (asan+ubsan)" build "$san_dir" -Dwerror=true -Db_sanitize=address,undefined \
        -Db_lundef=false; then
    phase "tests (asan+ubsan)" run_tests "$san_dir" --timeout-multiplier 4 --no-suite slow
fi
# The release build compiles every target; two quick tests show it runs.
if phase "build (release)" build "$release_dir" -Dwerror=true --buildtype=release; then
    phase "tests (release)" run_tests "$release_dir" cfg optimizer
fi
# Each job counts as one test in the summary; a failed one is a failed phase.
jobs_passed=0
if [[ -x $plain_dir/tests/test_backend_ops ]]; then
    phase "tests (oclgrind)" bash ci/oclgrind.sh "$plain_dir" && jobs_passed=$((jobs_passed + 1))
else
    failed_phases+=("oclgrind (no plain build)")
fi
phase "tests (fuzzing)" bash ci/fuzz.sh && jobs_passed=$((jobs_passed + 1))

for dir in "$plain_dir" "$san_dir" "$release_dir"; do
    read -r p f s < <(count_results "$dir/meson-logs/testlog.json")
    echo "$dir: ok $p, failed $f, skipped $s"
done
read -r passed failed skipped < <(count_results "$plain_dir/meson-logs/testlog.json" \
                                                 "$san_dir/meson-logs/testlog.json" \
                                                 "$release_dir/meson-logs/testlog.json")
passed=$((passed + jobs_passed))
if ((${#failed_phases[@]})); then
    echo "failed phases: $(IFS=,; echo "${failed_phases[*]}")"
fi
# A failed install or build phase ran no tests: count it as a failure itself,
# so the summary line never reads "0 failed" when the job fails.
for name in "${failed_phases[@]}"; do
    [[ $name == tests\ \(plain\) || $name == tests\ \(asan+ubsan\) ]] || failed=$((failed + 1))
done
echo "$passed passed, $failed failed, $skipped skipped"
if ((${#failed_phases[@]} || failed)); then
    exit 1
fi
