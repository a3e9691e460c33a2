/* sqlbuf.c — SQL text and its arguments assembled piece by piece in an arena (see sqlbuf.h). */
#include "core/sqlbuf.h"
#include "core/arena.h"
#include <string.h>

void sqlbuf_init(struct sqlbuf *q, struct arena *a, const char *start)
{
	memset(q, 0, sizeof *q);
	q->a = a;
	sqlbuf_add(q, start);
}

void sqlbuf_add(struct sqlbuf *q, const char *text)
{
	size_t n = strlen(text);
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 1024;
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

/* Appends a, keeping room for the terminator; no limit check. */
static void push(struct sqlbuf *q, struct db_arg a)
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

void sqlbuf_arg(struct sqlbuf *q, struct db_arg a)
{
	if (q->max_args && q->nargs >= q->max_args) {
		q->overflow = true;
		return;
	}
	push(q, a);
}

void sqlbuf_text(struct sqlbuf *q, const char *s)
{
	sqlbuf_arg(q, DB_TEXT(s));
}

void sqlbuf_int(struct sqlbuf *q, int64_t v)
{
	sqlbuf_arg(q, DB_INT(v));
}

void sqlbuf_in(struct sqlbuf *q, const char *const *vals, int n)
{
	sqlbuf_add(q, "(");
	for (int i = 0; i < n; i++) {
		sqlbuf_add(q, i ? ", ?" : "?");
		sqlbuf_text(q, vals[i]);
	}
	sqlbuf_add(q, ")");
}

const struct db_arg *sqlbuf_args(struct sqlbuf *q)
{
	push(q, DB_END_);
	q->nargs--;          /* the terminator is not an argument */
	return q->args;
}
