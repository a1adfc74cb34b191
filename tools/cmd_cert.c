/* castgate cert — a certificate authority, leaves, revocation, an OCSP
 * responder and the server certificate store (BCP-003-01 B-10..B-13). A thin
 * command-line face over castgate/cert.h: every check and message comes from
 * the library's log. */
#include "commands.h"

#include <castgate/castgate.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define MAX_HOSTS 32

static void usage(FILE *f)
{
    fprintf(f,
        "usage: castgate cert COMMAND [options]\n"
        "\n"
        "  ca init --dir DIR [--name NAME] [--key ecdsa|rsa] [--passphrase-file F]\n"
        "          [--ocsp-url URL] [--crl-url URL]\n"
        "      create a root CA and an issuing intermediate in DIR (keys 0600, PKCS#8,\n"
        "      encrypted when a passphrase is given; ECDSA P-256 or RSA-3072). The OCSP\n"
        "      and CRL URLs (default http://127.0.0.1:8888/ and .../crl.pem) go into\n"
        "      every certificate issued (B-12).\n"
        "  issue --ca DIR --host NAME [--host NAME...] --type rsa|ecdsa|both --out DIR\n"
        "          [--days N] [--allow-wildcard] [--allow-ip] [--passphrase-file F]\n"
        "          [--not-before-days N]\n"
        "      issue server certificates: CN is the first name, subjectAltName holds\n"
        "      every name. Wildcards and IP addresses are refused unless allowed (B-11).\n"
        "      Writes server-TYPE.pem, server-TYPE.chain.pem (leaf + intermediate)\n"
        "      and server-TYPE.key (0600). --not-before-days back- or post-dates (tests).\n"
        "  revoke --ca DIR [--reason N] SERIAL|CERTFILE   mark a certificate revoked\n"
        "  crl --ca DIR [--out FILE] [--days N]           write a signed CRL (B-12)\n"
        "  ocsp --ca DIR [--listen ADDR:PORT] [--validity S] [--signer CERT --signer-key KEY]\n"
        "      run an OCSP responder (RFC 6960, HTTP POST and GET) for the CA; it\n"
        "      re-reads the database when it changes, serves the CRL at /crl.pem.\n"
        "      Default 127.0.0.1:8888. Answers\n"
        "      are signed by the intermediate, or by a delegated signer:\n"
        "  ocsp-signer --ca DIR --out DIR [--days N]\n"
        "      issue a delegated OCSP signing certificate (ocsp-signer.pem/.key)\n"
        "  install --store DIR | --config FILE  CERT KEY [CHAIN] [--ca ROOTS]\n"
        "          [--host NAME] [--passphrase-file F]\n"
        "      check and install a certificate for castgate serve --cert-store DIR:\n"
        "      key matches, chain verifies to ROOTS (or the system store), dates, host\n"
        "      in the SAN, key file 0600. One RSA and one ECDSA certificate per store\n"
        "      (B-13); installing replaces the one of the same type, atomically.\n"
        "  list --store DIR | --config FILE   show what a store holds\n"
        "  fingerprint CERTFILE   SHA-256 of a certificate (for castgate trust pin)\n"
        "\n"
        "--config FILE reads the store directory from a 'cert_store = DIR' line.\n"
        "Passphrases are read from the first line of a file, never from the command\n"
        "line. Messages name the file and the problem; exit status 0 ok, 1 failed, 2 usage.\n");
}

enum { O_DIR = 256, O_NAME, O_KEY, O_PASS, O_OCSP, O_CRL, O_CA, O_HOST, O_TYPE, O_OUT, O_DAYS,
       O_WILD, O_IP, O_NBD, O_REASON, O_LISTEN, O_VALID, O_STORE, O_CONFIG, O_ROOTS, O_HELP,
       O_QUIET, O_SIGNER, O_SIGNER_KEY };

static const struct option opts[] = {
    {"dir", 1, 0, O_DIR},         {"name", 1, 0, O_NAME},        {"key", 1, 0, O_KEY},
    {"passphrase-file", 1, 0, O_PASS}, {"ocsp-url", 1, 0, O_OCSP}, {"crl-url", 1, 0, O_CRL},
    {"ca", 1, 0, O_CA},           {"host", 1, 0, O_HOST},        {"type", 1, 0, O_TYPE},
    {"out", 1, 0, O_OUT},         {"days", 1, 0, O_DAYS},        {"allow-wildcard", 0, 0, O_WILD},
    {"allow-ip", 0, 0, O_IP},     {"not-before-days", 1, 0, O_NBD}, {"reason", 1, 0, O_REASON},
    {"listen", 1, 0, O_LISTEN},   {"validity", 1, 0, O_VALID},   {"store", 1, 0, O_STORE},
    {"config", 1, 0, O_CONFIG},   {"help", 0, 0, O_HELP},        {"quiet", 0, 0, O_QUIET},
    {"signer", 1, 0, O_SIGNER},   {"signer-key", 1, 0, O_SIGNER_KEY},
    {0, 0, 0, 0}};

struct args {
    const char *dir, *name, *key, *passfile, *ocsp, *crl, *ca, *type, *out, *listen, *store,
        *config, *signer, *signer_key;
    const char *hosts[MAX_HOSTS];
    size_t nhosts;
    unsigned days, validity;
    long nbd;
    int reason;
    bool wild, ip, quiet;
    char passphrase[1024];
    bool have_pass;
    char store_buf[1024];
};

static int read_first_line(const char *path, char *out, size_t outsz)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char *s = fgets(out, (int)outsz, f);
    fclose(f);
    if (s == NULL)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int parse(struct args *a, int argc, char **argv)
{
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_DIR: a->dir = optarg; break;
        case O_NAME: a->name = optarg; break;
        case O_KEY: a->key = optarg; break;
        case O_PASS: a->passfile = optarg; break;
        case O_OCSP: a->ocsp = optarg; break;
        case O_CRL: a->crl = optarg; break;
        case O_CA: a->ca = optarg; break;
        case O_HOST:
            if (a->nhosts == MAX_HOSTS)
                return fprintf(stderr, "castgate cert: at most %d --host\n", MAX_HOSTS), 2;
            a->hosts[a->nhosts++] = optarg;
            break;
        case O_TYPE: a->type = optarg; break;
        case O_OUT: a->out = optarg; break;
        case O_DAYS: a->days = (unsigned)strtoul(optarg, NULL, 10); break;
        case O_WILD: a->wild = true; break;
        case O_IP: a->ip = true; break;
        case O_NBD: a->nbd = strtol(optarg, NULL, 10); break;
        case O_REASON: a->reason = atoi(optarg); break;
        case O_LISTEN: a->listen = optarg; break;
        case O_VALID: a->validity = (unsigned)strtoul(optarg, NULL, 10); break;
        case O_STORE: a->store = optarg; break;
        case O_CONFIG: a->config = optarg; break;
        case O_QUIET: a->quiet = true; break;
        case O_SIGNER: a->signer = optarg; break;
        case O_SIGNER_KEY: a->signer_key = optarg; break;
        case O_HELP: usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (a->passfile != NULL) {
        if (read_first_line(a->passfile, a->passphrase, sizeof(a->passphrase)) != 0)
            return fprintf(stderr, "castgate cert: cannot read %s\n", a->passfile), 2;
        a->have_pass = true;
    }
    return 0;
}

static const char *pass(const struct args *a) { return a->have_pass ? a->passphrase : NULL; }

static int fail(const char *what, enum cg_err rc)
{
    fprintf(stderr, "castgate cert %s: %s\n", what, cg_strerror(rc));
    return 1;
}

static int run_ca(struct cg_ctx *ctx, struct args *a, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "init") != 0 || a->dir == NULL)
        return fprintf(stderr, "usage: castgate cert ca init --dir DIR [options]\n"), 2;
    struct cg_ca_init_opts o = {.name = a->name, .passphrase = pass(a), .ocsp_url = a->ocsp,
                                .crl_url = a->crl, .root_days = a->days};
    if (a->key != NULL && strcmp(a->key, "rsa") == 0)
        o.key = CG_KEY_RSA;
    else if (a->key != NULL && strcmp(a->key, "ecdsa") != 0)
        return fprintf(stderr, "castgate cert ca init: --key ecdsa|rsa\n"), 2;
    enum cg_err rc = cg_ca_init(ctx, a->dir, &o);
    if (rc != CG_OK)
        return fail("ca init", rc);
    printf("CA created in %s: root.pem (distribute to clients: castgate trust add), "
           "ca-chain.pem, index.txt\n", a->dir);
    return 0;
}

static int issue_one(struct cg_ca *ca, struct args *a, enum cg_key_type t)
{
    struct cg_issue_opts o = {.hosts = a->hosts, .nhosts = a->nhosts, .type = t, .days = a->days,
                              .not_before_offset_days = a->nbd, .allow_wildcard = a->wild,
                              .allow_ip = a->ip};
    char serial[64] = "";
    enum cg_err rc = cg_ca_issue(ca, &o, a->out, serial, sizeof(serial));
    if (rc != CG_OK)
        return fail("issue", rc);
    const char *p = t == CG_KEY_RSA ? "server-rsa" : "server-ecdsa";
    printf("%s/%s.pem serial %s (chain %s/%s.chain.pem, key %s/%s.key)\n", a->out, p, serial,
           a->out, p, a->out, p);
    return 0;
}

static int run_issue(struct cg_ctx *ctx, struct args *a)
{
    if (a->ca == NULL || a->out == NULL || a->nhosts == 0 || a->type == NULL)
        return fprintf(stderr, "usage: castgate cert issue --ca DIR --host NAME --type "
                               "rsa|ecdsa|both --out DIR\n"), 2;
    bool rsa = strcmp(a->type, "rsa") == 0 || strcmp(a->type, "both") == 0;
    bool ec = strcmp(a->type, "ecdsa") == 0 || strcmp(a->type, "both") == 0;
    if (!rsa && !ec)
        return fprintf(stderr, "castgate cert issue: --type rsa|ecdsa|both\n"), 2;
    /* Names first, before a passphrase is even needed. */
    for (size_t i = 0; i < a->nhosts; i++) {
        const char *why = NULL;
        if (cg_cert_check_host(a->hosts[i], a->wild, a->ip, &why) != CG_OK) {
            fprintf(stderr, "castgate cert issue: refusing host '%s': %s\n", a->hosts[i], why);
            return 1;
        }
    }
    struct cg_ca *ca = NULL;
    enum cg_err rc = cg_ca_open(ctx, a->ca, pass(a), &ca);
    if (rc != CG_OK)
        return fail("issue", rc);
    int st = 0;
    if (ec)
        st = issue_one(ca, a, CG_KEY_ECDSA);
    if (st == 0 && rsa)
        st = issue_one(ca, a, CG_KEY_RSA);
    cg_ca_free(ca);
    return st;
}

static int run_revoke(struct cg_ctx *ctx, struct args *a, int argc, char **argv)
{
    if (a->ca == NULL || argc != 1)
        return fprintf(stderr, "usage: castgate cert revoke --ca DIR SERIAL|CERTFILE\n"), 2;
    struct cg_ca *ca = NULL;
    enum cg_err rc = cg_ca_open(ctx, a->ca, pass(a), &ca);
    if (rc != CG_OK)
        return fail("revoke", rc);
    FILE *f = fopen(argv[0], "r");
    if (f != NULL) {
        fclose(f);
        rc = cg_ca_revoke_file(ca, argv[0], a->reason);
    } else {
        rc = cg_ca_revoke(ca, argv[0], a->reason);
    }
    cg_ca_free(ca);
    if (rc != CG_OK)
        return fail("revoke", rc);
    printf("revoked %s; publish a new CRL with castgate cert crl\n", argv[0]);
    return 0;
}

static int run_signer(struct cg_ctx *ctx, struct args *a)
{
    if (a->ca == NULL || a->out == NULL)
        return fprintf(stderr, "usage: castgate cert ocsp-signer --ca DIR --out DIR\n"), 2;
    struct cg_ca *ca = NULL;
    enum cg_err rc = cg_ca_open(ctx, a->ca, pass(a), &ca);
    if (rc == CG_OK)
        rc = cg_ca_issue_ocsp_signer(ca, a->out, a->days);
    cg_ca_free(ca);
    if (rc != CG_OK)
        return fail("ocsp-signer", rc);
    printf("%s/ocsp-signer.pem, %s/ocsp-signer.key: castgate cert ocsp --signer ... "
           "--signer-key ...\n", a->out, a->out);
    return 0;
}

static int run_crl(struct cg_ctx *ctx, struct args *a)
{
    if (a->ca == NULL)
        return fprintf(stderr, "usage: castgate cert crl --ca DIR [--out FILE]\n"), 2;
    struct cg_ca *ca = NULL;
    enum cg_err rc = cg_ca_open(ctx, a->ca, pass(a), &ca);
    if (rc == CG_OK)
        rc = cg_ca_write_crl(ca, a->out, a->days);
    cg_ca_free(ca);
    return rc == CG_OK ? 0 : fail("crl", rc);
}

static void on_stop(uv_signal_t *h, int sig)
{
    (void)sig;
    cg_ctx_stop(h->data);
}

static int split_listen(const char *arg, char *host, size_t hsz, uint16_t *port)
{
    const char *colon = strrchr(arg, ':');
    if (colon == NULL || (size_t)(colon - arg) >= hsz)
        return -1;
    snprintf(host, hsz, "%.*s", (int)(colon - arg), arg);
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    return 0;
}

static int run_ocsp(struct cg_ctx *ctx, struct args *a)
{
    char host[64] = "127.0.0.1";
    uint16_t port = 8888;
    if (a->ca == NULL || (a->listen != NULL && split_listen(a->listen, host, sizeof(host), &port)))
        return fprintf(stderr, "usage: castgate cert ocsp --ca DIR --listen ADDR:PORT\n"), 2;
    struct cg_ocsp_responder_opts o = {.ca_dir = a->ca, .passphrase = pass(a), .addr = host,
                                       .port = port, .validity_s = a->validity,
                                       .signer_cert = a->signer, .signer_key = a->signer_key};
    struct cg_ocsp_responder *r = NULL;
    enum cg_err rc = cg_ocsp_responder_new(ctx, &o, &r);
    if (rc != CG_OK)
        return fail("ocsp", rc);
    printf("castgate cert ocsp: listening on %s port %u\n", host,
           (unsigned)cg_ocsp_responder_port(r));
    fflush(stdout);
    uv_signal_t si, st;
    uv_signal_init(cg_ctx_loop(ctx), &si);
    uv_signal_init(cg_ctx_loop(ctx), &st);
    si.data = st.data = ctx;
    uv_signal_start(&si, on_stop, SIGINT);
    uv_signal_start(&st, on_stop, SIGTERM);
    cg_ctx_run(ctx);
    uv_close((uv_handle_t *)&si, NULL);
    uv_close((uv_handle_t *)&st, NULL);
    cg_ocsp_responder_free(r);
    uv_run(cg_ctx_loop(ctx), UV_RUN_DEFAULT); /* the handles above live in this frame */
    return 0;
}

/* --config FILE: the store is the value of a "cert_store = DIR" line. */
static const char *store_of(struct args *a)
{
    if (a->store != NULL || a->config == NULL)
        return a->store;
    FILE *f = fopen(a->config, "r");
    char line[1100];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (strncmp(p, "cert_store", 10) != 0)
            continue;
        p += 10;
        p += strspn(p, " \t");
        if (*p++ != '=')
            continue;
        p += strspn(p, " \t");
        snprintf(a->store_buf, sizeof(a->store_buf), "%s", p);
        a->store = a->store_buf;
    }
    if (f != NULL)
        fclose(f);
    if (a->store == NULL)
        fprintf(stderr, "castgate cert: %s has no 'cert_store = DIR' line\n", a->config);
    return a->store;
}

static int run_install(struct cg_ctx *ctx, struct args *a, int argc, char **argv)
{
    const char *store = store_of(a);
    if (store == NULL || argc < 2 || argc > 3)
        return fprintf(stderr, "usage: castgate cert install --store DIR CERT KEY [CHAIN]\n"), 2;
    struct cg_cert_install_opts o = {.store_dir = store, .cert_file = argv[0], .key_file = argv[1],
                                     .chain_file = argc == 3 ? argv[2] : NULL, .ca_file = a->ca,
                                     .host = a->nhosts ? a->hosts[0] : NULL,
                                     .passphrase = pass(a)};
    enum cg_err rc = cg_cert_store_install(ctx, &o);
    if (rc != CG_OK)
        return fail("install", rc);
    printf("installed %s into %s\n", argv[0], store);
    return 0;
}

static int run_list(struct cg_ctx *ctx, struct args *a)
{
    const char *store = store_of(a);
    if (store == NULL)
        return fprintf(stderr, "usage: castgate cert list --store DIR\n"), 2;
    struct cg_cert_info info[4];
    size_t n = 0;
    enum cg_err rc = cg_cert_store_list(ctx, store, info, 4, &n);
    if (rc != CG_OK)
        return fail("list", rc);
    for (size_t i = 0; i < n; i++) {
        char when[32];
        time_t t = (time_t)info[i].not_after;
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", gmtime_r(&t, &tm));
        printf("%s\n  subject %s\n  names   %s\n  key     %s (%s)\n  serial  %s\n"
               "  expires %s (%ld days)\n  sha256  %s\n",
               info[i].chain_file, info[i].subject, info[i].sans, info[i].key_desc,
               info[i].key_file, info[i].serial, when, info[i].days_left, info[i].sha256);
    }
    return 0;
}

int cmd_cert(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        usage(stdout);
        return 0;
    }
    struct args a = {0};
    int st = parse(&a, argc - 1, argv + 1);
    if (st != 0)
        return st == 1 ? 0 : st;
    int rest = argc - 1 - optind;
    char **rv = argv + 1 + optind;
    struct cg_ctx *ctx = NULL;
    if (cg_ctx_new(&ctx) != CG_OK)
        return 1;
    cg_ctx_set_log(ctx, cg_log_stderr, NULL, a.quiet ? CG_LOG_WARN : CG_LOG_INFO);
    if (strcmp(sub, "ca") == 0)
        st = run_ca(ctx, &a, rest, rv);
    else if (strcmp(sub, "issue") == 0)
        st = run_issue(ctx, &a);
    else if (strcmp(sub, "revoke") == 0)
        st = run_revoke(ctx, &a, rest, rv);
    else if (strcmp(sub, "crl") == 0)
        st = run_crl(ctx, &a);
    else if (strcmp(sub, "ocsp") == 0)
        st = run_ocsp(ctx, &a);
    else if (strcmp(sub, "ocsp-signer") == 0)
        st = run_signer(ctx, &a);
    else if (strcmp(sub, "install") == 0)
        st = run_install(ctx, &a, rest, rv);
    else if (strcmp(sub, "list") == 0)
        st = run_list(ctx, &a);
    else if (strcmp(sub, "fingerprint") == 0 && rest == 1) {
        char fp[100];
        enum cg_err rc = cg_cert_fingerprint(rv[0], fp, sizeof(fp));
        st = rc == CG_OK ? (printf("%s\n", fp), 0) : fail("fingerprint", rc);
    } else {
        fprintf(stderr, "castgate cert: unknown command '%s'\n", sub);
        usage(stderr);
        st = 2;
    }
    volatile char *vp = a.passphrase; /* not optimised away like a memset */
    for (size_t i = 0; i < sizeof(a.passphrase); i++)
        vp[i] = 0;
    cg_ctx_free(ctx);
    return st;
}
