/* sched.h — the scheduler's decisions without the database (sched_filter.c): the compute nodes
 * as the filters see them, the request a flavor makes of placement, and the filters and weighers
 * applied to one placement candidate. sched.c loads the state and claims; unit tests drive these
 * directly. Not for use outside src/compute. */
#ifndef COMPUTE_SCHED_H
#define COMPUTE_SCHED_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "core/arena.h"
#include "placement/placement.h"

/* One metadata item of an aggregate a host belongs to. */
struct sched_meta {
	const char *host, *key, *value;
};

/* One compute node as the filters see it. */
struct sched_host {
	const char *uuid, *host, *node, *az;
	bool usable;                     /* its compute service is up, enabled, not forced down */
	const struct sched_meta *meta;   /* its aggregates' metadata */
	int nmeta;
};

/* What one instance asks of the filters. */
struct sched_want {
	const char *project_id;
	json_t *specs;                   /* the flavor's extra specs (object) */
	const char *az;                  /* requested availability zone, or NULL */
	const char *force_host, *force_node, *req_host, *req_node;
	const char *const *same_hosts;   /* hosts of same_host instances (NULL: no hint) */
	int nsame;
	const char *const *diff_hosts;   /* hosts of different_host instances (NULL: no hint) */
	int ndiff;
	const char *group_policy;        /* affinity, anti-affinity, soft-*, or NULL */
	int64_t max_per_host;            /* anti-affinity rule (0: 1) */
	const char *const *group_hosts;  /* hosts of the group's other members, one per member */
	int ngroup;
	bool pack;                       /* [compute] weigher = pack */
};

/* The placement request of a flavor: VCPU, MEMORY_MB, DISK_GB (root + ephemeral + swap rounded
 * up to GB), overridden by resources:RC=N extra specs; trait:T=required/forbidden. Strings live
 * in a. */
struct sched_request {
	struct placement_res res[16];
	int nres;
	const char *required[32], *forbidden[32];
	int nrequired, nforbidden;
};
void sched_flavor_request(struct arena *a, int64_t vcpus, int64_t ram_mb, int64_t root_gb, int64_t eph_gb,
			  int64_t swap_mb, json_t *specs, struct sched_request *q);

/* True when value is one of the comma-separated items of list. */
bool sched_in_csv(const char *list, const char *value);
/* Runs the filters on host h (a candidate c from placement): false when filtered out; else the
 * weight in *score (higher is better). */
bool sched_weigh(const struct sched_host *h, const struct placement_candidate *c, const struct sched_want *w,
		 double *score);

#endif
