/* flavor_extras.c — a flavor's extra specs (/flavors/{id}/os-extra_specs: list, set, show, update
 * one, delete one) and its access list for private flavors (/os-flavor-access and the
 * addTenantAccess/removeTenantAccess actions). */
#include "compute/flavors.h"
#include "compute/valid.h"
#include <string.h>

/* An extra spec key: 1..255 of [a-zA-Z0-9-_:. ]. */
static bool spec_key_ok(const char *k)
{
	size_t n = strlen(k);
	return n >= 1 && n <= 255 &&
	       strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:. ") == n;
}

/* Validates {key: string-or-number} and returns the values as strings (new reference). */
static int specs_from(struct http_req *r, const json_t *obj, const char *field, json_t **out)
{
	const char *k;
	json_t *v;
	json_t *specs = json_object();
	json_object_foreach((json_t *)obj, k, v) {
		const char *s = NULL;
		if (!spec_key_ok(k)) {
			json_decref(specs);
			return cmp_v_unexpected(r, field, k);
		}
		if (json_is_string(v)) {
			if (cmp_utf8_len(json_string_value(v)) > 255) {
				json_decref(specs);
				return cmp_bad_field(r, k, arena_printf(r->arena, "Value: %s. The string is too "
						     "long", json_string_value(v)));
			}
			s = json_string_value(v);
		} else if (json_is_integer(v)) {
			s = arena_printf(r->arena, "%lld", (long long)json_integer_value(v));
		} else if (json_is_real(v)) {
			s = arena_printf(r->arena, "%.17g", json_real_value(v));
		} else {
			json_decref(specs);
			return cmp_bad_field(r, k, arena_printf(r->arena, "Value: %s. %s is not of type 'string', "
					     "'number'", cmp_v_repr(r, v), cmp_v_repr(r, v)));
		}
		if (strlen(s) > 255) {
			json_decref(specs);
			return http_error(r, ERR_BADREQ, "extra_specs value has more than 255 characters.");
		}
		json_object_set_new(specs, k, json_string(s));
	}
	*out = specs;
	return 0;
}

static int store_specs(struct http_req *r, const char *flavorid, const json_t *specs)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)specs, k, v) {
		int rc = db_exec(cmp_db(r), "DELETE FROM cmp_flavor_extra_specs WHERE flavorid = ? AND key = ?",
				 DB_TEXT(flavorid), DB_TEXT(k));
		if (rc >= 0)
			rc = db_exec(cmp_db(r), "INSERT INTO cmp_flavor_extra_specs (flavorid, key, value)"
				     " VALUES (?, ?, ?)", DB_TEXT(flavorid), DB_TEXT(k), DB_TEXT(json_string_value(v)));
		if (rc < 0)
			return cmp_db_error(r, rc, "extra specs");
	}
	int rc = db_exec(cmp_db(r), "UPDATE cmp_flavors SET updated_at = ? WHERE flavorid = ?",
			 DB_INT(time_now_us()), DB_TEXT(flavorid));
	return rc < 0 ? cmp_db_error(r, rc, "extra specs") : 0;
}

/* Opens a transaction and loads the flavor of the path into f (rolled back when that fails). */
static int flavor_begin(struct http_req *r, struct cmp_flavor *f)
{
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	if ((rc = cmp_flavor_get(r, http_param(r, "flavor_id"), false, f)))
		cmp_rollback(r);
	return rc;
}

int cmp_h_specs_index(struct http_req *r)
{
	struct cmp_flavor f;
	int rc = cmp_flavor_get(r, http_param(r, "flavor_id"), false, &f);
	if (rc)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:O}", "extra_specs", f.extra_specs));
}

int cmp_h_specs_show(struct http_req *r)
{
	struct cmp_flavor f;
	const char *key = http_param(r, "key");
	int rc = cmp_flavor_get(r, http_param(r, "flavor_id"), false, &f);
	if (rc)
		return rc;
	json_t *v = json_object_get(f.extra_specs, key);
	if (!v)
		return http_error(r, ERR_NOTFOUND, "Flavor %s has no extra specs with key %s.", f.id, key);
	return http_reply_json(r, 200, json_pack("{s:O}", key, v));
}

static int set_specs(struct http_req *r, const json_t *specs)
{
	struct cmp_flavor f;
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	if ((rc = cmp_flavor_get(r, http_param(r, "flavor_id"), false, &f)) || (rc = store_specs(r, f.id, specs))) {
		cmp_rollback(r);
		return rc;
	}
	return cmp_commit(r);
}

int cmp_h_specs_create(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	static const char *const top[] = { "extra_specs", NULL };
	json_t *in = json_object_get(body, "extra_specs"), *specs;
	if (cmp_v_required(r, body, NULL, "extra_specs") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, in, "extra_specs") || specs_from(r, in, "extra_specs", &specs))
		return ERR_BADREQ;
	arena_defer(r->arena, json_decref_void, specs);
	int rc = set_specs(r, specs);
	if (rc)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:O}", "extra_specs", specs));
}

int cmp_h_specs_update(struct http_req *r)
{
	json_t *body = http_body_json(r), *specs;
	if (!body)
		return ERR_BADREQ;
	size_t n = json_object_size(body);
	if (n != 1)
		return http_error(r, ERR_BADREQ, "Invalid input for field/attribute. %s", n ? "The body has "
				  "too many properties" : "{} does not have enough properties");
	if (specs_from(r, body, "extra_specs", &specs))
		return ERR_BADREQ;
	arena_defer(r->arena, json_decref_void, specs);
	const char *key = http_param(r, "key");
	if (!json_object_get(specs, key))
		return http_error(r, ERR_BADREQ, "Request body and URI mismatch");
	int rc = set_specs(r, specs);
	if (rc)
		return rc;
	return http_reply_json(r, 200, json_incref(specs));
}

int cmp_h_specs_delete(struct http_req *r)
{
	struct cmp_flavor f;
	const char *key = http_param(r, "key");
	int rc = flavor_begin(r, &f);
	if (rc)
		return rc;
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_flavor_extra_specs WHERE flavorid = ? AND key = ?",
		     DB_TEXT(f.id), DB_TEXT(key));
	if (rc < 0)
		return cmp_db_error(r, rc, "extra spec delete");
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Flavor %s has no extra specs with key %s.", f.id, key);
	}
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_empty(r, 200);
}

/* {"flavor_access": [{"flavor_id", "tenant_id"}...]} for a flavor. */
static int reply_access(struct http_req *r, const char *flavorid)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT project_id FROM cmp_flavor_projects WHERE flavorid = ?"
			  " ORDER BY project_id", DB_TEXT(flavorid));
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor access");
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "flavor_id", flavorid, "tenant_id",
						     db_text(rows, i, 0)));
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "flavor_access", arr));
}

int cmp_h_access_index(struct http_req *r)
{
	struct cmp_flavor f;
	int rc = cmp_flavor_get(r, http_param(r, "flavor_id"), false, &f);
	if (rc)
		return rc;
	if (f.is_public)
		return http_error(r, ERR_NOTFOUND, "Access list not available for public flavors.");
	return reply_access(r, f.id);
}

static int access_tenant(struct http_req *r, const json_t *body, const char *action, const char **tenant)
{
	static const char *const fields[] = { "tenant", NULL };
	const char *top[] = { action, NULL };
	json_t *a = json_object_get(body, action);
	if (cmp_v_only(r, body, NULL, top) || cmp_v_object(r, a, action) || cmp_v_only(r, a, action, fields) ||
	    cmp_v_required(r, a, action, "tenant") ||
	    cmp_v_string(r, json_object_get(a, "tenant"), "tenant", 1, 255, false))
		return ERR_BADREQ;
	*tenant = json_string_value(json_object_get(a, "tenant"));
	return 0;
}

/* What addTenantAccess and removeTenantAccess do first: the policy rule, the body's tenant, then
 * a transaction and the flavor of the path (rolled back when it cannot be loaded). */
static int access_begin(struct http_req *r, const json_t *body, const char *rule, const char *action,
			const char **tenant, struct cmp_flavor *f)
{
	int rc = cmp_enforce(r, rule, NULL, NULL);
	if (rc || (rc = access_tenant(r, body, action, tenant)))
		return rc;
	return flavor_begin(r, f);
}

static int add_access(struct http_req *r, const json_t *body)
{
	const char *tenant;
	struct cmp_flavor f;
	int rc = access_begin(r, body, "os_compute_api:os-flavor-access:add_tenant_access", "addTenantAccess", &tenant, &f);
	if (rc)
		return rc;
	if (f.is_public && cmp_mv_ge(r, 2, 7)) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Can not add access to a public flavor.");
	}
	rc = db_exec(cmp_db(r), "INSERT INTO cmp_flavor_projects (flavorid, project_id) VALUES (?, ?)",
		     DB_TEXT(f.id), DB_TEXT(tenant));
	if (rc == ERR_CONFLICT) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Flavor access already exists for flavor %s and project %s "
				  "combination.", f.id, tenant);
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor access");
	if ((rc = cmp_commit(r)))
		return rc;
	return reply_access(r, f.id);
}

static int remove_access(struct http_req *r, const json_t *body)
{
	const char *tenant;
	struct cmp_flavor f;
	int rc = access_begin(r, body, "os_compute_api:os-flavor-access:remove_tenant_access", "removeTenantAccess", &tenant, &f);
	if (rc)
		return rc;
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_flavor_projects WHERE flavorid = ? AND project_id = ?",
		     DB_TEXT(f.id), DB_TEXT(tenant));
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor access");
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Flavor access not found for %s / %s combination.", f.id, tenant);
	}
	if ((rc = cmp_commit(r)))
		return rc;
	return reply_access(r, f.id);
}

/* POST /flavors/{id}/action: addTenantAccess or removeTenantAccess. */
int cmp_h_flavor_action(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	if (json_object_get(body, "addTenantAccess"))
		return add_access(r, body);
	if (json_object_get(body, "removeTenantAccess"))
		return remove_access(r, body);
	return http_error(r, ERR_BADREQ, "There is no such action: %s",
			  json_object_size(body) ? json_object_iter_key(json_object_iter(body)) : "None");
}
