/* training.c - device, dataset and model set-up shared by `clnet-bench train`
 * and `clnet-bench eval` (see training.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
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

/* One split, framed; *ds is replaced only on success. */
static clnet_status pad_split(clnet_ctx *ctx, clnet_dataset **ds, int pad)
{
    const clnet_dataset *src = *ds;
    int h = src->height + 2 * pad, w = src->width + 2 * pad, c = src->channels;
    uint8_t *images = calloc((size_t)src->count * (size_t)c * (size_t)h * (size_t)w, 1);
    if (!images)
        return CLNET_ERR_HOST_MEMORY;
    for (int64_t plane = 0; plane < src->count * c; plane++)
        for (int y = 0; y < src->height; y++)
            memcpy(images + ((size_t)plane * h + (size_t)(y + pad)) * w + pad,
                   src->images + ((size_t)plane * src->height + (size_t)y) * src->width,
                   (size_t)src->width);
    clnet_dataset *padded;
    clnet_status st = clnet_dataset_from_arrays(ctx, src->name, src->count, c, h, w, src->classes,
                                                images, src->labels, true, &padded);
    free(images);
    if (st == CLNET_OK) {
        clnet_dataset_free(*ds);
        *ds = padded;
    }
    return st;
}

int training_data_pad(const char *cmd, clnet_ctx *ctx, training_data *d, int pad)
{
    clnet_status st = pad_split(ctx, &d->train, pad);
    if (st == CLNET_OK)
        st = pad_split(ctx, &d->test, pad);
    return st == CLNET_OK ? BENCH_EXIT_OK : bench_fail(cmd, ctx, st, "cannot pad the images");
}

int training_cfg_pad(clnet_ctx *ctx, const char *text, const clnet_dataset *ds)
{
    clnet_net *net;
    if (clnet_net_parse_cfg(ctx, text, "cfg", NULL, &net) != CLNET_OK)
        return 0;
    clnet_layer_info input;
    int pad = 0;
    if (clnet_net_layer_info(net, 0, &input) == CLNET_OK && input.out.ndim == 3 &&
        input.out.dim[0] == ds->channels) {
        int64_t dh = input.out.dim[1] - ds->height, dw = input.out.dim[2] - ds->width;
        if (dh == dw && dh % 2 == 0 && dh >= 2 && dh <= 8)
            pad = (int)(dh / 2);
    }
    clnet_net_free(net);
    return pad;
}

clnet_loss training_default_loss(const clnet_net *net)
{
    clnet_layer_info last;
    bool rbf = clnet_net_layer_info(net, clnet_net_layer_count(net) - 1, &last) == CLNET_OK &&
               last.kind == CLNET_LAYER_RBF;
    return rbf ? CLNET_LOSS_MMI : CLNET_LOSS_SOFTMAX_XENT;
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

int training_cfg_text(const char *cmd, const char *model, const char *cfg_path, char **text)
{
    *text = NULL;
    if (!cfg_path) {
        const char *zoo = clnet_zoo_cfg(model);
        if (!zoo)
            return training_unknown_model(cmd, model);
        *text = strdup(zoo);
    } else {
        FILE *f = fopen(cfg_path, "rb");
        long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
        *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
        bool ok = *text && fseek(f, 0, SEEK_SET) == 0 &&
                  fread(*text, 1, (size_t)size, f) == (size_t)size;
        if (f)
            fclose(f);
        if (!ok) {
            free(*text);
            *text = NULL;
            fprintf(stderr, "clnet-bench %s: cannot read the cfg file %s: %s\n", cmd, cfg_path,
                    f ? "read error" : strerror(errno));
            return BENCH_EXIT_FAIL;
        }
        (*text)[size] = '\0';
    }
    if (!*text) {
        fprintf(stderr, "clnet-bench %s: out of host memory\n", cmd);
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}

bool training_parse_resize(const char *cmd, const char *text, int size[2])
{
    char *x = strchr(text, 'x');
    long v[2];
    char height[16];
    size_t len = x ? (size_t)(x - text) : 0;
    if (!x || len == 0 || len >= sizeof height) {
        bench_usage_error(cmd, "bad value '%s' for --resize: expected HxW, e.g. 227x227", text);
        return false;
    }
    memcpy(height, text, len);
    height[len] = '\0';
    if (!bench_parse_int(cmd, "--resize height", height, 1, 4096, &v[0]) ||
        !bench_parse_int(cmd, "--resize width", x + 1, 1, 4096, &v[1]))
        return false;
    size[0] = (int)v[0];
    size[1] = (int)v[1];
    return true;
}

clnet_shape training_input_shape(const clnet_dataset *ds, const int *resize)
{
    bool resized = resize && resize[0] > 0;
    return (clnet_shape){.ndim = 3, .dim = {ds->channels, resized ? resize[0] : ds->height,
                                            resized ? resize[1] : ds->width}};
}

int training_model_new(const char *cmd, clnet_ctx *ctx, const char *text, const char *name,
                       const clnet_dataset *ds, const int *resize, bool aux,
                       const char *checkpoint,
                       clnet_device *dev, int batch, uint64_t seed, clnet_net **out)
{
    clnet_cfg_overrides ov = {
        .classes = ds->classes,
        .input = training_input_shape(ds, resize),
        .aux = aux,
    };
    *out = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, text, name, &ov, out);
    if (st != CLNET_OK)
        return bench_fail(cmd, ctx, st, "cannot build the model");
    const char *what = "cannot allocate the model on the device";
    char load_what[1100];
    if (checkpoint) {
        st = clnet_net_load(*out, checkpoint);
        snprintf(load_what, sizeof load_what, "cannot load checkpoint %s", checkpoint);
        what = load_what;
        clnet_train_state state;
        clnet_net_train_state(*out, &state);
        if (state.epochs_done > 0)
            seed = state.seed;
    }
    if (st == CLNET_OK) {
        st = clnet_net_bind(*out, dev, batch, CLNET_INIT_HE_NORMAL, seed);
        what = "cannot allocate the model on the device";
    }
    if (st != CLNET_OK) {
        clnet_net_free(*out);
        *out = NULL;
        return bench_fail(cmd, ctx, st, what);
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

void training_command_line(int argc, char **argv, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "clnet-bench train");
    for (int i = 1; i < argc && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, " %s", argv[i]);
}
