/* store.h — where image data lives: a small store interface (open a writer, write chunks,
 * commit or abort; open a reader; remove) so that an object-storage or Ceph store can be added
 * later without touching the API code, the `file` store that implements it today, and the
 * staging area of interoperable import. Locations are store-private keys kept in
 * img_images.location. Not for use outside src/image. */
#ifndef IMAGE_STORE_H
#define IMAGE_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct image_svc;
struct img_store;

/* Data being written. A store's writer embeds this as its first member. */
struct img_writer {
	struct img_store *store;
	char err[200];                /* what went wrong, after an error */
};

/* Stored data opened for reading. With fd >= 0 the data is that file (the reader owns it;
 * hand it to http_reply_fd); otherwise read/close work like http_reply_stream's callbacks
 * (pos counts from the first byte of the data). */
struct img_reader {
	int64_t size;
	int fd;
	ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*close)(void *ctx);
	void *ctx;
};

/* What a store implements. Functions return 0 or an error code (core/err.h): ERR_TOOBIG when
 * the medium is full, ERR_UNAVAIL when writing is refused, ERR_NOTFOUND for missing data,
 * ERR_INTERNAL otherwise. */
struct img_store_ops {
	/* A writer for new data of image `key` (an image id). */
	int (*open_writer)(struct img_store *s, const char *key, struct img_writer **out);
	int (*write)(struct img_writer *w, const void *data, size_t len);
	/* Makes the data durable and visible; writes its location key into loc (locmax bytes).
	 * Frees w whatever the outcome; on failure nothing is left behind (message in err). */
	int (*commit)(struct img_writer *w, char *loc, size_t locmax, char *err, size_t errlen);
	/* Drops everything written; frees w. */
	void (*abort)(struct img_writer *w);
	int (*open_reader)(struct img_store *s, const char *loc, struct img_reader *out);
	int (*remove)(struct img_store *s, const char *loc);
	void (*free)(struct img_store *s);
};

struct img_store {
	const struct img_store_ops *ops;
	char *id;                     /* "file": the id shown in /v2/info/stores and image "stores" */
	void *priv;
};

#define IMG_LOC_MAX 256

/* The file store: each image's data is one file DIR/<key>, written to a temporary file in
 * DIR, fsync'd and renamed on commit (runs of zeros are left as holes). Creates DIR.
 * Returns the store, or NULL with a message in err. */
struct img_store *img_file_store_new(const char *id, const char *dir, char *err, size_t errlen);
/* True when key is usable as a file name of the file store (no '/', no leading '.'). */
bool img_file_key_ok(const char *key);

/* --- store.c: calls through the interface --- */
int img_store_writer(struct img_store *s, const char *key, struct img_writer **out);
int img_writer_write(struct img_writer *w, const void *data, size_t len);
int img_writer_commit(struct img_writer *w, char *loc, size_t locmax, char *err, size_t errlen);
/* Accepts NULL. */
void img_writer_abort(struct img_writer *w);
int img_store_reader(struct img_store *s, const char *loc, struct img_reader *out);
/* Releases what a reader holds (not needed once the fd or ctx went to an HTTP response). */
void img_reader_close(struct img_reader *rd);
/* The store with this id, or NULL. */
struct img_store *img_store_find(struct image_svc *svc, const char *id);

/* --- the staging area ([image] staging_dir): data PUT to /stage waits here, one file per
 * image id, until glance-direct import moves it into the store. --- */
int img_stage_writer(struct image_svc *svc, const char *id, struct img_writer **out);
int img_stage_reader(struct image_svc *svc, const char *id, struct img_reader *out);

#endif
