/* cmp.h — internals shared by the compute service's files (Nova v2.1): the service state, the
 * per-request helpers (database, transactions, microversion, policy with Nova's targets), the
 * records other files need (flavors, keypairs, quotas, usage), and the route families.
 * Not for use outside src/compute. */
#ifndef COMPUTE_CMP_H
#define COMPUTE_CMP_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "auth/auth.h"
#include "auth/policy.h"
#include "core/db.h"
#include "core/err.h"
#include "core/http.h"
#include "core/log.h"
#include "core/microversion.h"
#include "core/router.h"
#include "core/util.h"
#include "compute/compute.h"

#define CMP_PREFIX "/compute"
#define CMP_MV_MIN ((struct mv){ 2, 1 })
#define CMP_MV_MAX ((struct mv){ 2, 79 })   /* the highest microversion whose changes exist */
#define CMP_NAME_MAX 255

struct cmp_sched;     /* scheduler state (servers side) */
struct cmp_agent;     /* the in-process compute agent (servers side) */

struct compute_svc {
	struct db *db;
	struct policy *policy;
	struct image_svc *images;
	struct placement *placement;
	struct cmp_sched *sched;
	struct cmp_agent *agent;
	char *public_url;               /* base URL of the cloud (links), set by compute_start */
	struct http_service service;
};

/* Per-request state (r->svc_data). */
struct cmp_req {
	struct compute_svc *svc;
	struct db_conn *conn;           /* checked out lazily by cmp_db() */
	struct mv mv;                   /* the negotiated microversion */
	bool mv_ok;                     /* negotiation succeeded: echo the headers */
};

/* --- service.c --- */
extern const struct mv_spec cmp_mv_spec;
struct compute_svc *cmp_svc(struct http_req *r);
struct db_conn *cmp_db(struct http_req *r);
int cmp_begin(struct http_req *r);
int cmp_commit(struct http_req *r);
void cmp_rollback(struct http_req *r);
/* Logs the database error, rolls back and records a 500. */
int cmp_db_error(struct http_req *r, int rc, const char *what);
/* The negotiated microversion and comparisons against it. */
struct mv cmp_mv(struct http_req *r);
bool cmp_mv_ge(struct http_req *r, int major, int minor);
/* The caller's project and user ids ("" when absent). */
const char *cmp_project(struct http_req *r);
const char *cmp_user(struct http_req *r);
bool cmp_is_admin(struct http_req *r);
/* Enforces a Nova policy rule against a target of project_id (NULL: the caller's project) and
 * user_id (NULL: the caller's user): 0, or 403 "Policy doesn't allow RULE to be performed.". */
int cmp_enforce(struct http_req *r, const char *rule, const char *project_id, const char *user_id);
bool cmp_allowed(struct http_req *r, const char *rule, const char *project_id, const char *user_id);
/* The link objects Nova puts beside resources: [{"rel":"self","href":BASE/v2.1/KIND/ID},
 * {"rel":"bookmark","href":BASE/KIND/ID}] (BASE = the compute endpoint as the client reached it). */
json_t *cmp_links(struct http_req *r, const char *kind, const char *id);
/* Base URLs: "scheme://host/compute/v2.1" and "scheme://host/compute". */
const char *cmp_url_v21(struct http_req *r);
const char *cmp_url_root(struct http_req *r);
/* A validation failure in Nova's words: 400 "Invalid input for field/attribute X. Value: V. DETAIL". */
int cmp_bad_field(struct http_req *r, const char *field, const char *detail);
/* cmp_bad_field with "Additional properties are not allowed ('KEY' was unexpected)" (valid.c). */
int cmp_v_unexpected(struct http_req *r, const char *field, const char *key);
/* j as compact JSON text in the request's arena (NULL for NULL), for storing in a column (valid.c). */
char *cmp_json_text(struct http_req *r, const json_t *j);

/* --- the records other files share --- */
struct cmp_flavor {
	const char *id, *name, *description;          /* id = Nova's flavorid */
	int64_t memory_mb, vcpus, root_gb, ephemeral_gb, swap;
	double rxtx_factor;
	bool is_public, disabled;
	json_t *extra_specs;                          /* object; freed with the request */
};
/* flavors.c: loads a flavor the caller may use (public, or its project has access, or admin):
 * 0, or 404/400 recorded in r. With any=true, no access check (internal). */
int cmp_flavor_get(struct http_req *r, const char *flavorid, bool any, struct cmp_flavor *out);
/* The flavor as Nova embeds it in a server at 2.47+ (original_name, vcpus, ram, disk, ephemeral,
 * swap, extra_specs). New reference. */
json_t *cmp_flavor_embed(struct http_req *r, const struct cmp_flavor *f);
/* flavor_record.c: inserts the default flavors when the flavor table is empty (start-up).
 * 0 or -1 with err. */
int cmp_flavors_seed(struct db *db, char *err, size_t errlen);

struct cmp_keypair {
	const char *name, *user_id, *type, *public_key, *fingerprint;
	int64_t created_at;
};
/* keypairs.c: the keypair of user_id named name: 0, or 404 recorded in r. */
int cmp_keypair_get(struct http_req *r, const char *user_id, const char *name, struct cmp_keypair *out);

/* quotas.c: the limit of resource ("instances", "cores", "ram", "key_pairs", "server_groups",
 * "server_group_members", "metadata_items", "injected_files", ...) for a project (and user, when
 * a per-user override exists; user_id may be NULL); -1 is unlimited. Reads on r's connection,
 * inside its open transaction. */
int cmp_quota_limit(struct http_req *r, const char *project_id, const char *user_id,
		    const char *resource, int64_t *limit);

/* What a project (and optionally one user) uses, counted from the real rows. */
struct cmp_usage {
	int64_t instances, cores, ram, key_pairs, server_groups;
};
/* servers side (usage.c): counts on r's connection, inside its open transaction. user_id NULL:
 * the whole project. key_pairs are counted per user (Nova: keypairs belong to users). */
int cmp_usage_count(struct http_req *r, const char *project_id, const char *user_id,
		    struct cmp_usage *out);

/* --- schema.c / schema_servers.c --- */
int cmp_schema_migrate(struct db *db, char *err, size_t errlen);          /* stream "compute" */
int cmp_schema_servers_migrate(struct db *db, char *err, size_t errlen);  /* stream "compute_servers" */
/* schema.c: the next integer id of "keypairs", "aggregates" or "server_groups" (inside r's open
 * transaction; the counter row stays locked until it ends). 0 or a recorded 500. */
int cmp_next_id(struct http_req *r, const char *name, int64_t *id);

/* --- servers side: scheduler and agent life cycle (sched.c, agent.c) --- */
int cmp_servers_start(struct compute_svc *svc, char *err, size_t errlen);
void cmp_servers_stop(struct compute_svc *svc);

/* --- route families --- */
extern const struct route cmp_routes_version[];      /* version.c: discovery */
extern const struct route cmp_routes_flavors[];      /* flavors.c: flavors, extra specs, access */
extern const struct route cmp_routes_keypairs[];     /* keypairs.c */
extern const struct route cmp_routes_hosts[];        /* os-services, os-hypervisors, os-availability-zone, os-aggregates */
extern const struct route cmp_routes_quotas[];       /* os-quota-sets, os-quota-class-sets, limits, os-simple-tenant-usage */
extern const struct route cmp_routes_misc[];         /* extensions and the rest */
extern const struct route cmp_routes_servers[];      /* servers: create, list, show, update, delete */
extern const struct route cmp_routes_actions[];      /* POST /servers/{id}/action */
extern const struct route cmp_routes_server_sub[];   /* metadata, tags, ips, os-instance-actions, password, diagnostics, migrations */
extern const struct route cmp_routes_server_history[]; /* os-instance-actions, os-migrations */
extern const struct route cmp_routes_groups[];       /* os-server-groups */
extern const struct route cmp_routes_images[];       /* images.c: the image proxy (to 2.35/2.38) */
extern const struct route cmp_routes_usage_audit[];  /* usage_audit.c: os-instance_usage_audit_log */
extern const struct route cmp_routes_agent[];        /* agent_api.c: /agent/v1, remote compute agents */

extern const char cmp_policy_defaults[];

#endif
