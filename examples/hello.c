/* hello.c - the smallest clnet program: a 3x3 convolution (a Laplacian) and a
 * ReLU on a 5x5 input, on the default device, linked through pkg-config. */
#include <stdio.h>

#include <clnet.h>

#define CHECK(call) do { clnet_status st_ = (call); if (st_ != CLNET_OK) { \
    fprintf(stderr, "%s: %s: %s\n", #call, clnet_status_str(st_), clnet_last_error(ctx)); \
    return 1; } } while (0)

int main(void)
{
    float x[25], y[25], w[9] = {0, 1, 0, 1, -4, 1, 0, 1, 0};
    for (int i = 0; i < 25; i++)   /* a paraboloid: its Laplacian is 4 */
        x[i] = (float)((i / 5 - 2) * (i / 5 - 2) + (i % 5 - 2) * (i % 5 - 2));
    const int64_t xs[4] = {1, 1, 5, 5}, ws[4] = {1, 1, 3, 3};
    clnet_ctx *ctx = NULL;
    clnet_device *dev;
    clnet_device_info info;
    clnet_tensor *tx, *tw, *ty;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    CHECK(clnet_device_find(ctx, NULL, &dev));   /* $CLNET_DEVICE, else the first OpenCL device */
    CHECK(clnet_device_info_get(dev, &info));
    CHECK(clnet_tensor_new(dev, CLNET_F32, 4, xs, &tx));
    CHECK(clnet_tensor_new(dev, CLNET_F32, 4, ws, &tw));
    CHECK(clnet_tensor_new(dev, CLNET_F32, 4, xs, &ty));   /* pad 1 keeps 5x5 */
    CHECK(clnet_tensor_write(tx, x, sizeof x));
    CHECK(clnet_tensor_write(tw, w, sizeof w));
    clnet_op conv = clnet_op_conv(1, 1, 1, 1), relu = clnet_op_activation(CLNET_ACT_RELU, 0);
    CHECK(clnet_op_run(dev, &conv, 2, (clnet_tensor *[]){tx, tw}, 1, &ty));
    CHECK(clnet_op_run(dev, &relu, 1, &ty, 1, &ty));
    CHECK(clnet_tensor_read(ty, y, sizeof y));
    printf("relu(conv3x3(x)) on %s:\n", info.name);
    for (int i = 0; i < 25; i++)
        printf("%4.0f%s", y[i], i % 5 == 4 ? "\n" : "");
    clnet_tensor_free(tx);
    clnet_tensor_free(tw);
    clnet_tensor_free(ty);
    clnet_ctx_free(ctx);
    return 0;
}
