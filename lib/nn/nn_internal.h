/* nn_internal.h - the structures behind clnet_net (the one definition of a
 * network's layers, parameters and device state) and the helpers its files share. */
#ifndef CLNET_NN_INTERNAL_H
#define CLNET_NN_INTERNAL_H

#include "clnet/nn.h"
#include "clnet/parallel.h"
#include "core/internal.h"

/* weight, bias (CONV, CONV_TRANSPOSE, LINEAR); gamma, beta, running_mean,
 * running_var (BATCHNORM). */
#define NN_MAX_PARAMS 4
/* SGD keeps one state tensor per parameter (velocity), Adam two (m, v). */
#define NN_MAX_STATE 2

/* How bind initialises a parameter that has no values yet. */
typedef enum nn_param_init {
    NN_INIT_WEIGHT = 0,            /* random, by the clnet_init scheme */
    NN_INIT_ZERO,                  /* biases, BN shift and running mean */
    NN_INIT_ONE,                   /* BN scale and running variance */
    NN_INIT_DIGITS                 /* RBF centres: the digit bitmaps of rbf_digits.c */
} nn_param_init;

/* One parameter tensor. Its values live in exactly one place: `host` while
 * the net is unbound (initialisation, loading, between truncate and bind),
 * `value` on the device once bound. */
typedef struct nn_param {
    const char *name;              /* static: "weight", "bias", "gamma", ... */
    bool trainable;                /* false for batch-norm running statistics */
    float lr_mult, decay_mult;     /* the optimizer's lr and weight decay are multiplied by
                                      these (clnet_net_set_param_lr); lr_mult 0: not stepped */
    nn_param_init init;
    clnet_shape shape;             /* no batch axis */
    float *host;                   /* NULL: not initialised yet (or on the device) */
    clnet_tensor *value;           /* bound only */
    clnet_tensor *grad;            /* bound, trainable only */
    float *state_host[NN_MAX_STATE];   /* optimizer state while unbound */
    clnet_tensor *state[NN_MAX_STATE]; /* optimizer state, bound, allocated on first step */
    bool in_flat;                  /* value, grad and state are views into the net's flat
                                      buffers at flat_off (flat_params.c) */
    int64_t flat_off;
} nn_param;

/* How a layer's output or gradient tensor relates to another layer's: views
 * instead of copies where a single consumer makes that safe. */
typedef enum nn_alias {
    NN_OWN = 0,                    /* its own tensor */
    NN_CONCAT_SLICE,               /* channel slice of its only consumer, a CONCAT */
    NN_FLATTEN_VIEW,               /* reshape of its only consumer, a FLATTEN (dy only),
                                      or a FLATTEN's y as a reshape of its input's y */
    NN_ADD_SHARED,                 /* dy is its only consumer's (an ADD) dy */
    NN_SLICE_VIEW                  /* a SLICE's y: channel slice of its input's y */
} nn_alias;

/* Views of a layer's tensors for the current batch size (axis-0 slices of
 * the max_batch tensors, and 2-D (n, F) reshapes where a GEMM or a loss
 * needs them). Rebuilt when the batch size changes. */
typedef struct nn_batch_views {
    clnet_tensor *y, *y2;          /* output; y2 NULL when y is a channel slice */
    clnet_tensor *dy, *dy2;        /* gradient; NULL when the layer has none */
    clnet_tensor *pre;             /* fused activation's input */
    clnet_tensor *argmax;          /* max pooling, training only */
    clnet_tensor *tmp;             /* scratch A in the layer's output shape */
    clnet_tensor *acc, *acc2;      /* scratch B in the layer's output shape */
} nn_batch_views;

typedef struct nn_layer {
    clnet_layer_spec spec;         /* from[] absolute ids, defaults filled in */
    clnet_shape out;               /* per image, no batch axis */
    int nparams;
    nn_param params[NN_MAX_PARAMS];
    int64_t nparam_count, macs, elementwise;
    bool frozen;
    clnet_layer_mode mode;         /* clnet_net_set_layer_mode; see nn_layer_training */
    int consumers;                 /* edges from later layers (a layer listed twice counts twice) */
    int consumer;                  /* the consumer's id when consumers == 1, else -1 */

    /* bound */
    clnet_tensor *y, *dy;          /* (max_batch, out...), possibly views (see alias) */
    nn_alias y_alias, dy_alias;
    clnet_tensor *pre;             /* fused activation's input (has_act) */
    clnet_tensor *argmax;          /* max pooling (I32) */
    bool switches_used;            /* max pooling: an UNPOOL layer reads its argmax, which is
                                      then kept in inference too */
    clnet_tensor *batch_mean, *batch_var; /* batch-norm statistics of the last training forward */
    clnet_tensor *sync_scale, *sync_shift; /* (C) synchronised batch norm's correction of the
                                      input gradient (sync_bn.c), made on first use */
    nn_batch_views b;
    uint64_t dropout_seed;         /* of the last training forward */
    int64_t dropout_first;         /* and its batch's first image (net->first_image) */

    /* fused forward (fuse.c) */
    int fused_by;                  /* in the last forward: the convolution that computed this
                                      layer's output along with its own (0: none) */
    bool act_fused;                /* in the last forward: the op that wrote y applied has_act,
                                      `pre` holds nothing */
    clnet_tensor *fold_w, *fold_b; /* weights and bias with the next batch norm folded in */
    clnet_tensor *fold_zero;       /* (K) zeros: the bias of a bias-less conv, a zero mean */
    int res_target;                /* batch norm, in the last forward: the layer whose output
                                      received act(batchnorm + residual) (0: none) */
    int res_from;                  /* ... and the layer whose output was the residual */
    uint64_t fold_version;         /* net->param_version they were computed at */

    /* per backward pass */
    bool aux_only;                 /* in the last inference forward: needed only by auxiliary
                                      outputs (loss_weight), so not run (aux_loss.c) */
    bool needs_grad;               /* dy is computed (trainable, or feeds one that is) */
    bool grad_written;             /* dy holds a first contribution */

    /* profiling (profile.c): milliseconds since it was switched on */
    double prof_fwd_ms, prof_bwd_ms;
} nn_layer;

struct clnet_net {
    clnet_ctx *ctx;
    nn_layer *layers;              /* layers[0] is the input */
    int nlayers, cap;
    bool input_grad;               /* also compute layers[0].dy (saliency; tests) */

    clnet_device *dev;             /* NULL while unbound */
    int max_batch;
    clnet_init init;
    uint64_t seed;
    clnet_tensor *scratch[2];      /* flat F32, the largest (max_batch, out) of any layer */
    clnet_tensor *labels;          /* I32 (max_batch), on first backward */
    clnet_tensor *targets;         /* F32 (max_batch, loss width), on first MSE backward */
    clnet_tensor *loss_values;     /* F32 (max_batch) */
    clnet_tensor *aux_loss_values; /* F32 (max_batch): one auxiliary output's losses, on the
                                      first backward that has one (aux_loss.c) */
    int batch_n;                   /* batch size the views were built for; 0 = none */

    bool training;
    clnet_loss loss;
    float label_smoothing;
    float mmi_j;                   /* CLNET_LOSS_MMI's j; 0: CLNET_MMI_J_DEFAULT (nn_mmi_j) */
    bool loss_sum;                 /* the loss gradient is of the batch's sum, not its mean */
    int last_n;                    /* images of the last forward; 0 = none yet */
    bool last_training;
    uint64_t forward_count;        /* training forwards so far: varies the dropout masks */
    uint64_t param_version;        /* bumped whenever parameter values may change (training
                                      forwards, steps, writes): folded weights go stale */
    bool no_fusion;                /* run every layer on its own (tests compare the two) */

    clnet_optim_kind opt_kind;     /* of the optimizer state, when opt_nstate > 0 */
    int opt_nstate;                /* state tensors per trainable parameter (0 = none) */
    int64_t opt_steps;             /* steps taken (Adam's t) */
    /* every trainable parameter's value, gradient and optimizer state, one
     * buffer each (flat_params.c); NULL when inference-only or none */
    clnet_tensor *flat_value, *flat_grad, *flat_state[NN_MAX_STATE];
    int64_t flat_numel;

    /* input normalisation (input_norm.c) */
    float *norm;                   /* mean[C] then std[C] of the input channels; NULL = none */
    float *norm_x;                 /* host scratch: one normalised batch */
    size_t norm_x_floats;
    clnet_train_state progress;    /* kept in checkpoints, for resuming */
    /* inference-only bind (clnet_net_bind_inference): no gradients, no
     * optimizer state, and layer outputs share buffers (liveness.c) */
    bool inference_only;
    clnet_tensor **out_buffers;    /* the shared output buffers */
    int nout_buffers;
    int *out_buffer_of;            /* per layer holding an output: its buffer */
    int64_t peak_live_numel;       /* per image: the most output elements live at once */

    bool profiling;                /* wait for the device after every layer, timing it */
    double prof_loss_ms, prof_step_ms;

    int *names;                    /* layer-name index (names.c), name_slots entries */
    int name_slots;

    /* data-parallel training (parallel.c): set while clnet_parallel_train_epoch
     * runs the epoch on the group's replica 0 */
    struct clnet_parallel *parallel;
    /* synchronised batch norm (sync_bn.c): set while the group runs a
     * training batch norm layer whose batch_mean and batch_var it filled
     * with the global batch's statistics (and whose running statistics it
     * updated), so the layer computes none of its own */
    bool bn_stats_given;

    /* gradient exchange between processes (grad_exchange.c): hooks set
     * when exchange.finish is non-NULL; the share of the global batch the
     * sharded training loop gives the current step (0: not sharded) */
    clnet_grad_exchange exchange;
    /* synchronised batch norm across processes (sync_bn_exchange.c): set
     * when bn_exchange.sum is non-NULL */
    clnet_bn_exchange bn_exchange;
    double exchange_share;
    /* the global index of the batch's first image when it is a shard of a
     * larger batch (sharded training): dropout masks follow the image, not
     * the shard */
    int64_t first_image;
};

/* The input x of clnet_net_forward (n images) with the net's normalisation
 * applied: x itself when the net has none, else the net's scratch. */
clnet_status nn_norm_input(clnet_net *net, const float *x, int n, const float **out);
/* clnet_net_forward, but with `normalised` the caller (the training and
 * evaluation pipeline, on its worker threads) applied the net's
 * normalisation to x already. */
clnet_status nn_forward(clnet_net *net, const float *x, int n, bool normalised);

/* The normalisation a training or evaluation call should apply in its
 * host pipeline, given the caller's (may be NULL): none when the net
 * normalises its input itself (forward does), the caller's otherwise.
 * A caller's normalisation that differs from the net's is an error. */
clnet_status nn_norm_resolve(clnet_net *net, const char *what, const float *mean,
                             const float *std, const float **use_mean, const float **use_std);

/* Whether layer l runs in training mode in the current forward (the net's
 * mode, the layer's mode and, for batch norm, whether it is frozen). */
bool nn_layer_training(const clnet_net *net, const nn_layer *l);

/* Range checks of the public option structs (train_opts.c); `what` names
 * the calling function in the message. */
clnet_status nn_check_optimizer(clnet_ctx *ctx, const char *what, const clnet_optimizer *opt);
clnet_status nn_check_train_opts(clnet_ctx *ctx, const char *what, const clnet_train_opts *opts);

/* Releases the normalisation and its scratch (clnet_net_free). */
void nn_norm_free(clnet_net *net);

/* Records "<prefix>: <the context's last error>" as the last error (the
 * detail is copied first: clnet_fail overwrites it) and returns st. */
clnet_status nn_wrap(clnet_ctx *ctx, clnet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Text for a layer kind: "conv", "pool", ... (net.c). */
const char *nn_kind_name(clnet_layer_kind kind);

/* The forward op of a layer's kind with its parameters (CONCAT for the kinds
 * that run none: INPUT, FLATTEN). */
clnet_op nn_layer_op(const nn_layer *l);

/* Index in spec.from of the ADD/MUL input with the full shape: the others
 * may broadcast per channel against it. */
int nn_full_input(const clnet_net *net, const nn_layer *l);

/* The layer whose output the loss reads: the last one, or its input when the
 * last layer is an explicit SOFTMAX and the loss is the softmax
 * cross-entropy (which applies softmax itself). */
int nn_loss_layer(const clnet_net *net);

/* Copies every device-held value (parameters, optimizer state) back into
 * host arrays and frees all device memory: the net is unbound afterwards. */
clnet_status nn_unbind(clnet_net *net);
/* Frees all device memory without saving anything (exec.c). */
void nn_release_device(clnet_net *net);

/* Seeded host initialisation of every parameter that has no values yet
 * (init.c). */
clnet_status nn_init_params(clnet_net *net, clnet_init init, uint64_t seed);

/* Frees the optimizer state of every parameter (host and device) (optim.c). */
void nn_opt_state_free(clnet_net *net);

/* flat_params.c: the flat parameter buffers. nn_flat_bind lays the
 * trainable parameters out (at bind, before their tensors are made) and
 * makes the value and gradient buffers, zeroed, and the state buffers the
 * optimizer already has. nn_param_tensor makes tensor `which` of p (0
 * value, 1 gradient, 2 + s state s): its view in the flat buffer (made on
 * first use) or, for a parameter outside them, a tensor of its own; filled
 * from `host`, else zeroed. nn_flat_steppable: whether p's value, gradient
 * and first nstate states are still those views, so that the optimizer may
 * step it with its neighbours; nn_flat_end: the offset after p's slot.
 * nn_flat_run: buffer `which` from begin to end (slot boundaries) as a
 * dense 2-D tensor. nn_flat_holds: whether t is a view of a flat buffer.
 * nn_flat_bytes: their device bytes (values only, or all). nn_flat_free:
 * the state buffers, or all of them. */
clnet_status nn_flat_bind(clnet_net *net);
clnet_status nn_param_tensor(clnet_net *net, const nn_param *p, int which, const float *host,
                             clnet_tensor **out);
bool nn_flat_steppable(clnet_net *net, const nn_param *p, int nstate);
int64_t nn_flat_end(const nn_param *p);
clnet_status nn_flat_run(clnet_net *net, int which, int64_t begin, int64_t end,
                         clnet_tensor **out);
bool nn_flat_holds(const clnet_net *net, const clnet_tensor *t);
size_t nn_flat_bytes(const clnet_net *net, bool values_only);
void nn_flat_free(clnet_net *net, bool state_only);

/* Records "net <stage>: layer <id> (<name>, <kind>): <last error>" (exec.c). */
clnet_status nn_layer_fail(clnet_net *net, int id, const char *stage, clnet_status st);

/* Whether layer `input`'s output is a channel slice of the output of
 * `concat` (its only consumer), written there in place. */
static inline bool nn_is_slice_of(const clnet_net *net, int input, int concat)
{
    const nn_layer *p = &net->layers[input];
    return p->y_alias == NN_CONCAT_SLICE && p->consumer == concat;
}

static inline bool nn_same_shape(const clnet_shape *a, const clnet_shape *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i])
            return false;
    return true;
}

/* Whether `part` is an ADD input narrower than the full input `full`: fewer
 * channels, every other dimension equal. It is added into full's leading
 * channels (the zero-padded identity shortcut of the CIFAR ResNets). */
static inline bool nn_channel_prefix(const clnet_shape *full, const clnet_shape *part)
{
    if (part->ndim != full->ndim || part->dim[0] >= full->dim[0])
        return false;
    for (int i = 1; i < part->ndim; i++)
        if (part->dim[i] != full->dim[i])
            return false;
    return true;
}

/* Runs convolution layer `id` together with the layers after it that it can
 * absorb (fuse.c): false when there are none (nothing is run), else true
 * with the status in *st. */
bool nn_forward_fused(clnet_net *net, int id, clnet_status *st);
/* Fusion on (the default) or off. */
void nn_set_fusion(clnet_net *net, bool enabled);
/* Whether batch norm layer l applies its own activation in its pass, and
 * in training differentiates through it in its backward pass (fuse.c). */
bool nn_bn_act_fusable(const clnet_net *net, const nn_layer *l);
/* Runs training batch norm layer `id` with the residual ADD after it and
 * that ADD's activation in one pass (fuse.c): false when it has none
 * (nothing is run), else true with the status in *st. */
bool nn_forward_residual(clnet_net *net, int id, clnet_status *st);
/* The activation a batch norm's residual fusion applied (false: none). */
bool nn_residual_act(const clnet_net *net, const nn_layer *bn, clnet_act_params *act);
/* Whether layer l (an ADD or ACTIVATION) was computed in a batch norm's
 * residual fusion, which also takes its gradient. */
bool nn_residual_fused(const clnet_net *net, const nn_layer *l);
/* The training BATCHNORM of layer l into dst (exec.c), adding r (NULL:
 * none) and applying act (NULL: none) in the same pass. */
clnet_status nn_forward_batchnorm(clnet_net *net, nn_layer *l, clnet_tensor *dst,
                                  clnet_tensor *r, const clnet_act_params *act);

/* Profiling (profile.c): nn_prof_start returns the clock once the device is
 * idle (0 when profiling is off); nn_prof_stop waits for the device and adds
 * the time since `start` to *total_ms. Both do nothing when profiling is off. */
double nn_prof_start(clnet_net *net);
clnet_status nn_prof_stop(clnet_net *net, double start, double *total_ms);

/* The activation plan of an inference-only bind (liveness.c):
 * nn_plan_outputs assigns every layer output to a shared buffer and
 * allocates the buffers, nn_shared_output makes layer id's (max_batch,
 * out...) view of its buffer, nn_free_plan releases them. */
clnet_status nn_plan_outputs(clnet_net *net);
clnet_status nn_shared_output(clnet_net *net, int id, clnet_tensor **y);
void nn_free_plan(clnet_net *net);

/* Auxiliary outputs (aux_loss.c): nn_mark_aux_only sets every layer's
 * aux_only for an inference forward; nn_aux_losses, after the output's loss
 * wrote the per-image losses of n images into `values`, adds each
 * auxiliary output's weighted cross-entropy against `truth` (the n labels on
 * the device; `labels` on the host, checked against its width) to them and
 * its weighted gradient to its layer's. */
void nn_mark_aux_only(clnet_net *net);
clnet_status nn_aux_losses(clnet_net *net, const int32_t *labels, clnet_tensor *truth,
                           clnet_tensor *values);

/* Builds the per-layer batch views for n images (exec.c). */
clnet_status nn_set_batch(clnet_net *net, int n);
void nn_batch_views_free(nn_layer *l);

/* Reads/writes a parameter's values (numel floats) wherever they live. */
clnet_status nn_param_read(clnet_net *net, const nn_param *p, float *dst);
clnet_status nn_param_write(clnet_net *net, nn_param *p, const float *src);
/* The same for optimizer state tensor `i` (which must exist). */
clnet_status nn_state_read(clnet_net *net, const nn_param *p, int i, float *dst);
clnet_status nn_state_write(clnet_net *net, nn_param *p, int i, const float *src);

/* The layer-name index (names.c). nn_names_find gives the id of the layer
 * called `name`, or -1; nn_names_add indexes layers[id] (whose name must be
 * new), nn_names_rebuild indexes layers[0..nlayers) afresh (after a
 * truncation). Errors: CLNET_ERR_HOST_MEMORY. The net frees `names`. */
int nn_names_find(const clnet_net *net, const char *name);
clnet_status nn_names_add(clnet_net *net, int id);
clnet_status nn_names_rebuild(clnet_net *net);

/* A new unbound net with the layers, host values, optimizer state and
 * settings of the unbound net src (replica.c). Errors: those of
 * clnet_net_new and clnet_net_add, CLNET_ERR_HOST_MEMORY. */
clnet_status nn_net_copy(const clnet_net *src, clnet_net **out);
/* clnet_net_forward in three parts, so that a data-parallel group can run
 * its replicas layer by layer in lockstep (synchronised batch norm):
 * nn_forward_begin checks the call and queues the input, nn_forward_layer
 * runs layer id (1 <= id < nlayers, in increasing order; a layer another
 * one computed along is skipped), nn_forward_end records the finished
 * pass. Errors as clnet_net_forward's. */
clnet_status nn_forward_begin(clnet_net *net, const float *x, int n, bool normalised);
clnet_status nn_forward_layer(clnet_net *net, int id);
void nn_forward_end(clnet_net *net, int n);
/* clnet_net_backward in three parts likewise (backward.c): the checks and
 * the loss, layer id's gradients (id from nlayers - 1 down to 1), and the
 * gradient exchange's finish and the loss read (loss may be NULL). */
clnet_status nn_backward_begin(clnet_net *net, const int32_t *labels, const float *targets);
clnet_status nn_backward_layer(clnet_net *net, int id);
clnet_status nn_backward_end(clnet_net *net, float *loss);
/* Synchronised batch norm across the replicas nets[0..nrep) of a group
 * (sync_bn.c); counts[r] images of the global batch are replica r's (0: it
 * sits this batch out). nn_sync_bn_forward, before training batch
 * norm layer id runs on any replica: every replica's per-channel sums over
 * its slice, summed, give the global mean and variance, written into every
 * replica's batch statistics, and the running statistics are updated from
 * them (the same values on every replica). nn_sync_bn_backward, after layer
 * id's gradient ran on every replica: the gradient each replica passed to
 * the layer's input used its own sums of dy and dy * xhat; the difference
 * to the global sums is added to it. host: nn_sync_bn_host_floats floats
 * of scratch. Errors: those of the ops and transfers. */
clnet_status nn_sync_bn_forward(clnet_net *const *nets, const int *counts, int nrep, int id,
                                float *host);
clnet_status nn_sync_bn_backward(clnet_net *const *nets, const int *counts, int nrep, int id,
                                 float *host);
/* Whether layer id of net is a batch norm that normalises with batch
 * statistics in the current mode (the layers the two functions above
 * serve), and the floats of host scratch they need for nrep replicas. */
bool nn_sync_bn_layer(const clnet_net *net, int id);

/* One channel's global batch statistics from its sum and sum of squares
 * over `total` values (of every replica or rank), and its running
 * statistics moved towards them (PyTorch's convention: the running
 * variance unbiased by total / (total - 1)). Both synchronised paths
 * (sync_bn.c, sync_bn_exchange.c) use it, so they agree to the bit. */
void nn_sync_bn_channel(double sum, double sumsq, double total, double momentum, float *mean,
                        float *var, float *run_mean, float *run_var);
size_t nn_sync_bn_host_floats(const clnet_net *net, int nrep);
/* Synchronised batch norm across processes through net->bn_exchange
 * (sync_bn_exchange.c), for training batch norm l: nn_sync_bn_sum_stats
 * after the local statistics are in l->batch_mean and l->batch_var (the
 * running statistics untouched) makes them, and the running statistics,
 * the global batch's; nn_sync_bn_sum_grads after the layer's gradient
 * corrects its input's gradient to the global sums. Errors: those of the
 * hook, the ops and transfers, CLNET_ERR_HOST_MEMORY. */
clnet_status nn_sync_bn_sum_stats(clnet_net *net, nn_layer *l);
clnet_status nn_sync_bn_sum_grads(clnet_net *net, nn_layer *l);
/* Adds scale * xhat + shift (per channel, xhat normalised with l's batch
 * statistics) to the gradient of batch norm l's input (sync_bn.c). */
clnet_status nn_sync_bn_correct(clnet_net *net, nn_layer *l, const float *scale,
                                const float *shift);
/* The largest global batch of a data-parallel group (parallel.c). */
int nn_parallel_max_batch(const struct clnet_parallel *par);
/* clnet_parallel_step, with `normalised` the caller (the training
 * pipeline) applied the net's input normalisation to x already. */
clnet_status nn_parallel_step(struct clnet_parallel *par, const float *x, const int32_t *labels,
                              const float *targets, int n, const clnet_optimizer *opt, float lr,
                              float *loss, float *out, bool normalised);

/* clnet_net_load's work on a checkpoint already in memory (`path` names it
 * in messages): every check, then the values into the net (checkpoint.c). */
clnet_status nn_checkpoint_parse(clnet_net *net, const char *path, const uint8_t *data,
                                 size_t size);

/* Elements of a per-image shape. */
static inline int64_t nn_numel(const clnet_shape *s) { return clnet_shape_numel(s); }

/* Mixes values into a well-distributed 64-bit seed: the splitmix64 number
 * that follows state z. */
static inline uint64_t nn_mix64(uint64_t z) { return clnet_splitmix64(&z); }

/* Fixed RBF centres for the ten digits (rbf_digits.c): NN_RBF_DIGITS
 * bitmaps of 7x12 = NN_RBF_DIGIT_CELLS cells, +1 ink and -1 paper, written
 * to w (NN_RBF_DIGITS * NN_RBF_DIGIT_CELLS floats). */
#define NN_RBF_DIGITS 10
#define NN_RBF_DIGIT_CELLS 84
void nn_rbf_digit_centres(float *w);

/* An MMI net's outputs are penalties (smaller is better): in place, their
 * negatives, class scores like logits; other nets' outputs stay. (train.c) */
void nn_penalties_to_scores(const clnet_net *net, float *out, size_t count);
/* The training criterion of one row of scores (the net's outputs, made
 * scores by nn_penalties_to_scores) against `label`, as the device computes
 * it; logp is scratch of k doubles. (train.c) */
double nn_row_loss(const clnet_net *net, const float *y, int64_t k, int32_t label, double *logp);

/* ES's gradient estimate (es.c, clnet_net_es_gradient) on an input already
 * normalised when `normalised`. */
struct clnet_es_params;
clnet_status nn_es_gradient(clnet_net *net, const float *x, const int32_t *labels, int n,
                            const struct clnet_es_params *p, bool normalised, float *out,
                            float *loss);

/* The rubbish-class penalty of the net's MMI loss. */
static inline float nn_mmi_j(const clnet_net *net)
{
    return net->mmi_j > 0.0f ? net->mmi_j : CLNET_MMI_J_DEFAULT;
}

#endif
