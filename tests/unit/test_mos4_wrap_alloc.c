/* Issue 13 (relay costs): cg__mos4_wrap_enc (wire.c), our envelope around a
 * forwarded element and around an answer passed on (cg_mos_forward_message,
 * cg_mos_reply_message: once per message each way through a gateway), makes
 * one allocation: the message it returns. Its head (mosID, ncsID,
 * messageID) is put together on the stack. Counted here through --wrap of
 * the allocator; the bytes are checked against cg__mos4_wrap (the UTF-8
 * envelope) converted whole, for every pair of encodings, with IDs that
 * need escaping, and with a head too long for the stack (taken on the heap,
 * same bytes). */
// CG_WRAP: malloc calloc realloc
// CG_LINK: allocrig.c
#include "testutil.h"
#include "allocrig.h"
#include "mos4/mos4.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cg_mos_endpoint ep;
static struct mos4_peer peer;

static const struct mos4_lane *lane(const char *our_id, const char *peer_id)
{
    memset(&ep, 0, sizeof(ep));
    memset(&peer, 0, sizeof(peer));
    ep.cfg.role = CG_MOS_ROLE_NCS;
    snprintf(ep.cfg.id, sizeof(ep.cfg.id), "%s", our_id);
    peer.ep = &ep;
    snprintf(peer.id, sizeof(peer.id), "%s", peer_id);
    struct mos4_lane *l = &peer.lanes[1][CG_MOS_OUT];
    l->peer = &peer;
    l->ch = 1;
    l->dir = CG_MOS_OUT;
    return l;
}

/* What cg__mos4_wrap_enc must make: the UTF-8 envelope around the UTF-8
 * element, converted whole to `to`. */
static void reference(const struct mos4_lane *l, enum cg_mos_encoding to, const char *elem8,
                      const char *msgid, struct cg_buf *out)
{
    struct cg_buf u;
    cg__buf_init(&u, 0);
    assert_int_equal(cg__mos4_wrap(l, elem8, strlen(elem8), msgid, &u), CG_OK);
    if (to == CG_MOS_UTF8) {
        *out = u;
        return;
    }
    uint8_t *c = NULL;
    size_t n = 0;
    assert_int_equal(cg_mos_convert(CG_MOS_UTF8, u.data, u.len, &c, &n, NULL), CG_OK);
    cg__buf_init(out, 0);
    assert_int_equal(cg__buf_append(out, c, n), CG_OK);
    cg_mos_free(c);
    cg__buf_free(&u);
}

/* Wraps elem8 (given in `from`) for `to`: the bytes must be the
 * reference's; returns the allocations the call made. */
static unsigned check(const struct mos4_lane *l, enum cg_mos_encoding to,
                      enum cg_mos_encoding from, const char *elem8, const char *msgid)
{
    uint8_t *conv = NULL;
    size_t clen = strlen(elem8);
    const void *elem = elem8;
    if (from == CG_MOS_UCS2BE) {
        assert_int_equal(cg_mos_convert(CG_MOS_UTF8, elem8, strlen(elem8), &conv, &clen, NULL),
                         CG_OK);
        elem = conv;
    }
    struct cg_buf want, got;
    reference(l, to, elem8, msgid, &want);
    cg__buf_init(&got, 0);
    ac_begin();
    enum cg_err rc = cg__mos4_wrap_enc(l, to, from, elem, clen, msgid, &got);
    unsigned made = ac_end();
    assert_int_equal(rc, CG_OK);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    cg__buf_free(&got);
    cg__buf_free(&want);
    cg_mos_free(conv);
    return made;
}

static const char elem8[] = "<roCreate><roID>R1</roID><roSlug>caf\xC3\xA9 \xF0\x9F\x98\x80"
                            "</roSlug></roCreate>";

static void test_one_allocation_every_encoding_pair(void **state)
{
    (void)state;
    const struct mos4_lane *l = lane("NCS<1>&\"x\"", "DEV'2'");
    static const enum cg_mos_encoding encs[] = {CG_MOS_UTF8, CG_MOS_UCS2BE};
    for (int t = 0; t < 2; t++)
        for (int f = 0; f < 2; f++) {
            unsigned a = check(l, encs[t], encs[f], elem8, "42");
            unsigned b = check(l, encs[t], encs[f], elem8, NULL);
            print_message("to %s from %s: %u allocation(s) per message\n",
                          t ? "UCS-2BE" : "UTF-8", f ? "UCS-2BE" : "UTF-8", a);
            assert_int_equal(a, 1); /* the message itself; its head on the stack */
            assert_int_equal(b, 1);
        }
}

/* The longest head valid IDs make: 128 characters each, all escaped
 * (6 bytes each: &quot;), and a 63-character messageID of '&'. */
static void test_longest_valid_head_on_the_stack(void **state)
{
    (void)state;
    char id[129], msgid[64];
    memset(id, '"', 128);
    id[128] = '\0';
    memset(msgid, '&', 63);
    msgid[63] = '\0';
    const struct mos4_lane *l = lane(id, id);
    assert_int_equal(check(l, CG_MOS_UCS2BE, CG_MOS_UCS2BE, elem8, msgid), 1);
    assert_int_equal(check(l, CG_MOS_UTF8, CG_MOS_UCS2BE, elem8, msgid), 1);
}

/* A head past the stack's room (a messageID no peer sends): on the heap,
 * the same bytes. */
static void test_oversized_head_same_bytes(void **state)
{
    (void)state;
    static char msgid[3001];
    memset(msgid, '&', 3000);
    const struct mos4_lane *l = lane("NCS", "DEV");
    for (int t = 0; t < 2; t++) {
        enum cg_mos_encoding to = t ? CG_MOS_UCS2BE : CG_MOS_UTF8;
        assert_true(check(l, to, CG_MOS_UCS2BE, elem8, msgid) >= 1);
        assert_true(check(l, to, CG_MOS_UTF8, elem8, msgid) >= 1);
    }
}

/* The caller's cap still holds: a message past it is CG_ETOOBIG. */
static void test_cap_still_checked(void **state)
{
    (void)state;
    const struct mos4_lane *l = lane("NCS", "DEV");
    struct cg_buf out;
    cg__buf_init(&out, 64);
    assert_int_equal(cg__mos4_wrap_enc(l, CG_MOS_UTF8, CG_MOS_UTF8, elem8, strlen(elem8), "1",
                                       &out),
                     CG_ETOOBIG);
    cg__buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_allocation_every_encoding_pair),
        cmocka_unit_test(test_longest_valid_head_on_the_stack),
        cmocka_unit_test(test_oversized_head_same_bytes),
        cmocka_unit_test(test_cap_still_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
