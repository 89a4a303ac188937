/* cl_derived.c - each OpenCL device's cache of buffers derived from
 * weights: the layouts and transforms a convolution makes of its filters
 * (Winograd's G g G^T, the direct kernel's lane layout, a tap's matrix)
 * before the product. While the weights are unchanged (their storage's
 * version, core/internal.h), later calls reuse the buffer instead of
 * transforming again: what oneDNN's plans do with reordered weights in
 * inference.
 *
 * A transform is kept only on its second sighting with the same weights:
 * in training every step changes them, so a buffer made on the first
 * sighting would be filled once and never read, holding memory for
 * nothing; those calls keep using the caller's scratch. When the weights
 * change, a buffer whose transform was asked for at least twice for the
 * old contents stays, to be filled again: in training a forward
 * convolution and its data gradient read one transform (Winograd's, the
 * single tap's) of each step's weights, so the forward fills it and the
 * gradient reads it. Buffers stay within the device's budget
 * (weight_cache_max), the least recently used going first, and go when
 * their weights change (unless kept as above) or are freed. */
#include "opencl/clcl.h"

#include <stdlib.h>
#include <string.h>

/* One derived buffer (or the sighting of one, buf NULL). */
typedef struct derived_entry {
    const char *what;
    int64_t params[CLNET_CL_DERIVED_PARAMS];
    void *src_handle[2];       /* the sources' buffers: forgotten when one is freed */
    uint64_t src_id[2], src_version[2];
    int64_t src_offset[2];
    cl_mem buf;
    size_t bytes;
    bool ready;                /* buf holds the transform of these versions */
    int sightings;             /* acquires with these versions, counted up to 2 */
    uint64_t last_use;
} derived_entry;

typedef struct clnet_cl_derived {
    derived_entry *entries;
    int count, cap;
    uint64_t clock;
} clnet_cl_derived;

static bool same_transform(const derived_entry *e, const clnet_cl_derived_key *key,
                           const clnet_tensor *const src[2])
{
    if (e->what != key->what || memcmp(e->params, key->params, sizeof e->params) != 0)
        return false;
    for (int i = 0; i < 2; i++) {
        uint64_t id = src[i] ? src[i]->storage->id : 0;
        int64_t off = src[i] ? src[i]->offset : 0;
        if (e->src_id[i] != id || e->src_offset[i] != off)
            return false;
    }
    return true;
}

static bool same_versions(const derived_entry *e, const clnet_tensor *const src[2])
{
    for (int i = 0; i < 2; i++)
        if (src[i] && e->src_version[i] != src[i]->storage->version)
            return false;
    return true;
}

static void drop_buffer(clnet_device *dev, derived_entry *e)
{
    if (e->buf) {
        /* commands already queued keep it alive until they finish */
        clReleaseMemObject(e->buf);
        dev->weight_cache_bytes -= e->bytes;
    }
    e->buf = NULL;
    e->bytes = 0;
    e->ready = false;
}

static void remove_entry(clnet_device *dev, clnet_cl_derived *d, int i)
{
    drop_buffer(dev, &d->entries[i]);
    d->entries[i] = d->entries[--d->count];
}

/* Frees least recently used buffers until `bytes` more fit the budget;
 * false when they cannot. Caller holds ctx->lock. */
static bool make_room(clnet_device *dev, clnet_cl_derived *d, size_t bytes)
{
    if (bytes > dev->weight_cache_max)
        return false;
    while (dev->weight_cache_bytes > dev->weight_cache_max - bytes) {
        int oldest = -1;
        for (int i = 0; i < d->count; i++)
            if (d->entries[i].buf &&
                (oldest < 0 || d->entries[i].last_use < d->entries[oldest].last_use))
                oldest = i;
        if (oldest < 0)
            return false;
        drop_buffer(dev, &d->entries[oldest]);
    }
    return true;
}

/* The entry of this transform, or a new sighting of it (NULL when the host
 * is out of memory: then nothing is cached). Caller holds ctx->lock. */
static derived_entry *entry_of(clnet_cl_derived *d, const clnet_cl_derived_key *key,
                               const clnet_tensor *const src[2])
{
    for (int i = 0; i < d->count; i++)
        if (same_transform(&d->entries[i], key, src))
            return &d->entries[i];
    derived_entry *grown = clnet_grow(d->entries, d->count, &d->cap, sizeof *grown, 16);
    if (!grown)
        return NULL;
    d->entries = grown;
    derived_entry *e = &d->entries[d->count++];
    *e = (derived_entry){.what = key->what};
    memcpy(e->params, key->params, sizeof e->params);
    for (int i = 0; i < 2; i++) {
        e->src_handle[i] = src[i] ? src[i]->storage->handle : NULL;
        e->src_id[i] = src[i] ? src[i]->storage->id : 0;
        e->src_offset[i] = src[i] ? src[i]->offset : 0;
        /* versions no write reaches: the first sighting matches nothing */
        e->src_version[i] = src[i] ? src[i]->storage->version - 1 : 0;
    }
    return e;
}

void clnet_cl_derived_acquire(clnet_device *dev, const clnet_cl_derived_key *key,
                              const clnet_tensor *w, const clnet_tensor *b, size_t bytes,
                              cl_mem *out, bool *fill)
{
    *out = NULL;
    *fill = true;
    const clnet_tensor *const src[2] = {w, b};
    for (int i = 0; i < 2; i++)
        if (src[i] && (src[i]->storage->id == 0 || src[i]->storage->external))
            return;
    clnet_cl_device *cl = clnet_cl(dev);
    mtx_lock(&dev->ctx->lock);
    if (!cl->derived)
        cl->derived = calloc(1, sizeof *cl->derived);
    clnet_cl_derived *d = cl->derived;
    derived_entry *e = d ? entry_of(d, key, src) : NULL;
    if (!e)
        goto done;
    e->last_use = ++d->clock;
    if (!same_versions(e, src)) {
        /* changed since (or first seen): note these versions; the buffer
         * stays, to be filled again, only if the old contents' transform
         * was asked for more than once */
        const bool keep = e->buf && e->sightings >= 2;
        for (int i = 0; i < 2; i++)
            e->src_version[i] = src[i] ? src[i]->storage->version : 0;
        e->ready = false;
        e->sightings = 0;
        if (!keep) {
            drop_buffer(dev, e);
            e->sightings = 1;
            goto done;
        }
    }
    if (e->sightings < 2)
        e->sightings++;
    if (e->buf && e->bytes == bytes && e->ready) {
        *fill = false;
    } else if (!e->buf || e->bytes != bytes) {
        drop_buffer(dev, e);
        if (!make_room(dev, d, bytes))
            goto done;
        cl_int err;
        e->buf = clCreateBuffer(cl->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
        if (err != CL_SUCCESS) {
            /* out of device memory: the caller's scratch still serves */
            e->buf = NULL;
            goto done;
        }
        e->bytes = bytes;
        dev->weight_cache_bytes += bytes;
    }
    clRetainMemObject(e->buf);
    *out = e->buf;
done:
    mtx_unlock(&dev->ctx->lock);
}

void clnet_cl_derived_release(clnet_device *dev, cl_mem buf, bool filled)
{
    if (!buf)
        return;
    clnet_cl_derived *d = clnet_cl(dev)->derived;
    mtx_lock(&dev->ctx->lock);
    for (int i = 0; filled && d && i < d->count; i++)
        if (d->entries[i].buf == buf)
            d->entries[i].ready = true;
    mtx_unlock(&dev->ctx->lock);
    clReleaseMemObject(buf);
}

void clnet_cl_derived_forget(clnet_device *dev, const void *handle)
{
    clnet_cl_derived *d = clnet_cl(dev)->derived;
    if (!d)
        return;
    mtx_lock(&dev->ctx->lock);
    for (int i = d->count - 1; i >= 0; i--)
        if (d->entries[i].src_handle[0] == handle || d->entries[i].src_handle[1] == handle)
            remove_entry(dev, d, i);
    mtx_unlock(&dev->ctx->lock);
}

void clnet_cl_derived_trim(clnet_device *dev)
{
    clnet_cl_derived *d = clnet_cl(dev)->derived;
    if (!d)
        return;
    mtx_lock(&dev->ctx->lock);
    make_room(dev, d, 0);
    mtx_unlock(&dev->ctx->lock);
}

void clnet_cl_derived_free(clnet_device *dev)
{
    clnet_cl_device *cl = clnet_cl(dev);
    clnet_cl_derived *d = cl->derived;
    if (!d)
        return;
    while (d->count > 0)
        remove_entry(dev, d, d->count - 1);
    free(d->entries);
    free(d);
    cl->derived = NULL;
}
