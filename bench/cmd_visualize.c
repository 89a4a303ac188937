/* cmd_visualize.c - `clnet-bench visualize`: Zeiler & Fergus's deconvnet
 * pictures of a trained net. The test images run forward, each feature map
 * of a layer keeps its K strongest activations (one per image), and each
 * is projected back to pixel space alone (deconv.c) and drawn beside the
 * input patch that caused it, one row per feature map, in a PNG. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "charts.h"
#include "deconv.h"
#include "training.h"

#define CMD "visualize"
#define MAX_TOP 64
#define TILE_PIXELS 64     /* a receptive field is scaled up to about this many pixels */
#define GAP 4              /* pixels between the tiles of a pair and around the grid */
#define PAIR_GAP 12        /* pixels between pairs */

static void print_help(void)
{
    printf(
        "usage: clnet-bench visualize (--model NAME | --cfg FILE) --checkpoint FILE\n"
        "                             --layer NAME --data SET --out DIR [--top K]\n"
        "                             [--maps M] [--limit N] [--batch B] [--device D]\n"
        "                             [--data-dir DIR]\n\n"
        "Zeiler & Fergus's deconvnet (ECCV 2014). Runs the test images of SET through\n"
        "the net (a zoo model or cfg net with the weights of a checkpoint written by\n"
        "`clnet-bench train --save`), keeps for each feature map of layer NAME the K\n"
        "images that excite it most (each at its strongest position), and projects\n"
        "each of those activations back to pixel space on its own, every other\n"
        "activation of the layer zero: through max-unpooling at the forward pass's\n"
        "switches, rectification (ReLU) and the transposed filters of every layer\n"
        "below. Writes DIR/NAME.png: one row per feature map, each projection (grey:\n"
        "zero; scaled to its largest value) beside the input patch it sees (its\n"
        "receptive field; dark where that reaches past the image), strongest first;\n"
        "and prints the images and positions.\n\n"
        "  --layer NAME       a conv, max pooling or ReLU layer (see `models --model`)\n"
        "  --top K            activations per feature map (default 4, at most %d)\n"
        "  --maps M           only the first M feature maps (default all)\n"
        "  --limit N          search the first N test images only (default all)\n"
        "  --batch B          images per forward pass (default 100)\n"
        "  --data SET         %s\n"
        "  --device D         device index, name substring or \"ref\"\n"
        "  --data-dir DIR     look for the dataset here first (see README.md)\n"
        "  --help             this text\n",
        MAX_TOP, TRAINING_DATA_NAMES);
}

typedef struct vis_options {
    const char *model, *cfg, *checkpoint, *layer, *data, *out, *selector, *data_dir;
    long top, maps, limit, batch;
} vis_options;

static int parse_option(bench_opts *o, void *ctx)
{
    vis_options *v = ctx;
    const char *val = NULL;
    long *num = NULL, hi = INT_MAX;
    if (bench_opt_value(o, "--model", &val))
        v->model = val;
    else if (bench_opt_value(o, "--cfg", &val))
        v->cfg = val;
    else if (bench_opt_value(o, "--checkpoint", &val))
        v->checkpoint = val;
    else if (bench_opt_value(o, "--layer", &val))
        v->layer = val;
    else if (bench_opt_value(o, "--data", &val)) {
        if (val && !training_data_known(val))
            return bench_usage_error(CMD, "unknown dataset '%s' (known: %s)", val,
                                     TRAINING_DATA_NAMES);
        v->data = val;
    } else if (bench_opt_value(o, "--out", &val))
        v->out = val;
    else if (bench_opt_value(o, "--device", &val))
        v->selector = val;
    else if (bench_opt_value(o, "--data-dir", &val))
        v->data_dir = val;
    else if (bench_opt_value(o, "--top", &val))
        num = &v->top, hi = MAX_TOP;
    else if (bench_opt_value(o, "--maps", &val))
        num = &v->maps;
    else if (bench_opt_value(o, "--limit", &val))
        num = &v->limit;
    else if (bench_opt_value(o, "--batch", &val))
        num = &v->batch, hi = 4096;
    else
        return bench_usage_error(CMD, "unknown option '%s'", o->argv[o->i]);
    if (o->error)
        return BENCH_EXIT_USAGE;
    if (num && !bench_parse_int(CMD, o->argv[o->i], val, 1, hi, num))
        return BENCH_EXIT_USAGE;
    return BENCH_EXIT_OK;
}

static int parse_options(int argc, char **argv, vis_options *v, bool *help)
{
    int rc = bench_parse_args(CMD, argc, argv, parse_option, v, help);
    if (rc != BENCH_EXIT_OK || *help)
        return rc;
    if (!v->model == !v->cfg)
        return bench_usage_error(CMD, "give --model or --cfg (one of them)");
    if (!v->checkpoint || !v->layer || !v->data || !v->out)
        return bench_usage_error(CMD, "--checkpoint, --layer, --data and --out are required");
    if (v->model && !clnet_zoo_cfg(v->model))
        return training_unknown_model(CMD, v->model);
    if (!v->model)
        v->model = v->cfg;
    return BENCH_EXIT_OK;
}

/* One of a feature map's strongest activations. */
typedef struct vis_hit {
    float value;
    int64_t image;
    int y, x;
} vis_hit;

typedef struct vis_run {
    const vis_options *v;
    clnet_ctx *ctx;
    clnet_device *dev;
    training_data data;
    clnet_net *net;
    int layer;
    clnet_shape out;             /* the layer's, per image */
    int maps, top;
    vis_hit *hits;               /* maps x top, strongest first */
    int *nhits;                  /* per map */
    float *recon;                /* maps x top projections, each of the input's size */
    const float *mean, *std;     /* the caller's normalisation, or NULL: the net's own */
} vis_run;

/* Files hit h among map c's strongest, if it is one. */
static void keep(vis_run *r, int c, vis_hit h)
{
    vis_hit *best = r->hits + (size_t)c * (size_t)r->top;
    int n = r->nhits[c];
    if (n == r->top && !(h.value > best[n - 1].value))
        return;
    int at = n < r->top ? n++ : n - 1;
    while (at > 0 && h.value > best[at - 1].value) {
        best[at] = best[at - 1];
        at--;
    }
    best[at] = h;
    r->nhits[c] = n;
}

/* Each map's strongest position in each image of a forward of n images
 * starting at test image `first`. */
static void scan_batch(vis_run *r, const float *act, int n, int64_t first)
{
    const int64_t c_all = r->out.dim[0], h = r->out.dim[1], w = r->out.dim[2];
    for (int i = 0; i < n; i++)
        for (int c = 0; c < r->maps; c++) {
            const float *plane = act + ((size_t)i * (size_t)c_all + (size_t)c) * (size_t)(h * w);
            int64_t arg = 0;
            for (int64_t k = 1; k < h * w; k++)
                if (plane[k] > plane[arg])
                    arg = k;
            if (plane[arg] > 0.0f)
                keep(r, c, (vis_hit){plane[arg], first + i, (int)(arg / w), (int)(arg % w)});
        }
}

/* Runs images idx[0..n) forward in training mode (the switches are kept;
 * the layers were set to run as at inference). */
static clnet_status forward(vis_run *r, const int64_t *idx, int n, float *x)
{
    clnet_status st = clnet_dataset_batch(r->ctx, r->data.test, idx, n, NULL, 0, r->mean,
                                          r->std, x, NULL);
    return st == CLNET_OK ? clnet_net_forward(r->net, x, n) : st;
}

static int search(vis_run *r, float *x)
{
    int64_t total = r->data.test->count;
    if (r->v->limit > 0 && r->v->limit < total)
        total = r->v->limit;
    int b = (int)r->v->batch;
    size_t per = (size_t)clnet_shape_numel(&r->out);
    float *act = malloc((size_t)b * per * sizeof *act);
    int64_t *idx = malloc((size_t)b * sizeof *idx);
    clnet_status st = act && idx ? CLNET_OK : CLNET_ERR_HOST_MEMORY;
    for (int64_t first = 0; st == CLNET_OK && first < total; first += b) {
        int n = (int)(total - first < b ? total - first : b);
        for (int i = 0; i < n; i++)
            idx[i] = first + i;
        st = forward(r, idx, n, x);
        if (st == CLNET_OK)
            st = clnet_net_read_layer(r->net, r->layer, act, (size_t)n * per);
        if (st == CLNET_OK)
            scan_batch(r, act, n, first);
    }
    free(act);
    free(idx);
    return st == CLNET_OK ? BENCH_EXIT_OK : bench_fail(CMD, r->ctx, st, "forward pass failed");
}

/* Projects every kept activation, a batch of them at a time. */
static int project(vis_run *r, const deconv_path *path, float *x)
{
    int b = (int)r->v->batch, total = r->maps * r->top;
    size_t per = (size_t)r->data.test->channels * (size_t)r->data.test->height *
                 (size_t)r->data.test->width;
    int64_t *idx = malloc((size_t)b * sizeof *idx);
    deconv_pick *picks = malloc((size_t)b * sizeof *picks);
    int *slot = malloc((size_t)b * sizeof *slot);
    clnet_status st = idx && picks && slot ? CLNET_OK : CLNET_ERR_HOST_MEMORY;
    int next = 0;
    char err[1024];
    bool projecting = false;     /* a failure's reason is in err, not the context's */
    while (st == CLNET_OK && next < total) {
        int n = 0;
        for (; next < total && n < b; next++) {
            int c = next / r->top, k = next % r->top;
            if (k >= r->nhits[c])
                continue;
            const vis_hit *h = &r->hits[next];
            idx[n] = h->image;
            picks[n] = (deconv_pick){c, h->y, h->x};
            slot[n++] = next;
        }
        if (n == 0)
            break;
        float *out = malloc((size_t)n * per * sizeof *out);
        st = out ? forward(r, idx, n, x) : CLNET_ERR_HOST_MEMORY;
        if (st == CLNET_OK) {
            st = deconv_project(r->ctx, r->net, path, n, picks, out, err, sizeof err);
            projecting = st != CLNET_OK;
        }
        for (int i = 0; st == CLNET_OK && i < n; i++)
            memcpy(r->recon + (size_t)slot[i] * per, out + (size_t)i * per, per * sizeof *out);
        free(out);
    }
    free(idx);
    free(picks);
    free(slot);
    if (projecting)
        fprintf(stderr, "clnet-bench %s: deconvnet: %s\n", CMD, err);
    if (st != CLNET_OK && !projecting)
        return bench_fail(CMD, r->ctx, st, "projection failed");
    return st == CLNET_OK ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}

/* The picture: one row per feature map of `top` pairs (projection, patch). */
typedef struct vis_canvas {
    unsigned char *img;
    int width, height;
    int tile_w, tile_h, scale;
    int box_h, box_w;
} vis_canvas;

static void put(vis_canvas *cv, int px, int py, const unsigned char rgb[3])
{
    memcpy(cv->img + 3 * ((size_t)py * (size_t)cv->width + (size_t)px), rgb, 3);
}

/* Paints one tile at (x0, y0) from the input-sized image `src` cropped to
 * box: pixel values mapped by v * gain + offset to 0..255, the colour
 * channels of an RGB input or the first one as grey. */
static void paint(vis_canvas *cv, const vis_run *r, const int box[4], int x0, int y0,
                  const float *src, float gain, float offset)
{
    const clnet_dataset *ds = r->data.test;
    const int64_t plane = (int64_t)ds->height * ds->width;
    for (int i = 0; i < cv->box_h; i++)
        for (int j = 0; j < cv->box_w; j++) {
            int y = box[0] + i, x = box[1] + j;
            unsigned char rgb[3] = {48, 48, 48};    /* outside the image */
            for (int ch = 0; y >= 0 && y < ds->height && x >= 0 && x < ds->width && ch < 3;
                 ch++) {
                int64_t c = ds->channels == 3 ? ch : 0;
                float v = src[c * plane + (int64_t)y * ds->width + x] * gain + offset;
                rgb[ch] = (unsigned char)lrintf(fminf(fmaxf(v, 0.0f), 255.0f));
            }
            for (int dy = 0; dy < cv->scale; dy++)
                for (int dx = 0; dx < cv->scale; dx++)
                    put(cv, x0 + j * cv->scale + dx, y0 + i * cv->scale + dy, rgb);
        }
}

/* The largest |value| of a projection inside its box, 1 when all are 0. */
static float peak(const vis_run *r, const float *recon, const int box[4])
{
    const clnet_dataset *ds = r->data.test;
    float m = 0.0f;
    for (int c = 0; c < ds->channels; c++)
        for (int y = box[0] > 0 ? box[0] : 0; y < box[0] + box[2] && y < ds->height; y++)
            for (int x = box[1] > 0 ? box[1] : 0; x < box[1] + box[3] && x < ds->width; x++)
                m = fmaxf(m, fabsf(recon[((int64_t)c * ds->height + y) * ds->width + x]));
    return m > 0.0f ? m : 1.0f;
}

static int draw(vis_run *r, const deconv_path *path, const char *png)
{
    const clnet_dataset *ds = r->data.test;
    const size_t per = (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width;
    int box[4];
    deconv_receptive_field(path, 0, 0, box);
    vis_canvas cv = {.box_h = box[2], .box_w = box[3]};
    int side = box[2] > box[3] ? box[2] : box[3];
    cv.scale = side < TILE_PIXELS ? (TILE_PIXELS + side - 1) / side : 1;
    cv.tile_h = box[2] * cv.scale;
    cv.tile_w = box[3] * cv.scale;
    int pair_w = 2 * cv.tile_w + GAP;
    cv.width = 2 * GAP + r->top * pair_w + (r->top - 1) * PAIR_GAP;
    cv.height = GAP + r->maps * (cv.tile_h + GAP);
    cv.img = malloc((size_t)cv.width * (size_t)cv.height * 3);
    float *pixels = malloc(per * sizeof *pixels);
    if (!cv.img || !pixels) {
        free(cv.img);
        free(pixels);
        fprintf(stderr, "clnet-bench %s: out of memory for a %dx%d image\n", CMD, cv.width,
                cv.height);
        return BENCH_EXIT_FAIL;
    }
    memset(cv.img, 200, (size_t)cv.width * (size_t)cv.height * 3);   /* light grey gaps */
    for (int c = 0; c < r->maps; c++)
        for (int k = 0; k < r->nhits[c]; k++) {
            const vis_hit *h = &r->hits[(size_t)c * (size_t)r->top + (size_t)k];
            const float *recon = r->recon + ((size_t)c * (size_t)r->top + (size_t)k) * per;
            deconv_receptive_field(path, h->y, h->x, box);
            int x0 = GAP + k * (pair_w + PAIR_GAP), y0 = GAP + c * (cv.tile_h + GAP);
            float m = peak(r, recon, box);
            paint(&cv, r, box, x0, y0, recon, 127.0f / m, 128.0f);
            for (size_t i = 0; i < per; i++)
                pixels[i] = ds->images[(size_t)h->image * per + i];
            paint(&cv, r, box, x0 + cv.tile_w + GAP, y0, pixels, 1.0f, 0.0f);
        }
    char err[512];
    bool ok = charts_write_png(png, cv.img, cv.width, cv.height, err, sizeof err);
    free(cv.img);
    free(pixels);
    if (!ok) {
        fprintf(stderr, "clnet-bench %s: %s\n", CMD, err);
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}

static void print_hits(const vis_run *r, const char *png)
{
    const clnet_dataset *ds = r->data.test;
    printf("layer %s (%lldx%lldx%lld) of %s on the %s test images: the strongest "
           "activations of %d feature map%s\n", r->v->layer, (long long)r->out.dim[0],
           (long long)r->out.dim[1], (long long)r->out.dim[2], r->v->model, r->v->data,
           r->maps, r->maps == 1 ? "" : "s");
    for (int c = 0; c < r->maps; c++) {
        printf("map %3d:", c);
        for (int k = 0; k < r->nhits[c]; k++) {
            const vis_hit *h = &r->hits[(size_t)c * (size_t)r->top + (size_t)k];
            printf("  image %lld (label %d) at (%d,%d) %.3g", (long long)h->image,
                   ds->labels[h->image], h->y, h->x, h->value);
        }
        printf("%s\n", r->nhits[c] ? "" : "  never positive");
    }
    printf("wrote %s\n", png);
}

/* A net without its own normalisation (an old checkpoint) was trained on
 * inputs normalised with the training split's statistics: read them. */
static int training_stats(vis_run *r)
{
    clnet_status st = clnet_dataset_load(r->ctx, r->v->data, CLNET_SPLIT_TRAIN, r->v->data_dir,
                                         &r->data.train);
    if (st != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, "cannot load the training split");
    clnet_dataset_stats(r->data.train, r->data.mean, r->data.std);
    r->mean = r->data.mean;
    r->std = r->data.std;
    return BENCH_EXIT_OK;
}

/* Builds the net, finds the layer and checks the deconvnet's path. */
static int prepare(vis_run *r, deconv_path **path)
{
    char *text;
    int rc = training_cfg_text(CMD, r->v->model, r->v->cfg, &text);
    if (rc == BENCH_EXIT_OK)
        rc = training_model_new(CMD, r->ctx, text, r->v->model, r->data.test, NULL, false,
                                r->v->checkpoint, r->dev, (int)r->v->batch, 0, &r->net);
    free(text);
    if (rc != BENCH_EXIT_OK)
        return rc;
    if (clnet_net_find_layer(r->net, r->v->layer, &r->layer) != CLNET_OK) {
        fprintf(stderr, "clnet-bench %s: %s has no layer '%s'; its layers:", CMD, r->v->model,
                r->v->layer);
        for (int id = 1; id < clnet_net_layer_count(r->net); id++) {
            clnet_layer_info info;
            clnet_net_layer_info(r->net, id, &info);
            fprintf(stderr, " %s", info.name);
        }
        fprintf(stderr, "\n");
        return BENCH_EXIT_USAGE;
    }
    char err[1024];
    clnet_status st = deconv_path_new(r->ctx, r->net, r->dev, r->layer, path, err, sizeof err);
    if (st != CLNET_OK) {
        fprintf(stderr, "clnet-bench %s: no deconvnet for layer %s: %s\n", CMD, r->v->layer,
                err);
        return BENCH_EXIT_FAIL;
    }
    clnet_layer_info info;
    clnet_net_layer_info(r->net, r->layer, &info);
    r->out = info.out;
    r->top = (int)r->v->top;
    r->maps = r->v->maps > 0 && r->v->maps < info.out.dim[0] ? (int)r->v->maps
                                                             : (int)info.out.dim[0];
    /* the switches are kept in training mode; batch norm and dropout stay as
     * at inference */
    st = clnet_net_set_layer_mode(r->net, 1, clnet_net_layer_count(r->net) - 1,
                                  CLNET_LAYER_MODE_INFERENCE);
    if (st != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, "cannot set the layers' mode");
    clnet_net_set_training(r->net, true);
    return clnet_net_input_norm(r->net, NULL, NULL) ? BENCH_EXIT_OK : training_stats(r);
}

/* mkdir -p: DIR and every missing folder above it. */
static bool make_dirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return false;
    }
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return false;
            *p = '/';
        }
    return mkdir(path, 0777) == 0 || errno == EEXIST;
}

static int visualize(vis_run *r)
{
    clnet_device_info info;
    int rc = training_device_open(CMD, r->ctx, r->v->selector, &r->dev, &info);
    clnet_status st = CLNET_OK;
    if (rc == BENCH_EXIT_OK &&
        (st = clnet_dataset_load(r->ctx, r->v->data, CLNET_SPLIT_TEST, r->v->data_dir,
                                 &r->data.test)) != CLNET_OK)
        rc = bench_fail(CMD, r->ctx, st, "cannot load the test split");
    deconv_path *path = NULL;
    if (rc == BENCH_EXIT_OK)
        rc = prepare(r, &path);
    if (rc != BENCH_EXIT_OK)
        return rc;
    const clnet_dataset *ds = r->data.test;
    size_t per = (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width;
    size_t slots = (size_t)r->maps * (size_t)r->top;
    float *x = malloc((size_t)r->v->batch * per * sizeof *x);
    r->hits = calloc(slots, sizeof *r->hits);
    r->nhits = calloc((size_t)r->maps, sizeof *r->nhits);
    r->recon = calloc(slots * per, sizeof *r->recon);
    if (!x || !r->hits || !r->nhits || !r->recon) {
        fprintf(stderr, "clnet-bench %s: out of host memory\n", CMD);
        rc = BENCH_EXIT_FAIL;
    }
    if (rc == BENCH_EXIT_OK)
        rc = search(r, x);
    if (rc == BENCH_EXIT_OK)
        rc = project(r, path, x);
    char png[4096];
    snprintf(png, sizeof png, "%s/%s.png", r->v->out, r->v->layer);
    if (rc == BENCH_EXIT_OK && !make_dirs(r->v->out)) {
        fprintf(stderr, "clnet-bench %s: cannot create %s: %s\n", CMD, r->v->out,
                strerror(errno));
        rc = BENCH_EXIT_FAIL;
    }
    if (rc == BENCH_EXIT_OK)
        rc = draw(r, path, png);
    if (rc == BENCH_EXIT_OK)
        print_hits(r, png);
    free(x);
    deconv_path_free(path);
    return rc;
}

int bench_cmd_visualize(int argc, char **argv)
{
    vis_options v = {.top = 4, .batch = 100};
    bool help = false;
    int rc = parse_options(argc, argv, &v, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    vis_run r = {.v = &v};
    r.ctx = bench_ctx_new(CMD);
    if (!r.ctx)
        return BENCH_EXIT_FAIL;
    rc = visualize(&r);
    free(r.hits);
    free(r.nhits);
    free(r.recon);
    clnet_net_free(r.net);
    training_data_free(&r.data);
    clnet_ctx_free(r.ctx);
    return rc;
}
