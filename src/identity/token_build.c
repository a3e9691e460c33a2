/* token_build.c — turns a decrypted payload into a validated caller: checks revocation and the
 * current state of the user, the scope, the roles, the application credential and the trust,
 * then renders the token body as Keystone does. */
#include "identity/token.h"
#include <string.h>

struct who {
	const char *name, *domain_id, *domain_name;
	bool enabled;
	int64_t password_expires_at;
};

static const char *adup(struct arena *a, const struct db_rows *rows, int col)
{
	return arena_strdup(a, db_text(rows, 0, col));
}

static int fail(char *msg, size_t msglen, const char *text)
{
	snprintf(msg, msglen, "%s", text);
	return ERR_NOTFOUND;
}

/* Application credential still there and unexpired; restrict roles to its roles. */
static int apply_app_cred(struct db_conn *c, const struct token_payload *p, json_t *roles,
			  json_t **appcred_json, char *msg, size_t msglen)
{
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT name, expires_at, unrestricted, user_id FROM application_credential"
		     " WHERE id = ?", DB_TEXT(p->app_cred_id)) < 0)
		return fail(msg, msglen, "Failed to validate token");
	if (!db_rows_count(rows) || strcmp(db_text(rows, 0, 3), p->user_id) ||
	    (!db_isnull(rows, 0, 1) && db_int(rows, 0, 1) <= time_now_us())) {
		db_rows_free(rows);
		return fail(msg, msglen, "Failed to validate token");
	}
	*appcred_json = json_pack("{s:s,s:s,s:b}", "id", p->app_cred_id, "name", db_text(rows, 0, 0),
				  "restricted", !db_bool(rows, 0, 2));
	db_rows_free(rows);
	struct db_rows *rr;
	if (db_query(c, &rr, "SELECT role_id FROM application_credential_role"
		     " WHERE application_credential_id = ?", DB_TEXT(p->app_cred_id)) < 0)
		return fail(msg, msglen, "Failed to validate token");
	json_t *allowed = json_array();
	for (int i = 0; i < db_rows_count(rr); i++)
		json_array_append_new(allowed, json_string(db_text(rr, i, 0)));
	db_rows_free(rr);
	ident_expand_implied(c, allowed);
	for (size_t i = json_array_size(roles); i-- > 0;) {
		const char *rid = json_string_value(json_object_get(json_array_get(roles, i), "id"));
		if (!ident_array_has(allowed, rid))
			json_array_remove(roles, i);
	}
	json_decref(allowed);
	return 0;
}

struct trust_info {
	char trustor[IDENT_ID_MAX + 1];
	bool impersonation;
	json_t *role_ids;                 /* the trust's roles with the roles they imply */
};

/* A trust-scoped token: its trust still there and unexpired (uses left do not matter once a
 * token is issued), the token's user its trustee, its project the trust's. */
static int load_trust(struct db_conn *c, const struct token_payload *p, struct trust_info *t,
		      char *msg, size_t msglen)
{
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT trustor_user_id, trustee_user_id, project_id, impersonation, expires_at"
		     " FROM trust WHERE id = ?", DB_TEXT(p->trust_id)) < 0)
		return fail(msg, msglen, "Failed to validate token");
	bool ok = db_rows_count(rows) == 1 && p->scope == SCOPE_PROJECT &&
		  !strcmp(db_text(rows, 0, 1), p->user_id) && db_text(rows, 0, 2) &&
		  !strcmp(db_text(rows, 0, 2), p->scope_id) &&
		  (db_isnull(rows, 0, 4) || db_int(rows, 0, 4) > time_now_us());
	if (ok) {
		snprintf(t->trustor, sizeof t->trustor, "%s", db_text(rows, 0, 0));
		t->impersonation = db_bool(rows, 0, 3);
	}
	db_rows_free(rows);
	if (!ok)
		return fail(msg, msglen, "Failed to validate token");
	if (db_query(c, &rows, "SELECT role_id FROM trust_role WHERE trust_id = ?", DB_TEXT(p->trust_id)) < 0)
		return fail(msg, msglen, "Failed to validate token");
	t->role_ids = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(t->role_ids, json_string(db_text(rows, i, 0)));
	db_rows_free(rows);
	ident_expand_implied(c, t->role_ids);
	/* The trustee must still be enabled too (the trustor is checked as the token's user or
	 * below). */
	if (db_query(c, &rows, "SELECT u.enabled, d.enabled FROM users u JOIN domain d ON d.id = u.domain_id"
		     " WHERE u.id = ? OR u.id = ?", DB_TEXT(p->user_id), DB_TEXT(t->trustor)) < 0)
		return fail(msg, msglen, "Failed to validate token");
	ok = db_rows_count(rows) == (strcmp(p->user_id, t->trustor) ? 2 : 1);
	for (int i = 0; i < db_rows_count(rows); i++)
		ok = ok && db_bool(rows, i, 0) && db_bool(rows, i, 1);
	db_rows_free(rows);
	return ok ? 0 : fail(msg, msglen, "Failed to validate token");
}

/* Keeps the trustor's roles that the trust delegates; every delegated role must still be held
 * (Keystone: "Trustee has no delegated roles."). Domain-specific roles are left out. */
static int trust_roles(json_t *roles, const struct trust_info *t, char *msg, size_t msglen)
{
	size_t i;
	json_t *v;
	json_array_foreach(t->role_ids, i, v)
		if (!ident_roles_have(roles, json_string_value(v)))
			return fail(msg, msglen, "Trustee has no delegated roles.");
	for (size_t k = json_array_size(roles); k-- > 0;) {
		json_t *ro = json_array_get(roles, k);
		if (!ident_array_has(t->role_ids, json_string_value(json_object_get(ro, "id"))) ||
		    json_is_string(json_object_get(ro, "domain_id")))
			json_array_remove(roles, k);
	}
	return 0;
}

int token_build(struct identity *id, struct db_conn *c, struct arena *a, const char *token,
		const struct token_payload *p, struct auth_ctx **out, char *msg, size_t msglen)
{
	struct db_rows *rows;
	struct auth_ctx *ctx = arena_alloc(a, sizeof *ctx);
	struct trust_info trust = { .role_ids = NULL };
	int rc;
	if (p->trust_id[0]) {
		rc = load_trust(c, p, &trust, msg, msglen);
		if (trust.role_ids)
			arena_defer(a, json_decref_void, trust.role_ids);
		if (rc < 0)
			return rc;
	}
	/* An impersonating trust token shows (and acts as) the trustor. */
	const char *user_id = trust.role_ids && trust.impersonation ? trust.trustor : p->user_id;
	ctx->token = arena_strdup(a, token);
	ctx->user_id = arena_strdup(a, user_id);

	if (db_query(c, &rows, "SELECT u.name, u.domain_id, d.name, u.enabled, d.enabled,"
		     " u.password_expires_at FROM users u JOIN domain d ON d.id = u.domain_id WHERE u.id = ?",
		     DB_TEXT(user_id)) < 0)
		return fail(msg, msglen, "Failed to validate token");
	if (!db_rows_count(rows) || !db_bool(rows, 0, 3) || !db_bool(rows, 0, 4)) {
		db_rows_free(rows);
		return fail(msg, msglen, "Failed to validate token");
	}
	ctx->user_name = adup(a, rows, 0);
	ctx->user_domain_id = adup(a, rows, 1);
	ctx->user_domain_name = adup(a, rows, 2);
	int64_t pw_expires = db_isnull(rows, 0, 5) ? 0 : db_int(rows, 0, 5);
	db_rows_free(rows);

	json_t *roles = NULL;
	if (p->scope == SCOPE_PROJECT) {
		if (db_query(c, &rows, "SELECT p.name, p.domain_id, d.name, p.enabled, d.enabled FROM project p"
			     " JOIN domain d ON d.id = p.domain_id WHERE p.id = ?", DB_TEXT(p->scope_id)) < 0)
			return fail(msg, msglen, "Failed to validate token");
		if (!db_rows_count(rows) || !db_bool(rows, 0, 3) || !db_bool(rows, 0, 4)) {
			db_rows_free(rows);
			return fail(msg, msglen, "Failed to validate token");
		}
		ctx->project_id = arena_strdup(a, p->scope_id);
		ctx->project_name = adup(a, rows, 0);
		ctx->project_domain_id = adup(a, rows, 1);
		ctx->project_domain_name = adup(a, rows, 2);
		db_rows_free(rows);
		roles = ident_effective_roles(c, trust.role_ids ? trust.trustor : p->user_id, "project",
					      p->scope_id);
		if (roles && trust.role_ids && (rc = trust_roles(roles, &trust, msg, msglen)) < 0) {
			json_decref(roles);
			return rc;
		}
	} else if (p->scope == SCOPE_DOMAIN) {
		if (db_query(c, &rows, "SELECT name, enabled FROM domain WHERE id = ?", DB_TEXT(p->scope_id)) < 0)
			return fail(msg, msglen, "Failed to validate token");
		if (!db_rows_count(rows) || !db_bool(rows, 0, 1)) {
			db_rows_free(rows);
			return fail(msg, msglen, "Failed to validate token");
		}
		ctx->domain_id = arena_strdup(a, p->scope_id);
		ctx->domain_name = adup(a, rows, 0);
		db_rows_free(rows);
		roles = ident_effective_roles(c, p->user_id, "domain", p->scope_id);
	} else if (p->scope == SCOPE_SYSTEM) {
		ctx->system_scoped = true;
		roles = ident_effective_roles(c, p->user_id, "system", "all");
	} else {
		roles = json_array();
	}
	if (!roles)
		return fail(msg, msglen, "Failed to validate token");

	if (token_revoked(id, c, p, ctx->user_domain_id, ctx->project_domain_id)) {
		json_decref(roles);
		return fail(msg, msglen, "Failed to validate token");
	}
	json_t *appcred = NULL;
	if (p->app_cred_id[0] && apply_app_cred(c, p, roles, &appcred, msg, msglen) < 0) {
		json_decref(roles);
		return ERR_NOTFOUND;
	}
	if (p->scope != SCOPE_NONE && json_array_size(roles) == 0) {
		json_decref(roles);
		json_decref(appcred);
		return fail(msg, msglen, "Failed to validate token");
	}

	/* Context. */
	size_t nr = json_array_size(roles);
	const char **ids = arena_alloc(a, (nr + 1) * sizeof *ids);
	const char **names = arena_alloc(a, (nr + 1) * sizeof *names);
	json_t *role_list = json_array();
	for (size_t i = 0; i < nr; i++) {
		json_t *ro = json_array_get(roles, i);
		ids[i] = arena_strdup(a, json_string_value(json_object_get(ro, "id")));
		names[i] = arena_strdup(a, json_string_value(json_object_get(ro, "name")));
		json_array_append_new(role_list, json_pack("{s:s,s:s}", "id", ids[i], "name", names[i]));
	}
	json_decref(roles);
	ctx->nroles = (int)nr;
	ctx->role_ids = ids;
	ctx->role_names = names;
	ctx->audit_id = arena_strdup(a, p->audit_id);
	ctx->audit_chain_id = p->audit_chain_id[0] ? arena_strdup(a, p->audit_chain_id) : NULL;
	ctx->app_cred_id = p->app_cred_id[0] ? arena_strdup(a, p->app_cred_id) : NULL;
	ctx->methods = p->methods;
	ctx->issued_at = p->issued_at;
	ctx->expires_at = p->expires_at;
	auth_ctx_finish(ctx);

	/* Body. */
	char ts[40];
	json_t *t = json_object();
	json_t *methods = json_array();
	if (p->methods & AUTH_TOKEN)
		json_array_append_new(methods, json_string("token"));
	if (p->methods & AUTH_PASSWORD)
		json_array_append_new(methods, json_string("password"));
	if (p->methods & AUTH_APP_CRED)
		json_array_append_new(methods, json_string("application_credential"));
	json_object_set_new(t, "methods", methods);
	json_t *pwexp = json_null();
	if (pw_expires) {
		time_format(pw_expires, 6, false, ts);
		pwexp = json_string(ts);
	}
	json_object_set_new(t, "user", json_pack("{s:{s:s,s:s},s:s,s:s,s:o}",
		"domain", "id", ctx->user_domain_id, "name", ctx->user_domain_name,
		"id", ctx->user_id, "name", ctx->user_name, "password_expires_at", pwexp));
	json_t *audit = json_pack("[s]", ctx->audit_id);
	if (ctx->audit_chain_id)
		json_array_append_new(audit, json_string(ctx->audit_chain_id));
	json_object_set_new(t, "audit_ids", audit);
	time_format(p->expires_at, 6, true, ts);
	json_object_set_new(t, "expires_at", json_string(ts));
	time_format(p->issued_at, 6, true, ts);
	json_object_set_new(t, "issued_at", json_string(ts));
	if (p->scope == SCOPE_PROJECT) {
		json_object_set_new(t, "project", json_pack("{s:{s:s,s:s},s:s,s:s}",
			"domain", "id", ctx->project_domain_id, "name", ctx->project_domain_name,
			"id", ctx->project_id, "name", ctx->project_name));
		json_object_set_new(t, "is_domain", json_false());
	} else if (p->scope == SCOPE_DOMAIN) {
		json_object_set_new(t, "domain", json_pack("{s:s,s:s}", "id", ctx->domain_id,
							   "name", ctx->domain_name));
	} else if (p->scope == SCOPE_SYSTEM) {
		json_object_set_new(t, "system", json_pack("{s:b}", "all", 1));
	}
	if (p->scope != SCOPE_NONE)
		json_object_set_new(t, "roles", role_list);
	else
		json_decref(role_list);
	if (appcred)
		json_object_set_new(t, "application_credential", appcred);
	if (trust.role_ids) {
		json_object_set_new(t, "OS-TRUST:trust", json_pack("{s:s,s:b,s:{s:s},s:{s:s}}",
			"id", p->trust_id, "impersonation", trust.impersonation,
			"trustee_user", "id", p->user_id, "trustor_user", "id", trust.trustor));
	}
	ctx->token_body = json_pack("{s:o}", "token", t);
	*out = ctx;
	return 0;
}
