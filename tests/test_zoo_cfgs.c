/* test_zoo_cfgs.c - every cfg file of the zoo parses, as it is and with the
 * overrides the harness passes (auxiliary classifiers, another class count),
 * without a single warning; every file in lib/nn/zoo/ is in the zoo. Needs no
 * device (shape inference only). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "clnet/nn.h"
#include "testutil.h"

/* Warnings delivered through the log sink since the last reset. */
static int warnings;

static void count_warnings(void *user, clnet_log_level level, const char *message)
{
    (void)user;
    if (level >= CLNET_LOG_WARN) {
        warnings++;
        printf("  warning: %s\n", message);
    }
}

/* Parses model `name` with `ov`; returns 1 (after saying why) on an error
 * or a warning. */
static int parse(clnet_ctx *ctx, const char *name, const clnet_cfg_overrides *ov, const char *how)
{
    clnet_net *net = NULL;
    char file[128];
    snprintf(file, sizeof file, "zoo/%s.cfg", name);
    warnings = 0;
    clnet_status st = clnet_net_parse_cfg(ctx, clnet_zoo_cfg(name), file, ov, &net);
    int layers = clnet_net_layer_count(net);
    clnet_net_free(net);
    if (st != CLNET_OK) {
        printf("FAIL %s (%s): %s: %s\n", name, how, clnet_status_str(st), clnet_last_error(ctx));
        return 1;
    }
    if (warnings) {
        printf("FAIL %s (%s): %d warning%s\n", name, how, warnings, warnings == 1 ? "" : "s");
        return 1;
    }
    printf("ok   %-16s %-12s %4d layers\n", name, how, layers);
    return 0;
}

/* The sink must see a parse warning, or a clean zoo would prove nothing. */
static int check_sink(clnet_ctx *ctx)
{
    static const char text[] = "[net]\ninput = 1x8x8\n[conv]\nfilters = 2\nsize = 3\n"
                               "activation = relu\nslope = 0.2\n";
    clnet_net *net = NULL;
    warnings = 0;
    clnet_status st = clnet_net_parse_cfg(ctx, text, "sink-check.cfg", NULL, &net);
    clnet_net_free(net);
    if (st != CLNET_OK || warnings != 1) {
        printf("FAIL: a cfg with a misplaced `slope` gave status %d and %d warnings "
               "(expected 0 and 1)\n", (int)st, warnings);
        return 1;
    }
    printf("ok   the log sink sees parse warnings\n");
    return 0;
}

static bool in_zoo(const char *stem)
{
    for (const char *const *name = clnet_zoo_names(); *name; name++)
        if (strcmp(*name, stem) == 0)
            return true;
    return false;
}

/* Every .cfg file of the source tree's zoo folder is embedded in the
 * library (a file missing from lib/meson.build would not be). */
static int check_files(void)
{
    const char *dir = CLNET_SOURCE_ROOT "/lib/nn/zoo";
    DIR *d = opendir(dir);
    if (!d) {
        printf("FAIL: cannot list %s\n", dir);
        return 1;
    }
    int failures = 0, files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".cfg") != 0)
            continue;
        char stem[256];
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 4), e->d_name);
        files++;
        if (!in_zoo(stem)) {
            printf("FAIL: %s/%s is not in the zoo (missing from lib/meson.build?)\n", dir,
                   e->d_name);
            failures++;
        }
    }
    closedir(d);
    printf("%s %d cfg files in %s\n", failures ? "FAIL" : "ok  ", files, dir);
    return failures;
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: no context\n");
        return 1;
    }
    clnet_ctx_set_log(ctx, count_warnings, NULL, CLNET_LOG_WARN);
    int failures = check_sink(ctx) + check_files(), models = 0;
    const clnet_cfg_overrides aux = {.aux = true}, classes = {.classes = 10};
    for (const char *const *name = clnet_zoo_names(); *name; name++, models++)
        failures += parse(ctx, *name, NULL, "as written") + parse(ctx, *name, &aux, "--aux") +
                    parse(ctx, *name, &classes, "--classes 10");
    clnet_ctx_free(ctx);
    printf("%d models, %d failures\n", models, failures);
    return failures ? 1 : 0;
}
