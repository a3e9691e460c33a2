/* qparse.c — parsers of Placement's query values: resources=RC:N,..., required=A,!B or in:A,B,
 * member_of=U, in:U1,U2, !U, !in:U1,U2, with Placement's error messages. Pure functions (the
 * arena only holds the copies), unit-tested in tests/unit/placement/test_qparse.c. */
#include "placement/plc.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s without surrounding whitespace, as an arena copy. */
static char *strip(struct arena *a, const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return arena_strndup(a, s, n);
}

/* Python's int() of a string: optional spaces and sign, digits (underscores between them). */
static bool py_int(const char *s, int64_t *out)
{
	while (isspace((unsigned char)*s))
		s++;
	int sign = 1;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*s))
		return false;
	int64_t v = 0;
	bool big = false;
	while (isdigit((unsigned char)*s) || (*s == '_' && isdigit((unsigned char)s[1]))) {
		if (*s != '_') {
			if (v > (INT64_MAX - 9) / 10)
				big = true;
			else
				v = v * 10 + (*s - '0');
		}
		s++;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		return false;
	*out = big ? (sign > 0 ? INT64_MAX : INT64_MIN) : sign * v;
	return true;
}

int plc_parse_resources(const char *qs, struct plc_amount *out, int max, int *n, char *msg, size_t msglen)
{
	*n = 0;
	const char *p = qs;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p) {
		snprintf(msg, msglen, "Badly formed resources parameter. Expected resources query string "
			 "parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string.");
		return -1;
	}
	p = qs;
	for (;;) {
		size_t len = strcspn(p, ",");
		char item[600];
		snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
		char *colon = strchr(item, ':');
		if (!colon || strchr(colon + 1, ':')) {
			snprintf(msg, msglen, "Badly formed resources parameter. Expected resources query "
				 "string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: %s.", item);
			return -1;
		}
		*colon = 0;
		const char *rc = item, *amount = colon + 1;
		int64_t v;
		if (!py_int(amount, &v)) {
			snprintf(msg, msglen, "Requested resource %s expected positive integer amount. "
				 "Got: %s.", rc, amount);
			return -1;
		}
		if (v < 1) {
			snprintf(msg, msglen, "Requested resource %s requires amount >= 1. Got: %lld.", rc,
				 (long long)v);
			return -1;
		}
		if (v > PLC_MAX_INT)       /* can never fit an inventory; keeps sums from overflowing */
			v = PLC_MAX_INT + 1;
		if (strlen(rc) > PLC_CLASS_MAX) {
			snprintf(msg, msglen, "Invalid resource class in resources parameter: No such "
				 "resource class %.300s.", rc);
			return -1;
		}
		int i;
		for (i = 0; i < *n; i++)          /* a repeated class: the last amount wins */
			if (!strcmp(out[i].rc, rc))
				break;
		if (i == *n) {
			if (*n == max) {
				snprintf(msg, msglen, "Too many resource classes in resources parameter.");
				return -1;
			}
			(*n)++;
		}
		snprintf(out[i].rc, sizeof out[i].rc, "%s", rc);
		out[i].amount = v;
		if (!p[len])
			break;
		p += len + 1;
	}
	return 0;
}

static bool in_list(const char *const *list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static int too_many(char *msg, size_t msglen, const char *what)
{
	snprintf(msg, msglen, "Invalid query string parameters: too many %s.", what);
	return -1;
}

int plc_parse_required(struct arena *a, const char *val, bool allow_forbidden, bool allow_any,
		       struct plc_traitq *q, char *msg, size_t msglen)
{
	if (!strncmp(val, "in:", 3)) {
		if (!allow_any) {
			snprintf(msg, msglen, "Invalid query string parameters: The format "
				 "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. "
				 "Got: %s", val);
			return -1;
		}
		if (q->nsets == (int)(sizeof q->set_start / sizeof q->set_start[0]))
			return too_many(msg, msglen, "traits");
		int start = q->nreq;
		const char *p = val + 3;
		for (;;) {
			size_t len = strcspn(p, ",");
			char *t = strip(a, p, len);
			if (!*t) {
				snprintf(msg, msglen, "Invalid query string parameters: Expected 'required' "
					 "parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an "
					 "empty trait in: %s", val);
				return -1;
			}
			if (*t == '!') {
				snprintf(msg, msglen, "Invalid query string parameters: The format "
					 "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. "
					 "Got: %s", val);
				return -1;
			}
			if (!in_list(q->req + start, q->nreq - start, t)) {
				if (q->nreq == (int)(sizeof q->req / sizeof q->req[0]))
					return too_many(msg, msglen, "traits");
				q->req[q->nreq++] = t;
			}
			if (!p[len])
				break;
			p += len + 1;
		}
		q->set_start[q->nsets] = start;
		q->set_len[q->nsets] = q->nreq - start;
		q->nsets++;
		return 0;
	}
	/* plain list: every name is its own set; '!' (any number of them) marks forbidden ones */
	const char *p = val;
	bool any_forbidden = false;
	for (;;) {
		size_t len = strcspn(p, ",");
		char *t = strip(a, p, len);
		const char *name = t;
		bool forbidden = *t == '!';
		while (*name == '!')
			name++;
		if (!*t || !*name) {
			snprintf(msg, msglen, "Invalid query string parameters: Expected 'required' parameter "
				 "value of the form: %s. Got an empty trait in: %s",
				 allow_forbidden ? "HW_CPU_X86_VMX,!CUSTOM_MAGIC" : "HW_CPU_X86_VMX,CUSTOM_MAGIC", val);
			return -1;
		}
		if (forbidden) {
			any_forbidden = true;
			if (!in_list(q->forbidden, q->nforbidden, name)) {
				if (q->nforbidden == (int)(sizeof q->forbidden / sizeof q->forbidden[0]))
					return too_many(msg, msglen, "traits");
				q->forbidden[q->nforbidden++] = name;
			}
		} else {
			if (q->nreq == (int)(sizeof q->req / sizeof q->req[0]) ||
			    q->nsets == (int)(sizeof q->set_start / sizeof q->set_start[0]))
				return too_many(msg, msglen, "traits");
			q->set_start[q->nsets] = q->nreq;
			q->set_len[q->nsets] = 1;
			q->nsets++;
			q->req[q->nreq++] = name;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	if (any_forbidden && !allow_forbidden) {
		snprintf(msg, msglen, "Invalid query string parameters: Expected 'required' parameter value "
			 "of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: %s", val);
		return -1;
	}
	return 0;
}

bool plc_uuid_like(const char *s, char out[37])
{
	if (!s)
		return false;
	char hex[33];
	int n = 0;
	const char *p = s;
	if (!strncmp(p, "urn:", 4))
		p += 4;
	if (!strncmp(p, "uuid:", 5))
		p += 5;
	size_t len = strlen(p);
	if (len && p[0] == '{')
		p++, len--;
	if (len && p[len - 1] == '}')
		len--;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '-')
			continue;
		if (!isxdigit((unsigned char)c) || n == 32)
			return false;
		hex[n++] = (char)tolower((unsigned char)c);
	}
	if (n != 32)
		return false;
	hex[32] = 0;
	if (out)
		snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return true;
}

int plc_parse_member_of(struct arena *a, const char *val, struct plc_aggq *q, char *msg, size_t msglen)
{
	bool forbidden = false, multi = false;
	const char *p = val;
	if (!strncmp(p, "!in:", 4)) {
		forbidden = multi = true;
		p += 4;
	} else if (!strncmp(p, "in:", 3)) {
		multi = true;
		p += 3;
	} else if (*p == '!') {
		forbidden = true;
		p++;
	}
	if (!multi && strchr(val, ',')) {
		snprintf(msg, msglen, "Multiple values for 'member_of' must be prefixed with the 'in:' or "
			 "'!in:' keyword using the valid microversion. Got: %s", val);
		return -1;
	}
	int start = q->nreq;
	for (;;) {
		size_t len = strcspn(p, ",");
		char *u = arena_strndup(a, p, len), *d = arena_alloc(a, 37);
		if (!plc_uuid_like(u, d)) {
			snprintf(msg, msglen, "Invalid query string parameters: Expected 'member_of' parameter "
				 "to contain valid UUID(s). Got: %s", u);
			return -1;
		}
		if (forbidden) {
			if (!in_list(q->forbidden, q->nforbidden, d)) {
				if (q->nforbidden == (int)(sizeof q->forbidden / sizeof q->forbidden[0]))
					return too_many(msg, msglen, "aggregates");
				q->forbidden[q->nforbidden++] = d;
			}
		} else if (!in_list(q->req + start, q->nreq - start, d)) {
			if (q->nreq == (int)(sizeof q->req / sizeof q->req[0]))
				return too_many(msg, msglen, "aggregates");
			q->req[q->nreq++] = d;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	if (!forbidden) {
		if (q->nsets == (int)(sizeof q->set_start / sizeof q->set_start[0]))
			return too_many(msg, msglen, "aggregates");
		q->set_start[q->nsets] = start;
		q->set_len[q->nsets] = q->nreq - start;
		q->nsets++;
	}
	return 0;
}
