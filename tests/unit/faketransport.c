/* See faketransport.h. */
#include "faketransport.h"

#include <castgate/relay.h>

#include <stdlib.h>
#include <string.h>

static enum cg_err ft_write(void *t, enum cg_mos_encoding to, const char *xml, size_t len)
{
    struct ft_fake *k = t;
    assert_int_equal(to, CG_MOS_UTF8); /* text frames */
    assert_true(k->n < FT_MAX);
    k->w[k->n] = malloc(len + 1);
    assert_non_null(k->w[k->n]);
    memcpy(k->w[k->n], xml, len);
    k->w[k->n++][len] = '\0';
    return CG_OK;
}

static void ft_close(void *t, uint16_t code, const char *why)
{
    (void)t, (void)code, (void)why;
}

static const char *ft_addr(const void *t)
{
    (void)t;
    return "fake:1";
}

const struct mos4_transport_ops ft_ops = {
    .name = "fake", .write = ft_write, .close = ft_close, .peer_addr = ft_addr};

struct mos4_lane *ft_lane(struct cg_mos_endpoint *ep, const char *peer_id, enum cg_mos_dir dir)
{
    struct mos4_peer *p = cg__mos4_peer(ep, peer_id);
    assert_non_null(p);
    return &p->lanes[1][dir]; /* ro */
}

void ft_up(struct mos4_lane *l, struct ft_fake *k)
{
    cg__mos4_lane_attach(l, &ft_ops, k);
    cg__mos4_lane_up(l);
}

void ft_message(struct mos4_lane *l, const char *xml)
{
    cg__mos4_on_message(l, false, (const uint8_t *)xml, strlen(xml));
}

struct cg_mos_peer_config *ft_peer(const char *id)
{
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new(id, &pc), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_channels(pc, CG_MOS_CH_RO), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_text_frames(pc, true), CG_OK);
    return pc;
}

void ft_relay(const char *link, const char *ncs_id, const char *mos_id, struct tu_log *log,
              struct cg_ctx **ctx, struct cg_relay **r, struct cg_relay_link_config **lc)
{
    *ctx = NULL;
    *r = NULL;
    *lc = NULL;
    assert_int_equal(cg_ctx_new(ctx), CG_OK);
    cg_ctx_set_log(*ctx, tu_log_fn, log, CG_LOG_DEBUG);
    assert_int_equal(cg_relay_new(*ctx, NULL, NULL, NULL, r), CG_OK);
    assert_int_equal(cg_relay_link_config_new(link, lc), CG_OK);
    assert_int_equal(cg_relay_link_config_set_gear(*lc, CG_MOS_ROLE_NCS, ncs_id, mos_id), CG_OK);
}

size_t ft_written(const struct ft_fake *k, const char *needle)
{
    size_t c = 0;
    for (size_t i = 0; i < k->n; i++)
        c += strstr(k->w[i], needle) != NULL;
    return c;
}

void ft_clear(struct ft_fake *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->w[i]);
    k->n = 0;
}
