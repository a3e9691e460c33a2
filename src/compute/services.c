/* services.c — /os-services: list (host/binary filters, forced_down at 2.11, uuid ids at 2.53),
 * the action updates before 2.53 (PUT /os-services/enable|disable|disable-log-reason|force-down
 * with host and binary in the body), PUT /os-services/{uuid} from 2.53, and delete (refused while
 * the host has instances; a compute service takes its nodes, aggregate memberships and
 * placement providers with it). */
#include "compute/hosts.h"
#include "compute/valid.h"
#include <string.h>

static json_t *service_json(struct http_req *r, const struct cmp_service *s, bool forced)
{
	bool uuids = cmp_mv_ge(r, 2, 53);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "binary", s->binary, "host", s->host,
			      "zone", s->zone ? s->zone : "internal", "status", s->disabled ? "disabled" : "enabled",
			      "state", s->up ? "up" : "down", "updated_at", cmp_time_json(s->updated_at),
			      "disabled_reason", s->disabled_reason ? json_string(s->disabled_reason) : json_null());
	json_object_set_new(o, "id", uuids ? json_string(s->uuid) : json_integer(s->id));
	if (forced)
		json_object_set_new(o, "forced_down", json_boolean(s->forced_down));
	return o;
}

int cmp_h_services_index(struct http_req *r)
{
	static const char *const query[] = { "host", "binary", NULL };
	int qrc = cmp_mv_ge(r, 2, 75) ? cmp_q_only(r, query) : 0;
	if (qrc)
		return qrc;
	const char *host = http_query(r, "host"), *binary = http_query(r, "binary");
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT " CMP_SERVICE_COLUMNS " FROM cmp_services s"
			  " WHERE s.service_binary NOT IN ('nova-osapi_compute', 'nova-metadata')"
			  " AND (? = '' OR s.host = ?) AND (? = '' OR s.service_binary = ?) ORDER BY s.id",
			  DB_TEXT(host ? host : ""), DB_TEXT(host ? host : ""), DB_TEXT(binary ? binary : ""),
			  DB_TEXT(binary ? binary : ""));
	if (rc < 0)
		return cmp_db_error(r, rc, "services");
	json_t *zones = cmp_host_zones(r);
	if (!zones) {
		db_rows_free(rows);
		return ERR_INTERNAL;
	}
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct cmp_service s;
		cmp_service_from_row(r, rows, i, &s);
		s.zone = cmp_service_zone(zones, &s);
		json_array_append_new(arr, service_json(r, &s, cmp_mv_ge(r, 2, 11)));
	}
	json_decref(zones);
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "services", arr));
}

/* Loads one service by id (integer before 2.53, uuid after): 0, 400 or 404. */
static int load_service(struct http_req *r, const char *id, struct cmp_service *out)
{
	struct db_rows *rows = NULL;
	int rc;
	if (cmp_mv_ge(r, 2, 53)) {
		if (!uuid_valid(id) || strlen(id) != 36)
			return http_error(r, ERR_BADREQ, "Invalid uuid %s", id);
		rc = db_query(cmp_db(r), &rows, "SELECT " CMP_SERVICE_COLUMNS " FROM cmp_services s WHERE s.uuid = ?",
			      DB_TEXT(id));
	} else {
		int64_t n;
		if (parse_int64(id, INT64_MIN, INT64_MAX, &n))
			return http_error(r, ERR_BADREQ, "Invalid input for field/attribute id. Value: %s. "
					  "id must be an integer", id);
		rc = db_query(cmp_db(r), &rows, "SELECT " CMP_SERVICE_COLUMNS " FROM cmp_services s WHERE s.id = ?",
			      DB_INT(n));
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "service");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Service %s could not be found.", id);
	}
	cmp_service_from_row(r, rows, 0, out);
	db_rows_free(rows);
	return 0;
}

static int save_service(struct http_req *r, const struct cmp_service *s)
{
	int rc = db_exec(cmp_db(r), "UPDATE cmp_services SET disabled = ?, disabled_reason = ?, forced_down = ?,"
			 " updated_at = ? WHERE uuid = ?", DB_BOOL(s->disabled), DB_TEXT(s->disabled_reason),
			 DB_BOOL(s->forced_down), DB_INT(time_now_us()), DB_TEXT(s->uuid));
	return rc < 0 ? cmp_db_error(r, rc, "service update") : 0;
}

/* PUT /os-services/{uuid} (2.53). */
static int update_253(struct http_req *r, const json_t *body)
{
	static const char *const fields[] = { "status", "disabled_reason", "forced_down", NULL };
	const char *id = http_param(r, "id");
	json_t *v;
	if (cmp_v_object(r, body, NULL) || cmp_v_only(r, body, NULL, fields))
		return ERR_BADREQ;
	const char *status = NULL, *reason = NULL;
	bool forced = false, has_forced = false;
	if ((v = json_object_get(body, "status"))) {
		if (!json_is_string(v) || (strcmp(json_string_value(v), "enabled") && strcmp(json_string_value(v), "disabled")))
			return cmp_bad_field(r, "status", arena_printf(r->arena, "Value: %s. %s is not one of "
					     "['enabled', 'disabled']", cmp_v_repr(r, v), cmp_v_repr(r, v)));
		status = json_string_value(v);
	}
	if ((v = json_object_get(body, "disabled_reason"))) {
		if (cmp_v_string(r, v, "disabled_reason", 1, 255, false))
			return ERR_BADREQ;
		reason = json_string_value(v);
	}
	if ((v = json_object_get(body, "forced_down"))) {
		if (cmp_v_bool(r, v, "forced_down", &forced))
			return ERR_BADREQ;
		has_forced = true;
	}
	if (!uuid_valid(id) || strlen(id) != 36)
		return http_error(r, ERR_BADREQ, "Invalid uuid %s", id);
	struct cmp_service s;
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	if ((rc = load_service(r, id, &s))) {
		cmp_rollback(r);
		return rc;
	}
	if (strcmp(s.binary, "nova-compute")) {
		cmp_rollback(r);
		return http_error(r, ERR_BADREQ, "Updating a %s service is not supported. Only nova-compute "
				  "services can be updated.", s.binary);
	}
	if (status && !strcmp(status, "enabled")) {
		if (reason) {
			cmp_rollback(r);
			return http_error(r, ERR_BADREQ, "Specifying 'disabled_reason' with status 'enabled' is invalid.");
		}
		s.disabled = false;
		s.disabled_reason = NULL;
	} else if (status) {
		s.disabled = true;
		s.disabled_reason = reason;
	}
	if (has_forced) {
		s.forced_down = forced;
	}
	if (!status && !has_forced) {
		cmp_rollback(r);
		return http_error(r, ERR_BADREQ, "No updates were requested. Fields 'status' or 'forced_down' "
				  "should be specified.");
	}
	if ((rc = save_service(r, &s)))
		return rc;
	s.updated_at = time_now_us();
	s.up = s.alive && !s.forced_down;
	json_t *zones = cmp_host_zones(r);
	if (!zones)
		return ERR_INTERNAL;
	s.zone = cmp_service_zone(zones, &s);
	json_t *o = service_json(r, &s, true);
	json_decref(zones);
	if ((rc = cmp_commit(r))) {
		json_decref(o);
		return rc;
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "service", o));
}

/* PUT /os-services/{action} before 2.53: host and binary name the service. */
static int update_action(struct http_req *r, const json_t *body)
{
	static const char *const f21[] = { "host", "binary", "disabled_reason", NULL };
	static const char *const f211[] = { "host", "binary", "disabled_reason", "forced_down", NULL };
	bool v211 = cmp_mv_ge(r, 2, 11);
	json_t *v;
	if (cmp_v_object(r, body, NULL) || cmp_v_only(r, body, NULL, v211 ? f211 : f21) ||
	    cmp_v_required(r, body, NULL, "host") || cmp_v_required(r, body, NULL, "binary") ||
	    cmp_v_fqdn(r, json_object_get(body, "host"), "host") ||
	    cmp_v_string(r, json_object_get(body, "binary"), "binary", 1, 255, false))
		return ERR_BADREQ;
	if ((v = json_object_get(body, "disabled_reason")) && cmp_v_string(r, v, "disabled_reason", 1, 255, false))
		return ERR_BADREQ;
	bool forced = false;
	if ((v = json_object_get(body, "forced_down")) && cmp_v_bool(r, v, "forced_down", &forced))
		return ERR_BADREQ;
	const char *action = http_param(r, "id");
	const char *host = json_string_value(json_object_get(body, "host"));
	const char *binary = json_string_value(json_object_get(body, "binary"));
	const char *reason = json_string_value(json_object_get(body, "disabled_reason"));
	int kind;   /* 0 enable, 1 disable, 2 disable-log-reason, 3 force-down */
	if (!strcmp(action, "enable"))
		kind = 0;
	else if (!strcmp(action, "disable"))
		kind = 1;
	else if (!strcmp(action, "disable-log-reason"))
		kind = 2;
	else if (!strcmp(action, "force-down") && v211)
		kind = 3;
	else
		return http_error(r, ERR_NOTFOUND, "Unknown action");
	if (kind == 2 && !reason)
		return http_error(r, ERR_BADREQ, "Missing disabled reason field");
	if (kind == 3 && !json_object_get(body, "forced_down"))
		return http_error(r, ERR_BADREQ, "Missing forced_down field");
	if (strcmp(binary, "nova-compute"))
		return http_error(r, ERR_BADREQ, "Updating a %s service is not supported. Only nova-compute "
				  "services can be updated.", binary);
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	struct db_rows *rows = NULL;
	rc = db_query(cmp_db(r), &rows, "SELECT " CMP_SERVICE_COLUMNS " FROM cmp_services s WHERE s.host = ?"
		      " AND s.service_binary = ?", DB_TEXT(host), DB_TEXT(binary));
	if (rc < 0)
		return cmp_db_error(r, rc, "service");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		cmp_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Could not find binary %s on host %s.", binary, host);
	}
	struct cmp_service s;
	cmp_service_from_row(r, rows, 0, &s);
	db_rows_free(rows);
	json_t *o = json_pack("{s:s,s:s}", "host", host, "binary", binary);
	if (kind == 3) {
		s.forced_down = forced;
		json_object_set_new(o, "forced_down", json_boolean(forced));
	} else {
		s.disabled = kind != 0;
		s.disabled_reason = kind == 2 ? reason : NULL;
		json_object_set_new(o, "status", json_string(kind ? "disabled" : "enabled"));
		if (kind == 2)
			json_object_set_new(o, "disabled_reason", json_string(reason));
	}
	if ((rc = save_service(r, &s)) || (rc = cmp_commit(r))) {
		json_decref(o);
		return rc;
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "service", o));
}

int cmp_h_services_update(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	return cmp_mv_ge(r, 2, 53) ? update_253(r, body) : update_action(r, body);
}

int cmp_h_services_delete(struct http_req *r)
{
	const char *id = http_param(r, "id");
	struct cmp_service s;
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	if ((rc = load_service(r, id, &s))) {
		cmp_rollback(r);
		return rc;
	}
	struct db_rows *rows = NULL;
	if (!strcmp(s.binary, "nova-compute")) {
		rc = db_query(cmp_db(r), &rows, "SELECT COUNT(*) FROM cmp_instances WHERE host = ? AND deleted = 0",
			      DB_TEXT(s.host));
		if (rc < 0)
			return cmp_db_error(r, rc, "service instances");
		int64_t n = db_int(rows, 0, 0);
		db_rows_free(rows);
		if (n) {
			cmp_rollback(r);
			return http_error(r, ERR_CONFLICT, "Unable to delete compute service that is hosting instances. "
					  "Migrate or delete the instances first.");
		}
		rc = db_query(cmp_db(r), &rows, "SELECT COUNT(*) FROM cmp_migrations WHERE (source_compute = ? OR"
			      " dest_compute = ?) AND status NOT IN ('confirmed', 'reverted', 'error', 'failed',"
			      " 'completed', 'cancelled', 'done')", DB_TEXT(s.host), DB_TEXT(s.host));
		if (rc < 0)
			return cmp_db_error(r, rc, "service migrations");
		n = db_int(rows, 0, 0);
		db_rows_free(rows);
		if (n) {
			cmp_rollback(r);
			return http_error(r, ERR_CONFLICT, "Unable to delete compute service that has in-progress "
					  "migrations. Complete the migrations or delete the instances first.");
		}
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_aggregate_hosts WHERE host = ?", DB_TEXT(s.host));
		if (rc >= 0)
			rc = db_query(cmp_db(r), &rows, "SELECT uuid FROM cmp_nodes WHERE host = ?", DB_TEXT(s.host));
		if (rc < 0)
			return cmp_db_error(r, rc, "service nodes");
		for (int i = 0; i < db_rows_count(rows); i++)
			cmp_placement_delete_provider(r, db_text(rows, i, 0));
		db_rows_free(rows);
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_nodes WHERE host = ?", DB_TEXT(s.host));
		if (rc < 0)
			return cmp_db_error(r, rc, "service nodes");
	}
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_services WHERE uuid = ?", DB_TEXT(s.uuid));
	if (rc < 0)
		return cmp_db_error(r, rc, "service delete");
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_empty(r, 204);
}
