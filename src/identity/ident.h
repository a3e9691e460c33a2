/* ident.h — internals shared by the identity service's files: the service state, the
 * per-request helpers (database, transactions, policy, links, input validation), and the
 * cross-family lookups. Not for use outside src/identity. */
#ifndef IDENTITY_IDENT_H
#define IDENTITY_IDENT_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "auth/auth.h"
#include "auth/policy.h"
#include "core/db.h"
#include "core/err.h"
#include "core/fernet.h"
#include "core/http.h"
#include "core/log.h"
#include "core/router.h"
#include "core/util.h"
#include "identity/identity.h"

#define IDENT_PREFIX "/identity"
#define IDENT_DEFAULT_DOMAIN "default"
#define IDENT_NAME_MAX 255
#define IDENT_ID_MAX 64

struct token_cache;

/* Renders row i of a result as the API shows the resource. New reference. */
typedef json_t *ident_render_fn(struct http_req *r, const struct db_rows *rows, int i);

/* A kind of resource stored one per row, as the row helpers in common.c read it. */
struct ident_kind {
	const char *what;             /* its name in Keystone's 404 "Could not find <what>: <id>." */
	const char *by_id;            /* its row by id: one text parameter */
	ident_render_fn *render;      /* renders a row of by_id */
};

struct identity {
	struct db *db;
	struct policy *policy;
	pthread_rwlock_t keys_lock;
	struct fernet_keys *keys;
	atomic_int_fast64_t keys_checked_at;  /* microseconds; see ident_keys_refresh() */
	int64_t keys_mtime;               /* key directory's mtime when last loaded (ns) */
	struct fernet_keys *cred_keys;    /* encrypts credential blobs at rest */
	struct token_cache *cache;
	atomic_uint_fast64_t generation;  /* bumped by every committed identity write */
	struct http_service service;
};

/* Per-request state (r->svc_data). */
struct ident_req {
	struct identity *id;
	struct db_conn *conn;             /* checked out lazily by ident_db() */
};

/* The service state of a request. */
struct identity *ident(struct http_req *r);
/* The request's database connection (checked out on first use, returned after the response). */
struct db_conn *ident_db(struct http_req *r);
/* Opens the request's write transaction. */
int ident_begin(struct http_req *r);
/* Commits it and invalidates every cache derived from identity data. Returns 0 or an error
 * recorded in r. */
int ident_commit(struct http_req *r);
/* Rolls back if a transaction is open (also done automatically at the end of the request). */
void ident_rollback(struct http_req *r);
/* Reloads the Fernet keys when the key directory changed (a rotation by another process);
 * checks at most once a second. */
void ident_keys_refresh(struct identity *id);
/* Bumps the generation (after a write done outside ident_commit). */
void ident_invalidate(struct identity *id);

/* Checks policy rule for the caller against target (borrowed, may be NULL): 0 or ERR_FORBIDDEN
 * recorded as Keystone words it. */
int ident_enforce(struct http_req *r, const char *rule, const json_t *target);
/* ident_enforce, then releases target (steals the reference; NULL is fine). */
int ident_enforce_steal(struct http_req *r, const char *rule, json_t *target);
/* Builds a flat policy target: pairs of key, value strings, NULL-terminated. New reference. */
json_t *ident_target(const char *key, ...);
/* For the POST of a user or group: checks rule against <prefix>.domain_id and <prefix>.name
 * taken from body (prefix "target.user" or "target.group") and sets *domain to where it lands:
 * the body's domain_id, else the token's domain scope, else "default". 0 or the error recorded. */
int ident_enforce_create(struct http_req *r, const char *rule, const char *prefix, const json_t *body,
			 const char **domain);

/* Absolute URL of an identity path: ident_url(r, "/v3/users/%s", id). Arena string. */
char *ident_url(struct http_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* {"self": url} for a resource. New reference. */
json_t *ident_links(struct http_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The request's own absolute URL, query string included (list "self" links). Arena string. */
char *ident_self_url(struct http_req *r);
/* Replies 200 with {key: array, "links": {"self", "previous": null, "next": null}}, truncating
 * to [identity] list_limit and adding "truncated": true when it does. Steals array. */
int ident_reply_list(struct http_req *r, const char *key, json_t *array);
/* Replies with every row rendered, as ident_reply_list does. Frees rows. */
int ident_reply_rows(struct http_req *r, const char *key, struct db_rows *rows, ident_render_fn *render);
/* Replies status with {key: obj}. Steals obj. */
int ident_reply_one(struct http_req *r, int status, const char *key, json_t *obj);

/* Request body helpers. ident_body returns the object under key ({"user": {...}}) or NULL with
 * a 400 recorded. */
json_t *ident_body(struct http_req *r, const char *key);
/* A string field: required or optional (absent leaves *out NULL; JSON null is allowed when
 * nullable), 1..maxlen characters (0 allowed when allow_empty). 0 or ERR_BADREQ recorded
 * with Keystone's "Invalid input for field 'x': ..." message. */
int ident_str(struct http_req *r, const json_t *obj, const char *key, bool required,
	      bool nullable, size_t maxlen, const char **out);
/* A boolean field (absent leaves *out unchanged and *present false when present != NULL). */
int ident_bool(struct http_req *r, const json_t *obj, const char *key, bool *out, bool *present);
/* Rejects a name that is empty or only whitespace, Keystone-style (name fields). */
int ident_name(struct http_req *r, const json_t *obj, const char *key, bool required, const char **out);
/* The members of obj not in known (NULL-terminated) as JSON text, for the "extra" column;
 * merged over base_extra (JSON text, may be NULL). Arena string. */
char *ident_extra(struct http_req *r, const json_t *obj, const char *const *known, const char *base_extra);
/* The "extra" text of a new resource: ident_extra of the body with its keys normalised as
 * Keystone does (ident_normalized). Arena string. */
char *ident_extra_new(struct http_req *r, const json_t *obj, const char *const *known);
/* Merges the extra JSON text's members into out (used when rendering). */
void ident_merge_extra(json_t *out, const char *extra);
/* Maps a database error: ERR_CONFLICT → 409 "Conflict occurred attempting to store <what> -
 * Duplicate entry found ...", anything else → 500. Returns the code. */
int ident_db_error(struct http_req *r, int rc, const char *what);
/* Keystone's 404 "Could not find <what>: <id>." */
int ident_not_found(struct http_req *r, const char *what, const char *id);
/* Maps a failed write of a named resource: ERR_CONFLICT rolls back and records 409 "Conflict
 * occurred attempting to store <what> - Duplicate entry found with name <name> at domain ID
 * <domain_id>." (without the domain part when domain_id is NULL); anything else goes to
 * ident_db_error. Returns the code. */
int ident_name_conflict(struct http_req *r, int rc, const char *what, const char *name,
			const char *domain_id);
/* Records Keystone's generic 500 ("An unexpected error prevented ..."); returns ERR_INTERNAL. */
int ident_internal(struct http_req *r);
/* Rolls back the open transaction (if any) and records code with the formatted message.
 * Returns code. */
int ident_abort(struct http_req *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Forgets the error recorded in r (a miss the caller tolerates). */
void ident_clear_error(struct http_req *r);
/* The domain a create without domain_id lands in: the token's domain scope, else its
 * project's domain, else "default". Arena string. */
const char *ident_default_domain(struct http_req *r);
/* A time in Keystone's resource format ("2026-11-23T01:08:50.000000"), arena string; NULL for 0. */
char *ident_time(struct http_req *r, int64_t us);

/* --- rows and resources --- */
/* 1 when the query returns a row, 0 when it returns none, or a database error code. */
int ident_exists_a(struct db_conn *c, const char *sql, const struct db_arg *args);
#define ident_exists(c, sql, ...) \
	ident_exists_a((c), (sql), (const struct db_arg[]){ __VA_ARGS__ __VA_OPT__(,) DB_END_ })
/* 0 when table (a trusted name) has a row with this id; else, with the transaction (if one is
 * open) rolled back, the database error or 404 "Could not find <what>: <id>." recorded. */
int ident_must_exist(struct http_req *r, const char *table, const char *what, const char *id);
/* The resource id of kind k, rendered: 0 and *out (new reference; NULL when there is none), or
 * a database error code with nothing recorded. */
int ident_get_row(struct http_req *r, const struct ident_kind *k, const char *id, json_t **out);
/* The same, or NULL with the database error or k's 404 recorded. */
json_t *ident_load_row(struct http_req *r, const struct ident_kind *k, const char *id);
/* For a member route: loads id, checks rule against target(id, the resource or NULL) and only
 * then reports a missing one, in Keystone's order. 0 and *out (new reference), or the error
 * recorded. */
int ident_load_enforced(struct http_req *r, const struct ident_kind *k, const char *id, const char *rule,
			json_t *(*target)(const char *id, const json_t *resource), json_t **out);
/* Inside the caller's transaction, the stored row an update of id starts from: 0 and *rows
 * (the caller frees them); or, rolled back, the database error or k's 404 recorded. */
int ident_row_for_update(struct http_req *r, const struct ident_kind *k, const char *id,
			 struct db_rows **rows);
/* True when the rendered resource has its "immutable" option set. */
bool ident_immutable(const json_t *resource);
/* True when an update body only turns the "immutable" option off (false or null): the one
 * change Keystone lets an immutable resource take. */
bool ident_immutable_update_ok(const json_t *body);

/* --- bodies and JSON --- */
/* The object under key in the request body, or an empty object (freed with the request) when
 * the member is missing, as Keystone reads some bodies; NULL with 400 recorded when it is not
 * an object. */
json_t *ident_body_opt(struct http_req *r, const char *key);
/* 400 "Invalid input for field '<key>': {} does not have enough properties." for an empty
 * update body; 0 otherwise. */
int ident_non_empty(struct http_req *r, const json_t *body, const char *key);
/* Keystone's _require_matching_id: an "id" in an update body (null aside) must name the
 * resource. 0 or 400 "Cannot change ID". */
int ident_same_id(struct http_req *r, const json_t *body, const char *id);
/* True when s is an id_string: 1..64 characters of [a-zA-Z0-9-]. */
bool ident_id_ok(const char *s);
/* An optional id_string field (absent leaves *out NULL; JSON null is allowed when nullable).
 * 0 or ERR_BADREQ recorded ("... does not match '^[a-zA-Z0-9-]+$'"). */
int ident_id_field(struct http_req *r, const json_t *obj, const char *key, bool nullable,
		   const char **out);
/* s without leading and trailing whitespace, as Python's str.strip(). Arena string. */
const char *ident_strip(struct http_req *r, const char *s);
/* text parsed as a JSON object; an empty object when text is NULL or not an object. New
 * reference. */
json_t *ident_object_parse(const char *text);
/* j as compact JSON text ("{}" when it cannot be dumped). Arena string. */
char *ident_json_text(struct http_req *r, const json_t *j);
/* A copy of obj with ':' and '-' in its keys turned into '_', as Keystone normalises the
 * attributes of a new resource (keys of 256 bytes or more are copied as they are). New
 * reference. */
json_t *ident_normalized(const json_t *obj);
/* True when the JSON array a holds the string s. */
bool ident_array_has(const json_t *a, const char *s);
/* True when the JSON array of role objects ({"id", ...}) holds one with that id. */
bool ident_roles_have(const json_t *roles, const char *id);
/* s percent-encoded, the RFC 3986 unreserved characters kept. Arena string. */
char *ident_url_escape(struct http_req *r, const char *s);

/* --- list queries (listing.c) --- */
/* SQL text and its bound arguments, grown in an arena. */
struct ident_sql {
	struct arena *a;
	char *sql;
	struct db_arg *args;        /* always terminated by DB_END_ */
	size_t nargs, cap;
};
/* Starts a statement with head. */
void ident_sql_init(struct ident_sql *b, struct arena *a, const char *head);
/* Appends text. */
void ident_sql_text(struct ident_sql *b, const char *s);
/* Binds the next '?'. */
void ident_sql_arg(struct ident_sql *b, struct db_arg arg);
/* Appends "(?,?,...)" bound to the n ids. */
void ident_sql_in(struct ident_sql *b, const char *const *ids, size_t n);
/* Appends " AND <column> = ?" bound to value, when value is not NULL. */
void ident_sql_eq(struct ident_sql *b, const char *column, const char *value);
/* Appends " AND <column> = ?" bound to the query parameter param, when the request has it. */
void ident_sql_filter(struct ident_sql *b, struct http_req *r, const char *column, const char *param);
/* The same for a boolean query parameter, read as ident_query_true does. */
void ident_sql_filter_bool(struct ident_sql *b, struct http_req *r, const char *column,
			   const char *param);
/* Runs the statement as a query: db_query_a's result. */
int ident_sql_query(struct db_conn *c, const struct ident_sql *b, struct db_rows **rows);
/* Keystone's reading of a boolean filter value (oslo bool_from_string, default true): only
 * f, false, n, no, off and 0 (any case) are false. */
bool ident_query_true(const char *v);
/* Keystone's query_filter_is_true: the parameter is present and not "0". */
bool ident_query_flag(struct http_req *r, const char *name);
/* True when name passes the request's inexact name filters (name__contains, name__startswith,
 * name__endswith and their case-insensitive i- forms; other comparators are ignored). */
bool ident_name_filters_pass(struct http_req *r, const char *name);

/* --- cross-family lookups (each implemented by its family's file) --- */
/* Rendered resources, new references, or NULL with 404 recorded in r. */
json_t *ident_domain_load(struct http_req *r, const char *id);      /* domains.c */
json_t *ident_project_load(struct http_req *r, const char *id);     /* projects.c */
json_t *ident_user_load(struct http_req *r, const char *id);        /* users.c */
json_t *ident_group_load(struct http_req *r, const char *id);       /* groups.c */
json_t *ident_role_load(struct http_req *r, const char *id);        /* roles.c */
/* The endpoint columns ident_endpoint_render reads, in its order. */
#define IDENT_ENDPOINT_COLS "id, service_id, interface, url, region_id, enabled, extra"
/* Row i of IDENT_ENDPOINT_COLS as /v3/endpoints shows an endpoint. New reference. (catalog.c) */
json_t *ident_endpoint_render(struct http_req *r, const struct db_rows *rows, int i);
/* The region and every region below it, each once, parents before children and siblings by
 * id: 0 and *out (new array of ids), or a database error code. (catalog.c) */
int ident_region_tree(struct db_conn *c, const char *region_id, json_t **out);
/* Domain operations behind /v3/domains, shared with projects acting as domains (is_domain).
 * No policy check (the caller did it); each runs its own transaction. *out gets the rendered
 * domain (new reference). 0 or an error recorded in r. (domains.c) */
int ident_domain_create(struct http_req *r, const json_t *body, json_t **out);
int ident_domain_update(struct http_req *r, const char *id, const json_t *body, json_t **out);
int ident_domain_delete(struct http_req *r, const char *id);
/* A domain or project name as resource/schema.py wants it: a string of 1..64 characters with a
 * non-space (absent leaves *out NULL unless required). Not stripped. 0 or ERR_BADREQ recorded.
 * (domains.c) */
int ident_resource_name(struct http_req *r, const json_t *obj, bool required, const char **out);
/* Validates a tag list as Keystone does (an array of at most 80 unique strings of 1..255
 * characters without ',' or '/'). 0 or ERR_BADREQ recorded. (domains.c) */
int ident_tags_check(struct http_req *r, const json_t *tags);
/* Validates resource "options" (only "immutable": boolean or null; NULL options is fine) and
 * returns them merged over base (may be NULL; null removes). New reference, or NULL with 400
 * recorded. (domains.c) */
json_t *ident_options_merge(struct http_req *r, const json_t *options, const json_t *base);
/* Deletes the rows that reference an actor or target id polymorphically (assignments and
 * application credentials of a user, etc.). Inside the caller's transaction. (assign_calc.c) */
int ident_assignments_purge(struct db_conn *c, const char *actor_or_target_id);

/* --- effective roles (assign_calc.c) --- */
/* Effective role ids of a user on a target: direct grants, grants through groups, grants
 * inherited from the domain and parent projects, then implied roles expanded. target_type is
 * "project", "domain" or "system" (target_id "all"). Returns a new JSON array of
 * {"id","name","domain_id"(null for global)} objects, or NULL on a database error. */
json_t *ident_effective_roles(struct db_conn *c, const char *user_id, const char *target_type,
			      const char *target_id);
/* Ids of the projects (or domains) on which the user has any effective role. New JSON array
 * of strings, or NULL on a database error. */
json_t *ident_user_targets(struct db_conn *c, const char *user_id, const char *target_type);
/* Expands a JSON array of role ids with every role they imply (transitively), in place. */
int ident_expand_implied(struct db_conn *c, json_t *role_ids);

/* --- passwords and secrets (password.c) --- */
/* A password hash (bcrypt, [identity] password_hash_rounds), malloc'd; NULL on failure.
 * Slow by design: never call it inside a transaction. */
char *ident_password_hash(const char *password);
/* True when password matches hash (constant time). Slow: never inside a transaction. */
bool ident_password_verify(const char *password, const char *hash);
/* Checks a new password against [security_compliance] password_regex; 0 or ERR_BADREQ. */
int ident_password_policy(struct http_req *r, const char *password);

/* --- revocation (revoke.c) --- */
/* Records a revocation event inside the caller's transaction; NULL fields are wildcards.
 * Tokens issued up to now that match every non-NULL field stop validating. */
int ident_revoke(struct db_conn *c, const char *user_id, const char *project_id,
		 const char *domain_id, const char *audit_id, const char *audit_chain_id);
/* Records that tokens issued through an application credential are revoked. */
int ident_revoke_app_cred(struct db_conn *c, const char *app_cred_id);

/* --- tokens and catalog (tokens.c, catalog.c) --- */
/* The catalog as Keystone renders it in tokens and /v3/auth/catalog: enabled services (kept
 * even without endpoints) with their enabled endpoints. URL templates $(project_id)s and
 * $(tenant_id)s are filled with project_id; with project_id NULL (domain, system or unscoped
 * tokens) endpoints that need it are left out, as are malformed ones. New reference, or NULL
 * on a database error. (catalog.c) */
json_t *ident_catalog(struct identity *id, struct db_conn *c, const char *project_id);
/* The endpoints associated with a project through OS-EP-FILTER (directly or through endpoint
 * groups), as an object whose keys are the endpoint ids in order; empty when the project has
 * none, and then its catalog is not filtered. 0 and *out (new reference), or a database
 * error code. (endpoint_filter.c) */
int ident_endpoint_filter(struct db_conn *c, const char *project_id, json_t **out);
/* True when any project has an OS-EP-FILTER association (or the check failed), so catalogs
 * may differ per project. (endpoint_filter.c) */
bool ident_endpoint_filter_used(struct db_conn *c);

/* --- route tables of each family, concatenated by service.c --- */
extern const struct route ident_routes_version[];
extern const struct route ident_routes_auth[];
extern const struct route ident_routes_domains[];
extern const struct route ident_routes_projects[];
extern const struct route ident_routes_project_tags[];
extern const struct route ident_routes_users[];
extern const struct route ident_routes_groups[];
extern const struct route ident_routes_roles[];
extern const struct route ident_routes_assignments[];
extern const struct route ident_routes_catalog[];
extern const struct route ident_routes_appcreds[];
extern const struct route ident_routes_credentials[];
extern const struct route ident_routes_endpoint_filter[];
extern const struct route ident_routes_policies[];
extern const struct route ident_routes_trusts[];

#endif
