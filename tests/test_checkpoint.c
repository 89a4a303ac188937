/* test_checkpoint.c - checkpoints: a save/load round trip gives bit-identical
 * outputs and optimizer steps, a different architecture or a damaged file is
 * refused with a message naming the problem (a directory or a FIFO too,
 * without blocking), a save killed at any moment never destroys the previous
 * checkpoint nor piles up temporaries, and a save on a full disk fails
 * cleanly. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nn/nn_internal.h"
#include "testutil.h"

#define SEED 4242u
#define BATCH 4
#define KILLS 25
#define MAX_KILLS 200

static char dir[64];

static void path_in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* conv(width) - BN+ReLU - max pool - linear 5, on 3x6x6 */
static clnet_net *small_net(clnet_ctx *ctx, int width, const char *conv_name)
{
    clnet_shape in = {.ndim = 3, .dim = {3, 6, 6}};
    clnet_net *net;
    if (clnet_net_new(ctx, &in, &net) != CLNET_OK)
        return NULL;
    clnet_layer_spec conv = {.kind = CLNET_LAYER_CONV, .out_channels = width, .kernel = {3, 3},
                             .bias = true};
    conv.conv.pad_begin[0] = conv.conv.pad_begin[1] = conv.conv.pad_end[0] =
        conv.conv.pad_end[1] = 1;
    strcpy(conv.name, conv_name);
    clnet_layer_spec bn = {.kind = CLNET_LAYER_BATCHNORM, .has_act = true};
    clnet_layer_spec pool = {.kind = CLNET_LAYER_POOL};
    pool.pool.kernel[0] = pool.pool.kernel[1] = 2;
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .out_channels = 5, .bias = true};
    clnet_layer_spec *all[] = {&conv, &bn, &pool, &fc};
    for (int i = 0; i < 4; i++)
        if (clnet_net_add(net, all[i], NULL) != CLNET_OK) {
            printf("FAIL: building the net: %s\n", clnet_last_error(ctx));
            clnet_net_free(net);
            return NULL;
        }
    return net;
}

static const int32_t labels[BATCH] = {0, 3, 1, 4};

/* A few Adam steps, so that weights, BN running statistics and optimizer
 * state all differ from their initial values. */
static bool train(clnet_net *net, const float *x, int steps)
{
    clnet_optimizer adam = {.kind = CLNET_OPTIM_ADAM, .lr = 0.01f};
    clnet_net_set_training(net, true);
    for (int s = 0; s < steps; s++)
        if (!OK(net->ctx, clnet_net_forward(net, x, BATCH)) ||
            !OK(net->ctx, clnet_net_backward(net, labels, NULL, NULL)) ||
            !OK(net->ctx, clnet_net_step(net, &adam, adam.lr)))
            return false;
    return true;
}

/* Inference output for x (malloc'd, BATCH * 5 floats). */
static float *infer(clnet_net *net, const float *x)
{
    float *y = malloc(BATCH * 5 * sizeof *y);
    clnet_net_set_training(net, false);
    if (!y || !OK(net->ctx, clnet_net_forward(net, x, BATCH)) ||
        !OK(net->ctx, clnet_net_read_output(net, y, BATCH * 5))) {
        free(y);
        return NULL;
    }
    return y;
}

static bool same(const float *a, const float *b, size_t n)
{
    return a && b && memcmp(a, b, n * sizeof *a) == 0;
}

static int count_temp_files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_round_trip(clnet_ctx *ctx, clnet_device *dev, const float *x)
{
    char path[128];
    path_in_dir(path, sizeof path, "round.ckpt");
    clnet_net *a = small_net(ctx, 4, "features"), *b = small_net(ctx, 4, "features");
    clnet_net *c = small_net(ctx, 4, "features");
    if (!a || !b || !c || !OK(ctx, clnet_net_bind(a, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)) ||
        !OK(ctx, clnet_net_bind(b, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED + 1)) || !train(a, x, 3))
        goto out;
    if (!OK(ctx, clnet_net_save(a, path)))
        goto out;
    CHECK(count_temp_files() == 0, "a temporary file was left behind");
    float *ya = infer(a, x), *yb0 = infer(b, x);
    CHECK(!same(ya, yb0, BATCH * 5), "differently seeded nets agree before loading");
    OK(ctx, clnet_net_load(b, path));
    float *yb = infer(b, x);
    CHECK(same(ya, yb, BATCH * 5), "outputs after loading differ from the saved net's");
    /* loading before binding: the values wait on the host */
    OK(ctx, clnet_net_load(c, path));
    OK(ctx, clnet_net_bind(c, dev, BATCH, CLNET_INIT_XAVIER_UNIFORM, SEED + 2));
    float *yc = infer(c, x);
    CHECK(same(ya, yc, BATCH * 5), "load into an unbound net, then bind: outputs differ");
    /* the optimizer state came along: one more step stays identical */
    train(a, x, 1);
    train(b, x, 1);
    float *ya2 = infer(a, x), *yb2 = infer(b, x);
    CHECK(same(ya2, yb2, BATCH * 5) && !same(ya, ya2, BATCH * 5),
          "an Adam step after loading differs from one without the round trip");
    printf("round trip on %s: outputs bit-identical after load and after one more step\n",
           dev->info.name);
    free(ya);
    free(yb0);
    free(yb);
    free(yc);
    free(ya2);
    free(yb2);
out:
    clnet_net_free(a);
    clnet_net_free(b);
    clnet_net_free(c);
}

static void expect_format_error(clnet_ctx *ctx, clnet_net *net, const char *path,
                                const char *needle, const char *what)
{
    clnet_status st = clnet_net_load(net, path);
    CHECK(st == CLNET_ERR_FORMAT && strstr(clnet_last_error(ctx), needle),
          "%s: status %d, message '%s' (expected one naming '%s')", what, st,
          clnet_last_error(ctx), needle);
    printf("%s: %s\n", what, clnet_last_error(ctx));
}

static bool write_bytes(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, n, f) == n;
    if (f)
        ok = fclose(f) == 0 && ok;
    return ok;
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = malloc(1 << 20);
    *n = f && data ? fread(data, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return data;
}

/* A directory and a FIFO named as checkpoints are refused at once: the
 * alarm fails the test if opening the FIFO blocks. */
static void expect_not_regular(clnet_ctx *ctx, clnet_net *net)
{
    char path[128];
    path_in_dir(path, sizeof path, "a-directory.ckpt");
    if (mkdir(path, 0700) == 0) {
        clnet_status st = clnet_net_load(net, path);
        CHECK(st == CLNET_ERR_IO && strstr(clnet_last_error(ctx), "not a regular file"),
              "a directory as a checkpoint: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
        rmdir(path);
    }
    path_in_dir(path, sizeof path, "a-fifo.ckpt");
    if (mkfifo(path, 0600) == 0) {
        alarm(60);
        clnet_status st = clnet_net_load(net, path);
        alarm(0);
        CHECK(st == CLNET_ERR_IO && strstr(clnet_last_error(ctx), "not a regular file"),
              "a FIFO as a checkpoint: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
        unlink(path);
    }
}

static void test_refusals(clnet_ctx *ctx, clnet_device *dev, const float *x)
{
    char path[128], bad[128];
    path_in_dir(path, sizeof path, "good.ckpt");
    path_in_dir(bad, sizeof bad, "bad.ckpt");
    clnet_net *a = small_net(ctx, 4, "features");
    clnet_net *wider = small_net(ctx, 6, "features"), *renamed = small_net(ctx, 4, "stem");
    if (!a || !wider || !renamed ||
        !OK(ctx, clnet_net_bind(a, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)) ||
        !OK(ctx, clnet_net_save(a, path)))
        goto out;
    float *before = infer(a, x);
    expect_format_error(ctx, wider, path, "features", "wider conv");
    expect_format_error(ctx, renamed, path, "stem", "renamed layer");
    /* an extra layer at the end: every common layer agrees, the count does not */
    clnet_layer_spec extra = {.kind = CLNET_LAYER_SOFTMAX};
    clnet_net *longer = small_net(ctx, 4, "features");
    if (longer && OK(ctx, clnet_net_add(longer, &extra, NULL)))
        expect_format_error(ctx, longer, path, "layers in the file", "extra layer");
    clnet_net_free(longer);

    size_t n;
    unsigned char *data = read_bytes(path, &n);
    if (data && n > 64) {
        write_bytes(bad, data, n / 2);
        expect_format_error(ctx, a, bad, "CRC", "truncated to half");
        data[n / 2] ^= 0x10;
        write_bytes(bad, data, n);
        expect_format_error(ctx, a, bad, "CRC", "one bit flipped");
        data[n / 2] ^= 0x10;
        data[0] = 'X';
        write_bytes(bad, data, n);
        expect_format_error(ctx, a, bad, "magic", "wrong magic");
        write_bytes(bad, data, 10);
        expect_format_error(ctx, a, bad, "too short", "10 bytes");
    }
    free(data);
    path_in_dir(bad, sizeof bad, "missing.ckpt");
    CHECK(clnet_net_load(a, bad) == CLNET_ERR_IO, "missing file: %s", clnet_last_error(ctx));
    expect_not_regular(ctx, a);
    float *after = infer(a, x);
    CHECK(same(before, after, BATCH * 5), "a refused load changed the net");
    free(before);
    free(after);
out:
    clnet_net_free(a);
    clnet_net_free(wider);
    clnet_net_free(renamed);
}

/* A net of 4M weights: a 16 MB checkpoint, slow enough to kill mid-save. */
static clnet_net *large_net(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_shape in = {.ndim = 1, .dim = {2048}};
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .out_channels = 2048};
    clnet_net *net;
    if (clnet_net_new(ctx, &in, &net) != CLNET_OK)
        return NULL;
    if (clnet_net_add(net, &fc, NULL) != CLNET_OK ||
        clnet_net_bind(net, dev, 1, CLNET_INIT_HE_UNIFORM, SEED) != CLNET_OK) {
        printf("FAIL: large net: %s\n", clnet_last_error(ctx));
        clnet_net_free(net);
        return NULL;
    }
    return net;
}

/* The child: says it is ready on `ready`, then saves again and again, each
 * version with a different first weight, until killed. */
static void saver(clnet_net *net, const char *path, int ready)
{
    nn_param *w = &net->layers[1].params[0];
    float *v = malloc((size_t)nn_numel(&w->shape) * sizeof *v);
    /* the first write and save after fork copy every page of the weights
     * and the save buffers (0.7 s on a busy machine): done before the kill
     * clock starts, so that the saves it times take as long as the parent's */
    if (!v || nn_param_read(net, w, v) != CLNET_OK || nn_param_write(net, w, v) != CLNET_OK ||
        clnet_net_save(net, path) != CLNET_OK || write(ready, "r", 1) != 1)
        _exit(2);
    for (int i = 1;; i++) {
        v[0] = (float)i;
        if (nn_param_write(net, w, v) != CLNET_OK || clnet_net_save(net, path) != CLNET_OK)
            _exit(3);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Forks a saver and kills it `delay` seconds after it is ready. Returns
 * whether it died by the signal. */
static bool kill_saver(clnet_net *net, const char *path, double delay)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        saver(net, path, fds[1]);
    }
    close(fds[1]);
    char c;
    bool ready = pid > 0 && read(fds[0], &c, 1) == 1;
    close(fds[0]);
    if (pid < 0)
        return false;
    struct timespec t = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
    if (ready)
        nanosleep(&t, NULL);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    return ready && WIFSIGNALED(status);
}

static void test_kill_during_save(clnet_ctx *ctx, clnet_device *ref)
{
    char path[128];
    path_in_dir(path, sizeof path, "large.ckpt");
    clnet_net *net = large_net(ctx, ref);
    double t0 = now();
    if (!net || !OK(ctx, clnet_net_save(net, path))) {
        clnet_net_free(net);
        return;
    }
    /* kills land anywhere in the first two saves of each child: during the
     * write, the fsync, the rename, or between saves */
    double save_time = now() - t0;
    test_rng rng = {SEED};
    int mid_save = 0, good = 0;
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* at least KILLS kills, and more (up to MAX_KILLS) until one lands
     * mid-write: on a loaded machine the timing of a save varies widely */
    int kills = 0;
    for (int k = 0; k < KILLS || (mid_save == 0 && k < MAX_KILLS); k++, kills++) {
        double delay = 2.0 * save_time * (double)(test_rng_next(&rng) % 1000) / 1000.0;
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        double t_kill = t.tv_sec * 1e9 + t.tv_nsec;
        CHECK(kill_saver(net, path, delay), "kill %d: the saving child did not die by SIGKILL",
              k);
        /* a temporary written since this child started: the kill hit a save */
        struct stat sb;
        mid_save += stat(tmp, &sb) == 0 && sb.st_mtim.tv_sec * 1e9 + sb.st_mtim.tv_nsec >= t_kill;
        clnet_status st = clnet_net_load(net, path);
        good += st == CLNET_OK;
        CHECK(st == CLNET_OK, "after kill %d: %s", k, clnet_last_error(ctx));
    }
    printf("killed a saving process %d times (one save takes %.0f ms; %d kills landed "
           "mid-write): the checkpoint loaded every time (%d/%d)\n", kills, 1e3 * save_time,
           mid_save, good, kills);
    CHECK(mid_save > 0, "no kill landed during a write: the test proves nothing");
    /* the killed saves' temporaries must not pile up: one more save leaves none */
    OK(ctx, clnet_net_save(net, path));
    CHECK(count_temp_files() == 0, "%d temporary files left after %d killed saves and a good "
          "one", count_temp_files(), kills);
    clnet_net_free(net);
}

/* A save that hits a file-size limit (a full disk) fails with
 * CLNET_ERR_IO, leaves the previous checkpoint byte for byte and no
 * temporary. Runs in a child, which alone gets the limit. */
static void test_save_on_full_disk(clnet_ctx *ctx, clnet_device *ref)
{
    char path[128];
    path_in_dir(path, sizeof path, "full-disk.ckpt");
    clnet_net *small = small_net(ctx, 4, "features"), *large = large_net(ctx, ref);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = NULL, *after = NULL;
    if (!small || !large || !OK(ctx, clnet_net_bind(small, ref, BATCH, CLNET_INIT_HE_NORMAL, 1)) ||
        !OK(ctx, clnet_net_save(small, path)) || !(before = read_bytes(path, &n0)))
        goto out;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit lim = {1 << 20, 1 << 20};
        /* EFBIG from write() rather than death by SIGXFSZ */
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(2);
        clnet_status st = clnet_net_save(large, path);
        printf("a 16 MB save under a 1 MB file-size limit: %s: %s\n", clnet_status_str(st),
               clnet_last_error(ctx));
        fflush(stdout);
        _exit(st == CLNET_ERR_IO && strstr(clnet_last_error(ctx), "File too large") ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "a save under a file-size limit did not fail cleanly with CLNET_ERR_IO (status %d)",
          status);
    after = read_bytes(path, &n1);
    CHECK(after && n1 == n0 && memcmp(before, after, n0) == 0,
          "a failed save changed the previous checkpoint");
    CHECK(count_temp_files() == 0, "a failed save left a temporary file");
out:
    free(before);
    free(after);
    clnet_net_free(small);
    clnet_net_free(large);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[16];
    int ndev;
    int rc = test_open_devices(ctx, devs, 16, &ndev);
    int r = test_ref_index(devs, ndev);
    snprintf(dir, sizeof dir, "/tmp/clnet-ckpt-XXXXXX");
    if (rc == 1 || r < 0 || !mkdtemp(dir)) {
        clnet_ctx_free(ctx);
        return 1;
    }
    float *x = malloc(BATCH * 108 * sizeof *x);
    test_rng rng = {SEED};
    if (x)
        test_fill_uniform(&rng, x, BATCH * 108, -1.0f, 1.0f);
    for (int d = 0; x && d < ndev; d++)
        test_round_trip(ctx, devs[d], x);
    if (x)
        test_refusals(ctx, devs[r], x);
    test_kill_during_save(ctx, devs[r]);
    test_save_on_full_disk(ctx, devs[r]);
    free(x);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') {
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            remove(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return rc;
}
