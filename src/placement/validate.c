/* validate.c — request body checks equivalent to the JSON schemas of Placement's handlers,
 * answering 400 "JSON does not validate: ..." with the first message jsonschema would give. */
#include "placement/plc.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *plc_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

const char *plc_repr(struct http_req *r, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return arena_printf(r->arena, "'%.200s'", json_string_value(v));
	case JSON_INTEGER: return arena_printf(r->arena, "%lld", (long long)json_integer_value(v));
	case JSON_REAL: return arena_printf(r->arena, "%g", json_real_value(v));
	case JSON_TRUE: return "True";
	case JSON_FALSE: return "False";
	case JSON_NULL: return "None";
	case JSON_ARRAY: return json_array_size(v) ? "[...]" : "[]";
	default: return json_object_size(v) ? "{...}" : "{}";
	}
}

static int invalid(struct http_req *r, const char *msg)
{
	return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s", msg);
}

static bool listed(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

int plc_v_object(struct http_req *r, const json_t *v, const char *const *allowed,
		 const char *const *required)
{
	if (!json_is_object(v))
		return invalid(r, arena_printf(r->arena, "%s is not of type 'object'", plc_repr(r, v)));
	for (const char *const *k = required; k && *k; k++)
		if (!json_object_get(v, *k))
			return invalid(r, arena_printf(r->arena, "'%s' is a required property", *k));
	if (allowed) {
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val) {
			if (!listed(allowed, key))
				return invalid(r, arena_printf(r->arena, "Additional properties are not allowed "
							       "('%.200s' was unexpected)", key));
		}
	}
	return 0;
}

/* An integer value as jsonschema sees one (integral floats count, booleans do not). */
static bool as_int(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 9e18) {
			*out = (int64_t)d;
			return true;
		}
	}
	return false;
}

int plc_v_int(struct http_req *r, const json_t *obj, const char *key, int64_t min, int64_t max,
	      int64_t *out, bool *present)
{
	json_t *v = json_object_get(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	int64_t i;
	if (!as_int(v, &i))
		return invalid(r, arena_printf(r->arena, "%s is not of type 'integer'", plc_repr(r, v)));
	if (i < min)
		return invalid(r, arena_printf(r->arena, "%lld is less than the minimum of %lld",
					       (long long)i, (long long)min));
	if (i > max)
		return invalid(r, arena_printf(r->arena, "%lld is greater than the maximum of %lld",
					       (long long)i, (long long)max));
	*out = i;
	return 0;
}

int plc_v_string(struct http_req *r, const json_t *obj, const char *key, size_t minlen,
		 size_t maxlen, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return invalid(r, arena_printf(r->arena, "%s is not of type 'string'", plc_repr(r, v)));
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n)
		return invalid(r, "strings may not contain NUL characters");
	/* jsonschema counts characters, not bytes */
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			chars++;
	if (chars < minlen)
		return invalid(r, arena_printf(r->arena, "%s is too short", plc_repr(r, v)));
	if (chars > maxlen)
		return invalid(r, arena_printf(r->arena, "%s is too long", plc_repr(r, v)));
	*out = s;
	return 0;
}
