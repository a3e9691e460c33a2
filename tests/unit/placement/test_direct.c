/* test_direct.c — the in-process placement calls (src/placement/direct.c) on both engines:
 * providers with inventories and traits made idempotently, candidates filtered by capacity,
 * traits, aggregates and tree, claims that never overcommit (also from racing threads), claims
 * inside a caller's transaction, release and removal. SQLite always; PostgreSQL when
 * MONOSTACK_TEST_DB names a server (each test in a schema of its own). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/db.h"
#include "core/err.h"
#include "core/util.h"
#include "placement/placement.h"

#include "../dbfx.h"

static int setup(void **state)
{
	return dbfx_setup(state, "test_direct", "plc", 12, placement_migrate);
}

static int teardown(void **state)
{
	return dbfx_teardown(state);
}

#define RP1 "11111111-1111-4111-8111-111111111111"
#define RP2 "22222222-2222-4222-8222-222222222222"
#define AGG "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

static int64_t generation(struct db_conn *c, const char *uuid)
{
	struct db_rows *rows;
	assert_int_equal(db_query(c, &rows, "SELECT generation FROM plc_providers WHERE uuid = ?",
				  DB_TEXT(uuid)), 0);
	assert_int_equal(db_rows_count(rows), 1);
	int64_t g = db_int(rows, 0, 0);
	db_rows_free(rows);
	return g;
}

static void make_host(struct db_conn *c, const char *uuid, const char *name, int64_t vcpus,
		      const char *const *traits, int ntraits)
{
	struct placement_inv inv[3] = {
		{ "VCPU", vcpus, 0, 1, vcpus, 1, 1.0 },
		{ "MEMORY_MB", 4096, 512, 1, 4096, 1, 1.5 },
		{ "DISK_GB", 100, 0, 1, 100, 1, 1.0 },
	};
	char err[256];
	int rc = placement_provider_ensure(c, uuid, name, inv, 3, traits, ntraits, err, sizeof err);
	if (rc)
		fail_msg("ensure %s: %d %s", name, rc, err);
}

static void test_ensure(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	static const char *const traits[] = { "COMPUTE_NODE", "CUSTOM_FAST" };
	make_host(c, RP1, "host1", 4, traits, 2);
	int64_t g = generation(c, RP1);
	make_host(c, RP1, "host1", 4, traits, 2);           /* nothing changed: same generation */
	assert_int_equal(generation(c, RP1), g);
	make_host(c, RP1, "host1", 8, traits, 1);           /* more VCPU: bumped */
	assert_true(generation(c, RP1) > g);
	char err[256];
	static const char *const bad[] = { "HW_NOT_A_TRAIT" };
	struct placement_inv inv = { "VCPU", 1, 0, 1, 1, 1, 1.0 };
	assert_int_equal(placement_provider_ensure(c, RP2, "host2", &inv, 1, bad, 1, err, sizeof err),
			 ERR_BADREQ);
	assert_int_equal(placement_provider_ensure(c, RP2, "host1", &inv, 1, NULL, 0, err, sizeof err),
			 ERR_CONFLICT);      /* the name is taken */
	struct placement_inv unknown = { "CUSTOM_NOPE", 1, 0, 1, 1, 1, 1.0 };
	assert_int_equal(placement_provider_ensure(c, RP2, "host2", &unknown, 1, NULL, 0, err, sizeof err),
			 ERR_BADREQ);
	db_put(c);
}

static int count_candidates(struct db_conn *c, const struct placement_query *q, struct placement_candidate *first)
{
	struct placement_candidate *out;
	int n;
	assert_int_equal(placement_candidates(c, q, &out, &n), 0);
	if (n && first)
		*first = out[0];
	free(out);
	return n;
}

static void test_candidates_and_claims(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	static const char *const t1[] = { "COMPUTE_NODE", "HW_CPU_X86_AVX2" }, *const t2[] = { "COMPUTE_NODE" };
	make_host(c, RP1, "host1", 4, t1, 2);
	make_host(c, RP2, "host2", 2, t2, 1);
	char err[256];
	static const char *const aggs[] = { AGG };
	assert_int_equal(placement_provider_set_aggregates(c, RP2, aggs, 1, err, sizeof err), 0);

	struct placement_res res[3] = { { "VCPU", 2 }, { "MEMORY_MB", 1024 }, { "DISK_GB", 10 } };
	struct placement_query q = { .res = res, .nres = 3 };
	struct placement_candidate cand;
	assert_int_equal(count_candidates(c, &q, &cand), 2);
	assert_string_equal(cand.uuid, RP1);
	assert_string_equal(cand.name, "host1");
	assert_int_equal(cand.capacity[0], 4);
	assert_int_equal(cand.capacity[1], (4096 - 512) * 3 / 2);
	assert_int_equal(cand.used[0], 0);
	static const char *const avx[] = { "HW_CPU_X86_AVX2" };
	q.required = avx;
	q.nrequired = 1;
	assert_int_equal(count_candidates(c, &q, NULL), 1);
	q.required = NULL;
	q.nrequired = 0;
	q.forbidden = avx;
	q.nforbidden = 1;
	assert_int_equal(count_candidates(c, &q, &cand), 1);
	assert_string_equal(cand.uuid, RP2);
	q.forbidden = NULL;
	q.nforbidden = 0;
	q.member_of = aggs;
	q.nmember_of = 1;
	assert_int_equal(count_candidates(c, &q, &cand), 1);
	assert_string_equal(cand.uuid, RP2);
	q.member_of = NULL;
	q.nmember_of = 0;
	static const char *const tree[] = { RP2 };
	q.in_tree = tree;
	q.nin_tree = 1;
	assert_int_equal(count_candidates(c, &q, NULL), 1);
	q.in_tree = NULL;
	q.nin_tree = 0;
	q.limit = 1;
	assert_int_equal(count_candidates(c, &q, NULL), 1);
	q.limit = 0;

	/* claims: host2 has 2 VCPUs */
	char c1[37], c2[37];
	uuid_dashed(c1);
	uuid_dashed(c2);
	assert_int_equal(placement_claim(c, c1, "proj", "user", RP2, res, 3, err, sizeof err), 0);
	assert_int_equal(placement_claim(c, c2, "proj", "user", RP2, res, 3, err, sizeof err), ERR_CONFLICT);
	assert_non_null(strstr(err, "exceed the capacity"));
	assert_int_equal(count_candidates(c, &q, &cand), 1);        /* only host1 has room now */
	assert_string_equal(cand.uuid, RP1);
	/* a claim replaces the consumer's allocations: moving c1 to host1 frees host2 */
	assert_int_equal(placement_claim(c, c1, "proj", "user", RP1, res, 3, err, sizeof err), 0);
	assert_int_equal(count_candidates(c, &q, NULL), 2);
	struct placement_res too_big = { "VCPU", 5 };   /* above max_unit */
	assert_int_equal(placement_claim(c, c2, "proj", "user", RP1, &too_big, 1, err, sizeof err), ERR_CONFLICT);
	assert_int_equal(placement_provider_delete(c, RP1, err, sizeof err), ERR_CONFLICT);
	assert_int_equal(placement_release(c, c1), 0);
	assert_int_equal(placement_release(c, c1), 0);            /* absent: still fine */
	assert_int_equal(placement_provider_delete(c, RP1, err, sizeof err), 0);
	assert_int_equal(placement_provider_delete(c, RP1, err, sizeof err), 0);   /* already gone */
	assert_int_equal(count_candidates(c, &q, NULL), 1);
	db_put(c);
}

/* A failed claim inside the caller's transaction leaves it usable: the next candidate works. */
static void test_claim_in_transaction(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	make_host(c, RP1, "host1", 1, NULL, 0);
	make_host(c, RP2, "host2", 1, NULL, 0);
	char err[256], c1[37], c2[37];
	uuid_dashed(c1);
	uuid_dashed(c2);
	struct placement_res one = { "VCPU", 1 };
	assert_int_equal(placement_claim(c, c1, "p", "u", RP1, &one, 1, err, sizeof err), 0);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(placement_claim(c, c2, "p", "u", RP1, &one, 1, err, sizeof err), ERR_CONFLICT);
	assert_true(db_in_tx(c));
	assert_int_equal(placement_claim(c, c2, "p", "u", RP2, &one, 1, err, sizeof err), 0);
	assert_true(db_in_tx(c));
	assert_int_equal(db_commit(c), 0);
	struct db_rows *rows;
	assert_int_equal(db_query(c, &rows, "SELECT provider_uuid FROM plc_allocations WHERE consumer_uuid = ?",
				  DB_TEXT(c2)), 0);
	assert_int_equal(db_rows_count(rows), 1);
	assert_string_equal(db_text(rows, 0, 0), RP2);
	db_rows_free(rows);
	/* rolled back with the caller: nothing stays */
	char c3[37];
	uuid_dashed(c3);
	make_host(c, "33333333-3333-4333-8333-333333333333", "host3", 1, NULL, 0);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(placement_claim(c, c3, "p", "u", "33333333-3333-4333-8333-333333333333", &one, 1,
					 err, sizeof err), 0);
	db_rollback(c);
	assert_int_equal(db_query(c, &rows, "SELECT 1 FROM plc_allocations WHERE consumer_uuid = ?",
				  DB_TEXT(c3)), 0);
	assert_int_equal(db_rows_count(rows), 0);
	db_rows_free(rows);
	db_put(c);
}

struct racer {
	struct db *db;
	atomic_int *won;
};

static void *race(void *arg)
{
	struct racer *rc = arg;
	for (int i = 0; i < 5; i++) {
		struct db_conn *c = db_get(rc->db);
		char consumer[37], err[256];
		uuid_dashed(consumer);
		struct placement_res one = { "VCPU", 1 };
		if (placement_claim(c, consumer, "p", "u", RP1, &one, 1, err, sizeof err) == 0)
			atomic_fetch_add(rc->won, 1);
		db_put(c);
	}
	return NULL;
}

/* Eight threads claim 40 times one VCPU of a 10-VCPU host: exactly 10 claims win. */
static void test_no_overcommit_under_race(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	struct placement_inv inv = { "VCPU", 10, 0, 1, 10, 1, 1.0 };
	char err[256];
	assert_int_equal(placement_provider_ensure(c, RP1, "host1", &inv, 1, NULL, 0, err, sizeof err), 0);
	db_put(c);
	atomic_int won = 0;
	struct racer r = { f->db, &won };
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, race, &r);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&won), 10);
	c = db_get(f->db);
	struct db_rows *rows;
	assert_int_equal(db_query(c, &rows, "SELECT SUM(used) FROM plc_allocations"), 0);
	assert_int_equal(db_int(rows, 0, 0), 10);
	db_rows_free(rows);
	db_put(c);
}

#define BOTH(t) cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)&on_sqlite), \
		cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)&on_postgres)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_ensure),
		BOTH(test_candidates_and_claims),
		BOTH(test_claim_in_transaction),
		BOTH(test_no_overcommit_under_race),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
