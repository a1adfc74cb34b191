/* The CA database (src/cert/db.c) in `openssl ca` index format, the RFC 5280
 * reason names, and serial numbers (random and user-given). Sans-I/O except
 * cg__db_load's missing-file case. */
#include "cert/cert.h"
#include "testutil.h"

#include <openssl/bn.h>
#include <stdlib.h>
#include <string.h>

static void parse_ok(const char *text, struct cg_db *db)
{
    size_t bad = 99;
    enum cg_err rc = cg__db_parse(text, strlen(text), db, &bad);
    if (rc != CG_OK)
        fail_msg("%s: line %zu refused (%s)", text, bad, cg_errname(rc));
}

static void parse_bad(const char *text, size_t want_line)
{
    struct cg_db db = {0};
    size_t bad = 0;
    enum cg_err rc = cg__db_parse(text, strlen(text), &db, &bad);
    if (rc != CG_EFILE || bad != want_line)
        fail_msg("'%s': %s at line %zu, want CG_EFILE at %zu", text, cg_errname(rc), bad,
                 want_line);
    assert_int_equal(db.n, 0); /* nothing half-parsed is handed back */
    assert_null(db.rows);
}

/* RFC 5280 §5.3.1 CRLReason, by the names `openssl ca` writes. */
static void test_reason_names(void **state)
{
    (void)state;
    static const char *const names[] = {"unspecified", "keyCompromise", "CACompromise",
                                        "affiliationChanged", "superseded",
                                        "cessationOfOperation", "certificateHold", NULL,
                                        "removeFromCRL"};
    for (int i = 0; i < (int)CG_ARRAY_LEN(names); i++) {
        if (names[i] == NULL) {
            assert_null(cg__db_reason_name(i)); /* 7 is not used */
            continue;
        }
        assert_string_equal(cg__db_reason_name(i), names[i]);
        assert_int_equal(cg__db_reason_code(names[i]), i);
    }
    assert_null(cg__db_reason_name(-1));
    assert_null(cg__db_reason_name(9));
    assert_null(cg__db_reason_name(10)); /* aACompromise: not offered */
    assert_int_equal(cg__db_reason_code("KeyCompromise"), -1); /* exact spelling */
    assert_int_equal(cg__db_reason_code(""), -1);
    assert_int_equal(cg__db_reason_code("keyCompromise "), -1);
}

/* Every reason fits in the revocation field with either date form, as
 * `openssl ca -revoke -crl_reason` writes it, and survives a round trip. */
static void test_every_reason_round_trips(void **state)
{
    (void)state;
    const char *dates[] = {"261124114140Z", "20261124114140Z"};
    for (size_t d = 0; d < CG_ARRAY_LEN(dates); d++) {
        for (int reason = 1; reason <= 8; reason++) {
            const char *name = cg__db_reason_name(reason);
            if (name == NULL)
                continue;
            char line[256];
            snprintf(line, sizeof(line), "R\t271226113640Z\t%s,%s\t61788C27\tunknown\t/CN=b\n",
                     dates[d], name);
            struct cg_db db = {0};
            parse_ok(line, &db);
            assert_int_equal(db.n, 1);
            char want[64];
            snprintf(want, sizeof(want), "%s,%s", dates[d], name);
            assert_string_equal(db.rows[0].revoked, want);
            struct cg_buf b;
            cg__buf_init(&b, 0);
            assert_int_equal(cg__db_format(&db, &b), CG_OK);
            assert_int_equal(b.len, strlen(line));
            assert_memory_equal(b.data, line, b.len);
            cg__buf_free(&b);
            cg__db_free(&db);
        }
    }
}

static void test_fields(void **state)
{
    (void)state;
    struct cg_db db = {0};
    /* The file name field is kept as "unknown" whatever it said. */
    parse_ok("V\t271226113639Z\t\t0A\tcerts/0A.pem\t/CN=a/O=Org, Inc.\n", &db);
    assert_int_equal(db.rows[0].status, 'V');
    assert_string_equal(db.rows[0].expires, "271226113639Z");
    assert_string_equal(db.rows[0].revoked, "");
    assert_string_equal(db.rows[0].serial, "0A");
    assert_string_equal(db.rows[0].subject, "/CN=a/O=Org, Inc.");
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__db_format(&db, &b), CG_OK);
    assert_int_equal(b.len, strlen("V\t271226113639Z\t\t0A\tunknown\t/CN=a/O=Org, Inc.\n"));
    assert_memory_equal(b.data, "V\t271226113639Z\t\t0A\tunknown\t/CN=a/O=Org, Inc.\n", b.len);
    cg__buf_free(&b);
    cg__db_free(&db);
    /* The last line may lack its newline; the subject may hold tabs. */
    parse_ok("V\t271226113639Z\t\t0A\tunknown\t/CN=a\tb", &db);
    assert_int_equal(db.n, 1);
    assert_string_equal(db.rows[0].subject, "/CN=a\tb");
    cg__db_free(&db);
    /* An empty subject is allowed (openssl writes one for odd certificates). */
    parse_ok("E\t201226113639Z\t\tFF\tunknown\t\n", &db);
    assert_string_equal(db.rows[0].subject, "");
    cg__db_free(&db);
    /* The longest serial (20 octets, 40 digits) fits. */
    parse_ok("V\t271226113639Z\t\t7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\tunknown\t/CN=a\n",
             &db);
    assert_int_equal(strlen(db.rows[0].serial), 40);
    cg__db_free(&db);
}

static void test_refused_lines(void **state)
{
    (void)state;
    parse_bad("V\t271226113639Z\t\t0A\tunknown\t/CN=a\r\n", 1);  /* CR: a control char */
    parse_bad("V\t271226113639Z\t261124114140Z\t0A\tunknown\t/CN=a\n", 1); /* valid+date */
    parse_bad("R\t271226113639Z\t\t0A\tunknown\t/CN=a\n", 1);   /* revoked, no date */
    parse_bad("VV\t271226113639Z\t\t0A\tunknown\t/CN=a\n", 1);
    parse_bad("v\t271226113639Z\t\t0A\tunknown\t/CN=a\n", 1);
    parse_bad("V\t271226113639\t\t0A\tunknown\t/CN=a\n", 1);    /* no Z */
    parse_bad("V\t271226113639Z\t\t\tunknown\t/CN=a\n", 1);     /* no serial */
    parse_bad("V\t271226113639Z\t\t0G\tunknown\t/CN=a\n", 1);
    parse_bad("V\t271226113639Z\t\t-0A\tunknown\t/CN=a\n", 1);
    parse_bad("V\t271226113639Z\t\t0A", 1);
    parse_bad("V", 1);
    parse_bad("\t\t\t\t\t\n", 1);
    /* 41 digits: longer than RFC 5280 allows (20 octets). */
    parse_bad("V\t271226113639Z\t\t7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\tunknown\t/CN=a\n",
              1);
    /* A subject longer than the row keeps (255) is refused, not cut. */
    char line[400];
    int n = snprintf(line, sizeof(line), "V\t271226113639Z\t\t0A\tunknown\t/CN=");
    memset(line + n, 'x', 260);
    line[n + 260] = '\n';
    line[n + 261] = '\0';
    parse_bad(line, 1);
    /* The bad line is counted from 1 among good ones. */
    parse_bad("V\t271226113639Z\t\t0A\tunknown\t/CN=a\n"
              "V\t271226113639Z\t\t0B\tunknown\t/CN=b\n"
              "V\t271226113639Z\t\t0c\tunknown\t/CN=c\n",
              3);
    parse_bad("V\t271226113639Z\t\t0A\tunknown\t/CN=a\n\n", 2); /* an empty line */
    /* A NUL byte inside the text. */
    const char nul[] = "V\t271226113639Z\t\t0A\tunknown\t/CN=a\0b\n";
    struct cg_db db = {0};
    size_t bad = 0;
    assert_int_equal(cg__db_parse(nul, sizeof(nul) - 1, &db, &bad), CG_EFILE);
    assert_int_equal(bad, 1);
    /* bad_line may be NULL. */
    assert_int_equal(cg__db_parse("X", 1, &db, NULL), CG_EFILE);
}

static void test_add_find_grow(void **state)
{
    (void)state;
    struct cg_db db = {0};
    for (int i = 0; i < 100; i++) { /* past the first allocation (16) several times */
        struct cg_db_row r = {.status = 'V'};
        snprintf(r.expires, sizeof(r.expires), "271226113639Z");
        snprintf(r.serial, sizeof(r.serial), "%02X", i);
        snprintf(r.subject, sizeof(r.subject), "/CN=h%d", i);
        assert_int_equal(cg__db_add(&db, &r), CG_OK);
    }
    assert_int_equal(db.n, 100);
    assert_true(db.cap >= 100);
    struct cg_db_row *r = cg__db_find(&db, "3F");
    assert_non_null(r);
    assert_string_equal(r->subject, "/CN=h63");
    assert_null(cg__db_find(&db, "3f"));  /* serials are compared as written: uppercase */
    assert_null(cg__db_find(&db, "003F")); /* and without leading zeros beyond BN_bn2hex's */
    assert_null(cg__db_find(&db, "64"));
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__db_format(&db, &b), CG_OK);
    struct cg_db again = {0};
    assert_int_equal(cg__db_parse((const char *)b.data, b.len, &again, NULL), CG_OK);
    assert_int_equal(again.n, 100);
    assert_memory_equal(again.rows, db.rows, 100 * sizeof(*db.rows));
    cg__buf_free(&b);
    cg__db_free(&again);
    cg__db_free(&db);
    assert_int_equal(db.n, 0);
    assert_null(db.rows);
    cg__db_free(&db); /* twice is harmless */
    size_t bad = 7;
    assert_int_equal(cg__db_load("/nonexistent/index.txt", &db, &bad), CG_EFILE);
    assert_int_equal(bad, 0);
}

/* User-given serials ("0x1F", "1f", "01:2A") in BN_bn2hex form. */
static void test_norm_serial(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"1", "01"},       {"0X1F", "1F"},   {"abc", "0ABC"},      {"00:00", "00"},
        {"0000001", "01"}, {"ff:ff", "FFFF"}, {"70c6af3b", "70C6AF3B"},
        {"::1::", "01"},
        {"7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"},
        /* leading zeros do not count toward the 20 octets */
        {"00007FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"},
    };
    char out[CG_CERT_MAX_SERIAL_HEX];
    for (size_t i = 0; i < CG_ARRAY_LEN(ok); i++) {
        memset(out, '#', sizeof(out));
        enum cg_err rc = cg__cert_norm_serial(ok[i].in, out);
        if (rc != CG_OK || strcmp(out, ok[i].out) != 0)
            fail_msg("%s: %s '%.41s', want '%s'", ok[i].in, cg_errname(rc), out, ok[i].out);
    }
    static const char *const bad[] = {"0x", "0x0x1", "-1", "+1", "1 2", "0x:", ":", "g", "1.2",
                                      "١"};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        if (cg__cert_norm_serial(bad[i], out) != CG_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    /* 41 significant digits: longer than the database holds. */
    assert_int_equal(cg__cert_norm_serial("1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", out),
                     CG_ERANGE);
}

static void test_random_serial_is_der_positive(void **state)
{
    (void)state;
    for (int i = 0; i < 64; i++) {
        ASN1_INTEGER *a = NULL;
        char hex[CG_CERT_MAX_SERIAL_HEX];
        assert_int_equal(cg__cert_random_serial(&a, hex), CG_OK);
        /* RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 octets here with
         * the top bit clear, so DER needs no 00 in front. */
        unsigned char *der = NULL;
        int n = i2d_ASN1_INTEGER(a, &der);
        assert_int_equal(n, 18);
        assert_int_equal(der[0], 0x02);
        assert_int_equal(der[1], 16);
        assert_int_equal(der[2] & 0xc0, 0x40);
        /* hex is the same number, as the database writes it */
        BIGNUM *bn = ASN1_INTEGER_to_BN(a, NULL);
        char *h = BN_bn2hex(bn);
        assert_string_equal(hex, h);
        char norm[CG_CERT_MAX_SERIAL_HEX];
        assert_int_equal(cg__cert_norm_serial(hex, norm), CG_OK);
        assert_string_equal(norm, hex);
        OPENSSL_free(h);
        BN_free(bn);
        OPENSSL_free(der);
        ASN1_INTEGER_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_every_reason_round_trips),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_refused_lines),
        cmocka_unit_test(test_add_find_grow),
        cmocka_unit_test(test_norm_serial),
        cmocka_unit_test(test_random_serial_is_der_positive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
