/* quotas.c — /os-quota-sets/{project} (show, detail with usage, defaults, update with the
 * used-and-reserved floor unless forced, delete; per user with ?user_id=) and
 * /os-quota-class-sets/{class} (show, update). The nova-network quotas leave the views at 2.36
 * (2.50 for classes), the personality ones at 2.57; server group quotas join classes at 2.50.
 * This file also holds the quota route family (limits.c and usage_report.c have the rest). */
#include "compute/quota.h"
#include "compute/valid.h"
#include "core/conf.h"
#include <string.h>

/* Whether a resource is in quota views at this microversion (classes: server groups from 2.50,
 * nova-network ones until 2.49). */
static bool shown(struct http_req *r, const struct cmp_quota_res *q, bool classes)
{
	if (classes) {
		if (!cmp_mv_ge(r, 2, 50) && (!strcmp(q->name, "server_groups") || !strcmp(q->name, "server_group_members")))
			return false;
		if (q->gone_at == 36)
			return !cmp_mv_ge(r, 2, 50);
	}
	return !q->gone_at || !cmp_mv_ge(r, 2, q->gone_at);
}

static int strict_user_query(struct http_req *r)
{
	if (!cmp_mv_ge(r, 2, 75))
		return 0;
	static const char *const query[] = { "user_id", NULL };
	return cmp_q_only(r, query);
}

/* The quota set of project (user_id: that user's view); detail adds in_use/reserved. */
static int quota_set(struct http_req *r, const char *project, const char *user, bool detail, bool with_id,
		     json_t **out)
{
	json_t *o = json_object();
	if (with_id)
		json_object_set_new(o, "id", json_string(project));
	for (int i = 0; cmp_quota_resources[i].name; i++) {
		const struct cmp_quota_res *q = &cmp_quota_resources[i];
		if (!shown(r, q, false))
			continue;
		int64_t limit, used = 0;
		int rc = cmp_quota_limit(r, project, user, q->name, &limit);
		if (!rc && detail)
			rc = cmp_quota_in_use(r, project, user, q->name, &used);
		if (rc) {
			json_decref(o);
			return rc;
		}
		if (detail)
			json_object_set_new(o, q->name, json_pack("{s:I,s:I,s:i}", "limit", (json_int_t)limit,
								  "in_use", (json_int_t)used, "reserved", 0));
		else
			json_object_set_new(o, q->name, json_integer(limit));
	}
	*out = o;
	return 0;
}

static int show(struct http_req *r, bool detail)
{
	const char *project = http_param(r, "id"), *user = http_query(r, "user_id");
	int rc = strict_user_query(r);
	if (rc || (rc = cmp_enforce(r, detail ? "os_compute_api:os-quota-sets:detail"
					      : "os_compute_api:os-quota-sets:show", project, NULL)))
		return rc;
	json_t *o;
	if ((rc = quota_set(r, project, user, detail, true, &o)))
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "quota_set", o));
}

static int h_show(struct http_req *r)
{
	return show(r, false);
}

static int h_detail(struct http_req *r)
{
	return show(r, true);
}

static int h_defaults(struct http_req *r)
{
	const char *project = http_param(r, "id");
	int rc = cmp_enforce(r, "os_compute_api:os-quota-sets:defaults", project, NULL);
	if (rc)
		return rc;
	json_t *o = json_pack("{s:s}", "id", project);
	for (int i = 0; cmp_quota_resources[i].name; i++) {
		int64_t limit;
		if (!shown(r, &cmp_quota_resources[i], false))
			continue;
		if ((rc = cmp_quota_default(r, cmp_quota_resources[i].name, &limit))) {
			json_decref(o);
			return rc;
		}
		json_object_set_new(o, cmp_quota_resources[i].name, json_integer(limit));
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "quota_set", o));
}

/* Validates {resource: limit} against the resources updatable at this microversion (plus
 * "force" for quota sets); fills *vals with integers. */
static int parse_limits(struct http_req *r, const json_t *set, const char *field, bool classes, json_t **vals,
			bool *force)
{
	const char *k;
	json_t *v;
	*force = false;
	json_t *out = json_object();
	json_object_foreach((json_t *)set, k, v) {
		if (!classes && !strcmp(k, "force")) {
			if (cmp_v_bool(r, v, "force", force))
				goto bad;
			continue;
		}
		const struct cmp_quota_res *q = cmp_quota_find(k);
		bool networks = !strcmp(k, "networks") && !cmp_mv_ge(r, 2, classes ? 50 : 36);
		if (!networks && (!q || !shown(r, q, false) || (classes && q->gone_at == 36 && cmp_mv_ge(r, 2, 50)))) {
			cmp_v_unexpected(r, field, k);
			goto bad;
		}
		int64_t n;
		if (cmp_v_int(r, v, k, -1, 0x7FFFFFFF, &n))
			goto bad;
		if (networks) {
			if (!classes) {
				http_error(r, ERR_BADREQ, "The networks quota has been removed");
				goto bad;
			}
			continue;
		}
		json_object_set_new(out, k, json_integer(n));
	}
	*vals = out;
	return 0;
bad:
	json_decref(out);
	return ERR_BADREQ;
}

static int store_limit(struct http_req *r, const char *project, const char *user, const char *res, int64_t n)
{
	int rc = db_exec(cmp_db(r), "DELETE FROM cmp_quotas WHERE project_id = ? AND user_id = ? AND resource = ?",
			 DB_TEXT(project), DB_TEXT(user ? user : ""), DB_TEXT(res));
	if (rc >= 0)
		rc = db_exec(cmp_db(r), "INSERT INTO cmp_quotas (project_id, user_id, resource, hard_limit)"
			     " VALUES (?, ?, ?, ?)", DB_TEXT(project), DB_TEXT(user ? user : ""), DB_TEXT(res), DB_INT(n));
	return rc < 0 ? cmp_db_error(r, rc, "quota update") : 0;
}

/* Nova's settable range: at least what is used; a user's limit at most what the project has
 * left after its other users' limits. */
static int check_range(struct http_req *r, const char *project, const char *user, const char *res, int64_t n)
{
	int64_t used, max = -1;
	int rc = cmp_quota_in_use(r, project, user, res, &used);
	if (rc)
		return rc;
	if (user) {
		int64_t plimit, others;
		struct db_rows *rows = NULL;
		if ((rc = cmp_quota_limit(r, project, NULL, res, &plimit)))
			return rc;
		rc = db_query(cmp_db(r), &rows, "SELECT COALESCE(SUM(hard_limit), 0) FROM cmp_quotas WHERE"
			      " project_id = ? AND resource = ? AND user_id <> '' AND user_id <> ? AND hard_limit >= 0",
			      DB_TEXT(project), DB_TEXT(res), DB_TEXT(user));
		if (rc < 0)
			return cmp_db_error(r, rc, "quota users");
		others = db_int(rows, 0, 0);
		db_rows_free(rows);
		max = plimit < 0 ? -1 : plimit - others;
	}
	if (n != -1 && n < used)
		return http_error(r, ERR_BADREQ, "Quota limit %lld for %s must be greater than or equal to already "
				  "used and reserved %lld.", (long long)n, res, (long long)used);
	if (max != -1 && (n == -1 || n > max))
		return http_error(r, ERR_BADREQ, "Quota limit %lld for %s must be less than or equal to %lld.",
				  (long long)n, res, (long long)max);
	return 0;
}

static int h_update(struct http_req *r)
{
	const char *project = http_param(r, "id"), *user = http_query(r, "user_id");
	int rc = strict_user_query(r);
	if (rc || (rc = cmp_enforce(r, "os_compute_api:os-quota-sets:update", project, NULL)))
		return rc;
	json_t *body = http_body_json(r), *vals;
	if (!body)
		return ERR_BADREQ;
	static const char *const top[] = { "quota_set", NULL };
	json_t *set = json_object_get(body, "quota_set");
	bool force;
	if (cmp_v_required(r, body, NULL, "quota_set") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, set, "quota_set") || parse_limits(r, set, "quota_set", false, &vals, &force))
		return ERR_BADREQ;
	arena_defer(r->arena, json_decref_void, vals);
	if ((rc = cmp_begin(r)))
		return rc;
	const char *k;
	json_t *v;
	json_object_foreach(vals, k, v) {
		if ((!force && (rc = check_range(r, project, user, k, json_integer_value(v)))) ||
		    (rc = store_limit(r, project, user, k, json_integer_value(v)))) {
			cmp_rollback(r);
			return rc;
		}
	}
	if ((rc = cmp_commit(r)))
		return rc;
	json_t *o;
	if ((rc = quota_set(r, project, user, false, false, &o)))
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "quota_set", o));
}

static int h_delete(struct http_req *r)
{
	const char *project = http_param(r, "id"), *user = http_query(r, "user_id");
	int rc = strict_user_query(r);
	if (rc || (rc = cmp_enforce(r, "os_compute_api:os-quota-sets:delete", project, NULL)))
		return rc;
	if ((rc = cmp_begin(r)))
		return rc;
	if (user)
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_quotas WHERE project_id = ? AND user_id = ?",
			     DB_TEXT(project), DB_TEXT(user));
	else
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_quotas WHERE project_id = ?", DB_TEXT(project));
	if (rc < 0)
		return cmp_db_error(r, rc, "quota delete");
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_empty(r, 202);
}

/* The limits of a quota class (a class row, else the resource default). */
static int class_set(struct http_req *r, const char *cls, bool with_id, json_t **out)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT resource, hard_limit FROM cmp_quota_classes WHERE class_name = ?",
			  DB_TEXT(cls));
	if (rc < 0)
		return cmp_db_error(r, rc, "quota class");
	json_t *o = json_object();
	if (with_id)
		json_object_set_new(o, "id", json_string(cls));
	for (int i = 0; cmp_quota_resources[i].name; i++) {
		const struct cmp_quota_res *q = &cmp_quota_resources[i];
		if (!shown(r, q, true))
			continue;
		int64_t limit = q->option ? conf_int("quota", q->option) : -1;
		for (int j = 0; j < db_rows_count(rows); j++)
			if (!strcmp(db_text(rows, j, 0), q->name))
				limit = db_int(rows, j, 1);
		json_object_set_new(o, q->name, json_integer(limit));
	}
	db_rows_free(rows);
	*out = o;
	return 0;
}

static int h_class_show(struct http_req *r)
{
	json_t *o;
	int rc = class_set(r, http_param(r, "id"), true, &o);
	if (rc)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "quota_class_set", o));
}

static int h_class_update(struct http_req *r)
{
	const char *cls = http_param(r, "id");
	json_t *body = http_body_json(r), *vals;
	if (!body)
		return ERR_BADREQ;
	static const char *const top[] = { "quota_class_set", NULL };
	json_t *set = json_object_get(body, "quota_class_set");
	bool force;
	if (cmp_v_required(r, body, NULL, "quota_class_set") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, set, "quota_class_set") ||
	    parse_limits(r, set, "quota_class_set", true, &vals, &force))
		return ERR_BADREQ;
	arena_defer(r->arena, json_decref_void, vals);
	if (cmp_utf8_len(cls) < 1 || cmp_utf8_len(cls) > 255)
		return http_error(r, ERR_BADREQ, "quota_class_name has a length outside 1..255.");
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	const char *k;
	json_t *v;
	json_object_foreach(vals, k, v) {
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_quota_classes WHERE class_name = ? AND resource = ?",
			     DB_TEXT(cls), DB_TEXT(k));
		if (rc >= 0)
			rc = db_exec(cmp_db(r), "INSERT INTO cmp_quota_classes (class_name, resource, hard_limit)"
				     " VALUES (?, ?, ?)", DB_TEXT(cls), DB_TEXT(k), DB_INT(json_integer_value(v)));
		if (rc < 0)
			return cmp_db_error(r, rc, "quota class update");
	}
	if ((rc = cmp_commit(r)))
		return rc;
	json_t *o;
	if ((rc = class_set(r, cls, false, &o)))
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "quota_class_set", o));
}

const struct route cmp_routes_quotas[] = {
	{ "GET", "/v2.1/os-quota-sets/{id}", h_show, NULL, 0, NULL },
	{ "GET", "/v2.1/os-quota-sets/{id}/detail", h_detail, NULL, 0, NULL },
	{ "GET", "/v2.1/os-quota-sets/{id}/defaults", h_defaults, NULL, 0, NULL },
	{ "PUT", "/v2.1/os-quota-sets/{id}", h_update, NULL, 0, NULL },
	{ "DELETE", "/v2.1/os-quota-sets/{id}", h_delete, NULL, 0, NULL },
	{ "GET", "/v2.1/os-quota-class-sets/{id}", h_class_show, "os_compute_api:os-quota-class-sets:show", 0, NULL },
	{ "PUT", "/v2.1/os-quota-class-sets/{id}", h_class_update, "os_compute_api:os-quota-class-sets:update", 0, NULL },
	{ "GET", "/v2.1/limits", cmp_h_limits, "os_compute_api:limits", 0, NULL },
	{ "GET", "/v2.1/os-simple-tenant-usage", cmp_h_usage_index, "os_compute_api:os-simple-tenant-usage:list",
	  ROUTE_EXACT, NULL },
	{ "GET", "/v2.1/os-simple-tenant-usage/{id}", cmp_h_usage_show, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
