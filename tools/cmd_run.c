/* castgate run — the gateway: legacy MOS 2.x gear on MOS 4.0 (M-20..M-24 on
 * the legacy side, M-01..M-13 on the other).
 *
 * Each [link] pairs a legacy peer (the gear: an NCS or a device, over TCP)
 * with a MOS 4.0 peer (the far side, over wss). Per link we run two
 * endpoints' worth of identity: towards the gear we are the far side (its
 * ID), towards the far side we are the gear (its ID), so IDs and messageIDs
 * pass end to end unchanged. Endpoints are shared by links with the same
 * identity on the same side (one legacy NCS talking to several devices is
 * one MOS 4.0 NCS endpoint with several peers).
 *
 * A request from either side is forwarded with cg_mos_forward and answered
 * with the far side's own answer (M-22: one in flight per lane; repeats are
 * collapsed and replayed by the endpoints). SIGHUP reloads the file: links
 * that did not change keep running; certificates and credentials are
 * re-read. SIGTERM drains: what is in flight may finish (drain_ms), nothing
 * new is forwarded, then we exit. */
#include "commands.h"
#include "mos_build.h"
#include "mos_config.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#define GRACE_MS 100 /* after the last answer of a drain: let it reach the socket */

struct gw;

struct gw_ep { /* one of our endpoints */
    struct gw *gw;
    bool mos4; /* the MOS 4.0 side; else the legacy side */
    enum cg_mos_role role;
    char id[513];
    char path[256];
    struct cg_mos_endpoint *ep;
    int npeers;
    struct gw_ep *next;
};

struct file_stamp { /* files a link reads: a change rebuilds the link on reload */
    long long mtime_ns, size;
};

struct gw_link {
    struct gwlink conf;
    struct file_stamp stamps[2]; /* ca, password_file */
    struct gw_ep *legacy, *mos4;
    const char *gear_id; /* the legacy gear's ID: our ID on the MOS 4.0 side */
    const char *far_id;  /* the far side's ID: our ID towards the gear */
    bool up[2];          /* any lane up: legacy side, MOS 4.0 side */
    unsigned long idless; /* requests without a messageID passed on to the MOS 4.0 side */
    struct gw_link *next;
};

struct gw {
    const char *path;
    struct gwconf conf;
    struct cg_ctx *ctx;
    struct cg_server *srv;
    struct gw_ep *eps;
    struct gw_link *links;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t drain;
    bool draining, check_only;
    unsigned inflight;
    char last_problem[8][300]; /* the library's latest warnings, for a link's "why" */
    unsigned nproblem;
};

struct forward {
    struct gw *gw;
    struct cg_mos_request *req;
};

/* ---- what happens ---- */

/* Everything the library logs goes to stderr; warnings are also remembered
 * so that a link going down can say why. */
static void on_log(void *user, enum cg_log_level level, const char *component, const char *msg)
{
    struct gw *gw = user;
    cg_log_stderr(NULL, level, component, msg);
    if (level <= CG_LOG_WARN)
        snprintf(gw->last_problem[gw->nproblem++ % 8], sizeof(gw->last_problem[0]), "%s: %s",
                 component, msg);
}

/* The latest remembered warning that names id (or its URL query form). */
static const char *problem_of(const struct gw *gw, const char *id)
{
    for (unsigned i = 0; i < 8 && i < gw->nproblem; i++) {
        const char *p = gw->last_problem[(gw->nproblem - 1 - i) % 8];
        if (strstr(p, id) != NULL)
            return p;
    }
    return NULL;
}

static void event_link(const struct gw *gw, const struct gw_link *k, bool mos4_side)
{
    bool up = k->up[mos4_side];
    printf("{\"event\":\"link\",\"link\":");
    tool_json_string(k->conf.name);
    printf(",\"legacy\":\"%s\",\"mos4\":\"%s\",\"what\":\"%s\"", k->up[0] ? "up" : "down",
           k->up[1] ? "up" : "down",
           up ? (mos4_side ? "the far side is reachable" : "the legacy gear is connected")
              : (mos4_side ? "the far side is unreachable" : "the legacy gear is not connected"));
    const char *why = up ? NULL : problem_of(gw, mos4_side ? k->far_id : k->gear_id);
    if (why != NULL) {
        printf(",\"why\":");
        tool_json_string(why);
    }
    printf("}\n");
    fflush(stdout);
}

static struct gw_link *link_of(struct gw *gw, const struct gw_ep *e, const char *peer)
{
    for (struct gw_link *k = gw->links; k != NULL; k = k->next)
        if (e->mos4 ? (k->mos4 == e && !strcmp(k->far_id, peer))
                    : (k->legacy == e && !strcmp(k->gear_id, peer)))
            return k;
    return NULL;
}

static bool any_up(const struct gw_ep *e, const char *peer)
{
    static const enum cg_mos_channel chs[] = {CG_MOS_CH_MOM, CG_MOS_CH_RO, CG_MOS_CH_AUX};
    for (size_t i = 0; i < 3; i++)
        for (int d = 0; d < 2; d++)
            if (cg_mos_lane_is_up(e->ep, peer, chs[i], (enum cg_mos_dir)d))
                return true;
    return false;
}

static void on_lane(void *user, const char *peer, enum cg_mos_channel ch, enum cg_mos_dir dir, bool up)
{
    struct gw_ep *e = user;
    struct gw_link *k = link_of(e->gw, e, peer);
    printf("{\"event\":\"lane\",\"link\":");
    tool_json_string(k != NULL ? k->conf.name : NULL);
    printf(",\"side\":\"%s\",\"peer\":", e->mos4 ? "mos4" : "legacy");
    tool_json_string(peer);
    printf(",\"channel\":\"%s\",\"dir\":\"%s\",\"up\":%s}\n", cg_mos_channel_name(ch),
           dir == CG_MOS_OUT ? "out" : "in", up ? "true" : "false");
    fflush(stdout);
    if (k == NULL)
        return;
    bool now = any_up(e, peer);
    if (now != k->up[e->mos4]) { /* the link's summary: which side is reachable */
        k->up[e->mos4] = now;
        event_link(e->gw, k, e->mos4);
    }
}

/* ---- relaying ---- */

/* MOS 2.6 gear may send requests without a messageID (M-11); a MOS 4.0 far
 * side may refuse them. Counted per link; an event at 1, 10, 100, ... */
static void count_idless(struct gw_link *k, const struct cg_mos_message *m)
{
    unsigned long n = ++k->idless, p = 1;
    while (p < n && p <= ULONG_MAX / 10)
        p *= 10;
    if (n != p)
        return;
    printf("{\"event\":\"no-messageid\",\"link\":");
    tool_json_string(k->conf.name);
    printf(",\"message\":");
    tool_json_string(m->env->name);
    printf(",\"count\":%lu,\"what\":\"requests from the legacy gear without a messageID passed "
           "to the MOS 4.0 side (M-11); it may refuse them\"}\n", n);
    fflush(stdout);
}

static void stop_soon(struct gw *gw, uint64_t ms);

static void relay_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct forward *f = user;
    struct gw *gw = f->gw;
    gw->inflight--;
    if (reply != NULL) /* the far side's own answer, its status text included */
        cg_mos_reply(f->req, reply->xml, reply->len);
    else if (status != CG_ECLOSED) /* on removal or shutdown the request is gone already */
        cg_mos_reply_ack(f->req, false, "castgate: no answer from the far side (retries "
                         "exhausted); it may still apply it: repeat it under the same messageID");
    free(f);
    if (gw->draining && gw->inflight == 0) {
        fprintf(stderr, "castgate run: drained\n");
        stop_soon(gw, GRACE_MS);
    }
}

static void nack(struct cg_mos_request *req, const char *a, const char *b, const char *c)
{
    char why[256];
    snprintf(why, sizeof(why), "castgate: %s%s%s", a, b, c);
    cg_mos_reply_ack(req, false, why);
}

static void relay_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct gw_ep *e = user;
    struct gw *gw = e->gw;
    struct gw_link *k = link_of(gw, e, m->peer_id);
    char extra[300];
    snprintf(extra, sizeof(extra), ",\"from\":\"%s\",\"link\":\"%.200s\"", e->mos4 ? "mos4" : "legacy",
             k != NULL ? k->conf.name : "");
    mosb_print_message("relay", m, extra);
    if (k == NULL) {
        nack(req, "no link for this peer", "", "");
        return;
    }
    if (gw->draining) { /* unanswered: the sender repeats it to the restarted gateway */
        fprintf(stderr, "castgate run: link %s: draining: <%s> not forwarded\n", k->conf.name,
                m->env->name);
        return;
    }
    struct gw_ep *to = e->mos4 ? k->legacy : k->mos4;
    const char *to_peer = e->mos4 ? k->gear_id : k->far_id;
    if (strcmp(m->env->name, "heartbeat") == 0) { /* M-10: end to end unless configured */
        const char *hb = k->conf.heartbeat;
        if (!strcmp(hb, "answer") ||
            (!strcmp(hb, "pass-or-answer") &&
             !cg_mos_lane_is_up(to->ep, to_peer, m->channel, CG_MOS_OUT))) {
            cg_mos_reply_heartbeat(req);
            return;
        }
    }
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(m->env->name, strlen(m->env->name));
    const char *xml = m->xml;
    size_t len = m->len;
    char *translated = NULL;
    if (!e->mos4 && info != NULL && info->removed_in_4) { /* M-12: the link's policy */
        const char *policy = k->conf.removed_in_4, *why = NULL;
        if (!strcmp(policy, "reject")) {
            nack(req, m->env->name, " was removed in MOS 4.0 (use roElementAction)", "");
            return;
        }
        if (!strncmp(policy, "translate", 9)) { /* docs/translation.md */
            size_t n = 0;
            enum cg_err trc = cg_mos_translate_removed(xml, len, &translated, &n, &why);
            if (trc == CG_OK) {
                xml = translated, len = n;
            } else if (trc != CG_ENOTSUP || strcmp(policy, "translate-or-pass") != 0) {
                fprintf(stderr, "castgate run: link %s: <%s> messageID %s not translated: %s\n",
                        k->conf.name, m->env->name, m->env->message_id, why ? why : "?");
                nack(req, "cannot translate: ", why != NULL ? why : cg_strerror(trc), "");
                return;
            }
        }
    }
    struct forward *f = malloc(sizeof(*f));
    enum cg_err rc = f == NULL ? CG_ENOMEM : CG_OK;
    if (rc == CG_OK) {
        *f = (struct forward){.gw = gw, .req = req};
        gw->inflight++;
        rc = cg_mos_forward(to->ep, to_peer, m->channel, xml, len, relay_done, f);
        if (rc != CG_OK)
            gw->inflight--;
        else if (!e->mos4 && m->env->message_id_kind == CG_MOS_MSGID_ABSENT)
            count_idless(k, m);
    }
    cg_mos_free(translated);
    if (rc != CG_OK) {
        free(f);
        nack(req, "cannot forward: ", cg_strerror(rc), "");
    }
}

/* ---- endpoints and links ---- */

static void safe_name(const char *id, char *out, size_t sz)
{
    size_t i = 0;
    for (; id[i] != '\0' && i + 1 < sz; i++)
        out[i] = (id[i] == '/' || id[i] == '\\' || (unsigned char)id[i] < 0x20) ? '_' : id[i];
    out[i] = '\0';
}

static enum cg_err ep_config(const struct gw *gw, const struct gw_ep *e, struct cg_mos_endpoint_config **out)
{
    const struct gwconf *c = &gw->conf;
    const struct mosconf *g = &c->g;
    struct cg_mos_endpoint_config *ec = NULL;
    enum cg_err rc = cg_mos_endpoint_config_new(e->role, e->id, &ec);
    if (rc == CG_OK && g->state_dir[0] && !gw->check_only) {
        char dir[2400], safe[513];
        safe_name(e->id, safe, sizeof(safe));
        snprintf(dir, sizeof(dir), "%s/%s-%s-%s", g->state_dir, e->mos4 ? "mos4" : "legacy",
                 e->role == CG_MOS_ROLE_NCS ? "ncs" : "mos", safe);
        rc = cg_mos_endpoint_config_set_state_dir(ec, dir);
        if (rc == CG_OK)
            rc = cg_mos_endpoint_config_set_journal(ec, c->journal);
        enum cg_mos_fsync fs = !strcmp(c->fsync, "never") ? CG_MOS_FSYNC_NEVER
                             : !strcmp(c->fsync, "interval") ? CG_MOS_FSYNC_INTERVAL
                                                             : CG_MOS_FSYNC_ALWAYS;
        if (rc == CG_OK)
            rc = cg_mos_endpoint_config_set_fsync(ec, fs, (uint32_t)c->fsync_interval_ms);
    }
    if (rc == CG_OK && e->mos4 && g->credentials[0])
        rc = cg_mos_endpoint_config_set_credentials(ec, g->credentials);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_timing(ec, (uint32_t)g->keepalive_s * 1000,
                                               (uint32_t)g->ack_timeout_ms, (uint32_t)g->retries,
                                               (uint32_t)g->reconnect_max_ms);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_refused_backoff(ec, (uint32_t)g->refused_backoff_max_ms);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_limits(ec, (size_t)g->max_message, 100000);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_validate(ec, g->validate);
    if (rc == CG_OK && !strcmp(g->heartbeat_time, "short")) /* M-24 */
        rc = cg_mos_endpoint_config_set_heartbeat_time(ec, CG_MOS_TIME_SHORT);
    if (rc == CG_OK && g->silent_reset_s > 0)
        rc = cg_mos_endpoint_config_set_silent_reset(ec, (uint32_t)g->silent_reset_s * 1000);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_xml_limits(ec, (uint32_t)g->max_attributes,
                                                   (uint32_t)g->max_depth,
                                                   (size_t)g->validate_async_bytes);
    if (rc == CG_OK) /* a repeat after our restart goes on: the far side deduplicates (M-22) */
        rc = cg_mos_endpoint_config_set_redeliver(ec, true);
    if (rc == CG_OK) /* the link's heartbeat policy decides, in relay_request */
        rc = cg_mos_endpoint_config_set_deliver_heartbeats(ec, true);
    if (rc != CG_OK)
        cg_mos_endpoint_config_free(ec);
    else
        *out = ec;
    return rc;
}

static void ep_drop(struct gw *gw, struct gw_ep *e)
{
    if (--e->npeers > 0)
        return;
    struct gw_ep **pp = &gw->eps;
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    cg_mos_endpoint_free(e->ep);
    free(e);
}

static enum cg_err ep_get(struct gw *gw, bool mos4, enum cg_mos_role role, const char *id,
                          const char *path, struct gw_ep **out)
{
    for (struct gw_ep *e = gw->eps; e != NULL; e = e->next)
        if (e->mos4 == mos4 && e->role == role && !strcmp(e->id, id)) {
            e->npeers++;
            *out = e;
            return CG_OK;
        }
    struct gw_ep *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return CG_ENOMEM;
    *e = (struct gw_ep){.gw = gw, .mos4 = mos4, .role = role, .npeers = 1};
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->path, sizeof(e->path), "%s", path);
    struct cg_mos_endpoint_config *ec = NULL;
    struct cg_mos_handlers h = {.on_lane = on_lane, .on_request = relay_request};
    enum cg_err rc = ep_config(gw, e, &ec);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_new(gw->ctx, ec, &h, e, &e->ep);
    cg_mos_endpoint_config_free(ec);
    if (rc == CG_OK && mos4 && gw->srv != NULL)
        rc = cg_mos_endpoint_attach(e->ep, gw->srv, path);
    if (rc == CG_OK && !gw->check_only)
        rc = cg_mos_endpoint_start(e->ep);
    if (rc != CG_OK) {
        cg_mos_endpoint_free(e->ep);
        free(e);
        return rc;
    }
    e->next = gw->eps;
    gw->eps = e;
    *out = e;
    return CG_OK;
}

static void stamp(const char *path, struct file_stamp *s)
{
    struct stat st;
    *s = (struct file_stamp){0};
    if (path[0] != '\0' && stat(path, &st) == 0)
        *s = (struct file_stamp){(long long)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
                                 (long long)st.st_size};
}

static void link_free(struct gw *gw, struct gw_link *k)
{
    /* the MOS 4.0 peer first: forwards of the gear's requests end (CG_ECLOSED)
     * while those requests still exist */
    if (k->mos4 != NULL) {
        cg_mos_endpoint_remove_peer(k->mos4->ep, k->far_id);
        ep_drop(gw, k->mos4);
    }
    if (k->legacy != NULL) {
        cg_mos_endpoint_remove_peer(k->legacy->ep, k->gear_id);
        ep_drop(gw, k->legacy);
    }
    free(k);
}

static enum cg_err link_add(struct gw *gw, const struct gwlink *conf)
{
    struct gw_link *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return CG_ENOMEM;
    k->conf = *conf;
    stamp(conf->p.ca, &k->stamps[0]);
    stamp(conf->p.password_file, &k->stamps[1]);
    bool gear_ncs = !strcmp(conf->legacy, "ncs");
    k->gear_id = gear_ncs ? k->conf.ncs_id : k->conf.mos_id;
    k->far_id = gear_ncs ? k->conf.mos_id : k->conf.ncs_id;
    enum cg_mos_role gear_role = gear_ncs ? CG_MOS_ROLE_NCS : CG_MOS_ROLE_MOS;
    enum cg_mos_role far_role = gear_ncs ? CG_MOS_ROLE_MOS : CG_MOS_ROLE_NCS;
    /* towards the gear we play the far side; towards the far side, the gear */
    struct mosconf_peer gear = {0}, far = conf->p;
    snprintf(gear.id, sizeof(gear.id), "%s", k->gear_id);
    snprintf(gear.channels, sizeof(gear.channels), "%s", conf->p.channels);
    memcpy(gear.legacy_dial, conf->p.legacy_dial, sizeof(gear.legacy_dial));
    memcpy(gear.legacy_listen, conf->p.legacy_listen, sizeof(gear.legacy_listen));
    memcpy(gear.legacy_encoding, conf->p.legacy_encoding, sizeof(gear.legacy_encoding));
    memcpy(gear.legacy_allow, conf->p.legacy_allow, sizeof(gear.legacy_allow));
    snprintf(far.id, sizeof(far.id), "%s", k->far_id);
    far.legacy_dial[0] = far.legacy_listen[0] = far.legacy_encoding[0] = far.legacy_allow[0] = '\0';
    enum cg_err rc = ep_get(gw, false, far_role, k->far_id, "", &k->legacy);
    if (rc == CG_OK)
        rc = ep_get(gw, true, gear_role, k->gear_id, conf->path, &k->mos4);
    if (rc == CG_OK)
        rc = mosb_add_peer(k->mos4->ep, &far);
    if (rc == CG_OK)
        rc = mosb_add_peer(k->legacy->ep, &gear);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate run: link %s: cannot start: %s\n", conf->name, cg_strerror(rc));
        link_free(gw, k);
        return rc;
    }
    k->next = gw->links;
    gw->links = k;
    return CG_OK;
}

/* ---- SIGHUP: reload ---- */

static bool same_link(const struct gw_link *k, const struct gwlink *c)
{
    struct gwlink a = k->conf, b = *c;
    a.line = b.line = 0;
    struct file_stamp s[2];
    stamp(c->p.ca, &s[0]);
    stamp(c->p.password_file, &s[1]);
    return memcmp(&a, &b, sizeof(a)) == 0 && memcmp(s, k->stamps, sizeof(s)) == 0;
}

/* What a reload cannot change without dropping every link. */
static void warn_fixed(const struct gwconf *old, const struct gwconf *now)
{
    const struct mosconf *a = &old->g, *b = &now->g;
    const char *what = strcmp(a->listen, b->listen) ? "listen"
                     : strcmp(a->state_dir, b->state_dir) ? "state_dir"
                     : old->journal != now->journal || strcmp(old->fsync, now->fsync) ? "journal/fsync"
                     : a->keepalive_s != b->keepalive_s || a->ack_timeout_ms != b->ack_timeout_ms ||
                               a->retries != b->retries || a->reconnect_max_ms != b->reconnect_max_ms ||
                               a->refused_backoff_max_ms != b->refused_backoff_max_ms ||
                               a->max_message != b->max_message || a->validate != b->validate ||
                               strcmp(a->heartbeat_time, b->heartbeat_time) != 0 ||
                               a->silent_reset_s != b->silent_reset_s ||
                               a->max_attributes != b->max_attributes ||
                               a->max_depth != b->max_depth ||
                               a->validate_async_bytes != b->validate_async_bytes
                         ? "timing or limits"
                         : NULL;
    if (what != NULL)
        fprintf(stderr, "castgate run: reload: [gateway] %s changed: that takes a restart; the "
                "running value stays\n", what);
}

static void reload(struct gw *gw)
{
    struct gwconf *now = calloc(1, sizeof(*now));
    if (now == NULL || gwconf_load(gw->path, now) != 0) {
        fprintf(stderr, "castgate run: reload REFUSED: the file has errors; nothing changed\n");
        if (now != NULL)
            gwconf_free(now);
        free(now);
        return;
    }
    warn_fixed(&gw->conf, now);
    if (gw->srv != NULL) { /* new handshakes get the new certificates; open links stay */
        const char *chains[MOSCONF_MAX_CERTS], *keys[MOSCONF_MAX_CERTS];
        for (int i = 0; i < now->g.ncerts; i++)
            chains[i] = now->g.cert[i], keys[i] = now->g.key[i];
        enum cg_err rc = cg_server_reload_certs(gw->srv, chains, keys, (size_t)now->g.ncerts);
        fprintf(stderr, "castgate run: reload: certificates %s%s\n", rc == CG_OK ? "reloaded" : "KEPT: ",
                rc == CG_OK ? "" : cg_strerror(rc));
    }
    for (struct gw_ep *e = gw->eps; e != NULL; e = e->next)
        if (e->mos4 && gw->conf.g.credentials[0])
            cg_mos_endpoint_reload_credentials(e->ep);
    int kept = 0, removed = 0, added = 0, failed = 0;
    for (struct gw_link **pp = &gw->links; *pp != NULL;) {
        struct gw_link *k = *pp;
        int i = 0;
        while (i < now->nlinks && strcmp(now->links[i].name, k->conf.name) != 0)
            i++;
        if (i < now->nlinks && same_link(k, &now->links[i])) {
            now->links[i].name[0] = '\0'; /* running: nothing to add */
            kept++;
            pp = &k->next;
            continue;
        }
        *pp = k->next;
        link_free(gw, k);
        removed++;
    }
    for (int i = 0; i < now->nlinks; i++)
        if (now->links[i].name[0] != '\0')
            link_add(gw, &now->links[i]) == CG_OK ? added++ : failed++;
    fprintf(stderr, "castgate run: reload: %d link(s) kept running, %d stopped, %d started%s\n",
            kept, removed, added, failed ? " (some failed to start: see above)" : "");
    gwconf_free(&gw->conf);
    gw->conf = *now; /* the links array moves over */
    free(now);
}

/* ---- signals ---- */

static void on_stop_timer(uv_timer_t *t)
{
    struct gw *gw = t->data;
    if (gw->inflight > 0)
        fprintf(stderr, "castgate run: drain time is up with %u message(s) in flight; their "
                "senders repeat them after the restart\n", gw->inflight);
    cg_ctx_stop(gw->ctx);
}

static void stop_soon(struct gw *gw, uint64_t ms) { uv_timer_start(&gw->drain, on_stop_timer, ms, 0); }

static void on_signal(uv_signal_t *s, int sig)
{
    struct gw *gw = s->data;
    if (sig == SIGHUP) {
        fprintf(stderr, "castgate run: SIGHUP, reloading %s\n", gw->path);
        reload(gw);
        return;
    }
    if (sig == SIGINT || gw->draining) { /* at once */
        fprintf(stderr, "castgate run: signal %d, stopping\n", sig);
        cg_ctx_stop(gw->ctx);
        return;
    }
    gw->draining = true;
    fprintf(stderr, "castgate run: SIGTERM: draining %u message(s) in flight (at most %ld ms)\n",
            gw->inflight, gw->conf.drain_ms);
    stop_soon(gw, gw->inflight == 0 ? GRACE_MS : (uint64_t)gw->conf.drain_ms);
}

/* ---- the command ---- */

static void run_usage(FILE *f)
{
    fprintf(f, "usage: castgate run --config FILE [--check-config]\n"
               "The gateway: legacy MOS 2.x gear (TCP, M-21) on MOS 4.0 (wss, M-01). Each\n"
               "[link] pairs a legacy peer with a MOS 4.0 peer; messageIDs and answers pass end\n"
               "to end. SIGHUP reloads the file (unchanged links keep running; certificates and\n"
               "credentials are re-read); SIGTERM drains what is in flight (drain_ms), then exits.\n"
               "--check-config validates the file (certificates, credentials, addresses) and exits.\n"
               "See docs/gateway.md.\n\n");
    gwconf_help(f);
}

static void teardown(struct gw *gw)
{
    while (gw->links != NULL) {
        struct gw_link *k = gw->links;
        gw->links = k->next;
        link_free(gw, k);
    }
    cg_server_free(gw->srv);
    gw->srv = NULL;
}

static int start(struct gw *gw)
{
    const struct mosconf *g = &gw->conf.g;
    if (g->listen[0] && mosb_server(gw->ctx, g, &gw->srv) != CG_OK) {
        fprintf(stderr, "castgate run: %s: cannot set up the listener %s\n", gw->path, g->listen);
        return 1;
    }
    mosconf_warn_open("run", g);
    for (int i = gw->conf.nlinks - 1; i >= 0; i--) /* links are pushed: keep the file's order */
        if (link_add(gw, &gw->conf.links[i]) != CG_OK)
            return 1;
    if (gw->check_only)
        return 0;
    if (gw->srv != NULL && cg_server_start(gw->srv) != CG_OK) {
        fprintf(stderr, "castgate run: cannot listen on %s\n", g->listen);
        return 1;
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct gw *gw = calloc(1, sizeof(*gw));
    if (gw == NULL)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            gw->path = argv[++i];
        else if (!strcmp(argv[i], "--check-config"))
            gw->check_only = true;
        else {
            bool help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
            run_usage(help ? stdout : stderr);
            free(gw);
            return help ? 0 : 2;
        }
    }
    if (gw->path == NULL) {
        run_usage(stderr);
        free(gw);
        return 2;
    }
    int rc = 1;
    if (gwconf_load(gw->path, &gw->conf) != 0 || cg_ctx_new(&gw->ctx) != CG_OK)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    cg_ctx_set_log(gw->ctx, on_log, gw, gw->check_only ? CG_LOG_ERROR : CG_LOG_INFO);
    uv_loop_t *loop = cg_ctx_loop(gw->ctx);
    uv_timer_init(loop, &gw->drain);
    gw->drain.data = gw;
    rc = start(gw);
    if (rc == 0 && gw->check_only) {
        printf("castgate run: %s is valid: %d link(s)\n", gw->path, gw->conf.nlinks);
    } else if (rc == 0) {
        uv_signal_t *sigs[] = {&gw->sigint, &gw->sigterm, &gw->sighup};
        int nums[] = {SIGINT, SIGTERM, SIGHUP};
        for (int i = 0; i < 3; i++) {
            uv_signal_init(loop, sigs[i]);
            sigs[i]->data = gw;
            uv_signal_start(sigs[i], on_signal, nums[i]);
        }
        printf("{\"event\":\"running\",\"links\":%d", gw->conf.nlinks);
        if (gw->srv != NULL)
            printf(",\"port\":%u", (unsigned)cg_server_port(gw->srv, 0));
        printf("}\n");
        fflush(stdout);
        cg_ctx_run(gw->ctx);
        for (int i = 0; i < 3; i++)
            uv_close((uv_handle_t *)sigs[i], NULL);
    }
    teardown(gw);
    uv_close((uv_handle_t *)&gw->drain, NULL);
    cg_ctx_free(gw->ctx);
out:
    gwconf_free(&gw->conf);
    free(gw);
    return rc;
}
