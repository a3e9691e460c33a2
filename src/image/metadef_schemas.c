/* metadef_schemas.c — the JSON-schema documents of the metadata definitions
 * (GET /v2/schemas/metadefs/{namespace,namespaces,object,objects,property,properties,tag,tags,
 * resource_type,resource_types}), shaped as Glance publishes them. The same documents check
 * request bodies (metadef_validate.c). Built once, on first use, and shared read-only. */
#include "image/metadefs.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static json_t *schemas[MDEF_S_COUNT];
static pthread_once_t built = PTHREAD_ONCE_INIT;

static json_t *type_enum(void)
{
	return json_pack("[s,s,s,s,s,s,n]", "array", "boolean", "integer", "number", "object", "string");
}

/* {"$ref": "#/definitions/NAME"} */
static json_t *ref(const char *name)
{
	char buf[64];
	snprintf(buf, sizeof buf, "#/definitions/%s", name);
	return json_pack("{s:s}", "$ref", buf);
}

/* The attributes of one property definition. */
static json_t *property_fields(void)
{
	json_t *p = json_object();
	json_object_set_new(p, "name", json_pack("{s:s,s:i}", "type", "string", "maxLength", MDEF_NAME_MAX));
	json_object_set_new(p, "title", json_pack("{s:s}", "type", "string"));
	json_object_set_new(p, "description", json_pack("{s:s}", "type", "string"));
	json_object_set_new(p, "operators", json_pack("{s:s,s:{s:s}}", "type", "array", "items", "type", "string"));
	json_object_set_new(p, "type", json_pack("{s:s,s:o}", "type", "string", "enum", type_enum()));
	json_object_set_new(p, "required", ref("stringArray"));
	json_object_set_new(p, "minimum", json_pack("{s:s}", "type", "number"));
	json_object_set_new(p, "maximum", json_pack("{s:s}", "type", "number"));
	json_object_set_new(p, "maxLength", ref("positiveInteger"));
	json_object_set_new(p, "minLength", ref("positiveIntegerDefault0"));
	json_object_set_new(p, "pattern", json_pack("{s:s,s:s}", "type", "string", "format", "regex"));
	json_object_set_new(p, "enum", json_pack("{s:s}", "type", "array"));
	json_object_set_new(p, "readonly", json_pack("{s:s}", "type", "boolean"));
	json_object_set_new(p, "default", json_object());
	json_object_set_new(p, "items", json_pack("{s:s,s:{s:{s:s,s:o},s:{s:s}}}", "type", "object",
		"properties", "type", "type", "string", "enum", type_enum(), "enum", "type", "array"));
	json_object_set_new(p, "maxItems", ref("positiveInteger"));
	json_object_set_new(p, "minItems", ref("positiveIntegerDefault0"));
	json_object_set_new(p, "uniqueItems", json_pack("{s:s,s:b}", "type", "boolean", "default", 0));
	json_object_set_new(p, "additionalItems", json_pack("{s:s}", "type", "boolean"));
	return p;
}

/* The shared definitions; the property schema's string arrays must not be empty. */
static json_t *definitions(bool with_property, bool nonempty_arrays)
{
	json_t *d = json_object();
	json_object_set_new(d, "positiveInteger", json_pack("{s:s,s:i}", "type", "integer", "minimum", 0));
	json_object_set_new(d, "positiveIntegerDefault0", json_pack("{s:[o,{s:i}]}", "allOf",
		ref("positiveInteger"), "default", 0));
	json_t *sa = json_pack("{s:s,s:{s:s},s:b}", "type", "array", "items", "type", "string",
			       "uniqueItems", 1);
	if (nonempty_arrays)
		json_object_set_new(sa, "minItems", json_integer(1));
	json_object_set_new(d, "stringArray", sa);
	if (with_property)
		json_object_set_new(d, "property", json_pack("{s:s,s:{s:s,s:[s,s],s:o}}",
			"type", "object", "additionalProperties", "type", "object",
			"required", "title", "type", "properties", property_fields()));
	return d;
}

static json_t *read_only_time(const char *what)
{
	return json_pack("{s:s,s:b,s:s,s:s}", "type", "string", "readOnly", 1, "description", what,
			 "format", "date-time");
}

static json_t *read_only_string(void)
{
	return json_pack("{s:b,s:s}", "readOnly", 1, "type", "string");
}

/* Glance's Schema.raw(): name, properties, no other attributes, and the rest when given. */
static json_t *raw(const char *name, json_t *props, json_t *required, json_t *defs)
{
	json_t *s = json_pack("{s:s,s:o,s:b}", "name", name, "properties", props,
			      "additionalProperties", 0);
	if (defs)
		json_object_set_new(s, "definitions", defs);
	if (required)
		json_object_set_new(s, "required", required);
	return s;
}

/* Glance's CollectionSchema (an array) or DictCollectionSchema (an object keyed by name): the
 * item's definitions move up to the collection. Takes item. */
static json_t *collection(const char *name, json_t *item, bool dict)
{
	json_t *defs = json_object_get(item, "definitions");
	if (defs)
		json_incref(defs);
	json_object_del(item, "definitions");
	json_t *props = json_object();
	if (dict)
		json_object_set_new(props, name, json_pack("{s:s,s:o}", "type", "object",
							   "additionalProperties", item));
	else
		json_object_set_new(props, name, json_pack("{s:s,s:o}", "type", "array", "items", item));
	json_object_set_new(props, "first", json_pack("{s:s}", "type", "string"));
	json_object_set_new(props, "next", json_pack("{s:s}", "type", "string"));
	json_object_set_new(props, "schema", json_pack("{s:s}", "type", "string"));
	json_t *c = json_pack("{s:s,s:o,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}", "name", name,
			      "properties", props, "links",
			      "rel", "first", "href", "{first}", "rel", "next", "href", "{next}",
			      "rel", "describedby", "href", "{schema}");
	if (defs)
		json_object_set_new(c, "definitions", defs);
	return c;
}

static json_t *namespace_schema(void)
{
	json_t *p = json_object();
	json_object_set_new(p, "namespace", json_pack("{s:s,s:s,s:i}", "type", "string",
		"description", "The namespace's name, unique in the cloud.", "maxLength", MDEF_NAME_MAX));
	json_object_set_new(p, "display_name", json_pack("{s:s,s:s,s:i}", "type", "string",
		"description", "A friendlier name that user interfaces may show.",
		"maxLength", MDEF_NAME_MAX));
	json_object_set_new(p, "description", json_pack("{s:s,s:s,s:i}", "type", "string",
		"description", "What the namespace is about.", "maxLength", 500));
	json_object_set_new(p, "visibility", json_pack("{s:s,s:s,s:[s,s]}", "type", "string",
		"description", "Who may see the namespace.", "enum", "public", "private"));
	json_object_set_new(p, "protected", json_pack("{s:s,s:s}", "type", "boolean",
		"description", "When true the namespace cannot be deleted."));
	json_object_set_new(p, "owner", json_pack("{s:s,s:s,s:i}", "type", "string",
		"description", "The project owning the namespace.", "maxLength", 255));
	json_object_set_new(p, "created_at", read_only_time("When the namespace was created"));
	json_object_set_new(p, "updated_at", read_only_time("When the namespace last changed"));
	json_object_set_new(p, "schema", read_only_string());
	json_object_set_new(p, "self", read_only_string());
	json_object_set_new(p, "resource_type_associations", json_pack(
		"{s:s,s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}}", "type", "array", "items", "type", "object",
		"properties", "name", "type", "string", "prefix", "type", "string",
		"properties_target", "type", "string"));
	json_object_set_new(p, "properties", ref("property"));
	json_object_set_new(p, "objects", json_pack("{s:s,s:{s:s,s:{s:{s:s},s:{s:s},s:o,s:o}}}",
		"type", "array", "items", "type", "object", "properties",
		"name", "type", "string", "description", "type", "string",
		"required", ref("stringArray"), "properties", ref("property")));
	json_object_set_new(p, "tags", json_pack("{s:s,s:{s:s,s:{s:{s:s}}}}", "type", "array",
		"items", "type", "object", "properties", "name", "type", "string"));
	return raw("namespace", p, json_pack("[s]", "namespace"), definitions(true, false));
}

static json_t *object_schema(void)
{
	json_t *p = json_object();
	json_object_set_new(p, "name", json_pack("{s:s,s:i}", "type", "string", "maxLength", MDEF_NAME_MAX));
	json_object_set_new(p, "description", json_pack("{s:s}", "type", "string"));
	json_object_set_new(p, "required", ref("stringArray"));
	json_object_set_new(p, "properties", ref("property"));
	json_object_set_new(p, "schema", read_only_string());
	json_object_set_new(p, "self", read_only_string());
	json_object_set_new(p, "created_at", read_only_time("When the object was created"));
	json_object_set_new(p, "updated_at", read_only_time("When the object last changed"));
	return raw("object", p, json_pack("[s]", "name"), definitions(true, false));
}

static json_t *property_schema(bool require_name)
{
	json_t *req = require_name ? json_pack("[s,s,s]", "type", "title", "name")
				   : json_pack("[s,s]", "type", "title");
	return raw("property", property_fields(), req, definitions(false, true));
}

static json_t *tag_schema(void)
{
	json_t *p = json_object();
	json_object_set_new(p, "name", json_pack("{s:s,s:i}", "type", "string", "maxLength", MDEF_NAME_MAX));
	json_object_set_new(p, "created_at", read_only_time("When the tag was created"));
	json_object_set_new(p, "updated_at", read_only_time("When the tag last changed"));
	return raw("tag", p, json_pack("[s]", "name"), NULL);
}

static json_t *tag_list_schema(void)
{
	json_t *p = json_pack("{s:{s:s,s:{s:s,s:{s:{s:s}},s:[s],s:b}}}", "tags", "type", "array",
			      "items", "type", "object", "properties", "name", "type", "string",
			      "required", "name", "additionalProperties", 0);
	return raw("tags", p, NULL, NULL);
}

static json_t *resource_type_schema(void)
{
	json_t *p = json_object();
	json_object_set_new(p, "name", json_pack("{s:s,s:s,s:i}", "type", "string",
		"description", "The resource type's name; where possible the name Heat gives the "
		"resource (https://docs.openstack.org/heat/latest/template_guide/openstack.html).",
		"maxLength", MDEF_NAME_MAX));
	json_object_set_new(p, "prefix", json_pack("{s:s,s:s,s:i}", "type", "string",
		"description", "Text put before every property name of the namespace when it is applied "
		"to this resource type, separator included (for example a colon).",
		"maxLength", MDEF_NAME_MAX));
	json_object_set_new(p, "properties_target", json_pack("{s:s,s:s,s:i}", "type", "string",
		"description", "Which set of key/value pairs of the resource the properties belong to, "
		"for resource types that carry several (a volume has both metadata and image "
		"metadata, for example).", "maxLength", MDEF_NAME_MAX));
	json_object_set_new(p, "created_at", read_only_time("When the association was created"));
	json_object_set_new(p, "updated_at", read_only_time("When the association last changed"));
	return raw("resource_type_association", p, json_pack("[s]", "name"), NULL);
}

static void build(void)
{
	schemas[MDEF_S_NAMESPACE] = namespace_schema();
	schemas[MDEF_S_NAMESPACES] = collection("namespaces", namespace_schema(), false);
	schemas[MDEF_S_OBJECT] = object_schema();
	schemas[MDEF_S_OBJECTS] = collection("objects", object_schema(), false);
	schemas[MDEF_S_PROPERTY] = property_schema(true);
	schemas[MDEF_S_PROPERTIES] = collection("properties", property_schema(false), true);
	schemas[MDEF_S_TAG] = tag_schema();
	schemas[MDEF_S_TAGS] = collection("tags", tag_schema(), false);
	schemas[MDEF_S_RESOURCE_TYPE] = resource_type_schema();
	schemas[MDEF_S_RESOURCE_TYPES] = collection("resource_type_associations",
						    resource_type_schema(), false);
	schemas[MDEF_S_PROPERTY_ITEM] = property_schema(false);
	schemas[MDEF_S_TAG_LIST] = tag_list_schema();
}

const json_t *mdef_schema(enum mdef_schema_id id)
{
	pthread_once(&built, build);
	return id < MDEF_S_COUNT ? schemas[id] : NULL;
}

/* GET /v2/schemas/metadefs/{name} */
int mdef_schema_get(struct http_req *r)
{
	static const struct { const char *name; enum mdef_schema_id id; } names[] = {
		{ "namespace", MDEF_S_NAMESPACE }, { "namespaces", MDEF_S_NAMESPACES },
		{ "object", MDEF_S_OBJECT }, { "objects", MDEF_S_OBJECTS },
		{ "property", MDEF_S_PROPERTY }, { "properties", MDEF_S_PROPERTIES },
		{ "tag", MDEF_S_TAG }, { "tags", MDEF_S_TAGS },
		{ "resource_type", MDEF_S_RESOURCE_TYPE }, { "resource_types", MDEF_S_RESOURCE_TYPES },
	};
	const char *name = http_param(r, "name");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(names[i].name, name))
			continue;
		const json_t *s = mdef_schema(names[i].id);
		if (!s)
			return http_error(r, ERR_INTERNAL, "The schema could not be built.");
		/* shared read-only document; reference counts are atomic in jansson >= 2.11 */
		return http_reply_json(r, 200, json_incref((json_t *)s));
	}
	return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
}
