/* The server certificate store (src/cert/store.c, B-13): what install
 * checks and in which order it refuses (key match, dates, host in the SAN,
 * chain to a trusted root), what it writes (the verified path minus the
 * root, keys 0600), listing, and the expiry warnings with their exact
 * thresholds (30, 7, 1 days). Certificates come from a CA made in a temp dir. */
#include "cert/cert.h"
#include "testutil.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct cg_ca *g_ca, *g_other;

static void issue(struct cg_ca *ca, const char *host, enum cg_key_type t, unsigned days,
                  long nb_days, const char *dir)
{
    const char *hosts[] = {host};
    struct cg_issue_opts o = {.hosts = hosts, .nhosts = 1, .type = t, .days = days,
                              .not_before_offset_days = nb_days};
    assert_int_equal(cg_ca_issue(ca, &o, tu_in(dir), NULL, 0), CG_OK);
}

static int group_setup(void **state)
{
    if (tu_group_ctx(state) != 0)
        return -1;
    struct cg_ca_init_opts a = {.name = "Store"}, b = {.name = "Other"};
    if (cg_ca_init(tu_ctx, tu_in("ca"), &a) != CG_OK ||
        cg_ca_init(tu_ctx, tu_in("other"), &b) != CG_OK ||
        cg_ca_open(tu_ctx, tu_in("ca"), NULL, &g_ca) != CG_OK ||
        cg_ca_open(tu_ctx, tu_in("other"), NULL, &g_other) != CG_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    cg_ca_free(g_ca);
    cg_ca_free(g_other);
    return tu_group_ctx_rm(state);
}

static struct cg_cert_install_opts opts_for(const char *dir, const char *store)
{
    static char cert[512], key[512];
    snprintf(cert, sizeof(cert), "%s/%s/server-ecdsa.chain.pem", tu_group_dir, dir);
    snprintf(key, sizeof(key), "%s/%s/server-ecdsa.key", tu_group_dir, dir);
    struct cg_cert_install_opts o = {.store_dir = tu_in(store), .cert_file = cert, .key_file = key,
                                     .ca_file = tu_in("ca/root.pem")};
    return o;
}

static int count_pem(const char *path)
{
    STACK_OF(X509) *sk = NULL;
    if (cg__cert_read_certs(NULL, path, &sk) != CG_OK)
        return 0;
    int n = sk_X509_num(sk);
    sk_X509_pop_free(sk, X509_free);
    return n;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 0777;
}

/* ---- install ---- */

static void test_install_writes_the_verified_path(void **state)
{
    (void)state;
    issue(g_ca, "s1.example", CG_KEY_ECDSA, 0, 0, "s1");
    issue(g_ca, "s1.example", CG_KEY_RSA, 0, 0, "s1");
    struct cg_cert_install_opts o = opts_for("s1", "store1");
    o.host = "s1.example";
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_OK);
    assert_true(tu_log_has(&tu_ctx_log, "/ecdsa.chain.pem"));
    /* leaf + intermediate, in that order; the root stays with the clients */
    STACK_OF(X509) *sk = NULL;
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("store1/ecdsa.chain.pem"), &sk), CG_OK);
    assert_int_equal(sk_X509_num(sk), 2);
    assert_int_equal(X509_cmp(sk_X509_value(sk, 1), g_ca->inter), 0);
    X509 *leaf = cg__cert_read_one(tu_in("s1/server-ecdsa.pem"));
    assert_int_equal(X509_cmp(sk_X509_value(sk, 0), leaf), 0);
    X509_free(leaf);
    sk_X509_pop_free(sk, X509_free);
    assert_int_equal(mode_of(tu_in("store1")), 0700);
    assert_int_equal(mode_of(tu_in("store1/ecdsa.key")), 0600);
    assert_int_equal(mode_of(tu_in("store1/ecdsa.chain.pem")), 0644);
    /* the RSA pair goes beside it (B-13: both kinds in one store) */
    char cert[512], key[512];
    snprintf(cert, sizeof(cert), "%s", tu_in("s1/server-rsa.pem")); /* leaf only ... */
    snprintf(key, sizeof(key), "%s", tu_in("s1/server-rsa.key"));
    o.cert_file = cert;
    o.key_file = key;
    o.chain_file = tu_in("ca/ca-chain.pem"); /* ... with intermediate + root given apart */
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_OK);
    assert_int_equal(count_pem(tu_in("store1/rsa.chain.pem")), 2); /* the root left out */
    struct cg_cert_info info[2];
    size_t n = 0;
    assert_int_equal(cg_cert_store_list(tu_ctx, tu_in("store1"), info, 2, &n), CG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(info[0].key_desc, "ECDSA prime256v1"); /* ecdsa first, then rsa */
    assert_string_equal(info[1].key_desc, "RSA-2048");
    assert_non_null(strstr(info[0].chain_file, "store1/ecdsa.chain.pem"));
    assert_non_null(strstr(info[1].key_file, "store1/rsa.key"));
    assert_string_equal(info[0].sans, "DNS:s1.example");
    assert_int_equal(cg_cert_store_list(tu_ctx, tu_in("store1"), info, 1, &n), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(cg_cert_store_list(tu_ctx, tu_in("store1"), NULL, 0, &n), CG_ENOTFOUND);
    assert_int_equal(cg_cert_store_list(tu_ctx, tu_in("store1"), NULL, 1, &n), CG_EINVAL);
}

/* A chain file may repeat the leaf or carry a stray certificate: the store
 * gets only the verified path. */
static void test_install_drops_strays(void **state)
{
    (void)state;
    issue(g_ca, "s2.example", CG_KEY_ECDSA, 0, 0, "s2");
    issue(g_other, "stray.example", CG_KEY_ECDSA, 0, 0, "stray");
    char text[16384] = "";
    const char *parts[] = {tu_in("s2/server-ecdsa.pem"), tu_in("stray/server-ecdsa.pem"),
                           tu_in("ca/intermediate.pem"), tu_in("other/intermediate.pem")};
    for (size_t i = 0; i < CG_ARRAY_LEN(parts); i++) {
        uint8_t *d = NULL;
        size_t n = 0;
        assert_int_equal(cg__read_file(parts[i], 65536, &d, &n), CG_OK);
        strncat(text, (char *)d, sizeof(text) - strlen(text) - 1);
        free(d);
    }
    FILE *f = fopen(tu_in("messy-chain.pem"), "w");
    fputs(text, f);
    fclose(f);
    struct cg_cert_install_opts o = opts_for("s2", "store2");
    o.cert_file = tu_in("s2/server-ecdsa.pem");
    o.chain_file = tu_in("messy-chain.pem");
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_OK);
    STACK_OF(X509) *sk = NULL;
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("store2/ecdsa.chain.pem"), &sk), CG_OK);
    assert_int_equal(sk_X509_num(sk), 2);
    assert_int_equal(X509_cmp(sk_X509_value(sk, 1), g_ca->inter), 0);
    sk_X509_pop_free(sk, X509_free);
}

static void test_install_refusals(void **state)
{
    (void)state;
    issue(g_ca, "r.example", CG_KEY_ECDSA, 0, 0, "r");
    issue(g_ca, "r2.example", CG_KEY_ECDSA, 0, 0, "r2");
    struct cg_cert_install_opts o = opts_for("r", "store3");
    /* the key of another certificate */
    char other_key[512];
    snprintf(other_key, sizeof(other_key), "%s", tu_in("r2/server-ecdsa.key"));
    o.key_file = other_key;
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EKEYMISMATCH);
    assert_true(tu_log_has(&tu_ctx_log, "(mismatched key)"));
    o = opts_for("r", "store3");
    /* B-42: the advertised host must be in the SAN; no partial wildcards */
    o.host = "other.example";
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_ECERT);
    assert_true(tu_log_has(&tu_ctx_log, "does not name host 'other.example'"));
    o.host = "R.EXAMPLE"; /* names compare without case */
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_OK);
    o.host = NULL;
    /* a root the operator does not trust */
    o.ca_file = tu_in("other/root.pem");
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EVERIFY);
    assert_true(tu_log_has(&tu_ctx_log, "chain does not verify (incomplete chain"));
    /* the leaf alone, no intermediate: incomplete, said so */
    o = opts_for("r", "store3");
    char leaf_only[512];
    snprintf(leaf_only, sizeof(leaf_only), "%s", tu_in("r/server-ecdsa.pem"));
    o.cert_file = leaf_only;
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EVERIFY);
    assert_true(tu_log_has(&tu_ctx_log, "give the intermediates as CHAIN"));
    /* roots that cannot be read */
    o = opts_for("r", "store3");
    o.ca_file = tu_in("no-such-roots.pem");
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EFILE);
    assert_true(tu_log_has(&tu_ctx_log, "cannot load trusted roots from"));
    /* B-13: a key others may read */
    o = opts_for("r", "store3");
    chmod(o.key_file, 0640);
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EPERM);
    chmod(o.key_file, 0600);
    /* missing arguments */
    o.cert_file = NULL;
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EINVAL);
    assert_int_equal(cg_cert_store_install(tu_ctx, NULL), CG_EINVAL);
}

/* Dates: not yet valid and expired are refused before anything is written. */
static void test_install_dates(void **state)
{
    (void)state;
    issue(g_ca, "future.example", CG_KEY_ECDSA, 30, 2, "future");
    struct cg_cert_install_opts o = opts_for("future", "store4");
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EEXPIRED);
    assert_true(tu_log_has(&tu_ctx_log, "is not yet valid (notBefore is in the future)"));
    issue(g_ca, "past.example", CG_KEY_ECDSA, 2, -5, "past");
    o = opts_for("past", "store4");
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EEXPIRED);
    assert_true(tu_log_has(&tu_ctx_log, "has expired (notAfter is past)"));
    size_t n = 9;
    struct cg_cert_info info[2];
    assert_int_equal(cg_cert_store_list(tu_ctx, tu_in("store4"), info, 2, &n), CG_ENOTFOUND);
    assert_int_equal(n, 0);
    assert_true(tu_log_has(&tu_ctx_log, "holds no certificate"));
}

/* ---- expiry warnings ---- */

static void test_expiry_thresholds(void **state)
{
    (void)state;
    /* Issued from five minutes ago (clock skew): "days" days minus 300 s left. */
    static const struct {
        unsigned days;
        long want_days;
        const char *warning; /* NULL: none */
    } cases[] = {
        {31, 30, NULL},
        {30, 29, "expires within 30 days (719 hours left): renew it"},
        {8, 7, "expires within 30 days"},
        {7, 6, "expires within 7 days (167 hours left): renew it"},
        {2, 1, "expires within 7 days (47 hours left)"},
        {1, 0, "expires within 1 day (23 hours left): renew it"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        char dir[32];
        snprintf(dir, sizeof(dir), "exp%zu", i);
        issue(g_ca, "exp.example", CG_KEY_ECDSA, cases[i].days, 0, dir);
        char path[512];
        snprintf(path, sizeof(path), "%s/%s/server-ecdsa.pem", tu_group_dir, dir);
        memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
        long days = -99;
        assert_int_equal(cg_cert_check_expiry(tu_ctx, path, &days), CG_OK);
        if (days != cases[i].want_days)
            fail_msg("%u days: %ld left", cases[i].days, days);
        if (cases[i].warning == NULL) {
            assert_int_equal(tu_ctx_log.lines, 0);
        } else {
            if (!tu_log_has(&tu_ctx_log, cases[i].warning))
                fail_msg("%u days: log lacks '%s': %s", cases[i].days, cases[i].warning,
                         tu_ctx_log.text);
            assert_int_equal(tu_ctx_log.lines, 1); /* one warning, the nearest mark */
        }
    }
    /* Expired: an error and CG_EEXPIRED, days negative. */
    issue(g_ca, "gone.example", CG_KEY_ECDSA, 1, -3, "gone");
    long days = 0;
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("gone/server-ecdsa.pem"), &days),
                     CG_EEXPIRED);
    assert_int_equal(days, -2);
    assert_true(tu_log_has(&tu_ctx_log, "server-ecdsa.pem has EXPIRED"));
    assert_int_equal(cg_cert_check_expiry(tu_ctx, NULL, &days), CG_EINVAL);
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("nothing.pem"), NULL), CG_ECERT);
}

/* In a chain file the soonest of leaf and intermediates counts. */
static void test_expiry_of_a_chain(void **state)
{
    (void)state;
    struct cg_ca_init_opts so = {.name = "Brief", .inter_days = 10};
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("brief"), &so), CG_OK);
    struct cg_ca *brief = NULL;
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("brief"), NULL, &brief), CG_OK);
    issue(brief, "leaf.example", CG_KEY_ECDSA, 100, 0, "brief-leaf");
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    long days = 0;
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("brief-leaf/server-ecdsa.chain.pem"), &days),
                     CG_OK);
    assert_int_equal(days, 9); /* the intermediate's 10 days minus the skew */
    assert_true(tu_log_has(&tu_ctx_log, "intermediate /CN=Brief Issuing CA expires within 30 days"));
    assert_false(tu_log_has(&tu_ctx_log, "server-ecdsa.chain.pem expires")); /* the leaf is fine */
    assert_int_equal(tu_ctx_log.lines, 1);
    cg_ca_free(brief);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_install_writes_the_verified_path, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_install_drops_strays, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_install_refusals, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_install_dates, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_expiry_thresholds, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_expiry_of_a_chain, tu_ctx_log_reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
