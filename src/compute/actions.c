/* actions.c — POST /servers/{id}/action: the dispatcher (one action per body, "There is no such
 * action" otherwise) and the actions that are a state check plus a task for the agent or a
 * direct change: reboot, os-start/os-stop, pause/unpause, suspend/resume, lock/unlock,
 * os-resetState, forceDelete/restore, changePassword, os-getConsoleOutput and os-getVNCConsole.
 * Rebuild, resize and createImage are in action_move.c. Each records an instance action. */
#include "compute/srv.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct action {
	const char *name;
	int (*fn)(struct http_req *r, struct srv *s, json_t *arg);
	int min_minor, max_minor;        /* microversion range (2.x); 0: no bound */
};

/* Moves s to task (from no task, or from one of from), records the instance action and wakes
 * the agent. A concurrent change is the same 409 as the state check. */
int srv_start_task(struct http_req *r, struct srv *s, const char *method, const char *action, const char *task,
		   const char *const *from)
{
	int rc = cmp_begin(r);
	if (rc < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	char cond[512] = "task_state IS NULL";
	struct db_arg args[16];
	int n = 0;
	args[n++] = DB_TEXT(task);
	args[n++] = DB_INT(time_now_us());
	args[n++] = DB_TEXT(r->request_id);
	args[n++] = DB_TEXT(s->uuid);
	if (from) {
		snprintf(cond, sizeof cond, "(task_state IS NULL");
		for (int i = 0; from[i] && n < 14; i++) {
			if (!*from[i])
				continue;
			strcat(cond, " OR task_state = ?");
			args[n++] = DB_TEXT(from[i]);
		}
		strcat(cond, ")");
	}
	args[n] = DB_END_;
	rc = db_exec_a(c, arena_printf(r->arena, "UPDATE cmp_instances SET task_state = ?, updated_at = ?, task_request_id = ?"
				       " WHERE uuid = ? AND deleted = 0 AND %s", cond), args);
	if (rc < 0)
		return cmp_db_error(r, rc, "instance task");
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Cannot '%s' instance %s while it is in task_state %s", method, s->uuid,
				  s->task_state ? s->task_state : "None");
	}
	if ((rc = srv_action_start(c, s->uuid, r->request_id, action, cmp_project(r), cmp_user(r))) < 0)
		return cmp_db_error(r, rc, "instance action");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	cmp_agent_wake(cmp_svc(r));
	return 0;
}

static const char *const NO_TASK[] = { "", NULL };

static int accepted(struct http_req *r, int rc)
{
	return rc < 0 ? rc : http_reply_empty(r, 202);
}

static int reboot(struct http_req *r, struct srv *s, json_t *arg)
{
	const char *type = json_string_value(json_object_get(arg, "type"));
	static const char *const types[] = { "HARD", "Hard", "hard", "SOFT", "Soft", "soft", NULL };
	bool known = false;
	for (int i = 0; type && types[i]; i++)
		known |= !strcmp(types[i], type);
	if (!json_is_object(arg) || !known || json_object_size(arg) != 1)
		return cmp_bad_field(r, "reboot", "'type' must be one of HARD or SOFT");
	int rc = cmp_enforce(r, "os_compute_api:servers:reboot", s->project_id, NULL);
	if (rc < 0 || (rc = srv_check_lock(r, s)) < 0)
		return rc;
	bool hard = type[0] == 'H' || type[0] == 'h';
	static const char *const soft_vm[] = { VM_ACTIVE, NULL };
	static const char *const hard_vm[] = { VM_ACTIVE, VM_STOPPED, VM_PAUSED, VM_SUSPENDED, VM_ERROR, NULL };
	static const char *const hard_task[] = { "", "rebooting", "reboot_pending", "reboot_started", "resuming",
						 "rebooting_hard", "unpausing", "pausing", "suspending", NULL };
	if ((rc = srv_check_state(r, s, "reboot", hard ? hard_vm : soft_vm, hard ? hard_task : NO_TASK, true)) < 0)
		return rc;
	return accepted(r, srv_start_task(r, s, "reboot", "reboot", hard ? TS_REBOOTING_HARD : TS_REBOOTING,
					  hard ? hard_task : NULL));
}

/* The simple power actions: policy, lock, host, state, task. */
static int power(struct http_req *r, struct srv *s, const char *policy, const char *method, const char *action,
		 const char *const *vm, const char *task, bool need_host)
{
	int rc = cmp_enforce(r, policy, s->project_id, s->user_id);
	if (rc < 0 || (rc = srv_check_lock(r, s)) < 0)
		return rc;
	if (need_host && (rc = srv_check_host(r, s)) < 0)
		return rc;
	if ((rc = srv_check_state(r, s, method, vm, NO_TASK, true)) < 0)
		return rc;
	return accepted(r, srv_start_task(r, s, method, action, task, NULL));
}

static int os_stop(struct http_req *r, struct srv *s, json_t *arg)
{
	static const char *const vm[] = { VM_ACTIVE, VM_ERROR, NULL };
	return power(r, s, "os_compute_api:servers:stop", "stop", "stop", vm, TS_POWERING_OFF, true);
}

static int os_start(struct http_req *r, struct srv *s, json_t *arg)
{
	static const char *const vm[] = { VM_STOPPED, NULL };
	return power(r, s, "os_compute_api:servers:start", "start", "start", vm, TS_POWERING_ON, true);
}

static int pause_(struct http_req *r, struct srv *s, json_t *arg)
{
	static const char *const vm[] = { VM_ACTIVE, NULL };
	return power(r, s, "os_compute_api:os-pause-server:pause", "pause", "pause", vm, TS_PAUSING, false);
}

static int unpause(struct http_req *r, struct srv *s, json_t *arg)
{
	static const char *const vm[] = { VM_PAUSED, NULL };
	return power(r, s, "os_compute_api:os-pause-server:unpause", "unpause", "unpause", vm, TS_UNPAUSING, false);
}

static int suspend(struct http_req *r, struct srv *s, json_t *arg)
{
	static const char *const vm[] = { VM_ACTIVE, NULL };
	return power(r, s, "os_compute_api:os-suspend-server:suspend", "suspend", "suspend", vm, TS_SUSPENDING, false);
}

static int resume(struct http_req *r, struct srv *s, json_t *arg)
{
	static const char *const vm[] = { VM_SUSPENDED, NULL };
	return power(r, s, "os_compute_api:os-suspend-server:resume", "resume", "resume", vm, TS_RESUMING, false);
}

/* An API-side change: the instance action with its api_ event, done now. */
static int api_change(struct http_req *r, struct srv *s, const char *action, const char *sql, const struct db_arg *args)
{
	int rc = cmp_begin(r);
	if (rc < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	char event[64];
	snprintf(event, sizeof event, "api_%s", action);
	if ((rc = srv_action_start(c, s->uuid, r->request_id, action, cmp_project(r), cmp_user(r))) < 0 ||
	    (rc = srv_event_start(c, s->uuid, r->request_id, event, NULL)) < 0 ||
	    (rc = db_exec_a(c, sql, args)) < 0 ||
	    (rc = srv_event_finish(c, s->uuid, r->request_id, event, true, NULL)) < 0)
		return cmp_db_error(r, rc, action);
	return cmp_commit(r);
}

static int lock(struct http_req *r, struct srv *s, json_t *arg)
{
	const char *reason = NULL;
	if (cmp_mv_ge(r, 2, 73)) {
		if (!json_is_null(arg) && !json_is_object(arg))
			return cmp_bad_field(r, "lock", "Value is not of type 'object', 'null'");
		const char *k;
		json_t *v;
		json_object_foreach(arg, k, v)
			if (strcmp(k, "locked_reason"))
				return cmp_v_unexpected(r, "lock", k);
		json_t *lr = json_object_get(arg, "locked_reason");
		if (lr && (!json_is_string(lr) || json_string_length(lr) < 1 || json_string_length(lr) > 255))
			return cmp_bad_field(r, "locked_reason", "Value must be a string of 1 to 255 characters");
		reason = json_string_value(lr);
	}
	int rc = cmp_enforce(r, "os_compute_api:os-lock-server:lock", s->project_id, s->user_id);
	if (rc < 0)
		return rc;
	bool owner = !strcmp(s->project_id, cmp_project(r));
	if (s->locked_by && owner)
		return http_reply_empty(r, 202);
	rc = api_change(r, s, "lock", "UPDATE cmp_instances SET locked_by = ?, locked_reason = ?, updated_at = ? WHERE uuid = ?",
			(struct db_arg[]){ DB_TEXT(owner ? "owner" : "admin"), DB_TEXT(reason), DB_INT(time_now_us()),
					   DB_TEXT(s->uuid), DB_END_ });
	return accepted(r, rc);
}

static int unlock(struct http_req *r, struct srv *s, json_t *arg)
{
	int rc = cmp_enforce(r, "os_compute_api:os-lock-server:unlock", s->project_id, NULL);
	if (rc < 0)
		return rc;
	bool owner = !strcmp(s->project_id, cmp_project(r));
	if (s->locked_by && strcmp(s->locked_by, owner ? "owner" : "admin") &&
	    (rc = cmp_enforce(r, "os_compute_api:os-lock-server:unlock:unlock_override", s->project_id, NULL)) < 0)
		return rc;
	rc = api_change(r, s, "unlock", "UPDATE cmp_instances SET locked_by = NULL, locked_reason = NULL, updated_at = ?"
			" WHERE uuid = ?", (struct db_arg[]){ DB_INT(time_now_us()), DB_TEXT(s->uuid), DB_END_ });
	return accepted(r, rc);
}

static int reset_state(struct http_req *r, struct srv *s, json_t *arg)
{
	const char *state = json_string_value(json_object_get(arg, "state"));
	if (!json_is_object(arg) || !state || (strcmp(state, "active") && strcmp(state, "error")) || json_object_size(arg) != 1)
		return cmp_bad_field(r, "state", "Value is not one of ['active', 'error']");
	int rc = cmp_enforce(r, "os_compute_api:os-admin-actions:reset_state", s->project_id, NULL);
	if (rc < 0 || (rc = cmp_begin(r)) < 0)
		return rc;
	struct db_conn *c = cmp_db(r);
	int64_t now = time_now_us();
	if ((rc = srv_action_start(c, s->uuid, r->request_id, "resetState", cmp_project(r), cmp_user(r))) < 0 ||
	    (rc = db_exec(c, "UPDATE cmp_instances SET vm_state = ?, task_state = NULL, updated_at = ? WHERE uuid = ?",
			  DB_TEXT(state), DB_INT(now), DB_TEXT(s->uuid))) < 0 ||
	    (rc = db_exec(c, "UPDATE cmp_instance_actions SET finish_time = ? WHERE instance_uuid = ? AND request_id = ?",
			  DB_INT(now), DB_TEXT(s->uuid), DB_TEXT(r->request_id))) < 0)
		return cmp_db_error(r, rc, "reset state");
	return accepted(r, cmp_commit(r));
}

static int force_delete(struct http_req *r, struct srv *s, json_t *arg)
{
	int rc = cmp_enforce(r, "os_compute_api:os-deferred-delete:force", s->project_id, s->user_id);
	if (rc < 0 || (rc = srv_check_lock(r, s)) < 0)
		return rc;
	return accepted(r, srv_delete(r, s, "delete"));
}

static int restore(struct http_req *r, struct srv *s, json_t *arg)
{
	int rc = cmp_enforce(r, "os_compute_api:os-deferred-delete:restore", s->project_id, NULL);
	if (rc < 0 || (rc = srv_check_lock(r, s)) < 0)
		return rc;
	static const char *const vm[] = { VM_SOFT_DELETED, NULL };
	/* reclaim_instance_interval is 0: nothing is ever soft-deleted, so this always refuses */
	return srv_check_state(r, s, "restore", vm, NO_TASK, true);
}

static int change_password(struct http_req *r, struct srv *s, json_t *arg)
{
	json_t *pw = json_object_get(arg, "adminPass");
	if (!json_is_object(arg) || !json_is_string(pw) || json_object_size(arg) != 1)
		return cmp_bad_field(r, "changePassword", "'adminPass' is a required property");
	int rc = cmp_enforce(r, "os_compute_api:os-admin-password", s->project_id, s->user_id);
	if (rc < 0 || (rc = srv_check_lock(r, s)) < 0)
		return rc;
	static const char *const vm[] = { VM_ACTIVE, NULL };
	if ((rc = srv_check_state(r, s, "changePassword", vm, NO_TASK, true)) < 0)
		return rc;
	const char *drv = cmp_host_driver(r, s->host);
	if (strcmp(drv, "fake"))
		return http_error(r, ERR_CONFLICT, "QEMU guest agent is not enabled");
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	rc = db_exec(cmp_db(r), "UPDATE cmp_instances SET admin_pass = ? WHERE uuid = ?", DB_TEXT(json_string_value(pw)),
		     DB_TEXT(s->uuid));
	if (rc < 0)
		return cmp_db_error(r, rc, "password");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	return accepted(r, srv_start_task(r, s, "changePassword", "changePassword", TS_UPDATING_PASSWORD, NULL));
}

/* nova.compute.manager._tail_log: the text split on newlines, the last n pieces joined again
 * (n == 0: nothing; a negative n drops the first -n pieces, as Python's slice does). */
static const char *tail_lines(struct http_req *r, const char *text, int64_t n)
{
	if (n == 0)
		return "";
	int64_t pieces = 1;
	for (const char *p = text; *p; p++)
		pieces += *p == '\n';
	int64_t skip = n > 0 ? (n >= pieces ? 0 : pieces - n) : (-n < pieces ? -n : pieces);
	const char *p = text;
	for (int64_t k = 0; k < skip && p; k++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return p ? arena_strdup(r->arena, p) : "";
}

static int console_output(struct http_req *r, struct srv *s, json_t *arg)
{
	if (!json_is_object(arg))
		return cmp_bad_field(r, "os-getConsoleOutput", "Value is not of type 'object'");
	const char *k;
	json_t *v;
	json_object_foreach(arg, k, v)
		if (strcmp(k, "length"))
			return cmp_v_unexpected(r, "os-getConsoleOutput", k);
	json_t *jl = json_object_get(arg, "length");
	int64_t length = -1;
	bool length_given = jl && !json_is_null(jl);
	if (length_given) {
		if (json_is_integer(jl))
			length = json_integer_value(jl);
		else if (!json_is_string(jl) || parse_int64(json_string_value(jl), INT64_MIN, INT64_MAX, &length) < 0)
			return cmp_bad_field(r, "length", "Value does not match '^-?[0-9]+$'");
		if (length < -1)
			return cmp_bad_field(r, "length", arena_printf(r->arena, "Value: %lld. It is less than the minimum of -1", (long long)length));
	}
	int rc = cmp_enforce(r, "os_compute_api:os-console-output", s->project_id, NULL);
	if (rc < 0 || (rc = srv_check_host(r, s)) < 0)
		return rc;
	char *out = NULL;
	size_t len = 0;
	rc = cmp_agent_console_log(cmp_svc(r), s->host, s->uuid, 1 << 20, &out, &len);
	if (rc == ERR_NOTFOUND)
		return http_error(r, ERR_NOTFOUND, "Guest does not have a console available.");
	if (rc == ERR_CONFLICT)
		return http_error(r, ERR_CONFLICT, "Instance %s is not ready", s->uuid);
	if (rc < 0)
		return http_error(r, ERR_NOTIMPL, "The requested functionality is not supported.");
	char *log = arena_strndup(r->arena, out, len);
	free(out);
	out = NULL;
	const char *t = length_given ? tail_lines(r, log, length) : log;
	/* control characters other than tab and newline are removed, as Nova does */
	char *clean = arena_alloc(r->arena, strlen(t) + 1), *w = clean;
	for (const char *p = t; *p; p++)
		if (!((unsigned char)*p <= 0x08 || ((unsigned char)*p >= 0x0b && (unsigned char)*p <= 0x1f)))
			*w++ = *p;
	*w = 0;
	free(out);
	return http_reply_json(r, 200, json_pack("{s:s}", "output", clean));
}

/* The guest's VNC address as an honest URL: no proxy exists, so vnc://host:port. */
int srv_vnc_url(struct http_req *r, struct srv *s, const char **url)
{
	int rc = srv_check_host(r, s);
	if (rc < 0)
		return rc;
	char host[64];
	int port = 0;
	rc = cmp_agent_vnc(cmp_svc(r), s->host, s->uuid, host, &port);
	if (rc == ERR_CONFLICT)
		return http_error(r, ERR_CONFLICT, "Instance %s is not ready", s->uuid);
	if (rc < 0)
		return http_error(r, ERR_NOTIMPL, "The requested functionality is not supported.");
	*url = arena_printf(r->arena, "vnc://%s:%d", host, port);
	return 0;
}

static int vnc_console(struct http_req *r, struct srv *s, json_t *arg)
{
	const char *type = json_string_value(json_object_get(arg, "type"));
	if (!json_is_object(arg) || !type || (strcmp(type, "novnc") && strcmp(type, "xvpvnc")) || json_object_size(arg) != 1)
		return cmp_bad_field(r, "type", "Value is not one of ['novnc', 'xvpvnc']");
	int rc = cmp_enforce(r, "os_compute_api:os-remote-consoles", s->project_id, NULL);
	if (rc < 0)
		return rc;
	const char *url;
	if ((rc = srv_vnc_url(r, s, &url)) < 0)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:{s:s,s:s}}", "console", "type", type, "url", url));
}

static const struct action actions[] = {
	{ "reboot", reboot, 0, 0 },
	{ "os-stop", os_stop, 0, 0 },
	{ "os-start", os_start, 0, 0 },
	{ "pause", pause_, 0, 0 },
	{ "unpause", unpause, 0, 0 },
	{ "suspend", suspend, 0, 0 },
	{ "resume", resume, 0, 0 },
	{ "lock", lock, 0, 0 },
	{ "unlock", unlock, 0, 0 },
	{ "os-resetState", reset_state, 0, 0 },
	{ "forceDelete", force_delete, 0, 0 },
	{ "restore", restore, 0, 0 },
	{ "changePassword", change_password, 0, 0 },
	{ "os-getConsoleOutput", console_output, 0, 0 },
	{ "os-getVNCConsole", vnc_console, 0, 5 },
	{ "rebuild", srv_rebuild, 0, 0 },
	{ "resize", srv_resize, 0, 0 },
	{ "migrate", srv_migrate, 0, 0 },
	{ "os-migrateLive", srv_live_migrate, 0, 0 },
	{ "confirmResize", srv_confirm_resize, 0, 0 },
	{ "revertResize", srv_revert_resize, 0, 0 },
	{ "createImage", srv_create_image, 0, 0 },
	{ "createBackup", srv_create_backup, 0, 0 },
};

static int h_action(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	if (json_object_size(body) != 1)
		return http_error(r, ERR_BADREQ, "Malformed request body");
	const char *name = json_object_iter_key(json_object_iter(body));
	json_t *arg = json_object_iter_value(json_object_iter(body));
	const struct action *a = NULL;
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (!strcmp(actions[i].name, name))
			a = &actions[i];
	if (!a)
		return http_error(r, ERR_BADREQ, "There is no such action: %s", name);
	struct mv v = cmp_mv(r);
	if ((a->min_minor && v.minor < a->min_minor) || (a->max_minor && v.minor > a->max_minor))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	struct srv s;
	int rc = srv_get(r, http_param(r, "server_id"), false, &s);
	if (rc < 0)
		return rc;
	return a->fn(r, &s, arg);
}

const struct route cmp_routes_actions[] = {
	{ "POST", "/v2.1/servers/{server_id}/action", h_action, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
