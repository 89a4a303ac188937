/* finetune.h - `clnet-bench train --finetune`: a model whose classifier head
 * is new and whose other layers come from a checkpoint, frozen up to a layer
 * given by name or index. */
#ifndef CLNET_BENCH_FINETUNE_H
#define CLNET_BENCH_FINETUNE_H

#include "training.h"

typedef struct finetune_spec {
    const char *checkpoint;      /* --finetune CKPT */
    const char *freeze;          /* --freeze UPTO: a layer name or index; NULL = none */
    int head;                    /* --head N: the new classifier's outputs */
    const int *resize;           /* --resize HxW as training_model_new takes it */
} finetune_spec;

/* The id of layer `which` of `net`: its name, else a decimal index in
 * 0..layer count - 1. `opt` names the option in the usage error for a layer
 * that does not exist. Returns an exit code. */
int finetune_layer_id(const char *cmd, const char *opt, clnet_net *net, const char *which,
                      int *id);

/* Builds the net of cfg `text` (`name` names it in messages) for the input
 * shape of `ds` with a classifier head of f->head outputs, loads every layer
 * before the head from f->checkpoint (clnet_net_load_backbone), binds it to
 * `dev` for batches of up to `batch` images (the head's weights from
 * `seed`), and freezes layers 1..f->freeze, which must come before the
 * head. Says what it did on `log`. Returns an exit code. */
int finetune_model_new(const char *cmd, clnet_ctx *ctx, const char *text, const char *name,
                       const clnet_dataset *ds, const finetune_spec *f, clnet_device *dev,
                       int batch, uint64_t seed, FILE *log, clnet_net **out);

#endif
