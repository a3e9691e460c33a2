/* version.c — Nova's discovery documents: GET /compute (both API versions), GET /compute/v2.1
 * (the current one, with its microversion range) and GET /compute/v2 (the legacy one's document;
 * its API itself is not served). */
#include "compute/cmp.h"

static json_t *version_v21(struct http_req *r, bool detail)
{
	char max[16], min[16];
	json_t *links = json_pack("[{s:s,s:s}]", "rel", "self", "href",
				  arena_printf(r->arena, "%s/", cmp_url_v21(r)));
	if (detail)
		json_array_append_new(links, json_pack("{s:s,s:s,s:s}", "rel", "describedby", "type",
						       "text/html", "href", "http://docs.openstack.org/"));
	json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", "v2.1", "status", "CURRENT",
			      "version", mv_format(cmp_mv_spec.max, max),
			      "min_version", mv_format(cmp_mv_spec.min, min),
			      "updated", "2013-07-23T11:33:21Z", "links", links);
	if (detail)
		json_object_set_new(v, "media-types", json_pack("[{s:s,s:s}]", "base", "application/json",
								 "type", "application/vnd.openstack.compute+json;version=2.1"));
	return v;
}

/* v2.0: the legacy API's version document (only the document is served under /v2). */
static json_t *version_v20(struct http_req *r, bool detail)
{
	json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}", "id", "v2.0", "status", "SUPPORTED",
			      "version", "", "min_version", "", "updated", "2011-01-21T11:33:21Z",
			      "links", "rel", "self", "href", arena_printf(r->arena, "%s/v2/", cmp_url_root(r)));
	if (detail) {
		json_array_append_new(json_object_get(v, "links"),
				      json_pack("{s:s,s:s,s:s}", "rel", "describedby", "type", "text/html",
						"href", "http://docs.openstack.org/"));
		json_object_set_new(v, "media-types", json_pack("[{s:s,s:s}]", "base", "application/json",
								 "type", "application/vnd.openstack.compute+json;version=2"));
	}
	return v;
}

/* GET /compute: both versions. */
static int h_root(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:[o,o]}", "versions", version_v20(r, false),
						 version_v21(r, false)));
}

/* GET /compute/v2: the legacy version's document. */
static int h_v20(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:o}", "version", version_v20(r, true)));
}

/* GET /compute/v2.1: the current version in detail. */
static int h_v21(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:o}", "version", version_v21(r, true)));
}

const struct route cmp_routes_version[] = {
	{ "GET", "/", h_root, NULL, ROUTE_PUBLIC, NULL },
	{ "GET", "/v2.1", h_v21, NULL, ROUTE_PUBLIC, NULL },
	{ "GET", "/v2", h_v20, NULL, ROUTE_PUBLIC, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
