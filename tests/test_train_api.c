/* test_train_api.c - the training API's contract: the per-batch progress
 * callback (every batch reported in order; a non-zero return stops the
 * epoch cleanly) and the range checks of clnet_train_opts and
 * clnet_optimizer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clnet.h"
#include "testutil.h"

#define SEED 12u
#define COUNT 20
#define BATCH 4

typedef struct seen {
    int calls, stop_after;
    int64_t last_batch, batches, images;
    bool in_order, finite;
} seen;

static int on_batch(void *user, const clnet_progress *p)
{
    seen *s = user;
    s->in_order &= p->batch == s->last_batch + 1;
    s->finite &= isfinite(p->loss) && p->loss > 0.0 && p->images_per_second > 0.0 &&
                 p->batch_seconds > 0.0;
    s->last_batch = p->batch;
    s->batches = p->batches;
    s->images = p->images;
    s->calls++;
    return s->stop_after > 0 && s->calls == s->stop_after;
}

static clnet_net *tiny_net(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_shape in = {.ndim = 3, .dim = {1, 3, 3}};
    clnet_net *net = NULL;
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .out_channels = 2, .bias = true};
    if (!OK(ctx, clnet_net_new(ctx, &in, &net)) || !OK(ctx, clnet_net_add(net, &fc, NULL)) ||
        !OK(ctx, clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED))) {
        clnet_net_free(net);
        return NULL;
    }
    return net;
}

static void expect_refusal(clnet_ctx *ctx, clnet_status st, const char *field)
{
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && strstr(clnet_last_error(ctx), field),
          "%s out of range: status %d, '%s'", field, st, clnet_last_error(ctx));
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *ref = NULL;
    uint8_t images[COUNT * 9], labels[COUNT];
    for (int i = 0; i < COUNT * 9; i++)
        images[i] = (uint8_t)(i * 53 % 256);
    for (int i = 0; i < COUNT; i++)
        labels[i] = (uint8_t)(i % 2);
    clnet_dataset *ds = NULL;
    clnet_net *net = NULL;
    if (!OK(ctx, clnet_device_find(ctx, "ref", &ref)) ||
        !OK(ctx, clnet_dataset_from_arrays(ctx, "tiny", COUNT, 1, 3, 3, 2, images, labels,
                                           false, &ds)) ||
        !(net = tiny_net(ctx, ref)))
        goto out;
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f};
    clnet_eval ev;
    seen s = {.last_batch = -1, .in_order = true, .finite = true};
    clnet_train_opts opts = {.batch = BATCH, .seed = SEED, .progress = on_batch,
                             .progress_user = &s};
    if (OK(ctx, clnet_net_train_epoch(net, ds, &opts, &sgd, &ev)))
        CHECK(s.calls == 5 && s.batches == 5 && s.images == COUNT && s.in_order && s.finite &&
              !ev.stopped, "progress of a whole epoch: %d calls, %lld batches, %lld images, "
              "in order %d, finite %d", s.calls, (long long)s.batches, (long long)s.images,
              s.in_order, s.finite);
    s = (seen){.last_batch = -1, .in_order = true, .finite = true, .stop_after = 2};
    opts.epoch = 1;
    clnet_train_state state;
    if (OK(ctx, clnet_net_train_epoch(net, ds, &opts, &sgd, &ev))) {
        clnet_net_train_state(net, &state);
        CHECK(s.calls == 2 && ev.stopped && ev.count == 2 * BATCH && state.epochs_done == 1,
              "stopped after 2 batches: %d calls, stopped %d, %lld images, epochs done %d",
              s.calls, ev.stopped, (long long)ev.count, state.epochs_done);
    }
    printf("progress callback: every batch in order; a stop ends the epoch cleanly\n");

    opts = (clnet_train_opts){.batch = -1};
    expect_refusal(ctx, clnet_net_train_epoch(net, ds, &opts, &sgd, &ev), "batch");
    opts = (clnet_train_opts){.threads = 65};
    expect_refusal(ctx, clnet_net_evaluate(net, ds, &opts, &ev), "threads");
    opts = (clnet_train_opts){.limit = -3};
    expect_refusal(ctx, clnet_net_evaluate(net, ds, &opts, &ev), "limit");
    opts = (clnet_train_opts){0};
    clnet_optimizer bad = sgd;
    bad.momentum = 1.0f;
    expect_refusal(ctx, clnet_net_train_epoch(net, ds, &opts, &bad, &ev), "momentum");
    bad = sgd;
    bad.lr = NAN;
    expect_refusal(ctx, clnet_net_step(net, &bad, 0.1f), "lr");
    bad = (clnet_optimizer){.kind = CLNET_OPTIM_ADAM, .lr = 1e-3f, .beta2 = 1.0f};
    expect_refusal(ctx, clnet_net_step(net, &bad, 0.1f), "beta");
    printf("out-of-range options and optimizer fields: refused, naming the field\n");
out:
    clnet_net_free(net);
    clnet_dataset_free(ds);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return 0;
}
