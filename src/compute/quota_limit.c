/* quota_limit.c — the effective quota limits (Nova's DbQuotaDriver order: a per-user override,
 * else the project's override, else the "default" quota class, else the [quota] option) and the
 * usage counts the quota views show. */
#include "compute/quota.h"
#include "core/conf.h"
#include <string.h>

const struct cmp_quota_res cmp_quota_resources[] = {
	{ "instances", "instances", 0 },
	{ "cores", "cores", 0 },
	{ "ram", "ram", 0 },
	{ "metadata_items", "metadata_items", 0 },
	{ "injected_files", "injected_files", 57 },
	{ "injected_file_content_bytes", "injected_file_content_bytes", 57 },
	{ "injected_file_path_bytes", "injected_file_path_length", 57 },
	{ "key_pairs", "key_pairs", 0 },
	{ "server_groups", "server_groups", 0 },
	{ "server_group_members", "server_group_members", 0 },
	{ "fixed_ips", NULL, 36 },
	{ "floating_ips", NULL, 36 },
	{ "security_groups", NULL, 36 },
	{ "security_group_rules", NULL, 36 },
	{ NULL, NULL, 0 },
};

const struct cmp_quota_res *cmp_quota_find(const char *name)
{
	for (int i = 0; cmp_quota_resources[i].name; i++)
		if (!strcmp(cmp_quota_resources[i].name, name))
			return &cmp_quota_resources[i];
	return NULL;
}

int cmp_quota_default(struct http_req *r, const char *resource, int64_t *limit)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT hard_limit FROM cmp_quota_classes WHERE class_name = 'default'"
			  " AND resource = ?", DB_TEXT(resource));
	if (rc < 0)
		return cmp_db_error(r, rc, "quota class");
	const struct cmp_quota_res *q = cmp_quota_find(resource);
	if (db_rows_count(rows))
		*limit = db_int(rows, 0, 0);
	else
		*limit = q && q->option ? conf_int("quota", q->option) : -1;
	db_rows_free(rows);
	return 0;
}

int cmp_quota_limit(struct http_req *r, const char *project_id, const char *user_id,
		    const char *resource, int64_t *limit)
{
	struct db_rows *rows = NULL;
	/* the user's row sorts before the project's ('' < any user id) when both exist */
	int rc = db_query(cmp_db(r), &rows, "SELECT hard_limit, user_id FROM cmp_quotas WHERE project_id = ?"
			  " AND resource = ? AND (user_id = '' OR user_id = ?) ORDER BY user_id DESC",
			  DB_TEXT(project_id), DB_TEXT(resource), DB_TEXT(user_id ? user_id : ""));
	if (rc < 0)
		return cmp_db_error(r, rc, "quota");
	if (db_rows_count(rows)) {
		*limit = db_int(rows, 0, 0);
		db_rows_free(rows);
		return 0;
	}
	db_rows_free(rows);
	return cmp_quota_default(r, resource, limit);
}

static int count(struct http_req *r, const char *sql, const char *a, const char *b, int64_t *out)
{
	struct db_rows *rows = NULL;
	int rc = b ? db_query(cmp_db(r), &rows, sql, DB_TEXT(a), DB_TEXT(b)) : db_query(cmp_db(r), &rows, sql, DB_TEXT(a));
	if (rc < 0)
		return cmp_db_error(r, rc, "quota usage");
	*out = db_int(rows, 0, 0);
	db_rows_free(rows);
	return 0;
}

int cmp_quota_in_use(struct http_req *r, const char *project_id, const char *user_id,
		     const char *resource, int64_t *used)
{
	*used = 0;
	if (!strcmp(resource, "instances") || !strcmp(resource, "cores") || !strcmp(resource, "ram")) {
		struct cmp_usage u;
		int rc = cmp_usage_count(r, project_id, user_id, &u);
		if (rc)
			return rc;
		*used = !strcmp(resource, "instances") ? u.instances : !strcmp(resource, "cores") ? u.cores : u.ram;
		return 0;
	}
	if (!strcmp(resource, "key_pairs"))   /* keypairs belong to users: the caller's, as Nova counts */
		return count(r, "SELECT COUNT(*) FROM cmp_keypairs WHERE user_id = ?",
			     user_id ? user_id : cmp_user(r), NULL, used);
	if (!strcmp(resource, "server_groups"))
		return user_id ? count(r, "SELECT COUNT(*) FROM cmp_server_groups WHERE project_id = ? AND user_id = ?",
				       project_id, user_id, used)
			       : count(r, "SELECT COUNT(*) FROM cmp_server_groups WHERE project_id = ?", project_id, NULL, used);
	if (!strcmp(resource, "server_group_members"))
		return user_id ? count(r, "SELECT COUNT(*) FROM cmp_server_group_members m JOIN cmp_server_groups g"
				       " ON g.uuid = m.group_uuid WHERE g.project_id = ? AND g.user_id = ?",
				       project_id, user_id, used)
			       : count(r, "SELECT COUNT(*) FROM cmp_server_group_members m JOIN cmp_server_groups g"
				       " ON g.uuid = m.group_uuid WHERE g.project_id = ?", project_id, NULL, used);
	return 0;
}
