/* The journal of an IN lane (kept whenever there is a state directory). With
 * the journal option (cg_mos_endpoint_config_set_journal) every request we
 * accept is appended before the application sees it; without it, each request
 * as it is delivered. Every answer is appended before the peer sees it. After
 * a restart the answers rebuild the memory of answered messageIDs (M-22: a
 * repeat gets the stored answer, never a second delivery); requests without an
 * answer are delivered again at once, in order (journal option), or
 * remembered as delivered (a repeat of one follows the redeliver rule). *
 * File: <state_dir>/msgid-<peer>-<channel>.journal, records
 *   "<kind> <has-id> <id-len> <data-len>\n" <id> <data> "\n"
 * kind R (request, UTF-8 as received; empty: only the ID of one delivered
 * before an earlier restart) or A (answer, the wire bytes sent).
 * A record cut short by a crash ends the journal: it is dropped (its request
 * was never acknowledged, so the peer still has it). The file is rewritten
 * (compacted) at every start and when it has doubled past JOURNAL_COMPACT.
 * Also here: the endpoint's fsync policy for everything in the state
 * directory (enum cg_mos_fsync). */
#define _GNU_SOURCE /* syncfs */
#include "mos4/mos4.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_COMPACT (1u << 20)
#define JOURNAL_MAX_RECORD (1u << 30)

/* ---- records ---- */

enum cg_err cg__mos4_journal_encode(struct cg_buf *b, char kind, const char *msgid,
                                    const void *data, size_t len)
{
    size_t idlen = msgid != NULL ? strlen(msgid) : 0;
    CG_GUARD(cg__buf_printf(b, "%c %d %zu %zu\n", kind, msgid != NULL, idlen, len));
    CG_GUARD(cg__buf_append(b, msgid != NULL ? msgid : "", idlen));
    CG_GUARD(cg__buf_append(b, data, len));
    return cg__buf_append(b, "\n", 1);
}

/* "<kind> <0|1> <idlen> <len>\n" within the first 64 bytes. */
static bool header(const uint8_t *p, size_t avail, char *kind, int *has_id, size_t *idlen,
                   size_t *len, size_t *hlen)
{
    const uint8_t *nl = memchr(p, '\n', avail < 64 ? avail : 64);
    if (nl == NULL)
        return false;
    char h[65];
    memcpy(h, p, (size_t)(nl - p));
    h[nl - p] = '\0';
    unsigned long long a = 0, b = 0;
    char k = 0, tail = 0;
    if (sscanf(h, "%c %d %llu %llu%c", &k, has_id, &a, &b, &tail) != 4 || (k != 'R' && k != 'A') ||
        (*has_id != 0 && *has_id != 1) || a > 4 * CG_MOS_ID_MAX || b > JOURNAL_MAX_RECORD)
        return false;
    *kind = k;
    *idlen = (size_t)a;
    *len = (size_t)b;
    *hlen = (size_t)(nl - p) + 1;
    return true;
}

size_t cg__mos4_journal_parse(const uint8_t *buf, size_t len, mos4_journal_cb cb, void *user)
{
    size_t off = 0;
    while (off < len) {
        char kind;
        int has_id;
        size_t idlen, dlen, hlen;
        if (!header(buf + off, len - off, &kind, &has_id, &idlen, &dlen, &hlen))
            break;
        size_t need = hlen + idlen + dlen + 1;
        if (need > len - off || buf[off + need - 1] != '\n')
            break;
        char id[4 * CG_MOS_ID_MAX + 1];
        memcpy(id, buf + off + hlen, idlen);
        id[idlen] = '\0';
        if (strlen(id) != idlen) /* a NUL inside: not ours */
            break;
        cb(user, kind, has_id ? id : NULL, buf + off + hlen + idlen, dlen);
        off += need;
    }
    return off;
}

/* ---- the fsync policy ----
 * ALWAYS: fdatasync after each record. INTERVAL: an endpoint that wrote
 * arms a one-shot timer; when it fires, one syncfs (the whole filesystem)
 * runs on the thread pool, shared by every endpoint of the process: an
 * endpoint whose writes are older than the start of a completed syncfs is
 * done without one of its own. So a gateway with hundreds of endpoints
 * syncs at most once per interval, and never on the loop thread. */

static _Atomic uint64_t sync_done_from_ms; /* start of the latest completed syncfs */
static _Atomic bool sync_running;

struct sync_job {
    uv_work_t w;
    int fd;
    uint64_t started_ms;
    int err;
};

static void sync_work(uv_work_t *w)
{
    struct sync_job *j = w->data;
    j->err = syncfs(j->fd) == 0 ? 0 : errno;
}

static void sync_after(uv_work_t *w, int status)
{
    struct sync_job *j = w->data;
    (void)status;
    if (j->err == 0)
        sync_done_from_ms = j->started_ms;
    close(j->fd);
    sync_running = false;
    free(j);
}

static void on_sync(uv_timer_t *t)
{
    struct cg_mos_endpoint *ep = t->data;
    if (!ep->dirty)
        return;
    if (sync_done_from_ms > ep->dirty_since_ms) { /* someone's syncfs covered our writes */
        ep->dirty = false;
        return;
    }
    uv_timer_start(&ep->sync_timer, on_sync, ep->cfg.fsync_interval_ms, 0); /* check again */
    bool idle = false;
    if (!atomic_compare_exchange_strong(&sync_running, &idle, true))
        return; /* one is running: the next check may find it covers us */
    struct sync_job *j = calloc(1, sizeof(*j));
    if (j != NULL && (j->fd = dup(ep->state_fd)) >= 0) {
        j->w.data = j;
        j->started_ms = cg__now_ms();
        if (uv_queue_work(cg_ctx_loop(ep->ctx), &j->w, sync_work, sync_after) == 0)
            return;
        close(j->fd);
    }
    free(j);
    sync_running = false;
    cg__log(ep->ctx, CG_LOG_ERROR, "mos", "cannot schedule a sync of %s", ep->cfg.state_dir);
}

void cg__mos4_state_written(struct cg_mos_endpoint *ep, int fd)
{
    if (ep->cfg.fsync == CG_MOS_FSYNC_ALWAYS && fd >= 0 && fdatasync(fd) != 0)
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "fdatasync in %s failed: %s", ep->cfg.state_dir,
                strerror(errno));
    if (ep->dirty)
        return;
    ep->dirty = true;
    ep->dirty_since_ms = cg__now_ms();
    if (ep->sync_timer_on)
        uv_timer_start(&ep->sync_timer, on_sync, ep->cfg.fsync_interval_ms, 0);
}

void cg__mos4_sync_start(struct cg_mos_endpoint *ep)
{
    if (ep->cfg.fsync != CG_MOS_FSYNC_INTERVAL || ep->state_fd < 0)
        return;
    uv_timer_init(cg_ctx_loop(ep->ctx), &ep->sync_timer);
    ep->sync_timer.data = ep;
    ep->sync_timer_on = true;
    ep->open_timers++;
}

static void sync_closed(uv_handle_t *h)
{
    struct cg_mos_endpoint *ep = h->data;
    if (--ep->open_timers == 0 && ep->freeing)
        cg__mos4_free_endpoint(ep);
}

void cg__mos4_sync_stop(struct cg_mos_endpoint *ep)
{
    if (!ep->sync_timer_on)
        return;
    /* what is written reaches the disk before we go */
    if (ep->dirty && sync_done_from_ms <= ep->dirty_since_ms && syncfs(ep->state_fd) != 0)
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "syncing %s failed: %s", ep->cfg.state_dir,
                strerror(errno));
    ep->dirty = false;
    ep->sync_timer_on = false;
    uv_close((uv_handle_t *)&ep->sync_timer, sync_closed);
}

/* ---- the lane's journal ---- */

static void journal_path(const struct mos4_lane *l, char *path, size_t sz, const char *suffix)
{
    char sfx[32];
    snprintf(sfx, sizeof(sfx), ".journal%s", suffix);
    cg__mos4_state_path(l, path, sz, sfx);
}

static void jlog(const struct mos4_lane *l, enum cg_log_level lv, const char *what)
{
    cg__log(l->peer->ep->ctx, lv, "mos", "%s %s in: journal: %s (%s)", l->peer->id,
            cg__mos4_ch_name(l->ch), what, errno != 0 ? strerror(errno) : "no detail");
}

void cg__mos4_remember_answer(struct mos4_lane *l, struct mos4_seen *s, uint8_t *answer, size_t len)
{
    for (size_t i = 0; i < CG_MOS4_SEEN; i++) { /* only the last request keeps a big answer */
        struct mos4_seen *o = &l->seen[i];
        if (o != s && o->answer != NULL && o->len > CG_MOS4_BIG_ANSWER) {
            free(o->answer);
            o->answer = NULL;
            o->msgid[0] = '\0'; /* forgotten: a very late repeat is delivered again */
        }
    }
    free(s->answer);
    s->answer = answer;
    s->len = len;
}

struct replay {
    struct mos4_lane *l;
    unsigned requests, answers;
    bool nomem;
};

/* The seen entry for msgid: the one already there, or the next slot. */
static struct mos4_seen *seen_slot(struct mos4_lane *l, const char *msgid)
{
    for (size_t i = 0; i < CG_MOS4_SEEN; i++)
        if (l->seen[i].msgid[0] != '\0' && strcmp(l->seen[i].msgid, msgid) == 0)
            return &l->seen[i];
    struct mos4_seen *s = &l->seen[l->seen_next];
    l->seen_next = (l->seen_next + 1) % CG_MOS4_SEEN;
    free(s->answer);
    *s = (struct mos4_seen){0};
    snprintf(s->msgid, sizeof(s->msgid), "%s", msgid);
    return s;
}

/* A request delivered before the restart whose answer was not recorded: a
 * repeat of it is handled by the redeliver rule (cg_mos_endpoint_config_set_redeliver). */
static void restored(struct mos4_lane *l, const char *msgid)
{
    if (msgid != NULL && msgid[0] != '\0' && strlen(msgid) < sizeof(l->seen[0].msgid))
        seen_slot(l, msgid)->restored = true;
}

static void replay_record(void *user, char kind, const char *msgid, const uint8_t *d, size_t n)
{
    struct replay *r = user;
    struct mos4_lane *l = r->l;
    if (kind == 'R' && n == 0) { /* a compacted "delivered, unanswered": its ID only */
        restored(l, msgid);
        return;
    }
    if (kind == 'R') {
        struct mos4_held *h = calloc(1, sizeof(*h));
        if (h == NULL || (h->wire = malloc(n)) == NULL) {
            free(h);
            r->nomem = true;
            return;
        }
        memcpy(h->wire, d, n);
        h->len = n;
        h->replayed = true;
        cg__mos4_held_push(l, h);
        r->requests++;
        return;
    }
    /* an answer: its request (the first unanswered one with its messageID, or
     * without one when it had none) is done */
    struct mos4_held **pp = &l->held_head, *prev = NULL;
    for (; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        struct cg_mos_envelope env;
        if (cg_mos_envelope_parse(CG_MOS_UTF8, (const char *)(*pp)->wire, (*pp)->len, &env, NULL) !=
            CG_OK)
            continue;
        bool absent = env.message_id_kind == CG_MOS_MSGID_ABSENT;
        if (msgid == NULL ? absent : (!absent && strcmp(env.message_id, msgid) == 0))
            break;
    }
    if (*pp != NULL) {
        struct mos4_held *h = *pp;
        *pp = h->next;
        if (l->held_tail == h)
            l->held_tail = prev;
        l->nheld--;
        free(h->wire);
        free(h);
    }
    r->answers++;
    if (msgid == NULL || msgid[0] == '\0' || strlen(msgid) >= sizeof(l->seen[0].msgid))
        return;
    uint8_t *copy = malloc(n > 0 ? n : 1);
    if (copy == NULL) {
        r->nomem = true;
        return;
    }
    memcpy(copy, d, n);
    struct mos4_seen *s = seen_slot(l, msgid);
    s->restored = false;
    cg__mos4_remember_answer(l, s, copy, n);
}

/* Without the journal option, unanswered requests were delivered before the
 * restart: they are remembered by ID, not delivered again by us. */
static void requests_to_restored(struct mos4_lane *l)
{
    while (l->held_head != NULL) {
        struct mos4_held *h = l->held_head;
        l->held_head = h->next;
        struct cg_mos_envelope env;
        if (cg_mos_envelope_parse(CG_MOS_UTF8, (const char *)h->wire, h->len, &env, NULL) == CG_OK &&
            env.message_id_kind != CG_MOS_MSGID_ABSENT)
            restored(l, env.message_id);
        free(h->wire);
        free(h);
    }
    l->held_tail = NULL;
    l->nheld = 0;
}

/* Rewrites the journal from memory: the remembered answers (and the IDs of
 * requests delivered before a restart, still unanswered), then the request
 * with the application, then, with the journal option, the held ones. */
static bool compact(struct mos4_lane *l)
{
    struct cg_buf b;
    cg__buf_init(&b, 0);
    enum cg_err rc = CG_OK;
    for (size_t k = 0; k < CG_MOS4_SEEN && rc == CG_OK; k++) {
        const struct mos4_seen *s = &l->seen[(l->seen_next + k) % CG_MOS4_SEEN];
        if (s->msgid[0] != '\0' && s->answer != NULL)
            rc = cg__mos4_journal_encode(&b, 'A', s->msgid, s->answer, s->len);
        else if (s->msgid[0] != '\0' && s->restored)
            rc = cg__mos4_journal_encode(&b, 'R', s->msgid, "", 0);
    }
    const struct cg_mos_request *cur = l->current;
    if (rc == CG_OK && cur != NULL && cur->wire != NULL)
        rc = cg__mos4_journal_encode(&b, 'R', cur->has_msgid ? cur->msgid : NULL, cur->wire,
                                     cur->wlen);
    for (const struct mos4_held *h = l->held_head; h != NULL && rc == CG_OK && l->peer->ep->cfg.journal;
         h = h->next)
        rc = cg__mos4_journal_encode(&b, 'R', NULL, h->wire, h->len);
    char path[4096], tmp[4200];
    journal_path(l, path, sizeof(path), "");
    journal_path(l, tmp, sizeof(tmp), ".tmp");
    int fd = rc == CG_OK ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    bool ok = fd >= 0 && write(fd, b.data, b.len) == (ssize_t)b.len;
    if (ok && l->peer->ep->cfg.fsync == CG_MOS_FSYNC_ALWAYS)
        ok = fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (ok) {
        if (l->jfd >= 0)
            close(l->jfd);
        l->jfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        l->jsize = l->jsize_compact = b.len;
        ok = l->jfd >= 0;
    }
    cg__buf_free(&b);
    if (!ok)
        jlog(l, CG_LOG_ERROR, "cannot rewrite the journal");
    return ok;
}

void cg__mos4_journal_open(struct mos4_lane *l)
{
    char path[4096], last[4096];
    journal_path(l, path, sizeof(path), "");
    cg__mos4_state_path(l, last, sizeof(last), ".last"); /* superseded by the journal */
    uint8_t *data = NULL;
    size_t len = 0;
    errno = 0;
    enum cg_err rc = cg__read_file(path, (size_t)4 * JOURNAL_MAX_RECORD, &data, &len);
    struct replay r = {.l = l};
    if (rc == CG_OK) {
        size_t good = cg__mos4_journal_parse(data, len, replay_record, &r);
        if (good < len) {
            char what[160];
            snprintf(what, sizeof(what), "%zu bytes at the end are not a whole record: dropped",
                     len - good);
            errno = 0;
            jlog(l, CG_LOG_WARN, what);
        }
    } else if (errno != ENOENT) {
        jlog(l, CG_LOG_ERROR, "cannot read the journal");
    }
    free(data);
    if (r.nomem)
        jlog(l, CG_LOG_ERROR, "out of memory replaying the journal");
    if (r.requests > 0 || r.answers > 0)
        cg__log(l->peer->ep->ctx, CG_LOG_INFO, "mos", "%s %s in: journal: %u request(s), %u "
                "answer(s); %zu to deliver again", l->peer->id, cg__mos4_ch_name(l->ch),
                r.requests, r.answers, l->peer->ep->cfg.journal ? l->nheld : 0);
    if (!l->peer->ep->cfg.journal)
        requests_to_restored(l);
    if (compact(l))
        unlink(last);
}

void cg__mos4_journal_close(struct mos4_lane *l)
{
    if (l->jfd >= 0)
        close(l->jfd);
    l->jfd = -1;
}

static void append(struct mos4_lane *l, char kind, const char *msgid, const void *d, size_t n)
{
    if (l->jfd < 0)
        return;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    bool ok = cg__mos4_journal_encode(&b, kind, msgid, d, n) == CG_OK;
    ssize_t w = ok ? write(l->jfd, b.data, b.len) : -1;
    if (w != (ssize_t)b.len) {
        jlog(l, CG_LOG_ERROR, "cannot append");
        if (w > 0) /* a part written: cut it off, or the rest would be unreadable */
            (void)ftruncate(l->jfd, (off_t)l->jsize);
    } else {
        l->jsize += b.len;
        cg__mos4_state_written(l->peer->ep, l->jfd);
    }
    cg__buf_free(&b);
}

void cg__mos4_journal_request(struct mos4_lane *l, const char *msgid, const char *xml, size_t len)
{
    append(l, 'R', msgid, xml, len);
}

void cg__mos4_journal_answer(struct mos4_lane *l, const char *msgid, const void *wire, size_t len)
{
    append(l, 'A', msgid, wire, len);
    if (l->jsize > JOURNAL_COMPACT && l->jsize > 2 * l->jsize_compact)
        compact(l);
}
