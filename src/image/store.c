/* store.c — the image service's stores: opening them from configuration (the `file` store under
 * [image] filesystem_store_datadir, and the staging area under [image] staging_dir), calls
 * through the store interface, and removing an image's data once its row is gone. */
#include "image/img.h"
#include "image/store.h"
#include "core/conf.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_STORE_ID "file"

int img_stores_open(struct image_svc *svc, char *err, size_t errlen)
{
	svc->store = img_file_store_new(FILE_STORE_ID, conf_str("image", "filesystem_store_datadir"),
					err, errlen);
	if (!svc->store)
		return -1;
	svc->staging_dir = xstrdup(conf_str("image", "staging_dir"));
	svc->staging = img_file_store_new("staging", svc->staging_dir, err, errlen);
	if (!svc->staging) {
		img_stores_close(svc);
		return -1;
	}
	return 0;
}

void img_stores_close(struct image_svc *svc)
{
	if (svc->store)
		svc->store->ops->free(svc->store);
	if (svc->staging)
		svc->staging->ops->free(svc->staging);
	free(svc->staging_dir);
	svc->store = svc->staging = NULL;
	svc->staging_dir = NULL;
}

struct img_store *img_store_find(struct image_svc *svc, const char *id)
{
	return id && svc->store && !strcmp(svc->store->id, id) ? svc->store : NULL;
}

int img_store_writer(struct img_store *s, const char *key, struct img_writer **out)
{
	return s->ops->open_writer(s, key, out);
}

int img_writer_write(struct img_writer *w, const void *data, size_t len)
{
	return w->store->ops->write(w, data, len);
}

int img_writer_commit(struct img_writer *w, char *loc, size_t locmax, char *err, size_t errlen)
{
	return w->store->ops->commit(w, loc, locmax, err, errlen);
}

void img_writer_abort(struct img_writer *w)
{
	if (w)
		w->store->ops->abort(w);
}

int img_store_reader(struct img_store *s, const char *loc, struct img_reader *out)
{
	return s->ops->open_reader(s, loc, out);
}

void img_reader_close(struct img_reader *rd)
{
	if (rd->fd >= 0)
		close(rd->fd);
	else if (rd->close)
		rd->close(rd->ctx);
	rd->fd = -1;
	rd->close = NULL;
}

void img_store_remove(struct image_svc *svc, const char *store, const char *location)
{
	struct img_store *s = img_store_find(svc, store);
	if (!s) {
		log_error("image data at '%s' in unknown store '%s' not removed", location ? location : "",
			  store ? store : "");
		return;
	}
	int rc = s->ops->remove(s, location);
	if (rc < 0 && rc != ERR_NOTFOUND)
		log_error("cannot remove image data '%s' from store '%s' (%d)", location, store, rc);
}

int img_stage_writer(struct image_svc *svc, const char *id, struct img_writer **out)
{
	return img_store_writer(svc->staging, id, out);
}

int img_stage_reader(struct image_svc *svc, const char *id, struct img_reader *out)
{
	return img_store_reader(svc->staging, id, out);
}

void img_stage_remove(struct image_svc *svc, const char *id)
{
	int rc = svc->staging->ops->remove(svc->staging, id);
	if (rc < 0 && rc != ERR_NOTFOUND)
		log_error("cannot remove staged data of image %s (%d)", id, rc);
}
