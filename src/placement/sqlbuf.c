/* sqlbuf.c — SQL text and its arguments assembled piece by piece in an arena, for the queries
 * whose filters depend on the request (provider lists, candidates). */
#include "placement/plc.h"
#include <string.h>

void plc_sql_init(struct plc_sql *q, struct arena *a, const char *start)
{
	memset(q, 0, sizeof *q);
	q->a = a;
	plc_sql_add(q, start);
}

void plc_sql_add(struct plc_sql *q, const char *text)
{
	size_t n = strlen(text);
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 512;
		while (cap < q->len + n + 1)
			cap *= 2;
		char *nt = arena_alloc(q->a, cap);
		if (q->len)
			memcpy(nt, q->text, q->len);
		q->text = nt;
		q->cap = cap;
	}
	memcpy(q->text + q->len, text, n + 1);
	q->len += n;
}

static void push(struct plc_sql *q, struct db_arg a)
{
	if (q->nargs + 2 > q->acap) {
		int cap = q->acap ? q->acap * 2 : 16;
		struct db_arg *na = arena_alloc(q->a, (size_t)cap * sizeof *na);
		if (q->nargs)
			memcpy(na, q->args, (size_t)q->nargs * sizeof *na);
		q->args = na;
		q->acap = cap;
	}
	q->args[q->nargs++] = a;
}

void plc_sql_text(struct plc_sql *q, const char *s)
{
	push(q, DB_TEXT(s));
}

void plc_sql_int(struct plc_sql *q, int64_t v)
{
	push(q, DB_INT(v));
}

void plc_sql_in(struct plc_sql *q, const char *const *vals, int n)
{
	plc_sql_add(q, "(");
	for (int i = 0; i < n; i++) {
		plc_sql_add(q, i ? ", ?" : "?");
		plc_sql_text(q, vals[i]);
	}
	plc_sql_add(q, ")");
}

const struct db_arg *plc_sql_args(struct plc_sql *q)
{
	push(q, DB_END_);
	q->nargs--;          /* the terminator is not an argument */
	return q->args;
}
