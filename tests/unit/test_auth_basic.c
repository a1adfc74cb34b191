/* The Basic Authorization parser (src/mos4/auth.c, cg__auth_parse_basic;
 * M-05, RFC 7617 over strict RFC 4648 base64) at its edges: the scheme and
 * the white space around it, base64 padding, characters outside the
 * alphabet, non-zero unused bits, the length bound and the buffer, the
 * user-id and password rules, and which error each refusal gives. Written
 * before the parser moved to the byte cursor (issue 16) and run on both. */
#include "testutil.h"
#include "mos4/auth.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[CG_AUTH_B64_MAX / 4 * 3 + 16];

/* value (len bytes) parsed into buf (bufsz). */
static enum cg_err parse_n(const char *value, size_t len, size_t bufsz, struct cg_auth_basic *b)
{
    memset(buf, 0xEE, sizeof(buf));
    return cg__auth_parse_basic(value, len, buf, bufsz, b);
}

static enum cg_err parse(const char *value, struct cg_auth_basic *b)
{
    return parse_n(value, strlen(value), sizeof(buf), b);
}

/* value must give rc. */
static void expect(const char *value, enum cg_err rc)
{
    struct cg_auth_basic b;
    enum cg_err got = parse(value, &b);
    if (got != rc)
        fail_msg("'%s': %s, expected %s", value, cg_errname(got), cg_errname(rc));
}

/* value must give user and password. */
static void gives(const char *value, const char *user, const char *password)
{
    struct cg_auth_basic b;
    enum cg_err rc = parse(value, &b);
    if (rc != CG_OK)
        fail_msg("'%s': %s", value, cg_errname(rc));
    assert_ptr_equal(b.user, (const char *)buf);
    assert_int_equal(b.user_len, strlen(user));
    assert_memory_equal(b.user, user, b.user_len);
    assert_ptr_equal(b.password, b.user + b.user_len + 1);
    assert_int_equal(b.password_len, strlen(password));
    assert_memory_equal(b.password, password, b.password_len);
}

/* "Basic " + base64(plain, n) into v (NUL-terminated). */
static void basic(char *v, size_t vsz, const void *plain, size_t n)
{
    assert_true(6 + 4 * ((n + 2) / 3) < vsz);
    memcpy(v, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)v + 6, plain, (int)n);
}

/* The scheme: "Basic" in any case, then 1*SP; OWS (SP, HTAB) around the
 * whole value. */
static void test_scheme_and_spaces(void **state)
{
    (void)state;
    gives("Basic dTpw", "u", "p");
    gives("basic dTpw", "u", "p");
    gives("BASIC dTpw", "u", "p");
    gives("bAsIc dTpw", "u", "p");
    gives("Basic     dTpw", "u", "p");
    gives(" \t Basic dTpw \t ", "u", "p");
    gives("\tBasic dTpw\t", "u", "p");
    static const char *const bad[] = {
        "",          " ",          "Basic",     "Basic ",     "Basic \t",   "Basi dTpw",
        "Basicx dTpw", "Basic\tdTpw", "BasicdTpw", "Bearer dTpw", "Digest dTpw", "Basi\xe3 dTpw",
        "Basic,dTpw", "xBasic dTpw", "Basi  dTpw", "Ba ic dTpw", "\nBasic dTpw", "Basic\x0b" "dTpw",
        "B@SIC dTpw", "Ba\x13ic dTpw", "Basic\xa0" "dTpw",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        expect(bad[i], CG_EAUTH);
    /* white space inside or after the token that is not trailing OWS */
    static const char *const enc[] = {
        "Basic \tdTpw", "Basic dT pw", "Basic dTpw\n", "Basic dTpw\r", "Basic dTpw \r",
        "Basic dTpw\v", "Basic dTpw,", "Basic dTpw dTpw",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(enc); i++)
        expect(enc[i], CG_EENCODING);
}

/* Padding: a multiple of 4 characters, '=' only as the last one or two. */
static void test_padding(void **state)
{
    (void)state;
    gives("Basic dTo=", "u", "");          /* "u:" */
    gives("Basic dTpw", "u", "p");         /* "u:p", no padding */
    gives("Basic dTpwcQ==", "u", "pq");    /* two */
    gives("Basic dTpwcXI=", "u", "pqr");   /* one */
    gives("Basic dTpwcXJz", "u", "pqrs");  /* none, two groups */
    static const char *const bad[] = {
        "Basic dTpwcQ",   "Basic dTpwcQ=",  "Basic dTpwcQ===", "Basic dTpwcXI", "Basic dTpwc",
        "Basic dTpwcQ=a", "Basic dTpwc===", "Basic dTpw====",  "Basic ====",    "Basic =",
        "Basic dTo=dTpw", "Basic dT==dTpw", "Basic =dTp",      "Basic d=pw",    "Basic dT=w",
        "Basic dTpw=",    "Basic dTpw==",   "Basic dTpw===",   "Basic d",       "Basic dT",
        "Basic dTp",      "Basic dTpwc=Q=",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        expect(bad[i], CG_EENCODING);
}

/* Outside the standard alphabet (base64url's '-' and '_', '.', NUL, bytes
 * over 0x7F), and unused bits that are not zero (a second spelling). */
static void test_alphabet_and_unused_bits(void **state)
{
    (void)state;
    gives("Basic Kys6Ly8=", "++", "//"); /* the two last characters: "Kys6Ly8=" */
    gives("Basic ejo5", "z", "9");
    static const char *const bad[] = {
        "Basic dTp-", "Basic dTp_", "Basic dTp.", "Basic dTp!", "Basic dTp\x80",
        "Basic dTp\xff", "Basic \xc3\xa4Tpw", "Basic dTp*", "Basic dTp@", "Basic dTp[",
        "Basic dTp`", "Basic dTp{", "Basic dTp:", "Basic dTp/=", "Basic dTp\x7f",
        "Basic dTq=",  /* "u:" with the low 2 bits set */
        "Basic dTr=",  /* and the other */
        "Basic dR==",  /* "u" with the low 4 bits set */
        "Basic dTpwcR==", "Basic dTpwcXJ=",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        expect(bad[i], CG_EENCODING);
    /* a NUL inside the value (the length says where it ends) */
    struct cg_auth_basic b;
    assert_int_equal(parse_n("Basic dT\0w", 10, sizeof(buf), &b), CG_EENCODING);
    assert_int_equal(parse_n("Basic dTpw\0", 11, sizeof(buf), &b), CG_EENCODING);
    /* the value is pointer + length: what follows is not read */
    assert_int_equal(parse_n("Basic dTpwXXXX", 10, sizeof(buf), &b), CG_OK);
    assert_int_equal(b.password_len, 1);
    assert_int_equal(parse_n("Basic dTpw!!!!", 10, sizeof(buf), &b), CG_OK);
}

/* The length bound: CG_AUTH_B64_MAX characters of token (white space
 * around it not counted); beyond it CG_ETOOBIG, checked before the base64
 * and before the buffer size. */
static void test_length_bound(void **state)
{
    (void)state;
    static char v[CG_AUTH_B64_MAX + 64];
    static uint8_t plain[CG_AUTH_B64_MAX];
    size_t n = CG_AUTH_B64_MAX / 4 * 3; /* base64: exactly CG_AUTH_B64_MAX characters */
    memset(plain, 'p', n);
    plain[0] = 'u';
    plain[1] = ':';
    basic(v, sizeof(v), plain, n);
    assert_int_equal(strlen(v), 6 + CG_AUTH_B64_MAX);
    struct cg_auth_basic b;
    assert_int_equal(parse(v, &b), CG_OK);
    assert_int_equal(b.password_len, n - 2);
    /* exactly the buffer the bound needs, and one byte less */
    assert_int_equal(parse_n(v, strlen(v), n, &b), CG_OK);
    assert_int_equal(parse_n(v, strlen(v), n - 1, &b), CG_EINVAL);
    /* with spaces around: not counted */
    size_t wsz = sizeof(v) + 32;
    char *w = malloc(wsz);
    assert_non_null(w);
    snprintf(w, wsz, " \tBasic   %s \t ", v + 6);
    assert_int_equal(parse(w, &b), CG_OK);
    /* one character more (not base64 any more) and one group more: too big,
     * whatever the buffer */
    snprintf(w, wsz, "%sA", v);
    assert_int_equal(parse(w, &b), CG_ETOOBIG);
    assert_int_equal(parse_n(w, strlen(w), 1, &b), CG_ETOOBIG);
    snprintf(w, wsz, "%sdTpw", v);
    assert_int_equal(parse(w, &b), CG_ETOOBIG);
    snprintf(w, wsz, "Basic %s!", v + 6); /* '!' past the bound */
    assert_int_equal(parse(w, &b), CG_ETOOBIG);
    /* the buffer is checked before the base64 */
    assert_int_equal(parse_n("Basic !!!!", 10, 2, &b), CG_EINVAL);
    assert_int_equal(parse_n("Basic !!!!", 10, 3, &b), CG_EENCODING);
    assert_int_equal(parse_n("Basic dTpwcQ==", 14, 5, &b), CG_EINVAL); /* (8/4)*3 = 6 */
    assert_int_equal(parse_n("Basic dTpwcQ==", 14, 6, &b), CG_OK);
    free(w);
}

/* user-id ":" password: a user-id of 1..CG_AUTH_USER_MAX bytes without
 * ':', a password that may hold ':', neither a control character. */
static void test_user_and_password(void **state)
{
    (void)state;
    static const struct {
        const char *plain;
        size_t n;
        enum cg_err rc;
        size_t user_len;
    } cases[] = {
        {"u:p:q", 5, CG_OK, 1},       {"u::", 3, CG_OK, 1},        {"u:", 2, CG_OK, 1},
        {"u:p\x80\xff", 5, CG_OK, 1}, {"\xc3\xa4:pw", 5, CG_OK, 2}, {"u:p w", 5, CG_OK, 1},
        {":", 1, CG_EAUTH, 0},        {":pw", 3, CG_EAUTH, 0},     {"u", 1, CG_EAUTH, 0},
        {"upw", 3, CG_EAUTH, 0},      {"u\tx:pw", 6, CG_EAUTH, 0}, {"u:p\tw", 5, CG_EAUTH, 0},
        {"u:p\x7f", 4, CG_EAUTH, 0},  {"u:p\0", 4, CG_EAUTH, 0},   {"u\0:p", 4, CG_EAUTH, 0},
        {"u:p\x1f", 4, CG_EAUTH, 0},  {"u:p\n", 4, CG_EAUTH, 0},   {"u:p\r", 4, CG_EAUTH, 0},
        {"\x7fu:p", 4, CG_EAUTH, 0},
    };
    char v[1024];
    struct cg_auth_basic b;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        basic(v, sizeof(v), cases[i].plain, cases[i].n);
        enum cg_err rc = parse(v, &b);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): %s, expected %s", i, v, cg_errname(rc),
                     cg_errname(cases[i].rc));
        if (rc != CG_OK)
            continue;
        assert_int_equal(b.user_len, cases[i].user_len);
        assert_int_equal(b.user_len + 1 + b.password_len, cases[i].n);
        assert_memory_equal(buf, cases[i].plain, cases[i].n);
    }
    /* the user-id's bound: CG_AUTH_USER_MAX bytes, not one more */
    char plain[CG_AUTH_USER_MAX + 8];
    memset(plain, 'a', sizeof(plain));
    memcpy(plain + CG_AUTH_USER_MAX, ":pw", 3);
    basic(v, sizeof(v), plain, CG_AUTH_USER_MAX + 3);
    assert_int_equal(parse(v, &b), CG_OK);
    assert_int_equal(b.user_len, CG_AUTH_USER_MAX);
    memcpy(plain + CG_AUTH_USER_MAX, "a:pw", 4);
    basic(v, sizeof(v), plain, CG_AUTH_USER_MAX + 4);
    assert_int_equal(parse(v, &b), CG_EAUTH);
}

/* Arguments. */
static void test_arguments(void **state)
{
    (void)state;
    struct cg_auth_basic b;
    assert_int_equal(cg__auth_parse_basic(NULL, 0, buf, sizeof(buf), &b), CG_EINVAL);
    assert_int_equal(cg__auth_parse_basic("Basic dTpw", 10, NULL, 3, &b), CG_EINVAL);
    assert_int_equal(cg__auth_parse_basic("Basic dTpw", 10, buf, 3, NULL), CG_EINVAL);
    assert_int_equal(cg__auth_parse_basic(NULL, 10, buf, 3, &b), CG_EINVAL);
    assert_int_equal(cg__auth_parse_basic("", 0, buf, 0, &b), CG_EAUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheme_and_spaces),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_alphabet_and_unused_bits),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_user_and_password),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
