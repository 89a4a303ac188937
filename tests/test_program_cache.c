/* test_program_cache.c - the on-disk program cache: a second context loads
 * every program from it instead of compiling, corrupt or stale entries are
 * rebuilt with a warning, never trusted, an entry that crashes the driver
 * crashes one run, not every run, sources read from CLNET_CL_DIR are the
 * embedded ones, and the build observer hears of every build from source.
 * By default nothing is stored on a driver that caches kernels itself
 * (PoCL); the rest runs with CLNET_CACHE_STORE=always. */
#include "testutil.h"
#include "clnet/opencl.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FILES 64
#define RELU_N (2 * 3 * 5 * 7)
#define CL_DIR CLNET_SOURCE_ROOT "/cl"

typedef struct counts {
    int built, hits, rejected;
    /* what the build observer saw: begun and ended builds, the totals they
     * announced (equal, or -1 when they differed), events out of order */
    int started, ended, total, disorder;
    const char *cache;
} counts;

/* Checks the build observer's events as they come: each build begun is
 * ended before the next begins, both numbered in order, for this cache. */
static void on_build(void *user, const clnet_build_event *e)
{
    counts *c = user;
    int expected_index = e->done ? c->started : c->started + 1;
    bool in_order = e->index == expected_index && e->done == (c->ended < c->started) &&
                    e->total >= e->index && e->program && *e->program && e->options &&
                    e->device && *e->device && e->cache_dir &&
                    strcmp(e->cache_dir, c->cache) == 0 && (!e->done || e->ok);
    c->disorder += !in_order;
    c->total = c->started == 0 && !e->done ? e->total : c->total == e->total ? c->total : -1;
    if (e->done)
        c->ended++;
    else
        c->started++;
}

/* Counts the program-cache events clnet reports through its log sink. */
static void on_log(void *user, clnet_log_level level, const char *message)
{
    counts *c = user;
    if (level == CLNET_LOG_INFO && strncmp(message, "built program ", 14) == 0)
        c->built++;
    else if (level == CLNET_LOG_DEBUG && strstr(message, ": cache hit"))
        c->hits++;
    else if (level == CLNET_LOG_WARN && strstr(message, "rebuilding from source"))
        c->rejected++;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry of `dir` (temp files included), sorted; returns the count or
 * -1. The caller frees names[0..count). */
static int list_dir(const char *dir, char **names)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < MAX_FILES;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len)))
            break;
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    return n;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
}

static void remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        char *names[MAX_FILES];
        int n = list_dir(path, names);
        for (int i = 0; i < n; i++)
            remove_tree(names[i]);
        free_names(names, n > 0 ? n : 0);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static unsigned char *slurp(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0 && (*size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)*size)) && fread(data, 1, (size_t)*size, f) != (size_t)*size) {
        free(data);
        data = NULL;
    }
    if (f)
        fclose(f);
    return data;
}

static int spit(const char *path, const unsigned char *data, long size)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, (size_t)size, f) == (size_t)size;
    if (f)
        ok = fclose(f) == 0 && ok;
    return ok ? 0 : 1;
}

/* Damages four entries in four ways: another entry's content under this
 * entry's name (a stale key), a truncated file, a flipped payload byte (the
 * payload ends the file), a bad magic. */
static int corrupt_entries(char **files)
{
    long size;
    unsigned char *data = slurp(files[1], &size);
    int bad = !data || spit(files[0], data, size) || spit(files[1], data, size / 2);
    free(data);
    for (int i = 2; i < 4 && !bad; i++) {
        data = slurp(files[i], &size);
        bad = !data;
        if (data) {
            data[i == 2 ? size - 1 : 0] ^= 0x5a;
            bad = spit(files[i], data, size);
        }
        free(data);
    }
    return bad;
}

/* One context using `cache`: compile_all (which goes through the cache),
 * then a ReLU, whose output lands in y (NAN-filled when the device does not
 * implement it). Returns 0, 1 (failure) or TEST_SKIP (no OpenCL device). */
static int session(const char *cache, const char *bin_dir, counts *c, int *nprograms, float *y)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: clnet_ctx_new\n");
        return 1;
    }
    clnet_ctx_set_log(ctx, on_log, c, CLNET_LOG_DEBUG);
    c->cache = cache;
    clnet_ctx_set_build_hook(ctx, on_build, c);
    clnet_device *devs[8];
    int ndev = 0;
    int rc = test_check_status(ctx, clnet_opencl_set_cache_dir(ctx, cache), "set_cache_dir");
    if (rc == 0)
        rc = test_check_status(ctx, clnet_opencl_use_binaries(ctx, NULL), "use_binaries(NULL)");
    if (rc == 0)
        rc = test_open_devices(ctx, devs, 8, &ndev);
    if (rc == 0)
        rc = test_check_status(ctx, clnet_opencl_compile_all(devs[0], bin_dir, nprograms),
                               "compile_all");
    for (int i = 0; i < RELU_N; i++)
        y[i] = NAN;
    float x[RELU_N];
    test_rng rng = {42};
    test_fill_uniform(&rng, x, RELU_N, -1.0f, 1.0f);
    int64_t shape[4] = {2, 3, 5, 7};
    clnet_tensor *tx = rc ? NULL : test_tensor(devs[0], 4, shape, x);
    clnet_tensor *ty = rc ? NULL : test_tensor(devs[0], 4, shape, NULL);
    if (rc == 0 && (!tx || !ty))
        rc = 1;
    if (rc == 0) {
        clnet_op op = clnet_op_activation(CLNET_ACT_RELU, 0.0f);
        clnet_status st = clnet_op_run(devs[0], &op, 1, &tx, 1, &ty);
        if (st == CLNET_ERR_UNSUPPORTED)
            printf("  relu not implemented on this device: op check skipped\n");
        else if (!(rc = test_check_status(ctx, st, "relu")))
            rc = test_check_status(ctx, clnet_tensor_read(ty, y, sizeof x), "read relu");
    }
    clnet_tensor_free(tx);
    clnet_tensor_free(ty);
    clnet_ctx_free(ctx);
    return rc;
}

static int expect(int got, int want, const char *what)
{
    printf("  %-44s %3d (expected %d)\n", what, got, want);
    if (got == want)
        return 0;
    printf("FAIL: %s\n", what);
    return 1;
}

static int check_relu(const float *y, const float *reference, const char *when)
{
    if (isnan(y[0]))
        return 0;
    float x[RELU_N];
    test_rng rng = {42};
    test_fill_uniform(&rng, x, RELU_N, -1.0f, 1.0f);
    for (int i = 0; i < RELU_N; i++) {
        float want = x[i] > 0.0f ? x[i] : 0.0f;
        if (y[i] != want || memcmp(&y[i], &reference[i], sizeof y[i]) != 0) {
            printf("FAIL: relu %s: y[%d] = %g, expected %g (first run %g)\n", when, i, y[i], want,
                   reference[i]);
            return 1;
        }
    }
    printf("  relu %s: %d values exact\n", when, RELU_N);
    return 0;
}

/* Checks the entries of the cache dir: one whole file per program, no temp
 * files left behind. Hands back the sorted paths. */
static int check_entries(const char *cache, int nprograms, char **files, int *nfiles)
{
    *nfiles = list_dir(cache, files);
    int bad = expect(*nfiles, nprograms, "entries in the cache dir");
    for (int i = 0; i < *nfiles && !bad; i++) {
        size_t len = strlen(files[i]);
        if (len < 6 || strcmp(files[i] + len - 6, ".clbin") != 0 || strstr(files[i], "/.")) {
            printf("FAIL: unexpected cache file %s\n", files[i]);
            bad = 1;
        }
    }
    return bad;
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Keeps the entry's header, key and the first 64 bytes of its payload,
 * zeroes the rest and fixes the checksum: a valid entry whose payload
 * PoCL 3.1 asserts on inside clCreateProgramWithBinary. */
static int poison_entry(const char *path)
{
    long size;
    unsigned char *d = slurp(path, &size);
    int bad = !d || size < 32;
    if (!bad) {
        uint64_t key_len = 0, len = 0;
        for (int b = 0; b < 4; b++)
            key_len |= (uint64_t)d[12 + b] << (8 * b);
        for (int b = 0; b < 8; b++)
            len |= (uint64_t)d[16 + b] << (8 * b);
        unsigned char *payload = d + 32 + key_len;
        bad = 32 + key_len + len != (uint64_t)size || len < 128;
        if (!bad) {
            memset(payload + 64, 0, len - 64);
            uint64_t h = fnv1a64(payload, len);
            for (int b = 0; b < 8; b++)
                d[24 + b] = (unsigned char)(h >> (8 * b));
            bad = spit(path, d, size);
        }
    }
    free(d);
    return bad;
}

/* Runs one session in a new process (this program, "session CACHE BIN"):
 * its exit status, or 128 + the signal that killed it. */
static int session_process(const char *cache, const char *bin_dir)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_program_cache", "session", cache, bin_dir, (char *)NULL);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* An entry that crashes the driver crashes one run at most: the next run
 * finds the marker the dead process left, removes the entry and rebuilds. */
static int check_crashing_entry(const char *cache, const char *bin_dir, int n)
{
    char *files[MAX_FILES];
    int nfiles = list_dir(cache, files);
    int bad = nfiles < 1 || poison_entry(files[0]);
    free_names(files, nfiles > 0 ? nfiles : 0);
    if (bad) {
        printf("FAIL: cannot write a poisoned cache entry\n");
        return 1;
    }
    printf("after poisoning one entry (valid checksum, payload the driver crashes on):\n");
    int first = session_process(cache, bin_dir);
    printf("  first run: %s %d\n", first > 128 ? "killed by signal" : "exit status",
           first > 128 ? first - 128 : first);
    if (first == 0)
        printf("  (this driver refuses the payload cleanly: nothing to heal)\n");
    int second = session_process(cache, bin_dir);
    bad += expect(second, 0, "second run's exit status");
    bad += check_entries(cache, n, files, &nfiles);
    free_names(files, nfiles > 0 ? nfiles : 0);
    return bad;
}

/* A FIFO and a directory in place of entries are rejected without
 * blocking (the alarm fails the test if an open blocks) and rebuilt. */
static int check_odd_entries(const char *cache, const char *bin_dir, int n)
{
    char *files[MAX_FILES];
    int nfiles = list_dir(cache, files);
    int bad = nfiles < 2 || unlink(files[0]) || mkfifo(files[0], 0600) || unlink(files[1]) ||
              mkdir(files[1], 0700);
    if (bad)
        printf("FAIL: cannot put a FIFO and a directory in the cache\n");
    printf("after replacing one entry by a FIFO, another by a directory:\n");
    counts c = {0};
    float y[RELU_N];
    alarm(300);
    int rc = bad ? 1 : session(cache, bin_dir, &c, &n, y);
    alarm(0);
    bad += rc + expect(c.rejected, 2, "entries rejected with a warning") +
           expect(c.built, 2, "programs rebuilt from source");
    if (nfiles >= 2)
        rmdir(files[1]);
    free_names(files, nfiles > 0 ? nfiles : 0);
    return bad;
}

/* What the build observer saw of where programs go. */
typedef struct store_events {
    int ended, stored, driver_cached;
} store_events;

static void on_build_store(void *user, const clnet_build_event *e)
{
    store_events *s = user;
    if (!e->done)
        return;
    s->ended++;
    s->stored += e->cache_dir != NULL;
    s->driver_cached += e->driver_caches;
}

/* CLNET_CACHE_STORE unset: a ReLU on the first device builds its program
 * from source and stores it in `cache` unless the device is PoCL with its
 * own kernel cache on, where the directory stays empty and the observer
 * hears why. */
static int check_default_store(const char *root)
{
    char cache[512];
    snprintf(cache, sizeof cache, "%s/auto", root);
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: clnet_ctx_new\n");
        return 1;
    }
    store_events s = {0};
    clnet_ctx_set_build_hook(ctx, on_build_store, &s);
    clnet_device *devs[8];
    int ndev = 0;
    clnet_device_info info;
    int rc = test_check_status(ctx, clnet_opencl_set_cache_dir(ctx, cache), "set_cache_dir");
    if (rc == 0)
        rc = test_open_devices(ctx, devs, 8, &ndev);
    if (rc == 0)
        rc = test_check_status(ctx, clnet_device_info_get(devs[0], &info), "device info");
    int64_t shape[1] = {RELU_N};
    static const float zeros[RELU_N];
    clnet_tensor *tx = rc ? NULL : test_tensor(devs[0], 1, shape, zeros);
    clnet_tensor *ty = rc ? NULL : test_tensor(devs[0], 1, shape, NULL);
    if (rc == 0 && (!tx || !ty))
        rc = 1;
    clnet_op op = clnet_op_activation(CLNET_ACT_RELU, 0.0f);
    if (rc == 0)
        rc = test_check_status(ctx, clnet_op_run(devs[0], &op, 1, &tx, 1, &ty), "relu");
    clnet_tensor_free(tx);
    clnet_tensor_free(ty);
    clnet_ctx_free(ctx);
    if (rc)
        return rc;
    const char *pocl_cache = getenv("POCL_KERNEL_CACHE");
    bool driver_caches = strcmp(info.platform, "Portable Computing Language") == 0 &&
                         !(pocl_cache && strcmp(pocl_cache, "0") == 0);
    printf("default store on %s (%s):\n", info.name,
           driver_caches ? "the driver caches kernels itself" : "no driver cache");
    char *files[MAX_FILES];
    int nfiles = list_dir(cache, files);
    int bad = s.ended < 1;
    if (bad)
        printf("FAIL: the ReLU built no program from source\n");
    bad += expect(nfiles > 0 ? nfiles : 0, driver_caches ? 0 : s.ended, "entries stored") +
           expect(s.stored, driver_caches ? 0 : s.ended, "builds reported stored") +
           expect(s.driver_cached, driver_caches ? s.ended : 0,
                  "builds reported cached by the driver");
    free_names(files, nfiles > 0 ? nfiles : 0);
    return bad;
}

static int run(const char *root)
{
    char cache[512], bin_dir[512];
    snprintf(cache, sizeof cache, "%s/cache/nested", root);
    snprintf(bin_dir, sizeof bin_dir, "%s/bin", root);
    counts c = {0};
    int n = 0;
    float first[RELU_N], y[RELU_N];

    unsetenv("CLNET_CACHE_STORE");
    int rc = check_default_store(root);
    if (rc)
        return rc;
    /* From here on every program is stored (child sessions inherit it). */
    setenv("CLNET_CACHE_STORE", "always", 1);
    printf("cold start (empty cache %s, CLNET_CACHE_STORE=always):\n", cache);
    rc = session(cache, bin_dir, &c, &n, first);
    if (rc)
        return rc;
    if (n < 4) {
        printf("FAIL: %d programs; this test damages 4 cache entries\n", n);
        return 1;
    }
    int bad = expect(c.built, n, "programs built from source") +
              expect(c.hits, 0, "cache hits") + expect(c.rejected, 0, "entries rejected") +
              expect(c.started, n, "builds announced to the observer") +
              expect(c.ended, n, "builds ended to the observer") +
              expect(c.total, n, "total announced (all to build)") +
              expect(c.disorder, 0, "observer events out of order");
    char *files[MAX_FILES];
    int nfiles;
    bad += check_entries(cache, n, files, &nfiles) + check_relu(first, first, "cold");

    printf("warm start:\n");
    c = (counts){0};
    if (bad || (rc = session(cache, bin_dir, &c, &n, y))) {
        free_names(files, nfiles);
        return bad ? 1 : rc;
    }
    bad += expect(c.built, 0, "programs built from source") +
           expect(c.hits, n, "cache hits") + expect(c.started, 0, "builds announced") +
           check_relu(y, first, "from cache");

    printf("after damaging 4 entries (stale key, truncated, payload byte, magic):\n");
    if (!bad && corrupt_entries(files)) {
        printf("FAIL: cannot damage the cache files\n");
        bad = 1;
    }
    free_names(files, nfiles);
    c = (counts){0};
    if (bad || (rc = session(cache, bin_dir, &c, &n, y)))
        return bad ? 1 : rc;
    bad += expect(c.rejected, 4, "entries rejected with a warning") +
           expect(c.built, 4, "programs rebuilt from source") +
           expect(c.ended, 4, "rebuilds ended to the observer") +
           expect(c.disorder, 0, "observer events out of order") +
           expect(c.hits, n - 4, "cache hits") + check_relu(y, first, "after rebuild");

    printf("after the rebuild:\n");
    c = (counts){0};
    if (bad || (rc = session(cache, bin_dir, &c, &n, y)))
        return bad ? 1 : rc;
    bad += expect(c.hits, n, "cache hits") + expect(c.built, 0, "programs built from source") +
           check_entries(cache, n, files, &nfiles);
    free_names(files, nfiles);

    /* The sources on disk, joined with cl/common.clh as the embedder joins
     * them, are the embedded text byte for byte: every key matches. */
    printf("sources read from CLNET_CL_DIR=%s:\n", CL_DIR);
    c = (counts){0};
    setenv("CLNET_CL_DIR", CL_DIR, 1);
    rc = bad ? 0 : session(cache, bin_dir, &c, &n, y);
    unsetenv("CLNET_CL_DIR");
    if (bad || rc)
        return bad ? 1 : rc;
    bad += expect(c.hits, n, "cache hits") + expect(c.built, 0, "programs built from source") +
           check_relu(y, first, "from CLNET_CL_DIR's sources");
    if (!bad)
        bad = check_odd_entries(cache, bin_dir, n);
    if (!bad)
        bad = check_crashing_entry(cache, bin_dir, n);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "session") == 0) {
        counts c = {0};
        int n = 0;
        float y[RELU_N];
        return session(argv[2], argv[3], &c, &n, y);
    }
    char root[] = "/tmp/clnet-test-cache-XXXXXX";
    if (!mkdtemp(root)) {
        printf("FAIL: mkdtemp\n");
        return 1;
    }
    int rc = run(root);
    remove_tree(root);
    printf("%s\n", rc == 0 ? "PASS" : rc == TEST_SKIP ? "SKIP" : "FAIL");
    return rc;
}
