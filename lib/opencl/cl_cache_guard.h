/* cl_cache_guard.h - keeps one program-cache entry that crashes the driver
 * from crashing every later run: a marker beside the entry says "a process
 * is handing this entry to the driver"; one left by a dead process condemns
 * the entry. */
#ifndef CLNET_OPENCL_CL_CACHE_GUARD_H
#define CLNET_OPENCL_CL_CACHE_GUARD_H

#include <stdbool.h>

typedef struct clnet_cl_guard {
    int fd;                      /* the locked marker, -1 when not armed */
    char marker[4200];           /* "<entry>.loading" */
} clnet_cl_guard;

/* Call before handing the cache file `entry` to the driver. Returns true
 * when the last process that did so died before clnet_cl_guard_leave (the
 * driver crashed on it, most likely): the entry and its marker are then
 * removed, the guard is not armed, and the caller rebuilds the program.
 * Otherwise arms the guard: "<entry>.loading" is created, locked (flock) and
 * holds this process's id until clnet_cl_guard_leave; processes loading one
 * entry take turns. When the marker cannot be written (a read-only cache)
 * the guard is simply not armed. Never fails. */
bool clnet_cl_guard_enter(clnet_cl_guard *g, const char *entry);

/* Removes the marker, then unlocks it; a no-op when the guard is not armed. */
void clnet_cl_guard_leave(clnet_cl_guard *g);

#endif
