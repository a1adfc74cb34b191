/* castgate trust — the client side's trusted roots (BCP-003-01 B-14: install
 * AND remove) and pins for self-signed peers (MOS 4.0 M-06). The store is an
 * OpenSSL hashed directory: give it to castgate connect --ca-dir. */
#include "commands.h"

#include <castgate/castgate.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: castgate trust COMMAND --store DIR ...\n"
        "  add --store DIR CERT        trust the root CA certificate(s) in CERT (PEM)\n"
        "  remove --store DIR CERT|SHA256   stop trusting a root (by file or fingerprint)\n"
        "  list --store DIR            show the trusted roots\n"
        "  pin --store DIR PEER SHA256 trust a self-signed peer (host or host:port) by the\n"
        "                              SHA-256 of its certificate (castgate cert fingerprint)\n"
        "  pin-get --store DIR PEER    print the pin of PEER\n"
        "DIR is an OpenSSL hashed directory (HASH.N files): castgate connect --ca-dir DIR,\n"
        "openssl s_client -CApath DIR. Pins are in DIR/pins, one 'PEER SHA256' per line\n"
        "(LF or CRLF line ends); castgate connect --pin takes the value.\n");
}

static int run(struct cg_ctx *ctx, const char *sub, const char *store, int n, char **v)
{
    enum cg_err rc;
    if (strcmp(sub, "add") == 0 && n == 1) {
        rc = cg_trust_add(ctx, store, v[0]);
    } else if (strcmp(sub, "remove") == 0 && n == 1) {
        rc = cg_trust_remove(ctx, store, v[0]);
    } else if (strcmp(sub, "pin") == 0 && n == 2) {
        rc = cg_trust_pin(ctx, store, v[0], v[1]);
    } else if (strcmp(sub, "pin-get") == 0 && n == 1) {
        uint8_t pin[32];
        rc = cg_trust_pin_lookup(ctx, store, v[0], pin, NULL); /* logs a bad line's number */
        if (rc == CG_OK) {
            for (int i = 0; i < 32; i++)
                printf("%02x", pin[i]);
            printf("\n");
        }
    } else if (strcmp(sub, "list") == 0 && n == 0) {
        struct cg_cert_info info[64];
        size_t cnt = 0;
        rc = cg_trust_list(ctx, store, info, 64, &cnt);
        for (size_t i = 0; rc == CG_OK && i < cnt; i++)
            printf("%s\n  subject %s\n  sha256  %s\n  expires in %ld days\n", info[i].chain_file,
                   info[i].subject, info[i].sha256, info[i].days_left);
    } else {
        usage(stderr);
        return 2;
    }
    if (rc != CG_OK)
        fprintf(stderr, "castgate trust %s: %s\n", sub, cg_strerror(rc));
    return rc == CG_OK ? 0 : 1;
}

int cmd_trust(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *store = NULL;
    char *rest[4];
    int n = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            store = argv[++i];
        else if (strcmp(argv[i], "--help") == 0)
            return usage(stdout), 0;
        else if (n < 4)
            rest[n++] = argv[i];
        else
            return usage(stderr), 2;
    }
    if (store == NULL)
        return usage(stderr), 2;
    struct cg_ctx *ctx = NULL;
    if (cg_ctx_new(&ctx) != CG_OK)
        return 1;
    cg_ctx_set_log(ctx, cg_log_stderr, NULL, CG_LOG_INFO);
    int st = run(ctx, argv[1], store, n, rest);
    cg_ctx_free(ctx);
    return st;
}
