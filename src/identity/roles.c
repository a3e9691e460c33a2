/* roles.c — /v3/roles: global and domain-specific roles (CRUD, the "immutable" option) and
 * implied roles (/v3/roles/{prior}/implies/{implied}, /v3/role_inferences).
 * Global roles are stored with domain_id '' and rendered with domain_id null. */
#include "identity/assignments.h"
#include <string.h>

#define ROLE_COLS "id, name, domain_id, description, options, extra"
#define ROLE_DESC_MAX 255
/* Keystone's [assignment] prohibited_implied_role default: roles that may not be implied. */
static const char *const prohibited_implied[] = { "admin", NULL };

static const char *const role_known_keys[] = {
	"id", "name", "domain_id", "description", "options", "links", NULL,
};

/* --- rendering --- */

static json_t *role_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0), *dom = db_text(rows, i, 2), *desc = db_text(rows, i, 3);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "name", json_string(db_text(rows, i, 1)));
	json_object_set_new(o, "domain_id", dom && *dom ? json_string(dom) : json_null());
	json_object_set_new(o, "description", desc ? json_string(desc) : json_null());
	json_object_set_new(o, "options", ident_object_parse(db_text(rows, i, 4)));
	json_object_set_new(o, "links", ident_links(r, "/v3/roles/%s", id));
	ident_merge_extra(o, db_text(rows, i, 5));
	return o;
}

static const struct ident_kind role_kind = {
	"role", "SELECT " ROLE_COLS " FROM role WHERE id = ?", role_render,
};

json_t *ident_role_load(struct http_req *r, const char *id)
{
	return ident_load_row(r, &role_kind, id);
}

struct render_ctx {
	struct http_req *r;
	json_t *out;
};

static int render_row(void *ctx, struct db_rows *rows, int i)
{
	struct render_ctx *rc = ctx;
	json_array_append_new(rc->out, role_render(rc->r, rows, i));
	return 0;
}

int ident_roles_render(struct http_req *r, const struct id_list *ids, json_t *out)
{
	struct render_ctx ctx = { r, out };
	return asg_query_in(ident_db(r), r->arena, "SELECT " ROLE_COLS " FROM role WHERE id", ids, NULL,
			    render_row, &ctx);
}

static bool role_is_domain(const json_t *role)
{
	return json_is_string(json_object_get(role, "domain_id"));
}

/* Enforces the role rule (or its domain_ variant, with the role as target). */
static int role_enforce(struct http_req *r, const char *action, const json_t *role)
{
	char rule[64];
	if (role && role_is_domain(role)) {
		snprintf(rule, sizeof rule, "identity:%s_domain_role", action);
		json_t *t = json_object();
		asg_target_add(t, "target.role", role);
		int rc = ident_enforce(r, rule, t);
		json_decref(t);
		return rc;
	}
	snprintf(rule, sizeof rule, "identity:%s_role", action);
	return ident_enforce(r, rule, NULL);
}

/* Loads the role for a member route: on a miss, enforces the global rule first so that the
 * existence of roles does not leak, then reports 404. */
static json_t *role_for_member(struct http_req *r, const char *action, const char *id, int *rc)
{
	json_t *role;
	if ((*rc = ident_get_row(r, &role_kind, id, &role)) < 0) {
		*rc = ident_db_error(r, *rc, "role");
		return NULL;
	}
	if (!role) {
		*rc = role_enforce(r, action, NULL);
		if (*rc == 0)
			*rc = ident_not_found(r, "role", id);
		return NULL;
	}
	if ((*rc = role_enforce(r, action, role)) < 0) {
		json_decref(role);
		return NULL;
	}
	return role;
}

/* --- validation --- */

/* "options": {"immutable": true|false|null} and nothing else. Sets *set to 1/0 (-1 for null,
 * meaning "remove"), leaves it untouched when absent. */
static int role_options(struct http_req *r, const json_t *body, int *immutable, bool *given)
{
	json_t *opts = json_object_get(body, "options");
	*given = false;
	if (!opts)
		return 0;
	if (!json_is_object(opts))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'options': %s is not of type 'object'.",
				  json_is_null(opts) ? "None" : "value");
	const char *k;
	json_t *v;
	json_object_foreach(opts, k, v) {
		if (strcmp(k, "immutable"))
			return http_error(r, ERR_BADREQ, "Invalid input for field 'options': Additional properties are"
					  " not allowed ('%.64s' was unexpected)", k);
		if (!json_is_boolean(v) && !json_is_null(v))
			return http_error(r, ERR_BADREQ, "Invalid input for field 'options/immutable': value is not"
					  " of type 'boolean', 'null'.");
		*immutable = json_is_null(v) ? -1 : json_is_true(v);
		*given = true;
	}
	return 0;
}

/* Options text after applying an update (merge; -1 removes). */
static char *options_text(struct http_req *r, const json_t *current, int immutable, bool given)
{
	json_t *o = json_is_object(current) ? json_deep_copy(current) : json_object();
	if (given) {
		if (immutable < 0)
			json_object_del(o, "immutable");
		else
			json_object_set_new(o, "immutable", json_boolean(immutable));
	}
	char *out = ident_json_text(r, o);
	json_decref(o);
	return out;
}

/* --- /v3/roles --- */

static int h_list_roles(struct http_req *r)
{
	const char *domain_id = http_query(r, "domain_id");
	const char *name = http_query(r, "name");
	bool domain = domain_id && *domain_id;
	int rc = ident_enforce(r, domain ? "identity:list_domain_roles" : "identity:list_roles", NULL);
	if (rc < 0)
		return rc;
	struct db_rows *rows = NULL;
	if (name)
		rc = db_query(ident_db(r), &rows, "SELECT " ROLE_COLS " FROM role WHERE domain_id = ? AND name = ?",
			      DB_TEXT(domain ? domain_id : ""), DB_TEXT(name));
	else
		rc = db_query(ident_db(r), &rows, "SELECT " ROLE_COLS " FROM role WHERE domain_id = ?",
			      DB_TEXT(domain ? domain_id : ""));
	if (rc < 0)
		return ident_db_error(r, rc, "role");
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		if (ident_name_filters_pass(r, db_text(rows, i, 1)))
			json_array_append_new(arr, role_render(r, rows, i));
	db_rows_free(rows);
	return ident_reply_list(r, "roles", arr);
}

static int h_create_role(struct http_req *r)
{
	json_t *body = ident_body(r, "role");
	if (!body)
		return r->err;
	json_t *dv = json_object_get(body, "domain_id");
	bool domain = json_is_string(dv) && json_string_length(dv) > 0;
	int rc = ident_enforce(r, domain ? "identity:create_domain_role" : "identity:create_role", NULL);
	if (rc < 0)
		return rc;
	const char *name, *desc, *domain_id = NULL;
	int immutable = -1;
	bool opts_given;
	if ((rc = ident_name(r, body, "name", true, &name)) < 0 ||
	    (rc = ident_str(r, body, "description", false, false, ROLE_DESC_MAX, &desc)) < 0 ||
	    (rc = role_options(r, body, &immutable, &opts_given)) < 0 ||
	    (rc = ident_str(r, body, "domain_id", false, true, IDENT_ID_MAX, &domain_id)) < 0)
		return rc;
	if (domain_id && !*domain_id)
		domain_id = NULL;
	if (domain_id) {
		json_t *d = ident_domain_load(r, domain_id);
		if (!d)
			return r->err;
		json_decref(d);
	}
	char id[33];
	uuid_hex(id);
	const char *options = options_text(r, NULL, immutable, opts_given);
	const char *extra = ident_extra(r, body, role_known_keys, NULL);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO role (id, name, domain_id, description, options, extra)"
		     " VALUES (?, ?, ?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(name), DB_TEXT(domain_id ? domain_id : ""),
		     DB_TEXT(desc), DB_TEXT(options), DB_TEXT(extra));
	if (rc < 0)
		return ident_name_conflict(r, rc, "role", name, domain_id);
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *role = ident_role_load(r, id);
	if (!role)
		return r->err;
	return ident_reply_one(r, 201, "role", role);
}

static int h_get_role(struct http_req *r)
{
	int rc;
	json_t *role = role_for_member(r, "get", http_param(r, "role_id"), &rc);
	if (!role)
		return rc;
	return ident_reply_one(r, 200, "role", role);
}

static int h_update_role(struct http_req *r)
{
	const char *id = http_param(r, "role_id");
	int rc;
	json_t *role = role_for_member(r, "update", id, &rc);
	if (!role)
		return rc;
	json_t *body = ident_body(r, "role");
	const char *name, *desc;
	int immutable = -2;
	bool opts_given;
	if (!body) {
		rc = r->err;
		goto out;
	}
	if (json_object_size(body) == 0) {
		rc = http_error(r, ERR_BADREQ, "{} does not have enough properties");
		goto out;
	}
	if ((rc = ident_name(r, body, "name", false, &name)) < 0 ||
	    (rc = ident_str(r, body, "description", false, false, ROLE_DESC_MAX, &desc)) < 0 ||
	    (rc = role_options(r, body, &immutable, &opts_given)) < 0)
		goto out;
	if ((rc = ident_same_id(r, body, id)) < 0)
		goto out;
	if (ident_immutable(role) && !ident_immutable_update_ok(body)) {
		rc = http_error(r, ERR_FORBIDDEN, "Unable to update immutable role resource: `%s. Set resource"
				" option \"immutable\" to false first.", id);
		goto out;
	}
	json_t *dv = json_object_get(body, "domain_id");
	if (dv) {
		json_t *cur = json_object_get(role, "domain_id");
		bool same = (json_is_null(dv) && json_is_null(cur)) ||
			    (json_is_string(dv) && json_is_string(cur) &&
			     !strcmp(json_string_value(dv), json_string_value(cur)));
		if (!same) {
			rc = http_error(r, ERR_BADREQ, "Update of `domain_id` is not allowed.");
			goto out;
		}
	}
	if (!name)
		name = json_string_value(json_object_get(role, "name"));
	json_t *cur_desc = json_object_get(role, "description");
	if (!json_object_get(body, "description"))
		desc = json_string_value(cur_desc);
	const char *options = options_text(r, json_object_get(role, "options"), immutable, opts_given);
	/* the current extra attributes are what the rendering shows beyond the known keys */
	char *cur_extra = ident_extra(r, role, role_known_keys, NULL);
	const char *extra = ident_extra(r, body, role_known_keys, cur_extra);
	if ((rc = ident_begin(r)) < 0)
		goto out;
	rc = db_exec(ident_db(r), "UPDATE role SET name = ?, description = ?, options = ?, extra = ? WHERE id = ?",
		     DB_TEXT(name), DB_TEXT(desc), DB_TEXT(options), DB_TEXT(extra), DB_TEXT(id));
	if (rc < 0) {
		rc = ident_name_conflict(r, rc, "role", name, dv ? json_string_value(dv) : NULL);
		goto out;
	}
	if ((rc = ident_commit(r)) < 0)
		goto out;
	json_t *updated = ident_role_load(r, id);
	rc = updated ? ident_reply_one(r, 200, "role", updated) : r->err;
out:
	json_decref(role);
	return rc;
}

/* Inside the delete transaction: revokes the tokens of every user who held the role directly
 * or through a group, and removes the application credentials of users granted it on a
 * project (Keystone drops those when their role goes away). */
static int role_delete_effects(struct http_req *r, const char *id)
{
	struct db_conn *c = ident_db(r);
	struct arena *a = r->arena;
	struct id_list users = { 0 };
	struct db_rows *rows = NULL;
	int rc = db_query(c, &rows, "SELECT actor_id, target_id, type FROM assignment WHERE role_id = ?"
			  " AND type IN ('UserProject', 'UserDomain', 'UserSystem')", DB_TEXT(id));
	if (rc < 0)
		return rc;
	for (int i = 0; rc >= 0 && i < db_rows_count(rows); i++) {
		ids_add(a, &users, arena_strdup(a, db_text(rows, i, 0)));
		if (!strcmp(db_text(rows, i, 2), "UserProject"))
			rc = db_exec(c, "DELETE FROM application_credential WHERE user_id = ? AND project_id = ?",
				     DB_TEXT(db_text(rows, i, 0)), DB_TEXT(db_text(rows, i, 1)));
	}
	db_rows_free(rows);
	if (rc < 0)
		return rc;
	rc = db_query(c, &rows, "SELECT ug.user_id FROM user_group ug JOIN assignment a ON a.actor_id = ug.group_id"
		      " WHERE a.role_id = ? AND a.type IN ('GroupProject', 'GroupDomain', 'GroupSystem')", DB_TEXT(id));
	if (rc < 0)
		return rc;
	for (int i = 0; i < db_rows_count(rows); i++)
		ids_add(a, &users, arena_strdup(a, db_text(rows, i, 0)));
	db_rows_free(rows);
	for (size_t i = 0; i < users.n; i++)
		if ((rc = ident_revoke(c, users.v[i], NULL, NULL, NULL, NULL)) < 0)
			return rc;
	return 0;
}

static int h_delete_role(struct http_req *r)
{
	const char *id = http_param(r, "role_id");
	int rc;
	json_t *role = role_for_member(r, "delete", id, &rc);
	if (!role)
		return rc;
	bool immutable = ident_immutable(role);
	json_decref(role);
	if (immutable)
		return http_error(r, ERR_FORBIDDEN, "Unable to delete immutable role resource: `%s. Set resource"
				  " option \"immutable\" to false first.", id);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	if ((rc = role_delete_effects(r, id)) < 0 ||
	    (rc = db_exec(c, "DELETE FROM assignment WHERE role_id = ?", DB_TEXT(id))) < 0 ||
	    (rc = db_exec(c, "DELETE FROM implied_role WHERE prior_role_id = ? OR implied_role_id = ?",
			  DB_TEXT(id), DB_TEXT(id))) < 0 ||
	    (rc = db_exec(c, "DELETE FROM role WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "role");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- implied roles --- */

static json_t *inference_ref(struct http_req *r, const char *id, const char *name)
{
	return json_pack("{s:s,s:o,s:s}", "id", id, "links", ident_links(r, "/v3/roles/%s", id), "name", name);
}

static const char *role_name(const json_t *role)
{
	return json_string_value(json_object_get(role, "name"));
}

/* Loads the prior (and implied, when the route has one) roles — 404 before enforcement, as
 * Keystone builds its target — and enforces rule on them. */
static int implied_prepare(struct http_req *r, const char *rule, json_t **prior, json_t **implied)
{
	const char *prior_id = http_param(r, "prior_role_id"), *implied_id = http_param(r, "implied_role_id");
	*prior = *implied = NULL;
	if (!(*prior = ident_role_load(r, prior_id)))
		return r->err;
	if (implied_id && !(*implied = ident_role_load(r, implied_id))) {
		json_decref(*prior);
		*prior = NULL;
		return r->err;
	}
	json_t *t = json_object();
	asg_target_add(t, "target.prior_role", *prior);
	if (*implied)
		asg_target_add(t, "target.implied_role", *implied);
	int rc = ident_enforce(r, rule, t);
	json_decref(t);
	if (rc < 0) {
		json_decref(*prior);
		json_decref(*implied);
		*prior = *implied = NULL;
	}
	return rc;
}

/* 1 when prior implies implied, 0 when not, or an error code. */
static int implication_exists(struct http_req *r, const char *prior, const char *implied)
{
	return ident_exists(ident_db(r), "SELECT 1 FROM implied_role WHERE prior_role_id = ? AND"
			    " implied_role_id = ?", DB_TEXT(prior), DB_TEXT(implied));
}

static int implication_reply(struct http_req *r, int status, const json_t *prior, const json_t *implied)
{
	const char *pid = json_string_value(json_object_get(prior, "id"));
	const char *iid = json_string_value(json_object_get(implied, "id"));
	json_t *body = json_pack("{s:{s:o,s:o},s:o}", "role_inference",
				 "prior_role", inference_ref(r, pid, role_name(prior)),
				 "implies", inference_ref(r, iid, role_name(implied)),
				 "links", ident_links(r, "/v3/roles/%s/implies/%s", pid, iid));
	return http_reply_json(r, status, body);
}

/* Shared by GET and HEAD on one implication: 0 when it exists (404 recorded otherwise). */
static int implication_check(struct http_req *r)
{
	int rc = implication_exists(r, http_param(r, "prior_role_id"), http_param(r, "implied_role_id"));
	if (rc < 0)
		return ident_db_error(r, rc, "implied_role");
	if (rc == 0)
		return http_error(r, ERR_NOTFOUND, "%s does not imply %s.", http_param(r, "prior_role_id"),
				  http_param(r, "implied_role_id"));
	return 0;
}

static int h_get_implied(struct http_req *r)
{
	json_t *prior, *implied;
	int rc = implied_prepare(r, "identity:get_implied_role", &prior, &implied);
	if (rc == 0 && (rc = implication_check(r)) == 0)
		rc = implication_reply(r, 200, prior, implied);
	json_decref(prior);
	json_decref(implied);
	return rc;
}

static int h_head_implied(struct http_req *r)
{
	json_t *prior, *implied;
	int rc = implied_prepare(r, "identity:check_implied_role", &prior, &implied);
	json_decref(prior);
	json_decref(implied);
	if (rc == 0)
		rc = implied_prepare(r, "identity:get_implied_role", &prior, &implied);
	if (rc < 0)
		return rc;
	json_decref(prior);
	json_decref(implied);
	if ((rc = implication_check(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_put_implied(struct http_req *r)
{
	json_t *prior, *implied;
	int rc = implied_prepare(r, "identity:create_implied_role", &prior, &implied);
	if (rc < 0)
		return rc;
	const char *pid = http_param(r, "prior_role_id"), *iid = http_param(r, "implied_role_id");
	bool prohibited = false;
	for (const char *const *p = prohibited_implied; *p; p++)
		if (!strcmp(*p, role_name(implied)))
			prohibited = true;
	if (prohibited || (!role_is_domain(prior) && role_is_domain(implied))) {
		rc = http_error(r, ERR_FORBIDDEN, "%s cannot be an implied roles.", iid);
		goto out;
	}
	if ((rc = ident_begin(r)) < 0)
		goto out;
	rc = implication_exists(r, pid, iid);
	if (rc > 0) {
		ident_rollback(r);
		rc = http_error(r, ERR_CONFLICT, "Conflict occurred attempting to store implied_role - Duplicate"
				" entry.");
		goto out;
	}
	if (rc == 0)
		rc = db_exec(ident_db(r), "INSERT INTO implied_role (prior_role_id, implied_role_id) VALUES (?, ?)",
			     DB_TEXT(pid), DB_TEXT(iid));
	if (rc < 0) {
		rc = ident_db_error(r, rc, "implied_role");
		goto out;
	}
	if ((rc = ident_commit(r)) < 0)
		goto out;
	rc = implication_reply(r, 201, prior, implied);
out:
	json_decref(prior);
	json_decref(implied);
	return rc;
}

static int h_delete_implied(struct http_req *r)
{
	json_t *prior, *implied;
	int rc = implied_prepare(r, "identity:delete_implied_role", &prior, &implied);
	json_decref(prior);
	json_decref(implied);
	if (rc < 0)
		return rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "DELETE FROM implied_role WHERE prior_role_id = ? AND implied_role_id = ?",
		     DB_TEXT(http_param(r, "prior_role_id")), DB_TEXT(http_param(r, "implied_role_id")));
	if (rc < 0)
		return ident_db_error(r, rc, "implied_role");
	if (rc == 0) {
		ident_rollback(r);
		return http_error(r, ERR_NOTFOUND, "%s does not imply %s.", http_param(r, "prior_role_id"),
				  http_param(r, "implied_role_id"));
	}
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_list_implies(struct http_req *r)
{
	json_t *prior, *implied;
	int rc = implied_prepare(r, "identity:list_implied_roles", &prior, &implied);
	if (rc < 0)
		return rc;
	const char *pid = http_param(r, "prior_role_id");
	struct db_rows *rows = NULL;
	rc = db_query(ident_db(r), &rows, "SELECT i.implied_role_id, r.name FROM implied_role i JOIN role r"
		      " ON r.id = i.implied_role_id WHERE i.prior_role_id = ?", DB_TEXT(pid));
	if (rc < 0) {
		json_decref(prior);
		return ident_db_error(r, rc, "implied_role");
	}
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(arr, inference_ref(r, db_text(rows, i, 0), db_text(rows, i, 1)));
	db_rows_free(rows);
	json_t *body = json_pack("{s:{s:o,s:o},s:o}", "role_inference",
				 "prior_role", inference_ref(r, pid, role_name(prior)), "implies", arr,
				 "links", ident_links(r, "/v3/roles/%s/implies", pid));
	json_decref(prior);
	return http_reply_json(r, 200, body);
}

static int h_role_inferences(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:list_role_inference_rules", NULL);
	if (rc < 0)
		return rc;
	struct db_rows *rows = NULL;
	rc = db_query(ident_db(r), &rows, "SELECT i.prior_role_id, p.name, i.implied_role_id, m.name"
		      " FROM implied_role i JOIN role p ON p.id = i.prior_role_id"
		      " JOIN role m ON m.id = i.implied_role_id");
	if (rc < 0)
		return ident_db_error(r, rc, "implied_role");
	json_t *list = json_array();
	json_t *by_prior = json_object();   /* prior id -> its "implies" array (borrowed) */
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *pid = db_text(rows, i, 0);
		json_t *implies = json_object_get(by_prior, pid);
		if (!implies) {
			implies = json_array();
			json_array_append_new(list, json_pack("{s:o,s:o}", "prior_role",
							      inference_ref(r, pid, db_text(rows, i, 1)),
							      "implies", implies));
			json_object_set(by_prior, pid, implies);
		}
		json_array_append_new(implies, inference_ref(r, db_text(rows, i, 2), db_text(rows, i, 3)));
	}
	db_rows_free(rows);
	json_decref(by_prior);
	return http_reply_json(r, 200, json_pack("{s:o}", "role_inferences", list));
}

const struct route ident_routes_roles[] = {
	{ "GET", "/v3/roles", h_list_roles, NULL, 0 },
	{ "POST", "/v3/roles", h_create_role, NULL, 0 },
	{ "GET", "/v3/roles/{role_id}", h_get_role, NULL, 0 },
	{ "PATCH", "/v3/roles/{role_id}", h_update_role, NULL, 0 },
	{ "DELETE", "/v3/roles/{role_id}", h_delete_role, NULL, 0 },
	{ "GET", "/v3/roles/{prior_role_id}/implies", h_list_implies, NULL, 0 },
	{ "GET", "/v3/roles/{prior_role_id}/implies/{implied_role_id}", h_get_implied, NULL, 0 },
	{ "HEAD", "/v3/roles/{prior_role_id}/implies/{implied_role_id}", h_head_implied, NULL, 0 },
	{ "PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}", h_put_implied, NULL, 0 },
	{ "DELETE", "/v3/roles/{prior_role_id}/implies/{implied_role_id}", h_delete_implied, NULL, 0 },
	{ "GET", "/v3/role_inferences", h_role_inferences, NULL, 0 },
	{ 0 },
};
