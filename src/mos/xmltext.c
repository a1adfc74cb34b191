/* XML text helpers for envelope fields and builders: the five predefined
 * entities and character references, nothing that needs a DTD. */
#include "mos/mos.h"

#include <string.h>

const struct cg__mos_entity cg__mos_entities[5] = {
    {"lt", 2, '<'}, {"gt", 2, '>'}, {"amp", 3, '&'}, {"apos", 4, '\''}, {"quot", 4, '"'}};

/* Parses the entity at src[i] ('&'); returns its length, 0 if invalid. */
static size_t entity(const uint8_t *src, size_t i, size_t n, uint32_t *cp)
{
    for (size_t k = 0; k < CG_ARRAY_LEN(cg__mos_entities); k++) {
        const struct cg__mos_entity *e = &cg__mos_entities[k];
        if (n - i - 1 > e->len && memcmp(src + i + 1, e->name, e->len) == 0 &&
            src[i + 1 + e->len] == ';') {
            *cp = (uint8_t)e->ch;
            return e->len + 2;
        }
    }
    if (n - i < 4 || src[i + 1] != '#')
        return 0;
    size_t j = i + 2;
    unsigned base = 10;
    if (src[j] == 'x') {
        base = 16;
        j++;
    }
    uint32_t v = 0;
    size_t digits = 0;
    for (; j < n && src[j] != ';'; j++, digits++) {
        int d = cg__digitval(src[j], base);
        if (d < 0)
            return 0;
        if (v > 0x10FFFF)
            return 0;
        v = v * base + (uint32_t)d;
    }
    if (j >= n || digits == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ||
        (v < 0x20 && v != 0x9 && v != 0xA && v != 0xD))
        return 0;
    *cp = v;
    return j + 1 - i;
}

static bool xml_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

enum cg_err cg__mos_xml_unescape(const uint8_t *src, size_t n, char *dst, size_t dstsz,
                                 const char **why)
{
    size_t o = 0, chars = 0;
    while (n > 0 && xml_space(src[n - 1]))
        n--;
    size_t i = 0;
    while (i < n && xml_space(src[i]))
        i++;
    while (i < n) {
        *why = "envelope field too long";
        CG_CHECK(dstsz - o > 4, CG_EENVELOPE);
        if (src[i] == '&') {
            uint32_t cp = 0;
            size_t l = entity(src, i, n, &cp);
            *why = "invalid entity in an envelope field";
            CG_CHECK(l != 0, CG_EENVELOPE);
            o += cg__mos_put_utf8((uint8_t *)dst + o, dstsz - o - 1, cp); /* fits: checked above */
            i += l;
            chars++;
        } else {
            *why = "control character in an envelope field";
            CG_CHECK(src[i] >= 0x20 || xml_space(src[i]), CG_EENVELOPE);
            chars += (src[i] & 0xC0) != 0x80; /* count lead bytes only */
            dst[o++] = (char)src[i++];
        }
        *why = "envelope field longer than 128 characters";
        CG_CHECK(chars <= CG_MOS_ID_MAX, CG_EENVELOPE);
    }
    dst[o] = 0;
    return CG_OK;
}

enum cg_err cg__mos_xml_escape(struct cg_buf *b, const char *s)
{
    for (;;) {
        size_t run = strcspn(s, "&<>\"'");
        CG_GUARD(cg__buf_append(b, s, run));
        s += run;
        if (*s == 0)
            return CG_OK;
        const char *e = *s == '&'   ? "&amp;"
                        : *s == '<' ? "&lt;"
                        : *s == '>' ? "&gt;"
                        : *s == '"' ? "&quot;"
                                    : "&apos;";
        CG_GUARD(cg__buf_append(b, e, strlen(e)));
        s++;
    }
}
