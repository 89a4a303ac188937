/* init.c - seeded initial weights computed on the host, so one seed gives
 * bit-identical weights on every device. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) { return clnet_splitmix64(&r->state); }

/* Uniform in [0, 1) with 53 random bits. */
static double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Standard normals by the ziggurat method (Marsaglia & Tsang, with
 * Doornik's 128-strip tables): exact, and nearly always one draw and one
 * comparison, where Box-Muller's log and cos made initialising ResNet-18 on
 * the host dominate start-up. The tables are a few dozen exp/log calls, so
 * each call of nn_init_params computes its own. */
#define ZIG_STRIPS 128
#define ZIG_R 3.442619855899            /* start of the tail */
#define ZIG_V 9.91256303526217e-3       /* area of each strip */

typedef struct ziggurat {
    double x[ZIG_STRIPS + 1];           /* strip edges, x[0] = V / f(R) for the base */
    double ratio[ZIG_STRIPS];           /* x[i+1] / x[i]: below it, a draw is inside */
} ziggurat;

static void ziggurat_init(ziggurat *z)
{
    double f = exp(-0.5 * ZIG_R * ZIG_R);
    z->x[0] = ZIG_V / f;
    z->x[1] = ZIG_R;
    z->x[ZIG_STRIPS] = 0.0;
    for (int i = 2; i < ZIG_STRIPS; i++) {
        z->x[i] = sqrt(-2.0 * log(ZIG_V / z->x[i - 1] + f));
        f = exp(-0.5 * z->x[i] * z->x[i]);
    }
    for (int i = 0; i < ZIG_STRIPS; i++)
        z->ratio[i] = z->x[i + 1] / z->x[i];
}

/* Marsaglia's tail beyond ZIG_R; 1 - u keeps the logarithms finite. */
static double normal_tail(rng *r, bool negative)
{
    double x, y;
    do {
        x = log(1.0 - rng_unit(r)) / ZIG_R;
        y = log(1.0 - rng_unit(r));
    } while (-2.0 * y < x * x);
    return negative ? x - ZIG_R : ZIG_R - x;
}

static double rng_normal(const ziggurat *z, rng *r)
{
    for (;;) {
        /* The top 53 bits give the abscissa, the low 7 the strip. */
        uint64_t bits = rng_next(r);
        double u = 2.0 * ((double)(bits >> 11) * 0x1.0p-53) - 1.0;
        int i = (int)(bits & (ZIG_STRIPS - 1));
        if (fabs(u) < z->ratio[i])
            return u * z->x[i];
        if (i == 0)
            return normal_tail(r, u < 0.0);
        double x = u * z->x[i];
        double f0 = exp(-0.5 * (z->x[i] * z->x[i] - x * x));
        double f1 = exp(-0.5 * (z->x[i + 1] * z->x[i + 1] - x * x));
        if (f1 + rng_unit(r) * (f0 - f1) < 1.0)
            return x;
    }
}

/* Each parameter has its own stream, so adding a layer (a new head) leaves
 * the weights of the layers before it unchanged. */
static rng param_stream(uint64_t seed, int layer, int param)
{
    rng r = {nn_mix64(seed) ^ nn_mix64(((uint64_t)(uint32_t)layer << 8) | (uint64_t)param)};
    return r;
}

/* PyTorch's fan-in/fan-out of a weight (d0, d1, window...): d1 * window and
 * d0 * window (for a conv fan_in = C/g * KH*KW). */
static void fans(const clnet_shape *w, double *fan_in, double *fan_out)
{
    double window = 1.0;
    for (int i = 2; i < w->ndim; i++)
        window *= (double)w->dim[i];
    *fan_in = (double)w->dim[1] * window;
    *fan_out = (double)w->dim[0] * window;
}

static void init_weight(float *v, int64_t n, const clnet_shape *shape, clnet_init init, rng *r,
                        const ziggurat *z)
{
    double fan_in, fan_out;
    fans(shape, &fan_in, &fan_out);
    bool he = init == CLNET_INIT_HE_NORMAL || init == CLNET_INIT_HE_UNIFORM;
    bool normal = init == CLNET_INIT_HE_NORMAL || init == CLNET_INIT_XAVIER_NORMAL;
    double var = he ? 2.0 / fan_in : 2.0 / (fan_in + fan_out);
    if (init == CLNET_INIT_TORCH_DEFAULT)
        var = 1.0 / (3.0 * fan_in);      /* bound 1 / sqrt(fan_in) */
    /* a uniform on [-b, b] has variance b^2 / 3 */
    double scale = normal ? sqrt(var) : sqrt(3.0 * var);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)(scale * (normal ? rng_normal(z, r) : 2.0 * rng_unit(r) - 1.0));
}

/* Filter i < min(K, C) of weights (K, C, window...) becomes the identity on
 * channel i: one at the centre tap. */
static void dirac(float *w, const clnet_shape *shape)
{
    int64_t k = shape->dim[0], c = shape->dim[1], window = 1, centre = 0;
    for (int a = 2; a < shape->ndim; a++) {
        centre = centre * shape->dim[a] + shape->dim[a] / 2;
        window *= shape->dim[a];
    }
    for (int64_t i = 0; i < k && i < c; i++) {
        float *filter = w + i * c * window;
        for (int64_t j = 0; j < c * window; j++)
            filter[j] = 0.0f;
        filter[i * window + centre] = 1.0f;
    }
}

clnet_status nn_init_params(clnet_net *net, clnet_init init, uint64_t seed)
{
    ziggurat z;
    ziggurat_init(&z);
    for (int id = 0; id < net->nlayers; id++) {
        nn_layer *l = &net->layers[id];
        for (int j = 0; j < l->nparams; j++) {
            nn_param *p = &l->params[j];
            if (p->host || p->value)
                continue;
            int64_t n = nn_numel(&p->shape);
            p->host = malloc((size_t)n * sizeof *p->host);
            if (!p->host)
                return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "net: layer %d (%s): cannot "
                                  "allocate %lld weights", id, l->spec.name, (long long)n);
            rng r = param_stream(seed, id, j);
            if (p->init == NN_INIT_WEIGHT) {
                init_weight(p->host, n, &p->shape, init, &r, &z);
                if (l->spec.kind == CLNET_LAYER_CONV && l->spec.dirac)
                    dirac(p->host, &p->shape);
            } else if (p->init == NN_INIT_DIGITS) {
                nn_rbf_digit_centres(p->host);
            } else {
                for (int64_t i = 0; i < n; i++)
                    p->host[i] = p->init == NN_INIT_ONE ? 1.0f : 0.0f;
            }
        }
    }
    return CLNET_OK;
}
