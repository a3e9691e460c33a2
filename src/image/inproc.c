/* inproc.c — calls the compute service makes on images inside the process (see image.h):
 * look an image up as a project may see it, copy its data into a compute host's cache, and
 * create a snapshot image from a file. These run outside any HTTP request, on their own
 * database connection. */
#include "image/img.h"
#include "image/qcow2.h"
#include "image/store.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int db_fail(struct db_conn *c, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "image database error (%s): %s", what, db_errmsg(c));
	if (db_in_tx(c))
		db_rollback(c);
	return -1;
}

/* Whether project may see an image (get_image as Glance decides it for a project member):
 * its owner, public/community images, and shared images it is a member of. */
static int visible(struct db_conn *c, const struct db_rows *rows, const char *id,
		   const char *project_id, bool admin, bool *out)
{
	const char *vis = db_text(rows, 0, 1), *owner = db_text(rows, 0, 2);
	*out = admin || !strcmp(vis, "public") || !strcmp(vis, "community") ||
	       (owner && project_id && !strcmp(owner, project_id));
	if (*out || strcmp(vis, "shared") || !project_id)
		return 0;
	struct db_rows *m;
	int rc = db_query(c, &m, "SELECT 1 FROM img_members WHERE image_id = ? AND member = ?",
			  DB_TEXT(id), DB_TEXT(project_id));
	if (rc < 0)
		return rc;
	*out = db_rows_count(m) > 0;
	db_rows_free(m);
	return 0;
}

int image_lookup(struct image_svc *svc, const char *id, const char *project_id, bool admin,
		 json_t **out, char *err, size_t errlen)
{
	struct db_conn *c = db_get(svc->db);
	struct db_rows *rows = NULL, *props = NULL;
	int ret = -1;
	int rc = db_query(c, &rows, "SELECT status, visibility, owner, disk_format, container_format,"
			  " size, virtual_size, min_disk, min_ram, name, checksum FROM img_images WHERE id = ?",
			  DB_TEXT(id));
	if (rc < 0) {
		db_fail(c, err, errlen, "lookup");
		goto out;
	}
	bool ok = false;
	if (db_rows_count(rows) == 0 || visible(c, rows, id, project_id, admin, &ok) < 0 || !ok) {
		snprintf(err, errlen, "Image %s could not be found.", id);
		ret = ERR_NOTFOUND;
		goto out;
	}
	json_t *o = json_object();
	static const char *const text[] = { "status", "visibility", "owner", "disk_format", "container_format" };
	for (int i = 0; i < 5; i++)
		json_object_set_new(o, text[i], db_isnull(rows, 0, i) ? json_null() : json_string(db_text(rows, 0, i)));
	json_object_set_new(o, "size", db_isnull(rows, 0, 5) ? json_null() : json_integer(db_int(rows, 0, 5)));
	json_object_set_new(o, "virtual_size", db_isnull(rows, 0, 6) ? json_null() : json_integer(db_int(rows, 0, 6)));
	json_object_set_new(o, "min_disk", json_integer(db_int(rows, 0, 7)));
	json_object_set_new(o, "min_ram", json_integer(db_int(rows, 0, 8)));
	json_object_set_new(o, "name", db_isnull(rows, 0, 9) ? json_null() : json_string(db_text(rows, 0, 9)));
	json_object_set_new(o, "checksum", db_isnull(rows, 0, 10) ? json_null() : json_string(db_text(rows, 0, 10)));
	json_object_set_new(o, "id", json_string(id));
	rc = db_query(c, &props, "SELECT name, value FROM img_properties WHERE image_id = ?", DB_TEXT(id));
	if (rc < 0) {
		json_decref(o);
		db_fail(c, err, errlen, "properties");
		goto out;
	}
	for (int i = 0; i < db_rows_count(props); i++)
		if (!json_object_get(o, db_text(props, i, 0)))
			json_object_set_new(o, db_text(props, i, 0), json_string(db_text(props, i, 1)));
	*out = o;
	ret = 0;
out:
	db_rows_free(rows);
	db_rows_free(props);
	db_put(c);
	return ret;
}

int image_fetch(struct image_svc *svc, const char *id, int fd, char *err, size_t errlen)
{
	struct db_conn *c = db_get(svc->db);
	struct db_rows *rows;
	int rc = db_query(c, &rows, "SELECT status, store, location FROM img_images WHERE id = ?", DB_TEXT(id));
	if (rc < 0) {
		db_fail(c, err, errlen, "fetch");
		db_put(c);
		return -1;
	}
	char store_id[64] = "", loc[IMG_LOC_MAX] = "";
	bool active = db_rows_count(rows) && !strcmp(db_text(rows, 0, 0), "active") && !db_isnull(rows, 0, 2);
	if (active) {
		snprintf(store_id, sizeof store_id, "%s", db_text(rows, 0, 1) ? db_text(rows, 0, 1) : "");
		snprintf(loc, sizeof loc, "%s", db_text(rows, 0, 2));
	}
	db_rows_free(rows);
	db_put(c);
	if (!active) {
		snprintf(err, errlen, "Image %s has no data (it is not active).", id);
		return ERR_NOTFOUND;
	}
	struct img_store *st = img_store_find(svc, store_id);
	struct img_reader rd;
	if (!st || img_store_reader(st, loc, &rd) < 0) {
		snprintf(err, errlen, "the data of image %s cannot be read from store %s", id, store_id);
		return -1;
	}
	static const size_t chunk = 1 << 20;
	char *buf = xmalloc(chunk);
	int ret = 0;
	uint64_t pos = 0;
	for (;;) {
		ssize_t n = rd.fd >= 0 ? read(rd.fd, buf, chunk) : rd.read(rd.ctx, pos, buf, chunk);
		if (n < 0 && errno == EINTR && rd.fd >= 0)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "reading image %s failed", id);
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		if (util_write_all(fd, buf, (size_t)n)) {
			snprintf(err, errlen, "writing image %s to the cache failed: %s", id, strerror(errno));
			ret = -1;
			break;
		}
		pos += (uint64_t)n;
	}
	free(buf);
	img_reader_close(&rd);
	if (!ret && rd.size >= 0 && pos != (uint64_t)rd.size) {
		snprintf(err, errlen, "image %s: read %llu of %lld bytes", id, (unsigned long long)pos,
			 (long long)rd.size);
		ret = -1;
	}
	return ret;
}

int image_create_queued(struct image_svc *svc, const char *owner, const char *name,
			const char *disk_format, const char *container_format, const char *visibility,
			const json_t *props, char id[37], char *err, size_t errlen)
{
	uuid_dashed(id);
	int64_t now = time_now_us();
	struct db_conn *c = db_get(svc->db);
	int rc = db_begin(c);
	if (rc >= 0)
		rc = db_exec(c, "INSERT INTO img_images (id, name, status, visibility, owner, disk_format,"
			     " container_format, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
			     DB_TEXT(id), DB_TEXT(name), DB_TEXT(visibility ? visibility : "private"), DB_TEXT(owner), DB_TEXT(disk_format),
			     DB_TEXT(container_format), DB_INT(now), DB_INT(now));
	const char *k;
	json_t *v;
	if (props)
		json_object_foreach((json_t *)props, k, v) {
			if (rc < 0)
				break;
			if (json_is_string(v))
				rc = db_exec(c, "INSERT INTO img_properties (image_id, name, value) VALUES (?, ?, ?)",
					     DB_TEXT(id), DB_TEXT(k), DB_TEXT(json_string_value(v)));
		}
	if (rc >= 0)
		rc = db_commit(c);
	int ret = rc < 0 ? db_fail(c, err, errlen, "snapshot image") : 0;
	db_put(c);
	return ret;
}

/* Copies path into a new writer of the default store, hashing and probing on the way. */
static int store_file(struct image_svc *svc, const char *id, const char *path, const char *disk_format,
		      char loc[IMG_LOC_MAX], int64_t *size, int64_t *vsize, char md5[33], char sha[129],
		      char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	struct img_writer *w = NULL;
	if (img_store_writer(svc->store, id, &w) < 0) {
		close(fd);
		snprintf(err, errlen, "the image store refused a writer");
		return -1;
	}
	EVP_MD_CTX *m = EVP_MD_CTX_new(), *s = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_md5(), NULL);
	EVP_DigestInit_ex(s, EVP_sha512(), NULL);
	struct img_probe *probe = img_probe_new(disk_format, "bare");
	static const size_t chunk = 1 << 20;
	char *buf = xmalloc(chunk);
	int ret = 0;
	*size = 0;
	for (;;) {
		ssize_t n = read(fd, buf, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(m, buf, (size_t)n);
		EVP_DigestUpdate(s, buf, (size_t)n);
		img_probe_feed(probe, buf, (size_t)n);
		if (img_writer_write(w, buf, (size_t)n) < 0) {
			snprintf(err, errlen, "writing the snapshot: %s", w->err);
			ret = -1;
			break;
		}
		*size += n;
	}
	free(buf);
	close(fd);
	if (ret == 0 && img_writer_commit(w, loc, IMG_LOC_MAX, err, errlen) < 0)
		ret = -1;
	else if (ret)
		img_writer_abort(w);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl;
	EVP_DigestFinal_ex(m, d, &dl);
	hex_encode(d, dl, md5);
	EVP_DigestFinal_ex(s, d, &dl);
	hex_encode(d, dl, sha);
	EVP_MD_CTX_free(m);
	EVP_MD_CTX_free(s);
	*vsize = img_probe_virtual_size(probe);
	img_probe_free(probe);
	return ret;
}

int image_upload_file(struct image_svc *svc, const char *id, const char *path, char *err, size_t errlen)
{
	struct db_conn *c = db_get(svc->db);
	int ret = -1;
	if (!path) {                       /* the snapshot failed: the image goes */
		if (db_exec(c, "DELETE FROM img_images WHERE id = ? AND status IN ('queued', 'saving')",
			    DB_TEXT(id)) < 0)
			db_fail(c, err, errlen, "drop snapshot");
		else
			ret = 0;
		db_put(c);
		return ret;
	}
	/* Hold the image as an upload does, so a crash mid-copy is repaired at the next start. */
	char upload_id[37];
	uuid_dashed(upload_id);
	struct db_rows *rows;
	int rc = db_begin(c);
	if (rc >= 0)
		rc = db_exec(c, "UPDATE img_images SET status = 'saving', upload_id = ?, updated_at = ?"
			     " WHERE id = ? AND status = 'queued' AND upload_id IS NULL",
			     DB_TEXT(upload_id), DB_INT(time_now_us()), DB_TEXT(id));
	if (rc == 0) {
		db_rollback(c);
		snprintf(err, errlen, "image %s is not waiting for data", id);
		db_put(c);
		return -1;
	}
	if (rc < 0 || db_query(c, &rows, "SELECT disk_format FROM img_images WHERE id = ?", DB_TEXT(id)) < 0 ||
	    db_commit(c) < 0) {
		db_fail(c, err, errlen, "snapshot hold");
		db_put(c);
		return -1;
	}
	char fmt[32];
	snprintf(fmt, sizeof fmt, "%s", db_rows_count(rows) && db_text(rows, 0, 0) ? db_text(rows, 0, 0) : "raw");
	db_rows_free(rows);
	db_put(c);              /* no connection held during the copy */

	char loc[IMG_LOC_MAX] = "", md5[33], sha[129];
	int64_t size, vsize;
	int failed = store_file(svc, id, path, fmt, loc, &size, &vsize, md5, sha, err, errlen);
	c = db_get(svc->db);
	if (failed) {
		db_exec(c, "UPDATE img_images SET status = 'queued', upload_id = NULL WHERE id = ? AND upload_id = ?",
			DB_TEXT(id), DB_TEXT(upload_id));
		db_put(c);
		return -1;
	}
	rc = db_exec(c, "UPDATE img_images SET status = 'active', size = ?, virtual_size = ?, checksum = ?,"
		     " os_hash_algo = 'sha512', os_hash_value = ?, store = ?, location = ?, upload_id = NULL,"
		     " updated_at = ? WHERE id = ? AND upload_id = ?",
		     DB_INT(size), vsize >= 0 ? DB_INT(vsize) : DB_NULL, DB_TEXT(md5), DB_TEXT(sha),
		     DB_TEXT(svc->store->id), DB_TEXT(loc), DB_INT(time_now_us()), DB_TEXT(id), DB_TEXT(upload_id));
	if (rc <= 0) {
		if (rc < 0)
			db_fail(c, err, errlen, "snapshot done");
		else
			snprintf(err, errlen, "image %s was deleted during the snapshot", id);
		img_store_remove(svc, svc->store->id, loc);
	} else {
		ret = 0;
	}
	db_put(c);
	return ret;
}

int image_rotate_backups(struct image_svc *svc, const char *image_id, int64_t keep, char *err, size_t errlen)
{
	struct db_conn *c = db_get(svc->db);
	struct db_rows *rows = NULL, *old = NULL;
	int ret = -1;
	/* The new backup names its series: owner, instance and backup type. */
	int rc = db_query(c, &rows, "SELECT i.owner, u.value, b.value FROM img_images i"
			  " JOIN img_properties t ON t.image_id = i.id AND t.name = 'image_type' AND t.value = 'backup'"
			  " JOIN img_properties u ON u.image_id = i.id AND u.name = 'instance_uuid'"
			  " JOIN img_properties b ON b.image_id = i.id AND b.name = 'backup_type'"
			  " WHERE i.id = ?", DB_TEXT(image_id));
	if (rc < 0) {
		db_fail(c, err, errlen, "backup series");
		goto out;
	}
	if (db_rows_count(rows) == 0 || keep < 1) {      /* not a backup: nothing to rotate */
		ret = 0;
		goto out;
	}
	rc = db_query(c, &old, "SELECT i.id, i.store, i.location FROM img_images i"
		      " JOIN img_properties t ON t.image_id = i.id AND t.name = 'image_type' AND t.value = 'backup'"
		      " JOIN img_properties u ON u.image_id = i.id AND u.name = 'instance_uuid' AND u.value = ?"
		      " JOIN img_properties b ON b.image_id = i.id AND b.name = 'backup_type' AND b.value = ?"
		      " WHERE i.owner = ? AND i.status = 'active' AND i.protected = 0"
		      " ORDER BY i.created_at DESC, i.id", DB_TEXT(db_text(rows, 0, 1)), DB_TEXT(db_text(rows, 0, 2)),
		      DB_TEXT(db_text(rows, 0, 0)));
	if (rc < 0) {
		db_fail(c, err, errlen, "backups");
		goto out;
	}
	ret = 0;
	for (int i = (int)keep; i < db_rows_count(old); i++) {
		const char *id = db_text(old, i, 0);
		rc = db_exec(c, "DELETE FROM img_images WHERE id = ? AND status = 'active' AND protected = 0", DB_TEXT(id));
		if (rc < 0) {
			ret = db_fail(c, err, errlen, "backup delete");
			break;
		}
		if (rc > 0 && !db_isnull(old, i, 2))
			img_store_remove(svc, db_text(old, i, 1), db_text(old, i, 2));
		if (rc > 0)
			log_info("backup rotation deleted image %s", id);
	}
out:
	db_rows_free(rows);
	db_rows_free(old);
	db_put(c);
	return ret;
}
