/* catalog.c — the service catalog: /v3/regions (a tree), /v3/services and /v3/endpoints, and
 * ident_catalog(), the catalog as tokens carry it (enabled services and their enabled
 * endpoints, with $(project_id)s-style URL templates filled in for the token's project). */
#include "identity/ident.h"
#include <ctype.h>
#include <string.h>

#define REGION_ID_MAX 255
#define REGION_DESC_MAX 255
#define SERVICE_ATTR_MAX 255
#define URL_MAX 225
/* Bound on walks through the region tree (guards against cycles in bad data). */
#define WALK_MAX 100

/* --- URL templates --- */

/* The substitutions Keystone allows in endpoint URLs. */
static const char *const url_keys[] = {
	"tenant_id", "project_id", "user_id", "public_bind_host", "admin_bind_host", "compute_host",
	"admin_port", "public_port", "public_endpoint", NULL,
};

/* Expands "$(key)s" / "%(key)s" and "%%" in url into out (size cap, may be NULL to measure).
 * With project_id NULL: validate mode when check is true (every allowed key expands to ""),
 * otherwise a URL needing the project is skipped. Returns the length, or -1 when the URL is
 * malformed or cannot be expanded (the endpoint is then left out). */
static long url_expand(const char *url, const char *project_id, bool check, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = url; *p;) {
		const char *val = NULL;
		char lit = 0;
		if ((p[0] == '$' || p[0] == '%') && p[1] == '(') {
			const char *end = strchr(p + 2, ')');
			if (!end || end[1] != 's')
				return -1;
			size_t klen = (size_t)(end - (p + 2));
			bool allowed = false;
			for (const char *const *k = url_keys; *k; k++)
				if (strlen(*k) == klen && !memcmp(*k, p + 2, klen))
					allowed = true;
			if (!allowed)
				return -1;
			bool proj = (klen == 9 && !memcmp(p + 2, "tenant_id", 9)) ||
				    (klen == 10 && !memcmp(p + 2, "project_id", 10));
			if (check)
				val = "";
			else if (proj && project_id)
				val = project_id;
			else
				return -1;
			p = end + 2;
		} else if (p[0] == '%') {
			if (p[1] != '%')
				return -1;
			lit = '%';
			p += 2;
		} else {
			lit = *p++;
		}
		size_t add = val ? strlen(val) : 1;
		if (out && n + add < cap) {
			if (val)
				memcpy(out + n, val, add);
			else
				out[n] = lit;
		}
		n += add;
	}
	if (out && cap)
		out[n < cap ? n : cap - 1] = 0;
	return (long)n;
}

/* --- regions --- */

#define REGION_COLS "id, description, parent_region_id, extra"
static const char *const region_known[] = { "id", "description", "parent_region_id", NULL };

static json_t *region_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0), *desc = db_text(rows, i, 1), *parent = db_text(rows, i, 2);
	json_t *o = json_pack("{s:s,s:s,s:o}", "id", id, "description", desc ? desc : "",
			      "parent_region_id", parent ? json_string(parent) : json_null());
	json_object_set_new(o, "links", ident_links(r, "/v3/regions/%s", id));
	ident_merge_extra(o, db_text(rows, i, 3));
	return o;
}

static const struct ident_kind region_kind = {
	"region", "SELECT " REGION_COLS " FROM region WHERE id = ?", region_render,
};

static int region_reply(struct http_req *r, int status, const char *id)
{
	json_t *o = ident_load_row(r, &region_kind, id);
	return o ? ident_reply_one(r, status, "region", o) : r->err;
}

static int region_fields(struct http_req *r, const json_t *body, const char **desc, const char **parent)
{
	int rc = ident_str(r, body, "description", false, true, REGION_DESC_MAX, desc);
	if (rc < 0)
		return rc;
	return ident_str(r, body, "parent_region_id", false, true, REGION_ID_MAX, parent);
}

/* Inserts a region inside the caller's transaction; the parent must exist. */
static int region_insert(struct http_req *r, const char *id, const char *desc, const char *parent, const char *extra)
{
	struct db_conn *c = ident_db(r);
	int rc = ident_exists(c, "SELECT 1 FROM region WHERE id = ?", DB_TEXT(id));
	if (rc > 0)
		return ident_abort(r, ERR_CONFLICT, "Conflict occurred attempting to store region - Duplicate ID, %s.", id);
	if (rc < 0)
		return ident_db_error(r, rc, "region");
	if (parent && (rc = ident_must_exist(r, "region", "region", parent)) < 0)
		return rc;
	rc = db_exec(c, "INSERT INTO region (id, description, parent_region_id, extra) VALUES (?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(desc ? desc : ""), DB_TEXT(parent), DB_TEXT(extra ? extra : "{}"));
	return rc < 0 ? ident_db_error(r, rc, "region") : 0;
}

/* POST /v3/regions and PUT /v3/regions/{region_id}. */
static int region_create(struct http_req *r, const char *url_id)
{
	int rc = ident_enforce(r, "identity:create_region", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "region");
	if (!body)
		return r->err;
	const char *desc, *parent, *id;
	if ((rc = region_fields(r, body, &desc, &parent)) < 0 ||
	    (rc = ident_str(r, body, "id", false, false, REGION_ID_MAX, &id)) < 0)
		return rc;
	char gen[33];
	if (url_id) {
		if (!id)
			id = url_id;
		else if (strcmp(id, url_id))
			return http_error(r, ERR_BADREQ, "Conflicting region IDs specified: \"%s\" != \"%s\"", url_id, id);
	} else if (!id || !*id) {
		uuid_hex(gen);
		id = gen;
	}
	char *extra = ident_extra_new(r, body, region_known);
	if ((rc = ident_begin(r)) < 0 || (rc = region_insert(r, id, desc, parent, extra)) < 0 ||
	    (rc = ident_commit(r)) < 0)
		return rc;
	return region_reply(r, 201, id);
}

static int h_create_region(struct http_req *r) { return region_create(r, NULL); }
static int h_put_region(struct http_req *r) { return region_create(r, http_param(r, "region_id")); }

static int h_list_regions(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:list_regions", NULL);
	if (rc < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " REGION_COLS " FROM region WHERE 1 = 1");
	ident_sql_filter(&q, r, "parent_region_id", "parent_region_id");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "region");
	return ident_reply_rows(r, "regions", rows, region_render);
}

static int h_get_region(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:get_region", NULL);
	if (rc < 0)
		return rc;
	return region_reply(r, 200, http_param(r, "region_id"));
}

static int h_update_region(struct http_req *r)
{
	const char *id = http_param(r, "region_id");
	int rc = ident_enforce(r, "identity:update_region", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "region");
	if (!body)
		return r->err;
	const char *desc, *parent;
	if ((rc = ident_non_empty(r, body, "region")) < 0 || (rc = ident_same_id(r, body, id)) < 0 ||
	    (rc = region_fields(r, body, &desc, &parent)) < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	if (parent && (rc = ident_must_exist(r, "region", "region", parent)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	if ((rc = ident_row_for_update(r, &region_kind, id, &rows)) < 0)
		return rc;
	if (!desc)
		desc = json_object_get(body, "description") ? "" : arena_strdup(r->arena, db_text(rows, 0, 1));
	bool set_parent = json_object_get(body, "parent_region_id") != NULL;
	if (!set_parent)
		parent = arena_strdup(r->arena, db_text(rows, 0, 2));
	char *extra = ident_extra(r, body, region_known, db_text(rows, 0, 3));
	db_rows_free(rows);
	/* Walking up from the new parent must never come back to this region. */
	const char *cur = parent;
	for (int hop = 0; cur && hop < WALK_MAX; hop++) {
		if (!strcmp(cur, id))
			return ident_abort(r, ERR_BADREQ, "The specified parent region %s would create a circular "
					   "region hierarchy.", parent);
		if ((rc = db_query(c, &rows, "SELECT parent_region_id FROM region WHERE id = ?", DB_TEXT(cur))) < 0)
			return ident_db_error(r, rc, "region");
		cur = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
		db_rows_free(rows);
	}
	rc = db_exec(c, "UPDATE region SET description = ?, parent_region_id = ?, extra = ? WHERE id = ?",
		     DB_TEXT(desc), DB_TEXT(parent), DB_TEXT(extra), DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "region");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return region_reply(r, 200, id);
}

/* Regions below the current level are found in id order, each once (the seen set guards
 * against cycles in bad data). */
int ident_region_tree(struct db_conn *c, const char *region_id, json_t **out)
{
	json_t *tree = json_pack("[s]", region_id);
	int rc = 0;
	for (size_t i = 0; i < json_array_size(tree); i++) {
		struct db_rows *rows;
		if ((rc = db_query(c, &rows, "SELECT id FROM region WHERE parent_region_id = ? ORDER BY id",
				   DB_TEXT(json_string_value(json_array_get(tree, i))))) < 0)
			break;
		for (int k = 0; k < db_rows_count(rows); k++)
			if (!ident_array_has(tree, db_text(rows, k, 0)))
				json_array_append_new(tree, json_string(db_text(rows, k, 0)));
		db_rows_free(rows);
	}
	if (rc < 0) {
		json_decref(tree);
		return rc;
	}
	*out = tree;
	return 0;
}

static int h_delete_region(struct http_req *r)
{
	const char *id = http_param(r, "region_id");
	int rc = ident_enforce(r, "identity:delete_region", NULL);
	if (rc < 0 || (rc = ident_begin(r)) < 0 || (rc = ident_must_exist(r, "region", "region", id)) < 0)
		return rc;
	/* The region and its descendants go together, unless one of them has endpoints. */
	struct db_conn *c = ident_db(r);
	json_t *tree;
	if ((rc = ident_region_tree(c, id, &tree)) < 0)
		return ident_db_error(r, rc, "region");
	for (size_t i = 0; i < json_array_size(tree) && rc >= 0; i++) {
		rc = ident_exists(c, "SELECT 1 FROM endpoint WHERE region_id = ?",
				  DB_TEXT(json_string_value(json_array_get(tree, i))));
		if (rc > 0) {
			json_decref(tree);
			return ident_abort(r, ERR_FORBIDDEN, "Unable to delete region %s because it or its child "
					   "regions have associated endpoints.", id);
		}
	}
	/* Leaves first, so no row ever points at a deleted parent. */
	for (size_t i = json_array_size(tree); rc >= 0 && i-- > 0;)
		rc = db_exec(c, "DELETE FROM region WHERE id = ?", DB_TEXT(json_string_value(json_array_get(tree, i))));
	json_decref(tree);
	if (rc < 0)
		return ident_db_error(r, rc, "region");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- services --- */

#define SERVICE_COLS "id, type, enabled, extra"
static const char *const service_known[] = { "id", "type", "enabled", NULL };

static json_t *service_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0);
	json_t *o = json_pack("{s:s,s:s,s:b}", "id", id, "type", db_text(rows, i, 1), "enabled", db_bool(rows, i, 2));
	json_object_set_new(o, "links", ident_links(r, "/v3/services/%s", id));
	ident_merge_extra(o, db_text(rows, i, 3));
	return o;
}

static const struct ident_kind service_kind = {
	"service", "SELECT " SERVICE_COLS " FROM service WHERE id = ?", service_render,
};

static int service_reply(struct http_req *r, int status, const char *id)
{
	json_t *o = ident_load_row(r, &service_kind, id);
	return o ? ident_reply_one(r, status, "service", o) : r->err;
}

/* type (1..255), name (1..255 with a non-space) and enabled (a boolean). */
static int service_fields(struct http_req *r, const json_t *body, bool create, const char **type,
			  bool *enabled, bool *has_enabled)
{
	const char *name;
	int rc = ident_str(r, body, "type", create, false, SERVICE_ATTR_MAX, type);
	if (rc < 0 || (rc = ident_bool(r, body, "enabled", enabled, has_enabled)) < 0 ||
	    (rc = ident_name(r, body, "name", false, &name)) < 0)
		return rc;
	if (*type && !**type)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'type': '' is too short.");
	if (name && !*name)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'name': '' is too short.");
	return 0;
}

static int h_create_service(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:create_service", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "service");
	if (!body)
		return r->err;
	const char *type;
	bool enabled = true;
	if ((rc = service_fields(r, body, true, &type, &enabled, NULL)) < 0)
		return rc;
	json_t *norm = ident_normalized(body);
	if (!json_object_get(norm, "name"))
		json_object_set_new(norm, "name", json_string(""));
	char *extra = ident_extra(r, norm, service_known, NULL);
	json_decref(norm);
	char id[33];
	uuid_hex(id);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO service (id, type, enabled, extra) VALUES (?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(type), DB_BOOL(enabled), DB_TEXT(extra));
	if (rc < 0)
		return ident_db_error(r, rc, "service");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return service_reply(r, 201, id);
}

static int h_list_services(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:list_services", NULL);
	if (rc < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " SERVICE_COLS " FROM service WHERE 1 = 1");
	ident_sql_filter(&q, r, "type", "type");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "service");
	/* The name lives among the extra attributes, so it is filtered here. */
	const char *name = http_query(r, "name");
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		json_t *o = service_render(r, rows, i);
		const char *n = json_string_value(json_object_get(o, "name"));
		if (name && (!n || strcmp(n, name)))
			json_decref(o);
		else
			json_array_append_new(list, o);
	}
	db_rows_free(rows);
	return ident_reply_list(r, "services", list);
}

static int h_get_service(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:get_service", NULL);
	if (rc < 0)
		return rc;
	return service_reply(r, 200, http_param(r, "service_id"));
}

static int h_update_service(struct http_req *r)
{
	const char *id = http_param(r, "service_id");
	int rc = ident_enforce(r, "identity:update_service", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "service");
	if (!body)
		return r->err;
	const char *type;
	bool enabled = true, has_enabled = false;
	if ((rc = ident_non_empty(r, body, "service")) < 0 || (rc = ident_same_id(r, body, id)) < 0 ||
	    (rc = service_fields(r, body, false, &type, &enabled, &has_enabled)) < 0 ||
	    (rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	if ((rc = ident_row_for_update(r, &service_kind, id, &rows)) < 0)
		return rc;
	if (!type)
		type = arena_strdup(r->arena, db_text(rows, 0, 1));
	if (!has_enabled)
		enabled = db_bool(rows, 0, 2);
	char *extra = ident_extra(r, body, service_known, db_text(rows, 0, 3));
	db_rows_free(rows);
	rc = db_exec(c, "UPDATE service SET type = ?, enabled = ?, extra = ? WHERE id = ?",
		     DB_TEXT(type), DB_BOOL(enabled), DB_TEXT(extra), DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "service");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return service_reply(r, 200, id);
}

static int h_delete_service(struct http_req *r)
{
	const char *id = http_param(r, "service_id");
	int rc = ident_enforce(r, "identity:delete_service", NULL);
	if (rc < 0 || (rc = ident_begin(r)) < 0 || (rc = ident_must_exist(r, "service", "service", id)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	if ((rc = db_exec(c, "DELETE FROM endpoint WHERE service_id = ?", DB_TEXT(id))) < 0 ||
	    (rc = db_exec(c, "DELETE FROM service WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "service");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- endpoints --- */

static const char *const endpoint_known[] = {
	"id", "service_id", "interface", "url", "region_id", "region", "enabled", "legacy_endpoint_id", NULL
};

json_t *ident_endpoint_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0), *region = db_text(rows, i, 4);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:b}", "id", id, "service_id", db_text(rows, i, 1),
			      "interface", db_text(rows, i, 2), "url", db_text(rows, i, 3),
			      "region_id", region ? json_string(region) : json_null(),
			      "region", region ? json_string(region) : json_null(), "enabled", db_bool(rows, i, 5));
	json_object_set_new(o, "links", ident_links(r, "/v3/endpoints/%s", id));
	ident_merge_extra(o, db_text(rows, i, 6));
	return o;
}

static const struct ident_kind endpoint_kind = {
	"endpoint", "SELECT " IDENT_ENDPOINT_COLS " FROM endpoint WHERE id = ?", ident_endpoint_render,
};

static int endpoint_reply(struct http_req *r, int status, const char *id)
{
	json_t *o = ident_load_row(r, &endpoint_kind, id);
	return o ? ident_reply_one(r, status, "endpoint", o) : r->err;
}

struct efields {
	const char *interface, *service_id, *url, *region_id;
	bool region_legacy;     /* region_id came from the v2-style "region" field */
	bool enabled, has_enabled;
};

static int endpoint_fields(struct http_req *r, const json_t *body, bool create, struct efields *f)
{
	int rc;
	const char *region;
	memset(f, 0, sizeof *f);
	f->enabled = true;
	if ((rc = ident_str(r, body, "interface", create, false, 0, &f->interface)) < 0 ||
	    (rc = ident_str(r, body, "service_id", create, false, IDENT_ID_MAX, &f->service_id)) < 0 ||
	    (rc = ident_str(r, body, "url", create, false, URL_MAX, &f->url)) < 0 ||
	    (rc = ident_str(r, body, "region_id", false, false, REGION_ID_MAX, &f->region_id)) < 0 ||
	    (rc = ident_str(r, body, "region", false, false, REGION_ID_MAX, &region)) < 0 ||
	    (rc = ident_bool(r, body, "enabled", &f->enabled, &f->has_enabled)) < 0)
		return rc;
	if (f->interface && strcmp(f->interface, "public") && strcmp(f->interface, "internal") &&
	    strcmp(f->interface, "admin"))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'interface': '%.64s' is not one of "
				  "['admin', 'internal', 'public'].", f->interface);
	if (f->url) {
		const char *p = f->url;
		while (isalnum((unsigned char)*p) || *p == '+' || *p == '.' || *p == '-')
			p++;
		if (p == f->url || *p != ':' || !p[1])
			return http_error(r, ERR_BADREQ, "Invalid input for field 'url': '%.64s' does not match "
					  "'^[a-zA-Z0-9+.-]+:.+'.", f->url);
	}
	if (!f->region_id && region) {
		f->region_id = region;
		f->region_legacy = true;
	}
	return 0;
}

/* The region and service an endpoint names must exist; a region named with the legacy
 * "region" field is created when missing. Inside the transaction. */
static int endpoint_refs(struct http_req *r, const struct efields *f)
{
	struct db_conn *c = ident_db(r);
	int rc;
	if (f->region_id && (rc = ident_exists(c, "SELECT 1 FROM region WHERE id = ?", DB_TEXT(f->region_id))) <= 0) {
		if (rc < 0)
			return ident_db_error(r, rc, "endpoint");
		if (!f->region_legacy)
			return ident_abort(r, ERR_BADREQ, "Expecting to find endpoint region_id in region table. The "
					   "server could not comply with the request since it is either malformed or "
					   "otherwise incorrect. The client is assumed to be in error.");
		if ((rc = region_insert(r, f->region_id, "", NULL, NULL)) < 0)
			return rc;
	}
	if (f->service_id && (rc = ident_exists(c, "SELECT 1 FROM service WHERE id = ?", DB_TEXT(f->service_id))) <= 0) {
		if (rc < 0)
			return ident_db_error(r, rc, "endpoint");
		return ident_abort(r, ERR_BADREQ, "Expecting to find endpoint service_id in service table. The server "
				   "could not comply with the request since it is either malformed or otherwise "
				   "incorrect. The client is assumed to be in error.");
	}
	return 0;
}

static int h_create_endpoint(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:create_endpoint", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "endpoint");
	if (!body)
		return r->err;
	struct efields f;
	if ((rc = endpoint_fields(r, body, true, &f)) < 0)
		return rc;
	if (url_expand(f.url, NULL, true, NULL, 0) < 0)
		return http_error(r, ERR_BADREQ, "Cannot create an endpoint with an invalid URL: %s.", f.url);
	char *extra = ident_extra_new(r, body, endpoint_known);
	char id[33];
	uuid_hex(id);
	if ((rc = ident_begin(r)) < 0 || (rc = endpoint_refs(r, &f)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO endpoint (id, service_id, interface, url, region_id, enabled, extra)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(f.service_id), DB_TEXT(f.interface),
		     DB_TEXT(f.url), DB_TEXT(f.region_id), DB_BOOL(f.enabled), DB_TEXT(extra));
	if (rc < 0)
		return ident_db_error(r, rc, "endpoint");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return endpoint_reply(r, 201, id);
}

static int h_list_endpoints(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:list_endpoints", NULL);
	if (rc < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " IDENT_ENDPOINT_COLS " FROM endpoint WHERE 1 = 1");
	ident_sql_filter(&q, r, "interface", "interface");
	ident_sql_filter(&q, r, "service_id", "service_id");
	ident_sql_filter(&q, r, "region_id", "region_id");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "endpoint");
	return ident_reply_rows(r, "endpoints", rows, ident_endpoint_render);
}

static int h_get_endpoint(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:get_endpoint", NULL);
	if (rc < 0)
		return rc;
	return endpoint_reply(r, 200, http_param(r, "endpoint_id"));
}

static int h_update_endpoint(struct http_req *r)
{
	const char *id = http_param(r, "endpoint_id");
	int rc = ident_enforce(r, "identity:update_endpoint", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "endpoint");
	if (!body)
		return r->err;
	struct efields f;
	if ((rc = ident_non_empty(r, body, "endpoint")) < 0 || (rc = ident_same_id(r, body, id)) < 0 ||
	    (rc = endpoint_fields(r, body, false, &f)) < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	if ((rc = ident_row_for_update(r, &endpoint_kind, id, &rows)) < 0)
		return rc;
	struct efields cur = {
		.service_id = arena_strdup(r->arena, db_text(rows, 0, 1)),
		.interface = arena_strdup(r->arena, db_text(rows, 0, 2)),
		.url = arena_strdup(r->arena, db_text(rows, 0, 3)),
		.region_id = arena_strdup(r->arena, db_text(rows, 0, 4)),
		.enabled = db_bool(rows, 0, 5),
	};
	char *extra = ident_extra(r, body, endpoint_known, db_text(rows, 0, 6));
	db_rows_free(rows);
	if ((rc = endpoint_refs(r, &f)) < 0)
		return rc;
	rc = db_exec(c, "UPDATE endpoint SET service_id = ?, interface = ?, url = ?, region_id = ?, enabled = ?,"
		     " extra = ? WHERE id = ?", DB_TEXT(f.service_id ? f.service_id : cur.service_id),
		     DB_TEXT(f.interface ? f.interface : cur.interface), DB_TEXT(f.url ? f.url : cur.url),
		     DB_TEXT(f.region_id ? f.region_id : cur.region_id),
		     DB_BOOL(f.has_enabled ? f.enabled : cur.enabled), DB_TEXT(extra), DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "endpoint");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return endpoint_reply(r, 200, id);
}

static int h_delete_endpoint(struct http_req *r)
{
	const char *id = http_param(r, "endpoint_id");
	int rc = ident_enforce(r, "identity:delete_endpoint", NULL);
	if (rc < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	if ((rc = db_exec(ident_db(r), "DELETE FROM endpoint WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "endpoint");
	if (!rc) {
		ident_rollback(r);
		return ident_not_found(r, "endpoint", id);
	}
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- the catalog in tokens --- */

/* Drops the services left without endpoints (Keystone does when the catalog is filtered). */
static void drop_empty_services(json_t *cat)
{
	for (size_t i = json_array_size(cat); i-- > 0;)
		if (!json_array_size(json_object_get(json_array_get(cat, i), "endpoints")))
			json_array_remove(cat, i);
}

json_t *ident_catalog(struct identity *id, struct db_conn *c, const char *project_id)
{
	/* A project with OS-EP-FILTER associations sees only the endpoints they select. */
	json_t *keep = NULL;
	if (project_id && ident_endpoint_filter(c, project_id, &keep) < 0)
		return NULL;
	if (keep && !json_object_size(keep)) {
		json_decref(keep);
		keep = NULL;
	}
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT s.id, s.type, s.extra, e.id, e.interface, e.url, e.region_id, e.extra"
		     " FROM service s LEFT JOIN endpoint e ON e.service_id = s.id AND e.enabled = 1"
		     " WHERE s.enabled = 1 ORDER BY s.type, s.id, e.interface, e.id") < 0) {
		json_decref(keep);
		return NULL;
	}
	json_t *cat = json_array(), *svc = NULL;
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *sid = db_text(rows, i, 0);
		if (!svc || strcmp(json_string_value(json_object_get(svc, "id")), sid)) {
			json_t *extra = ident_object_parse(db_text(rows, i, 2));
			const char *name = json_string_value(json_object_get(extra, "name"));
			/* Keystone keeps a service without endpoints, with an empty list. */
			svc = json_pack("{s:[],s:s,s:s,s:s}", "endpoints", "id", sid, "type", db_text(rows, i, 1),
					"name", name ? name : "");
			json_decref(extra);
			json_array_append_new(cat, svc);
		}
		const char *eid = db_text(rows, i, 3), *tmpl = db_text(rows, i, 5);
		if (!eid || !tmpl || (keep && !json_object_get(keep, eid)))
			continue;
		long n = url_expand(tmpl, project_id, false, NULL, 0);
		if (n < 0)
			continue;  /* malformed, or needs a project the token lacks */
		char *url = xmalloc((size_t)n + 1);
		url_expand(tmpl, project_id, false, url, (size_t)n + 1);
		const char *region = db_text(rows, i, 6);
		json_t *ep = json_pack("{s:s,s:s,s:o,s:s,s:o}", "id", eid, "interface", db_text(rows, i, 4),
				       "region_id", region ? json_string(region) : json_null(), "url", url,
				       "region", region ? json_string(region) : json_null());
		free(url);
		ident_merge_extra(ep, db_text(rows, i, 7));
		json_array_append_new(json_object_get(svc, "endpoints"), ep);
	}
	db_rows_free(rows);
	if (keep)
		drop_empty_services(cat);
	json_decref(keep);
	return cat;
}

const struct route ident_routes_catalog[] = {
	{ "GET", "/v3/regions", h_list_regions, NULL, 0 },
	{ "POST", "/v3/regions", h_create_region, NULL, 0 },
	{ "GET", "/v3/regions/{region_id}", h_get_region, NULL, 0 },
	{ "PUT", "/v3/regions/{region_id}", h_put_region, NULL, 0 },
	{ "PATCH", "/v3/regions/{region_id}", h_update_region, NULL, 0 },
	{ "DELETE", "/v3/regions/{region_id}", h_delete_region, NULL, 0 },
	{ "GET", "/v3/services", h_list_services, NULL, 0 },
	{ "POST", "/v3/services", h_create_service, NULL, 0 },
	{ "GET", "/v3/services/{service_id}", h_get_service, NULL, 0 },
	{ "PATCH", "/v3/services/{service_id}", h_update_service, NULL, 0 },
	{ "DELETE", "/v3/services/{service_id}", h_delete_service, NULL, 0 },
	{ "GET", "/v3/endpoints", h_list_endpoints, NULL, 0 },
	{ "POST", "/v3/endpoints", h_create_endpoint, NULL, 0 },
	{ "GET", "/v3/endpoints/{endpoint_id}", h_get_endpoint, NULL, 0 },
	{ "PATCH", "/v3/endpoints/{endpoint_id}", h_update_endpoint, NULL, 0 },
	{ "DELETE", "/v3/endpoints/{endpoint_id}", h_delete_endpoint, NULL, 0 },
	{ 0 },
};
