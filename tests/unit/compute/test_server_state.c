/* test_server_state.c — the server record's rules (src/compute/server_record.c and
 * server_valid.c): Nova's status from vm_state/task_state and back for the status filter, the
 * hostId hash, generated passwords, and base64 the way Python's decoder accepts it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <string.h>

#include "compute/srv.h"

static const char *status(const char *vm, const char *task, bool deleted)
{
	struct srv s = { .vm_state = vm, .task_state = task, .deleted = deleted };
	return srv_status(&s);
}

static void test_status_map(void **state)
{
	(void)state;
	assert_string_equal(status("active", NULL, false), "ACTIVE");
	assert_string_equal(status("active", "rebooting", false), "REBOOT");
	assert_string_equal(status("active", "rebooting_hard", false), "HARD_REBOOT");
	assert_string_equal(status("active", "powering-off", false), "ACTIVE");
	assert_string_equal(status("active", "resize_prep", false), "RESIZE");
	assert_string_equal(status("building", "scheduling", false), "BUILD");
	assert_string_equal(status("stopped", NULL, false), "SHUTOFF");
	assert_string_equal(status("stopped", "rebuilding", false), "REBUILD");
	assert_string_equal(status("resized", NULL, false), "VERIFY_RESIZE");
	assert_string_equal(status("resized", "resize_reverting", false), "REVERT_RESIZE");
	assert_string_equal(status("error", NULL, false), "ERROR");
	assert_string_equal(status("error", "rebuild_spawning", false), "REBUILD");
	assert_string_equal(status("active", NULL, true), "DELETED");
	assert_string_equal(status("nonsense", NULL, false), "UNKNOWN");
}

static void test_status_filter(void **state)
{
	(void)state;
	const char *vm[32], *task[32];
	int nvm, ntask;
	bool any;
	assert_true(srv_status_states("ACTIVE", vm, &nvm, task, &ntask, &any));
	assert_int_equal(nvm, 1);
	assert_string_equal(vm[0], "active");
	assert_true(any);                   /* the default: any task state */
	assert_true(srv_status_states("reboot", vm, &nvm, task, &ntask, &any));
	assert_false(any);
	assert_int_equal(ntask, 3);
	assert_true(srv_status_states("REBUILD", vm, &nvm, task, &ntask, &any));
	assert_int_equal(nvm, 3);           /* active, stopped, error */
	assert_false(srv_status_states("LEVITATING", vm, &nvm, task, &ntask, &any));
}

static void test_host_id(void **state)
{
	(void)state;
	char id[57];
	srv_host_id("p", "", id);
	assert_string_equal(id, "");
	/* python3 -c "import hashlib; print(hashlib.sha224(b'projhost').hexdigest())" */
	srv_host_id("proj", "host", id);
	assert_string_equal(id, "bc58bfe03bcc96b638dbf059baaf1f8ac92fd73e57090edd03391f1f");
}

static void test_password(void **state)
{
	(void)state;
	char pw[13];
	srv_password(pw);
	assert_int_equal(strlen(pw), 12);
	bool digit = false, upper = false, lower = false;
	for (int i = 0; i < 12; i++) {
		digit |= isdigit((unsigned char)pw[i]) != 0;
		upper |= isupper((unsigned char)pw[i]) != 0;
		lower |= islower((unsigned char)pw[i]) != 0;
		assert_null(strchr("01IOl", pw[i]));
	}
	assert_true(digit && upper && lower);
}

static void test_base64(void **state)
{
	(void)state;
	assert_true(srv_base64_valid(""));
	assert_true(srv_base64_valid("aGk="));
	assert_true(srv_base64_valid("aGVs\nbG8="));
	assert_true(srv_base64_valid("YWJj"));
	assert_false(srv_base64_valid("aGk"));
	assert_false(srv_base64_valid("a"));
	assert_false(srv_base64_valid("not base64!"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_map),
		cmocka_unit_test(test_status_filter),
		cmocka_unit_test(test_host_id),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
