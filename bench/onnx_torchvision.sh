#!/usr/bin/env bash
# onnx_torchvision.sh - every torchvision 0.14 classification model at its
# native input, exported to ONNX (opset 13) with seeded random weights and
# batch-norm statistics, run by clnet and compared with PyTorch: a Markdown
# table of the relative L2 error and the time of `clnet-bench infer` per
# model (import, binding, kernel builds and one image).
#
# usage: bench/onnx_torchvision.sh [BUILD_DIR] [DEVICES] [MODELS]
#   BUILD_DIR  default build
#   DEVICES    comma-separated clnet-bench device selectors (default 0)
#   MODELS     comma-separated NAME:SIZE:OPSET to run instead of all of them
# Needs Debian's python3-torch, python3-torchvision, python3-onnx.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
devices=${2:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(--native --table --devices "$devices")
if [[ -n ${3:-} ]]; then
    args+=(--models "$3")
fi
/usr/bin/python3 "$here/tests/onnx_torchvision.py" "$build/bench/clnet-bench" "$work" "${args[@]}"
