/* compile_notice.c - the stderr notice of OpenCL program builds (see
 * compile_notice.h). */
#include "compile_notice.h"
#include "bench.h"

#include <stdio.h>
#include <string.h>

/* Below this much building, a start-up is quick enough to say nothing. */
#define QUIET_MS 1000.0

/* One notice per process: every context of clnet-bench shares it, and the
 * library calls it under a context's lock, one build at a time. */
static struct {
    double first_start_ms;      /* when the first build began; < 0 before */
    char device[128];           /* the device whose header was printed last */
} notice = {.first_start_ms = -1};

static void on_build(void *user, const clnet_build_event *e)
{
    (void)user;
    if (!e->done) {
        if (notice.first_start_ms < 0)
            notice.first_start_ms = bench_now_ms();
        return;
    }
    if (bench_now_ms() - notice.first_start_ms <= QUIET_MS)
        return;
    if (strcmp(notice.device, e->device) != 0) {
        snprintf(notice.device, sizeof notice.device, "%s", e->device);
        if (e->cache_dir)
            fprintf(stderr, "compiling up to %d OpenCL programs for %s (cached in %s)\n",
                    e->total, e->device, e->cache_dir);
        else if (e->driver_caches)
            fprintf(stderr, "compiling up to %d OpenCL programs for %s (cached by the "
                    "driver)\n", e->total, e->device);
        else
            fprintf(stderr, "compiling up to %d OpenCL programs for %s (not cached: "
                    "CLNET_CACHE_DIR=off)\n", e->total, e->device);
    }
    fprintf(stderr, "  %d/%d %s%s%s %.1f s%s\n", e->index, e->total, e->program,
            *e->options ? " " : "", e->options, e->ms / 1e3, e->ok ? "" : " (failed)");
}

void compile_notice_install(clnet_ctx *ctx)
{
    clnet_ctx_set_build_hook(ctx, on_build, NULL);
}
