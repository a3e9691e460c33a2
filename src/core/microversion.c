/* microversion.c — parsing and negotiating OpenStack API microversions (see microversion.h). */
#include "core/microversion.h"
#include "core/http.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

static int parse_num(const char **p, int *out)
{
	const char *s = *p;
	if (!isdigit((unsigned char)*s))
		return -1;
	long v = 0;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s - '0');
		if (v > 100000)
			return -1;
		s++;
	}
	*out = (int)v;
	*p = s;
	return 0;
}

int mv_parse(const char *s, struct mv *out)
{
	struct mv v;
	if (!s || parse_num(&s, &v.major) || *s++ != '.' || parse_num(&s, &v.minor) || *s)
		return -1;
	*out = v;
	return 0;
}

int mv_cmp(struct mv a, struct mv b)
{
	if (a.major != b.major)
		return a.major < b.major ? -1 : 1;
	return a.minor < b.minor ? -1 : a.minor > b.minor;
}

const char *mv_format(struct mv v, char buf[16])
{
	snprintf(buf, 16, "%d.%d", v.major, v.minor);
	return buf;
}

const char *mv_header_pick(const char *hdr, const char *service, char *buf, size_t cap)
{
	const char *p = hdr;
	size_t sl = strlen(service);
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > sl && !strncasecmp(p, service, sl) && (p[sl] == ' ' || p[sl] == '\t')) {
			const char *v = p + sl;
			size_t vl = len - sl;
			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			snprintf(buf, cap, "%.*s", (int)(vl < cap ? vl : cap - 1), v);
			return buf;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return NULL;
}

int mv_negotiate(struct http_req *r, const struct mv_spec *spec, struct mv *out)
{
	char buf[64];
	const char *want = NULL, *h = http_header(r, "OpenStack-API-Version");
	if (h)
		want = mv_header_pick(h, spec->service, buf, sizeof buf);
	if (!want && spec->legacy) {
		const char *l = http_header(r, spec->legacy);
		if (l) {
			snprintf(buf, sizeof buf, "%s", l);
			want = buf;
		}
	}
	*out = spec->min;
	if (!want)
		return 0;
	if (!strcasecmp(want, "latest")) {
		*out = spec->max;
		return 0;
	}
	struct mv v;
	if (mv_parse(want, &v))
		return http_error(r, ERR_BADREQ, "API Version String %s is of invalid format. Must be of "
				  "format MajorNum.MinorNum.", want);
	if (mv_cmp(v, spec->min) < 0 || mv_cmp(v, spec->max) > 0) {
		char a[16], b[16];
		return http_error(r, ERR_NOTACCEPT, "Version %s is not supported by the API. Minimum is %s "
				  "and maximum is %s.", want, mv_format(spec->min, a), mv_format(spec->max, b));
	}
	*out = v;
	return 0;
}

void mv_add_headers(struct http_req *r, const struct mv_spec *spec, struct mv v)
{
	char num[16], val[64];
	mv_format(v, num);
	snprintf(val, sizeof val, "%s %s", spec->service, num);
	http_add_header(r, "OpenStack-API-Version", val);
	if (spec->legacy) {
		http_add_header(r, spec->legacy, num);
		snprintf(val, sizeof val, "OpenStack-API-Version, %s", spec->legacy);
		http_add_header(r, "Vary", val);
	} else {
		http_add_header(r, "Vary", "OpenStack-API-Version");
	}
}
