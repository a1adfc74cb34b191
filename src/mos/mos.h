/* castgate mos — internal helpers shared by the codec's files (not installed). */
#ifndef CG_MOS_INTERNAL_H
#define CG_MOS_INTERNAL_H

#include "core/core.h"
#include <castgate/mos.h>
#include <string.h>

/* A character reader over the native encoding: ASCII characters come back as
 * themselves, anything else (non-ASCII, or a UTF-16 unit with a non-zero high
 * byte) as CG__MOS_OTHER, which never matches markup. `w` is the unit width:
 * 2 for UTF-16BE, 1 for UTF-8. */
#define CG__MOS_OTHER 0x100

static inline unsigned cg__mos_ch(const uint8_t *p, size_t i, unsigned w)
{
    if (w == 1)
        return p[i] < 0x80 ? p[i] : CG__MOS_OTHER;
    return (p[i] == 0 && p[i + 1] < 0x80) ? p[i + 1] : CG__MOS_OTHER;
}

/* The raw code unit at i: a byte (UTF-8) or a big-endian 16-bit unit. Any
 * non-ASCII unit is >= 0x80, so comparing it with an ASCII character is
 * exactly as safe as cg__mos_ch, and cheaper. */
static inline unsigned cg__mos_unit(const uint8_t *p, size_t i, unsigned w)
{
    return w == 1 ? p[i] : (unsigned)((p[i] << 8) | p[i + 1]);
}

/* The five predefined entities of XML (section 4.6; a MOS message has no
 * DTD, so no others): their names without '&' and ';'. One table for the
 * two readers, mos/wf.c (in either encoding) and mos/xmltext.c (bytes). */
struct cg__mos_entity {
    const char *name;
    size_t len;
    char ch;
};
extern const struct cg__mos_entity cg__mos_entities[5];

/* Writes cp (a Unicode scalar value) as UTF-8 at o; returns the length, 0 if
 * room is too small. Inline: it is the converter's inner loop (conv.c);
 * xmltext.c uses it for entities. */
static inline size_t cg__mos_put_utf8(uint8_t *o, size_t room, uint32_t cp)
{
    if (cp < 0x80) {
        if (room < 1)
            return 0;
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        if (room < 2)
            return 0;
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        if (room < 3)
            return 0;
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (room < 4)
        return 0;
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

static inline bool cg__mos_is_space(unsigned ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Position of the next `ch` (ASCII) at or after i within [i, end), aligned to
 * the unit width, or `end`. memchr does the scanning; in UTF-16BE the ASCII
 * byte sits at the odd index of a unit whose high byte is zero. Inline: it
 * is the framer's inner loop. */
static inline size_t cg__mos_find(const uint8_t *p, size_t i, size_t end, unsigned w,
                                  unsigned ch)
{
    if (w == 1) {
        const uint8_t *q = i < end ? memchr(p + i, (int)ch, end - i) : NULL;
        return q != NULL ? (size_t)(q - p) : end;
    }
    size_t j = i + 1;
    while (j < end) {
        const uint8_t *q = memchr(p + j, (int)ch, end - j);
        if (q == NULL)
            return end;
        j = (size_t)(q - p);
        if (((j - i) & 1) == 1 && p[j - 1] == 0)
            return j - 1;
        j++;
    }
    return end;
}

/* A text cursor over the native encoding (markup.c). */
struct cg__mos_txt {
    const uint8_t *p;
    size_t n; /* length, rounded down to whole units */
    unsigned w;
};

static inline unsigned cg__mos_txt_ch(const struct cg__mos_txt *t, size_t i)
{
    return cg__mos_ch(t->p, i, t->w);
}

/* Does the ASCII string s sit at i? */
bool cg__mos_txt_is(const struct cg__mos_txt *t, size_t i, const char *s);

enum cg__mos_tag_kind { CG__MOS_TAG_START, CG__MOS_TAG_END, CG__MOS_TAG_OTHER };

/* One piece of markup starting at a '<': a start or end tag, or OTHER (a
 * comment, CDATA section, PI or declaration). */
struct cg__mos_tag {
    enum cg__mos_tag_kind kind;
    size_t name, name_len; /* byte span of the tag name (tags only) */
    size_t end;            /* just after the final '>' */
    bool empty;            /* <x/> */
};

/* Reads the markup at i (a '<'; quoted attribute values may hold '>').
 * Returns false if it is not terminated within the text. */
bool cg__mos_tag_read(const struct cg__mos_txt *t, size_t i, struct cg__mos_tag *m);

/* The framer's attribute bound (framer.c; issue 12, denial of service): with
 * max > 0, a start tag inside a message with more than max attributes ('='
 * outside quotes, as cg_mos_scan counts them) is refused while it streams
 * in: cg_mos_framer_next returns CG_EXML with frame data/len the message's
 * bytes up to just after the '=' that passed the bound (its envelope head is
 * there, and cg_mos_scan refuses those bytes for the same reason), then drops
 * the rest of that message up to its `</mos>` without buffering it or lexing
 * its attributes. A tag read whole by the fast path (it arrived in one feed)
 * is not counted here; the pre-scan refuses it when the message is done.
 * 0 (the default): no bound. */
struct cg_mos_framer;
void cg__mos_framer_set_max_attrs(struct cg_mos_framer *f, unsigned max);
/* True while the framer drops the rest of a refused message (attribute bound
 * or past max_message) up to its `</mos>`: a reader may read that peer
 * slowly meanwhile (legacy/conn.c). */
bool cg__mos_framer_dropping(const struct cg_mos_framer *f);
/* A framer keeps at most this much buffer once everything fed has been
 * consumed (a bigger one, grown for a big message, is freed then). */
#define CG__MOS_FRAMER_KEEP ((size_t)64 * 1024)
/* The framer's buffer size now (tests). */
size_t cg__mos_framer_capacity(const struct cg_mos_framer *f);

/* The envelope's head only (envelope.c): mosID, ncsID, messageID and the
 * message element's name, read forward from the root and stopping at the
 * message element's name: nothing after it is looked at, so the cost does not
 * grow with the message (a refused 6 MB message's NACK needs only its
 * messageID), and msg may be a prefix of the message. Fields not reached stay
 * empty; env->name is "" when the name was not reached or is not printable
 * ASCII. CG_OK, CG_EENVELOPE (no <mos> root, a field malformed or twice),
 * CG_EENCODING, CG_EINVAL. */
enum cg_err cg__mos_envelope_head(enum cg_mos_encoding enc, const void *msg, size_t len,
                                  struct cg_mos_envelope *env);

/* Skips the element whose (non-empty) start tag is start, counting nesting
 * depth without matching names; no recursion. Returns the position after
 * its end tag, or 0 if the text ends first. */
size_t cg__mos_tag_skip(const struct cg__mos_txt *t, const struct cg__mos_tag *start);

/* Decodes XML text (the five predefined entities and character references)
 * from src (UTF-8, n bytes) into dst (NUL-terminated), trims surrounding XML
 * whitespace, and checks it is at most CG_MOS_ID_MAX characters. On failure
 * *why gets a reason: CG_EENVELOPE (bad entity, too long). */
enum cg_err cg__mos_xml_unescape(const uint8_t *src, size_t n, char *dst, size_t dstsz,
                                 const char **why);

/* cg_mos_validate without the default limits: the caller ran cg_mos_scan
 * with its own (mos4/flow.c, with the endpoint's), so the well-formedness
 * check (wf.c) runs with the largest the options allow. Safe on any thread. */
enum cg_err cg__mos_validate_xml(enum cg_mos_encoding enc, const void *msg, size_t len,
                                 uint64_t *err_offset);


/* What the check of a fresh message decided (cg__mos_check_fresh). */
struct cg__mos_verdict {
    bool refused;  /* the pre-scan refused it (CG_EXML): at and why say where and why */
    uint64_t at;   /* refused: the offset of the markup refused */
    char why[80];  /* refused: cg_mos_scan's reason */
};

/* The check of a message not checked before, as it always was: with
 * prescan, cg_mos_scan under limits (a refusal: CG_EXML, v->refused), then
 * cg__mos_validate_xml. In one pass where the message passes (issue 13):
 * wf.c runs first under limits, and wf.c refuses whatever cg_mos_scan
 * refuses under the same limits (fuzz/fuzz_mos_wf.c checks this on every
 * input, tests/unit/test_mos_check_fresh.c on a corpus), so a message it
 * accepts (CG_OK) or finds well-formed but not one message (CG_EENVELOPE)
 * passed the scan, and the check with the larger limits would say the same.
 * Only a message it refuses is checked again the old way, for the same
 * answer. Safe on any thread. */
enum cg_err cg__mos_check_fresh(enum cg_mos_encoding enc, const void *msg, size_t len,
                                const struct cg_mos_scan_limits *limits, bool prescan,
                                struct cg__mos_verdict *v);

/* The check validate.c did before wf.c, kept as the oracle for
 * fuzz/fuzz_mos_wf.c, the unit tests and bench/codec (never on the message
 * path): libxml2's SAX2 parser, any error or warning refused, then the MOS
 * rule. No pre-scan. Call cg__mos_validate_libxml2_init() once on the
 * thread that uses it first. */
enum cg_err cg__mos_validate_libxml2(enum cg_mos_encoding enc, const void *msg, size_t len,
                                     uint64_t *err_offset);
void cg__mos_validate_libxml2_init(void);

/* What wf.c says about a message it refused (CG_EXML) or that is not one MOS
 * message (CG_EENVELOPE). */
struct cg__mos_wf_result {
    uint64_t offset; /* CG_EXML: the byte where the refused markup or character starts */
    char why[128];    /* an English reason, "" on CG_OK */
    bool lenient;    /* CG_EXML where libxml2 2.9 accepts what XML forbids (fuzz_mos_wf) */
};

/* The whole check in one pass (wf.c): cg_mos_scan's refusals under limits
 * (NULL: the defaults), XML 1.0 and Namespaces well-formedness, then the MOS
 * rule (root <mos>, one message element). CG_OK, CG_EINVAL, CG_ENOMEM (only
 * past the inline arrays), CG_EXML or CG_EENVELOPE, with *r filled. */
enum cg_err cg__mos_wf_check(enum cg_mos_encoding enc, const void *msg, size_t len,
                             const struct cg_mos_scan_limits *limits,
                             struct cg__mos_wf_result *r);

/* Checks that n bytes are UTF-16BE (M-04: UCS-2 plus surrogate pairs): an
 * even count, every high surrogate followed by a low one, no lone low one.
 * Reads only (no conversion). CG_OK or CG_EENCODING with *bad (if not NULL)
 * the offset of the offending unit (or of the odd last byte). */
enum cg_err cg__mos_utf16_check(const void *data, size_t n, uint64_t *bad);

/* Appends s (UTF-8, NUL-terminated) to b with &, <, >, " and ' escaped. */
enum cg_err cg__mos_xml_escape(struct cg_buf *b, const char *s);

#endif
