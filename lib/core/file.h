/* file.h - the library's own files (checkpoints, cfg files, program-cache
 * entries): whole-file reads that refuse anything but a regular file without
 * ever blocking, and atomic replacement through one locked temporary per
 * target, so that killed saves cannot pile up temporaries. */
#ifndef CLNET_CORE_FILE_H
#define CLNET_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* Reads the regular file `path` into a new malloc'd buffer *data of *size
 * bytes followed by one NUL (so text can be used in place); the caller frees
 * it. The open never blocks (a FIFO or a device in place of the file would
 * block open() or read() forever) and anything but a regular file is
 * refused. On failure *data is NULL, `why` gets the reason without the path
 * ("not a regular file", "cannot open: <strerror>", ...) and *open_errno
 * (may be NULL) the errno of a failed open(), else 0. Errors: CLNET_ERR_IO
 * (cannot open or read, not a regular file), CLNET_ERR_FORMAT (larger than
 * max_bytes), CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_file_read(const char *path, size_t max_bytes, uint8_t **data, size_t *size,
                             int *open_errno, char *why, size_t why_size);

/* Replaces a file atomically: clnet_file_replace_begin opens "<path>.tmp",
 * locked (flock) so that concurrent savers of one target take turns and the
 * temporary a killed saver left behind is reused, not accumulated; the
 * caller writes the content to `fd`; clnet_file_replace_commit renames the
 * temporary over `path`, or clnet_file_replace_abort removes it. Either one
 * closes fd and frees the struct's memory, and must be called after a
 * successful begin. */
typedef struct clnet_file_replace {
    const char *path;            /* the target, borrowed */
    char *tmp;                   /* "<path>.tmp" */
    int fd;                      /* open for writing, locked, empty */
} clnet_file_replace;

/* Errors (why gets the reason, naming the temporary): CLNET_ERR_IO (cannot
 * create, lock or truncate the temporary, or it is not a regular file),
 * CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_file_replace_begin(clnet_file_replace *r, const char *path, char *why,
                                      size_t why_size);

/* With `durable`, fsyncs the content before the rename and the directory
 * after it, so the new file survives a power failure. On failure the
 * temporary is removed and the previous file is left untouched. Errors:
 * CLNET_ERR_IO (why says which step failed, with strerror). */
clnet_status clnet_file_replace_commit(clnet_file_replace *r, bool durable, char *why,
                                       size_t why_size);

void clnet_file_replace_abort(clnet_file_replace *r);

#endif
