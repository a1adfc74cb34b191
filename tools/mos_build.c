/* Library objects from the configuration files: peers, the listener, and
 * the JSON line the MOS commands print per message. */
#include "mos_build.h"

#include "tool_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mosb_print_message(const char *event, const struct cg_mos_message *m, const char *extra)
{
    mosb_write_message(event, m, extra);
    fflush(stdout);
}

/* Put together in one buffer, handed to stdio once: castgate run writes one
 * a relayed message (issue 13: six printf calls and a putchar per character
 * were 4% of a gateway's instructions per 1 KB message). */
void mosb_write_message(const char *event, const struct cg_mos_message *m, const char *extra)
{
    struct tool_line l = {.f = stdout};
    tool_line_str(&l, "{\"event\":\"");
    tool_line_str(&l, event);
    tool_line_str(&l, "\",\"peer\":");
    tool_line_json(&l, m->peer_id);
    tool_line_str(&l, ",\"channel\":\"");
    tool_line_str(&l, cg_mos_channel_name(m->channel));
    tool_line_str(&l, "\",\"message\":");
    tool_line_json(&l, m->env->name);
    tool_line_str(&l, ",\"mosID\":");
    tool_line_json(&l, m->env->mos_id);
    tool_line_str(&l, ",\"ncsID\":");
    tool_line_json(&l, m->env->ncs_id);
    tool_line_str(&l, ",\"messageID\":");
    tool_line_json(&l, m->env->message_id);
    tool_line_str(&l, ",\"bytes\":");
    tool_line_dec(&l, m->len);
    if (m->repeat)
        tool_line_str(&l, ",\"repeat\":true");
    if (extra != NULL)
        tool_line_str(&l, extra);
    tool_line_put(&l, "}\n", 2);
    tool_line_end(&l);
}

unsigned mosb_channels(const char *s)
{
    if (s[0] == '\0')
        return CG_MOS_CH_MOM | CG_MOS_CH_RO;
    unsigned bits = 0;
    char buf[32];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *t = strtok(buf, ", "); t != NULL; t = strtok(NULL, ", "))
        bits |= !strcmp(t, "mom") ? CG_MOS_CH_MOM : !strcmp(t, "ro") ? CG_MOS_CH_RO
              : !strcmp(t, "aux") ? CG_MOS_CH_AUX : 0x100;
    return bits;
}

static enum cg_err peer_client(const struct mosconf_peer *p, struct cg_ws_client_config *cc)
{
    enum cg_err rc = CG_OK;
    if (p->ca[0] || p->ca_dir[0])
        rc = cg_ws_client_config_set_trust(cc, p->ca[0] ? p->ca : NULL, p->ca_dir[0] ? p->ca_dir : NULL);
    if (rc == CG_OK && p->pin[0])
        rc = cg_ws_client_config_set_pin(cc, p->pin);
    if (rc == CG_OK && p->cert_name[0] &&
        (rc = cg_ws_client_config_set_cert_name(cc, p->cert_name)) != CG_OK)
        fprintf(stderr, "castgate mos: peer %s: cert_name: not a host name or address: %s\n", p->id,
                p->cert_name);
    if (rc == CG_OK && p->self_signed)
        rc = cg_ws_client_config_set_self_signed(cc, true);
    if (rc != CG_OK || p->user[0] == '\0')
        return rc;
    FILE *f = fopen(p->password_file, "r");
    char pw[512] = "";
    if (f == NULL || fgets(pw, sizeof(pw), f) == NULL)
        rc = CG_EFILE;
    if (f != NULL)
        fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    if (rc == CG_OK)
        rc = cg_ws_client_config_set_basic_auth(cc, p->user, pw);
    memset(pw, 0, sizeof(pw));
    return rc;
}

static enum cg_err add_legacy(struct cg_mos_peer_config *pc, const struct mosconf_peer *p)
{
    char host[256];
    uint16_t port[3];
    enum cg_mos_encoding enc = (enum cg_mos_encoding)p->legacy_encoding;
    enum cg_err rc = CG_OK;
    if (p->legacy_dial[0])
        rc = tool_parse_addr(p->legacy_dial, host, sizeof(host), port, 3) != 0
                 ? CG_ECONFIG
                 : cg_mos_peer_config_set_legacy_dial(pc, host, port[0], port[1], port[2], enc);
    if (rc == CG_OK && p->legacy_listen[0])
        rc = tool_parse_addr(p->legacy_listen, host, sizeof(host), port, 3) != 0
                 ? CG_ECONFIG
                 : cg_mos_peer_config_set_legacy_listen(pc, host, port[0], port[1], port[2]);
    if (rc == CG_OK && (rc = cg_mos_peer_config_set_legacy_allow(pc, p->legacy_allow)) != CG_OK)
        fprintf(stderr, "castgate mos: peer %s: legacy_allow: not a list of addresses and "
                "ADDR/BITS prefixes: %s\n", p->id, p->legacy_allow);
    if (rc == CG_OK && !p->legacy_dial[0]) /* listen only: still set the encoding */
        rc = cg_mos_peer_config_set_legacy_dial(pc, "-", 0, 0, 0, enc);
    return rc;
}

enum cg_err mosb_peer_config(const struct mosconf_peer *p, struct cg_mos_peer_config **out,
                             struct cg_ws_client_config **client)
{
    struct cg_mos_peer_config *pc = NULL;
    struct cg_ws_client_config *cc = NULL;
    unsigned ch = mosb_channels(p->channels);
    enum cg_err rc = ch == 0 || ch > 7 ? CG_ECONFIG : CG_OK;
    if (rc == CG_OK)
        rc = cg_mos_peer_config_new(p->id, &pc);
    if (rc == CG_OK && p->url[0])
        rc = cg_mos_peer_config_set_url(pc, p->url);
    if (rc == CG_OK)
        rc = cg_mos_peer_config_set_mode(pc, (enum cg_mos_mode)p->mode);
    if (rc == CG_OK)
        rc = cg_mos_peer_config_set_channels(pc, ch);
    if (rc == CG_OK)
        rc = cg_mos_peer_config_set_text_frames(pc, p->text_frames);
    if (rc == CG_OK && (p->legacy_dial[0] || p->legacy_listen[0]))
        rc = add_legacy(pc, p);
    if (rc == CG_OK)
        rc = cg_ws_client_config_new(&cc);
    if (rc == CG_OK)
        rc = peer_client(p, cc);
    if (rc == CG_OK)
        rc = cg_mos_peer_config_set_client(pc, cc);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate mos: peer %s: %s\n", p->id, cg_strerror(rc));
        cg_ws_client_config_free(cc);
        cg_mos_peer_config_free(pc);
        return rc;
    }
    *out = pc;
    *client = cc;
    return CG_OK;
}

enum cg_err mosb_add_peer(struct cg_mos_endpoint *ep, const struct mosconf_peer *p)
{
    struct cg_mos_peer_config *pc = NULL;
    struct cg_ws_client_config *cc = NULL;
    enum cg_err rc = mosb_peer_config(p, &pc, &cc);
    if (rc != CG_OK)
        return rc;
    rc = cg_mos_endpoint_add_peer(ep, pc);
    if (rc != CG_OK)
        fprintf(stderr, "castgate mos: peer %s: %s\n", p->id, cg_strerror(rc));
    cg_ws_client_config_free(cc);
    cg_mos_peer_config_free(pc);
    return rc;
}

enum cg_err mosb_server(struct cg_ctx *ctx, const struct mosconf *c, struct cg_server **out)
{
    struct cg_server_config *sc = NULL;
    char host[64];
    uint16_t port;
    if (tool_parse_addr(c->listen, host, sizeof(host), &port, 1) != 0) {
        fprintf(stderr, "castgate mos: bad listen '%s' (ADDR:PORT)\n", c->listen);
        return CG_ECONFIG;
    }
    enum cg_err rc = cg_server_config_new(&sc);
    if (rc == CG_OK)
        rc = cg_server_config_add_listen(sc, host, port);
    for (int i = 0; rc == CG_OK && i < c->ncerts; i++)
        rc = cg_server_config_add_cert(sc, c->cert[i], c->key[i]);
    if (rc == CG_OK)
        rc = cg_server_config_set_ocsp(sc, c->ocsp, NULL);
    if (rc == CG_OK)
        rc = cg_server_config_set_hsts(sc, (uint32_t)c->hsts, false);
    if (rc == CG_OK)
        rc = cg_server_config_set_limit(sc, CG_LIMIT_MAX_WS_MESSAGE,
                                        (uint64_t)c->opt[CG_MOS_OPT_MAX_MESSAGE]);
    if (rc == CG_OK)
        rc = cg_server_new(ctx, sc, out);
    cg_server_config_free(sc);
    return rc;
}
