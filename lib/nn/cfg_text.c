/* cfg_text.c - the syntax of cfg files (docs/cfg-format.md): lines into
 * sections and keys, [repeat] blocks expanded, values read with range checks
 * and errors that name the file, line and key. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cfg.h"

/* Each section's header and the keys it takes (space-separated); layer
 * sections also take name, from, aux and loss_weight. The pooling sections' headers come
 * from the pooling mode table (see pool_section). */
#define CONV_KEYS "filters size size_h size_w stride pad pad_top pad_left pad_bottom " \
                  "pad_right dilation groups bias activation slope scale"
static const struct {
    const char *header;
    const char *keys;
} sections[CFG_SEC_COUNT] = {
    [CFG_NET] = {"[net]", "input mean std batch epochs learning_rate momentum weight_decay optimizer"},
    [CFG_CONV] = {"[conv]", CONV_KEYS " dirac"},
    [CFG_CONVT] = {"[convt]", CONV_KEYS " output_padding"},
    [CFG_POOL] = {NULL, "size stride pad ceil_mode count_include_pad"},
    [CFG_GLOBALPOOL] = {NULL, ""},
    [CFG_ACTIVATION] = {"[activation]", "type slope factor"},
    [CFG_BATCHNORM] = {"[batchnorm]", "eps momentum zero_gamma frozen_scale activation slope"},
    [CFG_LRN] = {"[lrn]", "size alpha beta k"},
    [CFG_DROPOUT] = {"[dropout]", "p"},
    [CFG_LINEAR] = {"[linear]", "outputs bias activation slope"},
    [CFG_ADD] = {"[add]", ""},
    [CFG_MUL] = {"[mul]", ""},
    [CFG_CONCAT] = {"[concat]", ""},
    [CFG_FLATTEN] = {"[flatten]", ""},
    [CFG_SOFTMAX] = {"[softmax]", ""},
    [CFG_ADAPTIVEAVGPOOL] = {"[adaptiveavgpool]", "size size_h size_w"},
    [CFG_SLICE] = {"[slice]", "start count"},
    [CFG_RBF] = {"[rbf]", "outputs centres"},
    [CFG_UNPOOL] = {"[unpool]", "switches"},
    [CFG_SHUFFLE] = {"[shuffle]", "groups"},
    [CFG_REPEAT] = {"[repeat]", "count"},
    [CFG_END] = {"[end]", ""},
};

const char *cfg_header(const cfg_section *s)
{
    return s->header;
}

bool cfg_is_layer(cfg_sec type)
{
    return type != CFG_NET && type != CFG_REPEAT && type != CFG_END;
}

/* ---- errors ------------------------------------------------------------ */

clnet_status cfg_fail(cfg_parser *p, clnet_status st, int line, const char *what,
                      const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->iter >= 0)
        return clnet_fail(p->ctx, st, "%s:%d: %s: %s (repeat iteration %d)", p->file, line,
                          what, msg, p->iter);
    return clnet_fail(p->ctx, st, "%s:%d: %s: %s", p->file, line, what, msg);
}

clnet_status cfg_bad(cfg_parser *p, const cfg_kv *e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cfg_fail(p, CLNET_ERR_FORMAT, e->line, e->key, "%s", msg);
}

clnet_status cfg_missing(cfg_parser *p, const cfg_section *s, const char *key)
{
    return cfg_fail(p, CLNET_ERR_FORMAT, s->line, key, "missing required key in %s",
                    cfg_header(s));
}

static clnet_status no_memory(cfg_parser *p)
{
    return clnet_fail(p->ctx, CLNET_ERR_HOST_MEMORY, "cfg: %s: out of host memory", p->file);
}

/* ---- splitting the text into sections ---------------------------------- */

char *cfg_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Position of `word` in the space-separated list `words`, or -1. */
static int word_index(const char *words, const char *word)
{
    size_t n = strlen(word);
    int i = 0;
    for (const char *w = words; *w; i++) {
        size_t len = strcspn(w, " ");
        if (len == n && strncmp(w, word, n) == 0)
            return i;
        w += len;
        w += strspn(w, " ");
    }
    return -1;
}

const cfg_kv *cfg_find(const cfg_section *s, const char *key)
{
    for (int i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return &s->kv[i];
    return NULL;
}

/* Whether `header` is [<cfg word>] or [global<cfg word>] of a pooling mode;
 * sets s->type and s->pool_mode if so. */
static bool pool_section(const char *header, cfg_section *s)
{
    for (int m = 0; m < CLNET_POOL_MODE_COUNT; m++) {
        const char *word = clnet_pool_mode_info_get((clnet_pool_mode)m)->cfg_name;
        char windowed[64], global[64];
        snprintf(windowed, sizeof windowed, "[%s]", word);
        snprintf(global, sizeof global, "[global%s]", word);
        s->pool_mode = (clnet_pool_mode)m;
        if (strcmp(header, windowed) == 0) {
            s->type = CFG_POOL;
            return true;
        }
        if (strcmp(header, global) == 0) {
            s->type = CFG_GLOBALPOOL;
            return true;
        }
    }
    return false;
}

static clnet_status add_section(cfg_parser *p, const char *header, int line)
{
    cfg_section s = {.header = header, .line = line};
    int t = 0;
    while (t < CFG_SEC_COUNT && !(sections[t].header && strcmp(sections[t].header, header) == 0))
        t++;
    s.type = (cfg_sec)t;
    if (t == CFG_SEC_COUNT && !pool_section(header, &s))
        return cfg_fail(p, CLNET_ERR_FORMAT, line, header, "unknown section");
    cfg_section *grown = clnet_grow(p->sec, p->nsec, &p->cap, sizeof *grown, 32);
    if (!grown)
        return no_memory(p);
    p->sec = grown;
    p->sec[p->nsec++] = s;
    return CLNET_OK;
}

static clnet_status add_key(cfg_parser *p, char *text, int line)
{
    char *eq = strchr(text, '=');
    if (!eq)
        return cfg_fail(p, CLNET_ERR_FORMAT, line, text, "expected 'key = value' or '[section]'");
    *eq = '\0';
    cfg_kv e = {cfg_trim(text), cfg_trim(eq + 1), line};
    if (!*e.key)
        return cfg_fail(p, CLNET_ERR_FORMAT, line, "=", "missing key before '='");
    if (p->nsec == 0)
        return cfg_bad(p, &e, "outside any section (the file must start with [net])");
    cfg_section *s = &p->sec[p->nsec - 1];
    bool common = cfg_is_layer(s->type) &&
                  (!strcmp(e.key, "name") || !strcmp(e.key, "from") || !strcmp(e.key, "aux") ||
                   !strcmp(e.key, "loss_weight"));
    /* count_include_pad is for the pooling modes that divide by the window */
    bool averages = s->type != CFG_POOL || clnet_pool_mode_info_get(s->pool_mode)->averages;
    if (!common && (word_index(sections[s->type].keys, e.key) < 0 ||
                    (!averages && strcmp(e.key, "count_include_pad") == 0)))
        return cfg_bad(p, &e, "unknown key for %s", cfg_header(s));
    const cfg_kv *prev = cfg_find(s, e.key);
    if (prev)
        return cfg_bad(p, &e, "duplicate key (first set on line %d)", prev->line);
    if (!*e.value)
        return cfg_bad(p, &e, "missing value");
    cfg_kv *grown = clnet_grow(s->kv, s->nkv, &s->cap, sizeof *grown, 8);
    if (!grown)
        return no_memory(p);
    s->kv = grown;
    s->kv[s->nkv++] = e;
    return CLNET_OK;
}

clnet_status cfg_split(cfg_parser *p, const char *text)
{
    size_t len = strlen(text);
    if (len > CFG_MAX_BYTES)
        return cfg_fail(p, CLNET_ERR_FORMAT, 1, "cfg", "larger than %d bytes", CFG_MAX_BYTES);
    p->buf = malloc(len + 1);
    if (!p->buf)
        return no_memory(p);
    memcpy(p->buf, text, len + 1);
    int line = 1;
    for (char *at = p->buf; at; line++) {
        char *nl = strchr(at, '\n');
        if (nl)
            *nl = '\0';
        at[strcspn(at, "#;")] = '\0';
        char *t = cfg_trim(at);
        if (*t == '[')
            TRY(add_section(p, t, line));
        else if (*t)
            TRY(add_key(p, t, line));
        at = nl ? nl + 1 : NULL;
    }
    if (p->nsec == 0 || p->sec[0].type != CFG_NET)
        return cfg_fail(p, CLNET_ERR_FORMAT, p->nsec ? p->sec[0].line : 1, "[net]",
                        "the file must start with a [net] section");
    return CLNET_OK;
}

/* ---- expanding [repeat] blocks ------------------------------------------ */

static clnet_status push_item(cfg_parser *p, const cfg_section *s, int iter)
{
    if (p->nitems == CFG_MAX_LAYERS)
        return cfg_fail(p, CLNET_ERR_FORMAT, s->line, cfg_header(s),
                        "more than %d layers", CFG_MAX_LAYERS);
    cfg_item *grown = clnet_grow(p->items, p->nitems, &p->items_cap, sizeof *grown, 64);
    if (!grown)
        return no_memory(p);
    p->items = grown;
    p->items[p->nitems++] = (cfg_item){s, iter};
    return CLNET_OK;
}

static clnet_status misplaced(cfg_parser *p, const cfg_section *s)
{
    if (s->type == CFG_NET)
        return cfg_fail(p, CLNET_ERR_FORMAT, s->line, "[net]",
                        "only one [net] section, at the top of the file");
    return cfg_fail(p, CLNET_ERR_FORMAT, s->line, "[end]", "no [repeat] to close");
}

/* Expands the block opened by p->sec[at]; *next receives the index of the
 * section after its [end]. */
static clnet_status expand_repeat(cfg_parser *p, int at, int *next)
{
    const cfg_section *r = &p->sec[at];
    int end = at + 1;
    for (; end < p->nsec && p->sec[end].type != CFG_END; end++) {
        const cfg_section *s = &p->sec[end];
        if (s->type == CFG_REPEAT)
            return cfg_fail(p, CLNET_ERR_FORMAT, s->line, "[repeat]",
                            "nested [repeat] blocks are not supported (the enclosing one "
                            "opens on line %d)", r->line);
        if (s->type == CFG_NET)
            return misplaced(p, s);
    }
    if (end == p->nsec)
        return cfg_fail(p, CLNET_ERR_FORMAT, r->line, "[repeat]",
                        "unterminated: no [end] closes this block");
    if (end == at + 1)
        return cfg_fail(p, CLNET_ERR_FORMAT, r->line, "[repeat]", "the block is empty");
    int count;
    TRY(cfg_need_int(p, r, "count", 1, CFG_MAX_REPEAT, &count));
    for (int iter = 0; iter < count; iter++)
        for (int k = at + 1; k < end; k++)
            TRY(push_item(p, &p->sec[k], iter));
    *next = end + 1;
    return CLNET_OK;
}

clnet_status cfg_expand(cfg_parser *p)
{
    for (int i = 1; i < p->nsec;) {
        const cfg_section *s = &p->sec[i];
        if (s->type == CFG_REPEAT) {
            TRY(expand_repeat(p, i, &i));
        } else if (!cfg_is_layer(s->type)) {
            return misplaced(p, s);
        } else {
            TRY(push_item(p, s, -1));
            i++;
        }
    }
    return CLNET_OK;
}

void cfg_parser_free(cfg_parser *p)
{
    for (int i = 0; i < p->nsec; i++)
        free(p->sec[i].kv);
    free(p->sec);
    free(p->items);
    free(p->buf);
}

/* ---- typed values ------------------------------------------------------- */

clnet_status cfg_int(cfg_parser *p, const cfg_section *s, const char *key, int lo, int hi,
                     int *out)
{
    const cfg_kv *e = cfg_find(s, key);
    if (!e)
        return CLNET_OK;
    char *end;
    errno = 0;
    long v = strtol(e->value, &end, 10);
    if (end == e->value || *end)
        return cfg_bad(p, e, "'%s' is not an integer", e->value);
    if (errno == ERANGE || v < lo || v > hi)
        return cfg_bad(p, e, "%s is out of range [%d, %d]", e->value, lo, hi);
    *out = (int)v;
    return CLNET_OK;
}

clnet_status cfg_need_int(cfg_parser *p, const cfg_section *s, const char *key, int lo, int hi,
                          int *out)
{
    return cfg_find(s, key) ? cfg_int(p, s, key, lo, hi, out) : cfg_missing(p, s, key);
}

clnet_status cfg_float(cfg_parser *p, const cfg_section *s, const char *key, cfg_range r,
                       float *out)
{
    const cfg_kv *e = cfg_find(s, key);
    if (!e)
        return CLNET_OK;
    char *end;
    float v = strtof(e->value, &end);
    if (end == e->value || *end || !isfinite(v))
        return cfg_bad(p, e, "'%s' is not a number", e->value);
    if (v < r.lo || v > r.hi || (r.lo_open && v == r.lo) || (r.hi_open && v == r.hi))
        return cfg_bad(p, e, "%s is out of range %c%g, %g%c", e->value, r.lo_open ? '(' : '[',
                       (double)r.lo, (double)r.hi, r.hi_open ? ')' : ']');
    *out = v;
    return CLNET_OK;
}

clnet_status cfg_bool(cfg_parser *p, const cfg_section *s, const char *key, bool *out)
{
    const cfg_kv *e = cfg_find(s, key);
    if (!e)
        return CLNET_OK;
    if (strcmp(e->value, "0") != 0 && strcmp(e->value, "1") != 0)
        return cfg_bad(p, e, "'%s' is not 0 or 1", e->value);
    *out = e->value[0] == '1';
    return CLNET_OK;
}

clnet_status cfg_enum(cfg_parser *p, const cfg_section *s, const char *key, const char *names,
                      int *out)
{
    const cfg_kv *e = cfg_find(s, key);
    if (!e)
        return CLNET_OK;
    int i = word_index(names, e->value);
    if (i < 0)
        return cfg_bad(p, e, "'%s' is not one of: %s", e->value, names);
    *out = i;
    return CLNET_OK;
}

clnet_status cfg_shape(cfg_parser *p, const cfg_section *s, const char *key, clnet_shape *out)
{
    const cfg_kv *e = cfg_find(s, key);
    if (!e)
        return CLNET_OK;
    clnet_shape shape = {0};
    for (const char *at = e->value;;) {
        char *end;
        errno = 0;
        long v = strtol(at, &end, 10);
        if (!isdigit((unsigned char)*at) || end == at || shape.ndim == 3)
            return cfg_bad(p, e, "'%s' is not CxHxW, CxW or F", e->value);
        if (errno == ERANGE || v < 1 || v > CFG_MAX_CHANNELS)
            return cfg_bad(p, e, "dimension %.*s is out of range [1, %d]", (int)(end - at), at,
                           CFG_MAX_CHANNELS);
        shape.dim[shape.ndim++] = v;
        if (!*end)
            break;
        if (*end != 'x')
            return cfg_bad(p, e, "'%s' is not CxHxW, CxW or F", e->value);
        at = end + 1;
    }
    *out = shape;
    return CLNET_OK;
}

clnet_status cfg_conflict(cfg_parser *p, const cfg_section *s, const char *key,
                          const char *with)
{
    const cfg_kv *a = cfg_find(s, key), *b = cfg_find(s, with);
    if (a && b)
        return cfg_bad(p, a, "conflicts with %s (line %d)", with, b->line);
    return CLNET_OK;
}
