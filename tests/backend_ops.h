/* backend_ops.h - what one case of test_backend_ops is (an op, its input
 * tensors and how to fill them, the tolerance) and how the case table is built. */
#ifndef CLNET_TEST_BACKEND_OPS_H
#define CLNET_TEST_BACKEND_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"

/* Bounds on the normalised mean squared error sum((a-b)^2) / sum(b^2). PoCL
 * stays below 1e-13 on every case; the bounds leave room for other summation
 * orders, Winograd and 4-ulp builtins, yet one wrong element among 10^6
 * still fails. */
#define NMSE_EXACT 1e-10  /* copies, maxima, single roundings */
#define NMSE_ELT 1e-8     /* transcendental functions, short reductions */
#define NMSE_SUM 1e-7     /* long reductions: convolution, GEMM, statistics */

#define MAX_STEPS 4

enum fill {
    FILL_UNIFORM,    /* uniform in [lo, hi) */
    FILL_INTS,       /* integers in [lo, hi]: ties for max pooling, class labels */
    FILL_SPECIAL,    /* uniform with NaN, +Inf and -Inf mixed in */
    FILL_INFS,       /* uniform with +Inf and -Inf mixed in */
    FILL_ARGMAX,     /* indices a max pooling with the case's window could give */
    FILL_INDEX_ANY,  /* indices anywhere in the unpooled plane */
    FILL_SENTINEL,   /* an output the op must write */
    FILL_MEAN_OF_X,  /* (C): the per-channel mean of input 0 (batch statistics) */
    FILL_VAR_OF_X    /* (C): the per-channel biased variance of input 0 */
};

/* One tensor of a case: the view the op sees. Every tensor is allocated with
 * one extra image before and after it (axis 0) and, for channel views, with
 * extra channels around it (axis 1); those are the guards. */
typedef struct tspec {
    int ndim;                    /* 0: an optional input passed as NULL */
    int64_t dim[CLNET_MAX_DIMS];
    clnet_dtype dtype;
    int fill;
    float lo, hi;
    bool cview;
} tspec;

typedef struct test_case {
    char name[256];
    clnet_op op;
    int nin, nout;
    tspec in[CLNET_OP_MAX_INPUTS];
    bool out_cview[CLNET_OP_MAX_OUTPUTS];
    /* Bit j: the op reads output j (GEMM with beta != 0, optimizer state,
     * running statistics), which then starts with the same data on every
     * device, uniform in init_range[j] ({0, 0}: [-1, 1)). */
    unsigned out_init;
    float init_range[CLNET_OP_MAX_OUTPUTS][2];
    bool inplace;                /* output 0 is input inplace_of */
    int inplace_of;
    /* > 1: the op runs this many times on the same tensors (optimizer steps),
     * with new contents of input 0 before each run and ADAM_STEP's t counting
     * up; the outputs are compared after every step. */
    int steps;
    tspec want;                  /* ndim > 0: output 0 must have this shape */
    int window[3];               /* FILL_ARGMAX: kernel, stride, pad of the pooling */
    double max_nmse;
} test_case;

/* Appends a case; its name is the op kind followed by the formatted text
 * (the input shapes are appended once the table is complete). */
test_case *new_case(clnet_op op, double max_nmse, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

tspec shape_n(int ndim, const int64_t *dim);
#define SHAPE(...) shape_n((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                           (int64_t[]){__VA_ARGS__})
tspec ranged(tspec t, int fill, float lo, float hi);
tspec chview(tspec t);
void add_in(test_case *tc, tspec t);
clnet_shape shape_of(const tspec *t);

/* The shape of output 0 of a forward op on these inputs: the shape its
 * gradient dy has. The table is broken (and the test fails) if the forward
 * op is invalid. */
tspec forward_output(clnet_op op, int nin, const tspec *in);

/* backend_ops_cases.c: the forward ops, and the backward ops of convolution,
 * pooling and activations, built from the same shapes. */
void add_forward_cases(void);
/* backend_ops_train.c: the other backward ops, losses and optimizer steps. */
void add_training_cases(void);

#endif
