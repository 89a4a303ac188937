/* baseline_pytorch.c - runs bench/baseline_pytorch.py in a python3 child
 * process and parses the one JSON line it prints (see baseline_pytorch.h). */
#include "baseline_pytorch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The script as meson knows it: in the source tree (development) and where
 * `meson install` puts it. */
static const char *const script_paths[] = {BENCH_PYTORCH_SCRIPT_SOURCE,
                                           BENCH_PYTORCH_SCRIPT_INSTALLED};

static const char *find_script(void)
{
    for (size_t i = 0; i < sizeof script_paths / sizeof script_paths[0]; i++)
        if (access(script_paths[i], R_OK) == 0)
            return script_paths[i];
    return NULL;
}

/* The number after "\"key\":" in a flat JSON object, or false. */
static bool json_number(const char *text, const char *key, double *v)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(text, pattern);
    if (!at)
        return false;
    char *end;
    errno = 0;
    *v = strtod(at + strlen(pattern), &end);
    return errno == 0 && end != at + strlen(pattern);
}

/* Reads all of fd (up to size - 1 bytes) as a string. */
static void read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t got = read(fd, buf + len, size - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    buf[len] = '\0';
}

/* Runs argv with stdout into `text` and stderr into the file `errors`;
 * returns the exit status (-1: killed, 127: not found) or -2 with `err` set
 * when the child could not be made. */
static int run_child(char *const *argv, char *text, size_t size, FILE *errors, char *err,
                     size_t err_size)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, err_size, "pipe: %s", strerror(errno));
        return -2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_size, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -2;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fileno(errors), STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    read_all(fds[0], text, size);
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool baseline_pytorch_time(const pytorch_job *job, pytorch_timing *out, char *err,
                           size_t err_size)
{
    const char *script = find_script();
    if (!script) {
        snprintf(err, err_size, "baseline_pytorch.py is neither at %s nor at %s",
                 script_paths[0], script_paths[1]);
        return false;
    }
    char batch[24], classes[24], reps[24], seed[24], threads[24], lr[32], momentum[32];
    snprintf(batch, sizeof batch, "%ld", job->batch);
    snprintf(classes, sizeof classes, "%ld", job->classes);
    snprintf(reps, sizeof reps, "%ld", job->reps);
    snprintf(seed, sizeof seed, "%ld", job->seed);
    snprintf(threads, sizeof threads, "%ld", job->threads);
    snprintf(lr, sizeof lr, "%.9g", (double)job->lr);
    snprintf(momentum, sizeof momentum, "%.9g", (double)job->momentum);
    char *argv[] = {"python3", (char *)script, "--model", (char *)job->model, "--input",
                    (char *)job->input, "--classes", classes, "--batch", batch, "--reps", reps,
                    "--seed", seed, "--threads", threads, "--lr", lr, "--momentum", momentum,
                    "--device", job->cuda ? "cuda" : "cpu", job->train ? "--train" : NULL, NULL};
    /* Debian's python3-torch lives in the system interpreter, which a pyenv or
     * venv python3 earlier on PATH does not see: that one is tried first. */
    static const char *const pythons[] = {"python3", "/usr/bin/python3"};
    char text[1024];
    int code = 127;
    for (size_t i = 0; i < sizeof pythons / sizeof pythons[0]; i++) {
        /* only the last try's complaints are shown */
        FILE *errors = tmpfile();
        if (!errors) {
            snprintf(err, err_size, "tmpfile: %s", strerror(errno));
            return false;
        }
        argv[0] = (char *)pythons[i];
        code = run_child(argv, text, sizeof text, errors, err, err_size);
        bool last = code == -2 || (code != 3 && code != 127) ||
                    i + 1 == sizeof pythons / sizeof pythons[0];
        if (last && code != 0) {
            char line[512];
            rewind(errors);
            while (fgets(line, sizeof line, errors))
                fputs(line, stderr);
        }
        fclose(errors);
        if (last)
            break;
    }
    if (code == -2)
        return false;
    if (code != 0) {
        snprintf(err, err_size, "%s %s exited with status %d%s", argv[0], script, code,
                 code == 3 ? " (python3-torch or python3-torchvision is not installed)"
                 : code == 4 ? " (PyTorch sees no CUDA device)"
                 : code == 127 ? " (python3 not found)" : "");
        return false;
    }
    double params;
    if (!json_number(text, "params", &params) || !json_number(text, "ms", &out->ms) ||
        !json_number(text, "ms_min", &out->ms_min) || !json_number(text, "ms_max", &out->ms_max)) {
        snprintf(err, err_size, "%s printed no timing: '%s'", script, text);
        return false;
    }
    out->params = (int64_t)params;
    return true;
}
