/* revoke.c — revocation events: recorded in the database by identity writes, kept in memory
 * for validation, and reloaded whenever the identity generation moves. */
#include "identity/ident.h"
#include "core/conf.h"
#include <string.h>

/* Events older than the longest a token can live (plus the allow_expired window) match nothing
 * any more: drop them as new ones arrive, so the table stays small. */
static int prune(struct db_conn *c, int64_t now)
{
	int64_t horizon = now - (conf_int("token", "expiration") +
				 conf_int("token", "allow_expired_window")) * 1000000;
	int rc = db_exec(c, "DELETE FROM revocation_event WHERE revoked_at < ?", DB_INT(horizon));
	return rc < 0 ? rc : 0;
}

int ident_revoke(struct db_conn *c, const char *user_id, const char *project_id,
		 const char *domain_id, const char *audit_id, const char *audit_chain_id)
{
	char id[33];
	uuid_hex(id);
	int64_t now = time_now_us();
	int rc = db_exec(c, "INSERT INTO revocation_event (id, user_id, project_id, domain_id, audit_id,"
			 " audit_chain_id, issued_before, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			 DB_TEXT(id), DB_TEXT(user_id), DB_TEXT(project_id), DB_TEXT(domain_id),
			 DB_TEXT(audit_id), DB_TEXT(audit_chain_id), DB_INT(now), DB_INT(now));
	return rc < 0 ? rc : prune(c, now);
}

int ident_revoke_app_cred(struct db_conn *c, const char *app_cred_id)
{
	char id[33];
	uuid_hex(id);
	int64_t now = time_now_us();
	int rc = db_exec(c, "INSERT INTO revocation_event (id, app_cred_id, issued_before, revoked_at)"
			 " VALUES (?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(app_cred_id), DB_INT(now), DB_INT(now));
	return rc < 0 ? rc : prune(c, now);
}
