/* castgate mos serve | mos send — a MOS 4.0 endpoint from a configuration
 * file: serve prints what arrives and answers it; send sends files in order,
 * waits for each answer, and prints them. Both print JSON lines. */
#include "commands.h"
#include "mos_build.h"
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
    /* serve */
    uint64_t hold_ms; /* answer each request this long after it came */
    bool heartbeat;   /* send: a heartbeat first (M-10) */
};

static void on_lane(void *user, const char *peer, enum cg_mos_channel ch, enum cg_mos_dir dir,
                    bool up);

struct held { /* --hold-ms: a request answered later */
    uv_timer_t t;
    struct cg_mos_request *req;
    bool mach;
};

static void answer(struct cg_mos_request *req, bool mach_info, bool held)
{
    static const char mach_xml[] =
        "<listMachInfo><manufacturer>castgate</manufacturer><model>castgate mos serve</model>"
        "<hwRev/><swRev>0.1.0</swRev><DOM/><SN/><ID/><time/><opTime/><mosRev>4.0</mosRev>"
        "</listMachInfo>";
    enum cg_err rc = mach_info /* the answer the catalogue defines */
                         ? cg_mos_reply(req, mach_xml, strlen(mach_xml))
                         : cg_mos_reply_ack(req, true, NULL);
    if (rc != CG_OK)
        fprintf(stderr, "castgate mos: cannot answer: %s\n", cg_strerror(rc));
    else if (held)
        printf("{\"event\":\"answered\",\"held\":true}\n");
    fflush(stdout);
}

static void on_held_closed(uv_handle_t *h) { free(h->data); }

static void on_hold_over(uv_timer_t *t)
{
    struct held *h = t->data;
    answer(h->req, h->mach, true);
    uv_close((uv_handle_t *)&h->t, on_held_closed);
}

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct app *a = user;
    mosb_print_message("message", m, NULL);
    bool mach = strcmp(m->env->name, "reqMachInfo") == 0;
    struct held *h = a->hold_ms > 0 ? calloc(1, sizeof(*h)) : NULL;
    if (h == NULL) {
        answer(req, mach, false);
        return;
    }
    *h = (struct held){.req = req, .mach = mach};
    uv_timer_init(cg_ctx_loop(a->ctx), &h->t);
    h->t.data = h;
    uv_timer_start(&h->t, on_hold_over, a->hold_ms, 0);
}

/* ---- building the endpoint from the file ---- */

static enum cg_err make_endpoint(struct app *a, const struct cg_mos_handlers *h)
{
    const struct mosconf *c = &a->conf;
    struct cg_mos_endpoint_config *ec = NULL;
    enum cg_err rc = cg_mos_endpoint_config_new((enum cg_mos_role)c->role, c->id, &ec);
    if (rc == CG_OK && c->state_dir[0])
        rc = cg_mos_endpoint_config_set_state_dir(ec, c->state_dir);
    if (rc == CG_OK && c->credentials[0])
        rc = cg_mos_endpoint_config_set_credentials(ec, c->credentials);
    if (rc == CG_OK && c->auth == MOSCONF_AUTH_NONE) /* the file said so (M-05) */
        rc = cg_mos_endpoint_config_set_auth_none(ec, true);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_config_set_limits(ec, (size_t)c->opt[CG_MOS_OPT_MAX_MESSAGE], 100000);
    if (rc == CG_OK)
        rc = mosconf_apply(c, ec); /* the table's endpoint options */
    if (rc == CG_OK)
        rc = cg_mos_endpoint_new(a->ctx, ec, h, a, &a->ep);
    cg_mos_endpoint_config_free(ec);
    for (int i = 0; rc == CG_OK && i < c->npeers; i++)
        rc = mosb_add_peer(a->ep, &c->peers[i]);
    if (rc == CG_OK)
        mosconf_warn_open("mos", c);
    if (rc == CG_OK && c->listen[0] && (rc = mosb_server(a->ctx, c, &a->srv)) == CG_OK)
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
    fprintf(f, "usage: castgate mos serve --config FILE [--hold-ms MS]\n"
               "A MOS 4.0 endpoint: prints every message it receives as a JSON line and answers\n"
               "requests (listMachInfo for reqMachInfo, a positive mosAck/roAck otherwise);\n"
               "--hold-ms: each answer MS milliseconds after its request (a slow application).\n\n");
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
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--hold-ms"))
            a->hold_ms = strtoull(argv[i + 1], NULL, 10);
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
               "                         [--timeout SECONDS] [--heartbeat] MESSAGE-FILE...\n"
               "--heartbeat: first a heartbeat with our time now (heartbeat_time sets its form).\n"
               "Sends each file (a MOS message, UTF-8 or UCS-2BE) in order on that channel,\n"
               "waits for each answer and prints it as a JSON line; a fresh messageID replaces\n"
               "the file's. A NACK is also printed whole ({\"event\":\"nack\",\"xml\":…}). Exits 1\n"
               "on a NACK or when an answer does not come in time.\n\n");
    mosconf_help(f);
}

static void on_sent(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct app *a = user;
    a->answered++;
    if (reply != NULL) {
        char extra[64];
        snprintf(extra, sizeof(extra), ",\"status\":\"%s\"", status == CG_OK ? "ok" : "nack");
        mosb_print_message("reply", reply, extra);
        if (status == CG_ENACK && reply->len < 4096) { /* what the refusal says */
            char xml[4096];
            snprintf(xml, sizeof(xml), "%.*s", (int)reply->len, reply->xml);
            printf("{\"event\":\"nack\",\"messageID\":");
            tool_json_string(reply->env->message_id);
            printf(",\"xml\":");
            tool_json_string(xml);
            printf("}\n");
            fflush(stdout);
        }
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

/* A heartbeat with our time now, in the endpoint's form (heartbeat_time, M-24). */
static int queue_heartbeat(struct app *a)
{
    uint8_t *hb = NULL;
    size_t n = 0;
    enum cg_mos_time_form form = (enum cg_mos_time_form)a->conf.opt[CG_MOS_OPT_HEARTBEAT_TIME];
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    enum cg_err rc = cg_mos_build_heartbeat_form(CG_MOS_UTF8, "x", "x", NULL,
                                                 tv.tv_sec * 1000 + tv.tv_usec / 1000, form, &hb, &n);
    if (rc == CG_OK)
        rc = cg_mos_send(a->ep, a->peer, a->channel, (const char *)hb, n, on_sent, a);
    cg_mos_free(hb);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate mos send: heartbeat: %s\n", cg_strerror(rc));
        return -1;
    }
    a->to_send++;
    return 0;
}

static int send_args(struct app *a, int argc, char **argv, const char **cfg, long *timeout_s)
{
    static const struct option opts[] = {{"config", 1, 0, 'c'}, {"peer", 1, 0, 'p'},
                                         {"channel", 1, 0, 'C'}, {"timeout", 1, 0, 't'},
                                         {"heartbeat", 0, 0, 'H'}, {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c': *cfg = optarg; break;
        case 'p': a->peer = optarg; break;
        case 'C': a->channel = mosb_channels(optarg); break;
        case 't': *timeout_s = strtol(optarg, NULL, 10); break;
        case 'H': a->heartbeat = true; break;
        case 'h': send_usage(stdout); return 1;
        default: send_usage(stderr); return -1;
        }
    }
    if (*cfg == NULL || a->peer == NULL || (optind >= argc && !a->heartbeat) || *timeout_s <= 0 ||
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
    if (a->failures == 0 && a->heartbeat && queue_heartbeat(a) != 0)
        a->failures++;
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

