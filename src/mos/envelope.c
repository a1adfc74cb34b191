/* MOS envelope (M-20): <mos><mosID/><ncsID/><messageID/> and one message
 * element. The fields are read forward from the root; the message element is
 * found as a byte span and its end is checked backward from the root's
 * `</mos>` (the usual layout: fields first, message last), so a 4 MB roCreate
 * costs a few hundred bytes of scanning here. Only when that check fails
 * (fields after the message, trailing comments) is the element skipped
 * forward. Whether the XML is well-formed is cg_mos_validate's business. */
#include "mos/mos.h"

#include <string.h>

static size_t skip_space(const struct cg__mos_txt *t, size_t i)
{
    while (i < t->n && cg__mos_is_space(cg__mos_txt_ch(t, i)))
        i += t->w;
    return i;
}

static bool name_is(const struct cg__mos_txt *t, const struct cg__mos_tag *m, const char *s)
{
    return m->name_len == strlen(s) * t->w && cg__mos_txt_is(t, m->name, s);
}

/* Skips prolog or epilog material: whitespace, comments, PIs. */
static size_t skip_misc(const struct cg__mos_txt *t, size_t i)
{
    for (;;) {
        i = skip_space(t, i);
        struct cg__mos_tag m;
        if (i >= t->n || cg__mos_txt_ch(t, i) != '<' ||
            !(cg__mos_txt_is(t, i, "<!--") || cg__mos_txt_is(t, i, "<?")))
            return i;
        if (!cg__mos_tag_read(t, i, &m))
            return i;
        i = m.end;
    }
}

/* Decodes an envelope field's text (raw span in the native encoding) into
 * dst as UTF-8: entities decoded, whitespace trimmed, at most CG_MOS_ID_MAX
 * characters. */
static enum cg_err field_text(const struct cg__mos_txt *t, size_t off, size_t len, char *dst,
                              size_t dstsz, const char **why)
{
    uint8_t raw[4 * CG_MOS_ID_MAX * 4 + 16];
    *why = "envelope field too long";
    CG_CHECK(len / t->w <= sizeof(raw) / 3, CG_EENVELOPE); /* worst case 3 bytes per unit */
    size_t used = 0, made = 0;
    if (t->w == 2) {
        struct cg_mos_conv c;
        cg_mos_conv_init(&c, CG_MOS_UCS2BE);
        c.started = true; /* a U+FEFF inside a field is not a BOM */
        *why = "envelope field is not valid UTF-16";
        CG_CHECK(cg_mos_conv_feed(&c, t->p + off, len, raw, sizeof(raw), &used, &made) == CG_OK,
                 CG_EENCODING);
        CG_CHECK(cg_mos_conv_finish(&c) == CG_OK, CG_EENCODING);
    } else {
        uint8_t scratch[2 * sizeof(raw)]; /* UTF-16 output, only to validate */
        struct cg_mos_conv c;
        cg_mos_conv_init(&c, CG_MOS_UTF8);
        c.started = true;
        *why = "envelope field is not valid UTF-8";
        CG_CHECK(cg_mos_conv_feed(&c, t->p + off, len, scratch, sizeof(scratch), &used, &made) ==
                     CG_OK,
                 CG_EENCODING);
        CG_CHECK(cg_mos_conv_finish(&c) == CG_OK, CG_EENCODING);
        memcpy(raw, t->p + off, len);
        made = len;
    }
    return cg__mos_xml_unescape(raw, made, dst, dstsz, why);
}

enum cg_mos_msgid cg_mos_message_id_parse(const char *s, uint32_t *value)
{
    if (s == NULL || *s == 0)
        return CG_MOS_MSGID_ABSENT;
    unsigned base = 10;
    if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
        base = 16, s += 2;
    else if (s[0] == 'x' || s[0] == 'X')
        base = 16, s += 1;
    if (*s == 0)
        return CG_MOS_MSGID_BAD;
    uint64_t v = 0;
    bool big = false;
    for (; *s != 0; s++) {
        int d = cg__digitval((unsigned char)*s, base);
        if (d < 0)
            return CG_MOS_MSGID_BAD;
        if (!big) {
            v = v * base + (unsigned)d; /* v <= 2^31 here: no overflow */
            big = v > INT32_MAX;
        }
    }
    if (big || v == 0)
        return CG_MOS_MSGID_RANGE;
    if (value != NULL)
        *value = (uint32_t)v;
    return CG_MOS_MSGID_OK;
}

/* Reads an envelope field whose start tag is m; *next receives the position
 * after its end tag. */
static enum cg_err read_field(const struct cg__mos_txt *t, const struct cg__mos_tag *m, char *dst,
                              size_t dstsz, size_t *next, const char **why)
{
    dst[0] = 0;
    if (m->empty) {
        *next = m->end;
        return CG_OK;
    }
    size_t close = cg__mos_find(t->p, m->end, t->n, t->w, '<');
    struct cg__mos_tag e;
    *why = "envelope field is not plain text";
    CG_CHECK(close < t->n && cg__mos_tag_read(t, close, &e), CG_EENVELOPE);
    CG_CHECK(e.kind == CG__MOS_TAG_END && e.name_len == m->name_len &&
                 memcmp(t->p + e.name, t->p + m->name, m->name_len) == 0,
             CG_EENVELOPE);
    *next = e.end;
    return field_text(t, m->end, close - m->end, dst, dstsz, why);
}

/* Fast path: is the element starting at m the last child, closed by a
 * matching end tag just before the root's `</mos>`? Sets *elem_end. */
static bool last_child(const struct cg__mos_txt *t, const struct cg__mos_tag *m, size_t *elem_end,
                       size_t *root_end)
{
    const unsigned w = t->w;
    size_t i = t->n;
    while (i >= w && cg__mos_is_space(cg__mos_txt_ch(t, i - w)))
        i -= w;
    /* `</mos>` possibly with spaces before '>' */
    if (i < 7 * w || cg__mos_txt_ch(t, i - w) != '>')
        return false;
    *root_end = i;
    i -= w;
    while (i >= w && cg__mos_is_space(cg__mos_txt_ch(t, i - w)))
        i -= w;
    if (i < 5 * w || !cg__mos_txt_is(t, i - 5 * w, "</mos"))
        return false;
    i -= 5 * w;
    while (i >= w && cg__mos_is_space(cg__mos_txt_ch(t, i - w)))
        i -= w;
    /* `</name` + spaces + '>' */
    if (i < w || cg__mos_txt_ch(t, i - w) != '>')
        return false;
    size_t gt = i - w;
    size_t j = gt;
    while (j >= w && cg__mos_is_space(cg__mos_txt_ch(t, j - w)))
        j -= w;
    if (j < m->name_len + 2 * w)
        return false;
    size_t name = j - m->name_len;
    if (name <= m->end || cg__mos_txt_ch(t, name - w) != '/' ||
        cg__mos_txt_ch(t, name - 2 * w) != '<' ||
        memcmp(t->p + name, t->p + m->name, m->name_len) != 0)
        return false;
    *elem_end = gt + w;
    return true;
}

/* ASCII case-insensitive match of the lower-case string s at i. */
static bool match_ci(const struct cg__mos_txt *t, size_t i, const char *s)
{
    for (; *s != 0; s++, i += t->w) {
        unsigned ch = i < t->n ? cg__mos_txt_ch(t, i) : 0;
        if (ch == CG__MOS_OTHER || (ch | 0x20) != (unsigned char)*s)
            return false;
    }
    return true;
}

struct envctx {
    const struct cg__mos_txt *t;
    struct cg_mos_envelope *env;
    const char **why;
    bool have_msg;
    bool seen_msgid;
};

static enum cg_err take_message(struct envctx *x, size_t at, const struct cg__mos_tag *m,
                                size_t *next, bool *done)
{
    const struct cg__mos_txt *t = x->t;
    *x->why = "more than one message element";
    CG_CHECK(!x->have_msg, CG_EENVELOPE);
    x->have_msg = true;
    size_t chars = m->name_len / t->w;
    *x->why = "message element name is not an ASCII XML name or too long";
    CG_CHECK(chars < sizeof(x->env->name), CG_EENVELOPE);
    for (size_t k = 0; k < chars; k++) {
        unsigned ch = cg__mos_txt_ch(t, m->name + k * t->w);
        bool alpha = (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z';
        bool more = k > 0 && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '.');
        CG_CHECK(alpha || more || ch == '_' || ch == ':', CG_EENVELOPE);
        x->env->name[k] = (char)ch;
    }
    x->env->name[chars] = 0;
    x->env->element.off = at;
    size_t end = 0, root_end = 0;
    if (m->empty) {
        end = m->end;
    } else if (last_child(t, m, &end, &root_end)) {
        x->env->element.len = end - at;
        *done = true; /* nothing but `</mos>` follows */
        *next = root_end;
        return CG_OK;
    } else {
        end = cg__mos_tag_skip(t, m);
        *x->why = "message element is not closed";
        CG_CHECK(end != 0, CG_EENVELOPE);
    }
    x->env->element.len = end - at;
    *next = end;
    return CG_OK;
}

static enum cg_err child(struct envctx *x, size_t i, size_t *next, bool *done)
{
    const struct cg__mos_txt *t = x->t;
    struct cg_mos_envelope *env = x->env;
    struct cg__mos_tag m;
    *x->why = "unterminated markup in the envelope";
    CG_CHECK(cg__mos_tag_read(t, i, &m), CG_EENVELOPE);
    if (m.kind == CG__MOS_TAG_OTHER) { /* comment, PI, CDATA at envelope level */
        *next = m.end;
        return CG_OK;
    }
    if (m.kind == CG__MOS_TAG_END && !name_is(t, &m, "mos")) {
        /* M-09, ERRATA 1/15: the spec's §4.1.1 example writes a lone
         * </keepAlive> and its DTD spells it keepalive; read either as an
         * (empty) keepAlive. Any other stray end tag is an error. */
        *x->why = "unexpected end tag in the envelope";
        CG_CHECK(m.name_len == 9 * t->w && (match_ci(t, m.name, "keepalive")), CG_EENVELOPE);
        struct cg__mos_tag as_empty = m;
        as_empty.empty = true;
        return take_message(x, i, &as_empty, next, done);
    }
    if (m.kind == CG__MOS_TAG_END) {
        *next = m.end;
        *done = true;
        return CG_OK;
    }
    bool dup = false;
    enum cg_err rc = CG_OK;
    if (name_is(t, &m, "mosID")) {
        dup = env->has_mos_id;
        env->has_mos_id = true;
        rc = read_field(t, &m, env->mos_id, sizeof(env->mos_id), next, x->why);
    } else if (name_is(t, &m, "ncsID")) {
        dup = env->has_ncs_id;
        env->has_ncs_id = true;
        rc = read_field(t, &m, env->ncs_id, sizeof(env->ncs_id), next, x->why);
    } else if (name_is(t, &m, "messageID")) {
        dup = x->seen_msgid;
        x->seen_msgid = true;
        rc = read_field(t, &m, env->message_id, sizeof(env->message_id), next, x->why);
        if (rc == CG_OK)
            env->message_id_kind = cg_mos_message_id_parse(env->message_id,
                                                           &env->message_id_value);
    } else {
        return take_message(x, i, &m, next, done);
    }
    *x->why = "envelope field appears twice";
    CG_CHECK(!dup, CG_EENVELOPE);
    return rc;
}

static size_t skip_bom(const struct cg__mos_txt *t)
{
    if (t->w == 2 && t->n >= 2 && t->p[0] == 0xFE && t->p[1] == 0xFF)
        return 2;
    if (t->w == 1 && t->n >= 3 && t->p[0] == 0xEF && t->p[1] == 0xBB && t->p[2] == 0xBF)
        return 3;
    return 0;
}

enum cg_err cg_mos_envelope_parse(enum cg_mos_encoding enc, const void *msg, size_t len,
                                  struct cg_mos_envelope *env, const char **detail)
{
    const char *why = "invalid argument";
    enum cg_err rc = CG_OK;
    CG_ENSURE(env != NULL && (msg != NULL || len == 0), CG_EINVAL);
    CG_ENSURE(enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8, CG_EINVAL);
    memset(env, 0, sizeof(*env));
    struct cg__mos_txt t = {msg, 0, enc == CG_MOS_UCS2BE ? 2 : 1};
    t.n = len - len % t.w;
    /* Prolog, then the root start tag <mos ...>. */
    size_t i = skip_misc(&t, skip_bom(&t));
    struct cg__mos_tag root;
    why = "no <mos> root element";
    CG_ENSURE(i < t.n && cg__mos_txt_ch(&t, i) == '<' && cg__mos_tag_read(&t, i, &root),
              CG_EENVELOPE);
    CG_ENSURE(root.kind == CG__MOS_TAG_START && name_is(&t, &root, "mos") && !root.empty,
              CG_EENVELOPE);
    struct envctx x = {&t, env, &why, false, false};
    bool done = false;
    i = root.end;
    while (!done) {
        i = cg__mos_find(t.p, i, t.n, t.w, '<'); /* text at envelope level is ignored */
        why = "the root element is not closed";
        CG_ENSURE(i < t.n, CG_EENVELOPE);
        CG_TRY(child(&x, i, &i, &done));
    }
    why = "no message element";
    CG_ENSURE(x.have_msg, CG_EENVELOPE);
    i = skip_misc(&t, i);
    why = "bytes after the root element";
    CG_ENSURE(i >= t.n && len % t.w == 0, CG_EENVELOPE);
out:
    if (rc != CG_OK && detail != NULL)
        *detail = why;
    return rc;
}

/* ---- the head only (a refused message's NACK) ---- */

/* The name of a start tag at i, without reading its attributes (a hostile
 * one holds 200,000). False for an end tag, comment, PI or CDATA. */
static bool peek_start_name(const struct cg__mos_txt *t, size_t i, size_t *name, size_t *len)
{
    size_t j = i + t->w;
    if (j >= t->n)
        return false;
    unsigned first = cg__mos_txt_ch(t, j);
    if (first == '/' || first == '!' || first == '?')
        return false;
    *name = j;
    while (j < t->n) {
        unsigned ch = cg__mos_txt_ch(t, j);
        if (cg__mos_is_space(ch) || ch == '/' || ch == '>' || ch == '<')
            break;
        j += t->w;
    }
    *len = j - *name;
    return *len > 0 && j < t->n;
}

enum cg_err cg__mos_envelope_head(enum cg_mos_encoding enc, const void *msg, size_t len,
                                  struct cg_mos_envelope *env)
{
    const char *why = NULL;
    CG_CHECK(env != NULL && (msg != NULL || len == 0), CG_EINVAL);
    CG_CHECK(enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8, CG_EINVAL);
    memset(env, 0, sizeof(*env));
    struct cg__mos_txt t = {msg, 0, enc == CG_MOS_UCS2BE ? 2 : 1};
    t.n = len - len % t.w;
    size_t i = skip_misc(&t, skip_bom(&t)), name = 0, nlen = 0;
    struct cg__mos_tag root;
    CG_CHECK(i < t.n && cg__mos_txt_ch(&t, i) == '<' && cg__mos_tag_read(&t, i, &root) &&
                 root.kind == CG__MOS_TAG_START && name_is(&t, &root, "mos") && !root.empty,
             CG_EENVELOPE);
    struct envctx x = {&t, env, &why, false, false};
    i = root.end;
    for (;;) {
        i = cg__mos_find(t.p, i, t.n, t.w, '<');
        if (i >= t.n || !peek_start_name(&t, i, &name, &nlen))
            return CG_OK; /* the end of what was given, or markup a head does not need */
        struct cg__mos_tag m = {.kind = CG__MOS_TAG_START, .name = name, .name_len = nlen};
        if (!name_is(&t, &m, "mosID") && !name_is(&t, &m, "ncsID") &&
            !name_is(&t, &m, "messageID"))
            break;
        bool done = false;
        CG_GUARD(child(&x, i, &i, &done));
    }
    size_t chars = nlen / t.w;
    for (size_t k = 0; k < chars && k + 1 < sizeof(env->name); k++) {
        unsigned ch = cg__mos_txt_ch(&t, name + k * t.w);
        if (ch == CG__MOS_OTHER || ch < 0x21 || ch > 0x7E) {
            env->name[0] = 0; /* not a name to print */
            break;
        }
        env->name[k] = (char)ch;
    }
    env->element.off = i;
    return CG_OK;
}
