#!/bin/sh
# cifar10_fast_compare.sh - the cifar10-fast recipe's short check and its time
# against PyTorch on the same machine, one after the other in one run:
#
#   bench/cifar10_fast_compare.sh CLNET_BENCH [EPOCHS [LIMIT [TEST_LIMIT [OUT [SEED [FIRST]]]]]]
#
# runs `clnet-bench train --recipe cifar10-fast --epochs EPOCHS --limit LIMIT
# --test-limit TEST_LIMIT --results OUT --seed SEED` (defaults 1, 5000, 10000,
# clnet-cifar10-fast, 1) and bench/airbench_pytorch.py with the same settings
# (threads: the number of CPUs, PoCL's compute units), one after the other,
# clnet first unless FIRST is `pytorch` (a host whose speed drifts favours
# one order: run both). It prints both training times, their ratio, and the
# first epoch's throughputs (both spend it on the same steps of 1024
# images). With 1 epoch of 5,000 images
# the net must already learn well above chance (10%). Needs Debian's
# python3-torch; the full recipe (9.9 epochs) is the same command with
# EPOCHS 9.9 and LIMIT 50000.
set -eu
bench=${1:?usage: cifar10_fast_compare.sh CLNET_BENCH [EPOCHS [LIMIT [TEST_LIMIT [OUT [SEED [FIRST]]]]]]}
epochs=${2:-1}
limit=${3:-5000}
test_limit=${4:-10000}
out=${5:-clnet-cifar10-fast}
seed=${6:-1}
first=${7:-clnet}
here=$(dirname "$0")
case $first in
clnet | pytorch) ;;
*) echo "cifar10_fast_compare.sh: FIRST must be clnet or pytorch, not '$first'" >&2; exit 2 ;;
esac
mkdir -p "$out"

run_clnet() {
    echo "clnet starts $(date -u '+%F %T') UTC" >&2
    "$bench" train --recipe cifar10-fast --epochs "$epochs" --limit "$limit" \
        --test-limit "$test_limit" --results "$out" --seed "$seed" --json >"$out/clnet.json"
}
run_pytorch() {
    echo "PyTorch starts $(date -u '+%F %T') UTC" >&2
    /usr/bin/python3 "$here/airbench_pytorch.py" --epochs "$epochs" --limit "$limit" \
        --test-limit "$test_limit" --seed "$seed" --json >"$out/pytorch.json"
}
if [ "$first" = clnet ]; then
    run_clnet
    run_pytorch
else
    run_pytorch
    run_clnet
fi

/usr/bin/python3 - "$out/clnet.json" "$out/pytorch.json" <<'EOF'
import json, sys
c, p = (json.load(open(f)) for f in sys.argv[1:3])
ci, pi = c["epochs"][0]["images_per_second"], p["epochs"][0]["images_per_second"]
print("clnet:   test accuracy %.2f%% (TTA), %.1f images/s, %.0f s of training"
      % (100 * c["test_accuracy"], ci, c["train_seconds"]))
print("PyTorch: test accuracy %.2f%% (TTA), %.1f images/s, %.0f s of training"
      % (100 * p["test_accuracy"], pi, p["train_seconds"]))
print("clnet / PyTorch training time: %.3f (first epoch's throughput ratio %.3f)"
      % (c["train_seconds"] / p["train_seconds"], ci / pi))
EOF
