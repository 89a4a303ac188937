/* json.h - a small JSON reader for the harness's own results files (what
 * `clnet-bench compare` reads): the whole text parsed into a tree of
 * values, with lookups by key. Not a validator of every corner of RFC 8259:
 * numbers go through strtod, \u escapes outside ASCII become '?'. */
#ifndef CLNET_BENCH_JSON_H
#define CLNET_BENCH_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum json_type {
    JSON_NULL = 0,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json json;

struct json {
    json_type type;
    bool boolean;
    double number;
    char *string;        /* JSON_STRING: the text */
    char *key;           /* the member's key when this value is in an object, else NULL */
    json *items;         /* JSON_ARRAY and JSON_OBJECT: count values */
    int count;
};

/* Parses `text`. Returns a tree the caller frees with json_free, or NULL
 * with "line N: what was expected" in err. */
json *json_parse(const char *text, char *err, size_t err_size);

void json_free(json *v);

/* The member `key` of object v, or NULL (v NULL or not an object too). */
const json *json_get(const json *v, const char *key);

/* Member `key` as a string ("" when absent or not a string). */
const char *json_get_string(const json *v, const char *key);

/* Member `key` as a number (NaN when absent, null or not a number). */
double json_get_number(const json *v, const char *key);

#endif
