/* names.c — the naming rules of resource classes and traits ([A-Z0-9_]+, custom ones CUSTOM_...),
 * lookups in the compiled-in standard lists, and existence checks that also consult the custom
 * rows in the database. */
#include "placement/plc.h"
#include <stdlib.h>
#include <string.h>

bool plc_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

bool plc_custom_ok(const char *s)
{
	return s && !strncmp(s, "CUSTOM_", 7) && plc_name_ok(s + 7);
}

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

bool plc_std_trait(const char *s)
{
	return s && bsearch(s, plc_std_traits, (size_t)plc_nstd_traits, sizeof plc_std_traits[0], cmp_name);
}

bool plc_std_rc(const char *s)
{
	if (!s)
		return false;
	for (int i = 0; i < plc_nstd_rcs; i++)
		if (!strcmp(plc_std_rcs[i], s))
			return true;
	return false;
}

static bool row_exists(struct db_conn *c, const char *sql, const char *name)
{
	struct db_rows *rows;
	if (db_query(c, &rows, sql, DB_TEXT(name)) < 0)
		return false;
	bool found = db_rows_count(rows) > 0;
	db_rows_free(rows);
	return found;
}

bool plc_rc_exists(struct db_conn *c, const char *name)
{
	if (plc_std_rc(name))
		return true;
	return plc_custom_ok(name) &&
	       row_exists(c, "SELECT 1 FROM plc_resource_classes WHERE name = ?", name);
}

bool plc_trait_exists(struct db_conn *c, const char *name)
{
	if (plc_std_trait(name))
		return true;
	return plc_custom_ok(name) && row_exists(c, "SELECT 1 FROM plc_traits WHERE name = ?", name);
}
