/* The option table of the configuration files (tools/mos_config.c, issue 16):
 * --help, castgate.conf(5) and docs/options.md list every row; the committed
 * docs/options.md is what the table generates; a choice's names are the
 * library's enum values; a number's bounds are the library's, as the reader
 * enforces them; the reload check names exactly the restart rows. The tool's
 * sources are compiled in here (they are not part of the library). */
/* first: cmocka's fail() macro would rename the reader's fail() */
#include "../../tools/mos_config.c"
#include "../../tools/mos_config_doc.c"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void man(FILE *f)
{
    mosconf_man(f, "test");
}

/* Every row is in the help of its program, the page and the Markdown, once. */
static void test_every_row_is_documented(void **state)
{
    (void)state;
    char *gw = tu_printed(gwconf_help), *ep = tu_printed(mosconf_help), *page = tu_printed(man),
         *md = tu_printed(mosconf_markdown);
    for (size_t i = 0; i < mos_opt_nrows; i++) {
        const struct opt_row *r = &mos_opt_rows[i];
        char line[80], bi[80], cell[80];
        snprintf(line, sizeof(line), "\n    %s ", r->name);
        snprintf(bi, sizeof(bi), ".BI \"%s = \"", r->name);
        snprintf(cell, sizeof(cell), "| `%s` |", r->name);
        bool in_gw = opt_in(r, true, "gateway") || opt_in(r, true, "link") ||
                     opt_in(r, true, "pair");
        bool in_ep = opt_in(r, false, "endpoint") || opt_in(r, false, "peer");
        if ((in_gw && strstr(gw, line) == NULL) || (in_ep && strstr(ep, line) == NULL))
            fail_msg("%s is not in --help", r->name);
        char esc[80]; /* the page escapes hyphens; names have none */
        snprintf(esc, sizeof(esc), "%s", bi);
        if (strstr(page, esc) == NULL)
            fail_msg("%s is not in castgate.conf(5)", r->name);
        if (strstr(md, cell) == NULL)
            fail_msg("%s is not in docs/options.md", r->name);
        if ((r->flags & OPT_RESTART) && !(r->type == OPT_CERT)) {
            char restart[120];
            snprintf(restart, sizeof(restart), "    %-17s %s", r->name, r->help);
            const char *at = strstr(gw, restart);
            assert_non_null(at);
            const char *eol = strchr(at, '\n');
            if (eol == NULL || eol - at < 9 || strncmp(eol - 9, "[restart]", 9) != 0)
                fail_msg("%s: --help does not say it takes a restart", r->name);
        }
    }
    free(gw);
    free(ep);
    free(page);
    free(md);
}

/* The other way round: every option line of a --help is a row of the
 * section it stands under, so the help lists the table and nothing else. */
static void help_lists_only_rows(const char *help, bool gateway_file)
{
    char sect[32] = "";
    size_t lines = 0, rows = 0;
    for (const char *l = help; *l != '\0';) {
        const char *eol = strchr(l, '\n');
        size_t n = eol != NULL ? (size_t)(eol - l) : strlen(l);
        char name[64];
        if (sscanf(l, "  [%31[a-z]", sect) == 1 && strncmp(l, "    ", 4) != 0) {
            /* a section header: "  [gateway]", "  [link NAME]", "  [peer PEER-ID]" */
        } else if (n > 4 && strncmp(l, "    ", 4) == 0 && l[4] != ' ' &&
                   sscanf(l + 4, "%63s", name) == 1) {
            const struct opt_row *found = NULL;
            for (size_t i = 0; i < mos_opt_nrows && found == NULL; i++)
                if (strcmp(mos_opt_rows[i].name, name) == 0 &&
                    opt_in(&mos_opt_rows[i], gateway_file, sect))
                    found = &mos_opt_rows[i];
            if (found == NULL)
                fail_msg("--help lists %s under [%s]: no such row", name, sect);
            lines++;
        }
        l += n + (eol != NULL);
    }
    static const char *const gw[] = {"gateway", "link", "pair"}, *const ep[] = {"endpoint", "peer"};
    for (size_t i = 0; i < mos_opt_nrows; i++)
        for (size_t k = 0; k < (gateway_file ? 3 : 2); k++)
            rows += opt_in(&mos_opt_rows[i], gateway_file, gateway_file ? gw[k] : ep[k]);
    assert_int_equal(lines, rows);
}

static void test_help_lists_only_rows(void **state)
{
    (void)state;
    char *gw = tu_printed(gwconf_help), *ep = tu_printed(mosconf_help);
    help_lists_only_rows(gw, true);
    help_lists_only_rows(ep, false);
    free(gw);
    free(ep);
}

/* docs/options.md is generated (castgate config --markdown > docs/options.md). */
static void test_docs_options_md_is_current(void **state)
{
    (void)state;
    char *md = tu_printed(mosconf_markdown);
    FILE *f = fopen(tu_src_path("docs/options.md"), "r");
    assert_non_null(f);
    static char committed[65536];
    size_t n = fread(committed, 1, sizeof(committed) - 1, f);
    fclose(f);
    committed[n] = '\0';
    if (strcmp(committed, md) != 0)
        fail_msg("docs/options.md is not what the table generates: run "
                 "castgate config --markdown >docs/options.md");
    free(md);
}

/* A choice's names stand for the enum values the library takes, in order,
 * and its help names each of them. */
static void test_choices_are_the_librarys_values(void **state)
{
    (void)state;
    struct cg_mos_endpoint_config *ec = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_NCS, "N", &ec), CG_OK);
    for (size_t i = 0; i < mos_opt_nrows; i++) {
        const struct opt_row *r = &mos_opt_rows[i];
        if (r->type != OPT_CHOICE)
            continue;
        long n = 0;
        for (; r->names[n] != NULL; n++) {
            if (strstr(r->help, r->names[n]) == NULL)
                fail_msg("%s: the help does not name %s", r->name, r->names[n]);
            enum cg_relay_removed rm;
            enum cg_relay_heartbeat hb;
            if (r->lib != OPT_NONE)
                assert_int_equal(cg_mos_endpoint_config_set_option(ec, r->lib, n), CG_OK);
            else if (!strcmp(r->name, "removed_in_4")) {
                assert_int_equal(cg_relay_removed_parse(r->names[n], &rm), CG_OK);
                assert_int_equal(rm, n);
            } else if (!strcmp(r->name, "heartbeat")) {
                assert_int_equal(cg_relay_heartbeat_parse(r->names[n], &hb), CG_OK);
                assert_int_equal(hb, n);
            }
        }
        if (r->lib != OPT_NONE)
            assert_int_not_equal(cg_mos_endpoint_config_set_option(ec, r->lib, n), CG_OK);
    }
    assert_int_equal(CG_MOS_ROLE_MOS, 1); /* role_names, the link's legacy */
    assert_int_equal(CG_MOS_PASSIVE_OUTSIDE, 2);
    assert_int_equal(CG_MOS_UTF8, 1);
    assert_int_equal(CG_MOS_FSYNC_NEVER, 2);
    cg_mos_endpoint_config_free(ec);
}

/* Loads an endpoint file with one more line; returns mosconf_load's result
 * and what it printed. */
static int load_endpoint(const char *extra, struct mosconf *c, char *err, size_t size)
{
    char path[] = "/tmp/cg_test_options_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "[endpoint]\nrole = ncs\nid = N\n%s\n", extra);
    fclose(f);
    struct tu_stderr cap;
    tu_stderr_begin(&cap);
    int rc = mosconf_load(path, c);
    tu_stderr_end(&cap, err, size);
    unlink(path);
    return rc;
}

/* The file's bounds of a library option are the library's: its ends load,
 * one past them is refused naming the bounds; the default is the library's. */
static void test_number_bounds_are_the_librarys(void **state)
{
    (void)state;
    struct mosconf *c = calloc(1, sizeof(*c));
    char err[512], line[128], want[128];
    for (size_t i = 0; i < mos_opt_nrows; i++) {
        const struct opt_row *r = &mos_opt_rows[i];
        if (r->type != OPT_NUMBER)
            continue;
        long min, max;
        opt_bounds(r, &min, &max);
        snprintf(want, sizeof(want), "%s must be %ld..%ld", r->name, min, max);
        const long ok[] = {min, max}, bad[] = {min - 1, max + 1};
        for (int k = 0; k < 2; k++) {
            snprintf(line, sizeof(line), "%s = %ld", r->name, ok[k]);
            if (load_endpoint(r->section[0] == 'e' ? line : "", c, err, sizeof(err)) != 0)
                fail_msg("%s refused: %s", line, err);
            if (r->section[0] != 'e')
                continue;
            snprintf(line, sizeof(line), "%s = %ld", r->name, bad[k]);
            if (load_endpoint(line, c, err, sizeof(err)) == 0 || strstr(err, want) == NULL)
                fail_msg("%s: wanted \"%s\", got \"%s\"", line, want, err);
        }
        if (r->lib != OPT_NONE) {
            int64_t def;
            assert_int_equal(load_endpoint("", c, err, sizeof(err)), 0);
            cg_mos_endpoint_option_info(r->lib, NULL, NULL, &def, NULL);
            assert_int_equal(c->opt[r->lib], def);
        }
    }
    assert_int_not_equal(load_endpoint("heartbeat_time = long", c, err, sizeof(err)), 0);
    assert_non_null(strstr(err, ":4: heartbeat_time must be full or short: long"));
    assert_int_not_equal(load_endpoint("validate = perhaps", c, err, sizeof(err)), 0);
    assert_non_null(strstr(err, ":4: expected yes or no: perhaps"));
    free(c);
}

static void change(const struct opt_row *r, char *base)
{
    if (r->lib != OPT_NONE)
        ((struct mosconf *)base)->opt[r->lib] += 1;
    else if (r->type == OPT_TEXT || r->type == OPT_PATH)
        snprintf(base + r->off, r->size, "changed");
    else if (r->size == sizeof(int))
        *(int *)(base + r->off) += 1;
    else
        *(long *)(base + r->off) += 1;
}

/* The reload check names a [gateway] option when and only when it is a restart row. */
static void test_reload_check_names_the_restart_rows(void **state)
{
    (void)state;
    struct gwconf *a = calloc(2, sizeof(*a)), *b = a + 1;
    char what[512];
    /* the restart rows: what warn_fixed named before the table (listen,
     * state_dir, journal/fsync, "timing or limits") */
    static const char restart[] =
        " listen state_dir journal fsync keepalive_s ack_timeout_ms retries reconnect_max_ms "
        "refused_backoff_max_ms max_message validate heartbeat_time silent_reset_s max_attributes "
        "max_depth validate_async_bytes answer_memory auth_hash_rate auth_hash_burst ";
    gwconf_fixed_changes(a, a, what, sizeof(what));
    assert_string_equal(what, "");
    for (size_t i = 0; i < mos_opt_nrows; i++) {
        const struct opt_row *r = &mos_opt_rows[i];
        if (!opt_in(r, true, "gateway") || r->type == OPT_CERT)
            continue;
        *b = *a;
        change(r, !strcmp(r->section, "gateway") ? (char *)b : (char *)&b->g);
        gwconf_fixed_changes(a, b, what, sizeof(what));
        bool named = strcmp(what, r->name) == 0;
        if (named != ((r->flags & OPT_RESTART) != 0))
            fail_msg("%s changed: the reload check says \"%s\"", r->name, what);
        char word[64];
        snprintf(word, sizeof(word), " %s ", r->name);
        if ((strstr(restart, word) != NULL) != named)
            fail_msg("%s: restart %s, before the table %s", r->name, named ? "yes" : "no",
                     named ? "no" : "yes");
    }
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_is_documented),
        cmocka_unit_test(test_help_lists_only_rows),
        cmocka_unit_test(test_docs_options_md_is_current),
        cmocka_unit_test(test_choices_are_the_librarys_values),
        cmocka_unit_test(test_number_bounds_are_the_librarys),
        cmocka_unit_test(test_reload_check_names_the_restart_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
