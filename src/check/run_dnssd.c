/* --dnssd INSTANCE (B-40, B-42, B-32): the instance's SRV record is found by
 * unicast DNS, and its target host is a name in every certificate the
 * endpoint serves (the trailing dot DNS-SD returns is tolerated). A blocking
 * ldns query; the certificates come from one handshake per key type. */
#include "check/check.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "IP[:PORT]" or "[IPv6]:PORT"; NULL: /etc/resolv.conf. */
static ldns_resolver *resolver(const char *server, unsigned ms)
{
    ldns_resolver *res = NULL;
    if (!server) {
        if (ldns_resolver_new_frm_file(&res, NULL) != LDNS_STATUS_OK)
            return NULL;
    } else {
        char ip[64] = "";
        unsigned port = 53;
        const char *p = server;
        if (*p == '[') {
            const char *rb = strchr(p, ']');
            if (!rb || (size_t)(rb - p - 1) >= sizeof(ip))
                return NULL;
            memcpy(ip, p + 1, (size_t)(rb - p - 1));
            p = rb + 1;
        } else {
            size_t n = strcspn(p, ":");
            if (n >= sizeof(ip))
                return NULL;
            memcpy(ip, p, n);
            p += n;
        }
        if (*p == ':')
            port = (unsigned)strtoul(p + 1, NULL, 10);
        uint8_t a[16];
        bool v6 = inet_pton(AF_INET6, ip, a) == 1;
        if ((!v6 && inet_pton(AF_INET, ip, a) != 1) || port == 0 || port > 65535)
            return NULL;
        ldns_rdf *ns = ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, ip);
        res = ldns_resolver_new();
        if (!ns || !res || ldns_resolver_push_nameserver(res, ns) != LDNS_STATUS_OK) {
            ldns_rdf_deep_free(ns);
            ldns_resolver_deep_free(res);
            return NULL;
        }
        ldns_rdf_deep_free(ns); /* pushed as a copy */
        ldns_resolver_set_port(res, (uint16_t)port);
    }
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    ldns_resolver_set_timeout(res, tv);
    ldns_resolver_set_retry(res, 2);
    return res;
}

/* The first SRV answer's target (without the trailing dot) and port. */
static enum cg_err srv(const struct cg_check_target *t, const char *inst, const char *server,
                       char *target, size_t tsz, unsigned *port, char *err, size_t errsz)
{
    enum cg_err rc = CG_ENOTFOUND;
    ldns_resolver *res = resolver(server, t->timeout_ms ? t->timeout_ms : 3000);
    ldns_rdf *name = ldns_dname_new_frm_str(inst);
    ldns_pkt *pkt = NULL;
    ldns_rr_list *rrs = NULL;
    snprintf(err, errsz, "%s", !res ? "no usable DNS server" : "bad instance name");
    CG_ENSURE(res, CG_EINVAL);
    CG_ENSURE(name, CG_EINVAL);
    pkt = ldns_resolver_query(res, name, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, LDNS_RD);
    char *rcode = pkt ? ldns_pkt_rcode2str(ldns_pkt_get_rcode(pkt)) : NULL; /* allocated */
    snprintf(err, errsz, "%s", rcode ? rcode : "no answer");
    free(rcode);
    rrs = pkt ? ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_SRV, LDNS_SECTION_ANSWER) : NULL;
    CG_ENSURE(rrs && ldns_rr_list_rr_count(rrs) > 0, CG_ENOTFOUND);
    ldns_rr *rr = ldns_rr_list_rr(rrs, 0);
    char *s = ldns_rdf2str(ldns_rr_rdf(rr, 3));
    CG_ENSURE(s, CG_ENOMEM);
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '.')
        s[--n] = '\0'; /* B-32: DNS-SD names end with a dot */
    snprintf(target, tsz, "%s", s);
    free(s);
    *port = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
    rc = CG_OK;
out:
    ldns_rr_list_deep_free(rrs);
    ldns_pkt_free(pkt);
    ldns_rdf_deep_free(name);
    ldns_resolver_deep_free(res);
    return rc;
}

static enum cg_err target_in_cert(const struct cg_check_target *t, struct cg_check_report *r,
                                  const char *target, const char *type, const char *sigalgs,
                                  const char *ciphers)
{
    SSL *ssl = NULL;
    int fd = -1;
    char err[256], what[96];
    if (cg__check_tls_open(t, sigalgs, ciphers, &ssl, &fd, err, sizeof(err)) != CG_OK)
        return CG_OK; /* that key type is not served: B-13 says so already */
    X509 *leaf = SSL_get0_peer_certificate(ssl);
    bool in = leaf && X509_check_host(leaf, target, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                                      NULL) == 1;
    cg__check_tls_close(ssl, fd);
    snprintf(what, sizeof(what), "SRV target is a name in the %s certificate", type);
    return cg__check_add(r, "B-42", in ? CG_CHECK_PASS : CG_CHECK_FAIL, what, "%s %s", target,
                         in ? "matches" : "is not in CN/SAN");
}

enum cg_err cg__check_run_dnssd(const struct cg_check_target *t, struct cg_check_report *r,
                                const char *instance, const char *server)
{
    char target[256], err[128];
    unsigned port = 0;
    enum cg_err rc = srv(t, instance, server, target, sizeof(target), &port, err, sizeof(err));
    if (rc == CG_EINVAL || rc == CG_ENOMEM)
        return rc;
    if (rc != CG_OK)
        return cg__check_add(r, "B-40", CG_CHECK_FAIL, "DNS-SD SRV record by unicast DNS",
                             "%s: %s", instance, err);
    bool same = (unsigned)strtoul(t->port, NULL, 10) == port;
    CG_GUARD(cg__check_add(r, "B-40", same ? CG_CHECK_PASS : CG_CHECK_WARN,
                           "DNS-SD SRV record by unicast DNS", "%s SRV %s port %u%s", instance,
                           target, port, same ? "" : " (not the port checked)"));
    CG_GUARD(target_in_cert(t, r, target, "RSA", "rsa_pss_rsae_sha256:RSA+SHA256", "aRSA"));
    return target_in_cert(t, r, target, "ECDSA", "ECDSA+SHA256:ECDSA+SHA384", "aECDSA");
}
