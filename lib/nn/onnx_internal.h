/* onnx_internal.h - what the ONNX importer's files share: constant tensors,
 * the values of a graph being imported, node attribute access and the
 * operator table. Built only with ONNX support (lib/meson.build). */
#ifndef CLNET_NN_ONNX_INTERNAL_H
#define CLNET_NN_ONNX_INTERNAL_H

#include "clnet/onnx.h"
#include "nn/nn_internal.h"
#include "onnx.pb-c.h"

/* The opsets the importer knows: older models lack attributes it relies on,
 * newer ones may change an operator's meaning. */
#define OX_OPSET_MIN 7
#define OX_OPSET_MAX 17
#define OX_MAX_DIMS 8
/* A model larger than this is refused before it is read. */
#define OX_MAX_BYTES ((size_t)2 << 30)
/* The batch size inside a folded shape: known only at run time. Shape of a
 * computed tensor gives it; arithmetic on it is refused. */
#define OX_BATCH (INT64_MIN + 1)

typedef enum ox_dtype { OX_F32 = 0, OX_I64 } ox_dtype;

/* A tensor known at import time: an initializer, a Constant, or what
 * folding computed from them. Integers of every width (and booleans) are
 * held as int64, floating point as float. */
typedef struct ox_const {
    ox_dtype dtype;
    int ndim;
    int64_t dim[OX_MAX_DIMS];
    int64_t count;
    float *f;                      /* F32: count values, owned */
    int64_t *i;                    /* I64: count values, owned */
} ox_const;

typedef enum ox_kind {
    OX_UNDEFINED = 0,              /* not computed yet */
    OX_CONST,                      /* known at import time */
    OX_LAYER                       /* computed by a layer of the net, per image */
} ox_kind;

typedef struct ox_value {
    const char *name;              /* points into the model */
    ox_kind kind;
    ox_const c;                    /* OX_CONST */
    int layer;                     /* OX_LAYER */
    int pad[4];                    /* OX_LAYER: zero padding (top, left, bottom, right) a
                                      Pad left for the Conv reading it to apply */
    int pad_channels;              /* OX_LAYER: zero channels a Pad appended, left for the
                                      Add reading it (clnet adds a narrower input into
                                      the leading channels) */
    bool padded;                   /* pad or pad_channels is not zero */
} ox_value;

typedef struct ox_import {
    clnet_ctx *ctx;
    const char *file;
    Onnx__ModelProto *model;
    const Onnx__GraphProto *graph;
    int64_t opset;
    clnet_net *net;
    ox_value *values;
    int nvalues, cap;
    int *slots;                    /* hash table of value names: index + 1, 0 = empty */
    size_t nslots;
    int *uses;                     /* per value: node inputs and graph outputs reading it */
    int *producer;                 /* per value: the node writing it, -1 for none */
    bool *absorbed;                /* per node: already imported as part of another */
    int64_t batch;                 /* the graph input's fixed batch size, or 0 */
    int demand_depth;              /* recursion of ox_demand_const */
    const Onnx__NodeProto *node;   /* the node being imported, for messages */
    int node_index;
} ox_import;

/* ---- onnx_proto.c: bytes, tensors, attributes, messages ---- */

/* Reads and unpacks the model (path or opts->data). */
clnet_status ox_read_model(ox_import *imp, const char *path, const clnet_onnx_options *opts);
/* "ONNX import of file: node 'name' (#index, op type T): message" when a
 * node is current, else "ONNX import of file: message", so that the status
 * text before it (e.g. "not supported") reads as the model's problem, not
 * the device's. Returns st. */
clnet_status ox_fail(ox_import *imp, clnet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Decodes an initializer or attribute tensor; `what` names it in messages. */
clnet_status ox_tensor_decode(ox_import *imp, const Onnx__TensorProto *t, const char *what,
                              ox_const *out);
/* Allocates the values of a tensor of `dtype` with the given dims. */
clnet_status ox_const_alloc(ox_import *imp, ox_dtype dtype, int ndim, const int64_t *dim,
                            ox_const *out);
void ox_const_free(ox_const *c);
/* Value `i` as a double, whatever the dtype. */
static inline double ox_const_get(const ox_const *c, int64_t i)
{
    return c->dtype == OX_F32 ? (double)c->f[i] : (double)c->i[i];
}

/* The current node's attribute `name`, or NULL. */
const Onnx__AttributeProto *ox_attr(ox_import *imp, const char *name);
/* Fails naming the first attribute of the current node not in the
 * space-separated `known` list. */
clnet_status ox_check_attrs(ox_import *imp, const char *known);
/* Typed attribute reads: *out keeps the caller's default when absent; a
 * present attribute of another type is an error naming it. */
clnet_status ox_attr_int(ox_import *imp, const char *name, int64_t *out);
clnet_status ox_attr_float(ox_import *imp, const char *name, float *out);
/* A string attribute into out[size], NUL-terminated. */
clnet_status ox_attr_string(ox_import *imp, const char *name, char *out, size_t size);
/* Up to `max` integers; *n receives the count (unchanged when absent). */
clnet_status ox_attr_ints(ox_import *imp, const char *name, int max, int64_t *out, int *n);

/* ---- onnx_import.c: the value table ---- */

/* The value named `name` (NULL when the graph has none). */
ox_value *ox_value_find(ox_import *imp, const char *name);
/* Input `i` of the current node, which must be present (NULL otherwise,
 * with the error recorded). */
ox_value *ox_input(ox_import *imp, int i);
/* Input `i` when the node has it and it is not the empty name, else NULL. */
ox_value *ox_opt_input(ox_import *imp, int i);
/* Output `i` of the current node. */
ox_value *ox_output(ox_import *imp, int i);
/* Makes output `i` a constant, taking ownership of c's values. */
void ox_set_const(ox_import *imp, int i, ox_const *c);
/* Makes output `i` the output of layer `id`. */
void ox_set_layer(ox_import *imp, int i, int id);
/* The per-image shape of a layer value. */
const clnet_shape *ox_shape(ox_import *imp, const ox_value *v);
/* Adds a layer named after the current node (its outputs' name when the
 * node has none; a suffix when the name is taken), the error naming the
 * node. *id receives its id. */
clnet_status ox_add_layer(ox_import *imp, clnet_layer_spec *spec, int *id);
/* Writes parameter `index` of layer `id` from `values` (as many as the
 * parameter's shape holds). */
clnet_status ox_set_param(ox_import *imp, int id, int index, const float *values);
/* v as a constant, computing it now when the nodes it depends on come later
 * in the file but are all constants (or shapes of computed values); NULL
 * when it is not known at import time. For patterns that look ahead. */
ox_value *ox_demand_const(ox_import *imp, ox_value *v);
/* The node reading value `v` when exactly one node does (and no graph
 * output), else NULL; *index receives the node's index. */
const Onnx__NodeProto *ox_sole_consumer(ox_import *imp, const ox_value *v, int *index);

/* ---- onnx_fold.c: constant folding ---- */

/* Computes the current node from constant inputs. CLNET_ERR_UNSUPPORTED
 * (with the message) when the op cannot be folded. */
clnet_status ox_fold(ox_import *imp);
/* Makes output 0 of the current node (a Shape) the shape of the computed
 * value v, its batch dimension OX_BATCH. */
clnet_status ox_shape_of_layer(ox_import *imp, const ox_value *v);

/* ---- onnx_gelu.c: the erf form of GELU ---- */

/* Whether the current node, x divided by the constant `divisor`, starts
 * Div(x, sqrt 2) -> Erf -> Add 1 -> Mul by x -> Mul 0.5 (constants on
 * either side of Add and Mul, each intermediate read by the next node
 * only): then absorbed[] receives the indices of the Erf, Add and the two
 * Mul nodes, in that order, the last one's output being GELU(x). */
bool ox_gelu_match(ox_import *imp, const ox_value *x, const ox_const *divisor, int absorbed[4]);

/* ---- onnx_norm.c: the net's own input normalisation ---- */

/* When the current node is x - mean, x the graph input read by nothing
 * else, and (x - mean) is read only by a Div by a constant std, both one
 * value per channel (std finite and > 0): sets the net's input
 * normalisation (clnet_net_set_input_norm), absorbs the Div, makes its
 * output the input layer's and sets *matched. Otherwise *matched is false
 * and nothing changes. Errors: out of memory. */
clnet_status ox_input_norm(ox_import *imp, const ox_value *x, const ox_const *mean,
                           bool *matched);

/* ---- onnx_ops.c: operators onto layers ---- */

/* Imports the current node, some of whose inputs are computed by layers. */
clnet_status ox_import_node(ox_import *imp);

#endif
