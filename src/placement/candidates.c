/* candidates.c — GET /allocation_candidates (1.10): which providers could hold a request.
 * SQL narrows the search to provider trees with room for every requested class; the trees are
 * then loaded (providers, inventories with usage, traits, aggregates) and combined in memory:
 * granular groups are each satisfied by one provider, the unsuffixed group by any providers of
 * one tree (from 1.29; before, one provider per tree), under group_policy, same_subtree and
 * root_required, with the summed amounts checked against capacity and max_unit. Sharing
 * providers (MISC_SHARES_VIA_AGGREGATE) are not considered. */
#include "placement/candidates.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COMBOS_PER_TREE 1000      /* options multiplied out within one tree */
#define MAX_CANDIDATES 5000           /* allocation requests built before limit */
#define MAX_ITEMS 64                  /* (provider, class) pairs in one request */

struct cinv {
	const char *rc;
	int64_t total, reserved, min_unit, max_unit, step_size, used;
	double ratio;
};

struct cprov {
	const char *uuid, *parent, *root;   /* parent NULL for a root */
	int root_idx;                       /* index of the root provider */
	int first_member, next_member;      /* a tree's providers: from the root, linked */
	struct cinv *inv;
	int ninv;
	const char **traits;
	int ntraits;
	const char **aggs;
	int naggs;
};

struct world {
	struct cprov *p;
	int n;
};

/* An allocation request: (provider, class, amount) triples plus each group's providers. */
struct areq {
	int root_idx;
	int nitems;
	int prov[MAX_ITEMS];
	const char *rc[MAX_ITEMS];
	int64_t amount[MAX_ITEMS];
	int ngroups;
	int gprov[CAND_MAX_GROUPS][CAND_MAX_RES + 1];   /* providers used per group (-1 ends) */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_uuid(const void *a, const void *b)
{
	return strcmp(((const struct cprov *)a)->uuid, ((const struct cprov *)b)->uuid);
}

static int find(const struct world *w, const char *uuid)
{
	if (!uuid)
		return -1;
	struct cprov key = { .uuid = uuid };
	struct cprov *f = bsearch(&key, w->p, (size_t)w->n, sizeof key, cmp_uuid);
	return f ? (int)(f - w->p) : -1;
}

static bool has_name(const char *const *list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static const struct cinv *inv_of(const struct cprov *p, const char *rc)
{
	for (int i = 0; i < p->ninv; i++)
		if (!strcmp(p->inv[i].rc, rc))
			return &p->inv[i];
	return NULL;
}

static int64_t capacity(const struct cinv *v)
{
	return (int64_t)((double)(v->total - v->reserved) * v->ratio);
}

/* Room for amount of rc on p, within its unit rules. */
static bool fits(const struct cprov *p, const char *rc, int64_t amount)
{
	const struct cinv *v = inv_of(p, rc);
	return v && amount >= v->min_unit && amount <= v->max_unit &&
	       (v->step_size <= 0 || amount % v->step_size == 0) &&
	       (double)(v->used + amount) <= (double)(v->total - v->reserved) * v->ratio;
}

static bool traits_ok(const struct cprov *const *ps, int n, const struct plc_traitq *t)
{
	for (int i = 0; i < n; i++)
		for (int f = 0; f < t->nforbidden; f++)
			if (has_name(ps[i]->traits, ps[i]->ntraits, t->forbidden[f]))
				return false;
	for (int s = 0; s < t->nsets; s++) {
		bool any = false;
		for (int j = 0; j < t->set_len[s] && !any; j++)
			for (int i = 0; i < n && !any; i++)
				any = has_name(ps[i]->traits, ps[i]->ntraits, t->req[t->set_start[s] + j]);
		if (!any)
			return false;
	}
	return true;
}

/* member_of: the provider (or, in tree mode, its root) is in one aggregate of every set and,
 * for forbidden ones, neither is in any. */
static bool aggs_ok(const struct world *w, const struct cprov *p, const struct plc_aggq *a, bool tree)
{
	const struct cprov *root = &w->p[p->root_idx];
	for (int s = 0; s < a->nsets; s++) {
		bool any = false;
		for (int j = 0; j < a->set_len[s] && !any; j++) {
			const char *agg = a->req[a->set_start[s] + j];
			any = has_name(p->aggs, p->naggs, agg) || (tree && has_name(root->aggs, root->naggs, agg));
		}
		if (!any)
			return false;
	}
	for (int f = 0; f < a->nforbidden; f++)
		if (has_name(p->aggs, p->naggs, a->forbidden[f]) ||
		    (tree && has_name(root->aggs, root->naggs, a->forbidden[f])))
			return false;
	return true;
}

/* --- loading --- */

/* Roots of trees holding, for each class of each group, one provider with room for it. NULL
 * with *n 0 when none; in_tree groups are limited to their tree. */
static int candidate_roots(struct http_req *r, struct cand_request *q, const char ***out, int *n)
{
	struct db_conn *c = plc_db(r);
	const char **roots = NULL;
	int nroots = -1;                    /* -1: not narrowed yet */
	for (int k = 0; k < q->ngroups; k++) {
		struct cand_group *g = &q->groups[k];
		for (int i = 0; i < g->nres; i++) {
			struct sqlbuf s;
			sqlbuf_init(&s, r->arena, "SELECT DISTINCT p.root_uuid FROM plc_inventories i JOIN "
				     "plc_providers p ON p.uuid = i.provider_uuid WHERE i.rc = ? AND i.min_unit <= ? "
				     "AND i.max_unit >= ? AND ? % i.step_size = 0 AND (i.total - i.reserved) * "
				     "i.allocation_ratio >= ? + COALESCE((SELECT SUM(a.used) FROM plc_allocations a "
				     "WHERE a.provider_uuid = i.provider_uuid AND a.rc = i.rc), 0)");
			sqlbuf_text(&s, g->res[i].rc);
			for (int x = 0; x < 4; x++)
				sqlbuf_int(&s, g->res[i].amount);
			if (*g->in_tree_root) {
				sqlbuf_add(&s, " AND p.root_uuid = ?");
				sqlbuf_text(&s, g->in_tree_root);
			}
			struct db_rows *rows;
			int rc = db_query_a(c, &rows, s.text, sqlbuf_args(&s));
			if (rc < 0)
				return plc_db_error(r, rc);
			int m = db_rows_count(rows);
			const char **found = arena_alloc(r->arena, ((size_t)m + 1) * sizeof *found);
			for (int j = 0; j < m; j++)
				found[j] = arena_strdup(r->arena, db_text(rows, j, 0));
			db_rows_free(rows);
			qsort(found, (size_t)m, sizeof *found, cmp_str);
			if (nroots < 0) {
				roots = found;
				nroots = m;
			} else {              /* both sorted: keep what is in both */
				int kept = 0;
				for (int j = 0, x = 0; j < nroots && x < m;) {
					int d = strcmp(roots[j], found[x]);
					if (d == 0)
						roots[kept++] = roots[j];
					j += d <= 0;
					x += d >= 0;
				}
				nroots = kept;
			}
			if (!nroots) {
				*out = NULL;
				*n = 0;
				return 0;
			}
		}
	}
	*out = roots;
	*n = nroots < 0 ? 0 : nroots;
	return 0;
}

/* Loads the providers of the given trees with inventories (and usage), traits and aggregates. */
static int load_world(struct http_req *r, const char **roots, int nroots, struct world *w)
{
	struct db_conn *c = plc_db(r);
	struct sqlbuf s;
	sqlbuf_init(&s, r->arena, "SELECT uuid, parent_uuid, root_uuid FROM plc_providers WHERE root_uuid IN ");
	sqlbuf_in(&s, roots, nroots);
	sqlbuf_add(&s, " ORDER BY created_at, uuid");
	struct db_rows *rows;
	int rc = db_query_a(c, &rows, s.text, sqlbuf_args(&s));
	if (rc < 0)
		return plc_db_error(r, rc);
	w->n = db_rows_count(rows);
	w->p = arena_alloc(r->arena, ((size_t)w->n + 1) * sizeof *w->p);
	for (int i = 0; i < w->n; i++) {
		w->p[i].uuid = arena_strdup(r->arena, db_text(rows, i, 0));
		w->p[i].parent = arena_strdup(r->arena, db_text(rows, i, 1));
		w->p[i].root = arena_strdup(r->arena, db_text(rows, i, 2));
	}
	db_rows_free(rows);
	qsort(w->p, (size_t)w->n, sizeof *w->p, cmp_uuid);
	for (int i = 0; i < w->n; i++)
		w->p[i].first_member = -1;
	for (int i = w->n - 1; i >= 0; i--) {
		int ri = w->p[i].root_idx = find(w, w->p[i].root);
		if (ri >= 0) {
			w->p[i].next_member = w->p[ri].first_member;
			w->p[ri].first_member = i;
		}
	}
	static const char *const sqls[3] = {
		"SELECT i.provider_uuid, i.rc, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, "
		"i.allocation_ratio, COALESCE((SELECT SUM(a.used) FROM plc_allocations a WHERE "
		"a.provider_uuid = i.provider_uuid AND a.rc = i.rc), 0) FROM plc_inventories i JOIN "
		"plc_providers p ON p.uuid = i.provider_uuid WHERE p.root_uuid IN ",
		"SELECT t.provider_uuid, t.trait FROM plc_provider_traits t JOIN plc_providers p ON "
		"p.uuid = t.provider_uuid WHERE p.root_uuid IN ",
		"SELECT g.provider_uuid, g.aggregate FROM plc_provider_aggregates g JOIN plc_providers p ON "
		"p.uuid = g.provider_uuid WHERE p.root_uuid IN ",
	};
	for (int kind = 0; kind < 3; kind++) {
		sqlbuf_init(&s, r->arena, sqls[kind]);
		sqlbuf_in(&s, roots, nroots);
		sqlbuf_add(&s, kind == 0 ? " ORDER BY i.provider_uuid, i.rc" : kind == 1
			    ? " ORDER BY t.provider_uuid, t.trait" : " ORDER BY g.provider_uuid, g.aggregate");
		if ((rc = db_query_a(c, &rows, s.text, sqlbuf_args(&s))) < 0)
			return plc_db_error(r, rc);
		int m = db_rows_count(rows);
		for (int i = 0, j; i < m; i = j) {       /* rows come grouped by provider */
			const char *pu = db_text(rows, i, 0);
			for (j = i; j < m && !strcmp(db_text(rows, j, 0), pu); j++)
				;
			int idx = find(w, pu);
			if (idx < 0)
				continue;
			struct cprov *p = &w->p[idx];
			if (kind == 0) {
				p->inv = arena_alloc(r->arena, (size_t)(j - i) * sizeof *p->inv);
				for (int x = i; x < j; x++) {
					struct cinv *v = &p->inv[p->ninv++];
					v->rc = arena_strdup(r->arena, db_text(rows, x, 1));
					v->total = db_int(rows, x, 2);
					v->reserved = db_int(rows, x, 3);
					v->min_unit = db_int(rows, x, 4);
					v->max_unit = db_int(rows, x, 5);
					v->step_size = db_int(rows, x, 6);
					v->ratio = strtod(db_text(rows, x, 7), NULL);
					v->used = db_int(rows, x, 8);
				}
			} else {
				const char **list = arena_alloc(r->arena, (size_t)(j - i) * sizeof *list);
				for (int x = i; x < j; x++)
					list[x - i] = arena_strdup(r->arena, db_text(rows, x, 1));
				if (kind == 1) {
					p->traits = list;
					p->ntraits = j - i;
				} else {
					p->aggs = list;
					p->naggs = j - i;
				}
			}
		}
		db_rows_free(rows);
	}
	return 0;
}

/* --- combining --- */

/* The options of group g within the tree of root ri: each an allocation request of its own. */
static int group_options(struct http_req *r, const struct world *w, const struct cand_group *g, int ri,
			 bool tree_mode, struct areq **out, int *n)
{
	int cap = 2;          /* most trees give one option: start small (an areq is ~2 KiB) */
	struct areq *opts = arena_alloc(r->arena, (size_t)cap * sizeof *opts);
	*n = 0;
	if (*g->in_tree_root && strcmp(g->in_tree_root, w->p[ri].uuid)) {
		*out = opts;
		return 0;
	}
	/* providers of this tree usable by the group, per class (tree mode) or for all classes */
	int members[1024], nm = 0;
	for (int i = w->p[ri].first_member; i >= 0 && nm < 1024; i = w->p[i].next_member)
		members[nm++] = i;
	if (!tree_mode || !g->nres) {
		for (int m = 0; m < nm; m++) {
			const struct cprov *p = &w->p[members[m]];
			bool ok = aggs_ok(w, p, &g->aggs, false) && traits_ok(&p, 1, &g->traits);
			for (int i = 0; i < g->nres && ok; i++)
				ok = fits(p, g->res[i].rc, g->res[i].amount);
			if (!ok)
				continue;
			if (*n == cap) {
				struct areq *bigger = arena_alloc(r->arena, (size_t)cap * 2 * sizeof *bigger);
				memcpy(bigger, opts, (size_t)cap * sizeof *opts);
				opts = bigger;
				cap *= 2;
			}
			struct areq *a = &opts[(*n)++];
			memset(a, 0, sizeof *a);
			a->root_idx = ri;
			for (int i = 0; i < g->nres; i++) {
				a->prov[a->nitems] = members[m];
				a->rc[a->nitems] = g->res[i].rc;
				a->amount[a->nitems++] = g->res[i].amount;
			}
			a->ngroups = 1;
			a->gprov[0][0] = members[m];
			a->gprov[0][1] = -1;
		}
		*out = opts;
		return 0;
	}
	/* tree mode: one provider per class, any combination whose traits hold together */
	int choice[CAND_MAX_RES][64], nchoice[CAND_MAX_RES];
	for (int i = 0; i < g->nres; i++) {
		nchoice[i] = 0;
		for (int m = 0; m < nm && nchoice[i] < 64; m++) {
			const struct cprov *p = &w->p[members[m]];
			if (fits(p, g->res[i].rc, g->res[i].amount) && aggs_ok(w, p, &g->aggs, true))
				choice[i][nchoice[i]++] = members[m];
		}
		if (!nchoice[i]) {
			*out = opts;
			return 0;
		}
	}
	int pick[CAND_MAX_RES] = { 0 };
	for (int combos = 0; combos < MAX_COMBOS_PER_TREE; combos++) {
		const struct cprov *ps[CAND_MAX_RES];
		for (int i = 0; i < g->nres; i++)
			ps[i] = &w->p[choice[i][pick[i]]];
		if (traits_ok(ps, g->nres, &g->traits)) {
			if (*n == cap) {
				struct areq *bigger = arena_alloc(r->arena, (size_t)cap * 2 * sizeof *bigger);
				memcpy(bigger, opts, (size_t)cap * sizeof *opts);
				opts = bigger;
				cap *= 2;
			}
			struct areq *a = &opts[(*n)++];
			memset(a, 0, sizeof *a);
			a->root_idx = ri;
			int ng = 0;
			for (int i = 0; i < g->nres; i++) {
				a->prov[a->nitems] = choice[i][pick[i]];
				a->rc[a->nitems] = g->res[i].rc;
				a->amount[a->nitems++] = g->res[i].amount;
				bool seen = false;
				for (int x = 0; x < ng; x++)
					seen |= a->gprov[0][x] == choice[i][pick[i]];
				if (!seen)
					a->gprov[0][ng++] = choice[i][pick[i]];
			}
			a->gprov[0][ng] = -1;
			a->ngroups = 1;
		}
		int i = 0;               /* next combination, odometer style */
		while (i < g->nres && ++pick[i] == nchoice[i])
			pick[i++] = 0;
		if (i == g->nres)
			break;
	}
	*out = opts;
	return 0;
}

/* True when the providers lie in one subtree: one of them is an ancestor of all. */
static bool same_subtree(const struct world *w, const int *ps, int n)
{
	for (int a = 0; a < n; a++) {
		bool all = true;
		for (int b = 0; b < n && all; b++) {
			int cur = ps[b];
			bool under = false;
			for (int depth = 0; cur >= 0 && depth < 1000 && !under; depth++) {
				under = cur == ps[a];
				cur = find(w, w->p[cur].parent);
			}
			all = under;
		}
		if (all)
			return true;
	}
	return false;
}

/* Merges one option per group into *out; false when the combination breaks a rule. */
static bool merge(const struct world *w, const struct cand_request *q, const struct areq *const *picks,
		  struct areq *out)
{
	memset(out, 0, sizeof *out);
	out->root_idx = picks[0]->root_idx;
	out->ngroups = q->ngroups;
	if (q->group_policy && !strcmp(q->group_policy, "isolate")) {
		int used[CAND_MAX_GROUPS], nused = 0, granular = 0;
		for (int k = 0; k < q->ngroups; k++) {
			if (!q->groups[k].same_provider)
				continue;
			granular++;
			int p = picks[k]->gprov[0][0];
			bool seen = false;
			for (int x = 0; x < nused; x++)
				seen |= used[x] == p;
			if (!seen)
				used[nused++] = p;
		}
		if (nused != granular)
			return false;
	}
	for (int s = 0; s < q->nsame_subtree; s++) {
		int ps[CAND_MAX_GROUPS * (CAND_MAX_RES + 1)], np = 0;
		for (int j = 0; j < q->same_subtree_len[s]; j++)
			for (int k = 0; k < q->ngroups; k++)
				if (!strcmp(q->groups[k].suffix, q->same_subtree[s][j]))
					for (int x = 0; picks[k]->gprov[0][x] >= 0; x++)
						ps[np++] = picks[k]->gprov[0][x];
		if (np > 1 && !same_subtree(w, ps, np))
			return false;
	}
	for (int k = 0; k < q->ngroups; k++) {
		const struct areq *a = picks[k];
		for (int i = 0; i < a->nitems; i++) {
			int x;
			for (x = 0; x < out->nitems; x++)
				if (out->prov[x] == a->prov[i] && !strcmp(out->rc[x], a->rc[i]))
					break;
			if (x == out->nitems) {
				if (x == MAX_ITEMS)
					return false;
				out->prov[x] = a->prov[i];
				out->rc[x] = a->rc[i];
				out->nitems++;
			}
			out->amount[x] += a->amount[i];
		}
		memcpy(out->gprov[k], a->gprov[0], sizeof out->gprov[k]);
	}
	for (int x = 0; x < out->nitems; x++) {     /* the sums must still fit */
		const struct cinv *v = inv_of(&w->p[out->prov[x]], out->rc[x]);
		if (!v || v->used + out->amount[x] > capacity(v) || out->amount[x] > v->max_unit)
			return false;
	}
	return true;
}

static bool same_areq(const struct areq *a, const struct areq *b)
{
	if (a->nitems != b->nitems)
		return false;
	for (int i = 0; i < a->nitems; i++) {
		bool found = false;
		for (int j = 0; j < b->nitems && !found; j++)
			found = a->prov[i] == b->prov[j] && !strcmp(a->rc[i], b->rc[j]) && a->amount[i] == b->amount[j];
		if (!found)
			return false;
	}
	for (int k = 0; k < a->ngroups; k++)
		for (int x = 0; x <= CAND_MAX_RES && (a->gprov[k][x] >= 0 || b->gprov[k][x] >= 0); x++)
			if (a->gprov[k][x] != b->gprov[k][x])
				return false;
	return true;
}

static bool root_ok(const struct cprov *root, const struct cand_request *q)
{
	for (int i = 0; i < q->nroot_required; i++)
		if (!has_name(root->traits, root->ntraits, q->root_required[i]))
			return false;
	for (int i = 0; i < q->nroot_forbidden; i++)
		if (has_name(root->traits, root->ntraits, q->root_forbidden[i]))
			return false;
	return true;
}

/* Builds the allocation requests of the tree of root ri (appending to *res). */
static int tree_requests(struct http_req *r, const struct world *w, const struct cand_request *q,
			 int ri, struct areq **res, int *nres, int *capres)
{
	struct areq *opts[CAND_MAX_GROUPS];
	int nopts[CAND_MAX_GROUPS];
	for (int k = 0; k < q->ngroups; k++) {
		const struct cand_group *g = &q->groups[k];
		int rc = group_options(r, w, g, ri, !g->same_provider, &opts[k], &nopts[k]);
		if (rc < 0)
			return rc;
		if (!nopts[k])
			return 0;
	}
	int pick[CAND_MAX_GROUPS] = { 0 };
	int start = *nres;
	for (int combos = 0; combos < MAX_COMBOS_PER_TREE && *nres < MAX_CANDIDATES; combos++) {
		const struct areq *picks[CAND_MAX_GROUPS];
		for (int k = 0; k < q->ngroups; k++)
			picks[k] = &opts[k][pick[k]];
		if (*nres == *capres) {
			int cap = *capres ? *capres * 2 : 64;
			struct areq *bigger = arena_alloc(r->arena, (size_t)cap * sizeof *bigger);
			if (*nres)
				memcpy(bigger, *res, (size_t)*nres * sizeof *bigger);
			*res = bigger;
			*capres = cap;
		}
		struct areq *m = &(*res)[*nres];
		if (merge(w, q, picks, m)) {
			bool dup = false;
			for (int x = start; x < *nres && !dup; x++)
				dup = same_areq(&(*res)[x], m);
			if (!dup)
				(*nres)++;
		}
		int k = 0;
		while (k < q->ngroups && ++pick[k] == nopts[k])
			pick[k++] = 0;
		if (k == q->ngroups)
			break;
	}
	return 0;
}

/* --- rendering --- */

static json_t *render_request(struct http_req *r, const struct world *w, const struct cand_request *q,
			      const struct areq *a)
{
	if (!plc_ge(r, 1, 12)) {
		json_t *list = json_array();
		for (int i = 0; i < a->nitems; i++) {
			const char *u = w->p[a->prov[i]].uuid;
			json_t *entry = NULL;
			size_t x;
			json_t *e;
			json_array_foreach(list, x, e)
				if (!strcmp(json_string_value(json_object_get(json_object_get(e, "resource_provider"),
									    "uuid")), u))
					entry = e;
			if (!entry) {
				entry = json_pack("{s:{s:s},s:{}}", "resource_provider", "uuid", u, "resources");
				json_array_append_new(list, entry);
			}
			json_object_set_new(json_object_get(entry, "resources"), a->rc[i], json_integer(a->amount[i]));
		}
		return json_pack("{s:o}", "allocations", list);
	}
	json_t *allocs = json_object();
	for (int i = 0; i < a->nitems; i++) {
		const char *u = w->p[a->prov[i]].uuid;
		json_t *o = json_object_get(allocs, u);
		if (!o) {
			o = json_pack("{s:{}}", "resources");
			json_object_set_new(allocs, u, o);
		}
		json_object_set_new(json_object_get(o, "resources"), a->rc[i], json_integer(a->amount[i]));
	}
	json_t *out = json_pack("{s:o}", "allocations", allocs);
	if (plc_ge(r, 1, 34)) {
		json_t *maps = json_object();
		for (int k = 0; k < q->ngroups; k++) {
			json_t *list = json_array();
			for (int x = 0; x <= CAND_MAX_RES && a->gprov[k][x] >= 0; x++)
				json_array_append_new(list, json_string(w->p[a->gprov[k][x]].uuid));
			json_object_set_new(maps, q->groups[k].suffix, list);
		}
		json_object_set_new(out, "mappings", maps);
	}
	return out;
}

static json_t *render_summary(struct http_req *r, const struct world *w, const struct cand_request *q,
			      const struct cprov *p)
{
	json_t *res = json_object();
	bool all = plc_ge(r, 1, 27);
	for (int i = 0; i < p->ninv; i++) {
		bool requested = all;
		for (int k = 0; k < q->ngroups && !requested; k++)
			for (int j = 0; j < q->groups[k].nres && !requested; j++)
				requested = !strcmp(q->groups[k].res[j].rc, p->inv[i].rc);
		if (requested)
			json_object_set_new(res, p->inv[i].rc, json_pack("{s:I,s:I}", "capacity",
									 (json_int_t)capacity(&p->inv[i]), "used",
									 (json_int_t)p->inv[i].used));
	}
	json_t *s = json_pack("{s:o}", "resources", res);
	if (plc_ge(r, 1, 17)) {
		json_t *t = json_array();
		for (int i = 0; i < p->ntraits; i++)
			json_array_append_new(t, json_string(p->traits[i]));
		json_object_set_new(s, "traits", t);
	}
	if (plc_ge(r, 1, 29)) {
		json_object_set_new(s, "parent_provider_uuid", p->parent ? json_string(p->parent) : json_null());
		json_object_set_new(s, "root_provider_uuid", json_string(w->p[p->root_idx].uuid));
	}
	return s;
}

static int empty(struct http_req *r)
{
	return plc_reply(r, 200, json_pack("{s:[],s:{}}", "allocation_requests", "provider_summaries"), 0);
}

static int list(struct http_req *r)
{
	if (!plc_ge(r, 1, 10))
		return plc_not_found_version(r);
	struct cand_request *q = arena_alloc(r->arena, sizeof *q);
	int rc = cand_parse(r, q);
	if (rc < 0)
		return rc;
	struct db_conn *c = plc_db(r);
	for (int k = 0; k < q->ngroups; k++) {
		struct cand_group *g = &q->groups[k];
		for (int i = 0; i < g->nres; i++)
			if (!plc_rc_exists(c, g->res[i].rc))
				return plc_error(r, ERR_BADREQ, NULL, "Invalid resource class in resources "
						 "parameter: No such resource class %s.", g->res[i].rc);
		for (int i = 0; i < g->traits.nreq; i++)
			if (!plc_trait_exists(c, g->traits.req[i]))
				return plc_error(r, ERR_BADREQ, NULL, "No such trait(s): %s.", g->traits.req[i]);
		for (int i = 0; i < g->traits.nforbidden; i++)
			if (!plc_trait_exists(c, g->traits.forbidden[i]))
				return plc_error(r, ERR_BADREQ, NULL, "No such trait(s): %s.", g->traits.forbidden[i]);
	}
	for (int i = 0; i < q->nroot_required; i++)
		if (!plc_trait_exists(c, q->root_required[i]))
			return plc_error(r, ERR_BADREQ, NULL, "No such trait(s): %s.", q->root_required[i]);
	for (int i = 0; i < q->nroot_forbidden; i++)
		if (!plc_trait_exists(c, q->root_forbidden[i]))
			return plc_error(r, ERR_BADREQ, NULL, "No such trait(s): %s.", q->root_forbidden[i]);
	for (int k = 0; k < q->ngroups; k++) {
		struct cand_group *g = &q->groups[k];
		if (!g->in_tree)
			continue;
		struct plc_rp rp;
		rc = plc_rp_load(c, g->in_tree, &rp);
		if (rc == ERR_NOTFOUND)
			return empty(r);
		if (rc < 0)
			return plc_db_error(r, rc);
		snprintf(g->in_tree_root, sizeof g->in_tree_root, "%s", rp.root);
	}
	const char **roots;
	int nroots;
	if ((rc = candidate_roots(r, q, &roots, &nroots)) < 0)
		return rc;
	if (!nroots)
		return empty(r);
	struct world w = { 0 };
	if ((rc = load_world(r, roots, nroots, &w)) < 0)
		return rc;
	bool nested = plc_ge(r, 1, 29);
	struct db_rows *rows;
	if ((rc = db_query(c, &rows, "SELECT 1 FROM plc_providers WHERE parent_uuid IS NOT NULL LIMIT 1")) < 0)
		return plc_db_error(r, rc);
	bool has_trees = db_rows_count(rows) > 0;
	db_rows_free(rows);
	/* the trees in creation order of their roots */
	struct db_rows *order;
	struct sqlbuf s;
	sqlbuf_init(&s, r->arena, "SELECT uuid FROM plc_providers WHERE uuid IN ");
	sqlbuf_in(&s, roots, nroots);
	sqlbuf_add(&s, " ORDER BY created_at, uuid");
	if ((rc = db_query_a(c, &order, s.text, sqlbuf_args(&s))) < 0)
		return plc_db_error(r, rc);
	struct areq *res = NULL;
	int nres = 0, capres = 0;
	for (int t = 0; t < db_rows_count(order) && rc == 0 && nres < MAX_CANDIDATES; t++) {
		int ri = find(&w, db_text(order, t, 0));
		if (ri < 0 || !root_ok(&w.p[ri], q))
			continue;
		rc = tree_requests(r, &w, q, ri, &res, &nres, &capres);
		if (q->limit && (nested || !has_trees) && nres >= q->limit)
			break;          /* nothing is filtered later: the first ones are the answer */
	}
	db_rows_free(order);
	if (rc < 0)
		return rc;
	/* before 1.29 a request may not use two providers of one tree */
	bool *in_use = arena_alloc(r->arena, (size_t)w.n + 1);
	int kept = 0;
	for (int i = 0; i < nres; i++) {
		bool ok = true;
		if (!nested && has_trees)
			for (int x = 0; x < res[i].nitems && ok; x++)
				for (int y = 0; y < x && ok; y++)
					ok = res[i].prov[x] == res[i].prov[y] ||
					     w.p[res[i].prov[x]].root_idx != w.p[res[i].prov[y]].root_idx;
		if (ok)
			res[kept++] = res[i];
	}
	nres = kept;
	if (q->limit && nres > q->limit)
		nres = (int)q->limit;
	json_t *areqs = json_array(), *sums = json_object();
	for (int i = 0; i < nres; i++) {
		json_array_append_new(areqs, render_request(r, &w, q, &res[i]));
		for (int x = 0; x < res[i].nitems; x++)
			in_use[res[i].prov[x]] = true;
	}
	/* summaries: every provider of the trees in play (only those used, for old versions
	 * when trees exist) */
	for (int i = 0; i < w.n; i++) {
		bool show = false;
		if (!nested && has_trees) {
			show = in_use[i];
		} else {
			for (int k = 0; k < nres && !show; k++)
				show = res[k].root_idx == w.p[i].root_idx;
		}
		if (show)
			json_object_set_new(sums, w.p[i].uuid, render_summary(r, &w, q, &w.p[i]));
	}
	return plc_reply(r, 200, json_pack("{s:o,s:o}", "allocation_requests", areqs,
					   "provider_summaries", sums), 0);
}

const struct route plc_routes_candidates[] = {
	{ "GET", "/allocation_candidates", list, "placement:allocation_candidates:list", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
