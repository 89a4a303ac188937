/* evolve_run.c - the fitness of genomes, the generation loop and the run's
 * directory of `clnet-bench evolve` (see evolve_run.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evolve_data.h"
#include "evolve_run.h"
#include "training.h"

#define CMD "evolve"
#define STATE_MAGIC "clnet-evolve-state 1"
#define LOG_HEADER "generation\tmember\tgenome\tparams\tmacs\tvalidation_accuracy\tfitness\tevaluation\n"
#define GENS_HEADER "generation\tbest_fitness\tmean_fitness\tbest_genome\n"
#define LINE_MAX_LEN 512
/* The validation split by default: a tenth of the training set, at most this. */
#define DEFAULT_VALIDATION_MAX 5000

void evolve_settings_default(evolve_settings *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "evolve-out");
    s->seed = 1;
    s->validation = -1;
    s->elite = 1;
    s->tournament = 3;
    s->batch = 32;
    s->lr = 0.001f;
}

static void path_in(const evolve_run *r, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", r->s.dir, name);
}

static int io_fail(const char *what, const char *path)
{
    fprintf(stderr, "clnet-bench %s: cannot %s %s: %s\n", CMD, what, path, strerror(errno));
    return BENCH_EXIT_FAIL;
}

/* ---- the state a resumed run starts from ---- */

/* Writes DIR/state.txt (through a temporary file, so a crash leaves the
 * previous state): the settings, the generations run, the random stream
 * and the population to evaluate next. */
static int save_state(const evolve_run *r)
{
    char path[4200], tmp[4300];
    path_in(r, "state.txt", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return io_fail("write", tmp);
    const evolve_settings *s = &r->s;
    fprintf(f, "%s\ndata %s\npopulation %ld\nbudget %ld\nseed %ld\nvalidation %ld\nelite %ld\n"
               "tournament %ld\nbatch %ld\nlr %.9g\nmac_penalty %.9g\ngenerations %d\n"
               "rng %llu\n",
            STATE_MAGIC, s->data, s->population, s->budget, s->seed, s->validation, s->elite,
            s->tournament, s->batch, (double)s->lr, (double)s->mac_penalty, r->ngens,
            (unsigned long long)r->rng.state);
    for (long i = 0; i < s->population; i++) {
        char text[EVOLVE_TEXT_MAX];
        evolve_format(&r->pop[i], text);
        fprintf(f, "genome %s\n", text);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return io_fail("write", path);
    return BENCH_EXIT_OK;
}

/* Reads DIR/state.txt into r->s, r->rng and r->pop; *generations gets the
 * number of generations it says were run. */
static int load_state(evolve_run *r, const char *dir, int *generations)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/state.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return io_fail("read", path);
    evolve_settings *s = &r->s;
    char line[LINE_MAX_LEN], text[LINE_MAX_LEN];
    unsigned long long rng = 0;
    int fields = 0;
    long count = 0;
    bool ok = fgets(line, sizeof line, f) && strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)) == 0;
    while (ok && fgets(line, sizeof line, f)) {
        char data[64];
        if (sscanf(line, "data %31s", data) == 1)
            fields += snprintf(s->data, sizeof s->data, "%s", data) > 0;
        else if (sscanf(line, "population %ld", &s->population) == 1 ||
                 sscanf(line, "budget %ld", &s->budget) == 1 ||
                 sscanf(line, "seed %ld", &s->seed) == 1 ||
                 sscanf(line, "validation %ld", &s->validation) == 1 ||
                 sscanf(line, "elite %ld", &s->elite) == 1 ||
                 sscanf(line, "tournament %ld", &s->tournament) == 1 ||
                 sscanf(line, "batch %ld", &s->batch) == 1 || sscanf(line, "lr %f", &s->lr) == 1 ||
                 sscanf(line, "mac_penalty %f", &s->mac_penalty) == 1 ||
                 sscanf(line, "generations %d", generations) == 1 ||
                 sscanf(line, "rng %llu", &rng) == 1)
            fields++;
        else if (sscanf(line, "genome %511s", text) == 1 && r->pop &&
                 count < s->population && evolve_parse(text, &r->pop[count]))
            count++;
        else
            ok = false;
        /* the population is allocated once its size is known */
        if (ok && !r->pop && s->population >= 2 && s->population <= EVOLVE_MAX_POPULATION &&
            !(r->pop = calloc((size_t)s->population, sizeof *r->pop)))
            ok = false;
    }
    fclose(f);
    r->rng.state = rng;
    if (!ok || fields != 12 || count != s->population || s->elite >= s->population) {
        fprintf(stderr, "clnet-bench %s: %s is not a state this program wrote\n", CMD, path);
        return BENCH_EXIT_FAIL;
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    return BENCH_EXIT_OK;
}

/* Keeps the lines of DIR/NAME whose first field (a generation) is below
 * `generations`, passing each to `keep` (may be NULL); rewrites the file
 * with them, so that a generation cut short is run again from its start. */
static int trim_log(evolve_run *r, const char *name, const char *header, int generations,
                    bool (*keep)(evolve_run *, const char *))
{
    char path[4200], tmp[4300], line[LINE_MAX_LEN];
    path_in(r, name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *in = fopen(path, "r"), *out = fopen(tmp, "w");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return io_fail("rewrite", path);
    }
    fputs(header, out);
    bool ok = fgets(line, sizeof line, in) && strcmp(line, header) == 0;
    while (ok && fgets(line, sizeof line, in))
        if (atoi(line) < generations) {
            ok = !keep || keep(r, line);
            fputs(line, out);
        }
    fclose(in);
    if (fclose(out) != 0 || !ok || rename(tmp, path) != 0) {
        fprintf(stderr, "clnet-bench %s: %s is damaged or cannot be rewritten\n", CMD, path);
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}

static bool cache_add(evolve_run *r, const evolve_score *s)
{
    if (r->ncache == r->cache_cap) {
        int cap = r->cache_cap ? 2 * r->cache_cap : 64;
        evolve_score *c = realloc(r->cache, (size_t)cap * sizeof *c);
        if (!c)
            return false;
        r->cache = c;
        r->cache_cap = cap;
    }
    r->cache[r->ncache++] = *s;
    return true;
}

static const evolve_score *cache_find(const evolve_run *r, const char *text)
{
    for (int i = 0; i < r->ncache; i++)
        if (strcmp(r->cache[i].text, text) == 0)
            return &r->cache[i];
    return NULL;
}

/* A line of log.tsv back into the cache (each genome once). */
static bool keep_evaluation(evolve_run *r, const char *line)
{
    evolve_score s;
    long long params, macs;
    if (sscanf(line, "%*d\t%*d\t%63s\t%lld\t%lld\t%lf\t%lf", s.text, &params, &macs, &s.val_acc,
               &s.fitness) != 5)
        return false;
    s.params = params;
    s.macs = macs;
    return cache_find(r, s.text) || cache_add(r, &s);
}

/* A line of generations.tsv back into r->gens, which has room for it. */
static bool keep_generation(evolve_run *r, const char *line)
{
    evolve_generation *g = &r->gens[r->ngens];
    int n;
    if (sscanf(line, "%d\t%lf\t%lf\t%63s", &n, &g->best, &g->mean, g->best_text) != 4 ||
        n != r->ngens)
        return false;
    r->ngens++;
    return true;
}

/* ---- data and device ---- */

static int load_data(evolve_run *r, const char *data_dir)
{
    evolve_settings *s = &r->s;
    if (strcmp(s->data, EVOLVE_SYNTHETIC) == 0) {
        r->synthetic = true;
        evolve_data_synthetic(&r->all, &r->test);
        if (!r->all)
            return bench_fail(CMD, NULL, CLNET_ERR_HOST_MEMORY, "cannot make the synthetic task");
    } else {
        training_data d;
        int rc = training_data_load(CMD, r->ctx, s->data, data_dir, &d);
        if (rc != BENCH_EXIT_OK)
            return rc;
        r->all = d.train;
        r->test = d.test;
    }
    if (s->validation < 0)
        s->validation = r->all->count / 10 < DEFAULT_VALIDATION_MAX ? r->all->count / 10
                                                                    : DEFAULT_VALIDATION_MAX;
    if (s->validation < 1 || s->validation >= r->all->count)
        return bench_usage_error(CMD, "--validation %ld: the training set has %lld images",
                                 s->validation, (long long)r->all->count);
    /* The split depends on the seed but not on the search's random stream. */
    if (!evolve_data_split(r->all, s->validation, (uint64_t)s->seed ^ 0x5b11u, &r->train, &r->val))
        return bench_fail(CMD, NULL, CLNET_ERR_HOST_MEMORY, "cannot split the training set");
    clnet_dataset_stats(r->train, r->mean, r->std);
    return BENCH_EXIT_OK;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return io_fail("create", path);
    return BENCH_EXIT_OK;
}

int evolve_run_open(evolve_run *r, const evolve_settings *settings, const char *resume_dir,
                    const char *selector, const char *data_dir, FILE *log)
{
    memset(r, 0, sizeof *r);
    r->log = log;
    int done = 0, rc = BENCH_EXIT_OK;
    if (settings)
        r->s = *settings;
    else
        rc = load_state(r, resume_dir, &done);
    clnet_device_info info;
    if (rc == BENCH_EXIT_OK)
        rc = (r->ctx = bench_ctx_new(CMD)) ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
    if (rc == BENCH_EXIT_OK)
        rc = training_device_open(CMD, r->ctx, selector, &r->dev, &info);
    if (rc == BENCH_EXIT_OK)
        rc = load_data(r, data_dir);
    if (rc != BENCH_EXIT_OK)
        return rc;
    char genomes[4200];
    path_in(r, "genomes", genomes, sizeof genomes);
    if ((rc = make_dir(r->s.dir)) != BENCH_EXIT_OK || (rc = make_dir(genomes)) != BENCH_EXIT_OK)
        return rc;
    if (settings) {
        char state[4200];
        path_in(r, "state.txt", state, sizeof state);
        struct stat st;
        if (stat(state, &st) == 0)
            return bench_usage_error(CMD, "%s holds a run already: --resume %s continues it, "
                                          "or choose another --out", r->s.dir, r->s.dir);
        r->pop = calloc((size_t)r->s.population, sizeof *r->pop);
        if (!r->pop)
            return bench_fail(CMD, NULL, CLNET_ERR_HOST_MEMORY, "population");
        r->rng.state = (uint64_t)r->s.seed;
        for (long i = 0; i < r->s.population; i++)
            evolve_random(&r->rng, r->all->height, r->all->width, &r->pop[i]);
        const char *const files[][2] = {{"log.tsv", LOG_HEADER}, {"generations.tsv", GENS_HEADER}};
        for (int i = 0; i < 2; i++) {
            char path[4200];
            path_in(r, files[i][0], path, sizeof path);
            FILE *f = fopen(path, "w");
            if (!f || fputs(files[i][1], f) < 0 || fclose(f) != 0)
                return io_fail("write", path);
        }
    } else {
        r->gens = calloc((size_t)done + 1, sizeof *r->gens);
        if (!r->gens)
            return bench_fail(CMD, NULL, CLNET_ERR_HOST_MEMORY, "generations");
        if ((rc = trim_log(r, "log.tsv", LOG_HEADER, done, keep_evaluation)) != BENCH_EXIT_OK ||
            (rc = trim_log(r, "generations.tsv", GENS_HEADER, done, keep_generation)) !=
                BENCH_EXIT_OK)
            return rc;
        if (r->ngens != done) {
            fprintf(stderr, "clnet-bench %s: %s/generations.tsv lacks generations of the state\n",
                    CMD, resume_dir);
            return BENCH_EXIT_FAIL;
        }
    }
    fprintf(r->log, "evolve %s: %lld training, %lld validation images; population %ld, %ld "
                    "images per evaluation, seed %ld; device %s; %d generations already run\n",
            r->s.data, (long long)r->train->count, (long long)r->val->count, r->s.population,
            r->s.budget, r->s.seed, info.name, r->ngens);
    return BENCH_EXIT_OK;
}

void evolve_run_close(evolve_run *r)
{
    if (r->synthetic) {
        evolve_data_free(r->all);
        evolve_data_free(r->test);
    } else {
        clnet_dataset_free(r->all);
        clnet_dataset_free(r->test);
    }
    evolve_data_free(r->train);
    evolve_data_free(r->val);
    free(r->cache);
    free(r->gens);
    free(r->pop);
    clnet_ctx_free(r->ctx);
}

/* ---- fitness ---- */

static int genome_cfg(const evolve_run *r, const char *text, char *buf, size_t size)
{
    evolve_genome g;
    if (!evolve_parse(text, &g))
        return -1;
    return evolve_cfg(&g, r->all->channels, r->all->height, r->all->width, r->all->classes,
                      (int)r->s.batch, r->s.lr, buf, size);
}

bool evolve_run_write_cfg(const evolve_run *r, const char *text, const char *path)
{
    char cfg[4096];
    int n = genome_cfg(r, text, cfg, sizeof cfg);
    FILE *f = fopen(path, "w");
    if (n < 0 || (size_t)n >= sizeof cfg || !f || fputs(cfg, f) < 0 || fclose(f) != 0) {
        io_fail("write", path);
        return false;
    }
    return true;
}

/* The weights' seed: the run's seed and the genome, so that a genome met
 * again (an elite, a resumed run) would train to the same weights. */
static uint64_t weights_seed(const evolve_run *r, const char *text)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)r->s.seed;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* Builds genome `text` and trains it on the budget; *net is left for the
 * caller to evaluate and free. */
static int train_genome(evolve_run *r, const char *text, clnet_net **net, evolve_score *score)
{
    char cfg[4096], name[128];
    *net = NULL;
    int n = genome_cfg(r, text, cfg, sizeof cfg);
    if (n < 0 || (size_t)n >= sizeof cfg)
        return bench_fail(CMD, NULL, CLNET_ERR_INVALID_ARGUMENT, "a genome's cfg");
    snprintf(name, sizeof name, "genome %s", text);
    uint64_t seed = weights_seed(r, text);
    clnet_status st = clnet_net_parse_cfg(r->ctx, cfg, name, NULL, net);
    if (st == CLNET_OK)
        st = clnet_net_bind(*net, r->dev, (int)r->s.batch, CLNET_INIT_HE_NORMAL, seed);
    if (st == CLNET_OK)
        st = clnet_net_set_loss(*net, CLNET_LOSS_SOFTMAX_XENT, 0);
    clnet_optimizer opt = {.kind = CLNET_OPTIM_ADAM, .lr = r->s.lr, .epochs = 1};
    long remaining = r->s.budget;
    for (int epoch = 0; st == CLNET_OK && remaining > 0; epoch++) {
        int64_t images = remaining < r->train->count ? remaining : r->train->count;
        clnet_train_opts topts = {.batch = (int)r->s.batch, .mean = r->mean, .std = r->std,
                                  .seed = seed, .epoch = epoch, .limit = (int)images};
        clnet_eval stats;
        st = clnet_net_train_epoch(*net, r->train, &topts, &opt, &stats);
        remaining -= (long)images;
    }
    if (st != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, name);
    snprintf(score->text, sizeof score->text, "%s", text);
    clnet_net_counts(*net, &score->params, &score->macs, NULL);
    return BENCH_EXIT_OK;
}

static int accuracy(evolve_run *r, clnet_net *net, const clnet_dataset *ds, double *top1)
{
    clnet_train_opts eopts = {.batch = (int)r->s.batch, .mean = r->mean, .std = r->std};
    clnet_eval e;
    clnet_status st = clnet_net_evaluate(net, ds, &eopts, &e);
    if (st != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, "evaluation");
    *top1 = e.top1;
    return BENCH_EXIT_OK;
}

/* The fitness of genome `text`, from the cache or by training it, which
 * also writes its cfg to DIR/genomes/. */
static int evaluate(evolve_run *r, const char *text, evolve_score *score, bool *trained)
{
    const evolve_score *known = cache_find(r, text);
    *trained = !known;
    if (known) {
        *score = *known;
        return BENCH_EXIT_OK;
    }
    clnet_net *net;
    int rc = train_genome(r, text, &net, score);
    if (rc == BENCH_EXIT_OK)
        rc = accuracy(r, net, r->val, &score->val_acc);
    clnet_net_free(net);
    if (rc != BENCH_EXIT_OK)
        return rc;
    score->fitness = score->val_acc - (double)r->s.mac_penalty * (double)score->macs * 1e-6;
    char path[4200], file[EVOLVE_TEXT_MAX + 16];
    snprintf(file, sizeof file, "genomes/%s.cfg", text);
    path_in(r, file, path, sizeof path);
    if (!cache_add(r, score))
        return bench_fail(CMD, NULL, CLNET_ERR_HOST_MEMORY, "the evaluation cache");
    return evolve_run_write_cfg(r, text, path) ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}

int evolve_run_test(evolve_run *r, const char *text, double *test_acc)
{
    clnet_net *net;
    evolve_score score;
    int rc = train_genome(r, text, &net, &score);
    if (rc == BENCH_EXIT_OK)
        rc = accuracy(r, net, r->test, test_acc);
    clnet_net_free(net);
    return rc;
}

/* ---- the generation loop ---- */

/* The next population: the `elite` fittest unchanged (ties: the earlier
 * member), then children of tournament winners, half of them by crossover,
 * each mutated once. */
static bool breed(evolve_run *r, const double *fitness)
{
    long p = r->s.population;
    int h = r->all->height, w = r->all->width;
    evolve_genome *next = malloc((size_t)p * sizeof *next);
    int *order = malloc((size_t)p * sizeof *order);
    if (!next || !order) {
        free(next);
        free(order);
        return false;
    }
    for (int i = 0; i < p; i++)
        order[i] = i;
    for (int i = 1; i < p; i++)      /* insertion sort: stable, fittest first */
        for (int j = i; j > 0 && fitness[order[j]] > fitness[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (long i = 0; i < p; i++) {
        if (i < r->s.elite) {
            next[i] = r->pop[order[i]];
            continue;
        }
        int a = evolve_tournament(&r->rng, fitness, (int)p, (int)r->s.tournament);
        if (evolve_rng_below(&r->rng, 2)) {
            int b = evolve_tournament(&r->rng, fitness, (int)p, (int)r->s.tournament);
            evolve_crossover(&r->rng, &r->pop[a], &r->pop[b], h, w, &next[i]);
        } else {
            next[i] = r->pop[a];
        }
        evolve_mutate(&r->rng, &next[i], h, w);
    }
    memcpy(r->pop, next, (size_t)p * sizeof *next);
    free(next);
    free(order);
    return true;
}

static int append(const evolve_run *r, const char *name, const char *line)
{
    char path[4200];
    path_in(r, name, path, sizeof path);
    FILE *f = fopen(path, "a");
    if (!f || fputs(line, f) < 0 || fclose(f) != 0)
        return io_fail("append to", path);
    return BENCH_EXIT_OK;
}

/* Evaluates the population as generation r->ngens, logs it and breeds the
 * next one. */
static int run_generation(evolve_run *r, double *fitness)
{
    int g = r->ngens, trained_count = 0, rc = BENCH_EXIT_OK;
    evolve_generation *gen = &r->gens[g];
    double sum = 0;
    for (long i = 0; rc == BENCH_EXIT_OK && i < r->s.population; i++) {
        char text[EVOLVE_TEXT_MAX], line[LINE_MAX_LEN];
        evolve_format(&r->pop[i], text);
        evolve_score s;
        bool trained;
        rc = evaluate(r, text, &s, &trained);
        if (rc != BENCH_EXIT_OK)
            break;
        trained_count += trained;
        fitness[i] = s.fitness;
        sum += s.fitness;
        if (i == 0 || s.fitness > gen->best) {
            gen->best = s.fitness;
            snprintf(gen->best_text, sizeof gen->best_text, "%s", text);
        }
        snprintf(line, sizeof line, "%d\t%ld\t%s\t%lld\t%lld\t%.17g\t%.17g\t%s\n", g, i, text,
                 (long long)s.params, (long long)s.macs, s.val_acc, s.fitness,
                 trained ? "trained" : "cached");
        rc = append(r, "log.tsv", line);
    }
    if (rc != BENCH_EXIT_OK)
        return rc;
    gen->mean = sum / (double)r->s.population;
    char line[LINE_MAX_LEN];
    snprintf(line, sizeof line, "%d\t%.17g\t%.17g\t%s\n", g, gen->best, gen->mean, gen->best_text);
    if ((rc = append(r, "generations.tsv", line)) != BENCH_EXIT_OK)
        return rc;
    r->ngens++;
    fprintf(r->log, "generation %d: best %.4f (%s), mean %.4f; %d trained, %ld from earlier\n", g,
            gen->best, gen->best_text, gen->mean, trained_count,
            r->s.population - trained_count);
    fflush(r->log);
    if (!breed(r, fitness))
        return bench_fail(CMD, NULL, CLNET_ERR_HOST_MEMORY, "the next generation");
    return save_state(r);
}

int evolve_run_generations(evolve_run *r, long total)
{
    evolve_generation *gens = realloc(r->gens, (size_t)(total > r->ngens ? total : r->ngens + 1) *
                                                   sizeof *gens);
    double *fitness = malloc((size_t)r->s.population * sizeof *fitness);
    if (gens)
        r->gens = gens;
    if (!gens || !fitness) {
        free(fitness);
        return bench_fail(CMD, NULL, CLNET_ERR_HOST_MEMORY, "generations");
    }
    int rc = BENCH_EXIT_OK;
    if (r->ngens == 0)
        rc = save_state(r);
    while (rc == BENCH_EXIT_OK && r->ngens < total)
        rc = run_generation(r, fitness);
    free(fitness);
    return rc;
}

const evolve_score *evolve_run_best(const evolve_run *r)
{
    return r->ngens ? cache_find(r, r->gens[r->ngens - 1].best_text) : NULL;
}
