/* op_table.c - one row per op kind, per activation and per pooling mode:
 * names, input and output counts, optional outputs, the check and the family
 * of each kind. */
#include "core/op_check.h"
#include "core/op_table.h"

#define ROW(name_, lo, hi, outs, opt, check_, fam) \
    {name_, lo, hi, outs, opt, clnet_check_##check_, CLNET_OP_FAMILY_##fam}

static const clnet_op_kind_info kinds[] = {
    /* ROW(name, fewest and most inputs, most outputs, first optional output
     *     (0: none), check function clnet_check_*, family) */
    [CLNET_OP_CONV] = ROW("conv", 2, 3, 1, 0, conv, CONV),
    [CLNET_OP_CONV_TRANSPOSE] = ROW("conv_transpose", 2, 3, 1, 0, conv, CONV),
    /* max pooling's argmax is optional; average pooling has no second output */
    [CLNET_OP_POOL] = ROW("pool", 1, 1, 2, 1, pool, POOL),
    [CLNET_OP_UNPOOL] = ROW("unpool", 2, 2, 1, 0, unpool, POOL),
    [CLNET_OP_ACTIVATION] = ROW("activation", 1, 1, 1, 0, activation, ELTWISE),
    [CLNET_OP_BATCHNORM] = ROW("batchnorm", 5, 6, 1, 0, batchnorm, NORM),
    /* the running statistics are optional */
    [CLNET_OP_BATCHNORM_STATS] = ROW("batchnorm_stats", 1, 1, 4, 2, batchnorm, NORM),
    [CLNET_OP_LRN] = ROW("lrn", 1, 1, 1, 0, lrn, NORM),
    [CLNET_OP_DROPOUT] = ROW("dropout", 1, 1, 1, 0, dropout, ELTWISE),
    [CLNET_OP_LINEAR] = ROW("linear", 2, 3, 1, 0, linear, GEMM),
    [CLNET_OP_GEMM] = ROW("gemm", 2, 2, 1, 0, gemm, GEMM),
    [CLNET_OP_SOFTMAX] = ROW("softmax", 1, 1, 1, 0, softmax, ELTWISE),
    [CLNET_OP_BINARY] = ROW("binary", 2, 2, 1, 0, binary, ELTWISE),
    [CLNET_OP_BIAS_ADD] = ROW("bias_add", 2, 2, 1, 0, bias_add, ELTWISE),
    [CLNET_OP_CONCAT] = ROW("concat", 1, CLNET_OP_MAX_INPUTS, 1, 0, concat, ELTWISE),
    [CLNET_OP_CONV_BACKWARD_WEIGHTS] =
        ROW("conv_backward_weights", 2, 2, 1, 0, conv_backward_weights, CONV),
    [CLNET_OP_POOL_BACKWARD] = ROW("pool_backward", 2, 3, 1, 0, pool_backward, POOL),
    [CLNET_OP_ACTIVATION_BACKWARD] =
        ROW("activation_backward", 2, 2, 1, 0, activation_backward, ELTWISE),
    [CLNET_OP_BATCHNORM_BACKWARD] =
        ROW("batchnorm_backward", 5, 6, 4, 0, batchnorm_backward, NORM),
    [CLNET_OP_LRN_BACKWARD] = ROW("lrn_backward", 2, 2, 1, 0, lrn_backward, NORM),
    [CLNET_OP_SOFTMAX_XENT] = ROW("softmax_xent", 2, 2, 2, 0, softmax_xent, TRAIN),
    [CLNET_OP_MSE_LOSS] = ROW("mse_loss", 2, 2, 2, 0, mse, TRAIN),
    [CLNET_OP_REDUCE_SUM] = ROW("reduce_sum", 1, 1, 1, 0, reduce, TRAIN),
    /* the velocity is optional without momentum (clnet_check_sgd narrows it) */
    [CLNET_OP_SGD_STEP] = ROW("sgd_step", 1, 1, 2, 1, sgd, OPTIM),
    [CLNET_OP_ADAM_STEP] = ROW("adam_step", 1, 1, 3, 0, adam, OPTIM),
    [CLNET_OP_RBF] = ROW("rbf", 2, 2, 1, 0, rbf, GEMM),
    [CLNET_OP_UNPOOL_BACKWARD] = ROW("unpool_backward", 2, 2, 1, 0, unpool_backward, POOL),
    [CLNET_OP_CHANNEL_SHUFFLE] = ROW("channel_shuffle", 1, 1, 1, 0, channel_shuffle, ELTWISE),
    /* dw is optional: fixed centres need only dx */
    [CLNET_OP_RBF_BACKWARD] = ROW("rbf_backward", 3, 3, 2, 1, rbf_backward, GEMM),
    [CLNET_OP_MMI_LOSS] = ROW("mmi_loss", 2, 2, 2, 0, mmi, TRAIN),
};
_Static_assert(sizeof kinds / sizeof kinds[0] == CLNET_OP_KIND_COUNT,
               "every clnet_op_kind needs a row in the op table");

const clnet_op_kind_info *clnet_op_kind_info_get(clnet_op_kind kind)
{
    if ((int)kind < 0 || kind >= CLNET_OP_KIND_COUNT || !kinds[kind].name)
        return NULL;
    return &kinds[kind];
}

clnet_op_family clnet_op_kind_family(clnet_op_kind kind)
{
    return kinds[kind].family;
}

const char *clnet_op_kind_name(clnet_op_kind kind)
{
    const clnet_op_kind_info *info = clnet_op_kind_info_get(kind);
    return info ? info->name : "?";
}

static const clnet_act_info acts[] = {
    [CLNET_ACT_RELU] = {"relu", "relu"},
    [CLNET_ACT_LEAKY_RELU] = {"leaky_relu", "leaky"},
    [CLNET_ACT_RELU6] = {"relu6", "relu6"},
    [CLNET_ACT_SIGMOID] = {"sigmoid", "sigmoid"},
    [CLNET_ACT_TANH] = {"tanh", "tanh"},
    [CLNET_ACT_SWISH] = {"swish", "swish"},
    [CLNET_ACT_HARD_SWISH] = {"hard_swish", "hardswish"},
    [CLNET_ACT_HARD_SIGMOID] = {"hard_sigmoid", "hardsigmoid"},
    [CLNET_ACT_LECUN_TANH] = {"lecun_tanh", "lecuntanh"},
    [CLNET_ACT_SCALE] = {"scale", "scale"},
    [CLNET_ACT_GELU] = {"gelu", "gelu"},
};
_Static_assert(sizeof acts / sizeof acts[0] == CLNET_ACT_COUNT,
               "every clnet_activation needs a row in the activation table");

const clnet_act_info *clnet_act_info_get(clnet_activation fn)
{
    if ((int)fn < 0 || fn >= CLNET_ACT_COUNT || !acts[fn].name)
        return NULL;
    return &acts[fn];
}

bool clnet_act_slope_from_output(const clnet_act_params *a)
{
    switch (a->fn) {
    case CLNET_ACT_RELU:
    case CLNET_ACT_RELU6: return true;
    case CLNET_ACT_LEAKY_RELU: return a->alpha >= 0.0f;
    default: return false;
    }
}

static const clnet_pool_mode_info pool_modes[] = {
    /* {name, cfg word, selects, averages} */
    [CLNET_POOL_MAX] = {"max", "maxpool", true, false},
    [CLNET_POOL_AVG] = {"avg", "avgpool", false, true},
    [CLNET_POOL_L2] = {"l2", "l2pool", false, false},
};
_Static_assert(sizeof pool_modes / sizeof pool_modes[0] == CLNET_POOL_MODE_COUNT,
               "every clnet_pool_mode needs a row in the pooling mode table");

const clnet_pool_mode_info *clnet_pool_mode_info_get(clnet_pool_mode mode)
{
    if ((int)mode < 0 || mode >= CLNET_POOL_MODE_COUNT || !pool_modes[mode].name)
        return NULL;
    return &pool_modes[mode];
}
