/* castgate run's gateway pair, its decisions without I/O (tools/pair_env.c;
 * issue 18, docs/redundancy.md "The gateway pair"): the envelope that says
 * whose journal a replicated record belongs to (layout byte for byte, round
 * trip, every refusal), the role (a standby serves once, on the first
 * BECOME_ACTIVE; STAND_DOWN and HALTED stop it once), and a resync's
 * records in number order. */
// CG_LINK: ../../tools/pair_env.c
#include "testutil.h"
#include "../../tools/pair_env.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t REC[] = "R 1 3 4 utf8 7 2 ab 1234\nNCSdata";

static struct pairenv sample(void)
{
    return (struct pairenv){.side = CG_RELAY_LEGACY, .role = CG_MOS_ROLE_MOS,
                            .channel = CG_MOS_CH_RO, .our_id = "DEV", .peer_id = "NCS",
                            .rec = REC, .len = sizeof(REC) - 1};
}

static void test_layout(void **state)
{
    (void)state;
    struct pairenv e = sample();
    uint8_t out[128];
    size_t used = 0;
    assert_int_equal(pairenv_size(&e), 12 + 3 + 3 + sizeof(REC) - 1);
    assert_int_equal(pairenv_encode(&e, out, sizeof(out), &used), CG_OK);
    assert_int_equal(used, 12 + 6 + sizeof(REC) - 1);
    static const uint8_t head[] = {'C', 'G', 'E', '1', CG_RELAY_LEGACY, CG_MOS_ROLE_MOS,
                                   CG_MOS_CH_RO, 0, 0, 3, 0, 3, 'D', 'E', 'V', 'N', 'C', 'S'};
    assert_memory_equal(out, head, sizeof(head));
    assert_memory_equal(out + sizeof(head), REC, sizeof(REC) - 1);
    assert_int_equal(pairenv_encode(&e, out, used - 1, &used), CG_ETOOBIG);
}

static void test_round_trip(void **state)
{
    (void)state;
    char id[PAIRENV_ID_MAX + 1];
    memset(id, 'x', PAIRENV_ID_MAX);
    id[PAIRENV_ID_MAX] = '\0';
    struct pairenv e = sample();
    e.side = CG_RELAY_MOS4, e.role = CG_MOS_ROLE_NCS, e.channel = CG_MOS_CH_AUX, e.our_id = id;
    size_t n = pairenv_size(&e), used = 0;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    assert_int_equal(pairenv_encode(&e, buf, n, &used), CG_OK);
    struct pairenv d;
    assert_int_equal(pairenv_decode(buf, used, &d), CG_OK);
    assert_int_equal(d.side, CG_RELAY_MOS4);
    assert_int_equal(d.role, CG_MOS_ROLE_NCS);
    assert_int_equal(d.channel, CG_MOS_CH_AUX);
    assert_int_equal(d.our_len, PAIRENV_ID_MAX);
    assert_memory_equal(d.our_id, id, PAIRENV_ID_MAX);
    assert_int_equal(d.peer_len, 3);
    assert_memory_equal(d.peer_id, "NCS", 3);
    assert_int_equal(d.len, sizeof(REC) - 1);
    assert_memory_equal(d.rec, REC, d.len);
    free(buf);
}

static void test_refusals(void **state)
{
    (void)state;
    char big[PAIRENV_ID_MAX + 2];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct pairenv e = sample(), bad;
    bad = e, bad.our_id = "";
    assert_int_equal(pairenv_size(&bad), 0);
    bad = e, bad.peer_id = big;
    assert_int_equal(pairenv_size(&bad), 0);
    bad = e, bad.len = 0;
    assert_int_equal(pairenv_size(&bad), 0);
    bad = e, bad.channel = (enum cg_mos_channel)3;
    assert_int_equal(pairenv_size(&bad), 0);
    bad = e, bad.side = (enum cg_relay_side)2;
    assert_int_equal(pairenv_size(&bad), 0);
    size_t used = 0;
    uint8_t out[128], tmp[128];
    assert_int_equal(pairenv_encode(&bad, out, sizeof(out), &used), CG_EINVAL);
    assert_int_equal(pairenv_encode(&e, out, sizeof(out), &used), CG_OK);
    struct pairenv d;
    for (size_t cut = 0; cut <= 18; cut++) /* no record, or the IDs cut */
        assert_int_equal(pairenv_decode(out, cut, &d), CG_EPROTO);
    size_t at[] = {0, 4, 5, 6, 7, 8, 10};
    uint8_t to[] = {'X', 2, 7, 3, 1, 0x40, 0x40};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        memcpy(tmp, out, used);
        tmp[at[i]] = to[i];
        assert_int_equal(pairenv_decode(tmp, used, &d), CG_EPROTO);
    }
    memcpy(tmp, out, used);
    tmp[9] = 0xff; /* our ID's length past the end */
    assert_int_equal(pairenv_decode(tmp, used, &d), CG_EPROTO);
    assert_int_equal(pairenv_decode(out, used, &d), CG_OK);
}

static void test_role(void **state)
{
    (void)state;
    struct pairrole r = {0};
    assert_int_equal(pairrole_event(&r, CG_PAIRLINK_EV_STORE), PAIRDO_NOTHING);
    assert_int_equal(pairrole_event(&r, CG_PAIRLINK_EV_CONNECTED), PAIRDO_NOTHING);
    assert_false(r.serving); /* a standby holds its links */
    assert_int_equal(pairrole_event(&r, CG_PAIRLINK_EV_BECOME_ACTIVE), PAIRDO_SERVE);
    assert_true(r.serving);
    assert_int_equal(pairrole_event(&r, CG_PAIRLINK_EV_BECOME_ACTIVE), PAIRDO_NOTHING);
    assert_int_equal(pairrole_event(&r, CG_PAIRLINK_EV_STAND_DOWN), PAIRDO_STOP);
    assert_int_equal(pairrole_event(&r, CG_PAIRLINK_EV_HALTED), PAIRDO_NOTHING);
    assert_int_equal(pairrole_event(&r, CG_PAIRLINK_EV_BECOME_ACTIVE), PAIRDO_NOTHING);
    struct pairrole s = {0};
    assert_int_equal(pairrole_event(&s, CG_PAIRLINK_EV_HALTED), PAIRDO_STOP);
    assert_int_equal(pairrole_event(&s, CG_PAIRLINK_EV_BECOME_ACTIVE), PAIRDO_NOTHING);
    assert_false(s.serving); /* a halted standby never serves */
}

static void test_sort(void **state)
{
    (void)state;
    struct pairenv_rec v[] = {{.number = 9}, {.number = 2}, {.number = 7}, {.number = 3}};
    pairenv_sort(v, 4);
    assert_int_equal(v[0].number, 2);
    assert_int_equal(v[1].number, 3);
    assert_int_equal(v[2].number, 7);
    assert_int_equal(v[3].number, 9);
    pairenv_sort(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_role),
        cmocka_unit_test(test_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
