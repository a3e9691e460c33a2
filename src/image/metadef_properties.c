/* metadef_properties.c — /v2/metadefs/namespaces/{namespace}/properties: a namespace's
 * property definitions (a JSON-schema fragment each, stored as given). List, create, show
 * (optionally by the name a resource type's prefix makes of it), update, delete one and all. */
#include "image/metadefs.h"
#include <stdlib.h>
#include <string.h>

static const char *const prop_readonly[] = { "created_at", "updated_at", NULL };
static const struct mdef_kind prop_kind = {
	"img_metadef_properties", "property", "properties", "Could not find property",
};

int mdef_property_check(struct http_req *r, const json_t *def)
{
	/* the attributes of Glance's PropertyType model; anything else is refused */
	static const char *const attrs[] = {
		"name", "type", "title", "description", "operators", "default", "readonly", "minimum",
		"maximum", "enum", "pattern", "minLength", "maxLength", "confidential", "items",
		"uniqueItems", "minItems", "maxItems", "additionalItems", NULL,
	};
	if (!json_is_object(def))
		return http_error(r, ERR_BADREQ, "A property definition must be an object.");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)def, k, v) {
		if (!img_in_list(attrs, k))
			return http_error(r, ERR_BADREQ, "Unknown attribute for argument property: %s", k);
		if (!strcmp(k, "items") && json_is_object(v)) {
			const char *ik;
			json_t *iv;
			json_object_foreach(v, ik, iv)
				if (strcmp(ik, "type") && strcmp(ik, "enum"))
					return http_error(r, ERR_BADREQ, "Unknown attribute for argument "
							  "items: %s", ik);
		}
	}
	return 0;
}

int mdef_property_insert(struct http_req *r, const struct mdef_ns *ns, const char *name,
			 const json_t *schema, int64_t now)
{
	char *s = json_dumps(schema, JSON_COMPACT);
	if (!s)
		return http_error(r, ERR_INTERNAL, "The property could not be stored.");
	int rc = db_exec(img_db(r), "INSERT INTO img_metadef_properties (id, namespace_id, name,"
			 " json_schema, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
			 DB_TEXT(mdef_new_id(r)), DB_TEXT(ns->id), DB_TEXT(name), DB_TEXT(s),
			 DB_INT(now), DB_INT(now));
	free(s);
	if (rc == ERR_CONFLICT)
		return mdef_conflict(r, "A metadata definition property with name=%s already exists in "
				     "namespace=%s.", name, ns->name);
	return rc < 0 ? img_db_error(r, rc, "property") : 0;
}

static json_t *parse_def(const char *text)
{
	json_t *j = json_loads(text ? text : "{}", 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	return j;
}

json_t *mdef_properties_render(struct http_req *r, const struct mdef_ns *ns, const char *prefix)
{
	struct db_rows *rows;
	if (mdef_children_query(r, &prop_kind, "name, json_schema", ns, &rows) < 0)
		return NULL;
	json_t *map = json_object();
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *name = db_text(rows, i, 0);
		json_object_set_new(map, prefix ? arena_printf(r->arena, "%s%s", prefix, name) : name,
				    parse_def(db_text(rows, i, 1)));
	}
	db_rows_free(rows);
	return map;
}

struct mdef_prop {
	const char *id, *name, *def;
};

static int prop_load(struct http_req *r, const struct mdef_ns *ns, const char *name, struct mdef_prop **out)
{
	struct db_rows *rows;
	int rc = mdef_child_query(r, &prop_kind, "id, name, json_schema", ns, name, &rows);
	if (rc < 0)
		return rc;
	struct mdef_prop *p = arena_alloc(r->arena, sizeof *p);
	p->id = arena_strdup(r->arena, db_text(rows, 0, 0));
	p->name = arena_strdup(r->arena, db_text(rows, 0, 1));
	p->def = arena_strdup(r->arena, db_text(rows, 0, 2));
	db_rows_free(rows);
	*out = p;
	return 0;
}

/* One property as shown: its definition with the stored name. New reference. */
static json_t *prop_render(const char *name, const json_t *def)
{
	json_t *j = json_deep_copy(def);
	json_object_set_new(j, "name", json_string(name));
	return j;
}

int mdef_properties_list(struct http_req *r)
{
	struct mdef_ns *ns;
	int rc = mdef_ns_get(r, MDEF_NF_PLAIN, "get_metadef_properties", &ns);
	if (rc < 0)
		return rc;
	json_t *map = mdef_properties_render(r, ns, NULL);
	if (!map)
		return ERR_INTERNAL;
	return http_reply_json(r, 200, json_pack("{s:o}", "properties", map));
}

static int prop_body(struct http_req *r, json_t **out)
{
	int rc = mdef_body(r, prop_readonly, MDEF_S_PROPERTY, out);
	return rc < 0 ? rc : mdef_property_check(r, *out);
}

int mdef_property_create(struct http_req *r)
{
	json_t *body;
	int rc = prop_body(r, &body);
	if (rc < 0)
		return rc;
	struct mdef_ns *ns;
	const char *name = mdef_str(body, "name");
	if ((rc = mdef_ns_begin(r, MDEF_NF_PLAIN, "add_metadef_property", &ns)) < 0 ||
	    (rc = mdef_property_insert(r, ns, name, body, time_now_us())) < 0)
		return rc;
	return mdef_commit_reply(r, 201, prop_render(name, body));
}

/* The resource type's prefix stripped from name for ?resource_type=: 0 and *name, or 404. */
static int strip_prefix(struct http_req *r, const struct mdef_ns *ns, const char *rt, const char **name)
{
	int rc = mdef_enforce(r, "get_metadef_resource_type", ns);
	if (rc < 0)
		return rc;
	const char *prefix;
	if ((rc = mdef_rta_prefix(r, ns, rt, &prefix)) < 0)
		return rc;
	size_t n = prefix ? strlen(prefix) : 0;
	if (!n || strncmp(*name, prefix, n))
		return http_error(r, ERR_NOTFOUND, "Property %s does not start with the expected "
				  "resource type association prefix of '%s'.", *name,
				  prefix ? prefix : "None");
	*name += n;
	return 0;
}

int mdef_property_show(struct http_req *r)
{
	struct mdef_ns *ns;
	struct mdef_prop *p;
	const char *name = http_param(r, "property_name"), *rt = http_query(r, "resource_type");
	int rc = mdef_ns_get(r, MDEF_NF_PLAIN, "get_metadef_property", &ns);
	if (rc < 0)
		return rc;
	if (rt && *rt && (rc = strip_prefix(r, ns, rt, &name)) < 0)
		return rc;
	if ((rc = prop_load(r, ns, name, &p)) < 0)
		return rc;
	json_t *def = parse_def(p->def);
	json_t *j = prop_render(p->name, def);
	json_decref(def);
	return http_reply_json(r, 200, j);
}

int mdef_property_update(struct http_req *r)
{
	json_t *body;
	int rc = prop_body(r, &body);
	if (rc < 0)
		return rc;
	struct mdef_ns *ns;
	struct mdef_prop *p;
	if ((rc = mdef_ns_begin(r, MDEF_NF_PLAIN, "modify_metadef_property", &ns)) < 0 ||
	    (rc = prop_load(r, ns, http_param(r, "property_name"), &p)) < 0)
		return rc;
	const char *name = mdef_str(body, "name");
	char *s = json_dumps(body, JSON_COMPACT);
	if (!s)
		return http_error(r, ERR_INTERNAL, "The property could not be stored.");
	rc = db_exec(img_db(r), "UPDATE img_metadef_properties SET name = ?, json_schema = ?,"
		     " updated_at = ? WHERE id = ?", DB_TEXT(name), DB_TEXT(s), DB_INT(time_now_us()),
		     DB_TEXT(p->id));
	free(s);
	if (rc == ERR_CONFLICT)
		return mdef_conflict(r, "Invalid update. It would result in a duplicate metadata "
				     "definition property with the same name=%s in namespace=%s.",
				     name, ns->name);
	if (rc < 0)
		return img_db_error(r, rc, "property");
	return mdef_commit_reply(r, 200, prop_render(name, body));
}

int mdef_property_delete(struct http_req *r)
{
	return mdef_child_delete(r, &prop_kind, MDEF_NF_PLAIN, "remove_metadef_property",
				 "property_name");
}

int mdef_properties_delete(struct http_req *r)
{
	static const char *const stmts[] = {
		"DELETE FROM img_metadef_properties WHERE namespace_id = ?", NULL,
	};
	return mdef_ns_purge(r, NULL, stmts, "properties");
}
