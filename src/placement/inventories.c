/* inventories.c — a provider's inventories: the shared replace-all operation (used by PUT
 * /inventories, DELETE /inventories and placement_provider_ensure) and the handlers of
 * /resource_providers/{uuid}/inventories[/{resource_class}]. Every change bumps the provider's
 * generation; lowering an inventory below its usage is allowed (logged), removing one that has
 * allocations is a 409. */
#include "placement/plc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INV_COLUMNS "rc, total, reserved, min_unit, max_unit, step_size, allocation_ratio, updated_at"

double plc_inv_capacity(const struct plc_inv *inv)
{
	return (double)(inv->total - inv->reserved) * inv->ratio;
}

static void inv_from_row(const struct db_rows *rows, int i, struct plc_inv *inv)
{
	snprintf(inv->rc, sizeof inv->rc, "%s", db_text(rows, i, 0));
	inv->total = db_int(rows, i, 1);
	inv->reserved = db_int(rows, i, 2);
	inv->min_unit = db_int(rows, i, 3);
	inv->max_unit = db_int(rows, i, 4);
	inv->step_size = db_int(rows, i, 5);
	const char *ratio = db_text(rows, i, 6);
	inv->ratio = ratio ? strtod(ratio, NULL) : 1.0;
}

static bool inv_same(const struct plc_inv *a, const struct plc_inv *b)
{
	return a->total == b->total && a->reserved == b->reserved && a->min_unit == b->min_unit &&
	       a->max_unit == b->max_unit && a->step_size == b->step_size &&
	       fabs(a->ratio - b->ratio) < 1e-9;
}

static int64_t usage_of(struct db_conn *c, const char *rp, const char *rc)
{
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT COALESCE(SUM(used), 0) FROM plc_allocations WHERE "
		     "provider_uuid = ? AND rc = ?", DB_TEXT(rp), DB_TEXT(rc)) < 0)
		return -1;
	int64_t u = db_rows_count(rows) ? db_int(rows, 0, 0) : 0;
	db_rows_free(rows);
	return u;
}

int plc_inv_replace(struct db_conn *c, struct plc_rp *rp, const struct plc_inv *inv, int n,
		    bool only_if_changed, bool *changed, struct plc_err *e)
{
	if (changed)
		*changed = false;
	for (int i = 0; i < n; i++)
		if (!plc_rc_exists(c, inv[i].rc))
			return plc_fail(e, ERR_BADREQ, NULL, "No such resource class %s.", inv[i].rc);
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT " INV_COLUMNS " FROM plc_inventories WHERE provider_uuid = ?",
		     DB_TEXT(rp->uuid)) < 0)
		return plc_fail(e, ERR_INTERNAL, NULL, "database error");
	int nold = db_rows_count(rows);
	struct plc_inv *old = xcalloc((size_t)nold + 1, sizeof *old);
	for (int i = 0; i < nold; i++)
		inv_from_row(rows, i, &old[i]);
	db_rows_free(rows);
	bool diff = false;
	char inuse[512] = "";
	for (int i = 0; i < nold; i++) {
		int j;
		for (j = 0; j < n && strcmp(old[i].rc, inv[j].rc); j++)
			;
		if (j == n) {
			diff = true;
			int64_t u = usage_of(c, rp->uuid, old[i].rc);
			if (u < 0) {
				free(old);
				return plc_fail(e, ERR_INTERNAL, NULL, "database error");
			}
			if (u > 0) {
				size_t l = strlen(inuse);
				snprintf(inuse + l, sizeof inuse - l, "%s%s", l ? ", " : "", old[i].rc);
			}
		} else if (!inv_same(&old[i], &inv[j])) {
			diff = true;
		}
	}
	if (n != nold)
		diff = true;
	int rc = 0;
	if (*inuse) {
		rc = plc_fail(e, ERR_CONFLICT, PLC_CODE_INUSE, "Inventory for '%s' on resource provider "
			      "'%s' in use.", inuse, rp->uuid);
		goto out;
	}
	if (changed)
		*changed = diff;
	if (only_if_changed && !diff)
		goto out;
	rc = plc_rp_bump(c, rp->uuid, rp->generation, rp);
	if (rc == ERR_CONFLICT) {
		rc = plc_fail(e, rc, PLC_CODE_CONCURRENT, "Another thread concurrently updated the resource "
			      "provider data. Please retry your update");
		goto out;
	}
	if (rc < 0)
		goto dberr;
	int64_t now = time_now_us();
	for (int i = 0; i < nold; i++) {
		int j;
		for (j = 0; j < n && strcmp(old[i].rc, inv[j].rc); j++)
			;
		if (j < n)
			continue;
		if (db_exec(c, "DELETE FROM plc_inventories WHERE provider_uuid = ? AND rc = ?",
			    DB_TEXT(rp->uuid), DB_TEXT(old[i].rc)) < 0)
			goto dberr;
	}
	for (int j = 0; j < n; j++) {
		const struct plc_inv *v = &inv[j];
		int i;
		for (i = 0; i < nold && strcmp(old[i].rc, v->rc); i++)
			;
		char ratio[64];
		snprintf(ratio, sizeof ratio, "%.17g", v->ratio);
		if (i == nold) {
			if (db_exec(c, "INSERT INTO plc_inventories (provider_uuid, rc, total, reserved, min_unit, "
				    "max_unit, step_size, allocation_ratio, created_at, updated_at) VALUES "
				    "(?, ?, ?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION), ?, ?)", DB_TEXT(rp->uuid),
				    DB_TEXT(v->rc), DB_INT(v->total), DB_INT(v->reserved), DB_INT(v->min_unit),
				    DB_INT(v->max_unit), DB_INT(v->step_size), DB_TEXT(ratio), DB_INT(now),
				    DB_INT(now)) < 0)
				goto dberr;
			continue;
		}
		if (inv_same(&old[i], v))
			continue;
		int64_t u = usage_of(c, rp->uuid, v->rc);
		if (u > plc_inv_capacity(v))
			log_warn("Resource provider %s is now over-capacity for %s", rp->uuid, v->rc);
		if (db_exec(c, "UPDATE plc_inventories SET total = ?, reserved = ?, min_unit = ?, max_unit = ?, "
			    "step_size = ?, allocation_ratio = CAST(? AS DOUBLE PRECISION), updated_at = ? "
			    "WHERE provider_uuid = ? AND rc = ?", DB_INT(v->total), DB_INT(v->reserved),
			    DB_INT(v->min_unit), DB_INT(v->max_unit), DB_INT(v->step_size), DB_TEXT(ratio),
			    DB_INT(now), DB_TEXT(rp->uuid), DB_TEXT(v->rc)) < 0)
			goto dberr;
	}
	goto out;
dberr:
	rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
out:
	free(old);
	return rc;
}

/* --- HTTP --- */

static json_t *render_inv(const struct plc_inv *inv)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "total", (json_int_t)inv->total, "reserved",
			 (json_int_t)inv->reserved, "min_unit", (json_int_t)inv->min_unit, "max_unit",
			 (json_int_t)inv->max_unit, "step_size", (json_int_t)inv->step_size,
			 "allocation_ratio", inv->ratio);
}

static int load_rp(struct http_req *r, struct plc_rp *rp, bool verbose)
{
	const char *uuid = http_param(r, "uuid");
	int rc = plc_rp_load(plc_db(r), uuid, rp);
	if (rc == ERR_NOTFOUND)
		return verbose ? plc_error(r, rc, NULL, "No resource provider with uuid %s found : No "
					   "resource provider with uuid %s found", uuid, uuid)
			       : plc_error(r, rc, NULL, "No resource provider with uuid %s found", uuid);
	return rc < 0 ? plc_db_error(r, rc) : 0;
}

/* Reads one inventory record of a body (defaults filled in); key names the class (NULL: the
 * record carries resource_class). 0 or 400. */
static int parse_record(struct http_req *r, const json_t *o, const char *const *allowed,
			const char *const *required, struct plc_inv *inv)
{
	int rc = plc_v_object(r, o, allowed, required);
	if (rc < 0)
		return rc;
	inv->reserved = 0;
	inv->min_unit = 1;
	inv->max_unit = PLC_MAX_INT;
	inv->step_size = 1;
	inv->ratio = 1.0;
	int64_t gen;
	if ((rc = plc_v_int(r, o, "resource_provider_generation", INT64_MIN, INT64_MAX, &gen, NULL)) < 0 ||
	    (rc = plc_v_int(r, o, "total", 1, PLC_MAX_INT, &inv->total, NULL)) < 0 ||
	    (rc = plc_v_int(r, o, "reserved", 0, PLC_MAX_INT, &inv->reserved, NULL)) < 0 ||
	    (rc = plc_v_int(r, o, "min_unit", 1, PLC_MAX_INT, &inv->min_unit, NULL)) < 0 ||
	    (rc = plc_v_int(r, o, "max_unit", 1, PLC_MAX_INT, &inv->max_unit, NULL)) < 0 ||
	    (rc = plc_v_int(r, o, "step_size", 1, PLC_MAX_INT, &inv->step_size, NULL)) < 0)
		return rc;
	json_t *ar = json_object_get(o, "allocation_ratio");
	if (ar) {
		if (!json_is_number(ar))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type "
					 "'number'", plc_repr(r, ar));
		inv->ratio = json_number_value(ar);
		if (inv->ratio > PLC_MAX_FLOAT)
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is greater than "
					 "the maximum of %g", plc_repr(r, ar), PLC_MAX_FLOAT);
	}
	return 0;
}

/* Placement's capacity rule: (total - reserved) * ratio must be > 0 (>= 0 from 1.26). */
static int check_capacity(struct http_req *r, const struct plc_rp *rp, const struct plc_inv *inv,
			  const char *prefix)
{
	double cap = plc_inv_capacity(inv);
	bool v26 = plc_ge(r, 1, 26);
	if (v26 ? cap < 0 : cap <= 0)
		return plc_error(r, ERR_BADREQ, NULL, "%s%s: Invalid inventory for '%s' on resource "
				 "provider '%s'. The reserved value is greater than %stotal.", prefix,
				 rp->uuid, inv->rc, rp->uuid, v26 ? "" : "or equal to ");
	return 0;
}

static int load_all(struct http_req *r, const char *uuid, struct db_rows **rows)
{
	int rc = db_query(plc_db(r), rows, "SELECT " INV_COLUMNS " FROM plc_inventories WHERE "
			  "provider_uuid = ? ORDER BY rc", DB_TEXT(uuid));
	return rc < 0 ? plc_db_error(r, rc) : 0;
}

static json_t *render_all(struct db_rows *rows, const struct plc_rp *rp, int64_t *last)
{
	json_t *invs = json_object();
	*last = 0;
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct plc_inv inv;
		inv_from_row(rows, i, &inv);
		json_object_set_new(invs, inv.rc, render_inv(&inv));
		if (db_int(rows, i, 7) > *last)
			*last = db_int(rows, i, 7);
	}
	return json_pack("{s:I,s:o}", "resource_provider_generation", (json_int_t)rp->generation,
			 "inventories", invs);
}

static int get_all(struct http_req *r)
{
	struct plc_rp rp;
	struct db_rows *rows;
	int rc = load_rp(r, &rp, true);
	if (rc < 0 || (rc = load_all(r, rp.uuid, &rows)) < 0)
		return rc;
	int64_t last;
	json_t *j = render_all(rows, &rp, &last);
	db_rows_free(rows);
	return plc_reply(r, 200, j, last);
}

/* One inventory with the provider's generation (Placement omits a generation of 0). */
static int reply_one(struct http_req *r, int status, const struct plc_rp *rp, const struct plc_inv *inv,
		     int64_t last)
{
	json_t *j = render_inv(inv);
	if (rp->generation)
		json_object_set_new(j, "resource_provider_generation", json_integer(rp->generation));
	return plc_reply(r, status, j, last);
}

static int get_one(struct http_req *r)
{
	struct plc_rp rp;
	int rc = load_rp(r, &rp, true);
	if (rc < 0)
		return rc;
	const char *rcname = http_param(r, "resource_class");
	struct db_rows *rows;
	rc = db_query(plc_db(r), &rows, "SELECT " INV_COLUMNS " FROM plc_inventories WHERE "
		      "provider_uuid = ? AND rc = ?", DB_TEXT(rp.uuid), DB_TEXT(rcname));
	if (rc < 0)
		return plc_db_error(r, rc);
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return plc_error(r, ERR_NOTFOUND, NULL, "No inventory of class %s for %s", rcname, rp.uuid);
	}
	struct plc_inv inv;
	inv_from_row(rows, 0, &inv);
	int64_t last = db_int(rows, 0, 7);
	db_rows_free(rows);
	return reply_one(r, 200, &rp, &inv, last);
}

static int create_one(struct http_req *r)
{
	int rc = plc_require_json(r);
	struct plc_rp rp;
	json_t *body;
	if (rc < 0 || (rc = load_rp(r, &rp, false)) < 0 || (rc = plc_body(r, &body)) < 0)
		return rc;
	static const char *const allowed[] = { "resource_provider_generation", "total", "reserved",
		"min_unit", "max_unit", "step_size", "allocation_ratio", "resource_class", NULL };
	static const char *const required[] = { "total", "resource_class", NULL };
	struct plc_inv inv = { 0 };
	const char *rcname;
	if ((rc = parse_record(r, body, allowed, required, &inv)) < 0 ||
	    (rc = plc_v_string(r, body, "resource_class", 0, SIZE_MAX, &rcname)) < 0)
		return rc;
	if (!plc_name_ok(rcname) || strlen(rcname) > PLC_CLASS_MAX)
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: '%s' does not match "
				 "'^[A-Z0-9_]+$'", rcname);
	snprintf(inv.rc, sizeof inv.rc, "%s", rcname);
	if ((rc = check_capacity(r, &rp, &inv, "Unable to create inventory for resource provider ")) < 0)
		return rc;
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	int64_t now = time_now_us();
	char ratio[64];
	snprintf(ratio, sizeof ratio, "%.17g", inv.ratio);
	if (!plc_rc_exists(c, inv.rc)) {
		rc = plc_error(r, ERR_BADREQ, NULL, "Unable to create inventory for resource provider %s: "
			       "No such resource class %s.", rp.uuid, inv.rc);
	} else if ((rc = plc_rp_bump(c, rp.uuid, rp.generation, &rp)) < 0) {
		rc = rc == ERR_CONFLICT
			? plc_error(r, rc, PLC_CODE_CONCURRENT, "Update conflict: Another thread concurrently "
				    "updated the resource provider data. Please retry your update")
			: plc_db_error(r, rc);
	} else {
		rc = db_exec(c, "INSERT INTO plc_inventories (provider_uuid, rc, total, reserved, min_unit, "
			     "max_unit, step_size, allocation_ratio, created_at, updated_at) VALUES "
			     "(?, ?, ?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION), ?, ?)", DB_TEXT(rp.uuid),
			     DB_TEXT(inv.rc), DB_INT(inv.total), DB_INT(inv.reserved), DB_INT(inv.min_unit),
			     DB_INT(inv.max_unit), DB_INT(inv.step_size), DB_TEXT(ratio), DB_INT(now), DB_INT(now));
		if (rc == ERR_CONFLICT)
			rc = plc_error(r, rc, PLC_CODE_CONCURRENT, "Update conflict: An inventory of class %s "
				       "already exists on resource provider %s.", inv.rc, rp.uuid);
		else if (rc < 0)
			rc = plc_db_error(r, rc);
	}
	rc = plc_tx_end(c, own, rc < 0 ? rc : 0);
	if (rc < 0)
		return r->err ? rc : plc_db_error(r, rc);
	http_add_header(r, "Location", arena_printf(r->arena, "%s" PLC_PREFIX "/resource_providers/%s/"
						    "inventories/%s", r->base_url, rp.uuid, inv.rc));
	return reply_one(r, 201, &rp, &inv, now);
}

static int set_all(struct http_req *r)
{
	int rc = plc_require_json(r);
	struct plc_rp rp;
	json_t *body;
	if (rc < 0 || (rc = load_rp(r, &rp, false)) < 0 || (rc = plc_body(r, &body)) < 0)
		return rc;
	static const char *const allowed[] = { "resource_provider_generation", "inventories", NULL };
	static const char *const rec_allowed[] = { "resource_provider_generation", "total", "reserved",
		"min_unit", "max_unit", "step_size", "allocation_ratio", NULL };
	static const char *const rec_required[] = { "total", NULL };
	int64_t gen;
	if ((rc = plc_v_object(r, body, allowed, allowed)) < 0 ||
	    (rc = plc_v_int(r, body, "resource_provider_generation", INT64_MIN, INT64_MAX, &gen, NULL)) < 0)
		return rc;
	json_t *invs = json_object_get(body, "inventories");
	if (!json_is_object(invs))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type 'object'",
				 plc_repr(r, invs));
	size_t n = json_object_size(invs);
	if (n > PLC_MAX_ITEMS)
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: too many inventories");
	struct plc_inv *list = arena_alloc(r->arena, (n + 1) * sizeof *list);
	int i = 0;
	const char *key;
	json_t *val;
	json_object_foreach(invs, key, val) {
		if (!plc_name_ok(key) || strlen(key) > PLC_CLASS_MAX)   /* patternProperties only */
			continue;
		if ((rc = parse_record(r, val, rec_allowed, rec_required, &list[i])) < 0)
			return rc;
		snprintf(list[i].rc, sizeof list[i].rc, "%s", key);
		i++;
	}
	if (gen != rp.generation)
		return plc_error(r, ERR_CONFLICT, PLC_CODE_CONCURRENT, "resource provider generation conflict");
	for (int k = 0; k < i; k++)
		if ((rc = check_capacity(r, &rp, &list[k], "Unable to update inventory for resource provider ")) < 0)
			return rc;
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	struct plc_err e = { 0 };
	rc = plc_tx_end(c, own, plc_inv_replace(c, &rp, list, i, false, NULL, &e));
	if (rc == ERR_BADREQ)
		return plc_error(r, rc, NULL, "Unknown resource class in inventory for resource provider "
				 "%s: %s", rp.uuid, e.msg);
	if (rc == ERR_CONFLICT)
		return plc_error(r, rc, e.code, "update conflict: %s", e.msg);
	if (rc < 0)
		return plc_db_error(r, rc);
	struct db_rows *rows;
	if ((rc = load_all(r, rp.uuid, &rows)) < 0)
		return rc;
	int64_t last;
	json_t *j = render_all(rows, &rp, &last);
	db_rows_free(rows);
	return plc_reply(r, 200, j, last);
}

static int delete_all(struct http_req *r)
{
	if (!plc_ge(r, 1, 5))
		return plc_error(r, ERR_METHOD, NULL, "%s", "");
	struct plc_rp rp;
	int rc = load_rp(r, &rp, false);
	if (rc < 0)
		return rc;
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	struct plc_err e = { 0 };
	rc = plc_tx_end(c, own, plc_inv_replace(c, &rp, NULL, 0, false, NULL, &e));
	if (rc == ERR_CONFLICT && e.code && !strcmp(e.code, PLC_CODE_CONCURRENT))
		return plc_error(r, rc, e.code, "Unable to delete inventory for resource provider %s "
				 "because the inventory was updated by another process. Please retry your "
				 "request.", rp.uuid);
	if (rc == ERR_CONFLICT)
		return plc_error_from(r, rc, &e);
	if (rc < 0)
		return plc_db_error(r, rc);
	return http_reply_empty(r, 204);
}

static int update_one(struct http_req *r)
{
	int rc = plc_require_json(r);
	struct plc_rp rp;
	json_t *body;
	if (rc < 0 || (rc = load_rp(r, &rp, false)) < 0 || (rc = plc_body(r, &body)) < 0)
		return rc;
	static const char *const allowed[] = { "resource_provider_generation", "total", "reserved",
		"min_unit", "max_unit", "step_size", "allocation_ratio", NULL };
	static const char *const required[] = { "total", "resource_provider_generation", NULL };
	struct plc_inv inv = { 0 };
	int64_t gen = 0;
	if ((rc = parse_record(r, body, allowed, required, &inv)) < 0 ||
	    (rc = plc_v_int(r, body, "resource_provider_generation", INT64_MIN, INT64_MAX, &gen, NULL)) < 0)
		return rc;
	const char *rcname = http_param(r, "resource_class");
	snprintf(inv.rc, sizeof inv.rc, "%s", rcname);
	if (gen != rp.generation)
		return plc_error(r, ERR_CONFLICT, PLC_CODE_CONCURRENT, "resource provider generation conflict");
	if ((rc = check_capacity(r, &rp, &inv, "Unable to update inventory for resource provider ")) < 0)
		return rc;
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	int64_t now = time_now_us();
	char ratio[64];
	snprintf(ratio, sizeof ratio, "%.17g", inv.ratio);
	if (!plc_rc_exists(c, rcname)) {
		rc = plc_error(r, ERR_NOTFOUND, NULL, "No such resource class %s.", rcname);
	} else if ((rc = plc_rp_bump(c, rp.uuid, rp.generation, &rp)) < 0) {
		rc = rc == ERR_CONFLICT
			? plc_error(r, rc, PLC_CODE_CONCURRENT, "update conflict: Another thread concurrently "
				    "updated the resource provider data. Please retry your update")
			: plc_db_error(r, rc);
	} else {
		int64_t u = usage_of(c, rp.uuid, rcname);
		rc = db_exec(c, "UPDATE plc_inventories SET total = ?, reserved = ?, min_unit = ?, max_unit = ?, "
			     "step_size = ?, allocation_ratio = CAST(? AS DOUBLE PRECISION), updated_at = ? "
			     "WHERE provider_uuid = ? AND rc = ?", DB_INT(inv.total), DB_INT(inv.reserved),
			     DB_INT(inv.min_unit), DB_INT(inv.max_unit), DB_INT(inv.step_size), DB_TEXT(ratio),
			     DB_INT(now), DB_TEXT(rp.uuid), DB_TEXT(rcname));
		if (rc == 0)
			rc = plc_error(r, ERR_BADREQ, NULL, "No inventory record with resource class for "
				       "resource provider %s: No inventory of class %s found.", rp.uuid, rcname);
		else if (rc < 0)
			rc = plc_db_error(r, rc);
		else if (u > plc_inv_capacity(&inv))
			log_warn("Resource provider %s is now over-capacity for %s", rp.uuid, rcname);
	}
	rc = plc_tx_end(c, own, rc < 0 ? rc : 0);
	if (rc < 0)
		return r->err ? rc : plc_db_error(r, rc);
	return reply_one(r, 200, &rp, &inv, now);
}

static int delete_one(struct http_req *r)
{
	struct plc_rp rp;
	int rc = load_rp(r, &rp, false);
	if (rc < 0)
		return rc;
	const char *rcname = http_param(r, "resource_class");
	struct db_conn *c = plc_db(r);
	if (!plc_rc_exists(c, rcname))
		return plc_error(r, ERR_NOTFOUND, NULL, "No such resource class %s.", rcname);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	int64_t u = usage_of(c, rp.uuid, rcname);
	if (u < 0) {
		rc = plc_db_error(r, ERR_INTERNAL);
	} else if (u > 0) {
		rc = plc_error(r, ERR_CONFLICT, PLC_CODE_CONCURRENT, "Unable to delete inventory of class "
			       "%s: Inventory for '%s' on resource provider '%s' in use.", rcname, rcname, rp.uuid);
	} else if ((rc = db_exec(c, "DELETE FROM plc_inventories WHERE provider_uuid = ? AND rc = ?",
				 DB_TEXT(rp.uuid), DB_TEXT(rcname))) == 0) {
		rc = plc_error(r, ERR_NOTFOUND, NULL, "No inventory of class %s found for delete: No "
			       "inventory of class %s found for delete", rcname, rcname);
	} else if (rc < 0) {
		rc = plc_db_error(r, rc);
	} else if ((rc = plc_rp_bump(c, rp.uuid, rp.generation, &rp)) < 0) {
		rc = rc == ERR_CONFLICT
			? plc_error(r, rc, PLC_CODE_CONCURRENT, "Unable to delete inventory of class %s: "
				    "Another thread concurrently updated the resource provider data. Please "
				    "retry your update", rcname)
			: plc_db_error(r, rc);
	}
	rc = plc_tx_end(c, own, rc < 0 ? rc : 0);
	if (rc < 0)
		return r->err ? rc : plc_db_error(r, rc);
	return http_reply_empty(r, 204);
}

const struct route plc_routes_inventories[] = {
	{ "GET", "/resource_providers/{uuid}/inventories", get_all,
	  "placement:resource_providers:inventories:list", 0, NULL },
	{ "POST", "/resource_providers/{uuid}/inventories", create_one,
	  "placement:resource_providers:inventories:create", 0, NULL },
	{ "PUT", "/resource_providers/{uuid}/inventories", set_all,
	  "placement:resource_providers:inventories:update", 0, NULL },
	{ "DELETE", "/resource_providers/{uuid}/inventories", delete_all,
	  "placement:resource_providers:inventories:delete", 0, NULL },
	{ "GET", "/resource_providers/{uuid}/inventories/{resource_class}", get_one,
	  "placement:resource_providers:inventories:show", 0, NULL },
	{ "PUT", "/resource_providers/{uuid}/inventories/{resource_class}", update_one,
	  "placement:resource_providers:inventories:update", 0, NULL },
	{ "DELETE", "/resource_providers/{uuid}/inventories/{resource_class}", delete_one,
	  "placement:resource_providers:inventories:delete", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
