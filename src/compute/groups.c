/* groups.c — /os-server-groups: list (the project's, every project's for admins with
 * all_projects; offset/limit), show (members that still exist), create (policies list before
 * 2.64, policy and rules from 2.64; the server_groups quota), delete. project_id and user_id show
 * from 2.13. The servers side adds members at boot and enforces the policy when scheduling. */
#include "compute/cmp.h"
#include "compute/valid.h"
#include <stdio.h>
#include <string.h>

#define MAX_LIMIT 1000

struct group {
	const char *uuid, *name, *project_id, *user_id, *policy, *rules;
};

#define GROUP_COLUMNS "uuid, name, project_id, user_id, policy, rules"

static void group_from_row(struct http_req *r, const struct db_rows *rows, int i, struct group *g)
{
	*g = (struct group){
		.uuid = arena_strdup(r->arena, db_text(rows, i, 0)),
		.name = arena_strdup(r->arena, db_text(rows, i, 1)),
		.project_id = arena_strdup(r->arena, db_text(rows, i, 2)),
		.user_id = arena_strdup(r->arena, db_text(rows, i, 3)),
		.policy = arena_strdup(r->arena, db_text(rows, i, 4)),
		.rules = arena_strdup(r->arena, db_text(rows, i, 5)),
	};
}

/* The group as Nova shows it, with its members that are not deleted. NULL with a 500 recorded. */
static json_t *group_json(struct http_req *r, const struct group *g)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT m.instance_uuid FROM cmp_server_group_members m"
			  " LEFT JOIN cmp_instances i ON i.uuid = m.instance_uuid WHERE m.group_uuid = ?"
			  " AND (i.uuid IS NULL OR i.deleted = 0) ORDER BY m.instance_uuid", DB_TEXT(g->uuid));
	if (rc < 0) {
		cmp_db_error(r, rc, "server group members");
		return NULL;
	}
	json_t *members = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(members, json_string(db_text(rows, i, 0)));
	db_rows_free(rows);
	json_t *o = json_pack("{s:s,s:s,s:o}", "id", g->uuid, "name", g->name, "members", members);
	if (cmp_mv_ge(r, 2, 64)) {
		json_t *rules = json_loads(g->rules ? g->rules : "{}", 0, NULL);
		json_object_set_new(o, "policy", json_string(g->policy));
		json_object_set_new(o, "rules", json_is_object(rules) ? rules : json_object());
		if (rules && !json_is_object(rules))
			json_decref(rules);
	} else {
		json_object_set_new(o, "policies", json_pack("[s]", g->policy));
		json_object_set_new(o, "metadata", json_object());
	}
	if (cmp_mv_ge(r, 2, 13)) {
		json_object_set_new(o, "project_id", json_string(g->project_id));
		json_object_set_new(o, "user_id", json_string(g->user_id));
	}
	return o;
}

static int load_group(struct http_req *r, const char *id, struct group *g)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT " GROUP_COLUMNS " FROM cmp_server_groups WHERE uuid = ?",
			  DB_TEXT(id));
	if (rc < 0)
		return cmp_db_error(r, rc, "server group");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Instance group %s could not be found.", id);
	}
	group_from_row(r, rows, 0, g);
	db_rows_free(rows);
	return 0;
}

static int h_show(struct http_req *r)
{
	struct group g;
	int rc = load_group(r, http_param(r, "id"), &g);
	if (rc || (rc = cmp_enforce(r, "os_compute_api:os-server-groups:show", g.project_id, NULL)))
		return rc;
	json_t *o = group_json(r, &g);
	if (!o)
		return ERR_INTERNAL;
	return http_reply_json(r, 200, json_pack("{s:o}", "server_group", o));
}

static int h_delete(struct http_req *r)
{
	struct group g;
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	if ((rc = load_group(r, http_param(r, "id"), &g)) ||
	    (rc = cmp_enforce(r, "os_compute_api:os-server-groups:delete", g.project_id, NULL))) {
		cmp_rollback(r);
		return rc;
	}
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_server_group_members WHERE group_uuid = ?", DB_TEXT(g.uuid));
	if (rc >= 0)
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_server_groups WHERE uuid = ?", DB_TEXT(g.uuid));
	if (rc < 0)
		return cmp_db_error(r, rc, "server group delete");
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_empty(r, 204);
}

static int query_count(struct http_req *r, const char *name, int64_t def, int64_t *out)
{
	const char *s = http_query(r, name);
	*out = def;
	if (s && parse_int64(s, 0, INT64_MAX, out))
		return http_error(r, ERR_BADREQ, "Invalid input for query parameters %s. Value: %s. '%s' does not "
				  "match '^[0-9]*$'", name, s, s);
	return 0;
}

static int h_index(struct http_req *r)
{
	static const char *const query[] = { "all_projects", "limit", "offset", NULL };
	int rc = cmp_mv_ge(r, 2, 75) ? cmp_q_only(r, query) : 0;
	if (rc)
		return rc;
	int64_t limit, offset;
	rc = cmp_enforce(r, "os_compute_api:os-server-groups:index", NULL, NULL);
	if (rc || (rc = query_count(r, "limit", MAX_LIMIT, &limit)) || (rc = query_count(r, "offset", 0, &offset)))
		return rc;
	if (limit > MAX_LIMIT || limit == 0)
		limit = MAX_LIMIT;
	bool all = false;
	if (http_query_present(r, "all_projects") && cmp_is_admin(r)) {
		if ((rc = cmp_enforce(r, "os_compute_api:os-server-groups:index:all_projects", NULL, NULL)))
			return rc;
		all = true;
	}
	struct db_rows *rows = NULL;
	rc = db_query(cmp_db(r), &rows, "SELECT " GROUP_COLUMNS " FROM cmp_server_groups WHERE ? = 1 OR project_id = ?"
		      " ORDER BY id LIMIT ? OFFSET ?", DB_INT(all), DB_TEXT(cmp_project(r)), DB_INT(limit), DB_INT(offset));
	if (rc < 0)
		return cmp_db_error(r, rc, "server groups");
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct group g;
		group_from_row(r, rows, i, &g);
		json_t *o = group_json(r, &g);
		if (!o) {
			json_decref(arr);
			db_rows_free(rows);
			return ERR_INTERNAL;
		}
		json_array_append_new(arr, o);
	}
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "server_groups", arr));
}

static bool policy_known(const char *p, bool soft)
{
	return !strcmp(p, "affinity") || !strcmp(p, "anti-affinity") ||
	       (soft && (!strcmp(p, "soft-affinity") || !strcmp(p, "soft-anti-affinity")));
}

static int h_create(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	bool v264 = cmp_mv_ge(r, 2, 64), soft = cmp_mv_ge(r, 2, 15);
	static const char *const top[] = { "server_group", NULL };
	static const char *const f21[] = { "name", "policies", NULL }, *const f264[] = { "name", "policy", "rules", NULL };
	json_t *sg = json_object_get(body, "server_group"), *v;
	if (cmp_v_required(r, body, NULL, "server_group") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, sg, "server_group") || cmp_v_only(r, sg, "server_group", v264 ? f264 : f21) ||
	    cmp_v_required(r, sg, "server_group", "name") ||
	    cmp_v_required(r, sg, "server_group", v264 ? "policy" : "policies") ||
	    cmp_v_name(r, json_object_get(sg, "name"), "name", false))
		return ERR_BADREQ;
	const char *policy;
	char rules[64] = "{}";
	if (v264) {
		v = json_object_get(sg, "policy");
		if (!json_is_string(v) || !policy_known(json_string_value(v), true))
			return cmp_bad_field(r, "policy", arena_printf(r->arena, "Value: %s. %s is not one of "
					     "['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity']",
					     cmp_v_repr(r, v), cmp_v_repr(r, v)));
		policy = json_string_value(v);
		json_t *ru = json_object_get(sg, "rules");
		if (ru) {
			static const char *const rf[] = { "max_server_per_host", NULL };
			int64_t n;
			if (cmp_v_object(r, ru, "rules") || cmp_v_only(r, ru, "rules", rf))
				return ERR_BADREQ;
			if ((v = json_object_get(ru, "max_server_per_host"))) {
				if (cmp_v_int(r, v, "max_server_per_host", 1, INT32_MAX, &n))
					return ERR_BADREQ;
				if (strcmp(policy, "anti-affinity"))
					return http_error(r, ERR_BADREQ, "Only anti-affinity policy supports rules.");
				snprintf(rules, sizeof rules, "{\"max_server_per_host\": %lld}", (long long)n);
			}
		}
	} else {
		v = json_object_get(sg, "policies");
		json_t *p0 = json_array_get(v, 0);
		if (!json_is_array(v) || json_array_size(v) != 1 || !json_is_string(p0) ||
		    !policy_known(json_string_value(p0), soft))
			return cmp_bad_field(r, "policies", arena_printf(r->arena, "Value: %s. %s is not a valid "
					     "policies list", cmp_v_repr(r, v), cmp_v_repr(r, v)));
		policy = json_string_value(p0);
	}
	const char *project = cmp_project(r), *user = cmp_user(r), *name = json_string_value(json_object_get(sg, "name"));
	int rc = cmp_enforce(r, "os_compute_api:os-server-groups:create", project, NULL);
	if (rc || (rc = cmp_begin(r)))
		return rc;
	/* taking the id first serialises creators, so the quota count below is exact */
	int64_t limit, used, id;
	struct db_rows *rows = NULL;
	if ((rc = cmp_next_id(r, "server_groups", &id)) ||
	    (rc = cmp_quota_limit(r, project, user, "server_groups", &limit)))
		return rc;
	rc = db_query(cmp_db(r), &rows, "SELECT COUNT(*) FROM cmp_server_groups"
		      " WHERE project_id = ?", DB_TEXT(project));
	if (rc < 0)
		return cmp_db_error(r, rc, "server group count");
	used = db_int(rows, 0, 0);
	db_rows_free(rows);
	if (limit >= 0 && used + 1 > limit) {
		cmp_rollback(r);
		return http_error(r, ERR_FORBIDDEN, "Quota exceeded, too many server groups.");
	}
	char uuid[37];
	uuid_dashed(uuid);
	rc = db_exec(cmp_db(r), "INSERT INTO cmp_server_groups (id, uuid, name, project_id, user_id, policy, rules,"
		     " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", DB_INT(id), DB_TEXT(uuid), DB_TEXT(name),
		     DB_TEXT(project), DB_TEXT(user), DB_TEXT(policy), DB_TEXT(rules), DB_INT(time_now_us()));
	if (rc < 0)
		return cmp_db_error(r, rc, "server group create");
	if ((rc = cmp_commit(r)))
		return rc;
	struct group g = { uuid, name, project, user, policy, rules };
	json_t *o = group_json(r, &g);
	if (!o)
		return ERR_INTERNAL;
	return http_reply_json(r, 200, json_pack("{s:o}", "server_group", o));
}

const struct route cmp_routes_groups[] = {
	{ "GET", "/v2.1/os-server-groups", h_index, NULL, 0, NULL },
	{ "POST", "/v2.1/os-server-groups", h_create, NULL, 0, NULL },
	{ "GET", "/v2.1/os-server-groups/{id}", h_show, NULL, 0, NULL },
	{ "DELETE", "/v2.1/os-server-groups/{id}", h_delete, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
