/* members.c — /v2/images/{image_id}/members: sharing an image with other projects. Only
 * images whose visibility is "shared" have members; the owner adds and removes them (they
 * start "pending"), each member answers for itself (pending/accepted/rejected). A caller sees
 * every membership of an image it owns (or as admin) and otherwise only its own, like
 * Glance's database layer; the member rules take the image's policy target. */
#include "image/img.h"
#include <stdio.h>
#include <string.h>

struct member {
	const char *image_id, *member_id, *status;
	int64_t created_at, updated_at;
};

static json_t *render(const struct member *m)
{
	char c[40], u[40];
	time_format(m->created_at, 0, true, c);
	time_format(m->updated_at, 0, true, u);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "member_id", m->member_id, "image_id", m->image_id,
			 "status", m->status, "created_at", c, "updated_at", u, "schema", "/v2/schemas/member");
}

static bool sees_all(struct http_req *r, const struct img *im)
{
	const char *proj = img_caller_project(r);
	return img_is_admin(r) || (im->owner && *proj && !strcmp(im->owner, proj));
}

/* The memberships of im the caller may see (all of them, or only its own), optionally only
 * member_id's. 0 and *out (rows: member, status, created_at, updated_at), or an error. */
static int query(struct http_req *r, const struct img *im, const char *member_id, struct db_rows **out)
{
	const char *only = sees_all(r, im) ? NULL : img_caller_project(r);
	int rc;
	if (member_id && only && strcmp(member_id, only)) {
		rc = db_query(img_db(r), out, "SELECT member, status, created_at, updated_at"
			      " FROM img_members WHERE 1 = 0");
	} else if (member_id || only) {
		rc = db_query(img_db(r), out, "SELECT member, status, created_at, updated_at"
			      " FROM img_members WHERE image_id = ? AND member = ?",
			      DB_TEXT(im->id), DB_TEXT(member_id ? member_id : only));
	} else {
		rc = db_query(img_db(r), out, "SELECT member, status, created_at, updated_at"
			      " FROM img_members WHERE image_id = ? ORDER BY created_at, member",
			      DB_TEXT(im->id));
	}
	return rc < 0 ? img_db_error(r, rc, "members") : 0;
}

static void from_row(struct http_req *r, const struct img *im, const struct db_rows *rows, int i,
		     struct member *m)
{
	m->image_id = im->id;
	m->member_id = arena_strdup(r->arena, db_text(rows, i, 0));
	m->status = arena_strdup(r->arena, db_text(rows, i, 1));
	m->created_at = db_int(rows, i, 2);
	m->updated_at = db_int(rows, i, 3);
}

/* Finds member_id's membership of im (visible to the caller): 0, or 404 in Glance's words. */
static int find(struct http_req *r, const struct img *im, const char *member_id, struct member *m)
{
	struct db_rows *rows;
	int rc = query(r, im, member_id, &rows);
	if (rc < 0)
		return rc;
	bool found = db_rows_count(rows) > 0;
	if (found)
		from_row(r, im, rows, 0, m);
	db_rows_free(rows);
	if (!found)
		return http_error(r, ERR_NOTFOUND, "%s not found in the member list of the image %s.",
				  member_id, im->id);
	return 0;
}

static bool shared(const struct img *im)
{
	return !strcmp(im->visibility, "shared");
}

/* The body's one field: 0 and *out (a JSON value, borrowed), or 400 in Glance's words. */
static int body_field(struct http_req *r, const char *field, const char *form, json_t **out)
{
	if (!r->body_len)
		return http_error(r, ERR_BADREQ, "Body expected in request.");
	json_error_t je;
	json_t *b = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &je);
	if (!b)
		return http_error(r, ERR_BADREQ, "Malformed JSON in request body.");
	arena_defer(r->arena, json_decref_void, b);
	if (!json_is_object(b))
		return http_error(r, ERR_BADREQ, "Expected a %s in the form: {\"%s\": \"%s\"}", field, field, form);
	*out = json_object_get(b, field);
	return 0;
}

/* Python's falsiness: null, false, 0, "", [] and {}. */
static bool falsy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL: case JSON_FALSE: return true;
	case JSON_STRING: return !json_string_length(v);
	case JSON_INTEGER: return !json_integer_value(v);
	case JSON_REAL: return json_real_value(v) == 0;
	case JSON_ARRAY: return !json_array_size(v);
	case JSON_OBJECT: return !json_object_size(v);
	default: return false;
	}
}

static int reply_member(struct http_req *r, const struct member *m)
{
	return http_reply_json(r, 200, render(m));
}

/* GET /v2/images/{image_id}/members */
static int h_list(struct http_req *r)
{
	const char *id = http_param(r, "image_id");
	struct img *im;
	int rc = img_load(r, id, &im);
	if (rc < 0)
		return rc;
	if (!shared(im))
		return http_error(r, ERR_FORBIDDEN, "Not allowed to list members for image %s: "
				  "Only shared images have members.", im->id);
	if ((rc = img_enforce(r, "get_members", im)) < 0)
		return rc;
	json_t *list = json_array();
	/* Glance keeps the members get_member allows; its target is the image's, for each. */
	if (img_allowed(r, "get_member", im)) {
		struct db_rows *rows;
		if ((rc = query(r, im, NULL, &rows)) < 0) {
			json_decref(list);
			return rc;
		}
		for (int i = 0; i < db_rows_count(rows); i++) {
			struct member m;
			from_row(r, im, rows, i, &m);
			json_array_append_new(list, render(&m));
		}
		db_rows_free(rows);
	}
	return http_reply_json(r, 200, json_pack("{s:o,s:s}", "members", list, "schema", "/v2/schemas/members"));
}

/* GET /v2/images/{image_id}/members/{member_id}: every refusal is a 404 here. */
static int h_show(struct http_req *r)
{
	const char *id = http_param(r, "image_id"), *member_id = http_param(r, "member_id");
	struct img *im;
	struct member m;
	int rc = img_load(r, id, &im);
	if (rc < 0)
		return rc;
	if (!shared(im))
		return http_error(r, ERR_NOTFOUND, "Only shared images have members.");
	if ((rc = img_enforce(r, "get_member", im)) == ERR_FORBIDDEN) {
		char why[sizeof r->errmsg];
		snprintf(why, sizeof why, "%s", r->errmsg);
		return http_error(r, ERR_NOTFOUND, "%s", why);
	}
	if (rc < 0 || (rc = find(r, im, member_id, &m)) < 0)
		return rc;
	return reply_member(r, &m);
}

/* POST /v2/images/{image_id}/members {"member": project} → 200, status pending. */
static int add(struct http_req *r, const char *id, const char *member_id, struct member *m)
{
	struct img *im;
	int rc = img_load(r, id, &im);
	if (rc < 0)
		return rc;
	if (!shared(im))
		return http_error(r, ERR_FORBIDDEN, "Not allowed to create members for image %s.", im->id);
	if ((rc = img_enforce(r, "add_member", im)) < 0)
		return rc;
	struct db_rows *rows;
	rc = db_query(img_db(r), &rows, "SELECT COUNT(*), SUM(CASE WHEN member = ? THEN 1 ELSE 0 END)"
		      " FROM img_members WHERE image_id = ?", DB_TEXT(member_id), DB_TEXT(im->id));
	if (rc < 0)
		return img_db_error(r, rc, "members");
	int64_t count = db_int(rows, 0, 0);
	bool dup = !db_isnull(rows, 0, 1) && db_int(rows, 0, 1) > 0;
	db_rows_free(rows);
	/* Glance checks the quota before it looks for a duplicate. */
	if ((rc = img_quota_members(r, count + 1)) < 0) {
		char why[400];
		snprintf(why, sizeof why, "%s", r->errmsg);
		return http_error(r, ERR_TOOBIG, "Image member limit exceeded for image %s: %s:", im->id, why);
	}
	if (dup)
		return http_error(r, ERR_CONFLICT, "Member %s is duplicated for image %s", member_id, im->id);
	int64_t now = time_now_us();
	rc = db_exec(img_db(r), "INSERT INTO img_members (image_id, member, status, created_at, updated_at)"
		     " VALUES (?, ?, 'pending', ?, ?)", DB_TEXT(im->id), DB_TEXT(member_id), DB_INT(now), DB_INT(now));
	if (rc == ERR_CONFLICT)
		return http_error(r, ERR_CONFLICT, "Member %s is duplicated for image %s", member_id, im->id);
	if (rc < 0)
		return img_db_error(r, rc, "member");
	*m = (struct member){ im->id, member_id, "pending", now, now };
	return 0;
}

static int h_create(struct http_req *r)
{
	json_t *v;
	int rc = body_field(r, "member", "image_id", &v);
	if (rc < 0)
		return rc;
	if (!v)
		return http_error(r, ERR_BADREQ, "Member to be added not specified");
	if (falsy(v))
		return http_error(r, ERR_BADREQ, "Member can't be empty");
	if (!json_is_string(v))
		return http_error(r, ERR_BADREQ, "Expected a member in the form: {\"member\": \"image_id\"}");
	const char *member_id = json_string_value(v);
	if (strlen(member_id) > IMG_PROP_MAX)
		return http_error(r, ERR_BADREQ, "Member can't be longer than %d characters", IMG_PROP_MAX);
	struct member m;
	if ((rc = img_begin(r)) < 0)
		return rc;
	if ((rc = add(r, http_param(r, "image_id"), member_id, &m)) < 0) {
		img_rollback(r);
		return rc;
	}
	if ((rc = img_commit(r)) < 0)
		return rc;
	return reply_member(r, &m);
}

/* PUT /v2/images/{image_id}/members/{member_id} {"status": ...}: the member's answer. */
static int update(struct http_req *r, const char *id, const char *member_id, const json_t *status,
		  struct member *m)
{
	struct img *im;
	int rc = img_load(r, id, &im);
	if (rc < 0)
		return rc;
	if (!shared(im))
		return http_error(r, ERR_FORBIDDEN, "Not allowed to update members for image %s.", im->id);
	if ((rc = img_enforce(r, "get_member", im)) < 0 || (rc = find(r, im, member_id, m)) < 0 ||
	    (rc = img_enforce(r, "modify_member", im)) < 0)
		return rc;
	const char *s = json_string_value(status);
	if (!s || (strcmp(s, "pending") && strcmp(s, "accepted") && strcmp(s, "rejected")))
		return http_error(r, ERR_BADREQ, "Incorrect request: Status must be \"pending\", "
				  "\"accepted\" or \"rejected\".");
	int64_t now = time_now_us();
	rc = db_exec(img_db(r), "UPDATE img_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ?",
		     DB_TEXT(s), DB_INT(now), DB_TEXT(im->id), DB_TEXT(m->member_id));
	if (rc < 0)
		return img_db_error(r, rc, "member");
	if (rc == 0)
		return http_error(r, ERR_NOTFOUND, "%s not found in the member list of the image %s.",
				  member_id, im->id);
	m->status = arena_strdup(r->arena, s);
	m->updated_at = now;
	return 0;
}

static int h_update(struct http_req *r)
{
	json_t *v;
	int rc = body_field(r, "status", "status", &v);
	if (rc < 0)
		return rc;
	if (!v)
		return http_error(r, ERR_BADREQ, "Status not specified");
	struct member m;
	if ((rc = img_begin(r)) < 0)
		return rc;
	if ((rc = update(r, http_param(r, "image_id"), http_param(r, "member_id"), v, &m)) < 0) {
		img_rollback(r);
		return rc;
	}
	if ((rc = img_commit(r)) < 0)
		return rc;
	return reply_member(r, &m);
}

/* DELETE /v2/images/{image_id}/members/{member_id} → 204. */
static int remove_member(struct http_req *r, const char *id, const char *member_id)
{
	struct img *im;
	struct member m;
	int rc = img_load(r, id, &im);
	if (rc < 0)
		return rc;
	if (!shared(im))
		return http_error(r, ERR_FORBIDDEN, "Not allowed to delete members for image %s.", im->id);
	if ((rc = img_enforce(r, "get_member", im)) < 0 || (rc = find(r, im, member_id, &m)) < 0 ||
	    (rc = img_enforce(r, "delete_member", im)) < 0)
		return rc;
	rc = db_exec(img_db(r), "DELETE FROM img_members WHERE image_id = ? AND member = ?",
		     DB_TEXT(im->id), DB_TEXT(m.member_id));
	if (rc < 0)
		return img_db_error(r, rc, "member");
	if (rc == 0)
		return http_error(r, ERR_NOTFOUND, "The specified member %s could not be found", member_id);
	return 0;
}

static int h_delete(struct http_req *r)
{
	int rc = img_begin(r);
	if (rc < 0)
		return rc;
	if ((rc = remove_member(r, http_param(r, "image_id"), http_param(r, "member_id"))) < 0) {
		img_rollback(r);
		return rc;
	}
	if ((rc = img_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route img_routes_members[] = {
	{ "GET", "/v2/images/{image_id}/members", h_list, NULL, 0, NULL },
	{ "POST", "/v2/images/{image_id}/members", h_create, NULL, 0, NULL },
	{ "GET", "/v2/images/{image_id}/members/{member_id}", h_show, NULL, 0, NULL },
	{ "PUT", "/v2/images/{image_id}/members/{member_id}", h_update, NULL, 0, NULL },
	{ "DELETE", "/v2/images/{image_id}/members/{member_id}", h_delete, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
