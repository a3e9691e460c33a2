/* server_valid.c — the request checks the servers API shares, after Nova's JSON schemas
 * (nova/api/validation/parameter_types.py): names, metadata, tags, booleans, base64, and the
 * metadata_items quota. Failures are 400 (403 for the quota) with Nova's wording. */
#include "compute/srv.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Decodes one UTF-8 code point; returns its length or 0 when invalid. */
static int utf8_next(const unsigned char *s, unsigned *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	int n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!n)
		return 0;
	unsigned v = s[0] & (0x7f >> n);
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	*cp = v;
	return n;
}

static bool is_space_cp(unsigned cp)
{
	return cp == ' ' || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x202f ||
	       cp == 0x205f || cp == 0x3000 || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0x2028 ||
	       cp == 0x2029;
}

/* Control characters and line/paragraph separators are not printable in Nova's sense. */
static bool is_unprintable_cp(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x200b && cp <= 0x200f) || cp == 0xfeff;
}

int srv_validate_name(struct http_req *r, const json_t *v, const char *field)
{
	if (!json_is_string(v))
		return cmp_bad_field(r, field, arena_printf(r->arena, "Value: %s. %s is not of type 'string'",
							    json_is_null(v) ? "None" : "?", "value"));
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0)
		return cmp_bad_field(r, field, "Value: . '' is too short");
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp = 0, first = 0, last = 0;
	size_t chars = 0;
	while (*p) {
		int n = utf8_next(p, &cp);
		if (!n || is_unprintable_cp(cp))
			return cmp_bad_field(r, field, arena_printf(r->arena, "Value: %s. '%s' does not match the"
				" pattern of printable characters. Can not start or end with whitespace.", s, s));
		if (!chars)
			first = cp;
		last = cp;
		chars++;
		p += n;
	}
	if (chars > CMP_NAME_MAX)
		return cmp_bad_field(r, field, arena_printf(r->arena, "Value: %s. '%s' is too long", s, s));
	if (is_space_cp(first) || is_space_cp(last))
		return cmp_bad_field(r, field, arena_printf(r->arena, "Value: %s. '%s' does not match the pattern"
			" of printable characters. Can not start or end with whitespace.", s, s));
	return 0;
}

static bool md_key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n < 1 || n > 255)
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && !strchr("-_:. ", *k))
			return false;
	return true;
}

int srv_validate_metadata(struct http_req *r, const json_t *md, const char *field)
{
	if (!json_is_object(md))
		return cmp_bad_field(r, field, "Value: ?. It is not of type 'object'");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)md, k, v) {
		if (!md_key_ok(k))
			return cmp_bad_field(r, field, arena_printf(r->arena, "Additional properties are not allowed"
									  " ('%s' was unexpected)", k));
		if (!json_is_string(v))
			return cmp_bad_field(r, arena_printf(r->arena, "%s/%s", field, k),
					     "Value is not of type 'string'");
		if (json_string_length(v) > 255)
			return cmp_bad_field(r, arena_printf(r->arena, "%s/%s", field, k),
					     arena_printf(r->arena, "Value: %s. It is too long", json_string_value(v)));
	}
	return 0;
}

int srv_check_metadata_quota(struct http_req *r, const char *project_id, int64_t count)
{
	int64_t limit = -1;
	int rc = cmp_quota_limit(r, project_id, NULL, "metadata_items", &limit);
	if (rc < 0)
		return rc;
	if (limit >= 0 && count > limit)
		return http_error(r, ERR_FORBIDDEN, "Maximum number of metadata items exceeds %lld", (long long)limit);
	return 0;
}

int srv_validate_tag(struct http_req *r, const char *tag)
{
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)tag; *p; p++)
		if ((*p & 0xc0) != 0x80)
			chars++;
	if (chars < 1 || chars > SRV_TAG_MAX)
		return cmp_bad_field(r, "tags", arena_printf(r->arena, "Value: %s. It must be 1 to %d characters long",
							     tag, SRV_TAG_MAX));
	if (strchr(tag, ',') || strchr(tag, '/'))
		return cmp_bad_field(r, "tags", arena_printf(r->arena, "Value: %s. '%s' does not match '^[^,/]*$'",
							     tag, tag));
	return 0;
}

int srv_parse_bool(const json_t *v, bool *out)
{
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	static const char *const t[] = { "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", NULL };
	static const char *const f[] = { "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no", NULL };
	const char *s = json_string_value(v);
	for (int i = 0; t[i]; i++)
		if (!strcmp(s, t[i])) {
			*out = true;
			return 0;
		}
	for (int i = 0; f[i]; i++)
		if (!strcmp(s, f[i])) {
			*out = false;
			return 0;
		}
	return -1;
}

bool srv_base64_valid(const char *s)
{
	/* as Python's base64.decodebytes: characters outside the alphabet are skipped, the data
	 * characters must end on a quantum or be padded */
	size_t c = 0, pad = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '=')
			pad++;
		else if (isalnum((unsigned char)*p) || *p == '+' || *p == '/') {
			if (pad)
				break;
			c++;
		}
	}
	switch (c % 4) {
	case 0: return true;
	case 2: return pad >= 2;
	case 3: return pad >= 1;
	default: return false;
	}
}

const char *srv_ip_canonical(struct http_req *r, const json_t *v, int af)
{
	unsigned char buf[16];
	char out[64];
	if (!json_is_string(v) || inet_pton(af, json_string_value(v), buf) != 1 || !inet_ntop(af, buf, out, sizeof out))
		return NULL;
	return arena_strdup(r->arena, out);
}
