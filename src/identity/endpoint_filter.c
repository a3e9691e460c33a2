/* endpoint_filter.c — OS-EP-FILTER: endpoint groups (filters on interface, service_id and
 * region_id), the project↔endpoint and project↔endpoint-group associations, and
 * ident_endpoint_filter(), the endpoints a project's catalog is restricted to. */
#include "identity/ident.h"
#include <string.h>

#define EPF "/v3/OS-EP-FILTER"
#define GROUP_COLS "id, name, description, filters"
/* What a missing group is called in Keystone's 404. */
#define GROUP_WHAT "Endpoint Group"

static const char *const filter_keys[] = { "service_id", "region_id", "interface", NULL };

/* --- the filter itself --- */

/* True when the endpoint (row i of id, interface, service_id, region_id) satisfies every
 * filter, compared as Keystone does: equal strings, or null for a NULL region. */
static bool group_match(const json_t *filters, const struct db_rows *rows, int i)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)filters, k, v) {
		int col = !strcmp(k, "interface") ? 1 : !strcmp(k, "service_id") ? 2 : !strcmp(k, "region_id") ? 3 : -1;
		const char *have = col < 0 ? NULL : db_text(rows, i, col);
		if (json_is_null(v) && col >= 0 && !have)
			continue;
		if (!json_is_string(v) || !have || strcmp(json_string_value(v), have))
			return false;
	}
	return true;
}

/* Adds the ids of the endpoints that the stored filters (JSON text) select to set. */
static int group_endpoints(struct db_conn *c, const char *filters_text, json_t *set)
{
	json_t *filters = json_loads(filters_text ? filters_text : "{}", 0, NULL);
	if (!json_is_object(filters)) {
		json_decref(filters);
		return 0;       /* unreadable filters select nothing */
	}
	struct db_rows *rows;
	int rc = db_query(c, &rows, "SELECT id, interface, service_id, region_id FROM endpoint ORDER BY id");
	if (rc < 0) {
		json_decref(filters);
		return rc;
	}
	for (int i = 0; i < db_rows_count(rows); i++)
		if (group_match(filters, rows, i))
			json_object_set_new(set, db_text(rows, i, 0), json_true());
	db_rows_free(rows);
	json_decref(filters);
	return 0;
}

int ident_endpoint_filter(struct db_conn *c, const char *project_id, json_t **out)
{
	json_t *set = json_object();
	struct db_rows *rows;
	int rc = db_query(c, &rows, "SELECT pe.endpoint_id FROM project_endpoint pe JOIN endpoint e"
			  " ON e.id = pe.endpoint_id WHERE pe.project_id = ? ORDER BY pe.endpoint_id",
			  DB_TEXT(project_id));
	if (rc < 0)
		goto fail;
	for (int i = 0; i < db_rows_count(rows); i++)
		json_object_set_new(set, db_text(rows, i, 0), json_true());
	db_rows_free(rows);
	rc = db_query(c, &rows, "SELECT g.filters FROM project_endpoint_group pg JOIN endpoint_group g"
		      " ON g.id = pg.endpoint_group_id WHERE pg.project_id = ? ORDER BY g.id", DB_TEXT(project_id));
	if (rc < 0)
		goto fail;
	for (int i = 0; i < db_rows_count(rows) && rc >= 0; i++)
		rc = group_endpoints(c, db_text(rows, i, 0), set);
	db_rows_free(rows);
	if (rc < 0)
		goto fail;
	*out = set;
	return 0;
fail:
	json_decref(set);
	return rc;
}

bool ident_endpoint_filter_used(struct db_conn *c)
{
	static const char *const q[] = {
		"SELECT 1 FROM project_endpoint LIMIT 1", "SELECT 1 FROM project_endpoint_group LIMIT 1",
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
		if (ident_exists(c, q[i]) != 0)
			return true;
	return false;
}

/* --- helpers --- */

/* Replies with the endpoints whose ids are the keys of set (in its order); steals set. */
static int reply_endpoints(struct http_req *r, json_t *set)
{
	json_t *list = json_array();
	const char *id;
	json_t *v;
	int rc = 0;
	json_object_foreach(set, id, v) {
		struct db_rows *rows;
		if ((rc = db_query(ident_db(r), &rows, "SELECT " IDENT_ENDPOINT_COLS " FROM endpoint WHERE id = ?",
				   DB_TEXT(id))) < 0)
			break;
		if (db_rows_count(rows))
			json_array_append_new(list, ident_endpoint_render(r, rows, 0));
		db_rows_free(rows);
	}
	json_decref(set);
	if (rc < 0) {
		json_decref(list);
		return ident_db_error(r, rc, "endpoint");
	}
	return ident_reply_list(r, "endpoints", list);
}

/* Replies with the projects named in column 0 of rows (missing ones skipped); frees rows. */
static int reply_projects(struct http_req *r, struct db_rows *rows)
{
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		json_t *p = ident_project_load(r, db_text(rows, i, 0));
		if (p) {
			json_array_append_new(list, p);
		} else if (r->err == ERR_NOTFOUND) {
			ident_clear_error(r);
		} else {
			db_rows_free(rows);
			json_decref(list);
			return r->err;
		}
	}
	db_rows_free(rows);
	return ident_reply_list(r, "projects", list);
}

/* --- endpoint groups --- */

static json_t *group_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0), *desc = db_text(rows, i, 2);
	json_t *o = json_pack("{s:s,s:s,s:o,s:o}", "id", id, "name", db_text(rows, i, 1),
			      "description", desc ? json_string(desc) : json_null(),
			      "filters", ident_object_parse(db_text(rows, i, 3)));
	json_object_set_new(o, "links", ident_links(r, EPF "/endpoint_groups/%s", id));
	return o;
}


struct gfields {
	const char *name, *desc;
	json_t *filters;        /* borrowed from the body */
	bool has_desc;
};

/* Validates a create (all required) or an update body as Keystone's schema and
 * _require_valid_filter do. */
static int group_fields(struct http_req *r, const json_t *body, bool create, struct gfields *f)
{
	int rc;
	memset(f, 0, sizeof *f);
	if (!create && !json_object_size(body))
		return http_error(r, ERR_BADREQ, "{} does not have enough properties");
	if ((rc = ident_name(r, body, "name", false, &f->name)) < 0 ||
	    (rc = ident_str(r, body, "description", false, true, 0, &f->desc)) < 0)
		return rc;
	if (f->name && !*f->name)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'name': '' is too short.");
	f->has_desc = json_object_get(body, "description") != NULL;
	f->filters = json_object_get(body, "filters");
	if (f->filters && !json_is_object(f->filters))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'filters': value is not of type 'object'.");
	if (create && !f->name)
		return http_error(r, ERR_BADREQ, "'name' is a required property");
	if (create && !f->filters)
		return http_error(r, ERR_BADREQ, "'filters' is a required property");
	if (create && !json_object_size(f->filters))
		return http_error(r, ERR_BADREQ, "filters field is required and cannot be empty");
	const char *k;
	json_t *v;
	json_object_foreach(f->filters, k, v) {
		bool ok = false;
		for (const char *const *fk = filter_keys; *fk; fk++)
			ok |= !strcmp(*fk, k);
		if (!ok)
			return http_error(r, ERR_BADREQ, "Expecting to find service_id or region_id or interface in "
					  "endpoint_group. The server could not comply with the request since it is "
					  "either malformed or otherwise incorrect. The client is assumed to be in error.");
	}
	return 0;
}

static const struct ident_kind group_kind = {
	GROUP_WHAT, "SELECT " GROUP_COLS " FROM endpoint_group WHERE id = ?", group_render,
};

static int group_reply(struct http_req *r, int status, const char *id)
{
	json_t *g = ident_load_row(r, &group_kind, id);
	return g ? ident_reply_one(r, status, "endpoint_group", g) : r->err;
}

static int h_create_group(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:create_endpoint_group", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body_opt(r, "endpoint_group");
	struct gfields f;
	if (!body)
		return r->err;
	if ((rc = group_fields(r, body, true, &f)) < 0)
		return rc;
	char id[33];
	uuid_hex(id);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO endpoint_group (id, name, description, filters) VALUES (?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(f.name), DB_TEXT(f.desc), DB_TEXT(ident_json_text(r, f.filters)));
	if (rc < 0)
		return ident_db_error(r, rc, "endpoint_group");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return group_reply(r, 201, id);
}

static int h_list_groups(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:list_endpoint_groups", NULL);
	if (rc < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " GROUP_COLS " FROM endpoint_group WHERE 1 = 1");
	ident_sql_filter(&q, r, "name", "name");
	ident_sql_text(&q, " ORDER BY id");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "endpoint_group");
	return ident_reply_rows(r, "endpoint_groups", rows, group_render);
}

static int h_get_group(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:get_endpoint_group", NULL);
	if (rc < 0)
		return rc;
	return group_reply(r, 200, http_param(r, "endpoint_group_id"));
}

static int h_update_group(struct http_req *r)
{
	const char *id = http_param(r, "endpoint_group_id");
	int rc = ident_enforce(r, "identity:update_endpoint_group", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body_opt(r, "endpoint_group");
	struct gfields f;
	if (!body)
		return r->err;
	if ((rc = group_fields(r, body, false, &f)) < 0)
		return rc;
	if ((rc = ident_same_id(r, body, id)) < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	if ((rc = ident_row_for_update(r, &group_kind, id, &rows)) < 0)
		return rc;
	const char *name = f.name ? f.name : arena_strdup(r->arena, db_text(rows, 0, 1));
	const char *desc = f.has_desc ? f.desc : arena_strdup(r->arena, db_text(rows, 0, 2));
	const char *filters = f.filters ? ident_json_text(r, f.filters) : arena_strdup(r->arena, db_text(rows, 0, 3));
	db_rows_free(rows);
	rc = db_exec(c, "UPDATE endpoint_group SET name = ?, description = ?, filters = ? WHERE id = ?",
		     DB_TEXT(name), DB_TEXT(desc), DB_TEXT(filters), DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "endpoint_group");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return group_reply(r, 200, id);
}

static int h_delete_group(struct http_req *r)
{
	const char *id = http_param(r, "endpoint_group_id");
	int rc = ident_enforce(r, "identity:delete_endpoint_group", NULL);
	if (rc < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	if ((rc = db_exec(c, "DELETE FROM project_endpoint_group WHERE endpoint_group_id = ?", DB_TEXT(id))) < 0 ||
	    (rc = db_exec(c, "DELETE FROM endpoint_group WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "endpoint_group");
	if (!rc) {
		ident_rollback(r);
		return ident_not_found(r, GROUP_WHAT, id);
	}
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- projects and endpoints --- */

static int h_add_endpoint(struct http_req *r)
{
	const char *pid = http_param(r, "project_id"), *eid = http_param(r, "endpoint_id");
	int rc = ident_enforce(r, "identity:add_endpoint_to_project", NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "endpoint", "endpoint", eid)) < 0 ||
	    (rc = ident_must_exist(r, "project", "project", pid)) < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO project_endpoint (endpoint_id, project_id) VALUES (?, ?)",
		     DB_TEXT(eid), DB_TEXT(pid));
	if (rc == ERR_CONFLICT)
		return ident_abort(r, ERR_CONFLICT, "Conflict occurred attempting to store project_endpoint - "
				   "Duplicate entry.");
	if (rc < 0)
		return ident_db_error(r, rc, "project_endpoint");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int association_missing(struct http_req *r, const char *eid, const char *pid)
{
	return http_error(r, ERR_NOTFOUND, "Endpoint %s not found in project %s", eid, pid);
}

static int h_check_endpoint(struct http_req *r)
{
	const char *pid = http_param(r, "project_id"), *eid = http_param(r, "endpoint_id");
	int rc = ident_enforce(r, "identity:check_endpoint_in_project", NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "endpoint", "endpoint", eid)) < 0 ||
	    (rc = ident_must_exist(r, "project", "project", pid)) < 0)
		return rc;
	if ((rc = ident_exists(ident_db(r), "SELECT 1 FROM project_endpoint WHERE endpoint_id = ? AND project_id = ?",
			       DB_TEXT(eid), DB_TEXT(pid))) < 0)
		return ident_db_error(r, rc, "project_endpoint");
	return rc ? http_reply_empty(r, 204) : association_missing(r, eid, pid);
}

static int h_remove_endpoint(struct http_req *r)
{
	const char *pid = http_param(r, "project_id"), *eid = http_param(r, "endpoint_id");
	int rc = ident_enforce(r, "identity:remove_endpoint_from_project", NULL);
	if (rc < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "DELETE FROM project_endpoint WHERE endpoint_id = ? AND project_id = ?",
		     DB_TEXT(eid), DB_TEXT(pid));
	if (rc < 0)
		return ident_db_error(r, rc, "project_endpoint");
	if (!rc) {
		ident_rollback(r);
		return association_missing(r, eid, pid);
	}
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_project_endpoints(struct http_req *r)
{
	const char *pid = http_param(r, "project_id");
	int rc = ident_enforce(r, "identity:list_endpoints_for_project", NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "project", "project", pid)) < 0)
		return rc;
	json_t *set;
	if ((rc = ident_endpoint_filter(ident_db(r), pid, &set)) < 0)
		return ident_db_error(r, rc, "endpoint");
	return reply_endpoints(r, set);
}

static int h_endpoint_projects(struct http_req *r)
{
	const char *eid = http_param(r, "endpoint_id");
	int rc = ident_enforce(r, "identity:list_projects_for_endpoint", NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "endpoint", "endpoint", eid)) < 0)
		return rc;
	struct db_rows *rows;
	if ((rc = db_query(ident_db(r), &rows, "SELECT project_id FROM project_endpoint WHERE endpoint_id = ?"
			   " ORDER BY project_id", DB_TEXT(eid))) < 0)
		return ident_db_error(r, rc, "project_endpoint");
	return reply_projects(r, rows);
}

/* --- projects and endpoint groups --- */

/* The enforce, project and group checks every /endpoint_groups/{id}/projects/{id} call does. */
static int group_project_checks(struct http_req *r, const char *rule)
{
	int rc = ident_enforce(r, rule, NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "project", "project", http_param(r, "project_id"))) < 0)
		return rc;
	return ident_must_exist(r, "endpoint_group", GROUP_WHAT, http_param(r, "endpoint_group_id"));
}

static int h_add_group(struct http_req *r)
{
	const char *gid = http_param(r, "endpoint_group_id"), *pid = http_param(r, "project_id");
	int rc = group_project_checks(r, "identity:add_endpoint_group_to_project");
	if (rc < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO project_endpoint_group (endpoint_group_id, project_id) VALUES (?, ?)",
		     DB_TEXT(gid), DB_TEXT(pid));
	if (rc == ERR_CONFLICT)
		return ident_abort(r, ERR_CONFLICT, "Conflict occurred attempting to store project_endpoint_group - "
				   "Duplicate entry.");
	if (rc < 0)
		return ident_db_error(r, rc, "project_endpoint_group");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int group_association_missing(struct http_req *r)
{
	return http_error(r, ERR_NOTFOUND, "Endpoint Group Project Association not found");
}

static int h_get_group_project(struct http_req *r)
{
	const char *gid = http_param(r, "endpoint_group_id"), *pid = http_param(r, "project_id");
	int rc = group_project_checks(r, "identity:get_endpoint_group_in_project");
	if (rc < 0)
		return rc;
	if ((rc = ident_exists(ident_db(r), "SELECT 1 FROM project_endpoint_group WHERE endpoint_group_id = ?"
			       " AND project_id = ?", DB_TEXT(gid), DB_TEXT(pid))) < 0)
		return ident_db_error(r, rc, "project_endpoint_group");
	if (!rc)
		return group_association_missing(r);
	/* Keystone links this one with a path relative to /v3. */
	json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "endpoint_group_id", gid, "project_id", pid, "links", "self",
			      arena_printf(r->arena, "/OS-EP-FILTER/endpoint_groups/%s/projects/%s", gid, pid));
	return ident_reply_one(r, 200, "project_endpoint_group", o);
}

static int h_remove_group(struct http_req *r)
{
	const char *gid = http_param(r, "endpoint_group_id"), *pid = http_param(r, "project_id");
	int rc = group_project_checks(r, "identity:remove_endpoint_group_from_project");
	if (rc < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "DELETE FROM project_endpoint_group WHERE endpoint_group_id = ? AND project_id = ?",
		     DB_TEXT(gid), DB_TEXT(pid));
	if (rc < 0)
		return ident_db_error(r, rc, "project_endpoint_group");
	if (!rc) {
		ident_rollback(r);
		return group_association_missing(r);
	}
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_group_projects(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:list_projects_associated_with_endpoint_group", NULL);
	if (rc < 0)
		return rc;
	struct db_rows *rows;
	if ((rc = db_query(ident_db(r), &rows, "SELECT project_id FROM project_endpoint_group"
			   " WHERE endpoint_group_id = ? ORDER BY project_id",
			   DB_TEXT(http_param(r, "endpoint_group_id")))) < 0)
		return ident_db_error(r, rc, "project_endpoint_group");
	return reply_projects(r, rows);
}

static int h_group_endpoints(struct http_req *r)
{
	const char *gid = http_param(r, "endpoint_group_id");
	int rc = ident_enforce(r, "identity:list_endpoints_associated_with_endpoint_group", NULL);
	if (rc < 0)
		return rc;
	struct db_rows *rows;
	if ((rc = db_query(ident_db(r), &rows, "SELECT filters FROM endpoint_group WHERE id = ?", DB_TEXT(gid))) < 0)
		return ident_db_error(r, rc, "endpoint_group");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return ident_not_found(r, GROUP_WHAT, gid);
	}
	json_t *set = json_object();
	rc = group_endpoints(ident_db(r), db_text(rows, 0, 0), set);
	db_rows_free(rows);
	if (rc < 0) {
		json_decref(set);
		return ident_db_error(r, rc, "endpoint");
	}
	return reply_endpoints(r, set);
}

static int h_project_groups(struct http_req *r)
{
	const char *pid = http_param(r, "project_id");
	int rc = ident_enforce(r, "identity:list_endpoint_groups_for_project", NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "project", "project", pid)) < 0)
		return rc;
	struct db_rows *rows;
	if ((rc = db_query(ident_db(r), &rows, "SELECT g.id, g.name, g.description, g.filters FROM endpoint_group g"
			   " JOIN project_endpoint_group pg ON pg.endpoint_group_id = g.id WHERE pg.project_id = ?"
			   " ORDER BY g.id", DB_TEXT(pid))) < 0)
		return ident_db_error(r, rc, "endpoint_group");
	return ident_reply_rows(r, "endpoint_groups", rows, group_render);
}

const struct route ident_routes_endpoint_filter[] = {
	{ "GET", EPF "/endpoint_groups", h_list_groups, NULL, 0 },
	{ "POST", EPF "/endpoint_groups", h_create_group, NULL, 0 },
	{ "GET", EPF "/endpoint_groups/{endpoint_group_id}", h_get_group, NULL, 0 },
	{ "PATCH", EPF "/endpoint_groups/{endpoint_group_id}", h_update_group, NULL, 0 },
	{ "DELETE", EPF "/endpoint_groups/{endpoint_group_id}", h_delete_group, NULL, 0 },
	{ "GET", EPF "/endpoint_groups/{endpoint_group_id}/projects", h_group_projects, NULL, 0 },
	{ "GET", EPF "/endpoint_groups/{endpoint_group_id}/endpoints", h_group_endpoints, NULL, 0 },
	{ "GET", EPF "/endpoint_groups/{endpoint_group_id}/projects/{project_id}", h_get_group_project, NULL, 0 },
	{ "PUT", EPF "/endpoint_groups/{endpoint_group_id}/projects/{project_id}", h_add_group, NULL, 0 },
	{ "DELETE", EPF "/endpoint_groups/{endpoint_group_id}/projects/{project_id}", h_remove_group, NULL, 0 },
	{ "GET", EPF "/projects/{project_id}/endpoints", h_project_endpoints, NULL, 0 },
	{ "GET", EPF "/projects/{project_id}/endpoint_groups", h_project_groups, NULL, 0 },
	{ "GET", EPF "/projects/{project_id}/endpoints/{endpoint_id}", h_check_endpoint, NULL, 0 },
	{ "PUT", EPF "/projects/{project_id}/endpoints/{endpoint_id}", h_add_endpoint, NULL, 0 },
	{ "DELETE", EPF "/projects/{project_id}/endpoints/{endpoint_id}", h_remove_endpoint, NULL, 0 },
	{ "GET", EPF "/endpoints/{endpoint_id}/projects", h_endpoint_projects, NULL, 0 },
	{ 0 },
};
