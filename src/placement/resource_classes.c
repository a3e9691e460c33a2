/* resource_classes.c — resource classes (1.2): the standard ones of os-resource-classes plus
 * CUSTOM_* rows. GET/POST /resource_classes, GET/DELETE /resource_classes/{name}, PUT as a rename
 * (1.2–1.6) or as an idempotent create (1.7). */
#include "placement/plc.h"
#include <stdio.h>
#include <string.h>

static json_t *render(struct http_req *r, const char *name)
{
	return json_pack("{s:s,s:[{s:s,s:s}]}", "name", name, "links", "rel", "self", "href",
			 arena_printf(r->arena, PLC_PREFIX "/resource_classes/%s", name));
}

static int not_found(struct http_req *r, const char *name)
{
	return plc_error(r, ERR_NOTFOUND, NULL, "No such resource class %s.", name);
}

static int list(struct http_req *r)
{
	if (!plc_ge(r, 1, 2))
		return plc_not_found_version(r);
	struct db_rows *rows;
	int rc = db_query(plc_db(r), &rows, "SELECT name, updated_at FROM plc_resource_classes "
			  "ORDER BY created_at, name");
	if (rc < 0)
		return plc_db_error(r, rc);
	json_t *arr = json_array();
	for (int i = 0; i < plc_nstd_rcs; i++)
		json_array_append_new(arr, render(r, plc_std_rcs[i]));
	int64_t last = 0;
	for (int i = 0; i < db_rows_count(rows); i++) {
		json_array_append_new(arr, render(r, db_text(rows, i, 0)));
		if (db_int(rows, i, 1) > last)
			last = db_int(rows, i, 1);
	}
	db_rows_free(rows);
	return plc_reply(r, 200, json_pack("{s:o}", "resource_classes", arr), last);
}

static int show(struct http_req *r)
{
	if (!plc_ge(r, 1, 2))
		return plc_not_found_version(r);
	const char *name = http_param(r, "name");
	if (!plc_rc_exists(plc_db(r), name))
		return not_found(r, name);
	return plc_reply(r, 200, render(r, name), 0);
}

/* The body {"name": "CUSTOM_..."}: 0 and *name, or 400. */
static int body_name(struct http_req *r, const char **name)
{
	json_t *body;
	int rc = plc_body(r, &body);
	static const char *const keys[] = { "name", NULL };
	if (rc < 0 || (rc = plc_v_object(r, body, keys, keys)) < 0 ||
	    (rc = plc_v_string(r, body, "name", 0, PLC_CLASS_MAX, name)) < 0)
		return rc;
	if (!plc_custom_ok(*name))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: '%s' does not match "
				 "'^CUSTOM_[A-Z0-9_]+$'", *name);
	return 0;
}

static int insert(struct http_req *r, const char *name)
{
	int64_t now = time_now_us();
	return db_exec(plc_db(r), "INSERT INTO plc_resource_classes (name, created_at, updated_at) "
		       "VALUES (?, ?, ?)", DB_TEXT(name), DB_INT(now), DB_INT(now));
}

static int create(struct http_req *r)
{
	int rc = plc_require_json(r);
	if (rc < 0)
		return rc;
	if (!plc_ge(r, 1, 2))
		return plc_not_found_version(r);
	const char *name;
	if ((rc = body_name(r, &name)) < 0)
		return rc;
	rc = plc_rc_exists(plc_db(r), name) ? ERR_CONFLICT : insert(r, name);
	if (rc == ERR_CONFLICT)
		return plc_error(r, rc, NULL, "Conflicting resource class already exists: %s", name);
	if (rc < 0)
		return plc_db_error(r, rc);
	http_add_header(r, "Location", arena_printf(r->arena, "%s" PLC_PREFIX "/resource_classes/%s",
						    r->base_url, name));
	return http_reply_empty(r, 201);
}

/* 1.2 – 1.6: renames a custom class (its inventories and allocations follow). */
static int rename_class(struct http_req *r)
{
	int rc = plc_require_json(r);
	const char *old = http_param(r, "name"), *name;
	if (rc < 0 || (rc = body_name(r, &name)) < 0)
		return rc;
	struct db_conn *c = plc_db(r);
	if (!plc_rc_exists(c, old))
		return not_found(r, old);
	if (!plc_custom_ok(old))
		return plc_error(r, ERR_BADREQ, NULL, "Cannot update standard resource class %s", old);
	if (!strcmp(old, name))
		return plc_reply(r, 200, render(r, name), 0);
	if (plc_rc_exists(c, name))
		return plc_error(r, ERR_CONFLICT, NULL, "Resource class already exists: %s", name);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	int64_t now = time_now_us();
	if ((rc = insert(r, name)) >= 0 &&
	    (rc = db_exec(c, "UPDATE plc_inventories SET rc = ? WHERE rc = ?", DB_TEXT(name), DB_TEXT(old))) >= 0 &&
	    (rc = db_exec(c, "UPDATE plc_allocations SET rc = ? WHERE rc = ?", DB_TEXT(name), DB_TEXT(old))) >= 0 &&
	    (rc = db_exec(c, "DELETE FROM plc_resource_classes WHERE name = ?", DB_TEXT(old))) >= 0)
		rc = db_exec(c, "UPDATE plc_resource_classes SET updated_at = ? WHERE name = ?", DB_INT(now),
			     DB_TEXT(name));
	rc = plc_tx_end(c, own, rc < 0 ? rc : 0);
	if (rc == ERR_CONFLICT)
		return plc_error(r, rc, NULL, "Resource class already exists: %s", name);
	if (rc < 0)
		return plc_db_error(r, rc);
	return plc_reply(r, 200, render(r, name), now);
}

static int put(struct http_req *r)
{
	if (!plc_ge(r, 1, 2))
		return plc_not_found_version(r);
	if (!plc_ge(r, 1, 7))
		return rename_class(r);
	const char *name = http_param(r, "name");
	if (strlen(name) > PLC_CLASS_MAX)
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: '%s' is too long", name);
	if (!plc_custom_ok(name))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: '%s' does not match "
				 "'^CUSTOM_[A-Z0-9_]+$'", name);
	int status = 204;
	if (!plc_rc_exists(plc_db(r), name)) {
		int rc = insert(r, name);
		if (rc < 0 && rc != ERR_CONFLICT)
			return plc_db_error(r, rc);
		status = rc == 1 ? 201 : 204;
	}
	http_add_header(r, "Location", arena_printf(r->arena, "%s" PLC_PREFIX "/resource_classes/%s",
						    r->base_url, name));
	return http_reply_empty(r, status);
}

static int delete(struct http_req *r)
{
	if (!plc_ge(r, 1, 2))
		return plc_not_found_version(r);
	const char *name = http_param(r, "name");
	struct db_conn *c = plc_db(r);
	if (!plc_rc_exists(c, name))
		return not_found(r, name);
	if (!plc_custom_ok(name))
		return plc_error(r, ERR_BADREQ, NULL, "Error in delete resource class: Cannot delete "
				 "standard resource class %s.", name);
	bool own;
	int rc = plc_tx_begin(c, &own);
	if (rc < 0)
		return plc_db_error(r, rc);
	struct db_rows *rows;
	rc = db_query(c, &rows, "SELECT 1 FROM plc_inventories WHERE rc = ? LIMIT 1", DB_TEXT(name));
	if (rc >= 0) {
		bool inuse = db_rows_count(rows) > 0;
		db_rows_free(rows);
		if (inuse)
			rc = plc_error(r, ERR_CONFLICT, NULL, "Error in delete resource class: Cannot delete "
				       "resource class %s. Class is in use in inventory.", name);
		else if ((rc = db_exec(c, "DELETE FROM plc_resource_classes WHERE name = ?", DB_TEXT(name))) == 0)
			rc = not_found(r, name);
		else if (rc < 0)
			rc = plc_db_error(r, rc);
	} else {
		rc = plc_db_error(r, rc);
	}
	rc = plc_tx_end(c, own, rc < 0 ? rc : 0);
	if (rc < 0)
		return r->err ? rc : plc_db_error(r, rc);
	return http_reply_empty(r, 204);
}

const struct route plc_routes_classes[] = {
	{ "GET", "/resource_classes", list, "placement:resource_classes:list", 0, NULL },
	{ "POST", "/resource_classes", create, "placement:resource_classes:create", 0, NULL },
	{ "GET", "/resource_classes/{name}", show, "placement:resource_classes:show", 0, NULL },
	{ "PUT", "/resource_classes/{name}", put, "placement:resource_classes:update", 0, NULL },
	{ "DELETE", "/resource_classes/{name}", delete, "placement:resource_classes:delete", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
