/* candidates_parse.c — reading GET /allocation_candidates query strings into request groups
 * (resources, required, member_of, in_tree with their suffixes) and request-wide parameters
 * (limit, group_policy, root_required, same_subtree), version by version as Placement does. */
#include "placement/candidates.h"
#include <stdio.h>
#include <string.h>

#define MAX_ITEMS 256

struct qitem { const char *name, *value; };
struct qlist { struct qitem items[MAX_ITEMS]; int n; bool overflow; };

static int collect(void *ctx, const char *name, const char *value)
{
	struct qlist *l = ctx;
	if (l->n == MAX_ITEMS) {
		l->overflow = true;
		return 1;
	}
	l->items[l->n++] = (struct qitem){ name, value ? value : "" };
	return 0;
}

/* The value of the last occurrence of name, or NULL. */
static const char *last(const struct qlist *l, const char *name)
{
	const char *v = NULL;
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].name, name))
			v = l->items[i].value;
	return v;
}

static int count(const struct qlist *l, const char *name)
{
	int n = 0;
	for (int i = 0; i < l->n; i++)
		n += !strcmp(l->items[i].name, name);
	return n;
}

/* Splits a grouped key ("resources", "required12", "member_of_NET"): the prefix index and the
 * suffix, or -1 when the key is not one at this version. */
static int group_key(struct http_req *r, const char *key, const char **suffix)
{
	static const char *const prefixes[] = { "resources", "required", "member_of", "in_tree" };
	bool granular = plc_ge(r, 1, 25), verbose = plc_ge(r, 1, 33);
	for (int p = 0; p < 4; p++) {
		size_t pl = strlen(prefixes[p]);
		if (strncmp(key, prefixes[p], pl))
			continue;
		if (p == 3 && !plc_ge(r, 1, 31))
			return -1;
		if (p == 1 && !plc_ge(r, 1, 17))
			return -1;
		if (p == 2 && !plc_ge(r, 1, 21))
			return -1;
		const char *s = key + pl;
		if (!*s) {
			*suffix = "";
			return p;
		}
		if (!granular)
			return -1;
		size_t sl = strlen(s);
		bool ok = true;
		if (verbose) {
			ok = sl <= 64;
			for (const char *c = s; *c && ok; c++)
				ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				     (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
		} else {
			ok = *s >= '1' && *s <= '9';
			for (const char *c = s; *c && ok; c++)
				ok = *c >= '0' && *c <= '9';
		}
		if (!ok)
			return -1;
		*suffix = s;
		return p;
	}
	return -1;
}

static struct cand_group *group_for(struct cand_request *q, const char *suffix)
{
	for (int i = 0; i < q->ngroups; i++)
		if (!strcmp(q->groups[i].suffix, suffix))
			return &q->groups[i];
	if (q->ngroups == CAND_MAX_GROUPS)
		return NULL;
	struct cand_group *g = &q->groups[q->ngroups++];
	memset(g, 0, sizeof *g);
	g->suffix = suffix;
	g->same_provider = *suffix != 0;
	return g;
}

static int bad(struct http_req *r, const char *code, const char *msg)
{
	return plc_error(r, ERR_BADREQ, code, "%s", msg);
}

static bool in_names(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return true;
	return false;
}

static int parse_root_required(struct http_req *r, const struct qlist *l, struct cand_request *q)
{
	int n = count(l, "root_required");
	if (!n)
		return 0;
	if (n > 1)
		return bad(r, PLC_CODE_QUERY_DUP, "Query parameter 'root_required' may be specified only once.");
	struct plc_traitq t = { 0 };
	char msg[512];
	if (plc_parse_required(r->arena, last(l, "root_required"), true, false, &t, msg, sizeof msg))
		return bad(r, NULL, msg);
	char conflicts[512] = "";
	for (int i = 0; i < t.nreq && q->nroot_required < 64; i++) {
		if (in_names(t.forbidden, t.nforbidden, t.req[i])) {
			size_t cl = strlen(conflicts);
			snprintf(conflicts + cl, sizeof conflicts - cl, "%s%s", cl ? ", " : "", t.req[i]);
		}
		q->root_required[q->nroot_required++] = t.req[i];
	}
	for (int i = 0; i < t.nforbidden && q->nroot_forbidden < 64; i++)
		q->root_forbidden[q->nroot_forbidden++] = t.forbidden[i];
	if (*conflicts)
		return plc_error(r, ERR_BADREQ, PLC_CODE_QUERY_BAD, "Conflicting required and forbidden "
				 "traits found in root_required: %s", conflicts);
	return 0;
}

static int parse_same_subtree(struct http_req *r, const struct qlist *l, struct cand_request *q)
{
	for (int i = 0; i < l->n; i++) {
		if (strcmp(l->items[i].name, "same_subtree"))
			continue;
		if (q->nsame_subtree == 16)
			return bad(r, NULL, "Too many same_subtree parameters.");
		int k = q->nsame_subtree++;
		const char *p = l->items[i].value;
		for (;;) {
			size_t len = strcspn(p, ",");
			const char *s = p;
			size_t sl = len;
			while (sl && (*s == ' ' || *s == '\t'))
				s++, sl--;
			while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t'))
				sl--;
			if (!sl)
				return bad(r, PLC_CODE_QUERY_BAD, "Empty string (unsuffixed group) can not be "
					   "specified in `same_subtree` ");
			char *suffix = arena_strndup(r->arena, s, sl);
			bool dup = false;
			for (int j = 0; j < q->same_subtree_len[k]; j++)
				dup |= !strcmp(q->same_subtree[k][j], suffix);
			if (!dup) {
				if (q->same_subtree_len[k] == CAND_MAX_GROUPS)
					return bad(r, NULL, "Too many suffixes in same_subtree.");
				q->same_subtree[k][q->same_subtree_len[k]++] = suffix;
			}
			if (!p[len])
				break;
			p += len + 1;
		}
	}
	return 0;
}

/* Fills every group from the keys of its suffix. */
static int parse_groups(struct http_req *r, const struct qlist *l, struct cand_request *q)
{
	char msg[512];
	bool allow_forbidden = plc_ge(r, 1, 22), allow_any = plc_ge(r, 1, 39);
	for (int i = 0; i < l->n; i++) {
		const char *suffix;
		int p = group_key(r, l->items[i].name, &suffix);
		if (p < 0)
			continue;
		struct cand_group *g = group_for(q, suffix);
		if (!g)
			return bad(r, NULL, "Too many request groups.");
		const char *val = l->items[i].value;
		if (p == 0) {
			if (plc_parse_resources(val, g->res, CAND_MAX_RES, &g->nres, msg, sizeof msg))
				return bad(r, NULL, msg);
		} else if (p == 3) {
			char *d = arena_alloc(r->arena, 37);
			const char *s = val;
			size_t sl = strlen(s);
			while (sl && (*s == ' ' || *s == '\t'))
				s++, sl--;
			while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t'))
				sl--;
			if (!plc_uuid_like(arena_strndup(r->arena, s, sl), d))
				return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: Expected "
						 "'in_tree' parameter to be a format of uuid. Got: %s", val);
			g->in_tree = d;
		}
	}
	/* required and member_of look at every value of their key at once */
	for (int k = 0; k < q->ngroups; k++) {
		struct cand_group *g = &q->groups[k];
		const char *rkey = arena_printf(r->arena, "required%s", g->suffix);
		const char *mkey = arena_printf(r->arena, "member_of%s", g->suffix);
		int nreq = count(l, rkey), seen = 0;
		for (int i = 0; i < l->n; i++) {
			if (strcmp(l->items[i].name, rkey))
				continue;
			seen++;
			if (!allow_any && seen < nreq)      /* before 1.39 only the last one counts */
				continue;
			if (plc_parse_required(r->arena, l->items[i].value, allow_forbidden, allow_any,
					       &g->traits, msg, sizeof msg))
				return bad(r, NULL, msg);
		}
		int nmem = count(l, mkey);
		if (nmem > 1 && !plc_ge(r, 1, 24))
			return plc_error(r, ERR_BADREQ, NULL, "Multiple member_of%s parameters are not "
					 "supported", g->suffix);
		for (int i = 0; i < l->n; i++)
			if (!strcmp(l->items[i].name, mkey) &&
			    plc_parse_member_of(r->arena, l->items[i].value, &g->aggs, msg, sizeof msg))
				return bad(r, NULL, msg);
		if (g->aggs.nforbidden && !plc_ge(r, 1, 32))
			return plc_error(r, ERR_BADREQ, NULL, "Forbidden member_of%s parameters are not "
					 "supported in the specified microversion", g->suffix);
	}
	return 0;
}

static bool in_subtrees(const struct cand_request *q, const char *suffix)
{
	for (int s = 0; s < q->nsame_subtree; s++)
		for (int j = 0; j < q->same_subtree_len[s]; j++)
			if (!strcmp(q->same_subtree[s][j], suffix))
				return true;
	return false;
}

static int check_groups(struct http_req *r, struct cand_request *q)
{
	if (plc_ge(r, 1, 36)) {
		int resourceless = 0;
		char badlist[512] = "";
		for (int k = 0; k < q->ngroups; k++) {
			if (q->groups[k].nres)
				continue;
			resourceless++;
			if (!in_subtrees(q, q->groups[k].suffix)) {
				size_t bl = strlen(badlist);
				snprintf(badlist + bl, sizeof badlist - bl, "%s'%s'", bl ? ", " : "", q->groups[k].suffix);
			}
		}
		if (resourceless == q->ngroups)
			return bad(r, PLC_CODE_QUERY_MISSING, "There must be at least one resources or "
				   "resources[$S] parameter.");
		if (*badlist)
			return plc_error(r, ERR_BADREQ, PLC_CODE_QUERY_BAD, "Resourceless suffixed group "
					 "request should be specified in `same_subtree` query param: bad group(s) "
					 "- [%s].", badlist);
		for (int s = 0; s < q->nsame_subtree; s++)
			for (int j = 0; j < q->same_subtree_len[s]; j++) {
				bool found = false;
				for (int k = 0; k < q->ngroups; k++)
					found |= !strcmp(q->groups[k].suffix, q->same_subtree[s][j]);
				if (!found)
					return plc_error(r, ERR_BADREQ, PLC_CODE_QUERY_BAD, "Real suffixes should be "
							 "specified in `same_subtree`: ['%s'] not found.",
							 q->same_subtree[s][j]);
			}
	} else {
		char orphans[512] = "";
		for (int k = 0; k < q->ngroups; k++)
			if (q->groups[k].traits.nsets && !q->groups[k].nres) {
				size_t ol = strlen(orphans);
				snprintf(orphans + ol, sizeof orphans - ol, "%srequired%s", ol ? ", " : "",
					 q->groups[k].suffix);
			}
		if (*orphans)
			return plc_error(r, ERR_BADREQ, NULL, "All traits parameters must be associated with "
					 "resources.  Found the following orphaned traits keys: %s", orphans);
		for (int k = 0; k < q->ngroups; k++)
			if ((q->groups[k].aggs.nsets || q->groups[k].aggs.nforbidden) && !q->groups[k].nres) {
				size_t ol = strlen(orphans);
				snprintf(orphans + ol, sizeof orphans - ol, "%smember_of%s", ol ? ", " : "",
					 q->groups[k].suffix);
			}
		if (*orphans)
			return plc_error(r, ERR_BADREQ, NULL, "All member_of parameters must be associated with "
					 "resources. Found the following orphaned member_of keys: %s", orphans);
		for (int k = 0; k < q->ngroups; k++)
			if (!q->groups[k].nres)
				return bad(r, NULL, "All request groups must specify resources.");
		if (!q->ngroups)
			return bad(r, NULL, "At least one request group (`resources` or `resources{$S}`) is "
				   "required.");
	}
	if (plc_ge(r, 1, 22)) {
		char conflicts[512] = "";
		for (int k = 0; k < q->ngroups; k++) {
			const struct plc_traitq *t = &q->groups[k].traits;
			for (int s = 0; s < t->nsets; s++) {
				bool all = true;
				for (int j = 0; j < t->set_len[s] && all; j++)
					all = in_names(t->forbidden, t->nforbidden, t->req[t->set_start[s] + j]);
				if (!all)
					continue;
				size_t cl = strlen(conflicts);
				snprintf(conflicts + cl, sizeof conflicts - cl, "%srequired%s: (", cl ? ", " : "",
					 q->groups[k].suffix);
				for (int j = 0; j < t->set_len[s]; j++) {
					cl = strlen(conflicts);
					snprintf(conflicts + cl, sizeof conflicts - cl, "%s%s", j ? ", " : "",
						 t->req[t->set_start[s] + j]);
				}
				cl = strlen(conflicts);
				snprintf(conflicts + cl, sizeof conflicts - cl, ")");
			}
		}
		if (*conflicts)
			return plc_error(r, ERR_BADREQ, NULL, "Conflicting required and forbidden traits found "
					 "in the following traits keys: %s", conflicts);
	}
	int granular = 0;
	for (int k = 0; k < q->ngroups; k++)
		granular += q->groups[k].same_provider;
	if (!q->group_policy && granular > 1)
		return bad(r, NULL, "The \"group_policy\" parameter is required when specifying more than "
			   "one \"resources{N}\" parameter.");
	return 0;
}

int cand_parse(struct http_req *r, struct cand_request *q)
{
	struct qlist *l = arena_alloc(r->arena, sizeof *l);
	http_query_each(r, collect, l);
	if (l->overflow)
		return bad(r, NULL, "Invalid query string parameters: too many parameters");
	/* which keys this version knows (the JSON schema of the query) */
	for (int i = 0; i < l->n; i++) {
		const char *k = l->items[i].name, *suffix;
		bool ok = group_key(r, k, &suffix) >= 0 ||
			  (!strcmp(k, "limit") && plc_ge(r, 1, 16)) ||
			  (!strcmp(k, "group_policy") && plc_ge(r, 1, 25)) ||
			  (!strcmp(k, "root_required") && plc_ge(r, 1, 35)) ||
			  (!strcmp(k, "same_subtree") && plc_ge(r, 1, 36));
		if (!ok)
			return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: Additional "
					 "properties are not allowed ('%s' was unexpected)", k);
	}
	if (!plc_ge(r, 1, 25) && !last(l, "resources"))
		return bad(r, NULL, "Invalid query string parameters: 'resources' is a required property");
	const char *lim = last(l, "limit");
	if (lim) {
		bool ok = *lim >= '1' && *lim <= '9';
		for (const char *c = lim; *c && ok; c++)
			ok = *c >= '0' && *c <= '9';
		if (!ok)
			return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: '%s' does not "
					 "match '^[1-9][0-9]*$'", lim);
		for (int i = 0; i < l->n; i++)          /* the first value is the one used */
			if (!strcmp(l->items[i].name, "limit")) {
				if (parse_int64(l->items[i].value, 1, INT64_MAX, &q->limit))
					q->limit = INT64_MAX;
				break;
			}
	}
	const char *gp = last(l, "group_policy");
	if (gp && strcmp(gp, "none") && strcmp(gp, "isolate"))
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: '%s' is not one of "
				 "['none', 'isolate']", gp);
	for (int i = 0; i < l->n && gp; i++)
		if (!strcmp(l->items[i].name, "group_policy")) {
			q->group_policy = l->items[i].value;
			break;
		}
	int rc;
	if ((rc = parse_root_required(r, l, q)) < 0 || (rc = parse_same_subtree(r, l, q)) < 0 ||
	    (rc = parse_groups(r, l, q)) < 0 || (rc = check_groups(r, q)) < 0)
		return rc;
	return 0;
}
