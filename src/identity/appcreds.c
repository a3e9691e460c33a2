/* appcreds.c — Keystone v3 application credentials under /v3/users/{user_id}: created by
 * their own user from a project-scoped token, limited to (a subset of) that token's roles,
 * with a generated secret shown once and stored only as a hash. Access rules are not offered. */
#include "identity/ident.h"
#include <stdlib.h>
#include <string.h>

#define SECRET_BYTES 64
#define SECRET_MAX 4096
#define MAX_ROLES 64
#define APPCRED_COLS "id, name, user_id, project_id, description, expires_at, unrestricted"

static json_t *appcred_roles(struct http_req *r, const char *id)
{
	struct db_rows *rows;
	json_t *roles = json_array();
	if (db_query(ident_db(r), &rows, "SELECT x.role_id, r.name, r.domain_id, r.description, r.options"
		     " FROM application_credential_role x JOIN role r ON r.id = x.role_id"
		     " WHERE x.application_credential_id = ?", DB_TEXT(id)) < 0)
		return roles;
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *dom = db_text(rows, i, 2), *desc = db_text(rows, i, 3);
		json_array_append_new(roles, json_pack("{s:s,s:s,s:o,s:o,s:o}", "id", db_text(rows, i, 0),
						       "name", db_text(rows, i, 1),
						       "domain_id", dom && *dom ? json_string(dom) : json_null(),
						       "description", desc ? json_string(desc) : json_null(),
						       "options", ident_object_parse(db_text(rows, i, 4))));
	}
	db_rows_free(rows);
	return roles;
}

static json_t *appcred_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0), *user_id = db_text(rows, i, 2);
	const char *desc = db_text(rows, i, 4);
	const char *exp = db_isnull(rows, i, 5) ? NULL : ident_time(r, db_int(rows, i, 5));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:n,s:b}", "id", id, "name", db_text(rows, i, 1),
			      "user_id", user_id, "project_id", db_text(rows, i, 3), "system",
			      "unrestricted", db_bool(rows, i, 6));
	json_object_set_new(o, "description", desc ? json_string(desc) : json_null());
	json_object_set_new(o, "expires_at", exp ? json_string(exp) : json_null());
	json_object_set_new(o, "roles", appcred_roles(r, id));
	json_object_set_new(o, "links", ident_links(r, "/v3/users/%s/application_credentials/%s", user_id, id));
	return o;
}

static const struct ident_kind appcred_kind = {
	"Application Credential", "SELECT " APPCRED_COLS " FROM application_credential WHERE id = ?",
	appcred_render,
};

/* The rendered credential, *out NULL when absent; or a database error recorded in r. */
static int appcred_get(struct http_req *r, const char *id, json_t **out)
{
	int rc = ident_get_row(r, &appcred_kind, id, out);
	return rc < 0 ? ident_db_error(r, rc, "application_credential") : 0;
}

/* Keystone: a token from a restricted application credential cannot manage others. */
static int check_unrestricted(struct http_req *r)
{
	if (!r->auth->app_cred_id)
		return 0;
	struct db_rows *rows;
	int rc = db_query(ident_db(r), &rows, "SELECT unrestricted FROM application_credential WHERE id = ?",
			  DB_TEXT(r->auth->app_cred_id));
	if (rc < 0)
		return ident_db_error(r, rc, "application_credential");
	bool ok = db_rows_count(rows) && db_bool(rows, 0, 0);
	db_rows_free(rows);
	if (!ok)
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "Using method 'application_credential' is not allowed for managing additional "
				  "application credentials.");
	return 0;
}

static int h_list_appcreds(struct http_req *r)
{
	const char *user_id = http_param(r, "user_id");
	int rc;
	if ((rc = ident_enforce_steal(r, "identity:list_application_credentials",
				      ident_target("user_id", user_id, NULL))) < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " APPCRED_COLS " FROM application_credential WHERE user_id = ?");
	ident_sql_arg(&q, DB_TEXT(user_id));
	ident_sql_filter(&q, r, "name", "name");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "application_credential");
	return ident_reply_rows(r, "application_credentials", rows, appcred_render);
}

/* GET and DELETE check the owner recorded on the credential, not the one in the path (else
 * anyone could name their own id in the path and reach another user's credential). */
static int load_and_enforce(struct http_req *r, const char *rule, json_t **out)
{
	const char *path_user = http_param(r, "user_id"), *id = http_param(r, "application_credential_id");
	int rc = appcred_get(r, id, out);
	if (rc < 0)
		return rc;
	const char *owner = json_string_value(json_object_get(*out, "user_id"));
	json_t *t = ident_target("user_id", owner ? owner : path_user, "target.user_id", owner, NULL);
	if ((rc = ident_enforce_steal(r, rule, t)) < 0 || !*out) {
		json_decref(*out);
		*out = NULL;
		return rc < 0 ? rc : ident_not_found(r, "Application Credential", id);
	}
	return 0;
}

static int h_get_appcred(struct http_req *r)
{
	json_t *o;
	int rc = load_and_enforce(r, "identity:get_application_credential", &o);
	return rc < 0 ? rc : ident_reply_one(r, 200, "application_credential", o);
}

static int h_delete_appcred(struct http_req *r)
{
	json_t *o;
	int rc = load_and_enforce(r, "identity:delete_application_credential", &o);
	if (rc < 0)
		return rc;
	json_decref(o);
	if ((rc = check_unrestricted(r)) < 0)
		return rc;
	const char *id = http_param(r, "application_credential_id");
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	rc = db_exec(c, "DELETE FROM application_credential_role WHERE application_credential_id = ?", DB_TEXT(id));
	if (rc >= 0)
		rc = db_exec(c, "DELETE FROM application_credential WHERE id = ?", DB_TEXT(id));
	if (rc >= 0)
		rc = ident_revoke_app_cred(c, id);
	if (rc < 0)
		return ident_db_error(r, rc, "application_credential");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* ---- create ---- */

static int invalid_appcred(struct http_req *r, const char *detail)
{
	return http_error(r, ERR_BADREQ, "Invalid application credential: %s", detail);
}

static bool token_has_role(const struct auth_ctx *a, const char *role_id)
{
	for (int i = 0; i < a->nroles; i++)
		if (!strcmp(a->role_ids[i], role_id))
			return true;
	return false;
}

static void add_unique(json_t *ids, const char *id)
{
	if (!ident_array_has(ids, id))
		json_array_append_new(ids, json_string(id));
}

/* The role ids requested (by id or global role name), each among the token's roles; or all the
 * token's roles when none are named. Appends to ids. */
static int requested_roles(struct http_req *r, const json_t *roles, json_t *ids)
{
	if (roles && !json_is_array(roles))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'roles': value is not of type 'array'.");
	if (json_array_size(roles) > MAX_ROLES)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'roles': more than %d roles.", MAX_ROLES);
	if (!json_array_size(roles)) {
		for (int i = 0; i < r->auth->nroles; i++)
			add_unique(ids, r->auth->role_ids[i]);
		return 0;
	}
	size_t i;
	json_t *role;
	json_array_foreach(roles, i, role) {
		const char *rid = json_string_value(json_object_get(role, "id"));
		const char *rname = json_string_value(json_object_get(role, "name"));
		if (!json_is_object(role) || json_object_size(role) != 1 || (!rid && !rname) ||
		    (rid && !ident_id_ok(rid)) || (rname && (!*rname || strlen(rname) > IDENT_NAME_MAX)))
			return http_error(r, ERR_BADREQ, "Invalid input for field 'roles/%zu': a role is "
					  "{\"id\": ...} or {\"name\": ...}.", i);
		if (!rid) {
			struct db_rows *rows;
			int rc = db_query(ident_db(r), &rows, "SELECT id FROM role WHERE name = ? AND domain_id = ''",
					  DB_TEXT(rname));
			if (rc < 0)
				return ident_db_error(r, rc, "application_credential");
			rid = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
			db_rows_free(rows);
			if (!rid)
				return http_error(r, ERR_NOTFOUND, "Role %s is not defined", rname);
		}
		/* No escalation: only roles the creating token carries. */
		if (!token_has_role(r->auth, rid))
			return invalid_appcred(r, "Cannot create an application credential with unassigned role");
		add_unique(ids, rid);
	}
	return 0;
}

/* Every role must still be an effective role of the user on the project. */
static int roles_still_assigned(struct http_req *r, const char *user_id, const char *project_id,
				const json_t *ids)
{
	json_t *eff = ident_effective_roles(ident_db(r), user_id, "project", project_id);
	if (!eff)
		return ident_db_error(r, ERR_INTERNAL, "application_credential");
	int rc = 0;
	size_t i, j;
	json_t *id, *e;
	json_array_foreach(ids, i, id) {
		bool have = false;
		json_array_foreach(eff, j, e) {
			const char *eid = json_string_value(json_object_get(e, "id"));
			if (eid && !strcmp(eid, json_string_value(id)))
				have = true;
		}
		if (!have) {
			rc = http_error(r, ERR_BADREQ, "Invalid application credential: Could not find role "
					"assignment with role: %s, user or group: %s, project, domain, or system: %s.",
					json_string_value(id), user_id, project_id);
			break;
		}
	}
	json_decref(eff);
	return rc;
}

struct appcred_input {
	const char *name, *description, *secret, *expires_at;
	bool unrestricted;
	int64_t expires;
};

static int check_appcred_body(struct http_req *r, const json_t *b, struct appcred_input *in)
{
	int rc;
	memset(in, 0, sizeof *in);
	if ((rc = ident_name(r, b, "name", true, &in->name)) < 0 ||
	    (rc = ident_str(r, b, "description", false, true, 0, &in->description)) < 0 ||
	    (rc = ident_str(r, b, "secret", false, true, SECRET_MAX, &in->secret)) < 0 ||
	    (rc = ident_str(r, b, "expires_at", false, true, 64, &in->expires_at)) < 0 ||
	    (rc = ident_bool(r, b, "unrestricted", &in->unrestricted, NULL)) < 0)
		return rc;
	json_t *rules = json_object_get(b, "access_rules");
	if (rules && !json_is_array(rules))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'access_rules': value is not of type 'array'.");
	if (json_array_size(rules))
		return invalid_appcred(r, "access rules are not supported by this cloud");
	if (in->expires_at && *in->expires_at) {
		if (time_parse(in->expires_at, &in->expires) < 0)
			return http_error(r, ERR_BADREQ, "Timestamp not in expected format. The server could "
					  "not comply with the request since it is either malformed or otherwise "
					  "incorrect. The client is assumed to be in error.");
		if (in->expires <= time_now_us())
			return http_error(r, ERR_BADREQ, "The 'expires_at' must not be before now. The server "
					  "could not comply with the request since it is either malformed or "
					  "otherwise incorrect. The client is assumed to be in error.");
	}
	return 0;
}

static int h_create_appcred(struct http_req *r)
{
	const char *user_id = http_param(r, "user_id");
	json_t *b = ident_body(r, "application_credential");
	if (!b)
		return r->err;
	int rc;
	if ((rc = ident_enforce_steal(r, "identity:create_application_credential",
				      ident_target("user_id", user_id, NULL))) < 0)
		return rc;
	struct appcred_input in;
	if ((rc = check_appcred_body(r, b, &in)) < 0 || (rc = check_unrestricted(r)) < 0)
		return rc;
	if (strcmp(r->auth->user_id, user_id))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "Cannot create an application credential for another user.");
	const char *project_id = r->auth->project_id;
	if (!project_id)
		return invalid_appcred(r, "a project-scoped token is required to create an application credential");
	json_t *ids = json_array();
	if ((rc = requested_roles(r, json_object_get(b, "roles"), ids)) < 0 ||
	    (rc = roles_still_assigned(r, user_id, project_id, ids)) < 0) {
		json_decref(ids);
		return rc;
	}
	arena_defer(r->arena, json_decref_void, ids);

	const char *secret = in.secret;
	if (!secret || !*secret) {
		unsigned char raw[SECRET_BYTES];
		char *enc = arena_alloc(r->arena, 4 * ((SECRET_BYTES + 2) / 3) + 1);
		util_random(raw, sizeof raw);
		b64url_encode(raw, sizeof raw, enc);
		explicit_bzero(raw, sizeof raw);
		secret = enc;
	}
	char *h = ident_password_hash(secret);          /* slow: before the transaction */
	if (!h)
		return ident_internal(r);
	const char *hash = arena_strdup(r->arena, h);
	free(h);

	char id[33];
	uuid_hex(id);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	rc = db_exec(c, "INSERT INTO application_credential (id, name, user_id, project_id, secret_hash,"
		     " description, expires_at, unrestricted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(in.name), DB_TEXT(user_id), DB_TEXT(project_id), DB_TEXT(hash),
		     DB_TEXT(in.description), in.expires ? DB_INT(in.expires) : DB_NULL,
		     DB_BOOL(in.unrestricted), DB_INT(time_now_us()));
	if (rc < 0)
		return ident_name_conflict(r, rc, "application_credential", in.name, NULL);
	size_t i;
	json_t *rid;
	json_array_foreach(ids, i, rid) {
		if (rc < 0)
			break;
		rc = db_exec(c, "INSERT INTO application_credential_role (application_credential_id, role_id)"
			     " VALUES (?, ?)", DB_TEXT(id), DB_TEXT(json_string_value(rid)));
	}
	if (rc < 0)
		return ident_db_error(r, rc, "application_credential");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *o;
	if ((rc = appcred_get(r, id, &o)) < 0)
		return rc;
	if (!o)
		return ident_not_found(r, "Application Credential", id);
	json_object_set_new(o, "secret", json_string(secret));   /* shown this once only */
	return ident_reply_one(r, 201, "application_credential", o);
}

const struct route ident_routes_appcreds[] = {
	{ "GET", "/v3/users/{user_id}/application_credentials", h_list_appcreds, NULL, 0 },
	{ "POST", "/v3/users/{user_id}/application_credentials", h_create_appcred, NULL, 0 },
	{ "GET", "/v3/users/{user_id}/application_credentials/{application_credential_id}", h_get_appcred, NULL, 0 },
	{ "DELETE", "/v3/users/{user_id}/application_credentials/{application_credential_id}",
	  h_delete_appcred, NULL, 0 },
	{ 0 },
};
