/* Cipher suites `check tls` knows by name: the BCP-003-01 lists (B-03, B-04)
 * and the others a server might still offer (IANA TLS Cipher Suites registry). */
#include "check/check.h"

#include <stdio.h>

/* BCP B-03: TLS 1.3, server priority order. */
const uint16_t cg__check_bcp13[3] = {0x1301, 0x1302, 0x1303};
/* BCP B-04: TLS 1.2, server priority order. */
const uint16_t cg__check_bcp12[12] = {0xc02b, 0xc02c, 0xc023, 0xc024, 0xc02f, 0xc030,
                                      0x009e, 0x009f, 0xc027, 0xc028, 0x0067, 0x006b};

#define S(id, name, weak) {id, "TLS_" name, weak, false}
static const struct cg_suite_info table[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", false, true},
    {0x1302, "TLS_AES_256_GCM_SHA384", false, true},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", false, true},
    {0x1304, "TLS_AES_128_CCM_SHA256", false, true},
    {0x1305, "TLS_AES_128_CCM_8_SHA256", false, true},
    S(0xc02b, "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", false),
    S(0xc02c, "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", false),
    S(0xc023, "ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", false),
    S(0xc024, "ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", false),
    S(0xc02f, "ECDHE_RSA_WITH_AES_128_GCM_SHA256", false),
    S(0xc030, "ECDHE_RSA_WITH_AES_256_GCM_SHA384", false),
    S(0x009e, "DHE_RSA_WITH_AES_128_GCM_SHA256", false),
    S(0x009f, "DHE_RSA_WITH_AES_256_GCM_SHA384", false),
    S(0xc027, "ECDHE_RSA_WITH_AES_128_CBC_SHA256", false),
    S(0xc028, "ECDHE_RSA_WITH_AES_256_CBC_SHA384", false),
    S(0x0067, "DHE_RSA_WITH_AES_128_CBC_SHA256", false),
    S(0x006b, "DHE_RSA_WITH_AES_256_CBC_SHA256", false),
    /* outside the lists */
    S(0xcca8, "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", false),
    S(0xcca9, "ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", false),
    S(0xccaa, "DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", false),
    S(0xc009, "ECDHE_ECDSA_WITH_AES_128_CBC_SHA", false),
    S(0xc00a, "ECDHE_ECDSA_WITH_AES_256_CBC_SHA", false),
    S(0xc013, "ECDHE_RSA_WITH_AES_128_CBC_SHA", false),
    S(0xc014, "ECDHE_RSA_WITH_AES_256_CBC_SHA", false),
    S(0x0033, "DHE_RSA_WITH_AES_128_CBC_SHA", false),
    S(0x0039, "DHE_RSA_WITH_AES_256_CBC_SHA", false),
    S(0x002f, "RSA_WITH_AES_128_CBC_SHA", false),
    S(0x0035, "RSA_WITH_AES_256_CBC_SHA", false),
    S(0x003c, "RSA_WITH_AES_128_CBC_SHA256", false),
    S(0x003d, "RSA_WITH_AES_256_CBC_SHA256", false),
    S(0x009c, "RSA_WITH_AES_128_GCM_SHA256", false),
    S(0x009d, "RSA_WITH_AES_256_GCM_SHA384", false),
    S(0xc0ac, "ECDHE_ECDSA_WITH_AES_128_CCM", false),
    S(0xc0ad, "ECDHE_ECDSA_WITH_AES_256_CCM", false),
    S(0xc0ae, "ECDHE_ECDSA_WITH_AES_128_CCM_8", false),
    S(0xc0af, "ECDHE_ECDSA_WITH_AES_256_CCM_8", false),
    S(0xc09c, "RSA_WITH_AES_128_CCM", false),
    S(0xc09d, "RSA_WITH_AES_256_CCM", false),
    S(0xc09e, "DHE_RSA_WITH_AES_128_CCM", false),
    S(0xc09f, "DHE_RSA_WITH_AES_256_CCM", false),
    S(0xc0a0, "RSA_WITH_AES_128_CCM_8", false),
    S(0xc0a1, "RSA_WITH_AES_256_CCM_8", false),
    S(0xc0a2, "DHE_RSA_WITH_AES_128_CCM_8", false),
    S(0xc0a3, "DHE_RSA_WITH_AES_256_CCM_8", false),
    S(0x0041, "RSA_WITH_CAMELLIA_128_CBC_SHA", false),
    S(0x0084, "RSA_WITH_CAMELLIA_256_CBC_SHA", false),
    S(0x0045, "DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", false),
    S(0x0088, "DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", false),
    S(0x00ba, "RSA_WITH_CAMELLIA_128_CBC_SHA256", false),
    S(0x00c0, "RSA_WITH_CAMELLIA_256_CBC_SHA256", false),
    S(0x00be, "DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", false),
    S(0x00c4, "DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256", false),
    S(0xc072, "ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", false),
    S(0xc073, "ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", false),
    S(0xc076, "ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", false),
    S(0xc077, "ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384", false),
    S(0xc05c, "ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256", false),
    S(0xc05d, "ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384", false),
    S(0xc060, "ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", false),
    S(0xc061, "ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", false),
    S(0xc052, "DHE_RSA_WITH_ARIA_128_GCM_SHA256", false),
    S(0xc053, "DHE_RSA_WITH_ARIA_256_GCM_SHA384", false),
    S(0xc050, "RSA_WITH_ARIA_128_GCM_SHA256", false),
    S(0xc051, "RSA_WITH_ARIA_256_GCM_SHA384", false),
    S(0x0032, "DHE_DSS_WITH_AES_128_CBC_SHA", false),
    S(0x0038, "DHE_DSS_WITH_AES_256_CBC_SHA", false),
    S(0x0040, "DHE_DSS_WITH_AES_128_CBC_SHA256", false),
    S(0x006a, "DHE_DSS_WITH_AES_256_CBC_SHA256", false),
    S(0x00a2, "DHE_DSS_WITH_AES_128_GCM_SHA256", false),
    S(0x00a3, "DHE_DSS_WITH_AES_256_GCM_SHA384", false),
    S(0x0096, "RSA_WITH_SEED_CBC_SHA", false),
    S(0x0007, "RSA_WITH_IDEA_CBC_SHA", true),
    S(0x000a, "RSA_WITH_3DES_EDE_CBC_SHA", true),
    S(0x0016, "DHE_RSA_WITH_3DES_EDE_CBC_SHA", true),
    S(0x0013, "DHE_DSS_WITH_3DES_EDE_CBC_SHA", true),
    S(0xc012, "ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", true),
    S(0xc008, "ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", true),
    S(0x0004, "RSA_WITH_RC4_128_MD5", true),
    S(0x0005, "RSA_WITH_RC4_128_SHA", true),
    S(0xc011, "ECDHE_RSA_WITH_RC4_128_SHA", true),
    S(0xc007, "ECDHE_ECDSA_WITH_RC4_128_SHA", true),
    S(0x0009, "RSA_WITH_DES_CBC_SHA", true),
    S(0x0015, "DHE_RSA_WITH_DES_CBC_SHA", true),
    S(0x0012, "DHE_DSS_WITH_DES_CBC_SHA", true),
    S(0x0003, "RSA_EXPORT_WITH_RC4_40_MD5", true),
    S(0x0006, "RSA_EXPORT_WITH_RC2_CBC_40_MD5", true),
    S(0x0008, "RSA_EXPORT_WITH_DES40_CBC_SHA", true),
    S(0x0014, "DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", true),
    S(0x0001, "RSA_WITH_NULL_MD5", true),
    S(0x0002, "RSA_WITH_NULL_SHA", true),
    S(0x003b, "RSA_WITH_NULL_SHA256", true),
    S(0xc010, "ECDHE_RSA_WITH_NULL_SHA", true),
    S(0xc006, "ECDHE_ECDSA_WITH_NULL_SHA", true),
    S(0x0034, "DH_anon_WITH_AES_128_CBC_SHA", true),
    S(0x003a, "DH_anon_WITH_AES_256_CBC_SHA", true),
    S(0x006c, "DH_anon_WITH_AES_128_CBC_SHA256", true),
    S(0x006d, "DH_anon_WITH_AES_256_CBC_SHA256", true),
    S(0x00a6, "DH_anon_WITH_AES_128_GCM_SHA256", true),
    S(0x00a7, "DH_anon_WITH_AES_256_GCM_SHA384", true),
    S(0xc018, "ECDH_anon_WITH_AES_128_CBC_SHA", true),
    S(0xc019, "ECDH_anon_WITH_AES_256_CBC_SHA", true),
    S(0x0018, "DH_anon_WITH_RC4_128_MD5", true),
    S(0x001b, "DH_anon_WITH_3DES_EDE_CBC_SHA", true),
    S(0xc015, "ECDH_anon_WITH_NULL_SHA", true),
};

const struct cg_suite_info *cg__check_suite(uint16_t id)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(table); i++)
        if (table[i].id == id)
            return &table[i];
    return NULL;
}

void cg__check_suite_name(uint16_t id, char *dst, size_t dstsz)
{
    const struct cg_suite_info *s = cg__check_suite(id);
    if (s)
        snprintf(dst, dstsz, "%s", s->name);
    else
        snprintf(dst, dstsz, "0x%04X", id);
}

static bool in(const uint16_t *v, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

size_t cg__check_other_suites(bool tls13, uint16_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < CG_ARRAY_LEN(table) && n < cap; i++) {
        uint16_t id = table[i].id;
        if (table[i].tls13 == tls13 && !in(cg__check_bcp13, 3, id) && !in(cg__check_bcp12, 12, id))
            out[n++] = id;
    }
    return n;
}

bool cg__check_order_ok(const uint16_t *bcp, size_t nbcp, const uint16_t *seen, size_t nseen)
{
    size_t last = 0;
    bool first = true;
    for (size_t i = 0; i < nseen; i++) {
        size_t k = 0;
        while (k < nbcp && bcp[k] != seen[i])
            k++;
        if (k == nbcp)
            continue;
        if (!first && k < last)
            return false;
        last = k;
        first = false;
    }
    return true;
}
