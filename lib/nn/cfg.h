/* cfg.h - the syntax layer of the cfg format shared by cfg_text.c (sections,
 * keys, [repeat] expansion, typed values) and cfg.c (layers from sections). */
#ifndef CLNET_NN_CFG_H
#define CLNET_NN_CFG_H

#include "clnet/nn.h"
#include "core/internal.h"

/* Limits that keep a typo from asking for absurd allocations; all stated in
 * docs/cfg-format.md. */
#define CFG_MAX_WINDOW 4096
#define CFG_MAX_CHANNELS (1 << 24)
#define CFG_MAX_REPEAT 100000
#define CFG_MAX_LAYERS 100000
#define CFG_MAX_BYTES (16 << 20)

typedef enum cfg_sec {
    CFG_NET, CFG_CONV, CFG_CONVT, CFG_POOL, CFG_GLOBALPOOL, CFG_ACTIVATION, CFG_BATCHNORM, CFG_LRN, CFG_DROPOUT, CFG_LINEAR,
    CFG_ADD, CFG_MUL, CFG_CONCAT, CFG_FLATTEN, CFG_SOFTMAX, CFG_ADAPTIVEAVGPOOL, CFG_SLICE,
    CFG_RBF, CFG_UNPOOL, CFG_REPEAT, CFG_END, CFG_SEC_COUNT
} cfg_sec;

typedef struct cfg_kv {
    const char *key, *value;   /* point into the parser's copy of the text */
    int line;
} cfg_kv;

typedef struct cfg_section {
    cfg_sec type;
    const char *header;        /* as written, "[maxpool]"; points into the parser's text */
    clnet_pool_mode pool_mode; /* CFG_POOL and CFG_GLOBALPOOL: [<cfg word>], [global<cfg word>]
                                  of a row of the pooling mode table */
    int line;
    cfg_kv *kv;
    int nkv, cap;
} cfg_section;

/* One layer to add: a layer section, and its [repeat] iteration or -1. */
typedef struct cfg_item {
    const cfg_section *sec;
    int iter;
} cfg_item;

typedef struct cfg_parser {
    clnet_ctx *ctx;
    const char *file;
    char *buf;                 /* the text, split in place */
    cfg_section *sec;          /* sec[0] is [net] once cfg_split succeeded */
    int nsec, cap;
    cfg_item *items;           /* the layers in order, [repeat] blocks expanded */
    int nitems, items_cap;
    int iter;                  /* iteration of the section being read, -1 outside [repeat] */
} cfg_parser;

/* The section's header, "[conv]" etc. */
const char *cfg_header(const cfg_section *s);
bool cfg_is_layer(cfg_sec type);

/* Splits `text` into sections, checking the syntax, that every key belongs
 * to its section and appears once, and that the file starts with [net]. */
clnet_status cfg_split(cfg_parser *p, const char *text);
/* Fills p->items from the layer sections, expanding [repeat] blocks. */
clnet_status cfg_expand(cfg_parser *p);
void cfg_parser_free(cfg_parser *p);

/* Errors: "file:line: what: message", plus the repeat iteration inside a
 * [repeat] block. cfg_bad is a CLNET_ERR_FORMAT about one key. */
clnet_status cfg_fail(cfg_parser *p, clnet_status st, int line, const char *what,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
clnet_status cfg_bad(cfg_parser *p, const cfg_kv *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
clnet_status cfg_missing(cfg_parser *p, const cfg_section *s, const char *key);

const cfg_kv *cfg_find(const cfg_section *s, const char *key);
/* Strips leading and trailing white space in place. */
char *cfg_trim(char *s);

/* Typed values. Each leaves *out as it is when the key is absent, so callers
 * preset the default; the cfg_need_ forms make the key required. */
typedef struct cfg_range {
    float lo, hi;
    bool lo_open, hi_open;     /* exclude the bound */
} cfg_range;

clnet_status cfg_int(cfg_parser *p, const cfg_section *s, const char *key, int lo, int hi,
                     int *out);
clnet_status cfg_need_int(cfg_parser *p, const cfg_section *s, const char *key, int lo, int hi,
                          int *out);
clnet_status cfg_float(cfg_parser *p, const cfg_section *s, const char *key, cfg_range r,
                       float *out);
clnet_status cfg_bool(cfg_parser *p, const cfg_section *s, const char *key, bool *out);
/* One of the space-separated `names`; *out receives its position. */
clnet_status cfg_enum(cfg_parser *p, const cfg_section *s, const char *key, const char *names,
                      int *out);
/* "CxHxW", "CxW" or "F". */
clnet_status cfg_shape(cfg_parser *p, const cfg_section *s, const char *key, clnet_shape *out);
/* An error when both keys are present. */
clnet_status cfg_conflict(cfg_parser *p, const cfg_section *s, const char *key,
                          const char *with);

#endif
