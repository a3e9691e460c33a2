/* ctl.c — the controller side of the agent interface (agent.h), in process: registering hosts
 * (service and node rows, placement providers), heartbeats, handing out the work the instance
 * rows describe, recording outcomes (vm/task/power state, launched_at, faults, instance action
 * events, allocations on delete and resize), reconciliation, and the start-up repair of what a
 * dead process left half done. */
#include "compute/srv.h"
#include "compute/agent.h"
#include "compute/remote.h"
#include "image/image.h"
#include "placement/placement.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cmp_ctl {
	struct compute_svc *svc;
	struct cmp_ctl_http *remote;   /* set: the calls go to a controller over HTTP (ctl_http.c) */
};

struct cmp_ctl *cmp_ctl_new(struct compute_svc *svc)
{
	struct cmp_ctl *c = xcalloc(1, sizeof *c);
	c->svc = svc;
	return c;
}

struct cmp_ctl *cmp_ctl_new_remote(struct cmp_ctl_http *h)
{
	struct cmp_ctl *c = xcalloc(1, sizeof *c);
	c->remote = h;
	return c;
}

void cmp_ctl_free(struct cmp_ctl *c)
{
	if (c)
		cmp_ctl_http_free(c->remote);
	free(c);
}

/* What the agent does for each task_state, the event it records, and the working state. */
static const struct task_kind {
	const char *task, *event, *working;
} kinds[] = {
	{ TS_NETWORKING, "compute__do_build_and_run_instance", TS_SPAWNING },
	{ TS_DELETING, "compute_terminate_instance", NULL },
	{ TS_POWERING_OFF, "compute_stop_instance", NULL },
	{ TS_POWERING_ON, "compute_start_instance", NULL },
	{ TS_REBOOTING, "compute_reboot_instance", NULL },
	{ TS_REBOOTING_HARD, "compute_reboot_instance", NULL },
	{ TS_PAUSING, "compute_pause_instance", NULL },
	{ TS_UNPAUSING, "compute_unpause_instance", NULL },
	{ TS_SUSPENDING, "compute_suspend_instance", NULL },
	{ TS_RESUMING, "compute_resume_instance", NULL },
	{ TS_REBUILDING, "compute_rebuild_instance", TS_REBUILD_SPAWNING },
	{ TS_RESIZE_MIGRATING, "compute_resize_instance", TS_RESIZE_FINISH },
	{ TS_RESIZE_REVERTING, "compute_revert_resize", NULL },
	{ TS_MIGRATING, "compute_live_migration", NULL },
	{ TS_IMAGE_SNAPSHOT, "compute_snapshot_instance", TS_IMAGE_UPLOADING },
	{ TS_UPDATING_PASSWORD, "compute_set_admin_password", NULL },
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const struct task_kind *kind_of(const char *task)
{
	for (size_t i = 0; task && i < NKINDS; i++)
		if (!strcmp(kinds[i].task, task))
			return &kinds[i];
	return NULL;
}

static const char *controller_host(void)
{
	static char name[256];
	const char *h = conf_str("compute", "host");
	if (h && *h)
		return h;
	if (!name[0] && gethostname(name, sizeof name - 1) < 0)
		snprintf(name, sizeof name, "localhost");
	return name;
}

/* --- registration and heartbeats --- */

static int ensure_service(struct db_conn *c, const char *host, const char *binary, const char *topic, int64_t now)
{
	int rc = db_exec(c, "UPDATE cmp_services SET last_seen_up = ?, updated_at = ?, report_count = report_count + 1"
			 " WHERE host = ? AND service_binary = ?", DB_INT(now), DB_INT(now), DB_TEXT(host), DB_TEXT(binary));
	if (rc != 0)
		return rc < 0 ? rc : 0;
	char uuid[37];
	uuid_dashed(uuid);
	rc = db_exec(c, "INSERT INTO cmp_services (id, uuid, host, service_binary, topic, disabled, forced_down,"
		     " last_seen_up, report_count, version, created_at, updated_at) SELECT COALESCE(MAX(id), 0) + 1,"
		     " ?, ?, ?, ?, 0, 0, ?, 1, 61, ?, ? FROM cmp_services", DB_TEXT(uuid), DB_TEXT(host), DB_TEXT(binary),
		     DB_TEXT(topic), DB_INT(now), DB_INT(now), DB_INT(now));
	return rc < 0 ? rc : 0;
}

int cmp_ctl_controller_services(struct compute_svc *svc)
{
	struct db_conn *c = db_get(svc->db);
	int64_t now = time_now_us();
	int rc = db_begin(c);
	if (rc == 0)
		rc = ensure_service(c, controller_host(), "nova-scheduler", "scheduler", now);
	if (rc == 0)
		rc = ensure_service(c, controller_host(), "nova-conductor", "conductor", now);
	if (rc == 0)
		rc = db_commit(c);
	if (rc < 0)
		log_error("compute: controller services: %s", db_errmsg(c));
	db_put(c);
	return rc;
}

static int register_host(struct db_conn *c, const struct virt_host_info *h, int64_t now, char *err, size_t errlen)
{
	int rc = ensure_service(c, h->hostname, "nova-compute", "compute", now);
	if (rc < 0)
		return rc;
	struct db_rows *rows = NULL;
	rc = db_query(c, &rows, "SELECT uuid FROM cmp_nodes WHERE hypervisor_hostname = ?", DB_TEXT(h->hostname));
	if (rc < 0)
		return rc;
	char uuid[37];
	bool exists = db_rows_count(rows) > 0;
	if (exists)
		snprintf(uuid, sizeof uuid, "%s", db_text(rows, 0, 0));
	else
		uuid_dashed(uuid);
	db_rows_free(rows);
	if (exists)
		rc = db_exec(c, "UPDATE cmp_nodes SET host = ?, hypervisor_type = ?, hypervisor_version = ?, vcpus = ?,"
			     " memory_mb = ?, local_gb = ?, cpu_info = ?, updated_at = ? WHERE uuid = ?", DB_TEXT(h->hostname),
			     DB_TEXT(h->hypervisor_type), DB_INT(h->hypervisor_version), DB_INT(h->vcpus),
			     DB_INT(h->memory_mb), DB_INT(h->disk_gb), DB_TEXT(h->cpu_info), DB_INT(now), DB_TEXT(uuid));
	else
		rc = db_exec(c, "INSERT INTO cmp_nodes (id, uuid, host, hypervisor_hostname, hypervisor_type,"
			     " hypervisor_version, vcpus, memory_mb, local_gb, cpu_info, host_ip, created_at, updated_at)"
			     " SELECT COALESCE(MAX(id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, '127.0.0.1', ?, ? FROM cmp_nodes",
			     DB_TEXT(uuid), DB_TEXT(h->hostname), DB_TEXT(h->hostname), DB_TEXT(h->hypervisor_type),
			     DB_INT(h->hypervisor_version), DB_INT(h->vcpus), DB_INT(h->memory_mb), DB_INT(h->disk_gb),
			     DB_TEXT(h->cpu_info), DB_INT(now), DB_INT(now));
	if (rc < 0)
		return rc;
	int64_t reserved = conf_int("compute", "reserved_host_memory_mb");
	if (reserved >= h->memory_mb)
		reserved = 0;
	struct placement_inv inv[3] = {
		{ "VCPU", h->vcpus, 0, 1, h->vcpus, 1, strtod(conf_str("compute", "cpu_allocation_ratio"), NULL) },
		{ "MEMORY_MB", h->memory_mb, reserved, 1, h->memory_mb, 1, strtod(conf_str("compute", "ram_allocation_ratio"), NULL) },
		{ "DISK_GB", h->disk_gb, 0, 1, h->disk_gb, 1, strtod(conf_str("compute", "disk_allocation_ratio"), NULL) },
	};
	static const char *const traits[] = { "COMPUTE_NODE", "COMPUTE_IMAGE_TYPE_RAW", "COMPUTE_IMAGE_TYPE_QCOW2" };
	rc = placement_provider_ensure(c, uuid, h->hostname, inv, h->disk_gb > 0 ? 3 : 2, traits, 3, err, errlen);
	return rc < 0 ? rc : 0;
}

int cmp_ctl_register(struct cmp_ctl *ctl, const struct virt_host_info *hosts, int n, char *err, size_t errlen)
{
	if (ctl->remote)
		return cmp_ctl_http_register(ctl->remote, hosts, n, err, errlen);
	struct db_conn *c = db_get(ctl->svc->db);
	int64_t now = time_now_us();
	char perr[256] = "";
	int rc = db_begin(c);
	for (int i = 0; rc >= 0 && i < n; i++)
		rc = register_host(c, &hosts[i], now, perr, sizeof perr);
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0)
		snprintf(err, errlen, "registering compute hosts: %s", perr[0] ? perr : db_errmsg(c));
	db_put(c);
	return rc < 0 ? -1 : 0;
}

/* " IN (?, ...)" over hosts; args must hold n + extra + 1. */
static char *hosts_in(struct arena *a, const char *const *hosts, int n, struct db_arg *args)
{
	char *s = arena_alloc(a, (size_t)n * 3 + 16), *p = s;
	p += sprintf(p, " IN (");
	for (int i = 0; i < n; i++) {
		p += sprintf(p, i ? ",?" : "?");
		args[i] = DB_TEXT(hosts[i]);
	}
	sprintf(p, ")");
	args[n] = DB_END_;
	return s;
}

int cmp_ctl_heartbeat(struct cmp_ctl *ctl, const char *const *hosts, int n)
{
	if (ctl->remote)
		return cmp_ctl_http_heartbeat(ctl->remote, hosts, n);
	if (n <= 0)
		return 0;
	struct arena *a = arena_new();
	struct db_arg *args = arena_alloc(a, sizeof *args * ((size_t)n + 3));
	int64_t now = time_now_us();
	args[0] = DB_INT(now);
	args[1] = DB_INT(now);
	const char *in = hosts_in(a, hosts, n, args + 2);
	struct db_conn *c = db_get(ctl->svc->db);
	int rc = db_begin(c);
	if (rc == 0)
		rc = db_exec_a(c, arena_printf(a, "UPDATE cmp_services SET last_seen_up = ?, updated_at = ?, report_count ="
					       " report_count + 1 WHERE service_binary = 'nova-compute' AND host%s", in), args);
	int updated = rc;
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0)
		log_error("compute: heartbeat: %s", db_errmsg(c));
	db_put(c);
	arena_free(a);
	if (rc < 0)
		return rc;
	return updated < n ? ERR_NOTFOUND : 0;   /* a host's service row is gone: register again */
}

/* --- tasks --- */

#define TASK_COLUMNS "uuid, task_state, host, node, display_name, hostname, vcpus, memory_mb, root_gb, ephemeral_gb," \
	" swap, image_ref, kernel_id, ramdisk_id, image_props, user_data, key_name, key_data, project_id, user_id," \
	" availability_zone, config_drive, admin_pass, launch_index, vm_state, power_state, task_arg, old_vm_state," \
	" old_flavor, new_flavor, flavor_extra_specs, launched_at, task_request_id"

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *task_from_row(struct db_conn *c, struct db_rows *rows, int i)
{
	const char *uuid = db_text(rows, i, 0);
	static const struct { const char *key; int col; } strs[] = {
		{ "name", 4 }, { "hostname", 5 }, { "image_ref", 11 }, { "kernel_id", 12 }, { "ramdisk_id", 13 },
		{ "user_data", 15 }, { "key_name", 16 }, { "public_key", 17 }, { "project_id", 18 }, { "user_id", 19 },
		{ "availability_zone", 20 }, { "admin_pass", 22 },
	};
	static const struct { const char *key; int col; } ints[] = {
		{ "vcpus", 6 }, { "memory_mb", 7 }, { "root_gb", 8 }, { "ephemeral_gb", 9 }, { "swap", 10 }, { "launch_index", 23 },
	};
	json_t *spec = json_object();
	json_object_set_new(spec, "uuid", json_string(uuid));
	for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
		json_object_set_new(spec, strs[k].key, jstr(db_text(rows, i, strs[k].col)));
	for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
		json_object_set_new(spec, ints[k].key, json_integer(db_int(rows, i, ints[k].col)));
	json_object_set_new(spec, "config_drive", json_boolean(db_text(rows, i, 21) && *db_text(rows, i, 21)));
	json_t *props = db_text(rows, i, 14) ? json_loads(db_text(rows, i, 14), 0, NULL) : NULL;
	json_object_set_new(spec, "image", props ? props : json_object());
	/* the server's metadata for the config drive */
	json_t *md = json_object();
	struct db_rows *m = NULL;
	if (db_query(c, &m, "SELECT key, value FROM cmp_instance_metadata WHERE instance_uuid = ?", DB_TEXT(uuid)) == 0)
		for (int k = 0; k < db_rows_count(m); k++)
			json_object_set_new(md, db_text(m, k, 0), json_string(db_text(m, k, 1)));
	db_rows_free(m);
	json_object_set_new(spec, "metadata", md);
	json_t *t = json_object();
	json_object_set_new(t, "uuid", json_string(uuid));
	json_object_set_new(t, "task", jstr(db_text(rows, i, 1)));
	json_object_set_new(t, "host", jstr(db_text(rows, i, 2)));
	json_object_set_new(t, "node", jstr(db_text(rows, i, 3)));
	json_object_set_new(t, "vm_state", jstr(db_text(rows, i, 24)));
	json_object_set_new(t, "power_state", json_integer(db_int(rows, i, 25)));
	json_object_set_new(t, "task_arg", jstr(db_text(rows, i, 26)));
	json_object_set_new(t, "old_vm_state", jstr(db_text(rows, i, 27)));
	json_object_set_new(t, "spec", spec);
	json_object_set_new(t, "launched", json_boolean(!db_isnull(rows, i, 31)));
	json_t *of = db_text(rows, i, 28) ? json_loads(db_text(rows, i, 28), 0, NULL) : NULL;
	json_t *nf = db_text(rows, i, 29) ? json_loads(db_text(rows, i, 29), 0, NULL) : NULL;
	if (of)
		json_object_set_new(t, "old_flavor", of);
	if (nf)
		json_object_set_new(t, "new_flavor", nf);
	char req[64];
	if (db_text(rows, i, 32))
		json_object_set_new(t, "request_id", json_string(db_text(rows, i, 32)));
	else if (srv_last_request(c, uuid, req) == 0)
		json_object_set_new(t, "request_id", json_string(req));
	/* a move: where from and where to */
	const char *task = db_text(rows, i, 1);
	if (task && (!strcmp(task, TS_RESIZE_MIGRATING) || !strcmp(task, TS_RESIZE_REVERTING) || !strcmp(task, TS_MIGRATING))) {
		if (db_query(c, &m, "SELECT uuid, source_compute, source_node, dest_compute, dest_node FROM cmp_migrations"
			     " WHERE instance_uuid = ? ORDER BY created_at DESC LIMIT 1", DB_TEXT(uuid)) == 0 && db_rows_count(m))
			json_object_set_new(t, "migration", json_pack("{s:s,s:o,s:o,s:o,s:o}", "uuid", db_text(m, 0, 0),
				"source_host", jstr(db_text(m, 0, 1)), "source_node", jstr(db_text(m, 0, 2)),
				"dest_host", jstr(db_text(m, 0, 3)), "dest_node", jstr(db_text(m, 0, 4))));
		db_rows_free(m);
	}
	return t;
}

static int query_tasks(struct cmp_ctl *ctl, const char *const *hosts, int n, const char *cond, json_t **out)
{
	*out = json_array();
	if (n <= 0)
		return 0;
	struct arena *a = arena_new();
	struct db_arg *args = arena_alloc(a, sizeof *args * ((size_t)n + 1));
	const char *in = hosts_in(a, hosts, n, args);
	struct db_conn *c = db_get(ctl->svc->db);
	struct db_rows *rows = NULL;
	int rc = db_query_a(c, &rows, arena_printf(a, "SELECT " TASK_COLUMNS " FROM cmp_instances WHERE deleted = 0 AND"
						   " host%s AND %s ORDER BY updated_at LIMIT 1000", in, cond), args);
	for (int i = 0; rc == 0 && i < db_rows_count(rows); i++)
		json_array_append_new(*out, task_from_row(c, rows, i));
	db_rows_free(rows);
	db_put(c);
	arena_free(a);
	return rc;
}

int cmp_ctl_fetch(struct cmp_ctl *ctl, const char *const *hosts, int n, json_t **tasks)
{
	if (ctl->remote)
		return cmp_ctl_http_fetch(ctl->remote, hosts, n, tasks);
	return query_tasks(ctl, hosts, n, "(task_state IN ('networking', 'deleting', 'powering-off', 'powering-on',"
			   " 'rebooting', 'rebooting_hard', 'pausing', 'unpausing', 'suspending', 'resuming', 'rebuilding',"
			   " 'resize_migrating', 'resize_reverting', 'image_snapshot', 'updating_password') OR (task_state ="
			   " 'migrating' AND EXISTS (SELECT 1 FROM cmp_migrations m WHERE m.instance_uuid = cmp_instances.uuid"
			   " AND m.status = 'running')))", tasks);
}

int cmp_ctl_instances(struct cmp_ctl *ctl, const char *const *hosts, int n, json_t **out)
{
	if (ctl->remote)
		return cmp_ctl_http_instances(ctl->remote, hosts, n, out);
	return query_tasks(ctl, hosts, n, "1 = 1", out);
}

static const char *tstr(const json_t *t, const char *k)
{
	return json_string_value(json_object_get(t, k));
}

int cmp_ctl_begin(struct cmp_ctl *ctl, const json_t *task)
{
	if (ctl->remote)
		return cmp_ctl_http_begin(ctl->remote, task);
	const char *uuid = tstr(task, "uuid"), *ts = tstr(task, "task"), *req = tstr(task, "request_id");
	const struct task_kind *k = kind_of(ts);
	if (!k)
		return ERR_BADREQ;
	struct db_conn *c = db_get(ctl->svc->db);
	int rc = db_begin(c);
	if (rc == 0) {
		if (k->working)
			rc = db_exec(c, "UPDATE cmp_instances SET task_state = ?, updated_at = ? WHERE uuid = ? AND task_state = ?"
				     " AND deleted = 0", DB_TEXT(k->working), DB_INT(time_now_us()), DB_TEXT(uuid), DB_TEXT(ts));
		else
			rc = db_exec(c, "UPDATE cmp_instances SET updated_at = updated_at WHERE uuid = ? AND task_state = ? AND"
				     " deleted = 0", DB_TEXT(uuid), DB_TEXT(ts));
		if (rc == 0)
			rc = ERR_CONFLICT;
	}
	if (rc > 0 && req)
		rc = srv_event_start(c, uuid, req, k->event, tstr(task, "host"));
	if (rc >= 0)
		rc = db_commit(c);
	else
		db_rollback(c);
	db_put(c);
	return rc < 0 ? rc : 0;
}

static const char *vm_for_power(int p, const char *fallback)
{
	switch (p) {
	case VIRT_RUNNING: return VM_ACTIVE;
	case VIRT_SHUTDOWN: return VM_STOPPED;
	case VIRT_PAUSED: return VM_PAUSED;
	case VIRT_SUSPENDED: return VM_SUSPENDED;
	default: return fallback;
	}
}

static int64_t jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* The placement resources of a flavor object (vcpus, memory_mb, root_gb, ephemeral_gb, swap). */
static void flavor_res(const json_t *f, struct placement_res res[3])
{
	res[0] = (struct placement_res){ "VCPU", jint(f, "vcpus") };
	res[1] = (struct placement_res){ "MEMORY_MB", jint(f, "memory_mb") };
	res[2] = (struct placement_res){ "DISK_GB", jint(f, "root_gb") + jint(f, "ephemeral_gb") + (jint(f, "swap") + 1023) / 1024 };
}

static int set_flavor(struct db_conn *c, const char *uuid, const json_t *f)
{
	char *specs = json_dumps(json_object_get(f, "extra_specs") ? json_object_get(f, "extra_specs") : json_object(), JSON_COMPACT);
	int rc = db_exec(c, "UPDATE cmp_instances SET flavorid = ?, flavor_name = ?, vcpus = ?, memory_mb = ?, root_gb = ?,"
			 " ephemeral_gb = ?, swap = ?, flavor_extra_specs = ? WHERE uuid = ?", DB_TEXT(tstr(f, "flavorid")),
			 DB_TEXT(tstr(f, "name")), DB_INT(jint(f, "vcpus")), DB_INT(jint(f, "memory_mb")),
			 DB_INT(jint(f, "root_gb")), DB_INT(jint(f, "ephemeral_gb")), DB_INT(jint(f, "swap")),
			 DB_TEXT(specs ? specs : "{}"), DB_TEXT(uuid));
	free(specs);
	return rc;
}

static int report_resize(struct db_conn *c, const json_t *task, bool ok, int power, int64_t now)
{
	const char *uuid = tstr(task, "uuid");
	json_t *mig = json_object_get(task, "migration");
	const char *mig_uuid = tstr(mig, "uuid");
	int rc;
	if (!strcmp(tstr(task, "task"), TS_RESIZE_MIGRATING)) {
		if (!ok) {
			rc = db_exec(c, "UPDATE cmp_instances SET vm_state = 'error', task_state = NULL, updated_at = ? WHERE uuid = ?",
				     DB_INT(now), DB_TEXT(uuid));
			if (rc >= 0 && mig_uuid)
				rc = db_exec(c, "UPDATE cmp_migrations SET status = 'error', updated_at = ? WHERE uuid = ?",
					     DB_INT(now), DB_TEXT(mig_uuid));
			return rc;
		}
		json_t *nf = json_object_get(task, "new_flavor");
		rc = nf ? set_flavor(c, uuid, nf) : 0;
		if (rc >= 0)
			rc = db_exec(c, "UPDATE cmp_instances SET host = ?, node = ?, vm_state = 'resized', task_state = NULL,"
				     " power_state = ?, updated_at = ? WHERE uuid = ?", DB_TEXT(tstr(mig, "dest_host")),
				     DB_TEXT(tstr(mig, "dest_node")), DB_INT(power), DB_INT(now), DB_TEXT(uuid));
		if (rc >= 0 && mig_uuid)
			rc = db_exec(c, "UPDATE cmp_migrations SET status = 'finished', updated_at = ? WHERE uuid = ?",
				     DB_INT(now), DB_TEXT(mig_uuid));
		return rc;
	}
	/* revert: back to the source with the old flavor; the migration's allocation returns */
	if (!ok)
		return db_exec(c, "UPDATE cmp_instances SET vm_state = 'error', task_state = NULL, updated_at = ? WHERE uuid = ?",
			       DB_INT(now), DB_TEXT(uuid));
	json_t *of = json_object_get(task, "old_flavor");
	rc = of ? set_flavor(c, uuid, of) : 0;
	const char *old_vm = tstr(task, "old_vm_state");
	if (rc >= 0)
		rc = db_exec(c, "UPDATE cmp_instances SET host = ?, node = ?, vm_state = ?, task_state = NULL, power_state = ?,"
			     " old_flavor = NULL, new_flavor = NULL, updated_at = ? WHERE uuid = ?", DB_TEXT(tstr(mig, "source_host")),
			     DB_TEXT(tstr(mig, "source_node")), DB_TEXT(old_vm ? old_vm : VM_ACTIVE), DB_INT(power),
			     DB_INT(now), DB_TEXT(uuid));
	if (rc >= 0 && mig_uuid && of) {
		struct db_rows *rows = NULL;
		rc = db_query(c, &rows, "SELECT uuid FROM cmp_nodes WHERE hypervisor_hostname = ?", DB_TEXT(tstr(mig, "source_node")));
		if (rc >= 0 && db_rows_count(rows)) {
			struct placement_res res[3];
			char err[256];
			flavor_res(of, res);
			const char *project = tstr(json_object_get(task, "spec"), "project_id");
			const char *user = tstr(json_object_get(task, "spec"), "user_id");
			rc = placement_release(c, uuid);
			if (rc >= 0)
				rc = placement_release(c, mig_uuid);
			if (rc >= 0 && placement_claim(c, uuid, project, user, db_text(rows, 0, 0), res, 3, err, sizeof err) < 0)
				log_warn("compute: revert of %s: allocation on the source: %s", uuid, err);
		}
		db_rows_free(rows);
	}
	if (rc >= 0 && mig_uuid)
		rc = db_exec(c, "UPDATE cmp_migrations SET status = 'reverted', updated_at = ? WHERE uuid = ?", DB_INT(now),
			     DB_TEXT(mig_uuid));
	return rc;
}

int cmp_ctl_report(struct cmp_ctl *ctl, const json_t *task, bool ok, const char *error, int power)
{
	if (ctl->remote)
		return cmp_ctl_http_report(ctl->remote, task, ok, error, power);
	const char *uuid = tstr(task, "uuid"), *ts = tstr(task, "task"), *req = tstr(task, "request_id");
	const struct task_kind *k = kind_of(ts);
	if (!k)
		return ERR_BADREQ;
	const char *working = k->working ? k->working : ts;
	struct db_conn *c = db_get(ctl->svc->db);
	int64_t now = time_now_us();
	int rc = db_begin(c);
	if (rc < 0)
		goto out;
	/* the instance must still be in the task (a delete may have overtaken a build) */
	struct db_rows *rows = NULL;
	rc = db_query(c, &rows, "SELECT vm_state FROM cmp_instances WHERE uuid = ? AND task_state = ? AND deleted = 0",
		      DB_TEXT(uuid), DB_TEXT(working));
	bool current = rc == 0 && db_rows_count(rows) > 0;
	db_rows_free(rows);
	if (rc < 0 || !current) {
		if (req && rc == 0)
			srv_event_finish(c, uuid, req, k->event, ok, error);
		goto commit;
	}
	if (!strcmp(ts, TS_NETWORKING)) {
		if (ok)
			rc = db_exec(c, "UPDATE cmp_instances SET vm_state = 'active', task_state = NULL, power_state = ?,"
				     " launched_at = ?, root_device_name = '/dev/vda', admin_pass = NULL, updated_at = ? WHERE uuid = ?",
				     DB_INT(power), DB_INT(now), DB_INT(now), DB_TEXT(uuid));
		else
			rc = db_exec(c, "UPDATE cmp_instances SET vm_state = 'error', task_state = NULL, power_state = 0,"
				     " admin_pass = NULL, updated_at = ? WHERE uuid = ?", DB_INT(now), DB_TEXT(uuid));
		if (rc >= 0 && !ok)
			rc = placement_release(c, uuid);
	} else if (!strcmp(ts, TS_DELETING)) {
		rc = ok ? srv_mark_deleted(c, uuid)
			: db_exec(c, "UPDATE cmp_instances SET vm_state = 'error', task_state = NULL, updated_at = ? WHERE uuid = ?",
				  DB_INT(now), DB_TEXT(uuid));
	} else if (!strcmp(ts, TS_REBUILDING)) {
		const char *vm = ok ? vm_for_power(power, VM_ACTIVE) : VM_ERROR;
		rc = db_exec(c, "UPDATE cmp_instances SET vm_state = ?, task_state = NULL, power_state = ?, launched_at ="
			     " CASE WHEN ? = 1 THEN ? ELSE launched_at END, admin_pass = NULL, updated_at = ? WHERE uuid = ?",
			     DB_TEXT(vm), DB_INT(power), DB_BOOL(ok), DB_INT(now), DB_INT(now), DB_TEXT(uuid));
	} else if (!strcmp(ts, TS_MIGRATING)) {
		json_t *mig = json_object_get(task, "migration");
		const char *mig_uuid = tstr(mig, "uuid");
		if (ok)
			rc = db_exec(c, "UPDATE cmp_instances SET host = ?, node = ?, task_state = NULL, power_state = ?, updated_at = ?"
				     " WHERE uuid = ?", DB_TEXT(tstr(mig, "dest_host")), DB_TEXT(tstr(mig, "dest_node")), DB_INT(power),
				     DB_INT(now), DB_TEXT(uuid));
		else
			rc = db_exec(c, "UPDATE cmp_instances SET vm_state = 'error', task_state = NULL, updated_at = ? WHERE uuid = ?",
				     DB_INT(now), DB_TEXT(uuid));
		if (rc >= 0 && mig_uuid)
			rc = db_exec(c, "UPDATE cmp_migrations SET status = ?, updated_at = ? WHERE uuid = ?",
				     DB_TEXT(ok ? "completed" : "error"), DB_INT(now), DB_TEXT(mig_uuid));
		if (rc >= 0 && mig_uuid && ok)
			rc = placement_release(c, mig_uuid);
	} else if (!strcmp(ts, TS_RESIZE_MIGRATING) || !strcmp(ts, TS_RESIZE_REVERTING)) {
		rc = report_resize(c, task, ok, power, now);
	} else if (!strcmp(ts, TS_IMAGE_SNAPSHOT) || !strcmp(ts, TS_UPDATING_PASSWORD)) {
		rc = db_exec(c, "UPDATE cmp_instances SET task_state = NULL, task_arg = NULL, admin_pass = NULL, updated_at = ?"
			     " WHERE uuid = ?", DB_INT(now), DB_TEXT(uuid));
	} else {
		/* power actions: the state follows the guest; a failure leaves vm_state as it was */
		if (ok)
			rc = db_exec(c, "UPDATE cmp_instances SET vm_state = ?, task_state = NULL, power_state = ?, updated_at = ?"
				     " WHERE uuid = ?", DB_TEXT(vm_for_power(power, VM_ACTIVE)), DB_INT(power), DB_INT(now),
				     DB_TEXT(uuid));
		else
			rc = db_exec(c, "UPDATE cmp_instances SET task_state = NULL, power_state = ?, updated_at = ? WHERE uuid = ?",
				     DB_INT(power), DB_INT(now), DB_TEXT(uuid));
	}
	if (rc >= 0 && !ok)
		rc = srv_fault_add(c, uuid, 500, error ? error : "the compute agent failed", NULL, tstr(task, "host"));
	if (rc >= 0 && req)
		rc = srv_event_finish(c, uuid, req, k->event, ok, ok ? NULL : error);
commit:
	if (rc >= 0)
		rc = db_commit(c);
out:
	if (rc < 0) {
		log_error("compute: reporting %s of %s: %s", ts, uuid, db_errmsg(c));
		db_rollback(c);
	}
	db_put(c);
	return rc < 0 ? rc : 0;
}

int cmp_ctl_sync_power(struct cmp_ctl *ctl, const char *uuid, int p)
{
	if (ctl->remote)
		return cmp_ctl_http_sync_power(ctl->remote, uuid, p);
	struct db_conn *c = db_get(ctl->svc->db);
	int rc = db_begin(c);
	if (rc == 0)
		rc = db_exec(c, "UPDATE cmp_instances SET power_state = ?, vm_state = CASE WHEN vm_state IN ('active', 'stopped',"
			     " 'paused', 'suspended') THEN ? ELSE vm_state END, updated_at = ? WHERE uuid = ? AND task_state IS NULL"
			     " AND deleted = 0", DB_INT(p), DB_TEXT(vm_for_power(p, VM_STOPPED)), DB_INT(time_now_us()),
			     DB_TEXT(uuid));
	if (rc >= 0)
		rc = db_commit(c);
	else
		db_rollback(c);
	db_put(c);
	return rc < 0 ? rc : 0;
}

int cmp_ctl_image_fetch(struct cmp_ctl *ctl, const char *image_id, int fd, char *err, size_t errlen)
{
	if (ctl->remote)
		return cmp_ctl_http_image_fetch(ctl->remote, image_id, fd, err, errlen);
	return image_fetch(ctl->svc->images, image_id, fd, err, errlen);
}

int cmp_ctl_snapshot_upload(struct cmp_ctl *ctl, const char *image_id, const char *path, char *err, size_t errlen)
{
	if (ctl->remote)
		return cmp_ctl_http_snapshot_upload(ctl->remote, image_id, path, err, errlen);
	int rc = image_upload_file(ctl->svc->images, image_id, path, err, errlen);
	if (rc || !path)
		return rc;
	/* A backup: rotate its series now that it is active (Nova does it after the upload). */
	struct db_conn *c = db_get(ctl->svc->db);
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT backup_rotation FROM cmp_instances WHERE task_arg = ? AND"
		     " backup_rotation IS NOT NULL", DB_TEXT(image_id)) >= 0) {
		char e[256];
		if (db_rows_count(rows) &&
		    image_rotate_backups(ctl->svc->images, image_id, db_int(rows, 0, 0), e, sizeof e))
			log_warn("backup rotation after image %s: %s", image_id, e);
		db_rows_free(rows);
	}
	db_put(c);
	return 0;
}

/* --- start-up repair --- */

int cmp_ctl_recover(struct cmp_ctl *ctl, char *err, size_t errlen)
{
	struct db_conn *c = db_get(ctl->svc->db);
	struct db_rows *rows = NULL;
	int64_t now = time_now_us();
	int rc = db_begin(c);
	if (rc == 0)
		/* Work on hosts of remote agents is not this process's: their agents report it. */
		rc = db_query(c, &rows, "SELECT uuid, task_state, host, task_arg, task_request_id FROM cmp_instances WHERE deleted = 0 AND"
			      " task_state IN ('networking', 'spawning', 'image_snapshot', 'image_uploading', 'updating_password')"
			      " AND (host IS NULL OR host NOT IN (SELECT host FROM cmp_services WHERE agent_url IS NOT NULL))");
	int n = rc == 0 ? db_rows_count(rows) : 0;
	for (int i = 0; rc >= 0 && i < n; i++) {
		const char *uuid = db_text(rows, i, 0), *ts = db_text(rows, i, 1);
		char req[64];
		bool have_req = db_text(rows, i, 4) ? snprintf(req, sizeof req, "%s", db_text(rows, i, 4)) > 0
						    : srv_last_request(c, uuid, req) == 0;
		if (!strcmp(ts, TS_NETWORKING) || !strcmp(ts, TS_SPAWNING)) {
			const char *msg = "Build of instance was interrupted by a restart of the compute service.";
			rc = db_exec(c, "UPDATE cmp_instances SET vm_state = 'error', task_state = NULL, power_state = 0,"
				     " admin_pass = NULL, updated_at = ? WHERE uuid = ?", DB_INT(now), DB_TEXT(uuid));
			if (rc >= 0)
				rc = placement_release(c, uuid);
			if (rc >= 0)
				rc = srv_fault_add(c, uuid, 500, msg, NULL, db_text(rows, i, 2));
			if (rc >= 0 && have_req)
				rc = srv_event_finish(c, uuid, req, "compute__do_build_and_run_instance", false, msg);
			log_warn("compute: instance %s was building when the service stopped: ERROR", uuid);
		} else {
			rc = db_exec(c, "UPDATE cmp_instances SET task_state = NULL, task_arg = NULL, updated_at = ? WHERE uuid = ?",
				     DB_INT(now), DB_TEXT(uuid));
			if (rc >= 0 && have_req)
				rc = srv_event_finish(c, uuid, req, strstr(ts, "image") ? "compute_snapshot_instance"
						      : "compute_set_admin_password", false, "interrupted by a restart");
		}
	}
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0) {
		snprintf(err, errlen, "compute start-up repair failed: %s", db_errmsg(c));
		db_rows_free(rows);
		db_put(c);
		return -1;
	}
	/* snapshots that can never finish */
	for (int i = 0; i < n; i++) {
		const char *ts = db_text(rows, i, 1), *arg = db_text(rows, i, 3);
		if (strstr(ts, "image") && arg) {
			char e[256];
			image_upload_file(ctl->svc->images, arg, NULL, e, sizeof e);
		}
	}
	db_rows_free(rows);
	db_put(c);
	return 0;
}
