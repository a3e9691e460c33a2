/* project_tags.c — /v3/projects/{project_id}/tags: listing, replacing and clearing a project's
 * tags, and checking, adding and removing one tag. Tags are stripped, unique and at most 80,
 * and an immutable project refuses every change. */
#include "identity/projects.h"

/* Replaces the project's tags (stripped, duplicates dropped). Inside the transaction. */
int proj_tags_store(struct http_req *r, const char *id, const json_t *tags)
{
	struct db_conn *c = ident_db(r);
	int rc = db_exec(c, "DELETE FROM project_tag WHERE project_id = ?", DB_TEXT(id));
	json_t *done = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(tags, i, v) {
		if (rc < 0)
			break;
		const char *t = ident_strip(r, json_string_value(v));
		if (ident_array_has(done, t))
			continue;
		json_array_append_new(done, json_string(t));
		rc = db_exec(c, "INSERT INTO project_tag (project_id, name) VALUES (?, ?)", DB_TEXT(id), DB_TEXT(t));
	}
	json_decref(done);
	return rc < 0 ? rc : 0;
}

static int reply_tags(struct http_req *r, json_t *tags)
{
	return http_reply_json(r, 200, json_pack("{s:o,s:{s:s}}", "tags", tags, "links", "self",
						 arena_printf(r->arena, "%s%s", r->base_url, r->path)));
}

static int h_list_tags(struct http_req *r)
{
	json_t *p;
	int rc = proj_load_enforced(r, "identity:list_project_tags", false, &p, NULL);
	if (rc < 0)
		return rc;
	return reply_tags(r, json_incref(json_object_get(p, "tags")));
}

static int h_put_tags(struct http_req *r)
{
	json_t *p;
	int rc = proj_load_enforced(r, "identity:update_project_tags", false, &p, NULL);
	if (rc < 0)
		return rc;
	json_t *b = http_body_json(r);
	if (!b)
		return r->err;
	json_t *tags = json_object_get(b, "tags");
	if ((rc = ident_tags_check(r, tags)) < 0)
		return rc;
	const char *id = json_string_value(json_object_get(p, "id"));
	if (ident_immutable(p))
		return http_error(r, ERR_FORBIDDEN, "Cannot update project tags for %s, project is immutable. Set "
				  "\"immutable\" option to false before creating project tags.", id);
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(tags, i, v) {
		const char *t = ident_strip(r, json_string_value(v));
		if (!ident_array_has(out, t))
			json_array_append_new(out, json_string(t));
	}
	if ((rc = ident_begin(r)) < 0 || (rc = proj_tags_store(r, id, out)) < 0 || (rc = ident_commit(r)) < 0) {
		json_decref(out);
		return rc == r->err ? rc : ident_db_error(r, rc, "project");
	}
	return reply_tags(r, out);
}

static int h_delete_tags(struct http_req *r)
{
	json_t *p;
	int rc = proj_load_enforced(r, "identity:delete_project_tags", false, &p, NULL);
	if (rc < 0)
		return rc;
	const char *id = json_string_value(json_object_get(p, "id"));
	if (ident_immutable(p))
		return http_error(r, ERR_FORBIDDEN, "Cannot update project tags for %s, project is immutable. Set "
				  "\"immutable\" option to false before creating project tags.", id);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	if ((rc = db_exec(ident_db(r), "DELETE FROM project_tag WHERE project_id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "project");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_get_tag(struct http_req *r)
{
	json_t *p;
	int rc = proj_load_enforced(r, "identity:get_project_tag", false, &p, NULL);
	if (rc < 0)
		return rc;
	const char *tag = http_param(r, "value");
	if (!ident_array_has(json_object_get(p, "tags"), tag))
		return http_error(r, ERR_NOTFOUND, "Could not find project tag: %s.", tag);
	return http_reply_empty(r, 204);
}

static int h_put_tag(struct http_req *r)
{
	json_t *p;
	int rc = proj_load_enforced(r, "identity:create_project_tag", false, &p, NULL);
	if (rc < 0)
		return rc;
	const char *id = json_string_value(json_object_get(p, "id"));
	const char *tag = http_param(r, "value");
	json_t *jt = json_string(tag);
	if (!jt)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'tags': '%.64s' is not valid UTF-8.", tag);
	/* The tag, and the list with it: at most 80 valid tags, no duplicates. */
	json_t *all = json_copy(json_object_get(p, "tags"));
	json_array_append_new(all, jt);
	rc = ident_tags_check(r, all);
	json_decref(all);
	if (rc < 0)
		return rc;
	if (ident_immutable(p))
		return http_error(r, ERR_FORBIDDEN, "Cannot create project tags for %s, project is immutable. Set "
				  "\"immutable\" option to false before creating project tags.", id);
	const char *t = ident_strip(r, tag);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	if (!ident_array_has(json_object_get(p, "tags"), t) &&
	    (rc = db_exec(ident_db(r), "INSERT INTO project_tag (project_id, name) VALUES (?, ?)",
			  DB_TEXT(id), DB_TEXT(t))) < 0 && rc != ERR_CONFLICT)
		return ident_db_error(r, rc, "project tag");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	/* The tag percent-encoded as a path segment. */
	http_add_header(r, "Location", ident_url(r, "/v3/projects/%s/tags/%s", id, ident_url_escape(r, t)));
	return http_reply_empty(r, 201);
}

static int h_delete_tag(struct http_req *r)
{
	json_t *p;
	int rc = proj_load_enforced(r, "identity:delete_project_tag", false, &p, NULL);
	if (rc < 0)
		return rc;
	const char *id = json_string_value(json_object_get(p, "id"));
	const char *tag = http_param(r, "value");
	if (ident_immutable(p))
		return http_error(r, ERR_FORBIDDEN, "Cannot delete project tags for %s, project is immutable. Set "
				  "\"immutable\" option to false before creating project tags.", id);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	if ((rc = db_exec(ident_db(r), "DELETE FROM project_tag WHERE project_id = ? AND name = ?",
			  DB_TEXT(id), DB_TEXT(tag))) < 0)
		return ident_db_error(r, rc, "project tag");
	if (!rc) {
		ident_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Could not find project tag: %s.", tag);
	}
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route ident_routes_project_tags[] = {
	{ "GET", "/v3/projects/{project_id}/tags", h_list_tags, NULL, 0 },
	{ "PUT", "/v3/projects/{project_id}/tags", h_put_tags, NULL, 0 },
	{ "DELETE", "/v3/projects/{project_id}/tags", h_delete_tags, NULL, 0 },
	{ "GET", "/v3/projects/{project_id}/tags/{value}", h_get_tag, NULL, 0 },
	{ "PUT", "/v3/projects/{project_id}/tags/{value}", h_put_tag, NULL, 0 },
	{ "DELETE", "/v3/projects/{project_id}/tags/{value}", h_delete_tag, NULL, 0 },
	{ 0 },
};
