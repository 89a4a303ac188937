#!/bin/sh
# cifar10_fast_compare.sh - the cifar10-fast recipe's short check and its time
# against PyTorch on the same machine, one after the other in one run:
#
#   bench/cifar10_fast_compare.sh CLNET_BENCH [EPOCHS [LIMIT [TEST_LIMIT [OUT [SEED]]]]]
#
# runs `clnet-bench train --recipe cifar10-fast --epochs EPOCHS --limit LIMIT
# --test-limit TEST_LIMIT --results OUT --seed SEED` (defaults 1, 5000, 10000,
# clnet-cifar10-fast, 1), then bench/airbench_pytorch.py with the same settings
# (threads: the number of CPUs, PoCL's compute units), and prints both
# training throughputs (images/s of the first epoch, which both spend on the
# same steps of 1024 images) and their ratio. With 1 epoch of 5,000 images
# the net must already learn well above chance (10%). Needs Debian's
# python3-torch; the full recipe (9.9 epochs) is the same command with
# EPOCHS 9.9 and LIMIT 50000.
set -eu
bench=${1:?usage: cifar10_fast_compare.sh CLNET_BENCH [EPOCHS [LIMIT [TEST_LIMIT [OUT [SEED]]]]]}
epochs=${2:-1}
limit=${3:-5000}
test_limit=${4:-10000}
out=${5:-clnet-cifar10-fast}
seed=${6:-1}
here=$(dirname "$0")
mkdir -p "$out"

"$bench" train --recipe cifar10-fast --epochs "$epochs" --limit "$limit" \
    --test-limit "$test_limit" --results "$out" --seed "$seed" --json >"$out/clnet.json"
/usr/bin/python3 "$here/airbench_pytorch.py" --epochs "$epochs" --limit "$limit" \
    --test-limit "$test_limit" --seed "$seed" --json >"$out/pytorch.json"

/usr/bin/python3 - "$out/clnet.json" "$out/pytorch.json" <<'EOF'
import json, sys
c, p = (json.load(open(f)) for f in sys.argv[1:3])
ci, pi = c["epochs"][0]["images_per_second"], p["epochs"][0]["images_per_second"]
print("clnet:   test accuracy %.2f%% (TTA), %.1f images/s, %.0f s of training"
      % (100 * c["test_accuracy"], ci, c["train_seconds"]))
print("PyTorch: test accuracy %.2f%% (TTA), %.1f images/s, %.0f s of training"
      % (100 * p["test_accuracy"], pi, p["train_seconds"]))
print("clnet / PyTorch throughput: %.3f" % (ci / pi))
EOF
