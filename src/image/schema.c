/* schema.c — the image service's database schema, as versioned migrations. Times are
 * microseconds since the epoch; extra properties, tags and members hang off the image and go
 * with it. */
#include "image/img.h"

static const struct db_migration migrations[] = {
	{ 1,
	  "CREATE TABLE img_images ("
	  " id VARCHAR(36) PRIMARY KEY,"
	  " name VARCHAR(255),"
	  " status VARCHAR(30) NOT NULL,"
	  " visibility VARCHAR(20) NOT NULL,"
	  " owner VARCHAR(255),"
	  " disk_format VARCHAR(20),"
	  " container_format VARCHAR(20),"
	  " checksum VARCHAR(32),"
	  " os_hash_algo VARCHAR(64),"
	  " os_hash_value VARCHAR(128),"
	  " store VARCHAR(64),"
	  " location TEXT,"
	  " upload_id VARCHAR(36),"
	  " size BIGINT,"
	  " virtual_size BIGINT,"
	  " staged BIGINT,"
	  " min_disk BIGINT NOT NULL DEFAULT 0,"
	  " min_ram BIGINT NOT NULL DEFAULT 0,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " protected INTEGER NOT NULL DEFAULT 0,"
	  " os_hidden INTEGER NOT NULL DEFAULT 0);"
	  "CREATE INDEX img_images_owner ON img_images (owner);"
	  "CREATE INDEX img_images_created ON img_images (created_at);"
	  "CREATE TABLE img_properties ("
	  " image_id VARCHAR(36) NOT NULL REFERENCES img_images(id) ON DELETE CASCADE,"
	  " name VARCHAR(255) NOT NULL,"
	  " value TEXT NOT NULL,"
	  " PRIMARY KEY (image_id, name));"
	  "CREATE TABLE img_tags ("
	  " image_id VARCHAR(36) NOT NULL REFERENCES img_images(id) ON DELETE CASCADE,"
	  " value VARCHAR(255) NOT NULL,"
	  " PRIMARY KEY (image_id, value));"
	  "CREATE INDEX img_tags_value ON img_tags (value);"
	  "CREATE TABLE img_members ("
	  " image_id VARCHAR(36) NOT NULL REFERENCES img_images(id) ON DELETE CASCADE,"
	  " member VARCHAR(255) NOT NULL,"
	  " status VARCHAR(20) NOT NULL,"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " PRIMARY KEY (image_id, member));"
	  "CREATE INDEX img_members_member ON img_members (member);" },
	{ 2,
	  "CREATE TABLE img_tasks ("
	  " id VARCHAR(36) PRIMARY KEY,"
	  " image_id VARCHAR(36) NOT NULL REFERENCES img_images(id) ON DELETE CASCADE,"
	  " type VARCHAR(30) NOT NULL,"
	  " status VARCHAR(30) NOT NULL,"
	  " owner VARCHAR(255),"
	  " user_id VARCHAR(64),"
	  " request_id VARCHAR(64),"
	  " input TEXT,"
	  " result TEXT,"
	  " message TEXT NOT NULL DEFAULT '',"
	  " created_at BIGINT NOT NULL,"
	  " updated_at BIGINT NOT NULL,"
	  " expires_at BIGINT);"
	  "CREATE INDEX img_tasks_image ON img_tasks (image_id);" },
};

int image_migrate(struct db *db, char *err, size_t errlen)
{
	return db_migrate(db, "image", migrations, (int)(sizeof migrations / sizeof migrations[0]),
			  err, errlen) || img_metadefs_migrate(db, err, errlen) ? -1 : 0;
}
