/* The endpoint's options by number (cg_mos_endpoint_config_set_option, issue
 * 16): each option's bounds and default come from one table in
 * src/mos4/endpoint.c; the named setters check through it, and a program
 * asks cg_mos_endpoint_option_info instead of keeping its own copy. */
#include "mos4/mos4.h"
#include "testutil.h"

static struct cg_mos_endpoint_config *fresh(void)
{
    struct cg_mos_endpoint_config *c = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_NCS, "N", &c), CG_OK);
    return c;
}

/* Every option: its bounds are accepted, one past them refused, its default valid. */
static void test_every_option_keeps_its_bounds(void **state)
{
    (void)state;
    struct cg_mos_endpoint_config *c = fresh();
    for (int i = 0; i < CG_MOS_OPT_COUNT; i++) {
        enum cg_mos_option o = (enum cg_mos_option)i;
        int64_t min = -1, max = -1, def = -1;
        bool zero_off = false;
        assert_int_equal(cg_mos_endpoint_option_info(o, &min, &max, &def, &zero_off), CG_OK);
        assert_true(min <= max);
        assert_int_equal(cg_mos_endpoint_config_set_option(c, o, def), CG_OK);
        assert_int_equal(cg_mos_endpoint_config_set_option(c, o, min), CG_OK);
        assert_int_equal(cg_mos_endpoint_config_set_option(c, o, max), CG_OK);
        assert_int_not_equal(cg_mos_endpoint_config_set_option(c, o, max + 1), CG_OK);
        if (min - 1 != 0 || !zero_off)
            assert_int_not_equal(cg_mos_endpoint_config_set_option(c, o, min - 1), CG_OK);
        enum cg_err zero = cg_mos_endpoint_config_set_option(c, o, 0);
        if (zero_off || min <= 0)
            assert_int_equal(zero, CG_OK);
        else
            assert_int_not_equal(zero, CG_OK);
    }
    assert_int_equal(cg_mos_endpoint_config_set_option(c, CG_MOS_OPT_COUNT, 1), CG_EINVAL);
    assert_int_equal(cg_mos_endpoint_config_set_option(NULL, CG_MOS_OPT_RETRIES, 1), CG_EINVAL);
    assert_int_equal(cg_mos_endpoint_option_info(CG_MOS_OPT_COUNT, NULL, NULL, NULL, NULL),
                     CG_EINVAL);
    cg_mos_endpoint_config_free(c);
}

/* A new configuration holds the table's defaults. */
static void test_defaults_are_the_tables(void **state)
{
    (void)state;
    struct cg_mos_endpoint_config *c = fresh();
    int64_t def;
    cg_mos_endpoint_option_info(CG_MOS_OPT_KEEPALIVE_MS, NULL, NULL, &def, NULL);
    assert_int_equal(c->keepalive_ms, def);
    assert_int_equal(c->keepalive_ms, 30000);
    cg_mos_endpoint_option_info(CG_MOS_OPT_RETRIES, NULL, NULL, &def, NULL);
    assert_int_equal(c->retries, CG_MOS_DEFAULT_RETRIES);
    assert_int_equal(c->refused_max_ms, 60000);
    assert_int_equal(c->max_message, CG_MOS_DEFAULT_MAX_MESSAGE);
    assert_true(c->validate);
    assert_int_equal(c->heartbeat_form, CG_MOS_TIME_FULL);
    assert_int_equal(c->silent_reset_ms, 0);
    assert_int_equal(c->xml.max_attributes, CG_MOS_DEFAULT_MAX_ATTRIBUTES);
    assert_int_equal(c->xml.max_depth, CG_MOS_DEFAULT_MAX_DEPTH);
    assert_int_equal(c->async_validate, CG_MOS_DEFAULT_ASYNC_VALIDATE);
    assert_int_equal(c->reused_id, CG_MOS_REUSED_DELIVER);
    cg_mos_endpoint_config_free(c);
}

/* Set by number, read where the named setter puts it; a refused value changes nothing. */
static void test_set_option_stores_and_refuses(void **state)
{
    (void)state;
    struct cg_mos_endpoint_config *c = fresh();
    assert_int_equal(cg_mos_endpoint_config_set_option(c, CG_MOS_OPT_KEEPALIVE_MS, 45000), CG_OK);
    assert_int_equal(c->keepalive_ms, 45000);
    assert_int_equal(cg_mos_endpoint_config_set_option(c, CG_MOS_OPT_VALIDATE, 0), CG_OK);
    assert_false(c->validate);
    assert_int_equal(cg_mos_endpoint_config_set_option(c, CG_MOS_OPT_REUSED_ID, CG_MOS_REUSED_NACK),
                     CG_OK);
    assert_int_equal(c->reused_id, CG_MOS_REUSED_NACK);
    assert_int_equal(cg_mos_endpoint_config_set_option(c, CG_MOS_OPT_ASYNC_VALIDATE_BYTES, 4096),
                     CG_OK);
    assert_int_equal(c->async_validate, 4096);
    assert_int_equal(cg_mos_endpoint_config_set_option(c, CG_MOS_OPT_SILENT_RESET_MS, 999),
                     CG_ERANGE);
    assert_int_equal(cg_mos_endpoint_config_set_option(c, CG_MOS_OPT_HEARTBEAT_TIME, 2), CG_EINVAL);
    assert_int_equal(c->silent_reset_ms, 0);
    /* the named setter: all four checked before any is stored */
    assert_int_equal(cg_mos_endpoint_config_set_timing(c, 30000, 50, 3, 1000), CG_ERANGE);
    assert_int_equal(c->keepalive_ms, 45000);
    assert_int_equal(cg_mos_endpoint_config_set_timing(c, 86400001, 1000, 3, 1000), CG_ERANGE);
    assert_int_equal(cg_mos_endpoint_config_set_heartbeat_time(c, (enum cg_mos_time_form)7),
                     CG_EINVAL);
    cg_mos_endpoint_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_option_keeps_its_bounds),
        cmocka_unit_test(test_defaults_are_the_tables),
        cmocka_unit_test(test_set_option_stores_and_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
