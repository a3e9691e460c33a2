/* assign_calc.c — reading the assignment table: the filtered row query every listing uses,
 * group membership, project hierarchy and implied-role helpers, and the effective roles a
 * token carries (a handful of queries per call, never one per role). */
#include "identity/assignments.h"
#include <string.h>

#define IN_CHUNK 400          /* ids bound per IN (...) list, well under any engine's limit */
#define MAX_DEPTH 128         /* project hierarchy depth guard */
#define MAX_SUBTREE 200000    /* descendants guard */

/* --- small lists --- */

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static void index_put(struct id_list *l, size_t idx)
{
	size_t m = l->nslots - 1, h = str_hash(l->v[idx]) & m;
	while (l->slots[h])
		h = (h + 1) & m;
	l->slots[h] = idx + 1;
}

static void index_build(struct arena *a, struct id_list *l)
{
	size_t n = 64;
	while (n < l->n * 4)
		n *= 2;
	l->slots = arena_alloc(a, n * sizeof *l->slots);
	l->nslots = n;
	for (size_t i = 0; i < l->n; i++)
		index_put(l, i);
}

void ids_push(struct arena *a, struct id_list *l, const char *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		const char **v = arena_alloc(a, cap * sizeof *v);
		if (l->n)
			memcpy(v, l->v, l->n * sizeof *v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	if (l->slots && l->n * 2 > l->nslots)
		index_build(a, l);
	else if (l->slots)
		index_put(l, l->n - 1);
	else if (l->n > 16)
		index_build(a, l);
}

long ids_index(const struct id_list *l, const char *id)
{
	if (!l->slots) {
		for (size_t i = 0; i < l->n; i++)
			if (!strcmp(l->v[i], id))
				return (long)i;
		return -1;
	}
	size_t m = l->nslots - 1, h = str_hash(id) & m;
	for (; l->slots[h]; h = (h + 1) & m)
		if (!strcmp(l->v[l->slots[h] - 1], id))
			return (long)(l->slots[h] - 1);
	return -1;
}

bool ids_has(const struct id_list *l, const char *id)
{
	return ids_index(l, id) >= 0;
}

bool ids_add(struct arena *a, struct id_list *l, const char *id)
{
	if (ids_has(l, id))
		return false;
	ids_push(a, l, id);
	return true;
}

void asg_push(struct arena *a, struct asg_list *l, const struct asg *x)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct asg *v = arena_alloc(a, cap * sizeof *v);
		if (l->n)
			memcpy(v, l->v, l->n * sizeof *v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *x;
}

int asg_query_in(struct db_conn *c, struct arena *a, const char *sql_head, const struct id_list *ids,
		 const char *sql_tail, asg_row_fn fn, void *ctx)
{
	for (size_t off = 0; off < ids->n; off += IN_CHUNK) {
		size_t n = ids->n - off < IN_CHUNK ? ids->n - off : IN_CHUNK;
		struct ident_sql b;
		ident_sql_init(&b, a, sql_head);
		ident_sql_text(&b, " IN ");
		ident_sql_in(&b, ids->v + off, n);
		if (sql_tail)
			ident_sql_text(&b, sql_tail);
		struct db_rows *rows = NULL;
		int rc = ident_sql_query(c, &b, &rows);
		if (rc < 0)
			return rc;
		for (int i = 0; i < db_rows_count(rows); i++) {
			if ((rc = fn(ctx, rows, i)) < 0) {
				db_rows_free(rows);
				return rc;
			}
		}
		db_rows_free(rows);
	}
	return 0;
}

/* --- the assignment query --- */

static const char *const type_names[2][3] = {
	{ "UserProject", "UserDomain", "UserSystem" },
	{ "GroupProject", "GroupDomain", "GroupSystem" },
};

static void parse_row(struct arena *a, struct db_rows *rows, int i, struct asg *x)
{
	const char *type = db_text(rows, i, 0);
	const char *actor = arena_strdup(a, db_text(rows, i, 1));
	const char *target = arena_strdup(a, db_text(rows, i, 2));
	memset(x, 0, sizeof *x);
	if (!strncmp(type, "User", 4))
		x->user_id = actor;
	else
		x->group_id = actor;
	if (strstr(type, "Project"))
		x->project_id = target;
	else if (strstr(type, "Domain"))
		x->domain_id = target;
	else
		x->system = true;
	x->role_id = arena_strdup(a, db_text(rows, i, 3));
	x->inherited = db_int(rows, i, 4) != 0;
}

static int fetch_chunk(struct db_conn *c, struct arena *a, const struct asg_filter *f,
		       const char *const *actors, size_t nactors,
		       const char *const *targets, size_t ntargets, struct asg_list *out)
{
	struct ident_sql b;
	ident_sql_init(&b, a, "SELECT type, actor_id, target_id, role_id, inherited FROM assignment WHERE type IN ");
	const char *types[6];
	size_t nt = 0;
	for (int act = 0; act < 2; act++) {
		if ((f->actor_kind == ASG_USERS && act != 0) || (f->actor_kind == ASG_GROUPS && act != 1))
			continue;
		for (int tg = 0; tg < 3; tg++) {
			bool want = (f->target_kind == ASG_PROJECT_OR_DOMAIN && tg < 2) ||
				    (f->target_kind == ASG_PROJECTS && tg == 0) ||
				    (f->target_kind == ASG_DOMAINS && tg == 1) ||
				    (f->target_kind == ASG_SYSTEM && tg == 2);
			if (want)
				types[nt++] = type_names[act][tg];
		}
	}
	ident_sql_in(&b, types, nt);
	if (f->role_id) {
		ident_sql_text(&b, " AND role_id = ?");
		ident_sql_arg(&b, DB_TEXT(f->role_id));
	}
	if (actors) {
		ident_sql_text(&b, " AND actor_id IN ");
		ident_sql_in(&b, actors, nactors);
	}
	if (targets) {
		ident_sql_text(&b, " AND target_id IN ");
		ident_sql_in(&b, targets, ntargets);
	}
	if (f->inherited >= 0) {
		ident_sql_text(&b, " AND inherited = ?");
		ident_sql_arg(&b, DB_INT(f->inherited));
	}
	struct db_rows *rows = NULL;
	int rc = ident_sql_query(c, &b, &rows);
	if (rc < 0)
		return rc;
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct asg x;
		parse_row(a, rows, i, &x);
		asg_push(a, out, &x);
	}
	db_rows_free(rows);
	return 0;
}

int asg_fetch(struct db_conn *c, struct arena *a, const struct asg_filter *f, struct asg_list *out)
{
	if ((f->actors && !f->actors->n) || (f->targets && !f->targets->n))
		return 0;
	size_t na = f->actors ? f->actors->n : 1, nt = f->targets ? f->targets->n : 1;
	for (size_t ao = 0; ao < na; ao += IN_CHUNK) {
		size_t an = na - ao < IN_CHUNK ? na - ao : IN_CHUNK;
		for (size_t to = 0; to < nt; to += IN_CHUNK) {
			size_t tn = nt - to < IN_CHUNK ? nt - to : IN_CHUNK;
			int rc = fetch_chunk(c, a, f, f->actors ? f->actors->v + ao : NULL, an,
					     f->targets ? f->targets->v + to : NULL, tn, out);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* --- membership and hierarchy --- */

struct collect {
	struct arena *a;
	struct id_list *out;
};

static int collect_col0(void *ctx, struct db_rows *rows, int i)
{
	struct collect *cl = ctx;
	const char *v = db_text(rows, i, 0);
	if (v && !ids_has(cl->out, v))
		ids_push(cl->a, cl->out, arena_strdup(cl->a, v));
	return 0;
}

static int query_ids(struct db_conn *c, struct arena *a, const char *sql, const char *arg, struct id_list *out)
{
	struct db_rows *rows = NULL;
	int rc = db_query(c, &rows, sql, DB_TEXT(arg));
	if (rc < 0)
		return rc;
	struct collect cl = { a, out };
	for (int i = 0; i < db_rows_count(rows); i++)
		collect_col0(&cl, rows, i);
	db_rows_free(rows);
	return 0;
}

int asg_user_groups(struct db_conn *c, struct arena *a, const char *user_id, struct id_list *out)
{
	return query_ids(c, a, "SELECT group_id FROM user_group WHERE user_id = ?", user_id, out);
}

int asg_group_users(struct db_conn *c, struct arena *a, const char *group_id, struct id_list *out)
{
	return query_ids(c, a, "SELECT user_id FROM user_group WHERE group_id = ?", group_id, out);
}

int asg_domain_projects(struct db_conn *c, struct arena *a, const char *domain_id, struct id_list *out)
{
	return query_ids(c, a, "SELECT id FROM project WHERE domain_id = ?", domain_id, out);
}

int asg_project_parents(struct db_conn *c, struct arena *a, const char *project_id,
			struct id_list *out, const char **domain_id)
{
	const char *cur = project_id;
	*domain_id = NULL;
	for (int depth = 0; cur && depth < MAX_DEPTH; depth++) {
		struct db_rows *rows = NULL;
		int rc = db_query(c, &rows, "SELECT parent_id, domain_id FROM project WHERE id = ?", DB_TEXT(cur));
		if (rc < 0)
			return rc;
		if (db_rows_count(rows) == 0) {
			db_rows_free(rows);
			return 0;
		}
		const char *parent = db_text(rows, 0, 0);
		if (depth == 0)
			*domain_id = arena_strdup(a, db_text(rows, 0, 1));
		cur = NULL;
		if (parent && *parent && strcmp(parent, project_id) && !ids_has(out, parent)) {
			cur = arena_strdup(a, parent);
			ids_push(a, out, cur);
		}
		db_rows_free(rows);
	}
	return 0;
}

int asg_project_subtree(struct db_conn *c, struct arena *a, const char *project_id, struct id_list *out)
{
	struct id_list level = { 0 };
	ids_push(a, &level, project_id);
	size_t start = out->n;
	for (int depth = 0; level.n && depth < MAX_DEPTH && out->n - start < MAX_SUBTREE; depth++) {
		size_t before = out->n;
		struct collect cl = { a, out };
		int rc = asg_query_in(c, a, "SELECT id FROM project WHERE parent_id", &level, NULL,
				      collect_col0, &cl);
		if (rc < 0)
			return rc;
		level = (struct id_list){ 0 };
		for (size_t i = before; i < out->n; i++)
			if (strcmp(out->v[i], project_id))
				ids_push(a, &level, out->v[i]);
	}
	return 0;
}

/* --- roles and implications --- */

int asg_implied_load(struct db_conn *c, struct arena *a, struct asg_implied *out)
{
	struct db_rows *rows = NULL;
	int rc = db_query(c, &rows, "SELECT prior_role_id, implied_role_id FROM implied_role");
	if (rc < 0)
		return rc;
	size_t n = (size_t)db_rows_count(rows);
	out->prior = arena_alloc(a, (n + 1) * sizeof *out->prior);
	out->implied = arena_alloc(a, (n + 1) * sizeof *out->implied);
	for (size_t i = 0; i < n; i++) {
		out->prior[i] = arena_strdup(a, db_text(rows, (int)i, 0));
		out->implied[i] = arena_strdup(a, db_text(rows, (int)i, 1));
	}
	out->n = n;
	db_rows_free(rows);
	return 0;
}

void asg_implied_expand(struct arena *a, const struct asg_implied *im, struct id_list *ids)
{
	/* ids grows while we walk it: every added role is itself expanded in turn. */
	for (size_t i = 0; i < ids->n; i++)
		for (size_t k = 0; k < im->n; k++)
			if (!strcmp(im->prior[k], ids->v[i]))
				ids_add(a, ids, im->implied[k]);
}

struct roles_ctx {
	struct arena *a;
	struct asg_roles *out;
	size_t cap;
};

static int role_row(void *ctx, struct db_rows *rows, int i)
{
	struct roles_ctx *rc = ctx;
	struct asg_roles *o = rc->out;
	if (o->n == rc->cap) {
		size_t cap = rc->cap ? rc->cap * 2 : 16;
		const char **id = arena_alloc(rc->a, cap * sizeof *id);
		const char **name = arena_alloc(rc->a, cap * sizeof *name);
		const char **dom = arena_alloc(rc->a, cap * sizeof *dom);
		if (o->n) {
			memcpy(id, o->id, o->n * sizeof *id);
			memcpy(name, o->name, o->n * sizeof *name);
			memcpy(dom, o->domain_id, o->n * sizeof *dom);
		}
		o->id = id, o->name = name, o->domain_id = dom;
		rc->cap = cap;
	}
	const char *d = db_text(rows, i, 2);
	o->id[o->n] = arena_strdup(rc->a, db_text(rows, i, 0));
	o->name[o->n] = arena_strdup(rc->a, db_text(rows, i, 1));
	o->domain_id[o->n] = (d && *d) ? arena_strdup(rc->a, d) : NULL;
	o->n++;
	return 0;
}

int asg_roles_load(struct db_conn *c, struct arena *a, const struct id_list *ids, struct asg_roles *out)
{
	memset(out, 0, sizeof *out);
	struct roles_ctx ctx = { a, out, 0 };
	return asg_query_in(c, a, "SELECT id, name, domain_id FROM role WHERE id", ids, NULL, role_row, &ctx);
}

long asg_roles_find(const struct asg_roles *rs, const char *id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->id[i], id))
			return (long)i;
	return -1;
}

/* --- effective roles for tokens --- */

/* The role ids granted to user (directly or through groups) on the target, before implied
 * roles are expanded. */
static int granted_roles(struct db_conn *c, struct arena *a, const char *user_id, const char *target_type,
			 const char *target_id, struct id_list *roles)
{
	struct id_list actors = { 0 };
	ids_push(a, &actors, user_id);
	int rc = asg_user_groups(c, a, user_id, &actors);
	if (rc < 0)
		return rc;
	struct asg_list rows = { 0 };
	struct id_list target = { 0 };
	if (!strcmp(target_type, "system")) {
		ids_push(a, &target, ASG_SYSTEM_TARGET);
		struct asg_filter f = { NULL, ASG_ANY_ACTOR, &actors, ASG_SYSTEM, &target, -1 };
		rc = asg_fetch(c, a, &f, &rows);
	} else if (!strcmp(target_type, "domain")) {
		ids_push(a, &target, target_id);
		struct asg_filter f = { NULL, ASG_ANY_ACTOR, &actors, ASG_DOMAINS, &target, 0 };
		rc = asg_fetch(c, a, &f, &rows);
	} else {
		ids_push(a, &target, target_id);
		struct asg_filter f = { NULL, ASG_ANY_ACTOR, &actors, ASG_PROJECTS, &target, 0 };
		if ((rc = asg_fetch(c, a, &f, &rows)) < 0)
			return rc;
		/* inherited grants on the project's domain and on its ancestors */
		struct id_list parents = { 0 }, dom = { 0 };
		const char *domain_id = NULL;
		if ((rc = asg_project_parents(c, a, target_id, &parents, &domain_id)) < 0)
			return rc;
		if (domain_id) {
			ids_push(a, &dom, domain_id);
			struct asg_filter fd = { NULL, ASG_ANY_ACTOR, &actors, ASG_DOMAINS, &dom, 1 };
			if ((rc = asg_fetch(c, a, &fd, &rows)) < 0)
				return rc;
		}
		if (parents.n) {
			struct asg_filter fp = { NULL, ASG_ANY_ACTOR, &actors, ASG_PROJECTS, &parents, 1 };
			rc = asg_fetch(c, a, &fp, &rows);
		}
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < rows.n; i++)
		ids_add(a, roles, rows.v[i].role_id);
	return 0;
}

json_t *ident_effective_roles(struct db_conn *c, const char *user_id, const char *target_type,
			      const char *target_id)
{
	struct arena *a = arena_new();
	json_t *out = NULL;
	struct id_list roles = { 0 };
	struct asg_implied im;
	struct asg_roles rs;
	if (granted_roles(c, a, user_id, target_type, target_id, &roles) < 0)
		goto done;
	if (roles.n) {
		if (asg_implied_load(c, a, &im) < 0)
			goto done;
		asg_implied_expand(a, &im, &roles);
		if (asg_roles_load(c, a, &roles, &rs) < 0)
			goto done;
	} else {
		memset(&rs, 0, sizeof rs);
	}
	out = json_array();
	/* In the order granted then implied; domain-specific roles only serve to imply others
	 * and are never placed in a token (Keystone strips them). */
	for (size_t i = 0; i < roles.n; i++) {
		long k = asg_roles_find(&rs, roles.v[i]);
		if (k < 0 || rs.domain_id[k])
			continue;
		json_array_append_new(out, json_pack("{s:s,s:s,s:n}", "id", rs.id[k], "name", rs.name[k],
						     "domain_id"));
	}
done:
	arena_free(a);
	return out;
}

int ident_expand_implied(struct db_conn *c, json_t *role_ids)
{
	struct arena *a = arena_new();
	struct id_list ids = { 0 };
	struct asg_implied im;
	size_t i;
	json_t *v;
	json_array_foreach(role_ids, i, v)
		if (json_is_string(v))
			ids_add(a, &ids, json_string_value(v));
	int rc = asg_implied_load(c, a, &im);
	if (rc == 0) {
		size_t before = ids.n;
		asg_implied_expand(a, &im, &ids);
		for (size_t k = before; k < ids.n; k++)
			json_array_append_new(role_ids, json_string(ids.v[k]));
	}
	arena_free(a);
	return rc;
}

/* True when role (or something it implies) is a global role: it then puts a role in a token. */
static bool role_effective(struct arena *a, const struct asg_implied *im, const struct asg_roles *rs,
			   const char *role_id)
{
	struct id_list ids = { 0 };
	ids_push(a, &ids, role_id);
	asg_implied_expand(a, im, &ids);
	for (size_t i = 0; i < ids.n; i++) {
		long k = asg_roles_find(rs, ids.v[i]);
		if (k >= 0 && !rs->domain_id[k])
			return true;
	}
	return false;
}

json_t *ident_user_targets(struct db_conn *c, const char *user_id, const char *target_type)
{
	struct arena *a = arena_new();
	json_t *out = NULL;
	bool projects = !strcmp(target_type, "project");
	struct id_list actors = { 0 }, roles = { 0 }, targets = { 0 };
	struct asg_list rows = { 0 };
	struct asg_implied im;
	struct asg_roles rs;
	ids_push(a, &actors, user_id);
	if (asg_user_groups(c, a, user_id, &actors) < 0)
		goto done;
	struct asg_filter f = { NULL, ASG_ANY_ACTOR, &actors, ASG_PROJECT_OR_DOMAIN, NULL, -1 };
	if (asg_fetch(c, a, &f, &rows) < 0)
		goto done;
	for (size_t i = 0; i < rows.n; i++)
		ids_add(a, &roles, rows.v[i].role_id);
	if (asg_implied_load(c, a, &im) < 0)
		goto done;
	{
		struct id_list all = { 0 };
		for (size_t i = 0; i < roles.n; i++)
			ids_add(a, &all, roles.v[i]);
		asg_implied_expand(a, &im, &all);
		if (asg_roles_load(c, a, &all, &rs) < 0)
			goto done;
	}
	struct id_list good = { 0 };
	for (size_t i = 0; i < roles.n; i++)
		if (role_effective(a, &im, &rs, roles.v[i]))
			ids_push(a, &good, roles.v[i]);
	for (size_t i = 0; i < rows.n; i++) {
		const struct asg *x = &rows.v[i];
		if (!ids_has(&good, x->role_id))
			continue;
		if (!projects) {
			if (x->domain_id && !x->inherited)
				ids_add(a, &targets, x->domain_id);
			continue;
		}
		if (x->project_id && !x->inherited) {
			ids_add(a, &targets, x->project_id);
		} else if (x->inherited) {
			struct id_list sub = { 0 };
			int rc = x->domain_id ? asg_domain_projects(c, a, x->domain_id, &sub)
					      : asg_project_subtree(c, a, x->project_id, &sub);
			if (rc < 0)
				goto done;
			for (size_t k = 0; k < sub.n; k++)
				ids_add(a, &targets, sub.v[k]);
		}
	}
	out = json_array();
	for (size_t i = 0; i < targets.n; i++)
		json_array_append_new(out, json_string(targets.v[i]));
done:
	arena_free(a);
	return out;
}

int ident_assignments_purge(struct db_conn *c, const char *actor_or_target_id)
{
	/* Everything that names a user, group, project or domain without a foreign key: grants,
	 * application credentials, credentials and trusts (their tokens fail validation once the
	 * rows are gone). */
	static const char *const sql[] = {
		"DELETE FROM assignment WHERE actor_id = ? OR target_id = ?",
		"DELETE FROM application_credential WHERE user_id = ? OR project_id = ?",
		"DELETE FROM credential WHERE user_id = ? OR project_id = ?",
		"DELETE FROM trust WHERE trustor_user_id = ? OR trustee_user_id = ? OR project_id = ?",
	};
	const char *id = actor_or_target_id;
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		int rc = i == 3 ? db_exec(c, sql[i], DB_TEXT(id), DB_TEXT(id), DB_TEXT(id))
				: db_exec(c, sql[i], DB_TEXT(id), DB_TEXT(id));
		if (rc < 0)
			return rc;
	}
	return 0;
}
