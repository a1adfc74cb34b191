/* Unit tests for src/mos/translate.c: the messages removed in MOS 4.0 (M-12)
 * rewritten as roElementAction / roElementStat. The structure of each result
 * is read back with libxml2 (an independent parser), compared with the shape
 * of the spec's own 4.0 examples, and applied to a small running-order model
 * that follows the MOS 4.0 §3.6.1 table; the expected running orders come
 * from the MOS 2.8.5 text of the removed message (§3.6.x examples). */
// CG_WRAP: calloc realloc
#include "mosfix.h"
#include "mos/mos.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

/* Allocation failure injection: with fail_at >= 0, the fail_at-th calloc or
 * realloc from castgate's code (counted from 0) returns NULL. libxml2 is a
 * shared library and keeps its own allocations. */
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
static long fail_at = -1, alloc_calls;

static bool alloc_fails(void) { return fail_at >= 0 && alloc_calls++ == fail_at; }

void *__wrap_calloc(size_t n, size_t size)
{
    return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n) { return alloc_fails() ? NULL : __real_realloc(p, n); }

/* ---- helpers ---------------------------------------------------------- */

static enum cg_err tr(const char *xml, char **out, size_t *out_len, const char **why)
{
    return cg_mos_translate_removed(xml, strlen(xml), out, out_len, why);
}

/* A copy of s with the first `from` replaced by `to`. */
static char *subst(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    assert_non_null(at);
    size_t a = (size_t)(at - s), f = strlen(from), t = strlen(to), n = strlen(s);
    char *r = malloc(n - f + t + 1);
    assert_non_null(r);
    memcpy(r, s, a);
    memcpy(r + a, to, t);
    memcpy(r + a + t, at + f, n - a - f + 1);
    return r;
}

static char *legacy(const char *name)
{
    char rel[128];
    size_t n = 0;
    snprintf(rel, sizeof(rel), "fixtures/mos/spec/legacy/%s.xml", name);
    return (char *)tu_read(tu_shared_path(rel), &n);
}

static xmlDocPtr parse(const char *xml, size_t n)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)n, NULL, "UTF-8", XML_PARSE_NONET);
    assert_non_null(doc);
    return doc;
}

/* The one element of <mos> that is not mosID, ncsID or messageID. */
static xmlNodePtr message_of(xmlDocPtr doc)
{
    xmlNodePtr found = NULL;
    for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !xmlStrEqual(c->name, BAD_CAST "mosID") &&
            !xmlStrEqual(c->name, BAD_CAST "ncsID") &&
            !xmlStrEqual(c->name, BAD_CAST "messageID")) {
            assert_null(found);
            found = c;
        }
    assert_non_null(found);
    return found;
}

static xmlNodePtr child_named(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

/* "storyID:V: HOTEL FIRE" for an ID; "story:<its storyID>" for a story or item. */
static void describe_node(xmlNodePtr c, char *dst, size_t sz)
{
    xmlNodePtr idn = c;
    if (xmlStrEqual(c->name, BAD_CAST "story"))
        idn = child_named(c, "storyID");
    else if (xmlStrEqual(c->name, BAD_CAST "item"))
        idn = child_named(c, "itemID");
    assert_non_null(idn);
    xmlChar *text = xmlNodeGetContent(idn);
    snprintf(dst, sz, "%s:%s", (const char *)c->name, (const char *)text);
    xmlFree(text);
}

static void describe_list(xmlNodePtr parent, char *dst, size_t sz)
{
    dst[0] = 0;
    for (xmlNodePtr c = parent->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        char one[512];
        describe_node(c, one, sizeof(one));
        size_t l = strlen(dst);
        snprintf(dst + l, sz - l, "%s%s", l ? ";" : "", one);
    }
}

/* The translated message as libxml2 reads it:
 *   "roElementAction MOVE target=storyID:1 source=storyID:2;storyID:3" or
 *   "roElementStat RO children=roID,status,time". */
static void describe(const char *xml, size_t n, char *dst, size_t sz)
{
    xmlDocPtr doc = parse(xml, n);
    xmlNodePtr m = message_of(doc);
    if (xmlStrEqual(m->name, BAD_CAST "roElementStat")) {
        xmlChar *el = xmlGetProp(m, BAD_CAST "element");
        assert_non_null(el);
        int l = snprintf(dst, sz, "roElementStat %s children=", (const char *)el);
        xmlFree(el);
        for (xmlNodePtr c = m->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                l += snprintf(dst + l, sz - (size_t)l, "%s%s", dst[l - 1] == '=' ? "" : ",",
                              (const char *)c->name);
        xmlFreeDoc(doc);
        return;
    }
    assert_string_equal((const char *)m->name, "roElementAction");
    xmlChar *op = xmlGetProp(m, BAD_CAST "operation");
    assert_non_null(op);
    xmlNodePtr ro = m->children;
    while (ro != NULL && ro->type != XML_ELEMENT_NODE)
        ro = ro->next;
    assert_non_null(ro);
    assert_string_equal((const char *)ro->name, "roID"); /* roID first (syntax) */
    char target[1024] = "-", source[4096] = "";
    xmlNodePtr t = child_named(m, "element_target"), s = child_named(m, "element_source");
    if (t != NULL)
        describe_list(t, target, sizeof(target));
    assert_non_null(s);
    describe_list(s, source, sizeof(source));
    snprintf(dst, sz, "roElementAction %s target=%s source=%s", (const char *)op, target, source);
    xmlFree(op);
    xmlFreeDoc(doc);
}

/* Translates xml and checks what every success must satisfy: the result is
 * one valid MOS message (cg_mos_validate), its envelope is the input's with
 * the same bytes before and after the message element, and it is a 4.0
 * message the catalogue knows and does not list as removed. */
static char *translate_ok(const char *xml, size_t *out_len)
{
    char *out = NULL;
    const char *why = "unset";
    size_t n = strlen(xml);
    enum cg_err rc = cg_mos_translate_removed(xml, n, &out, out_len, &why);
    if (rc != CG_OK)
        fail_msg("translation failed: %s (%s)", cg_errname(rc), why ? why : "(null)");
    assert_null(why);
    assert_non_null(out);
    assert_int_equal(out[*out_len], 0);
    assert_int_equal(strlen(out), *out_len);
    assert_int_equal(cg_mos_validate(CG_MOS_UTF8, out, *out_len, NULL), CG_OK);
    struct cg_mos_envelope a, b;
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UTF8, xml, n, &a, NULL), CG_OK);
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UTF8, out, *out_len, &b, NULL), CG_OK);
    assert_string_equal(a.mos_id, b.mos_id);
    assert_string_equal(a.ncs_id, b.ncs_id);
    assert_string_equal(a.message_id, b.message_id);
    assert_int_equal(a.message_id_kind, b.message_id_kind);
    assert_int_equal(a.element.off, b.element.off);
    assert_memory_equal(xml, out, a.element.off);
    size_t tail = n - a.element.off - a.element.len;
    assert_int_equal(*out_len - b.element.off - b.element.len, tail);
    assert_memory_equal(xml + n - tail, out + *out_len - tail, tail);
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(b.name, strlen(b.name));
    assert_non_null(info);
    assert_false(info->removed_in_4);
    assert_true(strcmp(b.name, "roElementAction") == 0 || strcmp(b.name, "roElementStat") == 0);
    return out;
}

/* How often the len bytes at needle occur in the string hay. */
static size_t occurrences(const char *hay, const char *needle, size_t len)
{
    size_t count = 0;
    for (const char *q = strchr(hay, needle[0]); q != NULL; q = strchr(q + 1, needle[0]))
        count += strncmp(q, needle, len) == 0;
    return count;
}

/* Every <open ...>...</close> span of the input appears byte for byte in the
 * output, as often as in the input. Returns how many there were. */
static size_t spans_kept(const char *in, const char *out, const char *open, const char *close)
{
    size_t count = 0;
    for (const char *p = strstr(in, open); p != NULL; p = strstr(p + 1, open)) {
        const char *e = strstr(p, close);
        assert_non_null(e);
        e += strlen(close);
        size_t len = (size_t)(e - p);
        assert_int_equal(occurrences(in, p, len), occurrences(out, p, len));
        count++;
    }
    return count;
}

static void expect_refused(const char *xml, enum cg_err want, const char *needle)
{
    char *out = (char *)1;
    size_t n = 99;
    const char *why = NULL;
    enum cg_err rc = tr(xml, &out, &n, &why);
    if (rc != want)
        fail_msg("got %s (%s), want %s", cg_errname(rc), why ? why : "(null)", cg_errname(want));
    assert_null(out);
    assert_int_equal(n, 0);
    assert_non_null(why);
    if (strstr(why, needle) == NULL)
        fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
}

/* The input with `from` replaced by `to` is refused with want. */
static void refuse_variant(const char *base, const char *from, const char *to, enum cg_err want,
                           const char *needle)
{
    char *v = subst(base, from, to);
    expect_refused(v, want, needle);
    free(v);
}

/* ---- a running order, changed the MOS 4.0 §3.6.1 way -------------------- */

#define RO_MAX 32
struct ro {
    char id[RO_MAX][64];
    size_t n;
};

static void ro_set(struct ro *r, const char *ids) /* '|'-separated */
{
    r->n = 0;
    for (const char *p = ids; *p != 0;) {
        size_t l = strcspn(p, "|");
        assert_true(r->n < RO_MAX && l < 64);
        snprintf(r->id[r->n++], 64, "%.*s", (int)l, p);
        p += l + (p[l] == '|');
    }
}

static void ro_str(const struct ro *r, char *dst, size_t sz)
{
    dst[0] = 0;
    for (size_t i = 0; i < r->n; i++) {
        size_t l = strlen(dst);
        snprintf(dst + l, sz - l, "%s%s", i ? "|" : "", r->id[i]);
    }
}

static size_t ro_find(const struct ro *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->id[i], id) == 0)
            return i;
    fail_msg("%s is not in the running order", id);
    return 0;
}

static void ro_remove(struct ro *r, size_t at)
{
    memmove(r->id[at], r->id[at + 1], (r->n - at - 1) * sizeof(r->id[0]));
    r->n--;
}

static void ro_insert(struct ro *r, size_t at, const char *id)
{
    assert_true(r->n < RO_MAX);
    memmove(r->id[at + 1], r->id[at], (r->n - at) * sizeof(r->id[0]));
    snprintf(r->id[at], 64, "%s", id);
    r->n++;
}

/* The ID an element_source/element_target entry stands for. */
static void entry_id(xmlNodePtr c, char *dst, size_t sz)
{
    char d[512];
    describe_node(c, d, sizeof(d));
    snprintf(dst, sz, "%s", strchr(d, ':') + 1);
}

/* Applies the roElementAction in xml to r, which holds the stories of the
 * running order, or the items of the target story for item operations:
 * INSERT/MOVE before the target, REPLACE the target, DELETE, SWAP. */
static void ro_apply(struct ro *r, const char *xml, size_t n)
{
    xmlDocPtr doc = parse(xml, n);
    xmlNodePtr m = message_of(doc);
    xmlChar *op = xmlGetProp(m, BAD_CAST "operation");
    xmlNodePtr t = child_named(m, "element_target"), s = child_named(m, "element_source");
    char target[64] = "", id[64];
    if (t != NULL) /* the last entry: the itemID when there is one */
        for (xmlNodePtr c = t->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                entry_id(c, target, sizeof(target));
    char src[RO_MAX][64];
    size_t ns = 0;
    for (xmlNodePtr c = s->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            entry_id(c, src[ns++], 64);
    const char *o = (const char *)op;
    if (strcmp(o, "DELETE") == 0 || strcmp(o, "MOVE") == 0)
        for (size_t i = 0; i < ns; i++)
            ro_remove(r, ro_find(r, src[i]));
    if (strcmp(o, "INSERT") == 0 || strcmp(o, "MOVE") == 0) {
        size_t at = ro_find(r, target);
        for (size_t i = 0; i < ns; i++)
            ro_insert(r, at + i, src[i]);
    } else if (strcmp(o, "REPLACE") == 0) {
        size_t at = ro_find(r, target);
        ro_remove(r, at);
        for (size_t i = 0; i < ns; i++)
            ro_insert(r, at + i, src[i]);
    } else if (strcmp(o, "SWAP") == 0) {
        assert_int_equal(ns, 2);
        size_t a = ro_find(r, src[0]), b = ro_find(r, src[1]);
        memcpy(id, r->id[a], sizeof(id));
        memcpy(r->id[a], r->id[b], sizeof(id));
        memcpy(r->id[b], id, sizeof(id));
    } else {
        assert_string_equal(o, "DELETE");
    }
    xmlFree(op);
    xmlFreeDoc(doc);
}

/* ---- the legacy fixtures ------------------------------------------------ */

struct expect {
    const char *msg;
    const char *result; /* describe(); NULL: refused with CG_ENOTSUP */
    const char *before, *after; /* running order (or the story's items), per MOS 2.8.5 */
};

static const struct expect legacy_expect[] = {
    {"roStoryAppend", NULL, NULL, NULL},
    {"roStoryInsert",
     "roElementAction INSERT target=storyID:HOTEL FIRE source=story:V: BRIDGE COLLAPSE",
     "A|HOTEL FIRE|B", "A|V: BRIDGE COLLAPSE|HOTEL FIRE|B"},
    {"roStoryReplace",
     "roElementAction REPLACE target=storyID:P: PHILLIPS INTERVIEW "
     "source=story:V: HOTEL FIRE;story:V: DORMITORY FIRE",
     "A|P: PHILLIPS INTERVIEW|B", "A|V: HOTEL FIRE|V: DORMITORY FIRE|B"},
    /* §3.6.4: the second storyID is the story above which the first moves */
    {"roStoryMove",
     "roElementAction MOVE target=storyID:P: PHILLIPS INTERVIEW "
     "source=storyID:V: BRIDGE COLLAPSE",
     "A|V: BRIDGE COLLAPSE|B|P: PHILLIPS INTERVIEW|C",
     "A|B|V: BRIDGE COLLAPSE|P: PHILLIPS INTERVIEW|C"},
    {"roStorySwap",
     "roElementAction SWAP target=- "
     "source=storyID:V: BRIDGE COLLAPSE;storyID:P: PHILLIPS INTERVIEW",
     "A|V: BRIDGE COLLAPSE|B|P: PHILLIPS INTERVIEW",
     "A|P: PHILLIPS INTERVIEW|B|V: BRIDGE COLLAPSE"},
    {"roStoryDelete",
     "roElementAction DELETE target=- "
     "source=storyID:V: BRIDGE COLLAPSE;storyID:P: PHILLIPS INTERVIEW",
     "A|V: BRIDGE COLLAPSE|P: PHILLIPS INTERVIEW|B", "A|B"},
    /* §3.6.7 example: 1 2 3 4 5 6 becomes 2 3 5 6 1 4 */
    {"roStoryMoveMultiple",
     "roElementAction MOVE target=storyID:1 source=storyID:2;storyID:3;storyID:5;storyID:6",
     "1|2|3|4|5|6", "2|3|5|6|1|4"},
    {"roItemInsert",
     "roElementAction INSERT target=storyID:2597609;itemID:5 source=item:30848;item:1", "3|5|9",
     "3|30848|1|5|9"},
    {"roItemReplace",
     "roElementAction REPLACE target=storyID:2597609;itemID:5 source=item:30848;item:1", "3|5|9",
     "3|30848|1|9"},
    /* §3.6.10 example: items 1 2 3 4 5 6 become 2 3 5 6 1 4 */
    {"roItemMoveMultiple",
     "roElementAction MOVE target=storyID:Barn Fire;itemID:1 "
     "source=itemID:2;itemID:3;itemID:5;itemID:6",
     "1|2|3|4|5|6", "2|3|5|6|1|4"},
    {"roItemDelete",
     "roElementAction DELETE target=storyID:2 source=itemID:4;itemID:7;itemID:10;itemID:6",
     "4|5|6|7|10|11", "5|11"},
    {"roStat", "roElementStat RO children=roID,status,time", NULL, NULL},
    {"roItemStat",
     "roElementStat ITEM children=roID,storyID,itemID,objID,itemChannel,status,time", NULL,
     NULL},
};

/* The shape of a result (operation, target entry names, source entry name)
 * must be one the MOS 4.0 spec's own examples use. */
static void shape_of(const char *desc, char *dst, size_t sz)
{
    /* drop the text after each ':' up to the next ';' or ' ' */
    size_t o = 0;
    bool skipping = false;
    for (const char *p = desc; *p != 0 && o + 1 < sz; p++) {
        if (*p == ':')
            skipping = true;
        else if (*p == ';' || (*p == ' ' && strncmp(p, " source=", 8) == 0))
            skipping = false;
        if (!skipping)
            dst[o++] = *p;
    }
    dst[o] = 0;
    /* collapse repeated source entries: "storyID;storyID" -> "storyID" */
    char *src = strstr(dst, "source=");
    if (src != NULL) {
        char *semi = strchr(src, ';');
        if (semi != NULL)
            *semi = 0;
    }
}

static bool spec_has_shape(const char *shape)
{
    size_t n = 0;
    struct mosfix *rows = mosfix_load(&n);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        if (strcmp(rows[i].dir, "spec") != 0 || (strcmp(rows[i].message, "roElementAction") != 0 &&
                                                  strcmp(rows[i].message, "roElementStat") != 0))
            continue;
        size_t len = 0;
        char *xml = (char *)mosfix_read(&rows[i], false, &len);
        char d[4096], s[1024];
        describe(xml, len, d, sizeof(d));
        shape_of(d, s, sizeof(s));
        found = strcmp(s, shape) == 0;
        free(xml);
    }
    free(rows);
    return found;
}

static void test_legacy_fixtures(void **state)
{
    (void)state;
    size_t removed = 0, count = 0;
    const struct cg_mos_msg_info *table = cg_mos_msg_table(&count);
    for (size_t i = 0; i < count; i++)
        removed += table[i].removed_in_4;
    assert_int_equal(removed, CG_ARRAY_LEN(legacy_expect)); /* every M-12 message is here */
    for (size_t i = 0; i < CG_ARRAY_LEN(legacy_expect); i++) {
        const struct expect *e = &legacy_expect[i];
        const struct cg_mos_msg_info *info = cg_mos_msg_lookup(e->msg, strlen(e->msg));
        assert_non_null(info);
        assert_true(info->removed_in_4);
        char *xml = legacy(e->msg);
        if (e->result == NULL) {
            expect_refused(xml, CG_ENOTSUP, e->msg);
            free(xml);
            continue;
        }
        size_t n = 0;
        char *out = translate_ok(xml, &n);
        char d[4096], shape[1024];
        describe(out, n, d, sizeof(d));
        assert_string_equal(d, e->result);
        shape_of(d, shape, sizeof(shape));
        if (!spec_has_shape(shape))
            fail_msg("%s: shape %s is not one of the MOS 4.0 examples", e->msg, shape);
        /* stories, items and their payloads: byte for byte */
        spans_kept(xml, out, "<story>", "</story>");
        spans_kept(xml, out, "<item>", "</item>");
        spans_kept(xml, out, "<mosExternalMetadata>", "</mosExternalMetadata>");
        spans_kept(xml, out, "<roID>", "</roID>");
        if (e->before != NULL) {
            struct ro r;
            char got[1024];
            ro_set(&r, e->before);
            ro_apply(&r, out, n);
            ro_str(&r, got, sizeof(got));
            assert_string_equal(got, e->after);
        }
        free(out);
        free(xml);
    }
}

/* The roElementStat results are the spec's own 4.0 examples, child for child
 * (the spec's storyID "HOTEL FIRE " has a stray trailing space, ERRATA). */
static void test_stat_matches_spec_examples(void **state)
{
    (void)state;
    static const char *pairs[][2] = {{"roItemStat", "roElementStat-item.xml"},
                                     {"roStat", "roElementStat-ro.xml"}};
    for (size_t i = 0; i < CG_ARRAY_LEN(pairs); i++) {
        char *xml = legacy(pairs[i][0]);
        size_t n = 0, sn = 0;
        char *out = translate_ok(xml, &n);
        char rel[128];
        snprintf(rel, sizeof(rel), "fixtures/mos/spec/%s", pairs[i][1]);
        char *spec = (char *)tu_read(tu_shared_path(rel), &sn);
        xmlDocPtr a = parse(out, n), b = parse(spec, sn);
        xmlNodePtr ma = message_of(a), mb = message_of(b);
        xmlChar *ea = xmlGetProp(ma, BAD_CAST "element"), *eb = xmlGetProp(mb, BAD_CAST "element");
        assert_string_equal((const char *)ea, (const char *)eb);
        xmlNodePtr ca = ma->children, cb = mb->children;
        for (;;) {
            while (ca != NULL && ca->type != XML_ELEMENT_NODE)
                ca = ca->next;
            while (cb != NULL && cb->type != XML_ELEMENT_NODE)
                cb = cb->next;
            if (ca == NULL || cb == NULL)
                break;
            assert_string_equal((const char *)ca->name, (const char *)cb->name);
            ca = ca->next, cb = cb->next;
        }
        assert_null(ca);
        assert_null(cb);
        xmlFree(ea);
        xmlFree(eb);
        xmlFreeDoc(a);
        xmlFreeDoc(b);
        free(spec);
        free(out);
        free(xml);
    }
}

/* The wire copies (UCS-2BE) converted to UTF-8 translate to the same bytes. */
static void test_ucs2_copies(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(legacy_expect); i++) {
        const struct expect *e = &legacy_expect[i];
        char rel[128];
        size_t wn = 0, un = 0, n1 = 0, n2 = 0;
        snprintf(rel, sizeof(rel), "fixtures/mos/spec/ucs2be/legacy/%s.xml", e->msg);
        uint8_t *wire = tu_read(tu_shared_path(rel), &wn), *u8 = NULL;
        assert_int_equal(cg_mos_convert(CG_MOS_UCS2BE, wire, wn, &u8, &un, NULL), CG_OK);
        char *xml = legacy(e->msg);
        char *a = NULL, *b = NULL;
        enum cg_err ra = cg_mos_translate_removed((char *)u8, un, &a, &n1, NULL);
        enum cg_err rb = tr(xml, &b, &n2, NULL);
        assert_int_equal(ra, rb);
        if (ra == CG_OK) {
            assert_int_equal(n1, n2);
            assert_memory_equal(a, b, n1);
        }
        cg_mos_free(a);
        cg_mos_free(b);
        cg_mos_free(u8);
        free(wire);
        free(xml);
    }
}

/* ---- envelope and payloads kept ---------------------------------------- */

static void test_message_ids_kept(void **state)
{
    (void)state;
    char *xml = legacy("roStoryMove");
    static const char *ids[] = {"<messageID>0x1F</messageID>", "<messageID>x1f</messageID>",
                                "<messageID>2147483647</messageID>", "<messageID/>",
                                "<messageID> 77 </messageID>", "<messageID>4433250443</messageID>"};
    for (size_t i = 0; i < CG_ARRAY_LEN(ids); i++) {
        char *v = subst(xml, "<messageID>40411</messageID>", ids[i]);
        size_t n = 0;
        char *out = translate_ok(v, &n); /* checks the envelope's text and bytes */
        assert_non_null(strstr(out, ids[i]));
        free(out);
        free(v);
    }
    /* absent (legacy peers, M-11), ncsID first (Sofie), comments and a
     * declaration around: all kept as they were */
    char *v1 = subst(xml, "   <messageID>40411</messageID>\n", "");
    char *v2 = subst(v1, "<mosID>aircache.newscenter.com</mosID>",
                     "<ncsID>ncs.newscenter.com</ncsID><!-- first -->");
    char *v3 = subst(v2, "<ncsID>ncs.newscenter.com</ncsID>\n   <roStoryMove>",
                     "<mosID>aircache.newscenter.com</mosID>\n<?pi x?>   <roStoryMove>");
    char *v4 = subst(v3, "<mos>", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mos>");
    char *v5 = subst(v4, "</mos>", "</mos>\n<!-- after -->\n");
    size_t n = 0;
    char *out = translate_ok(v5, &n);
    struct cg_mos_envelope env;
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UTF8, out, n, &env, NULL), CG_OK);
    assert_int_equal(env.message_id_kind, CG_MOS_MSGID_ABSENT);
    assert_null(strstr(out, "messageID"));
    assert_non_null(strstr(out, "<!-- first -->"));
    assert_non_null(strstr(out, "<!-- after -->"));
    free(out);
    free(v5), free(v4), free(v3), free(v2), free(v1);
    free(xml);
}

/* M-20: CDATA (holding </mos> and markup), entities, comments, non-ASCII in
 * a payload and in IDs pass byte for byte. */
static void test_payloads_kept(void **state)
{
    (void)state;
    static const char *payload =
        "<mosPayload><![CDATA[</mos> <b>&amp;</b> ]]><!-- a comment </story> -->"
        "<t a=\"x&quot;y\">caf\xc3\xa9 &#x4E2D;&lt;&#60;\xe4\xb8\xad\xe6\x96\x87 "
        "\xf0\x9f\x8e\xac \xd0\x9c\xd0\x9e\xd0\xa1</t></mosPayload>";
    char *xml = legacy("roStoryInsert");
    char *v1 = subst(xml, "<mosPayload>\n                  <rate>52</rate>", payload);
    char *v2 = subst(v1, "<background>2</background>\n                  <overlay>463</overlay>\n"
                         "               </mosPayload>",
                     "");
    char *v3 = subst(v2, "<storyID>HOTEL FIRE</storyID>",
                     "<storyID>H&amp;M \xc3\xa9t\xc3\xa9</storyID>");
    size_t n = 0;
    char *out = translate_ok(v3, &n);
    assert_non_null(strstr(out, payload));
    assert_non_null(strstr(out, "<storyID>H&amp;M \xc3\xa9t\xc3\xa9</storyID>"));
    assert_int_equal(spans_kept(v3, out, "<story>", "</story>"), 1);
    char d[4096];
    describe(out, n, d, sizeof(d));
    assert_string_equal(d, "roElementAction INSERT target=storyID:H&M \xc3\xa9t\xc3\xa9 "
                           "source=story:V: BRIDGE COLLAPSE");
    free(out);
    free(v3), free(v2), free(v1);
    free(xml);
    /* a CJK storyID of 128 characters is still an ID (M-24) */
    char id[4 * 128 + 32] = "<storyID>";
    for (int i = 0; i < 128; i++)
        strcat(id, "\xe4\xb8\xad");
    strcat(id, "</storyID>");
    char *m = legacy("roStoryDelete");
    char *w = subst(m, "<storyID>V: BRIDGE COLLAPSE</storyID>", id);
    out = translate_ok(w, &n);
    assert_non_null(strstr(out, id));
    free(out);
    free(w);
    free(m);
}

/* Whitespace and comments between the children, attributes and CRLF inside
 * the copied children: the result is still exact. */
static void test_layouts(void **state)
{
    (void)state;
    static const char *flat =
        "<mos><mosID>m</mosID><ncsID>n</ncsID><messageID>9</messageID><roItemMoveMultiple>"
        "<roID a=\"1\">R</roID><!-- c --><storyID>S</storyID>\r\n<itemID>b</itemID>"
        "<?pi?><itemID >c</itemID ><itemID>a</itemID></roItemMoveMultiple></mos>";
    size_t n = 0;
    char *out = translate_ok(flat, &n);
    assert_string_equal(out, "<mos><mosID>m</mosID><ncsID>n</ncsID><messageID>9</messageID>"
                             "<roElementAction operation=\"MOVE\"><roID a=\"1\">R</roID>"
                             "<element_target><storyID>S</storyID><itemID>a</itemID>"
                             "</element_target><element_source><itemID>b</itemID>"
                             "<itemID >c</itemID ></element_source></roElementAction></mos>");
    free(out);
    /* the optional itemChannel may be absent from roItemStat */
    char *xml = legacy("roItemStat");
    char *v = subst(xml, "<itemChannel>B</itemChannel>", "");
    out = translate_ok(v, &n);
    char d[1024];
    describe(out, n, d, sizeof(d));
    assert_string_equal(d, "roElementStat ITEM children=roID,storyID,itemID,objID,status,time");
    free(out);
    free(v);
    free(xml);
    /* an empty storyID element is blank: the swap/delete needs a name */
    static const char *swap =
        "<mos><mosID>m</mosID><ncsID>n</ncsID><roStorySwap><roID>R</roID><storyID>a</storyID>"
        "<storyID>b</storyID></roStorySwap></mos>";
    out = translate_ok(swap, &n);
    assert_non_null(strstr(out, "<roElementAction operation=\"SWAP\"><roID>R</roID>"
                                "<element_source><storyID>a</storyID><storyID>b</storyID>"
                                "</element_source></roElementAction>"));
    free(out);
}

/* ---- refusals: no exact roElementAction (CG_ENOTSUP) --------------------- */

static void test_no_exact_form(void **state)
{
    (void)state;
    char *move = legacy("roStoryMove");
    char *mm = legacy("roStoryMoveMultiple");
    char *im = legacy("roItemMoveMultiple");
    char *ii = legacy("roItemInsert");
    const char *second = "<storyID>P: PHILLIPS INTERVIEW</storyID>";
    /* "to the bottom / end" (2.8.5 §3.6.4, §3.6.7, §3.6.8, §3.6.10) */
    refuse_variant(move, second, "<storyID/>", CG_ENOTSUP, "roStoryMove: a blank second storyID");
    refuse_variant(move, second, "<storyID> \t</storyID>", CG_ENOTSUP,
                   "bottom of the running order");
    refuse_variant(mm, "<storyID>1</storyID>", "<storyID></storyID>", CG_ENOTSUP,
                   "roStoryMoveMultiple: a blank last storyID");
    refuse_variant(im, "<itemID>1</itemID>", "<itemID/>", CG_ENOTSUP,
                   "roItemMoveMultiple: a blank last itemID");
    refuse_variant(ii, "<itemID>5</itemID>", "<itemID/>", CG_ENOTSUP,
                   "roItemInsert: a blank itemID inserts at the end");
    /* one ID: the reference alone, nothing moves */
    refuse_variant(mm,
                   "<storyID>2</storyID>\n      <storyID>3</storyID>\n      <storyID>5</storyID>\n"
                   "      <storyID>6</storyID>",
                   "", CG_ENOTSUP, "roStoryMoveMultiple: one storyID only");
    refuse_variant(im,
                   "<itemID>2</itemID>\n      <itemID>3</itemID>\n      <itemID>5</itemID>\n"
                   "      <itemID>6</itemID>",
                   "", CG_ENOTSUP, "roItemMoveMultiple: one itemID only");
    /* what the 4.0 element has no place for */
    static const char *extra[][2] = {
        {"<roStoryMove>", "<roStoryMove vendor=\"x\">"},
        {"<roID>5PM</roID>", "<roID>5PM</roID><vendorTag>1</vendorTag>"},
        {"<roID>5PM</roID>", "<roID>5PM</roID>stray text"},
        {"<roID>5PM</roID>", "<roID>5PM</roID><![CDATA[x]]>"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(extra); i++)
        refuse_variant(move, extra[i][0], extra[i][1], CG_ENOTSUP, "roStoryMove: carries");
    free(ii), free(im), free(mm), free(move);
}

/* ---- malformed or not a removed message (CG_EINVAL) ---------------------- */

static void test_malformed(void **state)
{
    (void)state;
    char *move = legacy("roStoryMove");
    char *mm = legacy("roStoryMoveMultiple");
    char *ins = legacy("roStoryInsert");
    char *del = legacy("roItemDelete");
    const char *second = "<storyID>P: PHILLIPS INTERVIEW</storyID>";
    /* 2.8.5 syntax: counts and order */
    static const char *syntax[][2] = {
        {"<storyID>P: PHILLIPS INTERVIEW</storyID>", ""},
        {"<storyID>P: PHILLIPS INTERVIEW</storyID>", "<storyID>P</storyID><storyID>Q</storyID>"},
        {"<roID>5PM</roID>", ""},
        {"<roID>5PM</roID>", "<roID>5PM</roID><roID>6PM</roID>"},
        {"<roStoryMove>", "<roStoryMove/><!--"}, /* with the next row: empty element */
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(syntax); i++) {
        char *v = subst(move, syntax[i][0], syntax[i][1]);
        if (i == 4) {
            char *w = subst(v, "</roStoryMove>", "-->");
            free(v);
            v = w;
        }
        expect_refused(v, CG_EINVAL, "roStoryMove: not (roID, storyID, storyID)");
        free(v);
    }
    refuse_variant(ins, "<storyID>HOTEL FIRE</storyID>", "", CG_EINVAL,
                   "roStoryInsert: not (roID, storyID, story+)");
    refuse_variant(ins, "<roID>5PM</roID>", "<roID>5PM</roID><story><storyID>x</storyID></story>",
                   CG_EINVAL, "roStoryInsert: not"); /* a story before the storyID */
    /* IDs that must name something */
    refuse_variant(ins, "<storyID>HOTEL FIRE</storyID>", "<storyID/>", CG_EINVAL,
                   "roStoryInsert: a storyID or itemID is empty");
    refuse_variant(move, "<storyID>V: BRIDGE COLLAPSE</storyID>", "<storyID> </storyID>",
                   CG_EINVAL, "roStoryMove: a storyID or itemID is empty");
    refuse_variant(del, "<itemID>7</itemID>", "<itemID/>", CG_EINVAL, "roItemDelete: a storyID");
    refuse_variant(del, "<storyID>2</storyID>", "<storyID><![CDATA[2]]></storyID>", CG_EINVAL,
                   "roItemDelete: a storyID or itemID is empty, longer");
    refuse_variant(del, "<storyID>2</storyID>", "<storyID>2<!-- c --></storyID>", CG_EINVAL,
                   "not plain text");
    char big[200] = "<itemID>";
    memset(big + 8, 'x', 129);
    strcpy(big + 8 + 129, "</itemID>");
    refuse_variant(del, "<itemID>7</itemID>", big, CG_EINVAL, "longer than 128 characters");
    /* duplicates in a move (2.8.5 §3.6.7, §3.6.10), also through an entity
     * and surrounding whitespace */
    refuse_variant(mm, "<storyID>5</storyID>", "<storyID>2</storyID>", CG_EINVAL,
                   "roStoryMoveMultiple: a storyID is listed twice");
    refuse_variant(mm, "<storyID>5</storyID>", "<storyID>&#49;</storyID>", CG_EINVAL,
                   "listed twice"); /* the reference itself */
    refuse_variant(move, second, "<storyID> V: BRIDGE COLLAPSE</storyID>", CG_EINVAL,
                   "roStoryMove: both storyIDs name the same story");
    /* not XML, not one MOS message */
    refuse_variant(move, "</roStoryMove>", "</roStoryMov>", CG_EINVAL,
                   "not one well-formed MOS message");
    refuse_variant(move, "V: BRIDGE", "V: \xc3\x28 BRIDGE", CG_EINVAL,
                   "not one well-formed"); /* invalid UTF-8 */
    refuse_variant(move, "<roStoryMove>",
                   "<roStat><roID>x</roID><status>s</status><time>t</time></roStat><roStoryMove>",
                   CG_EINVAL, "not one well-formed MOS message");
    expect_refused("", CG_EINVAL, "not one well-formed");
    expect_refused("<roStoryMove><roID>R</roID><storyID>a</storyID><storyID>b</storyID>"
                   "</roStoryMove>",
                   CG_EINVAL, "not one well-formed MOS message");
    expect_refused("<!DOCTYPE mos [<!ENTITY e \"x\">]><mos><mosID>m</mosID><roStat/></mos>",
                   CG_EINVAL, "not one well-formed");
    free(del), free(ins), free(mm), free(move);
}

/* Every other message of the spec, the 4.0 replacements included, is not
 * something to translate; neither is a translation's own output. */
static void test_not_removed(void **state)
{
    (void)state;
    size_t n = 0, tested = 0;
    struct mosfix *rows = mosfix_load(&n);
    for (size_t i = 0; i < n; i++) {
        const struct mosfix *r = &rows[i];
        if (strcmp(r->dir, "spec") != 0 || mosfix_is_fragment(r) || strcmp(r->deprecated, "no"))
            continue;
        size_t len = 0;
        char *xml = (char *)mosfix_read(r, false, &len);
        char *out = NULL;
        size_t out_len = 0;
        const char *why = NULL;
        enum cg_err rc = cg_mos_translate_removed(xml, len, &out, &out_len, &why);
        assert_int_equal(rc, CG_EINVAL);
        assert_null(out);
        assert_non_null(why);
        if (!mosfix_is_plugin(r) && strstr(r->file, "keepAlive-4.1.1") == NULL)
            assert_string_equal(why, "not one of the messages removed in MOS 4.0 (M-12)");
        tested++;
        free(xml);
    }
    assert_true(tested >= 50);
    free(rows);
    char *xml = legacy("roItemDelete");
    size_t len = 0;
    char *out = translate_ok(xml, &len);
    expect_refused(out, CG_EINVAL, "not one of the messages removed");
    free(out);
    free(xml);
}

static void test_arguments_and_limits(void **state)
{
    (void)state;
    char *out = NULL;
    size_t n = 0;
    const char *why = NULL;
    assert_int_equal(cg_mos_translate_removed(NULL, 5, &out, &n, &why), CG_EINVAL);
    assert_non_null(why);
    assert_int_equal(cg_mos_translate_removed("<mos/>", 6, NULL, &n, &why), CG_EINVAL);
    assert_int_equal(cg_mos_translate_removed("<mos/>", 6, &out, NULL, &why), CG_EINVAL);
    assert_int_equal(cg_mos_translate_removed("<mos/>", 6, &out, &n, NULL), CG_EINVAL);
    /* past the codec's message limit: refused before anything is read */
    size_t big = CG_MOS_DEFAULT_MAX_MESSAGE + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    assert_int_equal(cg_mos_translate_removed(huge, big, &out, &n, &why), CG_ETOOBIG);
    assert_null(out);
    assert_non_null(strstr(why, "16 MiB"));
    free(huge);
    /* a big but legal delete: 20000 storyIDs, and a move of as many (sorted
     * duplicate check) */
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__buf_printf(&b, "<mos><mosID>m</mosID><ncsID>n</ncsID><messageID>1"
                                        "</messageID><roStoryMoveMultiple><roID>R</roID>"),
                     CG_OK);
    for (int i = 0; i < 20000; i++)
        assert_int_equal(cg__buf_printf(&b, "<storyID>s%d</storyID>", i), CG_OK);
    assert_int_equal(cg__buf_printf(&b, "</roStoryMoveMultiple></mos>"), CG_OK);
    assert_int_equal(cg__buf_append(&b, "", 1), CG_OK);
    char *res = translate_ok((char *)b.data, &n);
    assert_non_null(strstr(res, "<element_target><storyID>s19999</storyID></element_target>"));
    free(res);
    char *dup = subst((char *)b.data, "<storyID>s19999</storyID>", "<storyID>s7</storyID>");
    expect_refused(dup, CG_EINVAL, "listed twice");
    free(dup);
    cg__buf_free(&b);
}

/* Every allocation the translation makes may fail: each gives CG_ENOMEM,
 * no output and no leak (ASan), until none is left to fail. */
static void test_out_of_memory(void **state)
{
    (void)state;
    static const char *names[] = {"roStoryMoveMultiple", "roItemReplace", "roItemStat"};
    for (size_t i = 0; i < CG_ARRAY_LEN(names); i++) {
        char *xml = legacy(names[i]);
        long failures = 0;
        for (long k = 0;; k++) {
            char *out = NULL;
            size_t n = 0;
            const char *why = NULL;
            fail_at = k;
            alloc_calls = 0;
            enum cg_err rc = tr(xml, &out, &n, &why);
            fail_at = -1;
            if (alloc_calls <= k) { /* nothing failed: the whole run */
                assert_int_equal(rc, CG_OK);
                cg_mos_free(out);
                break;
            }
            assert_int_equal(rc, CG_ENOMEM);
            assert_null(out);
            assert_string_equal(why, "out of memory");
            failures++;
        }
        assert_true(failures >= 2); /* the children list and the result at least */
        free(xml);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_fixtures),   cmocka_unit_test(test_stat_matches_spec_examples),
        cmocka_unit_test(test_ucs2_copies),       cmocka_unit_test(test_message_ids_kept),
        cmocka_unit_test(test_payloads_kept),     cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_no_exact_form),     cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_not_removed),       cmocka_unit_test(test_arguments_and_limits),
        cmocka_unit_test(test_out_of_memory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
