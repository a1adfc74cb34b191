/* Shared by the well-formedness check's tests (src/mos/wf.c; test_mos_wf.c,
 * test_mos_wf_names.c, test_mos_wf_runs.c): libxml2's verdict, the oracle
 * the check is compared with, and a UTF-8 test message in either encoding. */
#ifndef CG_TEST_WFCHECK_H
#define CG_TEST_WFCHECK_H

#include "mosfix.h"
#include "mos/mos.h"

/* libxml2's verdict (the check wf.c replaced, cg__mos_validate_libxml2),
 * after the pre-scan as the library ran it. */
static inline enum cg_err wf_libxml2(enum cg_mos_encoding enc, const void *p, size_t n)
{
    enum cg_err rc = cg_mos_scan(enc, p, n, NULL, NULL, NULL);
    return rc != CG_OK ? rc : cg__mos_validate_libxml2(enc, p, n, NULL);
}

/* A test message in one encoding: u 0 is UTF-8 (xml itself), u 1 UTF-16BE
 * (a copy, m16, that wf_msg_free frees); name says which, for a message. */
struct wf_msg {
    enum cg_mos_encoding enc;
    const void *p;
    size_t n;
    uint8_t *m16;
    const char *name;
};

static inline void wf_msg_in(struct wf_msg *m, int u, const char *xml, size_t n8)
{
    m->enc = u ? CG_MOS_UCS2BE : CG_MOS_UTF8;
    m->name = u ? "utf-16be" : "utf-8";
    m->p = xml;
    m->n = n8;
    m->m16 = NULL;
    if (u) {
        assert_int_equal(cg_mos_convert(CG_MOS_UTF8, xml, n8, &m->m16, &m->n, NULL), CG_OK);
        m->p = m->m16;
    }
}

static inline void wf_msg_free(struct wf_msg *m)
{
    cg_mos_free(m->m16);
    m->m16 = NULL;
}

#endif
