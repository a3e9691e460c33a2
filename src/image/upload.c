/* upload.c — the upload machinery of image data: an upload takes its image (upload_id), streams
 * the data into a store writer in constant memory through md5, sha512 and the format probe,
 * checks the size cap and the storage quota as it goes, and finishes by recording the data on
 * the image; whatever ends it early (an error, the client going away) puts the image back to
 * `queued` with no data left. Serves PUT /v2/images/{id}/file; import.c drives it for stage
 * and import. */
#include "image/upload.h"
#include "image/qcow2.h"
#include "core/conf.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HASH_ALGO "sha512"
#define QUOTA_STEP (64ll << 20)       /* re-check the storage quota every 64 MiB of an upload */

/* --- the image's side: taking and releasing it --- */

int img_upload_set_prop(struct db_conn *c, const char *id, const char *name,
			const char *value)
{
	int rc = db_exec(c, "DELETE FROM img_properties WHERE image_id = ? AND name = ?",
			 DB_TEXT(id), DB_TEXT(name));
	if (rc >= 0 && value)
		rc = db_exec(c, "INSERT INTO img_properties (image_id, name, value) VALUES (?, ?, ?)",
			     DB_TEXT(id), DB_TEXT(name), DB_TEXT(value));
	return rc < 0 ? rc : 0;
}

/* Puts the image back to `queued` (Glance's _restore/_unstage) unless someone else holds it
 * now; a failed import is recorded in os_glance_failed_import. */
static void restore(struct db_conn *c, struct img_upload *up)
{
	int rc = db_begin(c);
	if (rc == 0)
		rc = db_exec(c, "UPDATE img_images SET status = 'queued', upload_id = NULL, size = NULL,"
			     " virtual_size = NULL, staged = NULL, updated_at = ? WHERE id = ? AND upload_id = ?",
			     DB_INT(time_now_us()), DB_TEXT(up->id), DB_TEXT(up->upload_id));
	if (rc > 0 && up->kind == IMG_UP_IMPORT) {
		rc = img_upload_set_prop(c, up->id, "os_glance_import_task", NULL);
		if (rc == 0)
			rc = img_upload_set_prop(c, up->id, "os_glance_importing_to_stores", "");
		if (rc == 0)
			rc = img_upload_set_prop(c, up->id, "os_glance_failed_import", up->svc->store->id);
	}
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0) {
		log_error("image %s: cannot put it back to queued after a failed upload (%d): %s",
			  up->id, rc, db_errmsg(c));
		if (db_in_tx(c))
			db_rollback(c);
	}
}

/* Drops what the upload wrote and releases the image, once. c is a connection to use. */
void img_upload_release(struct img_upload *up, struct db_conn *c)
{
	if (up->finished)
		return;
	up->finished = true;
	img_hashpipe_free(up->pipe);
	up->pipe = NULL;
	img_writer_abort(up->w);
	up->w = NULL;
	if (up->loc[0])                   /* committed to the store, not recorded */
		img_store_remove(up->svc, up->svc->store->id, up->loc);
	if (up->kind != IMG_UP_FILE)
		img_stage_remove(up->svc, up->id);
	restore(c, up);
}

/* Fails the upload within its request (the error is recorded by the caller). */
int img_upload_fail(struct http_req *r, struct img_upload *up, int rc)
{
	img_rollback(r);
	img_upload_release(up, img_db(r));
	return rc;
}

/* The request ended (answered, failed, or the client went away): release what is left. */
static void upload_cleanup(void *arg)
{
	struct img_upload *up = arg;
	if (!up->finished) {
		/* the request's own connection when it still has one, else a fresh one */
		struct img_req *ir = up->r->svc_data;
		struct db_conn *c = ir->conn;
		if (c && db_in_tx(c))
			db_rollback(c);
		struct db_conn *own = c ? NULL : db_get(up->svc->db);
		img_upload_release(up, c ? c : own);
		db_put(own);
	}
	img_hashpipe_free(up->pipe);      /* its threads use the contexts freed below */
	img_writer_abort(up->w);
	EVP_MD_CTX_free(up->md5);
	EVP_MD_CTX_free(up->sha);
	img_probe_free(up->probe);
}

int img_upload_store_error(struct http_req *r, int rc, const char *what)
{
	switch (rc) {
	case ERR_TOOBIG:
		return http_error(r, ERR_TOOBIG, "Image storage media is full: %s", what);
	case ERR_UNAVAIL:
		return http_error(r, ERR_UNAVAIL, "Insufficient permissions on image storage media: %s", what);
	default:
		log_error("image store failure: %s (%d)", what, rc);
		return http_error(r, ERR_INTERNAL, "The server has either erred or is incapable of performing the requested operation.");
	}
}

int img_upload_too_large(struct http_req *r)
{
	return http_error(r, ERR_TOOBIG, "The incoming image is too large: The provided image is too large.");
}

/* Checks Content-Type: application/octet-stream (parameters ignored), else 415. */
static int check_octet_stream(struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	if (!ct)
		return http_error(r, ERR_UNSUPPORTED_MEDIA, "Invalid content type None");
	size_t n = strcspn(ct, ";");
	while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	while (n && (*ct == ' ' || *ct == '\t')) {
		ct++;
		n--;
	}
	if (n != strlen("application/octet-stream") || strncasecmp(ct, "application/octet-stream", n))
		return http_error(r, ERR_UNSUPPORTED_MEDIA, "Invalid content type %.*s", (int)n, ct);
	return 0;
}

/* The status an upload of this kind moves the image to. */
static const char *target_status(enum img_up_kind kind)
{
	return kind == IMG_UP_FILE ? "saving" : kind == IMG_UP_STAGE ? "uploading" : "importing";
}

static int transition_error(struct http_req *r, const char *from, enum img_up_kind kind)
{
	return http_error(r, ERR_CONFLICT, "Image status transition from %s to %s is not allowed",
			  from, target_status(kind));
}

/* Takes the image for an upload: `queued` → saving/uploading with a fresh upload_id, so no
 * other upload can start. */
int img_upload_take(struct http_req *r, struct img_upload *up, const char *from)
{
	int rc = img_begin(r);
	if (rc < 0)
		return rc;
	rc = db_exec(img_db(r), "UPDATE img_images SET status = ?, upload_id = ?, updated_at = ?"
		     " WHERE id = ? AND status = ? AND upload_id IS NULL",
		     DB_TEXT(target_status(up->kind)), DB_TEXT(up->upload_id), DB_INT(time_now_us()),
		     DB_TEXT(up->id), DB_TEXT(from));
	if (rc < 0)
		return img_db_error(r, rc, "take image");
	if (rc == 0) {
		img_rollback(r);
		struct img *now;
		if (img_load_any(r, up->id, &now) < 0)
			return img_not_found(r, up->id);
		if (strcmp(now->status, from))
			return transition_error(r, now->status, up->kind);
		return http_error(r, ERR_CONFLICT, "New operation on image '%s' is not permitted as prior"
				  " operation is still in progress", up->id);
	}
	return img_commit(r);
}

struct img_upload *img_upload_new(struct http_req *r, enum img_up_kind kind, const struct img *im)
{
	struct img_upload *up = arena_alloc(r->arena, sizeof *up);
	up->kind = kind;
	up->r = r;
	up->svc = img_svc(r);
	up->id = im->id;
	up->owner = im->owner;
	uuid_dashed(up->upload_id);
	up->cap = conf_int("image", "image_size_cap");
	/* an import's bytes are already counted (as staged) */
	up->quota_at = kind == IMG_UP_IMPORT ? INT64_MAX : QUOTA_STEP;
	up->finished = true;              /* nothing to release until the image is taken */
	arena_defer(r->arena, upload_cleanup, up);
	return up;
}

/* Starts the digests (on their own threads when they can be had) and the format probe
 * (uploads to the store). */
void img_upload_digests(struct img_upload *up, const struct img *im)
{
	up->md5 = EVP_MD_CTX_new();
	up->sha = EVP_MD_CTX_new();
	if (!up->md5 || !up->sha || !EVP_DigestInit_ex(up->md5, EVP_md5(), NULL) ||
	    !EVP_DigestInit_ex(up->sha, EVP_sha512(), NULL))
		abort();                          /* out of memory: as xmalloc does */
	up->probe = img_probe_new(im->disk_format, im->container_format);
	EVP_MD_CTX *ctx[] = { up->md5, up->sha };
	up->pipe = img_hashpipe_new(ctx, 2);
}

/* Checks the declared size against the cap and the quota before any data flows. */
static int check_declared_size(struct http_req *r, struct img_upload *up)
{
	const char *cl = http_header(r, "Content-Length");
	int64_t n;
	if (!cl || parse_int64(cl, 0, INT64_MAX, &n))
		return 0;
	if (n > up->cap)
		return img_upload_too_large(r);
	return img_quota_check(r, up->owner, n, false);
}

/* Everything before the first byte of PUT /file or /stage: checks, then takes the image. */
int img_upload_start(struct http_req *r, enum img_up_kind kind)
{
	struct img_req *ir = r->svc_data;
	int rc = check_octet_stream(r);
	if (rc < 0)
		return rc;
	const char *want = http_header(r, "X-Image-Meta-Store");
	if (kind == IMG_UP_FILE && want && !img_store_find(img_svc(r), want))
		return http_error(r, ERR_BADREQ, "Unknown scheme '%s' found in URI", want);
	struct img *im;
	const char *id = http_param(r, "image_id");
	if ((rc = img_load(r, id, &im)) < 0)
		return rc;
	if (kind == IMG_UP_FILE) {
		if ((rc = img_enforce(r, "upload_image", im)) < 0) {
			if (rc == ERR_FORBIDDEN)
				http_error(r, rc, "Not allowed to upload image data for image %s", im->id);
			return rc;
		}
	} else if ((rc = img_enforce(r, "modify_image", im)) < 0) {
		return rc;
	}
	if (strcmp(im->status, "queued"))
		return transition_error(r, im->status, kind);
	if (kind == IMG_UP_FILE && (!im->disk_format || !im->container_format)) {
		if (!im->disk_format && !im->container_format)
			return http_error(r, ERR_BADREQ, "Properties disk_format, container_format must be"
					  " set prior to saving data.");
		return http_error(r, ERR_BADREQ, "Property %s must be set prior to saving data.",
				  im->disk_format ? "container_format" : "disk_format");
	}
	struct img_upload *up = img_upload_new(r, kind, im);
	if ((rc = check_declared_size(r, up)) < 0)
		return rc;
	if ((rc = img_upload_take(r, up, "queued")) < 0)
		return rc;
	up->finished = false;
	ir->upload = up;
	rc = kind == IMG_UP_FILE ? img_store_writer(up->svc->store, up->id, &up->w)
			     : img_stage_writer(up->svc, up->id, &up->w);
	if (rc < 0)
		return img_upload_fail(r, up, img_upload_store_error(r, rc, "cannot create the image file"));
	if (kind == IMG_UP_FILE)
		img_upload_digests(up, im);
	return 0;
}

/* Takes one piece of data: cap, digests, probe, store, and now and then the quota. */
int img_upload_data(struct http_req *r, struct img_upload *up, const void *data, size_t len)
{
	if (up->finished)
		return 0;
	if ((int64_t)len > up->cap - up->bytes)
		return img_upload_fail(r, up, img_upload_too_large(r));
	int rc;
	if (up->pipe) {
		img_probe_feed(up->probe, data, len);
		rc = img_hashpipe_put(up->pipe, data, len, up->w);
	} else {
		if (up->md5) {
			EVP_DigestUpdate(up->md5, data, len);
			EVP_DigestUpdate(up->sha, data, len);
			img_probe_feed(up->probe, data, len);
		}
		rc = img_writer_write(up->w, data, len);
	}
	if (rc < 0)
		return img_upload_fail(r, up, img_upload_store_error(r, rc, up->w->err));
	up->bytes += (int64_t)len;
	if (up->bytes >= up->quota_at) {
		up->quota_at = up->bytes + QUOTA_STEP;
		if ((rc = img_quota_check(r, up->owner, up->bytes, false)) < 0)
			return img_upload_fail(r, up, rc);
	}
	return 0;
}

int img_upload_body(struct http_req *r, const char *data, size_t len, enum img_up_kind kind)
{
	struct img_req *ir = r->svc_data;
	int rc;
	if (!ir->upload && (rc = img_upload_start(r, kind)) < 0)
		return rc;
	return img_upload_data(r, ir->upload, data, len);
}

static int on_file_body(struct http_req *r, const char *data, size_t len)
{
	return img_upload_body(r, data, len, IMG_UP_FILE);
}

static void digest_hex(EVP_MD_CTX *ctx, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestFinal_ex(ctx, md, &n);
	hex_encode(md, n, out);
}

/* Makes the written data durable and records it on the image (→ active); the data goes again
 * if the image is gone by then (deleted during the upload). */
int img_upload_finish(struct http_req *r, struct img_upload *up)
{
	int rc = up->kind == IMG_UP_IMPORT ? 0 : img_quota_check(r, up->owner, up->bytes, false);
	if (rc < 0)
		return img_upload_fail(r, up, rc);
	if (up->pipe && (rc = img_hashpipe_flush(up->pipe, up->w)) < 0)
		return img_upload_fail(r, up, img_upload_store_error(r, rc, up->w->err));
	char err[200];
	rc = img_writer_commit(up->w, up->loc, sizeof up->loc, err, sizeof err);
	up->w = NULL;
	if (rc < 0)
		return img_upload_fail(r, up, img_upload_store_error(r, rc, err));
	if (up->pipe) {                   /* the last slots were hashed during the commit */
		img_hashpipe_end(up->pipe);
		up->pipe = NULL;
	}
	char md5[2 * EVP_MAX_MD_SIZE + 1], sha[2 * EVP_MAX_MD_SIZE + 1];
	digest_hex(up->md5, md5);
	digest_hex(up->sha, sha);
	int64_t vsize = img_probe_virtual_size(up->probe);
	if ((rc = img_begin(r)) < 0)
		return img_upload_fail(r, up, rc);
	struct db_conn *c = img_db(r);
	rc = db_exec(c, "UPDATE img_images SET status = 'active', size = ?, virtual_size = ?, checksum = ?,"
		     " os_hash_algo = ?, os_hash_value = ?, store = ?, location = ?, staged = NULL,"
		     " upload_id = NULL, updated_at = ? WHERE id = ? AND upload_id = ?",
		     DB_INT(up->bytes), vsize >= 0 ? DB_INT(vsize) : DB_NULL, DB_TEXT(md5),
		     DB_TEXT(HASH_ALGO), DB_TEXT(sha), DB_TEXT(up->svc->store->id), DB_TEXT(up->loc),
		     DB_INT(time_now_us()), DB_TEXT(up->id), DB_TEXT(up->upload_id));
	if (rc < 0)
		return img_upload_fail(r, up, img_db_error(r, rc, "upload done"));
	if (rc == 0) {
		img_rollback(r);
		log_warn("image %s was deleted during its upload; removing the data", up->id);
		img_upload_release(up, img_db(r));
		return http_error(r, ERR_GONE, "Image %s could not be found after upload. The image may"
				  " have been deleted during the upload, cleaning up the chunks uploaded.",
				  up->id);
	}
	if (up->kind == IMG_UP_IMPORT) {
		if (!(rc = img_upload_set_prop(c, up->id, "os_glance_import_task", NULL)) &&
		    !(rc = img_upload_set_prop(c, up->id, "os_glance_importing_to_stores", "")))
			rc = img_upload_set_prop(c, up->id, "os_glance_failed_import", "");
		if (rc < 0)
			return img_upload_fail(r, up, img_db_error(r, rc, "import done"));
	}
	if ((rc = img_commit(r)) < 0)
		return img_upload_fail(r, up, rc);
	up->loc[0] = 0;
	up->finished = true;
	return 0;
}

/* PUT /v2/images/{image_id}/file, once the body has ended (or was empty). */
static int h_upload(struct http_req *r)
{
	struct img_req *ir = r->svc_data;
	int rc;
	if (!ir->upload && (rc = img_upload_start(r, IMG_UP_FILE)) < 0)
		return rc;
	if ((rc = img_upload_finish(r, ir->upload)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route img_routes_upload[] = {
	{ "PUT", "/v2/images/{image_id}/file", h_upload, NULL, 0, on_file_body },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
