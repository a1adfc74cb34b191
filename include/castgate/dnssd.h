/* castgate — DNS-SD: advertise an endpoint and find peers (BCP-003-01 B-40..B-43).
 *
 * Registration (struct cg_dnssd) writes the DNS-SD records of one service
 * instance into a real DNS server by RFC 2136 DNS UPDATE, optionally signed
 * with TSIG (RFC 8945, HMAC-SHA256), keeps them there on a timer, and removes
 * them again on withdraw. Only where no DNS server is configured, and only on
 * the interfaces named, does it fall back to multicast DNS through the Avahi
 * daemon (link-local by nature, never routed: B-41).
 *
 * Records written for instance I of type T in domain D, host H, port P:
 *   T.D                      PTR  I.T.D          (and S._sub.T.D PTR I.T.D per subtype)
 *   _services._dns-sd._udp.D PTR  T.D            (service type enumeration, never removed)
 *   I.T.D                    SRV  prio weight P H.
 *   I.T.D                    TXT  "k=v" …
 * Prerequisites keep one instance from overwriting another's records: the
 * first UPDATE requires I.T.D to be unused; if it is in use, the records are
 * only replaced when the SRV there is exactly ours (a previous run of the same
 * instance). Otherwise the name belongs to someone else: CG_EEXIST, logged,
 * retried with backoff.
 *
 * Everything runs on the context's event loop (see ctx.h): no call here
 * blocks on the network, and every callback runs on the loop thread.
 * Browsing (struct cg_dnssd_browse) is a convenience, never a source of truth
 * (B-43): a peer found this way is still verified by TLS against the host name
 * it advertises.
 */
#ifndef CASTGATE_DNSSD_H
#define CASTGATE_DNSSD_H

#include <castgate/ctx.h>
#include <castgate/error.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cg_dnssd;
struct cg_dnssd_browse;

/* What to advertise and where. All strings are copied by cg_dnssd_new(). */
struct cg_dnssd_opts {
    /* Unicast DNS server that takes the UPDATE: "IPv4", "IPv4:PORT", "IPv6",
     * "[IPv6]:PORT" (port 53 by default). NULL: the zone's primary is looked
     * up (see resolver), or, with no DNS server configured at all, multicast
     * is used on mdns_interfaces. */
    const char *server;
    const char *domain;   /* zone to register in ("studio.example.com"); "local" for mDNS */
    const char *instance; /* instance label, UTF-8, 1..63 bytes, no control characters */
    const char *type;     /* service type, e.g. "_mos._tcp" (two labels, each starting with _) */
    const char *const *subtypes; /* optional subtype labels ("_ncs"), each registered as a PTR */
    size_t nsubtypes;
    const char *host;     /* advertised target host name (B-42: must be in the certificate) */
    uint16_t port;        /* 1..65535 */
    uint16_t priority;    /* SRV priority (default 0) */
    uint16_t weight;      /* SRV weight (default 0) */
    const char *const *txt; /* "key=value" or "key" entries; each at most 255 bytes */
    size_t ntxt;
    uint32_t ttl;         /* record TTL in seconds; 0: 120 */
    uint32_t refresh_s;   /* seconds between refreshes; 0: ttl/2 (at least 1) */
    uint32_t timeout_ms;  /* per-attempt reply timeout; 0: 2000 */
    uint32_t max_backoff_s; /* cap of the retry backoff after failures; 0: 60 */
    /* BIND-style key file: key "name" { algorithm hmac-sha256; secret "…"; };
     * must be mode 0600 or stricter. NULL: unsigned updates. */
    const char *tsig_key_file;
    /* PEM certificate the endpoint serves. If set, host must match one of its
     * names (CN/SAN, trailing dot tolerated) or cg_dnssd_new() fails (B-42). */
    const char *cert_file;
    /* Interfaces for the multicast fallback ("eth0"); used only when server
     * and resolver are NULL. Multicast never leaves the link (B-41). */
    const char *const *mdns_interfaces;
    size_t nmdns_interfaces;
    /* Non-zero: cg_dnssd_free() leaves the records in place (no best-effort
     * withdraw), as a one-shot registration tool wants. */
    int keep_on_free;
    /* With server NULL: the resolver ("IP[:PORT]") asked for the SOA of
     * domain; the UPDATE then goes to the SOA's primary (MNAME, its A record
     * from the same resolver) on the resolver's port, in the zone the SOA
     * names (RFC 2136 §4). NULL with server NULL and no mdns_interfaces: the
     * first nameserver of /etc/resolv.conf. */
    const char *resolver;
};

enum cg_dnssd_state {
    CG_DNSSD_REGISTERING = 0, /* an UPDATE is on its way */
    CG_DNSSD_REGISTERED = 1,  /* the server accepted the records (or Avahi established them) */
    CG_DNSSD_RETRYING = 2,    /* the last attempt failed (err says why); retry scheduled */
    CG_DNSSD_WITHDRAWN = 3    /* records removed (or withdraw gave up: err says why) */
};

/* Told about every state change. err is CG_OK, or why the last attempt
 * failed: CG_ETIMEDOUT (no answer), CG_ENET (unreachable), CG_EAUTH (TSIG:
 * BADSIG, BADKEY, BADTIME or an unsigned/badly signed reply), CG_EDNS
 * (REFUSED, NOTAUTH, NOTZONE, SERVFAIL, …), CG_EEXIST (the instance name is
 * held by another service), CG_ENOTFOUND (no SOA, or a primary without an A
 * record, while looking up the primary). The detail is logged (component
 * "dnssd"). The
 * callback may call cg_dnssd_withdraw() but not cg_dnssd_free(). */
typedef void (*cg_dnssd_state_fn)(void *user, enum cg_dnssd_state state, enum cg_err err);

/* Validates opts, checks the host against cert_file (B-42), reads the key
 * file, and starts registering (the first UPDATE is sent from the loop; the
 * call itself never waits for the network). state_fn may be NULL.
 * Returns CG_OK with *out set, or: CG_EINVAL (NULL or malformed names,
 * labels over 63 bytes, a TXT entry over 255 bytes, port 0), CG_ECONFIG (no
 * server, no resolver, none in /etc/resolv.conf and no multicast interface;
 * an unsupported key algorithm),
 * CG_EPERM (key file readable by group/others), CG_EFILE (key or certificate
 * file missing or malformed), CG_ECERT (host not in the certificate),
 * CG_ENOTFOUND (a multicast interface does not exist), CG_ENET (socket),
 * CG_ENOMEM. Each failure is logged with its reason. */
CG_API enum cg_err cg_dnssd_new(struct cg_ctx *ctx, const struct cg_dnssd_opts *opts,
                                cg_dnssd_state_fn state_fn, void *user, struct cg_dnssd **out);

/* Sends an UPDATE now instead of waiting for the refresh timer (after a
 * configuration reload, or when the caller knows the server came back).
 * CG_ESTATE after withdraw. */
CG_API enum cg_err cg_dnssd_refresh(struct cg_dnssd *d);

/* Called once when a withdraw finishes: err is CG_OK (records removed, or
 * none of ours were there) or why not (the records then stay in the zone
 * until a later registration of the same instance replaces or removes them,
 * or an operator does). */
typedef void (*cg_dnssd_done_fn)(void *user, enum cg_err err);

/* Removes the records (DNS UPDATE deleting exactly our RRs, prerequisite: the
 * SRV is still ours) and stops refreshing. done (may be NULL) is called on
 * the loop after the server answered or the attempts ran out (a few timeouts
 * at most). Returns CG_OK, or CG_ESTATE if a withdraw already ran. Free the
 * object with cg_dnssd_free() afterwards (from done at the earliest: done may
 * call cg_dnssd_free()). */
CG_API enum cg_err cg_dnssd_withdraw(struct cg_dnssd *d, cg_dnssd_done_fn done, void *user);

/* Stops everything and frees d. If the records are still registered, no
 * withdraw ran and opts->keep_on_free was 0, one withdraw UPDATE is sent
 * without waiting for the answer (best effort; use cg_dnssd_withdraw() to
 * know it worked). Pending callbacks are not called. NULL is a no-op. Not
 * from inside state_fn. */
CG_API void cg_dnssd_free(struct cg_dnssd *d);

/* Whether the multicast fallback would be used for opts (server and
 * resolver NULL, at least one interface named): the B-41 decision. */
CG_API int cg_dnssd_uses_multicast(const struct cg_dnssd_opts *opts);

/* B-42: CG_OK when host (a trailing dot is ignored, B-32) is one of the names
 * of the first certificate in the PEM file cert_file (SAN DNS names; the CN
 * only when there are none; no partial wildcards). CG_ECERT when it is not,
 * CG_EFILE when the file cannot be read as PEM, CG_EINVAL on NULL. ctx (may
 * be NULL) receives the reason as a log line. */
CG_API enum cg_err cg_dnssd_check_host(struct cg_ctx *ctx, const char *host,
                                       const char *cert_file);

/* Static zone records (BIND master-file syntax, absolute names) for opts, for
 * sites that cannot allow dynamic updates. *out receives a NUL-terminated
 * string the caller frees with cg_dnssd_text_free(). Same validation errors
 * as cg_dnssd_new() (the key file and server are not used). */
CG_API enum cg_err cg_dnssd_zone_text(const struct cg_dnssd_opts *opts, char **out);
CG_API void cg_dnssd_text_free(char *text);

/* ---- browse and resolve (unicast) ---- */

struct cg_dnssd_browse_opts {
    const char *server;   /* "IP[:PORT]"; NULL: the first nameserver in /etc/resolv.conf */
    const char *domain;   /* where to look */
    const char *type;     /* "_mos._tcp" */
    const char *instance; /* NULL: every instance; else resolve only this one */
    uint32_t timeout_ms;  /* per query; 0: 2000 (each query is tried 3 times) */
};

/* One instance found. All pointers stay valid only during the callback. */
struct cg_dnssd_instance {
    const char *name;     /* instance label as registered (UTF-8, not escaped) */
    const char *host;     /* SRV target with its trailing dot ("gw1.example.com."), B-32 */
    uint16_t port, priority, weight;
    const char *const *txt; /* TXT strings ("key=value"), in order */
    size_t ntxt;
    const char *const *addrs; /* A and AAAA of host, as text; may be empty */
    size_t naddrs;
};

/* Called once: err CG_OK with n instances (n may be 0; instances whose SRV
 * could not be found are left out), or the error that stopped the browse
 * (CG_ETIMEDOUT, CG_ENET, CG_EDNS, CG_EPROTO for a malformed reply). With
 * opts->instance set, n is 0 or 1 (CG_ENOTFOUND if the instance is absent).
 * The callback may free the browse. */
typedef void (*cg_dnssd_browse_fn)(void *user, enum cg_err err,
                                   const struct cg_dnssd_instance *instances, size_t n);

/* Starts a browse (PTR, then SRV and TXT per instance, then A/AAAA per host)
 * on the loop. Returns CG_OK with *out set, CG_EINVAL, CG_ECONFIG (no server
 * and none in resolv.conf), CG_ENET, CG_ENOMEM. */
CG_API enum cg_err cg_dnssd_browse_new(struct cg_ctx *ctx, const struct cg_dnssd_browse_opts *opts,
                                       cg_dnssd_browse_fn fn, void *user,
                                       struct cg_dnssd_browse **out);
/* Cancels (the callback is not called) and frees. NULL is a no-op. */
CG_API void cg_dnssd_browse_free(struct cg_dnssd_browse *b);

#ifdef __cplusplus
}
#endif
#endif
