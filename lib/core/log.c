/* log.c - the last-error record, the log sink and the program build observer
 * of a context. */
#include "core/internal.h"

#include <stdio.h>

static const char *level_name(clnet_log_level level)
{
    switch (level) {
    case CLNET_LOG_DEBUG: return "debug";
    case CLNET_LOG_INFO: return "info";
    case CLNET_LOG_WARN: return "warning";
    default: return "error";
    }
}

static void deliver(clnet_ctx *ctx, clnet_log_level level, const char *message)
{
    if (level < ctx->log_min)
        return;
    if (ctx->log_fn)
        ctx->log_fn(ctx->log_user, level, message);
    else
        fprintf(stderr, "clnet %s: %s\n", level_name(level), message);
}

void clnet_log(clnet_ctx *ctx, clnet_log_level level, const char *fmt, ...)
{
    if (!ctx || level < ctx->log_min)
        return;
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    deliver(ctx, level, message);
}

clnet_status clnet_fail(clnet_ctx *ctx, clnet_status status, const char *fmt, ...)
{
    if (!ctx)
        return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->last_error, sizeof ctx->last_error, fmt, ap);
    va_end(ap);
    /* Errors are returned to the caller, who decides whether they matter;
     * logging them at debug level keeps the default sink quiet. */
    deliver(ctx, CLNET_LOG_DEBUG, ctx->last_error);
    return status;
}

void clnet_error_clear(clnet_ctx *ctx)
{
    if (ctx)
        ctx->last_error[0] = '\0';
}

clnet_status clnet_ctx_set_error(clnet_ctx *ctx, clnet_status status, const char *message)
{
    return clnet_fail(ctx, status, "%s", message ? message : "");
}

const char *clnet_last_error(const clnet_ctx *ctx)
{
    return ctx ? ctx->last_error : "";
}

void clnet_ctx_set_log(clnet_ctx *ctx, clnet_log_fn fn, void *user, clnet_log_level min_level)
{
    if (!ctx)
        return;
    ctx->log_fn = fn;
    ctx->log_user = user;
    ctx->log_min = min_level;
}

void clnet_ctx_set_build_hook(clnet_ctx *ctx, clnet_build_fn fn, void *user)
{
    if (!ctx)
        return;
    mtx_lock(&ctx->lock);
    ctx->build_fn = fn;
    ctx->build_user = user;
    mtx_unlock(&ctx->lock);
}
