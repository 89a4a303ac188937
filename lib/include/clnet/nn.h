/* clnet/nn.h - networks: a DAG of layers built in C or from a cfg file, run
 * forward and backward on one device, trained with SGD or Adam, saved and
 * loaded as checkpoints. */
#ifndef CLNET_NN_H
#define CLNET_NN_H

#include <stdio.h>

#include "clnet/data.h"
#include "clnet/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clnet_net clnet_net;

/* Layer ids are indices in the order layers were added; the input is 0. */
#define CLNET_LAYER_PREV (-1)    /* "the layer added just before" */
#define CLNET_MAX_FROM 16

typedef enum clnet_layer_kind {
    CLNET_LAYER_INPUT = 0,
    CLNET_LAYER_CONV,            /* conv + optional bias (+ activation if act set) */
    CLNET_LAYER_CONV_TRANSPOSE,
    CLNET_LAYER_POOL,
    CLNET_LAYER_ACTIVATION,
    CLNET_LAYER_BATCHNORM,       /* per-channel, train: batch stats, eval: running stats */
    CLNET_LAYER_LRN,
    CLNET_LAYER_DROPOUT,
    CLNET_LAYER_LINEAR,          /* fully connected, flattens its input */
    CLNET_LAYER_ADD,             /* residual add of all `from` layers */
    CLNET_LAYER_MUL,             /* elementwise / per-channel multiply (squeeze-excitation) */
    CLNET_LAYER_CONCAT,          /* channel concatenation of all `from` layers */
    CLNET_LAYER_FLATTEN,
    CLNET_LAYER_SOFTMAX,         /* explicit softmax output (inference) */
    CLNET_LAYER_SLICE,           /* channels slice_start .. + slice_count of its input, a view */
    CLNET_LAYER_RBF,             /* Euclidean RBF units (CLNET_OP_RBF), out_channels of
                                    them; inference only: backward is CLNET_ERR_UNSUPPORTED */
    CLNET_LAYER_KIND_COUNT
} clnet_layer_kind;

/* Everything that defines one layer. Zero-initialise, set kind and the
 * fields that kind uses; unused fields are ignored. */
typedef struct clnet_layer_spec {
    clnet_layer_kind kind;
    char name[64];               /* unique; "" gives "<kind><id>" */
    int from[CLNET_MAX_FROM];    /* input layer ids; nfrom == 0 means {CLNET_LAYER_PREV} */
    int nfrom;
    int out_channels;            /* CONV, CONV_TRANSPOSE; LINEAR, RBF: outputs */
    int kernel[2];               /* CONV, CONV_TRANSPOSE (h, w) */
    bool bias;                   /* CONV, CONV_TRANSPOSE, LINEAR */
    bool has_act;                /* CONV, LINEAR, BATCHNORM: apply `act` after */
    clnet_conv_params conv;
    clnet_pool_params pool;
    clnet_act_params act;        /* ACTIVATION, or fused per has_act */
    clnet_lrn_params lrn;
    float dropout_p;             /* DROPOUT */
    float bn_eps, bn_momentum;   /* BATCHNORM: 0 = 1e-5, 0.1 (PyTorch's) */
    bool bn_zero_gamma;          /* BATCHNORM: initialise the scale to 0 instead of 1, for
                                    the last norm of a residual branch (Goyal et al. 2017;
                                    torchvision's zero_init_residual) */
    int slice_start, slice_count; /* SLICE: the channel range taken, count >= 1 */
} clnet_layer_spec;

/* Creates an empty network whose input has per-image shape `input` (C, H, W)
 * or (C, W) or (F) — layer 0. ctx is used for errors. Caller frees. Errors:
 * CLNET_ERR_INVALID_ARGUMENT, CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_net_new(clnet_ctx *ctx, const clnet_shape *input, clnet_net **out);

/* Appends a layer, inferring its output shape from its inputs (errors name
 * the layer: CLNET_ERR_SHAPE, CLNET_ERR_INVALID_PARAMS, or
 * CLNET_ERR_INVALID_ARGUMENT for an unknown `from` or duplicate name).
 * *id (may be NULL) receives the new layer's id. */
clnet_status clnet_net_add(clnet_net *net, const clnet_layer_spec *spec, int *id);

/* Releases the network and all its device memory. NULL is ignored. */
void clnet_net_free(clnet_net *net);

/* ---- cfg files --------------------------------------------------------
 * A Darknet-style INI text: a [net] section (input = CxHxW, and optional
 * training defaults: batch, epochs, learning_rate, momentum, weight_decay,
 * optimizer = sgd|adam), then one section per layer: [conv], [convt],
 * [maxpool], [avgpool], [globalavgpool], [globalmaxpool], [adaptiveavgpool],
 * [activation], [batchnorm], [lrn], [dropout], [linear], [add], [mul],
 * [concat], [flatten], [softmax], [slice], [rbf]. Keys are documented in
 * docs/cfg-format.md; `name =` names a layer, `from = a, b` lists inputs by
 * name or relative index (-1 = previous). Unknown sections or keys, bad
 * values and dangling references are errors naming the file, line and key. */
typedef struct clnet_cfg_overrides {
    int classes;                 /* > 0: output width of the last LINEAR/CONV/RBF classifier */
    clnet_shape input;           /* ndim > 0: replaces [net] input */
    float width;                 /* > 0: width multiplier of the cfg's scalable layers
                                    (MobileNet's alpha; see docs/cfg-format.md) */
    bool aux;                    /* build the sections marked `aux = 1` (auxiliary
                                    classifiers of GoogLeNet and Inception-v3) */
} clnet_cfg_overrides;

/* Builds a net from cfg text; `filename` only names the text in messages
 * and ov (may be NULL) overrides the cfg. On success *out is a new unbound
 * net the caller frees with clnet_net_free; on failure *out is NULL and
 * nothing leaks. Errors, the message giving "file:line: key: problem":
 * CLNET_ERR_FORMAT (syntax, unknown section or key, bad value, dangling
 * `from`), the statuses of clnet_net_add for a layer that does not fit
 * (CLNET_ERR_SHAPE, CLNET_ERR_INVALID_PARAMS), CLNET_ERR_INVALID_ARGUMENT
 * (bad override), CLNET_ERR_HOST_MEMORY. clnet_net_load_cfg reads the text
 * from `path` first (CLNET_ERR_IO when it cannot). */
clnet_status clnet_net_parse_cfg(clnet_ctx *ctx, const char *text, const char *filename,
                                 const clnet_cfg_overrides *ov, clnet_net **out);
clnet_status clnet_net_load_cfg(clnet_ctx *ctx, const char *path,
                                const clnet_cfg_overrides *ov, clnet_net **out);

/* ---- inspection -------------------------------------------------------- */
typedef struct clnet_layer_info {
    int id;
    const char *name;            /* owned by the net */
    clnet_layer_kind kind;
    clnet_shape out;             /* per image (no batch axis) */
    int64_t params;              /* trainable weights + biases (BN scale/shift included) */
    int64_t macs;                /* multiply-accumulates per image (conv, linear, rbf) */
    int64_t elementwise;         /* other per-image arithmetic: bias, BN, activations, pooling, adds */
    bool frozen;
} clnet_layer_info;

/* Number of layers, the input layer 0 included. */
int clnet_net_layer_count(const clnet_net *net);
/* Describes layer `id` (0 <= id < clnet_net_layer_count); info->name stays
 * valid until the net is truncated or freed. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (no such layer, NULL info). */
clnet_status clnet_net_layer_info(const clnet_net *net, int id, clnet_layer_info *info);
/* The forward op of layer `id` (CONV, CONV_TRANSPOSE or LINEAR) and the
 * per-image shape of its input `x` (no batch axis), the shape of its
 * weights `w` and whether it has a bias: enough to run or tune that layer
 * alone (clnet-bench tune --model). Any output pointer may be NULL.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (bad id, a layer of another kind). */
clnet_status clnet_net_layer_op(const clnet_net *net, int id, clnet_op *op, clnet_shape *x,
                                clnet_shape *w, bool *bias);
/* Totals over every layer. */
void clnet_net_counts(const clnet_net *net, int64_t *params, int64_t *macs, int64_t *elementwise);
/* Writes the per-layer table (id, name, kind, output shape, params, MACs)
 * and totals to `f` (the library itself never writes to stdout). */
void clnet_net_summary(const clnet_net *net, FILE *f);
/* Static text naming a layer kind as the summary shows it ("conv",
 * "linear", ...), or "?". */
const char *clnet_layer_kind_name(clnet_layer_kind kind);

/* ---- weights and device binding ---------------------------------------- */
typedef enum clnet_init {
    CLNET_INIT_HE_NORMAL = 0,    /* Kaiming normal, fan-in (default) */
    CLNET_INIT_HE_UNIFORM,
    CLNET_INIT_XAVIER_NORMAL,    /* Glorot */
    CLNET_INIT_XAVIER_UNIFORM
} clnet_init;

/* Allocates the net on `dev` for mini-batches of up to `max_batch` images
 * and initialises the weights from `seed` on the host, so the same seed
 * gives bit-identical weights on every device (biases and BN shift 0, BN
 * scale 1). Weights already trained (a net that was bound before, then
 * truncated and extended) keep their values. Errors: CLNET_ERR_DEVICE_MEMORY
 * naming the layer, and those of clnet_op_run. */
clnet_status clnet_net_bind(clnet_net *net, clnet_device *dev, int max_batch, clnet_init init,
                            uint64_t seed);

/* clnet_net_bind for inference only: no gradients and no optimizer state on
 * the device (state the net already has stays on the host for a later
 * clnet_net_bind), no batch-norm batch statistics or pooling argmax, and
 * layer outputs share device buffers wherever nothing downstream still
 * reads the earlier one (a liveness plan made here), so the net holds about
 * its weights, its peak set of live activations and one scratch buffer
 * (clnet_net_memory_bound). A forward in training mode and clnet_net_step
 * then fail with CLNET_ERR_INVALID_ARGUMENT. Errors: as clnet_net_bind. */
clnet_status clnet_net_bind_inference(clnet_net *net, clnet_device *dev, int max_batch,
                                      clnet_init init, uint64_t seed);
/* The parts of the bound on an inference-only net's device memory: bytes of
 * weights (parameters, and weights with a batch norm folded in once an
 * inference forward made them), of the largest set of layer outputs live at
 * once at max_batch (as planned by clnet_net_bind_inference; 0 after
 * clnet_net_bind, which keeps every output), and of the net's scratch
 * buffers. Any pointer may be NULL; all 0 while unbound. */
void clnet_net_memory_bound(const clnet_net *net, size_t *weights, size_t *activations,
                            size_t *workspace);
/* Bytes of device memory held by the tensors the net allocated: outputs,
 * gradients, parameters (and batch-norm-folded copies), optimizer state and
 * scratch, each storage counted
 * once however many views share it (the backends' own workspaces are not
 * included). 0 while the net is unbound. It grows at the first backward
 * (labels, losses) and the first step (optimizer state), and never shrinks
 * while bound, so read after those it is the net's peak. */
size_t clnet_net_device_bytes(const clnet_net *net);

/* Copies parameter `index` of layer `id` into `dst`: for CONV,
 * CONV_TRANSPOSE and LINEAR 0 = weight, 1 = bias (when the layer has one);
 * for BATCHNORM 0 = gamma (scale), 1 = beta (shift), 2 = running mean,
 * 3 = running variance. *shape (may be NULL) receives the parameter's shape
 * (weights as the ops take them, e.g. (K, C/groups, KH, KW)). dst may be
 * NULL to ask for the shape only; otherwise it holds `count` floats, which
 * must be the shape's element count. A bound net's values are read from the
 * device after the work queued before. Errors: CLNET_ERR_INVALID_ARGUMENT
 * (no such layer or parameter, count mismatch, a net neither bound nor
 * loaded), those of clnet_tensor_read. */
clnet_status clnet_net_param_read(clnet_net *net, int id, int index, clnet_shape *shape,
                                  float *dst, size_t count);

/* Training mode (batch-norm batch statistics and running-statistics
 * updates, dropout on) or inference (the default). Takes effect at the next
 * forward. */
void clnet_net_set_training(clnet_net *net, bool training);
/* Freezes (or frees again) the parameters of layers first..last
 * (inclusive): clnet_net_step leaves frozen parameters alone, and the
 * backward pass computes no gradient below the first trainable layer.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (a range outside the net). */
clnet_status clnet_net_freeze(clnet_net *net, int first, int last, bool frozen);
/* Drops every layer after `last` (transfer learning: replace the head, then
 * clnet_net_add new layers and clnet_net_bind again); the kept layers keep
 * their weights, and the net is unbound (device memory released) until it
 * is bound again. Errors: CLNET_ERR_INVALID_ARGUMENT (no such layer, or a
 * kept layer reads a dropped one). */
clnet_status clnet_net_truncate(clnet_net *net, int last);

/* ---- running ----------------------------------------------------------- */
typedef enum clnet_loss {
    CLNET_LOSS_SOFTMAX_XENT = 0, /* classification: labels are class indices */
    CLNET_LOSS_MSE = 1           /* regression: targets have the output's shape */
} clnet_loss;

/* Chooses the loss of clnet_net_backward (default: softmax cross-entropy
 * without smoothing). label_smoothing applies to SOFTMAX_XENT only. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (unknown loss, smoothing outside [0, 1)). */
clnet_status clnet_net_set_loss(clnet_net *net, clnet_loss loss, float label_smoothing);

/* Runs the net on n <= max_batch images (dense NCHW floats on the host) and
 * leaves the output on the device; returns once the work is queued (x may
 * be reused at once). Errors: CLNET_ERR_INVALID_ARGUMENT (unbound net, n
 * outside 1..max_batch, NULL x), and those of clnet_op_run, naming the
 * layer. */
clnet_status clnet_net_forward(clnet_net *net, const float *x, int n);
/* Copies the last forward's output (n * output elements, count must equal
 * that) to the host, waiting for the work that produces it. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (no forward yet, count mismatch), those of
 * clnet_tensor_read. */
clnet_status clnet_net_read_output(clnet_net *net, float *y, size_t count);
/* Backward pass of the last forward against labels (SOFTMAX_XENT: n int32
 * class indices, each checked to be in 0..K-1) or targets (MSE: n * output
 * elements), accumulating nothing: gradients are overwritten. *loss (may be
 * NULL) receives the mean loss, which waits for the device. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (no training-mode forward before it, a missing
 * or out-of-range label, the net ends in a layer without a backward pass),
 * those of clnet_op_run naming the layer. */
clnet_status clnet_net_backward(clnet_net *net, const int32_t *labels, const float *targets,
                                float *loss);

/* Per-layer timing, like Darknet's. While on, clnet_net_forward,
 * clnet_net_backward and clnet_net_step wait for the device after every
 * layer (a convolution that ran fused with the layers after it carries their
 * time), after the loss and after the optimizer step, and add the wall time
 * to that piece's total: slower, but it shows where a step's time goes.
 * Switching it (on or off) zeroes the totals. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL net). */
clnet_status clnet_net_set_profiling(clnet_net *net, bool enabled);
/* Milliseconds spent in layer `id`'s forward and backward passes since
 * profiling was switched on (layer 0's forward: uploading the input). Either
 * pointer may be NULL. Errors: CLNET_ERR_INVALID_ARGUMENT (no such layer). */
clnet_status clnet_net_layer_time(const clnet_net *net, int id, double *forward_ms,
                                  double *backward_ms);
/* Milliseconds spent in the loss (with its gradient) and in the optimizer
 * steps since profiling was switched on. Either
 * pointer may be NULL. */
void clnet_net_profile_totals(const clnet_net *net, double *loss_ms, double *step_ms);

typedef enum clnet_optim_kind { CLNET_OPTIM_SGD = 0, CLNET_OPTIM_ADAM = 1 } clnet_optim_kind;
typedef enum clnet_schedule {
    CLNET_SCHED_CONSTANT = 0,
    CLNET_SCHED_STEP,            /* lr * gamma^(floor(epoch / step_epochs)) */
    CLNET_SCHED_COSINE           /* to 0 at `epochs` */
} clnet_schedule;

typedef struct clnet_optimizer {
    clnet_optim_kind kind;
    float lr;
    float momentum;              /* SGD */
    bool nesterov;               /* SGD */
    float weight_decay;          /* L2 for SGD/Adam; decoupled for AdamW */
    bool decoupled;              /* Adam -> AdamW */
    float beta1, beta2, eps;     /* Adam; 0 = 0.9, 0.999, 1e-8 */
    clnet_schedule schedule;
    float gamma;                 /* STEP */
    int step_epochs;             /* STEP */
    int epochs;                  /* COSINE horizon */
    float warmup_epochs;         /* linear warm-up from 0 */
} clnet_optimizer;

/* The training defaults of a cfg text's [net] section: batch (may be NULL),
 * and opt->epochs, lr, momentum, weight_decay, kind (optimizer). Each value
 * the section does not set is left as the caller preset it. Checks the
 * text's syntax and the [net] section only. Errors: CLNET_ERR_FORMAT as
 * clnet_net_parse_cfg, CLNET_ERR_INVALID_ARGUMENT. */
clnet_status clnet_cfg_train_defaults(clnet_ctx *ctx, const char *text, const char *filename,
                                      int *batch, clnet_optimizer *opt);

/* Learning rate of the schedule at fractional epoch `epoch`. */
float clnet_optimizer_lr(const clnet_optimizer *opt, double epoch);
/* One optimizer step with the gradients of the last backward, at learning
 * rate `lr` (usually clnet_optimizer_lr). Frozen layers are skipped. */
clnet_status clnet_net_step(clnet_net *net, const clnet_optimizer *opt, float lr);

/* ---- training and evaluation ------------------------------------------- */
typedef struct clnet_eval {
    double loss;                 /* mean loss; NaN when nonfinite > 0 */
    double top1, top5;           /* accuracy in [0, 1]: a tie between the label and another
                                    class goes to the lower class index, as argmax does */
    int64_t count;
    int64_t nonfinite;           /* output rows holding a NaN or an infinity, each counted
                                    as a miss: the net diverged, its accuracy means nothing */
    double seconds;
    double images_per_second;
    double input_wait_seconds;   /* time the device loop waited for the host input pipeline */
} clnet_eval;

typedef struct clnet_train_opts {
    int batch;
    const clnet_augment *augment; /* may be NULL */
    const float *mean, *std;     /* per-channel normalisation; may be NULL */
    uint64_t seed;               /* shuffling and augmentation */
    int epoch;                   /* 0-based: selects the shuffle, the lr schedule */
    int limit;                   /* > 0: use only the first `limit` examples */
    int threads;                 /* host data threads; 0 = 1 */
    int multi_crop_pad;          /* evaluate: > 0 averages 10 views (centre and 4 corner
                                    crops of the image zero-padded by this, and mirrors) */
} clnet_train_opts;

/* One epoch over `ds` (shuffled, augmented, batched on host threads that
 * overlap device compute). *stats gets training loss and top-1/5 accuracy
 * over the epoch and throughput. */
clnet_status clnet_net_train_epoch(clnet_net *net, const clnet_dataset *ds,
                                   const clnet_train_opts *opts, const clnet_optimizer *opt,
                                   clnet_eval *stats);
/* Evaluates in inference mode (no augmentation). */
clnet_status clnet_net_evaluate(clnet_net *net, const clnet_dataset *ds,
                                const clnet_train_opts *opts, clnet_eval *stats);

/* Evaluates an ensemble: the softmax outputs of `nnets` nets (same input and
 * class count, bound to devices) are averaged before scoring. */
clnet_status clnet_net_evaluate_ensemble(clnet_net *const *nets, int nnets, const clnet_dataset *ds,
                                     const clnet_train_opts *opts, clnet_eval *stats);

/* ---- the model zoo -----------------------------------------------------
 * Named networks whose cfg files are embedded in the library (one source of
 * truth: the cfg file). */
clnet_status clnet_net_zoo(clnet_ctx *ctx, const char *name, const clnet_cfg_overrides *ov,
                           clnet_net **out);
/* Names of the zoo's models, NULL-terminated, static. */
const char *const *clnet_zoo_names(void);
/* The embedded cfg text of zoo model `name` (static), or NULL if there is
 * no such model. */
const char *clnet_zoo_cfg(const char *name);

/* ---- checkpoints -------------------------------------------------------- 
 * A versioned little-endian binary file (docs/checkpoint-format.md): magic,
 * version, per-layer records (name, kind, tensor shapes, data) for weights,
 * batch-norm running statistics and optimizer state, then a CRC-32 of
 * everything before it. Saving writes "<path>.tmp" under a lock (concurrent
 * saves of one path take turns; a killed save's temporary is reused by the
 * next, never accumulated) then renames it, so a crash never destroys the
 * previous file; a failed save (CLNET_ERR_IO: a full disk, a file-size limit
 * - ignore SIGXFSZ to get EFBIG rather than the signal) removes the
 * temporary and leaves the previous file intact. Loading checks everything
 * before changing the net: a different architecture fails with
 * CLNET_ERR_FORMAT naming the first mismatching layer; a damaged file with
 * CLNET_ERR_FORMAT naming the problem; a path that is not a regular file (a
 * directory, a FIFO) with CLNET_ERR_IO "not a regular file", without
 * blocking. */
clnet_status clnet_net_save(clnet_net *net, const char *path);
clnet_status clnet_net_load(clnet_net *net, const char *path);

#ifdef __cplusplus
}
#endif
#endif
