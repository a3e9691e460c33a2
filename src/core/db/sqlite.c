/* db/sqlite.c — the SQLite engine: WAL, foreign keys on, a busy timeout, and a per-connection
 * cache of prepared statements keyed by SQL text. */
#include "core/db/engine.h"
#include "core/arena.h"
#include "core/err.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_CACHE 128

struct sq {
	sqlite3 *db;
	struct { char *sql; sqlite3_stmt *st; } cache[STMT_CACHE];
	char err[256];
};

static void *sq_connect(const char *path, char *err, size_t errlen)
{
	struct sq *s = xcalloc(1, sizeof *s);
	int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open SQLite database %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		sqlite3_close(s->db);
		free(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 30000);
	char *emsg = NULL;
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
			 "PRAGMA synchronous=NORMAL;", NULL, NULL, &emsg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot configure SQLite database %s: %s", path, emsg ? emsg : "?");
		sqlite3_free(emsg);
		sqlite3_close(s->db);
		free(s);
		return NULL;
	}
	return s;
}

static void sq_disconnect(void *h)
{
	struct sq *s = h;
	for (int i = 0; i < STMT_CACHE; i++) {
		free(s->cache[i].sql);
		sqlite3_finalize(s->cache[i].st);
	}
	sqlite3_close(s->db);
	free(s);
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int map_err(struct sq *s, int rc)
{
	snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
	int ext = sqlite3_extended_errcode(s->db);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
		    ext == SQLITE_CONSTRAINT_FOREIGNKEY)
			return ERR_CONFLICT;
		return ERR_BADREQ;
	}
	return ERR_INTERNAL;
}

static sqlite3_stmt *prepare(struct sq *s, const char *sql, int *rcout)
{
	unsigned slot = hash(sql) % STMT_CACHE;
	if (s->cache[slot].sql && !strcmp(s->cache[slot].sql, sql)) {
		sqlite3_reset(s->cache[slot].st);
		sqlite3_clear_bindings(s->cache[slot].st);
		return s->cache[slot].st;
	}
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		*rcout = rc;
		return NULL;
	}
	free(s->cache[slot].sql);
	sqlite3_finalize(s->cache[slot].st);
	s->cache[slot].sql = xstrdup(sql);
	s->cache[slot].st = st;
	return st;
}

static int sq_run(void *h, const char *sql, const struct db_arg *args, struct db_rows **rows)
{
	struct sq *s = h;
	int rc = SQLITE_OK;
	sqlite3_stmt *st = prepare(s, sql, &rc);
	if (!st)
		return map_err(s, rc);
	for (int i = 0; args[i].type != DB_T_END; i++) {
		const struct db_arg *a = &args[i];
		if (a->type == DB_T_INT)
			sqlite3_bind_int64(st, i + 1, a->i);
		else if (a->type == DB_T_TEXT && a->s)
			sqlite3_bind_text(st, i + 1, a->s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, i + 1);
	}
	int ncols = sqlite3_column_count(st);
	if (rows)
		(*rows)->ncols = ncols;
	char *cells[64];
	if (ncols > 64) {
		sqlite3_reset(st);
		snprintf(s->err, sizeof s->err, "too many result columns");
		return ERR_INTERNAL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!rows)
			continue;
		for (int c = 0; c < ncols; c++) {
			const unsigned char *t = sqlite3_column_text(st, c);
			cells[c] = t ? xstrdup((const char *)t) : NULL;
		}
		db_rows_add(*rows, cells);
	}
	int changes = sqlite3_changes(s->db);
	if (rc != SQLITE_DONE) {
		int e = map_err(s, rc);
		sqlite3_reset(st);
		return e;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return sqlite3_stmt_readonly(st) ? 0 : changes;
}

static int sq_script(void *h, const char *sql)
{
	struct sq *s = h;
	char *emsg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &emsg);
	if (rc != SQLITE_OK) {
		snprintf(s->err, sizeof s->err, "%s", emsg ? emsg : sqlite3_errstr(rc));
		sqlite3_free(emsg);
		return ERR_INTERNAL;
	}
	return 0;
}

static const char *sq_errmsg(void *h) { return ((struct sq *)h)->err; }

const struct db_engine_ops db_sqlite_ops = {
	.kind = DB_SQLITE,
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.run = sq_run,
	.script = sq_script,
	.errmsg = sq_errmsg,
	.begin_sql = "BEGIN IMMEDIATE",
};
