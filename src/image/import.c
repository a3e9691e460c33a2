/* import.c — interoperable import (glance-direct): PUT /v2/images/{id}/stage streams data into
 * the staging area and leaves the image `uploading`; POST /v2/images/{id}/import copies the
 * staged data into the store through the upload machinery (upload.c), recording a task. */
#include "image/upload.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COPY_BUF (1 << 20)            /* import's copy buffer */

static int on_stage_body(struct http_req *r, const char *data, size_t len)
{
	return img_upload_body(r, data, len, IMG_UP_STAGE);
}

/* PUT /v2/images/{image_id}/stage, once the body has ended: the staged file is in place and
 * the image stays `uploading` until it is imported. */
static int h_stage(struct http_req *r)
{
	struct img_req *ir = r->svc_data;
	int rc;
	if (!ir->upload && (rc = img_upload_start(r, IMG_UP_STAGE)) < 0)
		return rc;
	struct img_upload *up = ir->upload;
	char err[200];
	rc = img_writer_commit(up->w, up->loc, sizeof up->loc, err, sizeof err);
	up->w = NULL;
	up->loc[0] = 0;                   /* the staged file is removed by img_upload_release() */
	if (rc < 0)
		return img_upload_fail(r, up, img_upload_store_error(r, rc, err));
	if ((rc = img_begin(r)) < 0)
		return img_upload_fail(r, up, rc);
	rc = db_exec(img_db(r), "UPDATE img_images SET staged = ?, upload_id = NULL, updated_at = ?"
		     " WHERE id = ? AND upload_id = ?", DB_INT(up->bytes), DB_INT(time_now_us()),
		     DB_TEXT(up->id), DB_TEXT(up->upload_id));
	if (rc < 0)
		return img_upload_fail(r, up, img_db_error(r, rc, "stage done"));
	if (rc == 0) {
		img_rollback(r);
		img_upload_release(up, img_db(r));
		return img_not_found(r, up->id);
	}
	if ((rc = img_commit(r)) < 0)
		return img_upload_fail(r, up, rc);
	up->finished = true;
	return http_reply_empty(r, 204);
}

/* --- import --- */

static int bad_import(struct http_req *r, const char *msg)
{
	return http_error(r, ERR_BADREQ, "%s", msg);
}

/* The body of POST /import as Glance validates it, and the target stores. */
static int check_import_body(struct http_req *r, json_t *body)
{
	json_t *method = json_object_get(body, "method");
	if (!method)
		return bad_import(r, "Import request requires a 'method' field.");
	json_t *name = json_is_object(method) ? json_object_get(method, "name") : NULL;
	if (!name)
		return bad_import(r, "Import request requires a 'name' field.");
	if (!json_is_string(name) || strcmp(json_string_value(name), "glance-direct")) {
		char *text = json_is_string(name) ? NULL : json_dumps(name, JSON_ENCODE_ANY);
		http_error(r, ERR_BADREQ, "Unknown import method name '%s'.",
			   text ? text : json_string_value(name));
		free(text);
		return ERR_BADREQ;
	}
	json_t *must = json_object_get(body, "all_stores_must_succeed");
	if (must && !json_is_boolean(must))
		return bad_import(r, "'all_stores_must_succeed' must be boolean value only");
	json_t *all = json_object_get(body, "all_stores");
	if (all && !json_is_boolean(all))
		return bad_import(r, "'all_stores' must be boolean value only");
	return 0;
}

static int check_import_stores(struct http_req *r, json_t *body)
{
	json_t *stores = json_object_get(body, "stores");
	const char *header = http_header(r, "X-Image-Meta-Store");
	if (json_is_true(json_object_get(body, "all_stores"))) {
		if (stores || header)
			return bad_import(r, "All_stores parameter can't be used with x-image-meta-store"
					  " header or stores parameter");
		return 0;
	}
	if (stores && header)
		return bad_import(r, "Stores parameter and x-image-meta-store header can't be both specified");
	if (!stores) {
		if (header && !img_store_find(img_svc(r), header))
			return http_error(r, ERR_CONFLICT, "Unknown scheme '%s' found in URI", header);
		return 0;
	}
	if (!json_is_array(stores))
		return bad_import(r, "Invalid stores: a list of store identifiers was expected.");
	size_t i;
	json_t *s;
	json_array_foreach(stores, i, s) {
		if (!json_is_string(s) || !img_store_find(img_svc(r), json_string_value(s)))
			return http_error(r, ERR_CONFLICT, "Unknown scheme '%s' found in URI",
					  json_is_string(s) ? json_string_value(s) : "?");
	}
	return 0;
}

/* Marks the image `importing` and holds it, with the import properties Glance keeps and the
 * task (api_image_import) that GET /v2/images/{id}/tasks shows. */
static int take_for_import(struct http_req *r, struct img_upload *up, json_t *body,
			   char task_id[37])
{
	int rc = img_upload_take(r, up, "uploading");
	if (rc < 0)
		return rc;
	up->finished = false;
	struct db_conn *c = img_db(r);
	if ((rc = img_begin(r)) < 0)
		return rc;
	json_t *input = json_pack("{s:s,s:O,s:[s]}", "image_id", up->id, "import_req", body,
				  "backend", up->svc->store->id);
	rc = img_task_begin(r, up->id, "api_image_import", input, task_id);
	json_decref(input);
	if (rc < 0)
		return rc;
	const char *store = up->svc->store->id;
	if ((rc = img_upload_set_prop(c, up->id, "os_glance_import_task", task_id)) < 0 ||
	    (rc = img_upload_set_prop(c, up->id, "os_glance_importing_to_stores", store)) < 0 ||
	    (rc = img_upload_set_prop(c, up->id, "os_glance_failed_import", "")) < 0)
		return img_db_error(r, rc, "import start");
	return img_commit(r);
}

/* Reads n bytes at pos of the staged data (a file descriptor, or a store's reader). */
static ssize_t read_staged(struct img_reader *rd, uint64_t pos, char *buf, size_t n)
{
	if (rd->fd < 0)
		return rd->read(rd->ctx, pos, buf, n);
	ssize_t k;
	do
		k = pread(rd->fd, buf, n, (off_t)pos);
	while (k < 0 && errno == EINTR);
	return k;
}

/* Copies the staged data into the store through the digests (synchronously: Glance's task,
 * done before answering). Returns 0, or an error code with the image released. */
static int import_copy(struct http_req *r, struct img_upload *up)
{
	struct img_reader rd;
	int rc = img_stage_reader(up->svc, up->id, &rd);
	if (rc < 0)
		return http_error(r, rc, "The staged data of image %s cannot be read.", up->id);
	if (rd.size > up->cap) {
		img_reader_close(&rd);
		return img_upload_too_large(r);
	}
	if ((rc = img_store_writer(up->svc->store, up->id, &up->w)) < 0) {
		img_reader_close(&rd);
		return img_upload_store_error(r, rc, "cannot create the image file");
	}
	char *buf = xmalloc(COPY_BUF);
	while (rc == 0) {
		ssize_t n = read_staged(&rd, (uint64_t)up->bytes, buf, COPY_BUF);
		if (n < 0)
			rc = http_error(r, ERR_INTERNAL, "The staged data of image %s cannot be read.", up->id);
		if (n <= 0)
			break;
		rc = img_upload_data(r, up, buf, (size_t)n);
	}
	free(buf);
	img_reader_close(&rd);
	return rc;
}

/* POST /v2/images/{image_id}/import: glance-direct from the staging area into the store. */
static int h_import(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	int rc = check_import_body(r, body);
	if (rc < 0)
		return rc;
	struct img *im;
	if ((rc = img_load(r, http_param(r, "image_id"), &im)) < 0)
		return rc;
	if (!strcmp(im->status, "active"))
		return http_error(r, ERR_CONFLICT, "Image with status active cannot be target for import");
	if (strcmp(im->status, "uploading"))
		return http_error(r, ERR_CONFLICT, "Image needs to be staged before 'glance-direct' method can be used");
	if (!im->container_format)
		return http_error(r, ERR_CONFLICT, "'container_format' needs to be set before import");
	if (!im->disk_format)
		return http_error(r, ERR_CONFLICT, "'disk_format' needs to be set before import");
	if ((rc = img_enforce(r, "modify_image", im)) < 0)
		return rc;
	if ((rc = check_import_stores(r, body)) < 0)
		return rc;
	struct img_upload *up = img_upload_new(r, IMG_UP_IMPORT, im);
	char task_id[37];
	if ((rc = take_for_import(r, up, body, task_id)) < 0) {
		if (!up->finished)
			img_upload_fail(r, up, rc);
		return rc;
	}
	img_upload_digests(up, im);
	/* From here on Glance has already answered 202: failures show on the image instead
	 * (back to queued, os_glance_failed_import). */
	rc = import_copy(r, up);
	if (rc == 0) {
		rc = img_upload_finish(r, up);
		if (rc == 0)
			img_stage_remove(up->svc, up->id);
	} else {
		img_upload_fail(r, up, rc);
	}
	const char *msg = rc < 0 ? arena_printf(r->arena, "Error: %s", r->errmsg[0] ? r->errmsg
						: "the data could not be imported") : "";
	if (rc < 0)
		log_warn("image %s: glance-direct import failed: %s", up->id, msg);
	r->err = 0;
	r->errmsg[0] = 0;
	json_t *result = rc < 0 ? NULL : json_pack("{s:s}", "image_id", up->id);
	rc = img_task_finish(r, task_id, rc == 0, msg, result);
	json_decref(result);
	if (rc < 0)
		log_error("image %s: cannot record the end of import task %s", up->id, task_id);
	r->err = 0;
	r->errmsg[0] = 0;
	return http_reply_empty(r, 202);
}

const struct route img_routes_import[] = {
	{ "PUT", "/v2/images/{image_id}/stage", h_stage, NULL, 0, on_stage_body },
	{ "POST", "/v2/images/{image_id}/import", h_import, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
