/* cl_cache_guard.c - the program cache heals itself from an entry that
 * crashes the driver. A checksum cannot tell such an entry from a good one
 * (PoCL asserts inside clCreateProgramWithBinary on a payload with a valid
 * checksum and garbage inside), and without this the entry would crash
 * every run that finds it. The marker's lock dies with its process; a
 * living process removes its marker before unlocking it, so a marker that
 * can be locked and is not empty was left by a process that died while the
 * driver had the entry. */
#include "opencl/cl_cache_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && S_ISREG(a.st_mode) &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The marker, open and locked, or -1. */
static int lock_marker(const char *marker)
{
    for (;;) {
        int fd = open(marker, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
        int rc;
        while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
            continue;
        if (rc == 0 && same_file(fd, marker))
            return fd;
        close(fd);
        /* its holder removed it meanwhile: start again with a fresh one */
        if (rc != 0)
            return -1;
    }
}

bool clnet_cl_guard_enter(clnet_cl_guard *g, const char *entry)
{
    g->fd = -1;
    if (snprintf(g->marker, sizeof g->marker, "%s.loading", entry) >= (int)sizeof g->marker)
        return false;
    int fd = lock_marker(g->marker);
    if (fd < 0)
        return false;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
        unlink(entry);
        unlink(g->marker);
        close(fd);
        return true;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (write(fd, pid, (size_t)n) != n) {
        unlink(g->marker);
        close(fd);
        return false;
    }
    g->fd = fd;
    return false;
}

void clnet_cl_guard_leave(clnet_cl_guard *g)
{
    if (g->fd < 0)
        return;
    unlink(g->marker);
    close(g->fd);
    g->fd = -1;
}
