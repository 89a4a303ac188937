#!/usr/bin/env bash
# oclgrind.sh - every clnet kernel at least once, at small shapes, on
# Oclgrind's simulated device (Debian's `oclgrind`): a fixed subset of
# test_backend_ops's cases under `oclgrind --check-api --data-races`, with
# Oclgrind's memory checks (always on). Fails on any message Oclgrind logs
# (an out-of-bounds access, a data race, an API error) and on any case that
# fails its own comparison with `ref`.
#
# The --uninitialized plugin is left out: the Oclgrind of Debian 12 (21.10)
# does not understand LLVM's `freeze` instruction, which the kernels compile
# to, and stops with "OCLGRIND FATAL ERROR (Uninitialized.cpp:1805)
# Unsupported instruction: freeze" (in gemm_nn_8, for one) instead of
# checking the kernels' own reads.
#
# Usage: ci/oclgrind.sh BUILD_DIR, a plain build (a sanitizer runtime and
# Oclgrind's LD_PRELOAD do not mix).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
dir=${1:?usage: ci/oclgrind.sh BUILD_DIR}

# Chosen so that each kernel in cl/ runs at least once (the cases are
# those test_backend_ops names; a filter selects every case whose name
# contains it).
cases=(
    'activation_backward(hard_sigmoid,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'activation_backward(hard_swish,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'activation_backward(leaky_relu,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'activation_backward(lecun_tanh,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'activation_backward(relu,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'activation_backward(relu6,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'activation_backward(sigmoid,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'activation_backward(swish,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'activation_backward(tanh,alpha=0.1,x=-8..8) [2,3,7,7] [2,3,7,7]'
    'adam_step(lr=0.1,betas=0.9,0.999,eps=1e-08,wd=0,t=1..3) [3,13]'
    'batchnorm(eps=1e-05) [2,4,7,7] [4] [4] [4] [4]'
    'batchnorm(act=relu6,alpha=0) [2,33,3,3]'
    'batchnorm_backward(eps=1e-05,x=-1..1) [2,4,7,7] [2,4,7,7] [4] [4] [4]'
    'batchnorm_backward(act=gelu,alpha=0) [2,4,7,7]'
    'batchnorm_stats(momentum=0.1,running,x=-1..1) [2,4,7,7]'
    'batchnorm_stats(range=-1..1) [2,4,7,7]'
    'bias_add() [2,3,7,7] [3]'
    'binary(add) [2,3,7,7] [2,3,7,7]'
    'binary(mul) [2,3,7,7] [2,3,7,7]'
    'conv(act=0,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(act=1,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(act=2,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(act=3,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(act=4,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(act=5,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(act=6,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(act=7,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(act=8,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,5,72] [8,4,3,3] [8]'
    'conv(algo=direct,s=1x1,p=0,0,0,0,d=1x1,g=1,op=0x0) [1,8,7,7] [16,8,1,1]'
    'conv(algo=space_to_depth,s=2x2,p=2,2,2,2,d=1x1,g=1,op=0x0) [1,6,14,14] [16,6,5,5] [16]'
    'conv(algo=space_to_depth,s=4x4,p=2,2,2,2,d=1x1,g=1,op=0x0) [1,3,63,63] [4,3,11,11] [4]'
    'conv(algo=space_to_depth,s=3x3,p=0,0,0,0,d=1x1,g=1,op=0x0) [2,2,13,13] [3,2,3,3] [3]'
    'conv(algo=space_to_depth,s=4x4,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,2,25,25] [20,2,9,9]'
    'conv(algo=direct_rows,s=1x1,p=0,0,0,0,d=1x1,g=1,op=0x0) [3,1,32,32] [6,1,5,5] [6]'
    'conv(algo=direct_rows,s=1x1,p=0,0,0,0,d=1x1,g=1,op=0x0) [3,1,31,31]cv [6,1,5,5] [6] ->cv'
    'conv(algo=direct_rows,s=1x1,p=2,2,2,2,d=1x1,g=1,op=0x0) [3,6,10,10]cv [7,6,5,5] [7] ->cv'
    'conv(algo=direct_rows,s=1x1,p=2,2,2,2,d=1x1,g=1,op=0x0) [4,3,17,17] [1,3,5,5]'
    'conv(algo=direct_rows,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [5,1,1,1] [2,1,3,3]'
    'conv_backward_weights(algo=direct_rows,s=1x1,p=2,2,2,2,d=1x1,g=1,op=0x0) [3,6,10,10]cv [3,7,10,10]cv'
    'conv_backward_weights(algo=direct_rows,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [5,1,1,1] [5,2,1,1]'
    'conv_transpose(backward_data,algo=direct_rows,s=1x1,p=2,2,2,2,d=1x1,g=1,op=0x0) [3,7,10,10]cv [7,6,5,5] ->cv'
    'conv(algo=winograd,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,3,31,31] [8,3,3,3] [8]'
    'conv_transpose(backward_data,algo=winograd,s=1x1,p=2,1,0,2,d=1x1,g=1,op=0x0) [1,24,7,10] [24,8,3,3]'
    'conv(algo=winograd_4x4,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [3,5,7,51]cv [6,5,3,3] [6]'
    'conv(algo=winograd_4x4,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [3,8,4,4] [24,8,3,3]'
    'conv_transpose(backward_data,algo=winograd_4x4,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [3,6,7,51]cv [6,5,3,3]'
    'conv_transpose(backward_data,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,24,1,1] [24,40,3,3]'
    'conv(s=2x2,p=1,1,1,1,d=1x1,g=1,op=0x0) [3,40,2,2] [36,40,3,3] [36]'
    'conv_transpose(s=2x2,p=1,1,1,1,d=1x1,g=1,op=1x1) [2,16,1,1] [16,8,3,3] [8]'
    'conv_backward_weights(s=2x2,p=1,1,1,1,d=1x1,g=1,op=0x0) [3,40,2,2] [3,36,1,1]'
    'conv(s=1x1,p=0,0,0,0,d=1x1,g=1,op=0x0) [1,48,9,11] [36,48,1,1] [36]'
    'conv(s=1x1,p=0,0,0,0,d=1x1,g=1,op=0x0) [1,8,7,7] [16,8,1,1]'
    'conv(s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,3,31,31] [8,3,3,3] [8]'
    'conv(s=1x1,p=1,1,1,1,d=1x1,g=8,op=0x0) [2,8,13,13] [8,1,3,3] [8]'
    'conv(s=1x1,p=2,2,2,2,d=1x1,g=7,op=0x0) [1,7,7,7] [7,1,5,5] [7]'
    'conv(s=1x2,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,5,7,13] [6,5,3,3] [6]'
    'conv(s=2x2,p=0,0,0,0,d=1x1,g=1,op=0x0) [2,13,13,13] [7,13,1,1] [7]'
    'conv(algo=im2col,s=1x2,p=0,0,0,0,d=1x1,g=1,op=0x0) [2,16,190] [8,16,1] [8]'
    'conv(algo=im2col,s=4x4,p=2,2,2,2,d=1x1,g=1,op=0x0) [2,3,75,75] [8,3,11,11] [8]'
    'conv(s=2x2,p=1,1,1,1,d=1x1,g=16,op=0x0) [1,16,16,16] [16,1,3,3]'
    'conv_backward_weights(algo=im2col,s=1x1,p=0,0,0,0,d=1x1,g=1,op=0x0) [1,8,7,7] [1,16,7,7]'
    'conv_backward_weights(s=1x1,p=1,1,1,1,d=1x1,g=8,op=0x0) [2,8,13,13] [2,8,13,13]'
    'conv_backward_weights(s=2x2,p=1,1,1,1,d=1x1,g=16,op=0x0) [1,16,16,16] [1,16,8,8]'
    'conv_backward_weights(algo=space_to_depth,s=2x2,p=2,2,2,2,d=1x1,g=1,op=0x0) [1,6,14,14] [1,16,7,7]'
    'conv_backward_weights(s=1x1,p=0,0,0,0,d=1x1,g=1,op=0x0) [1,8,7,7] [1,16,7,7]'
    'conv_backward_weights(s=1x1,p=0,0,0,0,d=1x1,g=1,op=0x0) [3,64,8,8] [3,32,8,8]'
    'conv_backward_weights(s=2x2,p=0,0,0,0,d=1x1,g=1,op=0x0) [2,13,13,13] [2,7,7,7]'
    'conv_transpose(backward_data,algo=space_to_depth,s=2x2,p=2,2,2,2,d=1x1,g=1,op=1x1) [1,16,7,7] [16,6,5,5]'
    'conv_transpose(s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,4,13,13] [4,5,3,3] [5]'
    'conv_transpose(s=2x2,p=1,1,1,1,d=1x1,g=1,op=1x1) [1,16,7,7] [16,8,3,3] [8]'
    'conv(algo=direct_3x3,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,20,8,16]'
    'conv(algo=direct_3x3,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,20,2,8]'
    'conv(algo=direct_3x3,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,5,12,12] [20,5,5,5]'
    'conv_transpose(backward_data,s=1x1,p=2,2,2,2,d=1x1,g=1,op=0x0) [2,17,9,11] [17,16,5,5]'
    'conv_backward_weights(algo=direct_3x3,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,4,5,36]'
    'conv_backward_weights(algo=direct_3x3,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,2,4,32]'
    'conv(algo=direct_3x3,s=1x1,p=1,1,1,1,d=1x1,g=1,op=0x0) [1,16,2,24]cv'
    'conv(algo=direct_3x3,s=2x2,p=1,1,1,1,d=1x1,g=1,op=0x0) [2,16,16,16] [32,16,3,3] [32]'
    'conv_transpose(backward_data,s=2x2,p=1,1,1,1,d=1x1,g=1,op=1x1) [2,32,8,8] [32,16,3,3]'
    'dropout(p=0.5,seed=42,inference) [2,3,7,7]'
    'dropout(p=0.5,seed=42,training) [2,3,7,7]'
    'gemm(m=1,n=1,k=1,NN,alpha=1,beta=0) [1,1] [1,1]'
    'gemm(m=3,n=1,k=5,TT,alpha=2,beta=0.5) [5,3] [1,5]'
    'gemm(m=7,n=13,k=3,TN,alpha=-1.5,beta=0.5) [3,7] [3,13]'
    'linear(m=1) [1,1] [1,1] [1]'
    'linear(m=10) [2,16] [10,16] [10]'
    'lrn(size=1,alpha=1,beta=0.75,k=1) [2,4,5,5]'
    'lrn_backward(size=1,alpha=1,beta=0.75,k=1) [2,4,5,5] [2,4,5,5]'
    'mse_loss(scale=0.25) [4,10] [4,10]'
    'pool(avg,adaptive,out=3x3) [2,3,7,7]'
    'pool(avg,global,k=0x0,s=0x0,p=0,0,0,0) [1,5,13,31]'
    'pool(avg,window,k=2x2,s=2x2,p=0,0,0,0) [2,3,8,8]'
    'pool(max,global,k=0x0,s=0x0,p=0,0,0,0) [2,3,7,7]'
    'pool(max,window,k=2x2,s=2x2,p=0,0,0,0) [2,3,8,8]'
    'pool(max,window,k=3x3,s=2x2,p=1,1,1,1) [1,4,16,16]'
    'pool(max,window,k=2x2,s=2x2,p=0,0,0,0) [2,5,31,31]'
    'pool(max,window,k=2x2,s=2x2,p=0,0,0,0) [2,3,7,7]'
    'pool(max,window,k=3x3,s=3x3,p=0,0,0,0) [4,8,3,3]'
    'pool_backward(avg,adaptive,out=3x3) [2,3,7,7] [2,3,3,3]'
    'pool_backward(avg,global,k=0x0,s=0x0,p=0,0,0,0) [1,5,13,31] [1,5,1,1]'
    'pool_backward(max,global,k=0x0,s=0x0,p=0,0,0,0) [2,3,7,7] [2,3,1,1]'
    'pool_backward(max,window,k=2x2,s=2x2,p=0,0,0,0) [2,3,8,8] [2,3,4,4]'
    'pool_backward(max,window,k=2x2,s=2x2,p=0,0,0,0,argmax) [1,3,18,40]'
    'pool_backward(max,window,k=2x1,s=3x2,p=0,0,0,0,argmax) [1,2,10,13]'
    'pool_backward(max,window,k=3x3,s=2x2,p=1,1,1,1,argmax) [1,4,16,16]'
    'rbf(m=10) [2,84] [10,84]'
    'reduce_sum(per_channel) [2,3,7,7]'
    'sgd_step(lr=0.05,momentum=0.9,wd=0,steps=3) [2,3,7,7]'
    'sgd_step(lr=0.1,momentum=0,wd=0,steps=3) [3,13]'
    'softmax(plain,range=-1..1) [2,10]'
    'softmax_xent(smoothing=0,scale=0.25,logits=-1..1) [4,10] [4]i32'
    'unpool(out=8x8,indices=window) [2,3,4,4] [2,3,4,4]i32'
)

log=$dir/oclgrind.log
cache=$(mktemp -d)
rm -f "$log"
start=$EPOCHREALTIME
CLNET_CACHE_DIR=$cache CLNET_TEST_REQUIRE_DEVICE=1 \
    oclgrind --check-api --data-races --log "$log" \
    "$dir/tests/test_backend_ops" "${cases[@]}"
rc=$?
rm -rf "$cache"
us=$((${EPOCHREALTIME/[.,]/} - ${start/[.,]/}))
echo "oclgrind: test_backend_ops exit $rc, $((us / 1000000)).$((us / 100000 % 10)) s"
if [[ -s $log ]]; then
    echo "oclgrind: Oclgrind reported errors:"
    head -n 60 "$log"
    exit 1
fi
exit "$rc"
