/* allocations.c — allocations: the shared write (replace a consumer's allocations, checking
 * every touched inventory's capacity and unit rules against provider rows locked by a generation
 * bump, consumer generations from 1.28), and GET/PUT/DELETE /allocations/{consumer_uuid},
 * POST /allocations (1.13) and GET /resource_providers/{uuid}/allocations. A consumer exists while
 * it holds allocations. */
#include "placement/plc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Placement's [placement] incomplete_consumer_{project,user}_id defaults (allocations written
 * before 1.8 carry no owner). */
#define INCOMPLETE_ID "00000000-0000-0000-0000-000000000000"

struct consumer {
	bool found;
	int64_t generation;
	char project[256], user[256], type[256];
	bool has_type;
};

static int load_consumer(struct db_conn *c, const char *uuid, struct consumer *out)
{
	memset(out, 0, sizeof *out);
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT project_id, user_id, consumer_type, generation FROM plc_consumers "
		     "WHERE uuid = ?", DB_TEXT(uuid)) < 0)
		return ERR_INTERNAL;
	if (db_rows_count(rows)) {
		out->found = true;
		snprintf(out->project, sizeof out->project, "%s", db_text(rows, 0, 0));
		snprintf(out->user, sizeof out->user, "%s", db_text(rows, 0, 1));
		out->has_type = !db_isnull(rows, 0, 2);
		if (out->has_type)
			snprintf(out->type, sizeof out->type, "%s", db_text(rows, 0, 2));
		out->generation = db_int(rows, 0, 3);
	}
	db_rows_free(rows);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks the summed amounts of (rp, rc) against the inventory, with the providers locked. */
static int check_capacity(struct db_conn *c, const char *rp, const char *rc, int64_t sum,
			  const struct plc_consumer_write *w, int n, struct plc_err *e)
{
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT total, reserved, min_unit, max_unit, step_size, allocation_ratio, "
		     "COALESCE((SELECT SUM(a.used) FROM plc_allocations a WHERE a.provider_uuid = i.provider_uuid "
		     "AND a.rc = i.rc), 0) FROM plc_inventories i WHERE i.provider_uuid = ? AND i.rc = ?",
		     DB_TEXT(rp), DB_TEXT(rc)) < 0)
		return plc_fail(e, ERR_INTERNAL, NULL, "database error");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return plc_fail(e, ERR_CONFLICT, NULL, "Unable to allocate inventory: Inventory for '%s' on "
				"resource provider '%s' invalid.", rc, rp);
	}
	struct plc_inv inv = { 0 };
	inv.total = db_int(rows, 0, 0);
	inv.reserved = db_int(rows, 0, 1);
	inv.min_unit = db_int(rows, 0, 2);
	inv.max_unit = db_int(rows, 0, 3);
	inv.step_size = db_int(rows, 0, 4);
	inv.ratio = strtod(db_text(rows, 0, 5), NULL);
	int64_t used = db_int(rows, 0, 6);
	db_rows_free(rows);
	for (int k = 0; k < n; k++)
		for (int i = 0; i < w[k].nallocs; i++) {
			const struct plc_alloc *a = &w[k].allocs[i];
			if (strcmp(a->rp, rp) || strcmp(a->rc, rc))
				continue;
			if (a->used < inv.min_unit || a->used > inv.max_unit ||
			    (inv.step_size > 0 && a->used % inv.step_size))
				return plc_fail(e, ERR_CONFLICT, NULL, "Unable to allocate inventory: Unable to "
						"create allocation for '%s' on resource provider '%s'. The requested "
						"amount would violate inventory constraints.", rc, rp);
		}
	if ((double)(used + sum) > plc_inv_capacity(&inv))
		return plc_fail(e, ERR_CONFLICT, NULL, "Unable to allocate inventory: Unable to create "
				"allocation for '%s' on resource provider '%s'. The requested amount would "
				"exceed the capacity.", rc, rp);
	return 0;
}

int plc_alloc_write(struct db_conn *c, const struct plc_consumer_write *w, int n, struct plc_err *e)
{
	/* 1. what is named must exist */
	int total = 0;
	for (int k = 0; k < n; k++) {
		for (int i = 0; i < w[k].nallocs; i++) {
			const struct plc_alloc *a = &w[k].allocs[i];
			struct plc_rp rp;
			int rc = plc_rp_load(c, a->rp, &rp);
			if (rc == ERR_NOTFOUND)
				return plc_fail(e, ERR_BADREQ, NULL, "Allocation for resource provider '%s' that "
						"does not exist.", a->rp);
			if (rc < 0)
				return plc_fail(e, ERR_INTERNAL, NULL, "database error");
			if (!plc_rc_exists(c, a->rc))
				return plc_fail(e, ERR_BADREQ, NULL, "Unable to allocate inventory for consumer "
						"%s: No such resource class %s.", w[k].uuid, a->rc);
		}
		total += w[k].nallocs;
	}
	struct consumer *cons = xcalloc((size_t)n + 1, sizeof *cons);
	const char **rps = xcalloc((size_t)total + 1, sizeof *rps);
	int *order = xcalloc((size_t)n + 1, sizeof *order);
	int rc = 0;
	int64_t now = time_now_us();
	/* 2. lock the providers first, in one order, so concurrent writers queue instead of deadlocking */
	int nrps = 0;
	for (int k = 0; k < n; k++)
		for (int i = 0; i < w[k].nallocs; i++)
			rps[nrps++] = w[k].allocs[i].rp;
	qsort(rps, (size_t)nrps, sizeof *rps, cmp_str);
	for (int i = 0; i < nrps && rc == 0; i++) {
		if (i && !strcmp(rps[i], rps[i - 1]))
			continue;
		if (plc_rp_bump(c, rps[i], -1, NULL) < 0)
			rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
	}
	if (rc < 0)
		goto out;
	for (int k = 0; k < n; k++)
		order[k] = k;
	for (int k = 1; k < n; k++)          /* insertion sort of the consumers by uuid */
		for (int j = k; j > 0 && strcmp(w[order[j - 1]].uuid, w[order[j]].uuid) > 0; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	/* 3. consumers (in uuid order, so writers lock rows in one order): generations,
	 * creation, owner updates, their old allocations removed */
	for (int j = 0; j < n && rc == 0; j++) {
		int k = order[j];
		const struct plc_consumer_write *cw = &w[k];
		if (load_consumer(c, cw->uuid, &cons[k]) < 0) {
			rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
			break;
		}
		if (cw->check_generation) {
			if (cons[k].found && (cw->gen_null || cw->generation != cons[k].generation)) {
				char got[32];
				snprintf(got, sizeof got, cw->gen_null ? "None" : "%lld", (long long)cw->generation);
				rc = plc_fail(e, ERR_CONFLICT, PLC_CODE_CONCURRENT, "consumer generation conflict "
					      "- expected %lld but got %s", (long long)cons[k].generation, got);
				break;
			}
			if (!cons[k].found && !cw->gen_null) {
				rc = plc_fail(e, ERR_CONFLICT, PLC_CODE_CONCURRENT, "consumer generation conflict "
					      "- expected null but got %lld", (long long)cw->generation);
				break;
			}
		}
		const char *project = cw->project_id ? cw->project_id : INCOMPLETE_ID;
		const char *user = cw->project_id ? cw->user_id : INCOMPLETE_ID;
		if (!cons[k].found && cw->nallocs) {
			int x = db_exec(c, "INSERT INTO plc_consumers (uuid, project_id, user_id, consumer_type, "
					"generation, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
					DB_TEXT(cw->uuid), DB_TEXT(project), DB_TEXT(user),
					DB_TEXT(cw->consumer_type), DB_INT(now), DB_INT(now));
			if (x < 0) {
				rc = x == ERR_CONFLICT
					? plc_fail(e, x, PLC_CODE_CONCURRENT, "Inventory and/or allocations changed "
						   "while attempting to allocate: Another thread concurrently updated "
						   "the data. Please retry your update")
					: plc_fail(e, ERR_INTERNAL, NULL, "database error");
				break;
			}
			cons[k].found = true;
			cons[k].generation = 0;
		} else if (cons[k].found &&
			   (strcmp(cons[k].project, project) || strcmp(cons[k].user, user) ||
			    (cw->consumer_type && (!cons[k].has_type || strcmp(cons[k].type, cw->consumer_type))))) {
			if (db_exec(c, "UPDATE plc_consumers SET project_id = ?, user_id = ?, consumer_type = "
				    "COALESCE(?, consumer_type), updated_at = ? WHERE uuid = ?", DB_TEXT(project),
				    DB_TEXT(user), DB_TEXT(cw->consumer_type), DB_INT(now), DB_TEXT(cw->uuid)) < 0) {
				rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
				break;
			}
		}
		if (db_exec(c, "DELETE FROM plc_allocations WHERE consumer_uuid = ?", DB_TEXT(cw->uuid)) < 0)
			rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
	}
	if (rc < 0)
		goto out;
	/* 4. capacity of every touched (provider, class), the write summed up */
	for (int k = 0; k < n && rc == 0; k++)
		for (int i = 0; i < w[k].nallocs && rc == 0; i++) {
			const struct plc_alloc *a = &w[k].allocs[i];
			bool seen = false;      /* each (rp, rc) once, with the sum over the whole write */
			int64_t sum = 0;
			for (int kk = 0; kk < n; kk++)
				for (int ii = 0; ii < w[kk].nallocs; ii++) {
					const struct plc_alloc *b = &w[kk].allocs[ii];
					if (strcmp(a->rp, b->rp) || strcmp(a->rc, b->rc))
						continue;
					if (kk < k || (kk == k && ii < i))
						seen = true;
					sum += b->used;
				}
			if (!seen)
				rc = check_capacity(c, a->rp, a->rc, sum, w, n, e);
		}
	if (rc < 0)
		goto out;
	/* 5. write, bump or drop the consumers */
	for (int k = 0; k < n && rc == 0; k++) {
		const struct plc_consumer_write *cw = &w[k];
		for (int i = 0; i < cw->nallocs && rc == 0; i++) {
			const struct plc_alloc *a = &cw->allocs[i];
			int64_t used = 0;       /* one row per (provider, class): repeats add up */
			bool first = true;
			for (int j = 0; j < cw->nallocs; j++)
				if (!strcmp(cw->allocs[j].rp, a->rp) && !strcmp(cw->allocs[j].rc, a->rc)) {
					first &= j >= i;
					used += cw->allocs[j].used;
				}
			if (first && db_exec(c, "INSERT INTO plc_allocations (consumer_uuid, provider_uuid, rc, "
					     "used, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
					     DB_TEXT(cw->uuid), DB_TEXT(a->rp), DB_TEXT(a->rc), DB_INT(used),
					     DB_INT(now), DB_INT(now)) < 0)
				rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
		}
		if (rc < 0)
			break;
		if (!cw->nallocs) {
			if (cons[k].found && db_exec(c, "DELETE FROM plc_consumers WHERE uuid = ?",
						     DB_TEXT(cw->uuid)) < 0)
				rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
			continue;
		}
		int x = db_exec(c, "UPDATE plc_consumers SET generation = generation + 1, updated_at = ? "
				"WHERE uuid = ? AND generation = ?", DB_INT(now), DB_TEXT(cw->uuid),
				DB_INT(cons[k].generation));
		if (x == 0)
			rc = plc_fail(e, ERR_CONFLICT, PLC_CODE_CONCURRENT, "Inventory and/or allocations "
				      "changed while attempting to allocate: Another thread concurrently updated "
				      "the data. Please retry your update");
		else if (x < 0)
			rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
	}
out:
	free(cons);
	free(rps);
	free(order);
	return rc;
}

int plc_alloc_delete(struct db_conn *c, const char *consumer, bool *found)
{
	*found = false;
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT DISTINCT provider_uuid FROM plc_allocations WHERE consumer_uuid = ? "
		     "ORDER BY provider_uuid", DB_TEXT(consumer)) < 0)
		return ERR_INTERNAL;
	int rc = 0;
	*found = db_rows_count(rows) > 0;
	db_rows_free(rows);
	if (db_exec(c, "DELETE FROM plc_allocations WHERE consumer_uuid = ?", DB_TEXT(consumer)) < 0 ||
	    db_exec(c, "DELETE FROM plc_consumers WHERE uuid = ?", DB_TEXT(consumer)) < 0)
		rc = ERR_INTERNAL;
	return rc;
}

/* --- HTTP --- */

static int write_reply(struct http_req *r, const struct plc_consumer_write *w, int n)
{
	struct db_conn *c = plc_db(r);
	bool own;
	int rc = plc_tx_begin(c, &own);
	if (rc < 0)
		return plc_db_error(r, rc);
	struct plc_err e = { 0 };
	rc = plc_tx_end(c, own, plc_alloc_write(c, w, n, &e));
	if (rc == ERR_INTERNAL)
		return plc_db_error(r, rc);
	if (rc < 0)
		return plc_error_from(r, rc, &e);
	return http_reply_empty(r, 204);
}

/* The resources object of one provider: {RC: amount >= 1, ...} (at least one). */
static int parse_resources(struct http_req *r, const json_t *res, const char *rp,
			   struct plc_alloc *out, int *n, int max)
{
	if (!json_is_object(res))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type 'object'",
				 plc_repr(r, res));
	if (!json_object_size(res))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: {} does not have enough "
				 "properties");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)res, key, v) {
		if (!plc_name_ok(key) || strlen(key) > PLC_CLASS_MAX)
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: Additional properties "
					 "are not allowed ('%.200s' was unexpected)", key);
		int64_t amount;
		if (!json_is_integer(v) && !(json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v)))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type "
					 "'integer'", plc_repr(r, v));
		amount = json_is_integer(v) ? json_integer_value(v) : (int64_t)json_real_value(v);
		if (amount < 1)
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %lld is less than the "
					 "minimum of 1", (long long)amount);
		if (amount > PLC_MAX_INT)       /* the database's integer, as in Placement */
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %lld is greater than "
					 "the maximum of %lld", (long long)amount, PLC_MAX_INT);
		if (*n == max)
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: too many allocations");
		out[*n] = (struct plc_alloc){ rp, key, amount };
		(*n)++;
	}
	return 0;
}

/* The allocations of one consumer in the dict form (1.12+): {RP_UUID: {"resources": {...},
 * "generation": N}}. */
static int parse_alloc_dict(struct http_req *r, const json_t *allocs, bool allow_empty,
			    struct plc_alloc **out, int *n)
{
	if (!json_is_object(allocs))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type 'object'",
				 plc_repr(r, allocs));
	if (!allow_empty && !json_object_size(allocs))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: {} does not have enough "
				 "properties");
	*n = 0;
	size_t total = 0;           /* room for every class named (checked below) */
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)allocs, key, v)
		total += json_is_object(json_object_get(v, "resources"))
			 ? json_object_size(json_object_get(v, "resources")) : 0;
	if (total > PLC_MAX_ITEMS)
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: too many allocations");
	*out = arena_alloc(r->arena, (total + 1) * sizeof **out);
	json_object_foreach((json_t *)allocs, key, v) {
		bool pat = strlen(key) == 36;
		for (const char *p = key; *p && pat; p++)
			pat = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == '-';
		if (!pat)
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: Additional properties "
					 "are not allowed ('%.200s' was unexpected)", key);
		static const char *const allowed[] = { "generation", "resources", NULL };
		static const char *const required[] = { "resources", NULL };
		int64_t gen;
		int rc;
		if ((rc = plc_v_object(r, v, allowed, required)) < 0 ||
		    (rc = plc_v_int(r, v, "generation", INT64_MIN, INT64_MAX, &gen, NULL)) < 0 ||
		    (rc = parse_resources(r, json_object_get(v, "resources"), key, *out, n, (int)total)) < 0)
			return rc;
	}
	return 0;
}

/* The list form (before 1.12): [{"resource_provider": {"uuid": U}, "resources": {...}}]. */
static int parse_alloc_list(struct http_req *r, const json_t *allocs, struct plc_alloc **out, int *n)
{
	if (!json_is_array(allocs))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type 'array'",
				 plc_repr(r, allocs));
	if (!json_array_size(allocs))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: [] is too short");
	*n = 0;
	*out = arena_alloc(r->arena, PLC_MAX_ITEMS * sizeof **out);
	size_t i;
	json_t *item;
	json_array_foreach(allocs, i, item) {
		static const char *const keys[] = { "resource_provider", "resources", NULL };
		static const char *const rpkeys[] = { "uuid", NULL };
		int rc = plc_v_object(r, item, keys, keys);
		if (rc < 0)
			return rc;
		json_t *rp = json_object_get(item, "resource_provider");
		const char *uuid;
		if ((rc = plc_v_object(r, rp, rpkeys, rpkeys)) < 0 ||
		    (rc = plc_v_string(r, rp, "uuid", 0, SIZE_MAX, &uuid)) < 0)
			return rc;
		if (!plc_uuid_like(uuid, NULL))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: '%s' is not a 'uuid'", uuid);
		if ((rc = parse_resources(r, json_object_get(item, "resources"), uuid, *out, n, PLC_MAX_ITEMS)) < 0)
			return rc;
	}
	return 0;
}

/* One consumer's body at mv >= 1.12 (PUT, or each value of POST): fills w. */
static int parse_consumer(struct http_req *r, const json_t *body, bool post, struct plc_consumer_write *w)
{
	bool v28 = plc_ge(r, 1, 28), v34 = plc_ge(r, 1, 34), v38 = plc_ge(r, 1, 38);
	const char *allowed[8] = { "allocations", "project_id", "user_id" }, *required[8] = {
		"allocations", "project_id", "user_id" };
	int na = 3, nr = 3;
	if (v28) {
		allowed[na++] = "consumer_generation";
		required[nr++] = "consumer_generation";
	}
	if (v34)
		allowed[na++] = "mappings";
	if (v38) {
		allowed[na++] = "consumer_type";
		required[nr++] = "consumer_type";
	}
	allowed[na] = required[nr] = NULL;
	int rc;
	if ((rc = plc_v_object(r, body, allowed, required)) < 0 ||
	    (rc = plc_v_string(r, body, "project_id", 1, 255, &w->project_id)) < 0 ||
	    (rc = plc_v_string(r, body, "user_id", 1, 255, &w->user_id)) < 0)
		return rc;
	if (v38) {
		if ((rc = plc_v_string(r, body, "consumer_type", 1, 255, &w->consumer_type)) < 0)
			return rc;
		if (!plc_name_ok(w->consumer_type))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: '%s' does not match "
					 "'^[A-Z0-9_]+$'", w->consumer_type);
	}
	if (v28) {
		json_t *g = json_object_get(body, "consumer_generation");
		w->check_generation = true;
		if (json_is_null(g))
			w->gen_null = true;
		else if (json_is_integer(g))
			w->generation = json_integer_value(g);
		else
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type "
					 "'integer', 'null'", plc_repr(r, g));
	}
	if (v34) {
		json_t *m = json_object_get(body, "mappings");
		if (m && (!json_is_object(m) || !json_object_size(m)))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not a valid "
					 "mappings object", plc_repr(r, m));
	}
	struct plc_alloc *allocs = NULL;
	if ((rc = parse_alloc_dict(r, json_object_get(body, "allocations"), post || v28, &allocs,
				   &w->nallocs)) < 0)
		return rc;
	w->allocs = allocs;
	return 0;
}

static int put_consumer(struct http_req *r)
{
	int rc = plc_require_json(r);
	if (rc < 0)
		return rc;
	const char *raw = http_param(r, "consumer_uuid");
	char *uuid = arena_alloc(r->arena, 37);
	if (!plc_uuid_like(raw, uuid))
		return plc_error(r, ERR_BADREQ, NULL, "Malformed consumer_uuid: %s", raw);
	json_t *body;
	if ((rc = plc_body(r, &body)) < 0)
		return rc;
	struct plc_consumer_write w = { .uuid = uuid };
	if (plc_ge(r, 1, 12)) {
		if ((rc = parse_consumer(r, body, false, &w)) < 0)
			return rc;
	} else {
		static const char *const keys[] = { "allocations", NULL };
		static const char *const keys8[] = { "allocations", "project_id", "user_id", NULL };
		bool v8 = plc_ge(r, 1, 8);
		struct plc_alloc *allocs = NULL;
		if ((rc = plc_v_object(r, body, v8 ? keys8 : keys, v8 ? keys8 : keys)) < 0 ||
		    (v8 && (rc = plc_v_string(r, body, "project_id", 1, 255, &w.project_id)) < 0) ||
		    (v8 && (rc = plc_v_string(r, body, "user_id", 1, 255, &w.user_id)) < 0) ||
		    (rc = parse_alloc_list(r, json_object_get(body, "allocations"), &allocs, &w.nallocs)) < 0)
			return rc;
		for (int i = 0; i < w.nallocs; i++) {       /* providers as dashed lowercase uuids */
			char *d = arena_alloc(r->arena, 37);
			plc_uuid_like(allocs[i].rp, d);
			allocs[i].rp = d;
		}
		w.allocs = allocs;
	}
	return write_reply(r, &w, 1);
}

static int post_allocations(struct http_req *r)
{
	int rc = plc_require_json(r);
	if (rc < 0)
		return rc;
	if (!plc_ge(r, 1, 13))
		return plc_not_found_version(r);
	json_t *body;
	if ((rc = plc_body(r, &body)) < 0)
		return rc;
	if (!json_is_object(body))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type 'object'",
				 plc_repr(r, body));
	size_t n = json_object_size(body);
	if (!n)
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: {} does not have enough "
				 "properties");
	if (n > PLC_MAX_ITEMS)
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: too many consumers");
	struct plc_consumer_write *w = arena_alloc(r->arena, n * sizeof *w);
	int k = 0;
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		char *d = arena_alloc(r->arena, 37);
		if (strlen(key) != 36 || !plc_uuid_like(key, d))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: Additional properties "
					 "are not allowed ('%.200s' was unexpected)", key);
		w[k].uuid = d;
		if ((rc = parse_consumer(r, v, true, &w[k])) < 0)
			return rc;
		k++;
	}
	return write_reply(r, w, k);
}

static int get_consumer(struct http_req *r)
{
	const char *raw = http_param(r, "consumer_uuid");
	struct db_conn *c = plc_db(r);
	struct db_rows *rows;
	int rc = db_query(c, &rows, "SELECT a.provider_uuid, p.generation, a.rc, a.used, a.updated_at "
			  "FROM plc_allocations a JOIN plc_providers p ON p.uuid = a.provider_uuid WHERE "
			  "a.consumer_uuid = ? ORDER BY a.provider_uuid, a.rc", DB_TEXT(raw));
	if (rc < 0)
		return plc_db_error(r, rc);
	json_t *allocs = json_object();
	int64_t last = 0;
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *rp = db_text(rows, i, 0);
		json_t *o = json_object_get(allocs, rp);
		if (!o) {
			o = json_pack("{s:{},s:I}", "resources", "generation", (json_int_t)db_int(rows, i, 1));
			json_object_set_new(allocs, rp, o);
		}
		json_object_set_new(json_object_get(o, "resources"), db_text(rows, i, 2),
				    json_integer(db_int(rows, i, 3)));
		if (db_int(rows, i, 4) > last)
			last = db_int(rows, i, 4);
	}
	bool any = db_rows_count(rows) > 0;
	db_rows_free(rows);
	json_t *out = json_pack("{s:o}", "allocations", allocs);
	struct consumer cons;
	if (any && plc_ge(r, 1, 12) && load_consumer(c, raw, &cons) == 0 && cons.found) {
		json_object_set_new(out, "project_id", json_string(cons.project));
		json_object_set_new(out, "user_id", json_string(cons.user));
		if (plc_ge(r, 1, 28))
			json_object_set_new(out, "consumer_generation", json_integer(cons.generation));
		if (plc_ge(r, 1, 38))
			json_object_set_new(out, "consumer_type", json_string(cons.has_type ? cons.type : "unknown"));
	}
	return plc_reply(r, 200, out, last);
}

static int delete_consumer(struct http_req *r)
{
	const char *raw = http_param(r, "consumer_uuid");
	struct db_conn *c = plc_db(r);
	bool own, found = false;
	int rc = plc_tx_begin(c, &own);
	if (rc < 0)
		return plc_db_error(r, rc);
	rc = plc_tx_end(c, own, plc_alloc_delete(c, raw, &found));
	if (rc < 0)
		return plc_db_error(r, rc);
	if (!found)
		return plc_error(r, ERR_NOTFOUND, NULL, "No allocations for consumer '%s'", raw);
	return http_reply_empty(r, 204);
}

static int provider_allocations(struct http_req *r)
{
	const char *uuid = http_param(r, "uuid");
	struct db_conn *c = plc_db(r);
	struct plc_rp rp;
	int rc = plc_rp_load(c, uuid, &rp);
	if (rc == ERR_NOTFOUND)
		return plc_error(r, rc, NULL, "Resource provider '%s' not found: No resource provider with "
				 "uuid %s found", uuid, uuid);
	if (rc < 0)
		return plc_db_error(r, rc);
	struct db_rows *rows;
	rc = db_query(c, &rows, "SELECT a.consumer_uuid, a.rc, a.used, c.generation, a.updated_at FROM "
		      "plc_allocations a LEFT JOIN plc_consumers c ON c.uuid = a.consumer_uuid WHERE "
		      "a.provider_uuid = ? ORDER BY a.consumer_uuid, a.rc", DB_TEXT(uuid));
	if (rc < 0)
		return plc_db_error(r, rc);
	json_t *allocs = json_object();
	int64_t last = 0;
	bool v28 = plc_ge(r, 1, 28);
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *cu = db_text(rows, i, 0);
		json_t *o = json_object_get(allocs, cu);
		if (!o) {
			o = json_pack("{s:{}}", "resources");
			if (v28)
				json_object_set_new(o, "consumer_generation", db_isnull(rows, i, 3) ? json_null()
						    : json_integer(db_int(rows, i, 3)));
			json_object_set_new(allocs, cu, o);
		}
		json_object_set_new(json_object_get(o, "resources"), db_text(rows, i, 1),
				    json_integer(db_int(rows, i, 2)));
		if (db_int(rows, i, 4) > last)
			last = db_int(rows, i, 4);
	}
	db_rows_free(rows);
	return plc_reply(r, 200, json_pack("{s:o,s:I}", "allocations", allocs, "resource_provider_generation",
					   (json_int_t)rp.generation), last);
}

const struct route plc_routes_allocations[] = {
	{ "POST", "/allocations", post_allocations, "placement:allocations:manage", 0, NULL },
	{ "GET", "/allocations/{consumer_uuid}", get_consumer, "placement:allocations:list", 0, NULL },
	{ "PUT", "/allocations/{consumer_uuid}", put_consumer, "placement:allocations:update", 0, NULL },
	{ "DELETE", "/allocations/{consumer_uuid}", delete_consumer, "placement:allocations:delete", 0, NULL },
	{ "GET", "/resource_providers/{uuid}/allocations", provider_allocations,
	  "placement:resource_providers:allocations:list", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
