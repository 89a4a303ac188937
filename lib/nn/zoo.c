/* zoo.c - named networks: the cfg files of lib/nn/zoo/, embedded in the
 * library, parsed on request. */
#include <stdio.h>
#include <string.h>

#include "clnet/nn.h"
#include "core/internal.h"
#include "nn/zoo.h"

const char *const *clnet_zoo_names(void)
{
    return clnet_zoo_source_names;
}

const char *clnet_zoo_cfg(const char *name)
{
    for (int i = 0; name && i < clnet_zoo_source_count; i++)
        if (strcmp(clnet_zoo_sources[i].name, name) == 0)
            return clnet_zoo_sources[i].text;
    return NULL;
}

clnet_status clnet_net_zoo(clnet_ctx *ctx, const char *name, const clnet_cfg_overrides *ov,
                           clnet_net **out)
{
    clnet_error_clear(ctx);
    if (out)
        *out = NULL;
    if (!out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "zoo: out must not be NULL");
    const char *text = clnet_zoo_cfg(name);
    if (!text) {
        char list[1024] = "";
        size_t n = 0;
        for (int i = 0; i < clnet_zoo_source_count && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
                                  clnet_zoo_sources[i].name);
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "zoo: no model named '%s' (available: %s)", name ? name : "(null)",
                          list);
    }
    char file[128];
    snprintf(file, sizeof file, "zoo/%s.cfg", name);
    return clnet_net_parse_cfg(ctx, text, file, ov, out);
}
