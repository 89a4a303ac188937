/* onnx_fold.c - constant folding at import: the nodes whose inputs are all
 * known (initializers, Constants, shapes of computed tensors) are computed
 * on the host, so the shape arithmetic exporters emit (Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape) never becomes layers. The batch size, not
 * known until run time, travels through as OX_BATCH and may be moved about
 * but not computed with. */
#include "nn/onnx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TRY(expr) do { clnet_status st_ = (expr); if (st_ != CLNET_OK) return st_; } while (0)

/* Row-major strides of c. */
static void strides_of(const ox_const *c, int64_t *stride)
{
    int64_t s = 1;
    for (int d = c->ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= c->dim[d];
    }
}

/* Copies element `from` of src into element `to` of dst (same dtype). */
static void copy_elem(ox_const *dst, int64_t to, const ox_const *src, int64_t from)
{
    if (dst->dtype == OX_F32)
        dst->f[to] = src->f[from];
    else
        dst->i[to] = src->i[from];
}

static clnet_status axis_of(ox_import *imp, int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= rank)
        return ox_fail(imp, CLNET_ERR_FORMAT, "axis %lld is outside rank %d", (long long)axis,
                       rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return CLNET_OK;
}

/* An integer list from input `i` (opset >= 13 style) or attribute `name`. */
static clnet_status int_list(ox_import *imp, int i, const char *name, int64_t *out, int *n,
                             bool *given)
{
    ox_value *v = ox_opt_input(imp, i);
    *given = false;
    if (v) {
        if (v->c.dtype != OX_I64 || v->c.ndim > 1 || v->c.count > OX_MAX_DIMS)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "input %d ('%s') must be a short list of "
                           "integers", i, v->name);
        memcpy(out, v->c.i, (size_t)v->c.count * sizeof *out);
        *n = (int)v->c.count;
        *given = true;
        return CLNET_OK;
    }
    int before = *n = -1;
    TRY(ox_attr_ints(imp, name, OX_MAX_DIMS, out, n));
    *given = *n != before;
    if (!*given)
        *n = 0;
    return CLNET_OK;
}

static clnet_status fold_constant(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "value value_float value_floats value_int value_ints"));
    ox_const c;
    const Onnx__AttributeProto *a = imp->node->n_attribute == 1 ? imp->node->attribute[0] : NULL;
    if (!a)
        return ox_fail(imp, CLNET_ERR_FORMAT, "a Constant needs exactly one value attribute");
    switch (a->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        if (!a->t)
            return ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'value' holds no tensor");
        TRY(ox_tensor_decode(imp, a->t, "attribute 'value'", &c));
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        TRY(ox_const_alloc(imp, OX_F32, 0, NULL, &c));
        c.f[0] = a->f;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        TRY(ox_const_alloc(imp, OX_I64, 0, NULL, &c));
        c.i[0] = a->i;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: {
        int64_t n = (int64_t)a->n_floats;
        TRY(ox_const_alloc(imp, OX_F32, 1, &n, &c));
        if (n > 0) /* an empty list may come with a NULL array */
            memcpy(c.f, a->floats, a->n_floats * sizeof(float));
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: {
        int64_t n = (int64_t)a->n_ints;
        TRY(ox_const_alloc(imp, OX_I64, 1, &n, &c));
        if (n > 0)
            memcpy(c.i, a->ints, a->n_ints * sizeof(int64_t));
        break;
    }
    default:
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute '%s' of an unsupported type",
                       a->name ? a->name : "");
    }
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

static clnet_status copy_const(ox_import *imp, const ox_const *src, ox_const *dst)
{
    TRY(ox_const_alloc(imp, src->dtype, src->ndim, src->dim, dst));
    size_t size = src->dtype == OX_F32 ? sizeof(float) : sizeof(int64_t);
    if (src->count)
        memcpy(src->dtype == OX_F32 ? (void *)dst->f : (void *)dst->i,
               src->dtype == OX_F32 ? (const void *)src->f : (const void *)src->i,
               (size_t)src->count * size);
    return CLNET_OK;
}

/* The same values under another shape (Reshape, Flatten, Squeeze, Unsqueeze). */
static clnet_status reshaped(ox_import *imp, const ox_const *src, int ndim, const int64_t *dim)
{
    ox_const c;
    TRY(copy_const(imp, src, &c));
    int64_t count = 1;
    for (int d = 0; d < ndim; d++)
        count *= dim[d];
    if (count != src->count || ndim > OX_MAX_DIMS) {
        ox_const_free(&c);
        return ox_fail(imp, CLNET_ERR_FORMAT, "%lld values cannot take a shape of %lld",
                       (long long)src->count, (long long)count);
    }
    c.ndim = ndim;
    memcpy(c.dim, dim, (size_t)ndim * sizeof *dim);
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

static clnet_status fold_reshape(ox_import *imp, const ox_const *x)
{
    const char *op = imp->node->op_type;
    int64_t dim[OX_MAX_DIMS];
    int n = 0;
    bool given;
    if (strcmp(op, "Reshape") == 0) {
        TRY(ox_check_attrs(imp, "allowzero"));
        TRY(int_list(imp, 1, "shape", dim, &n, &given));
        int64_t known = 1;
        int infer = -1;
        for (int d = 0; d < n; d++) {
            if (dim[d] == 0 && d < x->ndim)
                dim[d] = x->dim[d];
            if (dim[d] == -1 && infer < 0)
                infer = d;
            else if (dim[d] < 0)
                return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a target dimension of %lld",
                               (long long)dim[d]);
            else
                known *= dim[d];
        }
        if (infer >= 0)
            dim[infer] = known ? x->count / known : 0;
        return reshaped(imp, x, n, dim);
    }
    if (strcmp(op, "Flatten") == 0) {
        TRY(ox_check_attrs(imp, "axis"));
        int64_t axis = 1;
        int a = 0;
        TRY(ox_attr_int(imp, "axis", &axis));
        TRY(axis_of(imp, axis, x->ndim + 1, &a));
        dim[0] = dim[1] = 1;
        for (int d = 0; d < x->ndim; d++)
            dim[d < a ? 0 : 1] *= x->dim[d];
        return reshaped(imp, x, 2, dim);
    }
    int64_t axes[OX_MAX_DIMS];
    int naxes = 0;
    TRY(ox_check_attrs(imp, "axes"));
    TRY(int_list(imp, 1, "axes", axes, &naxes, &given));
    bool squeeze = strcmp(op, "Squeeze") == 0;
    int rank = squeeze ? x->ndim : x->ndim + naxes;
    bool pick[OX_MAX_DIMS + 1] = {false};
    for (int k = 0; k < naxes; k++) {
        int a = 0;
        TRY(axis_of(imp, axes[k], rank, &a));
        pick[a] = true;
    }
    for (int d = 0, s = 0; d < rank; d++) {
        if (squeeze) {
            if ((given && pick[d]) || (!given && x->dim[d] == 1))
                continue;
            dim[n++] = x->dim[d];
        } else {
            dim[n++] = pick[d] ? 1 : x->dim[s++];
        }
    }
    return reshaped(imp, x, n, dim);
}

static clnet_status fold_cast(ox_import *imp, const ox_const *x)
{
    TRY(ox_check_attrs(imp, "to"));
    int64_t to = 0;
    TRY(ox_attr_int(imp, "to", &to));
    ox_dtype dt;
    switch (to) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        dt = OX_F32;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        dt = OX_I64;
        break;
    default:
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute 'to': data type %lld is not "
                       "supported", (long long)to);
    }
    ox_const c;
    TRY(ox_const_alloc(imp, dt, x->ndim, x->dim, &c));
    for (int64_t i = 0; i < x->count; i++) {
        if (dt == OX_F32)
            c.f[i] = (float)ox_const_get(x, i);
        else if (x->dtype == OX_I64)
            c.i[i] = to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? x->i[i] != 0 : x->i[i];
        else if (!isfinite(x->f[i]) || fabsf(x->f[i]) > 9e18f) {
            ox_const_free(&c);
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "casting %g to an integer", x->f[i]);
        } else
            c.i[i] = to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? x->f[i] != 0 : (int64_t)x->f[i];
    }
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

static clnet_status fold_shape(ox_import *imp, int ndim, const int64_t *dim)
{
    TRY(ox_check_attrs(imp, "start end"));
    int64_t start = 0, end = ndim;
    TRY(ox_attr_int(imp, "start", &start));
    TRY(ox_attr_int(imp, "end", &end));
    start = start < 0 ? start + ndim : start;
    end = end < 0 ? end + ndim : end;
    start = start < 0 ? 0 : start > ndim ? ndim : start;
    end = end < start ? start : end > ndim ? ndim : end;
    int64_t n = end - start;
    ox_const c;
    TRY(ox_const_alloc(imp, OX_I64, 1, &n, &c));
    memcpy(c.i, dim + start, (size_t)n * sizeof *dim);
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

clnet_status ox_shape_of_layer(ox_import *imp, const ox_value *v)
{
    const clnet_shape *s = ox_shape(imp, v);
    int64_t dim[OX_MAX_DIMS] = {OX_BATCH};
    for (int d = 0; d < s->ndim; d++)
        dim[d + 1] = s->dim[d];
    return fold_shape(imp, s->ndim + 1, dim);
}

static clnet_status fold_gather(ox_import *imp, const ox_const *x, const ox_const *idx)
{
    TRY(ox_check_attrs(imp, "axis"));
    int64_t axis = 0;
    int a = 0;
    TRY(ox_attr_int(imp, "axis", &axis));
    TRY(axis_of(imp, axis, x->ndim, &a));
    if (idx->dtype != OX_I64)
        return ox_fail(imp, CLNET_ERR_FORMAT, "the indices are not integers");
    int64_t dim[OX_MAX_DIMS * 2];
    int n = 0;
    for (int d = 0; d < a; d++)
        dim[n++] = x->dim[d];
    for (int d = 0; d < idx->ndim; d++)
        dim[n++] = idx->dim[d];
    for (int d = a + 1; d < x->ndim; d++)
        dim[n++] = x->dim[d];
    ox_const c;
    TRY(ox_const_alloc(imp, x->dtype, n, dim, &c));
    int64_t outer = 1, inner = 1, len = x->dim[a];
    for (int d = 0; d < a; d++)
        outer *= x->dim[d];
    for (int d = a + 1; d < x->ndim; d++)
        inner *= x->dim[d];
    int64_t o = 0;
    for (int64_t p = 0; p < outer; p++)
        for (int64_t k = 0; k < idx->count; k++) {
            int64_t j = idx->i[k] < 0 ? idx->i[k] + len : idx->i[k];
            if (j < 0 || j >= len) {
                ox_const_free(&c);
                return ox_fail(imp, CLNET_ERR_FORMAT, "index %lld is outside 0..%lld",
                               (long long)idx->i[k], (long long)len - 1);
            }
            for (int64_t q = 0; q < inner; q++)
                copy_elem(&c, o++, x, (p * len + j) * inner + q);
        }
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

static clnet_status fold_concat(ox_import *imp)
{
    TRY(ox_check_attrs(imp, "axis"));
    int64_t axis = 0;
    int a = 0;
    TRY(ox_attr_int(imp, "axis", &axis));
    const ox_const *first = &ox_input(imp, 0)->c;
    TRY(axis_of(imp, axis, first->ndim, &a));
    int64_t dim[OX_MAX_DIMS];
    memcpy(dim, first->dim, sizeof dim);
    dim[a] = 0;
    int nin = (int)imp->node->n_input;
    for (int k = 0; k < nin; k++) {
        const ox_const *x = &ox_input(imp, k)->c;
        bool fits = x->ndim == first->ndim && x->dtype == first->dtype;
        for (int d = 0; fits && d < x->ndim; d++)
            fits = d == a || x->dim[d] == first->dim[d];
        if (!fits)
            return ox_fail(imp, CLNET_ERR_FORMAT, "input %d does not fit input 0", k);
        dim[a] += x->dim[a];
    }
    ox_const c;
    TRY(ox_const_alloc(imp, first->dtype, first->ndim, dim, &c));
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < a; d++)
        outer *= dim[d];
    for (int d = a + 1; d < first->ndim; d++)
        inner *= dim[d];
    int64_t o = 0;
    for (int64_t p = 0; p < outer; p++)
        for (int k = 0; k < nin; k++) {
            const ox_const *x = &ox_input(imp, k)->c;
            int64_t block = x->dim[a] * inner;
            for (int64_t q = 0; q < block; q++)
                copy_elem(&c, o++, x, p * block + q);
        }
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

/* Slice along the axes given (opset >= 10: inputs; before: attributes). */
static clnet_status fold_slice(ox_import *imp, const ox_const *x)
{
    TRY(ox_check_attrs(imp, "starts ends axes"));
    int64_t starts[OX_MAX_DIMS], ends[OX_MAX_DIMS], axes[OX_MAX_DIMS], steps[OX_MAX_DIMS];
    int ns = 0, ne = 0, na = 0, nt = 0;
    bool given, has_axes, has_steps;
    TRY(int_list(imp, 1, "starts", starts, &ns, &given));
    TRY(int_list(imp, 2, "ends", ends, &ne, &given));
    TRY(int_list(imp, 3, "axes", axes, &na, &has_axes));
    TRY(int_list(imp, 4, "steps", steps, &nt, &has_steps));
    if (ne != ns || (has_axes && na != ns) || (has_steps && nt != ns))
        return ox_fail(imp, CLNET_ERR_FORMAT, "starts, ends, axes and steps differ in length");
    int64_t lo[OX_MAX_DIMS], step[OX_MAX_DIMS], dim[OX_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) {
        lo[d] = 0;
        step[d] = 1;
        dim[d] = x->dim[d];
    }
    for (int k = 0; k < ns; k++) {
        int a = 0;
        TRY(axis_of(imp, has_axes ? axes[k] : k, x->ndim, &a));
        int64_t len = x->dim[a], s = has_steps ? steps[k] : 1;
        if (s == 0)
            return ox_fail(imp, CLNET_ERR_FORMAT, "a step of 0");
        int64_t b = starts[k] < 0 ? starts[k] + len : starts[k];
        int64_t e = ends[k] < 0 && ends[k] > INT64_MIN / 2 ? ends[k] + len : ends[k];
        if (s > 0) {
            b = b < 0 ? 0 : b > len ? len : b;
            e = e < 0 ? 0 : e > len ? len : e;
            dim[a] = e > b ? (e - b + s - 1) / s : 0;
        } else {
            b = b < 0 ? -1 : b > len - 1 ? len - 1 : b;
            e = e < -1 ? -1 : e > len - 1 ? len - 1 : e;
            dim[a] = b > e ? (b - e - s - 1) / -s : 0;
        }
        lo[a] = b;
        step[a] = s;
    }
    ox_const c;
    TRY(ox_const_alloc(imp, x->dtype, x->ndim, dim, &c));
    int64_t xs[OX_MAX_DIMS], cs[OX_MAX_DIMS], pos[OX_MAX_DIMS] = {0};
    strides_of(x, xs);
    strides_of(&c, cs);
    for (int64_t o = 0; o < c.count; o++) {
        int64_t from = 0, rest = o;
        for (int d = 0; d < c.ndim; d++) {
            pos[d] = rest / cs[d];
            rest %= cs[d];
            from += (lo[d] + pos[d] * step[d]) * xs[d];
        }
        copy_elem(&c, o, x, from);
    }
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

/* Element `o` of the broadcast result of shape `dim` read from x. */
static int64_t broadcast_index(const ox_const *x, int ndim, const int64_t *dim, int64_t o)
{
    int64_t from = 0, stride = 1;
    for (int d = ndim - 1, e = x->ndim - 1; d >= 0; d--, e--) {
        int64_t p = o % dim[d];
        o /= dim[d];
        if (e >= 0) {
            if (x->dim[e] != 1)
                from += p * stride;
            stride *= x->dim[e];
        }
    }
    return from;
}

static clnet_status broadcast_shape(ox_import *imp, const ox_const *a, const ox_const *b,
                                    int *ndim, int64_t *dim)
{
    *ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < *ndim; d++) {
        int da = d - (*ndim - a->ndim), db = d - (*ndim - b->ndim);
        int64_t x = da >= 0 ? a->dim[da] : 1, y = db >= 0 ? b->dim[db] : 1;
        if (x != y && x != 1 && y != 1)
            return ox_fail(imp, CLNET_ERR_FORMAT, "shapes do not broadcast (%lld against %lld "
                           "in dimension %d)", (long long)x, (long long)y, d);
        dim[d] = x == 1 ? y : x;
    }
    return CLNET_OK;
}

static clnet_status fold_binary(ox_import *imp, const ox_const *a, const ox_const *b)
{
    TRY(ox_check_attrs(imp, ""));
    char op = imp->node->op_type[0];     /* Add, Sub, Mul, Div */
    int ndim;
    int64_t dim[OX_MAX_DIMS];
    TRY(broadcast_shape(imp, a, b, &ndim, dim));
    ox_dtype dt = a->dtype == OX_F32 || b->dtype == OX_F32 ? OX_F32 : OX_I64;
    ox_const c;
    TRY(ox_const_alloc(imp, dt, ndim, dim, &c));
    for (int64_t o = 0; o < c.count; o++) {
        int64_t ia = broadcast_index(a, ndim, dim, o), ib = broadcast_index(b, ndim, dim, o);
        if (dt == OX_F32) {
            float x = (float)ox_const_get(a, ia), y = (float)ox_const_get(b, ib);
            c.f[o] = op == 'A' ? x + y : op == 'S' ? x - y : op == 'M' ? x * y : x / y;
            continue;
        }
        int64_t x = a->i[ia], y = b->i[ib];
        if (x == OX_BATCH || y == OX_BATCH || (op == 'D' && y == 0)) {
            ox_const_free(&c);
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, x == OX_BATCH || y == OX_BATCH
                           ? "arithmetic on the batch size, known only at run time"
                           : "an integer division by zero");
        }
        c.i[o] = op == 'A' ? x + y : op == 'S' ? x - y : op == 'M' ? x * y : x / y;
    }
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

static clnet_status fold_expand(ox_import *imp, const ox_const *x, const ox_const *shape)
{
    TRY(ox_check_attrs(imp, ""));
    if (shape->dtype != OX_I64 || shape->ndim != 1 || shape->count > OX_MAX_DIMS)
        return ox_fail(imp, CLNET_ERR_FORMAT, "the shape is not a short list of integers");
    ox_const target = {.dtype = OX_I64, .ndim = (int)shape->count};
    memcpy(target.dim, shape->i, (size_t)shape->count * sizeof *shape->i);
    int ndim;
    int64_t dim[OX_MAX_DIMS];
    TRY(broadcast_shape(imp, x, &target, &ndim, dim));
    ox_const c;
    TRY(ox_const_alloc(imp, x->dtype, ndim, dim, &c));
    for (int64_t o = 0; o < c.count; o++)
        copy_elem(&c, o, x, broadcast_index(x, ndim, dim, o));
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

static clnet_status fold_transpose(ox_import *imp, const ox_const *x)
{
    TRY(ox_check_attrs(imp, "perm"));
    int64_t perm[OX_MAX_DIMS];
    int n = x->ndim;
    for (int d = 0; d < n; d++)
        perm[d] = n - 1 - d;
    int given = n;
    TRY(ox_attr_ints(imp, "perm", OX_MAX_DIMS, perm, &given));
    int64_t dim[OX_MAX_DIMS], xs[OX_MAX_DIMS];
    bool seen[OX_MAX_DIMS] = {false};
    for (int d = 0; d < n; d++) {
        if (given != n || perm[d] < 0 || perm[d] >= n || seen[perm[d]])
            return ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'perm' is not a permutation of "
                           "the %d axes", n);
        seen[perm[d]] = true;
        dim[d] = x->dim[perm[d]];
    }
    ox_const c;
    TRY(ox_const_alloc(imp, x->dtype, n, dim, &c));
    strides_of(x, xs);
    for (int64_t o = 0; o < c.count; o++) {
        int64_t from = 0, rest = o;
        for (int d = n - 1; d >= 0; d--) {
            from += (rest % dim[d]) * xs[perm[d]];
            rest /= dim[d];
        }
        copy_elem(&c, o, x, from);
    }
    ox_set_const(imp, 0, &c);
    return CLNET_OK;
}

static clnet_status fold_constant_of_shape(ox_import *imp, const ox_const *shape)
{
    TRY(ox_check_attrs(imp, "value"));
    if (shape->dtype != OX_I64 || shape->ndim != 1 || shape->count > OX_MAX_DIMS)
        return ox_fail(imp, CLNET_ERR_FORMAT, "the shape is not a short list of integers");
    ox_const value = {0}, c;
    const Onnx__AttributeProto *a = ox_attr(imp, "value");
    if (a && a->t)
        TRY(ox_tensor_decode(imp, a->t, "attribute 'value'", &value));
    else
        TRY(ox_const_alloc(imp, OX_F32, 0, NULL, &value));
    clnet_status st = value.count == 1 ? ox_const_alloc(imp, value.dtype, (int)shape->count,
                                                        shape->i, &c)
                      : ox_fail(imp, CLNET_ERR_FORMAT, "attribute 'value' is not one value");
    for (int64_t o = 0; st == CLNET_OK && o < c.count; o++)
        copy_elem(&c, o, &value, 0);
    ox_const_free(&value);
    if (st == CLNET_OK)
        ox_set_const(imp, 0, &c);
    return st;
}

clnet_status ox_fold(ox_import *imp)
{
    const char *op = imp->node->op_type;
    if (strcmp(op, "Constant") == 0)
        return fold_constant(imp);
    if (imp->node->n_input == 0 || imp->node->n_output == 0 || !imp->node->output[0][0])
        return ox_fail(imp, CLNET_ERR_FORMAT, "a node without inputs or outputs");
    ox_value *x = ox_input(imp, 0);
    if (!x)
        return CLNET_ERR_FORMAT;
    ox_value *y = ox_opt_input(imp, 1);
    ox_const c;
    if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0) {
        TRY(ox_check_attrs(imp, "ratio seed"));
        TRY(copy_const(imp, &x->c, &c));
        ox_set_const(imp, 0, &c);
        return CLNET_OK;
    }
    if (strcmp(op, "Reshape") == 0 || strcmp(op, "Flatten") == 0 ||
        strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0)
        return fold_reshape(imp, &x->c);
    if (strcmp(op, "Cast") == 0)
        return fold_cast(imp, &x->c);
    if (strcmp(op, "Shape") == 0)
        return fold_shape(imp, x->c.ndim, x->c.dim);
    if (strcmp(op, "Concat") == 0)
        return fold_concat(imp);
    if (strcmp(op, "Slice") == 0)
        return fold_slice(imp, &x->c);
    if (strcmp(op, "Transpose") == 0)
        return fold_transpose(imp, &x->c);
    if (strcmp(op, "ConstantOfShape") == 0)
        return fold_constant_of_shape(imp, &x->c);
    if (y && strcmp(op, "Gather") == 0)
        return fold_gather(imp, &x->c, &y->c);
    if (y && strcmp(op, "Expand") == 0)
        return fold_expand(imp, &x->c, &y->c);
    if (y && (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 ||
              strcmp(op, "Div") == 0))
        return fold_binary(imp, &x->c, &y->c);
    return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "operator %s on constant inputs is not "
                   "supported", op);
}
