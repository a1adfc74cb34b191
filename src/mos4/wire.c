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

static bool element_text(const char *xml, size_t len, const char *tag, char *out, size_t outsz)
{
    char open[40];
    int n = snprintf(open, sizeof(open), "<%s>", tag);
    const char *p = NULL;
    for (size_t i = 0; i + (size_t)n <= len; i++)
        if (memcmp(xml + i, open, (size_t)n) == 0) {
            p = xml + i + n;
            break;
        }
    if (p == NULL)
        return false;
    const char *e = memchr(p, '<', len - (size_t)(p - xml));
    if (e == NULL)
        return false;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t'))
        e--;
    snprintf(out, outsz, "%.*s", (int)(e - p), p);
    return true;
}

/* mosAck: <status>NACK</status>; roAck: a <roStatus> other than OK. */
bool cg__mos4_is_nack(const char *name, const char *xml, size_t len)
{
    char v[64];
    if (strcmp(name, "mosAck") == 0)
        return element_text(xml, len, "status", v, sizeof(v)) && strcasecmp(v, "NACK") == 0;
    if (strcmp(name, "roAck") == 0)
        return element_text(xml, len, "roStatus", v, sizeof(v)) && strcasecmp(v, "OK") != 0;
    return false;
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
