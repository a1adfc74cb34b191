/* The receiving side of RFC 6455, sans-I/O: frames in, whole messages and
 * control frames out. It replaces wslay_event_recv, whose byte-at-a-time
 * unmasking and two allocations and copies per message were the largest
 * user-space cost of an echo (see bench/README.md); wslay still frames what
 * we send. The checks are wslay's: RSV bits 0, masked from a client and
 * unmasked from a server, known opcodes, control frames final and at most 125
 * bytes, minimal length encoding, continuation only inside a fragmented
 * message, the size limit before the payload is read, close codes. */
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

#define KEEP_MAX 16384 /* message buffer kept between messages, larger ones freed */

void cg__ws_rx_init(struct cg_ws_rx *rx, bool server, uint64_t max_msg)
{
    memset(rx, 0, sizeof(*rx));
    rx->server = server;
    rx->max_msg = max_msg;
    cg__buf_init(&rx->msg, 0);
}

void cg__ws_rx_free(struct cg_ws_rx *rx) { cg__buf_free(&rx->msg); }

static void fail(struct cg_ws_rx *rx, const struct cg_ws_rx_handler *h, void *user, uint16_t code,
                 const char *why)
{
    rx->done = true;
    h->fail(user, code, why);
}

/* dst = src XOR the mask, the mask starting at payload offset off; 8 bytes a
 * step (masking and unmasking are the same operation, RFC 6455 5.3). */
void cg__ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4],
                      uint64_t off)
{
    uint8_t m[8];
    for (unsigned i = 0; i < 8; i++)
        m[i] = mask[(off + i) & 3];
    uint64_t m64;
    memcpy(&m64, m, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= m64;
        memcpy(dst + i, &v, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ m[i & 7]; /* m repeats every 4 bytes */
}

static bool valid_close_code(uint16_t c)
{
    return (c >= 1000 && c <= 1011 && c != 1004 && c != 1005 && c != 1006) ||
           (c >= 3000 && c <= 4999);
}

/* The header is complete in rx->hdr (header_size bytes: the cursor's reads
 * cannot run short): check it and start the frame. */
static bool start_frame(struct cg_ws_rx *rx, const struct cg_ws_rx_handler *h, void *user)
{
    struct cg_cur c;
    uint8_t b0 = 0, b1 = 0;
    uint16_t len16 = 0;
    const uint8_t *mask = NULL;
    cg__cur_init(&c, rx->hdr, rx->hdr_len);
    (void)cg__cur_u8(&c, &b0);
    (void)cg__cur_u8(&c, &b1);
    uint8_t op = b0 & 0x0f;
    bool fin = (b0 & 0x80) != 0, masked = (b1 & 0x80) != 0;
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
        (void)cg__cur_u16be(&c, &len16);
        len = len16;
        if (len < 126)
            return fail(rx, h, user, 1002, "length not minimally encoded"), false;
    } else if (len == 127) {
        (void)cg__cur_u64be(&c, &len);
        if (len < 65536 || (len >> 63) != 0)
            return fail(rx, h, user, 1002, "bad 64-bit length"), false;
    }
    if ((b0 & 0x70) != 0)
        return fail(rx, h, user, 1002, "RSV bits set (no extension agreed)"), false;
    if (masked != rx->server)
        return fail(rx, h, user, 1002, rx->server ? "unmasked frame from a client"
                                                   : "masked frame from a server"),
               false;
    if (masked && cg__cur_bytes(&c, 4, &mask) == CG_OK)
        memcpy(rx->mask, mask, 4);
    bool control = (op & 0x08) != 0;
    if (control) {
        if (op != CG_WS_OP_CLOSE && op != CG_WS_OP_PING && op != CG_WS_OP_PONG)
            return fail(rx, h, user, 1002, "reserved opcode"), false;
        if (!fin || len > 125)
            return fail(rx, h, user, 1002, "fragmented or oversized control frame"), false;
    } else if (op == CG_WS_OP_CONT) {
        if (rx->msg_op == 0)
            return fail(rx, h, user, 1002, "continuation without a message"), false;
    } else if (op == CG_WS_OP_TEXT || op == CG_WS_OP_BINARY) {
        if (rx->msg_op != 0)
            return fail(rx, h, user, 1002, "new message inside a fragmented one"), false;
        rx->msg_op = op;
        cg__buf_reset(&rx->msg);
    } else {
        return fail(rx, h, user, 1002, "reserved opcode"), false;
    }
    if (!control && len > rx->max_msg - rx->msg.len)
        return fail(rx, h, user, 1009, "message over the size limit"), false;
    if (!control && rx->msg.data == NULL) /* a large one: into a kept block (core/spare.c) */
        rx->msg.data = cg__spare_take((size_t)len, &rx->msg.cap);
    if (!control && cg__buf_reserve(&rx->msg, (size_t)len) != CG_OK)
        return fail(rx, h, user, 1011, "no memory for the message"), false;
    rx->op = op;
    rx->fin = fin;
    rx->masked = masked;
    rx->remaining = len;
    rx->off = 0;
    rx->ctl_len = 0;
    rx->in_frame = true;
    return true;
}

static void end_frame(struct cg_ws_rx *rx, const struct cg_ws_rx_handler *h, void *user)
{
    rx->in_frame = false;
    rx->hdr_len = 0;
    if (rx->op == CG_WS_OP_PING) {
        h->ping(user, rx->ctl, rx->ctl_len);
    } else if (rx->op == CG_WS_OP_CLOSE) {
        uint16_t code = 0;
        const char *bad = NULL;
        if (rx->ctl_len == 1) {
            bad = "close frame of one byte";
        } else if (rx->ctl_len >= 2) {
            struct cg_cur c;
            cg__cur_init(&c, rx->ctl, rx->ctl_len);
            (void)cg__cur_u16be(&c, &code);
            if (!valid_close_code(code))
                bad = "invalid close code";
            else if (!cg__utf8_valid(rx->ctl + 2, rx->ctl_len - 2)) {
                fail(rx, h, user, 1007, "close reason is not UTF-8");
                return;
            }
        }
        if (bad != NULL) {
            fail(rx, h, user, 1002, bad);
            return;
        }
        rx->done = true;
        h->close(user, code, rx->ctl_len >= 2 ? rx->ctl + 2 : NULL,
                 rx->ctl_len >= 2 ? rx->ctl_len - 2 : 0);
    } else if (rx->op != CG_WS_OP_PONG && rx->fin) {
        bool binary = rx->msg_op == CG_WS_OP_BINARY;
        rx->msg_op = 0;
        h->message(user, binary, rx->msg.data, rx->msg.len);
        if (rx->msg.cap > KEEP_MAX) { /* no big buffer kept by an idle connection: */
            cg__spare_give(rx->msg.data, rx->msg.cap); /* the process keeps a few */
            cg__buf_init(&rx->msg, 0);
        } else
            cg__buf_reset(&rx->msg);
    }
}

static size_t header_size(const uint8_t *hdr)
{
    size_t n = 2;
    uint8_t l = hdr[1] & 0x7f;
    n += l == 126 ? 2 : l == 127 ? 8 : 0;
    return n + ((hdr[1] & 0x80) ? 4 : 0);
}

void cg__ws_rx_feed(struct cg_ws_rx *rx, const uint8_t *data, size_t len,
                    const struct cg_ws_rx_handler *h, void *user)
{
    while (len > 0 && !rx->done) {
        if (!rx->in_frame) {
            size_t need = rx->hdr_len < 2 ? 2 : header_size(rx->hdr);
            size_t n = need - rx->hdr_len < len ? need - rx->hdr_len : len;
            memcpy(rx->hdr + rx->hdr_len, data, n);
            rx->hdr_len += (uint8_t)n;
            data += n;
            len -= n;
            if (rx->hdr_len == 2)
                need = header_size(rx->hdr);
            if (rx->hdr_len < need || !start_frame(rx, h, user))
                continue;
            if (rx->remaining == 0)
                end_frame(rx, h, user);
            continue;
        }
        size_t n = rx->remaining < len ? (size_t)rx->remaining : len;
        uint8_t *dst = (rx->op & 0x08) ? rx->ctl + rx->ctl_len : rx->msg.data + rx->msg.len;
        if (rx->masked)
            cg__ws_mask_copy(dst, data, n, rx->mask, rx->off);
        else
            memcpy(dst, data, n);
        if (rx->op & 0x08)
            rx->ctl_len += n;
        else
            rx->msg.len += n;
        data += n;
        len -= n;
        rx->off += n;
        rx->remaining -= n;
        if (rx->remaining == 0)
            end_frame(rx, h, user);
    }
}
