/* training.c - device, dataset and model set-up shared by `clnet-bench train`
 * and `clnet-bench eval` (see training.h). */
#include <math.h>
#include <string.h>

#include "training.h"

static const char *const data_names[] = {"mnist", "fashion-mnist", "cifar10", "cifar100"};

bool training_data_known(const char *name)
{
    for (size_t i = 0; i < sizeof data_names / sizeof data_names[0]; i++)
        if (strcmp(name, data_names[i]) == 0)
            return true;
    return false;
}

int training_data_load(const char *cmd, clnet_ctx *ctx, const char *name, const char *dir,
                       training_data *out)
{
    memset(out, 0, sizeof *out);
    clnet_status st = clnet_dataset_load(ctx, name, CLNET_SPLIT_TRAIN, dir, &out->train);
    if (st != CLNET_OK)
        return bench_fail(cmd, ctx, st, "cannot load the training split");
    st = clnet_dataset_load(ctx, name, CLNET_SPLIT_TEST, dir, &out->test);
    if (st != CLNET_OK) {
        training_data_free(out);
        return bench_fail(cmd, ctx, st, "cannot load the test split");
    }
    if (out->train->channels > 3) {
        training_data_free(out);
        fprintf(stderr, "clnet-bench %s: %s has %d channels; at most 3 are supported\n", cmd,
                name, out->train->channels);
        return BENCH_EXIT_FAIL;
    }
    clnet_dataset_stats(out->train, out->mean, out->std);
    return BENCH_EXIT_OK;
}

void training_data_free(training_data *d)
{
    clnet_dataset_free(d->train);
    clnet_dataset_free(d->test);
    d->train = d->test = NULL;
}

int training_device_open(const char *cmd, clnet_ctx *ctx, const char *selector,
                         clnet_device **dev, clnet_device_info *info)
{
    clnet_status st = clnet_device_find(ctx, selector, dev);
    if (st == CLNET_ERR_NO_DEVICE && selector)
        return bench_usage_error(cmd, "no device matches '%s'; 'clnet-bench devices' lists them",
                                 selector);
    if (st == CLNET_OK)
        st = clnet_device_info_get(*dev, info);
    return st == CLNET_OK ? BENCH_EXIT_OK : bench_fail(cmd, ctx, st, "cannot open the device");
}

int training_model_new(const char *cmd, clnet_ctx *ctx, const char *model,
                       const clnet_dataset *ds, clnet_device *dev, int batch, uint64_t seed,
                       clnet_net **out)
{
    clnet_cfg_overrides ov = {
        .classes = ds->classes,
        .input = {.ndim = 3, .dim = {ds->channels, ds->height, ds->width}},
    };
    *out = NULL;
    clnet_status st = clnet_net_zoo(ctx, model, &ov, out);
    if (st != CLNET_OK)
        return bench_fail(cmd, ctx, st, "cannot build the model");
    st = clnet_net_bind(*out, dev, batch, CLNET_INIT_HE_NORMAL, seed);
    if (st != CLNET_OK) {
        clnet_net_free(*out);
        *out = NULL;
        return bench_fail(cmd, ctx, st, "cannot allocate the model on the device");
    }
    return BENCH_EXIT_OK;
}

int training_unknown_model(const char *cmd, const char *model)
{
    char list[1024] = "";
    size_t n = 0;
    for (const char *const *name = clnet_zoo_names(); *name && n < sizeof list; name++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *name);
    return bench_usage_error(cmd, "unknown model '%s' (the zoo has: %s)", model, list);
}

bool training_eval_finite(const char *cmd, const char *what, const clnet_eval *e)
{
    if (isfinite(e->loss) && e->nonfinite == 0)
        return true;
    fprintf(stderr, "clnet-bench %s: WARNING: %s: the net diverged: loss %g, %lld of %lld "
            "output rows hold NaN or infinity (scored as misses)\n", cmd, what, e->loss,
            (long long)e->nonfinite, (long long)e->count);
    return false;
}

void training_json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

void training_json_eval(FILE *f, const char *prefix, const clnet_eval *e, bool top5)
{
    fprintf(f, "\"%sloss\": ", prefix);
    training_json_number(f, e->loss);
    fprintf(f, ", \"%saccuracy\": ", prefix);
    training_json_number(f, e->top1);
    if (top5) {
        fprintf(f, ", \"%stop5\": ", prefix);
        training_json_number(f, e->top5);
    }
    fputs(", ", f);
}
