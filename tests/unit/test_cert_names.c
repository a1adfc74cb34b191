/* Host names in certificates (src/cert/names.c): the BCP-003-01 B-11 rules
 * (no IP addresses, no wildcards unless asked) and DNS host-name syntax
 * (RFC 1035 §2.3.1 / RFC 1123 §2.1: labels of letters, digits and '-', 1..63
 * octets, 253 in all; RFC 5280 §4.2.1.6: a dNSName is in "preferred name
 * syntax"; RFC 6125 §6.4.3: a wildcard only as the whole leftmost label). */
#include "cert/cert.h"
#include "testutil.h"

#include <string.h>

struct host_case {
    const char *name;
    bool wild, ip;
    enum cg_err want;
    const char *why; /* a substring of the reason, or NULL for none */
};

static void run_cases(const struct host_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *why = "unset";
        enum cg_err rc = cg_cert_check_host(c[i].name, c[i].wild, c[i].ip, &why);
        if (rc != c[i].want)
            fail_msg("'%s': got %s, want %s", c[i].name, cg_errname(rc), cg_errname(c[i].want));
        if (c[i].why == NULL) {
            if (why != NULL)
                fail_msg("'%s': unexpected reason '%s'", c[i].name, why);
        } else if (why == NULL || strstr(why, c[i].why) == NULL) {
            fail_msg("'%s': reason '%s' lacks '%s'", c[i].name, why ? why : "(null)", c[i].why);
        }
    }
}

/* RFC 1123 §2.1 host names that must pass, and syntax that must not. */
static void test_dns_syntax(void **state)
{
    (void)state;
    static const struct host_case cases[] = {
        {"a", false, false, CG_OK, NULL},
        {"A.EXAMPLE.COM", false, false, CG_OK, NULL},  /* case is not significant */
        {"3com.example", false, false, CG_OK, NULL},   /* RFC 1123: may start with a digit */
        {"x-1.y-2.example", false, false, CG_OK, NULL},
        {"xn--bcher-kva.example", false, false, CG_OK, NULL}, /* an A-label (RFC 5890) */
        {"a.b.c.d.e.f.g.example", false, false, CG_OK, NULL},
        {"a-.example", false, false, CG_EINVAL, "not a valid DNS name"},
        {"a.-b.example", false, false, CG_EINVAL, "not a valid DNS name"},
        {".example", false, false, CG_EINVAL, "not a valid DNS name"},
        {".", false, false, CG_EINVAL, "not a valid DNS name"},
        {"..", false, false, CG_EINVAL, "not a valid DNS name"},
        {"a b", false, false, CG_EINVAL, "not a valid DNS name"},
        {"a\tb", false, false, CG_EINVAL, "not a valid DNS name"},
        {"host/path", false, false, CG_EINVAL, "not a valid DNS name"},
        {"h\xc3\xa9.example", false, false, CG_EINVAL, "not a valid DNS name"}, /* a U-label */
        {"a@b.example", false, false, CG_EINVAL, "not a valid DNS name"},
        {"a.example..", false, false, CG_EINVAL, "not a valid DNS name"},
        {"a.example.", false, false, CG_EINVAL, "trailing dot"},
        /* Text that would change the meaning of an openssl SAN config line. */
        {"a.example,IP:127.0.0.1", false, false, CG_EINVAL, "not a valid DNS name"},
        {"a.example\nDNS:evil", false, false, CG_EINVAL, "not a valid DNS name"},
        {"", false, false, CG_EINVAL, "empty host name"},
    };
    run_cases(cases, CG_ARRAY_LEN(cases));
}

/* RFC 1035 §2.3.4: labels 63 octets or less, names 255 octets on the wire
 * (253 characters written without the final dot). */
static void test_lengths(void **state)
{
    (void)state;
    char l63[64], l64[65], name[300];
    memset(l63, 'a', 63);
    l63[63] = '\0';
    memset(l64, 'b', 64);
    l64[64] = '\0';
    assert_int_equal(cg_cert_check_host(l63, false, false, NULL), CG_OK);
    const char *why = NULL;
    assert_int_equal(cg_cert_check_host(l64, false, false, &why), CG_EINVAL);
    assert_non_null(strstr(why, "not a valid DNS name"));
    /* 63.63.63.61 = 253 characters: the longest name. */
    snprintf(name, sizeof(name), "%s.%s.%s.%.61s", l63, l63, l63, l63);
    assert_int_equal(strlen(name), 253);
    assert_int_equal(cg_cert_check_host(name, false, false, &why), CG_OK);
    assert_null(why);
    snprintf(name, sizeof(name), "%s.%s.%s.%.62s", l63, l63, l63, l63);
    assert_int_equal(strlen(name), 254);
    assert_int_equal(cg_cert_check_host(name, false, false, &why), CG_EINVAL);
    assert_string_equal(why, "host name longer than 253 characters");
    /* A long label in the middle is caught too. */
    snprintf(name, sizeof(name), "a.%s.example", l64);
    assert_int_equal(cg_cert_check_host(name, false, false, NULL), CG_EINVAL);
}

/* B-11: "SHOULD NOT use wildcard certificates"; when allowed anyway, only
 * "*.rest" with a valid rest (RFC 6125 §6.4.3). */
static void test_wildcards(void **state)
{
    (void)state;
    static const struct host_case cases[] = {
        {"*.studio.example", false, false, CG_EINVAL, "BCP-003-01 B-11"},
        {"*.studio.example", false, true, CG_EINVAL, "--allow-wildcard"},
        {"*.studio.example", true, false, CG_OK, NULL},
        {"*.studio.example", true, true, CG_OK, NULL},
        {"*", true, false, CG_EINVAL, "whole leftmost label"},
        {"**.example", true, false, CG_EINVAL, "whole leftmost label"},
        {"*a.example", true, false, CG_EINVAL, "whole leftmost label"},
        {"a*.example", true, false, CG_EINVAL, "whole leftmost label"},
        {"*.*.example", true, false, CG_EINVAL, "whole leftmost label"},
        {"a.example.*", true, false, CG_EINVAL, "whole leftmost label"},
        {"*.example.", true, false, CG_EINVAL, "trailing dot"},
        {"*.-x.example", true, false, CG_EINVAL, "not a valid DNS name"},
        /* "*." names nothing: no label follows the wildcard. */
        {"*.", true, false, CG_EINVAL, NULL},
        {"*..example", true, false, CG_EINVAL, "not a valid DNS name"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        if (cases[i].why != NULL || cases[i].want == CG_OK) {
            run_cases(&cases[i], 1);
            continue;
        }
        const char *why = NULL; /* any reason, but one must be given */
        assert_int_equal(cg_cert_check_host(cases[i].name, cases[i].wild, cases[i].ip, &why),
                         cases[i].want);
        assert_non_null(why);
    }
}

/* B-11: "SHOULD NOT use IP addresses"; cg__cert_is_ip decides which names
 * are addresses (and go into the SAN as iPAddress, RFC 5280 §4.2.1.6). */
static void test_ip_addresses(void **state)
{
    (void)state;
    static const char *const ips[] = {
        "127.0.0.1", "0.0.0.0", "255.255.255.255", "192.0.2.1",        /* RFC 5737 */
        "::", "::1", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "fe80::1", /* RFC 3849 */
        "::ffff:192.0.2.1",                                            /* v4-mapped */
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(ips); i++) {
        if (!cg__cert_is_ip(ips[i]))
            fail_msg("%s: not taken for an IP address", ips[i]);
        const char *why = NULL;
        assert_int_equal(cg_cert_check_host(ips[i], false, false, &why), CG_EINVAL);
        assert_non_null(strstr(why, "IP addresses should not be used"));
        assert_int_equal(cg_cert_check_host(ips[i], false, true, &why), CG_OK);
        assert_null(why);
        /* --allow-wildcard does not let an address through. */
        assert_int_equal(cg_cert_check_host(ips[i], true, false, NULL), CG_EINVAL);
    }
    static const char *const not_ips[] = {
        "localhost", "192.0.2.example", "2001:db8::1%eth0", "[::1]", "::1/128", "1.2.3.4 ",
        "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "0x7f.0.0.1", "",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(not_ips); i++)
        if (cg__cert_is_ip(not_ips[i]))
            fail_msg("'%s': taken for an IP address", not_ips[i]);
    /* An IPv6 address with a zone or in brackets is no host name either. */
    assert_int_equal(cg_cert_check_host("[::1]", false, true, NULL), CG_EINVAL);
    assert_int_equal(cg_cert_check_host("2001:db8::1%eth0", false, true, NULL), CG_EINVAL);
}

/* RFC 1123 §2.1: "a valid host name can never have the dotted-decimal form
 * #.#.#.#", and RFC 3696 §2: a top-level domain is never all-numeric. Such
 * names are not addresses to inet_pton (leading zeros, out of range, three
 * parts), but resolvers and browsers read some of them as addresses: a
 * certificate must not carry them as DNS names. */
static void test_numeric_names(void **state)
{
    (void)state;
    static const char *const numeric[] = {"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4",
                                          "10.0.0.010", "example.123", "0"};
    for (size_t i = 0; i < CG_ARRAY_LEN(numeric); i++) {
        const char *why = NULL;
        enum cg_err rc = cg_cert_check_host(numeric[i], false, true, &why);
        if (rc != CG_EINVAL)
            fail_msg("'%s': accepted as a DNS name", numeric[i]);
        assert_non_null(strstr(why, "all digits"));
    }
    /* Digits elsewhere are fine. */
    assert_int_equal(cg_cert_check_host("123.example", false, false, NULL), CG_OK);
    assert_int_equal(cg_cert_check_host("1.2.3.example", false, false, NULL), CG_OK);
    assert_int_equal(cg_cert_check_host("example.x1", false, false, NULL), CG_OK);
    assert_int_equal(cg_cert_check_host("*.example.123", true, false, NULL), CG_EINVAL);
}

static void test_null_why(void **state)
{
    (void)state;
    /* why may be NULL; the code alone carries the answer. */
    assert_int_equal(cg_cert_check_host("ok.example", false, false, NULL), CG_OK);
    assert_int_equal(cg_cert_check_host("*.example", false, false, NULL), CG_EINVAL);
    assert_int_equal(cg_cert_check_host(NULL, true, true, NULL), CG_EINVAL);
    const char *why = "unset";
    assert_int_equal(cg_cert_check_host(NULL, true, true, &why), CG_EINVAL);
    assert_string_equal(why, "empty host name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_syntax),    cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_wildcards),     cmocka_unit_test(test_ip_addresses),
        cmocka_unit_test(test_numeric_names), cmocka_unit_test(test_null_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
