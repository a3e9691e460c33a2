/* upload.h — the upload machinery of upload.c as import.c uses it: an upload in progress (it
 * holds its image through img_images.upload_id) and the steps that take, feed, finish or give
 * up the image. Not for use outside src/image. */
#ifndef IMAGE_UPLOAD_H
#define IMAGE_UPLOAD_H
#include <openssl/types.h>
#include "image/img.h"
#include "image/store.h"

/* What is being uploaded: image data (PUT /file), staged data (PUT /stage), or staged data
 * imported into the store (POST /import). */
enum img_up_kind { IMG_UP_FILE, IMG_UP_STAGE, IMG_UP_IMPORT };

/* An upload (or import) in progress: it holds the image, the store writer, and the digests.
 * Lives in the request's arena; its cleanup runs when the request ends however it ends. */
struct img_upload {
	enum img_up_kind kind;
	struct http_req *r;
	struct image_svc *svc;
	const char *id, *owner;
	char upload_id[37];
	struct img_writer *w;
	char loc[IMG_LOC_MAX];            /* committed data not yet recorded (removed on failure) */
	EVP_MD_CTX *md5, *sha;
	struct img_hashpipe *pipe;        /* hashes md5 and sha off this thread (NULL: inline) */
	struct img_probe *probe;
	int64_t bytes, cap, quota_at;
	bool finished;                    /* the image was released, one way or the other */
};

/* A new upload of image im, not yet holding it (finished is true until img_upload_take). Its
 * cleanup is deferred on the request's arena: it releases the image if still held. */
struct img_upload *img_upload_new(struct http_req *r, enum img_up_kind kind, const struct img *im);
/* Takes the image in status `from` for up: → saving/uploading/importing with up's upload_id.
 * 0, or 409 (another status, another upload) / 404 recorded in r. */
int img_upload_take(struct http_req *r, struct img_upload *up, const char *from);
/* Starts md5, sha512 and the format probe (data going to the store). */
void img_upload_digests(struct img_upload *up, const struct img *im);
/* Everything before the first byte of PUT /file or /stage: checks, takes the image, opens the
 * writer, and sets r's img_req.upload. 0 or an error recorded in r. */
int img_upload_start(struct http_req *r, enum img_up_kind kind);
/* A route's on_body for PUT /file or /stage: starts the upload on the first piece. */
int img_upload_body(struct http_req *r, const char *data, size_t len, enum img_up_kind kind);
/* Takes one piece of data (cap, digests, probe, store, quota now and then). 0, or an error
 * recorded in r with the image released. */
int img_upload_data(struct http_req *r, struct img_upload *up, const void *data, size_t len);
/* Commits the data to the store and records it on the image (→ active): 0, or an error
 * recorded in r with the image released (410 when the image was deleted meanwhile). */
int img_upload_finish(struct http_req *r, struct img_upload *up);
/* Rolls back r's transaction, releases the image, and returns rc (already recorded in r). */
int img_upload_fail(struct http_req *r, struct img_upload *up, int rc);
/* Drops what the upload wrote (store data, staged data) and puts the image back to `queued`,
 * once; c is the connection to use. */
void img_upload_release(struct img_upload *up, struct db_conn *c);
/* Sets (value non-NULL) or deletes an extra property of image id. 0 or a database error. */
int img_upload_set_prop(struct db_conn *c, const char *id, const char *name,
			const char *value);
/* Records a store failure in Glance's words (413 full, 503 refused, else 500). */
int img_upload_store_error(struct http_req *r, int rc, const char *what);
/* Records 413: the image is over image_size_cap. */
int img_upload_too_large(struct http_req *r);

/* --- hashpipe.c: the digests on their own threads, data in a constant-size ring --- */
struct img_hashpipe;
/* Starts one thread per digest context (1 or 2 of them); NULL when the threads cannot be had
 * (the caller then hashes on its own). The contexts stay the caller's. */
struct img_hashpipe *img_hashpipe_new(EVP_MD_CTX *const *ctx, int n);
/* Takes data: copies it into the ring; each full slot goes to the digest threads and is written
 * to w here (waiting while the threads are a whole ring behind). 0 or w's error. */
int img_hashpipe_put(struct img_hashpipe *p, const void *data, size_t len, struct img_writer *w);
/* Hands the last, partial slot over likewise. 0 or w's error. */
int img_hashpipe_flush(struct img_hashpipe *p, struct img_writer *w);
/* Waits until every byte handed over is hashed, ends the threads and frees p. */
void img_hashpipe_end(struct img_hashpipe *p);
/* Ends the threads without waiting for the rest and frees p. Accepts NULL. */
void img_hashpipe_free(struct img_hashpipe *p);

#endif
