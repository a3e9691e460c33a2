/* server_sub.c — the resources under a server: metadata (and its items), tags (2.26), ips (none
 * without a networking service), os-server-password, diagnostics (admin; the standard format at
 * 2.48), remote-consoles (2.6: an honest vnc:// address), and the server's live migrations (none
 * ever run here). Another project's server is 404 throughout. */
#include "compute/srv.h"
#include <stdio.h>
#include <string.h>

static const char *const META_VM[] = { VM_ACTIVE, VM_PAUSED, VM_SUSPENDED, VM_STOPPED, NULL };

static int load(struct http_req *r, struct srv *s, const char *rule)
{
	int rc = srv_get(r, http_param(r, "server_id"), false, s);
	if (rc < 0)
		return rc;
	return cmp_enforce(r, rule, s->project_id, NULL);
}

static int only_key(struct http_req *r, json_t *body, const char *key, json_t **out)
{
	if (!body)
		return ERR_BADREQ;
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v)
		if (strcmp(k, key))
			return cmp_v_unexpected(r, "body", k);
	*out = json_object_get(body, key);
	if (!*out)
		return cmp_bad_field(r, "body", arena_printf(r->arena, "'%s' is a required property", key));
	return 0;
}

/* --- metadata --- */

static json_t *metadata_of(struct http_req *r, const char *uuid, int *rc)
{
	struct db_rows *rows = NULL;
	json_t *md = json_object();
	*rc = db_query(cmp_db(r), &rows, "SELECT key, value FROM cmp_instance_metadata WHERE instance_uuid = ? ORDER BY key",
		       DB_TEXT(uuid));
	if (*rc < 0) {
		json_decref(md);
		*rc = cmp_db_error(r, *rc, "metadata");
		return NULL;
	}
	for (int i = 0; i < db_rows_count(rows); i++)
		json_object_set_new(md, db_text(rows, i, 0), json_string(db_text(rows, i, 1)));
	db_rows_free(rows);
	return md;
}

static int h_md_index(struct http_req *r)
{
	struct srv s;
	int rc = load(r, &s, "os_compute_api:server-metadata:index");
	if (rc < 0)
		return rc;
	json_t *md = metadata_of(r, s.uuid, &rc);
	return md ? http_reply_json(r, 200, json_pack("{s:o}", "metadata", md)) : rc;
}

static int h_md_show(struct http_req *r)
{
	struct srv s;
	int rc = load(r, &s, "os_compute_api:server-metadata:show");
	if (rc < 0)
		return rc;
	json_t *md = metadata_of(r, s.uuid, &rc);
	if (!md)
		return rc;
	const char *key = http_param(r, "key");
	json_t *v = json_object_get(md, key);
	if (!v) {
		json_decref(md);
		return http_error(r, ERR_NOTFOUND, "Metadata item was not found");
	}
	json_t *out = json_pack("{s:{s:O}}", "meta", key, v);
	json_decref(md);
	return http_reply_json(r, 200, out);
}

/* Writes metadata: merged into (replace=false) or replacing the current items; the result. */
static int write_metadata(struct http_req *r, struct srv *s, json_t *items, bool replace, json_t **result)
{
	int rc = srv_check_lock(r, s);
	if (rc < 0 || (rc = srv_check_state(r, s, "update metadata", META_VM, NULL, true)) < 0)
		return rc;
	json_t *md = metadata_of(r, s->uuid, &rc);
	if (!md)
		return rc;
	if (replace)
		json_object_clear(md);
	json_object_update(md, items);
	if ((rc = srv_check_metadata_quota(r, s->project_id, (int64_t)json_object_size(md))) < 0) {
		json_decref(md);
		return rc;
	}
	if ((rc = cmp_begin(r)) < 0) {
		json_decref(md);
		return rc;
	}
	struct db_conn *c = cmp_db(r);
	rc = db_exec(c, "DELETE FROM cmp_instance_metadata WHERE instance_uuid = ?", DB_TEXT(s->uuid));
	const char *k;
	json_t *v;
	json_object_foreach(md, k, v)
		if (rc >= 0)
			rc = db_exec(c, "INSERT INTO cmp_instance_metadata (instance_uuid, key, value) VALUES (?, ?, ?)",
				     DB_TEXT(s->uuid), DB_TEXT(k), DB_TEXT(json_string_value(v)));
	if (rc >= 0)
		rc = db_exec(c, "UPDATE cmp_instances SET updated_at = ? WHERE uuid = ?", DB_INT(time_now_us()), DB_TEXT(s->uuid));
	if (rc < 0) {
		json_decref(md);
		return cmp_db_error(r, rc, "metadata");
	}
	if ((rc = cmp_commit(r)) < 0) {
		json_decref(md);
		return rc;
	}
	*result = md;
	return 0;
}

static int md_write(struct http_req *r, bool replace, const char *rule)
{
	json_t *items;
	int rc = only_key(r, http_body_json(r), "metadata", &items);
	if (rc < 0 || (rc = srv_validate_metadata(r, items, "metadata")) < 0)
		return rc;
	struct srv s;
	if ((rc = load(r, &s, rule)) < 0)
		return rc;
	json_t *md;
	if ((rc = write_metadata(r, &s, items, replace, &md)) < 0)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "metadata", md));
}

static int h_md_create(struct http_req *r)
{
	return md_write(r, false, "os_compute_api:server-metadata:create");
}

static int h_md_update_all(struct http_req *r)
{
	return md_write(r, true, "os_compute_api:server-metadata:update_all");
}

static int h_md_update(struct http_req *r)
{
	json_t *meta;
	int rc = only_key(r, http_body_json(r), "meta", &meta);
	if (rc < 0 || (rc = srv_validate_metadata(r, meta, "meta")) < 0)
		return rc;
	if (json_object_size(meta) != 1)
		return cmp_bad_field(r, "meta", json_object_size(meta) ? "Value has too many properties" : "Value does not have enough properties");
	struct srv s;
	if ((rc = load(r, &s, "os_compute_api:server-metadata:update")) < 0)
		return rc;
	if (!json_object_get(meta, http_param(r, "key")))
		return http_error(r, ERR_BADREQ, "Request body and URI mismatch");
	json_t *md;
	if ((rc = write_metadata(r, &s, meta, false, &md)) < 0)
		return rc;
	json_decref(md);
	return http_reply_json(r, 200, json_pack("{s:O}", "meta", meta));
}

static int h_md_delete(struct http_req *r)
{
	struct srv s;
	int rc = load(r, &s, "os_compute_api:server-metadata:delete");
	if (rc < 0)
		return rc;
	json_t *md = metadata_of(r, s.uuid, &rc);
	if (!md)
		return rc;
	bool present = json_object_get(md, http_param(r, "key")) != NULL;
	json_decref(md);
	if (!present)
		return http_error(r, ERR_NOTFOUND, "Metadata item was not found");
	if ((rc = srv_check_lock(r, &s)) < 0 || (rc = srv_check_state(r, &s, "delete metadata", META_VM, NULL, true)) < 0)
		return rc;
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_instance_metadata WHERE instance_uuid = ? AND key = ?", DB_TEXT(s.uuid),
		     DB_TEXT(http_param(r, "key")));
	if (rc >= 0)
		rc = db_exec(cmp_db(r), "UPDATE cmp_instances SET updated_at = ? WHERE uuid = ?", DB_INT(time_now_us()), DB_TEXT(s.uuid));
	if (rc < 0)
		return cmp_db_error(r, rc, "metadata");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- tags (2.26) --- */

static int tags_version(struct http_req *r)
{
	if (!cmp_mv_ge(r, 2, 26))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	return 0;
}

static json_t *tags_of(struct http_req *r, const char *uuid, int *rc)
{
	struct db_rows *rows = NULL;
	*rc = db_query(cmp_db(r), &rows, "SELECT tag FROM cmp_instance_tags WHERE instance_uuid = ? ORDER BY tag", DB_TEXT(uuid));
	if (*rc < 0) {
		*rc = cmp_db_error(r, *rc, "tags");
		return NULL;
	}
	json_t *t = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(t, json_string(db_text(rows, i, 0)));
	db_rows_free(rows);
	return t;
}

static int tag_state(struct http_req *r, struct srv *s, const char *action)
{
	return srv_check_state(r, s, action, META_VM, NULL, false);
}

static int touch(struct db_conn *c, const char *uuid)
{
	return db_exec(c, "UPDATE cmp_instances SET updated_at = ? WHERE uuid = ?", DB_INT(time_now_us()), DB_TEXT(uuid));
}

/* Ends a tag change whose statement returned rc (>= 0 on success): touches the server, commits. */
static int tags_commit(struct http_req *r, const char *uuid, int rc)
{
	if (rc >= 0)
		rc = touch(cmp_db(r), uuid);
	if (rc < 0)
		return cmp_db_error(r, rc, "tags");
	return cmp_commit(r);
}

static int h_tags_index(struct http_req *r)
{
	struct srv s;
	int rc = tags_version(r);
	if (rc < 0 || (rc = load(r, &s, "os_compute_api:os-server-tags:index")) < 0)
		return rc;
	json_t *t = tags_of(r, s.uuid, &rc);
	return t ? http_reply_json(r, 200, json_pack("{s:o}", "tags", t)) : rc;
}

static int h_tags_show(struct http_req *r)
{
	struct srv s;
	int rc = tags_version(r);
	if (rc < 0 || (rc = load(r, &s, "os_compute_api:os-server-tags:show")) < 0)
		return rc;
	struct db_rows *rows = NULL;
	const char *tag = http_param(r, "tag");
	rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_instance_tags WHERE instance_uuid = ? AND tag = ?", DB_TEXT(s.uuid),
		      DB_TEXT(tag));
	if (rc < 0)
		return cmp_db_error(r, rc, "tags");
	int n = db_rows_count(rows);
	db_rows_free(rows);
	if (!n)
		return http_error(r, ERR_NOTFOUND, "Server %s has no tag '%s'", s.uuid, tag);
	return http_reply_empty(r, 204);
}

static int h_tags_add(struct http_req *r)
{
	struct srv s;
	int rc = tags_version(r);
	if (rc < 0 || (rc = load(r, &s, "os_compute_api:os-server-tags:update")) < 0)
		return rc;
	if ((rc = tag_state(r, &s, "update tag")) < 0)
		return rc;
	const char *tag = http_param(r, "tag");
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)tag; *p; p++)
		chars += (*p & 0xc0) != 0x80;
	if (!chars || chars > SRV_TAG_MAX || strchr(tag, ',') || strchr(tag, '/'))
		return http_error(r, ERR_BADREQ, "Tag '%s' is invalid. It must be a non empty string without characters '/'"
				  " and ','. Validation error message: '%s' does not match '^[^,/]*$'", tag, tag);
	json_t *t = tags_of(r, s.uuid, &rc);
	if (!t)
		return rc;
	bool present = false;
	size_t i;
	json_t *v;
	json_array_foreach(t, i, v)
		present |= !strcmp(json_string_value(v), tag);
	size_t n = json_array_size(t);
	json_decref(t);
	if (n >= SRV_MAX_TAGS && !present)
		return http_error(r, ERR_BADREQ, "The number of tags exceeded the per-server limit %d", SRV_MAX_TAGS);
	if (present)
		return http_reply_empty(r, 204);
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	rc = db_exec(cmp_db(r), "INSERT INTO cmp_instance_tags (instance_uuid, tag) VALUES (?, ?)", DB_TEXT(s.uuid), DB_TEXT(tag));
	if ((rc = tags_commit(r, s.uuid, rc)) < 0)
		return rc;
	char *enc = arena_alloc(r->arena, strlen(tag) * 3 + 1);
	url_encode(tag, enc, false);
	http_add_header(r, "Location", arena_printf(r->arena, "%s/servers/%s/tags/%s", cmp_url_v21(r), s.uuid, enc));
	return http_reply_empty(r, 201);
}

static int h_tags_replace(struct http_req *r)
{
	json_t *tags;
	int rc = tags_version(r);
	if (rc < 0 || (rc = only_key(r, http_body_json(r), "tags", &tags)) < 0)
		return rc;
	if (!json_is_array(tags))
		return cmp_bad_field(r, "tags", "Value is not of type 'array'");
	if (json_array_size(tags) > SRV_MAX_TAGS)
		return cmp_bad_field(r, "tags", "Value is too long");
	size_t i;
	json_t *v;
	json_array_foreach(tags, i, v) {
		if (!json_is_string(v))
			return cmp_bad_field(r, "tags", "Value is not of type 'string'");
		if ((rc = srv_validate_tag(r, json_string_value(v))) < 0)
			return rc;
	}
	struct srv s;
	if ((rc = load(r, &s, "os_compute_api:os-server-tags:update_all")) < 0 || (rc = tag_state(r, &s, "update tags")) < 0)
		return rc;
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	rc = db_exec(c, "DELETE FROM cmp_instance_tags WHERE instance_uuid = ?", DB_TEXT(s.uuid));
	json_array_foreach(tags, i, v)
		if (rc >= 0)
			rc = db_exec(c, "INSERT INTO cmp_instance_tags (instance_uuid, tag) SELECT ?, ? WHERE NOT EXISTS (SELECT 1"
				     " FROM cmp_instance_tags WHERE instance_uuid = ? AND tag = ?)", DB_TEXT(s.uuid),
				     DB_TEXT(json_string_value(v)), DB_TEXT(s.uuid), DB_TEXT(json_string_value(v)));
	if (rc >= 0)
		rc = touch(c, s.uuid);
	if (rc < 0)
		return cmp_db_error(r, rc, "tags");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	json_t *t = tags_of(r, s.uuid, &rc);
	return t ? http_reply_json(r, 200, json_pack("{s:o}", "tags", t)) : rc;
}

static int h_tags_delete(struct http_req *r)
{
	struct srv s;
	int rc = tags_version(r);
	if (rc < 0 || (rc = load(r, &s, "os_compute_api:os-server-tags:delete")) < 0 || (rc = tag_state(r, &s, "delete tag")) < 0)
		return rc;
	const char *tag = http_param(r, "tag");
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_instance_tags WHERE instance_uuid = ? AND tag = ?", DB_TEXT(s.uuid), DB_TEXT(tag));
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Instance %s has no tag '%s'", s.uuid, tag);
	}
	if ((rc = tags_commit(r, s.uuid, rc)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

static int h_tags_delete_all(struct http_req *r)
{
	struct srv s;
	int rc = tags_version(r);
	if (rc < 0 || (rc = load(r, &s, "os_compute_api:os-server-tags:delete_all")) < 0 ||
	    (rc = tag_state(r, &s, "delete tags")) < 0)
		return rc;
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_instance_tags WHERE instance_uuid = ?", DB_TEXT(s.uuid));
	if ((rc = tags_commit(r, s.uuid, rc)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- ips: no networking service, so no server has an address --- */

static int h_ips(struct http_req *r)
{
	struct srv s;
	int rc = load(r, &s, "os_compute_api:ips:index");
	if (rc < 0)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:{}}", "addresses"));
}

static int h_ips_show(struct http_req *r)
{
	struct srv s;
	int rc = load(r, &s, "os_compute_api:ips:show");
	if (rc < 0)
		return rc;
	return http_error(r, ERR_NOTFOUND, "Instance is not a member of specified network");
}

/* --- os-server-password --- */

static int h_password(struct http_req *r)
{
	struct srv s;
	int rc = load(r, &s, "os_compute_api:os-server-password:show");
	if (rc < 0)
		return rc;
	struct db_rows *rows = NULL;
	rc = db_query(cmp_db(r), &rows, "SELECT password FROM cmp_instances WHERE uuid = ?", DB_TEXT(s.uuid));
	if (rc < 0)
		return cmp_db_error(r, rc, "password");
	const char *pw = db_rows_count(rows) && db_text(rows, 0, 0) ? db_text(rows, 0, 0) : "";
	json_t *out = json_pack("{s:s}", "password", pw);
	db_rows_free(rows);
	return http_reply_json(r, 200, out);
}

static int h_password_clear(struct http_req *r)
{
	struct srv s;
	int rc = load(r, &s, "os_compute_api:os-server-password:clear");
	if (rc < 0 || (rc = cmp_begin(r)) < 0)
		return rc;
	rc = db_exec(cmp_db(r), "UPDATE cmp_instances SET password = NULL, updated_at = ? WHERE uuid = ?",
		     DB_INT(time_now_us()), DB_TEXT(s.uuid));
	if (rc < 0)
		return cmp_db_error(r, rc, "password");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* --- diagnostics (admin) --- */

static int h_diagnostics(struct http_req *r)
{
	struct srv s;
	int rc = load(r, &s, "os_compute_api:os-server-diagnostics");
	if (rc < 0 || (rc = srv_check_host(r, &s)) < 0)
		return rc;
	if (!strcmp(s.vm_state, VM_BUILDING))
		return http_error(r, ERR_CONFLICT, "Cannot 'get_diagnostics' instance %s while it is in vm_state building", s.uuid);
	const char *state;
	switch (s.power_state) {
	case 1: state = "running"; break;
	case 3: state = "paused"; break;
	case 4: state = "shutdown"; break;
	case 6: state = "crashed"; break;
	case 7: state = "suspended"; break;
	default: state = "pending"; break;
	}
	const char *drv = cmp_host_driver(r, s.host);
	json_t *uptime = s.launched_at && s.power_state == 1 ? json_integer((time_now_us() - s.launched_at) / 1000000) : json_null();
	if (!cmp_mv_ge(r, 2, 48)) {
		json_decref(uptime);
		return http_reply_json(r, 200, json_pack("{s:s,s:s,s:I,s:I}", "state", state, "driver", drv, "memory",
							 (json_int_t)s.flavor.memory_mb * 1024, "num_cpus", (json_int_t)s.flavor.vcpus));
	}
	json_t *cpus = json_array();
	for (int64_t i = 0; i < s.flavor.vcpus && i < 256; i++)
		json_array_append_new(cpus, json_pack("{s:I,s:n,s:n}", "id", (json_int_t)i, "time", "utilisation"));
	/* Nova's diagnostics object only knows the driver names Tempest lists; QEMU guests here are
	 * what libvirt would report, and the fake driver reports like Nova's own fake driver. */
	json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:o,s:b,s:I,s:i,s:i,s:{s:I,s:n},s:o,s:[],s:[{s:n,s:n,s:n,s:n,s:n}]}",
			      "state", state, "driver", "libvirt", "hypervisor", !strcmp(drv, "qemu") ? "qemu" : drv,
			      "hypervisor_os", "linux", "uptime", uptime, "config_drive", s.config_drive && *s.config_drive,
			      "num_cpus", (json_int_t)s.flavor.vcpus, "num_nics", 0, "num_disks", 1, "memory_details",
			      "maximum", (json_int_t)s.flavor.memory_mb, "used", "cpu_details", cpus, "nic_details",
			      "disk_details", "read_bytes", "read_requests", "write_bytes", "write_requests", "errors_count");
	return http_reply_json(r, 200, d);
}

/* --- remote consoles (2.6) --- */

static int h_remote_console(struct http_req *r)
{
	if (!cmp_mv_ge(r, 2, 6))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	json_t *rc_obj;
	int rc = only_key(r, http_body_json(r), "remote_console", &rc_obj);
	if (rc < 0)
		return rc;
	const char *protocol = json_string_value(json_object_get(rc_obj, "protocol"));
	const char *type = json_string_value(json_object_get(rc_obj, "type"));
	static const char *const protocols[] = { "vnc", "spice", "rdp", "serial", "mks", NULL };
	static const char *const types[] = { "novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial", "webmks", NULL };
	bool pok = false, tok = false;
	for (int i = 0; protocol && protocols[i]; i++)
		pok |= !strcmp(protocols[i], protocol) && (strcmp(protocol, "mks") || cmp_mv_ge(r, 2, 8));
	for (int i = 0; type && types[i]; i++)
		tok |= !strcmp(types[i], type) && (strcmp(type, "webmks") || cmp_mv_ge(r, 2, 8));
	if (!json_is_object(rc_obj) || !pok || !tok || json_object_size(rc_obj) != 2)
		return cmp_bad_field(r, "remote_console", "'protocol' and 'type' must name a known console");
	struct srv s;
	if ((rc = load(r, &s, "os_compute_api:os-remote-consoles")) < 0)
		return rc;
	if (strcmp(protocol, "vnc"))
		return http_error(r, ERR_BADREQ, "Unavailable console type %s.", protocol);
	if (strcmp(type, "novnc") && strcmp(type, "xvpvnc"))
		return http_error(r, ERR_BADREQ, "Invalid console type %s", type);
	const char *url;
	if ((rc = srv_vnc_url(r, &s, &url)) < 0)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:{s:s,s:s,s:s}}", "remote_console", "protocol", protocol, "type", type,
						 "url", url));
}

/* --- the server's live migrations: none run here --- */

static int h_server_migrations(struct http_req *r)
{
	if (!cmp_mv_ge(r, 2, 23))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	struct srv s;
	int rc = load(r, &s, "os_compute_api:servers:migrations:index");
	return rc < 0 ? rc : http_reply_json(r, 200, json_pack("{s:[]}", "migrations"));
}

static int h_server_migration(struct http_req *r)
{
	if (!cmp_mv_ge(r, 2, 23))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	struct srv s;
	int rc = load(r, &s, "os_compute_api:servers:migrations:show");
	if (rc < 0)
		return rc;
	return http_error(r, ERR_NOTFOUND, "Migration %s could not be found for instance %s.", http_param(r, "migration_id"),
			  s.uuid);
}

const struct route cmp_routes_server_sub[] = {
	{ "GET", "/v2.1/servers/{server_id}/metadata", h_md_index, NULL, 0, NULL },
	{ "POST", "/v2.1/servers/{server_id}/metadata", h_md_create, NULL, 0, NULL },
	{ "PUT", "/v2.1/servers/{server_id}/metadata", h_md_update_all, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/metadata/{key}", h_md_show, NULL, 0, NULL },
	{ "PUT", "/v2.1/servers/{server_id}/metadata/{key}", h_md_update, NULL, 0, NULL },
	{ "DELETE", "/v2.1/servers/{server_id}/metadata/{key}", h_md_delete, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/tags", h_tags_index, NULL, 0, NULL },
	{ "PUT", "/v2.1/servers/{server_id}/tags", h_tags_replace, NULL, 0, NULL },
	{ "DELETE", "/v2.1/servers/{server_id}/tags", h_tags_delete_all, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/tags/{tag}", h_tags_show, NULL, 0, NULL },
	{ "PUT", "/v2.1/servers/{server_id}/tags/{tag}", h_tags_add, NULL, 0, NULL },
	{ "DELETE", "/v2.1/servers/{server_id}/tags/{tag}", h_tags_delete, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/ips", h_ips, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/ips/{network}", h_ips_show, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/os-server-password", h_password, NULL, 0, NULL },
	{ "DELETE", "/v2.1/servers/{server_id}/os-server-password", h_password_clear, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/diagnostics", h_diagnostics, NULL, 0, NULL },
	{ "POST", "/v2.1/servers/{server_id}/remote-consoles", h_remote_console, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/migrations", h_server_migrations, NULL, 0, NULL },
	{ "GET", "/v2.1/servers/{server_id}/migrations/{migration_id}", h_server_migration, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
