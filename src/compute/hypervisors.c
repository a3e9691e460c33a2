/* hypervisors.c — /os-hypervisors: list and detail (paged at 2.33; uuid ids, hostname pattern and
 * with_servers at 2.53), show, uptime, statistics, and the /search and /servers routes of
 * microversions before 2.53. Usage (vCPUs, RAM, disk, running VMs) is counted from the
 * instances on each node. */
#include "compute/hosts.h"
#include "compute/valid.h"
#include "core/conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIMIT 1000

/* A compute node with its service and usage. */
struct hyp {
	int64_t id, hypervisor_version, vcpus, memory_mb, local_gb;
	int64_t vcpus_used, memory_mb_used, local_gb_used, running_vms, workload;
	const char *uuid, *host, *hostname, *type, *cpu_info, *host_ip;
	struct cmp_service svc;
};

/* Nodes with their compute service and usage: n.* (0-11), service columns (12-21), usage (22-26). */
#define HYP_SELECT \
	"SELECT n.id, n.uuid, n.host, n.hypervisor_hostname, n.hypervisor_type, n.hypervisor_version," \
	" n.vcpus, n.memory_mb, n.local_gb, n.cpu_info, n.host_ip, 0, " CMP_SERVICE_COLUMNS "," \
	" COALESCE(u.vcpus, 0), COALESCE(u.ram, 0), COALESCE(u.disk, 0), COALESCE(u.vms, 0), COALESCE(u.busy, 0)" \
	" FROM cmp_nodes n JOIN cmp_services s ON s.host = n.host AND s.service_binary = 'nova-compute'" \
	" LEFT JOIN (SELECT node, SUM(vcpus) AS vcpus, SUM(memory_mb) AS ram," \
	"  SUM(root_gb + ephemeral_gb + (swap + 1023) / 1024) AS disk, COUNT(*) AS vms," \
	"  SUM(CASE WHEN task_state IS NULL THEN 0 ELSE 1 END) AS busy" \
	"  FROM cmp_instances WHERE deleted = 0 GROUP BY node) u ON u.node = n.hypervisor_hostname"

static void hyp_from_row(struct http_req *r, const struct db_rows *rows, int i, struct hyp *h)
{
	*h = (struct hyp){
		.id = db_int(rows, i, 0),
		.uuid = arena_strdup(r->arena, db_text(rows, i, 1)),
		.host = arena_strdup(r->arena, db_text(rows, i, 2)),
		.hostname = arena_strdup(r->arena, db_text(rows, i, 3)),
		.type = arena_strdup(r->arena, db_text(rows, i, 4)),
		.hypervisor_version = db_int(rows, i, 5),
		.vcpus = db_int(rows, i, 6),
		.memory_mb = db_int(rows, i, 7),
		.local_gb = db_int(rows, i, 8),
		.cpu_info = arena_strdup(r->arena, db_text(rows, i, 9)),
		.host_ip = arena_strdup(r->arena, db_text(rows, i, 10)),
	};
	/* the service columns start at 12 (cmp_service_from_row reads from 0) */
	h->svc = (struct cmp_service){
		.id = db_int(rows, i, 12),
		.uuid = arena_strdup(r->arena, db_text(rows, i, 13)),
		.host = arena_strdup(r->arena, db_text(rows, i, 14)),
		.binary = arena_strdup(r->arena, db_text(rows, i, 15)),
		.disabled_reason = arena_strdup(r->arena, db_text(rows, i, 16)),
		.disabled = db_bool(rows, i, 17),
		.forced_down = db_bool(rows, i, 18),
	};
	int64_t seen = db_isnull(rows, i, 19) ? 0 : db_int(rows, i, 19);
	int64_t beat = seen ? seen : db_int(rows, i, 21);
	int64_t age = time_now_us() - beat;
	h->svc.up = !h->svc.forced_down && (age < 0 ? -age : age) <= conf_int("compute", "service_down_time") * 1000000;
	h->vcpus_used = db_int(rows, i, 22);
	h->memory_mb_used = db_int(rows, i, 23) + conf_int("compute", "reserved_host_memory_mb");
	h->local_gb_used = db_int(rows, i, 24);
	h->running_vms = db_int(rows, i, 25);
	h->workload = db_int(rows, i, 26);
}

/* The servers on a host ({name, uuid}), or NULL with a 500 recorded. */
static json_t *host_servers(struct http_req *r, const char *host)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT display_name, uuid FROM cmp_instances WHERE host = ?"
			  " AND deleted = 0 ORDER BY created_at, uuid", DB_TEXT(host));
	if (rc < 0) {
		cmp_db_error(r, rc, "hypervisor servers");
		return NULL;
	}
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "name", db_text(rows, i, 0), "uuid",
						     db_text(rows, i, 1)));
	db_rows_free(rows);
	return arr;
}

static json_t *hyp_json(struct http_req *r, const struct hyp *h, bool detail)
{
	bool uuids = cmp_mv_ge(r, 2, 53);
	json_t *o = json_pack("{s:s,s:s,s:s}", "hypervisor_hostname", h->hostname,
			      "state", h->svc.up ? "up" : "down", "status", h->svc.disabled ? "disabled" : "enabled");
	json_object_set_new(o, "id", uuids ? json_string(h->uuid) : json_integer(h->id));
	if (!detail)
		return o;
	json_object_set_new(o, "hypervisor_type", json_string(h->type));
	json_object_set_new(o, "hypervisor_version", json_integer(h->hypervisor_version));
	json_object_set_new(o, "host_ip", h->host_ip ? json_string(h->host_ip) : json_null());
	json_t *svc = json_pack("{s:s,s:o}", "host", h->host, "disabled_reason",
				h->svc.disabled_reason ? json_string(h->svc.disabled_reason) : json_null());
	json_object_set_new(svc, "id", uuids ? json_string(h->svc.uuid) : json_integer(h->svc.id));
	json_object_set_new(o, "service", svc);
	int64_t free_disk = h->local_gb - h->local_gb_used;
	json_object_set_new(o, "vcpus", json_integer(h->vcpus));
	json_object_set_new(o, "memory_mb", json_integer(h->memory_mb));
	json_object_set_new(o, "local_gb", json_integer(h->local_gb));
	json_object_set_new(o, "vcpus_used", json_integer(h->vcpus_used));
	json_object_set_new(o, "memory_mb_used", json_integer(h->memory_mb_used));
	json_object_set_new(o, "local_gb_used", json_integer(h->local_gb_used));
	json_object_set_new(o, "free_ram_mb", json_integer(h->memory_mb - h->memory_mb_used));
	json_object_set_new(o, "free_disk_gb", json_integer(free_disk));
	json_object_set_new(o, "current_workload", json_integer(h->workload));
	json_object_set_new(o, "running_vms", json_integer(h->running_vms));
	json_object_set_new(o, "disk_available_least", json_integer(free_disk));
	if (!cmp_mv_ge(r, 2, 28)) {
		json_object_set_new(o, "cpu_info", json_string(h->cpu_info ? h->cpu_info : ""));
	} else {
		json_t *ci = h->cpu_info && *h->cpu_info ? json_loads(h->cpu_info, 0, NULL) : NULL;
		json_object_set_new(o, "cpu_info", json_is_object(ci) ? ci : json_object());
		if (ci && !json_is_object(ci))
			json_decref(ci);
	}
	return o;
}

static int with_servers_param(struct http_req *r, bool *out)
{
	const char *s = http_query(r, "with_servers");
	*out = false;
	if (s && cmp_parse_bool_strict(s, out))
		return http_error(r, ERR_BADREQ, "Invalid input for query parameters with_servers. Value: %s. "
				  "'%s' is not one of the boolean values", s, s);
	return 0;
}

static int list(struct http_req *r, bool detail)
{
	bool v253 = cmp_mv_ge(r, 2, 53), paged = cmp_mv_ge(r, 2, 33), with_servers = false;
	static const char *const q253[] = { "limit", "marker", "hypervisor_hostname_pattern", "with_servers", NULL };
	int rc;
	if (v253 && ((rc = cmp_q_only(r, q253)) || (rc = with_servers_param(r, &with_servers))))
		return rc;
	const char *pattern = v253 ? http_query(r, "hypervisor_hostname_pattern") : NULL;
	const char *marker = paged ? http_query(r, "marker") : NULL;
	int64_t limit = MAX_LIMIT;
	if (paged && (rc = cmp_q_limit(r, MAX_LIMIT, &limit)))
		return rc;
	if (pattern) {
		json_t *pv = json_string(pattern);
		rc = cmp_v_fqdn(r, pv, "hypervisor_hostname_pattern");
		json_decref(pv);
		if (rc)
			return rc;
		if (http_query(r, "limit") || marker)
			return http_error(r, ERR_BADREQ, "Paging over hypervisors with the hypervisor_hostname_pattern "
					  "query parameter is not supported.");
	}
	struct db_rows *rows = NULL;
	int64_t after = 0;
	if (marker) {
		if (v253)
			rc = db_query(cmp_db(r), &rows, "SELECT id FROM cmp_nodes WHERE uuid = ?", DB_TEXT(marker));
		else {
			int64_t n;
			rc = parse_int64(marker, INT64_MIN, INT64_MAX, &n) ? 0 :
			     db_query(cmp_db(r), &rows, "SELECT id FROM cmp_nodes WHERE id = ?", DB_INT(n));
		}
		if (rc < 0)
			return cmp_db_error(r, rc, "hypervisor marker");
		if (!rows || !db_rows_count(rows)) {
			db_rows_free(rows);
			return http_error(r, ERR_BADREQ, "marker [%s] not found", marker);
		}
		after = db_int(rows, 0, 0);
		db_rows_free(rows);
	}
	const char *like = pattern ? arena_printf(r->arena, "%%%s%%", pattern) : "%";
	rc = db_query(cmp_db(r), &rows, HYP_SELECT " WHERE n.id > ? AND n.hypervisor_hostname LIKE ?"
		      " ORDER BY n.id LIMIT ?", DB_INT(after), DB_TEXT(like), DB_INT(paged ? limit : 1000000));
	if (rc < 0)
		return cmp_db_error(r, rc, "hypervisors");
	if (pattern && !db_rows_count(rows)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "No hypervisor matching '%s' could be found.", pattern);
	}
	json_t *arr = json_array();
	const char *last = NULL;
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct hyp h;
		hyp_from_row(r, rows, i, &h);
		json_t *o = hyp_json(r, &h, detail);
		if (with_servers) {
			json_t *srv = host_servers(r, h.host);
			if (!srv) {
				json_decref(o);
				json_decref(arr);
				db_rows_free(rows);
				return ERR_INTERNAL;
			}
			if (json_array_size(srv) || cmp_mv_ge(r, 2, 75))
				json_object_set_new(o, "servers", srv);
			else
				json_decref(srv);
		}
		json_array_append_new(arr, o);
		last = v253 ? h.uuid : arena_printf(r->arena, "%lld", (long long)h.id);
	}
	db_rows_free(rows);
	json_t *body = json_pack("{s:o}", "hypervisors", arr);
	if (paged && !pattern && limit && (int64_t)json_array_size(arr) == limit && last)
		json_object_set_new(body, "hypervisors_links", json_pack("[{s:s,s:s}]", "rel", "next", "href",
			cmp_next_link(r, detail ? "os-hypervisors/detail" : "os-hypervisors", last)));
	return http_reply_json(r, 200, body);
}

int cmp_h_hyp_index(struct http_req *r)
{
	return list(r, false);
}

int cmp_h_hyp_detail(struct http_req *r)
{
	return list(r, true);
}

/* One hypervisor by id (integer before 2.53: 404 when not one; uuid from 2.53: 400). */
static int load_hyp(struct http_req *r, const char *id, struct hyp *h)
{
	struct db_rows *rows = NULL;
	int rc;
	if (cmp_mv_ge(r, 2, 53)) {
		if (!uuid_valid(id) || strlen(id) != 36)
			return http_error(r, ERR_BADREQ, "Invalid uuid %s", id);
		rc = db_query(cmp_db(r), &rows, HYP_SELECT " WHERE n.uuid = ?", DB_TEXT(id));
	} else {
		int64_t n;
		if (parse_int64(id, INT64_MIN, INT64_MAX, &n))
			return http_error(r, ERR_NOTFOUND, "Hypervisor with ID '%s' could not be found.", id);
		rc = db_query(cmp_db(r), &rows, HYP_SELECT " WHERE n.id = ?", DB_INT(n));
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "hypervisor");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Hypervisor with ID '%s' could not be found.", id);
	}
	hyp_from_row(r, rows, 0, h);
	db_rows_free(rows);
	return 0;
}

int cmp_h_hyp_show(struct http_req *r)
{
	static const char *const q[] = { "with_servers", NULL };
	bool with_servers = false;
	int rc;
	if (cmp_mv_ge(r, 2, 53) && ((rc = cmp_q_only(r, q)) || (rc = with_servers_param(r, &with_servers))))
		return rc;
	struct hyp h;
	if ((rc = load_hyp(r, http_param(r, "id"), &h)))
		return rc;
	json_t *o = hyp_json(r, &h, true);
	if (with_servers) {
		json_t *srv = host_servers(r, h.host);
		if (!srv) {
			json_decref(o);
			return ERR_INTERNAL;
		}
		if (json_array_size(srv) || cmp_mv_ge(r, 2, 75))
			json_object_set_new(o, "servers", srv);
		else
			json_decref(srv);
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "hypervisor", o));
}

/* What `uptime` prints, from this machine's /proc (the in-process agent's host). */
static const char *uptime_text(struct http_req *r)
{
	double up = 0, l1 = 0, l5 = 0, l15 = 0;
	FILE *f = fopen("/proc/uptime", "re");
	if (f) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3)
			l1 = l5 = l15 = 0;
		fclose(f);
	}
	char now[40];
	time_format(time_now_us(), 0, false, now);
	long s = (long)up, days = s / 86400, hours = s % 86400 / 3600, mins = s % 3600 / 60;
	return arena_printf(r->arena, " %.8s up %ld day%s, %2ld:%02ld,  1 user,  load average: %.2f, %.2f, %.2f",
			    now + 11, days, days == 1 ? "" : "s", hours, mins, l1, l5, l15);
}

int cmp_h_hyp_uptime(struct http_req *r)
{
	struct hyp h;
	int rc = load_hyp(r, http_param(r, "id"), &h);
	if (rc)
		return rc;
	json_t *o = hyp_json(r, &h, false);
	json_object_set_new(o, "uptime", json_string(uptime_text(r)));
	return http_reply_json(r, 200, json_pack("{s:o}", "hypervisor", o));
}

static int search(struct http_req *r, bool servers)
{
	if (cmp_mv_ge(r, 2, 53))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	const char *pattern = http_param(r, "id");
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, HYP_SELECT " WHERE n.hypervisor_hostname LIKE ? ORDER BY n.id",
			  DB_TEXT(arena_printf(r->arena, "%%%s%%", pattern)));
	if (rc < 0)
		return cmp_db_error(r, rc, "hypervisor search");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "No hypervisor matching '%s' could be found.", pattern);
	}
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct hyp h;
		hyp_from_row(r, rows, i, &h);
		json_t *o = hyp_json(r, &h, false);
		if (servers) {
			json_t *srv = host_servers(r, h.host);
			if (!srv) {
				json_decref(o);
				json_decref(arr);
				db_rows_free(rows);
				return ERR_INTERNAL;
			}
			if (json_array_size(srv))
				json_object_set_new(o, "servers", srv);
			else
				json_decref(srv);
		}
		json_array_append_new(arr, o);
	}
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "hypervisors", arr));
}

int cmp_h_hyp_search(struct http_req *r)
{
	return search(r, false);
}

int cmp_h_hyp_servers(struct http_req *r)
{
	return search(r, true);
}

int cmp_h_hyp_statistics(struct http_req *r)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, HYP_SELECT " WHERE s.disabled = 0");
	if (rc < 0)
		return cmp_db_error(r, rc, "hypervisor statistics");
	int64_t t[11] = { 0 };
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct hyp h;
		hyp_from_row(r, rows, i, &h);
		t[0] += h.vcpus;
		t[1] += h.memory_mb;
		t[2] += h.local_gb;
		t[3] += h.vcpus_used;
		t[4] += h.memory_mb_used;
		t[5] += h.local_gb_used;
		t[6] += h.memory_mb - h.memory_mb_used;
		t[7] += h.local_gb - h.local_gb_used;
		t[8] += h.workload;
		t[9] += h.running_vms;
		t[10] += h.local_gb - h.local_gb_used;
	}
	json_t *o = json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "count", db_rows_count(rows),
			      "vcpus", (json_int_t)t[0], "memory_mb", (json_int_t)t[1], "local_gb", (json_int_t)t[2],
			      "vcpus_used", (json_int_t)t[3], "memory_mb_used", (json_int_t)t[4],
			      "local_gb_used", (json_int_t)t[5], "free_ram_mb", (json_int_t)t[6],
			      "free_disk_gb", (json_int_t)t[7], "current_workload", (json_int_t)t[8],
			      "running_vms", (json_int_t)t[9], "disk_available_least", (json_int_t)t[10]);
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "hypervisor_statistics", o));
}
