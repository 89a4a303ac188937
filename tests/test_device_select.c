/* test_device_select.c - device selection: "ref", an index, a name
 * substring, CLNET_DEVICE, and the default, as clnet/context.h documents. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static int failures;

static void expect_kind(clnet_ctx *ctx, const char *what, const char *selector,
                        clnet_device_kind kind, int index)
{
    clnet_device *dev = NULL;
    clnet_status st = clnet_device_find(ctx, selector, &dev);
    clnet_device_info info = {0};
    if (st == CLNET_OK)
        clnet_device_info_get(dev, &info);
    bool ok = st == CLNET_OK && info.kind == kind && (index < 0 || info.index == index);
    printf("%s %s: selector %s%s%s -> %s\n", ok ? "ok  " : "FAIL", what, selector ? "\"" : "",
           selector ? selector : "NULL", selector ? "\"" : "",
           st == CLNET_OK ? info.name : clnet_last_error(ctx));
    failures += !ok;
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[16];
    int n, rc = test_open_devices(ctx, devs, 16, &n);
    if (rc != 0) {
        clnet_ctx_free(ctx);
        return rc;
    }
    clnet_device_info first;
    clnet_device_describe(ctx, 0, &first);

    unsetenv("CLNET_DEVICE");
    expect_kind(ctx, "default is the first OpenCL device", NULL, CLNET_DEVICE_OPENCL, 0);
    expect_kind(ctx, "empty selector is the default", "", CLNET_DEVICE_OPENCL, 0);
    expect_kind(ctx, "ref by name", "ref", CLNET_DEVICE_REF, -1);
    expect_kind(ctx, "index 0", "0", CLNET_DEVICE_OPENCL, 0);
    char part[8];
    snprintf(part, sizeof part, "%.5s", first.name);
    for (char *p = part; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p); /* case must not matter */
    expect_kind(ctx, "name substring, any case", part, CLNET_DEVICE_OPENCL, 0);

    setenv("CLNET_DEVICE", "ref", 1);
    expect_kind(ctx, "CLNET_DEVICE=ref", NULL, CLNET_DEVICE_REF, -1);
    setenv("CLNET_DEVICE", "0", 1);
    expect_kind(ctx, "CLNET_DEVICE=0", NULL, CLNET_DEVICE_OPENCL, 0);

    setenv("CLNET_DEVICE", "no-such-device", 1);
    clnet_device *dev = NULL;
    clnet_status st = clnet_device_find(ctx, NULL, &dev);
    bool named = strstr(clnet_last_error(ctx), "no-such-device") != NULL;
    printf("%s unknown CLNET_DEVICE: %s\n", st == CLNET_ERR_NO_DEVICE && named && !dev ? "ok  " : "FAIL",
           clnet_last_error(ctx));
    failures += !(st == CLNET_ERR_NO_DEVICE && named && !dev);
    st = clnet_device_find(ctx, "99", &dev);
    printf("%s index out of range: %s\n", st == CLNET_ERR_NO_DEVICE ? "ok  " : "FAIL",
           clnet_last_error(ctx));
    failures += st != CLNET_ERR_NO_DEVICE;

    clnet_ctx_free(ctx);
    printf("device_select: %d failed\n", failures);
    return failures ? 1 : 0;
}
