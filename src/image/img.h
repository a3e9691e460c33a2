/* img.h — internals shared by the image service's files (Glance v2): the service state, the
 * per-request helpers (database, transactions, policy with Glance's Forbidden→NotFound rule),
 * the image record as loaded from the database, its rendering, and the quotas.
 * Not for use outside src/image. */
#ifndef IMAGE_IMG_H
#define IMAGE_IMG_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "auth/auth.h"
#include "auth/policy.h"
#include "core/db.h"
#include "core/err.h"
#include "core/http.h"
#include "core/log.h"
#include "core/router.h"
#include "core/util.h"
#include "image/image.h"

#define IMG_PREFIX "/image"
#define IMG_NAME_MAX 255
#define IMG_PROP_MAX 255          /* property and tag names, member ids */
#define IMG_VALUE_MAX 65535       /* extra property values */

struct img_store;

struct image_svc {
	struct db *db;
	struct policy *policy;
	struct img_store *store;      /* the default store ("file") */
	char *staging_dir;            /* where PUT /stage keeps data until import */
	struct img_store *staging;    /* a file store over staging_dir (store.c) */
	struct http_service service;
};

/* Per-request state (r->svc_data). */
struct img_req {
	struct image_svc *svc;
	struct db_conn *conn;         /* checked out lazily by img_db() */
	void *upload;                 /* the upload in progress (upload.h) */
};

/* An image as stored. Strings live in the request's arena; NULL for SQL NULL. */
struct img {
	const char *id, *name, *status, *visibility, *owner;
	const char *disk_format, *container_format;
	const char *checksum, *os_hash_algo, *os_hash_value;
	const char *store, *location;     /* where the data is (store id, store-private key) */
	const char *upload_id;            /* the upload or import holding the image, or NULL */
	int64_t size, virtual_size;       /* -1: unknown (null) */
	int64_t staged;                   /* bytes staged for import, -1: nothing staged */
	int64_t min_disk, min_ram;
	int64_t created_at, updated_at;   /* microseconds since the epoch */
	bool protected_, os_hidden;
	json_t *props;                    /* extra properties {name: "value"}; freed with the request */
	json_t *tags;                     /* array of strings; freed with the request */
	const char *member_status;        /* the caller's project's membership status, or NULL */
};

/* Columns img_load() and the list query select, in struct img order; img_from_row() reads them. */
#define IMG_COLUMNS "id, name, status, visibility, owner, disk_format, container_format," \
	" checksum, os_hash_algo, os_hash_value, store, location, upload_id, size, virtual_size," \
	" staged, min_disk, min_ram, created_at, updated_at, protected, os_hidden"
#define IMG_NCOLUMNS 22

/* --- service.c --- */
struct image_svc *img_svc(struct http_req *r);
struct db_conn *img_db(struct http_req *r);
int img_begin(struct http_req *r);
int img_commit(struct http_req *r);
void img_rollback(struct http_req *r);
/* Logs the database error and records a 500. */
int img_db_error(struct http_req *r, int rc, const char *what);
/* The caller's project id ("" when the token has no project scope). */
const char *img_caller_project(struct http_req *r);
bool img_is_admin(struct http_req *r);

/* --- image.c (the record) --- */
/* Fills im from row i of a query selecting IMG_COLUMNS (props/tags/member_status not loaded). */
void img_from_row(struct http_req *r, const struct db_rows *rows, int i, struct img *im);
/* Loads properties, tags and the caller's membership of im. 0 or an error recorded in r. */
int img_load_extras(struct http_req *r, struct img *im);
/* The same for n images in three queries (a page of a list). */
int img_load_extras_many(struct http_req *r, struct img **ims, int n);
/* Runs a query selecting IMG_COLUMNS and loads the rows with their extras (a list page):
 * 0 with *out (an arena array) and *n, or an error recorded in r. */
int img_query_page(struct http_req *r, const char *sql, const struct db_arg *args, struct img ***out, int *n);
/* Loads an image the caller may see (get_image policy): 0 and *out, or 404 "No image found
 * with ID <id>" (also for images hidden by policy). Reads inside the request's open transaction
 * when there is one. */
int img_load(struct http_req *r, const char *id, struct img **out);
/* Loads an image without any visibility check (after a write, or for internal use). */
int img_load_any(struct http_req *r, const char *id, struct img **out);
/* The image as the API shows it. New reference. */
json_t *img_render(struct http_req *r, const struct img *im);
/* The policy target of an image (Glance's ImageTarget): project_id/owner, visibility,
 * member_id (the caller's project when it is a member), id, status, and the extra properties.
 * New reference. */
json_t *img_target(struct http_req *r, const struct img *im);
/* Enforces rule against im the way Glance does: Forbidden becomes 404 when the caller may not
 * even get_image. im NULL: a target built from the caller's project (creation-time rules). */
int img_enforce(struct http_req *r, const char *rule, const struct img *im);
/* The same decision without recording an error. */
bool img_allowed(struct http_req *r, const char *rule, const struct img *im);
/* Sets updated_at = now (inside the open transaction). */
int img_touch(struct http_req *r, const char *id);
/* 404 in Glance's words. */
int img_not_found(struct http_req *r, const char *id);

/* --- images.c --- */
/* Checks one attribute's value the way Glance's image schema does (base attributes by their
 * type, anything else as an extra property string): 0 or 400 recorded in r. */
int img_validate_attr(struct http_req *r, const char *key, const json_t *v);
bool img_is_read_only(const char *name);
bool img_is_reserved(const char *name);       /* location, deleted..., os_glance_* */
/* publicize_image / communitize_image for a change to that visibility: 0 or 403/404. */
int img_enforce_visibility(struct http_req *r, const char *visibility, const struct img *im);
/* Inserts extra properties (an object of strings) of image id. */
int img_store_props(struct http_req *r, const char *id, const json_t *props);
/* Deletes image id as r's caller may (get_image, delete_image, not protected) with its stored
 * and staged data: 0, or 404/403 recorded in r (images.c; DELETE /v2/images/{id} and
 * inproc_list.c). */
int img_delete_image(struct http_req *r, const char *id);
int img_list_images(struct http_req *r);      /* list.c: GET /v2/images */
int img_patch_image(struct http_req *r);      /* patch.c: PATCH /v2/images/{id} */

/* --- quota.c --- */
/* Checks that owner may add `bytes` more stored bytes (and, when new_image, one more image):
 * 0, or 413 recorded in r. bytes may be 0. */
int img_quota_check(struct http_req *r, const char *owner, int64_t bytes, bool new_image);
/* Checks the per-image limits: properties, tags, members (after a change). 0 or 413. */
int img_quota_props(struct http_req *r, const json_t *props);
int img_quota_tags(struct http_req *r, const json_t *tags);
int img_quota_members(struct http_req *r, int64_t count);
/* Parses "1024", "10KB", "5GB" ... into bytes (0: unlimited). -1 on bad text. */
int img_parse_size(const char *s, int64_t *out);

/* --- store.c (the data stores; upload.c, import.c, download.c drive them) --- */
/* Removes an image's stored data (after the row is gone); errors are logged, not returned. */
void img_store_remove(struct image_svc *svc, const char *store, const char *location);
/* Removes anything staged for image id. */
void img_stage_remove(struct image_svc *svc, const char *id);
/* Opens the stores from configuration: 0 or -1 with err. */
int img_stores_open(struct image_svc *svc, char *err, size_t errlen);
void img_stores_close(struct image_svc *svc);

/* --- tasks.c --- */
/* Records a new import task of image_id (status processing) inside the open transaction or on
 * its own; id receives its id. 0 or an error recorded in r. */
int img_task_begin(struct http_req *r, const char *image_id, const char *type, const json_t *input,
		   char id[37]);
/* Ends it: success or failure with a message and an optional result object. */
int img_task_finish(struct http_req *r, const char *task_id, bool ok, const char *message,
		    const json_t *result);

/* --- recover.c --- */
/* Puts images a previous run left held by an upload, stage or import back to queued and fails
 * their unfinished tasks. Call once at start, before serving: 0 or -1 with err. */
int img_recover(struct image_svc *svc, char *err, size_t errlen);

/* --- route families --- */
extern const struct route img_routes_version[];     /* version.c: discovery, /v2/info */
extern const struct route img_routes_schemas[];     /* schemas.c */
extern const struct route img_routes_images[];      /* images.c, list.c, patch.c */
extern const struct route img_routes_upload[];      /* upload.c: PUT /v2/images/{id}/file */
extern const struct route img_routes_download[];    /* download.c: GET /v2/images/{id}/file */
extern const struct route img_routes_import[];      /* import.c: stage, import */
extern const struct route img_routes_members[];     /* members.c */
extern const struct route img_routes_tags[];        /* tags.c */
extern const struct route img_routes_actions[];     /* actions.c: deactivate/reactivate */
extern const struct route img_routes_tasks[];       /* tasks.c: GET /v2/images/{id}/tasks */
extern const struct route img_routes_metadefs[];    /* metadef_*.c: metadata definitions */
/* metadef_schema.c: the metadefs tables (migration stream "image_metadefs"). 0 or -1 with err. */
int img_metadefs_migrate(struct db *db, char *err, size_t errlen);

/* --- constants shared by validation (images.c) and the schemas (schemas.c) --- */
extern const char *const img_disk_formats[];         /* NULL-terminated */
extern const char *const img_container_formats[];
bool img_in_list(const char *const *list, const char *s);
extern const char img_policy_defaults[];

#endif
