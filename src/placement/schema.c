/* schema.c — the placement tables (migration stream "placement"). Standard resource classes and
 * traits are compiled in (std_names.c); only custom ones are rows. Providers are keyed by uuid;
 * inventories, allocations, traits and aggregates hang off them by uuid and class name.
 * Times are microseconds since the epoch. */
#include "placement/plc.h"

static const struct db_migration migrations[] = {
	{ 1,
	  "CREATE TABLE plc_providers ("
	  " uuid VARCHAR(36) PRIMARY KEY,"
	  " name VARCHAR(200) NOT NULL UNIQUE,"
	  " generation BIGINT NOT NULL DEFAULT 0,"
	  " parent_uuid VARCHAR(36) REFERENCES plc_providers(uuid),"
	  " root_uuid VARCHAR(36) NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL);"
	  "CREATE INDEX plc_providers_root ON plc_providers (root_uuid);"
	  "CREATE INDEX plc_providers_parent ON plc_providers (parent_uuid);"
	  "CREATE INDEX plc_providers_created ON plc_providers (created_at);"
	  "CREATE TABLE plc_resource_classes ("
	  " name VARCHAR(255) PRIMARY KEY,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL);"
	  "CREATE TABLE plc_traits ("
	  " name VARCHAR(255) PRIMARY KEY,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL);"
	  "CREATE TABLE plc_inventories ("
	  " provider_uuid VARCHAR(36) NOT NULL REFERENCES plc_providers(uuid),"
	  " rc VARCHAR(255) NOT NULL,"
	  " total BIGINT NOT NULL,"
	  " reserved BIGINT NOT NULL,"
	  " min_unit BIGINT NOT NULL,"
	  " max_unit BIGINT NOT NULL,"
	  " step_size BIGINT NOT NULL,"
	  " allocation_ratio DOUBLE PRECISION NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " PRIMARY KEY (provider_uuid, rc));"
	  "CREATE INDEX plc_inventories_rc ON plc_inventories (rc);"
	  "CREATE TABLE plc_provider_traits ("
	  " provider_uuid VARCHAR(36) NOT NULL REFERENCES plc_providers(uuid),"
	  " trait VARCHAR(255) NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " PRIMARY KEY (provider_uuid, trait));"
	  "CREATE INDEX plc_provider_traits_trait ON plc_provider_traits (trait);"
	  "CREATE TABLE plc_provider_aggregates ("
	  " provider_uuid VARCHAR(36) NOT NULL REFERENCES plc_providers(uuid),"
	  " aggregate VARCHAR(36) NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " PRIMARY KEY (provider_uuid, aggregate));"
	  "CREATE INDEX plc_provider_aggregates_agg ON plc_provider_aggregates (aggregate);"
	  "CREATE TABLE plc_consumers ("
	  " uuid VARCHAR(36) PRIMARY KEY,"
	  " project_id VARCHAR(255) NOT NULL,"
	  " user_id VARCHAR(255) NOT NULL,"
	  " consumer_type VARCHAR(255),"
	  " generation BIGINT NOT NULL DEFAULT 0,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL);"
	  "CREATE INDEX plc_consumers_project ON plc_consumers (project_id, user_id);"
	  "CREATE TABLE plc_allocations ("
	  " consumer_uuid VARCHAR(36) NOT NULL,"
	  " provider_uuid VARCHAR(36) NOT NULL REFERENCES plc_providers(uuid),"
	  " rc VARCHAR(255) NOT NULL,"
	  " used BIGINT NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " PRIMARY KEY (consumer_uuid, provider_uuid, rc));"
	  "CREATE INDEX plc_allocations_provider ON plc_allocations (provider_uuid, rc);" },
};

int placement_migrate(struct db *db, char *err, size_t errlen)
{
	return db_migrate(db, "placement", migrations,
			  (int)(sizeof migrations / sizeof migrations[0]), err, errlen);
}
