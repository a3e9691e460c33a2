/* db/pool.c — the connection pool, write-transaction serialisation, results and the
 * engine-independent half of the SQL interface in core/db.h. */
#include "core/db/engine.h"
#include "core/arena.h"
#include "core/err.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_conn {
	struct db *db;
	void *h;                  /* engine handle */
	bool in_tx, holds_writer, busy;
};

struct db {
	const struct db_engine_ops *ops;
	char *target;             /* engine-specific connection target */
	unsigned size;
	struct db_conn *conns;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	pthread_mutex_t writer;   /* SQLite: one write transaction at a time */
};

int db_open(const char *url, unsigned pool_size, struct db **out, char *err, size_t errlen)
{
	const struct db_engine_ops *ops;
	const char *target;
	if (!strncmp(url, "sqlite:///", 10)) {
		ops = &db_sqlite_ops;
		target = url + 9;            /* keep the leading '/' of an absolute path */
	} else if (!strncmp(url, "sqlite://", 9)) {
		ops = &db_sqlite_ops;
		target = url + 9;
	} else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
		ops = &db_pg_ops;
		target = url;
	} else {
		snprintf(err, errlen, "unsupported database connection '%.64s' (sqlite:///path or postgresql://...)", url);
		return -1;
	}
	struct db *db = xcalloc(1, sizeof *db);
	db->ops = ops;
	db->target = xstrdup(target);
	db->size = pool_size ? pool_size : 8;
	db->conns = xcalloc(db->size, sizeof *db->conns);
	pthread_mutex_init(&db->lock, NULL);
	pthread_cond_init(&db->freed, NULL);
	pthread_mutex_init(&db->writer, NULL);
	/* Open one connection now so configuration errors surface at start. */
	db->conns[0].h = ops->connect(db->target, err, errlen);
	if (!db->conns[0].h) {
		db_close(db);
		return -1;
	}
	for (unsigned i = 0; i < db->size; i++)
		db->conns[i].db = db;
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (unsigned i = 0; i < db->size; i++)
		if (db->conns[i].h)
			db->ops->disconnect(db->conns[i].h);
	pthread_mutex_destroy(&db->lock);
	pthread_cond_destroy(&db->freed);
	pthread_mutex_destroy(&db->writer);
	free(db->conns);
	free(db->target);
	free(db);
}

enum db_engine db_engine_of(const struct db *db) { return db->ops->kind; }

struct db_conn *db_get(struct db *db)
{
	pthread_mutex_lock(&db->lock);
	for (;;) {
		struct db_conn *idle_open = NULL, *idle_new = NULL;
		for (unsigned i = 0; i < db->size; i++) {
			struct db_conn *c = &db->conns[i];
			if (c->busy)
				continue;
			if (c->h) {
				idle_open = c;
				break;
			}
			if (!idle_new)
				idle_new = c;
		}
		struct db_conn *c = idle_open ? idle_open : idle_new;
		if (c) {
			c->busy = true;
			pthread_mutex_unlock(&db->lock);
			if (!c->h) {
				char err[256];
				c->h = db->ops->connect(db->target, err, sizeof err);
				if (!c->h) {
					fprintf(stderr, "monostack: database connection failed: %s\n", err);
					abort();
				}
			}
			return c;
		}
		pthread_cond_wait(&db->freed, &db->lock);
	}
}

static void slot_put_void(void *slot)
{
	db_slot_put(slot);
}

struct db_conn *db_slot_get(struct db *db, struct db_conn **slot, struct arena *a)
{
	if (!*slot) {
		*slot = db_get(db);
		arena_defer(a, slot_put_void, slot);
	}
	return *slot;
}

void db_slot_put(struct db_conn **slot)
{
	db_put(*slot);
	*slot = NULL;
}

void db_put(struct db_conn *c)
{
	if (!c)
		return;
	if (c->in_tx)
		db_rollback(c);
	struct db *db = c->db;
	pthread_mutex_lock(&db->lock);
	c->busy = false;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->lock);
}

int db_begin(struct db_conn *c)
{
	if (c->in_tx)
		return ERR_INTERNAL;
	if (c->db->ops->kind == DB_SQLITE) {
		pthread_mutex_lock(&c->db->writer);
		c->holds_writer = true;
	}
	int rc = c->db->ops->run(c->h, c->db->ops->begin_sql, (const struct db_arg[]){ DB_END_ }, NULL);
	if (rc < 0) {
		if (c->holds_writer) {
			pthread_mutex_unlock(&c->db->writer);
			c->holds_writer = false;
		}
		return rc;
	}
	c->in_tx = true;
	return 0;
}

static void end_tx(struct db_conn *c)
{
	c->in_tx = false;
	if (c->holds_writer) {
		c->holds_writer = false;
		pthread_mutex_unlock(&c->db->writer);
	}
}

int db_commit(struct db_conn *c)
{
	int rc = c->db->ops->run(c->h, "COMMIT", (const struct db_arg[]){ DB_END_ }, NULL);
	if (rc < 0) {
		c->db->ops->run(c->h, "ROLLBACK", (const struct db_arg[]){ DB_END_ }, NULL);
		end_tx(c);
		return rc;
	}
	end_tx(c);
	return 0;
}

void db_rollback(struct db_conn *c)
{
	if (!c || !c->in_tx)
		return;
	c->db->ops->run(c->h, "ROLLBACK", (const struct db_arg[]){ DB_END_ }, NULL);
	end_tx(c);
}

bool db_in_tx(const struct db_conn *c) { return c->in_tx; }

int db_exec_a(struct db_conn *c, const char *sql, const struct db_arg *args)
{
	/* A write outside a transaction still takes the SQLite writer lock. */
	bool lock = c->db->ops->kind == DB_SQLITE && !c->in_tx;
	if (lock)
		pthread_mutex_lock(&c->db->writer);
	int rc = c->db->ops->run(c->h, sql, args, NULL);
	if (lock)
		pthread_mutex_unlock(&c->db->writer);
	return rc;
}

int db_query_a(struct db_conn *c, struct db_rows **out, const char *sql, const struct db_arg *args)
{
	struct db_rows *rows = xcalloc(1, sizeof *rows);
	int rc = c->db->ops->run(c->h, sql, args, &rows);
	if (rc < 0) {
		db_rows_free(rows);
		return rc;
	}
	*out = rows;
	return 0;
}

int db_exec_script(struct db_conn *c, const char *sql)
{
	return c->db->ops->script(c->h, sql);
}

const char *db_errmsg(const struct db_conn *c) { return c->db->ops->errmsg(c->h); }

void db_rows_add(struct db_rows *r, char **cells)
{
	size_t n = (size_t)r->nrows * (size_t)r->ncols;
	if (n + (size_t)r->ncols > r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16 * (size_t)(r->ncols ? r->ncols : 1);
		r->cells = xrealloc(r->cells, r->cap * sizeof *r->cells);
	}
	memcpy(r->cells + n, cells, (size_t)r->ncols * sizeof *cells);
	r->nrows++;
}

int db_rows_count(const struct db_rows *rows) { return rows ? rows->nrows : 0; }
int db_rows_cols(const struct db_rows *rows) { return rows ? rows->ncols : 0; }

const char *db_text(const struct db_rows *rows, int row, int col)
{
	if (row < 0 || row >= rows->nrows || col < 0 || col >= rows->ncols)
		return NULL;
	return rows->cells[(size_t)row * (size_t)rows->ncols + (size_t)col];
}

int64_t db_int(const struct db_rows *rows, int row, int col)
{
	const char *s = db_text(rows, row, col);
	return s ? strtoll(s, NULL, 10) : 0;
}

bool db_bool(const struct db_rows *rows, int row, int col)
{
	const char *s = db_text(rows, row, col);
	return s && (s[0] == '1' || s[0] == 't' || s[0] == 'T');
}

bool db_isnull(const struct db_rows *rows, int row, int col) { return db_text(rows, row, col) == NULL; }

void db_rows_free(struct db_rows *rows)
{
	if (!rows)
		return;
	size_t n = (size_t)rows->nrows * (size_t)rows->ncols;
	for (size_t i = 0; i < n; i++)
		free(rows->cells[i]);
	free(rows->cells);
	free(rows);
}
