/* schemas.c — GET /v2/schemas/image(s) and /v2/schemas/member(s): the JSON-schema documents
 * Glance publishes (glanceclient builds its models and CLI options from them). Built once, on
 * first use, and shared read-only by every request. */
#include "image/img.h"
#include <pthread.h>

#define UUID_PATTERN "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

static json_t *image_schema, *images_schema, *member_schema, *members_schema;
static pthread_once_t built = PTHREAD_ONCE_INIT;

/* A null-or-string type list. */
static json_t *nullable(const char *type)
{
	return json_pack("[s,s]", "null", type);
}

/* An enum of null followed by the list's values. */
static json_t *null_enum(const char *const *list)
{
	json_t *e = json_array();
	json_array_append_new(e, json_null());
	for (; *list; list++)
		json_array_append_new(e, json_string(*list));
	return e;
}

static json_t *str_array(const char *const *list)
{
	json_t *e = json_array();
	for (; *list; list++)
		json_array_append_new(e, json_string(*list));
	return e;
}

static const char *const statuses[] = {
	"queued", "saving", "active", "killed", "deleted", "uploading", "importing",
	"pending_delete", "deactivated", NULL,
};
static const char *const visibilities[] = { "community", "public", "private", "shared", NULL };

/* The image's own attributes, in Glance's order. */
static json_t *base_properties(void)
{
	json_t *p = json_object();
	json_object_set_new(p, "id", json_pack("{s:s,s:s,s:s}", "type", "string",
		"description", "The image's identifier", "pattern", UUID_PATTERN));
	json_object_set_new(p, "name", json_pack("{s:o,s:s,s:i}", "type", nullable("string"),
		"description", "A name describing the image", "maxLength", IMG_NAME_MAX));
	json_object_set_new(p, "status", json_pack("{s:s,s:b,s:s,s:o}", "type", "string", "readOnly", 1,
		"description", "Where the image is in its life cycle", "enum", str_array(statuses)));
	json_object_set_new(p, "visibility", json_pack("{s:s,s:s,s:o}", "type", "string",
		"description", "Who may see the image", "enum", str_array(visibilities)));
	json_object_set_new(p, "protected", json_pack("{s:s,s:s}", "type", "boolean",
		"description", "When true the image cannot be deleted."));
	json_object_set_new(p, "os_hidden", json_pack("{s:s,s:s}", "type", "boolean",
		"description", "When true the image is left out of image lists unless asked for."));
	json_object_set_new(p, "checksum", json_pack("{s:o,s:b,s:s,s:i}", "type", nullable("string"),
		"readOnly", 1, "description", "MD5 digest of the image data.", "maxLength", 32));
	json_object_set_new(p, "os_hash_algo", json_pack("{s:o,s:b,s:s,s:i}", "type", nullable("string"),
		"readOnly", 1, "description", "Hash algorithm of os_hash_value", "maxLength", 64));
	json_object_set_new(p, "os_hash_value", json_pack("{s:o,s:b,s:s,s:i}", "type", nullable("string"),
		"readOnly", 1, "description", "Hex digest of the image data computed with os_hash_algo",
		"maxLength", 128));
	json_object_set_new(p, "owner", json_pack("{s:o,s:s,s:i}", "type", nullable("string"),
		"description", "The project owning the image", "maxLength", 255));
	json_object_set_new(p, "size", json_pack("{s:o,s:b,s:s}", "type", nullable("integer"),
		"readOnly", 1, "description", "Size of the image data in bytes"));
	json_object_set_new(p, "virtual_size", json_pack("{s:o,s:b,s:s}", "type", nullable("integer"),
		"readOnly", 1, "description", "Size of the virtual disk in bytes"));
	json_object_set_new(p, "container_format", json_pack("{s:o,s:s,s:o}", "type", nullable("string"),
		"description", "Format of the container around the disk",
		"enum", null_enum(img_container_formats)));
	json_object_set_new(p, "disk_format", json_pack("{s:o,s:s,s:o}", "type", nullable("string"),
		"description", "Format of the disk", "enum", null_enum(img_disk_formats)));
	json_object_set_new(p, "created_at", json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1,
		"description", "When the image was registered"));
	json_object_set_new(p, "updated_at", json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1,
		"description", "When the image last changed"));
	json_object_set_new(p, "tags", json_pack("{s:s,s:s,s:{s:s,s:i}}", "type", "array",
		"description", "Strings attached to the image", "items", "type", "string",
		"maxLength", IMG_PROP_MAX));
	json_object_set_new(p, "direct_url", json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1,
		"description", "URL of the image data in an external store"));
	json_object_set_new(p, "min_ram", json_pack("{s:s,s:s}", "type", "integer",
		"description", "RAM (MB) needed to boot the image."));
	json_object_set_new(p, "min_disk", json_pack("{s:s,s:s}", "type", "integer",
		"description", "Disk space (GB) needed to boot the image."));
	json_object_set_new(p, "self", json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1,
		"description", "The image's URL"));
	json_object_set_new(p, "file", json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1,
		"description", "URL of the image data"));
	json_object_set_new(p, "stores", json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1,
		"description", "Comma-separated identifiers of the stores holding the image data; "
		"shown when the cloud has several stores."));
	json_object_set_new(p, "schema", json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1,
		"description", "URL of the image schema"));
	json_t *validation = json_pack(
		"{s:s,s:s,s:b,s:b,s:{s:{s:s,s:i,s:i},s:{s:s,s:i},s:{s:s,s:i}},s:[s,s]}",
		"description", "Values for the matching image attributes; unless the image is queued "
		"they must equal what the image already has.",
		"type", "object", "writeOnly", 1, "additionalProperties", 0,
		"properties",
		"checksum", "type", "string", "minLength", 32, "maxLength", 32,
		"os_hash_algo", "type", "string", "maxLength", 64,
		"os_hash_value", "type", "string", "maxLength", 128,
		"required", "os_hash_algo", "os_hash_value");
	json_object_set_new(p, "locations", json_pack(
		"{s:s,s:{s:s,s:{s:{s:s,s:i},s:{s:s},s:o},s:[s,s]},s:s}",
		"type", "array",
		"items", "type", "object",
		"properties", "url", "type", "string", "maxLength", 255,
		"metadata", "type", "object",
		"validation_data", validation,
		"required", "url", "metadata",
		"description", "URLs of the image data in external stores"));
	return p;
}

/* The common properties Glance ships in schema-image.json (is_base: false). */
static void add_custom_properties(json_t *p)
{
	json_object_set_new(p, "kernel_id", json_pack("{s:o,s:s,s:s,s:b}", "type", nullable("string"),
		"pattern", UUID_PATTERN,
		"description", "ID of the image to use as kernel when booting an AMI-style image.",
		"is_base", 0));
	json_object_set_new(p, "ramdisk_id", json_pack("{s:o,s:s,s:s,s:b}", "type", nullable("string"),
		"pattern", UUID_PATTERN,
		"description", "ID of the image to use as ramdisk when booting an AMI-style image.",
		"is_base", 0));
	json_object_set_new(p, "instance_uuid", json_pack("{s:s,s:s,s:b}", "type", "string",
		"description", "The instance this image was made from (informational only).",
		"is_base", 0));
	json_object_set_new(p, "architecture", json_pack("{s:s,s:s,s:b}",
		"description", "CPU architecture the operating system runs on (see the glanceclient "
		"property keys: https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html)",
		"type", "string", "is_base", 0));
	json_object_set_new(p, "os_distro", json_pack("{s:s,s:s,s:b}",
		"description", "Short name of the operating system distribution (see the glanceclient "
		"property keys: https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html)",
		"type", "string", "is_base", 0));
	json_object_set_new(p, "os_version", json_pack("{s:s,s:s,s:b}",
		"description", "Version of the operating system, as its distributor numbers it.",
		"type", "string", "is_base", 0));
	json_object_set_new(p, "description", json_pack("{s:s,s:s,s:b}",
		"description", "Free text describing the image.", "type", "string", "is_base", 0));
	json_object_set_new(p, "cinder_encryption_key_id", json_pack("{s:s,s:s,s:b}",
		"description", "Key manager identifier of the key the block storage service uses for "
		"volumes created from this image.", "type", "string", "is_base", 0));
	json_object_set_new(p, "cinder_encryption_key_deletion_policy", json_pack("{s:s,s:s,s:[s,s],s:b}",
		"description", "When the image service deletes the key named by cinder_encryption_key_id "
		"(no action when unset).", "type", "string",
		"enum", "on_image_deletion", "do_not_delete", "is_base", 0));
}

/* A collection of item (Glance's CollectionSchema): raw adds first/next, minimal does not. */
static json_t *collection(const char *name, json_t *item, bool raw)
{
	json_t *props = json_object(), *links = json_array();
	json_object_set_new(props, name, json_pack("{s:s,s:o}", "type", "array", "items", item));
	if (raw) {
		json_object_set_new(props, "first", json_pack("{s:s}", "type", "string"));
		json_object_set_new(props, "next", json_pack("{s:s}", "type", "string"));
		json_array_append_new(links, json_pack("{s:s,s:s}", "rel", "first", "href", "{first}"));
		json_array_append_new(links, json_pack("{s:s,s:s}", "rel", "next", "href", "{next}"));
	}
	json_object_set_new(props, "schema", json_pack("{s:s}", "type", "string"));
	json_array_append_new(links, json_pack("{s:s,s:s}", "rel", "describedby", "href", "{schema}"));
	return json_pack("{s:s,s:o,s:o}", "name", name, "properties", props, "links", links);
}

static json_t *member_properties(void)
{
	json_t *p = json_object();
	json_object_set_new(p, "member_id", json_pack("{s:s,s:s}", "type", "string",
		"description", "The project the image is shared with"));
	json_object_set_new(p, "image_id", json_pack("{s:s,s:s,s:s}", "type", "string",
		"description", "The image's identifier", "pattern", UUID_PATTERN));
	json_object_set_new(p, "created_at", json_pack("{s:s,s:s}", "type", "string",
		"description", "When the membership was created"));
	json_object_set_new(p, "updated_at", json_pack("{s:s,s:s}", "type", "string",
		"description", "When the membership last changed"));
	json_object_set_new(p, "status", json_pack("{s:s,s:s,s:[s,s,s]}", "type", "string",
		"description", "The member's answer to the share",
		"enum", "pending", "accepted", "rejected"));
	json_object_set_new(p, "schema", json_pack("{s:b,s:s}", "readOnly", 1, "type", "string"));
	return p;
}

static void build(void)
{
	json_t *props = base_properties();
	add_custom_properties(props);
	/* Extra properties are allowed, as strings. */
	image_schema = json_pack("{s:s,s:o,s:{s:s},s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}",
				 "name", "image", "properties", props,
				 "additionalProperties", "type", "string",
				 "links", "rel", "self", "href", "{self}",
				 "rel", "enclosure", "href", "{file}",
				 "rel", "describedby", "href", "{schema}");
	images_schema = collection("images", json_deep_copy(image_schema), true);
	member_schema = json_pack("{s:s,s:o}", "name", "member", "properties", member_properties());
	members_schema = collection("members", json_deep_copy(member_schema), false);
}

/* Replies with a shared document (reference counts are atomic in jansson ≥ 2.11). */
static int reply(struct http_req *r, json_t **doc)
{
	pthread_once(&built, build);
	if (!*doc)
		return http_error(r, ERR_INTERNAL, "The schema could not be built.");
	return http_reply_json(r, 200, json_incref(*doc));
}

static int h_image(struct http_req *r) { return reply(r, &image_schema); }
static int h_images(struct http_req *r) { return reply(r, &images_schema); }
static int h_member(struct http_req *r) { return reply(r, &member_schema); }
static int h_members(struct http_req *r) { return reply(r, &members_schema); }

const struct route img_routes_schemas[] = {
	{ "GET", "/v2/schemas/image", h_image, NULL, 0, NULL },
	{ "GET", "/v2/schemas/images", h_images, NULL, 0, NULL },
	{ "GET", "/v2/schemas/member", h_member, NULL, 0, NULL },
	{ "GET", "/v2/schemas/members", h_members, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
