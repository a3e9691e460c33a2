/* test_qparse.c — Placement's query value parsers (src/placement/qparse.c) and naming rules
 * (src/placement/names.c): resources=, required= (forbidden and in: forms by microversion),
 * member_of= (in:, !, !in:), uuid-like values, class and trait names, the standard lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "placement/plc.h"

static void test_resources(void **state)
{
	(void)state;
	struct plc_amount a[4];
	int n;
	char msg[512];
	assert_int_equal(plc_parse_resources("VCPU:2,MEMORY_MB:1024", a, 4, &n, msg, sizeof msg), 0);
	assert_int_equal(n, 2);
	assert_string_equal(a[0].rc, "VCPU");
	assert_int_equal(a[0].amount, 2);
	assert_string_equal(a[1].rc, "MEMORY_MB");
	assert_int_equal(a[1].amount, 1024);
	/* a repeated class keeps the last amount */
	assert_int_equal(plc_parse_resources("VCPU:2,VCPU:3", a, 4, &n, msg, sizeof msg), 0);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].amount, 3);
	/* Python int(): spaces and a sign are fine */
	assert_int_equal(plc_parse_resources("VCPU: +4 ", a, 4, &n, msg, sizeof msg), 0);
	assert_int_equal(a[0].amount, 4);
	assert_int_equal(plc_parse_resources("  ", a, 4, &n, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "Got: empty string."));
	assert_int_equal(plc_parse_resources("VCPU", a, 4, &n, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "Badly formed resources parameter"));
	assert_int_equal(plc_parse_resources("VCPU:1:2", a, 4, &n, msg, sizeof msg), -1);
	assert_int_equal(plc_parse_resources("VCPU:x", a, 4, &n, msg, sizeof msg), -1);
	assert_string_equal(msg, "Requested resource VCPU expected positive integer amount. Got: x.");
	assert_int_equal(plc_parse_resources("VCPU:0", a, 4, &n, msg, sizeof msg), -1);
	assert_string_equal(msg, "Requested resource VCPU requires amount >= 1. Got: 0.");
	assert_int_equal(plc_parse_resources("VCPU:-1", a, 4, &n, msg, sizeof msg), -1);
	assert_int_equal(plc_parse_resources("A:1,B:1,C:1,D:1,E:1", a, 4, &n, msg, sizeof msg), -1);
}

static void test_required(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct plc_traitq q = { 0 };
	char msg[512];
	assert_int_equal(plc_parse_required(ar, "A, !B,C", true, false, &q, msg, sizeof msg), 0);
	assert_int_equal(q.nsets, 2);
	assert_string_equal(q.req[q.set_start[0]], "A");
	assert_string_equal(q.req[q.set_start[1]], "C");
	assert_int_equal(q.nforbidden, 1);
	assert_string_equal(q.forbidden[0], "B");
	/* any-of sets only from 1.39 */
	memset(&q, 0, sizeof q);
	assert_int_equal(plc_parse_required(ar, "in:X,Y", true, false, &q, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "only supported since microversion 1.39"));
	assert_int_equal(plc_parse_required(ar, "in:X,Y,X", true, true, &q, msg, sizeof msg), 0);
	assert_int_equal(q.nsets, 1);
	assert_int_equal(q.set_len[0], 2);
	assert_int_equal(plc_parse_required(ar, "in:X,!Y", true, true, &q, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "does not support forbidden traits"));
	assert_int_equal(plc_parse_required(ar, "in:X,", true, true, &q, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "Got an empty trait in: in:X,"));
	/* forbidden traits only from 1.22; '!!' counts as one '!' */
	memset(&q, 0, sizeof q);
	assert_int_equal(plc_parse_required(ar, "A,!B", false, false, &q, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: A,!B"));
	assert_int_equal(plc_parse_required(ar, "!!B", true, false, &q, msg, sizeof msg), 0);
	assert_string_equal(q.forbidden[0], "B");
	assert_int_equal(plc_parse_required(ar, "A,,B", true, false, &q, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty trait in: A,,B"));
	assert_int_equal(plc_parse_required(ar, "!", true, false, &q, msg, sizeof msg), -1);
	arena_free(ar);
}

static void test_member_of(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct plc_aggq q = { 0 };
	char msg[512];
	const char *u1 = "6D5EA3A6-2E9B-4F9C-9D3B-2F6E1F8A1B2C", *u2 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
	assert_int_equal(plc_parse_member_of(ar, u1, &q, msg, sizeof msg), 0);
	assert_int_equal(q.nsets, 1);
	assert_string_equal(q.req[0], "6d5ea3a6-2e9b-4f9c-9d3b-2f6e1f8a1b2c");
	char in[200];
	snprintf(in, sizeof in, "in:%s,%s", u1, u2);
	assert_int_equal(plc_parse_member_of(ar, in, &q, msg, sizeof msg), 0);
	assert_int_equal(q.nsets, 2);
	assert_int_equal(q.set_len[1], 2);
	assert_string_equal(q.req[2], "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	snprintf(in, sizeof in, "!in:%s,%s", u1, u2);
	assert_int_equal(plc_parse_member_of(ar, in, &q, msg, sizeof msg), 0);
	assert_int_equal(q.nforbidden, 2);
	snprintf(in, sizeof in, "%s,%s", u1, u2);
	assert_int_equal(plc_parse_member_of(ar, in, &q, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "must be prefixed with the 'in:' or '!in:' keyword"));
	assert_int_equal(plc_parse_member_of(ar, "in:nope", &q, msg, sizeof msg), -1);
	assert_string_equal(msg, "Invalid query string parameters: Expected 'member_of' parameter to "
			    "contain valid UUID(s). Got: nope");
	arena_free(ar);
}

static void test_uuid_like(void **state)
{
	(void)state;
	char d[37];
	assert_true(plc_uuid_like("{6d5ea3a6-2e9b-4f9c-9d3b-2f6e1f8a1b2c}", d));
	assert_string_equal(d, "6d5ea3a6-2e9b-4f9c-9d3b-2f6e1f8a1b2c");
	assert_true(plc_uuid_like("urn:uuid:6d5ea3a62e9b4f9c9d3b2f6e1f8a1b2c", d));
	assert_false(plc_uuid_like("6d5ea3a62e9b4f9c9d3b2f6e1f8a1b2", d));
	assert_false(plc_uuid_like("6d5ea3a62e9b4f9c9d3b2f6e1f8a1b2cc", d));
	assert_false(plc_uuid_like("zd5ea3a62e9b4f9c9d3b2f6e1f8a1b2c", d));
	assert_false(plc_uuid_like("", d));
	assert_false(plc_uuid_like(NULL, d));
}

static void test_names(void **state)
{
	(void)state;
	assert_true(plc_name_ok("VCPU"));
	assert_true(plc_name_ok("CUSTOM_GPU_1"));
	assert_false(plc_name_ok(""));
	assert_false(plc_name_ok("vcpu"));
	assert_false(plc_name_ok("A-B"));
	assert_true(plc_custom_ok("CUSTOM_X"));
	assert_false(plc_custom_ok("CUSTOM_"));
	assert_false(plc_custom_ok("VCPU"));
	assert_true(plc_std_rc("VCPU"));
	assert_true(plc_std_rc("NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC"));
	assert_false(plc_std_rc("CUSTOM_X"));
	assert_true(plc_std_trait("COMPUTE_NODE"));
	assert_true(plc_std_trait("HW_CPU_X86_AVX2"));
	assert_false(plc_std_trait("HW_CPU_X86_NOPE"));
	for (int i = 1; i < plc_nstd_traits; i++)        /* sorted, as the lookup needs */
		assert_true(strcmp(plc_std_traits[i - 1], plc_std_traits[i]) < 0);
	assert_string_equal(plc_std_rcs[0], "VCPU");
	assert_string_equal(plc_std_rcs[1], "MEMORY_MB");
	assert_string_equal(plc_std_rcs[2], "DISK_GB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_member_of),
		cmocka_unit_test(test_uuid_like),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
