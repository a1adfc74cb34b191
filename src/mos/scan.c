/* The bounded pre-scan (issue 13 item 5): one linear pass over a message's
 * bytes, in its own encoding, that refuses what MOS never needs before libxml2
 * sees it (DOCTYPE and other declarations, too many attributes on one
 * element, too deep a nesting). A small lexer like the framer's: text, tags,
 * quoted values, comments, CDATA and PIs; runs no state cares about are
 * skipped with memchr. Resumable at any byte: a UTF-16BE unit cut by a feed
 * is kept in `hi`. */
#include "mos/mos.h"

#include <stdio.h>

enum sstate {
    S_TEXT,
    S_LT,         /* after '<' */
    S_BANG,       /* after '<!' */
    S_BANG_DASH,  /* after '<!-' */
    S_COMMENT,    /* k counts trailing '-' (saturating) */
    S_CDATA_OPEN, /* k chars of "CDATA[" matched */
    S_CDATA,      /* k counts trailing ']' (saturating) */
    S_PI,         /* k = 1 after '?' */
    S_STAG_NAME,
    S_STAG,       /* start-tag attributes */
    S_DQ,
    S_SQ,
    S_ETAG
};

void cg_mos_scan_init(struct cg_mos_scan *s, enum cg_mos_encoding enc,
                      const struct cg_mos_scan_limits *limits)
{
    if (s == NULL)
        return;
    memset(s, 0, sizeof(*s));
    s->w = enc == CG_MOS_UCS2BE ? 2 : 1;
    s->max_attrs = limits != NULL && limits->max_attributes != 0 ? limits->max_attributes
                                                                 : CG_MOS_DEFAULT_MAX_ATTRIBUTES;
    s->max_depth = limits != NULL && limits->max_depth != 0 ? limits->max_depth
                                                            : CG_MOS_DEFAULT_MAX_DEPTH;
    s->st = S_TEXT;
}

/* Refuses the markup at s->lt; s->reason already holds why. */
static bool refused(struct cg_mos_scan *s)
{
    s->why = s->reason;
    s->refused_at = s->lt;
    s->refused = true;
    return false;
}

static bool refuse(struct cg_mos_scan *s, const char *why)
{
    snprintf(s->reason, sizeof(s->reason), "%s", why);
    return refused(s);
}

/* `<!x`: a comment or CDATA goes on; anything else is a declaration. */
static bool declaration(struct cg_mos_scan *s, unsigned ch)
{
    if (ch == 'D')
        return refuse(s, "a DOCTYPE is not allowed in a MOS message");
    if (ch == 'E')
        return refuse(s, "an entity declaration is not allowed in a MOS message");
    return refuse(s, "a markup declaration (<!...>) is not allowed in a MOS message");
}

static bool start_tag(struct cg_mos_scan *s)
{
    if (s->depth >= s->max_depth) {
        snprintf(s->reason, sizeof(s->reason), "elements nested more than %u deep", s->max_depth);
        return refused(s);
    }
    s->depth++;
    s->attrs = 0;
    s->slash = false;
    s->seen_element = true;
    s->st = S_STAG_NAME;
    return true;
}

static void tag_end(struct cg_mos_scan *s)
{
    if (s->slash && s->depth > 0) /* <x/>: opened and closed */
        s->depth--;
    s->st = S_TEXT;
}

/* One function per state, each given the character and returning false if
 * the message is refused; step() dispatches with a switch, one row per state
 * (the same jump table as an array of function pointers, but each state can
 * be inlined into the feed loop). */

/* S_TEXT: '<' at stream offset `at` opens markup. */
static bool text_char(struct cg_mos_scan *s, unsigned ch, uint64_t at)
{
    if (ch == '<') {
        s->st = S_LT;
        s->lt = at;
    }
    return true;
}

/* S_LT: after '<', a declaration, a PI, an end tag or a start tag. */
static bool lt_char(struct cg_mos_scan *s, unsigned ch)
{
    if (ch == '!')
        s->st = S_BANG;
    else if (ch == '?')
        s->st = S_PI, s->k = 0;
    else if (ch == '/')
        s->st = S_ETAG;
    else
        return start_tag(s);
    return true;
}

/* S_BANG: after '<!', only a comment or CDATA may follow. */
static bool bang_char(struct cg_mos_scan *s, unsigned ch)
{
    if (ch == '-')
        s->st = S_BANG_DASH;
    else if (ch == '[')
        s->st = S_CDATA_OPEN, s->k = 0;
    else
        return declaration(s, ch);
    return true;
}

/* S_BANG_DASH: after '<!-'. */
static bool bang_dash_char(struct cg_mos_scan *s, unsigned ch)
{
    if (ch != '-')
        return declaration(s, ch);
    s->st = S_COMMENT, s->k = 0;
    return true;
}

/* S_COMMENT and S_CDATA: they end at two or more `close` characters and a
 * '>'; k counts the trailing `close` characters, saturating (a run of any
 * length closes: an 8-bit count that wrapped missed a run of 256*n). */
static bool until_close(struct cg_mos_scan *s, unsigned ch, unsigned close)
{
    if (ch == close)
        s->k = s->k < UINT8_MAX ? (uint8_t)(s->k + 1) : UINT8_MAX;
    else if (ch == '>' && s->k >= 2)
        s->st = S_TEXT;
    else
        s->k = 0;
    return true;
}

/* S_CDATA_OPEN: after '<![', "CDATA[" or else a declaration. */
static bool cdata_open_char(struct cg_mos_scan *s, unsigned ch)
{
    if (ch != (unsigned char)"CDATA["[s->k])
        return declaration(s, ch);
    if (++s->k == 6)
        s->st = S_CDATA, s->k = 0;
    return true;
}

/* S_PI: ends at "?>"; k is 1 after a '?'. */
static bool pi_char(struct cg_mos_scan *s, unsigned ch)
{
    if (ch == '>' && s->k == 1)
        s->st = S_TEXT;
    else
        s->k = ch == '?';
    return true;
}

/* S_STAG_NAME: the start tag's name, up to space, '/' or '>'. */
static bool stag_name_char(struct cg_mos_scan *s, unsigned ch)
{
    if (ch == '>') {
        tag_end(s);
    } else if (ch == '/') {
        s->st = S_STAG, s->slash = true;
    } else if (cg__mos_is_space(ch)) {
        s->st = S_STAG;
    }
    return true;
}

/* One more attribute (an '=' in a start tag): refused past the bound. */
static bool attribute(struct cg_mos_scan *s)
{
    if (++s->attrs > s->max_attrs) {
        snprintf(s->reason, sizeof(s->reason), "more than %u attributes on one element",
                 s->max_attrs);
        return refused(s);
    }
    s->slash = false;
    return true;
}

/* S_STAG: a start tag's attributes; counts them and notes a final '/'. */
static bool stag_char(struct cg_mos_scan *s, unsigned ch)
{
    if (ch == '>') {
        tag_end(s);
    } else if (ch == '=') {
        return attribute(s);
    } else if (ch == '"') {
        s->st = S_DQ, s->slash = false;
    } else if (ch == '\'') {
        s->st = S_SQ, s->slash = false;
    } else if (ch == '/') {
        s->slash = true;
    } else if (!cg__mos_is_space(ch)) {
        s->slash = false;
    }
    return true;
}

/* S_DQ, S_SQ: a quoted attribute value, up to its own quote. */
static bool quoted_char(struct cg_mos_scan *s, unsigned ch, unsigned quote)
{
    if (ch == quote)
        s->st = S_STAG;
    return true;
}

/* S_ETAG: an end tag, up to its '>'. */
static bool etag_char(struct cg_mos_scan *s, unsigned ch)
{
    if (ch == '>') {
        if (s->depth > 0)
            s->depth--;
        s->st = S_TEXT;
    }
    return true;
}

/* One character at stream offset `at`; false if the message is refused. */
static bool step(struct cg_mos_scan *s, unsigned ch, uint64_t at)
{
    switch ((enum sstate)s->st) {
    case S_TEXT:
        return text_char(s, ch, at);
    case S_LT:
        return lt_char(s, ch);
    case S_BANG:
        return bang_char(s, ch);
    case S_BANG_DASH:
        return bang_dash_char(s, ch);
    case S_COMMENT:
        return until_close(s, ch, '-');
    case S_CDATA_OPEN:
        return cdata_open_char(s, ch);
    case S_CDATA:
        return until_close(s, ch, ']');
    case S_PI:
        return pi_char(s, ch);
    case S_STAG_NAME:
        return stag_name_char(s, ch);
    case S_STAG:
        return stag_char(s, ch);
    case S_DQ:
        return quoted_char(s, ch, '"');
    case S_SQ:
        return quoted_char(s, ch, '\'');
    case S_ETAG:
        return etag_char(s, ch);
    }
    return true;
}

/* Inside a start tag: the characters step() only notes (a name's, or
 * between attributes: every non-space one clears `slash`), in one loop. */
static size_t skip_tag(struct cg_mos_scan *s, const uint8_t *p, size_t i, size_t end)
{
    unsigned w = s->w;
    bool name = s->st == S_STAG_NAME;
    for (; i < end; i += w) {
        unsigned ch = cg__mos_ch(p, i, w);
        if (ch == '>' || ch == '/' || (!name && (ch == '=' || ch == '"' || ch == '\'')))
            break;
        if (cg__mos_is_space(ch)) {
            if (name)
                break; /* step() moves on to the attributes */
        } else if (!name) {
            s->slash = false;
        }
    }
    return i;
}

/* Skips what the state ignores within [i, end) (end unit-aligned from i). */
static size_t skip(struct cg_mos_scan *s, const uint8_t *p, size_t i, size_t end)
{
    unsigned w = s->w;
    switch ((enum sstate)s->st) {
    case S_TEXT:
        return cg__mos_find(p, i, end, w, '<');
    case S_STAG_NAME:
    case S_STAG:
        return skip_tag(s, p, i, end);
    case S_ETAG:
        return cg__mos_find(p, i, end, w, '>');
    case S_DQ:
        return cg__mos_find(p, i, end, w, '"');
    case S_SQ:
        return cg__mos_find(p, i, end, w, '\'');
    case S_COMMENT:
        return s->k == 0 ? cg__mos_find(p, i, end, w, '-') : i;
    case S_CDATA:
        return s->k == 0 ? cg__mos_find(p, i, end, w, ']') : i;
    case S_PI:
        return s->k == 0 ? cg__mos_find(p, i, end, w, '?') : i;
    default:
        return i;
    }
}

enum cg_err cg_mos_scan_feed(struct cg_mos_scan *s, const void *data, size_t len)
{
    CG_CHECK(s != NULL && (data != NULL || len == 0), CG_EINVAL);
    if (s->refused)
        return CG_EXML;
    const uint8_t *p = data;
    size_t i = 0;
    if (s->have_hi && len > 0) { /* the unit a feed cut in two */
        uint8_t u[2] = {s->hi, p[0]};
        s->have_hi = false;
        i = 1;
        s->offset++;
        if (!step(s, cg__mos_ch(u, 0, 2), s->offset - 2))
            return CG_EXML;
    }
    const unsigned w = s->w;
    const size_t end = len - (len - i) % w;
    while (i < end) {
        size_t j = skip(s, p, i, end);
        if (j != i) {
            s->offset += j - i;
            i = j;
            continue;
        }
        if (!step(s, cg__mos_ch(p, i, w), s->offset))
            return CG_EXML;
        i += w;
        s->offset += w;
    }
    if (i < len) { /* half a UTF-16BE unit */
        s->hi = p[i];
        s->have_hi = true;
        s->offset++;
    }
    return CG_OK;
}

enum cg_err cg_mos_scan(enum cg_mos_encoding enc, const void *msg, size_t len,
                        const struct cg_mos_scan_limits *limits, uint64_t *offset,
                        const char **why)
{
    CG_CHECK(enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8, CG_EINVAL);
    static _Thread_local char reason[sizeof(((struct cg_mos_scan *)0)->reason)];
    struct cg_mos_scan s;
    cg_mos_scan_init(&s, enc, limits);
    enum cg_err rc = cg_mos_scan_feed(&s, msg, len);
    if (rc == CG_EXML) {
        memcpy(reason, s.reason, sizeof(reason));
        if (why != NULL)
            *why = reason;
        if (offset != NULL)
            *offset = s.refused_at;
    }
    return rc;
}
