/* device_list.c - parses and opens `--devices LIST` (see device_list.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device_list.h"

/* Splits "SEL:WEIGHT" in place when the text after the last ':' is a
 * number; a selector alone keeps the weight 1. */
static int parse_item(const char *cmd, char *item, float *weight)
{
    *weight = 1.0f;
    char *colon = strrchr(item, ':');
    if (!colon)
        return BENCH_EXIT_OK;
    char *end;
    float w = strtof(colon + 1, &end);
    if (end == colon + 1 || *end != '\0' || !(w > 0.0f) || !isfinite(w))
        return bench_usage_error(cmd, "--devices: bad weight '%s' in '%s' (a number > 0)",
                                 colon + 1, item);
    *colon = '\0';
    *weight = w;
    return BENCH_EXIT_OK;
}

static int open_item(const char *cmd, clnet_ctx *ctx, char *item, device_list *out)
{
    if (out->count == DEVICE_LIST_MAX)
        return bench_usage_error(cmd, "--devices: more than %d devices", DEVICE_LIST_MAX);
    int i = out->count;
    int rc = parse_item(cmd, item, &out->weights[i]);
    if (rc != BENCH_EXIT_OK)
        return rc;
    if (*item == '\0')
        return bench_usage_error(cmd, "--devices: an empty device in the list");
    clnet_status st = clnet_device_find(ctx, item, &out->devs[i]);
    if (st == CLNET_ERR_NO_DEVICE)
        return bench_usage_error(cmd, "--devices: no device matches '%s'; 'clnet-bench "
                                 "devices' lists them", item);
    if (st == CLNET_OK)
        st = clnet_device_info_get(out->devs[i], &out->info[i]);
    if (st != CLNET_OK)
        return bench_fail(cmd, ctx, st, "cannot open a device of --devices");
    out->count++;
    return BENCH_EXIT_OK;
}

int device_list_open(const char *cmd, clnet_ctx *ctx, const char *text, device_list *out)
{
    memset(out, 0, sizeof *out);
    char *copy = strdup(text);
    if (!copy) {
        fprintf(stderr, "clnet-bench %s: out of host memory\n", cmd);
        return BENCH_EXIT_FAIL;
    }
    int rc = BENCH_EXIT_OK;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item && rc == BENCH_EXIT_OK;
         item = strtok_r(NULL, ",", &save))
        rc = open_item(cmd, ctx, item, out);
    free(copy);
    if (rc == BENCH_EXIT_OK && out->count == 0)
        rc = bench_usage_error(cmd, "--devices: no device in '%s'", text);
    return rc;
}
