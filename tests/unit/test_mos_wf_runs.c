/* The well-formedness check's text runs (src/mos/wf.c plain_run: printable
 * ASCII other than '<', '&' and ']' skipped 8 bytes a step, issue 13: the
 * check was a fifth of a gateway pair's CPU at the 64 KB relay figure). A
 * run of plain text with one other character (or markup) put at every
 * offset, in both encodings: the verdict is libxml2's, and a bad character
 * is reported where it stands. Guards the fast path; it passes before it. */
#include "wfcheck.h"

#define RUN 48

struct odd {
    const char *text; /* UTF-8 */
    enum cg_err want;
    bool at_it; /* CG_EXML reported at the odd text's own offset */
};

static const struct odd odds[] = {
    {"\x01", CG_EXML, true},      /* not a Char [2] */
    {"\x1f", CG_EXML, true},
    {"\xef\xbf\xbe", CG_EXML, true}, /* U+FFFE */
    {"<", CG_EXML, false},        /* markup that is no tag */
    {"&", CG_EXML, false},        /* a reference without its name */
    {"]]>", CG_EXML, false},      /* not in CharData [14] */
    {"&amp;", CG_OK, false},
    {"]", CG_OK, false},
    {"]]", CG_OK, false},
    {"\n", CG_OK, false},
    {"\t", CG_OK, false},
    {"\r", CG_OK, false},
    {"\x7f", CG_OK, false},       /* DEL is a Char */
    {"\xc3\xa9", CG_OK, false},   /* U+00E9 */
    {"\xe2\x82\xac", CG_OK, false}, /* U+20AC */
    {"\xf0\x9f\x8e\xac", CG_OK, false}, /* U+1F3AC: a surrogate pair in UTF-16BE */
};

static const char head[] = "<mos><mosID>m</mosID><ncsID>n</ncsID><roAck><roStatus>";
static const char tail[] = "</roStatus></roAck></mos>";

static void check(const char *xml, size_t n8, size_t odd_at, const struct odd *o)
{
    for (int u = 0; u < 2; u++) {
        struct wf_msg m;
        wf_msg_in(&m, u, xml, n8);
        struct cg__mos_wf_result r;
        enum cg_err rc = cg__mos_wf_check(m.enc, m.p, m.n, NULL, &r);
        if (rc != o->want)
            fail_msg("%s, odd text at %zu: %s (%s), want %s", m.name, odd_at, cg_errname(rc),
                     rc == CG_OK ? "" : r.why, cg_errname(o->want));
        enum cg_err old = wf_libxml2(m.enc, m.p, m.n);
        if (old != rc)
            fail_msg("%s, odd text at %zu: libxml2 %s, castgate %s", m.name, odd_at,
                     cg_errname(old), cg_errname(rc));
        /* all before the odd text is ASCII: its UTF-16BE offset is twice */
        if (rc == CG_EXML && o->at_it && r.offset != odd_at * (u + 1))
            fail_msg("%s: reported at %llu, the bad character is at %zu", m.name,
                     (unsigned long long)r.offset, odd_at * (u + 1));
        wf_msg_free(&m);
    }
}

static void test_odd_text_at_every_offset(void **state)
{
    (void)state;
    char xml[512];
    for (size_t k = 0; k < sizeof(odds) / sizeof(odds[0]); k++)
        for (size_t pad = 0; pad < 4; pad++) /* where the run starts within a word */
            for (size_t at = 0; at <= RUN; at++) {
                size_t n = 0;
                memcpy(xml, head, sizeof(head) - 1);
                n += sizeof(head) - 1;
                for (size_t i = 0; i < pad + at; i++)
                    xml[n++] = (char)('a' + i % 26);
                size_t odd_at = n;
                memcpy(xml + n, odds[k].text, strlen(odds[k].text));
                n += strlen(odds[k].text);
                for (size_t i = at; i < RUN; i++)
                    xml[n++] = (char)(i % 2 ? ' ' : 'Z' - i % 26);
                memcpy(xml + n, tail, sizeof(tail) - 1);
                n += sizeof(tail) - 1;
                check(xml, n, odd_at, &odds[k]);
            }
}

/* Every printable ASCII character alone in a long run. */
static void test_each_ascii_in_a_run(void **state)
{
    (void)state;
    char xml[512];
    for (int c = 0x20; c < 0x7f; c++) {
        size_t n = 0;
        memcpy(xml, head, sizeof(head) - 1);
        n += sizeof(head) - 1;
        for (size_t i = 0; i < RUN; i++)
            xml[n++] = i == 21 ? (char)c : 'x';
        memcpy(xml + n, tail, sizeof(tail) - 1);
        n += sizeof(tail) - 1;
        struct odd o = {.text = "", .want = c == '<' || c == '&' ? CG_EXML : CG_OK};
        check(xml, n, 0, &o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odd_text_at_every_offset),
        cmocka_unit_test(test_each_ascii_in_a_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
