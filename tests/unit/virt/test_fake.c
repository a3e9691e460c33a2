/* test_fake.c — the fake virt driver (src/virt/fake.c): its simulated hosts, guests that follow
 * the power actions the way a real guest would refuse or accept them, destroy of unknown guests,
 * listing, the console log, and snapshots as real (empty) raw files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virt/virt.h"

static const char *U1 = "11111111-1111-1111-1111-111111111111";

static void count(void *ctx, const char *uuid, enum virt_power p)
{
	(void)uuid;
	(void)p;
	(*(int *)ctx)++;
}

static void test_hosts(void **state)
{
	(void)state;
	char err[256];
	assert_null(virt_fake_new(0, NULL, err, sizeof err));
	struct virt_driver *d = virt_fake_new(3, "sim", err, sizeof err);
	assert_non_null(d);
	assert_int_equal(d->ops->nhosts(d), 3);
	struct virt_host_info h;
	assert_int_equal(d->ops->host_info(d, 2, &h), 0);
	assert_string_equal(h.hostname, "sim-3");
	assert_true(h.vcpus > 0 && h.memory_mb > 0 && h.disk_gb > 0);
	assert_int_equal(d->ops->host_info(d, 3, &h), -1);
	d->ops->free(d);
}

static void test_lifecycle(void **state)
{
	(void)state;
	char err[256];
	struct virt_driver *d = virt_fake_new(2, NULL, err, sizeof err);
	struct virt_spec s = { .uuid = U1, .name = "one", .hostname = "one", .host = "fake-host-2", .vcpus = 1, .memory_mb = 64 };
	struct virt_spec bad = s;
	bad.host = "elsewhere";
	assert_int_equal(d->ops->spawn(d, &bad, err, sizeof err), -1);
	assert_int_equal(d->ops->spawn(d, &s, err, sizeof err), 0);
	assert_int_equal(d->ops->spawn(d, &s, err, sizeof err), -1);   /* already there */
	assert_int_equal(d->ops->state(d, U1), VIRT_RUNNING);
	assert_int_equal(d->ops->power(d, U1, VIRT_UNPAUSE, err, sizeof err), -1);
	assert_int_equal(d->ops->power(d, U1, VIRT_PAUSE, err, sizeof err), 0);
	assert_int_equal(d->ops->state(d, U1), VIRT_PAUSED);
	assert_int_equal(d->ops->power(d, U1, VIRT_REBOOT_SOFT, err, sizeof err), -1);
	assert_int_equal(d->ops->power(d, U1, VIRT_UNPAUSE, err, sizeof err), 0);
	assert_int_equal(d->ops->power(d, U1, VIRT_SUSPEND, err, sizeof err), 0);
	assert_int_equal(d->ops->state(d, U1), VIRT_SUSPENDED);
	assert_int_equal(d->ops->power(d, U1, VIRT_RESUME, err, sizeof err), 0);
	assert_int_equal(d->ops->power(d, U1, VIRT_STOP, err, sizeof err), 0);
	assert_int_equal(d->ops->state(d, U1), VIRT_SHUTDOWN);
	assert_int_equal(d->ops->power(d, U1, VIRT_REBOOT_HARD, err, sizeof err), 0);
	assert_int_equal(d->ops->state(d, U1), VIRT_RUNNING);
	int n = 0;
	d->ops->list(d, count, &n);
	assert_int_equal(n, 1);
	char *log = NULL;
	size_t len = 0;
	assert_int_equal(d->ops->console_log(d, U1, 9, &log, &len), 0);
	assert_int_equal(len, 9);
	assert_string_equal(log, "LAST LINE");
	free(log);
	char host[64];
	int port;
	assert_int_equal(d->ops->vnc(d, U1, host, &port), -1);
	assert_int_equal(d->ops->destroy(d, U1), 0);
	assert_int_equal(d->ops->destroy(d, U1), 0);                 /* unknown: fine */
	assert_int_equal(d->ops->state(d, U1), VIRT_NOSTATE);
	assert_int_equal(d->ops->power(d, U1, VIRT_START, err, sizeof err), -1);
	d->ops->free(d);
}

static void test_snapshot(void **state)
{
	(void)state;
	char err[256], path[] = "/tmp/test_fake_snapXXXXXX", fmt[16];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct virt_driver *d = virt_fake_new(1, NULL, err, sizeof err);
	assert_int_equal(d->ops->snapshot(d, U1, path, fmt, err, sizeof err), -1);
	struct virt_spec s = { .uuid = U1, .host = "fake-host-1", .vcpus = 1, .memory_mb = 64 };
	assert_int_equal(d->ops->spawn(d, &s, err, sizeof err), 0);
	assert_int_equal(d->ops->snapshot(d, U1, path, fmt, err, sizeof err), 0);
	assert_string_equal(fmt, "raw");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	unlink(path);
	d->ops->free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
