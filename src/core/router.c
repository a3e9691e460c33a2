/* router.c — matches "METHOD /path" against a route table, segment by segment. */
#include "core/router.h"
#include "core/http.h"
#include "core/util.h"
#include <stdlib.h>
#include <string.h>

/* Matches one pattern; captures parameters into r (arena copies) only when capture is true. */
static bool match(const char *pat, const char *path, struct http_req *r, bool capture, bool exact)
{
	int np = 0;
	if (!*path)
		path = "/";
	while (*pat && *path) {
		if (*pat != '/' || *path != '/')
			return false;
		pat++;
		path++;
		const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
		size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
		size_t sl = se ? (size_t)(se - path) : strlen(path);
		if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
			if (sl == 0 || np == HTTP_MAX_PARAMS)
				return false;
			if (sl >= 3 && memmem(path, sl, "%00", 3))
				return false;
			if (capture) {
				char *raw = arena_strndup(r->arena, path, sl);
				if (strstr(raw, "%00"))
					return false;       /* an embedded NUL would truncate the id */
				char *v = arena_alloc(r->arena, sl + 1);
				url_decode(raw, v, false);
				r->param_names[np] = arena_strndup(r->arena, pat + 1, pl - 2);
				r->params[np] = v;
			}
			np++;
		} else if (pl != sl || strncmp(pat, path, pl)) {
			return false;
		}
		pat += pl;
		path += sl;
	}
	if (!exact && *path == '/' && !path[1] && *pat == 0) /* tolerate one trailing slash */
		path++;
	if (*pat || *path)
		return false;
	if (capture)
		r->nparams = np;
	return true;
}

const struct route *router_match(const struct route *table, struct http_req *r,
				 const char *method, const char *path, bool *path_known)
{
	*path_known = false;
	for (const struct route *rt = table; rt->method; rt++) {
		bool exact = rt->flags & ROUTE_EXACT;
		if (!match(rt->pattern, path, r, false, exact))
			continue;
		*path_known = true;
		if (!strcmp(rt->method, method)) {
			match(rt->pattern, path, r, true, exact);
			return rt;
		}
	}
	if (*path_known && !strcmp(method, "HEAD")) /* HEAD falls back to GET */
		return router_match(table, r, "GET", path, path_known);
	return NULL;
}

struct route *router_join(const struct route *const *tables, size_t ntables)
{
	size_t n = 0;
	for (size_t t = 0; t < ntables; t++)
		for (const struct route *r = tables[t]; r->method; r++)
			n++;
	struct route *all = xcalloc(n + 1, sizeof *all);
	size_t i = 0;
	for (size_t t = 0; t < ntables; t++)
		for (const struct route *r = tables[t]; r->method; r++)
			all[i++] = *r;
	return all;
}
