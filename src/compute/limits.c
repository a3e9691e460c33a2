/* limits.c — GET /limits: a project's absolute limits (max*) and usage (total*Used), for another
 * project with ?tenant_id= when policy allows. Floating IP and security group items leave at 2.36,
 * maxImageMeta at 2.39, the personality ones at 2.57; "rate" is always empty. */
#include "compute/quota.h"
#include "compute/valid.h"
#include <string.h>

/* quota resource → limit names (and the usage name, when shown). */
static const struct {
	const char *res, *names[2], *used;
	int gone_at;
} items[] = {
	{ "ram", { "maxTotalRAMSize" }, "totalRAMUsed", 0 },
	{ "instances", { "maxTotalInstances" }, "totalInstancesUsed", 0 },
	{ "cores", { "maxTotalCores" }, "totalCoresUsed", 0 },
	{ "key_pairs", { "maxTotalKeypairs" }, NULL, 0 },
	{ "floating_ips", { "maxTotalFloatingIps" }, "totalFloatingIpsUsed", 36 },
	{ "metadata_items", { "maxServerMeta", "maxImageMeta" }, NULL, 0 },
	{ "injected_files", { "maxPersonality" }, NULL, 57 },
	{ "injected_file_content_bytes", { "maxPersonalitySize" }, NULL, 57 },
	{ "security_groups", { "maxSecurityGroups" }, "totalSecurityGroupsUsed", 36 },
	{ "security_group_rules", { "maxSecurityGroupRules" }, NULL, 36 },
	{ "server_groups", { "maxServerGroups" }, "totalServerGroupsUsed", 0 },
	{ "server_group_members", { "maxServerGroupMembers" }, NULL, 0 },
};

int cmp_h_limits(struct http_req *r)
{
	static const char *const query[] = { "tenant_id", NULL };
	int qrc = cmp_mv_ge(r, 2, 75) ? cmp_q_only(r, query) : 0;
	if (qrc)
		return qrc;
	const char *project = cmp_project(r), *tenant = http_query(r, "tenant_id");
	int rc;
	if (tenant) {
		if ((rc = cmp_enforce(r, "os_compute_api:limits:other_project", NULL, NULL)))
			return rc;
		project = tenant;
	}
	json_t *abs = json_object();
	for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
		if (items[i].gone_at && cmp_mv_ge(r, 2, items[i].gone_at))
			continue;
		int64_t limit, used = 0;
		if ((rc = cmp_quota_limit(r, project, NULL, items[i].res, &limit)) ||
		    (items[i].used && (rc = cmp_quota_in_use(r, project, NULL, items[i].res, &used)))) {
			json_decref(abs);
			return rc;
		}
		for (int k = 0; k < 2 && items[i].names[k]; k++)
			if (strcmp(items[i].names[k], "maxImageMeta") || !cmp_mv_ge(r, 2, 39))
				json_object_set_new(abs, items[i].names[k], json_integer(limit));
		if (items[i].used)
			json_object_set_new(abs, items[i].used, json_integer(used));
	}
	return http_reply_json(r, 200, json_pack("{s:{s:[],s:o}}", "limits", "rate", "absolute", abs));
}
