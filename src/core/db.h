/* db.h — one SQL interface over two engines: SQLite (embedded default, WAL) and PostgreSQL.
 * SQL is written once, portably, with '?' placeholders. A pool hands out connections;
 * write transactions are serialised on SQLite so writers queue instead of failing.
 * Results are materialised as text; rows are owned by the caller (db_rows_free). */
#ifndef CORE_DB_H
#define CORE_DB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_conn;
struct db_rows;

enum db_engine { DB_SQLITE, DB_POSTGRES };
enum db_argtype { DB_T_END, DB_T_NULL, DB_T_TEXT, DB_T_INT };

struct db_arg {
	enum db_argtype type;
	const char *s;
	int64_t i;
};

#define DB_TEXT(x) ((struct db_arg){ DB_T_TEXT, (x), 0 })   /* a NULL pointer binds SQL NULL */
#define DB_INT(x)  ((struct db_arg){ DB_T_INT, NULL, (int64_t)(x) })
#define DB_BOOL(b) DB_INT((b) ? 1 : 0)
#define DB_NULL    ((struct db_arg){ DB_T_NULL, NULL, 0 })
#define DB_END_    ((struct db_arg){ DB_T_END, NULL, 0 })

/* Opens a pool for "sqlite:///abs/path", "sqlite://rel/path" or "postgresql://...".
 * Returns 0 and sets *out, or -1 with a message in err. */
int db_open(const char *url, unsigned pool_size, struct db **out, char *err, size_t errlen);
void db_close(struct db *db);
enum db_engine db_engine_of(const struct db *db);

/* Checks a connection out of the pool (waits when all are busy); never NULL. */
struct db_conn *db_get(struct db *db);
/* Returns it (rolling back a transaction left open); accepts NULL. */
void db_put(struct db_conn *c);

/* A connection held by one scope (a request): checked out into *slot on first use, and put
 * back when the arena is freed unless db_slot_put() returned it earlier (so a request that
 * ends without a response, e.g. a client gone mid-upload, never keeps one). Returns *slot. */
struct arena;
struct db_conn *db_slot_get(struct db *db, struct db_conn **slot, struct arena *a);
/* Returns the slot's connection now, rolling back anything left open; accepts an empty slot. */
void db_slot_put(struct db_conn **slot);

/* Write transaction: on SQLite only one is open at a time across the pool (BEGIN IMMEDIATE). */
int db_begin(struct db_conn *c);
int db_commit(struct db_conn *c);
void db_rollback(struct db_conn *c);
bool db_in_tx(const struct db_conn *c);

/* Executes a statement; returns the number of rows changed (>= 0) or an error code:
 * ERR_CONFLICT for unique/foreign-key violations, ERR_INTERNAL otherwise. */
int db_exec_a(struct db_conn *c, const char *sql, const struct db_arg *args);
#define db_exec(c, sql, ...) db_exec_a((c), (sql), (const struct db_arg[]){ __VA_ARGS__ __VA_OPT__(,) DB_END_ })
/* Runs a query; returns 0 and sets *out (possibly zero rows), or an error code. Any number of
 * parameters; at most 64 result columns. */
int db_query_a(struct db_conn *c, struct db_rows **out, const char *sql, const struct db_arg *args);
#define db_query(c, out, sql, ...) db_query_a((c), (out), (sql), (const struct db_arg[]){ __VA_ARGS__ __VA_OPT__(,) DB_END_ })
/* Runs several ';'-separated statements with no parameters (migrations). */
int db_exec_script(struct db_conn *c, const char *sql);
/* The last error message of this connection. */
const char *db_errmsg(const struct db_conn *c);

int db_rows_count(const struct db_rows *rows);
int db_rows_cols(const struct db_rows *rows);
/* Column value as text; NULL for SQL NULL. Valid until db_rows_free. */
const char *db_text(const struct db_rows *rows, int row, int col);
int64_t db_int(const struct db_rows *rows, int row, int col);
bool db_bool(const struct db_rows *rows, int row, int col);
bool db_isnull(const struct db_rows *rows, int row, int col);
void db_rows_free(struct db_rows *rows);

/* --- migrations --- */
struct db_migration {
	int version;              /* 1, 2, 3 ... in order */
	const char *sql;          /* portable DDL, several statements allowed */
};

/* Brings service's schema up to the newest migration in a transaction per step. Refuses (-1,
 * message in err) when the database is newer than the binary knows. */
int db_migrate(struct db *db, const char *service, const struct db_migration *migs, int n,
	       char *err, size_t errlen);
/* The schema version recorded for service (0 when none). */
int db_schema_version(struct db *db, const char *service);

#endif
