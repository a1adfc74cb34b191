/* castgate connect — a wss client: connects, sends messages, prints what
 * arrives as JSON lines. The engine's client face (BCP-003-01 B-30..B-32,
 * MOS 4.0 M-05/M-06), and a tool to probe a peer's endpoint. */
#include "commands.h"

#include <castgate/castgate.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct connect {
    struct cg_ctx *ctx;
    const char **sends;
    size_t nsends;
    bool text;
    long expect;
    long got;
    int status; /* exit status */
};

static void json_str(const uint8_t *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void on_open(void *user, struct cg_ws *ws)
{
    struct connect *k = user;
    printf("{\"event\":\"open\",\"peer\":\"%s\"}\n", cg_ws_peer(ws));
    for (size_t i = 0; i < k->nsends; i++)
        cg_ws_send(ws, !k->text, k->sends[i], strlen(k->sends[i]));
    if (k->expect <= 0)
        cg_ws_close(ws, 1000, "done");
    fflush(stdout);
}

static void on_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    struct connect *k = user;
    printf("{\"event\":\"message\",\"binary\":%s,\"bytes\":%zu,\"data\":", binary ? "true" : "false",
           n);
    json_str(d, n < 4096 ? n : 4096);
    printf("}\n");
    fflush(stdout);
    if (++k->got >= k->expect)
        cg_ws_close(ws, 1000, "done");
}

static void on_close(void *user, struct cg_ws *ws, uint16_t code)
{
    struct connect *k = user;
    enum cg_err e = cg_ws_error(ws);
    printf("{\"event\":\"close\",\"code\":%u,\"error\":\"%s\",\"reason\":\"%s\",\"http_status\":%d}\n",
           (unsigned)code, cg_errname(e), cg_strerror(e), cg_ws_http_status(ws));
    fflush(stdout);
    k->status = code == 1000 && k->got >= k->expect ? 0 : 1;
    cg_ctx_stop(k->ctx);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: castgate connect wss://HOST[:PORT]/PATH[?QUERY] [options]\n"
               "  --ca FILE             trusted root(s), PEM (default: the system store)\n"
               "  --ca-dir DIR          trusted roots, OpenSSL hashed directory\n"
               "  --pin SHA256          accept the peer whose leaf certificate has this SHA-256\n"
               "  --cert-name NAME      the name the peer's certificate must carry (default: HOST)\n"
               "  --self-signed         accept a self-signed peer certificate (M-06)\n"
               "  --require-staple      refuse a peer without a good OCSP staple (B-12)\n"
               "  --insecure            go on after a failed certificate check (B-31; lab only)\n"
               "  --user NAME --password-file FILE   HTTP Basic credentials (M-05)\n"
               "  --send TEXT           send TEXT once open (repeatable; binary frames)\n"
               "  --text                send text frames instead\n"
               "  --expect N            wait for N messages, then close (default 0)\n"
               "  --timeout-ms N        connection set-up limit (default 10000)\n"
               "Prints one JSON line per event; exits 0 after a clean close with N messages.\n");
}

static const struct option opts[] = {
    {"ca", 1, 0, 'c'},          {"ca-dir", 1, 0, 'd'},  {"pin", 1, 0, 'p'},
    {"self-signed", 0, 0, 's'}, {"require-staple", 0, 0, 'r'}, {"insecure", 0, 0, 'i'},
    {"user", 1, 0, 'u'},        {"password-file", 1, 0, 'P'}, {"send", 1, 0, 'S'},
    {"text", 0, 0, 't'},        {"expect", 1, 0, 'e'},  {"timeout-ms", 1, 0, 'T'},
    {"cert-name", 1, 0, 'N'},   {"help", 0, 0, 'h'},    {0, 0, 0, 0}};

static char *read_secret(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char buf[1024];
    char *s = fgets(buf, sizeof(buf), f) != NULL ? buf : NULL;
    fclose(f);
    if (s == NULL)
        return NULL;
    s[strcspn(s, "\r\n")] = '\0';
    return strdup(s);
}

struct conn_args {
    const char *ca, *ca_dir, *user, *pwfile;
};

static int apply(struct cg_ws_client_config *cfg, struct connect *k, struct conn_args *a, int o)
{
    enum cg_err rc = CG_OK;
    switch (o) {
    case 'c': a->ca = optarg; break;
    case 'd': a->ca_dir = optarg; break;
    case 'p': rc = cg_ws_client_config_set_pin(cfg, optarg); break;
    case 's': rc = cg_ws_client_config_set_self_signed(cfg, true); break;
    case 'N': rc = cg_ws_client_config_set_cert_name(cfg, optarg); break;
    case 'r': rc = cg_ws_client_config_set_require_staple(cfg, true); break;
    case 'i': rc = cg_ws_client_config_set_insecure(cfg, true); break;
    case 'u': a->user = optarg; break;
    case 'P': a->pwfile = optarg; break;
    case 'S': k->sends[k->nsends++] = optarg; break;
    case 't': k->text = true; break;
    case 'e': k->expect = strtol(optarg, NULL, 10); break;
    case 'T': rc = cg_ws_client_config_set_limit(cfg, CG_LIMIT_HANDSHAKE_MS, strtoull(optarg, NULL, 10)); break;
    case 'h': usage(stdout); return 1;
    default: usage(stderr); return -1;
    }
    if (rc != CG_OK)
        fprintf(stderr, "castgate connect: bad value '%s': %s\n", optarg, cg_strerror(rc));
    return rc == CG_OK ? 0 : -1;
}

static int finish_config(struct cg_ws_client_config *cfg, const struct conn_args *a)
{
    if ((a->ca != NULL || a->ca_dir != NULL) &&
        cg_ws_client_config_set_trust(cfg, a->ca, a->ca_dir) != CG_OK)
        return -1;
    if (a->user == NULL)
        return 0;
    char *pw = a->pwfile != NULL ? read_secret(a->pwfile) : NULL;
    if (pw == NULL) {
        fprintf(stderr, "castgate connect: --user needs a readable --password-file\n");
        return -1;
    }
    enum cg_err rc = cg_ws_client_config_set_basic_auth(cfg, a->user, pw);
    memset(pw, 0, strlen(pw));
    free(pw);
    return rc == CG_OK ? 0 : -1;
}

int cmd_connect(int argc, char **argv)
{
    struct connect k = {.status = 2};
    struct cg_ws_client_config *cfg = NULL;
    struct cg_ws_client *cli = NULL;
    struct conn_args a = {0};
    struct cg_ws *ws = NULL;
    int o;
    k.sends = calloc((size_t)argc, sizeof(char *));
    if (k.sends == NULL || cg_ctx_new(&k.ctx) != CG_OK || cg_ws_client_config_new(&cfg) != CG_OK)
        goto out;
    cg_ctx_set_log(k.ctx, cg_log_stderr, NULL, CG_LOG_INFO);
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int r = apply(cfg, &k, &a, o);
        if (r != 0) {
            k.status = r > 0 ? 0 : 2;
            goto out;
        }
    }
    if (optind != argc - 1 || finish_config(cfg, &a) != 0) {
        usage(stderr);
        goto out;
    }
    struct cg_ws_handlers h = {.on_open = on_open, .on_message = on_message, .on_close = on_close};
    enum cg_err rc = cg_ws_client_new(k.ctx, cfg, &cli);
    if (rc == CG_OK)
        rc = cg_ws_connect(cli, argv[optind], &h, &k, &ws);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate connect: %s\n", cg_strerror(rc));
        goto out;
    }
    cg_ctx_run(k.ctx);
out:
    cg_ws_client_free(cli);
    cg_ws_client_config_free(cfg);
    cg_ctx_free(k.ctx);
    free(k.sends);
    return k.status;
}
