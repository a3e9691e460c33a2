/* hosts.h — what the host-side files share (hosts.c, services.c, hypervisors.c, azs.c,
 * aggregates.c): a service's state, a host's availability zone, and the handlers hosts.c's route
 * table names. Not for use outside src/compute. */
#ifndef COMPUTE_HOSTS_H
#define COMPUTE_HOSTS_H
#include "compute/cmp.h"
#include "compute/valid.h"

/* A row of cmp_services as the API shows it. */
struct cmp_service {
	int64_t id;
	const char *uuid, *host, *binary, *disabled_reason;
	bool disabled, forced_down, up;   /* up: alive and not forced down */
	bool alive;                        /* heartbeat within service_down_time */
	int64_t updated_at;            /* 0: never */
	const char *zone;              /* the service's availability zone */
};

/* Columns cmp_service_from_row() reads (table alias s). */
#define CMP_SERVICE_COLUMNS "s.id, s.uuid, s.host, s.service_binary, s.disabled_reason, s.disabled," \
	" s.forced_down, s.last_seen_up, s.updated_at, s.created_at"

/* Fills s from row i (zone left NULL). */
void cmp_service_from_row(struct http_req *r, const struct db_rows *rows, int i, struct cmp_service *s);
/* Loads the zone of each compute host: an object {host: zone} of hosts in a zoned aggregate.
 * New reference, or NULL with a 500 recorded. */
json_t *cmp_host_zones(struct http_req *r);
/* The zone of a service given cmp_host_zones()' map: its aggregate's zone, [compute]
 * default_availability_zone for other compute hosts, "internal" for other binaries. */
const char *cmp_service_zone(const json_t *zones, const struct cmp_service *s);
/* Points every compute node of host at the placement aggregates matching the host's aggregates
 * (in r's open transaction); a no-op when placement is not wired in. 0, or a recorded error. */
int cmp_host_sync_placement(struct http_req *r, const char *host);
/* Removes a compute node's resource provider from placement (errors are logged, as Nova does). */
int cmp_placement_delete_provider(struct http_req *r, const char *uuid);

/* services.c */
int cmp_h_services_index(struct http_req *r);
int cmp_h_services_update(struct http_req *r);
int cmp_h_services_delete(struct http_req *r);
/* hypervisors.c */
int cmp_h_hyp_index(struct http_req *r);
int cmp_h_hyp_detail(struct http_req *r);
int cmp_h_hyp_show(struct http_req *r);
int cmp_h_hyp_uptime(struct http_req *r);
int cmp_h_hyp_search(struct http_req *r);
int cmp_h_hyp_servers(struct http_req *r);
int cmp_h_hyp_statistics(struct http_req *r);
/* azs.c */
int cmp_h_az_index(struct http_req *r);
int cmp_h_az_detail(struct http_req *r);
/* aggregates.c */
int cmp_h_agg_index(struct http_req *r);
int cmp_h_agg_create(struct http_req *r);
int cmp_h_agg_show(struct http_req *r);
int cmp_h_agg_update(struct http_req *r);
int cmp_h_agg_delete(struct http_req *r);
int cmp_h_agg_action(struct http_req *r);
/* hosts_legacy.c: os-hosts (before 2.43) */
int cmp_h_hosts_index(struct http_req *r);
int cmp_h_hosts_show(struct http_req *r);
int cmp_h_hosts_update(struct http_req *r);
int cmp_h_hosts_reboot(struct http_req *r);
int cmp_h_hosts_shutdown(struct http_req *r);
int cmp_h_hosts_startup(struct http_req *r);

#endif
