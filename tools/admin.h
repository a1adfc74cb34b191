/* The gateway's admin listener (issue 15, parts 4 and 5): GET /metrics in
 * the Prometheus text format and GET / the status page (HTML), over TLS with the [gateway] certificates and under
 * the server's BCP-003-01 rules (B-01..B-25), behind Basic credentials from
 * admin_credentials (an htpasswd file; lockout after repeated failures). */
#ifndef CG_TOOLS_ADMIN_H
#define CG_TOOLS_ADMIN_H

#include "metrics.h"
#include "mos_config.h"

struct admin;

/* Starts it when c->admin_listen is set (*out NULL otherwise). Errors are
 * printed; CG_ECONFIG when admin_listen has no credentials or certificates. */
enum cg_err admin_start(struct cg_ctx *ctx, const struct gwconf *c, struct metrics *m,
                        struct admin **out);
/* The admin listener's own set-ups, credentials and leaves into m, as the
 * listener "admin" (nothing when a is NULL). */
void admin_stats(const struct admin *a, struct metrics *m);
/* The bound port (0 when none). */
unsigned admin_port(const struct admin *a);
/* SIGHUP: the credentials file again, and the [gateway] certificates of c
 * (new handshakes get them; on failure the old stay, logged). */
void admin_reload(struct admin *a, const struct gwconf *c);
void admin_free(struct admin *a);

#endif
