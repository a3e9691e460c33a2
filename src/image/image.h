/* image.h — the Glance v2 image service: the public face main uses to mount it. */
#ifndef IMAGE_IMAGE_H
#define IMAGE_IMAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "core/conf.h"
#include "core/db.h"
#include "core/http.h"

struct image_svc;

extern const struct conf_opt image_conf_opts[];

/* Applies the image schema migrations. 0 or -1 with err. */
int image_migrate(struct db *db, char *err, size_t errlen);
/* Builds the service over an open, migrated database (stores, staging area, policy). NULL with
 * err. Token validation comes from auth (the identity service registers it). */
struct image_svc *image_new(struct db *db, char *err, size_t errlen);
void image_free(struct image_svc *svc);
/* The HTTP service to mount (prefix /image). */
struct http_service *image_service(struct image_svc *svc);

/* --- in-process calls for the compute service (inproc.c) --- */
/* The image id as project_id may see it (admin: any): 0 and *out, a new reference shaped like
 * GET /v2/images/{id} (status, disk_format, container_format, size, min_disk, min_ram, owner,
 * visibility, and the extra properties such as kernel_id, ramdisk_id, os_command_line as
 * top-level keys); ERR_NOTFOUND when it does not exist or is not visible; -1 with err on a
 * database error. */
int image_lookup(struct image_svc *svc, const char *id, const char *project_id, bool admin,
		 json_t **out, char *err, size_t errlen);
/* Writes the data of active image id to fd (from its current position). 0, ERR_NOTFOUND (no
 * such image or no data), or -1 with err. No visibility check: callers looked it up first. */
int image_fetch(struct image_svc *svc, const char *id, int fd, char *err, size_t errlen);
/* Creates an image owned by owner (a snapshot): a new queued image named name with
 * disk_format/container_format, visibility ("private" for snapshots, "public") and the extra
 * properties props (object of strings, may be NULL). id receives its uuid. 0 or -1 with err. */
int image_create_queued(struct image_svc *svc, const char *owner, const char *name,
			const char *disk_format, const char *container_format, const char *visibility,
			const json_t *props, char id[37], char *err, size_t errlen);
/* Uploads the file at path as image id's data (queued → active, with checksums and size) or,
 * with path NULL, records that the snapshot failed (the image is deleted). 0 or -1 with err. */
int image_upload_file(struct image_svc *svc, const char *id, const char *path, char *err, size_t errlen);

/* --- in-process calls made for an API caller (inproc_list.c): the compute API's image proxy.
 * caller is the compute request: its token decides (the image service's own visibility, policy,
 * protection and quota rules apply), its arena holds the results; nothing is recorded in it.
 * Images come shaped as Nova's image layer sees them: id, name, status (Glance's), visibility,
 * owner, size (0 when unknown), min_ram, min_disk, created_at, updated_at ("...Z" strings),
 * protected, disk_format, container_format, checksum, and properties (the extra properties).
 * Failures are ERR_* codes with the image service's message in err. */
struct image_query {
	const char *name, *status;          /* exact matches (NULL: any) */
	const char *changes_since;          /* ISO 8601: updated at or after it (NULL: any) */
	const char *min_ram, *min_disk;     /* exact matches, as Glance v2 filters them (NULL: any) */
	const json_t *props;                /* extra properties that must match {name: value}, or NULL */
	const char *marker;                 /* list after this image (NULL: from the start) */
	int limit;                          /* 1..1000 images at most */
};
/* The images the caller may list (own, public, shared and accepted; no community images of
 * others, no hidden ones), newest first: 0 and *out (a new array), or ERR_BADREQ (bad filter
 * or marker), ERR_FORBIDDEN (get_images), ERR_INTERNAL. */
int image_list_for(struct image_svc *svc, struct http_req *caller, const struct image_query *q,
		   json_t **out, char *err, size_t errlen);
/* One image the caller may see: 0 and *out (new reference), or ERR_NOTFOUND. */
int image_show_for(struct image_svc *svc, struct http_req *caller, const char *id, json_t **out,
		   char *err, size_t errlen);
/* Deletes an image (and its data) as DELETE /v2/images/{id} would for the caller: 0,
 * ERR_NOTFOUND (not visible), ERR_FORBIDDEN (delete_image policy, protected). */
int image_delete_for(struct image_svc *svc, struct http_req *caller, const char *id, char *err,
		     size_t errlen);
/* Replaces the extra properties of an image by props (an object of strings) as a PATCH would:
 * 0 and *out (the image after, new reference), or ERR_NOTFOUND, ERR_FORBIDDEN (modify_image, a
 * read-only or reserved name), ERR_BADREQ (a name of the image's own attributes, a bad value),
 * ERR_TOOBIG (image_property_quota). */
int image_set_props_for(struct image_svc *svc, struct http_req *caller, const char *id,
			const json_t *props, json_t **out, char *err, size_t errlen);

/* Backup rotation (createBackup): when image_id is a backup (image_type backup with
 * instance_uuid and backup_type properties), deletes the oldest active backups of the same
 * owner, instance and type beyond the newest keep. 0 or -1 with err. */
int image_rotate_backups(struct image_svc *svc, const char *image_id, int64_t keep, char *err, size_t errlen);

/* seed.c: registers the tiny test guest found in dir (tiny-vmlinuz, tiny-initrd, tiny.qcow2,
 * tiny.cmdline from tests/images/build-tiny.sh) as public images tiny-kernel, tiny-ramdisk and
 * tiny owned by owner, unless an image named tiny exists. Nothing to do (no files) is 0. */
int image_seed_tiny(struct image_svc *svc, const char *dir, const char *owner, char *err, size_t errlen);

#endif
