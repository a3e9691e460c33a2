/* version.c — Keystone version discovery: GET /identity (300, every version) and /identity/v3. */
#include "identity/ident.h"

static json_t *v3_doc(struct http_req *r)
{
	return json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}],s:[{s:s,s:s}]}",
			 "id", "v3.14", "status", "stable", "updated", "2020-04-07T00:00:00Z",
			 "links", "rel", "self", "href", ident_url(r, "/v3/"),
			 "media-types", "base", "application/json",
			 "type", "application/vnd.openstack.identity-v3+json");
}

static int h_versions(struct http_req *r)
{
	return http_reply_json(r, 300, json_pack("{s:{s:[o]}}", "versions", "values", v3_doc(r)));
}

static int h_v3(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:o}", "version", v3_doc(r)));
}

const struct route ident_routes_version[] = {
	{ "GET", "/", h_versions, NULL, ROUTE_PUBLIC },
	{ "GET", "/v3", h_v3, NULL, ROUTE_PUBLIC },
	{ 0 },
};
