/* net.c - building a network: layers, shape inference through the ops'
 * own shape rules, parameter and MAC counting, summary, freeze, truncate. */
#include "nn/nn_internal.h"
#include "core/geometry.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

clnet_status nn_wrap(clnet_ctx *ctx, clnet_status st, const char *fmt, ...)
{
    char prefix[512], detail[4096];
    snprintf(detail, sizeof detail, "%s", clnet_last_error(ctx));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    return clnet_fail(ctx, st, "%s: %s", prefix, detail);
}

const char *nn_kind_name(clnet_layer_kind kind)
{
    static const char *names[CLNET_LAYER_KIND_COUNT] = {
        [CLNET_LAYER_INPUT] = "input",         [CLNET_LAYER_CONV] = "conv",
        [CLNET_LAYER_CONV_TRANSPOSE] = "convt", [CLNET_LAYER_POOL] = "pool",
        [CLNET_LAYER_ACTIVATION] = "activation", [CLNET_LAYER_BATCHNORM] = "batchnorm",
        [CLNET_LAYER_LRN] = "lrn",             [CLNET_LAYER_DROPOUT] = "dropout",
        [CLNET_LAYER_LINEAR] = "linear",       [CLNET_LAYER_ADD] = "add",
        [CLNET_LAYER_MUL] = "mul",             [CLNET_LAYER_CONCAT] = "concat",
        [CLNET_LAYER_FLATTEN] = "flatten",     [CLNET_LAYER_SOFTMAX] = "softmax",
        [CLNET_LAYER_SLICE] = "slice",         [CLNET_LAYER_RBF] = "rbf",
        [CLNET_LAYER_UNPOOL] = "unpool",
        [CLNET_LAYER_SHUFFLE] = "shuffle",
    };
    if ((int)kind < 0 || kind >= CLNET_LAYER_KIND_COUNT)
        return "?";
    return names[kind];
}

const char *clnet_layer_kind_name(clnet_layer_kind kind)
{
    return nn_kind_name(kind);
}

clnet_op nn_layer_op(const nn_layer *l)
{
    const clnet_layer_spec *s = &l->spec;
    clnet_op op = {.kind = CLNET_OP_CONCAT};
    switch (s->kind) {
    case CLNET_LAYER_CONV:
    case CLNET_LAYER_CONV_TRANSPOSE:
        op.kind = s->kind == CLNET_LAYER_CONV ? CLNET_OP_CONV : CLNET_OP_CONV_TRANSPOSE;
        op.u.conv = s->conv;
        break;
    case CLNET_LAYER_POOL:
        op.kind = CLNET_OP_POOL;
        op.u.pool = s->pool;
        break;
    case CLNET_LAYER_ACTIVATION:
        op.kind = CLNET_OP_ACTIVATION;
        op.u.act = s->act;
        break;
    case CLNET_LAYER_BATCHNORM:
        op.kind = CLNET_OP_BATCHNORM;
        op.u.bn.eps = s->bn_eps;
        op.u.bn.momentum = s->bn_momentum;
        break;
    case CLNET_LAYER_LRN:
        op.kind = CLNET_OP_LRN;
        op.u.lrn = s->lrn;
        break;
    case CLNET_LAYER_DROPOUT:
        op.kind = CLNET_OP_DROPOUT;
        op.u.dropout.p = s->dropout_p;
        break;
    case CLNET_LAYER_LINEAR: op.kind = CLNET_OP_LINEAR; break;
    case CLNET_LAYER_ADD: op.kind = CLNET_OP_BINARY; op.u.binary.fn = CLNET_BINARY_ADD; break;
    case CLNET_LAYER_MUL: op.kind = CLNET_OP_BINARY; op.u.binary.fn = CLNET_BINARY_MUL; break;
    case CLNET_LAYER_SOFTMAX: op.kind = CLNET_OP_SOFTMAX; break;
    case CLNET_LAYER_RBF: op.kind = CLNET_OP_RBF; break;
    case CLNET_LAYER_UNPOOL:
        /* the unpooled plane is the output's, not yet known while the layer
         * is being added (unpool_shape checks it then) */
        op.kind = CLNET_OP_UNPOOL;
        if (l->out.ndim > 0) {
            op.u.unpool.out_h = l->out.ndim == 3 ? (int)l->out.dim[1] : 1;
            op.u.unpool.out_w = (int)l->out.dim[l->out.ndim - 1];
        }
        break;
    case CLNET_LAYER_SHUFFLE:
        op.kind = CLNET_OP_CHANNEL_SHUFFLE;
        op.u.shuffle.groups = s->shuffle_groups;
        break;
    default: break; /* INPUT, FLATTEN, CONCAT and SLICE run no single forward op */
    }
    return op;
}

clnet_status clnet_net_new(clnet_ctx *ctx, const clnet_shape *input, clnet_net **out)
{
    clnet_error_clear(ctx);
    if (!out || !input)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_new: NULL argument");
    *out = NULL;
    if (input->ndim < 1 || input->ndim > 3)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_new: input rank %d (a net takes (C, H, W), (C, W) or (F))",
                          input->ndim);
    for (int i = 0; i < input->ndim; i++)
        if (input->dim[i] < 1)
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "clnet_net_new: input dimension %d is %lld", i,
                              (long long)input->dim[i]);
    clnet_net *net = calloc(1, sizeof *net);
    nn_layer *layers = calloc(8, sizeof *layers);
    if (!net || !layers) {
        free(net);
        free(layers);
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_new: out of host memory");
    }
    net->ctx = ctx;
    net->layers = layers;
    net->cap = 8;
    net->nlayers = 1;
    nn_layer *in = &layers[0];
    in->spec.kind = CLNET_LAYER_INPUT;
    strcpy(in->spec.name, "input");
    in->out = *input;
    in->consumer = -1;
    clnet_status st = nn_names_add(net, 0);
    if (st != CLNET_OK) {
        clnet_net_free(net);
        return st;
    }
    *out = net;
    return CLNET_OK;
}

static void param_free_host(nn_param *p)
{
    free(p->host);
    p->host = NULL;
    for (int i = 0; i < NN_MAX_STATE; i++) {
        free(p->state_host[i]);
        p->state_host[i] = NULL;
    }
}

void clnet_net_free(clnet_net *net)
{
    if (!net)
        return;
    if (net->dev)
        nn_release_device(net);
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++)
            param_free_host(&net->layers[i].params[j]);
    nn_norm_free(net);
    free(net->layers);
    free(net->names);
    free(net);
}

/* ---- adding a layer ---- */

/* Zero means "the usual" for fields where zero is not a valid value, so a
 * zero-initialised spec with only the essentials set describes a layer. */
static void fill_defaults(clnet_layer_spec *s)
{
    clnet_conv_params *c = &s->conv;
    for (int a = 0; a < 2; a++) {
        if (c->stride[a] == 0)
            c->stride[a] = 1;
        if (c->dilation[a] == 0)
            c->dilation[a] = 1;
        if (s->pool.stride[a] == 0)
            s->pool.stride[a] = s->pool.kernel[a];
    }
    if (c->groups == 0)
        c->groups = 1;
    if (s->bn_eps == 0.0f)
        s->bn_eps = 1e-5f;
    if (s->bn_momentum == 0.0f)
        s->bn_momentum = 0.1f;
}

static clnet_status resolve_from(clnet_net *net, clnet_layer_spec *s, int id, const char *name)
{
    if (s->nfrom < 0 || s->nfrom > CLNET_MAX_FROM)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "net: layer %d (%s): %d inputs (at most %d)", id, name, s->nfrom,
                          CLNET_MAX_FROM);
    if (s->nfrom == 0) {
        s->nfrom = 1;
        s->from[0] = CLNET_LAYER_PREV;
    }
    for (int i = 0; i < s->nfrom; i++) {
        /* negative ids count back from the new layer: -1 is the previous one */
        int f = s->from[i] < 0 ? id + s->from[i] : s->from[i];
        if (f < 0 || f >= id)
            return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "net: layer %d (%s): input %d refers to layer %d, which does not "
                              "exist before it", id, name, i, s->from[i]);
        s->from[i] = f;
    }
    int lo = 1, hi = 1;
    switch (s->kind) {
    case CLNET_LAYER_ADD: lo = 2; hi = CLNET_MAX_FROM; break;
    case CLNET_LAYER_MUL: lo = hi = 2; break;
    case CLNET_LAYER_CONCAT: hi = CLNET_MAX_FROM; break;
    default: break;
    }
    if (s->nfrom < lo || s->nfrom > hi)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "net: layer %d (%s): a %s layer takes %d..%d inputs, got %d", id, name,
                          nn_kind_name(s->kind), lo, hi, s->nfrom);
    return CLNET_OK;
}

static clnet_status check_name(clnet_net *net, clnet_layer_spec *s, int id)
{
    if (!memchr(s->name, '\0', sizeof s->name))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "net: layer %d: name longer than %zu characters", id,
                          sizeof s->name - 1);
    if (s->name[0] == '\0')
        snprintf(s->name, sizeof s->name, "%s%d", nn_kind_name(s->kind), id);
    int other = nn_names_find(net, s->name);
    if (other >= 0)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "net: layer %d: name '%s' is already used by layer %d", id, s->name,
                          other);
    return CLNET_OK;
}

static clnet_shape with_batch(const clnet_shape *s, int64_t n)
{
    clnet_shape b = {.ndim = s->ndim + 1, .dim = {n}};
    for (int i = 0; i < s->ndim; i++)
        b.dim[i + 1] = s->dim[i];
    return b;
}

static clnet_shape without_batch(const clnet_shape *s)
{
    clnet_shape b = {.ndim = s->ndim - 1};
    for (int i = 1; i < s->ndim; i++)
        b.dim[i - 1] = s->dim[i];
    return b;
}

static void add_param(nn_layer *l, const char *name, nn_param_init init, int ndim,
                      const int64_t *dim)
{
    nn_param *p = &l->params[l->nparams++];
    p->name = name;
    p->trainable = strncmp(name, "running_", 8) != 0; /* statistics, not trained */
    p->lr_mult = p->decay_mult = 1.0f;
    p->init = init;
    p->shape.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        p->shape.dim[i] = dim[i];
}

/* Declares the parameters of CONV, CONV_TRANSPOSE, LINEAR, RBF and BATCHNORM
 * from the input shape (per image). */
static void declare_params(nn_layer *l, const clnet_shape *in)
{
    const clnet_layer_spec *s = &l->spec;
    int64_t g = s->conv.groups, k = s->out_channels;
    switch (s->kind) {
    case CLNET_LAYER_CONV:
    case CLNET_LAYER_CONV_TRANSPOSE: {
        int64_t c = in->dim[0];
        int64_t w[4];
        if (s->kind == CLNET_LAYER_CONV) {
            w[0] = k;
            w[1] = c / g;
        } else {
            w[0] = c;
            w[1] = k / g;
        }
        int nd = in->ndim + 1;       /* (C, H, W) -> 4-D weights, (C, W) -> 3-D */
        w[2] = nd == 4 ? s->kernel[0] : s->kernel[1];
        w[3] = s->kernel[1];
        add_param(l, "weight", NN_INIT_WEIGHT, nd, w);
        if (s->bias)
            add_param(l, "bias", NN_INIT_ZERO, 1, &k);
        break;
    }
    case CLNET_LAYER_LINEAR:
    case CLNET_LAYER_RBF: {
        int64_t w[2] = {k, nn_numel(in)};
        bool digits = s->kind == CLNET_LAYER_RBF && s->rbf_digit_centres;
        add_param(l, "weight", digits ? NN_INIT_DIGITS : NN_INIT_WEIGHT, 2, w);
        if (digits)
            l->params[0].lr_mult = 0.0f;
        if (s->bias && s->kind == CLNET_LAYER_LINEAR)
            add_param(l, "bias", NN_INIT_ZERO, 1, &k);
        break;
    }
    case CLNET_LAYER_BATCHNORM: {
        int64_t c = in->dim[0];
        add_param(l, "gamma", l->spec.bn_zero_gamma ? NN_INIT_ZERO : NN_INIT_ONE, 1, &c);
        if (l->spec.bn_frozen_scale)
            l->params[0].lr_mult = 0.0f;
        add_param(l, "beta", NN_INIT_ZERO, 1, &c);
        add_param(l, "running_mean", NN_INIT_ZERO, 1, &c);
        add_param(l, "running_var", NN_INIT_ONE, 1, &c);
        break;
    }
    default:
        break;
    }
}

/* Among the inputs of an ADD/MUL, the one with the full shape (the others
 * may broadcast per channel against it). */
int nn_full_input(const clnet_net *net, const nn_layer *l)
{
    int best = 0;
    for (int i = 1; i < l->spec.nfrom; i++)
        if (nn_numel(&net->layers[l->spec.from[i]].out) >
            nn_numel(&net->layers[l->spec.from[best]].out))
            best = i;
    return best;
}

/* A channel range of the input: axis 0 of the per-image shape. */
static clnet_status slice_shape(clnet_net *net, const clnet_layer_spec *s, const clnet_shape *in,
                                clnet_shape *out)
{
    int64_t end = (int64_t)s->slice_start + s->slice_count;
    if (s->slice_start < 0 || s->slice_count < 1 || end > in->dim[0])
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_PARAMS,
                          "channels %d..%lld are outside the input's 0..%lld", s->slice_start,
                          (long long)end - 1, (long long)in->dim[0] - 1);
    *out = *in;
    out->dim[0] = s->slice_count;
    return CLNET_OK;
}

/* UNPOOL: the switches are those of an earlier max pooling whose output has
 * the input's shape; the output has that pooling's input shape. */
static clnet_status unpool_shape(clnet_net *net, const clnet_layer_spec *s, const clnet_shape *in,
                                 clnet_shape *out)
{
    if (s->switches < 1 || s->switches >= net->nlayers)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "switches: layer %d does not exist before this one", s->switches);
    const nn_layer *pool = &net->layers[s->switches];
    if (pool->spec.kind != CLNET_LAYER_POOL ||
        !clnet_pool_mode_info_get(pool->spec.pool.mode)->selects)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_PARAMS,
                          "switches: layer %s is not a max pooling", pool->spec.name);
    if (!nn_same_shape(&pool->out, in))
        return clnet_fail(net->ctx, CLNET_ERR_SHAPE,
                          "the input differs in shape from the output of %s, whose switches "
                          "it takes", pool->spec.name);
    *out = net->layers[pool->spec.from[0]].out;
    return CLNET_OK;
}

/* Runs the layer's op shape rules on batch-1 shapes; *out gets the output
 * per image. Messages come from the op check; the caller adds the layer. */
static clnet_status infer_shape(clnet_net *net, nn_layer *l, clnet_shape *out)
{
    const clnet_layer_spec *s = &l->spec;
    const clnet_shape *first = &net->layers[s->from[0]].out;
    clnet_shape in[CLNET_OP_MAX_INPUTS], res[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dt[CLNET_OP_MAX_INPUTS], rdt[CLNET_OP_MAX_OUTPUTS];
    int nin = 0, nout = 0;
    for (int i = 0; i < CLNET_OP_MAX_INPUTS; i++)
        dt[i] = CLNET_F32;
    clnet_op op = nn_layer_op(l);
    switch (s->kind) {
    case CLNET_LAYER_FLATTEN:
        out->ndim = 1;
        out->dim[0] = nn_numel(first);
        return CLNET_OK;
    case CLNET_LAYER_SLICE:
        return slice_shape(net, s, first, out);
    case CLNET_LAYER_UNPOOL:
        return unpool_shape(net, s, first, out);
    case CLNET_LAYER_CONV:
    case CLNET_LAYER_CONV_TRANSPOSE:
    case CLNET_LAYER_LINEAR:
    case CLNET_LAYER_RBF:
    case CLNET_LAYER_BATCHNORM:
        if (s->kind != CLNET_LAYER_BATCHNORM && s->out_channels < 1)
            return clnet_fail(net->ctx, CLNET_ERR_INVALID_PARAMS, "%d outputs (must be >= 1)",
                              s->out_channels);
        if (s->kind == CLNET_LAYER_RBF && s->rbf_digit_centres &&
            (s->out_channels != NN_RBF_DIGITS || nn_numel(first) != NN_RBF_DIGIT_CELLS))
            return clnet_fail(net->ctx, CLNET_ERR_SHAPE, "digit centres are %d bitmaps of %d "
                              "cells: needs %d outputs of %d inputs, has %d of %lld",
                              NN_RBF_DIGITS, NN_RBF_DIGIT_CELLS, NN_RBF_DIGITS,
                              NN_RBF_DIGIT_CELLS, s->out_channels, (long long)nn_numel(first));
        if ((s->kind == CLNET_LAYER_CONV || s->kind == CLNET_LAYER_CONV_TRANSPOSE) &&
            first->ndim < 2)
            return clnet_fail(net->ctx, CLNET_ERR_SHAPE,
                              "needs a (C, H, W) or (C, W) input, got rank %d", first->ndim);
        declare_params(l, first);
        in[nin++] = with_batch(first, 1);
        if (s->kind == CLNET_LAYER_BATCHNORM) {
            /* BATCHNORM takes mean and var before gamma and beta */
            in[nin++] = l->params[2].shape;
            in[nin++] = l->params[3].shape;
        }
        for (int i = 0; i < 2 && i < l->nparams; i++)
            in[nin++] = l->params[i].shape;
        break;
    case CLNET_LAYER_ADD:
    case CLNET_LAYER_MUL: {
        int full = nn_full_input(net, l);
        const clnet_shape *wide = &net->layers[s->from[full]].out;
        in[0] = with_batch(wide, 1);
        for (int i = 0; i < s->nfrom; i++) {
            if (i == full)
                continue;
            const clnet_shape *x = &net->layers[s->from[i]].out;
            in[1] = with_batch(x, 1);
            /* a narrower ADD input is checked against the slice it adds into */
            bool prefix = s->kind == CLNET_LAYER_ADD && nn_channel_prefix(wide, x);
            in[0].dim[1] = prefix ? x->dim[0] : wide->dim[0];
            clnet_status st = clnet_op_output_shapes(net->ctx, &op, 2, in, dt, &nout, res, rdt);
            if (st != CLNET_OK)
                return st;
        }
        *out = net->layers[s->from[full]].out;
        return CLNET_OK;
    }
    default:
        for (int i = 0; i < s->nfrom; i++)
            in[nin++] = with_batch(&net->layers[s->from[i]].out, 1);
        break;
    }
    clnet_status st = clnet_op_output_shapes(net->ctx, &op, nin, in, dt, &nout, res, rdt);
    if (st == CLNET_OK)
        *out = without_batch(&res[0]);
    return st;
}

/* The fused activation's parameters, checked by the ACTIVATION op's rules. */
/* A fused activation is refused, not dropped, on a kind that cannot apply
 * one: dropping it would silently train a different net. */
static clnet_status check_fused_act(clnet_net *net, const nn_layer *l)
{
    if (!l->spec.has_act)
        return CLNET_OK;
    const clnet_layer_kind k = l->spec.kind;
    if (k != CLNET_LAYER_CONV && k != CLNET_LAYER_CONV_TRANSPOSE && k != CLNET_LAYER_LINEAR &&
        k != CLNET_LAYER_BATCHNORM)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_PARAMS,
                          "has_act: only conv, conv_transpose, linear and batchnorm layers take "
                          "a fused activation; add an activation layer after this one");
    clnet_op act = {.kind = CLNET_OP_ACTIVATION, .u.act = l->spec.act};
    clnet_shape in = with_batch(&l->out, 1), res[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dt = CLNET_F32, rdt[CLNET_OP_MAX_OUTPUTS];
    int nout;
    return clnet_op_output_shapes(net->ctx, &act, 1, &in, &dt, &nout, res, rdt);
}

/* Adaptive pooling's work per image: every output reads its whole window,
 * and windows differ in size (and overlap) unless the sizes divide. */
static int64_t adaptive_reads(const clnet_shape *in, const clnet_shape *out)
{
    int64_t rows = 0, cols = 0, begin, end;
    bool image = in->ndim == 3;
    int64_t h = image ? in->dim[1] : 1, oh = image ? out->dim[1] : 1;
    int64_t w = in->dim[in->ndim - 1], ow = out->dim[out->ndim - 1];
    for (int64_t i = 0; i < oh; i++) {
        clnet_adaptive_window(i, h, oh, &begin, &end);
        rows += end - begin;
    }
    for (int64_t j = 0; j < ow; j++) {
        clnet_adaptive_window(j, w, ow, &begin, &end);
        cols += end - begin;
    }
    return in->dim[0] * rows * cols;
}

/* MACs and other arithmetic per image, by the convention the README states. */
static void count_layer(const clnet_net *net, nn_layer *l)
{
    const clnet_layer_spec *s = &l->spec;
    const clnet_shape *in = &net->layers[s->from[0]].out;
    int64_t out = nn_numel(&l->out), macs = 0, elt = 0;
    int64_t params = 0;
    for (int i = 0; i < l->nparams; i++)
        if (l->params[i].trainable)
            params += nn_numel(&l->params[i].shape);
    switch (s->kind) {
    case CLNET_LAYER_CONV:
    case CLNET_LAYER_CONV_TRANSPOSE: {
        const clnet_shape *w = &l->params[0].shape;
        int64_t window = 1;
        for (int i = 2; i < w->ndim; i++)
            window *= w->dim[i];
        /* conv: K*(C/g)*window per output position; transposed: C*(K/g)*window
         * per input position; both are w's element count times a plane */
        const clnet_shape *plane = s->kind == CLNET_LAYER_CONV ? &l->out : in;
        int64_t positions = nn_numel(plane) / plane->dim[0];
        macs = nn_numel(w) * positions;
        elt = s->bias ? out : 0;
        break;
    }
    case CLNET_LAYER_LINEAR:
        macs = nn_numel(&l->params[0].shape);
        elt = s->bias ? out : 0;
        break;
    case CLNET_LAYER_RBF:
        /* a square-and-accumulate per weight, like LINEAR's MACs, and the
         * difference before it */
        macs = elt = nn_numel(&l->params[0].shape);
        break;
    case CLNET_LAYER_POOL: {
        int64_t window;
        if (s->pool.adaptive) {
            elt = adaptive_reads(in, &l->out);
            break;
        }
        if (s->pool.global)
            window = nn_numel(in) / in->dim[0];
        else
            window = in->ndim == 3 ? (int64_t)s->pool.kernel[0] * s->pool.kernel[1]
                                   : s->pool.kernel[1];
        elt = window * out;
        break;
    }
    case CLNET_LAYER_ACTIVATION: elt = out; break;
    case CLNET_LAYER_BATCHNORM: elt = 2 * out; break;
    case CLNET_LAYER_LRN: elt = ((int64_t)s->lrn.size + 2) * out; break;
    case CLNET_LAYER_ADD: {
        int full = nn_full_input(net, l);
        for (int i = 0; i < s->nfrom; i++) {
            const clnet_shape *x = &net->layers[s->from[i]].out;
            if (i != full)
                elt += nn_channel_prefix(&l->out, x) ? nn_numel(x) : out;
        }
        break;
    }
    case CLNET_LAYER_MUL: elt = out; break;
    case CLNET_LAYER_SOFTMAX: elt = 3 * out; break;
    case CLNET_LAYER_UNPOOL: elt = out; break; /* zeroing, then one add per input */
    default: break;            /* input, dropout, concat, flatten */
    }
    if (s->has_act)
        elt += out;
    l->nparam_count = params;
    l->macs = macs;
    l->elementwise = elt;
}

static clnet_status grow(clnet_net *net)
{
    if (net->nlayers < net->cap)
        return CLNET_OK;
    int cap = net->cap * 2;
    nn_layer *layers = realloc(net->layers, (size_t)cap * sizeof *layers);
    if (!layers)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "net: out of host memory for %d layers",
                          cap);
    memset(layers + net->cap, 0, (size_t)(cap - net->cap) * sizeof *layers);
    net->layers = layers;
    net->cap = cap;
    return CLNET_OK;
}

static void count_consumers(clnet_net *net)
{
    for (int i = 0; i < net->nlayers; i++) {
        net->layers[i].consumers = 0;
        net->layers[i].consumer = -1;
    }
    for (int i = 1; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].spec.nfrom; j++) {
            nn_layer *p = &net->layers[net->layers[i].spec.from[j]];
            p->consumer = p->consumers++ == 0 ? i : -1;
        }
}

/* count_consumers' work for one new layer, so adding a layer is O(1) */
static void add_consumers(clnet_net *net, int id)
{
    const clnet_layer_spec *s = &net->layers[id].spec;
    for (int j = 0; j < s->nfrom; j++) {
        nn_layer *p = &net->layers[s->from[j]];
        p->consumer = p->consumers++ == 0 ? id : -1;
    }
}

clnet_status clnet_net_add(clnet_net *net, const clnet_layer_spec *spec, int *id)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !spec)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_add: NULL argument");
    int new_id = net->nlayers;
    if ((int)spec->kind <= CLNET_LAYER_INPUT || spec->kind >= CLNET_LAYER_KIND_COUNT)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "net: layer %d: kind %d cannot be added (the input is layer 0)", new_id,
                          (int)spec->kind);
    nn_layer l = {.spec = *spec, .consumer = -1};
    fill_defaults(&l.spec);
    clnet_status st = check_name(net, &l.spec, new_id);
    if (st == CLNET_OK && !(l.spec.loss_weight >= 0.0f && isfinite(l.spec.loss_weight)))
        st = clnet_fail(net->ctx, CLNET_ERR_INVALID_PARAMS, "net: layer %d (%s): loss_weight "
                        "%g (must be finite and >= 0)", new_id, l.spec.name,
                        (double)l.spec.loss_weight);
    if (st == CLNET_OK)
        st = resolve_from(net, &l.spec, new_id, l.spec.name);
    if (st != CLNET_OK)
        return st;
    st = infer_shape(net, &l, &l.out);
    if (st == CLNET_OK)
        st = check_fused_act(net, &l);
    if (st != CLNET_OK)
        return nn_wrap(net->ctx, st, "net: layer %d (%s, %s)", new_id, l.spec.name,
                       nn_kind_name(l.spec.kind));
    /* a bound net is unbound (weights kept on the host) so that the next
     * bind allocates the new layer too */
    if (net->dev && (st = nn_unbind(net)) != CLNET_OK)
        return st;
    if ((st = grow(net)) != CLNET_OK)
        return st;
    count_layer(net, &l);
    net->layers[new_id] = l;
    if ((st = nn_names_add(net, new_id)) != CLNET_OK) {
        for (int j = 0; j < l.nparams; j++)
            param_free_host(&l.params[j]);
        memset(&net->layers[new_id], 0, sizeof net->layers[new_id]);
        return st;
    }
    net->nlayers++;
    add_consumers(net, new_id);
    if (l.spec.kind == CLNET_LAYER_UNPOOL)
        net->layers[l.spec.switches].switches_used = true;
    if (id)
        *id = new_id;
    return CLNET_OK;
}

/* ---- inspection ---- */

int clnet_net_layer_count(const clnet_net *net) { return net ? net->nlayers : 0; }

clnet_status clnet_net_layer_info(const clnet_net *net, int id, clnet_layer_info *info)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !info)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_layer_info: NULL argument");
    if (id < 0 || id >= net->nlayers)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_layer_info: layer %d of %d", id, net->nlayers);
    const nn_layer *l = &net->layers[id];
    info->id = id;
    info->name = l->spec.name;
    info->kind = l->spec.kind;
    info->out = l->out;
    info->params = l->nparam_count;
    info->macs = l->macs;
    info->elementwise = l->elementwise;
    info->frozen = l->frozen;
    return CLNET_OK;
}

void clnet_net_counts(const clnet_net *net, int64_t *params, int64_t *macs, int64_t *elementwise)
{
    int64_t p = 0, m = 0, e = 0;
    for (int i = 0; net && i < net->nlayers; i++) {
        p += net->layers[i].nparam_count;
        m += net->layers[i].macs;
        e += net->layers[i].elementwise;
    }
    if (params)
        *params = p;
    if (macs)
        *macs = m;
    if (elementwise)
        *elementwise = e;
}

static void shape_text(char *buf, size_t size, const clnet_shape *s)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? "x%lld" : "%lld",
                                 (long long)s->dim[i]);
}

void clnet_net_summary(const clnet_net *net, FILE *f)
{
    if (!net || !f)
        return;
    fprintf(f, "%5s  %-24s %-11s %-16s %12s %15s %s\n", "layer", "name", "kind", "output",
            "params", "MACs", "from");
    for (int i = 0; i < net->nlayers; i++) {
        const nn_layer *l = &net->layers[i];
        char shape[64];
        shape_text(shape, sizeof shape, &l->out);
        fprintf(f, "%5d  %-24s %-11s %-16s %12" PRId64 " %15" PRId64 " ", i, l->spec.name,
                nn_kind_name(l->spec.kind), shape, l->nparam_count, l->macs);
        for (int j = 0; i > 0 && j < l->spec.nfrom; j++)
            fprintf(f, j ? ",%d" : "%d", l->spec.from[j]);
        fprintf(f, "%s\n", l->frozen ? " (frozen)" : "");
    }
    int64_t p, m, e;
    clnet_net_counts(net, &p, &m, &e);
    fprintf(f, "total: %" PRId64 " parameter%s, %" PRId64 " MAC%s and %" PRId64
               " other operation%s per image\n", p, p == 1 ? "" : "s", m, m == 1 ? "" : "s", e,
            e == 1 ? "" : "s");
}

/* ---- freezing and truncating ---- */

clnet_status clnet_net_freeze(clnet_net *net, int first, int last, bool frozen)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (first < 0 || last < first || last >= net->nlayers)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_freeze: range %d..%d outside the %d layers", first, last,
                          net->nlayers);
    for (int i = first; i <= last; i++)
        net->layers[i].frozen = frozen;
    return CLNET_OK;
}

clnet_status clnet_net_truncate(clnet_net *net, int last)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (last < 0 || last >= net->nlayers)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_truncate: layer %d of %d", last, net->nlayers);
    clnet_status st = net->dev ? nn_unbind(net) : CLNET_OK;
    if (st != CLNET_OK)
        return st;
    for (int i = last + 1; i < net->nlayers; i++) {
        for (int j = 0; j < net->layers[i].nparams; j++)
            param_free_host(&net->layers[i].params[j]);
        memset(&net->layers[i], 0, sizeof net->layers[i]);
    }
    net->nlayers = last + 1;
    count_consumers(net);
    return nn_names_rebuild(net);
}
