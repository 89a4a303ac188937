/* progress.c - the terminal progress bar of `clnet-bench train` (see
 * progress.h). The ETA counts only measured batch times and the measured
 * evaluation time: never the run's first batch, which compiles the OpenCL
 * programs and can take far longer than any other. */
#include "progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define REDRAW_SECONDS 0.1

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* "1h02m", "3m07s", "42s". */
static void format_duration(char *buf, size_t size, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, size, "%lds", t);
}

static void draw(progress_bar *p, const char *status)
{
    char bar[BAR_WIDTH + 1], eta[32] = "--";
    int filled = p->batches > 0 ? (int)(p->batch * BAR_WIDTH / p->batches) : 0;
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
    bar[BAR_WIDTH] = '\0';
    if (p->measured > 0) {
        double per_batch = p->measured_seconds / (double)p->measured;
        int later = p->epochs - p->epoch - 1;
        double left = per_batch * (double)(p->batches - p->batch + (int64_t)later * p->batches);
        if (p->eval_seconds >= 0)
            left += p->eval_seconds * (later + (status ? 0 : 1));
        format_duration(eta, sizeof eta, left);
    }
    fprintf(stderr, "\r\033[K[%s] epoch %d/%d ", bar, p->epoch + 1, p->epochs);
    if (status)
        fprintf(stderr, "%s", status);
    else
        fprintf(stderr, "batch %lld/%lld loss %.4f %.0f img/s", (long long)p->batch,
                (long long)p->batches, p->loss, p->images_per_second);
    fprintf(stderr, " ETA %s", eta);
    fflush(stderr);
    p->last_draw = now_seconds();
}

void progress_start(progress_bar *p, int first, int epochs)
{
    memset(p, 0, sizeof *p);
    p->on = isatty(STDERR_FILENO);
    p->epoch = first;
    p->epochs = epochs;
    p->eval_seconds = -1;
}

void progress_epoch(progress_bar *p, int epoch)
{
    p->epoch = epoch;
    p->batch = 0;
}

int progress_batch(void *user, const clnet_progress *pr)
{
    progress_bar *p = user;
    p->batch = pr->batch + 1;
    p->batches = pr->batches;
    p->loss = pr->loss;
    p->images_per_second = pr->images_per_second;
    if (p->first_batch_seen) {
        p->measured++;
        p->measured_seconds += pr->batch_seconds;
    }
    p->first_batch_seen = true;
    if (p->on && (p->batch == p->batches || now_seconds() - p->last_draw >= REDRAW_SECONDS))
        draw(p, NULL);
    return 0;
}

void progress_evaluating(progress_bar *p, const char *what)
{
    if (p->on)
        draw(p, what);
}

void progress_evaluated(progress_bar *p, double seconds)
{
    p->eval_seconds = seconds;
}

void progress_print(progress_bar *p, FILE *f, const char *line)
{
    if (p->on)
        fputs("\r\033[K", stderr);
    fputs(line, f);
    fflush(f);
}

void progress_stop(progress_bar *p)
{
    if (p->on) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->on = false;
}
