/* users.c — Keystone v3 users: CRUD with Keystone's list filters, user options, admin password
 * resets, the self-service password change under [security_compliance], and the projects a
 * user has roles on. GET /v3/groups/{group_id}/users is here too: it is a filtered user list. */
#include "identity/ident.h"
#include "core/conf.h"
#include <stdlib.h>
#include <string.h>

#define USER_COLS "u.id, u.name, u.domain_id, u.enabled, u.default_project_id, u.description," \
	" u.extra, u.options, u.password_expires_at"
#define PASSWORD_MAX 4096
/* Hidden entry of users.options: the current password was set by its owner (Keystone's
 * password.self_service), which is what makes minimum_password_age apply. Never rendered. */
#define SELF_SERVICE_KEY "_self_service"
#define US_PER_DAY (86400LL * 1000000)

/* Body members stored in columns (or never stored); everything else goes to "extra". */
static const char *const user_known[] = {
	"id", "name", "domain_id", "enabled", "default_project_id", "description", "password",
	"options", "federated", "password_expires_at", "links", NULL,
};

static const char *const bool_options[] = {
	"ignore_change_password_upon_first_use", "ignore_password_expiry",
	"ignore_lockout_failure_attempts", "lock_password", "ignore_user_inactivity",
	"multi_factor_auth_enabled", NULL,
};
#define MFA_RULES "multi_factor_auth_rules"

static bool is_bool_option(const char *k)
{
	for (const char *const *o = bool_options; *o; o++)
		if (!strcmp(*o, k))
			return true;
	return false;
}

/* ---- rendering ---- */

static json_t *render_options(const char *stored)
{
	json_t *all = ident_object_parse(stored), *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(all, k, v)
		if (is_bool_option(k) || !strcmp(k, MFA_RULES))
			json_object_set(out, k, v);
	json_decref(all);
	return out;
}

static json_t *user_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0);
	json_t *u = json_pack("{s:s,s:s,s:s,s:b}", "id", id, "name", db_text(rows, i, 1),
			      "domain_id", db_text(rows, i, 2), "enabled", db_bool(rows, i, 3));
	if (!db_isnull(rows, i, 4))
		json_object_set_new(u, "default_project_id", json_string(db_text(rows, i, 4)));
	if (!db_isnull(rows, i, 5))
		json_object_set_new(u, "description", json_string(db_text(rows, i, 5)));
	const char *exp = db_isnull(rows, i, 8) ? NULL : ident_time(r, db_int(rows, i, 8));
	json_object_set_new(u, "password_expires_at", exp ? json_string(exp) : json_null());
	json_object_set_new(u, "options", render_options(db_text(rows, i, 7)));
	json_object_set_new(u, "links", ident_links(r, "/v3/users/%s", id));
	ident_merge_extra(u, db_text(rows, i, 6));
	return u;
}

static const struct ident_kind user_kind = {
	"user", "SELECT " USER_COLS " FROM users u WHERE u.id = ?", user_render,
};

json_t *ident_user_load(struct http_req *r, const char *id)
{
	return ident_load_row(r, &user_kind, id);
}

/* The policy target Keystone builds for a user path: the path's user_id and target.user.*. */
static json_t *user_target(const char *path_user_id, const json_t *u)
{
	return ident_target("user_id", path_user_id,
			    "target.user.id", json_string_value(json_object_get(u, "id")),
			    "target.user.domain_id", json_string_value(json_object_get(u, "domain_id")),
			    "target.user.name", json_string_value(json_object_get(u, "name")), NULL);
}

/* ---- listing ---- */

struct user_filter {
	const char *sql_op;     /* password_expires_at comparison, or NULL */
	int64_t expires;
};

static int parse_expires_filter(struct http_req *r, const char *v, struct user_filter *f)
{
	static const struct { const char *name, *sql; } ops[] = {
		{ "eq", "=" }, { "neq", "<>" }, { "lt", "<" }, { "lte", "<=" }, { "gt", ">" }, { "gte", ">=" },
	};
	const char *op = "eq", *ts = v;
	const char *colon = strchr(v, ':');
	if (colon && (colon - v == 2 || colon - v == 3)) {
		op = arena_strndup(r->arena, v, (size_t)(colon - v));
		ts = colon + 1;
	}
	f->sql_op = NULL;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(ops[i].name, op))
			f->sql_op = ops[i].sql;
	if (time_parse(ts, &f->expires) < 0)
		return http_error(r, ERR_BADREQ, "Timestamp not in expected format. The server could not "
				  "comply with the request since it is either malformed or otherwise "
				  "incorrect. The client is assumed to be in error.");
	if (!f->sql_op)
		return http_error(r, ERR_BADREQ, "The given operator %s is not valid. It must be one of "
				  "the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.", op);
	return 0;
}

/* GET /v3/users and GET /v3/groups/{group_id}/users. */
static int h_list_users(struct http_req *r)
{
	const char *group_id = http_param(r, "group_id");
	const char *scope_dom = r->auth->domain_id;
	struct db_conn *c = ident_db(r);
	int rc;
	if (group_id) {
		struct db_rows *g;
		if ((rc = db_query(c, &g, "SELECT domain_id FROM groups WHERE id = ?", DB_TEXT(group_id))) < 0)
			return ident_db_error(r, rc, "group");
		bool found = db_rows_count(g) > 0;
		json_t *t = ident_target("group_id", group_id, "target.group.id", found ? group_id : NULL,
					 "target.group.domain_id", found ? db_text(g, 0, 0) : NULL, NULL);
		db_rows_free(g);
		if ((rc = ident_enforce_steal(r, "identity:list_users_in_group", t)) < 0)
			return rc;
		if (!found)
			return ident_not_found(r, "group", group_id);
	} else {
		json_t *t = scope_dom ? ident_target("target.domain_id", scope_dom, NULL) : NULL;
		if ((rc = ident_enforce_steal(r, "identity:list_users", t)) < 0)
			return rc;
	}

	struct user_filter f = { 0 };
	const char *exp = http_query(r, "password_expires_at");
	if (exp && (rc = parse_expires_filter(r, exp, &f)) < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " USER_COLS " FROM users u");
	if (group_id) {
		ident_sql_text(&q, " JOIN user_group m ON m.user_id = u.id AND m.group_id = ?");
		ident_sql_arg(&q, DB_TEXT(group_id));
	}
	ident_sql_text(&q, " WHERE 1 = 1");
	ident_sql_filter(&q, r, "u.domain_id", "domain_id");
	ident_sql_eq(&q, "u.domain_id", scope_dom);
	ident_sql_filter(&q, r, "u.name", "name");
	ident_sql_filter_bool(&q, r, "u.enabled", "enabled");
	if (f.sql_op) {
		ident_sql_text(&q, arena_printf(r->arena, " AND u.password_expires_at %s ?", f.sql_op));
		ident_sql_arg(&q, DB_INT(f.expires));
	}
	struct db_rows *rows;
	if ((rc = ident_sql_query(c, &q, &rows)) < 0)
		return ident_db_error(r, rc, "user");
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		if (ident_name_filters_pass(r, db_text(rows, i, 1)))
			json_array_append_new(list, user_render(r, rows, i));
	db_rows_free(rows);
	return ident_reply_list(r, "users", list);
}

static int h_get_user(struct http_req *r)
{
	json_t *u;
	int rc = ident_load_enforced(r, &user_kind, http_param(r, "user_id"), "identity:get_user", user_target, &u);
	return rc < 0 ? rc : ident_reply_one(r, 200, "user", u);
}

/* ---- create and update ---- */

struct user_input {
	const char *name, *domain_id, *default_project_id, *description, *password;
	bool enabled, enabled_set, dpid_set, desc_set, password_set;
	json_t *options;              /* borrowed from the body, or NULL */
};

static int mfa_rules_error(struct http_req *r)
{
	return http_error(r, ERR_BADREQ, "Invalid input for field 'options/" MFA_RULES "': Invalid data "
			  "type, must be a list of lists comprised of strings. Sub-lists may not be "
			  "duplicated. Strings in sub-lists may not be duplicated.");
}

static int check_mfa_rules(struct http_req *r, const json_t *rules)
{
	if (!json_is_array(rules))
		return mfa_rules_error(r);
	for (size_t i = 0; i < json_array_size(rules); i++) {
		json_t *sub = json_array_get(rules, i);
		if (!json_is_array(sub) || !json_array_size(sub))
			return mfa_rules_error(r);
		for (size_t j = 0; j < i; j++)
			if (json_equal(sub, json_array_get(rules, j)))
				return mfa_rules_error(r);
		for (size_t k = 0; k < json_array_size(sub); k++) {
			json_t *s = json_array_get(sub, k);
			if (!json_is_string(s))
				return mfa_rules_error(r);
			for (size_t m = 0; m < k; m++)
				if (json_equal(s, json_array_get(sub, m)))
					return mfa_rules_error(r);
		}
	}
	return 0;
}

static int check_options(struct http_req *r, const json_t *opts)
{
	if (!json_is_object(opts))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'options': value is not of type 'object'.");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		if (is_bool_option(k)) {
			if (!json_is_null(v) && !json_is_boolean(v))
				return http_error(r, ERR_BADREQ, "Invalid input for field 'options/%s': value is "
						  "not of type 'boolean', 'null'.", k);
		} else if (!strcmp(k, MFA_RULES)) {
			if (!json_is_null(v) && check_mfa_rules(r, v) < 0)
				return r->err;
		} else {
			return http_error(r, ERR_BADREQ, "Invalid input for field 'options': Additional "
					  "properties are not allowed ('%s' was unexpected)", k);
		}
	}
	return 0;
}

/* Applies requested options over the stored ones (null removes one). New reference. */
/* The stored options with the request's applied (req may be NULL). New reference. */
static json_t *merge_options(const char *stored, const json_t *req)
{
	json_t *o = ident_object_parse(stored);
	const char *k;
	json_t *v;
	if (!req)
		return o;
	json_object_foreach((json_t *)req, k, v) {
		if (json_is_null(v))
			json_object_del(o, k);
		else
			json_object_set(o, k, v);
	}
	return o;
}

static int check_user_body(struct http_req *r, const json_t *b, bool create, struct user_input *in)
{
	int rc;
	memset(in, 0, sizeof *in);
	if ((rc = ident_name(r, b, "name", create, &in->name)) < 0)
		return rc;
	if (in->name)
		in->name = ident_strip(r, in->name);
	if ((rc = ident_id_field(r, b, "domain_id", false, &in->domain_id)) < 0)
		return rc;
	if ((rc = ident_bool(r, b, "enabled", &in->enabled, &in->enabled_set)) < 0)
		return rc;
	in->dpid_set = json_object_get(b, "default_project_id") != NULL;
	if ((rc = ident_id_field(r, b, "default_project_id", true, &in->default_project_id)) < 0)
		return rc;
	in->desc_set = json_object_get(b, "description") != NULL;
	if ((rc = ident_str(r, b, "description", false, true, 0, &in->description)) < 0)
		return rc;
	in->password_set = json_object_get(b, "password") != NULL;
	if ((rc = ident_str(r, b, "password", false, true, PASSWORD_MAX, &in->password)) < 0)
		return rc;
	if ((in->options = json_object_get(b, "options")) && (rc = check_options(r, in->options)) < 0)
		return rc;
	json_t *fed = json_object_get(b, "federated");
	if (fed && !json_is_array(fed))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'federated': value is not of type 'array'.");
	if (json_array_size(fed)) {
		/* No identity providers exist here, so any federated object names an unknown one. */
		const char *idp = json_string_value(json_object_get(json_array_get(fed, 0), "idp_id"));
		return http_error(r, ERR_BADREQ, "Could not find Identity Provider: %s", idp ? idp : "None");
	}
	if (in->password && (rc = ident_password_policy(r, in->password)) < 0)
		return rc;
	if (in->default_project_id) {
		if ((rc = ident_exists(ident_db(r), "SELECT 1 FROM domain WHERE id = ?",
				       DB_TEXT(in->default_project_id))) < 0)
			return ident_db_error(r, rc, "user");
		if (rc)
			return http_error(r, ERR_BADREQ, "User's default project ID cannot be a domain ID: %s",
					  in->default_project_id);
	}
	return 0;
}

/* When a password set now expires ([security_compliance] password_expires_days), or 0. */
static int64_t password_expiry(const json_t *options, int64_t now)
{
	int64_t days = conf_int("security_compliance", "password_expires_days");
	if (days <= 0 || json_is_true(json_object_get(options, "ignore_password_expiry")))
		return 0;
	return (now / 1000000 + days * 86400) * 1000000;
}

/* Records a newly set password hash and trims the history to what the rules need. */
static int history_add(struct db_conn *c, const char *user_id, const char *hash, int64_t now)
{
	char id[33];
	uuid_hex(id);
	int rc = db_exec(c, "INSERT INTO password_history (id, user_id, password_hash, created_at)"
			 " VALUES (?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(user_id), DB_TEXT(hash), DB_INT(now));
	if (rc < 0)
		return rc;
	int64_t keep = conf_int("security_compliance", "unique_last_password_count");
	rc = db_exec(c, "DELETE FROM password_history WHERE user_id = ? AND id NOT IN (SELECT id FROM"
		     " password_history WHERE user_id = ? ORDER BY created_at DESC LIMIT ?)",
		     DB_TEXT(user_id), DB_TEXT(user_id), DB_INT(keep > 1 ? keep : 1));
	return rc < 0 ? rc : 0;
}

/* A password hash into the arena (the hash is slow: never inside a transaction). */
static const char *hash_password(struct http_req *r, const char *pw)
{
	char *h = ident_password_hash(pw);
	if (!h) {
		ident_internal(r);
		return NULL;
	}
	const char *out = arena_strdup(r->arena, h);
	explicit_bzero(h, strlen(h));
	free(h);
	return out;
}

static int h_create_user(struct http_req *r)
{
	json_t *b = ident_body(r, "user");
	if (!b)
		return r->err;
	const char *dom;
	int rc = ident_enforce_create(r, "identity:create_user", "target.user", b, &dom);
	if (rc < 0)
		return rc;
	struct user_input in;
	if ((rc = check_user_body(r, b, true, &in)) < 0 || (rc = ident_must_exist(r, "domain", "domain", dom)) < 0)
		return rc;

	json_t *opts = merge_options(NULL, in.options);
	const char *options = ident_json_text(r, opts);
	int64_t now = time_now_us();
	int64_t expires = in.password ? password_expiry(opts, now) : 0;
	json_decref(opts);
	const char *hash = NULL;
	if (in.password && !(hash = hash_password(r, in.password)))
		return r->err;

	char id[33];
	uuid_hex(id);
	const char *extra = ident_extra(r, b, user_known, NULL);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	rc = db_exec(c, "INSERT INTO users (id, name, domain_id, enabled, default_project_id, description,"
		     " extra, options, password_hash, password_created_at, password_expires_at, created_at)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(in.name), DB_TEXT(dom), DB_BOOL(in.enabled_set ? in.enabled : true),
		     DB_TEXT(in.default_project_id), DB_TEXT(in.description), DB_TEXT(extra), DB_TEXT(options),
		     DB_TEXT(hash), hash ? DB_INT(now) : DB_NULL, expires ? DB_INT(expires) : DB_NULL, DB_INT(now));
	if (rc < 0)
		return ident_name_conflict(r, rc, "user", in.name, dom);
	if (hash && (rc = history_add(c, id, hash, now)) < 0)
		return ident_db_error(r, rc, "user");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *u = ident_user_load(r, id);
	return u ? ident_reply_one(r, 201, "user", u) : r->err;
}

/* The stored state an update starts from. */
struct user_row {
	const char *name, *domain_id, *dpid, *description, *extra, *options;
	bool enabled;
};

/* Loads the stored user for PATCH and DELETE and checks rule on it: policy first, then 404. */
static int user_row_enforce(struct http_req *r, const char *rule, const char *id, struct user_row *u)
{
	struct db_rows *rows;
	int rc = db_query(ident_db(r), &rows, "SELECT name, domain_id, default_project_id, description,"
			  " extra, options, enabled FROM users WHERE id = ?", DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "user");
	bool found = db_rows_count(rows) > 0;
	if (found) {
		u->name = arena_strdup(r->arena, db_text(rows, 0, 0));
		u->domain_id = arena_strdup(r->arena, db_text(rows, 0, 1));
		u->dpid = arena_strdup(r->arena, db_text(rows, 0, 2));
		u->description = arena_strdup(r->arena, db_text(rows, 0, 3));
		u->extra = arena_strdup(r->arena, db_text(rows, 0, 4));
		u->options = arena_strdup(r->arena, db_text(rows, 0, 5));
		u->enabled = db_bool(rows, 0, 6);
	}
	db_rows_free(rows);
	json_t *t = ident_target("user_id", id, "target.user.id", found ? id : NULL,
				 "target.user.domain_id", u->domain_id, "target.user.name", u->name, NULL);
	if ((rc = ident_enforce_steal(r, rule, t)) < 0)
		return rc;
	return found ? 0 : ident_not_found(r, "user", id);
}

static int h_update_user(struct http_req *r)
{
	const char *id = http_param(r, "user_id");
	struct user_row cur = { 0 };
	int rc;
	if ((rc = user_row_enforce(r, "identity:update_user", id, &cur)) < 0)
		return rc;
	json_t *b = ident_body(r, "user");
	if (!b)
		return r->err;
	if (!json_object_size(b))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'user': {} does not have enough properties");
	struct user_input in;
	if ((rc = check_user_body(r, b, false, &in)) < 0)
		return rc;
	const char *body_id = json_string_value(json_object_get(b, "id"));
	if (json_object_get(b, "id") && (!body_id || strcmp(body_id, id)))
		return http_error(r, ERR_BADREQ, "Cannot change user ID");
	if (in.domain_id && strcmp(in.domain_id, cur.domain_id))
		return http_error(r, ERR_BADREQ, "Cannot change Domain ID");

	json_t *opts = merge_options(cur.options, in.options);
	int64_t now = time_now_us();
	int64_t expires = 0;
	const char *hash = NULL;
	if (in.password_set) {
		json_object_del(opts, SELF_SERVICE_KEY);      /* an admin reset */
		if (in.password) {
			expires = password_expiry(opts, now);
			if (!(hash = hash_password(r, in.password))) {
				json_decref(opts);
				return r->err;
			}
		}
	}
	const char *options = ident_json_text(r, opts);
	json_decref(opts);
	const char *name = in.name ? in.name : cur.name;
	bool enabled = in.enabled_set ? in.enabled : cur.enabled;
	const char *extra = ident_extra(r, b, user_known, cur.extra);

	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	rc = db_exec(c, "UPDATE users SET name = ?, enabled = ?, default_project_id = ?, description = ?,"
		     " extra = ?, options = ? WHERE id = ?", DB_TEXT(name), DB_BOOL(enabled),
		     DB_TEXT(in.dpid_set ? in.default_project_id : cur.dpid),
		     DB_TEXT(in.desc_set ? in.description : cur.description), DB_TEXT(extra),
		     DB_TEXT(options), DB_TEXT(id));
	if (rc < 0)
		return ident_name_conflict(r, rc, "user", name, cur.domain_id);
	if (in.enabled_set && in.enabled)
		rc = db_exec(c, "UPDATE users SET failed_auth_count = 0, failed_auth_at = NULL WHERE id = ?",
			     DB_TEXT(id));
	if (rc >= 0 && in.password_set)
		rc = db_exec(c, "UPDATE users SET password_hash = ?, password_created_at = ?,"
			     " password_expires_at = ?, failed_auth_count = 0, failed_auth_at = NULL"
			     " WHERE id = ?", DB_TEXT(hash), DB_INT(now), expires ? DB_INT(expires) : DB_NULL,
			     DB_TEXT(id));
	if (rc >= 0 && hash)
		rc = history_add(c, id, hash, now);
	/* A disabled user or a reset password ends every token the user holds. */
	if (rc >= 0 && ((cur.enabled && !enabled) || hash))
		rc = ident_revoke(c, id, NULL, NULL, NULL, NULL);
	if (rc < 0)
		return ident_db_error(r, rc, "user");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *u = ident_user_load(r, id);
	return u ? ident_reply_one(r, 200, "user", u) : r->err;
}

static int h_delete_user(struct http_req *r)
{
	const char *id = http_param(r, "user_id");
	struct user_row cur = { 0 };
	int rc;
	if ((rc = user_row_enforce(r, "identity:delete_user", id, &cur)) < 0)
		return rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	static const char *const cleanup[] = {
		"DELETE FROM user_group WHERE user_id = ?",
		"DELETE FROM application_credential_role WHERE application_credential_id IN"
		" (SELECT id FROM application_credential WHERE user_id = ?)",
		"DELETE FROM application_credential WHERE user_id = ?",
		"DELETE FROM credential WHERE user_id = ?",
		"DELETE FROM password_history WHERE user_id = ?",
		"DELETE FROM users WHERE id = ?",
	};
	rc = ident_assignments_purge(c, id);
	for (size_t i = 0; rc >= 0 && i < sizeof cleanup / sizeof cleanup[0]; i++)
		rc = db_exec(c, cleanup[i], DB_TEXT(id));
	if (rc >= 0)
		rc = ident_revoke(c, id, NULL, NULL, NULL, NULL);
	if (rc < 0)
		return ident_db_error(r, rc, "user");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* ---- self-service password change ---- */

struct pw_state {
	const char *hash, *options;
	int64_t created_at, failures, failed_at;
	bool enabled;
};

static int pw_state_get(struct http_req *r, const char *id, struct pw_state *s, bool *found)
{
	struct db_rows *rows;
	int rc = db_query(ident_db(r), &rows, "SELECT password_hash, options, password_created_at,"
			  " failed_auth_count, failed_auth_at, enabled FROM users WHERE id = ?", DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "user");
	*found = db_rows_count(rows) > 0;
	if (*found) {
		s->hash = arena_strdup(r->arena, db_text(rows, 0, 0));
		s->options = arena_strdup(r->arena, db_text(rows, 0, 1));
		s->created_at = db_isnull(rows, 0, 2) ? 0 : db_int(rows, 0, 2);
		s->failures = db_int(rows, 0, 3);
		s->failed_at = db_isnull(rows, 0, 4) ? 0 : db_int(rows, 0, 4);
		s->enabled = db_bool(rows, 0, 5);
	}
	db_rows_free(rows);
	return 0;
}

static int bad_original(struct http_req *r)
{
	return http_error(r, ERR_UNAUTH, "Error when changing user password: Invalid user / password");
}

/* Checks the original password as authentication does: lockout, then the hash (counting a
 * failure), then enabled. Expired passwords are fine: changing them is the point. */
static int pw_authenticate(struct http_req *r, const char *id, const struct pw_state *s,
			   const json_t *opts, const char *original)
{
	int64_t attempts = conf_int("security_compliance", "lockout_failure_attempts");
	int64_t duration = conf_int("security_compliance", "lockout_duration");
	bool counted = attempts > 0 && !json_is_true(json_object_get(opts, "ignore_lockout_failure_attempts"));
	int64_t now = time_now_us();
	if (counted && s->failures >= attempts && (duration <= 0 || now < s->failed_at + duration * 1000000))
		return http_error(r, ERR_UNAUTH, "The account is locked for user: %s.", id);
	if (!ident_password_verify(original, s->hash)) {
		if (counted) {
			int rc = ident_begin(r);
			if (rc < 0)
				return rc;
			rc = db_exec(ident_db(r), "UPDATE users SET failed_auth_count = failed_auth_count + 1,"
				     " failed_auth_at = ? WHERE id = ?", DB_INT(now), DB_TEXT(id));
			if (rc < 0)
				return ident_db_error(r, rc, "user");
			if ((rc = ident_commit(r)) < 0)
				return rc;
		}
		return bad_original(r);
	}
	if (!s->enabled)
		return http_error(r, ERR_UNAUTH, "The account is disabled for user: %s.", id);
	return 0;
}

/* [security_compliance] minimum_password_age and unique_last_password_count. */
static int pw_rules(struct http_req *r, const char *id, const struct pw_state *s,
		    const json_t *opts, const char *password)
{
	int64_t min_days = conf_int("security_compliance", "minimum_password_age");
	int64_t now = time_now_us();
	if (min_days > 0 && json_is_true(json_object_get(opts, SELF_SERVICE_KEY)) &&
	    now < s->created_at + min_days * US_PER_DAY)
		return http_error(r, ERR_BADREQ, "You cannot change your password at this time due to the "
				  "minimum password age. Once you change your password, it must be used for "
				  "%lld day(s) before it can be changed. Please try again in %lld day(s) or "
				  "contact your administrator to reset your password.", (long long)min_days,
				  (long long)((s->created_at + min_days * US_PER_DAY - now) / US_PER_DAY));
	int64_t unique = conf_int("security_compliance", "unique_last_password_count");
	if (unique <= 0)
		return 0;
	struct db_rows *rows;
	int rc = db_query(ident_db(r), &rows, "SELECT password_hash FROM password_history WHERE user_id = ?"
			  " ORDER BY created_at DESC LIMIT ?", DB_TEXT(id), DB_INT(unique));
	if (rc < 0)
		return ident_db_error(r, rc, "user");
	/* The current password counts even when it predates the history (bootstrap users). */
	bool reused = s->hash && ident_password_verify(password, s->hash);
	for (int i = 0; !reused && i < db_rows_count(rows); i++) {
		const char *h = db_text(rows, i, 0);
		if (!(s->hash && !strcmp(h, s->hash)))
			reused = ident_password_verify(password, h);
	}
	db_rows_free(rows);
	if (reused)
		return http_error(r, ERR_BADREQ, "The new password cannot be identical to a previous password. "
				  "The total number which includes the new password must be unique is %lld.",
				  (long long)unique);
	return 0;
}

/* POST /v3/users/{user_id}/password — public like Keystone's (a user whose password expired
 * has no token): knowing the original password is what authorizes the change, whoever's token
 * comes along (Tempest's admin test changes a user's password this way). */
static int h_change_password(struct http_req *r)
{
	const char *id = http_param(r, "user_id");
	json_t *b = ident_body(r, "user");
	if (!b)
		return r->err;
	const char *k;
	json_t *v;
	json_object_foreach(b, k, v)
		if (strcmp(k, "password") && strcmp(k, "original_password"))
			return http_error(r, ERR_BADREQ, "Additional properties are not allowed ('%s' was unexpected)", k);
	const char *original, *password;
	int rc;
	if ((rc = ident_str(r, b, "original_password", true, false, PASSWORD_MAX, &original)) < 0 ||
	    (rc = ident_str(r, b, "password", true, false, PASSWORD_MAX, &password)) < 0)
		return rc;
	struct pw_state s = { 0 };
	bool found = false;
	if ((rc = pw_state_get(r, id, &s, &found)) < 0)
		return rc;
	if (!found)
		return bad_original(r);
	json_t *opts = ident_object_parse(s.options);
	if ((rc = pw_authenticate(r, id, &s, opts, original)) < 0 ||
	    (rc = ident_password_policy(r, password)) < 0)
		goto out;
	if (json_is_true(json_object_get(opts, "lock_password"))) {
		rc = http_error(r, ERR_BADREQ, "You cannot change your password at this time due to password "
				"policy disallowing password changes. Please contact your administrator to "
				"reset your password.");
		goto out;
	}
	if ((rc = pw_rules(r, id, &s, opts, password)) < 0)
		goto out;
	const char *hash = hash_password(r, password);
	if (!hash) {
		rc = r->err;
		goto out;
	}
	int64_t now = time_now_us();
	int64_t expires = password_expiry(opts, now);
	json_object_set_new(opts, SELF_SERVICE_KEY, json_true());
	const char *options = ident_json_text(r, opts);
	if ((rc = ident_begin(r)) < 0)
		goto out;
	struct db_conn *c = ident_db(r);
	/* Compare-and-swap on the hash: a concurrent change makes this one fail, not interleave. */
	rc = db_exec(c, "UPDATE users SET password_hash = ?, password_created_at = ?, password_expires_at = ?,"
		     " options = ?, failed_auth_count = 0, failed_auth_at = NULL WHERE id = ? AND password_hash = ?",
		     DB_TEXT(hash), DB_INT(now), expires ? DB_INT(expires) : DB_NULL, DB_TEXT(options),
		     DB_TEXT(id), DB_TEXT(s.hash));
	if (rc == 0) {
		ident_rollback(r);
		rc = http_error(r, ERR_CONFLICT, "The password was changed concurrently; please try again.");
		goto out;
	}
	if (rc >= 0)
		rc = history_add(c, id, hash, now);
	if (rc >= 0)
		rc = ident_revoke(c, id, NULL, NULL, NULL, NULL);
	if (rc < 0) {
		rc = ident_db_error(r, rc, "user");
		goto out;
	}
	if ((rc = ident_commit(r)) < 0)
		goto out;
	rc = http_reply_empty(r, 204);
out:
	json_decref(opts);
	return rc;
}

/* ---- a user's projects ---- */

static bool member_is(const json_t *obj, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && !strcmp(s, want);
}

static bool project_matches(struct http_req *r, const json_t *p)
{
	const char *v;
	if ((v = http_query(r, "domain_id")) && !member_is(p, "domain_id", v))
		return false;
	if ((v = http_query(r, "name")) && !member_is(p, "name", v))
		return false;
	if ((v = http_query(r, "enabled")) && ident_query_true(v) != json_is_true(json_object_get(p, "enabled")))
		return false;
	return true;
}

static int h_user_projects(struct http_req *r)
{
	const char *id = http_param(r, "user_id");
	json_t *u;
	int rc = ident_get_row(r, &user_kind, id, &u);
	if (rc < 0)
		return ident_db_error(r, rc, "user");
	rc = ident_enforce_steal(r, "identity:list_user_projects", user_target(id, u));
	json_decref(u);
	if (rc < 0)
		return rc;
	json_t *ids = ident_user_targets(ident_db(r), id, "project");
	if (!ids)
		return ident_db_error(r, ERR_INTERNAL, "user");
	json_t *list = json_array();
	size_t i;
	json_t *pid;
	json_array_foreach(ids, i, pid) {
		json_t *p = ident_project_load(r, json_string_value(pid));
		if (!p) {                   /* deleted meanwhile: not an error for the list */
			ident_clear_error(r);
			continue;
		}
		if (project_matches(r, p))
			json_array_append_new(list, p);
		else
			json_decref(p);
	}
	json_decref(ids);
	return ident_reply_list(r, "projects", list);
}

const struct route ident_routes_users[] = {
	{ "GET", "/v3/users", h_list_users, NULL, 0 },
	{ "POST", "/v3/users", h_create_user, NULL, 0 },
	{ "GET", "/v3/users/{user_id}", h_get_user, NULL, 0 },
	{ "PATCH", "/v3/users/{user_id}", h_update_user, NULL, 0 },
	{ "DELETE", "/v3/users/{user_id}", h_delete_user, NULL, 0 },
	{ "POST", "/v3/users/{user_id}/password", h_change_password, NULL, ROUTE_PUBLIC },
	{ "GET", "/v3/users/{user_id}/projects", h_user_projects, NULL, 0 },
	{ "GET", "/v3/groups/{group_id}/users", h_list_users, NULL, 0 },
	{ 0 },
};
