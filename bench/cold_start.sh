#!/usr/bin/env bash
# cold_start.sh BUILD_DIR MODEL... - first and later start-ups of
# `clnet-bench run --model MODEL --batch 1` under each program-cache policy
# (CLNET_CACHE_STORE=always, auto, and CLNET_CACHE_DIR=off), and with
# clnet's default (auto) and PoCL compiling one work-group function per
# kernel (POCL_WORK_GROUP_SPECIALIZATION=0, what the tests run): for each, both
# caches emptied (clnet's and PoCL's, in a temporary directory), one cold
# run, then two warm ones. Prints a Markdown table of wall seconds (the
# whole command, from bash's clock). README.md "Start-up" shows its output.
set -euo pipefail
build=${1:?usage: cold_start.sh BUILD_DIR MODEL...}
shift
(($# > 0)) || { echo "usage: cold_start.sh BUILD_DIR MODEL..." >&2; exit 2; }
bench=$build/bench/clnet-bench
[[ -x $bench ]] || { echo "cold_start.sh: no $bench (build first)" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# run_once POCL_DIR CLNET_DIR STORE SPECIALIZE MODEL: prints the run's wall
# seconds. SPECIALIZE: POCL_WORK_GROUP_SPECIALIZATION's value, or empty for
# PoCL's default.
run_once() {
    local spec=(-u POCL_WORK_GROUP_SPECIALIZATION)
    [[ -n $4 ]] && spec=(POCL_WORK_GROUP_SPECIALIZATION="$4")
    local start=$EPOCHREALTIME
    env "${spec[@]}" POCL_CACHE_DIR="$1" CLNET_CACHE_DIR="$2" CLNET_CACHE_STORE="$3" \
        "$bench" run --model "$5" --batch 1 > /dev/null
    local us=$((${EPOCHREALTIME/[.,]/} - ${start/[.,]/}))
    printf '%d.%02d' $((us / 1000000)) $((us / 10000 % 100))
}

echo "| model | policy | cold s | warm s | warm s |"
echo "| --- | --- | --: | --: | --: |"
for model in "$@"; do
    for policy in always auto off generic; do
        rm -rf "$scratch/pocl" "$scratch/clnet"
        mkdir -p "$scratch/pocl" "$scratch/clnet"
        clnet_dir=$scratch/clnet store=$policy specialize= label=CLNET_CACHE_STORE=$policy
        if [[ $policy == off ]]; then clnet_dir=off store=auto label=CLNET_CACHE_DIR=off; fi
        if [[ $policy == generic ]]; then
            store=auto specialize=0 label=POCL_WORK_GROUP_SPECIALIZATION=0
        fi
        row="| $model | $label |"
        for _ in cold warm warm2; do
            row+=" $(run_once "$scratch/pocl" "$clnet_dir" "$store" "$specialize" "$model") |"
        done
        echo "$row"
    done
done
