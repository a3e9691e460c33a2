/* authn.c — POST /v3/auth/tokens: the password, token and application_credential methods,
 * scoping (project, domain, system, OS-TRUST:trust, unscoped), lockout of repeated failures,
 * and issuing (a trust with limited uses loses one per token). */
#include "identity/token.h"
#include "core/conf.h"
#include <string.h>

struct authn {
	struct token_payload p;
	json_t *scope;                    /* request's auth.scope, or NULL */
	bool explicit_unscoped;
	bool trust_limited;               /* the trust scoped to has remaining_uses */
};

/* True when a validated token is trust-scoped. */
static bool ctx_trust_scoped(const struct auth_ctx *c)
{
	return json_object_get(json_object_get(c->token_body, "token"), "OS-TRUST:trust") != NULL;
}

static int unauthorized(struct http_req *r)
{
	return http_error(r, ERR_UNAUTH, "The request you have made requires authentication.");
}

static int bad_field(struct http_req *r, const char *field)
{
	return http_error(r, ERR_BADREQ, "Invalid input for field '%s'.", field);
}

/* Resolves {"id"} or {"name"} of a domain to its id. */
static int domain_ref(struct http_req *r, json_t *ref, const char **out)
{
	const char *id = json_string_value(json_object_get(ref, "id"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!json_is_object(ref) || (!id && !name))
		return bad_field(r, "domain");
	struct db_rows *rows;
	int rc = id ? db_query(ident_db(r), &rows, "SELECT id FROM domain WHERE id = ?", DB_TEXT(id))
		    : db_query(ident_db(r), &rows, "SELECT id FROM domain WHERE name = ?", DB_TEXT(name));
	if (rc < 0)
		return ident_db_error(r, rc, "domain");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return unauthorized(r);
	}
	*out = arena_strdup(r->arena, db_text(rows, 0, 0));
	db_rows_free(rows);
	return 0;
}

/* Resolves {"id"} or {"name", "domain"} of a user; 401 when unknown. */
static int user_ref(struct http_req *r, json_t *u, const char **user_id)
{
	if (!json_is_object(u))
		return bad_field(r, "user");
	const char *id = json_string_value(json_object_get(u, "id"));
	const char *name = json_string_value(json_object_get(u, "name"));
	if (id) {
		*user_id = arena_strdup(r->arena, id);
		return 0;
	}
	if (!name)
		return bad_field(r, "user");
	const char *dom;
	json_t *d = json_object_get(u, "domain");
	if (!d)
		return bad_field(r, "domain");
	int rc = domain_ref(r, d, &dom);
	if (rc < 0)
		return rc;
	struct db_rows *rows;
	if ((rc = db_query(ident_db(r), &rows, "SELECT id FROM users WHERE name = ? AND domain_id = ?",
			   DB_TEXT(name), DB_TEXT(dom))) < 0)
		return ident_db_error(r, rc, "user");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return unauthorized(r);
	}
	*user_id = arena_strdup(r->arena, db_text(rows, 0, 0));
	db_rows_free(rows);
	return 0;
}

static int record_failure(struct http_req *r, const char *user_id)
{
	if (ident_begin(r) < 0)
		return ERR_INTERNAL;
	db_exec(ident_db(r), "UPDATE users SET failed_auth_count = failed_auth_count + 1, failed_auth_at = ?"
		" WHERE id = ?", DB_INT(time_now_us()), DB_TEXT(user_id));
	return ident_commit(r);
}

static int method_password(struct http_req *r, json_t *m, struct authn *a)
{
	json_t *u = json_object_get(m, "user");
	const char *pw = json_string_value(json_object_get(u, "password"));
	const char *user_id;
	int rc = user_ref(r, u, &user_id);
	if (rc < 0)
		return rc;
	if (!pw)
		return bad_field(r, "password");
	struct db_rows *rows;
	if ((rc = db_query(ident_db(r), &rows, "SELECT u.enabled, u.password_hash, u.failed_auth_count,"
			   " u.failed_auth_at, u.password_expires_at, u.options, d.enabled FROM users u"
			   " JOIN domain d ON d.id = u.domain_id WHERE u.id = ?", DB_TEXT(user_id))) < 0)
		return ident_db_error(r, rc, "user");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return unauthorized(r);
	}
	bool enabled = db_bool(rows, 0, 0) && db_bool(rows, 0, 6);
	const char *hash = arena_strdup(r->arena, db_text(rows, 0, 1));
	int64_t failures = db_int(rows, 0, 2), failed_at = db_int(rows, 0, 3);
	int64_t expires = db_isnull(rows, 0, 4) ? 0 : db_int(rows, 0, 4);
	json_t *opts = ident_object_parse(db_text(rows, 0, 5));
	db_rows_free(rows);
	bool ignore_lockout = json_is_true(json_object_get(opts, "ignore_lockout_failure_attempts"));
	bool ignore_expiry = json_is_true(json_object_get(opts, "ignore_password_expiry"));
	json_decref(opts);
	int64_t attempts = conf_int("security_compliance", "lockout_failure_attempts");
	int64_t duration = conf_int("security_compliance", "lockout_duration");
	int64_t now = time_now_us();
	if (attempts > 0 && !ignore_lockout && failures >= attempts &&
	    (duration <= 0 || now < failed_at + duration * 1000000))
		return http_error(r, ERR_UNAUTH, "The account is locked for user: %s.", user_id);
	/* The slow part, with no transaction or lock held. */
	if (!ident_password_verify(pw, hash)) {
		if (attempts > 0 && !ignore_lockout) {
			rc = record_failure(r, user_id);
			if (rc < 0)
				return rc;
		}
		return unauthorized(r);
	}
	if (!enabled)
		return http_error(r, ERR_UNAUTH, "The account is disabled for user: %s.", user_id);
	if (expires && !ignore_expiry && expires <= now)
		return http_error(r, ERR_UNAUTH, "The password is expired and needs to be changed for user: %s.", user_id);
	if (failures > 0) {
		if (ident_begin(r) < 0)
			return ERR_INTERNAL;
		db_exec(ident_db(r), "UPDATE users SET failed_auth_count = 0, failed_auth_at = NULL WHERE id = ?",
			DB_TEXT(user_id));
		if ((rc = ident_commit(r)) < 0)
			return rc;
	}
	snprintf(a->p.user_id, sizeof a->p.user_id, "%s", user_id);
	a->p.methods |= AUTH_PASSWORD;
	return 0;
}

static int method_token(struct http_req *r, json_t *m, struct authn *a)
{
	const char *tok = json_string_value(json_object_get(m, "id"));
	if (!tok)
		return bad_field(r, "token");
	const struct auth_ctx *c;
	char msg[256];
	if (auth_validate(r->arena, tok, false, &c, msg, sizeof msg) < 0)
		return http_error(r, ERR_NOTFOUND, "%s", msg);    /* Keystone: TokenNotFound */
	if (c->app_cred_id)
		return http_error(r, ERR_FORBIDDEN, "Application credential tokens cannot be used to obtain other tokens.");
	if (ctx_trust_scoped(c))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "Using trust-scoped token to create another token. Create a new trust-scoped "
				  "token instead.");
	if (c->system_scoped && a->scope && !json_object_get(a->scope, "system"))
		return http_error(r, ERR_FORBIDDEN, "Using a system-scoped token to create a project-scoped or domain-scoped token is not allowed.");
	snprintf(a->p.user_id, sizeof a->p.user_id, "%s", c->user_id);
	a->p.methods |= AUTH_TOKEN | c->methods;
	a->p.expires_at = c->expires_at;
	snprintf(a->p.audit_chain_id, sizeof a->p.audit_chain_id, "%s",
		 c->audit_chain_id ? c->audit_chain_id : c->audit_id);
	/* Rescoping an unscoped request keeps the original scope when none is asked for. */
	if (!a->scope && !a->explicit_unscoped) {
		if (c->project_id) {
			a->p.scope = SCOPE_PROJECT;
			snprintf(a->p.scope_id, sizeof a->p.scope_id, "%s", c->project_id);
		} else if (c->domain_id) {
			a->p.scope = SCOPE_DOMAIN;
			snprintf(a->p.scope_id, sizeof a->p.scope_id, "%s", c->domain_id);
		} else if (c->system_scoped) {
			a->p.scope = SCOPE_SYSTEM;
			snprintf(a->p.scope_id, sizeof a->p.scope_id, "all");
		}
	}
	return 0;
}

static int method_app_cred(struct http_req *r, json_t *m, struct authn *a)
{
	const char *secret = json_string_value(json_object_get(m, "secret"));
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *name = json_string_value(json_object_get(m, "name"));
	if (!secret || (!id && !name))
		return bad_field(r, "application_credential");
	struct db_rows *rows;
	int rc;
	if (id) {
		rc = db_query(ident_db(r), &rows, "SELECT id, user_id, project_id, secret_hash, expires_at"
			      " FROM application_credential WHERE id = ?", DB_TEXT(id));
	} else {
		const char *user_id;
		if ((rc = user_ref(r, json_object_get(m, "user"), &user_id)) < 0)
			return rc;
		rc = db_query(ident_db(r), &rows, "SELECT id, user_id, project_id, secret_hash, expires_at"
			      " FROM application_credential WHERE name = ? AND user_id = ?",
			      DB_TEXT(name), DB_TEXT(user_id));
	}
	if (rc < 0)
		return ident_db_error(r, rc, "application credential");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return unauthorized(r);
	}
	const char *ac_id = arena_strdup(r->arena, db_text(rows, 0, 0));
	const char *user_id = arena_strdup(r->arena, db_text(rows, 0, 1));
	const char *project_id = arena_strdup(r->arena, db_text(rows, 0, 2));
	const char *hash = arena_strdup(r->arena, db_text(rows, 0, 3));
	int64_t expires = db_isnull(rows, 0, 4) ? 0 : db_int(rows, 0, 4);
	db_rows_free(rows);
	if (expires && expires <= time_now_us())
		return unauthorized(r);
	if (!ident_password_verify(secret, hash))
		return unauthorized(r);
	if (a->scope)
		return http_error(r, ERR_UNAUTH, "Application credentials cannot request a scope.");
	snprintf(a->p.user_id, sizeof a->p.user_id, "%s", user_id);
	snprintf(a->p.app_cred_id, sizeof a->p.app_cred_id, "%s", ac_id);
	a->p.scope = SCOPE_PROJECT;
	snprintf(a->p.scope_id, sizeof a->p.scope_id, "%s", project_id);
	a->p.methods |= AUTH_APP_CRED;
	if (expires && (!a->p.expires_at || expires < a->p.expires_at))
		a->p.expires_at = expires;
	return 0;
}

/* Scope to a trust: the authenticating user must be its trustee; the token is scoped to the
 * trust's project. A missing, expired or used-up trust is 401, as Keystone turns TrustNotFound
 * into Unauthorized. */
static int trust_scope(struct http_req *r, struct authn *a, json_t *trust)
{
	const char *id = json_string_value(json_object_get(trust, "id"));
	if (!json_is_object(trust) || !id)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'trust_id'. The value is 'None'.");
	struct db_rows *rows;
	int rc = db_query(ident_db(r), &rows, "SELECT trustee_user_id, project_id, expires_at, remaining_uses"
			  " FROM trust WHERE id = ?", DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "trust");
	bool ok = db_rows_count(rows) == 1 && (db_isnull(rows, 0, 2) || db_int(rows, 0, 2) > time_now_us()) &&
		  (db_isnull(rows, 0, 3) || db_int(rows, 0, 3) > 0) && db_text(rows, 0, 1);
	if (!ok) {
		db_rows_free(rows);
		return http_error(r, ERR_UNAUTH, "Could not find trust: %s.", id);
	}
	bool trustee = !strcmp(db_text(rows, 0, 0), a->p.user_id);
	/* A token does not outlive its trust. */
	if (!db_isnull(rows, 0, 2) && (!a->p.expires_at || db_int(rows, 0, 2) < a->p.expires_at))
		a->p.expires_at = db_int(rows, 0, 2);
	a->trust_limited = !db_isnull(rows, 0, 3);
	a->p.scope = SCOPE_PROJECT;
	snprintf(a->p.scope_id, sizeof a->p.scope_id, "%s", db_text(rows, 0, 1));
	snprintf(a->p.trust_id, sizeof a->p.trust_id, "%s", id);
	db_rows_free(rows);
	if (!trustee)
		return http_error(r, ERR_FORBIDDEN, "User is not a trustee.");
	return 0;
}

/* Takes one use of a limited trust, after its token was built: 0, or 401 when another request
 * took the last one meanwhile. */
static int consume_trust_use(struct http_req *r, struct authn *a)
{
	if (!a->trust_limited)
		return 0;
	int rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "UPDATE trust SET remaining_uses = remaining_uses - 1"
		     " WHERE id = ? AND remaining_uses > 0", DB_TEXT(a->p.trust_id));
	if (rc < 0)
		return ident_db_error(r, rc, "trust");
	if (rc == 0)
		return ident_abort(r, ERR_UNAUTH, "Could not find trust: %s.", a->p.trust_id);
	return ident_commit(r);
}

/* Fills the payload's scope from auth.scope. */
static int resolve_scope(struct http_req *r, struct authn *a)
{
	json_t *s = a->scope;
	if (!s)
		return 0;
	json_t *proj = json_object_get(s, "project"), *dom = json_object_get(s, "domain");
	json_t *sys = json_object_get(s, "system"), *trust = json_object_get(s, "OS-TRUST:trust");
	if ((proj != NULL) + (dom != NULL) + (sys != NULL) + (trust != NULL) != 1)
		return http_error(r, ERR_BADREQ, "Specify exactly one of project, domain, system or "
				  "OS-TRUST:trust in the scope.");
	struct db_rows *rows;
	int rc;
	if (trust)
		return trust_scope(r, a, trust);
	if (proj) {
		const char *id = json_string_value(json_object_get(proj, "id"));
		const char *name = json_string_value(json_object_get(proj, "name"));
		if (!json_is_object(proj) || (!id && !name))
			return bad_field(r, "project");
		if (id) {
			rc = db_query(ident_db(r), &rows, "SELECT id FROM project WHERE id = ?", DB_TEXT(id));
		} else {
			const char *did;
			json_t *d = json_object_get(proj, "domain");
			if (!d)
				return bad_field(r, "domain");
			if ((rc = domain_ref(r, d, &did)) < 0)
				return rc;
			rc = db_query(ident_db(r), &rows, "SELECT id FROM project WHERE name = ? AND domain_id = ?",
				      DB_TEXT(name), DB_TEXT(did));
		}
		if (rc < 0)
			return ident_db_error(r, rc, "project");
		if (!db_rows_count(rows)) {
			db_rows_free(rows);
			return unauthorized(r);
		}
		a->p.scope = SCOPE_PROJECT;
		snprintf(a->p.scope_id, sizeof a->p.scope_id, "%s", db_text(rows, 0, 0));
		db_rows_free(rows);
	} else if (dom) {
		const char *did;
		if ((rc = domain_ref(r, dom, &did)) < 0)
			return rc;
		a->p.scope = SCOPE_DOMAIN;
		snprintf(a->p.scope_id, sizeof a->p.scope_id, "%s", did);
	} else {
		if (!json_is_true(json_object_get(sys, "all")))
			return bad_field(r, "system");
		a->p.scope = SCOPE_SYSTEM;
		snprintf(a->p.scope_id, sizeof a->p.scope_id, "all");
	}
	return 0;
}

/* With no scope asked for, Keystone scopes to the user's default project when it can. */
static void default_project(struct http_req *r, struct authn *a)
{
	struct db_rows *rows;
	if (db_query(ident_db(r), &rows, "SELECT default_project_id FROM users WHERE id = ?",
		     DB_TEXT(a->p.user_id)) < 0)
		return;
	const char *dp = db_rows_count(rows) ? db_text(rows, 0, 0) : NULL;
	if (dp && *dp) {
		json_t *roles = ident_effective_roles(ident_db(r), a->p.user_id, "project", dp);
		if (roles && json_array_size(roles)) {
			a->p.scope = SCOPE_PROJECT;
			snprintf(a->p.scope_id, sizeof a->p.scope_id, "%s", dp);
		}
		json_decref(roles);
	}
	db_rows_free(rows);
}

static int h_issue(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return r->err;
	json_t *auth = json_object_get(body, "auth");
	json_t *identity = json_object_get(auth, "identity");
	json_t *methods = json_object_get(identity, "methods");
	if (!json_is_object(auth) || !json_is_object(identity) || !json_is_array(methods) ||
	    !json_array_size(methods))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'identity': 'methods' is a required property.");
	struct authn a;
	memset(&a, 0, sizeof a);
	json_t *scope = json_object_get(auth, "scope");
	if (json_is_string(scope) && !strcmp(json_string_value(scope), "unscoped"))
		a.explicit_unscoped = true;
	else if (json_is_object(scope))
		a.scope = scope;
	else if (scope)
		return bad_field(r, "scope");
	size_t i;
	json_t *mv;
	json_array_foreach(methods, i, mv) {
		const char *name = json_string_value(mv);
		json_t *m = name ? json_object_get(identity, name) : NULL;
		if (!name || !json_is_object(m))
			return bad_field(r, "identity");
		char prev_user[IDENT_ID_MAX + 1];
		snprintf(prev_user, sizeof prev_user, "%s", a.p.user_id);
		int rc;
		if (!strcmp(name, "password"))
			rc = method_password(r, m, &a);
		else if (!strcmp(name, "token"))
			rc = method_token(r, m, &a);
		else if (!strcmp(name, "application_credential"))
			rc = method_app_cred(r, m, &a);
		else
			return http_error(r, ERR_UNAUTH, "Attempted to authenticate with an unsupported method.");
		if (rc < 0)
			return rc;
		if (prev_user[0] && strcmp(prev_user, a.p.user_id))
			return http_error(r, ERR_UNAUTH, "User IDs of the authentication methods do not match.");
	}
	int rc;
	if (!a.p.app_cred_id[0]) {
		if ((rc = resolve_scope(r, &a)) < 0)
			return rc;
		if (!a.scope && !a.explicit_unscoped && a.p.scope == SCOPE_NONE)
			default_project(r, &a);
	}
	int64_t now = time_now_us();
	int64_t life = conf_int("token", "expiration") * 1000000;
	a.p.issued_at = now;
	if (!a.p.expires_at || a.p.expires_at > now + life)
		a.p.expires_at = now + life;
	token_new_audit_id(a.p.audit_id);
	char *token = token_encode(ident(r), &a.p);
	if (!token)
		return http_error(r, ERR_INTERNAL, "Could not issue a token.");
	struct auth_ctx *ctx;
	struct arena *ta = arena_new();
	char msg[256];
	rc = token_build(ident(r), ident_db(r), ta, token, &a.p, &ctx, msg, sizeof msg);
	if (rc == 0 && (rc = consume_trust_use(r, &a)) < 0) {
		json_decref(ctx->token_body);
		arena_free(ta);
		free(token);
		return rc;
	}
	if (rc < 0) {
		arena_free(ta);
		free(token);
		if (a.p.trust_id[0] && !strcmp(msg, "Trustee has no delegated roles."))
			return http_error(r, ERR_FORBIDDEN, "%s", msg);
		if (a.p.trust_id[0])
			return http_error(r, ERR_UNAUTH, "Could not find trust: %s.", a.p.trust_id);
		if (a.p.scope == SCOPE_PROJECT)
			return http_error(r, ERR_UNAUTH, "User %s has no access to project %s", a.p.user_id, a.p.scope_id);
		if (a.p.scope == SCOPE_DOMAIN)
			return http_error(r, ERR_UNAUTH, "User %s has no access to domain %s", a.p.user_id, a.p.scope_id);
		if (a.p.scope == SCOPE_SYSTEM)
			return http_error(r, ERR_UNAUTH, "User %s has no access to the system", a.p.user_id);
		return unauthorized(r);
	}
	json_t *t = json_object_get(ctx->token_body, "token");
	json_t *out = json_copy(t);
	if (a.p.scope != SCOPE_NONE && !http_query_present(r, "nocatalog"))
		json_object_set_new(out, "catalog", token_catalog(ident(r), ident_db(r), ctx->project_id));
	json_decref(ctx->token_body);
	arena_free(ta);
	http_add_header(r, "X-Subject-Token", token);
	free(token);
	return http_reply_json(r, 201, json_pack("{s:o}", "token", out));
}

/* --- GET/HEAD/DELETE /v3/auth/tokens --- */

static int subject(struct http_req *r, bool allow_expired, const struct auth_ctx **out)
{
	const char *tok = http_header(r, "X-Subject-Token");
	if (!tok || !*tok)
		return http_error(r, ERR_BADREQ, "X-Subject-Token is required.");
	char msg[256];
	if (auth_validate(r->arena, tok, allow_expired, out, msg, sizeof msg) < 0)
		return http_error(r, ERR_NOTFOUND, "%s", msg);
	return 0;
}

static int subject_enforce(struct http_req *r, const char *rule, const struct auth_ctx *s)
{
	json_t *t = ident_target("target.token.user_id", s->user_id, "target.token.id", s->token, NULL);
	int rc = ident_enforce(r, rule, t);
	json_decref(t);
	return rc;
}

static bool allow_expired(struct http_req *r)
{
	const char *v = http_query(r, "allow_expired");
	bool b = false;
	return v && !parse_bool(v, &b) && b;
}

static int h_validate(struct http_req *r)
{
	const struct auth_ctx *s;
	/* An invalid subject is 404 before any policy (there is no target to check against). */
	int rc = subject(r, allow_expired(r), &s);
	if (rc < 0)
		return rc;
	if ((rc = subject_enforce(r, r->head ? "identity:check_token" : "identity:validate_token", s)) < 0)
		return rc;
	http_add_header(r, "X-Subject-Token", s->token);
	if (r->head)
		return http_reply_empty(r, 200);
	json_t *out = json_copy(json_object_get(s->token_body, "token"));
	if ((s->project_id || s->domain_id || s->system_scoped) && !http_query_present(r, "nocatalog"))
		json_object_set_new(out, "catalog", token_catalog(ident(r), ident_db(r), s->project_id));
	return http_reply_json(r, 200, json_pack("{s:o}", "token", out));
}

static int h_revoke(struct http_req *r)
{
	const struct auth_ctx *s;
	int rc = subject(r, false, &s);
	if (rc < 0)
		return rc;
	if ((rc = subject_enforce(r, "identity:revoke_token", s)) < 0)
		return rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	if ((rc = ident_revoke(ident_db(r), NULL, NULL, NULL, s->audit_id, NULL)) < 0)
		return ident_db_error(r, rc, "revocation event");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- /v3/auth/projects, /domains, /system, /catalog --- */

static int h_auth_targets(struct http_req *r, const char *type, const char *key)
{
	json_t *ids = ident_user_targets(ident_db(r), r->auth->user_id, type);
	if (!ids)
		return ident_db_error(r, ERR_INTERNAL, key);
	json_t *list = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		const char *tid = json_string_value(v);
		json_t *o = !strcmp(type, "project") ? ident_project_load(r, tid) : ident_domain_load(r, tid);
		if (!o)
			continue;
		if (json_is_true(json_object_get(o, "enabled")))
			json_array_append(list, o);
		json_decref(o);
	}
	json_decref(ids);
	ident_clear_error(r);
	return ident_reply_list(r, key, list);
}

static int h_auth_projects(struct http_req *r) { return h_auth_targets(r, "project", "projects"); }
static int h_auth_domains(struct http_req *r) { return h_auth_targets(r, "domain", "domains"); }

static int h_auth_system(struct http_req *r)
{
	json_t *roles = ident_effective_roles(ident_db(r), r->auth->user_id, "system", "all");
	if (!roles)
		return ident_db_error(r, ERR_INTERNAL, "system");
	json_t *sys = json_array();
	if (json_array_size(roles))
		json_array_append_new(sys, json_pack("{s:b}", "all", 1));
	json_decref(roles);
	return http_reply_json(r, 200, json_pack("{s:o,s:{s:s,s:n,s:n}}", "system", sys, "links",
						 "self", ident_url(r, "/v3/auth/system"), "previous", "next"));
}

static int h_auth_catalog(struct http_req *r)
{
	if (!r->auth->project_id && !r->auth->domain_id && !r->auth->system_scoped)
		return http_error(r, ERR_FORBIDDEN, "A project-scoped token is required to produce a service catalog.");
	return http_reply_json(r, 200, json_pack("{s:o,s:{s:s,s:n,s:n}}", "catalog",
						 token_catalog(ident(r), ident_db(r), r->auth->project_id), "links",
						 "self", ident_url(r, "/v3/auth/catalog"), "previous", "next"));
}

const struct route ident_routes_auth[] = {
	{ "POST", "/v3/auth/tokens", h_issue, NULL, ROUTE_PUBLIC },
	{ "GET", "/v3/auth/tokens", h_validate, NULL, 0 },
	{ "HEAD", "/v3/auth/tokens", h_validate, NULL, 0 },
	{ "DELETE", "/v3/auth/tokens", h_revoke, NULL, 0 },
	{ "GET", "/v3/auth/projects", h_auth_projects, NULL, 0 },
	{ "GET", "/v3/auth/domains", h_auth_domains, NULL, 0 },
	{ "GET", "/v3/auth/system", h_auth_system, NULL, 0 },
	{ "GET", "/v3/auth/catalog", h_auth_catalog, NULL, 0 },
	{ 0 },
};
