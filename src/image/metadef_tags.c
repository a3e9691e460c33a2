/* metadef_tags.c — /v2/metadefs/namespaces/{namespace}/tags: a namespace's tag definitions.
 * List (keyset pagination by tag name), create several at once (replacing the existing ones
 * unless X-Openstack-Append is true), create one by name, show, rename, delete one and all. */
#include "image/metadefs.h"
#include <stdio.h>
#include <string.h>

static const char *const tag_readonly[] = { "created_at", "updated_at", NULL };
static const struct mdef_kind tag_kind = {
	"img_metadef_tags", "tag", "tags", "Could not find metadata tag",
};

struct mdef_tag {
	const char *id, *name;
	int64_t created_at, updated_at;
};

static int dup_tag(struct http_req *r, const struct mdef_ns *ns, const char *name)
{
	return mdef_conflict(r, "A metadata tag with name=%s already exists in namespace=%s. (Please "
			     "note that metadata tag names are case insensitive).", name, ns->name);
}

int mdef_tag_insert(struct http_req *r, const struct mdef_ns *ns, const char *name, int64_t now)
{
	int rc = db_exec(img_db(r), "INSERT INTO img_metadef_tags (id, namespace_id, name, created_at,"
			 " updated_at) VALUES (?, ?, ?, ?, ?)", DB_TEXT(mdef_new_id(r)), DB_TEXT(ns->id),
			 DB_TEXT(name), DB_INT(now), DB_INT(now));
	if (rc == ERR_CONFLICT)
		return dup_tag(r, ns, name);
	return rc < 0 ? img_db_error(r, rc, "tag") : 0;
}

/* [{"name": ...}] of rows whose first column is a tag's name; frees rows. New reference. */
static json_t *names_of(struct db_rows *rows)
{
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(list, json_pack("{s:s}", "name", db_text(rows, i, 0)));
	db_rows_free(rows);
	return list;
}

json_t *mdef_tags_render(struct http_req *r, const struct mdef_ns *ns)
{
	struct db_rows *rows;
	return mdef_children_query(r, &tag_kind, "name", ns, &rows) < 0 ? NULL : names_of(rows);
}

static int tag_load(struct http_req *r, const struct mdef_ns *ns, const char *name, struct mdef_tag **out)
{
	struct db_rows *rows;
	int rc = mdef_child_query(r, &tag_kind, "id, name, created_at, updated_at", ns, name, &rows);
	if (rc < 0)
		return rc;
	struct mdef_tag *t = arena_alloc(r->arena, sizeof *t);
	t->id = arena_strdup(r->arena, db_text(rows, 0, 0));
	t->name = arena_strdup(r->arena, db_text(rows, 0, 1));
	t->created_at = db_int(rows, 0, 2);
	t->updated_at = db_int(rows, 0, 3);
	db_rows_free(rows);
	*out = t;
	return 0;
}

static json_t *tag_render(struct http_req *r, const char *name, int64_t created, int64_t updated)
{
	return json_pack("{s:s,s:s,s:s}", "name", name, "created_at", mdef_time(r, created),
			 "updated_at", mdef_time(r, updated));
}

int mdef_tags_list(struct http_req *r)
{
	static const char *const vis[] = { "public", "private", "shared", NULL };
	static const struct { const char *name; bool is_int; } keys[] = {
		{ "name", false }, { "created_at", true }, { "updated_at", true }, { "id", false },
	};
	bool desc;
	int64_t limit;
	int rc = mdef_list_params(r, vis, true, &desc, &limit);
	if (rc < 0)
		return rc;
	const char *sort_key = http_query(r, "sort_key");
	if (!sort_key)
		sort_key = "created_at";
	int k = -1;
	for (int i = 0; i < (int)(sizeof keys / sizeof keys[0]); i++)
		if (!strcmp(keys[i].name, sort_key))
			k = i;
	if (k < 0)
		return http_error(r, ERR_BADREQ, "Invalid sort key: %s", sort_key);
	struct mdef_ns *ns;
	if ((rc = mdef_ns_get(r, MDEF_NF_PLAIN, "get_metadef_tags", &ns)) < 0)
		return rc;
	bool single = !strcmp(sort_key, "created_at") || !strcmp(sort_key, "id");
	const char *dir = desc ? "DESC" : "ASC", *op = desc ? "<" : ">";
	char sql[1024];
	int n = snprintf(sql, sizeof sql, "SELECT name FROM img_metadef_tags WHERE namespace_id = ?");
	struct db_arg args[10];
	int na = 0;
	args[na++] = DB_TEXT(ns->id);
	const char *marker = http_query(r, "marker");
	if (marker && *marker) {
		struct mdef_tag *m;
		if ((rc = tag_load(r, ns, marker, &m)) < 0)
			return rc;
		struct db_arg mk = keys[k].is_int ? DB_INT(!strcmp(sort_key, "created_at") ? m->created_at
								: m->updated_at)
						  : DB_TEXT(!strcmp(sort_key, "name") ? m->name : m->id);
		if (single) {
			n += snprintf(sql + n, sizeof sql - (size_t)n,
				      " AND (created_at %s ? OR (created_at = ? AND id %s ?))", op, op);
			args[na++] = DB_INT(m->created_at);
			args[na++] = DB_INT(m->created_at);
			args[na++] = DB_TEXT(m->id);
		} else {
			n += snprintf(sql + n, sizeof sql - (size_t)n,
				      " AND (%s %s ? OR (%s = ? AND created_at %s ?) OR (%s = ? AND"
				      " created_at = ? AND id %s ?))", sort_key, op, sort_key, op,
				      sort_key, op);
			args[na++] = mk;
			args[na++] = mk;
			args[na++] = DB_INT(m->created_at);
			args[na++] = mk;
			args[na++] = DB_INT(m->created_at);
			args[na++] = DB_TEXT(m->id);
		}
	}
	if (single)
		n += snprintf(sql + n, sizeof sql - (size_t)n, " ORDER BY created_at %s, id %s", dir, dir);
	else
		n += snprintf(sql + n, sizeof sql - (size_t)n, " ORDER BY %s %s, created_at %s, id %s",
			      sort_key, dir, dir, dir);
	if (limit >= 0) {
		snprintf(sql + n, sizeof sql - (size_t)n, " LIMIT ?");
		args[na++] = DB_INT(limit);
	}
	args[na] = DB_END_;
	struct db_rows *rows;
	if ((rc = db_query_a(img_db(r), &rows, sql, args)) < 0)
		return img_db_error(r, rc, "tags");
	return http_reply_json(r, 200, json_pack("{s:o}", "tags", names_of(rows)));
}

int mdef_tags_create(struct http_req *r)
{
	json_t *body;
	int rc = mdef_body(r, tag_readonly, MDEF_S_TAG_LIST, &body);
	if (rc < 0)
		return rc;
	const json_t *tags = json_object_get(body, "tags");
	size_t i;
	json_t *e;
	json_array_foreach(tags, i, e)
		if (!mdef_name_ok(mdef_str(e, "name")))
			return http_error(r, ERR_BADREQ, "Couldn't create metadata tag: a name is longer "
					  "than %d characters", MDEF_NAME_MAX);
	struct mdef_ns *ns;
	if ((rc = mdef_ns_begin(r, MDEF_NF_PLAIN, "add_metadef_tags", &ns)) < 0)
		return rc;
	bool append = false;
	const char *h = http_header(r, "X-Openstack-Append");
	if (h)
		parse_bool(h, &append);
	if (json_array_size(tags) && !append &&
	    (rc = db_exec(img_db(r), "DELETE FROM img_metadef_tags WHERE namespace_id = ?",
			  DB_TEXT(ns->id))) < 0)
		return img_db_error(r, rc, "tags");
	int64_t now = time_now_us();
	json_t *out = json_array();
	json_array_foreach(tags, i, e) {
		const char *name = mdef_str(e, "name");
		/* a microsecond apart: the list's order (created_at, then id) keeps the request's */
		if ((rc = mdef_tag_insert(r, ns, name, now + (int64_t)i)) < 0) {
			json_decref(out);
			return rc;
		}
		json_array_append_new(out, json_pack("{s:s}", "name", name));
	}
	return mdef_commit_reply(r, 201, json_pack("{s:o}", "tags", out));
}

int mdef_tags_delete(struct http_req *r)
{
	static const char *const stmts[] = {
		"DELETE FROM img_metadef_tags WHERE namespace_id = ?", NULL,
	};
	return mdef_ns_purge(r, "delete_metadef_tags", stmts, "tags");
}

int mdef_tag_create(struct http_req *r)
{
	const char *name = http_param(r, "tag_name");
	struct mdef_ns *ns;
	int rc = mdef_ns_begin(r, MDEF_NF_PLAIN, NULL, &ns);
	if (rc < 0)
		return rc;
	json_t *doc = json_pack("{s:s}", "name", name);
	rc = mdef_validate(r, mdef_schema(MDEF_S_TAG), doc);
	json_decref(doc);
	if (rc < 0 || (rc = mdef_enforce(r, "add_metadef_tag", ns)) < 0) {
		img_rollback(r);
		return rc;
	}
	int64_t now = time_now_us();
	if ((rc = mdef_tag_insert(r, ns, name, now)) < 0)
		return rc;
	return mdef_commit_reply(r, 201, tag_render(r, name, now, now));
}

int mdef_tag_show(struct http_req *r)
{
	struct mdef_ns *ns;
	struct mdef_tag *t;
	int rc;
	if ((rc = mdef_ns_get(r, MDEF_NF_PLAIN, "get_metadef_tag", &ns)) < 0 ||
	    (rc = tag_load(r, ns, http_param(r, "tag_name"), &t)) < 0)
		return rc;
	return http_reply_json(r, 200, tag_render(r, t->name, t->created_at, t->updated_at));
}

int mdef_tag_update(struct http_req *r)
{
	json_t *body;
	int rc = mdef_body(r, tag_readonly, MDEF_S_TAG, &body);
	if (rc < 0)
		return rc;
	struct mdef_ns *ns;
	struct mdef_tag *t;
	if ((rc = mdef_ns_begin(r, MDEF_NF_PLAIN, "modify_metadef_tag", &ns)) < 0 ||
	    (rc = tag_load(r, ns, http_param(r, "tag_name"), &t)) < 0)
		return rc;
	const char *name = mdef_str(body, "name");
	int64_t now = time_now_us();
	rc = db_exec(img_db(r), "UPDATE img_metadef_tags SET name = ?, updated_at = ? WHERE id = ?",
		     DB_TEXT(name), DB_INT(now), DB_TEXT(t->id));
	if (rc == ERR_CONFLICT)
		return dup_tag(r, ns, name);
	if (rc < 0)
		return img_db_error(r, rc, "tag");
	return mdef_commit_reply(r, 200, tag_render(r, name, t->created_at, now));
}

int mdef_tag_delete(struct http_req *r)
{
	return mdef_child_delete(r, &tag_kind, MDEF_NF_PLAIN, "delete_metadef_tag", "tag_name");
}
