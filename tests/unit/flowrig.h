/* A MOS 4.0 endpoint without a network, for the unit tests of the IN and
 * OUT lanes (src/mos4/flow.c, journal.c) and the flow core behind them
 * (test_flow_adapter.c, test_flow_deliver_nomem.c, test_flow_lane_stats.c,
 * test_flow_replay_many.c, test_mos4_inlane.c, test_mos4_journal_writes.c,
 * test_mos4_journal_writev.c).
 *
 * A test links it with a "// CG_LINK: flowrig.c" line and lists
 * cg__mos4_lane_write in its "// CG_WRAP:" line: what the lanes write is then
 * caught here (fr_sent), instead of going to a connection. Requests reach
 * the application (struct fr_app), which answers each at once, keeps them
 * all or keeps one at a time, as the test says.
 *
 * Two endpoints (both the device "dev"): fr_ro_init, an NCS peer "ncs" on
 * ro, both lanes up with their timers, the settings of
 * cg_mos_endpoint_config_new; fr_mom_init, one IN lane from the NCS "ncs1"
 * on mom (a mosAck carries the answer's statusDescription), settings zeroed
 * but for those it names, no timers. Either way the test then sets what it
 * varies in f->ep.cfg and calls fr_state to open the journal. */
#ifndef CG_FLOWRIG_H
#define CG_FLOWRIG_H

#include "testutil.h"
#include "mos4/mos4.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- what the lanes write ---- */

#define FR_MAX_SENT 1024
extern char *fr_sent[FR_MAX_SENT]; /* each a copy, NUL-terminated */
extern size_t fr_nsent;
/* How the copies are allocated: malloc unless the test says otherwise (one
 * that wraps malloc to fail it sets __real_malloc, so the copies are never
 * among the allocations it fails). */
extern void *(*fr_sent_alloc)(size_t n);

enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len);
void fr_sent_clear(void);
/* How many written messages contain needle; _both: contain a and b. */
size_t fr_sent_count(const char *needle);
size_t fr_sent_count_both(const char *a, const char *b);

/* ---- the application ---- */

enum fr_keep {
    FR_ANSWER, /* each request answered at once: ACK "applied N", N its delivery count */
    FR_HOLD,   /* each kept in held[], unanswered */
    FR_ONE,    /* kept in cur; a second one while cur is set fails the test (M-22) */
};

#define FR_MAX_HELD 128
struct fr_app {
    enum fr_keep keep;
    unsigned delivered, repeats; /* requests delivered; of them, marked as repeats */
    char last[256];              /* the last one's element (its start) */
    struct cg_mos_request *cur;  /* FR_ONE */
    struct cg_mos_request *held[FR_MAX_HELD]; /* FR_HOLD */
    size_t nheld;
};

/* ---- the endpoint ---- */

struct fr_ep {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_mos_endpoint ep;
    struct mos4_peer peer, *peers[1];
    struct mos4_lane *lane; /* the IN lane the requests arrive on */
    bool timers;            /* fr_ro_init: both lanes' timers are open */
    struct fr_app app;
};

/* "dev" with NCS "ncs" on ro, both lanes up; logs at level and above into f->log. */
void fr_ro_init(struct fr_ep *f, enum cg_log_level level);
/* "dev" with one IN lane from "ncs1" on mom, up; logs everything into f->log. */
void fr_mom_init(struct fr_ep *f);
/* The state directory dir (NULL: none) and the journal option; with a
 * directory, f->lane's journal is opened (and read, as after a restart). */
void fr_state(struct fr_ep *f, const char *dir, bool journal);
/* The process ends: what the application still holds goes with it, then the
 * lanes, the context and what was written. */
void fr_free(struct fr_ep *f);

/* A message arrives on the lane of f->lane's channel in direction dir. */
void fr_arrive(struct fr_ep *f, enum cg_mos_dir dir, const char *xml, size_t len);
/* An roCreate of roID ro from the NCS (ncsID the peer's) to mosID mos, under
 * messageID msgid (NULL: none): the text into xml, its length returned;
 * fr_request sends it to f->lane. */
size_t fr_request_xml(char *xml, size_t size, const char *ncs, const char *mos,
                      const char *msgid, const char *ro);
size_t fr_request(struct fr_ep *f, const char *mos, const char *msgid, const char *ro);
/* The roCreate of R<i> under messageID i, to "dev". */
size_t fr_request_n(struct fr_ep *f, unsigned i);
/* FR_ONE: R<i> is at the application (fails the test otherwise). */
void fr_expect_at_app(const struct fr_ep *f, unsigned i);
/* FR_ONE: the request at the application answered with ACK "applied". */
void fr_answer(struct fr_ep *f);

/* A new directory /tmp/cg-test-<what>-XXXXXX into dir; fr_rmdir removes it. */
void fr_mkdtemp(char *dir, size_t size, const char *what);
void fr_rmdir(const char *dir);

#endif
