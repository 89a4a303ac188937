/* test_scale_model.c - the arithmetic of `clnet-bench scale` on values worked
 * out by hand: the ring all-reduce formula, one worker without
 * communication, one all-reduce after backward against buckets overlapped
 * with it, and a link too slow for the overlap to hide. */
#include <math.h>
#include <stdio.h>

#include "scale_model.h"
#include "testutil.h"

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) <= 1e-9 * (fabs((double)(b)) + 1))

int main(void)
{
    /* 5 us, 100 Gb/s = 12.5e9 bytes/s, buckets of 50 MB */
    scale_network nw = {.alpha_s = 5e-6, .beta_bytes_per_s = 12.5e9, .bucket_bytes = 50e6};

    /* 2(p-1) alpha + 2(p-1)/p n/beta, n = 100 MB: 1e8 / 12.5e9 s = 8 ms */
    CHECK(scale_allreduce_ms(1e8, 1, &nw) == 0, "one worker communicates");
    CHECK(NEAR(scale_allreduce_ms(1e8, 2, &nw), 0.01 + 8.0), "p = 2: %g ms, not 8.01",
          scale_allreduce_ms(1e8, 2, &nw));
    CHECK(NEAR(scale_allreduce_ms(1e8, 4, &nw), 0.03 + 12.0), "p = 4: %g ms, not 12.03",
          scale_allreduce_ms(1e8, 4, &nw));
    CHECK(NEAR(scale_allreduce_ms(0, 1024, &nw), 2 * 1023 * 5e-3), "latency only: %g ms",
          scale_allreduce_ms(0, 1024, &nw));

    /* forward 10 ms; two layers of 50 MB, 10 ms of backward each; step 1 ms.
     * Backward visits layer 1 first: its bucket is ready at 20 ms. */
    scale_layer layers[3] = {{0, 0}, {10, 50e6}, {10, 50e6}};
    scale_step s = {.forward_ms = 10, .step_ms = 1, .layers = layers, .nlayers = 3};
    double comm, exposed;
    CHECK(NEAR(scale_compute_ms(&s), 31), "compute %g ms, not 31", scale_compute_ms(&s));
    for (int bucketed = 0; bucketed < 2; bucketed++) {
        double ms = scale_step_ms(&s, 1, &nw, bucketed, &comm, &exposed);
        CHECK(NEAR(ms, 31) && comm == 0 && exposed == 0,
              "p = 1 (bucketed %d): %g ms, comm %g, exposed %g; not 31, 0, 0", bucketed, ms,
              comm, exposed);
    }
    /* unbucketed, p = 2: 30 + 8.01 + 1 */
    double ms = scale_step_ms(&s, 2, &nw, false, &comm, &exposed);
    CHECK(NEAR(ms, 39.01) && NEAR(comm, 8.01) && NEAR(exposed, 8.01),
          "unbucketed p = 2: %g ms (comm %g, exposed %g), not 39.01 (8.01, 8.01)", ms, comm,
          exposed);
    /* bucketed, p = 2: each 50 MB bucket 0.01 + 4 ms; the first runs
     * 20..24.01 under layer 0's backward, the second 30..34.01; step 1 */
    ms = scale_step_ms(&s, 2, &nw, true, &comm, &exposed);
    CHECK(NEAR(ms, 35.01) && NEAR(comm, 8.02) && NEAR(exposed, 4.01),
          "bucketed p = 2: %g ms (comm %g, exposed %g), not 35.01 (8.02, 4.01)", ms, comm,
          exposed);
    /* a 1 Gb/s link (1.25e8 bytes/s): a bucket takes 0.01 + 400 ms, so the
     * second waits for the first: 20 + 400.01 + 400.01 + 1 */
    nw.beta_bytes_per_s = 1.25e8;
    ms = scale_step_ms(&s, 2, &nw, true, &comm, &exposed);
    CHECK(NEAR(ms, 821.02) && NEAR(exposed, 790.02), "slow link: %g ms (exposed %g), not "
          "821.02 (790.02)", ms, exposed);
    /* one big bucket: the same as one all-reduce after backward */
    nw.bucket_bytes = 1e9;
    CHECK(NEAR(scale_step_ms(&s, 8, &nw, true, NULL, NULL),
               scale_step_ms(&s, 8, &nw, false, NULL, NULL)),
          "one bucket differs from no bucketing");

    if (test_failures)
        printf("%d failure(s)\n", test_failures);
    else
        printf("ok\n");
    return test_failures != 0;
}
