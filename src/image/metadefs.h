/* metadefs.h — internals shared by the metadata-definition files (Glance v2 "metadefs"):
 * namespaces and what hangs off them (objects, properties, tags, resource-type associations),
 * Glance's policy checks on a namespace (Forbidden becomes NotFound for what the caller cannot
 * see), request bodies checked against the published JSON schemas, and the pieces the
 * namespace create/show reuse. Not for use outside the src/image/metadef_*.c files. */
#ifndef IMAGE_METADEFS_H
#define IMAGE_METADEFS_H
#include "image/img.h"

#define MDEF_NAME_MAX 80          /* namespace, object, property, tag and resource-type names */

/* A namespace as stored. Strings live in the request's arena; NULL for SQL NULL. */
struct mdef_ns {
	const char *id, *name, *display_name, *description, *visibility, *owner;
	bool protected_;
	int64_t created_at, updated_at;
};

/* How a handler words "namespace not found": Glance's controllers differ. */
enum mdef_nf {
	MDEF_NF_PLAIN,    /* missing or hidden: "Namespace X not found" */
	MDEF_NF_SHOW,     /* missing: "Metadata definition namespace=X was not found.";
			   * hidden: "The resource could not be found." */
	MDEF_NF_OBJECT,   /* missing: as SHOW; hidden: "Namespace X not found" */
	MDEF_NF_MARKER,   /* missing: as SHOW; hidden: 403 "Forbidding request, ... not visible." */
};

/* The published schemas (metadef_schemas.c), built once; borrowed references. */
enum mdef_schema_id {
	MDEF_S_NAMESPACE, MDEF_S_NAMESPACES, MDEF_S_OBJECT, MDEF_S_OBJECTS,
	MDEF_S_PROPERTY, MDEF_S_PROPERTIES, MDEF_S_TAG, MDEF_S_TAGS,
	MDEF_S_RESOURCE_TYPE, MDEF_S_RESOURCE_TYPES,
	MDEF_S_PROPERTY_ITEM,     /* internal: one property without a required name */
	MDEF_S_TAG_LIST,          /* internal: the body of POST .../tags */
	MDEF_S_COUNT,
};

/* metadef_schema.c: img_metadefs_migrate() is declared in img.h (schema.c calls it). */

/* --- metadef_schemas.c --- */
const json_t *mdef_schema(enum mdef_schema_id id);
/* --- metadef_validate.c --- */
/* Checks doc against schema (the subset of JSON Schema the metadef schemas use): 0, or 400
 * "Provided object does not match schema 'NAME': REASON" recorded in r. */
int mdef_validate(struct http_req *r, const json_t *schema, const json_t *doc);

/* --- metadef_common.c --- */
/* The columns of img_metadef_namespaces that mdef_ns_from_row reads, in its order. */
#define MDEF_NS_COLUMNS "id, namespace, display_name, description, visibility, owner, protected," \
	" created_at, updated_at"
/* Row i of a SELECT MDEF_NS_COLUMNS into *ns (strings copied into the arena). */
void mdef_ns_from_row(struct http_req *r, const struct db_rows *rows, int i, struct mdef_ns *ns);
/* Loads namespace `name` if the caller may see it (admin, owner, or public): 0 and *out, or
 * 404 worded per style. Reads inside the request's open transaction when there is one. */
int mdef_ns_load(struct http_req *r, const char *name, enum mdef_nf style, struct mdef_ns **out);
/* Rule against a namespace's target {project_id: owner, visibility}; ns NULL: the caller's
 * project (list and create rules). */
bool mdef_allowed(struct http_req *r, const char *rule, const struct mdef_ns *ns);
/* Enforces rule the way Glance's MetadefAPIPolicy does: a denial is 404 when the caller may
 * not even get the namespace, else 403. */
int mdef_enforce(struct http_req *r, const char *rule, const struct mdef_ns *ns);
/* The request's namespace (path parameter {namespace}) loaded as mdef_ns_load does, then rule
 * enforced on it (rule NULL: none): 0 and *ns, or the error. */
int mdef_ns_get(struct http_req *r, enum mdef_nf style, const char *rule, struct mdef_ns **ns);
/* The opening of a write handler: a transaction begun and mdef_ns_get inside it. 0 and *ns,
 * or the error with the transaction rolled back. */
int mdef_ns_begin(struct http_req *r, enum mdef_nf style, const char *rule, struct mdef_ns **ns);
/* Refuses a delete in a protected namespace: 0 when ns is not protected, else rolls back and
 * records 403 "Metadata definition NOUN NAME is protected and cannot be deleted." */
int mdef_protected(struct http_req *r, const struct mdef_ns *ns, const char *noun, const char *name);
/* The end of a write handler: commits, then answers status with body (taken; NULL: an empty
 * answer). On a failed commit body is freed and the error returned. */
int mdef_commit_reply(struct http_req *r, int status, json_t *body);
/* A DELETE that empties or removes the request's namespace (DELETE on .../objects,
 * .../properties, .../tags, or the namespace itself), in one transaction: the namespace loaded
 * with delete_metadef_namespace and then rule (when not NULL) enforced, 403 while it is
 * protected, each of stmts (NULL-terminated; one '?', the namespace's id) run, 204.
 * what names the work in the log when the database fails. */
int mdef_ns_purge(struct http_req *r, const char *rule, const char *const *stmts, const char *what);

/* What a namespace holds by name (objects, properties, tags): its table and Glance's words. */
struct mdef_kind {
	const char *table;      /* "img_metadef_objects" */
	const char *noun;       /* "object": "Metadata definition object X is protected ..." */
	const char *plural;     /* "objects": names the list's work in the log */
	const char *missing;    /* the 404 before the name: "Could not find metadata object" */
};
/* Row `name` of k's table in ns, the given columns (an SQL list): 0 and *rows (exactly one
 * row; the caller frees them), or 404 "MISSING NAME" / 500 with any open transaction rolled
 * back. */
int mdef_child_query(struct http_req *r, const struct mdef_kind *k, const char *columns,
		     const struct mdef_ns *ns, const char *name, struct db_rows **rows);
/* Every row of k's table in ns, the given columns, in the order they were made (created_at,
 * then id): 0 and *rows (the caller frees them), or 500 with the error recorded. */
int mdef_children_query(struct http_req *r, const struct mdef_kind *k, const char *columns,
			const struct mdef_ns *ns, struct db_rows **rows);
/* DELETE of one object, property or tag, named by path parameter param, in the request's
 * namespace: in one transaction, the namespace loaded (404 worded per style) with rule
 * enforced, the row found, 403 while the namespace is protected, the row deleted, 204. */
int mdef_child_delete(struct http_req *r, const struct mdef_kind *k, enum mdef_nf style,
		      const char *rule, const char *param);

/* The request body as Glance's metadef deserializers take it: 400 when missing or malformed,
 * 403 for an attribute named in readonly (NULL-terminated), 400 when it does not match the
 * schema. 0 and *out (borrowed, lives with the request). */
int mdef_body(struct http_req *r, const char *const *readonly, enum mdef_schema_id schema,
	      json_t **out);
/* "YYYY-MM-DDTHH:MM:SSZ" in the arena. */
const char *mdef_time(struct http_req *r, int64_t us);
/* The namespace as the API shows it (without contents). New reference. */
json_t *mdef_ns_render(struct http_req *r, const struct mdef_ns *ns);
/* True when s is a name of at most MDEF_NAME_MAX characters (code points). */
bool mdef_name_ok(const char *s);
/* A string member of o, or NULL. */
const char *mdef_str(const json_t *o, const char *key);
/* The query parameters every metadef list checks, in Glance's order: ?sort_dir= (*desc; 400
 * "Invalid sort direction"), ?visibility= which when given must be one of vis
 * (NULL-terminated; 400), and ?limit= (absent: *limit = -1; 400 unless an integer, positive,
 * or 0 when zero_ok — namespaces and tags accept 0, objects do not). 0 or the error. */
int mdef_list_params(struct http_req *r, const char *const *vis, bool zero_ok, bool *desc,
		     int64_t *limit);
/* A unique conflict after a failed insert/update: rolls back, records 409 with msg. */
int mdef_conflict(struct http_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A new dashed UUID in the arena. */
const char *mdef_new_id(struct http_req *r);

/* --- metadef_objects.c --- */
/* Inserts one object (already validated) into ns inside the open transaction: 0 or 409/500. */
int mdef_object_insert(struct http_req *r, const struct mdef_ns *ns, const json_t *obj, int64_t now);
/* Every object of ns, rendered (property names and required entries prefixed when prefix is
 * set). NULL with the error recorded. New reference. */
json_t *mdef_objects_render(struct http_req *r, const struct mdef_ns *ns, const char *prefix);

/* --- metadef_properties.c --- */
int mdef_property_insert(struct http_req *r, const struct mdef_ns *ns, const char *name,
			 const json_t *schema, int64_t now);
/* {name: definition} of ns (names prefixed when prefix is set). NULL on error. New reference. */
json_t *mdef_properties_render(struct http_req *r, const struct mdef_ns *ns, const char *prefix);
/* Checks a property definition the way wsme reads it (no unknown attributes): 0 or 400. */
int mdef_property_check(struct http_req *r, const json_t *def);

/* --- metadef_tags.c --- */
int mdef_tag_insert(struct http_req *r, const struct mdef_ns *ns, const char *name, int64_t now);
/* [{"name": ...}] of ns. NULL on error. New reference. */
json_t *mdef_tags_render(struct http_req *r, const struct mdef_ns *ns);

/* --- metadef_resource_types.c --- */
/* Associates resource type assoc.name (created when unknown) with ns: 0 or 409/500. */
int mdef_rta_insert(struct http_req *r, const struct mdef_ns *ns, const json_t *assoc, int64_t now);
/* The associations of ns, rendered. NULL on error. New reference. */
json_t *mdef_rtas_render(struct http_req *r, const struct mdef_ns *ns);
/* The associations of several namespaces at once: {namespace id: [rendered, ...]} for those
 * of the n ids that have any. NULL on error. New reference. */
json_t *mdef_rtas_render_many(struct http_req *r, const char *const *ids, int n);
/* The prefix ns's association with resource type name gives (NULL when none): 0 and
 * *prefix, or 404 worded as Glance words a missing resource type or association. */
int mdef_rta_prefix(struct http_req *r, const struct mdef_ns *ns, const char *name,
		    const char **prefix);

/* --- handlers (the route table is in metadef_routes.c) --- */
int mdef_schema_get(struct http_req *r);
int mdef_ns_list(struct http_req *r);
int mdef_ns_create(struct http_req *r);
int mdef_ns_show(struct http_req *r);
int mdef_ns_update(struct http_req *r);
int mdef_ns_delete(struct http_req *r);
int mdef_objects_list(struct http_req *r);
int mdef_object_create(struct http_req *r);
int mdef_objects_delete(struct http_req *r);
int mdef_object_show(struct http_req *r);
int mdef_object_update(struct http_req *r);
int mdef_object_delete(struct http_req *r);
int mdef_properties_list(struct http_req *r);
int mdef_property_create(struct http_req *r);
int mdef_properties_delete(struct http_req *r);
int mdef_property_show(struct http_req *r);
int mdef_property_update(struct http_req *r);
int mdef_property_delete(struct http_req *r);
int mdef_tags_list(struct http_req *r);
int mdef_tags_create(struct http_req *r);
int mdef_tags_delete(struct http_req *r);
int mdef_tag_create(struct http_req *r);
int mdef_tag_show(struct http_req *r);
int mdef_tag_update(struct http_req *r);
int mdef_tag_delete(struct http_req *r);
int mdef_resource_types_list(struct http_req *r);
int mdef_rtas_list(struct http_req *r);
int mdef_rta_create(struct http_req *r);
int mdef_rta_delete(struct http_req *r);

#endif
