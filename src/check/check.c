/* cg_check_tls: the whole `castgate check tls` run, in the order a reader
 * expects the table: protocols, suites, session features, certificates,
 * HTTP. */
#include "check/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CG_API enum cg_err cg_check_tls(struct cg_ctx *ctx, const struct cg_check_tls_opts *opts,
                                struct cg_check_report **out)
{
    CG_CHECK(opts && out, CG_EINVAL);
    *out = NULL;
    struct cg_check_target *t = calloc(1, sizeof(*t));
    struct cg_check_report *r = cg__check_report_new();
    enum cg_err rc = CG_OK;
    uint64_t t0 = cg__now_ms();
    CG_ENSURE(t && r, CG_ENOMEM);
    CG_TRY(cg__check_parse_url(opts->url, t));
    t->ctx = ctx;
    t->ca_file = opts->ca_file;
    t->timeout_ms = opts->timeout_ms;
    t->allow_wildcard = opts->allow_wildcard;
    t->allow_ip = opts->allow_ip;
    CG_ENSURE(!t->ca_file || access(t->ca_file, R_OK) == 0, CG_EFILE);
    int fd;
    CG_TRY(cg__check_connect(t, &fd)); /* unreachable: an error, not a report */
    close(fd);
    bool offered[5];
    CG_TRY(cg__check_run_protocols(t, r, offered));
    CG_TRY(cg__check_run_suites(t, r, offered));
    CG_TRY(cg__check_run_certs(t, r));
    if (!opts->skip_http)
        CG_TRY(cg__check_run_http(t, r));
    if (opts->dnssd_instance)
        CG_TRY(cg__check_run_dnssd(t, r, opts->dnssd_instance, opts->dns_server));
    cg__check_report_set_ms(r, (unsigned long)(cg__now_ms() - t0));
    cg__log(ctx, CG_LOG_INFO, "check", "%s: %zu findings in %lu ms", t->host,
            cg_check_report_count(r), cg_check_report_ms(r));
    *out = r;
    r = NULL;
out:
    cg_check_report_free(r);
    free(t);
    return rc;
}
