/* Unit tests for src/mos4 pieces that need no network: the upgrade query
 * (M-02), our envelope (M-20), element extraction, NACK detection, the URL a
 * lane dials, and messageID blocks that survive a restart (M-11). */
#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_query_parsing(void **state)
{
    (void)state;
    struct mos4_query q;
    assert_true(cg__mos4_parse_query("mosID=dev.1&ncsID=ncs%20A&channel=ro&passive=true&site=x", &q));
    assert_true(q.has_mos && q.has_ncs && q.has_channel && q.passive);
    assert_string_equal(q.mos_id, "dev.1");
    assert_string_equal(q.ncs_id, "ncs A");
    assert_string_equal(q.channel, "ro");
    assert_true(cg__mos4_parse_query("channel=mom&ncsID=%E6%9D%B1&mosID=m", &q)); /* any order */
    assert_string_equal(q.ncs_id, "\xe6\x9d\xb1");
    assert_false(q.passive);
    assert_true(cg__mos4_parse_query("mosID=%zz&ncsID=%4&channel=%00", &q));
    assert_false(q.has_mos);     /* malformed escape */
    assert_false(q.has_ncs);     /* truncated escape */
    assert_false(q.has_channel); /* NUL refused */
    assert_true(cg__mos4_parse_query("passive=TRUE&channel=toolongchannelname", &q));
    assert_false(q.passive); /* only "true" */
    assert_false(q.has_channel);
}

static void test_element_extraction(void **state)
{
    (void)state;
    const char *elem;
    size_t len;
    char name[64];
    const char whole[] = "<mos><ncsID>N</ncsID><mosID>M</mosID><messageID>7</messageID>"
                         "<roReq><roID>R</roID></roReq></mos>";
    assert_int_equal(cg__mos4_element(whole, strlen(whole), &elem, &len, name, sizeof(name)), CG_OK);
    assert_string_equal(name, "roReq");
    assert_int_equal(len, strlen("<roReq><roID>R</roID></roReq>"));
    assert_memory_equal(elem, "<roReq>", 7);
    const char bare[] = "  <heartbeat><time>2009-04-11T17:20:42</time></heartbeat>";
    assert_int_equal(cg__mos4_element(bare, strlen(bare), &elem, &len, name, sizeof(name)), CG_OK);
    assert_string_equal(name, "heartbeat");
    const char two[] = "<roReq/><roAck/>";
    assert_int_not_equal(cg__mos4_element(two, strlen(two), &elem, &len, name, sizeof(name)), CG_OK);
}

static void test_nack_detection(void **state)
{
    (void)state;
    const char ack[] = "<mosAck><objID>1</objID><status>ACK</status></mosAck>";
    const char nack[] = "<mosAck><objID>1</objID><status> NACK </status></mosAck>";
    const char rok[] = "<roAck><roID>R</roID><roStatus>OK</roStatus></roAck>";
    const char rbad[] = "<roAck><roID>R</roID><roStatus>Unknown object M000133</roStatus></roAck>";
    assert_false(cg__mos4_is_nack("mosAck", ack, strlen(ack)));
    assert_true(cg__mos4_is_nack("mosAck", nack, strlen(nack)));
    assert_false(cg__mos4_is_nack("roAck", rok, strlen(rok)));
    assert_true(cg__mos4_is_nack("roAck", rbad, strlen(rbad)));
    assert_false(cg__mos4_is_nack("listMachInfo", nack, strlen(nack)));
}

/* A peer and lane without an event loop, enough for wire.c and msgid.c. */
struct fixture {
    struct cg_mos_endpoint ep;
    struct mos4_peer peer;
    struct mos4_lane lane;
    char dir[64];
};

static void fixture_init(struct fixture *f, enum cg_mos_role role, const char *state_dir)
{
    memset(f, 0, sizeof(*f));
    f->ep.cfg.role = role;
    snprintf(f->ep.cfg.id, sizeof(f->ep.cfg.id), "%s", role == CG_MOS_ROLE_NCS ? "ncs<1>" : "dev");
    f->ep.cfg.state_dir = (char *)state_dir;
    f->peer.ep = &f->ep;
    snprintf(f->peer.id, sizeof(f->peer.id), "%s", role == CG_MOS_ROLE_NCS ? "dev" : "ncs<1>");
    f->lane.peer = &f->peer;
    f->lane.ch = 1;
}

static void test_envelope_order_and_escaping(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, CG_MOS_ROLE_NCS, NULL);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__mos4_wrap(&f.lane, "<roReq/>", 8, "0x1F", &b), CG_OK);
    assert_int_equal(cg__buf_append(&b, "", 1), CG_OK);
    /* M-20: mosID, ncsID, messageID, message; IDs escaped; messageID verbatim */
    assert_string_equal((char *)b.data, "<mos><mosID>dev</mosID><ncsID>ncs&lt;1&gt;</ncsID>"
                                         "<messageID>0x1F</messageID><roReq/></mos>");
    cg__buf_reset(&b);
    assert_int_equal(cg__mos4_wrap(&f.lane, "<roAck/>", 8, NULL, &b), CG_OK); /* legacy: none */
    assert_int_equal(cg__buf_append(&b, "", 1), CG_OK);
    assert_null(strstr((char *)b.data, "messageID"));
    cg__buf_free(&b);
}

static void test_url_query(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, CG_MOS_ROLE_NCS, NULL);
    f.peer.url = "wss://dev.example:8443/mos/Communication";
    char *url = NULL;
    assert_int_equal(cg__mos4_url_with_query(&f.lane, &url), CG_OK);
    assert_string_equal(url, "wss://dev.example:8443/mos/Communication?mosID=dev&ncsID=ncs%3C1%3E"
                             "&channel=ro");
    free(url);
    f.peer.url = "wss://h/MOS4NCS/?site=7"; /* ENPS-style path with its own query */
    f.lane.passive_dial = true;
    f.lane.ch = 0;
    assert_int_equal(cg__mos4_url_with_query(&f.lane, &url), CG_OK);
    assert_string_equal(url, "wss://h/MOS4NCS/?site=7&mosID=dev&ncsID=ncs%3C1%3E&channel=mom"
                             "&passive=true");
    free(url);
}

static void test_msgid_blocks_survive_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-mos4-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct fixture f;
    fixture_init(&f, CG_MOS_ROLE_NCS, dir);
    for (uint32_t i = 1; i <= 300; i++)
        assert_int_equal(cg__mos4_next_msgid(&f.lane), i);
    /* a "restart": a fresh lane continues after the stored mark, never reusing an ID */
    struct fixture g;
    fixture_init(&g, CG_MOS_ROLE_NCS, dir);
    uint32_t next = cg__mos4_next_msgid(&g.lane);
    assert_true(next > 300);
    assert_true(next <= 300 + 2 * 256 + 1);
    /* without a state directory IDs start at 1 */
    struct fixture h;
    fixture_init(&h, CG_MOS_ROLE_NCS, NULL);
    assert_int_equal(cg__mos4_next_msgid(&h.lane), 1);
    /* the wrap: 2^31-1 is followed by 1 (M-11) */
    h.lane.next_msgid = 2147483647u;
    assert_int_equal(cg__mos4_next_msgid(&h.lane), 1);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_parsing),
        cmocka_unit_test(test_element_extraction),
        cmocka_unit_test(test_nack_detection),
        cmocka_unit_test(test_envelope_order_and_escaping),
        cmocka_unit_test(test_url_query),
        cmocka_unit_test(test_msgid_blocks_survive_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
