#!/usr/bin/env bash
# onnx_zoo_roundtrip.sh - every zoo model through ONNX and back: exported
# with seeded weights by `clnet-bench export`, checked by onnx.checker
# (full_check), then the same random input (2 images) run through
# `clnet-bench infer --model` and `infer --onnx` on the first OpenCL device;
# a Markdown table of the parameters, the checker's verdict, the largest
# per-image relative L2 error between the two outputs and the seconds each
# step took, or the export's refusal for a model with no ONNX equivalent.
# Cheapest model first (MACs per image), so that a run stopped early has
# covered the most models. Exit 1 when a model that exports fails a step.
#
# usage: bench/onnx_zoo_roundtrip.sh [BUILD_DIR] [MODELS]
#   BUILD_DIR  default build
#   MODELS     comma-separated zoo names to run instead of all of them
# Needs Debian's python3-onnx and python3-numpy (/usr/bin/python3).
set -uo pipefail
build=${1:-build}
bench=$build/bench/clnet-bench
py=/usr/bin/python3
# export writes the weights bit for bit and import builds the same layers
tolerance=1e-6
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name, input and parameters of each zoo model, cheapest first
"$bench" models --csv | tail -n +2 | sort -t, -k4,4n | cut -d, -f1-3 > "$work/models.csv" ||
    exit 1
if [[ -n ${2:-} ]]; then
    tr ',' '\n' <<< "$2" | while read -r m; do grep "^$m," "$work/models.csv"; done \
        > "$work/chosen.csv"
    mv "$work/chosen.csv" "$work/models.csv"
fi

# tool.py input SHAPE OUT | check FILE | compare A B: the steps that need
# NumPy or onnx; check and compare print their verdict on one line
cat > "$work/tool.py" <<'PY'
import sys
import numpy as np
what = sys.argv[1]
if what == 'input':
    shape = [2] + [int(d) for d in sys.argv[2].split('x')]
    x = np.random.default_rng(12).uniform(-1, 1, shape).astype(np.float32)
    np.save(sys.argv[3], x)
elif what == 'check':
    import onnx
    try:
        onnx.checker.check_model(onnx.load(sys.argv[2]), full_check=True)
        print('ok')
    except Exception as e:
        print('FAILED: ' + str(e).splitlines()[0])
else:
    a, b = np.load(sys.argv[2]).astype(np.float64), np.load(sys.argv[3]).astype(np.float64)
    if a.shape != b.shape:
        print('shapes %s and %s' % (a.shape, b.shape))
    else:
        a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
        print('%.2e' % max(np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1)))
PY

# seconds since $1 (date +%s.%N)
since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }
# a message as one table cell
cell() { tr '\n|' ' /' <<< "$1" | cut -c1-300; }

echo "| model | input | params | onnx.checker | max rel. L2 error | export + check s | infer --model s | infer --onnx s |"
echo "|---|---|---|---|---|---|---|---|"
failed=0
while IFS=, read -r name input params; do
    onnx=$work/$name.onnx
    t=$(date +%s.%N)
    if ! "$bench" export --model "$name" --onnx "$onnx" 2> "$work/err"; then
        echo "| $name | $input | $params | refused: $(cell "$(cat "$work/err")") | | $(since "$t") | | |"
        grep -q "not supported" "$work/err" || failed=1
        continue
    fi
    check=$("$py" "$work/tool.py" check "$onnx")
    t_export=$(since "$t")
    "$py" "$work/tool.py" input "$input" "$work/x.npy"
    t=$(date +%s.%N)
    why=""
    "$bench" infer --model "$name" --device 0 --input "$work/x.npy" --output "$work/a.npy" \
        2> "$work/err" || why="infer --model: $(cell "$(cat "$work/err")")"
    t_model=$(since "$t")
    t=$(date +%s.%N)
    "$bench" infer --onnx "$onnx" --device 0 --input "$work/x.npy" --output "$work/b.npy" \
        2> "$work/err" || why="${why:-infer --onnx: $(cell "$(cat "$work/err")")}"
    t_onnx=$(since "$t")
    err=${why:-$("$py" "$work/tool.py" compare "$work/a.npy" "$work/b.npy")}
    [[ $check == ok ]] || failed=1
    if [[ $err =~ ^[0-9.]+e[-+][0-9]+$ ]]; then
        awk -v e="$err" -v tol=$tolerance 'BEGIN { exit !(e + 0 > tol) }' &&
            err="$err (above $tolerance)" && failed=1
    else
        failed=1
    fi
    echo "| $name | $input | $params | $check | $err | $t_export | $t_model | $t_onnx |"
    rm -f "$onnx" "$work"/*.npy
done < "$work/models.csv"
exit $failed
