/* Unit tests for the endpoint's XML limits (issue 13 item 5): defaults in one
 * place (include/castgate/mos.h, mos4.h), the setter's 0 = default and range. */
#include "testutil.h"
#include "mos4/mos4.h"

static void test_defaults_and_setter(void **state)
{
    (void)state;
    struct cg_mos_endpoint_config *c = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "DEV", &c), CG_OK);
    assert_int_equal(c->xml.max_attributes, CG_MOS_DEFAULT_MAX_ATTRIBUTES);
    assert_int_equal(c->xml.max_depth, CG_MOS_DEFAULT_MAX_DEPTH);
    assert_int_equal(c->async_validate, CG_MOS_DEFAULT_ASYNC_VALIDATE);
    assert_int_equal(cg_mos_endpoint_config_set_xml_limits(c, 8, 16, 1024), CG_OK);
    assert_int_equal(c->xml.max_attributes, 8);
    assert_int_equal(c->xml.max_depth, 16);
    assert_int_equal(c->async_validate, 1024);
    assert_int_equal(cg_mos_endpoint_config_set_xml_limits(c, 0, 0, 0), CG_OK);
    assert_int_equal(c->xml.max_attributes, CG_MOS_DEFAULT_MAX_ATTRIBUTES);
    assert_int_equal(c->xml.max_depth, CG_MOS_DEFAULT_MAX_DEPTH);
    assert_int_equal(c->async_validate, CG_MOS_DEFAULT_ASYNC_VALIDATE);
    assert_int_equal(cg_mos_endpoint_config_set_xml_limits(c, 1000001, 1, 1), CG_ERANGE);
    assert_int_equal(cg_mos_endpoint_config_set_xml_limits(c, 1, 1000001, 1), CG_ERANGE);
    assert_int_equal(cg_mos_endpoint_config_set_xml_limits(NULL, 1, 1, 1), CG_EINVAL);
    cg_mos_endpoint_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_setter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
