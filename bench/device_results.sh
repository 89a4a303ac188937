#!/usr/bin/env bash
# device_results.sh - writes this machine's results files for
# docs/results/devices/: a few layers of the suite at batch 32 (`ops
# --json`) and a few zoo models forward and as a training step (`run
# --json`), on one device, each file named after the device, so that files
# from other machines sit beside them and `clnet-bench compare` reads them.
# usage: device_results.sh CLNET_BENCH OUT_DIR [DEVICE]
set -euo pipefail

bench=$1
out=$2
device=${3:-0}
mkdir -p "$out"
tmp=$out/.ops-b32.json
"$bench" ops --device "$device" --batch 32 --reps 3 --pass both --json \
    --layer resnet50_3x3,resnet50_1x1,mobilenet_v2_dw3x3,resnet20_32x16,fc4096 > "$tmp"
name=$(grep -o '"device": "[^"]*"' "$tmp" | tail -1 | sed 's/"device": "\(.*\)"/\1/')
base=$out/$(tr -c 'A-Za-z0-9._\n-' '-' <<< "$name")
mv "$tmp" "$base-ops-b32.json"
for spec in "resnet20 32" "resnet20 32 --train" "lenet5 64 --train" "resnet50 8" \
            "mobilenet_v2 8"; do
    read -r model batch train <<< "$spec"
    "$bench" run --device "$device" --model "$model" --batch "$batch" --reps 3 $train --json \
        > "$base-run-$model-b$batch${train:+-train}.json"
done
ls "$base"-*.json
