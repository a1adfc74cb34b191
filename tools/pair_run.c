/* castgate run's gateway pair; see pair_run.h. */
#include "pair_run.h"
#include "metrics.h"
#include "pair_build.h"
#include "pair_env.h"
#include "tool_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pr_ep { /* one endpoint of the relay, the observer's user */
    struct pairrun *pr;
    enum cg_relay_side side;
    enum cg_mos_role role;
    char id[PAIRENV_ID_MAX + 1];
    struct cg_mos_endpoint *ep; /* NULL once the relay freed it (pairrun_forget) */
};

/* Endpoint pointers and reloads: pr->eps holds the relay's endpoints as of
 * the last pairrun_attach, and each endpoint holds a pointer to its pr_ep
 * (the observer's user) and to pr->counter. A reload frees endpoints (a
 * link stopped) before pairrun_attach collects them again, and an endpoint
 * whose timers are still closing is freed later still. So the relay tells
 * us before it frees one (its endpoint_gone handler, castgate run's
 * cmd_run.c): pairrun_forget unhooks it and leaves its entry with ep NULL,
 * which every loop skips; entries never move while an endpoint points at
 * them (pairrun_attach points every endpoint at the new array before it
 * frees the old). */

struct pairrun {
    struct cg_ctx *ctx;
    const struct gwconf *c;
    struct pairrun_hooks hooks;
    void *user;
    struct cg_ws_client *client; /* node 0 */
    struct cg_server *srv;       /* node 1 */
    struct cg_credentials *cred; /* node 1 */
    struct cg_pairlink *pl;
    struct pr_ep *eps;
    size_t neps;
    uint64_t counter; /* the record numbers of every endpoint (the pair's numbers) */
    struct pairrole role;
    uint8_t *buf;
    size_t cap;
    struct pairenv_rec *rs; /* a resync's records */
    size_t nrs, caprs;
    enum cg_err rs_err;     /* a resync's read: the first record it could not keep */
    uint64_t stored, replayed;
    uint64_t released; /* the answer gate: records up to this are on the standby (or need not be) */
    bool made_active_file, step_warned;
    enum cg_err record_warned;
    char epoch_path[2200];
};

static void say(const struct pairrun *pr, const char *what, uint64_t epoch, const char *why)
{
    printf("{\"event\":\"pair\",\"node\":%d,\"what\":\"%s\",\"epoch\":%" PRIu64, pr->c->pair.node,
           what, epoch);
    if (why != NULL && why[0] != '\0')
        printf(",\"why\":\"%s\"", why);
    printf(",\"last_number\":%" PRIu64 ",\"stored\":%" PRIu64 "}\n", pr->counter, pr->stored);
    fflush(stdout);
}

static enum cg_err grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return CG_OK;
    uint8_t *b = realloc(*buf, need);
    if (b == NULL)
        return CG_ENOMEM;
    *buf = b;
    *cap = need;
    return CG_OK;
}

/* ---- the active: every record appended, to the standby ---- */

static enum cg_err wrap(const struct pr_ep *e, const char *peer, enum cg_mos_channel ch,
                        const uint8_t *rec, size_t len, uint8_t **buf, size_t *cap, size_t *used)
{
    struct pairenv env = {.side = e->side, .role = e->role, .channel = ch, .our_id = e->id,
                          .peer_id = peer, .rec = rec, .len = len};
    size_t n = pairenv_size(&env);
    if (n == 0)
        return CG_EINVAL;
    enum cg_err rc = grow(buf, cap, n);
    return rc == CG_OK ? pairenv_encode(&env, *buf, *cap, used) : rc;
}

static void appended(void *user, const char *peer_id, enum cg_mos_channel ch, uint64_t number,
                     uint64_t regime, const uint8_t *rec, size_t len)
{
    (void)regime;
    struct pr_ep *e = user;
    struct pairrun *pr = e->pr;
    if (pr->pl == NULL || !pr->role.serving || pr->role.stopping)
        return;
    size_t used = 0;
    uint64_t n = 0;
    enum cg_err rc = wrap(e, peer_id, ch, rec, len, &pr->buf, &pr->cap, &used);
    if (rc == CG_OK) /* gated: its number is what the endpoints' answer gate waits for */
        rc = cg_pairlink_record(pr->pl, number, pr->buf, used, number != 0, &n);
    if (rc == CG_EFULL) { /* all 4096 gated being released as this is made (a full ring
                              otherwise gives its newest place to this one): it goes
                              ungated; a later release covers it (the stream is in order) */
        if (rc != pr->record_warned)
            fprintf(stderr, "castgate run: pair: %d answers wait for the standby already: "
                    "record %" PRIu64 " is sent without a place in the gate\n", 4096, number);
        pr->record_warned = rc;
        rc = cg_pairlink_record(pr->pl, 0, pr->buf, used, false, &n);
    }
    if (rc != CG_OK && rc != pr->record_warned) /* once per reason */
        fprintf(stderr, "castgate run: pair: journal record %" PRIu64 " not replicated: %s\n",
                number, cg_strerror(rc));
    pr->record_warned = rc;
    if (rc == CG_OK && n != number && !pr->step_warned) {
        pr->step_warned = true;
        fprintf(stderr, "castgate run: pair: ERROR: the journal numbered a record %" PRIu64
                " and the pair %" PRIu64 ": out of step (a bug)\n", number, n);
    }
}

/* RELEASE: the records up to ref (a record's number) are on the standby,
 * or no standby is there and strict is off: the answers the endpoints hold
 * for them go (cg_mos_endpoint_release_answers; inside an endpoint's
 * observer it only notes the count, and the answer that follows sees it). */
static void release(struct pairrun *pr, uint64_t ref)
{
    if (ref <= pr->released)
        return;
    pr->released = ref;
    for (size_t i = 0; i < pr->neps; i++)
        if (pr->eps[i].ep != NULL)
            cg_mos_endpoint_release_answers(pr->eps[i].ep, ref);
}

/* ---- the standby: STORE, RESET ---- */

static struct pr_ep *endpoint_of(struct pairrun *pr, const struct pairenv *env)
{
    for (size_t i = 0; i < pr->neps; i++) {
        struct pr_ep *e = &pr->eps[i];
        if (e->ep != NULL && e->side == env->side && e->role == env->role && strlen(e->id) == env->our_len &&
            memcmp(e->id, env->our_id, env->our_len) == 0)
            return e;
    }
    return NULL;
}

static enum cg_err store(struct pairrun *pr, const struct cg_pairlink_event *ev)
{
    struct pairenv env;
    char peer[PAIRENV_ID_MAX + 1], why[300] = "";
    enum cg_err rc = pairenv_decode(ev->rec, ev->len, &env);
    struct pr_ep *e = rc == CG_OK ? endpoint_of(pr, &env) : NULL;
    if (rc != CG_OK) {
        fprintf(stderr, "castgate run: pair: record %" PRIu64 " from the active is not an "
                "envelope of this version: %s\n", ev->number, cg_strerror(rc));
        return rc;
    }
    if (e == NULL) {
        fprintf(stderr, "castgate run: pair: record %" PRIu64 " is for an endpoint this node "
                "does not have (the two nodes' [link]s differ)\n", ev->number);
        return CG_ENOTFOUND;
    }
    memcpy(peer, env.peer_id, env.peer_len);
    peer[env.peer_len] = '\0';
    rc = cg_mos_endpoint_journal_append(e->ep, peer, env.channel, env.rec, env.len, why,
                                        sizeof(why));
    if (rc != CG_OK)
        fprintf(stderr, "castgate run: pair: record %" PRIu64 " not stored: %s (%s)\n",
                ev->number, cg_strerror(rc), why);
    else
        pr->stored++;
    return rc;
}

static enum cg_err reset(struct pairrun *pr, uint64_t regime)
{
    enum cg_err first = CG_OK;
    for (size_t i = 0; i < pr->neps; i++) {
        if (pr->eps[i].ep == NULL)
            continue;
        enum cg_err rc = cg_mos_endpoint_journal_set_aside(pr->eps[i].ep, regime);
        if (rc != CG_OK && first == CG_OK)
            first = rc;
    }
    fprintf(stderr, "castgate run: pair: journals set aside for regime %" PRIu64 ": %s\n", regime,
            cg_strerror(first));
    return first;
}

/* ---- RESYNC: every endpoint's journal from a number on, in number order ---- */

static void read_one(void *user, const char *peer_id, enum cg_mos_channel ch, uint64_t number,
                     uint64_t regime, const uint8_t *rec, size_t len)
{
    (void)regime;
    struct pr_ep *e = user;
    struct pairrun *pr = e->pr;
    if (number == 0) /* from before numbering: not the pair's */
        return;
    if (pr->nrs == pr->caprs) {
        size_t cap = pr->caprs ? 2 * pr->caprs : 64;
        struct pairenv_rec *v = realloc(pr->rs, cap * sizeof(*v));
        if (v == NULL) { /* a record not replayed is a read failure, never a gap */
            if (pr->rs_err == CG_OK)
                pr->rs_err = CG_ENOMEM;
            return;
        }
        pr->rs = v;
        pr->caprs = cap;
    }
    struct pairenv_rec *r = &pr->rs[pr->nrs];
    *r = (struct pairenv_rec){.number = number};
    size_t cap = 0;
    enum cg_err rc = wrap(e, peer_id, ch, rec, len, &r->env, &cap, &r->len);
    if (rc == CG_OK) {
        pr->nrs++;
    } else {
        free(r->env);
        if (pr->rs_err == CG_OK)
            pr->rs_err = rc;
    }
}

/* Every journal is read before anything is sent: a journal that cannot be
 * read (EIO, a file cut short, no memory) is not a compaction gap, and
 * replaying the others as bases would tell the standby to skip its records
 * (acknowledged answers lost at a takeover). cg_pairlink_resync_failed
 * instead: the standby stays behind and asks again. */
static void resync(struct pairrun *pr, uint64_t from)
{
    pr->nrs = 0;
    pr->rs_err = CG_OK;
    for (size_t i = 0; i < pr->neps; i++) {
        if (pr->eps[i].ep == NULL)
            continue;
        enum cg_err rc = cg_mos_endpoint_journal_read(pr->eps[i].ep, from, read_one, &pr->eps[i]);
        if (rc != CG_OK)
            fprintf(stderr, "castgate run: pair: resync: a journal of %s cannot be read: %s\n",
                    pr->eps[i].id, cg_strerror(rc));
        if (rc != CG_OK && pr->rs_err == CG_OK)
            pr->rs_err = rc;
    }
    pairenv_sort(pr->rs, pr->nrs);
    size_t sent = 0;
    for (size_t i = 0; i < pr->nrs; i++) {
        enum cg_err rc = pr->rs_err != CG_OK ? pr->rs_err
                         : cg_pairlink_replay(pr->pl, pr->rs[i].number, pr->rs[i].env,
                                              pr->rs[i].len);
        if (rc == CG_OK)
            sent++;
        else if (pr->rs_err == CG_OK)
            pr->rs_err = rc; /* the rest is not sent either: no base past it */
        free(pr->rs[i].env);
    }
    if (pr->rs_err != CG_OK) {
        fprintf(stderr, "castgate run: pair: resync from record %" PRIu64 " FAILED (%s) after "
                "%zu record(s): the standby stays behind and asks again\n", from,
                cg_strerror(pr->rs_err), sent);
        cg_pairlink_resync_failed(pr->pl, pr->rs_err);
    }
    pr->replayed += sent;
    fprintf(stderr, "castgate run: pair: resync from record %" PRIu64 ": %zu record(s) sent "
            "again\n", from, sent);
    pr->nrs = 0;
}

/* ---- the epoch file, the active file ---- */

static uint64_t read_epoch(const char *path)
{
    unsigned long long v = 0;
    FILE *f = fopen(path, "r");
    if (f != NULL && fscanf(f, "%llu", &v) != 1)
        v = 0;
    if (f != NULL)
        fclose(f);
    return (uint64_t)v;
}

static enum cg_err write_durably(const char *path, const char *text)
{
    char tmp[2300];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return CG_EIO;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
        return CG_EIO;
    }
    char dir[2300];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return CG_OK;
}

static enum cg_err persist(struct pairrun *pr, uint64_t epoch)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64 "\n", epoch);
    enum cg_err rc = write_durably(pr->epoch_path, text);
    if (rc != CG_OK)
        fprintf(stderr, "castgate run: pair: cannot write the epoch to %s: %s\n", pr->epoch_path,
                strerror(errno));
    return rc;
}

static void active_file(struct pairrun *pr, bool on)
{
    const char *path = pr->c->pair.active_file;
    if (path[0] == '\0')
        return;
    if (on) { /* our PID in it: a SIGKILLed active leaves the file, not a live process */
        /* Written beside it and renamed over it: keepalived's track script
         * (dist/keepalived/castgate-active, every second) never reads a
         * file truncated but not yet written, which would take the address
         * away from the active. */
        char pid[32], tmp[sizeof(pr->c->pair.active_file) + 32];
        int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        bool ok = fd >= 0 && write(fd, pid, (size_t)n) == n;
        if (fd >= 0)
            ok &= close(fd) == 0;
        ok = ok && rename(tmp, path) == 0;
        int err = errno;
        if (!ok)
            unlink(tmp);
        if (ok) {
            pr->made_active_file = true;
        } else {
            fprintf(stderr, "castgate run: pair: cannot create the active_file %s: %s\n", path,
                    strerror(err));
        }
    } else if (pr->made_active_file) {
        unlink(path);
        pr->made_active_file = false;
    }
}

/* ---- the link's events ---- */

static void role_change(struct pairrun *pr, const struct cg_pairlink_event *ev)
{
    enum pairrole_do d = pairrole_event(&pr->role, (int)ev->kind);
    if (d == PAIRDO_SERVE) {
        say(pr, "active", ev->epoch, ev->why);
        enum cg_err rc = pr->hooks.serve(pr->user, ev->epoch);
        if (rc != CG_OK) {
            fprintf(stderr, "castgate run: pair: cannot take over: %s; stopping\n",
                    cg_strerror(rc));
            pr->role.stopping = true;
            pr->hooks.stop(pr->user, 1, "cannot take over");
            return;
        }
        active_file(pr, true);
    } else if (d == PAIRDO_STOP) {
        bool down = ev->kind == CG_PAIRLINK_EV_STAND_DOWN;
        say(pr, down ? "stand-down" : "halted", ev->epoch, down ? ev->why : cg_strerror(ev->rc));
        active_file(pr, false);
        pr->hooks.stop(pr->user, down ? 3 : 1,
                       down ? "a newer active exists: stood down" : "the replication link halted");
    }
}

static enum cg_err on_pair(void *user, const struct cg_pairlink_event *ev)
{
    struct pairrun *pr = user;
    switch (ev->kind) {
    case CG_PAIRLINK_EV_STORE: return store(pr, ev);
    case CG_PAIRLINK_EV_RESET: return reset(pr, ev->epoch);
    case CG_PAIRLINK_EV_RESYNC: resync(pr, ev->number); return CG_OK;
    case CG_PAIRLINK_EV_PERSIST_EPOCH: return persist(pr, ev->epoch);
    case CG_PAIRLINK_EV_CONNECTED:
        say(pr, ev->up ? "connected" : "disconnected", ev->epoch, NULL);
        return CG_OK;
    case CG_PAIRLINK_EV_NOTE: say(pr, "note", ev->epoch, ev->why); return CG_OK;
    case CG_PAIRLINK_EV_BECOME_ACTIVE:
    case CG_PAIRLINK_EV_STAND_DOWN:
    case CG_PAIRLINK_EV_HALTED: role_change(pr, ev); return CG_OK;
    case CG_PAIRLINK_EV_RELEASE: release(pr, ev->ref); return CG_OK;
    case CG_PAIRLINK_EV_ABANDON: return CG_OK; /* we stood down: the process stops */
    }
    return CG_OK;
}

/* ---- setting up ---- */

struct collect {
    struct pairrun *pr;
    struct pr_ep *v;
    size_t n, cap;
    bool nomem;
};

static void collect_one(void *user, enum cg_relay_side side, enum cg_mos_role role,
                        const char *our_id, struct cg_mos_endpoint *ep)
{
    struct collect *c = user;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        struct pr_ep *v = realloc(c->v, cap * sizeof(*v));
        if (v == NULL) {
            c->nomem = true;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    struct pr_ep *e = &c->v[c->n++];
    *e = (struct pr_ep){.pr = c->pr, .side = side, .role = role, .ep = ep};
    snprintf(e->id, sizeof(e->id), "%s", our_id);
}

enum cg_err pairrun_attach(struct pairrun *pr, struct cg_relay *relay, uint64_t regime)
{
    struct collect c = {.pr = pr};
    enum cg_err rc = cg_relay_endpoints(relay, collect_one, &c);
    if (rc == CG_OK && c.nomem)
        rc = CG_ENOMEM;
    if (rc != CG_OK) { /* nothing changed yet */
        fprintf(stderr, "castgate run: pair: the endpoints' journals: %s\n", cg_strerror(rc));
        free(c.v);
        return rc;
    }
    static const struct cg_mos_journal_ops ops = {.appended = appended};
    for (size_t i = 0; rc == CG_OK && i < c.n; i++)
        rc = cg_mos_endpoint_set_journal_counter(c.v[i].ep, &pr->counter);
    if (regime != 0 && pr->counter > pr->released) /* taking over: what our journals hold */
        pr->released = pr->counter;                 /* answers need wait for nobody */
    for (size_t i = 0; i < c.n; i++) {
        /* every endpoint's observer points into the new array, even after an
         * error: none may keep a pointer into the old one, freed below */
        enum cg_err e = cg_mos_endpoint_set_journal_ops(c.v[i].ep, &ops, &c.v[i]);
        if (e == CG_OK && regime != 0)
            e = cg_mos_endpoint_set_journal_regime(c.v[i].ep, regime);
        if (e == CG_OK) /* answers wait for the standby (RELEASE) */
            e = cg_mos_endpoint_set_answer_gate(c.v[i].ep, true);
        if (e == CG_OK)
            e = cg_mos_endpoint_release_answers(c.v[i].ep, pr->released);
        if (rc == CG_OK)
            rc = e;
    }
    free(pr->eps);
    pr->eps = c.v;
    pr->neps = c.n;
    if (rc != CG_OK)
        fprintf(stderr, "castgate run: pair: the endpoints' journals: %s\n", cg_strerror(rc));
    return rc;
}

void pairrun_forget(struct pairrun *pr, struct cg_mos_endpoint *ep)
{
    for (size_t i = 0; pr != NULL && ep != NULL && i < pr->neps; i++) {
        if (pr->eps[i].ep != ep)
            continue;
        cg_mos_endpoint_set_journal_ops(ep, NULL, NULL);
        cg_mos_endpoint_set_journal_counter(ep, NULL);
        pr->eps[i].ep = NULL;
    }
}

static enum cg_err node1_server(struct pairrun *pr)
{
    const struct gwconf *c = pr->c;
    struct cg_server_config *sc = NULL;
    char host[64];
    uint16_t port;
    if (tool_parse_addr(c->pair.listen, host, sizeof(host), &port, 1) != 0)
        return CG_ECONFIG; /* --check-config's rules refuse it first */
    enum cg_err rc = cg_server_config_new(&sc);
    if (rc == CG_OK)
        rc = cg_server_config_add_listen(sc, host, port);
    for (int i = 0; rc == CG_OK && i < c->g.ncerts; i++)
        rc = cg_server_config_add_cert(sc, c->g.cert[i], c->g.key[i]);
    if (rc == CG_OK)
        rc = cg_server_config_set_ocsp(sc, c->g.ocsp, NULL);
    if (rc == CG_OK) /* the largest record node 0 sends (pair_build.h) */
        rc = cg_server_config_set_limit(sc, CG_LIMIT_MAX_WS_MESSAGE,
                                        pairb_max_record(c) + PAIRB_WIRE_ROOM);
    if (rc == CG_OK)
        rc = cg_server_new(pr->ctx, sc, &pr->srv);
    cg_server_config_free(sc);
    if (rc == CG_OK)
        rc = cg_credentials_load(pr->ctx, c->pair.credentials, &pr->cred);
    if (rc != CG_OK)
        fprintf(stderr, "castgate run: pair: node 1's listener %s: %s\n", c->pair.listen,
                cg_strerror(rc));
    return rc;
}

enum cg_err pairrun_new(struct cg_ctx *ctx, const struct gwconf *c,
                        const struct pairrun_hooks *hooks, void *user, struct pairrun **out)
{
    struct pairrun *pr = calloc(1, sizeof(*pr));
    if (pr == NULL)
        return CG_ENOMEM;
    *pr = (struct pairrun){.ctx = ctx, .c = c, .hooks = *hooks, .user = user};
    snprintf(pr->epoch_path, sizeof(pr->epoch_path), "%s/pair.epoch", c->g.state_dir);
    enum cg_err rc = c->pair.node == 0 ? pairb_client(ctx, c, &pr->client)
                                       : node1_server(pr);
    if (rc != CG_OK) {
        pairrun_free(pr);
        return rc;
    }
    *out = pr;
    return CG_OK;
}

enum cg_err pairrun_start(struct pairrun *pr)
{
    const struct gwpair *p = &pr->c->pair;
    uint64_t regime = 0;
    for (size_t i = 0; i < pr->neps; i++) {
        uint64_t last, r;
        if (pr->eps[i].ep == NULL)
            continue;
        cg_mos_endpoint_journal_position(pr->eps[i].ep, &last, &r);
        if (r > regime)
            regime = r;
    }
    struct cg_pairlink_config cfg = {
        .node = p->node,
        .heartbeat_ms = (uint64_t)p->heartbeat_ms,
        .takeover_after_ms = (uint64_t)p->takeover_after_ms,
        .strict = p->strict != 0,
        .epoch = read_epoch(pr->epoch_path),
        .regime = regime,
        .last_number = pr->counter,
        .max_record = (size_t)pairb_max_record(pr->c), /* every record the journals make */
        .client = pr->client,
        .url = p->peer,
        .server = pr->srv,
        .path = p->path[0] ? p->path : NULL,
        .credentials = pr->cred,
    };
    if (cfg.epoch < regime)
        cfg.epoch = regime;
    /* one a killed active left: we start a standby */
    if (p->active_file[0] && unlink(p->active_file) == 0)
        fprintf(stderr, "castgate run: pair: removed %s, left by an earlier run\n", p->active_file);
    enum cg_err rc = cg_pairlink_new(pr->ctx, &cfg, on_pair, pr, &pr->pl);
    if (rc == CG_OK && pr->srv != NULL)
        rc = cg_server_start(pr->srv);
    if (rc == CG_OK)
        rc = cg_pairlink_start(pr->pl);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate run: pair: cannot start the replication link: %s\n",
                cg_strerror(rc));
        return rc;
    }
    say(pr, "standby", cfg.epoch, NULL);
    fprintf(stderr, "castgate run: pair: node %d starts as a standby (epoch %" PRIu64
            ", journals of regime %" PRIu64 " up to record %" PRIu64 "): links held until it "
            "is active\n", p->node, cfg.epoch, regime, pr->counter);
    return CG_OK;
}

bool pairrun_active(const struct pairrun *pr) { return pr != NULL && pr->role.serving; }

void pairrun_metrics(const struct pairrun *pr, struct metrics_pair *out)
{
    struct cg_pairlink_state st;
    *out = (struct metrics_pair){.present = pr != NULL};
    if (pr == NULL || cg_pairlink_get_state(pr->pl, &st) != CG_OK)
        return;
    *out = (struct metrics_pair){.present = true, .node = pr->c->pair.node, .active = st.active,
                                 .connected = st.connected, .standby_present = st.standby_present,
                                 .epoch = st.epoch, .last_record = st.last_number,
                                 .stored = pr->stored, .resent = pr->replayed,
                                 .standby_behind = st.standby_behind,
                                 .resync_failures = st.resync_failures};
    for (size_t i = 0; i < pr->neps; i++)
        if (pr->eps[i].ep != NULL)
            out->answers_held += cg_mos_endpoint_answers_held(pr->eps[i].ep);
}

void pairrun_detach(struct pairrun *pr)
{
    for (size_t i = 0; pr != NULL && i < pr->neps; i++) {
        if (pr->eps[i].ep == NULL)
            continue; /* freed by the relay, unhooked then */
        cg_mos_endpoint_set_journal_ops(pr->eps[i].ep, NULL, NULL);
        cg_mos_endpoint_set_journal_counter(pr->eps[i].ep, NULL);
    } /* the gate stays: what it holds goes with the endpoint, never unreplicated */
    if (pr != NULL) {
        free(pr->eps);
        pr->eps = NULL;
        pr->neps = 0;
    }
}

void pairrun_free(struct pairrun *pr)
{
    if (pr == NULL)
        return;
    active_file(pr, false);
    cg_pairlink_free(pr->pl);
    pr->pl = NULL;
    pairrun_detach(pr); /* the relay is freed after us */
    cg_server_free(pr->srv);
    cg_credentials_free(pr->cred);
    cg_ws_client_free(pr->client);
    free(pr->rs);
    free(pr->buf);
    free(pr);
}
