/* castgate front --config FILE — the NMOS secure front: a plain-HTTP/ws NMOS
 * node or registry behind BCP-003-01 (include/castgate/front.h, docs/front.md).
 *
 * The file is "key = value" lines, '#' comments, an optional [front] header;
 * one table row per key drives parsing and --help. SIGHUP reloads the
 * certificates, SIGINT/SIGTERM stop; the counters are printed as one JSON
 * line on stdout at the end. */
#include "commands.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <castgate/front.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MAX_LIST 8

/* DNS-SD adverts of the secure face (B-40..B-42): the node's or registry's
 * services again, with api_proto=https, the public name and port. */
struct front_dnssd {
    char server[80], domain[256], instance[64], tsig[1024], iface[32];
    const char *types[3];
    size_t ntypes;
    char txt[MAX_LIST][256];
    const char *txtp[MAX_LIST + 4];
    size_t ntxt;
};

struct front_args {
    struct cg_server_config *scfg;
    struct cg_front_config *fcfg;
    enum cg_log_level level;
    bool have_listen, have_backend, have_public;
    char public_host[256];
    uint16_t public_port;
    char first_cert[1024];
    struct front_dnssd dns;
};

typedef int (*opt_fn)(struct front_args *a, const char *v);

static int u64_of(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x > max || v[0] == '-')
        return -1;
    *out = x;
    return 0;
}

static int on_off(const char *v, bool *out)
{
    if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

static int o_listen(struct front_args *a, const char *v)
{
    char host[64];
    uint16_t port;
    if (tool_parse_addr(v, host, sizeof(host), &port, 1) != 0)
        return -1;
    a->have_listen = true;
    return cg_server_config_add_listen(a->scfg, host, port) == CG_OK ? 0 : -1;
}

static int o_cert(struct front_args *a, const char *v)
{
    char chain[1024], key[1024];
    if (sscanf(v, "%1023s %1023s", chain, key) != 2)
        return -1;
    if (a->first_cert[0] == '\0')
        snprintf(a->first_cert, sizeof(a->first_cert), "%s", chain); /* B-42 check */
    return cg_server_config_add_cert(a->scfg, chain, key) == CG_OK ? 0 : -1;
}

static int o_backend(struct front_args *a, const char *v)
{
    char host[64];
    uint16_t port[2];
    if (tool_parse_addr(v, host, sizeof(host), port, 2) != 0)
        return -1;
    a->have_backend = true;
    return cg_front_config_set_backend(a->fcfg, host, port[0], port[1]) == CG_OK ? 0 : -1;
}

static int o_public(struct front_args *a, const char *v)
{
    char host[256];
    uint16_t port = 0;
    const char *colon = strrchr(v, ':');
    size_t n = colon != NULL ? (size_t)(colon - v) : strlen(v);
    if (n == 0 || n >= sizeof(host))
        return -1;
    memcpy(host, v, n);
    host[n] = '\0';
    uint64_t p = 0;
    if (colon != NULL && (u64_of(colon + 1, 65535, &p) != 0))
        return -1;
    port = (uint16_t)p;
    a->have_public = true;
    snprintf(a->public_host, sizeof(a->public_host), "%s", host);
    a->public_port = port;
    return cg_front_config_set_public(a->fcfg, host, port) == CG_OK ? 0 : -1;
}

static int o_inside(struct front_args *a, const char *v)
{
    return cg_front_config_add_inside(a->fcfg, v) == CG_OK ? 0 : -1;
}

static int o_ws_prefix(struct front_args *a, const char *v)
{
    return cg_front_config_add_ws_prefix(a->fcfg, v) == CG_OK ? 0 : -1;
}

static int o_rewrite(struct front_args *a, const char *v)
{
    bool on;
    return on_off(v, &on) == 0 && cg_front_config_set_rewrite(a->fcfg, on) == CG_OK ? 0 : -1;
}

static int o_cors(struct front_args *a, const char *v)
{
    return cg_server_config_add_cors_origin(a->scfg, v, false) == CG_OK ? 0 : -1;
}

static int o_hsts(struct front_args *a, const char *v)
{
    uint64_t x;
    return u64_of(v, UINT32_MAX, &x) == 0 &&
                   cg_server_config_set_hsts(a->scfg, (uint32_t)x, false) == CG_OK
               ? 0
               : -1;
}

static int o_ocsp(struct front_args *a, const char *v)
{
    bool on;
    return on_off(v, &on) == 0 && cg_server_config_set_ocsp(a->scfg, on, NULL) == CG_OK ? 0 : -1;
}

static int o_ocsp_responder(struct front_args *a, const char *v)
{
    return cg_server_config_set_ocsp(a->scfg, true, v) == CG_OK ? 0 : -1;
}

static int front_limit(struct front_args *a, enum cg_front_limit w, const char *v)
{
    uint64_t x;
    return u64_of(v, UINT64_MAX, &x) == 0 && cg_front_config_set_limit(a->fcfg, w, x) == CG_OK
               ? 0
               : -1;
}
static int o_max_json(struct front_args *a, const char *v) { return front_limit(a, CG_FRONT_MAX_JSON, v); }
static int o_backend_ms(struct front_args *a, const char *v) { return front_limit(a, CG_FRONT_BACKEND_MS, v); }
static int o_pool(struct front_args *a, const char *v) { return front_limit(a, CG_FRONT_POOL, v); }
static int o_wq(struct front_args *a, const char *v) { return front_limit(a, CG_FRONT_WRITE_QUEUE, v); }

static int server_limit(struct front_args *a, enum cg_server_limit w, const char *v)
{
    uint64_t x;
    return u64_of(v, UINT64_MAX, &x) == 0 && cg_server_config_set_limit(a->scfg, w, x) == CG_OK
               ? 0
               : -1;
}
static int o_max_body(struct front_args *a, const char *v) { return server_limit(a, CG_LIMIT_MAX_BODY_BYTES, v); }
static int o_max_header(struct front_args *a, const char *v) { return server_limit(a, CG_LIMIT_MAX_HEADER_BYTES, v); }
static int o_max_conn(struct front_args *a, const char *v) { return server_limit(a, CG_LIMIT_MAX_CONNECTIONS, v); }
static int o_header_ms(struct front_args *a, const char *v) { return server_limit(a, CG_LIMIT_HEADER_MS, v); }
static int o_idle_ms(struct front_args *a, const char *v) { return server_limit(a, CG_LIMIT_IDLE_MS, v); }

static int copy_to(char *dst, size_t n, const char *v)
{
    return strlen(v) < n && v[0] != '\0' ? (snprintf(dst, n, "%s", v), 0) : -1;
}
static int o_dns_server(struct front_args *a, const char *v) { return copy_to(a->dns.server, sizeof(a->dns.server), v); }
static int o_dns_domain(struct front_args *a, const char *v) { return copy_to(a->dns.domain, sizeof(a->dns.domain), v); }
static int o_dns_instance(struct front_args *a, const char *v) { return copy_to(a->dns.instance, sizeof(a->dns.instance), v); }
static int o_dns_tsig(struct front_args *a, const char *v) { return copy_to(a->dns.tsig, sizeof(a->dns.tsig), v); }
static int o_dns_iface(struct front_args *a, const char *v) { return copy_to(a->dns.iface, sizeof(a->dns.iface), v); }

static int o_dns_type(struct front_args *a, const char *v)
{
    static const char *const names[] = {"node", "register", "query"};
    static const char *const types[] = {"_nmos-node._tcp", "_nmos-register._tcp",
                                        "_nmos-query._tcp"};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(v, names[i]) == 0 && a->dns.ntypes < 3) {
            a->dns.types[a->dns.ntypes++] = types[i];
            return 0;
        }
    return -1;
}

static int o_dns_txt(struct front_args *a, const char *v)
{
    if (a->dns.ntxt >= MAX_LIST || strchr(v, '=') == NULL)
        return -1;
    return copy_to(a->dns.txt[a->dns.ntxt++], sizeof(a->dns.txt[0]), v);
}

static int o_log(struct front_args *a, const char *v)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    static const enum cg_log_level lv[] = {CG_LOG_ERROR, CG_LOG_WARN, CG_LOG_INFO, CG_LOG_DEBUG};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            a->level = lv[i];
            return 0;
        }
    return -1;
}

static const struct {
    const char *key;
    opt_fn fn;
    const char *help;
} options[] = {
    {"listen", o_listen, "ADDR:PORT the TLS listener (repeatable; default 127.0.0.1:8443)"},
    {"cert", o_cert, "CHAIN KEY a certificate chain and its key (repeatable: RSA and ECDSA, B-13)"},
    {"backend", o_backend, "ADDR:PORT[,WSPORT] the plain NMOS node or registry (numeric address)"},
    {"public", o_public, "NAME[:PORT] the name (in the certificate) and port clients use"},
    {"inside", o_inside, "HOST:PORT another authority the backend names itself by (repeatable)"},
    {"ws_prefix", o_ws_prefix, "/PATH/ WebSocket upgrades passed through under it (repeatable)"},
    {"rewrite", o_rewrite, "on|off http->https, ws->wss in JSON and Location (default on)"},
    {"cors_origin", o_cors, "ORIGIN an origin allowed by CORS (repeatable; none by default, B-25)"},
    {"hsts_max_age", o_hsts, "SECONDS Strict-Transport-Security (default 31536000; 0 off, B-21)"},
    {"ocsp", o_ocsp, "on|off OCSP stapling (default on, B-12)"},
    {"ocsp_responder", o_ocsp_responder, "URL the OCSP responder instead of the certificate's"},
    {"max_json_bytes", o_max_json, "N JSON responses held for rewriting up to N bytes (4 MiB)"},
    {"backend_timeout_ms", o_backend_ms, "MS connect + response head from the backend (30000)"},
    {"pool", o_pool, "N idle backend connections kept (8)"},
    {"write_queue", o_wq, "BYTES queued to one side before the other pauses (1 MiB)"},
    {"max_body_bytes", o_max_body, "N request bodies over N get 413 (1 MiB, B-23)"},
    {"max_header_bytes", o_max_header, "N request heads over N get 431 (16384)"},
    {"max_connections", o_max_conn, "N client connections at once (10000)"},
    {"header_ms", o_header_ms, "MS a request must arrive within (10000)"},
    {"idle_ms", o_idle_ms, "MS an idle keep-alive client connection is kept (60000)"},
    {"log", o_log, "error|warn|info|debug (info)"},
    {"dnssd_domain", o_dns_domain, "ZONE advertise the secure face by DNS-SD in ZONE (B-40)"},
    {"dnssd_type", o_dns_type, "node|register|query the IS-04 services to advertise (repeatable)"},
    {"dnssd_instance", o_dns_instance, "NAME the instance label (default: public's first label)"},
    {"dnssd_server", o_dns_server, "IP[:PORT] the DNS server taking the UPDATE (RFC 2136)"},
    {"dnssd_tsig_key", o_dns_tsig, "FILE a BIND key file (mode 0600) to sign the UPDATE"},
    {"dnssd_interface", o_dns_iface, "IFACE multicast DNS there when no DNS server (B-41)"},
    {"dnssd_txt", o_dns_txt, "KEY=VALUE a TXT entry (api_proto=https, api_ver, api_auth, pri set)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: castgate front --config FILE\n"
               "An NMOS node or registry (plain HTTP/ws) behind BCP-003-01 (HTTPS/wss).\n"
               "FILE: \"key = value\" lines:\n");
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        fprintf(f, "  %-19s %s\n", options[i].key, options[i].help);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int apply_line(struct front_args *a, const char *file, int ln, char *line)
{
    char *hash = strchr(line, '#');
    if (hash != NULL)
        *hash = '\0';
    char *s = trim(line);
    if (*s == '\0' || strcmp(s, "[front]") == 0)
        return 0;
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        fprintf(stderr, "castgate front: %s:%d: expected key = value\n", file, ln);
        return -1;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        if (strcmp(key, options[i].key) != 0)
            continue;
        if (options[i].fn(a, val) == 0)
            return 0;
        fprintf(stderr, "castgate front: %s:%d: bad value for %s: %s\n", file, ln, key, val);
        return -1;
    }
    fprintf(stderr, "castgate front: %s:%d: unknown key %s\n", file, ln, key);
    return -1;
}

static int read_config(struct front_args *a, const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        fprintf(stderr, "castgate front: %s: %s\n", file, strerror(errno));
        return -1;
    }
    char line[4096];
    int ln = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL)
        rc = apply_line(a, file, ++ln, line);
    fclose(f);
    if (rc == 0 && (!a->have_backend || !a->have_public)) {
        fprintf(stderr, "castgate front: %s: backend and public are required\n", file);
        rc = -1;
    }
    if (rc == 0 && !a->have_listen)
        cg_server_config_add_listen(a->scfg, "127.0.0.1", 8443);
    return rc;
}

struct front_run {
    struct cg_ctx *ctx;
    struct cg_front *front;
    struct cg_dnssd *dns[3];
    uv_signal_t sig[3];
};

static bool has_txt(const struct front_dnssd *d, const char *key)
{
    for (size_t i = 0; i < d->ntxt; i++)
        if (strncmp(d->txtp[i], key, strlen(key)) == 0 && d->txtp[i][strlen(key)] == '=')
            return true;
    return false;
}

/* IS-04 (APIs/DNS-SD.md) TXT records with api_proto=https: the secure face. */
static void fill_txt(struct front_dnssd *d, bool registry)
{
    static const char *const defaults[] = {"api_ver=v1.0,v1.1,v1.2,v1.3", "api_auth=false",
                                           "pri=100"};
    d->txtp[0] = "api_proto=https";
    size_t n = 1;
    for (size_t i = 0; i < d->ntxt; i++)
        if (strncmp(d->txt[i], "api_proto=", 10) != 0)
            d->txtp[n++] = d->txt[i];
    d->ntxt = n;
    for (size_t i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%.*s", (int)strcspn(defaults[i], "="), defaults[i]);
        if ((registry || i < 2) && !has_txt(d, key))
            d->txtp[d->ntxt++] = defaults[i];
    }
}

static int start_dnssd(struct front_args *a, struct front_run *r)
{
    struct front_dnssd *d = &a->dns;
    if (d->domain[0] == '\0')
        return 0;
    if (d->ntypes == 0) {
        fprintf(stderr, "castgate front: dnssd_domain without dnssd_type\n");
        return -1;
    }
    if (d->instance[0] == '\0')
        snprintf(d->instance, sizeof(d->instance), "%.*s", (int)strcspn(a->public_host, "."),
                 a->public_host);
    const char *iface = d->iface;
    size_t nuser = d->ntxt;
    for (size_t i = 0; i < d->ntypes; i++) {
        d->ntxt = nuser;
        fill_txt(d, strcmp(d->types[i], "_nmos-node._tcp") != 0);
        struct cg_dnssd_opts o = {
            .server = d->server[0] ? d->server : NULL, .domain = d->domain,
            .instance = d->instance, .type = d->types[i], .host = a->public_host,
            .port = a->public_port ? a->public_port : cg_front_port(r->front, 0),
            .txt = d->txtp, .ntxt = d->ntxt, .tsig_key_file = d->tsig[0] ? d->tsig : NULL,
            .cert_file = a->first_cert[0] ? a->first_cert : NULL,
            .mdns_interfaces = iface[0] ? &iface : NULL, .nmdns_interfaces = iface[0] ? 1 : 0};
        enum cg_err rc = cg_dnssd_new(r->ctx, &o, NULL, NULL, &r->dns[i]);
        if (rc != CG_OK) {
            fprintf(stderr, "castgate front: DNS-SD %s: %s\n", d->types[i], cg_strerror(rc));
            return -1;
        }
    }
    return 0;
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct front_run *r = h->data;
    if (sig == SIGHUP) {
        enum cg_err rc = cg_server_reload_certs(cg_front_server(r->front), NULL, NULL, 0);
        fprintf(stderr, "castgate front: certificates %s\n",
                rc == CG_OK ? "reloaded" : cg_strerror(rc));
        return;
    }
    fprintf(stderr, "castgate front: signal %d, stopping\n", sig);
    cg_ctx_stop(r->ctx);
}

static void run_loop(struct front_run *r)
{
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(cg_ctx_loop(r->ctx), &r->sig[i]);
        r->sig[i].data = r;
        uv_signal_start(&r->sig[i], on_signal, sigs[i]);
    }
    cg_ctx_run(r->ctx);
    for (int i = 0; i < 3; i++)
        uv_close((uv_handle_t *)&r->sig[i], NULL);
}

int cmd_front(int argc, char **argv)
{
    struct front_args a = {.level = CG_LOG_INFO};
    struct front_run r = {0};
    const char *file = NULL;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[++i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (file == NULL) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (cg_server_config_new(&a.scfg) != CG_OK || cg_front_config_new(&a.fcfg) != CG_OK ||
        cg_ctx_new(&r.ctx) != CG_OK || read_config(&a, file) != 0)
        goto out;
    rc = 1;
    cg_ctx_set_log(r.ctx, cg_log_stderr, NULL, a.level);
    enum cg_err e = cg_front_new(r.ctx, a.fcfg, a.scfg, &r.front);
    if (e == CG_OK)
        e = cg_front_start(r.front);
    if (e != CG_OK) {
        fprintf(stderr, "castgate front: cannot start: %s\n", cg_strerror(e));
        goto out;
    }
    if (start_dnssd(&a, &r) != 0)
        goto out;
    printf("castgate front: listening on port %u\n", (unsigned)cg_front_port(r.front, 0));
    fflush(stdout);
    run_loop(&r);
    struct cg_front_stats st;
    cg_front_get_stats(r.front, &st);
    printf("{\"requests\":%llu,\"refused\":%llu,\"bad_gateway\":%llu,\"rewritten\":%llu,"
           "\"pool_reused\":%llu,\"tunnels\":%llu,\"setup\":{",
           (unsigned long long)st.requests, (unsigned long long)st.refused,
           (unsigned long long)st.bad_gateway, (unsigned long long)st.rewritten,
           (unsigned long long)st.pool_reused, (unsigned long long)st.tunnels);
    struct cg_wss_stats hs = {0}; /* set-up results by reason, as the engine counts them */
    cg_server_handshake_stats(cg_front_server(r.front), &hs);
    for (int i = 0; i < CG_WSS_RESULTS; i++)
        printf("%s\"%s\":%llu", i ? "," : "", cg_wss_result_name((enum cg_wss_result)i),
               (unsigned long long)hs.result[i]);
    printf("}}\n");
    rc = 0;
out:
    for (size_t i = 0; i < 3; i++)
        cg_dnssd_free(r.dns[i]); /* best-effort withdraw */
    cg_front_free(r.front);
    cg_server_config_free(a.scfg);
    cg_front_config_free(a.fcfg);
    cg_ctx_free(r.ctx);
    return rc;
}
