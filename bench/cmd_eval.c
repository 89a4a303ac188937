/* cmd_eval.c - `clnet-bench eval`: evaluates saved checkpoints of a zoo model
 * or a cfg file's net on a dataset's test split, each on its own and, with several, as an
 * ensemble that averages their softmax outputs. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "training.h"

#define CMD "eval"
#define MAX_CHECKPOINTS 16

static void print_help(void)
{
    printf(
        "usage: clnet-bench eval --checkpoint FILE [--checkpoint FILE ...]\n"
        "                        (--model NAME | --cfg FILE) --data SET [--tta LIST]\n"
        "                        [--multi-crop PAD] [--resize HxW] [--aux]\n"
        "                        [--device D] [--batch B] [--limit N] [--data-dir DIR]\n"
        "                        [--threads T] [--json]\n\n"
        "Loads each checkpoint (written by `clnet-bench train --save`) into a fresh\n"
        "instance of zoo model NAME (or of the net of a cfg file) and evaluates it on\n"
        "the test split of SET: loss, top-1 accuracy (and top-5 with more than 10\n"
        "classes), images/s. With several checkpoints, also their ensemble (softmax\n"
        "outputs averaged). A checkpoint keeps the net's input normalisation; for\n"
        "older ones (format version 1) inputs are normalised with the training\n"
        "split's statistics, as in training, so the training split is read too.\n"
        "With --limit equal to train's --test-limit, eval prints the test accuracy\n"
        "that train printed last.\n\n"
        "  --checkpoint FILE   a checkpoint; repeat for an ensemble (at most %d)\n"
        "  --model NAME        the zoo model the checkpoints were trained as\n"
        "  --cfg FILE          or the cfg file they were trained from\n"
        "  --data SET          %s\n"
        "  --tta LIST          average views of each image (test-time augmentation),\n"
        "                      comma-separated: crops=PAD (4 corner crops of the image\n"
        "                      zero-padded by PAD), translate=PX (shifted PX left, right,\n"
        "                      up, down), mirror (each view also mirrored: not for digits);\n"
        "                      or airbench[=1|2] alone: airbench94's weighted views\n"
        "                      (1: image and mirror; 2, the default: also shifted one\n"
        "                      pixel up-left and down-right; reflect padding, logits)\n"
        "  --multi-crop PAD    --tta crops=PAD,mirror (10 views)\n"
        "  --resize HxW        resize every image (bilinear) as train --resize did\n"
        "  --aux               the checkpoints were trained with --aux: build the\n"
        "                      auxiliary classifiers to load them (evaluation does not\n"
        "                      run them)\n"
        "  --device D          device index, name substring or \"ref\" (default:\n"
        "                      CLNET_DEVICE, else the first OpenCL device)\n"
        "  --batch B           images per forward pass (default 100)\n"
        "  --limit N           evaluate the first N test images only\n"
        "  --data-dir DIR      look for the dataset here first (see README.md)\n"
        "  --threads T         host threads preparing batches (default 1)\n"
        "  --json              one JSON object instead of text\n"
        "  --help              this text\n",
        MAX_CHECKPOINTS, TRAINING_DATA_NAMES);
}

typedef struct eval_options {
    const char *checkpoints[MAX_CHECKPOINTS];
    int ncheckpoints;
    const char *model, *cfg, *data, *selector, *data_dir;
    long multi_crop, batch, limit, threads;
    clnet_tta tta;
    const char *tta_text;        /* --tta as given, for the report */
    int resize[2];               /* --resize: height, width; 0 = none */
    bool json;
    bool aux;                    /* --aux: the checkpoints hold auxiliary classifiers */
} eval_options;

/* --tta LIST into e->tta: the classic views (clnet_tta_crops) or
 * airbench94's weighted set (clnet_tta_airbench), not both. */
static int parse_tta(const char *list, eval_options *e)
{
    char buf[256];
    if (strlen(list) >= sizeof buf)
        return bench_usage_error(CMD, "--tta list too long");
    strcpy(buf, list);
    long crop_pad = 0, translate = 0, airbench = 0;
    bool mirror = false;
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *value = strchr(item, '=');
        if (value)
            *value++ = '\0';
        bool ok = true;
        if (strcmp(item, "mirror") == 0 && !value)
            mirror = true;
        else if (strcmp(item, "crops") == 0 && value)
            ok = bench_parse_int(CMD, "--tta crops", value, 1, 64, &crop_pad);
        else if (strcmp(item, "translate") == 0 && value)
            ok = bench_parse_int(CMD, "--tta translate", value, 1, 64, &translate);
        else if (strcmp(item, "airbench") == 0)
            ok = value ? bench_parse_int(CMD, "--tta airbench", value, 1, 2, &airbench)
                       : (airbench = 2, true);
        else
            return bench_usage_error(CMD, "bad --tta item '%s' (mirror, crops=PAD, "
                                     "translate=PX, airbench[=1|2])", item);
        if (!ok)
            return BENCH_EXIT_USAGE;
    }
    if (airbench > 0 && (mirror || crop_pad > 0 || translate > 0))
        return bench_usage_error(CMD, "--tta airbench is a complete set of views: give it "
                                 "alone");
    e->tta = airbench > 0 ? clnet_tta_airbench((int)airbench)
                          : clnet_tta_crops((int)crop_pad, (int)translate, mirror);
    e->tta_text = list;
    return BENCH_EXIT_OK;
}

static int parse_long(bench_opts *o, const char *name, long lo, long hi, long *out, bool *matched)
{
    const char *v = NULL;
    *matched = bench_opt_value(o, name, &v);
    if (!*matched || !v)
        return BENCH_EXIT_OK;
    return bench_parse_int(CMD, name, v, lo, hi, out) ? BENCH_EXIT_OK : BENCH_EXIT_USAGE;
}

static int parse_option(bench_opts *o, void *ctx)
{
    eval_options *e = ctx;
    const char *v = NULL;
    bool m = false;
    int rc = parse_long(o, "--multi-crop", 1, 64, &e->multi_crop, &m);
    if (!m)
        rc = parse_long(o, "--batch", 1, 65536, &e->batch, &m);
    if (!m)
        rc = parse_long(o, "--limit", 1, INT_MAX, &e->limit, &m);
    if (!m)
        rc = parse_long(o, "--threads", 1, 256, &e->threads, &m);
    if (m) {
        return rc != BENCH_EXIT_OK || o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
    } else if (bench_opt_flag(o, "--json")) {
        e->json = true;
    } else if (bench_opt_flag(o, "--aux")) {
        e->aux = true;
    } else if (bench_opt_value(o, "--checkpoint", &v)) {
        if (v && e->ncheckpoints == MAX_CHECKPOINTS)
            return bench_usage_error(CMD, "at most %d checkpoints", MAX_CHECKPOINTS);
        if (v)
            e->checkpoints[e->ncheckpoints++] = v;
    } else if (bench_opt_value(o, "--model", &v)) {
        e->model = v;
    } else if (bench_opt_value(o, "--cfg", &v)) {
        e->cfg = v;
    } else if (bench_opt_value(o, "--tta", &v)) {
        if (v && parse_tta(v, e) != BENCH_EXIT_OK)
            return BENCH_EXIT_USAGE;
    } else if (bench_opt_value(o, "--resize", &v)) {
        if (v && !training_parse_resize(CMD, v, e->resize))
            return BENCH_EXIT_USAGE;
    } else if (bench_opt_value(o, "--data", &v)) {
        if (v && !training_data_known(v))
            return bench_usage_error(CMD, "unknown dataset '%s' (known: %s)", v,
                                     TRAINING_DATA_NAMES);
        e->data = v;
    } else if (bench_opt_value(o, "--device", &v)) {
        e->selector = v;
    } else if (bench_opt_value(o, "--data-dir", &v)) {
        e->data_dir = v;
    } else {
        return bench_usage_error(CMD, "unknown option '%s'", o->argv[o->i]);
    }
    /* A missing value was reported by bench_opt_value and left v NULL. */
    return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

static int parse_options(int argc, char **argv, eval_options *e, bool *help)
{
    int rc = bench_parse_args(CMD, argc, argv, parse_option, e, help);
    if (rc != BENCH_EXIT_OK || *help)
        return rc;
    if (e->ncheckpoints == 0)
        return bench_usage_error(CMD, "at least one --checkpoint is required");
    if (!e->model == !e->cfg)
        return bench_usage_error(CMD, "give --model or --cfg (one of them)");
    if (e->tta_text && e->multi_crop > 0)
        return bench_usage_error(CMD, "--multi-crop PAD is --tta crops=PAD,mirror: give one");
    if (e->multi_crop > 0)
        e->tta = clnet_tta_crops((int)e->multi_crop, 0, true);
    if (!e->data)
        return bench_usage_error(CMD, "--data is required");
    if (e->model && !clnet_zoo_cfg(e->model))
        return training_unknown_model(CMD, e->model);
    if (!e->model)
        e->model = e->cfg;
    return BENCH_EXIT_OK;
}

typedef struct eval_run {
    const eval_options *e;
    clnet_ctx *ctx;
    clnet_device *dev;
    clnet_device_info info;
    training_data data;
    clnet_net *nets[MAX_CHECKPOINTS];
    clnet_eval results[MAX_CHECKPOINTS + 1];   /* the last one: the ensemble */
    bool top5;
} eval_run;

/* Builds a fresh model and loads checkpoint i into it. */
static int load_checkpoint(eval_run *r, int i)
{
    char *text;
    int rc = training_cfg_text(CMD, r->e->model, r->e->cfg, &text);
    if (rc == BENCH_EXIT_OK)
        rc = training_model_new(CMD, r->ctx, text, r->e->model, r->data.test, r->e->resize,
                                r->e->aux, r->e->checkpoints[i], r->dev, (int)r->e->batch, 0, &r->nets[i]);
    free(text);
    clnet_status st = rc == BENCH_EXIT_OK
                          ? clnet_net_set_loss(r->nets[i], training_default_loss(r->nets[i]), 0)
                          : CLNET_OK;
    return st == CLNET_OK ? rc : bench_fail(CMD, r->ctx, st, "cannot set the loss");
}

static void print_row(const eval_run *r, const char *label, const clnet_eval *s)
{
    printf("%-32s  %9.4f  %7.2f%%", label, s->loss, 100.0 * s->top1);
    if (r->top5)
        printf("  %8.2f%%", 100.0 * s->top5);
    printf("  %8.1f  %7.1f\n", s->images_per_second, s->seconds);
    fflush(stdout);
}

static void print_json_result(const eval_run *r, const clnet_eval *s)
{
    training_json_eval(stdout, "test_", s, r->top5);
    printf("\"images_per_second\": %.1f, \"seconds\": %.3f}", s->images_per_second, s->seconds);
}

static void print_json(const eval_run *r)
{
    const eval_options *e = r->e;
    printf("{\"command\": \"eval\", \"model\": ");
    bench_json_string(stdout, e->model);
    printf(", \"data\": ");
    bench_json_string(stdout, e->data);
    printf(", \"device\": ");
    bench_json_string(stdout, r->info.name);
    printf(", \"device_index\": %d, \"multi_crop\": %ld, \"tta\": ", r->info.index, e->multi_crop);
    if (e->tta_text)
        bench_json_string(stdout, e->tta_text);
    else
        printf("null");
    printf(", \"test_count\": %lld, \"checkpoints\": [", (long long)r->results[0].count);
    for (int i = 0; i < e->ncheckpoints; i++) {
        printf("%s{\"path\": ", i ? ", " : "");
        bench_json_string(stdout, e->checkpoints[i]);
        printf(", ");
        print_json_result(r, &r->results[i]);
    }
    printf("], \"ensemble\": ");
    if (e->ncheckpoints > 1) {
        printf("{");
        print_json_result(r, &r->results[e->ncheckpoints]);
    } else {
        printf("null");
    }
    printf("}\n");
}

static int evaluate_all(eval_run *r)
{
    const eval_options *e = r->e;
    bool diverged = false;
    clnet_train_opts opts = {
        .batch = (int)e->batch, .mean = r->data.mean, .std = r->data.std,
        .limit = e->limit > 0 ? (int)e->limit : 0, .threads = e->threads > 0 ? (int)e->threads : 0,
        .tta = e->tta.nviews > 0 ? &e->tta : NULL, .resize_height = e->resize[0],
        .resize_width = e->resize[1],
    };
    if (!e->json) {
        int views = e->tta.nviews;
        printf("model %s on %s, device %d: %s", e->model, e->data, r->info.index, r->info.name);
        if (views > 1)
            printf(", %d views averaged (%s)", views,
                   e->tta_text ? e->tta_text : "multi-crop: crops and mirrors");
        printf("\n");
        printf("%-32s  test_loss  test_acc%s  images/s  seconds\n", "checkpoint",
               r->top5 ? "  test_top5" : "");
    }
    bool all_normalise = true;
    for (int i = 0; i < e->ncheckpoints; i++) {
        int rc = load_checkpoint(r, i);
        if (rc != BENCH_EXIT_OK)
            return rc;
        /* a net that keeps its own normalisation (checkpoint version 2, or a
         * cfg with mean/std) applies it itself */
        clnet_train_opts own = opts;
        if (clnet_net_input_norm(r->nets[i], NULL, NULL))
            own.mean = own.std = NULL;
        else
            all_normalise = false;
        clnet_status st = clnet_net_evaluate(r->nets[i], r->data.test, &own, &r->results[i]);
        if (st != CLNET_OK)
            return bench_fail(CMD, r->ctx, st, "evaluation failed");
        if (!e->json)
            print_row(r, e->checkpoints[i], &r->results[i]);
        if (!training_eval_finite(CMD, e->checkpoints[i], &r->results[i]))
            diverged = true;
    }
    if (e->ncheckpoints > 1) {
        if (all_normalise)
            opts.mean = opts.std = NULL;
        clnet_eval *s = &r->results[e->ncheckpoints];
        clnet_status st = clnet_net_evaluate_ensemble(r->nets, e->ncheckpoints, r->data.test, &opts, s);
        if (st != CLNET_OK)
            return bench_fail(CMD, r->ctx, st, "ensemble evaluation failed");
        char label[64];
        snprintf(label, sizeof label, "ensemble of %d", e->ncheckpoints);
        if (!e->json)
            print_row(r, label, s);
        if (!training_eval_finite(CMD, label, s))
            diverged = true;
    }
    if (e->json)
        print_json(r);
    return diverged ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
}

static int run_eval(eval_run *r)
{
    int rc = training_device_open(CMD, r->ctx, r->e->selector, &r->dev, &r->info);
    if (rc == BENCH_EXIT_OK)
        rc = training_data_load(CMD, r->ctx, r->e->data, r->e->data_dir, &r->data);
    /* framed as `train` frames them (lenet5_1998's 32x32 field on MNIST) */
    char *text = NULL;
    if (rc == BENCH_EXIT_OK && r->e->resize[0] == 0)
        rc = training_cfg_text(CMD, r->e->model, r->e->cfg, &text);
    int pad = text ? training_cfg_pad(r->ctx, text, r->data.test) : 0;
    free(text);
    if (rc == BENCH_EXIT_OK && pad > 0)
        rc = training_data_pad(CMD, r->ctx, &r->data, pad);
    if (rc != BENCH_EXIT_OK)
        return rc;
    /* Only its statistics were needed. */
    clnet_dataset_free(r->data.train);
    r->data.train = NULL;
    r->top5 = r->data.test->classes > 10;
    return evaluate_all(r);
}

int bench_cmd_eval(int argc, char **argv)
{
    eval_options e = {.batch = 100};
    bool help = false;
    int rc = parse_options(argc, argv, &e, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    eval_run r = {.e = &e};
    r.ctx = bench_ctx_new(CMD);
    if (!r.ctx)
        return BENCH_EXIT_FAIL;
    rc = run_eval(&r);
    for (int i = 0; i < e.ncheckpoints; i++)
        clnet_net_free(r.nets[i]);
    training_data_free(&r.data);
    clnet_ctx_free(r.ctx);
    return rc;
}
