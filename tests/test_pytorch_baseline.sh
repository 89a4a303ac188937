#!/usr/bin/env bash
# test_pytorch_baseline.sh - `clnet-bench run --baseline pytorch` builds the
# same network as clnet's zoo (the parameter counts must agree, or the run
# fails) and reports both step times and their ratio, for the four models of
# the training-step comparison. Skipped (77) without python3-torch and
# python3-torchvision, except where CLNET_TEST_REQUIRE_DEVICE is set (CI).
set -uo pipefail
bench=$1

have_torch=0
for py in python3 /usr/bin/python3; do
    if "$py" -c 'import torch, torchvision' 2>/dev/null; then
        have_torch=1
    fi
done
if ((!have_torch)); then
    if [[ -n ${CLNET_TEST_REQUIRE_DEVICE:-} && ${CLNET_TEST_REQUIRE_DEVICE} != 0 ]]; then
        echo "FAIL: python3-torch/python3-torchvision missing and CLNET_TEST_REQUIRE_DEVICE is set"
        exit 1
    fi
    echo "SKIP: python3-torch or python3-torchvision is not installed"
    exit 77
fi

fail=0
while read -r model opts; do
    # shellcheck disable=SC2086
    out=$("$bench" run --model "$model" $opts --train --batch 2 --reps 1 --baseline pytorch \
          --json) || { echo "FAIL: $model $opts: clnet-bench run failed"; fail=1; continue; }
    for field in '"baseline_ms": ' '"ratio": ' '"host_wait_ms": '; do
        if [[ $out != *"$field"* ]]; then
            echo "FAIL: $model: no $field in $out"
            fail=1
        fi
    done
    echo "ok: $model $opts"
done <<'MODELS'
lenet5
resnet20
resnet18 --input 3x32x32 --classes 10
mobilenet_v2 --input 3x32x32 --classes 10
MODELS

# a model without a PyTorch twin is refused, not compared with something else
err=$("$bench" run --model nin --input 3x64x64 --classes 10 --batch 1 --reps 1 \
      --baseline pytorch 2>&1 >/dev/null)
if [[ $? == 0 || $err != *"no PyTorch twin"* ]]; then
    echo "FAIL: nin ran against a PyTorch baseline, or failed for another reason: $err"
    fail=1
fi
exit $fail
