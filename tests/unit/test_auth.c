/* Unit tests for src/mos4/auth.c and passwd.c: the credential file (good,
 * malformed, weak hashes, mode, missing, reload), Basic parsing (RFC 7617,
 * strict base64), yescrypt/bcrypt/SHA-512 checks, per-address lockout on an
 * injected clock, the bounded address table, cg__auth_hash_line and the
 * cg_passwd_* file editing, and libcrypt failures. */
// CG_WRAP: crypt_r crypt_gensalt_rn
#include "authfix.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- failure injection and call counting ---- */
static int fail_crypt, fail_gensalt;
static unsigned crypt_calls;
char *__real_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data)
{
    crypt_calls++;
    if (fail_crypt == 1)
        return NULL;
    if (fail_crypt == 2) { /* libxcrypt's failure token */
        strcpy(data->output, "*0");
        return data->output;
    }
    return __real_crypt_r(phrase, setting, data);
}
char *__real_crypt_gensalt_rn(const char *prefix, unsigned long count, const char *rbytes,
                              int nrbytes, char *output, int output_size);
char *__wrap_crypt_gensalt_rn(const char *prefix, unsigned long count, const char *rbytes,
                              int nrbytes, char *output, int output_size);
char *__wrap_crypt_gensalt_rn(const char *prefix, unsigned long count, const char *rbytes,
                              int nrbytes, char *output, int output_size)
{
    if (fail_gensalt)
        return NULL;
    return __real_crypt_gensalt_rn(prefix, count, rbytes, nrbytes, output, output_size);
}

/* ---- fixtures ---- */
static char dir[64];
static char y_alice[256], b_bob[256], s_carol[256], y2_dan[256];
static struct cg_ctx *ctx;
static struct tu_log *logp;

static void make_hash(const char *prefix, const char *pw, char *out, size_t sz)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    assert_non_null(cd);
    assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)));
    const char *h = crypt_r(pw, salt, cd);
    assert_non_null(h);
    assert_int_equal(h[0], '$');
    snprintf(out, sz, "%s", h);
    free(cd);
}

static const char *path_of(const char *name)
{
    static char p[4][128];
    static int slot;
    char *o = p[slot++ & 3];
    snprintf(o, sizeof(p[0]), "%s/%s", dir, name);
    return o;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
    return p;
}

/* A good file: comments, blank lines, CRLF, the three hash kinds. */
static const char *good_file(void)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "# castgate users\n\nalice:%s\r\n   \n  # indented comment\nbob:%s\ncarol:%s  \n"
             "dan:%s\nmos user:%s",
             y_alice, b_bob, s_carol, y2_dan, y_alice);
    return write_file("good", text, 0600);
}

static int setup_all(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cg-test-auth-XXXXXX");
    assert_non_null(mkdtemp(dir));
    make_hash("$y$", "alice-pw", y_alice, sizeof(y_alice));
    make_hash("$2b$", "bob-pw", b_bob, sizeof(b_bob));
    make_hash("$6$", "carol:pw", s_carol, sizeof(s_carol));
    make_hash("$2y$", "dan-pw", y2_dan, sizeof(y2_dan));
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    af_ctx_new(&ctx, &logp);
    fail_crypt = fail_gensalt = 0;
    crypt_calls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    af_ctx_free(ctx, logp);
    return 0;
}

static uint64_t fake_now;
static uint64_t fake_clock(void *user)
{
    (void)user;
    return fake_now;
}

/* ---- loading ---- */

static void test_load_good(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    assert_int_equal(cg__auth_load(ctx, good_file(), NULL, &a), CG_OK);
    assert_true(tu_log_has(logp, "5 user(s)"));
    assert_false(tu_log_has(logp, y_alice));
    cg__auth_free(a);
    cg__auth_free(NULL);
    assert_int_equal(cg__auth_load(ctx, NULL, NULL, &a), CG_EINVAL);
    /* An empty file loads (with a warning) and refuses everyone. */
    assert_int_equal(cg__auth_load(ctx, write_file("empty", "# nobody\n", 0600), NULL, &a), CG_OK);
    assert_true(tu_log_has(logp, "no users"));
    char user[129];
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.1", user, sizeof(user)),
                     CG_EAUTH);
    cg__auth_free(a);
}

static void expect_refused(const char *text, const char *needle, enum cg_err want)
{
    struct cg_auth *a = NULL;
    memset(logp, 0, sizeof(*logp));
    assert_int_equal(cg__auth_load(ctx, write_file("bad", text, 0600), NULL, &a), want);
    assert_null(a);
    if (!tu_log_has(logp, needle))
        fail_msg("log lacks '%s': %s", needle, logp->text);
}

static void test_load_bad_lines(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof(text), "alice:%s\nno colon here\n", y_alice);
    expect_refused(text, "bad:2: expected 'user:hash'", CG_EFILE);
    expect_refused("# c\r\nold:ab01234567890\r\n", "bad:2: user 'old': DES crypt hash refused",
                   CG_EFILE);
    assert_false(tu_log_has(logp, "ab01234567890"));
    expect_refused("md5:$1$salt$qJH7.N4xYta3aEG/dfqo/0\n", "user 'md5': MD5-crypt", CG_EFILE);
    assert_false(tu_log_has(logp, "qJH7"));
    expect_refused("apr:$apr1$salt$abcdefghijklmnopqrstu.\n", "Apache MD5", CG_EFILE);
    expect_refused("sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "unsalted SHA-1", CG_EFILE);
    expect_refused("plain:hunter2\n", "user 'plain': plain text or unknown", CG_EFILE);
    assert_false(tu_log_has(logp, "hunter2"));
    expect_refused("empty:\n", "user 'empty': empty hash refused", CG_EFILE);
    expect_refused(":$6$abc$def\n", "bad:1: expected", CG_EFILE);
    expect_refused("ctl\x01user:$6$abc$def\n", "bad:1: expected", CG_EFILE);
    expect_refused("sp:$6$abc def\n", "user 'sp': plain text or unknown", CG_EFILE);
    snprintf(text, sizeof(text), "dup:%s\ndup:%s\n", y_alice, s_carol);
    expect_refused(text, "bad:2: user 'dup' listed twice", CG_EFILE);
    char longname[200];
    memset(longname, 'u', 129);
    snprintf(longname + 129, sizeof(longname) - 129, ":%s\n", "$6$abc$def");
    expect_refused(longname, "bad:1: expected", CG_EFILE);
}

static void test_load_mode_and_missing(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char text[512];
    snprintf(text, sizeof(text), "alice:%s\n", y_alice);
    const char *p = write_file("open", text, 0644);
    assert_int_equal(cg__auth_load(ctx, p, NULL, &a), CG_EPERM);
    assert_true(tu_log_has(logp, "chmod 600"));
    assert_int_equal(chmod(p, 0640), 0);
    assert_int_equal(cg__auth_load(ctx, p, NULL, &a), CG_EPERM);
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(cg__auth_load(ctx, p, NULL, &a), CG_OK);
    cg__auth_free(a);
    a = NULL;
    assert_int_equal(cg__auth_load(ctx, path_of("nope"), NULL, &a), CG_EFILE);
    assert_true(tu_log_has(logp, "missing"));
    assert_int_equal(cg__auth_load(ctx, dir, NULL, &a), CG_EFILE);
    assert_null(a);
}

/* ---- checking ---- */

static void test_check_three_hash_kinds(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char user[129];
    assert_int_equal(cg__auth_load(ctx, good_file(), NULL, &a), CG_OK);
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.1", user, sizeof(user)),
                     CG_OK);
    assert_string_equal(user, "alice");
    assert_int_equal(cg__auth_check(a, tu_basic("bob:bob-pw"), "192.0.2.1", user, sizeof(user)),
                     CG_OK);
    assert_string_equal(user, "bob");
    assert_int_equal(cg__auth_check(a, tu_basic("dan:dan-pw"), "192.0.2.1", user, sizeof(user)),
                     CG_OK);
    assert_string_equal(user, "dan");
    assert_int_equal(cg__auth_check(a, tu_basic("dan:dan-PW"), "192.0.2.1", user, sizeof(user)),
                     CG_EAUTH);
    /* The password may hold ':' (RFC 7617); the stored SHA-512 one does. */
    assert_int_equal(cg__auth_check(a, tu_basic("carol:carol:pw"), "192.0.2.1", user, sizeof(user)),
                     CG_OK);
    assert_string_equal(user, "carol");
    assert_int_equal(cg__auth_check(a, tu_basic("mos user:alice-pw"), "192.0.2.1", user,
                                    sizeof(user)),
                     CG_OK);
    assert_string_equal(user, "mos user");
    assert_true(tu_log_has(logp, "192.0.2.1: user 'bob' authenticated"));
    /* Too small a user buffer is the caller's error. */
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.1", user, 5), CG_EINVAL);
    assert_int_equal(cg__auth_check(a, NULL, NULL, user, sizeof(user)), CG_EINVAL);
    assert_int_equal(cg__auth_check(NULL, NULL, "x", user, sizeof(user)), CG_EINVAL);
    cg__auth_free(a);
}

static void test_check_wrong_and_unknown(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char user[129] = "";
    struct cg_auth_limits lim = {.max_failures = 100};
    assert_int_equal(cg__auth_load(ctx, good_file(), &lim, &a), CG_OK);
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-PW"), "192.0.2.7", user, sizeof(user)),
                     CG_EAUTH);
    assert_true(tu_log_has(logp, "192.0.2.7: user 'alice': wrong password"));
    assert_int_equal(cg__auth_check(a, tu_basic("bob:alice-pw"), "192.0.2.7", user, sizeof(user)),
                     CG_EAUTH);
    assert_int_equal(cg__auth_check(a, tu_basic("carol:"), "192.0.2.7", user, sizeof(user)),
                     CG_EAUTH);
    /* An unknown user still costs one crypt_r. */
    crypt_calls = 0;
    assert_int_equal(cg__auth_check(a, tu_basic("mallory:alice-pw"), "192.0.2.7", user, sizeof(user)),
                     CG_EAUTH);
    assert_int_equal(crypt_calls, 1);
    assert_true(tu_log_has(logp, "user 'mallory': unknown user"));
    /* Prefix of a user name is another user. */
    assert_int_equal(cg__auth_check(a, tu_basic("alic:alice-pw"), "192.0.2.7", user, sizeof(user)),
                     CG_EAUTH);
    /* A NUL in the password cannot cut it short. */
    char v[64] = "Basic ";
    EVP_EncodeBlock((unsigned char *)v + 6, (const unsigned char *)"alice:alice-pw\0x", 16);
    assert_int_equal(cg__auth_check(a, v, "192.0.2.7", user, sizeof(user)), CG_EAUTH);
    /* User names in the log are escaped; passwords are never logged. */
    assert_int_equal(cg__auth_check(a, tu_basic("ev\xc3\xa9il\\:alice-pw"), "192.0.2.7", user,
                                    sizeof(user)),
                     CG_EAUTH);
    assert_true(tu_log_has(logp, "user 'ev\\xc3\\xa9il\\x5c': unknown user"));
    assert_false(tu_log_has(logp, "alice-pw"));
    assert_false(tu_log_has(logp, "alice-PW"));
    assert_string_equal(user, "");
    cg__auth_free(a);
}

static void test_header_forms(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char user[129];
    struct cg_auth_limits lim = {.max_failures = 1000};
    assert_int_equal(cg__auth_load(ctx, good_file(), &lim, &a), CG_OK);
    const char *ok_b64 = tu_basic("alice:alice-pw") + 6;
    char v[600];
    /* Scheme in any case, several spaces, OWS around the value. */
    snprintf(v, sizeof(v), "bAsIc   %s \t", ok_b64);
    assert_int_equal(cg__auth_check(a, v, "198.51.100.1", user, sizeof(user)), CG_OK);
    crypt_calls = 0;
    static const char *const bad[] = {
        "", "Basic", "Basic ", "Bearer x", "Bearer YWxpY2U6YWxpY2UtcHc=", "Basicx YQ==",
        "Basic\tYWxpY2U6YWxpY2UtcHc=", "Basic !!!!", "Basic YWxpY2U6YWxpY2UtcHc",
        "Basic YWxpY2U6YWxpY2UtcHc==", "Basic YWxp Y2U6YWxpY2UtcHc=", "Basic YR==", "Basic YWF=",
        "Basic =YWE", "Basic YQ=a", "Basic YWxpY2U=",              /* "alice": no colon */
        "Basic OnB3",                                               /* ":pw": empty user */
        "Basic YQphOmI=",                                           /* "a\na:b": control char */
        "Basic YWxpY2U6YWxpY2UtcHcJ",                               /* tab in the password */
        "Basic YWxpY2U6YWxpY2UtcHc=,Basic YWxpY2U6YWxpY2UtcHc=",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        if (cg__auth_check(a, bad[i], "198.51.100.1", user, sizeof(user)) != CG_EAUTH)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(crypt_calls, 0); /* malformed: no hashing */
    assert_true(tu_log_has(logp, "198.51.100.1: credentials are not valid base64"));
    assert_true(tu_log_has(logp, "198.51.100.1: malformed Basic credentials"));
    /* Missing header: refused, logged, not counted. */
    assert_int_equal(cg__auth_check(a, NULL, "198.51.100.1", user, sizeof(user)), CG_EAUTH);
    assert_true(tu_log_has(logp, "198.51.100.1: no credentials"));
    /* Too long. */
    char *big = malloc(CG_AUTH_B64_MAX + 16);
    assert_non_null(big);
    memcpy(big, "Basic ", 6);
    memset(big + 6, 'A', CG_AUTH_B64_MAX + 4);
    big[CG_AUTH_B64_MAX + 10] = '\0';
    assert_int_equal(cg__auth_check(a, big, "198.51.100.1", user, sizeof(user)), CG_EAUTH);
    assert_true(tu_log_has(logp, "credentials too long"));
    free(big);
    cg__auth_free(a);
}

static void test_parse_basic_direct(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct cg_auth_basic b;
    const char *v = "Basic dTpwOnE=";
    assert_int_equal(cg__auth_parse_basic(v, strlen(v), buf, sizeof(buf), &b), CG_OK);
    assert_int_equal(b.user_len, 1);
    assert_memory_equal(b.user, "u", 1);
    assert_int_equal(b.password_len, 3);
    assert_memory_equal(b.password, "p:q", 3);
    v = "Basic dTo=";
    assert_int_equal(cg__auth_parse_basic(v, strlen(v), buf, sizeof(buf), &b), CG_OK);
    assert_int_equal(b.password_len, 0);
    v = "Basic YQ==";
    assert_int_equal(cg__auth_parse_basic(v, strlen(v), buf, sizeof(buf), &b), CG_EAUTH);
    v = "Basic YQ=";
    assert_int_equal(cg__auth_parse_basic(v, strlen(v), buf, sizeof(buf), &b), CG_EENCODING);
    v = "Basic dTpwOnE=";
    assert_int_equal(cg__auth_parse_basic(v, strlen(v), buf, 2, &b), CG_EINVAL);
    assert_int_equal(cg__auth_parse_basic(NULL, 0, buf, sizeof(buf), &b), CG_EINVAL);
    assert_true(cg__auth_hash_supported("$2y$05$abc", 10));
    assert_false(cg__auth_hash_supported("$2a$05$abc", 10));
    assert_false(cg__auth_hash_supported("$y$", 3));
    assert_false(cg__auth_hash_supported("$5$abc$def", 10));
}

/* ---- failure counting ---- */

static void test_rate_limit(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char user[129];
    struct cg_auth_limits lim = {.max_failures = 3, .window_s = 10, .lockout_s = 30};
    assert_int_equal(cg__auth_load(ctx, good_file(), &lim, &a), CG_OK);
    fake_now = 1000000;
    cg__auth_set_clock(a, fake_clock, NULL);
    const char *right = tu_basic("alice:alice-pw"), *wrong = tu_basic("alice:nope");
    for (int i = 0; i < 3; i++)
        assert_int_equal(cg__auth_check(a, wrong, "203.0.113.5", user, sizeof(user)), CG_EAUTH);
    assert_true(tu_log_has(logp, "203.0.113.5: 3 failures within 10 s: locked out for 30 s"));
    crypt_calls = 0;
    assert_int_equal(cg__auth_check(a, right, "203.0.113.5", user, sizeof(user)), CG_ERATELIMIT);
    assert_int_equal(cg__auth_check(a, NULL, "203.0.113.5", user, sizeof(user)), CG_ERATELIMIT);
    assert_int_equal(crypt_calls, 0); /* locked: no hashing at all */
    /* Other addresses are not affected. */
    assert_int_equal(cg__auth_check(a, right, "203.0.113.6", user, sizeof(user)), CG_OK);
    assert_int_equal(cg__auth_check(a, right, "2001:db8::5", user, sizeof(user)), CG_OK);
    fake_now += 29999;
    assert_int_equal(cg__auth_check(a, right, "203.0.113.5", user, sizeof(user)), CG_ERATELIMIT);
    fake_now += 1;
    assert_int_equal(cg__auth_check(a, right, "203.0.113.5", user, sizeof(user)), CG_OK);
    /* The window: failures older than window_s are forgotten. */
    assert_int_equal(cg__auth_check(a, wrong, "203.0.113.5", user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, wrong, "203.0.113.5", user, sizeof(user)), CG_EAUTH);
    fake_now += 10000;
    assert_int_equal(cg__auth_check(a, wrong, "203.0.113.5", user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, right, "203.0.113.5", user, sizeof(user)), CG_OK);
    /* A success does not lower the count (test_auth_rules.c has the rule). */
    assert_int_equal(cg__auth_check(a, wrong, "203.0.113.5", user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, right, "203.0.113.5", user, sizeof(user)), CG_OK);
    assert_int_equal(cg__auth_check(a, wrong, "203.0.113.5", user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, right, "203.0.113.5", user, sizeof(user)), CG_ERATELIMIT);
    /* Malformed headers count too. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(cg__auth_check(a, "Basic !", "203.0.113.9", user, sizeof(user)),
                         CG_EAUTH);
    assert_int_equal(cg__auth_check(a, right, "203.0.113.9", user, sizeof(user)), CG_ERATELIMIT);
    cg__auth_free(a);
}

/* A 1 s lockout (lockout_s counts seconds): it holds through 999 ms and
 * ends at 1000 ms, on the injected clock (no sleeping against real time). */
static void test_rate_limit_real_clock(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char user[129];
    struct cg_auth_limits lim = {.max_failures = 2, .window_s = 5, .lockout_s = 1};
    assert_int_equal(cg__auth_load(ctx, good_file(), &lim, &a), CG_OK);
    fake_now = 7000000;
    cg__auth_set_clock(a, fake_clock, NULL);
    assert_int_equal(cg__auth_check(a, "Basic x", "192.0.2.50", user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, "Basic x", "192.0.2.50", user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, tu_basic("bob:bob-pw"), "192.0.2.50", user, sizeof(user)),
                     CG_ERATELIMIT);
    fake_now += 999;
    assert_int_equal(cg__auth_check(a, tu_basic("bob:bob-pw"), "192.0.2.50", user, sizeof(user)),
                     CG_ERATELIMIT);
    fake_now += 1;
    assert_int_equal(cg__auth_check(a, tu_basic("bob:bob-pw"), "192.0.2.50", user, sizeof(user)),
                     CG_OK);
    cg__auth_free(a);
}

static void test_table_bounded(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char user[129], addr[64];
    struct cg_auth_limits lim = {.max_failures = 2, .window_s = 60, .lockout_s = 300};
    assert_int_equal(cg__auth_load(ctx, good_file(), &lim, &a), CG_OK);
    fake_now = 5000000;
    cg__auth_set_clock(a, fake_clock, NULL);
    cg_ctx_set_log(ctx, tu_log_fn, logp, CG_LOG_ERROR); /* 100k warnings: not kept */
    assert_int_equal(cg__auth_check(a, "Basic !", "10.0.0.1", user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, "Basic !", "10.0.0.1", user, sizeof(user)), CG_EAUTH);
    for (unsigned i = 0; i < 100000; i++) {
        snprintf(addr, sizeof(addr), "2001:db8::%x:%x", i >> 16, i & 0xffff);
        assert_int_equal(cg__auth_check(a, "Basic !", addr, user, sizeof(user)), CG_EAUTH);
        if (i % 10 == 0)
            fake_now++;
    }
    assert_true(cg__auth_peer_count(a) <= 1024);
    assert_true(cg__auth_peer_count(a) >= 1000);
    /* The flood did not evict the locked address. */
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "10.0.0.1", user, sizeof(user)),
                     CG_ERATELIMIT);
    /* An over-long address is cut consistently: it still gets locked. */
    char longaddr[200];
    memset(longaddr, '7', sizeof(longaddr) - 1);
    longaddr[sizeof(longaddr) - 1] = '\0';
    assert_int_equal(cg__auth_check(a, "Basic !", longaddr, user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, "Basic !", longaddr, user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg__auth_check(a, "Basic !", longaddr, user, sizeof(user)), CG_ERATELIMIT);
    cg__auth_free(a);
}

/* ---- reload ---- */

static void test_reload(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char user[129], text[512];
    snprintf(text, sizeof(text), "alice:%s\n", y_alice);
    const char *p = write_file("reload", text, 0600);
    assert_int_equal(cg__auth_load(ctx, p, NULL, &a), CG_OK);
    /* Broken file: the old credentials stay. */
    write_file("reload", "alice:$1$x$y\n", 0600);
    assert_int_equal(cg__auth_reload(a), CG_EFILE);
    assert_true(tu_log_has(logp, "reload failed (CG_EFILE); keeping the previous 1 user(s)"));
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.9", user, sizeof(user)),
                     CG_OK);
    assert_int_equal(chmod(p, 0604), 0);
    assert_int_equal(cg__auth_reload(a), CG_EPERM);
    unlink(p);
    assert_int_equal(cg__auth_reload(a), CG_EFILE);
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.9", user, sizeof(user)),
                     CG_OK);
    /* A good file replaces them. */
    snprintf(text, sizeof(text), "bob:%s\n", b_bob);
    write_file("reload", text, 0600);
    assert_int_equal(cg__auth_reload(a), CG_OK);
    assert_int_equal(cg__auth_check(a, tu_basic("bob:bob-pw"), "192.0.2.9", user, sizeof(user)),
                     CG_OK);
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.9", user, sizeof(user)),
                     CG_EAUTH);
    assert_int_equal(cg__auth_reload(NULL), CG_EINVAL);
    cg__auth_free(a);
}

/* ---- hashing and the passwd functions ---- */

static void test_hash_line(void **state)
{
    (void)state;
    char *line = NULL;
    assert_int_equal(cg__auth_hash_line("dave", "dave pw:with colon", &line), CG_OK);
    assert_true(strncmp(line, "dave:$y$", 8) == 0);
    char text[512];
    snprintf(text, sizeof(text), "%s\n", line);
    free(line);
    struct cg_auth *a = NULL;
    char user[129];
    assert_int_equal(cg__auth_load(ctx, write_file("hashed", text, 0600), NULL, &a), CG_OK);
    assert_int_equal(cg__auth_check(a, tu_basic("dave:dave pw:with colon"), "192.0.2.3", user,
                                    sizeof(user)),
                     CG_OK);
    assert_int_equal(cg__auth_verify(a, "dave", 4, "dave pw:with colon"), CG_OK);
    assert_int_equal(cg__auth_verify(a, "dave", 4, "x"), CG_EAUTH);
    assert_int_equal(cg__auth_verify(a, "eve", 3, "x"), CG_ENOTFOUND);
    cg__auth_free(a);
    line = NULL;
    assert_int_equal(cg__auth_hash_line("a:b", "pw", &line), CG_EINVAL);
    assert_int_equal(cg__auth_hash_line("a\n", "pw", &line), CG_EINVAL);
    assert_int_equal(cg__auth_hash_line("", "pw", &line), CG_EINVAL);
    assert_int_equal(cg__auth_hash_line("a", "p\rw", &line), CG_EINVAL);
    assert_int_equal(cg__auth_hash_line(NULL, "pw", &line), CG_EINVAL);
    assert_null(line);
}

static void test_crypt_failures(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    char user[129];
    char *line = NULL;
    assert_int_equal(cg__auth_load(ctx, good_file(), NULL, &a), CG_OK);
    for (fail_crypt = 1; fail_crypt <= 2; fail_crypt++) {
        assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.4", user,
                                        sizeof(user)),
                         CG_EAUTH);
        assert_int_equal(cg__auth_check(a, tu_basic("nobody:x"), "192.0.2.4", user, sizeof(user)),
                         CG_EAUTH);
        assert_int_equal(cg__auth_hash_line("dave", "pw", &line), CG_EINTERNAL);
        assert_int_equal(cg_passwd_set(path_of("never"), "dave", "pw"), CG_EINTERNAL);
    }
    assert_true(tu_log_has(logp, "192.0.2.4: user 'alice': libcrypt failed to hash; refused"));
    assert_int_equal(access(path_of("never"), F_OK), -1);
    fail_crypt = 0;
    fail_gensalt = 1;
    assert_int_equal(cg__auth_hash_line("dave", "pw", &line), CG_EINTERNAL);
    fail_gensalt = 0;
    assert_null(line);
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.4", user, sizeof(user)),
                     CG_OK);
    cg__auth_free(a);
}

static size_t count_entries(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "ls -A '%s/pw' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    unsigned n = 0;
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%u", &n), 1);
    pclose(p);
    return n;
}

static void test_passwd_file(void **state)
{
    (void)state;
    char sub[128], file[160];
    snprintf(sub, sizeof(sub), "%s/pw", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(file, sizeof(file), "%s/users", sub);
    assert_int_equal(cg_passwd_delete(file, "x"), CG_EFILE);
    assert_int_equal(cg_passwd_set(file, "alice", "one"), CG_OK);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Comments, other lines (even ones castgate would refuse) stay as they are. */
    FILE *f = fopen(file, "ab");
    fputs("# keep me\r\nlegacy:$apr1$abc$def\n", f);
    fclose(f);
    assert_int_equal(cg_passwd_set(file, "bob", "two"), CG_OK);
    assert_int_equal(cg_passwd_set(file, "alice", "three"), CG_OK);
    size_t len = 0;
    char *text = (char *)tu_read(file, &len);
    assert_true(strncmp(text, "alice:$y$", 9) == 0);
    assert_non_null(strstr(text, "\n# keep me\r\nlegacy:$apr1$abc$def\nbob:$y$"));
    assert_null(strstr(text + 1, "alice:"));
    free(text);
    assert_int_equal(cg_passwd_check(file, "alice", "three"), CG_EFILE); /* legacy line */
    assert_int_equal(cg_passwd_delete(file, "legacy"), CG_OK);
    assert_int_equal(cg_passwd_check(file, "alice", "three"), CG_OK);
    assert_int_equal(cg_passwd_check(file, "alice", "one"), CG_EAUTH);
    assert_int_equal(cg_passwd_check(file, "bob", "two"), CG_OK);
    assert_int_equal(cg_passwd_check(file, "carol", "two"), CG_ENOTFOUND);
    assert_int_equal(cg_passwd_delete(file, "alice"), CG_OK);
    assert_int_equal(cg_passwd_delete(file, "alice"), CG_ENOTFOUND);
    assert_int_equal(cg_passwd_check(file, "alice", "three"), CG_ENOTFOUND);
    assert_int_equal(count_entries(), 1); /* no temporary file left */
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Refusals. */
    assert_int_equal(cg_passwd_set(file, "a:b", "x"), CG_EINVAL);
    assert_int_equal(cg_passwd_set(file, "ok", ""), CG_EINVAL);
    assert_int_equal(cg_passwd_set(file, "ok", "a\nb"), CG_EINVAL);
    assert_int_equal(cg_passwd_set(NULL, "ok", "x"), CG_EINVAL);
    assert_int_equal(cg_passwd_delete(file, "a\tb"), CG_EINVAL);
    assert_int_equal(chmod(file, 0644), 0);
    assert_int_equal(cg_passwd_set(file, "carol", "x"), CG_EPERM);
    assert_int_equal(cg_passwd_delete(file, "bob"), CG_EPERM);
    assert_int_equal(cg_passwd_check(file, "bob", "two"), CG_EPERM);
    assert_int_equal(chmod(file, 0600), 0);
    char link[200];
    snprintf(link, sizeof(link), "%s/link", sub);
    assert_int_equal(symlink(file, link), 0);
    assert_int_equal(cg_passwd_set(link, "carol", "x"), CG_EFILE);
    unlink(link);
    /* An unwritable directory: CG_EIO, the file unchanged, nothing left behind. */
    if (geteuid() != 0) {
        assert_int_equal(chmod(sub, 0500), 0);
        assert_int_equal(cg_passwd_set(file, "carol", "x"), CG_EIO);
        assert_int_equal(chmod(sub, 0700), 0);
    }
    assert_int_equal(count_entries(), 1);
    assert_int_equal(cg_passwd_set("/nonexistent-dir/users", "carol", "x"), CG_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_bad_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_mode_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_three_hash_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_wrong_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_basic_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_real_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crypt_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passwd_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
