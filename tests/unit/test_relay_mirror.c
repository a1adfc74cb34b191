/* Unit tests for a leg that behaves as a wire does for its gear (issue 18,
 * leg_state = mirror; src/relay/mirror.c, docs/redundancy.md "Mirroring a
 * leg's state"): a side down for down_after_ms holds the other side and
 * cancels the leg's requests, in that order; a shorter drop is not seen;
 * the held side's own reports are ignored; the release waits for the cause
 * to be back for up_after_ms (hysteresis: a flapping server does not flap
 * the gear); a second absence of the cause while held cancels again, once.
 * Then two gateways mirroring each other over one MOS 4.0 link, driven by
 * random gear and network faults: never held for ever once everything is
 * back, and a gear down for long is always seen down by the gear on the
 * other gateway (the device sees its primary go down, as without gateways). */
#include "testutil.h"
#include "relay/mirror.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOWN 1000u
#define UP 2000u
#define L CG_RELAY_LEGACY
#define M CG_RELAY_MOS4

static void mk(struct cg_mirror *m, uint64_t now)
{
    struct cg_mirror_config c = {.down_after_ms = DOWN, .up_after_ms = UP};
    assert_int_equal(cg__mirror_init(m, &c, now), CG_OK);
}

static const char *sn(enum cg_relay_side s) { return s == L ? "L" : "M"; }

/* Every action of the last event, as text: "hold M (L 1000); cancel L" */
static const char *drain(struct cg_mirror *m)
{
    static char out[512];
    size_t n = 0;
    out[0] = '\0';
    struct cg_mirror_act a;
    while (cg__mirror_action(m, &a)) {
        int w;
        if (a.kind == CG_MIRROR_A_CANCEL)
            w = snprintf(out + n, sizeof(out) - n, "%scancel %s", n ? "; " : "", sn(a.side));
        else
            w = snprintf(out + n, sizeof(out) - n, "%s%s %s (%s %llu)", n ? "; " : "",
                         cg__mirror_act_name(a.kind), sn(a.side), sn(a.cause),
                         (unsigned long long)a.for_ms);
        assert_true(w > 0 && (size_t)w < sizeof(out) - n);
        n += (size_t)w;
    }
    return out;
}

/* Both sides up at t=10 (the start at 0). */
static void both_up(struct cg_mirror *m)
{
    mk(m, 0);
    cg__mirror_side(m, 10, L, true);
    cg__mirror_side(m, 10, M, true);
    assert_string_equal(drain(m), "");
    assert_int_equal(cg__mirror_deadline(m), CG_MIRROR_NEVER);
}

/* Both up, then the legacy side lost at 100: held at 1100. */
static void lost_legacy(struct cg_mirror *m)
{
    both_up(m);
    cg__mirror_side(m, 100, L, false);
    cg__mirror_timer(m, 100 + DOWN);
    assert_string_equal(drain(m), "hold M (L 1000); cancel L");
}

static void test_init_refuses_zero_times(void **state)
{
    (void)state;
    struct cg_mirror m;
    struct cg_mirror_config c = {.down_after_ms = 0, .up_after_ms = 1};
    assert_int_equal(cg__mirror_init(&m, &c, 0), CG_EINVAL);
    c = (struct cg_mirror_config){.down_after_ms = 1, .up_after_ms = 0};
    assert_int_equal(cg__mirror_init(&m, &c, 0), CG_EINVAL);
    assert_int_equal(cg__mirror_init(NULL, &c, 0), CG_EINVAL);
}

/* A drop shorter than down_after is not seen; the clock starts again. */
static void test_short_drop_not_seen(void **state)
{
    (void)state;
    struct cg_mirror m;
    both_up(&m);
    cg__mirror_side(&m, 100, L, false);
    assert_int_equal(cg__mirror_deadline(&m), 100 + DOWN);
    cg__mirror_timer(&m, 100 + DOWN - 1);
    cg__mirror_side(&m, 100 + DOWN - 1, L, true);
    cg__mirror_timer(&m, 100 + 5 * DOWN);
    assert_string_equal(drain(&m), "");
    cg__mirror_side(&m, 6000, L, false); /* a new drop: its own full down_after */
    cg__mirror_timer(&m, 6000 + DOWN - 1);
    assert_string_equal(drain(&m), "");
    assert_false(cg__mirror_held(&m, M));
}

/* The legacy peer (the main NCS) gone for down_after: the MOS 4.0 side is
 * held, then the leg's requests are cancelled (the hold first: no lane of
 * the leg is up when the requests are given up). */
static void test_legacy_down_holds_mos4_then_cancels(void **state)
{
    (void)state;
    struct cg_mirror m;
    lost_legacy(&m);
    assert_true(cg__mirror_held(&m, M));
    assert_false(cg__mirror_held(&m, L));
    assert_int_equal(m.holds, 1);
    assert_int_equal(m.cancels, 1);
    /* the held side's lanes go down (our close): not an observation */
    cg__mirror_side(&m, 1200, M, false);
    cg__mirror_side(&m, 1300, M, true); /* a race: still ignored */
    assert_string_equal(drain(&m), "");
    assert_int_equal(cg__mirror_deadline(&m), CG_MIRROR_NEVER); /* cut done, cause down */
}

/* The MOS 4.0 side gone (the far gateway closed it): the gear's legacy side is held. */
static void test_mos4_down_holds_legacy(void **state)
{
    (void)state;
    struct cg_mirror m;
    both_up(&m);
    cg__mirror_side(&m, 200, M, false);
    cg__mirror_timer(&m, 200 + DOWN);
    assert_string_equal(drain(&m), "hold L (M 1000); cancel M");
    assert_true(cg__mirror_held(&m, L));
}

/* Hysteresis: the cause back for less than up_after is not enough; back for
 * up_after, the held side is released, and gets down_after from then to come
 * up before it could be a cause itself. */
static void test_release_after_up_after_only(void **state)
{
    (void)state;
    struct cg_mirror m;
    lost_legacy(&m);
    cg__mirror_side(&m, 5000, L, true);
    assert_int_equal(cg__mirror_deadline(&m), 5000 + UP);
    cg__mirror_timer(&m, 5000 + UP - 1);
    assert_string_equal(drain(&m), "");
    cg__mirror_side(&m, 5000 + UP - 1, L, false); /* it flaps: gone again */
    cg__mirror_side(&m, 5000 + UP + 100, L, true);
    cg__mirror_timer(&m, 5000 + UP + 100 + UP - 1);
    assert_string_equal(drain(&m), "");
    cg__mirror_timer(&m, 5000 + UP + 100 + UP);
    assert_string_equal(drain(&m), "release M (L 2000)");
    assert_false(cg__mirror_held(&m, M));
    /* the released side is down until its lanes come back: it gets the grace and down_after */
    uint64_t rel = 5000 + UP + 100 + UP;
    assert_int_equal(cg__mirror_deadline(&m), rel + CG_MIRROR_GRACE_MS + DOWN);
    cg__mirror_side(&m, rel + 30, M, true);
    assert_int_equal(cg__mirror_deadline(&m), CG_MIRROR_NEVER);
    assert_string_equal(drain(&m), "");
    assert_int_equal(m.releases, 1);
    /* a gear that does not come back after a release: its absence counts after the grace */
    both_up(&m);
    cg__mirror_side(&m, 100, L, false);
    cg__mirror_timer(&m, 1100);
    assert_string_equal(drain(&m), "hold M (L 1000); cancel L");
    cg__mirror_side(&m, 2000, L, true);
    cg__mirror_timer(&m, 2000 + UP);
    assert_string_equal(drain(&m), "release M (L 2000)");
    rel = 2000 + UP;
    cg__mirror_timer(&m, rel + CG_MIRROR_GRACE_MS + DOWN - 1);
    assert_string_equal(drain(&m), "");
    cg__mirror_timer(&m, rel + CG_MIRROR_GRACE_MS + DOWN);
    assert_string_equal(drain(&m), "hold L (M 11000); cancel M"); /* down since the release */
}

/* A server that flaps faster than up_after never releases the gear: the
 * gear sees one long absence, not a flapping link. Drops shorter than
 * down_after while held do not cancel again. */
static void test_flapping_server_does_not_flap_the_gear(void **state)
{
    (void)state;
    struct cg_mirror m;
    lost_legacy(&m);
    for (uint64_t t = 2000; t < 60000; t += 1500) {
        cg__mirror_side(&m, t, L, true);
        cg__mirror_timer(&m, t + 1000);
        cg__mirror_side(&m, t + 1000, L, false);
        cg__mirror_timer(&m, t + 1400);
        assert_string_equal(drain(&m), "");
    }
    assert_true(cg__mirror_held(&m, M));
    assert_int_equal(m.cancels, 1);
}

/* While held, the cause back and then gone again for down_after: the
 * requests that came from it meanwhile lost their sender's connection too:
 * a second cancel, once. */
static void test_second_absence_cancels_again_once(void **state)
{
    (void)state;
    struct cg_mirror m;
    lost_legacy(&m);
    cg__mirror_side(&m, 3000, L, true);
    cg__mirror_side(&m, 3500, L, false);
    assert_int_equal(cg__mirror_deadline(&m), 3500 + DOWN);
    cg__mirror_timer(&m, 3500 + DOWN);
    assert_string_equal(drain(&m), "cancel L");
    cg__mirror_timer(&m, 3500 + 10 * DOWN);
    assert_string_equal(drain(&m), "");
    assert_int_equal(m.cancels, 2);
    assert_int_equal(m.holds, 1);
}

/* At the start both sides are down: past down_after the legacy side is the
 * cause (tie) and the MOS 4.0 side held; a side that came up and went down
 * is the cause only if it is down longer. */
static void test_start_tie_and_longer_absence(void **state)
{
    (void)state;
    struct cg_mirror m;
    mk(&m, 0);
    assert_int_equal(cg__mirror_deadline(&m), DOWN);
    cg__mirror_timer(&m, DOWN);
    assert_string_equal(drain(&m), "hold M (L 1000); cancel L");
    mk(&m, 0);
    cg__mirror_side(&m, 10, L, true);
    cg__mirror_side(&m, 400, L, false); /* legacy down since 400, MOS 4.0 since 0 */
    cg__mirror_timer(&m, 400 + DOWN);
    assert_string_equal(drain(&m), "hold L (M 1400); cancel M");
}

/* ---- two gateways mirroring each other (topology (b)) ----
 * Gateway 1: legacy = the NCS server of the leg; gateway 2: legacy = the
 * device's link for that leg; their MOS 4.0 sides are one set of lanes, up
 * when the network is and neither gateway holds its MOS 4.0 side. A gear or
 * the network goes away and comes back at random; time in steps of 50 ms. */
struct world {
    struct cg_mirror g1, g2;
    bool ncs, dev, net;
};

static void observe(struct world *w, uint64_t t)
{
    bool wan = w->net && !cg__mirror_held(&w->g1, M) && !cg__mirror_held(&w->g2, M);
    cg__mirror_side(&w->g1, t, L, w->ncs && !cg__mirror_held(&w->g1, L));
    cg__mirror_side(&w->g1, t, M, wan);
    cg__mirror_side(&w->g2, t, L, w->dev && !cg__mirror_held(&w->g2, L));
    cg__mirror_side(&w->g2, t, M, wan);
    cg__mirror_timer(&w->g1, t);
    cg__mirror_timer(&w->g2, t);
    struct cg_mirror_act a;
    while (cg__mirror_action(&w->g1, &a))
        ;
    while (cg__mirror_action(&w->g2, &a))
        ;
}

static void test_two_gateways_never_hold_each_other(void **state)
{
    (void)state;
    srand(18);
    for (int run = 0; run < 300; run++) {
        struct world w = {.ncs = true, .dev = true, .net = true};
        mk(&w.g1, 0);
        mk(&w.g2, 0);
        uint64_t t = 0;
        for (; t < 60000; t += 50) {
            int r = rand() % 1000;
            if (r < 8)
                w.ncs = !w.ncs;
            else if (r < 16)
                w.dev = !w.dev;
            else if (r < 20)
                w.net = !w.net;
            observe(&w, t);
        }
        /* everything back: within down_after + 2 up_after (the far gateway waits its own
         * up_after once the near one released) and some steps, nothing is held */
        w.ncs = w.dev = w.net = true;
        uint64_t end = t + 2 * DOWN + 2 * UP + 500;
        for (; t < end; t += 50)
            observe(&w, t);
        if (cg__mirror_held(&w.g1, L) || cg__mirror_held(&w.g1, M) || cg__mirror_held(&w.g2, L) ||
            cg__mirror_held(&w.g2, M))
            fail_msg("run %d: still held after everything came back", run);
        /* the NCS gone for good: the device's link of that leg is held on gateway 2
         * (the device sees its primary go down) within two down_after */
        w.ncs = false;
        end = t + 2 * DOWN + 200;
        for (; t < end; t += 50)
            observe(&w, t);
        if (!cg__mirror_held(&w.g2, L) || !cg__mirror_held(&w.g1, M))
            fail_msg("run %d: the NCS gone, the device's link not held (g1 M %d, g2 L %d)", run,
                     cg__mirror_held(&w.g1, M), cg__mirror_held(&w.g2, L));
        /* and back: released on both within two up_after */
        w.ncs = true;
        end = t + 2 * UP + 200;
        for (; t < end; t += 50)
            observe(&w, t);
        if (cg__mirror_held(&w.g2, L) || cg__mirror_held(&w.g1, M))
            fail_msg("run %d: the NCS back, still held", run);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_refuses_zero_times),
        cmocka_unit_test(test_short_drop_not_seen),
        cmocka_unit_test(test_legacy_down_holds_mos4_then_cancels),
        cmocka_unit_test(test_mos4_down_holds_legacy),
        cmocka_unit_test(test_release_after_up_after_only),
        cmocka_unit_test(test_flapping_server_does_not_flap_the_gear),
        cmocka_unit_test(test_second_absence_cancels_again_once),
        cmocka_unit_test(test_start_tie_and_longer_absence),
        cmocka_unit_test(test_two_gateways_never_hold_each_other),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
