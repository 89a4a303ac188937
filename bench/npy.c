/* npy.c - NumPy .npy files of float32 in C order: a magic string, a
 * version, a header length and a Python dict literal giving dtype, order
 * and shape, then the raw little-endian data (read and written as the host's
 * floats: clnet's hosts are little-endian). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_HEADER 65536

static bool fail(char *err, size_t size, const char *path, const char *what)
{
    snprintf(err, size, "%s: %s", path, what);
    return false;
}

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *header, const char *key)
{
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *p = strstr(header, quoted);
    if (!p)
        return NULL;
    p = strchr(p + strlen(quoted), ':');
    if (!p)
        return NULL;
    for (p++; *p == ' '; p++)
        ;
    return p;
}

static bool parse_shape(const char *p, npy_array *a)
{
    if (!p || *p != '(')
        return false;
    a->ndim = 0;
    a->count = 1;
    for (p++;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            return true;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || v > (1LL << 32) || a->ndim == NPY_MAX_DIMS ||
            (v > 0 && a->count > (1LL << 34) / v))
            return false;
        a->dim[a->ndim++] = v;
        a->count *= v;
        p = end;
    }
}

bool npy_read(const char *path, npy_array *a, char *err, size_t size)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, size, path, strerror(errno));
    unsigned char pre[12];
    char *header = NULL;
    bool ok = false;
    const char *why = "not a .npy file (bad magic string)";
    size_t len = 0;
    if (fread(pre, 1, 10, f) == 10 && memcmp(pre, NPY_MAGIC, 6) == 0) {
        why = "an unknown .npy version";
        if (pre[6] == 1) {
            len = pre[8] | (size_t)pre[9] << 8;
        } else if ((pre[6] == 2 || pre[6] == 3) && fread(pre + 10, 1, 2, f) == 2) {
            len = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        }
    }
    if (len > 0 && len < NPY_MAX_HEADER && (header = malloc(len + 1)) != NULL &&
        fread(header, 1, len, f) == len) {
        header[len] = '\0';
        const char *descr = dict_value(header, "descr");
        const char *order = dict_value(header, "fortran_order");
        why = "the array is not float32 little-endian ('<f4')";
        if (descr && strncmp(descr, "'<f4'", 5) == 0) {
            why = "the array is in Fortran order (C order is needed)";
            if (order && strncmp(order, "False", 5) == 0) {
                why = "a bad shape in the header";
                ok = parse_shape(dict_value(header, "shape"), a);
            }
        }
    }
    free(header);
    if (ok) {
        a->data = malloc((size_t)(a->count ? a->count : 1) * sizeof *a->data);
        why = "out of host memory";
        ok = a->data != NULL;
        if (ok && fread(a->data, sizeof *a->data, (size_t)a->count, f) != (size_t)a->count) {
            why = "the file is shorter than its shape says";
            ok = false;
        }
    }
    fclose(f);
    if (!ok) {
        free(a->data);
        a->data = NULL;
        return fail(err, size, path, why);
    }
    return true;
}

bool npy_write(const char *path, const npy_array *a, char *err, size_t size)
{
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int d = 0; d < a->ndim; d++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)a->dim[d],
                      d + 1 < a->ndim ? " " : "");
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* the data starts 64-byte aligned; the header ends in a newline */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t len = (size_t)n + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return fail(err, size, path, strerror(errno));
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 0xff),
                             (unsigned char)(len >> 8)};
    bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF &&
         fwrite(a->data, sizeof *a->data, (size_t)a->count, f) == (size_t)a->count;
    ok = (fclose(f) == 0) && ok;
    return ok ? true : fail(err, size, path, "write failed");
}
