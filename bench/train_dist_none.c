/* train_dist_none.c - train_dist.h for a clnet-bench built without MPI
 * (-Dmpi=disabled or no MPI found): every run is one process, and a run
 * under mpirun is refused rather than trained N times over. */
#include "train_dist.h"
#include "bench.h"

#include <stdlib.h>

int train_dist_join(const char *cmd, clnet_ctx *ctx, train_dist **out)
{
    (void)ctx;
    *out = NULL;
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK")) {
        fprintf(stderr, "clnet-bench %s: started by mpirun, but built without MPI "
                "(configure with -Dmpi=enabled; Debian: libopenmpi-dev)\n", cmd);
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}

void train_dist_free(train_dist *d)
{
    (void)d;
}

int train_dist_rank(const train_dist *d)
{
    (void)d;
    return 0;
}

int train_dist_size(const train_dist *d)
{
    (void)d;
    return 1;
}

int train_dist_attach(const char *cmd, clnet_ctx *ctx, train_dist *d, clnet_net *net,
                      bool sync_bn)
{
    (void)cmd, (void)ctx, (void)d, (void)net, (void)sync_bn;
    return BENCH_EXIT_OK;
}

clnet_status train_dist_epoch(train_dist *d, const clnet_dataset *ds,
                              const clnet_train_opts *opts, const clnet_optimizer *opt,
                              clnet_eval *stats)
{
    (void)d, (void)ds, (void)opts, (void)opt, (void)stats;
    return CLNET_ERR_UNSUPPORTED;
}

void train_dist_fail(const char *cmd, train_dist *d)
{
    (void)cmd, (void)d;
}

void train_dist_print_timing(const train_dist *d, FILE *log, int batch)
{
    (void)d, (void)log, (void)batch;
}

void train_dist_json(const train_dist *d, FILE *f)
{
    (void)d;
    fprintf(f, "\"ranks\": 1, ");
}
