/* metadef_routes.c — the metadata-definitions API (Glance v2 metadefs) as one route table:
 * the schemas, resource types, namespaces, and each namespace's resource-type associations,
 * properties, objects and tags. Policy is checked in the handlers, against the namespace. */
#include "image/metadefs.h"

#define NS "/v2/metadefs/namespaces/{namespace}"

const struct route img_routes_metadefs[] = {
	{ "GET", "/v2/schemas/metadefs/{name}", mdef_schema_get, NULL, 0, NULL },
	{ "GET", "/v2/metadefs/resource_types", mdef_resource_types_list, NULL, 0, NULL },
	{ "GET", "/v2/metadefs/namespaces", mdef_ns_list, NULL, 0, NULL },
	{ "POST", "/v2/metadefs/namespaces", mdef_ns_create, NULL, 0, NULL },
	{ "GET", NS, mdef_ns_show, NULL, 0, NULL },
	{ "PUT", NS, mdef_ns_update, NULL, 0, NULL },
	{ "DELETE", NS, mdef_ns_delete, NULL, 0, NULL },
	{ "GET", NS "/resource_types", mdef_rtas_list, NULL, 0, NULL },
	{ "POST", NS "/resource_types", mdef_rta_create, NULL, 0, NULL },
	{ "DELETE", NS "/resource_types/{resource_type}", mdef_rta_delete, NULL, 0, NULL },
	{ "GET", NS "/properties", mdef_properties_list, NULL, 0, NULL },
	{ "POST", NS "/properties", mdef_property_create, NULL, 0, NULL },
	{ "DELETE", NS "/properties", mdef_properties_delete, NULL, 0, NULL },
	{ "GET", NS "/properties/{property_name}", mdef_property_show, NULL, 0, NULL },
	{ "PUT", NS "/properties/{property_name}", mdef_property_update, NULL, 0, NULL },
	{ "DELETE", NS "/properties/{property_name}", mdef_property_delete, NULL, 0, NULL },
	{ "GET", NS "/objects", mdef_objects_list, NULL, 0, NULL },
	{ "POST", NS "/objects", mdef_object_create, NULL, 0, NULL },
	{ "DELETE", NS "/objects", mdef_objects_delete, NULL, 0, NULL },
	{ "GET", NS "/objects/{object_name}", mdef_object_show, NULL, 0, NULL },
	{ "PUT", NS "/objects/{object_name}", mdef_object_update, NULL, 0, NULL },
	{ "DELETE", NS "/objects/{object_name}", mdef_object_delete, NULL, 0, NULL },
	{ "GET", NS "/tags", mdef_tags_list, NULL, 0, NULL },
	{ "POST", NS "/tags", mdef_tags_create, NULL, 0, NULL },
	{ "DELETE", NS "/tags", mdef_tags_delete, NULL, 0, NULL },
	{ "GET", NS "/tags/{tag_name}", mdef_tag_show, NULL, 0, NULL },
	{ "POST", NS "/tags/{tag_name}", mdef_tag_create, NULL, 0, NULL },
	{ "PUT", NS "/tags/{tag_name}", mdef_tag_update, NULL, 0, NULL },
	{ "DELETE", NS "/tags/{tag_name}", mdef_tag_delete, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
