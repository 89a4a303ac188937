#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages clnet needs to build, test
# and benchmark. Idempotent, and fast when everything is already present.
set -euo pipefail

packages=(
    meson ninja-build pkg-config gcc libc6-dev python3
    ocl-icd-opencl-dev opencl-c-headers libclblast-dev zlib1g-dev
    pocl-opencl-icd clinfo
    dataset-fashion-mnist
    libdnnl-dev cmake   # the oneDNN baseline of `clnet-bench ops` (meson finds it through CMake)
    libpng-dev gnuplot-nox   # `clnet-bench report`: the filter grid and the charts
    libprotobuf-c-dev protobuf-c-compiler libonnx-dev   # ONNX import/export (onnx.proto)
    python3-torch python3-torchvision   # `clnet-bench run --baseline pytorch`, the ONNX tests
    python3-onnx python3-numpy   # the ONNX tests: onnx.checker, .npy files
    clang libclang-rt-14-dev   # ci/fuzz.sh: libFuzzer and the sanitizers' runtimes for clang
    oclgrind                 # ci/oclgrind.sh: the kernels on a simulated, checked device
    libopenmpi-dev openmpi-bin   # libclnet-mpi and `mpirun clnet-bench train` (tests/test_dist.sh)
)

missing=()
for p in "${packages[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != "install ok installed" ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
sudo=()
if ((EUID != 0)); then
    sudo=(sudo DEBIAN_FRONTEND=noninteractive)
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
echo "install-deps: done"
