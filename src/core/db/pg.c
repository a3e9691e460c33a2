/* db/pg.c — the PostgreSQL engine over libpq: '?' placeholders become $n, parameters and
 * results travel as text, SQLSTATEs map onto error codes. */
#include "core/db/engine.h"
#include "core/arena.h"
#include "core/err.h"
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_SMALL_ARGS 64

struct pg {
	PGconn *conn;
	char err[256];
};

static void *pg_connect(const char *url, char *err, size_t errlen)
{
	PGconn *conn = PQconnectdb(url);
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PGresult *res = PQexec(conn, "SET client_min_messages = warning");
	PQclear(res);
	struct pg *p = xcalloc(1, sizeof *p);
	p->conn = conn;
	return p;
}

static void pg_disconnect(void *h)
{
	struct pg *p = h;
	PQfinish(p->conn);
	free(p);
}

/* Rewrites '?' outside quotes into $1, $2 ... */
static char *rewrite(const char *sql)
{
	size_t n = strlen(sql);
	char *out = xmalloc(n * 8 + 16), *o = out;   /* "?" becomes at most "$NNNNNNN" */
	int idx = 0;
	char quote = 0;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			*o++ = *p;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
		} else if (*p == '?') {
			o += sprintf(o, "$%d", ++idx);
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return out;
}

static int map_result(struct pg *p, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	snprintf(p->err, sizeof p->err, "%s", PQresultErrorMessage(res));
	if (state && (!strcmp(state, "23505") || !strcmp(state, "23503")))
		return ERR_CONFLICT;
	if (state && !strncmp(state, "23", 2))
		return ERR_BADREQ;
	return ERR_INTERNAL;
}

static int pg_run(void *h, const char *sql, const struct db_arg *args, struct db_rows **rows)
{
	struct pg *p = h;
	int n = 0;
	while (args[n].type != DB_T_END)
		n++;
	/* small statements bind from the stack; long IN lists and bulk statements from the heap */
	const char *vals_small[PG_SMALL_ARGS];
	char nums_small[PG_SMALL_ARGS][24];
	const char **vals = vals_small;
	char (*nums)[24] = nums_small;
	if (n > PG_SMALL_ARGS) {
		vals = xcalloc((size_t)n, sizeof *vals);
		nums = xcalloc((size_t)n, sizeof *nums);
	}
	for (int i = 0; i < n; i++) {
		if (args[i].type == DB_T_INT) {
			snprintf(nums[i], sizeof nums[i], "%lld", (long long)args[i].i);
			vals[i] = nums[i];
		} else {
			vals[i] = args[i].type == DB_T_TEXT ? args[i].s : NULL;
		}
	}
	char *q = rewrite(sql);
	PGresult *res = PQexecParams(p->conn, q, n, NULL, vals, NULL, NULL, 0);
	free(q);
	if (vals != vals_small) {
		free(vals);
		free(nums);
	}
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int e = map_result(p, res);
		PQclear(res);
		return e;
	}
	int changed = 0;
	if (st == PGRES_TUPLES_OK && rows) {
		int nr = PQntuples(res), nc = PQnfields(res);
		(*rows)->ncols = nc;
		char *cells[64];
		if (nc > 64) {
			PQclear(res);
			return ERR_INTERNAL;
		}
		for (int r = 0; r < nr; r++) {
			for (int c = 0; c < nc; c++)
				cells[c] = PQgetisnull(res, r, c) ? NULL : xstrdup(PQgetvalue(res, r, c));
			db_rows_add(*rows, cells);
		}
	} else {
		const char *t = PQcmdTuples(res);
		changed = t && *t ? (int)strtol(t, NULL, 10) : 0;
	}
	PQclear(res);
	return changed;
}

static int pg_script(void *h, const char *sql)
{
	struct pg *p = h;
	PGresult *res = PQexec(p->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : map_result(p, res);
	PQclear(res);
	return rc;
}

static const char *pg_errmsg(void *h) { return ((struct pg *)h)->err; }

const struct db_engine_ops db_pg_ops = {
	.kind = DB_POSTGRES,
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.run = pg_run,
	.script = pg_script,
	.errmsg = pg_errmsg,
	.begin_sql = "BEGIN",
};
