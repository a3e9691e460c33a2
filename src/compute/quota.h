/* quota.h — what the quota files share (quota_limit.c, quotas.c, limits.c): Nova's quota
 * resources in its order, their defaults, and the usage counts the quota views show.
 * Not for use outside src/compute. */
#ifndef COMPUTE_QUOTA_H
#define COMPUTE_QUOTA_H
#include "compute/cmp.h"

struct cmp_quota_res {
	const char *name;        /* "instances", ... (Nova's resource name) */
	const char *option;      /* its [quota] option, or NULL (-1: the nova-network leftovers) */
	int gone_at;             /* first 2.x microversion without it in quota views (36, 57, 0: never) */
};
/* Nova's quota resources in its order (NULL-terminated by name). */
extern const struct cmp_quota_res cmp_quota_resources[];
const struct cmp_quota_res *cmp_quota_find(const char *name);
/* The default limit of resource: the "default" quota class, else the [quota] option (-1 for the
 * nova-network leftovers). 0 or a recorded 500. */
int cmp_quota_default(struct http_req *r, const char *resource, int64_t *limit);
/* What project (and user_id, when not NULL) uses of resource, counted from the rows (0 for the
 * absolute resources). 0 or a recorded 500. */
int cmp_quota_in_use(struct http_req *r, const char *project_id, const char *user_id,
		     const char *resource, int64_t *used);

/* limits.c and usage_report.c: handlers in quotas.c's route table. */
int cmp_h_limits(struct http_req *r);
int cmp_h_usage_index(struct http_req *r);
int cmp_h_usage_show(struct http_req *r);

#endif
