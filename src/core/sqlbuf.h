/* sqlbuf.h — SQL text and its '?' arguments assembled piece by piece in an arena, for queries
 * whose filters depend on the request (list filters, keyset pagination, candidate searches). */
#ifndef CORE_SQLBUF_H
#define CORE_SQLBUF_H
#include "core/db.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

/* Zero-initialise with .a set (and .max_args if wanted), or use sqlbuf_init. */
struct sqlbuf {
	struct arena *a;
	char *text;          /* the SQL so far, NUL-terminated; NULL until the first sqlbuf_add */
	size_t len, cap;
	struct db_arg *args; /* nargs arguments, in the arena */
	int nargs, acap;
	int max_args;        /* 0: no limit; past the limit arguments are dropped and overflow set */
	bool overflow;
};

/* Starts q in arena a with the SQL text start (may be ""), no arguments and no limit. */
void sqlbuf_init(struct sqlbuf *q, struct arena *a, const char *start);
/* Appends SQL text (copied). */
void sqlbuf_add(struct sqlbuf *q, const char *text);
/* Appends one argument (its strings are not copied). */
void sqlbuf_arg(struct sqlbuf *q, struct db_arg a);
void sqlbuf_text(struct sqlbuf *q, const char *s);   /* one text argument (not copied) */
void sqlbuf_int(struct sqlbuf *q, int64_t v);        /* one integer argument */
/* "(?, ?, ...)" for n text arguments (not copied). */
void sqlbuf_in(struct sqlbuf *q, const char *const *vals, int n);
/* The arguments, DB_END-terminated (valid until the next sqlbuf_arg). */
const struct db_arg *sqlbuf_args(struct sqlbuf *q);

#endif
