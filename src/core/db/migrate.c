/* db/migrate.c — versioned per-service schema migrations, recorded in schema_versions. */
#include "core/db.h"
#include "core/err.h"
#include <stdio.h>
#include <string.h>

static int ensure_table(struct db_conn *c)
{
	return db_exec(c, "CREATE TABLE IF NOT EXISTS schema_versions ("
		       "service TEXT PRIMARY KEY, version INTEGER NOT NULL)");
}

static int read_version(struct db_conn *c, const char *service, int *version)
{
	struct db_rows *rows;
	int rc = db_query(c, &rows, "SELECT version FROM schema_versions WHERE service = ?",
			  DB_TEXT(service));
	if (rc < 0)
		return rc;
	*version = db_rows_count(rows) ? (int)db_int(rows, 0, 0) : 0;
	db_rows_free(rows);
	return 0;
}

int db_schema_version(struct db *db, const char *service)
{
	struct db_conn *c = db_get(db);
	int v = 0;
	if (ensure_table(c) < 0 || read_version(c, service, &v) < 0)
		v = -1;
	db_put(c);
	return v;
}

int db_migrate(struct db *db, const char *service, const struct db_migration *migs, int n,
	       char *err, size_t errlen)
{
	struct db_conn *c = db_get(db);
	int rc = ensure_table(c);
	int newest = n ? migs[n - 1].version : 0;
	for (int i = 0; rc >= 0 && i < n; i++) {
		int cur;
		if ((rc = db_begin(c)) < 0)
			break;
		if ((rc = read_version(c, service, &cur)) < 0)
			break;
		if (cur > newest) {
			db_rollback(c);
			snprintf(err, errlen, "the %s database schema is at version %d, newer than this "
				 "binary knows (%d): run a newer monostack", service, cur, newest);
			db_put(c);
			return -1;
		}
		if (migs[i].version <= cur) {
			db_rollback(c);
			continue;
		}
		if ((rc = db_exec_script(c, migs[i].sql)) < 0)
			break;
		rc = cur == 0 ? db_exec(c, "INSERT INTO schema_versions (service, version) VALUES (?, ?)",
					DB_TEXT(service), DB_INT(migs[i].version))
			      : db_exec(c, "UPDATE schema_versions SET version = ? WHERE service = ?",
					DB_INT(migs[i].version), DB_TEXT(service));
		if (rc < 0 || (rc = db_commit(c)) < 0)
			break;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s schema migration failed: %s", service, db_errmsg(c));
		db_rollback(c);
		db_put(c);
		return -1;
	}
	/* Nothing to apply but the database may still be newer than us. */
	int cur = 0;
	read_version(c, service, &cur);
	db_put(c);
	if (cur > newest) {
		snprintf(err, errlen, "the %s database schema is at version %d, newer than this binary "
			 "knows (%d): run a newer monostack", service, cur, newest);
		return -1;
	}
	return 0;
}
