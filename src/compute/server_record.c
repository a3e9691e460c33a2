/* server_record.c — the instance record: decoding rows, loading an instance the caller may see
 * (another project's server is 404, as Nova's project-only query makes it), the extras a view
 * needs (metadata, tags, latest fault, group) in batch, Nova's status mapping and state checks,
 * instance actions, events and faults. */
#include "compute/srv.h"
#include "placement/placement.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *dup_or_null(struct arena *a, const char *s)
{
	return s ? arena_strdup(a, s) : NULL;
}

void srv_from_row(struct arena *a, const struct db_rows *rows, int i, struct srv *s)
{
	int c = 0;
	*s = (struct srv){ 0 };
#define STR() dup_or_null(a, db_text(rows, i, c++))
#define INT() db_int(rows, i, c++)
	s->uuid = STR();
	s->id = INT();
	s->project_id = STR();
	s->user_id = STR();
	s->display_name = STR();
	s->display_description = STR();
	s->hostname = STR();
	s->host = STR();
	s->node = STR();
	s->availability_zone = STR();
	s->flavor.id = STR();
	s->flavor.name = STR();
	s->flavor.vcpus = INT();
	s->flavor.memory_mb = INT();
	s->flavor.root_gb = INT();
	s->flavor.ephemeral_gb = INT();
	s->flavor.swap = INT();
	s->flavor_specs = STR();
	s->flavor.rxtx_factor = 1.0;
	s->flavor.is_public = true;
	s->image_ref = STR();
	s->kernel_id = STR();
	s->ramdisk_id = STR();
	s->key_name = STR();
	s->key_data = STR();
	s->user_data = STR();
	s->config_drive = STR();
	s->auto_disk_config = db_bool(rows, i, c++);
	s->access_ip_v4 = STR();
	s->access_ip_v6 = STR();
	s->reservation_id = STR();
	s->launch_index = INT();
	s->root_device_name = STR();
	s->vm_state = STR();
	s->task_state = STR();
	s->power_state = INT();
	s->progress = INT();
	s->locked_by = STR();
	s->locked_reason = STR();
	s->trusted_certs = STR();
	s->launched_at = INT();
	s->terminated_at = INT();
	s->created_at = INT();
	s->updated_at = INT();
	s->deleted_at = INT();
	s->deleted = db_bool(rows, i, c++);
#undef STR
#undef INT
}

int srv_get(struct http_req *r, const char *uuid, bool read_deleted, struct srv *out)
{
	struct db_rows *rows = NULL;
	bool admin = cmp_is_admin(r);
	int rc = db_query(cmp_db(r), &rows, "SELECT " SRV_COLUMNS " FROM cmp_instances i WHERE i.uuid = ?"
			  " AND (? = 1 OR i.deleted = 0) AND (? = 1 OR i.project_id = ?)",
			  DB_TEXT(uuid), DB_BOOL(read_deleted), DB_BOOL(admin), DB_TEXT(cmp_project(r)));
	if (rc < 0)
		return cmp_db_error(r, rc, "instance");
	if (db_rows_count(rows) == 0) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Instance %s could not be found.", uuid);
	}
	srv_from_row(r->arena, rows, 0, out);
	db_rows_free(rows);
	return 0;
}

/* " IN (?, ?, ...)" over the uuids, args appended to a. */
static char *in_list(struct http_req *r, struct srv *list, int n, struct db_arg *args)
{
	char *sql = arena_alloc(r->arena, (size_t)n * 3 + 8), *p = sql;
	p += sprintf(p, " IN (");
	for (int i = 0; i < n; i++) {
		p += sprintf(p, i ? ",?" : "?");
		args[i] = DB_TEXT(list[i].uuid);
	}
	sprintf(p, ")");
	args[n] = DB_END_;
	return sql;
}

static struct srv *find(struct srv *list, int n, const char *uuid)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i].uuid, uuid))
			return &list[i];
	return NULL;
}

int srv_load_extras(struct http_req *r, struct srv *list, int n)
{
	for (int i = 0; i < n; i++) {
		list[i].metadata = json_object();
		list[i].tags = json_array();
		arena_defer(r->arena, json_decref_void, list[i].metadata);
		arena_defer(r->arena, json_decref_void, list[i].tags);
	}
	if (n == 0)
		return 0;
	struct db_arg *args = arena_alloc(r->arena, sizeof *args * ((size_t)n + 1));
	const char *in = in_list(r, list, n, args);
	struct db_rows *rows = NULL;
	int rc = db_query_a(cmp_db(r), &rows, arena_printf(r->arena, "SELECT instance_uuid, key, value FROM"
			    " cmp_instance_metadata WHERE instance_uuid%s ORDER BY key", in), args);
	if (rc < 0)
		return cmp_db_error(r, rc, "metadata");
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct srv *s = find(list, n, db_text(rows, i, 0));
		if (s)
			json_object_set_new(s->metadata, db_text(rows, i, 1), json_string(db_text(rows, i, 2)));
	}
	db_rows_free(rows);
	rc = db_query_a(cmp_db(r), &rows, arena_printf(r->arena, "SELECT instance_uuid, tag FROM"
			" cmp_instance_tags WHERE instance_uuid%s ORDER BY tag", in), args);
	if (rc < 0)
		return cmp_db_error(r, rc, "tags");
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct srv *s = find(list, n, db_text(rows, i, 0));
		if (s)
			json_array_append_new(s->tags, json_string(db_text(rows, i, 1)));
	}
	db_rows_free(rows);
	rc = db_query_a(cmp_db(r), &rows, arena_printf(r->arena, "SELECT instance_uuid, code, message, details,"
			" created_at FROM cmp_instance_faults WHERE instance_uuid%s ORDER BY created_at DESC", in), args);
	if (rc < 0)
		return cmp_db_error(r, rc, "faults");
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct srv *s = find(list, n, db_text(rows, i, 0));
		if (!s || s->fault)
			continue;
		char created[40];
		time_format(db_int(rows, i, 4), 0, true, created);
		s->fault = json_pack("{s:I,s:s,s:s,s:s}", "code", (json_int_t)db_int(rows, i, 1), "created", created,
				     "message", db_text(rows, i, 2), "details",
				     db_text(rows, i, 3) ? db_text(rows, i, 3) : "");
		arena_defer(r->arena, json_decref_void, s->fault);
	}
	db_rows_free(rows);
	rc = db_query_a(cmp_db(r), &rows, arena_printf(r->arena, "SELECT instance_uuid, group_uuid FROM"
			" cmp_server_group_members WHERE instance_uuid%s", in), args);
	if (rc < 0)
		return cmp_db_error(r, rc, "groups");
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct srv *s = find(list, n, db_text(rows, i, 0));
		if (s)
			s->group = arena_strdup(r->arena, db_text(rows, i, 1));
	}
	db_rows_free(rows);
	return 0;
}

/* --- status (nova/api/openstack/common.py _STATE_MAP) --- */

struct state_map {
	const char *vm_state, *task_state, *status;   /* task_state NULL: the default */
};

static const struct state_map state_map[] = {
	{ VM_ACTIVE, NULL, "ACTIVE" },
	{ VM_ACTIVE, "rebooting", "REBOOT" },
	{ VM_ACTIVE, "reboot_pending", "REBOOT" },
	{ VM_ACTIVE, "reboot_started", "REBOOT" },
	{ VM_ACTIVE, "rebooting_hard", "HARD_REBOOT" },
	{ VM_ACTIVE, "reboot_pending_hard", "HARD_REBOOT" },
	{ VM_ACTIVE, "reboot_started_hard", "HARD_REBOOT" },
	{ VM_ACTIVE, "updating_password", "PASSWORD" },
	{ VM_ACTIVE, "rebuilding", "REBUILD" },
	{ VM_ACTIVE, "rebuild_block_device_mapping", "REBUILD" },
	{ VM_ACTIVE, "rebuild_spawning", "REBUILD" },
	{ VM_ACTIVE, "migrating", "MIGRATING" },
	{ VM_ACTIVE, "resize_prep", "RESIZE" },
	{ VM_ACTIVE, "resize_migrating", "RESIZE" },
	{ VM_ACTIVE, "resize_migrated", "RESIZE" },
	{ VM_ACTIVE, "resize_finish", "RESIZE" },
	{ VM_BUILDING, NULL, "BUILD" },
	{ VM_STOPPED, NULL, "SHUTOFF" },
	{ VM_STOPPED, "resize_prep", "RESIZE" },
	{ VM_STOPPED, "resize_migrating", "RESIZE" },
	{ VM_STOPPED, "resize_migrated", "RESIZE" },
	{ VM_STOPPED, "resize_finish", "RESIZE" },
	{ VM_STOPPED, "rebuilding", "REBUILD" },
	{ VM_STOPPED, "rebuild_block_device_mapping", "REBUILD" },
	{ VM_STOPPED, "rebuild_spawning", "REBUILD" },
	{ VM_RESIZED, NULL, "VERIFY_RESIZE" },
	{ VM_RESIZED, "resize_reverting", "REVERT_RESIZE" },
	{ VM_PAUSED, NULL, "PAUSED" },
	{ VM_PAUSED, "migrating", "MIGRATING" },
	{ VM_SUSPENDED, NULL, "SUSPENDED" },
	{ VM_RESCUED, NULL, "RESCUE" },
	{ VM_ERROR, NULL, "ERROR" },
	{ VM_ERROR, "rebuilding", "REBUILD" },
	{ VM_ERROR, "rebuild_block_device_mapping", "REBUILD" },
	{ VM_ERROR, "rebuild_spawning", "REBUILD" },
	{ VM_DELETED, NULL, "DELETED" },
	{ VM_SOFT_DELETED, NULL, "SOFT_DELETED" },
	{ "shelved", NULL, "SHELVED" },
	{ "shelved_offloaded", NULL, "SHELVED_OFFLOADED" },
};
#define NSTATES (sizeof state_map / sizeof state_map[0])

const char *srv_status(const struct srv *s)
{
	if (s->deleted)
		return "DELETED";
	const char *def = "UNKNOWN";
	for (size_t i = 0; i < NSTATES; i++) {
		if (strcmp(state_map[i].vm_state, s->vm_state))
			continue;
		if (!state_map[i].task_state)
			def = state_map[i].status;
		else if (s->task_state && !strcmp(state_map[i].task_state, s->task_state))
			return state_map[i].status;
	}
	return def;
}

static bool in_strs(const char **list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

bool srv_status_states(const char *status, const char **vm_states, int *nvm, const char **task_states,
		       int *ntask, bool *any_task)
{
	*nvm = *ntask = 0;
	*any_task = false;
	for (size_t i = 0; i < NSTATES; i++) {
		if (strcasecmp(state_map[i].status, status))
			continue;
		if (!in_strs(vm_states, *nvm, state_map[i].vm_state))
			vm_states[(*nvm)++] = state_map[i].vm_state;
		if (!state_map[i].task_state)
			*any_task = true;
		else if (!in_strs(task_states, *ntask, state_map[i].task_state))
			task_states[(*ntask)++] = state_map[i].task_state;
	}
	return *nvm > 0;
}

/* --- state checks --- */

static bool listed(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (s ? !strcmp(*list, s) : !**list)
			return true;
	return false;
}

static int invalid_state(struct http_req *r, const struct srv *s, const char *method, const char *attr,
			 const char *state)
{
	if (!state)
		return http_error(r, ERR_CONFLICT, "Instance %s is in an invalid state for '%s'", s->uuid, method);
	return http_error(r, ERR_CONFLICT, "Cannot '%s' instance %s while it is in %s %s", method, s->uuid,
			  attr, state);
}

int srv_check_state(struct http_req *r, const struct srv *s, const char *method,
		    const char *const *vm_states, const char *const *task_states, bool must_have_launched)
{
	if (vm_states && !listed(vm_states, s->vm_state))
		return invalid_state(r, s, method, "vm_state", s->vm_state);
	if (task_states && !listed(task_states, s->task_state))
		return invalid_state(r, s, method, "task_state", s->task_state);
	if (must_have_launched && !s->launched_at)
		return invalid_state(r, s, method, "launched_at", NULL);
	return 0;
}

int srv_check_lock(struct http_req *r, const struct srv *s)
{
	if (s->locked_by && !cmp_is_admin(r))
		return http_error(r, ERR_CONFLICT, "Instance %s is locked", s->uuid);
	return 0;
}

int srv_check_host(struct http_req *r, const struct srv *s)
{
	if (!s->host || !*s->host)
		return http_error(r, ERR_CONFLICT, "Instance %s is not ready", s->uuid);
	return 0;
}

void srv_host_id(const char *project_id, const char *host, char out[57])
{
	out[0] = 0;
	if (!host || !*host)
		return;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha224(), NULL) &&
	    EVP_DigestUpdate(ctx, project_id ? project_id : "", project_id ? strlen(project_id) : 0) &&
	    EVP_DigestUpdate(ctx, host, strlen(host)) && EVP_DigestFinal_ex(ctx, md, &len) && len == 28)
		hex_encode(md, len, out);
	EVP_MD_CTX_free(ctx);
}

void srv_password(char out[13])
{
	static const char *const groups[] = { "23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz" };
	static const char all[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	unsigned char rnd[32];
	util_random(rnd, sizeof rnd);
	for (int i = 0; i < 12; i++)
		out[i] = i < 3 ? groups[i][rnd[i] % strlen(groups[i])] : all[rnd[i] % (sizeof all - 1)];
	/* shuffle so the first characters are not predictable groups */
	for (int i = 11; i > 0; i--) {
		int j = rnd[12 + i] % (i + 1);
		char t = out[i];
		out[i] = out[j];
		out[j] = t;
	}
	out[12] = 0;
}

/* --- actions, events, faults, ids --- */

int srv_action_start(struct db_conn *c, const char *uuid, const char *request_id, const char *action,
		     const char *project_id, const char *user_id)
{
	int64_t now = time_now_us();
	int rc = db_exec(c, "INSERT INTO cmp_instance_actions (instance_uuid, request_id, action, project_id,"
			 " user_id, message, start_time, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
			 DB_TEXT(uuid), DB_TEXT(request_id), DB_TEXT(action), DB_TEXT(project_id), DB_TEXT(user_id),
			 DB_INT(now), DB_INT(now));
	return rc < 0 ? rc : 0;
}

int srv_event_start(struct db_conn *c, const char *uuid, const char *request_id, const char *event,
		    const char *host)
{
	int64_t now = time_now_us();
	int rc = db_exec(c, "DELETE FROM cmp_instance_action_events WHERE instance_uuid = ? AND request_id = ?"
			 " AND event = ?", DB_TEXT(uuid), DB_TEXT(request_id), DB_TEXT(event));
	if (rc >= 0)
		rc = db_exec(c, "INSERT INTO cmp_instance_action_events (instance_uuid, request_id, event, start_time,"
			     " host) SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM cmp_instance_actions WHERE"
			     " instance_uuid = ? AND request_id = ?)", DB_TEXT(uuid), DB_TEXT(request_id),
			     DB_TEXT(event), DB_INT(now), DB_TEXT(host), DB_TEXT(uuid), DB_TEXT(request_id));
	if (rc >= 0)
		rc = db_exec(c, "UPDATE cmp_instance_actions SET updated_at = ? WHERE instance_uuid = ? AND request_id = ?",
			     DB_INT(now), DB_TEXT(uuid), DB_TEXT(request_id));
	return rc < 0 ? rc : 0;
}

int srv_event_finish(struct db_conn *c, const char *uuid, const char *request_id, const char *event,
		     bool ok, const char *traceback)
{
	int64_t now = time_now_us();
	int rc = db_exec(c, "UPDATE cmp_instance_action_events SET finish_time = ?, result = ?, traceback = ?"
			 " WHERE instance_uuid = ? AND request_id = ? AND event = ?", DB_INT(now),
			 DB_TEXT(ok ? "Success" : "Error"), DB_TEXT(traceback), DB_TEXT(uuid), DB_TEXT(request_id),
			 DB_TEXT(event));
	if (rc >= 0)
		rc = db_exec(c, "UPDATE cmp_instance_actions SET updated_at = ?, message = CASE WHEN ? = 1 THEN message"
			     " ELSE 'Error' END WHERE instance_uuid = ? AND request_id = ?", DB_INT(now), DB_BOOL(ok),
			     DB_TEXT(uuid), DB_TEXT(request_id));
	return rc < 0 ? rc : 0;
}

int srv_last_request(struct db_conn *c, const char *uuid, char out[64])
{
	struct db_rows *rows = NULL;
	int rc = db_query(c, &rows, "SELECT request_id FROM cmp_instance_actions WHERE instance_uuid = ?"
			  " ORDER BY start_time DESC LIMIT 1", DB_TEXT(uuid));
	if (rc < 0)
		return rc;
	rc = ERR_NOTFOUND;
	if (db_rows_count(rows)) {
		snprintf(out, 64, "%s", db_text(rows, 0, 0));
		rc = 0;
	}
	db_rows_free(rows);
	return rc;
}

int srv_fault_add(struct db_conn *c, const char *uuid, int code, const char *message, const char *details,
		  const char *host)
{
	char id[37];
	uuid_dashed(id);
	int rc = db_exec(c, "INSERT INTO cmp_instance_faults (id, instance_uuid, code, message, details, host,"
			 " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(uuid), DB_INT(code),
			 DB_TEXT(message), DB_TEXT(details), DB_TEXT(host), DB_INT(time_now_us()));
	return rc < 0 ? rc : 0;
}

int srv_next_id(struct db_conn *c, const char *counter, int64_t n, int64_t *first)
{
	int rc = db_exec(c, "UPDATE cmp_id_counters SET value = value + ? WHERE name = ?", DB_INT(n), DB_TEXT(counter));
	if (rc < 0)
		return rc;
	struct db_rows *rows = NULL;
	rc = db_query(c, &rows, "SELECT value FROM cmp_id_counters WHERE name = ?", DB_TEXT(counter));
	if (rc < 0)
		return rc;
	if (db_rows_count(rows) != 1) {
		db_rows_free(rows);
		return ERR_INTERNAL;
	}
	*first = db_int(rows, 0, 0) - n + 1;
	db_rows_free(rows);
	return 0;
}

int srv_mark_deleted(struct db_conn *c, const char *uuid)
{
	int64_t now = time_now_us();
	int rc = placement_release(c, uuid);
	if (rc >= 0) {
		/* allocations a resize left on migration consumers */
		struct db_rows *rows = NULL;
		rc = db_query(c, &rows, "SELECT uuid FROM cmp_migrations WHERE instance_uuid = ?", DB_TEXT(uuid));
		for (int i = 0; rc >= 0 && i < db_rows_count(rows); i++)
			rc = placement_release(c, db_text(rows, i, 0));
		db_rows_free(rows);
	}
	if (rc >= 0)
		rc = db_exec(c, "UPDATE cmp_instances SET deleted = 1, vm_state = 'deleted', task_state = NULL,"
			     " power_state = 0, terminated_at = ?, deleted_at = ?, updated_at = ?, admin_pass = NULL"
			     " WHERE uuid = ?", DB_INT(now), DB_INT(now), DB_INT(now), DB_TEXT(uuid));
	if (rc >= 0)
		rc = db_exec(c, "DELETE FROM cmp_server_group_members WHERE instance_uuid = ?", DB_TEXT(uuid));
	return rc < 0 ? rc : 0;
}

bool srv_host_up(struct db_conn *c, const char *host)
{
	struct db_rows *rows = NULL;
	if (!host || db_query(c, &rows, "SELECT last_seen_up, forced_down FROM cmp_services WHERE host = ? AND"
			      " service_binary = 'nova-compute'", DB_TEXT(host)) < 0)
		return false;
	bool up = db_rows_count(rows) && !db_bool(rows, 0, 1) &&
		  time_now_us() - db_int(rows, 0, 0) <= conf_int("compute", "service_down_time") * 1000000;
	db_rows_free(rows);
	return up;
}
