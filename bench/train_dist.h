/* train_dist.h - `clnet-bench train` under mpirun: joining the job, the
 * epochs across the ranks, and ending every rank when one fails. Built on
 * libclnet-mpi (train_dist_mpi.c), or without MPI (train_dist_none.c),
 * where a run under mpirun is refused. */
#ifndef CLNET_BENCH_TRAIN_DIST_H
#define CLNET_BENCH_TRAIN_DIST_H

#include <stdio.h>

#include "clnet/nn.h"

typedef struct train_dist train_dist;

/* Joins the MPI job when this process was started by mpirun: *out is the
 * job (freed with train_dist_free), else NULL (a run of one process).
 * Returns an exit code; the message is printed. */
int train_dist_join(const char *cmd, clnet_ctx *ctx, train_dist **out);
void train_dist_free(train_dist *d);

/* This process's rank and the number of ranks (0 and 1 for NULL). */
int train_dist_rank(const train_dist *d);
int train_dist_size(const train_dist *d);

/* Makes the bound net train across the ranks (every rank calls it), with
 * batch norm synchronised across them when sync_bn is set; an exit code,
 * the message printed. */
int train_dist_attach(const char *cmd, clnet_ctx *ctx, train_dist *d, clnet_net *net,
                      bool sync_bn);

/* One epoch of the attached net: this rank's shard of every batch, the
 * statistics the whole job's (clnet_dist_train_epoch). */
clnet_status train_dist_epoch(train_dist *d, const clnet_dataset *ds,
                              const clnet_train_opts *opts, const clnet_optimizer *opt,
                              clnet_eval *stats);

/* After this rank reported a failure: ends every rank of a job of more than
 * one (they would wait for this one); returns for a job of one. */
void train_dist_fail(const char *cmd, train_dist *d);

/* Where the gradient exchange's time went, per step, to log; and as JSON
 * fields ("ranks", "allreduce_ms_per_step", ... each followed by ", "). */
void train_dist_print_timing(const train_dist *d, FILE *log, int batch);
void train_dist_json(const train_dist *d, FILE *f);

#endif
