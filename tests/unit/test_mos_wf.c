/* Unit tests for src/mos/wf.c, castgate's own well-formedness check
 * (cg_mos_check, cg_mos_validate; issue 13): the XML 1.0 spec's examples,
 * one case per error class, each in UTF-8 and UTF-16BE, with the reason and
 * the byte offset, and the verdict compared with libxml2's (the check it
 * replaced, cg__mos_validate_libxml2) unless the case is one of the
 * documented differences; every fixture in ../shared/fixtures/mos accepted. */
#include "wfcheck.h"

#include <dirent.h>

/* The UTF-16BE form of UTF-8 text (BOM kept if any). Caller frees. */
static uint8_t *to16(const char *s, size_t n, size_t *n16)
{
    uint8_t *out = NULL;
    assert_int_equal(cg_mos_convert(CG_MOS_UTF8, s, n, &out, n16, NULL), CG_OK);
    return out;
}

enum diff { SAME, LENIENT }; /* LENIENT: libxml2 accepts, castgate refuses */

struct wfcase {
    const char *xml;
    enum cg_err want;
    const char *why; /* a part of the reason (CG_EXML) */
    size_t at;       /* the offset in UTF-8 (CG_EXML); SIZE_MAX: not checked */
    enum diff diff;
};

#define ANY SIZE_MAX

/* Checks one case in both encodings. ASCII-only cases also check that the
 * UTF-16BE offset is twice the UTF-8 one. */
static void check_case(const struct wfcase *c, size_t idx)
{
    size_t n8 = strlen(c->xml), n16 = 0;
    uint8_t *m16 = to16(c->xml, n8, &n16);
    bool ascii = true;
    for (size_t i = 0; i < n8; i++)
        ascii = ascii && (unsigned char)c->xml[i] < 0x80;
    for (int u = 0; u < 2; u++) {
        enum cg_mos_encoding enc = u ? CG_MOS_UCS2BE : CG_MOS_UTF8;
        const void *p = u ? (const void *)m16 : c->xml;
        size_t n = u ? n16 : n8;
        struct cg__mos_wf_result r;
        enum cg_err rc = cg__mos_wf_check(enc, p, n, NULL, &r);
        if (rc != c->want)
            fail_msg("case %zu (%s) %s: %s (%s), want %s", idx, u ? "utf-16be" : "utf-8",
                     c->xml, cg_errname(rc), r.why, cg_errname(c->want));
        if (rc == CG_EXML && c->why != NULL && strstr(r.why, c->why) == NULL)
            fail_msg("case %zu: reason \"%s\", want \"%s\"", idx, r.why, c->why);
        if (rc == CG_EXML && c->at != ANY && (u == 0 || ascii) && r.offset != c->at * (u + 1))
            fail_msg("case %zu (%s): offset %llu, want %zu", idx, u ? "utf-16be" : "utf-8",
                     (unsigned long long)r.offset, c->at * (u + 1));
        enum cg_err old = wf_libxml2(enc, p, n);
        if (c->diff == SAME && old != rc)
            fail_msg("case %zu (%s) %s: libxml2 %s, castgate %s", idx,
                     u ? "utf-16be" : "utf-8", c->xml, cg_errname(old), cg_errname(rc));
        if (c->diff == LENIENT) {
            assert_true(r.lenient);
            assert_int_not_equal(old, CG_EXML);
        }
        /* the public entry points say the same */
        uint64_t at = 0;
        const char *why = NULL;
        assert_int_equal(cg_mos_check(enc, p, n, NULL, &at, &why), rc);
        if (rc == CG_EXML)
            assert_int_equal(at, r.offset);
        assert_int_equal(cg_mos_validate(enc, p, n, NULL), rc);
    }
    free(m16);
}

static void run_cases(const struct wfcase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_case(&cases[i], i);
}

/* The XML 1.0 (5th edition) spec's own well-formed examples, in a <mos>
 * envelope where they are content. */
static void test_spec_examples(void **state)
{
    (void)state;
    static const struct wfcase cases[] = {
        {"<?xml version=\"1.0\"?><mos><greeting>Hello, world!</greeting></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><!-- declarations for <head> & <body> --><roAck/></mos>", CG_OK, NULL, ANY, SAME},      /* 2.5 */
        {"<mos><roAck><![CDATA[<greeting>Hello, world!</greeting>]]></roAck></mos>", CG_OK, NULL, ANY, SAME},
        {"<?xml version='1.0' standalone='yes'?><mos><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><termdef id=\"dt-dog\" term=\"dog\"/></mos>", CG_OK, NULL, ANY, SAME},                  /* 3.1 */
        {"<mos><IMG align=\"left\" src=\"http://www.w3.org/Icons/WWW/w3c_home\" /></mos>",
         CG_OK, NULL, ANY, SAME},
        {"<mos><br></br></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><roAck>Type <key>less-than</key> (&#x3C;) to save options.</roAck></mos>",
         CG_OK, NULL, ANY, SAME}, /* 4.1 */
        {"<mos><roAck>This document was prepared on &#60;docdate&#62;.</roAck></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><?xml-stylesheet href=\"a.css\"?><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><roAck xml:lang=\"en\" xml:space=\"preserve\">x</roAck></mos>", CG_OK, NULL, ANY, SAME}, /* 2.12 */
        {"\xEF\xBB\xBF<mos><roAck/></mos>", CG_OK, NULL, ANY, SAME},                                     /* a BOM */
        {"<mos>\r\n <roAck a='\"' b=\"'\"\t c = \"1\"\n/>\r\n</mos>\r\n", CG_OK, NULL, ANY, SAME},
        /* Namespaces in XML 1.0, section 6's examples */
        {"<mos><x xmlns:edi='http://ecommerce.example.org/schema'><lineItem "
         "edi:taxClass=\"exempt\">Baby food</lineItem></x></mos>",
         CG_OK, NULL, ANY, SAME},
        {"<mos><book xmlns='urn:loc.gov:books' xmlns:isbn='urn:ISBN:0-395-36341-6'><title>"
         "Cheaper by the Dozen</title><isbn:number>1568491379</isbn:number></book></mos>",
         CG_OK, NULL, ANY, SAME},
        {"<mos><x xmlns:n1=\"http://www.w3.org\" xmlns=\"http://www.w3.org\"><good a=\"1\" "
         "n1:a=\"2\" /></x></mos>",
         CG_OK, NULL, ANY, SAME},
        /* names: NameStartChar and NameChar beyond ASCII */
        {"<mos><\xC3\xA9l\xC3\xA9ment \xE4\xB8\xAD-x.y_z\xC2\xB7=\"1\"/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><roAck>\xF0\x9F\x98\x80 \xEF\xBF\xBD</roAck></mos>", CG_OK, NULL, ANY, SAME}, /* U+1F600 U+FFFD */
    };
    run_cases(cases, CG_ARRAY_LEN(cases));
}

/* One case per error class, with where it is reported. */
static void test_error_classes(void **state)
{
    (void)state;
    static const struct wfcase cases[] = {
        /* document [1], prolog [22] */
        {"", CG_EXML, "no root element", 0, SAME},
        {"   ", CG_EXML, "no root element", 3, SAME},
        {"x<mos/>", CG_EXML, "text before the root", 0, SAME},
        {"<mos><roAck/></mos><mos/>", CG_EXML, "after the root", 19, SAME},
        {"<mos><roAck/></mos>x", CG_EXML, "after the root", 19, SAME},
        {"<mos><roAck/>", CG_EXML, "ends before the root element is closed", 13, SAME},
        /* declarations: the scanner's refusals */
        {"<!DOCTYPE mos><mos><roAck/></mos>", CG_EXML, "DOCTYPE", 0, SAME},
        {"<mos><!ENTITY a 'b'><roAck/></mos>", CG_EXML, "entity declaration", 5, SAME},
        {"<mos><![INCLUDE[ ]]><roAck/></mos>", CG_EXML, "markup declaration", 5, SAME},
        /* [2] Char */
        {"<mos><roAck>\x01</roAck></mos>", CG_EXML, "[2] Char", 12, SAME},
        {"<mos><roAck a=\"\x1F\"/></mos>", CG_EXML, "[2] Char", 15, SAME},
        {"<mos><roAck><!--\x0B--></roAck></mos>", CG_EXML, "[2] Char", 16, SAME},
        {"<mos><roAck>\xEF\xBF\xBE</roAck></mos>", CG_EXML, "[2] Char", 12, SAME}, /* U+FFFE */
        {"<mos><roAck/></mos><!-- \x01 -->", CG_EXML, "[2] Char", 24, SAME},
        /* [5] Name, QName */
        {"<mos><1a/></mos>", CG_EXML, "a name was expected", 6, SAME},
        {"<mos>< a/></mos>", CG_EXML, "a name was expected", 6, SAME},
        {"<mos><:a/></mos>", CG_EXML, "starts with ':'", 6, SAME},
        {"<mos><a:/></mos>", CG_EXML, "after ':'", 8, SAME},
        {"<mos><a:b:c/></mos>", CG_EXML, "two ':'", 9, SAME},
        {"<mos><a\xC3\x97/></mos>", CG_EXML, NULL, ANY, SAME}, /* U+00D7 is no NameChar */
        /* Element Type Match, ETag [42] */
        {"<mos><roAck></roack></mos>", CG_EXML, "Element Type Match", 12, SAME},
        {"<mos><roAck></roAck ></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><roAck></roAck x></mos>", CG_EXML, "end tag", 20, SAME},
        {"<mos><mosID>a</mosID><roAck></mos></roAck>", CG_EXML, "Element Type Match", 28, SAME},
        /* STag [40], EmptyElemTag [44], Attribute [41], Eq [25], AttValue [10] */
        {"<mos><roAck a=\"1\"b=\"2\"/></mos>", CG_EXML, "a space is needed", 17, SAME},
        {"<mos><roAck a/></mos>", CG_EXML, "[25] Eq", 13, SAME},
        {"<mos><roAck a=1/></mos>", CG_EXML, "must be quoted", 14, SAME},
        {"<mos><roAck a=\"<\"/></mos>", CG_EXML, "'<' in an attribute value", 15, SAME},
        {"<mos><roAck a=\"1\"/ ></mos>", CG_EXML, "EmptyElemTag", 17, SAME},
        {"<mos><roAck a=\"1/></mos>", CG_EXML, NULL, ANY, SAME},
        /* Unique Att Spec, NSC: Attributes Unique */
        {"<mos><roAck a=\"1\" a=\"2\"/></mos>", CG_EXML, "Unique Att Spec", 18, SAME},
        {"<mos xmlns:p=\"urn:u\" xmlns:q=\"urn:u\"><roAck p:a=\"1\" q:a=\"2\"/></mos>", CG_EXML,
         "Attributes Unique", 52, SAME},
        {"<mos xmlns:p=\"urn:u\" xmlns:q=\"urn:&#117;\"><roAck p:a=\"1\" q:a=\"2\"/></mos>",
         CG_EXML, "Attributes Unique", ANY, SAME},
        {"<mos xmlns:p=\"urn:u\" xmlns:q=\"urn:v\"><roAck p:a=\"1\" q:a=\"2\" a=\"3\"/></mos>",
         CG_OK, NULL, ANY, SAME},
        {"<mos xmlns:p=\"urn:u\" xmlns:p=\"urn:v\"><roAck/></mos>", CG_EXML, "twice", 21, SAME},
        /* references [66] [68] */
        {"<mos><roAck>&nbsp;</roAck></mos>", CG_EXML, "Entity Declared", 12, SAME},
        {"<mos><roAck>a & b</roAck></mos>", CG_EXML, "[67] Reference", 14, SAME},
        {"<mos><roAck>&lt</roAck></mos>", CG_EXML, NULL, 12, SAME},
        {"<mos><roAck>&#;</roAck></mos>", CG_EXML, "[66] CharRef", 12, SAME},
        {"<mos><roAck>&#X41;</roAck></mos>", CG_EXML, "[66] CharRef", 12, SAME},
        {"<mos><roAck>&#x41;&#65;&#x1F600;</roAck></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><roAck>&#0;</roAck></mos>", CG_EXML, "Legal Character", 12, SAME},
        {"<mos><roAck>&#xD800;</roAck></mos>", CG_EXML, "Legal Character", 12, SAME},
        {"<mos><roAck>&#x110000;</roAck></mos>", CG_EXML, "Legal Character", 12, SAME},
        {"<mos><roAck>&#99999999999999999999;</roAck></mos>", CG_EXML, "Legal Character", 12, SAME},
        {"<mos><roAck a=\"&undefined;\"/></mos>", CG_EXML, "Entity Declared", 15, SAME},
        /* [14] CharData */
        {"<mos><roAck>a ]]> b</roAck></mos>", CG_EXML, "']]>'", 14, SAME},
        {"<mos><roAck>a ]] > b ] ]></roAck></mos>", CG_OK, NULL, ANY, SAME},
        /* [15] Comment */
        {"<mos><!-- a -- b --><roAck/></mos>", CG_EXML, "'--'", 12, SAME},
        {"<mos><!-- a ---><roAck/></mos>", CG_EXML, "'--'", 12, SAME},
        {"<mos><!----><!---a--><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><roAck/></mos><!-- a", CG_EXML, "comment that does not end", 19, SAME},
        /* [18] CDSect */
        {"<mos><roAck><![CDATA[ a ]]></roAck></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><roAck><![CDATA[ a </roAck></mos>", CG_EXML, "CDATA section", 12, SAME},
        {"<![CDATA[x]]><mos><roAck/></mos>", CG_EXML, "markup declaration", 0, SAME},
        /* [16] PI, [17] PITarget */
        {"<mos><?xml version=\"1.0\"?><roAck/></mos>", CG_EXML, "not at the start", 5, SAME},
        {" <?xml version=\"1.0\"?><mos><roAck/></mos>", CG_EXML, "not at the start", 1, SAME},
        {"<mos><?XML x?><roAck/></mos>", CG_EXML, "PITarget", 5, SAME},
        {"<mos><?xmlfoo?><roAck/></mos>", CG_EXML, "reserved", 5, SAME},
        {"<mos><?a:b?><roAck/></mos>", CG_EXML, "':'", 5, SAME},
        {"<mos><?pi?><?pi a?b?><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><?pi-x?><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos><?pi\x01?><roAck/></mos>", CG_EXML, NULL, ANY, SAME},
        {"<mos><? pi?><roAck/></mos>", CG_EXML, "without a target", 7, SAME},
        /* [23] XMLDecl */
        {"<?xml version=\"1.1\"?><mos><roAck/></mos>", CG_EXML, "1.0", ANY, SAME},
        {"<?xml encoding=\"UTF-8\"?><mos><roAck/></mos>", CG_EXML, "no version", 6, SAME},
        {"<?xml version=\"1.0\"encoding=\"UTF-8\"?><mos><roAck/></mos>", CG_EXML, "XMLDecl", ANY, SAME},
        {"<?xml version=\"1.0\" standalone=\"maybe\"?><mos><roAck/></mos>", CG_EXML, "SDDecl",
         ANY, SAME},
        {"<?xml version=\"1.0\" ?><mos><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<?xml version=\"1.0\" encoding=\"-x\"?><mos><roAck/></mos>", CG_EXML, "EncodingDecl",
         ANY, SAME},
        /* namespaces: prefixes declared, reserved names, URIs */
        {"<mos><p:roAck/></mos>", CG_EXML, "Prefix Declared", 5, SAME},
        {"<mos><roAck p:a=\"1\"/></mos>", CG_EXML, "Prefix Declared", 12, SAME},
        {"<mos><xmlns:roAck/></mos>", CG_EXML, "Prefix Declared", 5, SAME},
        {"<mos xmlns:p=\"\"><roAck/></mos>", CG_EXML, "No Prefix Undeclaring", 5, SAME},
        {"<mos xmlns=\"\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns:xml=\"urn:x\"><roAck/></mos>", CG_EXML, "reserved", 5, SAME},
        {"<mos xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns:p=\"http://www.w3.org/XML/1998/namespace\"><roAck/></mos>", CG_EXML,
         "reserved", 5, SAME},
        {"<mos xmlns:xmlns=\"urn:x\"><roAck/></mos>", CG_EXML, "reserved", 5, SAME},
        {"<mos xmlns=\"http://www.w3.org/2000/xmlns/\"><roAck/></mos>", CG_EXML, "reserved", 5, SAME},
        {"<mos xmlns=\"rel/ative\"><roAck/></mos>", CG_EXML, "relative URI", 5, SAME},
        {"<mos xmlns:p=\"rel/ative\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns:p=\"a b\"><roAck/></mos>", CG_EXML, "not a URI", 5, SAME},
        {"<mos xmlns:p=\"http://h:x/\"><roAck/></mos>", CG_EXML, "not a URI", 5, SAME},
        {"<mos xmlns=\"http://u@h:80/p;q?r/s#t[u]\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns=\"http://1.2.3.4.5/\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns=\"http://1.2.3.4a:8/\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns=\"http://255.255.255.255/\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns=\"urn:a:b\" xmlns:a=\"mailto:x@y\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns=\"http://[::1\"><roAck/></mos>", CG_EXML, "not a URI", 5, SAME},
        {"<mos xmlns=\"#frag\"><roAck/></mos>", CG_EXML, "relative", 5, SAME},
        {"<mos xmlns=\"x:\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns=\"x:/\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        {"<mos xmlns=\"a{b}:c\"><roAck/></mos>", CG_EXML, "not a URI", 5, SAME},
        {"<mos xmlns=\"http://a%zz\"><roAck/></mos>", CG_EXML, "not a URI", 5, SAME},
        {"<mos xmlns=\"http://a%20b\"><roAck/></mos>", CG_OK, NULL, ANY, SAME},
        /* the MOS rule (CG_EENVELOPE) */
        {"<notmos><roAck/></notmos>", CG_EENVELOPE, NULL, ANY, SAME},
        {"<mos><mosID>a</mosID></mos>", CG_EENVELOPE, NULL, ANY, SAME},
        {"<mos><roAck/><roAck/></mos>", CG_EENVELOPE, NULL, ANY, SAME},
        {"<mos xmlns:p=\"urn:p\"><p:mosID/><roAck/></mos>", CG_EENVELOPE, NULL, ANY, SAME},
        {"<p:mos xmlns:p=\"urn:p\"><roAck/></p:mos>", CG_EENVELOPE, NULL, ANY, SAME},
    };
    run_cases(cases, CG_ARRAY_LEN(cases));
}

/* [80] EncodingDecl names the message's own encoding; where libxml2 takes
 * another name, the difference is documented (lenient). */
static void test_encoding_decl(void **state)
{
    (void)state;
    static const struct {
        enum cg_mos_encoding enc;
        const char *name;
        enum cg_err want;
        bool lenient;
    } cases[] = {
        {CG_MOS_UTF8, "UTF-8", CG_OK, false},     {CG_MOS_UTF8, "utf8", CG_OK, false},
        {CG_MOS_UTF8, "UTF-16", CG_EXML, false},  {CG_MOS_UTF8, "ISO-8859-1", CG_EXML, true},
        {CG_MOS_UCS2BE, "UTF-16", CG_OK, false},  {CG_MOS_UCS2BE, "utf-16be", CG_OK, false},
        {CG_MOS_UCS2BE, "UTF-8", CG_EXML, true},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        char x[128];
        int n = snprintf(x, sizeof(x), "<?xml version=\"1.0\" encoding=\"%s\"?><mos><roAck/></mos>",
                         cases[i].name);
        size_t len = (size_t)n;
        uint8_t *p = cases[i].enc == CG_MOS_UTF8 ? (uint8_t *)x : to16(x, len, &len);
        struct cg__mos_wf_result r;
        enum cg_err rc = cg__mos_wf_check(cases[i].enc, p, len, NULL, &r);
        if (rc != cases[i].want)
            fail_msg("%s: %s (%s)", cases[i].name, cg_errname(rc), r.why);
        enum cg_err old = wf_libxml2(cases[i].enc, p, len);
        if (cases[i].lenient) {
            assert_true(r.lenient);
            assert_int_equal(r.offset, 30 * (cases[i].enc == CG_MOS_UCS2BE ? 2 : 1));
            assert_int_equal(old, CG_OK);
        } else {
            assert_int_equal(old, rc);
        }
        if (p != (uint8_t *)x)
            free(p);
    }
    /* [32] SDDecl needs a space before it; libxml2 waives it after UTF-8 */
    const char *sd = "<?xml version=\"1.0\" encoding=\"UTF-8\"standalone=\"yes\"?><mos><roAck/></mos>";
    struct cg__mos_wf_result r;
    assert_int_equal(cg__mos_wf_check(CG_MOS_UTF8, sd, strlen(sd), NULL, &r), CG_EXML);
    assert_true(r.lenient);
    assert_int_equal(r.offset, 36);
    assert_int_equal(wf_libxml2(CG_MOS_UTF8, sd, strlen(sd)), CG_OK);
    /* U+0000 after the root: libxml2 stops reading there */
    const char nul[] = "<mos><roAck/></mos>\0";
    assert_int_equal(cg__mos_wf_check(CG_MOS_UTF8, nul, sizeof(nul) - 1, NULL, &r), CG_EXML);
    assert_true(r.lenient);
    assert_int_equal(r.offset, 19);
}

/* Encodings: invalid UTF-8 and UTF-16 are refused where they are. */
static void test_encodings(void **state)
{
    (void)state;
    static const char *bad8[] = {
        "<mos><roAck>\xC0\x80</roAck></mos>",     /* overlong */
        "<mos><roAck>\xED\xA0\x80</roAck></mos>", /* a surrogate */
        "<mos><roAck>\xF5\x80\x80\x80</roAck></mos>",
        "<mos><roAck>\xE4\xB8</roAck></mos>", /* cut short */
        "<mos><roAck a=\"\xFF\"/></mos>",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad8); i++) {
        struct cg__mos_wf_result r;
        assert_int_equal(cg__mos_wf_check(CG_MOS_UTF8, bad8[i], strlen(bad8[i]), NULL, &r),
                         CG_EXML);
        assert_non_null(strstr(r.why, "UTF-8"));
        assert_int_equal(wf_libxml2(CG_MOS_UTF8, bad8[i], strlen(bad8[i])), CG_EXML);
    }
    /* UTF-16BE: a pair, a lone high, a lone low, a high at the end, an odd byte */
    const char *ok = "<mos><roAck>\xF0\x9F\x98\x80</roAck></mos>";
    size_t n = 0;
    uint8_t *m = to16(ok, strlen(ok), &n);
    assert_int_equal(cg_mos_validate(CG_MOS_UCS2BE, m, n, NULL), CG_OK);
    struct cg__mos_wf_result r;
    uint8_t save = m[26];
    m[26] = 0x00; /* the low surrogate becomes "\0": a lone high */
    assert_int_equal(cg__mos_wf_check(CG_MOS_UCS2BE, m, n, NULL, &r), CG_EXML);
    assert_int_equal(r.offset, 24);
    assert_int_equal(wf_libxml2(CG_MOS_UCS2BE, m, n), CG_EXML);
    m[26] = save;
    m[24] = 0xDC; /* a lone low */
    assert_int_equal(cg__mos_wf_check(CG_MOS_UCS2BE, m, n, NULL, &r), CG_EXML);
    assert_non_null(strstr(r.why, "UTF-16"));
    assert_int_equal(r.offset, 24);
    assert_int_equal(wf_libxml2(CG_MOS_UCS2BE, m, n), CG_EXML);
    assert_int_equal(cg__mos_wf_check(CG_MOS_UCS2BE, m, n - 1, NULL, &r), CG_EXML);
    free(m);
}

/* The scanner's limits, and libxml2's own (depth 257, names of 50,000
 * bytes), decided alike; past 64 the arrays grow. */
static void test_limits(void **state)
{
    (void)state;
    struct cg_mos_scan_limits big = {.max_attributes = 1000, .max_depth = 1000};
    for (int depth = 255; depth <= 260; depth++) {
        size_t cap = (size_t)depth * 9 + 64, n = 0;
        char *x = malloc(cap);
        n += (size_t)snprintf(x + n, cap - n, "<mos><roAck>");
        for (int d = 3; d <= depth; d++)
            n += (size_t)snprintf(x + n, cap - n, "<a>");
        for (int d = 3; d <= depth; d++)
            n += (size_t)snprintf(x + n, cap - n, "</a>");
        n += (size_t)snprintf(x + n, cap - n, "</roAck></mos>");
        uint64_t at = 0;
        enum cg_err rc = cg_mos_check(CG_MOS_UTF8, x, n, &big, &at, NULL);
        enum cg_err old = cg__mos_validate_libxml2(CG_MOS_UTF8, x, n, NULL);
        if (rc != old)
            fail_msg("depth %d: castgate %s, libxml2 %s", depth, cg_errname(rc),
                     cg_errname(old));
        assert_int_equal(rc, depth <= 257 ? CG_OK : CG_EXML);
        assert_int_equal(cg_mos_check(CG_MOS_UTF8, x, n, NULL, NULL, NULL), CG_EXML);
        free(x);
    }
    /* 200 attributes: over the default 64, within a raised limit; a duplicate
     * found past the inline array */
    for (int dup = 0; dup < 2; dup++) {
        char *x = malloc(8192);
        size_t n = (size_t)snprintf(x, 8192, "<mos xmlns:p=\"urn:p\"><roAck");
        for (int i = 0; i < 200; i++)
            n += (size_t)snprintf(x + n, 8192 - n, " a%d=\"%d\" p:b%d=\"\"", i, i, i);
        n += (size_t)snprintf(x + n, 8192 - n, "%s/></mos>", dup ? " p:b7=\"1\"" : "");
        const char *why = NULL;
        assert_int_equal(cg_mos_check(CG_MOS_UTF8, x, n, NULL, NULL, &why), CG_EXML);
        assert_string_equal(why, "more than 64 attributes on one element");
        enum cg_err rc = cg_mos_check(CG_MOS_UTF8, x, n, &big, NULL, &why);
        assert_int_equal(rc, dup ? CG_EXML : CG_OK);
        /* mos4/flow.c's call: its pre-scan applied the endpoint's limits */
        assert_int_equal(cg__mos_validate_xml(CG_MOS_UTF8, x, n, NULL), rc);
        assert_int_equal(cg__mos_validate_libxml2(CG_MOS_UTF8, x, n, NULL), rc);
        if (dup)
            assert_non_null(strstr(why, "Unique Att Spec"));
        free(x);
    }
    size_t n = 0;
    /* a name of 50,000 bytes passes, 50,001 does not (as libxml2) */
    for (size_t len = 50000; len <= 50001; len++) {
        char *y = malloc(len + 64);
        n = (size_t)snprintf(y, 64, "<mos><");
        memset(y + n, 'n', len);
        n += len;
        n += (size_t)snprintf(y + n, 64, "/></mos>");
        enum cg_err want = len == 50000 ? CG_OK : CG_EXML;
        assert_int_equal(cg_mos_validate(CG_MOS_UTF8, y, n, NULL), want);
        assert_int_equal(cg__mos_validate_libxml2(CG_MOS_UTF8, y, n, NULL), want);
        free(y);
    }
}

static void check_file(const char *path, bool ucs2)
{
    size_t n = 0;
    uint8_t *p = tu_read(path, &n);
    enum cg_mos_encoding enc = ucs2 ? CG_MOS_UCS2BE : CG_MOS_UTF8;
    uint64_t at = 0;
    const char *why = NULL;
    enum cg_err rc = cg_mos_check(enc, p, n, NULL, &at, &why);
    if (rc == CG_EXML)
        fail_msg("%s: %s at %llu", path, why, (unsigned long long)at);
    enum cg_err old = wf_libxml2(enc, p, n);
    if (rc != old)
        fail_msg("%s: castgate %s, libxml2 %s", path, cg_errname(rc), cg_errname(old));
    /* fragments (no envelope) are well-formed but not one message */
    if (strstr(path, "/fragments/") == NULL && strstr(path, "/plugin/") == NULL)
        assert_int_equal(rc, CG_OK);
    free(p);
}

static size_t walk(const char *dir, bool ucs2)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".xml") == 0) {
            check_file(sub, ucs2);
            count++;
        } else if (strchr(e->d_name, '.') == NULL) {
            count += walk(sub, ucs2 || strcmp(e->d_name, "ucs2be") == 0);
        }
    }
    closedir(d);
    return count;
}

/* Every fixture, both encodings (the ucs2be/ copies), the 2 MB roCreate too. */
static void test_fixtures(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", tu_shared_path("fixtures/mos"));
    size_t count = walk(dir, false);
    assert_true(count >= 170);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(cg_mos_check((enum cg_mos_encoding)7, "", 0, NULL, NULL, NULL), CG_EINVAL);
    assert_int_equal(cg_mos_check(CG_MOS_UTF8, NULL, 1, NULL, NULL, NULL), CG_EINVAL);
    assert_int_equal(cg_mos_validate(CG_MOS_UTF8, NULL, 0, NULL), CG_EXML);
}

int main(void)
{
    cg__mos_validate_libxml2_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples), cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_encoding_decl),     cmocka_unit_test(test_limits),
        cmocka_unit_test(test_fixtures),      cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
