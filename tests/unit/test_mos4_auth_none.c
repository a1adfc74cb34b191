/* Secure by default in the library too (M-05; before, only the config
 * reader tools/mos_config.c had the rule): an endpoint without credentials
 * cannot be attached to a server unless the application calls
 * cg_mos_endpoint_config_set_auth_none(cfg, true). An endpoint that only
 * dials needs neither. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>



static struct cg_server *server(struct cg_ctx *ctx)
{
    struct cg_server_config *sc = NULL;
    struct cg_server *srv = NULL;
    assert_int_equal(cg_server_config_new(&sc), CG_OK);
    assert_int_equal(cg_server_config_add_listen(sc, "127.0.0.1", 0), CG_OK);
    assert_int_equal(cg_server_config_add_cert(sc, tu_in("server-ecdsa.chain.pem"), tu_in("server-ecdsa.key")), CG_OK);
    assert_int_equal(cg_server_config_set_ocsp(sc, false, NULL), CG_OK);
    assert_int_equal(cg_server_new(ctx, sc, &srv), CG_OK);
    cg_server_config_free(sc);
    return srv;
}

static struct cg_mos_endpoint *endpoint(struct cg_ctx *ctx, int auth_none)
{
    struct cg_mos_endpoint_config *ec = NULL;
    struct cg_mos_endpoint *ep = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "DEV", &ec), CG_OK);
    if (auth_none >= 0)
        assert_int_equal(cg_mos_endpoint_config_set_auth_none(ec, auth_none != 0), CG_OK);
    assert_int_equal(cg_mos_endpoint_new(ctx, ec, NULL, NULL, &ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    return ep;
}

static void test_listener_without_credentials_refused(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    struct cg_server *srv = server(ctx);
    struct cg_mos_endpoint *ep = endpoint(ctx, -1); /* the default */
    assert_int_equal(cg_mos_endpoint_attach(ep, srv, "/mos/Communication"), CG_ECONFIG);
    cg_mos_endpoint_free(ep);
    ep = endpoint(ctx, 0); /* said off */
    assert_int_equal(cg_mos_endpoint_attach(ep, srv, "/mos/Communication"), CG_ECONFIG);
    cg_mos_endpoint_free(ep);
    ep = endpoint(ctx, 1); /* the application means it */
    assert_int_equal(cg_mos_endpoint_attach(ep, srv, "/mos/Communication"), CG_OK);
    assert_int_equal(cg_mos_endpoint_start(ep), CG_OK);
    cg_mos_endpoint_free(ep);
    ep = endpoint(ctx, -1); /* dialing only: nothing to refuse */
    assert_int_equal(cg_mos_endpoint_start(ep), CG_OK);
    cg_mos_endpoint_free(ep);
    cg_server_free(srv);
    cg_ctx_free(ctx);
    assert_int_equal(cg_mos_endpoint_config_set_auth_none(NULL, true), CG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listener_without_credentials_refused),
    };
    return cmocka_run_group_tests(tests, tu_group_pki, tu_group_rm);
}
