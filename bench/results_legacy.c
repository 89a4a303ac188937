/* results_legacy.c - recipe results files written before the results schema
 * (docs/results/ keeps them as they were measured): read into the schema's
 * shape, with the training figure they imply, so that `clnet-bench
 * compare` lays them beside newer files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "json.h"
#include "models.h"
#include "provenance.h"
#include "recipes.h"
#include "results.h"

/* The global batch of the run: the command's --batch, else the recipe's
 * (0 when neither says). */
static int legacy_batch(const char *command, const char *recipe_name)
{
    const char *b = strstr(command, "--batch");
    if (b && (b[7] == ' ' || b[7] == '='))
        return atoi(b + 8);
    const recipe *r = recipe_find(recipe_name);
    return r ? r->batch : 0;
}

/* The zoo model's input text and forward MACs per image. */
static bool legacy_model(const char *model, char *input, size_t size, int64_t *macs,
                         char *err, size_t err_size)
{
    const char *cfg = clnet_zoo_cfg(model);
    clnet_ctx *ctx = NULL;
    clnet_net *net = NULL;
    if (!cfg) {
        snprintf(err, err_size, "model %s is not in the zoo", model);
        return false;
    }
    clnet_status st = clnet_ctx_new(&ctx);
    if (st == CLNET_OK)
        st = clnet_net_parse_cfg(ctx, cfg, model, NULL, &net);
    if (st == CLNET_OK) {
        model_input_text(net, input, size);
        clnet_net_counts(net, NULL, macs, NULL);
    } else {
        snprintf(err, err_size, "cannot build model %s: %s", model,
                 ctx ? clnet_last_error(ctx) : clnet_status_str(st));
    }
    clnet_net_free(net);
    clnet_ctx_free(ctx);
    return st == CLNET_OK;
}

json *results_upgrade_legacy(const json *old, char *err, size_t err_size)
{
    const char *model = json_get_string(old, "model"), *device = json_get_string(old, "device");
    const char *command = json_get_string(old, "command");
    const json *epochs = json_get(old, "epochs");
    if (!*json_get_string(old, "recipe") || !*model || !*device || !epochs ||
        epochs->type != JSON_ARRAY) {
        snprintf(err, err_size, "not a results file of this clnet-bench (no \"schema\": "
                 "\"%s\" with a \"figures\" list; ops, run and train write one with --json), "
                 "nor a recipe results file of an earlier one (recipe, model, device, epochs)",
                 PROVENANCE_SCHEMA);
        return NULL;
    }
    char input[48];
    int64_t macs = 0;
    if (!legacy_model(model, input, sizeof input, &macs, err, err_size))
        return NULL;
    double images = 0, seconds = 0;
    for (int e = 0; e < epochs->count; e++) {
        double ips = json_get_number(&epochs->items[e], "images_per_second");
        double s = json_get_number(&epochs->items[e], "seconds");
        if (isfinite(ips) && isfinite(s)) {
            images += ips * s;
            seconds += s;
        }
    }
    double images_per_second = seconds > 0 ? images / seconds : NAN;
    int batch = legacy_batch(command, json_get_string(old, "recipe"));
    provenance_figure fig = {
        .kind = "training", .name = model, .device = device, .pass = "train", .batch = batch,
        .precision = PROVENANCE_FP32, .input = input, .macs = macs, .replicas = 1,
        .ms = 1e3 * batch / images_per_second, .ms_min = NAN, .ms_max = NAN,
        .images_per_second = images_per_second, .gflops = NAN, .status = "ok",
        .command = command};
    /* the provenance this file has; what it lacks (commit, date, host,
     * hardware) stays absent, and compare shows it blank */
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream(&text, &length);
    if (!f) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    fputs("{", f);
    bench_json_key_string(f, "schema", PROVENANCE_SCHEMA);
    bench_json_key_string(f, "command", command);
    bench_json_key_string(f, "clnet_version", json_get_string(old, "clnet_version"));
    bench_json_key_string(f, "device", device);
    fputs("\"figures\": [{", f);
    provenance_figure_keys(f, &fig);
    fputs("}]}", f);
    json *upgraded = fclose(f) == 0 ? json_parse(text, err, err_size) : NULL;
    free(text);
    return upgraded;
}
