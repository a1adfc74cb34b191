/* The framer's attribute bound (issue 12, denial of service: quadratic XML):
 * with cg__mos_framer_set_max_attrs, a start tag that passes the bound inside
 * a message is refused while it streams in (CG_EXML, the message's first
 * bytes up to the refusal, which hold its envelope head for the NACK), the
 * rest of that message is dropped without buffering and without lexing its
 * attributes, and the next message frames normally. Without the setter
 * nothing changes (the pre-scan refuses the whole message later). And
 * cg__mos_framer_dropping, which tells the reader to slow down while a refused
 * message streams in. */
#include "testutil.h"
#include "mos/mos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTRS 200000

static uint8_t *ucs2(const char *s, size_t n, size_t *len)
{
    uint8_t *o = malloc(2 * n + 1);
    assert_non_null(o);
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = 0;
        o[2 * i + 1] = (uint8_t)s[i];
    }
    *len = 2 * n;
    return o;
}

/* The attack (6.3 MB in UCS-2BE) followed by an honest message. */
static uint8_t *attack_then_honest(size_t *len, size_t *attack_len)
{
    size_t cap = 256 + (size_t)ATTRS * 20;
    char *m = malloc(cap);
    assert_non_null(m);
    size_t n = (size_t)snprintf(m, cap, "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID>"
                                "<messageID>7</messageID><roReq");
    for (int i = 0; i < ATTRS; i++)
        n += (size_t)snprintf(m + n, cap - n, " a%d=\"%d\"", i, i);
    n += (size_t)snprintf(m + n, cap - n, "><roID>A</roID></roReq></mos>");
    *attack_len = 2 * n;
    n += (size_t)snprintf(m + n, cap - n, "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID>"
                          "<messageID>8</messageID><roReq><roID>B</roID></roReq></mos>");
    uint8_t *w = ucs2(m, n, len);
    free(m);
    return w;
}

static void test_refused_while_streaming(void **state)
{
    (void)state;
    size_t len = 0, attack_len = 0;
    uint8_t *w = attack_then_honest(&len, &attack_len);
    struct cg_mos_framer *f = NULL;
    assert_int_equal(cg_mos_framer_new(CG_MOS_UCS2BE, 16u << 20, &f), CG_OK);
    cg__mos_framer_set_max_attrs(f, 64);
    struct cg_mos_frame fr;
    /* the first 64 KiB: the refusal comes now, not after 6 MB */
    assert_int_equal(cg_mos_framer_feed(f, w, 65536), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EXML);
    assert_int_equal(fr.offset, 0);
    assert_true(fr.len > 0 && fr.len < 4096);
    struct cg_mos_envelope env;
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UCS2BE, fr.data, fr.len, &env), CG_OK);
    assert_string_equal(env.message_id, "7");
    assert_string_equal(env.name, "roReq");
    const char *why = NULL;
    assert_int_equal(cg_mos_scan(CG_MOS_UCS2BE, fr.data, fr.len, NULL, NULL, &why), CG_EXML);
    assert_non_null(strstr(why, "more than 64 attributes"));
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EAGAIN);
    assert_true(cg__mos_framer_dropping(f)); /* the reader may slow down now */
    /* the rest in 64 KiB feeds: nothing until the honest message */
    int events = 0;
    enum cg_err rc;
    bool honest = false;
    for (size_t off = 65536; off < len; off += 65536) {
        size_t n = len - off < 65536 ? len - off : 65536;
        assert_int_equal(cg_mos_framer_feed(f, w + off, n), CG_OK);
        while ((rc = cg_mos_framer_next(f, &fr)) != CG_EAGAIN) {
            events++;
            assert_int_equal(rc, CG_OK);
            assert_int_equal(fr.offset, attack_len);
            assert_int_equal(cg_mos_envelope_parse(CG_MOS_UCS2BE, fr.data, fr.len, &env, NULL),
                             CG_OK);
            assert_string_equal(env.message_id, "8");
            honest = true;
        }
    }
    assert_int_equal(events, 1);
    assert_true(honest);
    assert_false(cg__mos_framer_dropping(f)); /* the refused message is over */
    assert_int_equal(cg_mos_framer_finish(f, &fr), CG_OK);
    cg_mos_framer_free(f);
    free(w);
}

/* At the bound exactly: framed whole, as without it; one more: refused. A
 * quoted '=' is no attribute. Attributes on different elements do not add. */
static void test_bound_exact(void **state)
{
    (void)state;
    const char *ok = "<mos><a x=\"1\" y='=' z=\"==\"/><b p=\"1\" q=\"2\" r=\"3\"/></mos>";
    const char *over = "<mos><a x=\"1\" y=\"2\" z=\"3\" w=\"4\"/></mos><mos><c/></mos>";
    struct cg_mos_framer *f = NULL;
    struct cg_mos_frame fr;
    assert_int_equal(cg_mos_framer_new(CG_MOS_UTF8, 0, &f), CG_OK);
    cg__mos_framer_set_max_attrs(f, 3);
    /* byte by byte, so no fast path reads a whole tag at once */
    for (size_t i = 0; i < strlen(ok); i++) {
        assert_int_equal(cg_mos_framer_feed(f, ok + i, 1), CG_OK);
        enum cg_err rc = cg_mos_framer_next(f, &fr);
        assert_int_equal(rc, i + 1 == strlen(ok) ? CG_OK : CG_EAGAIN);
    }
    assert_int_equal(fr.len, strlen(ok));
    int refused = 0, framed = 0;
    for (size_t i = 0; i < strlen(over); i++) {
        assert_int_equal(cg_mos_framer_feed(f, over + i, 1), CG_OK);
        enum cg_err rc;
        while ((rc = cg_mos_framer_next(f, &fr)) != CG_EAGAIN) {
            if (rc == CG_EXML) {
                refused++;
                assert_true(fr.len <= strlen("<mos><a x=\"1\" y=\"2\" z=\"3\" w="));
            } else {
                assert_int_equal(rc, CG_OK);
                assert_int_equal(fr.len, strlen("<mos><c/></mos>"));
                framed++;
            }
        }
    }
    assert_int_equal(refused, 1);
    assert_int_equal(framed, 1);
    cg_mos_framer_free(f);
}

/* Dropping: from a refusal (attributes, or past max_message) to the end of
 * that message, and never otherwise. */
static void test_dropping_oversized(void **state)
{
    (void)state;
    const char *big = "<mos><a>0123456789012345678901234567890123456789</a></mos><mos><b/></mos>";
    struct cg_mos_framer *f = NULL;
    struct cg_mos_frame fr;
    assert_int_equal(cg_mos_framer_new(CG_MOS_UTF8, 32, &f), CG_OK);
    assert_false(cg__mos_framer_dropping(f));
    assert_int_equal(cg_mos_framer_feed(f, big, 40), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_ETOOBIG);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EAGAIN);
    assert_true(cg__mos_framer_dropping(f));
    assert_int_equal(cg_mos_framer_feed(f, big + 40, strlen(big) - 40), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_OK);
    assert_int_equal(fr.len, strlen("<mos><b/></mos>"));
    assert_false(cg__mos_framer_dropping(f));
    cg_mos_framer_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_while_streaming),
        cmocka_unit_test(test_bound_exact),
        cmocka_unit_test(test_dropping_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
