/* actions.c — POST /v2/images/{image_id}/actions/deactivate and /reactivate (204): an active
 * image becomes deactivated and back. Asking for the state the image is already in changes
 * nothing; any other status is refused (403), as Glance's domain model does. Refusing the
 * download of a deactivated image is download.c's business. */
#include "image/img.h"
#include <string.h>

struct action {
	const char *rule;      /* policy rule */
	const char *verb;      /* for the message */
	const char *from, *to; /* the one transition it makes */
};

static const struct action deactivate = { "deactivate", "deactivate", "active", "deactivated" };
static const struct action reactivate = { "reactivate", "reactivate", "deactivated", "active" };

static int apply(struct http_req *r, const struct action *a)
{
	struct img *im;
	int rc = img_load(r, http_param(r, "image_id"), &im);
	if (rc < 0 || (rc = img_enforce(r, a->rule, im)) < 0)
		return rc;
	if (!strcmp(im->status, a->to))
		return 0;       /* already there: a no-op, the image is not even saved */
	if (strcmp(im->status, a->from))
		return http_error(r, ERR_FORBIDDEN, "Not allowed to %s image in status '%s'", a->verb, im->status);
	rc = db_exec(img_db(r), "UPDATE img_images SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
		     DB_TEXT(a->to), DB_INT(time_now_us()), DB_TEXT(im->id), DB_TEXT(a->from));
	if (rc < 0)
		return img_db_error(r, rc, a->verb);
	if (rc == 0)    /* changed under us (PostgreSQL reads committed rows) */
		return http_error(r, ERR_CONFLICT, "Image status transition from %s to %s is not allowed",
				  a->from, a->to);
	return 0;
}

static int run(struct http_req *r, const struct action *a)
{
	int rc = img_begin(r);
	if (rc < 0)
		return rc;
	if ((rc = apply(r, a)) < 0) {
		img_rollback(r);
		return rc;
	}
	if ((rc = img_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_deactivate(struct http_req *r)
{
	return run(r, &deactivate);
}

static int h_reactivate(struct http_req *r)
{
	return run(r, &reactivate);
}

const struct route img_routes_actions[] = {
	{ "POST", "/v2/images/{image_id}/actions/deactivate", h_deactivate, NULL, 0, NULL },
	{ "POST", "/v2/images/{image_id}/actions/reactivate", h_reactivate, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
