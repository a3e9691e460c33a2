/* flavor_record.c — the flavor record other files use: loading one with Nova's visibility rule
 * (public, or shared with the caller's project, or any for admins), its extra specs, the JSON
 * views (list, detail, the copy embedded in a server at 2.47), and the default flavors seeded on
 * first start. */
#include "compute/flavors.h"
#include <stdlib.h>
#include <string.h>

void cmp_flavor_from_row(struct http_req *r, const struct db_rows *rows, int i, struct cmp_flavor *f)
{
	*f = (struct cmp_flavor){ 0 };
	f->id = arena_strdup(r->arena, db_text(rows, i, 0));
	f->name = arena_strdup(r->arena, db_text(rows, i, 1));
	f->description = arena_strdup(r->arena, db_text(rows, i, 2));
	f->memory_mb = db_int(rows, i, 3);
	f->vcpus = db_int(rows, i, 4);
	f->root_gb = db_int(rows, i, 5);
	f->ephemeral_gb = db_int(rows, i, 6);
	f->swap = db_int(rows, i, 7);
	const char *rx = db_text(rows, i, 8);
	f->rxtx_factor = rx ? strtod(rx, NULL) : 1.0;
	f->is_public = db_bool(rows, i, 9);
	f->disabled = db_bool(rows, i, 10);
}

int cmp_flavor_load_specs(struct http_req *r, struct cmp_flavor *f)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT key, value FROM cmp_flavor_extra_specs WHERE flavorid = ?"
			  " ORDER BY key", DB_TEXT(f->id));
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor extra specs");
	f->extra_specs = json_object();
	arena_defer(r->arena, json_decref_void, f->extra_specs);
	for (int i = 0; i < db_rows_count(rows); i++)
		json_object_set_new(f->extra_specs, db_text(rows, i, 0), json_string(db_text(rows, i, 1)));
	db_rows_free(rows);
	return 0;
}

int cmp_flavor_get(struct http_req *r, const char *flavorid, bool any, struct cmp_flavor *out)
{
	struct db_rows *rows = NULL;
	int rc;
	if (any || cmp_is_admin(r))
		rc = db_query(cmp_db(r), &rows, "SELECT " CMP_FLAVOR_COLUMNS " FROM cmp_flavors f WHERE flavorid = ?",
			      DB_TEXT(flavorid));
	else
		rc = db_query(cmp_db(r), &rows, "SELECT " CMP_FLAVOR_COLUMNS " FROM cmp_flavors f WHERE flavorid = ?"
			      " AND (is_public = 1 OR EXISTS (SELECT 1 FROM cmp_flavor_projects p"
			      " WHERE p.flavorid = f.flavorid AND p.project_id = ?))",
			      DB_TEXT(flavorid), DB_TEXT(cmp_project(r)));
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor");
	if (db_rows_count(rows) == 0) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Flavor %s could not be found.", flavorid);
	}
	struct cmp_flavor f;
	cmp_flavor_from_row(r, rows, 0, &f);
	db_rows_free(rows);
	rc = cmp_flavor_load_specs(r, &f);
	if (rc)
		return rc;
	*out = f;
	return 0;
}

json_t *cmp_flavor_embed(struct http_req *r, const struct cmp_flavor *f)
{
	json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "original_name", f->name ? f->name : "",
			      "vcpus", (json_int_t)f->vcpus, "ram", (json_int_t)f->memory_mb,
			      "disk", (json_int_t)f->root_gb, "ephemeral", (json_int_t)f->ephemeral_gb,
			      "swap", (json_int_t)f->swap);
	if (cmp_allowed(r, "os_compute_api:servers:show:flavor-extra-specs", NULL, NULL))
		json_object_set_new(o, "extra_specs", f->extra_specs ? json_deep_copy(f->extra_specs) : json_object());
	return o;
}

json_t *cmp_flavor_brief(struct http_req *r, const struct cmp_flavor *f)
{
	json_t *o = json_pack("{s:s,s:s,s:o}", "id", f->id, "name", f->name,
			      "links", cmp_links(r, "flavors", f->id));
	if (cmp_mv_ge(r, 2, 55))
		json_object_set_new(o, "description", f->description ? json_string(f->description) : json_null());
	return o;
}

json_t *cmp_flavor_detail(struct http_req *r, const struct cmp_flavor *f, bool with_specs)
{
	json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:b,s:I,s:b,s:o}", "id", f->id, "name", f->name,
			      "ram", (json_int_t)f->memory_mb, "disk", (json_int_t)f->root_gb,
			      "OS-FLV-EXT-DATA:ephemeral", (json_int_t)f->ephemeral_gb,
			      "vcpus", (json_int_t)f->vcpus, "OS-FLV-DISABLED:disabled", f->disabled,
			      "swap", (json_int_t)f->swap, "os-flavor-access:is_public", f->is_public,
			      "links", cmp_links(r, "flavors", f->id));
	if (f->swap == 0 && !cmp_mv_ge(r, 2, 75))
		json_object_set_new(o, "swap", json_string(""));
	if (f->rxtx_factor == 0)
		json_object_set_new(o, "rxtx_factor", json_string(""));
	else
		json_object_set_new(o, "rxtx_factor", json_real(f->rxtx_factor));
	if (cmp_mv_ge(r, 2, 55))
		json_object_set_new(o, "description", f->description ? json_string(f->description) : json_null());
	if (with_specs)
		json_object_set_new(o, "extra_specs", f->extra_specs ? json_deep_copy(f->extra_specs) : json_object());
	return o;
}

bool cmp_flavor_specs_visible(struct http_req *r)
{
	return cmp_mv_ge(r, 2, 61) && cmp_allowed(r, "os_compute_api:os-flavor-extra-specs:index", NULL, NULL);
}

/* DevStack's flavors: the m1 family plus the small ones for tiny test images. */
static const struct seed {
	const char *id, *name;
	int64_t ram, vcpus, disk;
} seeds[] = {
	{ "1", "m1.tiny", 512, 1, 1 },
	{ "2", "m1.small", 2048, 1, 20 },
	{ "3", "m1.medium", 4096, 2, 40 },
	{ "4", "m1.large", 8192, 4, 80 },
	{ "5", "m1.xlarge", 16384, 8, 160 },
	{ "42", "m1.nano", 128, 1, 1 },
	{ "84", "m1.micro", 192, 1, 1 },
};

int cmp_flavors_seed(struct db *db, char *err, size_t errlen)
{
	struct db_conn *c = db_get(db);
	struct db_rows *rows = NULL;
	int rc = db_begin(c);
	if (rc == 0)
		rc = db_query(c, &rows, "SELECT COUNT(*) FROM cmp_flavors");
	if (rc == 0 && db_int(rows, 0, 0) == 0) {
		int64_t now = time_now_us();
		for (size_t i = 0; rc >= 0 && i < sizeof seeds / sizeof seeds[0]; i++)
			rc = db_exec(c, "INSERT INTO cmp_flavors (flavorid, name, memory_mb, vcpus, root_gb,"
				     " created_at) VALUES (?, ?, ?, ?, ?, ?)", DB_TEXT(seeds[i].id),
				     DB_TEXT(seeds[i].name), DB_INT(seeds[i].ram), DB_INT(seeds[i].vcpus),
				     DB_INT(seeds[i].disk), DB_INT(now));
	}
	db_rows_free(rows);
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0) {
		snprintf(err, errlen, "seeding flavors: %s", db_errmsg(c));
		db_rollback(c);
	}
	db_put(c);
	return rc < 0 ? -1 : 0;
}
