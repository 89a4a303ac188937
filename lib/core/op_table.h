/* op_table.h - the facts about each op kind, activation and pooling mode,
 * kept in one table row apiece (op_table.c): what adding one means is adding
 * a row. */
#ifndef CLNET_OP_TABLE_H
#define CLNET_OP_TABLE_H

#include "clnet/ops.h"

/* Where an op kind's code lives: one file per family in lib/core
 * (op_check_*.c), lib/ref (ref_*.c), lib/opencl (cl_*.c) and cl/. A backend
 * hands each family to one run function (clnet_backend_iface.runners). */
typedef enum clnet_op_family {
    CLNET_OP_FAMILY_CONV = 0,  /* convolutions and their weight gradient */
    CLNET_OP_FAMILY_POOL,      /* pooling, unpooling and their gradients */
    CLNET_OP_FAMILY_ELTWISE,   /* activations, dropout, binary, bias, concat, softmax */
    CLNET_OP_FAMILY_NORM,      /* batch norm, LRN and their gradients */
    CLNET_OP_FAMILY_GEMM,      /* matrix products: LINEAR, GEMM, RBF */
    CLNET_OP_FAMILY_TRAIN,     /* losses and REDUCE_SUM */
    CLNET_OP_FAMILY_OPTIM,     /* optimizer steps */
    CLNET_OP_FAMILY_COUNT
} clnet_op_family;

struct clnet_check;

/* One op kind. The check validates the descriptor and the input shapes and
 * writes the output shapes (see op_check.h); the input count is checked
 * against min_inputs..max_inputs before it runs. */
typedef struct clnet_op_kind_info {
    const char *name;          /* "conv", prefix of every message about the op */
    int min_inputs, max_inputs;
    int max_outputs;           /* the most outputs any parameters produce */
    int first_optional_output; /* outputs from this index on may be left out, all
                                  or none (0: every output is required); the
                                  check may narrow it by the parameters */
    clnet_status (*check)(struct clnet_check *c);
    clnet_op_family family;
} clnet_op_kind_info;

/* The row of a kind, or NULL for a value outside the enum. */
const clnet_op_kind_info *clnet_op_kind_info_get(clnet_op_kind kind);

/* The family of a valid kind. */
clnet_op_family clnet_op_kind_family(clnet_op_kind kind);

/* One activation: its name in messages and test output ("hard_swish") and
 * its word in cfg files ("hardswish"). */
typedef struct clnet_act_info {
    const char *name;
    const char *cfg_name;
} clnet_act_info;

/* The row of an activation, or NULL for a value outside the enum. */
const clnet_act_info *clnet_act_info_get(clnet_activation fn);

/* Whether an activation's slope follows from its output alone, f'(x) =
 * f'(f(x)) as ACTIVATION_BACKWARD computes it, kinks and NaN included: the
 * ReLU family (RELU, RELU6, LEAKY_RELU with alpha >= 0). */
bool clnet_act_slope_from_output(const clnet_act_params *a);

/* One pooling mode. Its name gives the kernels of cl/pool.cl (pool_<name>,
 * pool_global_<name>, pool_backward_<name>, ...), its words in messages and
 * test output; its cfg word gives the sections [<cfg_name>] and
 * [global<cfg_name>]. */
typedef struct clnet_pool_mode_info {
    const char *name;          /* "max" */
    const char *cfg_name;      /* "maxpool" */
    bool selects;              /* y is one element of the window: an optional argmax
                                  output, and UNPOOL at it is the gradient */
    bool averages;             /* y divides by the window's size: count_include_pad
                                  and adaptive pooling apply */
} clnet_pool_mode_info;

/* The row of a pooling mode, or NULL for a value outside the enum. */
const clnet_pool_mode_info *clnet_pool_mode_info_get(clnet_pool_mode mode);

#endif
