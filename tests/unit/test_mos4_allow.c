/* Unit tests for legacy_allow (src/mos4/allow.c): which addresses may
 * connect to a MOS 2.x peer's ports (M-21 gives them no authentication). */
#include "testutil.h"
#include "mos4/mos4.h"

#include <arpa/inet.h>
#include <string.h>

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    }
    return ss;
}

static bool allowed(const struct mos4_allow *a, const char *text)
{
    struct sockaddr_storage ss = addr(text);
    return cg__mos4_allow_match(a, (struct sockaddr *)&ss);
}

static void test_parse_and_match_ipv4(void **state)
{
    (void)state;
    struct mos4_allow a;
    assert_int_equal(cg__mos4_allow_parse("10.1.2.3, 10.1.3.0/24 ,192.168.0.0/16", &a), CG_OK);
    assert_int_equal(a.n, 3);
    assert_true(allowed(&a, "10.1.2.3"));
    assert_false(allowed(&a, "10.1.2.4"));
    assert_true(allowed(&a, "10.1.3.0"));
    assert_true(allowed(&a, "10.1.3.255"));
    assert_false(allowed(&a, "10.1.4.1"));
    assert_true(allowed(&a, "192.168.200.7"));
    assert_false(allowed(&a, "192.169.0.1"));
    assert_false(allowed(&a, "::1")); /* an IPv4 list says nothing of IPv6 */
    /* a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d */
    assert_true(allowed(&a, "::ffff:10.1.2.3"));
    assert_false(allowed(&a, "::ffff:10.1.2.4"));
}

static void test_parse_and_match_ipv6(void **state)
{
    (void)state;
    struct mos4_allow a;
    assert_int_equal(cg__mos4_allow_parse("::1, fd00:1:2::/48, 2001:db8::7/128", &a), CG_OK);
    assert_int_equal(a.n, 3);
    assert_true(allowed(&a, "::1"));
    assert_false(allowed(&a, "::2"));
    assert_true(allowed(&a, "fd00:1:2:ffff::9"));
    assert_false(allowed(&a, "fd00:1:3::9"));
    assert_true(allowed(&a, "2001:db8::7"));
    assert_false(allowed(&a, "2001:db8::8"));
    assert_false(allowed(&a, "127.0.0.1"));
    /* odd prefix lengths: /0 matches every address of its family, /31 a pair */
    assert_int_equal(cg__mos4_allow_parse("0.0.0.0/0, 10.0.0.2/31, fe80::/10", &a), CG_OK);
    assert_true(allowed(&a, "203.0.113.9"));
    assert_true(allowed(&a, "fe80::1"));
    assert_true(allowed(&a, "febf::1"));
    assert_false(allowed(&a, "fec0::1"));
    assert_int_equal(cg__mos4_allow_parse("10.0.0.2/31", &a), CG_OK);
    assert_true(allowed(&a, "10.0.0.3"));
    assert_false(allowed(&a, "10.0.0.4"));
}

static void test_empty_list_allows_anyone(void **state)
{
    (void)state;
    struct mos4_allow a;
    assert_int_equal(cg__mos4_allow_parse("", &a), CG_OK);
    assert_int_equal(a.n, 0);
    assert_true(allowed(&a, "203.0.113.9"));
    assert_int_equal(cg__mos4_allow_parse("   ", &a), CG_OK);
    assert_int_equal(a.n, 0);
}

static void test_parse_refuses_malformed(void **state)
{
    (void)state;
    struct mos4_allow a;
    const char *bad[] = {
        "10.1.2",           /* not an address */
        "10.1.2.3/33",      /* too long a prefix */
        "::1/129",
        "10.1.2.3/",        /* no bits */
        "10.1.2.3/-1",
        "10.1.2.3/ 8",
        "10.1.2.3/24",      /* host bits past the prefix: a typo */
        "fd00::1/8",
        "10.1.2.3,",        /* a trailing comma */
        ",10.1.2.3",
        "10.1.2.3,,10.1.2.4",
        "10.1.2.3 10.1.2.4", /* no comma */
        "host.example.com", /* names are not resolved */
        "10.1.2.3/0008",
        NULL};
    for (size_t i = 0; bad[i] != NULL; i++)
        assert_int_equal(cg__mos4_allow_parse(bad[i], &a), CG_EINVAL);
    char many[1024] = "";
    for (int i = 0; i <= CG_MOS4_MAX_ALLOW; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s10.0.0.%d", i ? "," : "", i);
    assert_int_equal(cg__mos4_allow_parse(many, &a), CG_EINVAL); /* one too many */
    assert_int_equal(cg__mos4_allow_parse(NULL, &a), CG_EINVAL);
}

static void test_same_host(void **state)
{
    (void)state;
    struct sockaddr_storage a = addr("127.0.0.1"), b = addr("::ffff:127.0.0.1"), c = addr("127.0.0.2");
    struct sockaddr_storage d = addr("::1"), e = addr("::1");
    ((struct sockaddr_in *)&a)->sin_port = htons(1000); /* ports do not matter */
    assert_true(cg__mos4_same_host((struct sockaddr *)&a, (struct sockaddr *)&b));
    assert_false(cg__mos4_same_host((struct sockaddr *)&a, (struct sockaddr *)&c));
    assert_true(cg__mos4_same_host((struct sockaddr *)&d, (struct sockaddr *)&e));
    assert_false(cg__mos4_same_host((struct sockaddr *)&a, (struct sockaddr *)&d));
    assert_false(cg__mos4_same_host(NULL, (struct sockaddr *)&d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_match_ipv4),
        cmocka_unit_test(test_parse_and_match_ipv6),
        cmocka_unit_test(test_empty_list_allows_anyone),
        cmocka_unit_test(test_parse_refuses_malformed),
        cmocka_unit_test(test_same_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
