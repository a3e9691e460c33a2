/* valid.h — request-body (and query-string) checks with Nova's JSON-schema wording (nova/api/validation): types,
 * required and unexpected members, names, integers given as numbers or digit strings, booleans
 * given as any of Nova's spellings. Each check records a 400 in r and returns ERR_BADREQ, or 0.
 * Not for use outside src/compute. */
#ifndef COMPUTE_VALID_H
#define COMPUTE_VALID_H
#include "compute/cmp.h"

/* v must be an object; field names it in the message. */
int cmp_v_object(struct http_req *r, const json_t *v, const char *field);
/* obj (an object) must hold key. */
int cmp_v_required(struct http_req *r, const json_t *obj, const char *field, const char *key);
/* Every member of obj must be named in allowed (NULL-terminated). */
int cmp_v_only(struct http_req *r, const json_t *obj, const char *field, const char *const *allowed);
/* 400 for a query parameter the API's query schema does not allow (additionalProperties). */
int cmp_q_unexpected(struct http_req *r, const char *name, const char *value);
/* The first query parameter not named in allowed (NULL-terminated) gets that 400; else 0. */
int cmp_q_only(struct http_req *r, const char *const *allowed);
/* The "limit" query parameter when present: a non-negative integer (else 400 in Nova's words)
 * capped at max, into *limit; left unchanged when absent. */
int cmp_q_limit(struct http_req *r, int64_t max, int64_t *limit);
/* A string of [minlen, maxlen] characters (code points); nullable admits JSON null. */
int cmp_v_string(struct http_req *r, const json_t *v, const char *field, size_t minlen, size_t maxlen,
		 bool nullable);
/* Nova's "name" format: 1..255 printable characters, no leading or trailing whitespace
 * (edges=true allows them: name_with_leading_trailing_spaces). */
int cmp_v_name(struct http_req *r, const json_t *v, const char *field, bool edges);
/* A host name (parameter_types.fqdn): 1..255 of [a-zA-Z0-9-._]. */
int cmp_v_fqdn(struct http_req *r, const json_t *v, const char *field);
/* An availability zone name: a name without ':'. */
int cmp_v_az_name(struct http_req *r, const json_t *v, const char *field);
/* A description: printable characters (newlines and tabs allowed), up to maxlen, or null. */
int cmp_v_description(struct http_req *r, const json_t *v, const char *field, size_t maxlen);
/* An integer in [min, max], as a JSON integer or a string of digits (optionally signed when
 * min < 0). */
int cmp_v_int(struct http_req *r, const json_t *v, const char *field, int64_t min, int64_t max, int64_t *out);
/* Nova's parameter_types.boolean: true/false or "True", "yes", "on", "1", ... */
int cmp_v_bool(struct http_req *r, const json_t *v, const char *field, bool *out);
/* A query-string boolean as oslo's bool_from_string(strict=True): 0 or -1. */
int cmp_parse_bool_strict(const char *s, bool *out);
/* The value as JSON text for messages (arena). */
const char *cmp_v_repr(struct http_req *r, const json_t *v);
/* Number of UTF-8 code points in s. */
size_t cmp_utf8_len(const char *s);

/* Paging: "BASE/v2.1/COLLECTION?" + the request's query parameters sorted by name with marker set
 * to the given id, as Nova builds its "next" links (flavors.c). */
const char *cmp_next_link(struct http_req *r, const char *collection, const char *marker);
/* "2023-01-01T12:00:00.000000" (Nova's naive datetimes), or JSON null for 0. New reference. */
json_t *cmp_time_json(int64_t us);

#endif
