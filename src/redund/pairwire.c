/* The pair's replication messages on the wire (redund.h,
 * docs/redundancy.md "Replication over the BCP-003-01 wss engine"):
 * sans-I/O, through the byte cursor, no allocation. */
#include "redund/redund.h"

#include <string.h>

static const uint8_t MAGIC[4] = {'C', 'G', 'P', '1'};
enum { F_BASE = 1, F_NEED = 2 };

/* The rules both directions share: what a well-formed message is. */
static bool well_formed(const struct cg_pair_msg *m, size_t plen)
{
    if ((m->role != CG_PAIR_STANDBY && m->role != CG_PAIR_ACTIVE) || (m->node != 0 && m->node != 1))
        return false;
    switch (m->kind) {
    case CG_PAIR_M_HB: return plen == 0 && !m->base;
    case CG_PAIR_M_RECORD: return plen > 0 && !m->need;
    case CG_PAIR_M_ACK: return plen == 0 && !m->base && !m->need;
    }
    return false;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

enum cg_err cg__pair_msg_encode(const struct cg_pair_msg *m, const uint8_t *payload, size_t plen,
                                uint8_t *out, size_t cap, size_t *used)
{
    CG_CHECK(m != NULL && out != NULL && used != NULL && (plen == 0 || payload != NULL), CG_EINVAL);
    CG_CHECK(well_formed(m, plen), CG_EINVAL);
    CG_CHECK(plen <= SIZE_MAX - CG_PAIR_WIRE_HEAD && cap >= CG_PAIR_WIRE_HEAD + plen, CG_ETOOBIG);
    memcpy(out, MAGIC, 4);
    out[4] = (uint8_t)m->kind;
    out[5] = (uint8_t)m->role;
    out[6] = (uint8_t)m->node;
    out[7] = (uint8_t)((m->base ? F_BASE : 0) | (m->need ? F_NEED : 0));
    put64(out + 8, m->epoch);
    put64(out + 16, m->regime);
    put64(out + 24, m->seq);
    if (plen > 0)
        memcpy(out + CG_PAIR_WIRE_HEAD, payload, plen);
    *used = CG_PAIR_WIRE_HEAD + plen;
    return CG_OK;
}

enum cg_err cg__pair_msg_decode(const uint8_t *buf, size_t len, size_t max_payload,
                                struct cg_pair_msg *m, const uint8_t **payload, size_t *plen)
{
    CG_CHECK(buf != NULL && m != NULL && payload != NULL && plen != NULL, CG_EINVAL);
    struct cg_cur c;
    cg__cur_init(&c, buf, len);
    const uint8_t *magic = NULL;
    uint8_t kind = 0, role = 0, node = 0, flags = 0;
    uint64_t epoch = 0, regime = 0, seq = 0;
    if (cg__cur_bytes(&c, 4, &magic) != CG_OK || memcmp(magic, MAGIC, 4) != 0 ||
        cg__cur_u8(&c, &kind) != CG_OK || cg__cur_u8(&c, &role) != CG_OK ||
        cg__cur_u8(&c, &node) != CG_OK || cg__cur_u8(&c, &flags) != CG_OK ||
        cg__cur_u64be(&c, &epoch) != CG_OK || cg__cur_u64be(&c, &regime) != CG_OK ||
        cg__cur_u64be(&c, &seq) != CG_OK)
        return CG_EPROTO;
    CG_CHECK(kind <= CG_PAIR_M_ACK && (flags & ~(F_BASE | F_NEED)) == 0, CG_EPROTO);
    size_t n = cg__cur_left(&c);
    CG_CHECK(n <= max_payload, CG_ETOOBIG);
    struct cg_pair_msg out = {.kind = (enum cg_pair_msg_kind)kind, .role = (enum cg_pair_role)role,
                              .node = node, .epoch = epoch, .regime = regime, .seq = seq,
                              .base = (flags & F_BASE) != 0, .need = (flags & F_NEED) != 0};
    CG_CHECK(well_formed(&out, n), CG_EPROTO);
    *m = out;
    *payload = n > 0 ? buf + CG_PAIR_WIRE_HEAD : NULL;
    *plen = n;
    return CG_OK;
}
