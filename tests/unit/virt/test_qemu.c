/* test_qemu.c — the qemu driver's parts that need no guest (src/virt/qemu*.c): construction
 * checks, host facts, unknown and invalid instances, refused specs leaving nothing behind, the
 * states read from an instance directory (stopped, suspended), a stale pidfile naming another
 * process, and launch errors carrying QEMU's message. Real guests: tests/images/try-qemu.sh.
 * Skipped when qemu-system-x86_64 or qemu-img is not installed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virt/virt.h"

#define UUID "0e7c2f4a-9b1d-4c3e-8f5a-6d2b1a0c9e87"

static char dir[64];
static struct virt_driver *drv;

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/test_qemu.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char err[256];
	drv = virt_qemu_new(dir, err, sizeof err);
	return 0;
}

static int teardown(void **state)
{
	if (drv) {
		drv->ops->destroy(drv, UUID);
		drv->ops->free(drv);
		drv = NULL;
	}
	return rmdir(dir);
}

#define NEED_QEMU()                                                            \
	do {                                                                   \
		if (!drv) {                                                    \
			print_message("qemu-system-x86_64/qemu-img missing\n"); \
			skip();                                                \
		}                                                              \
	} while (0)

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* An instance directory as a stopped guest leaves it, with a launch argv of our choosing. */
static void fake_instance(const char *argv_json)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, UUID);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/%s/state.json", dir, UUID);
	char text[512];
	snprintf(text, sizeof text, "{\"argv\": %s}", argv_json);
	write_file(path, text);
}

static void test_new(void **state)
{
	char err[256];
	/* commas would break QEMU's option syntax */
	assert_null(virt_qemu_new("/tmp/a,b", err, sizeof err));
	rmdir("/tmp/a,b");
	/* a long state dir puts the QMP sockets in a short private directory instead */
	struct virt_driver *d = virt_qemu_new("/tmp/a-state-directory-whose-name-is-far-too-long-for-qmp-sockets-xx",
					      err, sizeof err);
	if (d) {
		char sock[64];
		snprintf(sock, sizeof sock, "/tmp/monostack-qmp-%u", (unsigned)getuid());
		struct stat st;
		assert_int_equal(lstat(sock, &st), 0);
		assert_true(S_ISDIR(st.st_mode) && (st.st_mode & 077) == 0);
		d->ops->free(d);
	}
	rmdir("/tmp/a-state-directory-whose-name-is-far-too-long-for-qmp-sockets-xx");
	assert_null(virt_qemu_new("/proc/no/such/place", err, sizeof err));
	assert_null(virt_qemu_new(NULL, err, sizeof err));
	NEED_QEMU();
	assert_string_equal(drv->ops->name, "qemu");
	virt_qemu_set_stop_timeout(drv, 3);
	virt_qemu_set_stop_timeout(NULL, 3);
}

static void test_host_info(void **state)
{
	NEED_QEMU();
	assert_int_equal(drv->ops->nhosts(drv), 1);
	struct virt_host_info hi;
	assert_int_equal(drv->ops->host_info(drv, 0, &hi), 0);
	assert_int_equal(drv->ops->host_info(drv, 1, &hi), -1);
	assert_int_equal(drv->ops->host_info(drv, 0, &hi), 0);
	assert_true(hi.hostname[0]);
	assert_true(hi.vcpus >= 1);
	assert_true(hi.memory_mb > 0);
	assert_true(hi.disk_gb >= 0);
	assert_string_equal(hi.hypervisor_type, "QEMU");
	assert_true(hi.hypervisor_version >= 1000000);
	json_error_t je;
	json_t *ci = json_loads(hi.cpu_info, 0, &je);
	assert_non_null(ci);
	assert_string_equal(json_string_value(json_object_get(ci, "arch")), "x86_64");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ci, "topology"), "cores")), hi.vcpus);
	json_decref(ci);
}

static void count(void *ctx, const char *uuid, enum virt_power p)
{
	(*(int *)ctx)++;
}

static void test_unknown(void **state)
{
	NEED_QEMU();
	char err[256], host[64], *log;
	size_t len;
	int port, n = 0;
	static const char *const ids[] = { UUID, "../../etc", "not-a-uuid", "" };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		assert_int_equal(drv->ops->state(drv, ids[i]), VIRT_NOSTATE);
		assert_int_equal(drv->ops->destroy(drv, ids[i]), 0);
		assert_int_equal(drv->ops->power(drv, ids[i], VIRT_START, err, sizeof err), -1);
		assert_int_equal(drv->ops->console_log(drv, ids[i], 0, &log, &len), -1);
		assert_int_equal(drv->ops->vnc(drv, ids[i], host, &port), -1);
	}
	assert_int_equal(drv->ops->list(drv, count, &n), 0);
	assert_int_equal(n, 0);
}

static void test_refused_spawn(void **state)
{
	NEED_QEMU();
	char err[256], path[256];
	struct virt_spec s = { .uuid = UUID, .name = "x", .vcpus = 1, .memory_mb = 256, .root_gb = 1,
			       .image_path = "/nonexistent", .image_format = "bogus" };
	assert_int_equal(drv->ops->spawn(drv, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "bogus"));
	snprintf(path, sizeof path, "%s/%s", dir, UUID);
	assert_int_not_equal(access(path, F_OK), 0);               /* nothing left behind */
	s.image_format = "qcow2";
	s.vcpus = 0;
	assert_int_equal(drv->ops->spawn(drv, &s, err, sizeof err), -1);
	assert_int_not_equal(access(path, F_OK), 0);
	s.vcpus = 1;
	s.uuid = "../escape";
	assert_int_equal(drv->ops->spawn(drv, &s, err, sizeof err), -1);
	/* The same uuid twice: the second spawn is refused and leaves the first alone. */
	fake_instance("[\"/bin/true\"]");
	s.uuid = UUID;
	assert_int_equal(drv->ops->spawn(drv, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(drv->ops->state(drv, UUID), VIRT_SHUTDOWN);
}

static void test_states_from_disk(void **state)
{
	NEED_QEMU();
	char err[256], host[64], path[256], *log;
	size_t len;
	int port, n = 0;
	fake_instance("[\"/bin/true\"]");
	assert_int_equal(drv->ops->state(drv, UUID), VIRT_SHUTDOWN);
	assert_int_equal(drv->ops->list(drv, count, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(drv->ops->console_log(drv, UUID, 0, &log, &len), 0);
	assert_int_equal(len, 0);
	free(log);
	assert_int_equal(drv->ops->vnc(drv, UUID, host, &port), -1);
	assert_int_equal(drv->ops->power(drv, UUID, VIRT_PAUSE, err, sizeof err), -1);
	assert_non_null(strstr(err, "not running"));
	assert_int_equal(drv->ops->power(drv, UUID, VIRT_STOP, err, sizeof err), 0);
	assert_int_equal(drv->ops->power(drv, UUID, VIRT_RESUME, err, sizeof err), -1);

	/* The console log's tail. */
	snprintf(path, sizeof path, "%s/%s/console.log", dir, UUID);
	write_file(path, "line one\nline two\n");
	assert_int_equal(drv->ops->console_log(drv, UUID, 9, &log, &len), 0);
	assert_int_equal(len, 9);
	assert_string_equal(log, "line two\n");
	free(log);

	/* A saved memory image makes it suspended; start refuses, a hard reboot would forget it. */
	snprintf(path, sizeof path, "%s/%s/memory.save", dir, UUID);
	write_file(path, "x");
	assert_int_equal(drv->ops->state(drv, UUID), VIRT_SUSPENDED);
	assert_int_equal(drv->ops->power(drv, UUID, VIRT_START, err, sizeof err), -1);
	assert_non_null(strstr(err, "suspended"));

	/* A pidfile naming a live process that is not this guest's QEMU (ourselves). */
	unlink(path);
	snprintf(path, sizeof path, "%s/%s/qemu.pid", dir, UUID);
	char pid[32];
	snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	write_file(path, pid);
	assert_int_equal(drv->ops->state(drv, UUID), VIRT_SHUTDOWN);
	assert_int_equal(drv->ops->destroy(drv, UUID), 0);        /* and we are still here */
	assert_int_equal(drv->ops->state(drv, UUID), VIRT_NOSTATE);
	snprintf(path, sizeof path, "%s/%s", dir, UUID);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void test_launch_errors(void **state)
{
	NEED_QEMU();
	char err[512];
	fake_instance("[\"/bin/sh\", \"-c\", \"echo 'qemu-system-x86_64: -drive file=x: Could not open' >&2; exit 1\"]");
	assert_int_equal(drv->ops->power(drv, UUID, VIRT_START, err, sizeof err), -1);
	assert_non_null(strstr(err, "Could not open"));
	assert_int_equal(drv->ops->state(drv, UUID), VIRT_SHUTDOWN);
	assert_int_equal(drv->ops->destroy(drv, UUID), 0);
	/* A relative or missing program in the saved argv is refused. */
	fake_instance("[\"sh\"]");
	assert_int_equal(drv->ops->power(drv, UUID, VIRT_START, err, sizeof err), -1);
	assert_int_equal(drv->ops->destroy(drv, UUID), 0);
	fake_instance("[]");
	assert_int_equal(drv->ops->power(drv, UUID, VIRT_REBOOT_HARD, err, sizeof err), -1);
	assert_int_equal(drv->ops->destroy(drv, UUID), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_spawn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_states_from_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_launch_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
