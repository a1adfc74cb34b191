/* A MOS 4.0 lane transport that keeps what is written (struct
 * mos4_transport_ops, src/mos4/mos4.h), for unit tests that drive the
 * endpoint's adapter without a network (test_mos4_cancel.c,
 * test_relay_failover_cancel.c, test_relay_mirror_leg.c). A test links it with a
 * "// CG_LINK: faketransport.c" line and gives &ft_ops and a struct
 * ft_fake as a lane's transport. Writes must be UTF-8 (text frames). */
#ifndef CG_FAKETRANSPORT_H
#define CG_FAKETRANSPORT_H

#include "testutil.h"
#include "mos4/mos4.h"

#include <stddef.h>

#define FT_MAX 64

struct ft_fake {
    char *w[FT_MAX]; /* each write, a NUL-terminated copy */
    size_t n;
};

extern const struct mos4_transport_ops ft_ops;

/* For relay tests (test_relay_failover_cancel.c, test_relay_mirror_leg.c):
 * the ro lane of peer_id on ep in direction dir (the test fails without the
 * peer); k becomes l's transport and l comes up, as lane.c takes a
 * connection; xml (UTF-8) arrives on l; a MOS 4.0 peer configuration for id
 * on ro with text frames (the caller frees it). */
struct mos4_lane *ft_lane(struct cg_mos_endpoint *ep, const char *peer_id, enum cg_mos_dir dir);
void ft_up(struct mos4_lane *l, struct ft_fake *k);
void ft_message(struct mos4_lane *l, const char *xml);
struct cg_mos_peer_config *ft_peer(const char *id);

/* A context logging into *log (debug and up), a relay on it without
 * handlers, and a link configuration named link for an NCS gear ncs_id with
 * the device mos_id (the caller adds to it, then cg_relay_add_link). */
struct cg_relay;
struct cg_relay_link_config;
void ft_relay(const char *link, const char *ncs_id, const char *mos_id, struct tu_log *log,
              struct cg_ctx **ctx, struct cg_relay **r, struct cg_relay_link_config **lc);

/* How many writes contain needle. */
size_t ft_written(const struct ft_fake *k, const char *needle);
/* Frees the writes kept so far. */
void ft_clear(struct ft_fake *k);

#endif
