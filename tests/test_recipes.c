/* test_recipes.c - `clnet-bench train --recipe` (the program named by
 * argv[1]): every recipe runs two short epochs on a subset and its training
 * loss must fall (and test accuracy rise above chance), the results JSON
 * carries the schema's keys, a run stopped after one epoch and resumed ends
 * exactly where the uninterrupted run ends, `--recipe list` lists every
 * recipe with its target and exits 0, an unknown recipe is a usage error,
 * and `report --reproduction` averages complete runs per device and over
 * all devices.
 * With --cifar10-fast-learns (the 'slow' suite: minutes on a CPU) it checks
 * instead that one epoch of cifar10-fast on 5,000 images already learns.
 * The full runs are benchmarks (docs/results/), not tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define OUT_SIZE (1 << 16)

static int failures;

static void expect(bool ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

/* Runs CMD, its stdout into out; returns the exit status (-1: not run). */
static int run(const char *cmd, char *out, size_t size)
{
    printf("     %s\n", cmd);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The number after the n-th (0-based) "key": in text, or NaN. */
static double nth_number(const char *text, const char *key, int n)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = text;
    for (int i = 0; p && i <= n; i++) {
        p = strstr(p, pattern);
        if (p && i < n)
            p += strlen(pattern);
    }
    return p ? strtod(p + strlen(pattern), NULL) : NAN;
}

typedef struct recipe_case {
    const char *name;
    const char *options;         /* the subset and length of the short run */
    double min_accuracy;         /* the final test accuracy must exceed this; < 0: not
                                    checked */
} recipe_case;

/* cifar10-fast runs 2 x 2 steps of 256 images: at its own batch of 1024
 * an epoch on this suite's budget would be a handful of steps taking
 * minutes on a CPU, and 4 steps move the loss but not yet the test accuracy
 * (--cifar10-fast-learns runs the longer check, --epochs 1 --limit 5000,
 * which must learn well above chance). lenet5-mnist's lr 0.05 needs more
 * steps than a subset gives to recover from its first ones (the full run
 * learns; see docs/results), so the short run overrides it, which the
 * recipe allows. */
static const recipe_case cases[] = {
    {"lenet5-mnist", "--epochs 2 --limit 1000 --test-limit 500 --lr 0.01", 0.5},
    {"resnet20-he2016", "--epochs 2 --limit 512 --test-limit 100", 0.0},
    {"cifar10-fast", "--epochs 2 --limit 512 --batch 256 --test-limit 100", -1},
};

/* Runs case c; returns its final test loss (NaN when it printed none). */
static double check_recipe(const char *bench, const char *data, const recipe_case *c, char *out)
{
    char cmd[2048], what[256];
    snprintf(cmd, sizeof cmd, "'%s' train --recipe %s %s --data-dir '%s' --json", bench, c->name,
             c->options, data);
    int rc = run(cmd, out, OUT_SIZE);
    double first = nth_number(out, "train_loss", 0), second = nth_number(out, "train_loss", 1);
    double accuracy = nth_number(out, "test_accuracy", 0);
    printf("     train loss %g -> %g, test accuracy %g\n", first, second, accuracy);
    snprintf(what, sizeof what, "%s: exits 0, the training loss falls over two short epochs",
             c->name);
    expect(rc == 0 && second < first, what);
    snprintf(what, sizeof what, "%s: test accuracy above %g", c->name, c->min_accuracy);
    if (c->min_accuracy >= 0)
        expect(accuracy > c->min_accuracy, what);
    static const char *const keys[] = {"\"test_accuracy\": ", "\"test_loss\": ",
                                       "\"epochs\": [", "\"command\": ", "\"clnet_version\": ",
                                       "\"device\": ", "\"wall_seconds\": ",
                                       "\"images_per_second\": ", "\"lr\": ", "\"seconds\": ",
                                       "\"schema\": \"clnet-results-1\"", "\"clnet_commit\": ",
                                       "\"date\": ", "\"host\": ", "\"hardware\": [",
                                       "\"figures\": [{\"kind\": \"training\""};
    bool all = true;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        all = all && strstr(out, keys[i]);
    snprintf(what, sizeof what, "%s: the JSON has the results schema's keys", c->name);
    expect(all, what);
    return nth_number(out, "test_loss", 0);
}

/* Case c stopped after its first epoch (--stop-after 1, saving a
 * checkpoint and its curve) and resumed from there: the same final test
 * loss as the uninterrupted run's `whole_loss`, and both epochs in the
 * JSON. */
static void check_resume(const char *bench, const char *data, const recipe_case *c,
                         double whole_loss, char *out)
{
    char ckpt[256], cmd[2048];
    snprintf(ckpt, sizeof ckpt, "/tmp/test_recipes_%ld.ckpt", (long)getpid());
    snprintf(cmd, sizeof cmd, "'%s' train --recipe %s %s --data-dir '%s' --save %s "
             "--stop-after 1 >/dev/null", bench, c->name, c->options, data, ckpt);
    int first = run(cmd, out, OUT_SIZE);
    snprintf(cmd, sizeof cmd, "'%s' train --recipe %s %s --data-dir '%s' --resume %s "
             "--save %s --json", bench, c->name, c->options, data, ckpt, ckpt);
    int second = first == 0 ? run(cmd, out, OUT_SIZE) : -1;
    double loss = nth_number(out, "test_loss", 0);
    printf("     test loss %g resumed, %g uninterrupted\n", loss, whole_loss);
    expect(first == 0 && second == 0 && loss == whole_loss &&
           !isnan(nth_number(out, "train_loss", 1)),
           "stopped after epoch 1 and resumed: the uninterrupted run's test loss, both epochs");
    snprintf(cmd, sizeof cmd, "'%s' train --recipe %s %s --data-dir '%s' --resume %s "
             "2>/dev/null", bench, c->name, c->options, data, ckpt);
    expect(run(cmd, out, OUT_SIZE) == 2, "resuming a finished run is a usage error");
    remove(ckpt);
    strcat(ckpt, ".curve");
    remove(ckpt);
}

/* `--recipe cifar10-fast --epochs 1 --limit 5000`: 4 steps of 1024 images
 * must already learn, the final test (with the recipe's test-time
 * augmentation, on 1,000 test images) well above chance (10%). */
static void check_cifar10_fast_learns(const char *bench, const char *data, char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' train --recipe cifar10-fast --epochs 1 --limit 5000 "
             "--test-limit 1000 --data-dir '%s' --json", bench, data);
    int rc = run(cmd, out, OUT_SIZE);
    double accuracy = nth_number(out, "test_accuracy", 0);
    printf("     test accuracy %g\n", accuracy);
    expect(rc == 0 && accuracy > 0.2, "cifar10-fast, one epoch on 5,000 images: test accuracy "
           "above 20% (chance: 10%)");
}

/* Writes a results file of a run of `recipe` (seeds unique) into dir. */
static void write_result(const char *dir, const char *recipe, const char *device, int seed,
                         bool complete, double accuracy)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-seed%d.json", dir, recipe, seed);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "{\"schema\": \"clnet-results-1\", \"device\": \"%s\", \"recipe\": "
               "\"%s\", \"seed\": %d, \"complete\": %s, \"epochs_planned\": 9.9, "
               "\"test_accuracy\": %g, \"train_seconds\": 100, \"epochs\": []}\n",
            device, recipe, seed, complete ? "true" : "false", accuracy);
    fclose(f);
}

/* The Reproduction table from five results files: cifar10-fast on two
 * devices, one of its runs partial (no mean counts it), resnet20-he2016
 * on one device (no mean over devices). */
static void check_reproduction_table(const char *bench, char *out)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], cmd[8192];
    snprintf(dir, sizeof dir, "%s/clnet-reproduction.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        expect(false, "report --reproduction: a temporary directory");
        return;
    }
    write_result(dir, "cifar10-fast", "dev A", 1, true, 0.94);
    write_result(dir, "cifar10-fast", "dev A", 2, true, 0.938);
    write_result(dir, "cifar10-fast", "dev B", 3, true, 0.946);
    write_result(dir, "cifar10-fast", "dev B", 4, false, 0.5);
    write_result(dir, "resnet20-he2016", "dev A", 5, true, 0.9125);
    snprintf(cmd, sizeof cmd, "'%s' report --reproduction '%s'", bench, dir);
    const int rc = run(cmd, out, OUT_SIZE);
    printf("%s", out);
    expect(rc == 0 && strstr(out, "| cifar10-fast | dev A | mean of 2 seeds | | **93.90%**") &&
               strstr(out, "| cifar10-fast | dev B | mean of 1 seed | | **94.60%**") &&
               strstr(out, "| cifar10-fast | all 2 devices | mean of 3 runs (lowest 93.80%) | | "
                           "**94.13%**") &&
               strstr(out, "| cifar10-fast | dev B | 4 | 9.9 | 50.00% |") &&
               strstr(out, "| resnet20-he2016 | dev A | mean of 1 seed | | **91.25%**") &&
               !strstr(out, "| resnet20-he2016 | all"),
           "report --reproduction: every run, the mean per device and, where runs span "
           "devices, over all");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("     (could not remove %s)\n", dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: test_recipes CLNET_BENCH [--cifar10-fast-learns]\n");
        return 1;
    }
    bool learns = argc > 2 && strcmp(argv[2], "--cifar10-fast-learns") == 0;
    char *out = malloc(OUT_SIZE), cmd[1024];
    if (!out)
        return 1;
    snprintf(cmd, sizeof cmd, "'%s' train --recipe list", argv[1]);
    int rc = run(cmd, out, OUT_SIZE);
    expect(rc == 0 && strstr(out, "cifar10-fast") && strstr(out, "94.01%") &&
           strstr(out, "resnet20-he2016") && strstr(out, "91.25%") &&
           strstr(out, "lenet5-mnist") && strstr(out, "99.11%"),
           "--recipe list: exit 0, every recipe with its published target");
    snprintf(cmd, sizeof cmd, "'%s' train --recipe nonesuch 2>/dev/null", argv[1]);
    expect(run(cmd, out, OUT_SIZE) == 2, "an unknown recipe is a usage error (exit 2)");
    snprintf(cmd, sizeof cmd, "'%s' train --recipe cifar10-fast --resume x.ckpt 2>/dev/null",
             argv[1]);
    expect(run(cmd, out, OUT_SIZE) == 2, "cifar10-fast (a lookahead average) cannot resume");
    if (!learns)
        check_reproduction_table(argv[1], out);

    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    const char *env = getenv("CLNET_DATA"), *ci = getenv("CI");
    const char *data = env && *env ? env : CLNET_SOURCE_ROOT "/../shared/datasets";
    clnet_dataset *mnist = NULL, *cifar = NULL;
    clnet_status st = clnet_dataset_load(ctx, "mnist", CLNET_SPLIT_TEST, data, &mnist);
    if (st == CLNET_OK)
        st = clnet_dataset_load(ctx, "cifar10", CLNET_SPLIT_TEST, data, &cifar);
    clnet_dataset_free(mnist);
    clnet_dataset_free(cifar);
    if (st == CLNET_ERR_IO && !(ci && strcmp(ci, "true") == 0)) {
        printf("SKIP: the recipe runs need MNIST and CIFAR-10: %s\n", clnet_last_error(ctx));
        clnet_ctx_free(ctx);
        free(out);
        return failures ? 1 : TEST_SKIP;
    }
    failures += test_check_status(ctx, st, "loading the datasets");
    clnet_ctx_free(ctx);
    if (st == CLNET_OK && learns)
        check_cifar10_fast_learns(argv[1], data, out);
    for (size_t i = 0; st == CLNET_OK && !learns && i < sizeof cases / sizeof cases[0]; i++) {
        double loss = check_recipe(argv[1], data, &cases[i], out);
        if (i == 0)
            check_resume(argv[1], data, &cases[i], loss, out);
    }
    free(out);
    printf("recipes: %d failed\n", failures);
    return failures ? 1 : 0;
}
