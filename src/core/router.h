/* router.h — per-service route tables as plain data, and the matcher.
 * A pattern is a path with {name} segments: "/v3/users/{user_id}/groups". */
#ifndef CORE_ROUTER_H
#define CORE_ROUTER_H
#include <stdbool.h>
#include <stddef.h>

struct http_req;
typedef int (*route_handler)(struct http_req *r);
/* Receives a request body piece by piece (streaming routes); returns 0 or an error code. */
typedef int (*route_body_handler)(struct http_req *r, const char *data, size_t len);

enum route_flags {
	ROUTE_PUBLIC = 1,     /* no token needed (version discovery, POST /auth/tokens) */
	ROUTE_EXACT = 2,      /* no trailing slash tolerated ("/v2/images/" is not "/v2/images") */
};

struct route {
	const char *method;       /* "GET", "POST", ...; NULL ends the table */
	const char *pattern;
	route_handler handler;
	const char *policy;       /* policy rule name checked before the handler, or NULL */
	unsigned flags;
	route_body_handler on_body; /* when set, the body is streamed here instead of buffered;
				     * the handler then runs once the body has ended */
};

/* The route for method+path, filling r->params. Returns NULL when nothing matches; then
 * *path_known says whether some other method matches the path (405 rather than 404). */
const struct route *router_match(const struct route *table, struct http_req *r,
				 const char *method, const char *path, bool *path_known);

/* One table holding the routes of several tables, in order (a service's route families).
 * Heap-allocated: free() it. */
struct route *router_join(const struct route *const *tables, size_t ntables);

#endif
