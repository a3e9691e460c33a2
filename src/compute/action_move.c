/* action_move.c — the actions that replace what a server runs: rebuild (new image, name,
 * metadata, password, key at 2.54, user_data at 2.57), resize with confirmResize/revertResize
 * (a migration record; the scheduler claims the new flavor while the old one stays held by the
 * migration until confirm or revert), and createImage (a queued snapshot image the agent fills;
 * image_id in the body from 2.45, a Location header before). */
#include "compute/srv.h"
#include "image/image.h"
#include "placement/placement.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const NO_TASK[] = { "", NULL };

/* --- rebuild --- */

static bool rebuild_key_ok(struct http_req *r, const char *k)
{
	static const char *const base[] = { "name", "imageRef", "adminPass", "metadata", "preserve_ephemeral",
					    "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", NULL };
	for (int i = 0; base[i]; i++)
		if (!strcmp(base[i], k))
			return true;
	if (!strcmp(k, "personality"))
		return !cmp_mv_ge(r, 2, 57);
	if (!strcmp(k, "description"))
		return cmp_mv_ge(r, 2, 19);
	if (!strcmp(k, "key_name"))
		return cmp_mv_ge(r, 2, 54);
	if (!strcmp(k, "user_data"))
		return cmp_mv_ge(r, 2, 57);
	if (!strcmp(k, "trusted_image_certificates"))
		return cmp_mv_ge(r, 2, 63);
	return false;
}

int srv_rebuild(struct http_req *r, struct srv *s, json_t *arg)
{
	if (!json_is_object(arg))
		return cmp_bad_field(r, "rebuild", "Value is not of type 'object'");
	const char *k;
	json_t *v;
	json_object_foreach(arg, k, v)
		if (!rebuild_key_ok(r, k))
			return cmp_v_unexpected(r, "rebuild", k);
	json_t *img = json_object_get(arg, "imageRef");
	if (!img)
		return cmp_bad_field(r, "rebuild", "'imageRef' is a required property");
	if (!json_is_string(img) || !uuid_valid(json_string_value(img)))
		return cmp_bad_field(r, "imageRef", "Value is not a 'uuid'");
	int rc;
	json_t *name = json_object_get(arg, "name"), *md = json_object_get(arg, "metadata");
	json_t *desc = json_object_get(arg, "description"), *pw = json_object_get(arg, "adminPass");
	json_t *key = json_object_get(arg, "key_name"), *ud = json_object_get(arg, "user_data");
	json_t *dc = json_object_get(arg, "OS-DCF:diskConfig"), *tc = json_object_get(arg, "trusted_image_certificates");
	json_t *v4 = json_object_get(arg, "accessIPv4"), *v6 = json_object_get(arg, "accessIPv6");
	json_t *pe = json_object_get(arg, "preserve_ephemeral");
	if (name && (rc = srv_validate_name(r, name, "name")) < 0)
		return rc;
	if (md && (rc = srv_validate_metadata(r, md, "metadata")) < 0)
		return rc;
	if (desc && !json_is_null(desc) && (!json_is_string(desc) || json_string_length(desc) > 255))
		return cmp_bad_field(r, "description", "Value is not a valid description");
	if (pw && !json_is_string(pw))
		return cmp_bad_field(r, "adminPass", "Value is not of type 'string'");
	if (key && !json_is_null(key) && (!json_is_string(key) || json_string_length(key) < 1 || json_string_length(key) > 255))
		return cmp_bad_field(r, "key_name", "Value is not valid");
	if (ud && !json_is_null(ud) && (!json_is_string(ud) || json_string_length(ud) > SRV_USER_DATA_MAX ||
					!srv_base64_valid(json_string_value(ud))))
		return cmp_bad_field(r, "user_data", "Value is not a 'base64'");
	if (dc && (!json_is_string(dc) || (strcmp(json_string_value(dc), "AUTO") && strcmp(json_string_value(dc), "MANUAL"))))
		return cmp_bad_field(r, "OS-DCF:diskConfig", "Value is not one of ['AUTO', 'MANUAL']");
	bool b;
	if (pe && srv_parse_bool(pe, &b) < 0)
		return cmp_bad_field(r, "preserve_ephemeral", "Value is not a boolean");
	const char *ip4 = v4 ? srv_ip_canonical(r, v4, AF_INET) : NULL, *ip6 = v6 ? srv_ip_canonical(r, v6, AF_INET6) : NULL;
	if (v4 && !ip4)
		return cmp_bad_field(r, "accessIPv4", "Value is not a 'ipv4'");
	if (v6 && !ip6)
		return cmp_bad_field(r, "accessIPv6", "Value is not a 'ipv6'");
	if (tc && !json_is_null(tc) && (!json_is_array(tc) || json_array_size(tc) < 1 || json_array_size(tc) > 50))
		return cmp_bad_field(r, "trusted_image_certificates", "Value must be a list of 1 to 50 ids");
	if ((rc = cmp_enforce(r, "os_compute_api:servers:rebuild", s->project_id, s->user_id)) < 0)
		return rc;
	if (tc && (rc = cmp_enforce(r, "os_compute_api:servers:rebuild:trusted_certs", s->project_id, s->user_id)) < 0)
		return rc;
	if ((rc = srv_check_lock(r, s)) < 0)
		return rc;
	static const char *const vm[] = { VM_ACTIVE, VM_STOPPED, VM_ERROR, NULL };
	if ((rc = srv_check_state(r, s, "rebuild", vm, NO_TASK, true)) < 0)
		return rc;
	struct srv_image si;
	if ((rc = srv_check_image(r, json_string_value(img), &s->flavor, "Cannot find image for rebuild", &si)) < 0)
		return rc;
	if (md && (rc = srv_check_metadata_quota(r, s->project_id, (int64_t)json_object_size(md))) < 0)
		return rc;
	const char *key_data = NULL;
	if (key && json_is_string(key)) {
		struct cmp_keypair kp;
		rc = cmp_keypair_get(r, cmp_user(r), json_string_value(key), &kp);
		if (rc == ERR_NOTFOUND)
			return http_error(r, ERR_BADREQ, "Invalid key_name provided.");
		if (rc < 0)
			return rc;
		key_data = kp.public_key;
	}
	char generated[13];
	const char *pass = json_string_value(pw);
	if (!pass) {
		srv_password(generated);
		pass = generated;
	}
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	int64_t now = time_now_us();
	rc = db_exec(c, "UPDATE cmp_instances SET image_ref = ?, kernel_id = ?, ramdisk_id = ?, image_props = ?, admin_pass = ?,"
		     " task_state = 'rebuilding', task_request_id = ?, progress = 0, updated_at = ? WHERE uuid = ? AND task_state"
		     " IS NULL AND deleted = 0", DB_TEXT(json_string_value(img)), DB_TEXT(si.kernel_id), DB_TEXT(si.ramdisk_id),
		     DB_TEXT(si.props), DB_TEXT(pass), DB_TEXT(r->request_id), DB_INT(now), DB_TEXT(s->uuid));
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Cannot 'rebuild' instance %s while it is in task_state %s", s->uuid,
				  s->task_state ? s->task_state : "None");
	}
	if (rc >= 0 && name)
		rc = db_exec(c, "UPDATE cmp_instances SET display_name = ? WHERE uuid = ?", DB_TEXT(json_string_value(name)), DB_TEXT(s->uuid));
	if (rc >= 0 && desc)
		rc = db_exec(c, "UPDATE cmp_instances SET display_description = ? WHERE uuid = ?", DB_TEXT(json_string_value(desc)),
			     DB_TEXT(s->uuid));
	if (rc >= 0 && dc)
		rc = db_exec(c, "UPDATE cmp_instances SET auto_disk_config = ? WHERE uuid = ?",
			     DB_BOOL(!strcmp(json_string_value(dc), "AUTO")), DB_TEXT(s->uuid));
	if (rc >= 0 && v4)
		rc = db_exec(c, "UPDATE cmp_instances SET access_ip_v4 = ? WHERE uuid = ?", DB_TEXT(ip4), DB_TEXT(s->uuid));
	if (rc >= 0 && v6)
		rc = db_exec(c, "UPDATE cmp_instances SET access_ip_v6 = ? WHERE uuid = ?", DB_TEXT(ip6), DB_TEXT(s->uuid));
	if (rc >= 0 && key)
		rc = db_exec(c, "UPDATE cmp_instances SET key_name = ?, key_data = ? WHERE uuid = ?", DB_TEXT(json_string_value(key)),
			     DB_TEXT(key_data), DB_TEXT(s->uuid));
	if (rc >= 0 && ud)
		rc = db_exec(c, "UPDATE cmp_instances SET user_data = ? WHERE uuid = ?", DB_TEXT(json_string_value(ud)), DB_TEXT(s->uuid));
	if (rc >= 0 && tc)
		rc = db_exec(c, "UPDATE cmp_instances SET trusted_certs = ? WHERE uuid = ?",
			     DB_TEXT(json_is_null(tc) ? NULL : cmp_json_text(r, tc)), DB_TEXT(s->uuid));
	if (rc >= 0 && md) {
		rc = db_exec(c, "DELETE FROM cmp_instance_metadata WHERE instance_uuid = ?", DB_TEXT(s->uuid));
		json_object_foreach(md, k, v)
			if (rc >= 0)
				rc = db_exec(c, "INSERT INTO cmp_instance_metadata (instance_uuid, key, value) VALUES (?, ?, ?)",
					     DB_TEXT(s->uuid), DB_TEXT(k), DB_TEXT(json_string_value(v)));
	}
	if (rc >= 0)
		rc = srv_action_start(c, s->uuid, r->request_id, "rebuild", cmp_project(r), cmp_user(r));
	if (rc < 0)
		return cmp_db_error(r, rc, "rebuild");
	/* the answer shows the server as this request left it (REBUILD), whatever the agent does next */
	if ((rc = srv_get(r, s->uuid, false, s)) < 0 || (rc = srv_load_extras(r, s, 1)) < 0) {
		cmp_rollback(r);
		return rc;
	}
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	cmp_agent_wake(cmp_svc(r));
	bool all = cmp_mv_ge(r, 2, 75);
	struct srv_view_opts o = { .detail = true, .update_view = true, .all_attrs = all, .rebuild = true,
				   .ext_attr = all ? -1 : 0, .extra_specs = -1, .host_status = all ? -1 : 0,
				   .server_groups = cmp_mv_ge(r, 2, 71) };
	json_t *view = srv_view(r, s, &o);
	json_object_set_new(view, "adminPass", json_string(pass));
	if (cmp_mv_ge(r, 2, 57))
		json_object_set_new(view, "user_data", s->user_data ? json_string(s->user_data) : json_null());
	http_add_header(r, "Location", arena_printf(r->arena, "%s/servers/%s", cmp_url_v21(r), s->uuid));
	return http_reply_json(r, 202, json_pack("{s:o}", "server", view));
}

/* --- resize --- */

static json_t *flavor_json(const struct cmp_flavor *f, const char *specs_text, json_t *specs)
{
	json_t *sp = specs ? json_deep_copy(specs) : json_loads(specs_text ? specs_text : "{}", 0, NULL);
	return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "flavorid", f->id, "name", f->name ? f->name : "",
			 "vcpus", (json_int_t)f->vcpus, "memory_mb", (json_int_t)f->memory_mb, "root_gb", (json_int_t)f->root_gb,
			 "ephemeral_gb", (json_int_t)f->ephemeral_gb, "swap", (json_int_t)f->swap, "extra_specs",
			 sp ? sp : json_object());
}

/* Moving a guest keeps its disk only on the fake driver: the qemu driver has no resize or
 * migration yet, and recreating the guest would lose its disk. */
static int can_move(struct http_req *r, const struct srv *s, const char *what)
{
	const char *drv = cmp_host_driver(r, s->host);
	if (strcmp(drv, "fake"))
		return http_error(r, ERR_CONFLICT, "The %s compute driver cannot %s servers.", drv, what);
	return 0;
}

/* Starts a resize (nf: the new flavor) or a cold migration (nf = the current flavor, type
 * "migration", dest_host optional): the migration record, the instance in resize_prep with both
 * flavors kept, the instance action; the scheduler takes it from there. */
static int start_move(struct http_req *r, struct srv *s, const struct cmp_flavor *nfp, const char *disk_config,
		      const char *method, const char *type, const char *dest_host)
{
	int rc;
	struct cmp_flavor nf = *nfp;
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	int64_t id = 0, now = time_now_us();
	if ((rc = srv_next_id(c, "instances", 0, &id)) < 0)
		return cmp_db_error(r, rc, method);
	if (strcmp(type, "migration") &&
	    (rc = srv_quota_resize(r, s->project_id, s->user_id, nf.vcpus - s->flavor.vcpus, nf.memory_mb - s->flavor.memory_mb)) < 0) {
		cmp_rollback(r);
		return rc;
	}
	if ((rc = srv_next_id(c, "migrations", 1, &id)) < 0)
		return cmp_db_error(r, rc, "migration id");
	char mig[37];
	uuid_dashed(mig);
	json_t *old_j = flavor_json(&s->flavor, s->flavor_specs, NULL), *new_j = flavor_json(&nf, NULL, nf.extra_specs);
	rc = db_exec(c, "INSERT INTO cmp_migrations (id, uuid, instance_uuid, migration_type, status, source_compute, source_node,"
		     " old_flavorid, new_flavorid, project_id, user_id, created_at, updated_at, dest_host) VALUES (?, ?, ?, ?,"
		     " 'pre-migrating', ?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_INT(id), DB_TEXT(mig), DB_TEXT(s->uuid), DB_TEXT(type),
		     DB_TEXT(s->host),
		     DB_TEXT(s->node), DB_TEXT(s->flavor.id), DB_TEXT(nf.id), DB_TEXT(s->project_id), DB_TEXT(s->user_id),
		     DB_INT(now), DB_INT(now), DB_TEXT(dest_host));
	if (rc >= 0)
		rc = db_exec(c, "UPDATE cmp_instances SET task_state = 'resize_prep', task_request_id = ?, progress = 0, old_flavor = ?,"
			     " new_flavor = ?,"
			     " old_vm_state = vm_state, auto_disk_config = CASE WHEN CAST(? AS VARCHAR(255)) IS NULL THEN auto_disk_config ELSE ? END,"
			     " updated_at = ? WHERE uuid = ? AND task_state IS NULL AND deleted = 0", DB_TEXT(r->request_id),
			     DB_TEXT(cmp_json_text(r, old_j)),
			     DB_TEXT(cmp_json_text(r, new_j)), DB_TEXT(disk_config),
			     DB_BOOL(disk_config && !strcmp(disk_config, "AUTO")), DB_INT(now), DB_TEXT(s->uuid));
	json_decref(old_j);
	json_decref(new_j);
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Cannot '%s' instance %s while it is in task_state %s", method, s->uuid,
				  s->task_state ? s->task_state : "None");
	}
	if (rc >= 0)
		rc = srv_action_start(c, s->uuid, r->request_id, method, cmp_project(r), cmp_user(r));
	if (rc < 0)
		return cmp_db_error(r, rc, method);
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	cmp_sched_wake(cmp_svc(r));
	return http_reply_empty(r, 202);
}


int srv_resize(struct http_req *r, struct srv *s, json_t *arg)
{
	if (!json_is_object(arg))
		return cmp_bad_field(r, "resize", "Value is not of type 'object'");
	const char *k;
	json_t *v;
	json_object_foreach(arg, k, v)
		if (strcmp(k, "flavorRef") && strcmp(k, "OS-DCF:diskConfig"))
			return cmp_v_unexpected(r, "resize", k);
	json_t *fr = json_object_get(arg, "flavorRef"), *dc = json_object_get(arg, "OS-DCF:diskConfig");
	const char *fid = NULL;
	if (json_is_integer(fr))
		fid = arena_printf(r->arena, "%lld", (long long)json_integer_value(fr));
	else if (json_is_string(fr) && json_string_length(fr) > 0) {
		const char *x = json_string_value(fr), *slash = strrchr(x, '/');
		fid = arena_strdup(r->arena, slash ? slash + 1 : x);
	} else
		return cmp_bad_field(r, "resize", "'flavorRef' is a required property");
	if (dc && (!json_is_string(dc) || (strcmp(json_string_value(dc), "AUTO") && strcmp(json_string_value(dc), "MANUAL"))))
		return cmp_bad_field(r, "OS-DCF:diskConfig", "Value is not one of ['AUTO', 'MANUAL']");
	int rc = cmp_enforce(r, "os_compute_api:servers:resize", s->project_id, s->user_id);
	if (rc < 0 || (rc = srv_check_lock(r, s)) < 0)
		return rc;
	static const char *const vm[] = { VM_ACTIVE, VM_STOPPED, NULL };
	if ((rc = srv_check_state(r, s, "resize", vm, NO_TASK, true)) < 0 || (rc = srv_check_host(r, s)) < 0)
		return rc;
	if (!srv_host_up(cmp_db(r), s->host))
		return http_error(r, ERR_CONFLICT, "Service is unavailable at this time.");
	if ((rc = can_move(r, s, "resize")) < 0)
		return rc;
	struct cmp_flavor nf;
	rc = cmp_flavor_get(r, fid, false, &nf);
	if (rc == ERR_NOTFOUND || (rc == 0 && nf.disabled))
		return http_error(r, ERR_BADREQ, "Flavor %s could not be found.", fid);
	if (rc < 0)
		return rc;
	if (!strcmp(nf.id, s->flavor.id))
		return http_error(r, ERR_BADREQ, "When resizing, instances must change flavor!");
	if (nf.root_gb == 0 && s->flavor.root_gb > 0)
		return http_error(r, ERR_BADREQ, "Server disk was unable to be resized because: Resize to zero disk flavor is not allowed.");
	if (!nf.extra_specs) {
		/* the new flavor's extra specs travel with the resize (traits, aggregate specs) */
		struct db_rows *rows = NULL;
		nf.extra_specs = json_object();
		arena_defer(r->arena, json_decref_void, nf.extra_specs);
		if (db_query(cmp_db(r), &rows, "SELECT key, value FROM cmp_flavor_extra_specs WHERE flavorid = ?", DB_TEXT(nf.id)) == 0)
			for (int i = 0; i < db_rows_count(rows); i++)
				json_object_set_new(nf.extra_specs, db_text(rows, i, 0), json_string(db_text(rows, i, 1)));
		db_rows_free(rows);
	}
	return start_move(r, s, &nf, json_string_value(dc), "resize", "resize", NULL);
}

int srv_migrate(struct http_req *r, struct srv *s, json_t *arg)
{
	const char *host = NULL;
	if (cmp_mv_ge(r, 2, 56)) {
		if (!json_is_null(arg) && !json_is_object(arg))
			return cmp_bad_field(r, "migrate", "Value is not of type 'object', 'null'");
		const char *k;
		json_t *v;
		json_object_foreach(arg, k, v)
			if (strcmp(k, "host"))
				return cmp_v_unexpected(r, "migrate", k);
		json_t *h = json_object_get(arg, "host");
		if (h && !json_is_null(h)) {
			if (!json_is_string(h) || !json_string_length(h) || json_string_length(h) > 255)
				return cmp_bad_field(r, "host", "Value is not a valid host name");
			host = json_string_value(h);
		}
	}
	int rc = cmp_enforce(r, "os_compute_api:os-migrate-server:migrate", s->project_id, NULL);
	if (rc < 0 || (rc = srv_check_lock(r, s)) < 0)
		return rc;
	static const char *const vm[] = { VM_ACTIVE, VM_STOPPED, NULL };
	if ((rc = srv_check_state(r, s, "migrate", vm, NO_TASK, true)) < 0 || (rc = srv_check_host(r, s)) < 0)
		return rc;
	if (!srv_host_up(cmp_db(r), s->host))
		return http_error(r, ERR_CONFLICT, "Service is unavailable at this time.");
	if ((rc = can_move(r, s, "migrate")) < 0)
		return rc;
	if (host) {
		if (!strcmp(host, s->host))
			return http_error(r, ERR_BADREQ, "Cannot migrate to the host where the server exists.");
		struct db_rows *rows = NULL;
		rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_nodes WHERE host = ?", DB_TEXT(host));
		if (rc < 0)
			return cmp_db_error(r, rc, "migrate");
		int n = db_rows_count(rows);
		db_rows_free(rows);
		if (!n)
			return http_error(r, ERR_BADREQ, "Compute host %s could not be found.", host);
	}
	struct cmp_flavor f = s->flavor;
	f.extra_specs = json_loads(s->flavor_specs ? s->flavor_specs : "{}", 0, NULL);
	if (!f.extra_specs)
		f.extra_specs = json_object();
	arena_defer(r->arena, json_decref_void, f.extra_specs);
	return start_move(r, s, &f, NULL, "migrate", "migration", host);
}

/* The finished migration of a resized instance into mig[37]: 0, or 400 "not resized". */
static int finished_migration(struct http_req *r, struct srv *s, char mig[37])
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT uuid FROM cmp_migrations WHERE instance_uuid = ? AND status = 'finished'"
			  " ORDER BY created_at DESC LIMIT 1", DB_TEXT(s->uuid));
	if (rc < 0)
		return cmp_db_error(r, rc, "migration");
	bool found = db_rows_count(rows) > 0;
	if (found)
		snprintf(mig, 37, "%s", db_text(rows, 0, 0));
	db_rows_free(rows);
	return found ? 0 : http_error(r, ERR_BADREQ, "Instance has not been resized.");
}

/* What confirmResize and revertResize check first (policy rule, the finished migration into
 * mig, the lock, the resized state for method), then the transaction they open. */
static int resize_end_begin(struct http_req *r, struct srv *s, const char *rule, const char *method, char mig[37])
{
	int rc = cmp_enforce(r, rule, s->project_id, NULL);
	if (rc < 0)
		return rc;
	if ((rc = finished_migration(r, s, mig)) < 0)
		return rc;
	if ((rc = srv_check_lock(r, s)) < 0)
		return rc;
	static const char *const vm[] = { VM_RESIZED, NULL };
	if ((rc = srv_check_state(r, s, method, vm, NO_TASK, true)) < 0)
		return rc;
	return cmp_begin(r);
}

int srv_confirm_resize(struct http_req *r, struct srv *s, json_t *arg)
{
	char mig[37];
	int rc = resize_end_begin(r, s, "os_compute_api:servers:confirm_resize", "confirmResize", mig);
	if (rc < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	int64_t now = time_now_us();
	const char *ev = "compute_confirm_resize";
	if ((rc = srv_action_start(c, s->uuid, r->request_id, "confirmResize", cmp_project(r), cmp_user(r))) < 0 ||
	    (rc = srv_event_start(c, s->uuid, r->request_id, ev, s->host)) < 0 ||
	    (rc = placement_release(c, mig)) < 0 ||
	    (rc = db_exec(c, "UPDATE cmp_migrations SET status = 'confirmed', updated_at = ? WHERE uuid = ?", DB_INT(now),
			  DB_TEXT(mig))) < 0 ||
	    (rc = db_exec(c, "UPDATE cmp_instances SET vm_state = COALESCE(old_vm_state, 'active'), old_flavor = NULL,"
			  " new_flavor = NULL, old_vm_state = NULL, updated_at = ? WHERE uuid = ?", DB_INT(now), DB_TEXT(s->uuid))) < 0 ||
	    (rc = srv_event_finish(c, s->uuid, r->request_id, ev, true, NULL)) < 0)
		return cmp_db_error(r, rc, "confirm resize");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

int srv_revert_resize(struct http_req *r, struct srv *s, json_t *arg)
{
	char mig[37];
	int rc = resize_end_begin(r, s, "os_compute_api:servers:revert_resize", "revertResize", mig);
	if (rc < 0)
		return rc;
	rc = db_exec(cmp_db(r), "UPDATE cmp_migrations SET status = 'reverting', updated_at = ? WHERE uuid = ?",
		     DB_INT(time_now_us()), DB_TEXT(mig));
	if (rc < 0)
		return cmp_db_error(r, rc, "revert resize");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	rc = srv_start_task(r, s, "revertResize", "revertResize", TS_RESIZE_REVERTING, NULL);
	return rc < 0 ? rc : http_reply_empty(r, 202);
}

/* --- createImage --- */

/* A snapshot image for s filled by the agent: image_type snapshot, or backup with backup_type. */
static int snapshot(struct http_req *r, struct srv *s, const char *method, const char *name, json_t *md,
		    const char *backup_type, int64_t rotation, char image_id[37])
{
	int rc;
	if (md && !cmp_mv_ge(r, 2, 39) && (rc = srv_check_metadata_quota(r, s->project_id, (int64_t)json_object_size(md))) < 0)
		return rc;
	static const char *const vm[] = { VM_ACTIVE, VM_STOPPED, VM_PAUSED, VM_SUSPENDED, NULL };
	if ((rc = srv_check_state(r, s, method, vm, NO_TASK, true)) < 0)
		return rc;
	json_t *props = json_pack("{s:s,s:s,s:s,s:s}", "instance_uuid", s->uuid, "user_id", cmp_user(r), "image_type",
				  backup_type ? "backup" : "snapshot", "base_image_ref", s->image_ref ? s->image_ref : "");
	if (backup_type)
		json_object_set_new(props, "backup_type", json_string(backup_type));
	const char *k;
	json_t *v;
	json_object_foreach(md, k, v)
		json_object_set(props, k, v);
	const char *fmt = !strcmp(cmp_host_driver(r, s->host), "qemu") ? "qcow2" : "raw";
	char err[256] = "";
	rc = image_create_queued(cmp_svc(r)->images, s->project_id, name, fmt, "bare", "private", props, image_id,
				 err, sizeof err);
	json_decref(props);
	if (rc < 0) {
		log_error("%s %s: %s", method, s->uuid, err);
		return http_error(r, ERR_INTERNAL, "Unexpected API Error. The snapshot image could not be created.");
	}
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	rc = db_exec(cmp_db(r), "UPDATE cmp_instances SET task_arg = ?, backup_rotation = ? WHERE uuid = ?",
		     DB_TEXT(image_id), backup_type ? DB_INT(rotation) : DB_NULL, DB_TEXT(s->uuid));
	if (rc < 0)
		return cmp_db_error(r, rc, method);
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	if ((rc = srv_start_task(r, s, method, method, TS_IMAGE_SNAPSHOT, NULL)) < 0) {
		image_upload_file(cmp_svc(r)->images, image_id, NULL, err, sizeof err);
		return rc;
	}
	return 0;
}

int srv_create_image(struct http_req *r, struct srv *s, json_t *arg)
{
	if (!json_is_object(arg))
		return cmp_bad_field(r, "createImage", "Value is not of type 'object'");
	const char *k;
	json_t *v;
	json_object_foreach(arg, k, v)
		if (strcmp(k, "name") && strcmp(k, "metadata"))
			return cmp_v_unexpected(r, "createImage", k);
	json_t *name = json_object_get(arg, "name"), *md = json_object_get(arg, "metadata");
	int rc;
	if (!name)
		return cmp_bad_field(r, "createImage", "'name' is a required property");
	if ((rc = srv_validate_name(r, name, "name")) < 0)
		return rc;
	if (md && (rc = srv_validate_metadata(r, md, "metadata")) < 0)
		return rc;
	if ((rc = cmp_enforce(r, "os_compute_api:servers:create_image", s->project_id, NULL)) < 0)
		return rc;
	char image_id[37];
	if ((rc = snapshot(r, s, "createImage", json_string_value(name), md, NULL, 0, image_id)) < 0)
		return rc;
	if (cmp_mv_ge(r, 2, 45))
		return http_reply_json(r, 202, json_pack("{s:s}", "image_id", image_id));
	http_add_header(r, "Location", arena_printf(r->arena, "%s/image/v2/images/%s", r->base_url, image_id));
	return http_reply_empty(r, 202);
}

/* createBackup: a snapshot with image_type backup. Rotation (deleting the oldest backups beyond
 * the count) needs an in-process image delete the image service does not offer yet. */
int srv_create_backup(struct http_req *r, struct srv *s, json_t *arg)
{
	if (!json_is_object(arg))
		return cmp_bad_field(r, "createBackup", "Value is not of type 'object'");
	const char *k;
	json_t *v;
	json_object_foreach(arg, k, v)
		if (strcmp(k, "name") && strcmp(k, "metadata") && strcmp(k, "backup_type") && strcmp(k, "rotation"))
			return cmp_v_unexpected(r, "createBackup", k);
	json_t *name = json_object_get(arg, "name"), *md = json_object_get(arg, "metadata");
	json_t *type = json_object_get(arg, "backup_type"), *rot = json_object_get(arg, "rotation");
	int rc;
	if (!name || !type || !rot)
		return cmp_bad_field(r, "createBackup", "'name', 'backup_type' and 'rotation' are required properties");
	if ((rc = srv_validate_name(r, name, "name")) < 0)
		return rc;
	if (!json_is_string(type))
		return cmp_bad_field(r, "backup_type", "Value is not of type 'string'");
	int64_t rotation = -1;
	if (json_is_integer(rot))
		rotation = json_integer_value(rot);
	else if (json_is_string(rot) && parse_int64(json_string_value(rot), 0, INT32_MAX, &rotation) < 0)
		rotation = -1;
	if (rotation < 0)
		return cmp_bad_field(r, "rotation", "Value must be a non-negative integer");
	if (md && (rc = srv_validate_metadata(r, md, "metadata")) < 0)
		return rc;
	if ((rc = cmp_enforce(r, "os_compute_api:os-create-backup", s->project_id, NULL)) < 0)
		return rc;
	char image_id[37];
	if ((rc = snapshot(r, s, "createBackup", json_string_value(name), md, json_string_value(type), rotation,
			    image_id)) < 0)
		return rc;
	if (cmp_mv_ge(r, 2, 45))
		return http_reply_json(r, 202, json_pack("{s:s}", "image_id", image_id));
	if (rotation > 0)
		http_add_header(r, "Location", arena_printf(r->arena, "%s/images/%s", cmp_url_v21(r), image_id));
	return http_reply_empty(r, 202);
}

/* --- live migration (os-migrateLive): the guest moves to another host and keeps running --- */

int srv_live_migrate(struct http_req *r, struct srv *s, json_t *arg)
{
	if (!json_is_object(arg))
		return cmp_bad_field(r, "os-migrateLive", "Value is not of type 'object'");
	bool v225 = cmp_mv_ge(r, 2, 25), v230 = cmp_mv_ge(r, 2, 30) && !cmp_mv_ge(r, 2, 68);
	const char *k;
	json_t *v;
	json_object_foreach(arg, k, v) {
		bool ok = !strcmp(k, "host") || !strcmp(k, "block_migration") || (!v225 && !strcmp(k, "disk_over_commit")) ||
			  (v230 && !strcmp(k, "force"));
		if (!ok)
			return cmp_v_unexpected(r, "os-migrateLive", k);
	}
	json_t *h = json_object_get(arg, "host"), *bm = json_object_get(arg, "block_migration");
	json_t *doc = json_object_get(arg, "disk_over_commit"), *force = json_object_get(arg, "force");
	bool b;
	if (!h || !bm || (!v225 && !doc))
		return cmp_bad_field(r, "os-migrateLive", v225 ? "'block_migration' and 'host' are required properties"
							      : "'block_migration', 'disk_over_commit' and 'host' are required properties");
	if (!(v225 && json_is_string(bm) && !strcmp(json_string_value(bm), "auto")) && srv_parse_bool(bm, &b) < 0)
		return cmp_bad_field(r, "block_migration", "Value is not a boolean");
	if (doc && srv_parse_bool(doc, &b) < 0)
		return cmp_bad_field(r, "disk_over_commit", "Value is not a boolean");
	bool forced = false;
	if (force && srv_parse_bool(force, &forced) < 0)
		return cmp_bad_field(r, "force", "Value is not a boolean");
	if (!json_is_null(h) && (!json_is_string(h) || !json_string_length(h) || json_string_length(h) > 255))
		return cmp_bad_field(r, "host", "Value is not a valid host name");
	const char *host = json_string_value(h);
	if (forced && !host)
		return http_error(r, ERR_BADREQ, "Can't force to a non-provided destination");
	int rc = cmp_enforce(r, "os_compute_api:os-migrate-server:migrate_live", s->project_id, NULL);
	if (rc < 0 || (rc = srv_check_lock(r, s)) < 0)
		return rc;
	static const char *const vm[] = { VM_ACTIVE, VM_PAUSED, NULL };
	if ((rc = srv_check_state(r, s, "os-migrateLive", vm, NO_TASK, true)) < 0 || (rc = srv_check_host(r, s)) < 0 ||
	    (rc = can_move(r, s, "live-migrate")) < 0)
		return rc;
	struct db_rows *rows = NULL;
	if (host) {
		if (!strcmp(host, s->host))
			return http_error(r, ERR_BADREQ, "Unable to migrate instance (%s) to current host (%s).", s->uuid, host);
		rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_nodes WHERE host = ?", DB_TEXT(host));
	} else {
		rc = db_query(cmp_db(r), &rows, "SELECT host FROM cmp_services WHERE service_binary = 'nova-compute' AND"
			      " disabled = 0 AND forced_down = 0 AND host <> ? AND last_seen_up >= ?", DB_TEXT(s->host),
			      DB_INT(time_now_us() - conf_int("compute", "service_down_time") * 1000000));
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "live migration");
	int n = db_rows_count(rows);
	db_rows_free(rows);
	if (!n && host)
		return http_error(r, ERR_BADREQ, "Compute host %s could not be found.", host);
	if (!n && !cmp_mv_ge(r, 2, 34))
		return http_error(r, ERR_BADREQ, "No valid host was found. There are not enough hosts available.");
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	int64_t id = 0, now = time_now_us();
	char mig[37];
	uuid_dashed(mig);
	if ((rc = srv_next_id(c, "migrations", 1, &id)) < 0 ||
	    (rc = db_exec(c, "INSERT INTO cmp_migrations (id, uuid, instance_uuid, migration_type, status, source_compute,"
			  " source_node, dest_host, old_flavorid, new_flavorid, project_id, user_id, created_at, updated_at)"
			  " VALUES (?, ?, ?, 'live-migration', 'accepted', ?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_INT(id), DB_TEXT(mig),
			  DB_TEXT(s->uuid), DB_TEXT(s->host), DB_TEXT(s->node), DB_TEXT(host), DB_TEXT(s->flavor.id),
			  DB_TEXT(s->flavor.id), DB_TEXT(s->project_id), DB_TEXT(s->user_id), DB_INT(now), DB_INT(now))) < 0)
		return cmp_db_error(r, rc, "live migration");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	if ((rc = srv_start_task(r, s, "os-migrateLive", "live-migration", TS_MIGRATING, NULL)) < 0) {
		if (cmp_begin(r) == 0) {
			db_exec(cmp_db(r), "UPDATE cmp_migrations SET status = 'error' WHERE uuid = ?", DB_TEXT(mig));
			cmp_commit(r);
		}
		return rc;
	}
	cmp_sched_wake(cmp_svc(r));
	return http_reply_empty(r, 202);
}
