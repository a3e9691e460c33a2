/* server_history.c — what happened to servers: instance actions and their events
 * (/servers/{id}/os-instance-actions; deleted servers readable from 2.21, events for owners from
 * 2.51 with the traceback for admins, host and hostId at 2.62, paging and changes-since at 2.58,
 * changes-before at 2.66) and the admin's migration list (/os-migrations, uuid at 2.59 with
 * paging and sorting). */
#include "compute/srv.h"
#include <stdio.h>
#include <string.h>

static json_t *time_json(struct db_rows *rows, int i, int col)
{
	if (db_isnull(rows, i, col))
		return json_null();
	char buf[40];
	time_format(db_int(rows, i, col), 6, false, buf);
	return json_string(buf);
}

static json_t *str_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *action_json(struct http_req *r, struct db_rows *rows, int i)
{
	json_t *a = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "action", db_text(rows, i, 0), "instance_uuid",
			      db_text(rows, i, 1), "request_id", db_text(rows, i, 2), "user_id", str_json(db_text(rows, i, 3)),
			      "project_id", str_json(db_text(rows, i, 4)), "start_time", time_json(rows, i, 5), "message",
			      str_json(db_text(rows, i, 6)));
	if (cmp_mv_ge(r, 2, 58))
		json_object_set_new(a, "updated_at", time_json(rows, i, 7));
	return a;
}

#define ACTION_COLUMNS "action, instance_uuid, request_id, user_id, project_id, start_time, message, updated_at"

/* The instance (deleted ones too from 2.21) and the policy. */
static int load(struct http_req *r, const char *rule, struct srv *s)
{
	int rc = srv_get(r, http_param(r, "server_id"), cmp_mv_ge(r, 2, 21), s);
	if (rc < 0)
		return rc;
	return cmp_enforce(r, rule, s->project_id, NULL);
}

/* Paging by marker over rows (newest first): the index after the row whose column col is marker,
 * 0 without a marker; 400 "Marker ... could not be found." (rows freed) when none is. */
static int after_marker(struct http_req *r, struct db_rows *rows, int col, const char *marker)
{
	if (!marker)
		return 0;
	for (int i = 0; i < db_rows_count(rows); i++)
		if (!strcmp(db_text(rows, i, col), marker))
			return i + 1;
	db_rows_free(rows);
	return http_error(r, ERR_BADREQ, "Marker %s could not be found.", marker);
}

static int h_actions(struct http_req *r)
{
	struct srv s;
	const char *limit_s = http_query(r, "limit"), *marker = http_query(r, "marker");
	const char *since_s = http_query(r, "changes-since"), *before_s = http_query(r, "changes-before");
	int64_t limit = 1000, since = 0, before = 0;
	if (cmp_mv_ge(r, 2, 58)) {
		if (limit_s && parse_int64(limit_s, 0, INT64_MAX, &limit) < 0)
			return http_error(r, ERR_BADREQ, "Invalid input for query parameters limit. Value: %s.", limit_s);
		if (limit > 1000)
			limit = 1000;
		if (since_s && time_parse(since_s, &since) < 0)
			return http_error(r, ERR_BADREQ, "Invalid input for query parameters changes-since. Value: %s. '%s' is"
					  " not a 'date-time'", since_s, since_s);
		if (before_s && (!cmp_mv_ge(r, 2, 66) || time_parse(before_s, &before) < 0))
			return http_error(r, ERR_BADREQ, "Invalid input for query parameters changes-before. Value: %s.", before_s);
		if (since_s && before_s && before < since)
			return http_error(r, ERR_BADREQ, "The value of changes-since must be less than or equal to changes-before.");
	} else {
		marker = since_s = before_s = NULL;
		limit = -1;
	}
	int rc = load(r, "os_compute_api:os-instance-actions:list", &s);
	if (rc < 0)
		return rc;
	struct db_rows *rows = NULL;
	rc = db_query(cmp_db(r), &rows, "SELECT " ACTION_COLUMNS " FROM cmp_instance_actions WHERE instance_uuid = ?"
		      " AND (? = 0 OR updated_at >= ?) AND (? = 0 OR updated_at <= ?) ORDER BY start_time DESC, request_id DESC",
		      DB_TEXT(s.uuid), DB_BOOL(since_s), DB_INT(since), DB_BOOL(before_s), DB_INT(before));
	if (rc < 0)
		return cmp_db_error(r, rc, "instance actions");
	int n = db_rows_count(rows), start = after_marker(r, rows, 2, marker);
	if (start < 0)
		return start;
	json_t *list = json_array();
	int taken = 0;
	const char *last = NULL;
	for (int i = start; i < n && (limit < 0 || taken < limit); i++, taken++) {
		json_array_append_new(list, action_json(r, rows, i));
		last = db_text(rows, i, 2);
	}
	json_t *out = json_pack("{s:o}", "instanceActions", list);
	if (limit > 0 && taken == limit && last) {
		char *enc = arena_alloc(r->arena, strlen(last) * 3 + 1);
		url_encode(last, enc, true);
		json_object_set_new(out, "links", json_pack("[{s:s,s:s}]", "rel", "next", "href",
			arena_printf(r->arena, "%s/servers/%s/os-instance-actions?limit=%lld&marker=%s", cmp_url_v21(r), s.uuid,
				     (long long)limit, enc)));
	}
	db_rows_free(rows);
	return http_reply_json(r, 200, out);
}

static int h_action(struct http_req *r)
{
	struct srv s;
	int rc = load(r, "os_compute_api:os-instance-actions:show", &s);
	if (rc < 0)
		return rc;
	const char *req = http_param(r, "request_id");
	struct db_rows *rows = NULL;
	rc = db_query(cmp_db(r), &rows, "SELECT " ACTION_COLUMNS " FROM cmp_instance_actions WHERE instance_uuid = ? AND"
		      " request_id = ?", DB_TEXT(s.uuid), DB_TEXT(req));
	if (rc < 0)
		return cmp_db_error(r, rc, "instance action");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Action %s not found", req);
	}
	json_t *a = action_json(r, rows, 0);
	const char *project = db_text(rows, 0, 4) ? arena_strdup(r->arena, db_text(rows, 0, 4)) : s.project_id;
	db_rows_free(rows);
	bool all = cmp_allowed(r, "os_compute_api:os-instance-actions:events", s.project_id, NULL);
	bool show_events = all || cmp_mv_ge(r, 2, 51);
	if (show_events) {
		rc = db_query(cmp_db(r), &rows, "SELECT event, start_time, finish_time, result, traceback, host FROM"
			      " cmp_instance_action_events WHERE instance_uuid = ? AND request_id = ? ORDER BY start_time, event",
			      DB_TEXT(s.uuid), DB_TEXT(req));
		if (rc < 0) {
			json_decref(a);
			return cmp_db_error(r, rc, "instance action events");
		}
		json_t *events = json_array();
		for (int i = 0; i < db_rows_count(rows); i++) {
			json_t *e = json_pack("{s:s,s:o,s:o,s:o}", "event", db_text(rows, i, 0), "start_time", time_json(rows, i, 1),
					      "finish_time", time_json(rows, i, 2), "result", str_json(db_text(rows, i, 3)));
			if (all)
				json_object_set_new(e, "traceback", str_json(db_text(rows, i, 4)));
			if (all && cmp_mv_ge(r, 2, 62))
				json_object_set_new(e, "host", json_string(db_text(rows, i, 5) ? db_text(rows, i, 5) : ""));
			if (cmp_mv_ge(r, 2, 62)) {
				char hid[57];
				srv_host_id(project, db_text(rows, i, 5), hid);
				json_object_set_new(e, "hostId", json_string(hid));
			}
			json_array_append_new(events, e);
		}
		db_rows_free(rows);
		json_object_set_new(a, "events", events);
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "instanceAction", a));
}

/* --- os-migrations (admin) --- */

static int h_migrations(struct http_req *r)
{
	int rc = cmp_enforce(r, "os_compute_api:os-migrations:index", NULL, NULL);
	if (rc < 0)
		return rc;
	const char *host = http_query(r, "host"), *status = http_query(r, "status");
	const char *type = http_query(r, "migration_type"), *inst = http_query(r, "instance_uuid");
	const char *limit_s = http_query(r, "limit"), *marker = http_query(r, "marker");
	const char *since_s = http_query(r, "changes-since"), *before_s = http_query(r, "changes-before");
	bool paged = cmp_mv_ge(r, 2, 59);
	int64_t limit = 1000, since = 0, before = 0;
	if (paged) {
		if (limit_s && parse_int64(limit_s, 0, INT64_MAX, &limit) < 0)
			return http_error(r, ERR_BADREQ, "Invalid input for query parameters limit. Value: %s.", limit_s);
		if (limit > 1000)
			limit = 1000;
		if (since_s && time_parse(since_s, &since) < 0)
			return http_error(r, ERR_BADREQ, "Invalid input for query parameters changes-since. Value: %s.", since_s);
		if (before_s && (!cmp_mv_ge(r, 2, 66) || time_parse(before_s, &before) < 0))
			return http_error(r, ERR_BADREQ, "Invalid input for query parameters changes-before. Value: %s.", before_s);
		if (since_s && before_s && before < since)
			return http_error(r, ERR_BADREQ, "The value of changes-since must be less than or equal to changes-before.");
	} else {
		marker = since_s = before_s = NULL;
	}
	struct db_rows *rows = NULL;
	rc = db_query(cmp_db(r), &rows, "SELECT id, uuid, instance_uuid, migration_type, status, source_compute, source_node,"
		      " dest_compute, dest_node, dest_host, created_at, updated_at FROM cmp_migrations WHERE"
		      " (CAST(? AS VARCHAR(255)) IS NULL OR source_compute = ? OR dest_compute = ?) AND (CAST(? AS VARCHAR(255)) IS NULL OR status = ?) AND"
		      " (CAST(? AS VARCHAR(255)) IS NULL OR migration_type = ?) AND (CAST(? AS VARCHAR(255)) IS NULL OR instance_uuid = ?) AND (? = 0 OR"
		      " COALESCE(updated_at, created_at) >= ?) AND (? = 0 OR COALESCE(updated_at, created_at) <= ?)"
		      " ORDER BY created_at DESC, id DESC", DB_TEXT(host), DB_TEXT(host), DB_TEXT(host), DB_TEXT(status),
		      DB_TEXT(status), DB_TEXT(type), DB_TEXT(type), DB_TEXT(inst), DB_TEXT(inst), DB_BOOL(since_s),
		      DB_INT(since), DB_BOOL(before_s), DB_INT(before));
	if (rc < 0)
		return cmp_db_error(r, rc, "migrations");
	int n = db_rows_count(rows), start = after_marker(r, rows, 1, marker);
	if (start < 0)
		return start;
	json_t *list = json_array();
	int taken = 0;
	const char *last = NULL;
	for (int i = start; i < n && taken < limit; i++, taken++) {
		json_t *m = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:n,s:n,s:o,s:o}", "id", (json_int_t)db_int(rows, i, 0),
				      "status", str_json(db_text(rows, i, 4)), "instance_uuid", str_json(db_text(rows, i, 2)),
				      "source_compute", str_json(db_text(rows, i, 5)), "source_node", str_json(db_text(rows, i, 6)),
				      "dest_compute", str_json(db_text(rows, i, 7)), "dest_node", str_json(db_text(rows, i, 8)),
				      "dest_host", str_json(db_text(rows, i, 9)), "old_instance_type_id", "new_instance_type_id",
				      "created_at", time_json(rows, i, 10), "updated_at", time_json(rows, i, 11));
		if (cmp_mv_ge(r, 2, 23))
			json_object_set_new(m, "migration_type", json_string(db_text(rows, i, 3)));
		if (paged)
			json_object_set_new(m, "uuid", json_string(db_text(rows, i, 1)));
		json_array_append_new(list, m);
		last = db_text(rows, i, 1);
	}
	json_t *out = json_pack("{s:o}", "migrations", list);
	if (paged && limit > 0 && taken == limit && last)
		json_object_set_new(out, "migrations_links", json_pack("[{s:s,s:s}]", "rel", "next", "href",
			arena_printf(r->arena, "%s/os-migrations?limit=%lld&marker=%s", cmp_url_v21(r), (long long)limit, last)));
	db_rows_free(rows);
	return http_reply_json(r, 200, out);
}

const struct route cmp_routes_server_history[] = {
	{ "GET", "/v2.1/servers/{server_id}/os-instance-actions", h_actions, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/os-instance-actions/{request_id}", h_action, NULL, 0, NULL },
	{ "GET", "/v2.1/os-migrations", h_migrations, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
