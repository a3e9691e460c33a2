/* sched_filter.c — the scheduler's filters and weighers over one candidate, as Nova's default
 * set behaves: ComputeFilter (service up and enabled), AvailabilityZoneFilter, forced and
 * requested hosts/nodes, AggregateMultiTenancyIsolation (filter_tenant_id*),
 * AggregateInstanceExtraSpecsFilter (unscoped and aggregate_instance_extra_specs: keys),
 * Same/DifferentHostFilter, ServerGroup(Anti)AffinityFilter with max_server_per_host; weights by
 * free RAM then CPU (spread or pack) and by soft group policies. No database here. */
#include "compute/sched.h"
#include <stdlib.h>
#include <string.h>

void sched_flavor_request(struct arena *a, int64_t vcpus, int64_t ram_mb, int64_t root_gb, int64_t eph_gb,
			  int64_t swap_mb, json_t *specs, struct sched_request *q)
{
	*q = (struct sched_request){ 0 };
	q->res[q->nres++] = (struct placement_res){ "VCPU", vcpus };
	q->res[q->nres++] = (struct placement_res){ "MEMORY_MB", ram_mb };
	q->res[q->nres++] = (struct placement_res){ "DISK_GB", root_gb + eph_gb + (swap_mb + 1023) / 1024 };
	const char *k;
	json_t *v;
	json_object_foreach(specs, k, v) {
		const char *val = json_string_value(v);
		if (!val)
			continue;
		if (!strncmp(k, "resources:", 10) && k[10]) {
			const char *rc = arena_strdup(a, k + 10);
			int64_t amount = strtoll(val, NULL, 10);
			int slot = -1;
			for (int i = 0; i < q->nres; i++)
				if (!strcmp(q->res[i].rc, rc))
					slot = i;
			if (slot < 0 && q->nres < 16)
				slot = q->nres++;
			if (slot >= 0)
				q->res[slot] = (struct placement_res){ rc, amount < 0 ? 0 : amount };
		} else if (!strncmp(k, "trait:", 6) && k[6]) {
			if (!strcmp(val, "required") && q->nrequired < 32)
				q->required[q->nrequired++] = arena_strdup(a, k + 6);
			else if (!strcmp(val, "forbidden") && q->nforbidden < 32)
				q->forbidden[q->nforbidden++] = arena_strdup(a, k + 6);
		}
	}
}

bool sched_in_csv(const char *list, const char *value)
{
	size_t n = strlen(value);
	for (const char *p = list; p && *p;) {
		while (*p == ' ')
			p++;
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		while (l && p[l - 1] == ' ')
			l--;
		if (l == n && !strncmp(p, value, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* Hosts in aggregates with filter_tenant_id* keys take only those projects. */
static bool tenant_ok(const struct sched_host *h, const char *project)
{
	bool restricted = false;
	for (int i = 0; i < h->nmeta; i++) {
		const struct sched_meta *m = &h->meta[i];
		if (strncmp(m->key, "filter_tenant_id", 16))
			continue;
		restricted = true;
		if (project && sched_in_csv(m->value, project))
			return true;
	}
	return !restricted;
}

/* Unscoped and aggregate_instance_extra_specs: specs must be matched by the host's aggregate
 * metadata ("<in> x" and "s== x" forms accepted). */
static bool specs_ok(const struct sched_host *h, json_t *specs)
{
	const char *k;
	json_t *v;
	json_object_foreach(specs, k, v) {
		const char *key = k;
		if (!strncmp(k, "aggregate_instance_extra_specs:", 31))
			key = k + 31;
		else if (strchr(k, ':'))
			continue;
		const char *want = json_string_value(v);
		if (!want)
			continue;
		if (!strncmp(want, "<in> ", 5))
			want += 5;
		else if (!strncmp(want, "s== ", 4) || !strncmp(want, "= ", 2))
			want = strchr(want, ' ') + 1;
		bool found = false;
		for (int i = 0; i < h->nmeta && !found; i++) {
			const struct sched_meta *m = &h->meta[i];
			found = !strcmp(m->key, key) && (sched_in_csv(m->value, want) || !strcmp(m->value, want));
		}
		if (!found)
			return false;
	}
	return true;
}

static int count_in(const char *const *list, int n, const char *s)
{
	int k = 0;
	for (int i = 0; list && i < n; i++)
		if (list[i] && !strcmp(list[i], s))
			k++;
	return k;
}

bool sched_weigh(const struct sched_host *h, const struct placement_candidate *c, const struct sched_want *w,
		 double *score)
{
	if (!h->usable)
		return false;
	if ((w->force_host && strcmp(h->host, w->force_host)) || (w->req_host && strcmp(h->host, w->req_host)) ||
	    (w->force_node && strcmp(h->node, w->force_node)) || (w->req_node && strcmp(h->node, w->req_node)))
		return false;
	if (w->az && !w->force_host && strcmp(h->az, w->az))
		return false;
	if (!tenant_ok(h, w->project_id) || !specs_ok(h, w->specs))
		return false;
	if (w->same_hosts && !count_in(w->same_hosts, w->nsame, h->host))
		return false;
	if (w->diff_hosts && count_in(w->diff_hosts, w->ndiff, h->host))
		return false;
	int members = count_in(w->group_hosts, w->ngroup, h->host);
	const char *gp = w->group_policy;
	if (gp && !strcmp(gp, "affinity") && w->ngroup && !members)
		return false;
	if (gp && !strcmp(gp, "anti-affinity") && members >= (w->max_per_host > 0 ? w->max_per_host : 1))
		return false;
	double free_ram = (double)(c->capacity[1] - c->used[1]);
	double free_cpu = (double)(c->capacity[0] - c->used[0]);
	double s = free_ram + free_cpu * 1024.0;
	if (w->pack)
		s = -s;
	if (gp && !strcmp(gp, "soft-affinity"))
		s += 1e12 * members;
	if (gp && !strcmp(gp, "soft-anti-affinity"))
		s -= 1e12 * members;
	*score = s;
	return true;
}
