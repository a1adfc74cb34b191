/* Unit tests for the pair's replication messages on the wire
 * (src/redund/pairwire.c, docs/redundancy.md): the exact layout, round
 * trips of every kind, and every refusal. fuzz/fuzz_pair_msg.c adds
 * arbitrary bytes. */
#include "testutil.h"
#include "redund/redund.h"

#include <string.h>

static size_t enc(const struct cg_pair_msg *m, const char *payload, uint8_t *out, size_t cap)
{
    size_t used = 0;
    size_t plen = payload ? strlen(payload) : 0;
    assert_int_equal(cg__pair_msg_encode(m, (const uint8_t *)payload, plen, out, cap, &used), CG_OK);
    assert_int_equal(used, CG_PAIR_WIRE_HEAD + plen);
    return used;
}

/* The layout, byte for byte: magic, kind, role, node, flags, then three
 * big-endian 64-bit numbers, then the record. */
static void test_layout(void **state)
{
    (void)state;
    struct cg_pair_msg m = {.kind = CG_PAIR_M_RECORD, .role = CG_PAIR_ACTIVE, .node = 1,
                            .epoch = 0x0102030405060708ull, .regime = 5, .seq = 0x1234, .base = true,
                            .ref = 99};
    uint8_t out[64];
    size_t n = enc(&m, "rec", out, sizeof(out));
    static const uint8_t want[] = {'C', 'G', 'P', '1', 1, 1, 1, 1,
                                   1, 2, 3, 4, 5, 6, 7, 8,
                                   0, 0, 0, 0, 0, 0, 0, 5,
                                   0, 0, 0, 0, 0, 0, 0x12, 0x34,
                                   'r', 'e', 'c'};
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
}

static void test_round_trips(void **state)
{
    (void)state;
    const struct { struct cg_pair_msg m; const char *payload; } cases[] = {
        {{.kind = CG_PAIR_M_HB, .role = CG_PAIR_STANDBY, .node = 0, .epoch = 3, .regime = 2, .seq = 7,
          .need = true}, NULL},
        {{.kind = CG_PAIR_M_HB, .role = CG_PAIR_ACTIVE, .node = 1, .epoch = UINT64_MAX,
          .regime = UINT64_MAX, .seq = UINT64_MAX}, NULL},
        {{.kind = CG_PAIR_M_RECORD, .role = CG_PAIR_ACTIVE, .node = 0, .epoch = 4, .regime = 4,
          .seq = 1, .base = true}, "castgate-journal record bytes"},
        {{.kind = CG_PAIR_M_ACK, .role = CG_PAIR_STANDBY, .node = 1, .epoch = 4, .regime = 4, .seq = 1},
         NULL},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        uint8_t out[128];
        size_t n = enc(&cases[i].m, cases[i].payload, out, sizeof(out));
        struct cg_pair_msg back;
        const uint8_t *p = NULL;
        size_t plen = 0;
        assert_int_equal(cg__pair_msg_decode(out, n, 1024, &back, &p, &plen), CG_OK);
        struct cg_pair_msg want = cases[i].m;
        want.ref = 0;
        assert_memory_equal(&back, &want, sizeof(want));
        if (cases[i].payload) {
            assert_int_equal(plen, strlen(cases[i].payload));
            assert_memory_equal(p, cases[i].payload, plen);
        } else {
            assert_null(p);
            assert_int_equal(plen, 0);
        }
    }
}

static enum cg_err dec(const uint8_t *b, size_t n, size_t max)
{
    struct cg_pair_msg m;
    const uint8_t *p;
    size_t plen;
    return cg__pair_msg_decode(b, n, max, &m, &p, &plen);
}

/* Every refusal the decoder makes, and that the encoder makes the same. */
static void test_refusals(void **state)
{
    (void)state;
    struct cg_pair_msg hb = {.kind = CG_PAIR_M_HB, .role = CG_PAIR_ACTIVE, .node = 0, .epoch = 2};
    uint8_t good[64], b[64];
    size_t n = enc(&hb, NULL, good, sizeof(good));
    for (size_t k = 0; k < n; k++) /* cut anywhere in the header */
        assert_int_equal(dec(good, k, 64), CG_EPROTO);
    struct { size_t at; uint8_t v; } bad[] = {{0, 'X'}, {3, '2'}, {4, 3}, {5, 2}, {6, 2}, {7, 4}, {7, 1}};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) { /* magic, kind, role, node, flags, base on HB */
        memcpy(b, good, n);
        b[bad[i].at] = bad[i].v;
        assert_int_equal(dec(b, n, 64), CG_EPROTO);
    }
    memcpy(b, good, n);
    b[n] = 'x'; /* a heartbeat with a payload */
    assert_int_equal(dec(b, n + 1, 64), CG_EPROTO);
    memcpy(b, good, n);
    b[4] = CG_PAIR_M_RECORD; /* a record without one */
    assert_int_equal(dec(b, n, 64), CG_EPROTO);
    b[n] = 'x';
    assert_int_equal(dec(b, n + 1, 64), CG_OK);
    assert_int_equal(dec(b, n + 1, 0), CG_ETOOBIG);
    b[7] = 2; /* need on a record */
    assert_int_equal(dec(b, n + 1, 64), CG_EPROTO);

    size_t used;
    struct cg_pair_msg rec = {.kind = CG_PAIR_M_RECORD, .role = CG_PAIR_ACTIVE};
    assert_int_equal(cg__pair_msg_encode(&rec, NULL, 0, b, sizeof(b), &used), CG_EINVAL);
    assert_int_equal(cg__pair_msg_encode(&rec, (const uint8_t *)"x", 1, b, CG_PAIR_WIRE_HEAD, &used),
                     CG_ETOOBIG);
    struct cg_pair_msg odd = hb;
    odd.node = 2;
    assert_int_equal(cg__pair_msg_encode(&odd, NULL, 0, b, sizeof(b), &used), CG_EINVAL);
    odd = hb, odd.base = true;
    assert_int_equal(cg__pair_msg_encode(&odd, NULL, 0, b, sizeof(b), &used), CG_EINVAL);
}

/* Whatever the pair module sends goes through the wire unchanged. */
static void test_module_messages_encode(void **state)
{
    (void)state;
    struct cg_pair p;
    struct cg_pair_config cfg = {.node = 1, .hb_interval_ms = 100, .takeover_after_ms = 500};
    assert_int_equal(cg__pair_init(&p, &cfg, 6, 6, 3, 0), CG_OK);
    cg__pair_timer(&p, 1000); /* takes over: PERSIST, BECOME_ACTIVE, a heartbeat */
    struct cg_pair_act a;
    int sent = 0;
    while (cg__pair_action(&p, &a)) {
        if (a.kind != CG_PAIR_A_SEND)
            continue;
        uint8_t out[64];
        size_t used;
        assert_int_equal(cg__pair_msg_encode(&a.msg, NULL, 0, out, sizeof(out), &used), CG_OK);
        struct cg_pair_msg back;
        const uint8_t *pl;
        size_t plen;
        assert_int_equal(cg__pair_msg_decode(out, used, 0, &back, &pl, &plen), CG_OK);
        assert_int_equal(back.epoch, 7); /* > 6, odd for node 1 */
        assert_int_equal(back.role, CG_PAIR_ACTIVE);
        sent++;
    }
    assert_int_equal(sent, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_module_messages_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
