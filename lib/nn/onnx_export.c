/* onnx_export.c - clnet_net_save_onnx: a net as an ONNX model at opset 13,
 * one or a few nodes per layer with the weights as initializers, packed by
 * protobuf-c. Layers without an exact ONNX equivalent are refused. */
#include "nn/onnx_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT_OPSET 13
#define EXPORT_IR_VERSION 7        /* the IR of opset 13 */

#define TRY(expr) do { clnet_status st_ = (expr); if (st_ != CLNET_OK) return st_; } while (0)

/* Everything the model's messages point at is allocated here and freed at
 * once: protobuf-c packs plain structs and owns none of it. */
typedef struct exporter {
    clnet_net *net;
    void **blocks;
    size_t nblocks, cap;
    Onnx__NodeProto **nodes;
    size_t nnodes, nodes_cap;
    Onnx__TensorProto **inits;
    size_t ninits, inits_cap;
    int layer;                     /* the layer being written, for messages */
    int temp;                      /* numbers the intermediate values */
    bool oom;
} exporter;

static void *ex_alloc(exporter *ex, size_t size)
{
    if (ex->oom)
        return NULL;
    if (ex->nblocks == ex->cap) {
        size_t cap = ex->cap ? 2 * ex->cap : 256;
        void **b = realloc(ex->blocks, cap * sizeof *b);
        if (!b) {
            ex->oom = true;
            return NULL;
        }
        ex->blocks = b;
        ex->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p)
        ex->oom = true;
    else
        ex->blocks[ex->nblocks++] = p;
    return p;
}

static char *ex_str(exporter *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *ex_str(exporter *ex, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = ex_alloc(ex, strlen(buf) + 1);
    if (s)
        strcpy(s, buf);
    return s;
}

static bool ex_push(exporter *ex, void ***list, size_t *n, size_t *cap, void *item)
{
    if (!item || ex->oom)
        return false;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        void **l = realloc(*list, c * sizeof *l);
        if (!l) {
            ex->oom = true;
            return false;
        }
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = item;
    return true;
}

static clnet_status ex_fail(exporter *ex, clnet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static clnet_status ex_fail(exporter *ex, clnet_status st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const nn_layer *l = &ex->net->layers[ex->layer];
    return clnet_fail(ex->net->ctx, st, "clnet_net_save_onnx: layer %d (%s, %s): %s", ex->layer,
                      l->spec.name, nn_kind_name(l->spec.kind), msg);
}

/* ---- values, initializers, nodes ---- */

/* The ONNX name of layer id's output: for the input layer of a net that
 * normalises its input itself, the graph input normalised. */
static const char *value_name(const clnet_net *net, int id)
{
    return id > 0 ? net->layers[id].spec.name : net->norm ? "input/normalised" : "input";
}

static char *temp_name(exporter *ex)
{
    return ex_str(ex, "%s/t%d", value_name(ex->net, ex->layer), ex->temp++);
}

/* A float initializer named `name` with the given dims and values (copied). */
static void add_init(exporter *ex, const char *name, int ndim, const int64_t *dim,
                     const float *values)
{
    Onnx__TensorProto *t = ex_alloc(ex, sizeof *t);
    int64_t count = 1;
    for (int d = 0; d < ndim; d++)
        count *= dim[d];
    int64_t *dims = ex_alloc(ex, (size_t)(ndim ? ndim : 1) * sizeof *dims);
    uint8_t *raw = ex_alloc(ex, (size_t)count * sizeof(float));
    char *n = ex_str(ex, "%s", name);
    if (!t || !dims || !raw || !n)
        return;
    onnx__tensor_proto__init(t);
    if (ndim > 0) /* a scalar passes no dims (memcpy wants a valid pointer even for 0) */
        memcpy(dims, dim, (size_t)ndim * sizeof *dims);
    memcpy(raw, values, (size_t)count * sizeof(float));  /* little-endian hosts */
    t->n_dims = (size_t)ndim;
    t->dims = dims;
    t->has_data_type = true;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = n;
    t->has_raw_data = true;
    t->raw_data.len = (size_t)count * sizeof(float);
    t->raw_data.data = raw;
    ex_push(ex, (void ***)&ex->inits, &ex->ninits, &ex->inits_cap, t);
}

static void add_int_init(exporter *ex, const char *name, int64_t count, const int64_t *values)
{
    Onnx__TensorProto *t = ex_alloc(ex, sizeof *t);
    int64_t *dims = ex_alloc(ex, sizeof *dims), *data = ex_alloc(ex, (size_t)count * 8);
    char *n = ex_str(ex, "%s", name);
    if (!t || !dims || !data || !n)
        return;
    onnx__tensor_proto__init(t);
    dims[0] = count;
    memcpy(data, values, (size_t)count * sizeof *data);
    t->n_dims = 1;
    t->dims = dims;
    t->has_data_type = true;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->name = n;
    t->n_int64_data = (size_t)count;
    t->int64_data = data;
    ex_push(ex, (void ***)&ex->inits, &ex->ninits, &ex->inits_cap, t);
}

/* A scalar float initializer; returns its name. */
static const char *scalar(exporter *ex, const char *what, float v)
{
    char *name = ex_str(ex, "%s.%s", value_name(ex->net, ex->layer), what);
    if (name)
        add_init(ex, name, 0, NULL, &v);
    return name;
}

/* Appends a node; `in` and `out` are NULL-terminated name lists. */
static Onnx__NodeProto *add_node(exporter *ex, const char *op, const char *const *in,
                                 const char *out)
{
    Onnx__NodeProto *n = ex_alloc(ex, sizeof *n);
    size_t nin = 0;
    while (in[nin])
        nin++;
    char **ins = ex_alloc(ex, (nin ? nin : 1) * sizeof *ins);
    char **outs = ex_alloc(ex, sizeof *outs);
    char *name = ex_str(ex, "%s/%s%d", value_name(ex->net, ex->layer), op, ex->temp++);
    char *op_type = ex_str(ex, "%s", op);
    char *out_name = ex_str(ex, "%s", out);
    if (!n || !ins || !outs || !name || !op_type || !out_name)
        return NULL;
    onnx__node_proto__init(n);
    for (size_t i = 0; i < nin; i++)
        if (!(ins[i] = ex_str(ex, "%s", in[i])))
            return NULL;
    outs[0] = out_name;
    n->n_input = nin;
    n->input = ins;
    n->n_output = 1;
    n->output = outs;
    n->name = name;
    n->op_type = op_type;
    return ex_push(ex, (void ***)&ex->nodes, &ex->nnodes, &ex->nodes_cap, n) ? n : NULL;
}

static Onnx__AttributeProto *add_attr(exporter *ex, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    if (!n)
        return NULL;
    Onnx__AttributeProto *a = ex_alloc(ex, sizeof *a);
    Onnx__AttributeProto **list = ex_alloc(ex, (n->n_attribute + 1) * sizeof *list);
    char *nm = ex_str(ex, "%s", name);
    if (!a || !list || !nm)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = nm;
    a->has_type = true;
    a->type = type;
    if (n->n_attribute)
        memcpy(list, n->attribute, n->n_attribute * sizeof *list);
    list[n->n_attribute++] = a;
    n->attribute = list;
    return a;
}

static void attr_int(exporter *ex, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = add_attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = true;
        a->i = v;
    }
}

static void attr_float(exporter *ex, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = add_attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = true;
        a->f = v;
    }
}

static void attr_ints(exporter *ex, Onnx__NodeProto *n, const char *name, int count,
                      const int64_t *v)
{
    Onnx__AttributeProto *a = add_attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *ints = ex_alloc(ex, (size_t)count * sizeof *ints);
    if (a && ints) {
        memcpy(ints, v, (size_t)count * sizeof *ints);
        a->n_ints = (size_t)count;
        a->ints = ints;
    }
}

/* ---- layers ---- */

/* Writes layer parameter `index` as initializer "<layer>.<param name>". */
static clnet_status param_init(exporter *ex, int index, const char **name)
{
    nn_param *p = &ex->net->layers[ex->layer].params[index];
    int64_t count = nn_numel(&p->shape);
    float *v = ex_alloc(ex, (size_t)count * sizeof *v);
    *name = ex_str(ex, "%s.%s", value_name(ex->net, ex->layer), p->name);
    if (!v || !*name)
        return ex_fail(ex, CLNET_ERR_HOST_MEMORY, "out of host memory");
    clnet_status st = nn_param_read(ex->net, p, v);
    if (st != CLNET_OK)
        return nn_wrap(ex->net->ctx, st, "clnet_net_save_onnx: layer %d", ex->layer);
    add_init(ex, *name, p->shape.ndim, p->shape.dim, v);
    return CLNET_OK;
}

/* An activation from x into out. */
static clnet_status activation(exporter *ex, const clnet_act_params *act, const char *x,
                               const char *out)
{
    const char *in[4] = {x, NULL};
    Onnx__NodeProto *n;
    switch (act->fn) {
    case CLNET_ACT_RELU: add_node(ex, "Relu", in, out); break;
    case CLNET_ACT_SIGMOID: add_node(ex, "Sigmoid", in, out); break;
    case CLNET_ACT_TANH: add_node(ex, "Tanh", in, out); break;
    case CLNET_ACT_LEAKY_RELU:
        attr_float(ex, add_node(ex, "LeakyRelu", in, out), "alpha", act->alpha);
        break;
    case CLNET_ACT_SCALE:
        /* a Mul by a scalar initializer, which the importer reads back as this
         * activation (a per-channel constant would be a 1x1 conv) */
        in[1] = scalar(ex, "scale_factor", act->alpha);
        add_node(ex, "Mul", in, out);
        break;
    case CLNET_ACT_RELU6:
        in[1] = scalar(ex, "clip_min", 0.0f);
        in[2] = scalar(ex, "clip_max", 6.0f);
        add_node(ex, "Clip", in, out);
        break;
    case CLNET_ACT_HARD_SIGMOID:
    case CLNET_ACT_HARD_SWISH:
    case CLNET_ACT_SWISH: {
        /* opset 13 has no HardSwish: x * HardSigmoid(x), like x * Sigmoid(x) */
        bool gate_only = act->fn == CLNET_ACT_HARD_SIGMOID;
        const char *gate = gate_only ? out : temp_name(ex);
        if (act->fn == CLNET_ACT_SWISH) {
            add_node(ex, "Sigmoid", in, gate);
        } else {
            n = add_node(ex, "HardSigmoid", in, gate);
            attr_float(ex, n, "alpha", 1.0f / 6.0f);
            attr_float(ex, n, "beta", 0.5f);
        }
        if (!gate_only) {
            in[1] = gate;
            add_node(ex, "Mul", in, out);
        }
        break;
    }
    case CLNET_ACT_GELU: {
        /* opset 13 has no Gelu: 0.5 * x * (1 + erf(x / sqrt 2)), written as PyTorch
         * writes it, the pattern the importer folds back into one layer */
        const char *scaled = temp_name(ex), *erf = temp_name(ex), *plus1 = temp_name(ex),
                   *times_x = temp_name(ex);
        in[1] = scalar(ex, "gelu_sqrt2", 1.41421356237309504880f);
        add_node(ex, "Div", in, scaled);
        add_node(ex, "Erf", (const char *[]){scaled, NULL}, erf);
        add_node(ex, "Add", (const char *[]){erf, scalar(ex, "gelu_one", 1.0f), NULL}, plus1);
        add_node(ex, "Mul", (const char *[]){x, plus1, NULL}, times_x);
        add_node(ex, "Mul", (const char *[]){times_x, scalar(ex, "gelu_half", 0.5f), NULL}, out);
        break;
    }
    default: {
        const clnet_act_info *info = clnet_act_info_get(act->fn);
        return ex_fail(ex, CLNET_ERR_UNSUPPORTED, "its activation (%s) has no ONNX operator",
                       act->fn == CLNET_ACT_LECUN_TANH ? "LeCun's scaled tanh"
                       : info                          ? info->name
                                                       : "unknown");
    }
    }
    return CLNET_OK;
}

/* The spatial lists of a conv or pool: 2 values for images, 1 for 1-D. */
static int spatial(const clnet_shape *in, const int *hw, int64_t *out)
{
    if (in->ndim == 3) {
        out[0] = hw[0];
        out[1] = hw[1];
        return 2;
    }
    out[0] = hw[1];
    return 1;
}

static void pads(exporter *ex, Onnx__NodeProto *n, const clnet_shape *in, const int *begin,
                 const int *end)
{
    int64_t p[4], b[2], e[2];
    int sp = spatial(in, begin, b);
    spatial(in, end, e);
    for (int a = 0; a < sp; a++) {
        p[a] = b[a];
        p[sp + a] = e[a];
    }
    attr_ints(ex, n, "pads", 2 * sp, p);
}

static clnet_status export_conv(exporter *ex, const nn_layer *l, const char *x, const char *out)
{
    const clnet_layer_spec *s = &l->spec;
    const clnet_shape *in = &ex->net->layers[s->from[0]].out;
    const char *in_names[4] = {x, NULL, NULL, NULL};
    TRY(param_init(ex, 0, &in_names[1]));
    if (l->nparams > 1)
        TRY(param_init(ex, 1, &in_names[2]));
    const char *y = s->has_act ? temp_name(ex) : out;
    bool t = s->kind == CLNET_LAYER_CONV_TRANSPOSE;
    Onnx__NodeProto *n = add_node(ex, t ? "ConvTranspose" : "Conv", in_names, y);
    int64_t v[2];
    int sp = spatial(in, s->kernel, v);
    attr_ints(ex, n, "kernel_shape", sp, v);
    attr_ints(ex, n, "strides", spatial(in, s->conv.stride, v), v);
    attr_ints(ex, n, "dilations", spatial(in, s->conv.dilation, v), v);
    pads(ex, n, in, s->conv.pad_begin, s->conv.pad_end);
    attr_int(ex, n, "group", s->conv.groups);
    if (t)
        attr_ints(ex, n, "output_padding", spatial(in, s->conv.output_padding, v), v);
    return s->has_act ? activation(ex, &s->act, y, out) : CLNET_OK;
}

static clnet_status export_pool(exporter *ex, const nn_layer *l, const char *x, const char *out)
{
    const clnet_pool_params *p = &l->spec.pool;
    const clnet_shape *in = &ex->net->layers[l->spec.from[0]].out;
    const char *in_names[2] = {x, NULL};
    bool max = p->mode == CLNET_POOL_MAX;
    if (!max && p->mode != CLNET_POOL_AVG)   /* LpPool is not mapped (yet) */
        return ex_fail(ex, CLNET_ERR_UNSUPPORTED, "%s pooling has no ONNX export",
                       clnet_pool_mode_info_get(p->mode)->name);
    if (p->global || (p->adaptive && nn_numel(&l->out) == l->out.dim[0])) {
        add_node(ex, max ? "GlobalMaxPool" : "GlobalAveragePool", in_names, out);
        return CLNET_OK;
    }
    int kernel[2], stride[2], zero[2] = {0, 0};
    const int *begin = p->pad_begin, *end = p->pad_end;
    if (p->adaptive) {
        /* exact as a plain average pool when the output divides the input */
        for (int a = 0; a < 2; a++) {
            int64_t size = in->ndim == 3 ? in->dim[1 + a] : a ? in->dim[1] : 1;
            int64_t o = in->ndim == 3 ? l->out.dim[1 + a] : a ? l->out.dim[1] : 1;
            if (size % o != 0)
                return ex_fail(ex, CLNET_ERR_UNSUPPORTED, "adaptive pooling from %lld to %lld "
                               "has no exact ONNX equivalent", (long long)size, (long long)o);
            kernel[a] = stride[a] = (int)(size / o);
        }
        begin = end = zero;
    } else {
        memcpy(kernel, p->kernel, sizeof kernel);
        memcpy(stride, p->stride, sizeof stride);
    }
    Onnx__NodeProto *n = add_node(ex, max ? "MaxPool" : "AveragePool", in_names, out);
    int64_t v[2];
    int sp = spatial(in, kernel, v);
    attr_ints(ex, n, "kernel_shape", sp, v);
    attr_ints(ex, n, "strides", spatial(in, stride, v), v);
    pads(ex, n, in, begin, end);
    attr_int(ex, n, "ceil_mode", p->ceil_mode && !p->adaptive);
    if (!max)
        attr_int(ex, n, "count_include_pad", p->count_include_pad);
    return CLNET_OK;
}

static clnet_status export_batchnorm(exporter *ex, const nn_layer *l, const char *x,
                                     const char *out)
{
    const char *in[6] = {x, NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4; i++)     /* gamma, beta, mean, var: ONNX's order too */
        TRY(param_init(ex, i, &in[1 + i]));
    const char *y = l->spec.has_act ? temp_name(ex) : out;
    attr_float(ex, add_node(ex, "BatchNormalization", in, y), "epsilon", l->spec.bn_eps);
    return l->spec.has_act ? activation(ex, &l->spec.act, y, out) : CLNET_OK;
}

static clnet_status export_linear(exporter *ex, const nn_layer *l, const char *x,
                                  const char *out)
{
    const clnet_shape *in = &ex->net->layers[l->spec.from[0]].out;
    const char *names[4] = {x, NULL, NULL, NULL};
    if (in->ndim > 1) {
        const char *flat = temp_name(ex);
        attr_int(ex, add_node(ex, "Flatten", names, flat), "axis", 1);
        names[0] = flat;
    }
    TRY(param_init(ex, 0, &names[1]));
    if (l->nparams > 1)
        TRY(param_init(ex, 1, &names[2]));
    const char *y = l->spec.has_act ? temp_name(ex) : out;
    attr_int(ex, add_node(ex, "Gemm", names, y), "transB", 1);
    return l->spec.has_act ? activation(ex, &l->spec.act, y, out) : CLNET_OK;
}

/* Input i of an ADD: a narrower one (the CIFAR ResNets' option-A shortcut,
 * added into the leading channels) becomes a Pad of zero channels after its
 * own, which an Add then sums exactly as clnet does. NULL when out of
 * memory. */
static const char *add_input(exporter *ex, const nn_layer *l, int i, int full)
{
    const clnet_shape *x = &ex->net->layers[l->spec.from[i]].out;
    const char *name = value_name(ex->net, l->spec.from[i]);
    if (l->spec.kind != CLNET_LAYER_ADD || i == full || !nn_channel_prefix(&l->out, x))
        return name;
    int rank = x->ndim + 1;
    int64_t p[2 * (CLNET_MAX_DIMS + 1)] = {0};
    p[rank + 1] = l->out.dim[0] - x->dim[0];   /* channel axis, end */
    const char *pads = ex_str(ex, "%s.pads%d", value_name(ex->net, ex->layer), i);
    const char *y = temp_name(ex);
    if (!pads || !y)
        return NULL;
    add_int_init(ex, pads, 2 * rank, p);
    const char *in[3] = {name, pads, NULL};
    add_node(ex, "Pad", in, y);
    return y;
}

static clnet_status export_binary(exporter *ex, const nn_layer *l, const char *out)
{
    const clnet_layer_spec *s = &l->spec;
    int full = nn_full_input(ex->net, l);
    const char *acc = add_input(ex, l, 0, full);
    for (int i = 1; i < s->nfrom && acc; i++) {
        const char *in[3] = {acc, add_input(ex, l, i, full), NULL};
        if (!in[1])
            break;
        const char *y = i + 1 == s->nfrom ? out : temp_name(ex);
        add_node(ex, s->kind == CLNET_LAYER_ADD ? "Add" : "Mul", in, y);
        acc = y;
    }
    return ex->oom ? ex_fail(ex, CLNET_ERR_HOST_MEMORY, "out of host memory") : CLNET_OK;
}

/* The channel shuffle as exporters write it: Reshape (N, G, C/G, ...),
 * Transpose of the two group axes, Reshape (N, C, ...); 0 keeps the batch. */
static clnet_status export_shuffle(exporter *ex, const nn_layer *l, const char *x,
                                   const char *out)
{
    const clnet_shape *in = &l->out;
    int64_t g = l->spec.shuffle_groups, split[CLNET_MAX_DIMS + 2] = {0, g, in->dim[0] / g};
    int64_t whole[CLNET_MAX_DIMS + 1] = {0}, perm[CLNET_MAX_DIMS + 2];
    for (int d = 0; d < in->ndim; d++)
        whole[1 + d] = in->dim[d];
    for (int d = 1; d < in->ndim; d++)
        split[2 + d] = in->dim[d];
    for (int d = 0; d < in->ndim + 2; d++)
        perm[d] = d == 1 ? 2 : d == 2 ? 1 : d;
    const char *split_name = ex_str(ex, "%s.split_shape", out);
    const char *whole_name = ex_str(ex, "%s.shape", out);
    const char *grouped = temp_name(ex), *swapped = temp_name(ex);
    if (!split_name || !whole_name || !grouped || !swapped)
        return ex_fail(ex, CLNET_ERR_HOST_MEMORY, "out of host memory");
    add_int_init(ex, split_name, in->ndim + 2, split);
    add_int_init(ex, whole_name, in->ndim + 1, whole);
    add_node(ex, "Reshape", (const char *[]){x, split_name, NULL}, grouped);
    attr_ints(ex, add_node(ex, "Transpose", (const char *[]){grouped, NULL}, swapped), "perm",
              in->ndim + 2, perm);
    add_node(ex, "Reshape", (const char *[]){swapped, whole_name, NULL}, out);
    return CLNET_OK;
}

static clnet_status export_layer(exporter *ex, const nn_layer *l)
{
    const clnet_layer_spec *s = &l->spec;
    const char *x = value_name(ex->net, s->from[0]), *out = value_name(ex->net, ex->layer);
    const char *in[CLNET_MAX_FROM + 1] = {x, NULL};
    Onnx__NodeProto *n;
    switch (s->kind) {
    case CLNET_LAYER_CONV:
    case CLNET_LAYER_CONV_TRANSPOSE:
        return export_conv(ex, l, x, out);
    case CLNET_LAYER_POOL:
        return export_pool(ex, l, x, out);
    case CLNET_LAYER_ACTIVATION:
        return activation(ex, &s->act, x, out);
    case CLNET_LAYER_BATCHNORM:
        return export_batchnorm(ex, l, x, out);
    case CLNET_LAYER_LRN:
        n = add_node(ex, "LRN", in, out);
        attr_int(ex, n, "size", s->lrn.size);
        attr_float(ex, n, "alpha", s->lrn.alpha);
        attr_float(ex, n, "beta", s->lrn.beta);
        attr_float(ex, n, "bias", s->lrn.k);
        return CLNET_OK;
    case CLNET_LAYER_DROPOUT:
        in[1] = scalar(ex, "ratio", s->dropout_p);
        add_node(ex, "Dropout", in, out);
        return CLNET_OK;
    case CLNET_LAYER_LINEAR:
        return export_linear(ex, l, x, out);
    case CLNET_LAYER_ADD:
    case CLNET_LAYER_MUL:
        return export_binary(ex, l, out);
    case CLNET_LAYER_CONCAT:
        for (int i = 0; i < s->nfrom; i++)
            in[i] = value_name(ex->net, s->from[i]);
        in[s->nfrom] = NULL;
        attr_int(ex, add_node(ex, "Concat", in, out), "axis", 1);
        return CLNET_OK;
    case CLNET_LAYER_FLATTEN:
        attr_int(ex, add_node(ex, "Flatten", in, out), "axis", 1);
        return CLNET_OK;
    case CLNET_LAYER_SOFTMAX:
        attr_int(ex, add_node(ex, "Softmax", in, out), "axis", 1);
        return CLNET_OK;
    case CLNET_LAYER_SHUFFLE:
        return export_shuffle(ex, l, x, out);
    case CLNET_LAYER_SLICE: {
        int64_t start = s->slice_start, end = (int64_t)s->slice_start + s->slice_count, axis = 1;
        const char *names[3] = {ex_str(ex, "%s.starts", out), ex_str(ex, "%s.ends", out),
                                ex_str(ex, "%s.axes", out)};
        if (!names[0] || !names[1] || !names[2])
            return ex_fail(ex, CLNET_ERR_HOST_MEMORY, "out of host memory");
        add_int_init(ex, names[0], 1, &start);
        add_int_init(ex, names[1], 1, &end);
        add_int_init(ex, names[2], 1, &axis);
        const char *sin[5] = {x, names[0], names[1], names[2], NULL};
        add_node(ex, "Slice", sin, out);
        return CLNET_OK;
    }
    default:
        return ex_fail(ex, CLNET_ERR_UNSUPPORTED, "a %s layer has no ONNX equivalent",
                       nn_kind_name(s->kind));
    }
}

/* A float tensor value of shape (N, dims...), the batch symbolic. */
static Onnx__ValueInfoProto *value_info(exporter *ex, const char *name, const clnet_shape *s)
{
    Onnx__ValueInfoProto *v = ex_alloc(ex, sizeof *v);
    Onnx__TypeProto *t = ex_alloc(ex, sizeof *t);
    Onnx__TypeProto__Tensor *tt = ex_alloc(ex, sizeof *tt);
    Onnx__TensorShapeProto *shape = ex_alloc(ex, sizeof *shape);
    Onnx__TensorShapeProto__Dimension **dims = ex_alloc(ex, (size_t)(s->ndim + 1) * sizeof *dims);
    char *n = ex_str(ex, "%s", name), *batch = ex_str(ex, "N");
    if (!v || !t || !tt || !shape || !dims || !n || !batch)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(shape);
    for (int d = 0; d <= s->ndim; d++) {
        Onnx__TensorShapeProto__Dimension *dim = ex_alloc(ex, sizeof *dim);
        if (!dim)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(dim);
        if (d == 0) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim->dim_param = batch;
        } else {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = s->dim[d - 1];
        }
        dims[d] = dim;
    }
    shape->n_dim = (size_t)s->ndim + 1;
    shape->dim = dims;
    tt->has_elem_type = true;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = shape;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = n;
    v->type = t;
    return v;
}

static clnet_status write_atomically(clnet_net *net, const char *path, const uint8_t *buf,
                                     size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return clnet_fail(net->ctx, CLNET_ERR_IO, "clnet_net_save_onnx: %s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return clnet_fail(net->ctx, CLNET_ERR_IO, "clnet_net_save_onnx: cannot create %s", tmp);
    bool ok = fwrite(buf, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return clnet_fail(net->ctx, CLNET_ERR_IO, "clnet_net_save_onnx: cannot write %s", path);
    }
    return CLNET_OK;
}

/* The net's own input normalisation (mean and std per channel, a
 * checkpoint's, say), written as PyTorch's transforms compute it: Sub of
 * the mean, then Div by the std. */
static void export_input_norm(exporter *ex)
{
    const clnet_shape *in = &ex->net->layers[0].out;
    int64_t c = in->dim[0], dim[CLNET_MAX_DIMS] = {c, 1, 1, 1};
    float *mean = ex_alloc(ex, 2 * (size_t)c * sizeof *mean);
    if (!mean || !clnet_net_input_norm(ex->net, mean, mean + c))
        return;
    ex->layer = 0;
    const char *centred = temp_name(ex);
    add_init(ex, "input.mean", in->ndim, dim, mean);
    add_init(ex, "input.std", in->ndim, dim, mean + c);
    add_node(ex, "Sub", (const char *[]){"input", "input.mean", NULL}, centred);
    add_node(ex, "Div", (const char *[]){centred, "input.std", NULL}, value_name(ex->net, 0));
}

static clnet_status build_model(exporter *ex, Onnx__ModelProto *m, Onnx__GraphProto *g)
{
    clnet_net *net = ex->net;
    if (net->norm)
        export_input_norm(ex);
    for (ex->layer = 1; ex->layer < net->nlayers; ex->layer++) {
        ex->temp = 0;
        TRY(export_layer(ex, &net->layers[ex->layer]));
    }
    Onnx__OperatorSetIdProto *opset = ex_alloc(ex, sizeof *opset);
    Onnx__OperatorSetIdProto **opsets = ex_alloc(ex, sizeof *opsets);
    Onnx__ValueInfoProto **ins = ex_alloc(ex, sizeof *ins), **outs = ex_alloc(ex, sizeof *outs);
    char *domain = ex_str(ex, "%s", ""), *producer = ex_str(ex, "clnet");
    char *version = ex_str(ex, "%s", clnet_version()), *name = ex_str(ex, "clnet");
    if (!opset || !opsets || !ins || !outs || !domain || !producer || !version || !name)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_save_onnx: out of memory");
    ins[0] = value_info(ex, "input", &net->layers[0].out);
    outs[0] = value_info(ex, value_name(net, net->nlayers - 1), &net->layers[net->nlayers - 1].out);
    if (ex->oom || !ins[0] || !outs[0])
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_save_onnx: out of memory");
    onnx__operator_set_id_proto__init(opset);
    opset->domain = domain;
    opset->has_version = true;
    opset->version = EXPORT_OPSET;
    opsets[0] = opset;
    g->name = name;
    g->n_node = ex->nnodes;
    g->node = ex->nodes;
    g->n_initializer = ex->ninits;
    g->initializer = ex->inits;
    g->n_input = 1;
    g->input = ins;
    g->n_output = 1;
    g->output = outs;
    m->has_ir_version = true;
    m->ir_version = EXPORT_IR_VERSION;
    m->n_opset_import = 1;
    m->opset_import = opsets;
    m->producer_name = producer;
    m->producer_version = version;
    m->graph = g;
    return CLNET_OK;
}

clnet_status clnet_net_save_onnx(clnet_net *net, const char *path)
{
    if (!net || !path)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_save_onnx: NULL %s", net ? "path" : "net");
    if (net->nlayers < 2)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_save_onnx: the net has no layers");
    exporter ex = {.net = net};
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    onnx__model_proto__init(&model);
    onnx__graph_proto__init(&graph);
    clnet_status st = build_model(&ex, &model, &graph);
    if (st == CLNET_OK && ex.oom)
        st = clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_save_onnx: out of memory");
    uint8_t *buf = NULL;
    size_t len = 0;
    if (st == CLNET_OK) {
        len = onnx__model_proto__get_packed_size(&model);
        buf = malloc(len ? len : 1);
        if (!buf)
            st = clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY,
                            "clnet_net_save_onnx: out of memory for %zu bytes", len);
    }
    if (st == CLNET_OK) {
        onnx__model_proto__pack(&model, buf);
        st = write_atomically(net, path, buf, len);
    }
    free(buf);
    for (size_t i = 0; i < ex.nblocks; i++)
        free(ex.blocks[i]);
    free(ex.blocks);
    free(ex.nodes);
    free(ex.inits);
    return st;
}
