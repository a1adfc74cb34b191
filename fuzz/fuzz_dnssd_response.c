/* Fuzz target: DNS replies as castgate's DNS-SD code reads them (untrusted
 * bytes from the network): UPDATE replies with and without TSIG, and query
 * answers for every type browse asks for, SOA replies (primary lookup). */
#include "dnssd/dnssd.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_text[] = "key \"castgate-key\" { algorithm hmac-sha256; "
                               "secret \"UkGf/jd8gzKrtVIpT0uU636BQvOJ/HedlGiG0fwA0cw=\"; };";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg__msg req = {0};
    struct cg__tsig_key key;
    int rcode, terr;
    if (size < 2)
        return 0;
    req.id = (uint16_t)(data[0] << 8 | data[1]); /* reach past the id check */
    req.mac = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_INT16_DATA, "AAECAwQFBgcICQoLDA0ODw==");
    (void)cg__dnssd_read_reply(data, size, &req, NULL, &rcode, &terr);
    if (cg__dnssd_key_parse(key_text, strlen(key_text), &key, NULL) == CG_OK) {
        (void)cg__dnssd_read_reply(data, size, &req, &key, &rcode, &terr);
        cg__dnssd_key_clear(&key);
    }
    /* Answers: ask with the reply's own question name so records can match. */
    ldns_pkt *p = NULL;
    ldns_rdf *qname = NULL;
    if (ldns_wire2pkt(&p, data, size) == LDNS_STATUS_OK && ldns_pkt_qdcount(p) > 0 &&
        ldns_rr_list_rr_count(ldns_pkt_question(p)) > 0)
        qname = ldns_rdf_clone(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
    ldns_pkt_free(p);
    if (qname == NULL)
        qname = ldns_dname_new_frm_str("_mos._tcp.example.test.");
    static const ldns_rr_type types[] = {LDNS_RR_TYPE_PTR, LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_TXT,
                                         LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
    for (size_t i = 0; qname != NULL && i < sizeof(types) / sizeof(types[0]); i++) {
        struct cg__recs r;
        if (cg__dnssd_read_answer(data, size, &req, qname, types[i], &r) == CG_OK)
            cg__dnssd_recs_clear(&r);
    }
    ldns_rdf *zone = NULL, *mname = NULL;
    if (cg__dnssd_read_soa(data, size, &req, &zone, &mname) == CG_OK) {
        ldns_rdf_deep_free(zone);
        ldns_rdf_deep_free(mname);
    }
    ldns_rdf_deep_free(qname);
    cg__dnssd_msg_clear(&req);
    return 0;
}
