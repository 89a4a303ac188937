/* onnx_ops.c - ONNX operators on computed tensors, each mapped onto clnet
 * layers with exactly the same meaning, or refused naming the attribute or
 * input that has none. Shapes are per image (the batch axis is implicit):
 * an ONNX tensor of rank R is a layer output of rank R - 1. */
#include "nn/onnx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TRY(expr) do { clnet_status st_ = (expr); if (st_ != CLNET_OK) return st_; } while (0)

/* ---- inputs ---- */

/* Input i, computed by a layer (not a constant, not waiting for a Conv to
 * absorb its padding unless pad_ok). */
static clnet_status layer_in(ox_import *imp, int i, bool pad_ok, ox_value **out)
{
    ox_value *v = ox_input(imp, i);
    if (!v)
        return CLNET_ERR_FORMAT;
    if (v->kind != OX_LAYER)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input %d ('%s') must be computed from the "
                       "graph input, not a constant", i, v->name);
    if (v->padded && (!pad_ok || v->pad_channels))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input %d ('%s') comes from a Pad, which "
                       "clnet can only fold into a following Conv or AveragePool (spatial "
                       "zeros) or Add (zero channels after the input's)", i, v->name);
    *out = v;
    return CLNET_OK;
}

/* Input i, a float constant of `count` values (any count when < 0); NULL
 * when optional and absent. */
static clnet_status const_in(ox_import *imp, int i, bool optional, int64_t count,
                             const ox_const **out)
{
    ox_value *v = ox_opt_input(imp, i);
    *out = NULL;
    if (!v && optional)
        return CLNET_OK;
    if (!v)
        return ox_fail(imp, CLNET_ERR_FORMAT, "input %d is missing", i);
    if (v->kind != OX_CONST && ox_demand_const(imp, v) == NULL)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input %d ('%s') must be a constant (an "
                       "initializer): clnet layers hold their weights", i, v->name);
    if (v->c.dtype != OX_F32)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input %d ('%s') must be floating point", i,
                       v->name);
    if (count >= 0 && v->c.count != count)
        return ox_fail(imp, CLNET_ERR_FORMAT, "input %d ('%s') has %lld values, not %lld", i,
                       v->name, (long long)v->c.count, (long long)count);
    *out = &v->c;
    return CLNET_OK;
}

/* A list of integers from input i (opset >= 13 style) or attribute name. */
static clnet_status ints_in(ox_import *imp, int i, const char *name, int64_t *out, int *n)
{
    ox_value *v = ox_opt_input(imp, i);
    if (!v)
        return ox_attr_ints(imp, name, OX_MAX_DIMS, out, n);
    if (!ox_demand_const(imp, v) || v->c.dtype != OX_I64 || v->c.ndim > 1 ||
        v->c.count > OX_MAX_DIMS)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input %d ('%s') must be a constant list of "
                       "integers", i, v->name);
    memcpy(out, v->c.i, (size_t)v->c.count * sizeof *out);
    *n = (int)v->c.count;
    return CLNET_OK;
}

/* Maps a signed ONNX axis of a tensor of per-image rank r onto the
 * per-image axis (the batch is -1). */
static clnet_status image_axis(ox_import *imp, int64_t axis, int r, int *out)
{
    int rank = r + 1;
    if (axis < -rank || axis >= rank)
        return ox_fail(imp, CLNET_ERR_FORMAT, "axis %lld is outside rank %d", (long long)axis,
                       rank);
    *out = (int)(axis < 0 ? axis + rank : axis) - 1;
    return CLNET_OK;
}

static clnet_status alias(ox_import *imp, const ox_value *x)
{
    ox_value *y = ox_output(imp, 0);
    y->kind = OX_LAYER;
    y->layer = x->layer;
    y->padded = x->padded;
    y->pad_channels = x->pad_channels;
    memcpy(y->pad, x->pad, sizeof y->pad);
    return CLNET_OK;
}

/* Adds spec reading x and makes it output 0. */
static clnet_status add_on(ox_import *imp, const ox_value *x, clnet_layer_spec *spec, int *id)
{
    spec->from[0] = x->layer;
    spec->nfrom = 1;
    int tmp;
    TRY(ox_add_layer(imp, spec, id ? id : &tmp));
    ox_set_layer(imp, 0, id ? *id : tmp);
    return CLNET_OK;
}

/* ---- spatial attributes (kernel, strides, pads, dilations) ---- */

typedef struct window {
    int sp;                        /* spatial dims: 1 or 2 */
    int64_t kernel[2], stride[2], dilation[2], pad[4];   /* pad: begins, then ends */
} window;

/* Reads kernel_shape, strides, dilations, pads and auto_pad for an input
 * of per-image shape `in` (C, [H,] W); `kernel` preset from the weights
 * (0: the attribute is required). */
static clnet_status read_window(ox_import *imp, const clnet_shape *in, bool transposed,
                                window *w)
{
    w->sp = in->ndim - 1;
    if (w->sp < 1 || w->sp > 2)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "an input of rank %d (1-D and 2-D windows "
                       "are supported)", in->ndim + 1);
    int64_t k[2] = {0, 0}, s[2] = {1, 1}, d[2] = {1, 1}, p[4] = {0, 0, 0, 0};
    int nk = -1, ns = w->sp, nd = w->sp, np = 2 * w->sp;
    TRY(ox_attr_ints(imp, "kernel_shape", 2, k, &nk));
    TRY(ox_attr_ints(imp, "strides", 2, s, &ns));
    TRY(ox_attr_ints(imp, "dilations", 2, d, &nd));
    TRY(ox_attr_ints(imp, "pads", 4, p, &np));
    if (nk == -1 && w->kernel[0] == 0)
        return ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'kernel_shape' is missing");
    if ((nk != -1 && nk != w->sp) || ns != w->sp || nd != w->sp || np != 2 * w->sp)
        return ox_fail(imp, CLNET_ERR_FORMAT, "kernel_shape, strides, dilations or pads do not "
                       "have one value per spatial dimension (%d)", w->sp);
    bool from_weights = w->kernel[0] != 0;
    for (int a = 0; a < w->sp; a++) {
        if (nk != -1 && from_weights && k[a] != w->kernel[a])
            return ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'kernel_shape' disagrees with the "
                           "weights");
        if (nk != -1)
            w->kernel[a] = k[a];
        w->stride[a] = s[a];
        w->dilation[a] = d[a];
        w->pad[a] = p[a];
        w->pad[2 + a] = p[w->sp + a];
        if (k[a] > 4096 || s[a] < 1 || s[a] > 4096 || d[a] < 1 || d[a] > 4096 || p[a] < 0 ||
            p[a] > 4096 || p[w->sp + a] < 0 || p[w->sp + a] > 4096)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a kernel, stride, dilation or pad "
                           "outside what clnet takes");
    }
    char mode[32] = "NOTSET";
    TRY(ox_attr_string(imp, "auto_pad", mode, sizeof mode));
    if (strcmp(mode, "NOTSET") == 0)
        return CLNET_OK;
    if (strcmp(mode, "VALID") == 0) {
        memset(w->pad, 0, sizeof w->pad);
        return CLNET_OK;
    }
    bool upper = strcmp(mode, "SAME_UPPER") == 0;
    if ((!upper && strcmp(mode, "SAME_LOWER") != 0) || transposed)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'auto_pad' = '%s' is not "
                       "supported here", mode);
    for (int a = 0; a < w->sp; a++) {
        int64_t size = in->dim[1 + a];
        int64_t out = (size + w->stride[a] - 1) / w->stride[a];
        int64_t span = (w->kernel[a] - 1) * w->dilation[a] + 1;
        int64_t total = (out - 1) * w->stride[a] + span - size;
        total = total < 0 ? 0 : total;
        w->pad[a] = upper ? total / 2 : total - total / 2;
        w->pad[2 + a] = total - w->pad[a];
    }
    return CLNET_OK;
}

/* Index in clnet's [height, width] arrays of spatial axis a. */
static int slot(const window *w, int a) { return w->sp == 2 ? a : 1; }

static void conv_params(const window *w, clnet_layer_spec *spec)
{
    clnet_conv_params *c = &spec->conv;
    for (int a = 0; a < w->sp; a++) {
        int s = slot(w, a);
        spec->kernel[s] = (int)w->kernel[a];
        c->stride[s] = (int)w->stride[a];
        c->dilation[s] = (int)w->dilation[a];
        c->pad_begin[s] = (int)w->pad[a];
        c->pad_end[s] = (int)w->pad[2 + a];
    }
    if (w->sp == 1)
        spec->kernel[0] = 1;
}

/* ---- operators ---- */

static clnet_status op_conv(ox_import *imp)
{
    bool transposed = strcmp(imp->node->op_type, "ConvTranspose") == 0;
    TRY(ox_check_attrs(imp, transposed ? "auto_pad dilations group kernel_shape output_padding "
                                         "pads strides"
                                       : "auto_pad dilations group kernel_shape pads strides"));
    if (transposed && ox_attr(imp, "output_shape"))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'output_shape' is not supported "
                       "(give pads and output_padding)");
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    const ox_const *w, *b;
    TRY(layer_in(imp, 0, !transposed, &x));
    TRY(const_in(imp, 1, false, -1, &w));
    const clnet_shape *in = ox_shape(imp, x);
    int64_t group = 1;
    TRY(ox_attr_int(imp, "group", &group));
    if (w->ndim != in->ndim + 1 || w->ndim < 3)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "weights of rank %d for an input of rank %d",
                       w->ndim, in->ndim + 1);
    if (group < 1 || group > in->dim[0] || in->dim[0] % group != 0)
        return ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'group' = %lld does not divide the %lld "
                       "input channels", (long long)group, (long long)in->dim[0]);
    int64_t k = transposed ? w->dim[1] * group : w->dim[0];
    if ((transposed ? w->dim[0] : w->dim[1] * group) != in->dim[0])
        return ox_fail(imp, CLNET_ERR_FORMAT, "weights of shape %lldx%lld.. for %lld input "
                       "channels in %lld groups", (long long)w->dim[0], (long long)w->dim[1],
                       (long long)in->dim[0], (long long)group);
    TRY(const_in(imp, 2, true, k, &b));
    window win = {0};
    for (int a = 0; a + 2 < w->ndim; a++)
        win.kernel[a] = w->dim[2 + a];
    TRY(read_window(imp, in, transposed, &win));
    clnet_layer_spec spec = {.kind = transposed ? CLNET_LAYER_CONV_TRANSPOSE : CLNET_LAYER_CONV};
    conv_params(&win, &spec);
    if (x->padded)
        for (int a = 0; a < win.sp; a++) {
            spec.conv.pad_begin[slot(&win, a)] += x->pad[win.sp == 2 ? a : 1];
            spec.conv.pad_end[slot(&win, a)] += x->pad[win.sp == 2 ? 2 + a : 3];
        }
    if (transposed) {
        int64_t op[2] = {0, 0};
        int n = win.sp;
        TRY(ox_attr_ints(imp, "output_padding", 2, op, &n));
        if (n != win.sp)
            return ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'output_padding' needs %d values",
                           win.sp);
        for (int a = 0; a < win.sp; a++)
            spec.conv.output_padding[slot(&win, a)] = (int)op[a];
    }
    spec.out_channels = (int)k;
    spec.conv.groups = (int)group;
    spec.bias = b != NULL;
    int id;
    TRY(add_on(imp, x, &spec, &id));
    TRY(ox_set_param(imp, id, 0, w->f));
    return b ? ox_set_param(imp, id, 1, b->f) : CLNET_OK;
}

static clnet_status op_batchnorm(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "epsilon momentum training_mode spatial"));
    int64_t training = 0, spatial = 1;
    float eps = 1e-5f;
    TRY(ox_attr_int(imp, "training_mode", &training));
    TRY(ox_attr_int(imp, "spatial", &spatial));
    TRY(ox_attr_float(imp, "epsilon", &eps));
    if (training != 0)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'training_mode' = %lld (export "
                       "the model in inference mode)", (long long)training);
    if (spatial != 1)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'spatial' = %lld", (long long)spatial);
    if (!(eps > 0))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'epsilon' = %g (must be > 0)", eps);
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    int64_t c = ox_shape(imp, x)->dim[0];
    const ox_const *p[4];
    for (int i = 0; i < 4; i++)
        TRY(const_in(imp, 1 + i, false, c, &p[i]));
    clnet_layer_spec spec = {.kind = CLNET_LAYER_BATCHNORM, .bn_eps = eps};
    int id;
    TRY(add_on(imp, x, &spec, &id));
    for (int i = 0; i < 4; i++)     /* scale, B, mean, var: clnet's order too */
        TRY(ox_set_param(imp, id, i, p[i]->f));
    return CLNET_OK;
}

/* Whether the current node's output g = gate(x) is read only by a Mul(x, g)
 * (either order): x * sigmoid(x) is swish, x * hardsigmoid(x) hard swish.
 * *mul receives that node's index. */
static bool gates_its_input(ox_import *imp, const ox_value *x, int *mul)
{
    const Onnx__NodeProto *m = ox_sole_consumer(imp, ox_output(imp, 0), mul);
    if (!m || strcmp(m->op_type, "Mul") != 0 || m->n_input != 2 || m->n_output != 1 ||
        imp->absorbed[*mul])
        return false;
    const char *g = imp->node->output[0];
    return (strcmp(m->input[0], g) == 0 && strcmp(m->input[1], x->name) == 0) ||
           (strcmp(m->input[1], g) == 0 && strcmp(m->input[0], x->name) == 0);
}

static clnet_status add_activation(ox_import *imp, const ox_value *x, clnet_activation fn,
                                   float alpha)
{
    int mul;
    bool gate = (fn == CLNET_ACT_SIGMOID || fn == CLNET_ACT_HARD_SIGMOID) &&
                gates_its_input(imp, x, &mul);
    if (gate)
        fn = fn == CLNET_ACT_SIGMOID ? CLNET_ACT_SWISH : CLNET_ACT_HARD_SWISH;
    clnet_layer_spec spec = {.kind = CLNET_LAYER_ACTIVATION, .act = {fn, alpha}};
    int id;
    TRY(add_on(imp, x, &spec, &id));
    if (gate) {
        /* the Mul's output is this layer's; nothing reads the gate alone */
        imp->absorbed[mul] = true;
        ox_value *y = ox_value_find(imp, imp->graph->node[mul]->output[0]);
        y->kind = OX_LAYER;
        y->layer = id;
    }
    return CLNET_OK;
}

static clnet_status op_activation(ox_import *imp)
{
    static const struct { const char *op; clnet_activation fn; } simple[] = {
        {"Relu", CLNET_ACT_RELU}, {"Sigmoid", CLNET_ACT_SIGMOID}, {"Tanh", CLNET_ACT_TANH},
        {"HardSwish", CLNET_ACT_HARD_SWISH}};
    const char *op = imp->node->op_type;
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(op, simple[i].op) == 0) {
            TRY(ox_check_attrs(imp, ""));
            return add_activation(imp, x, simple[i].fn, 0);
        }
    if (strcmp(op, "LeakyRelu") == 0) {
        float alpha = 0.01f;
        TRY(ox_check_attrs(imp, "alpha"));
        TRY(ox_attr_float(imp, "alpha", &alpha));
        return add_activation(imp, x, CLNET_ACT_LEAKY_RELU, alpha);
    }
    if (strcmp(op, "HardSigmoid") == 0) {
        float alpha = 0.2f, beta = 0.5f;
        TRY(ox_check_attrs(imp, "alpha beta"));
        TRY(ox_attr_float(imp, "alpha", &alpha));
        TRY(ox_attr_float(imp, "beta", &beta));
        /* clnet's is relu6(x + 3) / 6, PyTorch's Hardsigmoid */
        if (fabsf(alpha - 1.0f / 6.0f) > 1e-6f || beta != 0.5f)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attributes 'alpha' = %g and 'beta' = %g "
                           "(clnet's hard sigmoid has 1/6 and 0.5)", alpha, beta);
        return add_activation(imp, x, CLNET_ACT_HARD_SIGMOID, 0);
    }
    /* Clip: bounds from attributes before opset 11, optional inputs after */
    TRY(ox_check_attrs(imp, "min max"));
    float lo = -INFINITY, hi = INFINITY;
    TRY(ox_attr_float(imp, "min", &lo));
    TRY(ox_attr_float(imp, "max", &hi));
    const ox_const *cmin, *cmax;
    TRY(const_in(imp, 1, true, 1, &cmin));
    TRY(const_in(imp, 2, true, 1, &cmax));
    lo = cmin ? cmin->f[0] : lo;
    hi = cmax ? cmax->f[0] : hi;
    if (lo == 0.0f && hi == 6.0f)
        return add_activation(imp, x, CLNET_ACT_RELU6, 0);
    if (lo == 0.0f && isinf(hi) && hi > 0)
        return add_activation(imp, x, CLNET_ACT_RELU, 0);
    return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "min %g and max %g (clnet clips to [0, 6] or "
                   "[0, inf))", lo, hi);
}

static clnet_status op_pool(ox_import *imp)
{
    const char *op = imp->node->op_type;
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, strcmp(op, "AveragePool") == 0, &x));
    const clnet_shape *in = ox_shape(imp, x);
    clnet_layer_spec spec = {.kind = CLNET_LAYER_POOL};
    clnet_pool_params *p = &spec.pool;
    if (strncmp(op, "Global", 6) == 0) {
        TRY(ox_check_attrs(imp, ""));
        p->mode = strcmp(op, "GlobalMaxPool") == 0 ? CLNET_POOL_MAX : CLNET_POOL_AVG;
        p->global = true;
        return add_on(imp, x, &spec, NULL);
    }
    bool max = strcmp(op, "MaxPool") == 0;
    TRY(ox_check_attrs(imp, max ? "auto_pad ceil_mode dilations kernel_shape pads storage_order "
                                  "strides"
                                : "auto_pad ceil_mode count_include_pad kernel_shape pads strides"));
    int64_t ceil = 0, include = 0, order = 0;
    TRY(ox_attr_int(imp, "ceil_mode", &ceil));
    TRY(ox_attr_int(imp, "count_include_pad", &include));
    TRY(ox_attr_int(imp, "storage_order", &order));
    if (order != 0)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'storage_order' = %lld",
                       (long long)order);
    window win = {0};
    TRY(read_window(imp, in, false, &win));
    for (int a = 0; a < win.sp; a++) {
        if (win.dilation[a] != 1)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'dilations' (clnet pools "
                           "undilated windows)");
        int s = slot(&win, a);
        p->kernel[s] = (int)win.kernel[a];
        p->stride[s] = (int)win.stride[a];
        p->pad_begin[s] = (int)win.pad[a];
        p->pad_end[s] = (int)win.pad[2 + a];
    }
    if (win.sp == 1)
        p->kernel[0] = p->stride[0] = 1;
    p->mode = max ? CLNET_POOL_MAX : CLNET_POOL_AVG;
    p->ceil_mode = ceil != 0;
    p->count_include_pad = include != 0;
    if (x->padded) {
        /* the zeros of a Pad before it are averaged: count_include_pad's
         * padding, as long as the pool adds none it would not count */
        bool own = false;
        for (int i = 0; i < 4; i++)
            own |= win.pad[i] != 0;
        if (ceil || (own && !include))
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "an AveragePool after a Pad with "
                           "ceil_mode or pads of its own that it does not count");
        for (int i = 0; i < 2; i++) {
            p->pad_begin[i] += x->pad[i];
            p->pad_end[i] += x->pad[2 + i];
        }
        p->count_include_pad = true;
    }
    return add_on(imp, x, &spec, NULL);
}

/* ReduceMean over every spatial axis: global average pooling. */
static clnet_status op_reduce_mean(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "axes keepdims"));
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    const clnet_shape *in = ox_shape(imp, x);
    int64_t axes[OX_MAX_DIMS], keep = 1;
    int n = 0;
    TRY(ints_in(imp, 1, "axes", axes, &n));
    TRY(ox_attr_int(imp, "keepdims", &keep));
    bool spatial[OX_MAX_DIMS] = {false};
    for (int k = 0; k < n; k++) {
        int a = 0;
        TRY(image_axis(imp, axes[k], in->ndim, &a));
        if (a < 1)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'axes': axis %lld (clnet "
                           "averages over the spatial axes only)", (long long)axes[k]);
        spatial[a] = true;
    }
    for (int a = 1; a < in->ndim; a++)
        if (!spatial[a])
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'axes' leaves spatial axis "
                           "%d out (clnet averages over all of them)", a + 1);
    if (in->ndim < 2)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "an input without spatial axes");
    clnet_layer_spec spec = {.kind = CLNET_LAYER_POOL, .pool = {.mode = CLNET_POOL_AVG,
                                                                .global = true}};
    int id;
    TRY(add_on(imp, x, &spec, &id));
    if (keep)
        return CLNET_OK;
    clnet_layer_spec flat = {.kind = CLNET_LAYER_FLATTEN, .from = {id}, .nfrom = 1};
    TRY(ox_add_layer(imp, &flat, &id));
    ox_set_layer(imp, 0, id);
    return CLNET_OK;
}

/* Gemm, and MatMul by a constant (with the Add of a bias after it). */
static clnet_status op_linear(ox_import *imp)
{
    bool gemm = strcmp(imp->node->op_type, "Gemm") == 0;
    TRY(ox_check_attrs(imp, gemm ? "alpha beta transA transB" : ""));
    int64_t ta = 0, tb = 0;
    float alpha = 1, beta = 1;
    TRY(ox_attr_int(imp, "transA", &ta));
    TRY(ox_attr_int(imp, "transB", &tb));
    TRY(ox_attr_float(imp, "alpha", &alpha));
    TRY(ox_attr_float(imp, "beta", &beta));
    if (ta)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'transA' = %lld", (long long)ta);
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    const ox_const *w, *c = NULL;
    TRY(layer_in(imp, 0, false, &x));
    TRY(const_in(imp, 1, false, -1, &w));
    const clnet_shape *in = ox_shape(imp, x);
    if (in->ndim != 1 || w->ndim != 2)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "an input of rank %d times weights of rank "
                       "%d (clnet multiplies (N, F) by (F, M))", in->ndim + 1, w->ndim);
    int64_t f = tb ? w->dim[1] : w->dim[0], m = tb ? w->dim[0] : w->dim[1];
    if (f != in->dim[0])
        return ox_fail(imp, CLNET_ERR_FORMAT, "weights for %lld inputs, given %lld",
                       (long long)f, (long long)in->dim[0]);
    int add_index = -1;
    const Onnx__NodeProto *add = NULL;
    if (gemm) {
        TRY(const_in(imp, 2, true, -1, &c));
    } else {
        /* MatMul then Add of a constant vector: the linear layer's bias */
        add = ox_sole_consumer(imp, ox_output(imp, 0), &add_index);
        if (add && strcmp(add->op_type, "Add") == 0 && add->n_input == 2 &&
            !imp->absorbed[add_index]) {
            int other = strcmp(add->input[0], imp->node->output[0]) == 0 ? 1 : 0;
            ox_value *v = ox_value_find(imp, add->input[other]);
            c = v && v->kind == OX_CONST && v->c.dtype == OX_F32 && v->c.count == m
                ? &v->c : NULL;
        }
        if (!c)
            add = NULL;
    }
    if (c && c->count != 1 && c->count != m)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a bias of %lld values for %lld outputs "
                       "(clnet's bias is per output, not per example)", (long long)c->count,
                       (long long)m);
    float *wt = malloc((size_t)(m * f) * sizeof *wt), *bias = malloc((size_t)m * sizeof *bias);
    if (!wt || !bias) {
        free(wt);
        free(bias);
        return ox_fail(imp, CLNET_ERR_HOST_MEMORY, "out of host memory");
    }
    for (int64_t o = 0; o < m; o++) {
        for (int64_t i = 0; i < f; i++)
            wt[o * f + i] = alpha * (tb ? w->f[o * f + i] : w->f[i * m + o]);
        bias[o] = c ? beta * c->f[c->count == 1 ? 0 : o] : 0;
    }
    clnet_layer_spec spec = {.kind = CLNET_LAYER_LINEAR, .out_channels = (int)m, .bias = c != NULL};
    int id;
    clnet_status st = add_on(imp, x, &spec, &id);
    if (st == CLNET_OK)
        st = ox_set_param(imp, id, 0, wt);
    if (st == CLNET_OK && c)
        st = ox_set_param(imp, id, 1, bias);
    free(wt);
    free(bias);
    if (st == CLNET_OK && add) {
        imp->absorbed[add_index] = true;
        ox_value *sum = ox_value_find(imp, add->output[0]);
        sum->kind = OX_LAYER;
        sum->layer = id;
    }
    return st;
}

/* x times (or divided by) a single constant value whose shape adds no axis
 * to x's: the scale activation, without parameters and fused like the
 * others. */
static bool scales_by_scalar(ox_import *imp, const ox_value *x, const ox_const *k, bool k_first)
{
    char op = imp->node->op_type[0];
    return (op == 'M' || (op == 'D' && !k_first)) && k->count == 1 &&
           k->ndim <= ox_shape(imp, x)->ndim + 1;
}

/* x op constant (or constant op x) with a per-channel constant (a scalar
 * one for Add and Sub): a depthwise 1x1 convolution y = w[c] * x + b[c]. */
static clnet_status affine(ox_import *imp, const ox_value *x, const ox_const *k, bool k_first)
{
    char op = imp->node->op_type[0];
    const clnet_shape *in = ox_shape(imp, x);
    int rank = in->ndim + 1;
    int64_t ch = in->dim[0];
    bool per_channel = k->ndim <= rank;
    for (int d = 0; per_channel && d < k->ndim; d++) {
        int full = rank - k->ndim + d;   /* the axis of x this dimension lines up with */
        per_channel = k->dim[d] == 1 || (full == 1 && k->dim[d] == ch);
    }
    if (!per_channel || in->ndim < 2)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "%s with a constant that is not one value "
                       "per channel of a (N, C, ...) tensor", imp->node->op_type);
    if (op == 'D' && k_first)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a constant divided by a computed tensor");
    float *w = malloc((size_t)ch * sizeof *w), *b = malloc((size_t)ch * sizeof *b);
    if (!w || !b) {
        free(w);
        free(b);
        return ox_fail(imp, CLNET_ERR_HOST_MEMORY, "out of host memory");
    }
    for (int64_t c = 0; c < ch; c++) {
        float v = k->f[k->count == 1 ? 0 : c];
        w[c] = op == 'M' ? v : op == 'D' ? 1.0f / v : op == 'S' && k_first ? -1.0f : 1.0f;
        b[c] = op == 'A' ? v : op == 'S' ? (k_first ? v : -v) : 0.0f;
    }
    clnet_layer_spec spec = {.kind = CLNET_LAYER_CONV, .out_channels = (int)ch,
                             .kernel = {1, 1}, .conv.groups = (int)ch,
                             .bias = op == 'A' || op == 'S'};
    int id;
    clnet_status st = add_on(imp, x, &spec, &id);
    if (st == CLNET_OK)
        st = ox_set_param(imp, id, 0, w);
    if (st == CLNET_OK && spec.bias)
        st = ox_set_param(imp, id, 1, b);
    free(w);
    free(b);
    return st;
}

/* The GELU pattern ox_gelu_match found: one GELU layer on x stands for the
 * Div (the current node) and the four nodes after it. */
static clnet_status add_gelu(ox_import *imp, const ox_value *x, const int absorbed[4])
{
    clnet_layer_spec spec = {.kind = CLNET_LAYER_ACTIVATION, .act = {CLNET_ACT_GELU, 0}};
    int id;
    TRY(add_on(imp, x, &spec, &id));
    for (int i = 0; i < 4; i++)
        imp->absorbed[absorbed[i]] = true;
    ox_value *y = ox_value_find(imp, imp->graph->node[absorbed[3]]->output[0]);
    y->kind = OX_LAYER;
    y->layer = id;
    return CLNET_OK;
}

/* Input i of an Add, which may be a narrower value a Pad widened with zero
 * channels: clnet's ADD sums it into the leading channels. */
static clnet_status add_in(ox_import *imp, int i, ox_value **out)
{
    ox_value *v = ox_input(imp, i);
    if (v && v->kind == OX_LAYER && v->pad_channels) {
        *out = v;
        return CLNET_OK;
    }
    return layer_in(imp, i, false, out);
}

static clnet_status op_binary(ox_import *imp)
{
    TRY(ox_check_attrs(imp, ""));
    ox_value *a = ox_input(imp, 0), *b = a ? ox_input(imp, 1) : NULL;
    if (!b)
        return CLNET_ERR_FORMAT;
    if (a->kind == OX_CONST || b->kind == OX_CONST) {
        bool k_first = a->kind == OX_CONST;
        ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
        const ox_const *k;
        TRY(layer_in(imp, k_first ? 1 : 0, false, &x));
        TRY(const_in(imp, k_first ? 0 : 1, false, -1, &k));
        int gelu[4];
        if (!k_first && ox_gelu_match(imp, x, k, gelu))
            return add_gelu(imp, x, gelu);
        bool norm = false;
        if (!k_first)
            TRY(ox_input_norm(imp, x, k, &norm));
        if (norm)
            return CLNET_OK;
        if (scales_by_scalar(imp, x, k, k_first))
            return add_activation(imp, x, CLNET_ACT_SCALE,
                                  imp->node->op_type[0] == 'D' ? 1.0f / k->f[0] : k->f[0]);
        return affine(imp, x, k, k_first);
    }
    const char *op = imp->node->op_type;
    if (strcmp(op, "Add") != 0 && strcmp(op, "Mul") != 0)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "%s of two computed tensors (clnet adds and "
                       "multiplies them)", op);
    ox_value *x = NULL, *y = NULL; /* set by layer_in; -O3 cannot see that */
    TRY(add_in(imp, 0, &x));
    TRY(add_in(imp, 1, &y));
    if (x->pad_channels && y->pad_channels)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "an Add of two inputs padded with zero "
                       "channels (clnet adds one narrower input into a full-width one)");
    const ox_value *narrow = x->pad_channels ? x : y->pad_channels ? y : NULL;
    if (narrow) {
        clnet_shape padded = *ox_shape(imp, narrow);
        padded.dim[0] += narrow->pad_channels;
        if (!nn_same_shape(&padded, ox_shape(imp, narrow == x ? y : x)))
            return ox_fail(imp, CLNET_ERR_FORMAT, "input '%s' padded with %d zero channels "
                           "does not match the other input's shape", narrow->name,
                           narrow->pad_channels);
    }
    clnet_layer_spec spec = {.kind = op[0] == 'A' ? CLNET_LAYER_ADD : CLNET_LAYER_MUL,
                             .from = {x->layer, y->layer}, .nfrom = 2};
    int id;
    TRY(ox_add_layer(imp, &spec, &id));
    ox_set_layer(imp, 0, id);
    return CLNET_OK;
}

/* Concat of the channels; more inputs than a layer takes become a chain of
 * concats (concatenation is associative: the result is the same). */
static clnet_status op_concat(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "axis"));
    int64_t axis = 0;
    TRY(ox_attr_int(imp, "axis", &axis));
    int n = (int)imp->node->n_input;
    if (n < 1)
        return ox_fail(imp, CLNET_ERR_FORMAT, "no inputs");
    clnet_layer_spec spec = {.kind = CLNET_LAYER_CONCAT};
    int id = -1;
    for (int i = 0; i < n; i++) {
        ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
        TRY(layer_in(imp, i, false, &x));
        int a = 0;
        TRY(image_axis(imp, axis, ox_shape(imp, x)->ndim, &a));
        if (a != 0)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'axis' = %lld (clnet "
                           "concatenates channels, axis 1)", (long long)axis);
        if (spec.nfrom == CLNET_MAX_FROM) {
            TRY(ox_add_layer(imp, &spec, &id));
            spec.nfrom = 0;
            spec.from[spec.nfrom++] = id;
        }
        spec.from[spec.nfrom++] = x->layer;
    }
    TRY(ox_add_layer(imp, &spec, &id));
    ox_set_layer(imp, 0, id);
    return CLNET_OK;
}

static clnet_status add_flatten(ox_import *imp, const ox_value *x)
{
    if (ox_shape(imp, x)->ndim == 1)
        return alias(imp, x);
    clnet_layer_spec spec = {.kind = CLNET_LAYER_FLATTEN};
    return add_on(imp, x, &spec, NULL);
}

static clnet_status op_flatten(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "axis"));
    int64_t axis = 1;
    TRY(ox_attr_int(imp, "axis", &axis));
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    int a = 0;
    TRY(image_axis(imp, axis, ox_shape(imp, x)->ndim, &a));
    if (a != 0)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'axis' = %lld (clnet flattens "
                       "each example: axis 1)", (long long)axis);
    return add_flatten(imp, x);
}

/* ShuffleNet's channel shuffle: a SHUFFLE layer, no parameters. */
static clnet_status add_channel_shuffle(ox_import *imp, const ox_value *x, int64_t groups)
{
    clnet_layer_spec spec = {.kind = CLNET_LAYER_SHUFFLE, .shuffle_groups = (int)groups};
    return add_on(imp, x, &spec, NULL);
}

/* Whether Reshape(x, (N, G, C/G, H, W)) is followed by Transpose(0, 2, 1,
 * 3, 4) and Reshape(N, C, H, W): the channel shuffle of ShuffleNet. Marks
 * the two followers absorbed and gives the last one's output to `id`. */
static bool shuffle_pattern(ox_import *imp, const clnet_shape *in, const int64_t *dim, int n,
                            int *transpose, int *back)
{
    if (n != 4 || in->ndim != 3 || dim[0] * dim[1] != in->dim[0] || dim[2] != in->dim[1] ||
        dim[3] != in->dim[2])
        return false;
    const Onnx__NodeProto *t = ox_sole_consumer(imp, ox_output(imp, 0), transpose);
    if (!t || strcmp(t->op_type, "Transpose") != 0 || t->n_output != 1)
        return false;
    const Onnx__AttributeProto *perm = NULL;
    for (size_t i = 0; i < t->n_attribute; i++)
        if (t->attribute[i]->name && strcmp(t->attribute[i]->name, "perm") == 0)
            perm = t->attribute[i];
    static const int64_t swap[5] = {0, 2, 1, 3, 4};
    if (!perm || perm->n_ints != 5 || memcmp(perm->ints, swap, sizeof swap) != 0 ||
        t->n_attribute != 1)
        return false;
    ox_value *tv = ox_value_find(imp, t->output[0]);
    const Onnx__NodeProto *r = tv ? ox_sole_consumer(imp, tv, back) : NULL;
    if (!r || strcmp(r->op_type, "Reshape") != 0 || r->n_input != 2 || r->n_attribute != 0 ||
        strcmp(r->input[0], t->output[0]) != 0)
        return false;
    ox_value *s = ox_value_find(imp, r->input[1]);
    s = s ? ox_demand_const(imp, s) : NULL;
    if (!s || s->c.dtype != OX_I64 || s->c.count != 4)
        return false;
    /* back to (N, C, H, W): each entry the batch, -1 or the size itself */
    for (int d = 1; d < 4; d++)
        if (s->c.i[d] != in->dim[d - 1] && s->c.i[d] != -1)
            return false;
    return s->c.i[0] == OX_BATCH || s->c.i[0] == 0 || s->c.i[0] == -1 ||
           (imp->batch && s->c.i[0] == imp->batch);
}

static clnet_status op_reshape(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "allowzero"));
    int64_t allowzero = 0;
    TRY(ox_attr_int(imp, "allowzero", &allowzero));
    ox_value *x = NULL, *sv = ox_input(imp, 1); /* x: set by layer_in */
    TRY(layer_in(imp, 0, false, &x));
    if (!sv)
        return CLNET_ERR_FORMAT;
    if (!ox_demand_const(imp, sv) || sv->c.dtype != OX_I64 || sv->c.ndim != 1 || sv->c.count < 1 ||
        sv->c.count > OX_MAX_DIMS)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input 1 ('%s'): the target shape must be "
                       "known at import time", sv->name);
    const clnet_shape *in = ox_shape(imp, x);
    int64_t numel = nn_numel(in), dim[OX_MAX_DIMS], known = 1;
    int n = (int)sv->c.count - 1, infer = -1;
    int64_t first = sv->c.i[0];
    for (int d = 0; d < n; d++) {
        int64_t v = sv->c.i[d + 1];
        if (v == 0 && !allowzero && d < in->ndim)
            v = in->dim[d];
        if (v == -1 && infer < 0)
            infer = d;
        else if (v < 1)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input 1: target dimension %d is %lld",
                           d + 1, (long long)v);
        else
            known *= v;
        dim[d] = v;
    }
    if (infer >= 0)
        dim[infer] = numel / known;
    int64_t total = infer >= 0 ? dim[infer] * known : known;
    bool batch_first = first == OX_BATCH || (first == 0 && !allowzero) ||
                       (imp->batch && first == imp->batch) || (first == -1 && infer < 0);
    if (!batch_first || total != numel)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a reshape that does not keep the batch "
                       "axis first and each example's %lld values together", (long long)numel);
    clnet_shape target = {.ndim = n};
    for (int d = 0; d < n; d++)
        target.dim[d] = dim[d];
    if (nn_same_shape(&target, in))
        return alias(imp, x);
    if (n == 1)
        return add_flatten(imp, x);
    int transpose, back;
    if (shuffle_pattern(imp, in, dim, n, &transpose, &back)) {
        TRY(add_channel_shuffle(imp, x, dim[0]));
        int id = ox_output(imp, 0)->layer;
        imp->absorbed[transpose] = imp->absorbed[back] = true;
        ox_value *out = ox_value_find(imp, imp->graph->node[back]->output[0]);
        out->kind = OX_LAYER;
        out->layer = id;
        return CLNET_OK;
    }
    return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a reshape of each example from rank %d to rank "
                   "%d other than a flatten or a channel shuffle", in->ndim, n);
}

static clnet_status op_squeeze(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "axes"));
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    const clnet_shape *in = ox_shape(imp, x);
    int64_t axes[OX_MAX_DIMS];
    int n = 0;
    TRY(ints_in(imp, 1, "axes", axes, &n));
    bool gone[CLNET_MAX_DIMS] = {false};
    for (int k = 0; k < n; k++) {
        int a = 0;
        TRY(image_axis(imp, axes[k], in->ndim, &a));
        if (a < 0 || in->dim[a] != 1)
            return ox_fail(imp, CLNET_ERR_FORMAT, "axis %lld is not of size 1",
                           (long long)axes[k]);
        gone[a] = true;
    }
    for (int a = 1; a < in->ndim; a++)
        if (in->dim[a] != 1 || (n > 0 && !gone[a]))
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a squeeze that does not leave (N, C)");
    return add_flatten(imp, x);
}

/* A Slice or Split along the channels: SLICE layers (views). */
static clnet_status add_slice(ox_import *imp, const ox_value *x, int out, int64_t start,
                              int64_t count)
{
    if (start == 0 && count == ox_shape(imp, x)->dim[0]) {
        ox_value *y = ox_output(imp, out);
        y->kind = OX_LAYER;
        y->layer = x->layer;
        return CLNET_OK;
    }
    if (count < 1)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "an empty slice");
    clnet_layer_spec spec = {.kind = CLNET_LAYER_SLICE, .from = {x->layer}, .nfrom = 1,
                             .slice_start = (int)start, .slice_count = (int)count};
    int id;
    TRY(ox_add_layer(imp, &spec, &id));
    ox_set_layer(imp, out, id);
    return CLNET_OK;
}

static clnet_status op_slice(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "starts ends axes"));
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    const clnet_shape *in = ox_shape(imp, x);
    int64_t starts[OX_MAX_DIMS], ends[OX_MAX_DIMS], axes[OX_MAX_DIMS], steps[OX_MAX_DIMS];
    int ns = 0, ne = 0, na = -1, nt = -1;
    TRY(ints_in(imp, 1, "starts", starts, &ns));
    TRY(ints_in(imp, 2, "ends", ends, &ne));
    TRY(ints_in(imp, 3, "axes", axes, &na));
    TRY(ints_in(imp, 4, "steps", steps, &nt));
    if (ns != 1 || ne != 1 || (na != -1 && na != 1) || (nt != -1 && nt != 1))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a slice of several axes (clnet slices the "
                       "channels)");
    int a = 0;
    TRY(image_axis(imp, na == 1 ? axes[0] : 0, in->ndim, &a));
    if (a != 0 || (nt == 1 && steps[0] != 1))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a slice other than a channel range with step "
                       "1");
    int64_t len = in->dim[0];
    int64_t b = starts[0] < 0 ? starts[0] + len : starts[0];
    int64_t e = ends[0] < 0 ? ends[0] + len : ends[0];
    b = b < 0 ? 0 : b > len ? len : b;
    e = e < b ? b : e > len ? len : e;
    return add_slice(imp, x, 0, b, e - b);
}

static clnet_status op_split(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "axis split"));
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    const clnet_shape *in = ox_shape(imp, x);
    int64_t axis = 0, split[CLNET_MAX_FROM];
    int n = -1, outs = (int)imp->node->n_output;
    TRY(ox_attr_int(imp, "axis", &axis));
    int a = 0;
    TRY(image_axis(imp, axis, in->ndim, &a));
    if (a != 0)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'axis' = %lld (clnet splits the "
                       "channels, axis 1)", (long long)axis);
    if (outs < 1 || outs > CLNET_MAX_FROM)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "%d outputs", outs);
    ox_value *sv = ox_opt_input(imp, 1);
    if (sv) {
        if (!ox_demand_const(imp, sv) || sv->c.dtype != OX_I64 || sv->c.count != outs)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input 1: the split must be %d known "
                           "sizes", outs);
        memcpy(split, sv->c.i, (size_t)outs * sizeof *split);
        n = outs;
    } else {
        TRY(ox_attr_ints(imp, "split", CLNET_MAX_FROM, split, &n));
    }
    if (n == -1) {
        if (in->dim[0] % outs != 0)
            return ox_fail(imp, CLNET_ERR_FORMAT, "%lld channels do not split in %d",
                           (long long)in->dim[0], outs);
        for (int i = 0; i < outs; i++)
            split[i] = in->dim[0] / outs;
    } else if (n != outs) {
        return ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'split' has %d sizes for %d outputs", n,
                       outs);
    }
    int64_t start = 0;
    for (int i = 0; i < outs; i++) {
        if (split[i] < 0 || start + split[i] > in->dim[0])
            return ox_fail(imp, CLNET_ERR_FORMAT, "the split sizes exceed the %lld channels",
                           (long long)in->dim[0]);
        if (imp->node->output[i][0])
            TRY(add_slice(imp, x, i, start, split[i]));
        start += split[i];
    }
    return CLNET_OK;
}

/* Pad with zeros of the spatial axes, kept for the Conv or AveragePool after
 * it, or of zero channels after the input's, kept for the Add after it. */
static clnet_status op_pad(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "mode pads value"));
    char mode[32] = "constant";
    TRY(ox_attr_string(imp, "mode", mode, sizeof mode));
    float value = 0;
    TRY(ox_attr_float(imp, "value", &value));
    const ox_const *cv;
    TRY(const_in(imp, 2, true, 1, &cv));
    value = cv ? cv->f[0] : value;
    if (strcmp(mode, "constant") != 0 || value != 0.0f)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'mode' = '%s' with value %g "
                       "(clnet pads convolutions with zeros)", mode, value);
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, true, &x));   /* zeros padded to zeros: the pads add up */
    const clnet_shape *in = ox_shape(imp, x);
    int64_t pads[2 * OX_MAX_DIMS];
    int n = 0, rank = in->ndim + 1;
    ox_value *pv = ox_opt_input(imp, 1);
    if (pv) {
        if (pv->kind != OX_CONST || pv->c.dtype != OX_I64 || pv->c.count != 2 * rank)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input 1: pads must be %d known sizes",
                           2 * rank);
        memcpy(pads, pv->c.i, (size_t)(2 * rank) * sizeof *pads);
        n = 2 * rank;
    } else {
        TRY(ox_attr_ints(imp, "pads", 2 * OX_MAX_DIMS, pads, &n));
    }
    if (n != 2 * rank)
        return ox_fail(imp, CLNET_ERR_FORMAT, "pads for rank %d (%d values)", rank, n);
    bool spatial = false;
    for (int a = 0; a < 2 * rank; a++)
        if (pads[a] > (1 << 20))
            return ox_fail(imp, CLNET_ERR_FORMAT, "pads[%d] = %lld", a, (long long)pads[a]);
    for (int a = 2; a < rank; a++)
        spatial |= pads[a] != 0 || pads[rank + a] != 0;
    if (spatial && rank > 4)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "spatial padding of a rank %d tensor (clnet "
                       "pads 1-D and 2-D windows)", rank);
    if (pads[0] || pads[rank] || pads[1] || (pads[rank + 1] && spatial) || pads[rank + 1] < 0)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute or input 'pads': padding of the "
                       "batch axis, before the channels, or of the channels and the spatial "
                       "axes at once (clnet folds zero channels after an Add's input, or "
                       "spatial zeros into a Conv or AveragePool)");
    if (!spatial && !pads[rank + 1])
        return alias(imp, x);
    ox_value *y = ox_output(imp, 0);
    y->kind = OX_LAYER;
    y->layer = x->layer;
    if (x->padded && !spatial)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input 0 ('%s'): zero channels after "
                       "spatial zeros (clnet folds one or the other)", x->name);
    y->padded = true;
    if (!spatial) {
        y->pad_channels = (int)pads[rank + 1];
        return CLNET_OK;
    }
    memcpy(y->pad, x->pad, sizeof y->pad);
    /* (top, left, bottom, right); 1-D inputs pad the width only */
    int sp = rank - 2;
    for (int a = 0; a < sp; a++) {
        int s = sp == 2 ? a : 1;
        if (pads[2 + a] < 0 || pads[rank + 2 + a] < 0)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "negative padding (cropping)");
        y->pad[s] += (int)pads[2 + a];
        y->pad[2 + s] += (int)pads[rank + 2 + a];
        if (y->pad[s] > (1 << 20) || y->pad[2 + s] > (1 << 20))
            return ox_fail(imp, CLNET_ERR_FORMAT, "more than 2^20 zeros of padding");
    }
    return CLNET_OK;
}

static clnet_status op_passthrough(ox_import *imp)
{
    const char *op = imp->node->op_type;
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    if (strcmp(op, "Identity") == 0) {
        TRY(ox_check_attrs(imp, ""));
        return alias(imp, x);
    }
    if (strcmp(op, "Cast") == 0) {
        TRY(ox_check_attrs(imp, "to"));
        int64_t to = 0;
        TRY(ox_attr_int(imp, "to", &to));
        if (to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'to' = %lld (clnet computes "
                           "in float)", (long long)to);
        return alias(imp, x);
    }
    /* Dropout: a DROPOUT layer, identity at inference, the model's ratio when
     * the net is fine-tuned */
    TRY(ox_check_attrs(imp, "ratio seed is_test"));
    float ratio = 0.5f;
    TRY(ox_attr_float(imp, "ratio", &ratio));
    const ox_const *r;
    TRY(const_in(imp, 1, true, 1, &r));
    ratio = r ? r->f[0] : ratio;
    ox_value *training = ox_opt_input(imp, 2);
    if (training && (training->kind != OX_CONST || training->c.count != 1 ||
                     ox_const_get(&training->c, 0) != 0))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input 2 (training_mode) must be a constant "
                       "false");
    if (!(ratio >= 0 && ratio < 1))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "ratio %g", ratio);
    clnet_layer_spec spec = {.kind = CLNET_LAYER_DROPOUT, .dropout_p = ratio};
    return add_on(imp, x, &spec, NULL);
}

static clnet_status op_softmax(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "axis"));
    int64_t axis = imp->opset >= 13 ? -1 : 1;
    TRY(ox_attr_int(imp, "axis", &axis));
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    const clnet_shape *in = ox_shape(imp, x);
    int a = 0;
    TRY(image_axis(imp, axis, in->ndim, &a));
    /* before opset 13 the axis starts a flattened block; the same as clnet's
     * softmax over axis 1 only when nothing follows the channels */
    bool only_channels = nn_numel(in) == in->dim[0];
    if (a != 0 || (!only_channels && imp->opset < 13))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'axis' = %lld on rank %d (clnet's "
                       "softmax is over the channels, axis 1)", (long long)axis, in->ndim + 1);
    clnet_layer_spec spec = {.kind = CLNET_LAYER_SOFTMAX};
    return add_on(imp, x, &spec, NULL);
}

static clnet_status op_lrn(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "alpha beta bias size"));
    float alpha = 1e-4f, beta = 0.75f, bias = 1.0f;
    int64_t size = 0;
    TRY(ox_attr_float(imp, "alpha", &alpha));
    TRY(ox_attr_float(imp, "beta", &beta));
    TRY(ox_attr_float(imp, "bias", &bias));
    TRY(ox_attr_int(imp, "size", &size));
    if (size < 1 || size > 4096)
        return ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'size' = %lld", (long long)size);
    ox_value *x = NULL; /* set by the input getter; -O3 cannot see that */
    TRY(layer_in(imp, 0, false, &x));
    clnet_layer_spec spec = {.kind = CLNET_LAYER_LRN,
                             .lrn = {.size = (int)size, .alpha = alpha, .beta = beta, .k = bias}};
    return add_on(imp, x, &spec, NULL);
}

static clnet_status op_shape(ox_import *imp)
{
    ox_value *x = ox_input(imp, 0);
    return x ? ox_shape_of_layer(imp, x) : CLNET_ERR_FORMAT;
}

typedef clnet_status (*op_fn)(ox_import *imp);

static const struct {
    const char *op;
    op_fn fn;
} ops[] = {
    {"Conv", op_conv}, {"ConvTranspose", op_conv}, {"BatchNormalization", op_batchnorm},
    {"Relu", op_activation}, {"LeakyRelu", op_activation}, {"Sigmoid", op_activation},
    {"Tanh", op_activation}, {"HardSigmoid", op_activation}, {"HardSwish", op_activation},
    {"Clip", op_activation}, {"MaxPool", op_pool}, {"AveragePool", op_pool},
    {"GlobalAveragePool", op_pool}, {"GlobalMaxPool", op_pool},
    {"ReduceMean", op_reduce_mean}, {"Gemm", op_linear}, {"MatMul", op_linear},
    {"Add", op_binary}, {"Sub", op_binary}, {"Mul", op_binary}, {"Div", op_binary},
    {"Concat", op_concat}, {"Flatten", op_flatten}, {"Reshape", op_reshape},
    {"Squeeze", op_squeeze}, {"Slice", op_slice}, {"Split", op_split}, {"Pad", op_pad},
    {"Identity", op_passthrough}, {"Cast", op_passthrough}, {"Dropout", op_passthrough},
    {"Softmax", op_softmax}, {"LRN", op_lrn}, {"Shape", op_shape},
};

clnet_status ox_import_node(ox_import *imp)
{
    if (imp->node->n_output == 0 || !imp->node->output[0][0])
        return ox_fail(imp, CLNET_ERR_FORMAT, "the node has no output");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(imp->node->op_type, ops[i].op) == 0)
            return ops[i].fn(imp);
    return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "operator %s has no clnet layer (docs/onnx.md "
                   "lists the operators clnet imports)", imp->node->op_type);
}
