/* hosts.c — the host side of the API as one route family (os-services, os-hypervisors,
 * os-availability-zone, os-aggregates and the legacy os-hosts below 2.43), and what those files
 * share: service state (up/down from the last heartbeat), availability zones of hosts, the
 * placement mirror of aggregate membership. */
#include "compute/hosts.h"
#include "core/conf.h"
#include "placement/placement.h"
#include <string.h>


void cmp_service_from_row(struct http_req *r, const struct db_rows *rows, int i, struct cmp_service *s)
{
	*s = (struct cmp_service){
		.id = db_int(rows, i, 0),
		.uuid = arena_strdup(r->arena, db_text(rows, i, 1)),
		.host = arena_strdup(r->arena, db_text(rows, i, 2)),
		.binary = arena_strdup(r->arena, db_text(rows, i, 3)),
		.disabled_reason = arena_strdup(r->arena, db_text(rows, i, 4)),
		.disabled = db_bool(rows, i, 5),
		.forced_down = db_bool(rows, i, 6),
	};
	int64_t seen = db_isnull(rows, i, 7) ? 0 : db_int(rows, i, 7);
	int64_t updated = db_isnull(rows, i, 8) ? 0 : db_int(rows, i, 8);
	int64_t beat = seen ? seen : db_int(rows, i, 9);   /* heartbeats, else the registration */
	int64_t age = time_now_us() - beat;
	if (age < 0)
		age = -age;
	s->alive = age <= conf_int("compute", "service_down_time") * 1000000;
	s->up = s->alive && !s->forced_down;
	s->updated_at = seen > updated ? seen : updated;
}

json_t *cmp_host_zones(struct http_req *r)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT h.host, MIN(m.value) FROM cmp_aggregate_hosts h"
			  " JOIN cmp_aggregate_metadata m ON m.aggregate_id = h.aggregate_id"
			  " AND m.key = 'availability_zone' GROUP BY h.host");
	if (rc < 0) {
		cmp_db_error(r, rc, "host zones");
		return NULL;
	}
	json_t *map = json_object();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_object_set_new(map, db_text(rows, i, 0), json_string(db_text(rows, i, 1)));
	db_rows_free(rows);
	return map;
}

const char *cmp_service_zone(const json_t *zones, const struct cmp_service *s)
{
	if (strcmp(s->binary, "nova-compute"))
		return "internal";
	const char *z = json_string_value(json_object_get(zones, s->host));
	return z ? z : conf_str("compute", "default_availability_zone");
}

int cmp_placement_delete_provider(struct http_req *r, const char *uuid)
{
	if (!cmp_svc(r)->placement)
		return 0;
	char err[256] = "";
	int rc = placement_provider_delete(cmp_db(r), uuid, err, sizeof err);
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc < 0) {   /* Nova logs and goes on: the service row goes away regardless */
		log_error("deleting resource provider %s: %s", uuid, err);
		return 0;
	}
	return 0;
}

int cmp_host_sync_placement(struct http_req *r, const char *host)
{
	if (!cmp_svc(r)->placement)
		return 0;
	struct db_rows *aggs = NULL, *nodes = NULL;
	int rc = db_query(cmp_db(r), &aggs, "SELECT a.uuid FROM cmp_aggregates a JOIN cmp_aggregate_hosts h"
			  " ON h.aggregate_id = a.id WHERE h.host = ? ORDER BY a.uuid", DB_TEXT(host));
	if (rc >= 0)
		rc = db_query(cmp_db(r), &nodes, "SELECT uuid FROM cmp_nodes WHERE host = ?", DB_TEXT(host));
	if (rc < 0) {
		db_rows_free(aggs);
		return cmp_db_error(r, rc, "placement aggregates");
	}
	int n = db_rows_count(aggs);
	const char **uuids = arena_alloc(r->arena, sizeof *uuids * (size_t)(n + 1));
	for (int i = 0; i < n; i++)
		uuids[i] = db_text(aggs, i, 0);
	for (int i = 0; i < db_rows_count(nodes) && rc >= 0; i++) {
		char err[256] = "";
		rc = placement_provider_set_aggregates(cmp_db(r), db_text(nodes, i, 0), uuids, n, err, sizeof err);
		if (rc == ERR_NOTFOUND) {   /* not registered in placement yet: Nova only warns */
			log_warn("compute host %s: no resource provider %s in placement yet", host, db_text(nodes, i, 0));
			rc = 0;
		} else if (rc < 0) {
			log_error("compute host %s: placement aggregates: %s", host, err);
		}
	}
	db_rows_free(aggs);
	db_rows_free(nodes);
	if (rc < 0) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Cannot update the placement aggregates of host %s", host);
	}
	return 0;
}

const struct route cmp_routes_hosts[] = {
	{ "GET", "/v2.1/os-services", cmp_h_services_index, "os_compute_api:os-services:list", 0, NULL },
	{ "PUT", "/v2.1/os-services/{id}", cmp_h_services_update, "os_compute_api:os-services:update", 0, NULL },
	{ "DELETE", "/v2.1/os-services/{id}", cmp_h_services_delete, "os_compute_api:os-services:delete", 0, NULL },
	{ "GET", "/v2.1/os-hypervisors", cmp_h_hyp_index, "os_compute_api:os-hypervisors:list", 0, NULL },
	{ "GET", "/v2.1/os-hypervisors/detail", cmp_h_hyp_detail, "os_compute_api:os-hypervisors:list-detail", 0, NULL },
	{ "GET", "/v2.1/os-hypervisors/statistics", cmp_h_hyp_statistics,
	  "os_compute_api:os-hypervisors:statistics", 0, NULL },
	{ "GET", "/v2.1/os-hypervisors/{id}", cmp_h_hyp_show, "os_compute_api:os-hypervisors:show", 0, NULL },
	{ "GET", "/v2.1/os-hypervisors/{id}/uptime", cmp_h_hyp_uptime, "os_compute_api:os-hypervisors:uptime", 0, NULL },
	{ "GET", "/v2.1/os-hypervisors/{id}/search", cmp_h_hyp_search, "os_compute_api:os-hypervisors:search", 0, NULL },
	{ "GET", "/v2.1/os-hypervisors/{id}/servers", cmp_h_hyp_servers, "os_compute_api:os-hypervisors:servers", 0, NULL },
	{ "GET", "/v2.1/os-availability-zone", cmp_h_az_index, "os_compute_api:os-availability-zone:list", 0, NULL },
	{ "GET", "/v2.1/os-availability-zone/detail", cmp_h_az_detail,
	  "os_compute_api:os-availability-zone:detail", 0, NULL },
	{ "GET", "/v2.1/os-aggregates", cmp_h_agg_index, "os_compute_api:os-aggregates:index", 0, NULL },
	{ "POST", "/v2.1/os-aggregates", cmp_h_agg_create, "os_compute_api:os-aggregates:create", 0, NULL },
	{ "GET", "/v2.1/os-aggregates/{id}", cmp_h_agg_show, "os_compute_api:os-aggregates:show", 0, NULL },
	{ "PUT", "/v2.1/os-aggregates/{id}", cmp_h_agg_update, "os_compute_api:os-aggregates:update", 0, NULL },
	{ "DELETE", "/v2.1/os-aggregates/{id}", cmp_h_agg_delete, "os_compute_api:os-aggregates:delete", 0, NULL },
	{ "POST", "/v2.1/os-aggregates/{id}/action", cmp_h_agg_action, NULL, 0, NULL },
	{ "GET", "/v2.1/os-hosts", cmp_h_hosts_index, "os_compute_api:os-hosts:list", 0, NULL },
	{ "GET", "/v2.1/os-hosts/{id}", cmp_h_hosts_show, "os_compute_api:os-hosts:show", 0, NULL },
	{ "PUT", "/v2.1/os-hosts/{id}", cmp_h_hosts_update, "os_compute_api:os-hosts:update", 0, NULL },
	{ "GET", "/v2.1/os-hosts/{id}/reboot", cmp_h_hosts_reboot, "os_compute_api:os-hosts:reboot", 0, NULL },
	{ "GET", "/v2.1/os-hosts/{id}/shutdown", cmp_h_hosts_shutdown, "os_compute_api:os-hosts:shutdown", 0, NULL },
	{ "GET", "/v2.1/os-hosts/{id}/startup", cmp_h_hosts_startup, "os_compute_api:os-hosts:start", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
