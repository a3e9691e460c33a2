/* db/engine.h — what an SQL engine provides to the pool in core/db.c (private to core/db*). */
#ifndef CORE_DB_ENGINE_H
#define CORE_DB_ENGINE_H
#include "core/db.h"

struct db_rows {
	int nrows, ncols;
	char **cells;             /* nrows*ncols strings (NULL for SQL NULL), one allocation each */
	size_t cap;               /* cells allocated */
};

struct db_engine_ops {
	enum db_engine kind;
	/* Opens one connection; returns the engine handle or NULL with err filled. */
	void *(*connect)(const char *target, char *err, size_t errlen);
	void (*disconnect)(void *h);
	/* exec: returns changed rows or error code; rows may be NULL when no result is wanted. */
	int (*run)(void *h, const char *sql, const struct db_arg *args, struct db_rows **rows);
	int (*script)(void *h, const char *sql);
	const char *(*errmsg)(void *h);
	/* Statement that opens a write transaction. */
	const char *begin_sql;
};

extern const struct db_engine_ops db_sqlite_ops;
extern const struct db_engine_ops db_pg_ops;

/* Appends a row of cells to a result being built (engines use this). */
void db_rows_add(struct db_rows *r, char **cells);

#endif
