/* images.c — creating, showing and deleting images, and the attribute rules creation and
 * JSON-patch updates share (Glance's schema types, read-only and reserved names). */
#include "image/img.h"
#include <string.h>

const char *const img_disk_formats[] = {
	"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop", NULL,
};
const char *const img_container_formats[] = {
	"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed", NULL,
};

static const char *const visibilities[] = { "public", "private", "shared", "community", NULL };

/* Shown by the server, never set by clients. */
static const char *const read_only[] = {
	"created_at", "updated_at", "status", "checksum", "size", "virtual_size", "direct_url",
	"self", "file", "schema", "id", "os_hash_algo", "os_hash_value", "stores", NULL,
};
static const char *const reserved[] = { "location", "deleted", "deleted_at", "locations", NULL };

bool img_in_list(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

bool img_is_read_only(const char *name)
{
	return img_in_list(read_only, name);
}

bool img_is_reserved(const char *name)
{
	return img_in_list(reserved, name) || !strncmp(name, "os_glance", 9);
}

static int schema_error(struct http_req *r, const char *fmt, const char *a, const char *b)
{
	char why[400];
	snprintf(why, sizeof why, fmt, a, b ? b : "");
	return http_error(r, ERR_BADREQ, "Provided object does not match schema 'image': %s", why);
}

static int check_enum(struct http_req *r, const char *key, const json_t *v, const char *const *list, bool nullable)
{
	if (nullable && json_is_null(v))
		return 0;
	if (!json_is_string(v) || !img_in_list(list, json_string_value(v)))
		return schema_error(r, "'%s' is not an allowed value for '%s'",
				    json_is_string(v) ? json_string_value(v) : "value", key);
	return 0;
}

static int check_string(struct http_req *r, const char *key, const json_t *v, bool nullable, size_t max)
{
	if (nullable && json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return schema_error(r, "%s: value is not a string%s", key, nullable ? " or null" : NULL);
	if (max && json_string_length(v) > max)
		return schema_error(r, "%s: '%s' is too long", key, json_string_value(v));
	return 0;
}

int img_validate_attr(struct http_req *r, const char *key, const json_t *v)
{
	if (!strcmp(key, "name") || !strcmp(key, "owner"))
		return check_string(r, key, v, true, IMG_NAME_MAX);
	if (!strcmp(key, "visibility"))
		return check_enum(r, key, v, visibilities, false);
	if (!strcmp(key, "disk_format"))
		return check_enum(r, key, v, img_disk_formats, true);
	if (!strcmp(key, "container_format"))
		return check_enum(r, key, v, img_container_formats, true);
	if (!strcmp(key, "protected") || !strcmp(key, "os_hidden")) {
		if (!json_is_boolean(v))
			return schema_error(r, "%s: value is not a boolean%s", key, NULL);
		return 0;
	}
	if (!strcmp(key, "min_ram") || !strcmp(key, "min_disk")) {
		if (!json_is_integer(v))
			return schema_error(r, "%s: value is not an integer%s", key, NULL);
		if (json_integer_value(v) < 0)
			return http_error(r, ERR_BADREQ, "Invalid value for %s: Cannot be a negative value", key);
		return 0;
	}
	if (!strcmp(key, "id")) {
		if (check_string(r, key, v, false, 36))
			return ERR_BADREQ;
		const char *s = json_string_value(v);
		if (strlen(s) != 36 || !uuid_valid(s))
			return schema_error(r, "'%s' does not match the id pattern%s", s, NULL);
		return 0;
	}
	if (!strcmp(key, "tags")) {
		if (!json_is_array(v))
			return schema_error(r, "tags: value is not an array%s", "", NULL);
		size_t i;
		json_t *t;
		json_array_foreach(v, i, t)
			if (check_string(r, "tags", t, false, IMG_PROP_MAX))
				return ERR_BADREQ;
		return 0;
	}
	/* an extra property */
	if (strlen(key) > IMG_PROP_MAX)
		return http_error(r, ERR_BADREQ, "Custom property should not be greater than 255 characters.");
	if (!json_is_string(v))
		return schema_error(r, "%s: value is not a string%s", key, NULL);
	if (json_string_length(v) > IMG_VALUE_MAX)
		return schema_error(r, "%s: '%s' is too long", key, "value");
	return 0;
}

/* The visibility policies on top of the operation's own. */
int img_enforce_visibility(struct http_req *r, const char *visibility, const struct img *im)
{
	if (!strcmp(visibility, "public"))
		return img_enforce(r, "publicize_image", im);
	if (!strcmp(visibility, "community"))
		return img_enforce(r, "communitize_image", im);
	return 0;
}

static const char *const base_attrs[] = {
	"id", "name", "visibility", "owner", "disk_format", "container_format", "min_disk", "min_ram",
	"protected", "os_hidden", "tags", NULL,
};

static const char *str_or_null(const json_t *body, const char *key)
{
	const json_t *v = json_object_get(body, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t int_or(const json_t *body, const char *key, int64_t def)
{
	const json_t *v = json_object_get(body, key);
	return json_is_integer(v) ? json_integer_value(v) : def;
}

static int store_tags(struct http_req *r, const char *id, const json_t *tags)
{
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t) {
		int rc = db_exec(img_db(r), "INSERT INTO img_tags (image_id, value) VALUES (?, ?)"
				 " ON CONFLICT DO NOTHING", DB_TEXT(id), DB_TEXT(json_string_value(t)));
		if (rc < 0)
			return img_db_error(r, rc, "tags");
	}
	return 0;
}

int img_store_props(struct http_req *r, const char *id, const json_t *props)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)props, k, v) {
		int rc = db_exec(img_db(r), "INSERT INTO img_properties (image_id, name, value) VALUES (?, ?, ?)",
				 DB_TEXT(id), DB_TEXT(k), DB_TEXT(json_string_value(v)));
		if (rc < 0)
			return img_db_error(r, rc, "properties");
	}
	return 0;
}

static int create_image(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	static const char *const disallowed[] = { "direct_url", "self", "file", "schema", "stores", NULL };
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v)
		if (img_in_list(disallowed, k))
			return http_error(r, ERR_FORBIDDEN, "Attribute '%s' is read-only.", k);
	json_object_foreach(body, k, v) {
		if (img_in_list(base_attrs, k)) {
			if (img_validate_attr(r, k, v))
				return ERR_BADREQ;
		} else if (img_is_read_only(k)) {
			return http_error(r, ERR_FORBIDDEN, "Attribute '%s' is read-only.", k);
		} else if (img_is_reserved(k)) {
			return http_error(r, ERR_FORBIDDEN, "Attribute '%s' is reserved.", k);
		} else if (img_validate_attr(r, k, v)) {
			return ERR_BADREQ;
		}
	}
	json_t *props = json_object();
	arena_defer(r->arena, json_decref_void, props);
	json_object_foreach(body, k, v)
		if (!img_in_list(base_attrs, k))
			json_object_set(props, k, v);
	json_t *tags = json_object_get(body, "tags");

	const char *proj = img_caller_project(r);
	const json_t *ov = json_object_get(body, "owner");
	const char *owner = ov ? (json_is_string(ov) ? json_string_value(ov) : NULL) : (*proj ? proj : NULL);
	const char *visibility = str_or_null(body, "visibility");
	if (!visibility)
		visibility = "shared";

	/* add_image against the proposed image */
	json_t *target = json_object();
	json_object_set_new(target, "project_id", owner ? json_string(owner) : json_null());
	json_object_set_new(target, "owner", owner ? json_string(owner) : json_null());
	json_object_set_new(target, "visibility", json_string(visibility));
	bool ok = auth_allowed(img_svc(r)->policy, r, "add_image", target);
	json_decref(target);
	if (!ok) {
		if (owner && strcmp(owner, proj))
			return http_error(r, ERR_FORBIDDEN, "You are not permitted to create images owned by '%s'", owner);
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete add_image action.");
	}
	if (img_enforce_visibility(r, visibility, NULL))
		return ERR_FORBIDDEN;
	if (img_quota_props(r, props) || (tags && img_quota_tags(r, tags)))
		return ERR_TOOBIG;

	char id[37];
	const char *given = str_or_null(body, "id");
	if (given)
		snprintf(id, sizeof id, "%s", given);
	else
		uuid_dashed(id);
	int64_t now = time_now_us();
	int rc = img_begin(r);
	if (rc < 0)
		return rc;
	if (owner && img_quota_check(r, owner, 0, true))
		return ERR_TOOBIG;
	const json_t *prot = json_object_get(body, "protected"), *hid = json_object_get(body, "os_hidden");
	rc = db_exec(img_db(r),
		     "INSERT INTO img_images (id, name, status, visibility, owner, disk_format, container_format,"
		     " min_disk, min_ram, protected, os_hidden, created_at, updated_at)"
		     " VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     DB_TEXT(id), DB_TEXT(str_or_null(body, "name")), DB_TEXT(visibility), DB_TEXT(owner),
		     DB_TEXT(str_or_null(body, "disk_format")), DB_TEXT(str_or_null(body, "container_format")),
		     DB_INT(int_or(body, "min_disk", 0)), DB_INT(int_or(body, "min_ram", 0)),
		     DB_BOOL(json_is_true(prot)), DB_BOOL(json_is_true(hid)), DB_INT(now), DB_INT(now));
	if (rc == ERR_CONFLICT) {
		img_rollback(r);
		return http_error(r, ERR_CONFLICT, "Image with identifier %s already exists!", id);
	}
	if (rc < 0)
		return img_db_error(r, rc, "image");
	if (img_store_props(r, id, props) || (tags && store_tags(r, id, tags)))
		return ERR_INTERNAL;
	if ((rc = img_commit(r)) < 0)
		return rc;
	struct img *im;
	if ((rc = img_load_any(r, id, &im)) < 0)
		return rc;
	http_add_header(r, "Location", arena_printf(r->arena, "%s%s/v2/images/%s", r->base_url, IMG_PREFIX, id));
	http_add_header(r, "OpenStack-image-import-methods", "glance-direct");
	return http_reply_json(r, 201, img_render(r, im));
}

static int show_image(struct http_req *r)
{
	struct img *im;
	int rc = img_load(r, http_param(r, "image_id"), &im);
	if (rc < 0)
		return rc;
	return http_reply_json(r, 200, img_render(r, im));
}

int img_delete_image(struct http_req *r, const char *id)
{
	struct img *im;
	int rc = img_load(r, id, &im);
	if (rc < 0)
		return rc;
	if ((rc = img_enforce(r, "delete_image", im)) < 0)
		return rc;
	if (im->protected_)
		return http_error(r, ERR_FORBIDDEN, "Image %s is protected and cannot be deleted.", id);
	if ((rc = img_begin(r)) < 0)
		return rc;
	/* read the data's place inside the transaction: an upload may have just finished */
	struct db_rows *rows;
	rc = db_query(img_db(r), &rows, "SELECT store, location, protected FROM img_images WHERE id = ?", DB_TEXT(id));
	if (rc < 0)
		return img_db_error(r, rc, "image");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		img_rollback(r);
		return img_not_found(r, id);
	}
	const char *store = arena_strdup(r->arena, db_text(rows, 0, 0));
	const char *location = arena_strdup(r->arena, db_text(rows, 0, 1));
	bool prot = db_bool(rows, 0, 2);
	db_rows_free(rows);
	if (prot) {
		img_rollback(r);
		return http_error(r, ERR_FORBIDDEN, "Image %s is protected and cannot be deleted.", id);
	}
	rc = db_exec(img_db(r), "DELETE FROM img_images WHERE id = ?", DB_TEXT(id));
	if (rc < 0)
		return img_db_error(r, rc, "delete");
	if ((rc = img_commit(r)) < 0)
		return rc;
	if (store && location)
		img_store_remove(img_svc(r), store, location);
	img_stage_remove(img_svc(r), id);
	return 0;
}

static int delete_image(struct http_req *r)
{
	int rc = img_delete_image(r, http_param(r, "image_id"));
	return rc < 0 ? rc : http_reply_empty(r, 204);
}

const struct route img_routes_images[] = {
	{ "POST", "/v2/images", create_image, NULL, ROUTE_EXACT, NULL },
	{ "GET", "/v2/images", img_list_images, NULL, ROUTE_EXACT, NULL },
	{ "GET", "/v2/images/{image_id}", show_image, NULL, 0, NULL },
	{ "PATCH", "/v2/images/{image_id}", img_patch_image, NULL, 0, NULL },
	{ "DELETE", "/v2/images/{image_id}", delete_image, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
