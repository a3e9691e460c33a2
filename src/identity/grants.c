/* grants.c — the grant API: check, grant, revoke and list roles of a user or group on a
 * project, a domain or the system, the OS-INHERIT inherited_to_projects forms, and the route
 * table of the assignment family (GET /v3/role_assignments lives in role_assignments.c). */
#include "identity/assignments.h"
#include <string.h>

/* One grant request, decoded from the route. */
struct grant {
	const char *role_id, *user_id, *group_id, *project_id, *domain_id;
	bool system, inherited, os_inherit;
	json_t *role, *actor, *target;        /* loaded references, NULL when missing */
	int missing;                          /* first 404 met while loading (0 when none) */
	char missing_msg[256];
};

void asg_target_add(json_t *t, const char *prefix, const json_t *obj)
{
	const char *k;
	json_t *v;
	if (!json_is_object(obj))
		return;
	json_object_foreach((json_t *)obj, k, v) {
		if (!json_is_string(v) && !json_is_boolean(v) && !json_is_null(v))
			continue;
		char key[128];
		int n = snprintf(key, sizeof key, "%s.%s", prefix, k);
		if (n > 0 && (size_t)n < sizeof key)
			json_object_set(t, key, v);
	}
}

static void grant_parse(struct http_req *r, struct grant *g)
{
	memset(g, 0, sizeof *g);
	g->role_id = http_param(r, "role_id");
	g->user_id = http_param(r, "user_id");
	g->group_id = http_param(r, "group_id");
	g->project_id = http_param(r, "project_id");
	g->domain_id = http_param(r, "domain_id");
	g->system = !g->project_id && !g->domain_id;
	const char *pat = r->route->pattern;
	size_t n = strlen(pat);
	const char *suffix = "/inherited_to_projects";
	g->inherited = n > strlen(suffix) && !strcmp(pat + n - strlen(suffix), suffix);
	g->os_inherit = !strncmp(pat, "/v3/OS-INHERIT/", 15);
}

static void grant_free(struct grant *g)
{
	json_decref(g->role);
	json_decref(g->actor);
	json_decref(g->target);
}

/* Loads one reference; a miss is remembered (the first one wins) and cleared from r. */
static json_t *load_one(struct http_req *r, struct grant *g,
			json_t *(*fn)(struct http_req *, const char *), const char *id)
{
	json_t *o = fn(r, id);
	if (!o) {
		if (!g->missing) {
			g->missing = r->err ? r->err : ERR_NOTFOUND;
			snprintf(g->missing_msg, sizeof g->missing_msg, "%s", r->errmsg);
		}
		ident_clear_error(r);
	}
	return o;
}

static json_t *load_actor(struct http_req *r, struct grant *g)
{
	return g->user_id ? load_one(r, g, ident_user_load, g->user_id)
			  : load_one(r, g, ident_group_load, g->group_id);
}

/* Loads role, actor and target in Keystone's order for the route family. A missing actor is
 * tolerated when allow_missing_actor (revocation of a grant whose actor is gone). */
static void grant_load(struct http_req *r, struct grant *g, bool with_role, bool allow_missing_actor)
{
	if (g->domain_id && !g->os_inherit)
		g->target = load_one(r, g, ident_domain_load, g->domain_id);
	if (with_role)
		g->role = load_one(r, g, ident_role_load, g->role_id);
	if (allow_missing_actor) {
		g->actor = g->user_id ? ident_user_load(r, g->user_id) : ident_group_load(r, g->group_id);
		ident_clear_error(r);
	} else {
		g->actor = load_actor(r, g);
	}
	if (g->project_id)
		g->target = load_one(r, g, ident_project_load, g->project_id);
	else if (g->domain_id && g->os_inherit)
		g->target = load_one(r, g, ident_domain_load, g->domain_id);
}

static int grant_missing(struct http_req *r, struct grant *g)
{
	return http_error(r, g->missing, "%s", g->missing_msg);
}

/* Enforces rule (the system routes have their own rule names) on the loaded references. */
static int grant_enforce(struct http_req *r, struct grant *g, const char *action)
{
	/* 404s come before enforcement, except on OS-INHERIT routes where Keystone enforces on
	 * whatever it found and reports the missing entity afterwards. */
	if (g->missing && !g->os_inherit)
		return grant_missing(r, g);
	char rule[96];
	if (g->system)
		snprintf(rule, sizeof rule, "identity:%s_system_grant%s_for_%s",
			 !strcmp(action, "list") ? "list" : action, !strcmp(action, "list") ? "s" : "",
			 g->user_id ? "user" : "group");
	else
		snprintf(rule, sizeof rule, "identity:%s_grant%s", action, !strcmp(action, "list") ? "s" : "");
	json_t *t = json_object();
	if (g->role)
		asg_target_add(t, "target.role", g->role);
	if (g->actor)
		asg_target_add(t, g->user_id ? "target.user" : "target.group", g->actor);
	if (g->target)
		asg_target_add(t, g->project_id ? "target.project" : "target.domain", g->target);
	int rc = ident_enforce(r, rule, t);
	json_decref(t);
	if (rc < 0)
		return rc;
	if (g->missing)
		return grant_missing(r, g);
	return 0;
}

static const char *grant_type(const struct grant *g)
{
	if (g->user_id)
		return g->project_id ? "UserProject" : g->domain_id ? "UserDomain" : "UserSystem";
	return g->project_id ? "GroupProject" : g->domain_id ? "GroupDomain" : "GroupSystem";
}

static const char *grant_target_id(const struct grant *g)
{
	return g->project_id ? g->project_id : g->domain_id ? g->domain_id : ASG_SYSTEM_TARGET;
}

static const char *grant_actor_id(const struct grant *g)
{
	return g->user_id ? g->user_id : g->group_id;
}

/* The assignment row of a grant, bound in the order of GRANT_MATCH and GRANT_INSERT. */
#define GRANT_MATCH "type = ? AND actor_id = ? AND target_id = ? AND role_id = ? AND inherited = ?"
#define GRANT_INSERT "INSERT INTO assignment (type, actor_id, target_id, role_id, inherited) VALUES (?, ?, ?, ?, ?)"

static void grant_row(const struct grant *g, struct db_arg args[6])
{
	args[0] = DB_TEXT(grant_type(g));
	args[1] = DB_TEXT(grant_actor_id(g));
	args[2] = DB_TEXT(grant_target_id(g));
	args[3] = DB_TEXT(g->role_id);
	args[4] = DB_BOOL(g->inherited);
	args[5] = DB_END_;
}

/* 1 when the grant row exists, 0 when not, or an error code. */
static int grant_exists(struct http_req *r, const struct grant *g)
{
	struct db_arg args[6];
	grant_row(g, args);
	return ident_exists_a(ident_db(r), "SELECT 1 FROM assignment WHERE " GRANT_MATCH, args);
}

static int assignment_not_found(struct http_req *r, const struct grant *g)
{
	return http_error(r, ERR_NOTFOUND, "Could not find role assignment with role: %s, user or group: %s,"
			  " project, domain, or system: %s.", g->role_id, grant_actor_id(g),
			  g->system ? "system" : grant_target_id(g));
}

static const char *json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int h_grant_check(struct http_req *r)
{
	struct grant g;
	grant_parse(r, &g);
	grant_load(r, &g, true, false);
	int rc = grant_enforce(r, &g, "check");
	if (rc == 0) {
		rc = grant_exists(r, &g);
		if (rc == 0)
			rc = assignment_not_found(r, &g);
		else if (rc > 0)
			rc = http_reply_empty(r, 204);
		else
			rc = ident_db_error(r, rc, "role assignment");
	}
	grant_free(&g);
	return rc;
}

static int h_grant_put(struct http_req *r)
{
	struct grant g;
	grant_parse(r, &g);
	grant_load(r, &g, true, false);
	int rc = grant_enforce(r, &g, "create");
	if (rc < 0)
		goto out;
	const char *role_domain = json_str(g.role, "domain_id");
	if (role_domain && g.system) {
		rc = http_error(r, ERR_BADREQ, "Role %s is a domain-specific role. Unable to use a domain-specific"
				" role in a system assignment.", g.role_id);
		goto out;
	}
	if (role_domain && g.project_id && strcmp(role_domain, json_str(g.target, "domain_id") ?
						  json_str(g.target, "domain_id") : "")) {
		rc = http_error(r, ERR_FORBIDDEN, "Project %s must be in the same domain as the role %s"
				" being assigned.", g.project_id, g.role_id);
		goto out;
	}
	if ((rc = ident_begin(r)) < 0)
		goto out;
	struct db_arg args[6];
	grant_row(&g, args);
	rc = grant_exists(r, &g);
	if (rc == 0)
		rc = db_exec_a(ident_db(r), GRANT_INSERT, args);
	if (rc < 0) {
		rc = ident_db_error(r, rc, "role grant");
		goto out;
	}
	if ((rc = ident_commit(r)) < 0)
		goto out;
	rc = http_reply_empty(r, 204);
out:
	grant_free(&g);
	return rc;
}

/* Revocation events for the tokens a removed grant affected. Tokens are also re-checked
 * against current assignments at validation; the events make the loss immediate for tokens
 * scoped to the grant's own target. System grants and grants inherited from a project have no
 * event that names their tokens precisely, so they rely on that re-check alone. */
static int grant_revoke_tokens(struct http_req *r, const struct grant *g)
{
	struct db_conn *c = ident_db(r);
	if (g->system || (g->project_id && g->inherited))
		return 0;
	const char *project = g->project_id, *domain = g->project_id ? NULL : g->domain_id;
	if (g->user_id)
		return ident_revoke(c, g->user_id, project, domain, NULL, NULL);
	struct id_list members = { 0 };
	int rc = asg_group_users(c, r->arena, g->group_id, &members);
	for (size_t i = 0; rc >= 0 && i < members.n; i++)
		rc = ident_revoke(c, members.v[i], project, domain, NULL, NULL);
	return rc < 0 ? rc : 0;
}

static int h_grant_delete(struct http_req *r)
{
	struct grant g;
	grant_parse(r, &g);
	grant_load(r, &g, true, true);
	int rc = grant_enforce(r, &g, "revoke");
	if (rc < 0)
		goto out;
	if ((rc = ident_begin(r)) < 0)
		goto out;
	struct db_arg args[6];
	grant_row(&g, args);
	rc = db_exec_a(ident_db(r), "DELETE FROM assignment WHERE " GRANT_MATCH, args);
	if (rc == 0) {
		ident_rollback(r);
		rc = assignment_not_found(r, &g);
		goto out;
	}
	if (rc > 0)
		rc = grant_revoke_tokens(r, &g);
	if (rc < 0) {
		rc = ident_db_error(r, rc, "role grant");
		goto out;
	}
	if ((rc = ident_commit(r)) < 0)
		goto out;
	rc = http_reply_empty(r, 204);
out:
	grant_free(&g);
	return rc;
}

static int h_grant_list(struct http_req *r)
{
	struct grant g;
	grant_parse(r, &g);
	grant_load(r, &g, false, false);
	int rc = grant_enforce(r, &g, "list");
	if (rc < 0)
		goto out;
	struct db_rows *rows = NULL;
	/* Like Keystone's list_grant_role_ids: actor, target and the inherited flag. */
	rc = db_query(ident_db(r), &rows, "SELECT role_id FROM assignment WHERE actor_id = ? AND target_id = ?"
		      " AND inherited = ? AND type = ?", DB_TEXT(grant_actor_id(&g)), DB_TEXT(grant_target_id(&g)),
		      DB_BOOL(g.inherited), DB_TEXT(grant_type(&g)));
	if (rc < 0) {
		rc = ident_db_error(r, rc, "role assignment");
		goto out;
	}
	struct id_list ids = { 0 };
	for (int i = 0; i < db_rows_count(rows); i++)
		ids_add(r->arena, &ids, arena_strdup(r->arena, db_text(rows, i, 0)));
	db_rows_free(rows);
	json_t *roles = json_array();
	if ((rc = ident_roles_render(r, &ids, roles)) < 0) {
		json_decref(roles);
		rc = ident_db_error(r, rc, "role");
		goto out;
	}
	rc = ident_reply_list(r, "roles", roles);
out:
	grant_free(&g);
	return rc;
}

#define GRANT_ROUTES(base)                                                          \
	{ "PUT", base "/roles/{role_id}", h_grant_put, NULL, 0 },                   \
	{ "GET", base "/roles/{role_id}", h_grant_check, NULL, 0 },                 \
	{ "DELETE", base "/roles/{role_id}", h_grant_delete, NULL, 0 },             \
	{ "GET", base "/roles", h_grant_list, NULL, 0 }

#define INHERIT_ROUTES(base)                                                                       \
	{ "PUT", base "/roles/{role_id}/inherited_to_projects", h_grant_put, NULL, 0 },            \
	{ "GET", base "/roles/{role_id}/inherited_to_projects", h_grant_check, NULL, 0 },          \
	{ "DELETE", base "/roles/{role_id}/inherited_to_projects", h_grant_delete, NULL, 0 }

const struct route ident_routes_assignments[] = {
	GRANT_ROUTES("/v3/projects/{project_id}/users/{user_id}"),
	GRANT_ROUTES("/v3/projects/{project_id}/groups/{group_id}"),
	GRANT_ROUTES("/v3/domains/{domain_id}/users/{user_id}"),
	GRANT_ROUTES("/v3/domains/{domain_id}/groups/{group_id}"),
	GRANT_ROUTES("/v3/system/users/{user_id}"),
	GRANT_ROUTES("/v3/system/groups/{group_id}"),
	INHERIT_ROUTES("/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}"),
	INHERIT_ROUTES("/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}"),
	INHERIT_ROUTES("/v3/OS-INHERIT/projects/{project_id}/users/{user_id}"),
	INHERIT_ROUTES("/v3/OS-INHERIT/projects/{project_id}/groups/{group_id}"),
	{ "GET", "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects",
	  h_grant_list, NULL, 0 },
	{ "GET", "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects",
	  h_grant_list, NULL, 0 },
	{ "GET", "/v3/role_assignments", ident_list_role_assignments, NULL, 0 },
	{ 0 },
};
