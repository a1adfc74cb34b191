/* Unit tests for the primary/buddy failover decision (src/redund/failover.c,
 * issue 18 item 2, docs/redundancy.md): hysteresis both ways, what happens
 * to the request in flight and the queue at each kind of switch (M-22: one
 * in flight per channel, a retry keeps its messageID), the buddy's "cannot
 * respond because main server is available" relayed as an answer, and a
 * randomized model over interleavings of sides, requests and answers. */
#include "testutil.h"
#include "redund/redund.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_MS 3000u /* failover_after */
#define M_MS 5000u /* failback_after */
#define RO 1
#define MOM 0

static struct cg_fo *fo_new(uint64_t failback, size_t maxq)
{
    struct cg_fo *fo = malloc(sizeof(*fo));
    assert_non_null(fo);
    struct cg_fo_config cfg = {.failover_after_ms = N_MS, .failback_after_ms = failback, .max_queue = maxq};
    assert_int_equal(cg__fo_init(fo, &cfg, 0), CG_OK);
    return fo;
}

static const char *pn(enum cg_fo_peer p) { return p == CG_FO_PRIMARY ? "P" : "B"; }

/* Every action of the last event, as text: "SEND 1:5>P; ..." */
static const char *drain(struct cg_fo *fo)
{
    static char out[2048];
    size_t n = 0;
    out[0] = '\0';
    struct cg_fo_act a;
    while (cg__fo_action(fo, &a)) {
        char one[128];
        switch (a.kind) {
        case CG_FO_A_SEND:
            snprintf(one, sizeof(one), "SEND %d:%llu>%s%s", a.ch, (unsigned long long)a.ref, pn(a.peer),
                     a.resend ? " resend" : "");
            break;
        case CG_FO_A_CANCEL:
            snprintf(one, sizeof(one), "CANCEL %d:%llu@%s", a.ch, (unsigned long long)a.ref, pn(a.peer));
            break;
        case CG_FO_A_DELIVER:
            snprintf(one, sizeof(one), "DELIVER %d:%llu<%s%s", a.ch, (unsigned long long)a.ref, pn(a.peer),
                     a.answer == CG_FO_ANS_FAILED ? " failed" : "");
            break;
        case CG_FO_A_DROP:
            snprintf(one, sizeof(one), "DROP %d:%llu<%s %s", a.ch, (unsigned long long)a.ref, pn(a.peer),
                     cg__fo_reason_name(a.why));
            break;
        case CG_FO_A_SWITCH:
            snprintf(one, sizeof(one), "SWITCH %s>%s %s %llu", pn(a.from), pn(a.to),
                     cg__fo_reason_name(a.why), (unsigned long long)a.for_ms);
            break;
        case CG_FO_A_NOTE:
            snprintf(one, sizeof(one), "NOTE %s", cg__fo_reason_name(a.why));
            break;
        }
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", n ? "; " : "", one);
        assert_true(n < sizeof(out));
    }
    assert_false(fo->overflow);
    return out;
}

static void both_up(struct cg_fo *fo, uint64_t t)
{
    cg__fo_side(fo, t, CG_FO_PRIMARY, true);
    cg__fo_side(fo, t, CG_FO_BUDDY, true);
    assert_string_equal(drain(fo), "");
}

/* Requests wait until the active side (the primary at start) is up. */
static void test_start_on_primary(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    assert_int_equal(cg__fo_request(fo, 10, RO, 1), CG_OK);
    assert_string_equal(drain(fo), "");
    cg__fo_side(fo, 20, CG_FO_PRIMARY, true);
    assert_string_equal(drain(fo), "SEND 1:1>P");
    assert_int_equal(cg__fo_request(fo, 30, RO, 2), CG_OK); /* M-22: one in flight */
    assert_string_equal(drain(fo), "");
    cg__fo_answer(fo, 40, RO, 1, CG_FO_PRIMARY, CG_FO_ANS_OK);
    assert_string_equal(drain(fo), "DELIVER 1:1<P; SEND 1:2>P");
    assert_int_equal(cg__fo_deadline(fo), CG_FO_NEVER);
    free(fo);
}

/* The primary must be unreachable for failover_after before the buddy
 * takes the requests; the deadline says when to look. */
static void test_failover_after(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    both_up(fo, 0);
    cg__fo_side(fo, 1000, CG_FO_PRIMARY, false);
    assert_string_equal(drain(fo), "");
    assert_int_equal(cg__fo_deadline(fo), 1000 + N_MS);
    cg__fo_timer(fo, 1000 + N_MS - 1);
    assert_string_equal(drain(fo), "");
    cg__fo_timer(fo, 1000 + N_MS);
    assert_string_equal(drain(fo), "SWITCH P>B unreachable 3000");
    assert_int_equal(fo->active, CG_FO_BUDDY);
    assert_int_equal(cg__fo_request(fo, 5000, MOM, 7), CG_OK);
    assert_string_equal(drain(fo), "SEND 0:7>B");
    free(fo);
}

/* A primary that comes back within failover_after restarts the clock:
 * no switch for a short drop, however often it happens. */
static void test_short_drops_do_not_switch(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    both_up(fo, 0);
    cg__fo_side(fo, 1000, CG_FO_PRIMARY, false);
    cg__fo_side(fo, 2000, CG_FO_PRIMARY, true);
    cg__fo_side(fo, 2500, CG_FO_PRIMARY, false);
    cg__fo_timer(fo, 1000 + N_MS);
    assert_string_equal(drain(fo), "");
    assert_int_equal(cg__fo_deadline(fo), 2500 + N_MS);
    cg__fo_timer(fo, 2500 + N_MS);
    assert_string_equal(drain(fo), "SWITCH P>B unreachable 3000");
    free(fo);
}

/* No switch to a buddy that is down too; when it comes up after the
 * primary has been away long enough, the switch is immediate. */
static void test_no_switch_to_a_down_buddy(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    cg__fo_side(fo, 0, CG_FO_PRIMARY, true);
    assert_int_equal(cg__fo_request(fo, 10, RO, 1), CG_OK);
    assert_string_equal(drain(fo), "SEND 1:1>P");
    cg__fo_side(fo, 100, CG_FO_PRIMARY, false);
    assert_int_equal(cg__fo_deadline(fo), CG_FO_NEVER); /* nothing to decide */
    cg__fo_timer(fo, 100000);
    assert_string_equal(drain(fo), "");
    cg__fo_side(fo, 200000, CG_FO_BUDDY, true);
    assert_string_equal(drain(fo), "SWITCH P>B unreachable 199900; CANCEL 1:1@P; SEND 1:1>B resend");
    free(fo);
}

/* A failure switch: the request in flight on the dead side is withdrawn
 * from it and sent to the buddy under its own messageID (resend), ahead of
 * the queue, which keeps its order; each channel on its own. A late answer
 * from the old side is dropped: one answer per request. */
static void test_failure_switch_moves_inflight_and_queue(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    both_up(fo, 0);
    assert_int_equal(cg__fo_request(fo, 1, RO, 1), CG_OK);
    assert_int_equal(cg__fo_request(fo, 2, RO, 2), CG_OK);
    assert_int_equal(cg__fo_request(fo, 3, RO, 3), CG_OK);
    assert_int_equal(cg__fo_request(fo, 4, MOM, 10), CG_OK);
    assert_string_equal(drain(fo), "SEND 1:1>P; SEND 0:10>P");
    cg__fo_side(fo, 100, CG_FO_PRIMARY, false);
    assert_int_equal(cg__fo_request(fo, 200, RO, 4), CG_OK); /* queued behind, not sent */
    assert_string_equal(drain(fo), "");
    cg__fo_timer(fo, 100 + N_MS);
    assert_string_equal(drain(fo), "SWITCH P>B unreachable 3000; CANCEL 0:10@P; SEND 0:10>B resend; "
                                   "CANCEL 1:1@P; SEND 1:1>B resend");
    cg__fo_answer(fo, 3200, RO, 1, CG_FO_PRIMARY, CG_FO_ANS_OK); /* it came back and answered late */
    assert_string_equal(drain(fo), "DROP 1:1<P late");
    cg__fo_answer(fo, 3300, RO, 1, CG_FO_BUDDY, CG_FO_ANS_OK);
    assert_string_equal(drain(fo), "DELIVER 1:1<B; SEND 1:2>B");
    cg__fo_answer(fo, 3400, RO, 2, CG_FO_BUDDY, CG_FO_ANS_OK);
    assert_string_equal(drain(fo), "DELIVER 1:2<B; SEND 1:3>B");
    cg__fo_answer(fo, 3500, RO, 3, CG_FO_BUDDY, CG_FO_ANS_OK);
    assert_string_equal(drain(fo), "DELIVER 1:3<B; SEND 1:4>B");
    cg__fo_answer(fo, 3600, RO, 3, CG_FO_BUDDY, CG_FO_ANS_OK); /* a repeat of an answer */
    assert_string_equal(drain(fo), "DROP 1:3<B unknown");
    free(fo);
}

/* Failback is graceful: once the primary has been up for failback_after,
 * nothing new goes to the buddy; the request in flight there is answered
 * there (never re-sent), then the switch, then the queue to the primary. */
static void test_failback_waits_for_inflight(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    cg__fo_side(fo, 0, CG_FO_BUDDY, true);
    cg__fo_timer(fo, N_MS);
    assert_string_equal(drain(fo), "SWITCH P>B unreachable 3000");
    assert_int_equal(cg__fo_request(fo, 4000, RO, 1), CG_OK);
    assert_string_equal(drain(fo), "SEND 1:1>B");
    cg__fo_side(fo, 5000, CG_FO_PRIMARY, true);
    assert_int_equal(cg__fo_deadline(fo), 5000 + M_MS);
    cg__fo_timer(fo, 5000 + M_MS - 1);
    assert_string_equal(drain(fo), "");
    cg__fo_timer(fo, 5000 + M_MS);
    assert_string_equal(drain(fo), ""); /* draining: 1 is in flight on the buddy */
    assert_int_equal(cg__fo_request(fo, 10100, RO, 2), CG_OK);
    assert_int_equal(cg__fo_request(fo, 10100, MOM, 3), CG_OK); /* an idle channel waits too */
    assert_string_equal(drain(fo), "");
    cg__fo_answer(fo, 10200, RO, 1, CG_FO_BUDDY, CG_FO_ANS_OK);
    assert_string_equal(drain(fo), "DELIVER 1:1<B; SWITCH B>P primary-back 5200; SEND 0:3>P; SEND 1:2>P");
    free(fo);
}

/* A primary that drops again before failback_after restarts its clock. */
static void test_failback_hysteresis(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    cg__fo_side(fo, 0, CG_FO_BUDDY, true);
    cg__fo_timer(fo, N_MS);
    drain(fo);
    cg__fo_side(fo, 4000, CG_FO_PRIMARY, true);
    cg__fo_side(fo, 8000, CG_FO_PRIMARY, false);
    assert_int_equal(cg__fo_deadline(fo), CG_FO_NEVER);
    cg__fo_side(fo, 8500, CG_FO_PRIMARY, true);
    cg__fo_timer(fo, 4000 + M_MS);
    assert_string_equal(drain(fo), "");
    cg__fo_timer(fo, 8500 + M_MS);
    assert_string_equal(drain(fo), "SWITCH B>P primary-back 5000");
    free(fo);
}

/* failback_after = never: only an operator moves it back (gracefully). */
static void test_failback_never_and_force(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(CG_FO_NEVER, 0);
    cg__fo_side(fo, 0, CG_FO_BUDDY, true);
    cg__fo_timer(fo, N_MS);
    drain(fo);
    cg__fo_side(fo, 4000, CG_FO_PRIMARY, true);
    assert_int_equal(cg__fo_deadline(fo), CG_FO_NEVER);
    cg__fo_timer(fo, 1000000);
    assert_string_equal(drain(fo), "");
    assert_int_equal(cg__fo_request(fo, 1000001, MOM, 5), CG_OK);
    assert_string_equal(drain(fo), "SEND 0:5>B");
    assert_int_equal(cg__fo_force(fo, 1000002, CG_FO_PRIMARY), CG_OK);
    assert_string_equal(drain(fo), "");
    cg__fo_answer(fo, 1000003, MOM, 5, CG_FO_BUDDY, CG_FO_ANS_OK);
    assert_string_equal(drain(fo), "DELIVER 0:5<B; SWITCH B>P forced 0");
    cg__fo_side(fo, 1000004, CG_FO_BUDDY, false);
    assert_int_equal(cg__fo_force(fo, 1000005, CG_FO_BUDDY), CG_ESTATE); /* down */
    assert_int_equal(cg__fo_force(fo, 1000005, CG_FO_PRIMARY), CG_OK);   /* active already */
    assert_string_equal(drain(fo), "");
    free(fo);
}

/* "Buddy server cannot respond because main server is available" (field,
 * issue 18): an answer, relayed as it is; noted, never a switch. A lane that
 * gave up (retries exhausted) completes the request too: the sender gets a
 * NACK and the next request goes. */
static void test_buddy_declines_is_an_answer(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    cg__fo_side(fo, 0, CG_FO_BUDDY, true);
    cg__fo_timer(fo, N_MS);
    drain(fo);
    assert_int_equal(cg__fo_request(fo, 4000, RO, 1), CG_OK);
    assert_int_equal(cg__fo_request(fo, 4000, RO, 2), CG_OK);
    assert_string_equal(drain(fo), "SEND 1:1>B");
    cg__fo_answer(fo, 4100, RO, 1, CG_FO_BUDDY, CG_FO_ANS_BUDDY_DECLINES);
    assert_string_equal(drain(fo), "DELIVER 1:1<B; NOTE buddy-declined; SEND 1:2>B");
    assert_int_equal(fo->active, CG_FO_BUDDY);
    cg__fo_answer(fo, 4200, RO, 2, CG_FO_BUDDY, CG_FO_ANS_FAILED);
    assert_string_equal(drain(fo), "DELIVER 1:2<B failed");
    free(fo);
}

/* The active buddy failing while the primary is back but not yet for
 * failback_after: the failure rule wins after failover_after, and a
 * graceful switch that waited is superseded (the in-flight one moves). */
static void test_buddy_fails_during_failback_wait(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    cg__fo_side(fo, 0, CG_FO_BUDDY, true);
    cg__fo_timer(fo, N_MS);
    drain(fo);
    assert_int_equal(cg__fo_request(fo, 4000, RO, 1), CG_OK);
    cg__fo_side(fo, 4000, CG_FO_PRIMARY, true);
    assert_string_equal(drain(fo), "SEND 1:1>B");
    cg__fo_timer(fo, 4000 + M_MS); /* draining, 1 in flight */
    assert_string_equal(drain(fo), "");
    cg__fo_side(fo, 9100, CG_FO_BUDDY, false);
    cg__fo_timer(fo, 9100 + N_MS);
    assert_string_equal(drain(fo), "SWITCH B>P unreachable 3000; CANCEL 1:1@B; SEND 1:1>P resend");
    free(fo);
}

/* A graceful switch whose target drops again is called off. */
static void test_draining_called_off(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 0);
    cg__fo_side(fo, 0, CG_FO_BUDDY, true);
    cg__fo_timer(fo, N_MS);
    drain(fo);
    assert_int_equal(cg__fo_request(fo, 4000, RO, 1), CG_OK);
    cg__fo_side(fo, 4000, CG_FO_PRIMARY, true);
    cg__fo_timer(fo, 4000 + M_MS);
    assert_int_equal(cg__fo_request(fo, 9001, RO, 2), CG_OK);
    assert_string_equal(drain(fo), "SEND 1:1>B");
    cg__fo_side(fo, 9002, CG_FO_PRIMARY, false);
    cg__fo_answer(fo, 9003, RO, 1, CG_FO_BUDDY, CG_FO_ANS_OK);
    assert_string_equal(drain(fo), "DELIVER 1:1<B; SEND 1:2>B");
    free(fo);
}

static void test_queue_bound_and_args(void **state)
{
    (void)state;
    struct cg_fo *fo = fo_new(M_MS, 2);
    assert_int_equal(cg__fo_request(fo, 0, RO, 1), CG_OK);
    assert_int_equal(cg__fo_request(fo, 0, RO, 2), CG_OK);
    assert_int_equal(cg__fo_request(fo, 0, RO, 3), CG_EFULL);
    assert_int_equal(cg__fo_request(fo, 0, MOM, 3), CG_OK); /* per channel */
    assert_int_equal(cg__fo_request(fo, 0, 3, 4), CG_EINVAL);
    assert_int_equal(cg__fo_request(fo, 0, RO, 0), CG_EINVAL);
    struct cg_fo_config bad = {.max_queue = CG_FO_QUEUE + 1};
    assert_int_equal(cg__fo_init(fo, &bad, 0), CG_EINVAL);
    free(fo);
}

/* ---- randomized model ----
 * Two simulated peers. A request sent to a peer stays with it (its lane
 * re-sends it after a break, M-22) until answered or CANCELled; a cancelled
 * one may still be answered late. Random steps: sides go up and down, time
 * passes (timers), requests arrive, an up peer answers any request it holds.
 * Checked after every action: a SEND goes to the active side, which is up;
 * at most one request in flight per channel; nothing is delivered twice;
 * deliveries per channel keep the order of the requests; an answer from a
 * side that no longer holds the request is dropped. At the end, with both
 * sides up for long, every request has been delivered exactly once. */
#define MAXREF 4000

struct held { int ch; uint64_t ref; bool live; };
struct peer { struct held h[MAXREF]; size_t n; };

struct model {
    struct cg_fo *fo;
    struct peer peer[2];
    uint64_t now, next_ref, next_order[CG_FO_CHANNELS];
    int delivered[MAXREF + 1];
    int ch_of[MAXREF + 1];
    uint64_t order[MAXREF + 1]; /* per-channel arrival number of each ref */
    uint64_t arrivals[CG_FO_CHANNELS];
    int inflight[CG_FO_CHANNELS];
    uint64_t inflight_ref[CG_FO_CHANNELS];
    enum cg_fo_peer active;
    unsigned switches, resends, drops;
};

static void peer_drop(struct peer *p, int ch, uint64_t ref)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->h[i].live && p->h[i].ch == ch && p->h[i].ref == ref)
            p->h[i].live = false;
}

static void model_apply(struct model *m)
{
    struct cg_fo_act a;
    while (cg__fo_action(m->fo, &a)) {
        switch (a.kind) {
        case CG_FO_A_SWITCH:
            assert_int_equal(a.from, m->active);
            assert_int_not_equal(a.to, a.from);
            m->active = a.to;
            m->switches++;
            break;
        case CG_FO_A_SEND:
            assert_int_equal(a.peer, m->active);
            assert_true(m->fo->up[a.peer]);
            if (a.resend) {
                assert_int_equal(m->inflight_ref[a.ch], a.ref); /* the one that was in flight */
                m->resends++;
            } else {
                assert_int_equal(m->inflight[a.ch], 0); /* M-22 */
            }
            m->inflight[a.ch] = 1;
            m->inflight_ref[a.ch] = a.ref;
            assert_true(m->peer[a.peer].n < MAXREF);
            m->peer[a.peer].h[m->peer[a.peer].n++] = (struct held){a.ch, a.ref, true};
            break;
        case CG_FO_A_CANCEL: /* the old side's lane forgets it; a late answer stays possible */
            assert_int_equal(m->inflight_ref[a.ch], a.ref);
            assert_int_equal(a.peer, m->active == CG_FO_PRIMARY ? CG_FO_BUDDY : CG_FO_PRIMARY);
            peer_drop(&m->peer[a.peer], a.ch, a.ref);
            break;
        case CG_FO_A_DELIVER:
            assert_int_equal(m->delivered[a.ref], 0);
            m->delivered[a.ref] = 1;
            assert_int_equal(m->inflight_ref[a.ch], a.ref);
            m->inflight[a.ch] = 0;
            assert_int_equal(m->order[a.ref], m->next_order[a.ch]); /* in order per channel */
            m->next_order[a.ch]++;
            break;
        case CG_FO_A_DROP:
            m->drops++;
            break;
        case CG_FO_A_NOTE:
            break;
        }
    }
    assert_false(m->fo->overflow);
}

static void model_answer(struct model *m, enum cg_fo_peer p, size_t i)
{
    struct held h = m->peer[p].h[i];
    m->peer[p].h[i] = m->peer[p].h[--m->peer[p].n];
    bool current = m->inflight[h.ch] && m->inflight_ref[h.ch] == h.ref && m->fo->ch[h.ch].to == p;
    cg__fo_answer(m->fo, m->now, h.ch, h.ref, p, (rand() % 5) == 0 ? CG_FO_ANS_BUDDY_DECLINES : CG_FO_ANS_OK);
    size_t before = m->drops;
    model_apply(m);
    if (!current)
        assert_int_equal(m->drops, before + 1);
}

static void model_step(struct model *m)
{
    int r = rand() % 100;
    if (r < 8) {
        enum cg_fo_peer p = (enum cg_fo_peer)(rand() % 2);
        cg__fo_side(m->fo, m->now, p, !m->fo->up[p]);
    } else if (r < 30) {
        m->now += (uint64_t)(rand() % 4000);
        uint64_t d = cg__fo_deadline(m->fo);
        if (d != CG_FO_NEVER && d <= m->now)
            cg__fo_timer(m->fo, m->now);
    } else if (r < 55) {
        if (m->next_ref < MAXREF) {
            int ch = rand() % CG_FO_CHANNELS;
            uint64_t ref = ++m->next_ref;
            m->ch_of[ref] = ch;
            if (cg__fo_request(m->fo, m->now, ch, ref) == CG_OK) {
                m->order[ref] = m->arrivals[ch]++;
            } else {
                m->delivered[ref] = 2; /* refused: not the model's to deliver */
            }
        }
    } else {
        enum cg_fo_peer p = (enum cg_fo_peer)(rand() % 2);
        if (!m->fo->up[p] || m->peer[p].n == 0)
            return;
        size_t i = (size_t)rand() % m->peer[p].n;
        if (!m->peer[p].h[i].live && rand() % 2) /* a cancelled one: answered late, sometimes */
            return;
        model_answer(m, p, i);
        return;
    }
    model_apply(m);
}

/* Cancelled requests are no longer re-sent by the lane; live ones are. */
static void model_settle(struct model *m)
{
    cg__fo_side(m->fo, m->now, CG_FO_PRIMARY, true);
    cg__fo_side(m->fo, m->now, CG_FO_BUDDY, true);
    model_apply(m);
    for (int round = 0; round < 100000; round++) {
        m->now += 1000;
        cg__fo_timer(m->fo, m->now);
        model_apply(m);
        bool any = false;
        for (int p = 0; p < 2; p++)
            for (size_t i = 0; i < m->peer[p].n; i++)
                if (m->peer[p].h[i].live) {
                    model_answer(m, (enum cg_fo_peer)p, i);
                    any = true;
                    break;
                }
        if (!any && cg__fo_deadline(m->fo) == CG_FO_NEVER)
            break;
    }
}

static void test_randomized_interleavings(void **state)
{
    (void)state;
    unsigned total_switches = 0, total_resends = 0, total_drops = 0;
    for (unsigned seed = 1; seed <= 200; seed++) {
        srand(seed);
        struct model *m = calloc(1, sizeof(*m));
        assert_non_null(m);
        m->fo = fo_new((seed % 7) == 0 ? CG_FO_NEVER : M_MS, 0);
        for (int i = 0; i < 3000; i++)
            model_step(m);
        model_settle(m);
        for (uint64_t ref = 1; ref <= m->next_ref; ref++) {
            if (m->delivered[ref] != 1 && m->delivered[ref] != 2)
                fail_msg("seed %u: request %llu never delivered", seed, (unsigned long long)ref);
        }
        total_switches += m->switches;
        total_resends += m->resends;
        total_drops += m->drops;
        free(m->fo);
        free(m);
    }
    /* the model must have exercised what it checks */
    assert_true(total_switches > 200);
    assert_true(total_resends > 50);
    assert_true(total_drops > 50);
    printf("randomized: 200 runs, %u switches, %u requests moved in flight, %u answers dropped\n",
           total_switches, total_resends, total_drops);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_on_primary),
        cmocka_unit_test(test_failover_after),
        cmocka_unit_test(test_short_drops_do_not_switch),
        cmocka_unit_test(test_no_switch_to_a_down_buddy),
        cmocka_unit_test(test_failure_switch_moves_inflight_and_queue),
        cmocka_unit_test(test_failback_waits_for_inflight),
        cmocka_unit_test(test_failback_hysteresis),
        cmocka_unit_test(test_failback_never_and_force),
        cmocka_unit_test(test_buddy_declines_is_an_answer),
        cmocka_unit_test(test_buddy_fails_during_failback_wait),
        cmocka_unit_test(test_draining_called_off),
        cmocka_unit_test(test_queue_bound_and_args),
        cmocka_unit_test(test_randomized_interleavings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
