/* castgate — error codes.
 *
 * Every fallible castgate function returns an enum cg_err. The numbers are
 * part of the ABI: the list is append-only, grouped by range, and a code is
 * never renumbered or reused. Detail (which file, which peer, which byte) is
 * not encoded in the code: it goes to the log callback (see ctx.h) or to the
 * detail string of the object that failed.
 */
#ifndef CASTGATE_ERROR_H
#define CASTGATE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CG_BUILDING_LIBRARY)
#define CG_API __attribute__((visibility("default")))
#else
#define CG_API
#endif

enum cg_err {
    CG_OK = 0,

    /* 1..99: the caller's use of the API */
    CG_EINVAL = 1,    /* an argument is invalid */
    CG_ENOMEM = 2,    /* out of memory (the library never aborts on it) */
    CG_ESTATE = 3,    /* call not valid in the object's current state */
    CG_ERANGE = 4,    /* a value is outside its allowed range */
    CG_ENOTFOUND = 5, /* the named thing does not exist */
    CG_EEXIST = 6,    /* the named thing exists already */
    CG_ECONFIG = 7,   /* a configuration is invalid or incomplete */
    CG_ECANCELED = 8, /* the caller cancelled the operation (cg_mos_forward_cancel) */

    /* 100..199: files, sockets, the system */
    CG_EIO = 100,       /* an I/O error */
    CG_EFILE = 101,     /* a file is missing, unreadable or malformed */
    CG_EPERM = 102,     /* a file has unsafe permissions (e.g. a key readable by others) */
    CG_ENET = 103,      /* a network error (connect, bind, reset) */
    CG_ETIMEDOUT = 104, /* an operation did not finish in time */
    CG_ECLOSED = 105,   /* the connection or object is closed */
    CG_EFULL = 106,     /* a configured limit is reached (connections, queue) */
    CG_EAGAIN = 107,    /* not enough input yet: feed more bytes (sans-I/O parsers) */

    /* 200..299: TLS and certificates */
    CG_ETLS = 200,         /* a TLS library error */
    CG_ECERT = 201,        /* a certificate is unusable (format, chain, purpose) */
    CG_EKEY = 202,         /* a private key is unusable */
    CG_EKEYMISMATCH = 203, /* a private key does not match its certificate */
    CG_EHANDSHAKE = 204,   /* the TLS handshake failed */
    CG_EVERIFY = 205,      /* the peer's certificate did not verify */
    CG_EREVOKED = 206,     /* the peer's certificate is revoked */
    CG_EOCSP = 207,        /* an OCSP request or response failed */
    CG_EEXPIRED = 208,     /* a certificate or response is expired or not yet valid */
    /* The peer's certificate refused, by reason (CG_EVERIFY: any other reason). */
    CG_EHOSTNAME = 209,   /* it does not name the host (or the configured cert_name) */
    CG_EUNTRUSTED = 210,  /* its chain does not lead to a trusted root */
    CG_ESELFSIGNED = 211, /* it is self-signed, and self-signed is not allowed (M-06) */
    CG_EPIN = 212,        /* it is not the pinned certificate (M-06) */

    /* 300..399: protocol */
    CG_EPROTO = 300,    /* a peer broke the protocol */
    CG_EHTTP = 301,     /* an invalid HTTP message */
    CG_EWS = 302,       /* an invalid WebSocket frame or handshake */
    CG_ETOOBIG = 303,   /* a message exceeds the configured maximum size */
    CG_EENCODING = 304, /* invalid UCS-2/UTF-16/UTF-8 */
    CG_EXML = 305,      /* XML is not well-formed */
    CG_EJUNK = 306,     /* bytes between messages that are not whitespace */
    CG_EENVELOPE = 307, /* the MOS envelope is missing or malformed */
    CG_ENACK = 308,     /* the peer answered with a NACK */
    CG_EDNS = 309,      /* a DNS server refused or failed an operation */
    CG_ENOTSUP = 310,   /* valid input with no exact equivalent (e.g. a MOS 2.x message in 4.0) */

    /* 400..499: authentication */
    CG_EAUTH = 400,      /* wrong or missing credentials */
    CG_ERATELIMIT = 401, /* too many failures; try later */

    /* 900..999: internal */
    CG_EINTERNAL = 900 /* a bug in castgate: please report it */
};

/* A short, stable English description of err. Never NULL; unknown codes give
 * "unknown error". */
CG_API const char *cg_strerror(enum cg_err err);

/* The enumerator's name ("CG_EINVAL"), for logs and JSON. Never NULL. */
CG_API const char *cg_errname(enum cg_err err);

#ifdef __cplusplus
}
#endif
#endif
