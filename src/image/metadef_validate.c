/* metadef_validate.c — checks a request body against a metadef JSON schema: the subset of
 * JSON Schema those schemas use ($ref into #/definitions, allOf, type, enum, properties,
 * additionalProperties, required, items, min/maxItems, uniqueItems, min/maxLength,
 * minimum/maximum). "format" and "default" are annotations, as for Python's jsonschema.
 * The reason is worded as jsonschema words it, values printed the way Python prints them. */
#include "image/metadefs.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 32

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + 1 >= b->cap)
		return;
	size_t room = b->cap - 1 - b->len;
	if (n > room)
		n = room;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Python's repr() of the value (str, None, True, list, dict), truncated to the buffer. */
static void repr(struct buf *b, const json_t *x, int depth)
{
	char num[64];
	if (depth > 8) {
		puts_(b, "...");
		return;
	}
	switch (json_typeof(x)) {
	case JSON_STRING: {
		const char *s = json_string_value(x);
		size_t n = json_string_length(x);
		puts_(b, "'");
		for (size_t i = 0; i < n; i++) {
			char c = s[i];
			if (c == '\'' || c == '\\') {
				char e[2] = { '\\', c };
				put(b, e, 2);
			} else if (c == '\n') {
				puts_(b, "\\n");
			} else if (c == '\t') {
				puts_(b, "\\t");
			} else if (c == '\r') {
				puts_(b, "\\r");
			} else if ((unsigned char)c < 0x20 || c == 0x7f) {
				snprintf(num, sizeof num, "\\x%02x", (unsigned char)c);
				puts_(b, num);
			} else {
				put(b, &c, 1);
			}
		}
		puts_(b, "'");
		break;
	}
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(x));
		puts_(b, num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof num, "%.17g", json_real_value(x));
		puts_(b, num);
		if (!strpbrk(num, ".eEn"))
			puts_(b, ".0");
		break;
	case JSON_TRUE:
		puts_(b, "True");
		break;
	case JSON_FALSE:
		puts_(b, "False");
		break;
	case JSON_NULL:
		puts_(b, "None");
		break;
	case JSON_ARRAY: {
		puts_(b, "[");
		size_t i;
		json_t *e;
		json_array_foreach(x, i, e) {
			if (i)
				puts_(b, ", ");
			repr(b, e, depth + 1);
		}
		puts_(b, "]");
		break;
	}
	case JSON_OBJECT: {
		puts_(b, "{");
		const char *k;
		json_t *e;
		bool first = true;
		json_object_foreach((json_t *)x, k, e) {
			if (!first)
				puts_(b, ", ");
			first = false;
			json_t *ks = json_string(k);
			repr(b, ks, depth + 1);
			json_decref(ks);
			puts_(b, ": ");
			repr(b, e, depth + 1);
		}
		puts_(b, "}");
		break;
	}
	}
}

struct vctx {
	const json_t *root;
	struct buf why;
};

/* Records the reason "<repr(x)><text>" and returns false. */
static bool fail(struct vctx *v, const json_t *x, const char *text)
{
	if (x)
		repr(&v->why, x, 0);
	puts_(&v->why, text);
	return false;
}

static bool is_type(const json_t *x, const char *t)
{
	if (!strcmp(t, "string"))
		return json_is_string(x);
	if (!strcmp(t, "integer"))
		return json_is_integer(x) || (json_is_real(x) && isfinite(json_real_value(x)) &&
					      floor(json_real_value(x)) == json_real_value(x));
	if (!strcmp(t, "number"))
		return json_is_number(x);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(x);
	if (!strcmp(t, "null"))
		return json_is_null(x);
	if (!strcmp(t, "object"))
		return json_is_object(x);
	if (!strcmp(t, "array"))
		return json_is_array(x);
	return false;
}

static size_t utf8_len(const char *s, size_t n)
{
	size_t cps = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			cps++;
	return cps;
}

static bool valid(struct vctx *v, const json_t *s, const json_t *x, int depth);

static bool check_type(struct vctx *v, const json_t *t, const json_t *x)
{
	if (json_is_string(t)) {
		if (is_type(x, json_string_value(t)))
			return true;
	} else if (json_is_array(t)) {
		size_t i;
		json_t *e;
		json_array_foreach(t, i, e)
			if (json_is_string(e) && is_type(x, json_string_value(e)))
				return true;
	} else {
		return true;
	}
	repr(&v->why, x, 0);
	puts_(&v->why, " is not of type ");
	if (json_is_string(t)) {
		repr(&v->why, t, 0);
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(t, i, e) {
			if (i)
				puts_(&v->why, ", ");
			repr(&v->why, e, 0);
		}
	}
	return false;
}

static bool check_object(struct vctx *v, const json_t *s, const json_t *x, int depth)
{
	const json_t *props = json_object_get(s, "properties");
	const json_t *addl = json_object_get(s, "additionalProperties");
	const json_t *req = json_object_get(s, "required");
	if (json_is_array(req)) {
		size_t i;
		json_t *e;
		json_array_foreach(req, i, e)
			if (json_is_string(e) && !json_object_get(x, json_string_value(e)))
				return fail(v, e, " is a required property");
	}
	const char *k;
	json_t *e;
	if (json_is_false(addl)) {
		int extra = 0;
		json_object_foreach((json_t *)x, k, e)
			if (!json_object_get(props, k))
				extra++;
		if (extra) {
			puts_(&v->why, "Additional properties are not allowed (");
			int n = 0;
			json_object_foreach((json_t *)x, k, e) {
				if (json_object_get(props, k))
					continue;
				if (n++)
					puts_(&v->why, ", ");
				json_t *ks = json_string(k);
				repr(&v->why, ks, 0);
				json_decref(ks);
			}
			puts_(&v->why, extra == 1 ? " was unexpected)" : " were unexpected)");
			return false;
		}
	}
	json_object_foreach((json_t *)x, k, e) {
		const json_t *ps = json_object_get(props, k);
		if (ps) {
			if (!valid(v, ps, e, depth + 1))
				return false;
		} else if (json_is_object(addl) && !valid(v, addl, e, depth + 1)) {
			return false;
		}
	}
	return true;
}

static bool check_array(struct vctx *v, const json_t *s, const json_t *x, int depth)
{
	size_t n = json_array_size(x);
	const json_t *lim = json_object_get(s, "minItems");
	if (json_is_integer(lim) && (json_int_t)n < json_integer_value(lim))
		return fail(v, x, " is too short");
	lim = json_object_get(s, "maxItems");
	if (json_is_integer(lim) && (json_int_t)n > json_integer_value(lim))
		return fail(v, x, " is too long");
	if (json_is_true(json_object_get(s, "uniqueItems")))
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (json_equal(json_array_get(x, i), json_array_get(x, j)))
					return fail(v, x, " has non-unique elements");
	const json_t *items = json_object_get(s, "items");
	if (json_is_object(items))
		for (size_t i = 0; i < n; i++)
			if (!valid(v, items, json_array_get(x, i), depth + 1))
				return false;
	return true;
}

static bool check_string(struct vctx *v, const json_t *s, const json_t *x)
{
	size_t n = utf8_len(json_string_value(x), json_string_length(x));
	const json_t *lim = json_object_get(s, "maxLength");
	if (json_is_integer(lim) && (json_int_t)n > json_integer_value(lim))
		return fail(v, x, " is too long");
	lim = json_object_get(s, "minLength");
	if (json_is_integer(lim) && (json_int_t)n < json_integer_value(lim))
		return fail(v, x, " is too short");
	return true;
}

static bool check_number(struct vctx *v, const json_t *s, const json_t *x)
{
	double d = json_number_value(x);
	const json_t *lim = json_object_get(s, "minimum");
	if (json_is_number(lim) && d < json_number_value(lim)) {
		repr(&v->why, x, 0);
		puts_(&v->why, " is less than the minimum of ");
		repr(&v->why, lim, 0);
		return false;
	}
	lim = json_object_get(s, "maximum");
	if (json_is_number(lim) && d > json_number_value(lim)) {
		repr(&v->why, x, 0);
		puts_(&v->why, " is greater than the maximum of ");
		repr(&v->why, lim, 0);
		return false;
	}
	return true;
}

static bool valid(struct vctx *v, const json_t *s, const json_t *x, int depth)
{
	if (depth > MAX_DEPTH) {
		puts_(&v->why, "the document is nested too deeply");
		return false;
	}
	if (!json_is_object(s))
		return true;
	const json_t *r = json_object_get(s, "$ref");
	if (json_is_string(r)) {
		/* only local definitions: "#/definitions/NAME"; a $ref replaces its siblings */
		const char *p = json_string_value(r);
		const char *pre = "#/definitions/";
		const json_t *target = NULL;
		if (!strncmp(p, pre, strlen(pre)))
			target = json_object_get(json_object_get(v->root, "definitions"), p + strlen(pre));
		return target ? valid(v, target, x, depth + 1) : true;
	}
	const json_t *t = json_object_get(s, "type");
	if (t && !check_type(v, t, x))
		return false;
	const json_t *en = json_object_get(s, "enum");
	if (json_is_array(en)) {
		bool found = false;
		size_t i;
		json_t *e;
		json_array_foreach(en, i, e)
			if (json_equal(e, (json_t *)x))
				found = true;
		if (!found) {
			repr(&v->why, x, 0);
			puts_(&v->why, " is not one of ");
			repr(&v->why, en, 0);
			return false;
		}
	}
	const json_t *all = json_object_get(s, "allOf");
	if (json_is_array(all)) {
		size_t i;
		json_t *e;
		json_array_foreach(all, i, e)
			if (!valid(v, e, x, depth + 1))
				return false;
	}
	if (json_is_object(x))
		return check_object(v, s, x, depth);
	if (json_is_array(x))
		return check_array(v, s, x, depth);
	if (json_is_string(x))
		return check_string(v, s, x);
	if (json_is_number(x))
		return check_number(v, s, x);
	return true;
}

int mdef_validate(struct http_req *r, const json_t *schema, const json_t *doc)
{
	char why[400];
	struct vctx v = { schema, { why, 0, sizeof why } };
	why[0] = 0;
	if (valid(&v, schema, doc, 0))
		return 0;
	const char *name = json_string_value(json_object_get(schema, "name"));
	return http_error(r, ERR_BADREQ, "Provided object does not match schema '%s': %s",
			  name ? name : "", why);
}
