/* valid.c — request-body and query-string checks with Nova's JSON-schema wording (see valid.h). */
#include "compute/valid.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cmp_v_repr(struct http_req *r, const json_t *v)
{
	if (!v)
		return "None";
	if (json_is_string(v))
		return arena_strdup(r->arena, json_string_value(v));
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!s)
		return "?";
	const char *out = arena_strndup(r->arena, s, strlen(s) > 200 ? 200 : strlen(s));
	free(s);
	return out;
}

static int fail(struct http_req *r, const json_t *v, const char *field, const char *msg)
{
	return cmp_bad_field(r, field, arena_printf(r->arena, "Value: %s. %s", cmp_v_repr(r, v), msg));
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: case JSON_REAL: return "number";
	case JSON_TRUE: case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

char *cmp_json_text(struct http_req *r, const json_t *j)
{
	char *t = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	char *s = arena_strdup(r->arena, t);
	free(t);
	return s;
}

int cmp_v_unexpected(struct http_req *r, const char *field, const char *key)
{
	return cmp_bad_field(r, field, arena_printf(r->arena, "Additional properties are not allowed ('%s' was unexpected)",
						  key));
}

int cmp_q_unexpected(struct http_req *r, const char *name, const char *value)
{
	return http_error(r, ERR_BADREQ, "Invalid input for query parameters %s. Value: %s. Additional "
			  "properties are not allowed ('%s' was unexpected)", name, value ? value : "", name);
}

struct q_only {
	struct http_req *r;
	const char *const *allowed;
	int rc;
};

static int q_only_check(void *ctx, const char *name, const char *value)
{
	struct q_only *q = ctx;
	for (int i = 0; q->allowed[i]; i++)
		if (!strcmp(q->allowed[i], name))
			return 0;
	q->rc = cmp_q_unexpected(q->r, name, value);
	return 1;
}

int cmp_q_only(struct http_req *r, const char *const *allowed)
{
	struct q_only q = { r, allowed, 0 };
	http_query_each(r, q_only_check, &q);
	return q.rc;
}

int cmp_q_limit(struct http_req *r, int64_t max, int64_t *limit)
{
	const char *s = http_query(r, "limit");
	if (!s)
		return 0;
	if (parse_int64(s, 0, INT64_MAX, limit))
		return http_error(r, ERR_BADREQ, "Invalid input for query parameters limit. Value: %s. "
				  "'%s' does not match '^[0-9]*$'", s, s);
	if (*limit > max)
		*limit = max;
	return 0;
}

int cmp_v_object(struct http_req *r, const json_t *v, const char *field)
{
	if (json_is_object(v))
		return 0;
	if (!field)
		return http_error(r, ERR_BADREQ, "Invalid input for field/attribute. %s is not of type 'object'",
				  cmp_v_repr(r, v));
	return fail(r, v, field, arena_printf(r->arena, "%s is not of type 'object'", type_name(v)));
}

int cmp_v_required(struct http_req *r, const json_t *obj, const char *field, const char *key)
{
	if (json_object_get(obj, key))
		return 0;
	if (!field)
		return http_error(r, ERR_BADREQ, "Invalid input for field/attribute %s. '%s' is a required property",
				  key, key);
	return fail(r, obj, field, arena_printf(r->arena, "'%s' is a required property", key));
}

int cmp_v_only(struct http_req *r, const json_t *obj, const char *field, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		bool ok = false;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(allowed[i], k);
		if (!ok) {
			const char *msg = arena_printf(r->arena, "Additional properties are not allowed ('%s' was "
						       "unexpected)", k);
			if (!field)
				return http_error(r, ERR_BADREQ, "%s", msg);
			return fail(r, obj, field, msg);
		}
	}
	return 0;
}

size_t cmp_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int cmp_v_string(struct http_req *r, const json_t *v, const char *field, size_t minlen, size_t maxlen,
		 bool nullable)
{
	if (nullable && json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(r, v, field, arena_printf(r->arena, "%s is not of type 'string'", cmp_v_repr(r, v)));
	size_t n = cmp_utf8_len(json_string_value(v));
	if (json_string_length(v) != strlen(json_string_value(v)))
		return fail(r, v, field, "The string contains a NUL character");
	if (n < minlen)
		return fail(r, v, field, minlen == 1 ? "'' is too short" : "The string is too short");
	if (maxlen && n > maxlen)
		return fail(r, v, field, "The string is too long");
	return 0;
}

/* Decodes one UTF-8 code point (lenient: invalid bytes are returned as themselves). */
static unsigned next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned c = *s++;
	int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
	if (extra)
		c &= 0x3F >> extra;
	while (extra-- > 0 && (*s & 0xC0) == 0x80)
		c = (c << 6) | (*s++ & 0x3F);
	*p = s;
	return c;
}

static bool is_space_cp(unsigned c)
{
	return c == ' ' || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

static bool is_control_cp(unsigned c)
{
	return c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0x2028 || c == 0x2029;
}

int cmp_v_name(struct http_req *r, const json_t *v, const char *field, bool edges)
{
	int rc = cmp_v_string(r, v, field, 1, CMP_NAME_MAX, false);
	if (rc)
		return rc;
	const unsigned char *p = (const unsigned char *)json_string_value(v);
	unsigned first = 0, last = 0;
	bool bad = false;
	for (bool start = true; *p; start = false) {
		unsigned c = next_cp(&p);
		if (start)
			first = c;
		last = c;
		if (is_control_cp(c))
			bad = true;
	}
	if (!edges && (is_space_cp(first) || is_space_cp(last)))
		bad = true;
	if (bad)
		return http_error(r, ERR_BADREQ, "An invalid 'name' value was provided. The name must be: "
				  "printable characters%s", edges ? "." : ". Can not start or end with whitespace.");
	return 0;
}

int cmp_v_description(struct http_req *r, const json_t *v, const char *field, size_t maxlen)
{
	int rc = cmp_v_string(r, v, field, 0, maxlen, true);
	if (rc || json_is_null(v))
		return rc;
	const unsigned char *p = (const unsigned char *)json_string_value(v);
	while (*p) {
		unsigned c = next_cp(&p);
		if (is_control_cp(c))
			return fail(r, v, field, "The value does not match the description pattern");
	}
	return 0;
}

int cmp_v_int(struct http_req *r, const json_t *v, const char *field, int64_t min, int64_t max, int64_t *out)
{
	int64_t n;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		const char *d = s + (min < 0 && *s == '-' ? 1 : 0);
		if (!*d || strspn(d, "0123456789") != strlen(d))
			return fail(r, v, field, arena_printf(r->arena, "'%s' does not match '^[0-9]+$'", s));
		if (parse_int64(s, INT64_MIN, INT64_MAX, &n))
			return fail(r, v, field, "The value is too large");
	} else {
		return fail(r, v, field, arena_printf(r->arena, "%s is not of type 'integer', 'string'",
						      cmp_v_repr(r, v)));
	}
	if (n < min)
		return fail(r, v, field, arena_printf(r->arena, "%lld is less than the minimum of %lld",
						      (long long)n, (long long)min));
	if (n > max)
		return fail(r, v, field, arena_printf(r->arena, "%lld is greater than the maximum of %lld",
						      (long long)n, (long long)max));
	*out = n;
	return 0;
}

int cmp_parse_bool_strict(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "true", "on", "y", "yes", NULL };
	static const char *const no[] = { "0", "f", "false", "off", "n", "no", NULL };
	for (int i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
	for (int i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	return -1;
}

int cmp_v_bool(struct http_req *r, const json_t *v, const char *field, bool *out)
{
	static const char *const yes[] = { "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", NULL };
	static const char *const no[] = { "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no", NULL };
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		for (int i = 0; yes[i]; i++)
			if (!strcmp(s, yes[i])) {
				*out = true;
				return 0;
			}
		for (int i = 0; no[i]; i++)
			if (!strcmp(s, no[i])) {
				*out = false;
				return 0;
			}
	}
	return fail(r, v, field, arena_printf(r->arena, "%s is not one of [True, 'True', 'TRUE', 'true', '1', "
					      "'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', "
					      "'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']",
					      cmp_v_repr(r, v)));
}

int cmp_v_fqdn(struct http_req *r, const json_t *v, const char *field)
{
	int rc = cmp_v_string(r, v, field, 1, 255, false);
	if (rc)
		return rc;
	const char *s = json_string_value(v);
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != strlen(s))
		return fail(r, v, field, arena_printf(r->arena, "'%s' does not match '^[a-zA-Z0-9-._]*$'", s));
	return 0;
}

int cmp_v_az_name(struct http_req *r, const json_t *v, const char *field)
{
	int rc = cmp_v_name(r, v, field, false);
	if (rc)
		return rc;
	if (strchr(json_string_value(v), ':'))
		return http_error(r, ERR_BADREQ, "An invalid 'name' value was provided. The name must be: "
				  "printable characters except :.Can not start or end with whitespace.");
	return 0;
}

json_t *cmp_time_json(int64_t us)
{
	if (!us)
		return json_null();
	char t[40];
	time_format(us, 6, false, t);
	return json_string(t);
}
