/* sched.c — the scheduler: a thread that takes instances waiting in task_state scheduling (a new
 * build) or resize_prep (a resize) from the instance table, asks placement for providers that can
 * hold the flavor (VCPU, MEMORY_MB, DISK_GB, resources:/trait: extra specs), filters them like
 * Nova's default filters (compute service up and enabled, availability zone, forced or requested
 * host, AggregateMultiTenancyIsolation, AggregateInstanceExtraSpecs, server group (anti-)affinity
 * with max_server_per_host, same_host/different_host), weighs by free RAM and CPU ([compute]
 * weigher spread or pack; soft group policies weigh too), claims with placement (the next
 * candidate on a conflict), and hands the instance to its host's agent. Each instance is placed in
 * its own transaction, so a multi-create spreads. No host: ERROR with Nova's fault. */
#include "compute/srv.h"
#include "compute/sched.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 200
#define NO_VALID_HOST "No valid host was found. There are not enough hosts available."

struct cmp_sched {
	struct compute_svc *svc;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool kicked, stop, started;
};

/* Placement's candidates for one kind of request, kept for the rest of a pass: each claim the
 * pass makes is added to the copy's usage, so a multi-create or a burst of boots asks placement
 * once instead of once per instance. The copy can only be too pessimistic (a claim rolled back,
 * a delete meanwhile); when nothing fits in it, placement is asked again before giving up. */
struct cand_cache {
	char *key;
	struct placement_candidate *c;
	int n;
};

#define CAND_CACHE_MAX 8

struct hosts {
	struct arena *a;
	struct sched_host *h;
	int n;
	struct sched_meta *m;
	int nm;
	struct cand_cache cache[CAND_CACHE_MAX];
	int ncache;
};

static void cache_free(struct hosts *hs)
{
	for (int i = 0; i < hs->ncache; i++)
		free(hs->cache[i].c);
	hs->ncache = 0;
}

/* The cache key of a request: its amounts and traits. */
static const char *request_key(struct arena *a, const struct sched_request *q)
{
	const char *k = "";
	for (int i = 0; i < q->nres; i++)
		k = arena_printf(a, "%s%s=%lld,", k, q->res[i].rc, (long long)q->res[i].amount);
	for (int i = 0; i < q->nrequired; i++)
		k = arena_printf(a, "%s+%s", k, q->required[i]);
	for (int i = 0; i < q->nforbidden; i++)
		k = arena_printf(a, "%s!%s", k, q->forbidden[i]);
	return k;
}

/* The candidates for pq under key: the pass's copy, or (fresh, or none yet) placement's answer. */
static int candidates(struct db_conn *c, struct hosts *hs, const char *key, const struct placement_query *pq,
		      bool fresh, struct cand_cache **out)
{
	struct cand_cache *cc = NULL;
	for (int i = 0; i < hs->ncache && !cc; i++)
		if (!strcmp(hs->cache[i].key, key))
			cc = &hs->cache[i];
	if (cc && !fresh) {
		*out = cc;
		return 0;
	}
	struct placement_candidate *cands = NULL;
	int n = 0;
	int rc = placement_candidates(c, pq, &cands, &n);
	if (rc < 0)
		return rc;
	if (!cc) {
		if (hs->ncache == CAND_CACHE_MAX) {      /* full: start over */
			cache_free(hs);
		}
		cc = &hs->cache[hs->ncache++];
		cc->key = arena_strdup(hs->a, key);
	} else {
		free(cc->c);
	}
	cc->c = cands;
	cc->n = n;
	*out = cc;
	return 0;
}

/* Index of a standard class in placement_candidate's capacity/used, or -1. */
static int class_index(const char *rc)
{
	return !strcmp(rc, "VCPU") ? 0 : !strcmp(rc, "MEMORY_MB") ? 1 : !strcmp(rc, "DISK_GB") ? 2 : -1;
}

/* Whether the candidate still has room for q as far as the pass's copy knows. */
static bool still_fits(const struct placement_candidate *c, const struct sched_request *q)
{
	for (int i = 0; i < q->nres; i++) {
		int k = class_index(q->res[i].rc);
		if (k >= 0 && c->capacity[k] - c->used[k] < q->res[i].amount)
			return false;
	}
	return true;
}

static void add_usage(struct placement_candidate *c, const struct sched_request *q)
{
	for (int i = 0; i < q->nres; i++) {
		int k = class_index(q->res[i].rc);
		if (k >= 0)
			c->used[k] += q->res[i].amount;
	}
}

struct group {
	const char *policy;
	int64_t max_per_host;
	const char **hosts;              /* hosts of the other members (one entry per member) */
	int nhosts;
};

struct scored {
	struct placement_candidate *c;
	struct sched_host *h;
	double score;
};

static int by_score(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->c->name, y->c->name);
}

static int cmp_host_uuid(const void *a, const void *b)
{
	return strcmp(((const struct sched_host *)a)->uuid, ((const struct sched_host *)b)->uuid);
}

static int cmp_meta_host(const void *a, const void *b)
{
	return strcmp(((const struct sched_meta *)a)->host, ((const struct sched_meta *)b)->host);
}

static struct sched_host *find_host(struct hosts *hs, const char *uuid)
{
	struct sched_host key = { .uuid = uuid };
	return bsearch(&key, hs->h, (size_t)hs->n, sizeof *hs->h, cmp_host_uuid);
}

/* Loads nodes, their services' state and their aggregates' metadata. */
static int load_hosts(struct db_conn *c, struct hosts *hs)
{
	struct db_rows *rows = NULL;
	int64_t now = time_now_us(), down = conf_int("compute", "service_down_time") * 1000000;
	int rc = db_query(c, &rows, "SELECT n.uuid, n.host, n.hypervisor_hostname, s.disabled, s.forced_down,"
			  " s.last_seen_up FROM cmp_nodes n LEFT JOIN cmp_services s ON s.host = n.host AND"
			  " s.service_binary = 'nova-compute'");
	if (rc < 0)
		return rc;
	hs->n = db_rows_count(rows);
	hs->h = arena_alloc(hs->a, sizeof *hs->h * ((size_t)hs->n + 1));
	for (int i = 0; i < hs->n; i++) {
		struct sched_host *h = &hs->h[i];
		h->uuid = arena_strdup(hs->a, db_text(rows, i, 0));
		h->host = arena_strdup(hs->a, db_text(rows, i, 1));
		h->node = arena_strdup(hs->a, db_text(rows, i, 2));
		h->usable = !db_isnull(rows, i, 3) && !db_bool(rows, i, 3) && !db_bool(rows, i, 4) &&
			    now - db_int(rows, i, 5) <= down;
		h->az = conf_str("compute", "default_availability_zone");
	}
	db_rows_free(rows);
	qsort(hs->h, (size_t)hs->n, sizeof *hs->h, cmp_host_uuid);
	rc = db_query(c, &rows, "SELECT h.host, m.key, m.value FROM cmp_aggregate_hosts h JOIN cmp_aggregate_metadata m"
		      " ON m.aggregate_id = h.aggregate_id");
	if (rc < 0)
		return rc;
	hs->nm = db_rows_count(rows);
	hs->m = arena_alloc(hs->a, sizeof *hs->m * ((size_t)hs->nm + 1));
	for (int i = 0; i < hs->nm; i++)
		hs->m[i] = (struct sched_meta){ arena_strdup(hs->a, db_text(rows, i, 0)), arena_strdup(hs->a, db_text(rows, i, 1)),
					  arena_strdup(hs->a, db_text(rows, i, 2)) };
	db_rows_free(rows);
	qsort(hs->m, (size_t)hs->nm, sizeof *hs->m, cmp_meta_host);
	for (int i = 0; i < hs->n; i++) {
		struct sched_host *h = &hs->h[i];
		struct sched_meta key = { .host = h->host };
		struct sched_meta *m = bsearch(&key, hs->m, (size_t)hs->nm, sizeof *hs->m, cmp_meta_host);
		if (!m)
			continue;
		while (m > hs->m && !strcmp(m[-1].host, h->host))
			m--;
		h->meta = m;
		while (m + h->nmeta < hs->m + hs->nm && !strcmp(m[h->nmeta].host, h->host)) {
			if (!strcmp(m[h->nmeta].key, "availability_zone"))
				h->az = m[h->nmeta].value;
			h->nmeta++;
		}
	}
	return 0;
}

static int load_group(struct db_conn *c, struct arena *a, const char *group, const char *self, struct group *g)
{
	*g = (struct group){ 0 };
	if (!group)
		return 0;
	struct db_rows *rows = NULL;
	int rc = db_query(c, &rows, "SELECT policy, rules FROM cmp_server_groups WHERE uuid = ?", DB_TEXT(group));
	if (rc < 0)
		return rc;
	if (db_rows_count(rows)) {
		g->policy = arena_strdup(a, db_text(rows, 0, 0));
		json_t *rules = json_loads(db_text(rows, 0, 1) ? db_text(rows, 0, 1) : "{}", 0, NULL);
		json_t *m = json_object_get(rules, "max_server_per_host");
		g->max_per_host = json_is_integer(m) ? json_integer_value(m) :
				  json_is_string(m) ? strtoll(json_string_value(m), NULL, 10) : 0;
		json_decref(rules);
	}
	db_rows_free(rows);
	rc = db_query(c, &rows, "SELECT i.host FROM cmp_server_group_members m JOIN cmp_instances i ON i.uuid ="
		      " m.instance_uuid WHERE m.group_uuid = ? AND i.deleted = 0 AND i.host IS NOT NULL AND i.uuid <> ?",
		      DB_TEXT(group), DB_TEXT(self));
	if (rc < 0)
		return rc;
	g->nhosts = db_rows_count(rows);
	g->hosts = arena_alloc(a, sizeof *g->hosts * ((size_t)g->nhosts + 1));
	for (int i = 0; i < g->nhosts; i++)
		g->hosts[i] = arena_strdup(a, db_text(rows, i, 0));
	db_rows_free(rows);
	return 0;
}

/* The hosts of instances named by a same_host/different_host hint. */
static int hint_hosts(struct db_conn *c, struct arena *a, json_t *list, const char ***out, int *n)
{
	*n = 0;
	*out = arena_alloc(a, sizeof **out * (json_array_size(list) + 1));
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		struct db_rows *rows = NULL;
		int rc = db_query(c, &rows, "SELECT host FROM cmp_instances WHERE uuid = ? AND deleted = 0",
				  DB_TEXT(json_string_value(v)));
		if (rc < 0)
			return rc;
		if (db_rows_count(rows) && db_text(rows, 0, 0))
			(*out)[(*n)++] = arena_strdup(a, db_text(rows, 0, 0));
		db_rows_free(rows);
	}
	return 0;
}

/* The instance fields scheduling needs. */
struct pending {
	const char *uuid, *project_id, *user_id, *task_state, *vm_state, *host, *node;
	int64_t vcpus, memory_mb, root_gb, ephemeral_gb, swap;
	json_t *specs, *spec, *new_flavor;
	const char *exclude_host;        /* a cold migration leaves its host */
	const char *want_host;           /* a cold migration's requested destination */
};

/* Chooses and claims a provider: 0 with *chosen, ERR_NOTFOUND when nothing fits, or an error. */
static int place(struct db_conn *c, struct arena *a, struct hosts *hs, struct pending *p, const struct sched_request *q,
		 struct sched_host **chosen, char *why, size_t whylen)
{
	struct placement_query pq = {
		.res = q->res, .nres = q->nres,
		.required = q->required, .nrequired = q->nrequired,
		.forbidden = q->forbidden, .nforbidden = q->nforbidden,
	};
	const char *key = request_key(a, q);
	struct cand_cache *cc;
	int rc = candidates(c, hs, key, &pq, false, &cc);
	if (rc < 0)
		return rc;
	struct group g;
	if ((rc = load_group(c, a, json_string_value(json_object_get(p->spec, "group")), p->uuid, &g)) < 0)
		return rc;
	const char **same = NULL, **diff = NULL;
	int nsame = 0, ndiff = 0;
	json_t *sh = json_object_get(p->spec, "same_host"), *dh = json_object_get(p->spec, "different_host");
	if ((sh && (rc = hint_hosts(c, a, sh, &same, &nsame)) < 0) || (dh && (rc = hint_hosts(c, a, dh, &diff, &ndiff)) < 0))
		return rc;
	const char **diff_all = diff;
	if (p->exclude_host) {
		diff_all = arena_alloc(a, sizeof *diff_all * ((size_t)ndiff + 1));
		for (int i = 0; i < ndiff; i++)
			diff_all[i] = diff[i];
		diff_all[ndiff++] = p->exclude_host;
	}
	struct sched_want w = {
		.project_id = p->project_id, .specs = p->specs,
		.az = json_string_value(json_object_get(p->spec, "availability_zone")),
		.force_host = json_string_value(json_object_get(p->spec, "force_host")),
		.force_node = json_string_value(json_object_get(p->spec, "force_node")),
		.req_host = p->want_host ? p->want_host : json_string_value(json_object_get(p->spec, "requested_host")),
		.req_node = json_string_value(json_object_get(p->spec, "requested_node")),
		.same_hosts = sh ? same : NULL, .nsame = nsame, .diff_hosts = dh || p->exclude_host ? diff_all : NULL, .ndiff = ndiff,
		.group_policy = g.policy, .max_per_host = g.max_per_host, .group_hosts = g.hosts, .ngroup = g.nhosts,
		.pack = !strcmp(conf_str("compute", "weigher"), "pack"),
	};
	struct scored *ok = NULL;
	int n, nok;
	for (bool fresh = false;; fresh = true) {
		struct placement_candidate *cands = cc->c;
		n = cc->n;
		nok = 0;
		free(ok);
		ok = xcalloc((size_t)n + 1, sizeof *ok);
		for (int i = 0; i < n; i++) {
			struct sched_host *h = find_host(hs, cands[i].uuid);
			double score;
			if (h && still_fits(&cands[i], q) && sched_weigh(h, &cands[i], &w, &score))
				ok[nok++] = (struct scored){ &cands[i], h, score };
		}
		if (nok || fresh)
			break;
		if ((rc = candidates(c, hs, key, &pq, true, &cc)) < 0) {   /* the copy may be stale */
			free(ok);
			return rc;
		}
	}
	qsort(ok, (size_t)nok, sizeof *ok, by_score);
	rc = ERR_NOTFOUND;
	if (!n)
		snprintf(why, whylen, "no compute node has room for %lld VCPU, %lld MB RAM, %lld GB disk",
			 (long long)q->res[0].amount, (long long)q->res[1].amount, (long long)q->res[2].amount);
	else if (!nok)
		snprintf(why, whylen, "%d compute node(s) have room, none passed the filters", n);
	for (int i = 0; i < nok; i++) {
		char err[256];
		int crc = placement_claim(c, p->uuid, p->project_id, p->user_id, ok[i].c->uuid, q->res, q->nres, err, sizeof err);
		if (crc == 0) {
			*chosen = ok[i].h;
			add_usage(ok[i].c, q);
			rc = 0;
			break;
		}
		if (crc != ERR_CONFLICT) {
			log_error("scheduler: claim on %s failed: %s", ok[i].c->name, err);
			rc = crc;
			break;
		}
		snprintf(why, whylen, "claims raced with other builds");
	}
	free(ok);
	return rc;
}

static void build_failed(struct db_conn *c, struct pending *p, const char *request_id, const char *why)
{
	int64_t now = time_now_us();
	db_exec(c, "UPDATE cmp_instances SET vm_state = 'error', task_state = NULL, updated_at = ? WHERE uuid = ?",
		DB_INT(now), DB_TEXT(p->uuid));
	srv_fault_add(c, p->uuid, 500, NO_VALID_HOST, why, NULL);
	if (request_id)
		srv_event_finish(c, p->uuid, request_id, "conductor_schedule_and_build_instances", false, why);
}

static void resize_failed(struct db_conn *c, struct pending *p, const char *request_id, const char *why)
{
	int64_t now = time_now_us();
	db_exec(c, "UPDATE cmp_instances SET task_state = NULL, new_flavor = NULL, updated_at = ? WHERE uuid = ?",
		DB_INT(now), DB_TEXT(p->uuid));
	db_exec(c, "UPDATE cmp_migrations SET status = 'error', updated_at = ? WHERE instance_uuid = ? AND status ="
		" 'pre-migrating'", DB_INT(now), DB_TEXT(p->uuid));
	srv_fault_add(c, p->uuid, 500, NO_VALID_HOST, why, NULL);
	if (request_id)
		srv_event_finish(c, p->uuid, request_id, "conductor_migrate_server", false, why);
}

/* A live migration waiting for a destination (migration 'accepted'): the instance's allocation
 * moves to the migration on the source, the instance claims on the destination, and the
 * migration runs; no destination: the migration fails, the server stays where it is. */
static int live_migration(struct db_conn *c, struct arena *a, struct hosts *hs, struct pending *p, const char *req)
{
	struct db_rows *m = NULL;
	int rc = db_query(c, &m, "SELECT uuid, dest_host FROM cmp_migrations WHERE instance_uuid = ? AND status = 'accepted'"
			  " ORDER BY created_at DESC LIMIT 1", DB_TEXT(p->uuid));
	if (rc < 0)
		return rc;
	if (!db_rows_count(m)) {
		db_rows_free(m);
		return db_exec(c, "UPDATE cmp_instances SET task_state = NULL WHERE uuid = ?", DB_TEXT(p->uuid)) < 0 ? ERR_INTERNAL : 0;
	}
	const char *mig = arena_strdup(a, db_text(m, 0, 0));
	p->want_host = db_text(m, 0, 1) ? arena_strdup(a, db_text(m, 0, 1)) : NULL;
	p->exclude_host = p->host;
	db_rows_free(m);
	if (req)
		srv_event_start(c, p->uuid, req, "conductor_live_migrate_instance", NULL);
	struct sched_request q;
	sched_flavor_request(a, p->vcpus, p->memory_mb, p->root_gb, p->ephemeral_gb, p->swap, p->specs, &q);
	struct sched_host *src = NULL, *chosen = NULL;
	for (int i = 0; i < hs->n && !src; i++)
		if (p->node && !strcmp(hs->h[i].node, p->node))
			src = &hs->h[i];
	char err[256], why[256] = "";
	if ((rc = placement_release(c, p->uuid)) < 0)
		return rc;
	if (src && placement_claim(c, mig, p->project_id, p->user_id, src->uuid, q.res, q.nres, err, sizeof err) < 0)
		log_warn("scheduler: moving %s's allocation to migration %s failed: %s", p->uuid, mig, err);
	rc = place(c, a, hs, p, &q, &chosen, why, sizeof why);
	int64_t now = time_now_us();
	if (rc == ERR_NOTFOUND) {
		db_rollback(c);
		if ((rc = db_begin(c)) < 0)
			return rc;
		rc = db_exec(c, "UPDATE cmp_migrations SET status = 'error', updated_at = ? WHERE uuid = ?", DB_INT(now), DB_TEXT(mig));
		if (rc >= 0)
			rc = db_exec(c, "UPDATE cmp_instances SET task_state = NULL, updated_at = ? WHERE uuid = ?", DB_INT(now),
				     DB_TEXT(p->uuid));
		if (rc >= 0 && req)
			rc = srv_event_finish(c, p->uuid, req, "conductor_live_migrate_instance", false,
					      arena_printf(a, "%s %s", NO_VALID_HOST, why));
		return rc < 0 ? rc : 0;
	}
	if (rc < 0)
		return rc;
	rc = db_exec(c, "UPDATE cmp_migrations SET dest_compute = ?, dest_node = ?, dest_host = ?, status = 'running',"
		     " updated_at = ? WHERE uuid = ?", DB_TEXT(chosen->host), DB_TEXT(chosen->node), DB_TEXT(chosen->host),
		     DB_INT(now), DB_TEXT(mig));
	if (rc >= 0 && req)
		rc = srv_event_finish(c, p->uuid, req, "conductor_live_migrate_instance", true, NULL);
	return rc < 0 ? rc : 0;
}

/* Places one instance in its own transaction. */
static int schedule_one(struct db_conn *c, struct hosts *hs, const char *uuid)
{
	struct arena *a = arena_new();
	struct db_rows *rows = NULL;
	int rc = db_begin(c);
	if (rc < 0)
		goto out;
	rc = db_query(c, &rows, "SELECT uuid, project_id, user_id, task_state, vm_state, host, node, vcpus, memory_mb,"
		      " root_gb, ephemeral_gb, swap, flavor_extra_specs, request_spec, new_flavor, task_request_id FROM cmp_instances"
		      " WHERE uuid = ? AND deleted = 0 AND task_state IN ('scheduling', 'resize_prep', 'migrating')", DB_TEXT(uuid));
	if (rc < 0 || db_rows_count(rows) == 0)
		goto out;
	struct pending p = {
		.uuid = arena_strdup(a, db_text(rows, 0, 0)), .project_id = arena_strdup(a, db_text(rows, 0, 1)),
		.user_id = arena_strdup(a, db_text(rows, 0, 2)), .task_state = arena_strdup(a, db_text(rows, 0, 3)),
		.vm_state = arena_strdup(a, db_text(rows, 0, 4)), .host = arena_strdup(a, db_text(rows, 0, 5)),
		.node = arena_strdup(a, db_text(rows, 0, 6)), .vcpus = db_int(rows, 0, 7), .memory_mb = db_int(rows, 0, 8),
		.root_gb = db_int(rows, 0, 9), .ephemeral_gb = db_int(rows, 0, 10), .swap = db_int(rows, 0, 11),
	};
	p.specs = json_loads(db_text(rows, 0, 12) ? db_text(rows, 0, 12) : "{}", 0, NULL);
	p.spec = json_loads(db_text(rows, 0, 13) ? db_text(rows, 0, 13) : "{}", 0, NULL);
	p.new_flavor = db_text(rows, 0, 14) ? json_loads(db_text(rows, 0, 14), 0, NULL) : NULL;
	if (!p.specs)
		p.specs = json_object();
	if (!p.spec)
		p.spec = json_object();
	char request_id[64];
	bool have_req = db_text(rows, 0, 15) ? snprintf(request_id, sizeof request_id, "%s", db_text(rows, 0, 15)) > 0
					     : srv_last_request(c, uuid, request_id) == 0;
	db_rows_free(rows);
	rows = NULL;
	bool resize = !strcmp(p.task_state, TS_RESIZE_PREP);
	if (!strcmp(p.task_state, TS_MIGRATING)) {
		rc = live_migration(c, a, hs, &p, have_req ? request_id : NULL);
		goto commit;
	}
	struct sched_request q;
	char why[256] = "";
	struct sched_host *chosen = NULL;
	int64_t now = time_now_us();
	if (!resize) {
		if (have_req)
			srv_event_start(c, uuid, request_id, "conductor_schedule_and_build_instances", NULL);
		sched_flavor_request(a, p.vcpus, p.memory_mb, p.root_gb, p.ephemeral_gb, p.swap, p.specs, &q);
		rc = place(c, a, hs, &p, &q, &chosen, why, sizeof why);
		if (rc == ERR_NOTFOUND) {
			build_failed(c, &p, have_req ? request_id : NULL, why);
			log_info("scheduler: no host for instance %s: %s", uuid, why);
			rc = 0;
		} else if (rc == 0) {
			rc = db_exec(c, "UPDATE cmp_instances SET host = ?, node = ?, availability_zone = ?, task_state ="
				     " 'networking', updated_at = ? WHERE uuid = ? AND task_state = 'scheduling' AND deleted = 0",
				     DB_TEXT(chosen->host), DB_TEXT(chosen->node), DB_TEXT(chosen->az), DB_INT(now), DB_TEXT(uuid));
			if (rc == 0) {
				/* deleted meanwhile: the claim goes with the rollback */
				db_rollback(c);
				goto out_json;
			}
			if (rc >= 0 && have_req)
				rc = srv_event_finish(c, uuid, request_id, "conductor_schedule_and_build_instances", true, NULL);
		}
	} else {
		/* resize: the old flavor's allocation moves to the migration, the new one is claimed */
		struct db_rows *m = NULL;
		rc = db_query(c, &m, "SELECT uuid, migration_type, dest_host FROM cmp_migrations WHERE instance_uuid = ? AND"
			      " status = 'pre-migrating' ORDER BY created_at DESC LIMIT 1", DB_TEXT(uuid));
		const char *mig = rc == 0 && db_rows_count(m) ? arena_strdup(a, db_text(m, 0, 0)) : NULL;
		if (mig && !strcmp(db_text(m, 0, 1), "migration")) {
			p.exclude_host = p.host;
			p.want_host = arena_strdup(a, db_text(m, 0, 2));
		}
		db_rows_free(m);
		if (rc < 0)
			goto out_json;
		if (!mig || !p.new_flavor) {
			resize_failed(c, &p, have_req ? request_id : NULL, "the resize lost its migration record");
			goto commit;
		}
		if (have_req)
			srv_event_start(c, uuid, request_id, "conductor_migrate_server", NULL);
		struct sched_request old;
		sched_flavor_request(a, p.vcpus, p.memory_mb, p.root_gb, p.ephemeral_gb, p.swap, p.specs, &old);
		struct sched_host *src = NULL;
		for (int i = 0; i < hs->n && !src; i++)
			if (p.node && !strcmp(hs->h[i].node, p.node))
				src = &hs->h[i];
		char err[256];
		if ((rc = placement_release(c, uuid)) < 0)
			goto out_json;
		if (src && (rc = placement_claim(c, mig, p.project_id, p.user_id, src->uuid, old.res, old.nres, err, sizeof err)) < 0)
			log_warn("scheduler: moving %s's allocation to migration %s failed: %s", uuid, mig, err);
		json_t *nspecs = json_object_get(p.new_flavor, "extra_specs");
		sched_flavor_request(a, json_integer_value(json_object_get(p.new_flavor, "vcpus")),
				     json_integer_value(json_object_get(p.new_flavor, "memory_mb")),
				     json_integer_value(json_object_get(p.new_flavor, "root_gb")),
				     json_integer_value(json_object_get(p.new_flavor, "ephemeral_gb")),
				     json_integer_value(json_object_get(p.new_flavor, "swap")), nspecs, &q);
		json_t *saved_specs = p.specs;
		p.specs = nspecs ? nspecs : p.specs;
		rc = place(c, a, hs, &p, &q, &chosen, why, sizeof why);
		p.specs = saved_specs;
		if (rc == ERR_NOTFOUND) {
			/* keep the instance's original allocation: undo inside this transaction */
			db_rollback(c);
			if ((rc = db_begin(c)) < 0)
				goto out_json;
			resize_failed(c, &p, have_req ? request_id : NULL, why);
			rc = 0;
		} else if (rc == 0) {
			rc = db_exec(c, "UPDATE cmp_migrations SET dest_compute = ?, dest_node = ?, dest_host = ?, status ="
				     " 'migrating', updated_at = ? WHERE uuid = ?", DB_TEXT(chosen->host), DB_TEXT(chosen->node),
				     DB_TEXT(chosen->host), DB_INT(now), DB_TEXT(mig));
			if (rc >= 0)
				rc = db_exec(c, "UPDATE cmp_instances SET task_state = 'resize_migrating', updated_at = ? WHERE"
					     " uuid = ? AND task_state = 'resize_prep'", DB_INT(now), DB_TEXT(uuid));
			if (rc >= 0 && have_req)
				rc = srv_event_finish(c, uuid, request_id, "conductor_migrate_server", true, NULL);
		}
	}
commit:
	if (rc >= 0)
		rc = db_commit(c);
out_json:
	json_decref(p.specs);
	json_decref(p.spec);
	json_decref(p.new_flavor);
out:
	db_rows_free(rows);
	if (rc < 0) {
		log_error("scheduler: instance %s: %s", uuid, db_errmsg(c));
		db_rollback(c);
	}
	arena_free(a);
	return rc < 0 ? rc : 0;
}

/* One pass over the waiting instances; true when more may wait. */
static bool pass(struct cmp_sched *s)
{
	struct db_conn *c = db_get(s->svc->db);
	struct db_rows *rows = NULL;
	bool more = false;
	int rc = db_query(c, &rows, "SELECT uuid FROM cmp_instances i WHERE deleted = 0 AND (task_state IN ('scheduling',"
			  " 'resize_prep') OR (task_state = 'migrating' AND EXISTS (SELECT 1 FROM cmp_migrations m WHERE"
			  " m.instance_uuid = i.uuid AND m.status = 'accepted'))) ORDER BY created_at, id LIMIT ?", DB_INT(BATCH));
	if (rc == 0 && db_rows_count(rows)) {
		struct hosts hs = { .a = arena_new() };
		if (load_hosts(c, &hs) == 0) {
			int n = db_rows_count(rows);
			for (int i = 0; i < n; i++)
				schedule_one(c, &hs, db_text(rows, i, 0));
			more = n == BATCH;
			cmp_agent_wake(s->svc);
		} else {
			log_error("scheduler: loading hosts: %s", db_errmsg(c));
		}
		cache_free(&hs);
		arena_free(hs.a);
	} else if (rc < 0) {
		log_error("scheduler: %s", db_errmsg(c));
	}
	db_rows_free(rows);
	db_put(c);
	return more;
}

static void *run(void *arg)
{
	struct cmp_sched *s = arg;
	int64_t interval = conf_int("compute", "report_interval") * 1000000;
	int64_t next_beat = time_now_us() + interval;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		if (!s->kicked) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 2;
			pthread_cond_timedwait(&s->cond, &s->mu, &ts);
		}
		if (s->stop)
			break;
		s->kicked = false;
		pthread_mutex_unlock(&s->mu);
		if (time_now_us() >= next_beat) {
			cmp_ctl_controller_services(s->svc);
			next_beat = time_now_us() + (interval > 0 ? interval : 10000000);
		}
		bool more = pass(s);
		pthread_mutex_lock(&s->mu);
		if (more)
			s->kicked = true;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

void cmp_sched_wake(struct compute_svc *svc)
{
	struct cmp_sched *s = svc ? svc->sched : NULL;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->kicked = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

int cmp_sched_start(struct compute_svc *svc, char *err, size_t errlen)
{
	struct cmp_sched *s = xcalloc(1, sizeof *s);
	s->svc = svc;
	s->kicked = true;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, run, s)) {
		snprintf(err, errlen, "cannot start the scheduler thread");
		free(s);
		return -1;
	}
	s->started = true;
	svc->sched = s;
	return 0;
}

void cmp_sched_stop(struct compute_svc *svc)
{
	struct cmp_sched *s = svc->sched;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	if (s->started)
		pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	svc->sched = NULL;
	free(s);
}
