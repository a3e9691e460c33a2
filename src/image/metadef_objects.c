/* metadef_objects.c — /v2/metadefs/namespaces/{namespace}/objects: objects are named groups
 * of property definitions with a list of required ones. List, create, show, update (a full
 * replacement), delete one, and delete all (DELETE on the collection). */
#include "image/metadefs.h"
#include <stdlib.h>
#include <string.h>

#define OBJ_COLUMNS "id, name, description, required, json_schema, created_at, updated_at"

static const char *const obj_readonly[] = { "self", "schema", "created_at", "updated_at", NULL };
static const struct mdef_kind obj_kind = {
	"img_metadef_objects", "object", "objects", "Could not find metadata object",
};

struct mdef_obj {
	const char *id, *name, *description, *required, *props;   /* required: "a,b"; props: JSON */
	int64_t created_at, updated_at;
};

static const char *obj_href(struct http_req *r, const struct mdef_ns *ns, const char *name)
{
	return arena_printf(r->arena, "/v2/metadefs/namespaces/%s/objects/%s", ns->name, name);
}

/* "a,b" of a JSON array of strings (NULL when empty or absent). */
static const char *join_required(struct http_req *r, const json_t *req)
{
	if (!json_array_size(req))
		return NULL;
	size_t len = 1, i;
	json_t *e;
	json_array_foreach(req, i, e)
		len += json_string_length(e) + 1;
	char *s = arena_alloc(r->arena, len), *p = s;
	json_array_foreach(req, i, e) {
		if (i)
			*p++ = ',';
		memcpy(p, json_string_value(e), json_string_length(e));
		p += json_string_length(e);
	}
	*p = 0;
	return s;
}

/* The properties as stored: the body's object, or {}. */
static const char *dump_props(struct http_req *r, const json_t *props)
{
	if (!json_is_object(props))
		return "{}";
	char *s = json_dumps(props, JSON_COMPACT);
	const char *out = arena_strdup(r->arena, s ? s : "{}");
	free(s);
	return out;
}

int mdef_object_insert(struct http_req *r, const struct mdef_ns *ns, const json_t *obj, int64_t now)
{
	const char *name = mdef_str(obj, "name");
	int rc = db_exec(img_db(r), "INSERT INTO img_metadef_objects (id, namespace_id, name, description,"
			 " required, json_schema, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			 DB_TEXT(mdef_new_id(r)), DB_TEXT(ns->id), DB_TEXT(name),
			 DB_TEXT(mdef_str(obj, "description")),
			 DB_TEXT(join_required(r, json_object_get(obj, "required"))),
			 DB_TEXT(dump_props(r, json_object_get(obj, "properties"))), DB_INT(now), DB_INT(now));
	if (rc == ERR_CONFLICT)
		return mdef_conflict(r, "A metadata definition object with name=%s already exists in "
				     "namespace=%s.", name, ns->name);
	return rc < 0 ? img_db_error(r, rc, "object") : 0;
}

static void obj_from_row(struct http_req *r, const struct db_rows *rows, int i, struct mdef_obj *o)
{
	struct arena *a = r->arena;
	o->id = arena_strdup(a, db_text(rows, i, 0));
	o->name = arena_strdup(a, db_text(rows, i, 1));
	o->description = arena_strdup(a, db_text(rows, i, 2));
	o->required = arena_strdup(a, db_text(rows, i, 3));
	o->props = arena_strdup(a, db_text(rows, i, 4));
	o->created_at = db_int(rows, i, 5);
	o->updated_at = db_int(rows, i, 6);
}

/* The object as the API shows it; names prefixed when prefix is set. New reference. */
static json_t *obj_render(struct http_req *r, const struct mdef_ns *ns, const struct mdef_obj *o,
			  const char *prefix)
{
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(o->name));
	json_t *req = json_array();
	if (o->required && *o->required) {
		char *list = arena_strdup(r->arena, o->required), *save = NULL;
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(req, json_string(prefix ? arena_printf(r->arena, "%s%s",
										      prefix, t) : t));
	}
	json_object_set_new(j, "required", req);
	if (o->description)
		json_object_set_new(j, "description", json_string(o->description));
	json_t *stored = json_loads(o->props ? o->props : "{}", 0, NULL);
	if (!json_is_object(stored)) {
		json_decref(stored);
		stored = json_object();
	}
	json_t *props = stored;
	if (prefix) {
		props = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(stored, k, v)
			json_object_set(props, arena_printf(r->arena, "%s%s", prefix, k), v);
		json_decref(stored);
	}
	json_object_set_new(j, "properties", props);
	json_object_set_new(j, "created_at", json_string(mdef_time(r, o->created_at)));
	json_object_set_new(j, "updated_at", json_string(mdef_time(r, o->updated_at)));
	json_object_set_new(j, "self", json_string(obj_href(r, ns, o->name)));
	json_object_set_new(j, "schema", json_string("/v2/schemas/metadefs/object"));
	return j;
}

json_t *mdef_objects_render(struct http_req *r, const struct mdef_ns *ns, const char *prefix)
{
	struct db_rows *rows;
	if (mdef_children_query(r, &obj_kind, OBJ_COLUMNS, ns, &rows) < 0)
		return NULL;
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct mdef_obj o;
		obj_from_row(r, rows, i, &o);
		json_array_append_new(list, obj_render(r, ns, &o, prefix));
	}
	db_rows_free(rows);
	return list;
}

static int obj_load(struct http_req *r, const struct mdef_ns *ns, const char *name, struct mdef_obj **out)
{
	struct db_rows *rows;
	int rc = mdef_child_query(r, &obj_kind, OBJ_COLUMNS, ns, name, &rows);
	if (rc < 0)
		return rc;
	struct mdef_obj *o = arena_alloc(r->arena, sizeof *o);
	obj_from_row(r, rows, 0, o);
	db_rows_free(rows);
	*out = o;
	return 0;
}

/* An object's body: the object schema, and on create every property on its own. */
static int obj_body(struct http_req *r, bool create, json_t **out)
{
	json_t *body;
	int rc = mdef_body(r, obj_readonly, MDEF_S_OBJECT, &body);
	if (rc < 0)
		return rc;
	const char *k;
	json_t *p;
	json_object_foreach(json_object_get(body, "properties"), k, p) {
		if (create && (rc = mdef_validate(r, mdef_schema(MDEF_S_PROPERTY_ITEM), p)) < 0)
			return rc;
		if ((rc = mdef_property_check(r, p)) < 0)
			return rc;
	}
	*out = body;
	return 0;
}

/* What Glance answers after a create or update: the attributes given, and the links. */
static json_t *echo(struct http_req *r, const struct mdef_ns *ns, const json_t *body,
		    int64_t created_at, int64_t updated_at)
{
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(mdef_str(body, "name")));
	static const char *const keys[] = { "required", "description", "properties", NULL };
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(body, keys[i]);
		if (v && !json_is_null(v))
			json_object_set_new(j, keys[i], json_deep_copy(v));
	}
	json_object_set_new(j, "created_at", json_string(mdef_time(r, created_at)));
	json_object_set_new(j, "updated_at", json_string(mdef_time(r, updated_at)));
	json_object_set_new(j, "self", json_string(obj_href(r, ns, mdef_str(body, "name"))));
	json_object_set_new(j, "schema", json_string("/v2/schemas/metadefs/object"));
	return j;
}

int mdef_objects_list(struct http_req *r)
{
	static const char *const vis[] = { "public", "private", "shared", NULL };
	bool desc;
	int64_t limit;
	struct mdef_ns *ns;
	int rc;
	if ((rc = mdef_list_params(r, vis, false, &desc, &limit)) < 0 ||
	    (rc = mdef_ns_get(r, MDEF_NF_OBJECT, "get_metadef_objects", &ns)) < 0)
		return rc;
	/* Glance reads every object of the namespace: marker and limit are accepted, not applied */
	json_t *list = mdef_objects_render(r, ns, NULL);
	if (!list)
		return ERR_INTERNAL;
	if (!mdef_allowed(r, "get_metadef_object", ns))
		json_array_clear(list);
	return http_reply_json(r, 200, json_pack("{s:o,s:s}", "objects", list,
						 "schema", "v2/schemas/metadefs/objects"));
}

int mdef_object_create(struct http_req *r)
{
	json_t *body;
	int rc = obj_body(r, true, &body);
	if (rc < 0)
		return rc;
	struct mdef_ns *ns;
	if ((rc = mdef_ns_begin(r, MDEF_NF_OBJECT, "add_metadef_object", &ns)) < 0)
		return rc;
	int64_t now = time_now_us();
	if ((rc = mdef_object_insert(r, ns, body, now)) < 0)
		return rc;
	return mdef_commit_reply(r, 201, echo(r, ns, body, now, now));
}

int mdef_object_show(struct http_req *r)
{
	struct mdef_ns *ns;
	struct mdef_obj *o;
	int rc;
	if ((rc = mdef_ns_get(r, MDEF_NF_OBJECT, "get_metadef_object", &ns)) < 0 ||
	    (rc = obj_load(r, ns, http_param(r, "object_name"), &o)) < 0)
		return rc;
	return http_reply_json(r, 200, obj_render(r, ns, o, NULL));
}

int mdef_object_update(struct http_req *r)
{
	json_t *body;
	int rc = obj_body(r, false, &body);
	if (rc < 0)
		return rc;
	struct mdef_ns *ns;
	struct mdef_obj *o;
	if ((rc = mdef_ns_begin(r, MDEF_NF_OBJECT, "modify_metadef_object", &ns)) < 0 ||
	    (rc = obj_load(r, ns, http_param(r, "object_name"), &o)) < 0)
		return rc;
	int64_t now = time_now_us();
	const char *name = mdef_str(body, "name");
	rc = db_exec(img_db(r), "UPDATE img_metadef_objects SET name = ?, description = ?, required = ?,"
		     " json_schema = ?, updated_at = ? WHERE id = ?", DB_TEXT(name),
		     DB_TEXT(mdef_str(body, "description")),
		     DB_TEXT(join_required(r, json_object_get(body, "required"))),
		     DB_TEXT(dump_props(r, json_object_get(body, "properties"))), DB_INT(now),
		     DB_TEXT(o->id));
	if (rc == ERR_CONFLICT)
		return mdef_conflict(r, "Invalid update. It would result in a duplicate metadata "
				     "definition object with the same name=%s in namespace=%s.",
				     name, ns->name);
	if (rc < 0)
		return img_db_error(r, rc, "object");
	return mdef_commit_reply(r, 200, echo(r, ns, body, o->created_at, now));
}

int mdef_object_delete(struct http_req *r)
{
	return mdef_child_delete(r, &obj_kind, MDEF_NF_OBJECT, "delete_metadef_object", "object_name");
}

int mdef_objects_delete(struct http_req *r)
{
	static const char *const stmts[] = {
		"DELETE FROM img_metadef_objects WHERE namespace_id = ?", NULL,
	};
	return mdef_ns_purge(r, NULL, stmts, "objects");
}
