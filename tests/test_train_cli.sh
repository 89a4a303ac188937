#!/usr/bin/env bash
# test_train_cli.sh - `clnet-bench train` and `eval` as a user runs them on
# MNIST: a run resumed from its first epoch's checkpoint ends with the same
# losses and a byte-identical checkpoint as the uninterrupted run; a net from
# a cfg file with its own [net] mean/std trains, keeps its normalisation, and
# `eval --cfg` prints the test accuracy train printed last; --val with
# --save-best writes FILE.best; eval --multi-crop is its --tta alias and
# --tta airbench stands alone; --finetune with --freeze (by name) and --head
# trains a new head, and names an unknown layer or a frozen head in its
# usage error; --resize feeds a net of another input size, and eval --resize
# gives train's accuracy; train --json carries the results schema's
# top-level keys; --sync-bn without two or more --devices is refused;
# report's training table has a row per epoch. Skips
# (77) when MNIST is not found.
# usage: test_train_cli.sh CLNET_BENCH
set -uo pipefail

bench=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clnet-train-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
small=(--data mnist --limit 640 --test-limit 200 --batch 64)
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# The last epoch line of a train log: epoch number and every figure but the
# timings (images/s and seconds differ from run to run).
last_epoch() {
    grep -E '^ +[0-9]+ ' "$1" | tail -1 | awk '{print $1, $2, $3, $4, $5, $6}'
}

if ! "$bench" train --model lenet5 "${small[@]}" --epochs 2 --save "$tmp/full.ckpt" \
        > "$tmp/full.log" 2>&1; then
    if grep -q "files not found" "$tmp/full.log"; then
        echo "SKIP: MNIST not found"
        exit 77
    fi
    cat "$tmp/full.log"
    fail "the uninterrupted run failed"
fi
"$bench" train --model lenet5 "${small[@]}" --epochs 1 --save "$tmp/half.ckpt" \
    > "$tmp/half.log" 2>&1 || fail "the first epoch's run failed"
"$bench" train --model lenet5 "${small[@]}" --epochs 2 --resume "$tmp/half.ckpt" \
    --save "$tmp/resumed.ckpt" > "$tmp/resumed.log" 2>&1 || fail "the resumed run failed"
cat "$tmp/resumed.log"
if [[ $(last_epoch "$tmp/full.log") != "$(last_epoch "$tmp/resumed.log")" ]]; then
    fail "resumed: '$(last_epoch "$tmp/resumed.log")', uninterrupted: '$(last_epoch "$tmp/full.log")'"
fi
cmp -s "$tmp/full.ckpt" "$tmp/resumed.ckpt" || fail "the resumed run's checkpoint differs"
"$bench" train --model lenet5 "${small[@]}" --epochs 2 --resume "$tmp/full.ckpt" \
    > "$tmp/done.log" 2>&1 && fail "resuming a finished run was accepted"
grep -q "already holds 2 epochs" "$tmp/done.log" || fail "finished run: $(cat "$tmp/done.log")"

# A cfg of one's own with its normalisation, then eval in a fresh process.
cat > "$tmp/mine.cfg" <<'CFG'
[net]
input = 1x28x28
mean = 0.13
std = 0.31
learning_rate = 0.05
momentum = 0.9

[conv]
name = c1
filters = 4
size = 5
activation = relu

[maxpool]
size = 2

[linear]
name = head
outputs = 10
CFG
"$bench" train --cfg "$tmp/mine.cfg" "${small[@]}" --epochs 1 --val 128 --save "$tmp/mine.ckpt" \
    --save-best > "$tmp/mine.log" 2>&1 || { cat "$tmp/mine.log"; fail "train --cfg failed"; }
cat "$tmp/mine.log"
[[ -f $tmp/mine.ckpt.best ]] || fail "--save-best wrote no $tmp/mine.ckpt.best"
# with --val the columns are: epoch lr train_loss train_acc val_acc test_loss test_acc
trained=$(grep -E '^ +[0-9]+ ' "$tmp/mine.log" | tail -1 | awk '{print $7}')
"$bench" eval --cfg "$tmp/mine.cfg" --checkpoint "$tmp/mine.ckpt" --data mnist --limit 200 \
    > "$tmp/eval.log" 2>&1 || { cat "$tmp/eval.log"; fail "eval --cfg failed"; }
cat "$tmp/eval.log"
evaluated=$(awk -v f="$tmp/mine.ckpt" '$1 == f {print $3}' "$tmp/eval.log")
[[ -n $trained && $trained == "$evaluated" ]] ||
    fail "eval --cfg gives test accuracy '$evaluated', train printed '$trained'"

# --multi-crop PAD is --tta crops=PAD,mirror: the same figures
row() {
    "$bench" eval --model lenet5 --checkpoint "$tmp/full.ckpt" --data mnist --limit 200 "$@" |
        awk -v f="$tmp/full.ckpt" '$1 == f {print $2, $3}'
}
crops=$(row --multi-crop 2)
[[ -n $crops && $crops == "$(row --tta crops=2,mirror)" ]] ||
    fail "--multi-crop 2 gives '$crops', --tta crops=2,mirror '$(row --tta crops=2,mirror)'"
[[ -n $(row --tta translate=1) ]] || fail "eval --tta translate=1 printed no result"
[[ -n $(row --tta airbench=1) ]] || fail "eval --tta airbench=1 printed no result"
"$bench" eval --model lenet5 --checkpoint "$tmp/full.ckpt" --data mnist --tta airbench,mirror \
    >/dev/null 2>&1 && fail "eval --tta airbench,mirror was accepted"

# --json: the results schema's top-level keys (docs/results/README.md)
json=$("$bench" train --model lenet5 --data mnist --limit 64 --test-limit 32 --batch 64 \
    --epochs 1 --json 2>/dev/null) || fail "train --json failed"
for key in test_accuracy test_loss command clnet_version device wall_seconds; do
    [[ $json == *"\"$key\": "* ]] || fail "train --json has no \"$key\""
done
[[ $json == *'"epochs": [{"epoch": 1, '* ]] || fail "train --json has no \"epochs\" list"

# Transfer learning: the digits checkpoint with a 12-way head, features frozen.
"$bench" train --model lenet5 "${small[@]}" --epochs 1 --finetune "$tmp/full.ckpt" \
    --freeze pool2 --head 12 > "$tmp/ft.log" 2>&1 || { cat "$tmp/ft.log"; fail "--finetune failed"; }
cat "$tmp/ft.log"
grep -q "a new head fc3 (layer 8) of 12 outputs" "$tmp/ft.log" || fail "--finetune: no new head"
grep -q "frozen: layers 1 (conv1) to 4 (pool2)" "$tmp/ft.log" || fail "--freeze pool2 froze no layers"
"$bench" train --model lenet5 "${small[@]}" --finetune "$tmp/full.ckpt" --freeze pool9 \
    > "$tmp/ft.log" 2>&1 && fail "--freeze pool9 was accepted"
grep -q -- "--freeze pool9: the net has no layer of that name" "$tmp/ft.log" ||
    fail "--freeze pool9: $(cat "$tmp/ft.log")"
"$bench" train --model lenet5 "${small[@]}" --finetune "$tmp/full.ckpt" --freeze fc3 \
    > "$tmp/ft.log" 2>&1 && fail "freezing the new head was accepted"
grep -q "reaches the head fc3" "$tmp/ft.log" || fail "--freeze fc3: $(cat "$tmp/ft.log")"

# --resize: LeNet-5 built for 32x32, fed the 28x28 digits resized.
"$bench" train --model lenet5 "${small[@]}" --epochs 1 --resize 32x32 --save "$tmp/r.ckpt" \
    > "$tmp/r.log" 2>&1 || { cat "$tmp/r.log"; fail "train --resize failed"; }
cat "$tmp/r.log"
grep -q "resized to 32x32" "$tmp/r.log" || fail "train --resize 32x32 did not say so"
trained=$(grep -E '^ +[0-9]+ ' "$tmp/r.log" | tail -1 | awk '{print $6}')
evaluated=$("$bench" eval --model lenet5 --checkpoint "$tmp/r.ckpt" --data mnist --limit 200 \
    --resize 32x32 | awk -v f="$tmp/r.ckpt" '$1 == f {print $3}')
[[ -n $trained && $trained == "$evaluated" ]] ||
    fail "eval --resize gives test accuracy '$evaluated', train printed '$trained'"
"$bench" eval --model lenet5 --checkpoint "$tmp/r.ckpt" --data mnist --limit 200 \
    > "$tmp/r.log" 2>&1 && fail "a 32x32 checkpoint evaluated on 28x28 images without --resize"

# --sync-bn applies across the devices of --devices only.
"$bench" train --model lenet5 "${small[@]}" --epochs 1 --sync-bn > "$tmp/s.log" 2>&1 &&
    fail "--sync-bn without --devices was accepted"
grep -q -- "--sync-bn synchronises batch norm across the devices" "$tmp/s.log" ||
    fail "--sync-bn without --devices: $(cat "$tmp/s.log")"
"$bench" train --model lenet5 "${small[@]}" --epochs 1 --devices 0 --sync-bn \
    > "$tmp/s.log" 2>&1 && fail "--sync-bn with one device was accepted"
grep -q "nothing to synchronise" "$tmp/s.log" || fail "--sync-bn, one device: $(cat "$tmp/s.log")"

# report's LeNet-5 table has one row per epoch trained: the results file's
# "figures" list, after its epochs, once read as a sixth epoch of NaNs.
"$bench" report --quick --out "$tmp/report" > "$tmp/report.log" 2>&1 ||
    { cat "$tmp/report.log"; fail "report --quick failed"; }
rows=$(sed -n '/^## LeNet-5 on MNIST/,/^Final test accuracy/p' "$tmp/report/report.md" |
    grep -cE '^\| [0-9]+ \|')
[[ $rows == 3 ]] || fail "report --quick: $rows epoch rows in the LeNet-5 table, not 3"
grep -q "after 3 epochs" "$tmp/report/report.md" || fail "report --quick: not 'after 3 epochs'"
grep -qiw "nan" "$tmp/report/report.md" && fail "report --quick: NaN in the report"

if ((failures)); then
    echo "$failures failures"
    exit 1
fi
echo "train and eval from the command line: all checks passed"
