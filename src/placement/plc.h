/* plc.h — internals shared by the placement service's files: the service state, per-request
 * helpers (microversion, database, errors with Placement's error codes), body validation, name
 * rules, query-string parsing, and the operations the HTTP handlers and the in-process calls of
 * placement.h share (inventories, allocations, traits, aggregates, provider removal).
 * Not for use outside src/placement. */
#ifndef PLACEMENT_PLC_H
#define PLACEMENT_PLC_H
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
#include "core/sqlbuf.h"
#include "core/util.h"
#include "placement/placement.h"

#define PLC_PREFIX "/placement"
#define PLC_NAME_MAX 200               /* resource provider names */
#define PLC_CLASS_MAX 255              /* resource class and trait names */
#define PLC_MAX_INT 2147483647LL       /* Placement's db MAX_INT: inventory fields */
#define PLC_MAX_FLOAT 3.40282e+38      /* Placement's SQL_SP_FLOAT_MAX: allocation_ratio */
#define PLC_MAX_ITEMS 1000             /* list items one request body may carry */

/* Placement's error codes (the "code" of an error body from 1.23). */
#define PLC_CODE_DEFAULT "placement.undefined_code"
#define PLC_CODE_INUSE "placement.inventory.inuse"
#define PLC_CODE_CONCURRENT "placement.concurrent_update"
#define PLC_CODE_DUPLICATE "placement.duplicate_name"
#define PLC_CODE_RP_INUSE "placement.resource_provider.inuse"
#define PLC_CODE_RP_PARENT "placement.resource_provider.cannot_delete_parent"
#define PLC_CODE_QUERY_DUP "placement.query.duplicate_key"
#define PLC_CODE_QUERY_BAD "placement.query.bad_value"
#define PLC_CODE_QUERY_MISSING "placement.query.missing_value"

extern const struct mv_spec plc_mv;     /* placement 1.0 – 1.39 */

struct placement {
	struct db *db;
	struct policy *policy;
	struct http_service service;
};

/* Per-request state (r->svc_data). */
struct plc_req {
	struct placement *p;
	struct db_conn *conn;         /* checked out lazily by plc_db() */
	struct mv mv;                 /* the negotiated microversion */
	bool mv_ok;                   /* negotiation succeeded */
	const char *code;             /* error code of the recorded error (NULL: default) */
};

/* An error from an operation shared by HTTP and in-process callers. */
struct plc_err {
	const char *code;             /* Placement error code, NULL for the default */
	char msg[512];
};
/* Records rc with code and a message in e; returns rc. */
int plc_fail(struct plc_err *e, int rc, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* --- service.c --- */
struct plc_req *plc_req(struct http_req *r);
struct db_conn *plc_db(struct http_req *r);
/* The negotiated microversion. */
struct mv plc_version(struct http_req *r);
static inline bool plc_ge(struct http_req *r, int major, int minor)
{
	return mv_ge(plc_version(r), major, minor);
}
/* Records an error with a Placement error code (NULL: the default); returns code. */
int plc_error(struct http_req *r, int rc, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Records e (from a shared operation) on r; returns rc. */
int plc_error_from(struct http_req *r, int rc, const struct plc_err *e);
/* Logs a database failure and records a 500. */
int plc_db_error(struct http_req *r, int rc);
/* The plain 404 a handler gives below its first microversion (Placement's version_handler). */
int plc_not_found_version(struct http_req *r);
/* 415 unless the request's Content-Type is application/json. */
int plc_require_json(struct http_req *r);
/* The body parsed and validated as a JSON value (any type): 0 and *out, or 400 "Malformed JSON". */
int plc_body(struct http_req *r, json_t **out);
/* Sets Cache-Control/Last-Modified as Placement does from 1.15 (when > 0: that time). */
void plc_cache_headers(struct http_req *r, int64_t last_modified_us);
/* Replies with a JSON body (and the 1.15 cache headers). Returns 0. */
int plc_reply(struct http_req *r, int status, json_t *body, int64_t last_modified_us);
/* A unit of work on c: its own transaction, or a savepoint inside the caller's. *own says which. */
int plc_tx_begin(struct db_conn *c, bool *own);
/* Ends it: commit (release) when rc == 0, roll back otherwise. Returns rc, or the commit error. */
int plc_tx_end(struct db_conn *c, bool own, int rc);

/* --- validate.c (hand-written JSON-schema checks with jsonschema-like messages) --- */
/* Fails (400) unless v is an object whose keys are all in allowed (NULL-terminated) and which has
 * every key of required (NULL-terminated). */
int plc_v_object(struct http_req *r, const json_t *v, const char *const *allowed,
		 const char *const *required);
/* Integer member (absent: ok, *out untouched; *present tells); bounds inclusive. */
int plc_v_int(struct http_req *r, const json_t *obj, const char *key, int64_t min, int64_t max,
	      int64_t *out, bool *present);
/* String member of length [minlen, maxlen] (absent: NULL). */
int plc_v_string(struct http_req *r, const json_t *obj, const char *key, size_t minlen,
		 size_t maxlen, const char **out);
/* JSON-schema type name of v ("string", "integer", ...). */
const char *plc_json_type(const json_t *v);
/* jsonschema's repr of a JSON value (strings quoted with ''), into the arena. */
const char *plc_repr(struct http_req *r, const json_t *v);

/* --- names.c (pure rules) --- */
/* [A-Z0-9_]+ (resource classes, trait names, consumer types). */
bool plc_name_ok(const char *s);
/* CUSTOM_[A-Z0-9_]+ */
bool plc_custom_ok(const char *s);
bool plc_std_trait(const char *s);
bool plc_std_rc(const char *s);
extern const char *const plc_std_traits[];
extern const int plc_nstd_traits;
extern const char *const plc_std_rcs[];
extern const int plc_nstd_rcs;
/* True when the resource class exists (standard or custom in the database). */
bool plc_rc_exists(struct db_conn *c, const char *name);
/* True when the trait exists (standard or custom in the database). */
bool plc_trait_exists(struct db_conn *c, const char *name);

/* --- qparse.c (pure parsers of query values) --- */
struct plc_amount { char rc[PLC_CLASS_MAX + 1]; int64_t amount; };
/* "VCPU:2,MEMORY_MB:1024" into at most max items; 0 or -1 with Placement's message in msg. */
int plc_parse_resources(const char *qs, struct plc_amount *out, int max, int *n, char *msg, size_t msglen);
/* A list of sets of names: required[i] holds one any-of set (indexes into names). */
struct plc_traitq {
	int nsets;
	int set_start[64], set_len[64];   /* required any-of sets as ranges into req */
	const char *req[256];
	int nreq;
	const char *forbidden[128];
	int nforbidden;
};
/* Parses one required value ("A,!B" or "in:A,B") into q (appending). allow_forbidden (1.22),
 * allow_any (1.39). Strings are copied into the arena. 0 or -1 with msg. */
int plc_parse_required(struct arena *a, const char *val, bool allow_forbidden, bool allow_any,
		       struct plc_traitq *q, char *msg, size_t msglen);
struct plc_aggq {
	int nsets;
	int set_start[64], set_len[64];
	const char *req[256];              /* dashed uuids */
	int nreq;
	const char *forbidden[128];
	int nforbidden;
};
/* A uuid-like string (oslo's is_uuid_like: hex with any dashes, braces, urn:uuid:) into out[37]
 * (dashed lowercase; out may be NULL). */
bool plc_uuid_like(const char *s, char out[37]);
/* Parses one member_of value ("U", "in:U1,U2", "!U", "!in:U1,U2") into q (appending). 0 or -1. */
int plc_parse_member_of(struct arena *a, const char *val, struct plc_aggq *q, char *msg, size_t msglen);

/* --- providers.c --- */
struct plc_rp {
	char uuid[37], parent[37], root[37];   /* parent "" when none */
	char name[PLC_NAME_MAX + 1];
	int64_t generation, created_at, updated_at;
};
/* Loads a provider: 0, ERR_NOTFOUND, or ERR_INTERNAL. */
int plc_rp_load(struct db_conn *c, const char *uuid, struct plc_rp *out);
/* Bumps the provider's generation (locking its row until the end of the transaction); when
 * expect >= 0 only if it still is expect. 0 (rp->generation updated when rp given), ERR_CONFLICT
 * when the generation moved, or ERR_INTERNAL. */
int plc_rp_bump(struct db_conn *c, const char *uuid, int64_t expect, struct plc_rp *rp);
/* Deletes a provider (no allocations, no children): 0, ERR_NOTFOUND, ERR_CONFLICT (with the
 * Placement code in e) or ERR_INTERNAL. Inside the caller's unit of work. */
int plc_rp_delete(struct db_conn *c, const char *uuid, struct plc_err *e);
/* The provider as the API shows it. */
json_t *plc_rp_render(struct http_req *r, const struct plc_rp *rp);

/* --- inventories.c --- */
struct plc_inv {
	char rc[PLC_CLASS_MAX + 1];
	int64_t total, reserved, min_unit, max_unit, step_size;
	double ratio;
};
/* Effective capacity of an inventory: (total - reserved) * ratio. */
double plc_inv_capacity(const struct plc_inv *inv);
/* Replaces every inventory of rp with inv[n] (deleting ones with allocations: 409 inuse), then
 * bumps the generation from rp->generation (409 concurrent when it moved). Inside the caller's
 * unit of work. Unknown classes: 400. *changed (may be NULL) tells whether anything differed;
 * when only_if_changed and nothing differs, the generation is left alone. */
int plc_inv_replace(struct db_conn *c, struct plc_rp *rp, const struct plc_inv *inv, int n,
		    bool only_if_changed, bool *changed, struct plc_err *e);

/* --- traits.c / aggregates.c --- */
/* Sets exactly these traits on rp (all must exist: 400), bumping the generation when the set
 * changes. Inside the caller's unit of work. */
int plc_traits_replace(struct db_conn *c, struct plc_rp *rp, const char *const *traits, int n,
		       bool add_only, struct plc_err *e);
/* Sets exactly these aggregates (dashed uuids) on rp; bumps the generation when bump. */
int plc_aggs_replace(struct db_conn *c, struct plc_rp *rp, const char *const *aggs, int n,
		     bool bump, struct plc_err *e);

/* --- allocations.c --- */
struct plc_alloc { const char *rp, *rc; int64_t used; };
struct plc_consumer_write {
	const char *uuid, *project_id, *user_id;
	const char *consumer_type;        /* NULL: leave as is (new consumers: none) */
	bool check_generation;            /* 1.28: generation must match (gen_null: no consumer) */
	bool gen_null;
	int64_t generation;
	const struct plc_alloc *allocs;   /* empty: remove the consumer's allocations */
	int nallocs;
};
/* Replaces the allocations of each consumer as Placement's PUT/POST /allocations do, checking
 * capacity against the locked providers. Inside the caller's unit of work. */
int plc_alloc_write(struct db_conn *c, const struct plc_consumer_write *w, int n, struct plc_err *e);
/* Deletes every allocation of consumer and the consumer; *found tells whether there were any. */
int plc_alloc_delete(struct db_conn *c, const char *consumer, bool *found);

/* --- policy_defaults.c --- */
extern const char plc_policy_defaults[];

/* --- route families --- */
extern const struct route plc_routes_root[];        /* version.c */
extern const struct route plc_routes_providers[];   /* providers.c */
extern const struct route plc_routes_inventories[]; /* inventories.c */
extern const struct route plc_routes_usages[];      /* usages.c */
extern const struct route plc_routes_classes[];     /* resource_classes.c */
extern const struct route plc_routes_traits[];      /* traits.c */
extern const struct route plc_routes_aggregates[];  /* aggregates.c */
extern const struct route plc_routes_allocations[]; /* allocations.c */
extern const struct route plc_routes_candidates[];  /* candidates.c */

#endif
