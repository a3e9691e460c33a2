/* listing.c — building list queries: a small SQL builder (text plus bound arguments, grown in
 * an arena) and Keystone's list filters read from the query string: equality and boolean
 * filters, flags, and the inexact name filters (name__contains and the like). */
#include "identity/ident.h"
#include <string.h>
#include <strings.h>

/* --- the SQL builder --- */

void ident_sql_init(struct ident_sql *b, struct arena *a, const char *head)
{
	memset(b, 0, sizeof *b);
	b->a = a;
	b->sql = arena_strdup(a, head);
	b->cap = 16;
	b->args = arena_alloc(a, b->cap * sizeof *b->args);
	b->args[0] = DB_END_;
}

void ident_sql_text(struct ident_sql *b, const char *s)
{
	b->sql = arena_printf(b->a, "%s%s", b->sql, s);
}

void ident_sql_arg(struct ident_sql *b, struct db_arg arg)
{
	if (b->nargs + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct db_arg *v = arena_alloc(b->a, cap * sizeof *v);
		if (b->nargs)
			memcpy(v, b->args, b->nargs * sizeof *v);
		b->args = v;
		b->cap = cap;
	}
	b->args[b->nargs++] = arg;
	b->args[b->nargs] = DB_END_;
}

void ident_sql_in(struct ident_sql *b, const char *const *ids, size_t n)
{
	size_t len = 2 * n + 2;
	char *s = arena_alloc(b->a, len + 1);
	size_t k = 0;
	s[k++] = '(';
	for (size_t i = 0; i < n; i++) {
		if (i)
			s[k++] = ',';
		s[k++] = '?';
		ident_sql_arg(b, DB_TEXT(ids[i]));
	}
	s[k++] = ')';
	s[k] = 0;
	ident_sql_text(b, s);
}

void ident_sql_eq(struct ident_sql *b, const char *column, const char *value)
{
	if (!value)
		return;
	b->sql = arena_printf(b->a, "%s AND %s = ?", b->sql, column);
	ident_sql_arg(b, DB_TEXT(value));
}

void ident_sql_filter(struct ident_sql *b, struct http_req *r, const char *column, const char *param)
{
	ident_sql_eq(b, column, http_query(r, param));
}

void ident_sql_filter_bool(struct ident_sql *b, struct http_req *r, const char *column, const char *param)
{
	const char *v = http_query(r, param);
	if (!v)
		return;
	b->sql = arena_printf(b->a, "%s AND %s = ?", b->sql, column);
	ident_sql_arg(b, DB_BOOL(ident_query_true(v)));
}

int ident_sql_query(struct db_conn *c, const struct ident_sql *b, struct db_rows **rows)
{
	return db_query_a(c, rows, b->sql, b->args);
}

/* --- query-string filters --- */

bool ident_query_true(const char *v)
{
	static const char *const no[] = { "0", "f", "false", "n", "no", "off", NULL };
	for (const char *const *n = no; *n; n++)
		if (!strcasecmp(v, *n))
			return false;
	return true;
}

bool ident_query_flag(struct http_req *r, const char *name)
{
	if (!http_query_present(r, name))
		return false;
	const char *v = http_query(r, name);
	return !v || strcmp(v, "0");
}

/* One inexact comparison; unknown comparators pass, as Keystone ignores them. */
static bool inexact_match(const char *cmp, const char *val, const char *s)
{
	size_t vl = strlen(val), sl = strlen(s);
	if (!strcmp(cmp, "contains"))
		return strstr(s, val) != NULL;
	if (!strcmp(cmp, "icontains"))
		return strcasestr(s, val) != NULL;
	if (!strcmp(cmp, "startswith"))
		return !strncmp(s, val, vl);
	if (!strcmp(cmp, "istartswith"))
		return !strncasecmp(s, val, vl);
	if (!strcmp(cmp, "endswith"))
		return sl >= vl && !strcmp(s + sl - vl, val);
	if (!strcmp(cmp, "iendswith"))
		return sl >= vl && !strcasecmp(s + sl - vl, val);
	return true;
}

struct name_check {
	const char *name;
	bool ok;
};

static int check_inexact(void *ctx, const char *key, const char *value)
{
	struct name_check *nc = ctx;
	if (value && !strncmp(key, "name__", 6) && !inexact_match(key + 6, value, nc->name))
		nc->ok = false;
	return 0;
}

bool ident_name_filters_pass(struct http_req *r, const char *name)
{
	struct name_check nc = { name, true };
	http_query_each(r, check_inexact, &nc);
	return nc.ok;
}
