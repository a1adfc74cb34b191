/* castgate — the MOS codec (sans-I/O): encodings, stream framing, envelope,
 * message catalogue, builders, and the rewrite of messages removed in 4.0.
 * ../shared/spec/mos.md gives the M-xx IDs.
 *
 * Nothing here does I/O, logs or keeps global state: every function works on
 * the bytes and the objects it is given, so any of them may be called from
 * any callback and from several threads on distinct objects. Byte offsets are
 * counted from the first byte ever fed to the object (the stream offset), so
 * an error can be located in a capture.
 *
 * Encodings (M-04, M-21): MOS travels as UCS-2 big-endian without a BOM. This
 * codec accepts UTF-16BE (UCS-2 plus surrogate pairs, since real peers send
 * them, ERRATA 40) and offers UTF-8 as a per-peer option.
 */
#ifndef CASTGATE_MOS_H
#define CASTGATE_MOS_H

#include <castgate/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cg_mos_encoding {
    CG_MOS_UCS2BE = 0, /* UTF-16BE, no BOM: the MOS wire default */
    CG_MOS_UTF8 = 1    /* UTF-8: a per-peer option (M-21) */
};

/* ------------------------------------------------------------------------ */
/* Encoding conversion (streaming)                                          */
/* ------------------------------------------------------------------------ */

/* A streaming converter between UTF-16BE and UTF-8. The struct is public so
 * it can live on the stack without allocation; its fields are private except
 * error_offset. Input may be split anywhere (odd offsets, inside a surrogate
 * pair or a UTF-8 sequence). A leading U+FEFF (BOM) is dropped. Invalid input
 * is never replaced: it stops the conversion with CG_EENCODING. */
struct cg_mos_conv {
    uint64_t offset;       /* input bytes consumed so far */
    uint64_t error_offset; /* after CG_EENCODING: stream offset of the bad sequence */
    uint64_t seq_start;    /* private */
    uint32_t cp;           /* private: code point being assembled */
    uint32_t min;          /* private: smallest code point for this UTF-8 length */
    uint16_t high;         /* private: pending high surrogate (0: none) */
    uint8_t byte;          /* private: pending first byte of a UTF-16 unit */
    uint8_t need;          /* private: UTF-8 continuation bytes still needed */
    uint8_t from;          /* private: the input encoding */
    bool have_byte;        /* private */
    bool started;          /* private: past the first character (BOM check) */
    bool failed;           /* private: a CG_EENCODING was returned */
};

/* Prepares c to convert from `from` to the other encoding (UCS2BE -> UTF8 or
 * UTF8 -> UCS2BE). Cannot fail; c may be reused by calling this again. */
CG_API void cg_mos_conv_init(struct cg_mos_conv *c, enum cg_mos_encoding from);

/* Converts as much of in[0..in_len) as fits in out[0..out_cap). *consumed and
 * *produced receive the byte counts. Bytes of an incomplete character are kept
 * in c and count as consumed. Output needs at most 3/2 of the input for
 * UTF-16BE -> UTF-8 and at most 2x for UTF-8 -> UTF-16BE; with less room the
 * call stops early and returns CG_OK with *consumed < in_len (call again).
 * Returns CG_OK, CG_EINVAL (NULL argument), or CG_EENCODING (lone or reversed
 * surrogate, invalid or overlong UTF-8, a code point above U+10FFFF or a
 * UTF-8-encoded surrogate); then c->error_offset holds the stream offset of
 * the offending sequence, everything before it has been converted, and every
 * later call returns CG_EENCODING until cg_mos_conv_init(). */
CG_API enum cg_err cg_mos_conv_feed(struct cg_mos_conv *c, const void *in, size_t in_len,
                                    void *out, size_t out_cap, size_t *consumed,
                                    size_t *produced);

/* Ends the stream. Returns CG_OK, or CG_EENCODING when a character was left
 * incomplete (an odd trailing byte, a high surrogate, a truncated UTF-8
 * sequence); c->error_offset then says where it began. */
CG_API enum cg_err cg_mos_conv_finish(struct cg_mos_conv *c);

/* One-shot conversion of a whole buffer into a fresh NUL-terminated buffer
 * (*out, *out_len without the NUL; free it with cg_mos_free). On
 * CG_EENCODING *err_offset (if not NULL) receives the offset of the bad
 * sequence and *out is NULL. Returns CG_OK, CG_EINVAL, CG_ENOMEM, CG_EENCODING. */
CG_API enum cg_err cg_mos_convert(enum cg_mos_encoding from, const void *in, size_t in_len,
                                  uint8_t **out, size_t *out_len, uint64_t *err_offset);

/* Frees a buffer returned by this API. NULL is a no-op. */
CG_API void cg_mos_free(void *p);

/* ------------------------------------------------------------------------ */
/* Stream framer (M-21)                                                     */
/* ------------------------------------------------------------------------ */

#define CG_MOS_DEFAULT_MAX_MESSAGE (16u * 1024u * 1024u)

/* Cuts a TCP byte stream into whole messages: each one runs from its root
 * `<mos` to the `</mos>` that closes it (nesting of <mos> elements counted;
 * `</mos>` inside CDATA, comments, processing instructions and quoted
 * attribute values ignored). It scans the native encoding directly, keeps
 * only the message in progress, and never rescans bytes it has seen. Between
 * messages it skips whitespace, byte order marks (FE FF in UTF-16BE, EF BB BF
 * in UTF-8), XML declarations and comments; anything else is junk. In
 * UTF-16BE a run of junk may have an odd length (stray bytes, a UTF-8 message
 * on a UCS-2BE connection): the framer then looks for the next `<` at both
 * byte parities and re-aligns, so later messages are found wherever they
 * start. It does not check well-formedness (see cg_mos_validate). */
struct cg_mos_framer;

/* A framer event. data/len: the message bytes in the framer's encoding
 * (for CG_OK), owned by the framer and valid until its next call. offset: the
 * stream offset of the message's first byte, or of the error. For CG_EJUNK
 * data is NULL and len is 0 when a run of junk begins at offset, or the number
 * of bytes the run skipped (from offset) when it ends. */
struct cg_mos_frame {
    const uint8_t *data;
    size_t len;
    uint64_t offset;
};

/* Creates a framer for enc whose messages may be at most max_message bytes
 * (0: CG_MOS_DEFAULT_MAX_MESSAGE). Returns CG_OK, CG_EINVAL, CG_ENOMEM. */
CG_API enum cg_err cg_mos_framer_new(enum cg_mos_encoding enc, size_t max_message,
                                     struct cg_mos_framer **out);

/* Frees the framer. NULL is a no-op. */
CG_API void cg_mos_framer_free(struct cg_mos_framer *f);

/* Appends len bytes read from the stream (copied). Call cg_mos_framer_next()
 * until it returns CG_EAGAIN before feeding again; then the framer holds at
 * most one partial message plus one feed. Returns CG_OK, CG_EINVAL, CG_ENOMEM. */
CG_API enum cg_err cg_mos_framer_feed(struct cg_mos_framer *f, const void *data, size_t len);

/* Reading without a copy: cg_mos_framer_space gives the free room at the end
 * of the framer's buffer (*data, *cap >= min; the buffer doubles when it
 * must grow), the caller reads the stream into it, then
 * cg_mos_framer_commit(f, n) appends those n bytes as cg_mos_framer_feed
 * would (n <= *cap). Nothing else may be called on f in between; the rules
 * of cg_mos_framer_feed (drain with cg_mos_framer_next first) apply. Return
 * CG_OK, CG_EINVAL (NULL, n over the room), CG_ENOMEM. */
CG_API enum cg_err cg_mos_framer_space(struct cg_mos_framer *f, size_t min, uint8_t **data,
                                       size_t *cap);
CG_API enum cg_err cg_mos_framer_commit(struct cg_mos_framer *f, size_t n);

/* Produces the next event:
 *   CG_OK        a whole message in *frame;
 *   CG_EAGAIN    nothing more until more bytes are fed;
 *   CG_EJUNK     bytes that are neither whitespace nor a message start at
 *                frame->offset; the framer skips them and resynchronises at
 *                the next `<mos` (at either byte parity in UTF-16BE). Each
 *                run gives two events: frame->len 0 where it begins, then
 *                frame->len = bytes skipped when the next message starts;
 *   CG_ETOOBIG   the message starting at frame->offset passed max_message; the
 *                framer drops it, keeps scanning to its closing `</mos>`
 *                without buffering, and continues with the next message.
 * After CG_EJUNK or CG_ETOOBIG simply call again. */
CG_API enum cg_err cg_mos_framer_next(struct cg_mos_framer *f, struct cg_mos_frame *frame);

/* Ends the stream: CG_OK if it ended cleanly between messages; CG_EAGAIN if
 * it ended inside a message (frame->offset: where that message began);
 * CG_EJUNK if it ended in junk or in cut markup (frame->offset, frame->len:
 * the bytes skipped); CG_EENCODING if a UTF-16BE stream ended on an odd byte. */
CG_API enum cg_err cg_mos_framer_finish(struct cg_mos_framer *f, struct cg_mos_frame *frame);

/* ------------------------------------------------------------------------ */
/* Envelope (M-20, M-11)                                                    */
/* ------------------------------------------------------------------------ */

#define CG_MOS_ID_MAX 128 /* characters (M-24) */

enum cg_mos_msgid {
    CG_MOS_MSGID_ABSENT = 0, /* no <messageID> or an empty one (legacy, plug-in) */
    CG_MOS_MSGID_OK = 1,     /* 1..2^31-1, decimal, 0x hex or x hex */
    CG_MOS_MSGID_RANGE = 2,  /* a number outside 1..2^31-1 (0, 4433250443): kept verbatim */
    CG_MOS_MSGID_BAD = 3     /* not a number: kept verbatim */
};

/* A byte span inside the message given to cg_mos_envelope_parse. */
struct cg_mos_span {
    size_t off;
    size_t len;
};

/* What the envelope says. Text fields are UTF-8, NUL-terminated, with the
 * predefined entities and character references decoded and surrounding
 * whitespace trimmed; "" when absent. */
struct cg_mos_envelope {
    char mos_id[4 * CG_MOS_ID_MAX + 1];
    char ncs_id[4 * CG_MOS_ID_MAX + 1];
    char message_id[4 * CG_MOS_ID_MAX + 1]; /* verbatim, to echo in a reply */
    char name[64];                          /* the message element's name */
    bool has_mos_id;
    bool has_ncs_id;
    enum cg_mos_msgid message_id_kind;
    uint32_t message_id_value;  /* when CG_MOS_MSGID_OK */
    struct cg_mos_span element; /* the message element, '<' to its final '>' */
};

/* Lenient on keepAlive (M-09, ERRATA 1): the spec's §4.1.1 example, with a
 * lone `</keepAlive>` instead of `<keepAlive/>`, reads as a keepAlive (the
 * name as written); cg_mos_validate still rejects it as not well-formed.
 *
 * Reads the envelope of one whole message (msg, len: bytes in enc, e.g. a
 * framer event or one WebSocket message; a leading BOM, XML declaration,
 * comments and whitespace are skipped). Envelope children are matched by name
 * in any order (Sofie writes ncsID first); the message element is the one
 * other child and is located as a byte span only: its content is not decoded
 * and passes through untouched. This does not check that the XML is
 * well-formed; cg_mos_validate does. Returns CG_OK; CG_EINVAL; CG_EENVELOPE
 * (no <mos> root, no message element, two message elements, an envelope
 * field that is not plain text or longer than CG_MOS_ID_MAX characters,
 * bytes after the root); CG_EENCODING (a field is not valid text). A missing
 * mosID or ncsID (has_* false) and an odd messageID are not errors: the caller
 * decides how strict to be (M-11). *detail, if not NULL, receives a static
 * English reason on failure. */
CG_API enum cg_err cg_mos_envelope_parse(enum cg_mos_encoding enc, const void *msg, size_t len,
                                         struct cg_mos_envelope *env, const char **detail);

/* The full check: msg must be one well-formed XML 1.0 document (with
 * Namespaces in XML 1.0) whose root is <mos> holding exactly one element
 * other than mosID, ncsID and messageID. cg_mos_check with the default
 * limits; see there. Returns CG_OK, CG_EINVAL, CG_ENOMEM, CG_EXML (refused;
 * *err_offset, if not NULL, gets the offset where the refused markup or
 * character starts, or 0), CG_EENVELOPE (well-formed but not one message). */
CG_API enum cg_err cg_mos_validate(enum cg_mos_encoding enc, const void *msg, size_t len,
                                   uint64_t *err_offset);

struct cg_mos_scan_limits; /* below, with the pre-scan */

/* The full check under limits (NULL: the defaults), castgate's own, in one
 * linear pass over the message's bytes in enc (UTF-16BE or UTF-8 read in
 * place, never converted): what cg_mos_scan refuses (a DOCTYPE or other
 * declaration, more than limits->max_attributes attributes on one element,
 * nesting deeper than limits->max_depth), then everything XML 1.0 (5th
 * edition) requires of a document without a DTD: legal characters (Char;
 * surrogates only in pairs in UTF-16, only valid UTF-8), names (NameStartChar
 * and NameChar, as QNames), matching end tags, unique attributes, attribute
 * values without '<', only the five predefined entities and character
 * references to legal characters, comments without "--", CDATA sections,
 * processing instructions (no target "xml" but the declaration at the very
 * start), the XML declaration (version 1.0; an encoding declaration must name
 * the message's own encoding), one root element and only comments, PIs and
 * spaces after it; namespaces (every prefix declared, no reserved prefix or
 * namespace name misused, namespace names that are URIs, absolute for a
 * default namespace); then the MOS rule. A leading byte order mark is
 * skipped. libxml2's own bounds apply as well (a name of more than 50,000
 * UTF-8 bytes, an attribute value, comment, PI or CDATA section of more than
 * 10,000,000, elements nested more than 257 deep).
 *
 * It decides what libxml2 2.9 decided for cg_mos_validate before (SAX2,
 * namespaces on, any error or warning refused), which fuzz/fuzz_mos_wf.c
 * checks on every input, except where libxml2 accepts what XML forbids:
 * castgate refuses an encoding declaration that names another encoding than
 * the message's ([80] EncodingDecl, 4.3.3: libxml2 switches decoders or
 * ignores it) and an SDDecl without a space before it ([32], libxml2 takes
 * it after encoding="UTF-8"). docs/validation.md lists them.
 *
 * No allocation unless one element carries more than 64 attributes or
 * namespace declarations or the nesting passes 64 (then one array, bounded
 * by the limits). Returns CG_OK, CG_EINVAL, CG_ENOMEM, CG_EXML or
 * CG_EENVELOPE; then *why (if not NULL) gets an English reason, valid until
 * the next call on this thread, and *offset (if not NULL, CG_EXML) the byte
 * offset where the refused markup or character starts. Thread-safe. */
CG_API enum cg_err cg_mos_check(enum cg_mos_encoding enc, const void *msg, size_t len,
                                const struct cg_mos_scan_limits *limits, uint64_t *offset,
                                const char **why);

/* ------------------------------------------------------------------------ */
/* Bounded pre-scan (issue 13 item 5)                                        */
/* ------------------------------------------------------------------------ */

/* Some shapes cost a parser more than their size (200,000 attributes on one
 * element took libxml2 11.6 s), and a DOCTYPE may declare entities. The
 * scanner refuses, in one linear pass with no allocation, what a MOS message
 * never needs:
 *   - a DOCTYPE, an entity or any other markup declaration (`<!` that is not
 *     a comment or CDATA);
 *   - more than max_attributes attributes on one element;
 *   - elements nested deeper than max_depth (the root is depth 1).
 * Processing instructions pass: MOS defines none, but a vendor's mosPayload
 * may carry one. The scanner reads UTF-8 or UTF-16BE bytes directly (no
 * conversion) and may be fed in pieces split at any byte, so it can run as
 * bytes arrive. It is not a well-formedness check: cg_mos_check makes the
 * same refusals (same reasons, same offsets) in its one pass and checks the
 * rest; a caller that scans first (mos4/flow.c, to NACK early on the event
 * loop) then needs only the full check. */
#define CG_MOS_DEFAULT_MAX_ATTRIBUTES 64
#define CG_MOS_DEFAULT_MAX_DEPTH 64

struct cg_mos_scan_limits {
    uint32_t max_attributes; /* per element; 0: CG_MOS_DEFAULT_MAX_ATTRIBUTES */
    uint32_t max_depth;      /* 0: CG_MOS_DEFAULT_MAX_DEPTH */
};

/* Scanner state: caller-owned (on the stack is fine), no allocation. */
struct cg_mos_scan {
    uint64_t offset;     /* bytes fed so far */
    uint64_t refused_at; /* after a refusal: offset of the '<' of the markup refused */
    const char *why;     /* after a refusal: an English reason (points into this struct) */
    uint64_t lt;         /* private: offset of the markup being read */
    uint32_t max_attrs, max_depth, depth, attrs; /* private */
    uint8_t w, st, k, hi;                        /* private */
    bool have_hi, slash, seen_element, refused;  /* private */
    char reason[80];                             /* private */
};

/* Prepares s for a message in enc (limits NULL: defaults). Cannot fail for a
 * valid enc; s may be reused by calling this again. */
CG_API void cg_mos_scan_init(struct cg_mos_scan *s, enum cg_mos_encoding enc,
                             const struct cg_mos_scan_limits *limits);

/* Scans the next len bytes of the message. Returns CG_OK (nothing refused so
 * far), CG_EINVAL, or CG_EXML: refused; s->why says why and s->refused_at
 * where, and every later call returns CG_EXML until cg_mos_scan_init(). */
CG_API enum cg_err cg_mos_scan_feed(struct cg_mos_scan *s, const void *data, size_t len);

/* One-shot scan of a whole message. Returns CG_OK, CG_EINVAL or CG_EXML with
 * *why (if not NULL) set to a reason valid until the next call on this thread,
 * and *offset (if not NULL) to where the refused markup starts. */
CG_API enum cg_err cg_mos_scan(enum cg_mos_encoding enc, const void *msg, size_t len,
                               const struct cg_mos_scan_limits *limits, uint64_t *offset,
                               const char **why);

/* Parses a messageID text (decimal, "0x1F" or "x1F", M-11/M-24). Returns
 * CG_MOS_MSGID_OK with *value set, or another kind; never overflows. */
CG_API enum cg_mos_msgid cg_mos_message_id_parse(const char *text, uint32_t *value);

/* ------------------------------------------------------------------------ */
/* Message catalogue (M-12, M-23, M-03)                                     */
/* ------------------------------------------------------------------------ */

enum cg_mos_channel {
    CG_MOS_CH_MOM = 1,   /* lower port 10540: object messages */
    CG_MOS_CH_RO = 2,    /* upper port 10541: running-order messages */
    CG_MOS_CH_AUX = 4,   /* 10542: object search */
    CG_MOS_CH_PLUGIN = 8 /* ActiveX/HTML5 plug-in, never on a socket */
};

struct cg_mos_msg_info {
    const char *name;       /* element name, case-sensitive */
    int profile;            /* 0..7; -1 for plug-in messages */
    unsigned channels;      /* enum cg_mos_channel bits */
    const char *answer;     /* the message that answers it, NULL if none */
    bool is_reply;          /* it only ever answers another message */
    const char *replies_to; /* the one request it answers (mosObj: mosReqObj), or NULL
                               (mosAck/roAck answer any request on their channel) */
    bool removed_in_4;      /* M-12: a 4.0 endpoint never initiates it */
};

/* Looks up a message by element name (len bytes, need not be NUL-terminated).
 * Returns the static entry or NULL if unknown. Socket messages win over
 * plug-in messages of the same name (roStorySend, mosItemReplace). Names are
 * case-sensitive (M-20) except the DTD's spelling "keepalive" (any case),
 * which gives keepAlive (M-09, ERRATA 15). */
CG_API const struct cg_mos_msg_info *cg_mos_msg_lookup(const char *name, size_t len);

/* The whole table: *count receives the number of entries. */
CG_API const struct cg_mos_msg_info *cg_mos_msg_table(size_t *count);

/* "mom", "ro", "aux", "mom+ro", "plugin", … for a channels bit set; a static
 * string, "none" for 0. */
CG_API const char *cg_mos_channel_name(unsigned channels);

/* ------------------------------------------------------------------------ */
/* Builders                                                                 */
/* ------------------------------------------------------------------------ */

/* Every builder writes exactly the spec's envelope order (mosID, ncsID,
 * messageID, message), escapes text for XML, and returns a fresh buffer in
 * enc (*out, *out_len; free with cg_mos_free). message_id is echoed verbatim
 * (NULL: no <messageID>, for legacy peers, M-11). mos_id and ncs_id must be
 * 1..CG_MOS_ID_MAX characters of valid UTF-8. Each returns CG_OK, CG_EINVAL
 * (NULL or over-long argument, invalid UTF-8), CG_ENOMEM. */

/* keepAlive (M-09): no messageID. */
CG_API enum cg_err cg_mos_build_keepalive(enum cg_mos_encoding enc, const char *mos_id,
                                          const char *ncs_id, uint8_t **out, size_t *out_len);

/* heartbeat (M-10) with <time> in the M-24 format for unix_ms (UTC):
 * YYYY-MM-DDThh:mm:ss,dddZ. */
CG_API enum cg_err cg_mos_build_heartbeat(enum cg_mos_encoding enc, const char *mos_id,
                                          const char *ncs_id, const char *message_id,
                                          int64_t unix_ms, uint8_t **out, size_t *out_len);

/* The forms of a heartbeat's <time> (M-24 allows both): FULL
 * "2009-04-11T17:20:42,000Z" (the default); SHORT "2009-04-11T17:20:42", no
 * fraction and no zone letter, as some NCSs write their own (field: ENPS);
 * still UTC. */
enum cg_mos_time_form { CG_MOS_TIME_FULL = 0, CG_MOS_TIME_SHORT = 1 };

/* cg_mos_build_heartbeat with the time in form. CG_EINVAL for an unknown form. */
CG_API enum cg_err cg_mos_build_heartbeat_form(enum cg_mos_encoding enc, const char *mos_id,
                                               const char *ncs_id, const char *message_id,
                                               int64_t unix_ms, enum cg_mos_time_form form,
                                               uint8_t **out, size_t *out_len);

/* reqMachInfo (profile 0). */
CG_API enum cg_err cg_mos_build_req_mach_info(enum cg_mos_encoding enc, const char *mos_id,
                                              const char *ncs_id, const char *message_id,
                                              uint8_t **out, size_t *out_len);

/* A mosAck NACK: <mosAck><objID/><objRev>0</objRev><status>NACK</status>
 * <statusDescription>description</statusDescription></mosAck>. obj_id may be
 * NULL (empty objID). */
CG_API enum cg_err cg_mos_build_mos_nack(enum cg_mos_encoding enc, const char *mos_id,
                                         const char *ncs_id, const char *message_id,
                                         const char *obj_id, const char *description,
                                         uint8_t **out, size_t *out_len);

/* A roAck NACK: <roAck><roID/><roStatus>description</roStatus></roAck>
 * (roStatus carries the reason, as in the spec's "Unknown object" example).
 * ro_id may be NULL. */
CG_API enum cg_err cg_mos_build_ro_nack(enum cg_mos_encoding enc, const char *mos_id,
                                        const char *ncs_id, const char *message_id,
                                        const char *ro_id, const char *description,
                                        uint8_t **out, size_t *out_len);

/* Formats unix_ms as a MOS time (M-24) into buf (at least 25 bytes):
 * "2009-04-11T17:20:42,000Z". Returns CG_OK, CG_EINVAL, CG_ERANGE. */
CG_API enum cg_err cg_mos_format_time(int64_t unix_ms, char *buf, size_t bufsz);

/* ------------------------------------------------------------------------ */
/* Messages removed in MOS 4.0 (M-12)                                       */
/* ------------------------------------------------------------------------ */

/* Rewrites one MOS 2.x message that 4.0 removed (roStoryInsert, roStoryMove,
 * roItemStat, ...) as the roElementAction or roElementStat that has the same
 * effect on a receiver implementing MOS 4.0 §3.6.1/§3.7.1, where one exists;
 * docs/translation.md gives the rule and the reasoning per message.
 *
 * xml, len: one whole message in UTF-8 (a <mos> envelope and the removed
 * message). The output (*out, NUL-terminated, *out_len without the NUL; free
 * with cg_mos_free) is the input with only the message element replaced:
 * everything around it (mosID, ncsID, messageID and any other envelope
 * children, in their order, comments, an XML declaration) is kept byte for
 * byte, and every child the new element carries (roID, storyID, itemID,
 * story, item, status, ...) is copied byte for byte, payloads included
 * (M-20: CDATA, entities, comments, non-ASCII). Whitespace between the old
 * element's children and comments directly inside it are not kept.
 *
 * Returns CG_OK; CG_EINVAL (NULL argument; not well-formed; not a removed
 * message; the children break the 2.8.5 syntax; an ID that must name a story
 * or item is empty; an ID listed twice in a move); CG_ENOTSUP (valid, but no
 * roElementAction has the same effect: roStoryAppend, "at the end" forms
 * with a blank reference, a move of nothing, or attributes, text or elements
 * the new element has no place for); CG_ETOOBIG (over
 * CG_MOS_DEFAULT_MAX_MESSAGE); CG_ENOMEM. why (may be NULL) receives a static
 * English reason on failure, naming the message once it is known, and NULL
 * on success. No I/O, no global state: callable from any thread. */
CG_API enum cg_err cg_mos_translate_removed(const char *xml, size_t len, char **out,
                                            size_t *out_len, const char **why);
/* The same, for a message the caller has already checked in full
 * (validated true): what an endpoint with validation on delivers to
 * on_request has passed cg_mos_scan with the endpoint's limits and libxml2,
 * so the translation does not parse it a second time (a message is
 * validated at most once per process; a second check with the default
 * limits would also refuse what the endpoint's raised limits accepted).
 * The translation still reads only [xml, xml + len) and refuses what it
 * cannot read (CG_EINVAL), but a message that is not well-formed may then
 * be translated as far as its markup goes: pass validated true only for a
 * message that was checked. validated false is cg_mos_translate_removed. */
CG_API enum cg_err cg_mos_translate_removed_ex(const char *xml, size_t len, bool validated,
                                               char **out, size_t *out_len, const char **why);

#ifdef __cplusplus
}
#endif
#endif
