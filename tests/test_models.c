/* test_models.c - `clnet-bench models --csv` (the program named by argv[1])
 * against the parameter counts and MACs that the papers and torchvision
 * publish, as exact integers; every model the zoo must have is there, and
 * every published figure the harness prints next to a model agrees. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The figures issues 4 and 15 require; macs -1 where none is given. */
typedef struct expected {
    const char *model;
    const char *options;         /* extra `models` options */
    int64_t params, macs;
} expected;

static const expected figures[] = {
    {"lenet5_1998", "", 60840, -1},
    {"lenet5", "", 61706, -1},
    {"alexnet", "", 61100840, 714188480},
    {"vgg16", "", 138357544, 15470264320},
    {"googlenet", "", 6624904, 1498376192},
    {"inception_v3", "--aux", 27161264, -1},
    {"inception_v3", "", 23834568, 5713216096},
    {"bn_inception", "", 11295240, -1},
    {"inception_v4", "", 42679816, -1},
    {"inception_resnet_v2", "", 55843464, -1},
    {"resnet18", "", 11689512, 1814073344},
    {"resnet50", "", 25557032, 4089184256},
    {"resnet20", "", 269722, 40551040},
    {"densenet121", "", 7978856, 2834161664},
    {"squeezenet1_0", "", 1248424, 818924576},
    {"mobilenet_v1", "--width 1.0 --resolution 224", 4231976, 568740352},
    {"mobilenet_v2", "", 3504872, 300774272},
    {"efficientnet_b0", "", 5288548, 385814752},
};

/* Every model the zoo must offer. */
static const char *const required[] = {
    "lenet5_1998", "lenet5", "alexnet", "alexnet_2012", "zfnet", "vgg11", "vgg13", "vgg16",
    "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "nin", "googlenet", "inception_v3",
    "bn_inception", "inception_v4", "inception_resnet_v2",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet20", "resnet32",
    "resnet44", "resnet56", "resnet110", "resnet1202", "densenet121", "densenet169",
    "densenet201", "densenet161", "squeezenet1_0", "squeezenet1_1", "mobilenet_v1",
    "mobilenet_v2", "efficientnet_b0",
};

#define MAX_ROWS 256
#define MAX_FIELDS 32

/* One CSV row, fields unquoted. */
typedef struct row {
    char text[2048];
    char *field[MAX_FIELDS];
    int n;
} row;

static void split(row *r)
{
    char *p = r->text, *w = p;
    r->text[strcspn(r->text, "\r\n")] = '\0';
    r->n = 0;
    for (;;) {
        r->field[r->n++] = w;
        if (*p == '"') {
            /* "" inside quotes is one quote */
            for (p++; *p && !(p[0] == '"' && p[1] != '"'); p++) {
                if (*p == '"')
                    p++;
                *w++ = *p;
            }
            p += *p == '"';
        }
        while (*p && *p != ',')
            *w++ = *p++;
        bool more = *p == ',';
        *w++ = '\0';
        if (!more || r->n == MAX_FIELDS)
            break;
        p++;
    }
}

typedef struct table {
    row header;
    row rows[MAX_ROWS];
    int nrows;
} table;

/* Runs `BENCH models ARGS --csv` into t; false after printing why. */
static bool run_models(const char *bench, const char *args, table *t)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' models %s --csv", bench, args);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("FAIL: cannot run %s\n", cmd);
        return false;
    }
    bool ok = fgets(t->header.text, sizeof t->header.text, p) != NULL;
    if (ok)
        split(&t->header);
    t->nrows = 0;
    while (ok && t->nrows < MAX_ROWS &&
           fgets(t->rows[t->nrows].text, sizeof t->rows[0].text, p))
        split(&t->rows[t->nrows++]);
    int status = pclose(p);
    if (!ok || status != 0) {
        printf("FAIL: '%s' exited with status %d\n", cmd, status);
        return false;
    }
    return true;
}

static const char *get(const table *t, const row *r, const char *column)
{
    for (int i = 0; i < t->header.n && i < r->n; i++)
        if (strcmp(t->header.field[i], column) == 0)
            return r->field[i];
    return NULL;
}

static const row *find(const table *t, const char *model)
{
    for (int i = 0; i < t->nrows; i++)
        if (strcmp(get(t, &t->rows[i], "model"), model) == 0)
            return &t->rows[i];
    return NULL;
}

/* Compares one integer column with a required value. */
static int check_count(const table *t, const row *r, const expected *e, const char *column,
                       int64_t want)
{
    const char *got = get(t, r, column);
    if (want < 0)
        return 0;
    if (!got || strtoll(got, NULL, 10) != want) {
        printf("FAIL %s %s: %s %s, published %lld\n", e->model, e->options, column,
               got ? got : "(missing)", (long long)want);
        return 1;
    }
    printf("ok   %-16s %-28s %s %lld\n", e->model, e->options, column, (long long)want);
    return 0;
}

static int check_figures(const char *bench)
{
    static table t;
    int failures = 0;
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++) {
        const expected *e = &figures[i];
        char args[256];
        snprintf(args, sizeof args, "--model %s %s", e->model, e->options);
        if (!run_models(bench, args, &t)) {
            failures++;
            continue;
        }
        const row *r = find(&t, e->model);
        if (!r) {
            printf("FAIL %s: no row\n", e->model);
            failures++;
            continue;
        }
        failures += check_count(&t, r, e, "params", e->params) +
                    check_count(&t, r, e, "macs", e->macs);
    }
    return failures;
}

/* The whole zoo: every required model, and every printed published figure
 * agreeing with the computed one. */
static int check_zoo(const char *bench)
{
    static table t;
    if (!run_models(bench, "", &t))
        return 1;
    int failures = 0, agreed = 0;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!find(&t, required[i])) {
            printf("FAIL: the zoo has no %s\n", required[i]);
            failures++;
        }
    for (int i = 0; i < t.nrows; i++) {
        const char *match[2] = {get(&t, &t.rows[i], "params_match"),
                                get(&t, &t.rows[i], "macs_match")};
        for (int k = 0; k < 2; k++) {
            if (!match[k]) {
                printf("FAIL: a row without match columns\n");
                return failures + 1;
            }
            if (strcmp(match[k], "no") == 0) {
                printf("FAIL %s: %s disagrees with %s\n", get(&t, &t.rows[i], "model"),
                       k ? "macs" : "params", get(&t, &t.rows[i], "source"));
                failures++;
            }
            agreed += strcmp(match[k], "yes") == 0;
        }
    }
    printf("%s %d models, %d published figures agree\n", failures ? "FAIL" : "ok  ", t.nrows,
           agreed);
    return failures;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: test_models PATH-TO-CLNET-BENCH\n");
        return 1;
    }
    int failures = check_figures(argv[1]) + check_zoo(argv[1]);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
