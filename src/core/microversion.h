/* microversion.h — OpenStack API microversions: reading the version a client asks for from
 * `OpenStack-API-Version: <service> X.Y` (or a service's legacy header such as
 * X-OpenStack-Nova-API-Version), checking it against what a service supports, and echoing it
 * back (with Vary) the way Nova, Placement and Cinder do. */
#ifndef CORE_MICROVERSION_H
#define CORE_MICROVERSION_H
#include <stdbool.h>
#include <stddef.h>
struct http_req;

struct mv {
	int major, minor;
};

struct mv_spec {
	const char *service;      /* the token in OpenStack-API-Version: "compute", "placement" */
	const char *legacy;       /* an older header name to read and echo too, or NULL */
	struct mv min, max;       /* what the service supports; a request without a version gets min */
};

/* Parses "X.Y" (no sign, no spaces, no leading '+'); 0 or -1. */
int mv_parse(const char *s, struct mv *out);
/* The version r asks for: 0 and *out; ERR_BADREQ for a malformed version; ERR_NOTACCEPT for one
 * outside [min, max]. Errors are recorded in r with the services' usual wording. The new
 * header wins over the legacy one; "latest" means max. */
int mv_negotiate(struct http_req *r, const struct mv_spec *spec, struct mv *out);
/* Adds the response headers naming v (the new one, the legacy one, and Vary for both). */
void mv_add_headers(struct http_req *r, const struct mv_spec *spec, struct mv v);
/* The value for service in an OpenStack-API-Version header ("compute 2.1, placement 1.2"),
 * trimmed, copied into buf; NULL when the header does not name the service. */
const char *mv_header_pick(const char *hdr, const char *service, char *buf, size_t cap);
/* Comparisons. */
int mv_cmp(struct mv a, struct mv b);
static inline bool mv_ge(struct mv v, int major, int minor)
{
	return v.major > major || (v.major == major && v.minor >= minor);
}
static inline bool mv_lt(struct mv v, int major, int minor) { return !mv_ge(v, major, minor); }
/* "2.79" into buf[16]. */
const char *mv_format(struct mv v, char buf[16]);

#endif
