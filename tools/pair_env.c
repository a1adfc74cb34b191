/* The gateway pair's decisions without I/O; see pair_env.h. */
#include "pair_env.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t MAGIC[4] = {'C', 'G', 'E', '1'};

static bool side_ok(int s) { return s == CG_RELAY_LEGACY || s == CG_RELAY_MOS4; }
static bool role_ok(int r) { return r == CG_MOS_ROLE_NCS || r == CG_MOS_ROLE_MOS; }
static bool channel_ok(int c)
{
    return c == CG_MOS_CH_MOM || c == CG_MOS_CH_RO || c == CG_MOS_CH_AUX;
}

size_t pairenv_size(const struct pairenv *e)
{
    if (e == NULL || e->our_id == NULL || e->peer_id == NULL || e->rec == NULL || e->len == 0)
        return 0;
    size_t a = strlen(e->our_id), b = strlen(e->peer_id);
    if (a == 0 || b == 0 || a > PAIRENV_ID_MAX || b > PAIRENV_ID_MAX || !side_ok((int)e->side) ||
        !role_ok((int)e->role) || !channel_ok((int)e->channel) ||
        e->len > SIZE_MAX - PAIRENV_HEAD - a - b)
        return 0;
    return PAIRENV_HEAD + a + b + e->len;
}

enum cg_err pairenv_encode(const struct pairenv *e, uint8_t *out, size_t cap, size_t *used)
{
    size_t n = pairenv_size(e);
    if (n == 0 || out == NULL || used == NULL)
        return CG_EINVAL;
    if (cap < n)
        return CG_ETOOBIG;
    size_t a = strlen(e->our_id), b = strlen(e->peer_id);
    memcpy(out, MAGIC, 4);
    out[4] = (uint8_t)e->side;
    out[5] = (uint8_t)e->role;
    out[6] = (uint8_t)e->channel;
    out[7] = 0;
    out[8] = (uint8_t)(a >> 8), out[9] = (uint8_t)a;
    out[10] = (uint8_t)(b >> 8), out[11] = (uint8_t)b;
    memcpy(out + PAIRENV_HEAD, e->our_id, a);
    memcpy(out + PAIRENV_HEAD + a, e->peer_id, b);
    memcpy(out + PAIRENV_HEAD + a + b, e->rec, e->len);
    *used = n;
    return CG_OK;
}

enum cg_err pairenv_decode(const uint8_t *buf, size_t len, struct pairenv *e)
{
    if (buf == NULL || e == NULL || len < PAIRENV_HEAD || memcmp(buf, MAGIC, 4) != 0 ||
        !side_ok(buf[4]) || !role_ok(buf[5]) || !channel_ok(buf[6]) || buf[7] != 0)
        return CG_EPROTO;
    size_t a = (size_t)buf[8] << 8 | buf[9], b = (size_t)buf[10] << 8 | buf[11];
    if (a == 0 || b == 0 || a > PAIRENV_ID_MAX || b > PAIRENV_ID_MAX ||
        len <= PAIRENV_HEAD + a + b)
        return CG_EPROTO;
    *e = (struct pairenv){
        .side = (enum cg_relay_side)buf[4],
        .role = (enum cg_mos_role)buf[5],
        .channel = (enum cg_mos_channel)buf[6],
        .our_id = (const char *)buf + PAIRENV_HEAD,
        .our_len = a,
        .peer_id = (const char *)buf + PAIRENV_HEAD + a,
        .peer_len = b,
        .rec = buf + PAIRENV_HEAD + a + b,
        .len = len - PAIRENV_HEAD - a - b,
    };
    return CG_OK;
}

enum pairrole_do pairrole_event(struct pairrole *r, int kind)
{
    if (r->stopping)
        return PAIRDO_NOTHING;
    switch (kind) {
    case CG_PAIRLINK_EV_BECOME_ACTIVE:
        if (r->serving)
            return PAIRDO_NOTHING;
        r->serving = true;
        return PAIRDO_SERVE;
    case CG_PAIRLINK_EV_STAND_DOWN:
    case CG_PAIRLINK_EV_HALTED:
        r->stopping = true;
        return PAIRDO_STOP;
    default:
        return PAIRDO_NOTHING;
    }
}

static int by_number(const void *a, const void *b)
{
    const struct pairenv_rec *x = a, *y = b;
    return x->number < y->number ? -1 : x->number > y->number;
}

void pairenv_sort(struct pairenv_rec *v, size_t n)
{
    if (v != NULL && n > 1)
        qsort(v, n, sizeof(*v), by_number);
}
