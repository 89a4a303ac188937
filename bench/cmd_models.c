/* cmd_models.c - `clnet-bench models`: parameters, MACs and elementwise work
 * of the zoo's models, computed from their cfg files, next to the published
 * figures; also the model-shaping options that `run` shares (models.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clnet/onnx.h"
#include "models.h"
#include "published.h"
#include "report.h"
#include "training.h"

#define CMD "models"

static void print_help(void)
{
    printf("usage: clnet-bench models [--model NAME] [--width A] [--resolution R] [--aux]\n"
           "                          [--classes N] [--input CxHxW] [--layers]\n"
           "                          [--csv | --json | --markdown]\n\n"
           "Builds each zoo model from its cfg file (shape inference only: no device, no\n"
           "weights) and prints one row per model: its input, parameters, MACs and\n"
           "elementwise operations per image, then the published figures with their\n"
           "source, and whether they agree.\n\n"
           "Counting convention (torchvision's):\n"
           "  parameters   every trainable weight and bias, batch-norm scale and shift\n"
           "               included, running statistics excluded (Keras's summary adds\n"
           "               those: two more per batch-norm channel, as non-trainable)\n"
           "  MACs         multiply-accumulates of the convolution and fully connected\n"
           "               layers for one image, inference mode (auxiliary classifiers\n"
           "               included when built); what torchvision's tables call GFLOPS.\n"
           "               FLOPs = 2 x MACs wherever a clnet table says FLOPs\n"
           "  elementwise  all other arithmetic per image: bias adds, batch norm (2 per\n"
           "               element), activations, pooling (one per window element),\n"
           "               residual adds, LRN, softmax\n"
           "A published figure that its source rounds agrees when the computed one is\n"
           "within one unit of its last digit (papers both round and truncate). The\n"
           "published figures apply to the cfg's own input and class count (MobileNet v1:\n"
           "its widths and resolutions), never after --classes. The 1998 LeNet-5 paper\n"
           "counts \"connections\" (every unit's inputs and bias), shown for reference\n"
           "next to MACs + elementwise, which also count the squashing functions, the\n"
           "RBF differences and the pooling divisions (lenet5_1998.cfg reconciles them).\n\n"
           "  --model NAME       one model (default: every zoo model)\n" MODEL_OPTS_HELP
           MODEL_ONNX_HELP
           "  --layers           the per-layer table instead: name, kind, output shape,\n"
           "                     parameters, MACs and elementwise operations\n"
           "  --csv, --json      CSV rows, or one JSON array of objects\n"
           "  --markdown         a Markdown table (what README.md shows)\n"
           "  --help             this text\n\nmodels:");
    for (const char *const *name = clnet_zoo_names(); *name; name++)
        printf(" %s", *name);
    printf("\n");
}

/* ---- the model options (models.h) ---- */

static bool parse_shape(const char *text, clnet_shape *s)
{
    const char *p = text;
    s->ndim = 0;
    while (s->ndim < 3) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1000000)
            return false;
        s->dim[s->ndim++] = v;
        if (*end == '\0')
            return true;
        if (*end != 'x')
            return false;
        p = end + 1;
    }
    return false;
}

int model_opts_parse(bench_opts *o, model_opts *m, bool *matched)
{
    const char *v = NULL;
    long n = 0;
    *matched = true;
    if (bench_opt_flag(o, "--aux")) {
        m->ov.aux = true;
    } else if (bench_opt_value(o, "--width", &v)) {
        char *end = NULL;
        float w = v ? strtof(v, &end) : 0;
        if (v && (end == v || *end != '\0' || !(w > 0 && w <= 4)))
            return bench_usage_error(o->cmd, "bad value '%s' for --width: expected a number "
                                             "above 0 and at most 4", v);
        m->ov.width = w;
    } else if (bench_opt_value(o, "--resolution", &v)) {
        if (v && !bench_parse_int(o->cmd, "--resolution", v, 1, 100000, &n))
            return BENCH_EXIT_USAGE;
        m->resolution = (int)n;
        m->input_given = true;
    } else if (bench_opt_value(o, "--input", &v)) {
        if (v && !parse_shape(v, &m->ov.input))
            return bench_usage_error(o->cmd, "bad value '%s' for --input: expected CxHxW, CxW "
                                             "or F (positive integers)", v);
        m->input_given = true;
    } else if (bench_opt_value(o, "--classes", &v)) {
        if (v && !bench_parse_int(o->cmd, "--classes", v, 1, 1000000, &n))
            return BENCH_EXIT_USAGE;
        m->ov.classes = (int)n;
    } else if (bench_opt_value(o, "--onnx", &v)) {
        m->onnx = v;
    } else {
        *matched = false;
    }
    return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

int model_build(const char *cmd, clnet_ctx *ctx, const char *name, const model_opts *m,
                clnet_net **out)
{
    *out = NULL;
    if (m->onnx) {
        clnet_onnx_options opts = {.input = m->ov.input};
        clnet_status st = clnet_net_from_onnx(ctx, m->onnx, &opts, out);
        return st == CLNET_OK ? BENCH_EXIT_OK
                              : bench_fail(cmd, ctx, st, "cannot import the ONNX model");
    }
    if (!clnet_zoo_cfg(name))
        return training_unknown_model(cmd, name);
    clnet_cfg_overrides ov = m->ov;
    clnet_status st = CLNET_OK;
    if (m->resolution > 0) {
        /* the channels come from the cfg's own input */
        clnet_net *native = NULL;
        ov.input.ndim = 0;
        st = clnet_net_zoo(ctx, name, &ov, &native);
        clnet_layer_info info;
        if (st == CLNET_OK)
            st = clnet_net_layer_info(native, 0, &info);
        if (st == CLNET_OK)
            ov.input = (clnet_shape){.ndim = 3,
                                     .dim = {info.out.dim[0], m->resolution, m->resolution}};
        clnet_net_free(native);
    }
    if (st == CLNET_OK)
        st = clnet_net_zoo(ctx, name, &ov, out);
    if (st == CLNET_OK)
        return BENCH_EXIT_OK;
    char what[128];
    snprintf(what, sizeof what, "cannot build model %s", name);
    return bench_fail(cmd, ctx, st, what);
}

static void shape_text(const clnet_shape *s, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? "x%lld" : "%lld",
                                 (long long)s->dim[i]);
}

void model_input_text(const clnet_net *net, char *buf, size_t size)
{
    clnet_layer_info info;
    if (clnet_net_layer_info(net, 0, &info) == CLNET_OK)
        shape_text(&info.out, buf, size);
    else
        snprintf(buf, size, "?");
}

int model_input_resolution(const clnet_net *net)
{
    clnet_layer_info info;
    if (clnet_net_layer_info(net, 0, &info) != CLNET_OK || info.out.ndim != 3 ||
        info.out.dim[1] != info.out.dim[2])
        return 0;
    return (int)info.out.dim[1];
}

/* ---- the models command ---- */

typedef struct models_options {
    const char *model;           /* NULL: every zoo model */
    model_opts m;
    bool layers;
    report_format format;
} models_options;

/* One model's counts and what was published about it. */
typedef struct model_row {
    const char *model;
    char input[48];
    int64_t params, macs, elementwise;
    const published_model *pub;  /* NULL: nothing published for this configuration */
} model_row;

typedef enum agreement { AGREE_NONE, AGREE_YES, AGREE_NO } agreement;

/* Whether the published parameters and MACs of the row agree. */
static agreement row_agreement(const model_row *r)
{
    if (!r->pub)
        return AGREE_NONE;
    const published_figure *f[2] = {&r->pub->params, &r->pub->macs};
    const int64_t computed[2] = {r->params, r->macs};
    agreement a = AGREE_NONE;
    for (int i = 0; i < 2; i++) {
        if (f[i]->value < 0)
            continue;
        if (!published_agrees(f[i], computed[i]))
            return AGREE_NO;
        a = AGREE_YES;
    }
    return a;
}

static const char *const agreement_text[] = {"-", "yes", "NO"};

static void text_header(void)
{
    printf("%-16s %-11s %13s %16s %14s  %-13s %-16s %-5s %s\n", "model", "input", "params",
           "MACs", "elementwise", "pub. params", "pub. MACs", "match", "source");
}

static void text_row(const model_row *r)
{
    char params[32], macs[32], elt[32], pp[32] = "", pm[32] = "";
    published_commas(r->params, params, sizeof params);
    published_commas(r->macs, macs, sizeof macs);
    published_commas(r->elementwise, elt, sizeof elt);
    if (r->pub) {
        published_format(&r->pub->params, pp, sizeof pp);
        published_format(&r->pub->macs, pm, sizeof pm);
    }
    printf("%-16s %-11s %13s %16s %14s  %-13s %-16s %-5s %s\n", r->model, r->input, params, macs,
           elt, pp, pm, agreement_text[row_agreement(r)], r->pub ? r->pub->source : "");
}

static void markdown_header(void)
{
    printf("| model | input | params | MACs | elementwise | published params | published MACs "
           "| match | source |\n|---|---|--:|--:|--:|--:|--:|---|---|\n");
}

static void markdown_row(const model_row *r)
{
    char params[32], macs[32], elt[32], pp[32] = "", pm[32] = "";
    published_commas(r->params, params, sizeof params);
    published_commas(r->macs, macs, sizeof macs);
    published_commas(r->elementwise, elt, sizeof elt);
    if (r->pub) {
        published_format(&r->pub->params, pp, sizeof pp);
        published_format(&r->pub->macs, pm, sizeof pm);
    }
    printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->model, r->input, params, macs,
           elt, pp, pm, agreement_text[row_agreement(r)], r->pub ? r->pub->source : "");
}

/* A published figure as CSV "value,unit,match" (empty fields when absent). */
static void csv_figure(const published_figure *f, int64_t computed)
{
    if (f && f->value >= 0)
        printf(",%lld,%lld,%s", (long long)f->value, (long long)f->unit,
               published_agrees(f, computed) ? "yes" : "no");
    else
        printf(",,,");
}

static void csv_header(void)
{
    printf("model,input,params,macs,elementwise,published_params,published_params_unit,"
           "params_match,published_macs,published_macs_unit,macs_match,"
           "published_connections,macs_plus_elementwise,source\n");
}

static void csv_row(const model_row *r)
{
    bench_csv_field(stdout, r->model);
    printf(",%s,%lld,%lld,%lld", r->input, (long long)r->params, (long long)r->macs,
           (long long)r->elementwise);
    const published_model *p = r->pub;
    csv_figure(p ? &p->params : NULL, r->params);
    csv_figure(p ? &p->macs : NULL, r->macs);
    if (p && p->connections.value >= 0)
        printf(",%lld,%lld", (long long)p->connections.value,
               (long long)(r->macs + r->elementwise));
    else
        printf(",,");
    printf(",");
    bench_csv_field(stdout, p ? p->source : "");
    printf("\n");
}

static void json_figure(const char *name, const published_figure *f, int64_t computed)
{
    if (f->value < 0) {
        printf(", \"%s\": null, \"%s_unit\": null, \"%s_match\": null", name, name, name);
        return;
    }
    printf(", \"%s\": %lld, \"%s_unit\": %lld, \"%s_match\": %s", name, (long long)f->value, name,
           (long long)f->unit, name, published_agrees(f, computed) ? "true" : "false");
}

static void json_row(const model_row *r, int index)
{
    printf("%s\n {\"model\": ", index ? "," : "");
    bench_json_string(stdout, r->model);
    printf(", \"input\": \"%s\", \"params\": %lld, \"macs\": %lld, \"elementwise\": %lld, "
           "\"published\": ", r->input, (long long)r->params, (long long)r->macs,
           (long long)r->elementwise);
    if (!r->pub) {
        printf("null}");
        return;
    }
    printf("{\"source\": ");
    bench_json_string(stdout, r->pub->source);
    json_figure("params", &r->pub->params, r->params);
    json_figure("macs", &r->pub->macs, r->macs);
    if (r->pub->connections.value >= 0)
        printf(", \"connections\": %lld, \"macs_plus_elementwise\": %lld",
               (long long)r->pub->connections.value, (long long)(r->macs + r->elementwise));
    printf("}}");
}

/* ---- --layers ---- */

static void layer_row(const char *model, const clnet_layer_info *l, report_format format,
                      bool first)
{
    char shape[48];
    shape_text(&l->out, shape, sizeof shape);
    const char *kind = clnet_layer_kind_name(l->kind);
    long long p = l->params, m = l->macs, e = l->elementwise;
    if (format == REPORT_CSV) {
        bench_csv_field(stdout, model);
        printf(",%d,", l->id);
        bench_csv_field(stdout, l->name);
        printf(",%s,%s,%lld,%lld,%lld\n", kind, shape, p, m, e);
    } else if (format == REPORT_JSON) {
        printf("%s\n {\"model\": ", first ? "" : ",");
        bench_json_string(stdout, model);
        printf(", \"id\": %d, \"name\": ", l->id);
        bench_json_string(stdout, l->name);
        printf(", \"kind\": \"%s\", \"output\": \"%s\", \"params\": %lld, \"macs\": %lld, "
               "\"elementwise\": %lld}", kind, shape, p, m, e);
    } else if (format == REPORT_MARKDOWN) {
        printf("| %d | %s | %s | %s | %lld | %lld | %lld |\n", l->id, l->name, kind, shape, p, m,
               e);
    } else {
        printf("%5d  %-28s %-10s %-14s %12lld %15lld %14lld\n", l->id, l->name, kind, shape, p, m,
               e);
    }
}

/* The per-layer table of one model; `first` is whether it is the first
 * model printed (JSON separators, CSV header). */
static int print_layers(clnet_ctx *ctx, const char *model, const clnet_net *net,
                        const model_row *r, report_format format, bool first)
{
    if (format == REPORT_CSV && first)
        printf("model,id,name,kind,output,params,macs,elementwise\n");
    if (format == REPORT_TEXT || format == REPORT_MARKDOWN)
        printf("%smodel %s, input %s:\n\n", first ? "" : "\n", model, r->input);
    if (format == REPORT_TEXT)
        printf("%5s  %-28s %-10s %-14s %12s %15s %14s\n", "layer", "name", "kind", "output",
               "params", "MACs", "elementwise");
    if (format == REPORT_MARKDOWN)
        printf("| layer | name | kind | output | params | MACs | elementwise |\n"
               "|--:|---|---|---|--:|--:|--:|\n");
    for (int id = 0; id < clnet_net_layer_count(net); id++) {
        clnet_layer_info info;
        clnet_status st = clnet_net_layer_info(net, id, &info);
        if (st != CLNET_OK)
            return bench_fail(CMD, ctx, st, "cannot describe a layer");
        layer_row(model, &info, format, first && id == 0);
    }
    if (format == REPORT_TEXT || format == REPORT_MARKDOWN) {
        char params[32], macs[32], elt[32];
        published_commas(r->params, params, sizeof params);
        published_commas(r->macs, macs, sizeof macs);
        published_commas(r->elementwise, elt, sizeof elt);
        printf("\ntotal: %s parameter%s, %s MAC%s, %s elementwise operation%s per image\n",
               params, r->params == 1 ? "" : "s", macs, r->macs == 1 ? "" : "s", elt,
               r->elementwise == 1 ? "" : "s");
    }
    return BENCH_EXIT_OK;
}

/* ---- running ---- */

static int parse_options(int argc, char **argv, models_options *opt, bool *help)
{
    bench_opts o = {.cmd = CMD, .argc = argc, .argv = argv};
    int formats = 0;
    for (o.i = 1; o.i < argc; o.i++) {
        const char *v = NULL;
        bool matched;
        int rc = model_opts_parse(&o, &opt->m, &matched);
        if (rc != BENCH_EXIT_OK)
            return rc;
        if (matched)
            continue;
        if (bench_opt_flag(&o, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        } else if (bench_opt_flag(&o, "--layers")) {
            opt->layers = true;
        } else if (bench_opt_flag(&o, "--csv")) {
            opt->format = REPORT_CSV;
            formats++;
        } else if (bench_opt_flag(&o, "--json")) {
            opt->format = REPORT_JSON;
            formats++;
        } else if (bench_opt_flag(&o, "--markdown")) {
            opt->format = REPORT_MARKDOWN;
            formats++;
        } else if (bench_opt_value(&o, "--model", &v)) {
            if (o.error)
                return BENCH_EXIT_USAGE;
            if (!clnet_zoo_cfg(v))
                return training_unknown_model(CMD, v);
            opt->model = v;
        } else {
            return bench_usage_error(CMD, "unknown option '%s'", argv[o.i]);
        }
    }
    if (formats > 1)
        return bench_usage_error(CMD, "--csv, --json and --markdown exclude each other");
    if (opt->m.onnx && opt->model)
        return bench_usage_error(CMD, "--model and --onnx exclude each other");
    if (opt->m.onnx)
        opt->model = opt->m.onnx;       /* named by its file */
    if (opt->m.ov.width > 0 && !opt->model)
        return bench_usage_error(CMD, "--width applies to models with scalable layers: name "
                                      "one with --model");
    if (opt->m.resolution > 0 && opt->m.ov.input.ndim > 0)
        return bench_usage_error(CMD, "--resolution and --input exclude each other");
    return BENCH_EXIT_OK;
}

/* Builds one model and prints its row (or its layers); returns an exit code. */
static int print_model(clnet_ctx *ctx, const models_options *opt, const char *name, int index)
{
    clnet_net *net = NULL;
    int rc = model_build(CMD, ctx, name, &opt->m, &net);
    if (rc != BENCH_EXIT_OK)
        return rc;
    model_row r = {.model = name};
    model_input_text(net, r.input, sizeof r.input);
    clnet_net_counts(net, &r.params, &r.macs, &r.elementwise);
    if (opt->m.ov.classes == 0)
        r.pub = published_find(name, opt->m.ov.width, opt->m.ov.aux, opt->m.input_given,
                               model_input_resolution(net));
    if (opt->layers)
        rc = print_layers(ctx, name, net, &r, opt->format, index == 0);
    else if (opt->format == REPORT_CSV)
        csv_row(&r);
    else if (opt->format == REPORT_JSON)
        json_row(&r, index);
    else if (opt->format == REPORT_MARKDOWN)
        markdown_row(&r);
    else
        text_row(&r);
    clnet_net_free(net);
    fflush(stdout);
    return rc;
}

int bench_cmd_models(int argc, char **argv)
{
    models_options opt = {.format = REPORT_TEXT};
    bool help = false;
    int rc = parse_options(argc, argv, &opt, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    clnet_ctx *ctx = bench_ctx_new(CMD);
    if (!ctx)
        return BENCH_EXIT_FAIL;
    if (!opt.layers && opt.format == REPORT_CSV)
        csv_header();
    else if (!opt.layers && opt.format == REPORT_MARKDOWN)
        markdown_header();
    else if (!opt.layers && opt.format == REPORT_TEXT)
        text_header();
    if (opt.format == REPORT_JSON)
        printf("[");
    const char *one[] = {opt.model, NULL};
    const char *const *names = opt.model ? one : clnet_zoo_names();
    int printed = 0;
    for (int i = 0; names[i]; i++) {
        /* a model the overrides do not fit is reported; the others go on */
        int model_rc = print_model(ctx, &opt, names[i], printed);
        if (model_rc == BENCH_EXIT_OK)
            printed++;
        else if (rc == BENCH_EXIT_OK)
            rc = model_rc;
    }
    if (opt.format == REPORT_JSON)
        printf("\n]\n");
    clnet_ctx_free(ctx);
    return rc;
}
