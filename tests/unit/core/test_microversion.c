/* test_microversion.c — unit tests for src/core/microversion.c: parsing "X.Y", ordering, and
 * picking a service's value out of an OpenStack-API-Version header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/microversion.h"

static void test_parse(void **state)
{
	(void)state;
	struct mv v;
	assert_int_equal(mv_parse("2.79", &v), 0);
	assert_int_equal(v.major, 2);
	assert_int_equal(v.minor, 79);
	assert_int_equal(mv_parse("1.0", &v), 0);
	assert_int_equal(v.minor, 0);
	static const char *const bad[] = { "", "2", "2.", ".1", "2.x", "x.1", "+2.1", "2.1.1", " 2.1",
					   "2.1 ", "-1.2", "2..1", "99999999.1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(mv_parse(bad[i], &v), -1);
	assert_int_equal(mv_parse(NULL, &v), -1);
}

static void test_order(void **state)
{
	(void)state;
	struct mv a = { 2, 9 }, b = { 2, 10 }, c = { 3, 0 };
	assert_true(mv_cmp(a, b) < 0);          /* numeric, not textual: 2.9 < 2.10 */
	assert_true(mv_cmp(c, b) > 0);
	assert_int_equal(mv_cmp(a, a), 0);
	assert_true(mv_ge(b, 2, 10));
	assert_false(mv_ge(a, 2, 10));
	assert_true(mv_lt(a, 2, 10));
	char buf[16];
	assert_string_equal(mv_format(b, buf), "2.10");
}

static void test_header_pick(void **state)
{
	(void)state;
	char buf[64];
	assert_string_equal(mv_header_pick("compute 2.53", "compute", buf, sizeof buf), "2.53");
	assert_string_equal(mv_header_pick("placement 1.2, compute  latest ", "compute", buf, sizeof buf), "latest");
	assert_string_equal(mv_header_pick("Compute 2.1", "compute", buf, sizeof buf), "2.1");
	assert_null(mv_header_pick("placement 1.2", "compute", buf, sizeof buf));
	assert_null(mv_header_pick("computer 2.1", "compute", buf, sizeof buf));
	assert_null(mv_header_pick("compute", "compute", buf, sizeof buf));
	assert_null(mv_header_pick("", "compute", buf, sizeof buf));
	/* the value is handed on as given; negotiation rejects what does not parse */
	assert_string_equal(mv_header_pick("compute 2.x", "compute", buf, sizeof buf), "2.x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_header_pick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
