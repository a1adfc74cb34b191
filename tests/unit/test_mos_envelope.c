/* Unit tests for src/mos/envelope.c, validate.c, catalog.c and build.c:
 * envelope (M-20, M-11), full check, catalogue (M-03, M-12, M-23), builders
 * (M-09, M-10, M-24). Expected values come from the fixtures' MANIFESTs and,
 * for mosID/ncsID/messageID, from libxml2 as an independent oracle. */
#include "mosfix.h"
#include "mos/mos.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

struct oracle {
    char mos_id[600], ncs_id[600], message_id[600], name[64];
    bool has_mos_id, has_ncs_id, has_message_id;
};

static void trim_copy(char *dst, size_t sz, const xmlChar *s)
{
    const char *p = (const char *)s;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    snprintf(dst, sz, "%.*s", (int)n, p);
}

static void oracle_read(const uint8_t *u8, size_t n, struct oracle *o)
{
    memset(o, 0, sizeof(*o));
    xmlDocPtr doc = xmlReadMemory((const char *)u8, (int)n, NULL, "UTF-8", XML_PARSE_NONET);
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_string_equal((const char *)root->name, "mos");
    for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *text = xmlNodeGetContent(c);
        if (xmlStrEqual(c->name, BAD_CAST "mosID")) {
            trim_copy(o->mos_id, sizeof(o->mos_id), text);
            o->has_mos_id = true;
        } else if (xmlStrEqual(c->name, BAD_CAST "ncsID")) {
            trim_copy(o->ncs_id, sizeof(o->ncs_id), text);
            o->has_ncs_id = true;
        } else if (xmlStrEqual(c->name, BAD_CAST "messageID")) {
            trim_copy(o->message_id, sizeof(o->message_id), text);
            o->has_message_id = o->message_id[0] != 0;
        } else {
            assert_int_equal(o->name[0], 0); /* one message element */
            snprintf(o->name, sizeof(o->name), "%s", (const char *)c->name);
        }
        xmlFree(text);
    }
    xmlFreeDoc(doc);
}

/* The plug-in interface reuses two socket message names; find the entry for
 * the right channel. */
static const struct cg_mos_msg_info *catalogue_entry(const char *name, bool plugin)
{
    size_t n = 0;
    const struct cg_mos_msg_info *t = cg_mos_msg_table(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0 && ((t[i].channels == CG_MOS_CH_PLUGIN) == plugin))
            return &t[i];
    return NULL;
}

static void check_row(const struct mosfix *r, bool ucs2)
{
    size_t n = 0, n8 = 0;
    uint8_t *in = mosfix_read(r, ucs2, &n);
    enum cg_mos_encoding enc = ucs2 ? CG_MOS_UCS2BE : CG_MOS_UTF8;
    struct cg_mos_envelope env;
    const char *why = NULL;
    enum cg_err rc = cg_mos_envelope_parse(enc, in, n, &env, &why);
    if (mosfix_is_fragment(r)) { /* no envelope (README): rejected cleanly */
        assert_int_equal(rc, CG_EENVELOPE);
        assert_non_null(why);
        free(in);
        return;
    }
    if (rc != CG_OK)
        fail_msg("%s/%s: %s", r->dir, r->file, why);
    assert_string_equal(env.name, r->message);
    /* Oracle: libxml2 on the UTF-8 copy. */
    uint8_t *u8 = mosfix_read(r, false, &n8);
    struct oracle o;
    oracle_read(u8, n8, &o);
    assert_string_equal(env.name, o.name);
    assert_int_equal(env.has_mos_id, o.has_mos_id);
    assert_int_equal(env.has_ncs_id, o.has_ncs_id);
    assert_string_equal(env.mos_id, o.mos_id);
    assert_string_equal(env.ncs_id, o.ncs_id);
    assert_int_equal(env.message_id_kind != CG_MOS_MSGID_ABSENT, o.has_message_id);
    assert_string_equal(env.message_id, o.message_id);
    /* The element span starts at '<name' and ends at '>'. */
    unsigned w = ucs2 ? 2 : 1;
    assert_true(env.element.off + env.element.len <= n);
    assert_int_equal(in[env.element.off + w - 1], '<');
    assert_int_equal(in[env.element.off + env.element.len - 1], '>');
    /* Catalogue: channel, profile, removed-in-4.0 as the MANIFEST says. */
    const struct cg_mos_msg_info *info = catalogue_entry(env.name, mosfix_is_plugin(r));
    if (info == NULL)
        fail_msg("%s/%s: %s not in the catalogue", r->dir, r->file, env.name);
    assert_string_equal(cg_mos_channel_name(info->channels), r->channel);
    if (!mosfix_is_plugin(r)) {
        assert_ptr_equal(cg_mos_msg_lookup(env.name, strlen(env.name)), info);
        int want = atoi(r->profile);
        /* roElementStat is defined twice (ERRATA 38): §3.7.1 profile 2, §3.8.2 profile 4. */
        if (info->profile != want && !(strcmp(env.name, "roElementStat") == 0 && want == 4))
            fail_msg("%s/%s: profile %d, MANIFEST %d", r->dir, r->file, info->profile, want);
    }
    if (r->deprecated[0] != 0)
        assert_int_equal(info->removed_in_4, strcmp(r->deprecated, "yes") == 0);
    /* The full check agrees that it is well-formed and one message. */
    uint64_t at = 0;
    rc = cg_mos_validate(enc, in, n, &at);
    if (rc != CG_OK)
        fail_msg("%s/%s: validate %s at %llu", r->dir, r->file, cg_errname(rc),
                 (unsigned long long)at);
    free(u8);
    free(in);
}

static void test_every_fixture_envelope(void **state)
{
    (void)state;
    size_t count = 0;
    struct mosfix *rows = mosfix_load(&count);
    size_t checked = 0;
    for (size_t r = 0; r < count; r++) {
        if (mosfix_is_stream(&rows[r]))
            continue; /* test_mos_framer checks the streams message by message */
        check_row(&rows[r], false);
        check_row(&rows[r], true);
        checked++;
    }
    assert_true(checked > 90);
    free(rows);
}

static void parse_utf8(const char *s, struct cg_mos_envelope *env, enum cg_err want)
{
    const char *why = NULL;
    enum cg_err rc = cg_mos_envelope_parse(CG_MOS_UTF8, s, strlen(s), env, &why);
    if (rc != want)
        fail_msg("%s: got %s (%s), want %s", s, cg_errname(rc), why ? why : "", cg_errname(want));
}

/* M-11 and edge/messageID-*: decimal, 0x/x hex, 0, > 2^31-1, garbage. */
static void test_message_ids(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum cg_mos_msgid kind;
        uint32_t value;
    } cases[] = {
        {"1", CG_MOS_MSGID_OK, 1},
        {"2147483647", CG_MOS_MSGID_OK, 2147483647},
        {"0x1F", CG_MOS_MSGID_OK, 31},
        {"0X1f", CG_MOS_MSGID_OK, 31},
        {"xFF55", CG_MOS_MSGID_OK, 65365},
        {"0x7FFFFFFF", CG_MOS_MSGID_OK, 0x7FFFFFFF},
        {"0", CG_MOS_MSGID_RANGE, 0},
        {"0x0", CG_MOS_MSGID_RANGE, 0},
        {"2147483648", CG_MOS_MSGID_RANGE, 0},
        {"4433250443", CG_MOS_MSGID_RANGE, 0},
        {"99999999999999999999999999999", CG_MOS_MSGID_RANGE, 0},
        {"0x80000000", CG_MOS_MSGID_RANGE, 0},
        {"", CG_MOS_MSGID_ABSENT, 0},
        {"x", CG_MOS_MSGID_BAD, 0},
        {"0x", CG_MOS_MSGID_BAD, 0},
        {"-5", CG_MOS_MSGID_BAD, 0},
        {"+5", CG_MOS_MSGID_BAD, 0},
        {"5.0", CG_MOS_MSGID_BAD, 0},
        {"12a", CG_MOS_MSGID_BAD, 0},
        {"99999999999999999999x", CG_MOS_MSGID_BAD, 0},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        uint32_t v = 12345;
        enum cg_mos_msgid k = cg_mos_message_id_parse(cases[i].text, &v);
        if (k != cases[i].kind)
            fail_msg("'%s': kind %d want %d", cases[i].text, k, cases[i].kind);
        if (k == CG_MOS_MSGID_OK)
            assert_int_equal(v, cases[i].value);
    }
    assert_int_equal(cg_mos_message_id_parse(NULL, NULL), CG_MOS_MSGID_ABSENT);
    /* The verbatim text is kept for the echo (edge MANIFEST: reply "0x1F"). */
    struct cg_mos_envelope env;
    parse_utf8("<mos><mosID>a</mosID><ncsID>b</ncsID><messageID> 4433250443 </messageID>"
               "<roReq/></mos>",
               &env, CG_OK);
    assert_int_equal(env.message_id_kind, CG_MOS_MSGID_RANGE);
    assert_string_equal(env.message_id, "4433250443");
}

static void test_envelope_layouts(void **state)
{
    (void)state;
    struct cg_mos_envelope env;
    /* Sofie's order, fields after the message, comments, attributes on the root. */
    parse_utf8("<mos><ncsID>n</ncsID><mosID>m</mosID><roAck><a/></roAck></mos>", &env, CG_OK);
    assert_string_equal(env.mos_id, "m");
    assert_string_equal(env.ncs_id, "n");
    assert_int_equal(env.message_id_kind, CG_MOS_MSGID_ABSENT);
    parse_utf8("<mos><roAck><mosID>inner</mosID></roAck><messageID>7</messageID>"
               "<mosID>m</mosID></mos>",
               &env, CG_OK);
    assert_string_equal(env.name, "roAck");
    assert_string_equal(env.mos_id, "m");
    assert_int_equal(env.message_id_value, 7);
    assert_int_equal(env.element.off, 5);
    assert_int_equal(env.element.len, 35);
    parse_utf8("\xEF\xBB\xBF<?xml version=\"1.0\"?><!-- c --><mos version=\"x\">"
               "<mosID>a&amp;b &#x41;&#66;</mosID><!-- c --><heartbeat/><!-- after --></mos>\r\n",
               &env, CG_OK);
    assert_string_equal(env.mos_id, "a&b AB");
    assert_string_equal(env.name, "heartbeat");
    /* keepAlive, both the §2.1 form and the §4.1.1 text (ERRATA 1, M-09). */
    parse_utf8("<mos><mosID>a</mosID><ncsID>b</ncsID><keepAlive/></mos>", &env, CG_OK);
    assert_string_equal(env.name, "keepAlive");
    parse_utf8("<mos><mosID>a</mosID><ncsID>b</ncsID><keepAlive></keepAlive></mos>", &env,
               CG_OK);
    assert_string_equal(env.name, "keepAlive");
    /* The §4.1.1 text as printed (lone end tag, ERRATA 1) and the DTD's
     * spelling (ERRATA 15): lenient envelope, strict full check. */
    const char *lone = "<mos><mosID>a</mosID><ncsID>b</ncsID></keepAlive></mos>";
    parse_utf8(lone, &env, CG_OK);
    assert_string_equal(env.name, "keepAlive");
    assert_int_equal(cg_mos_validate(CG_MOS_UTF8, lone, strlen(lone), NULL), CG_EXML);
    parse_utf8("<mos><mosID>a</mosID><ncsID>b</ncsID><keepalive/></mos>", &env, CG_OK);
    assert_string_equal(env.name, "keepalive");
    assert_string_equal(cg_mos_msg_lookup(env.name, strlen(env.name))->name, "keepAlive");
    parse_utf8("<mos><mosID>a</mosID></roAck><roAck/></mos>", &env, CG_EENVELOPE);
    /* The message element's content is not looked at. */
    parse_utf8("<mos><roCreate><![CDATA[</roCreate>]]><x a='>'/></roCreate></mos>", &env, CG_OK);
    assert_int_equal(env.element.len, 54);
}

static void test_envelope_errors(void **state)
{
    (void)state;
    struct cg_mos_envelope env;
    static const char *bad[] = {
        "",
        "   ",
        "<mosExternalMetadata/>",
        "<mos/>",
        "<mos></mos>",
        "<mos><mosID>a</mosID></mos>",
        "<mos><roAck/><roAck/></mos>",
        "<mos><roAck/><mosAck/></mos>",
        "<mos><mosID><b/></mosID><roAck/></mos>",
        "<mos><mosID>a</mosID><mosID>b</mosID><roAck/></mos>",
        "<mos><mosID>a&bogus;</mosID><roAck/></mos>",
        "<mos><mosID>a&#0;</mosID><roAck/></mos>",
        "<mos><mosID>\x01</mosID><roAck/></mos>",
        "<mos><mosID>\xC0\xAF</mosID><roAck/></mos>",
        "<mos><roAck>",
        "<mos><roAck/></mos>junk",
        "<mos><roAck/></mos><mos><roAck/></mos>",
        "<mos><\x01x/></mos>",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        const char *why = NULL;
        enum cg_err rc = cg_mos_envelope_parse(CG_MOS_UTF8, bad[i], strlen(bad[i]), &env, &why);
        if (rc == CG_OK)
            fail_msg("case %zu accepted", i);
        assert_non_null(why);
    }
    /* IDs: 128 characters are fine (edge/objSlug-128-cjk-chars), 129 are not. */
    char msg[2048];
    char id[129 * 3 + 1] = {0};
    for (int i = 0; i < 128; i++)
        memcpy(id + 3 * i, "\xE4\xB8\x80", 3); /* U+4E00 */
    snprintf(msg, sizeof(msg), "<mos><mosID>%s</mosID><roAck/></mos>", id);
    parse_utf8(msg, &env, CG_OK);
    memcpy(id + 3 * 128, "\xE4\xB8\x80", 3);
    snprintf(msg, sizeof(msg), "<mos><mosID>%s</mosID><roAck/></mos>", id);
    parse_utf8(msg, &env, CG_EENVELOPE);
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UTF8, NULL, 1, &env, NULL), CG_EINVAL);
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UTF8, "x", 1, NULL, NULL), CG_EINVAL);
    /* UCS-2BE: an odd length is not a whole message. */
    const uint8_t odd[] = {0x00, 0x3C};
    assert_int_not_equal(cg_mos_envelope_parse(CG_MOS_UCS2BE, odd, 1, &env, NULL), CG_OK);
}

static int printed;
static void count_print(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
    printed++;
}

static void test_validate(void **state)
{
    (void)state;
    static const struct {
        const char *xml;
        enum cg_err want;
    } cases[] = {
        {"<mos><mosID>a</mosID><roAck/></mos>", CG_OK},
        {"<mos><mosID>a</mosID><roAck></mos>", CG_EXML},
        {"<mos><objTB>59.94<objTB></mos>", CG_EXML}, /* ERRATA 2 */
        {"<mos><roAck/><roAck/></mos>", CG_EENVELOPE},
        {"<mos><mosID>a</mosID></mos>", CG_EENVELOPE},
        {"<notmos><roAck/></notmos>", CG_EENVELOPE},
        {"<!DOCTYPE mos [<!ENTITY a \"b\">]><mos><roAck>&a;</roAck></mos>", CG_EXML},
        {"<mos><roAck>&undefined;</roAck></mos>", CG_EXML},
        {"<mos><roAck/></mos><mos/>", CG_EXML},
        {"", CG_EXML},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        uint64_t at = 0;
        enum cg_err rc = cg_mos_validate(CG_MOS_UTF8, cases[i].xml, strlen(cases[i].xml), &at);
        if (rc != cases[i].want)
            fail_msg("case %zu: %s, want %s", i, cg_errname(rc), cg_errname(cases[i].want));
    }
    /* UTF-16BE input, and invalid UTF-16 inside it. */
    uint8_t *u16 = NULL;
    size_t n = 0;
    const char *ok = "<mos><roAck>\xC3\xA9</roAck></mos>";
    assert_int_equal(cg_mos_convert(CG_MOS_UTF8, ok, strlen(ok), &u16, &n, NULL), CG_OK);
    assert_int_equal(cg_mos_validate(CG_MOS_UCS2BE, u16, n, NULL), CG_OK);
    u16[24] = 0xDC; /* the é becomes a lone low surrogate */
    /* libxml2 reports that through its generic handler: the library must
     * not print it, and must leave the caller's handler in place. */
    printed = 0;
    xmlSetGenericErrorFunc(NULL, count_print);
    assert_int_equal(cg_mos_validate(CG_MOS_UCS2BE, u16, n, NULL), CG_EXML);
    const uint8_t bad_start[] = {0xDB, 0x04, 0xFD, 0x20}; /* found by fuzz_mos_envelope */
    assert_int_equal(cg_mos_validate(CG_MOS_UCS2BE, bad_start, sizeof(bad_start), NULL), CG_EXML);
    assert_int_equal(printed, 0);
    assert_ptr_equal(xmlGenericError, count_print);
    xmlSetGenericErrorFunc(NULL, NULL);
    cg_mos_free(u16);
    uint64_t at = 0;
    const char *late = "<mos><roAck><a></b></roAck></mos>";
    assert_int_equal(cg_mos_validate(CG_MOS_UTF8, late, strlen(late), &at), CG_EXML);
    assert_true(at > 0);
}

/* M-12: exactly these 13 are removed in 4.0; all names unique per channel. */
static void test_catalogue(void **state)
{
    (void)state;
    static const char *removed[] = {"roStoryAppend", "roStoryInsert", "roStoryReplace",
                                    "roStoryMove", "roStoryMoveMultiple", "roStorySwap",
                                    "roStoryDelete", "roItemInsert", "roItemReplace",
                                    "roItemMoveMultiple", "roItemDelete", "roStat",
                                    "roItemStat"};
    size_t n = 0, flagged = 0;
    const struct cg_mos_msg_info *t = cg_mos_msg_table(&n);
    for (size_t i = 0; i < n; i++) {
        flagged += t[i].removed_in_4;
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(t[i].name, t[j].name) == 0)
                assert_true((t[i].channels == CG_MOS_CH_PLUGIN) != (t[j].channels ==
                                                                    CG_MOS_CH_PLUGIN));
        if (t[i].answer != NULL && t[i].channels != CG_MOS_CH_PLUGIN)
            assert_non_null(cg_mos_msg_lookup(t[i].answer, strlen(t[i].answer)));
        if (t[i].replies_to != NULL)
            assert_true(t[i].is_reply || strcmp(t[i].name, "mosObj") == 0);
    }
    assert_int_equal(flagged, CG_ARRAY_LEN(removed));
    for (size_t i = 0; i < CG_ARRAY_LEN(removed); i++) {
        const struct cg_mos_msg_info *m = cg_mos_msg_lookup(removed[i], strlen(removed[i]));
        assert_non_null(m);
        assert_true(m->removed_in_4);
        assert_string_equal(m->answer, "roAck");
    }
    const struct cg_mos_msg_info *m = cg_mos_msg_lookup("keepAlive", 9);
    assert_int_equal(m->channels, CG_MOS_CH_MOM | CG_MOS_CH_RO);
    assert_null(m->answer); /* M-09: never answered */
    m = cg_mos_msg_lookup("heartbeat", 9);
    assert_string_equal(m->answer, "heartbeat");
    m = cg_mos_msg_lookup("mosReqObjList", 13);
    assert_string_equal(cg_mos_channel_name(m->channels), "aux");
    m = cg_mos_msg_lookup("roReq", 5);
    assert_string_equal(m->answer, "roList");
    assert_true(cg_mos_msg_lookup("roList", 6)->is_reply);
    assert_true(cg_mos_msg_lookup("mosAck", 6)->is_reply);
    assert_null(cg_mos_msg_lookup("roAckX", 6));
    assert_null(cg_mos_msg_lookup("roAc", 4));
    assert_null(cg_mos_msg_lookup(NULL, 0));
    assert_string_equal(cg_mos_channel_name(0), "none");
}

static void check_built(enum cg_err rc, uint8_t *u8, size_t n8, const char *want,
                        enum cg_err (*again)(enum cg_mos_encoding, uint8_t **, size_t *))
{
    assert_int_equal(rc, CG_OK);
    assert_int_equal(n8, strlen(want));
    assert_memory_equal(u8, want, n8);
    assert_int_equal(cg_mos_validate(CG_MOS_UTF8, u8, n8, NULL), CG_OK);
    uint8_t *u16 = NULL, *conv = NULL;
    size_t n16 = 0, nc = 0;
    assert_int_equal(again(CG_MOS_UCS2BE, &u16, &n16), CG_OK);
    assert_int_equal(cg_mos_convert(CG_MOS_UTF8, u8, n8, &conv, &nc, NULL), CG_OK);
    assert_int_equal(n16, nc);
    assert_memory_equal(u16, conv, nc);
    assert_int_equal(cg_mos_validate(CG_MOS_UCS2BE, u16, n16, NULL), CG_OK);
    cg_mos_free(u16);
    cg_mos_free(conv);
    cg_mos_free(u8);
}

static enum cg_err b_keepalive(enum cg_mos_encoding e, uint8_t **o, size_t *n)
{
    return cg_mos_build_keepalive(e, "mos.a", "ncs.b", o, n);
}
static enum cg_err b_heartbeat(enum cg_mos_encoding e, uint8_t **o, size_t *n)
{
    return cg_mos_build_heartbeat(e, "mos.a", "ncs.b", "0x1F", INT64_C(1239470442123), o, n);
}
static enum cg_err b_reqmach(enum cg_mos_encoding e, uint8_t **o, size_t *n)
{
    return cg_mos_build_req_mach_info(e, "mos.a", "ncs.b", "42", o, n);
}
static enum cg_err b_mosnack(enum cg_mos_encoding e, uint8_t **o, size_t *n)
{
    return cg_mos_build_mos_nack(e, "mos.a", "ncs.b", "7", "M1", "bad <obj> & \"x\"", o, n);
}
static enum cg_err b_ronack(enum cg_mos_encoding e, uint8_t **o, size_t *n)
{
    return cg_mos_build_ro_nack(e, "mos.a", "ncs.b", NULL, NULL, "Unknown object \xC3\xA9", o, n);
}

static void test_builders(void **state)
{
    (void)state;
    uint8_t *o = NULL;
    size_t n = 0;
    enum cg_err rc = b_keepalive(CG_MOS_UTF8, &o, &n);
    check_built(rc, o, n, "<mos><mosID>mos.a</mosID><ncsID>ncs.b</ncsID><keepAlive/></mos>",
                b_keepalive);
    rc = b_heartbeat(CG_MOS_UTF8, &o, &n);
    check_built(rc, o, n,
                "<mos><mosID>mos.a</mosID><ncsID>ncs.b</ncsID><messageID>0x1F</messageID>"
                "<heartbeat><time>2009-04-11T17:20:42,123Z</time></heartbeat></mos>",
                b_heartbeat);
    rc = b_reqmach(CG_MOS_UTF8, &o, &n);
    check_built(rc, o, n,
                "<mos><mosID>mos.a</mosID><ncsID>ncs.b</ncsID><messageID>42</messageID>"
                "<reqMachInfo/></mos>",
                b_reqmach);
    rc = b_mosnack(CG_MOS_UTF8, &o, &n);
    check_built(rc, o, n,
                "<mos><mosID>mos.a</mosID><ncsID>ncs.b</ncsID><messageID>7</messageID>"
                "<mosAck><objID>M1</objID><objRev>0</objRev><status>NACK</status>"
                "<statusDescription>bad &lt;obj&gt; &amp; &quot;x&quot;</statusDescription>"
                "</mosAck></mos>",
                b_mosnack);
    rc = b_ronack(CG_MOS_UTF8, &o, &n);
    check_built(rc, o, n,
                "<mos><mosID>mos.a</mosID><ncsID>ncs.b</ncsID><roAck><roID></roID>"
                "<roStatus>Unknown object \xC3\xA9</roStatus></roAck></mos>",
                b_ronack);
    /* Built messages read back through the envelope parser. */
    assert_int_equal(cg_mos_build_mos_nack(CG_MOS_UCS2BE, "m<&>", "n", "0x1F", NULL, "d", &o, &n),
                     CG_OK);
    struct cg_mos_envelope env;
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UCS2BE, o, n, &env, NULL), CG_OK);
    assert_string_equal(env.mos_id, "m<&>");
    assert_string_equal(env.message_id, "0x1F");
    assert_string_equal(env.name, "mosAck");
    cg_mos_free(o);
    /* Arguments are checked. */
    char long_id[CG_MOS_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = 0;
    assert_int_equal(cg_mos_build_keepalive(CG_MOS_UTF8, long_id, "n", &o, &n), CG_EINVAL);
    assert_int_equal(cg_mos_build_keepalive(CG_MOS_UTF8, "", "n", &o, &n), CG_EINVAL);
    assert_int_equal(cg_mos_build_keepalive(CG_MOS_UTF8, "\xFF", "n", &o, &n), CG_EINVAL);
    assert_int_equal(cg_mos_build_keepalive(CG_MOS_UTF8, "m", NULL, &o, &n), CG_EINVAL);
    assert_int_equal(cg_mos_build_keepalive(CG_MOS_UTF8, "m", "n", NULL, &n), CG_EINVAL);
    assert_int_equal(cg_mos_build_ro_nack(CG_MOS_UTF8, "m", "n", "1", NULL, NULL, &o, &n),
                     CG_EINVAL);
    assert_int_equal(cg_mos_build_heartbeat(CG_MOS_UTF8, "m", "n", "1", -1, &o, &n), CG_ERANGE);
    char t[32];
    assert_int_equal(cg_mos_format_time(0, t, sizeof(t)), CG_OK);
    assert_string_equal(t, "1970-01-01T00:00:00,000Z");
    assert_int_equal(cg_mos_format_time(0, t, 10), CG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_ids),      cmocka_unit_test(test_envelope_layouts),
        cmocka_unit_test(test_envelope_errors),  cmocka_unit_test(test_validate),
        cmocka_unit_test(test_catalogue),        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_every_fixture_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
