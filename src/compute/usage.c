/* usage.c — what a project uses, counted from the real rows (non-deleted instances and their
 * flavors' cores and RAM, a user's keypairs, a project's server groups), and Nova's instance quota
 * check with its exact messages (nova.compute.utils.check_num_instances_quota: a multi-create is
 * trimmed to what fits when at least min_count does). Run inside the caller's transaction. */
#include "compute/srv.h"
#include <stdio.h>
#include <string.h>

int cmp_usage_count(struct http_req *r, const char *project_id, const char *user_id, struct cmp_usage *out)
{
	struct db_rows *rows = NULL;
	struct db_conn *c = cmp_db(r);
	int rc = db_query(c, &rows, "SELECT COUNT(*), COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mb), 0)"
			  " FROM cmp_instances WHERE project_id = ? AND deleted = 0 AND (CAST(? AS VARCHAR(255)) IS NULL OR user_id = ?)",
			  DB_TEXT(project_id), DB_TEXT(user_id), DB_TEXT(user_id));
	if (rc < 0)
		return cmp_db_error(r, rc, "usage");
	struct cmp_usage u = { db_int(rows, 0, 0), db_int(rows, 0, 1), db_int(rows, 0, 2), 0, 0 };
	db_rows_free(rows);
	rc = db_query(c, &rows, "SELECT COUNT(*) FROM cmp_keypairs WHERE user_id = ?", DB_TEXT(user_id ? user_id : cmp_user(r)));
	if (rc < 0)
		return cmp_db_error(r, rc, "usage");
	u.key_pairs = db_int(rows, 0, 0);
	db_rows_free(rows);
	rc = db_query(c, &rows, "SELECT COUNT(*) FROM cmp_server_groups WHERE project_id = ? AND (CAST(? AS VARCHAR(255)) IS NULL OR user_id = ?)",
		      DB_TEXT(project_id), DB_TEXT(user_id), DB_TEXT(user_id));
	if (rc < 0)
		return cmp_db_error(r, rc, "usage");
	u.server_groups = db_int(rows, 0, 0);
	db_rows_free(rows);
	*out = u;
	return 0;
}

enum { Q_CORES, Q_INSTANCES, Q_RAM, NQ };          /* sorted, as Nova reports them */
static const char *const qnames[NQ] = { "cores", "instances", "ram" };

struct qstate {
	int64_t limit[NQ], used[NQ];
};

/* Limits and usage at the level that binds: the project, plus the user's when a per-user limit
 * differs from the project's. */
static int load(struct http_req *r, const char *project_id, const char *user_id, struct qstate *proj,
		struct qstate *user, bool *has_user)
{
	struct cmp_usage u;
	int rc;
	*has_user = false;
	for (int i = 0; i < NQ; i++) {
		if ((rc = cmp_quota_limit(r, project_id, NULL, qnames[i], &proj->limit[i])) < 0)
			return rc;
		if ((rc = cmp_quota_limit(r, project_id, user_id, qnames[i], &user->limit[i])) < 0)
			return rc;
		if (user->limit[i] != proj->limit[i])
			*has_user = true;
	}
	if ((rc = cmp_usage_count(r, project_id, NULL, &u)) < 0)
		return rc;
	proj->used[Q_CORES] = u.cores;
	proj->used[Q_INSTANCES] = u.instances;
	proj->used[Q_RAM] = u.ram;
	if (*has_user) {
		if ((rc = cmp_usage_count(r, project_id, user_id, &u)) < 0)
			return rc;
		user->used[Q_CORES] = u.cores;
		user->used[Q_INSTANCES] = u.instances;
		user->used[Q_RAM] = u.ram;
	}
	return 0;
}

/* The resources of q over quota with deltas d: a bit mask. */
static unsigned overs(const struct qstate *q, const int64_t d[NQ])
{
	unsigned m = 0;
	for (int i = 0; i < NQ; i++)
		if (q->limit[i] >= 0 && d[i] > 0 && q->used[i] + d[i] > q->limit[i])
			m |= 1u << i;
	return m;
}

static int over_message(struct http_req *r, const struct qstate *q, unsigned m, const char *req[NQ])
{
	char o[64] = "", rq[128] = "", us[128] = "", al[128] = "";
	for (int i = 0; i < NQ; i++) {
		if (!(m & (1u << i)))
			continue;
		const char *sep = *o ? ", " : "";
		snprintf(o + strlen(o), sizeof o - strlen(o), "%s%s", sep, qnames[i]);
		snprintf(rq + strlen(rq), sizeof rq - strlen(rq), "%s%s", sep, req[i]);
		snprintf(us + strlen(us), sizeof us - strlen(us), "%s%lld", sep, (long long)q->used[i]);
		snprintf(al + strlen(al), sizeof al - strlen(al), "%s%lld", sep, (long long)q->limit[i]);
	}
	return http_error(r, ERR_FORBIDDEN, "Quota exceeded for %s: Requested %s, but already used %s of %s %s",
			  o, rq, us, al, o);
}

/* How many of max instances of f fit into q (headroom rules of get_headroom). */
static int64_t fits(const struct qstate *q, const struct cmp_flavor *f, int64_t max)
{
	int64_t allowed = q->limit[Q_INSTANCES] < 0 ? max : q->limit[Q_INSTANCES] - q->used[Q_INSTANCES];
	if (f->vcpus && q->limit[Q_CORES] >= 0) {
		int64_t a = (q->limit[Q_CORES] - q->used[Q_CORES]) / f->vcpus;
		allowed = a < allowed ? a : allowed;
	}
	if (f->memory_mb && q->limit[Q_RAM] >= 0) {
		int64_t a = (q->limit[Q_RAM] - q->used[Q_RAM]) / f->memory_mb;
		allowed = a < allowed ? a : allowed;
	}
	return allowed;
}

static int check_level(struct http_req *r, const struct qstate *q, const struct cmp_flavor *f, int64_t min,
		       int64_t *max)
{
	int64_t d[NQ];
	d[Q_INSTANCES] = *max;
	d[Q_CORES] = *max * f->vcpus;
	d[Q_RAM] = *max * f->memory_mb;
	unsigned m = overs(q, d);
	if (!m)
		return 0;
	int64_t allowed = fits(q, f, *max);
	if (allowed >= min && allowed > 0 && allowed <= *max) {
		*max = allowed;
		return check_level(r, q, f, min, max);
	}
	const char *req[NQ];
	req[Q_INSTANCES] = min == *max ? arena_printf(r->arena, "%lld", (long long)min)
				       : arena_printf(r->arena, "%lld-%lld", (long long)min, (long long)*max);
	req[Q_CORES] = arena_printf(r->arena, "%lld", (long long)d[Q_CORES]);
	req[Q_RAM] = arena_printf(r->arena, "%lld", (long long)d[Q_RAM]);
	return over_message(r, q, m, req);
}

int srv_quota_instances(struct http_req *r, const char *project_id, const char *user_id,
			const struct cmp_flavor *f, int64_t min_count, int64_t max_count, int64_t *allowed)
{
	struct qstate proj, user;
	bool has_user;
	int rc = load(r, project_id, user_id, &proj, &user, &has_user);
	if (rc < 0)
		return rc;
	int64_t max = max_count;
	if ((rc = check_level(r, &proj, f, min_count, &max)) < 0)
		return rc;
	if (has_user && (rc = check_level(r, &user, f, min_count, &max)) < 0)
		return rc;
	*allowed = max;
	return 0;
}

int srv_quota_resize(struct http_req *r, const char *project_id, const char *user_id, int64_t dcores,
		     int64_t dram)
{
	if (dcores <= 0 && dram <= 0)
		return 0;
	struct qstate proj, user;
	bool has_user;
	int rc = load(r, project_id, user_id, &proj, &user, &has_user);
	if (rc < 0)
		return rc;
	int64_t d[NQ] = { dcores > 0 ? dcores : 0, 0, dram > 0 ? dram : 0 };
	const char *req[NQ] = { arena_printf(r->arena, "%lld", (long long)d[Q_CORES]), "0",
				arena_printf(r->arena, "%lld", (long long)d[Q_RAM]) };
	unsigned m = overs(&proj, d);
	if (m)
		return over_message(r, &proj, m, req);
	if (has_user && (m = overs(&user, d)))
		return over_message(r, &user, m, req);
	return 0;
}
