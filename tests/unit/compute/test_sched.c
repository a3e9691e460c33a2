/* test_sched.c — the scheduler's filters and weighers (src/compute/sched_filter.c): a flavor's
 * placement request with resources:/trait: overrides, the comma lists of aggregate metadata,
 * ComputeFilter, zones, forced and requested hosts, tenant isolation, aggregate extra specs,
 * same/different host, (anti-)affinity with max_server_per_host, spread/pack and soft policies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "compute/sched.h"

static struct placement_candidate cand(int64_t cpu_cap, int64_t cpu_used, int64_t ram_cap, int64_t ram_used)
{
	struct placement_candidate c = { .capacity = { cpu_cap, ram_cap, 100 }, .used = { cpu_used, ram_used, 0 } };
	strcpy(c.uuid, "00000000-0000-0000-0000-000000000001");
	strcpy(c.name, "n1");
	return c;
}

static struct sched_host host(const char *name, const struct sched_meta *meta, int nmeta)
{
	return (struct sched_host){ .uuid = "u", .host = name, .node = name, .az = "nova", .usable = true,
				    .meta = meta, .nmeta = nmeta };
}

static void test_flavor_request(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	json_t *specs = json_pack("{s:s,s:s,s:s,s:s,s:s}", "resources:VCPU", "0", "resources:CUSTOM_GPU", "2",
				  "trait:HW_CPU_X86_AVX", "required", "trait:COMPUTE_STATUS_DISABLED", "forbidden",
				  "hw:cpu_policy", "dedicated");
	struct sched_request q;
	sched_flavor_request(a, 2, 512, 10, 5, 1025, specs, &q);
	assert_int_equal(q.nres, 4);
	assert_string_equal(q.res[0].rc, "VCPU");
	assert_int_equal(q.res[0].amount, 0);
	assert_int_equal(q.res[1].amount, 512);
	assert_int_equal(q.res[2].amount, 17);          /* 10 + 5 + ceil(1025 MB) = 2 GB */
	assert_string_equal(q.res[3].rc, "CUSTOM_GPU");
	assert_int_equal(q.res[3].amount, 2);
	assert_int_equal(q.nrequired, 1);
	assert_string_equal(q.required[0], "HW_CPU_X86_AVX");
	assert_int_equal(q.nforbidden, 1);
	json_decref(specs);
	arena_free(a);
}

static void test_in_csv(void **state)
{
	(void)state;
	assert_true(sched_in_csv("a, b ,c", "b"));
	assert_true(sched_in_csv("a", "a"));
	assert_false(sched_in_csv("ab,c", "a"));
	assert_false(sched_in_csv("", "a"));
}

static void test_compute_filter_and_destinations(void **state)
{
	(void)state;
	struct placement_candidate c = cand(8, 0, 1024, 0);
	struct sched_host h = host("h1", NULL, 0);
	struct sched_want w = { .project_id = "p" };
	double s;
	assert_true(sched_weigh(&h, &c, &w, &s));
	h.usable = false;
	assert_false(sched_weigh(&h, &c, &w, &s));
	h.usable = true;
	w.force_host = "h2";
	assert_false(sched_weigh(&h, &c, &w, &s));
	w.force_host = "h1";
	w.az = "elsewhere";                 /* a forced host ignores the zone */
	assert_true(sched_weigh(&h, &c, &w, &s));
	w.force_host = NULL;
	assert_false(sched_weigh(&h, &c, &w, &s));
	w.az = "nova";
	w.req_node = "other";
	assert_false(sched_weigh(&h, &c, &w, &s));
}

static void test_aggregates(void **state)
{
	(void)state;
	struct placement_candidate c = cand(8, 0, 1024, 0);
	struct sched_meta meta[] = {
		{ "h1", "filter_tenant_id", "p1,p2" },
		{ "h1", "ssd", "true" },
	};
	struct sched_host h = host("h1", meta, 2);
	double s;
	struct sched_want w = { .project_id = "p2" };
	assert_true(sched_weigh(&h, &c, &w, &s));
	w.project_id = "p3";
	assert_false(sched_weigh(&h, &c, &w, &s));
	w.project_id = "p1";
	w.specs = json_pack("{s:s}", "aggregate_instance_extra_specs:ssd", "true");
	assert_true(sched_weigh(&h, &c, &w, &s));
	json_decref(w.specs);
	w.specs = json_pack("{s:s}", "ssd", "<in> false");
	assert_false(sched_weigh(&h, &c, &w, &s));
	json_decref(w.specs);
	w.specs = json_pack("{s:s}", "hw:cpu_policy", "dedicated");   /* scoped: not this filter's */
	assert_true(sched_weigh(&h, &c, &w, &s));
	json_decref(w.specs);
}

static void test_groups_and_hints(void **state)
{
	(void)state;
	struct placement_candidate c = cand(8, 0, 1024, 0);
	struct sched_host h1 = host("h1", NULL, 0), h2 = host("h2", NULL, 0);
	const char *members[] = { "h1", "h1" };
	double s1, s2;
	struct sched_want w = { .project_id = "p", .group_policy = "anti-affinity", .group_hosts = members, .ngroup = 2 };
	assert_false(sched_weigh(&h1, &c, &w, &s1));
	assert_true(sched_weigh(&h2, &c, &w, &s2));
	w.max_per_host = 3;
	assert_true(sched_weigh(&h1, &c, &w, &s1));
	w.group_policy = "affinity";
	assert_true(sched_weigh(&h1, &c, &w, &s1));
	assert_false(sched_weigh(&h2, &c, &w, &s2));
	w.group_policy = "soft-anti-affinity";
	assert_true(sched_weigh(&h1, &c, &w, &s1) && sched_weigh(&h2, &c, &w, &s2));
	assert_true(s2 > s1);
	w.group_policy = "soft-affinity";
	assert_true(sched_weigh(&h1, &c, &w, &s1) && sched_weigh(&h2, &c, &w, &s2));
	assert_true(s1 > s2);
	struct sched_want hint = { .project_id = "p", .diff_hosts = members, .ndiff = 1 };
	assert_false(sched_weigh(&h1, &c, &hint, &s1));
	assert_true(sched_weigh(&h2, &c, &hint, &s2));
	struct sched_want same = { .project_id = "p", .same_hosts = members, .nsame = 1 };
	assert_true(sched_weigh(&h1, &c, &same, &s1));
	assert_false(sched_weigh(&h2, &c, &same, &s2));
}

static void test_spread_and_pack(void **state)
{
	(void)state;
	struct sched_host h = host("h1", NULL, 0);
	struct placement_candidate empty = cand(8, 0, 4096, 0), busy = cand(8, 4, 4096, 2048);
	struct sched_want w = { .project_id = "p" };
	double se, sb;
	assert_true(sched_weigh(&h, &empty, &w, &se) && sched_weigh(&h, &busy, &w, &sb));
	assert_true(se > sb);
	w.pack = true;
	assert_true(sched_weigh(&h, &empty, &w, &se) && sched_weigh(&h, &busy, &w, &sb));
	assert_true(sb > se);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flavor_request),
		cmocka_unit_test(test_in_csv),
		cmocka_unit_test(test_compute_filter_and_destinations),
		cmocka_unit_test(test_aggregates),
		cmocka_unit_test(test_groups_and_hints),
		cmocka_unit_test(test_spread_and_pack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
