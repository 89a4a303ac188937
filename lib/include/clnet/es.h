/* clnet/es.h - gradient-free training: an evolution strategy (OpenAI-ES,
 * Salimans et al. 2017) estimates the gradient of a net's loss from forward
 * passes alone, and the usual optimizer step (SGD or Adam) applies it. */
#ifndef CLNET_ES_H
#define CLNET_ES_H

#include "clnet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of `clnet-bench train --optimizer es`. */
#define CLNET_ES_POPULATION_DEFAULT 50
#define CLNET_ES_SIGMA_DEFAULT 0.02f

/* One ES step's settings. Point clnet_optimizer.es at one to make
 * clnet_net_train_epoch estimate every step's gradient this way. */
typedef struct clnet_es_params {
    int population;              /* evaluations per step, even, 2..100000: population / 2
                                    antithetic pairs theta +- sigma * eps */
    float sigma;                 /* the perturbations' standard deviation, finite, > 0 */
    uint64_t seed;               /* with the net's step count, picks every eps */
} clnet_es_params;

/* Estimates the gradient of the net's loss (clnet_net_set_loss; an MSE net
 * is scored against one-hot targets of `labels`) on the batch x (n images,
 * as clnet_net_forward takes them) and labels, by OpenAI-ES: population / 2
 * Gaussian directions eps_i over every parameter clnet_net_step would
 * update (frozen layers and learning-rate multipliers of 0 left out), each
 * evaluated at theta + sigma eps_i and theta - sigma eps_i by a forward pass
 * in the net's mode (clnet_net_set_training; a training forward also moves
 * batch-norm running statistics); the fitnesses (minus the batch's mean
 * loss) are replaced by their centred ranks in [-0.5, 0.5]; and
 *     g = -1 / (population * sigma) * sum_i (rank(+eps_i) - rank(-eps_i)) eps_i
 * is written where clnet_net_backward writes gradients, so that
 * clnet_net_step applies it with SGD or Adam. The parameters end as they
 * started (theta). The eps_i are a pure function of (p->seed, the net's
 * optimizer step count, i, element): the same seed and steps give the same
 * estimates on every device. Before the perturbations one forward pass at
 * theta fills `out` (may be NULL; n * outputs-per-image floats, as
 * clnet_net_read_output) and *loss (may be NULL) with its mean loss: the
 * step costs population + 1 forward passes and no backward pass.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (NULL net, p or x, an unbound net, one
 * bound for inference only or training data-parallel, n outside
 * 1..max_batch, a population or sigma outside its range, a label outside
 * the outputs, a net with nothing to update), CLNET_ERR_HOST_MEMORY, and
 * those of clnet_net_forward. */
clnet_status clnet_net_es_gradient(clnet_net *net, const float *x, const int32_t *labels, int n,
                                   const clnet_es_params *p, float *out, float *loss);

#ifdef __cplusplus
}
#endif
#endif
