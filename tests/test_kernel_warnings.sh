#!/bin/bash
# Every kernel file of cl/, with common.clh in front as the library embeds
# it, compiles without a warning under clang's OpenCL C 1.2 front end: a
# warning such as -Wparentheses in a kernel reaches PoCL's build log, where
# nothing reads it. Optimised too (-O2, as PoCL builds a program), since the
# optimiser's warnings ("loop not unrolled") PoCL prints on the user's
# stderr; for x86-64 with AVX-512, or every float16 would warn that it
# changes the ABI. Skipped (77) without clang, unless
# CLNET_TEST_REQUIRE_DEVICE (CI, whose dependencies include clang) asks for
# every check.
# usage: test_kernel_warnings.sh COMMON_CLH FILE.cl...
common=$1
shift
if ! command -v clang > /dev/null; then
    echo "clang not found: kernel warnings not checked"
    [ "${CLNET_TEST_REQUIRE_DEVICE:-0}" = 1 ] && exit 1
    exit 77
fi
status=0
for f in "$@"; do
    if report=$(cat "$common" "$f" | clang -x cl -cl-std=CL1.2 -O2 -mavx512f -emit-llvm -c \
            -o /dev/null -Werror -Xclang -finclude-default-header - 2>&1); then
        echo "ok: $(basename "$f")"
    else
        echo "FAIL: $(basename "$f") (line numbers count common.clh's $(wc -l < "$common") lines first)"
        echo "$report"
        status=1
    fi
done
exit $status
