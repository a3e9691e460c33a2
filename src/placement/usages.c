/* usages.c — GET /resource_providers/{uuid}/usages (usage per class of the provider's
 * inventories) and GET /usages?project_id=&user_id= (1.9; from 1.38 grouped by consumer_type with
 * consumer counts, filterable by consumer_type=NAME|all|unknown). */
#include "placement/plc.h"
#include <stdio.h>
#include <string.h>

static int provider_usages(struct http_req *r)
{
	const char *uuid = http_param(r, "uuid");
	struct plc_rp rp;
	struct db_conn *c = plc_db(r);
	int rc = plc_rp_load(c, uuid, &rp);
	if (rc == ERR_NOTFOUND)
		return plc_error(r, rc, NULL, "No resource provider with uuid %s found: No resource "
				 "provider with uuid %s found", uuid, uuid);
	if (rc < 0)
		return plc_db_error(r, rc);
	struct db_rows *rows;
	rc = db_query(c, &rows, "SELECT i.rc, COALESCE((SELECT SUM(a.used) FROM plc_allocations a WHERE "
		      "a.provider_uuid = i.provider_uuid AND a.rc = i.rc), 0) FROM plc_inventories i "
		      "WHERE i.provider_uuid = ? ORDER BY i.rc", DB_TEXT(uuid));
	if (rc < 0)
		return plc_db_error(r, rc);
	json_t *u = json_object();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_object_set_new(u, db_text(rows, i, 0), json_integer(db_int(rows, i, 1)));
	db_rows_free(rows);
	return plc_reply(r, 200, json_pack("{s:I,s:o}", "resource_provider_generation",
					   (json_int_t)rp.generation, "usages", u), 0);
}

struct usage_q {
	const char *project_id, *user_id, *consumer_type, *bad;
	bool v38;
};

static int collect(void *ctx, const char *name, const char *value)
{
	struct usage_q *q = ctx;
	if (!strcmp(name, "project_id"))
		q->project_id = value ? value : "";
	else if (!strcmp(name, "user_id"))
		q->user_id = value ? value : "";
	else if (q->v38 && !strcmp(name, "consumer_type"))
		q->consumer_type = value ? value : "";
	else {
		q->bad = name;
		return 1;
	}
	return 0;
}

static int check_len(struct http_req *r, const char *v)
{
	size_t l = strlen(v);
	if (l < 1 || l > 255)
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: '%s' is too %s",
				 v, l < 1 ? "short" : "long");
	return 0;
}

/* The user and consumer type conditions of a usage query (after "WHERE c.project_id = ?"). */
static void add_filters(struct sqlbuf *s, const struct usage_q *q)
{
	sqlbuf_text(s, q->project_id);
	if (q->user_id) {
		sqlbuf_add(s, " AND c.user_id = ?");
		sqlbuf_text(s, q->user_id);
	}
	const char *ct = q->consumer_type;
	if (ct && !strcmp(ct, "unknown")) {
		sqlbuf_add(s, " AND c.consumer_type IS NULL");
	} else if (ct && strcmp(ct, "all")) {
		sqlbuf_add(s, " AND c.consumer_type = ?");
		sqlbuf_text(s, ct);
	}
}

static int total_usages(struct http_req *r)
{
	if (!plc_ge(r, 1, 9))
		return plc_not_found_version(r);
	struct usage_q q = { .v38 = plc_ge(r, 1, 38) };
	http_query_each(r, collect, &q);
	json_t *target = json_pack("{s:s?}", "project_id", q.project_id);
	arena_defer(r->arena, json_decref_void, target);
	if (!auth_allowed(plc_req(r)->p->policy, r, "placement:usages", target))
		return plc_error(r, ERR_FORBIDDEN, NULL, "Policy does not allow placement:usages to be "
				 "performed.");
	if (q.bad)
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: Additional "
				 "properties are not allowed ('%s' was unexpected)", q.bad);
	if (!q.project_id)
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: 'project_id' is "
				 "a required property");
	int rc;
	if ((rc = check_len(r, q.project_id)) < 0 || (q.user_id && (rc = check_len(r, q.user_id)) < 0) ||
	    (q.consumer_type && (rc = check_len(r, q.consumer_type)) < 0))
		return rc;
	if (q.consumer_type && !plc_name_ok(q.consumer_type) && strcmp(q.consumer_type, "all") &&
	    strcmp(q.consumer_type, "unknown"))
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: '%s' does not "
				 "match '^[A-Z0-9_]+$|^all|^unknown$'", q.consumer_type);
	const char *ct = q.consumer_type;
	bool grouped = q.v38 && !(ct && !strcmp(ct, "all"));
	struct sqlbuf s;
	sqlbuf_init(&s, r->arena, grouped
		     ? "SELECT a.rc, SUM(a.used), COALESCE(c.consumer_type, '') FROM plc_allocations a "
		       "JOIN plc_consumers c ON c.uuid = a.consumer_uuid WHERE c.project_id = ?"
		     : "SELECT a.rc, SUM(a.used), '' FROM plc_allocations a "
		       "JOIN plc_consumers c ON c.uuid = a.consumer_uuid WHERE c.project_id = ?");
	add_filters(&s, &q);
	sqlbuf_add(&s, grouped ? " GROUP BY a.rc, COALESCE(c.consumer_type, '') ORDER BY 3, 1"
				: " GROUP BY a.rc ORDER BY 1");
	struct db_conn *c = plc_db(r);
	struct db_rows *rows;
	rc = db_query_a(c, &rows, s.text, sqlbuf_args(&s));
	if (rc < 0)
		return plc_db_error(r, rc);
	json_t *usages = json_object();
	if (!q.v38) {
		for (int i = 0; i < db_rows_count(rows); i++)
			json_object_set_new(usages, db_text(rows, i, 0), json_integer(db_int(rows, i, 1)));
		db_rows_free(rows);
		return plc_reply(r, 200, json_pack("{s:o}", "usages", usages), 0);
	}
	/* consumer counts per type (distinct consumers across classes) */
	struct sqlbuf cs;
	sqlbuf_init(&cs, r->arena, grouped
		     ? "SELECT COALESCE(c.consumer_type, ''), COUNT(DISTINCT a.consumer_uuid) FROM "
		       "plc_allocations a JOIN plc_consumers c ON c.uuid = a.consumer_uuid WHERE c.project_id = ?"
		     : "SELECT '', COUNT(DISTINCT a.consumer_uuid) FROM plc_allocations a JOIN plc_consumers c "
		       "ON c.uuid = a.consumer_uuid WHERE c.project_id = ?");
	add_filters(&cs, &q);
	sqlbuf_add(&cs, grouped ? " GROUP BY COALESCE(c.consumer_type, '')" : "");
	struct db_rows *counts;
	if ((rc = db_query_a(c, &counts, cs.text, sqlbuf_args(&cs))) < 0) {
		db_rows_free(rows);
		return plc_db_error(r, rc);
	}
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *type = db_text(rows, i, 2);
		const char *key = !grouped ? "all" : *type ? type : "unknown";
		json_t *g = json_object_get(usages, key);
		if (!g) {
			g = json_object();
			json_object_set_new(usages, key, g);
			int64_t n = 0;
			for (int k = 0; k < db_rows_count(counts); k++)
				if (!grouped || !strcmp(db_text(counts, k, 0), type))
					n = db_int(counts, k, 1);
			json_object_set_new(g, "consumer_count", json_integer(n));
		}
		json_object_set_new(g, db_text(rows, i, 0), json_integer(db_int(rows, i, 1)));
	}
	db_rows_free(counts);
	db_rows_free(rows);
	return plc_reply(r, 200, json_pack("{s:o}", "usages", usages), 0);
}

const struct route plc_routes_usages[] = {
	{ "GET", "/resource_providers/{uuid}/usages", provider_usages,
	  "placement:resource_providers:usages", 0, NULL },
	{ "GET", "/usages", total_usages, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
