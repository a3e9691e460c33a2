/* projects.c — /v3/projects: projects in a domain and their hierarchy (parent_id, depth limit,
 * parents/subtree views), and the project face of domains (is_domain), which delegates to
 * domains.c (tags live in project_tags.c). Top-level projects store parent_id NULL. */
#include "identity/projects.h"
#include <stdio.h>
#include <string.h>

/* Keystone's [DEFAULT] max_project_tree_depth: levels of projects below the domain. */
#define MAX_PROJECT_TREE_DEPTH 5
/* Bound on walks up or down a hierarchy (guards against cycles in bad data). */
#define WALK_MAX 100
#define PROJECT_COLS "id, name, domain_id, parent_id, description, enabled, extra"

static const char *const project_known[] = {
	"id", "name", "domain_id", "parent_id", "description", "enabled", "is_domain", "tags",
	"options", NULL
};

/* An id_string field (1..64 of [a-zA-Z0-9-]) or null, with the project API's wording. */
static int id_field(struct http_req *r, const json_t *obj, const char *key, const char **out)
{
	int rc = ident_str(r, obj, key, false, true, 0, out);
	if (rc < 0 || !*out || ident_id_ok(*out))
		return rc;
	size_t n = strlen(*out);
	if (!n || n > IDENT_ID_MAX)
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%.40s' is not a valid id.", key, *out);
	return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%.64s' does not match "
			  "'^[a-zA-Z0-9-]+$'.", key, *out);
}

/* A resource name, stored stripped. */
static int name_field(struct http_req *r, const json_t *obj, bool required, const char **out)
{
	int rc = ident_resource_name(r, obj, required, out);
	if (rc < 0 || !*out)
		return rc;
	*out = ident_strip(r, *out);
	return 0;
}

struct pfields {
	const char *name, *desc, *domain_id, *parent_id;
	bool enabled, has_enabled, is_domain, has_is_domain;
	json_t *tags, *options;       /* borrowed from the body */
};

static int project_fields(struct http_req *r, const json_t *body, bool create, struct pfields *f)
{
	int rc;
	memset(f, 0, sizeof *f);
	f->enabled = true;
	if ((rc = name_field(r, body, create, &f->name)) < 0 ||
	    (rc = ident_str(r, body, "description", false, true, 0, &f->desc)) < 0 ||
	    (rc = id_field(r, body, "domain_id", &f->domain_id)) < 0 ||
	    (rc = id_field(r, body, "parent_id", &f->parent_id)) < 0 ||
	    (rc = ident_bool(r, body, "enabled", &f->enabled, &f->has_enabled)) < 0 ||
	    (rc = ident_bool(r, body, "is_domain", &f->is_domain, &f->has_is_domain)) < 0)
		return rc;
	f->tags = json_object_get(body, "tags");
	if (f->tags && (rc = ident_tags_check(r, f->tags)) < 0)
		return rc;
	f->options = json_object_get(body, "options");
	json_t *o = ident_options_merge(r, f->options, NULL);
	if (!o)
		return r->err;
	json_decref(o);
	return 0;
}

/* --- reading and rendering --- */

/* The first column of a query with one parameter as an array of strings. New reference, or
 * NULL on a database error. */
static json_t *column_strings(struct db_conn *c, const char *sql, const char *arg)
{
	struct db_rows *rows;
	if (db_query(c, &rows, sql, DB_TEXT(arg)) < 0)
		return NULL;
	json_t *a = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(a, json_string(db_text(rows, i, 0)));
	db_rows_free(rows);
	return a;
}

/* Tags of one project (sorted). New reference, or NULL on a database error. */
static json_t *project_tags(struct db_conn *c, const char *id)
{
	return column_strings(c, "SELECT name FROM project_tag WHERE project_id = ? ORDER BY name", id);
}

/* Renders row i; steals tags. */
static json_t *project_render(struct http_req *r, const struct db_rows *rows, int i, json_t *tags)
{
	const char *id = db_text(rows, i, 0), *dom = db_text(rows, i, 2), *parent = db_text(rows, i, 3);
	const char *desc = db_text(rows, i, 4), *extra = db_text(rows, i, 6);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:b}", "id", id, "name", db_text(rows, i, 1),
			      "domain_id", dom, "description", desc ? desc : "", "enabled", db_bool(rows, i, 5),
			      "parent_id", parent ? parent : dom, "is_domain", 0);
	json_object_set_new(o, "tags", tags ? tags : json_array());
	json_t *e = ident_object_parse(extra);
	json_t *opts = json_object_get(e, "options");
	json_object_set_new(o, "options", json_is_object(opts) ? json_incref(opts) : json_object());
	json_decref(e);
	json_object_set_new(o, "links", ident_links(r, "/v3/projects/%s", id));
	ident_merge_extra(o, extra);
	return o;
}

/* The project as rendered, or NULL when absent (nothing recorded); *dberr set on failure. */
static json_t *project_get(struct http_req *r, const char *id, int *dberr)
{
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	*dberr = db_query(c, &rows, "SELECT " PROJECT_COLS " FROM project WHERE id = ?", DB_TEXT(id));
	if (*dberr < 0)
		return NULL;
	*dberr = 0;
	json_t *o = NULL;
	if (db_rows_count(rows)) {
		json_t *tags = project_tags(c, id);
		if (!tags)
			*dberr = ERR_INTERNAL;
		else
			o = project_render(r, rows, 0, tags);
	}
	db_rows_free(rows);
	return o;
}

json_t *ident_project_load(struct http_req *r, const char *id)
{
	int dberr;
	json_t *o = project_get(r, id, &dberr);
	if (dberr) {
		ident_db_error(r, dberr, "project");
		return NULL;
	}
	if (!o)
		ident_not_found(r, "project", id);
	return o;
}

/* A rendered domain turned into the project acting as it (in place). */
static json_t *domain_as_project(struct http_req *r, json_t *dom)
{
	const char *id = json_string_value(json_object_get(dom, "id"));
	json_object_set_new(dom, "domain_id", json_null());
	json_object_set_new(dom, "parent_id", json_null());
	json_object_set_new(dom, "is_domain", json_true());
	json_object_set_new(dom, "links", ident_links(r, "/v3/projects/%s", id));
	return dom;
}

/* A project, or a domain shown as a project; NULL when neither exists. */
static json_t *project_or_domain(struct http_req *r, const char *id, bool *is_domain, int *dberr)
{
	*is_domain = false;
	json_t *o = project_get(r, id, dberr);
	if (o || *dberr)
		return o;
	json_t *dom = ident_domain_load(r, id);
	if (!dom) {
		*dberr = r->err == ERR_NOTFOUND ? 0 : r->err;
		ident_clear_error(r);
		return NULL;
	}
	*is_domain = true;
	return domain_as_project(r, dom);
}

static json_t *project_target(const char *id, const json_t *p)
{
	json_t *t = ident_target("project_id", id, NULL);
	if (!p)
		return t;
	static const char *const keys[] = { "id", "name", "domain_id", "parent_id" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = json_string_value(json_object_get(p, keys[i]));
		char key[40];
		snprintf(key, sizeof key, "target.project.%s", keys[i]);
		if (v)
			json_object_set_new(t, key, json_string(v));
	}
	json_object_set(t, "target.project.enabled", json_object_get(p, "enabled"));
	json_object_set(t, "target.project.is_domain", json_object_get(p, "is_domain"));
	return t;
}

/* --- hierarchy --- */

/* A project's ancestors, nearest first (projects only), with their enabled flags, and the
 * domain at the top. */
struct chain {
	const char *ids[WALK_MAX];
	bool enabled[WALK_MAX];
	int n;
	const char *domain_id;
};

/* Walks up from id (included when self is true). 0 or a database error. */
static int ancestors(struct http_req *r, const char *id, bool self, struct chain *ch)
{
	struct db_conn *c = ident_db(r);
	ch->n = 0;
	ch->domain_id = NULL;
	const char *cur = id;
	for (int hop = 0; hop < WALK_MAX && cur; hop++) {
		struct db_rows *rows;
		int rc = db_query(c, &rows, "SELECT parent_id, domain_id, enabled FROM project WHERE id = ?", DB_TEXT(cur));
		if (rc < 0)
			return rc;
		if (!db_rows_count(rows)) {
			db_rows_free(rows);
			break;
		}
		if ((hop || self) && ch->n < WALK_MAX) {
			ch->ids[ch->n] = cur;
			ch->enabled[ch->n++] = db_bool(rows, 0, 2);
		}
		ch->domain_id = arena_strdup(r->arena, db_text(rows, 0, 1));
		cur = arena_strdup(r->arena, db_text(rows, 0, 0));
		db_rows_free(rows);
	}
	return 0;
}

/* Ids of the direct children of a project, or of the top-level projects of a domain. New
 * array, or NULL on a database error. */
static json_t *child_ids(struct db_conn *c, const char *id, bool is_domain)
{
	return column_strings(c, is_domain
			      ? "SELECT id FROM project WHERE domain_id = ? AND parent_id IS NULL ORDER BY id"
			      : "SELECT id FROM project WHERE parent_id = ? ORDER BY id", id);
}

/* Every descendant id, level by level. New array, or NULL on a database error. */
static json_t *descendants(struct db_conn *c, const char *id, bool is_domain)
{
	json_t *all = child_ids(c, id, is_domain), *seen = json_object();
	json_object_set_new(seen, id, json_true());
	for (size_t i = 0; all && i < json_array_size(all); i++) {
		const char *cur = json_string_value(json_array_get(all, i));
		json_object_set_new(seen, cur, json_true());
		json_t *kids = child_ids(c, cur, false);
		if (!kids) {
			json_decref(all);
			all = NULL;
			break;
		}
		size_t k;
		json_t *v;
		json_array_foreach(kids, k, v) {
			if (!json_object_get(seen, json_string_value(v))) {
				json_object_set_new(seen, json_string_value(v), json_true());
				json_array_append(all, v);
			}
		}
		json_decref(kids);
	}
	json_decref(seen);
	return all;
}

/* {child: {grandchild: null, ...}, ...} or null without children. NULL on a database error. */
static json_t *subtree_ids(struct db_conn *c, const char *id, bool is_domain, int depth)
{
	json_t *kids = child_ids(c, id, is_domain);
	if (!kids)
		return NULL;
	if (!json_array_size(kids) || depth >= WALK_MAX) {
		json_decref(kids);
		return json_null();
	}
	json_t *o = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(kids, i, v) {
		json_t *sub = subtree_ids(c, json_string_value(v), false, depth + 1);
		if (!sub) {
			json_decref(kids);
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, json_string_value(v), sub);
	}
	json_decref(kids);
	return o;
}

/* [{"project": {...}}] for the ids the caller has a role on (Keystone filters these lists by
 * the caller's projects). Steals ids. NULL on a database error. */
static json_t *wrapped_projects(struct http_req *r, json_t *ids)
{
	json_t *mine = r->auth && r->auth->user_id
		? ident_user_targets(ident_db(r), r->auth->user_id, "project") : json_array();
	if (!mine) {
		json_decref(ids);
		return NULL;
	}
	json_t *set = json_object(), *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(mine, i, v)
		if (json_is_string(v))
			json_object_set_new(set, json_string_value(v), json_true());
	json_array_foreach(ids, i, v) {
		if (!json_object_get(set, json_string_value(v)))
			continue;
		int dberr;
		json_t *p = project_get(r, json_string_value(v), &dberr);
		if (dberr) {
			json_decref(out);
			out = NULL;
			break;
		}
		if (p)
			json_array_append_new(out, json_pack("{s:o}", "project", p));
	}
	json_decref(set);
	json_decref(mine);
	json_decref(ids);
	return out;
}

/* Adds "parents" and "subtree" as the query asks (parents_as_list, parents_as_ids,
 * subtree_as_list, subtree_as_ids). */
static int expand_hierarchy(struct http_req *r, json_t *p, bool is_domain)
{
	bool plist = ident_query_flag(r, "parents_as_list"), pids = ident_query_flag(r, "parents_as_ids");
	bool slist = ident_query_flag(r, "subtree_as_list"), sids = ident_query_flag(r, "subtree_as_ids");
	if (plist && pids)
		return http_error(r, ERR_BADREQ, "Cannot use parents_as_list and parents_as_ids query params at the same time.");
	if (slist && sids)
		return http_error(r, ERR_BADREQ, "Cannot use subtree_as_list and subtree_as_ids query params at the same time.");
	const char *id = json_string_value(json_object_get(p, "id"));
	struct db_conn *c = ident_db(r);
	if (plist || pids) {
		struct chain ch = { .n = 0 };
		int rc = is_domain ? 0 : ancestors(r, id, false, &ch);
		if (rc < 0)
			return ident_db_error(r, rc, "project");
		json_t *parents;
		if (plist) {
			json_t *ids = json_array();
			for (int i = 0; i < ch.n; i++)
				json_array_append_new(ids, json_string(ch.ids[i]));
			if (!(parents = wrapped_projects(r, ids)))
				return ident_db_error(r, ERR_INTERNAL, "project");
		} else if (is_domain) {
			parents = json_null();
		} else {
			/* Built from the top: the domain, then each ancestor down to the parent. */
			parents = json_object();
			if (ch.domain_id)
				json_object_set_new(parents, ch.domain_id, json_null());
			for (int i = ch.n - 1; i >= 0; i--)
				parents = json_pack("{s:o}", ch.ids[i], parents);
		}
		json_object_set_new(p, "parents", parents);
	}
	if (slist || sids) {
		json_t *sub = slist ? descendants(c, id, is_domain) : subtree_ids(c, id, is_domain, 0);
		if (sub && slist)
			sub = wrapped_projects(r, sub);
		if (!sub)
			return ident_db_error(r, ERR_INTERNAL, "project");
		json_object_set_new(p, "subtree", sub);
	}
	return 0;
}

/* --- list --- */

/* True when the project's tags contain every (all) or any (!all) tag of the comma list. */
static bool tags_match(const json_t *tags, const char *list, bool all)
{
	bool any = false;
	const char *p = list;
	while (1) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		bool has = false;
		size_t i;
		json_t *v;
		json_array_foreach(tags, i, v)
			if (json_string_length(v) == n && !memcmp(json_string_value(v), p, n))
				has = true;
		if (all && !has)
			return false;
		any |= has;
		if (!e)
			break;
		p = e + 1;
	}
	return all ? true : any;
}

static bool tag_filters_pass(struct http_req *r, const json_t *p)
{
	const json_t *tags = json_object_get(p, "tags");
	const char *all = http_query(r, "tags"), *any = http_query(r, "tags-any");
	const char *nall = http_query(r, "not-tags"), *nany = http_query(r, "not-tags-any");
	return (!all || tags_match(tags, all, true)) && (!any || tags_match(tags, any, false)) &&
	       (!nall || !tags_match(tags, nall, true)) && (!nany || !tags_match(tags, nany, false));
}

/* Domains shown as projects (GET /v3/projects?is_domain=true). */
static int list_domain_projects(struct http_req *r, json_t *out)
{
	/* Projects acting as domains have no domain_id and no parent_id. */
	if (http_query(r, "domain_id") || http_query(r, "parent_id"))
		return 0;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT id FROM domain WHERE 1 = 1");
	ident_sql_filter(&q, r, "name", "name");
	ident_sql_filter_bool(&q, r, "enabled", "enabled");
	struct db_rows *rows;
	int rc = ident_sql_query(ident_db(r), &q, &rows);
	if (rc < 0)
		return rc;
	for (int i = 0; i < db_rows_count(rows); i++) {
		json_t *d = ident_domain_load(r, db_text(rows, i, 0));
		if (d)
			json_array_append_new(out, domain_as_project(r, d));
	}
	db_rows_free(rows);
	return 0;
}

static int list_projects(struct http_req *r, json_t *out)
{
	struct db_conn *c = ident_db(r);
	const char *parent = http_query(r, "parent_id");
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " PROJECT_COLS " FROM project WHERE 1 = 1");
	ident_sql_filter(&q, r, "domain_id", "domain_id");
	ident_sql_filter(&q, r, "name", "name");
	ident_sql_filter_bool(&q, r, "enabled", "enabled");
	if (parent) {
		/* A top-level project's parent is its domain. */
		ident_sql_text(&q, " AND (parent_id = ? OR (parent_id IS NULL AND domain_id = ?))");
		ident_sql_arg(&q, DB_TEXT(parent));
		ident_sql_arg(&q, DB_TEXT(parent));
	}
	struct db_rows *rows, *tagrows;
	int rc = ident_sql_query(c, &q, &rows);
	if (rc < 0)
		return rc;
	if ((rc = db_query(c, &tagrows, "SELECT project_id, name FROM project_tag ORDER BY project_id, name")) < 0) {
		db_rows_free(rows);
		return rc;
	}
	json_t *tags = json_object();
	for (int i = 0; i < db_rows_count(tagrows); i++) {
		const char *pid = db_text(tagrows, i, 0);
		json_t *a = json_object_get(tags, pid);
		if (!a)
			json_object_set_new(tags, pid, a = json_array());
		json_array_append_new(a, json_string(db_text(tagrows, i, 1)));
	}
	db_rows_free(tagrows);
	for (int i = 0; i < db_rows_count(rows); i++) {
		json_t *t = json_object_get(tags, db_text(rows, i, 0));
		json_t *p = project_render(r, rows, i, t ? json_incref(t) : NULL);
		if (tag_filters_pass(r, p))
			json_array_append_new(out, p);
		else
			json_decref(p);
	}
	json_decref(tags);
	db_rows_free(rows);
	return 0;
}

static int h_list_projects(struct http_req *r)
{
	const char *scope = r->auth ? r->auth->domain_id : NULL;
	int rc = ident_enforce_steal(r, "identity:list_projects",
				     scope ? ident_target("target.domain_id", scope, NULL) : NULL);
	if (rc < 0)
		return rc;
	const char *is_dom = http_query(r, "is_domain");
	json_t *list = json_array();
	rc = is_dom && ident_query_true(is_dom) ? list_domain_projects(r, list) : list_projects(r, list);
	if (rc < 0) {
		json_decref(list);
		return ident_db_error(r, rc, "project");
	}
	if (scope) {
		/* A domain-scoped caller sees only that domain's projects. */
		for (size_t i = json_array_size(list); i-- > 0;) {
			const char *d = json_string_value(json_object_get(json_array_get(list, i), "domain_id"));
			if (!d || strcmp(d, scope))
				json_array_remove(list, i);
		}
	}
	r->err = 0;
	return ident_reply_list(r, "projects", list);
}

/* --- create --- */

static int conflict(struct http_req *r, const char *name, const char *id)
{
	ident_rollback(r);
	return http_error(r, ERR_CONFLICT, "Conflict occurred attempting to store project - it is not permitted "
			  "to have two projects with either the same name or same id in the same domain: name "
			  "is %s, project id %s.", name, id);
}

/* Where a new project goes: its domain and its parent project (NULL for top level), checked
 * as Keystone does (parent exists, same domain, whole branch enabled, depth limit). */
static int place_project(struct http_req *r, struct pfields *f, const char **parent_project)
{
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	int rc;
	*parent_project = NULL;
	struct chain ch = { .n = 0 };
	if (f->parent_id) {
		if ((rc = ancestors(r, f->parent_id, true, &ch)) < 0)
			return ident_db_error(r, rc, "project");
		const char *pdom;
		if (ch.n) {
			pdom = ch.domain_id;
			*parent_project = f->parent_id;
		} else {
			if ((rc = ident_exists(c, "SELECT 1 FROM domain WHERE id = ?", DB_TEXT(f->parent_id))) < 0)
				return ident_db_error(r, rc, "project");
			if (!rc)
				return ident_abort(r, ERR_BADREQ, "Could not find project: %s.", f->parent_id);
			pdom = f->parent_id;
		}
		if (!f->domain_id) {
			f->domain_id = pdom;
		} else if (strcmp(f->domain_id, pdom)) {
			if (!ch.n)
				return ident_abort(r, ERR_BADREQ, "Cannot create project, the parent (%s) is acting "
						   "as a domain, but this project's domain id (%s) does not match "
						   "the parent's id.", f->parent_id, f->domain_id);
			return ident_abort(r, ERR_BADREQ, "Cannot create project, since it specifies its domain_id "
					   "%s, but specifies a parent in a different domain (%s).", f->domain_id,
					   pdom);
		}
	} else if (!f->domain_id) {
		f->domain_id = ident_default_domain(r);
	}
	if ((rc = db_query(c, &rows, "SELECT enabled FROM domain WHERE id = ?", DB_TEXT(f->domain_id))) < 0)
		return ident_db_error(r, rc, "project");
	bool dom_found = db_rows_count(rows) > 0, dom_enabled = dom_found && db_bool(rows, 0, 0);
	db_rows_free(rows);
	if (!dom_found)
		return ident_abort(r, ERR_BADREQ, "Could not find domain: %s.", f->domain_id);
	/* The order Keystone reports in: the parent's ancestors, the domain, then the parent. */
	const char *off = NULL;
	for (int i = 1; i < ch.n && !off; i++)
		if (!ch.enabled[i])
			off = ch.ids[i];
	if (!off && !dom_enabled)
		off = f->domain_id;
	if (!off && ch.n && !ch.enabled[0])
		off = ch.ids[0];
	if (off)
		return ident_abort(r, ERR_BADREQ, "cannot create a project in a branch containing a disabled "
				   "project: %s", off);
	/* Keystone counts the domain as a level and allows one more than the configured depth. */
	if (ch.n + 2 > MAX_PROJECT_TREE_DEPTH + 1)
		return ident_abort(r, ERR_FORBIDDEN, "Max hierarchy depth reached for %s branch.", f->parent_id);
	return 0;
}

static int h_create_project(struct http_req *r)
{
	json_t *b = http_body_json(r);
	if (!b)
		return r->err;
	json_t *body = json_object_get(b, "project");
	/* Keystone checks policy against the request as sent, before validating it. */
	int rc = ident_enforce_steal(r, "identity:create_project",
				     project_target(NULL, json_is_object(body) ? body : NULL));
	if (rc < 0)
		return rc;
	if (!(body = ident_body(r, "project")))
		return r->err;
	struct pfields f;
	if ((rc = project_fields(r, body, true, &f)) < 0)
		return rc;
	if (f.is_domain) {
		if (f.parent_id)
			return http_error(r, ERR_BADREQ, "only root projects are allowed to act as domains.");
		json_t *dom;
		if ((rc = ident_domain_create(r, body, &dom)) < 0)
			return rc;
		return ident_reply_one(r, 201, "project", domain_as_project(r, dom));
	}
	char id[33];
	uuid_hex(id);
	json_t *opts = ident_options_merge(r, f.options, NULL);
	json_t *e = ident_normalized(body);
	json_object_del(e, "options");
	if (json_object_size(opts))
		json_object_set(e, "options", opts);
	json_decref(opts);
	/* The known attributes less "options", which lives in the extra column. */
	static const char *const columns[] = {
		"id", "name", "domain_id", "parent_id", "description", "enabled", "is_domain", "tags", NULL
	};
	char *extra = ident_extra(r, e, columns, NULL);
	json_decref(e);

	if ((rc = ident_begin(r)) < 0)
		return rc;
	const char *parent;
	if ((rc = place_project(r, &f, &parent)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	rc = db_exec(c, "INSERT INTO project (id, name, domain_id, parent_id, description, enabled, extra, created_at)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(f.name), DB_TEXT(f.domain_id),
		     DB_TEXT(parent), DB_TEXT(f.desc ? f.desc : ""), DB_BOOL(f.enabled), DB_TEXT(extra),
		     DB_INT(time_now_us()));
	if (rc == ERR_CONFLICT)
		return conflict(r, f.name, id);
	if (rc < 0 || (f.tags && (rc = proj_tags_store(r, id, f.tags)) < 0))
		return ident_db_error(r, rc, "project");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *p = ident_project_load(r, id);
	return p ? ident_reply_one(r, 201, "project", p) : r->err;
}

/* --- show, update, delete --- */

/* Looks id up (a project or a domain acting as one), checks rule against it, and records 404
 * when it does not exist — in Keystone's order: policy first. *out is freed with the request. */
int proj_load_enforced(struct http_req *r, const char *rule, bool domains, json_t **out, bool *is_domain)
{
	const char *id = http_param(r, "project_id");
	int dberr;
	bool is_dom = false;
	json_t *p = domains ? project_or_domain(r, id, &is_dom, &dberr) : project_get(r, id, &dberr);
	if (dberr)
		return ident_db_error(r, dberr, "project");
	if (p)
		arena_defer(r->arena, json_decref_void, p);
	int rc = ident_enforce_steal(r, rule, project_target(id, p));
	if (rc < 0)
		return rc;
	if (!p)
		return ident_not_found(r, "project", id);
	*out = p;
	if (is_domain)
		*is_domain = is_dom;
	return 0;
}

static int h_get_project(struct http_req *r)
{
	json_t *p;
	bool is_dom;
	int rc = proj_load_enforced(r, "identity:get_project", true, &p, &is_dom);
	if (rc < 0 || (rc = expand_hierarchy(r, p, is_dom)) < 0)
		return rc;
	return ident_reply_one(r, 200, "project", json_incref(p));
}

/* True when any project below id is enabled. */
static int subtree_has_enabled(struct http_req *r, const char *id, bool *any)
{
	struct db_conn *c = ident_db(r);
	json_t *ids = descendants(c, id, false);
	if (!ids)
		return ERR_INTERNAL;
	*any = false;
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(ids, i, v) {
		struct db_rows *rows;
		if ((rc = db_query(c, &rows, "SELECT enabled FROM project WHERE id = ?", DB_TEXT(json_string_value(v)))) < 0)
			break;
		if (db_rows_count(rows) && db_bool(rows, 0, 0))
			*any = true;
		db_rows_free(rows);
		if (*any)
			break;
	}
	json_decref(ids);
	return rc;
}

/* The checks of an enabled flip: enabling needs enabled parents (and domain); disabling needs a
 * disabled subtree. 0 or an error recorded (transaction rolled back). */
static int check_enable_flip(struct http_req *r, const char *id, bool was, bool now)
{
	int rc;
	if (!was && now) {
		struct chain ch;
		if ((rc = ancestors(r, id, false, &ch)) < 0)
			return ident_db_error(r, rc, "project");
		bool off = false;
		for (int i = 0; i < ch.n; i++)
			off |= !ch.enabled[i];
		struct db_rows *rows;
		if (ch.domain_id) {
			if ((rc = db_query(ident_db(r), &rows, "SELECT enabled FROM domain WHERE id = ?", DB_TEXT(ch.domain_id))) < 0)
				return ident_db_error(r, rc, "project");
			off |= db_rows_count(rows) && !db_bool(rows, 0, 0);
			db_rows_free(rows);
		}
		if (off)
			return ident_abort(r, ERR_FORBIDDEN, "Cannot enable project %s since it has disabled "
					   "parents", id);
	} else if (was && !now) {
		bool any;
		if ((rc = subtree_has_enabled(r, id, &any)) < 0)
			return ident_db_error(r, rc, "project");
		if (any)
			return ident_abort(r, ERR_FORBIDDEN, "Cannot disable project %s since its subtree "
					   "contains enabled projects.", id);
	}
	return 0;
}

/* PATCH of a domain through /v3/projects: only the domain's own attributes may change. */
static int update_domain_project(struct http_req *r, const char *id, const json_t *body, const struct pfields *f)
{
	if (f->has_is_domain && !f->is_domain)
		return http_error(r, ERR_BADREQ, "Update of `is_domain` is not allowed.");
	if (f->domain_id)
		return http_error(r, ERR_BADREQ, "Cannot change Domain ID");
	if (f->parent_id)
		return http_error(r, ERR_FORBIDDEN, "Update of `parent_id` is not allowed.");
	json_t *dom;
	int rc = ident_domain_update(r, id, body, &dom);
	if (rc < 0)
		return rc;
	return ident_reply_one(r, 200, "project", domain_as_project(r, dom));
}

static int h_update_project(struct http_req *r)
{
	const char *id = http_param(r, "project_id");
	json_t *cur;
	bool is_dom = false;
	int dberr;
	/* Policy before validation, and 404 after both, as Keystone orders them. */
	json_t *found = project_or_domain(r, id, &is_dom, &dberr);
	if (dberr)
		return ident_db_error(r, dberr, "project");
	int rc = ident_enforce_steal(r, "identity:update_project", project_target(id, found));
	json_decref(found);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "project");
	if (!body)
		return r->err;
	struct pfields f;
	if ((rc = ident_non_empty(r, body, "project")) < 0 || (rc = project_fields(r, body, false, &f)) < 0 ||
	    (rc = ident_same_id(r, body, id)) < 0)
		return rc;
	if (!found)
		return ident_not_found(r, "project", id);
	if (is_dom)
		return update_domain_project(r, id, body, &f);

	if ((rc = ident_begin(r)) < 0)
		return rc;
	if (!(cur = project_get(r, id, &dberr))) {
		if (dberr)
			return ident_db_error(r, dberr, "project");
		ident_rollback(r);
		return ident_not_found(r, "project", id);
	}
	arena_defer(r->arena, json_decref_void, cur);
	if (ident_immutable(cur) && !ident_immutable_update_ok(body))
		return ident_abort(r, ERR_FORBIDDEN, "Unable to update immutable project resource: "
				   "`%s. Set resource option \"immutable\" to false first.", id);
	const char *cur_dom = json_string_value(json_object_get(cur, "domain_id"));
	const char *cur_parent = json_string_value(json_object_get(cur, "parent_id"));
	if (json_object_get(body, "domain_id") && (!f.domain_id || strcmp(f.domain_id, cur_dom)))
		return ident_abort(r, ERR_BADREQ, "Cannot change Domain ID");
	if (json_object_get(body, "parent_id") && (!f.parent_id || strcmp(f.parent_id, cur_parent)))
		return ident_abort(r, ERR_FORBIDDEN, "Update of `parent_id` is not allowed.");
	if (f.has_is_domain && f.is_domain)
		return ident_abort(r, ERR_BADREQ, "Update of `is_domain` is not allowed.");
	bool was = json_is_true(json_object_get(cur, "enabled"));
	bool now = f.has_enabled ? f.enabled : was;
	if ((rc = check_enable_flip(r, id, was, now)) < 0)
		return rc;
	const char *name = f.name ? f.name : json_string_value(json_object_get(cur, "name"));
	const char *desc = f.desc ? f.desc : json_object_get(body, "description") ? ""
		: json_string_value(json_object_get(cur, "description"));
	json_t *opts = ident_options_merge(r, f.options, json_object_get(cur, "options"));
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	if ((rc = db_query(c, &rows, "SELECT extra FROM project WHERE id = ?", DB_TEXT(id))) < 0) {
		json_decref(opts);
		return ident_db_error(r, rc, "project");
	}
	const char *old = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
	db_rows_free(rows);
	json_t *e = ident_object_parse(ident_extra(r, body, project_known, old));
	json_object_del(e, "options");
	if (json_object_size(opts))
		json_object_set(e, "options", opts);
	json_decref(opts);
	char *extra = ident_json_text(r, e);
	json_decref(e);
	rc = db_exec(c, "UPDATE project SET name = ?, description = ?, enabled = ?, extra = ? WHERE id = ?",
		     DB_TEXT(name), DB_TEXT(desc), DB_BOOL(now), DB_TEXT(extra), DB_TEXT(id));
	if (rc == ERR_CONFLICT)
		return conflict(r, name, id);
	if (rc < 0 || (f.tags && (rc = proj_tags_store(r, id, f.tags)) < 0))
		return ident_db_error(r, rc, "project");
	/* Tokens scoped to a project that is being disabled stop working. */
	if (was && !now && (rc = ident_revoke(c, NULL, id, NULL, NULL, NULL)) < 0)
		return ident_db_error(r, rc, "project");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	json_t *p = ident_project_load(r, id);
	return p ? ident_reply_one(r, 200, "project", p) : r->err;
}

static int h_delete_project(struct http_req *r)
{
	const char *id = http_param(r, "project_id");
	json_t *p;
	bool is_dom;
	int rc = proj_load_enforced(r, "identity:delete_project", true, &p, &is_dom);
	if (rc < 0)
		return rc;
	if (is_dom) {
		if ((rc = ident_domain_delete(r, id)) < 0)
			return rc;
		return http_reply_empty(r, 204);
	}
	if ((rc = ident_begin(r)) < 0)
		return rc;
	int dberr;
	json_t *cur = project_get(r, id, &dberr);
	if (!cur) {
		if (dberr)
			return ident_db_error(r, dberr, "project");
		ident_rollback(r);
		return ident_not_found(r, "project", id);
	}
	bool imm = ident_immutable(cur);
	json_decref(cur);
	if (imm)
		return ident_abort(r, ERR_FORBIDDEN, "Unable to delete immutable project resource: "
				   "`%s. Set resource option \"immutable\" to false first.", id);
	struct db_conn *c = ident_db(r);
	json_t *kids = child_ids(c, id, false);
	if (!kids)
		return ident_db_error(r, ERR_INTERNAL, "project");
	size_t nkids = json_array_size(kids);
	json_decref(kids);
	if (nkids)
		return ident_abort(r, ERR_FORBIDDEN, "Cannot delete the project %s since it is not a leaf in the "
				   "hierarchy. Use the cascade option if you want to delete a whole subtree.", id);
	if ((rc = ident_assignments_purge(c, id)) < 0 ||
	    (rc = db_exec(c, "UPDATE users SET default_project_id = NULL WHERE default_project_id = ?", DB_TEXT(id))) < 0 ||
	    (rc = db_exec(c, "DELETE FROM project_tag WHERE project_id = ?", DB_TEXT(id))) < 0 ||
	    (rc = db_exec(c, "DELETE FROM project WHERE id = ?", DB_TEXT(id))) < 0 ||
	    (rc = ident_revoke(c, NULL, id, NULL, NULL, NULL)) < 0)
		return ident_db_error(r, rc, "project");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}
const struct route ident_routes_projects[] = {
	{ "GET", "/v3/projects", h_list_projects, NULL, 0 },
	{ "POST", "/v3/projects", h_create_project, NULL, 0 },
	{ "GET", "/v3/projects/{project_id}", h_get_project, NULL, 0 },
	{ "PATCH", "/v3/projects/{project_id}", h_update_project, NULL, 0 },
	{ "DELETE", "/v3/projects/{project_id}", h_delete_project, NULL, 0 },
	{ 0 },
};
