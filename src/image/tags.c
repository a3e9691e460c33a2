/* tags.c — PUT and DELETE /v2/images/{image_id}/tags/{tag_value}: adding one tag (adding a tag
 * the image has is not an error; at most 255 characters; the per-image tag quota) and removing
 * one. Both need modify_image and touch the image's updated_at, as Glance's save does. */
#include "image/img.h"
#include <stdio.h>
#include <string.h>

/* Characters (code points) of valid UTF-8 text; -1 when s is not UTF-8. */
static long utf8_chars(const char *s)
{
	json_t *j = json_string(s);     /* jansson checks the encoding */
	if (!j)
		return -1;
	json_decref(j);
	long n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool has_tag(const json_t *tags, const char *tag)
{
	size_t i;
	json_t *v;
	json_array_foreach(tags, i, v)
		if (!strcmp(json_string_value(v), tag))
			return true;
	return false;
}

/* Loads the image inside the open transaction and checks modify_image. */
static int load_for_change(struct http_req *r, const char *id, struct img **out)
{
	int rc = img_load(r, id, out);
	if (rc == 0)
		rc = img_enforce(r, "modify_image", *out);
	return rc;
}

static int add_tag(struct http_req *r, const char *id, const char *tag)
{
	struct img *im;
	int rc = load_for_change(r, id, &im);
	if (rc < 0)
		return rc;
	bool present = has_tag(im->tags, tag);
	/* Glance adds to the set first, then checks the quota on the result. */
	json_t *after = json_copy(im->tags);
	if (!present)
		json_array_append_new(after, json_string(tag));
	rc = img_quota_tags(r, after);
	json_decref(after);
	if (rc < 0) {
		char why[400];
		snprintf(why, sizeof why, "%s", r->errmsg);
		return http_error(r, ERR_TOOBIG, "Image tag limit exceeded for image %s: %s:", id, why);
	}
	if (!present) {
		rc = db_exec(img_db(r), "INSERT INTO img_tags (image_id, value) VALUES (?, ?)",
			     DB_TEXT(im->id), DB_TEXT(tag));
		if (rc < 0 && rc != ERR_CONFLICT)     /* a concurrent add of the same tag is fine */
			return img_db_error(r, rc, "tag");
	}
	return img_touch(r, im->id);
}

static int h_put_tag(struct http_req *r)
{
	const char *id = http_param(r, "image_id"), *tag = http_param(r, "tag_value");
	/* Glance validates the tag against the image schema before anything else. */
	long n = utf8_chars(tag);
	if (n < 0)
		return http_error(r, ERR_BADREQ, "Provided object does not match schema 'image': "
				  "the tag is not valid UTF-8");
	if (n > IMG_PROP_MAX)
		return http_error(r, ERR_BADREQ, "Provided object does not match schema 'image': "
				  "'%.300s' is too long", tag);
	int rc = img_begin(r);
	if (rc < 0)
		return rc;
	if ((rc = add_tag(r, id, tag)) < 0) {
		img_rollback(r);
		return rc;
	}
	if ((rc = img_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int remove_tag(struct http_req *r, const char *id, const char *tag)
{
	struct img *im;
	int rc = load_for_change(r, id, &im);
	if (rc < 0)
		return rc;
	rc = db_exec(img_db(r), "DELETE FROM img_tags WHERE image_id = ? AND value = ?",
		     DB_TEXT(im->id), DB_TEXT(tag));
	if (rc < 0)
		return img_db_error(r, rc, "tag");
	if (rc == 0)     /* Glance's bare NotFound */
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	return img_touch(r, im->id);
}

static int h_delete_tag(struct http_req *r)
{
	int rc = img_begin(r);
	if (rc < 0)
		return rc;
	if ((rc = remove_tag(r, http_param(r, "image_id"), http_param(r, "tag_value"))) < 0) {
		img_rollback(r);
		return rc;
	}
	if ((rc = img_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route img_routes_tags[] = {
	{ "PUT", "/v2/images/{image_id}/tags/{tag_value}", h_put_tag, NULL, 0, NULL },
	{ "DELETE", "/v2/images/{image_id}/tags/{tag_value}", h_delete_tag, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
