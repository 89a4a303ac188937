/* onnx_import.c - clnet_net_from_onnx: checks the graph as a whole (opset,
 * one input and one output, every name defined once, no cycle), orders the
 * nodes, then folds each node computable at import time and maps the others
 * onto layers (onnx_ops.c), keeping a table of what every value is. */
#include "nn/onnx_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- the value table ---- */

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

ox_value *ox_value_find(ox_import *imp, const char *name)
{
    if (!name || !imp->nslots)
        return NULL;
    for (size_t k = name_hash(name) & (imp->nslots - 1);; k = (k + 1) & (imp->nslots - 1)) {
        int slot = imp->slots[k];
        if (slot == 0)
            return NULL;
        if (strcmp(imp->values[slot - 1].name, name) == 0)
            return &imp->values[slot - 1];
    }
}

/* Adds a value (not yet defined) named `name`; *dup tells whether the name
 * was there already (then that value is returned). */
static ox_value *value_add(ox_import *imp, const char *name, bool *dup)
{
    ox_value *v = ox_value_find(imp, name);
    *dup = v != NULL;
    if (v)
        return v;
    if (imp->nvalues == imp->cap)
        return NULL;             /* sized for every name up front */
    size_t k = name_hash(name) & (imp->nslots - 1);
    while (imp->slots[k])
        k = (k + 1) & (imp->nslots - 1);
    v = &imp->values[imp->nvalues++];
    imp->slots[k] = imp->nvalues;
    v->name = name;
    imp->producer[v - imp->values] = -1;
    return v;
}

ox_value *ox_input(ox_import *imp, int i)
{
    ox_value *v = ox_opt_input(imp, i);
    if (!v)
        ox_fail(imp, CLNET_ERR_FORMAT, "input %d is missing", i);
    return v;
}

ox_value *ox_opt_input(ox_import *imp, int i)
{
    if (i >= (int)imp->node->n_input || imp->node->input[i][0] == '\0')
        return NULL;
    return ox_value_find(imp, imp->node->input[i]);
}

ox_value *ox_output(ox_import *imp, int i)
{
    return ox_value_find(imp, imp->node->output[i]);
}

void ox_set_const(ox_import *imp, int i, ox_const *c)
{
    ox_value *v = ox_output(imp, i);
    v->kind = OX_CONST;
    v->c = *c;
    memset(c, 0, sizeof *c);
}

void ox_set_layer(ox_import *imp, int i, int id)
{
    ox_value *v = ox_output(imp, i);
    v->kind = OX_LAYER;
    v->layer = id;
}

const clnet_shape *ox_shape(ox_import *imp, const ox_value *v)
{
    return &imp->net->layers[v->layer].out;
}

static bool name_taken(const clnet_net *net, const char *name)
{
    for (int i = 0; i < net->nlayers; i++)
        if (strcmp(net->layers[i].spec.name, name) == 0)
            return true;
    return false;
}

clnet_status ox_add_layer(ox_import *imp, clnet_layer_spec *spec, int *id)
{
    const char *base = imp->node->name && imp->node->name[0] ? imp->node->name
                                                             : imp->node->output[0];
    spec->name[0] = '\0';
    if (strlen(base) < sizeof spec->name) {
        strcpy(spec->name, base);
        /* a node split into several layers: the later ones get a suffix */
        for (int k = 1; name_taken(imp->net, spec->name); k++) {
            if (snprintf(spec->name, sizeof spec->name, "%s.%d", base, k) >=
                (int)sizeof spec->name) {
                spec->name[0] = '\0';  /* the net names it "<kind><id>" */
                break;
            }
        }
    }
    clnet_status st = clnet_net_add(imp->net, spec, id);
    if (st != CLNET_OK)
        return nn_wrap(imp->ctx, st, "%s: node '%s' (#%d, %s)", imp->file,
                       imp->node->name ? imp->node->name : "", imp->node_index,
                       imp->node->op_type);
    return CLNET_OK;
}

clnet_status ox_set_param(ox_import *imp, int id, int index, const float *values)
{
    clnet_status st = nn_param_write(imp->net, &imp->net->layers[id].params[index], values);
    return st == CLNET_OK ? st : nn_wrap(imp->ctx, st, "%s: node #%d", imp->file,
                                         imp->node_index);
}

const Onnx__NodeProto *ox_sole_consumer(ox_import *imp, const ox_value *v, int *index)
{
    if (imp->uses[v - imp->values] != 1)
        return NULL;
    for (size_t n = 0; n < imp->graph->n_node; n++) {
        const Onnx__NodeProto *node = imp->graph->node[n];
        for (size_t i = 0; i < node->n_input; i++)
            if (strcmp(node->input[i], v->name) == 0) {
                *index = (int)n;
                return node;
            }
    }
    return NULL;
}

ox_value *ox_demand_const(ox_import *imp, ox_value *v)
{
    if (v->kind == OX_CONST)
        return v;
    int p = imp->producer[v - imp->values];
    /* the depth bound keeps a hostile chain of constants off the stack */
    if (v->kind != OX_UNDEFINED || p < 0 || imp->absorbed[p] || imp->demand_depth > 256)
        return NULL;
    const Onnx__NodeProto *node = imp->graph->node[p];
    bool shape = strcmp(node->op_type, "Shape") == 0;
    for (size_t i = 0; i < node->n_input; i++) {
        ox_value *in = node->input[i][0] ? ox_value_find(imp, node->input[i]) : NULL;
        imp->demand_depth++;
        bool known = !in || (shape && in->kind == OX_LAYER) || ox_demand_const(imp, in);
        imp->demand_depth--;
        if (!known)
            return NULL;
    }
    const Onnx__NodeProto *was = imp->node;
    int was_index = imp->node_index;
    imp->node = node;
    imp->node_index = p;
    ox_value *x = shape && node->n_input > 0 ? ox_value_find(imp, node->input[0]) : NULL;
    clnet_status st = x && x->kind == OX_LAYER ? ox_shape_of_layer(imp, x) : ox_fold(imp);
    imp->node = was;
    imp->node_index = was_index;
    if (st != CLNET_OK)
        return NULL;
    imp->absorbed[p] = true;
    return v->kind == OX_CONST ? v : NULL;
}

/* ---- checks of the graph as a whole ---- */

static clnet_status check_opset(ox_import *imp)
{
    const Onnx__ModelProto *m = imp->model;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *d = m->opset_import[i]->domain;
        if (!d || d[0] == '\0' || strcmp(d, "ai.onnx") == 0)
            imp->opset = m->opset_import[i]->version;
    }
    if (imp->opset == 0)
        return ox_fail(imp, CLNET_ERR_FORMAT, "the model imports no version of the standard "
                       "operator set");
    if (imp->opset < OX_OPSET_MIN || imp->opset > OX_OPSET_MAX)
        return ox_fail(imp, CLNET_ERR_FORMAT, "opset %lld is %s than the importer knows "
                       "(%d to %d)", (long long)imp->opset,
                       imp->opset > OX_OPSET_MAX ? "newer" : "older", OX_OPSET_MIN,
                       OX_OPSET_MAX);
    return CLNET_OK;
}

static bool is_initializer(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name && strcmp(g->initializer[i]->name, name) == 0)
            return true;
    return false;
}

/* Every name: initializers, the graph input, node outputs, each written
 * once; every name read is one of them. */
static clnet_status build_values(ox_import *imp)
{
    const Onnx__GraphProto *g = imp->graph;
    size_t names = g->n_initializer + g->n_input;
    for (size_t n = 0; n < g->n_node; n++)
        names += g->node[n]->n_output;
    if (names > (1u << 24))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "%zu named values", names);
    imp->nslots = 16;
    while (imp->nslots < 2 * names)
        imp->nslots *= 2;
    imp->cap = (int)names;
    imp->values = calloc(names ? names : 1, sizeof *imp->values);
    imp->slots = calloc(imp->nslots, sizeof *imp->slots);
    imp->uses = calloc(names ? names : 1, sizeof *imp->uses);
    imp->producer = calloc(names ? names : 1, sizeof *imp->producer);
    imp->absorbed = calloc(g->n_node ? g->n_node : 1, sizeof *imp->absorbed);
    if (!imp->values || !imp->slots || !imp->uses || !imp->producer || !imp->absorbed)
        return ox_fail(imp, CLNET_ERR_HOST_MEMORY, "out of host memory for %zu values", names);
    bool dup;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if (!t->name || !t->name[0])
            return ox_fail(imp, CLNET_ERR_FORMAT, "initializer %zu has no name", i);
        ox_value *v = value_add(imp, t->name, &dup);
        if (dup)
            return ox_fail(imp, CLNET_ERR_FORMAT, "initializer '%s' is defined twice", t->name);
        char what[96];
        snprintf(what, sizeof what, "initializer '%.64s'", t->name);
        clnet_status st = ox_tensor_decode(imp, t, what, &v->c);
        if (st != CLNET_OK)
            return st;
        v->kind = OX_CONST;
    }
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = g->input[i]->name;
        if (!name || !name[0])
            return ox_fail(imp, CLNET_ERR_FORMAT, "graph input %zu has no name", i);
        if (!is_initializer(g, name) && (value_add(imp, name, &dup), dup))
            return ox_fail(imp, CLNET_ERR_FORMAT, "graph input '%s' is listed twice", name);
    }
    for (size_t n = 0; n < g->n_node; n++) {
        imp->node = g->node[n];
        imp->node_index = (int)n;
        if (!imp->node->op_type)
            return ox_fail(imp, CLNET_ERR_FORMAT, "the node has no op type");
        for (size_t o = 0; o < imp->node->n_output; o++) {
            const char *name = imp->node->output[o];
            if (!name[0])
                continue;            /* an optional output left out */
            ox_value *v = value_add(imp, name, &dup);
            if (dup)
                return ox_fail(imp, CLNET_ERR_FORMAT, "output '%s' is already defined by %s",
                               name, imp->producer[v - imp->values] >= 0 ? "another node"
                               : "an initializer or graph input");
            imp->producer[v - imp->values] = (int)n;
        }
    }
    for (size_t n = 0; n < g->n_node; n++) {
        imp->node = g->node[n];
        imp->node_index = (int)n;
        for (size_t i = 0; i < imp->node->n_input; i++) {
            const char *name = imp->node->input[i];
            if (!name[0])
                continue;
            ox_value *v = ox_value_find(imp, name);
            if (!v)
                return ox_fail(imp, CLNET_ERR_FORMAT, "input '%s' is dangling: no node, "
                               "initializer or graph input defines it", name);
            imp->uses[v - imp->values]++;
        }
    }
    imp->node = NULL;
    if (g->n_output != 1)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "the graph has %zu outputs (clnet nets "
                       "have one)", g->n_output);
    ox_value *out = ox_value_find(imp, g->output[0]->name);
    if (!out)
        return ox_fail(imp, CLNET_ERR_FORMAT, "graph output '%s' is dangling: nothing defines "
                       "it", g->output[0]->name ? g->output[0]->name : "");
    imp->uses[out - imp->values]++;
    return CLNET_OK;
}

/* Orders the nodes so each comes after the producers of its inputs (Kahn's
 * algorithm by repeated passes: exporters write them in order, so one pass
 * usually does); a node left over waits on itself: a cycle. */
static clnet_status order_nodes(ox_import *imp, int *order)
{
    const Onnx__GraphProto *g = imp->graph;
    size_t n = g->n_node, placed = 0;
    bool *done = calloc(n ? n : 1, sizeof *done);
    if (!done)
        return ox_fail(imp, CLNET_ERR_HOST_MEMORY, "out of host memory");
    for (bool progress = true; progress && placed < n;) {
        progress = false;
        for (size_t k = 0; k < n; k++) {
            if (done[k])
                continue;
            bool ready = true;
            for (size_t i = 0; ready && i < g->node[k]->n_input; i++) {
                ox_value *v = ox_value_find(imp, g->node[k]->input[i]);
                int p = v ? imp->producer[v - imp->values] : -1;
                ready = p < 0 || done[p];
            }
            if (ready) {
                done[k] = true;
                order[placed++] = (int)k;
                progress = true;
            }
        }
    }
    size_t stuck = 0;
    while (placed < n && done[stuck])
        stuck++;
    free(done);
    if (placed < n) {
        imp->node = g->node[stuck];
        imp->node_index = (int)stuck;
        return ox_fail(imp, CLNET_ERR_FORMAT, "the graph has a cycle: this node depends on "
                       "its own output");
    }
    return CLNET_OK;
}

/* The nodes the graph output depends on; the others are not imported. */
static clnet_status mark_live(ox_import *imp, bool *live)
{
    const Onnx__GraphProto *g = imp->graph;
    int *stack = malloc((g->n_node + 1) * sizeof *stack), top = 0;
    if (!stack)
        return ox_fail(imp, CLNET_ERR_HOST_MEMORY, "out of host memory");
    int p = imp->producer[ox_value_find(imp, g->output[0]->name) - imp->values];
    if (p >= 0) {
        live[p] = true;
        stack[top++] = p;
    }
    while (top > 0) {
        const Onnx__NodeProto *node = g->node[stack[--top]];
        for (size_t i = 0; i < node->n_input; i++) {
            ox_value *v = ox_value_find(imp, node->input[i]);
            int q = v ? imp->producer[v - imp->values] : -1;
            if (q >= 0 && !live[q]) {
                live[q] = true;
                stack[top++] = q;
            }
        }
    }
    free(stack);
    return CLNET_OK;
}

/* The graph input: float, batch first, its other dimensions fixed (or
 * given by opts->input); it becomes the net's input layer. */
static clnet_status make_input(ox_import *imp, const clnet_onnx_options *opts)
{
    const Onnx__GraphProto *g = imp->graph;
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        if (is_initializer(g, g->input[i]->name))
            continue;
        if (in)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "the graph has several inputs ('%s', "
                           "'%s'); clnet nets have one", in->name, g->input[i]->name);
        in = g->input[i];
    }
    if (!in)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "the graph has no input");
    const Onnx__TypeProto *t = in->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type ||
        !t->tensor_type->shape)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "graph input '%s' is not a tensor of known "
                       "rank", in->name);
    if (t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "graph input '%s' has element type %d "
                       "(float is supported)", in->name, t->tensor_type->elem_type);
    const Onnx__TensorShapeProto *s = t->tensor_type->shape;
    if (s->n_dim < 2 || s->n_dim > 4)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "graph input '%s' has rank %zu (clnet takes "
                       "(N, F), (N, C, W) or (N, C, H, W))", in->name, s->n_dim);
    if (opts && opts->input.ndim > 0 && opts->input.ndim != (int)s->n_dim - 1)
        return ox_fail(imp, CLNET_ERR_INVALID_ARGUMENT, "options: an input of rank %d for graph "
                       "input '%s' of rank %zu (without the batch)", opts->input.ndim, in->name,
                       s->n_dim - 1);
    clnet_shape shape = {.ndim = (int)s->n_dim - 1};
    for (size_t d = 0; d < s->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = s->dim[d];
        bool fixed = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        int64_t v = fixed ? dim->dim_value : 0;
        if (fixed && (v < 1 || v > (1 << 24)))
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "graph input '%s': dimension %zu is %lld",
                           in->name, d, (long long)v);
        if (d == 0) {
            imp->batch = v;
            continue;
        }
        int64_t want = opts && opts->input.ndim > 0 ? opts->input.dim[d - 1] : 0;
        if (fixed && want && want != v)
            return ox_fail(imp, CLNET_ERR_INVALID_ARGUMENT, "options: input dimension %zu is "
                           "%lld but the graph fixes it at %lld", d - 1, (long long)want,
                           (long long)v);
        if (!fixed && !want)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "graph input '%s': dimension %zu is "
                           "symbolic; give the input shape in the options", in->name, d);
        shape.dim[d - 1] = fixed ? v : want;
    }
    clnet_status st = clnet_net_new(imp->ctx, &shape, &imp->net);
    if (st != CLNET_OK)
        return st;
    ox_value *v = ox_value_find(imp, in->name);
    v->kind = OX_LAYER;
    v->layer = 0;
    return CLNET_OK;
}

static bool all_inputs_const(ox_import *imp)
{
    for (size_t i = 0; i < imp->node->n_input; i++) {
        ox_value *v = ox_opt_input(imp, (int)i);
        if (v && v->kind != OX_CONST)
            return false;
    }
    return true;
}

static clnet_status import_nodes(ox_import *imp, const int *order, const bool *live)
{
    const Onnx__GraphProto *g = imp->graph;
    for (size_t k = 0; k < g->n_node; k++) {
        int n = order[k];
        if (!live[n] || imp->absorbed[n])
            continue;
        imp->node = g->node[n];
        imp->node_index = n;
        const char *domain = imp->node->domain;
        if (domain && domain[0] && strcmp(domain, "ai.onnx") != 0)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "operator domain '%s' is not supported",
                           domain);
        clnet_status st = all_inputs_const(imp) ? ox_fold(imp) : ox_import_node(imp);
        if (st != CLNET_OK)
            return st;
        for (size_t o = 0; o < imp->node->n_output; o++) {
            ox_value *v = imp->node->output[o][0] ? ox_output(imp, (int)o) : NULL;
            if (v && v->kind == OX_UNDEFINED && imp->uses[v - imp->values] > 0)
                return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "output %zu ('%s') is used but "
                               "clnet does not compute it", o, v->name);
        }
    }
    imp->node = NULL;
    ox_value *out = ox_value_find(imp, g->output[0]->name);
    if (out->kind != OX_LAYER || out->layer == 0)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "graph output '%s' is %s", out->name,
                       out->kind == OX_CONST ? "a constant" : "the graph input itself");
    if (out->padded || out->layer != imp->net->nlayers - 1)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "graph output '%s' is not computed by the "
                       "last layer of the net", out->name);
    return CLNET_OK;
}

static void import_free(ox_import *imp)
{
    for (int i = 0; i < imp->nvalues; i++)
        ox_const_free(&imp->values[i].c);
    free(imp->values);
    free(imp->slots);
    free(imp->uses);
    free(imp->producer);
    free(imp->absorbed);
    if (imp->model)
        onnx__model_proto__free_unpacked(imp->model, NULL);
}

clnet_status clnet_net_from_onnx(clnet_ctx *ctx, const char *path,
                                 const clnet_onnx_options *opts, clnet_net **out)
{
    if (!out || (!path && !(opts && opts->data)))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_from_onnx: NULL %s",
                          out ? "path" : "out");
    *out = NULL;
    ox_import imp = {.ctx = ctx, .file = path ? path : "(ONNX bytes)"};
    int *order = NULL;
    bool *live = NULL;
    clnet_status st = ox_read_model(&imp, path, opts);
    if (st == CLNET_OK)
        st = check_opset(&imp);
    if (st == CLNET_OK)
        st = build_values(&imp);
    if (st == CLNET_OK) {
        size_t n = imp.graph->n_node ? imp.graph->n_node : 1;
        order = malloc(n * sizeof *order);
        live = calloc(n, sizeof *live);
        if (!order || !live)
            st = ox_fail(&imp, CLNET_ERR_HOST_MEMORY, "out of host memory");
    }
    if (st == CLNET_OK)
        st = order_nodes(&imp, order);
    if (st == CLNET_OK)
        st = mark_live(&imp, live);
    if (st == CLNET_OK)
        st = make_input(&imp, opts);
    if (st == CLNET_OK)
        st = import_nodes(&imp, order, live);
    free(order);
    free(live);
    if (st == CLNET_OK)
        *out = imp.net;
    else
        clnet_net_free(imp.net);
    import_free(&imp);
    return st;
}
