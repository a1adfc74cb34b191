/* castgate serve — a BCP-003-01 HTTPS/WSS endpoint with a WebSocket echo on
 * one path and a JSON status document on /status. The engine demonstration
 * and the target of the interop tests; MOS behaviour arrives with `mos serve`
 * and `run`. */
#include "commands.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

struct serve {
    struct cg_ctx *ctx;
    struct cg_server *srv;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t expiry_timer;
    const char *store; /* --cert-store DIR, or NULL */
    const char *cred_file;          /* --credentials FILE, or NULL */
    struct cg_credentials *cred;    /* loaded from it */
    const char *chains[4]; /* the certificate files, for the expiry check */
    size_t nchains;
    unsigned long messages;
    bool quiet;
};

static void on_ws_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *data,
                          size_t len)
{
    struct serve *s = user;
    s->messages++;
    enum cg_err rc = cg_ws_send(ws, binary, data, len);
    if (rc != CG_OK)
        fprintf(stderr, "castgate serve: echo to %s failed: %s\n", cg_ws_peer(ws), cg_strerror(rc));
}

/* --credentials: Basic credentials on the upgrade, 401 (429 after repeated
 * failures from one address, 503 while two hashes run) otherwise. The hash
 * runs on the thread pool; the upgrade is answered when it is done. */
static int refusal(enum cg_err rc, struct cg_http_response *res)
{
    int status = rc == CG_ERATELIMIT ? 429 : rc == CG_EAUTH ? 401 : 503;
    const char *why = status == 429   ? "too many failed logins from this address"
                      : status == 401 ? "missing or wrong credentials"
                                      : "credentials not checked: try again";
    if (status == 401)
        cg_http_response_add_header(res, "WWW-Authenticate",
                                    "Basic realm=\"castgate\", charset=\"UTF-8\"");
    if (status == 503)
        cg_http_response_add_header(res, "Retry-After", "1");
    cg_http_response_set(res, status, "text/plain; charset=utf-8", why, strlen(why));
    cg_http_response_set_log_reason(res, why);
    return status;
}

static void on_checked(void *user, enum cg_err rc, const char *name)
{
    struct cg_upgrade **up = user; /* *up is NULL if the upgrade could not wait */
    (void)name;
    if (*up != NULL)
        cg_upgrade_finish(*up, rc == CG_OK ? 101 : refusal(rc, cg_upgrade_response(*up)), NULL);
    free(up);
}

static int on_upgrade(void *user, const struct cg_http_request *req, struct cg_http_response *res,
                      void **conn_user)
{
    struct serve *s = user;
    (void)conn_user;
    if (s->cred == NULL)
        return 101;
    char name[160];
    struct cg_upgrade **up = calloc(1, sizeof(*up));
    if (up == NULL)
        return refusal(CG_ENOMEM, res);
    enum cg_err rc = cg_credentials_check_async(s->cred, cg_http_request_header(req, "Authorization"),
                                                cg_http_request_peer(req), name, sizeof(name),
                                                on_checked, up);
    if (rc != CG_EAGAIN) {
        free(up);
        return rc == CG_OK ? 101 : refusal(rc, res);
    }
    *up = cg_upgrade_defer(req); /* on_checked frees up in any case */
    return *up != NULL ? CG_UPGRADE_DEFER : refusal(CG_ENOMEM, res);
}

static void on_ws_close(void *user, struct cg_ws *ws, uint16_t code)
{
    struct serve *s = user;
    if (!s->quiet)
        fprintf(stderr, "castgate serve: %s closed (%u)\n", cg_ws_peer(ws), (unsigned)code);
}

static void on_status(void *user, const struct cg_http_request *req, struct cg_http_response *res)
{
    struct serve *s = user;
    (void)req;
    char body[256];
    int n = snprintf(body, sizeof(body),
                     "{\"service\":\"castgate\",\"version\":\"%s\",\"connections\":%zu,"
                     "\"messages\":%lu}\n",
                     cg_version(), cg_server_connections(s->srv), s->messages);
    cg_http_response_set(res, 200, "application/json", body, (size_t)n);
}

static void on_echo(void *user, const struct cg_http_request *req, struct cg_http_response *res)
{
    (void)user;
    size_t len;
    const uint8_t *body = cg_http_request_body(req, &len);
    const char *type = cg_http_request_header(req, "Content-Type");
    cg_http_response_set(res, 200, type != NULL ? type : "application/octet-stream", body, len);
}

static const struct {
    const char *name;
    enum cg_server_limit which;
} limit_names[] = {
    {"max_connections", CG_LIMIT_MAX_CONNECTIONS}, {"max_header_bytes", CG_LIMIT_MAX_HEADER_BYTES},
    {"max_body_bytes", CG_LIMIT_MAX_BODY_BYTES},   {"max_ws_message", CG_LIMIT_MAX_WS_MESSAGE},
    {"handshake_ms", CG_LIMIT_HANDSHAKE_MS},       {"header_ms", CG_LIMIT_HEADER_MS},
    {"idle_ms", CG_LIMIT_IDLE_MS},                 {"ws_ping_ms", CG_LIMIT_WS_PING_MS},
    {"ws_pong_ms", CG_LIMIT_WS_PONG_MS},           {"max_write_queue", CG_LIMIT_MAX_WRITE_QUEUE},
    {"handshakes_in_flight", CG_LIMIT_HANDSHAKES_IN_FLIGHT},
    {"handshakes_per_address", CG_LIMIT_HANDSHAKES_PER_ADDRESS},
};

static enum cg_err parse_limit(struct cg_server_config *cfg, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL)
        return CG_EINVAL;
    for (size_t i = 0; i < sizeof(limit_names) / sizeof(limit_names[0]); i++) {
        if (strlen(limit_names[i].name) == (size_t)(eq - arg) &&
            strncmp(arg, limit_names[i].name, (size_t)(eq - arg)) == 0) {
            char *end;
            unsigned long long v = strtoull(eq + 1, &end, 10);
            if (*end != '\0' || eq[1] == '\0')
                return CG_EINVAL;
            return cg_server_config_set_limit(cfg, limit_names[i].which, v);
        }
    }
    return CG_ENOTFOUND;
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct serve *s = h->data;
    fprintf(stderr, "castgate serve: signal %d, stopping\n", sig);
    cg_ctx_stop(s->ctx);
}

/* B-13 store: the files castgate cert install put there (one per key type). */
static int store_files(struct serve *s, struct cg_cert_info *info, size_t *n)
{
    enum cg_err rc = cg_cert_store_list(s->ctx, s->store, info, 2, n);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate serve: certificate store %s: %s\n", s->store, cg_strerror(rc));
        return -1;
    }
    return 0;
}

/* 30/7/1-day warnings for every certificate in use, at start, on reload and daily. */
static void check_expiry(struct serve *s)
{
    struct cg_cert_info info[2];
    size_t n = 0;
    if (s->store != NULL && cg_cert_store_list(s->ctx, s->store, info, 2, &n) == CG_OK) {
        for (size_t i = 0; i < n; i++)
            cg_cert_check_expiry(s->ctx, info[i].chain_file, NULL);
        return;
    }
    for (size_t i = 0; i < s->nchains; i++)
        cg_cert_check_expiry(s->ctx, s->chains[i], NULL);
}

static void on_expiry_timer(uv_timer_t *t) { check_expiry(t->data); }

/* SIGHUP: new certificates for new handshakes; open connections stay. */
static void on_sighup(uv_signal_t *h, int sig)
{
    struct serve *s = h->data;
    (void)sig;
    fprintf(stderr, "castgate serve: SIGHUP, reloading certificates\n");
    enum cg_err rc;
    if (s->store != NULL) {
        struct cg_cert_info info[2];
        size_t n = 0;
        if (store_files(s, info, &n) != 0)
            return;
        const char *chains[2], *keys[2];
        for (size_t i = 0; i < n; i++) {
            chains[i] = info[i].chain_file;
            keys[i] = info[i].key_file;
        }
        rc = cg_server_reload_certs(s->srv, chains, keys, n);
    } else {
        rc = cg_server_reload_certs(s->srv, NULL, NULL, 0);
    }
    fprintf(stderr, "castgate serve: reload %s%s\n", rc == CG_OK ? "done" : "REFUSED: ",
            rc == CG_OK ? "" : cg_strerror(rc));
    if (rc == CG_OK)
        check_expiry(s);
    if (s->cred != NULL)
        cg_credentials_reload(s->cred); /* logs; the previous users stay on failure */
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: castgate serve --cert CHAIN --key KEY [--cert CHAIN --key KEY] [options]\n"
            "  --listen ADDR:PORT    numeric address (default 127.0.0.1:8443; [::1]:PORT for IPv6)\n"
            "  --cert FILE --key FILE  certificate chain and key; give RSA and ECDSA both (B-13)\n"
            "  --cert-store DIR      load the certificates of a store (castgate cert install)\n"
            "                        instead of --cert/--key; SIGHUP reloads either kind\n"
            "  --path PATH           WebSocket echo path (default /mos/Communication)\n"
            "  --credentials FILE    require Basic credentials on the WebSocket upgrade, checked\n"
            "                        against an htpasswd file (castgate passwd); SIGHUP reloads it\n"
            "  --hsts SECONDS        Strict-Transport-Security max-age, 0 disables (default 31536000)\n"
            "  --cors-origin ORIGIN  allow this origin (repeatable; none by default)\n"
            "  --no-ocsp             do not staple OCSP responses\n"
            "  --ocsp-url URL        fetch staples from URL instead of each certificate's AIA\n"
            "  --max-connections N   (default 10000; the open-file limit is raised to its maximum)\n"
            "  --limit NAME=VALUE    max_connections, max_header_bytes, max_body_bytes,\n"
            "                        max_ws_message, handshake_ms, header_ms, idle_ms, ws_ping_ms,\n"
            "                        ws_pong_ms, max_write_queue, handshakes_in_flight,\n"
            "                        handshakes_per_address (see castgate/server.h)\n"
            "  --verbose | --quiet\n");
}

static int parse_listen(struct cg_server_config *cfg, const char *arg)
{
    char host[64];
    uint16_t port;
    if (tool_parse_addr(arg, host, sizeof(host), &port, 1) != 0)
        return -1;
    return cg_server_config_add_listen(cfg, host, port) == CG_OK ? 0 : -1;
}

enum { O_CERT = 256, O_KEY, O_LISTEN, O_PATH, O_HSTS, O_CORS, O_NO_OCSP, O_OCSP_URL, O_MAXC,
       O_VERBOSE, O_QUIET, O_HELP, O_LIMIT, O_STORE, O_CRED };

static const struct option opts[] = {
    {"cert", required_argument, 0, O_CERT},       {"key", required_argument, 0, O_KEY},
    {"listen", required_argument, 0, O_LISTEN},   {"path", required_argument, 0, O_PATH},
    {"hsts", required_argument, 0, O_HSTS},       {"cors-origin", required_argument, 0, O_CORS},
    {"no-ocsp", no_argument, 0, O_NO_OCSP},       {"ocsp-url", required_argument, 0, O_OCSP_URL},
    {"max-connections", required_argument, 0, O_MAXC}, {"verbose", no_argument, 0, O_VERBOSE},
    {"quiet", no_argument, 0, O_QUIET},           {"limit", required_argument, 0, O_LIMIT},           {"help", no_argument, 0, O_HELP},
    {"cert-store", required_argument, 0, O_STORE},
    {"credentials", required_argument, 0, O_CRED},
    {0, 0, 0, 0}};

struct serve_args {
    const char *path;
    const char *pending_cert;
    bool have_listen;
    enum cg_log_level level;
};

static int apply_opt(struct cg_server_config *cfg, struct serve_args *a, struct serve *s, int o)
{
    enum cg_err rc = CG_OK;
    switch (o) {
    case O_CERT: a->pending_cert = optarg; return 0;
    case O_STORE: s->store = optarg; return 0;
    case O_CRED: s->cred_file = optarg; return 0;
    case O_KEY:
        if (a->pending_cert == NULL)
            return fprintf(stderr, "castgate serve: --key must follow its --cert\n"), -1;
        rc = cg_server_config_add_cert(cfg, a->pending_cert, optarg);
        if (s->nchains < 4)
            s->chains[s->nchains++] = a->pending_cert;
        a->pending_cert = NULL;
        break;
    case O_LISTEN:
        a->have_listen = true;
        if (parse_listen(cfg, optarg) != 0)
            return fprintf(stderr, "castgate serve: bad --listen '%s' (ADDR:PORT)\n", optarg), -1;
        return 0;
    case O_PATH: a->path = optarg; return 0;
    case O_HSTS: rc = cg_server_config_set_hsts(cfg, (uint32_t)strtoul(optarg, NULL, 10), false); break;
    case O_CORS: rc = cg_server_config_add_cors_origin(cfg, optarg, false); break;
    case O_NO_OCSP: rc = cg_server_config_set_ocsp(cfg, false, NULL); break;
    case O_OCSP_URL: rc = cg_server_config_set_ocsp(cfg, true, optarg); break;
    case O_MAXC:
        rc = cg_server_config_set_limit(cfg, CG_LIMIT_MAX_CONNECTIONS, strtoull(optarg, NULL, 10));
        break;
    case O_LIMIT: rc = parse_limit(cfg, optarg); break;
    case O_VERBOSE: a->level = CG_LOG_DEBUG; return 0;
    case O_QUIET: a->level = CG_LOG_WARN; s->quiet = true; return 0;
    case O_HELP: usage(stdout); return 1;
    default: usage(stderr); return -1;
    }
    if (rc != CG_OK)
        fprintf(stderr, "castgate serve: bad value '%s': %s\n", optarg, cg_strerror(rc));
    return rc == CG_OK ? 0 : -1;
}

static int add_store(struct serve *s, struct cg_server_config *cfg)
{
    struct cg_cert_info info[2];
    size_t n = 0;
    if (store_files(s, info, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (cg_server_config_add_cert(cfg, info[i].chain_file, info[i].key_file) != CG_OK)
            return -1;
    return 0;
}

static int start(struct serve *s, struct cg_server_config *cfg, const char *path)
{
    if (s->store != NULL && add_store(s, cfg) != 0)
        return 1;
    if (s->cred_file != NULL && cg_credentials_load(s->ctx, s->cred_file, &s->cred) != CG_OK) {
        fprintf(stderr, "castgate serve: cannot use credentials %s (see the log above)\n",
                s->cred_file);
        return 1;
    }
    enum cg_err rc = cg_server_new(s->ctx, cfg, &s->srv);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate serve: cannot start: %s\n", cg_strerror(rc));
        return 1;
    }
    struct cg_ws_handlers h = {
        .on_upgrade = on_upgrade, .on_message = on_ws_message, .on_close = on_ws_close};
    if ((rc = cg_server_add_ws_route(s->srv, path, &h, s)) != CG_OK ||
        (rc = cg_server_add_http_route(s->srv, "/status", CG_HTTP_GET | CG_HTTP_HEAD, on_status,
                                       s)) != CG_OK ||
        (rc = cg_server_add_http_route(s->srv, "/echo", CG_HTTP_POST, on_echo, s)) != CG_OK ||
        (rc = cg_server_start(s->srv)) != CG_OK) {
        fprintf(stderr, "castgate serve: %s\n", cg_strerror(rc));
        return 1;
    }
    printf("castgate serve: listening on port %u, wss path %s%s, status /status, POST /echo\n",
           (unsigned)cg_server_port(s->srv, 0), path, s->cred != NULL ? " (Basic auth)" : "");
    fflush(stdout);
    return 0;
}

static void run_loop(struct serve *s)
{
    uv_loop_t *loop = cg_ctx_loop(s->ctx);
    uv_signal_init(loop, &s->sigint);
    uv_signal_init(loop, &s->sigterm);
    uv_signal_init(loop, &s->sighup);
    uv_timer_init(loop, &s->expiry_timer);
    s->sigint.data = s->sigterm.data = s->sighup.data = s->expiry_timer.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sighup, on_sighup, SIGHUP);
    check_expiry(s);
    uv_timer_start(&s->expiry_timer, on_expiry_timer, 86400000u, 86400000u);
    uv_unref((uv_handle_t *)&s->expiry_timer);
    cg_ctx_run(s->ctx);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
    uv_close((uv_handle_t *)&s->expiry_timer, NULL);
}

/* Every connection is a descriptor: take the hard limit (many systems start
 * with a soft limit of 1024, far below --max-connections). */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            perror("castgate serve: cannot raise the open-file limit");
    }
}

int cmd_serve(int argc, char **argv)
{
    struct serve s = {0};
    struct cg_server_config *cfg = NULL;
    struct serve_args a = {.path = "/mos/Communication", .level = CG_LOG_INFO};
    int rc = 2, o;
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (cg_server_config_new(&cfg) != CG_OK || cg_ctx_new(&s.ctx) != CG_OK)
        goto out;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int r = apply_opt(cfg, &a, &s, o);
        if (r != 0) {
            rc = r > 0 ? 0 : 2;
            goto out;
        }
    }
    if (!a.have_listen)
        cg_server_config_add_listen(cfg, "127.0.0.1", 8443);
    cg_ctx_set_log(s.ctx, cg_log_stderr, NULL, a.level);
    rc = start(&s, cfg, a.path);
    if (rc == 0)
        run_loop(&s);
out:
    cg_server_free(s.srv);
    cg_credentials_free(s.cred);
    cg_server_config_free(cfg);
    cg_ctx_free(s.ctx);
    return rc;
}
