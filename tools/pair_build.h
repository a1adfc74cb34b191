/* The gateway pair's library objects from [pair] (tools/mos_config.h;
 * issue 18, docs/redundancy.md): node 0's wss client to node 1, node 1's
 * credentials and certificates. castgate run builds them to check the
 * files the section names (--check-config and start); it does not run the
 * pair yet. */
#ifndef CG_TOOLS_PAIR_BUILD_H
#define CG_TOOLS_PAIR_BUILD_H

#include "mos_config.h"

#include <castgate/castgate.h>

/* The largest journal record the pair carries (struct cg_pairlink_config's
 * max_record): a message of [gateway] max_message bytes, or an answer
 * written for the gear (a UTF-8 answer turned into UCS-2BE may be twice
 * its bytes), with the record's head and ID and the pair envelope's IDs
 * (PAIRB_RECORD_ROOM); at most a wss message's ceiling (1 GiB) less
 * PAIRB_WIRE_ROOM. Both ends of the replication link take wss messages of
 * that size plus PAIRB_WIRE_ROOM (the pair message's head). With the
 * pairlink's default (16 MiB less 32) a record of a message near or over
 * 16 MiB was never replicated, while the answer that followed it was
 * released all the same. */
#define PAIRB_RECORD_ROOM ((uint64_t)64 << 10)
#define PAIRB_WIRE_ROOM 64u
uint64_t pairb_max_record(const struct gwconf *c);

/* Node 0: the client that dials node 1 (trust: ca, ca_dir, pin,
 * cert_name; Basic credentials: user and the first line of password_file;
 * wss messages as large as pairb_max_record allows). Prints why not. */
enum cg_err pairb_client(struct cg_ctx *ctx, const struct gwconf *c, struct cg_ws_client **out);
/* The files this node's part of [pair] names, read as the pair will read
 * them: node 0's client (trust files, the password file), node 1's
 * credentials file and the [gateway] certificates its listener serves.
 * CG_OK without [pair]. Prints the file and why not. */
enum cg_err pairb_check(struct cg_ctx *ctx, const struct gwconf *c);

#endif
