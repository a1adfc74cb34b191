/* castgate mos serve | mos send — a MOS 4.0 endpoint from a configuration
 * file: serve prints what arrives and answers it; send sends files in order,
 * waits for each answer, and prints them. Both print JSON lines. */
#include "commands.h"
#include "mos_config.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct app {
    struct cg_ctx *ctx;
    struct cg_server *srv;
    struct cg_mos_endpoint *ep;
    struct mosconf conf;
    uv_signal_t sigint, sigterm;
    uv_timer_t deadline;
    /* send */
    const char *peer;
    enum cg_mos_channel channel;
    size_t to_send, answered;
    int failures;
    bool sending;
    char **files;
    struct app *other; /* castgate run: the endpoint on the other side */
    const char *side;  /* "legacy" or "mos4" */
};

static void print_message(const char *event, const struct cg_mos_message *m, const char *extra)
{
    printf("{\"event\":\"%s\",\"peer\":", event);
    tool_json_string(m->peer_id);
    printf(",\"channel\":\"%s\",\"message\":", cg_mos_channel_name(m->channel));
    tool_json_string(m->env->name);
    printf(",\"mosID\":");
    tool_json_string(m->env->mos_id);
    printf(",\"ncsID\":");
    tool_json_string(m->env->ncs_id);
    printf(",\"messageID\":");
    tool_json_string(m->env->message_id);
    printf(",\"bytes\":%zu%s}\n", m->len, extra != NULL ? extra : "");
    fflush(stdout);
}

static void on_lane(void *user, const char *peer, enum cg_mos_channel ch, enum cg_mos_dir dir,
                    bool up);

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    (void)user;
    print_message("message", m, NULL);
    static const char mach[] =
        "<listMachInfo><manufacturer>castgate</manufacturer><model>castgate mos serve</model>"
        "<hwRev/><swRev>0.1.0</swRev><DOM/><SN/><ID/><time/><opTime/><mosRev>4.0</mosRev>"
        "</listMachInfo>";
    enum cg_err rc = strcmp(m->env->name, "reqMachInfo") == 0 /* the answer the catalogue defines */
                         ? cg_mos_reply(req, mach, strlen(mach))
                         : cg_mos_reply_ack(req, true, NULL);
    if (rc != CG_OK)
        fprintf(stderr, "castgate mos: cannot answer <%s>: %s\n", m->env->name, cg_strerror(rc));
}

/* ---- building the endpoint from the file ---- */

static enum cg_mos_mode mode_of(const char *s, bool *ok)
{
    *ok = true;
    if (s[0] == '\0' || strcmp(s, "standard") == 0)
        return CG_MOS_STANDARD;
    if (strcmp(s, "passive-inside") == 0)
        return CG_MOS_PASSIVE_INSIDE;
    if (strcmp(s, "passive-outside") == 0)
        return CG_MOS_PASSIVE_OUTSIDE;
    *ok = false;
    return CG_MOS_STANDARD;
}

static unsigned channels_of(const char *s)
{
    if (s[0] == '\0')
        return CG_MOS_CH_MOM | CG_MOS_CH_RO;
    unsigned bits = 0;
    char buf[32];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *t = strtok(buf, ", "); t != NULL; t = strtok(NULL, ", "))
        bits |= !strcmp(t, "mom") ? CG_MOS_CH_MOM : !strcmp(t, "ro") ? CG_MOS_CH_RO
              : !strcmp(t, "aux") ? CG_MOS_CH_AUX : 0x100;
    return bits;
}

static enum cg_err peer_client(const struct mosconf_peer *p, struct cg_ws_client_config *cc)
{
    enum cg_err rc = CG_OK;
    if (p->ca[0] || p->ca_dir[0])
        rc = cg_ws_client_config_set_trust(cc, p->ca[0] ? p->ca : NULL, p->ca_dir[0] ? p->ca_dir : NULL);
    if (rc == CG_OK && p->pin[0])
        rc = cg_ws_client_config_set_pin(cc, p->pin);
    if (rc == CG_OK && p->self_signed)
        rc = cg_ws_client_config_set_self_signed(cc, true);
    if (rc != CG_OK || p->user[0] == '\0')
        return rc;
    FILE *f = fopen(p->password_file, "r");
    char pw[512] = "";
    if (f == NULL || fgets(pw, sizeof(pw), f) == NULL)
        rc = CG_EFILE;
    if (f != NULL)
        fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    if (rc == CG_OK)
        rc = cg_ws_client_config_set_basic_auth(cc, p->user, pw);
    memset(pw, 0, sizeof(pw));
    return rc;
}

static enum cg_err add_legacy(struct cg_mos_peer_config *pc, const struct mosconf_peer *p)
{
    char host[256];
    uint16_t port[3];
    enum cg_mos_encoding enc = strcmp(p->legacy_encoding, "utf8") == 0 ? CG_MOS_UTF8 : CG_MOS_UCS2BE;
    if (p->legacy_encoding[0] && enc == CG_MOS_UCS2BE && strcmp(p->legacy_encoding, "ucs2be") != 0)
        return CG_ECONFIG;
    enum cg_err rc = CG_OK;
    if (p->legacy_dial[0])
        rc = tool_parse_addr(p->legacy_dial, host, sizeof(host), port, 3) != 0
                 ? CG_ECONFIG
                 : cg_mos_peer_config_set_legacy_dial(pc, host, port[0], port[1], port[2], enc);
    if (rc == CG_OK && p->legacy_listen[0])
        rc = tool_parse_addr(p->legacy_listen, host, sizeof(host), port, 3) != 0
                 ? CG_ECONFIG
                 : cg_mos_peer_config_set_legacy_listen(pc, host, port[0], port[1], port[2]);
    if (rc == CG_OK && !p->legacy_dial[0]) /* listen only: still set the encoding */
        rc = cg_mos_peer_config_set_legacy_dial(pc, "-", 0, 0, 0, enc);
    return rc;
}

static enum cg_err add_peer(struct app *a, const struct mosconf_peer *p)
{
    struct cg_mos_peer_config *pc = NULL;
    struct cg_ws_client_config *cc = NULL;
    bool ok;
    enum cg_mos_mode mode = mode_of(p->mode, &ok);
    unsigned ch = channels_of(p->channels);
    enum cg_err rc = !ok || ch == 0 || ch > 7 ? CG_ECONFIG : CG_OK;
    if (rc == CG_OK)
        rc = cg_mos_peer_config_new(p->id, &pc);
    if (rc == CG_OK && p->url[0])
        rc = cg_mos_peer_config_set_url(pc, p->url);
    if (rc == CG_OK)
        rc = cg_mos_peer_config_set_mode(pc, mode);
    if (rc == CG_OK)
        rc = cg_mos_peer_config_set_channels(pc, ch);
    if (rc == CG_OK)
        rc = cg_mos_peer_config_set_text_frames(pc, p->text_frames);
    if (rc == CG_OK && (p->legacy_dial[0] || p->legacy_listen[0]))
        rc = add_legacy(pc, p);
    if (rc == CG_OK)
        rc = cg_ws_client_config_new(&cc);
    if (rc == CG_OK)
        rc = peer_client(p, cc);
    if (rc == CG_OK)
        rc = cg_mos_peer_config_set_client(pc, cc);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_add_peer(a->ep, pc);
    if (rc != CG_OK)
        fprintf(stderr, "castgate mos: peer %s: %s\n", p->id, cg_strerror(rc));
    cg_ws_client_config_free(cc);
    cg_mos_peer_config_free(pc);
    return rc;
}

static enum cg_err make_server(struct app *a)
{
    const struct mosconf *c = &a->conf;
    struct cg_server_config *sc = NULL;
    char host[64];
    uint16_t port;
    if (tool_parse_addr(c->listen, host, sizeof(host), &port, 1) != 0) {
        fprintf(stderr, "castgate mos: bad listen '%s' (ADDR:PORT)\n", c->listen);
        return CG_ECONFIG;
    }
    enum cg_err rc = cg_server_config_new(&sc);
    if (rc == CG_OK)
        rc = cg_server_config_add_listen(sc, host, port);
    for (int i = 0; rc == CG_OK && i < c->ncerts; i++)
        rc = cg_server_config_add_cert(sc, c->cert[i], c->key[i]);
    if (rc == CG_OK)
        rc = cg_server_config_set_ocsp(sc, c->ocsp, NULL);
    if (rc == CG_OK)
        rc = cg_server_config_set_hsts(sc, (uint32_t)c->hsts, false);
    if (rc == CG_OK)
        rc = cg_server_config_set_limit(sc, CG_LIMIT_MAX_WS_MESSAGE, (uint64_t)c->max_message);
    if (rc == CG_OK)
        rc = cg_server_new(a->ctx, sc, &a->srv);
    cg_server_config_free(sc);
    return rc;
}

static enum cg_err make_endpoint(struct app *a, const struct cg_mos_handlers *h)
{
    const struct mosconf *c = &a->conf;
    struct cg_mos_endpoint_config *ec = NULL;
    enum cg_mos_role role = strcmp(c->role, "ncs") == 0 ? CG_MOS_ROLE_NCS : CG_MOS_ROLE_MOS;
    enum cg_err rc = cg_mos_endpoint_config_new(role, c->id, &ec);
    if (rc == CG_OK && c->state_dir[0])
        rc = cg_mos_endpoint_config_set_state_dir(ec, c->state_dir);
    if (rc == CG_OK && c->credentials[0])
        rc = cg_mos_endpoint_config_set_credentials(ec, c->credentials);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_timing(ec, (uint32_t)c->keepalive_s * 1000,
                                               (uint32_t)c->ack_timeout_ms, (uint32_t)c->retries,
                                               (uint32_t)c->reconnect_max_ms);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_limits(ec, (size_t)c->max_message, 100000);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_validate(ec, c->validate);
    if (rc == CG_OK && a->side != NULL) /* castgate run: the far side deduplicates */
        rc = cg_mos_endpoint_config_set_redeliver(ec, true);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_new(a->ctx, ec, h, a, &a->ep);
    cg_mos_endpoint_config_free(ec);
    for (int i = 0; rc == CG_OK && i < c->npeers; i++)
        rc = add_peer(a, &c->peers[i]);
    if (rc == CG_OK && c->listen[0] && (rc = make_server(a)) == CG_OK)
        rc = cg_mos_endpoint_attach(a->ep, a->srv, c->path);
    if (rc == CG_OK && a->srv != NULL)
        rc = cg_server_start(a->srv);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_start(a->ep);
    return rc;
}

static void on_signal(uv_signal_t *s, int sig)
{
    struct app *a = s->data;
    fprintf(stderr, "castgate mos: signal %d, stopping\n", sig);
    cg_ctx_stop(a->ctx);
}

static int run(struct app *a, const struct cg_mos_handlers *h)
{
    enum cg_err rc = make_endpoint(a, h);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate mos: cannot start: %s\n", cg_strerror(rc));
        return 1;
    }
    uv_loop_t *loop = cg_ctx_loop(a->ctx);
    uv_signal_init(loop, &a->sigint);
    uv_signal_init(loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    if (a->srv != NULL) {
        printf("{\"event\":\"listening\",\"port\":%u,\"path\":", (unsigned)cg_server_port(a->srv, 0));
        tool_json_string(a->conf.path);
        printf("}\n");
        fflush(stdout);
    }
    cg_ctx_run(a->ctx);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    return 0;
}

static void teardown(struct app *a)
{
    cg_mos_endpoint_free(a->ep);
    cg_server_free(a->srv);
    cg_ctx_free(a->ctx);
}

static void on_lane(void *user, const char *peer, enum cg_mos_channel ch, enum cg_mos_dir dir, bool up)
{
    struct app *a = user;
    printf("{\"event\":\"lane\",\"peer\":");
    tool_json_string(peer);
    printf(",\"channel\":\"%s\",\"dir\":\"%s\",\"up\":%s}\n", cg_mos_channel_name(ch),
           dir == CG_MOS_OUT ? "out" : "in", up ? "true" : "false");
    fflush(stdout);
    (void)a;
}

/* ---- castgate mos serve ---- */

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: castgate mos serve --config FILE\n"
               "A MOS 4.0 endpoint: prints every message it receives as a JSON line and answers\n"
               "requests (listMachInfo for reqMachInfo, a positive mosAck/roAck otherwise).\n\n");
    mosconf_help(f);
}

static const char *config_arg(int argc, char **argv, void (*usage)(FILE *))
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return "";
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            return argv[i + 1];
    }
    usage(stderr);
    return NULL;
}

int cmd_mos_serve(int argc, char **argv)
{
    const char *cfg = config_arg(argc, argv, serve_usage);
    if (cfg == NULL || cfg[0] == '\0')
        return cfg == NULL ? 2 : 0;
    struct app *a = calloc(1, sizeof(*a));
    if (a == NULL || mosconf_load(cfg, &a->conf) != 0 || cg_ctx_new(&a->ctx) != CG_OK) {
        free(a);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    cg_ctx_set_log(a->ctx, cg_log_stderr, NULL, CG_LOG_INFO);
    struct cg_mos_handlers h = {.on_lane = on_lane, .on_request = on_request};
    int rc = run(a, &h);
    teardown(a);
    free(a);
    return rc;
}

/* ---- castgate mos send ---- */

static void send_usage(FILE *f)
{
    fprintf(f, "usage: castgate mos send --config FILE --peer ID --channel mom|ro|aux\n"
               "                         [--timeout SECONDS] MESSAGE-FILE...\n"
               "Sends each file (a MOS message, UTF-8 or UCS-2BE) in order on that channel,\n"
               "waits for each answer and prints it as a JSON line; a fresh messageID replaces\n"
               "the file's. Exits 1 on a NACK or when an answer does not come in time.\n\n");
    mosconf_help(f);
}

static void on_sent(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct app *a = user;
    a->answered++;
    if (reply != NULL) {
        char extra[64];
        snprintf(extra, sizeof(extra), ",\"status\":\"%s\"", status == CG_OK ? "ok" : "nack");
        print_message("reply", reply, extra);
    } else {
        printf("{\"event\":\"reply\",\"status\":\"%s\"}\n", cg_errname(status));
        fflush(stdout);
    }
    if (status != CG_OK)
        a->failures++;
    if (a->answered == a->to_send)
        cg_ctx_stop(a->ctx);
}

static void on_deadline(uv_timer_t *t)
{
    struct app *a = t->data;
    fprintf(stderr, "castgate mos send: %zu of %zu answered before the timeout\n", a->answered,
            a->to_send);
    a->failures++;
    cg_ctx_stop(a->ctx);
}

static int queue_file(struct app *a, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "castgate mos send: cannot read %s\n", path);
        return -1;
    }
    uint8_t *buf = malloc(64u << 20);
    size_t n = buf != NULL ? fread(buf, 1, 64u << 20, f) : 0;
    fclose(f);
    uint8_t *utf8 = NULL;
    size_t ulen = 0;
    enum cg_err rc = buf == NULL ? CG_ENOMEM : CG_OK;
    bool ucs2 = n >= 2 && ((buf[0] == 0 && buf[1] != 0) || (buf[0] == 0xFE && buf[1] == 0xFF));
    if (rc == CG_OK && ucs2)
        rc = cg_mos_convert(CG_MOS_UCS2BE, buf, n, &utf8, &ulen, NULL);
    if (rc == CG_OK)
        rc = cg_mos_send(a->ep, a->peer, a->channel, ucs2 ? (char *)utf8 : (char *)buf,
                         ucs2 ? ulen : n, on_sent, a);
    cg_mos_free(utf8);
    free(buf);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate mos send: %s: %s\n", path, cg_strerror(rc));
        return -1;
    }
    a->to_send++;
    return 0;
}

static int send_args(struct app *a, int argc, char **argv, const char **cfg, long *timeout_s)
{
    static const struct option opts[] = {{"config", 1, 0, 'c'}, {"peer", 1, 0, 'p'},
                                         {"channel", 1, 0, 'C'}, {"timeout", 1, 0, 't'},
                                         {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c': *cfg = optarg; break;
        case 'p': a->peer = optarg; break;
        case 'C': a->channel = channels_of(optarg); break;
        case 't': *timeout_s = strtol(optarg, NULL, 10); break;
        case 'h': send_usage(stdout); return 1;
        default: send_usage(stderr); return -1;
        }
    }
    if (*cfg == NULL || a->peer == NULL || optind >= argc || *timeout_s <= 0 ||
        (a->channel != CG_MOS_CH_MOM && a->channel != CG_MOS_CH_RO && a->channel != CG_MOS_CH_AUX)) {
        send_usage(stderr);
        return -1;
    }
    return 0;
}

int cmd_mos_send(int argc, char **argv)
{
    struct app *a = calloc(1, sizeof(*a));
    const char *cfg = NULL;
    long timeout_s = 60;
    int rc = a == NULL ? -1 : send_args(a, argc, argv, &cfg, &timeout_s);
    if (rc != 0 || mosconf_load(cfg, &a->conf) != 0 || cg_ctx_new(&a->ctx) != CG_OK) {
        free(a);
        return rc > 0 ? 0 : 2;
    }
    signal(SIGPIPE, SIG_IGN);
    cg_ctx_set_log(a->ctx, cg_log_stderr, NULL, CG_LOG_WARN);
    struct cg_mos_handlers h = {.on_lane = on_lane, .on_request = on_request};
    uv_timer_init(cg_ctx_loop(a->ctx), &a->deadline);
    a->deadline.data = a;
    uv_timer_start(&a->deadline, on_deadline, (uint64_t)timeout_s * 1000, 0);
    if (make_endpoint(a, &h) != CG_OK) {
        fprintf(stderr, "castgate mos send: cannot start\n");
        a->failures++;
    }
    for (int i = optind; a->failures == 0 && i < argc; i++)
        if (queue_file(a, argv[i]) != 0)
            a->failures++;
    if (a->failures == 0) {
        uv_loop_t *loop = cg_ctx_loop(a->ctx);
        uv_signal_init(loop, &a->sigint);
        a->sigint.data = a;
        uv_signal_start(&a->sigint, on_signal, SIGINT);
        cg_ctx_run(a->ctx);
        uv_close((uv_handle_t *)&a->sigint, NULL);
    }
    uv_close((uv_handle_t *)&a->deadline, NULL);
    int status = a->failures == 0 ? 0 : 1;
    teardown(a);
    free(a);
    return status;
}

/* ---- castgate mos catalog ---- */

int cmd_mos_catalog(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: castgate mos catalog   (the message table as JSON lines)\n");
        return 2;
    }
    size_t n = 0;
    const struct cg_mos_msg_info *t = cg_mos_msg_table(&n);
    for (size_t i = 0; i < n; i++) {
        printf("{\"message\":");
        tool_json_string(t[i].name);
        printf(",\"profile\":%d,\"channel\":\"%s\",\"answer\":", t[i].profile,
               cg_mos_channel_name(t[i].channels));
        if (t[i].answer != NULL)
            tool_json_string(t[i].answer);
        else
            printf("null");
        printf(",\"is_reply\":%s,\"removed_in_4\":%s}\n", t[i].is_reply ? "true" : "false",
               t[i].removed_in_4 ? "true" : "false");
    }
    return 0;
}

static int run_gateway(struct app *l, struct app *w);

/* ---- castgate run: legacy MOS 2.x gear <-> MOS 4.0, one relay per link ---- */

struct forward {
    struct cg_mos_request *req;
    struct app *from;
};

static void relay_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct forward *f = user;
    if (reply != NULL) /* the far side's own answer, its status text included */
        cg_mos_reply(f->req, reply->xml, reply->len);
    else if (status != CG_ECLOSED) /* on shutdown the request may be gone already */
        cg_mos_reply_ack(f->req, false, "castgate: no answer from the far side");
    free(f);
}

static void relay_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct app *a = user;
    char extra[64];
    snprintf(extra, sizeof(extra), ",\"from\":\"%s\"", a->side);
    print_message("relay", m, extra);
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(m->env->name, strlen(m->env->name));
    if (info != NULL && info->removed_in_4 && strcmp(a->conf.removed_in_4, "reject") == 0) {
        char why[160]; /* M-12: the link's policy refuses what MOS 4.0 removed */
        snprintf(why, sizeof(why), "castgate: %s was removed in MOS 4.0 (use roElementAction)",
                 m->env->name);
        cg_mos_reply_ack(req, false, why);
        return;
    }
    struct forward *f = malloc(sizeof(*f));
    enum cg_err rc = f == NULL ? CG_ENOMEM : CG_OK;
    if (rc == CG_OK) {
        *f = (struct forward){.req = req, .from = a};
        /* the far endpoint's peer is the one whose ID is ours (same IDs end to end) */
        rc = cg_mos_forward(a->other->ep, a->conf.id, m->channel, m->xml, m->len, relay_done, f);
    }
    if (rc != CG_OK) {
        free(f);
        char why[128];
        snprintf(why, sizeof(why), "castgate: cannot forward: %s", cg_strerror(rc));
        cg_mos_reply_ack(req, false, why);
    }
}

static void run_usage(FILE *f)
{
    fprintf(f, "usage: castgate run --legacy FILE --mos4 FILE [--check-config]\n"
               "The gateway: FILE for each side is an endpoint configuration (see\n"
               "'castgate mos serve --help'). The legacy side's peers are MOS 2.x gear\n"
               "(legacy_dial / legacy_listen); the MOS 4.0 side's peers are the far side over wss.\n"
               "A request from either side is forwarded to the other side's peer that has the\n"
               "receiving endpoint's ID, with its messageID unchanged; the far side's answer\n"
               "comes back. keepAlive ends at the gateway; heartbeats are answered locally.\n");
}

int cmd_run(int argc, char **argv)
{
    const char *lf = NULL, *wf = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--legacy") && i + 1 < argc)
            lf = argv[++i];
        else if (!strcmp(argv[i], "--mos4") && i + 1 < argc)
            wf = argv[++i];
        else if (!strcmp(argv[i], "--check-config"))
            check = true;
        else {
            run_usage(!strcmp(argv[i], "--help") ? stdout : stderr);
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    struct app *l = calloc(1, sizeof(*l)), *w = calloc(1, sizeof(*w));
    int rc = 2;
    if (lf == NULL || wf == NULL || l == NULL || w == NULL) {
        run_usage(stderr);
        goto out;
    }
    if (mosconf_load(lf, &l->conf) != 0 || mosconf_load(wf, &w->conf) != 0)
        goto out;
    if (check) {
        printf("castgate run: %s and %s are valid\n", lf, wf);
        rc = 0;
        goto out;
    }
    rc = run_gateway(l, w);
out:
    free(l);
    free(w);
    return rc;
}

static int run_gateway(struct app *l, struct app *w)
{
    if (cg_ctx_new(&l->ctx) != CG_OK)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    cg_ctx_set_log(l->ctx, cg_log_stderr, NULL, CG_LOG_INFO);
    w->ctx = l->ctx;
    l->other = w, w->other = l;
    l->side = "legacy", w->side = "mos4";
    struct cg_mos_handlers h = {.on_lane = on_lane, .on_request = relay_request};
    int rc = 1;
    if (make_endpoint(w, &h) == CG_OK && make_endpoint(l, &h) == CG_OK) {
        uv_loop_t *loop = cg_ctx_loop(l->ctx);
        uv_signal_init(loop, &l->sigint);
        uv_signal_init(loop, &l->sigterm);
        l->sigint.data = l->sigterm.data = l;
        uv_signal_start(&l->sigint, on_signal, SIGINT);
        uv_signal_start(&l->sigterm, on_signal, SIGTERM);
        printf("{\"event\":\"running\"}\n");
        fflush(stdout);
        cg_ctx_run(l->ctx);
        uv_close((uv_handle_t *)&l->sigint, NULL);
        uv_close((uv_handle_t *)&l->sigterm, NULL);
        rc = 0;
    } else {
        fprintf(stderr, "castgate run: cannot start\n");
    }
    /* The MOS 4.0 side first: its pending forwards complete (CG_ECLOSED) while
     * the legacy side's requests still exist. */
    cg_mos_endpoint_free(w->ep);
    cg_server_free(w->srv);
    cg_mos_endpoint_free(l->ep);
    cg_server_free(l->srv);
    cg_ctx_free(l->ctx);
    return rc;
}
