#!/usr/bin/env bash
# test_install.sh - installs the build into a temporary root and builds
# examples/hello.c and examples/train_cfg.c against it with nothing but
# `pkg-config clnet`, then runs them: train_cfg trains and saves a net, and a
# second process loading the checkpoint must print the same accuracy.
# With MPI support built, the same for libclnet-mpi: its clnet/dist.h and
# `pkg-config clnet-mpi` build a program that joins a one-process job, and
# libclnet itself links no MPI.
# usage: test_install.sh BUILD_DIR SOURCE_DIR [SANITIZE [MPI_BUILT]]
#   SANITIZE is meson's b_sanitize ("none" or e.g. "address,undefined"): an
#   instrumented libclnet needs an instrumented program in front of it.
#   MPI_BUILT is "true" when libclnet-mpi was built.
set -euo pipefail

build_dir=$1
source_dir=$2
sanitize=${3:-none}
mpi_built=${4:-false}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clnet-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "installing $build_dir into $tmp/root"
meson install -C "$build_dir" --destdir "$tmp/root" --no-rebuild --quiet

pc=$(find "$tmp/root" -name clnet.pc -print -quit)
if [[ -z $pc ]]; then
    echo "FAIL: the install has no clnet.pc"
    exit 1
fi
# The .pc names the configured prefix; point it at the temporary root instead
# (pkg-config --define-prefix cannot, with Debian's multiarch libdir).
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir "$tmp/pkgconfig"
sed "s|^prefix=.*|prefix=$tmp/root$prefix|" "$pc" > "$tmp/pkgconfig/clnet.pc"
export PKG_CONFIG_PATH="$tmp/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

flags=$(pkg-config --cflags --libs clnet)
echo "pkg-config --cflags --libs clnet: $flags"
san_flags=()
if [[ $sanitize != none ]]; then
    san_flags=(-fsanitize="$sanitize")
fi
# shellcheck disable=SC2086  # $flags is a list of words by design
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" \
    "$source_dir/examples/hello.c" -o "$tmp/hello" $flags

libdir=$(pkg-config --variable=libdir clnet)
echo "running hello with LD_LIBRARY_PATH=$libdir"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/hello" | tee "$tmp/out"

# The Laplacian of the paraboloid is 4 inside; ReLU zeroes the negative border.
expected="0 0 0 0 0
0 4 4 4 0
0 4 4 4 0
0 4 4 4 0
0 0 0 0 0"
got=$(tail -n 5 "$tmp/out" | sed 's/-0/0/g; s/^ *//; s/  */ /g')
if [[ $got != "$expected" ]]; then
    echo "FAIL: hello printed an unexpected result; expected:"
    echo "$expected"
    exit 1
fi
if ! head -n 1 "$tmp/out" | grep -q '^relu(conv3x3(x)) on .'; then
    echo "FAIL: hello did not name its device"
    exit 1
fi
echo "PASS: the installed library builds and runs examples/hello.c"

# shellcheck disable=SC2086  # $flags is a list of words by design
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" \
    "$source_dir/examples/train_cfg.c" -o "$tmp/train_cfg" $flags
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$tmp/train_cfg" train "$tmp/bars.ckpt" | tee "$tmp/train.out"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$tmp/train_cfg" eval "$tmp/bars.ckpt" | tee "$tmp/eval.out"
trained=$(sed -n 's/^accuracy //p' "$tmp/train.out")
loaded=$(sed -n 's/^accuracy //p' "$tmp/eval.out")
if [[ -z $trained || $trained != "$loaded" ]]; then
    echo "FAIL: train_cfg: accuracy $trained after training, $loaded after loading"
    exit 1
fi
if ! awk -v a="$trained" 'BEGIN { exit !(a >= 0.5) }'; then
    echo "FAIL: train_cfg learned too little: accuracy $trained"
    exit 1
fi
echo "PASS: examples/train_cfg.c trains, saves, and a new process loads the same accuracy"

if readelf -d "$libdir/libclnet.so" | grep -qi 'mpi'; then
    echo "FAIL: libclnet links MPI: $(readelf -d "$libdir/libclnet.so" | grep -i mpi)"
    exit 1
fi
if [[ $mpi_built != true ]]; then
    echo "libclnet-mpi was not built: nothing more to check"
    exit 0
fi
mpi_pc=$(find "$tmp/root" -name clnet-mpi.pc -print -quit)
if [[ -z $mpi_pc ]]; then
    echo "FAIL: the install has no clnet-mpi.pc"
    exit 1
fi
sed "s|^prefix=.*|prefix=$tmp/root$prefix|" "$mpi_pc" > "$tmp/pkgconfig/clnet-mpi.pc"
mpi_flags=$(pkg-config --cflags --libs clnet-mpi)
echo "pkg-config --cflags --libs clnet-mpi: $mpi_flags"
cat > "$tmp/join.c" <<'C'
#include <clnet.h>
#include <clnet/dist.h>
#include <stdio.h>

int main(void)
{
    clnet_ctx *ctx = NULL;
    clnet_dist *dist = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_status st = clnet_dist_new(ctx, NULL, NULL, &dist);
    if (st != CLNET_OK) {
        fprintf(stderr, "clnet_dist_new: %s\n", clnet_last_error(ctx));
        clnet_ctx_free(ctx);
        return 1;
    }
    printf("rank %d of %d\n", clnet_dist_rank(dist), clnet_dist_size(dist));
    clnet_dist_free(dist);
    clnet_ctx_free(ctx);
    return 0;
}
C
# shellcheck disable=SC2086  # $mpi_flags is a list of words by design
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" "$tmp/join.c" -o "$tmp/join" \
    $mpi_flags
# (leak checking off: see tests/test_dist.sh on Open MPI's unloaded plugins)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/join" | tee "$tmp/join.out"
if [[ $(cat "$tmp/join.out") != "rank 0 of 1" ]]; then
    echo "FAIL: a one-process job built on clnet/dist.h printed '$(cat "$tmp/join.out")'"
    exit 1
fi
echo "PASS: clnet/dist.h and pkg-config clnet-mpi build a program that joins an MPI job"
