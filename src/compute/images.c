/* images.c — Nova's image proxy (deprecated: microversions 2.1–2.35, the metadata calls to
 * 2.38, 404 above as Nova answers): GET /images, /images/detail (filters, marker paging with
 * images_links), GET and DELETE /images/{id}, and /images/{id}/metadata[/{key}]. The image
 * service answers in-process with the caller's token, under its own rules (image.h). */
#include "compute/cmp.h"
#include "compute/srv.h"
#include "compute/valid.h"
#include "image/image.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_LIMIT 1000          /* Nova's [api] max_limit */
#define PROXY_MAX 35            /* MAX_PROXY_API_SUPPORT_VERSION 2.35 */
#define META_PROXY_MAX 38       /* MAX_IMAGE_META_PROXY_API_VERSION 2.38 */

/* Above a method's last microversion Nova answers a bare 404. */
static int gate(struct http_req *r, int max_minor)
{
	if (cmp_mv_ge(r, 2, max_minor + 1))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	return 0;
}

static int not_found(struct http_req *r)
{
	return http_error(r, ERR_NOTFOUND, "Image not found.");
}

/* An image service failure other than the ones a handler maps itself. */
static int image_failure(struct http_req *r, int rc, const char *msg)
{
	if (rc == ERR_NOTFOUND)
		return not_found(r);
	if (rc == ERR_FORBIDDEN || rc == ERR_BADREQ)
		return http_error(r, rc, "%s", msg);
	log_error("image service call failed: %s", msg);
	return http_error(r, ERR_INTERNAL, "Unexpected API Error. Please report this at "
			  "https://bugs.launchpad.net/nova/ and attach the Nova API log if possible.");
}

/* --- views (nova/api/openstack/compute/views/images.py) --- */

static const char *nova_status(const char *s)
{
	static const char *const map[][2] = {
		{ "active", "ACTIVE" }, { "queued", "SAVING" }, { "saving", "SAVING" },
		{ "deleted", "DELETED" }, { "pending_delete", "DELETED" }, { "killed", "ERROR" },
	};
	for (size_t i = 0; s && i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i][0], s))
			return map[i][1];
	return "UNKNOWN";
}

static int nova_progress(const char *s)
{
	if (!s)
		return 0;
	return !strcmp(s, "queued") ? 25 : !strcmp(s, "saving") ? 50 : !strcmp(s, "active") ? 100 : 0;
}

/* self and bookmark, and the image service's own address ("alternate"). */
static json_t *image_links(struct http_req *r, const char *id)
{
	json_t *l = cmp_links(r, "images", id);
	json_array_append_new(l, json_pack("{s:s,s:s,s:s}", "rel", "alternate", "type",
					   "application/vnd.openstack.image", "href",
					   arena_printf(r->arena, "%s/image/images/%s", r->base_url, id)));
	return l;
}

/* oslo's bool_from_string (not strict). */
static bool truthy(const char *s)
{
	static const char *const yes[] = { "1", "t", "true", "on", "y", "yes" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (!strcasecmp(s, yes[i]))
			return true;
	return false;
}

static json_t *view_basic(struct http_req *r, const json_t *im)
{
	const char *id = json_string_value(json_object_get(im, "id"));
	return json_pack("{s:s,s:O,s:o}", "id", id, "name", json_object_get(im, "name"), "links",
			 image_links(r, id));
}

static json_t *view_full(struct http_req *r, const json_t *im)
{
	const char *id = json_string_value(json_object_get(im, "id"));
	const char *status = json_string_value(json_object_get(im, "status"));
	json_t *props = json_object_get(im, "properties");
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set(o, "name", json_object_get(im, "name"));
	json_object_set(o, "minRam", json_object_get(im, "min_ram"));
	json_object_set(o, "minDisk", json_object_get(im, "min_disk"));
	json_object_set(o, "metadata", props);
	json_object_set(o, "created", json_object_get(im, "created_at"));
	json_object_set(o, "updated", json_object_get(im, "updated_at"));
	json_object_set_new(o, "status", json_string(nova_status(status)));
	json_object_set_new(o, "progress", json_integer(nova_progress(status)));
	json_object_set(o, "OS-EXT-IMG-SIZE:size", json_object_get(im, "size"));
	json_object_set_new(o, "links", image_links(r, id));
	const char *server = json_string_value(json_object_get(props, "instance_uuid"));
	if (server)
		json_object_set_new(o, "server", json_pack("{s:s,s:o}", "id", server, "links",
							   cmp_links(r, "servers", server)));
	const char *adc = json_string_value(json_object_get(props, "auto_disk_config"));
	if (adc)
		json_object_set_new(o, "OS-DCF:diskConfig", json_string(truthy(adc) ? "AUTO" : "MANUAL"));
	return o;
}

/* --- lists --- */

/* A pagination parameter as Nova's validate_integer(min_value=0) checks it. */
static int page_int(struct http_req *r, const char *name, int64_t *out)
{
	const char *s = http_query(r, name);
	if (!s)
		return 0;
	if (parse_int64(s, INT64_MIN, INT64_MAX, out))
		return http_error(r, ERR_BADREQ, "Invalid input received: %s must be an integer", name);
	if (*out < 0)
		return http_error(r, ERR_BADREQ, "Invalid input received: %s must be >= 0", name);
	return 0;
}

struct filters {
	struct http_req *r;
	struct image_query *q;
	json_t *props;
};

/* Nova's supported filters: name, status, changes-since, server (the instance uuid, or a link
 * to it), type (image_type), minRam, minDisk and property-NAME; anything else is ignored. */
static int take_filter(void *ctx, const char *name, const char *value)
{
	struct filters *f = ctx;
	struct arena *a = f->r->arena;
	if (!value)
		value = "";
	if (!strcmp(name, "name")) {
		f->q->name = value;
	} else if (!strcmp(name, "status")) {
		char *s = arena_strdup(a, value);
		for (char *p = s; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		f->q->status = s;
	} else if (!strcmp(name, "changes-since")) {
		f->q->changes_since = value;
	} else if (!strcmp(name, "minRam")) {
		f->q->min_ram = value;
	} else if (!strcmp(name, "minDisk")) {
		f->q->min_disk = value;
	} else if (!strcmp(name, "type")) {
		json_object_set_new(f->props, "image_type", json_string(value));
	} else if (!strcmp(name, "server")) {
		const char *slash = strrchr(value, '/');
		json_object_set_new(f->props, "instance_uuid", json_string(slash ? slash + 1 : value));
	} else if (!strncmp(name, "property-", 9) && name[9]) {
		/* (Nova strips the prefix with str.lstrip, which also eats leading letters of the
		 * property name; the prefix alone is meant and removed here.) */
		json_object_set_new(f->props, name + 9, json_string(value));
	}
	return 0;
}

static int list(struct http_req *r, bool detail)
{
	int rc = gate(r, PROXY_MAX);
	if (rc < 0)
		return rc;
	int64_t limit = 0, page_size = 0, offset = 0;
	bool has_limit = http_query(r, "limit") != NULL;
	if ((rc = page_int(r, "limit", &limit)) < 0 || (rc = page_int(r, "page_size", &page_size)) < 0 ||
	    (rc = page_int(r, "offset", &offset)) < 0)
		return rc;
	struct image_query q = { .marker = http_query(r, "marker") };
	struct filters f = { .r = r, .q = &q, .props = json_object() };
	arena_defer(r->arena, json_decref_void, f.props);
	http_query_each(r, take_filter, &f);
	if (json_object_size(f.props))
		q.props = f.props;
	/* limit=0 (or none) asks for everything; one page is at most max_limit */
	q.limit = limit > 0 && limit < MAX_LIMIT ? (int)limit : MAX_LIMIT;
	json_t *images;
	char err[512];
	rc = image_list_for(cmp_svc(r)->images, r, &q, &images, err, sizeof err);
	if (rc < 0)
		return image_failure(r, rc, err);
	arena_defer(r->arena, json_decref_void, images);
	json_t *out = json_array();
	size_t i;
	json_t *im;
	json_array_foreach(images, i, im)
		json_array_append_new(out, detail ? view_full(r, im) : view_basic(r, im));
	json_t *body = json_pack("{s:o}", "images", out);
	int64_t max_items = has_limit && limit < MAX_LIMIT ? limit : MAX_LIMIT;
	size_t n = json_array_size(images);
	if (max_items && (size_t)max_items == n)
		json_object_set_new(body, "images_links", json_pack("[{s:s,s:s}]", "rel", "next", "href",
			cmp_next_link(r, detail ? "images/detail" : "images",
				      json_string_value(json_object_get(json_array_get(images, n - 1), "id")))));
	return http_reply_json(r, 200, body);
}

static int h_index(struct http_req *r)
{
	return list(r, false);
}

static int h_detail(struct http_req *r)
{
	return list(r, true);
}

/* --- one image --- */

/* The image as the caller may see it: 0 and *out (freed with the request), or 404. */
static int get_image(struct http_req *r, const char *id, json_t **out)
{
	char err[512];
	int rc = image_show_for(cmp_svc(r)->images, r, id, out, err, sizeof err);
	if (rc < 0)
		return image_failure(r, rc, err);
	arena_defer(r->arena, json_decref_void, *out);
	return 0;
}

static int h_show(struct http_req *r)
{
	int rc = gate(r, PROXY_MAX);
	json_t *im;
	if (rc < 0 || (rc = get_image(r, http_param(r, "image_id"), &im)) < 0)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "image", view_full(r, im)));
}

static int h_delete(struct http_req *r)
{
	int rc = gate(r, PROXY_MAX);
	if (rc < 0)
		return rc;
	char err[512];
	rc = image_delete_for(cmp_svc(r)->images, r, http_param(r, "image_id"), err, sizeof err);
	if (rc == ERR_FORBIDDEN)
		return http_error(r, ERR_FORBIDDEN, "You are not allowed to delete the image.");
	if (rc < 0)
		return image_failure(r, rc, err);
	return http_reply_empty(r, 204);
}

/* DELETE /images/ (no id): no such image. */
static int h_delete_blank(struct http_req *r)
{
	int rc = gate(r, PROXY_MAX);
	return rc < 0 ? rc : not_found(r);
}

/* --- metadata (nova/api/openstack/compute/image_metadata.py) --- */

static int meta_image(struct http_req *r, json_t **props)
{
	int rc = gate(r, META_PROXY_MAX);
	json_t *im;
	if (rc < 0 || (rc = get_image(r, http_param(r, "image_id"), &im)) < 0)
		return rc;
	*props = json_object_get(im, "properties");
	return 0;
}

/* common.check_img_metadata_properties_quota: 403 over metadata_items. */
static int meta_quota(struct http_req *r, const json_t *props)
{
	size_t n = json_object_size(props);
	if (!n)
		return 0;
	int64_t limit = -1;
	int rc = cmp_quota_limit(r, cmp_project(r), cmp_user(r), "metadata_items", &limit);
	if (rc < 0)
		return rc;
	if (limit >= 0 && (int64_t)n > limit)
		return http_error(r, ERR_FORBIDDEN, "Image metadata limit exceeded");
	return 0;
}

/* Sends the complete new set of properties to the image service. */
static int meta_save(struct http_req *r, const json_t *props, json_t **after)
{
	const char *id = http_param(r, "image_id");
	char err[512];
	json_t *im;
	int rc = image_set_props_for(cmp_svc(r)->images, r, id, props, &im, err, sizeof err);
	if (rc == ERR_FORBIDDEN)
		return http_error(r, ERR_FORBIDDEN, "Not authorized for image %s.", id);
	if (rc == ERR_BADREQ)
		return http_error(r, ERR_BADREQ, "Request of image %s got BadRequest response: %s", id, err);
	if (rc == ERR_TOOBIG)
		return http_error(r, ERR_FORBIDDEN, "Quota exceeded or out of space for image %s in the image service.", id);
	if (rc < 0)
		return image_failure(r, rc, err);
	arena_defer(r->arena, json_decref_void, im);
	if (after)
		*after = json_object_get(im, "properties");
	return 0;
}

/* The body {KEY: {...metadata...}} and nothing else, as Nova's schemas require. */
static int body_items(struct http_req *r, const char *key, json_t **items)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	static const char *const only_metadata[] = { "metadata", NULL }, *const only_meta[] = { "meta", NULL };
	int rc = cmp_v_required(r, body, NULL, key);
	if (rc < 0 || (rc = cmp_v_only(r, body, NULL, !strcmp(key, "meta") ? only_meta : only_metadata)) < 0)
		return rc;
	*items = json_object_get(body, key);
	return srv_validate_metadata(r, *items, key);
}

static int h_meta_index(struct http_req *r)
{
	json_t *props;
	int rc = meta_image(r, &props);
	if (rc < 0)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:O}", "metadata", props));
}

static int h_meta_show(struct http_req *r)
{
	json_t *props;
	int rc = meta_image(r, &props);
	if (rc < 0)
		return rc;
	const char *key = http_param(r, "key");
	json_t *v = json_object_get(props, key);
	if (!v)
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	return http_reply_json(r, 200, json_pack("{s:{s:O}}", "meta", key, v));
}

/* POST merges the items into the image's properties; PUT replaces them all. */
static int meta_write(struct http_req *r, bool replace)
{
	int rc = gate(r, META_PROXY_MAX);
	json_t *items, *props, *after;
	if (rc < 0 || (rc = body_items(r, "metadata", &items)) < 0 || (rc = meta_image(r, &props)) < 0)
		return rc;
	json_t *next = replace ? json_deep_copy(items) : json_deep_copy(props);
	arena_defer(r->arena, json_decref_void, next);
	if (!replace)
		json_object_update(next, items);
	if ((rc = meta_quota(r, next)) < 0 || (rc = meta_save(r, next, &after)) < 0)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:O}", "metadata", replace ? items : after));
}

static int h_meta_create(struct http_req *r)
{
	return meta_write(r, false);
}

static int h_meta_update_all(struct http_req *r)
{
	return meta_write(r, true);
}

static int h_meta_update(struct http_req *r)
{
	int rc = gate(r, META_PROXY_MAX);
	json_t *meta, *props;
	if (rc < 0 || (rc = body_items(r, "meta", &meta)) < 0)
		return rc;
	if (json_object_size(meta) != 1)
		return cmp_bad_field(r, "meta", json_object_size(meta) ? "Value has too many properties"
							    : "Value does not have enough properties");
	const char *key = http_param(r, "key");
	if (!json_object_get(meta, key))
		return http_error(r, ERR_BADREQ, "Request body and URI mismatch");
	if ((rc = meta_image(r, &props)) < 0)
		return rc;
	json_t *next = json_deep_copy(props);
	arena_defer(r->arena, json_decref_void, next);
	json_object_set(next, key, json_object_get(meta, key));
	if ((rc = meta_quota(r, next)) < 0 || (rc = meta_save(r, next, NULL)) < 0)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:O}", "meta", meta));
}

static int h_meta_delete(struct http_req *r)
{
	json_t *props;
	int rc = meta_image(r, &props);
	if (rc < 0)
		return rc;
	const char *key = http_param(r, "key");
	if (!json_object_get(props, key))
		return http_error(r, ERR_NOTFOUND, "Invalid metadata key");
	json_t *next = json_deep_copy(props);
	arena_defer(r->arena, json_decref_void, next);
	json_object_del(next, key);
	if ((rc = meta_save(r, next, NULL)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route cmp_routes_images[] = {
	{ "GET", "/v2.1/images", h_index, NULL, 0, NULL },
	{ "DELETE", "/v2.1/images", h_delete_blank, NULL, 0, NULL },
	{ "GET", "/v2.1/images/detail", h_detail, NULL, 0, NULL },
	{ "GET", "/v2.1/images/{image_id}", h_show, NULL, 0, NULL },
	{ "DELETE", "/v2.1/images/{image_id}", h_delete, NULL, 0, NULL },
	{ "GET", "/v2.1/images/{image_id}/metadata", h_meta_index, NULL, 0, NULL },
	{ "POST", "/v2.1/images/{image_id}/metadata", h_meta_create, NULL, 0, NULL },
	{ "PUT", "/v2.1/images/{image_id}/metadata", h_meta_update_all, NULL, 0, NULL },
	{ "GET", "/v2.1/images/{image_id}/metadata/{key}", h_meta_show, NULL, 0, NULL },
	{ "PUT", "/v2.1/images/{image_id}/metadata/{key}", h_meta_update, NULL, 0, NULL },
	{ "DELETE", "/v2.1/images/{image_id}/metadata/{key}", h_meta_delete, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
