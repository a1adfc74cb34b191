/* A MOS 4.0 device that a MOS 2.x port (M-21) feeds one large message, for
 * the tests of where and when its libxml2 check runs (src/mos4/flow.c vjob:
 * test_mos4_vjob_default.c, test_mos4_vjob_lowprio.c,
 * test_mos4_vjob_free.c). A test links it with a "// CG_LINK: vjobrig.c"
 * line.
 *
 * The endpoint (mosID "DEV", role MOS) has one peer "NCS" on ro whose MOS 2.x
 * side listens on a free 127.0.0.1 port (no dialing); a thread of the rig
 * sends it one well-formed roReq of about items * 8 bytes
 * (tu_send_big_roreq) and reads until the endpoint closes.
 *
 * The rig wraps cg__mos_check_fresh (so a test that links it also lists
 * cg__mos_check_fresh in its "// CG_WRAP:" line) to record, in vj_big, on
 * which thread and at what priority a message over 100,000 bytes was
 * checked. */
#ifndef CG_VJOBRIG_H
#define CG_VJOBRIG_H

#include "testutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The check of the large message: written on the thread that checks it,
 * read by the test after vj_free (which joins the context's threads). */
struct vj_check {
    bool seen;
    bool on_loop; /* on the thread that called vj_start (it runs the loop) */
    int policy;   /* sched_getscheduler of the checking thread */
    int nice;     /* its nice value */
};
extern struct vj_check vj_big; /* reset by vj_start */

struct vj_rig {
    struct cg_ctx *ctx;
    struct cg_mos_endpoint *ep; /* a test that frees it itself sets it NULL */
    uint16_t port;
    int items;
    pthread_t sender;
    uv_timer_t dog;
    int requests; /* the rig's application: requests delivered */
};

/* A new context and the endpoint with handlers h and user (h NULL: the
 * rig's application, which counts each request in r->requests, answers it
 * with a positive mosAck and stops the context), checking
 * messages over async_bytes on the context's low-priority threads
 * (cg_mos_endpoint_config_set_xml_limits; 0: the endpoint's default options
 * untouched); started, then the sender thread with items. */
void vj_start(struct vj_rig *r, size_t async_bytes, const struct cg_mos_handlers *h, void *user,
              int items);
/* Runs the context until it is stopped, ms at the most. */
void vj_run(struct vj_rig *r, uint64_t ms);
/* Frees the endpoint (if still there) and the context, which closes the
 * sender's connection, then joins the sender. */
void vj_free(struct vj_rig *r);
/* The whole course with the rig's application: vj_start, vj_run (120 s at
 * the most), vj_free. */
void vj_feed(struct vj_rig *r, size_t async_bytes, int items);

#endif
