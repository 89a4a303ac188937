/* npy.h - reading and writing NumPy .npy files of float32, C order: the
 * arrays `clnet-bench infer` takes and writes. */
#ifndef CLNET_BENCH_NPY_H
#define CLNET_BENCH_NPY_H

#include <stdint.h>

#define NPY_MAX_DIMS 8

typedef struct npy_array {
    int ndim;
    int64_t dim[NPY_MAX_DIMS];
    int64_t count;           /* elements */
    float *data;             /* malloc'ed, count values */
} npy_array;

/* Reads `path`, which must hold a little-endian float32 ('<f4') array in C
 * order, format version 1, 2 or 3. On failure returns false with the reason
 * in err[size]. The caller frees a->data. */
bool npy_read(const char *path, npy_array *a, char *err, size_t size);

/* Writes `a` as a version 1.0 .npy file. false (reason in err) on failure. */
bool npy_write(const char *path, const npy_array *a, char *err, size_t size);

#endif
