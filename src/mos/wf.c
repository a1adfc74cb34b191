/* The well-formedness check (issue 13): castgate's own XML 1.0 (5th edition)
 * and Namespaces in XML 1.0 checker, in place of libxml2 on the message path.
 * One linear pass over the message's own bytes (UTF-8 or UTF-16BE, decoded
 * in place, never converted), no recursion, no allocation unless a message
 * nests deeper or carries more attributes or namespace declarations on one
 * element than the inline arrays hold (64 each; then one array grown up to
 * the limits). End tags are compared with their start tag by offset and
 * length in the message; attribute names pairwise (their count is bounded).
 *
 * It decides what libxml2 2.9 (SAX2, namespaces on, any error or warning
 * refused, as src/mos/validate.c did) decides for a message cg_mos_scan
 * passed, with the exceptions marked `lenient` below (libxml2 accepts what
 * the XML spec forbids); fuzz/fuzz_mos_wf.c runs both on every input. The
 * bounds libxml2 applies without XML_PARSE_HUGE are applied too (a name of
 * more than 50,000 UTF-8 bytes, an attribute value, comment, PI or CDATA
 * section of more than 10,000,000, elements nested more than 257 deep). The
 * production numbers ([1]..[89]) are XML 1.0's; NS [n] those of Namespaces
 * in XML 1.0. */
#include "mos/mos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define WF_INLINE 64
#define WF_NAME_MAX 50000u    /* libxml2's XML_MAX_NAME_LENGTH (UTF-8 bytes) */
#define WF_TEXT_MAX 10000000u /* libxml2's XML_MAX_TEXT_LENGTH */
#define WF_DEPTH_MAX 257u     /* libxml2's xmlParserMaxDepth (256) + 1 */
#define WF_END ((int32_t)-1)
#define WF_BAD ((int32_t)-2)

struct wf_span {
    size_t off, len;
};

struct wf_el {
    struct wf_span name;
    uint32_t ns_mark; /* namespace declarations in scope before this element */
};

struct wf_ns { /* xmlns:prefix="uri" or xmlns="uri" (prefix.len 0) */
    struct wf_span pfx;
    struct wf_span uri; /* the raw attribute value, between the quotes */
};

struct wf_att {
    struct wf_span qname, pfx, local;
};

struct wf {
    const uint8_t *p;
    size_t n, i;
    unsigned w;
    enum cg_mos_encoding enc;
    size_t err_at;
    const char *why;
    char text[80]; /* why, when it carries a number */
    bool lenient;
    bool after_root;
    uint32_t max_depth, max_attrs;
    struct wf_el *el;
    uint32_t depth, el_cap;
    struct wf_ns *ns;
    uint32_t nns, ns_cap;
    struct wf_att *att;
    uint32_t natt, att_cap;
    bool oom;
    /* the MOS rule */
    bool root_not_mos;
    uint32_t messages;
    struct wf_el el_in[WF_INLINE];
    struct wf_ns ns_in[WF_INLINE];
    struct wf_att att_in[WF_INLINE];
};

/* ------------------------------------------------------------------------ */
/* Characters                                                               */
/* ------------------------------------------------------------------------ */

/* [2] Char */
static inline bool is_char(int32_t c)
{
    if (c < 0x20)
        return c == 0x9 || c == 0xA || c == 0xD;
    return c <= 0xD7FF || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* [3] S */
static inline bool is_s(int32_t c)
{
    return c == 0x20 || c == 0x9 || c == 0xA || c == 0xD;
}

/* ASCII: 1 NameStartChar, 2 NameChar (both without ':') */
static const uint8_t ascii_name[128] = {
    ['-'] = 2, ['.'] = 2, ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2,
    ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2, ['A'] = 3, ['B'] = 3, ['C'] = 3, ['D'] = 3,
    ['E'] = 3, ['F'] = 3, ['G'] = 3, ['H'] = 3, ['I'] = 3, ['J'] = 3, ['K'] = 3, ['L'] = 3,
    ['M'] = 3, ['N'] = 3, ['O'] = 3, ['P'] = 3, ['Q'] = 3, ['R'] = 3, ['S'] = 3, ['T'] = 3,
    ['U'] = 3, ['V'] = 3, ['W'] = 3, ['X'] = 3, ['Y'] = 3, ['Z'] = 3, ['_'] = 3, ['a'] = 3,
    ['b'] = 3, ['c'] = 3, ['d'] = 3, ['e'] = 3, ['f'] = 3, ['g'] = 3, ['h'] = 3, ['i'] = 3,
    ['j'] = 3, ['k'] = 3, ['l'] = 3, ['m'] = 3, ['n'] = 3, ['o'] = 3, ['p'] = 3, ['q'] = 3,
    ['r'] = 3, ['s'] = 3, ['t'] = 3, ['u'] = 3, ['v'] = 3, ['w'] = 3, ['x'] = 3, ['y'] = 3,
    ['z'] = 3};

/* [4] NameStartChar, without ':' (NS [4] NCName) */
static inline bool is_start(int32_t c)
{
    if (c < 0x80)
        return (ascii_name[c] & 1) != 0;
    return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
           (c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) ||
           (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
           (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
           (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0xEFFFF);
}

/* [4a] NameChar, without ':' */
static inline bool is_namech(int32_t c)
{
    if (c < 0x80)
        return (ascii_name[c] & 2) != 0;
    return is_start(c) || c == 0xB7 || (c >= 0x300 && c <= 0x36F) || c == 0x203F || c == 0x2040;
}

static unsigned u8len(int32_t c)
{
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/* The character at byte i: its code point (and *len its bytes), WF_END at
 * the end, WF_BAD for a byte sequence that is not UTF-8 / UTF-16BE. */
static int32_t dec8(const uint8_t *p, size_t n, size_t i, size_t *len)
{
    unsigned b = p[i];
    if (b < 0x80) {
        *len = 1;
        return (int32_t)b;
    }
    unsigned need = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
    if (b < 0xC2 || b > 0xF4 || n - i <= need)
        return WF_BAD;
    unsigned lo = 0x80, hi = 0xBF;
    if (b == 0xE0)
        lo = 0xA0;
    else if (b == 0xED)
        hi = 0x9F; /* no surrogates */
    else if (b == 0xF0)
        lo = 0x90;
    else if (b == 0xF4)
        hi = 0x8F;
    if (p[i + 1] < lo || p[i + 1] > hi)
        return WF_BAD;
    int32_t c = (int32_t)(b & (0x3F >> need));
    for (unsigned k = 1; k <= need; k++) {
        if ((p[i + k] & 0xC0) != 0x80)
            return WF_BAD;
        c = (c << 6) | (p[i + k] & 0x3F);
    }
    *len = need + 1;
    return c;
}

static inline int32_t dec16(const uint8_t *p, size_t n, size_t i, size_t *len)
{
    if (n - i < 2)
        return WF_BAD;
    int32_t u = (p[i] << 8) | p[i + 1];
    *len = 2;
    if (u < 0xD800 || u > 0xDFFF)
        return u;
    if (u >= 0xDC00 || n - i < 4)
        return WF_BAD;
    int32_t v = (p[i + 2] << 8) | p[i + 3];
    if (v < 0xDC00 || v > 0xDFFF)
        return WF_BAD;
    *len = 4;
    return 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
}

static inline int32_t peek_at(const struct wf *s, size_t i, size_t *len)
{
    *len = 0;
    if (i >= s->n)
        return WF_END;
    if (s->w == 1) {
        if (s->p[i] < 0x80) {
            *len = 1;
            return s->p[i];
        }
        return dec8(s->p, s->n, i, len);
    }
    return dec16(s->p, s->n, i, len);
}

static inline int32_t peek(const struct wf *s, size_t *len)
{
    return peek_at(s, s->i, len);
}

/* The ASCII character k units ahead (anything else: CG__MOS_OTHER). */
static inline unsigned ahead(const struct wf *s, size_t k)
{
    size_t j = s->i + k * s->w;
    if (j + s->w > s->n)
        return CG__MOS_OTHER;
    return cg__mos_ch(s->p, j, s->w);
}

static bool at_str(const struct wf *s, const char *lit)
{
    for (size_t k = 0; lit[k] != 0; k++)
        if (ahead(s, k) != (unsigned char)lit[k])
            return false;
    return true;
}

static void skip_units(struct wf *s, size_t k)
{
    s->i += k * s->w;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static bool fail_at(struct wf *s, size_t at, const char *why)
{
    if (s->why == NULL) {
        s->why = why;
        s->err_at = at;
    }
    return false;
}

static bool fail(struct wf *s, const char *why)
{
    return fail_at(s, s->i, why);
}

/* The scanner's limits, in its words (cg_mos_scan). */
static bool limit(struct wf *s, size_t at, bool depth, uint32_t n)
{
    if (depth)
        snprintf(s->text, sizeof(s->text), "elements nested more than %u deep", n);
    else
        snprintf(s->text, sizeof(s->text), "more than %u attributes on one element", n);
    return fail_at(s, at, s->text);
}

/* `<!` that is not a comment or CDATA: the scanner's refusal (cg_mos_scan). */
static bool declaration(struct wf *s)
{
    unsigned c = ahead(s, 2);
    return fail(s, c == 'D'   ? "a DOCTYPE is not allowed in a MOS message"
                   : c == 'E' ? "an entity declaration is not allowed in a MOS message"
                              : "a markup declaration (<!...>) is not allowed in a MOS message");
}

/* A refusal where libxml2 2.9 accepts what the spec forbids (documented in
 * include/castgate/mos.h and checked by fuzz/fuzz_mos_wf.c). */
static bool fail_lenient(struct wf *s, const char *why)
{
    if (s->why == NULL)
        s->lenient = true;
    return fail(s, why);
}

/* The character at s->i must be a Char: refuses a bad byte sequence or a
 * character outside [2]. After the root element, libxml2 takes U+0000 for
 * the end of its input and stops converting UTF-16 at a bad unit, so it
 * accepts what follows: lenient. */
static bool bad_char(struct wf *s, int32_t c)
{
    if (s->after_root && (c == 0 || (c == WF_BAD && s->w == 2)))
        return fail_lenient(s, c == 0 ? "U+0000 after the root element (production [2] Char)"
                                      : "invalid UTF-16 after the root element");
    if (c == WF_END)
        return fail(s, "the message ends inside markup");
    if (c == WF_BAD)
        return fail(s, s->w == 2 ? "invalid UTF-16 (a lone surrogate or an odd byte)"
                                 : "invalid UTF-8");
    return fail(s, "a character that XML does not allow (production [2] Char)");
}

static size_t skip_s(struct wf *s)
{
    size_t k = 0;
    while (s->i + s->w <= s->n && is_s((int32_t)cg__mos_ch(s->p, s->i, s->w))) {
        s->i += s->w;
        k++;
    }
    return k;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

/* How far from i the units are ASCII NameChars without ':' (letters,
 * digits, '-', '.', '_': ascii_name's bit 2), 16 bytes a step with SSE2
 * (every x86-64); stops where the unit-by-unit loops of ncname would, at the
 * first unit that is not one, or before the last 16 bytes (those loops go
 * on from there). Tag names are most of a tag-heavy message (a 2 MB
 * roCreate: 111,000 tags). */
static size_t name_run(const uint8_t *p, size_t i, size_t n, unsigned w)
{
#if defined(__SSE2__)
    while (n - i >= 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        const __m128i lc = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
        const __m128i dg = _mm_sub_epi8(v, _mm_set1_epi8('0'));
        __m128i ok = _mm_cmpeq_epi8(_mm_min_epu8(lc, _mm_set1_epi8(25)), lc); /* a-z, A-Z */
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(_mm_min_epu8(dg, _mm_set1_epi8(9)), dg));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('_')));
        unsigned m = (unsigned)_mm_movemask_epi8(ok), bad;
        if (w == 2) { /* a unit: its first byte 0 (even offset), its second a NameChar */
            unsigned zero = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
            unsigned unit = zero & (m >> 1) & 0x5555u;
            bad = ~unit & 0x5555u;
        } else {
            bad = ~m & 0xFFFFu;
        }
        if (bad != 0)
            return i + (size_t)__builtin_ctz(bad);
        i += 16;
    }
#else
    (void)p, (void)n, (void)w;
#endif
    return i;
}

/* [5] Name without ':' (NS [4] NCName) at s->i; false (no error set) if
 * there is none. */
static bool ncname(struct wf *s, struct wf_span *sp)
{
    size_t len;
    int32_t c = peek(s, &len);
    if (c < 0 || !is_start(c))
        return false;
    sp->off = s->i;
    size_t u8 = 0;
    const uint8_t *p = s->p;
    for (;;) {
        /* ASCII name characters, the common case, one unit at a time */
        size_t start = s->i + len, i = name_run(p, start, s->n, s->w);
        if (s->w == 1)
            while (i < s->n && p[i] < 0x80 && is_namech(p[i]))
                i++;
        else
            while (i + 1 < s->n && p[i] == 0 && p[i + 1] < 0x80 && is_namech(p[i + 1]))
                i += 2;
        u8 += u8len(c) + (i - start) / s->w;
        s->i = i;
        /* an ASCII character the loop stopped at is no NameChar: the name
         * ends there, without decoding it again */
        if (s->w == 1 ? i < s->n && p[i] < 0x80 : i + 1 < s->n && p[i] == 0 && p[i + 1] < 0x80)
            break;
        c = peek(s, &len);
        if (c < 0 || !is_namech(c))
            break;
    }
    sp->len = s->i - sp->off;
    if (u8 > WF_NAME_MAX)
        return fail_at(s, sp->off, "a name longer than 50000 bytes"), false;
    return true;
}

/* NS [7] QName: qn the whole name, pfx (len 0: none) and local. */
static bool qname(struct wf *s, struct wf_span *qn, struct wf_span *pfx, struct wf_span *local)
{
    size_t start = s->i;
    if (!ncname(s, local))
        return s->why != NULL ? false
               : ahead(s, 0) == ':' ? fail(s, "a name starts with ':' (Namespaces: QName)")
                                    : fail(s, "a name was expected here (production [5] Name)");
    pfx->off = start, pfx->len = 0;
    if (ahead(s, 0) == ':') {
        *pfx = *local;
        s->i += s->w;
        if (!ncname(s, local))
            return s->why != NULL ? false
                                  : fail(s, "a name's part after ':' is not a name (Namespaces: "
                                            "QName)");
        if (ahead(s, 0) == ':')
            return fail(s, "a name with two ':' (Namespaces: QName)");
    }
    qn->off = start, qn->len = s->i - start;
    return true;
}

static bool span_eq(const struct wf *s, struct wf_span a, struct wf_span b)
{
    return a.len == b.len && memcmp(s->p + a.off, s->p + b.off, a.len) == 0;
}

/* Is the span the ASCII string lit? */
static bool span_is(const struct wf *s, struct wf_span a, const char *lit)
{
    size_t n = strlen(lit);
    if (a.len != n * s->w)
        return false;
    for (size_t k = 0; k < n; k++)
        if (cg__mos_ch(s->p, a.off + k * s->w, s->w) != (unsigned char)lit[k])
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* References                                                               */
/* ------------------------------------------------------------------------ */

/* [66] CharRef, [68] EntityRef at '&': *c gets the character it stands for.
 * Only the five predefined entities exist (no DTD: a MOS message has none). */
static bool reference(struct wf *s, int32_t *c)
{
    size_t amp = s->i;
    s->i += s->w;
    if (ahead(s, 0) == '#') {
        s->i += s->w;
        bool hex = ahead(s, 0) == 'x';
        if (hex)
            s->i += s->w;
        uint32_t v = 0;
        size_t digits = 0;
        for (;; digits++, s->i += s->w) {
            int d = cg__digitval((int)ahead(s, 0), hex ? 16 : 10);
            if (d < 0)
                break;
            v = v * (hex ? 16 : 10) + (unsigned)d;
            if (v > 0x110000)
                v = 0x110000;
        }
        if (digits == 0 || ahead(s, 0) != ';')
            return fail_at(s, amp, "a malformed character reference (production [66] CharRef)");
        s->i += s->w;
        if (!is_char((int32_t)v))
            return fail_at(s, amp, "a character reference to a character XML does not allow "
                                   "(WFC: Legal Character)");
        *c = (int32_t)v;
        return true;
    }
    for (size_t k = 0; k < CG_ARRAY_LEN(cg__mos_entities); k++) {
        const struct cg__mos_entity *e = &cg__mos_entities[k];
        if (at_str(s, e->name) && ahead(s, e->len) == ';') {
            skip_units(s, e->len + 1);
            *c = e->ch;
            return true;
        }
    }
    struct wf_span nm, pf, lc;
    if (!qname(s, &nm, &pf, &lc) && ahead(s, 0) != ':') {
        s->why = NULL;
        return fail_at(s, amp, "'&' that does not start a reference (production [67] Reference)");
    }
    s->why = NULL;
    return fail_at(s, amp, "a reference to an entity that is not declared (WFC: Entity Declared; "
                           "only lt, gt, amp, apos, quot exist)");
}

/* ------------------------------------------------------------------------ */
/* Comments, PIs, CDATA                                                     */
/* ------------------------------------------------------------------------ */

/* Checks Chars up to (not including) the ASCII terminator lit; leaves s->i
 * after it. dashes: the '--' rule of comments. */
static bool chars_until(struct wf *s, size_t start, const char *lit, bool dashes,
                        const char *unterminated, const char *toolong)
{
    size_t u8 = 0;
    for (;;) {
        if (at_str(s, lit)) {
            skip_units(s, strlen(lit));
            break;
        }
        if (dashes && at_str(s, "--"))
            return fail(s, "'--' inside a comment (production [15] Comment)");
        size_t len;
        int32_t c = peek(s, &len);
        if (c == WF_END)
            return fail_at(s, start, unterminated);
        if (!is_char(c))
            return bad_char(s, c);
        u8 += u8len(c);
        s->i += len;
    }
    if (u8 > WF_TEXT_MAX)
        return fail_at(s, start, toolong);
    return true;
}

/* [15] Comment, at "<!--". */
static bool comment(struct wf *s)
{
    size_t lt = s->i;
    skip_units(s, 4);
    return chars_until(s, lt, "-->", true, "a comment that does not end",
                       "a comment longer than 10,000,000 bytes");
}

/* [18] CDSect, at "<![CDATA[". */
static bool cdata(struct wf *s)
{
    size_t lt = s->i;
    skip_units(s, 9);
    return chars_until(s, lt, "]]>", false, "a CDATA section that does not end",
                       "a CDATA section longer than 10,000,000 bytes");
}

static bool ascii_ieq(unsigned a, char b)
{
    return a == (unsigned char)b || (a >= 'A' && a <= 'Z' && a + 32 == (unsigned char)b);
}

/* [16] PI, at "<?". [17] PITarget: not "xml" in any case; libxml2 refuses
 * too other names starting with "xml" (but xml-stylesheet and xml-model),
 * and colons (Namespaces: no colon in PI targets). */
static bool pi(struct wf *s)
{
    size_t lt = s->i;
    skip_units(s, 2);
    struct wf_span t;
    size_t start = s->i;
    /* a Name: NCName pieces joined by ':' */
    bool colon = false;
    for (;;) {
        struct wf_span part;
        if (ahead(s, 0) == ':') {
            colon = true;
            s->i += s->w;
            continue;
        }
        if (!ncname(s, &part)) {
            if (s->why != NULL)
                return false;
            if (s->i == start)
                return fail(s, "a processing instruction without a target (production [16] PI)");
            break;
        }
    }
    t.off = start, t.len = s->i - start;
    if (s->i == start)
        return fail(s, "a processing instruction without a target (production [16] PI)");
    if (t.len >= 3 * s->w && ascii_ieq(cg__mos_ch(s->p, t.off, s->w), 'x') &&
        ascii_ieq(cg__mos_ch(s->p, t.off + s->w, s->w), 'm') &&
        ascii_ieq(cg__mos_ch(s->p, t.off + 2 * s->w, s->w), 'l')) {
        if (t.len == 3 * s->w)
            return fail_at(s, lt, span_is(s, t, "xml")
                                      ? "an XML declaration not at the start of the message"
                                      : "a processing instruction named 'xml' (production [17] "
                                        "PITarget)");
        if (!span_is(s, t, "xml-stylesheet") && !span_is(s, t, "xml-model"))
            return fail_at(s, lt, "a processing instruction name starting with 'xml' "
                                  "(reserved, production [17] PITarget)");
    }
    if (colon)
        return fail_at(s, lt, "a ':' in a processing instruction name (Namespaces in XML, "
                              "section 7)");
    if (at_str(s, "?>")) {
        skip_units(s, 2);
        return true;
    }
    if (skip_s(s) == 0)
        return fail(s, "a space is needed after a processing instruction's name "
                       "(production [16] PI)");
    return chars_until(s, lt, "?>", false, "a processing instruction that does not end",
                       "a processing instruction longer than 10,000,000 bytes");
}

/* ------------------------------------------------------------------------ */
/* The XML declaration                                                      */
/* ------------------------------------------------------------------------ */

/* At a pseudo-attribute (version, encoding, standalone): its name, Eq and
 * an opening quote; returns the quote character, or 0 (error set). */
static unsigned eq_quote(struct wf *s, const char *name, const char *what)
{
    skip_units(s, strlen(name));
    skip_s(s);
    if (ahead(s, 0) != '=')
        return fail(s, what), 0;
    s->i += s->w;
    skip_s(s);
    unsigned q = ahead(s, 0);
    if (q != '"' && q != '\'')
        return fail(s, what), 0;
    s->i += s->w;
    return q;
}

static bool ascii_span_ieq(const struct wf *s, struct wf_span sp, const char *lit)
{
    size_t n = strlen(lit);
    if (sp.len != n * s->w)
        return false;
    for (size_t k = 0; k < n; k++) {
        unsigned c = cg__mos_ch(s->p, sp.off + k * s->w, s->w);
        if (c >= 'a' && c <= 'z')
            c -= 32;
        if (c != (unsigned char)lit[k])
            return false;
    }
    return true;
}

/* [80] EncodingDecl: the message's encoding is the transport's (M-04, M-21);
 * a declaration must name it. */
static bool encoding_decl(struct wf *s)
{
    static const char bad[] = "a malformed encoding declaration (production [80] EncodingDecl)";
    unsigned q = eq_quote(s, "encoding", bad);
    if (q == 0)
        return false;
    struct wf_span name = {s->i, 0};
    unsigned c = ahead(s, 0);
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        return fail(s, bad);
    for (;; s->i += s->w) {
        c = ahead(s, 0);
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            break;
    }
    name.len = s->i - name.off;
    if (c != q)
        return fail(s, bad);
    s->i += s->w;
    bool ok = s->enc == CG_MOS_UTF8
                  ? ascii_span_ieq(s, name, "UTF-8") || ascii_span_ieq(s, name, "UTF8")
                  : ascii_span_ieq(s, name, "UTF-16") || ascii_span_ieq(s, name, "UTF16") ||
                        ascii_span_ieq(s, name, "UTF-16BE") || ascii_span_ieq(s, name, "UTF16BE");
    if (!ok) {
        s->i = name.off;
        return fail_lenient(s, s->enc == CG_MOS_UTF8
                                   ? "the XML declaration names another encoding than the "
                                     "message's, UTF-8 (section 4.3.3)"
                                   : "the XML declaration names another encoding than the "
                                     "message's, UTF-16 (section 4.3.3)");
    }
    return true;
}

/* [32] SDDecl, at "standalone". */
static bool sd_decl(struct wf *s)
{
    static const char bad[] = "a malformed standalone declaration (production [32] SDDecl)";
    unsigned q = eq_quote(s, "standalone", bad);
    if (q == 0)
        return false;
    if (at_str(s, "yes"))
        skip_units(s, 3);
    else if (at_str(s, "no"))
        skip_units(s, 2);
    else
        return fail(s, bad);
    if (ahead(s, 0) != q)
        return fail(s, bad);
    s->i += s->w;
    return true;
}

/* [23] XMLDecl, at "<?xml" S. [26] VersionNum: libxml2 takes only "1.0". */
static bool xml_decl(struct wf *s)
{
    static const char bad[] = "a malformed XML declaration (production [23] XMLDecl)";
    skip_units(s, 5);
    skip_s(s);
    if (!at_str(s, "version"))
        return fail(s, "the XML declaration has no version (production [24] VersionInfo)");
    unsigned q = eq_quote(s, "version", bad);
    if (q == 0)
        return false;
    if (!at_str(s, "1.0") || ahead(s, 3) != q)
        return fail(s, "an XML version other than 1.0");
    skip_units(s, 4);
    size_t sp = skip_s(s);
    if (sp > 0 && at_str(s, "encoding")) {
        if (!encoding_decl(s))
            return false;
        sp = skip_s(s);
    }
    if (at_str(s, "standalone")) {
        if (sp == 0)
            return fail_lenient(s, "a space is needed before 'standalone' (production [32] "
                                   "SDDecl)");
        if (!sd_decl(s))
            return false;
        skip_s(s);
    }
    if (!at_str(s, "?>"))
        return fail(s, bad);
    skip_units(s, 2);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Namespace names (NS [1]: a URI reference), as libxml2's xmlParseURI      */
/* (RFC 3986, ASCII only) reads them                                        */
/* ------------------------------------------------------------------------ */

static bool u_alpha(const char *c) { return (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'); }
static bool u_digit(const char *c) { return *c >= '0' && *c <= '9'; }
static bool u_hex(const char *c) { return cg__hexval((unsigned char)*c) >= 0; }
static bool u_unres(const char *c)
{
    return u_alpha(c) || u_digit(c) || *c == '-' || *c == '.' || *c == '_' || *c == '~';
}
static bool u_pct(const char *c) { return c[0] == '%' && u_hex(c + 1) && u_hex(c + 2); }
static bool u_sub(const char *c) { return *c != 0 && strchr("!$&'()*+,;=", *c) != NULL; }
static bool u_pchar(const char *c)
{
    return u_unres(c) || u_pct(c) || u_sub(c) || *c == ':' || *c == '@';
}
static const char *u_next(const char *c) { return c + (*c == '%' ? 3 : 1); }

/* segment (empty allowed or not), stopping at forbid */
static bool u_segment(const char **str, char forbid, bool empty)
{
    const char *c = *str;
    if (!u_pchar(c))
        return empty;
    while (u_pchar(c) && *c != forbid)
        c = u_next(c);
    *str = c;
    return true;
}

static bool u_abempty(const char **str)
{
    while (**str == '/') {
        (*str)++;
        if (!u_segment(str, 0, true))
            return false;
    }
    return true;
}

static bool u_host(const char **str)
{
    const char *c = *str;
    if (*c == '[') {
        while (*c != ']' && *c != 0)
            c++;
        if (*c != ']')
            return false;
        *str = c + 1;
        return true;
    }
    while (u_unres(c) || u_pct(c) || u_sub(c))
        c = u_next(c);
    *str = c;
    return true;
}

static bool u_authority(const char **str)
{
    const char *c = *str, *u = c;
    while (u_unres(u) || u_pct(u) || u_sub(u) || *u == ':')
        u = u_next(u);
    if (*u == '@')
        c = u + 1;
    if (!u_host(&c))
        return false;
    if (*c == ':') {
        c++;
        if (!u_digit(c))
            return false;
        while (u_digit(c))
            c++;
    }
    *str = c;
    return true;
}

static bool u_tail(const char *c)
{
    if (*c == '?') {
        c++;
        while (u_pchar(c) || *c == '/' || *c == '?')
            c = u_next(c);
    }
    if (*c == '#') {
        c++;
        while (u_pchar(c) || *c == '/' || *c == '?' || *c == '[' || *c == ']')
            c = u_next(c);
    }
    return *c == 0;
}

/* hier-part or relative-part; noscheme: the first segment may hold no ':' */
static bool u_part(const char *c, bool noscheme)
{
    if (c[0] == '/' && c[1] == '/') {
        c += 2;
        if (!u_authority(&c) || !u_abempty(&c))
            return false;
    } else if (*c == '/') {
        c++;
        if (u_segment(&c, 0, false) && !u_abempty(&c))
            return false;
    } else if (u_pchar(c)) {
        if (!u_segment(&c, noscheme ? ':' : 0, false) || !u_abempty(&c))
            return false;
    }
    return u_tail(c);
}

/* *absolute: it has a scheme. */
static bool uri_ok(const char *u, bool *absolute)
{
    *absolute = false;
    const char *c = u;
    if (u_alpha(c)) {
        c++;
        while (u_alpha(c) || u_digit(c) || *c == '+' || *c == '-' || *c == '.')
            c++;
        if (*c == ':' && u_part(c + 1, false)) {
            *absolute = true;
            return true;
        }
    }
    return u_part(u, true);
}

/* ------------------------------------------------------------------------ */
/* Attribute values                                                         */
/* ------------------------------------------------------------------------ */

/* [10] AttValue after its quote q: no '<', references well-formed; raw gets
 * the bytes between the quotes. */
static bool att_value(struct wf *s, unsigned q, struct wf_span *raw)
{
    raw->off = s->i;
    size_t u8 = 0;
    for (;;) {
        size_t len;
        int32_t c = peek(s, &len);
        if (c == (int32_t)q)
            break;
        if (c == '<')
            return fail(s, "'<' in an attribute value (production [10] AttValue)");
        if (c == '&') {
            int32_t r;
            if (!reference(s, &r))
                return false;
            u8 += u8len(r);
            continue;
        }
        if (c == WF_END)
            return fail_at(s, raw->off, "an attribute value that does not end");
        if (!is_char(c))
            return bad_char(s, c);
        u8 += u8len(c);
        s->i += len;
    }
    raw->len = s->i - raw->off;
    s->i += s->w;
    if (u8 > WF_TEXT_MAX)
        return fail_at(s, raw->off, "an attribute value longer than 10,000,000 bytes");
    return true;
}

/* The normalized value's characters one by one (3.3.3: a literal tab, CR,
 * LF or CR LF is one space; references replaced), from a checked value. */
struct wf_vit {
    size_t i, end;
};

static int32_t vit_next(struct wf *s, struct wf_vit *it)
{
    if (it->i >= it->end)
        return WF_END;
    size_t len;
    int32_t c = peek_at(s, it->i, &len);
    if (c == '&') {
        size_t keep = s->i;
        s->i = it->i;
        int32_t r = 0;
        (void)reference(s, &r);
        it->i = s->i;
        s->i = keep;
        return r;
    }
    it->i += len;
    if (c == 0xD && it->i < it->end && peek_at(s, it->i, &len) == 0xA)
        it->i += len;
    return is_s(c) ? 0x20 : c;
}

static bool value_eq(struct wf *s, struct wf_span a, struct wf_span b)
{
    struct wf_vit x = {a.off, a.off + a.len}, y = {b.off, b.off + b.len};
    for (;;) {
        int32_t c = vit_next(s, &x), d = vit_next(s, &y);
        if (c != d)
            return false;
        if (c == WF_END)
            return true;
    }
}

static bool value_is(struct wf *s, struct wf_span a, const char *lit)
{
    struct wf_vit x = {a.off, a.off + a.len};
    for (size_t k = 0;; k++) {
        int32_t c = vit_next(s, &x);
        if (c != (lit[k] != 0 ? (unsigned char)lit[k] : WF_END))
            return false;
        if (c == WF_END)
            return true;
    }
}

static const char XML_NS[] = "http://www.w3.org/XML/1998/namespace";
static const char XMLNS_NS[] = "http://www.w3.org/2000/xmlns/";

/* libxml2's xmlParseURI on the value: CG_OK, CG_EINVAL (not a URI),
 * CG_ERANGE (a relative URI), CG_ENOMEM. */
static enum cg_err value_uri(struct wf *s, struct wf_span v)
{
    char small[256]; /* the value in UTF-8, as libxml2 holds it */
    size_t n = 0;
    struct wf_vit x = {v.off, v.off + v.len};
    for (int32_t c; (c = vit_next(s, &x)) != WF_END;)
        n += u8len(c);
    char *u = n < sizeof(small) ? small : malloc(n + 1);
    if (u == NULL)
        return CG_ENOMEM;
    x.i = v.off;
    n = 0;
    for (int32_t c; (c = vit_next(s, &x)) != WF_END;) {
        unsigned k = u8len(c);
        static const uint8_t lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
        for (unsigned j = k; j-- > 1; c >>= 6)
            u[n + j] = (char)(0x80 | (c & 0x3F));
        u[n] = (char)(k == 1 ? c : lead[k] | c);
        n += k;
    }
    u[n] = 0;
    bool abs = false;
    enum cg_err rc = uri_ok(u, &abs) ? (abs ? CG_OK : CG_ERANGE) : CG_EINVAL;
    if (u != small)
        free(u);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Bounded arrays                                                           */
/* ------------------------------------------------------------------------ */

/* Makes room for one more entry in *arr (count used, *cap), growing past the
 * inline array up to max entries. */
static bool room(struct wf *s, void **arr, void *inl, uint32_t count, uint32_t *cap, size_t size,
                 uint32_t max)
{
    if (count < *cap)
        return true;
    if (count >= max)
        return false;
    uint32_t ncap = *cap * 2 > max ? max : *cap * 2;
    void *n = *arr == inl ? malloc((size_t)ncap * size) : realloc(*arr, (size_t)ncap * size);
    if (n == NULL) {
        s->oom = true;
        return fail(s, "out of memory");
    }
    if (*arr == inl)
        memcpy(n, inl, (size_t)count * size);
    *arr = n;
    *cap = ncap;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Namespace declarations and attributes                                    */
/* ------------------------------------------------------------------------ */

/* The innermost declaration of prefix pfx (len > 0), or NULL; "xml" is
 * bound without one. */
static const struct wf_ns *ns_find(const struct wf *s, struct wf_span pfx)
{
    for (uint32_t k = s->nns; k-- > 0;)
        if (s->ns[k].pfx.len > 0 && span_eq(s, s->ns[k].pfx, pfx))
            return &s->ns[k];
    return NULL;
}

static bool ns_push(struct wf *s, struct wf_span pfx, struct wf_span uri, uint32_t mark,
                    size_t at)
{
    for (uint32_t k = mark; k < s->nns; k++)
        if (s->ns[k].pfx.len == pfx.len && span_eq(s, s->ns[k].pfx, pfx))
            return fail_at(s, at, "a namespace declared twice on one element (WFC: Unique "
                                  "Att Spec)");
    if (!room(s, (void **)&s->ns, s->ns_in, s->nns, &s->ns_cap, sizeof(*s->ns), UINT32_MAX))
        return s->why != NULL ? false : fail(s, "too many namespace declarations");
    s->ns[s->nns++] = (struct wf_ns){pfx, uri};
    return true;
}

/* xmlns="uri" (NS [3] DefaultAttName) */
static bool ns_default(struct wf *s, struct wf_span v, uint32_t mark, size_t at)
{
    if (v.len > 0) {
        enum cg_err rc = value_uri(s, v);
        if (rc == CG_ENOMEM)
            return s->oom = true, fail_at(s, at, "out of memory");
        if (rc == CG_EINVAL)
            return fail_at(s, at, "xmlns: the namespace name is not a URI (Namespaces in XML, "
                                  "section 2)");
        if (rc == CG_ERANGE)
            return fail_at(s, at, "xmlns: the namespace name is a relative URI (Namespaces in "
                                  "XML, section 2)");
        if (value_is(s, v, XML_NS) || value_is(s, v, XMLNS_NS))
            return fail_at(s, at, "xmlns: a reserved namespace name (Namespaces in XML, NSC: "
                                  "Reserved Prefixes and Namespace Names)");
    }
    return ns_push(s, (struct wf_span){at, 0}, v, mark, at);
}

/* xmlns:local="uri" (NS [3] PrefixedAttName) */
static bool ns_prefixed(struct wf *s, struct wf_span local, struct wf_span v, uint32_t mark,
                        size_t at)
{
    static const char reserved[] = "xmlns: a reserved prefix or namespace name (Namespaces in "
                                   "XML, NSC: Reserved Prefixes and Namespace Names)";
    if (span_is(s, local, "xml"))
        return value_is(s, v, XML_NS) ? true : fail_at(s, at, reserved);
    if (value_is(s, v, XML_NS) || span_is(s, local, "xmlns") || value_is(s, v, XMLNS_NS))
        return fail_at(s, at, reserved);
    if (v.len == 0)
        return fail_at(s, at, "xmlns: an empty namespace name for a prefix (Namespaces in XML, "
                              "NSC: No Prefix Undeclaring)");
    enum cg_err rc = value_uri(s, v);
    if (rc == CG_ENOMEM)
        return s->oom = true, fail_at(s, at, "out of memory");
    if (rc == CG_EINVAL)
        return fail_at(s, at, "xmlns: the namespace name is not a URI (Namespaces in XML, "
                              "section 2)");
    return ns_push(s, local, v, mark, at);
}

/* WFC: Unique Att Spec, as extended by Namespaces (NSC: Attributes Unique),
 * and NSC: Prefix Declared for the attributes, once all are read. */
static bool atts_check(struct wf *s)
{
    for (uint32_t i = 0; i < s->natt; i++) {
        const struct wf_att *a = &s->att[i];
        const struct wf_ns *ni = NULL;
        bool xml_i = a->pfx.len > 0 && span_is(s, a->pfx, "xml");
        if (a->pfx.len > 0 && !xml_i && (ni = ns_find(s, a->pfx)) == NULL)
            return fail_at(s, a->qname.off, "an attribute's namespace prefix is not declared "
                                            "(Namespaces in XML, NSC: Prefix Declared)");
        for (uint32_t j = 0; j < i; j++) {
            const struct wf_att *b = &s->att[j];
            if (!span_eq(s, a->local, b->local))
                continue;
            if (a->pfx.len == b->pfx.len && (a->pfx.len == 0 || span_eq(s, a->pfx, b->pfx)))
                return fail_at(s, a->qname.off, "an attribute given twice on one element "
                                                "(WFC: Unique Att Spec)");
            if (a->pfx.len == 0 || b->pfx.len == 0)
                continue;
            bool xml_j = span_is(s, b->pfx, "xml");
            const struct wf_ns *nj = xml_j ? NULL : ns_find(s, b->pfx);
            bool same = xml_i || xml_j ? xml_i == xml_j || (xml_i ? value_is(s, nj->uri, XML_NS)
                                                                  : value_is(s, ni->uri, XML_NS))
                                       : value_eq(s, ni->uri, nj->uri);
            if (same)
                return fail_at(s, a->qname.off, "an attribute given twice, through two "
                                                "prefixes of one namespace (NSC: Attributes "
                                                "Unique)");
        }
    }
    return true;
}

/* One attribute at s->i (a Name start). */
static bool attribute(struct wf *s, uint32_t mark)
{
    struct wf_att a;
    size_t at = s->i;
    if (!qname(s, &a.qname, &a.pfx, &a.local))
        return false;
    skip_s(s);
    if (ahead(s, 0) != '=')
        return fail(s, "'=' expected after an attribute name (production [25] Eq)");
    s->i += s->w;
    skip_s(s);
    unsigned q = ahead(s, 0);
    if (q != '"' && q != '\'')
        return fail(s, "an attribute value must be quoted (production [10] AttValue)");
    s->i += s->w;
    struct wf_span v = {0, 0}; /* set by att_value; initialised for -O2 -Wmaybe-uninitialized */
    if (!att_value(s, q, &v))
        return false;
    if (a.pfx.len == 0 && span_is(s, a.local, "xmlns"))
        return ns_default(s, v, mark, at);
    if (a.pfx.len > 0 && span_is(s, a.pfx, "xmlns"))
        return ns_prefixed(s, a.local, v, mark, at);
    if (!room(s, (void **)&s->att, s->att_in, s->natt, &s->att_cap, sizeof(*s->att),
              UINT32_MAX))
        return false;
    s->att[s->natt++] = a;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Elements                                                                 */
/* ------------------------------------------------------------------------ */

static bool is_envelope_field(const struct wf *s, struct wf_span local)
{
    return span_is(s, local, "mosID") || span_is(s, local, "ncsID") ||
           span_is(s, local, "messageID");
}

static void pop(struct wf *s)
{
    s->depth--;
    s->nns = s->el[s->depth].ns_mark;
}

/* [40] STag / [44] EmptyElemTag at '<'. */
static bool start_tag(struct wf *s)
{
    size_t lt = s->i;
    s->i += s->w;
    struct wf_span qn, pfx, local;
    if (!qname(s, &qn, &pfx, &local))
        return false;
    if (s->depth >= s->max_depth || s->depth >= WF_DEPTH_MAX)
        return limit(s, lt, true, s->max_depth < WF_DEPTH_MAX ? s->max_depth : WF_DEPTH_MAX);
    uint32_t mark = s->nns, count = 0;
    s->natt = 0;
    bool empty = false;
    for (;;) {
        size_t sp = skip_s(s);
        unsigned c = ahead(s, 0);
        if (c == '>') {
            s->i += s->w;
            break;
        }
        if (c == '/') {
            if (ahead(s, 1) != '>')
                return fail(s, "'/' not followed by '>' in a tag (production [44] "
                               "EmptyElemTag)");
            skip_units(s, 2);
            empty = true;
            break;
        }
        if (s->i >= s->n)
            return fail_at(s, lt, "the message ends inside a tag");
        if (sp == 0)
            return fail(s, "a space is needed before an attribute (production [40] STag)");
        if (++count > s->max_attrs)
            return limit(s, lt, false, s->max_attrs);
        if (!attribute(s, mark))
            return false;
    }
    if (!atts_check(s))
        return false;
    if (pfx.len > 0 && !span_is(s, pfx, "xml") && ns_find(s, pfx) == NULL)
        return fail_at(s, lt, "an element's namespace prefix is not declared (Namespaces in "
                              "XML, NSC: Prefix Declared)");
    if (s->depth == 0)
        s->root_not_mos = pfx.len > 0 || !span_is(s, local, "mos");
    else if (s->depth == 1 && (pfx.len > 0 || !is_envelope_field(s, local)))
        s->messages++;
    if (!room(s, (void **)&s->el, s->el_in, s->depth, &s->el_cap, sizeof(*s->el), UINT32_MAX))
        return false;
    s->el[s->depth++] = (struct wf_el){qn, mark};
    if (empty)
        pop(s);
    return true;
}

/* [42] ETag at "</": the name of the element it closes (WFC: Element Type
 * Match), compared by bytes in the message. */
static bool end_tag(struct wf *s)
{
    size_t lt = s->i;
    skip_units(s, 2);
    struct wf_span qn, pfx, local;
    if (!qname(s, &qn, &pfx, &local))
        return false;
    if (!span_eq(s, qn, s->el[s->depth - 1].name))
        return fail_at(s, lt, "an end tag that does not match its start tag (WFC: Element "
                              "Type Match)");
    skip_s(s);
    if (ahead(s, 0) != '>')
        return fail(s, "'>' expected at the end of an end tag (production [42] ETag)");
    s->i += s->w;
    pop(s);
    return true;
}

/* Plain text runs, 8 bytes a step: how far from i every character is
 * printable ASCII other than '<', '&' and ']' (4 UTF-16BE units or 8 UTF-8
 * bytes a word; the rest goes through text()'s loop one character at a time).
 * Each test works per lane (16 bits for UTF-16BE, 8 for UTF-8) with an
 * addition that cannot carry into the next lane. */
#define LANES16(x) (0x0001000100010001ull * (x))
#define LANES8(x) (0x0101010101010101ull * (x))
static inline bool plain16(uint64_t w)
{
    const uint64_t hi = LANES16(0x8000);
    if ((w & LANES16(0x00FF)) != 0) /* a high byte (bytes 0, 2, 4, 6 of the load) */
        return false;
    uint64_t lo = (w >> 8) & LANES16(0x00FF); /* each unit's value, 0..0xFF */
    if ((lo & LANES16(0x0080)) != 0 || ((lo + LANES16(0x7FE0)) & hi) != hi) /* < 0x80, >= 0x20 */
        return false;
    uint64_t lt = lo ^ LANES16('<'), amp = lo ^ LANES16('&'), rb = lo ^ LANES16(']');
    return ((lt + LANES16(0x7FFF)) & (amp + LANES16(0x7FFF)) & (rb + LANES16(0x7FFF)) & hi) == hi;
}
static inline bool plain8(uint64_t w)
{
    const uint64_t hi = LANES8(0x80);
    if ((w & hi) != 0 || ((w + LANES8(0x60)) & hi) != hi) /* < 0x80, >= 0x20 */
        return false;
    uint64_t lt = w ^ LANES8('<'), amp = w ^ LANES8('&'), rb = w ^ LANES8(']');
    return ((lt + LANES8(0x7F)) & (amp + LANES8(0x7F)) & (rb + LANES8(0x7F)) & hi) == hi;
}
#if defined(__SSE2__)
/* 16 bytes a step with SSE2 (every x86-64): the same test as plain16 and
 * plain8 on both halves of the block, so plain_run stops where the 8-byte
 * steps would (a block goes only if both its halves would). A byte is
 * 0x20..0x7F exactly when, read as signed, it is greater than 0x1F. */
static inline bool plain_sse(const uint8_t *p, unsigned w)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                                            _mm_cmpeq_epi8(v, _mm_set1_epi8('&'))),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8(']')));
    unsigned ascii = (unsigned)_mm_movemask_epi8(
        _mm_andnot_si128(bad, _mm_cmpgt_epi8(v, _mm_set1_epi8(0x1F))));
    if (w == 1)
        return ascii == 0xFFFF;
    /* UTF-16BE: each unit's first byte 0 (even offsets), its second plain */
    unsigned zero = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
    return ((zero & 0x5555u) | (ascii & 0xAAAAu)) == 0xFFFFu;
}
#endif

static size_t plain_run(const uint8_t *p, size_t i, size_t n, unsigned w)
{
    uint64_t v;
#if defined(__SSE2__)
    while (n - i >= 16 && plain_sse(p + i, w))
        i += 16;
#endif
    while (n - i >= 8) {
        memcpy(&v, p + i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
#endif
        if (!(w == 2 ? plain16(v) : plain8(v)))
            break;
        i += 8;
    }
    return i;
}

/* [14] CharData with references, up to the next '<' or the end. */
static bool text(struct wf *s)
{
    const uint8_t *p = s->p;
    const size_t n = s->n;
    size_t i = s->i;
    while (i < n) {
        i = plain_run(p, i, n, s->w);
        if (i >= n)
            break;
        unsigned c;
        size_t len = s->w;
        if (s->w == 1) {
            c = p[i];
        } else {
            if (n - i < 2)
                break;
            c = (unsigned)((p[i] << 8) | p[i + 1]);
        }
        if (c >= 0x20 && c < 0x80) {
            if (c == '<')
                break;
            if (c == '&') {
                int32_t r;
                s->i = i;
                if (!reference(s, &r))
                    return false;
                i = s->i;
                continue;
            }
            if (c == ']') {
                s->i = i;
                if (at_str(s, "]]>"))
                    return fail(s, "']]>' in text (production [14] CharData)");
            }
        } else if (c < 0x20) {
            if (c != 0x9 && c != 0xA && c != 0xD) {
                s->i = i;
                return bad_char(s, (int32_t)c);
            }
        } else {
            int32_t d = s->w == 1 ? dec8(p, n, i, &len) : dec16(p, n, i, &len);
            if (d < 0 || !is_char(d)) {
                s->i = i;
                return bad_char(s, d);
            }
        }
        i += len;
    }
    s->i = i;
    if (i < n && n - i < s->w)
        return bad_char(s, WF_BAD);
    return true;
}

/* [39] element: the root and everything in it, without recursion. */
static bool element(struct wf *s)
{
    if (!start_tag(s))
        return false;
    while (s->depth > 0) {
        if (!text(s))
            return false;
        if (s->i >= s->n)
            return fail(s, "the message ends before the root element is closed");
        unsigned c1 = ahead(s, 1); /* what follows '<' decides, read once */
        if (c1 == '/') {
            if (!end_tag(s))
                return false;
        } else if (c1 == '!' && at_str(s, "<!--")) {
            if (!comment(s))
                return false;
        } else if (c1 == '!' && at_str(s, "<![CDATA[")) {
            if (!cdata(s))
                return false;
        } else if (c1 == '?') {
            if (!pi(s))
                return false;
        } else if (c1 == '!') {
            return declaration(s);
        } else if (!start_tag(s)) {
            return false;
        }
    }
    return true;
}

/* [27] Misc*: comments, PIs and spaces. */
static bool misc(struct wf *s)
{
    for (;;) {
        skip_s(s);
        if (at_str(s, "<!--")) {
            if (!comment(s))
                return false;
        } else if (at_str(s, "<?")) {
            if (!pi(s))
                return false;
        } else {
            return true;
        }
    }
}

/* [1] document, with [22] prolog limited to XMLDecl? Misc* (no doctypedecl:
 * a MOS message has none). */
static bool document(struct wf *s)
{
    if (s->w == 1 && s->n >= 3 && s->p[0] == 0xEF && s->p[1] == 0xBB && s->p[2] == 0xBF)
        s->i = 3; /* a byte order mark (4.3.3, F.1) */
    else if (s->w == 2 && s->n >= 2 && s->p[0] == 0xFE && s->p[1] == 0xFF)
        s->i = 2;
    if (at_str(s, "<?xml") && is_s((int32_t)ahead(s, 5)) && !xml_decl(s))
        return false;
    if (!misc(s))
        return false;
    if (s->i >= s->n)
        return fail(s, "no root element");
    if (ahead(s, 0) != '<')
        return fail(s, "text before the root element (production [22] prolog)");
    if (ahead(s, 1) == '!')
        return declaration(s);
    if (!element(s))
        return false;
    s->after_root = true;
    if (!misc(s))
        return false;
    if (s->i < s->n) {
        size_t len;
        int32_t c = peek(s, &len);
        if (c < 0 || !is_char(c))
            return bad_char(s, c);
        return fail(s, "content after the root element (production [1] document)");
    }
    return true;
}

enum cg_err cg__mos_wf_check(enum cg_mos_encoding enc, const void *msg, size_t len,
                             const struct cg_mos_scan_limits *limits, struct cg__mos_wf_result *r)
{
    CG_CHECK(msg != NULL || len == 0, CG_EINVAL);
    CG_CHECK(enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8, CG_EINVAL);
    struct wf st, *s = &st; /* about 7 KB: the inline arrays */
    memset(s, 0, offsetof(struct wf, el_in));
    s->p = msg;
    s->n = len;
    s->w = enc == CG_MOS_UCS2BE ? 2 : 1;
    s->enc = enc;
    s->max_depth = limits != NULL && limits->max_depth != 0 ? limits->max_depth
                                                            : CG_MOS_DEFAULT_MAX_DEPTH;
    s->max_attrs = limits != NULL && limits->max_attributes != 0 ? limits->max_attributes
                                                                 : CG_MOS_DEFAULT_MAX_ATTRIBUTES;
    s->el = s->el_in, s->el_cap = WF_INLINE;
    s->ns = s->ns_in, s->ns_cap = WF_INLINE;
    s->att = s->att_in, s->att_cap = WF_INLINE;
    bool ok = document(s);
    memset(r, 0, sizeof(*r));
    enum cg_err rc = CG_OK;
    if (!ok) {
        rc = s->oom ? CG_ENOMEM : CG_EXML;
        r->offset = s->err_at;
        snprintf(r->why, sizeof(r->why), "%s", s->why);
        r->lenient = s->lenient;
    } else if (s->root_not_mos || s->messages != 1) {
        rc = CG_EENVELOPE;
        snprintf(r->why, sizeof(r->why), "%s",
                 s->root_not_mos      ? "the root element is not <mos>"
                 : s->messages == 0 ? "<mos> holds no message element"
                                    : "<mos> holds more than one message element");
    }
    if (s->el != s->el_in)
        free(s->el);
    if (s->ns != s->ns_in)
        free(s->ns);
    if (s->att != s->att_in)
        free(s->att);
    return rc;
}
