/* libFuzzer target: the front's JSON check and URL rewrite (src/front/json.c)
 * on what a backend (or a client, for the subscription request) sends. The
 * check and the rewrite agree on what is JSON, and a rewrite of JSON is
 * JSON again. */
#include "front/front.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *inside[] = {"127.0.0.1:8080", "localhost:80"};
    static const struct cg_front_rw rw = {.pub_host = "node.example.com", .pub_port = 8443,
                                          .inside = inside, .ninside = 2};
    enum cg_front_json_mode mode = size > 0 && (data[0] & 1) ? CG_FRONT_JSON_SUB_REQUEST
                                                             : CG_FRONT_JSON_RESPONSE;
    enum cg_err checked = cg__front_json_check(data, size);
    struct cg_buf out;
    cg__buf_init(&out, 0);
    bool changed = false;
    enum cg_err rc = cg__front_json_rewrite(&rw, mode, data, size, &out, &changed);
    if (rc != CG_ENOMEM && checked != CG_ENOMEM && (rc == CG_OK) != (checked == CG_OK))
        abort();
    if (rc == CG_OK && cg__front_json_check(out.data, out.len) == CG_EHTTP)
        abort(); /* the rewrite made JSON invalid */
    if (rc == CG_OK && !changed && (out.len != size || (size && memcmp(out.data, data, size))))
        abort(); /* nothing changed: the bytes are the input's */
    cg__buf_free(&out);
    return 0;
}
