/* cg_check_mos4: the run. It plays the NCS or the device against a MOS 4.0
 * endpoint over the library's own wss client, one connection per channel,
 * and hands what it saw to the verdicts in mos4_rules.c. Blocking: it turns
 * the context's loop itself until each answer comes or its time is up. */
#include "check/mos4.h"

#include <castgate/client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define M4_QMAX 32
#define TEST_RO "castgate-check-RO"
#define TEST_STORY "castgate-check-S1"

struct m4run;

struct m4conn {
    struct m4run *run;
    struct cg_ws *ws;
    unsigned ch;              /* enum cg_mos_channel */
    bool passive;             /* the query said passive=true */
    bool answerer;            /* the peer originates here and we answer (M-08) */
    bool opened, closed;
    int status;               /* HTTP status of a refused upgrade */
    enum cg_err err;
    struct { bool binary; uint8_t *data; size_t len; } q[M4_QMAX];
    size_t nq;
    unsigned frames, bad_frames, echo_fails, peer_msgs;
    char frame_ev[256], echo_ev[256];
    enum cg_check_verdict frame_v, echo_v;
};

struct m4run {
    const struct cg_check_mos4_opts *o;
    struct cg_check_report *r;
    struct cg_ctx *ctx;
    uv_loop_t *loop;
    uv_timer_t timer;
    struct cg_ws_client_config *cfg;
    struct cg_ws_client *cli, *anon, *wrong; /* with credentials, without, with a wrong password */
    uint32_t next_id;
    unsigned timeout_ms, quiet_ms;
};

static const char *ch_name(unsigned ch) { return cg_mos_channel_name(ch); }

/* ---- the loop ---- */

static void wake(uv_timer_t *t) { (void)t; }

/* Turns the loop until done(c) or ms pass. */
static void pump(struct m4run *run, bool (*done)(const void *), const void *c, unsigned ms)
{
    uint64_t end = cg__now_ms() + ms;
    while (!(done && done(c))) {
        uint64_t now = cg__now_ms();
        if (now >= end)
            break;
        uv_timer_start(&run->timer, wake, end - now, 0);
        uv_run(run->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&run->timer);
}

static bool settled(const void *p)
{
    const struct m4conn *c = p;
    return c->opened || c->closed;
}
static bool is_closed(const void *p) { return ((const struct m4conn *)p)->closed; }
static bool has_frame(const void *p)
{
    const struct m4conn *c = p;
    return c->nq > 0 || c->closed;
}

/* ---- messages ---- */

static void xml_escape(char *dst, size_t dstsz, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < dstsz; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (e)
            o += (size_t)snprintf(dst + o, dstsz - o, "%s", e);
        else
            dst[o++] = *s;
    }
    dst[o] = '\0';
}

/* Sends <mos><mosID/><ncsID/>[<messageID/>]BODY</mos> as one binary UCS-2BE frame. */
static enum cg_err send_msg(struct m4run *run, struct m4conn *c, const char *id, const char *body)
{
    char mos[520], ncs[520], *xml = malloc(8192);
    uint8_t *wire = NULL;
    size_t wlen = 0;
    enum cg_err rc = CG_OK;
    CG_ENSURE(xml, CG_ENOMEM);
    CG_ENSURE(c->opened && !c->closed, CG_ECLOSED);
    xml_escape(mos, sizeof(mos), run->o->mos_id);
    xml_escape(ncs, sizeof(ncs), run->o->ncs_id);
    int n = snprintf(xml, 8192, "<mos><mosID>%s</mosID><ncsID>%s</ncsID>%s%s%s%s</mos>", mos, ncs,
                     id ? "<messageID>" : "", id ? id : "", id ? "</messageID>" : "", body);
    CG_ENSURE(n > 0 && n < 8192, CG_ETOOBIG);
    CG_TRY(cg_mos_convert(CG_MOS_UTF8, xml, (size_t)n, &wire, &wlen, NULL));
    CG_TRY(cg_ws_send(c->ws, true, wire, wlen));
out:
    cg_mos_free(wire);
    free(xml);
    return rc;
}

static void next_id(struct m4run *run, char *dst, size_t dstsz)
{
    snprintf(dst, dstsz, "%u", (unsigned)run->next_id);
    run->next_id = run->next_id >= 0x7fffffffu ? 1 : run->next_id + 1; /* M-11 wraps to 1 */
}

/* Takes the oldest frame off c's queue (caller frees data), false if none. */
static bool pop(struct m4conn *c, struct cg_m4_frame *f, uint8_t **own)
{
    if (c->nq == 0)
        return false;
    f->binary = c->q[0].binary, f->data = c->q[0].data, f->len = c->q[0].len;
    *own = c->q[0].data;
    memmove(&c->q[0], &c->q[1], (c->nq - 1) * sizeof(c->q[0]));
    c->nq--;
    return true;
}

/* Judges one answer's frame (M-04) into the channel's tally. */
static void tally_frame(struct m4conn *c, const struct cg_m4_frame *f, struct cg_m4_seen *seen)
{
    char why[256];
    enum cg_check_verdict v = cg__m4_frame_verdict(f, seen, why, sizeof(why));
    c->frames++;
    if (c->frames == 1 || v > c->frame_v) { /* keep the worst frame's evidence */
        c->frame_v = v;
        snprintf(c->frame_ev, sizeof(c->frame_ev), "%s", why);
    }
    c->bad_frames += v != CG_CHECK_PASS;
}

/* Waits for the next answer on c, skipping the peer's own keepAlives (M-09
 * lets it send them). false when nothing came in the timeout. */
static bool await(struct m4run *run, struct m4conn *c, unsigned ms, struct cg_m4_seen *seen)
{
    memset(seen, 0, sizeof(*seen));
    uint64_t end = cg__now_ms() + ms;
    for (;;) {
        uint64_t now = cg__now_ms();
        if (now >= end)
            return false;
        pump(run, has_frame, c, (unsigned)(end - now));
        struct cg_m4_frame f;
        uint8_t *own;
        if (!pop(c, &f, &own))
            return false;
        tally_frame(c, &f, seen);
        free(own);
        if (seen->parsed && strcasecmp(seen->env.name, "keepAlive") == 0) {
            cg__m4_seen_free(seen);
            continue;
        }
        return true;
    }
}

/* M-11 tally for one request/answer. */
static void tally_echo(struct m4conn *c, const char *id, const struct cg_m4_seen *ans)
{
    char why[256];
    enum cg_check_verdict v = cg__m4_echo_verdict(id, ans, why, sizeof(why));
    if (!ans->parsed)
        return; /* no answer: the exchange's own finding says so */
    if (v != CG_CHECK_PASS && c->echo_fails++ == 0)
        snprintf(c->echo_ev, sizeof(c->echo_ev), "%s", why);
}

/* One request and its answer: the answer in *ans (caller frees), its
 * messageID in id. */
static bool exchange(struct m4run *run, struct m4conn *c, const char *body, char *id, size_t idsz,
                     struct cg_m4_seen *ans)
{
    memset(ans, 0, sizeof(*ans));
    if (id[0] == '\0')
        next_id(run, id, idsz);
    if (send_msg(run, c, id, body) != CG_OK)
        return false;
    bool got = await(run, c, run->timeout_ms, ans);
    if (got)
        tally_echo(c, id, ans);
    return got;
}

/* ---- connections ---- */

static void on_open(void *user, struct cg_ws *ws)
{
    struct m4conn *c = user;
    c->ws = ws;
    c->opened = true;
}

static void answer_peer(struct m4conn *c, const struct cg_m4_seen *s);

static void on_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *data, size_t len)
{
    struct m4conn *c = user;
    (void)ws;
    if (c->answerer) { /* M-08: the peer originates here; we answer on it */
        struct cg_m4_frame f = {binary, data, len};
        struct cg_m4_seen s;
        tally_frame(c, &f, &s);
        if (s.parsed && strcasecmp(s.env.name, "keepAlive") != 0)
            answer_peer(c, &s);
        cg__m4_seen_free(&s);
        return;
    }
    if (c->nq == M4_QMAX)
        return;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    c->q[c->nq].binary = binary, c->q[c->nq].data = copy, c->q[c->nq].len = len;
    c->nq++;
}

static void on_close(void *user, struct cg_ws *ws, uint16_t code)
{
    struct m4conn *c = user;
    (void)code;
    c->status = cg_ws_http_status(ws);
    c->err = cg_ws_error(ws);
    c->closed = true;
    c->ws = NULL;
}

/* A peer-originated request on a passive connection: heartbeat gets a
 * heartbeat (M-10), anything that is not itself an answer gets the channel's
 * ACK with its messageID (M-11). */
static void answer_peer(struct m4conn *c, const struct cg_m4_seen *s)
{
    const struct cg_mos_msg_info *mi = cg_mos_msg_lookup(s->env.name, strlen(s->env.name));
    c->peer_msgs++;
    if (mi && mi->is_reply && strcmp(s->env.name, "heartbeat") != 0)
        return;
    const char *id = s->env.message_id_kind == CG_MOS_MSGID_ABSENT ? NULL : s->env.message_id;
    char body[256], when[32] = "";
    if (strcmp(s->env.name, "heartbeat") == 0) {
        cg_mos_format_time((int64_t)time(NULL) * 1000, when, sizeof(when));
        snprintf(body, sizeof(body), "<heartbeat><time>%s</time></heartbeat>", when);
    } else if (c->ch == CG_MOS_CH_RO) {
        snprintf(body, sizeof(body), "<roAck><roID/><roStatus>OK</roStatus></roAck>");
    } else {
        snprintf(body, sizeof(body), "<mosAck><objID/><objRev>0</objRev><status>ACK</status>"
                                     "<statusDescription/></mosAck>");
    }
    send_msg(c->run, c, id, body);
}

static void pct(char *dst, size_t dstsz, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < dstsz; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            dst[o++] = (char)*p;
        else
            dst[o++] = '%', dst[o++] = hex[*p >> 4], dst[o++] = hex[*p & 15];
    }
    dst[o] = '\0';
}

/* Opens a connection with query (NULL: the regular one for ch) and waits
 * until it is open or refused. */
static struct m4conn *dial(struct m4run *run, struct cg_ws_client *cli, unsigned ch, bool passive,
                           const char *query)
{
    static const struct cg_ws_handlers h = {.on_open = on_open, .on_message = on_message,
                                            .on_close = on_close};
    struct m4conn *c = calloc(1, sizeof(*c));
    char url[2048], mos[400], ncs[400];
    if (!c)
        return NULL;
    c->run = run, c->ch = ch, c->passive = c->answerer = passive;
    pct(mos, sizeof(mos), run->o->mos_id);
    pct(ncs, sizeof(ncs), run->o->ncs_id);
    if (query)
        snprintf(url, sizeof(url), "%s?%s", run->o->url, query);
    else
        snprintf(url, sizeof(url), "%s?mosID=%s&ncsID=%s&channel=%s%s", run->o->url, mos, ncs,
                 ch_name(ch), passive ? "&passive=true" : "");
    struct cg_ws *ws;
    if (cg_ws_connect(cli, url, &h, c, &ws) != CG_OK) {
        c->closed = true;
        return c;
    }
    c->ws = ws;
    pump(run, settled, c, run->timeout_ms + 1000);
    return c;
}

static void hang_up(struct m4run *run, struct m4conn *c)
{
    if (!c)
        return;
    if (c->ws && !c->closed) {
        cg_ws_close(c->ws, 1000, "check done");
        pump(run, is_closed, c, 2000);
    }
    for (size_t i = 0; i < c->nq; i++)
        free(c->q[i].data);
    if (c->closed)
        free(c);
    /* else: still open after 2 s; the client's free closes it and calls on_close on c: leak it */
}

/* ---- the findings ---- */

#define ADD(id, v, what, ...) CG_TRY(cg__check_add(run->r, id, v, what, __VA_ARGS__))

static enum cg_err upgrade_refused(struct m4run *run, struct cg_ws_client *cli, const char *query,
                                   bool auth, const char *what)
{
    enum cg_err rc = CG_OK;
    char why[256];
    struct m4conn *c = dial(run, cli, CG_MOS_CH_RO, false, query);
    CG_ENSURE(c, CG_ENOMEM);
    enum cg_check_verdict v = auth ? cg__m4_auth_verdict(c->status, c->opened, why, sizeof(why))
                                   : cg__m4_query_verdict(c->status, c->opened, why, sizeof(why));
    ADD(auth ? "M-05" : "M-02", v, what, "%s", why);
out:
    hang_up(run, c);
    return rc;
}

static enum cg_err run_upgrades(struct m4run *run)
{
    enum cg_err rc = CG_OK;
    char mos[400], ncs[400], q[1024];
    pct(mos, sizeof(mos), run->o->mos_id);
    pct(ncs, sizeof(ncs), run->o->ncs_id);
    snprintf(q, sizeof(q), "mosID=%s&ncsID=%s&channel=ro", mos, ncs);
    CG_TRY(upgrade_refused(run, run->anon, q, true, "no credentials: 401"));
    if (run->wrong)
        CG_TRY(upgrade_refused(run, run->wrong, q, true, "wrong password: 401"));
    snprintf(q, sizeof(q), "mosID=%s&ncsID=%s", mos, ncs);
    CG_TRY(upgrade_refused(run, run->cli, q, false, "query without channel: 400"));
    snprintf(q, sizeof(q), "mosID=%s&ncsID=%s&channel=bogus", mos, ncs);
    CG_TRY(upgrade_refused(run, run->cli, q, false, "unknown channel: 400"));
    snprintf(q, sizeof(q), "mosID=%s&ncsID=castgate-check-stranger&channel=ro", mos);
    if (run->o->as == CG_CHECK_AS_DEVICE)
        snprintf(q, sizeof(q), "mosID=castgate-check-stranger&ncsID=%s&channel=ro", ncs);
    CG_TRY(upgrade_refused(run, run->cli, q, false, "unknown peer ID: 400"));
out:
    return rc;
}

/* A heartbeat with the time now, its answer awaited (exchange): the verdict
 * on the answer (M-10), why in why. */
static enum cg_check_verdict heartbeat(struct m4run *run, struct m4conn *c, char *id, size_t idsz,
                                       struct cg_m4_seen *ans, char *why, size_t whysz)
{
    char body[128], when[32] = "";
    cg_mos_format_time((int64_t)time(NULL) * 1000, when, sizeof(when));
    snprintf(body, sizeof(body), "<heartbeat><time>%s</time></heartbeat>", when);
    exchange(run, c, body, id, idsz, ans);
    return cg__m4_heartbeat_verdict(ans, why, whysz);
}

static enum cg_err heartbeat_and_keepalive(struct m4run *run, struct m4conn *c)
{
    enum cg_err rc = CG_OK;
    char id[16] = "", why[256], what[64];
    struct cg_m4_seen ans = {0};
    enum cg_check_verdict v = heartbeat(run, c, id, sizeof(id), &ans, why, sizeof(why));
    snprintf(what, sizeof(what), "%s: heartbeat answered", ch_name(c->ch));
    ADD("M-10", v, what, "%s", why);
    cg__m4_seen_free(&ans);
    /* M-09: a keepAlive, then silence for quiet_ms */
    if (send_msg(run, c, NULL, "<keepAlive/>") == CG_OK) {
        bool got = await(run, c, run->quiet_ms, &ans);
        snprintf(what, sizeof(what), "%s: keepAlive not answered", ch_name(c->ch));
        const char *answer = !got ? NULL : ans.env.name[0] ? ans.env.name : "a frame";
        ADD("M-09", cg__m4_keepalive_verdict(answer, c->closed, why, sizeof(why)), what, "%s", why);
    }
out:
    cg__m4_seen_free(&ans);
    return rc;
}

struct m4ex {
    int profile;
    unsigned ch;
    const char *req;  /* message name, for the verdict */
    const char *body;
    enum cg_check_mos4_role as;
};

static const struct m4ex exchanges[] = {
    {0, CG_MOS_CH_MOM, "reqMachInfo", "<reqMachInfo/>", CG_CHECK_AS_NCS},
    {0, CG_MOS_CH_MOM, "reqMachInfo", "<reqMachInfo/>", CG_CHECK_AS_DEVICE},
    {1, CG_MOS_CH_MOM, "mosReqObj", "<mosReqObj><objID>castgate-check-none</objID></mosReqObj>",
     CG_CHECK_AS_NCS},
    {1, CG_MOS_CH_MOM, "mosObj",
     "<mosObj><objID>castgate-check-1</objID><objSlug>castgate check</objSlug><objType>VIDEO</objType>"
     "<objTB>59940</objTB><objRev>1</objRev><objDur>0</objDur><status>NEW</status>"
     "<objAir>NOT READY</objAir><createdBy>castgate</createdBy></mosObj>", CG_CHECK_AS_DEVICE},
    {2, CG_MOS_CH_RO, "roReq", "<roReq><roID>castgate-check-none</roID></roReq>", CG_CHECK_AS_NCS},
    {2, CG_MOS_CH_RO, "roReq", "<roReq><roID>castgate-check-none</roID></roReq>", CG_CHECK_AS_DEVICE},
    {3, CG_MOS_CH_AUX, "mosReqSearchableSchema",
     "<mosReqSearchableSchema username=\"castgate-check\"/>", CG_CHECK_AS_NCS},
    {4, CG_MOS_CH_RO, "roReqAll", "<roReqAll/>", CG_CHECK_AS_NCS},
    {4, CG_MOS_CH_RO, "roReqAll", "<roReqAll/>", CG_CHECK_AS_DEVICE},
};

static enum cg_err run_profiles(struct m4run *run, struct m4conn *conns[8])
{
    enum cg_err rc = CG_OK;
    char why[256], what[96];
    for (size_t i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++) {
        const struct m4ex *e = &exchanges[i];
        if (e->as != run->o->as || !(run->o->profiles & (1u << e->profile)))
            continue;
        struct m4conn *c = conns[e->ch];
        snprintf(what, sizeof(what), "profile %d: %s on %s", e->profile, e->req, ch_name(e->ch));
        if (!c || !c->opened || c->closed) {
            ADD("M-23", CG_CHECK_WARN, what, "no open %s connection to try it on", ch_name(e->ch));
            continue;
        }
        char id[16] = "";
        struct cg_m4_seen ans;
        exchange(run, c, e->body, id, sizeof(id), &ans);
        enum cg_check_verdict v = cg__m4_answer_verdict(e->req, &ans, why, sizeof(why));
        cg__m4_seen_free(&ans);
        ADD("M-23", v, what, "%s", why);
    }
out:
    return rc;
}

/* M-22: the same request twice under one messageID, as a sender retries
 * after a lost ACK: the same answer both times. --write: a test RO is
 * created, the roCreate retried, and roReq must show its story once. */
static enum cg_err run_retry(struct m4run *run, struct m4conn *ro)
{
    enum cg_err rc = CG_OK;
    char id[16] = "", id2[16], why[256], body[1024];
    struct cg_m4_seen a1 = {0}, a2 = {0}, a3 = {0};
    bool write = run->o->write && run->o->as == CG_CHECK_AS_NCS;
    if (!ro || !ro->opened || ro->closed) {
        ADD("M-22", CG_CHECK_WARN, "retry answered, not applied twice", "no open ro connection");
        goto out;
    }
    if (write)
        snprintf(body, sizeof(body),
                 "<roCreate><roID>" TEST_RO "</roID><roSlug>castgate check</roSlug><story><storyID>"
                 TEST_STORY "</storyID><storySlug>castgate check</storySlug><item><itemID>0</itemID>"
                 "<objID>castgate-check-1</objID><mosID>%s</mosID></item></story></roCreate>",
                 run->o->mos_id);
    else
        snprintf(body, sizeof(body), "<roReq><roID>castgate-check-none</roID></roReq>");
    exchange(run, ro, body, id, sizeof(id), &a1);
    snprintf(id2, sizeof(id2), "%s", id);
    exchange(run, ro, body, id2, sizeof(id2), &a2);
    ADD("M-22", cg__m4_retry_verdict(&a1, &a2, why, sizeof(why)),
        write ? "roCreate retried: same answer" : "roReq retried: same answer", "%s", why);
    if (!write)
        goto out;
    char rid[16] = "";
    exchange(run, ro, "<roReq><roID>" TEST_RO "</roID></roReq>", rid, sizeof(rid), &a3);
    if (a3.parsed && strcmp(a3.env.name, "roList") == 0) {
        size_t n = cg__m4_count(a3.utf8, "<storyID>" TEST_STORY "</storyID>");
        ADD("M-22", n == 1 ? CG_CHECK_PASS : CG_CHECK_FAIL, "retried roCreate applied once",
            "roList shows the test story %zu time(s)", n);
    } else {
        ADD("M-22", CG_CHECK_WARN, "retried roCreate applied once",
            "roReq answered with %s: the running order cannot be seen",
            a3.parsed ? a3.env.name : "nothing");
    }
    cg__m4_seen_free(&a3);
    rid[0] = '\0';
    exchange(run, ro, "<roDelete><roID>" TEST_RO "</roID></roDelete>", rid, sizeof(rid), &a3);
    ADD("M-23", cg__m4_answer_verdict("roDelete", &a3, why, sizeof(why)),
        "profile 2: roDelete of the test RO", "%s", why);
out:
    cg__m4_seen_free(&a1), cg__m4_seen_free(&a2), cg__m4_seen_free(&a3);
    return rc;
}

static enum cg_err channel_tallies(struct m4run *run, struct m4conn *c)
{
    enum cg_err rc = CG_OK;
    char what[64];
    snprintf(what, sizeof(what), "%s: binary UCS-2BE, one message per frame", ch_name(c->ch));
    if (c->bad_frames == 0)
        ADD("M-04", CG_CHECK_PASS, what, "%u frame(s), all binary UCS-2BE with one message", c->frames);
    else
        ADD("M-04", c->frame_v, what, "%u of %u frame(s): %s", c->bad_frames, c->frames, c->frame_ev);
    snprintf(what, sizeof(what), "%s: messageIDs echoed", ch_name(c->ch));
    if (c->echo_fails == 0)
        ADD("M-11", CG_CHECK_PASS, what, "every answer carried its request's messageID");
    else
        ADD("M-11", CG_CHECK_FAIL, what, "%u answer(s) wrong: %s", c->echo_fails, c->echo_ev);
out:
    return rc;
}

/* Why a connection did not open, for the evidence. */
static const char *not_opened(const struct m4conn *c, char *why, size_t whysz)
{
    if (c->status)
        snprintf(why, whysz, "refused: HTTP %d", c->status);
    else
        snprintf(why, whysz, "not opened: %s", cg_strerror(c->err));
    return why;
}

static enum cg_err run_passive(struct m4run *run, unsigned chans)
{
    enum cg_err rc = CG_OK;
    struct m4conn *c = NULL;
    char what[64], why[256];
    for (unsigned ch = 1; ch <= CG_MOS_CH_AUX; ch <<= 1) {
        if (!(chans & ch))
            continue;
        c = dial(run, run->cli, ch, true, NULL);
        CG_ENSURE(c, CG_ENOMEM);
        snprintf(what, sizeof(what), "%s: passive=true connection", ch_name(ch));
        if (!c->opened) {
            ADD("M-08", CG_CHECK_FAIL, what, "%s", not_opened(c, why, sizeof(why)));
        } else {
            pump(run, is_closed, c, run->quiet_ms);
            if (c->closed)
                ADD("M-08", CG_CHECK_FAIL, what, "accepted, then closed by the peer");
            else if (c->bad_frames)
                ADD("M-08", CG_CHECK_FAIL, what, "accepted; the peer's message: %s", c->frame_ev);
            else
                ADD("M-08", CG_CHECK_PASS, what, "accepted and kept; %u message(s) from the peer "
                    "answered on it", c->peer_msgs);
        }
        hang_up(run, c);
        c = NULL;
    }
out:
    hang_up(run, c);
    return rc;
}

/* ---- M-08 the other way: the peer dials us with passive=true ---- */

#define M4_INMAX 8

struct m4listen {
    struct m4run *run;
    struct m4conn *in[M4_INMAX];
    size_t n;
};

/* The value of key in a query string, into dst ("" when absent). */
static void query_get(const char *q, const char *key, char *dst, size_t dstsz)
{
    size_t kl = strlen(key);
    dst[0] = '\0';
    for (const char *p = q; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = strcspn(p + kl + 1, "&");
            snprintf(dst, dstsz, "%.*s", (int)vl, p + kl + 1);
            return;
        }
    }
}

static int srv_upgrade(void *user, const struct cg_http_request *req, struct cg_http_response *res,
                       void **conn_user)
{
    struct m4listen *l = user;
    char ch[8], passive[8];
    (void)res;
    query_get(cg_http_request_query(req), "channel", ch, sizeof(ch));
    query_get(cg_http_request_query(req), "passive", passive, sizeof(passive));
    unsigned bit = strcmp(ch, "mom") == 0 ? CG_MOS_CH_MOM : strcmp(ch, "ro") == 0 ? CG_MOS_CH_RO
                 : strcmp(ch, "aux") == 0 ? CG_MOS_CH_AUX : 0;
    if (!bit || l->n == M4_INMAX)
        return 400;
    struct m4conn *c = calloc(1, sizeof(*c));
    if (!c)
        return 503;
    c->run = l->run, c->ch = bit, c->passive = strcmp(passive, "true") == 0;
    c->answerer = !c->passive; /* its own ordinary lane: the peer originates, we answer */
    l->in[l->n++] = c;
    *conn_user = c;
    return 101;
}

static void srv_open(void *user, struct cg_ws *ws) { (void)user, on_open(cg_ws_user(ws), ws); }
static void srv_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *data, size_t len)
{
    (void)user;
    on_message(cg_ws_user(ws), ws, binary, data, len);
}
static void srv_close(void *user, struct cg_ws *ws, uint16_t code)
{
    (void)user;
    if (cg_ws_user(ws))
        on_close(cg_ws_user(ws), ws, code);
}

static bool all_closed(const void *p)
{
    const struct m4listen *l = p;
    for (size_t i = 0; i < l->n; i++)
        if (l->in[i]->opened && !l->in[i]->closed)
            return false;
    return true;
}

static bool all_dialled(const void *p)
{
    const struct m4listen *l = p;
    unsigned want = l->run->o->channels ? l->run->o->channels : CG_MOS_CH_MOM | CG_MOS_CH_RO, got = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->in[i]->passive && l->in[i]->opened)
            got |= l->in[i]->ch;
    return (got & want) == want;
}

static enum cg_err judge_incoming(struct m4run *run, struct m4conn *c)
{
    enum cg_err rc = CG_OK;
    char id[16] = "", why[256], what[96];
    struct cg_m4_seen ans = {0};
    enum cg_check_verdict v = heartbeat(run, c, id, sizeof(id), &ans, why, sizeof(why));
    snprintf(what, sizeof(what), "%s: the peer dialled passive=true, answers on it", ch_name(c->ch));
    ADD("M-08", v, what, "we sent heartbeat %s on its connection: %s", id, why);
    cg__m4_seen_free(&ans);
    if (c->ch == CG_MOS_CH_MOM && (run->o->profiles & 1u)) {
        id[0] = '\0';
        exchange(run, c, "<reqMachInfo/>", id, sizeof(id), &ans);
        ADD("M-23", cg__m4_answer_verdict("reqMachInfo", &ans, why, sizeof(why)),
            "profile 0: reqMachInfo on a passive mom", "%s", why);
    }
    CG_TRY(channel_tallies(run, c));
out:
    cg__m4_seen_free(&ans);
    return rc;
}

static enum cg_err run_listen(struct m4run *run)
{
    enum cg_err rc = CG_OK;
    struct cg_server_config *cfg = NULL;
    struct cg_server *srv = NULL;
    struct m4listen l = {.run = run};
    char addr[64], path[512] = "/";
    const char *colon = strrchr(run->o->listen, ':');
    CG_ENSURE(colon && run->o->cert_chain && run->o->cert_key, CG_EINVAL);
    snprintf(addr, sizeof(addr), "%.*s", (int)(colon - run->o->listen), run->o->listen);
    if (addr[0] == '[')
        memmove(addr, addr + 1, strlen(addr)), addr[strcspn(addr, "]")] = '\0';
    const char *p = strchr(run->o->url + 6, '/');
    if (p)
        snprintf(path, sizeof(path), "%s", p);
    static const struct cg_ws_handlers h = {.on_upgrade = srv_upgrade, .on_open = srv_open,
                                            .on_message = srv_message, .on_close = srv_close};
    CG_TRY(cg_server_config_new(&cfg));
    CG_TRY(cg_server_config_add_listen(cfg, addr, (uint16_t)strtoul(colon + 1, NULL, 10)));
    CG_TRY(cg_server_config_add_cert(cfg, run->o->cert_chain, run->o->cert_key));
    CG_TRY(cg_server_new(run->ctx, cfg, &srv));
    CG_TRY(cg_server_add_ws_route(srv, path, &h, &l));
    CG_TRY(cg_server_start(srv));
    pump(run, all_dialled, &l,
         run->o->accept_ms ? run->o->accept_ms : 10000);
    unsigned want = run->o->channels ? run->o->channels : CG_MOS_CH_MOM | CG_MOS_CH_RO;
    for (unsigned ch = 1; ch <= CG_MOS_CH_AUX; ch <<= 1) {
        if (!(want & ch))
            continue;
        struct m4conn *c = NULL;
        for (size_t i = 0; i < l.n && !c; i++)
            if (l.in[i]->passive && l.in[i]->ch == ch && l.in[i]->opened && !l.in[i]->closed)
                c = l.in[i];
        if (c) {
            CG_TRY(judge_incoming(run, c));
        } else {
            char what[96];
            snprintf(what, sizeof(what), "%s: the peer dialled passive=true, answers on it",
                     ch_name(ch));
            ADD("M-08", CG_CHECK_FAIL, what, "no passive=true connection on %s within %u ms",
                ch_name(ch), run->o->accept_ms ? run->o->accept_ms : 10000);
        }
    }
out:
    for (size_t i = 0; i < l.n; i++)
        if (l.in[i]->ws && !l.in[i]->closed)
            cg_ws_close(l.in[i]->ws, 1000, "check done");
    pump(run, all_closed, &l, 2000);
    cg_server_free(srv);
    pump(run, NULL, NULL, 100);
    for (size_t i = 0; i < l.n; i++) {
        for (size_t k = 0; k < l.in[i]->nq; k++)
            free(l.in[i]->q[k].data);
        if (l.in[i]->closed) /* else a late on_close could still reach it: leave it */
            free(l.in[i]);
    }
    cg_server_config_free(cfg);
    return rc;
}

static enum cg_err run_all(struct m4run *run)
{
    enum cg_err rc = CG_OK;
    struct m4conn *conns[8] = {0};
    char what[64], why[256];
    unsigned chans = run->o->channels ? run->o->channels : CG_MOS_CH_MOM | CG_MOS_CH_RO;
    if (!run->o->channels && (run->o->profiles & (1u << 3)) && run->o->as == CG_CHECK_AS_NCS)
        chans |= CG_MOS_CH_AUX;
    uint64_t idle_from = cg__now_ms();
    for (unsigned ch = 1; ch <= CG_MOS_CH_AUX; ch <<= 1) {
        if (!(chans & ch))
            continue;
        struct m4conn *c = conns[ch] = dial(run, run->cli, ch, false, NULL);
        CG_ENSURE(c, CG_ENOMEM);
        snprintf(what, sizeof(what), "%s: upgrade with mosID, ncsID, channel", ch_name(ch));
        if (c->opened)
            ADD("M-03", CG_CHECK_PASS, what, "101, open");
        else
            ADD("M-03", CG_CHECK_FAIL, what, "%s", not_opened(c, why, sizeof(why)));
    }
    CG_TRY(run_upgrades(run));
    for (unsigned ch = 1; ch <= CG_MOS_CH_AUX; ch <<= 1)
        if (conns[ch] && conns[ch]->opened && ch != CG_MOS_CH_AUX)
            CG_TRY(heartbeat_and_keepalive(run, conns[ch]));
    CG_TRY(run_profiles(run, conns));
    CG_TRY(run_retry(run, conns[CG_MOS_CH_RO]));
    for (unsigned ch = 1; ch <= CG_MOS_CH_AUX; ch <<= 1)
        if (conns[ch] && conns[ch]->opened)
            CG_TRY(channel_tallies(run, conns[ch]));
    /* M-09: we never sent a keepAlive on aux nor while idle: the peer must not require one */
    unsigned open = 0, lost = 0;
    for (unsigned ch = 1; ch <= CG_MOS_CH_AUX; ch <<= 1)
        if (conns[ch] && conns[ch]->opened)
            open++, lost += conns[ch]->closed;
    ADD("M-09", lost ? CG_CHECK_FAIL : open ? CG_CHECK_PASS : CG_CHECK_WARN, "keepAlive not required",
        "%u of %u connection(s) still open after %llu ms with no keepAlive but one", open - lost,
        open, (unsigned long long)(cg__now_ms() - idle_from));
    if (run->o->passive)
        CG_TRY(run_passive(run, chans));
out:
    for (unsigned ch = 1; ch <= CG_MOS_CH_AUX; ch <<= 1)
        hang_up(run, conns[ch]);
    return rc;
}

static enum cg_err make_client(struct m4run *run, const char *user, const char *pw,
                               struct cg_ws_client **out)
{
    enum cg_err rc = CG_OK;
    struct cg_ws_client_config *cfg = NULL;
    CG_TRY(cg_ws_client_config_new(&cfg));
    if (run->o->ca_file)
        CG_TRY(cg_ws_client_config_set_trust(cfg, run->o->ca_file, NULL));
    if (user)
        CG_TRY(cg_ws_client_config_set_basic_auth(cfg, user, pw ? pw : ""));
    CG_TRY(cg_ws_client_config_set_limit(cfg, CG_LIMIT_HANDSHAKE_MS, run->timeout_ms));
    CG_TRY(cg_ws_client_new(run->ctx, cfg, out));
out:
    cg_ws_client_config_free(cfg);
    return rc;
}

CG_API enum cg_err cg_check_mos4(struct cg_ctx *ctx, const struct cg_check_mos4_opts *o,
                                 struct cg_check_report **out)
{
    CG_CHECK(o && out && o->url && o->mos_id && o->ncs_id && o->mos_id[0] && o->ncs_id[0],
             CG_EINVAL);
    CG_CHECK(strncmp(o->url, "wss://", 6) == 0 && !strchr(o->url, '?'), CG_EINVAL);
    *out = NULL;
    enum cg_err rc = CG_OK;
    struct cg_ctx *own = NULL;
    struct m4run run = {.o = o, .ctx = ctx};
    uint64_t t0 = cg__now_ms();
    struct cg_check_mos4_opts dflt = *o;
    if (!dflt.profiles)
        dflt.profiles = 7;
    run.o = &dflt;
    run.timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
    run.quiet_ms = o->quiet_ms ? o->quiet_ms : 1500;
    run.next_id = (uint32_t)(((uint64_t)time(NULL) % 60000000u) * 32u + 1u); /* rises across runs */
    run.r = cg__check_report_new();
    CG_ENSURE(run.r, CG_ENOMEM);
    if (!run.ctx) {
        CG_TRY(cg_ctx_new(&own));
        run.ctx = own;
    }
    uv_timer_init(cg_ctx_loop(run.ctx), &run.timer);
    run.loop = cg_ctx_loop(run.ctx);
    CG_TRY(make_client(&run, o->user, o->password, &run.cli));
    CG_TRY(make_client(&run, NULL, NULL, &run.anon));
    if (o->user)
        CG_TRY(make_client(&run, o->user, "castgate-check-wrong-password", &run.wrong));
    if (o->listen)
        CG_TRY(run_listen(&run)); /* the peer has no endpoint to dial: it dials us */
    else
        CG_TRY(run_all(&run));
    cg__check_report_set_ms(run.r, (unsigned long)(cg__now_ms() - t0));
    *out = run.r;
    run.r = NULL;
out:
    cg_ws_client_free(run.cli);
    cg_ws_client_free(run.anon);
    cg_ws_client_free(run.wrong);
    if (run.loop) {
        pump(&run, NULL, NULL, 200); /* let the clients' closes finish */
        uv_close((uv_handle_t *)&run.timer, NULL);
        uv_run(run.loop, UV_RUN_NOWAIT);
    }
    cg_check_report_free(run.r);
    cg_ctx_free(own);
    return rc;
}
