/* servers.c — the servers route table (create and list live in server_create.c and
 * server_list.c) and show, update and delete. Deleting hands the instance to its host's agent
 * (task_state deleting) or, when it never reached a host or that host's service is down, deletes
 * it here; either way the row stays (deleted = 1) for changes-since and usage. */
#include "compute/srv.h"
#include <arpa/inet.h>
#include <string.h>

static int h_show(struct http_req *r)
{
	struct srv s;
	int rc = srv_get(r, http_param(r, "server_id"), false, &s);
	if (rc < 0)
		return rc;
	if ((rc = cmp_enforce(r, "os_compute_api:servers:show", s.project_id, NULL)) < 0)
		return rc;
	if ((rc = srv_load_extras(r, &s, 1)) < 0)
		return rc;
	struct srv_view_opts o = { .detail = true, .ext_attr = -1, .extra_specs = -1, .host_status = -1,
				   .server_groups = cmp_mv_ge(r, 2, 71) };
	return http_reply_json(r, 200, json_pack("{s:o}", "server", srv_view(r, &s, &o)));
}

static int h_update(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	json_t *sv = json_object_get(body, "server");
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v)
		if (strcmp(k, "server"))
			return cmp_v_unexpected(r, "body", k);
	if (!json_is_object(sv))
		return cmp_bad_field(r, "server", "'server' is a required property");
	json_object_foreach(sv, k, v) {
		bool ok = !strcmp(k, "name") || !strcmp(k, "OS-DCF:diskConfig") || !strcmp(k, "accessIPv4") ||
			  !strcmp(k, "accessIPv6") || (!strcmp(k, "description") && cmp_mv_ge(r, 2, 19));
		if (!ok)
			return cmp_v_unexpected(r, "server", k);
	}
	int rc;
	json_t *name = json_object_get(sv, "name"), *desc = json_object_get(sv, "description");
	json_t *dc = json_object_get(sv, "OS-DCF:diskConfig");
	json_t *v4 = json_object_get(sv, "accessIPv4"), *v6 = json_object_get(sv, "accessIPv6");
	if (name && (rc = srv_validate_name(r, name, "name")) < 0)
		return rc;
	if (desc && !json_is_null(desc) && (!json_is_string(desc) || json_string_length(desc) > 255))
		return cmp_bad_field(r, "description", "Value is not a valid description");
	if (dc && (!json_is_string(dc) || (strcmp(json_string_value(dc), "AUTO") && strcmp(json_string_value(dc), "MANUAL"))))
		return cmp_bad_field(r, "OS-DCF:diskConfig", "Value is not one of ['AUTO', 'MANUAL']");
	const char *ip4 = v4 ? srv_ip_canonical(r, v4, AF_INET) : NULL, *ip6 = v6 ? srv_ip_canonical(r, v6, AF_INET6) : NULL;
	if (v4 && !ip4)
		return cmp_bad_field(r, "accessIPv4", "Value is not a 'ipv4'");
	if (v6 && !ip6)
		return cmp_bad_field(r, "accessIPv6", "Value is not a 'ipv6'");
	const char *id = http_param(r, "server_id");
	struct srv s;
	if ((rc = srv_get(r, id, false, &s)) < 0)
		return rc;
	if ((rc = cmp_enforce(r, "os_compute_api:servers:update", s.project_id, s.user_id)) < 0)
		return rc;
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	int64_t now = time_now_us();
	if (name)
		rc = db_exec(c, "UPDATE cmp_instances SET display_name = ? WHERE uuid = ?", DB_TEXT(json_string_value(name)), DB_TEXT(id));
	if (rc >= 0 && desc)
		rc = db_exec(c, "UPDATE cmp_instances SET display_description = ? WHERE uuid = ?",
			     DB_TEXT(json_string_value(desc)), DB_TEXT(id));
	if (rc >= 0 && dc)
		rc = db_exec(c, "UPDATE cmp_instances SET auto_disk_config = ? WHERE uuid = ?",
			     DB_BOOL(!strcmp(json_string_value(dc), "AUTO")), DB_TEXT(id));
	if (rc >= 0 && v4)
		rc = db_exec(c, "UPDATE cmp_instances SET access_ip_v4 = ? WHERE uuid = ?", DB_TEXT(ip4), DB_TEXT(id));
	if (rc >= 0 && v6)
		rc = db_exec(c, "UPDATE cmp_instances SET access_ip_v6 = ? WHERE uuid = ?", DB_TEXT(ip6), DB_TEXT(id));
	if (rc >= 0)
		rc = db_exec(c, "UPDATE cmp_instances SET updated_at = ? WHERE uuid = ?", DB_INT(now), DB_TEXT(id));
	if (rc < 0)
		return cmp_db_error(r, rc, "instance update");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	if ((rc = srv_get(r, id, false, &s)) < 0 || (rc = srv_load_extras(r, &s, 1)) < 0)
		return rc;
	bool all = cmp_mv_ge(r, 2, 75);
	struct srv_view_opts o = { .detail = true, .update_view = true, .all_attrs = all, .ext_attr = all ? -1 : 0,
				   .extra_specs = -1, .host_status = all ? -1 : 0, .server_groups = cmp_mv_ge(r, 2, 71) };
	return http_reply_json(r, 200, json_pack("{s:o}", "server", srv_view(r, &s, &o)));
}

int srv_delete(struct http_req *r, struct srv *s, const char *action)
{
	int rc;
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	bool local = !s->host || !*s->host || !srv_host_up(c, s->host);
	if ((rc = srv_action_start(c, s->uuid, r->request_id, action, cmp_project(r), cmp_user(r))) < 0)
		return cmp_db_error(r, rc, "instance action");
	if (local) {
		rc = srv_mark_deleted(c, s->uuid);
	} else {
		rc = db_exec(c, "UPDATE cmp_instances SET task_state = 'deleting', task_request_id = ?, updated_at = ? WHERE"
			     " uuid = ? AND deleted = 0", DB_TEXT(r->request_id), DB_INT(time_now_us()), DB_TEXT(s->uuid));
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "instance delete");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	if (!local)
		cmp_agent_wake(cmp_svc(r));
	return 0;
}

static int h_delete(struct http_req *r)
{
	struct srv s;
	int rc = srv_get(r, http_param(r, "server_id"), false, &s);
	if (rc < 0)
		return rc;
	if ((rc = cmp_enforce(r, "os_compute_api:servers:delete", s.project_id, s.user_id)) < 0)
		return rc;
	if ((rc = srv_check_lock(r, &s)) < 0)
		return rc;
	if ((rc = srv_delete(r, &s, "delete")) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route cmp_routes_servers[] = {
	{ "POST", "/v2.1/servers", srv_h_create, NULL, 0, NULL },
	{ "GET", "/v2.1/servers", srv_h_index, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/detail", srv_h_detail, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}", h_show, NULL, 0, NULL },
	{ "PUT", "/v2.1/servers/{server_id}", h_update, NULL, 0, NULL },
	{ "DELETE", "/v2.1/servers/{server_id}", h_delete, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
