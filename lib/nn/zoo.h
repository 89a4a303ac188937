/* zoo.h - the model zoo's cfg files, embedded at build time by cl/embed.py
 * from the .cfg files of lib/nn/zoo/ (one entry per file, named by its stem). */
#ifndef CLNET_NN_ZOO_H
#define CLNET_NN_ZOO_H

typedef struct clnet_zoo_source {
    const char *name;
    const char *text;
} clnet_zoo_source;

extern const clnet_zoo_source clnet_zoo_sources[];
extern const int clnet_zoo_source_count;
extern const char *const clnet_zoo_source_names[];   /* NULL-terminated */

#endif
