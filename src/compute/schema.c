/* schema.c — the compute service's catalogue tables (migration stream "compute"): flavors and
 * their extra specs and access lists, keypairs, compute services and nodes (hypervisors), host
 * aggregates, quota overrides, server groups, and the id counters of keypairs, aggregates and server
 * groups. The servers' own tables are in schema_servers.c. Times are
 * microseconds since the epoch. */
#include "compute/cmp.h"

static const struct db_migration migrations[] = {
	{ 1,
	  "CREATE TABLE cmp_flavors ("
	  " flavorid VARCHAR(255) PRIMARY KEY,"
	  " name VARCHAR(255) NOT NULL UNIQUE,"
	  " description TEXT,"
	  " memory_mb BIGINT NOT NULL,"
	  " vcpus BIGINT NOT NULL,"
	  " root_gb BIGINT NOT NULL DEFAULT 0,"
	  " ephemeral_gb BIGINT NOT NULL DEFAULT 0,"
	  " swap BIGINT NOT NULL DEFAULT 0,"
	  " rxtx_factor REAL NOT NULL DEFAULT 1.0,"
	  " is_public INTEGER NOT NULL DEFAULT 1,"
	  " disabled INTEGER NOT NULL DEFAULT 0,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT);"
	  "CREATE TABLE cmp_flavor_extra_specs ("
	  " flavorid VARCHAR(255) NOT NULL REFERENCES cmp_flavors(flavorid) ON DELETE CASCADE,"
	  " key VARCHAR(255) NOT NULL,"
	  " value VARCHAR(255) NOT NULL,"
	  " PRIMARY KEY (flavorid, key));"
	  "CREATE TABLE cmp_flavor_projects ("
	  " flavorid VARCHAR(255) NOT NULL REFERENCES cmp_flavors(flavorid) ON DELETE CASCADE,"
	  " project_id VARCHAR(255) NOT NULL,"
	  " PRIMARY KEY (flavorid, project_id));"
	  "CREATE TABLE cmp_keypairs ("
	  " user_id VARCHAR(255) NOT NULL,"
	  " name VARCHAR(255) NOT NULL,"
	  " type VARCHAR(10) NOT NULL,"
	  " public_key TEXT NOT NULL,"
	  " fingerprint VARCHAR(255) NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " PRIMARY KEY (user_id, name));"
	  /* A compute service (binary nova-compute on host) or another service of the cloud. id is
	   * the integer id of microversions < 2.53, uuid the one of >= 2.53 ("binary" is a reserved word
	   * in PostgreSQL, hence service_binary). */
	  "CREATE TABLE cmp_services ("
	  " id BIGINT NOT NULL UNIQUE,"
	  " uuid VARCHAR(36) PRIMARY KEY,"
	  " host VARCHAR(255) NOT NULL,"
	  " service_binary VARCHAR(255) NOT NULL,"
	  " topic VARCHAR(255),"
	  " disabled INTEGER NOT NULL DEFAULT 0,"
	  " disabled_reason VARCHAR(255),"
	  " forced_down INTEGER NOT NULL DEFAULT 0,"
	  " last_seen_up BIGINT,"
	  " report_count BIGINT NOT NULL DEFAULT 0,"
	  " version BIGINT NOT NULL DEFAULT 0,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT,"
	  " UNIQUE (host, service_binary));"
	  /* A hypervisor: the compute node of a host (its resource provider in placement has the
	   * same uuid). */
	  "CREATE TABLE cmp_nodes ("
	  " id BIGINT NOT NULL UNIQUE,"
	  " uuid VARCHAR(36) PRIMARY KEY,"
	  " host VARCHAR(255) NOT NULL,"
	  " hypervisor_hostname VARCHAR(255) NOT NULL UNIQUE,"
	  " hypervisor_type VARCHAR(255) NOT NULL,"
	  " hypervisor_version BIGINT NOT NULL DEFAULT 0,"
	  " vcpus BIGINT NOT NULL,"
	  " memory_mb BIGINT NOT NULL,"
	  " local_gb BIGINT NOT NULL,"
	  " cpu_info TEXT,"
	  " host_ip VARCHAR(64),"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT);"
	  "CREATE INDEX cmp_nodes_host ON cmp_nodes (host);"
	  "CREATE TABLE cmp_aggregates ("
	  " id BIGINT NOT NULL UNIQUE,"
	  " uuid VARCHAR(36) PRIMARY KEY,"
	  " name VARCHAR(255) NOT NULL UNIQUE,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT);"
	  "CREATE TABLE cmp_aggregate_hosts ("
	  " aggregate_id BIGINT NOT NULL REFERENCES cmp_aggregates(id) ON DELETE CASCADE,"
	  " host VARCHAR(255) NOT NULL,"
	  " PRIMARY KEY (aggregate_id, host));"
	  "CREATE TABLE cmp_aggregate_metadata ("
	  " aggregate_id BIGINT NOT NULL REFERENCES cmp_aggregates(id) ON DELETE CASCADE,"
	  " key VARCHAR(255) NOT NULL,"
	  " value VARCHAR(255) NOT NULL,"
	  " PRIMARY KEY (aggregate_id, key));"
	  /* Quota overrides: per project (user_id ''), per user, and per quota class. */
	  "CREATE TABLE cmp_quotas ("
	  " project_id VARCHAR(255) NOT NULL,"
	  " user_id VARCHAR(255) NOT NULL DEFAULT '',"
	  " resource VARCHAR(255) NOT NULL,"
	  " hard_limit BIGINT NOT NULL,"
	  " PRIMARY KEY (project_id, user_id, resource));"
	  "CREATE TABLE cmp_quota_classes ("
	  " class_name VARCHAR(255) NOT NULL,"
	  " resource VARCHAR(255) NOT NULL,"
	  " hard_limit BIGINT NOT NULL,"
	  " PRIMARY KEY (class_name, resource));" },
	{ 2,
	  /* Server groups (policy affinity, anti-affinity, soft-affinity, soft-anti-affinity; rules
	   * a JSON object such as {"max_server_per_host": 2}) and their members. */
	  "CREATE TABLE cmp_server_groups ("
	  " id BIGINT NOT NULL UNIQUE,"
	  " uuid VARCHAR(36) PRIMARY KEY,"
	  " name VARCHAR(255) NOT NULL,"
	  " project_id VARCHAR(255) NOT NULL,"
	  " user_id VARCHAR(255) NOT NULL,"
	  " policy VARCHAR(255) NOT NULL,"
	  " rules TEXT NOT NULL DEFAULT '{}',"
	  " created_at BIGINT NOT NULL);"
	  "CREATE INDEX cmp_server_groups_project ON cmp_server_groups (project_id);"
	  "CREATE TABLE cmp_server_group_members ("
	  " group_uuid VARCHAR(36) NOT NULL REFERENCES cmp_server_groups(uuid) ON DELETE CASCADE,"
	  " instance_uuid VARCHAR(36) NOT NULL,"
	  " PRIMARY KEY (group_uuid, instance_uuid));"
	  "CREATE INDEX cmp_server_group_members_instance ON cmp_server_group_members (instance_uuid);" },
	{ 3,
	  /* The integer id keypairs show (GET /os-keypairs/{name}). */
	  "ALTER TABLE cmp_keypairs ADD COLUMN id BIGINT NOT NULL DEFAULT 0;" },
	{ 4,
	  /* Integer ids handed out in order for keypairs, aggregates and server groups: taking one
	   * locks its row until commit, so concurrent creators on PostgreSQL never pick the same. */
	  "CREATE TABLE cmp_catalog_ids ("
	  " name VARCHAR(64) PRIMARY KEY,"
	  " value BIGINT NOT NULL);"
	  "INSERT INTO cmp_catalog_ids (name, value) SELECT 'keypairs', COALESCE(MAX(id), 0) FROM cmp_keypairs;"
	  "INSERT INTO cmp_catalog_ids (name, value) SELECT 'aggregates', COALESCE(MAX(id), 0) FROM cmp_aggregates;"
	  "INSERT INTO cmp_catalog_ids (name, value) SELECT 'server_groups', COALESCE(MAX(id), 0)"
	  " FROM cmp_server_groups;" },
	{ 5,
	  /* A remote compute agent's own listener (console log, VNC address) and the secret the
	   * controller handed it at registration, which that listener requires (agent_api.c). */
	  "ALTER TABLE cmp_services ADD COLUMN agent_url TEXT;"
	  "ALTER TABLE cmp_services ADD COLUMN agent_secret TEXT;" },
};

int cmp_next_id(struct http_req *r, const char *name, int64_t *id)
{
	struct db_rows *rows = NULL;
	int rc = db_exec(cmp_db(r), "UPDATE cmp_catalog_ids SET value = value + 1 WHERE name = ?", DB_TEXT(name));
	if (rc >= 0)
		rc = db_query(cmp_db(r), &rows, "SELECT value FROM cmp_catalog_ids WHERE name = ?", DB_TEXT(name));
	if (rc < 0)
		return cmp_db_error(r, rc, "id counter");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return cmp_db_error(r, ERR_INTERNAL, "id counter missing");
	}
	*id = db_int(rows, 0, 0);
	db_rows_free(rows);
	return 0;
}

int cmp_schema_migrate(struct db *db, char *err, size_t errlen)
{
	return db_migrate(db, "compute", migrations, sizeof migrations / sizeof migrations[0], err, errlen);
}
