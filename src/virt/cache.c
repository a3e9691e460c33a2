/* cache.c — the per-host image cache (virt_cache_get): cache_dir/<image_id> holds an image's
 * bytes, fetched once. A fetch happens under an exclusive flock on cache_dir/.<image_id>.lock
 * (flock works between threads as well as processes, since each caller opens the lock file
 * itself), into a temporary name that is renamed into place only when complete; callers that
 * wait for the lock find the finished file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "virt/virt.h"

static bool id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 128 || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Fetches image_id into final under the lock already held. */
static int fetch_locked(const char *cache_dir, const char *image_id, const char *final, virt_fetch_fn fetch,
			void *ctx, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s/.%s.part", cache_dir, image_id);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "image cache %s: %s", tmp, strerror(errno));
		return -1;
	}
	char ferr[512] = "";
	if (fetch(ctx, image_id, fd, ferr, sizeof ferr)) {
		snprintf(err, errlen, "fetching image %s: %s", image_id, ferr[0] ? ferr : "failed");
		goto fail;
	}
	if (fsync(fd)) {
		snprintf(err, errlen, "image cache %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		snprintf(err, errlen, "image cache %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final)) {
		snprintf(err, errlen, "image cache %s: %s", final, strerror(errno));
		goto fail;
	}
	int dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int virt_cache_get(const char *cache_dir, const char *image_id, virt_fetch_fn fetch, void *ctx,
		   char *path, size_t pathlen, char *err, size_t errlen)
{
	if (!cache_dir || !image_id || !id_ok(image_id)) {
		snprintf(err, errlen, "invalid image id");
		return -1;
	}
	char final[PATH_MAX], lock[PATH_MAX];
	if (snprintf(final, sizeof final, "%s/%s", cache_dir, image_id) >= (int)sizeof final ||
	    snprintf(lock, sizeof lock, "%s/.%s.lock", cache_dir, image_id) >= (int)sizeof lock ||
	    strlen(final) >= pathlen) {
		snprintf(err, errlen, "image cache path too long");
		return -1;
	}
	if (is_file(final))
		goto done;
	if (util_mkdir_p(cache_dir, 0755, 0755)) {
		snprintf(err, errlen, "image cache %s: %s", cache_dir, strerror(errno));
		return -1;
	}
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0) {
		snprintf(err, errlen, "image cache %s: %s", lock, strerror(errno));
		return -1;
	}
	while (flock(lfd, LOCK_EX)) {
		if (errno != EINTR) {
			snprintf(err, errlen, "image cache lock %s: %s", lock, strerror(errno));
			close(lfd);
			return -1;
		}
	}
	int rc = is_file(final) ? 0 : fetch_locked(cache_dir, image_id, final, fetch, ctx, err, errlen);
	close(lfd);                               /* releases the lock */
	if (rc)
		return -1;
done:
	snprintf(path, pathlen, "%s", final);
	return 0;
}
