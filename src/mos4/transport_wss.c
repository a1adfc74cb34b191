/* The wss lane's transport (struct mos4_transport_ops, issue 13 item 2): a
 * struct cg_ws. Dialing (lane.c's dial) and accepting (endpoint.c) stay
 * specific; writing and closing go through this table. */
#include "mos4/mos4.h"

/* Whatever the bytes' encoding (cg__mos4_enc_of), they leave as the peer
 * takes them (M-04: UCS-2BE in a binary message, or UTF-8 in a text one),
 * converted only when they differ. */
static enum cg_err wss_write(void *t, enum cg_mos_encoding to, const char *data, size_t len)
{
    struct cg_ws *ws = t;
    if (cg__mos4_enc_of(data, len) == to)
        return cg_ws_send(ws, to == CG_MOS_UCS2BE, data, len);
    uint8_t *wire = NULL;
    size_t n = 0;
    enum cg_err rc = cg_mos_convert(to == CG_MOS_UCS2BE ? CG_MOS_UTF8 : CG_MOS_UCS2BE, data, len,
                                    &wire, &n, NULL);
    if (rc == CG_OK)
        rc = cg_ws_send(ws, to == CG_MOS_UCS2BE, wire, n);
    cg_mos_free(wire);
    return rc;
}

static void wss_close(void *t, uint16_t code, const char *why)
{
    struct cg_ws *ws = t;
    cg_ws_set_user(ws, NULL); /* its close reaches no lane */
    cg_ws_close(ws, code, why);
}

static const char *wss_peer_addr(const void *t) { return cg_ws_peer(t); }

const struct mos4_transport_ops cg__mos4_wss_transport = {
    .name = "wss",
    .reset_when_silent = true,
    .write = wss_write,
    .pause = NULL,
    .close = wss_close,
    .peer_addr = wss_peer_addr,
};
