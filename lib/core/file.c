/* file.c - safe whole-file reads and atomic, locked file replacement for the
 * library's own files (see file.h for why each precaution is there). */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens without blocking, checks that it is a regular file, then switches
 * back to blocking reads and writes. -1 with `why` filled on failure. */
static int open_regular(const char *path, int flags, int *open_errno, char *why,
                        size_t why_size)
{
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, 0644);
    if (open_errno)
        *open_errno = fd < 0 ? errno : 0;
    if (fd < 0) {
        snprintf(why, why_size, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        snprintf(why, why_size, "cannot stat: %s", strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        snprintf(why, why_size, "not a regular file");
    } else {
        int fl = fcntl(fd, F_GETFL);
        if (fl != -1 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
            return fd;
        snprintf(why, why_size, "fcntl: %s", strerror(errno));
    }
    close(fd);
    return -1;
}

clnet_status clnet_file_read(const char *path, size_t max_bytes, uint8_t **data, size_t *size,
                             int *open_errno, char *why, size_t why_size)
{
    *data = NULL;
    *size = 0;
    int fd = open_regular(path, O_RDONLY, open_errno, why, why_size);
    if (fd < 0)
        return CLNET_ERR_IO;
    struct stat sb;
    clnet_status st = CLNET_OK;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0) {
        snprintf(why, why_size, "cannot stat: %s", strerror(errno));
        st = CLNET_ERR_IO;
    } else if ((uint64_t)sb.st_size > max_bytes) {
        snprintf(why, why_size, "%lld bytes, larger than the limit of %zu",
                 (long long)sb.st_size, max_bytes);
        st = CLNET_ERR_FORMAT;
    } else if (!(buf = malloc((size_t)sb.st_size + 1))) {
        snprintf(why, why_size, "out of host memory for %lld bytes", (long long)sb.st_size);
        st = CLNET_ERR_HOST_MEMORY;
    }
    /* The size stat gave is what is read: a file growing meanwhile is cut
     * there, one shrinking is a read error. */
    while (st == CLNET_OK && len < (size_t)sb.st_size) {
        ssize_t got = read(fd, buf + len, (size_t)sb.st_size - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            snprintf(why, why_size, "read error after %zu of %lld bytes: %s", len,
                     (long long)sb.st_size, got < 0 ? strerror(errno) : "end of file");
            st = CLNET_ERR_IO;
        } else {
            len += (size_t)got;
        }
    }
    close(fd);
    if (st != CLNET_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return CLNET_OK;
}

static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

clnet_status clnet_file_replace_begin(clnet_file_replace *r, const char *path, char *why,
                                      size_t why_size)
{
    size_t n = strlen(path) + sizeof ".tmp";
    r->path = path;
    r->fd = -1;
    r->tmp = malloc(n);
    if (!r->tmp) {
        snprintf(why, why_size, "out of host memory");
        return CLNET_ERR_HOST_MEMORY;
    }
    snprintf(r->tmp, n, "%s.tmp", path);
    /* The lock holder renames or removes the temporary before it unlocks,
     * so a waiter that wakes up holding a file no longer at that name
     * starts again with whatever is there now. */
    for (;;) {
        int fd = open_regular(r->tmp, O_WRONLY | O_CREAT | O_NOFOLLOW, NULL, why, why_size);
        if (fd < 0)
            break;
        int rc;
        while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
            continue;
        if (rc != 0) {
            snprintf(why, why_size, "cannot lock: %s", strerror(errno));
            close(fd);
            break;
        }
        if (!same_file(fd, r->tmp)) {
            close(fd);
            continue;
        }
        if (ftruncate(fd, 0) != 0) {
            snprintf(why, why_size, "cannot truncate: %s", strerror(errno));
            close(fd);
            break;
        }
        r->fd = fd;
        return CLNET_OK;
    }
    char reason[256];
    snprintf(reason, sizeof reason, "%s", why);
    snprintf(why, why_size, "temporary file %s: %s", r->tmp, reason);
    free(r->tmp);
    r->tmp = NULL;
    return CLNET_ERR_IO;
}

/* Makes a rename durable: fsync of the directory holding `path`. */
static void sync_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

clnet_status clnet_file_replace_commit(clnet_file_replace *r, bool durable, char *why,
                                       size_t why_size)
{
    if (durable && fsync(r->fd) != 0) {
        snprintf(why, why_size, "cannot write %s: fsync: %s", r->tmp, strerror(errno));
        clnet_file_replace_abort(r);
        return CLNET_ERR_IO;
    }
    if (rename(r->tmp, r->path) != 0) {
        snprintf(why, why_size, "cannot rename %s to %s: %s", r->tmp, r->path, strerror(errno));
        clnet_file_replace_abort(r);
        return CLNET_ERR_IO;
    }
    if (durable)
        sync_dir(r->path);
    close(r->fd);
    free(r->tmp);
    r->tmp = NULL;
    r->fd = -1;
    return CLNET_OK;
}

void clnet_file_replace_abort(clnet_file_replace *r)
{
    /* removed while still locked, so no waiter can have written to it */
    if (r->tmp)
        unlink(r->tmp);
    if (r->fd >= 0)
        close(r->fd);
    free(r->tmp);
    r->tmp = NULL;
    r->fd = -1;
}
