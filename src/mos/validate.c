/* The full check (M-20: messages must be well-formed) and its oracle.
 *
 * cg_mos_validate and cg_mos_check run wf.c: castgate's own well-formedness
 * checker, one pass over the message's own bytes that also refuses what the
 * bounded pre-scan (scan.c) refuses and checks the MOS rule (the root is
 * <mos> and holds exactly one element besides mosID, ncsID and messageID).
 *
 * cg__mos_validate_libxml2 is what cg_mos_validate did before (issue 13):
 * libxml2's SAX2 parser with no tree, no DTD, no network, any error or
 * warning refused. It stays as the oracle fuzz/fuzz_mos_wf.c and the unit
 * tests compare wf.c with, and as bench/codec's reference; nothing on the
 * message path calls it. */
#include "mos/mos.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

struct vstate {
    xmlParserCtxtPtr ctxt;
    int depth;
    int messages;
    bool bad_root;
    bool doctype;
    bool failed;
    uint64_t err_offset;
};

static bool envelope_field(const xmlChar *name)
{
    return xmlStrEqual(name, BAD_CAST "mosID") || xmlStrEqual(name, BAD_CAST "ncsID") ||
           xmlStrEqual(name, BAD_CAST "messageID");
}

static void on_start(void *user, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nns, const xmlChar **ns, int nattr, int ndef,
                     const xmlChar **attrs)
{
    (void)uri, (void)nns, (void)ns, (void)nattr, (void)ndef, (void)attrs;
    struct vstate *v = user;
    if (v->depth == 0 && (prefix != NULL || !xmlStrEqual(localname, BAD_CAST "mos")))
        v->bad_root = true;
    if (v->depth == 1 && (prefix != NULL || !envelope_field(localname)))
        v->messages++;
    v->depth++;
}

static void on_end(void *user, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    (void)localname, (void)prefix, (void)uri;
    struct vstate *v = user;
    v->depth--;
}

/* A DOCTYPE has no business in a MOS message and could declare entities. */
static void on_doctype(void *user, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
    (void)name, (void)eid, (void)sid;
    struct vstate *v = user;
    v->doctype = true;
    xmlStopParser(v->ctxt);
}

static void on_error(void *user, xmlErrorPtr err)
{
    (void)err;
    struct vstate *v = user;
    if (v->failed)
        return;
    v->failed = true;
    long consumed = xmlByteConsumed(v->ctxt);
    v->err_offset = consumed > 0 ? (uint64_t)consumed : 0;
}

/* libxml2 reports encoding errors outside the parser context, through the
 * (per-thread) generic error handler, which prints to stderr by default. The
 * library never prints: swallow them for the duration of the call and put
 * the caller's handler back afterwards. */
static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

void cg__mos_validate_libxml2_init(void) { xmlInitParser(); }

enum cg_err cg_mos_check(enum cg_mos_encoding enc, const void *msg, size_t len,
                         const struct cg_mos_scan_limits *limits, uint64_t *offset,
                         const char **why)
{
    static _Thread_local char reason[sizeof(((struct cg__mos_wf_result *)0)->why)];
    if (offset != NULL)
        *offset = 0;
    if (why != NULL)
        *why = NULL;
    struct cg__mos_wf_result r;
    enum cg_err rc = cg__mos_wf_check(enc, msg, len, limits, &r);
    if (rc == CG_EXML || rc == CG_EENVELOPE) {
        memcpy(reason, r.why, sizeof(reason));
        if (why != NULL)
            *why = reason;
        if (offset != NULL)
            *offset = r.offset;
    }
    return rc;
}

enum cg_err cg_mos_validate(enum cg_mos_encoding enc, const void *msg, size_t len,
                            uint64_t *err_offset)
{
    return cg_mos_check(enc, msg, len, NULL, err_offset, NULL);
}

enum cg_err cg__mos_validate_xml(enum cg_mos_encoding enc, const void *msg, size_t len,
                                 uint64_t *err_offset)
{
    /* the caller's pre-scan applied its limits: these only bound the arrays */
    const struct cg_mos_scan_limits most = {.max_attributes = 1000000, .max_depth = 1000000};
    return cg_mos_check(enc, msg, len, &most, err_offset, NULL);
}

enum cg_err cg__mos_check_fresh(enum cg_mos_encoding enc, const void *msg, size_t len,
                                const struct cg_mos_scan_limits *limits, bool prescan,
                                struct cg__mos_verdict *v)
{
    memset(v, 0, sizeof(*v));
    enum cg_err rc = cg_mos_check(enc, msg, len, limits, NULL, NULL);
    if (rc == CG_OK || rc == CG_EENVELOPE)
        return rc; /* passed the scan too (see mos.h) */
    const char *why = NULL;
    if (prescan && cg_mos_scan(enc, msg, len, limits, &v->at, &why) != CG_OK) {
        v->refused = true;
        snprintf(v->why, sizeof(v->why), "%s", why != NULL ? why : "refused by the pre-scan");
        return CG_EXML;
    }
    return cg__mos_validate_xml(enc, msg, len, NULL);
}

enum cg_err cg__mos_validate_libxml2(enum cg_mos_encoding enc, const void *msg, size_t len,
                                     uint64_t *err_offset)
{
    CG_CHECK(msg != NULL || len == 0, CG_EINVAL);
    CG_CHECK(enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8, CG_EINVAL);
    CG_CHECK(len <= INT_MAX, CG_ETOOBIG);
    if (err_offset != NULL)
        *err_offset = 0;
    if (len == 0)
        return CG_EXML; /* libxml2 refuses to make a context for nothing */
    xmlInitParser();
    xmlGenericErrorFunc old_fn = xmlGenericError;
    void *old_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, silent);
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(msg, (int)len);
    if (ctxt == NULL) {
        xmlSetGenericErrorFunc(old_ctx, old_fn);
        return CG_ENOMEM;
    }
    struct vstate v = {.ctxt = ctxt};
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NODICT);
    memset(ctxt->sax, 0, sizeof(*ctxt->sax));
    ctxt->sax->initialized = XML_SAX2_MAGIC;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->internalSubset = on_doctype;
    ctxt->sax->serror = on_error;
    ctxt->userData = &v;
    ctxt->replaceEntities = 0;
    enum cg_err rc = CG_OK;
    if (xmlSwitchEncoding(ctxt, enc == CG_MOS_UCS2BE ? XML_CHAR_ENCODING_UTF16BE
                                                                  : XML_CHAR_ENCODING_UTF8) != 0) {
        rc = CG_EXML;
    } else {
        xmlParseDocument(ctxt);
        if (!ctxt->wellFormed || v.failed || v.doctype)
            rc = CG_EXML;
        else if (v.bad_root || v.messages != 1)
            rc = CG_EENVELOPE;
    }
    if (rc == CG_EXML && err_offset != NULL)
        *err_offset = v.err_offset;
    if (ctxt->myDoc != NULL)
        xmlFreeDoc(ctxt->myDoc);
    xmlFreeParserCtxt(ctxt);
    xmlSetGenericErrorFunc(old_ctx, old_fn);
    return rc;
}
