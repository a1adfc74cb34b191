/* The adapter between a MOS 4.0 endpoint's lanes and the flow core
 * (src/flow/flow.h). Messages come in decoded, checked (pre-scan, libxml2)
 * and with their envelope parsed once; the core hears of them, of lanes up
 * and down, timers, sends, answers and the journal, and decides everything
 * of M-22, M-09, M-10, M-11 and M-12. This file carries out its actions:
 * bytes written on a lane, deliveries, completions, journal records, timers.
 * The core names messages by ref: a struct mos4_pending (a send), a struct
 * mos4_msg (a request received or replayed, an answer). */
#include "mos/mos.h"
#include "mos4/mos4.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LANE_OF(h, field) ((struct mos4_lane *)((char *)(h) - offsetof(struct mos4_lane, field)))

static void lane_log(const struct mos4_lane *l, enum cg_log_level lv, const char *fmt, ...)
    CG_PRINTF(3, 4);
static void lane_log(const struct mos4_lane *l, enum cg_log_level lv, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cg__log(l->peer->ep->ctx, lv, "mos", "%s %s %s: %s", l->peer->id, cg__mos4_ch_name(l->ch),
            l->dir == CG_MOS_OUT ? "out" : "in", msg);
}

static uint64_t ref_of(const void *p) { return (uint64_t)(uintptr_t)p; }
static struct mos4_msg *msg_of(uint64_t ref) { return (struct mos4_msg *)(uintptr_t)ref; }
static struct mos4_pending *pending_of(uint64_t ref)
{
    return (struct mos4_pending *)(uintptr_t)ref;
}
static const char *id_or_null(const char *msgid) { return msgid[0] != '\0' ? msgid : NULL; }
static enum cg_flow_dir flow_dir(const struct mos4_lane *l)
{
    return l->dir == CG_MOS_OUT ? CG_FLOW_OUT : CG_FLOW_IN;
}

/* ---- messages the core names ---- */

struct mos4_msg *cg__mos4_msg_copy(const void *data, size_t len)
{
    struct mos4_msg *m = calloc(1, sizeof(*m));
    if (m == NULL || (m->own = malloc(len > 0 ? len : 1)) == NULL) {
        free(m);
        return NULL;
    }
    memcpy(m->own, data, len);
    m->xml = m->own;
    m->len = len;
    m->enc = cg__mos4_enc_of(data, len);
    m->kept = true;
    return m;
}

void cg__mos4_msg_free(struct mos4_msg *m)
{
    if (m != NULL)
        free(m->own);
    free(m);
}

/* KEEP: a fresh message's bytes are the receive buffer's: copied now. */
static void keep(struct mos4_msg *m)
{
    if (m->own == NULL && (m->own = malloc(m->len > 0 ? m->len : 1)) != NULL)
        memcpy(m->own, m->xml, m->len);
    m->xml = m->own != NULL ? m->own : ""; /* no memory: delivered as unreadable, NACKed */
    m->len = m->own != NULL ? m->len : 0;
    m->kept = true;
}

/* RELEASE: freed now, or when the code using it is done (busy). */
static void release(struct mos4_msg *m)
{
    m->kept = false;
    if (m->busy == 0)
        cg__mos4_msg_free(m);
}

static void unbusy(struct mos4_msg *m)
{
    if (--m->busy == 0 && !m->kept)
        cg__mos4_msg_free(m);
}

static void free_pending(struct mos4_pending *p)
{
    free(p->elem);
    cg__spare_give(p->wire, p->wcap);
    free(p);
}

/* ---- the core of a peer-channel ---- */

struct cg_flow *cg__mos4_flow(struct mos4_lane *l)
{
    struct mos4_peer *p = l->peer;
    struct cg_flow *f = &p->flow[l->ch];
    if (p->flow_on[l->ch])
        return f;
    const struct cg_mos_endpoint_config *c = &p->ep->cfg;
    struct cg_flow_config fc = {
        .ch = l->ch, .my_id = cg__mos4_mos_id(l), .peer_id = cg__mos4_ncs_id(l),
        .ack_timeout_ms = c->ack_timeout_ms != 0 ? c->ack_timeout_ms : 60000,
        .retries = c->retries,
        .keepalive_ms = p->legacy ? 0 : c->keepalive_ms, /* M-09: never to a 2.x peer */
        .max_queue = c->max_queue != 0 ? c->max_queue : 1, .max_held = CG_MOS4_MAX_HELD,
        .id_block = CG_MOS4_MSGID_BLOCK,
        .record = c->state_dir != NULL, .journal = c->journal, .redeliver = c->redeliver,
        .deliver_heartbeats = c->deliver_heartbeats,
        .one_socket = false, /* a 2.x peer's answers come on the socket we sent on */
        .reused = c->reused_id == CG_MOS_REUSED_NACK ? CG_FLOW_REUSED_NACK : CG_FLOW_REUSED_DELIVER,
        .answer_memory = c->answer_memory,
    };
    cg__flow_init(f, &fc, cg__mos4_msgid_start(l)); /* cannot fail: the values are in range */
    p->flow_on[l->ch] = true;
    for (int d = 0; d < 2; d++) /* lanes that came up before (unit fixtures) */
        if (p->lanes[l->ch][d].up)
            cg__flow_lane_up(f, cg__now_ms(), d == CG_MOS_OUT ? CG_FLOW_OUT : CG_FLOW_IN);
    return f;
}

const struct cg_flow_out_req *cg__mos4_inflight(struct mos4_lane *l)
{
    const struct cg_flow *f = cg__mos4_flow(l);
    return f->out_state == CG_FLOW_OUT_WAIT ? &f->queue[f->qhead] : NULL;
}

/* ---- actions ---- */

static void on_ack_timer(uv_timer_t *t) { cg__mos4_flow_timer(LANE_OF(t, ack_timer), CG_FLOW_T_ACK); }

static void arm(struct mos4_peer *p, int ch, enum cg_flow_timer t, uint64_t at)
{
    uint64_t now = cg__now_ms(), in = at > now ? at - now : 0;
    if (t == CG_FLOW_T_ACK)
        uv_timer_start(&p->lanes[ch][CG_MOS_OUT].ack_timer, on_ack_timer, in, 0);
    else
        uv_timer_start(&p->lanes[ch][t == CG_FLOW_T_IDLE_OUT ? CG_MOS_OUT : CG_MOS_IN].idle_timer,
                       cg__mos4_on_idle, in, 0);
}

static void disarm(struct mos4_peer *p, int ch, enum cg_flow_timer t)
{
    if (t == CG_FLOW_T_ACK)
        uv_timer_stop(&p->lanes[ch][CG_MOS_OUT].ack_timer);
    else
        uv_timer_stop(&p->lanes[ch][t == CG_FLOW_T_IDLE_OUT ? CG_MOS_OUT : CG_MOS_IN].idle_timer);
}

static void send_request(struct mos4_lane *l, const struct cg_flow_act *a)
{
    const struct mos4_pending *p = pending_of(a->ref);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    enum cg_err rc = p->wire != NULL ? CG_OK : cg__mos4_wrap(l, p->elem, p->len, a->msgid, &b);
    if (rc == CG_OK) /* a forward was wrapped once, when queued, under its own messageID */
        rc = p->wire != NULL ? cg__mos4_lane_write(l, (const char *)p->wire, p->wlen)
                             : cg__mos4_lane_write(l, (const char *)b.data, b.len);
    cg__buf_free(&b);
    if (rc != CG_OK)
        lane_log(l, CG_LOG_WARN, "sending <%s> failed: %s", p->name, cg_strerror(rc));
}

static enum cg_err ack_element(int ch, bool ok, const char *description, struct cg_buf *b);

static void write_ack(struct mos4_lane *l, bool ok, const char *msgid, const char *why)
{
    struct cg_buf b, w;
    cg__buf_init(&b, 0);
    cg__buf_init(&w, 0);
    if (ack_element(l->ch, ok, why, &b) == CG_OK &&
        cg__mos4_wrap(l, (const char *)b.data, b.len, id_or_null(msgid), &w) == CG_OK &&
        !cg__mos4_gate_hold(l, (const char *)w.data, w.len)) /* a pair's answer gate */
        cg__mos4_lane_write(l, (const char *)w.data, w.len);
    cg__buf_free(&b);
    cg__buf_free(&w);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* M-10: the answer to a heartbeat, in the configured time form. */
static void send_heartbeat(struct mos4_lane *l, const char *msgid)
{
    uint8_t *hb = NULL;
    size_t n = 0;
    if (cg_mos_build_heartbeat_form(CG_MOS_UTF8, cg__mos4_mos_id(l), cg__mos4_ncs_id(l),
                                    id_or_null(msgid), wall_ms(), l->peer->ep->cfg.heartbeat_form,
                                    &hb, &n) == CG_OK)
        cg__mos4_lane_write(l, (const char *)hb, n);
    cg_mos_free(hb);
}

static void send_keepalive(struct mos4_lane *l)
{
    uint8_t *ka = NULL;
    size_t n = 0;
    if (cg_mos_build_keepalive(CG_MOS_UTF8, cg__mos4_mos_id(l), cg__mos4_ncs_id(l), &ka, &n) ==
        CG_OK)
        cg__mos4_lane_write(l, (const char *)ka, n);
    cg_mos_free(ka);
}

static const char default_mach_info[] =
    "<listMachInfo><manufacturer>castgate</manufacturer><model>castgate</model><hwRev/>"
    "<swRev>0.1.0</swRev><DOM/><SN/><ID/><time/><opTime/><mosRev>4.0</mosRev></listMachInfo>";

static void hand_over(struct mos4_lane *l, struct cg_mos_request *req,
                      const struct cg_mos_message *m)
{
    struct cg_mos_endpoint *ep = l->peer->ep;
    if (ep->h.on_request != NULL)
        ep->h.on_request(ep->user, req, m);
    else if (strcmp(req->name, "reqMachInfo") == 0)
        cg_mos_reply(req, default_mach_info, strlen(default_mach_info));
    else
        cg_mos_reply_ack(req, true, NULL);
}

#define UNDELIVERED "castgate: out of memory, the request was not delivered"

/* The request could not be handed to the application (no memory for its
 * handle): the sender gets a NACK as its answer, journaled and remembered
 * like any answer (M-22: a repeat gets the same), and the lane moves on to
 * the next request. Without memory even for that NACK, the core refuses it
 * (a NACK from write_ack), closes its record and forgets it, so a repeat is
 * delivered (also after a restart). */
static void refuse_undelivered(struct mos4_lane *l, const struct cg_flow_act *a)
{
    lane_log(l, CG_LOG_ERROR, "out of memory: messageID %s not delivered: refused with a NACK",
             a->msgid);
    struct cg_flow *f = cg__mos4_flow(l);
    struct cg_buf b, w;
    cg__buf_init(&b, 0);
    cg__buf_init(&w, 0);
    struct mos4_msg *ans = NULL;
    if (ack_element(l->ch, false, UNDELIVERED, &b) == CG_OK &&
        cg__mos4_wrap(l, (const char *)b.data, b.len, id_or_null(a->msgid), &w) == CG_OK)
        ans = calloc(1, sizeof(*ans));
    cg__buf_free(&b);
    if (ans == NULL) {
        cg__buf_free(&w);
        cg__flow_app_refuse(f, cg__now_ms(), a->token, "out of memory");
        return;
    }
    cg__buf_fit(&w); /* held in the M-22 memory: its bytes count, so its heap must be them */
    *ans = (struct mos4_msg){.own = (char *)w.data, .xml = (const char *)w.data, .len = w.len,
                             .enc = cg__mos4_enc_of(w.data, w.len), .kept = true};
    if (cg__flow_app_answer_sized(f, cg__now_ms(), a->token, ref_of(ans), ans->len) != CG_OK)
        cg__mos4_msg_free(ans);
}

/* DELIVER: the request to the application (a held or replayed one has its
 * envelope read again: it was checked when it arrived). */
static void deliver(struct mos4_lane *l, const struct cg_flow_act *a)
{
    struct mos4_msg *m = msg_of(a->ref);
    struct cg_mos_request *req = calloc(1, sizeof(*req));
    if (req == NULL) {
        refuse_undelivered(l, a);
        return;
    }
    struct cg_mos_envelope own;
    const struct cg_mos_envelope *env = m->env;
    if (env == NULL && cg_mos_envelope_parse(m->enc, m->xml, m->len, &own, NULL) == CG_OK)
        env = &own;
    *req = (struct cg_mos_request){.lane = l, .token = a->token, .has_msgid = a->msgid[0] != '\0'};
    cg__str_copy(req->msgid, sizeof(req->msgid), a->msgid);
    cg__str_copy(req->name, sizeof(req->name), env != NULL ? env->name : "?");
    memcpy(req->digest, a->digest, CG_MOS4_DIGEST);
    req->jmark = m->jmark; /* its journal record's place, for compaction */
    if (l->jfd >= 0 && l->peer->ep->cfg.journal) { /* compaction (without the option: its ID) */
        if ((req->wire = malloc(m->len > 0 ? m->len : 1)) == NULL) {
            free(req); /* not delivered: a compaction would drop it from the journal */
            refuse_undelivered(l, a);
            return;
        }
        memcpy(req->wire, m->xml, m->len);
        req->wlen = m->len;
    }
    l->current = req;
    if (env == NULL) {
        cg_mos_reply_ack(req, false, "castgate: the request could not be kept (out of memory)");
        return;
    }
    struct cg_mos_message mm = {.peer_id = l->peer->id, .channel = cg__mos4_ch_bit(l->ch),
                                .env = env, .xml = m->xml, .len = m->len, .enc = m->enc,
                                .repeat = a->repeat, .validated = l->peer->ep->cfg.validate};
    m->busy++; /* the application may answer at once: the bytes stay until it returns */
    hand_over(l, req, &mm);
    unbusy(m);
}

/* COMPLETE: the sender hears the outcome. An answer that was not a MOS
 * message (issue 20 item 1) reaches it as a NACK made here, with its text. */
static void complete(struct mos4_lane *l, const struct cg_flow_act *a)
{
    struct mos4_pending *p = pending_of(a->ref);
    const struct mos4_msg *ans = a->answer != 0 ? msg_of(a->answer) : NULL;
    struct cg_mos_message m = {.peer_id = l->peer->id, .channel = cg__mos4_ch_bit(l->ch),
                               .validated = l->peer->ep->cfg.validate};
    struct cg_mos_envelope env;
    struct cg_buf b, w;
    cg__buf_init(&b, 0);
    cg__buf_init(&w, 0);
    if (ans != NULL && ans->env != NULL) {
        m.env = ans->env;
        m.xml = ans->xml;
        m.len = ans->len;
        m.enc = ans->enc;
    } else if (a->status == CG_ENACK && ack_element(l->ch, false, a->text, &b) == CG_OK &&
               cg__mos4_wrap(l, (const char *)b.data, b.len, a->msgid, &w) == CG_OK &&
               cg_mos_envelope_parse(CG_MOS_UTF8, w.data, w.len, &env, NULL) == CG_OK) {
        m.env = &env;
        m.xml = (const char *)w.data;
        m.len = w.len;
        m.enc = CG_MOS_UTF8; /* made here */
        m.validated = false;
    }
    if (p->cb != NULL)
        p->cb(p->user, a->status, m.env != NULL ? &m : NULL);
    free_pending(p);
    cg__buf_free(&b);
    cg__buf_free(&w);
}

/* JOURNAL_REQUEST: appended, and the outcome told at once (issue 12 item 8). */
static void journal_request(struct mos4_lane *l, const struct cg_flow_act *a)
{
    struct mos4_msg *m = msg_of(a->ref);
    errno = 0;
    bool ok = cg__mos4_journal_request(l, id_or_null(a->msgid), a->digest, m->xml, m->len);
    if (ok)
        m->jmark = l->jlast; /* its record's number: a compaction keeps it */
    const char *why = ok ? NULL : strerror(errno != 0 ? errno : EIO);
    cg__flow_journal_result(cg__mos4_flow(l), cg__now_ms(), ok, why);
}

/* JOURNAL_ANSWER: the answer's bytes; answer 0: answered, the answer let go
 * of by the memory's budget (a record without bytes, journal.c
 * replay_record), or with .forget a request refused without memory even for
 * a NACK: its record closed and its ID forgotten (an F record). */
static void journal_answer(struct mos4_lane *l, const struct cg_flow_act *a)
{
    if (a->answer == 0 && a->forget) {
        cg__mos4_journal_forget(l, id_or_null(a->msgid), a->digest);
        return;
    }
    struct mos4_msg *m = a->answer != 0 ? msg_of(a->answer) : NULL;
    errno = 0;
    bool ok = cg__mos4_journal_answer(l, id_or_null(a->msgid), a->digest, m != NULL ? m->xml : "",
                                      m != NULL ? m->len : 0);
    if (ok && m != NULL)
        m->jmark = l->jlast;
    /* not on disk: not sent as if it were (the core withdraws its SEND_ANSWER; a repeat asks
       again, M-22) */
    cg__flow_answer_recorded(cg__mos4_flow(l), cg__now_ms(), a, ok,
                             ok ? NULL : strerror(errno != 0 ? errno : EIO));
}

static bool closing(const struct mos4_peer *p) { return p->ep->freeing || p->removed; }

/* The endpoint or the peer is going away (possibly from a callback inside a
 * drain): nothing is written or delivered any more; sends still complete
 * and messages are kept or freed as the core says, so what it holds stays
 * what cg__mos4_flow_free frees. */
static void act_closing(struct mos4_lane *l, const struct cg_flow_act *a)
{
    switch (a->kind) {
    case CG_FLOW_A_COMPLETE: complete(l, a); break;
    case CG_FLOW_A_KEEP: keep(msg_of(a->ref)); break;
    case CG_FLOW_A_RELEASE: release(msg_of(a->ref)); break;
    case CG_FLOW_A_JOURNAL_REQUEST:
        cg__flow_journal_result(cg__mos4_flow(l), cg__now_ms(), false, "the endpoint is closing");
        break;
    default: break;
    }
}

static void act(struct mos4_lane *from, const struct cg_flow_act *a)
{
    struct mos4_peer *p = from->peer;
    int ch = from->ch;
    struct mos4_lane *l = a->dir == flow_dir(from) ? from
                                                   : &p->lanes[ch][a->dir == CG_FLOW_OUT ? CG_MOS_OUT
                                                                                         : CG_MOS_IN];
    if (closing(p)) {
        act_closing(l, a);
        return;
    }
    switch (a->kind) {
    case CG_FLOW_A_SEND_REQUEST: send_request(l, a); break;
    case CG_FLOW_A_SEND_ANSWER:
        if (!cg__mos4_gate_hold(l, msg_of(a->answer)->xml, msg_of(a->answer)->len))
            cg__mos4_lane_write(l, msg_of(a->answer)->xml, msg_of(a->answer)->len);
        break;
    case CG_FLOW_A_SEND_NACK: write_ack(l, false, a->msgid, a->text); break;
    case CG_FLOW_A_SEND_ACK: write_ack(l, true, a->msgid, NULL); break;
    case CG_FLOW_A_SEND_HEARTBEAT: send_heartbeat(l, a->msgid); break;
    case CG_FLOW_A_SEND_KEEPALIVE: send_keepalive(l); break;
    case CG_FLOW_A_DELIVER: deliver(l, a); break;
    case CG_FLOW_A_COMPLETE: complete(l, a); break;
    case CG_FLOW_A_JOURNAL_REQUEST: journal_request(l, a); break;
    case CG_FLOW_A_JOURNAL_ANSWER: journal_answer(l, a); break;
    case CG_FLOW_A_KEEP: keep(msg_of(a->ref)); break;
    case CG_FLOW_A_RELEASE: release(msg_of(a->ref)); break;
    case CG_FLOW_A_RESERVE_IDS: cg__mos4_msgid_reserve(l, a->id_mark); break;
    case CG_FLOW_A_ARM: arm(p, ch, a->timer, a->at_ms); break;
    case CG_FLOW_A_DISARM: disarm(p, ch, a->timer); break;
    case CG_FLOW_A_LOG: lane_log(l, a->level, "%s", a->text); break;
    }
}

/* Every action, in order. An action may call the application, which may
 * cause another event and drain from there: the queue is one FIFO, so the
 * order holds whoever drains it. */
void cg__mos4_flow_apply(struct mos4_lane *l)
{
    struct mos4_peer *p = l->peer;
    struct cg_flow *f = cg__mos4_flow(l);
    struct cg_flow_act a;
    p->flow_depth[l->ch]++;
    while (cg__flow_action(f, &a))
        act(l, &a);
    if (--p->flow_depth[l->ch] == 0 && !closing(p)) /* memory and adapter agree now */
        cg__mos4_journal_settle(l->dir == CG_MOS_IN ? l : &p->lanes[l->ch][CG_MOS_IN]);
}

/* ---- refusals before the core ---- */

/* The channel's acknowledgement element: roAck on ro (roStatus OK, or the
 * reason), mosAck on mom/aux (ACK or NACK with statusDescription). The
 * description is cut at ACK_DESC_MAX bytes on a character boundary. */
#define ACK_DESC_MAX 255
static enum cg_err ack_element(int ch, bool ok, const char *description, struct cg_buf *b)
{
    char desc[ACK_DESC_MAX + 1];
    size_t n = description != NULL ? strlen(description) : 0;
    if (n > ACK_DESC_MAX) {
        n = ACK_DESC_MAX;
        while (n > 0 && ((unsigned char)description[n] & 0xC0) == 0x80)
            n--; /* never split a UTF-8 sequence */
    }
    snprintf(desc, sizeof(desc), "%.*s", (int)n, n > 0 ? description : "");
    if (ch == 1) {
        CG_GUARD(cg__buf_printf(b, "<roAck><roID/><roStatus>"));
        CG_GUARD(ok ? cg__buf_printf(b, "OK") : desc[0] ? cg__mos_xml_escape(b, desc)
                                                        : cg__buf_printf(b, "NACK"));
        return cg__buf_printf(b, "</roStatus></roAck>");
    }
    CG_GUARD(cg__buf_printf(b, "<mosAck><objID/><objRev>0</objRev><status>%s</status>"
                               "<statusDescription>", ok ? "ACK" : "NACK"));
    CG_GUARD(cg__mos_xml_escape(b, desc));
    return cg__buf_printf(b, "</statusDescription></mosAck>");
}


void cg__mos4_nack_invalid(struct mos4_lane *l, const char *msgid, const char *why)
{
    if (l->dir != CG_MOS_IN)
        return;
    write_ack(l, false, msgid != NULL ? msgid : "", why);
}

/* ---- validation (issue 13 item 5): the bounded pre-scan on the loop, then
 * libxml2 — on the loop for small messages, on the context's low-priority
 * threads (core/bgpool.c: nice 10; the loop wins the CPU over them) for
 * large ones. While a lane's message is on the pool, later
 * messages on that lane wait (in order) and other lanes go on. ---- */

struct mos4_vjob {
    struct cg_bgjob bg; /* first: the pool hands this back */
    struct mos4_lane *lane; /* NULL once the lane is gone: the job only frees itself */
    enum cg_err rc;
    struct cg_mos_scan_limits limits; /* the endpoint's, for the pre-scan */
    bool prescan;                     /* CHECK_ALL: the pre-scan too */
    struct cg__mos_verdict verdict;
    bool has_digest; /* IN: the element's digest, made on the loop while the pool checks */
    uint8_t digest[CG_MOS4_DIGEST];
    enum cg_mos_encoding enc;
    size_t len, cap; /* cap: the job's allocation, this struct included */
    char xml[]; /* a copy, in enc */
};

struct mos4_vwait { /* a message that arrived while one was being validated */
    struct mos4_vwait *next;
    bool binary;
    size_t len;
    uint8_t data[];
};

#define VWAIT_MAX 64                /* messages */
#define VWAIT_MAX_BYTES (64u << 20) /* and bytes waiting behind one validation */

enum check {
    CHECK_NONE, /* checked already (on the thread pool) */
    CHECK_XML,  /* the pre-scan ran on the wire bytes: libxml2 only */
    CHECK_ALL   /* the pre-scan, then libxml2 */
};

static void take(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                 enum check check);
static void receive(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len);

static void refuse_invalid(struct mos4_lane *l, const struct cg_mos_envelope *env, enum cg_err rc)
{
    lane_log(l, CG_LOG_WARN, "<%s> is not well-formed XML: refused (%s)", env->name,
             cg_strerror(rc));
    cg__mos4_nack_invalid(l, env->message_id, "message is not well-formed XML");
}

static bool verdict_ok(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                       const struct cg_mos_envelope *env, enum cg_err rc,
                       const struct cg__mos_verdict *v);

/* A job's memory: from the blocks kept for large messages (spare.c) when
 * one is there, given back to them when the job is done. */
static struct mos4_vjob *vjob_alloc(size_t len)
{
    size_t cap = 0;
    struct mos4_vjob *j = cg__spare_take(sizeof(*j) + len + 1, &cap);
    if (j == NULL) {
        cap = sizeof(*j) + len + 1;
        j = malloc(cap);
    }
    if (j != NULL)
        j->cap = cap;
    return j;
}

static void vjob_release(struct mos4_vjob *j) { cg__spare_give(j, j->cap); }

static void vjob_work(struct cg_bgjob *w)
{
    struct mos4_vjob *j = (struct mos4_vjob *)w;
    j->rc = cg__mos_check_fresh(j->enc, j->xml, j->len, &j->limits, j->prescan, &j->verdict);
}

/* Messages that waited behind a validation, in order, until another one
 * goes to the pool. */
static void vwait_drain(struct mos4_lane *l)
{
    while (l->vjob == NULL && l->vwait_head != NULL) {
        struct mos4_vwait *v = l->vwait_head;
        l->vwait_head = v->next;
        if (l->vwait_head == NULL)
            l->vwait_tail = NULL;
        l->nvwait--;
        l->vwait_bytes -= v->len;
        receive(l, v->binary, v->data, v->len);
        free(v);
    }
}

static void vjob_after(struct cg_bgjob *w, enum cg_err status)
{
    struct mos4_vjob *j = (struct mos4_vjob *)w;
    struct mos4_lane *l = j->lane;
    if (l != NULL) {
        l->vjob = NULL;
        struct cg_mos_envelope env;
        if (status != CG_OK) {
            if (cg_mos_envelope_parse(j->enc, j->xml, j->len, &env, NULL) == CG_OK)
                refuse_invalid(l, &env, CG_ECLOSED);
        } else if (j->rc != CG_OK) {
            bool whole = cg_mos_envelope_parse(j->enc, j->xml, j->len, &env, NULL) == CG_OK;
            if (whole || j->verdict.refused)
                verdict_ok(l, j->enc, j->xml, j->len, whole ? &env : NULL, j->rc, &j->verdict);
        } else {
            l->vdigest_set = j->has_digest;
            memcpy(l->vdigest, j->digest, sizeof(l->vdigest));
            take(l, j->enc, j->xml, j->len, CHECK_NONE);
            l->vdigest_set = false;
        }
        vjob_release(j); /* first: a message waiting may go to the pool in it */
        vwait_drain(l);
        return;
    }
    vjob_release(j);
}

#define SCAN_HEAD_BYTES 1024u /* past a refusal: where its element's name ends */

/* A message the bounded pre-scan refused at byte at, for why: the sender
 * gets a NACK with the reason. env: the envelope if known (else read here,
 * from the head only, for the messageID and name). */
static void refuse_scanned(struct mos4_lane *l, enum cg_mos_encoding enc, const void *msg,
                           size_t len, const struct cg_mos_envelope *env, uint64_t at,
                           const char *why)
{
    /* The head only, up to just past the refused markup: a whole parse of a
     * 6 MB attack (its 200,000-attribute tag) cost one loop turn ~3 ms. */
    struct cg_mos_envelope own;
    size_t head = len - at > SCAN_HEAD_BYTES ? (size_t)at + SCAN_HEAD_BYTES : len;
    if (env == NULL && cg__mos_envelope_head(enc, msg, head, &own) == CG_OK)
        env = &own;
    char nack[160];
    lane_log(l, CG_LOG_WARN, "<%s> refused before parsing: %s (byte %llu of %zu)",
             env != NULL && env->name[0] != '\0' ? env->name : "?", why, (unsigned long long)at,
             len);
    snprintf(nack, sizeof(nack), "message refused: %s", why);
    cg__mos4_nack_invalid(l, env != NULL ? env->message_id : NULL, nack);
}

/* The bounded pre-scan on the message's own bytes (before a conversion, which
 * for a 6 MB attack costs more than the scan). False if refused: then the
 * sender gets a NACK with the reason. env: the envelope if known (else read
 * here, for the messageID and name). */
static bool scan_ok(struct mos4_lane *l, enum cg_mos_encoding enc, const void *msg, size_t len,
                    const struct cg_mos_envelope *env)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    uint64_t at = 0;
    const char *why = NULL;
    if (cg_mos_scan(enc, msg, len, &ep->cfg.xml, &at, &why) == CG_OK)
        return true;
    refuse_scanned(l, enc, msg, len, env, at, why);
    return false;
}

/* The check's verdict on a message (cg__mos_check_fresh): true if it may go on. */
static bool verdict_ok(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                       const struct cg_mos_envelope *env, enum cg_err rc,
                       const struct cg__mos_verdict *v)
{
    if (rc == CG_OK)
        return true;
    if (v->refused)
        refuse_scanned(l, enc, xml, len, env, v->at, v->why);
    else
        refuse_invalid(l, env, rc);
    return false;
}

/* Validates a fresh message: the pre-scan (CHECK_ALL) and the
 * well-formedness check, in one pass where it passes
 * (cg__mos_check_fresh). Returns true if it may go on now; false if it was
 * refused (and NACKed) or went to the thread pool (it goes on from
 * vjob_after). */
static bool validated(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                      const struct cg_mos_envelope *env, enum check check)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    if (!ep->cfg.validate || check == CHECK_NONE)
        return true;
    if (len > ep->cfg.async_validate) {
        struct mos4_vjob *j = vjob_alloc(len);
        if (j != NULL) {
            memcpy(j->xml, xml, len);
            j->xml[len] = '\0';
            j->len = len;
            j->enc = enc;
            j->lane = l;
            j->limits = ep->cfg.xml;
            j->prescan = check == CHECK_ALL;
            j->has_digest = false;
            if (cg__bg_queue(ep->ctx, &j->bg, vjob_work, vjob_after) == CG_OK) {
                l->vjob = j;
                /* the digest take needs once it is checked, made now, while the
                 * pool checks (the loop would wait for it after; the pool never
                 * reads these two fields, vjob_after runs on this thread) */
                if (l->dir == CG_MOS_IN) {
                    cg__mos4_digest(xml + env->element.off, env->element.len, j->digest);
                    j->has_digest = true;
                }
                return false;
            }
            vjob_release(j);
        }
        /* no memory or no pool: check it here rather than not at all */
    }
    struct cg__mos_verdict v;
    enum cg_err rc = cg__mos_check_fresh(enc, xml, len, &ep->cfg.xml, check == CHECK_ALL, &v);
    return verdict_ok(l, enc, xml, len, env, rc, &v);
}

/* A message arrived while one on this lane is being validated: it waits. */
static void vwait_push(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len)
{
    struct mos4_vwait *v = NULL;
    if (l->nvwait < VWAIT_MAX && l->vwait_bytes + len <= VWAIT_MAX_BYTES)
        v = malloc(sizeof(*v) + len);
    if (v == NULL) {
        lane_log(l, CG_LOG_WARN, "%zu messages already wait for a validation: refused",
                 l->nvwait);
        cg__mos4_nack_invalid(l, NULL, "too many messages waiting: try again");
        return;
    }
    memcpy(v->data, data, len);
    v->binary = binary;
    v->len = len;
    v->next = NULL;
    if (l->vwait_tail != NULL)
        l->vwait_tail->next = v;
    else
        l->vwait_head = v;
    l->vwait_tail = v;
    l->nvwait++;
    l->vwait_bytes += len;
}

/* The lane goes away: a job on the pool forgets it, waiting messages go.
 * cg_mos_endpoint_free reaches here for every lane (cg__mos4_lane_close), so
 * a job still on the pool then only frees itself when it comes back (its
 * xml is its own copy; cg_ctx_free runs the loop until it has):
 * tests/unit/test_mos4_vjob_free.c. */
static void vjob_forget(struct mos4_lane *l)
{
    if (l->vjob != NULL)
        l->vjob->lane = NULL;
    l->vjob = NULL;
    while (l->vwait_head != NULL) {
        struct mos4_vwait *v = l->vwait_head;
        l->vwait_head = v->next;
        free(v);
    }
    l->vwait_tail = NULL;
    l->nvwait = 0;
    l->vwait_bytes = 0;
}


/* ---- events ---- */

uint32_t cg__mos4_next_msgid(struct mos4_lane *l)
{
    uint32_t id = cg__flow_take_id(cg__mos4_flow(l));
    cg__mos4_flow_apply(l); /* the reservation, on disk before the ID is used */
    return id;
}

void cg__mos4_flow_up(struct mos4_lane *l)
{
    cg__flow_lane_up(cg__mos4_flow(l), cg__now_ms(), flow_dir(l));
    cg__mos4_flow_apply(l);
}

void cg__mos4_flow_down(struct mos4_lane *l)
{
    cg__flow_lane_down(cg__mos4_flow(l), cg__now_ms(), flow_dir(l));
    cg__mos4_flow_apply(l);
}

void cg__mos4_flow_timer(struct mos4_lane *l, enum cg_flow_timer t)
{
    cg__flow_timer(cg__mos4_flow(l), cg__now_ms(), t);
    cg__mos4_flow_apply(l);
}

void cg__mos4_replay(struct mos4_lane *l)
{
    cg__flow_replay_done(cg__mos4_flow(l), cg__now_ms());
    cg__mos4_flow_apply(l);
}

/* Not one MOS message: on OUT the answer to the request in flight (a NACK
 * with its text, issue 20 item 1), on IN refused. The text is read as
 * UTF-8, whatever encoding the bytes came in. */
static void unreadable(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                       const char *detail)
{
    char text[200], shown[700];
    uint8_t *utf8 = NULL;
    size_t n = 0;
    if (enc == CG_MOS_UTF8)
        cg__mos4_answer_text(xml, len, text, sizeof(text));
    else if (cg_mos_convert(enc, xml, len, &utf8, &n, NULL) == CG_OK)
        cg__mos4_answer_text((const char *)utf8, n, text, sizeof(text));
    else
        text[0] = '\0';
    cg_mos_free(utf8);
    cg__log_escape(shown, sizeof(shown), text, strlen(text));
    lane_log(l, CG_LOG_DEBUG, "not one MOS message (%s)", detail != NULL ? detail : "?");
    cg__flow_unreadable(cg__mos4_flow(l), cg__now_ms(), flow_dir(l), shown);
    cg__mos4_flow_apply(l);
}

/* A UCS-2BE message the endpoint reads as UTF-8 (its application asked for
 * UTF-8: cg_mos_endpoint_config_set_wire_messages off): pre-scanned on its
 * own bytes, then converted once. */
static void take_as_utf8(struct mos4_lane *l, const char *data, size_t len, enum check check)
{
    if (check == CHECK_ALL && l->peer->ep->cfg.validate &&
        !scan_ok(l, CG_MOS_UCS2BE, data, len, NULL))
        return;
    uint8_t *utf8 = NULL;
    size_t n = 0;
    uint64_t off = 0;
    if (cg_mos_convert(CG_MOS_UCS2BE, data, len, &utf8, &n, &off) != CG_OK) {
        char at[32];
        snprintf(at, sizeof(at), "%llu", (unsigned long long)off);
        lane_log(l, CG_LOG_WARN, "binary message is not UCS-2BE (byte %s): refused", at);
        cg__mos4_nack_invalid(l, NULL, "message is not valid UCS-2BE");
        return;
    }
    take(l, CG_MOS_UTF8, (const char *)utf8, n, check == CHECK_ALL ? CHECK_XML : check);
    cg_mos_free(utf8);
}

/* A message not read before: the bytes must be UTF-16 (M-04) before their
 * envelope is read in place. The full conversion that used to check this is
 * gone (issue 13 item 4): this pass only reads. */
static bool wire_ok(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len)
{
    uint64_t off = 0;
    if (enc != CG_MOS_UCS2BE || cg__mos_utf16_check(xml, len, &off) == CG_OK)
        return true;
    lane_log(l, CG_LOG_WARN, "binary message is not UCS-2BE (byte %llu): refused",
             (unsigned long long)off);
    cg__mos4_nack_invalid(l, NULL, "message is not valid UCS-2BE");
    return false;
}

/* One message (xml, len in enc), decoded and checked: its envelope parsed
 * once, in place, in the message's own encoding (issue 13 item 4), its
 * digest (IN) or whether it refuses (OUT), then to the core. */
static void take(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                 enum check check)
{
    if (enc != CG_MOS_UTF8 && !l->peer->ep->cfg.wire_messages) {
        take_as_utf8(l, xml, len, check);
        return;
    }
    if (check != CHECK_NONE && !wire_ok(l, enc, xml, len))
        return;
    struct cg_mos_envelope env;
    const char *detail = NULL;
    if (cg_mos_envelope_parse(enc, xml, len, &env, &detail) != CG_OK) {
        unreadable(l, enc, xml, len, detail);
        return;
    }
    if (!validated(l, enc, xml, len, &env, check))
        return;
    struct mos4_msg *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        lane_log(l, CG_LOG_ERROR, "out of memory: <%s> dropped", env.name);
        return;
    }
    *m = (struct mos4_msg){.xml = xml, .len = len, .enc = enc, .env = &env, .busy = 1};
    struct cg_flow_msg fm = {.env = &env, .ref = ref_of(m)};
    if (l->dir == CG_MOS_IN && l->vdigest_set) /* made while the pool checked it */
        memcpy(fm.digest, l->vdigest, sizeof(fm.digest));
    else if (l->dir == CG_MOS_IN)
        cg__mos4_digest(xml + env.element.off, env.element.len, fm.digest);
    else
        fm.nack = cg__mos4_is_nack(env.name, xml, len);
    l->vdigest_set = false;
    cg__flow_received(cg__mos4_flow(l), cg__now_ms(), flow_dir(l), &fm);
    cg__mos4_flow_apply(l);
    m->env = NULL;
    unbusy(m);
}

void cg__mos4_refuse_head(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len)
{
    if (!scan_ok(l, binary ? CG_MOS_UCS2BE : CG_MOS_UTF8, data, len, NULL))
        return; /* refused with its reason, the NACK from the envelope's head */
    lane_log(l, CG_LOG_WARN, "a message refused by the framer passed the pre-scan: refused");
    cg__mos4_nack_invalid(l, NULL, "message refused: too many attributes on one element");
}

void cg__mos4_on_message(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len)
{
    cg__flow_traffic(cg__mos4_flow(l), cg__now_ms(), flow_dir(l), false);
    if (l->vjob != NULL || l->vwait_head != NULL) /* per-lane order */
        vwait_push(l, binary, data, len);
    else
        receive(l, binary, data, len);
}

/* M-04: a text frame is UTF-8 (checked by the WebSocket layer), a binary one
 * (and a UCS-2BE legacy peer's message) UCS-2BE: taken as it came. */
static void receive(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len)
{
    take(l, binary ? CG_MOS_UCS2BE : CG_MOS_UTF8, (const char *)data, len, CHECK_ALL);
}

/* ---- answering ---- */

static enum cg_err reply_wire(struct cg_mos_request *req, struct cg_buf b);

enum cg_err cg_mos_reply(struct cg_mos_request *req, const char *xml, size_t len)
{
    CG_CHECK(req != NULL && xml != NULL, CG_EINVAL);
    struct mos4_lane *l = req->lane;
    const char *elem;
    size_t elen;
    char name[64];
    CG_GUARD(cg__mos4_element(xml, len, &elem, &elen, name, sizeof(name)));
    struct cg_buf b;
    cg__buf_init(&b, l->peer->ep->cfg.max_message);
    enum cg_err rc = cg__mos4_wrap(l, elem, elen, req->has_msgid ? req->msgid : NULL, &b);
    if (rc != CG_OK) {
        cg__buf_free(&b);
        return rc;
    }
    return reply_wire(req, b);
}

enum cg_err cg_mos_reply_message(struct cg_mos_request *req, const struct cg_mos_message *answer)
{
    CG_CHECK(req != NULL && answer != NULL && answer->env != NULL && answer->xml != NULL,
             CG_EINVAL);
    const struct cg_mos_span *e = &answer->env->element;
    CG_CHECK(e->len > 0 && e->off <= answer->len && e->len <= answer->len - e->off, CG_EINVAL);
    /* the element begins with '<': 3C in UTF-8, 00 3C in UCS-2BE; enc must say which */
    CG_CHECK(cg__mos4_enc_of(answer->xml + e->off, e->len) == answer->enc, CG_EINVAL);
    struct mos4_lane *l = req->lane;
    struct cg_buf b;
    cg__buf_init(&b, l->peer->ep->cfg.max_message);
    enum cg_err rc = cg__mos4_wrap_enc(l, cg__mos4_lane_enc(l), answer->enc,
                                       answer->xml + e->off, e->len,
                                       req->has_msgid ? req->msgid : NULL, &b);
    if (rc != CG_OK) {
        cg__buf_free(&b);
        return rc;
    }
    return reply_wire(req, b);
}

/* The answer b (our envelope, in any encoding) goes to the core, which
 * journals, sends and remembers it; b is consumed, req freed. */
static enum cg_err reply_wire(struct cg_mos_request *req, struct cg_buf b)
{
    struct mos4_lane *l = req->lane;
    struct mos4_msg *ans = calloc(1, sizeof(*ans));
    if (ans == NULL) {
        cg__buf_free(&b);
        return CG_ENOMEM;
    }
    /* The M-22 memory keeps it and its budget (answer_memory) counts its
     * bytes: the buffer it was built in, reserved for the whole element and
     * grown by doubling, is given back down to them (issue 19: 50 MB of
     * answers held took 75-78 MB of heap in the soak, and swung with the
     * mix of sizes). */
    cg__buf_fit(&b);
    *ans = (struct mos4_msg){.own = (char *)b.data, .xml = (const char *)b.data, .len = b.len,
                             .enc = cg__mos4_enc_of(b.data, b.len),
                             .kept = true}; /* the buffer is the answer's now */
    if (l->current == req) /* before the journal's compaction reads what is open */
        l->current = NULL;
    if (req->given_up) { /* cg_mos_endpoint_abandon_in: its sender is gone; the core refuses it */
        struct cg_mos_request **pp = &l->abandoned;
        while (*pp != NULL && *pp != req)
            pp = &(*pp)->next_abandoned;
        if (*pp == req)
            *pp = req->next_abandoned;
    }
    enum cg_err rc = cg__flow_app_answer_sized(cg__mos4_flow(l), cg__now_ms(), req->token,
                                               ref_of(ans), ans->len);
    if (rc != CG_OK) { /* the endpoint is going away: the request went with it */
        lane_log(l, CG_LOG_DEBUG, "answer to messageID %s dropped: %s", req->msgid,
                 cg_strerror(rc));
        cg__mos4_msg_free(ans);
    }
    free(req->wire);
    free(req);
    cg__mos4_flow_apply(l);
    return CG_OK;
}

enum cg_err cg_mos_reply_heartbeat(struct cg_mos_request *req)
{
    CG_CHECK(req != NULL, CG_EINVAL);
    const struct mos4_lane *l = req->lane;
    uint8_t *hb = NULL;
    size_t n = 0;
    enum cg_err rc = cg_mos_build_heartbeat_form(CG_MOS_UTF8, cg__mos4_mos_id(l),
                                                 cg__mos4_ncs_id(l), NULL, wall_ms(),
                                                 l->peer->ep->cfg.heartbeat_form, &hb, &n);
    if (rc == CG_OK)
        rc = cg_mos_reply(req, (const char *)hb, n);
    cg_mos_free(hb);
    return rc;
}

enum cg_err cg_mos_reply_ack(struct cg_mos_request *req, bool ok, const char *description)
{
    CG_CHECK(req != NULL, CG_EINVAL);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    enum cg_err rc = ack_element(req->lane->ch, ok, description, &b);
    if (rc == CG_OK)
        rc = cg_mos_reply(req, (const char *)b.data, b.len);
    cg__buf_free(&b);
    return rc;
}

/* ---- the endpoint going away ---- */

/* What the core still holds on this lane's side is freed here (reading its
 * arrays: the teardown has no actions); sends still queued complete with
 * CG_ECLOSED. */
static void free_out(struct mos4_lane *l, struct cg_flow *f)
{
    size_t n = f->qlen;
    struct mos4_pending **ps = n > 0 ? calloc(n, sizeof(*ps)) : NULL;
    for (size_t i = 0; i < n && ps != NULL; i++) /* ref 0: a cancelled one, completed already */
        ps[i] = pending_of(f->queue[(f->qhead + i) % f->qcap].ref);
    f->qlen = f->qhead = 0;
    f->out_state = CG_FLOW_OUT_IDLE;
    if (f->queue != f->queue_own)
        free(cg__flow_queue_room(f, f->queue_own, CG_FLOW_QUEUE_MAX));
    for (size_t i = 0; i < n && ps != NULL; i++) { /* the callbacks may not send again here */
        if (ps[i] == NULL)
            continue;
        if (ps[i]->cb != NULL)
            ps[i]->cb(ps[i]->user, CG_ECLOSED, NULL);
        free_pending(ps[i]);
    }
    if (ps == NULL && n > 0)
        lane_log(l, CG_LOG_ERROR, "out of memory: %zu pending sends not completed", n);
    free(ps);
}

static void free_in(struct mos4_lane *l, struct cg_flow *f)
{
    for (size_t i = 0; i < f->hlen; i++) /* one may be in use (busy) by a drain below us */
        release(msg_of(cg__flow_held_at(f, i)->ref));
    f->hlen = f->hhead = 0;
    if (f->held != f->held_own) /* room a journal replay needed (journal.c) */
        free(cg__flow_held_room(f, f->held_own, CG_FLOW_HELD_MAX));
    for (size_t i = 0; i < CG_FLOW_SEEN; i++) {
        if (f->seen[i].answered)
            release(msg_of(f->seen[i].answer));
        memset(&f->seen[i], 0, sizeof(f->seen[i]));
    }
    f->in_state = CG_FLOW_IN_IDLE;
    if (l->current != NULL) /* the application's handle dies with the endpoint */
        free(l->current->wire);
    free(l->current);
    l->current = NULL;
    while (l->abandoned != NULL) { /* given up, never disposed of by the application */
        struct cg_mos_request *r = l->abandoned;
        l->abandoned = r->next_abandoned;
        free(r->wire);
        free(r);
    }
}

void cg__mos4_flow_free(struct mos4_lane *l)
{
    vjob_forget(l);
    if (!l->peer->flow_on[l->ch])
        return;
    struct cg_flow *f = cg__mos4_flow(l);
    if (closing(l->peer)) /* actions left by an event the closing interrupted */
        cg__mos4_flow_apply(l);
    f->up[flow_dir(l)] = false;
    if (l->dir == CG_MOS_OUT)
        free_out(l, f);
    else
        free_in(l, f);
}

/* ---- sending ---- */

/* A longer queue than the core's own (max_queue above CG_FLOW_QUEUE_MAX):
 * doubled as it fills, up to max_queue. */
static void grow_queue(struct cg_flow *f)
{
    if (!cg__flow_queue_wants_room(f))
        return;
    size_t cap = f->qcap * 2 < f->cfg.max_queue ? f->qcap * 2 : f->cfg.max_queue;
    struct cg_flow_out_req *room = calloc(cap, sizeof(*room));
    struct cg_flow_out_req *old = room != NULL ? cg__flow_queue_room(f, room, cap) : NULL;
    if (old != NULL && old != f->queue_own)
        free(old);
}

/* The OUT lane a new request of len bytes goes on, if it may; its queue
 * given more room when full and max_queue allows. */
static enum cg_err out_lane(struct cg_mos_endpoint *ep, const char *peer_id,
                            enum cg_mos_channel channel, size_t len, struct mos4_lane **out)
{
    CG_CHECK(ep != NULL && peer_id != NULL, CG_EINVAL);
    CG_CHECK(!ep->freeing, CG_ESTATE);
    struct mos4_peer *peer = cg__mos4_peer(ep, peer_id);
    CG_CHECK(peer != NULL, CG_ENOTFOUND);
    int ch = cg__mos4_ch_index(channel);
    CG_CHECK(ch >= 0 && (peer->channels & channel), CG_EINVAL);
    CG_CHECK(len <= ep->cfg.max_message, CG_ETOOBIG);
    *out = &peer->lanes[ch][CG_MOS_OUT];
    grow_queue(cg__mos4_flow(*out));
    return CG_OK;
}

/* To the core (which refuses M-12 and a full queue), then its actions. */
static enum cg_err enqueue(struct mos4_lane *l, struct mos4_pending *p, bool forward,
                           const char *msgid)
{
    enum cg_err rc = cg__flow_send(cg__mos4_flow(l), cg__now_ms(), ref_of(p), p->name, forward,
                                   msgid);
    if (rc != CG_OK)
        free_pending(p);
    cg__mos4_flow_apply(l);
    return rc;
}

static enum cg_err queue(struct cg_mos_endpoint *ep, const char *peer_id,
                         enum cg_mos_channel channel, const char *xml, size_t len,
                         cg_mos_send_cb cb, void *user)
{
    CG_CHECK(xml != NULL, CG_EINVAL);
    struct mos4_lane *l;
    CG_GUARD(out_lane(ep, peer_id, channel, len, &l));
    struct mos4_pending *p = calloc(1, sizeof(*p));
    CG_CHECK(p != NULL, CG_ENOMEM);
    const char *elem;
    size_t elen;
    enum cg_err rc = cg__mos4_element(xml, len, &elem, &elen, p->name, sizeof(p->name));
    if (rc == CG_OK && (p->elem = cg__strndup(elem, elen)) == NULL)
        rc = CG_ENOMEM;
    if (rc != CG_OK) {
        free_pending(p);
        return rc == CG_EENVELOPE ? CG_EINVAL : rc;
    }
    p->len = elen;
    p->cb = cb;
    p->user = user;
    return enqueue(l, p, false, NULL);
}

enum cg_err cg_mos_send(struct cg_mos_endpoint *ep, const char *peer_id,
                        enum cg_mos_channel channel, const char *xml, size_t len,
                        cg_mos_send_cb cb, void *user)
{
    return queue(ep, peer_id, channel, xml, len, cb, user);
}

enum cg_err cg_mos_forward(struct cg_mos_endpoint *ep, const char *peer_id,
                           enum cg_mos_channel channel, const char *xml, size_t len,
                           cg_mos_send_cb cb, void *user)
{
    CG_CHECK(xml != NULL, CG_EINVAL);
    struct mos4_lane *l;
    CG_GUARD(out_lane(ep, peer_id, channel, len, &l));
    struct cg_mos_envelope env;
    enum cg_err rc = cg_mos_envelope_parse(CG_MOS_UTF8, xml, len, &env, NULL); /* once */
    if (rc != CG_OK)
        return rc == CG_EENVELOPE ? CG_EINVAL : rc;
    struct cg_mos_message m = {.peer_id = peer_id, .channel = channel, .env = &env, .xml = xml,
                               .len = len, .enc = CG_MOS_UTF8};
    return cg_mos_forward_message(ep, peer_id, &m, cb, user);
}

#define WRAP_ROOM 4096 /* the new envelope's head, in UCS-2BE at most */

/* A forward is wrapped once, here, in the lane's encoding: our envelope
 * around the message's own element bytes, its messageID kept (M-11, M-22:
 * a retry sends the same bytes). Nothing is parsed again (issue 13 item 3). */
enum cg_err cg_mos_forward_message(struct cg_mos_endpoint *ep, const char *peer_id,
                                   const struct cg_mos_message *m, cg_mos_send_cb cb, void *user)
{
    CG_CHECK(m != NULL && m->env != NULL && m->xml != NULL, CG_EINVAL);
    struct mos4_lane *l;
    CG_GUARD(out_lane(ep, peer_id, m->channel, m->len, &l));
    const struct cg_mos_span *e = &m->env->element;
    CG_CHECK(e->len > 0 && e->off <= m->len && e->len <= m->len - e->off, CG_EINVAL);
    /* the element begins with '<': 3C in UTF-8, 00 3C in UCS-2BE; enc must say which */
    CG_CHECK(cg__mos4_enc_of(m->xml + e->off, e->len) == m->enc, CG_EINVAL);
    /* messageIDs are numbers (M-11): the core keeps 63 characters */
    CG_CHECK(strlen(m->env->message_id) < CG_FLOW_MSGID, CG_ETOOBIG);
    struct mos4_pending *p = calloc(1, sizeof(*p));
    CG_CHECK(p != NULL, CG_ENOMEM);
    cg__str_copy(p->name, sizeof(p->name), m->env->name);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    /* a large one in a block kept for large messages, if one is there */
    b.data = cg__spare_take(e->len + WRAP_ROOM, &b.cap);
    enum cg_err rc = cg__mos4_wrap_enc(l, cg__mos4_lane_enc(l), m->enc, m->xml + e->off, e->len,
                                       m->env->message_id, &b);
    if (rc != CG_OK) {
        cg__spare_give(b.data, b.cap);
        free(p);
        return rc;
    }
    p->wire = b.data;
    p->wlen = b.len;
    p->wcap = b.cap;
    p->cb = cb;
    p->user = user;
    return enqueue(l, p, true, m->env->message_id);
}

/* The send queued with cb and user is found in the core's queue (oldest
 * first) and withdrawn there: the core's COMPLETE (CG_ECANCELED) calls cb. */
enum cg_err cg_mos_forward_cancel(struct cg_mos_endpoint *ep, const char *peer_id,
                                  enum cg_mos_channel channel, cg_mos_send_cb cb, void *user)
{
    CG_CHECK(ep != NULL && peer_id != NULL, CG_EINVAL);
    struct mos4_peer *peer = cg__mos4_peer(ep, peer_id);
    CG_CHECK(peer != NULL, CG_ENOTFOUND);
    int ch = cg__mos4_ch_index(channel);
    CG_CHECK(ch >= 0, CG_EINVAL);
    CG_CHECK(peer->flow_on[ch], CG_ENOTFOUND); /* nothing was ever queued there */
    struct mos4_lane *l = &peer->lanes[ch][CG_MOS_OUT];
    struct cg_flow *f = cg__mos4_flow(l);
    for (size_t i = 0; i < f->qlen; i++) {
        uint64_t ref = f->queue[(f->qhead + i) % f->qcap].ref;
        const struct mos4_pending *p = ref != 0 ? pending_of(ref) : NULL;
        if (p == NULL || p->cb != cb || p->user != user)
            continue;
        enum cg_err rc = cg__flow_cancel(f, cg__now_ms(), ref);
        cg__mos4_flow_apply(l);
        return rc;
    }
    return CG_ENOTFOUND;
}

/* Issue 18, leg_state = mirror: the peer's senders were told their
 * connection is gone; what they sent and is not answered yet is given up
 * lane by lane (cg__flow_abandon_in: records closed, IDs forgotten). */
enum cg_err cg_mos_endpoint_abandon_in(struct cg_mos_endpoint *ep, const char *peer_id,
                                       size_t *count)
{
    CG_CHECK(ep != NULL && peer_id != NULL && !ep->freeing, CG_EINVAL);
    struct mos4_peer *peer = cg__mos4_peer(ep, peer_id);
    CG_CHECK(peer != NULL, CG_ENOTFOUND);
    size_t total = 0;
    for (int ch = 0; ch < CG_MOS4_NCH; ch++) {
        struct mos4_lane *l = &peer->lanes[ch][CG_MOS_IN];
        size_t n = 0;
        if (!peer->flow_on[ch] || l->up ||
            cg__flow_abandon_in(cg__mos4_flow(l), cg__now_ms(),
                                "the connection of its sender is gone", &n) != CG_OK)
            continue;
        struct cg_mos_request *req = l->current;
        if (req != NULL) { /* the application's still; its answer goes nowhere */
            l->current = NULL; /* a compaction must not keep its record open */
            req->given_up = true;
            req->next_abandoned = l->abandoned;
            l->abandoned = req;
        }
        total += n;
        cg__mos4_flow_apply(l); /* the records closed, the held ones let go of */
    }
    if (count != NULL)
        *count = total;
    return CG_OK;
}

size_t cg_mos_pending(const struct cg_mos_endpoint *ep, const char *peer_id,
                      enum cg_mos_channel channel)
{
    struct mos4_peer *peer = ep != NULL && peer_id != NULL ? cg__mos4_peer(ep, peer_id) : NULL;
    int ch = cg__mos4_ch_index(channel);
    return peer != NULL && ch >= 0 && peer->flow_on[ch] ? cg__flow_queued(&peer->flow[ch]) : 0;
}

enum cg_err cg_mos_endpoint_lane_stats(const struct cg_mos_endpoint *ep, const char *peer_id,
                                       enum cg_mos_channel channel, enum cg_mos_dir dir,
                                       struct cg_mos_lane_stats *out)
{
    CG_CHECK(ep != NULL && peer_id != NULL && out != NULL, CG_EINVAL);
    struct mos4_peer *peer = cg__mos4_peer(ep, peer_id);
    CG_CHECK(peer != NULL, CG_ENOTFOUND);
    int ch = cg__mos4_ch_index(channel);
    CG_CHECK(ch >= 0 && (dir == CG_MOS_OUT || dir == CG_MOS_IN), CG_EINVAL);
    memset(out, 0, sizeof(*out));
    if (!peer->flow_on[ch])
        return CG_OK; /* nothing happened on it yet */
    struct cg_flow_stats s;
    cg__flow_stats(&peer->flow[ch], &s);
    if (dir == CG_MOS_OUT) {
        out->queued = cg__flow_queued(&peer->flow[ch]);
        out->requests_sent = s.requests_sent;
        out->retries = s.retries;
        out->timeouts = s.timeouts;
        out->nacks_received = s.nacks_received;
        out->answers = s.answers;
        out->last_rtt_ms = s.last_rtt_ms;
        out->rtt = s.rtt;
        out->cancelled = s.cancelled;
        out->late_answers = s.late_answers;
    } else {
        out->delivered = s.delivered;
        out->nacks_sent = s.nacks_sent;
        out->repeats_answered = s.repeats_answered;
        out->held = s.held;
        out->held_max = s.held_max;
        out->answers_held_bytes = s.answers_held_bytes;
        out->answers_evicted = s.answers_evicted;
        out->repeats_not_held = s.repeats_not_held;
    }
    return CG_OK;
}
