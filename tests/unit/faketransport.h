/* A MOS 4.0 lane transport that keeps what is written (struct
 * mos4_transport_ops, src/mos4/mos4.h), for unit tests that drive the
 * endpoint's adapter without a network (test_mos4_cancel.c,
 * test_relay_failover_cancel.c). A test links it with a
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

/* How many writes contain needle. */
size_t ft_written(const struct ft_fake *k, const char *needle);
/* Frees the writes kept so far. */
void ft_clear(struct ft_fake *k);

#endif
