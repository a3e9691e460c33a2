/* providers.c — resource providers: the record (load, generation bump, removal, rendering) and
 * GET/POST /resource_providers, GET/PUT/DELETE /resource_providers/{uuid}, with parents and
 * roots from 1.14, re-parenting from 1.37 and the list filters name, uuid, member_of (1.3),
 * resources (1.4), in_tree (1.14) and required (1.18). */
#include "placement/plc.h"
#include <stdio.h>
#include <string.h>

#define RP_COLUMNS "uuid, name, generation, parent_uuid, root_uuid, created_at, updated_at"

static void rp_from_row(const struct db_rows *rows, int i, struct plc_rp *rp)
{
	memset(rp, 0, sizeof *rp);
	snprintf(rp->uuid, sizeof rp->uuid, "%s", db_text(rows, i, 0));
	snprintf(rp->name, sizeof rp->name, "%s", db_text(rows, i, 1));
	rp->generation = db_int(rows, i, 2);
	if (!db_isnull(rows, i, 3))
		snprintf(rp->parent, sizeof rp->parent, "%s", db_text(rows, i, 3));
	snprintf(rp->root, sizeof rp->root, "%s", db_text(rows, i, 4));
	rp->created_at = db_int(rows, i, 5);
	rp->updated_at = db_int(rows, i, 6);
}

int plc_rp_load(struct db_conn *c, const char *uuid, struct plc_rp *out)
{
	struct db_rows *rows;
	int rc = db_query(c, &rows, "SELECT " RP_COLUMNS " FROM plc_providers WHERE uuid = ?", DB_TEXT(uuid));
	if (rc < 0)
		return ERR_INTERNAL;
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return ERR_NOTFOUND;
	}
	rp_from_row(rows, 0, out);
	db_rows_free(rows);
	return 0;
}

int plc_rp_bump(struct db_conn *c, const char *uuid, int64_t expect, struct plc_rp *rp)
{
	int64_t now = time_now_us();
	int n = expect >= 0
		? db_exec(c, "UPDATE plc_providers SET generation = generation + 1, updated_at = ? "
			  "WHERE uuid = ? AND generation = ?", DB_INT(now), DB_TEXT(uuid), DB_INT(expect))
		: db_exec(c, "UPDATE plc_providers SET generation = generation + 1, updated_at = ? "
			  "WHERE uuid = ?", DB_INT(now), DB_TEXT(uuid));
	if (n < 0)
		return ERR_INTERNAL;
	if (n == 0)
		return ERR_CONFLICT;
	if (rp) {
		if (expect >= 0) {
			rp->generation = expect + 1;
		} else {
			struct plc_rp cur;
			if (plc_rp_load(c, uuid, &cur) == 0)
				rp->generation = cur.generation;
		}
		rp->updated_at = now;
	}
	return 0;
}

static bool any_row(struct db_conn *c, const char *sql, const char *arg, int *rc)
{
	struct db_rows *rows;
	*rc = db_query(c, &rows, sql, DB_TEXT(arg));
	if (*rc < 0)
		return false;
	bool found = db_rows_count(rows) > 0;
	db_rows_free(rows);
	return found;
}

int plc_rp_delete(struct db_conn *c, const char *uuid, struct plc_err *e)
{
	struct plc_rp rp;
	int rc = plc_rp_load(c, uuid, &rp);
	if (rc == ERR_NOTFOUND)
		return plc_fail(e, rc, NULL, "No resource provider with uuid %s found for delete", uuid);
	if (rc < 0)
		return plc_fail(e, rc, NULL, "database error");
	/* lock the row first so a concurrent allocation cannot slip in between check and delete */
	if (plc_rp_bump(c, uuid, -1, NULL) < 0)
		return plc_fail(e, ERR_INTERNAL, NULL, "database error");
	if (any_row(c, "SELECT 1 FROM plc_providers WHERE parent_uuid = ? LIMIT 1", uuid, &rc))
		return plc_fail(e, ERR_CONFLICT, PLC_CODE_RP_PARENT, "Unable to delete parent resource "
				"provider %s: It has child resource providers.", uuid);
	if (rc >= 0 && any_row(c, "SELECT 1 FROM plc_allocations WHERE provider_uuid = ? LIMIT 1", uuid, &rc))
		return plc_fail(e, ERR_CONFLICT, PLC_CODE_RP_INUSE, "Unable to delete resource provider "
				"%s: Resource provider has allocations.", uuid);
	if (rc < 0 ||
	    db_exec(c, "DELETE FROM plc_inventories WHERE provider_uuid = ?", DB_TEXT(uuid)) < 0 ||
	    db_exec(c, "DELETE FROM plc_provider_traits WHERE provider_uuid = ?", DB_TEXT(uuid)) < 0 ||
	    db_exec(c, "DELETE FROM plc_provider_aggregates WHERE provider_uuid = ?", DB_TEXT(uuid)) < 0 ||
	    db_exec(c, "DELETE FROM plc_providers WHERE uuid = ?", DB_TEXT(uuid)) < 0)
		return plc_fail(e, ERR_INTERNAL, NULL, "database error");
	return 0;
}

static json_t *link(const char *rel, const char *href)
{
	return json_pack("{s:s,s:s}", "rel", rel, "href", href);
}

json_t *plc_rp_render(struct http_req *r, const struct plc_rp *rp)
{
	const char *self = arena_printf(r->arena, PLC_PREFIX "/resource_providers/%s", rp->uuid);
	json_t *links = json_array();
	json_array_append_new(links, link("self", self));
	static const struct { const char *rel; int minor; } rels[] = {
		{ "inventories", 0 }, { "usages", 0 }, { "aggregates", 1 }, { "traits", 6 },
		{ "allocations", 11 },
	};
	for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++)
		if (plc_ge(r, 1, rels[i].minor))
			json_array_append_new(links, link(rels[i].rel, arena_printf(r->arena, "%s/%s", self,
										    rels[i].rel)));
	json_t *j = json_pack("{s:s,s:s,s:I,s:o}", "uuid", rp->uuid, "name", rp->name, "generation",
			      (json_int_t)rp->generation, "links", links);
	if (plc_ge(r, 1, 14)) {
		json_object_set_new(j, "parent_provider_uuid", *rp->parent ? json_string(rp->parent) : json_null());
		json_object_set_new(j, "root_provider_uuid", json_string(rp->root));
	}
	return j;
}

/* Loads the provider named by the path for a handler: 0, or 404 recorded in r. */
static int load_path_rp(struct http_req *r, struct plc_rp *rp)
{
	const char *uuid = http_param(r, "uuid");
	int rc = plc_rp_load(plc_db(r), uuid, rp);
	if (rc == ERR_NOTFOUND)
		return plc_error(r, rc, NULL, "No resource provider with uuid %s found", uuid);
	return rc < 0 ? plc_db_error(r, rc) : 0;
}

static int show(struct http_req *r)
{
	struct plc_rp rp;
	int rc = load_path_rp(r, &rp);
	if (rc < 0)
		return rc;
	return plc_reply(r, 200, plc_rp_render(r, &rp), rp.updated_at);
}

/* The parent_provider_uuid member (1.14): 0 with *parent "" for null/absent, or 400. */
static int body_parent(struct http_req *r, const json_t *body, char parent[37], bool *present)
{
	json_t *pv = json_object_get(body, "parent_provider_uuid");
	*present = pv != NULL;
	parent[0] = 0;
	if (!pv || json_is_null(pv))
		return 0;
	if (!json_is_string(pv) || !plc_uuid_like(json_string_value(pv), parent))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not valid under any "
				 "of the given schemas", plc_repr(r, pv));
	return 0;
}

static int create(struct http_req *r)
{
	int rc = plc_require_json(r);
	json_t *body;
	if (rc < 0 || (rc = plc_body(r, &body)) < 0)
		return rc;
	bool v14 = plc_ge(r, 1, 14);
	static const char *const allowed[] = { "name", "uuid", NULL };
	static const char *const allowed14[] = { "name", "uuid", "parent_provider_uuid", NULL };
	static const char *const required[] = { "name", NULL };
	const char *name, *uuid_in;
	if ((rc = plc_v_object(r, body, v14 ? allowed14 : allowed, required)) < 0 ||
	    (rc = plc_v_string(r, body, "name", 0, PLC_NAME_MAX, &name)) < 0 ||
	    (rc = plc_v_string(r, body, "uuid", 0, SIZE_MAX, &uuid_in)) < 0)
		return rc;
	char uuid[37], parent[37];
	bool has_parent;
	if (uuid_in && !plc_uuid_like(uuid_in, uuid))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: '%s' is not a 'uuid'", uuid_in);
	if (!uuid_in || !*uuid_in)
		uuid_dashed(uuid);
	if (v14 && (rc = body_parent(r, body, parent, &has_parent)) < 0)
		return rc;
	if (!v14)
		parent[0] = 0;
	if (!*name)
		return plc_error(r, ERR_BADREQ, NULL, "Unable to create resource provider \"%s\", %s: Object "
				 "action create failed because: name is required", name, uuid);
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	char root[37];
	snprintf(root, sizeof root, "%s", uuid);
	int64_t now = time_now_us();
	struct plc_rp prp;
	int found;
	if (any_row(c, "SELECT 1 FROM plc_providers WHERE uuid = ?", uuid, &found)) {
		rc = plc_error(r, ERR_CONFLICT, PLC_CODE_DUPLICATE, "Conflicting resource provider uuid: "
			       "%s already exists.", uuid);
		goto out;
	}
	if (found >= 0 && any_row(c, "SELECT 1 FROM plc_providers WHERE name = ?", name, &found)) {
		rc = plc_error(r, ERR_CONFLICT, PLC_CODE_DUPLICATE, "Conflicting resource provider name: "
			       "%s already exists.", name);
		goto out;
	}
	if (found < 0) {
		rc = plc_db_error(r, found);
		goto out;
	}
	if (*parent) {
		if (!strcmp(parent, uuid)) {
			rc = plc_error(r, ERR_BADREQ, NULL, "Unable to create resource provider \"%s\", %s: "
				       "Object action create failed because: parent provider UUID cannot be "
				       "same as UUID. Please set parent provider UUID to None if there is no "
				       "parent.", name, uuid);
			goto out;
		}
		int lrc = plc_rp_load(c, parent, &prp);
		if (lrc == ERR_NOTFOUND) {
			rc = plc_error(r, ERR_BADREQ, NULL, "Unable to create resource provider \"%s\", %s: "
				       "Object action create failed because: parent provider UUID does not "
				       "exist.", name, uuid);
			goto out;
		}
		if (lrc < 0) {
			rc = plc_db_error(r, lrc);
			goto out;
		}
		snprintf(root, sizeof root, "%s", prp.root);
	}
	rc = db_exec(c, "INSERT INTO plc_providers (uuid, name, generation, parent_uuid, root_uuid, "
		     "created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?)", DB_TEXT(uuid), DB_TEXT(name),
		     DB_TEXT(*parent ? parent : NULL), DB_TEXT(root), DB_INT(now), DB_INT(now));
	if (rc == ERR_CONFLICT)
		rc = plc_error(r, ERR_CONFLICT, PLC_CODE_DUPLICATE, "Conflicting resource provider name: "
			       "%s already exists.", name);
	else if (rc < 0)
		rc = plc_db_error(r, rc);
out:
	rc = plc_tx_end(c, own, rc < 0 ? rc : 0);
	if (rc < 0)
		return r->err ? rc : plc_db_error(r, rc);
	http_add_header(r, "Location", arena_printf(r->arena, "%s" PLC_PREFIX "/resource_providers/%s",
						    r->base_url, uuid));
	if (!plc_ge(r, 1, 20))
		return http_reply_empty(r, 201);
	struct plc_rp rp = { 0 };
	snprintf(rp.uuid, sizeof rp.uuid, "%s", uuid);
	snprintf(rp.name, sizeof rp.name, "%s", name);
	snprintf(rp.parent, sizeof rp.parent, "%s", parent);
	snprintf(rp.root, sizeof rp.root, "%s", root);
	rp.created_at = rp.updated_at = now;
	return plc_reply(r, 200, plc_rp_render(r, &rp), now);
}

/* True when maybe_descendant is rp itself or below it (walking up the parents). */
static int in_subtree(struct db_conn *c, const char *rp, const char *maybe_descendant, bool *yes)
{
	char cur[37];
	snprintf(cur, sizeof cur, "%s", maybe_descendant);
	*yes = false;
	for (int depth = 0; *cur && depth < 1000; depth++) {
		if (!strcmp(cur, rp)) {
			*yes = true;
			return 0;
		}
		struct plc_rp p;
		int rc = plc_rp_load(c, cur, &p);
		if (rc < 0)
			return rc == ERR_NOTFOUND ? 0 : rc;
		snprintf(cur, sizeof cur, "%s", p.parent);
	}
	return 0;
}

/* Sets root_uuid of rp's whole subtree to root. */
static int reroot(struct db_conn *c, const char *rp, const char *root, int depth)
{
	if (depth > 1000)
		return ERR_INTERNAL;
	if (db_exec(c, "UPDATE plc_providers SET root_uuid = ? WHERE uuid = ?", DB_TEXT(root), DB_TEXT(rp)) < 0)
		return ERR_INTERNAL;
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT uuid FROM plc_providers WHERE parent_uuid = ?", DB_TEXT(rp)) < 0)
		return ERR_INTERNAL;
	int rc = 0;
	for (int i = 0; i < db_rows_count(rows) && rc == 0; i++)
		rc = reroot(c, db_text(rows, i, 0), root, depth + 1);
	db_rows_free(rows);
	return rc;
}

static int update(struct http_req *r)
{
	int rc = plc_require_json(r);
	if (rc < 0)
		return rc;
	struct plc_rp rp;
	if ((rc = load_path_rp(r, &rp)) < 0)
		return rc;
	json_t *body;
	if ((rc = plc_body(r, &body)) < 0)
		return rc;
	bool v14 = plc_ge(r, 1, 14);
	static const char *const allowed[] = { "name", NULL };
	static const char *const allowed14[] = { "name", "parent_provider_uuid", NULL };
	static const char *const required[] = { "name", NULL };
	const char *name;
	if ((rc = plc_v_object(r, body, v14 ? allowed14 : allowed, required)) < 0 ||
	    (rc = plc_v_string(r, body, "name", 0, PLC_NAME_MAX, &name)) < 0)
		return rc;
	char parent[37];
	bool has_parent = false;
	if (v14 && (rc = body_parent(r, body, parent, &has_parent)) < 0)
		return rc;
	bool reparent_ok = plc_ge(r, 1, 37);
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	char new_root[37];
	snprintf(new_root, sizeof new_root, "%s", rp.root);
	bool reroot_needed = false;
	if (has_parent && *parent) {
		struct plc_rp prp;
		int lrc = plc_rp_load(c, parent, &prp);
		if (lrc == ERR_NOTFOUND) {
			rc = plc_error(r, ERR_BADREQ, NULL, "Unable to save resource provider %s: Object action "
				       "create failed because: parent provider UUID does not exist.", rp.uuid);
			goto out;
		}
		if (lrc < 0) {
			rc = plc_db_error(r, lrc);
			goto out;
		}
		if (*rp.parent && strcmp(rp.parent, parent) && !reparent_ok) {
			rc = plc_error(r, ERR_BADREQ, NULL, "Unable to save resource provider %s: Object action "
				       "update failed because: re-parenting a provider is not currently "
				       "allowed.", rp.uuid);
			goto out;
		}
		bool loop;
		if ((lrc = in_subtree(c, rp.uuid, parent, &loop)) < 0) {
			rc = plc_db_error(r, lrc);
			goto out;
		}
		if (loop) {
			rc = plc_error(r, ERR_BADREQ, NULL, "Unable to save resource provider %s: Object action "
				       "update failed because: creating loop in the provider tree is not "
				       "allowed.", rp.uuid);
			goto out;
		}
		snprintf(new_root, sizeof new_root, "%s", prp.root);
		reroot_needed = strcmp(new_root, rp.root) != 0;
		snprintf(rp.parent, sizeof rp.parent, "%s", parent);
	} else if (has_parent && *rp.parent) {
		if (!reparent_ok) {
			rc = plc_error(r, ERR_BADREQ, NULL, "Unable to save resource provider %s: Object action "
				       "update failed because: un-parenting a provider is not currently "
				       "allowed.", rp.uuid);
			goto out;
		}
		snprintf(new_root, sizeof new_root, "%s", rp.uuid);
		reroot_needed = true;
		rp.parent[0] = 0;
	}
	int found = 0;
	if (strcmp(name, rp.name) &&
	    any_row(c, "SELECT 1 FROM plc_providers WHERE name = ?", name, &found)) {
		rc = plc_error(r, ERR_CONFLICT, PLC_CODE_DUPLICATE, "Conflicting resource provider %s "
			       "already exists.", name);
		goto out;
	}
	if (found < 0) {
		rc = plc_db_error(r, found);
		goto out;
	}
	int64_t now = time_now_us();
	rc = db_exec(c, "UPDATE plc_providers SET name = ?, parent_uuid = ?, updated_at = ? WHERE uuid = ?",
		     DB_TEXT(name), DB_TEXT(*rp.parent ? rp.parent : NULL), DB_INT(now), DB_TEXT(rp.uuid));
	if (rc == ERR_CONFLICT) {
		rc = plc_error(r, ERR_CONFLICT, PLC_CODE_DUPLICATE, "Conflicting resource provider %s "
			       "already exists.", name);
		goto out;
	}
	if (rc < 0 || (reroot_needed && (rc = reroot(c, rp.uuid, new_root, 0)) < 0)) {
		rc = plc_db_error(r, rc);
		goto out;
	}
	snprintf(rp.name, sizeof rp.name, "%s", name);
	snprintf(rp.root, sizeof rp.root, "%s", new_root);
	rp.updated_at = now;
	rc = 0;
out:
	rc = plc_tx_end(c, own, rc);
	if (rc < 0)
		return r->err ? rc : plc_db_error(r, rc);
	return plc_reply(r, 200, plc_rp_render(r, &rp), rp.updated_at);
}

static int delete(struct http_req *r)
{
	const char *uuid = http_param(r, "uuid");
	struct db_conn *c = plc_db(r);
	bool own;
	int rc = plc_tx_begin(c, &own);
	if (rc < 0)
		return plc_db_error(r, rc);
	struct plc_err e = { 0 };
	rc = plc_tx_end(c, own, plc_rp_delete(c, uuid, &e));
	if (rc == ERR_INTERNAL)
		return plc_db_error(r, rc);
	if (rc < 0)
		return plc_error_from(r, rc, &e);
	return http_reply_empty(r, 204);
}

/* --- GET /resource_providers --- */

struct list_args {
	struct http_req *r;
	const char *const *allowed;
	const char *bad;
	int nmember_of, nrequired;
	const char *member_of[64], *required[64];
	const char *name, *uuid, *in_tree, *resources;   /* the last value of each, as webob reads */
};

static int collect(void *ctx, const char *name, const char *value)
{
	struct list_args *la = ctx;
	bool ok = false;
	for (const char *const *a = la->allowed; *a; a++)
		if (!strcmp(*a, name))
			ok = true;
	if (!ok) {
		la->bad = name;
		return 1;
	}
	if (!strcmp(name, "member_of") && la->nmember_of < 64)
		la->member_of[la->nmember_of++] = value ? value : "";
	if (!strcmp(name, "required") && la->nrequired < 64)
		la->required[la->nrequired++] = value ? value : "";
	const char *v = value ? value : "";
	if (!strcmp(name, "name"))
		la->name = v;
	else if (!strcmp(name, "uuid"))
		la->uuid = v;
	else if (!strcmp(name, "in_tree"))
		la->in_tree = v;
	else if (!strcmp(name, "resources"))
		la->resources = v;
	return 0;
}

/* Appends "AND [NOT] EXISTS (SELECT 1 FROM table WHERE provider_uuid = p.uuid AND col IN (...))". */
static void exists_in(struct sqlbuf *q, bool not, const char *table, const char *col,
		      const char *const *vals, int n)
{
	sqlbuf_add(q, not ? " AND NOT EXISTS (SELECT 1 FROM " : " AND EXISTS (SELECT 1 FROM ");
	sqlbuf_add(q, table);
	sqlbuf_add(q, " x WHERE x.provider_uuid = p.uuid AND x.");
	sqlbuf_add(q, col);
	sqlbuf_add(q, " IN ");
	sqlbuf_in(q, vals, n);
	sqlbuf_add(q, ")");
}

static int list(struct http_req *r)
{
	static const char *const keys[][7] = {
		{ "name", "uuid", NULL },
		{ "name", "uuid", "member_of", NULL },
		{ "name", "uuid", "member_of", "resources", NULL },
		{ "name", "uuid", "member_of", "resources", "in_tree", NULL },
		{ "name", "uuid", "member_of", "resources", "in_tree", "required", NULL },
	};
	int kv = plc_ge(r, 1, 18) ? 4 : plc_ge(r, 1, 14) ? 3 : plc_ge(r, 1, 4) ? 2 : plc_ge(r, 1, 3) ? 1 : 0;
	struct list_args la = { .r = r, .allowed = keys[kv] };
	http_query_each(r, collect, &la);
	if (la.bad)
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: Additional "
				 "properties are not allowed ('%s' was unexpected)", la.bad);
	const char *name = la.name, *uuid = la.uuid, *in_tree = la.in_tree, *resources = la.resources;
	if (uuid && !plc_uuid_like(uuid, NULL))
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: '%s' is not a 'uuid'", uuid);
	if (in_tree && !plc_uuid_like(in_tree, NULL))
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: '%s' is not a 'uuid'", in_tree);
	char msg[512];
	struct plc_aggq *aggs = arena_alloc(r->arena, sizeof *aggs);
	if (la.nmember_of > 1 && !plc_ge(r, 1, 24))
		return plc_error(r, ERR_BADREQ, NULL, "Multiple member_of parameters are not supported");
	for (int i = 0; i < la.nmember_of; i++)
		if (plc_parse_member_of(r->arena, la.member_of[i], aggs, msg, sizeof msg))
			return plc_error(r, ERR_BADREQ, NULL, "%s", msg);
	if (aggs->nforbidden && !plc_ge(r, 1, 32))
		return plc_error(r, ERR_BADREQ, NULL, "Forbidden member_of parameters are not supported in "
				 "the specified microversion");
	struct plc_traitq *traits = arena_alloc(r->arena, sizeof *traits);
	int first = plc_ge(r, 1, 39) ? 0 : la.nrequired - 1;     /* before 1.39 the last one counts */
	for (int i = first < 0 ? 0 : first; i < la.nrequired; i++)
		if (plc_parse_required(r->arena, la.required[i], plc_ge(r, 1, 22), plc_ge(r, 1, 39),
				       traits, msg, sizeof msg))
			return plc_error(r, ERR_BADREQ, NULL, "%s", msg);
	struct plc_amount amounts[32];
	int namounts = 0;
	if (resources && plc_parse_resources(resources, amounts, 32, &namounts, msg, sizeof msg))
		return plc_error(r, ERR_BADREQ, NULL, "%s", msg);
	struct db_conn *c = plc_db(r);
	for (int i = 0; i < traits->nreq; i++)
		if (!plc_trait_exists(c, traits->req[i]))
			return plc_error(r, ERR_BADREQ, NULL, "Invalid trait(s) in \"required\" parameter: No "
					 "such trait(s): %s.", traits->req[i]);
	for (int i = 0; i < traits->nforbidden; i++)
		if (!plc_trait_exists(c, traits->forbidden[i]))
			return plc_error(r, ERR_BADREQ, NULL, "Invalid trait(s) in \"required\" parameter: No "
					 "such trait(s): %s.", traits->forbidden[i]);
	for (int i = 0; i < namounts; i++)
		if (!plc_rc_exists(c, amounts[i].rc))
			return plc_error(r, ERR_BADREQ, NULL, "Invalid resource class in resources parameter: "
					 "No such resource class %s.", amounts[i].rc);

	struct sqlbuf q;
	sqlbuf_init(&q, r->arena, "SELECT p.uuid, p.name, p.generation, p.parent_uuid, p.root_uuid, "
		     "p.created_at, p.updated_at FROM plc_providers p WHERE 1 = 1");
	if (name) {
		sqlbuf_add(&q, " AND p.name = ?");
		sqlbuf_text(&q, name);
	}
	if (uuid) {
		sqlbuf_add(&q, " AND p.uuid = ?");
		sqlbuf_text(&q, uuid);
	}
	if (in_tree) {
		char d[37];
		plc_uuid_like(in_tree, d);
		sqlbuf_add(&q, " AND p.root_uuid = (SELECT t.root_uuid FROM plc_providers t WHERE t.uuid = ?)");
		sqlbuf_text(&q, arena_strdup(r->arena, d));
	}
	for (int s = 0; s < traits->nsets; s++)
		exists_in(&q, false, "plc_provider_traits", "trait", traits->req + traits->set_start[s],
			  traits->set_len[s]);
	if (traits->nforbidden)
		exists_in(&q, true, "plc_provider_traits", "trait", traits->forbidden, traits->nforbidden);
	for (int s = 0; s < aggs->nsets; s++)
		exists_in(&q, false, "plc_provider_aggregates", "aggregate", aggs->req + aggs->set_start[s],
			  aggs->set_len[s]);
	if (aggs->nforbidden)
		exists_in(&q, true, "plc_provider_aggregates", "aggregate", aggs->forbidden, aggs->nforbidden);
	for (int i = 0; i < namounts; i++) {
		sqlbuf_add(&q, " AND EXISTS (SELECT 1 FROM plc_inventories i WHERE i.provider_uuid = p.uuid"
			    " AND i.rc = ? AND i.min_unit <= ? AND i.max_unit >= ? AND MOD(?, i.step_size) = 0"
			    " AND (i.total - i.reserved) * i.allocation_ratio >= ? + COALESCE((SELECT"
			    " SUM(a.used) FROM plc_allocations a WHERE a.provider_uuid = i.provider_uuid"
			    " AND a.rc = i.rc), 0))");
		sqlbuf_text(&q, amounts[i].rc);
		sqlbuf_int(&q, amounts[i].amount);
		sqlbuf_int(&q, amounts[i].amount);
		sqlbuf_int(&q, amounts[i].amount);
		sqlbuf_int(&q, amounts[i].amount);
	}
	sqlbuf_add(&q, " ORDER BY p.created_at, p.uuid");
	struct db_rows *rows;
	int rc = db_query_a(c, &rows, q.text, sqlbuf_args(&q));
	if (rc < 0)
		return plc_db_error(r, rc);
	json_t *arr = json_array();
	int64_t last = 0;
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct plc_rp rp;
		rp_from_row(rows, i, &rp);
		if (rp.updated_at > last)
			last = rp.updated_at;
		json_array_append_new(arr, plc_rp_render(r, &rp));
	}
	db_rows_free(rows);
	return plc_reply(r, 200, json_pack("{s:o}", "resource_providers", arr), last);
}

const struct route plc_routes_providers[] = {
	{ "GET", "/resource_providers", list, "placement:resource_providers:list", 0, NULL },
	{ "POST", "/resource_providers", create, "placement:resource_providers:create", 0, NULL },
	{ "GET", "/resource_providers/{uuid}", show, "placement:resource_providers:show", 0, NULL },
	{ "PUT", "/resource_providers/{uuid}", update, "placement:resource_providers:update", 0, NULL },
	{ "DELETE", "/resource_providers/{uuid}", delete, "placement:resource_providers:delete", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
