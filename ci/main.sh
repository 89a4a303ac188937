#!/usr/bin/env bash
# main.sh - the main job: installs dependencies, builds clnet-bench, lists the
# devices, then runs the harness's headline run, `clnet-bench report`: the
# zoo's counts against the published ones, the layer suite on every device
# and a short LeNet-5 MNIST training, written to clnet-report/report.md with
# charts. The build type is the project's
# default (debugoptimized, -O2), the one the tests compile warning-free under.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-main

# elapsed START: seconds since START (an $EPOCHREALTIME value), one decimal.
elapsed() {
    local us=$((${EPOCHREALTIME/[.,]/} - ${1/[.,]/}))
    echo "$((us / 1000000)).$((us / 100000 % 10))"
}

# phase NAME COMMAND...: runs a command and prints its wall time.
phase() {
    local name=$1 start=$EPOCHREALTIME
    shift
    echo "== $name"
    "$@"
    echo "== $name: $(elapsed "$start") s"
}

configure() {
    if [[ -d $dir/meson-private ]]; then
        meson setup --reconfigure -Dwerror=true "$dir"
    else
        meson setup -Dwerror=true "$dir"
    fi
}

phase "install dependencies" bash ci/install-deps.sh
phase "configure" configure
phase "build" ninja -C "$dir" -j "$(nproc)" bench/clnet-bench
phase "clnet-bench devices" "$dir/bench/clnet-bench" devices
phase "clnet-bench report" "$dir/bench/clnet-bench" report --out clnet-report
echo "report: $(pwd)/clnet-report/report.md"
