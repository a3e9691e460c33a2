/* aggregates.c — a provider's aggregates: the shared replace operation and GET/PUT
 * /resource_providers/{uuid}/aggregates (1.1; from 1.19 with the provider generation in the
 * body and bumped on change). Aggregates are just uuids: they exist while a provider names them. */
#include "placement/plc.h"
#include <stdio.h>
#include <string.h>

int plc_aggs_replace(struct db_conn *c, struct plc_rp *rp, const char *const *aggs, int n,
		     bool bump, struct plc_err *e)
{
	if (bump) {
		int rc = plc_rp_bump(c, rp->uuid, rp->generation, rp);
		if (rc == ERR_CONFLICT)
			return plc_fail(e, rc, PLC_CODE_CONCURRENT, "Update conflict: Another thread "
					"concurrently updated the resource provider data. Please retry your update");
		if (rc < 0)
			return plc_fail(e, rc, NULL, "database error");
	}
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT aggregate FROM plc_provider_aggregates WHERE provider_uuid = ?",
		     DB_TEXT(rp->uuid)) < 0)
		return plc_fail(e, ERR_INTERNAL, NULL, "database error");
	int rc = 0;
	for (int i = 0; i < db_rows_count(rows) && rc == 0; i++) {
		const char *old = db_text(rows, i, 0);
		bool keep = false;
		for (int j = 0; j < n && !keep; j++)
			keep = !strcmp(aggs[j], old);
		if (!keep && db_exec(c, "DELETE FROM plc_provider_aggregates WHERE provider_uuid = ? AND "
				     "aggregate = ?", DB_TEXT(rp->uuid), DB_TEXT(old)) < 0)
			rc = ERR_INTERNAL;
	}
	int64_t now = time_now_us();
	for (int j = 0; j < n && rc == 0; j++) {
		bool have = false;
		for (int i = 0; i < db_rows_count(rows) && !have; i++)
			have = !strcmp(aggs[j], db_text(rows, i, 0));
		bool dup = false;
		for (int k = 0; k < j && !dup; k++)
			dup = !strcmp(aggs[j], aggs[k]);
		if (!have && !dup &&
		    db_exec(c, "INSERT INTO plc_provider_aggregates (provider_uuid, aggregate, created_at) "
			    "VALUES (?, ?, ?)", DB_TEXT(rp->uuid), DB_TEXT(aggs[j]), DB_INT(now + j)) < 0)
			rc = ERR_INTERNAL;
	}
	db_rows_free(rows);
	return rc < 0 ? plc_fail(e, rc, NULL, "database error") : 0;
}

static json_t *render(struct http_req *r, const struct plc_rp *rp, json_t *aggs)
{
	json_t *j = json_pack("{s:o}", "aggregates", aggs);
	if (plc_ge(r, 1, 19))
		json_object_set_new(j, "resource_provider_generation", json_integer(rp->generation));
	return j;
}

static int load_rp(struct http_req *r, struct plc_rp *rp)
{
	const char *uuid = http_param(r, "uuid");
	int rc = plc_rp_load(plc_db(r), uuid, rp);
	if (rc == ERR_NOTFOUND)
		return plc_error(r, rc, NULL, "No resource provider with uuid %s found", uuid);
	return rc < 0 ? plc_db_error(r, rc) : 0;
}

static int get(struct http_req *r)
{
	if (!plc_ge(r, 1, 1))
		return plc_not_found_version(r);
	struct plc_rp rp;
	int rc = load_rp(r, &rp);
	if (rc < 0)
		return rc;
	struct db_rows *rows;
	rc = db_query(plc_db(r), &rows, "SELECT aggregate FROM plc_provider_aggregates WHERE "
		      "provider_uuid = ? ORDER BY created_at, aggregate", DB_TEXT(rp.uuid));
	if (rc < 0)
		return plc_db_error(r, rc);
	json_t *aggs = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(aggs, json_string(db_text(rows, i, 0)));
	db_rows_free(rows);
	return plc_reply(r, 200, render(r, &rp, aggs), 0);
}

static int put(struct http_req *r)
{
	int rc = plc_require_json(r);
	if (rc < 0)
		return rc;
	if (!plc_ge(r, 1, 1))
		return plc_not_found_version(r);
	struct plc_rp rp;
	json_t *body;
	if ((rc = load_rp(r, &rp)) < 0 || (rc = plc_body(r, &body)) < 0)
		return rc;
	bool v19 = plc_ge(r, 1, 19);
	json_t *list = body;
	int64_t gen = 0;
	if (v19) {
		static const char *const keys[] = { "aggregates", "resource_provider_generation", NULL };
		if ((rc = plc_v_object(r, body, keys, keys)) < 0 ||
		    (rc = plc_v_int(r, body, "resource_provider_generation", INT64_MIN, INT64_MAX, &gen, NULL)) < 0)
			return rc;
		list = json_object_get(body, "aggregates");
	}
	if (!json_is_array(list))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type 'array'",
				 plc_repr(r, list));
	size_t n = json_array_size(list);
	if (n > PLC_MAX_ITEMS)
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: too many aggregates");
	const char **aggs = arena_alloc(r->arena, (n + 1) * sizeof *aggs);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(list, i);
		char *d = arena_alloc(r->arena, 37);
		if (!json_is_string(v))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type "
					 "'string'", plc_repr(r, v));
		if (!plc_uuid_like(json_string_value(v), d))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not a 'uuid'",
					 plc_repr(r, v));
		for (size_t k = 0; k < i; k++)
			if (json_equal(v, json_array_get(list, k)))
				return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s has "
						 "non-unique elements", plc_repr(r, list));
		aggs[i] = d;
	}
	if (v19 && gen != rp.generation)
		return plc_error(r, ERR_CONFLICT, PLC_CODE_CONCURRENT, "Resource provider's generation "
				 "already changed. Please update the generation and try again.");
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	struct plc_err e = { 0 };
	rc = plc_tx_end(c, own, plc_aggs_replace(c, &rp, aggs, (int)n, v19, &e));
	if (rc == ERR_CONFLICT)
		return plc_error_from(r, rc, &e);
	if (rc < 0)
		return plc_db_error(r, rc);
	return plc_reply(r, 200, render(r, &rp, json_deep_copy(list)), 0);
}

const struct route plc_routes_aggregates[] = {
	{ "GET", "/resource_providers/{uuid}/aggregates", get,
	  "placement:resource_providers:aggregates:list", 0, NULL },
	{ "PUT", "/resource_providers/{uuid}/aggregates", put,
	  "placement:resource_providers:aggregates:update", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
