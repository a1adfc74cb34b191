/* The public face of M-05's credential checks (auth.c) for any server route:
 * castgate serve's --credentials, applications' own routes. */
#include "mos4/auth.h"

#include <castgate/auth.h>
#include <stdlib.h>
#include <string.h>

struct cg_credentials {
    struct cg_auth *auth;
};

CG_API enum cg_err cg_credentials_load(struct cg_ctx *ctx, const char *file,
                                       struct cg_credentials **out)
{
    CG_CHECK(file != NULL && out != NULL, CG_EINVAL);
    struct cg_credentials *c = calloc(1, sizeof(*c));
    CG_CHECK(c != NULL, CG_ENOMEM);
    enum cg_err rc = cg__auth_load(ctx, file, NULL, &c->auth);
    if (rc != CG_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return CG_OK;
}

CG_API enum cg_err cg_credentials_reload(struct cg_credentials *cred)
{
    CG_CHECK(cred != NULL, CG_EINVAL);
    return cg__auth_reload(cred->auth);
}

CG_API enum cg_err cg_credentials_stats(const struct cg_credentials *cred, struct cg_auth_stats *out)
{
    CG_CHECK(cred != NULL && out != NULL, CG_EINVAL);
    *out = cg__auth_stats(cred->auth);
    return CG_OK;
}

CG_API void cg_credentials_free(struct cg_credentials *cred)
{
    if (cred == NULL)
        return;
    cg__auth_free(cred->auth);
    free(cred);
}

/* "ip:port", "[v6]:port" or a bare address: the address alone, which is what
 * failures are counted by. */
static bool peer_address(const char *peer, char *out, size_t outsz)
{
    size_t n = strlen(peer);
    if (n == 0 || n >= outsz)
        return false;
    memcpy(out, peer, n + 1);
    if (out[0] == '[') {
        char *end = strchr(out, ']');
        if (end == NULL)
            return false;
        *end = '\0';
        memmove(out, out + 1, (size_t)(end - out));
        return true;
    }
    char *colon = strchr(out, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL)
        *colon = '\0'; /* IPv4 with a port; several colons: a bare IPv6 address */
    return true;
}

CG_API enum cg_err cg_credentials_check(struct cg_credentials *cred, const char *authorization,
                                        const char *peer, char *user, size_t usersz)
{
    char addr[64];
    CG_CHECK(cred != NULL && peer != NULL && user != NULL && usersz > CG_AUTH_USER_MAX,
             CG_EINVAL);
    CG_CHECK(peer_address(peer, addr, sizeof(addr)), CG_EINVAL);
    return cg__auth_check(cred->auth, authorization, addr, user, usersz);
}

CG_API enum cg_err cg_credentials_check_async(struct cg_credentials *cred,
                                              const char *authorization, const char *peer,
                                              char *user, size_t usersz,
                                              cg_credentials_done_fn done, void *done_user)
{
    char addr[64];
    CG_CHECK(cred != NULL && peer != NULL && user != NULL && usersz > CG_AUTH_USER_MAX &&
                 done != NULL,
             CG_EINVAL);
    CG_CHECK(peer_address(peer, addr, sizeof(addr)), CG_EINVAL);
    return cg__auth_check_async(cred->auth, authorization, addr, user, usersz, done, done_user);
}
