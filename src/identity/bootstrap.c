/* bootstrap.c — first-start setup of an identity store, safe to run on every start: the Default
 * domain, admin project and user, the admin > member > reader roles, the service project, the
 * region and one public endpoint per service monostack serves. */
#include "identity/ident.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct boot {
	struct db_conn *c;
	char *err;
	size_t errlen;
	int rc;
};

static void fail(struct boot *b, const char *what)
{
	if (b->rc >= 0) {
		snprintf(b->err, b->errlen, "bootstrap: %s: %s", what, db_errmsg(b->c));
		b->rc = -1;
	}
}

/* The id in column 0 of the first row of a one-parameter query, or NULL (malloc'd). */
static char *lookup(struct boot *b, const char *sql, const char *a1, const char *a2)
{
	struct db_rows *rows;
	int rc = a2 ? db_query(b->c, &rows, sql, DB_TEXT(a1), DB_TEXT(a2)) : db_query(b->c, &rows, sql, DB_TEXT(a1));
	if (rc < 0) {
		fail(b, "query");
		return NULL;
	}
	char *id = db_rows_count(rows) ? xstrdup(db_text(rows, 0, 0)) : NULL;
	db_rows_free(rows);
	return id;
}

static void exec(struct boot *b, int rc, const char *what)
{
	if (rc < 0)
		fail(b, what);
}

static char *ensure_role(struct boot *b, const char *name)
{
	char *id = lookup(b, "SELECT id FROM role WHERE name = ? AND domain_id = ''", name, NULL);
	if (!id && b->rc >= 0) {
		char nid[33];
		uuid_hex(nid);
		/* Keystone's bootstrap marks its roles immutable: they cannot be renamed or deleted. */
		exec(b, db_exec(b->c, "INSERT INTO role (id, name, domain_id, options) VALUES (?, ?, '', ?)",
				DB_TEXT(nid), DB_TEXT(name),
				DB_TEXT(strcmp(name, "service") ? "{\"immutable\":true}" : "{}")), "role");
		id = xstrdup(nid);
	}
	return id;
}

static char *ensure_project(struct boot *b, const char *name)
{
	char *id = lookup(b, "SELECT id FROM project WHERE name = ? AND domain_id = ?", name, IDENT_DEFAULT_DOMAIN);
	if (!id && b->rc >= 0) {
		char nid[33];
		uuid_hex(nid);
		exec(b, db_exec(b->c, "INSERT INTO project (id, name, domain_id, description, created_at)"
				" VALUES (?, ?, ?, ?, ?)", DB_TEXT(nid), DB_TEXT(name),
				DB_TEXT(IDENT_DEFAULT_DOMAIN),
				DB_TEXT(!strcmp(name, "admin") ? "Bootstrap project for initializing the cloud."
							       : "Project for the cloud's own services."),
				DB_INT(time_now_us())), "project");
		id = xstrdup(nid);
	}
	return id;
}

static void grant(struct boot *b, const char *type, const char *actor, const char *target, const char *role)
{
	exec(b, db_exec(b->c, "INSERT INTO assignment (type, actor_id, target_id, role_id, inherited)"
			" VALUES (?, ?, ?, ?, 0) ON CONFLICT DO NOTHING",
			DB_TEXT(type), DB_TEXT(actor), DB_TEXT(target), DB_TEXT(role)), "assignment");
}

static void ensure_endpoint(struct boot *b, const struct identity_endpoint_spec *e, const char *region)
{
	char *sid = lookup(b, "SELECT id FROM service WHERE type = ?", e->type, NULL);
	if (!sid && b->rc >= 0) {
		char nid[33];
		uuid_hex(nid);
		json_t *extra = json_pack("{s:s,s:s}", "name", e->name, "description",
					  "monostack");
		char *x = json_dumps(extra, JSON_COMPACT);
		json_decref(extra);
		exec(b, db_exec(b->c, "INSERT INTO service (id, type, enabled, extra) VALUES (?, ?, 1, ?)",
				DB_TEXT(nid), DB_TEXT(e->type), DB_TEXT(x)), "service");
		free(x);
		sid = xstrdup(nid);
	}
	if (!sid)
		return;
	char *eid = lookup(b, "SELECT id FROM endpoint WHERE service_id = ? AND interface = 'public'", sid, NULL);
	if (eid) {
		exec(b, db_exec(b->c, "UPDATE endpoint SET url = ? WHERE id = ?", DB_TEXT(e->url), DB_TEXT(eid)),
		     "endpoint");
	} else if (b->rc >= 0) {
		char nid[33];
		uuid_hex(nid);
		exec(b, db_exec(b->c, "INSERT INTO endpoint (id, service_id, interface, url, region_id, enabled)"
				" VALUES (?, ?, 'public', ?, ?, 1)", DB_TEXT(nid), DB_TEXT(sid), DB_TEXT(e->url),
				DB_TEXT(region)), "endpoint");
	}
	free(eid);
	free(sid);
}

static char *random_password(void)
{
	unsigned char raw[18];
	char *out = xmalloc(32);
	util_random(raw, sizeof raw);
	b64url_encode(raw, sizeof raw, out);
	return out;
}

int identity_bootstrap_run(struct identity *id, struct identity_bootstrap *bs,
			   char **generated, char *err, size_t errlen)
{
	*generated = NULL;
	struct boot b = { db_get(id->db), err, errlen, 0 };
	/* Hash outside the transaction: decide first whether the admin user needs a password. */
	char *admin_id = lookup(&b, "SELECT id FROM users WHERE name = 'admin' AND domain_id = ?",
				IDENT_DEFAULT_DOMAIN, NULL);
	char *new_hash = NULL, *gen = NULL;
	if (!admin_id && b.rc >= 0) {
		const char *pw = bs->admin_password;
		if (!pw)
			pw = gen = random_password();
		new_hash = ident_password_hash(pw);
	} else if (admin_id && bs->admin_password) {
		char *cur = lookup(&b, "SELECT password_hash FROM users WHERE id = ?", admin_id, NULL);
		if (!cur || !ident_password_verify(bs->admin_password, cur))
			new_hash = ident_password_hash(bs->admin_password);
		free(cur);
	}
	if (b.rc >= 0 && db_begin(b.c) < 0)
		fail(&b, "begin");
	if (b.rc >= 0)
		exec(&b, db_exec(b.c, "INSERT INTO domain (id, name, description, enabled, created_at)"
				 " VALUES (?, 'Default', 'The default domain', 1, ?) ON CONFLICT DO NOTHING",
				 DB_TEXT(IDENT_DEFAULT_DOMAIN), DB_INT(time_now_us())), "domain");
	char *admin_role = ensure_role(&b, "admin");
	char *member_role = ensure_role(&b, "member");
	char *reader_role = ensure_role(&b, "reader");
	char *service_role = ensure_role(&b, "service");
	if (b.rc >= 0) {
		exec(&b, db_exec(b.c, "INSERT INTO implied_role (prior_role_id, implied_role_id) VALUES (?, ?)"
				 " ON CONFLICT DO NOTHING", DB_TEXT(admin_role), DB_TEXT(member_role)), "implied role");
		exec(&b, db_exec(b.c, "INSERT INTO implied_role (prior_role_id, implied_role_id) VALUES (?, ?)"
				 " ON CONFLICT DO NOTHING", DB_TEXT(member_role), DB_TEXT(reader_role)), "implied role");
	}
	char *admin_project = ensure_project(&b, "admin");
	char *service_project = ensure_project(&b, "service");
	if (!admin_id && b.rc >= 0) {
		char nid[33];
		uuid_hex(nid);
		int64_t now = time_now_us();
		if (!new_hash)
			fail(&b, "password hashing");
		else
			exec(&b, db_exec(b.c, "INSERT INTO users (id, name, domain_id, enabled, default_project_id,"
					 " password_hash, password_created_at, created_at) VALUES (?, 'admin', ?, 1, ?, ?, ?, ?)",
					 DB_TEXT(nid), DB_TEXT(IDENT_DEFAULT_DOMAIN), DB_TEXT(admin_project),
					 DB_TEXT(new_hash), DB_INT(now), DB_INT(now)), "admin user");
		admin_id = xstrdup(nid);
	} else if (admin_id && new_hash && b.rc >= 0) {
		exec(&b, db_exec(b.c, "UPDATE users SET password_hash = ?, password_created_at = ?,"
				 " failed_auth_count = 0, enabled = 1 WHERE id = ?", DB_TEXT(new_hash),
				 DB_INT(time_now_us()), DB_TEXT(admin_id)), "admin password");
	}
	if (b.rc >= 0) {
		grant(&b, "UserProject", admin_id, admin_project, admin_role);
		grant(&b, "UserSystem", admin_id, "system", admin_role);
		exec(&b, db_exec(b.c, "INSERT INTO region (id, description) VALUES (?, '') ON CONFLICT DO NOTHING",
				 DB_TEXT(bs->region)), "region");
	}
	for (int i = 0; i < bs->nendpoints && b.rc >= 0; i++)
		ensure_endpoint(&b, &bs->endpoints[i], bs->region);
	if (b.rc >= 0 && db_commit(b.c) < 0)
		fail(&b, "commit");
	snprintf(bs->admin_project_id, sizeof bs->admin_project_id, "%s", admin_project ? admin_project : "");
	if (b.rc < 0)
		db_rollback(b.c);
	db_put(b.c);
	ident_invalidate(id);
	free(admin_id);
	free(new_hash);
	free(admin_role);
	free(member_role);
	free(reader_role);
	free(service_role);
	free(admin_project);
	free(service_project);
	if (b.rc < 0) {
		free(gen);
		return -1;
	}
	*generated = gen;
	return 0;
}
