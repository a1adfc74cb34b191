/* The optional full check (M-20: messages must be well-formed): libxml2's
 * SAX2 parser with no tree, no DTD, no network. On top of well-formedness it
 * checks what the fast envelope path leaves to it: the root is <mos> and it
 * holds exactly one element besides mosID, ncsID and messageID. */
#include "mos/mos.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <limits.h>
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

void cg__mos_validate_init(void) { xmlInitParser(); }

enum cg_err cg_mos_validate(enum cg_mos_encoding enc, const void *msg, size_t len,
                            uint64_t *err_offset)
{
    CG_CHECK(msg != NULL || len == 0, CG_EINVAL);
    CG_CHECK(enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8, CG_EINVAL);
    if (err_offset != NULL)
        *err_offset = 0;
    /* libxml2 only sees what the bounded pre-scan lets through */
    CG_GUARD(cg_mos_scan(enc, msg, len, NULL, err_offset, NULL));
    return cg__mos_validate_xml(enc, msg, len, err_offset);
}

enum cg_err cg__mos_validate_xml(enum cg_mos_encoding enc, const void *msg, size_t len,
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
