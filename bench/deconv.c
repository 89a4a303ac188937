/* deconv.c - the deconvnet of Zeiler & Fergus (2014) on a bound net: the
 * path from a layer down to the input is checked once, then any number of
 * single activations are projected through it with CONV_TRANSPOSE (the
 * convolution's data gradient, same weights), UNPOOL at the forward
 * switches and ReLU ops. */
#include "deconv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(expr) do { clnet_status st_ = (expr); if (st_ != CLNET_OK) return st_; } while (0)

/* Where a failure's reason goes: the caller's buffer. */
typedef struct deconv_err {
    char *text;
    size_t size;
} deconv_err;

static clnet_status fail(deconv_err *e, clnet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static clnet_status fail(deconv_err *e, clnet_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, e->size, fmt, ap);
    va_end(ap);
    return st;
}

/* A library call's failure, its reason taken from the context. */
static clnet_status lib(clnet_ctx *ctx, deconv_err *e, clnet_status st)
{
    if (st != CLNET_OK)
        snprintf(e->text, e->size, "%s: %s", clnet_status_str(st), clnet_last_error(ctx));
    return st;
}

/* One layer of the path, the visualised one first. */
typedef struct deconv_step {
    int id;
    clnet_layer_spec spec;
    clnet_shape in, out;     /* per image */
    clnet_tensor *w;         /* CONV: its weights, on the path's device */
} deconv_step;

struct deconv_path {
    clnet_device *dev;
    int nsteps;
    deconv_step *steps;
    clnet_shape input;       /* per image */
};

static const char *const pool_modes[] = {"max", "average", "L2"};

/* Whether the deconvnet can go down through the layer of step s. */
static clnet_status check_step(deconv_err *e, const deconv_step *s)
{
    const clnet_layer_spec *sp = &s->spec;
    const char *kind = clnet_layer_kind_name(sp->kind);
    bool relu = sp->act.fn == CLNET_ACT_RELU;
    switch (sp->kind) {
    case CLNET_LAYER_CONV:
        if (sp->has_act && !relu)
            return fail(e, CLNET_ERR_UNSUPPORTED, "layer %s: a convolution whose "
                              "activation is not a ReLU, which the deconvnet's rectification "
                              "cannot stand for", sp->name);
        break;
    case CLNET_LAYER_POOL:
        if (sp->pool.mode != CLNET_POOL_MAX || sp->pool.adaptive)
            return fail(e, CLNET_ERR_UNSUPPORTED, "layer %s: %s pooling has no switches "
                              "to unpool with (the deconvnet inverts max pooling only)",
                              sp->name, sp->pool.mode < CLNET_POOL_MODE_COUNT
                                            ? pool_modes[sp->pool.mode] : "?");
        break;
    case CLNET_LAYER_ACTIVATION:
        if (!relu)
            return fail(e, CLNET_ERR_UNSUPPORTED, "layer %s: an activation other than "
                              "ReLU, which the deconvnet's rectification cannot stand for",
                              sp->name);
        break;
    case CLNET_LAYER_DROPOUT:
    case CLNET_LAYER_LRN:
        /* Zeiler and Fergus pass the signal through these unchanged: dropout
         * is the identity at inference, and the normalisation is not inverted */
        break;
    default:
        return fail(e, CLNET_ERR_UNSUPPORTED, "layer %s is a %s layer, which the "
                          "deconvnet cannot invert (it goes down through conv, max pooling, "
                          "ReLU, dropout and LRN layers)", sp->name, kind);
    }
    if (s->in.ndim != 3 || s->out.ndim != 3)
        return fail(e, CLNET_ERR_UNSUPPORTED, "layer %s: the deconvnet projects images "
                          "(C, H, W), not %d-D data", sp->name, s->out.ndim == 3 ? s->in.ndim
                                                                                 : s->out.ndim);
    return CLNET_OK;
}

/* Copies the weights of the CONV of step s onto dev. */
static clnet_status upload_weights(clnet_net *net, clnet_device *dev, deconv_step *s)
{
    clnet_shape ws;
    TRY(clnet_net_param_read(net, s->id, 0, &ws, NULL, 0));
    size_t count = (size_t)clnet_shape_numel(&ws);
    float *w = malloc(count * sizeof *w);
    if (!w)
        return CLNET_ERR_HOST_MEMORY;   /* no context message: lib() gives the status */
    clnet_status st = clnet_net_param_read(net, s->id, 0, NULL, w, count);
    if (st == CLNET_OK)
        st = clnet_tensor_new(dev, CLNET_F32, ws.ndim, ws.dim, &s->w);
    if (st == CLNET_OK)
        st = clnet_tensor_write(s->w, w, count * sizeof *w);
    free(w);
    return st;
}

/* Fills path->steps from layer id down to the input, checking each. */
static clnet_status walk(clnet_ctx *ctx, clnet_net *net, deconv_path *path, int id,
                         deconv_err *e)
{
    int count = clnet_net_layer_count(net);
    if (id <= 0 || id >= count)
        return fail(e, CLNET_ERR_INVALID_ARGUMENT, "layer %d is %s", id,
                    id == 0 ? "the input" : "not in the net");
    path->steps = calloc((size_t)count, sizeof *path->steps);
    if (!path->steps)
        return fail(e, CLNET_ERR_HOST_MEMORY, "out of host memory");
    while (id > 0) {
        deconv_step *s = &path->steps[path->nsteps++];
        clnet_layer_info info, below;
        s->id = id;
        TRY(lib(ctx, e, clnet_net_layer_spec(net, id, &s->spec)));
        TRY(lib(ctx, e, clnet_net_layer_info(net, id, &info)));
        TRY(lib(ctx, e, clnet_net_layer_info(net, s->spec.from[0], &below)));
        s->out = info.out;
        s->in = below.out;
        TRY(check_step(e, s));
        if (s->spec.nfrom > 1)
            return fail(e, CLNET_ERR_UNSUPPORTED, "layer %s has %d inputs: the deconvnet "
                        "follows a chain", s->spec.name, s->spec.nfrom);
        if (s->spec.kind == CLNET_LAYER_CONV)
            TRY(lib(ctx, e, upload_weights(net, path->dev, s)));
        id = s->spec.from[0];
    }
    path->input = path->steps[path->nsteps - 1].in;
    return CLNET_OK;
}

clnet_status deconv_path_new(clnet_ctx *ctx, clnet_net *net, clnet_device *dev, int id,
                             deconv_path **out, char *err, size_t err_size)
{
    deconv_err e = {err, err_size};
    *out = NULL;
    deconv_path *path = calloc(1, sizeof *path);
    if (!path)
        return fail(&e, CLNET_ERR_HOST_MEMORY, "out of host memory");
    path->dev = dev;
    clnet_status st = walk(ctx, net, path, id, &e);
    if (st != CLNET_OK) {
        deconv_path_free(path);
        return st;
    }
    *out = path;
    return CLNET_OK;
}

void deconv_path_free(deconv_path *path)
{
    if (!path)
        return;
    for (int i = 0; i < path->nsteps; i++)
        clnet_tensor_free(path->steps[i].w);
    free(path->steps);
    free(path);
}

/* A (n, per-image shape) tensor on dev holding src (NULL: not written). */
static clnet_status batch_tensor(clnet_device *dev, clnet_dtype dtype, int n,
                                 const clnet_shape *s, const void *src, size_t elem,
                                 clnet_tensor **t)
{
    int64_t dims[4] = {n, s->dim[0], s->dim[1], s->dim[2]};
    TRY(clnet_tensor_new(dev, dtype, 4, dims, t));
    size_t bytes = (size_t)n * (size_t)clnet_shape_numel(s) * elem;
    return src ? clnet_tensor_write(*t, src, bytes) : CLNET_OK;
}

/* *r = op(r, extra...), freeing the old *r. */
static clnet_status apply(clnet_device *dev, const clnet_op *op, clnet_tensor **r,
                          clnet_tensor *second)
{
    clnet_tensor *in[2] = {*r, second}, *res[CLNET_OP_MAX_OUTPUTS] = {0};
    int nout = 0;
    TRY(clnet_op_run_new(dev, op, second ? 2 : 1, in, &nout, res));
    for (int i = 1; i < nout; i++)
        clnet_tensor_free(res[i]);
    clnet_tensor_free(*r);
    *r = res[0];
    return CLNET_OK;
}

static clnet_status relu(clnet_device *dev, clnet_tensor **r)
{
    clnet_op op = clnet_op_activation(CLNET_ACT_RELU, 0.0f);
    return apply(dev, &op, r, NULL);
}

/* Unpools *r at the switches of the max pooling of step s. */
static clnet_status unpool(clnet_net *net, clnet_device *dev, const deconv_step *s, int n,
                           clnet_tensor **r)
{
    size_t count = (size_t)n * (size_t)clnet_shape_numel(&s->out);
    int32_t *sw = malloc(count * sizeof *sw);
    if (!sw)
        return CLNET_ERR_HOST_MEMORY;
    clnet_tensor *switches = NULL;
    clnet_status st = clnet_net_read_switches(net, s->id, sw, count);
    if (st == CLNET_OK)
        st = batch_tensor(dev, CLNET_I32, n, &s->out, sw, sizeof *sw, &switches);
    free(sw);
    clnet_op op = {.kind = CLNET_OP_UNPOOL};
    op.u.unpool.out_h = (int)s->in.dim[1];
    op.u.unpool.out_w = (int)s->in.dim[2];
    if (st == CLNET_OK)
        st = apply(dev, &op, r, switches);
    clnet_tensor_free(switches);
    return st;
}

/* The convolution's data gradient with the forward weights: the filters
 * transposed, from the step's output plane back to its input plane. */
static clnet_status transposed_filters(clnet_device *dev, const deconv_step *s, int n,
                                       clnet_tensor **r)
{
    clnet_op fwd = {.kind = CLNET_OP_CONV, .u.conv = s->spec.conv};
    clnet_shape x = {.ndim = 4, .dim = {n, s->in.dim[0], s->in.dim[1], s->in.dim[2]}};
    clnet_shape w = clnet_tensor_shape(s->w);
    clnet_op op = clnet_op_conv_backward_data(&fwd, &x, &w);
    return apply(dev, &op, r, s->w);
}

/* Goes down one step: unpooling, rectification, filtering. */
static clnet_status step_down(clnet_net *net, clnet_device *dev, const deconv_step *s, int n,
                              clnet_tensor **r)
{
    switch (s->spec.kind) {
    case CLNET_LAYER_CONV:
        if (s->spec.has_act)
            TRY(relu(dev, r));
        return transposed_filters(dev, s, n, r);
    case CLNET_LAYER_POOL: return unpool(net, dev, s, n, r);
    case CLNET_LAYER_ACTIVATION: return relu(dev, r);
    default: return CLNET_OK;   /* passed through (check_step) */
    }
}

/* The layer's output with everything but each image's pick zeroed. */
static clnet_status isolate(clnet_ctx *ctx, clnet_net *net, const deconv_step *top, int n,
                            const deconv_pick *picks, float *signal, deconv_err *e)
{
    const int64_t c = top->out.dim[0], h = top->out.dim[1], w = top->out.dim[2];
    const size_t numel = (size_t)(c * h * w), count = (size_t)n * numel;
    float *act = malloc(count * sizeof *act);
    if (!act)
        return fail(e, CLNET_ERR_HOST_MEMORY, "out of host memory");
    clnet_status st = lib(ctx, e, clnet_net_read_layer(net, top->id, act, count));
    memset(signal, 0, count * sizeof *signal);
    for (int i = 0; st == CLNET_OK && i < n; i++) {
        const deconv_pick *p = &picks[i];
        if (p->channel < 0 || p->channel >= c || p->y < 0 || p->y >= h || p->x < 0 ||
            p->x >= w) {
            st = fail(e, CLNET_ERR_INVALID_ARGUMENT, "pick %d (map %d at %d, %d) outside "
                      "layer %s's %lldx%lldx%lld output", i, p->channel, p->y, p->x,
                      top->spec.name, (long long)c, (long long)h, (long long)w);
        } else {
            size_t at = (size_t)i * numel + (size_t)((p->channel * h + p->y) * w + p->x);
            signal[at] = act[at];
        }
    }
    free(act);
    return st;
}

clnet_status deconv_project(clnet_ctx *ctx, clnet_net *net, const deconv_path *path, int n,
                            const deconv_pick *picks, float *out, char *err, size_t err_size)
{
    deconv_err e = {err, err_size};
    const deconv_step *top = &path->steps[0];
    size_t count = (size_t)n * (size_t)clnet_shape_numel(&top->out);
    float *signal = malloc(count * sizeof *signal);
    if (!signal)
        return fail(&e, CLNET_ERR_HOST_MEMORY, "out of host memory");
    clnet_tensor *r = NULL;
    clnet_status st = isolate(ctx, net, top, n, picks, signal, &e);
    if (st == CLNET_OK)
        st = lib(ctx, &e, batch_tensor(path->dev, CLNET_F32, n, &top->out, signal,
                                       sizeof *signal, &r));
    free(signal);
    for (int i = 0; st == CLNET_OK && i < path->nsteps; i++)
        st = lib(ctx, &e, step_down(net, path->dev, &path->steps[i], n, &r));
    if (st == CLNET_OK)
        st = lib(ctx, &e, clnet_tensor_read(r, out, (size_t)n *
                                                        (size_t)clnet_shape_numel(&path->input) *
                                                        sizeof *out));
    clnet_tensor_free(r);
    return st;
}

void deconv_receptive_field(const deconv_path *path, int y, int x, int box[4])
{
    int64_t lo[2] = {y, x}, hi[2] = {y, x};
    for (int i = 0; i < path->nsteps; i++) {
        const deconv_step *s = &path->steps[i];
        const clnet_layer_spec *sp = &s->spec;
        for (int a = 0; a < 2; a++) {
            int64_t stride = 1, pad = 0, span = 1;
            if (sp->kind == CLNET_LAYER_CONV) {
                stride = sp->conv.stride[a];
                pad = sp->conv.pad_begin[a];
                span = (int64_t)sp->conv.dilation[a] * (sp->kernel[a] - 1) + 1;
            } else if (sp->kind == CLNET_LAYER_POOL && sp->pool.global) {
                lo[a] = 0;
                hi[a] = s->in.dim[1 + a] - 1;
                continue;
            } else if (sp->kind == CLNET_LAYER_POOL) {
                stride = sp->pool.stride[a];
                pad = sp->pool.pad_begin[a];
                span = sp->pool.kernel[a];
            }
            lo[a] = lo[a] * stride - pad;
            hi[a] = hi[a] * stride - pad + span - 1;
        }
    }
    box[0] = (int)lo[0];
    box[1] = (int)lo[1];
    box[2] = (int)(hi[0] - lo[0] + 1);
    box[3] = (int)(hi[1] - lo[1] + 1);
}
