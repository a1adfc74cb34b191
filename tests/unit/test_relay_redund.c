/* Unit tests for the relay's redundancy (issue 18 phase 2, docs/redundancy.md):
 * the buddy's decline recognised in an answer (roAck roStatus, mosAck
 * statusDescription; relayed unchanged, only counted), which leg a request
 * goes to (carry and failover), the link configuration's buddy keys and the
 * API that adds a buddy leg (endpoints shared or made, as for a link). The
 * failover decisions themselves are tests/unit/test_failover.c; the legs
 * across sockets are tests/interop/test_gateway_hotstandby.sh. */
#include "testutil.h"
#include "relay/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECLINE "Buddy server cannot respond because main server is available"

/* Parses msg (UTF-8) and classifies it, in UTF-8 and as UCS-2BE (ASCII
 * only: a zero byte before each). Both encodings must agree. */
static enum relay_answer classify(const char *msg)
{
    size_t n = strlen(msg);
    struct cg_mos_envelope env;
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UTF8, msg, n, &env, NULL), CG_OK);
    enum relay_answer a = cg__relay_classify_answer(env.name, msg, n, CG_MOS_UTF8, env.element);
    char *wide = malloc(2 * n);
    assert_non_null(wide);
    for (size_t i = 0; i < n; i++)
        wide[2 * i] = 0, wide[2 * i + 1] = msg[i];
    struct cg_mos_envelope wenv;
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UCS2BE, wide, 2 * n, &wenv, NULL), CG_OK);
    assert_string_equal(wenv.name, env.name);
    assert_int_equal(cg__relay_classify_answer(wenv.name, wide, 2 * n, CG_MOS_UCS2BE, wenv.element), a);
    free(wide);
    return a;
}

#define ENV "<mos><mosID>GFX.A</mosID><ncsID>NCS.BUDDY</ncsID><messageID>42</messageID>"

/* The field behaviour (issue 18): roAck, empty roID, the sentence in roStatus. */
static void test_decline_roack(void **state)
{
    (void)state;
    assert_int_equal(classify(ENV "<roAck><roID></roID><roStatus>" DECLINE "</roStatus></roAck></mos>"),
                     RELAY_ANS_BUDDY_DECLINES);
    assert_int_equal(classify(ENV "<roAck><roID/><roStatus>" DECLINE "</roStatus></roAck></mos>"),
                     RELAY_ANS_BUDDY_DECLINES);
    /* white space around it and ASCII case do not matter; a roID does not either */
    assert_int_equal(classify(ENV "<roAck>\n <roID>RO1</roID>\n <roStatus>\n  buddy server cannot "
                              "RESPOND because main server is available \n </roStatus>\n</roAck></mos>"),
                     RELAY_ANS_BUDDY_DECLINES);
    /* any other status is another answer */
    assert_int_equal(classify(ENV "<roAck><roID>RO1</roID><roStatus>OK</roStatus></roAck></mos>"),
                     RELAY_ANS_OTHER);
    assert_int_equal(classify(ENV "<roAck><roID>RO1</roID><roStatus>NACK</roStatus></roAck></mos>"),
                     RELAY_ANS_OTHER);
    assert_int_equal(classify(ENV "<roAck><roID></roID><roStatus>" DECLINE ".</roStatus></roAck></mos>"),
                     RELAY_ANS_OTHER);
    assert_int_equal(classify(ENV "<roAck><roID></roID><roStatus>Buddy server cannot respond</roStatus>"
                              "</roAck></mos>"),
                     RELAY_ANS_OTHER);
    assert_int_equal(classify(ENV "<roAck><roID></roID><roStatus></roStatus></roAck></mos>"), RELAY_ANS_OTHER);
    /* the sentence elsewhere in the roAck is not the status */
    assert_int_equal(classify(ENV "<roAck><roID>" DECLINE "</roID><roStatus>OK</roStatus></roAck></mos>"),
                     RELAY_ANS_OTHER);
}

/* mos-connection also knows it as a mosAck NACK's statusDescription. */
static void test_decline_mosack(void **state)
{
    (void)state;
    assert_int_equal(classify(ENV "<mosAck><objID>0</objID><objRev>0</objRev><status>NACK</status>"
                              "<statusDescription>" DECLINE "</statusDescription></mosAck></mos>"),
                     RELAY_ANS_BUDDY_DECLINES);
    assert_int_equal(classify(ENV "<mosAck><objID>0</objID><objRev>0</objRev><status>NACK</status>"
                              "<statusDescription>MosDevice not found</statusDescription></mosAck></mos>"),
                     RELAY_ANS_OTHER);
    /* the mosAck's field is statusDescription, the roAck's roStatus: not crossed */
    assert_int_equal(classify(ENV "<mosAck><status>NACK</status><roStatus>" DECLINE "</roStatus>"
                              "</mosAck></mos>"),
                     RELAY_ANS_OTHER);
    assert_int_equal(classify(ENV "<roAck><roID/><statusDescription>" DECLINE "</statusDescription>"
                              "</roAck></mos>"),
                     RELAY_ANS_OTHER);
    /* only acknowledgements decline: the sentence in any other answer is content */
    assert_int_equal(classify(ENV "<roList><roID>R</roID><roSlug><roStatus>" DECLINE "</roStatus>"
                              "</roSlug></roList></mos>"),
                     RELAY_ANS_OTHER);
}

/* Only the element's span is read; a bad span or NULL is no decline. */
static void test_decline_bounds(void **state)
{
    (void)state;
    static const char m[] = "<roAck><roStatus>" DECLINE "</roStatus></roAck>";
    size_t n = sizeof(m) - 1;
    assert_int_equal(cg__relay_classify_answer("roAck", m, n, CG_MOS_UTF8, (struct cg_mos_span){0, n}),
                     RELAY_ANS_BUDDY_DECLINES);
    /* the span ends inside the status: its text is cut, so not the sentence */
    assert_int_equal(cg__relay_classify_answer("roAck", m, n, CG_MOS_UTF8, (struct cg_mos_span){0, 40}),
                     RELAY_ANS_OTHER);
    assert_int_equal(cg__relay_classify_answer("roAck", m, n, CG_MOS_UTF8, (struct cg_mos_span){1, n}),
                     RELAY_ANS_OTHER);
    assert_int_equal(cg__relay_classify_answer("roAck", m, n, CG_MOS_UTF8,
                                               (struct cg_mos_span){n + 1, 0}),
                     RELAY_ANS_OTHER);
    assert_int_equal(cg__relay_classify_answer(NULL, m, n, CG_MOS_UTF8, (struct cg_mos_span){0, n}),
                     RELAY_ANS_OTHER);
    assert_int_equal(cg__relay_classify_answer("roAck", NULL, n, CG_MOS_UTF8, (struct cg_mos_span){0, n}),
                     RELAY_ANS_OTHER);
    /* UCS-2BE: a character whose high byte is not 0 is not the ASCII one */
    size_t wn = 2 * n;
    unsigned char *w = malloc(wn);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++)
        w[2 * i] = 0, w[2 * i + 1] = (unsigned char)m[i];
    assert_int_equal(cg__relay_classify_answer("roAck", (const char *)w, wn, CG_MOS_UCS2BE,
                                               (struct cg_mos_span){0, wn}),
                     RELAY_ANS_BUDDY_DECLINES);
    w[2 * 20] = 0x01; /* a letter of the sentence becomes U+01xx */
    assert_int_equal(cg__relay_classify_answer("roAck", (const char *)w, wn, CG_MOS_UCS2BE,
                                               (struct cg_mos_span){0, wn}),
                     RELAY_ANS_OTHER);
    free(w);
}

/* Which leg of the other side a request goes to. */
static void test_route(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        enum cg_relay_side from = (enum cg_relay_side)s;
        /* one leg: always it, whatever the mode */
        assert_int_equal(cg__relay_route(CG_RELAY_CARRY, 1, CG_RELAY_MOS4, from, 0), 0);
        assert_int_equal(cg__relay_route(CG_RELAY_FAILOVER, 1, CG_RELAY_MOS4, from, 0), 0);
        /* carry: each leg end to end, never crossed */
        for (int b = 0; b < 2; b++) {
            assert_int_equal(cg__relay_route(CG_RELAY_CARRY, 2, (enum cg_relay_side)b, from, 0), 0);
            assert_int_equal(cg__relay_route(CG_RELAY_CARRY, 2, (enum cg_relay_side)b, from, 1), 1);
        }
    }
    /* failover, the buddy on the MOS 4.0 side: what the gear originates is
     * routed by the failover module; what either far server originates
     * goes to the gear's one peer */
    assert_int_equal(cg__relay_route(CG_RELAY_FAILOVER, 2, CG_RELAY_MOS4, CG_RELAY_LEGACY, 0), -1);
    assert_int_equal(cg__relay_route(CG_RELAY_FAILOVER, 2, CG_RELAY_MOS4, CG_RELAY_MOS4, 0), 0);
    assert_int_equal(cg__relay_route(CG_RELAY_FAILOVER, 2, CG_RELAY_MOS4, CG_RELAY_MOS4, 1), 0);
    /* and the other way round */
    assert_int_equal(cg__relay_route(CG_RELAY_FAILOVER, 2, CG_RELAY_LEGACY, CG_RELAY_MOS4, 0), -1);
    assert_int_equal(cg__relay_route(CG_RELAY_FAILOVER, 2, CG_RELAY_LEGACY, CG_RELAY_LEGACY, 1), 0);
}

static void test_names(void **state)
{
    (void)state;
    enum cg_relay_redundancy m = CG_RELAY_CARRY;
    assert_int_equal(cg_relay_redundancy_parse("failover", &m), CG_OK);
    assert_int_equal(m, CG_RELAY_FAILOVER);
    assert_int_equal(cg_relay_redundancy_parse("carry", &m), CG_OK);
    assert_int_equal(m, CG_RELAY_CARRY);
    assert_int_equal(cg_relay_redundancy_parse("Failover", &m), CG_EINVAL);
    assert_int_equal(cg_relay_redundancy_parse(NULL, &m), CG_EINVAL);
    assert_int_equal(cg_relay_redundancy_parse("carry", NULL), CG_EINVAL);
    assert_int_equal(m, CG_RELAY_CARRY);
    assert_string_equal(cg_relay_leg_name(CG_RELAY_PRIMARY), "primary");
    assert_string_equal(cg_relay_leg_name(CG_RELAY_BUDDY), "buddy");
    assert_string_equal(cg_relay_leg_name((enum cg_relay_leg)5), "?");
}

static void test_config(void **state)
{
    (void)state;
    struct cg_relay_link_config *lc = NULL;
    assert_int_equal(cg_relay_link_config_new("a", &lc), CG_OK);
    assert_int_equal(lc->redundancy, CG_RELAY_CARRY); /* the default */
    assert_int_equal(lc->failover_after_ms, 3000);
    assert_int_equal(lc->failback_after_ms, 30000);
    assert_string_equal(lc->buddy_id[0], "");
    assert_string_equal(lc->buddy_id[1], "");
    assert_int_equal(cg_relay_link_config_set_buddy(lc, (enum cg_relay_side)2, "B"), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_LEGACY, ""), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_LEGACY, "a\tb"), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_LEGACY, NULL), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_buddy(NULL, CG_RELAY_LEGACY, "B"), CG_EINVAL);
    assert_string_equal(lc->buddy_id[0], "");
    assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_LEGACY, "NCS.BUDDY"), CG_OK);
    assert_string_equal(lc->buddy_id[CG_RELAY_LEGACY], "NCS.BUDDY");
    assert_int_equal(cg_relay_link_config_set_buddy_path(lc, "buddy"), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_buddy_path(lc, ""), CG_EINVAL);
    assert_string_equal(lc->buddy_path, "");
    assert_int_equal(cg_relay_link_config_set_buddy_path(lc, "/mos/buddy"), CG_OK);
    assert_string_equal(lc->buddy_path, "/mos/buddy");
    assert_int_equal(cg_relay_link_config_set_redundancy(lc, (enum cg_relay_redundancy)2, 1, 1), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_redundancy(lc, CG_RELAY_FAILOVER, 0, 1), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_redundancy(lc, CG_RELAY_FAILOVER, 1, 0), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_redundancy(lc, CG_RELAY_FAILOVER, 86400001, 1), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_redundancy(lc, CG_RELAY_FAILOVER, 1, 86400001), CG_EINVAL);
    assert_int_equal(lc->redundancy, CG_RELAY_CARRY);
    assert_int_equal(cg_relay_link_config_set_redundancy(lc, CG_RELAY_FAILOVER, 500, CG_RELAY_NEVER), CG_OK);
    assert_int_equal(lc->redundancy, CG_RELAY_FAILOVER);
    assert_int_equal(lc->failover_after_ms, 500);
    assert_true(lc->failback_after_ms == CG_RELAY_NEVER);
    cg_relay_link_config_free(lc);
}

/* ---- buddy legs on a relay never started (no sockets) ---- */

struct seen {
    int calls[2];
    char id[2][8][64];
};

static enum cg_err configure(void *user, enum cg_relay_side side, enum cg_mos_role role, const char *id,
                             struct cg_mos_endpoint_config *cfg)
{
    struct seen *s = user;
    (void)role;
    assert_non_null(cfg);
    if (s->calls[side] < 8)
        snprintf(s->id[side][s->calls[side]], sizeof(s->id[0][0]), "%s", id);
    s->calls[side]++;
    return CG_OK;
}

static struct cg_mos_peer_config *peer(const char *id)
{
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new(id, &pc), CG_OK);
    return pc;
}

static struct cg_relay_link_config *conf(const char *name, enum cg_relay_redundancy mode,
                                         const char *legacy_buddy, const char *mos4_buddy)
{
    struct cg_relay_link_config *lc = NULL;
    assert_int_equal(cg_relay_link_config_new(name, &lc), CG_OK);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_NCS, "NCS.MAIN", "GFX.A"), CG_OK);
    if (legacy_buddy != NULL)
        assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_LEGACY, legacy_buddy), CG_OK);
    if (mos4_buddy != NULL)
        assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_MOS4, mos4_buddy), CG_OK);
    assert_int_equal(cg_relay_link_config_set_redundancy(lc, mode, 1000, 5000), CG_OK);
    return lc;
}

/* Carry, topology (a) of docs/redundancy.md: the NCS's main and buddy, one
 * device. The buddy leg shares our legacy endpoint (we are GFX.A to both
 * NCS servers) and has a MOS 4.0 endpoint of its own (towards the device we
 * are NCS.BUDDY). */
static void test_carry_legacy_buddy(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct cg_relay *r = NULL;
    struct seen s = {0};
    struct cg_relay_handlers h = {.configure_endpoint = configure};
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg_relay_new(ctx, NULL, &h, &s, &r), CG_OK);
    struct cg_relay_link_config *lc = conf("a", CG_RELAY_CARRY, "NCS.BUDDY", NULL);
    struct cg_mos_peer_config *main_ncs = peer("NCS.MAIN"), *dev = peer("GFX.A"), *buddy = peer("NCS.BUDDY");
    assert_int_equal(cg_relay_link_add_buddy(r, "a", buddy, dev), CG_ENOTFOUND);
    assert_int_equal(cg_relay_add_link(r, lc, main_ncs, dev), CG_OK);
    assert_int_equal(s.calls[CG_RELAY_LEGACY] + s.calls[CG_RELAY_MOS4], 2);
    assert_null(cg__relay_leg_endpoint(r, "a", 1, CG_RELAY_LEGACY)); /* no buddy leg yet */
    /* carry needs both peers, with the leg's IDs */
    assert_int_equal(cg_relay_link_add_buddy(r, "a", NULL, dev), CG_EINVAL);
    assert_int_equal(cg_relay_link_add_buddy(r, "a", buddy, NULL), CG_EINVAL);
    assert_int_equal(cg_relay_link_add_buddy(r, "a", main_ncs, dev), CG_EINVAL);
    assert_int_equal(cg_relay_link_add_buddy(r, "a", buddy, buddy), CG_EINVAL);
    assert_int_equal(cg_relay_link_add_buddy(NULL, "a", buddy, dev), CG_EINVAL);
    assert_int_equal(s.calls[CG_RELAY_LEGACY] + s.calls[CG_RELAY_MOS4], 2); /* refused before */
    assert_int_equal(cg_relay_link_add_buddy(r, "a", buddy, dev), CG_OK);
    assert_int_equal(s.calls[CG_RELAY_LEGACY], 1);  /* shared: GFX.A towards both servers */
    assert_int_equal(s.calls[CG_RELAY_MOS4], 2);
    assert_string_equal(s.id[CG_RELAY_MOS4][1], "NCS.BUDDY");
    assert_ptr_equal(cg__relay_leg_endpoint(r, "a", 1, CG_RELAY_LEGACY),
                     cg__relay_leg_endpoint(r, "a", 0, CG_RELAY_LEGACY));
    assert_non_null(cg__relay_leg_endpoint(r, "a", 1, CG_RELAY_MOS4));
    assert_ptr_not_equal(cg__relay_leg_endpoint(r, "a", 1, CG_RELAY_MOS4),
                         cg__relay_leg_endpoint(r, "a", 0, CG_RELAY_MOS4));
    assert_int_equal(cg_relay_link_add_buddy(r, "a", buddy, dev), CG_EEXIST); /* one buddy leg */
    /* each leg's peers are its own: the buddy can be sent to on both sides */
    static const char ro_req[] = "<mos><mosID>GFX.A</mosID><ncsID>NCS.BUDDY</ncsID><messageID>1</messageID>"
                                 "<roReq><roID>R</roID></roReq></mos>";
    assert_int_equal(cg_mos_forward(cg__relay_leg_endpoint(r, "a", 1, CG_RELAY_LEGACY), "NCS.BUDDY",
                                    CG_MOS_CH_RO, ro_req, sizeof(ro_req) - 1, NULL, NULL), CG_OK);
    assert_int_equal(cg_mos_forward(cg__relay_leg_endpoint(r, "a", 1, CG_RELAY_MOS4), "GFX.A",
                                    CG_MOS_CH_RO, ro_req, sizeof(ro_req) - 1, NULL, NULL), CG_OK);
    /* the primary's legacy peer is still there, next to the buddy on the shared endpoint */
    assert_int_equal(cg_mos_forward(cg__relay_leg_endpoint(r, "a", 0, CG_RELAY_LEGACY), "NCS.MAIN",
                                    CG_MOS_CH_RO, ro_req, sizeof(ro_req) - 1, NULL, NULL), CG_OK);
    struct cg_relay_stats st;
    assert_int_equal(cg_relay_link_stats(r, "a", &st), CG_OK);
    assert_int_equal(st.active, CG_RELAY_PRIMARY);
    assert_int_equal(st.switches + st.buddy_declined + st.withdrawn + st.late_dropped, 0);
    assert_false(st.leg_up[1][0] || st.leg_up[1][1]);
    /* removal drops the buddy's endpoint with the link: all can be added again */
    assert_int_equal(cg_relay_remove_link(r, "a"), CG_OK);
    s.calls[0] = s.calls[1] = 0;
    assert_int_equal(cg_relay_add_link(r, lc, main_ncs, dev), CG_OK);
    assert_int_equal(cg_relay_link_add_buddy(r, "a", buddy, dev), CG_OK);
    assert_int_equal(s.calls[0] + s.calls[1], 3);
    cg_mos_peer_config_free(main_ncs);
    cg_mos_peer_config_free(dev);
    cg_mos_peer_config_free(buddy);
    cg_relay_link_config_free(lc);
    cg_relay_free(r);
    cg_ctx_free(ctx);
}

/* Carry, the studio side of topology (b): the far side (an NCS over MOS
 * 4.0) has the buddy. Towards the device we are NCS.BUDDY (a legacy
 * endpoint of its own); towards the far side we are the device, to both. */
static void test_carry_far_buddy(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct cg_relay *r = NULL;
    struct seen s = {0};
    struct cg_relay_handlers h = {.configure_endpoint = configure};
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg_relay_new(ctx, NULL, &h, &s, &r), CG_OK);
    struct cg_relay_link_config *lc = NULL;
    assert_int_equal(cg_relay_link_config_new("studio", &lc), CG_OK);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_MOS, "NCS.MAIN", "GFX.A"), CG_OK);
    assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_MOS4, "GFX.A"), CG_OK);
    struct cg_mos_peer_config *dev = peer("GFX.A"), *main_ncs = peer("NCS.MAIN"), *buddy = peer("NCS.BUDDY");
    assert_int_equal(cg_relay_add_link(r, lc, dev, main_ncs), CG_OK);
    /* a buddy with one of the link's own IDs is no buddy */
    assert_int_equal(cg_relay_link_add_buddy(r, "studio", dev, dev), CG_EINVAL);
    assert_int_equal(cg_relay_remove_link(r, "studio"), CG_OK);
    assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_MOS4, "NCS.BUDDY"), CG_OK);
    assert_int_equal(cg_relay_add_link(r, lc, dev, main_ncs), CG_OK);
    s.calls[0] = s.calls[1] = 0;
    assert_int_equal(cg_relay_link_add_buddy(r, "studio", dev, buddy), CG_OK);
    assert_int_equal(s.calls[CG_RELAY_LEGACY], 1);
    assert_string_equal(s.id[CG_RELAY_LEGACY][0], "NCS.BUDDY");
    assert_int_equal(s.calls[CG_RELAY_MOS4], 0); /* shared: GFX.A towards both NCS servers */
    assert_ptr_equal(cg__relay_leg_endpoint(r, "studio", 1, CG_RELAY_MOS4),
                     cg__relay_leg_endpoint(r, "studio", 0, CG_RELAY_MOS4));
    assert_ptr_not_equal(cg__relay_leg_endpoint(r, "studio", 1, CG_RELAY_LEGACY),
                         cg__relay_leg_endpoint(r, "studio", 0, CG_RELAY_LEGACY));
    cg_mos_peer_config_free(dev);
    cg_mos_peer_config_free(main_ncs);
    cg_mos_peer_config_free(buddy);
    cg_relay_link_config_free(lc);
    cg_relay_free(r); /* with the buddy leg in it */
    cg_ctx_free(ctx);
}

/* Failover: the side without a buddy keeps its one peer (no argument for
 * it), buddies on both sides are refused, and a relay with a failover link
 * (its timer) is freed cleanly, with the link or after removing it. */
static void test_failover_legs(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct cg_relay *r = NULL;
    struct seen s = {0};
    struct cg_relay_handlers h = {.configure_endpoint = configure};
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg_relay_new(ctx, NULL, &h, &s, &r), CG_OK);
    struct cg_mos_peer_config *main_ncs = peer("NCS.MAIN"), *dev = peer("GFX.A"), *buddy = peer("NCS.BUDDY"),
                              *dev_b = peer("GFX.B");
    struct cg_relay_link_config *both = conf("both", CG_RELAY_FAILOVER, "NCS.BUDDY", "GFX.B");
    assert_int_equal(cg_relay_add_link(r, both, main_ncs, dev), CG_OK);
    assert_int_equal(cg_relay_link_add_buddy(r, "both", buddy, dev_b), CG_EINVAL);
    assert_int_equal(cg_relay_remove_link(r, "both"), CG_OK);

    /* the NCS has the buddy, the device sees one NCS (we are NCS.MAIN to it) */
    struct cg_relay_link_config *lc = conf("fo", CG_RELAY_FAILOVER, "NCS.BUDDY", NULL);
    assert_int_equal(cg_relay_add_link(r, lc, main_ncs, dev), CG_OK);
    assert_int_equal(cg_relay_link_add_buddy(r, "fo", buddy, dev), CG_EINVAL); /* dev: not under failover */
    assert_int_equal(cg_relay_link_add_buddy(r, "fo", NULL, NULL), CG_EINVAL);
    s.calls[0] = s.calls[1] = 0;
    assert_int_equal(cg_relay_link_add_buddy(r, "fo", buddy, NULL), CG_OK);
    assert_int_equal(s.calls[0] + s.calls[1], 0); /* both endpoints shared */
    assert_ptr_equal(cg__relay_leg_endpoint(r, "fo", 1, CG_RELAY_MOS4),
                     cg__relay_leg_endpoint(r, "fo", 0, CG_RELAY_MOS4));
    assert_ptr_equal(cg__relay_leg_endpoint(r, "fo", 1, CG_RELAY_LEGACY),
                     cg__relay_leg_endpoint(r, "fo", 0, CG_RELAY_LEGACY));
    struct cg_relay_stats st;
    assert_int_equal(cg_relay_link_stats(r, "fo", &st), CG_OK);
    assert_int_equal(st.active, CG_RELAY_PRIMARY); /* the primary is active at start */
    assert_int_equal(st.switches, 0);
    assert_int_equal(cg_relay_remove_link(r, "fo"), CG_OK); /* its timer closes */
    assert_int_equal(cg_relay_add_link(r, lc, main_ncs, dev), CG_OK);
    assert_int_equal(cg_relay_link_add_buddy(r, "fo", buddy, NULL), CG_OK);
    cg_mos_peer_config_free(main_ncs);
    cg_mos_peer_config_free(dev);
    cg_mos_peer_config_free(buddy);
    cg_mos_peer_config_free(dev_b);
    cg_relay_link_config_free(both);
    cg_relay_link_config_free(lc);
    cg_relay_free(r); /* the failover link still in it */
    cg_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decline_roack),
        cmocka_unit_test(test_decline_mosack),
        cmocka_unit_test(test_decline_bounds),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_carry_legacy_buddy),
        cmocka_unit_test(test_carry_far_buddy),
        cmocka_unit_test(test_failover_legs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
