/* Library objects from the configuration files (tools/mos_config.h): shared
 * by castgate mos serve|send and castgate run. */
#ifndef CG_TOOLS_MOS_BUILD_H
#define CG_TOOLS_MOS_BUILD_H

#include "mos_config.h"

#include <castgate/castgate.h>

/* channels ("" = mom,ro; 0x100 marks an unknown name) */
unsigned mosb_channels(const char *s);
/* The [peer] p as a peer configuration (*out) and the wss client
 * configuration it borrows (*client): free both, *out first. Prints why not. */
enum cg_err mosb_peer_config(const struct mosconf_peer *p, struct cg_mos_peer_config **out,
                             struct cg_ws_client_config **client);
/* Adds the [peer] p to ep (trust, credentials, legacy transport); prints why not. */
enum cg_err mosb_add_peer(struct cg_mos_endpoint *ep, const struct mosconf_peer *p);
/* The wss listener of c (listen, cert, ocsp, hsts, max_message), not started. */
enum cg_err mosb_server(struct cg_ctx *ctx, const struct mosconf *c, struct cg_server **out);
/* One JSON line on stdout: event, peer, channel, message, IDs, bytes, then extra. */
void mosb_print_message(const char *event, const struct cg_mos_message *m, const char *extra);
/* The same line into stdout's buffer, not flushed. */
void mosb_write_message(const char *event, const struct cg_mos_message *m, const char *extra);

#endif
