/* MOS 4.0 wire helpers: our envelope around a message element, the element
 * of a whole message, NACK detection, the endpoint URL's query (M-02). */
#include "mos/mos.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const ch_names[CG_MOS4_NCH] = {"mom", "ro", "aux"};

int cg__mos4_ch_index(enum cg_mos_channel ch)
{
    return ch == CG_MOS_CH_MOM ? 0 : ch == CG_MOS_CH_RO ? 1 : ch == CG_MOS_CH_AUX ? 2 : -1;
}

enum cg_mos_channel cg__mos4_ch_bit(int idx) { return (enum cg_mos_channel)(1u << idx); }
const char *cg__mos4_ch_name(int idx) { return ch_names[idx]; }

const char *cg__mos4_mos_id(const struct mos4_lane *l)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    return ep->cfg.role == CG_MOS_ROLE_MOS ? ep->cfg.id : l->peer->id;
}

const char *cg__mos4_ncs_id(const struct mos4_lane *l)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    return ep->cfg.role == CG_MOS_ROLE_NCS ? ep->cfg.id : l->peer->id;
}

/* M-20: mosID, ncsID, messageID, then the message, in that order. */
enum cg_err cg__mos4_wrap(const struct mos4_lane *l, const char *elem, size_t elen,
                          const char *msgid, struct cg_buf *out)
{
    CG_GUARD(cg__buf_append(out, "<mos><mosID>", 12));
    CG_GUARD(cg__mos_xml_escape(out, cg__mos4_mos_id(l)));
    CG_GUARD(cg__buf_append(out, "</mosID><ncsID>", 15));
    CG_GUARD(cg__mos_xml_escape(out, cg__mos4_ncs_id(l)));
    CG_GUARD(cg__buf_append(out, "</ncsID>", 8));
    if (msgid != NULL && msgid[0] != '\0') {
        CG_GUARD(cg__buf_append(out, "<messageID>", 11));
        CG_GUARD(cg__mos_xml_escape(out, msgid));
        CG_GUARD(cg__buf_append(out, "</messageID>", 12));
    }
    CG_GUARD(cg__buf_append(out, elem, elen));
    return cg__buf_append(out, "</mos>", 6);
}

enum cg_mos_encoding cg__mos4_enc_of(const void *data, size_t len)
{
    const uint8_t *p = data;
    return len >= 2 && (p[0] == 0 || (p[0] == 0xFE && p[1] == 0xFF)) ? CG_MOS_UCS2BE : CG_MOS_UTF8;
}

enum cg_mos_encoding cg__mos4_lane_enc(const struct mos4_lane *l)
{
    if (l->peer->legacy)
        return l->peer->legacy_enc;
    return l->peer->text_frames ? CG_MOS_UTF8 : CG_MOS_UCS2BE; /* M-04 */
}

/* Appends n bytes in `from` to b in `to`: a plain copy when they agree,
 * else converted straight into b (no intermediate buffer). */
static enum cg_err append_as(struct cg_buf *b, enum cg_mos_encoding to,
                             enum cg_mos_encoding from, const void *in, size_t n)
{
    if (from == to)
        return cg__buf_append(b, in, n);
    CG_CHECK(n <= SIZE_MAX / 4, CG_ERANGE);
    size_t cap = from == CG_MOS_UCS2BE ? n / 2 * 3 : n * 2; /* exact worst cases */
    CG_GUARD(cg__buf_reserve(b, cap));
    struct cg_mos_conv c;
    cg_mos_conv_init(&c, from);
    c.started = true; /* a U+FEFF here is content, not a BOM to drop */
    size_t used = 0, made = 0;
    CG_GUARD(cg_mos_conv_feed(&c, in, n, b->data + b->len, cap, &used, &made));
    CG_CHECK(used == n, CG_EINTERNAL);
    CG_GUARD(cg_mos_conv_finish(&c));
    b->len += made;
    return CG_OK;
}

/* The head of our envelope ("<mos>…</mos>" around nothing, UTF-8) is put
 * together on the stack, in a cg_buf whose cap is its max: an append past
 * the room fails (CG_ETOOBIG, cg__buf_reserve) and never reallocates it.
 * WRAP_HEAD_STACK holds every head valid IDs make: two IDs of CG_MOS_ID_MAX
 * characters all escaped (6 bytes: &quot;) and a messageID of the core's 63
 * characters likewise, 64 + 2 * 768 + 378 = 1978 bytes. A longer one (no
 * peer sends it) is made on the heap, as every head was before. */
#define WRAP_HEAD_STACK 2048

/* M-20: our envelope (mosID, ncsID, messageID) around the original element
 * bytes, in `to`: the element is copied once, converted only when the two
 * encodings differ (issue 13 items 4 and 6); the message's buffer is the
 * only allocation. */
enum cg_err cg__mos4_wrap_enc(const struct mos4_lane *l, enum cg_mos_encoding to,
                              enum cg_mos_encoding from, const void *elem, size_t elen,
                              const char *msgid, struct cg_buf *out)
{
    uint8_t room[WRAP_HEAD_STACK];
    struct cg_buf stack = {.data = room, .cap = sizeof(room), .max = sizeof(room)}, heap;
    cg__buf_init(&heap, 0);
    const struct cg_buf *head = &stack;
    enum cg_err rc = cg__mos4_wrap(l, "", 0, msgid, &stack);
    if (rc == CG_ETOOBIG) {
        head = &heap;
        rc = cg__mos4_wrap(l, "", 0, msgid, &heap);
    }
    if (rc == CG_OK) {
        size_t body = from == to ? elen : from == CG_MOS_UCS2BE ? elen / 2 * 3 : elen * 2;
        rc = body <= SIZE_MAX / 2 - head->len * 2 ? cg__buf_reserve(out, head->len * 2 + body)
                                                  : CG_ERANGE; /* one allocation */
    }
    if (rc == CG_OK)
        rc = append_as(out, to, CG_MOS_UTF8, head->data, head->len - 6);
    if (rc == CG_OK)
        rc = append_as(out, to, from, elem, elen);
    if (rc == CG_OK)
        rc = append_as(out, to, CG_MOS_UTF8, "</mos>", 6);
    cg__buf_free(&heap);
    return rc;
}

/* Accepts a whole <mos> message (its envelope is dropped) or an element. */
enum cg_err cg__mos4_element(const char *xml, size_t len, const char **elem, size_t *elen,
                             char *name, size_t namesz)
{
    struct cg_mos_envelope env;
    size_t i = 0;
    while (i < len && (xml[i] == ' ' || xml[i] == '\t' || xml[i] == '\r' || xml[i] == '\n'))
        i++;
    bool whole = len - i >= 4 && memcmp(xml + i, "<mos", 4) == 0 &&
                 (len - i == 4 || strchr(" \t\r\n>", xml[i + 4]) != NULL);
    if (whole) {
        CG_GUARD(cg_mos_envelope_parse(CG_MOS_UTF8, xml, len, &env, NULL));
        *elem = xml + env.element.off;
        *elen = env.element.len;
        snprintf(name, namesz, "%s", env.name);
        return CG_OK;
    }
    /* An element: wrap it in a scratch envelope to let the codec check it. */
    struct cg_buf b;
    cg__buf_init(&b, 0);
    enum cg_err rc = cg__buf_append(&b, "<mos><mosID>x</mosID><ncsID>x</ncsID>", 37);
    if (rc == CG_OK)
        rc = cg__buf_append(&b, xml, len);
    if (rc == CG_OK)
        rc = cg__buf_append(&b, "</mos>", 6);
    if (rc == CG_OK)
        rc = cg_mos_envelope_parse(CG_MOS_UTF8, b.data, b.len, &env, NULL);
    cg__buf_free(&b);
    CG_GUARD(rc);
    *elem = xml + (env.element.off - 37);
    *elen = env.element.len;
    snprintf(name, namesz, "%s", env.name);
    return CG_OK;
}

/* The trimmed text of the first <tag> in a message in enc (ASCII only: any
 * other character reads as '?', which is neither OK nor NACK). */
static bool element_text(enum cg_mos_encoding enc, const uint8_t *p, size_t len, const char *tag,
                         char *out, size_t outsz)
{
    unsigned w = enc == CG_MOS_UCS2BE ? 2 : 1;
    size_t n = len / w * w, tl = strlen(tag);
    for (size_t i = 0; i + (tl + 2) * w <= n; i += w) {
        if (cg__mos_ch(p, i, w) != '<')
            continue;
        size_t k = 0;
        while (k < tl && cg__mos_ch(p, i + (k + 1) * w, w) == (unsigned char)tag[k])
            k++;
        if (k < tl || cg__mos_ch(p, i + (tl + 1) * w, w) != '>')
            continue;
        size_t o = 0, keep = 0; /* keep: up to the last non-space */
        bool cut = false;       /* text past the room: not trimmed (it is long) */
        for (size_t j = i + (tl + 2) * w; j < n; j += w) {
            unsigned ch = cg__mos_ch(p, j, w);
            bool space = cg__mos_is_space(ch);
            if (ch == '<')
                break;
            if (o == 0 && space)
                continue;
            if (o + 1 < outsz) {
                out[o++] = ch < 0x80 ? (char)ch : '?';
                keep = space ? keep : o;
            } else if (!space) {
                cut = true;
            }
        }
        out[cut ? o : keep] = '\0';
        return true;
    }
    return false;
}

/* mosAck: <status>NACK</status>; roAck: a <roStatus> other than OK. The
 * message is read in its own encoding (UTF-8 or UCS-2BE, cg__mos4_enc_of). */
bool cg__mos4_is_nack(const char *name, const char *xml, size_t len)
{
    char v[64];
    enum cg_mos_encoding enc = cg__mos4_enc_of(xml, len);
    const uint8_t *p = (const uint8_t *)xml;
    if (strcmp(name, "mosAck") == 0)
        return element_text(enc, p, len, "status", v, sizeof(v)) && strcasecmp(v, "NACK") == 0;
    if (strcmp(name, "roAck") == 0)
        return element_text(enc, p, len, "roStatus", v, sizeof(v)) && strcasecmp(v, "OK") != 0;
    return false;
}

/* A request sent without a messageID (M-11: legacy gear sends none) cannot be
 * matched by ID: peers answer it with their own counter (Sofie mos-connection)
 * or none. Its answer is the one of its kind: the channel's acknowledgement
 * (mosAck on mom and aux, roAck on ro: an ACK or a NACK of any request,
 * M-22) or the reply the catalogue lists for it (heartbeat: heartbeat, M-10;
 * roReq: roList; ncsItem: ncsAck; ...). */
bool cg__mos4_answer_fits(int ch, const char *request, const char *answer)
{
    if (strcmp(answer, ch == 1 ? "roAck" : "mosAck") == 0)
        return true;
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(request, strlen(request));
    return info != NULL && info->answer != NULL && strcmp(info->answer, answer) == 0;
}

static size_t entity_char(const char *s, size_t n, char *c)
{
    static const struct { const char *name; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        size_t l = strlen(ents[i].name);
        if (n >= l && memcmp(s, ents[i].name, l) == 0) {
            *c = ents[i].c;
            return l;
        }
    }
    return 0;
}

/* n, or less so that s[0..n) ends with a whole UTF-8 sequence. */
static size_t utf8_whole(const char *s, size_t n)
{
    size_t k = n;
    while (k > 0 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
        k--;
    if (k == 0)
        return 0;
    unsigned char lead = (unsigned char)s[k - 1];
    size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    return n - (k - 1) == need ? n : k - 1;
}

/* The text of an answer that is not a MOS message (ENPS: "<mos>Invalid
 * command: heartbeat requestID=…</mos>"): what lies inside <mos>…</mos>, or
 * the whole, with the five predefined entities decoded, runs of whitespace and
 * control characters made one space, cut on a UTF-8 boundary to fit out. */
void cg__mos4_answer_text(const char *xml, size_t len, char *out, size_t outsz)
{
    size_t b = 0, e = len;
    while (b < e && strchr(" \t\r\n", xml[b]) != NULL)
        b++;
    if (e - b >= 5 && memcmp(xml + b, "<mos>", 5) == 0)
        b += 5;
    while (e > b && strchr(" \t\r\n", xml[e - 1]) != NULL)
        e--;
    if (e - b >= 6 && memcmp(xml + e - 6, "</mos>", 6) == 0)
        e -= 6;
    size_t o = 0, i = b;
    bool space = true; /* no leading space */
    while (i < e && o + 1 < outsz) {
        char c = xml[i];
        size_t l = c == '&' ? entity_char(xml + i, e - i, &c) : 0;
        i += l > 0 ? l : 1;
        if ((unsigned char)c <= 0x20 || c == 0x7f) {
            if (!space)
                out[o++] = ' ';
            space = true;
            continue;
        }
        out[o++] = c;
        space = false;
    }
    if (i < e) /* cut: never in the middle of a UTF-8 sequence */
        o = utf8_whole(out, o);
    while (o > 0 && out[o - 1] == ' ')
        o--;
    if (outsz > 0)
        out[o] = '\0';
}

static enum cg_err query_value(struct cg_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            CG_GUARD(cg__buf_append(b, s, 1));
        } else {
            char pct[3] = {'%', hex[c >> 4], hex[c & 15]};
            CG_GUARD(cg__buf_append(b, pct, 3));
        }
    }
    return CG_OK;
}

/* M-02: url?mosID=…&ncsID=…&channel=…[&passive=true]. */
enum cg_err cg__mos4_url_with_query(const struct mos4_lane *l, char **out)
{
    struct cg_buf b;
    cg__buf_init(&b, 0);
    const char *url = l->peer->url;
    enum cg_err rc = cg__buf_append(&b, url, strlen(url));
    if (rc == CG_OK)
        rc = cg__buf_append(&b, strchr(url, '?') != NULL ? "&mosID=" : "?mosID=", 7);
    if (rc == CG_OK)
        rc = query_value(&b, cg__mos4_mos_id(l));
    if (rc == CG_OK)
        rc = cg__buf_append(&b, "&ncsID=", 7);
    if (rc == CG_OK)
        rc = query_value(&b, cg__mos4_ncs_id(l));
    if (rc == CG_OK)
        rc = cg__buf_printf(&b, "&channel=%s%s", ch_names[l->ch],
                            l->passive_dial ? "&passive=true" : "");
    if (rc == CG_OK)
        rc = cg__buf_append(&b, "", 1);
    if (rc != CG_OK) {
        cg__buf_free(&b);
        return rc;
    }
    *out = (char *)b.data;
    return CG_OK;
}

void cg__mos4_free_peer(struct mos4_peer *p)
{
    free(p->url);
    free(p);
}

/* A lane timer closed: a removed peer goes with its last one, a freed
 * endpoint with the last of all. */
void cg__mos4_timer_closed(uv_handle_t *h)
{
    struct mos4_lane *l = h->data;
    struct mos4_peer *p = l->peer;
    struct cg_mos_endpoint *ep = p->ep;
    if (--p->open_timers == 0 && p->removed) {
        struct mos4_peer **pp = &ep->removed;
        while (*pp != p)
            pp = &(*pp)->next_removed;
        *pp = p->next_removed;
        cg__mos4_free_peer(p);
    }
    if (--ep->open_timers == 0 && ep->freeing)
        cg__mos4_free_endpoint(ep);
}

void cg__mos4_free_endpoint(struct cg_mos_endpoint *ep)
{
    for (size_t i = 0; i < ep->npeers; i++)
        cg__mos4_free_peer(ep->peers[i]);
    free(ep->peers);
    if (ep->state_fd >= 0)
        close(ep->state_fd);
    free(ep->cfg.state_dir);
    free(ep->cfg.credentials);
    free(ep);
}
