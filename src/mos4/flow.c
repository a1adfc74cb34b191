/* The message flow on a lane (M-22): one request in flight per OUT lane,
 * answers matched by messageID, retries with the same messageID; on an IN
 * lane one request with the application at a time, repeated messageIDs
 * answered again from memory, never delivered twice. */
#include "mos/mos.h"
#include "mos4/mos4.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LANE_OF(h, field) ((struct mos4_lane *)((char *)(h) - offsetof(struct mos4_lane, field)))
#define HEARTBEAT_MIN_GAP_MS 1000

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

/* ---- OUT lanes ---- */

static void free_pending(struct mos4_pending *p)
{
    free(p->elem);
    free(p->wire);
    free(p);
}

static void on_ack_timeout(uv_timer_t *t);

void cg__mos4_out_kick(struct mos4_lane *l)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    if (ep->freeing || !l->up || l->dir != CG_MOS_OUT)
        return;
    struct mos4_pending *p = l->inflight;
    if (p == NULL) {
        if ((p = l->head) == NULL)
            return;
        l->head = p->next;
        if (l->head == NULL)
            l->tail = NULL;
        l->inflight = p;
    }
    if (p->msgid == 0 && !p->keep_id)
        p->msgid = cg__mos4_next_msgid(l); /* a retry keeps its messageID (M-22) */
    char id[sizeof(p->msgid_text)];
    if (p->keep_id)
        snprintf(id, sizeof(id), "%s", p->msgid_text);
    else
        snprintf(id, sizeof(id), "%u", (unsigned)p->msgid);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    enum cg_err rc = p->wire != NULL ? CG_OK : cg__mos4_wrap(l, p->elem, p->len, id, &b);
    if (rc == CG_OK) /* a forward was wrapped once, when queued */
        rc = p->wire != NULL ? cg__mos4_lane_write(l, (const char *)p->wire, p->wlen)
                             : cg__mos4_lane_write(l, (const char *)b.data, b.len);
    cg__buf_free(&b);
    p->tries++;
    if (rc != CG_OK)
        lane_log(l, CG_LOG_WARN, "sending <%s> failed: %s", p->name, cg_strerror(rc));
    uv_timer_start(&l->ack_timer, on_ack_timeout, ep->cfg.ack_timeout_ms, 0);
}

static void msgid_of(const struct mos4_pending *p, char *id, size_t sz);

static void complete(struct mos4_lane *l, enum cg_err status, const struct cg_mos_message *m)
{
    struct mos4_pending *p = l->inflight;
    l->inflight = NULL;
    l->queued--;
    uv_timer_stop(&l->ack_timer);
    msgid_of(p, l->last_answered, sizeof(l->last_answered)); /* to name a repeated answer */
    if (p->cb != NULL)
        p->cb(p->user, status, m);
    free_pending(p);
    /* The callback may have queued the next request and sent it already (a
     * relay forwards from it): kicking again would send that one twice. */
    if (l->inflight == NULL)
        cg__mos4_out_kick(l);
}

static void msgid_of(const struct mos4_pending *p, char *id, size_t sz)
{
    if (p->keep_id)
        snprintf(id, sz, "%s", p->msgid_text[0] ? p->msgid_text : "(none)");
    else
        snprintf(id, sz, "%u", (unsigned)p->msgid);
}

/* M-22: sent again with the same messageID after each timeout, up to the
 * retry budget; then the sender hears CG_ETIMEDOUT and the lane moves on. */
static void on_ack_timeout(uv_timer_t *t)
{
    struct mos4_lane *l = LANE_OF(t, ack_timer);
    struct mos4_pending *p = l->inflight;
    if (p == NULL || !l->up)
        return; /* sent again when the lane is back (lane.c) */
    uint32_t retries = l->peer->ep->cfg.retries;
    char id[sizeof(p->msgid_text)];
    msgid_of(p, id, sizeof(id));
    if (++p->timeouts > retries) {
        lane_log(l, CG_LOG_ERROR, "no answer to <%s> messageID %s after %u send(s): giving up, "
                 "the next request goes on", p->name, id, p->tries);
        complete(l, CG_ETIMEDOUT, NULL);
        return;
    }
    lane_log(l, CG_LOG_WARN, "no answer to <%s> messageID %s yet: sending it again (%u of %u)",
             p->name, id, p->timeouts, (unsigned)retries);
    cg__mos4_out_kick(l);
}

static bool asked_without_id(const struct mos4_pending *p)
{
    return p->keep_id && p->msgid_text[0] == '\0';
}

static bool same_id(const struct mos4_lane *l, const struct cg_mos_envelope *env,
                    const struct mos4_pending *p)
{
    if (env->message_id_kind == CG_MOS_MSGID_ABSENT) /* lenient: legacy peers (M-11) */
        return true;
    if (asked_without_id(p)) /* by kind (M-11) */
        return cg__mos4_answer_fits(l->ch, p->name, env->name);
    if (!p->keep_id)
        return env->message_id_kind == CG_MOS_MSGID_OK && env->message_id_value == p->msgid;
    uint32_t a = 0; /* "0x1F" answers "31": compare values when both are numbers */
    if (cg_mos_message_id_parse(p->msgid_text, &a) == CG_MOS_MSGID_OK &&
        env->message_id_kind == CG_MOS_MSGID_OK)
        return env->message_id_value == a;
    return strcmp(env->message_id, p->msgid_text) == 0;
}

static void on_answer(struct mos4_lane *l, const struct cg_mos_message *m)
{
    const struct cg_mos_envelope *env = m->env;
    const struct mos4_pending *p = l->inflight;
    if (env->message_id_kind != CG_MOS_MSGID_ABSENT &&
        strcmp(env->message_id, l->last_answered) == 0 &&
        (p == NULL || asked_without_id(p) || !same_id(l, env, p))) { /* M-22: a retry's 2nd answer */
        lane_log(l, CG_LOG_INFO, "<%s> answers messageID %s again (it was sent again before its "
                 "answer came): dropped, it was taken the first time", env->name, env->message_id);
        return;
    }
    if (l->inflight == NULL) {
        lane_log(l, CG_LOG_WARN, "<%s> arrived with no request outstanding: dropped", env->name);
        return;
    }
    if (!same_id(l, env, l->inflight)) {
        char id[sizeof(l->inflight->msgid_text)];
        msgid_of(l->inflight, id, sizeof(id));
        lane_log(l, CG_LOG_WARN, "<%s> messageID %s does not answer <%s> messageID %s, the one "
                 "outstanding: dropped", env->name, env->message_id, l->inflight->name, id);
        return;
    }
    complete(l, cg__mos4_is_nack(env->name, m->xml, m->len) ? CG_ENACK : CG_OK, m);
}

static enum cg_err ack_element(int ch, bool ok, const char *description, struct cg_buf *b);

/* An answer that is not a MOS message (ENPS: "<mos>Invalid command: heartbeat
 * requestID=…</mos>": no IDs, no element) refuses the request in flight: it
 * completes with CG_ENACK and a NACK carrying the text, never sent again. */
static void on_unreadable_answer(struct mos4_lane *l, const char *xml, size_t len,
                                 const char *detail)
{
    char text[200], why[230], shown[700];
    cg__mos4_answer_text(xml, len, text, sizeof(text));
    cg__log_escape(shown, sizeof(shown), text, strlen(text));
    struct mos4_pending *p = l->inflight;
    if (p == NULL) {
        lane_log(l, CG_LOG_WARN, "not a MOS message (%s) with no request outstanding: dropped: %s",
                 detail != NULL ? detail : "?", shown);
        return;
    }
    char id[sizeof(p->msgid_text)];
    msgid_of(p, id, sizeof(id));
    lane_log(l, CG_LOG_WARN, "<%s> messageID %s answered with something that is not a MOS message "
             "(%s): taken as a NACK, not sent again: %s", p->name, id,
             detail != NULL ? detail : "?", shown);
    snprintf(why, sizeof(why), "peer answered: %s", text[0] ? text : "(nothing readable)");
    struct cg_buf b, w;
    cg__buf_init(&b, 0);
    cg__buf_init(&w, 0);
    struct cg_mos_envelope env;
    enum cg_err rc = ack_element(l->ch, false, why, &b);
    if (rc == CG_OK)
        rc = cg__mos4_wrap(l, (const char *)b.data, b.len, p->keep_id ? p->msgid_text : id, &w);
    if (rc == CG_OK)
        rc = cg_mos_envelope_parse(CG_MOS_UTF8, w.data, w.len, &env, NULL);
    struct cg_mos_message m = {.peer_id = l->peer->id, .channel = cg__mos4_ch_bit(l->ch),
                               .env = &env, .xml = (const char *)w.data, .len = w.len,
                               .enc = CG_MOS_UTF8};
    complete(l, CG_ENACK, rc == CG_OK ? &m : NULL);
    cg__buf_free(&b);
    cg__buf_free(&w);
}

/* ---- IN lanes ---- */

static struct mos4_seen *find_seen(struct mos4_lane *l, const char *msgid)
{
    for (size_t i = 0; i < CG_MOS4_SEEN; i++)
        if (l->seen[i].msgid[0] != '\0' && strcmp(l->seen[i].msgid, msgid) == 0)
            return &l->seen[i];
    return NULL;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void answer_heartbeat(struct mos4_lane *l, const struct cg_mos_envelope *env)
{
    uint64_t now = cg__now_ms();
    if (now - l->last_heartbeat_reply_ms < HEARTBEAT_MIN_GAP_MS) { /* M-10: rate limit */
        lane_log(l, CG_LOG_DEBUG, "heartbeat answered less than a second ago: not again");
        return;
    }
    l->last_heartbeat_reply_ms = now;
    uint8_t *hb = NULL;
    size_t n = 0;
    if (cg_mos_build_heartbeat_form(CG_MOS_UTF8, cg__mos4_mos_id(l), cg__mos4_ncs_id(l),
                                    env->message_id_kind != CG_MOS_MSGID_ABSENT ? env->message_id
                                                                                : NULL,
                                    wall_ms(), l->peer->ep->cfg.heartbeat_form, &hb, &n) == CG_OK)
        cg__mos4_lane_write(l, (const char *)hb, n);
    cg_mos_free(hb);
}

/* Room for one more request behind the one with the application? */
static bool room_to_hold(struct mos4_lane *l, const struct cg_mos_message *m)
{
    if (l->nheld < CG_MOS4_MAX_HELD)
        return true;
    /* a peer ignoring stop-and-wait (M-22) */
    lane_log(l, CG_LOG_WARN, "<%s> messageID %s: %d requests already wait: refused with a NACK",
             m->env->name, m->env->message_id, CG_MOS4_MAX_HELD);
    char why[120];
    snprintf(why, sizeof(why), "castgate: %d requests already wait on this channel; send one "
             "at a time (M-22)", CG_MOS4_MAX_HELD);
    cg__mos4_nack_invalid(l, m->env->message_id_kind != CG_MOS_MSGID_ABSENT ? m->env->message_id
                                                                            : NULL, why);
    return false;
}

static bool hold(struct mos4_lane *l, const struct cg_mos_message *m, const uint8_t *digest)
{
    struct mos4_held *h = calloc(1, sizeof(*h));
    if (h == NULL || (h->wire = malloc(m->len)) == NULL) {
        free(h);
        return false; /* the peer sends it again: nothing is lost */
    }
    memcpy(h->wire, m->xml, m->len);
    h->len = m->len;
    h->has_msgid = m->env->message_id_kind != CG_MOS_MSGID_ABSENT;
    snprintf(h->msgid, sizeof(h->msgid), "%s", m->env->message_id);
    memcpy(h->digest, digest, CG_MOS4_DIGEST);
    cg__mos4_held_push(l, h);
    return true;
}

void cg__mos4_held_push(struct mos4_lane *l, struct mos4_held *h)
{
    if (l->held_tail != NULL)
        l->held_tail->next = h;
    else
        l->held_head = h;
    l->held_tail = h;
    l->nheld++;
}

static void refuse_unrecorded(struct mos4_lane *l, const struct cg_mos_message *m);

static const char default_mach_info[] =
    "<listMachInfo><manufacturer>castgate</manufacturer><model>castgate</model><hwRev/>"
    "<swRev>0.1.0</swRev><DOM/><SN/><ID/><time/><opTime/><mosRev>4.0</mosRev></listMachInfo>";

/* Forgets what msgid meant before: a reused messageID now means this request. */
static void forget(struct mos4_lane *l, const char *msgid)
{
    struct mos4_seen *s;
    while ((s = find_seen(l, msgid)) != NULL) {
        free(s->answer);
        *s = (struct mos4_seen){0};
    }
}

static void deliver(struct mos4_lane *l, const struct cg_mos_message *m, const uint8_t *digest,
                    bool repeat)
{
    struct cg_mos_endpoint *ep = l->peer->ep;
    struct cg_mos_request *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return;
    req->lane = l;
    req->has_msgid = m->env->message_id_kind != CG_MOS_MSGID_ABSENT;
    snprintf(req->msgid, sizeof(req->msgid), "%s", m->env->message_id);
    snprintf(req->name, sizeof(req->name), "%s", m->env->name);
    memcpy(req->digest, digest, CG_MOS4_DIGEST);
    if (!ep->cfg.journal && /* on disk before the application sees it (with a journal: since
                             * it was accepted) */
        !cg__mos4_journal_request(l, req->has_msgid ? req->msgid : NULL, digest, m->xml, m->len)) {
        refuse_unrecorded(l, m);
        free(req);
        return;
    }
    req->seen_idx = l->seen_next;
    if (req->has_msgid) { /* remembered from now on, so a repeat is not delivered twice */
        forget(l, req->msgid);
        struct mos4_seen *s = &l->seen[l->seen_next];
        l->seen_next = (l->seen_next + 1) % CG_MOS4_SEEN;
        free(s->answer);
        *s = (struct mos4_seen){.has_digest = true};
        snprintf(s->msgid, sizeof(s->msgid), "%s", req->msgid);
        memcpy(s->digest, digest, CG_MOS4_DIGEST);
    }
    if (l->jfd >= 0 && ep->cfg.journal && /* for compaction (without the option: its ID only) */
        (req->wire = malloc(m->len)) != NULL) {
        memcpy(req->wire, m->xml, m->len);
        req->wlen = m->len;
    }
    l->current = req;
    struct cg_mos_message mm = *m;
    mm.repeat = repeat;
    if (ep->h.on_request != NULL)
        ep->h.on_request(ep->user, req, &mm);
    else if (strcmp(req->name, "reqMachInfo") == 0)
        cg_mos_reply(req, default_mach_info, strlen(default_mach_info));
    else
        cg_mos_reply_ack(req, true, NULL);
}

/* Issue 12 item 8: a request the journal could not record is refused (the
 * sender retries later), never acknowledged without its record. */
static void refuse_unrecorded(struct mos4_lane *l, const struct cg_mos_message *m)
{
    char why[160];
    snprintf(why, sizeof(why), "castgate: cannot record the request (%s); send it again later",
             strerror(errno));
    lane_log(l, CG_LOG_ERROR, "<%s> messageID %s: %s", m->env->name, m->env->message_id, why);
    cg__mos4_nack_invalid(l, m->env->message_id_kind != CG_MOS_MSGID_ABSENT ? m->env->message_id
                                                                            : NULL, why);
}

/* The same messageID with other content is another request (an NCS pair or
 * a reset NCS reissues IDs): delivered, or refused by the endpoint's setting
 * (cg_mos_endpoint_config_set_reused_id). true: it goes on as new. */
static bool reused_goes_on(struct mos4_lane *l, const struct cg_mos_envelope *env)
{
    char why[4 * CG_MOS_ID_MAX + 64];
    snprintf(why, sizeof(why), "messageID %s reused with different content", env->message_id);
    if (l->peer->ep->cfg.reused_id == CG_MOS_REUSED_NACK) {
        lane_log(l, CG_LOG_WARN, "<%s> %s: refused", env->name, why);
        cg__mos4_nack_invalid(l, env->message_id, why);
        return false;
    }
    lane_log(l, CG_LOG_WARN, "<%s> %s: delivered as a new request", env->name, why);
    return true;
}

/* A repeat of the request with the application, or of one waiting behind
 * it (same messageID, same content): the same request, answered when its
 * turn comes (M-22). NULL if none has this messageID. */
static struct mos4_held *find_held(struct mos4_lane *l, const char *msgid)
{
    for (struct mos4_held *h = l->held_head; h != NULL; h = h->next)
        if (h->has_msgid && strcmp(h->msgid, msgid) == 0)
            return h;
    return NULL;
}

/* A repeat of a request waiting its turn (same messageID, same content)?
 * issue 12 item 10: e.g. the peer's repeats after our restart, while the
 * journaled requests wait: never counted twice, never refused; answered in
 * their turn. */
static bool waits_its_turn(struct mos4_lane *l, const struct cg_mos_envelope *env,
                           const uint8_t *digest)
{
    struct mos4_held *h = find_held(l, env->message_id);
    if (h == NULL || memcmp(h->digest, digest, CG_MOS4_DIGEST) != 0)
        return false;
    lane_log(l, CG_LOG_INFO, "messageID %s again while it waits its turn: answered then",
             env->message_id);
    return true;
}

/* A request delivered before a restart, its answer lost with it, and the
 * redeliver rule off: acknowledged, not delivered twice. */
static void ack_restored(struct mos4_lane *l, struct mos4_seen *s, const char *name)
{
    struct cg_mos_request *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return;
    *req = (struct cg_mos_request){.lane = l, .has_msgid = true, .seen_idx = (size_t)(s - l->seen)};
    snprintf(req->msgid, sizeof(req->msgid), "%s", s->msgid);
    snprintf(req->name, sizeof(req->name), "%s", name);
    memcpy(req->digest, s->digest, CG_MOS4_DIGEST);
    struct cg_mos_request *cur = l->current;
    l->current = req;
    cg_mos_reply_ack(req, true, NULL);
    l->current = cur;
}

/* What the memory of messageIDs says about a request (M-22). Returns true
 * when it is new (to deliver or hold); *repeat set when it may have been
 * delivered before a restart. */
static bool is_new(struct mos4_lane *l, const struct cg_mos_message *m, const uint8_t *digest,
                   bool fresh, bool *repeat)
{
    const struct cg_mos_envelope *env = m->env;
    if (env->message_id_kind == CG_MOS_MSGID_ABSENT)
        return true;
    struct mos4_seen *s = find_seen(l, env->message_id);
    if (s != NULL && s->restored && fresh && waits_its_turn(l, env, digest))
        return false; /* the restored memory stays until the held one is delivered */
    if (s != NULL && s->has_digest && memcmp(s->digest, digest, CG_MOS4_DIGEST) != 0)
        return reused_goes_on(l, env); /* the old memory goes when this one is delivered */
    if (s != NULL && s->answer != NULL) { /* M-22: a lost answer, asked again */
        lane_log(l, CG_LOG_INFO, "messageID %s again: answered again from memory", env->message_id);
        if (!fresh) /* a journaled repeat: closed with the answer it got */
            cg__mos4_journal_answer(l, env->message_id, s->digest, s->answer, s->len);
        if (l->up)
            cg__mos4_lane_write(l, (const char *)s->answer, s->len);
        return false;
    }
    if (s != NULL && s->restored && l->peer->ep->cfg.redeliver) {
        lane_log(l, CG_LOG_WARN, "messageID %s again after a restart: delivered again, marked as "
                 "a possible repeat (M-22)", env->message_id);
        *repeat = true; /* forgotten only once deliver() recorded it: recording may fail */
        return true;
    }
    if (s != NULL && s->restored) {
        lane_log(l, CG_LOG_WARN, "messageID %s again after a restart: it was delivered before; "
                 "acknowledged, not delivered twice", env->message_id);
        ack_restored(l, s, env->name);
        return false;
    }
    if (s != NULL) {
        lane_log(l, CG_LOG_INFO, "messageID %s again while it is being answered: ignored",
                 env->message_id);
        return false;
    }
    if (fresh && waits_its_turn(l, env, digest))
        return false;
    return !fresh || find_held(l, env->message_id) == NULL || reused_goes_on(l, env);
}

/* Issue 12 item 12: does an envelope ID name who the lane is for? ASCII case
 * is ignored (field gear changes it), and a fully qualified name counts as
 * its first labels (profile 6, M-23): "dev", "DEV" and "dev.studio.example"
 * name the same device, "devx" and "dev-2" do not. */
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

/* The envelope names this lane's pair of IDs: the standard way, or swapped
 * (Sofie mos-connection as an NCS writes its own ID as mosID and the
 * device's as ncsID). A third ID in either field is refused with a NACK. */
static bool ids_fit(struct mos4_lane *l, const struct cg_mos_envelope *env)
{
    const char *mos = cg__mos4_mos_id(l), *ncs = cg__mos4_ncs_id(l);
    if (pair_is(env, mos, ncs) || pair_is(env, ncs, mos))
        return true;
    bool bad_mos = env->has_mos_id && !id_names(env->mos_id, mos) && !id_names(env->mos_id, ncs);
    const char *field = bad_mos ? "mosID" : "ncsID", *got = bad_mos ? env->mos_id : env->ncs_id;
    const char *want = bad_mos ? mos : ncs;
    char esc[4 * CG_MOS_ID_MAX * 4 + 1], why[4 * CG_MOS_ID_MAX * 2 + 120];
    cg__log_escape(esc, sizeof(esc), got, strlen(got));
    lane_log(l, CG_LOG_WARN, "<%s> names %s \"%s\", not this lane's \"%s\": refused with a NACK",
             env->name, field, esc, want);
    snprintf(why, sizeof(why), "castgate: %s %.128s is not this connection's (%.128s)", field, got,
             want);
    cg__mos4_nack_invalid(l, env->message_id_kind != CG_MOS_MSGID_ABSENT ? env->message_id : NULL,
                          why);
    return false;
}

/* fresh: just received (not taken from the held list or the journal);
 * repeat: replayed from the journal, so possibly delivered before. */
static void on_request(struct mos4_lane *l, const struct cg_mos_message *m, bool fresh,
                       bool repeat)
{
    const struct cg_mos_envelope *env = m->env;
    const struct cg_mos_endpoint *ep = l->peer->ep;
    if (!ids_fit(l, env))
        return;
    if (strcmp(env->name, "heartbeat") == 0 && !ep->cfg.deliver_heartbeats) {
        answer_heartbeat(l, env);
        return;
    }
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(env->name, strlen(env->name));
    if (info != NULL && info->is_reply) {
        lane_log(l, CG_LOG_WARN, "<%s> is an answer, not a request: dropped", env->name);
        return;
    }
    uint8_t digest[CG_MOS4_DIGEST];
    cg__mos4_digest(m->xml + env->element.off, env->element.len, digest);
    if (!is_new(l, m, digest, fresh, &repeat))
        return;
    if (l->current != NULL && !room_to_hold(l, m)) /* one request at a time (M-22) */
        return;
    if (fresh && ep->cfg.journal && /* accepted: on disk before anyone acts on it */
        !cg__mos4_journal_request(l, env->message_id_kind != CG_MOS_MSGID_ABSENT ? env->message_id
                                                                                 : NULL,
                                  digest, m->xml, m->len)) {
        refuse_unrecorded(l, m);
        return;
    }
    if (l->current != NULL)
        hold(l, m, digest);
    else
        deliver(l, m, digest, repeat);
}

/* ---- what arrives ---- */

/* An IN-lane message we cannot take: a NACK where the channel has one. */
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
    bool has_id = msgid != NULL && msgid[0] != '\0';
    struct cg_buf b, w;
    cg__buf_init(&b, 0);
    cg__buf_init(&w, 0);
    if (ack_element(l->ch, false, why, &b) == CG_OK &&
        cg__mos4_wrap(l, (const char *)b.data, b.len, has_id ? msgid : NULL, &w) == CG_OK)
        cg__mos4_lane_write(l, (const char *)w.data, w.len);
    cg__buf_free(&b);
    cg__buf_free(&w);
}

static bool is_keepalive(const char *name) { return strcasecmp(name, "keepAlive") == 0; }

/* ---- validation (issue 13 item 5): the bounded pre-scan on the loop, then
 * libxml2 — on the loop for small messages, on the thread pool for large
 * ones. While a lane's message is on the pool, later messages on that lane
 * wait (in order) and other lanes go on. ---- */

struct mos4_vjob {
    uv_work_t w;
    struct mos4_lane *lane; /* NULL once the lane is gone: the job only frees itself */
    enum cg_err rc;
    enum cg_mos_encoding enc;
    size_t len;
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
    CHECK_NONE, /* held and replayed requests: checked when they arrived */
    CHECK_XML,  /* the pre-scan ran on the wire bytes: libxml2 only */
    CHECK_ALL   /* the pre-scan, then libxml2 */
};

static void take(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                 bool fresh, bool repeat, enum check check);
static void receive(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len);

static void refuse_invalid(struct mos4_lane *l, const struct cg_mos_envelope *env, enum cg_err rc)
{
    lane_log(l, CG_LOG_WARN, "<%s> is not well-formed XML: refused (%s)", env->name,
             cg_strerror(rc));
    cg__mos4_nack_invalid(l, env->message_id, "message is not well-formed XML");
}

static void vjob_work(uv_work_t *w)
{
    struct mos4_vjob *j = w->data;
    j->rc = cg__mos_validate_xml(j->enc, j->xml, j->len, NULL);
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

static void vjob_after(uv_work_t *w, int status)
{
    struct mos4_vjob *j = w->data;
    struct mos4_lane *l = j->lane;
    if (l != NULL) {
        l->vjob = NULL;
        struct cg_mos_envelope env;
        if (status != 0 || j->rc != CG_OK) {
            if (cg_mos_envelope_parse(j->enc, j->xml, j->len, &env, NULL) == CG_OK)
                refuse_invalid(l, &env, status != 0 ? CG_ECLOSED : j->rc);
        } else {
            take(l, j->enc, j->xml, j->len, true, false, CHECK_NONE);
        }
        vwait_drain(l);
    }
    free(j);
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
    struct cg_mos_envelope own;
    if (env == NULL && cg_mos_envelope_parse(enc, msg, len, &own, NULL) == CG_OK)
        env = &own;
    char nack[160];
    lane_log(l, CG_LOG_WARN, "<%s> refused before parsing: %s (byte %llu of %zu)",
             env != NULL ? env->name : "?", why, (unsigned long long)at, len);
    snprintf(nack, sizeof(nack), "message refused: %s", why);
    cg__mos4_nack_invalid(l, env != NULL ? env->message_id : NULL, nack);
    return false;
}

/* Validates a fresh message. Returns true if it may go on now; false if it
 * was refused (and NACKed) or went to the thread pool (it goes on from
 * vjob_after). */
static bool validated(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                      const struct cg_mos_envelope *env, enum check check)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    if (!ep->cfg.validate || check == CHECK_NONE)
        return true;
    if (check == CHECK_ALL && !scan_ok(l, enc, xml, len, env))
        return false;
    if (len > ep->cfg.async_validate) {
        struct mos4_vjob *j = malloc(sizeof(*j) + len + 1);
        if (j != NULL) {
            memcpy(j->xml, xml, len);
            j->xml[len] = '\0';
            j->len = len;
            j->enc = enc;
            j->lane = l;
            j->w.data = j;
            cg__mos_validate_init(); /* libxml2's globals, on this thread first */
            if (uv_queue_work(cg_ctx_loop(ep->ctx), &j->w, vjob_work, vjob_after) == 0) {
                l->vjob = j;
                return false;
            }
            free(j);
        }
        /* no memory or no pool: check it here rather than not at all */
    }
    enum cg_err rc = cg__mos_validate_xml(enc, xml, len, NULL);
    if (rc != CG_OK) {
        refuse_invalid(l, env, rc);
        return false;
    }
    return true;
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

/* A UCS-2BE message the endpoint reads as UTF-8 (its application asked for
 * UTF-8: cg_mos_endpoint_config_set_wire_messages off): pre-scanned on its
 * own bytes, then converted once. */
static void take_as_utf8(struct mos4_lane *l, const char *data, size_t len, bool fresh,
                         bool repeat, enum check check)
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
    take(l, CG_MOS_UTF8, (const char *)utf8, n, fresh, repeat,
         check == CHECK_ALL ? CHECK_XML : check);
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

/* An answer that is not a MOS message, in any encoding: its text as UTF-8. */
static void unreadable(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                       const char *detail)
{
    uint8_t *utf8 = NULL;
    size_t n = 0;
    if (enc == CG_MOS_UTF8 || cg_mos_convert(enc, xml, len, &utf8, &n, NULL) != CG_OK)
        on_unreadable_answer(l, enc == CG_MOS_UTF8 ? xml : "", enc == CG_MOS_UTF8 ? len : 0,
                             detail);
    else
        on_unreadable_answer(l, (const char *)utf8, n, detail);
    cg_mos_free(utf8);
}

/* One message (xml, len in enc), parsed once: the envelope and the element's
 * span are read in place, in the message's own encoding (issue 13 item 4). */
static void take(struct mos4_lane *l, enum cg_mos_encoding enc, const char *xml, size_t len,
                 bool fresh, bool repeat, enum check check)
{
    if (enc != CG_MOS_UTF8 && !l->peer->ep->cfg.wire_messages) {
        take_as_utf8(l, xml, len, fresh, repeat, check);
        return;
    }
    if (check != CHECK_NONE && !wire_ok(l, enc, xml, len))
        return;
    struct cg_mos_envelope env;
    const char *detail = NULL;
    if (cg_mos_envelope_parse(enc, xml, len, &env, &detail) != CG_OK) {
        if (l->dir == CG_MOS_OUT) {
            unreadable(l, enc, xml, len, detail);
            return;
        }
        lane_log(l, CG_LOG_WARN, "not one MOS message (%s): refused", detail ? detail : "?");
        cg__mos4_nack_invalid(l, NULL, "not one MOS message");
        return;
    }
    if (!validated(l, enc, xml, len, &env, check))
        return;
    if (is_keepalive(env.name))
        return; /* M-09: ends here, never answered, never delivered */
    /* validated(): with validation on, checked now or when it arrived (held,
     * replayed) */
    struct cg_mos_message m = {.peer_id = l->peer->id, .channel = cg__mos4_ch_bit(l->ch),
                               .env = &env, .xml = xml, .len = len, .enc = enc,
                               .validated = l->peer->ep->cfg.validate};
    if (l->dir == CG_MOS_OUT)
        on_answer(l, &m);
    else
        on_request(l, &m, fresh, repeat);
}

void cg__mos4_on_message(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len)
{
    if (l->vjob != NULL || l->vwait_head != NULL) /* per-lane order */
        vwait_push(l, binary, data, len);
    else
        receive(l, binary, data, len);
}

/* M-04: a text frame is UTF-8 (checked by the WebSocket layer), a binary one
 * (and a UCS-2BE legacy peer's message) UCS-2BE: taken as it came. */
static void receive(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len)
{
    take(l, binary ? CG_MOS_UCS2BE : CG_MOS_UTF8, (const char *)data, len, true, false,
         CHECK_ALL);
}

/* ---- answering ---- */

/* With a journal, held requests are on disk and go on while the peer is
 * away: their answers wait in memory for its repeat. */
static void next_held(struct mos4_lane *l)
{
    while (l->current == NULL && l->held_head != NULL && (l->up || l->peer->ep->cfg.journal) &&
           !l->peer->ep->freeing && !l->peer->removed) {
        struct mos4_held *h = l->held_head;
        l->held_head = h->next;
        if (l->held_head == NULL)
            l->held_tail = NULL;
        l->nheld--;
        take(l, cg__mos4_enc_of(h->wire, h->len), (const char *)h->wire, h->len, false,
             h->replayed, CHECK_NONE);
        free(h->wire);
        free(h);
    }
}

void cg__mos4_replay(struct mos4_lane *l) { next_held(l); }

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

/* The answer b (our envelope, in any encoding) goes out, is remembered and
 * journaled; b is consumed. */
static enum cg_err reply_wire(struct cg_mos_request *req, struct cg_buf b)
{
    struct mos4_lane *l = req->lane;
    const uint8_t *wire = b.data;
    size_t wlen = b.len;
    struct mos4_seen *s = &l->seen[req->seen_idx];
    if (req->has_msgid && strcmp(s->msgid, req->msgid) == 0) { /* kept for a repeat (M-22) */
        cg__mos4_remember_answer(l, s, b.data, b.len);
        b.data = NULL; /* owned by the seen record now; wire still points at it */
    }
    if (l->current == req)
        l->current = NULL;
    /* on disk before the peer hears it (and after the memory is up to date, for a compaction) */
    cg__mos4_journal_answer(l, req->has_msgid ? req->msgid : NULL, req->digest, wire, wlen);
    if (l->up)
        cg__mos4_lane_write(l, (const char *)wire, wlen);
    cg__buf_free(&b);
    free(req->wire);
    free(req);
    next_held(l);
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

/* ---- lanes going down, the endpoint going away ---- */

void cg__mos4_lane_down(struct mos4_lane *l)
{
    if (l->peer->ep->cfg.journal && !l->peer->ep->freeing && !l->peer->removed)
        return; /* journaled: they are answered, and the answers wait for the repeats */
    while (l->held_head != NULL) { /* never delivered: the peer sends them again */
        struct mos4_held *h = l->held_head;
        l->held_head = h->next;
        free(h->wire);
        free(h);
    }
    l->held_tail = NULL;
    l->nheld = 0;
    /* An OUT request in flight stays: it is sent again, same messageID, once the
     * lane is back. An IN request with the application stays too: its answer is
     * kept and replayed when the peer asks again. */
}

void cg__mos4_flow_free(struct mos4_lane *l)
{
    vjob_forget(l);
    cg__mos4_lane_down(l);
    if (l->inflight != NULL) {
        l->inflight->next = l->head;
        l->head = l->inflight;
        l->inflight = NULL;
    }
    while (l->head != NULL) {
        struct mos4_pending *p = l->head;
        l->head = p->next;
        if (p->cb != NULL)
            p->cb(p->user, CG_ECLOSED, NULL);
        free_pending(p);
    }
    l->tail = NULL;
    l->queued = 0;
    for (size_t i = 0; i < CG_MOS4_SEEN; i++) {
        free(l->seen[i].answer);
        l->seen[i].answer = NULL;
    }
    if (l->current != NULL) /* the application's handle dies with the endpoint */
        free(l->current->wire);
    free(l->current);
    l->current = NULL;
}

/* ---- sending ---- */

/* The OUT lane a new request of len bytes goes on, if it may. */
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
    struct mos4_lane *l = &peer->lanes[ch][CG_MOS_OUT];
    CG_CHECK(l->queued < ep->cfg.max_queue, CG_EFULL);
    *out = l;
    return CG_OK;
}

static void enqueue(struct mos4_lane *l, struct mos4_pending *p)
{
    if (l->tail != NULL)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    l->queued++;
    cg__mos4_out_kick(l);
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
    const struct cg_mos_msg_info *info = rc == CG_OK ? cg_mos_msg_lookup(p->name, strlen(p->name)) : NULL;
    if (rc == CG_OK && info != NULL && info->removed_in_4) {
        lane_log(l, CG_LOG_ERROR, "<%s> was removed in MOS 4.0: not sent (M-12)", p->name);
        rc = CG_EPROTO;
    }
    if (rc == CG_OK && (p->elem = cg__strndup(elem, elen)) == NULL)
        rc = CG_ENOMEM;
    if (rc != CG_OK) {
        free(p);
        return rc == CG_EENVELOPE ? CG_EINVAL : rc;
    }
    p->len = elen;
    p->cb = cb;
    p->user = user;
    enqueue(l, p);
    return CG_OK;
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
    struct mos4_pending *p = calloc(1, sizeof(*p));
    CG_CHECK(p != NULL, CG_ENOMEM);
    snprintf(p->name, sizeof(p->name), "%s", m->env->name);
    p->keep_id = true;
    snprintf(p->msgid_text, sizeof(p->msgid_text), "%s", m->env->message_id);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    enum cg_err rc = cg__mos4_wrap_enc(l, cg__mos4_lane_enc(l), m->enc, m->xml + e->off, e->len,
                                       p->msgid_text, &b);
    if (rc != CG_OK) {
        cg__buf_free(&b);
        free(p);
        return rc;
    }
    p->wire = b.data;
    p->wlen = b.len;
    p->cb = cb;
    p->user = user;
    enqueue(l, p);
    return CG_OK;
}

size_t cg_mos_pending(const struct cg_mos_endpoint *ep, const char *peer_id,
                      enum cg_mos_channel channel)
{
    struct mos4_peer *peer = ep != NULL && peer_id != NULL ? cg__mos4_peer(ep, peer_id) : NULL;
    int ch = cg__mos4_ch_index(channel);
    return peer != NULL && ch >= 0 ? peer->lanes[ch][CG_MOS_OUT].queued : 0;
}
