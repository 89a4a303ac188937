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
    CLNET_LAYER_UNPOOL,          /* max-unpooling (CLNET_OP_UNPOOL) at the argmax of the max
                                    POOL layer `switches`, whose output has this layer's
                                    input shape: the output has that pooling's input shape */
    CLNET_LAYER_SHUFFLE,         /* ShuffleNet's channel shuffle in shuffle_groups groups
                                    (CLNET_OP_CHANNEL_SHUFFLE); no parameters */
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
    bool has_act;                /* CONV, CONV_TRANSPOSE, LINEAR, BATCHNORM: apply `act`
                                    after; CLNET_ERR_INVALID_PARAMS elsewhere */
    clnet_conv_params conv;
    clnet_pool_params pool;
    clnet_act_params act;        /* ACTIVATION, or fused per has_act */
    clnet_lrn_params lrn;
    float dropout_p;             /* DROPOUT */
    float bn_eps, bn_momentum;   /* BATCHNORM: 0 = 1e-5, 0.1 (PyTorch's) */
    bool bn_zero_gamma;          /* BATCHNORM: initialise the scale to 0 instead of 1, for
                                    the last norm of a residual branch (Goyal et al. 2017;
                                    torchvision's zero_init_residual) */
    bool bn_frozen_scale;        /* BATCHNORM: the scale stays 1 (a bias-only batch norm):
                                    its learning-rate multiplier is 0 */
    bool dirac;                  /* CONV: after the random initialisation, filter i < C_in
                                    (i < K) becomes the identity on channel i: one at the
                                    centre tap, zero elsewhere (PyTorch's dirac_) */
    int slice_start, slice_count; /* SLICE: the channel range taken, count >= 1 */
    int switches;                /* UNPOOL: id of an earlier max POOL layer */
    int shuffle_groups;          /* SHUFFLE: >= 1, divides the channels */
    bool rbf_digit_centres;      /* RBF: the centres are fixed 7x12 bitmaps of the ten digits
                                    (+1 ink, -1 paper; LeCun et al. 1998), not learnt: their
                                    learning-rate multiplier is 0. Needs 10 outputs of 84
                                    inputs */
    float loss_weight;           /* finite, >= 0; > 0 makes the layer an auxiliary output
                                    (GoogLeNet's side classifiers): clnet_net_backward adds
                                    loss_weight times the softmax cross-entropy of its
                                    output against the same labels to the loss and its
                                    gradient, and an inference forward skips the layers
                                    that only such outputs need. Ignored on the layer the
                                    loss reads (the net's output) */
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
 * [maxpool], [avgpool] (one per pooling mode) and [globalmaxpool] etc.,
 * [adaptiveavgpool],
 * [activation], [batchnorm], [lrn], [dropout], [linear], [add], [mul],
 * [concat], [flatten], [softmax], [slice], [rbf], [unpool]. Keys are documented in
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
/* Copies the definition of layer `id` into *spec: as it was added, with
 * from[] holding absolute layer ids and the defaults filled in. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL argument, no such layer). */
clnet_status clnet_net_layer_spec(const clnet_net *net, int id, clnet_layer_spec *spec);
/* Copies the output of layer `id` in the last forward (n images of its
 * per-image shape: count must be n times its element count) to the host,
 * waiting for the work that produces it; with clnet_net_read_switches, what
 * tools that look inside a net read (clnet-bench visualize). Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL argument, no such layer, no forward yet,
 * count mismatch, a net bound with clnet_net_bind_inference, whose layers
 * share output buffers, a layer only auxiliary outputs need after an
 * inference forward, which skips it), CLNET_ERR_UNSUPPORTED (the layer ran fused into a
 * later one that holds the result: the message names it), those of
 * clnet_tensor_read. */
clnet_status clnet_net_read_layer(clnet_net *net, int id, float *dst, size_t count);
/* Copies the switches of max POOL layer `id` in the last forward: for each
 * output element, the index within its input plane (h * W + w) of the
 * maximum, as CLNET_OP_UNPOOL takes them (count as for
 * clnet_net_read_layer). Only a training-mode forward keeps them (set the
 * layers to CLNET_LAYER_MODE_INFERENCE to keep batch norm and dropout as at
 * inference), or any forward when an UNPOOL layer reads them. Errors: as
 * clnet_net_read_layer, and CLNET_ERR_INVALID_ARGUMENT for a layer that is
 * not a max pooling or kept no switches. */
clnet_status clnet_net_read_switches(clnet_net *net, int id, int32_t *dst, size_t count);
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
    CLNET_INIT_XAVIER_UNIFORM,
    CLNET_INIT_TORCH_DEFAULT     /* uniform on +-1/sqrt(fan-in), PyTorch's default for
                                    Conv2d and Linear weights */
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
 * forward. clnet_net_train_epoch switches training on for its duration and
 * clnet_net_evaluate switches it off; both restore the mode they found.
 * Layers follow the net's mode as clnet_net_set_layer_mode says. */
void clnet_net_set_training(clnet_net *net, bool training);
/* Freezes (or frees again) the parameters of layers first..last
 * (inclusive): clnet_net_step leaves frozen parameters alone, and the
 * backward pass computes no gradient below the first trainable layer.
 * Frozen means frozen: a frozen batch norm also runs in inference mode
 * (normalising with its running statistics and leaving them unchanged) in
 * a training forward, unless its layer mode is CLNET_LAYER_MODE_TRAINING.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (a range outside the net). */
clnet_status clnet_net_freeze(clnet_net *net, int first, int last, bool frozen);
/* Multiplies the learning rate of parameter `index` of layer `id` (indices
 * as clnet_net_param_read) by lr_mult and its weight decay by decay_mult in
 * every clnet_net_step after this call: per-group learning rates, such as
 * airbench's 64x for batch-norm shifts with decay_mult 1/64 (the same
 * absolute decay). lr_mult 0 freezes the one parameter: the backward pass
 * of a convolution or linear layer then computes no gradient for it, and
 * its gradient tensor (clnet_net_grad) holds zeros. Both start at 1
 * (gamma of a bn_frozen_scale layer: lr_mult 0). Errors:
 * CLNET_ERR_INVALID_ARGUMENT (no such layer or trainable parameter, a
 * multiplier negative or not finite). */
clnet_status clnet_net_set_param_lr(clnet_net *net, int id, int index, float lr_mult,
                                    float decay_mult);

/* How a layer behaves while the net is in training mode (in inference mode
 * every layer runs in inference mode). Matters for batch norm and dropout. */
typedef enum clnet_layer_mode {
    CLNET_LAYER_MODE_AUTO = 0,   /* the net's mode, but a frozen batch norm runs in
                                    inference mode (the default) */
    CLNET_LAYER_MODE_INFERENCE,  /* always inference: batch norm uses and keeps its running
                                    statistics, dropout passes everything */
    CLNET_LAYER_MODE_TRAINING    /* the net's mode, frozen or not */
} clnet_layer_mode;

/* Sets the mode of layers first..last (inclusive). A batch norm in
 * inference mode passes gradients to the layers below it, but computes no
 * gradient of its own scale and shift: backward fails with
 * CLNET_ERR_UNSUPPORTED while such a layer is not frozen. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (a range outside the net, an unknown mode). */
clnet_status clnet_net_set_layer_mode(clnet_net *net, int first, int last, clnet_layer_mode mode);

/* Finds the layer named `name` (as in the cfg or clnet_layer_spec.name;
 * unnamed layers are "<kind><id>", e.g. "conv3") and stores its id in *id.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (NULL argument, no such layer: the
 * message names it). */
clnet_status clnet_net_find_layer(const clnet_net *net, const char *name, int *id);
/* Finds the classifier head: the last LINEAR, CONV or RBF layer (the one a
 * cfg's `classes` override resizes) and stores its id in *id. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL argument, a net without such a layer). */
clnet_status clnet_net_find_head(const clnet_net *net, int *id);
/* Drops every layer after `last` (transfer learning: replace the head, then
 * clnet_net_add new layers and clnet_net_bind again); the kept layers keep
 * their weights, and the net is unbound (device memory released) until it
 * is bound again. Errors: CLNET_ERR_INVALID_ARGUMENT (no such layer, or a
 * kept layer reads a dropped one). */
clnet_status clnet_net_truncate(clnet_net *net, int last);

/* ---- input normalisation ----------------------------------------------
 * A net may own the normalisation of its input, x' = (x - mean[c]) / std[c]
 * for each input channel c. Once set, clnet_net_forward applies it on every
 * device (to a host copy: the caller's x is never changed), and so do
 * clnet_net_train_epoch and clnet_net_evaluate; checkpoints keep it (format
 * version 2), so a net loaded in a fresh process evaluates as it was trained
 * without the caller repeating any statistics. A cfg sets it with the [net]
 * keys `mean = ...` and `std = ...` (one value per input channel).
 * It is computed on the host, bit for bit as a caller normalising by hand
 * would: clnet_net_train_epoch and clnet_net_evaluate do it on their input
 * pipeline's worker threads, overlapping the device, clnet_net_forward on
 * the calling thread. It is not folded into the first layer's weights:
 * that is exact only for a first convolution without padding (a padded one
 * would pad the raw input with 0 where the normalised input has 0, i.e. a
 * raw value of mean[c]: the border outputs would differ), and a device-side
 * scale by 1/std would round differently from the division. */

/* Sets the net's normalisation: mean and std hold one float per input
 * channel (dimension 0 of the input shape); either may be NULL (0 and 1).
 * Both NULL removes it. The values are copied. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL net, a std not > 0 or a non-finite
 * value, naming the channel), CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_net_set_input_norm(clnet_net *net, const float *mean, const float *std);
/* True when the net normalises its input; then mean and std (each may be
 * NULL) receive one float per input channel. */
bool clnet_net_input_norm(const clnet_net *net, float *mean, float *std);

/* Where training stands, kept in checkpoints (version 2) so that a run can
 * resume exactly: clnet_net_train_epoch records epochs_done = opts->epoch + 1
 * and seed = opts->seed after each successful epoch; best_accuracy is the
 * caller's (e.g. the best validation top-1 so far, for "save the best"). A
 * new net, and one loaded from a version 1 file, has all zeros. */
typedef struct clnet_train_state {
    int epochs_done;             /* complete epochs: the next epoch index to run */
    uint64_t seed;               /* the run's seed: shuffles and augmentation follow
                                    from (seed, epoch), dropout from the net's forwards */
    float best_accuracy;         /* caller's bookkeeping; 0 = none yet */
} clnet_train_state;

/* Reads and replaces the net's training state. Errors of the setter:
 * CLNET_ERR_INVALID_ARGUMENT (NULL, epochs_done < 0). */
void clnet_net_train_state(const clnet_net *net, clnet_train_state *state);
clnet_status clnet_net_set_train_state(clnet_net *net, const clnet_train_state *state);

/* ---- running ----------------------------------------------------------- */
typedef enum clnet_loss {
    CLNET_LOSS_SOFTMAX_XENT = 0, /* classification: labels are class indices */
    CLNET_LOSS_MSE = 1,          /* regression: targets have the output's shape */
    CLNET_LOSS_MMI = 2           /* classification by penalties (smaller is better, as the
                                    outputs of RBF units): LeCun et al. 1998's eq. 9, the
                                    MMI_LOSS op; labels are class indices */
} clnet_loss;

/* Chooses the loss of clnet_net_backward (default: softmax cross-entropy
 * without smoothing). label_smoothing applies to SOFTMAX_XENT only. With
 * CLNET_LOSS_MMI the net's outputs are penalties: training and evaluation
 * (clnet_net_train_epoch, clnet_net_evaluate) rank classes by the smallest
 * penalty and report as the evaluation loss the cross-entropy of the
 * softmax of the negated penalties (the training loss is eq. 9's). Errors:
 * CLNET_ERR_INVALID_ARGUMENT (unknown loss, smoothing outside [0, 1)). */
clnet_status clnet_net_set_loss(clnet_net *net, clnet_loss loss, float label_smoothing);

/* The MMI loss's rubbish-class penalty j (see CLNET_OP_MMI_LOSS), until set
 * CLNET_MMI_J_DEFAULT. Errors: CLNET_ERR_INVALID_ARGUMENT (NULL net, j
 * outside (0, 80]). */
#define CLNET_MMI_J_DEFAULT 10.0f
clnet_status clnet_net_set_mmi_j(clnet_net *net, float j);

/* Whether clnet_net_backward's loss is summed over the batch instead of
 * averaged (the default): a sum makes every gradient n times larger, as
 * PyTorch's reduction='sum'. The loss it reports stays the mean. */
void clnet_net_set_loss_sum(clnet_net *net, bool sum);

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
 * NULL) receives the mean loss, which waits for the device: the output's,
 * plus loss_weight times each auxiliary output's (clnet_layer_spec), which
 * need the softmax cross-entropy loss (else CLNET_ERR_UNSUPPORTED). Errors:
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
    CLNET_SCHED_COSINE,          /* to 0 at `epochs` */
    CLNET_SCHED_MULTISTEP,       /* lr * gamma^(number of points[].epoch <= epoch) */
    CLNET_SCHED_LINEAR           /* lr * the piecewise-linear interpolation of
                                    points[].factor over points[].epoch, held constant
                                    before the first point and after the last */
} clnet_schedule;

#define CLNET_SCHED_MAX_POINTS 8

/* A milestone (MULTISTEP) or a knot (LINEAR); epochs may be fractional
 * (a fixed iteration i at n iterations per epoch is epoch i / n). */
typedef struct clnet_sched_point {
    double epoch;
    float factor;                /* LINEAR only */
} clnet_sched_point;

/* An optimizer and its learning-rate schedule. Zero-initialise, then set
 * kind and lr at least: every other zero is the default given here.
 * clnet_net_step and clnet_net_train_epoch refuse values outside the ranges
 * with CLNET_ERR_INVALID_ARGUMENT naming the field. */
typedef struct clnet_optimizer {
    clnet_optim_kind kind;       /* SGD (default) or ADAM */
    float lr;                    /* base learning rate, finite, >= 0 (0 trains nothing) */
    float momentum;              /* SGD, [0, 1); 0 = plain SGD (no velocity state) */
    bool nesterov;               /* SGD: Nesterov momentum; default off */
    float weight_decay;          /* >= 0, finite: L2 for SGD/Adam, decoupled for AdamW;
                                    default 0 */
    bool decoupled;              /* Adam -> AdamW; default off */
    float beta1, beta2, eps;     /* Adam, beta1 and beta2 in [0, 1), eps >= 0; 0 = 0.9,
                                    0.999, 1e-8 */
    clnet_schedule schedule;     /* default CONSTANT */
    float gamma;                 /* STEP: factor per step, finite, >= 0 (0 here: the lr drops
                                    to 0 after the first step) */
    int step_epochs;             /* STEP: epochs per step, >= 0; 0 = the schedule is constant */
    int epochs;                  /* COSINE horizon, >= 0; 0 = the schedule is constant */
    float warmup_epochs;         /* linear warm-up from 0 over this many epochs, finite,
                                    >= 0; default 0 = none */
    int npoints;                 /* MULTISTEP, LINEAR: points used, 0..CLNET_SCHED_MAX_POINTS */
    clnet_sched_point points[CLNET_SCHED_MAX_POINTS]; /* epochs finite, >= 0, increasing;
                                    factors finite, >= 0 */
    const struct clnet_es_params *es; /* clnet_net_train_epoch: non-NULL estimates each
                                    step's gradient by this evolution strategy (clnet/es.h)
                                    instead of backpropagation; the step above applies it.
                                    Not with data-parallel training. Default NULL */
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

/* ---- lookahead: an exponential moving average of the weights -----------
 * Every `every` steps, each parameter (batch-norm running statistics
 * included) of the net becomes avg = decay * avg + (1 - decay) * w, copied
 * back into the net, with decay = base * (steps / total_steps)^power
 * (airbench94: every 5, base 0.95^5, power 3). */
typedef struct clnet_lookahead clnet_lookahead;

/* Starts an average at the net's current values (a bound net). Caller
 * frees. Errors: CLNET_ERR_INVALID_ARGUMENT (unbound net, every < 1,
 * total_steps < 1, base outside [0, 1], power < 0), CLNET_ERR_HOST_MEMORY,
 * those of reading parameters. */
clnet_status clnet_lookahead_new(clnet_net *net, int every, double base, double power,
                                 int64_t total_steps, clnet_lookahead **out);
/* Counts one optimizer step; on every `every`-th one applies the update
 * above. clnet_net_train_epoch calls it after each step when
 * clnet_train_opts.lookahead is set. Errors: those of reading and writing
 * parameters. */
clnet_status clnet_lookahead_step(clnet_lookahead *la, clnet_net *net);
/* Mixes with an explicit decay now (decay 1 copies the average into the net,
 * as airbench does after the last step). Errors: CLNET_ERR_INVALID_ARGUMENT
 * (decay outside [0, 1], a net of another shape), those of reading and
 * writing parameters. */
clnet_status clnet_lookahead_update(clnet_lookahead *la, clnet_net *net, double decay);
/* Steps counted so far. */
int64_t clnet_lookahead_steps(const clnet_lookahead *la);
/* Releases it; NULL is ignored. */
void clnet_lookahead_free(clnet_lookahead *la);

/* ---- initialisers computed from data ------------------------------------ */

/* Sets the weights of CONV layer `id` (kh x kw kernel, groups 1, C input
 * channels, K = 2 * C * kh * kw filters) to a patch-whitening transform of
 * `images` (n dense CHW float images of the net's input shape, already
 * normalised): with the covariance S = P^T P / p of all p kh x kw x C
 * patches (every position, stride 1, not mean-centred), filter i < K/2 is
 * S's eigenvector of the i-th smallest eigenvalue l_i divided by
 * sqrt(l_i + eps), and filter K/2 + i its negative (airbench94: 2x2 on 5,000
 * images, eps 5e-4). The bias is left alone. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (no such conv, a shape or count that does not
 * fit, a conv not on the net's input, n < 1, eps <= 0, a patch over 256
 * values), CLNET_ERR_HOST_MEMORY, those of writing parameters. */
clnet_status clnet_net_init_whitening(clnet_net *net, int id, const float *images, int64_t n,
                                      float eps);

/* Eigen-decomposition of a symmetric n x n matrix `a` (row-major doubles,
 * destroyed) by cyclic Jacobi rotations: eigenvalues ascending into
 * values[n], the matching unit eigenvectors as the rows of vectors[n * n].
 * Errors: CLNET_ERR_INVALID_ARGUMENT (n < 1, NULL, a non-finite entry),
 * CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_symmetric_eigen(double *a, int n, double *values, double *vectors);

/* ---- test-time augmentation ----------------------------------------------
 * The views of each test image whose outputs evaluation sums with relative
 * weights (each weight divided by the sum of all). View v is the image
 * shifted so that out(y, x) = in(y + dy, x + dx) (outside the image: its
 * mirror across the border when `reflect`, else zero), then mirrored
 * left-right when `flip`. Build one with clnet_tta_crops or
 * clnet_tta_airbench, or fill it in: clnet_net_evaluate refuses nviews
 * outside 1..CLNET_TTA_MAX_VIEWS and weights that are negative, not finite
 * or all zero (CLNET_ERR_INVALID_ARGUMENT). */
#define CLNET_TTA_MAX_VIEWS 18   /* (image + 4 corner crops + 4 shifts) x mirror */

typedef struct clnet_tta_view {
    int dy, dx;                  /* shift, pixels */
    bool flip;                   /* mirrored left-right after the shift */
    float weight;                /* relative weight, finite, >= 0 */
} clnet_tta_view;

typedef struct clnet_tta {
    int nviews;
    clnet_tta_view views[CLNET_TTA_MAX_VIEWS];
    bool reflect;                /* reflect padding (PyTorch's 'reflect'), else zeros */
    bool logits;                 /* weight the raw outputs (logits) and take the softmax of
                                    their sum, else weight the softmax probabilities */
} clnet_tta;

/* The classic views with equal weights, zero fill and softmax probabilities
 * averaged: the image; with crop_pad > 0 its 4 corner crops after
 * zero-padding by crop_pad (top-left, top-right, bottom-left,
 * bottom-right); with translate > 0 the image shifted by that many pixels
 * left, right, up and down; with mirror every one of those also mirrored
 * (leave it off for digits). crop_pad 4 and mirror are the 10-view
 * multi-crop of clnet_train_opts.multi_crop_pad. Negative counts are taken
 * as 0. */
clnet_tta clnet_tta_crops(int crop_pad, int translate, bool mirror);

/* airbench94's test-time augmentation at `level`: 0 the image alone, 1 the
 * image and its mirror (0.5 each), 2 also the image translated by one pixel
 * up-left and down-right with their mirrors (weights 0.25, 0.25 and 0.125 x
 * 4), reflect padding, logits averaged. Levels outside 0..2 give level 0. */
clnet_tta clnet_tta_airbench(int level);

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
    bool stopped;                /* train_epoch: the progress callback stopped it early; the
                                    figures cover the batches that ran */
} clnet_eval;

/* What clnet_net_train_epoch reports after each batch. */
typedef struct clnet_progress {
    int64_t batch;               /* 0-based index of the batch just finished */
    int64_t batches;             /* batches in the epoch */
    int64_t images;              /* images trained on so far in this epoch */
    double loss;                 /* mean loss of this batch */
    double batch_seconds;        /* wall time of this batch, input wait included (the first
                                    batch of a run also compiles OpenCL programs) */
    double images_per_second;    /* this batch's images / batch_seconds */
} clnet_progress;

/* A per-batch progress callback: `user` is clnet_train_opts.progress_user.
 * Returning non-zero stops the epoch cleanly after this batch: the weights
 * keep the steps taken, clnet_net_train_epoch returns CLNET_OK with
 * stats->stopped set, and the training state is not advanced (the epoch is
 * not complete). Called on the caller's thread. */
typedef int (*clnet_progress_fn)(void *user, const clnet_progress *progress);

/* Options of training and evaluation. Zero-initialise, then set what you
 * need: every zero means the default given here. Out-of-range values are
 * CLNET_ERR_INVALID_ARGUMENT naming the field. */
typedef struct clnet_train_opts {
    int batch;                   /* images per step, 1..the bound max_batch; 0 = the
                                    max_batch the net was bound for */
    const clnet_augment *augment; /* training only; NULL = none */
    const float *mean, *std;     /* per-channel normalisation, or NULL. A net without its
                                    own takes these as its own in train_epoch (see
                                    clnet_net_set_input_norm); for a net with its own they
                                    must be NULL or equal to it (else
                                    CLNET_ERR_INVALID_ARGUMENT) */
    uint64_t seed;               /* shuffling and augmentation; any value (default 0) */
    int epoch;                   /* 0-based, >= 0: selects the shuffle, the lr schedule */
    int limit;                   /* >= 0; > 0: use only the first `limit` examples; 0 = all */
    int threads;                 /* host data threads, 0..64; 0 = 1 */
    int multi_crop_pad;          /* evaluate, >= 0: > 0 averages 10 views (centre and 4
                                    corner crops of the image zero-padded by this, and
                                    mirrors), the same as tta = clnet_tta_crops(pad, 0,
                                    true); 0 = the image alone */
    const float *pixel_mean;     /* C*H*W floats subtracted from every image after mean/std
                                    (He et al. 2016's per-pixel mean; see
                                    clnet_dataset_pixel_mean); NULL = none. Not with
                                    resize_height/resize_width */
    const clnet_tta *tta;        /* evaluate: the views to average; NULL = none (or
                                    multi_crop_pad's). Not with multi_crop_pad > 0 */
    clnet_lookahead *lookahead;  /* train: clnet_lookahead_step after every step; NULL = none */
    int64_t max_batches;         /* train, >= 0: > 0 stops the epoch after this many batches
                                    (the last, partial epoch of a fractional epoch count) */
    bool drop_last;              /* train: skip the last batch when it is not full */
    clnet_progress_fn progress;  /* train_epoch: called after every batch; NULL = none */
    void *progress_user;         /* passed to `progress` */
    int resize_height, resize_width; /* both 1..4096: every image (after augmentation and
                                    test-time views) is resized to this by
                                    clnet_image_resize on the host before the net sees it,
                                    e.g. 28x28 digits for a 227x227 AlexNet; both 0 (the
                                    default): none, the dataset's size must be the net's */
    int shard, shards;           /* train, data parallel across processes: 0 <= shard <
                                    shards; shards > 1 makes this call train on slice `shard`
                                    of `shards` consecutive, near-equal slices of every global
                                    batch of `batch` (>= shards) images, drops a last batch
                                    of fewer than `shards` images, and reports the share to
                                    the net's gradient exchange (clnet/parallel.h); the
                                    statistics cover this slice. Both 0: the whole batch */
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
 * batch-norm running statistics and optimizer state, the input
 * normalisation and the training state (version 2; version 1 files load
 * and leave those two alone), then a CRC-32 of everything before it. Saving writes "<path>.tmp" under a lock (concurrent
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

/* Transfer learning: loads the weights and batch-norm statistics of every
 * layer before `head` (usually clnet_net_find_head's) from checkpoint
 * `path`, and its input normalisation; layers head.. keep the values they
 * have (a bound net's, or a fresh initialisation at the next
 * clnet_net_bind of a net built and not bound yet). The file must hold the
 * same architecture, except that parameters of layers head.. may have
 * other dimensions (a classifier of another class count: build the net
 * with the new count, e.g. the cfg `classes` override). A fine-tune is a
 * new run: the optimizer state is dropped and the training state is left
 * as the net has it. Checks everything before changing the net. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL argument, head outside
 * 1..layer count - 1), CLNET_ERR_FORMAT (another architecture, naming the
 * first differing layer, and for a parameter both shapes; a damaged file),
 * CLNET_ERR_IO, and those of clnet_net_load. */
clnet_status clnet_net_load_backbone(clnet_net *net, const char *path, int head);

#ifdef __cplusplus
}
#endif
#endif
