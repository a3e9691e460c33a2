/* role_assignments.c — GET /v3/role_assignments: direct assignments filtered by actor, role
 * and scope, or the effective ones (groups expanded to their members, inherited grants applied
 * to the projects below them, implied roles added), rendered with Keystone's links and names. */
#include "identity/assignments.h"
#include <string.h>

#define IMPLIED_GUARD 100000   /* bound on implied-role expansion steps */

struct ra_query {
	const char *role_id, *user_id, *group_id, *project_id, *domain_id;
	bool system;             /* scope.system=all */
	int inherited;           /* -1 not given, 1 "projects", 0 anything else */
	bool effective, include_names, include_subtree;
	struct id_list subtree;  /* descendants of project_id when include_subtree */
	bool has_subtree;
};

/* A non-empty query value (Keystone tests these with a truthiness check), or NULL. */
static const char *qval(struct http_req *r, const char *name)
{
	const char *v = http_query(r, name);
	return v && *v ? v : NULL;
}

/* Points f at the rows of q's scope filter: the project (with its subtree when asked), the
 * domain, or any project or domain. ids holds the target ids (zero-initialised by the caller). */
static void scope_targets(struct arena *a, const struct ra_query *q, struct asg_filter *f, struct id_list *ids)
{
	if (q->project_id) {
		for (size_t i = 0; q->has_subtree && i < q->subtree.n; i++)
			ids_push(a, ids, q->subtree.v[i]);
		ids_push(a, ids, q->project_id);
		f->target_kind = ASG_PROJECTS;
		f->targets = ids;
	} else if (q->domain_id) {
		ids_push(a, ids, q->domain_id);
		f->target_kind = ASG_DOMAINS;
		f->targets = ids;
	} else {
		f->target_kind = ASG_PROJECT_OR_DOMAIN;
		f->targets = NULL;
	}
}

/* --- group members, cached per request --- */

struct members_cache {
	struct id_list groups;
	struct id_list *members;  /* parallel to groups */
	size_t cap;
};

static int group_members(struct db_conn *c, struct arena *a, struct members_cache *mc, const char *group_id,
			 const struct id_list **out)
{
	long k = ids_index(&mc->groups, group_id);
	if (k < 0) {
		if (mc->groups.n == mc->cap) {
			size_t cap = mc->cap ? mc->cap * 2 : 8;
			struct id_list *m = arena_alloc(a, cap * sizeof *m);
			if (mc->groups.n)
				memcpy(m, mc->members, mc->groups.n * sizeof *m);
			mc->members = m;
			mc->cap = cap;
		}
		k = (long)mc->groups.n;
		mc->members[k] = (struct id_list){ 0 };
		int rc = asg_group_users(c, a, group_id, &mc->members[k]);
		if (rc < 0)
			return rc;
		ids_push(a, &mc->groups, group_id);
	}
	*out = &mc->members[k];
	return 0;
}

/* --- effective mode --- */

/* Keystone's list_role_assignments_for_actor: the rows that may affect the result, direct and
 * inherited, for an actor (any, a user, or a set of groups) and the target filters. */
static int for_actor(struct http_req *r, const struct ra_query *q, int inherited, enum asg_actor kind,
		     const struct id_list *actors, struct asg_list *out)
{
	struct db_conn *c = ident_db(r);
	struct arena *a = r->arena;
	struct id_list poi = { 0 };         /* the scope's targets */
	struct asg_filter f = { NULL, kind, actors, ASG_PROJECT_OR_DOMAIN, NULL, 0 };
	int rc;
	scope_targets(a, q, &f, &poi);
	if (inherited != 1 && (rc = asg_fetch(c, a, &f, out)) < 0)
		return rc;
	if (inherited == 0)
		return 0;
	if (!q->project_id) {
		struct asg_filter fi = { NULL, kind, actors, ASG_PROJECT_OR_DOMAIN, NULL, 1 };
		return asg_fetch(c, a, &fi, out);
	}
	struct id_list parents = { 0 }, pdom = { 0 };
	const char *project_domain = NULL;
	if ((rc = asg_project_parents(c, a, q->project_id, &parents, &project_domain)) < 0)
		return rc;
	if (!project_domain)
		return ident_not_found(r, "project", q->project_id);
	ids_push(a, &pdom, project_domain);
	struct asg_filter fd = { NULL, kind, actors, ASG_DOMAINS, &pdom, 1 };
	if ((rc = asg_fetch(c, a, &fd, out)) < 0)
		return rc;
	if (q->has_subtree && q->subtree.n)   /* Keystone: "if subtree_ids" */
		for (size_t i = 0; i < poi.n; i++)
			ids_add(a, &parents, poi.v[i]);
	if (!parents.n)
		return 0;
	struct asg_filter fp = { NULL, kind, actors, ASG_PROJECTS, &parents, 1 };
	return asg_fetch(c, a, &fp, out);
}

/* Keystone's _expand_indirect_assignment for one row. */
static int expand_one(struct http_req *r, const struct ra_query *q, struct members_cache *mc,
		      const struct asg *ref, struct asg_list *out)
{
	struct db_conn *c = ident_db(r);
	struct arena *a = r->arena;
	int rc;
	const struct id_list *users = NULL;
	struct id_list one = { 0 };
	if (ref->group_id) {
		if (q->user_id) {
			ids_push(a, &one, q->user_id);
			users = &one;
		} else if ((rc = group_members(c, a, mc, ref->group_id, &users)) < 0) {
			return rc;
		}
	}
	if (!ref->inherited) {
		if (!ref->group_id) {
			asg_push(a, out, ref);
			return 0;
		}
		for (size_t i = 0; i < users->n; i++) {
			struct asg x = *ref;
			x.user_id = users->v[i];
			x.group_id = NULL;
			x.ind_group_id = ref->group_id;
			asg_push(a, out, &x);
		}
		return 0;
	}
	/* the projects an inherited grant applies to */
	struct id_list projects = { 0 };
	if (q->project_id) {
		ids_push(a, &projects, q->project_id);
		if (q->has_subtree && q->subtree.n) {
			for (size_t i = 0; i < q->subtree.n; i++)
				ids_push(a, &projects, q->subtree.v[i]);
			if (ref->project_id && ids_has(&projects, ref->project_id)) {
				projects = (struct id_list){ 0 };
				if ((rc = asg_project_subtree(c, a, ref->project_id, &projects)) < 0)
					return rc;
			}
		}
	} else if (ref->domain_id) {
		if ((rc = asg_domain_projects(c, a, ref->domain_id, &projects)) < 0)
			return rc;
	} else if ((rc = asg_project_subtree(c, a, ref->project_id, &projects)) < 0) {
		return rc;
	}
	size_t nusers = ref->group_id ? users->n : 1;
	for (size_t u = 0; u < nusers; u++) {
		for (size_t p = 0; p < projects.n; p++) {
			struct asg x = *ref;
			if (ref->group_id) {
				x.user_id = users->v[u];
				x.group_id = NULL;
				x.ind_group_id = ref->group_id;
			}
			if (ref->project_id)
				x.ind_project_id = ref->project_id;
			else
				x.ind_domain_id = ref->domain_id;
			x.domain_id = NULL;
			x.project_id = projects.v[p];
			x.inherited = false;
			asg_push(a, out, &x);
		}
	}
	return 0;
}

static bool str_eq(const char *x, const char *y)
{
	return x == y || (x && y && !strcmp(x, y));
}

static bool asg_eq(const struct asg *x, const struct asg *y)
{
	return str_eq(x->user_id, y->user_id) && str_eq(x->group_id, y->group_id) &&
	       str_eq(x->project_id, y->project_id) && str_eq(x->domain_id, y->domain_id) &&
	       x->system == y->system && str_eq(x->role_id, y->role_id) && x->inherited == y->inherited &&
	       str_eq(x->ind_group_id, y->ind_group_id) && str_eq(x->ind_project_id, y->ind_project_id) &&
	       str_eq(x->ind_domain_id, y->ind_domain_id) && str_eq(x->ind_role_id, y->ind_role_id);
}

/* Keystone's add_implied_roles: one extra assignment per implied role, recording the prior. */
static void add_implied(struct arena *a, const struct asg_implied *im, struct asg_list *refs)
{
	struct asg_list stack = { 0 }, checked = { 0 };
	for (size_t i = 0; i < refs->n; i++)
		asg_push(a, &stack, &refs->v[i]);
	for (unsigned long steps = 0; stack.n && steps < IMPLIED_GUARD; steps++) {
		struct asg next = stack.v[--stack.n];
		asg_push(a, &checked, &next);
		for (size_t k = 0; k < im->n; k++) {
			if (strcmp(im->prior[k], next.role_id))
				continue;
			struct asg x = next;
			x.role_id = im->implied[k];
			x.ind_role_id = next.role_id;
			bool seen = false;
			for (size_t j = 0; j < checked.n && !seen; j++)
				seen = asg_eq(&checked.v[j], &x);
			if (seen)
				continue;
			asg_push(a, refs, &x);
			asg_push(a, &stack, &x);
		}
	}
}

static int list_effective(struct http_req *r, const struct ra_query *q, struct asg_list *out)
{
	struct db_conn *c = ident_db(r);
	struct arena *a = r->arena;
	int rc;
	if (q->group_id || (q->domain_id && q->inherited == 1))
		return 0;
	int inherited = q->domain_id ? 0 : q->inherited;
	struct asg_list raw = { 0 };
	struct id_list user = { 0 };
	if (q->user_id)
		ids_push(a, &user, q->user_id);
	if ((rc = for_actor(r, q, inherited, q->user_id ? ASG_USERS : ASG_ANY_ACTOR,
			    q->user_id ? &user : NULL, &raw)) < 0)
		return rc;
	if (q->user_id) {
		struct id_list groups = { 0 };
		if ((rc = asg_user_groups(c, a, q->user_id, &groups)) < 0)
			return rc;
		if (groups.n && (rc = for_actor(r, q, inherited, ASG_GROUPS, &groups, &raw)) < 0)
			return rc;
	}
	struct members_cache mc = { 0 };
	struct asg_list refs = { 0 };
	for (size_t i = 0; i < raw.n; i++)
		if ((rc = expand_one(r, q, &mc, &raw.v[i], &refs)) < 0)
			return rc;
	if (!refs.n)
		return 0;
	struct asg_implied im;
	if ((rc = asg_implied_load(c, a, &im)) < 0)
		return rc;
	add_implied(a, &im, &refs);
	/* domain-specific roles only serve to imply others: strip them */
	struct id_list role_ids = { 0 };
	for (size_t i = 0; i < refs.n; i++)
		ids_add(a, &role_ids, refs.v[i].role_id);
	struct asg_roles rs;
	if ((rc = asg_roles_load(c, a, &role_ids, &rs)) < 0)
		return rc;
	for (size_t i = 0; i < refs.n; i++) {
		long k = asg_roles_find(&rs, refs.v[i].role_id);
		if (k < 0 || rs.domain_id[k])
			continue;
		if (q->role_id && strcmp(q->role_id, refs.v[i].role_id))
			continue;
		asg_push(a, out, &refs.v[i]);
	}
	return 0;
}

/* --- direct mode --- */

static int list_direct(struct http_req *r, const struct ra_query *q, struct asg_list *out)
{
	struct db_conn *c = ident_db(r);
	struct arena *a = r->arena;
	int rc;
	struct id_list actor = { 0 }, scope = { 0 };
	enum asg_actor kind = ASG_ANY_ACTOR;
	if (q->user_id) {
		ids_push(a, &actor, q->user_id);
		kind = ASG_USERS;
	} else if (q->group_id) {
		ids_push(a, &actor, q->group_id);
		kind = ASG_GROUPS;
	}
	const struct id_list *actors = kind == ASG_ANY_ACTOR ? NULL : &actor;
	if (!q->system) {
		struct asg_filter f = { q->role_id, kind, actors, ASG_PROJECT_OR_DOMAIN, NULL, q->inherited };
		scope_targets(a, q, &f, &scope);
		if ((rc = asg_fetch(c, a, &f, out)) < 0)
			return rc;
	}
	if (q->system || (!q->project_id && !q->domain_id)) {
		struct asg_filter f = { q->role_id, kind, actors, ASG_SYSTEM, NULL, -1 };
		if ((rc = asg_fetch(c, a, &f, out)) < 0)
			return rc;
	}
	return 0;
}

/* --- names (include_names) --- */

struct names {
	struct id_list ids;
	const char **name, **domain_id;
	size_t cap;
};

struct names_ctx {
	struct arena *a;
	struct names *n;
	bool with_domain;
};

static int names_row(void *ctx, struct db_rows *rows, int i)
{
	struct names_ctx *nc = ctx;
	struct names *n = nc->n;
	long k = ids_index(&n->ids, db_text(rows, i, 0));
	if (k >= 0) {
		n->name[k] = arena_strdup(nc->a, db_text(rows, i, 1));
		if (nc->with_domain)
			n->domain_id[k] = arena_strdup(nc->a, db_text(rows, i, 2));
	}
	return 0;
}

/* Loads names (and domain ids) for the ids gathered in n. */
static int names_load(struct db_conn *c, struct arena *a, struct names *n, const char *sql_head, bool with_domain)
{
	n->name = arena_alloc(a, (n->ids.n + 1) * sizeof *n->name);
	n->domain_id = arena_alloc(a, (n->ids.n + 1) * sizeof *n->domain_id);
	struct names_ctx nc = { a, n, with_domain };
	return asg_query_in(c, a, sql_head, &n->ids, NULL, names_row, &nc);
}

static const char *names_get(const struct names *n, const char *id, bool domain)
{
	long k = id ? ids_index(&n->ids, id) : -1;
	const char *v = k < 0 ? NULL : domain ? n->domain_id[k] : n->name[k];
	return v ? v : "";
}

struct all_names {
	struct names users, groups, projects, domains, roles;
};

static int all_names_load(struct http_req *r, const struct asg_list *l, struct all_names *an)
{
	struct db_conn *c = ident_db(r);
	struct arena *a = r->arena;
	memset(an, 0, sizeof *an);
	for (size_t i = 0; i < l->n; i++) {
		const struct asg *x = &l->v[i];
		if (x->user_id)
			ids_add(a, &an->users.ids, x->user_id);
		if (x->group_id)
			ids_add(a, &an->groups.ids, x->group_id);
		if (x->project_id)
			ids_add(a, &an->projects.ids, x->project_id);
		if (x->domain_id)
			ids_add(a, &an->domains.ids, x->domain_id);
		ids_add(a, &an->roles.ids, x->role_id);
	}
	int rc;
	if ((rc = names_load(c, a, &an->users, "SELECT id, name, domain_id FROM users WHERE id", true)) < 0 ||
	    (rc = names_load(c, a, &an->groups, "SELECT id, name, domain_id FROM groups WHERE id", true)) < 0 ||
	    (rc = names_load(c, a, &an->projects, "SELECT id, name, domain_id FROM project WHERE id", true)) < 0 ||
	    (rc = names_load(c, a, &an->roles, "SELECT id, name, domain_id FROM role WHERE id", true)) < 0)
		return rc;
	struct names *sets[] = { &an->users, &an->groups, &an->projects, &an->roles };
	for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
		for (size_t i = 0; i < sets[s]->ids.n; i++)
			if (sets[s]->domain_id[i] && *sets[s]->domain_id[i])
				ids_add(a, &an->domains.ids, sets[s]->domain_id[i]);
	return names_load(c, a, &an->domains, "SELECT id, name FROM domain WHERE id", false);
}

/* {"id", "name", "domain": {"id", "name"}} for a user, group or project. */
static json_t *named(const struct all_names *an, const struct names *set, const char *id)
{
	const char *dom = names_get(set, id, true);
	return json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "name", names_get(set, id, false), "domain",
			 "id", dom, "name", names_get(&an->domains, dom, false));
}

/* --- rendering, as Keystone's _format_entity --- */

static json_t *format_entity(struct http_req *r, const struct asg *x, const struct all_names *an)
{
	json_t *e = json_object(), *links = json_object(), *scope = NULL;
	const char *link = "";
	bool inherited = x->inherited;
	if (x->project_id) {
		json_t *p = an ? named(an, &an->projects, x->project_id) : json_pack("{s:s}", "id", x->project_id);
		scope = json_pack("{s:o}", "project", p);
		if (x->ind_domain_id) {
			inherited = true;
			link = arena_printf(r->arena, "/domains/%s", x->ind_domain_id);
		} else if (x->ind_project_id) {
			inherited = true;
			link = arena_printf(r->arena, "/projects/%s", x->ind_project_id);
		} else {
			link = arena_printf(r->arena, "/projects/%s", x->project_id);
		}
	} else if (x->domain_id) {
		json_t *d = an ? json_pack("{s:s,s:s}", "id", x->domain_id, "name",
					   names_get(&an->domains, x->domain_id, false))
			       : json_pack("{s:s}", "id", x->domain_id);
		scope = json_pack("{s:o}", "domain", d);
		link = arena_printf(r->arena, "/domains/%s", x->domain_id);
	} else {
		scope = json_pack("{s:{s:b}}", "system", "all", 1);
		link = "/system";
	}
	json_object_set_new(e, "scope", scope);
	if (x->user_id) {
		json_object_set_new(e, "user", an ? named(an, &an->users, x->user_id)
						  : json_pack("{s:s}", "id", x->user_id));
		if (x->ind_group_id) {
			json_object_set_new(links, "membership",
					    json_string(ident_url(r, "/v3/groups/%s/users/%s", x->ind_group_id,
								  x->user_id)));
			link = arena_printf(r->arena, "%s/groups/%s", link, x->ind_group_id);
		} else {
			link = arena_printf(r->arena, "%s/users/%s", link, x->user_id);
		}
	} else {
		json_object_set_new(e, "group", an ? named(an, &an->groups, x->group_id)
						   : json_pack("{s:s}", "id", x->group_id));
		link = arena_printf(r->arena, "%s/groups/%s", link, x->group_id);
	}
	json_t *role = json_pack("{s:s}", "id", x->role_id);
	if (an) {
		json_object_set_new(role, "name", json_string(names_get(&an->roles, x->role_id, false)));
		const char *rd = names_get(&an->roles, x->role_id, true);
		if (*rd)
			json_object_set_new(role, "domain", json_pack("{s:s,s:s}", "id", rd, "name",
								      names_get(&an->domains, rd, false)));
	}
	json_object_set_new(e, "role", role);
	const char *prior_link = NULL;
	if (x->ind_role_id) {
		link = arena_printf(r->arena, "%s/roles/%s", link, x->ind_role_id);
		prior_link = arena_printf(r->arena, "/v3/prior_role/%s/implies/%s", x->role_id, x->ind_role_id);
	} else {
		link = arena_printf(r->arena, "%s/roles/%s", link, x->role_id);
	}
	if (inherited) {
		json_object_set_new(scope, "OS-INHERIT:inherited_to", json_string("projects"));
		link = arena_printf(r->arena, "/OS-INHERIT%s/inherited_to_projects", link);
	}
	json_object_set_new(links, "assignment", json_string(ident_url(r, "/v3%s", link)));
	if (prior_link)
		json_object_set_new(links, "prior_role", json_string(ident_url(r, "%s", prior_link)));
	json_object_set_new(e, "links", links);
	return e;
}

/* --- domain-scoped callers see only their domain's assignments --- */

struct proj_dom_ctx {
	struct arena *a;
	struct id_list *ids;
	const char **dom;
};

static int proj_dom_row(void *ctx, struct db_rows *rows, int i)
{
	struct proj_dom_ctx *pc = ctx;
	long k = ids_index(pc->ids, db_text(rows, i, 0));
	if (k >= 0)
		pc->dom[k] = arena_strdup(pc->a, db_text(rows, i, 1));
	return 0;
}

static int filter_domain(struct http_req *r, const char *domain_id, struct asg_list *l)
{
	struct arena *a = r->arena;
	struct id_list pids = { 0 };
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].project_id)
			ids_add(a, &pids, l->v[i].project_id);
	const char **dom = arena_alloc(a, (pids.n + 1) * sizeof *dom);
	struct proj_dom_ctx pc = { a, &pids, dom };
	int rc = asg_query_in(ident_db(r), a, "SELECT id, domain_id FROM project WHERE id", &pids, NULL,
			      proj_dom_row, &pc);
	if (rc < 0)
		return rc;
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct asg *x = &l->v[i];
		bool keep = (x->domain_id && !strcmp(x->domain_id, domain_id));
		if (!keep && x->project_id) {
			long p = ids_index(&pids, x->project_id);
			keep = p >= 0 && dom[p] && !strcmp(dom[p], domain_id);
		}
		if (keep)
			l->v[k++] = *x;
	}
	l->n = k;
	return 0;
}

/* --- the handler --- */

static int check_filters(struct http_req *r, const struct ra_query *q)
{
	if (q->domain_id && q->project_id)
		return http_error(r, ERR_BADREQ, "Specify a domain or project, not both");
	if (q->domain_id && qval(r, "scope.system"))
		return http_error(r, ERR_BADREQ, "Specify system or domain, not both");
	if (q->project_id && qval(r, "scope.system"))
		return http_error(r, ERR_BADREQ, "Specify system or project, not both");
	if (q->user_id && q->group_id)
		return http_error(r, ERR_BADREQ, "Specify a user or group, not both");
	if (q->effective && q->group_id)
		return http_error(r, ERR_BADREQ, "Combining effective and group filter will always result in an"
				  " empty list.");
	if (q->effective && q->inherited == 1 && q->domain_id)
		return http_error(r, ERR_BADREQ, "Combining effective, domain and inherited filters will always"
				  " result in an empty list.");
	return 0;
}

int ident_list_role_assignments(struct http_req *r)
{
	struct ra_query q = { 0 };
	int rc;
	q.role_id = qval(r, "role.id");
	q.user_id = qval(r, "user.id");
	q.group_id = qval(r, "group.id");
	q.project_id = qval(r, "scope.project.id");
	q.domain_id = qval(r, "scope.domain.id");
	const char *sys = qval(r, "scope.system");
	q.system = sys && !strcmp(sys, "all");
	q.inherited = -1;
	if (http_query_present(r, "scope.OS-INHERIT:inherited_to")) {
		const char *v = http_query(r, "scope.OS-INHERIT:inherited_to");
		q.inherited = v && !strcmp(v, "projects");
	}
	q.effective = ident_query_flag(r, "effective");
	q.include_names = ident_query_flag(r, "include_names");
	q.include_subtree = ident_query_flag(r, "include_subtree");

	const char *scoped_domain = r->auth ? r->auth->domain_id : NULL;
	if (q.include_subtree) {
		json_t *t = json_object(), *project = NULL;
		if (q.project_id) {
			if (!(project = ident_project_load(r, q.project_id))) {
				json_decref(t);
				return r->err ? r->err : ERR_NOTFOUND;
			}
			asg_target_add(t, "target.project", project);
			json_decref(project);
		}
		rc = ident_enforce(r, "identity:list_role_assignments_for_tree", t);
		json_decref(t);
		if (rc < 0)
			return rc;
		if (!q.project_id)
			return http_error(r, ERR_BADREQ, "scope.project.id must be specified if include_subtree is"
					  " also specified");
		if ((rc = asg_project_subtree(ident_db(r), r->arena, q.project_id, &q.subtree)) < 0)
			return ident_db_error(r, rc, "role assignment");
		q.has_subtree = true;
		scoped_domain = NULL;    /* Keystone filters by domain scope only without include_subtree */
	} else {
		json_t *t = json_object();
		if (scoped_domain)
			json_object_set_new(t, "target.domain_id", json_string(scoped_domain));
		rc = ident_enforce(r, "identity:list_role_assignments", t);
		json_decref(t);
		if (rc < 0)
			return rc;
	}
	if ((rc = check_filters(r, &q)) < 0)
		return rc;

	struct asg_list l = { 0 };
	rc = q.effective ? list_effective(r, &q, &l) : list_direct(r, &q, &l);
	if (rc < 0)
		return r->err == rc ? rc : ident_db_error(r, rc, "role assignment");
	if (scoped_domain && (rc = filter_domain(r, scoped_domain, &l)) < 0)
		return ident_db_error(r, rc, "role assignment");
	struct all_names an;
	if (q.include_names && (rc = all_names_load(r, &l, &an)) < 0)
		return ident_db_error(r, rc, "role assignment");
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, format_entity(r, &l.v[i], q.include_names ? &an : NULL));
	return ident_reply_list(r, "role_assignments", arr);
}
