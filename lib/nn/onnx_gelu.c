/* onnx_gelu.c - the ONNX importer's GELU: the exact (erf) form that
 * exporters without a Gelu operator write, Div(x, sqrt 2) -> Erf -> Add 1 ->
 * Mul by x -> Mul 0.5, folded into one GELU layer. */
#include "nn/onnx_internal.h"

#include <math.h>
#include <string.h>

/* How far a constant of the pattern may be from its exact value: exporters
 * write sqrt(2) as a float or a double. */
#define GELU_CONST_TOLERANCE 1e-6

/* The input of node n other than value `name`, when n has two inputs and
 * one of them is `name`; else NULL. */
static ox_value *other_input(ox_import *imp, const Onnx__NodeProto *n, const char *name)
{
    if (n->n_input != 2 || n->n_output != 1)
        return NULL;
    if (strcmp(n->input[0], name) == 0)
        return ox_value_find(imp, n->input[1]);
    if (strcmp(n->input[1], name) == 0)
        return ox_value_find(imp, n->input[0]);
    return NULL;
}

/* Whether v is a float constant holding one value near `expected`. */
static bool is_scalar(ox_import *imp, ox_value *v, double expected)
{
    if (!v || !ox_demand_const(imp, v) || v->c.dtype != OX_F32 || v->c.count != 1)
        return false;
    return fabs((double)v->c.f[0] - expected) <= GELU_CONST_TOLERANCE * fabs(expected);
}

/* The sole consumer of `v` when it is an `op` node not yet imported, else
 * NULL; *index receives its index. */
static const Onnx__NodeProto *next_node(ox_import *imp, const ox_value *v, const char *op,
                                        int *index)
{
    const Onnx__NodeProto *n = v ? ox_sole_consumer(imp, v, index) : NULL;
    if (!n || strcmp(n->op_type, op) != 0 || imp->absorbed[*index] || n->n_output != 1)
        return NULL;
    return n;
}

bool ox_gelu_match(ox_import *imp, const ox_value *x, const ox_const *divisor, int absorbed[4])
{
    if (strcmp(imp->node->op_type, "Div") != 0 || divisor->count != 1 ||
        fabs((double)divisor->f[0] - sqrt(2.0)) > GELU_CONST_TOLERANCE * sqrt(2.0))
        return false;
    const Onnx__NodeProto *erf = next_node(imp, ox_output(imp, 0), "Erf", &absorbed[0]);
    if (!erf || erf->n_input != 1)
        return false;
    ox_value *e = ox_value_find(imp, erf->output[0]);
    const Onnx__NodeProto *add = next_node(imp, e, "Add", &absorbed[1]);
    if (!add || !is_scalar(imp, other_input(imp, add, e->name), 1.0))
        return false;
    ox_value *s = ox_value_find(imp, add->output[0]);
    const Onnx__NodeProto *mul = next_node(imp, s, "Mul", &absorbed[2]);
    ox_value *m_other = mul ? other_input(imp, mul, s->name) : NULL;
    if (!m_other || strcmp(m_other->name, x->name) != 0)
        return false;
    ox_value *m = ox_value_find(imp, mul->output[0]);
    const Onnx__NodeProto *half = next_node(imp, m, "Mul", &absorbed[3]);
    return half && is_scalar(imp, other_input(imp, half, m->name), 0.5);
}
