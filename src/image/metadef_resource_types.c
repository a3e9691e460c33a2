/* metadef_resource_types.c — resource types (GET /v2/metadefs/resource_types: the known
 * kinds of resource a namespace may apply to) and a namespace's associations with them
 * (/v2/metadefs/namespaces/{namespace}/resource_types: list, create — which makes an unknown
 * type known — and delete). */
#include "image/metadefs.h"
#include <stdio.h>
#include <string.h>

static const char *const rta_readonly[] = { "created_at", "updated_at", NULL };

/* The id of resource type name, or NULL (*id) when unknown. */
static int rt_id(struct http_req *r, const char *name, const char **id)
{
	struct db_rows *rows;
	int rc = db_query(img_db(r), &rows, "SELECT id FROM img_metadef_resource_types WHERE name = ?",
			  DB_TEXT(name));
	if (rc < 0)
		return img_db_error(r, rc, "resource type");
	*id = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
	db_rows_free(rows);
	return 0;
}

int mdef_rta_insert(struct http_req *r, const struct mdef_ns *ns, const json_t *assoc, int64_t now)
{
	const char *name = mdef_str(assoc, "name"), *id;
	int rc = rt_id(r, name, &id);
	if (rc < 0)
		return rc;
	if (!id) {
		id = mdef_new_id(r);
		rc = db_exec(img_db(r), "INSERT INTO img_metadef_resource_types (id, name, protected,"
			     " created_at, updated_at) VALUES (?, ?, 0, ?, ?)", DB_TEXT(id), DB_TEXT(name),
			     DB_INT(now), DB_INT(now));
		if (rc == ERR_CONFLICT)
			return mdef_conflict(r, "A metadata definition resource-type with name=%s already "
					     "exists.", name);
		if (rc < 0)
			return img_db_error(r, rc, "resource type");
	}
	rc = db_exec(img_db(r), "INSERT INTO img_metadef_ns_resource_types (resource_type_id,"
		     " namespace_id, properties_target, prefix, created_at, updated_at)"
		     " VALUES (?, ?, ?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(ns->id),
		     DB_TEXT(mdef_str(assoc, "properties_target")), DB_TEXT(mdef_str(assoc, "prefix")),
		     DB_INT(now), DB_INT(now));
	if (rc == ERR_CONFLICT)
		return mdef_conflict(r, "The metadata definition resource-type association of "
				     "resource-type=%s to namespace=%s already exists.", name, ns->name);
	return rc < 0 ? img_db_error(r, rc, "resource type association") : 0;
}

static json_t *rta_render(struct http_req *r, const char *name, const char *prefix,
			  const char *target, int64_t created, int64_t updated)
{
	json_t *j = json_pack("{s:s}", "name", name);
	if (prefix)
		json_object_set_new(j, "prefix", json_string(prefix));
	if (target)
		json_object_set_new(j, "properties_target", json_string(target));
	json_object_set_new(j, "created_at", json_string(mdef_time(r, created)));
	json_object_set_new(j, "updated_at", json_string(mdef_time(r, updated)));
	return j;
}

json_t *mdef_rtas_render(struct http_req *r, const struct mdef_ns *ns)
{
	struct db_rows *rows;
	int rc = db_query(img_db(r), &rows, "SELECT t.name, a.prefix, a.properties_target, a.created_at,"
			  " a.updated_at FROM img_metadef_ns_resource_types a JOIN img_metadef_resource_types t"
			  " ON t.id = a.resource_type_id WHERE a.namespace_id = ? ORDER BY a.created_at, t.name",
			  DB_TEXT(ns->id));
	if (rc < 0) {
		img_db_error(r, rc, "resource type associations");
		return NULL;
	}
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(list, rta_render(r, db_text(rows, i, 0), db_text(rows, i, 1),
						       db_text(rows, i, 2), db_int(rows, i, 3),
						       db_int(rows, i, 4)));
	db_rows_free(rows);
	return list;
}

/* The PostgreSQL engine binds at most 64 parameters per statement: ask in chunks. */
#define IDS_PER_QUERY 48

static int rtas_chunk(struct http_req *r, json_t *map, const char *const *ids, int n)
{
	char sql[640];
	size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT a.namespace_id, t.name, a.prefix,"
		" a.properties_target, a.created_at, a.updated_at FROM img_metadef_ns_resource_types a"
		" JOIN img_metadef_resource_types t ON t.id = a.resource_type_id WHERE a.namespace_id IN (");
	struct db_arg args[IDS_PER_QUERY + 1];
	for (int i = 0; i < n; i++) {
		len += (size_t)snprintf(sql + len, sizeof sql - len, i ? ", ?" : "?");
		args[i] = DB_TEXT(ids[i]);
	}
	snprintf(sql + len, sizeof sql - len, ") ORDER BY a.created_at, t.name");
	args[n] = DB_END_;
	struct db_rows *rows;
	int rc = db_query_a(img_db(r), &rows, sql, args);
	if (rc < 0)
		return img_db_error(r, rc, "resource type associations");
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *ns = db_text(rows, i, 0);
		json_t *list = json_object_get(map, ns);
		if (!list) {
			list = json_array();
			json_object_set_new(map, ns, list);
		}
		json_array_append_new(list, rta_render(r, db_text(rows, i, 1), db_text(rows, i, 2),
						       db_text(rows, i, 3), db_int(rows, i, 4),
						       db_int(rows, i, 5)));
	}
	db_rows_free(rows);
	return 0;
}

json_t *mdef_rtas_render_many(struct http_req *r, const char *const *ids, int n)
{
	json_t *map = json_object();
	for (int i = 0; i < n; i += IDS_PER_QUERY) {
		if (rtas_chunk(r, map, ids + i, n - i < IDS_PER_QUERY ? n - i : IDS_PER_QUERY) < 0) {
			json_decref(map);
			return NULL;
		}
	}
	return map;
}

int mdef_rta_prefix(struct http_req *r, const struct mdef_ns *ns, const char *name,
		    const char **prefix)
{
	const char *id;
	int rc = rt_id(r, name, &id);
	if (rc < 0)
		return rc;
	if (!id)
		return http_error(r, ERR_NOTFOUND, "The metadata definition resource-type with name=%s, "
				  "was not found.", name);
	struct db_rows *rows;
	rc = db_query(img_db(r), &rows, "SELECT prefix FROM img_metadef_ns_resource_types"
		      " WHERE resource_type_id = ? AND namespace_id = ?", DB_TEXT(id), DB_TEXT(ns->id));
	if (rc < 0)
		return img_db_error(r, rc, "resource type association");
	bool found = db_rows_count(rows) > 0;
	*prefix = found ? arena_strdup(r->arena, db_text(rows, 0, 0)) : NULL;
	db_rows_free(rows);
	if (!found)
		return http_error(r, ERR_NOTFOUND, "The metadata definition resource-type association of "
				  "resource-type=%s to namespace=%s, was not found.", name, ns->name);
	return 0;
}

int mdef_resource_types_list(struct http_req *r)
{
	if (!mdef_allowed(r, "list_metadef_resource_types", NULL))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete "
				  "list_metadef_resource_types action.");
	struct db_rows *rows;
	int rc = db_query(img_db(r), &rows, "SELECT name, created_at, updated_at FROM"
			  " img_metadef_resource_types ORDER BY created_at, name");
	if (rc < 0)
		return img_db_error(r, rc, "resource types");
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name", db_text(rows, i, 0),
			"created_at", mdef_time(r, db_int(rows, i, 1)),
			"updated_at", mdef_time(r, db_int(rows, i, 2))));
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "resource_types", list));
}

int mdef_rtas_list(struct http_req *r)
{
	struct mdef_ns *ns;
	int rc = mdef_ns_get(r, MDEF_NF_PLAIN, "list_metadef_resource_types", &ns);
	if (rc < 0)
		return rc;
	json_t *list = mdef_rtas_render(r, ns);
	if (!list)
		return ERR_INTERNAL;
	if (!mdef_allowed(r, "get_metadef_resource_type", ns))
		json_array_clear(list);
	return http_reply_json(r, 200, json_pack("{s:o}", "resource_type_associations", list));
}

int mdef_rta_create(struct http_req *r)
{
	json_t *body;
	int rc = mdef_body(r, rta_readonly, MDEF_S_RESOURCE_TYPE, &body);
	if (rc < 0)
		return rc;
	struct mdef_ns *ns;
	if ((rc = mdef_ns_begin(r, MDEF_NF_PLAIN, "add_metadef_resource_type_association", &ns)) < 0)
		return rc;
	int64_t now = time_now_us();
	if ((rc = mdef_rta_insert(r, ns, body, now)) < 0)
		return rc;
	return mdef_commit_reply(r, 201, rta_render(r, mdef_str(body, "name"), mdef_str(body, "prefix"),
						    mdef_str(body, "properties_target"), now, now));
}

int mdef_rta_delete(struct http_req *r)
{
	const char *name = http_param(r, "resource_type"), *id = NULL;
	struct mdef_ns *ns;
	int rc;
	/* rt_id fails only as the database fails, which rolls back */
	if ((rc = mdef_ns_begin(r, MDEF_NF_PLAIN, "remove_metadef_resource_type_association",
				&ns)) < 0 || (rc = rt_id(r, name, &id)) < 0)
		return rc;
	int n = 0;
	if (id) {
		struct db_rows *rows;
		rc = db_query(img_db(r), &rows, "SELECT 1 FROM img_metadef_ns_resource_types"
			      " WHERE resource_type_id = ? AND namespace_id = ?", DB_TEXT(id), DB_TEXT(ns->id));
		if (rc < 0)
			return img_db_error(r, rc, "resource type association");
		n = db_rows_count(rows);
		db_rows_free(rows);
	}
	if (!n) {
		img_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Failed to find resource type %s to delete", name);
	}
	if ((rc = mdef_protected(r, ns, "resource-type-association", name)) < 0)
		return rc;
	rc = db_exec(img_db(r), "DELETE FROM img_metadef_ns_resource_types WHERE resource_type_id = ?"
		     " AND namespace_id = ?", DB_TEXT(id), DB_TEXT(ns->id));
	if (rc < 0)
		return img_db_error(r, rc, "resource type association");
	return mdef_commit_reply(r, 204, NULL);
}
