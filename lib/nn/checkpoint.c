/* checkpoint.c - saving and loading a net's weights, batch-norm statistics
 * and optimizer state (format: docs/checkpoint-format.md). Saving is atomic
 * (one locked temporary per target, fsync, rename: core/file.h); loading
 * checks the whole file before it changes anything. */
#include "nn/nn_internal.h"

#include "core/file.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "CLNETCKP"
#define VERSION 2u     /* written; version 1 (no normalisation, no training state) loads too */
#define FLOAT_CHUNK 4096

/* ---- writing ---- */

typedef struct writer {
    FILE *f;
    uLong crc;
    bool failed;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->failed || n == 0)
        return;
    w->crc = crc32_z(w->crc, p, n);
    w->failed = fwrite(p, 1, n, w->f) != n;
}

static void put_u32(writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(w, b, 4);
}

static void put_u64(writer *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_string(writer *w, const char *s)
{
    put_u32(w, (uint32_t)strlen(s));
    put(w, s, strlen(s));
}

/* Floats as little-endian IEEE 754 bits, whatever the host's byte order. */
static void put_floats(writer *w, const float *v, int64_t n)
{
    uint8_t buf[FLOAT_CHUNK * 4];
    for (int64_t i = 0; i < n; i += FLOAT_CHUNK) {
        int64_t m = n - i < FLOAT_CHUNK ? n - i : FLOAT_CHUNK;
        for (int64_t j = 0; j < m; j++) {
            uint32_t bits;
            memcpy(&bits, &v[i + j], 4);
            for (int b = 0; b < 4; b++)
                buf[4 * j + b] = (uint8_t)(bits >> (8 * b));
        }
        put(w, buf, (size_t)m * 4);
    }
}

static clnet_status write_body(clnet_net *net, writer *w, float *buf)
{
    put(w, MAGIC, 8);
    put_u32(w, VERSION);
    put_u32(w, (uint32_t)net->nlayers);
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        put_string(w, l->spec.name);
        put_u32(w, (uint32_t)l->spec.kind);
        put_u32(w, (uint32_t)l->nparams);
        for (int j = 0; j < l->nparams; j++) {
            nn_param *p = &l->params[j];
            put_string(w, p->name);
            put_u32(w, (uint32_t)p->shape.ndim);
            for (int d = 0; d < p->shape.ndim; d++)
                put_u64(w, (uint64_t)p->shape.dim[d]);
            clnet_status st = nn_param_read(net, p, buf);
            if (st != CLNET_OK)
                return st;
            put_floats(w, buf, nn_numel(&p->shape));
        }
    }
    put_u32(w, (uint32_t)net->opt_nstate);
    put_u32(w, (uint32_t)net->opt_kind);
    put_u64(w, (uint64_t)net->opt_steps);
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            nn_param *p = &net->layers[i].params[j];
            for (int s = 0; p->trainable && s < net->opt_nstate; s++) {
                clnet_status st = nn_state_read(net, p, s, buf);
                if (st != CLNET_OK)
                    return st;
                put_floats(w, buf, nn_numel(&p->shape));
            }
        }
    /* version 2: the input normalisation, then the training state */
    int channels = net->norm ? (int)net->layers[0].out.dim[0] : 0;
    put_u32(w, (uint32_t)channels);
    put_floats(w, net->norm, 2 * (int64_t)channels);
    put_u32(w, (uint32_t)net->progress.epochs_done);
    put_u64(w, net->progress.seed);
    put_u64(w, net->forward_count);
    put_floats(w, &net->progress.best_accuracy, 1);
    put_u32(w, (uint32_t)w->crc);
    return CLNET_OK;
}

/* Floats of the largest record buffered whole: a parameter, or the input
 * normalisation (mean and std). */
static int64_t largest_param(const clnet_net *net)
{
    int64_t n = 2 * net->layers[0].out.dim[0];
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++)
            if (nn_numel(&net->layers[i].params[j].shape) > n)
                n = nn_numel(&net->layers[i].params[j].shape);
    return n;
}

static clnet_status write_file(clnet_net *net, const char *path, float *buf)
{
    char why[512];
    clnet_file_replace rep;
    clnet_status st = clnet_file_replace_begin(&rep, path, why, sizeof why);
    if (st != CLNET_OK)
        return clnet_fail(net->ctx, st, "clnet_net_save: %s", why);
    /* the stream writes through a second descriptor so that closing it
     * keeps the temporary open and locked until it is renamed */
    int fd = dup(rep.fd);
    writer w = {fd >= 0 ? fdopen(fd, "wb") : NULL, crc32(0L, Z_NULL, 0), false};
    if (!w.f) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        clnet_file_replace_abort(&rep);
        return clnet_fail(net->ctx, CLNET_ERR_IO, "clnet_net_save: cannot write %s.tmp: %s",
                          path, strerror(err));
    }
    st = write_body(net, &w, buf);
    bool ok = !w.failed && fflush(w.f) == 0;
    int err = errno;
    ok = fclose(w.f) == 0 && ok;
    if (st != CLNET_OK || !ok) {
        clnet_file_replace_abort(&rep);
        return st != CLNET_OK ? st
                              : clnet_fail(net->ctx, CLNET_ERR_IO, "clnet_net_save: cannot "
                                           "write %s.tmp: %s", path, strerror(err ? err : errno));
    }
    st = clnet_file_replace_commit(&rep, true, why, sizeof why);
    return st == CLNET_OK ? st : clnet_fail(net->ctx, st, "clnet_net_save: %s", why);
}

clnet_status clnet_net_save(clnet_net *net, const char *path)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !path)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_save: NULL argument");
    float *buf = malloc((size_t)largest_param(net) * sizeof *buf);
    clnet_status st = buf ? write_file(net, path, buf)
                          : clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY,
                                       "clnet_net_save: out of host memory");
    free(buf);
    return st;
}

/* ---- reading ---- */

typedef struct reader {
    const uint8_t *data;
    size_t size, pos;
    bool short_read;
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (r->short_read || n > r->size - r->pos) {
        r->short_read = true;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

static uint32_t get_u32(reader *r)
{
    const uint8_t *b = take(r, 4);
    return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
             : 0;
}

static uint64_t get_u64(reader *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static void get_floats(const uint8_t *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *b = src + 4 * i;
        uint32_t bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                        (uint32_t)b[3] << 24;
        memcpy(&dst[i], &bits, 4);
    }
}

/* Where each parameter's (and its optimizer state's) data sits in the file,
 * found by the checking pass and copied by the loading pass. */
typedef struct located {
    int fresh_from;            /* clnet_net_load_backbone's head: layers from here on may
                                  differ in shape and are not loaded (nlayers: none) */
    const uint8_t **values;    /* one per parameter, layer by layer */
    int64_t *numel;            /* one per parameter: its element count in the file */
    const uint8_t **states;    /* NN_MAX_STATE per parameter */
    uint32_t nstate, kind;
    uint64_t steps;
    uint32_t version;
    uint32_t norm_channels;    /* version 2: 0 = no normalisation */
    const uint8_t *norm;       /* 2 * norm_channels floats */
    uint32_t epochs_done;
    uint64_t seed, forwards;
    const uint8_t *best;       /* one float */
} located;

static clnet_status damaged(clnet_net *net, const char *path, const reader *r, const char *what)
{
    return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s is damaged: %s (at byte "
                      "%zu of %zu)", path, what, r->pos, r->size);
}

static void shape_text(char *buf, size_t size, int ndim, const int64_t *dim)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? "x%lld" : "%lld",
                                 (long long)dim[i]);
}

/* Elements of a parameter of shape dim[0..ndim) in the file, or -1 when
 * they cannot fit in the `left` bytes that remain. */
static int64_t file_numel(int ndim, const int64_t *dim, size_t left)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (dim[d] < 1 || (uint64_t)dim[d] > left / 4 || n > (int64_t)(left / 4) / dim[d])
            return -1;
        n *= dim[d];
    }
    return n;
}

/* Compares one parameter record with the net's; *data gets its floats and
 * *numel their count. A layer from loc->fresh_from on may have other
 * dimensions (a head of another width): its data is skipped over. */
static clnet_status check_param(clnet_net *net, const char *path, reader *r, int id,
                                const nn_param *p, const uint8_t **data, int64_t *numel,
                                int fresh_from)
{
    const nn_layer *l = &net->layers[id];
    uint32_t len = get_u32(r);
    const uint8_t *name = take(r, len);
    uint32_t ndim = get_u32(r);
    int64_t dim[CLNET_MAX_DIMS] = {0};
    for (uint32_t d = 0; d < ndim && d < CLNET_MAX_DIMS; d++)
        dim[d] = (int64_t)get_u64(r);
    if (r->short_read || ndim > CLNET_MAX_DIMS)
        return damaged(net, path, r, "a parameter record is cut short or malformed");
    if (len != strlen(p->name) || memcmp(name, p->name, len) != 0)
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s does not match the "
                          "net: layer %d (%s) has parameter '%.*s' in the file, '%s' in the net",
                          path, id, l->spec.name, (int)(len > 64 ? 64 : len), name, p->name);
    *numel = nn_numel(&p->shape);
    bool other_shape = (int)ndim != p->shape.ndim ||
                       memcmp(dim, p->shape.dim, ndim * sizeof dim[0]) != 0;
    if (other_shape && id >= fresh_from && (int)ndim == p->shape.ndim) {
        *numel = file_numel((int)ndim, dim, r->size - r->pos);
        if (*numel < 0)
            return damaged(net, path, r, "a parameter's shape exceeds the file");
    } else if (other_shape) {
        char a[96], b[96];
        shape_text(a, sizeof a, (int)ndim, dim);
        shape_text(b, sizeof b, p->shape.ndim, p->shape.dim);
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s does not match the "
                          "net: layer %d (%s) %s is %s in the file, %s in the net", path, id,
                          l->spec.name, p->name, a, b);
    }
    *data = take(r, (size_t)*numel * 4);
    return r->short_read ? damaged(net, path, r, "parameter data is cut short") : CLNET_OK;
}

/* Compares layer record `id` with the net's layer; its parameters are
 * located as loc's entries *k onwards. */
static clnet_status check_layer(clnet_net *net, const char *path, reader *r, int id,
                                located *loc, int *k)
{
    const nn_layer *l = &net->layers[id];
    uint32_t len = get_u32(r);
    const uint8_t *name = take(r, len);
    uint32_t kind = get_u32(r), nparams = get_u32(r);
    if (r->short_read)
        return damaged(net, path, r, "a layer record is cut short");
    if (len != strlen(l->spec.name) || memcmp(name, l->spec.name, len) != 0)
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s does not match the "
                          "net: layer %d is '%.*s' in the file, '%s' in the net", path, id,
                          (int)(len > 64 ? 64 : len), name, l->spec.name);
    if (kind != (uint32_t)l->spec.kind)
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s does not match the "
                          "net: layer %d (%s) is a %s in the file, a %s in the net", path, id,
                          l->spec.name, nn_kind_name((clnet_layer_kind)kind),
                          nn_kind_name(l->spec.kind));
    if (nparams != (uint32_t)l->nparams)
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s does not match the "
                          "net: layer %d (%s) has %u parameter tensor%s in the file, %d in "
                          "the net", path, id, l->spec.name, nparams, nparams == 1 ? "" : "s",
                          l->nparams);
    for (int j = 0; j < l->nparams; j++, (*k)++) {
        clnet_status st = check_param(net, path, r, id, &l->params[j], &loc->values[*k],
                                      &loc->numel[*k], loc->fresh_from);
        if (st != CLNET_OK)
            return st;
    }
    return CLNET_OK;
}

static clnet_status check_optimizer(clnet_net *net, const char *path, reader *r, located *loc)
{
    loc->nstate = get_u32(r);
    loc->kind = get_u32(r);
    loc->steps = get_u64(r);
    if (r->short_read || loc->nstate > NN_MAX_STATE || loc->kind > CLNET_OPTIM_ADAM)
        return damaged(net, path, r, "the optimizer record is cut short or malformed");
    int k = 0;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++, k++) {
            const nn_param *p = &net->layers[i].params[j];
            for (uint32_t s = 0; p->trainable && s < loc->nstate; s++)
                loc->states[k * NN_MAX_STATE + s] = take(r, (size_t)loc->numel[k] * 4);
        }
    if (r->short_read)
        return damaged(net, path, r, "optimizer state is cut short");
    return CLNET_OK;
}

/* Version 2's records after the optimizer: normalisation, training state. */
static clnet_status check_progress(clnet_net *net, const char *path, reader *r, located *loc)
{
    loc->norm_channels = get_u32(r);
    if (!r->short_read && loc->norm_channels != 0 &&
        loc->norm_channels != (uint32_t)net->layers[0].out.dim[0])
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s does not match the "
                          "net: input normalisation of %u channels in the file, the input has "
                          "%lld", path, loc->norm_channels,
                          (long long)net->layers[0].out.dim[0]);
    loc->norm = take(r, (size_t)loc->norm_channels * 8);
    loc->epochs_done = get_u32(r);
    loc->seed = get_u64(r);
    loc->forwards = get_u64(r);
    loc->best = take(r, 4);
    if (r->short_read || loc->epochs_done > INT32_MAX)
        return damaged(net, path, r, "the normalisation or training-state record is cut short "
                       "or malformed");
    float *norm = malloc(2 * (size_t)loc->norm_channels * sizeof *norm + 1);
    if (!norm)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_load: out of host memory");
    get_floats(loc->norm, norm, 2 * (int64_t)loc->norm_channels);
    bool bad = false;
    for (uint32_t c = 0; c < loc->norm_channels; c++)
        bad |= !isfinite(norm[c]) || !(norm[loc->norm_channels + c] > 0.0f) ||
               !isfinite(norm[loc->norm_channels + c]);
    free(norm);
    return bad ? damaged(net, path, r, "the input normalisation has a non-finite mean or a "
                         "std not > 0") : CLNET_OK;
}

/* Magic, version and CRC, then the architecture, record by record. */
static clnet_status check_file(clnet_net *net, const char *path, reader *r, located *loc)
{
    if (r->size < 8 + 4 + 4 + 16 + 4)
        return damaged(net, path, r, "too short to be a checkpoint");
    if (memcmp(r->data, MAGIC, 8) != 0)
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s is not a clnet "
                          "checkpoint (no CLNETCKP magic)", path);
    r->pos = 8;
    uint32_t version = get_u32(r);
    if (version < 1 || version > VERSION)
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s is checkpoint "
                          "version %u; this library reads versions 1 to %u", path, version,
                          VERSION);
    loc->version = version;
    reader tail = {r->data, r->size, r->size - 4, false};
    uint32_t stored = get_u32(&tail);
    uint32_t crc = (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), r->data, r->size - 4);
    if (stored != crc)
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s is damaged or "
                          "truncated: CRC-32 %08x stored, %08x computed over %zu bytes", path,
                          stored, crc, r->size - 4);
    uint32_t nlayers = get_u32(r);
    /* the layers both have come first, so that another architecture is
     * reported by its first differing layer and shapes */
    int k = 0, common = nlayers < (uint32_t)net->nlayers ? (int)nlayers : net->nlayers;
    for (int i = 0; i < common; i++) {
        clnet_status st = check_layer(net, path, r, i, loc, &k);
        if (st != CLNET_OK)
            return st;
    }
    if (nlayers != (uint32_t)net->nlayers)
        return clnet_fail(net->ctx, CLNET_ERR_FORMAT, "clnet_net_load: %s does not match the "
                          "net: %u layers in the file, %d in the net (the first %d agree)",
                          path, nlayers, net->nlayers, common);
    clnet_status st = check_optimizer(net, path, r, loc);
    if (st == CLNET_OK && version >= 2)
        st = check_progress(net, path, r, loc);
    if (st == CLNET_OK && r->pos != r->size - 4)
        st = damaged(net, path, r, "unexpected bytes after the last record");
    return st;
}

static clnet_status apply(clnet_net *net, const located *loc)
{
    float *buf = malloc((size_t)largest_param(net) * sizeof *buf);
    if (!buf)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_load: out of host memory");
    clnet_status st = CLNET_OK;
    nn_opt_state_free(net);
    /* a backbone starts a new run: no optimizer or training state of the old one */
    bool whole = loc->fresh_from >= net->nlayers;
    uint32_t nstate = whole ? loc->nstate : 0;
    int k = 0;
    for (int i = 0; st == CLNET_OK && i < loc->fresh_from; i++)
        for (int j = 0; st == CLNET_OK && j < net->layers[i].nparams; j++, k++) {
            nn_param *p = &net->layers[i].params[j];
            get_floats(loc->values[k], buf, nn_numel(&p->shape));
            st = nn_param_write(net, p, buf);
            for (uint32_t s = 0; st == CLNET_OK && p->trainable && s < nstate; s++) {
                get_floats(loc->states[k * NN_MAX_STATE + s], buf, nn_numel(&p->shape));
                st = nn_state_write(net, p, (int)s, buf);
            }
        }
    net->opt_nstate = (int)nstate;
    net->opt_kind = (clnet_optim_kind)loc->kind;
    net->opt_steps = whole ? (int64_t)loc->steps : 0;
    if (st == CLNET_OK && loc->version >= 2) {
        /* a version 2 file holds the whole state: no normalisation in it
         * means the saved net had none */
        uint32_t c = loc->norm_channels;
        get_floats(loc->norm, buf, 2 * (int64_t)c);
        st = c ? clnet_net_set_input_norm(net, buf, buf + c)
               : clnet_net_set_input_norm(net, NULL, NULL);
    }
    if (st == CLNET_OK && loc->version >= 2 && whole) {
        get_floats(loc->best, &net->progress.best_accuracy, 1);
        net->progress.epochs_done = (int)loc->epochs_done;
        net->progress.seed = loc->seed;
        net->forward_count = loc->forwards;
    }
    free(buf);
    return st;
}

/* Checks the file's data, then loads layers 0..fresh_from-1 from it. */
static clnet_status parse(clnet_net *net, const char *path, const uint8_t *data, size_t size,
                          int fresh_from)
{
    int nparams = 0;
    for (int i = 0; i < net->nlayers; i++)
        nparams += net->layers[i].nparams;
    located loc = {.fresh_from = fresh_from,
                   .values = calloc((size_t)nparams + 1, sizeof *loc.values),
                   .numel = calloc((size_t)nparams + 1, sizeof *loc.numel),
                   .states = calloc(((size_t)nparams + 1) * NN_MAX_STATE, sizeof *loc.states)};
    reader r = {data, size, 0, false};
    clnet_status st;
    if (!loc.values || !loc.numel || !loc.states)
        st = clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_load: out of host memory");
    else
        st = check_file(net, path, &r, &loc);
    if (st == CLNET_OK)
        st = apply(net, &loc);
    free(loc.values);
    free(loc.numel);
    free(loc.states);
    return st;
}

clnet_status nn_checkpoint_parse(clnet_net *net, const char *path, const uint8_t *data,
                                 size_t size)
{
    return parse(net, path, data, size, net->nlayers);
}

static clnet_status load_file(clnet_net *net, const char *path, int fresh_from)
{
    uint8_t *data;
    size_t size;
    char why[256];
    clnet_status st = clnet_file_read(path, SIZE_MAX / 2, &data, &size, NULL, why, sizeof why);
    if (st != CLNET_OK)
        return clnet_fail(net->ctx, st, "clnet_net_load: cannot read %s: %s", path, why);
    st = parse(net, path, data, size, fresh_from);
    free(data);
    return st;
}

clnet_status clnet_net_load(clnet_net *net, const char *path)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !path)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_load: NULL argument");
    return load_file(net, path, net->nlayers);
}

clnet_status clnet_net_load_backbone(clnet_net *net, const char *path, int head)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !path)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_load_backbone: NULL argument");
    if (head < 1 || head >= net->nlayers)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_load_backbone: head "
                          "layer %d is outside 1..%d", head, net->nlayers - 1);
    return load_file(net, path, head);
}
