/* testutil.c - shared helpers of the clnet tests (see testutil.h). */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int test_failures;

int test_open_devices(clnet_ctx *ctx, clnet_device **devs, int max, int *n)
{
    const char *req = getenv("CLNET_TEST_REQUIRE_DEVICE");
    bool required = req && *req && strcmp(req, "0") != 0;
    int count = clnet_device_count(ctx), opencl = 0;
    *n = 0;
    for (int i = 0; i < count && *n < max; i++) {
        clnet_device_info info;
        clnet_device_describe(ctx, i, &info);
        clnet_status st = clnet_device_get(ctx, i, &devs[*n]);
        if (st != CLNET_OK) {
            printf("FAIL: cannot open device %d (%s): %s\n", i, info.name, clnet_last_error(ctx));
            return 1;
        }
        opencl += info.kind == CLNET_DEVICE_OPENCL;
        (*n)++;
    }
    if (opencl == 0) {
        if (required) {
            printf("FAIL: no OpenCL device found and CLNET_TEST_REQUIRE_DEVICE is set\n");
            return 1;
        }
        printf("SKIP: no OpenCL device found\n");
        return TEST_SKIP;
    }
    return 0;
}

int test_ref_index(clnet_device *const *devs, int n)
{
    for (int i = 0; i < n; i++) {
        clnet_device_info info;
        clnet_device_info_get(devs[i], &info);
        if (info.kind == CLNET_DEVICE_REF)
            return i;
    }
    return -1;
}

clnet_device *test_opencl_device(clnet_ctx *ctx, clnet_device *const *devs, int n)
{
    clnet_device *dev;
    clnet_device_info info;
    if (clnet_device_find(ctx, NULL, &dev) == CLNET_OK &&
        clnet_device_info_get(dev, &info) == CLNET_OK && info.kind == CLNET_DEVICE_OPENCL)
        return dev;
    for (int i = 0; i < n; i++)
        if (clnet_device_info_get(devs[i], &info) == CLNET_OK &&
            info.kind == CLNET_DEVICE_OPENCL)
            return devs[i];
    return NULL;
}

uint64_t test_rng_next(test_rng *r)
{
    return clnet_splitmix64(&r->state);
}

float test_rng_uniform(test_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * clnet_splitmix64_float(&r->state);
}

void test_fill_uniform(test_rng *r, float *data, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        data[i] = test_rng_uniform(r, lo, hi);
}

clnet_tensor *test_tensor(clnet_device *dev, int ndim, const int64_t *shape, const float *data)
{
    clnet_tensor *t = NULL;
    clnet_ctx *ctx = clnet_device_ctx(dev);
    if (test_check_status(ctx, clnet_tensor_new(dev, CLNET_F32, ndim, shape, &t), "tensor_new"))
        return NULL;
    if (data && test_check_status(ctx, clnet_tensor_write(t, data,
                                  (size_t)clnet_tensor_numel(t) * sizeof(float)), "tensor_write")) {
        clnet_tensor_free(t);
        return NULL;
    }
    return t;
}

float *test_read(const clnet_tensor *t)
{
    size_t bytes = (size_t)clnet_tensor_numel(t) * sizeof(float);
    float *data = malloc(bytes);
    if (!data)
        return NULL;
    clnet_ctx *ctx = clnet_device_ctx(clnet_tensor_device(t));
    if (test_check_status(ctx, clnet_tensor_read(t, data, bytes), "tensor_read")) {
        free(data);
        return NULL;
    }
    return data;
}

int test_check_status(clnet_ctx *ctx, clnet_status st, const char *where)
{
    if (st == CLNET_OK)
        return 0;
    printf("FAIL: %s: %s: %s\n", where, clnet_status_str(st), clnet_last_error(ctx));
    return 1;
}

int test_run_logged(char *const argv[], const char *log)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 2) < 0 || dup2(fd, 1) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

bool test_file_has(const char *path, const char *text)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}
