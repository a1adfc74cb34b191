/* The gateway pair's library objects from [pair] (tools/mos_config.h;
 * issue 18, docs/redundancy.md): node 0's wss client to node 1, node 1's
 * credentials and certificates. castgate run builds them to check the
 * files the section names (--check-config and start); it does not run the
 * pair yet. */
#ifndef CG_TOOLS_PAIR_BUILD_H
#define CG_TOOLS_PAIR_BUILD_H

#include "mos_config.h"

#include <castgate/castgate.h>

/* Node 0: the client that dials node 1 (trust: ca, ca_dir, pin,
 * cert_name; Basic credentials: user and the first line of password_file).
 * Prints why not. */
enum cg_err pairb_client(struct cg_ctx *ctx, const struct gwpair *p, struct cg_ws_client **out);
/* The files this node's part of [pair] names, read as the pair will read
 * them: node 0's client (trust files, the password file), node 1's
 * credentials file and the [gateway] certificates its listener serves.
 * CG_OK without [pair]. Prints the file and why not. */
enum cg_err pairb_check(struct cg_ctx *ctx, const struct gwconf *c);

#endif
