/* dbfx.h — the database fixture the engine-level unit tests share (tests/unit/core/test_db.c,
 * tests/unit/placement/test_direct.c): each test gets a fresh database, SQLite in a temporary
 * directory always, PostgreSQL in a schema of its own (dropped afterwards) when MONOSTACK_TEST_DB
 * names a server, skipped otherwise. Header-only: static functions; include after cmocka.h. */
#ifndef TESTS_DBFX_H
#define TESTS_DBFX_H
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/db.h"
#include "core/util.h"

enum kind { SQLITE, POSTGRES };
static const enum kind on_sqlite = SQLITE, on_postgres = POSTGRES;   /* the tests' prestates */

struct fx {
	enum kind kind;
	bool skipped;                 /* PostgreSQL without MONOSTACK_TEST_DB */
	char dir[64];                 /* SQLite: the temporary directory */
	char schema[48];              /* PostgreSQL: the test's schema */
	char url[1024];
	struct db *db;
};

static inline int dbfx_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* Runs one statement on a throwaway connection to the server itself (schema admin); tag names
 * the test program in messages. */
static inline int dbfx_pg_admin(const char *tag, const char *base, const char *sql)
{
	struct db *db;
	char err[512];
	if (db_open(base, 1, &db, err, sizeof err)) {
		fprintf(stderr, "%s: %s\n", tag, err);
		return -1;
	}
	struct db_conn *c = db_get(db);
	int rc = db_exec_script(c, sql);
	if (rc < 0)
		fprintf(stderr, "%s: %s: %s\n", tag, sql, db_errmsg(c));
	db_put(c);
	db_close(db);
	return rc < 0 ? -1 : 0;
}

/* cmocka setup: *state holds &on_sqlite or &on_postgres and becomes the struct fx; the database
 * (a pool of pool connections) is opened under /tmp/monostack-test-NAME-XXXXXX and migrated with
 * migrate when not NULL. */
static inline int dbfx_setup(void **state, const char *tag, const char *name, unsigned pool,
			     int (*migrate)(struct db *, char *, size_t))
{
	struct fx *f = calloc(1, sizeof *f);
	f->kind = *(const enum kind *)*state;
	*state = f;
	if (f->kind == SQLITE) {
		snprintf(f->dir, sizeof f->dir, "/tmp/monostack-test-%s-XXXXXX", name);
		if (!mkdtemp(f->dir))
			return -1;
		snprintf(f->url, sizeof f->url, "sqlite://%s/test.db", f->dir);
	} else {
		const char *base = getenv("MONOSTACK_TEST_DB");
		if (!base || !*base) {
			f->skipped = true;
			return 0;
		}
		char hex[33], sql[128];
		uuid_hex(hex);
		snprintf(f->schema, sizeof f->schema, "unit_%.16s", hex);
		snprintf(sql, sizeof sql, "CREATE SCHEMA %s", f->schema);
		if (dbfx_pg_admin(tag, base, sql))
			return -1;
		snprintf(f->url, sizeof f->url, "%s%coptions=-c%%20search_path%%3D%s", base,
			 strchr(base, '?') ? '&' : '?', f->schema);
	}
	char err[512];
	if (db_open(f->url, pool, &f->db, err, sizeof err) || (migrate && migrate(f->db, err, sizeof err))) {
		fprintf(stderr, "%s: %s\n", tag, err);
		return -1;
	}
	return 0;
}

/* cmocka teardown: closes the database and removes its directory or drops its schema. */
static inline int dbfx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = 0;
	db_close(f->db);
	if (f->kind == SQLITE) {
		rc = nftw(f->dir, dbfx_rm_one, 8, FTW_DEPTH | FTW_PHYS);
	} else if (!f->skipped) {
		char sql[128];
		snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", f->schema);
		rc = dbfx_pg_admin("dbfx teardown", getenv("MONOSTACK_TEST_DB"), sql);
	}
	free(f);
	return rc;
}

/* The fixture of a test; skips the test when its engine is not available. */
static inline struct fx *fx(void **state)
{
	struct fx *f = *state;
	if (f->skipped)
		skip();
	return f;
}

#endif
