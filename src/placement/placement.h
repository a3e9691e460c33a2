/* placement.h — the Placement service (Zed, microversions 1.0–1.39): the public face main uses
 * to mount it under /placement, and the in-process calls the compute scheduler and agent make
 * (resource providers, inventories, candidates, claims) without going through HTTP. */
#ifndef PLACEMENT_PLACEMENT_H
#define PLACEMENT_PLACEMENT_H
#include <stddef.h>
#include <stdint.h>
#include "core/conf.h"
#include "core/db.h"
#include "core/http.h"

struct placement;
extern const struct conf_opt placement_conf_opts[];   /* [placement] options, e.g. policy_file */
/* Applies the placement schema migrations (stream "placement"). 0 or -1 with err. */
int placement_migrate(struct db *db, char *err, size_t errlen);
/* Builds the service over an open, migrated database (policy). NULL with err. */
struct placement *placement_new(struct db *db, char *err, size_t errlen);
/* Frees the service; accepts NULL. */
void placement_free(struct placement *p);
/* The HTTP service to mount (prefix /placement). */
struct http_service *placement_service(struct placement *p);

/* In-process calls for the compute scheduler and agent. They run on the caller's connection, inside
 * its open transaction when there is one (never begin/commit themselves if db_in_tx(c)). */
struct placement_res { const char *rc; int64_t amount; };          /* "VCPU", "MEMORY_MB", "DISK_GB", CUSTOM_* */
struct placement_inv { const char *rc; int64_t total, reserved, min_unit, max_unit, step_size; double allocation_ratio; };
/* Creates the provider (uuid, name) if missing and sets its inventories to exactly inv (bumping the
 * generation only when something changed); also makes sure the traits listed are set (may be NULL). */
int placement_provider_ensure(struct db_conn *c, const char *uuid, const char *name,
                              const struct placement_inv *inv, int ninv,
                              const char *const *traits, int ntraits, char *err, size_t errlen);
/* Removes a provider with no allocations (ERR_CONFLICT when it still has some). */
int placement_provider_delete(struct db_conn *c, const char *uuid, char *err, size_t errlen);
/* One provider that can hold all of res (capacity = (total-reserved)*ratio - used, each amount
 * within min_unit/max_unit/step_size), has every required trait, none of the forbidden ones, and is
 * in at least one of member_of (NULL/0: any). */
struct placement_candidate {
	char uuid[37];
	char name[256];
	int64_t capacity[3], used[3];   /* VCPU, MEMORY_MB, DISK_GB: effective capacity and usage */
};
struct placement_query {
	const struct placement_res *res; int nres;
	const char *const *required; int nrequired;      /* trait names */
	const char *const *forbidden; int nforbidden;
	const char *const *member_of; int nmember_of;    /* aggregate uuids (any of) */
	const char *const *in_tree; int nin_tree;        /* restrict to these provider uuids (NULL: all) */
	int limit;                                       /* 0: no limit */
};
/* Heap array in *out (free() it), *n entries. 0 or an error code. */
int placement_candidates(struct db_conn *c, const struct placement_query *q,
                         struct placement_candidate **out, int *n);
/* Allocates res on provider rp for consumer (replacing the consumer's allocations), checking
 * capacity under the same rules as PUT /allocations (ERR_CONFLICT when it no longer fits, so a
 * scheduler racing another one retries with the next candidate). */
int placement_claim(struct db_conn *c, const char *consumer, const char *project_id,
                    const char *user_id, const char *rp, const struct placement_res *res, int nres,
                    char *err, size_t errlen);
/* Deletes every allocation of consumer (absent consumer: 0). */
int placement_release(struct db_conn *c, const char *consumer);
/* Sets a provider's aggregates (compute os-aggregates mirrors host aggregates here). */
int placement_provider_set_aggregates(struct db_conn *c, const char *uuid, const char *const *aggs,
                                      int naggs, char *err, size_t errlen);

#endif
