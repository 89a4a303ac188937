/* train.c - the training loop and evaluation: a host input pipeline (worker
 * threads filling a ring of batch buffers while the device computes),
 * scoring from the logits read back each step, ensembles and multi-crop. */
#include "nn/nn_internal.h"
#include "nn/tta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#define RING 3
#define MAX_THREADS 16

/* ---- the input pipeline ---- */

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };

typedef struct slot {
    float *x;                  /* views * batch images */
    int32_t *labels;
    int64_t batch;             /* which batch it holds */
    int n;
    int global_n;              /* images of the global batch this slot holds a shard of
                                  (clnet_train_opts.shards); n when not sharded */
    int first;                 /* the shard's first image in the global batch; 0 */
    int state;
} slot;

typedef struct pipeline {
    const clnet_dataset *ds;
    const int64_t *order;      /* example indices, in the order they are used */
    int64_t count, nbatches;
    int batch;
    int shard, shards;         /* this process's slice of every batch; shards 0: all */
    const clnet_augment *aug;
    uint64_t aug_seed;
    const float *mean, *std;
    const float *pixel_mean;   /* or NULL */
    bool net_norm;             /* mean and std are the net's own: forward skips them */
    int views;                 /* test-time augmentation views; 1 = the image alone */
    clnet_tta tta;             /* evaluate: the views (nn_tta_resolve); training: none */
    int height, width;         /* of the images handed to the net: the dataset's, or resized */
    bool resize;
    size_t image;              /* floats per image handed to the net */
    size_t src_image;          /* floats per dataset image (before resizing) */

    slot slots[RING];
    mtx_t lock;
    cnd_t cond;
    int64_t next;              /* next batch a worker claims */
    bool stop;
    clnet_status error;
    thrd_t threads[MAX_THREADS];
    int nthreads;
    double wait_seconds;       /* the consumer's time blocked in pipeline_get */
} pipeline;

static void normalise(float *x, int c, size_t plane, const float *mean, const float *std)
{
    for (int ch = 0; ch < c; ch++) {
        float m = mean ? mean[ch] : 0.0f, s = std ? std[ch] : 1.0f;
        for (size_t i = 0; i < plane; i++)
            x[ch * plane + i] = (x[ch * plane + i] - m) / s;
    }
}

/* The views of test-time augmentation (nn_tta_resolve) at the dataset's
 * size, normalised by mean and std (may be NULL). View v of image i lands
 * at x[(v * n + i) * src_image]. */
static void make_views(const pipeline *p, const float *raw, float *x, int n, const float *mean,
                       const float *std)
{
    const clnet_dataset *ds = p->ds;
    size_t plane = (size_t)ds->height * ds->width;
    for (int v = 0; v < p->views; v++)
        for (int i = 0; i < n; i++) {
            float *dst = x + ((size_t)v * n + i) * p->src_image;
            nn_tta_view(raw + (size_t)i * p->src_image, dst, ds->channels, ds->height,
                        ds->width, p->tta.views[v].dy, p->tta.views[v].dx, p->tta.views[v].flip,
                        p->tta.reflect);
            normalise(dst, ds->channels, plane, mean, std);
        }
}

/* Subtracts the per-pixel mean from n images at the dataset's size. */
static void subtract_pixel_mean(const pipeline *p, float *x, size_t n)
{
    for (size_t i = 0; p->pixel_mean && i < n; i++)
        for (size_t j = 0; j < p->src_image; j++)
            x[i * p->src_image + j] -= p->pixel_mean[j];
}

/* The n images of a batch (each view of each) at the dataset's size,
 * normalised by mean and std (may be NULL), less the per-pixel mean, into
 * x. */
static clnet_status fill_images(const pipeline *p, const int64_t *idx, int n, float *x,
                                int32_t *labels, const float *mean, const float *std)
{
    /* Workers pass no context: its error record belongs to the consumer
     * thread, which reports a failed batch in pipeline_get. */
    const clnet_tta_view *v0 = &p->tta.views[0];
    if (p->views == 1 && v0->dy == 0 && v0->dx == 0 && !v0->flip) {
        clnet_status st = clnet_dataset_batch(NULL, p->ds, idx, n, p->aug, p->aug_seed, mean,
                                              std, x, labels);
        subtract_pixel_mean(p, x, (size_t)n);
        return st;
    }
    float *raw = malloc((size_t)n * p->src_image * sizeof *raw);
    if (!raw)
        return CLNET_ERR_HOST_MEMORY;
    clnet_status st = clnet_dataset_batch(NULL, p->ds, idx, n, NULL, 0, NULL, NULL, raw, labels);
    if (st == CLNET_OK) {
        make_views(p, raw, x, n, mean, std);
        subtract_pixel_mean(p, x, (size_t)n * (size_t)p->views);
    }
    free(raw);
    return st;
}

static clnet_status fill(const pipeline *p, slot *s, int64_t b)
{
    int64_t start = b * p->batch;
    int n = (int)(p->count - start < p->batch ? p->count - start : p->batch);
    s->global_n = n;
    s->first = 0;
    if (p->shards > 1) {
        /* consecutive near-equal slices, as a data-parallel group's */
        s->first = (int)((int64_t)n * p->shard / p->shards);
        n = (int)((int64_t)n * (p->shard + 1) / p->shards) - s->first;
        start += s->first;
    }
    const int64_t *idx = p->order + start;
    s->n = n;
    if (!p->resize)
        return fill_images(p, idx, n, s->x, s->labels, p->mean, p->std);
    /* normalised once resized: what the net is fed, as its forward would */
    size_t images = (size_t)p->views * (size_t)n;
    float *orig = malloc(images * p->src_image * sizeof *orig);
    if (!orig)
        return CLNET_ERR_HOST_MEMORY;
    clnet_status st = fill_images(p, idx, n, orig, s->labels, NULL, NULL);
    const clnet_dataset *ds = p->ds;
    for (size_t i = 0; st == CLNET_OK && i < images; i++) {
        float *dst = s->x + i * p->image;
        st = clnet_image_resize(orig + i * p->src_image, ds->channels, ds->height, ds->width,
                                dst, p->height, p->width);
        if (p->mean || p->std)
            normalise(dst, ds->channels, (size_t)p->height * p->width, p->mean, p->std);
    }
    free(orig);
    return st;
}

static int worker(void *arg)
{
    pipeline *p = arg;
    mtx_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->next < p->nbatches && p->slots[p->next % RING].state != SLOT_FREE)
            cnd_wait(&p->cond, &p->lock);
        if (p->stop || p->next >= p->nbatches)
            break;
        int64_t b = p->next++;
        slot *s = &p->slots[b % RING];
        s->state = SLOT_FILLING;
        s->batch = b;
        mtx_unlock(&p->lock);
        clnet_status st = fill(p, s, b);
        mtx_lock(&p->lock);
        if (st != CLNET_OK) {
            p->error = st;
            p->stop = true;
        } else {
            s->state = SLOT_READY;
        }
        cnd_broadcast(&p->cond);
    }
    mtx_unlock(&p->lock);
    return 0;
}

static void pipeline_free(pipeline *p)
{
    for (int i = 0; i < RING; i++) {
        free(p->slots[i].x);
        free(p->slots[i].labels);
    }
}

static void pipeline_stop(pipeline *p)
{
    mtx_lock(&p->lock);
    p->stop = true;
    cnd_broadcast(&p->cond);
    mtx_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        thrd_join(p->threads[i], NULL);
    cnd_destroy(&p->cond);
    mtx_destroy(&p->lock);
    pipeline_free(p);
}

/* Allocates the ring and starts the workers. On failure nothing is left
 * running or allocated. */
static clnet_status pipeline_start(clnet_ctx *ctx, pipeline *p, int threads)
{
    const clnet_dataset *ds = p->ds;
    p->src_image = (size_t)ds->channels * ds->height * ds->width;
    p->image = (size_t)ds->channels * p->height * p->width;
    p->nbatches = (p->count + p->batch - 1) / p->batch;
    for (int i = 0; i < RING; i++) {
        p->slots[i].x = malloc((size_t)p->views * p->batch * p->image * sizeof(float));
        p->slots[i].labels = malloc((size_t)p->batch * sizeof(int32_t));
        if (!p->slots[i].x || !p->slots[i].labels) {
            pipeline_free(p);
            return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "input pipeline: cannot allocate "
                              "%d batch buffers of %d images", RING, p->views * p->batch);
        }
    }
    if (mtx_init(&p->lock, mtx_plain) != thrd_success) {
        pipeline_free(p);
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "input pipeline: cannot create a mutex");
    }
    if (cnd_init(&p->cond) != thrd_success) {
        mtx_destroy(&p->lock);
        pipeline_free(p);
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "input pipeline: cannot create a "
                          "condition variable");
    }
    threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    for (p->nthreads = 0; p->nthreads < threads; p->nthreads++)
        if (thrd_create(&p->threads[p->nthreads], worker, p) != thrd_success) {
            pipeline_stop(p);
            return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "input pipeline: cannot start "
                              "thread %d", p->nthreads);
        }
    return CLNET_OK;
}

/* Waits for batch b; the slot stays the caller's until pipeline_release. */
static clnet_status pipeline_get(clnet_ctx *ctx, pipeline *p, int64_t b, slot **out)
{
    slot *s = &p->slots[b % RING];
    double t0 = clnet_now_ms() / 1e3;
    mtx_lock(&p->lock);
    while (!(s->state == SLOT_READY && s->batch == b) && !p->stop)
        cnd_wait(&p->cond, &p->lock);
    bool ready = s->state == SLOT_READY && s->batch == b;
    clnet_status error = p->error;
    mtx_unlock(&p->lock);
    p->wait_seconds += clnet_now_ms() / 1e3 - t0;
    *out = s;
    if (ready)
        return CLNET_OK;
    return clnet_fail(ctx, error != CLNET_OK ? error : CLNET_ERR_INTERNAL,
                      "input pipeline: batch %lld could not be prepared (%s)", (long long)b,
                      clnet_status_str(error));
}

static void pipeline_release(pipeline *p, slot *s)
{
    mtx_lock(&p->lock);
    s->state = SLOT_FREE;
    cnd_broadcast(&p->cond);
    mtx_unlock(&p->lock);
}

/* ---- scoring ---- */

typedef struct tally {
    double loss;
    int64_t top1, top5, count;
    int64_t nonfinite;         /* rows holding a NaN or an infinity */
} tally;

/* Scores one output row against its label. Ties are broken as argmax breaks
 * them, the first maximum winning: the label's rank counts the classes that
 * score above it plus those of a lower index that score the same, so a row
 * of equal scores is a top-1 hit only for label 0 and a net that outputs a
 * constant scores chance level, not 100%. A row holding a NaN or an
 * infinity ranks nothing: it is a miss, top-1 and top-5, and is counted. */
static void rank_hits(tally *t, const float *scores, int64_t k, int32_t label)
{
    t->count++;
    for (int64_t j = 0; j < k; j++) {
        if (!isfinite(scores[j])) {
            t->nonfinite++;
            return;
        }
    }
    float mine = scores[label];
    int64_t rank = 0;
    for (int64_t j = 0; j < k; j++)
        rank += scores[j] > mine || (j < label && scores[j] == mine);
    t->top1 += rank == 0;
    t->top5 += rank < 5;
}

/* log softmax of one row into out (k floats). */
static void log_softmax(const float *x, int64_t k, double *out)
{
    double m = x[0], sum = 0.0;
    for (int64_t j = 1; j < k; j++)
        m = x[j] > m ? x[j] : m;
    for (int64_t j = 0; j < k; j++)
        sum += exp((double)x[j] - m);
    double lse = m + log(sum);
    for (int64_t j = 0; j < k; j++)
        out[j] = (double)x[j] - lse;
}

void nn_penalties_to_scores(const clnet_net *net, float *out, size_t count)
{
    for (size_t i = 0; net->loss == CLNET_LOSS_MMI && i < count; i++)
        out[i] = -out[i];
}

/* LeCun et al. 1998's eq. 9 on scores z = -y: -z_label + log(exp(-j) +
 * sum exp(z)), the largest score taken out of the sum. */
static double mmi_row_loss(const clnet_net *net, const float *z, int64_t k, int32_t label)
{
    double j = nn_mmi_j(net), m = -j, sum = 0.0;
    for (int64_t i = 0; i < k; i++)
        m = z[i] > m ? z[i] : m;
    for (int64_t i = 0; i < k; i++)
        sum += exp((double)z[i] - m);
    return m - (double)z[label] + log(sum + exp(-j - m));
}

double nn_row_loss(const clnet_net *net, const float *y, int64_t k, int32_t label,
                       double *logp)
{
    if (net->loss == CLNET_LOSS_MMI)
        return mmi_row_loss(net, y, k, label);
    if (net->loss == CLNET_LOSS_MSE) {
        double sum = 0.0;
        for (int64_t j = 0; j < k; j++) {
            double d = (double)y[j] - (j == label ? 1.0 : 0.0);
            sum += d * d;
        }
        return sum / (double)k;
    }
    if (net->layers[net->nlayers - 1].spec.kind == CLNET_LAYER_SOFTMAX)
        for (int64_t j = 0; j < k; j++)
            logp[j] = log(y[j] > 1e-30f ? (double)y[j] : 1e-30);
    else
        log_softmax(y, k, logp);
    double s = net->label_smoothing, sum = 0.0;
    for (int64_t j = 0; j < k; j++)
        sum += logp[j];
    return -(1.0 - s) * logp[label] - s / (double)k * sum;
}

/* ---- checks shared by training and evaluation ---- */

/* The pipeline applies the net's own normalisation on its worker threads,
 * overlapping device work, rather than forward on the thread queueing it;
 * the same arithmetic, so the same bits. */
static void use_net_norm(pipeline *p, const clnet_net *net)
{
    if (!net->norm)
        return;
    p->mean = net->norm;
    p->std = net->norm + net->layers[0].out.dim[0];
    p->net_norm = true;
}

static int64_t out_width(const clnet_net *net)
{
    return nn_numel(&net->layers[net->nlayers - 1].out);
}

/* The size of the images the net is fed: the dataset's, or resized. */
static void fed_size(const clnet_dataset *ds, const clnet_train_opts *opts, int *height,
                     int *width)
{
    *height = opts->resize_height > 0 ? opts->resize_height : ds->height;
    *width = opts->resize_width > 0 ? opts->resize_width : ds->width;
}

static clnet_status check_net(clnet_ctx *ctx, const char *what, const clnet_net *net,
                              const clnet_dataset *ds, const clnet_train_opts *opts, int batch)
{
    if (!net->dev)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: the net is not bound", what);
    int height, width;
    fed_size(ds, opts, &height, &width);
    int64_t image = (int64_t)ds->channels * height * width;
    if (nn_numel(&net->layers[0].out) != image)
        return clnet_fail(ctx, CLNET_ERR_SHAPE, "%s: the net takes %lld inputs per image, %s "
                          "has %dx%dx%d%s", what, (long long)nn_numel(&net->layers[0].out),
                          ds->name, ds->channels, height, width,
                          opts->resize_height > 0 ? " (resized)" : "");
    if (out_width(net) < ds->classes)
        return clnet_fail(ctx, CLNET_ERR_SHAPE, "%s: the net has %lld outputs, %s has %d "
                          "classes", what, (long long)out_width(net), ds->name, ds->classes);
    int max_batch = net->parallel ? nn_parallel_max_batch(net->parallel) : net->max_batch;
    if (batch < 1 || batch > max_batch)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: batch %d (the net was bound "
                          "for 1..%d)", what, batch, max_batch);
    return CLNET_OK;
}

static int64_t example_count(const clnet_dataset *ds, const clnet_train_opts *opts)
{
    return opts->limit > 0 && opts->limit < ds->count ? opts->limit : ds->count;
}

static void finish_stats(clnet_eval *stats, const tally *t, double seconds, double wait)
{
    memset(stats, 0, sizeof *stats);
    stats->count = t->count;
    stats->nonfinite = t->nonfinite;
    if (t->count > 0) {
        /* a clamped log(0) would turn a NaN output into a plausible loss */
        stats->loss = t->nonfinite ? NAN : t->loss / (double)t->count;
        stats->top1 = (double)t->top1 / (double)t->count;
        stats->top5 = (double)t->top5 / (double)t->count;
    }
    stats->seconds = seconds;
    stats->images_per_second = seconds > 0.0 ? (double)t->count / seconds : 0.0;
    stats->input_wait_seconds = wait;
}

/* ---- training ---- */

typedef struct step_buffers {
    float *out;                /* batch * K read-back outputs */
    float *targets;            /* MSE: one-hot rows */
    double *logp;              /* K */
} step_buffers;

static clnet_status train_step(clnet_net *net, const clnet_optimizer *opt, float lr, slot *s,
                               step_buffers *buf, tally *t)
{
    int64_t k = out_width(net);
    int n = s->n;
    if (net->loss == CLNET_LOSS_MSE) {
        memset(buf->targets, 0, (size_t)n * (size_t)k * sizeof(float));
        for (int i = 0; i < n; i++)
            buf->targets[(size_t)i * k + s->labels[i]] = 1.0f;
    }
    clnet_status st;
    /* the pipeline applied the net's normalisation (train_epoch) */
    if (net->parallel) {
        st = nn_parallel_step(net->parallel, s->x, s->labels, buf->targets, n, opt, lr, NULL,
                              buf->out, true);
    } else if (opt->es) {
        /* forward passes only; the outputs at the weights before the step */
        st = nn_es_gradient(net, s->x, s->labels, n, opt->es, true, buf->out, NULL);
        if (st == CLNET_OK)
            st = clnet_net_step(net, opt, lr);
    } else {
        /* a shard of a global batch: its place in it, for this step only */
        net->exchange_share = s->n < s->global_n ? (double)s->n / s->global_n : 0.0;
        net->first_image = s->first;
        st = nn_forward(net, s->x, n, true);
        if (st == CLNET_OK)
            st = clnet_net_backward(net, s->labels, buf->targets, NULL);
        net->exchange_share = 0.0;
        net->first_image = 0;
        if (st == CLNET_OK)
            st = clnet_net_step(net, opt, lr);
        /* the one wait of a step: the outputs come back once the device is done */
        if (st == CLNET_OK)
            st = clnet_net_read_output(net, buf->out, (size_t)n * (size_t)k);
    }
    if (st == CLNET_OK)
        nn_penalties_to_scores(net, buf->out, (size_t)n * (size_t)k);
    for (int i = 0; st == CLNET_OK && i < n; i++) {
        const float *row = buf->out + (size_t)i * k;
        t->loss += nn_row_loss(net, row, k, s->labels[i], buf->logp);
        rank_hits(t, row, k, s->labels[i]);
    }
    return st;
}

/* *stopped: the progress callback ended the epoch early. */
static clnet_status train_loop(clnet_net *net, pipeline *p, const clnet_train_opts *opts,
                               const clnet_optimizer *opt, tally *t, bool *stopped)
{
    int64_t k = out_width(net);
    step_buffers buf = {
        malloc((size_t)p->batch * (size_t)k * sizeof(float)),
        net->loss == CLNET_LOSS_MSE ? malloc((size_t)p->batch * (size_t)k * sizeof(float)) : NULL,
        malloc((size_t)k * sizeof(double)),
    };
    clnet_status st = CLNET_OK;
    if (!buf.out || !buf.logp || (net->loss == CLNET_LOSS_MSE && !buf.targets))
        st = clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "train: cannot allocate step buffers");
    /* the schedule's position counts the whole epoch, also when it stops early */
    int64_t all = example_count(p->ds, opts);
    int64_t epoch_batches = opts->drop_last && all >= p->batch ? all / p->batch
                                                               : (all + p->batch - 1) / p->batch;
    double start = clnet_now_ms() / 1e3;
    for (int64_t b = 0; st == CLNET_OK && b < p->nbatches; b++) {
        slot *s;
        st = pipeline_get(net->ctx, p, b, &s);
        if (st != CLNET_OK)
            break;
        float lr = clnet_optimizer_lr(opt, opts->epoch + (double)b / (double)epoch_batches);
        double loss_before = t->loss;
        int n = s->n;
        st = train_step(net, opt, lr, s, &buf, t);
        pipeline_release(p, s);
        if (st == CLNET_OK && opts->lookahead)
            st = clnet_lookahead_step(opts->lookahead, net);
        if (st == CLNET_OK && opts->progress) {
            double end = clnet_now_ms() / 1e3;
            clnet_progress pr = {.batch = b, .batches = p->nbatches, .images = t->count,
                                 .loss = (t->loss - loss_before) / n, .batch_seconds = end - start,
                                 .images_per_second = end > start ? n / (end - start) : 0.0};
            start = end;
            if (opts->progress(opts->progress_user, &pr) != 0) {
                *stopped = true;
                break;
            }
        }
    }
    free(buf.out);
    free(buf.targets);
    free(buf.logp);
    return st;
}

clnet_status clnet_net_train_epoch(clnet_net *net, const clnet_dataset *ds,
                                   const clnet_train_opts *opts, const clnet_optimizer *opt,
                                   clnet_eval *stats)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !ds || !opts || !opt || !stats)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_train_epoch: NULL argument");
    int batch = opts->batch > 0 ? opts->batch
              : net->parallel ? nn_parallel_max_batch(net->parallel) : net->max_batch;
    clnet_status st = nn_check_train_opts(net->ctx, "clnet_net_train_epoch", opts);
    if (st == CLNET_OK)
        st = nn_check_optimizer(net->ctx, "clnet_net_train_epoch", opt);
    /* a sharded net is bound for its largest shard of the global batch */
    int largest = opts->shards > 1 ? (batch + opts->shards - 1) / opts->shards : batch;
    if (st == CLNET_OK)
        st = check_net(net->ctx, "clnet_net_train_epoch", net, ds, opts, largest);
    if (st == CLNET_OK && opts->shards > 1 && (batch < opts->shards || net->parallel))
        st = clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_train_epoch: %d "
                        "shards of a batch of %d%s", opts->shards, batch,
                        net->parallel ? " on a data-parallel group (shard across processes "
                                        "or across devices, not both)"
                                      : ": every shard needs an image");
    if (st != CLNET_OK)
        return st;
    /* statistics passed to a net without its own become its own, so that
     * they are saved with it and forward applies them from now on */
    if (!net->norm && (opts->mean || opts->std))
        st = clnet_net_set_input_norm(net, opts->mean, opts->std);
    const float *mean = NULL, *std = NULL;
    if (st == CLNET_OK)
        st = nn_norm_resolve(net, "clnet_net_train_epoch", opts->mean, opts->std, &mean, &std);
    if (st != CLNET_OK)
        return st;
    int64_t count = example_count(ds, opts);
    int64_t *order = malloc((size_t)count * sizeof *order);
    if (!order)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_train_epoch: no memory "
                          "for the order of %lld examples", (long long)count);
    clnet_dataset_shuffle(order, count, opts->seed + (uint64_t)opts->epoch);
    /* the first batches of the shuffled order: a partial epoch, whole batches */
    if (opts->drop_last && count >= batch)
        count -= count % batch;
    /* every shard of a batch needs an image */
    if (opts->shards > 1 && count % batch != 0 && count % batch < opts->shards)
        count -= count % batch;
    if (opts->max_batches > 0 && opts->max_batches < (count + batch - 1) / batch)
        count = opts->max_batches * batch;
    clnet_augment aug;
    if (opts->augment) {
        aug = *opts->augment;
        aug.alternate_seed = opts->seed;
        aug.alternate_epoch = opts->epoch;
    }
    pipeline p = {.ds = ds, .order = order, .count = count, .batch = batch,
                  .shard = opts->shard, .shards = opts->shards,
                  .aug = opts->augment ? &aug : NULL,
                  .aug_seed = nn_mix64(opts->seed ^ nn_mix64((uint64_t)opts->epoch)),
                  .mean = mean, .std = std, .pixel_mean = opts->pixel_mean, .views = 1,
                  .resize = opts->resize_height > 0};
    fed_size(ds, opts, &p.height, &p.width);
    use_net_norm(&p, net);
    double t0 = clnet_now_ms() / 1e3;
    st = pipeline_start(net->ctx, &p, opts->threads);
    tally t = {0};
    bool stopped = false;
    if (st == CLNET_OK) {
        bool was_training = net->training;
        net->training = true;
        st = train_loop(net, &p, opts, opt, &t, &stopped);
        net->training = was_training;
        pipeline_stop(&p);
    }
    free(order);
    finish_stats(stats, &t, clnet_now_ms() / 1e3 - t0, p.wait_seconds);
    stats->stopped = stopped;
    if (st == CLNET_OK && !stopped) {
        net->progress.epochs_done = opts->epoch + 1;
        net->progress.seed = opts->seed;
    }
    return st;
}

/* ---- evaluation ---- */

/* Class scores of one net's output rows: probabilities for a softmax
 * classifier (the output itself when the net ends in SOFTMAX), the raw
 * output for a regression (MSE) net. */
static bool outputs_scores(const clnet_net *net)
{
    return net->loss == CLNET_LOSS_MSE ||
           net->layers[net->nlayers - 1].spec.kind == CLNET_LAYER_SOFTMAX;
}

/* Adds weight * the scores of the output rows to acc; `logits` adds the raw
 * outputs of a softmax classifier instead (made probabilities afterwards by
 * logits_to_probs). */
static void add_scores(const clnet_net *net, const float *out, int n, int64_t k, double weight,
                       bool logits, double *acc, double *logp)
{
    bool probs = outputs_scores(net) || logits;
    for (int i = 0; i < n; i++) {
        const float *row = out + (size_t)i * k;
        double *dst = acc + (size_t)i * k;
        if (!probs)
            log_softmax(row, k, logp);
        for (int64_t j = 0; j < k; j++)
            dst[j] += weight * (probs ? (double)row[j] : exp(logp[j]));
    }
}

/* Softmax of each weighted sum of logits, in place. */
static void logits_to_probs(double *acc, int n, int64_t k, float *row, double *logp)
{
    for (int i = 0; i < n; i++) {
        double *a = acc + (size_t)i * k;
        for (int64_t j = 0; j < k; j++)
            row[j] = (float)a[j];
        log_softmax(row, k, logp);
        for (int64_t j = 0; j < k; j++)
            a[j] = exp(logp[j]);
    }
}

static void score_rows(const clnet_net *net, const double *acc, int n, int64_t k,
                       const int32_t *labels, float *row, tally *t)
{
    for (int i = 0; i < n; i++) {
        const double *a = acc + (size_t)i * k;
        for (int64_t j = 0; j < k; j++)
            row[j] = (float)a[j];
        if (net->loss == CLNET_LOSS_MSE) {
            double sum = 0.0;
            for (int64_t j = 0; j < k; j++)
                sum += (a[j] - (j == labels[i])) * (a[j] - (j == labels[i]));
            t->loss += sum / (double)k;
        } else {
            t->loss -= log(a[labels[i]] > 1e-30 ? a[labels[i]] : 1e-30);
        }
        rank_hits(t, row, k, labels[i]);
    }
}

typedef struct eval_buffers {
    float *out;
    double *acc, *logp;
} eval_buffers;

static clnet_status eval_batch(clnet_net *const *nets, int nnets, const pipeline *p, slot *s,
                               eval_buffers *buf, tally *t)
{
    int64_t k = out_width(nets[0]);
    int n = s->n;
    bool logits = p->tta.logits && !outputs_scores(nets[0]);
    double total = 0.0;
    for (int v = 0; v < p->views; v++)
        total += p->tta.views[v].weight;
    memset(buf->acc, 0, (size_t)n * (size_t)k * sizeof(double));
    for (int v = 0; v < p->views; v++) {
        const float *x = s->x + (size_t)v * n * p->image;
        /* every net's forward is queued before any result is read, so nets
         * on different devices run at the same time */
        for (int i = 0; i < nnets; i++) {
            clnet_status st = nn_forward(nets[i], x, n, p->net_norm);
            if (st != CLNET_OK)
                return st;
        }
        double weight = p->tta.views[v].weight / (total * nnets);
        for (int i = 0; i < nnets; i++) {
            clnet_status st = clnet_net_read_output(nets[i], buf->out, (size_t)n * (size_t)k);
            if (st != CLNET_OK)
                return st;
            nn_penalties_to_scores(nets[i], buf->out, (size_t)n * (size_t)k);
            add_scores(nets[i], buf->out, n, k, weight, logits, buf->acc, buf->logp);
        }
    }
    if (logits)
        logits_to_probs(buf->acc, n, k, buf->out, buf->logp);
    score_rows(nets[0], buf->acc, n, k, s->labels, buf->out, t);
    return CLNET_OK;
}

static clnet_status eval_loop(clnet_net *const *nets, int nnets, pipeline *p, tally *t)
{
    int64_t k = out_width(nets[0]);
    eval_buffers buf = {malloc((size_t)p->batch * (size_t)k * sizeof(float)),
                        malloc((size_t)p->batch * (size_t)k * sizeof(double)),
                        malloc((size_t)k * sizeof(double))};
    clnet_status st = CLNET_OK;
    if (!buf.out || !buf.acc || !buf.logp)
        st = clnet_fail(nets[0]->ctx, CLNET_ERR_HOST_MEMORY, "evaluate: cannot allocate "
                        "output buffers");
    for (int64_t b = 0; st == CLNET_OK && b < p->nbatches; b++) {
        slot *s;
        st = pipeline_get(nets[0]->ctx, p, b, &s);
        if (st != CLNET_OK)
            break;
        st = eval_batch(nets, nnets, p, s, &buf, t);
        pipeline_release(p, s);
    }
    free(buf.out);
    free(buf.acc);
    free(buf.logp);
    return st;
}

/* Whether every net normalises its input itself, all alike. */
static bool same_norm(clnet_net *const *nets, int nnets)
{
    size_t bytes = 2 * (size_t)nets[0]->layers[0].out.dim[0] * sizeof(float);
    for (int i = 0; i < nnets; i++)
        if (!nets[i]->norm || memcmp(nets[i]->norm, nets[0]->norm, bytes) != 0)
            return false;
    return true;
}

static clnet_status check_ensemble(clnet_net *const *nets, int nnets, const clnet_dataset *ds,
                                   const clnet_train_opts *opts, int batch)
{
    for (int i = 0; i < nnets; i++) {
        if (!nets[i])
            return clnet_fail(nets[0] ? nets[0]->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                              "evaluate: net %d is NULL", i);
        clnet_status st = check_net(nets[i]->ctx, "evaluate", nets[i], ds, opts, batch);
        if (st != CLNET_OK)
            return st;
        if (out_width(nets[i]) != out_width(nets[0]))
            return clnet_fail(nets[i]->ctx, CLNET_ERR_SHAPE, "evaluate: net %d has %lld "
                              "outputs, net 0 has %lld", i, (long long)out_width(nets[i]),
                              (long long)out_width(nets[0]));
    }
    return CLNET_OK;
}

clnet_status clnet_net_evaluate_ensemble(clnet_net *const *nets, int nnets, const clnet_dataset *ds,
                                     const clnet_train_opts *opts, clnet_eval *stats)
{
    clnet_error_clear(nets && nnets > 0 && nets[0] ? nets[0]->ctx : NULL);
    if (!nets || nnets < 1 || !nets[0] || !ds || !opts || !stats)
        return clnet_fail(nets && nnets > 0 && nets[0] ? nets[0]->ctx : NULL,
                          CLNET_ERR_INVALID_ARGUMENT, "evaluate: NULL argument or no nets");
    clnet_ctx *ctx = nets[0]->ctx;
    int batch = opts->batch > 0 ? opts->batch : nets[0]->max_batch;
    clnet_status st = nn_check_train_opts(ctx, "evaluate", opts);
    if (st == CLNET_OK)
        st = check_ensemble(nets, nnets, ds, opts, batch);
    const float *mean = opts->mean, *std = opts->std;
    for (int i = 0; st == CLNET_OK && i < nnets; i++) {
        const float *m, *s;
        st = nn_norm_resolve(nets[i], "evaluate", opts->mean, opts->std, &m, &s);
        if (st == CLNET_OK && i > 0 && (m != mean || s != std))
            st = clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "evaluate: net %d normalises its "
                            "input %s, net 0 %s; the caller's mean/std cannot serve both", i,
                            m ? "with the caller's statistics" : "itself",
                            mean ? "with the caller's statistics" : "itself");
        mean = m;
        std = s;
    }
    if (st != CLNET_OK)
        return st;
    int64_t count = example_count(ds, opts);
    int64_t *order = malloc((size_t)count * sizeof *order);
    if (!order)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "evaluate: no memory for %lld indices",
                          (long long)count);
    for (int64_t i = 0; i < count; i++)
        order[i] = i;
    pipeline p = {.ds = ds, .order = order, .count = count, .batch = batch, .mean = mean,
                  .std = std, .pixel_mean = opts->pixel_mean, .tta = nn_tta_resolve(opts),
                  .resize = opts->resize_height > 0};
    fed_size(ds, opts, &p.height, &p.width);
    if (same_norm(nets, nnets))
        use_net_norm(&p, nets[0]);
    p.views = p.tta.nviews;
    bool *was_training = malloc((size_t)nnets * sizeof *was_training);
    double t0 = clnet_now_ms() / 1e3;
    st = was_training ? pipeline_start(ctx, &p, opts->threads)
                      : clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "evaluate: no memory");
    tally t = {0};
    if (st == CLNET_OK) {
        for (int i = 0; i < nnets; i++) {
            was_training[i] = nets[i]->training;
            nets[i]->training = false;
        }
        st = eval_loop(nets, nnets, &p, &t);
        for (int i = 0; i < nnets; i++)
            nets[i]->training = was_training[i];
        pipeline_stop(&p);
    }
    free(was_training);
    free(order);
    finish_stats(stats, &t, clnet_now_ms() / 1e3 - t0, p.wait_seconds);
    return st;
}

clnet_status clnet_net_evaluate(clnet_net *net, const clnet_dataset *ds,
                                const clnet_train_opts *opts, clnet_eval *stats)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    return clnet_net_evaluate_ensemble(&net, 1, ds, opts, stats);
}
