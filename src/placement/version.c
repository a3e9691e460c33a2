/* version.c — GET /placement/ : the version document (min 1.0, max 1.39), no token needed. */
#include "placement/plc.h"
#include <stdio.h>

static int root(struct http_req *r)
{
	char min[16], max[16], id[20];
	mv_format(plc_mv.min, min);
	mv_format(plc_mv.max, max);
	snprintf(id, sizeof id, "v%s", min);
	json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}", "id", id, "max_version", max,
			      "min_version", min, "status", "CURRENT", "links", "rel", "self", "href", "");
	return plc_reply(r, 200, json_pack("{s:[o]}", "versions", v), 0);
}

const struct route plc_routes_root[] = {
	{ "GET", "/", root, NULL, ROUTE_PUBLIC, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
