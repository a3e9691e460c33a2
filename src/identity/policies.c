/* policies.c — /v3/policies (opaque policy blobs with a type and extra attributes) and
 * OS-ENDPOINT-POLICY: associating a policy with an endpoint, a service, or a service in a
 * region, and finding the policy that applies to an endpoint. */
#include "identity/ident.h"
#include <stdio.h>
#include <string.h>

#define POLICY_TYPE_MAX 255
#define POLICY_COLS "id, blob, type, extra"
/* Bound on walks through the region tree (guards against cycles in bad data). */
#define WALK_MAX 100

static const char *const policy_known[] = { "id", "blob", "type", NULL };

/* --- policies --- */

static json_t *policy_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0);
	json_t *o = json_pack("{s:s,s:s,s:s}", "id", id, "blob", db_text(rows, i, 1), "type", db_text(rows, i, 2));
	json_object_set_new(o, "links", ident_links(r, "/v3/policies/%s", id));
	ident_merge_extra(o, db_text(rows, i, 3));
	return o;
}

static const struct ident_kind policy_kind = {
	"policy", "SELECT " POLICY_COLS " FROM policy WHERE id = ?", policy_render,
};

static int policy_reply(struct http_req *r, int status, const char *id)
{
	json_t *o = ident_load_row(r, &policy_kind, id);
	return o ? ident_reply_one(r, status, "policy", o) : r->err;
}

/* Keystone's policy schema: blob a string, type a string of at most 255 characters. */
static int policy_fields(struct http_req *r, const json_t *body, bool create, const char **blob, const char **type)
{
	int rc;
	if (!create && !json_object_size(body))
		return http_error(r, ERR_BADREQ, "{} does not have enough properties");
	if ((rc = ident_str(r, body, "blob", false, false, 0, blob)) < 0 ||
	    (rc = ident_str(r, body, "type", false, false, POLICY_TYPE_MAX, type)) < 0)
		return rc;
	if (create && !*blob)
		return http_error(r, ERR_BADREQ, "'blob' is a required property");
	if (create && !*type)
		return http_error(r, ERR_BADREQ, "'type' is a required property");
	return 0;
}

static int h_create_policy(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:create_policy", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body_opt(r, "policy");
	const char *blob, *type;
	if (!body)
		return r->err;
	if ((rc = policy_fields(r, body, true, &blob, &type)) < 0)
		return rc;
	char *extra = ident_extra_new(r, body, policy_known);
	char id[33];
	uuid_hex(id);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO policy (id, blob, type, extra) VALUES (?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(blob), DB_TEXT(type), DB_TEXT(extra));
	if (rc < 0)
		return ident_db_error(r, rc, "policy");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return policy_reply(r, 201, id);
}

static int h_list_policies(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:list_policies", NULL);
	if (rc < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " POLICY_COLS " FROM policy WHERE 1 = 1");
	ident_sql_filter(&q, r, "type", "type");
	ident_sql_text(&q, " ORDER BY id");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "policy");
	return ident_reply_rows(r, "policies", rows, policy_render);
}

static int h_get_policy(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:get_policy", NULL);
	if (rc < 0)
		return rc;
	return policy_reply(r, 200, http_param(r, "policy_id"));
}

static int h_update_policy(struct http_req *r)
{
	const char *id = http_param(r, "policy_id");
	int rc = ident_enforce(r, "identity:update_policy", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body_opt(r, "policy");
	const char *blob, *type;
	if (!body)
		return r->err;
	if ((rc = policy_fields(r, body, false, &blob, &type)) < 0)
		return rc;
	json_t *bid = json_object_get(body, "id");
	if (bid && (!json_is_string(bid) || strcmp(json_string_value(bid), id)))
		return http_error(r, ERR_BADREQ, "Cannot change policy ID");
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	if ((rc = ident_row_for_update(r, &policy_kind, id, &rows)) < 0)
		return rc;
	if (!blob)
		blob = arena_strdup(r->arena, db_text(rows, 0, 1));
	if (!type)
		type = arena_strdup(r->arena, db_text(rows, 0, 2));
	char *extra = ident_extra(r, body, policy_known, db_text(rows, 0, 3));
	db_rows_free(rows);
	rc = db_exec(c, "UPDATE policy SET blob = ?, type = ?, extra = ? WHERE id = ?",
		     DB_TEXT(blob), DB_TEXT(type), DB_TEXT(extra), DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "policy");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return policy_reply(r, 200, id);
}

static int h_delete_policy(struct http_req *r)
{
	const char *id = http_param(r, "policy_id");
	int rc = ident_enforce(r, "identity:delete_policy", NULL);
	if (rc < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	if ((rc = db_exec(c, "DELETE FROM policy_association WHERE policy_id = ?", DB_TEXT(id))) < 0 ||
	    (rc = db_exec(c, "DELETE FROM policy WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "policy");
	if (!rc) {
		ident_rollback(r);
		return ident_not_found(r, "policy", id);
	}
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- OS-ENDPOINT-POLICY associations --- */

/* What an association names, taken from the route: an endpoint, a service, or a service in a
 * region. where matches exactly that target (the other columns NULL). */
struct target {
	const char *endpoint_id, *service_id, *region_id;
	const char *rule_suffix;
	const char *where;
};

static void target_of(struct http_req *r, struct target *t)
{
	t->endpoint_id = http_param(r, "endpoint_id");
	t->service_id = http_param(r, "service_id");
	t->region_id = http_param(r, "region_id");
	if (t->endpoint_id) {
		t->rule_suffix = "endpoint";
		t->where = "endpoint_id = ? AND service_id IS NULL AND region_id IS NULL";
	} else if (!t->region_id) {
		t->rule_suffix = "service";
		t->where = "endpoint_id IS NULL AND service_id = ? AND region_id IS NULL";
	} else {
		t->rule_suffix = "region_and_service";
		t->where = "endpoint_id IS NULL AND service_id = ? AND region_id = ?";
	}
}

/* The target's parameters for its where clause: the endpoint, or the service (and region). */
static struct db_arg targ(const struct target *t, int i)
{
	if (t->endpoint_id)
		return i == 0 ? DB_TEXT(t->endpoint_id) : DB_END_;
	if (i == 0)
		return DB_TEXT(t->service_id);
	return i == 1 && t->region_id ? DB_TEXT(t->region_id) : DB_END_;
}

/* Enforces verb's rule, then checks the policy and the target exist, in Keystone's order. */
static int assoc_checks(struct http_req *r, const char *verb, struct target *t)
{
	target_of(r, t);
	char rule[96];
	snprintf(rule, sizeof rule, "identity:%s_policy_association_for_%s", verb, t->rule_suffix);
	int rc = ident_enforce(r, rule, NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "policy", "policy", http_param(r, "policy_id"))) < 0)
		return rc;
	if (t->endpoint_id)
		return ident_must_exist(r, "endpoint", "endpoint", t->endpoint_id);
	if ((rc = ident_must_exist(r, "service", "service", t->service_id)) < 0)
		return rc;
	return t->region_id ? ident_must_exist(r, "region", "region", t->region_id) : 0;
}

static int h_put_assoc(struct http_req *r)
{
	struct target t;
	const char *pid = http_param(r, "policy_id");
	int rc = assoc_checks(r, "create", &t);
	if (rc < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	/* One association per target: a new policy replaces the old one. */
	struct db_conn *c = ident_db(r);
	struct db_arg args[4] = { DB_TEXT(pid), targ(&t, 0), targ(&t, 1), DB_END_ };
	rc = db_exec_a(c, arena_printf(r->arena, "UPDATE policy_association SET policy_id = ? WHERE %s", t.where), args);
	if (rc == 0) {
		char id[33];
		uuid_hex(id);
		rc = db_exec(c, "INSERT INTO policy_association (id, policy_id, endpoint_id, service_id, region_id)"
			     " VALUES (?, ?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(pid), DB_TEXT(t.endpoint_id),
			     DB_TEXT(t.service_id), DB_TEXT(t.region_id));
	}
	if (rc < 0)
		return ident_db_error(r, rc, "policy_association");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_check_assoc(struct http_req *r)
{
	struct target t;
	int rc = assoc_checks(r, "check", &t);
	if (rc < 0)
		return rc;
	struct db_arg args[4] = { DB_TEXT(http_param(r, "policy_id")), targ(&t, 0), targ(&t, 1), DB_END_ };
	rc = ident_exists_a(ident_db(r), arena_printf(r->arena, "SELECT 1 FROM policy_association"
			    " WHERE policy_id = ? AND %s", t.where), args);
	if (rc < 0)
		return ident_db_error(r, rc, "policy_association");
	if (!rc)
		return http_error(r, ERR_NOTFOUND, "Could not find policy association.");
	return http_reply_empty(r, 204);
}

static int h_delete_assoc(struct http_req *r)
{
	struct target t;
	int rc = assoc_checks(r, "delete", &t);
	if (rc < 0 || (rc = ident_begin(r)) < 0)
		return rc;
	struct db_arg args[4] = { DB_TEXT(http_param(r, "policy_id")), targ(&t, 0), targ(&t, 1), DB_END_ };
	rc = db_exec_a(ident_db(r), arena_printf(r->arena, "DELETE FROM policy_association WHERE policy_id = ? AND %s",
						 t.where), args);
	if (rc < 0)
		return ident_db_error(r, rc, "policy_association");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* Appends the endpoints the query selects to list, as Keystone's endpoint policy API lists
 * them: like /v3/endpoints, without the legacy "region" alias. */
static int ep_append(struct http_req *r, json_t *list, const char *sql, const char *a, const char *b)
{
	struct db_rows *rows;
	int rc = b ? db_query(ident_db(r), &rows, sql, DB_TEXT(a), DB_TEXT(b)) : db_query(ident_db(r), &rows, sql, DB_TEXT(a));
	if (rc < 0)
		return rc;
	for (int i = 0; i < db_rows_count(rows); i++) {
		json_t *o = ident_endpoint_render(r, rows, i);
		json_object_del(o, "region");
		json_array_append_new(list, o);
	}
	db_rows_free(rows);
	return 0;
}

/* The endpoints of a service in a region and in the regions below it (the first WALK_MAX). */
static int ep_region_tree(struct http_req *r, json_t *list, const char *service_id, const char *region_id)
{
	json_t *tree;
	int rc = ident_region_tree(ident_db(r), region_id, &tree);
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc >= 0 && i < json_array_size(tree) && i < WALK_MAX; i++)
		rc = ep_append(r, list, "SELECT " IDENT_ENDPOINT_COLS " FROM endpoint WHERE service_id = ? AND region_id = ?"
			       " ORDER BY id", service_id, json_string_value(json_array_get(tree, i)));
	json_decref(tree);
	return rc;
}

static int h_policy_endpoints(struct http_req *r)
{
	const char *pid = http_param(r, "policy_id");
	int rc = ident_enforce(r, "identity:list_endpoints_for_policy", NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "policy", "policy", pid)) < 0)
		return rc;
	struct db_rows *rows;
	if ((rc = db_query(ident_db(r), &rows, "SELECT endpoint_id, service_id, region_id FROM policy_association"
			   " WHERE policy_id = ? ORDER BY id", DB_TEXT(pid))) < 0)
		return ident_db_error(r, rc, "policy_association");
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows) && rc >= 0; i++) {
		const char *eid = db_text(rows, i, 0), *sid = db_text(rows, i, 1), *reg = db_text(rows, i, 2);
		if (eid)
			rc = ep_append(r, list, "SELECT " IDENT_ENDPOINT_COLS " FROM endpoint WHERE id = ?", eid, NULL);
		else if (sid && !reg)
			rc = ep_append(r, list, "SELECT " IDENT_ENDPOINT_COLS " FROM endpoint WHERE service_id = ?"
				       " ORDER BY id", sid, NULL);
		else if (sid)
			rc = ep_region_tree(r, list, sid, reg);
	}
	db_rows_free(rows);
	if (rc < 0) {
		json_decref(list);
		return ident_db_error(r, rc, "endpoint");
	}
	return ident_reply_list(r, "endpoints", list);
}

/* The policy id of the association matching where (NULL when none) into *out (arena). */
static int assoc_policy(struct http_req *r, const char *where, const char *a, const char *b, const char **out)
{
	struct db_rows *rows;
	const char *sql = arena_printf(r->arena, "SELECT policy_id FROM policy_association WHERE %s", where);
	int rc = b ? db_query(ident_db(r), &rows, sql, DB_TEXT(a), DB_TEXT(b)) : db_query(ident_db(r), &rows, sql, DB_TEXT(a));
	if (rc < 0)
		return rc;
	*out = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
	db_rows_free(rows);
	return 0;
}

/* GET /v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy: the endpoint's own policy, else
 * the one for its service in its region or the nearest region above, else its service's. */
static int h_endpoint_policy(struct http_req *r)
{
	const char *eid = http_param(r, "endpoint_id");
	int rc = ident_enforce(r, "identity:get_policy_for_endpoint", NULL);
	if (rc < 0 || (rc = ident_must_exist(r, "endpoint", "endpoint", eid)) < 0)
		return rc;
	const char *pid = NULL;
	if ((rc = assoc_policy(r, "endpoint_id = ? AND service_id IS NULL AND region_id IS NULL", eid, NULL, &pid)) < 0)
		return ident_db_error(r, rc, "policy_association");
	struct db_rows *rows;
	if (!pid) {
		if ((rc = db_query(ident_db(r), &rows, "SELECT service_id, region_id FROM endpoint WHERE id = ?", DB_TEXT(eid))) < 0)
			return ident_db_error(r, rc, "endpoint");
		const char *sid = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
		const char *reg = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 1)) : NULL;
		db_rows_free(rows);
		for (int hop = 0; sid && reg && !pid && hop < WALK_MAX; hop++) {
			if ((rc = assoc_policy(r, "endpoint_id IS NULL AND service_id = ? AND region_id = ?", sid, reg, &pid)) < 0 ||
			    (rc = db_query(ident_db(r), &rows, "SELECT parent_region_id FROM region WHERE id = ?", DB_TEXT(reg))) < 0)
				return ident_db_error(r, rc, "policy_association");
			reg = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
			db_rows_free(rows);
		}
		if (!pid && sid &&
		    (rc = assoc_policy(r, "endpoint_id IS NULL AND service_id = ? AND region_id IS NULL", sid, NULL, &pid)) < 0)
			return ident_db_error(r, rc, "policy_association");
	}
	if (!pid)
		return http_error(r, ERR_NOTFOUND, "No policy is associated with endpoint %s.", eid);
	json_t *o = ident_load_row(r, &policy_kind, pid);
	if (!o)
		return r->err;
	/* Keystone links the policy of an endpoint under /v3/endpoints. */
	json_object_set_new(o, "links", ident_links(r, "/v3/endpoints/%s", pid));
	return ident_reply_one(r, 200, "policy", o);
}

#define EPP "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY"

const struct route ident_routes_policies[] = {
	{ "GET", "/v3/policies", h_list_policies, NULL, 0 },
	{ "POST", "/v3/policies", h_create_policy, NULL, 0 },
	{ "GET", "/v3/policies/{policy_id}", h_get_policy, NULL, 0 },
	{ "PATCH", "/v3/policies/{policy_id}", h_update_policy, NULL, 0 },
	{ "DELETE", "/v3/policies/{policy_id}", h_delete_policy, NULL, 0 },
	{ "GET", EPP "/endpoints", h_policy_endpoints, NULL, 0 },
	{ "GET", EPP "/endpoints/{endpoint_id}", h_check_assoc, NULL, 0 },
	{ "PUT", EPP "/endpoints/{endpoint_id}", h_put_assoc, NULL, 0 },
	{ "DELETE", EPP "/endpoints/{endpoint_id}", h_delete_assoc, NULL, 0 },
	{ "GET", EPP "/services/{service_id}", h_check_assoc, NULL, 0 },
	{ "PUT", EPP "/services/{service_id}", h_put_assoc, NULL, 0 },
	{ "DELETE", EPP "/services/{service_id}", h_delete_assoc, NULL, 0 },
	{ "GET", EPP "/services/{service_id}/regions/{region_id}", h_check_assoc, NULL, 0 },
	{ "PUT", EPP "/services/{service_id}/regions/{region_id}", h_put_assoc, NULL, 0 },
	{ "DELETE", EPP "/services/{service_id}/regions/{region_id}", h_delete_assoc, NULL, 0 },
	{ "GET", "/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy", h_endpoint_policy, NULL, 0 },
	{ 0 },
};
