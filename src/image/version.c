/* version.c — Glance's discovery: the version documents (GET /image → 300, /image/versions →
 * 200) and the /v2/info resources: import methods, stores (the one "file" store, with its
 * details for admins) and the caller's quota usage. */
#include "image/img.h"
#include "core/conf.h"

/* Every v2 minor version Glance Zed lists with the image cache and several stores enabled,
 * newest first; the first is CURRENT. */
static const char *const versions[] = {
	"2.16", "2.15", "2.14", "2.13", "2.12", "2.11", "2.10", "2.9", "2.8",
	"2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0",
};

/* The only store today (store.c); the name clients pass as X-Image-Meta-Store / ?stores=. */
#define IMG_STORE_ID "file"
#define IMG_STORE_DESC "Image data kept in files on the server's disk"
#define MIB (1024 * 1024)

static json_t *versions_doc(struct http_req *r)
{
	const char *href = arena_printf(r->arena, "%s" IMG_PREFIX "/v2/", r->base_url);
	json_t *list = json_array();
	for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:[{s:s,s:s}]}",
						      "id", arena_printf(r->arena, "v%s", versions[i]),
						      "status", i ? "SUPPORTED" : "CURRENT",
						      "links", "rel", "self", "href", href));
	return json_pack("{s:o}", "versions", list);
}

/* GET /image: the choices (300), as Glance answers any unversioned request. */
static int h_root(struct http_req *r)
{
	return http_reply_json(r, 300, versions_doc(r));
}

/* GET /image/versions: the same list, asked for explicitly. */
static int h_versions(struct http_req *r)
{
	return http_reply_json(r, 200, versions_doc(r));
}

/* GET /image/v2: Glance has no document there; its v2 router finds nothing (after auth). */
static int h_v2(struct http_req *r)
{
	return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
}

static int h_import(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:{s:s,s:s,s:[s]}}", "import-methods",
						 "description", "Import methods available.",
						 "type", "array", "value", "glance-direct"));
}

/* A store entry as Glance lists it ("default" is the string "true"). */
static json_t *store_entry(void)
{
	return json_pack("{s:s,s:s,s:s}", "id", IMG_STORE_ID, "description", IMG_STORE_DESC,
			 "default", "true");
}

static int h_stores(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:[o]}", "stores", store_entry()));
}

/* GET /v2/info/stores/detail (policy stores_info_detail): the store's type and settings. */
static int h_stores_detail(struct http_req *r)
{
	json_t *s = store_entry();
	json_object_set_new(s, "type", json_string("file"));
	json_object_set_new(s, "properties",
			    json_pack("{s:s,s:i,s:b}", "data_dir", conf_str("image", "filesystem_store_datadir"),
				      "chunk_size", 65536, "thin_provisioning", 0));
	return http_reply_json(r, 200, json_pack("{s:[o]}", "stores", s));
}

static json_t *usage_entry(int64_t usage, int64_t limit)
{
	return json_pack("{s:I,s:I}", "usage", (json_int_t)usage, "limit", (json_int_t)limit);
}

/* GET /v2/info/usage: the caller's project against the [image] quotas, in the names and units
 * of Glance's unified limits (sizes in MiB; -1: no limit). */
static int h_usage(struct http_req *r)
{
	const char *proj = img_caller_project(r);
	struct db_rows *rows;
	int rc = db_query(img_db(r), &rows,
			  "SELECT"
			  " COALESCE(SUM(CASE WHEN status NOT IN ('killed', 'deleted') AND location IS NOT NULL"
			  "  AND size > 0 THEN size ELSE 0 END), 0),"
			  " COALESCE(SUM(CASE WHEN staged > 0 THEN staged ELSE 0 END), 0),"
			  " COALESCE(SUM(CASE WHEN status NOT IN ('killed', 'deleted') THEN 1 ELSE 0 END), 0),"
			  " COALESCE(SUM(CASE WHEN status IN ('saving', 'uploading', 'importing') THEN 1 ELSE 0 END), 0)"
			  " FROM img_images WHERE owner = ?", DB_TEXT(proj));
	if (rc < 0)
		return img_db_error(r, rc, "usage");
	int64_t stored = db_int(rows, 0, 0), staged = db_int(rows, 0, 1);
	int64_t count = db_int(rows, 0, 2), uploading = db_int(rows, 0, 3);
	db_rows_free(rows);
	int64_t bytes_max = 0;
	if (img_parse_size(conf_str("image", "user_storage_quota"), &bytes_max) < 0)
		bytes_max = 0;
	int64_t count_max = conf_int("image", "image_count_quota");
	json_t *u = json_object();
	json_object_set_new(u, "image_size_total", usage_entry(stored / MIB, bytes_max > 0 ? bytes_max / MIB : -1));
	json_object_set_new(u, "image_stage_total", usage_entry(staged / MIB, -1));
	json_object_set_new(u, "image_count_total", usage_entry(count, count_max >= 0 ? count_max : -1));
	json_object_set_new(u, "image_count_uploading", usage_entry(uploading, -1));
	return http_reply_json(r, 200, json_pack("{s:o}", "usage", u));
}

const struct route img_routes_version[] = {
	{ "GET", "/", h_root, NULL, ROUTE_PUBLIC, NULL },
	{ "GET", "/versions", h_versions, NULL, ROUTE_PUBLIC, NULL },
	{ "GET", "/v2", h_v2, NULL, 0, NULL },
	{ "GET", "/v2/info/import", h_import, NULL, 0, NULL },
	{ "GET", "/v2/info/stores", h_stores, NULL, 0, NULL },
	{ "GET", "/v2/info/stores/detail", h_stores_detail, "stores_info_detail", 0, NULL },
	{ "GET", "/v2/info/usage", h_usage, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
