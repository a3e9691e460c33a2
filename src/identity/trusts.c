/* trusts.c — OS-TRUST: /v3/OS-TRUST/trusts (create, list, show, delete) and a trust's roles.
 * A trust lets its trustee act on a project with some of the trustor's roles; the tokens it
 * yields are issued in authn.c and checked in token_build.c. Redelegation is not supported. */
#include "identity/ident.h"
#include <string.h>

#define TRUST_COLS "id, trustor_user_id, trustee_user_id, project_id, impersonation, expires_at," \
	" remaining_uses, extra"

static const char *const trust_known[] = {
	"id", "trustor_user_id", "trustee_user_id", "project_id", "impersonation", "expires_at",
	"remaining_uses", "allow_redelegation", "redelegation_count", "roles", "deleted_at",
	"redelegated_trust_id", NULL,
};

/* Row i as Keystone renders a trust (without its roles). */
static json_t *trust_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0), *project = db_text(rows, i, 3);
	json_t *o = ident_object_parse(db_text(rows, i, 7));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "trustor_user_id", json_string(db_text(rows, i, 1)));
	json_object_set_new(o, "trustee_user_id", json_string(db_text(rows, i, 2)));
	json_object_set_new(o, "project_id", project ? json_string(project) : json_null());
	json_object_set_new(o, "impersonation", json_boolean(db_bool(rows, i, 4)));
	char ts[40];
	if (!db_isnull(rows, i, 5))
		time_format(db_int(rows, i, 5), 6, true, ts);   /* Keystone: isotime, subsecond, "Z" */
	json_object_set_new(o, "expires_at", db_isnull(rows, i, 5) ? json_null() : json_string(ts));
	json_object_set_new(o, "remaining_uses", db_isnull(rows, i, 6) ? json_null() :
			    json_integer(db_int(rows, i, 6)));
	json_object_set_new(o, "deleted_at", json_null());
	json_object_set_new(o, "redelegated_trust_id", json_null());
	json_object_set_new(o, "redelegation_count", json_integer(0));
	json_object_set_new(o, "links", ident_links(r, "/v3/OS-TRUST/trusts/%s", id));
	return o;
}

/* The trust's roles, rendered as /v3/roles shows them (roles deleted since are left out). */
static json_t *trust_roles(struct http_req *r, const char *trust_id)
{
	json_t *out = json_array();
	struct db_rows *rows;
	if (db_query(ident_db(r), &rows, "SELECT role_id FROM trust_role WHERE trust_id = ? ORDER BY role_id",
		     DB_TEXT(trust_id)) < 0)
		return out;
	for (int i = 0; i < db_rows_count(rows); i++) {
		json_t *role = ident_role_load(r, db_text(rows, i, 0));
		if (role)
			json_array_append_new(out, role);
	}
	db_rows_free(rows);
	ident_clear_error(r);
	return out;
}

/* A usable trust (present, unexpired, uses left), rendered with its roles; NULL with 404 (or a
 * database error) recorded. */
static json_t *trust_load(struct http_req *r, const char *id)
{
	struct db_rows *rows;
	int rc = db_query(ident_db(r), &rows, "SELECT " TRUST_COLS " FROM trust WHERE id = ?", DB_TEXT(id));
	if (rc < 0) {
		ident_db_error(r, rc, "trust");
		return NULL;
	}
	bool ok = db_rows_count(rows) == 1 &&
		  (db_isnull(rows, 0, 5) || db_int(rows, 0, 5) > time_now_us()) &&
		  (db_isnull(rows, 0, 6) || db_int(rows, 0, 6) > 0);
	json_t *t = ok ? trust_render(r, rows, 0) : NULL;
	db_rows_free(rows);
	if (!t) {
		ident_not_found(r, "trust", id);
		return NULL;
	}
	json_object_set_new(t, "roles", trust_roles(r, id));
	json_object_set_new(t, "roles_links", json_pack("{s:s,s:n,s:n}", "self",
		ident_url(r, "/v3/OS-TRUST/trusts/%s/roles", id), "next", "previous"));
	return t;
}

static json_t *trust_target(const json_t *t)
{
	return ident_target("target.trust.trustor_user_id",
			    json_string_value(json_object_get(t, "trustor_user_id")),
			    "target.trust.trustee_user_id",
			    json_string_value(json_object_get(t, "trustee_user_id")), NULL);
}

/* Keystone blocks delegated tokens (application credentials) from every trust operation. */
static int not_delegated(struct http_req *r)
{
	if (r->auth && r->auth->app_cred_id)
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "Delegated tokens cannot manage trusts.");
	return 0;
}

static bool trust_scoped_caller(struct http_req *r)
{
	json_t *t = r->auth ? json_object_get(r->auth->token_body, "token") : NULL;
	return json_object_get(t, "OS-TRUST:trust") != NULL;
}

/* The trust named by the path after policy rule: 404 first when missing, as Keystone does. */
static json_t *trust_for_member(struct http_req *r, const char *rule, int *rc)
{
	json_t *t = trust_load(r, http_param(r, "trust_id"));
	if (!t) {
		*rc = r->err;
		return NULL;
	}
	if ((*rc = ident_enforce_steal(r, rule, trust_target(t))) < 0 || (*rc = not_delegated(r)) < 0) {
		json_decref(t);
		return NULL;
	}
	return t;
}

static int h_get_trust(struct http_req *r)
{
	int rc;
	json_t *t = trust_for_member(r, "identity:get_trust", &rc);
	return t ? ident_reply_one(r, 200, "trust", t) : rc;
}

static int h_trust_roles(struct http_req *r)
{
	int rc;
	json_t *t = trust_for_member(r, "identity:list_roles_for_trust", &rc);
	if (!t)
		return rc;
	json_t *out = json_pack("{s:O,s:O}", "roles", json_object_get(t, "roles"), "links",
				json_object_get(t, "roles_links"));
	json_decref(t);
	return http_reply_json(r, 200, out);
}

static int h_trust_role(struct http_req *r)
{
	int rc;
	json_t *t = trust_for_member(r, "identity:get_role_for_trust", &rc);
	if (!t)
		return rc;
	const char *role_id = http_param(r, "role_id");
	json_t *found = NULL, *v;
	size_t i;
	json_array_foreach(json_object_get(t, "roles"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "id")), role_id))
			found = json_incref(v);
	json_decref(t);
	if (!found)
		return ident_not_found(r, "role", role_id);
	if (r->head) {
		json_decref(found);
		return http_reply_empty(r, 200);
	}
	return ident_reply_one(r, 200, "role", found);
}

static int h_delete_trust(struct http_req *r)
{
	int rc;
	const char *id = http_param(r, "trust_id");
	json_t *t = trust_for_member(r, "identity:delete_trust", &rc);
	if (!t)
		return rc;
	json_decref(t);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	if ((rc = db_exec(ident_db(r), "DELETE FROM trust_role WHERE trust_id = ?", DB_TEXT(id))) < 0 ||
	    (rc = db_exec(ident_db(r), "DELETE FROM trust WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "trust");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static json_t *list_render(struct http_req *r, const struct db_rows *rows, int i)
{
	return trust_render(r, rows, i);
}

static int h_list_trusts(struct http_req *r)
{
	const char *trustor = http_query(r, "trustor_user_id");
	const char *trustee = http_query(r, "trustee_user_id");
	int rc;
	if (trustor && *trustor)
		rc = ident_enforce_steal(r, "identity:list_trusts_for_trustor",
					 ident_target("target.trust.trustor_user_id", trustor, NULL));
	else if (trustee && *trustee)
		rc = ident_enforce_steal(r, "identity:list_trusts_for_trustee",
					 ident_target("target.trust.trustee_user_id", trustee, NULL));
	else
		rc = ident_enforce(r, "identity:list_trusts", NULL);
	if (rc < 0 || (rc = not_delegated(r)) < 0)
		return rc;
	struct ident_sql q;
	/* As Keystone lists them: expired and used-up trusts included (deleted ones are gone). */
	ident_sql_init(&q, r->arena, "SELECT " TRUST_COLS " FROM trust WHERE 1 = 1");
	if (trustor && *trustor)
		ident_sql_eq(&q, "trustor_user_id", trustor);
	else if (trustee && *trustee)
		ident_sql_eq(&q, "trustee_user_id", trustee);
	ident_sql_text(&q, " ORDER BY id");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "trust");
	return ident_reply_rows(r, "trusts", rows, list_render);
}

/* --- POST --- */

struct trust_in {
	const char *trustor, *trustee, *project, *expires_str;
	bool impersonation;
	bool has_uses;
	int64_t uses, expires;
	json_t *role_ids;                 /* normalised: array of ids */
};

static int invalid(struct http_req *r, const char *field, const char *why)
{
	return http_error(r, ERR_BADREQ, "Invalid input for field '%s': %s", field, why);
}

/* An optional integer field that may be null, at least min. */
static int int_field(struct http_req *r, const json_t *b, const char *key, int64_t min, bool *has,
		     int64_t *out)
{
	json_t *v = json_object_get(b, key);
	*has = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': %s is not of type "
				  "'integer', 'null'", key, ident_json_text(r, v));
	if (json_integer_value(v) < min)
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': %lld is less than the "
				  "minimum of %lld", key, (long long)json_integer_value(v), (long long)min);
	*has = true;
	*out = json_integer_value(v);
	return 0;
}

static int validate(struct http_req *r, const json_t *b, struct trust_in *in)
{
	int rc;
	bool has_count;
	int64_t count = 0;
	json_t *ar = json_object_get(b, "allow_redelegation");
	if (!json_object_get(b, "impersonation"))
		return invalid(r, "trust", "'impersonation' is a required property");
	if ((rc = ident_str(r, b, "trustor_user_id", true, false, 255, &in->trustor)) < 0 ||
	    (rc = ident_str(r, b, "trustee_user_id", true, false, 255, &in->trustee)) < 0 ||
	    (rc = ident_bool(r, b, "impersonation", &in->impersonation, NULL)) < 0 ||
	    (rc = ident_id_field(r, b, "project_id", true, &in->project)) < 0 ||
	    (rc = ident_str(r, b, "expires_at", false, true, 64, &in->expires_str)) < 0 ||
	    (rc = int_field(r, b, "remaining_uses", 1, &in->has_uses, &in->uses)) < 0 ||
	    (rc = int_field(r, b, "redelegation_count", 0, &has_count, &count)) < 0)
		return rc;
	if (ar && !json_is_boolean(ar) && !json_is_null(ar))
		return invalid(r, "allow_redelegation", "value is not of type 'boolean', 'null'");
	json_t *roles = json_object_get(b, "roles");
	if (roles && !json_is_array(roles))
		return invalid(r, "roles", "value is not of type 'array'");
	size_t i;
	json_t *v;
	json_array_foreach(roles, i, v) {
		const char *rid = json_string_value(json_object_get(v, "id"));
		const char *rname = json_string_value(json_object_get(v, "name"));
		if (!json_is_object(v) || json_object_size(v) != 1 || (!rid && !rname) ||
		    (rid && !ident_id_ok(rid)) || (rname && (!*rname || strlen(rname) > IDENT_NAME_MAX)))
			return invalid(r, "roles", "each role is an object with exactly one of 'id' or 'name'");
	}
	if (json_is_true(ar) && !(has_count && count == 0))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "Redelegation of trusts is disabled.");
	return 0;
}

/* Roles by id or (global) name, as a new array of ids; NULL with 404 recorded. */
static json_t *normalize_roles(struct http_req *r, const json_t *roles)
{
	json_t *ids = json_array(), *v;
	size_t i;
	json_array_foreach(roles, i, v) {
		const char *rid = json_string_value(json_object_get(v, "id"));
		if (!rid) {
			const char *name = json_string_value(json_object_get(v, "name"));
			struct db_rows *rows;
			int rc = db_query(ident_db(r), &rows, "SELECT id FROM role WHERE name = ? AND domain_id = ''",
					  DB_TEXT(name));
			if (rc < 0) {
				json_decref(ids);
				ident_db_error(r, rc, "role");
				return NULL;
			}
			if (db_rows_count(rows) != 1) {
				db_rows_free(rows);
				json_decref(ids);
				ident_not_found(r, "role", name);
				return NULL;
			}
			rid = arena_strdup(r->arena, db_text(rows, 0, 0));
			db_rows_free(rows);
		}
		if (!ident_array_has(ids, rid))
			json_array_append_new(ids, json_string(rid));
	}
	return ids;
}

/* Every delegated role must be one the trustor effectively has on the project. */
static int trustor_has_roles(struct http_req *r, const struct trust_in *in)
{
	json_t *have = json_array();
	if (in->project) {
		json_t *p = ident_project_load(r, in->project);
		if (!p) {
			json_decref(have);
			return r->err;
		}
		json_decref(p);
		json_decref(have);
		if (!(have = ident_effective_roles(ident_db(r), in->trustor, "project", in->project)))
			return ident_internal(r);
	}
	size_t i;
	json_t *v;
	json_array_foreach(in->role_ids, i, v) {
		if (!ident_roles_have(have, json_string_value(v))) {
			json_decref(have);
			return ident_not_found(r, "role", json_string_value(v));
		}
	}
	json_decref(have);
	return 0;
}

static int h_create_trust(struct http_req *r)
{
	json_t *b = ident_body_opt(r, "trust");
	if (!b)
		return r->err;
	struct trust_in in;
	memset(&in, 0, sizeof in);
	int rc;
	const char *trustor = json_string_value(json_object_get(b, "trustor_user_id"));
	if ((rc = ident_enforce_steal(r, "identity:create_trust",
				      trustor ? ident_target("target.trust.trustor_user_id", trustor, NULL)
					      : NULL)) < 0)
		return rc;
	if ((rc = validate(r, b, &in)) < 0 || (rc = not_delegated(r)) < 0)
		return rc;
	if (trust_scoped_caller(r))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "Redelegation of trusts is disabled.");
	json_t *roles = json_object_get(b, "roles");
	if (in.project && !json_array_size(roles))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "At least one role should be specified.");
	if (strcmp(r->auth->user_id, in.trustor))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "The authenticated user should match the trustor.");
	json_t *trustee = ident_user_load(r, in.trustee);
	if (!trustee)
		return r->err;
	json_decref(trustee);
	if (!(in.role_ids = normalize_roles(r, roles)))
		return r->err;
	arena_defer(r->arena, json_decref_void, in.role_ids);
	if ((rc = trustor_has_roles(r, &in)) < 0)
		return rc;
	if (in.expires_str) {
		if (time_parse(in.expires_str, &in.expires) < 0)
			return http_error(r, ERR_BADREQ, "Timestamp not in expected format. The server could "
					  "not comply with the request since it is either malformed or otherwise "
					  "incorrect. The client is assumed to be in error.");
		if (in.expires <= time_now_us())
			return http_error(r, ERR_BADREQ, "The 'expires_at' must not be before now. The server "
					  "could not comply with the request since it is either malformed or "
					  "otherwise incorrect. The client is assumed to be in error.");
	}
	char id[33];
	uuid_hex(id);
	const char *extra = ident_extra_new(r, b, trust_known);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO trust (id, trustor_user_id, trustee_user_id, project_id,"
		     " impersonation, expires_at, remaining_uses, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(in.trustor), DB_TEXT(in.trustee), DB_TEXT(in.project),
		     DB_BOOL(in.impersonation), in.expires_str ? DB_INT(in.expires) : DB_NULL,
		     in.has_uses ? DB_INT(in.uses) : DB_NULL, DB_TEXT(extra));
	size_t i;
	json_t *v;
	json_array_foreach(in.role_ids, i, v) {
		if (rc < 0)
			break;
		rc = db_exec(ident_db(r), "INSERT INTO trust_role (trust_id, role_id) VALUES (?, ?)",
			     DB_TEXT(id), DB_TEXT(json_string_value(v)));
	}
	if (rc < 0)
		return ident_db_error(r, rc, "trust");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *t = trust_load(r, id);
	return t ? ident_reply_one(r, 201, "trust", t) : r->err;
}

const struct route ident_routes_trusts[] = {
	{ "POST", "/v3/OS-TRUST/trusts", h_create_trust, NULL, 0 },
	{ "GET", "/v3/OS-TRUST/trusts", h_list_trusts, NULL, 0 },
	{ "GET", "/v3/OS-TRUST/trusts/{trust_id}", h_get_trust, NULL, 0 },
	{ "DELETE", "/v3/OS-TRUST/trusts/{trust_id}", h_delete_trust, NULL, 0 },
	{ "GET", "/v3/OS-TRUST/trusts/{trust_id}/roles", h_trust_roles, NULL, 0 },
	{ "GET", "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}", h_trust_role, NULL, 0 },
	{ "HEAD", "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}", h_trust_role, NULL, 0 },
	{ 0 },
};
