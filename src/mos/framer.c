/* The MOS TCP stream framer (M-21): no length prefix, so a message ends at
 * the `</mos>` that closes its root element. A small lexer over the native
 * encoding tells markup from text so that `</mos>` inside CDATA, comments,
 * PIs or attribute values does not count, and counts nested <mos> elements
 * (a payload may carry one). It does not track other elements: a payload
 * with unbalanced tags (the spec's own `<objTB>59.94<objTB>`, ERRATA 2) must
 * not make the framer swallow the next message. Scanning resumes where it
 * stopped, so each byte is looked at once; text runs go through memchr.
 *
 * Junk between messages is reported twice: where a run begins (so a peer that
 * sends nothing valid is seen at once) and, when the next message starts or
 * the stream ends, how many bytes it skipped. In UTF-16BE a run of junk may
 * have an odd length (stray bytes, a UTF-8 message on a UCS-2BE port), after
 * which every `<` sits at the other byte parity: junk is searched byte by byte
 * for a `00 3C` at either parity and the framer re-aligns on it, so the next
 * message is found wherever it starts (issue 12 item 2). A byte order mark
 * between messages (FE FF, EF BB BF) is dropped quietly. */
#include "mos/mos.h"

#include <stdlib.h>
#include <string.h>

enum fstate {
    F_TEXT,       /* character data, or between messages */
    F_JUNK,       /* between messages, skipping junk to the next '<' */
    F_BOM,        /* between messages, inside a UTF-8 BOM; k bytes matched */
    F_LT,         /* after '<' */
    F_BANG,       /* after '<!' */
    F_BANG_DASH,  /* after '<!-' */
    F_COMMENT,    /* inside <!-- -->; k counts trailing '-' */
    F_CDATA_OPEN, /* after '<![', matching "CDATA["; k chars matched */
    F_CDATA,      /* inside CDATA; k counts trailing ']' */
    F_DECL,       /* other <! markup: skipped to '>' */
    F_PI,         /* inside <? ?>; k = 1 after '?' */
    F_STAG_NAME,  /* start-tag name */
    F_STAG,       /* start-tag attributes */
    F_DQ,         /* "attribute value" */
    F_SQ,         /* 'attribute value' */
    F_ETAG_NAME,  /* end-tag name */
    F_ETAG        /* after an end-tag name, up to '>' */
};

struct cg_mos_framer {
    uint8_t *buf;
    size_t len, cap;
    size_t head;      /* bytes before head are dead (dropped on the next feed) */
    size_t pos;       /* next byte to scan */
    size_t lt;        /* '<' of the markup being read outside a message */
    size_t msg_start; /* '<' of the root <mos> of the message in progress */
    uint64_t base;    /* stream offset of buf[0] */
    uint64_t junk_at; /* stream offset where the open junk run began */
    size_t max;
    unsigned w;       /* unit width: 2 (UTF-16BE) or 1 (UTF-8) */
    enum fstate st;
    unsigned k;       /* per-state counter */
    unsigned nlen;    /* tag name length so far */
    unsigned depth;   /* open <mos> elements */
    bool name_mos;    /* the tag name so far is a prefix of "mos" */
    bool slash;       /* start tag: last significant char was '/' */
    bool in_msg;      /* between a root `<mos` and its `</mos>` */
    bool discard;     /* the message in progress is oversized: drop it */
    bool in_junk;     /* a junk run is open (its start has been reported) */
    unsigned attrs;     /* '=' outside quotes in the start tag being read */
    unsigned max_attrs; /* 0: no bound (cg__mos_framer_set_max_attrs) */
    bool over;          /* the tag being read passed max_attrs: refuse at pos */
};

void cg__mos_framer_set_max_attrs(struct cg_mos_framer *f, unsigned max)
{
    if (f != NULL)
        f->max_attrs = max;
}

bool cg__mos_framer_dropping(const struct cg_mos_framer *f)
{
    return f != NULL && f->in_msg && f->discard;
}

/* One more attribute in a start tag inside a message: past the bound, the
 * message is refused where this '=' stands (see refuse_attrs). */
static inline bool attr_over(struct cg_mos_framer *f)
{
    return f->max_attrs != 0 && f->in_msg && !f->discard && ++f->attrs > f->max_attrs;
}

enum cg_err cg_mos_framer_new(enum cg_mos_encoding enc, size_t max_message,
                              struct cg_mos_framer **out)
{
    CG_CHECK(out != NULL && (enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8), CG_EINVAL);
    struct cg_mos_framer *f = calloc(1, sizeof(*f));
    CG_CHECK(f != NULL, CG_ENOMEM);
    f->w = enc == CG_MOS_UCS2BE ? 2 : 1;
    f->max = max_message != 0 ? max_message : CG_MOS_DEFAULT_MAX_MESSAGE;
    f->st = F_TEXT;
    *out = f;
    return CG_OK;
}

void cg_mos_framer_free(struct cg_mos_framer *f)
{
    if (f == NULL)
        return;
    free(f->buf);
    free(f);
}

/* Drops the dead bytes before head (head is unit-aligned). */
static void drop_dead(struct cg_mos_framer *f)
{
    if (f->head == 0)
        return;
    memmove(f->buf, f->buf + f->head, f->len - f->head);
    f->len -= f->head;
    f->pos -= f->head;
    f->lt -= f->lt >= f->head ? f->head : f->lt;
    f->msg_start -= f->msg_start >= f->head ? f->head : f->msg_start;
    f->base += f->head;
    f->head = 0;
}

size_t cg__mos_framer_capacity(const struct cg_mos_framer *f) { return f != NULL ? f->cap : 0; }

enum cg_err cg_mos_framer_space(struct cg_mos_framer *f, size_t min, uint8_t **data,
                                size_t *cap)
{
    CG_CHECK(f != NULL && data != NULL && cap != NULL, CG_EINVAL);
    drop_dead(f);
    CG_CHECK(min <= SIZE_MAX - f->len, CG_ENOMEM);
    if (f->len + min > f->cap) { /* doubling: a big message is re-allocated O(log n) times */
        size_t c = f->cap != 0 ? f->cap : 4096;
        while (c < f->len + min)
            c = c > SIZE_MAX / 2 ? f->len + min : c * 2;
        size_t got = 0; /* a large one: a block kept for large messages, if one is there */
        uint8_t *p = cg__spare_take(c, &got);
        if (p != NULL) {
            if (f->len > 0)
                memcpy(p, f->buf, f->len);
            free(f->buf);
            c = got;
        } else {
            p = realloc(f->buf, c);
        }
        CG_CHECK(p != NULL, CG_ENOMEM);
        f->buf = p;
        f->cap = c;
    }
    *data = f->buf + f->len;
    *cap = f->cap - f->len;
    return CG_OK;
}

enum cg_err cg_mos_framer_commit(struct cg_mos_framer *f, size_t n)
{
    CG_CHECK(f != NULL && n <= f->cap - f->len, CG_EINVAL);
    f->len += n;
    return CG_OK;
}

enum cg_err cg_mos_framer_feed(struct cg_mos_framer *f, const void *data, size_t len)
{
    CG_CHECK(f != NULL && (data != NULL || len == 0), CG_EINVAL);
    uint8_t *p;
    size_t cap;
    CG_GUARD(cg_mos_framer_space(f, len, &p, &cap));
    if (len > 0)
        memcpy(p, data, len);
    return cg_mos_framer_commit(f, len);
}

/* Junk between messages: a run's start is reported once, at `at`. */
static bool junk(struct cg_mos_framer *f, size_t at, struct cg_mos_frame *fr)
{
    f->st = F_JUNK;
    if (f->in_junk)
        return false;
    f->in_junk = true;
    f->junk_at = f->base + at;
    fr->data = NULL;
    fr->len = 0;
    fr->offset = f->junk_at;
    return true;
}

/* The open junk run ends before stream offset `end`: what it skipped. */
static void junk_end(struct cg_mos_framer *f, uint64_t end, struct cg_mos_frame *fr)
{
    f->in_junk = false;
    fr->data = NULL;
    fr->len = (size_t)(end - f->junk_at);
    fr->offset = f->junk_at;
}

/* UTF-16BE junk: the next `00 3C` at either byte parity at or after byte i.
 * Returns its position (*found), or where to resume: the end, or the last
 * byte if it is 00 (it may begin one). */
static size_t seek_lt_any_parity(const uint8_t *p, size_t i, size_t len, bool *found)
{
    *found = false;
    for (size_t j = i + 1; j < len; j++) {
        const uint8_t *q = memchr(p + j, '<', len - j);
        if (q == NULL)
            break;
        j = (size_t)(q - p);
        if (p[j - 1] == 0) {
            *found = true;
            return j - 1;
        }
    }
    return len > i && p[len - 1] == 0 ? len - 1 : len;
}

/* The tag name ends: was it exactly "mos"? */
static bool name_is_mos(const struct cg_mos_framer *f) { return f->name_mos && f->nlen == 3; }

static void name_char(struct cg_mos_framer *f, unsigned ch)
{
    if (f->nlen < 3 && ch == (unsigned char)"mos"[f->nlen])
        f->nlen++;
    else {
        f->name_mos = false;
        f->nlen = 4;
    }
}

/* A tag name begins (state st: start or end tag); nothing of it read yet. */
static void name_start(struct cg_mos_framer *f, enum fstate st)
{
    f->st = st;
    f->name_mos = true;
    f->nlen = 0;
}

/* A '<' at i opens markup. */
static void markup_open(struct cg_mos_framer *f, size_t i)
{
    f->st = F_LT;
    f->lt = i;
}

enum ev { EV_NONE, EV_MSG, EV_JUNK, EV_JUNK_END, EV_BIG };

/* A root-level `</mos>` or `<mos/>` ended at `end`. */
static enum ev message_end(struct cg_mos_framer *f, size_t end, struct cg_mos_frame *fr)
{
    bool dropped = f->discard;
    f->in_msg = f->discard = false;
    f->depth = 0;
    f->st = F_TEXT;
    f->head = end;
    f->pos = end;
    if (dropped)
        return EV_NONE;
    fr->data = f->buf + f->msg_start;
    fr->len = end - f->msg_start;
    fr->offset = f->base + f->msg_start;
    return EV_MSG;
}

static enum ev start_tag_end(struct cg_mos_framer *f, size_t i, struct cg_mos_frame *fr)
{
    f->st = F_TEXT;
    if (!name_is_mos(f))
        return EV_NONE;
    if (!f->slash) {
        f->depth++;
        return EV_NONE;
    }
    if (f->depth == 0) /* <mos/> at the root: an (empty) message */
        return message_end(f, i + f->w, fr);
    return EV_NONE;
}

static enum ev end_tag_end(struct cg_mos_framer *f, size_t i, struct cg_mos_frame *fr)
{
    f->st = F_TEXT;
    if (!name_is_mos(f) || f->depth == 0)
        return EV_NONE;
    if (--f->depth == 0)
        return message_end(f, i + f->w, fr);
    return EV_NONE;
}

/* The lexer proper (inside a message, and comments and PIs outside one):
 * one small function per state, each given the character at i and
 * returning what it produced. lex() below dispatches on the state with a
 * switch rather than a table of function pointers: the switch compiles to
 * the same jump table and lets the compiler inline each state into the
 * per-character path. */

/* F_TEXT (F_JUNK and F_BOM never occur inside a message). */
static enum ev lex_text(struct cg_mos_framer *f, size_t i, unsigned ch)
{
    if (ch == '<')
        markup_open(f, i);
    return EV_NONE;
}

/* F_LT: after '<', a declaration, a PI, an end tag or a start tag. */
static enum ev lex_lt(struct cg_mos_framer *f, unsigned ch)
{
    if (ch == '!') {
        f->st = F_BANG;
    } else if (ch == '?') {
        f->st = F_PI;
        f->k = 0;
    } else if (ch == '/') {
        name_start(f, F_ETAG_NAME);
    } else {
        name_start(f, F_STAG_NAME);
        f->slash = false;
        f->attrs = 0;
        name_char(f, ch);
    }
    return EV_NONE;
}

/* F_BANG: after '<!', a comment, CDATA or some other declaration. */
static enum ev lex_bang(struct cg_mos_framer *f, unsigned ch)
{
    if (ch == '-') {
        f->st = F_BANG_DASH;
    } else if (ch == '[') {
        f->st = F_CDATA_OPEN;
        f->k = 0;
    } else {
        f->st = F_DECL;
    }
    return EV_NONE;
}

/* F_BANG_DASH: after '<!-'. */
static enum ev lex_bang_dash(struct cg_mos_framer *f, unsigned ch)
{
    f->st = ch == '-' ? F_COMMENT : F_DECL;
    f->k = 0;
    return EV_NONE;
}

/* F_COMMENT and F_CDATA: they end at two or more `close` characters and a
 * '>'; k counts the trailing `close` characters. */
static enum ev lex_until_close(struct cg_mos_framer *f, unsigned ch, unsigned close)
{
    if (ch == close)
        f->k++;
    else if (ch == '>' && f->k >= 2)
        f->st = F_TEXT;
    else
        f->k = 0;
    return EV_NONE;
}

/* F_CDATA_OPEN: after '<![', "CDATA[" or else a declaration. */
static enum ev lex_cdata_open(struct cg_mos_framer *f, unsigned ch)
{
    if (ch != (unsigned char)"CDATA["[f->k]) {
        f->st = F_DECL;
    } else if (++f->k == 6) {
        f->st = F_CDATA;
        f->k = 0;
    }
    return EV_NONE;
}

/* F_DECL, F_DQ, F_SQ: skipped up to the character `end`, then state next. */
static enum ev lex_until(struct cg_mos_framer *f, unsigned ch, unsigned end, enum fstate next)
{
    if (ch == end)
        f->st = next;
    return EV_NONE;
}

/* F_PI: ends at "?>"; k is 1 after a '?'. */
static enum ev lex_pi(struct cg_mos_framer *f, unsigned ch)
{
    if (ch == '>' && f->k == 1)
        f->st = F_TEXT;
    else
        f->k = ch == '?';
    return EV_NONE;
}

/* F_STAG_NAME: the start tag's name, up to space, '/' or '>'. */
static enum ev lex_stag_name(struct cg_mos_framer *f, size_t i, unsigned ch,
                             struct cg_mos_frame *fr)
{
    if (ch == '>')
        return start_tag_end(f, i, fr);
    if (ch == '/') {
        f->st = F_STAG;
        f->slash = true;
    } else if (cg__mos_is_space(ch)) {
        f->st = F_STAG;
    } else {
        name_char(f, ch);
    }
    return EV_NONE;
}

/* F_STAG: a start tag's attributes; counts them and notes a final '/'. */
static enum ev lex_stag(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr)
{
    if (ch == '>')
        return start_tag_end(f, i, fr);
    if (ch == '"')
        f->st = F_DQ, f->slash = false;
    else if (ch == '\'')
        f->st = F_SQ, f->slash = false;
    else if (ch == '/')
        f->slash = true;
    else if (!cg__mos_is_space(ch))
        f->slash = false;
    if (ch == '=' && attr_over(f))
        f->over = true;
    return EV_NONE;
}

/* F_ETAG_NAME: the end tag's name, up to space or '>'. */
static enum ev lex_etag_name(struct cg_mos_framer *f, size_t i, unsigned ch,
                             struct cg_mos_frame *fr)
{
    if (ch == '>')
        return end_tag_end(f, i, fr);
    if (cg__mos_is_space(ch))
        f->st = F_ETAG;
    else
        name_char(f, ch);
    return EV_NONE;
}

/* F_ETAG: after an end tag's name, up to its '>'. */
static enum ev lex_etag(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr)
{
    return ch == '>' ? end_tag_end(f, i, fr) : EV_NONE;
}

/* Handles one character inside markup or a message: one row per state. */
static enum ev lex(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr)
{
    switch (f->st) {
    case F_TEXT:
    case F_JUNK:
    case F_BOM:
        return lex_text(f, i, ch);
    case F_LT:
        return lex_lt(f, ch);
    case F_BANG:
        return lex_bang(f, ch);
    case F_BANG_DASH:
        return lex_bang_dash(f, ch);
    case F_COMMENT:
        return lex_until_close(f, ch, '-');
    case F_CDATA_OPEN:
        return lex_cdata_open(f, ch);
    case F_CDATA:
        return lex_until_close(f, ch, ']');
    case F_DECL:
        return lex_until(f, ch, '>', F_TEXT);
    case F_PI:
        return lex_pi(f, ch);
    case F_STAG_NAME:
        return lex_stag_name(f, i, ch, fr);
    case F_STAG:
        return lex_stag(f, i, ch, fr);
    case F_DQ:
        return lex_until(f, ch, '"', F_STAG);
    case F_SQ:
        return lex_until(f, ch, '\'', F_STAG);
    case F_ETAG_NAME:
        return lex_etag_name(f, i, ch, fr);
    case F_ETAG:
        return lex_etag(f, i, ch, fr);
    }
    return EV_NONE;
}

/* Between messages the framer looks for `<mos` and reports anything else as
 * junk; comments and PIs there go through the lexer above. One function per
 * state again, dispatched by outside(). */

/* Markup outside a message turned out to be junk; a '<' that revealed it may
 * itself start the next message. */
static enum ev bad_markup(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr)
{
    bool report = junk(f, f->lt, fr);
    if (ch == '<')
        markup_open(f, i);
    return report ? EV_JUNK : EV_NONE;
}

/* F_TEXT between messages: space, a byte order mark, '<', or junk. */
static enum ev out_text(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr)
{
    if (cg__mos_is_space(ch))
        return EV_NONE;
    if (f->w == 2 && cg__mos_unit(f->buf, i, 2) == 0xFEFF)
        return EV_NONE; /* a byte order mark: not junk */
    if (f->w == 1 && f->buf[i] == 0xEF) {
        f->st = F_BOM;
        f->lt = i;
        f->k = 1;
        return EV_NONE;
    }
    if (ch == '<') {
        markup_open(f, i);
        return EV_NONE;
    }
    return junk(f, i, fr) ? EV_JUNK : EV_NONE;
}

/* F_BOM: the rest of a UTF-8 byte order mark (EF BB BF). */
static enum ev out_bom(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr)
{
    if (f->buf[i] != (f->k == 1 ? 0xBB : 0xBF))
        return bad_markup(f, i, ch, fr);
    if (++f->k == 3)
        f->st = F_TEXT;
    return EV_NONE;
}

/* F_LT between messages: only a PI, a comment or `<m...` may follow. */
static enum ev out_lt(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr)
{
    if (ch == '?') {
        f->st = F_PI;
        f->k = 0;
    } else if (ch == '!') {
        f->st = F_BANG;
    } else if (ch == 'm') {
        name_start(f, F_STAG_NAME);
        name_char(f, ch);
    } else {
        return bad_markup(f, i, ch, fr);
    }
    return EV_NONE;
}

/* F_BANG and F_BANG_DASH between messages: `<!--` or junk. */
static enum ev out_dash(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr,
                        enum fstate next)
{
    if (ch != '-')
        return bad_markup(f, i, ch, fr);
    f->st = next;
    f->k = 0;
    return EV_NONE;
}

/* The root <mos starts a message (at the '<' in lt). */
static void message_start(struct cg_mos_framer *f)
{
    f->in_msg = true;
    f->msg_start = f->lt;
    f->depth = 0;
    f->slash = false;
    f->attrs = 0;
}

/* F_STAG_NAME between messages: `<mos` ending in space, '/' or '>' starts
 * a message, any other name is junk. */
static enum ev out_stag_name(struct cg_mos_framer *f, size_t i, unsigned ch,
                             struct cg_mos_frame *fr)
{
    if (!cg__mos_is_space(ch) && ch != '/' && ch != '>' && ch != '<') {
        name_char(f, ch);
        return EV_NONE;
    }
    if (!name_is_mos(f) || ch == '<')
        return bad_markup(f, i, ch, fr);
    if (f->in_junk) { /* first say what the junk run skipped; ch is read again */
        junk_end(f, f->base + f->lt, fr);
        return EV_JUNK_END;
    }
    message_start(f);
    return lex_stag_name(f, i, ch, fr); /* the lexer takes the delimiter */
}

/* Handles one character outside any message: one row per state. */
static enum ev outside(struct cg_mos_framer *f, size_t i, unsigned ch, struct cg_mos_frame *fr)
{
    switch (f->st) {
    case F_TEXT:
        return out_text(f, i, ch, fr);
    case F_JUNK:
        return lex_text(f, i, ch);
    case F_BOM:
        return out_bom(f, i, ch, fr);
    case F_LT:
        return out_lt(f, i, ch, fr);
    case F_BANG:
        return out_dash(f, i, ch, fr, F_BANG_DASH);
    case F_BANG_DASH:
        return out_dash(f, i, ch, fr, F_COMMENT);
    case F_STAG_NAME:
        return out_stag_name(f, i, ch, fr);
    default:
        return EV_NONE; /* comments and PIs are lexed by lex() */
    }
}

/* Skips runs no state cares about with memchr: text to '<', comment to '-',
 * CDATA to ']', attribute values to their quote. Returns the new position. */
static size_t skip_run(const struct cg_mos_framer *f, size_t i, size_t end)
{
    switch (f->st) {
    case F_TEXT:
        return f->in_msg ? cg__mos_find(f->buf, i, end, f->w, '<') : i;
    case F_JUNK:
        return cg__mos_find(f->buf, i, end, f->w, '<');
    case F_COMMENT:
        return f->k == 0 ? cg__mos_find(f->buf, i, end, f->w, '-') : i;
    case F_CDATA:
        return f->k == 0 ? cg__mos_find(f->buf, i, end, f->w, ']') : i;
    case F_DQ:
        return cg__mos_find(f->buf, i, end, f->w, '"');
    case F_SQ:
        return cg__mos_find(f->buf, i, end, f->w, '\'');
    default:
        return i;
    }
}

/* Inside a start tag's attributes (F_STAG), up to its '>' or lim: reads
 * names, '=' and quoted values in one tight loop, exactly as lex() would
 * (slash tracking included), so a tag with thousands of attributes does not
 * go through the state machine character by character. Leaves '>' to lex().
 * Returns the new position. */
static size_t stag_run(struct cg_mos_framer *f, size_t i, size_t lim)
{
    const uint8_t *p = f->buf;
    const unsigned w = f->w;
    for (; i < lim; i += w) {
        unsigned c = cg__mos_unit(p, i, w);
        if (c == '>')
            break;
        if (c == '"' || c == '\'') {
            f->slash = false;
            size_t j = i + w;
            while (j < lim && cg__mos_unit(p, j, w) != c)
                j += w;
            if (j >= lim) { /* the value goes on in the next feed */
                f->st = c == '"' ? F_DQ : F_SQ;
                return lim;
            }
            i = j;
        } else if (c == '/') {
            f->slash = true;
        } else if (!cg__mos_is_space(c)) {
            f->slash = false;
            if (c == '=' && attr_over(f)) {
                f->over = true;
                return i + w;
            }
        }
    }
    return i;
}

/* Marks what the next feed may drop. When nothing is left alive and the
 * buffer grew past CG__MOS_FRAMER_KEEP for a big message, the buffer goes
 * back to the allocator, or to the few blocks kept for the next large message
 * (spare.c: bounded per process, whatever the number of connections): a
 * connection that carried one 2 MB roCreate does not hold 2 MB for the rest
 * of its life (issue 19, the soak's memory rule: RSS grew with every
 * connection that had seen a big message). */
static void settle(struct cg_mos_framer *f)
{
    if (f->in_msg && !f->discard)
        f->head = f->msg_start;
    else if (!f->in_msg && f->st != F_TEXT && f->st != F_JUNK)
        f->head = f->lt;
    else
        f->head = f->pos;
    if (f->head == f->len && f->cap > CG__MOS_FRAMER_KEEP) {
        drop_dead(f);
        cg__spare_give(f->buf, f->cap); /* kept for the next large message, or freed */
        f->buf = NULL;
        f->cap = 0;
    }
}

/* Fast path for the common case inside a message: a whole start or end tag
 * (no comment, CDATA or PI) that lies within [i, lim), read in one tight
 * loop instead of character by character through the state machine.
 * fast_tag and its fast_*_tag helpers return the position after the tag's
 * '>' and *kind (0: not <mos>, 1: <mos>, 2: </mos>, 3: <mos/>), or 0 to let
 * the state machine take the tag; whatever they accept the state machine
 * would read the same way. */
static inline bool is_mos_at(const uint8_t *p, size_t at, size_t lim, unsigned w, bool etag)
{
    if (at + 3 * w >= lim || cg__mos_unit(p, at, w) != 'm' || cg__mos_unit(p, at + w, w) != 'o' ||
        cg__mos_unit(p, at + 2 * w, w) != 's')
        return false;
    unsigned d = cg__mos_unit(p, at + 3 * w, w);
    return cg__mos_is_space(d) || d == '>' || (d == '/' && !etag);
}

/* An end tag whose name starts at j: the state machine reads everything up
 * to the first '>' (quotes included) and the name is all up to space or '>'. */
static inline size_t fast_end_tag(const uint8_t *p, size_t j, size_t lim, unsigned w, int *kind)
{
    if (j >= lim)
        return 0;
    unsigned c = cg__mos_unit(p, j, w);
    if (c == '>' || cg__mos_is_space(c))
        return 0; /* empty name: leave the odd case to the state machine */
    size_t gt = cg__mos_find(p, j, lim, w, '>');
    if (gt >= lim)
        return 0;
    *kind = is_mos_at(p, j, lim, w, true) ? 2 : 0;
    return gt + w;
}

/* A start tag's attributes from j: the position of its '>' (or lim), and in
 * *last the last character before it that is not space (a quote for a
 * quoted value). */
static inline size_t fast_attrs(const uint8_t *p, size_t j, size_t lim, unsigned w,
                                unsigned *last)
{
    for (; j < lim; j += w) {
        unsigned c = cg__mos_unit(p, j, w);
        if (c == '>')
            break;
        if (c == '"' || c == '\'') {
            j = cg__mos_find(p, j + w, lim, w, c);
            if (j >= lim)
                return lim;
        }
        if (!cg__mos_is_space(c))
            *last = c;
    }
    return j;
}

/* A start tag whose name starts at j. */
static inline size_t fast_start_tag(const uint8_t *p, size_t j, size_t lim, unsigned w,
                                    int *kind)
{
    bool mos = is_mos_at(p, j, lim, w, false);
    /* The name ends at space, '/' or '>' (quotes and '<' are name characters
     * to the state machine too). */
    unsigned c = 0;
    for (j += w; j < lim; j += w) {
        c = cg__mos_unit(p, j, w);
        if (c == '>' || c == '/' || c == ' ' || c == '\n' || c == '\r' || c == '\t')
            break;
    }
    if (j >= lim)
        return 0;
    if (c == '>') { /* the common case: no attributes */
        *kind = mos ? 1 : 0;
        return j + w;
    }
    unsigned last = 0;
    j = fast_attrs(p, j, lim, w, &last);
    if (j >= lim)
        return 0;
    *kind = !mos ? 0 : last == '/' ? 3 : 1;
    return j + w;
}

/* The tag at i ('<'). */
static inline size_t fast_tag(const uint8_t *p, size_t i, size_t lim, unsigned w, int *kind)
{
    size_t j = i + w;
    if (j >= lim)
        return 0;
    unsigned c = cg__mos_unit(p, j, w);
    if (c == '/')
        return fast_end_tag(p, j + w, lim, w, kind);
    if (c == '!' || c == '?' || c == '>' || cg__mos_is_space(c))
        return 0;
    return fast_start_tag(p, j, lim, w, kind);
}

enum fast { FAST_MSG, FAST_MOVED, FAST_STUCK };

/* Inside a message in F_TEXT: text and whole tags, tag after tag, until
 * something needs the state machine (comment, CDATA, PI, a tag cut by lim).
 * Returns FAST_MSG (a message went out in *fr), FAST_MOVED (*pi moved on:
 * the caller's loop checks the size bound again) or FAST_STUCK (*pi is at a
 * '<' the state machine must read). */
static inline enum fast fast_run(struct cg_mos_framer *f, size_t *pi, size_t lim,
                                 struct cg_mos_frame *fr)
{
    const unsigned w = f->w;
    size_t i = *pi, lt, k;
    int kind = 0;
    for (;;) {
        lt = cg__mos_find(f->buf, i, lim, w, '<');
        k = lt >= lim ? 0
            : w == 2  ? fast_tag(f->buf, lt, lim, 2, &kind)
                      : fast_tag(f->buf, lt, lim, 1, &kind);
        if (k == 0)
            break;
        i = k;
        if (kind == 1)
            f->depth++;
        else if (kind == 2 && f->depth > 0 && --f->depth == 0) {
            if (message_end(f, k, fr) == EV_MSG)
                return FAST_MSG;
            break; /* a dropped message ended: back to the outer loop */
        }
    }
    *pi = k != 0 ? k : lt;
    /* lt >= lim: nothing left to scan */
    return k != 0 || lt != i || lt >= lim ? FAST_MOVED : FAST_STUCK;
}

/* The message in progress passed the attribute bound at `at` (just after
 * the '=' that did): its bytes so far go out (its envelope head is in them,
 * for the NACK), the rest is dropped up to its `</mos>` without buffering,
 * read as text and tags only (within the refused tag a '<' cannot stand in
 * well-formed XML, so its attributes are skipped by the '<' search). */
static enum cg_err refuse_attrs(struct cg_mos_framer *f, size_t at, struct cg_mos_frame *fr)
{
    f->over = false;
    f->discard = true;
    f->st = F_TEXT;
    f->pos = at;
    fr->data = f->buf + f->msg_start;
    fr->len = at - f->msg_start;
    fr->offset = f->base + f->msg_start;
    return CG_EXML;
}

/* M-21 bounded buffer: the message in progress would pass max with the unit
 * at i. It is dropped from here to its end; the caller is told once. */
static enum cg_err too_big(struct cg_mos_framer *f, size_t i, struct cg_mos_frame *fr)
{
    f->discard = true;
    f->pos = i;
    fr->data = NULL;
    fr->len = 0;
    fr->offset = f->base + f->msg_start;
    return CG_ETOOBIG;
}

static inline bool over_max(const struct cg_mos_framer *f, size_t i)
{
    return f->in_msg && !f->discard && i + f->w - f->msg_start > f->max;
}

/* Where scanning must stop now: the end of the bytes, or of a message that
 * is still being kept, where it would pass max. */
static inline size_t scan_limit(const struct cg_mos_framer *f, size_t end)
{
    return f->in_msg && !f->discard && f->msg_start + f->max < end ? f->msg_start + f->max : end;
}

/* UTF-16BE junk may have had an odd length: the next '<' at either parity
 * sets the alignment; all before it is dead. Moves *i (and *end, to whole
 * units from there); false if no '<' was found. */
static bool realign(struct cg_mos_framer *f, size_t *i, size_t *end)
{
    bool found = false;
    *i = seek_lt_any_parity(f->buf, *i, f->len, &found);
    f->head = *i;
    *end = f->len - (f->len - *i) % 2;
    return found;
}

/* One character at *i through the state machine (inside or outside a
 * message). Returns CG_EAGAIN to go on (with *i moved past it) or what
 * cg_mos_framer_next reports. */
static enum cg_err step(struct cg_mos_framer *f, size_t *i, struct cg_mos_frame *fr)
{
    const unsigned w = f->w;
    unsigned ch = cg__mos_ch(f->buf, *i, w);
    enum ev ev = !f->in_msg && f->st != F_COMMENT && f->st != F_PI ? outside(f, *i, ch, fr)
                                                                   : lex(f, *i, ch, fr);
    if (ev == EV_MSG)
        return CG_OK; /* message_end moved pos */
    if (f->over)
        return refuse_attrs(f, *i + w, fr);
    if (ev == EV_JUNK_END) {
        f->pos = *i; /* the character is read again on the next call */
        return CG_EJUNK;
    }
    /* In UTF-16BE junk is searched byte by byte (see realign). */
    *i += f->st == F_JUNK && w == 2 ? 1 : w;
    if (ev == EV_JUNK) {
        f->pos = *i;
        return CG_EJUNK;
    }
    return CG_EAGAIN;
}

enum cg_err cg_mos_framer_next(struct cg_mos_framer *f, struct cg_mos_frame *fr)
{
    CG_CHECK(f != NULL && fr != NULL, CG_EINVAL);
    size_t end = f->len - (f->len - f->head) % f->w; /* whole units only */
    size_t i = f->pos;
    while (i < end) {
        if (f->st == F_JUNK && f->w == 2 && !realign(f, &i, &end))
            break;
        if (over_max(f, i))
            return too_big(f, i, fr);
        size_t lim = scan_limit(f, end);
        if (f->in_msg && f->st == F_TEXT) {
            enum fast r = fast_run(f, &i, lim, fr);
            if (r == FAST_MSG)
                return CG_OK;
            if (r == FAST_MOVED)
                continue;
        }
        size_t j = f->st == F_STAG ? stag_run(f, i, lim) : skip_run(f, i, lim);
        if (f->over)
            return refuse_attrs(f, j, fr);
        if (j != i) { /* re-check the size limit first */
            i = j;
            continue;
        }
        enum cg_err rc = step(f, &i, fr);
        if (rc != CG_EAGAIN)
            return rc;
    }
    f->pos = i > end ? end : i;
    settle(f);
    return CG_EAGAIN;
}

enum cg_err cg_mos_framer_finish(struct cg_mos_framer *f, struct cg_mos_frame *fr)
{
    CG_CHECK(f != NULL && fr != NULL, CG_EINVAL);
    fr->data = NULL;
    fr->len = 0;
    if (f->in_msg && !f->discard) {
        fr->offset = f->base + f->msg_start;
        return CG_EAGAIN;
    }
    if (f->in_junk) { /* the stream ended in junk: what was skipped */
        junk_end(f, f->base + f->len, fr);
        return CG_EJUNK;
    }
    if (!f->in_msg && f->st != F_TEXT && f->st != F_JUNK) {
        fr->offset = f->base + f->lt; /* a markup start cut off at the end */
        fr->len = f->len - f->lt;
        return CG_EJUNK;
    }
    if ((f->len - f->head) % f->w != 0) {
        fr->offset = f->base + f->len - 1;
        return CG_EENCODING;
    }
    return CG_OK;
}
