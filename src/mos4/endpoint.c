/* The MOS 4.0 endpoint: configuration, peers, and which lane an upgrade
 * request belongs to (M-02, M-05, M-07, M-08). */
#include "http/http.h"
#include "mos4/mos4.h"
#include "ws/ws.h"
#include "wss/wss.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

/* ---- configuration ---- */

/* The options by number (cg_mos_endpoint_config_set_option): bounds, default
 * and field of each, the one place they are written down. */
struct option_row {
    size_t off, size; /* the field in struct cg_mos_endpoint_config */
    int64_t min, max, def;
    bool zero_off;   /* 0 is valid too: the option is off */
    enum cg_err bad; /* out of bounds: CG_ERANGE for numbers, CG_EINVAL for enums */
};

#define FIELD(f)                                                                                   \
    offsetof(struct cg_mos_endpoint_config, f), sizeof(((struct cg_mos_endpoint_config *)0)->f)
static const struct option_row options[CG_MOS_OPT_COUNT] = {
    /* M-09: never more often than 30 s; from 1 s for tests that keep the
     * proportions of real timings (logged by cg_mos_endpoint_new) */
    [CG_MOS_OPT_KEEPALIVE_MS] = {FIELD(keepalive_ms), 1000, 86400000, 30000, false, CG_ERANGE},
    /* M-22: an answer is recommended within 60 s */
    [CG_MOS_OPT_ACK_TIMEOUT_MS] = {FIELD(ack_timeout_ms), 100, 3600000, 60000, false, CG_ERANGE},
    /* M-22 retries, but a lane never waits forever */
    [CG_MOS_OPT_RETRIES] = {FIELD(retries), 0, 1000000, CG_MOS_DEFAULT_RETRIES, false, CG_ERANGE},
    [CG_MOS_OPT_RECONNECT_MAX_MS] = {FIELD(reconnect_max_ms), 100, 600000, 1000, false, CG_ERANGE},
    [CG_MOS_OPT_REFUSED_BACKOFF_MAX_MS] = {FIELD(refused_max_ms), 1000, 3600000, 60000, false,
                                           CG_ERANGE},
    [CG_MOS_OPT_MAX_MESSAGE] = {FIELD(max_message), 256, 1 << 30, CG_MOS_DEFAULT_MAX_MESSAGE, false,
                                CG_ERANGE},
    [CG_MOS_OPT_VALIDATE] = {FIELD(validate), 0, 1, 1, false, CG_EINVAL},
    [CG_MOS_OPT_HEARTBEAT_TIME] = {FIELD(heartbeat_form), CG_MOS_TIME_FULL, CG_MOS_TIME_SHORT,
                                   CG_MOS_TIME_FULL, false, CG_EINVAL},
    [CG_MOS_OPT_SILENT_RESET_MS] = {FIELD(silent_reset_ms), 1000, 86400000, 0, true, CG_ERANGE},
    [CG_MOS_OPT_MAX_ATTRIBUTES] = {FIELD(xml.max_attributes), 1, 1000000,
                                   CG_MOS_DEFAULT_MAX_ATTRIBUTES, false, CG_ERANGE},
    [CG_MOS_OPT_MAX_DEPTH] = {FIELD(xml.max_depth), 1, 1000000, CG_MOS_DEFAULT_MAX_DEPTH, false,
                              CG_ERANGE},
    [CG_MOS_OPT_ASYNC_VALIDATE_BYTES] = {FIELD(async_validate), 1, 1 << 30,
                                         CG_MOS_DEFAULT_ASYNC_VALIDATE, false, CG_ERANGE},
    [CG_MOS_OPT_REUSED_ID] = {FIELD(reused_id), CG_MOS_REUSED_DELIVER, CG_MOS_REUSED_NACK,
                              CG_MOS_REUSED_DELIVER, false, CG_EINVAL},
    /* issue 19: the M-22 memory of answers, per IN lane */
    [CG_MOS_OPT_ANSWER_MEMORY] = {FIELD(answer_memory), 0, 1 << 30, CG_MOS_DEFAULT_ANSWER_MEMORY,
                                  false, CG_ERANGE},
    /* issue 12 item 4: what unauthenticated peers may cost in hashes */
    [CG_MOS_OPT_AUTH_HASH_RATE] = {FIELD(auth_hash_rate), 1, 100000, CG_AUTH_DEFAULT_HASH_RATE, true,
                                   CG_ERANGE},
    [CG_MOS_OPT_AUTH_HASH_BURST] = {FIELD(auth_hash_burst), 1, 100000, CG_AUTH_DEFAULT_HASH_BURST,
                                    false, CG_ERANGE},
};
#undef FIELD

static enum cg_err option_check(enum cg_mos_option opt, int64_t v)
{
    CG_CHECK((unsigned)opt < CG_MOS_OPT_COUNT, CG_EINVAL);
    const struct option_row *o = &options[opt];
    CG_CHECK(o->size != 0, CG_EINTERNAL); /* an option without its row */
    CG_CHECK((v >= o->min && v <= o->max) || (v == 0 && o->zero_off), o->bad);
    return CG_OK;
}

/* v checked: it fits the field (bool, enum, uint32_t or size_t). */
static void option_store(struct cg_mos_endpoint_config *c, enum cg_mos_option opt, int64_t v)
{
    const struct option_row *o = &options[opt];
    char *field = (char *)c + o->off;
    if (o->size == sizeof(bool)) {
        bool b = v != 0;
        memcpy(field, &b, sizeof(b));
    } else if (o->size == sizeof(uint32_t)) {
        uint32_t u = (uint32_t)v; /* also an enum's representation */
        memcpy(field, &u, sizeof(u));
    } else {
        size_t z = (size_t)v;
        memcpy(field, &z, sizeof(z));
    }
}

enum cg_err cg_mos_endpoint_config_set_option(struct cg_mos_endpoint_config *cfg,
                                              enum cg_mos_option opt, int64_t value)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    CG_GUARD(option_check(opt, value));
    option_store(cfg, opt, value);
    return CG_OK;
}

enum cg_err cg_mos_endpoint_option_info(enum cg_mos_option opt, int64_t *min, int64_t *max,
                                        int64_t *def, bool *zero_off)
{
    CG_CHECK((unsigned)opt < CG_MOS_OPT_COUNT, CG_EINVAL);
    const struct option_row *o = &options[opt];
    CG_CHECK(o->size != 0, CG_EINTERNAL); /* an option without its row */
    if (min != NULL)
        *min = o->min;
    if (max != NULL)
        *max = o->max;
    if (def != NULL)
        *def = o->def;
    if (zero_off != NULL)
        *zero_off = o->zero_off;
    return CG_OK;
}

/* 1..128 characters of UTF-8 without control characters (M-24). */
static bool id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0, chars = 0;
    if (n == 0 || n > CG_MOS_ID_MAX * 4 || !cg__utf8_valid((const uint8_t *)id, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)id[i] < 0x20)
            return false;
        chars += ((unsigned char)id[i] & 0xC0) != 0x80;
    }
    return chars <= CG_MOS_ID_MAX;
}

enum cg_err cg_mos_endpoint_config_new(enum cg_mos_role role, const char *our_id,
                                       struct cg_mos_endpoint_config **out)
{
    CG_CHECK(out != NULL && id_ok(our_id), CG_EINVAL);
    CG_CHECK(role == CG_MOS_ROLE_NCS || role == CG_MOS_ROLE_MOS, CG_EINVAL);
    struct cg_mos_endpoint_config *c = calloc(1, sizeof(*c));
    CG_CHECK(c != NULL, CG_ENOMEM);
    c->role = role;
    snprintf(c->id, sizeof(c->id), "%s", our_id);
    for (int i = 0; i < CG_MOS_OPT_COUNT; i++)
        if (options[i].size != 0) /* every option has one: test_mos4_options */
            option_store(c, (enum cg_mos_option)i, options[i].def);
    c->max_queue = 1000;
    c->redeliver = true;
    c->fsync = CG_MOS_FSYNC_INTERVAL;
    c->fsync_interval_ms = 100;
    *out = c;
    return CG_OK;
}

void cg_mos_endpoint_config_free(struct cg_mos_endpoint_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->state_dir);
    free(cfg->credentials);
    free(cfg);
}

enum cg_err cg_mos_endpoint_config_set_state_dir(struct cg_mos_endpoint_config *cfg, const char *dir)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    return cg__str_replace(&cfg->state_dir, dir);
}

enum cg_err cg_mos_endpoint_config_set_credentials(struct cg_mos_endpoint_config *cfg,
                                                   const char *file)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    return cg__str_replace(&cfg->credentials, file);
}

CG_BOOL_SETTER(cg_mos_endpoint_config_set_auth_none, struct cg_mos_endpoint_config, auth_none)

enum cg_err cg_mos_endpoint_config_set_timing(struct cg_mos_endpoint_config *cfg,
                                              uint32_t keepalive_ms, uint32_t ack_timeout_ms,
                                              uint32_t retries, uint32_t reconnect_max_ms)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    CG_GUARD(option_check(CG_MOS_OPT_KEEPALIVE_MS, keepalive_ms));
    CG_GUARD(option_check(CG_MOS_OPT_ACK_TIMEOUT_MS, ack_timeout_ms));
    CG_GUARD(option_check(CG_MOS_OPT_RETRIES, retries));
    CG_GUARD(option_check(CG_MOS_OPT_RECONNECT_MAX_MS, reconnect_max_ms));
    option_store(cfg, CG_MOS_OPT_KEEPALIVE_MS, keepalive_ms);
    option_store(cfg, CG_MOS_OPT_ACK_TIMEOUT_MS, ack_timeout_ms);
    option_store(cfg, CG_MOS_OPT_RETRIES, retries);
    option_store(cfg, CG_MOS_OPT_RECONNECT_MAX_MS, reconnect_max_ms);
    return CG_OK;
}

enum cg_err cg_mos_endpoint_config_set_heartbeat_time(struct cg_mos_endpoint_config *cfg,
                                                      enum cg_mos_time_form form)
{
    return cg_mos_endpoint_config_set_option(cfg, CG_MOS_OPT_HEARTBEAT_TIME, (int64_t)form);
}

enum cg_err cg_mos_endpoint_config_set_silent_reset(struct cg_mos_endpoint_config *cfg,
                                                    uint32_t ms)
{
    return cg_mos_endpoint_config_set_option(cfg, CG_MOS_OPT_SILENT_RESET_MS, ms);
}

enum cg_err cg_mos_endpoint_config_set_answer_memory(struct cg_mos_endpoint_config *cfg,
                                                     size_t bytes)
{
    CG_CHECK(bytes <= INT64_MAX, CG_ERANGE);
    return cg_mos_endpoint_config_set_option(cfg, CG_MOS_OPT_ANSWER_MEMORY, (int64_t)bytes);
}

enum cg_err cg_mos_endpoint_config_set_refused_backoff(struct cg_mos_endpoint_config *cfg,
                                                       uint32_t max_ms)
{
    return cg_mos_endpoint_config_set_option(cfg, CG_MOS_OPT_REFUSED_BACKOFF_MAX_MS, max_ms);
}

enum cg_err cg_mos_endpoint_config_set_limits(struct cg_mos_endpoint_config *cfg,
                                              size_t max_message, size_t max_queue)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    CG_CHECK(max_message <= INT64_MAX && max_queue >= 1, CG_ERANGE);
    CG_GUARD(option_check(CG_MOS_OPT_MAX_MESSAGE, (int64_t)max_message));
    option_store(cfg, CG_MOS_OPT_MAX_MESSAGE, (int64_t)max_message);
    cfg->max_queue = max_queue;
    return CG_OK;
}

CG_BOOL_SETTER(cg_mos_endpoint_config_set_validate, struct cg_mos_endpoint_config, validate)

enum cg_err cg_mos_endpoint_config_set_xml_limits(struct cg_mos_endpoint_config *cfg,
                                                  uint32_t max_attributes, uint32_t max_depth,
                                                  size_t async_bytes)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    const enum cg_mos_option opt[3] = {CG_MOS_OPT_MAX_ATTRIBUTES, CG_MOS_OPT_MAX_DEPTH,
                                       CG_MOS_OPT_ASYNC_VALIDATE_BYTES};
    int64_t v[3] = {max_attributes, max_depth,
                    async_bytes <= INT64_MAX ? (int64_t)async_bytes : -1};
    for (int i = 0; i < 3; i++) { /* 0: the default */
        v[i] = v[i] == 0 ? options[opt[i]].def : v[i];
        CG_GUARD(option_check(opt[i], v[i]));
    }
    for (int i = 0; i < 3; i++)
        option_store(cfg, opt[i], v[i]);
    return CG_OK;
}

CG_BOOL_SETTER(cg_mos_endpoint_config_set_redeliver, struct cg_mos_endpoint_config, redeliver)

enum cg_err cg_mos_endpoint_config_set_reused_id(struct cg_mos_endpoint_config *cfg,
                                                 enum cg_mos_reused policy)
{
    return cg_mos_endpoint_config_set_option(cfg, CG_MOS_OPT_REUSED_ID, (int64_t)policy);
}

CG_BOOL_SETTER(cg_mos_endpoint_config_set_deliver_heartbeats, struct cg_mos_endpoint_config,
               deliver_heartbeats)

CG_BOOL_SETTER(cg_mos_endpoint_config_set_wire_messages, struct cg_mos_endpoint_config,
               wire_messages)
CG_BOOL_SETTER(cg_mos_endpoint_config_set_journal, struct cg_mos_endpoint_config, journal)

enum cg_err cg_mos_endpoint_config_set_fsync(struct cg_mos_endpoint_config *cfg,
                                             enum cg_mos_fsync policy, uint32_t interval_ms)
{
    CG_CHECK(cfg != NULL && (unsigned)policy <= CG_MOS_FSYNC_NEVER, CG_EINVAL);
    CG_CHECK(policy != CG_MOS_FSYNC_INTERVAL || (interval_ms >= 10 && interval_ms <= 60000),
             CG_ERANGE);
    cfg->fsync = policy;
    cfg->fsync_interval_ms = interval_ms;
    return CG_OK;
}

enum cg_err cg_mos_peer_config_new(const char *peer_id, struct cg_mos_peer_config **out)
{
    CG_CHECK(out != NULL && id_ok(peer_id), CG_EINVAL);
    struct cg_mos_peer_config *pc = calloc(1, sizeof(*pc));
    CG_CHECK(pc != NULL, CG_ENOMEM);
    snprintf(pc->id, sizeof(pc->id), "%s", peer_id);
    pc->channels = CG_MOS_CH_MOM | CG_MOS_CH_RO;
    *out = pc;
    return CG_OK;
}

void cg_mos_peer_config_free(struct cg_mos_peer_config *pc)
{
    if (pc == NULL)
        return;
    free(pc->url);
    free(pc);
}

enum cg_err cg_mos_peer_config_set_url(struct cg_mos_peer_config *pc, const char *url)
{
    CG_CHECK(pc != NULL && url != NULL, CG_EINVAL);
    CG_CHECK(strncmp(url, "wss://", 6) == 0, CG_EINVAL); /* M-01, B-30 */
    return cg__str_replace(&pc->url, url);
}

enum cg_err cg_mos_peer_config_set_mode(struct cg_mos_peer_config *pc, enum cg_mos_mode mode)
{
    CG_CHECK(pc != NULL && (unsigned)mode <= CG_MOS_PASSIVE_OUTSIDE, CG_EINVAL);
    pc->mode = mode;
    return CG_OK;
}

enum cg_err cg_mos_peer_config_set_channels(struct cg_mos_peer_config *pc, unsigned channels)
{
    CG_CHECK(pc != NULL && channels != 0, CG_EINVAL);
    CG_CHECK((channels & ~(unsigned)(CG_MOS_CH_MOM | CG_MOS_CH_RO | CG_MOS_CH_AUX)) == 0, CG_EINVAL);
    pc->channels = channels;
    return CG_OK;
}

enum cg_err cg_mos_peer_config_set_client(struct cg_mos_peer_config *pc,
                                          const struct cg_ws_client_config *cc)
{
    CG_CHECK(pc != NULL, CG_EINVAL);
    pc->client = cc;
    return CG_OK;
}

/* One side of a MOS 2.x peer (M-21): where (the host we dial, the address
 * we listen on) and its lower, upper and query ports. */
static enum cg_err legacy_side(struct cg_mos_peer_config *pc, char *where, size_t size,
                               const char *text, uint16_t port[3], uint16_t lower, uint16_t upper,
                               uint16_t query)
{
    pc->legacy = true;
    snprintf(where, size, "%s", text);
    port[0] = lower;
    port[1] = upper;
    port[2] = query;
    return CG_OK;
}

enum cg_err cg_mos_peer_config_set_legacy_dial(struct cg_mos_peer_config *pc, const char *host,
                                               uint16_t lower, uint16_t upper, uint16_t query,
                                               enum cg_mos_encoding enc)
{
    CG_CHECK(pc != NULL && host != NULL && host[0] != '\0', CG_EINVAL);
    CG_CHECK(strlen(host) < sizeof(pc->legacy_host), CG_EINVAL);
    CG_CHECK(enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8, CG_EINVAL);
    pc->legacy_enc = enc;
    return legacy_side(pc, pc->legacy_host, sizeof(pc->legacy_host), host, pc->dial_port, lower,
                       upper, query);
}

enum cg_err cg_mos_peer_config_set_legacy_listen(struct cg_mos_peer_config *pc, const char *addr,
                                                 uint16_t lower, uint16_t upper, uint16_t query)
{
    CG_CHECK(pc != NULL && addr != NULL && strlen(addr) < sizeof(pc->listen_addr), CG_EINVAL);
    uint8_t tmp[16];
    CG_CHECK(inet_pton(strchr(addr, ':') != NULL ? AF_INET6 : AF_INET, addr, tmp) == 1, CG_EINVAL);
    return legacy_side(pc, pc->listen_addr, sizeof(pc->listen_addr), addr, pc->listen_port, lower,
                       upper, query);
}

enum cg_err cg_mos_peer_config_set_legacy_allow(struct cg_mos_peer_config *pc, const char *list)
{
    CG_CHECK(pc != NULL, CG_EINVAL);
    return cg__mos4_allow_parse(list != NULL ? list : "", &pc->allow);
}

CG_BOOL_SETTER(cg_mos_peer_config_set_text_frames, struct cg_mos_peer_config, text_frames)

/* ---- the endpoint ---- */

struct mos4_peer *cg__mos4_peer(const struct cg_mos_endpoint *ep, const char *id)
{
    for (size_t i = 0; i < ep->npeers; i++)
        if (strcmp(ep->peers[i]->id, id) == 0)
            return ep->peers[i];
    return NULL;
}

static enum cg_err open_state_dir(struct cg_mos_endpoint *ep)
{
    const char *dir = ep->cfg.state_dir;
    if (dir == NULL) {
        cg__log(ep->ctx, CG_LOG_WARN, "mos", "no state directory: messageIDs restart at 1 (M-11)");
        return CG_OK;
    }
    if (cg__mkdir_p(dir, 0700) != CG_OK) {
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "cannot create state directory %s: %s", dir,
                strerror(errno));
        return CG_EFILE;
    }
    ep->state_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return CG_OK;
}

enum cg_err cg_mos_endpoint_new(struct cg_ctx *ctx, const struct cg_mos_endpoint_config *cfg,
                                const struct cg_mos_handlers *h, void *user,
                                struct cg_mos_endpoint **out)
{
    CG_CHECK(ctx != NULL && cfg != NULL && out != NULL, CG_EINVAL);
    struct cg_mos_endpoint *ep = calloc(1, sizeof(*ep));
    CG_CHECK(ep != NULL, CG_ENOMEM);
    ep->ctx = ctx;
    ep->cfg = *cfg;
    ep->cfg.state_dir = cg__strdup(cfg->state_dir);
    ep->cfg.credentials = cg__strdup(cfg->credentials);
    if (h != NULL)
        ep->h = *h;
    ep->user = user;
    if (cfg->keepalive_ms < 30000)
        cg__log(ctx, CG_LOG_WARN, "mos", "keepAlive after %u ms idle: more often than M-09 allows "
                "(30 s); for tests only", (unsigned)cfg->keepalive_ms);
    enum cg_err rc = CG_OK;
    if ((cfg->state_dir != NULL && ep->cfg.state_dir == NULL) ||
        (cfg->credentials != NULL && ep->cfg.credentials == NULL))
        rc = CG_ENOMEM;
    ep->state_fd = -1;
    if (rc == CG_OK && cfg->journal && cfg->state_dir == NULL)
        rc = CG_ECONFIG; /* a journal lives in the state directory */
    if (rc == CG_OK)
        rc = open_state_dir(ep);
    if (rc == CG_OK && ep->cfg.credentials != NULL) {
        struct cg_auth_limits lim = {
            .hash_rate = cfg->auth_hash_rate != 0 ? cfg->auth_hash_rate : CG_AUTH_NO_BUDGET,
            .hash_burst = cfg->auth_hash_burst};
        rc = cg__auth_load(ctx, ep->cfg.credentials, &lim, &ep->auth);
    }
    if (rc != CG_OK) {
        if (ep->state_fd >= 0)
            close(ep->state_fd);
        free(ep->cfg.state_dir);
        free(ep->cfg.credentials);
        free(ep);
        return rc;
    }
    cg__mos4_sync_start(ep);
    *out = ep;
    return CG_OK;
}

static enum cg_err make_client(struct mos4_peer *p, const struct cg_mos_peer_config *pc)
{
    struct cg_ws_client_config *own = NULL;
    const struct cg_ws_client_config *cc = pc->client;
    if (cc == NULL) {
        CG_GUARD(cg_ws_client_config_new(&own));
        cc = own;
    }
    enum cg_err rc = cg_ws_client_new(p->ep->ctx, cc, &p->client);
    cg_ws_client_config_free(own);
    return rc;
}

static enum cg_err start_peer(struct mos4_peer *p)
{
    if (p->legacy && !p->held)
        CG_GUARD(cg__mos4_legacy_listen(p));
    for (int ch = 0; ch < CG_MOS4_NCH; ch++)
        for (int d = 0; d < 2; d++)
            cg__mos4_lane_start(&p->lanes[ch][d]);
    return CG_OK;
}

enum cg_err cg_mos_endpoint_add_peer(struct cg_mos_endpoint *ep, const struct cg_mos_peer_config *pc)
{
    CG_CHECK(ep != NULL && pc != NULL && !ep->freeing, CG_EINVAL);
    CG_CHECK(cg__mos4_peer(ep, pc->id) == NULL, CG_EEXIST);
    /* Without a URL a standard peer can still reach us; we cannot originate. */
    CG_CHECK(pc->legacy || pc->url != NULL || pc->mode != CG_MOS_PASSIVE_INSIDE, CG_ECONFIG);
    void *grown = realloc(ep->peers, (ep->npeers + 1) * sizeof(*ep->peers));
    CG_CHECK(grown != NULL, CG_ENOMEM);
    ep->peers = grown;
    struct mos4_peer *p = calloc(1, sizeof(*p));
    CG_CHECK(p != NULL, CG_ENOMEM);
    p->ep = ep;
    snprintf(p->id, sizeof(p->id), "%s", pc->id);
    p->mode = pc->mode;
    p->channels = pc->channels;
    p->text_frames = pc->text_frames;
    p->legacy = pc->legacy;
    p->legacy_enc = pc->legacy_enc;
    memcpy(p->legacy_host, pc->legacy_host, sizeof(p->legacy_host));
    memcpy(p->dial_port, pc->dial_port, sizeof(p->dial_port));
    memcpy(p->listen_addr, pc->listen_addr, sizeof(p->listen_addr));
    memcpy(p->listen_port, pc->listen_port, sizeof(p->listen_port));
    p->allow = pc->allow;
    enum cg_err rc = pc->url != NULL && (p->url = cg__strdup(pc->url)) == NULL ? CG_ENOMEM : CG_OK;
    if (rc == CG_OK && !pc->legacy) /* a MOS 2.x peer is reached over TCP: no TLS client */
        rc = make_client(p, pc);
    if (rc != CG_OK) {
        free(p->url);
        free(p);
        return rc;
    }
    ep->peers[ep->npeers++] = p;
    for (int ch = 0; ch < CG_MOS4_NCH; ch++)
        for (int d = 0; d < 2; d++)
            cg__mos4_lane_init(&p->lanes[ch][d], p, ch, (enum cg_mos_dir)d);
    return ep->started ? start_peer(p) : CG_OK;
}

enum cg_err cg_mos_endpoint_start(struct cg_mos_endpoint *ep)
{
    CG_CHECK(ep != NULL && !ep->freeing, CG_EINVAL);
    CG_CHECK(!ep->started, CG_ESTATE);
    ep->started = true;
    for (size_t i = 0; i < ep->npeers; i++)
        CG_GUARD(start_peer(ep->peers[i]));
    return CG_OK;
}

enum cg_err cg_mos_endpoint_remove_peer(struct cg_mos_endpoint *ep, const char *peer_id)
{
    CG_CHECK(ep != NULL && peer_id != NULL && !ep->freeing, CG_EINVAL);
    size_t i = 0;
    while (i < ep->npeers && strcmp(ep->peers[i]->id, peer_id) != 0)
        i++;
    CG_CHECK(i < ep->npeers, CG_ENOTFOUND);
    struct mos4_peer *p = ep->peers[i];
    memmove(&ep->peers[i], &ep->peers[i + 1], (ep->npeers - i - 1) * sizeof(*ep->peers));
    ep->npeers--;
    p->removed = true; /* lanes stop dialing and sending from here on */
    cg__log(ep->ctx, CG_LOG_INFO, "mos", "peer %s removed", p->id);
    for (int ch = 0; ch < CG_MOS4_NCH; ch++)
        for (int d = 0; d < 2; d++)
            cg__mos4_lane_close(&p->lanes[ch][d]);
    cg_ws_client_free(p->client);
    p->client = NULL;
    cg__mos4_legacy_unlisten(p);
    p->next_removed = ep->removed; /* freed when its last timer has closed */
    ep->removed = p;
    return CG_OK;
}

enum cg_err cg_mos_endpoint_hold_peer(struct cg_mos_endpoint *ep, const char *peer_id, bool hold)
{
    CG_CHECK(ep != NULL && peer_id != NULL && !ep->freeing, CG_EINVAL);
    struct mos4_peer *p = cg__mos4_peer(ep, peer_id);
    CG_CHECK(p != NULL, CG_ENOTFOUND);
    if (p->held == hold)
        return CG_OK;
    p->held = hold;
    cg__log(ep->ctx, CG_LOG_WARN, "mos", "peer %s %s", p->id,
            hold ? "held: its lanes closed and refused until released (the far side of its leg "
                   "is down)"
                 : "released: its lanes may come up again");
    enum cg_err rc = CG_OK;
    if (p->legacy && hold)
        cg__mos4_legacy_unlisten(p); /* its connects refused, as by a dead server's machine */
    else if (p->legacy && ep->started)
        rc = cg__mos4_legacy_listen(p); /* logged when it cannot */
    for (int ch = 0; ch < CG_MOS4_NCH; ch++)
        for (int d = 0; d < 2; d++) {
            if (hold)
                cg__mos4_lane_hold(&p->lanes[ch][d]);
            else
                cg__mos4_lane_release(&p->lanes[ch][d]);
        }
    return rc;
}

bool cg_mos_peer_is_held(const struct cg_mos_endpoint *ep, const char *peer_id)
{
    const struct mos4_peer *p = ep != NULL && peer_id != NULL ? cg__mos4_peer(ep, peer_id) : NULL;
    return p != NULL && p->held;
}

bool cg_mos_lane_is_up(const struct cg_mos_endpoint *ep, const char *peer_id,
                       enum cg_mos_channel channel, enum cg_mos_dir dir)
{
    struct mos4_peer *p = ep != NULL && peer_id != NULL ? cg__mos4_peer(ep, peer_id) : NULL;
    int ch = cg__mos4_ch_index(channel);
    return p != NULL && ch >= 0 && (dir == CG_MOS_OUT || dir == CG_MOS_IN) && p->lanes[ch][dir].up;
}

static bool locked_out(void *user, const char *ip);

enum cg_err cg_mos_endpoint_reload_credentials(struct cg_mos_endpoint *ep)
{
    CG_CHECK(ep != NULL, CG_EINVAL);
    CG_CHECK(ep->auth != NULL, CG_ESTATE);
    return cg__auth_reload(ep->auth);
}

void cg_mos_endpoint_free(struct cg_mos_endpoint *ep)
{
    if (ep == NULL || ep->freeing)
        return;
    ep->freeing = true;
    cg__mos4_gate_free(ep); /* held answers: their senders repeat (M-22) */
    cg__mos4_sync_stop(ep);
    for (size_t i = 0; i < ep->npeers; i++)
        for (int ch = 0; ch < CG_MOS4_NCH; ch++)
            for (int d = 0; d < 2; d++)
                cg__mos4_lane_close(&ep->peers[i]->lanes[ch][d]);
    for (size_t i = 0; i < ep->npeers; i++) {
        cg_ws_client_free(ep->peers[i]->client);
        cg__mos4_legacy_unlisten(ep->peers[i]);
    }
    if (ep->server != NULL) {
        cg_server_remove_route(ep->server, ep->path);
        cg__server_remove_gate(ep->server, locked_out, ep);
    }
    free(ep->path);
    cg__auth_free(ep->auth);
    ep->auth = NULL;
    if (ep->open_timers == 0) /* no peer, no timer to wait for */
        cg__mos4_free_endpoint(ep);
}

/* ---- upgrade requests: which lane, and is the peer who it says (M-02) ---- */

/* Percent-decodes [v, v+n) into out (RFC 3986; '+' is a space, as forms
 * write it): NULL, or what is wrong with the value. */
static const char *decode(const char *v, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        int d = cg__http_pct_next(v, n, &i, true);
        if (d == CG_HTTP_PCT_SHORT)
            return "has a percent-escape cut short (% needs two hex digits)";
        if (d == CG_HTTP_PCT_BAD)
            return "has a percent-escape that is not % and two hex digits";
        char c = (char)d;
        if (c == '\0')
            return "contains a NUL character (%00)";
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return "contains a control character";
        if (o + 1 >= outsz)
            return "is too long";
        out[o++] = c;
    }
    out[o] = '\0';
    if (o == 0)
        return "is empty";
    return cg__utf8_valid((const uint8_t *)out, o) ? NULL : "is not UTF-8";
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* One parameter of the query: its decoded value, or why it is refused. */
static const char *query_param(struct mos4_query *out, const char *key, const char *v, size_t vl)
{
    if (strcmp(key, "mosID") == 0 || strcmp(key, "ncsID") == 0) {
        bool mos = key[0] == 'm';
        bool *has = mos ? &out->has_mos : &out->has_ncs;
        char *id = mos ? out->mos_id : out->ncs_id;
        if (*has)
            return "appears twice";
        const char *bad = decode(v, vl, id, sizeof(out->mos_id));
        if (bad != NULL && strcmp(bad, "is too long") != 0)
            return bad;
        if (bad != NULL || utf8_chars(id) > CG_MOS_ID_MAX)
            return "is longer than 128 characters (M-24)";
        *has = true;
        return NULL;
    }
    if (strcmp(key, "channel") == 0) {
        if (out->has_channel)
            return "appears twice";
        const char *bad = decode(v, vl, out->channel, sizeof(out->channel));
        if (bad != NULL && strcmp(bad, "is too long") != 0)
            return bad;
        if (bad != NULL || (strcmp(out->channel, "mom") != 0 && strcmp(out->channel, "ro") != 0 &&
                            strcmp(out->channel, "aux") != 0))
            return "must be mom, ro or aux (M-03)";
        out->has_channel = true;
        return NULL;
    }
    char passive[8]; /* M-08; .NET writes True: any case */
    const char *bad = decode(v, vl, passive, sizeof(passive));
    if (bad != NULL && strcmp(bad, "is too long") != 0)
        return bad;
    if (bad == NULL && strcasecmp(passive, "true") == 0)
        out->passive = true;
    else if (bad != NULL || strcasecmp(passive, "false") != 0)
        return "must be true or false (M-08)";
    return NULL;
}

/* M-02: ?mosID=…&ncsID=…&channel=mom|ro|aux[&passive=true|false], any order,
 * other site parameters ignored. false: why (whysz bytes) says exactly what is
 * wrong, naming the parameter but never echoing the peer's bytes. */
bool cg__mos4_parse_query(const char *q, struct mos4_query *out, char *why, size_t whysz)
{
    static const char *const keys[] = {"mosID", "ncsID", "channel", "passive"};
    memset(out, 0, sizeof(*out));
    while (*q != '\0') {
        const char *amp = strchr(q, '&'), *end = amp != NULL ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        const char *v = eq != NULL ? eq + 1 : end;
        size_t kl = (size_t)((eq != NULL ? eq : end) - q), vl = (size_t)(end - v);
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            if (kl != strlen(keys[k]) || memcmp(q, keys[k], kl) != 0)
                continue;
            const char *bad = query_param(out, keys[k], v, vl);
            if (bad != NULL) {
                snprintf(why, whysz, "%s %s", keys[k], bad);
                return false;
            }
        }
        q = amp != NULL ? amp + 1 : end;
    }
    const char *missing = !out->has_mos ? "mosID" : !out->has_ncs ? "ncsID"
                        : !out->has_channel ? "channel" : NULL;
    if (missing != NULL) {
        snprintf(why, whysz, "the query has no %s (M-02: mosID, ncsID and channel)", missing);
        return false;
    }
    return true;
}

static int refuse(struct cg_http_response *res, int status, const char *why)
{
    cg_http_response_set(res, status, "text/plain; charset=utf-8", why, strlen(why));
    cg_http_response_set_log_reason(res, why);
    return status;
}

/* The answer to a credential verdict (M-05): 0 to go on. */
static int auth_status(enum cg_err rc, struct cg_http_response *res)
{
    if (rc == CG_OK)
        return 0;
    if (rc == CG_ERATELIMIT)
        return refuse(res, 429, "too many failed logins from this address");
    if (rc == CG_EAUTH) {
        cg_http_response_add_header(res, "WWW-Authenticate", "Basic realm=\"castgate MOS\", charset=\"UTF-8\"");
        return refuse(res, 401, "missing or wrong credentials");
    }
    /* Not the peer's fault: too many checks at once, a reload, or going away. */
    cg_http_response_add_header(res, "Retry-After", "1");
    return refuse(res, 503, rc == CG_EFULL ? "too many password checks at once: try again"
                                           : "credentials not checked: try again");
}

/* An upgrade waiting for its password hash on the thread pool. */
struct auth_wait {
    struct cg_mos_endpoint *ep;
    struct cg_upgrade *up;
};

static int choose_lane(struct cg_mos_endpoint *ep, const struct cg_http_request *req,
                       struct cg_http_response *res, void **conn_user);

static void on_auth_done(void *user, enum cg_err rc, const char *name)
{
    CG_UNUSED(name);
    struct auth_wait w = *(struct auth_wait *)user;
    free(user);
    if (w.up == NULL)
        return; /* the upgrade was answered 503 when it could not wait */
    const struct cg_http_request *req = cg_upgrade_request(w.up);
    struct cg_http_response *res = cg_upgrade_response(w.up);
    void *conn_user = NULL;
    int status = auth_status(rc, res); /* CG_ECLOSED: ep is going away: not used */
    if (status == 0 && req == NULL)
        status = 503; /* the connection is gone: nobody hears it */
    if (status == 0)
        status = choose_lane(w.ep, req, res, &conn_user);
    cg_upgrade_finish(w.up, status == 0 ? 101 : status, conn_user);
}

static void peer_host(const struct cg_http_request *req, char *ip, size_t ipsz)
{
    snprintf(ip, ipsz, "%s", cg_http_request_peer(req));
    char *colon = strrchr(ip, ':');
    if (colon != NULL)
        *colon = '\0';
    if (ip[0] == '[')
        memmove(ip, ip + 1, strlen(ip));
    ip[strcspn(ip, "]")] = '\0';
}

/* M-05 on the thread pool: 0 (go on), a refusal, or CG_UPGRADE_DEFER. */
static int check_auth(struct cg_mos_endpoint *ep, const struct cg_http_request *req,
                      struct cg_http_response *res)
{
    if (ep->auth == NULL)
        return 0;
    char ip[64], user[CG_MOS_ID_MAX + 1];
    peer_host(req, ip, sizeof(ip));
    struct auth_wait *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return auth_status(CG_ENOMEM, res);
    w->ep = ep;
    enum cg_err rc = cg__auth_check_async(ep->auth, cg_http_request_header(req, "Authorization"),
                                          ip, user, sizeof(user), on_auth_done, w);
    if (rc != CG_EAGAIN) {
        free(w);
        return auth_status(rc, res);
    }
    w->up = cg_upgrade_defer(req); /* on_auth_done frees w in any case */
    return w->up != NULL ? CG_UPGRADE_DEFER : auth_status(CG_ENOMEM, res);
}

static int pick_lane(struct cg_mos_endpoint *ep, const struct mos4_query *q, struct cg_http_response *res,
                     struct mos4_lane **lane)
{
    bool we_mos = ep->cfg.role == CG_MOS_ROLE_MOS;
    if (!q->has_mos || !q->has_ncs || !q->has_channel)
        return refuse(res, 400, "the query needs mosID, ncsID and channel (M-02)");
    if (strcmp(we_mos ? q->mos_id : q->ncs_id, ep->cfg.id) != 0)
        return refuse(res, 400, we_mos ? "mosID is not this device's" : "ncsID is not this NCS's");
    struct mos4_peer *p = cg__mos4_peer(ep, we_mos ? q->ncs_id : q->mos_id);
    if (p == NULL)
        return refuse(res, 400, "unknown peer ID");
    if (p->held) { /* issue 18, leg_state = mirror: as if the server behind us were gone */
        cg_http_response_add_header(res, "Retry-After", "1");
        return refuse(res, 503, "held: the far side of this leg is down; try again later");
    }
    int ch = strcmp(q->channel, "mom") == 0 ? 0 : strcmp(q->channel, "ro") == 0 ? 1
           : strcmp(q->channel, "aux") == 0 ? 2 : -1;
    if (ch < 0)
        return refuse(res, 400, "channel must be mom, ro or aux (M-03)");
    if (!(p->channels & cg__mos4_ch_bit(ch)))
        return refuse(res, 400, "channel not configured for this peer");
    if (q->passive && p->mode != CG_MOS_PASSIVE_OUTSIDE)
        return refuse(res, 400, "passive connection from a peer not configured for passive mode");
    struct mos4_lane *l = &p->lanes[ch][q->passive ? CG_MOS_OUT : CG_MOS_IN];
    if (l->we_dial)
        return refuse(res, 400, "this endpoint opens that lane itself");
    *lane = l;
    return 0;
}

static int choose_lane(struct cg_mos_endpoint *ep, const struct cg_http_request *req,
                       struct cg_http_response *res, void **conn_user)
{
    struct mos4_query q;
    struct mos4_lane *l = NULL;
    int status = 0;
    char why[160];
    if (!cg__mos4_parse_query(cg_http_request_query(req), &q, why, sizeof(why)))
        status = refuse(res, 400, why);
    if (status == 0)
        status = pick_lane(ep, &q, res, &l);
    if (status != 0)
        return status;
    *conn_user = l;
    return 0;
}

static int on_upgrade(void *user, const struct cg_http_request *req, struct cg_http_response *res,
                      void **conn_user)
{
    struct cg_mos_endpoint *ep = user;
    int status = check_auth(ep, req, res); /* credentials before anything is revealed */
    if (status == 0)
        status = choose_lane(ep, req, res, conn_user);
    return status == 0 ? 101 : status;
}

/* The server's accept gate: a locked-out address is closed before TLS. */
static bool locked_out(void *user, const char *ip)
{
    struct cg_mos_endpoint *ep = user;
    return cg__auth_locked(ep->auth, ip);
}

enum cg_err cg_mos_endpoint_attach(struct cg_mos_endpoint *ep, struct cg_server *srv, const char *path)
{
    CG_CHECK(ep != NULL && srv != NULL && path != NULL && ep->server == NULL, CG_EINVAL);
    /* M-05, secure by default: a listener without credentials only when the
     * application said so (cg_mos_endpoint_config_set_auth_none) */
    if (ep->auth == NULL && !ep->cfg.auth_none) {
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "%s: no credentials file: a listener needs one "
                "(M-05), or auth none set by the application", path);
        return CG_ECONFIG;
    }
    struct cg_ws_handlers h = cg__mos4_ws_handlers;
    h.on_upgrade = on_upgrade;
    CG_GUARD(cg_server_add_ws_route(srv, path, &h, ep));
    if (ep->auth != NULL && cg__server_add_gate(srv, locked_out, ep) != CG_OK)
        cg__log(ep->ctx, CG_LOG_WARN, "mos", "%s: too many endpoints on one server: locked-out "
                "addresses are refused after TLS, not at accept", path);
    if (ep->auth == NULL)
        cg__log(ep->ctx, CG_LOG_WARN, "mos", "%s: auth none: peers are not asked to log in "
                "(M-05)", path);
    ep->path = cg__strdup(path);
    if (ep->path == NULL) {
        cg_server_remove_route(srv, path);
        return CG_ENOMEM;
    }
    ep->server = srv;
    return CG_OK;
}
