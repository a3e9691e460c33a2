/* groups.c — Keystone v3 groups: CRUD with Keystone's filters, group membership (which
 * revokes a removed member's tokens, since their roles may shrink) and a user's groups.
 * The users of a group are listed by users.c (GET /v3/groups/{group_id}/users). */
#include "identity/ident.h"
#include <string.h>

#define GROUP_COLS "g.id, g.name, g.domain_id, g.description, g.extra"

static const char *const group_known[] = { "id", "name", "domain_id", "description", "links", NULL };

static json_t *group_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0);
	json_t *g = json_pack("{s:s,s:s,s:s,s:s}", "id", id, "name", db_text(rows, i, 1),
			      "domain_id", db_text(rows, i, 2), "description",
			      db_text(rows, i, 3) ? db_text(rows, i, 3) : "");
	json_object_set_new(g, "links", ident_links(r, "/v3/groups/%s", id));
	ident_merge_extra(g, db_text(rows, i, 4));
	return g;
}

static const struct ident_kind group_kind = {
	"group", "SELECT " GROUP_COLS " FROM groups g WHERE g.id = ?", group_render,
};

json_t *ident_group_load(struct http_req *r, const char *id)
{
	return ident_load_row(r, &group_kind, id);
}

/* A user's domain (arena string), NULL when the user does not exist. */
static int user_domain(struct http_req *r, const char *user_id, const char **dom)
{
	struct db_rows *rows;
	*dom = NULL;
	int rc = db_query(ident_db(r), &rows, "SELECT domain_id FROM users WHERE id = ?", DB_TEXT(user_id));
	if (rc < 0)
		return ident_db_error(r, rc, "user");
	if (db_rows_count(rows))
		*dom = arena_strdup(r->arena, db_text(rows, 0, 0));
	db_rows_free(rows);
	return 0;
}

static json_t *group_target(const char *path_group_id, const json_t *g)
{
	return ident_target("group_id", path_group_id,
			    "target.group.id", json_string_value(json_object_get(g, "id")),
			    "target.group.domain_id", json_string_value(json_object_get(g, "domain_id")),
			    "target.group.name", json_string_value(json_object_get(g, "name")), NULL);
}

/* ---- listing ---- */

/* The name filters: ?name= exactly, then Keystone's inexact ones. */
static bool name_matches(struct http_req *r, const char *name)
{
	const char *exact = http_query(r, "name");
	if (exact && strcmp(exact, name))
		return false;
	return ident_name_filters_pass(r, name);
}

static int h_list_groups(struct http_req *r)
{
	const char *scope_dom = r->auth->domain_id;
	int rc;
	json_t *t = scope_dom ? ident_target("target.group.domain_id", scope_dom, NULL) : NULL;
	if ((rc = ident_enforce_steal(r, "identity:list_groups", t)) < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " GROUP_COLS " FROM groups g WHERE 1 = 1");
	ident_sql_filter(&q, r, "g.domain_id", "domain_id");
	ident_sql_eq(&q, "g.domain_id", scope_dom);
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "group");
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		if (name_matches(r, db_text(rows, i, 1)))
			json_array_append_new(list, group_render(r, rows, i));
	db_rows_free(rows);
	return ident_reply_list(r, "groups", list);
}

/* GET /v3/users/{user_id}/groups */
static int h_user_groups(struct http_req *r)
{
	const char *user_id = http_param(r, "user_id");
	const char *udom;
	int rc;
	if ((rc = user_domain(r, user_id, &udom)) < 0)
		return rc;
	json_t *t = ident_target("user_id", user_id, "target.user.id", udom ? user_id : NULL,
				 "target.user.domain_id", udom, NULL);
	if ((rc = ident_enforce_steal(r, "identity:list_groups_for_user", t)) < 0)
		return rc;
	if (!udom)
		return ident_not_found(r, "user", user_id);
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " GROUP_COLS " FROM groups g JOIN user_group m ON m.group_id = g.id"
		       " WHERE m.user_id = ?");
	ident_sql_arg(&q, DB_TEXT(user_id));
	ident_sql_eq(&q, "g.domain_id", r->auth->domain_id);
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "group");
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		if (!name_matches(r, db_text(rows, i, 1)))
			continue;
		json_t *g = group_render(r, rows, i);
		json_object_set_new(g, "membership_expires_at", json_null());
		json_array_append_new(list, g);
	}
	db_rows_free(rows);
	return ident_reply_list(r, "groups", list);
}

static int h_get_group(struct http_req *r)
{
	json_t *g;
	int rc = ident_load_enforced(r, &group_kind, http_param(r, "group_id"), "identity:get_group", group_target, &g);
	return rc < 0 ? rc : ident_reply_one(r, 200, "group", g);
}

/* ---- create, update, delete ---- */

struct group_input {
	const char *name, *domain_id, *description;
	bool desc_set;
};

static int check_group_body(struct http_req *r, const json_t *b, bool create, struct group_input *in)
{
	int rc;
	memset(in, 0, sizeof *in);
	if ((rc = ident_name(r, b, "name", create, &in->name)) < 0)
		return rc;
	if (in->name)
		in->name = ident_strip(r, in->name);
	if ((rc = ident_id_field(r, b, "domain_id", false, &in->domain_id)) < 0)
		return rc;
	in->desc_set = json_object_get(b, "description") != NULL;
	return ident_str(r, b, "description", false, true, 0, &in->description);
}

static int h_create_group(struct http_req *r)
{
	json_t *b = ident_body(r, "group");
	if (!b)
		return r->err;
	const char *dom;
	int rc = ident_enforce_create(r, "identity:create_group", "target.group", b, &dom);
	if (rc < 0)
		return rc;
	struct group_input in;
	if ((rc = check_group_body(r, b, true, &in)) < 0 || (rc = ident_must_exist(r, "domain", "domain", dom)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	char id[33];
	uuid_hex(id);
	const char *extra = ident_extra(r, b, group_known, NULL);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(c, "INSERT INTO groups (id, name, domain_id, description, extra) VALUES (?, ?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(in.name), DB_TEXT(dom),
		     DB_TEXT(in.description ? in.description : ""), DB_TEXT(extra));
	if (rc < 0)
		return ident_name_conflict(r, rc, "group", in.name, dom);
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *g = ident_group_load(r, id);
	return g ? ident_reply_one(r, 201, "group", g) : r->err;
}

static int h_update_group(struct http_req *r)
{
	const char *id = http_param(r, "group_id");
	json_t *cur;
	int rc = ident_load_enforced(r, &group_kind, id, "identity:update_group", group_target, &cur);
	if (rc < 0)
		return rc;
	arena_defer(r->arena, json_decref_void, cur);
	json_t *b = ident_body(r, "group");
	if (!b)
		return r->err;
	if (!json_object_size(b))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'group': {} does not have enough properties");
	struct group_input in;
	if ((rc = check_group_body(r, b, false, &in)) < 0)
		return rc;
	if ((rc = ident_same_id(r, b, id)) < 0)
		return rc;
	const char *dom = json_string_value(json_object_get(cur, "domain_id"));
	if (in.domain_id && strcmp(in.domain_id, dom))
		return http_error(r, ERR_BADREQ, "Cannot change Domain ID");
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	if ((rc = db_query(c, &rows, "SELECT extra FROM groups WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "group");
	const char *old_extra = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
	db_rows_free(rows);
	const char *extra = ident_extra(r, b, group_known, old_extra);
	const char *name = in.name ? in.name : json_string_value(json_object_get(cur, "name"));
	const char *desc = in.desc_set ? (in.description ? in.description : "")
				       : json_string_value(json_object_get(cur, "description"));
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(c, "UPDATE groups SET name = ?, description = ?, extra = ? WHERE id = ?",
		     DB_TEXT(name), DB_TEXT(desc), DB_TEXT(extra), DB_TEXT(id));
	if (rc < 0)
		return ident_name_conflict(r, rc, "group", name, dom);
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *g = ident_group_load(r, id);
	return g ? ident_reply_one(r, 200, "group", g) : r->err;
}

static int h_delete_group(struct http_req *r)
{
	const char *id = http_param(r, "group_id");
	json_t *g;
	int rc = ident_load_enforced(r, &group_kind, id, "identity:delete_group", group_target, &g);
	if (rc < 0)
		return rc;
	json_decref(g);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	/* Members lose what the group's roles gave them: like Keystone, revoke their tokens when
	 * the group had any role assignment. */
	struct db_rows *rows;
	if ((rc = db_query(c, &rows, "SELECT m.user_id FROM user_group m WHERE m.group_id = ? AND"
			   " EXISTS (SELECT 1 FROM assignment a WHERE a.actor_id = ?)", DB_TEXT(id), DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "group");
	for (int i = 0; rc >= 0 && i < db_rows_count(rows); i++)
		rc = ident_revoke(c, db_text(rows, i, 0), NULL, NULL, NULL, NULL);
	db_rows_free(rows);
	if (rc >= 0)
		rc = db_exec(c, "DELETE FROM user_group WHERE group_id = ?", DB_TEXT(id));
	if (rc >= 0)
		rc = ident_assignments_purge(c, id);
	if (rc >= 0)
		rc = db_exec(c, "DELETE FROM groups WHERE id = ?", DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "group");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* ---- membership ---- */

struct membership {
	const char *group_id, *user_id;
	const char *group_dom, *user_dom;     /* NULL when that side does not exist */
};

/* Loads both sides and checks rule with Keystone's target (both may be missing: the policy
 * decides first, existence after). */
static int membership_enforce(struct http_req *r, const char *rule, struct membership *m)
{
	m->group_id = http_param(r, "group_id");
	m->user_id = http_param(r, "user_id");
	struct db_rows *rows;
	int rc = db_query(ident_db(r), &rows, "SELECT domain_id FROM groups WHERE id = ?", DB_TEXT(m->group_id));
	if (rc < 0)
		return ident_db_error(r, rc, "group");
	m->group_dom = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
	db_rows_free(rows);
	if ((rc = user_domain(r, m->user_id, &m->user_dom)) < 0)
		return rc;
	json_t *t = ident_target("group_id", m->group_id, "user_id", m->user_id,
				 "target.group.id", m->group_dom ? m->group_id : NULL,
				 "target.group.domain_id", m->group_dom,
				 "target.user.id", m->user_dom ? m->user_id : NULL,
				 "target.user.domain_id", m->user_dom, NULL);
	return ident_enforce_steal(r, rule, t);
}

static int membership_missing(struct http_req *r, const struct membership *m)
{
	if (!m->group_dom)
		return ident_not_found(r, "group", m->group_id);
	if (!m->user_dom)
		return ident_not_found(r, "user", m->user_id);
	return http_error(r, ERR_NOTFOUND, "User '%s' not found in group '%s'", m->user_id, m->group_id);
}

static int is_member(struct http_req *r, const struct membership *m, bool *yes)
{
	int rc = ident_exists(ident_db(r), "SELECT 1 FROM user_group WHERE user_id = ? AND group_id = ?",
			      DB_TEXT(m->user_id), DB_TEXT(m->group_id));
	if (rc < 0)
		return ident_db_error(r, rc, "group");
	*yes = rc;
	return 0;
}

/* GET/HEAD /v3/groups/{group_id}/users/{user_id} */
static int h_check_member(struct http_req *r)
{
	struct membership m;
	bool yes = false;
	int rc;
	if ((rc = membership_enforce(r, "identity:check_user_in_group", &m)) < 0)
		return rc;
	if (!m.group_dom || !m.user_dom)
		return membership_missing(r, &m);
	if ((rc = is_member(r, &m, &yes)) < 0)
		return rc;
	return yes ? http_reply_empty(r, 204) : membership_missing(r, &m);
}

static int h_add_member(struct http_req *r)
{
	struct membership m;
	bool yes = false;
	int rc;
	if ((rc = membership_enforce(r, "identity:add_user_to_group", &m)) < 0)
		return rc;
	if (!m.group_dom || !m.user_dom)
		return membership_missing(r, &m);
	if ((rc = is_member(r, &m, &yes)) < 0)
		return rc;
	if (yes)
		return http_reply_empty(r, 204);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO user_group (user_id, group_id) VALUES (?, ?)",
		     DB_TEXT(m.user_id), DB_TEXT(m.group_id));
	if (rc == ERR_CONFLICT) {             /* added concurrently (or deleted: then 404) */
		ident_rollback(r);
		if ((rc = is_member(r, &m, &yes)) < 0)
			return rc;
		return yes ? http_reply_empty(r, 204) : ident_not_found(r, "user", m.user_id);
	}
	if (rc < 0)
		return ident_db_error(r, rc, "group");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_remove_member(struct http_req *r)
{
	struct membership m;
	int rc;
	if ((rc = membership_enforce(r, "identity:remove_user_from_group", &m)) < 0)
		return rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	rc = db_exec(c, "DELETE FROM user_group WHERE user_id = ? AND group_id = ?",
		     DB_TEXT(m.user_id), DB_TEXT(m.group_id));
	if (rc == 0) {
		ident_rollback(r);
		return membership_missing(r, &m);
	}
	/* The user may have lost roles that came through the group. */
	if (rc > 0)
		rc = ident_revoke(c, m.user_id, NULL, NULL, NULL, NULL);
	if (rc < 0)
		return ident_db_error(r, rc, "group");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route ident_routes_groups[] = {
	{ "GET", "/v3/groups", h_list_groups, NULL, 0 },
	{ "POST", "/v3/groups", h_create_group, NULL, 0 },
	{ "GET", "/v3/groups/{group_id}", h_get_group, NULL, 0 },
	{ "PATCH", "/v3/groups/{group_id}", h_update_group, NULL, 0 },
	{ "DELETE", "/v3/groups/{group_id}", h_delete_group, NULL, 0 },
	{ "GET", "/v3/groups/{group_id}/users/{user_id}", h_check_member, NULL, 0 },
	{ "PUT", "/v3/groups/{group_id}/users/{user_id}", h_add_member, NULL, 0 },
	{ "DELETE", "/v3/groups/{group_id}/users/{user_id}", h_remove_member, NULL, 0 },
	{ "GET", "/v3/users/{user_id}/groups", h_user_groups, NULL, 0 },
	{ 0 },
};
