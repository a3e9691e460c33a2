/* test_db.c — unit tests for src/core/db*.c on both engines: SQLite in a temporary directory
 * always, PostgreSQL when MONOSTACK_TEST_DB names a server (each test then works in a schema
 * of its own, dropped afterwards; without it those tests are skipped). */
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
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "core/util.h"

#include "../dbfx.h"

static int setup(void **state)
{
	return dbfx_setup(state, "test_db", "db", 4, NULL);
}

static int teardown(void **state)
{
	return dbfx_teardown(state);
}

static void must_script(struct db_conn *c, const char *sql)
{
	if (db_exec_script(c, sql) < 0)
		fail_msg("script failed: %s: %s", sql, db_errmsg(c));
}

static int64_t count(struct db_conn *c, const char *sql)
{
	struct db_rows *rows;
	if (db_query(c, &rows, sql) < 0)
		fail_msg("%s: %s", sql, db_errmsg(c));
	assert_int_equal(db_rows_count(rows), 1);
	int64_t n = db_int(rows, 0, 0);
	db_rows_free(rows);
	return n;
}

static const char ITEM_DDL[] =
	"CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE, note TEXT,"
	" n BIGINT, flag INTEGER NOT NULL DEFAULT 0)";

static void test_open_errors(void **state)
{
	struct fx *f = fx(state);
	struct db *db = NULL;
	char err[512] = "", url[256];
	assert_int_equal(db_open("mysql://localhost/x", 2, &db, err, sizeof err), -1);
	assert_non_null(strstr(err, "unsupported"));
	assert_null(db);
	err[0] = 0;
	snprintf(url, sizeof url, "sqlite://%s/no/such/dir/x.db", f->dir);
	assert_int_equal(db_open(url, 2, &db, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot open"));
	err[0] = 0;
	assert_int_equal(db_open("postgresql://postgres@127.0.0.1:1/none?connect_timeout=5", 2, &db,
				 err, sizeof err), -1);
	assert_non_null(strstr(err, "PostgreSQL"));
	assert_null(db);
	db_close(NULL);
	db_put(NULL);
	db_rows_free(NULL);

	/* "sqlite://rel/path" is relative to the working directory. */
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(f->dir), 0);
	int rc = db_open("sqlite://rel.db", 1, &db, err, sizeof err);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(db_engine_of(db), DB_SQLITE);
	db_close(db);
	snprintf(url, sizeof url, "%s/rel.db", f->dir);
	assert_int_equal(access(url, F_OK), 0);
}

static void test_crud(void **state)
{
	struct fx *f = fx(state);
	assert_int_equal(db_engine_of(f->db), f->kind == SQLITE ? DB_SQLITE : DB_POSTGRES);
	struct db_conn *c = db_get(f->db);
	assert_true(db_exec(c, ITEM_DDL) >= 0);
	assert_int_equal(db_exec(c, "INSERT INTO item (id, name, note, n, flag) VALUES (?, ?, ?, ?, ?)",
				 DB_INT(1), DB_TEXT("one"), DB_TEXT("first"), DB_INT(INT64_MAX), DB_BOOL(true)), 1);
	assert_int_equal(db_exec(c, "INSERT INTO item (id, name, note, n, flag) VALUES (?, ?, ?, ?, ?)",
				 DB_INT(2), DB_TEXT("two"), DB_TEXT("it's a \"quote\" and a ? mark"),
				 DB_INT(INT64_MIN), DB_BOOL(false)), 1);
	assert_int_equal(db_exec(c, "INSERT INTO item (id, name, n) VALUES (?, ?, ?)",
				 DB_INT(3), DB_TEXT("Ünïcødé ✓"), DB_INT(-42)), 1);

	struct db_rows *rows;
	assert_int_equal(db_query(c, &rows, "SELECT id, name, note, n, flag FROM item ORDER BY id"), 0);
	assert_int_equal(db_rows_count(rows), 3);
	assert_int_equal(db_rows_cols(rows), 5);
	assert_int_equal(db_int(rows, 0, 0), 1);
	assert_string_equal(db_text(rows, 0, 1), "one");
	assert_string_equal(db_text(rows, 0, 2), "first");
	assert_true(db_int(rows, 0, 3) == INT64_MAX);
	assert_true(db_bool(rows, 0, 4));
	assert_string_equal(db_text(rows, 1, 2), "it's a \"quote\" and a ? mark");
	assert_true(db_int(rows, 1, 3) == INT64_MIN);
	assert_false(db_bool(rows, 1, 4));
	assert_string_equal(db_text(rows, 2, 1), "Ünïcødé ✓");
	assert_int_equal(db_int(rows, 2, 3), -42);
	assert_false(db_bool(rows, 2, 4));          /* the column default */
	/* Outside the result: NULL, never a crash. */
	assert_null(db_text(rows, 3, 0));
	assert_null(db_text(rows, -1, 0));
	assert_null(db_text(rows, 0, 5));
	db_rows_free(rows);

	/* Parameters in WHERE; a '?' inside a literal is not a placeholder. */
	assert_int_equal(db_query(c, &rows, "SELECT '?', name FROM item WHERE n < ? AND name <> ?",
				  DB_INT(0), DB_TEXT("x?")), 0);
	assert_int_equal(db_rows_count(rows), 2);
	assert_string_equal(db_text(rows, 0, 0), "?");
	db_rows_free(rows);

	/* Zero rows is a result, not an error. */
	assert_int_equal(db_query(c, &rows, "SELECT id, name FROM item WHERE id = ?", DB_INT(99)), 0);
	assert_int_equal(db_rows_count(rows), 0);
	assert_null(db_text(rows, 0, 0));
	db_rows_free(rows);

	/* Changed-row counts. */
	assert_int_equal(db_exec(c, "UPDATE item SET note = ? WHERE n < ?", DB_TEXT("neg"), DB_INT(0)), 2);
	assert_int_equal(db_exec(c, "UPDATE item SET note = ? WHERE id = ?", DB_TEXT("x"), DB_INT(99)), 0);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item WHERE note = 'neg'"), 2);
	assert_int_equal(db_exec(c, "DELETE FROM item WHERE id >= ?", DB_INT(2)), 2);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item"), 1);

	/* Booleans computed by the engine read the same on both ('1' or 't'). */
	assert_int_equal(db_query(c, &rows, "SELECT 1 = 1, 1 = 0"), 0);
	assert_true(db_bool(rows, 0, 0));
	assert_false(db_bool(rows, 0, 1));
	db_rows_free(rows);

	/* Long values survive intact. */
	char *big = malloc(100001);
	for (int i = 0; i < 100000; i++)
		big[i] = (char)('a' + i % 26);
	big[100000] = 0;
	assert_int_equal(db_exec(c, "UPDATE item SET note = ? WHERE id = 1", DB_TEXT(big)), 1);
	assert_int_equal(db_query(c, &rows, "SELECT note FROM item WHERE id = 1"), 0);
	assert_string_equal(db_text(rows, 0, 0), big);
	db_rows_free(rows);
	free(big);

	/* Bad SQL is an internal error with a message, and the connection stays usable. */
	assert_int_equal(db_exec(c, "INSERT INTO nowhere VALUES (1)"), ERR_INTERNAL);
	assert_true(strlen(db_errmsg(c)) > 0);
	rows = (struct db_rows *)0x1;
	assert_int_equal(db_query(c, &rows, "SELEKT 1"), ERR_INTERNAL);
	assert_ptr_equal(rows, (struct db_rows *)0x1);   /* output set only on success */
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item"), 1);
	db_put(c);
}

static void test_nulls(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	assert_true(db_exec(c, ITEM_DDL) >= 0);
	assert_int_equal(db_exec(c, "INSERT INTO item (id, name, note, n) VALUES (?, ?, ?, ?)",
				 DB_INT(1), DB_TEXT("a"), DB_TEXT(NULL), DB_NULL), 1);
	assert_int_equal(db_exec(c, "INSERT INTO item (id, name, note, n) VALUES (?, ?, ?, ?)",
				 DB_INT(2), DB_TEXT("b"), DB_TEXT(""), DB_INT(0)), 1);
	struct db_rows *rows;
	assert_int_equal(db_query(c, &rows, "SELECT note, n FROM item ORDER BY id"), 0);
	assert_true(db_isnull(rows, 0, 0));
	assert_true(db_isnull(rows, 0, 1));
	assert_null(db_text(rows, 0, 0));
	assert_int_equal(db_int(rows, 0, 1), 0);
	assert_false(db_bool(rows, 0, 1));
	/* The empty string and zero are not NULL. */
	assert_false(db_isnull(rows, 1, 0));
	assert_string_equal(db_text(rows, 1, 0), "");
	assert_false(db_isnull(rows, 1, 1));
	assert_string_equal(db_text(rows, 1, 1), "0");
	db_rows_free(rows);

	assert_int_equal(count(c, "SELECT COUNT(*) FROM item WHERE note IS NULL"), 1);
	/* NULL parameters compare as SQL NULL: nothing equals them. */
	assert_int_equal(db_query(c, &rows, "SELECT id FROM item WHERE note = ?", DB_TEXT(NULL)), 0);
	assert_int_equal(db_rows_count(rows), 0);
	db_rows_free(rows);
	assert_int_equal(db_query(c, &rows, "SELECT NULL, COALESCE(note, 'dflt') FROM item ORDER BY id"), 0);
	assert_true(db_isnull(rows, 0, 0));
	assert_string_equal(db_text(rows, 0, 1), "dflt");
	db_rows_free(rows);
	/* Setting back to NULL. */
	assert_int_equal(db_exec(c, "UPDATE item SET note = ? WHERE id = 2", DB_NULL), 1);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item WHERE note IS NULL"), 2);
	db_put(c);
}

/* Statements with many parameters (long IN lists, bulk inserts) bind on both engines. */
static void test_many_params(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	assert_true(db_exec(c, ITEM_DDL) >= 0);
	for (int i = 0; i < 300; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%d", i);
		assert_int_equal(db_exec(c, "INSERT INTO item (id, name) VALUES (?, ?)", DB_INT(i), DB_TEXT(name)), 1);
	}
	enum { N = 300 };
	static char sql[N * 4 + 64];
	struct db_arg args[N + 1];
	char *w = sql + sprintf(sql, "SELECT COUNT(*) FROM item WHERE id IN (");
	for (int i = 0; i < N; i++) {
		w += sprintf(w, i ? ",?" : "?");
		args[i] = DB_INT(i * 2);          /* even ids: 150 of them exist */
	}
	sprintf(w, ")");
	args[N] = DB_END_;
	struct db_rows *rows;
	assert_int_equal(db_query_a(c, &rows, sql, args), 0);
	assert_int_equal(db_int(rows, 0, 0), 150);
	db_rows_free(rows);
	db_put(c);
}

static void test_unique_violation(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	assert_true(db_exec(c, ITEM_DDL) >= 0);
	const char *ins = "INSERT INTO item (id, name) VALUES (?, ?)";
	assert_int_equal(db_exec(c, ins, DB_INT(1), DB_TEXT("same")), 1);
	assert_int_equal(db_exec(c, ins, DB_INT(2), DB_TEXT("same")), ERR_CONFLICT);
	assert_true(strlen(db_errmsg(c)) > 0);
	assert_int_equal(db_exec(c, ins, DB_INT(1), DB_TEXT("other")), ERR_CONFLICT);   /* primary key */
	/* The same (cached) statement works again afterwards. */
	assert_int_equal(db_exec(c, ins, DB_INT(3), DB_TEXT("third")), 1);
	/* A multi-column UNIQUE. */
	must_script(c, "CREATE TABLE pair (a TEXT NOT NULL, b TEXT NOT NULL, UNIQUE (a, b))");
	assert_int_equal(db_exec(c, "INSERT INTO pair VALUES (?, ?)", DB_TEXT("x"), DB_TEXT("1")), 1);
	assert_int_equal(db_exec(c, "INSERT INTO pair VALUES (?, ?)", DB_TEXT("x"), DB_TEXT("2")), 1);
	assert_int_equal(db_exec(c, "INSERT INTO pair VALUES (?, ?)", DB_TEXT("x"), DB_TEXT("1")), ERR_CONFLICT);
	/* Other constraint failures are bad requests. */
	assert_int_equal(db_exec(c, ins, DB_INT(4), DB_NULL), ERR_BADREQ);
	must_script(c, "CREATE TABLE chk (v INTEGER CHECK (v > 0))");
	assert_int_equal(db_exec(c, "INSERT INTO chk VALUES (?)", DB_INT(0)), ERR_BADREQ);
	/* An UPDATE into a duplicate conflicts too. */
	assert_int_equal(db_exec(c, "UPDATE item SET name = ? WHERE id = 3", DB_TEXT("same")), ERR_CONFLICT);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item"), 2);
	db_put(c);
}

static void test_foreign_key_violation(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	must_script(c, "CREATE TABLE parent (id VARCHAR(64) PRIMARY KEY);"
		    "CREATE TABLE child (id INTEGER PRIMARY KEY,"
		    " parent_id VARCHAR(64) NOT NULL REFERENCES parent(id));"
		    "CREATE TABLE owned (id INTEGER PRIMARY KEY,"
		    " parent_id VARCHAR(64) NOT NULL REFERENCES parent(id) ON DELETE CASCADE)");
	assert_int_equal(db_exec(c, "INSERT INTO child VALUES (?, ?)", DB_INT(1), DB_TEXT("nobody")),
			 ERR_CONFLICT);
	assert_int_equal(db_exec(c, "INSERT INTO parent VALUES (?)", DB_TEXT("p1")), 1);
	assert_int_equal(db_exec(c, "INSERT INTO child VALUES (?, ?)", DB_INT(1), DB_TEXT("p1")), 1);
	/* Deleting a referenced row is refused... */
	assert_int_equal(db_exec(c, "DELETE FROM parent WHERE id = ?", DB_TEXT("p1")), ERR_CONFLICT);
	assert_int_equal(db_exec(c, "UPDATE child SET parent_id = ? WHERE id = 1", DB_TEXT("p2")), ERR_CONFLICT);
	/* ...unless the reference cascades. */
	assert_int_equal(db_exec(c, "INSERT INTO parent VALUES (?)", DB_TEXT("p2")), 1);
	assert_int_equal(db_exec(c, "INSERT INTO owned VALUES (1, 'p2'), (2, 'p2')"), 2);
	assert_int_equal(db_exec(c, "DELETE FROM parent WHERE id = ?", DB_TEXT("p2")), 1);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM owned"), 0);
	db_put(c);

	/* Every pooled connection enforces foreign keys, not just the first. */
	struct db_conn *cs[4];
	for (int i = 0; i < 4; i++)
		cs[i] = db_get(f->db);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(db_exec(cs[i], "INSERT INTO child VALUES (?, ?)", DB_INT(10 + i),
					 DB_TEXT("ghost")), ERR_CONFLICT);
		if (f->kind == SQLITE)
			assert_int_equal(count(cs[i], "PRAGMA foreign_keys"), 1);
	}
	for (int i = 0; i < 4; i++)
		db_put(cs[i]);
}

static void test_transactions(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	assert_true(db_exec(c, ITEM_DDL) >= 0);
	const char *ins = "INSERT INTO item (id, name) VALUES (?, ?)";

	/* Rollback discards. */
	assert_false(db_in_tx(c));
	assert_int_equal(db_begin(c), 0);
	assert_true(db_in_tx(c));
	assert_int_equal(db_begin(c), ERR_INTERNAL);      /* no nesting */
	assert_true(db_in_tx(c));
	assert_int_equal(db_exec(c, ins, DB_INT(1), DB_TEXT("gone")), 1);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item"), 1);   /* visible to itself */
	db_rollback(c);
	assert_false(db_in_tx(c));
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item"), 0);
	db_rollback(c);                                    /* harmless outside a transaction */
	db_rollback(NULL);

	/* Commit keeps; others see the rows only after it. */
	struct db_conn *other = db_get(f->db);
	assert_ptr_not_equal(other, c);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_exec(c, ins, DB_INT(2), DB_TEXT("kept")), 1);
	assert_int_equal(db_exec(c, ins, DB_INT(3), DB_TEXT("kept too")), 1);
	assert_int_equal(count(other, "SELECT COUNT(*) FROM item"), 0);
	assert_int_equal(db_commit(c), 0);
	assert_false(db_in_tx(c));
	assert_int_equal(count(other, "SELECT COUNT(*) FROM item"), 2);

	/* A connection returned with a transaction open is rolled back. */
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_exec(c, ins, DB_INT(4), DB_TEXT("abandoned")), 1);
	db_put(c);
	assert_int_equal(count(other, "SELECT COUNT(*) FROM item"), 2);
	c = db_get(f->db);
	assert_false(db_in_tx(c));
	/* ...and its writer slot is free again: a new transaction can start at once. */
	assert_int_equal(db_begin(other), 0);
	assert_int_equal(db_exec(other, ins, DB_INT(4), DB_TEXT("fresh")), 1);
	assert_int_equal(db_commit(other), 0);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item"), 3);

	/* A failed statement inside a transaction, then rollback: nothing of it stays. */
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_exec(c, ins, DB_INT(5), DB_TEXT("five")), 1);
	assert_int_equal(db_exec(c, ins, DB_INT(6), DB_TEXT("fresh")), ERR_CONFLICT);
	db_rollback(c);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM item"), 3);
	/* DDL is transactional on both engines. */
	assert_int_equal(db_begin(c), 0);
	must_script(c, "CREATE TABLE temp_t (x INTEGER)");
	db_rollback(c);
	assert_int_equal(db_exec(c, "INSERT INTO temp_t VALUES (1)"), ERR_INTERNAL);
	db_put(other);
	db_put(c);
}

struct writer_ctx {
	struct db *db;
	int thread;
	atomic_int *failures;
	char *first_error;            /* the first failure's message (set once) */
	pthread_mutex_t *lock;
};

enum { WRITERS = 8, ROUNDS = 60 };

static void record_failure(struct writer_ctx *w, const char *what, struct db_conn *c, int rc)
{
	atomic_fetch_add(w->failures, 1);
	pthread_mutex_lock(w->lock);
	if (!*w->first_error)
		snprintf(w->first_error, 512, "thread %d: %s: %d %s", w->thread, what, rc,
			 c ? db_errmsg(c) : "");
	pthread_mutex_unlock(w->lock);
}

static void *writer(void *arg)
{
	struct writer_ctx *w = arg;
	for (int i = 0; i < ROUNDS; i++) {
		struct db_conn *c = db_get(w->db);
		int rc;
		if (i % 3 == 2) {
			/* A bare write (autocommit). */
			rc = db_exec(c, "INSERT INTO hits (thread, seq) VALUES (?, ?)", DB_INT(w->thread), DB_INT(i));
			if (rc != 1)
				record_failure(w, "insert", c, rc);
		} else {
			/* A read-modify-write transaction. */
			if ((rc = db_begin(c)) < 0) {
				record_failure(w, "begin", c, rc);
				db_put(c);
				continue;
			}
			struct db_rows *rows = NULL;
			rc = db_query(c, &rows, "SELECT total FROM counter WHERE id = 1");
			int64_t total = rc == 0 && db_rows_count(rows) == 1 ? db_int(rows, 0, 0) : -1;
			db_rows_free(rows);
			if (total < 0)
				record_failure(w, "read", c, rc);
			else if ((rc = db_exec(c, "UPDATE counter SET total = ? WHERE id = 1", DB_INT(total + 1))) != 1)
				record_failure(w, "update", c, rc);
			else if ((rc = db_exec(c, "INSERT INTO hits (thread, seq) VALUES (?, ?)",
					       DB_INT(w->thread), DB_INT(i))) != 1)
				record_failure(w, "insert in tx", c, rc);
			else if ((rc = db_commit(c)) != 0)
				record_failure(w, "commit", c, rc);
		}
		/* And a reader alongside. */
		struct db_rows *rows = NULL;
		if ((rc = db_query(c, &rows, "SELECT COUNT(*) FROM hits WHERE thread = ?", DB_INT(w->thread))) < 0)
			record_failure(w, "count", c, rc);
		db_rows_free(rows);
		db_put(c);
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	must_script(c, "CREATE TABLE hits (thread INTEGER NOT NULL, seq INTEGER NOT NULL,"
		    " PRIMARY KEY (thread, seq));"
		    "CREATE TABLE counter (id INTEGER PRIMARY KEY, total BIGINT NOT NULL);"
		    "INSERT INTO counter VALUES (1, 0)");
	db_put(c);

	atomic_int failures = 0;
	char first_error[512] = "";
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_t th[WRITERS];
	struct writer_ctx ctx[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		ctx[i] = (struct writer_ctx){ f->db, i, &failures, first_error, &lock };
		assert_int_equal(pthread_create(&th[i], NULL, writer, &ctx[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&failures))
		fail_msg("%d failures; first: %s", atomic_load(&failures), first_error);

	c = db_get(f->db);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM hits"), WRITERS * ROUNDS);
	assert_int_equal(count(c, "SELECT COUNT(DISTINCT thread) FROM hits"), WRITERS);
	int tx_rounds = ROUNDS - ROUNDS / 3;
	if (f->kind == SQLITE) {
		/* Serialised writers: no increment of the read-modify-write counter is lost. */
		assert_int_equal(count(c, "SELECT total FROM counter"), WRITERS * tx_rounds);
	} else {
		/* READ COMMITTED may lose increments, but never gains any. */
		int64_t total = count(c, "SELECT total FROM counter");
		assert_true(total >= 1 && total <= WRITERS * tx_rounds);
	}
	db_put(c);
}

struct waiter {
	struct db *db;
	atomic_int got;
};

static void *wait_for_conn(void *arg)
{
	struct waiter *w = arg;
	struct db_conn *c = db_get(w->db);
	atomic_store(&w->got, 1);
	db_put(c);
	return NULL;
}

/* A slot holds one connection for its arena's life, or until db_slot_put(); an open
 * transaction is rolled back on the way back. */
static void test_slot(void **state)
{
	struct fx *f = fx(state);
	struct db *db;
	char err[512];
	assert_int_equal(db_open(f->url, 1, &db, err, sizeof err), 0);
	struct arena *a = arena_new();
	struct db_conn **slot = arena_alloc(a, sizeof *slot);
	struct db_conn *c = db_slot_get(db, slot, a);
	assert_non_null(c);
	assert_ptr_equal(db_slot_get(db, slot, a), c);   /* the same one while held */
	assert_int_equal(db_begin(c), 0);
	db_slot_put(slot);
	assert_null(*slot);
	db_slot_put(slot);                                 /* an empty slot is fine */
	c = db_slot_get(db, slot, a);                      /* the pool's only connection came back */
	assert_false(db_in_tx(c));
	arena_free(a);                                     /* returns it again */
	struct db_conn *again = db_get(db);
	assert_ptr_equal(again, c);
	db_put(again);
	db_close(db);
}

static void test_pool_waits(void **state)
{
	struct fx *f = fx(state);
	struct db *db;
	char err[512];
	assert_int_equal(db_open(f->url, 1, &db, err, sizeof err), 0);
	struct db_conn *c = db_get(db);
	struct waiter w = { db, 0 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, wait_for_conn, &w), 0);
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_int_equal(atomic_load(&w.got), 0);        /* the only connection is out */
	db_put(c);
	pthread_join(th, NULL);
	assert_int_equal(atomic_load(&w.got), 1);
	/* The same (single) connection comes back. */
	struct db_conn *again = db_get(db);
	assert_ptr_equal(again, c);
	db_put(again);
	db_close(db);
}

static void test_script_and_statement_cache(void **state)
{
	struct fx *f = fx(state);
	struct db_conn *c = db_get(f->db);
	assert_int_equal(db_exec_script(c, "CREATE TABLE s (x INTEGER);"
					"INSERT INTO s VALUES (1);"
					"INSERT INTO s VALUES (2);"), 0);
	assert_int_equal(count(c, "SELECT SUM(x) FROM s"), 3);
	assert_true(db_exec_script(c, "NOT SQL AT ALL; INSERT INTO s VALUES (3)") < 0);
	assert_true(strlen(db_errmsg(c)) > 0);

	/* More distinct statements than the cache has slots, each run twice with other values. */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 300; i++) {
			char sql[64];
			snprintf(sql, sizeof sql, "SELECT ? + %d", i);
			struct db_rows *rows;
			assert_int_equal(db_query(c, &rows, sql, DB_INT(round * 1000)), 0);
			assert_int_equal(db_int(rows, 0, 0), round * 1000 + i);
			db_rows_free(rows);
		}
	/* One statement, many bindings; a NULL binding does not leak into the next run. */
	for (int i = 0; i < 200; i++) {
		struct db_rows *rows;
		assert_int_equal(db_query(c, &rows, "SELECT ?, ?", DB_INT(i),
					  i % 2 ? DB_TEXT("odd") : DB_NULL), 0);
		assert_int_equal(db_int(rows, 0, 0), i);
		if (i % 2)
			assert_string_equal(db_text(rows, 0, 1), "odd");
		else
			assert_true(db_isnull(rows, 0, 1));
		db_rows_free(rows);
	}
	/* Many rows. */
	assert_int_equal(db_begin(c), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(db_exec(c, "INSERT INTO s VALUES (?)", DB_INT(i)), 1);
	assert_int_equal(db_commit(c), 0);
	struct db_rows *rows;
	assert_int_equal(db_query(c, &rows, "SELECT x FROM s ORDER BY x"), 0);
	assert_int_equal(db_rows_count(rows), 1002);
	assert_int_equal(db_int(rows, 1001, 0), 999);
	db_rows_free(rows);
	db_put(c);
}

static const struct db_migration migs[] = {
	{ 1, "CREATE TABLE m_a (id INTEGER PRIMARY KEY, name TEXT NOT NULL)" },
	{ 2, "CREATE TABLE m_b (id INTEGER PRIMARY KEY);"
	     "INSERT INTO m_a (id, name) VALUES (1, 'seed')" },
	{ 3, "ALTER TABLE m_a ADD COLUMN extra TEXT" },
	{ 4, "CREATE TABLE m_c (x INTEGER); THIS IS NOT SQL" },
};

static void migrate_ok(struct db *db, const char *svc, const struct db_migration *m, int n)
{
	char err[512] = "";
	if (db_migrate(db, svc, m, n, err, sizeof err))
		fail_msg("db_migrate(%s, %d): %s", svc, n, err);
}

static void test_migrations(void **state)
{
	struct fx *f = fx(state);
	char err[512] = "";
	assert_int_equal(db_schema_version(f->db, "unit"), 0);
	/* Nothing known, nothing recorded: fine. */
	migrate_ok(f->db, "unit", migs, 0);

	migrate_ok(f->db, "unit", migs, 2);
	assert_int_equal(db_schema_version(f->db, "unit"), 2);
	struct db_conn *c = db_get(f->db);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM m_a"), 1);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM m_b"), 0);
	db_put(c);

	/* A newer binary applies only what is missing. */
	migrate_ok(f->db, "unit", migs, 3);
	assert_int_equal(db_schema_version(f->db, "unit"), 3);
	/* Re-applying is a no-op (the seed row of version 2 is not inserted again). */
	migrate_ok(f->db, "unit", migs, 3);
	assert_int_equal(db_schema_version(f->db, "unit"), 3);
	c = db_get(f->db);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM m_a"), 1);
	assert_int_equal(count(c, "SELECT COUNT(extra) FROM m_a"), 0);   /* the new column exists */
	db_put(c);

	/* Each service has its own version. */
	static const struct db_migration other[] = { { 1, "CREATE TABLE o_a (x INTEGER)" } };
	assert_int_equal(db_schema_version(f->db, "other"), 0);
	migrate_ok(f->db, "other", other, 1);
	assert_int_equal(db_schema_version(f->db, "other"), 1);
	assert_int_equal(db_schema_version(f->db, "unit"), 3);

	/* A database newer than the binary is refused, clearly, and left alone. */
	assert_int_equal(db_migrate(f->db, "unit", migs, 2, err, sizeof err), -1);
	assert_non_null(strstr(err, "newer"));
	assert_non_null(strstr(err, "unit"));
	assert_non_null(strstr(err, "version 3"));
	assert_non_null(strstr(err, "(2)"));
	err[0] = 0;
	assert_int_equal(db_migrate(f->db, "unit", migs, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(db_schema_version(f->db, "unit"), 3);

	/* A failing step is rolled back whole and the version stays. */
	err[0] = 0;
	assert_int_equal(db_migrate(f->db, "unit", migs, 4, err, sizeof err), -1);
	assert_non_null(strstr(err, "unit schema migration failed"));
	assert_int_equal(db_schema_version(f->db, "unit"), 3);
	c = db_get(f->db);
	assert_false(db_in_tx(c));
	assert_int_equal(db_exec(c, "INSERT INTO m_c VALUES (1)"), ERR_INTERNAL);
	db_put(c);
	/* The earlier steps still stand and the pool still works for writes. */
	migrate_ok(f->db, "unit", migs, 3);
}

static void test_migrations_from_many_threads(void **state);

#define BOTH(t) \
	{ "sqlite:" #t, t, setup, teardown, (void *)&on_sqlite }, \
	{ "postgresql:" #t, t, setup, teardown, (void *)&on_postgres }

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "sqlite:test_open_errors", test_open_errors, setup, teardown, (void *)&on_sqlite },
		BOTH(test_crud),
		BOTH(test_nulls),
		BOTH(test_many_params),
		BOTH(test_slot),
		BOTH(test_unique_violation),
		BOTH(test_foreign_key_violation),
		BOTH(test_transactions),
		BOTH(test_concurrent_writers),
		BOTH(test_pool_waits),
		BOTH(test_script_and_statement_cache),
		BOTH(test_migrations),
		{ "sqlite:test_migrations_from_many_threads", test_migrations_from_many_threads, setup,
		  teardown, (void *)&on_sqlite },
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

struct migrator {
	struct db *db;
	int rc;
	char err[512];
};

static void *run_migrate(void *arg)
{
	struct migrator *m = arg;
	m->rc = db_migrate(m->db, "unit", migs, 3, m->err, sizeof m->err);
	return NULL;
}

/* Several threads of one process migrating at once (SQLite serialises them): all succeed,
 * each step applied once. */
static void test_migrations_from_many_threads(void **state)
{
	struct fx *f = fx(state);
	struct migrator m[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		m[i] = (struct migrator){ .db = f->db };
		assert_int_equal(pthread_create(&th[i], NULL, run_migrate, &m[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		if (m[i].rc)
			fail_msg("migrator %d: %s", i, m[i].err);
	assert_int_equal(db_schema_version(f->db, "unit"), 3);
	struct db_conn *c = db_get(f->db);
	assert_int_equal(count(c, "SELECT COUNT(*) FROM m_a"), 1);
	db_put(c);
}
