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
 * The relaying itself (forwarding, the heartbeat and removed-in-4.0
 * policies, drain, counters) is the library's relay (include/castgate/
 * relay.h, src/relay/); this program reads the file, handles signals and
 * prints the relay's events. SIGHUP reloads the file: links that did not
 * change keep running; certificates and credentials are re-read. SIGTERM
 * drains: what is in flight may finish (drain_ms), nothing new is
 * forwarded, then we exit. */
#include "admin.h"
#include "commands.h"
#include "metrics.h"
#include "notify.h"
#include "mos_build.h"
#include "mos_config.h"
#include "pair_build.h"
#include "pair_run.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define GRACE_MS 100 /* after the last answer of a drain: let it reach the socket */

struct file_stamp { /* files a link reads: a change rebuilds the link on reload */
    long long mtime_ns, size;
};

struct gw_link { /* a running link, as the file had it: for the diff on reload */
    struct gwlink conf;
    struct file_stamp stamps[2]; /* ca, password_file */
    struct gw_link *next;
};

struct gw {
    const char *path;
    struct gwconf conf;
    struct cg_ctx *ctx;
    struct cg_server *srv;
    struct cg_relay *relay;
    struct gw_link *links;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t drain;
    uv_timer_t watchdog;     /* WATCHDOG=1 to systemd (notify.h) */
    uv_timer_t out_flush;    /* flushes the per-message lines on stdout (on_event) */
    bool draining, check_only;
    bool journal;            /* stderr is the journal: "<N>" priority prefixes */
    struct metrics *metrics; /* counters for /metrics and the status page (metrics.h) */
    struct admin *admin;     /* the admin listener, when admin_listen is set */
    char last_problem[8][300]; /* the library's latest warnings, for a link's "why" */
    unsigned nproblem;
    struct pairrun *pair;    /* [pair]: the replication link (pair_run.h); NULL alone */
    int exit_code;           /* non-zero: the pair stopped us (stood down, halted) */
};

/* ---- what happens ---- */

/* Everything the library logs goes to stderr; warnings are also remembered
 * so that a link going down can say why. */
static void on_log(void *user, enum cg_log_level level, const char *component, const char *msg)
{
    struct gw *gw = user;
    if (gw->journal) /* journald reads the priority from the "<N>" prefix */
        fprintf(stderr, "<%d>", journal_priority((int)level));
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

static void event_link(const struct gw *gw, const struct cg_relay_event *ev)
{
    bool mos4_side = ev->side == CG_RELAY_MOS4;
    printf("{\"event\":\"link\",\"link\":");
    tool_json_string(ev->link);
    if (ev->leg == CG_RELAY_BUDDY) { /* a link with a buddy leg: which leg changed */
        printf(",\"leg\":\"buddy\",\"leg_up\":%s,\"peer\":", ev->up ? "true" : "false");
        tool_json_string(ev->peer_id);
    }
    printf(",\"legacy\":\"%s\",\"mos4\":\"%s\",\"what\":\"%s\"", ev->legacy_up ? "up" : "down",
           ev->mos4_up ? "up" : "down",
           ev->up ? (mos4_side ? "the far side is reachable" : "the legacy gear is connected")
                  : (mos4_side ? "the far side is unreachable" : "the legacy gear is not connected"));
    const char *why = ev->up ? NULL : problem_of(gw, ev->peer_id);
    if (why != NULL) {
        printf(",\"why\":");
        tool_json_string(why);
    }
    printf("}\n");
}

/* Failover moved the requests towards one side of a link to the other leg
 * (issue 18, docs/redundancy.md). */
static void event_active(const struct cg_relay_event *ev)
{
    printf("{\"event\":\"active\",\"link\":");
    tool_json_string(ev->link);
    printf(",\"side\":\"%s\",\"active\":\"%s\",\"was\":\"%s\",\"why\":\"%s\",\"for_ms\":%llu,"
           "\"peer\":", ev->side == CG_RELAY_MOS4 ? "mos4" : "legacy", cg_relay_leg_name(ev->leg),
           cg_relay_leg_name(ev->was), ev->why != NULL ? ev->why : "?",
           (unsigned long long)ev->for_ms);
    tool_json_string(ev->peer_id);
    printf("}\n");
}

/* leg_state = mirror (issue 18): a side of a leg held, released, or its
 * requests given up, and why. */
static void event_leg(const struct cg_relay_event *ev)
{
    printf("{\"event\":\"leg\",\"link\":");
    tool_json_string(ev->link);
    printf(",\"leg\":\"%s\",\"side\":\"%s\",\"what\":\"%s\",\"cause\":\"%s\",\"for_ms\":%llu,"
           "\"count\":%lu,\"peer\":", cg_relay_leg_name(ev->leg),
           ev->side == CG_RELAY_MOS4 ? "mos4" : "legacy", ev->why != NULL ? ev->why : "?",
           ev->cause == CG_RELAY_MOS4 ? "mos4" : "legacy", (unsigned long long)ev->for_ms,
           ev->count);
    tool_json_string(ev->peer_id);
    printf("}\n");
}

static void event_lane(const struct cg_relay_event *ev)
{
    printf("{\"event\":\"lane\",\"link\":");
    tool_json_string(ev->link);
    printf(",\"side\":\"%s\",\"peer\":", ev->side == CG_RELAY_MOS4 ? "mos4" : "legacy");
    tool_json_string(ev->peer_id);
    printf(",\"channel\":\"%s\",\"dir\":\"%s\",\"up\":%s}\n", cg_mos_channel_name(ev->channel),
           ev->dir == CG_MOS_OUT ? "out" : "in", ev->up ? "true" : "false");
}

static void event_idless(const struct cg_relay_event *ev)
{
    printf("{\"event\":\"no-messageid\",\"link\":");
    tool_json_string(ev->link);
    printf(",\"message\":");
    tool_json_string(ev->message->env->name);
    printf(",\"count\":%lu,\"what\":\"requests from the legacy gear without a messageID passed "
           "to the MOS 4.0 side (M-11); it may refuse them\"}\n", ev->count);
}

/* STATUS= for systemd: how many links are up on both sides. */
static void notify_links(const struct gw *gw)
{
    int n, both, legacy, mos4;
    metrics_summary(gw->metrics, &n, &both, &legacy, &mos4);
    notify_status("%d of %d link(s) up (legacy side up: %d, MOS 4.0 side up: %d)%s", both, n,
                  legacy, mos4, gw->draining ? "; draining" : "");
}

/* The same events into the counters (tools/metrics.h) and systemd's STATUS=. */
static void count_event(const struct gw *gw, const struct cg_relay_event *ev)
{
    enum metrics_from from = ev->side == CG_RELAY_MOS4 ? METRICS_FROM_MOS4 : METRICS_FROM_LEGACY;
    switch (ev->kind) {
    case CG_RELAY_EV_LANE:
        break;
    case CG_RELAY_EV_LINK:
        metrics_link_state(gw->metrics, ev->link, ev->legacy_up, ev->mos4_up);
        if (!ev->up)
            metrics_link_why(gw->metrics, ev->link, problem_of(gw, ev->peer_id));
        notify_links(gw);
        break;
    case CG_RELAY_EV_REQUEST:
        if (ev->link == NULL) { /* the relay NACKs it */
            metrics_nack(gw->metrics, NULL, METRICS_NACK_NO_LINK);
            break;
        }
        metrics_relayed(gw->metrics, ev->link, from);
        metrics_last_message(gw->metrics, ev->link, from, ev->message->env->name,
                             ev->message->env->message_id);
        metrics_in_flight(gw->metrics, cg_relay_inflight(gw->relay));
        break;
    case CG_RELAY_EV_NO_MESSAGEID:
        metrics_idless(gw->metrics, ev->link, ev->count);
        break;
    case CG_RELAY_EV_ACTIVE: /* issue 18 item 4 */
        metrics_active(gw->metrics, ev->link, ev->side, ev->leg, ev->was, ev->why,
                       (unsigned long long)ev->for_ms);
        break;
    case CG_RELAY_EV_LEG: /* leg_state = mirror: no metric yet (the link's state shows it) */
        break;
    }
}

static void on_out_flush(uv_timer_t *t)
{
    (void)t;
    fflush(stdout);
}

/* The relay's events, one JSON line each on stdout. A link's, a lane's and
 * the count of requests without a messageID reach stdout at once; the line
 * per relayed message waits in stdio's buffer until OUT_FLUSH_MS after the
 * first one not yet written (or a full buffer, another event, the exit), so
 * a busy gateway writes them in batches, not one write(2) per message. */
#define OUT_FLUSH_MS 50
static void on_event(void *user, const struct cg_relay_event *ev)
{
    struct gw *gw = user;
    count_event(gw, ev);
    char extra[300];
    switch (ev->kind) {
    case CG_RELAY_EV_LANE:
        event_lane(ev);
        break;
    case CG_RELAY_EV_LINK:
        event_link(gw, ev);
        break;
    case CG_RELAY_EV_REQUEST: { /* ,"from":"mos4|legacy","link":"<at most 200 bytes>" */
        const char *link = ev->link != NULL ? ev->link : "";
        size_t n = strnlen(link, 200);
        char *p = stpcpy(extra, ev->side == CG_RELAY_MOS4 ? ",\"from\":\"mos4\",\"link\":\""
                                                          : ",\"from\":\"legacy\",\"link\":\"");
        memcpy(p, link, n);
        memcpy(p + n, "\"", 2);
        mosb_write_message("relay", ev->message, extra);
        if (!uv_is_active((uv_handle_t *)&gw->out_flush))
            uv_timer_start(&gw->out_flush, on_out_flush, OUT_FLUSH_MS, 0);
        return;
    }
    case CG_RELAY_EV_NO_MESSAGEID:
        event_idless(ev);
        break;
    case CG_RELAY_EV_ACTIVE:
        event_active(ev);
        break;
    case CG_RELAY_EV_LEG:
        event_leg(ev);
        break;
    }
    uv_timer_stop(&gw->out_flush);
    fflush(stdout);
}

/* ---- endpoints and links ---- */

static void safe_name(const char *id, char *out, size_t sz)
{
    size_t i = 0;
    for (; id[i] != '\0' && i + 1 < sz; i++)
        out[i] = (id[i] == '/' || id[i] == '\\' || (unsigned char)id[i] < 0x20) ? '_' : id[i];
    out[i] = '\0';
}

/* The relay's endpoints get the [gateway] settings (redelivery and heartbeat
 * delivery are the relay's own). */
static enum cg_err configure_endpoint(void *user, enum cg_relay_side side, enum cg_mos_role role,
                                      const char *id, struct cg_mos_endpoint_config *ec)
{
    const struct gw *gw = user;
    const struct gwconf *c = &gw->conf;
    const struct mosconf *g = &c->g;
    bool mos4 = side == CG_RELAY_MOS4;
    enum cg_err rc = CG_OK;
    if (g->state_dir[0] && !gw->check_only) {
        char dir[2400], safe[513];
        safe_name(id, safe, sizeof(safe));
        snprintf(dir, sizeof(dir), "%s/%s-%s-%s", g->state_dir, mos4 ? "mos4" : "legacy",
                 role == CG_MOS_ROLE_NCS ? "ncs" : "mos", safe);
        rc = cg_mos_endpoint_config_set_state_dir(ec, dir);
        if (rc == CG_OK)
            rc = cg_mos_endpoint_config_set_journal(ec, c->journal);
        if (rc == CG_OK)
            rc = cg_mos_endpoint_config_set_fsync(ec, (enum cg_mos_fsync)c->fsync,
                                                  (uint32_t)c->fsync_interval_ms);
    }
    if (rc == CG_OK && mos4 && g->credentials[0])
        rc = cg_mos_endpoint_config_set_credentials(ec, g->credentials);
    if (rc == CG_OK && mos4 && g->auth == MOSCONF_AUTH_NONE) /* the file said so (M-05) */
        rc = cg_mos_endpoint_config_set_auth_none(ec, true);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_limits(ec, (size_t)g->opt[CG_MOS_OPT_MAX_MESSAGE], 100000);
    if (rc == CG_OK)
        rc = mosconf_apply(g, ec); /* the table's endpoint options */
    return rc;
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
    cg_relay_remove_link(gw->relay, k->conf.name);
    metrics_link_removed(gw->metrics, k->conf.name);
    free(k);
}

/* The link's configuration and its two peers: towards the gear we play the
 * far side, towards the far side the gear. */
static enum cg_err link_build(const struct gwlink *conf, struct cg_relay_link_config **lc,
                              struct mosconf_peer *gear, struct mosconf_peer *far)
{
    bool gear_ncs = conf->legacy == CG_MOS_ROLE_NCS;
    const char *gear_id = gear_ncs ? conf->ncs_id : conf->mos_id;
    const char *far_id = gear_ncs ? conf->mos_id : conf->ncs_id;
    enum cg_err rc = cg_relay_link_config_new(conf->name, lc);
    if (rc != CG_OK)
        return rc;
    rc = cg_relay_link_config_set_gear(*lc, gear_ncs ? CG_MOS_ROLE_NCS : CG_MOS_ROLE_MOS,
                                       conf->ncs_id, conf->mos_id);
    if (rc == CG_OK)
        rc = cg_relay_link_config_set_path(*lc, conf->path);
    if (rc == CG_OK)
        rc = cg_relay_link_config_set_heartbeat(*lc, (enum cg_relay_heartbeat)conf->heartbeat);
    if (rc == CG_OK)
        rc = cg_relay_link_config_set_removed_in_4(*lc, (enum cg_relay_removed)conf->removed_in_4);
    if (rc == CG_OK && conf->legacy_buddy[0])
        rc = cg_relay_link_config_set_buddy(*lc, CG_RELAY_LEGACY, conf->legacy_buddy);
    if (rc == CG_OK && conf->mos4_buddy[0])
        rc = cg_relay_link_config_set_buddy(*lc, CG_RELAY_MOS4, conf->mos4_buddy);
    if (rc == CG_OK && conf->buddy_path[0])
        rc = cg_relay_link_config_set_buddy_path(*lc, conf->buddy_path);
    if (rc == CG_OK)
        rc = cg_relay_link_config_set_redundancy(
            *lc, (enum cg_relay_redundancy)conf->redundancy, (uint64_t)conf->failover_after_ms,
            conf->failback_after_ms == 0 ? CG_RELAY_NEVER : (uint64_t)conf->failback_after_ms);
    if (rc == CG_OK)
        rc = cg_relay_link_config_set_leg_state(*lc, (enum cg_relay_leg_state)conf->leg_state,
                                                (uint64_t)conf->leg_down_after_ms,
                                                (uint64_t)conf->leg_up_after_ms);
    *gear = (struct mosconf_peer){0};
    *far = conf->p;
    snprintf(gear->id, sizeof(gear->id), "%s", gear_id);
    snprintf(gear->channels, sizeof(gear->channels), "%s", conf->p.channels);
    memcpy(gear->legacy_dial, conf->p.legacy_dial, sizeof(gear->legacy_dial));
    memcpy(gear->legacy_listen, conf->p.legacy_listen, sizeof(gear->legacy_listen));
    gear->legacy_encoding = conf->p.legacy_encoding;
    memcpy(gear->legacy_allow, conf->p.legacy_allow, sizeof(gear->legacy_allow));
    snprintf(far->id, sizeof(far->id), "%s", far_id);
    far->legacy_dial[0] = far->legacy_listen[0] = far->legacy_allow[0] = '\0';
    return rc;
}

/* The buddy leg's two peers (docs/redundancy.md), from the primary's:
 * the leg's IDs, the buddy's legacy transport, the buddy's url. Under
 * failover the side without a buddy has none (its flag false). */
static void buddy_build(const struct gwlink *conf, const struct mosconf_peer *gear,
                        const struct mosconf_peer *far, struct mosconf_peer *bgear,
                        struct mosconf_peer *bfar, bool own[2])
{
    bool fo = conf->redundancy == CG_RELAY_FAILOVER;
    own[0] = !fo || conf->legacy_buddy[0];
    own[1] = !fo || conf->mos4_buddy[0];
    *bgear = *gear;
    *bfar = *far;
    if (conf->legacy_buddy[0])
        snprintf(bgear->id, sizeof(bgear->id), "%s", conf->legacy_buddy);
    if (conf->mos4_buddy[0])
        snprintf(bfar->id, sizeof(bfar->id), "%s", conf->mos4_buddy);
    memcpy(bgear->legacy_dial, conf->legacy_buddy_dial, sizeof(bgear->legacy_dial));
    memcpy(bgear->legacy_listen, conf->legacy_buddy_listen, sizeof(bgear->legacy_listen));
    memcpy(bgear->legacy_allow, conf->legacy_buddy_allow, sizeof(bgear->legacy_allow));
    bgear->legacy_encoding = conf->legacy_buddy_encoding;
    if (conf->mos4_buddy_url[0])
        snprintf(bfar->url, sizeof(bfar->url), "%s", conf->mos4_buddy_url);
}

/* The buddy leg of a link just added, when the file names a buddy. */
static enum cg_err buddy_add(struct gw *gw, const struct gwlink *conf, const struct mosconf_peer *peers)
{
    if (!conf->legacy_buddy[0] && !conf->mos4_buddy[0])
        return CG_OK;
    struct mosconf_peer *b = calloc(2, sizeof(*b));
    struct cg_mos_peer_config *pc[2] = {NULL, NULL};
    struct cg_ws_client_config *cc[2] = {NULL, NULL};
    bool own[2];
    enum cg_err rc = b == NULL ? CG_ENOMEM : CG_OK;
    if (rc == CG_OK)
        buddy_build(conf, &peers[0], &peers[1], &b[0], &b[1], own);
    for (int i = 0; i < 2 && rc == CG_OK; i++)
        if (own[i])
            rc = mosb_peer_config(&b[i], &pc[i], &cc[i]);
    if (rc == CG_OK)
        rc = cg_relay_link_add_buddy(gw->relay, conf->name, pc[0], pc[1]);
    for (int i = 0; i < 2; i++) {
        cg_mos_peer_config_free(pc[i]);
        cg_ws_client_config_free(cc[i]);
    }
    free(b);
    return rc;
}

static enum cg_err link_add(struct gw *gw, const struct gwlink *conf)
{
    struct gw_link *k = calloc(1, sizeof(*k));
    struct mosconf_peer *peers = calloc(2, sizeof(*peers)); /* large: not on the stack */
    struct cg_relay_link_config *lc = NULL;
    struct cg_mos_peer_config *pc[2] = {NULL, NULL};
    struct cg_ws_client_config *cc[2] = {NULL, NULL};
    enum cg_err rc = k == NULL || peers == NULL ? CG_ENOMEM : CG_OK;
    if (rc == CG_OK)
        rc = link_build(conf, &lc, &peers[0], &peers[1]);
    for (int i = 0; i < 2 && rc == CG_OK; i++)
        rc = mosb_peer_config(&peers[i], &pc[i], &cc[i]);
    if (rc == CG_OK)
        rc = cg_relay_add_link(gw->relay, lc, pc[0], pc[1]);
    if (rc == CG_OK && (rc = buddy_add(gw, conf, peers)) != CG_OK)
        cg_relay_remove_link(gw->relay, conf->name);
    for (int i = 0; i < 2; i++) {
        cg_mos_peer_config_free(pc[i]);
        cg_ws_client_config_free(cc[i]);
    }
    cg_relay_link_config_free(lc);
    free(peers);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate run: link %s: cannot start: %s\n", conf->name, cg_strerror(rc));
        free(k);
        return rc;
    }
    k->conf = *conf;
    stamp(conf->p.ca, &k->stamps[0]);
    stamp(conf->p.password_file, &k->stamps[1]);
    k->next = gw->links;
    gw->links = k;
    metrics_link_state(gw->metrics, conf->name, false, false);
    bool buddy[2] = {conf->legacy_buddy[0] != '\0', conf->mos4_buddy[0] != '\0'};
    metrics_link_legs(gw->metrics, conf->name, buddy, conf->redundancy == CG_RELAY_FAILOVER);
    return CG_OK;
}

/* The listener's certificates for the metrics and the page (days left;
 * cg_cert_check_expiry also warns within 30 days). */
static void note_certs(struct gw *gw)
{
    metrics_certs_clear(gw->metrics);
    for (int i = 0; i < gw->conf.g.ncerts; i++) {
        long days = 0;
        enum cg_err rc = cg_cert_check_expiry(gw->ctx, gw->conf.g.cert[i], &days);
        if (rc == CG_OK || rc == CG_EEXPIRED)
            metrics_cert(gw->metrics, gw->conf.g.cert[i], rc == CG_EEXPIRED ? -1 : days);
    }
}

/* A link's flow lanes (cg_relay_link_lane_stats): each side, each channel
 * the link carries, both directions. */
static void refresh_lanes(struct gw *gw, const struct gw_link *k)
{
    static const enum cg_mos_channel chans[] = {CG_MOS_CH_MOM, CG_MOS_CH_RO, CG_MOS_CH_AUX};
    unsigned mask = mosb_channels(k->conf.p.channels);
    for (int s = 0; s < 2; s++)
        for (size_t c = 0; c < sizeof(chans) / sizeof(chans[0]); c++) {
            struct cg_mos_lane_stats out, in;
            enum cg_relay_side side = (enum cg_relay_side)s;
            if ((mask & chans[c]) != 0 &&
                cg_relay_link_lane_stats(gw->relay, k->conf.name, side, chans[c], CG_MOS_OUT,
                                         &out) == CG_OK &&
                cg_relay_link_lane_stats(gw->relay, k->conf.name, side, chans[c], CG_MOS_IN,
                                         &in) == CG_OK)
                metrics_lane_stats(gw->metrics, k->conf.name, side, chans[c], &out, &in);
        }
}

/* The library's counters into the metrics, before each render of /metrics
 * or the status page (metrics_set_refresh): the gateway listener's set-ups,
 * credentials and leaves (the certificates served now: a reload shows at
 * once), each link's relay and peer counters, the admin listener's. */
/* glibc raises its mmap threshold to the size of each mapped block freed (up
 * to 32 MB), after which big message buffers (up to max_message, 2 MB and
 * more in UCS-2BE) come from the arenas, are rarely given back and fragment
 * them: the 2-hour soak's RSS swung by 27 MB with a slope past its limit
 * (issue 19). A fixed threshold keeps every block from 256 KiB up mapped on
 * its own, returned to the system when freed, grown by mremap. A daemon's
 * choice, so here and not in the library; MALLOC_MMAP_THRESHOLD_ or
 * GLIBC_TUNABLES in the environment still decide when set. */
#define GW_MMAP_THRESHOLD (256 * 1024)
static void tune_malloc(void)
{
#if defined(__GLIBC__)
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL && getenv("GLIBC_TUNABLES") == NULL)
        mallopt(M_MMAP_THRESHOLD, GW_MMAP_THRESHOLD);
#endif
}

/* Free pages inside malloc's arenas given back off the loop
 * (cg_ctx_heap_trim): glibc returns only an arena's top by itself. In the
 * 2-hour soak A's live heap was flat while its RSS grew +69.5 kB/min with
 * the arena's free bytes (7 -> 27 MB; docs/soak.md, issue 19). A check every
 * 10 s while trims give back 1 MiB or more, up to every 80 s when they do
 * not; none while under 4 MiB is free. */
static void start_heap_trim(struct cg_ctx *ctx)
{
    const struct cg_heap_trim_opts o = {.min_interval_ms = 10000,
                                        .max_interval_ms = 80000,
                                        .min_free = 4u << 20,
                                        .min_release = 1u << 20};
    cg_ctx_heap_trim(ctx, &o); /* CG_ENOTSUP without glibc: nothing to do */
}

/* The process's memory for /metrics: RSS from /proc/self/statm, the heap
 * from mallinfo2 (glibc 2.33 and later), the trims' counters. */
static void read_memory(struct cg_ctx *ctx, struct metrics_memory *mem)
{
    *mem = (struct metrics_memory){0};
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size, resident;
    long page = sysconf(_SC_PAGESIZE);
    if (f != NULL && fscanf(f, "%llu %llu", &size, &resident) == 2 && page > 0) {
        mem->rss = resident * (unsigned long long)page;
        mem->have_rss = true;
    }
    if (f != NULL)
        fclose(f);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    mem->in_use = mi.uordblks;
    mem->free = mi.fordblks;
    mem->mmapped = mi.hblkhd;
    mem->have_heap = true;
#endif
    mem->have_trim = cg_ctx_heap_trim_stats(ctx, &mem->trim) == CG_OK;
}

static void refresh_metrics(void *user)
{
    struct gw *gw = user;
    struct cg_wss_stats hs;
    struct cg_auth_stats au;
    struct cg_leaf_stats leaf;
    metrics_leaves_clear(gw->metrics);
    if (gw->srv != NULL && cg_server_handshake_stats(gw->srv, &hs) == CG_OK)
        metrics_listener(gw->metrics, "gateway", &hs,
                         cg_relay_auth_stats(gw->relay, &au) == CG_OK ? &au : NULL);
    for (size_t i = 0; gw->srv != NULL && cg_server_leaf_stats(gw->srv, i, &leaf) == CG_OK; i++)
        metrics_leaf(gw->metrics, "gateway", &leaf);
    admin_stats(gw->admin, gw->metrics);
    struct cg_histogram sync;
    cg_mos_syncfs_stats(&sync);
    metrics_syncfs(gw->metrics, &sync);
    struct metrics_memory mem;
    read_memory(gw->ctx, &mem);
    metrics_memory(gw->metrics, &mem);
    struct metrics_pair pair;
    pairrun_metrics(gw->pair, &pair);
    metrics_pair(gw->metrics, &pair);
    for (const struct gw_link *k = gw->links; k != NULL; k = k->next) {
        struct cg_relay_stats st;
        struct cg_mos_peer_stats p[2];
        bool has[2];
        if (cg_relay_link_stats(gw->relay, k->conf.name, &st) != CG_OK)
            continue;
        for (int s = 0; s < 2; s++)
            has[s] = cg_relay_link_side_stats(gw->relay, k->conf.name, (enum cg_relay_side)s,
                                              &p[s]) == CG_OK;
        metrics_link_stats(gw->metrics, k->conf.name, &st, has[0] ? &p[0] : NULL,
                           has[1] ? &p[1] : NULL);
        refresh_lanes(gw, k);
    }
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

/* What a reload cannot change without dropping every link (the table's
 * restart rows). */
static void warn_fixed(const struct gwconf *old, const struct gwconf *now)
{
    char what[512];
    gwconf_fixed_changes(old, now, what, sizeof(what));
    if (what[0] != '\0')
        fprintf(stderr, "castgate run: reload: [gateway] %s changed: that takes a restart; the "
                "running value stays\n", what);
    gwconf_pair_changes(old, now, what, sizeof(what));
    if (what[0] != '\0' || old->pair.present != now->pair.present)
        fprintf(stderr, "castgate run: reload: [pair]%s%s changed: that takes a restart\n",
                what[0] ? " " : "", what);
}

static void reload(struct gw *gw)
{
    struct gwconf *now = calloc(1, sizeof(*now));
    if (now == NULL || gwconf_load(gw->path, now) != 0) {
        fprintf(stderr, "castgate run: reload REFUSED: the file has errors; nothing changed\n");
        metrics_reload(gw->metrics, false);
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
    if (gw->conf.g.credentials[0])
        cg_relay_reload_credentials(gw->relay);
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
    if (gw->pair != NULL) /* new endpoints replicate too ([pair] itself takes a restart) */
        pairrun_attach(gw->pair, gw->relay, 0);
    admin_reload(gw->admin, &gw->conf);
    metrics_reload(gw->metrics, true);
    note_certs(gw);
}

/* ---- signals ---- */

static void on_stop_timer(uv_timer_t *t)
{
    struct gw *gw = t->data;
    unsigned n = cg_relay_inflight(gw->relay);
    if (n > 0)
        fprintf(stderr, "castgate run: drain time is up with %u message(s) in flight; their "
                "senders repeat them after the restart\n", n);
    cg_ctx_stop(gw->ctx);
}

static void stop_soon(struct gw *gw, uint64_t ms) { uv_timer_start(&gw->drain, on_stop_timer, ms, 0); }

static void on_drained(void *user)
{
    struct gw *gw = user;
    fprintf(stderr, "castgate run: drained\n");
    stop_soon(gw, GRACE_MS);
}

static void on_signal(uv_signal_t *s, int sig)
{
    struct gw *gw = s->data;
    if (sig == SIGHUP) {
        fprintf(stderr, "castgate run: SIGHUP, reloading %s\n", gw->path);
        notify_reloading();
        reload(gw);
        notify_send("READY=1");
        notify_links(gw);
        return;
    }
    if (sig == SIGINT || gw->draining) { /* at once */
        fprintf(stderr, "castgate run: signal %d, stopping\n", sig);
        cg_ctx_stop(gw->ctx);
        return;
    }
    gw->draining = true;
    notify_send("STOPPING=1");
    fprintf(stderr, "castgate run: SIGTERM: draining %u message(s) in flight (at most %ld ms)\n",
            cg_relay_inflight(gw->relay), gw->conf.drain_ms);
    stop_soon(gw, (uint64_t)gw->conf.drain_ms);
    cg_relay_drain(gw->relay, on_drained, gw); /* nothing in flight: on_drained at once */
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    notify_send("WATCHDOG=1"); /* the loop turns: systemd's watchdog is fed */
}

/* After every listener is bound: READY=1, the links, and the watchdog. */
static void notify_started(struct gw *gw)
{
    notify_send("READY=1");
    notify_links(gw);
    uint64_t ms = notify_watchdog_ms();
    if (ms > 0) {
        uv_timer_start(&gw->watchdog, on_watchdog, ms, ms);
        on_watchdog(&gw->watchdog);
    }
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
    pairrun_free(gw->pair); /* first: it unhooks the endpoints' journals */
    gw->pair = NULL;
    while (gw->links != NULL) {
        struct gw_link *k = gw->links;
        gw->links = k->next;
        free(k);
    }
    cg_relay_free(gw->relay); /* stops every link */
    gw->relay = NULL;
    cg_server_free(gw->srv);
    gw->srv = NULL;
    admin_free(gw->admin);
    gw->admin = NULL;
}

/* The relay frees ep (a link stopped at a reload, or the relay freed): the
 * pair lets go of it first (pair_run.c, "Endpoint pointers and reloads"). */
static void endpoint_gone(void *user, struct cg_mos_endpoint *ep)
{
    struct gw *gw = user;
    pairrun_forget(gw->pair, ep);
}

/* The relay and every link of the file, built, not started. */
static enum cg_err build_links(struct gw *gw)
{
    struct cg_relay_handlers h = {.configure_endpoint = configure_endpoint, .on_event = on_event,
                                  .endpoint_gone = endpoint_gone};
    if (cg_relay_new(gw->ctx, gw->srv, &h, gw, &gw->relay) != CG_OK)
        return CG_ENOMEM;
    for (int i = gw->conf.nlinks - 1; i >= 0; i--) { /* links are pushed: keep the file's order */
        enum cg_err rc = link_add(gw, &gw->conf.links[i]);
        if (rc != CG_OK)
            return rc;
    }
    return CG_OK;
}

/* The links serve: legacy ports bound, far sides dialled, the gateway
 * listener open. */
static enum cg_err start_links(struct gw *gw)
{
    enum cg_err rc = cg_relay_start(gw->relay);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate run: cannot start the links: %s\n", cg_strerror(rc));
        return rc;
    }
    if (gw->srv != NULL && (rc = cg_server_start(gw->srv)) != CG_OK)
        fprintf(stderr, "castgate run: cannot listen on %s\n", gw->conf.g.listen);
    return rc;
}

/* ---- the gateway pair (pair_run.h) ---- */

/* Taking over: the links built again, so that their endpoints read the
 * journals the standby filled (their memory of answers, the unanswered
 * requests they send again, M-22), their records of the new regime, then
 * started. */
static enum cg_err pair_serve(void *user, uint64_t epoch)
{
    struct gw *gw = user;
    while (gw->links != NULL) {
        struct gw_link *k = gw->links;
        gw->links = k->next;
        free(k);
    }
    pairrun_detach(gw->pair); /* its endpoints go with the relay */
    cg_relay_free(gw->relay);
    gw->relay = NULL;
    enum cg_err rc = build_links(gw);
    if (rc == CG_OK)
        rc = pairrun_attach(gw->pair, gw->relay, epoch);
    if (rc == CG_OK)
        rc = start_links(gw);
    if (rc == CG_OK)
        notify_links(gw);
    return rc;
}

static void pair_stop(void *user, int code, const char *why)
{
    struct gw *gw = user;
    fprintf(stderr, "castgate run: pair: %s: stopping (exit status %d)\n", why, code);
    gw->exit_code = code;
    cg_ctx_stop(gw->ctx);
}

/* A node of a pair starts as a standby: links built, held (nothing bound,
 * nothing dialled) until the pair makes it active. */
static enum cg_err start_pair(struct gw *gw)
{
    static const struct pairrun_hooks hooks = {.serve = pair_serve, .stop = pair_stop};
    enum cg_err rc = pairrun_new(gw->ctx, &gw->conf, &hooks, gw, &gw->pair);
    if (rc == CG_OK)
        rc = pairrun_attach(gw->pair, gw->relay, 0);
    if (rc == CG_OK)
        rc = pairrun_start(gw->pair);
    return rc;
}

static int start(struct gw *gw)
{
    const struct mosconf *g = &gw->conf.g;
    if (g->listen[0] && mosb_server(gw->ctx, g, &gw->srv) != CG_OK) {
        fprintf(stderr, "castgate run: %s: cannot set up the listener %s\n", gw->path, g->listen);
        return 1;
    }
    mosconf_warn_open("run", g);
    if (pairb_check(gw->ctx, &gw->conf) != CG_OK) /* printed why */
        return 1;
    if (build_links(gw) != CG_OK)
        return 1;
    if (gw->check_only)
        return 0;
    if ((gw->conf.pair.present ? start_pair(gw) : start_links(gw)) != CG_OK)
        return 1;
    note_certs(gw);
    metrics_set_refresh(gw->metrics, refresh_metrics, gw);
    return admin_start(gw->ctx, &gw->conf, gw->metrics, &gw->admin) == CG_OK ? 0 : 1;
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
    tune_malloc();
    if ((gw->metrics = metrics_new()) == NULL || gwconf_load(gw->path, &gw->conf) != 0 ||
        cg_ctx_new(&gw->ctx) != CG_OK)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    gw->journal = journal_stderr();
    cg_ctx_set_log(gw->ctx, on_log, gw, gw->check_only ? CG_LOG_ERROR : CG_LOG_INFO);
    if (!gw->check_only)
        start_heap_trim(gw->ctx);
    uv_loop_t *loop = cg_ctx_loop(gw->ctx);
    uv_timer_init(loop, &gw->drain);
    gw->drain.data = gw;
    uv_timer_init(loop, &gw->watchdog);
    uv_timer_init(loop, &gw->out_flush);
    uv_unref((uv_handle_t *)&gw->out_flush); /* never what keeps the loop running */
    rc = start(gw);
    if (rc == 0 && gw->check_only) {
        printf("castgate run: %s is valid: %d link(s)", gw->path, gw->conf.nlinks);
        if (gw->conf.pair.present)
            printf(", pair node %d", gw->conf.pair.node);
        printf("\n");
    } else if (rc == 0) {
        uv_signal_t *sigs[] = {&gw->sigint, &gw->sigterm, &gw->sighup};
        int nums[] = {SIGINT, SIGTERM, SIGHUP};
        for (int i = 0; i < 3; i++) {
            uv_signal_init(loop, sigs[i]);
            sigs[i]->data = gw;
            uv_signal_start(sigs[i], on_signal, nums[i]);
        }
        printf("{\"event\":\"running\",\"links\":%d", gw->conf.nlinks);
        if (gw->pair != NULL)
            printf(",\"pair_node\":%d,\"role\":\"%s\"", gw->conf.pair.node,
                   pairrun_active(gw->pair) ? "active" : "standby");
        if (gw->srv != NULL)
            printf(",\"port\":%u", (unsigned)cg_server_port(gw->srv, 0));
        if (gw->admin != NULL)
            printf(",\"admin_port\":%u", admin_port(gw->admin));
        printf("}\n");
        fflush(stdout);
        notify_started(gw);
        cg_ctx_run(gw->ctx);
        for (int i = 0; i < 3; i++)
            uv_close((uv_handle_t *)sigs[i], NULL);
    }
    teardown(gw);
    uv_close((uv_handle_t *)&gw->drain, NULL);
    uv_close((uv_handle_t *)&gw->watchdog, NULL);
    uv_close((uv_handle_t *)&gw->out_flush, NULL);
    fflush(stdout);
    cg_ctx_free(gw->ctx);
    if (rc == 0 && gw->exit_code != 0)
        rc = gw->exit_code;
out:
    metrics_free(gw->metrics);
    gwconf_free(&gw->conf);
    free(gw);
    return rc;
}
