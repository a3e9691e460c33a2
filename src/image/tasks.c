/* tasks.c — the record of asynchronous work on an image (interoperable import), as Glance keeps
 * it: a task per import with its input, status (processing → success or failure), result and
 * message, shown by GET /v2/images/{id}/tasks while the image exists. */
#include "image/img.h"
#include <stdlib.h>
#include <string.h>

#define TASK_TTL_US (48LL * 3600 * 1000000)   /* Glance's task_time_to_live: 48 hours */

int img_task_begin(struct http_req *r, const char *image_id, const char *type, const json_t *input,
		   char id[37])
{
	uuid_dashed(id);
	char *in = input ? json_dumps(input, JSON_COMPACT) : NULL;
	int64_t now = time_now_us();
	int rc = db_exec(img_db(r),
			 "INSERT INTO img_tasks (id, image_id, type, status, owner, user_id, request_id, input,"
			 " created_at, updated_at) VALUES (?, ?, ?, 'processing', ?, ?, ?, ?, ?, ?)",
			 DB_TEXT(id), DB_TEXT(image_id), DB_TEXT(type),
			 DB_TEXT(*img_caller_project(r) ? img_caller_project(r) : NULL),
			 DB_TEXT(r->auth ? r->auth->user_id : NULL), DB_TEXT(r->request_id), DB_TEXT(in),
			 DB_INT(now), DB_INT(now));
	free(in);
	return rc < 0 ? img_db_error(r, rc, "task") : 0;
}

int img_task_finish(struct http_req *r, const char *task_id, bool ok, const char *message,
		    const json_t *result)
{
	char *res = result ? json_dumps(result, JSON_COMPACT) : NULL;
	int64_t now = time_now_us();
	int rc = db_exec(img_db(r),
			 "UPDATE img_tasks SET status = ?, message = ?, result = ?, updated_at = ?, expires_at = ?"
			 " WHERE id = ?",
			 DB_TEXT(ok ? "success" : "failure"), DB_TEXT(message ? message : ""), DB_TEXT(res),
			 DB_INT(now), DB_INT(now + TASK_TTL_US), DB_TEXT(task_id));
	free(res);
	return rc < 0 ? img_db_error(r, rc, "task") : 0;
}

static json_t *json_or_null(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	return j ? j : json_null();
}

static json_t *time_or_null(const struct db_rows *rows, int i, int col)
{
	if (db_isnull(rows, i, col))
		return json_null();
	char t[40];
	time_format(db_int(rows, i, col), 6, false, t);
	return json_string(t);
}

static int list_image_tasks(struct http_req *r)
{
	struct img *im;
	int rc = img_load(r, http_param(r, "image_id"), &im);
	if (rc < 0)
		return rc;
	struct db_rows *rows;
	rc = db_query(img_db(r), &rows,
		      "SELECT id, type, status, owner, user_id, request_id, input, result, message,"
		      " created_at, updated_at, expires_at FROM img_tasks"
		      " WHERE image_id = ? AND (expires_at IS NULL OR expires_at >= ?) ORDER BY created_at",
		      DB_TEXT(im->id), DB_INT(time_now_us()));
	if (rc < 0)
		return img_db_error(r, rc, "tasks");
	json_t *tasks = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		json_t *t = json_object();
		json_object_set_new(t, "id", json_string(db_text(rows, i, 0)));
		json_object_set_new(t, "type", json_string(db_text(rows, i, 1)));
		json_object_set_new(t, "status", json_string(db_text(rows, i, 2)));
		json_object_set_new(t, "owner", db_text(rows, i, 3) ? json_string(db_text(rows, i, 3)) : json_null());
		json_object_set_new(t, "user_id", db_text(rows, i, 4) ? json_string(db_text(rows, i, 4)) : json_null());
		json_object_set_new(t, "request_id", db_text(rows, i, 5) ? json_string(db_text(rows, i, 5)) : json_null());
		json_object_set_new(t, "input", json_or_null(db_text(rows, i, 6)));
		json_object_set_new(t, "result", json_or_null(db_text(rows, i, 7)));
		json_object_set_new(t, "message", json_string(db_text(rows, i, 8) ? db_text(rows, i, 8) : ""));
		json_object_set_new(t, "created_at", time_or_null(rows, i, 9));
		json_object_set_new(t, "updated_at", time_or_null(rows, i, 10));
		json_object_set_new(t, "expires_at", time_or_null(rows, i, 11));
		json_object_set_new(t, "image_id", json_string(im->id));
		json_object_set_new(t, "deleted", json_false());
		json_object_set_new(t, "deleted_at", json_null());
		json_array_append_new(tasks, t);
	}
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "tasks", tasks));
}

const struct route img_routes_tasks[] = {
	{ "GET", "/v2/images/{image_id}/tasks", list_image_tasks, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
