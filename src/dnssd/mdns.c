/* Multicast fallback (placeholder until the Avahi client is wired in). */
#include "dnssd/dnssd.h"

enum cg_err cg__mdns_new(struct cg_ctx *ctx, const struct cg_dnssd_opts *opts, cg__mdns_fn fn,
                         void *user, struct cg__mdns **out)
{
    CG_UNUSED(opts);
    CG_UNUSED(fn);
    CG_UNUSED(user);
    *out = NULL;
    cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "multicast DNS is not available");
    return CG_ECONFIG;
}

void cg__mdns_free(struct cg__mdns *m) { CG_UNUSED(m); }
