/* device_list.h - `--devices LIST` of `clnet-bench train`: the devices of a
 * data-parallel run, each with an optional weight for its share of the batch. */
#ifndef CLNET_BENCH_DEVICE_LIST_H
#define CLNET_BENCH_DEVICE_LIST_H

#include "bench.h"

#define DEVICE_LIST_MAX 16

typedef struct device_list {
    clnet_device *devs[DEVICE_LIST_MAX];
    clnet_device_info info[DEVICE_LIST_MAX];
    float weights[DEVICE_LIST_MAX];  /* 1 where the list gives none */
    int count;
} device_list;

/* Opens the devices of `text`: comma-separated selectors (an index, a name
 * substring or "ref", as --device takes them), each optionally followed by
 * ":WEIGHT", a number > 0 (default 1), e.g. "0,1" or "0:3,1:1". Returns an
 * exit code; a bad item or a selector that matches nothing is a usage error
 * naming it. */
int device_list_open(const char *cmd, clnet_ctx *ctx, const char *text, device_list *out);

#endif
