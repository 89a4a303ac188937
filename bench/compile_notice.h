/* compile_notice.h - tells the user on stderr why a first start is slow: the
 * OpenCL programs clnet compiles from source (the library's build observer,
 * clnet_ctx_set_build_hook), once they have taken more than a second. */
#ifndef CLNET_BENCH_COMPILE_NOTICE_H
#define CLNET_BENCH_COMPILE_NOTICE_H

#include "clnet/context.h"

/* Installs the notice on `ctx`: after builds from source have taken more
 * than a second, "compiling up to N OpenCL programs for DEVICE (cached in
 * DIR)" once per device, then "  k/N PROGRAM S.S s" as each build ends. */
void compile_notice_install(clnet_ctx *ctx);

#endif
