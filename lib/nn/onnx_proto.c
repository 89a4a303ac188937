/* onnx_proto.c - the ONNX importer's view of the protobuf: reading and
 * unpacking a model (protobuf-c does the decoding), tensors into host
 * arrays with every size checked, typed node attributes, and messages that
 * name the node at fault. */
#include "nn/onnx_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

clnet_status ox_fail(ox_import *imp, clnet_status st, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!imp->node)
        return clnet_fail(imp->ctx, st, "ONNX import of %s: %s", imp->file, msg);
    const char *name = imp->node->name && imp->node->name[0] ? imp->node->name : "";
    return clnet_fail(imp->ctx, st, "ONNX import of %s: node '%s' (#%d, op type %s): %s",
                      imp->file, name, imp->node_index,
                      imp->node->op_type ? imp->node->op_type : "?", msg);
}

static clnet_status read_file(ox_import *imp, const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ox_fail(imp, CLNET_ERR_IO, "cannot open: %s", strerror(errno));
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return ox_fail(imp, CLNET_ERR_IO, "cannot find the file's size");
    }
    if ((size_t)len > OX_MAX_BYTES) {
        fclose(f);
        return ox_fail(imp, CLNET_ERR_FORMAT, "%ld bytes: larger than the %zu an ONNX "
                       "protobuf may hold", len, OX_MAX_BYTES);
    }
    uint8_t *buf = malloc(len ? (size_t)len : 1);
    if (!buf) {
        fclose(f);
        return ox_fail(imp, CLNET_ERR_HOST_MEMORY, "out of host memory for %ld bytes", len);
    }
    size_t got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    if (got != (size_t)len) {
        free(buf);
        return ox_fail(imp, CLNET_ERR_IO, "read %zu of %ld bytes", got, len);
    }
    *data = buf;
    *size = (size_t)len;
    return CLNET_OK;
}

clnet_status ox_read_model(ox_import *imp, const char *path, const clnet_onnx_options *opts)
{
    uint8_t *owned = NULL;
    const uint8_t *data;
    size_t size = 0;
    if (opts && opts->data) {
        data = opts->data;
        size = opts->size;
    } else {
        clnet_status st = read_file(imp, path, &owned, &size);
        if (st != CLNET_OK)
            return st;
        data = owned;
    }
    if (size == 0) {
        free(owned);
        return ox_fail(imp, CLNET_ERR_FORMAT, "empty file: not an ONNX model");
    }
    imp->model = onnx__model_proto__unpack(NULL, size, data);
    free(owned);
    if (!imp->model)
        return ox_fail(imp, CLNET_ERR_FORMAT, "not an ONNX model: the protobuf does not "
                       "decode (a truncated or foreign file)");
    if (!imp->model->graph)
        return ox_fail(imp, CLNET_ERR_FORMAT, "not an ONNX model: it has no graph");
    imp->graph = imp->model->graph;
    return CLNET_OK;
}

/* ---- tensors ---- */

void ox_const_free(ox_const *c)
{
    free(c->f);
    free(c->i);
    c->f = NULL;
    c->i = NULL;
}

clnet_status ox_const_alloc(ox_import *imp, ox_dtype dtype, int ndim, const int64_t *dim,
                            ox_const *out)
{
    memset(out, 0, sizeof *out);
    if (ndim < 0 || ndim > OX_MAX_DIMS)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "a tensor of rank %d (at most %d)", ndim,
                       OX_MAX_DIMS);
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (dim[d] < 0 || (dim[d] > 0 && count > (INT64_C(1) << 40) / dim[d]))
            return ox_fail(imp, CLNET_ERR_FORMAT, "a tensor dimension of %lld",
                           (long long)dim[d]);
        count *= dim[d];
        out->dim[d] = dim[d];
    }
    out->dtype = dtype;
    out->ndim = ndim;
    out->count = count;
    size_t bytes = (size_t)(count ? count : 1) * (dtype == OX_F32 ? sizeof(float) : sizeof(int64_t));
    void *p = calloc(1, bytes);
    if (!p)
        return ox_fail(imp, CLNET_ERR_HOST_MEMORY, "out of host memory for %zu bytes", bytes);
    if (dtype == OX_F32)
        out->f = p;
    else
        out->i = p;
    return CLNET_OK;
}

static const char *dtype_name(int32_t t)
{
    static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16",
        "int16", "int32", "int64", "string", "bool", "float16", "double", "uint32", "uint64",
        "complex64", "complex128", "bfloat16"};
    return t >= 0 && t < (int32_t)(sizeof names / sizeof names[0]) ? names[t] : "unknown";
}

/* Bytes per element in raw_data, 0 for a type the importer does not take. */
static size_t raw_size(int32_t t)
{
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
        return 1;
    default:
        return 0;
    }
}

/* Element i of little-endian raw data of type t. */
static void raw_get(const uint8_t *p, int32_t t, int64_t i, float *f, int64_t *v)
{
    size_t n = raw_size(t);
    uint8_t b[8] = {0};
    memcpy(b, p + (size_t)i * n, n);
    uint64_t u = 0;
    for (size_t k = 0; k < n; k++)
        u |= (uint64_t)b[k] << (8 * k);
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
        uint32_t w = (uint32_t)u;
        memcpy(f, &w, 4);
        break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
        double d;
        memcpy(&d, &u, 8);
        *f = (float)d;
        break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: *v = (int32_t)(uint32_t)u; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: *v = (int8_t)(uint8_t)u; break;
    default: *v = (int64_t)u; break; /* int64, uint8, bool */
    }
}

clnet_status ox_tensor_decode(ox_import *imp, const Onnx__TensorProto *t, const char *what,
                              ox_const *out)
{
    memset(out, 0, sizeof *out);
    int32_t type = t->has_data_type ? t->data_type : 0;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "%s: data in an external file is not "
                       "supported (save the model with its weights inside)", what);
    if (raw_size(type) == 0)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "%s: data type %s (%d) is not supported "
                       "(float, double and integers are)", what, dtype_name(type), type);
    if (t->n_dims > OX_MAX_DIMS)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "%s: rank %zu (at most %d)", what, t->n_dims,
                       OX_MAX_DIMS);
    bool floating = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                    type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    for (size_t d = 0; d < t->n_dims; d++)
        if (t->dims[d] < 0)
            return ox_fail(imp, CLNET_ERR_FORMAT, "%s: dimension %zu is %lld", what, d,
                           (long long)t->dims[d]);
    /* the declared size is checked against the data present before anything
     * is allocated, so a few bytes cannot ask for gigabytes */
    int64_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] > 0 && n > (INT64_C(1) << 40) / t->dims[d])
            return ox_fail(imp, CLNET_ERR_FORMAT, "%s: a tensor dimension of %lld", what,
                           (long long)t->dims[d]);
        n *= t->dims[d];
    }
    /* the data sits in raw_data or in the one typed field of its type */
    size_t have;
    const char *field;
    if (t->has_raw_data && t->raw_data.len > 0) {
        have = t->raw_data.len / raw_size(type);
        field = "raw_data";
        if (t->raw_data.len % raw_size(type) != 0)
            have = SIZE_MAX;
    } else if (type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        have = t->n_float_data, field = "float_data";
    } else if (type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
        have = t->n_double_data, field = "double_data";
    } else if (type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
        have = t->n_int64_data, field = "int64_data";
    } else {
        have = t->n_int32_data, field = "int32_data";
    }
    if (have != (size_t)n) {
        if (have == SIZE_MAX)
            return ox_fail(imp, CLNET_ERR_FORMAT, "%s: %zu bytes of raw_data are not a whole "
                           "number of %s values", what, t->raw_data.len, dtype_name(type));
        return ox_fail(imp, CLNET_ERR_FORMAT, "%s: its shape holds %lld values but %s has %zu",
                       what, (long long)n, field, have);
    }
    clnet_status st = ox_const_alloc(imp, floating ? OX_F32 : OX_I64, (int)t->n_dims, t->dims,
                                     out);
    if (st != CLNET_OK)
        return st;
    for (int64_t i = 0; i < n; i++) {
        float f = 0;
        int64_t v = 0;
        if (field[0] == 'r')
            raw_get(t->raw_data.data, type, i, &f, &v);
        else if (type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            f = t->float_data[i];
        else if (type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
            f = (float)t->double_data[i];
        else if (type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            v = t->int64_data[i];
        else
            v = t->int32_data[i];
        if (floating)
            out->f[i] = f;
        else
            out->i[i] = v;
    }
    return CLNET_OK;
}

/* ---- attributes ---- */

const Onnx__AttributeProto *ox_attr(ox_import *imp, const char *name)
{
    for (size_t i = 0; i < imp->node->n_attribute; i++) {
        const Onnx__AttributeProto *a = imp->node->attribute[i];
        if (a->name && strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

clnet_status ox_check_attrs(ox_import *imp, const char *known)
{
    for (size_t i = 0; i < imp->node->n_attribute; i++) {
        const char *name = imp->node->attribute[i]->name ? imp->node->attribute[i]->name : "";
        size_t len = strlen(name);
        const char *k = known;
        bool found = false;
        while (!found && len > 0 && (k = strstr(k, name)) != NULL) {
            found = (k == known || k[-1] == ' ') && (k[len] == ' ' || k[len] == '\0');
            k += len;
        }
        if (!found)
            return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute '%s' is not supported", name);
    }
    return CLNET_OK;
}

static clnet_status attr_of_type(ox_import *imp, const char *name,
                                 Onnx__AttributeProto__AttributeType type, const char *type_name,
                                 const Onnx__AttributeProto **out)
{
    *out = ox_attr(imp, name);
    if (*out && (*out)->type != type)
        return ox_fail(imp, CLNET_ERR_FORMAT, "attribute '%s' is not of type %s", name,
                       type_name);
    return CLNET_OK;
}

clnet_status ox_attr_int(ox_import *imp, const char *name, int64_t *out)
{
    const Onnx__AttributeProto *a;
    clnet_status st = attr_of_type(imp, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "int", &a);
    if (st == CLNET_OK && a)
        *out = a->i;
    return st;
}

clnet_status ox_attr_float(ox_import *imp, const char *name, float *out)
{
    const Onnx__AttributeProto *a;
    clnet_status st = attr_of_type(imp, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
                                   "float", &a);
    if (st == CLNET_OK && a)
        *out = a->f;
    return st;
}

clnet_status ox_attr_string(ox_import *imp, const char *name, char *out, size_t size)
{
    const Onnx__AttributeProto *a;
    clnet_status st = attr_of_type(imp, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
                                   "string", &a);
    if (st != CLNET_OK || !a)
        return st;
    /* protobuf bytes are not NUL-terminated; the values ONNX defines are short */
    if (a->s.len >= size || (a->s.len && memchr(a->s.data, '\0', a->s.len)))
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute '%s': an unknown value", name);
    if (a->s.len)
        memcpy(out, a->s.data, a->s.len);
    out[a->s.len] = '\0';
    return CLNET_OK;
}

clnet_status ox_attr_ints(ox_import *imp, const char *name, int max, int64_t *out, int *n)
{
    const Onnx__AttributeProto *a;
    clnet_status st = attr_of_type(imp, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "ints",
                                   &a);
    if (st != CLNET_OK || !a)
        return st;
    if (a->n_ints > (size_t)max)
        return ox_fail(imp, CLNET_ERR_UNSUPPORTED, "attribute '%s' has %zu values (at most %d)",
                       name, a->n_ints, max);
    if (a->n_ints > 0) /* an empty list may come with a NULL array */
        memcpy(out, a->ints, a->n_ints * sizeof *out);
    *n = (int)a->n_ints;
    return CLNET_OK;
}
