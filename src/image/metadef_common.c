/* metadef_common.c — what every metadef handler needs: loading a namespace the caller may
 * see, Glance's policy targets and its Forbidden→NotFound rule, the opening and end of the
 * write handlers, the deletes that every kind of namespace content shares, request bodies
 * checked against the schemas, the list query parameters, and the namespace's JSON. */
#include "image/metadefs.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Glance's database visibility: admins see everything, others public namespaces and their
 * project's. */
static bool visible(struct http_req *r, const struct mdef_ns *ns)
{
	if (img_is_admin(r) || !ns->owner || !strcmp(ns->visibility, "public"))
		return true;
	const char *proj = img_caller_project(r);
	return *proj && !strcmp(proj, ns->owner);
}

static int not_found(struct http_req *r, const char *name, enum mdef_nf style, bool hidden)
{
	if (hidden && style == MDEF_NF_MARKER)
		return http_error(r, ERR_FORBIDDEN, "Forbidding request, metadata definition "
				  "namespace=%s is not visible.", name);
	if (style == MDEF_NF_PLAIN || (hidden && style == MDEF_NF_OBJECT))
		return http_error(r, ERR_NOTFOUND, "Namespace %s not found", name);
	if (hidden)
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	return http_error(r, ERR_NOTFOUND, "Metadata definition namespace=%s was not found.", name);
}

void mdef_ns_from_row(struct http_req *r, const struct db_rows *rows, int i, struct mdef_ns *ns)
{
	struct arena *a = r->arena;
	ns->id = arena_strdup(a, db_text(rows, i, 0));
	ns->name = arena_strdup(a, db_text(rows, i, 1));
	ns->display_name = arena_strdup(a, db_text(rows, i, 2));
	ns->description = arena_strdup(a, db_text(rows, i, 3));
	ns->visibility = arena_strdup(a, db_text(rows, i, 4));
	ns->owner = arena_strdup(a, db_text(rows, i, 5));
	ns->protected_ = db_bool(rows, i, 6);
	ns->created_at = db_int(rows, i, 7);
	ns->updated_at = db_int(rows, i, 8);
}

int mdef_ns_load(struct http_req *r, const char *name, enum mdef_nf style, struct mdef_ns **out)
{
	struct db_rows *rows;
	int rc = db_query(img_db(r), &rows, "SELECT " MDEF_NS_COLUMNS " FROM img_metadef_namespaces"
			  " WHERE namespace = ?", DB_TEXT(name));
	if (rc < 0)
		return img_db_error(r, rc, "namespace");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return not_found(r, name, style, false);
	}
	struct mdef_ns *ns = arena_alloc(r->arena, sizeof *ns);
	mdef_ns_from_row(r, rows, 0, ns);
	db_rows_free(rows);
	if (!visible(r, ns))
		return not_found(r, name, style, true);
	*out = ns;
	return 0;
}

bool mdef_allowed(struct http_req *r, const char *rule, const struct mdef_ns *ns)
{
	json_t *t = json_object();
	if (ns) {
		json_object_set_new(t, "project_id", ns->owner ? json_string(ns->owner) : json_null());
		json_object_set_new(t, "visibility", json_string(ns->visibility));
	} else {
		json_object_set_new(t, "project_id", json_string(img_caller_project(r)));
	}
	bool ok = auth_allowed(img_svc(r)->policy, r, rule, t);
	json_decref(t);
	return ok;
}

int mdef_enforce(struct http_req *r, const char *rule, const struct mdef_ns *ns)
{
	if (mdef_allowed(r, rule, ns))
		return 0;
	if (!strcmp(rule, "get_metadef_namespace") || !mdef_allowed(r, "get_metadef_namespace", ns))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete %s action.", rule);
}

/* --- the shapes of the write handlers --- */

int mdef_ns_get(struct http_req *r, enum mdef_nf style, const char *rule, struct mdef_ns **ns)
{
	int rc = mdef_ns_load(r, http_param(r, "namespace"), style, ns);
	return rc < 0 || !rule ? rc : mdef_enforce(r, rule, *ns);
}

int mdef_ns_begin(struct http_req *r, enum mdef_nf style, const char *rule, struct mdef_ns **ns)
{
	int rc = img_begin(r);
	if (rc < 0)
		return rc;
	if ((rc = mdef_ns_get(r, style, rule, ns)) < 0)
		img_rollback(r);
	return rc;
}

int mdef_protected(struct http_req *r, const struct mdef_ns *ns, const char *noun, const char *name)
{
	if (!ns->protected_)
		return 0;
	img_rollback(r);
	return http_error(r, ERR_FORBIDDEN, "Metadata definition %s %s is protected and cannot be "
			  "deleted.", noun, name);
}

int mdef_commit_reply(struct http_req *r, int status, json_t *body)
{
	int rc = img_commit(r);
	if (rc < 0) {
		json_decref(body);
		return rc;
	}
	return body ? http_reply_json(r, status, body) : http_reply_empty(r, status);
}

int mdef_ns_purge(struct http_req *r, const char *rule, const char *const *stmts, const char *what)
{
	struct mdef_ns *ns;
	int rc = mdef_ns_begin(r, MDEF_NF_PLAIN, "delete_metadef_namespace", &ns);
	if (rc < 0)
		return rc;
	if (rule && (rc = mdef_enforce(r, rule, ns)) < 0) {
		img_rollback(r);
		return rc;
	}
	if ((rc = mdef_protected(r, ns, "namespace", ns->name)) < 0)
		return rc;
	for (; *stmts; stmts++)
		if ((rc = db_exec(img_db(r), *stmts, DB_TEXT(ns->id))) < 0)
			return img_db_error(r, rc, what);
	return mdef_commit_reply(r, 204, NULL);
}

int mdef_child_query(struct http_req *r, const struct mdef_kind *k, const char *columns,
		     const struct mdef_ns *ns, const char *name, struct db_rows **rows)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE namespace_id = ? AND name = ?",
		 columns, k->table);
	int rc = db_query(img_db(r), rows, sql, DB_TEXT(ns->id), DB_TEXT(name));
	if (rc < 0)
		return img_db_error(r, rc, k->noun);
	if (!db_rows_count(*rows)) {
		db_rows_free(*rows);
		img_rollback(r);
		return http_error(r, ERR_NOTFOUND, "%s %s", k->missing, name);
	}
	return 0;
}

int mdef_children_query(struct http_req *r, const struct mdef_kind *k, const char *columns,
			const struct mdef_ns *ns, struct db_rows **rows)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE namespace_id = ? ORDER BY created_at, id",
		 columns, k->table);
	int rc = db_query(img_db(r), rows, sql, DB_TEXT(ns->id));
	return rc < 0 ? img_db_error(r, rc, k->plural) : 0;
}

int mdef_child_delete(struct http_req *r, const struct mdef_kind *k, enum mdef_nf style,
		      const char *rule, const char *param)
{
	struct mdef_ns *ns;
	struct db_rows *rows;
	int rc;
	if ((rc = mdef_ns_begin(r, style, rule, &ns)) < 0 ||
	    (rc = mdef_child_query(r, k, "id, name", ns, http_param(r, param), &rows)) < 0)
		return rc;
	const char *id = arena_strdup(r->arena, db_text(rows, 0, 0));
	const char *name = arena_strdup(r->arena, db_text(rows, 0, 1));
	db_rows_free(rows);
	if ((rc = mdef_protected(r, ns, k->noun, name)) < 0)
		return rc;
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", k->table);
	if ((rc = db_exec(img_db(r), sql, DB_TEXT(id))) < 0)
		return img_db_error(r, rc, k->noun);
	return mdef_commit_reply(r, 204, NULL);
}

/* --- bodies, names, JSON, list parameters --- */

int mdef_body(struct http_req *r, const char *const *readonly, enum mdef_schema_id schema,
	      json_t **out)
{
	if (!r->body_len)
		return http_error(r, ERR_BADREQ, "Body expected in request.");
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	for (; readonly && *readonly; readonly++)
		if (json_object_get(body, *readonly))
			return http_error(r, ERR_FORBIDDEN, "Attribute '%s' is read-only.", *readonly);
	const json_t *s = mdef_schema(schema);
	if (!s)
		return http_error(r, ERR_INTERNAL, "The schema could not be built.");
	int rc = mdef_validate(r, s, body);
	if (rc < 0)
		return rc;
	*out = body;
	return 0;
}

const char *mdef_time(struct http_req *r, int64_t us)
{
	char t[40];
	time_format(us, 0, true, t);
	return arena_strdup(r->arena, t);
}

bool mdef_name_ok(const char *s)
{
	size_t cps = 0;
	for (; s && *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			cps++;
	return s && cps <= MDEF_NAME_MAX;
}

const char *mdef_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

json_t *mdef_ns_render(struct http_req *r, const struct mdef_ns *ns)
{
	json_t *o = json_object();
	json_object_set_new(o, "namespace", json_string(ns->name));
	if (ns->display_name)
		json_object_set_new(o, "display_name", json_string(ns->display_name));
	if (ns->description)
		json_object_set_new(o, "description", json_string(ns->description));
	json_object_set_new(o, "visibility", json_string(ns->visibility));
	json_object_set_new(o, "protected", json_boolean(ns->protected_));
	if (ns->owner)
		json_object_set_new(o, "owner", json_string(ns->owner));
	json_object_set_new(o, "created_at", json_string(mdef_time(r, ns->created_at)));
	json_object_set_new(o, "updated_at", json_string(mdef_time(r, ns->updated_at)));
	json_object_set_new(o, "self", json_string(arena_printf(r->arena, "/v2/metadefs/namespaces/%s",
								 ns->name)));
	json_object_set_new(o, "schema", json_string("/v2/schemas/metadefs/namespace"));
	return o;
}

static int parse_limit(struct http_req *r, bool zero_ok, int64_t *out)
{
	const char *s = http_query(r, "limit");
	*out = -1;
	if (!s || (!*s && zero_ok))
		return 0;
	int64_t v;
	if (parse_int64(s, INT64_MIN, INT64_MAX, &v))
		return http_error(r, ERR_BADREQ, "limit param must be an integer");
	if (v < 0 || (v == 0 && !zero_ok))
		return http_error(r, ERR_BADREQ, "limit param must be positive");
	*out = v;
	return 0;
}

static int parse_sort_dir(struct http_req *r, bool *desc)
{
	const char *s = http_query(r, "sort_dir");
	if (!s)
		s = "desc";
	if (strcmp(s, "asc") && strcmp(s, "desc"))
		return http_error(r, ERR_BADREQ, "Invalid sort direction: %s", s);
	*desc = !strcmp(s, "desc");
	return 0;
}

static int check_visibility(struct http_req *r, const char *const *allowed)
{
	const char *v = http_query(r, "visibility");
	if (!v || !*v)
		return 0;
	for (; *allowed; allowed++)
		if (!strcmp(*allowed, v))
			return 0;
	return http_error(r, ERR_BADREQ, "Invalid visibility value: %s", v);
}

int mdef_list_params(struct http_req *r, const char *const *vis, bool zero_ok, bool *desc,
		     int64_t *limit)
{
	int rc;
	if ((rc = parse_sort_dir(r, desc)) < 0 || (rc = check_visibility(r, vis)) < 0)
		return rc;
	return parse_limit(r, zero_ok, limit);
}

int mdef_conflict(struct http_req *r, const char *fmt, ...)
{
	char msg[sizeof r->errmsg];
	img_rollback(r);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return http_error(r, ERR_CONFLICT, "%s", msg);
}

const char *mdef_new_id(struct http_req *r)
{
	char id[37];
	uuid_dashed(id);
	return arena_strdup(r->arena, id);
}
