/* keypair_record.c — loading one keypair (the record the servers side embeds in instances). */
#include "compute/cmp.h"

int cmp_keypair_get(struct http_req *r, const char *user_id, const char *name, struct cmp_keypair *out)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT name, user_id, type, public_key, fingerprint, created_at"
			  " FROM cmp_keypairs WHERE user_id = ? AND name = ?", DB_TEXT(user_id), DB_TEXT(name));
	if (rc < 0)
		return cmp_db_error(r, rc, "keypair");
	if (db_rows_count(rows) == 0) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Keypair %s not found for user %s", name, user_id);
	}
	*out = (struct cmp_keypair){
		.name = arena_strdup(r->arena, db_text(rows, 0, 0)),
		.user_id = arena_strdup(r->arena, db_text(rows, 0, 1)),
		.type = arena_strdup(r->arena, db_text(rows, 0, 2)),
		.public_key = arena_strdup(r->arena, db_text(rows, 0, 3)),
		.fingerprint = arena_strdup(r->arena, db_text(rows, 0, 4)),
		.created_at = db_int(rows, 0, 5),
	};
	db_rows_free(rows);
	return 0;
}
