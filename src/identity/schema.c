/* schema.c — the identity service's tables, as versioned migrations.
 * Portable SQL for SQLite and PostgreSQL: TEXT ids, BIGINT microsecond times, INTEGER 0/1
 * booleans, JSON objects as TEXT ("extra" holds arbitrary attributes, as in Keystone).
 * Global roles store domain_id '' so (name, domain_id) stays unique. */
#include "identity/identity.h"

static const char v1[] =
	"CREATE TABLE domain ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',"
	" enabled INTEGER NOT NULL DEFAULT 1, extra TEXT NOT NULL DEFAULT '{}',"
	" created_at BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE project ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL REFERENCES domain(id),"
	" parent_id TEXT REFERENCES project(id), description TEXT NOT NULL DEFAULT '',"
	" enabled INTEGER NOT NULL DEFAULT 1, extra TEXT NOT NULL DEFAULT '{}',"
	" created_at BIGINT NOT NULL DEFAULT 0, UNIQUE (domain_id, name));"
	"CREATE INDEX project_parent ON project(parent_id);"
	"CREATE TABLE project_tag ("
	" project_id TEXT NOT NULL REFERENCES project(id) ON DELETE CASCADE, name TEXT NOT NULL,"
	" PRIMARY KEY (project_id, name));"
	"CREATE TABLE users ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL REFERENCES domain(id),"
	" enabled INTEGER NOT NULL DEFAULT 1, default_project_id TEXT,"
	" description TEXT, extra TEXT NOT NULL DEFAULT '{}', options TEXT NOT NULL DEFAULT '{}',"
	" password_hash TEXT, password_created_at BIGINT, password_expires_at BIGINT,"
	" failed_auth_count INTEGER NOT NULL DEFAULT 0, failed_auth_at BIGINT,"
	" last_active_at BIGINT, created_at BIGINT NOT NULL DEFAULT 0, UNIQUE (domain_id, name));"
	"CREATE TABLE password_history ("
	" id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" password_hash TEXT NOT NULL, created_at BIGINT NOT NULL);"
	"CREATE INDEX password_history_user ON password_history(user_id, created_at);"
	"CREATE TABLE groups ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL REFERENCES domain(id),"
	" description TEXT NOT NULL DEFAULT '', extra TEXT NOT NULL DEFAULT '{}',"
	" UNIQUE (domain_id, name));"
	"CREATE TABLE user_group ("
	" user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
	" PRIMARY KEY (user_id, group_id));"
	"CREATE INDEX user_group_group ON user_group(group_id);"
	"CREATE TABLE role ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL DEFAULT '',"
	" description TEXT, options TEXT NOT NULL DEFAULT '{}', extra TEXT NOT NULL DEFAULT '{}',"
	" UNIQUE (name, domain_id));"
	"CREATE TABLE implied_role ("
	" prior_role_id TEXT NOT NULL REFERENCES role(id) ON DELETE CASCADE,"
	" implied_role_id TEXT NOT NULL REFERENCES role(id) ON DELETE CASCADE,"
	" PRIMARY KEY (prior_role_id, implied_role_id));"
	/* type: UserProject GroupProject UserDomain GroupDomain UserSystem GroupSystem;
	 * target_id 'system' for system grants. Actor/target rows are removed by the code that
	 * deletes users, groups, projects and domains (the references are polymorphic). */
	"CREATE TABLE assignment ("
	" type TEXT NOT NULL, actor_id TEXT NOT NULL, target_id TEXT NOT NULL,"
	" role_id TEXT NOT NULL REFERENCES role(id) ON DELETE CASCADE,"
	" inherited INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (type, actor_id, target_id, role_id, inherited));"
	"CREATE INDEX assignment_actor ON assignment(actor_id);"
	"CREATE INDEX assignment_target ON assignment(target_id);"
	"CREATE INDEX assignment_role ON assignment(role_id);"
	"CREATE TABLE region ("
	" id TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '',"
	" parent_region_id TEXT REFERENCES region(id), extra TEXT NOT NULL DEFAULT '{}');"
	"CREATE TABLE service ("
	" id TEXT PRIMARY KEY, type TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,"
	" extra TEXT NOT NULL DEFAULT '{}');"
	"CREATE TABLE endpoint ("
	" id TEXT PRIMARY KEY, service_id TEXT NOT NULL REFERENCES service(id) ON DELETE CASCADE,"
	" interface TEXT NOT NULL, url TEXT NOT NULL, region_id TEXT REFERENCES region(id),"
	" enabled INTEGER NOT NULL DEFAULT 1, extra TEXT NOT NULL DEFAULT '{}');"
	"CREATE TABLE application_credential ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL, user_id TEXT NOT NULL,"
	" project_id TEXT NOT NULL, secret_hash TEXT NOT NULL, description TEXT,"
	" expires_at BIGINT, unrestricted INTEGER NOT NULL DEFAULT 0,"
	" created_at BIGINT NOT NULL DEFAULT 0, UNIQUE (user_id, name));"
	"CREATE TABLE application_credential_role ("
	" application_credential_id TEXT NOT NULL REFERENCES application_credential(id) ON DELETE CASCADE,"
	" role_id TEXT NOT NULL, PRIMARY KEY (application_credential_id, role_id));"
	"CREATE TABLE credential ("
	" id TEXT PRIMARY KEY, user_id TEXT NOT NULL, project_id TEXT, type TEXT NOT NULL,"
	" encrypted_blob TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}');"
	"CREATE INDEX credential_user ON credential(user_id);"
	/* Revocation events: a token matches when every non-NULL field equals the token's and it
	 * was issued at or before issued_before (microseconds). */
	"CREATE TABLE revocation_event ("
	" id TEXT PRIMARY KEY, user_id TEXT, project_id TEXT, domain_id TEXT, audit_id TEXT,"
	" audit_chain_id TEXT, app_cred_id TEXT, issued_before BIGINT NOT NULL,"
	" revoked_at BIGINT NOT NULL);"
	"CREATE INDEX revocation_event_revoked ON revocation_event(revoked_at);";

/* v2: OS-EP-FILTER (endpoint groups and the project associations that filter a project's
 * catalog), /v3/policies and OS-ENDPOINT-POLICY. Associations go with what they name (the
 * foreign keys cascade), as Keystone's delete callbacks remove them. */
static const char v2[] =
	"CREATE TABLE endpoint_group ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, filters TEXT NOT NULL);"
	"CREATE TABLE project_endpoint ("
	" endpoint_id TEXT NOT NULL REFERENCES endpoint(id) ON DELETE CASCADE,"
	" project_id TEXT NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
	" PRIMARY KEY (endpoint_id, project_id));"
	"CREATE INDEX project_endpoint_project ON project_endpoint(project_id);"
	"CREATE TABLE project_endpoint_group ("
	" endpoint_group_id TEXT NOT NULL REFERENCES endpoint_group(id) ON DELETE CASCADE,"
	" project_id TEXT NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
	" PRIMARY KEY (endpoint_group_id, project_id));"
	"CREATE INDEX project_endpoint_group_project ON project_endpoint_group(project_id);"
	"CREATE TABLE policy ("
	" id TEXT PRIMARY KEY, type TEXT NOT NULL, blob TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}');"
	/* One row per target: an endpoint, a service, or a service in a region. */
	"CREATE TABLE policy_association ("
	" id TEXT PRIMARY KEY, policy_id TEXT NOT NULL REFERENCES policy(id) ON DELETE CASCADE,"
	" endpoint_id TEXT REFERENCES endpoint(id) ON DELETE CASCADE,"
	" service_id TEXT REFERENCES service(id) ON DELETE CASCADE,"
	" region_id TEXT REFERENCES region(id) ON DELETE CASCADE);"
	"CREATE INDEX policy_association_policy ON policy_association(policy_id);";

/* v3: OS-TRUST. A deleted trust's rows go (its tokens stop validating, as token_build looks
 * the trust up); remaining_uses NULL means unlimited. */
static const char v3[] =
	"CREATE TABLE trust ("
	" id TEXT PRIMARY KEY, trustor_user_id TEXT NOT NULL, trustee_user_id TEXT NOT NULL,"
	" project_id TEXT, impersonation INTEGER NOT NULL, expires_at BIGINT,"
	" remaining_uses INTEGER, extra TEXT NOT NULL DEFAULT '{}');"
	"CREATE INDEX trust_trustor ON trust(trustor_user_id);"
	"CREATE INDEX trust_trustee ON trust(trustee_user_id);"
	"CREATE TABLE trust_role ("
	" trust_id TEXT NOT NULL REFERENCES trust(id) ON DELETE CASCADE,"
	" role_id TEXT NOT NULL, PRIMARY KEY (trust_id, role_id));";

static const struct db_migration migrations[] = {
	{ 1, v1 },
	{ 2, v2 },
	{ 3, v3 },
};

int identity_migrate(struct db *db, char *err, size_t errlen)
{
	return db_migrate(db, "identity", migrations, (int)(sizeof migrations / sizeof migrations[0]),
			  err, errlen);
}
