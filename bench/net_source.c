/* net_source.c - the net `export` and `infer` work on: a zoo model, a cfg
 * file or an imported ONNX model, bound to a device with a checkpoint's
 * weights or seeded ones, built the same way by both commands. */
#include <stdlib.h>

#include "models.h"

int net_source_parse(bench_opts *o, net_source *src, bool *matched)
{
    const char *v = NULL;
    int rc = model_opts_parse(o, &src->m, matched);
    if (rc != BENCH_EXIT_OK || *matched)
        return rc;
    *matched = true;
    if (bench_opt_value(o, "--seed", &v)) {
        if (v && !bench_parse_int(o->cmd, "--seed", v, 0, 0x7fffffffffffffffL, &src->seed))
            return BENCH_EXIT_USAGE;
    } else if (!bench_opt_value(o, "--model", &src->model) &&
               !bench_opt_value(o, "--cfg", &src->cfg) &&
               !bench_opt_value(o, "--checkpoint", &src->checkpoint)) {
        *matched = false;
    }
    return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

int net_source_check(const char *cmd, const net_source *src)
{
    int given = (src->model != NULL) + (src->cfg != NULL) + (src->m.onnx != NULL);
    if (given != 1)
        return bench_usage_error(cmd, "give one of %s", src->onnx_allowed
                                                            ? "--model, --cfg and --onnx"
                                                            : "--model and --cfg");
    if (src->m.resolution > 0 && !src->model)
        return bench_usage_error(cmd, "--resolution applies to --model only%s",
                                 src->onnx_allowed ? "" : " (--input CxHxW shapes a cfg's net)");
    return BENCH_EXIT_OK;
}

int net_source_open(const char *cmd, clnet_ctx *ctx, const net_source *src, clnet_device *dev,
                    int batch, clnet_net **out)
{
    clnet_net *net = NULL;
    clnet_status st = CLNET_OK;
    int rc = BENCH_EXIT_OK;
    if (src->cfg)
        st = clnet_net_load_cfg(ctx, src->cfg, &src->m.ov, &net);
    else
        rc = model_build(cmd, ctx, src->model, &src->m, &net);
    if (st != CLNET_OK)
        rc = bench_fail(cmd, ctx, st, "cannot build the cfg's net");
    /* weights the net already has (an imported model's) keep their values */
    if (rc == BENCH_EXIT_OK &&
        (st = clnet_net_bind(net, dev, batch, CLNET_INIT_HE_NORMAL, (uint64_t)src->seed)) !=
            CLNET_OK)
        rc = bench_fail(cmd, ctx, st, "cannot allocate the net on the device");
    if (rc == BENCH_EXIT_OK && src->checkpoint &&
        (st = clnet_net_load(net, src->checkpoint)) != CLNET_OK)
        rc = bench_fail(cmd, ctx, st, "cannot load the checkpoint");
    if (rc != BENCH_EXIT_OK) {
        clnet_net_free(net);
        net = NULL;
    }
    *out = net;
    return rc;
}
