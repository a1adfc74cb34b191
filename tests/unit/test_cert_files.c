/* The files src/cert shares (src/cert/files.c): paths, folders, PEM in and
 * out, private keys read without prompting (B-13), fingerprints, and the
 * summary of a certificate. A fixed certificate made once with
 * `openssl req -x509` gives known answers (its SHA-256 fingerprint as
 * `openssl x509 -fingerprint -sha256` prints it). */
#include "cert/cert.h"
#include "testutil.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* CN=fixed.example, O=castgate tests; serial 0x0123456789ABCDEF; EC P-256;
 * SAN DNS:fixed.example, IP:192.0.2.1, IP:2001:db8::1; notAfter
 * 2036-12-04T01:21:17Z (2111966477). */
static const char fixed_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIB3zCCAYWgAwIBAgIIASNFZ4mrze8wCgYIKoZIzj0EAwIwMTEWMBQGA1UEAwwN\n"
    "Zml4ZWQuZXhhbXBsZTEXMBUGA1UECgwOY2FzdGdhdGUgdGVzdHMwHhcNMjYxMjA3\n"
    "MDEyMTE3WhcNMzYxMjA0MDEyMTE3WjAxMRYwFAYDVQQDDA1maXhlZC5leGFtcGxl\n"
    "MRcwFQYDVQQKDA5jYXN0Z2F0ZSB0ZXN0czBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABHOgNfyBFxNL/3hLZ2YROz0UjCltwQKU72LXOhUlAKLxhLbInDUqcN2l38+t\n"
    "wV5TNHIABV/PGA3DvNWA8PzjJA+jgYYwgYMwHQYDVR0OBBYEFLKCPfUubEuKIHqT\n"
    "zI/zovEROYxlMB8GA1UdIwQYMBaAFLKCPfUubEuKIHqTzI/zovEROYxlMA8GA1Ud\n"
    "EwEB/wQFMAMBAf8wMAYDVR0RBCkwJ4INZml4ZWQuZXhhbXBsZYcEwAACAYcQIAEN\n"
    "uAAAAAAAAAAAAAAAATAKBggqhkjOPQQDAgNIADBFAiB7/29CkluyZllxomgPGuPO\n"
    "FY0zYyVyzlbJgbgMQRgh4wIhAKzYqQYDY/PNV3VC6aFlloXjFXXw6bnkl/fzz3z+\n"
    "cpOX\n"
    "-----END CERTIFICATE-----\n";
static const char fixed_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmF7C9aLttW6RgMLH\n"
    "5ZwSnCfxe/qQ6huLBNu9/gofXMahRANCAARzoDX8gRcTS/94S2dmETs9FIwpbcEC\n"
    "lO9i1zoVJQCi8YS2yJw1KnDdpd/PrcFeUzRyAAVfzxgNw7zVgPD84yQP\n"
    "-----END PRIVATE KEY-----\n";
static const char fixed_fp[] = "5c:25:e3:82:da:1f:bb:93:26:22:34:bf:99:4f:4c:f3:"
                               "53:46:14:cb:4b:30:2f:f3:a1:e8:ff:ef:7f:45:56:69";

static void put(const char *name, const char *text, mode_t mode)
{
    FILE *f = fopen(tu_in(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(tu_in(name), mode), 0);
}

static X509 *fixed_cert(void)
{
    BIO *bio = BIO_new_mem_buf(fixed_pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(x);
    return x;
}

/* ---- paths and folders ---- */

static void test_path(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(cg__cert_path(out, sizeof(out), "abc", "def"), CG_OK); /* 7 + NUL */
    assert_string_equal(out, "abc/def");
    assert_int_equal(cg__cert_path(out, sizeof(out), "abcd", "def"), CG_ERANGE);
    assert_int_equal(cg__cert_path(out, sizeof(out), "", ""), CG_OK);
    assert_string_equal(out, "/");
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_mkdirs(void **state)
{
    (void)state;
    /* Missing parents are private (0700); the folder asked for gets mode. */
    assert_int_equal(cg__cert_mkdirs(tu_ctx, tu_in("m/a/b/c"), 0755), CG_OK);
    assert_int_equal(mode_of(tu_in("m")), 0700);
    assert_int_equal(mode_of(tu_in("m/a")), 0700);
    assert_int_equal(mode_of(tu_in("m/a/b")), 0700);
    assert_int_equal(mode_of(tu_in("m/a/b/c")), 0755);
    /* An existing folder is kept as it is; trailing slashes do not matter. */
    assert_int_equal(chmod(tu_in("m/a"), 0711), 0);
    assert_int_equal(cg__cert_mkdirs(tu_ctx, tu_in("m/a///"), 0700), CG_OK);
    assert_int_equal(mode_of(tu_in("m/a")), 0711);
    assert_int_equal(tu_ctx_log.lines, 0);
    /* A file in the way: named, with the reason. */
    put("m/file", "x", 0644);
    assert_int_equal(cg__cert_mkdirs(tu_ctx, tu_in("m/file/sub"), 0755), CG_EFILE);
    assert_true(tu_log_has(&tu_ctx_log, "cannot create"));
    assert_true(tu_log_has(&tu_ctx_log, "m/file"));
    assert_int_equal(cg__cert_mkdirs(tu_ctx, tu_in("m/file"), 0755), CG_EFILE);
    assert_true(tu_log_has(&tu_ctx_log, "Not a directory"));
    /* Too long, or empty. */
    char longp[1100];
    memset(longp, 'd', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(cg__cert_mkdirs(tu_ctx, longp, 0755), CG_ERANGE);
    assert_int_equal(cg__cert_mkdirs(tu_ctx, "", 0755), CG_ERANGE);
    /* "/" exists already. */
    assert_int_equal(cg__cert_mkdirs(tu_ctx, "/", 0755), CG_OK);
    /* A parent that may not be written: the path that failed is named. */
    if (geteuid() != 0) {
        assert_int_equal(cg__cert_mkdirs(tu_ctx, tu_in("locked"), 0500), CG_OK);
        memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
        assert_int_equal(cg__cert_mkdirs(tu_ctx, tu_in("locked/inner/x"), 0755), CG_EFILE);
        assert_true(tu_log_has(&tu_ctx_log, "locked/inner: Permission denied"));
    }
}

/* ---- reading certificates ---- */

static void test_read_certs(void **state)
{
    (void)state;
    STACK_OF(X509) *sk = NULL;
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("none.pem"), &sk), CG_EFILE);
    assert_true(tu_log_has(&tu_ctx_log, "none.pem: cannot open"));
    put("text.pem", "hello\n", 0644);
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("text.pem"), &sk), CG_ECERT);
    assert_true(tu_log_has(&tu_ctx_log, "text.pem: no PEM certificate in it"));
    put("key.pem", fixed_key, 0600); /* a key is not a certificate */
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("key.pem"), &sk), CG_ECERT);
    assert_null(sk);
    /* Several, in file order; text between PEM blocks is skipped. */
    char two[4096];
    snprintf(two, sizeof(two), "subject=whatever\n%s\n# comment\n%s", fixed_pem, fixed_pem);
    put("two.pem", two, 0644);
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("two.pem"), &sk), CG_OK);
    assert_int_equal(sk_X509_num(sk), 2);
    sk_X509_pop_free(sk, X509_free);
    /* A broken second block: the good ones before it are kept. */
    char broken[4096];
    snprintf(broken, sizeof(broken), "%s-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
             fixed_pem);
    put("broken.pem", broken, 0644);
    sk = NULL;
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("broken.pem"), &sk), CG_OK);
    assert_int_equal(sk_X509_num(sk), 1);
    sk_X509_pop_free(sk, X509_free);
    assert_int_equal(ERR_peek_error(), 0); /* OpenSSL's queue left clean */
    /* read_one: the first certificate, or NULL without a queued error. */
    X509 *x = cg__cert_read_one(tu_in("two.pem"));
    assert_non_null(x);
    X509_free(x);
    assert_null(cg__cert_read_one(tu_in("text.pem")));
    assert_null(cg__cert_read_one(tu_in("none.pem")));
    assert_null(cg__cert_read_one(tu_group_dir)); /* a folder */
    assert_int_equal(ERR_peek_error(), 0);
}

/* ---- private keys (B-13) ---- */

static void test_read_key(void **state)
{
    (void)state;
    EVP_PKEY *k = NULL;
    put("k.key", fixed_key, 0600);
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("k.key"), NULL, &k), CG_OK);
    X509 *x = fixed_cert();
    assert_int_equal(X509_check_private_key(x, k), 1);
    X509_free(x);
    EVP_PKEY_free(k);
    /* A passphrase given for an unencrypted key is simply not needed. */
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("k.key"), "unused", &k), CG_OK);
    EVP_PKEY_free(k);
    static const mode_t loose[] = {0640, 0604, 0660, 0620, 0602, 0644, 0666};
    for (size_t i = 0; i < CG_ARRAY_LEN(loose); i++) {
        chmod(tu_in("k.key"), loose[i]);
        memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
        k = NULL;
        if (cg__cert_read_key(tu_ctx, tu_in("k.key"), NULL, &k) != CG_EPERM)
            fail_msg("mode %o accepted", (unsigned)loose[i]);
        assert_null(k);
        assert_true(tu_log_has(&tu_ctx_log, "chmod 600"));
    }
    chmod(tu_in("k.key"), 0400); /* read-only for the owner is fine */
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("k.key"), NULL, &k), CG_OK);
    EVP_PKEY_free(k);
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("absent.key"), NULL, &k), CG_EFILE);
    assert_true(tu_log_has(&tu_ctx_log, "absent.key: missing or not a file"));
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_group_dir, NULL, &k), CG_EFILE);
    /* A certificate where the key should be. */
    put("cert-as-key.key", fixed_pem, 0600);
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("cert-as-key.key"), NULL, &k), CG_EKEY);
    assert_true(tu_log_has(&tu_ctx_log, "not a PEM private key"));
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_key_pem_round_trip(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *back = NULL;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__cert_key_pem(&b, k, NULL), CG_OK);
    assert_true(b.len > 28);
    assert_memory_equal(b.data, "-----BEGIN PRIVATE KEY-----\n", 28); /* PKCS#8 */
    cg__buf_free(&b);
    assert_int_equal(cg__cert_key_pem(&b, k, "pass phrase"), CG_OK);
    assert_memory_equal(b.data, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 38);
    FILE *f = fopen(tu_in("enc.key"), "w");
    fwrite(b.data, 1, b.len, f);
    fclose(f);
    chmod(tu_in("enc.key"), 0600);
    cg__buf_free(&b);
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("enc.key"), NULL, &back), CG_EKEY);
    assert_true(tu_log_has(&tu_ctx_log, "is encrypted: no passphrase given"));
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("enc.key"), "pass phrasE", &back), CG_EKEY);
    assert_true(tu_log_has(&tu_ctx_log, "is encrypted: wrong passphrase"));
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("enc.key"), "", &back), CG_EKEY);
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("enc.key"), "pass phrase", &back), CG_OK);
    assert_int_equal(EVP_PKEY_eq(k, back), 1);
    EVP_PKEY_free(back);
    EVP_PKEY_free(k);
    /* The passphrase never reaches the log. */
    assert_false(tu_log_has(&tu_ctx_log, "pass phras"));
    assert_int_equal(ERR_peek_error(), 0);
}

/* ---- fingerprints and summaries ---- */

static void test_sha256_known_answer(void **state)
{
    (void)state;
    X509 *x = fixed_cert();
    char hex[96];
    uint8_t raw[32];
    cg__cert_sha256(x, hex, sizeof(hex), raw);
    assert_string_equal(hex, fixed_fp);
    assert_int_equal(strlen(hex), 95);
    uint8_t parsed[32];
    assert_int_equal(cg__cert_parse_sha256(fixed_fp, parsed), CG_OK);
    assert_memory_equal(parsed, raw, 32);
    assert_int_equal(raw[0], 0x5c);
    assert_int_equal(raw[31], 0x69);
    /* raw may be NULL; a short buffer holds whole bytes only, terminated. */
    char small[9];
    memset(small, '#', sizeof(small));
    cg__cert_sha256(x, small, sizeof(small), NULL); /* 8 characters and the NUL */
    assert_string_equal(small, "5c:25:e3");
    memset(small, '#', sizeof(small));
    cg__cert_sha256(x, small, 8, NULL);
    assert_string_equal(small, "5c:25");
    X509_free(x);
    /* The public wrapper: needs 96 bytes. */
    put("fixed.pem", fixed_pem, 0644);
    char fp[96];
    assert_int_equal(cg_cert_fingerprint(tu_in("fixed.pem"), fp, sizeof(fp)), CG_OK);
    assert_string_equal(fp, fixed_fp);
    assert_int_equal(cg_cert_fingerprint(tu_in("fixed.pem"), fp, 95), CG_EINVAL);
    assert_int_equal(cg_cert_fingerprint(tu_in("nothing.pem"), fp, sizeof(fp)), CG_ECERT);
    assert_int_equal(cg_cert_fingerprint(NULL, fp, sizeof(fp)), CG_EINVAL);
    assert_int_equal(cg_cert_fingerprint(tu_in("fixed.pem"), NULL, 96), CG_EINVAL);
}

static void test_parse_sha256_forms(void **state)
{
    (void)state;
    uint8_t want[32], got[32];
    for (int i = 0; i < 32; i++)
        want[i] = (uint8_t)(i * 0x11 + 1);
    char plain[65], upper[65], colons[96];
    size_t o = 0;
    for (int i = 0; i < 32; i++) {
        snprintf(plain + 2 * i, 3, "%02x", want[i]);
        snprintf(upper + 2 * i, 3, "%02X", want[i]);
        o += (size_t)snprintf(colons + o, sizeof(colons) - o, i ? ":%02X" : "%02X", want[i]);
    }
    const char *forms[] = {plain, upper, colons};
    for (size_t i = 0; i < CG_ARRAY_LEN(forms); i++) {
        memset(got, 0, sizeof(got));
        assert_int_equal(cg__cert_parse_sha256(forms[i], got), CG_OK);
        assert_memory_equal(got, want, 32);
    }
    /* Colons are skipped wherever they are. */
    char odd[80];
    snprintf(odd, sizeof(odd), ":%.3s:%s:", plain, plain + 3);
    assert_int_equal(cg__cert_parse_sha256(odd, got), CG_OK);
    assert_memory_equal(got, want, 32);
    char bad[80];
    snprintf(bad, sizeof(bad), "%.63s", plain); /* 63 digits */
    assert_int_equal(cg__cert_parse_sha256(bad, got), CG_EINVAL);
    snprintf(bad, sizeof(bad), "%s0", plain); /* 65 */
    assert_int_equal(cg__cert_parse_sha256(bad, got), CG_EINVAL);
    snprintf(bad, sizeof(bad), "%s00", plain); /* 66: 33 bytes */
    assert_int_equal(cg__cert_parse_sha256(bad, got), CG_EINVAL);
    snprintf(bad, sizeof(bad), "%.62sg0", plain);
    assert_int_equal(cg__cert_parse_sha256(bad, got), CG_EINVAL);
    snprintf(bad, sizeof(bad), " %s", plain);
    assert_int_equal(cg__cert_parse_sha256(bad, got), CG_EINVAL);
    assert_int_equal(cg__cert_parse_sha256("", got), CG_EINVAL);
    assert_int_equal(cg__cert_parse_sha256(":::", got), CG_EINVAL);
    assert_int_equal(cg__cert_parse_sha256(NULL, got), CG_EINVAL);
}

static void test_info_fill(void **state)
{
    (void)state;
    X509 *x = fixed_cert();
    struct cg_cert_info info;
    memset(&info, 0x55, sizeof(info));
    cg__cert_info_fill(x, &info);
    assert_string_equal(info.subject, "/CN=fixed.example/O=castgate tests");
    assert_string_equal(info.sans, "DNS:fixed.example, IP:192.0.2.1, IP:(v6)");
    assert_string_equal(info.serial, "0123456789ABCDEF");
    assert_string_equal(info.key_desc, "ECDSA prime256v1");
    assert_string_equal(info.sha256, fixed_fp);
    assert_int_equal(info.not_after, 2111966477LL);
    long want_days = (long)((2111966477LL - (long long)time(NULL)) / 86400);
    assert_true(info.days_left == want_days || info.days_left == want_days - 1);
    X509_free(x);
}

/* cg__cert_pem_append writes the certificate as PEM after what the buffer
 * holds: the fixture's text exactly, twice for two calls (a chain file). */
static void test_pem_append(void **state)
{
    (void)state;
    X509 *x = fixed_cert();
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__buf_append(&b, "# chain\n", 8), CG_OK);
    assert_int_equal(cg__cert_pem_append(&b, x), CG_OK);
    assert_int_equal(cg__cert_pem_append(&b, x), CG_OK);
    size_t one = strlen(fixed_pem);
    assert_int_equal(b.len, 8 + 2 * one);
    assert_memory_equal(b.data, "# chain\n", 8);
    assert_memory_equal(b.data + 8, fixed_pem, one);
    assert_memory_equal(b.data + 8 + one, fixed_pem, one);
    cg__buf_free(&b);
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_path, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_mkdirs, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_read_certs, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_read_key, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_key_pem_round_trip, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_sha256_known_answer, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_parse_sha256_forms, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_info_fill, tu_ctx_log_reset),
        cmocka_unit_test(test_pem_append),
    };
    umask(022);
    return cmocka_run_group_tests(tests, tu_group_ctx, tu_group_ctx_rm);
}
