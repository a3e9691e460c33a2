/* patch.c — PATCH /v2/images/{id}: Glance's JSON-patch dialects (v2.1 {"op","path","value"} and
 * v2.0 {"replace": path, "value"}), JSON-pointer checks, the read-only/reserved rules, the
 * policies per changed attribute, and one transactional write of the result. */
#include "image/img.h"
#include <string.h>

/* The attributes stored as columns, which may be replaced but never removed. */
static const char *const columns[] = {
	"name", "visibility", "owner", "disk_format", "container_format", "min_disk", "min_ram",
	"protected", "os_hidden", "tags", NULL,
};

/* Validates a JSON pointer the way Glance does and returns its decoded tokens (at most 4). */
static int decode_pointer(struct http_req *r, const char *ptr, const char **tokens, int *n)
{
	if (ptr[0] != '/')
		return http_error(r, ERR_BADREQ, "Pointer `%s` does not start with \"/\".", ptr);
	size_t len = strlen(ptr);
	if (len > 1 && ptr[len - 1] == '/')
		return http_error(r, ERR_BADREQ, "Pointer `%s` end with \"/\".", ptr);
	for (const char *p = ptr + 1; *p; p++) {
		if (*p == '/') {
			const char *q = p + 1;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '/')
				return http_error(r, ERR_BADREQ, "Pointer `%s` contains adjacent \"/\".", ptr);
		}
		if (*p == '~' && p[1] != '0' && p[1] != '1')
			return http_error(r, ERR_BADREQ,
					  "Pointer `%s` contains \"~\" not part of a recognized escape sequence.", ptr);
	}
	*n = 0;
	const char *s = ptr + 1;
	for (;;) {
		const char *end = strchr(s, '/');
		size_t l = end ? (size_t)(end - s) : strlen(s);
		char *tok = arena_alloc(r->arena, l + 1), *w = tok;
		for (size_t i = 0; i < l; i++) {
			if (s[i] == '~' && s[i + 1] == '1') {
				*w++ = '/';
				i++;
			} else if (s[i] == '~' && s[i + 1] == '0') {
				*w++ = '~';
				i++;
			} else {
				*w++ = s[i];
			}
		}
		*w = 0;
		/* Glance strips each token */
		while (*tok == ' ' || *tok == '\t')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = 0;
		if (*n == 4)
			return http_error(r, ERR_BADREQ, "Invalid JSON pointer for this resource: '%s'", ptr);
		tokens[(*n)++] = tok;
		if (!end)
			break;
		s = end + 1;
	}
	return 0;
}

struct change {
	const char *op;      /* add, remove, replace */
	const char *attr;
	json_t *value;       /* borrowed from the body; NULL for remove */
};

static int parse_change(struct http_req *r, json_t *raw, bool v21, struct change *c)
{
	if (!json_is_object(raw))
		return http_error(r, ERR_BADREQ, "Operations must be JSON objects.");
	const char *path = NULL;
	if (v21) {
		json_t *op = json_object_get(raw, "op");
		if (!op)
			return http_error(r, ERR_BADREQ, "Unable to find `op` in JSON Schema change. It must be one"
					  " of the following: add, remove, replace.");
		const char *o = json_string_value(op);
		if (!o || (strcmp(o, "add") && strcmp(o, "remove") && strcmp(o, "replace")))
			return http_error(r, ERR_BADREQ, "Invalid operation: `%s`. It must be one of the following:"
					  " add, remove, replace.", o ? o : "?");
		c->op = o;
		json_t *p = json_object_get(raw, "path");
		if (!p)
			return http_error(r, ERR_BADREQ, "Unable to find 'path' in JSON Schema change");
		path = json_string_value(p);
	} else {
		static const char *const ops[] = { "add", "remove", "replace" };
		c->op = NULL;
		for (int i = 0; i < 3; i++) {
			if (!json_object_get(raw, ops[i]))
				continue;
			if (c->op)
				return http_error(r, ERR_BADREQ, "Operation objects must contain only one member named"
						  " \"add\", \"remove\", or \"replace\".");
			c->op = ops[i];
			path = json_string_value(json_object_get(raw, ops[i]));
		}
		if (!c->op)
			return http_error(r, ERR_BADREQ, "Operation objects must contain exactly one member named"
					  " \"add\", \"remove\", or \"replace\".");
	}
	if (!path)
		return http_error(r, ERR_BADREQ, "The path of a change must be a string.");
	const char *tok[4];
	int n = 0;
	if (decode_pointer(r, path, tok, &n))
		return ERR_BADREQ;
	if (n != 1)
		return http_error(r, ERR_BADREQ, "Invalid JSON pointer for this resource: '%s'", path);
	c->attr = tok[0];
	c->value = NULL;
	if (strcmp(c->op, "remove")) {
		c->value = json_object_get(raw, "value");
		if (!c->value)
			return http_error(r, ERR_BADREQ, "Operation \"%s\" requires a member named \"value\".", c->op);
	}
	if (img_is_read_only(c->attr))
		return http_error(r, ERR_FORBIDDEN, "Attribute '%s' is read-only.", c->attr);
	if (img_is_reserved(c->attr))
		return http_error(r, ERR_FORBIDDEN, "Attribute '%s' is reserved.", c->attr);
	if (c->value && img_validate_attr(r, c->attr, c->value))
		return ERR_BADREQ;
	return 0;
}

/* The new state of the columns, starting from the loaded image. */
struct state {
	json_t *cols;        /* name → value, for the columns */
	json_t *props;       /* extra properties */
	bool tags_changed;
};

static int apply(struct http_req *r, struct img *im, struct state *st, const struct change *c, bool v21)
{
	bool is_col = img_in_list(columns, c->attr);
	if (!strcmp(c->op, "replace") && !strcmp(c->attr, "owner") && !img_is_admin(r))
		return http_error(r, ERR_FORBIDDEN, "Owner can't be updated by non admin.");
	if (!strcmp(c->attr, "visibility") && c->value) {
		int rc = img_enforce_visibility(r, json_string_value(c->value), im);
		if (rc < 0)
			return rc;
	}
	int rc = img_enforce(r, "modify_image", im);
	if (rc < 0)
		return rc;
	if (!strcmp(c->op, "remove")) {
		if (is_col)
			return http_error(r, ERR_FORBIDDEN, "Property %s may not be removed.", c->attr);
		if (!json_object_get(st->props, c->attr))
			return http_error(r, ERR_CONFLICT, "Property %s does not exist.", c->attr);
		json_object_del(st->props, c->attr);
		return 0;
	}
	if (is_col) {
		if (!v21 && !strcmp(c->op, "add"))
			return http_error(r, ERR_CONFLICT, "Property %s already present.", c->attr);
		if ((!strcmp(c->attr, "disk_format") || !strcmp(c->attr, "container_format")) &&
		    strcmp(im->status, "queued") && strcmp(im->status, "importing"))
			return http_error(r, ERR_FORBIDDEN, "Attribute %s can be only replaced for a queued image.", c->attr);
		if (!strcmp(c->attr, "tags"))
			st->tags_changed = true;
		json_object_set(st->cols, c->attr, c->value);
		return 0;
	}
	bool exists = json_object_get(st->props, c->attr) != NULL;
	if (!strcmp(c->op, "replace") && !exists)
		return http_error(r, ERR_CONFLICT, "Property %s does not exist.", c->attr);
	if (!strcmp(c->op, "add") && exists && !v21)
		return http_error(r, ERR_CONFLICT, "Property %s already present.", c->attr);
	json_object_set(st->props, c->attr, c->value);
	return 0;
}

static const char *col_str(const json_t *cols, const char *k)
{
	return json_string_value(json_object_get(cols, k));
}

static int save(struct http_req *r, struct img *im, struct state *st)
{
	int rc = db_exec(img_db(r),
			 "UPDATE img_images SET name = ?, visibility = ?, owner = ?, disk_format = ?,"
			 " container_format = ?, min_disk = ?, min_ram = ?, protected = ?, os_hidden = ?,"
			 " updated_at = ? WHERE id = ?",
			 DB_TEXT(col_str(st->cols, "name")), DB_TEXT(col_str(st->cols, "visibility")),
			 DB_TEXT(col_str(st->cols, "owner")), DB_TEXT(col_str(st->cols, "disk_format")),
			 DB_TEXT(col_str(st->cols, "container_format")),
			 DB_INT(json_integer_value(json_object_get(st->cols, "min_disk"))),
			 DB_INT(json_integer_value(json_object_get(st->cols, "min_ram"))),
			 DB_BOOL(json_is_true(json_object_get(st->cols, "protected"))),
			 DB_BOOL(json_is_true(json_object_get(st->cols, "os_hidden"))),
			 DB_INT(time_now_us()), DB_TEXT(im->id));
	if (rc < 0)
		return img_db_error(r, rc, "update");
	if (!json_equal(st->props, im->props)) {
		rc = db_exec(img_db(r), "DELETE FROM img_properties WHERE image_id = ?", DB_TEXT(im->id));
		if (rc < 0)
			return img_db_error(r, rc, "properties");
		if ((rc = img_store_props(r, im->id, st->props)) < 0)
			return rc;
	}
	if (st->tags_changed) {
		rc = db_exec(img_db(r), "DELETE FROM img_tags WHERE image_id = ?", DB_TEXT(im->id));
		if (rc < 0)
			return img_db_error(r, rc, "tags");
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(st->cols, "tags"), i, t) {
			rc = db_exec(img_db(r), "INSERT INTO img_tags (image_id, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
				     DB_TEXT(im->id), DB_TEXT(json_string_value(t)));
			if (rc < 0)
				return img_db_error(r, rc, "tags");
		}
	}
	return 0;
}

int img_patch_image(struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	bool v21;
	char type[128] = "";
	if (ct) {
		snprintf(type, sizeof type, "%s", ct);
		char *semi = strchr(type, ';');
		if (semi)
			*semi = 0;
		for (char *e = type + strlen(type); e > type && e[-1] == ' '; e--)
			e[-1] = 0;
	}
	if (!strcmp(type, "application/openstack-images-v2.1-json-patch"))
		v21 = true;
	else if (!strcmp(type, "application/openstack-images-v2.0-json-patch"))
		v21 = false;
	else   /* the service's error page adds Accept-Patch */
		return http_error(r, ERR_UNSUPPORTED_MEDIA, "The request has a media type that the server does not support.");
	if (r->body_too_big)
		return http_error(r, ERR_TOOBIG, "Request is too large.");
	json_error_t je;
	json_t *body = r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
	if (!body)
		return http_error(r, ERR_BADREQ, r->body_len ? "Malformed JSON in request body." : "Body expected in request.");
	arena_defer(r->arena, json_decref_void, body);
	if (!json_is_array(body))
		return http_error(r, ERR_BADREQ, "Request body must be a JSON array of operation objects.");
	size_t n = json_array_size(body);
	struct change *changes = arena_alloc(r->arena, sizeof *changes * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		if (parse_change(r, json_array_get(body, i), v21, &changes[i]))
			return r->err;

	struct img *im;
	const char *id = http_param(r, "image_id");
	int rc = img_begin(r);
	if (rc < 0)
		return rc;
	if ((rc = img_load(r, id, &im)) < 0)
		return rc;
	if (!n) {
		img_rollback(r);
		return http_reply_json(r, 200, img_render(r, im));
	}
	struct state st = { .cols = json_object(), .props = json_deep_copy(im->props) };
	arena_defer(r->arena, json_decref_void, st.cols);
	arena_defer(r->arena, json_decref_void, st.props);
	json_t *cur = img_render(r, im);
	for (const char *const *c = columns; *c; c++)
		json_object_set(st.cols, *c, json_object_get(cur, *c));
	json_decref(cur);
	for (size_t i = 0; i < n; i++)
		if ((rc = apply(r, im, &st, &changes[i], v21)) < 0) {
			img_rollback(r);
			return rc;
		}
	if (img_quota_props(r, st.props) || img_quota_tags(r, json_object_get(st.cols, "tags"))) {
		img_rollback(r);
		return ERR_TOOBIG;
	}
	if ((rc = save(r, im, &st)) < 0)
		return rc;
	if ((rc = img_commit(r)) < 0)
		return rc;
	if ((rc = img_load_any(r, id, &im)) < 0)
		return rc;
	return http_reply_json(r, 200, img_render(r, im));
}
