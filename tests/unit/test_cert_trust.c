/* The client trust store and pins (src/cert/trust.c; B-14, M-06): the
 * OpenSSL hashed-directory layout (HASH.N without gaps), which names are
 * store entries, removal by file or fingerprint, and the pins file format
 * ("PEER HEX" lines) byte for byte. Roots are made in memory and written to
 * a temp dir. */
#include "cert/cert.h"
#include "testutil.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A self-signed certificate named cn, a CA or not; written to file. */
static X509 *make(const char *cn, bool ca, const char *file)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_version(x, X509_VERSION_3);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                                            ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    EVP_PKEY_free(k);
    FILE *f = fopen(tu_in(file), "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    return x;
}

static char *slurp(const char *path)
{
    size_t n = 0;
    uint8_t *d = NULL;
    if (cg__read_file(path, 1 << 20, &d, &n) != CG_OK)
        return NULL;
    return (char *)d;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void slot_name(char *out, size_t outsz, const char *store, X509 *x, int k)
{
    snprintf(out, outsz, "%s/%08lx.%d", store, X509_subject_name_hash(x), k);
}

static void assert_slot_holds(const char *store, X509 *hash_of, int k, X509 *want)
{
    char path[600];
    slot_name(path, sizeof(path), store, hash_of, k);
    X509 *got = cg__cert_read_one(path);
    if (want == NULL) {
        if (got != NULL)
            fail_msg("%s exists", path);
        return;
    }
    if (got == NULL)
        fail_msg("%s missing", path);
    assert_int_equal(X509_cmp(got, want), 0);
    X509_free(got);
}

/* ---- the hashed directory ---- */

static void test_slots_without_gaps(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof(store), "%s", tu_in("store1"));
    X509 *a = make("Same Root", true, "a.pem"), *b = make("Same Root", true, "b.pem"),
         *c = make("Same Root", true, "c.pem");
    assert_int_equal(cg_trust_add(tu_ctx, store, tu_in("a.pem")), CG_OK);
    assert_int_equal(cg_trust_add(tu_ctx, store, tu_in("b.pem")), CG_OK);
    assert_int_equal(cg_trust_add(tu_ctx, store, tu_in("c.pem")), CG_OK);
    assert_slot_holds(store, a, 0, a);
    assert_slot_holds(store, a, 1, b);
    assert_slot_holds(store, a, 2, c);
    /* The file is the certificate's PEM, world-readable (roots are public). */
    char path[600];
    slot_name(path, sizeof(path), store, a, 0);
    char *got = slurp(path), *want = slurp(tu_in("a.pem"));
    assert_string_equal(got, want);
    free(got);
    free(want);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(stat(store, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    /* The same root twice: refused, nothing added. */
    assert_int_equal(cg_trust_add(tu_ctx, store, tu_in("b.pem")), CG_EEXIST);
    assert_true(tu_log_has(&tu_ctx_log, "/CN=Same Root is trusted already"));
    assert_slot_holds(store, a, 3, NULL);
    /* Removing the first: the last fills its slot (OpenSSL stops at a gap). */
    assert_int_equal(cg_trust_remove(tu_ctx, store, tu_in("a.pem")), CG_OK);
    assert_slot_holds(store, a, 0, c);
    assert_slot_holds(store, a, 1, b);
    assert_slot_holds(store, a, 2, NULL);
    /* Removing the last: just gone. */
    assert_int_equal(cg_trust_remove(tu_ctx, store, tu_in("b.pem")), CG_OK);
    assert_slot_holds(store, a, 0, c);
    assert_slot_holds(store, a, 1, NULL);
    assert_int_equal(cg_trust_remove(tu_ctx, store, tu_in("b.pem")), CG_ENOTFOUND);
    assert_true(tu_log_has(&tu_ctx_log, "no such root in"));
    X509_free(a);
    X509_free(b);
    X509_free(c);
}

static void test_add_refusals(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof(store), "%s", tu_in("store2"));
    X509 *leaf = make("Not A CA", false, "leaf.pem");
    assert_int_equal(cg_trust_add(tu_ctx, store, tu_in("leaf.pem")), CG_ECERT);
    assert_true(tu_log_has(&tu_ctx_log, "/CN=Not A CA is not a CA certificate"));
    assert_slot_holds(store, leaf, 0, NULL);
    assert_int_equal(cg_trust_add(tu_ctx, store, tu_in("absent.pem")), CG_EFILE);
    put(tu_in("junk.pem"), "not pem\n");
    assert_int_equal(cg_trust_add(tu_ctx, store, tu_in("junk.pem")), CG_ECERT);
    assert_int_equal(cg_trust_add(tu_ctx, NULL, tu_in("leaf.pem")), CG_EINVAL);
    assert_int_equal(cg_trust_add(tu_ctx, store, NULL), CG_EINVAL);
    X509_free(leaf);
}

/* Every CA certificate of a bundle is added, each under its own hash. */
static void test_bundle(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof(store), "%s", tu_in("store3"));
    X509 *r1 = make("Root One", true, "r1.pem"), *r2 = make("Root Two", true, "r2.pem");
    char *t1 = slurp(tu_in("r1.pem")), *t2 = slurp(tu_in("r2.pem"));
    char both[8192];
    snprintf(both, sizeof(both), "%s%s", t1, t2);
    put(tu_in("bundle.pem"), both);
    free(t1);
    free(t2);
    assert_int_equal(cg_trust_add(tu_ctx, store, tu_in("bundle.pem")), CG_OK);
    assert_slot_holds(store, r1, 0, r1);
    assert_slot_holds(store, r2, 0, r2);
    struct cg_cert_info info[4];
    size_t n = 99;
    assert_int_equal(cg_trust_list(tu_ctx, store, info, 4, &n), CG_OK);
    assert_int_equal(n, 2);
    bool saw1 = false, saw2 = false;
    for (size_t i = 0; i < n; i++) {
        saw1 |= strcmp(info[i].subject, "/CN=Root One") == 0;
        saw2 |= strcmp(info[i].subject, "/CN=Root Two") == 0;
        assert_non_null(strstr(info[i].chain_file, store));
    }
    assert_true(saw1 && saw2);
    /* max bounds what is listed. */
    assert_int_equal(cg_trust_list(tu_ctx, store, info, 1, &n), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(cg_trust_list(tu_ctx, store, NULL, 0, &n), CG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(cg_trust_list(tu_ctx, store, NULL, 1, &n), CG_EINVAL);
    assert_int_equal(cg_trust_list(tu_ctx, tu_in("no-store"), info, 4, &n), CG_EFILE);
    /* Remove by fingerprint, in either spelling. */
    char fp[96];
    assert_int_equal(cg_cert_fingerprint(tu_in("r2.pem"), fp, sizeof(fp)), CG_OK);
    char plain[65];
    size_t o = 0;
    for (const char *c = fp; *c; c++)
        if (*c != ':')
            plain[o++] = (char)(*c >= 'a' ? *c - 32 : *c); /* and uppercase */
    plain[o] = '\0';
    assert_int_equal(cg_trust_remove(tu_ctx, store, plain), CG_OK);
    assert_slot_holds(store, r2, 0, NULL);
    assert_int_equal(cg_trust_remove(tu_ctx, store, fp), CG_ENOTFOUND);
    assert_int_equal(cg_trust_remove(tu_ctx, tu_in("no-store"), fp), CG_EFILE);
    assert_int_equal(cg_trust_remove(tu_ctx, store, "neither a file nor hex"), CG_EINVAL);
    assert_true(tu_log_has(&tu_ctx_log, "neither a PEM certificate nor a SHA-256 fingerprint"));
    assert_int_equal(cg_trust_remove(tu_ctx, store, NULL), CG_EINVAL);
    X509_free(r1);
    X509_free(r2);
}

/* Only HASH.N names (8 lowercase hex digits, '.', digits) are entries. */
static void test_listing_ignores_other_names(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof(store), "%s", tu_in("store4"));
    assert_int_equal(cg__cert_mkdirs(tu_ctx, store, 0755), CG_OK);
    X509 *r = make("Listed", true, "listed.pem");
    char *pem = slurp(tu_in("listed.pem"));
    static const char *const entries[] = {"0a1b2c3d.0", "ffffffff.12"};
    static const char *const others[] = {"README",       "0A1B2C3D.0",  "0a1b2c3.0",
                                         "0a1b2c3d.",    "0a1b2c3d.0a", "0a1b2c3d0",
                                         "0a1b2c3d.r0",  "0a1b2c3dd.0", ".0a1b2c3d.0",
                                         "0a1b2c3d.0~"};
    char path[600];
    for (size_t i = 0; i < CG_ARRAY_LEN(entries); i++) {
        snprintf(path, sizeof(path), "%s/%s", store, entries[i]);
        put(path, pem);
    }
    for (size_t i = 0; i < CG_ARRAY_LEN(others); i++) {
        snprintf(path, sizeof(path), "%s/%s", store, others[i]);
        put(path, pem);
    }
    snprintf(path, sizeof(path), "%s/%s", store, "0a1b2c3e.0");
    put(path, "not a certificate\n"); /* a hashed name that holds junk: skipped */
    struct cg_cert_info info[16];
    size_t n = 0;
    assert_int_equal(cg_trust_list(tu_ctx, store, info, 16, &n), CG_OK);
    assert_int_equal(n, CG_ARRAY_LEN(entries));
    free(pem);
    X509_free(r);
}

/* ---- pins (M-06) ---- */

static const char fp_a[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char fp_b[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

static void test_pin_file_format(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof(store), "%s", tu_in("pins1"));
    assert_int_equal(cg_trust_pin(tu_ctx, store, "gw1.example:443", fp_a), CG_OK);
    char *text = slurp(tu_in("pins1/pins"));
    assert_string_equal(text, "gw1.example:443 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    free(text);
    struct stat st;
    assert_int_equal(stat(tu_in("pins1/pins"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* Uppercase with colons is stored as plain lowercase. */
    char colons[100];
    size_t o = 0;
    for (int i = 0; i < 64; i += 2)
        o += (size_t)snprintf(colons + o, sizeof(colons) - o, "%s%c%c", i ? ":" : "",
                              fp_b[i] - (fp_b[i] >= 'a' ? 32 : 0),
                              fp_b[i + 1] - (fp_b[i + 1] >= 'a' ? 32 : 0));
    assert_int_equal(cg_trust_pin(tu_ctx, store, "gw2", colons), CG_OK);
    text = slurp(tu_in("pins1/pins"));
    assert_string_equal(text, "gw1.example:443 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
                              "gw2 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n");
    free(text);
    /* Re-pinning a peer replaces its line (moved to the end); others stay. */
    assert_int_equal(cg_trust_pin(tu_ctx, store, "gw1.example:443", fp_b), CG_OK);
    text = slurp(tu_in("pins1/pins"));
    assert_string_equal(text, "gw2 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n"
                              "gw1.example:443 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n");
    free(text);
    uint8_t pin[32];
    assert_int_equal(cg_trust_pin_get(store, "gw1.example:443", pin), CG_OK);
    assert_int_equal(pin[0], 0xff);
    assert_int_equal(pin[31], 0x00);
    /* A peer whose name is a prefix of another's is its own peer. */
    assert_int_equal(cg_trust_pin_get(store, "gw1.example", pin), CG_ENOTFOUND);
    assert_int_equal(cg_trust_pin_get(store, "gw", pin), CG_ENOTFOUND);
    assert_true(tu_log_has(&tu_ctx_log, "pinned gw1.example:443"));
}

/* A hand-edited file: blank lines dropped, other lines kept, a last line
 * without newline kept; a bad line read only for its own peer. */
static void test_pin_file_edited_by_hand(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof(store), "%s", tu_in("pins2"));
    assert_int_equal(cg__cert_mkdirs(tu_ctx, store, 0755), CG_OK);
    char text[600];
    snprintf(text, sizeof(text), "\n# my pins\nbroken zz\nkeep %s\n\nlast %s", fp_a, fp_b);
    put(tu_in("pins2/pins"), text);
    uint8_t pin[32];
    assert_int_equal(cg_trust_pin_get(store, "keep", pin), CG_OK);
    assert_int_equal(pin[1], 0x11);
    assert_int_equal(cg_trust_pin_get(store, "last", pin), CG_OK);
    assert_int_equal(pin[1], 0xee);
    assert_int_equal(cg_trust_pin_get(store, "broken", pin), CG_EFILE);
    assert_int_equal(cg_trust_pin_get(store, "#", pin), CG_EFILE); /* "# my pins" */
    assert_int_equal(cg_trust_pin(tu_ctx, store, "new", fp_a), CG_OK);
    char *got = slurp(tu_in("pins2/pins"));
    char want[600];
    snprintf(want, sizeof(want), "# my pins\nbroken zz\nkeep %s\nlast %s\nnew %s\n", fp_a, fp_b,
             fp_a);
    assert_string_equal(got, want);
    free(got);
}

static void test_pin_refusals(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof(store), "%s", tu_in("pins3"));
    char l255[256], l256[257];
    memset(l255, 'p', 255);
    l255[255] = '\0';
    memset(l256, 'p', 256);
    l256[256] = '\0';
    assert_int_equal(cg_trust_pin(tu_ctx, store, l255, fp_a), CG_OK);
    uint8_t pin[32];
    assert_int_equal(cg_trust_pin_get(store, l255, pin), CG_OK);
    const char *const bad_peers[] = {"", "a b", "a\tb", "a\nb", "a\x7f", "a\x01", l256};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_peers); i++) {
        if (cg_trust_pin(tu_ctx, store, bad_peers[i], fp_a) != CG_EINVAL)
            fail_msg("peer %zu accepted", i);
        assert_int_equal(cg_trust_pin_get(store, bad_peers[i], pin), CG_EINVAL);
    }
    assert_int_equal(cg_trust_pin(tu_ctx, store, NULL, fp_a), CG_EINVAL);
    assert_int_equal(cg_trust_pin(tu_ctx, NULL, "peer", fp_a), CG_EINVAL);
    assert_true(tu_log_has(&tu_ctx_log, "a pin needs a peer name without spaces"));
    static const char *const bad_fps[] = {"", "00", "0011223344556677889900", "not hex at all",
                                          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
                                          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00"};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_fps); i++)
        if (cg_trust_pin(tu_ctx, store, "peer", bad_fps[i]) != CG_EINVAL)
            fail_msg("fingerprint '%s' accepted", bad_fps[i]);
    assert_int_equal(cg_trust_pin(tu_ctx, store, "peer", NULL), CG_EINVAL);
    /* Nothing was written for the refused ones. */
    assert_int_equal(cg_trust_pin_get(store, "peer", pin), CG_ENOTFOUND);
    assert_int_equal(cg_trust_pin_get(tu_in("no-pins-here"), "peer", pin), CG_ENOTFOUND);
    assert_int_equal(cg_trust_pin_get(NULL, "peer", pin), CG_EINVAL);
    assert_int_equal(cg_trust_pin_get(store, "peer", NULL), CG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_slots_without_gaps, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_add_refusals, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_bundle, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_listing_ignores_other_names, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_pin_file_format, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_pin_file_edited_by_hand, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_pin_refusals, tu_ctx_log_reset),
    };
    umask(022);
    return cmocka_run_group_tests(tests, tu_group_ctx, tu_group_ctx_rm);
}
