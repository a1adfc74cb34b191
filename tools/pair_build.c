/* The gateway pair's library objects from [pair]; see pair_build.h. */
#include "pair_build.h"

#include <stdio.h>
#include <string.h>

/* The first line of path: our password at node 1 (M-05). */
static enum cg_err read_password(const char *path, char *pw, size_t size)
{
    FILE *f = fopen(path, "r");
    pw[0] = '\0';
    if (f != NULL && fgets(pw, (int)size, f) == NULL)
        pw[0] = '\0';
    if (f != NULL)
        fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    return pw[0] != '\0' ? CG_OK : CG_EFILE;
}

static enum cg_err client_config(const struct gwpair *p, struct cg_ws_client_config *cc)
{
    enum cg_err rc = CG_OK;
    char pw[512];
    if (p->ca[0] || p->ca_dir[0])
        rc = cg_ws_client_config_set_trust(cc, p->ca[0] ? p->ca : NULL,
                                           p->ca_dir[0] ? p->ca_dir : NULL);
    if (rc == CG_OK && p->pin[0])
        rc = cg_ws_client_config_set_pin(cc, p->pin);
    if (rc == CG_OK && p->cert_name[0])
        rc = cg_ws_client_config_set_cert_name(cc, p->cert_name);
    if (rc == CG_OK && (rc = read_password(p->password_file, pw, sizeof(pw))) != CG_OK)
        fprintf(stderr, "castgate run: [pair] password_file %s: no password in it (missing, "
                "unreadable or empty)\n", p->password_file);
    if (rc == CG_OK)
        rc = cg_ws_client_config_set_basic_auth(cc, p->user, pw);
    explicit_bzero(pw, sizeof(pw));
    return rc;
}

uint64_t pairb_max_record(const struct gwconf *c)
{
    int64_t m = c->g.opt[CG_MOS_OPT_MAX_MESSAGE];
    uint64_t msg = m > 0 ? (uint64_t)m : CG_MOS_DEFAULT_MAX_MESSAGE; /* at most 2^30 */
    uint64_t most = ((uint64_t)1 << 30) - PAIRB_WIRE_ROOM;
    uint64_t r = 2 * msg + PAIRB_RECORD_ROOM;
    return r < most ? r : most;
}

enum cg_err pairb_client(struct cg_ctx *ctx, const struct gwconf *c, struct cg_ws_client **out)
{
    const struct gwpair *p = &c->pair;
    struct cg_ws_client_config *cc = NULL;
    enum cg_err rc = cg_ws_client_config_new(&cc);
    if (rc == CG_OK)
        rc = cg_ws_client_config_set_limit(cc, CG_LIMIT_MAX_WS_MESSAGE,
                                           pairb_max_record(c) + PAIRB_WIRE_ROOM);
    if (rc == CG_OK)
        rc = client_config(p, cc);
    if (rc == CG_OK)
        rc = cg_ws_client_new(ctx, cc, out); /* reads the trust files */
    cg_ws_client_config_free(cc);
    if (rc != CG_OK)
        fprintf(stderr, "castgate run: [pair] node 0 cannot set up its connection to node 1 (%s): "
                "%s\n", p->peer, cg_strerror(rc));
    return rc;
}

static enum cg_err check_node1(struct cg_ctx *ctx, const struct gwconf *c)
{
    struct cg_credentials *cred = NULL;
    enum cg_err rc = cg_credentials_load(ctx, c->pair.credentials, &cred);
    cg_credentials_free(cred);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate run: [pair] credentials %s: %s\n", c->pair.credentials,
                cg_strerror(rc));
        return rc;
    }
    for (int i = 0; i < c->g.ncerts; i++) {
        rc = cg_cert_check_expiry(ctx, c->g.cert[i], NULL); /* an expired one: logged */
        if (rc != CG_OK && rc != CG_EEXPIRED) {
            fprintf(stderr, "castgate run: [pair] node 1's listener: the [gateway] cert %s: %s\n",
                    c->g.cert[i], cg_strerror(rc));
            return rc;
        }
    }
    return CG_OK;
}

enum cg_err pairb_check(struct cg_ctx *ctx, const struct gwconf *c)
{
    if (!c->pair.present)
        return CG_OK;
    if (c->pair.node == 1)
        return check_node1(ctx, c);
    struct cg_ws_client *cli = NULL;
    enum cg_err rc = pairb_client(ctx, c, &cli);
    cg_ws_client_free(cli);
    return rc;
}
