/* hosts_legacy.c — /os-hosts, the host API Nova removed at 2.43: list (enabled services' hosts,
 * optionally of one zone), show (a compute host's totals, usage and per-project usage), and the
 * update and power actions, which no virt driver here implements (501 for a known host). */
#include "compute/hosts.h"
#include "core/conf.h"
#include <string.h>
#include <strings.h>

static int gone(struct http_req *r)
{
	return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
}

int cmp_h_hosts_index(struct http_req *r)
{
	if (cmp_mv_ge(r, 2, 43))
		return gone(r);
	const char *zone = http_query(r, "zone");
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT " CMP_SERVICE_COLUMNS ", s.topic FROM cmp_services s"
			  " WHERE s.disabled = 0 AND s.service_binary NOT IN ('nova-osapi_compute', 'nova-metadata')"
			  " ORDER BY s.id");
	if (rc < 0)
		return cmp_db_error(r, rc, "hosts");
	json_t *zones = cmp_host_zones(r), *arr = json_array();
	if (!zones) {
		db_rows_free(rows);
		json_decref(arr);
		return ERR_INTERNAL;
	}
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct cmp_service s;
		cmp_service_from_row(r, rows, i, &s);
		s.zone = cmp_service_zone(zones, &s);
		if (zone && *zone && strcmp(zone, s.zone))
			continue;
		const char *topic = db_text(rows, i, 10);
		if (!topic)
			topic = !strncmp(s.binary, "nova-", 5) ? s.binary + 5 : s.binary;
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "host_name", s.host, "service", topic,
						     "zone", s.zone));
	}
	json_decref(zones);
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "hosts", arr));
}

static json_t *resource(const char *host, const char *project, int64_t cpu, int64_t mem, int64_t disk)
{
	return json_pack("{s:{s:s,s:s,s:I,s:I,s:I}}", "resource", "host", host, "project", project,
			 "cpu", (json_int_t)cpu, "memory_mb", (json_int_t)mem, "disk_gb", (json_int_t)disk);
}

int cmp_h_hosts_show(struct http_req *r)
{
	if (cmp_mv_ge(r, 2, 43))
		return gone(r);
	const char *host = http_param(r, "id");
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT SUM(vcpus), SUM(memory_mb), SUM(local_gb), COUNT(*)"
			  " FROM cmp_nodes WHERE host = ?", DB_TEXT(host));
	if (rc < 0)
		return cmp_db_error(r, rc, "host");
	if (!db_int(rows, 0, 3)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Host %s could not be found.", host);
	}
	json_t *arr = json_array();
	json_array_append_new(arr, resource(host, "(total)", db_int(rows, 0, 0), db_int(rows, 0, 1), db_int(rows, 0, 2)));
	db_rows_free(rows);
	rc = db_query(cmp_db(r), &rows, "SELECT project_id, SUM(vcpus), SUM(memory_mb), SUM(root_gb + ephemeral_gb)"
		      " FROM cmp_instances WHERE host = ? AND deleted = 0 GROUP BY project_id ORDER BY project_id",
		      DB_TEXT(host));
	if (rc < 0) {
		json_decref(arr);
		return cmp_db_error(r, rc, "host usage");
	}
	int64_t cpu = 0, mem = 0, disk = 0;
	for (int i = 0; i < db_rows_count(rows); i++) {
		cpu += db_int(rows, i, 1);
		mem += db_int(rows, i, 2);
		disk += db_int(rows, i, 3);
	}
	json_array_append_new(arr, resource(host, "(used_now)", cpu, mem + conf_int("compute", "reserved_host_memory_mb"),
					    disk));
	json_array_append_new(arr, resource(host, "(used_max)", cpu, mem, disk));
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(arr, resource(host, db_text(rows, i, 0), db_int(rows, i, 1), db_int(rows, i, 2),
						    db_int(rows, i, 3)));
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "host", arr));
}

/* The host must be a compute host; then the driver has no such operation. */
static int not_supported(struct http_req *r)
{
	const char *host = http_param(r, "id");
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_services WHERE host = ? AND service_binary ="
			  " 'nova-compute'", DB_TEXT(host));
	if (rc < 0)
		return cmp_db_error(r, rc, "host");
	int n = db_rows_count(rows);
	db_rows_free(rows);
	if (!n)
		return http_error(r, ERR_NOTFOUND, "Compute host %s could not be found.", host);
	return http_error(r, ERR_NOTIMPL, "The requested functionality is not supported.");
}

int cmp_h_hosts_update(struct http_req *r)
{
	if (cmp_mv_ge(r, 2, 43))
		return gone(r);
	json_t *body = http_body_json(r), *v;
	if (!body)
		return ERR_BADREQ;
	static const char *const fields[] = { "status", "maintenance_mode", NULL };
	if (cmp_v_only(r, body, NULL, fields))
		return ERR_BADREQ;
	if (!json_object_size(body))
		return http_error(r, ERR_BADREQ, "Invalid input for field/attribute. {} is not valid under any of "
				  "the given schemas");
	static const char *const keys[] = { "status", "maintenance_mode" };
	for (int i = 0; i < 2; i++) {
		if (!(v = json_object_get(body, keys[i])))
			continue;
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		if (strcasecmp(s, "enable") && strcasecmp(s, "disable"))
			return cmp_bad_field(r, keys[i], arena_printf(r->arena, "Value: %s. %s is not one of "
					     "['enable', 'disable']", cmp_v_repr(r, v), cmp_v_repr(r, v)));
	}
	return not_supported(r);
}

static int power(struct http_req *r)
{
	if (cmp_mv_ge(r, 2, 43))
		return gone(r);
	return not_supported(r);
}

int cmp_h_hosts_reboot(struct http_req *r)
{
	return power(r);
}

int cmp_h_hosts_shutdown(struct http_req *r)
{
	return power(r);
}

int cmp_h_hosts_startup(struct http_req *r)
{
	return power(r);
}
