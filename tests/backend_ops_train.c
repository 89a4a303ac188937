/* backend_ops_train.c - the training cases of test_backend_ops: batch norm
 * and LRN gradients, running statistics, losses, reductions and optimizer steps. */
#include "backend_ops.h"
#include "core/op_table.h"

/* x, dy and the batch statistics of x (what the forward pass used). */
static void add_bn_backward(tspec x, float eps)
{
    clnet_op op = {.kind = CLNET_OP_BATCHNORM_BACKWARD};
    op.u.bn.eps = eps;
    test_case *tc = new_case(op, NMSE_SUM, "eps=%g,x=%g..%g", eps, x.lo, x.hi);
    int64_t c = x.dim[1];
    add_in(tc, x);
    add_in(tc, ranged(x, FILL_UNIFORM, -1, 1));
    add_in(tc, ranged(SHAPE(c), FILL_MEAN_OF_X, 0, 0));
    add_in(tc, ranged(SHAPE(c), FILL_VAR_OF_X, 0, 0));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -2, 2));
    tc->nout = 3;
    tc->out_cview[0] = x.cview;
}

/* The gradient through a fused activation, whose slope comes from the
 * fused output y (the sixth input; values around the kinks), or for the
 * others from the pre-activation recomputed with beta (the sixth input). */
static void add_bn_act_backward(tspec x, clnet_activation fn, float alpha)
{
    clnet_op op = {.kind = CLNET_OP_BATCHNORM_BACKWARD};
    op.u.bn.eps = 1e-5f;
    op.u.bn.fuse_act = true;
    op.u.bn.act = clnet_op_activation(fn, alpha).u.act;
    test_case *tc = new_case(op, NMSE_SUM, "act=%s,alpha=%g",
                             clnet_act_info_get(fn)->name, alpha);
    int64_t c = x.dim[1];
    add_in(tc, x);
    add_in(tc, ranged(x, FILL_UNIFORM, -1, 1));
    add_in(tc, ranged(SHAPE(c), FILL_MEAN_OF_X, 0, 0));
    add_in(tc, ranged(SHAPE(c), FILL_VAR_OF_X, 0, 0));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -2, 2));
    if (clnet_act_slope_from_output(&op.u.bn.act))
        add_in(tc, ranged(x, FILL_UNIFORM, -2, 8));
    else
        add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -1, 1));
    tc->nout = 3;
    tc->out_cview[0] = x.cview;
}

/* The gradient of a fused residual add (and, with `act`, a ReLU after it):
 * the fourth output dr is the gradient reaching the sum. */
static void add_bn_residual_backward(tspec x, bool act)
{
    clnet_op op = {.kind = CLNET_OP_BATCHNORM_BACKWARD};
    op.u.bn.eps = 1e-5f;
    op.u.bn.fuse_add = true;
    op.u.bn.fuse_act = act;
    op.u.bn.act = clnet_op_activation(CLNET_ACT_RELU, 0).u.act;
    test_case *tc = new_case(op, NMSE_SUM, "add,act=%s", act ? "relu" : "none");
    int64_t c = x.dim[1];
    add_in(tc, x);
    add_in(tc, ranged(x, FILL_UNIFORM, -1, 1));
    add_in(tc, ranged(SHAPE(c), FILL_MEAN_OF_X, 0, 0));
    add_in(tc, ranged(SHAPE(c), FILL_VAR_OF_X, 0, 0));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -2, 2));
    if (act)
        add_in(tc, ranged(x, FILL_UNIFORM, -2, 8));
    tc->nout = 4;
    tc->out_cview[0] = tc->out_cview[3] = x.cview;
}

/* BATCHNORM_STATS with the running statistics, which it reads and updates. */
static void add_bn_running(tspec x, float momentum)
{
    clnet_op op = clnet_op_simple(CLNET_OP_BATCHNORM_STATS);
    op.u.bn.momentum = momentum;
    test_case *tc = new_case(op, NMSE_SUM, "momentum=%g,running,x=%g..%g", momentum, x.lo, x.hi);
    add_in(tc, x);
    tc->nout = 4;
    tc->out_init = 1u << 2 | 1u << 3;
    tc->init_range[3][0] = 0.5f;
    tc->init_range[3][1] = 2;
}

static void add_lrn_backward(tspec x, int size, float alpha, float beta, float k)
{
    clnet_op op = {.kind = CLNET_OP_LRN_BACKWARD};
    op.u.lrn = (clnet_lrn_params){.size = size, .alpha = alpha, .beta = beta, .k = k};
    test_case *tc = new_case(op, NMSE_ELT, "size=%d,alpha=%g,beta=%g,k=%g", size, alpha, beta, k);
    add_in(tc, ranged(x, FILL_UNIFORM, -2, 2));
    add_in(tc, ranged(x, FILL_UNIFORM, -1, 1));
    tc->out_cview[0] = x.cview;
}

static void add_norm_backward_cases(void)
{
    add_bn_backward(SHAPE(2, 4, 7, 7), 1e-5f);
    add_bn_backward(SHAPE(1, 3, 13, 13), 1e-3f);
    add_bn_backward(SHAPE(4, 16), 1e-5f);
    add_bn_backward(SHAPE(2, 5, 31), 1e-5f);
    add_bn_backward(SHAPE(8, 32, 8, 8), 1e-5f);
    add_bn_backward(SHAPE(3, 2, 1, 1), 1e-5f);
    add_bn_backward(ranged(SHAPE(2, 3, 13, 13), FILL_UNIFORM, 100, 101), 1e-5f);
    add_bn_backward(chview(SHAPE(2, 6, 5, 5)), 1e-5f);
    add_bn_act_backward(SHAPE(8, 32, 8, 8), CLNET_ACT_RELU, 0);
    add_bn_act_backward(SHAPE(2, 4, 7, 7), CLNET_ACT_RELU6, 0);
    add_bn_act_backward(chview(SHAPE(2, 6, 4, 4)), CLNET_ACT_LEAKY_RELU, 0.1f);
    add_bn_act_backward(SHAPE(4, 16), CLNET_ACT_RELU, 0);
    /* slopes from the pre-activation: vector forms on 8x8 and on 7x7 with
     * its tail, lane by lane for the piecewise functions */
    add_bn_act_backward(SHAPE(8, 32, 8, 8), CLNET_ACT_GELU, 0);
    add_bn_act_backward(SHAPE(2, 4, 7, 7), CLNET_ACT_GELU, 0);
    add_bn_act_backward(chview(SHAPE(2, 6, 4, 4)), CLNET_ACT_SWISH, 0);
    add_bn_act_backward(SHAPE(2, 5, 31), CLNET_ACT_SIGMOID, 0);
    add_bn_act_backward(SHAPE(8, 32, 8, 8), CLNET_ACT_HARD_SWISH, 0);
    add_bn_act_backward(SHAPE(2, 4, 7, 7), CLNET_ACT_LEAKY_RELU, -0.5f);
    add_bn_residual_backward(SHAPE(8, 32, 8, 8), true);
    add_bn_residual_backward(SHAPE(2, 4, 7, 7), true);
    add_bn_residual_backward(chview(SHAPE(2, 6, 4, 4)), false);
    /* large batch, many channels of 1x1 and 2x2 planes, 16 plus a tail */
    add_bn_backward(ranged(SHAPE(64, 3, 16, 16), FILL_UNIFORM, 100, 101), 1e-5f);
    add_bn_backward(SHAPE(16, 300, 1, 1), 1e-5f);
    add_bn_act_backward(SHAPE(32, 40, 2, 2), CLNET_ACT_RELU, 0);
    add_bn_residual_backward(SHAPE(4, 3, 4, 5), true);
    add_bn_running(SHAPE(2, 4, 7, 7), 0.1f);
    add_bn_running(SHAPE(8, 16, 8, 8), 0.01f);
    add_bn_running(SHAPE(4, 3), 1);
    add_bn_running(SHAPE(1, 3, 1, 2), 0.5f);
    add_bn_running(SHAPE(3, 5, 31), 0);
    add_bn_running(ranged(SHAPE(2, 3, 13, 13), FILL_UNIFORM, 100, 101), 0.1f);
    add_bn_running(chview(SHAPE(2, 6, 5, 5)), 0.1f);
    add_bn_running(ranged(SHAPE(64, 3, 16, 16), FILL_UNIFORM, 100, 101), 0.1f);
    add_lrn_backward(SHAPE(2, 4, 5, 5), 1, 1, 0.75f, 1);
    add_lrn_backward(SHAPE(2, 7, 5, 5), 3, 1, 0.75f, 1);
    add_lrn_backward(SHAPE(1, 13, 7, 7), 5, 1e-4f, 0.75f, 2);
    add_lrn_backward(SHAPE(1, 13, 7, 7), 5, 1, 0.75f, 1);
    add_lrn_backward(SHAPE(1, 6, 3, 3), 4, 2, 0.5f, 1);
    add_lrn_backward(SHAPE(2, 3, 4, 4), 5, 1, 0.75f, 1);
    add_lrn_backward(SHAPE(3, 5), 3, 1, 0.75f, 1);
    add_lrn_backward(chview(SHAPE(2, 8, 5, 5)), 5, 1, 0.75f, 1);
}

static void add_xent(tspec logits, float smoothing, float scale)
{
    clnet_op op = {.kind = CLNET_OP_SOFTMAX_XENT};
    op.u.loss = (clnet_loss_params){.label_smoothing = smoothing, .scale = scale};
    test_case *tc = new_case(op, NMSE_ELT, "smoothing=%g,scale=%g,logits=%g..%g", smoothing,
                             scale, logits.lo, logits.hi);
    tspec labels = ranged(SHAPE(logits.dim[0]), FILL_INTS, 0, (float)(logits.dim[1] - 1));
    labels.dtype = CLNET_I32;
    add_in(tc, logits);
    add_in(tc, labels);
    tc->nout = 2;
    tc->out_cview[1] = logits.cview;
}

/* LeCun et al. 1998's criterion on penalties (non-negative, as RBF's). */
static void add_mmi(tspec penalties, float j, float scale)
{
    clnet_op op = {.kind = CLNET_OP_MMI_LOSS};
    op.u.loss = (clnet_loss_params){.scale = scale, .mmi_j = j};
    test_case *tc = new_case(op, NMSE_ELT, "j=%g,scale=%g,y=%g..%g", j, scale, penalties.lo,
                             penalties.hi);
    tspec labels = ranged(SHAPE(penalties.dim[0]), FILL_INTS, 0, (float)(penalties.dim[1] - 1));
    labels.dtype = CLNET_I32;
    add_in(tc, penalties);
    add_in(tc, labels);
    tc->nout = 2;
    tc->out_cview[1] = penalties.cview;
}

static void add_mse(tspec pred, float scale)
{
    clnet_op op = {.kind = CLNET_OP_MSE_LOSS};
    op.u.loss.scale = scale;
    test_case *tc = new_case(op, NMSE_SUM, "scale=%g", scale);
    add_in(tc, pred);
    add_in(tc, pred);
    tc->nout = 2;
    tc->out_cview[1] = pred.cview;
}

static void add_reduce(tspec x, bool keep_batch)
{
    clnet_op op = {.kind = CLNET_OP_REDUCE_SUM};
    op.u.reduce.keep_batch = keep_batch;
    test_case *tc = new_case(op, NMSE_SUM, "%s", keep_batch ? "keep_batch" : "per_channel");
    add_in(tc, x);
}

static void add_loss_cases(void)
{
    add_xent(SHAPE(4, 10), 0, 0.25f);
    add_xent(SHAPE(4, 10), 0.1f, 0.25f);
    add_xent(SHAPE(64, 10), 0.1f, 1.0f / 64);
    add_xent(SHAPE(3, 1000), 0, 1);
    add_xent(SHAPE(3, 1000), 0.2f, 1);
    add_xent(SHAPE(2, 1), 0, 1);
    add_xent(SHAPE(2, 1), 0.5f, 1);
    add_xent(ranged(SHAPE(4, 31), FILL_UNIFORM, -1e4f, 1e4f), 0, 1);
    add_xent(ranged(SHAPE(4, 31), FILL_UNIFORM, -1e4f, 1e4f), 0.1f, 1);
    add_xent(ranged(SHAPE(4, 13), FILL_UNIFORM, -2e4f, -1e4f), 0.1f, 0.5f);
    add_xent(chview(SHAPE(2, 64)), 0.1f, 0.5f);
    add_mmi(ranged(SHAPE(4, 10), FILL_UNIFORM, 0, 4), 1, 0.25f);
    add_mmi(ranged(SHAPE(64, 10), FILL_UNIFORM, 0, 200), 1, 1.0f / 64);
    add_mmi(ranged(SHAPE(3, 1000), FILL_UNIFORM, 0, 10), 5, 1);
    add_mmi(ranged(SHAPE(2, 1), FILL_UNIFORM, 0, 1), 0.1f, 1);
    add_mmi(ranged(SHAPE(4, 31), FILL_UNIFORM, 1e3f, 1e4f), 80, 1);
    add_mmi(ranged(chview(SHAPE(2, 64)), FILL_UNIFORM, 0, 3), 2, 0.5f);
    add_mse(SHAPE(4, 10), 0.25f);
    add_mse(SHAPE(2, 3, 7, 7), 1);
    add_mse(SHAPE(3, 5, 31), 0.5f);
    add_mse(SHAPE(1, 1), 1);
    add_mse(SHAPE(8, 64, 16, 16), 0.125f);
    add_mse(chview(SHAPE(2, 6, 4, 4)), 1);
    for (int keep = 0; keep < 2; keep++) {
        add_reduce(SHAPE(2, 3, 7, 7), keep);
        add_reduce(SHAPE(8, 64, 16, 16), keep);
        add_reduce(SHAPE(4, 10), keep);
        add_reduce(SHAPE(2, 5, 31), keep);
        add_reduce(SHAPE(3, 4, 31, 31), keep);
        add_reduce(SHAPE(5, 3, 4, 4), keep);
        add_reduce(SHAPE(1, 1, 1, 1), keep);
        add_reduce(SHAPE(64, 1000), keep);
        add_reduce(chview(SHAPE(2, 6, 5, 5)), keep);
    }
}

/* Three steps on the same weights and state, a new gradient each time. */
static void add_sgd(tspec g, float lr, float momentum, float weight_decay, bool nesterov)
{
    clnet_op op = {.kind = CLNET_OP_SGD_STEP};
    op.u.sgd = (clnet_sgd_params){.lr = lr, .momentum = momentum, .weight_decay = weight_decay,
                                  .nesterov = nesterov};
    test_case *tc = new_case(op, NMSE_EXACT, "lr=%g,momentum=%g,wd=%g%s,steps=3", lr, momentum,
                             weight_decay, nesterov ? ",nesterov" : "");
    add_in(tc, g);
    tc->nout = momentum != 0 ? 2 : 1;
    tc->out_init = 3;
    tc->out_cview[0] = tc->out_cview[1] = g.cview;
    tc->steps = 3;
}

/* v starts non-negative, as a second moment does. */
static void add_adam(tspec g, float lr, float beta1, float beta2, float eps, float weight_decay,
                     bool decoupled, int t)
{
    clnet_op op = {.kind = CLNET_OP_ADAM_STEP};
    op.u.adam = (clnet_adam_params){.lr = lr, .beta1 = beta1, .beta2 = beta2, .eps = eps,
                                    .weight_decay = weight_decay, .decoupled = decoupled, .t = t};
    test_case *tc = new_case(op, NMSE_ELT, "lr=%g,betas=%g,%g,eps=%g,wd=%g%s,t=%d..%d", lr, beta1,
                             beta2, eps, weight_decay, decoupled ? ",adamw" : "", t, t + 2);
    add_in(tc, g);
    tc->nout = 3;
    tc->out_init = 7;
    tc->init_range[2][1] = 1;
    for (int j = 0; j < 3; j++)
        tc->out_cview[j] = g.cview;
    tc->steps = 3;
}

static void add_optimizer_cases(void)
{
    add_sgd(SHAPE(3, 13), 0.1f, 0, 0, false);
    add_sgd(SHAPE(4, 31), 0.1f, 0, 0.01f, false);
    add_sgd(SHAPE(2, 3, 7, 7), 0.05f, 0.9f, 0, false);
    add_sgd(SHAPE(2, 3, 7, 7), 0.05f, 0.9f, 0, true);
    add_sgd(SHAPE(1000), 0.01f, 0.9f, 5e-4f, false);
    add_sgd(SHAPE(16, 8, 3, 3), 0.1f, 0.5f, 0.01f, true);
    add_sgd(chview(SHAPE(2, 6, 4, 4)), 0.1f, 0.9f, 0.01f, false);
    add_adam(SHAPE(3, 13), 0.1f, 0.9f, 0.999f, 1e-8f, 0, false, 1);
    add_adam(SHAPE(2, 3, 7, 7), 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 1);
    add_adam(SHAPE(1000), 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, false, 1);
    add_adam(SHAPE(16, 8, 3, 3), 0.1f, 0.8f, 0.99f, 1e-6f, 0.05f, true, 10);
    add_adam(SHAPE(4, 31), 0.5f, 0, 0.5f, 1e-3f, 0, false, 1);
    add_adam(chview(SHAPE(2, 6, 4, 4)), 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 1);
}

void add_training_cases(void)
{
    add_norm_backward_cases();
    add_loss_cases();
    add_optimizer_cases();
}
