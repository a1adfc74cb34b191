/* castgate dnssd — DNS-SD registration, browse and the multicast fallback
 * (internal interface).
 *
 *   msg.c   sans-I/O: name and TXT validation, the service's records, DNS
 *           UPDATE and query messages (built with ldns, TSIG-signed), reply
 *           parsing and rcode mapping, static zone text
 *   key.c   BIND-style TSIG key files
 *   cert.c  host name against certificate (B-42, B-32)
 *   io.c    one UDP exchange at a time with one server, on the loop, with
 *           timeout and retries
 *   reg.c   the registration state machine (public cg_dnssd_*)
 *   browse.c the browse/resolve state machine (public cg_dnssd_browse_*)
 *   mdns.c  Avahi client on the libuv loop (multicast fallback, B-41)
 */
#ifndef CG_DNSSD_INT_H
#define CG_DNSSD_INT_H

#include "core/core.h"

#include <castgate/dnssd.h>
#include <ldns/ldns.h>
#include <sys/socket.h>

#define CG_DNSSD_COMPONENT "dnssd"
#define CG_DNSSD_TIMEOUT_MS 2000 /* a reply's wait when the options say 0 (register, browse) */
#define CG_DNSSD_TXT_MAX 1300 /* whole TXT rdata: keeps the UPDATE in one UDP datagram */

/* ---- names and TXT (msg.c) ---- */
/* A host, domain or service-type name: labels of letters, digits, '-' and
 * '_', each 1..63 bytes, 253 bytes in all; one trailing dot allowed.
 * CG_EINVAL otherwise. */
enum cg_err cg__dnssd_check_name(const char *name);
/* An instance label: UTF-8 bytes 1..63, no control characters. */
enum cg_err cg__dnssd_check_instance(const char *label);
/* TXT rdata in wire form (length-prefixed strings, RFC 6763 §6): each entry
 * "key=value" or "key", at most 255 bytes, key of printable ASCII without
 * '='. No entries: one empty string (§6.1). CG_ERANGE past 255 bytes or
 * CG_DNSSD_TXT_MAX in all, CG_EINVAL for a bad key. */
enum cg_err cg__dnssd_txt_encode(const char *const *txt, size_t n, struct cg_buf *out);
/* NULL when txt carries the keys castgate's convention (docs/discovery.md)
 * expects for type (_mos._tcp, _nmos-*), else what is missing. A hint only:
 * registration goes ahead and logs it as a warning. */
const char *cg__dnssd_txt_lint(const char *type, const char *const *txt, size_t n);
/* "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" -> address (port default 53). */
enum cg_err cg__dnssd_parse_server(const char *s, struct sockaddr_storage *out);

/* ---- the service's records (msg.c) ---- */
struct cg__svc {
    ldns_rdf *zone;      /* D. */
    ldns_rdf *type_name; /* T.D. */
    ldns_rdf *inst_name; /* I.T.D. */
    ldns_rdf *enum_name; /* _services._dns-sd._udp.D. */
    ldns_rdf *host;      /* H. */
    ldns_rdf **sub_names; /* S._sub.T.D. */
    size_t nsub;
    uint16_t port, priority, weight;
    uint32_t ttl;
    struct cg_buf txt; /* TXT rdata */
};
enum cg_err cg__dnssd_svc_init(struct cg__svc *s, const struct cg_dnssd_opts *opts);
void cg__dnssd_svc_clear(struct cg__svc *s);

/* ---- TSIG key (key.c) ---- */
struct cg__tsig_key {
    char *name;   /* "castgate-key." */
    char *secret; /* base64, wiped on clear */
};
/* Parses the first key clause of a BIND key file. CG_EFILE (syntax, with
 * *why set), CG_ECONFIG (algorithm other than hmac-sha256). */
enum cg_err cg__dnssd_key_parse(const char *text, size_t len, struct cg__tsig_key *out,
                                const char **why);
/* Checks the file is private (CG_EPERM), reads and parses it; logs why not. */
enum cg_err cg__dnssd_key_load(struct cg_ctx *ctx, const char *path, struct cg__tsig_key *out);
void cg__dnssd_key_clear(struct cg__tsig_key *k);

/* ---- messages (msg.c) ---- */
enum cg__upd_kind {
    CG__UPD_ADD_NEW = 0, /* prerequisite: instance name unused */
    CG__UPD_REPLACE = 1, /* prerequisite: our exact SRV is there */
    CG__UPD_WITHDRAW = 2 /* prerequisite: our exact SRV is there; delete our RRs */
};
/* A message ready to send, with what is needed to check its reply. */
struct cg__msg {
    uint8_t *wire;
    size_t len;
    uint16_t id;
    ldns_rdf *mac; /* request MAC when signed (for verifying the reply) */
};
void cg__dnssd_msg_clear(struct cg__msg *m);
enum cg_err cg__dnssd_build_update(const struct cg__svc *s, enum cg__upd_kind kind, uint16_t id,
                                   const struct cg__tsig_key *key, struct cg__msg *out);
enum cg_err cg__dnssd_build_query(const ldns_rdf *name, ldns_rr_type type, uint16_t id,
                                  struct cg__msg *out);

/* Reads an UPDATE reply (untrusted bytes). CG_OK with *rcode, *tsig_error
 * (0 or BADSIG 16, BADKEY 17, BADTIME 18); CG_EPROTO when it is not a reply
 * to req (wrong id, opcode, not QR, malformed); CG_EAUTH when a key is in
 * use and the reply's signature is missing or wrong (unless the reply is a
 * TSIG error, which servers send unsigned). */
enum cg_err cg__dnssd_read_reply(const uint8_t *wire, size_t len, const struct cg__msg *req,
                                 const struct cg__tsig_key *key, int *rcode, int *tsig_error);
/* The castgate error for a DNS rcode / TSIG error, and a text for the log. */
enum cg_err cg__dnssd_rcode_err(int rcode, int tsig_error, const char **text);

/* One record from a query answer (browse). */
struct cg__rec {
    uint16_t type;
    uint16_t priority, weight, port; /* SRV */
    char *text;     /* PTR: first label of the target (raw); SRV: target with dot;
                       TXT: one string; A/AAAA: the address */
    ldns_rdf *dname; /* PTR, SRV: the whole target name */
};
struct cg__recs {
    struct cg__rec *v;
    size_t n;
    int rcode;
};
/* Collects the answer records of type qtype owned by qname from a reply to
 * req (untrusted bytes). CG_EPROTO for malformed/mismatched replies,
 * CG_ETOOBIG when truncated (TC). */
enum cg_err cg__dnssd_read_answer(const uint8_t *wire, size_t len, const struct cg__msg *req,
                                  const ldns_rdf *qname, ldns_rr_type qtype,
                                  struct cg__recs *out);
void cg__dnssd_recs_clear(struct cg__recs *r);
/* From a reply to an SOA query (untrusted bytes): the zone (the SOA's owner)
 * and its primary (MNAME), from the answer or the authority section.
 * CG_ENOTFOUND when there is no SOA, CG_EPROTO when malformed. */
enum cg_err cg__dnssd_read_soa(const uint8_t *wire, size_t len, const struct cg__msg *req,
                               ldns_rdf **zone, ldns_rdf **mname);
/* The first "nameserver" of /etc/resolv.conf. CG_ECONFIG if none. */
enum cg_err cg__dnssd_system_server(struct sockaddr_storage *ss);

/* ---- transport (io.c) ---- */
struct cg__dx;
/* err CG_OK with the reply bytes (valid during the call), or CG_ETIMEDOUT,
 * CG_ENET. The callback may free the dx. */
typedef void (*cg__dx_fn)(void *user, enum cg_err err, const uint8_t *wire, size_t len);
enum cg_err cg__dx_new(struct cg_ctx *ctx, const struct sockaddr *server, struct cg__dx **out);
/* Sends msg (the bytes are copied), retried up to tries times, each waiting
 * timeout_ms. One exchange at a time: CG_ESTATE if one is outstanding. */
enum cg_err cg__dx_send(struct cg__dx *dx, const struct cg__msg *msg, unsigned timeout_ms,
                        unsigned tries, cg__dx_fn fn, void *user);
/* Sends once and forgets (no reply expected by anyone). */
void cg__dx_send_once(struct cg__dx *dx, const struct cg__msg *msg);
void cg__dx_cancel(struct cg__dx *dx);
void cg__dx_free(struct cg__dx *dx);
/* The server as "ip:port" text, for logs. */
const char *cg__dx_peer(const struct cg__dx *dx);

/* ---- multicast fallback (mdns.c) ---- */
struct cg__mdns;
typedef void (*cg__mdns_fn)(void *user, enum cg_dnssd_state state, enum cg_err err);
enum cg_err cg__mdns_new(struct cg_ctx *ctx, const struct cg_dnssd_opts *opts, cg__mdns_fn fn,
                         void *user, struct cg__mdns **out);
void cg__mdns_free(struct cg__mdns *m);

#endif
