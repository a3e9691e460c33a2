/* inproc_list.c — in-process image calls made for an API caller (see image.h): the compute
 * API's image proxy lists, shows, deletes and edits the extra properties of images through
 * these, under the image service's own visibility, policy, protection and quota rules and with
 * the caller's token. Each call runs as a request of the image service of its own (a shell
 * carrying the caller's token, sharing its arena), so the internals of img.h apply unchanged. */
#include "image/img.h"
#include "core/sqlbuf.h"
#include <stdio.h>
#include <string.h>

#define LIST_MAX 1000

/* A request of the image service made for caller. Arena-allocated: the database slot it
 * checks out is returned by the arena at the latest. */
struct call {
	struct http_req r;
	struct img_req ir;
};

static struct call *call_new(struct image_svc *svc, struct http_req *caller)
{
	struct call *c = arena_alloc(caller->arena, sizeof *c);
	memset(c, 0, sizeof *c);
	c->ir.svc = svc;
	c->r.arena = caller->arena;
	c->r.method = caller->method;
	c->r.path = caller->path;
	c->r.subpath = caller->subpath;
	c->r.base_url = caller->base_url;
	c->r.auth = caller->auth;
	c->r.t0 = caller->t0;
	snprintf(c->r.request_id, sizeof c->r.request_id, "%s", caller->request_id);
	c->r.svc_data = &c->ir;
	return c;
}

/* Ends the call: gives the connection back (rolling back anything open) and passes the error
 * message on. Returns rc. */
static int call_end(struct call *c, int rc, char *err, size_t errlen)
{
	db_slot_put(&c->ir.conn);
	if (rc < 0)
		snprintf(err, errlen, "%s", c->r.err ? c->r.errmsg : "image service error");
	return rc < 0 && c->r.err ? c->r.err : rc;
}

/* The attributes Glance's image schema defines (anything else is an extra property). */
static const char *const own_attrs[] = {
	"id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
	"os_hash_value", "owner", "size", "virtual_size", "container_format", "disk_format",
	"created_at", "updated_at", "tags", "direct_url", "min_ram", "min_disk", "self", "file",
	"stores", "schema", "locations", "location", NULL,
};

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *when(int64_t us)
{
	char t[40];
	time_format(us, 0, true, t);
	return json_string(t);
}

/* The image as Nova's image layer sees it (image.h). */
static json_t *view(const struct img *im)
{
	int64_t size = im->size >= 0 ? im->size : im->staged >= 0 ? im->staged : 0;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(im->id));
	json_object_set_new(o, "name", opt_str(im->name));
	json_object_set_new(o, "status", json_string(im->status));
	json_object_set_new(o, "visibility", json_string(im->visibility));
	json_object_set_new(o, "owner", opt_str(im->owner));
	json_object_set_new(o, "size", json_integer(size));
	json_object_set_new(o, "min_ram", json_integer(im->min_ram));
	json_object_set_new(o, "min_disk", json_integer(im->min_disk));
	json_object_set_new(o, "created_at", when(im->created_at));
	json_object_set_new(o, "updated_at", when(im->updated_at));
	json_object_set_new(o, "protected", json_boolean(im->protected_));
	json_object_set_new(o, "disk_format", opt_str(im->disk_format));
	json_object_set_new(o, "container_format", opt_str(im->container_format));
	json_object_set_new(o, "checksum", opt_str(im->checksum));
	json_object_set_new(o, "properties", im->props ? json_deep_copy(im->props) : json_object());
	return o;
}

/* Builds the list query of q with core/sqlbuf (at most 64 arguments: a few per filter). */
#define MAX_ARGS 64

static int int_filter(struct call *c, struct sqlbuf *s, const char *col, const char *value)
{
	int64_t v;
	if (parse_int64(value, INT64_MIN, INT64_MAX, &v))
		return http_error(&c->r, ERR_BADREQ, "Invalid value for the %s filter: an integer is expected.", col);
	sqlbuf_add(s, arena_printf(s->a, " AND i.%s = ?", col));
	sqlbuf_int(s, v);
	return 0;
}

static int list_query(struct call *c, const struct image_query *q, struct sqlbuf *s)
{
	struct http_req *r = &c->r;
	const char *proj = img_caller_project(r);
	sqlbuf_add(s, "SELECT " IMG_COLUMNS " FROM img_images i WHERE i.status NOT IN ('killed', 'deleted')"
	       " AND i.os_hidden = ?");
	sqlbuf_arg(s, DB_BOOL(false));
	if (!img_is_admin(r)) {   /* Glance's list visibility for a project (member_status accepted) */
		sqlbuf_add(s, " AND (i.visibility IN ('public', 'community')");
		if (*proj) {
			sqlbuf_add(s, " OR i.owner = ? OR (i.visibility = 'shared' AND EXISTS (SELECT 1 FROM img_members m"
			       " WHERE m.image_id = i.id AND m.member = ? AND m.status = 'accepted'))");
			sqlbuf_arg(s, DB_TEXT(proj));
			sqlbuf_arg(s, DB_TEXT(proj));
		}
		sqlbuf_add(s, ")");
	}
	if (*proj) {   /* community images only when they are the caller's own */
		sqlbuf_add(s, " AND (i.owner = ? OR i.visibility <> 'community')");
		sqlbuf_arg(s, DB_TEXT(proj));
	} else {
		sqlbuf_add(s, " AND i.visibility <> 'community'");
	}
	if (q->name) {
		sqlbuf_add(s, " AND i.name = ?");
		sqlbuf_arg(s, DB_TEXT(q->name));
	}
	if (q->status) {
		sqlbuf_add(s, " AND i.status = ?");
		sqlbuf_arg(s, DB_TEXT(q->status));
	}
	if (q->changes_since) {   /* Nova asks Glance for updated_at=gte:TIME (whole seconds) */
		int64_t us;
		if (time_parse(q->changes_since, &us))
			return http_error(r, ERR_BADREQ, "Bad \"updated_at\" query filter format. Use ISO 8601 DateTime notation.");
		sqlbuf_add(s, " AND i.updated_at >= ?");
		sqlbuf_arg(s, DB_INT(us / 1000000 * 1000000));
	}
	if (q->min_ram && int_filter(c, s, "min_ram", q->min_ram) == ERR_BADREQ)
		return ERR_BADREQ;
	if (q->min_disk && int_filter(c, s, "min_disk", q->min_disk) == ERR_BADREQ)
		return ERR_BADREQ;
	if (q->props) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)q->props, k, v) {
			sqlbuf_add(s, " AND EXISTS (SELECT 1 FROM img_properties pr WHERE pr.image_id = i.id"
			       " AND pr.name = ? AND pr.value = ?)");
			sqlbuf_arg(s, DB_TEXT(arena_strdup(s->a, k)));
			sqlbuf_arg(s, DB_TEXT(arena_strdup(s->a, json_string_value(v) ? json_string_value(v) : "")));
			if (s->overflow)
				return http_error(r, ERR_BADREQ, "Too many filters.");
		}
	}
	if (q->marker) {
		struct img *m;
		if (img_load(r, q->marker, &m) < 0) {
			if (r->err != ERR_NOTFOUND)
				return r->err;
			return http_error(r, ERR_BADREQ, "No image found with ID %s", q->marker);
		}
		sqlbuf_add(s, " AND (i.created_at < ? OR (i.created_at = ? AND i.id < ?))");
		sqlbuf_arg(s, DB_INT(m->created_at));
		sqlbuf_arg(s, DB_INT(m->created_at));
		sqlbuf_arg(s, DB_TEXT(m->id));
	}
	int limit = q->limit > 0 && q->limit <= LIST_MAX ? q->limit : LIST_MAX;
	sqlbuf_add(s, arena_printf(s->a, " ORDER BY i.created_at DESC, i.id DESC LIMIT %d", limit));
	if (s->nargs >= MAX_ARGS)
		return http_error(r, ERR_BADREQ, "Too many filters.");
	return 0;
}

int image_list_for(struct image_svc *svc, struct http_req *caller, const struct image_query *q,
		   json_t **out, char *err, size_t errlen)
{
	struct call *c = call_new(svc, caller);
	struct http_req *r = &c->r;
	if (!img_allowed(r, "get_images", NULL))
		return call_end(c, http_error(r, ERR_FORBIDDEN, "You are not authorized to complete get_images action."),
				err, errlen);
	struct sqlbuf s = { .a = r->arena, .max_args = MAX_ARGS };
	int rc = list_query(c, q, &s);
	if (rc < 0)
		return call_end(c, rc, err, errlen);
	struct img **page;
	int n;
	if ((rc = img_query_page(r, s.text, sqlbuf_args(&s), &page, &n)) < 0)
		return call_end(c, rc, err, errlen);
	json_t *list = json_array();
	for (int i = 0; i < n; i++)
		if (img_allowed(r, "get_image", page[i]))
			json_array_append_new(list, view(page[i]));
	*out = list;
	return call_end(c, 0, err, errlen);
}

int image_show_for(struct image_svc *svc, struct http_req *caller, const char *id, json_t **out,
		   char *err, size_t errlen)
{
	struct call *c = call_new(svc, caller);
	struct img *im;
	int rc = img_load(&c->r, id, &im);
	if (rc == 0)
		*out = view(im);
	return call_end(c, rc, err, errlen);
}

int image_delete_for(struct image_svc *svc, struct http_req *caller, const char *id, char *err,
		     size_t errlen)
{
	struct call *c = call_new(svc, caller);
	return call_end(c, img_delete_image(&c->r, id), err, errlen);
}

/* Checks the new extra properties as a JSON patch of them would be checked. */
static int check_props(struct http_req *r, const json_t *props)
{
	if (!json_is_object(props))
		return http_error(r, ERR_BADREQ, "Properties must be an object.");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)props, k, v) {
		if (img_is_read_only(k))
			return http_error(r, ERR_FORBIDDEN, "Attribute '%s' is read-only.", k);
		if (img_is_reserved(k))
			return http_error(r, ERR_FORBIDDEN, "Attribute '%s' is reserved.", k);
		if (img_in_list(own_attrs, k))
			return http_error(r, ERR_BADREQ, "Attribute '%s' is an attribute of the image, not an extra property.", k);
		if (img_validate_attr(r, k, v))
			return ERR_BADREQ;
	}
	return 0;
}

static int set_props(struct http_req *r, const char *id, const json_t *props, struct img **after)
{
	int rc = check_props(r, props);
	if (rc < 0)
		return rc;
	if ((rc = img_begin(r)) < 0)
		return rc;
	struct img *im;
	if ((rc = img_load(r, id, &im)) < 0)
		return rc;
	if (json_equal(im->props, (json_t *)props)) {   /* an empty patch: nothing to authorize */
		img_rollback(r);
		*after = im;
		return 0;
	}
	if ((rc = img_enforce(r, "modify_image", im)) < 0 || (rc = img_quota_props(r, props)) < 0)
		return rc;
	rc = db_exec(img_db(r), "DELETE FROM img_properties WHERE image_id = ?", DB_TEXT(id));
	if (rc < 0)
		return img_db_error(r, rc, "properties");
	if ((rc = img_store_props(r, id, props)) < 0 || (rc = img_touch(r, id)) < 0 || (rc = img_commit(r)) < 0)
		return rc;
	return img_load_any(r, id, after);
}

int image_set_props_for(struct image_svc *svc, struct http_req *caller, const char *id,
			const json_t *props, json_t **out, char *err, size_t errlen)
{
	struct call *c = call_new(svc, caller);
	struct img *im;
	int rc = set_props(&c->r, id, props, &im);
	if (rc == 0)
		*out = view(im);
	return call_end(c, rc, err, errlen);
}
