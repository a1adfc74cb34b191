/* The text side of src/dnssd: name and instance rules (RFC 1035 §2.3.4,
 * RFC 6763 §4.1.1 with RFC 5198 Net-Unicode, RFC 3629 UTF-8), TXT strings
 * (RFC 6763 §6), castgate's TXT convention, server addresses, TSIG key
 * files (key.c), rcode texts (RFC 2136 §2.2, RFC 8945 §5.3) and zone text. */
#include "dnssd/dnssd.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- names ---- */

static void test_name_lengths(void **state)
{
    (void)state;
    char l63[64], name[300];
    memset(l63, 'n', 63);
    l63[63] = '\0';
    /* 253 characters, with and without the one trailing dot allowed */
    snprintf(name, sizeof(name), "%s.%s.%s.%.61s", l63, l63, l63, l63);
    assert_int_equal(strlen(name), 253);
    assert_int_equal(cg__dnssd_check_name(name), CG_OK);
    strcat(name, ".");
    assert_int_equal(cg__dnssd_check_name(name), CG_OK);
    snprintf(name, sizeof(name), "%s.%s.%s.%.62s", l63, l63, l63, l63);
    assert_int_equal(cg__dnssd_check_name(name), CG_EINVAL); /* 254 */
    static const char *const good[] = {"a", "a.", "_sub", "-x-", "a_b.c-d", "0.1.2", "A.B"};
    for (size_t i = 0; i < CG_ARRAY_LEN(good); i++)
        if (cg__dnssd_check_name(good[i]) != CG_OK)
            fail_msg("'%s' refused", good[i]);
    static const char *const bad[] = {"",    ".",    "..",   "a..",  ".a",   "a b",
                                      "a/b", "a\\.b", "a\tb", "é.test", "a*b", "a..b.",
                                      "a.b..", "a@b"};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        if (cg__dnssd_check_name(bad[i]) != CG_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
}

/* RFC 6763 §4.1.1: the instance is Net-Unicode text (RFC 5198: UTF-8), up
 * to 63 octets, no ASCII control characters; dots, spaces and anything else
 * allowed. */
static void test_instance_text(void **state)
{
    (void)state;
    static const char *const good[] = {
        "Studio A",
        "Studio A.1 (main) – \xe2\x9c\x93",    /* en dash, check mark */
        "\xc3\x84rger",                        /* Ä: 2 octets */
        "\xe6\x94\xbe\xe9\x80\x81",            /* 放送: 3 octets each */
        "\xf0\x9f\x93\xba TV",                 /* U+1F4FA: 4 octets */
        "\xf4\x8f\xbf\xbf",                    /* U+10FFFF, the last code point */
        "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(good); i++)
        if (cg__dnssd_check_instance(good[i]) != CG_OK)
            fail_msg("'%s' refused", good[i]);
    /* 63 octets of 2-octet characters (31) plus one ASCII: the limit */
    char buf[80];
    size_t n = 0;
    for (int i = 0; i < 31; i++) {
        buf[n++] = '\xc3';
        buf[n++] = '\xa9';
    }
    buf[n++] = 'x';
    buf[n] = '\0';
    assert_int_equal(cg__dnssd_check_instance(buf), CG_OK);
    buf[n++] = 'y';
    buf[n] = '\0';
    assert_int_equal(cg__dnssd_check_instance(buf), CG_EINVAL); /* 64 */
    static const struct {
        const char *s, *why;
    } bad[] = {
        {"", "empty"},
        {"a\x01", "control"},
        {"a\x1f", "control"},
        {"a\x7f", "DEL"},
        {"tab\there", "control"},
        /* RFC 3629 §3 / §10: malformed UTF-8 is no text at all */
        {"\xff", "0xFF never appears"},
        {"\xfe\xff", "0xFE never appears"},
        {"a\x80", "a lone continuation byte"},
        {"\xc3", "a cut 2-octet sequence"},
        {"\xe6\x94", "a cut 3-octet sequence"},
        {"\xc3\x28", "a bad continuation"},
        {"\xc0\xaf", "overlong '/' (RFC 3629 §10)"},
        {"\xc1\xbf", "overlong"},
        {"\xe0\x80\xaf", "overlong, 3 octets"},
        {"\xf0\x80\x80\xaf", "overlong, 4 octets"},
        {"\xed\xa0\x80", "a UTF-16 surrogate (U+D800)"},
        {"\xed\xbf\xbf", "a UTF-16 surrogate (U+DFFF)"},
        {"\xf4\x90\x80\x80", "past U+10FFFF"},
        {"\xf5\x80\x80\x80", "0xF5 never appears"},
        {"\xf8\x88\x80\x80\x80", "5-octet form"},
        /* RFC 5198 §2: no C1 controls (U+0080..U+009F) in Net-Unicode */
        {"a\xc2\x85", "NEL, a C1 control"},
        {"a\xc2\x9f", "a C1 control"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        if (cg__dnssd_check_instance(bad[i].s) != CG_EINVAL)
            fail_msg("accepted: %s", bad[i].why);
    assert_int_equal(cg__dnssd_check_instance(NULL), CG_EINVAL);
    /* U+00A0 (C2 A0) is past the C1 range: fine */
    assert_int_equal(cg__dnssd_check_instance("no\xc2\xa0" "break"), CG_OK);
}

/* ---- TXT (RFC 6763 §6) ---- */

static void expect_txt(const char *const *txt, size_t n, const char *want, size_t want_len)
{
    struct cg_buf b;
    cg__buf_init(&b, CG_DNSSD_TXT_MAX);
    assert_int_equal(cg__dnssd_txt_encode(txt, n, &b), CG_OK);
    assert_int_equal(b.len, want_len);
    assert_memory_equal(b.data, want, want_len);
    cg__buf_free(&b);
}

static void test_txt_wire(void **state)
{
    (void)state;
    /* §6.3-6.4: "key=value", "key" (boolean), "key=" (empty value) */
    const char *const a[] = {"txtvers=1", "passive", "path="};
    expect_txt(a, 3, "\x09txtvers=1\x07passive\x05path=", 1 + 9 + 1 + 7 + 1 + 5);
    /* §6.5: the value is opaque: '=' and spaces in it are data */
    const char *const b[] = {"k=a=b c"};
    expect_txt(b, 1, "\x07k=a=b c", 8);
    /* keys may hold spaces and any printable ASCII but '=' */
    const char *const c[] = {"my key=1", "~!@#=x"};
    expect_txt(c, 2, "\x08my key=1\x06~!@#=x", 16);
    /* values may hold UTF-8 and control bytes (binary data) */
    const char *const d[] = {"name=\xc3\x84\x01"};
    expect_txt(d, 1, "\x08name=\xc3\x84\x01", 9);
    /* §6.1: no entries: a single empty string */
    expect_txt(NULL, 0, "\x00", 1);
    /* The buffer is reset, not appended to. */
    struct cg_buf buf;
    cg__buf_init(&buf, CG_DNSSD_TXT_MAX);
    assert_int_equal(cg__dnssd_txt_encode(a, 1, &buf), CG_OK);
    assert_int_equal(cg__dnssd_txt_encode(a, 1, &buf), CG_OK);
    assert_int_equal(buf.len, 10);
    cg__buf_free(&buf);
}

static void test_txt_limits(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, CG_DNSSD_TXT_MAX);
    /* 1300 octets in all, exactly: 5 strings of 1 + 255 = 1280, one of 1 + 19 */
    char s255[256], s19[20], s20[21];
    memset(s255, 'v', 255);
    memcpy(s255, "k=", 2);
    s255[255] = '\0';
    memset(s19, 'w', 19);
    memcpy(s19, "w=", 2);
    s19[19] = '\0';
    memset(s20, 'w', 20);
    memcpy(s20, "w=", 2);
    s20[20] = '\0';
    const char *const full[] = {s255, s255, s255, s255, s255, s19};
    assert_int_equal(cg__dnssd_txt_encode(full, 6, &b), CG_OK);
    assert_int_equal(b.len, CG_DNSSD_TXT_MAX);
    const char *const over[] = {s255, s255, s255, s255, s255, s20};
    assert_int_equal(cg__dnssd_txt_encode(over, 6, &b), CG_ERANGE);
    /* keys: at least one character (§6.4), printable ASCII */
    static const char *const bad_keys[] = {"=v", "", "k\x7f=v", "k\x1f", "\xc3\x84=v", "\t=v"};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_keys); i++) {
        const char *const one[] = {bad_keys[i]};
        if (cg__dnssd_txt_encode(one, 1, &b) != CG_EINVAL)
            fail_msg("key %zu accepted", i);
    }
    const char *const with_null[] = {"a=1", NULL};
    assert_int_equal(cg__dnssd_txt_encode(with_null, 2, &b), CG_EINVAL);
    cg__buf_free(&b);
}

/* castgate's convention (docs/discovery.md): which key is missing first. */
static void test_txt_lint_messages(void **state)
{
    (void)state;
    const char *const all[] = {"api_proto=wss", "path=/mos/Communication", "channels=mom",
                               "passive=no", "ncsID=ncs1"};
    assert_null(cg__dnssd_txt_lint("_mos._tcp", all, 5)); /* ncsID does as well as mosID */
    static const struct {
        size_t drop;
        const char *why;
    } cases[] = {
        {0, "a MOS 4.0 endpoint should advertise api_proto=wss"},
        {1, "a MOS 4.0 endpoint should advertise path=/mos/Communication"},
        {2, "a MOS 4.0 endpoint should advertise channels=mom,ro,aux"},
        {3, "a MOS 4.0 endpoint should advertise passive=yes|no"},
        {4, "a MOS 4.0 endpoint should advertise mosID=… or ncsID=…"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        const char *txt[5];
        size_t n = 0;
        for (size_t j = 0; j < 5; j++)
            if (j != cases[i].drop)
                txt[n++] = all[j];
        const char *why = cg__dnssd_txt_lint("_mos._tcp", txt, n);
        if (why == NULL || strcmp(why, cases[i].why) != 0)
            fail_msg("without %s: '%s'", all[cases[i].drop], why ? why : "(null)");
    }
    /* A boolean "passive" (no '=') or a key that only starts alike is no value. */
    const char *const boolean[] = {"api_proto=wss", "path=/x", "channels=ro", "passive",
                                   "mosID=m"};
    assert_string_equal(cg__dnssd_txt_lint("_mos._tcp", boolean, 5), cases[3].why);
    const char *const prefix[] = {"api_protocol=wss", "path=/x", "channels=ro", "passive=no",
                                  "mosID=m"};
    assert_string_equal(cg__dnssd_txt_lint("_mos._tcp", prefix, 5), cases[0].why);
    /* NMOS (AMWA IS-04): api_proto, api_ver, api_auth */
    const char *const nmos[] = {"api_proto=https", "api_ver=v1.3", "api_auth=true"};
    assert_null(cg__dnssd_txt_lint("_nmos-node._tcp", nmos, 3));
    assert_string_equal(cg__dnssd_txt_lint("_nmos-node._tcp", nmos, 2),
                        "an NMOS endpoint should advertise api_auth");
    assert_string_equal(cg__dnssd_txt_lint("_nmos-query._tcp", nmos + 1, 2),
                        "an NMOS endpoint should advertise api_proto=https");
    /* No convention for other types. */
    assert_null(cg__dnssd_txt_lint("_mos._udp", NULL, 0));
    assert_null(cg__dnssd_txt_lint("_https._tcp", nmos, 1));
}

/* ---- servers ---- */

static void test_server_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int family;
        const char *addr;
        unsigned port;
    } ok[] = {
        {"192.0.2.53", AF_INET, "192.0.2.53", 53},
        {"192.0.2.53:5300", AF_INET, "192.0.2.53", 5300},
        {"192.0.2.53:053", AF_INET, "192.0.2.53", 53},
        {"192.0.2.53:65535", AF_INET, "192.0.2.53", 65535},
        {"2001:db8::53", AF_INET6, "2001:db8::53", 53},
        {"[2001:db8::53]", AF_INET6, "2001:db8::53", 53},
        {"[2001:db8::53]:1", AF_INET6, "2001:db8::53", 1},
        {"::ffff:192.0.2.1", AF_INET6, "::ffff:192.0.2.1", 53},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(ok); i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0xaa, sizeof(ss));
        if (cg__dnssd_parse_server(ok[i].s, &ss) != CG_OK)
            fail_msg("'%s' refused", ok[i].s);
        char text[64];
        assert_int_equal(ss.ss_family, ok[i].family);
        if (ok[i].family == AF_INET) {
            struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
            assert_int_equal(ntohs(v4->sin_port), ok[i].port);
        } else {
            struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
            assert_int_equal(ntohs(v6->sin6_port), ok[i].port);
            assert_int_equal(v6->sin6_scope_id, 0); /* zeroed, not left as 0xaa */
            assert_int_equal(v6->sin6_flowinfo, 0);
        }
        assert_string_equal(text, ok[i].addr);
    }
    static const char *const bad[] = {
        "",           ":53",          "192.0.2.53:",   "192.0.2.53:0",  "192.0.2.53:65536",
        "192.0.2.53:5x", "192.0.2.53: 53", "192.0.2.53:+53", "192.0.2.53:-1", "[::1",
        "[::1]:",     "[::1]53",      "[]:53",         "ns.example",    "ns.example:53",
        "192.0.2.256", "fe80::1%lo",  "192.0.2.53:53:53",
        "192.0.2.53:18446744073709551669",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        struct sockaddr_storage ss;
        if (cg__dnssd_parse_server(bad[i], &ss) != CG_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    }
    struct sockaddr_storage ss;
    assert_int_equal(cg__dnssd_parse_server(NULL, &ss), CG_EINVAL);
    assert_int_equal(cg__dnssd_parse_server("192.0.2.1", NULL), CG_EINVAL);
    char longhost[100];
    memset(longhost, '1', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    assert_int_equal(cg__dnssd_parse_server(longhost, &ss), CG_EINVAL);
}

/* ---- TSIG key files ---- */

static const char secret[] = "UkGf/jd8gzKrtVIpT0uU636BQvOJ/HedlGiG0fwA0cw=";

static void key_ok(const char *text, const char *want_name, const char *want_secret)
{
    struct cg__tsig_key k;
    const char *why = "unset";
    enum cg_err rc = cg__dnssd_key_parse(text, strlen(text), &k, &why);
    if (rc != CG_OK)
        fail_msg("refused (%s): %s", why ? why : "?", text);
    assert_null(why);
    assert_string_equal(k.name, want_name);
    assert_string_equal(k.secret, want_secret);
    cg__dnssd_key_clear(&k);
    assert_null(k.name);
    assert_null(k.secret);
}

static void key_bad(const char *text, enum cg_err want, const char *why_part)
{
    struct cg__tsig_key k;
    const char *why = NULL;
    enum cg_err rc = cg__dnssd_key_parse(text, strlen(text), &k, &why);
    if (rc != want)
        fail_msg("%s, want %s: %s", cg_errname(rc), cg_errname(want), text);
    if (why == NULL || strstr(why, why_part) == NULL)
        fail_msg("why '%s' lacks '%s': %s", why ? why : "(null)", why_part, text);
    assert_null(k.name);
    assert_null(k.secret);
}

static void test_key_grammar(void **state)
{
    (void)state;
    char text[512];
    /* As tsig-keygen writes it. */
    snprintf(text, sizeof(text),
             "key \"castgate-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"%s\";\n};\n", secret);
    key_ok(text, "castgate-key.", secret);
    /* All on one line, keywords in any case, a name already absolute. */
    snprintf(text, sizeof(text), "KEY ddns.example. {ALGORITHM \"HMAC-SHA256\";SECRET \"%s\";};",
             secret);
    key_ok(text, "ddns.example.", secret);
    /* Comments of all three kinds, CRLF line ends. */
    snprintf(text, sizeof(text),
             "# one\r\n// two\r\n/* three\r\n * lines */ key k { /**/ algorithm hmac-sha256; "
             "# after\r\n secret \"%s\"; // end\r\n}; /* unterminated comment after the key",
             secret);
    key_ok(text, "k.", secret);
    /* The second secret wins; a second key is not read. */
    snprintf(text, sizeof(text),
             "key a { secret \"YWJjZA==\"; algorithm hmac-sha256; secret \"%s\"; };\n"
             "key b { algorithm hmac-md5; secret \"!\"; };",
             secret);
    key_ok(text, "a.", secret);
    /* base64 forms: no padding, one '=', two '=' */
    key_ok("key k { algorithm hmac-sha256; secret \"YWJj\"; };", "k.", "YWJj");
    key_ok("key k { algorithm hmac-sha256; secret \"YWI=\"; };", "k.", "YWI=");
    key_ok("key k { algorithm hmac-sha256; secret \"YQ==\"; };", "k.", "YQ==");
}

static void test_key_refusals(void **state)
{
    (void)state;
    key_bad("", CG_EFILE, "expected: key");
    key_bad("# only a comment\n", CG_EFILE, "expected: key");
    key_bad("key", CG_EFILE, "expected: key");
    key_bad("key { algorithm hmac-sha256; };", CG_EFILE, "expected: key");
    key_bad("key \"\" { };", CG_EFILE, "expected: key");
    key_bad("key \"a b\" { };", CG_EFILE, "not a valid DNS name");
    key_bad("key \"a..b\" { };", CG_EFILE, "not a valid DNS name");
    key_bad("key k algorithm", CG_EFILE, "expected '{'");
    key_bad("key k { algorithm; };", CG_EFILE, "expected an algorithm name");
    key_bad("key k { secret YWJj; };", CG_EFILE, "expected a quoted base64 secret");
    key_bad("key k { algorithm hmac-sha256 };", CG_EFILE, "expected ';'");
    key_bad("key k { algorithm hmac-sha256; secret \"YWJj\"; }", CG_EFILE, "expected ';' after '}'");
    key_bad("key k { algorithm hmac-sha256; secret \"YWJj\"; } x", CG_EFILE, "expected ';' after '}'");
    key_bad("key k { algorithm hmac-sha256; secret \"YWJj\"; ", CG_EFILE,
            "expected 'algorithm', 'secret' or '}'");
    key_bad("key k { algorithm hmac-sha256; secret \"YWJj\"; port 53; };", CG_EFILE,
            "expected 'algorithm', 'secret' or '}'");
    key_bad("key k { algorithm hmac-sha256; };", CG_EFILE, "no secret");
    key_bad("key k { secret \"YWJj\"; };", CG_EFILE, "no algorithm");
    key_bad("key k { };", CG_EFILE, "no algorithm");
    /* RFC 8945 §6: castgate signs with hmac-sha256 only. */
    key_bad("key k { algorithm hmac-md5; secret \"YWJj\"; };", CG_ECONFIG, "unsupported TSIG");
    key_bad("key k { algorithm hmac-sha512; secret \"YWJj\"; };", CG_ECONFIG, "unsupported TSIG");
    key_bad("key k { algorithm hmac-sha256.; secret \"YWJj\"; };", CG_ECONFIG, "unsupported TSIG");
    key_bad("key k { algorithm hmac-sha2566; secret \"YWJj\"; };", CG_ECONFIG, "unsupported TSIG");
    /* RFC 4648 §4 base64 */
    static const char *const b64[] = {"", "YWJ", "YWJjZ", "YW=j", "Y===", "====", "YWJjZA=a",
                                      "YW Jj", "YWJj!A==", "YWJj-A==", "YWJj_A=="};
    for (size_t i = 0; i < CG_ARRAY_LEN(b64); i++) {
        char text[200];
        snprintf(text, sizeof(text), "key k { algorithm hmac-sha256; secret \"%s\"; };", b64[i]);
        key_bad(text, CG_EFILE, "not valid base64");
    }
    key_bad("key k { algorithm hmac-sha256; secret \"YWJj", CG_EFILE, "quoted base64");
    /* a name of 253 characters plus the dot is the most a key may have */
    char name[300], text[600];
    memset(name, 'k', 253);
    for (int i = 63; i < 253; i += 64)
        name[i] = '.';
    name[253] = '\0';
    snprintf(text, sizeof(text), "key \"%s\" { algorithm hmac-sha256; secret \"YWJj\"; };", name);
    struct cg__tsig_key k;
    assert_int_equal(cg__dnssd_key_parse(text, strlen(text), &k, NULL), CG_OK);
    assert_int_equal(strlen(k.name), 254);
    cg__dnssd_key_clear(&k);
    cg__dnssd_key_clear(&k); /* twice is harmless */
    cg__dnssd_key_clear(NULL);
    name[253] = 'k';
    name[254] = '\0';
    snprintf(text, sizeof(text), "key \"%s\" { algorithm hmac-sha256; secret \"YWJj\"; };", name);
    assert_int_equal(cg__dnssd_key_parse(text, strlen(text), &k, NULL), CG_EFILE);
    /* length-bounded: text after len is not read */
    const char *cut = "key k { algorithm hmac-sha256; secret \"YWJj\"; };TRAILING";
    assert_int_equal(cg__dnssd_key_parse(cut, strlen(cut) - 8, &k, NULL), CG_OK);
    cg__dnssd_key_clear(&k);
    assert_int_equal(cg__dnssd_key_parse(cut, 18, &k, NULL), CG_EFILE); /* "...algorithm " */
}

static void test_key_load_errors(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct tu_log log = {0};
    struct cg__tsig_key k;
    char dir[] = "/tmp/cg-dnssd-keys-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_DEBUG);
    char path[300];
    snprintf(path, sizeof(path), "%s/big.key", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 70 * 1024; i++)
        fputc('#', f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(cg__dnssd_key_load(ctx, path, &k), CG_ETOOBIG);
    assert_true(tu_log_has(&log, "cannot read TSIG key file"));
    assert_true(tu_log_has(&log, "message too large"));
    assert_int_equal(cg__dnssd_key_load(ctx, dir, &k), CG_EFILE); /* a folder */
    snprintf(path, sizeof(path), "%s/md5.key", dir);
    f = fopen(path, "w");
    fputs("key k { algorithm hmac-md5; secret \"YWJj\"; };", f);
    fclose(f);
    chmod(path, 0600);
    memset(&log, 0, sizeof(log));
    assert_int_equal(cg__dnssd_key_load(ctx, path, &k), CG_ECONFIG);
    assert_true(tu_log_has(&log, "md5.key: unsupported TSIG algorithm"));
    assert_false(tu_log_has(&log, "YWJj")); /* the secret is not logged */
    chmod(path, 0604);
    assert_int_equal(cg__dnssd_key_load(ctx, path, &k), CG_EPERM);
    cg_ctx_free(ctx);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- rcodes ---- */

static void test_rcode_table(void **state)
{
    (void)state;
    static const struct {
        int rcode, tsig;
        enum cg_err err;
        const char *prefix;
    } cases[] = {
        {0, 0, CG_OK, "NOERROR"},        {1, 0, CG_EDNS, "FORMERR:"},
        {2, 0, CG_EDNS, "SERVFAIL:"},    {3, 0, CG_EDNS, "NXDOMAIN:"},
        {4, 0, CG_EDNS, "NOTIMP:"},      {5, 0, CG_EDNS, "REFUSED:"},
        {6, 0, CG_EEXIST, "YXDOMAIN:"},  {7, 0, CG_EEXIST, "YXRRSET:"},
        {8, 0, CG_EEXIST, "NXRRSET:"},   {9, 0, CG_EDNS, "NOTAUTH:"},
        {10, 0, CG_EDNS, "NOTZONE:"},    {11, 0, CG_EDNS, "the server answered with an unknown rcode"},
        {9, 16, CG_EAUTH, "BADSIG:"},    {9, 17, CG_EAUTH, "BADKEY:"},
        {9, 18, CG_EAUTH, "BADTIME:"},   {9, 22, CG_EAUTH, "the server reported an unknown TSIG error"},
        {0, 16, CG_EAUTH, "BADSIG:"}, /* the TSIG error decides, whatever the rcode */
        {-1, 0, CG_EDNS, "the server answered with an unknown rcode"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        const char *t = NULL;
        enum cg_err e = cg__dnssd_rcode_err(cases[i].rcode, cases[i].tsig, &t);
        if (e != cases[i].err || t == NULL ||
            strncmp(t, cases[i].prefix, strlen(cases[i].prefix)) != 0)
            fail_msg("rcode %d tsig %d: %s '%s'", cases[i].rcode, cases[i].tsig, cg_errname(e),
                     t ? t : "(null)");
    }
}

/* ---- zone text ---- */

static void test_zone_text_exact(void **state)
{
    (void)state;
    const char *const txt[] = {"api_proto=wss", "mosID=gw1"};
    struct cg_dnssd_opts o = {.domain = "example.test", .instance = "Studio A",
                              .type = "_mos._tcp", .host = "gw1.example.test.", .port = 443,
                              .priority = 0, .weight = 0, .txt = txt, .ntxt = 2};
    char *z = NULL;
    assert_int_equal(cg_dnssd_zone_text(&o, &z), CG_OK);
    assert_string_equal(z,
        "_services._dns-sd._udp.example.test.\t120\tIN\tPTR\t_mos._tcp.example.test.\n"
        "_mos._tcp.example.test.\t120\tIN\tPTR\tStudio\\032A._mos._tcp.example.test.\n"
        "Studio\\032A._mos._tcp.example.test.\t120\tIN\tSRV\t0 0 443 gw1.example.test.\n"
        "Studio\\032A._mos._tcp.example.test.\t120\tIN\tTXT\t\"api_proto=wss\" \"mosID=gw1\"\n");
    cg_dnssd_text_free(z);
    cg_dnssd_text_free(NULL);
    o.instance = "bad\x01";
    z = (char *)1;
    assert_int_equal(cg_dnssd_zone_text(&o, &z), CG_EINVAL);
    assert_null(z);
    assert_int_equal(cg_dnssd_zone_text(&o, NULL), CG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_lengths),
        cmocka_unit_test(test_instance_text),
        cmocka_unit_test(test_txt_wire),
        cmocka_unit_test(test_txt_limits),
        cmocka_unit_test(test_txt_lint_messages),
        cmocka_unit_test(test_server_addresses),
        cmocka_unit_test(test_key_grammar),
        cmocka_unit_test(test_key_refusals),
        cmocka_unit_test(test_key_load_errors),
        cmocka_unit_test(test_rcode_table),
        cmocka_unit_test(test_zone_text_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
