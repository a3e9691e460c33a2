/* token_cache.c — what makes validation cheap: validated tokens, the revocation events and the
 * catalog, each cached for one identity generation (any committed identity write moves it). */
#include "identity/token.h"
#include "core/conf.h"
#include <stdlib.h>
#include <string.h>

#define TC_BUCKETS 4096
#define TC_MAX_ENTRIES 100000

struct tc_entry {
	struct tc_entry *next;
	char *token;
	uint64_t generation;
	atomic_int refs;
	struct arena *arena;              /* holds ctx and its strings */
	struct auth_ctx *ctx;
};

struct rev_event {
	char *user_id, *project_id, *domain_id, *audit_id, *audit_chain_id, *app_cred_id;
	int64_t issued_before;
};

struct token_cache {
	pthread_mutex_t lock;
	struct tc_entry *buckets[TC_BUCKETS];
	size_t count;
	/* revocation events */
	pthread_mutex_t rev_lock;
	uint64_t rev_generation;
	bool rev_loaded;
	struct rev_event *events;
	size_t nevents;
	/* catalog */
	pthread_mutex_t cat_lock;
	uint64_t cat_generation;
	json_t *catalog;
	bool cat_templated;               /* URLs need the project: render per token */
	bool cat_filtered;                /* OS-EP-FILTER associations exist: render per project */
};

struct token_cache *token_cache_new(void)
{
	struct token_cache *tc = xcalloc(1, sizeof *tc);
	pthread_mutex_init(&tc->lock, NULL);
	pthread_mutex_init(&tc->rev_lock, NULL);
	pthread_mutex_init(&tc->cat_lock, NULL);
	return tc;
}

static void entry_unref(void *p)
{
	struct tc_entry *e = p;
	if (atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	if (e->ctx && e->ctx->token_body)
		json_decref(e->ctx->token_body);
	arena_free(e->arena);
	free(e->token);
	free(e);
}

static void free_events(struct token_cache *tc)
{
	for (size_t i = 0; i < tc->nevents; i++) {
		struct rev_event *ev = &tc->events[i];
		free(ev->user_id);
		free(ev->project_id);
		free(ev->domain_id);
		free(ev->audit_id);
		free(ev->audit_chain_id);
		free(ev->app_cred_id);
	}
	free(tc->events);
	tc->events = NULL;
	tc->nevents = 0;
}

static void clear_entries(struct token_cache *tc)
{
	for (int b = 0; b < TC_BUCKETS; b++) {
		struct tc_entry *e = tc->buckets[b];
		while (e) {
			struct tc_entry *n = e->next;
			entry_unref(e);
			e = n;
		}
		tc->buckets[b] = NULL;
	}
	tc->count = 0;
}

void token_cache_free(struct token_cache *tc)
{
	if (!tc)
		return;
	clear_entries(tc);
	free_events(tc);
	json_decref(tc->catalog);
	pthread_mutex_destroy(&tc->lock);
	pthread_mutex_destroy(&tc->rev_lock);
	pthread_mutex_destroy(&tc->cat_lock);
	free(tc);
}

static unsigned bucket_of(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % TC_BUCKETS;
}

/* Looks a token up; on a hit the entry is pinned until arena a is freed. */
static const struct auth_ctx *cache_get(struct token_cache *tc, const char *token, uint64_t gen,
					struct arena *a)
{
	unsigned b = bucket_of(token);
	const struct auth_ctx *ctx = NULL;
	pthread_mutex_lock(&tc->lock);
	struct tc_entry **pp = &tc->buckets[b];
	while (*pp) {
		struct tc_entry *e = *pp;
		if (e->generation != gen) {   /* stale: drop it while we are here */
			*pp = e->next;
			tc->count--;
			entry_unref(e);
			continue;
		}
		if (!strcmp(e->token, token)) {
			atomic_fetch_add(&e->refs, 1);
			arena_defer(a, entry_unref, e);
			ctx = e->ctx;
			break;
		}
		pp = &e->next;
	}
	pthread_mutex_unlock(&tc->lock);
	return ctx;
}

static void cache_put(struct token_cache *tc, const char *token, uint64_t gen, struct arena *ea,
		      struct auth_ctx *ctx)
{
	struct tc_entry *e = xcalloc(1, sizeof *e);
	e->token = xstrdup(token);
	e->generation = gen;
	e->arena = ea;
	e->ctx = ctx;
	atomic_init(&e->refs, 1);
	unsigned b = bucket_of(token);
	pthread_mutex_lock(&tc->lock);
	if (tc->count >= TC_MAX_ENTRIES)
		clear_entries(tc);
	e->next = tc->buckets[b];
	tc->buckets[b] = e;
	tc->count++;
	pthread_mutex_unlock(&tc->lock);
}

static void arena_free_void(void *p) { arena_free(p); }

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

static bool ev_field_ok(const char *ev, const char *tok)
{
	return !ev || (tok && !strcmp(ev, tok));
}

bool token_revoked(struct identity *id, struct db_conn *c, const struct token_payload *p,
		   const char *user_domain_id, const char *project_domain_id)
{
	struct token_cache *tc = id->cache;
	uint64_t gen = atomic_load(&id->generation);
	pthread_mutex_lock(&tc->rev_lock);
	if (!tc->rev_loaded || tc->rev_generation != gen) {
		struct db_rows *rows;
		int64_t horizon = time_now_us() - (conf_int("token", "expiration") +
						   conf_int("token", "allow_expired_window")) * 1000000;
		if (db_query(c, &rows, "SELECT user_id, project_id, domain_id, audit_id, audit_chain_id,"
			     " app_cred_id, issued_before FROM revocation_event WHERE revoked_at >= ?",
			     DB_INT(horizon)) == 0) {
			free_events(tc);
			tc->nevents = (size_t)db_rows_count(rows);
			tc->events = xcalloc(tc->nevents, sizeof *tc->events);
			for (size_t i = 0; i < tc->nevents; i++) {
				struct rev_event *ev = &tc->events[i];
				ev->user_id = dup_or_null(db_text(rows, (int)i, 0));
				ev->project_id = dup_or_null(db_text(rows, (int)i, 1));
				ev->domain_id = dup_or_null(db_text(rows, (int)i, 2));
				ev->audit_id = dup_or_null(db_text(rows, (int)i, 3));
				ev->audit_chain_id = dup_or_null(db_text(rows, (int)i, 4));
				ev->app_cred_id = dup_or_null(db_text(rows, (int)i, 5));
				ev->issued_before = db_int(rows, (int)i, 6);
			}
			db_rows_free(rows);
			tc->rev_generation = gen;
			tc->rev_loaded = true;
		}
	}
	bool revoked = false;
	const char *project_id = p->scope == SCOPE_PROJECT ? p->scope_id : NULL;
	const char *scope_domain = p->scope == SCOPE_DOMAIN ? p->scope_id : NULL;
	for (size_t i = 0; i < tc->nevents && !revoked; i++) {
		const struct rev_event *ev = &tc->events[i];
		if (p->issued_at > ev->issued_before)
			continue;
		if (!ev_field_ok(ev->user_id, p->user_id) || !ev_field_ok(ev->project_id, project_id))
			continue;
		if (ev->domain_id && !(ev_field_ok(ev->domain_id, scope_domain) ||
				       ev_field_ok(ev->domain_id, user_domain_id) ||
				       ev_field_ok(ev->domain_id, project_domain_id)))
			continue;
		if (ev->audit_id && !(ev_field_ok(ev->audit_id, p->audit_id) ||
				      ev_field_ok(ev->audit_id, p->audit_chain_id[0] ? p->audit_chain_id : NULL)))
			continue;
		if (!ev_field_ok(ev->audit_chain_id, p->audit_chain_id[0] ? p->audit_chain_id : p->audit_id))
			continue;
		if (!ev_field_ok(ev->app_cred_id, p->app_cred_id[0] ? p->app_cred_id : NULL))
			continue;
		revoked = true;
	}
	pthread_mutex_unlock(&tc->rev_lock);
	return revoked;
}

/* True when some endpoint URL needs the project substituted (or the query failed). */
static bool has_templates(struct db_conn *c)
{
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT url FROM endpoint") < 0)
		return true;
	bool t = false;
	for (int i = 0; i < db_rows_count(rows) && !t; i++) {
		const char *u = db_text(rows, i, 0);
		t = u && (strstr(u, "$(") || strstr(u, "%("));
	}
	db_rows_free(rows);
	return t;
}

json_t *token_catalog(struct identity *id, struct db_conn *c, const char *project_id)
{
	struct token_cache *tc = id->cache;
	uint64_t gen = atomic_load(&id->generation);
	pthread_mutex_lock(&tc->cat_lock);
	if (!tc->catalog || tc->cat_generation != gen) {
		json_t *cat = ident_catalog(id, c, NULL);
		if (cat) {
			json_decref(tc->catalog);
			tc->catalog = cat;
			tc->cat_templated = has_templates(c);
			tc->cat_filtered = ident_endpoint_filter_used(c);
			tc->cat_generation = gen;
		}
	}
	json_t *out = NULL;
	/* The shared rendering (no project) serves a token unless its URLs need the project or
	 * a project's catalog may be filtered. */
	if (tc->catalog && !tc->cat_templated && !(project_id && tc->cat_filtered))
		out = json_incref(tc->catalog);
	pthread_mutex_unlock(&tc->cat_lock);
	if (!out)
		out = ident_catalog(id, c, project_id);
	return out ? out : json_array();
}

int token_validate(void *data, struct arena *a, const char *token, bool allow_expired,
		   const struct auth_ctx **out, char *msg, size_t msglen)
{
	struct identity *id = data;
	uint64_t gen = atomic_load(&id->generation);
	int64_t now = time_now_us();
	int64_t window = allow_expired ? conf_int("token", "allow_expired_window") * 1000000 : 0;
	const struct auth_ctx *hit = cache_get(id->cache, token, gen, a);
	if (hit) {
		if (now >= hit->expires_at + window) {
			snprintf(msg, msglen, "The token has expired.");
			return ERR_NOTFOUND;
		}
		*out = hit;
		return 0;
	}
	struct token_payload p;
	if (token_decode(id, token, &p)) {
		snprintf(msg, msglen, "Failed to validate token");
		return ERR_NOTFOUND;
	}
	if (now >= p.expires_at + window) {
		snprintf(msg, msglen, "The token has expired.");
		return ERR_NOTFOUND;
	}
	struct arena *ea = arena_new();
	struct auth_ctx *ctx;
	struct db_conn *c = db_get(id->db);
	int rc = token_build(id, c, ea, token, &p, &ctx, msg, msglen);
	db_put(c);
	if (rc < 0) {
		arena_free(ea);
		return rc;
	}
	/* Only cache what was built against the generation we started with. */
	if (atomic_load(&id->generation) == gen) {
		cache_put(id->cache, token, gen, ea, ctx);
		const struct auth_ctx *again = cache_get(id->cache, token, gen, a);
		if (again) {
			*out = again;
			return 0;
		}
		/* evicted at once (a write moved the generation): fall through with a private copy */
		struct arena *ea2 = arena_new();
		struct db_conn *c2 = db_get(id->db);
		rc = token_build(id, c2, ea2, token, &p, &ctx, msg, msglen);
		db_put(c2);
		if (rc < 0) {
			arena_free(ea2);
			return rc;
		}
		ea = ea2;
	}
	/* Uncached: tie the context to the request. */
	arena_defer(a, json_decref_void, ctx->token_body);
	arena_defer(a, arena_free_void, ea);
	*out = ctx;
	return 0;
}
