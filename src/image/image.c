/* image.c — the image record: loading a row (with its extra properties, tags and the caller's
 * membership), who may see it, its policy target, Glance's Forbidden→NotFound rule, and the
 * JSON the API shows. */
#include "image/img.h"
#include <stdlib.h>
#include <string.h>

static int64_t opt_int(const struct db_rows *rows, int i, int col)
{
	return db_isnull(rows, i, col) ? -1 : db_int(rows, i, col);
}

void img_from_row(struct http_req *r, const struct db_rows *rows, int i, struct img *im)
{
	struct arena *a = r->arena;
	memset(im, 0, sizeof *im);
	int c = 0;
	im->id = arena_strdup(a, db_text(rows, i, c++));
	im->name = arena_strdup(a, db_text(rows, i, c++));
	im->status = arena_strdup(a, db_text(rows, i, c++));
	im->visibility = arena_strdup(a, db_text(rows, i, c++));
	im->owner = arena_strdup(a, db_text(rows, i, c++));
	im->disk_format = arena_strdup(a, db_text(rows, i, c++));
	im->container_format = arena_strdup(a, db_text(rows, i, c++));
	im->checksum = arena_strdup(a, db_text(rows, i, c++));
	im->os_hash_algo = arena_strdup(a, db_text(rows, i, c++));
	im->os_hash_value = arena_strdup(a, db_text(rows, i, c++));
	im->store = arena_strdup(a, db_text(rows, i, c++));
	im->location = arena_strdup(a, db_text(rows, i, c++));
	im->upload_id = arena_strdup(a, db_text(rows, i, c++));
	im->size = opt_int(rows, i, c++);
	im->virtual_size = opt_int(rows, i, c++);
	im->staged = opt_int(rows, i, c++);
	im->min_disk = db_int(rows, i, c++);
	im->min_ram = db_int(rows, i, c++);
	im->created_at = db_int(rows, i, c++);
	im->updated_at = db_int(rows, i, c++);
	im->protected_ = db_bool(rows, i, c++);
	im->os_hidden = db_bool(rows, i, c++);
}

/* "?, ?, ..." for n parameters, in the arena. */
static const char *placeholders(struct arena *a, int n)
{
	char *s = arena_alloc(a, (size_t)n * 3 + 1), *w = s;
	for (int i = 0; i < n; i++) {
		if (i) {
			*w++ = ',';
			*w++ = ' ';
		}
		*w++ = '?';
	}
	*w = 0;
	return s;
}

/* The image of ims with that id. Rows come ordered by image id, so the previous answer is
 * tried first and the scan runs once per image of the page. */
static struct img *find(struct img **ims, int n, const char *id, struct img **last)
{
	if (*last && !strcmp((*last)->id, id))
		return *last;
	for (int i = 0; i < n; i++)
		if (!strcmp(ims[i]->id, id))
			return *last = ims[i];
	return NULL;
}

int img_load_extras_many(struct http_req *r, struct img **ims, int n)
{
	if (n <= 0)
		return 0;
	struct db_conn *c = img_db(r);
	const char *proj = img_caller_project(r);
	struct db_arg *args = arena_alloc(r->arena, sizeof *args * (size_t)(n + 2));
	args[0] = DB_TEXT(proj);
	for (int i = 0; i < n; i++) {
		args[i + 1] = DB_TEXT(ims[i]->id);
		ims[i]->props = json_object();
		arena_defer(r->arena, json_decref_void, ims[i]->props);
		ims[i]->tags = json_array();
		arena_defer(r->arena, json_decref_void, ims[i]->tags);
		ims[i]->member_status = NULL;
	}
	args[n + 1] = DB_END_;
	const char *in = placeholders(r->arena, n);
	struct db_rows *rows;
	struct img *last = NULL;
	int rc = db_query_a(c, &rows, arena_printf(r->arena, "SELECT image_id, name, value FROM img_properties"
						   " WHERE image_id IN (%s) ORDER BY image_id, name", in), args + 1);
	if (rc < 0)
		return img_db_error(r, rc, "properties");
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct img *im = find(ims, n, db_text(rows, i, 0), &last);
		if (im)
			json_object_set_new(im->props, db_text(rows, i, 1), json_string(db_text(rows, i, 2)));
	}
	db_rows_free(rows);
	rc = db_query_a(c, &rows, arena_printf(r->arena, "SELECT image_id, value FROM img_tags"
					       " WHERE image_id IN (%s) ORDER BY image_id, value", in), args + 1);
	if (rc < 0)
		return img_db_error(r, rc, "tags");
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct img *im = find(ims, n, db_text(rows, i, 0), &last);
		if (im)
			json_array_append_new(im->tags, json_string(db_text(rows, i, 1)));
	}
	db_rows_free(rows);
	if (!*proj)
		return 0;
	rc = db_query_a(c, &rows, arena_printf(r->arena, "SELECT image_id, status FROM img_members"
					       " WHERE member = ? AND image_id IN (%s)", in), args);
	if (rc < 0)
		return img_db_error(r, rc, "members");
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct img *im = find(ims, n, db_text(rows, i, 0), &last);
		if (im)
			im->member_status = arena_strdup(r->arena, db_text(rows, i, 1));
	}
	db_rows_free(rows);
	return 0;
}

int img_query_page(struct http_req *r, const char *sql, const struct db_arg *args, struct img ***out, int *n)
{
	struct db_rows *rows;
	int rc = db_query_a(img_db(r), &rows, sql, args);
	if (rc < 0)
		return img_db_error(r, rc, "list");
	int k = db_rows_count(rows);
	struct img **page = arena_alloc(r->arena, sizeof *page * (size_t)(k ? k : 1));
	for (int i = 0; i < k; i++) {
		page[i] = arena_alloc(r->arena, sizeof *page[i]);
		img_from_row(r, rows, i, page[i]);
	}
	db_rows_free(rows);
	if ((rc = img_load_extras_many(r, page, k)) < 0)
		return rc;
	*out = page;
	*n = k;
	return 0;
}

int img_load_extras(struct http_req *r, struct img *im)
{
	return img_load_extras_many(r, &im, 1);
}

int img_not_found(struct http_req *r, const char *id)
{
	return http_error(r, ERR_NOTFOUND, "No image found with ID %s", id);
}

int img_load_any(struct http_req *r, const char *id, struct img **out)
{
	struct db_rows *rows;
	int rc = db_query(img_db(r), &rows, "SELECT " IMG_COLUMNS " FROM img_images WHERE id = ?", DB_TEXT(id));
	if (rc < 0)
		return img_db_error(r, rc, "image");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return img_not_found(r, id);
	}
	struct img *im = arena_alloc(r->arena, sizeof *im);
	img_from_row(r, rows, 0, im);
	db_rows_free(rows);
	if ((rc = img_load_extras(r, im)) < 0)
		return rc;
	*out = im;
	return 0;
}

/* Glance's database-level visibility (is_image_visible): admins, the owner, public and
 * community images, and shared images for their members (any status). */
static bool visible(struct http_req *r, const struct img *im)
{
	if (img_is_admin(r))
		return true;
	const char *proj = img_caller_project(r);
	if (im->owner && *proj && !strcmp(im->owner, proj))
		return true;
	if (!strcmp(im->visibility, "public") || !strcmp(im->visibility, "community"))
		return true;
	return !strcmp(im->visibility, "shared") && im->member_status;
}

int img_load(struct http_req *r, const char *id, struct img **out)
{
	struct img *im;
	if (!id || strlen(id) > 36)
		return img_not_found(r, id ? id : "");
	int rc = img_load_any(r, id, &im);
	if (rc < 0)
		return rc;
	if (!visible(r, im) || !img_allowed(r, "get_image", im))
		return img_not_found(r, id);
	*out = im;
	return 0;
}

json_t *img_target(struct http_req *r, const struct img *im)
{
	json_t *t = json_object();
	if (!im) {
		const char *proj = img_caller_project(r);
		json_object_set_new(t, "project_id", json_string(proj));
		json_object_set_new(t, "owner", json_string(proj));
		json_object_set_new(t, "visibility", json_string("private"));
		return t;
	}
	if (im->props) {
		const char *k;
		json_t *v;
		json_object_foreach(im->props, k, v)
			json_object_set(t, k, v);
	}
	json_object_set_new(t, "project_id", im->owner ? json_string(im->owner) : json_null());
	json_object_set_new(t, "owner", im->owner ? json_string(im->owner) : json_null());
	json_object_set_new(t, "visibility", json_string(im->visibility));
	json_object_set_new(t, "id", json_string(im->id));
	json_object_set_new(t, "image_id", json_string(im->id));
	json_object_set_new(t, "status", json_string(im->status));
	json_object_set_new(t, "protected", json_boolean(im->protected_));
	if (im->member_status)
		json_object_set_new(t, "member_id", json_string(img_caller_project(r)));
	return t;
}

bool img_allowed(struct http_req *r, const char *rule, const struct img *im)
{
	json_t *t = img_target(r, im);
	bool ok = auth_allowed(img_svc(r)->policy, r, rule, t);
	json_decref(t);
	return ok;
}

int img_enforce(struct http_req *r, const char *rule, const struct img *im)
{
	if (img_allowed(r, rule, im))
		return 0;
	if (im && (!strcmp(rule, "get_image") || !img_allowed(r, "get_image", im)))
		return img_not_found(r, im->id);
	return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete %s action.", rule);
}

int img_touch(struct http_req *r, const char *id)
{
	int rc = db_exec(img_db(r), "UPDATE img_images SET updated_at = ? WHERE id = ?",
			 DB_INT(time_now_us()), DB_TEXT(id));
	return rc < 0 ? img_db_error(r, rc, "touch") : 0;
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *opt_num(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

json_t *img_render(struct http_req *r, const struct img *im)
{
	json_t *o = json_object();
	if (im->props)
		json_object_update(o, im->props);
	char t[40];
	json_object_set_new(o, "name", opt_str(im->name));
	json_object_set_new(o, "disk_format", opt_str(im->disk_format));
	json_object_set_new(o, "container_format", opt_str(im->container_format));
	json_object_set_new(o, "visibility", json_string(im->visibility));
	/* staged data counts as the image's size until it is imported, as Glance shows it */
	json_object_set_new(o, "size", opt_num(im->size >= 0 ? im->size : im->staged));
	json_object_set_new(o, "virtual_size", opt_num(im->virtual_size));
	json_object_set_new(o, "status", json_string(im->status));
	json_object_set_new(o, "checksum", opt_str(im->checksum));
	json_object_set_new(o, "protected", json_boolean(im->protected_));
	json_object_set_new(o, "min_ram", json_integer(im->min_ram));
	json_object_set_new(o, "min_disk", json_integer(im->min_disk));
	json_object_set_new(o, "owner", opt_str(im->owner));
	json_object_set_new(o, "os_hidden", json_boolean(im->os_hidden));
	json_object_set_new(o, "os_hash_algo", opt_str(im->os_hash_algo));
	json_object_set_new(o, "os_hash_value", opt_str(im->os_hash_value));
	json_object_set_new(o, "id", json_string(im->id));
	time_format(im->created_at, 0, true, t);
	json_object_set_new(o, "created_at", json_string(t));
	time_format(im->updated_at, 0, true, t);
	json_object_set_new(o, "updated_at", json_string(t));
	json_object_set_new(o, "tags", im->tags ? json_deep_copy(im->tags) : json_array());
	json_object_set_new(o, "self", json_string(arena_printf(r->arena, "/v2/images/%s", im->id)));
	json_object_set_new(o, "file", json_string(arena_printf(r->arena, "/v2/images/%s/file", im->id)));
	json_object_set_new(o, "schema", json_string("/v2/schemas/image"));
	if (im->store && !strcmp(im->status, "active"))
		json_object_set_new(o, "stores", json_string(im->store));
	return o;
}
