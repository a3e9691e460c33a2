/* recover.c — start-up repair of work a previous run left half done. An image held by an upload,
 * a stage or an import when the process stopped can never be finished by anyone: it goes back
 * to `queued` with nothing staged (its temporary data is removed by the stores), and an import
 * task still `processing` ends as a failure. Run before serving, while no request can hold an
 * image (one controller per database). */
#include "image/img.h"
#include "image/upload.h"
#include <stdio.h>
#include <string.h>

static int fail_tasks(struct db_conn *c, int64_t now)
{
	return db_exec(c, "UPDATE img_tasks SET status = 'failure', message = ?, updated_at = ?, expires_at = ?"
		       " WHERE status = 'processing'",
		       DB_TEXT("The import was interrupted by a restart of the image service."),
		       DB_INT(now), DB_INT(now + 48LL * 3600 * 1000000));
}

int img_recover(struct image_svc *svc, char *err, size_t errlen)
{
	struct db_conn *c = db_get(svc->db);
	struct db_rows *rows = NULL;
	int64_t now = time_now_us();
	int rc = db_begin(c);
	if (rc == 0)
		rc = db_query(c, &rows, "SELECT id, status FROM img_images WHERE upload_id IS NOT NULL"
			      " AND status IN ('saving', 'uploading', 'importing')");
	int n = rc == 0 ? db_rows_count(rows) : 0;
	for (int i = 0; rc >= 0 && i < n; i++) {
		const char *id = db_text(rows, i, 0);
		rc = db_exec(c, "UPDATE img_images SET status = 'queued', upload_id = NULL, size = NULL,"
			     " virtual_size = NULL, staged = NULL, updated_at = ? WHERE id = ?", DB_INT(now), DB_TEXT(id));
		if (rc >= 0 && !strcmp(db_text(rows, i, 1), "importing")) {
			rc = img_upload_set_prop(c, id, "os_glance_import_task", NULL);
			if (rc == 0)
				rc = img_upload_set_prop(c, id, "os_glance_importing_to_stores", "");
			if (rc == 0)
				rc = img_upload_set_prop(c, id, "os_glance_failed_import", svc->store->id);
		}
	}
	if (rc >= 0)
		rc = fail_tasks(c, now);
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0) {
		snprintf(err, errlen, "image start-up repair failed: %s", db_errmsg(c));
		db_rows_free(rows);
		db_put(c);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		img_stage_remove(svc, db_text(rows, i, 0));
		log_warn("image %s was %s when the service stopped: back to queued", db_text(rows, i, 0),
			 db_text(rows, i, 1));
	}
	db_rows_free(rows);
	db_put(c);
	return 0;
}
