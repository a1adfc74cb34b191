/* A MOS 4.0 endpoint without a network for the lane tests: see flowrig.h. */
#include "flowrig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* ---- what the lanes write ---- */

char *fr_sent[FR_MAX_SENT];
size_t fr_nsent;
void *(*fr_sent_alloc)(size_t n) = malloc;

enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len)
{
    (void)l;
    assert_true(fr_nsent < FR_MAX_SENT);
    char *copy = fr_sent_alloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, xml, len);
    copy[len] = '\0';
    fr_sent[fr_nsent++] = copy;
    return CG_OK;
}

void fr_sent_clear(void)
{
    for (size_t i = 0; i < fr_nsent; i++)
        free(fr_sent[i]);
    fr_nsent = 0;
}

size_t fr_sent_count_both(const char *a, const char *b)
{
    size_t n = 0;
    for (size_t i = 0; i < fr_nsent; i++)
        n += strstr(fr_sent[i], a) != NULL && (b == NULL || strstr(fr_sent[i], b) != NULL);
    return n;
}

size_t fr_sent_count(const char *needle) { return fr_sent_count_both(needle, NULL); }

/* ---- the application ---- */

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct fr_app *a = user;
    if (a->keep == FR_ONE)
        assert_null(a->cur); /* never two at the application (M-22) */
    a->delivered++;
    a->repeats += m->repeat;
    size_t len = m->env->element.len;
    snprintf(a->last, sizeof(a->last), "%.*s", (int)(len < sizeof(a->last) ? len :
             sizeof(a->last) - 1), m->xml + m->env->element.off);
    switch (a->keep) {
    case FR_ONE:
        a->cur = req;
        return;
    case FR_HOLD:
        assert_true(a->nheld < FR_MAX_HELD);
        a->held[a->nheld++] = req;
        return;
    case FR_ANSWER:
        break;
    }
    char desc[32];
    snprintf(desc, sizeof(desc), "applied %u", a->delivered);
    assert_int_equal(cg_mos_reply_ack(req, true, desc), CG_OK);
}

/* A handle the application holds; the one at the lane goes with the lane. */
static void release(struct fr_ep *f, struct cg_mos_request *r)
{
    if (r == NULL || r == f->lane->current)
        return;
    free(r->wire);
    free(r);
}

/* ---- the endpoint ---- */

static void base_init(struct fr_ep *f, enum cg_log_level level, const char *peer)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(cg_ctx_new(&f->ctx), CG_OK);
    cg_ctx_set_log(f->ctx, tu_log_fn, &f->log, level);
    f->ep.ctx = f->ctx;
    f->ep.state_fd = -1;
    f->ep.h.on_request = on_request;
    f->ep.user = &f->app;
    f->peer.ep = &f->ep;
    snprintf(f->peer.id, sizeof(f->peer.id), "%s", peer);
}

static void lane_up(struct fr_ep *f, int ch, enum cg_mos_dir dir)
{
    struct mos4_lane *l = &f->peer.lanes[ch][dir];
    l->peer = &f->peer;
    l->ch = ch;
    l->dir = dir;
    l->jfd = -1;
    l->up = true;
}

void fr_ro_init(struct fr_ep *f, enum cg_log_level level)
{
    base_init(f, level, "ncs");
    struct cg_mos_endpoint_config *cfg = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &cfg), CG_OK);
    f->ep.cfg = *cfg;
    free(cfg); /* its strings are NULL */
    f->ep.cfg.fsync = CG_MOS_FSYNC_NEVER;
    f->ep.cfg.async_validate = SIZE_MAX; /* validated on the loop: no thread pool here */
    f->peer.channels = CG_MOS_CH_RO;
    f->peers[0] = &f->peer;
    f->ep.peers = f->peers;
    f->ep.npeers = 1;
    for (int d = 0; d < 2; d++) {
        lane_up(f, 1, (enum cg_mos_dir)d);
        struct mos4_lane *l = &f->peer.lanes[1][d];
        uv_timer_init(cg_ctx_loop(f->ctx), &l->ack_timer);
        uv_timer_init(cg_ctx_loop(f->ctx), &l->idle_timer);
    }
    f->timers = true;
    f->lane = &f->peer.lanes[1][CG_MOS_IN];
}

void fr_mom_init(struct fr_ep *f)
{
    base_init(f, CG_LOG_DEBUG, "ncs1");
    f->ep.cfg.role = CG_MOS_ROLE_MOS;
    snprintf(f->ep.cfg.id, sizeof(f->ep.cfg.id), "dev");
    f->ep.cfg.redeliver = true; /* as the relay sets it */
    f->ep.cfg.fsync = CG_MOS_FSYNC_NEVER;
    lane_up(f, 0, CG_MOS_IN);
    f->lane = &f->peer.lanes[0][CG_MOS_IN];
}

void fr_state(struct fr_ep *f, const char *dir, bool journal)
{
    f->ep.cfg.state_dir = (char *)dir;
    f->ep.cfg.journal = journal;
    if (dir != NULL)
        cg__mos4_journal_open(f->lane);
}

void fr_free(struct fr_ep *f)
{
    cg__mos4_journal_close(f->lane);
    release(f, f->app.cur);
    for (size_t i = 0; i < f->app.nheld; i++)
        release(f, f->app.held[i]);
    if (f->timers) {
        for (int d = 0; d < 2; d++) {
            struct mos4_lane *l = &f->peer.lanes[1][d];
            cg__mos4_flow_free(l);
            uv_close((uv_handle_t *)&l->ack_timer, NULL);
            uv_close((uv_handle_t *)&l->idle_timer, NULL);
        }
        uv_run(cg_ctx_loop(f->ctx), UV_RUN_DEFAULT);
    } else {
        f->peer.removed = true; /* nothing held is delivered from here on */
        f->ep.cfg.journal = false;
        cg__mos4_flow_free(f->lane);
    }
    cg_ctx_free(f->ctx);
    fr_sent_clear();
}

/* ---- requests ---- */

void fr_arrive(struct fr_ep *f, enum cg_mos_dir dir, const char *xml, size_t len)
{
    cg__mos4_on_message(&f->peer.lanes[f->lane->ch][dir], false, (const uint8_t *)xml, len);
}

size_t fr_request_xml(char *xml, size_t size, const char *ncs, const char *mos,
                      const char *msgid, const char *ro)
{
    char id[128] = "";
    if (msgid != NULL)
        snprintf(id, sizeof(id), "<messageID>%s</messageID>", msgid);
    int n = snprintf(xml, size, "<mos><mosID>%s</mosID><ncsID>%s</ncsID>%s<roCreate><roID>%s"
                     "</roID></roCreate></mos>", mos, ncs, id, ro);
    assert_true(n > 0 && (size_t)n < size);
    return (size_t)n;
}

size_t fr_request(struct fr_ep *f, const char *mos, const char *msgid, const char *ro)
{
    char xml[600];
    size_t n = fr_request_xml(xml, sizeof(xml), f->peer.id, mos, msgid, ro);
    fr_arrive(f, CG_MOS_IN, xml, n);
    return n;
}

size_t fr_request_n(struct fr_ep *f, unsigned i)
{
    char id[16], ro[16];
    snprintf(id, sizeof(id), "%u", i);
    snprintf(ro, sizeof(ro), "R%u", i);
    return fr_request(f, "dev", id, ro);
}

void fr_expect_at_app(const struct fr_ep *f, unsigned i)
{
    char want[32];
    snprintf(want, sizeof(want), "<roID>R%u</roID>", i);
    if (f->app.cur == NULL || strstr(f->app.last, want) == NULL)
        fail_msg("expected R%u at the application; %s there (last: %s)", i,
                 f->app.cur == NULL ? "nothing" : "another", f->app.last);
}

void fr_answer(struct fr_ep *f)
{
    struct cg_mos_request *r = f->app.cur;
    assert_non_null(r);
    f->app.cur = NULL;
    assert_int_equal(cg_mos_reply_ack(r, true, "applied"), CG_OK);
}

/* ---- state directories ---- */

void fr_mkdtemp(char *dir, size_t size, const char *what)
{
    int n = snprintf(dir, size, "/tmp/cg-test-%s-XXXXXX", what);
    assert_true(n > 0 && (size_t)n < size);
    assert_non_null(mkdtemp(dir));
}

void fr_rmdir(const char *dir)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}
