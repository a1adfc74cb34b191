/* The sans-I/O MOS flow core (flow.h): events in, actions out. */
#include "flow/flow.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MSGID_MAX 0x7FFFFFFFu /* M-11: a 32-bit signed integer >= 1 */

/* ---- actions ---- */

static struct cg_flow_act *emit(struct cg_flow *f, enum cg_flow_act_kind k, enum cg_flow_dir dir)
{
    if (f->alen >= CG_FLOW_ACTS) {
        f->overflow = true;
        return memset(&f->spill, 0, sizeof(f->spill));
    }
    struct cg_flow_act *a = &f->acts[(f->ahead + f->alen++) % CG_FLOW_ACTS];
    memset(a, 0, sizeof(*a));
    a->kind = k;
    a->dir = dir;
    return a;
}

static void resume(struct cg_flow *f);
static bool evict_answers(struct cg_flow *f);
static size_t held_answer_bytes(const struct cg_flow *f);

bool cg__flow_action(struct cg_flow *f, struct cg_flow_act *a)
{
    if (f->alen == 0 && f->more)
        resume(f);
    if (f->alen == 0)
        return false;
    *a = f->acts[f->ahead];
    f->ahead = (f->ahead + 1) % CG_FLOW_ACTS;
    f->alen--;
    return true;
}

static void flog(struct cg_flow *f, enum cg_flow_dir dir, enum cg_log_level lv, const char *fmt,
                 ...) CG_PRINTF(4, 5);
static void flog(struct cg_flow *f, enum cg_flow_dir dir, enum cg_log_level lv, const char *fmt,
                 ...)
{
    struct cg_flow_act *a = emit(f, CG_FLOW_A_LOG, dir);
    a->level = lv;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->text, sizeof(a->text), fmt, ap);
    va_end(ap);
}

static void arm(struct cg_flow *f, enum cg_flow_timer t, uint64_t at)
{
    struct cg_flow_act *a = emit(f, CG_FLOW_A_ARM, t == CG_FLOW_T_IDLE_IN ? CG_FLOW_IN : CG_FLOW_OUT);
    a->timer = t;
    a->at_ms = at;
}

static void disarm(struct cg_flow *f, enum cg_flow_timer t)
{
    emit(f, CG_FLOW_A_DISARM, t == CG_FLOW_T_IDLE_IN ? CG_FLOW_IN : CG_FLOW_OUT)->timer = t;
}

static void release(struct cg_flow *f, enum cg_flow_dir dir, uint64_t ref)
{
    if (ref != 0)
        emit(f, CG_FLOW_A_RELEASE, dir)->ref = ref;
}

/* Room for one more step of long work (a step emits at most 6 actions)? If
 * not, the work goes on in resume() as the actions are drained. */
static bool room(struct cg_flow *f)
{
    if (f->alen + 8 <= CG_FLOW_ACTS)
        return true;
    f->more = true;
    return false;
}

/* A messageID into one of our ID fields: cut, never overrun (cg__str_copy). */
static void copy_id(char *dst, const char *src) { cg__str_copy(dst, CG_FLOW_MSGID, src); }

static void wrote(struct cg_flow *f, enum cg_flow_dir dir, uint64_t now) { f->last_tx[dir] = now; }

/* ---- setup ---- */

enum cg_err cg__flow_init(struct cg_flow *f, const struct cg_flow_config *cfg, uint32_t id_mark)
{
    CG_CHECK(f != NULL && cfg != NULL, CG_EINVAL);
    CG_CHECK(cfg->max_queue >= 1, CG_ERANGE);
    CG_CHECK(cfg->max_held <= CG_FLOW_HELD_MAX && cfg->ack_timeout_ms > 0, CG_ERANGE);
    memset(f, 0, sizeof(*f));
    f->cfg = *cfg;
    f->cfg.record = cfg->record || cfg->journal;
    if (f->cfg.heartbeat_gap_ms == 0)
        f->cfg.heartbeat_gap_ms = 1000;
    if (f->cfg.id_block == 0)
        f->cfg.id_block = CG_FLOW_ID_BLOCK;
    f->queue = f->queue_own;
    f->qcap = CG_FLOW_QUEUE_MAX;
    f->held = f->held_own;
    f->hcap = CG_FLOW_HELD_MAX;
    f->id_next = id_mark >= 1 && id_mark <= MSGID_MAX ? id_mark : 1;
    f->id_mark = f->id_next; /* nothing reserved yet in this run */
    return CG_OK;
}

/* ---- OUT lane (M-22) ---- */

static struct cg_flow_out_req *inflight(struct cg_flow *f)
{
    return f->out_state == CG_FLOW_OUT_WAIT ? &f->queue[f->qhead] : NULL;
}

/* M-11: the next messageID; a block is reserved (persisted) before its first use. */
static uint32_t next_msgid(struct cg_flow *f)
{
    if (f->id_next == f->id_mark) {
        uint32_t room = MSGID_MAX - f->id_next + 1;
        f->id_mark = f->id_next + (room < f->cfg.id_block ? room : f->cfg.id_block);
        emit(f, CG_FLOW_A_RESERVE_IDS, CG_FLOW_OUT)->id_mark = f->id_mark;
    }
    uint32_t id = f->id_next++;
    if (f->id_next > MSGID_MAX) /* wraps to 1 (M-11), reserving again from there */
        f->id_next = f->id_mark = 1;
    return id;
}

static void transmit(struct cg_flow *f, uint64_t now)
{
    struct cg_flow_out_req *p = inflight(f);
    struct cg_flow_act *a = emit(f, CG_FLOW_A_SEND_REQUEST, CG_FLOW_OUT);
    a->ref = p->ref;
    copy_id(a->msgid, p->msgid);
    if (p->tries++ == 0)
        f->stats.requests_sent++;
    else
        f->stats.retries++;
    f->sent_at = now;
    wrote(f, CG_FLOW_OUT, now);
    arm(f, CG_FLOW_T_ACK, now + f->cfg.ack_timeout_ms);
}

static void kick(struct cg_flow *f, uint64_t now)
{
    if (f->out_state != CG_FLOW_OUT_IDLE || f->qlen == 0 || !f->up[CG_FLOW_OUT])
        return;
    f->out_state = CG_FLOW_OUT_WAIT;
    struct cg_flow_out_req *p = inflight(f);
    if (!p->keep_id) /* allocated once: a retry keeps it (M-22) */
        snprintf(p->msgid, sizeof(p->msgid), "%u", (unsigned)next_msgid(f));
    p->keep_id = true;
    transmit(f, now);
}

static void count_outcome(struct cg_flow *f, uint64_t now, enum cg_err status)
{
    if (status == CG_ETIMEDOUT) {
        f->stats.timeouts++;
        return;
    }
    f->stats.nacks_received += status == CG_ENACK;
    f->stats.answers++;
    uint64_t rtt = now >= f->sent_at ? now - f->sent_at : 0;
    f->stats.last_rtt_ms = rtt;
    cg_histogram_observe(&f->stats.rtt, rtt * 1000000u);
}

/* The request in flight leaves the lane (answered, given up, or the open
 * exchange of a cancelled one over): the next one goes (M-22). */
static void pop_inflight(struct cg_flow *f, uint64_t now)
{
    f->qhead = (f->qhead + 1) % f->qcap;
    f->qlen--;
    f->out_state = CG_FLOW_OUT_IDLE;
    kick(f, now);
}

static void complete(struct cg_flow *f, uint64_t now, enum cg_err status, uint64_t answer,
                     const char *text)
{
    struct cg_flow_out_req *p = inflight(f);
    disarm(f, CG_FLOW_T_ACK);
    struct cg_flow_act *a = emit(f, CG_FLOW_A_COMPLETE, CG_FLOW_OUT);
    a->ref = p->ref;
    a->answer = answer;
    a->status = status;
    copy_id(a->msgid, p->msgid);
    cg__str_copy(a->text, sizeof(a->text), text != NULL ? text : "");
    copy_id(f->last_answered, p->msgid); /* to recognise a retry's second answer */
    count_outcome(f, now, status);
    pop_inflight(f, now);
}

/* ---- cancel (issue 18: a request moved to another peer must never reach
 * this one again) ---- */

static void remember_cancelled(struct cg_flow *f, const char *msgid)
{
    if (msgid[0] == '\0') /* ID-less: its answer is told only by kind, while its exchange is open */
        return;
    copy_id(f->cancelled[f->cancelled_next], msgid);
    f->cancelled_next = (f->cancelled_next + 1) % CG_FLOW_CANCELLED;
}

/* The exchange a cancelled request left open ends (its answer came, none
 * came in time, or the lane went down). Nothing completes: the sender
 * heard CG_ECANCELED at the cancel. */
static void end_cancelled(struct cg_flow *f, uint64_t now, const char *why)
{
    struct cg_flow_out_req *p = inflight(f);
    disarm(f, CG_FLOW_T_ACK);
    flog(f, CG_FLOW_OUT, CG_LOG_INFO, "<%s> messageID %s (cancelled): %s; the next request goes on",
         p->name, p->msgid, why);
    copy_id(f->last_answered, p->msgid);
    pop_inflight(f, now);
}

enum cg_err cg__flow_cancel(struct cg_flow *f, uint64_t now_ms, uint64_t ref)
{
    CG_CHECK(f != NULL && ref != 0, CG_EINVAL);
    size_t i = 0;
    while (i < f->qlen && f->queue[(f->qhead + i) % f->qcap].ref != ref)
        i++;
    CG_CHECK(i < f->qlen, CG_ENOTFOUND);
    f->now = now_ms;
    struct cg_flow_out_req *p = &f->queue[(f->qhead + i) % f->qcap];
    bool in_flight = i == 0 && f->out_state == CG_FLOW_OUT_WAIT;
    struct cg_flow_act *a = emit(f, CG_FLOW_A_COMPLETE, CG_FLOW_OUT);
    a->ref = ref;
    a->status = CG_ECANCELED;
    copy_id(a->msgid, p->msgid);
    snprintf(a->text, sizeof(a->text), "%s",
             in_flight ? "cancelled: never sent again" : "cancelled before it was sent");
    f->stats.cancelled++;
    if (!in_flight) { /* never written: it leaves the queue, the others keep their order */
        flog(f, CG_FLOW_OUT, CG_LOG_INFO, "<%s> cancelled before it was sent", p->name);
        for (size_t j = i; j + 1 < f->qlen; j++)
            f->queue[(f->qhead + j) % f->qcap] = f->queue[(f->qhead + j + 1) % f->qcap];
        f->qlen--;
        return CG_OK;
    }
    remember_cancelled(f, p->msgid);
    p->ref = 0; /* the caller's again: never named after this COMPLETE */
    if (!f->up[CG_FLOW_OUT]) { /* nothing outstanding on a lane that is down */
        flog(f, CG_FLOW_OUT, CG_LOG_INFO, "<%s> messageID %s cancelled in flight while the lane is "
             "down: never sent again; a late answer is dropped", p->name, p->msgid);
        pop_inflight(f, now_ms);
        return CG_OK;
    }
    p->cancelled = true; /* M-22: one outstanding; the peer may still answer it */
    flog(f, CG_FLOW_OUT, CG_LOG_INFO, "<%s> messageID %s cancelled in flight: never sent again; the "
         "next request waits for its answer (dropped) or the answer timeout (M-22)", p->name,
         p->msgid);
    return CG_OK;
}

size_t cg__flow_queued(const struct cg_flow *f)
{
    const struct cg_flow_out_req *p =
        f->out_state == CG_FLOW_OUT_WAIT ? &f->queue[f->qhead] : NULL;
    return f->qlen - (p != NULL && p->cancelled ? 1 : 0);
}

static bool removed_in_4(const char *name)
{
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(name, strlen(name));
    return info != NULL && info->removed_in_4;
}

enum cg_err cg__flow_send(struct cg_flow *f, uint64_t now_ms, uint64_t ref, const char *name,
                          bool keep_id, const char *msgid)
{
    CG_CHECK(f != NULL && ref != 0 && name != NULL, CG_EINVAL);
    if (!keep_id && removed_in_4(name)) { /* M-12: a 4.0 endpoint never initiates it */
        flog(f, CG_FLOW_OUT, CG_LOG_ERROR, "<%.64s> was removed in MOS 4.0: not sent (M-12)", name);
        return CG_EPROTO;
    }
    CG_CHECK(!keep_id || msgid == NULL || strlen(msgid) < CG_FLOW_MSGID, CG_ETOOBIG);
    CG_CHECK(f->qlen < f->cfg.max_queue && f->qlen < f->qcap, CG_EFULL);
    f->now = now_ms;
    struct cg_flow_out_req *p = &f->queue[(f->qhead + f->qlen++) % f->qcap];
    memset(p, 0, sizeof(*p));
    p->ref = ref;
    cg__str_copy(p->name, sizeof(p->name), name);
    p->keep_id = keep_id;
    if (keep_id)
        copy_id(p->msgid, msgid);
    kick(f, now_ms);
    return CG_OK;
}

static bool answer_fits(int ch, const char *request, const char *answer)
{
    if (strcmp(answer, ch == 1 ? "roAck" : "mosAck") == 0)
        return true;
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(request, strlen(request));
    return info != NULL && info->answer != NULL && strcmp(info->answer, answer) == 0;
}

/* Does the answer's messageID name msgid ("0x1F" names "31": values when
 * both are numbers)? */
static bool id_equal(const struct cg_mos_envelope *env, const char *msgid)
{
    uint32_t a = 0;
    if (cg_mos_message_id_parse(msgid, &a) == CG_MOS_MSGID_OK &&
        env->message_id_kind == CG_MOS_MSGID_OK)
        return env->message_id_value == a;
    return strcmp(env->message_id, msgid) == 0;
}

/* Does the answer's messageID (or, for an ID-less request, its kind) fit p? */
static bool same_id(const struct cg_flow *f, const struct cg_mos_envelope *env,
                    const struct cg_flow_out_req *p)
{
    if (env->message_id_kind == CG_MOS_MSGID_ABSENT) /* lenient: legacy peers (M-11) */
        return true;
    if (p->msgid[0] == '\0') /* asked without an ID: answered by kind (issue 12 item 1) */
        return answer_fits(f->cfg.ch, p->name, env->name);
    return id_equal(env, p->msgid);
}

/* An answer's messageID names one of the requests cancelled in flight. */
static bool was_cancelled(const struct cg_flow *f, const struct cg_mos_envelope *env)
{
    if (env->message_id_kind == CG_MOS_MSGID_ABSENT)
        return false;
    for (size_t i = 0; i < CG_FLOW_CANCELLED; i++)
        if (f->cancelled[i][0] != '\0' && id_equal(env, f->cancelled[i]))
            return true;
    return false;
}

static void late_answer(struct cg_flow *f, const struct cg_mos_envelope *env)
{
    f->stats.late_answers++;
    flog(f, CG_FLOW_OUT, CG_LOG_INFO, "<%s> messageID %.64s answers a cancelled request: dropped",
         env->name, env->message_id);
}

static void on_answer(struct cg_flow *f, uint64_t now, const struct cg_flow_msg *m)
{
    const struct cg_mos_envelope *env = m->env;
    struct cg_flow_out_req *p = inflight(f);
    if (p != NULL && p->cancelled && same_id(f, env, p)) { /* the exchange it kept open ends */
        late_answer(f, env);
        end_cancelled(f, now, "its answer came");
        return;
    }
    if (was_cancelled(f, env) && (p == NULL || p->cancelled || !same_id(f, env, p))) {
        late_answer(f, env);
        return;
    }
    if (env->message_id_kind != CG_MOS_MSGID_ABSENT && f->last_answered[0] != '\0' &&
        strcmp(env->message_id, f->last_answered) == 0 &&
        (p == NULL || p->msgid[0] == '\0' || !same_id(f, env, p))) { /* a retry's 2nd answer */
        flog(f, CG_FLOW_OUT, CG_LOG_INFO, "<%s> answers messageID %.64s again: dropped, it was "
             "taken the first time", env->name, env->message_id);
        return;
    }
    if (p == NULL) {
        flog(f, CG_FLOW_OUT, CG_LOG_WARN, "<%s> arrived with no request outstanding: dropped",
             env->name);
        return;
    }
    if (!same_id(f, env, p)) {
        flog(f, CG_FLOW_OUT, CG_LOG_WARN, "<%s> messageID %.64s does not answer <%s> messageID "
             "%s, the one outstanding: dropped", env->name, env->message_id, p->name, p->msgid);
        return;
    }
    complete(f, now, m->nack ? CG_ENACK : CG_OK, m->ref, NULL);
}

/* ---- IN lane ---- */

static bool has_id(const struct cg_mos_envelope *env)
{
    return env->message_id_kind != CG_MOS_MSGID_ABSENT && env->message_id[0] != '\0';
}

static void nack(struct cg_flow *f, uint64_t now, const char *msgid, const char *fmt, ...)
    CG_PRINTF(4, 5);
static void nack(struct cg_flow *f, uint64_t now, const char *msgid, const char *fmt, ...)
{
    if (!f->up[CG_FLOW_IN])
        return;
    struct cg_flow_act *a = emit(f, CG_FLOW_A_SEND_NACK, CG_FLOW_IN);
    f->stats.nacks_sent++;
    copy_id(a->msgid, msgid);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->text, sizeof(a->text), fmt, ap);
    va_end(ap);
    wrote(f, CG_FLOW_IN, now);
}

/* FNV-1a of a messageID: the memory's slots are told apart by it first, so
 * a lookup (several per request) compares one word per slot, not a string
 * (the strcmp of every slot was 2-4 % of a gateway's CPU at 1 KB). Not a
 * security property: equal keys are still compared as strings. */
static uint32_t id_key(const char *msgid)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)msgid; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static struct cg_flow_seen *find_seen(struct cg_flow *f, const char *msgid)
{
    uint32_t k = id_key(msgid);
    for (size_t i = 0; i < CG_FLOW_SEEN; i++)
        if (f->seen[i].key == k && f->seen[i].msgid[0] != '\0' &&
            strcmp(f->seen[i].msgid, msgid) == 0)
            return &f->seen[i];
    return NULL;
}

static void clear_seen(struct cg_flow *f, struct cg_flow_seen *s)
{
    if (s->answered)
        release(f, CG_FLOW_IN, s->answer);
    memset(s, 0, sizeof(*s));
}

/* The slot for msgid: its own, or the oldest one (its answer released). */
static struct cg_flow_seen *seen_slot(struct cg_flow *f, const char *msgid)
{
    struct cg_flow_seen *s = find_seen(f, msgid);
    if (s == NULL) {
        s = &f->seen[f->seen_next];
        f->seen_next = (f->seen_next + 1) % CG_FLOW_SEEN;
        clear_seen(f, s);
        copy_id(s->msgid, msgid);
        s->key = id_key(s->msgid);
    }
    return s;
}

static struct cg_flow_held *find_held(struct cg_flow *f, const char *msgid)
{
    for (size_t i = 0; i < f->hlen; i++) {
        struct cg_flow_held *h = &f->held[(f->hhead + i) % f->hcap];
        if (h->has_id && strcmp(h->msgid, msgid) == 0)
            return h;
    }
    return NULL;
}

static void push_held(struct cg_flow *f, const struct cg_flow_held *h)
{
    f->held[(f->hhead + f->hlen++) % f->hcap] = *h;
    if (f->hlen > f->stats.held_max)
        f->stats.held_max = (uint32_t)f->hlen;
}

/* The same messageID with other content is another request (issue 20 item 3):
 * delivered, or refused by the setting. true: it goes on as new. */
static bool reused_goes_on(struct cg_flow *f, uint64_t now, const struct cg_flow_held *h)
{
    if (f->cfg.reused == CG_FLOW_REUSED_NACK) {
        flog(f, CG_FLOW_IN, CG_LOG_WARN, "<%s> messageID %s reused with different content: "
             "refused", h->name, h->msgid);
        nack(f, now, h->msgid, "messageID %s reused with different content", h->msgid);
        return false;
    }
    flog(f, CG_FLOW_IN, CG_LOG_WARN, "<%s> messageID %s reused with different content: "
         "delivered as a new request", h->name, h->msgid);
    return true;
}

static void send_answer(struct cg_flow *f, uint64_t now, const char *msgid, uint64_t answer)
{
    if (!f->up[CG_FLOW_IN])
        return; /* kept: the peer's repeat gets it (M-22) */
    struct cg_flow_act *a = emit(f, CG_FLOW_A_SEND_ANSWER, CG_FLOW_IN);
    a->answer = answer;
    copy_id(a->msgid, msgid);
    wrote(f, CG_FLOW_IN, now);
}

/* A repeat of a request waiting its turn (same messageID, same content):
 * the same request, answered then (issue 12 item 10). */
static bool waits_its_turn(struct cg_flow *f, const struct cg_flow_held *h)
{
    const struct cg_flow_held *w = find_held(f, h->msgid);
    if (w == NULL || memcmp(w->digest, h->digest, CG_FLOW_DIGEST) != 0)
        return false;
    flog(f, CG_FLOW_IN, CG_LOG_INFO, "messageID %s again while it waits its turn: answered then",
         h->msgid);
    return true;
}

static bool not_held(struct cg_flow *f, uint64_t now, const struct cg_flow_held *h, bool fresh);

/* What the memory of messageIDs says about a request (M-22). true: new (to
 * deliver or hold); *repeat when it may have been delivered before a restart. */
static bool is_new(struct cg_flow *f, uint64_t now, const struct cg_flow_held *h, bool fresh,
                   bool *repeat)
{
    if (!h->has_id)
        return true;
    struct cg_flow_seen *s = find_seen(f, h->msgid);
    if (s != NULL && s->restored && fresh && waits_its_turn(f, h))
        return false; /* the restored memory stays until the held one is delivered */
    if (s != NULL && s->has_digest && memcmp(s->digest, h->digest, CG_FLOW_DIGEST) != 0) {
        return reused_goes_on(f, now, h); /* the old memory goes when it is delivered */
    }
    if (s != NULL && s->evicted) /* answered, its answer let go of (cfg.answer_memory) */
        return not_held(f, now, h, fresh);
    if (s != NULL && s->answered) { /* M-22: a lost answer, asked again */
        flog(f, CG_FLOW_IN, CG_LOG_INFO, "messageID %s again: answered again from memory",
             h->msgid);
        f->stats.repeats_answered++;
        if ((!fresh && f->cfg.record) || s->unrecorded) { /* a journaled repeat: closed with
                                                             the answer it got; an unrecorded
                                                             answer: its record asked again */
            struct cg_flow_act *a = emit(f, CG_FLOW_A_JOURNAL_ANSWER, CG_FLOW_IN);
            a->answer = s->answer;
            copy_id(a->msgid, h->msgid);
            memcpy(a->digest, s->digest, CG_FLOW_DIGEST);
        }
        send_answer(f, now, h->msgid, s->answer);
        return false;
    }
    if (s != NULL && s->restored && f->cfg.redeliver) {
        flog(f, CG_FLOW_IN, CG_LOG_WARN, "messageID %s again after a restart: delivered again, "
             "marked as a possible repeat (M-22)", h->msgid);
        *repeat = true; /* forgotten only once delivered: recording it may fail */
        return true;
    }
    if (s != NULL && s->restored) {
        flog(f, CG_FLOW_IN, CG_LOG_WARN, "messageID %s again after a restart: it was delivered "
             "before; acknowledged, not delivered twice", h->msgid);
        if (f->up[CG_FLOW_IN]) {
            copy_id(emit(f, CG_FLOW_A_SEND_ACK, CG_FLOW_IN)->msgid, h->msgid);
            wrote(f, CG_FLOW_IN, now);
        }
        return false;
    }
    if (s != NULL) {
        flog(f, CG_FLOW_IN, CG_LOG_INFO, "messageID %s again while it is being answered: ignored",
             h->msgid);
        return false;
    }
    if (fresh && waits_its_turn(f, h)) /* issue 12 item 10: merged, never counted twice */
        return false;
    return !fresh || find_held(f, h->msgid) == NULL || reused_goes_on(f, now, h);
}

static void ask_journal(struct cg_flow *f, const struct cg_flow_held *h)
{
    struct cg_flow_act *a = emit(f, CG_FLOW_A_JOURNAL_REQUEST, CG_FLOW_IN);
    a->ref = h->ref;
    copy_id(a->msgid, h->msgid);
    memcpy(a->digest, h->digest, CG_FLOW_DIGEST);
    f->jwait = true;
    f->jp = *h;
}

static void deliver_now(struct cg_flow *f, const struct cg_flow_held *h, bool kept, bool repeat);

/* Without the journal option, a request is recorded as it is delivered (a
 * restart then knows it was delivered: M-22); with it, it was recorded when
 * accepted. Without the option, records are only looked up by messageID
 * (cg__flow_replay_delivered, cg__flow_replay_answer): a request without one
 * is not recorded, nor its answer (cg__flow_app_answer). */
static void deliver(struct cg_flow *f, const struct cg_flow_held *h, bool kept, bool repeat)
{
    if (f->cfg.record && !f->cfg.journal && h->has_id) {
        ask_journal(f, h);
        f->jdeliver = true;
        f->jkept = kept;
        f->jrepeat = repeat;
        return;
    }
    deliver_now(f, h, kept, repeat);
}

static void deliver_now(struct cg_flow *f, const struct cg_flow_held *h, bool kept, bool repeat)
{
    if (h->has_id) { /* remembered from now on: a repeat is not delivered twice */
        struct cg_flow_seen *old;
        while ((old = find_seen(f, h->msgid)) != NULL)
            clear_seen(f, old);
        struct cg_flow_seen *s = seen_slot(f, h->msgid);
        s->has_digest = true;
        memcpy(s->digest, h->digest, CG_FLOW_DIGEST);
    }
    f->in_state = CG_FLOW_IN_APP;
    f->cur = *h;
    f->cur_token = ++f->tokens;
    f->stats.delivered++;
    struct cg_flow_act *a = emit(f, CG_FLOW_A_DELIVER, CG_FLOW_IN);
    a->ref = h->ref;
    a->token = f->cur_token;
    a->repeat = repeat;
    copy_id(a->msgid, h->msgid);
    memcpy(a->digest, h->digest, CG_FLOW_DIGEST);
    if (kept)
        release(f, CG_FLOW_IN, h->ref);
}

/* Accepted (journaled where that is on): to the application, or held. */
static void accept(struct cg_flow *f, const struct cg_flow_held *h, bool repeat)
{
    if (f->in_state == CG_FLOW_IN_IDLE) {
        deliver(f, h, false, repeat);
        return;
    }
    struct cg_flow_held k = *h;
    k.replayed = repeat;
    emit(f, CG_FLOW_A_KEEP, CG_FLOW_IN)->ref = h->ref;
    push_held(f, &k);
}

static void next_held(struct cg_flow *f, uint64_t now)
{
    while (f->in_state == CG_FLOW_IN_IDLE && !f->jwait && !f->abandon_pending && f->hlen > 0 &&
           (f->up[CG_FLOW_IN] || f->cfg.journal) && room(f)) {
        struct cg_flow_held h = f->held[f->hhead];
        f->hhead = (f->hhead + 1) % f->hcap;
        f->hlen--;
        bool repeat = h.replayed;
        if (is_new(f, now, &h, false, &repeat))
            deliver(f, &h, true, repeat);
        else
            release(f, CG_FLOW_IN, h.ref);
    }
}

/* Issue 12 item 12: does an envelope ID name who the lane is for? ASCII case
 * ignored; a fully qualified name counts as its first labels (profile 6). */
static bool id_names(const char *got, const char *want)
{
    size_t g = strlen(got), w = strlen(want), n = g < w ? g : w;
    if (strncasecmp(got, want, n) != 0)
        return false;
    return g == w || (g > w ? got[w] : want[g]) == '.';
}

static bool pair_is(const struct cg_mos_envelope *env, const char *mos, const char *ncs)
{
    return (!env->has_mos_id || id_names(env->mos_id, mos)) &&
           (!env->has_ncs_id || id_names(env->ncs_id, ncs));
}

/* The envelope names this lane's pair of IDs, the standard way or swapped
 * (Sofie as an NCS); a third ID is refused with a NACK. */
static bool ids_fit(struct cg_flow *f, uint64_t now, const struct cg_mos_envelope *env)
{
    const char *mos = f->cfg.my_id, *ncs = f->cfg.peer_id;
    if (mos == NULL || ncs == NULL || pair_is(env, mos, ncs) || pair_is(env, ncs, mos))
        return true;
    bool bad_mos = env->has_mos_id && !id_names(env->mos_id, mos) && !id_names(env->mos_id, ncs);
    const char *field = bad_mos ? "mosID" : "ncsID";
    char esc[200];
    const char *got = bad_mos ? env->mos_id : env->ncs_id;
    cg__log_escape(esc, sizeof(esc), got, strlen(got));
    flog(f, CG_FLOW_IN, CG_LOG_WARN, "<%s> names %s \"%s\", not this lane's: refused with a NACK",
         env->name, field, esc);
    nack(f, now, has_id(env) ? env->message_id : NULL, "castgate: %s %.64s is not this "
         "connection's (%.64s)", field, esc, bad_mos ? mos : ncs);
    return false;
}

static void answer_heartbeat(struct cg_flow *f, uint64_t now, const struct cg_mos_envelope *env)
{
    if (f->hb_replied && now - f->last_hb_reply < f->cfg.heartbeat_gap_ms) { /* M-10 */
        flog(f, CG_FLOW_IN, CG_LOG_DEBUG, "heartbeat answered less than a second ago: not again");
        return;
    }
    if (!f->up[CG_FLOW_IN])
        return;
    f->hb_replied = true;
    f->last_hb_reply = now;
    copy_id(emit(f, CG_FLOW_A_SEND_HEARTBEAT, CG_FLOW_IN)->msgid,
            has_id(env) ? env->message_id : NULL);
    wrote(f, CG_FLOW_IN, now);
}

/* MOS 2.x, one socket for both lanes: an answer to our request in flight
 * arrives among the peer's requests (a heartbeat answering ours is never
 * answered: M-10 loop guard). */
static bool is_our_answer(struct cg_flow *f, const struct cg_mos_envelope *env)
{
    if (!f->cfg.one_socket)
        return false;
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(env->name, strlen(env->name));
    if (info != NULL && info->is_reply)
        return true;
    const struct cg_flow_out_req *p = inflight(f);
    return p != NULL && strcmp(env->name, "heartbeat") == 0 && strcmp(p->name, "heartbeat") == 0;
}

static void on_request(struct cg_flow *f, uint64_t now, const struct cg_flow_msg *m)
{
    const struct cg_mos_envelope *env = m->env;
    if (is_our_answer(f, env)) {
        on_answer(f, now, m);
        return;
    }
    if (!ids_fit(f, now, env))
        return;
    if (strcmp(env->name, "heartbeat") == 0 && !f->cfg.deliver_heartbeats) {
        answer_heartbeat(f, now, env);
        return;
    }
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(env->name, strlen(env->name));
    if (info != NULL && info->is_reply) {
        flog(f, CG_FLOW_IN, CG_LOG_WARN, "<%s> is an answer, not a request: dropped", env->name);
        return;
    }
    struct cg_flow_held h = {.ref = m->ref, .has_id = has_id(env)};
    if (h.has_id && strlen(env->message_id) >= CG_FLOW_MSGID) {
        nack(f, now, NULL, "castgate: messageID longer than %d characters", CG_FLOW_MSGID - 1);
        return;
    }
    copy_id(h.msgid, h.has_id ? env->message_id : NULL);
    cg__str_copy(h.name, sizeof(h.name), env->name);
    memcpy(h.digest, m->digest, CG_FLOW_DIGEST);
    bool repeat = false;
    if (!is_new(f, now, &h, true, &repeat))
        return;
    if (f->in_state != CG_FLOW_IN_IDLE && f->hlen >= f->cfg.max_held) { /* ignoring M-22 */
        flog(f, CG_FLOW_IN, CG_LOG_WARN, "<%s> messageID %s: %zu requests already wait: refused "
             "with a NACK", h.name, h.msgid, f->hlen);
        nack(f, now, h.msgid, "castgate: %zu requests already wait on this channel; send one at "
             "a time (M-22)", f->hlen);
        return;
    }
    if (f->cfg.journal) { /* accepted: on disk before anyone acts on it */
        ask_journal(f, &h);
        return;
    }
    accept(f, &h, repeat);
}

void cg__flow_journal_result(struct cg_flow *f, uint64_t now_ms, bool ok, const char *why)
{
    f->now = now_ms;
    if (!f->jwait)
        return;
    f->jwait = false;
    bool at_delivery = f->jdeliver;
    f->jdeliver = false;
    if (ok && at_delivery)
        deliver_now(f, &f->jp, f->jkept, f->jrepeat);
    else if (ok)
        accept(f, &f->jp, false);
    if (ok)
        return;
    if (at_delivery && f->jkept)
        release(f, CG_FLOW_IN, f->jp.ref);
    /* issue 12 item 8: never acknowledged without its record */
    flog(f, CG_FLOW_IN, CG_LOG_ERROR, "<%s> messageID %s: cannot record the request (%s)",
         f->jp.name, f->jp.msgid, why != NULL ? why : "?");
    nack(f, now_ms, f->jp.msgid, "castgate: cannot record the request (%s); send it again later",
         why != NULL ? why : "?");
    next_held(f, now_ms);
}

void cg__flow_answer_recorded(struct cg_flow *f, uint64_t now_ms, const struct cg_flow_act *a,
                              bool ok, const char *why)
{
    if (f == NULL || a == NULL || a->kind != CG_FLOW_A_JOURNAL_ANSWER || a->answer == 0)
        return;
    f->now = now_ms;
    struct cg_flow_seen *s = a->msgid[0] != '\0' ? find_seen(f, a->msgid) : NULL;
    if (s != NULL && s->answer == a->answer)
        s->unrecorded = !ok;
    if (ok)
        return;
    f->stats.answers_unrecorded++;
    for (size_t i = 0; i < f->alen; i++) { /* its SEND_ANSWER, queued behind it */
        struct cg_flow_act *q = &f->acts[(f->ahead + i) % CG_FLOW_ACTS];
        if (q->kind != CG_FLOW_A_SEND_ANSWER || q->answer != a->answer)
            continue;
        q->kind = CG_FLOW_A_LOG;
        q->level = CG_LOG_ERROR;
        snprintf(q->text, sizeof(q->text), "answer to messageID %.40s not sent: its journal "
                 "record cannot be written (%.60s); %s", a->msgid[0] != '\0' ? a->msgid : "(none)",
                 why != NULL ? why : "?", s != NULL ? "a repeat (M-22) is answered once it is"
                                                    : "it has no messageID: given up");
        break;
    }
}

enum cg_err cg__flow_app_answer(struct cg_flow *f, uint64_t now_ms, uint64_t token,
                                uint64_t answer)
{
    CG_CHECK(f != NULL && answer != 0, CG_EINVAL);
    CG_CHECK(f->in_state == CG_FLOW_IN_APP && token == f->cur_token, CG_ESTATE);
    f->now = now_ms;
    const struct cg_flow_held *h = &f->cur;
    struct cg_flow_seen *s = h->has_id ? find_seen(f, h->msgid) : NULL;
    if (s != NULL) { /* kept for a repeat (M-22) */
        s->answered = true;
        s->answer = answer;
    }
    if (f->cfg.record && (f->cfg.journal || h->has_id)) { /* on disk before the peer hears it */
        struct cg_flow_act *a = emit(f, CG_FLOW_A_JOURNAL_ANSWER, CG_FLOW_IN);
        a->answer = answer;
        copy_id(a->msgid, h->msgid);
        memcpy(a->digest, h->digest, CG_FLOW_DIGEST);
    }
    send_answer(f, now_ms, h->msgid, answer);
    if (s == NULL)
        release(f, CG_FLOW_IN, answer);
    f->in_state = CG_FLOW_IN_IDLE;
    next_held(f, now_ms);
    return CG_OK;
}

/* The request never reached the application: refused, forgotten (not
 * delivered, so a repeat is new), and the lane goes on (M-22: the sender
 * hears an answer; the next held request is not stuck behind it). */
enum cg_err cg__flow_app_refuse(struct cg_flow *f, uint64_t now_ms, uint64_t token,
                                const char *why)
{
    CG_CHECK(f != NULL, CG_EINVAL);
    CG_CHECK(f->in_state == CG_FLOW_IN_APP && token == f->cur_token, CG_ESTATE);
    f->now = now_ms;
    const struct cg_flow_held *h = &f->cur;
    struct cg_flow_seen *s = h->has_id ? find_seen(f, h->msgid) : NULL;
    if (s != NULL)
        clear_seen(f, s);
    if (f->cfg.record && (f->cfg.journal || h->has_id)) { /* its record closed, no answer */
        struct cg_flow_act *a = emit(f, CG_FLOW_A_JOURNAL_ANSWER, CG_FLOW_IN);
        a->forget = true;
        copy_id(a->msgid, h->msgid);
        memcpy(a->digest, h->digest, CG_FLOW_DIGEST);
    }
    const char *w = why != NULL ? why : "?";
    flog(f, CG_FLOW_IN, CG_LOG_ERROR, "<%s> messageID %s not delivered (%.100s): refused with a "
         "NACK", h->name, h->msgid, w);
    nack(f, now_ms, h->msgid, "castgate: %.100s; the request was not applied", w);
    f->in_state = CG_FLOW_IN_IDLE;
    next_held(f, now_ms);
    return CG_OK;
}

/* ---- the sender told its connection is gone (issue 18, leg_state = mirror) ---- */

/* One request given up: its record closed and its messageID forgotten (the
 * condition of cg__flow_app_refuse: a record exists). */
static void forget_record(struct cg_flow *f, const struct cg_flow_held *h, bool recorded)
{
    if (!recorded)
        return;
    struct cg_flow_act *a = emit(f, CG_FLOW_A_JOURNAL_ANSWER, CG_FLOW_IN);
    a->forget = true;
    copy_id(a->msgid, h->msgid);
    memcpy(a->digest, h->digest, CG_FLOW_DIGEST);
}

/* The held ones, oldest first, while the action queue has room (resume()
 * goes on). Held requests were recorded when accepted (journal option:
 * without it the lane going down dropped them already). */
static void abandon_held(struct cg_flow *f)
{
    while (f->hlen > 0 && room(f)) {
        struct cg_flow_held h = f->held[f->hhead];
        f->hhead = (f->hhead + 1) % f->hcap;
        f->hlen--;
        forget_record(f, &h, f->cfg.journal);
        release(f, CG_FLOW_IN, h.ref);
    }
    f->abandon_pending = f->hlen > 0;
}

enum cg_err cg__flow_abandon_in(struct cg_flow *f, uint64_t now_ms, const char *why, size_t *out)
{
    CG_CHECK(f != NULL && out != NULL, CG_EINVAL);
    CG_CHECK(!f->up[CG_FLOW_IN] && !f->jwait, CG_ESTATE);
    f->now = now_ms;
    size_t n = f->hlen;
    const char *w = why != NULL ? why : "?";
    if (f->in_state == CG_FLOW_IN_APP) {
        const struct cg_flow_held *h = &f->cur;
        struct cg_flow_seen *s = h->has_id ? find_seen(f, h->msgid) : NULL;
        if (s != NULL)
            clear_seen(f, s);
        forget_record(f, h, f->cfg.record && (f->cfg.journal || h->has_id));
        flog(f, CG_FLOW_IN, CG_LOG_WARN, "<%s> messageID %s given up (%.100s): never answered "
             "nor delivered again; a repeat is a new request", h->name, h->msgid, w);
        f->in_state = CG_FLOW_IN_IDLE; /* cur_token is stale from here */
        n++;
    }
    if (f->hlen > 0)
        flog(f, CG_FLOW_IN, CG_LOG_WARN, "%zu held request(s) given up (%.100s): never delivered",
             f->hlen, w);
    abandon_held(f);
    *out = n;
    return CG_OK;
}

/* ---- what arrives ---- */

void cg__flow_received(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir,
                       const struct cg_flow_msg *m)
{
    f->now = now_ms;
    f->last_rx[dir] = now_ms;
    if (strcasecmp(m->env->name, "keepAlive") == 0)
        return; /* M-09: ends here, never answered, never delivered */
    if (dir == CG_FLOW_OUT)
        on_answer(f, now_ms, m);
    else
        on_request(f, now_ms, m);
}

void cg__flow_unreadable(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir,
                         const char *text)
{
    f->now = now_ms;
    f->last_rx[dir] = now_ms;
    const char *t = text != NULL && text[0] != '\0' ? text : "(nothing readable)";
    if (dir == CG_FLOW_IN) {
        flog(f, dir, CG_LOG_WARN, "not one MOS message: refused");
        nack(f, now_ms, NULL, "not one MOS message");
        return;
    }
    struct cg_flow_out_req *p = inflight(f);
    if (p == NULL) {
        flog(f, dir, CG_LOG_WARN, "not a MOS message with no request outstanding: dropped: %.160s",
             t);
        return;
    }
    if (p->cancelled) { /* its answer, unreadable: the exchange ends all the same */
        f->stats.late_answers++;
        end_cancelled(f, now_ms, "answered with something that is not a MOS message (dropped)");
        return;
    }
    /* issue 20 item 1: a NACK carrying the text, never sent again */
    flog(f, dir, CG_LOG_WARN, "<%s> messageID %s answered with something that is not a MOS "
         "message: taken as a NACK, not sent again: %.120s", p->name, p->msgid, t);
    char why[CG_FLOW_TEXT];
    snprintf(why, sizeof(why), "peer answered: %.200s", t);
    complete(f, now_ms, CG_ENACK, 0, why);
}

/* ---- the caller's part ---- */

/* Copies a ring of len elements of size el, starting at head in src (cap
 * elements), into dst unrolled from its head: order kept, dst[0] the head. */
static void ring_unroll(void *dst, const void *src, size_t head, size_t len, size_t cap, size_t el)
{
    size_t first = cap - head < len ? cap - head : len; /* up to the ring's end */
    if (first > 0)
        memcpy(dst, (const char *)src + head * el, first * el);
    if (len > first)
        memcpy((char *)dst + first * el, src, (len - first) * el);
}

struct cg_flow_out_req *cg__flow_queue_room(struct cg_flow *f, struct cg_flow_out_req *buf,
                                            size_t cap)
{
    if (f == NULL || buf == NULL || cap < f->qlen || cap == 0)
        return NULL;
    if (f->qlen > 0)
        ring_unroll(buf, f->queue, f->qhead, f->qlen, f->qcap, sizeof(*buf));
    struct cg_flow_out_req *old = f->queue;
    f->queue = buf;
    f->qcap = cap;
    f->qhead = 0;
    return old;
}

bool cg__flow_queue_wants_room(const struct cg_flow *f)
{
    return f->qlen >= f->qcap && f->qcap < f->cfg.max_queue;
}

struct cg_flow_held *cg__flow_held_room(struct cg_flow *f, struct cg_flow_held *buf, size_t cap)
{
    if (f == NULL || buf == NULL || cap < f->hlen || cap == 0)
        return NULL;
    if (f->hlen > 0)
        ring_unroll(buf, f->held, f->hhead, f->hlen, f->hcap, sizeof(*buf));
    struct cg_flow_held *old = f->held;
    f->held = buf;
    f->hcap = cap;
    f->hhead = 0;
    return old;
}

bool cg__flow_held_wants_room(const struct cg_flow *f) { return f->hlen >= f->hcap; }

const struct cg_flow_held *cg__flow_held_at(const struct cg_flow *f, size_t i)
{
    return &f->held[(f->hhead + i) % f->hcap];
}

uint32_t cg__flow_take_id(struct cg_flow *f) { return next_msgid(f); }

void cg__flow_stats(const struct cg_flow *f, struct cg_flow_stats *out)
{
    *out = f->stats;
    out->held = (uint32_t)f->hlen;
    out->answers_held_bytes = held_answer_bytes(f);
}

void cg__flow_traffic(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir, bool sent)
{
    if (sent)
        f->last_tx[dir] = now_ms;
    else
        f->last_rx[dir] = now_ms;
}

/* ---- timers ---- */

static bool exchange_open(const struct cg_flow *f, enum cg_flow_dir dir)
{
    return dir == CG_FLOW_OUT ? f->out_state == CG_FLOW_OUT_WAIT
                              : f->in_state == CG_FLOW_IN_APP || f->hlen > 0;
}

/* M-09: a keepAlive only after keepalive_ms without traffic either way on
 * the lane, and never in the middle of an exchange. */
static void on_idle(struct cg_flow *f, uint64_t now, enum cg_flow_dir dir)
{
    uint32_t ka = f->cfg.keepalive_ms;
    if (ka == 0 || !f->up[dir])
        return;
    uint64_t last = f->last_tx[dir] > f->last_rx[dir] ? f->last_tx[dir] : f->last_rx[dir];
    uint64_t due = last + ka;
    if (now >= due && !exchange_open(f, dir)) {
        emit(f, CG_FLOW_A_SEND_KEEPALIVE, dir);
        wrote(f, dir, now);
        due = now + ka;
    } else if (now >= due) {
        due = now + ka;
    }
    arm(f, dir == CG_FLOW_OUT ? CG_FLOW_T_IDLE_OUT : CG_FLOW_T_IDLE_IN, due);
}

/* M-22: sent again with the same messageID after each timeout, up to the
 * retry budget; then CG_ETIMEDOUT and the lane moves on (issue 12 item 1). */
static void on_ack_timeout(struct cg_flow *f, uint64_t now)
{
    struct cg_flow_out_req *p = inflight(f);
    if (p == NULL || !f->up[CG_FLOW_OUT])
        return;
    if (p->cancelled) { /* never sent again (cg__flow_cancel) */
        end_cancelled(f, now, "no answer within the answer timeout");
        return;
    }
    if (++p->timeouts > f->cfg.retries) {
        flog(f, CG_FLOW_OUT, CG_LOG_ERROR, "no answer to <%s> messageID %s after %u send(s): "
             "giving up, the next request goes on", p->name, p->msgid, p->tries);
        complete(f, now, CG_ETIMEDOUT, 0, "no answer; the peer may still apply it");
        return;
    }
    flog(f, CG_FLOW_OUT, CG_LOG_WARN, "no answer to <%s> messageID %s yet: sending it again "
         "(%u of %u)", p->name, p->msgid, p->timeouts, f->cfg.retries);
    transmit(f, now);
}

void cg__flow_timer(struct cg_flow *f, uint64_t now_ms, enum cg_flow_timer t)
{
    f->now = now_ms;
    if (t == CG_FLOW_T_ACK)
        on_ack_timeout(f, now_ms);
    else
        on_idle(f, now_ms, t == CG_FLOW_T_IDLE_OUT ? CG_FLOW_OUT : CG_FLOW_IN);
}

/* ---- lanes ---- */

void cg__flow_lane_up(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir)
{
    f->now = now_ms;
    if (f->up[dir])
        return;
    f->up[dir] = true;
    f->last_rx[dir] = f->last_tx[dir] = now_ms;
    if (f->cfg.keepalive_ms != 0)
        arm(f, dir == CG_FLOW_OUT ? CG_FLOW_T_IDLE_OUT : CG_FLOW_T_IDLE_IN,
            now_ms + f->cfg.keepalive_ms);
    if (dir == CG_FLOW_IN) {
        next_held(f, now_ms);
        return;
    }
    /* (a cancelled request's open exchange ended when the lane went down) */
    if (f->out_state == CG_FLOW_OUT_WAIT)
        transmit(f, now_ms); /* the one in flight again, same messageID (M-22) */
    else
        kick(f, now_ms);
}

/* Held requests never delivered: the peer sends them again. */
static void drop_held(struct cg_flow *f)
{
    while (f->hlen > 0 && room(f)) {
        release(f, CG_FLOW_IN, f->held[f->hhead].ref);
        f->hhead = (f->hhead + 1) % f->hcap;
        f->hlen--;
    }
}

void cg__flow_lane_down(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir)
{
    f->now = now_ms;
    if (!f->up[dir])
        return;
    f->up[dir] = false;
    disarm(f, dir == CG_FLOW_OUT ? CG_FLOW_T_IDLE_OUT : CG_FLOW_T_IDLE_IN);
    if (dir == CG_FLOW_OUT) {
        disarm(f, CG_FLOW_T_ACK); /* the request in flight stays: sent again when back */
        struct cg_flow_out_req *p = inflight(f);
        if (p != NULL && p->cancelled) /* a cancelled one's exchange ends with the connection */
            end_cancelled(f, now_ms, "the lane went down");
        return;
    }
    if (!f->cfg.journal) /* journaled: they are answered, the answers wait for the repeats */
        drop_held(f);
}

/* ---- journal replay ---- */

void cg__flow_replay_request(struct cg_flow *f, uint64_t ref, const char *msgid,
                             const uint8_t *digest, const char *name)
{
    if (f->hlen >= f->hcap) { /* no room given (out of memory): refused aloud, never silently */
        flog(f, CG_FLOW_IN, CG_LOG_ERROR, "journal replay: no room for <%.64s> messageID %.64s "
             "after %zu requests: not delivered again; the sender's repeat is delivered as new "
             "(M-22)", name != NULL ? name : "", msgid != NULL ? msgid : "", f->hlen);
        release(f, CG_FLOW_IN, ref);
        return;
    }
    struct cg_flow_held h = {.ref = ref, .replayed = true};
    h.has_id = msgid != NULL && msgid[0] != '\0' && strlen(msgid) < CG_FLOW_MSGID;
    copy_id(h.msgid, h.has_id ? msgid : NULL);
    cg__str_copy(h.name, sizeof(h.name), name != NULL ? name : "");
    if (digest != NULL)
        memcpy(h.digest, digest, CG_FLOW_DIGEST);
    push_held(f, &h);
}

/* An answer recorded: its request (the first unanswered one with its ID, or
 * without one) is done, and a repeat gets the answer. Answer 0: refused
 * without one (cg__flow_app_refuse): done, and its messageID forgotten. */
/* A journaled request found closed at replay: no longer held. */
static void replay_unhold(struct cg_flow *f, const char *msgid)
{
    bool id = msgid != NULL && msgid[0] != '\0';
    for (size_t i = 0; i < f->hlen; i++) {
        struct cg_flow_held *h = &f->held[(f->hhead + i) % f->hcap];
        if (id ? (h->has_id && strcmp(h->msgid, msgid) == 0) : !h->has_id) {
            release(f, CG_FLOW_IN, h->ref);
            for (size_t j = i; j + 1 < f->hlen; j++)
                f->held[(f->hhead + j) % f->hcap] =
                    f->held[(f->hhead + j + 1) % f->hcap];
            f->hlen--;
            break;
        }
    }
}

void cg__flow_replay_answer(struct cg_flow *f, const char *msgid, const uint8_t *digest,
                            uint64_t answer)
{
    bool id = msgid != NULL && msgid[0] != '\0';
    replay_unhold(f, msgid);
    if (answer == 0) { /* refused (cg__flow_app_refuse): remembered no longer */
        struct cg_flow_seen *gone = id ? find_seen(f, msgid) : NULL;
        if (gone != NULL)
            clear_seen(f, gone);
        return;
    }
    if (!id || strlen(msgid) >= CG_FLOW_MSGID) {
        release(f, CG_FLOW_IN, answer);
        return;
    }
    struct cg_flow_seen *s = seen_slot(f, msgid);
    if (s->answered && s->answer != answer)
        release(f, CG_FLOW_IN, s->answer);
    s->answered = true;
    s->answer = answer;
    s->evicted = false;
    s->restored = false;
    s->has_digest = digest != NULL;
    if (digest != NULL)
        memcpy(s->digest, digest, CG_FLOW_DIGEST);
}

void cg__flow_replay_delivered(struct cg_flow *f, const char *msgid, const uint8_t *digest)
{
    if (msgid == NULL || msgid[0] == '\0' || strlen(msgid) >= CG_FLOW_MSGID)
        return;
    struct cg_flow_seen *s = seen_slot(f, msgid);
    s->restored = true;
    s->has_digest = digest != NULL;
    if (digest != NULL)
        memcpy(s->digest, digest, CG_FLOW_DIGEST);
}

/* Without the journal option, requests replayed were delivered before the
 * restart: remembered by ID, not delivered again. */
static void convert_replayed(struct cg_flow *f)
{
    while (f->hlen > 0 && room(f)) {
        struct cg_flow_held *h = &f->held[f->hhead];
        if (h->has_id)
            cg__flow_replay_delivered(f, h->msgid, h->digest);
        release(f, CG_FLOW_IN, h->ref);
        f->hhead = (f->hhead + 1) % f->hcap;
        f->hlen--;
    }
    f->convert_pending = f->hlen > 0;
}

void cg__flow_replay_done(struct cg_flow *f, uint64_t now_ms)
{
    f->now = now_ms;
    if (!f->cfg.journal)
        convert_replayed(f);
    if (!f->convert_pending)
        next_held(f, now_ms);
}

/* ---- the M-22 memory's byte budget (issue 19) ----
 * The memory is a count (CG_FLOW_SEEN), so without a budget it could hold
 * CG_FLOW_SEEN answers of max_message each per lane. The answers it lets go
 * of are big ones, which answer queries (mosReqObj, roReq, mosReqAll...):
 * the sender may simply ask again. */

static size_t held_answer_bytes(const struct cg_flow *f)
{
    size_t n = 0;
    for (size_t i = 0; i < CG_FLOW_SEEN; i++)
        if (f->seen[i].msgid[0] != '\0' && f->seen[i].answered)
            n += f->seen[i].bytes;
    return n;
}

/* The oldest answer above CG_FLOW_SMALL_ANSWER that is not the newest. */
static struct cg_flow_seen *oldest_big(struct cg_flow *f)
{
    struct cg_flow_seen *o = NULL;
    for (size_t i = 0; i < CG_FLOW_SEEN; i++) {
        struct cg_flow_seen *s = &f->seen[i];
        if (s->msgid[0] != '\0' && s->answered && s->bytes > CG_FLOW_SMALL_ANSWER &&
            s->seq != f->answer_seq && (o == NULL || s->seq < o->seq))
            o = s;
    }
    return o;
}

static void evict(struct cg_flow *f, struct cg_flow_seen *s)
{
    flog(f, CG_FLOW_IN, CG_LOG_DEBUG, "answer to messageID %s (%zu bytes) let go of "
         "(answer_memory %zu bytes); its messageID stays remembered", s->msgid, s->bytes,
         f->cfg.answer_memory);
    release(f, CG_FLOW_IN, s->answer);
    s->answered = false;
    s->answer = 0;
    s->bytes = 0;
    s->evicted = true;
    f->stats.answers_evicted++;
}

/* Big answers let go of, oldest first, until the total is within the
 * budget. false: stopped for room in acts[] (goes on in resume()). */
static bool evict_answers(struct cg_flow *f)
{
    size_t total = held_answer_bytes(f);
    struct cg_flow_seen *s;
    while (total > f->cfg.answer_memory && (s = oldest_big(f)) != NULL) {
        if (!room(f))
            return false;
        total -= s->bytes;
        evict(f, s);
    }
    return true;
}

/* The answer just remembered for msgid is `bytes` long and the newest. */
static void sized(struct cg_flow *f, const char *msgid, uint64_t answer, size_t bytes)
{
    struct cg_flow_seen *s = msgid != NULL ? find_seen(f, msgid) : NULL;
    if (s == NULL || !s->answered || s->answer != answer)
        return; /* not remembered (no messageID, or too long one) */
    s->bytes = bytes;
    s->seq = ++f->answer_seq;
    evict_answers(f);
}

enum cg_err cg__flow_app_answer_sized(struct cg_flow *f, uint64_t now_ms, uint64_t token,
                                      uint64_t answer, size_t bytes)
{
    CG_CHECK(f != NULL && answer != 0, CG_EINVAL);
    CG_CHECK(f->in_state == CG_FLOW_IN_APP && token == f->cur_token, CG_ESTATE);
    const struct cg_flow_held h = f->cur; /* cur moves on to the next held request */
    CG_GUARD(cg__flow_app_answer(f, now_ms, token, answer));
    sized(f, h.has_id ? h.msgid : NULL, answer, bytes);
    return CG_OK;
}

void cg__flow_replay_answer_sized(struct cg_flow *f, const char *msgid, const uint8_t *digest,
                                  uint64_t answer, size_t bytes)
{
    cg__flow_replay_answer(f, msgid, digest, answer);
    if (msgid != NULL && msgid[0] != '\0' && strlen(msgid) < CG_FLOW_MSGID)
        sized(f, msgid, answer, bytes);
}

void cg__flow_replay_evicted(struct cg_flow *f, const char *msgid, const uint8_t *digest)
{
    replay_unhold(f, msgid); /* its request is done */
    if (msgid == NULL || msgid[0] == '\0' || strlen(msgid) >= CG_FLOW_MSGID)
        return;
    struct cg_flow_seen *s = seen_slot(f, msgid);
    if (s->answered)
        release(f, CG_FLOW_IN, s->answer);
    s->answered = false;
    s->answer = 0;
    s->bytes = 0;
    s->evicted = true;
    s->restored = false;
    s->has_digest = digest != NULL;
    if (digest != NULL)
        memcpy(s->digest, digest, CG_FLOW_DIGEST);
}

/* A repeat of one whose answer was let go of: never delivered twice (M-22),
 * refused with a NACK that says why. */
static bool not_held(struct cg_flow *f, uint64_t now, const struct cg_flow_held *h, bool fresh)
{
    flog(f, CG_FLOW_IN, CG_LOG_WARN, "<%s> messageID %s again: its answer is no longer held "
         "(answer_memory): refused with a NACK", h->name, h->msgid);
    f->stats.repeats_not_held++;
    if (!fresh && f->cfg.record) { /* a journaled repeat: closed, answered without its answer */
        struct cg_flow_act *a = emit(f, CG_FLOW_A_JOURNAL_ANSWER, CG_FLOW_IN);
        copy_id(a->msgid, h->msgid);
        memcpy(a->digest, h->digest, CG_FLOW_DIGEST);
    }
    nack(f, now, h->msgid, "castgate: the answer to messageID %s is no longer held (too big "
         "to keep for repeats); ask again", h->msgid);
    return false;
}

/* Long work goes on as the actions are drained (cg__flow_action). */
static void resume(struct cg_flow *f)
{
    f->more = false;
    if (f->abandon_pending) {
        abandon_held(f);
        if (f->abandon_pending)
            return;
    }
    if (!evict_answers(f))
        return;
    if (f->convert_pending) {
        convert_replayed(f);
        if (f->convert_pending)
            return;
    }
    if (!f->cfg.journal && !f->up[CG_FLOW_IN] && f->hlen > 0) {
        drop_held(f);
        return;
    }
    next_held(f, f->now);
}

const char *cg__flow_act_name(enum cg_flow_act_kind k)
{
    static const char *const names[] = {
        "SEND_REQUEST", "SEND_ANSWER", "SEND_NACK", "SEND_ACK", "SEND_HEARTBEAT",
        "SEND_KEEPALIVE", "DELIVER", "COMPLETE", "JOURNAL_REQUEST", "JOURNAL_ANSWER", "KEEP",
        "RELEASE", "RESERVE_IDS", "ARM", "DISARM", "LOG"};
    return (size_t)k < CG_ARRAY_LEN(names) ? names[k] : "?";
}
