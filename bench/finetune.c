/* finetune.c - transfer learning from the command line (see finetune.h). */
#include <stdlib.h>
#include <string.h>

#include "finetune.h"

int finetune_layer_id(const char *cmd, const char *opt, clnet_net *net, const char *which,
                      int *id)
{
    if (clnet_net_find_layer(net, which, id) == CLNET_OK)
        return BENCH_EXIT_OK;
    char *end;
    long n = strtol(which, &end, 10);
    int count = clnet_net_layer_count(net);
    if (which[0] >= '0' && which[0] <= '9' && *end == '\0' && n < count) {
        *id = (int)n;
        return BENCH_EXIT_OK;
    }
    return bench_usage_error(cmd, "%s %s: the net has no layer of that name, nor that index "
                             "(0..%d; `clnet-bench models --layers` lists them)", opt, which,
                             count - 1);
}

/* Layer `id`'s name, for messages. */
static const char *layer_name(const clnet_net *net, int id)
{
    clnet_layer_info info;
    return clnet_net_layer_info(net, id, &info) == CLNET_OK ? info.name : "?";
}

/* --freeze: layers 1..upto, all before the head. */
static int freeze(const char *cmd, clnet_ctx *ctx, clnet_net *net, const finetune_spec *f,
                  int head, FILE *log)
{
    int upto = 0;
    if (!f->freeze)
        return BENCH_EXIT_OK;
    int rc = finetune_layer_id(cmd, "--freeze", net, f->freeze, &upto);
    if (rc != BENCH_EXIT_OK)
        return rc;
    if (upto >= head)
        return bench_usage_error(cmd, "--freeze %s (layer %d) reaches the head %s (layer %d), "
                                 "which is new and must train: freeze up to layer %d at most",
                                 f->freeze, upto, layer_name(net, head), head, head - 1);
    if (upto == 0)
        return BENCH_EXIT_OK;
    clnet_status st = clnet_net_freeze(net, 1, upto, true);
    if (st != CLNET_OK)
        return bench_fail(cmd, ctx, st, "cannot freeze the layers");
    fprintf(log, "frozen: layers 1 (%s) to %d (%s)\n", layer_name(net, 1), upto,
            layer_name(net, upto));
    return BENCH_EXIT_OK;
}

int finetune_model_new(const char *cmd, clnet_ctx *ctx, const char *text, const char *name,
                       const clnet_dataset *ds, const finetune_spec *f, clnet_device *dev,
                       int batch, uint64_t seed, FILE *log, clnet_net **out)
{
    clnet_cfg_overrides ov = {
        .classes = f->head,
        .input = training_input_shape(ds, f->resize),
    };
    *out = NULL;
    clnet_net *net = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, text, name, &ov, &net);
    if (st != CLNET_OK)
        return bench_fail(cmd, ctx, st, "cannot build the model");
    int head = 0, rc = BENCH_EXIT_FAIL;
    char what[1100];
    st = clnet_net_find_head(net, &head);
    if (st != CLNET_OK) {
        rc = bench_fail(cmd, ctx, st, "--finetune needs a classifier head to replace");
        goto out;
    }
    st = clnet_net_load_backbone(net, f->checkpoint, head);
    if (st != CLNET_OK) {
        snprintf(what, sizeof what, "cannot fine-tune from %s", f->checkpoint);
        rc = bench_fail(cmd, ctx, st, what);
        goto out;
    }
    st = clnet_net_bind(net, dev, batch, CLNET_INIT_HE_NORMAL, seed);
    if (st != CLNET_OK) {
        rc = bench_fail(cmd, ctx, st, "cannot allocate the model on the device");
        goto out;
    }
    fprintf(log, "fine-tuning %s: layers 1 to %d from %s, a new head %s (layer %d) of %d "
            "outputs\n", name, head - 1, f->checkpoint, layer_name(net, head), head, f->head);
    rc = freeze(cmd, ctx, net, f, head, log);
out:
    if (rc == BENCH_EXIT_OK)
        *out = net;
    else
        clnet_net_free(net);
    return rc;
}
