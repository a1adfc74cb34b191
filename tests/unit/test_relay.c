/* Unit tests for the relay (src/relay/, include/castgate/relay.h, issue 13
 * item 3): the policy decisions as pure functions (M-10 heartbeat, M-12
 * messages removed in 4.0, M-11 no-messageID reporting) and the API's
 * validation. The forwarding itself is covered by the gateway interop tests. */
#include "testutil.h"
#include "relay/relay.h"

#include <stdio.h>
#include <string.h>

static enum relay_action decide(const char *name, enum cg_relay_side from, enum cg_relay_heartbeat hb,
                                enum cg_relay_removed removed, bool up)
{
    return cg__relay_decide(name, strlen(name), from, hb, removed, up);
}

/* M-10: a heartbeat passes end to end unless the link's policy says otherwise. */
static void test_heartbeat_policy(void **state)
{
    (void)state;
    for (int side = 0; side < 2; side++) {
        enum cg_relay_side from = (enum cg_relay_side)side;
        assert_int_equal(decide("heartbeat", from, CG_RELAY_HB_PASS, 0, true), RELAY_FORWARD);
        assert_int_equal(decide("heartbeat", from, CG_RELAY_HB_PASS, 0, false), RELAY_FORWARD);
        assert_int_equal(decide("heartbeat", from, CG_RELAY_HB_PASS_OR_ANSWER, 0, true), RELAY_FORWARD);
        assert_int_equal(decide("heartbeat", from, CG_RELAY_HB_PASS_OR_ANSWER, 0, false),
                         RELAY_ANSWER_HEARTBEAT);
        assert_int_equal(decide("heartbeat", from, CG_RELAY_HB_ANSWER, 0, true), RELAY_ANSWER_HEARTBEAT);
        assert_int_equal(decide("heartbeat", from, CG_RELAY_HB_ANSWER, 0, false), RELAY_ANSWER_HEARTBEAT);
    }
    /* the policy is about heartbeats only; a name that merely starts alike is not one */
    assert_int_equal(decide("heartbeats", CG_RELAY_LEGACY, CG_RELAY_HB_ANSWER, 0, false), RELAY_FORWARD);
    assert_int_equal(decide("reqMachInfo", CG_RELAY_LEGACY, CG_RELAY_HB_ANSWER, 0, false), RELAY_FORWARD);
    assert_int_equal(cg__relay_decide("heartbeat", 5, CG_RELAY_LEGACY, CG_RELAY_HB_ANSWER, 0, false),
                     RELAY_FORWARD); /* "heart": the length counts */
}

/* M-12: removed-in-4.0 messages from the legacy gear follow the policy. */
static void test_removed_policy_from_legacy(void **state)
{
    (void)state;
    const char *removed = "roStoryInsert";
    assert_int_equal(decide(removed, CG_RELAY_LEGACY, 0, CG_RELAY_REMOVED_PASS, true), RELAY_FORWARD);
    assert_int_equal(decide(removed, CG_RELAY_LEGACY, 0, CG_RELAY_REMOVED_REJECT, true),
                     RELAY_REJECT_REMOVED);
    assert_int_equal(decide(removed, CG_RELAY_LEGACY, 0, CG_RELAY_REMOVED_TRANSLATE, true),
                     RELAY_TRANSLATE);
    assert_int_equal(decide(removed, CG_RELAY_LEGACY, 0, CG_RELAY_REMOVED_TRANSLATE_OR_PASS, false),
                     RELAY_TRANSLATE_OR_PASS);
    /* a message MOS 4.0 kept is forwarded whatever the policy */
    for (int p = CG_RELAY_REMOVED_PASS; p <= CG_RELAY_REMOVED_TRANSLATE_OR_PASS; p++) {
        assert_int_equal(decide("roCreate", CG_RELAY_LEGACY, 0, (enum cg_relay_removed)p, true),
                         RELAY_FORWARD);
        assert_int_equal(decide("roElementAction", CG_RELAY_LEGACY, 0, (enum cg_relay_removed)p, true),
                         RELAY_FORWARD);
        assert_int_equal(decide("noSuchMessage", CG_RELAY_LEGACY, 0, (enum cg_relay_removed)p, true),
                         RELAY_FORWARD);
    }
}

/* M-12 binds the MOS 4.0 side: what comes from it is never rewritten or refused here. */
static void test_removed_policy_not_from_mos4(void **state)
{
    (void)state;
    for (int p = CG_RELAY_REMOVED_PASS; p <= CG_RELAY_REMOVED_TRANSLATE_OR_PASS; p++)
        assert_int_equal(decide("roStoryInsert", CG_RELAY_MOS4, 0, (enum cg_relay_removed)p, true),
                         RELAY_FORWARD);
}

static void test_after_translation(void **state)
{
    (void)state;
    assert_true(cg__relay_pass_untranslated(RELAY_TRANSLATE_OR_PASS, CG_ENOTSUP));
    assert_false(cg__relay_pass_untranslated(RELAY_TRANSLATE_OR_PASS, CG_EPROTO));
    assert_false(cg__relay_pass_untranslated(RELAY_TRANSLATE_OR_PASS, CG_ENOMEM));
    assert_false(cg__relay_pass_untranslated(RELAY_TRANSLATE, CG_ENOTSUP));
    assert_false(cg__relay_pass_untranslated(RELAY_TRANSLATE, CG_EPROTO));
}

/* M-11: requests without a messageID are reported at 1, 10, 100, ... */
static void test_report_count(void **state)
{
    (void)state;
    unsigned reported = 0;
    for (unsigned long n = 0; n <= 100000; n++)
        if (cg__relay_report_count(n)) {
            reported++;
            assert_true(n == 1 || n == 10 || n == 100 || n == 1000 || n == 10000 || n == 100000);
        }
    assert_int_equal(reported, 6);
}

static void test_policy_names(void **state)
{
    (void)state;
    enum cg_relay_heartbeat hb = CG_RELAY_HB_PASS;
    assert_int_equal(cg_relay_heartbeat_parse("pass-or-answer", &hb), CG_OK);
    assert_int_equal(hb, CG_RELAY_HB_PASS_OR_ANSWER);
    assert_int_equal(cg_relay_heartbeat_parse("answer", &hb), CG_OK);
    assert_int_equal(hb, CG_RELAY_HB_ANSWER);
    assert_int_equal(cg_relay_heartbeat_parse("pass", &hb), CG_OK);
    assert_int_equal(hb, CG_RELAY_HB_PASS);
    assert_int_equal(cg_relay_heartbeat_parse("Answer", &hb), CG_EINVAL);
    assert_int_equal(cg_relay_heartbeat_parse("", &hb), CG_EINVAL);
    assert_int_equal(cg_relay_heartbeat_parse(NULL, &hb), CG_EINVAL);
    assert_int_equal(hb, CG_RELAY_HB_PASS); /* unchanged on error */
    enum cg_relay_removed rm = CG_RELAY_REMOVED_PASS;
    assert_int_equal(cg_relay_removed_parse("translate-or-pass", &rm), CG_OK);
    assert_int_equal(rm, CG_RELAY_REMOVED_TRANSLATE_OR_PASS);
    assert_int_equal(cg_relay_removed_parse("reject", &rm), CG_OK);
    assert_int_equal(rm, CG_RELAY_REMOVED_REJECT);
    assert_int_equal(cg_relay_removed_parse("translate", &rm), CG_OK);
    assert_int_equal(rm, CG_RELAY_REMOVED_TRANSLATE);
    assert_int_equal(cg_relay_removed_parse("translat", &rm), CG_EINVAL);
    assert_int_equal(cg_relay_removed_parse("pass", NULL), CG_EINVAL);
    assert_int_equal(rm, CG_RELAY_REMOVED_TRANSLATE);
}

/* Setters refuse a bad value on the spot and keep the previous one. */
static void test_link_config_validation(void **state)
{
    (void)state;
    struct cg_relay_link_config *lc = NULL;
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(cg_relay_link_config_new(NULL, &lc), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_new("", &lc), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_new("a\nb", &lc), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_new(big, &lc), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_new("a", NULL), CG_EINVAL);
    assert_null(lc);
    assert_int_equal(cg_relay_link_config_new("studio-a", &lc), CG_OK);
    assert_int_equal(cg_relay_link_config_set_gear(lc, (enum cg_mos_role)7, "NCS", "MOS"), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_NCS, "", "MOS"), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_NCS, "X", "X"), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_NCS, NULL, "MOS"), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_NCS, big, "MOS"), CG_EINVAL);
    assert_false(lc->ids_set);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_MOS, "NCS", "MOS"), CG_OK);
    assert_true(lc->ids_set);
    assert_string_equal(lc->path, "/mos/Communication"); /* M-02 default */
    assert_int_equal(cg_relay_link_config_set_path(lc, "mos"), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_path(lc, ""), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_path(lc, big), CG_EINVAL);
    assert_string_equal(lc->path, "/mos/Communication");
    assert_int_equal(cg_relay_link_config_set_path(lc, "/studio"), CG_OK);
    assert_string_equal(lc->path, "/studio");
    assert_int_equal(cg_relay_link_config_set_heartbeat(lc, (enum cg_relay_heartbeat)3), CG_EINVAL);
    assert_int_equal(cg_relay_link_config_set_heartbeat(lc, (enum cg_relay_heartbeat)-1), CG_EINVAL);
    assert_int_equal(lc->heartbeat, CG_RELAY_HB_PASS);
    assert_int_equal(cg_relay_link_config_set_heartbeat(lc, CG_RELAY_HB_ANSWER), CG_OK);
    assert_int_equal(cg_relay_link_config_set_removed_in_4(lc, (enum cg_relay_removed)4), CG_EINVAL);
    assert_int_equal(lc->removed_in_4, CG_RELAY_REMOVED_PASS);
    assert_int_equal(cg_relay_link_config_set_removed_in_4(lc, CG_RELAY_REMOVED_REJECT), CG_OK);
    assert_int_equal(cg_relay_link_config_set_heartbeat(NULL, CG_RELAY_HB_ANSWER), CG_EINVAL);
    cg_relay_link_config_free(lc);
    cg_relay_link_config_free(NULL);
}

/* ---- the relay object, without starting it (no sockets) ---- */

struct seen {
    int calls[2];
    enum cg_mos_role role[2];
    char id[2][64];
    enum cg_err answer;
    int drained;
};

static enum cg_err configure(void *user, enum cg_relay_side side, enum cg_mos_role role, const char *id,
                             struct cg_mos_endpoint_config *cfg)
{
    struct seen *s = user;
    assert_non_null(cfg);
    s->calls[side]++;
    s->role[side] = role;
    snprintf(s->id[side], sizeof(s->id[side]), "%s", id);
    return s->answer;
}

static void on_drained(void *user) { ((struct seen *)user)->drained++; }

static struct cg_relay_link_config *link_conf(const char *name, const char *ncs, const char *mos)
{
    struct cg_relay_link_config *lc = NULL;
    assert_int_equal(cg_relay_link_config_new(name, &lc), CG_OK);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_NCS, ncs, mos), CG_OK);
    return lc;
}

static struct cg_mos_peer_config *peer(const char *id)
{
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new(id, &pc), CG_OK);
    return pc;
}

static void test_relay_api(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct cg_relay *r = NULL;
    struct seen s = {.answer = CG_OK};
    struct cg_relay_handlers h = {.configure_endpoint = configure};
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg_relay_new(NULL, NULL, &h, &s, &r), CG_EINVAL);
    assert_int_equal(cg_relay_new(ctx, NULL, &h, &s, NULL), CG_EINVAL);
    assert_int_equal(cg_relay_new(ctx, NULL, &h, &s, &r), CG_OK);

    struct cg_relay_link_config *noids = NULL, *a = link_conf("a", "NCS1", "MOS1");
    assert_int_equal(cg_relay_link_config_new("x", &noids), CG_OK);
    struct cg_mos_peer_config *gear = peer("NCS1"), *far = peer("MOS1");
    assert_int_equal(cg_relay_add_link(r, noids, gear, far), CG_EINVAL);  /* IDs not set */
    assert_int_equal(cg_relay_add_link(r, a, far, gear), CG_EINVAL);      /* peers swapped */
    assert_int_equal(cg_relay_add_link(r, a, gear, NULL), CG_EINVAL);
    assert_int_equal(s.calls[0] + s.calls[1], 0); /* refused before any endpoint was made */

    /* the configure hook's error fails the add and leaves nothing behind */
    s.answer = CG_ECONFIG;
    assert_int_equal(cg_relay_add_link(r, a, gear, far), CG_ECONFIG);
    assert_false(cg_relay_has_link(r, "a"));
    s.answer = CG_OK;

    s.calls[0] = s.calls[1] = 0;
    assert_int_equal(cg_relay_add_link(r, a, gear, far), CG_OK);
    assert_true(cg_relay_has_link(r, "a"));
    /* towards the gear (an NCS) we are the device; towards the far side, the NCS */
    assert_int_equal(s.calls[CG_RELAY_LEGACY], 1);
    assert_int_equal(s.role[CG_RELAY_LEGACY], CG_MOS_ROLE_MOS);
    assert_string_equal(s.id[CG_RELAY_LEGACY], "MOS1");
    assert_int_equal(s.calls[CG_RELAY_MOS4], 1);
    assert_int_equal(s.role[CG_RELAY_MOS4], CG_MOS_ROLE_NCS);
    assert_string_equal(s.id[CG_RELAY_MOS4], "NCS1");
    assert_int_equal(cg_relay_add_link(r, a, gear, far), CG_EEXIST); /* the name */

    /* a second link of the same NCS to another device shares its MOS 4.0 endpoint */
    struct cg_relay_link_config *b = link_conf("b", "NCS1", "MOS2");
    struct cg_mos_peer_config *far2 = peer("MOS2");
    s.calls[0] = s.calls[1] = 0;
    assert_int_equal(cg_relay_add_link(r, b, gear, far2), CG_OK);
    assert_int_equal(s.calls[CG_RELAY_LEGACY], 1);
    assert_int_equal(s.calls[CG_RELAY_MOS4], 0);
    /* another name for link a's peers: refused by the shared endpoint, and
     * the rollback leaves link a's peers where they are (refused again) */
    struct cg_relay_link_config *c = link_conf("c", "NCS1", "MOS1");
    assert_int_equal(cg_relay_add_link(r, c, gear, far), CG_EEXIST);
    assert_false(cg_relay_has_link(r, "c"));
    static const char ro_req[] = "<mos><mosID>MOS1</mosID><ncsID>NCS1</ncsID><messageID>1</messageID>"
                                 "<roReq><roID>R</roID></roReq></mos>";
    assert_int_equal(cg_mos_forward(cg__relay_endpoint(r, "a", CG_RELAY_MOS4), "MOS1", CG_MOS_CH_RO,
                                    ro_req, sizeof(ro_req) - 1, NULL, NULL), CG_OK);
    assert_int_equal(cg_mos_forward(cg__relay_endpoint(r, "a", CG_RELAY_LEGACY), "NCS1", CG_MOS_CH_RO,
                                    ro_req, sizeof(ro_req) - 1, NULL, NULL), CG_OK);
    assert_true(cg_relay_has_link(r, "a"));
    assert_int_equal(cg_relay_remove_link(r, "b"), CG_OK);
    assert_true(cg_relay_has_link(r, "a"));

    struct cg_relay_stats st;
    memset(&st, 0xff, sizeof(st));
    assert_int_equal(cg_relay_link_stats(r, "a", &st), CG_OK);
    assert_int_equal(st.forwarded + st.answered + st.rejected + st.no_message_id, 0);
    assert_int_equal(st.in_flight, 0);
    assert_false(st.legacy_up || st.mos4_up);
    assert_int_equal(cg_relay_link_stats(r, "zz", &st), CG_ENOTFOUND);
    assert_int_equal(cg_relay_link_stats(r, "a", NULL), CG_EINVAL);

    /* nothing in flight: the drain completes before cg_relay_drain returns */
    assert_int_equal(cg_relay_inflight(r), 0);
    assert_int_equal(cg_relay_drain(r, on_drained, &s), CG_OK);
    assert_int_equal(s.drained, 1);
    assert_int_equal(cg_relay_drain(NULL, on_drained, &s), CG_EINVAL);

    assert_int_equal(cg_relay_remove_link(r, "zz"), CG_ENOTFOUND);
    assert_int_equal(cg_relay_remove_link(r, NULL), CG_EINVAL);
    assert_int_equal(cg_relay_remove_link(r, "a"), CG_OK);
    assert_false(cg_relay_has_link(r, "a"));
    assert_int_equal(cg_relay_remove_link(r, "a"), CG_ENOTFOUND);
    /* its endpoints went with it: the same link can be added again */
    s.calls[0] = s.calls[1] = 0;
    assert_int_equal(cg_relay_add_link(r, a, gear, far), CG_OK);
    assert_int_equal(s.calls[0] + s.calls[1], 2);

    cg_mos_peer_config_free(gear);
    cg_mos_peer_config_free(far);
    cg_mos_peer_config_free(far2);
    cg_relay_link_config_free(noids);
    cg_relay_link_config_free(a);
    cg_relay_link_config_free(b);
    cg_relay_link_config_free(c);
    cg_relay_free(r); /* with a link still in it */
    cg_relay_free(NULL);
    cg_ctx_free(ctx);
}

/* endpoint_gone (issue 18, review defect "endpoint pointers go stale across
 * a reload"): castgate run's pair keeps the relay's endpoints (and gives
 * them pointers of its own); the relay tells it before it frees one, when
 * its last link goes and at cg_relay_free, and only then. */
struct gone {
    struct cg_mos_endpoint *ep[8], *gone[8];
    int nep, ngone;
};

static void list_ep(void *user, enum cg_relay_side side, enum cg_mos_role role, const char *our_id,
                    struct cg_mos_endpoint *ep)
{
    (void)side, (void)role, (void)our_id;
    struct gone *g = user;
    assert_true(g->nep < 8);
    g->ep[g->nep++] = ep;
}

static void on_gone(void *user, struct cg_mos_endpoint *ep)
{
    struct gone *g = user;
    assert_true(g->ngone < 8);
    g->gone[g->ngone++] = ep;
}

static bool listed(struct cg_relay *r, const struct cg_mos_endpoint *ep)
{
    struct gone now = {0};
    assert_int_equal(cg_relay_endpoints(r, list_ep, &now), CG_OK);
    for (int i = 0; i < now.nep; i++)
        if (now.ep[i] == ep)
            return true;
    return false;
}

static void test_endpoint_gone(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct cg_relay *r = NULL;
    struct gone g = {0};
    struct cg_relay_handlers h = {.endpoint_gone = on_gone};
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg_relay_new(ctx, NULL, &h, &g, &r), CG_OK);
    struct cg_relay_link_config *a = link_conf("a", "NCS1", "MOS1"), *b = link_conf("b", "NCS1", "MOS2");
    struct cg_mos_peer_config *gear = peer("NCS1"), *far = peer("MOS1"), *far2 = peer("MOS2");
    assert_int_equal(cg_relay_add_link(r, a, gear, far), CG_OK);
    assert_int_equal(cg_relay_add_link(r, b, gear, far2), CG_OK);
    struct cg_mos_endpoint *mos4 = cg__relay_endpoint(r, "a", CG_RELAY_MOS4);
    struct cg_mos_endpoint *leg_a = cg__relay_endpoint(r, "a", CG_RELAY_LEGACY);
    struct cg_mos_endpoint *leg_b = cg__relay_endpoint(r, "b", CG_RELAY_LEGACY);
    assert_ptr_equal(cg__relay_endpoint(r, "b", CG_RELAY_MOS4), mos4); /* shared */
    assert_int_equal(g.ngone, 0);
    /* link b stopped (a reload's link_free): its own endpoint goes, the shared one stays */
    assert_int_equal(cg_relay_remove_link(r, "b"), CG_OK);
    assert_int_equal(g.ngone, 1);
    assert_ptr_equal(g.gone[0], leg_b);
    assert_true(listed(r, mos4) && listed(r, leg_a));
    /* link a: both of its endpoints */
    assert_int_equal(cg_relay_remove_link(r, "a"), CG_OK);
    assert_int_equal(g.ngone, 3);
    assert_true((g.gone[1] == mos4 && g.gone[2] == leg_a) || (g.gone[1] == leg_a && g.gone[2] == mos4));
    /* and at cg_relay_free, for the endpoints still there */
    assert_int_equal(cg_relay_add_link(r, a, gear, far), CG_OK);
    cg_relay_free(r);
    assert_int_equal(g.ngone, 5);
    cg_mos_peer_config_free(gear);
    cg_mos_peer_config_free(far);
    cg_mos_peer_config_free(far2);
    cg_relay_link_config_free(a);
    cg_relay_link_config_free(b);
    cg_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heartbeat_policy),
        cmocka_unit_test(test_endpoint_gone),
        cmocka_unit_test(test_removed_policy_from_legacy),
        cmocka_unit_test(test_removed_policy_not_from_mos4),
        cmocka_unit_test(test_after_translation),
        cmocka_unit_test(test_report_count),
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test(test_link_config_validation),
        cmocka_unit_test(test_relay_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
