/* WebSocket frames from the backend to the client, sans-I/O (RFC 6455 §5.2).
 * A server's frames are unmasked; a text message (opcode 1, no RSV bit) of at
 * most the JSON bound, in one frame or in fragments (§5.4), is held, its JSON
 * rewritten like an HTTP response (Query API grains carry resources with
 * hrefs and endpoints) and sent as one frame with its new length; control
 * frames between fragments pass at once. A fragmented message that outgrows
 * the bound is let go: what was held leaves as its first fragment, the rest
 * passes as it comes. Everything else (binary, frames over the bound,
 * payloads that are not JSON) passes byte for byte, so nothing large is
 * held. */
#include "front/front.h"

#include <string.h>

void cg__front_wsrw_init(struct cg_front_wsrw *w, const struct cg_front_rw *rw, size_t max)
{
    memset(w, 0, sizeof(*w));
    w->rw = rw;
    w->max = max;
    w->need = 2;
    cg__buf_init(&w->msg, max);
}

void cg__front_wsrw_free(struct cg_front_wsrw *w)
{
    cg__buf_free(&w->msg);
}

static size_t header_need(const uint8_t *h)
{
    size_t len7 = h[1] & 0x7F;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
}

static uint64_t payload_len(const uint8_t *h)
{
    uint64_t len7 = h[1] & 0x7F, v = 0;
    if (len7 < 126)
        return len7;
    size_t k = len7 == 126 ? 2 : 8;
    for (size_t i = 0; i < k; i++)
        v = v << 8 | h[2 + i];
    return v;
}

static enum cg_err frame_header(uint8_t b0, uint64_t len, struct cg_buf *out)
{
    uint8_t h[10];
    size_t k = 0;
    h[k++] = b0;
    if (len < 126) {
        h[k++] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        h[k++] = 126;
        h[k++] = (uint8_t)(len >> 8);
        h[k++] = (uint8_t)len;
    } else {
        h[k++] = 127;
        for (int i = 7; i >= 0; i--)
            h[k++] = (uint8_t)(len >> (8 * i));
    }
    return cg__buf_append(out, h, k);
}

static enum cg_err finish_held(struct cg_front_wsrw *w, struct cg_buf *out)
{
    struct cg_buf nb;
    cg__buf_init(&nb, 0);
    bool changed = false;
    enum cg_err rc = cg__front_json_rewrite(w->rw, CG_FRONT_JSON_RESPONSE, w->msg.data,
                                            w->msg.len, &nb, &changed);
    const struct cg_buf *use = rc == CG_OK && changed ? &nb : &w->msg;
    if (rc == CG_OK && changed)
        w->rewritten++;
    rc = frame_header(0x81, use->len, out); /* one final text frame */
    if (rc == CG_OK)
        rc = cg__buf_append(out, use->data, use->len);
    cg__buf_free(&nb);
    cg__buf_reset(&w->msg);
    return rc;
}

/* A held fragmented message outgrew the bound: what was held leaves as its
 * first (non-final) text fragment; its later frames pass unchanged. */
static enum cg_err let_go(struct cg_front_wsrw *w, struct cg_buf *out)
{
    CG_GUARD(frame_header(0x01, w->msg.len, out));
    CG_GUARD(cg__buf_append(out, w->msg.data, w->msg.len));
    cg__buf_reset(&w->msg);
    w->in_frag = false;
    w->frag_pass = true;
    return CG_OK;
}

/* Whether this frame's payload is held, given its header. */
static enum cg_err decide(struct cg_front_wsrw *w, struct cg_buf *out)
{
    uint8_t b0 = w->hdr[0], op = b0 & 0x0F;
    bool fin = (b0 & 0x80) != 0, plain = (b0 & 0x70) == 0 && !(w->hdr[1] & 0x80);
    w->hold = false;
    if (w->rw == NULL || (op & 0x08)) /* control frames pass, even between fragments */
        return CG_OK;
    if (op == 1 && plain && w->left <= w->max && !w->in_frag && !w->frag_pass) {
        w->hold = true;
        w->in_frag = !fin;
        return CG_OK;
    }
    if (op == 0 && w->in_frag) {
        if (plain && w->msg.len + w->left <= w->max) {
            w->hold = true;
            return CG_OK;
        }
        CG_GUARD(let_go(w, out));
    }
    if (op == 1 && !fin && !w->in_frag)
        w->frag_pass = true;
    return CG_OK;
}

static enum cg_err header_done(struct cg_front_wsrw *w, struct cg_buf *out)
{
    w->left = payload_len(w->hdr);
    CG_GUARD(decide(w, out));
    if (!w->hold)
        CG_GUARD(cg__buf_append(out, w->hdr, w->hlen));
    return CG_OK;
}

static enum cg_err frame_end(struct cg_front_wsrw *w, struct cg_buf *out)
{
    uint8_t b0 = w->hdr[0];
    bool fin = (b0 & 0x80) != 0, data = (b0 & 0x08) == 0;
    enum cg_err rc = CG_OK;
    if (w->hold && fin) {
        rc = finish_held(w, out);
        w->in_frag = false;
    }
    if (!w->hold && data && fin)
        w->frag_pass = false; /* a passed message ended */
    w->hold = false;
    w->hlen = 0;
    w->need = 2;
    return rc;
}

enum cg_err cg__front_wsrw_feed(struct cg_front_wsrw *w, const uint8_t *p, size_t n,
                                struct cg_buf *out)
{
    while (n > 0) {
        if (w->hlen < w->need) {
            w->hdr[w->hlen++] = *p++;
            n--;
            if (w->hlen == 2)
                w->need = header_need(w->hdr);
            if (w->hlen < w->need)
                continue;
            CG_GUARD(header_done(w, out));
            if (w->left == 0)
                CG_GUARD(frame_end(w, out));
            continue;
        }
        size_t m = w->left < n ? (size_t)w->left : n;
        CG_GUARD(cg__buf_append(w->hold ? &w->msg : out, p, m));
        p += m;
        n -= m;
        w->left -= m;
        if (w->left == 0)
            CG_GUARD(frame_end(w, out));
    }
    return CG_OK;
}
