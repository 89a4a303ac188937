/* cfg.c - networks from cfg files (docs/cfg-format.md): each layer section
 * becomes a clnet_layer_spec handed to clnet_net_add, in file order. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "nn/cfg.h"
#include "nn/nn_internal.h"

/* PyTorch's nn.LeakyReLU default. */
#define LEAKY_DEFAULT 0.01f

/* ---- values shared by several sections ---------------------------------- */

/* activation = NAME and slope, for layers with a fused activation (linear =
 * none); `key` is "type" for [activation], which must name a function. */
static clnet_status read_act(cfg_parser *p, const cfg_section *s, const char *key,
                             clnet_layer_spec *spec)
{
    /* "linear" (no activation), then the cfg word of each clnet_activation
     * in enum order, so word i + 1 is activation i. */
    char names[256] = "linear";
    for (int fn = 0; fn < CLNET_ACT_COUNT; fn++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, " %s",
                 clnet_act_info_get((clnet_activation)fn)->cfg_name);
    }
    int which = 0;
    TRY(cfg_enum(p, s, key, names, &which));
    if (s->type == CFG_ACTIVATION && which == 0) {
        const cfg_kv *e = cfg_find(s, key);
        return e ? cfg_bad(p, e, "an [activation] layer cannot be linear")
                 : cfg_missing(p, s, key);
    }
    if (which == CLNET_ACT_SCALE + 1 && s->type != CFG_ACTIVATION)
        return cfg_bad(p, cfg_find(s, key), "scale is a type of [activation] layers only");
    spec->has_act = which != 0;
    spec->act.fn = which ? (clnet_activation)(which - 1) : CLNET_ACT_RELU;
    spec->act.alpha = LEAKY_DEFAULT;
    TRY(cfg_float(p, s, "slope", (cfg_range){0, 1, false, false}, &spec->act.alpha));
    const cfg_kv *slope = cfg_find(s, "slope");
    /* Warned once, not once per [repeat] iteration. */
    if (slope && spec->act.fn != CLNET_ACT_LEAKY_RELU && p->iter <= 0)
        clnet_log(p->ctx, CLNET_LOG_WARN, "%s:%d: slope: has no effect unless %s = leaky",
                  p->file, slope->line, key);
    return CLNET_OK;
}

/* Keys that only make sense for images are errors on 1-D (C x W) inputs. */
static clnet_status no_height_keys(cfg_parser *p, const cfg_section *s, const clnet_shape *in)
{
    static const char *const keys[] = {"size_h", "pad_top", "pad_bottom"};
    for (size_t i = 0; in->ndim == 2 && i < sizeof keys / sizeof keys[0]; i++) {
        const cfg_kv *e = cfg_find(s, keys[i]);
        if (e)
            return cfg_bad(p, e, "not allowed: the input is 1-D (%" PRId64 "x%" PRId64 ")",
                           in->dim[0], in->dim[1]);
    }
    return CLNET_OK;
}

/* size, or size_h and size_w; a 1-D layer's height entries are 1. */
static clnet_status read_window(cfg_parser *p, const cfg_section *s, bool one_d, int win[2])
{
    TRY(cfg_conflict(p, s, "size_h", "size"));
    TRY(cfg_conflict(p, s, "size_w", "size"));
    win[0] = win[1] = 1;
    if (cfg_find(s, "size")) {
        TRY(cfg_int(p, s, "size", 1, CFG_MAX_WINDOW, &win[1]));
        win[0] = one_d ? 1 : win[1];
        return CLNET_OK;
    }
    if (!cfg_find(s, "size_h") && !cfg_find(s, "size_w"))
        return cfg_missing(p, s, "size");
    if (!one_d)
        TRY(cfg_need_int(p, s, "size_h", 1, CFG_MAX_WINDOW, &win[0]));
    return cfg_need_int(p, s, "size_w", 1, CFG_MAX_WINDOW, &win[1]);
}

/* pad, or pad_top/pad_left/pad_bottom/pad_right (each default 0). */
static clnet_status read_pad(cfg_parser *p, const cfg_section *s, bool one_d, int begin[2],
                             int end[2])
{
    static const char *const sides[] = {"pad_top", "pad_left", "pad_bottom", "pad_right"};
    int v[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        TRY(cfg_conflict(p, s, sides[i], "pad"));
        TRY(cfg_int(p, s, sides[i], 0, CFG_MAX_WINDOW, &v[i]));
    }
    int pad = -1;
    TRY(cfg_int(p, s, "pad", 0, CFG_MAX_WINDOW, &pad));
    for (int i = 0; pad >= 0 && i < 4; i++)
        v[i] = pad;
    begin[0] = one_d ? 0 : v[0];
    begin[1] = v[1];
    end[0] = one_d ? 0 : v[2];
    end[1] = v[3];
    return CLNET_OK;
}

/* stride or dilation: one value for both axes, 1 on a 1-D layer's height. */
static clnet_status read_step(cfg_parser *p, const cfg_section *s, const char *key, bool one_d,
                              int def, int out[2])
{
    out[1] = def;
    TRY(cfg_int(p, s, key, 1, CFG_MAX_WINDOW, &out[1]));
    out[0] = one_d ? 1 : out[1];
    return CLNET_OK;
}

/* ---- layer sections ----------------------------------------------------- */

typedef clnet_status (*build_fn)(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                 clnet_layer_spec *spec);

static clnet_status build_conv(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                               clnet_layer_spec *spec)
{
    bool one_d = in->ndim == 2;
    clnet_conv_params *c = &spec->conv;
    spec->kind = s->type == CFG_CONVT ? CLNET_LAYER_CONV_TRANSPOSE : CLNET_LAYER_CONV;
    spec->bias = true;
    c->groups = 1;
    TRY(no_height_keys(p, s, in));
    TRY(cfg_need_int(p, s, "filters", 1, CFG_MAX_CHANNELS, &spec->out_channels));
    TRY(read_window(p, s, one_d, spec->kernel));
    TRY(read_step(p, s, "stride", one_d, 1, c->stride));
    TRY(read_step(p, s, "dilation", one_d, 1, c->dilation));
    TRY(read_pad(p, s, one_d, c->pad_begin, c->pad_end));
    TRY(cfg_int(p, s, "groups", 1, CFG_MAX_CHANNELS, &c->groups));
    TRY(cfg_bool(p, s, "bias", &spec->bias));
    if (s->type == CFG_CONV)
        TRY(cfg_bool(p, s, "dirac", &spec->dirac));
    if (s->type == CFG_CONVT) {
        TRY(cfg_int(p, s, "output_padding", 0, CFG_MAX_WINDOW, &c->output_padding[1]));
        c->output_padding[0] = one_d ? 0 : c->output_padding[1];
    }
    return read_act(p, s, "activation", spec);
}

static clnet_status build_pool(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                               clnet_layer_spec *spec)
{
    bool one_d = in->ndim == 2;
    clnet_pool_params *q = &spec->pool;
    spec->kind = CLNET_LAYER_POOL;
    q->mode = s->pool_mode;
    q->count_include_pad = true;
    TRY(cfg_need_int(p, s, "size", 1, CFG_MAX_WINDOW, &q->kernel[1]));
    q->kernel[0] = one_d ? 1 : q->kernel[1];
    TRY(read_step(p, s, "stride", one_d, q->kernel[1], q->stride));
    int pad = 0;
    TRY(cfg_int(p, s, "pad", 0, CFG_MAX_WINDOW, &pad));
    q->pad_begin[0] = q->pad_end[0] = one_d ? 0 : pad;
    q->pad_begin[1] = q->pad_end[1] = pad;
    TRY(cfg_bool(p, s, "ceil_mode", &q->ceil_mode));
    return cfg_bool(p, s, "count_include_pad", &q->count_include_pad);
}

static clnet_status build_global(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                 clnet_layer_spec *spec)
{
    (void)p, (void)in;
    spec->kind = CLNET_LAYER_POOL;
    spec->pool.mode = s->pool_mode;
    spec->pool.global = true;
    return CLNET_OK;
}

/* The output size: size, or size_h and size_w (the width alone on 1-D). */
static clnet_status build_adaptive(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                   clnet_layer_spec *spec)
{
    spec->kind = CLNET_LAYER_POOL;
    spec->pool.mode = CLNET_POOL_AVG;
    spec->pool.adaptive = true;
    TRY(no_height_keys(p, s, in));
    return read_window(p, s, in->ndim == 2, spec->pool.out_size);
}

static clnet_status build_slice(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                clnet_layer_spec *spec)
{
    (void)in;
    spec->kind = CLNET_LAYER_SLICE;
    TRY(cfg_int(p, s, "start", 0, CFG_MAX_CHANNELS - 1, &spec->slice_start));
    return cfg_need_int(p, s, "count", 1, CFG_MAX_CHANNELS, &spec->slice_count);
}

static clnet_status build_shuffle(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                  clnet_layer_spec *spec)
{
    (void)in;
    spec->kind = CLNET_LAYER_SHUFFLE;
    return cfg_need_int(p, s, "groups", 1, CFG_MAX_CHANNELS, &spec->shuffle_groups);
}

static clnet_status build_rbf(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                              clnet_layer_spec *spec)
{
    (void)in;
    spec->kind = CLNET_LAYER_RBF;
    int centres = 0;
    TRY(cfg_enum(p, s, "centres", "learnt digits", &centres));
    spec->rbf_digit_centres = centres == 1;
    return cfg_need_int(p, s, "outputs", 1, CFG_MAX_CHANNELS, &spec->out_channels);
}

static clnet_status build_activation(cfg_parser *p, const cfg_section *s,
                                     const clnet_shape *in, clnet_layer_spec *spec)
{
    (void)in;
    spec->kind = CLNET_LAYER_ACTIVATION;
    TRY(read_act(p, s, "type", spec));
    spec->has_act = false;   /* the layer is the activation, nothing is fused */
    if (spec->act.fn != CLNET_ACT_SCALE)
        return cfg_find(s, "factor") ? cfg_bad(p, cfg_find(s, "factor"), "only type = scale "
                                               "takes a factor") : CLNET_OK;
    spec->act.alpha = 1.0f;
    return cfg_float(p, s, "factor", (cfg_range){-1e6f, 1e6f, false, false}, &spec->act.alpha);
}

static clnet_status build_batchnorm(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                    clnet_layer_spec *spec)
{
    (void)in;
    spec->kind = CLNET_LAYER_BATCHNORM;
    spec->bn_eps = 1e-5f;
    spec->bn_momentum = 0.1f;
    /* momentum 0 would read as "the default" in clnet_layer_spec: excluded. */
    TRY(cfg_float(p, s, "eps", (cfg_range){0, 1, true, false}, &spec->bn_eps));
    TRY(cfg_float(p, s, "momentum", (cfg_range){0, 1, true, false}, &spec->bn_momentum));
    TRY(cfg_bool(p, s, "zero_gamma", &spec->bn_zero_gamma));
    TRY(cfg_bool(p, s, "frozen_scale", &spec->bn_frozen_scale));
    return read_act(p, s, "activation", spec);
}

static clnet_status build_lrn(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                              clnet_layer_spec *spec)
{
    (void)in;
    const cfg_range nonneg = {0, 1e6f, false, false}, positive = {0, 1e6f, true, false};
    spec->kind = CLNET_LAYER_LRN;
    spec->lrn = (clnet_lrn_params){.alpha = 1e-4f, .beta = 0.75f, .k = 1.0f};
    TRY(cfg_need_int(p, s, "size", 1, CFG_MAX_WINDOW, &spec->lrn.size));
    TRY(cfg_float(p, s, "alpha", nonneg, &spec->lrn.alpha));
    TRY(cfg_float(p, s, "beta", nonneg, &spec->lrn.beta));
    return cfg_float(p, s, "k", positive, &spec->lrn.k);
}

static clnet_status build_dropout(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                  clnet_layer_spec *spec)
{
    (void)in;
    spec->kind = CLNET_LAYER_DROPOUT;
    spec->dropout_p = 0.5f;
    return cfg_float(p, s, "p", (cfg_range){0, 1, false, true}, &spec->dropout_p);
}

static clnet_status build_linear(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                 clnet_layer_spec *spec)
{
    (void)in;
    spec->kind = CLNET_LAYER_LINEAR;
    spec->bias = true;
    TRY(cfg_need_int(p, s, "outputs", 1, CFG_MAX_CHANNELS, &spec->out_channels));
    TRY(cfg_bool(p, s, "bias", &spec->bias));
    return read_act(p, s, "activation", spec);
}

/* Sections whose only settings are name and from ([unpool]'s switches are
 * read with them, see read_switches). */
static clnet_status build_plain(cfg_parser *p, const cfg_section *s, const clnet_shape *in,
                                clnet_layer_spec *spec)
{
    (void)p, (void)in;
    static const clnet_layer_kind kinds[CFG_SEC_COUNT] = {
        [CFG_ADD] = CLNET_LAYER_ADD, [CFG_MUL] = CLNET_LAYER_MUL,
        [CFG_CONCAT] = CLNET_LAYER_CONCAT, [CFG_FLATTEN] = CLNET_LAYER_FLATTEN,
        [CFG_SOFTMAX] = CLNET_LAYER_SOFTMAX, [CFG_UNPOOL] = CLNET_LAYER_UNPOOL};
    spec->kind = kinds[s->type];
    return CLNET_OK;
}

/* How each layer section is built and how many inputs it takes. */
static const struct {
    build_fn build;
    int min_from, max_from;
} layers[CFG_SEC_COUNT] = {
    [CFG_CONV] = {build_conv, 1, 1},
    [CFG_CONVT] = {build_conv, 1, 1},
    [CFG_POOL] = {build_pool, 1, 1},
    [CFG_GLOBALPOOL] = {build_global, 1, 1},
    [CFG_ACTIVATION] = {build_activation, 1, 1},
    [CFG_BATCHNORM] = {build_batchnorm, 1, 1},
    [CFG_LRN] = {build_lrn, 1, 1},
    [CFG_DROPOUT] = {build_dropout, 1, 1},
    [CFG_LINEAR] = {build_linear, 1, 1},
    [CFG_ADD] = {build_plain, 2, CLNET_MAX_FROM},
    [CFG_MUL] = {build_plain, 2, 2},
    [CFG_CONCAT] = {build_plain, 2, CLNET_MAX_FROM},
    [CFG_FLATTEN] = {build_plain, 1, 1},
    [CFG_SOFTMAX] = {build_plain, 1, 1},
    [CFG_ADAPTIVEAVGPOOL] = {build_adaptive, 1, 1},
    [CFG_SLICE] = {build_slice, 1, 1},
    [CFG_RBF] = {build_rbf, 1, 1},
    [CFG_UNPOOL] = {build_plain, 1, 1},
    [CFG_SHUFFLE] = {build_shuffle, 1, 1},
};

/* ---- names and inputs --------------------------------------------------- */

/* Copies a name or from value with $i replaced by the repeat iteration. */
static clnet_status substitute(cfg_parser *p, const cfg_kv *e, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *c = e->value; *c; c++) {
        char piece[16] = {*c, '\0'};
        if (*c == '$') {
            if (c[1] != 'i')
                return cfg_bad(p, e, "'$' must be followed by 'i'");
            if (p->iter < 0)
                return cfg_bad(p, e, "$i is only defined inside a [repeat] block");
            snprintf(piece, sizeof piece, "%d", p->iter);
            c++;
        }
        size_t len = strlen(piece);
        if (n + len >= cap)
            return cfg_bad(p, e, "longer than %zu characters", cap - 1);
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
    return CLNET_OK;
}

/* Id of the layer called `name` among those added so far, or -1. */
static int layer_named(const clnet_net *net, const char *name)
{
    return nn_names_find(net, name);
}

/* Source line of layer `id` (the input: its [net] section). */
static int layer_line(const cfg_parser *p, int id)
{
    return id == 0 ? p->sec[0].line : p->items[id - 1].sec->line;
}

static clnet_status read_name(cfg_parser *p, const cfg_section *s, const clnet_net *net,
                              char *name, size_t cap)
{
    const cfg_kv *e = cfg_find(s, "name");
    name[0] = '\0';
    if (!e)
        return CLNET_OK;
    TRY(substitute(p, e, name, cap));
    if (!isalpha((unsigned char)name[0]) && name[0] != '_')
        return cfg_bad(p, e, "'%s' must start with a letter or '_'", name);
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_.-", *c))
            return cfg_bad(p, e, "'%s': only letters, digits, '_', '.' and '-' are allowed",
                           name);
    int other = layer_named(net, name);
    if (other >= 0)
        return cfg_bad(p, e, "duplicate layer name '%s' (layer %d, line %d)", name, other,
                       layer_line(p, other));
    return CLNET_OK;
}

/* One entry of `from`: a layer name, or a negative index relative to the
 * layer being added (-1 = the previous one). */
static clnet_status resolve(cfg_parser *p, const cfg_kv *e, const clnet_net *net, char *tok,
                            int *id)
{
    tok = cfg_trim(tok);
    if (!*tok)
        return cfg_bad(p, e, "empty entry in '%s'", e->value);
    int here = clnet_net_layer_count(net);
    if (*tok == '-' || *tok == '+' || isdigit((unsigned char)*tok)) {
        char *end;
        errno = 0;
        long v = strtol(tok, &end, 10);
        if (*end)
            return cfg_bad(p, e, "'%s' is neither a layer name nor an integer", tok);
        if (v >= 0)
            return cfg_bad(p, e, "%s: layer indices are relative and must be negative", tok);
        if (errno == ERANGE || v < -here)
            return cfg_bad(p, e, "%s reaches before the input (this is layer %d)", tok, here);
        *id = here + (int)v;
        return CLNET_OK;
    }
    *id = layer_named(net, tok);
    if (*id < 0)
        return cfg_bad(p, e, "no layer named '%s' before this one", tok);
    return CLNET_OK;
}

static clnet_status read_from(cfg_parser *p, const cfg_section *s, const clnet_net *net,
                              clnet_layer_spec *spec)
{
    int lo = layers[s->type].min_from, hi = layers[s->type].max_from;
    const cfg_kv *e = cfg_find(s, "from");
    spec->nfrom = 1;
    spec->from[0] = clnet_net_layer_count(net) - 1;
    if (!e)
        return lo > 1 ? cfg_missing(p, s, "from") : CLNET_OK;
    char list[1024];
    TRY(substitute(p, e, list, sizeof list));
    int n = 0;
    for (char *tok = list; tok; n++) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (n == hi)
            return cfg_bad(p, e, "%s takes at most %d input%s", cfg_header(s), hi,
                           hi > 1 ? "s" : "");
        TRY(resolve(p, e, net, tok, &spec->from[n]));
        tok = comma ? comma + 1 : NULL;
    }
    if (n < lo)
        return cfg_bad(p, e, "%s needs at least %d inputs", cfg_header(s), lo);
    spec->nfrom = n;
    return CLNET_OK;
}

/* [unpool]'s switches: the max pooling, by name or negative index as in
 * `from`, whose argmax places the values. */
static clnet_status read_switches(cfg_parser *p, const cfg_section *s, const clnet_net *net,
                                  clnet_layer_spec *spec)
{
    const cfg_kv *e = cfg_find(s, "switches");
    if (!e)
        return cfg_missing(p, s, "switches");
    char name[256];
    TRY(substitute(p, e, name, sizeof name));
    return resolve(p, e, net, name, &spec->switches);
}

/* ---- building the net --------------------------------------------------- */

/* clnet_fail overwrites the message it is given: the detail is copied first. */
static clnet_status wrap_error(cfg_parser *p, clnet_status st, int line, const char *what)
{
    char detail[2048];
    snprintf(detail, sizeof detail, "%s", clnet_last_error(p->ctx));
    return cfg_fail(p, st, line, what, "%s", detail);
}

/* What the overrides do to one item: whether it is auxiliary (aux = 1) and
 * whether `classes` resizes it. */
typedef struct item_role {
    bool aux, resize;
} item_role;

/* Auxiliary layers are side outputs: a main layer that read one would
 * change with the aux override. role[] is indexed by item, and layer id ==
 * item index + 1 (drop_aux). */
static clnet_status main_inputs(cfg_parser *p, const cfg_section *s, const clnet_net *net,
                                const clnet_layer_spec *spec, const item_role *role)
{
    for (int i = 0; i < spec->nfrom; i++) {
        int id = spec->from[i];
        if (id == 0 || !role[id - 1].aux)
            continue;
        clnet_layer_info info;
        TRY(clnet_net_layer_info(net, id, &info));
        const cfg_kv *e = cfg_find(s, "from");
        return cfg_fail(p, CLNET_ERR_FORMAT, e ? e->line : s->line, "from",
                        "'%s' is auxiliary (aux = 1) and this layer is not: name the main "
                        "path's layer instead", info.name);
    }
    return CLNET_OK;
}

/* The width override multiplies the filters of [conv] and [convt] sections
 * marked scale = 1; a depthwise one (groups == filters) keeps groups equal to
 * its filters (docs/cfg-format.md). */
static clnet_status scale_filters(cfg_parser *p, const cfg_section *s, float width,
                                  clnet_layer_spec *spec)
{
    bool scale = false;
    TRY(cfg_bool(p, s, "scale", &scale));
    if (!scale || width <= 0)
        return CLNET_OK;
    /* width arrives as a float (0.7f is 0.69999999): the relative nudge keeps
     * width * filters from falling just below the integer it stands for. */
    double n = floor((double)width * spec->out_channels * (1 + 1e-6));
    if (n < 1 || n > CFG_MAX_CHANNELS)
        return cfg_bad(p, cfg_find(s, "scale"), "width %g times %d filters gives %.0f "
                       "(must be 1..%d)", width, spec->out_channels, n, CFG_MAX_CHANNELS);
    if (spec->conv.groups == spec->out_channels)
        spec->conv.groups = (int)n;
    spec->out_channels = (int)n;
    return CLNET_OK;
}

/* A width override on a net that has nothing to scale is a mistake. */
static clnet_status check_width(cfg_parser *p, float width)
{
    bool any = false;
    for (int k = 0; width > 0 && !any && k < p->nitems; k++) {
        p->iter = p->items[k].iter;
        TRY(cfg_bool(p, p->items[k].sec, "scale", &any));
    }
    p->iter = -1;
    if (width > 0 && !any)
        return clnet_fail(p->ctx, CLNET_ERR_FORMAT, "%s: width override: no [conv] or [convt] "
                          "section has scale = 1", p->file);
    return CLNET_OK;
}

static clnet_status add_layer(cfg_parser *p, clnet_net *net, const cfg_item *it, int classes,
                              float width, bool aux, const item_role *role)
{
    const cfg_section *s = it->sec;
    clnet_layer_spec spec;
    memset(&spec, 0, sizeof spec);
    p->iter = it->iter;
    TRY(read_name(p, s, net, spec.name, sizeof spec.name));
    TRY(read_from(p, s, net, &spec));
    if (!aux)
        TRY(main_inputs(p, s, net, &spec, role));
    clnet_layer_info in;
    TRY(clnet_net_layer_info(net, spec.from[0], &in));
    TRY(layers[s->type].build(p, s, &in.out, &spec));
    if (s->type == CFG_CONV || s->type == CFG_CONVT)
        TRY(scale_filters(p, s, width, &spec));
    if (s->type == CFG_UNPOOL)
        TRY(read_switches(p, s, net, &spec));
    TRY(cfg_float(p, s, "loss_weight", (cfg_range){0, 1000, false, false}, &spec.loss_weight));
    if (classes > 0)
        spec.out_channels = classes;
    clnet_status st = clnet_net_add(net, &spec, NULL);
    return st == CLNET_OK ? st : wrap_error(p, st, s->line, cfg_header(s));
}

/* The [net] section: the input shape and the training defaults, each left
 * as it is when absent. */
static clnet_status read_net(cfg_parser *p, clnet_shape *input, int *batch,
                             clnet_optimizer *opt)
{
    const cfg_section *s = &p->sec[0];
    int adam = opt->kind == CLNET_OPTIM_ADAM;
    TRY(cfg_shape(p, s, "input", input));
    TRY(cfg_int(p, s, "batch", 1, 1 << 20, batch));
    TRY(cfg_int(p, s, "epochs", 1, 1000000, &opt->epochs));
    TRY(cfg_float(p, s, "learning_rate", (cfg_range){0, 10, true, false}, &opt->lr));
    TRY(cfg_float(p, s, "momentum", (cfg_range){0, 1, false, true}, &opt->momentum));
    TRY(cfg_float(p, s, "weight_decay", (cfg_range){0, 1, false, true}, &opt->weight_decay));
    TRY(cfg_enum(p, s, "optimizer", "sgd adam", &adam));
    opt->kind = adam ? CLNET_OPTIM_ADAM : CLNET_OPTIM_SGD;
    return CLNET_OK;
}

/* `key = v0, v1, ...` of [net]: one finite float per input channel, each
 * > 0 when `positive`. Absent: *present stays false. */
static clnet_status read_channel_floats(cfg_parser *p, const cfg_section *s, const char *key,
                                        int channels, bool positive, float *out, bool *present)
{
    const cfg_kv *e = cfg_find(s, key);
    if (!e)
        return CLNET_OK;
    const char *at = e->value;
    for (int c = 0; c < channels; c++) {
        char *end;
        float v = strtof(at, &end);
        while (end != at && (*end == ' ' || *end == '\t'))
            end++;
        if (end == at || !isfinite(v) || (*end != ',' && *end != '\0'))
            return cfg_bad(p, e, "'%s' is not a list of %d number%s", e->value, channels,
                           channels == 1 ? "" : "s");
        if (positive && !(v > 0.0f))
            return cfg_bad(p, e, "value %d is %g, not > 0", c + 1, (double)v);
        if (*end == '\0' && c + 1 < channels)
            return cfg_bad(p, e, "%d value%s for an input of %d channel%s", c + 1,
                           c ? "s" : "", channels, channels == 1 ? "" : "s");
        if (*end == ',' && c + 1 == channels)
            return cfg_bad(p, e, "more than %d value%s for an input of %d channel%s",
                           channels, channels == 1 ? "" : "s", channels,
                           channels == 1 ? "" : "s");
        out[c] = v;
        at = *end ? end + 1 : end;
    }
    *present = true;
    return CLNET_OK;
}

/* The [net] normalisation keys, set on the new net. */
static clnet_status read_norm(cfg_parser *p, clnet_net *net, const clnet_shape *input)
{
    const cfg_section *s = &p->sec[0];
    int c = (int)input->dim[0];
    float *v = malloc(2 * (size_t)c * sizeof *v);
    if (!v)
        return clnet_fail(p->ctx, CLNET_ERR_HOST_MEMORY, "cfg: %s: out of host memory", p->file);
    bool has_mean = false, has_std = false;
    clnet_status st = read_channel_floats(p, s, "mean", c, false, v, &has_mean);
    if (st == CLNET_OK)
        st = read_channel_floats(p, s, "std", c, true, v + c, &has_std);
    if (st == CLNET_OK && (has_mean || has_std))
        st = clnet_net_set_input_norm(net, has_mean ? v : NULL, has_std ? v + c : NULL);
    free(v);
    return st;
}

/* Reads each item's aux flag and marks what `classes` resizes: the last
 * [linear], [conv] or [rbf] of the main net, and of each auxiliary branch (a
 * run of consecutive aux sections), which is a classifier of its own. */
static clnet_status read_roles(cfg_parser *p, bool resize, item_role *role)
{
    for (int k = 0; k < p->nitems; k++) {
        p->iter = p->items[k].iter;
        TRY(cfg_bool(p, p->items[k].sec, "aux", &role[k].aux));
    }
    p->iter = -1;
    bool main_found = false, branch_found = false;
    for (int k = p->nitems - 1; resize && k >= 0; k--) {
        cfg_sec t = p->items[k].sec->type;
        bool classifier = t == CFG_LINEAR || t == CFG_CONV || t == CFG_RBF;
        if (role[k].aux && (k + 1 == p->nitems || !role[k + 1].aux))
            branch_found = false;   /* the last section of a branch, seen first */
        bool *found = role[k].aux ? &branch_found : &main_found;
        role[k].resize = classifier && !*found;
        *found |= classifier;
    }
    if (resize && !main_found)
        return clnet_fail(p->ctx, CLNET_ERR_FORMAT, "%s: classes override: the net has no "
                          "[linear], [conv] or [rbf] layer to resize", p->file);
    return CLNET_OK;
}

/* Without the aux override the aux items go before any layer is built, so
 * that layer id == item index + 1 holds with or without them. */
static void drop_aux(cfg_parser *p, item_role *role)
{
    int n = 0;
    for (int k = 0; k < p->nitems; k++)
        if (!role[k].aux) {
            p->items[n] = p->items[k];
            role[n++] = role[k];
        }
    p->nitems = n;
}

static clnet_status build(cfg_parser *p, const clnet_cfg_overrides *ov, clnet_net **out)
{
    const cfg_section *net_sec = &p->sec[0];
    clnet_shape input = {0};
    int batch = 1;
    clnet_optimizer opt = {0};
    TRY(read_net(p, &input, &batch, &opt));
    if (ov && ov->input.ndim > 0)
        input = ov->input;
    if (input.ndim == 0)
        return cfg_missing(p, net_sec, "input");
    item_role *role = calloc((size_t)p->nitems + 1, sizeof *role);
    if (!role)
        return clnet_fail(p->ctx, CLNET_ERR_HOST_MEMORY, "cfg: %s: out of host memory", p->file);
    clnet_net *net = NULL;
    float width = ov ? ov->width : 0;
    clnet_status st = read_roles(p, ov && ov->classes > 0, role);
    if (st == CLNET_OK && !(ov && ov->aux))
        drop_aux(p, role);
    if (st == CLNET_OK)
        st = check_width(p, width);
    if (st == CLNET_OK && (st = clnet_net_new(p->ctx, &input, &net)) != CLNET_OK) {
        const cfg_kv *e = cfg_find(net_sec, "input");
        st = wrap_error(p, st, e ? e->line : net_sec->line, "input");
    }
    if (st == CLNET_OK)
        st = read_norm(p, net, &input);
    for (int k = 0; st == CLNET_OK && k < p->nitems; k++)
        st = add_layer(p, net, &p->items[k], role[k].resize ? ov->classes : 0, width,
                       role[k].aux, role);
    free(role);
    if (st != CLNET_OK) {
        clnet_net_free(net);
        return st;
    }
    *out = net;
    return CLNET_OK;
}

clnet_status clnet_net_parse_cfg(clnet_ctx *ctx, const char *text, const char *filename,
                                 const clnet_cfg_overrides *ov, clnet_net **out)
{
    clnet_error_clear(ctx);
    if (out)
        *out = NULL;
    if (!text || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "cfg: text and out must not be NULL");
    if (ov && (ov->classes < 0 || ov->input.ndim < 0 || ov->input.ndim > 3 ||
               !(ov->width >= 0)))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "cfg: overrides: classes %d, input rank %d or width %g out of range",
                          ov->classes, ov->input.ndim, ov->width);
    cfg_parser p = {.ctx = ctx, .file = filename ? filename : "<cfg>", .iter = -1};
    clnet_status st = cfg_split(&p, text);
    if (st == CLNET_OK)
        st = cfg_expand(&p);
    if (st == CLNET_OK)
        st = build(&p, ov, out);
    cfg_parser_free(&p);
    return st;
}

clnet_status clnet_cfg_train_defaults(clnet_ctx *ctx, const char *text, const char *filename,
                                      int *batch, clnet_optimizer *opt)
{
    clnet_error_clear(ctx);
    if (!text || !opt)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "cfg: text and opt must not be NULL");
    cfg_parser p = {.ctx = ctx, .file = filename ? filename : "<cfg>", .iter = -1};
    clnet_shape input = {0};
    int own_batch = 0;
    clnet_status st = cfg_split(&p, text);
    if (st == CLNET_OK)
        st = read_net(&p, &input, batch ? batch : &own_batch, opt);
    cfg_parser_free(&p);
    return st;
}

/* Reads a whole file into a NUL-terminated buffer (caller frees). */
static clnet_status read_text(clnet_ctx *ctx, const char *path, char **out)
{
    uint8_t *data;
    size_t len;
    char why[256];
    clnet_status st = clnet_file_read(path, CFG_MAX_BYTES, &data, &len, NULL, why, sizeof why);
    if (st == CLNET_OK && memchr(data, '\0', len)) {
        free(data);
        st = CLNET_ERR_FORMAT;
        snprintf(why, sizeof why, "not a text file (it holds a NUL byte)");
    }
    if (st != CLNET_OK)
        return clnet_fail(ctx, st, "cfg: cannot read '%s': %s", path, why);
    *out = (char *)data;
    return CLNET_OK;
}

clnet_status clnet_net_load_cfg(clnet_ctx *ctx, const char *path,
                                const clnet_cfg_overrides *ov, clnet_net **out)
{
    clnet_error_clear(ctx);
    if (out)
        *out = NULL;
    if (!path || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "cfg: path and out must not be NULL");
    char *text = NULL;
    TRY(read_text(ctx, path, &text));
    clnet_status st = clnet_net_parse_cfg(ctx, text, path, ov, out);
    free(text);
    return st;
}
