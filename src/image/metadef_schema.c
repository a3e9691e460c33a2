/* metadef_schema.c — the metadata-definition tables, as their own migration stream
 * ("image_metadefs"), and the resource types a cloud knows from the start (what Glance's
 * `glance-manage db load_metadefs` seeds). Everything in a namespace goes with it. */
#include "image/metadefs.h"
#include <stdio.h>

static const struct db_migration migrations[] = {
	{ 1,
	  "CREATE TABLE img_metadef_namespaces ("
	  " id VARCHAR(36) PRIMARY KEY,"
	  " namespace VARCHAR(80) NOT NULL UNIQUE,"
	  " display_name VARCHAR(80),"
	  " description TEXT,"
	  " visibility VARCHAR(32) NOT NULL,"
	  " protected INTEGER NOT NULL DEFAULT 0,"
	  " owner VARCHAR(255) NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL);"
	  "CREATE INDEX img_metadef_namespaces_owner ON img_metadef_namespaces (owner);"
	  "CREATE TABLE img_metadef_objects ("
	  " id VARCHAR(36) PRIMARY KEY,"
	  " namespace_id VARCHAR(36) NOT NULL REFERENCES img_metadef_namespaces(id) ON DELETE CASCADE,"
	  " name VARCHAR(80) NOT NULL,"
	  " description TEXT,"
	  " required TEXT,"
	  " json_schema TEXT NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " UNIQUE (namespace_id, name));"
	  "CREATE TABLE img_metadef_properties ("
	  " id VARCHAR(36) PRIMARY KEY,"
	  " namespace_id VARCHAR(36) NOT NULL REFERENCES img_metadef_namespaces(id) ON DELETE CASCADE,"
	  " name VARCHAR(80) NOT NULL,"
	  " json_schema TEXT NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " UNIQUE (namespace_id, name));"
	  "CREATE TABLE img_metadef_tags ("
	  " id VARCHAR(36) PRIMARY KEY,"
	  " namespace_id VARCHAR(36) NOT NULL REFERENCES img_metadef_namespaces(id) ON DELETE CASCADE,"
	  " name VARCHAR(80) NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " UNIQUE (namespace_id, name));"
	  "CREATE TABLE img_metadef_resource_types ("
	  " id VARCHAR(36) PRIMARY KEY,"
	  " name VARCHAR(80) NOT NULL UNIQUE,"
	  " protected INTEGER NOT NULL DEFAULT 0,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL);"
	  "CREATE TABLE img_metadef_ns_resource_types ("
	  " resource_type_id VARCHAR(36) NOT NULL REFERENCES img_metadef_resource_types(id),"
	  " namespace_id VARCHAR(36) NOT NULL REFERENCES img_metadef_namespaces(id) ON DELETE CASCADE,"
	  " properties_target VARCHAR(80),"
	  " prefix VARCHAR(80),"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " PRIMARY KEY (resource_type_id, namespace_id));"
	  "CREATE INDEX img_metadef_ns_rt_namespace ON img_metadef_ns_resource_types (namespace_id);" },
};

/* The resource types of Glance's shipped definitions, in the order they are listed. */
static const char *const seeded[] = {
	"OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
	"OS::Nova::Server", "OS::Trove::Instance", "OS::Cinder::Volumetype", NULL,
};

/* Adds the seeded types that are missing (idempotent; a concurrent starter may win a race). */
static int seed(struct db *db, char *err, size_t errlen)
{
	struct db_conn *c = db_get(db);
	int rc = db_begin(c);
	int64_t now = time_now_us();
	for (int i = 0; rc >= 0 && seeded[i]; i++) {
		struct db_rows *rows;
		rc = db_query(c, &rows, "SELECT id FROM img_metadef_resource_types WHERE name = ?",
			      DB_TEXT(seeded[i]));
		if (rc < 0)
			break;
		int n = db_rows_count(rows);
		db_rows_free(rows);
		if (n)
			continue;
		char id[37];
		uuid_dashed(id);
		/* one microsecond apart so that the list keeps this order */
		rc = db_exec(c, "INSERT INTO img_metadef_resource_types (id, name, protected, created_at,"
			     " updated_at) VALUES (?, ?, 1, ?, ?)", DB_TEXT(id), DB_TEXT(seeded[i]),
			     DB_INT(now + i), DB_INT(now + i));
	}
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0 && rc != ERR_CONFLICT)
		snprintf(err, errlen, "seeding the metadef resource types failed: %s", db_errmsg(c));
	db_put(c);   /* rolls back anything left open */
	return rc < 0 && rc != ERR_CONFLICT ? -1 : 0;
}

int img_metadefs_migrate(struct db *db, char *err, size_t errlen)
{
	if (db_migrate(db, "image_metadefs", migrations,
		       (int)(sizeof migrations / sizeof migrations[0]), err, errlen))
		return -1;
	return seed(db, err, errlen);
}
