/* The MOS 2.x running-order messages removed in 4.0 (M-12), rewritten as the
 * roElementAction / roElementStat that has the same effect, and refused where
 * none has. docs/translation.md gives the reasoning per message, from MOS
 * 2.8.5 §3.5.5, §3.6.1-3.6.12, §3.7.1-3.7.2 and MOS 4.0 §3.6.1, §3.7.1.
 *
 * The input is checked in full (cg_mos_validate), the envelope read by
 * cg_mos_envelope_parse, and the message element's direct children walked
 * with the codec's tag reader (markup.c; nesting is skipped by depth, no
 * recursion). The output is the input with only the message element
 * replaced: the bytes around it (declaration, envelope fields in their order,
 * comments) are kept, and every child the new element needs is copied byte
 * for byte, so stories, items and their payloads pass untouched (M-20). */
#include "mos/mos.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 7
#define ANY 0u /* slot maximum: unbounded */
#define NONE (-1)

/* One child element in a removed message's syntax, in order. */
struct slot {
    const char *name;
    unsigned min, max;
};

enum shape {
    SHAPE_REFUSE, /* no exact form at all (roStoryAppend) */
    SHAPE_ACTION, /* roElementAction */
    SHAPE_STAT    /* roElementStat: every child copied in order */
};

struct rule {
    const char *msg;
    struct slot slot[MAX_SLOTS];
    enum shape shape;
    const char *value; /* operation="" or element="" */
    int target[2];     /* slots whose one child goes into element_target, or NONE */
    int source;        /* the slot whose children make element_source */
    bool move;         /* the source's last child is the reference: it ends element_target */
    const char *syntax; /* CG_EINVAL: the children do not follow the 2.8.5 syntax */
    const char *extra;  /* CG_ENOTSUP: content the new element has no place for */
    const char *id;     /* CG_EINVAL: a storyID/itemID is empty, too long or not text */
    const char *end;    /* CG_ENOTSUP: blank reference = "at the end"; SHAPE_REFUSE: why */
    const char *dup;    /* CG_EINVAL (move): an ID listed twice */
    const char *alone;  /* CG_ENOTSUP (move): one ID, nothing to move */
};

#define EXTRA(m)                                                                                   \
    m ": carries an attribute, text or an element the MOS 4.0 message has no place for"
#define ID(m) m ": a storyID or itemID is empty, longer than 128 characters or not plain text"
#define RO {"roID", 1, 1}

static const struct rule rules[] = {
    {"roStoryAppend", {RO, {"story", 1, ANY}}, SHAPE_REFUSE, NULL, {NONE, NONE}, NONE, false,
     "roStoryAppend: not (roID, story+) as MOS 2.8.5 §3.6.1 requires", EXTRA("roStoryAppend"),
     ID("roStoryAppend"),
     "roStoryAppend: appending at the end of a running order has no roElementAction form "
     "(INSERT needs the story to insert before, MOS 4.0 §3.6.1)",
     NULL, NULL},
    {"roStoryInsert", {RO, {"storyID", 1, 1}, {"story", 1, ANY}}, SHAPE_ACTION, "INSERT",
     {1, NONE}, 2, false, "roStoryInsert: not (roID, storyID, story+) as MOS 2.8.5 §3.6.2 requires",
     EXTRA("roStoryInsert"), ID("roStoryInsert"), NULL, NULL, NULL},
    {"roStoryReplace", {RO, {"storyID", 1, 1}, {"story", 1, ANY}}, SHAPE_ACTION, "REPLACE",
     {1, NONE}, 2, false,
     "roStoryReplace: not (roID, storyID, story+) as MOS 2.8.5 §3.6.3 requires",
     EXTRA("roStoryReplace"), ID("roStoryReplace"), NULL, NULL, NULL},
    {"roStoryMove", {RO, {"storyID", 2, 2}}, SHAPE_ACTION, "MOVE", {NONE, NONE}, 1, true,
     "roStoryMove: not (roID, storyID, storyID) as MOS 2.8.5 §3.6.4 requires",
     EXTRA("roStoryMove"), ID("roStoryMove"),
     "roStoryMove: a blank second storyID moves the story to the bottom of the running order, "
     "which roElementAction MOVE cannot express",
     "roStoryMove: both storyIDs name the same story", NULL},
    {"roStoryMoveMultiple", {RO, {"storyID", 1, ANY}}, SHAPE_ACTION, "MOVE", {NONE, NONE}, 1,
     true, "roStoryMoveMultiple: not (roID, storyID+) as MOS 2.8.5 §3.6.7 requires",
     EXTRA("roStoryMoveMultiple"), ID("roStoryMoveMultiple"),
     "roStoryMoveMultiple: a blank last storyID moves the stories to the end of the running "
     "order, which roElementAction MOVE cannot express",
     "roStoryMoveMultiple: a storyID is listed twice (MOS 2.8.5 §3.6.7 forbids it)",
     "roStoryMoveMultiple: one storyID only, so no story to move; roElementAction MOVE needs one"},
    {"roStorySwap", {RO, {"storyID", 2, 2}}, SHAPE_ACTION, "SWAP", {NONE, NONE}, 1, false,
     "roStorySwap: not (roID, storyID, storyID) as MOS 2.8.5 §3.6.5 requires",
     EXTRA("roStorySwap"), ID("roStorySwap"), NULL, NULL, NULL},
    {"roStoryDelete", {RO, {"storyID", 1, ANY}}, SHAPE_ACTION, "DELETE", {NONE, NONE}, 1, false,
     "roStoryDelete: not (roID, storyID+) as MOS 2.8.5 §3.6.6 requires",
     EXTRA("roStoryDelete"), ID("roStoryDelete"), NULL, NULL, NULL},
    {"roItemInsert", {RO, {"storyID", 1, 1}, {"itemID", 1, 1}, {"item", 1, ANY}}, SHAPE_ACTION,
     "INSERT", {1, 2}, 3, false,
     "roItemInsert: not (roID, storyID, itemID, item+) as MOS 2.8.5 §3.6.8 requires",
     EXTRA("roItemInsert"), ID("roItemInsert"),
     "roItemInsert: a blank itemID inserts at the end of the story, which roElementAction "
     "INSERT cannot express",
     NULL, NULL},
    {"roItemReplace", {RO, {"storyID", 1, 1}, {"itemID", 1, 1}, {"item", 1, ANY}}, SHAPE_ACTION,
     "REPLACE", {1, 2}, 3, false,
     "roItemReplace: not (roID, storyID, itemID, item+) as MOS 2.8.5 §3.6.9 requires",
     EXTRA("roItemReplace"), ID("roItemReplace"), NULL, NULL, NULL},
    {"roItemMoveMultiple", {RO, {"storyID", 1, 1}, {"itemID", 1, ANY}}, SHAPE_ACTION, "MOVE",
     {1, NONE}, 2, true,
     "roItemMoveMultiple: not (roID, storyID, itemID+) as MOS 2.8.5 §3.6.10 requires",
     EXTRA("roItemMoveMultiple"), ID("roItemMoveMultiple"),
     "roItemMoveMultiple: a blank last itemID moves the items to the end of the story, which "
     "roElementAction MOVE cannot express",
     "roItemMoveMultiple: an itemID is listed twice (MOS 2.8.5 §3.6.10 forbids it)",
     "roItemMoveMultiple: one itemID only, so no item to move; roElementAction MOVE needs one"},
    {"roItemDelete", {RO, {"storyID", 1, 1}, {"itemID", 1, ANY}}, SHAPE_ACTION, "DELETE",
     {1, NONE}, 2, false,
     "roItemDelete: not (roID, storyID, itemID+) as MOS 2.8.5 §3.6.11 requires",
     EXTRA("roItemDelete"), ID("roItemDelete"), NULL, NULL, NULL},
    {"roStat", {RO, {"status", 1, 1}, {"time", 1, 1}}, SHAPE_STAT, "RO", {NONE, NONE}, NONE,
     false, "roStat: not (roID, status, time) as MOS 2.8.5 §3.5.5 requires", EXTRA("roStat"),
     ID("roStat"), NULL, NULL, NULL},
    {"roItemStat",
     {RO, {"storyID", 1, 1}, {"itemID", 1, 1}, {"objID", 1, 1}, {"itemChannel", 0, 1},
      {"status", 1, 1}, {"time", 1, 1}},
     SHAPE_STAT, "ITEM", {NONE, NONE}, NONE, false,
     "roItemStat: not (roID, storyID, itemID, objID, itemChannel?, status, time) as MOS 2.8.5 "
     "§3.7.1 requires",
     EXTRA("roItemStat"), ID("roItemStat"), NULL, NULL, NULL},
};

/* One direct child of the message element. */
struct child {
    size_t start, end;      /* '<' to just after its last '>' */
    size_t text, text_len;  /* what lies between its tags (0 for <x/>) */
};

/* The children (an array of struct child in buf), grouped by slot: slot s
 * holds first[s] .. first[s]+count[s]-1. */
struct kids {
    struct cg_buf buf;
    size_t n;
    size_t first[MAX_SLOTS], count[MAX_SLOTS];
};

static const struct child *kid(const struct kids *k, size_t i)
{
    return (const struct child *)(const void *)k->buf.data + i;
}

static const struct rule *rule_for(const char *name)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(rules); i++)
        if (strcmp(rules[i].msg, name) == 0)
            return &rules[i];
    return NULL;
}

static int slot_of(const struct rule *r, const struct cg__mos_txt *t, const struct cg__mos_tag *m)
{
    for (int s = 0; s < MAX_SLOTS && r->slot[s].name != NULL; s++)
        if (strlen(r->slot[s].name) == m->name_len &&
            memcmp(t->p + m->name, r->slot[s].name, m->name_len) == 0)
            return s;
    return NONE;
}

static bool all_space(const struct cg__mos_txt *t, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!cg__mos_is_space(cg__mos_txt_ch(t, i)))
            return false;
    return true;
}

/* Files child c under slot s, keeping the syntax order: slots only move
 * forward, and one left behind must have had its minimum. *cur is the slot
 * being filled. */
static enum cg_err file_child(const struct rule *r, struct kids *k, int *cur, int s,
                              const struct child *c, const char **why)
{
    *why = r->syntax;
    CG_CHECK(s >= *cur, CG_EINVAL);
    for (; *cur < s; (*cur)++)
        CG_CHECK(k->count[*cur] >= r->slot[*cur].min, CG_EINVAL);
    if (k->count[s] == 0)
        k->first[s] = k->n;
    k->count[s]++;
    CG_CHECK(r->slot[s].max == ANY || k->count[s] <= r->slot[s].max, CG_EINVAL);
    CG_GUARD(cg__buf_append(&k->buf, c, sizeof(*c)));
    k->n++;
    return CG_OK;
}

/* Reads the child element whose start tag m sits at `at`. */
static void child_span(const struct cg__mos_txt *t, size_t at, const struct cg__mos_tag *m,
                       size_t end, struct child *c)
{
    c->start = at;
    c->end = end;
    c->text = m->end;
    c->text_len = 0;
    if (!m->empty) {
        size_t lt = end; /* the end tag's '<': the last one in the element */
        while (lt > m->end && t->p[lt - 1] != '<')
            lt--;
        c->text_len = lt - 1 - m->end;
    }
}

/* Walks the direct children of the message element (start tag el at off)
 * and files them by slot. Comments and PIs between them are dropped. */
static enum cg_err collect(const struct rule *r, const struct cg__mos_txt *t, size_t off,
                           struct kids *k, const char **why)
{
    struct cg__mos_tag el, m;
    *why = "the message element cannot be read";
    CG_CHECK(cg__mos_tag_read(t, off, &el) && el.kind == CG__MOS_TAG_START, CG_EINVAL);
    *why = r->extra; /* attributes: nothing in 2.8.5 defines one here */
    size_t close = el.end - (el.empty ? 2 : 1);
    CG_CHECK(all_space(t, el.name + el.name_len, close), CG_ENOTSUP);
    int cur = 0;
    size_t i = el.end;
    while (!el.empty) {
        size_t lt = cg__mos_find(t->p, i, t->n, 1, '<');
        *why = r->extra;
        CG_CHECK(all_space(t, i, lt), CG_ENOTSUP);
        *why = "the message element is not closed";
        CG_CHECK(lt < t->n && cg__mos_tag_read(t, lt, &m), CG_EINVAL);
        if (m.kind == CG__MOS_TAG_END)
            break;
        i = m.end;
        if (m.kind == CG__MOS_TAG_OTHER) {
            *why = r->extra; /* CDATA is text; comments and PIs mean nothing here */
            CG_CHECK(!cg__mos_txt_is(t, lt, "<![CDATA["), CG_ENOTSUP);
            continue;
        }
        int s = slot_of(r, t, &m);
        *why = r->extra;
        CG_CHECK(s != NONE, CG_ENOTSUP);
        size_t end = m.empty ? m.end : cg__mos_tag_skip(t, &m);
        *why = "a child of the message element is not closed";
        CG_CHECK(end != 0, CG_EINVAL);
        struct child c;
        child_span(t, lt, &m, end, &c);
        CG_GUARD(file_child(r, k, &cur, s, &c, why));
        i = end;
    }
    *why = r->syntax;
    for (; cur < MAX_SLOTS && r->slot[cur].name != NULL; cur++)
        CG_CHECK(k->count[cur] >= r->slot[cur].min, CG_EINVAL);
    return CG_OK;
}

/* The decoded text of an ID child (storyID, itemID) into dst; *blank when it
 * is empty or whitespace. Markup inside (CDATA, comments, elements) is
 * refused: an ID is plain text. */
static enum cg_err id_text(const struct cg__mos_txt *t, const struct child *c, char *dst,
                           size_t dstsz, bool *blank)
{
    const char *why = NULL;
    const uint8_t *p = t->p + c->text;
    CG_CHECK(c->text_len == 0 || memchr(p, '<', c->text_len) == NULL, CG_EINVAL);
    CG_CHECK(cg__mos_xml_unescape(p, c->text_len, dst, dstsz, &why) == CG_OK, CG_EINVAL);
    *blank = dst[0] == 0;
    return CG_OK;
}

/* The child naming where the action happens, whose blank form 2.x reads as
 * "at the end": the last ID of element_target. */
static const struct child *reference(const struct rule *r, const struct kids *k)
{
    if (r->move)
        return kid(k, k->first[r->source] + k->count[r->source] - 1);
    int s = r->target[1] != NONE ? r->target[1] : r->target[0];
    return s == NONE ? NULL : kid(k, k->first[s]);
}

static bool is_id_slot(const struct rule *r, int s)
{
    return strcmp(r->slot[s].name, "storyID") == 0 || strcmp(r->slot[s].name, "itemID") == 0;
}

/* Every storyID/itemID must name something, except a blank reference where
 * 2.x gives it the meaning "at the end", which has no 4.0 form. */
static enum cg_err check_ids(const struct rule *r, const struct cg__mos_txt *t,
                             const struct kids *k, const char **why)
{
    const struct child *ref = reference(r, k);
    char text[4 * CG_MOS_ID_MAX + 1];
    for (int s = 0; s < MAX_SLOTS && r->slot[s].name != NULL; s++) {
        if (!is_id_slot(r, s))
            continue;
        for (size_t j = 0; j < k->count[s]; j++) {
            const struct child *c = kid(k, k->first[s] + j);
            bool blank = false;
            *why = r->id;
            CG_GUARD(id_text(t, c, text, sizeof(text), &blank));
            *why = r->end;
            CG_CHECK(!(blank && c == ref && r->end != NULL), CG_ENOTSUP);
            *why = r->id;
            CG_CHECK(!blank, CG_EINVAL);
        }
    }
    return CG_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A move list must not name a story or item twice (2.8.5 §3.6.7, §3.6.10):
 * the IDs are decoded, sorted and compared neighbour to neighbour. */
static enum cg_err check_dups(const struct rule *r, const struct cg__mos_txt *t,
                              const struct kids *k, const char **why)
{
    size_t n = k->count[r->source];
    enum cg_err rc = CG_OK;
    struct cg_buf text;
    cg__buf_init(&text, 0);
    const char **ids = calloc(n, sizeof(*ids));
    size_t *at = calloc(n, sizeof(*at));
    CG_ENSURE(ids != NULL && at != NULL, CG_ENOMEM);
    *why = r->id;
    char one[4 * CG_MOS_ID_MAX + 1];
    for (size_t j = 0; j < n; j++) {
        bool blank = false;
        CG_TRY(id_text(t, kid(k, k->first[r->source] + j), one, sizeof(one), &blank));
        at[j] = text.len;
        CG_TRY(cg__buf_append(&text, one, strlen(one) + 1));
    }
    for (size_t j = 0; j < n; j++)
        ids[j] = (const char *)text.data + at[j];
    qsort(ids, n, sizeof(*ids), cmp_str);
    *why = r->dup;
    for (size_t j = 1; j < n; j++)
        CG_ENSURE(strcmp(ids[j - 1], ids[j]) != 0, CG_EINVAL);
out:
    free(ids);
    free(at);
    cg__buf_free(&text);
    return rc;
}

static enum cg_err put_child(struct cg_buf *b, const struct cg__mos_txt *t, const struct child *c)
{
    return cg__buf_append(b, t->p + c->start, c->end - c->start);
}

/* Slot s's children from index `from` to `to` (exclusive). */
static enum cg_err put_slot(struct cg_buf *b, const struct cg__mos_txt *t, const struct kids *k,
                            int s, size_t from, size_t to)
{
    for (size_t j = from; j < to; j++)
        CG_GUARD(put_child(b, t, kid(k, k->first[s] + j)));
    return CG_OK;
}

static enum cg_err put_action(struct cg_buf *b, const struct rule *r, const struct cg__mos_txt *t,
                              const struct kids *k)
{
    size_t n = k->count[r->source];
    size_t moved = r->move ? n - 1 : n;
    CG_GUARD(cg__buf_printf(b, "<roElementAction operation=\"%s\">", r->value));
    CG_GUARD(put_slot(b, t, k, 0, 0, 1)); /* roID */
    if (r->target[0] != NONE || r->move) {
        CG_GUARD(cg__buf_printf(b, "<element_target>"));
        for (int j = 0; j < 2 && r->target[j] != NONE; j++)
            CG_GUARD(put_slot(b, t, k, r->target[j], 0, 1));
        if (r->move)
            CG_GUARD(put_slot(b, t, k, r->source, n - 1, n));
        CG_GUARD(cg__buf_printf(b, "</element_target>"));
    }
    CG_GUARD(cg__buf_printf(b, "<element_source>"));
    CG_GUARD(put_slot(b, t, k, r->source, 0, moved));
    return cg__buf_printf(b, "</element_source></roElementAction>");
}

static enum cg_err put_stat(struct cg_buf *b, const struct rule *r, const struct cg__mos_txt *t,
                            const struct kids *k)
{
    CG_GUARD(cg__buf_printf(b, "<roElementStat element=\"%s\">", r->value));
    for (size_t j = 0; j < k->n; j++)
        CG_GUARD(put_child(b, t, kid(k, j)));
    return cg__buf_printf(b, "</roElementStat>");
}

/* Checks what the message says and refuses what has no exact form. */
static enum cg_err judge(const struct rule *r, const struct cg__mos_txt *t, const struct kids *k,
                         const char **why)
{
    if (r->shape == SHAPE_STAT)
        return CG_OK;
    CG_GUARD(check_ids(r, t, k, why));
    *why = r->end;
    CG_CHECK(r->shape != SHAPE_REFUSE, CG_ENOTSUP);
    if (!r->move)
        return CG_OK;
    *why = r->alone;
    CG_CHECK(k->count[r->source] >= 2, CG_ENOTSUP);
    return check_dups(r, t, k, why);
}

/* Reads the whole message and finds its rule. */
static enum cg_err read_message(const char *xml, size_t len, bool validated,
                                struct cg_mos_envelope *env, const struct rule **r,
                                const char **why)
{
    *why = "larger than the 16 MiB message limit";
    CG_CHECK(len <= CG_MOS_DEFAULT_MAX_MESSAGE, CG_ETOOBIG);
    /* at most once per process (issue 13 item 5): not again when the caller did */
    enum cg_err rc = validated ? CG_OK : cg_mos_validate(CG_MOS_UTF8, xml, len, NULL);
    *why = "not one well-formed MOS message in UTF-8";
    CG_CHECK(rc != CG_ENOMEM, CG_ENOMEM);
    CG_CHECK(rc == CG_OK, CG_EINVAL);
    CG_CHECK(cg_mos_envelope_parse(CG_MOS_UTF8, xml, len, env, why) == CG_OK, CG_EINVAL);
    *r = rule_for(env->name);
    *why = "not one of the messages removed in MOS 4.0 (M-12)";
    CG_CHECK(*r != NULL, CG_EINVAL);
    return CG_OK;
}

enum cg_err cg_mos_translate_removed_ex(const char *xml, size_t len, bool validated, char **out,
                                        size_t *out_len, const char **why)
{
    const char *reason = "invalid argument";
    enum cg_err rc = CG_OK;
    struct kids k;
    memset(&k, 0, sizeof(k));
    cg__buf_init(&k.buf, 0);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    CG_ENSURE(out != NULL && out_len != NULL && (xml != NULL || len == 0), CG_EINVAL);
    *out = NULL;
    *out_len = 0;
    struct cg_mos_envelope env;
    const struct rule *r = NULL;
    CG_TRY(read_message(xml, len, validated, &env, &r, &reason));
    struct cg__mos_txt t = {(const uint8_t *)xml, len, 1};
    CG_TRY(collect(r, &t, env.element.off, &k, &reason));
    CG_TRY(judge(r, &t, &k, &reason));
    reason = "the result cannot be built";
    CG_TRY(cg__buf_reserve(&b, len + 128));
    CG_TRY(cg__buf_append(&b, xml, env.element.off));
    CG_TRY(r->shape == SHAPE_STAT ? put_stat(&b, r, &t, &k) : put_action(&b, r, &t, &k));
    size_t after = env.element.off + env.element.len;
    CG_TRY(cg__buf_append(&b, xml + after, len - after));
    CG_TRY(cg__buf_append(&b, "", 1));
    *out = (char *)b.data;
    *out_len = b.len - 1;
    b.data = NULL;
    reason = NULL;
out:
    if (rc == CG_ENOMEM)
        reason = "out of memory";
    if (why != NULL)
        *why = reason;
    cg__buf_free(&k.buf);
    cg__buf_free(&b);
    return rc;
}


enum cg_err cg_mos_translate_removed(const char *xml, size_t len, char **out, size_t *out_len,
                                     const char **why)
{
    return cg_mos_translate_removed_ex(xml, len, false, out, out_len, why);
}
