/* json.c - the harness's JSON reader: recursive descent over the text into
 * a tree (see json.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_DEPTH 64

typedef struct parser {
    const char *p, *start;
    char *err;
    size_t err_size;
    bool failed;
} parser;

static void fail(parser *ps, const char *what)
{
    if (ps->failed)
        return;
    int line = 1;
    for (const char *q = ps->start; q < ps->p; q++)
        line += *q == '\n';
    snprintf(ps->err, ps->err_size, "line %d: %s", line, what);
    ps->failed = true;
}

static void skip_space(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static char *parse_string(parser *ps)
{
    ps->p++;     /* the opening quote */
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    while (s && *ps->p && *ps->p != '"') {
        char c = *ps->p++;
        if (c == '\\') {
            char e = *ps->p++;
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *at = e ? strchr(from, e) : NULL;
            if (at) {
                c = to[at - from];
            } else if (e == 'u' && strspn(ps->p, "0123456789abcdefABCDEF") >= 4) {
                long code = strtol((char[5]){ps->p[0], ps->p[1], ps->p[2], ps->p[3], 0}, NULL, 16);
                c = code < 0x80 ? (char)code : '?';
                ps->p += 4;
            } else {
                fail(ps, "bad escape in a string");
                free(s);
                return NULL;
            }
        }
        if (n + 2 > cap) {
            char *grown = realloc(s, cap *= 2);
            if (!grown) {
                free(s);
                s = NULL;
                break;
            }
            s = grown;
        }
        s[n++] = c;
    }
    if (!s) {
        fail(ps, "out of host memory");
        return NULL;
    }
    if (*ps->p != '"') {
        fail(ps, "a string without its closing quote");
        free(s);
        return NULL;
    }
    ps->p++;
    s[n] = '\0';
    return s;
}

static bool parse_value(parser *ps, json *v, int depth);

/* An array (object == false) or object: items, each parsed into v->items. */
static bool parse_list(parser *ps, json *v, bool object, int depth)
{
    char close = object ? '}' : ']';
    int cap = 0;
    ps->p++;
    skip_space(ps);
    if (*ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        if (v->count == cap) {
            cap = cap ? 2 * cap : 8;
            json *grown = realloc(v->items, (size_t)cap * sizeof *grown);
            if (!grown) {
                fail(ps, "out of host memory");
                return false;
            }
            v->items = grown;
        }
        json *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        char *key = NULL;
        skip_space(ps);
        if (object) {
            if (*ps->p != '"') {
                fail(ps, "expected a key in quotes");
                return false;
            }
            if (!(key = parse_string(ps)))
                return false;
            skip_space(ps);
            if (*ps->p++ != ':') {
                free(key);
                fail(ps, "expected ':' after a key");
                return false;
            }
        }
        bool ok = parse_value(ps, item, depth + 1);
        item->key = key;
        v->count++;
        if (!ok)
            return false;
        skip_space(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return true;
        }
        fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        return false;
    }
}

static bool parse_value(parser *ps, json *v, int depth)
{
    skip_space(ps);
    if (depth > MAX_DEPTH) {
        fail(ps, "nested too deeply");
        return false;
    }
    char c = *ps->p;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
        return parse_list(ps, v, c == '{', depth);
    }
    if (c == '"') {
        v->type = JSON_STRING;
        return (v->string = parse_string(ps)) != NULL;
    }
    static const struct { const char *word; json_type type; bool value; } words[] = {
        {"null", JSON_NULL, false}, {"true", JSON_BOOL, true}, {"false", JSON_BOOL, false}};
    for (int i = 0; i < 3; i++)
        if (strncmp(ps->p, words[i].word, strlen(words[i].word)) == 0) {
            ps->p += strlen(words[i].word);
            v->type = words[i].type;
            v->boolean = words[i].value;
            return true;
        }
    char *end;
    v->number = strtod(ps->p, &end);
    if (end == ps->p || !(c == '-' || (c >= '0' && c <= '9'))) {
        fail(ps, "expected a value");
        return false;
    }
    v->type = JSON_NUMBER;
    ps->p = end;
    return true;
}

static void free_members(json *v)
{
    for (int i = 0; i < v->count; i++)
        free_members(&v->items[i]);
    free(v->items);
    free(v->string);
    free(v->key);
}

void json_free(json *v)
{
    if (!v)
        return;
    free_members(v);
    free(v);
}

json *json_parse(const char *text, char *err, size_t err_size)
{
    parser ps = {.p = text, .start = text, .err = err, .err_size = err_size};
    json *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, err_size, "out of host memory");
        return NULL;
    }
    bool ok = parse_value(&ps, v, 0);
    skip_space(&ps);
    if (ok && *ps.p) {
        fail(&ps, "text after the value");
        ok = false;
    }
    if (!ok) {
        json_free(v);
        return NULL;
    }
    return v;
}

const json *json_get(const json *v, const char *key)
{
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    for (int i = 0; i < v->count; i++)
        if (strcmp(v->items[i].key, key) == 0)
            return &v->items[i];
    return NULL;
}

const char *json_get_string(const json *v, const char *key)
{
    const json *m = json_get(v, key);
    return m && m->type == JSON_STRING ? m->string : "";
}

double json_get_number(const json *v, const char *key)
{
    const json *m = json_get(v, key);
    return m && m->type == JSON_NUMBER ? m->number : NAN;
}
