/* The backend's responses, sans-I/O over nodejs http-parser in response
 * mode: the head (bounded), then the body as it comes (Content-Length,
 * chunked, or until the backend closes), decoded; the caller decides how it
 * travels on. One response at a time: the parser pauses at its end. */
#include "front/front.h"

#include <string.h>
#include <strings.h>

static struct cg_front_resp *R(http_parser *p) { return p->data; }

static int fail(struct cg_front_resp *r, const char *why)
{
    if (r->error == NULL)
        r->error = why;
    return -1;
}

static int count(struct cg_front_resp *r, size_t n)
{
    r->head_bytes += n;
    return r->head_bytes > r->max_head ? fail(r, "response head too large") : 0;
}

/* src and a NUL appended to dst (one reservation: every header, every
 * response). */
static bool put_z(struct cg_buf *dst, const struct cg_buf *src)
{
    if (cg__buf_reserve(dst, src->len + 1) != CG_OK)
        return false;
    if (src->len > 0)
        memcpy(dst->data + dst->len, src->data, src->len);
    dst->data[dst->len + src->len] = 0;
    dst->len += src->len + 1;
    return true;
}

static int store(struct cg_front_resp *r)
{
    if (r->nheaders >= 100)
        return fail(r, "too many response headers");
    if ((r->field.len > 0 && memchr(r->field.data, 0, r->field.len) != NULL) ||
        (r->value.len > 0 && memchr(r->value.data, 0, r->value.len) != NULL))
        return fail(r, "NUL in a response header"); /* an empty value has no buffer yet */
    if (!put_z(&r->names, &r->field) || !put_z(&r->values, &r->value))
        return fail(r, "response head too large");
    r->nheaders++;
    cg__buf_reset(&r->field);
    cg__buf_reset(&r->value);
    return 0;
}

static int on_begin(http_parser *p)
{
    struct cg_front_resp *r = R(p);
    r->head_bytes = 0;
    r->nheaders = 0;
    cg__buf_reset(&r->names);
    cg__buf_reset(&r->values);
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    struct cg_front_resp *r = R(p);
    if (count(r, n) != 0)
        return -1;
    if (r->in_value) {
        if (store(r) != 0)
            return -1;
        r->in_value = false;
    }
    return cg__buf_append(&r->field, at, n) == CG_OK ? 0 : fail(r, "header too large");
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    struct cg_front_resp *r = R(p);
    if (count(r, n) != 0)
        return -1;
    r->in_value = true;
    return cg__buf_append(&r->value, at, n) == CG_OK ? 0 : fail(r, "header too large");
}

static int on_status(http_parser *p, const char *at, size_t n)
{
    CG_UNUSED(at);
    return count(R(p), n);
}

static int on_headers_complete(http_parser *p)
{
    struct cg_front_resp *r = R(p);
    if (r->in_value && store(r) != 0)
        return -1;
    r->in_value = false;
    r->status = p->status_code;
    if (p->http_major != 1 || r->status < 100 || r->status > 599)
        return fail(r, "not an HTTP/1.x response");
    if (r->status >= 100 && r->status < 200 && r->status != 101)
        return 0; /* 100 Continue, 103 Early Hints: skipped; the real one follows */
    r->head_done = true;
    r->keep_alive = http_should_keep_alive(p) != 0;
    r->upgrade = r->status == 101;
    r->chunked = (p->flags & F_CHUNKED) != 0;
    r->has_length = (p->flags & F_CONTENTLENGTH) != 0;
    r->length = r->has_length ? p->content_length : 0;
    if (r->sink != NULL && r->sink->head != NULL)
        r->sink->head(r->sink->user);
    if (r->upgrade)
        return 2; /* no body: the connection is the WebSocket's now */
    return r->no_body ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct cg_front_resp *r = R(p);
    if (r->sink != NULL && r->sink->body != NULL)
        r->sink->body(r->sink->user, (const uint8_t *)at, n);
    return 0;
}

static int on_complete(http_parser *p)
{
    struct cg_front_resp *r = R(p);
    if (!r->head_done)
        return 0; /* an interim 1xx */
    r->complete = true;
    http_parser_pause(p, 1);
    if (r->sink != NULL && r->sink->done != NULL)
        r->sink->done(r->sink->user);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_status = on_status,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

void cg__front_resp_init(struct cg_front_resp *r, const struct cg_front_resp_sink *sink,
                         size_t max_head, bool head_request)
{
    memset(r, 0, sizeof(*r));
    r->sink = sink;
    r->max_head = max_head;
    r->no_body = head_request;
    cg__buf_init(&r->names, max_head);
    cg__buf_init(&r->values, max_head);
    cg__buf_init(&r->field, max_head);
    cg__buf_init(&r->value, max_head);
    http_parser_init(&r->p, HTTP_RESPONSE);
    r->p.data = r;
}

/* Memory a buffer keeps from one response to the next on a kept-alive
 * backend connection; an odd larger head does not stay with the pool. */
#define RESP_KEEP_BYTES 4096

void cg__front_resp_reset(struct cg_front_resp *r, const struct cg_front_resp_sink *sink,
                          size_t max_head, bool head_request)
{
    struct cg_buf keep[4] = {r->names, r->values, r->field, r->value};
    cg__front_resp_init(r, sink, max_head, head_request);
    struct cg_buf *to[4] = {&r->names, &r->values, &r->field, &r->value};
    for (size_t i = 0; i < 4; i++) {
        if (keep[i].cap > RESP_KEEP_BYTES) {
            cg__buf_free(&keep[i]);
            continue;
        }
        to[i]->data = keep[i].data; /* len 0; the bound is max_head as init set it */
        to[i]->cap = keep[i].cap;
    }
}

void cg__front_resp_free(struct cg_front_resp *r)
{
    cg__buf_free(&r->names);
    cg__buf_free(&r->values);
    cg__buf_free(&r->field);
    cg__buf_free(&r->value);
}

size_t cg__front_resp_feed(struct cg_front_resp *r, const uint8_t *p, size_t len)
{
    if (r->error != NULL || r->complete || (r->upgrade && r->head_done))
        return 0;
    size_t used = http_parser_execute(&r->p, &settings, (const char *)p, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->p);
    if (r->upgrade && r->head_done)
        return used;
    if (e == HPE_PAUSED)
        return used;
    if (e != HPE_OK && r->error == NULL)
        r->error = len == 0 ? "the backend closed before the response ended"
                            : "malformed response from the backend";
    else if (len == 0 && !r->complete && r->error == NULL)
        r->error = "the backend closed before the response ended";
    return used;
}

bool cg__front_resp_next(const struct cg_front_resp *r, const char **name, const char **value)
{
    const char *n = *name, *v = *value;
    if (n == NULL) {
        if (r->nheaders == 0)
            return false;
        n = (const char *)r->names.data;
        v = (const char *)r->values.data;
    } else {
        n += strlen(n) + 1;
        v += strlen(v) + 1;
        if (n >= (const char *)r->names.data + r->names.len)
            return false;
    }
    *name = n;
    *value = v;
    return true;
}

const char *cg__front_resp_get(const struct cg_front_resp *r, const char *name)
{
    size_t len = strlen(name);
    for (const char *n = NULL, *v = NULL; cg__front_resp_next(r, &n, &v);)
        if (strncasecmp(n, name, len) == 0 && n[len] == '\0')
            return v;
    return NULL;
}
