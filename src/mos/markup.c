/* Markup reading over the native encoding (UTF-16BE or UTF-8), shared by the
 * envelope reader and the removed-message translator. Not a validating
 * parser: it finds tags, comments, CDATA and PIs and skips elements by
 * nesting depth; cg_mos_validate is the well-formedness check. */
#include "mos/mos.h"

#include <string.h>

bool cg__mos_txt_is(const struct cg__mos_txt *t, size_t i, const char *s)
{
    for (; *s != 0; s++, i += t->w)
        if (i >= t->n || cg__mos_txt_ch(t, i) != (unsigned char)*s)
            return false;
    return true;
}

/* Position just after the next occurrence of s at or after i, or 0. */
static size_t find_after(const struct cg__mos_txt *t, size_t i, const char *s)
{
    for (;;) {
        i = cg__mos_find(t->p, i, t->n, t->w, (unsigned char)s[0]);
        if (i >= t->n)
            return 0;
        if (cg__mos_txt_is(t, i, s))
            return i + strlen(s) * t->w;
        i += t->w;
    }
}

static bool name_delim(unsigned ch) { return cg__mos_is_space(ch) || ch == '/' || ch == '>'; }

bool cg__mos_tag_read(const struct cg__mos_txt *t, size_t i, struct cg__mos_tag *m)
{
    const unsigned w = t->w;
    memset(m, 0, sizeof(*m));
    m->kind = CG__MOS_TAG_OTHER;
    if (cg__mos_txt_is(t, i, "<!--"))
        return (m->end = find_after(t, i + 4 * w, "-->")) != 0;
    if (cg__mos_txt_is(t, i, "<![CDATA["))
        return (m->end = find_after(t, i + 9 * w, "]]>")) != 0;
    if (cg__mos_txt_is(t, i, "<?"))
        return (m->end = find_after(t, i + 2 * w, "?>")) != 0;
    if (cg__mos_txt_is(t, i, "<!"))
        return (m->end = find_after(t, i + 2 * w, ">")) != 0;
    size_t j = i + w;
    m->kind = CG__MOS_TAG_START;
    if (j < t->n && cg__mos_txt_ch(t, j) == '/') {
        m->kind = CG__MOS_TAG_END;
        j += w;
    }
    m->name = j;
    while (j < t->n && !name_delim(cg__mos_txt_ch(t, j)) && cg__mos_txt_ch(t, j) != '<')
        j += w;
    m->name_len = j - m->name;
    if (m->name_len == 0)
        return false;
    /* Attributes: '>' may appear inside quoted values. Raw units (a
     * non-ASCII unit never equals a markup character) and an inline search
     * for the closing quote: values are short, and a tag may hold thousands
     * (issue 12 item 5), where a memchr call per value cost more. */
    unsigned last = 0;
    while (j < t->n) {
        unsigned ch = cg__mos_unit(t->p, j, w);
        if (ch == '"' || ch == '\'') {
            j += w;
            while (j < t->n && cg__mos_unit(t->p, j, w) != ch)
                j += w;
            if (j >= t->n)
                return false;
        } else if (ch == '>') {
            m->end = j + w;
            m->empty = m->kind == CG__MOS_TAG_START && last == '/';
            return true;
        } else if (ch == '<') {
            return false;
        }
        if (!cg__mos_is_space(ch))
            last = ch;
        j += w;
    }
    return false;
}

size_t cg__mos_tag_skip(const struct cg__mos_txt *t, const struct cg__mos_tag *start)
{
    size_t i = start->end;
    unsigned depth = 1;
    while (depth > 0) {
        i = cg__mos_find(t->p, i, t->n, t->w, '<');
        struct cg__mos_tag m;
        if (i >= t->n || !cg__mos_tag_read(t, i, &m))
            return 0;
        if (m.kind == CG__MOS_TAG_START && !m.empty)
            depth++;
        else if (m.kind == CG__MOS_TAG_END)
            depth--;
        i = m.end;
    }
    return i;
}
