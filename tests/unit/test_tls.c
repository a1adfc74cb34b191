/* Unit tests for src/tls: the BCP-003-01 profile, real handshakes in memory
 * (two SSL objects joined by a BIO pair), the negative certificate matrix,
 * OCSP stapling (files made by `openssl ocsp`, and a live `openssl ocsp`
 * responder), session tickets, and failure injection.
 *
 * The PKI comes from scripts/dev-pki.sh, run once into a temp dir. */
// CG_WRAP: SSL_CTX_new SSL_CTX_set_ciphersuites PEM_read_bio_PrivateKey
#include "testutil.h"
#include "tls/tls_int.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- failure injection ---- */
static int fail_ctx_new, fail_ciphersuites, fail_pem_key;
SSL_CTX *__real_SSL_CTX_new(const SSL_METHOD *m);
SSL_CTX *__wrap_SSL_CTX_new(const SSL_METHOD *m);
SSL_CTX *__wrap_SSL_CTX_new(const SSL_METHOD *m)
{
    return fail_ctx_new ? NULL : __real_SSL_CTX_new(m);
}
int __real_SSL_CTX_set_ciphersuites(SSL_CTX *c, const char *s);
int __wrap_SSL_CTX_set_ciphersuites(SSL_CTX *c, const char *s);
int __wrap_SSL_CTX_set_ciphersuites(SSL_CTX *c, const char *s)
{
    return fail_ciphersuites ? 0 : __real_SSL_CTX_set_ciphersuites(c, s);
}
EVP_PKEY *__real_PEM_read_bio_PrivateKey(BIO *b, EVP_PKEY **x, pem_password_cb *cb, void *u);
EVP_PKEY *__wrap_PEM_read_bio_PrivateKey(BIO *b, EVP_PKEY **x, pem_password_cb *cb, void *u);
EVP_PKEY *__wrap_PEM_read_bio_PrivateKey(BIO *b, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
    return fail_pem_key ? NULL : __real_PEM_read_bio_PrivateKey(b, x, cb, u);
}

/* ---- fixture ---- */
static char g_dir[256];
static int g_port;
static struct cg_ctx *g_ctx;
static struct tu_log g_log;
static pid_t g_responder; /* a live `openssl ocsp`, killed by teardown too */

static const char *pki(const char *name)
{
    static char buf[32][512];
    static int slot;
    char *out = buf[slot++ & 31];
    snprintf(out, sizeof(buf[0]), "%s/%s", g_dir, name);
    return out;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/cg-test-tls-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    g_port = tu_free_port();
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "bash '%s' --dir '%s' --ocsp-port %d >/dev/null",
             tu_src_path("scripts/dev-pki.sh"), g_dir, g_port);
    if (system(cmd) != 0)
        return -1;
    /* Staples made offline by `openssl ocsp` from the CA's index (B-12). */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && for c in server-rsa revoked-rsa; do "
             "openssl ocsp -issuer intermediate.pem -cert $c.pem -no_nonce -reqout $c.req "
             ">/dev/null 2>&1 && openssl ocsp -index index.txt -CA intermediate.pem "
             "-rsigner ocsp-signer.pem -rkey ocsp-signer.key -reqin $c.req -respout $c.ocsp "
             "-ndays 1 >/dev/null 2>&1 || exit 1; done && "
             "openssl ocsp -index index.txt -CA intermediate.pem -rsigner untrusted-leaf.pem "
             "-rkey untrusted-leaf.key -reqin server-rsa.req -respout badsig.ocsp -ndays 1 "
             ">/dev/null 2>&1 && "
             "s=$(openssl x509 -noout -serial -in server-rsa.pem | cut -d= -f2) && "
             "grep -v \"\t$s\t\" index.txt > unknown-index.txt && "
             "cp index.txt.attr unknown-index.txt.attr && "
             "openssl ocsp -index unknown-index.txt -CA intermediate.pem -rsigner ocsp-signer.pem "
             "-rkey ocsp-signer.key -reqin server-rsa.req -respout unknown.ocsp -ndays 1 "
             ">/dev/null 2>&1",
             g_dir);
    if (system(cmd) != 0)
        return -1;
    return cg_ctx_new(&g_ctx) == CG_OK ? 0 : -1;
}

static int stop_responder(void **state);
static int group_teardown(void **state)
{
    stop_responder(state);
    cg_ctx_free(g_ctx);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int test_setup(void **state)
{
    (void)state;
    memset(&g_log, 0, sizeof(g_log));
    if (getenv("CG_TEST_VERBOSE") != NULL) /* see what the module logs */
        cg_ctx_set_log(g_ctx, cg_log_stderr, NULL, CG_LOG_DEBUG);
    else
        cg_ctx_set_log(g_ctx, tu_log_fn, &g_log, CG_LOG_DEBUG);
    fail_ctx_new = fail_ciphersuites = fail_pem_key = 0;
    ERR_clear_error();
    return 0;
}

static struct cg_tls_server *server_opts(struct cg_tls_server_opts *o, const char *a, const char *b)
{
    static struct cg_tls_cert_paths paths[2];
    const char *names[2] = {a, b};
    char chain[128], key[128];
    o->certs = paths;
    o->ncerts = 0;
    for (int i = 0; i < 2 && names[i] != NULL; i++) {
        snprintf(chain, sizeof(chain), "%s.chain.pem", names[i]);
        snprintf(key, sizeof(key), "%s.key", names[i]);
        static char keep[2][2][512];
        snprintf(keep[i][0], sizeof(keep[i][0]), "%s", pki(chain));
        snprintf(keep[i][1], sizeof(keep[i][1]), "%s", pki(key));
        paths[i].chain_file = keep[i][0];
        paths[i].key_file = keep[i][1];
        o->ncerts++;
    }
    struct cg_tls_server *srv = NULL;
    assert_int_equal(cg__tls_server_new(g_ctx, o, &srv), CG_OK);
    return srv;
}

/* A server with leaves a (and b), no automatic stapling. */
static struct cg_tls_server *server2(const char *a, const char *b)
{
    struct cg_tls_server_opts o = {0};
    return server_opts(&o, a, b);
}

static struct cg_tls_client *client_with(struct cg_tls_client_opts *o)
{
    struct cg_tls_client *cli = NULL;
    if (o->ca_file == NULL)
        o->ca_file = pki("root-ca.pem");
    assert_int_equal(cg__tls_client_new(g_ctx, o, &cli), CG_OK);
    return cli;
}

static struct cg_tls_client *client(void)
{
    struct cg_tls_client_opts o = {0};
    return client_with(&o);
}

/* Runs both sides until done or stuck. true: both completed. */
static bool handshake(SSL *c, SSL *s)
{
    BIO *cb = NULL, *sb = NULL;
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    bool cdone = false, sdone = false, failed = false;
    for (int i = 0; i < 100 && !(cdone && sdone) && !failed; i++) {
        int rc = cdone ? 1 : SSL_do_handshake(c);
        cdone = rc == 1;
        if (rc <= 0 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
            failed = true;
        int rs = sdone ? 1 : SSL_do_handshake(s);
        sdone = rs == 1;
        if (rs <= 0 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ)
            failed = true;
    }
    ERR_clear_error();
    return cdone && sdone;
}

struct conn {
    SSL *c, *s;
    bool ok;
    enum cg_err check;
};

/* A castgate client (prepared for host) against a castgate server. */
static struct conn connect_to(struct cg_tls_client *cli, struct cg_tls_server *srv,
                              const char *host, void (*tweak)(SSL *c))
{
    struct conn k = {0};
    k.c = SSL_new(cg__tls_client_ssl_ctx(cli));
    k.s = SSL_new(cg__tls_server_ssl_ctx(srv));
    assert_non_null(k.c);
    assert_non_null(k.s);
    assert_int_equal(cg__tls_client_prepare(cli, k.c, host), CG_OK);
    if (tweak != NULL)
        tweak(k.c);
    k.ok = handshake(k.c, k.s);
    k.check = cg__tls_client_check(cli, k.c, host);
    return k;
}

static void conn_free(struct conn *k)
{
    SSL_free(k->c);
    SSL_free(k->s);
}

static int peer_key_type(SSL *c)
{
    return EVP_PKEY_get_base_id(X509_get0_pubkey(SSL_get0_peer_certificate(c)));
}

/* ---- profile ---- */

static void test_profile_suites_and_options(void **state)
{
    (void)state;
    struct cg_tls_server *srv = server2("server-rsa", "server-ecdsa");
    SSL_CTX *c = cg__tls_server_ssl_ctx(srv);
    /* B-03 then B-04, exactly, in server order. */
    static const char *const want[] = {
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384", "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384", "DHE-RSA-AES128-SHA256",
        "DHE-RSA-AES256-SHA256"};
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(c);
    assert_int_equal(sk_SSL_CIPHER_num(sk), CG_ARRAY_LEN(want));
    for (size_t i = 0; i < CG_ARRAY_LEN(want); i++)
        assert_string_equal(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, (int)i)), want[i]);
    /* B-01/B-02, B-05, B-06. */
    assert_int_equal(SSL_CTX_get_min_proto_version(c), TLS1_2_VERSION);
    uint64_t op = SSL_CTX_get_options(c);
    assert_true(op & SSL_OP_NO_SSLv3);
    assert_true(op & SSL_OP_NO_TLSv1);
    assert_true(op & SSL_OP_NO_TLSv1_1);
    assert_true(op & SSL_OP_CIPHER_SERVER_PREFERENCE);
    assert_true(op & SSL_OP_NO_COMPRESSION);
    assert_true(op & SSL_OP_NO_TICKET);
    assert_int_equal(SSL_CTX_get_num_tickets(c), 0);
    /* B-13: each loaded certificate is logged with subject, key type, notAfter. */
    assert_true(tu_log_has(&g_log, "key RSA-2048"));
    assert_true(tu_log_has(&g_log, "key ECDSA prime256v1"));
    assert_true(tu_log_has(&g_log, "notAfter"));
    cg__tls_server_free(srv);
}

static SSL_CTX *plain_client_ctx(int minv, int maxv)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    assert_non_null(c);
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_min_proto_version(c, minv);
    SSL_CTX_set_max_proto_version(c, maxv);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    return c;
}

/* A plain OpenSSL client against the castgate server. Returns the cipher name
 * negotiated, or NULL when the handshake failed. */
static const char *plain_handshake(SSL_CTX *cc, struct cg_tls_server *srv, SSL **out_c)
{
    SSL *c = SSL_new(cc), *s = SSL_new(cg__tls_server_ssl_ctx(srv));
    bool ok = handshake(c, s);
    const char *name = ok ? SSL_CIPHER_get_name(SSL_get_current_cipher(c)) : NULL;
    SSL_free(s);
    if (out_c != NULL)
        *out_c = c;
    else
        SSL_free(c);
    return name;
}

static void test_old_protocols_refused(void **state)
{
    (void)state; /* BCP B-02 */
    struct cg_tls_server *srv = server2("server-rsa", "server-ecdsa");
    static const int vers[] = {TLS1_VERSION, TLS1_1_VERSION};
    for (size_t i = 0; i < CG_ARRAY_LEN(vers); i++) {
        SSL_CTX *cc = plain_client_ctx(vers[i], vers[i]);
        SSL_CTX_set_cipher_list(cc, "ALL:@SECLEVEL=0");
        assert_null(plain_handshake(cc, srv, NULL));
        SSL_CTX_free(cc);
    }
    /* And TLS 1.2 still works with the same client setup. */
    SSL_CTX *cc = plain_client_ctx(TLS1_VERSION, TLS1_2_VERSION);
    assert_non_null(plain_handshake(cc, srv, NULL));
    SSL_CTX_free(cc);
    cg__tls_server_free(srv);
}

static void test_tls13_server_order_wins(void **state)
{
    (void)state; /* BCP B-03, B-05 */
    struct cg_tls_server *srv = server2("server-rsa", "server-ecdsa");
    SSL_CTX *cc = plain_client_ctx(TLS1_3_VERSION, TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_set_ciphersuites(cc, "TLS_AES_256_GCM_SHA384:"
                                                  "TLS_CHACHA20_POLY1305_SHA256:"
                                                  "TLS_AES_128_GCM_SHA256"),
                     1);
    const char *name = plain_handshake(cc, srv, NULL);
    assert_non_null(name);
    assert_string_equal(name, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_free(cc);
    cg__tls_server_free(srv);
}

static void test_tls12_server_order_wins(void **state)
{
    (void)state; /* BCP B-04, B-05 */
    struct cg_tls_server *both = server2("server-rsa", "server-ecdsa");
    struct cg_tls_server *rsa = server2("server-rsa", NULL);
    SSL_CTX *cc = plain_client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_set_cipher_list(cc, "DHE-RSA-AES256-SHA256:"
                                                 "ECDHE-RSA-AES256-GCM-SHA384:"
                                                 "ECDHE-ECDSA-AES128-GCM-SHA256"),
                     1);
    const char *name = plain_handshake(cc, both, NULL);
    assert_non_null(name);
    assert_string_equal(name, "ECDHE-ECDSA-AES128-GCM-SHA256");
    name = plain_handshake(cc, rsa, NULL);
    assert_non_null(name);
    assert_string_equal(name, "ECDHE-RSA-AES256-GCM-SHA384");
    /* DHE works too (dh_auto): a client offering only DHE. */
    assert_int_equal(SSL_CTX_set_cipher_list(cc, "DHE-RSA-AES128-GCM-SHA256"), 1);
    name = plain_handshake(cc, rsa, NULL);
    assert_non_null(name);
    assert_string_equal(name, "DHE-RSA-AES128-GCM-SHA256");
    /* Suites outside B-04 are not offered. */
    assert_int_equal(SSL_CTX_set_cipher_list(cc, "AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA"), 1);
    assert_null(plain_handshake(cc, rsa, NULL));
    SSL_CTX_free(cc);
    cg__tls_server_free(both);
    cg__tls_server_free(rsa);
}

static void only_ecdsa13(SSL *c) { assert_int_equal(SSL_set1_sigalgs_list(c, "ECDSA+SHA256"), 1); }
static void only_rsa13(SSL *c)
{
    assert_int_equal(SSL_set1_sigalgs_list(c, "rsa_pss_rsae_sha256:RSA+SHA256"), 1);
}
static void only_ecdsa12(SSL *c)
{
    SSL_set_max_proto_version(c, TLS1_2_VERSION);
    assert_int_equal(SSL_set_cipher_list(c, "ECDHE-ECDSA-AES128-GCM-SHA256"), 1);
}
static void only_rsa12(SSL *c)
{
    SSL_set_max_proto_version(c, TLS1_2_VERSION);
    assert_int_equal(SSL_set_cipher_list(c, "ECDHE-RSA-AES128-GCM-SHA256"), 1);
}

static void test_leaf_per_key_type(void **state)
{
    (void)state; /* BCP B-13: RSA and ECDSA at once, each with its chain */
    /* The ECDSA chain file carries the root too, so the chains differ. */
    char cmd[2200];
    snprintf(cmd, sizeof(cmd), "cat '%s' '%s' > '%s' && cp -p '%s' '%s'",
             pki("server-ecdsa.chain.pem"), pki("root-ca.pem"), pki("ecdsa-full.chain.pem"),
             pki("server-ecdsa.key"), pki("ecdsa-full.key"));
    assert_int_equal(system(cmd), 0);
    struct cg_tls_server *srv = server2("server-rsa", "ecdsa-full");
    struct cg_tls_client *cli = client();
    struct {
        void (*tweak)(SSL *);
        int type, chain_len;
    } cases[] = {{only_ecdsa13, EVP_PKEY_EC, 3},
                 {only_rsa13, EVP_PKEY_RSA, 2},
                 {only_ecdsa12, EVP_PKEY_EC, 3},
                 {only_rsa12, EVP_PKEY_RSA, 2}};
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        struct conn k = connect_to(cli, srv, "localhost", cases[i].tweak);
        assert_true(k.ok);
        assert_int_equal(k.check, CG_OK);
        assert_int_equal(peer_key_type(k.c), cases[i].type);
        /* Its own chain came along: RSA leaf + intermediate, ECDSA leaf + both CAs. */
        assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(k.c)), cases[i].chain_len);
        conn_free(&k);
    }
    cg__tls_client_free(cli);
    cg__tls_server_free(srv);
}

static void test_trailing_dot_host(void **state)
{
    (void)state; /* BCP B-32 */
    struct cg_tls_server *srv = server2("server-rsa", "server-ecdsa");
    struct cg_tls_client *cli = client();
    struct conn k = connect_to(cli, srv, "localhost.", NULL);
    assert_true(k.ok);
    assert_int_equal(k.check, CG_OK);
    /* SNI went out without the dot. */
    assert_string_equal(SSL_get_servername(k.s, TLSEXT_NAMETYPE_host_name), "localhost");
    conn_free(&k);
    /* An address is matched as an IP SAN (none here, B-11) and sent without SNI. */
    k = connect_to(cli, srv, "127.0.0.1", NULL);
    assert_false(k.ok);
    assert_int_equal(k.check, CG_EHOSTNAME);
    assert_null(SSL_get_servername(k.s, TLSEXT_NAMETYPE_host_name));
    conn_free(&k);
    assert_int_equal(cg__tls_client_prepare(cli, NULL, "x"), CG_EINVAL);
    SSL *c = SSL_new(cg__tls_client_ssl_ctx(cli));
    assert_int_equal(cg__tls_client_prepare(cli, c, "."), CG_EINVAL);
    assert_int_equal(cg__tls_client_check(cli, c, "."), CG_ESTATE);
    SSL_free(c);
    cg__tls_client_free(cli);
    cg__tls_server_free(srv);
}

/* The negative matrix: each refused during the handshake, with its reason. */
static void test_negative_matrix(void **state)
{
    (void)state; /* BCP B-14, B-31 */
    static const struct {
        const char *leaf;
        enum cg_err want;
    } cases[] = {{"wronghost-rsa", CG_EHOSTNAME},  {"expired-rsa", CG_EEXPIRED},
                 {"untrusted-leaf", CG_EUNTRUSTED}, {"lookalike-leaf", CG_EUNTRUSTED},
                 {"selfsigned", CG_ESELFSIGNED}};
    struct cg_tls_client *cli = client();
    /* The self-signed leaf has no chain file: make one. */
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", pki("selfsigned.pem"), pki("selfsigned.chain.pem"));
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        struct cg_tls_server *srv = server2(cases[i].leaf, NULL);
        struct conn k = connect_to(cli, srv, "localhost", NULL);
        assert_false(k.ok);
        assert_int_equal(k.check, cases[i].want);
        conn_free(&k);
        cg__tls_server_free(srv);
    }
    assert_true(tu_log_has(&g_log, "certificate has expired"));
    /* issue 12 item 15: each refusal names its reason, not "verification failed" */
    assert_true(tu_log_has(&g_log, "localhost failed: the certificate does not name the host "
                                   "(it names other.example)"));
    assert_true(tu_log_has(&g_log, "localhost failed: the certificate's issuer is not trusted"));
    assert_true(tu_log_has(&g_log, "localhost failed: self-signed certificate"));
    assert_true(tu_log_has(&g_log, "localhost failed: expired or not yet valid"));
    cg__tls_client_free(cli);
}

static void sha256_of(const char *pem, uint8_t out[32])
{
    FILE *f = fopen(pem, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    unsigned n = 0;
    assert_int_equal(X509_digest(x, EVP_sha256(), out, &n), 1);
    X509_free(x);
}

static void test_self_signed_policy_and_pin(void **state)
{
    (void)state; /* M-06 */
    struct cg_tls_server *ss = server2("selfsigned", NULL);
    struct cg_tls_server *ca = server2("server-rsa", NULL);
    struct cg_tls_client_opts o = {.allow_self_signed = true};
    struct cg_tls_client *cli = client_with(&o);
    struct conn k = connect_to(cli, ss, "localhost", NULL);
    assert_true(k.ok);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    /* allow_self_signed does not excuse a wrong name. */
    k = connect_to(cli, ss, "other.example", NULL);
    assert_false(k.ok);
    assert_int_equal(k.check, CG_EHOSTNAME);
    conn_free(&k);
    cg__tls_client_free(cli);

    uint8_t pin[32];
    sha256_of(pki("selfsigned.pem"), pin);
    struct cg_tls_client_opts po = {.pin_sha256 = pin};
    cli = client_with(&po);
    k = connect_to(cli, ss, "localhost", NULL);
    assert_true(k.ok);
    assert_int_equal(k.check, CG_OK);
    assert_true(tu_log_has(&g_log, "accepted a pinned certificate"));
    conn_free(&k);
    /* A pin also refuses a CA-valid peer that is not the pinned one. */
    k = connect_to(cli, ca, "localhost", NULL);
    assert_false(k.ok);
    assert_int_equal(k.check, CG_EPIN);
    assert_true(tu_log_has(&g_log, "does not match the pin"));
    conn_free(&k);
    cg__tls_client_free(cli);
    cg__tls_server_free(ss);
    cg__tls_server_free(ca);
}

static void test_trust_store_reload(void **state)
{
    (void)state; /* BCP B-14: install and remove roots */
    struct cg_tls_server *srv = server2("server-rsa", NULL);
    struct cg_tls_server *other = server2("untrusted-leaf", NULL);
    struct cg_tls_client *cli = client();
    struct conn k = connect_to(cli, srv, "localhost", NULL);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    /* Our root removed, the other one installed. */
    assert_int_equal(cg__tls_client_set_trust(cli, pki("untrusted-root.pem"), NULL), CG_OK);
    k = connect_to(cli, srv, "localhost", NULL);
    assert_false(k.ok);
    assert_int_equal(k.check, CG_EUNTRUSTED);
    conn_free(&k);
    k = connect_to(cli, other, "localhost", NULL);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    /* A bad path keeps the store as it was. */
    assert_int_equal(cg__tls_client_set_trust(cli, pki("missing.pem"), NULL), CG_EFILE);
    k = connect_to(cli, other, "localhost", NULL);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    /* A hashed directory works too. */
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s' '%s/' && openssl rehash '%s' >/dev/null 2>&1",
             pki("cadir"), pki("root-ca.pem"), pki("cadir"), pki("cadir"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cg__tls_client_set_trust(cli, NULL, pki("cadir")), CG_OK);
    k = connect_to(cli, srv, "localhost", NULL);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    cg__tls_client_free(cli);
    cg__tls_server_free(srv);
    cg__tls_server_free(other);
}

static void test_insecure_switch_logs_loudly(void **state)
{
    (void)state; /* BCP B-31 */
    struct cg_tls_server *srv = server2("untrusted-leaf", NULL);
    struct cg_tls_client_opts o = {.insecure_no_verify = true};
    struct cg_tls_client *cli = client_with(&o);
    for (int i = 0; i < 2; i++) {
        unsigned before = g_log.lines;
        struct conn k = connect_to(cli, srv, "localhost", NULL);
        assert_true(k.ok);
        assert_int_equal(k.check, CG_OK);
        assert_true(g_log.lines > before);
        conn_free(&k);
    }
    assert_true(tu_log_has(&g_log, "1 tls: INSECURE: continuing with localhost"));
    cg__tls_client_free(cli);
    cg__tls_server_free(srv);
}

/* ---- server configuration errors ---- */

static enum cg_err try_server(const char *chain, const char *key, const char *chain2,
                              const char *key2)
{
    struct cg_tls_cert_paths p[2] = {{chain, key}, {chain2, key2}};
    struct cg_tls_server_opts o = {.certs = p, .ncerts = chain2 != NULL ? 2 : 1};
    struct cg_tls_server *srv = NULL;
    enum cg_err rc = cg__tls_server_new(g_ctx, &o, &srv);
    assert_true((rc == CG_OK) == (srv != NULL));
    cg__tls_server_free(srv);
    return rc;
}

static void test_key_permissions(void **state)
{
    (void)state; /* BCP B-13: keys stored securely */
    char key[600], cmd[1300];
    snprintf(key, sizeof(key), "%s", pki("open.key"));
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 644 '%s'", pki("server-rsa.key"), key, key);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(try_server(pki("server-rsa.chain.pem"), key, NULL, NULL), CG_EPERM);
    assert_true(tu_log_has(&g_log, key));
    assert_true(tu_log_has(&g_log, "readable or writable by group/others"));
    chmod(key, 0620);
    assert_int_equal(try_server(pki("server-rsa.chain.pem"), key, NULL, NULL), CG_EPERM);
    chmod(key, 0600);
    assert_int_equal(try_server(pki("server-rsa.chain.pem"), key, NULL, NULL), CG_OK);
}

static void test_config_errors(void **state)
{
    (void)state;
    const char *rsa = pki("server-rsa.chain.pem"), *rsak = pki("server-rsa.key");
    const char *ec = pki("server-ecdsa.chain.pem"), *eck = pki("server-ecdsa.key");
    assert_int_equal(try_server(rsa, eck, NULL, NULL), CG_EKEYMISMATCH);
    assert_true(tu_log_has(&g_log, "does not match"));
    assert_int_equal(try_server(rsa, rsak, pki("revoked-rsa.chain.pem"), pki("revoked-rsa.key")),
                     CG_ECONFIG);
    assert_true(tu_log_has(&g_log, "a second RSA certificate"));
    assert_int_equal(try_server(pki("missing.pem"), rsak, NULL, NULL), CG_EFILE);
    assert_int_equal(try_server(rsa, pki("missing.key"), NULL, NULL), CG_EFILE);
    assert_int_equal(try_server(rsak, rsak, NULL, NULL), CG_ECERT);   /* a key is no cert */
    assert_int_equal(try_server(rsa, pki("index.txt"), NULL, NULL), CG_EPERM); /* 0644 */
    assert_int_equal(try_server(rsa, rsak, ec, eck), CG_OK);
    struct cg_tls_server_opts o = {0};
    struct cg_tls_server *srv = NULL;
    assert_int_equal(cg__tls_server_new(g_ctx, &o, &srv), CG_ECONFIG);
    assert_int_equal(cg__tls_server_new(g_ctx, NULL, &srv), CG_EINVAL);
    cg__tls_server_free(NULL);
    cg__tls_client_free(NULL);
    struct cg_tls_client_opts co = {.ca_file = pki("missing.pem")};
    struct cg_tls_client *cli = NULL;
    assert_int_equal(cg__tls_client_new(g_ctx, &co, &cli), CG_EFILE);
    assert_null(cli);
}

static void test_log_errors(void **state)
{
    (void)state;
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_set_cipher_list(c, "NO-SUCH-SUITE"), 0);
    cg__tls_log_errors(g_ctx, CG_LOG_WARN, "setting suites");
    assert_true(tu_log_has(&g_log, "1 tls: setting suites: error:"));
    assert_true(tu_log_has(&g_log, "no cipher match"));
    assert_int_equal(ERR_peek_error(), 0);
    cg__tls_log_errors(g_ctx, CG_LOG_WARN, "nothing");
    assert_true(tu_log_has(&g_log, "nothing: no detail from OpenSSL"));
    SSL_CTX_free(c);
}

/* ---- OCSP ---- */

static enum cg_err set_staple_file(struct cg_tls_server *srv, const char *name)
{
    size_t len = 0;
    uint8_t *der = tu_read(pki(name), &len);
    enum cg_err rc = cg__tls_server_set_staple(srv, der, len);
    free(der);
    return rc;
}

static void test_staple_good_and_revoked(void **state)
{
    (void)state; /* BCP B-12, B-14 */
    struct cg_tls_server *good = server2("server-rsa", "server-ecdsa");
    struct cg_tls_server *bad = server2("revoked-rsa", NULL);
    assert_int_equal(set_staple_file(good, "revoked-rsa.ocsp"), CG_ENOTFOUND);
    assert_int_equal(set_staple_file(good, "server-rsa.ocsp"), CG_OK);
    assert_int_equal(cg__tls_server_stapled(good), 1);
    assert_int_equal(set_staple_file(bad, "revoked-rsa.ocsp"), CG_OK);
    assert_true(tu_log_has(&g_log, "REVOKED"));

    struct cg_tls_client_opts o = {.require_staple = true};
    struct cg_tls_client *cli = client_with(&o);
    struct conn k = connect_to(cli, good, "localhost", only_rsa13);
    assert_true(k.ok);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    k = connect_to(cli, good, "localhost", only_rsa12); /* TLS 1.2 CertificateStatus */
    assert_true(k.ok);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    /* The ECDSA leaf has no staple: a client that requires one refuses. */
    k = connect_to(cli, good, "localhost", only_ecdsa13);
    assert_false(k.ok);
    assert_int_equal(k.check, CG_EOCSP);
    conn_free(&k);
    /* A revoked staple aborts the handshake, whether required or not. */
    k = connect_to(cli, bad, "localhost", NULL);
    assert_false(k.ok);
    assert_int_equal(k.check, CG_EREVOKED);
    conn_free(&k);
    cg__tls_client_free(cli);
    cli = client();
    k = connect_to(cli, bad, "localhost", NULL);
    assert_false(k.ok);
    assert_int_equal(k.check, CG_EREVOKED);
    conn_free(&k);
    k = connect_to(cli, good, "localhost", only_ecdsa12); /* no staple, not required */
    assert_true(k.ok);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    cg__tls_client_free(cli);
    assert_int_equal(cg__tls_server_set_staple(good, (const uint8_t *)"junk", 4), CG_EOCSP);
    /* Signed by someone the issuer never delegated to: not stapled. */
    assert_int_equal(set_staple_file(bad, "badsig.ocsp"), CG_EOCSP);
    assert_true(tu_log_has(&g_log, "signature does not verify"));
    /* A responder that does not know the certificate: nothing to staple. */
    assert_int_equal(set_staple_file(good, "unknown.ocsp"), CG_EOCSP);
    assert_true(tu_log_has(&g_log, "does not know the certificate"));
    cg__tls_server_free(good);
    cg__tls_server_free(bad);
}

static void keepalive_tick(uv_timer_t *t) { (void)t; }

/* Runs the loop until pred(srv) or the deadline. */
static bool run_until(struct cg_tls_server *srv, bool (*pred)(struct cg_tls_server *),
                      unsigned ms)
{
    uv_loop_t *loop = cg_ctx_loop(g_ctx);
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, keepalive_tick, 50, 50);
    uint64_t end = cg__now_ms() + ms;
    bool ok = false;
    while (!(ok = pred(srv)) && cg__now_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

static bool both_stapled(struct cg_tls_server *srv) { return cg__tls_server_stapled(srv) == 2; }
static bool fetch_failed(struct cg_tls_server *srv)
{
    (void)srv;
    return tu_log_has(&g_log, "still stapling the last good response");
}

static bool port_listening(int port)
{
    static const char *const tabs[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    char line[512];
    for (size_t i = 0; i < CG_ARRAY_LEN(tabs); i++) {
        FILE *f = fopen(tabs[i], "r");
        bool found = false;
        while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
            unsigned lport = 0, st = 0;
            found = sscanf(line, " %*u: %*[0-9A-Fa-f]:%X %*[0-9A-Fa-f]:%*X %X", &lport, &st) == 2 &&
                    lport == (unsigned)port && st == 0x0A;
        }
        if (f != NULL)
            fclose(f);
        if (found)
            return true;
    }
    return false;
}

static pid_t start_responder(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", g_port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* its output to /dev/null; if not, it does not start (seen below) */
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
            _exit(126);
        if (null > STDERR_FILENO)
            close(null);
        execl("/bin/bash", "bash", tu_src_path("scripts/ocsp-responder.sh"), g_dir, port,
              (char *)NULL);
        _exit(127);
    }
    /* Wait until it listens. Not by connecting: an empty connection wedges
     * openssl 3.0's responder. */
    for (int i = 0; i < 200; i++) {
        if (port_listening(g_port))
            return pid;
        usleep(25000);
    }
    fail_msg("OCSP responder did not start on port %d", g_port);
    return -1;
}

static int stop_responder(void **state)
{
    (void)state;
    if (g_responder > 0) {
        kill(g_responder, SIGKILL); /* see scripts/ocsp-responder.sh */
        int st;
        waitpid(g_responder, &st, 0);
        g_responder = 0;
    }
    return 0;
}

static void test_staple_fetched_from_responder(void **state)
{
    (void)state; /* BCP B-12: fetch from the AIA responder, off the loop thread */
    g_responder = start_responder();
    struct cg_tls_server_opts o = {.ocsp_stapling = true, .ocsp_min_refresh_s = 1,
                                   .ocsp_timeout_s = 2};
    struct cg_tls_server *srv = server_opts(&o, "server-rsa", "server-ecdsa");
    bool ok = run_until(srv, both_stapled, 20000);
    struct cg_tls_client_opts co = {.require_staple = true};
    struct cg_tls_client *cli = client_with(&co);
    struct conn k = connect_to(cli, srv, "localhost", only_ecdsa13);
    assert_true(k.ok);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    /* Responder down: the next fetch fails, the last good staple stays. */
    stop_responder(NULL);
    for (size_t i = 0; i < srv->nleaves; i++)
        assert_int_equal(cg__tls_fetch_start(&srv->leaves[i]), CG_OK);
    bool failed = run_until(srv, fetch_failed, 20000);
    assert_int_equal(cg__tls_server_stapled(srv), 2);
    k = connect_to(cli, srv, "localhost", only_rsa12);
    assert_int_equal(k.check, CG_OK);
    conn_free(&k);
    cg__tls_client_free(cli);
    cg__tls_server_free(srv);
    uv_run(cg_ctx_loop(g_ctx), UV_RUN_NOWAIT);
    assert_true(ok);
    assert_true(failed);
}

static void test_no_responder_logged(void **state)
{
    (void)state; /* a responder that is down: logged, retried, nothing stapled */
    struct cg_tls_server_opts o = {.ocsp_stapling = true, .ocsp_min_refresh_s = 1,
                                   .ocsp_timeout_s = 1,
                                   .ocsp_responder_override = "http://127.0.0.1:1/"};
    struct cg_tls_server *srv = server_opts(&o, "server-rsa", NULL);
    uint64_t end = cg__now_ms() + 15000;
    while (!tu_log_has(&g_log, "NO OCSP response to staple") && cg__now_ms() < end)
        uv_run(cg_ctx_loop(g_ctx), UV_RUN_ONCE);
    assert_true(tu_log_has(&g_log, "NO OCSP response to staple"));
    assert_int_equal(cg__tls_server_stapled(srv), 0);
    cg__tls_server_free(srv);
    uv_run(cg_ctx_loop(g_ctx), UV_RUN_NOWAIT);
}

/* ---- session tickets (B-06) ---- */

static int g_max_version; /* 0, or the client's maximum for session_after */
static SSL_SESSION *session_after(struct cg_tls_client *cli, struct cg_tls_server *srv,
                                  SSL_SESSION *resume, bool *reused)
{
    SSL *c = SSL_new(cg__tls_client_ssl_ctx(cli)), *s = SSL_new(cg__tls_server_ssl_ctx(srv));
    assert_int_equal(cg__tls_client_prepare(cli, c, "localhost"), CG_OK);
    SSL_set_max_proto_version(c, g_max_version);
    if (resume != NULL)
        assert_int_equal(SSL_set_session(c, resume), 1);
    assert_true(handshake(c, s));
    *reused = SSL_session_reused(c) == 1;
    /* TLS 1.3 tickets come after the handshake: let the client read them. */
    char b;
    assert_int_equal(SSL_write(s, "x", 1), 1);
    assert_int_equal(SSL_read(c, &b, 1), 1);
    SSL_SESSION *sess = SSL_get1_session(c);
    SSL_shutdown(c); /* an SSL freed without it marks its session not resumable */
    SSL_shutdown(s);
    SSL_free(c);
    SSL_free(s);
    return sess;
}

static void test_session_tickets(void **state)
{
    (void)state;
    struct cg_tls_client *cli = client();
    bool reused = false;
    /* Default: no tickets; TLS 1.3 has nothing to resume with. */
    struct cg_tls_server *off = server2("server-rsa", NULL);
    SSL_SESSION *s0 = session_after(cli, off, NULL, &reused);
    assert_false(SSL_SESSION_is_resumable(s0));
    SSL_SESSION_free(s0);
    g_max_version = TLS1_2_VERSION;
    s0 = session_after(cli, off, NULL, &reused);
    assert_false(SSL_SESSION_has_ticket(s0));
    /* TLS 1.2 may still resume by session ID from the server's in-memory cache
     * (no key that outlives the process; see tickets.c). */
    SSL_SESSION *s0b = session_after(cli, off, s0, &reused);
    assert_true(reused);
    g_max_version = 0;
    SSL_SESSION_free(s0);
    SSL_SESSION_free(s0b);
    cg__tls_server_free(off);

    struct cg_tls_server_opts o = {.session_tickets = true, .ticket_rotate_s = 3600};
    struct cg_tls_server *on = server_opts(&o, "server-rsa", NULL);
    SSL_SESSION *s1 = session_after(cli, on, NULL, &reused);
    assert_true(SSL_SESSION_is_resumable(s1));
    SSL_SESSION *s2 = session_after(cli, on, s1, &reused);
    assert_true(reused);
    /* One rotation: the old key still decrypts. Two: it is gone. */
    cg__tls_tickets_rotate(on->tickets);
    SSL_SESSION *s3 = session_after(cli, on, s1, &reused);
    assert_true(reused);
    cg__tls_tickets_rotate(on->tickets);
    SSL_SESSION *s4 = session_after(cli, on, s1, &reused);
    assert_false(reused);
    SSL_SESSION_free(s1);
    SSL_SESSION_free(s2);
    SSL_SESSION_free(s3);
    SSL_SESSION_free(s4);
    cg__tls_server_free(on);
    cg__tls_client_free(cli);
    uv_run(cg_ctx_loop(g_ctx), UV_RUN_NOWAIT);
}

/* ---- failure injection: clean errors, no leaks (ASan checks the latter) ---- */

static void test_injected_failures(void **state)
{
    (void)state;
    struct cg_tls_client *cli = NULL;
    struct cg_tls_client_opts co = {.ca_file = pki("root-ca.pem")};
    const char *rsa = pki("server-rsa.chain.pem"), *rsak = pki("server-rsa.key");

    fail_ctx_new = 1;
    assert_int_equal(try_server(rsa, rsak, NULL, NULL), CG_ETLS);
    assert_int_equal(cg__tls_client_new(g_ctx, &co, &cli), CG_ETLS);
    assert_true(tu_log_has(&g_log, "cannot create the server TLS context"));
    fail_ctx_new = 0;

    fail_ciphersuites = 1;
    assert_int_equal(try_server(rsa, rsak, NULL, NULL), CG_ETLS);
    assert_int_equal(cg__tls_client_new(g_ctx, &co, &cli), CG_ETLS);
    assert_true(tu_log_has(&g_log, "TLS 1.3 suites (B-03)"));
    fail_ciphersuites = 0;

    fail_pem_key = 1;
    assert_int_equal(try_server(rsa, rsak, pki("server-ecdsa.chain.pem"), pki("server-ecdsa.key")),
                     CG_EKEY);
    assert_true(tu_log_has(&g_log, "is unusable"));
    fail_pem_key = 0;
    assert_null(cli);
    assert_int_equal(try_server(rsa, rsak, NULL, NULL), CG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_profile_suites_and_options, test_setup),
        cmocka_unit_test_setup(test_old_protocols_refused, test_setup),
        cmocka_unit_test_setup(test_tls13_server_order_wins, test_setup),
        cmocka_unit_test_setup(test_tls12_server_order_wins, test_setup),
        cmocka_unit_test_setup(test_leaf_per_key_type, test_setup),
        cmocka_unit_test_setup(test_trailing_dot_host, test_setup),
        cmocka_unit_test_setup(test_negative_matrix, test_setup),
        cmocka_unit_test_setup(test_self_signed_policy_and_pin, test_setup),
        cmocka_unit_test_setup(test_trust_store_reload, test_setup),
        cmocka_unit_test_setup(test_insecure_switch_logs_loudly, test_setup),
        cmocka_unit_test_setup(test_key_permissions, test_setup),
        cmocka_unit_test_setup(test_config_errors, test_setup),
        cmocka_unit_test_setup(test_log_errors, test_setup),
        cmocka_unit_test_setup(test_staple_good_and_revoked, test_setup),
        cmocka_unit_test_setup_teardown(test_staple_fetched_from_responder, test_setup,
                                        stop_responder),
        cmocka_unit_test_setup(test_no_responder_logged, test_setup),
        cmocka_unit_test_setup(test_session_tickets, test_setup),
        cmocka_unit_test_setup(test_injected_failures, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
