/* test_cache.c — the image cache (virt_cache_get in src/virt/cache.c): one fetch however many
 * callers ask at once, the finished file under its final name only, a failed fetch leaves
 * nothing behind and the next caller tries again, and image ids that could escape the
 * directory are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virt/virt.h"

struct fetcher {
	atomic_int calls;
	bool fail;
	int delay_ms;
};

static int fetch(void *ctx, const char *image_id, int fd, char *err, size_t errlen)
{
	struct fetcher *f = ctx;
	atomic_fetch_add(&f->calls, 1);
	if (f->delay_ms)
		usleep((useconds_t)f->delay_ms * 1000);
	char buf[128];
	int n = snprintf(buf, sizeof buf, "bytes of %s\n", image_id);
	if (write(fd, buf, (size_t)(f->fail ? n / 2 : n)) < 0)
		return -1;
	if (f->fail) {
		snprintf(err, errlen, "the image service went away");
		return -1;
	}
	return 0;
}

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/test_cache.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	return rmdir(dir);
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

struct caller {
	struct fetcher *f;
	char path[256];
	int rc;
};

static void *call(void *arg)
{
	struct caller *c = arg;
	char err[256];
	c->rc = virt_cache_get(dir, "img-1", fetch, c->f, c->path, sizeof c->path, err, sizeof err);
	return NULL;
}

static void test_fetched_once(void **state)
{
	struct fetcher f = { .delay_ms = 100 };
	struct caller c[8];
	pthread_t t[8];
	for (int i = 0; i < 8; i++) {
		c[i] = (struct caller){ .f = &f };
		pthread_create(&t[i], NULL, call, &c[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&f.calls), 1);
	char want[300], buf[128];
	snprintf(want, sizeof want, "%s/img-1", dir);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(c[i].rc, 0);
		assert_string_equal(c[i].path, want);
	}
	read_file(want, buf, sizeof buf);
	assert_string_equal(buf, "bytes of img-1\n");
	/* Later callers find the file without fetching. */
	char err[256], path[256];
	assert_int_equal(virt_cache_get(dir, "img-1", fetch, &f, path, sizeof path, err, sizeof err), 0);
	assert_int_equal(atomic_load(&f.calls), 1);
}

static void test_failed_fetch(void **state)
{
	struct fetcher f = { .fail = true };
	char err[256], path[256];
	assert_int_equal(virt_cache_get(dir, "img-2", fetch, &f, path, sizeof path, err, sizeof err), -1);
	assert_non_null(strstr(err, "the image service went away"));
	snprintf(path, sizeof path, "%s/img-2", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/.img-2.part", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	f.fail = false;
	assert_int_equal(virt_cache_get(dir, "img-2", fetch, &f, path, sizeof path, err, sizeof err), 0);
	assert_int_equal(atomic_load(&f.calls), 2);
	char buf[128];
	read_file(path, buf, sizeof buf);
	assert_string_equal(buf, "bytes of img-2\n");
}

static void test_bad_ids(void **state)
{
	struct fetcher f = { 0 };
	char err[256], path[256];
	static const char *const bad[] = { "", "..", "../etc/passwd", "a/b", ".hidden", "sp ace", "x\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(virt_cache_get(dir, bad[i], fetch, &f, path, sizeof path, err, sizeof err), -1);
	assert_int_equal(atomic_load(&f.calls), 0);
	/* A path buffer too small for the answer is an error, not a truncated path. */
	char small[8];
	assert_int_equal(virt_cache_get(dir, "img-3", fetch, &f, small, sizeof small, err, sizeof err), -1);
	/* The cache directory is created when missing. */
	char sub[128];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	assert_int_equal(virt_cache_get(sub, "img-4", fetch, &f, path, sizeof path, err, sizeof err), 0);
	unlink(path);
	snprintf(path, sizeof path, "%s/.img-4.lock", sub);
	unlink(path);
	rmdir(sub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fetched_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
