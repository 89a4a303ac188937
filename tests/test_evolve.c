/* test_evolve.c - `clnet-bench evolve` (the program named by argv[1]) on its
 * synthetic task, on the ref device: two runs with one seed write the same
 * log and results, a run stopped and resumed equals one run straight
 * through, elitism keeps the best fitness from falling and the search
 * improves on its first generation, the best cfg builds with the logged
 * parameter count, and misuse is refused. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "clnet.h"

#define ARGS "--data synthetic --population 5 --budget-images 384 --seed 3 --device ref"
#define GENERATIONS 4

static const char *bench;
static char root[] = "/tmp/clnet-test-evolve-XXXXXX";
static int failures;

static void check(bool ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

/* Runs `bench evolve ARGS` with stdout into `out` (NULL: discarded);
 * returns its exit status. */
static int evolve(const char *args, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' evolve %s > '%s' 2>/dev/null", bench, args,
             out ? out : "/dev/null");
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole of a file (caller frees), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* Whether two files in run directories a and b have the same content. */
static bool same_file(const char *a, const char *b, const char *name)
{
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s/%s", root, a, name);
    snprintf(pb, sizeof pb, "%s/%s/%s", root, b, name);
    char *x = slurp(pa), *y = slurp(pb);
    bool same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

/* The JSON from `"generations"` on, with the best cfg's path cut out (it
 * names the run's directory). */
static char *results(const char *json_path)
{
    char *s = slurp(json_path);
    char *g = s ? strstr(s, "\"generations\"") : NULL;
    char *cfg = g ? strstr(g, "\"cfg\": ") : NULL;
    char *after = cfg ? strstr(cfg, ", \"params\"") : NULL;
    if (!after) {
        free(s);
        return NULL;
    }
    memmove(cfg, after, strlen(after) + 1);
    memmove(s, g, strlen(g) + 1);
    return s;
}

/* Reads every number after `key` in s into v (at most max); returns the count. */
static int numbers_after(const char *s, const char *key, double *v, int max)
{
    int n = 0;
    for (const char *p = strstr(s, key); p && n < max; p = strstr(p + 1, key))
        v[n++] = strtod(p + strlen(key), NULL);
    return n;
}

static void check_runs(void)
{
    char args[1024], json_a[512], json_b[512], json_c[512];
    snprintf(json_a, sizeof json_a, "%s/a.json", root);
    snprintf(json_b, sizeof json_b, "%s/b.json", root);
    snprintf(json_c, sizeof json_c, "%s/c.json", root);

    snprintf(args, sizeof args, ARGS " --generations %d --out %s/a --json", GENERATIONS, root);
    check(evolve(args, json_a) == 0, "a seeded run succeeds");
    snprintf(args, sizeof args, ARGS " --generations %d --out %s/b --json", GENERATIONS, root);
    check(evolve(args, json_b) == 0, "the same run again succeeds");
    char *ra = results(json_a), *rb = results(json_b);
    check(ra && rb && strcmp(ra, rb) == 0, "the two runs print the same results");
    check(same_file("a", "b", "log.tsv") && same_file("a", "b", "generations.tsv") &&
              same_file("a", "b", "state.txt") && same_file("a", "b", "best.cfg"),
          "the two runs write the same log, state and best cfg");

    snprintf(args, sizeof args, ARGS " --generations 2 --out %s/c", root);
    check(evolve(args, NULL) == 0, "a run of 2 generations succeeds");
    snprintf(args, sizeof args, "--resume %s/c --generations %d --json", root, GENERATIONS);
    check(evolve(args, json_c) == 0, "resuming it for 2 more succeeds");
    char *rc = results(json_c);
    check(ra && rc && strcmp(ra, rc) == 0, "the resumed run prints the results of run a");
    check(same_file("a", "c", "log.tsv") && same_file("a", "c", "generations.tsv"),
          "the resumed run's log equals run a's");

    double best[GENERATIONS + 1], mean[GENERATIONS + 1];
    int nb = ra ? numbers_after(ra, "\"best_fitness\": ", best, GENERATIONS + 1) : 0;
    int nm = ra ? numbers_after(ra, "\"mean_fitness\": ", mean, GENERATIONS + 1) : 0;
    check(nb == GENERATIONS && nm == GENERATIONS, "one record per generation");
    bool monotone = nb == GENERATIONS;
    for (int g = 1; g < nb; g++)
        monotone &= best[g] >= best[g - 1];
    check(monotone, "the best fitness never falls");
    check(nb == GENERATIONS && best[nb - 1] > best[0], "the search improves on generation 0");
    for (int g = 0; g < nb; g++)
        printf("     generation %d: best %.4f mean %.4f\n", g, best[g], mean[g]);
    double test_acc;
    check(ra && numbers_after(ra, "\"test_accuracy\": ", &test_acc, 1) == 1 && test_acc > 0.25,
          "the best genome beats chance on the test split");

    double params;
    char path[512];
    snprintf(path, sizeof path, "%s/a/best.cfg", root);
    clnet_ctx *ctx = NULL;
    clnet_net *net = NULL;
    int64_t counted = -1;
    if (clnet_ctx_new(&ctx) == CLNET_OK && clnet_net_load_cfg(ctx, path, NULL, &net) == CLNET_OK)
        clnet_net_counts(net, &counted, NULL, NULL);
    check(ra && numbers_after(ra, "\"params\": ", &params, 1) == 1 && counted == (int64_t)params,
          "best.cfg builds, with the parameter count the run reported");
    clnet_net_free(net);
    clnet_ctx_free(ctx);
    free(ra);
    free(rb);
    free(rc);
}

static void check_misuse(void)
{
    char args[1024];
    snprintf(args, sizeof args, ARGS " --generations 1 --out %s/a", root);
    check(evolve(args, NULL) == 2, "--out on a directory holding a run is refused");
    snprintf(args, sizeof args, "--resume %s/c --generations 5 --population 9", root);
    check(evolve(args, NULL) == 2, "--resume with a setting is refused");
    check(evolve("--data synthetic --population 4 --generations 2", NULL) == 2,
          "a missing --budget-images is refused");
    check(evolve("--data synthetic --population 4 --budget-images 9 --generations 2 --elite 4",
                 NULL) == 2,
          "an elite as large as the population is refused");
    snprintf(args, sizeof args, "--resume %s --generations 2", root);
    check(evolve(args, NULL) == 1, "--resume on a directory without a state fails");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: test_evolve PATH-TO-CLNET-BENCH\n");
        return 1;
    }
    bench = argv[1];
    if (!mkdtemp(root)) {
        printf("FAIL: no temporary directory\n");
        return 1;
    }
    check_runs();
    check_misuse();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (failures == 0 && system(cmd) != 0)
        printf("warning: %s was not removed\n", root);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
