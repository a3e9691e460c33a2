/* srv.h — what the servers files share: the instance record and its columns, Nova's vm and task
 * states, loading an instance the caller may see, the JSON views, state checks in Nova's words,
 * instance actions/events and faults, and waking the scheduler and the agent.
 * Not for use outside src/compute. */
#ifndef COMPUTE_SRV_H
#define COMPUTE_SRV_H
#include "compute/cmp.h"

/* vm_state values (nova/compute/vm_states.py). */
#define VM_ACTIVE "active"
#define VM_BUILDING "building"
#define VM_PAUSED "paused"
#define VM_SUSPENDED "suspended"
#define VM_STOPPED "stopped"
#define VM_RESCUED "rescued"
#define VM_RESIZED "resized"
#define VM_SOFT_DELETED "soft-delete"
#define VM_DELETED "deleted"
#define VM_ERROR "error"

/* task_state values the servers side uses (nova/compute/task_states.py). */
#define TS_SCHEDULING "scheduling"
#define TS_NETWORKING "networking"
#define TS_SPAWNING "spawning"
#define TS_DELETING "deleting"
#define TS_POWERING_OFF "powering-off"
#define TS_POWERING_ON "powering-on"
#define TS_REBOOTING "rebooting"
#define TS_REBOOTING_HARD "rebooting_hard"
#define TS_PAUSING "pausing"
#define TS_UNPAUSING "unpausing"
#define TS_SUSPENDING "suspending"
#define TS_RESUMING "resuming"
#define TS_REBUILDING "rebuilding"
#define TS_REBUILD_SPAWNING "rebuild_spawning"
#define TS_RESIZE_PREP "resize_prep"
#define TS_RESIZE_MIGRATING "resize_migrating"
#define TS_RESIZE_FINISH "resize_finish"
#define TS_RESIZE_REVERTING "resize_reverting"
#define TS_MIGRATING "migrating"
#define TS_IMAGE_SNAPSHOT "image_snapshot"
#define TS_IMAGE_UPLOADING "image_uploading"
#define TS_UPDATING_PASSWORD "updating_password"

#define SRV_MAX_TAGS 50
#define SRV_TAG_MAX 60
#define SRV_USER_DATA_MAX 65535

/* An instance as loaded (strings in the request's arena, or heap for background threads). */
struct srv {
	const char *uuid;
	int64_t id;
	const char *project_id, *user_id, *display_name, *display_description, *hostname;
	const char *host, *node, *availability_zone;
	struct cmp_flavor flavor;                 /* the copy taken at create/resize (id = flavorid) */
	const char *flavor_specs;                 /* its extra specs as JSON text */
	const char *image_ref, *kernel_id, *ramdisk_id, *key_name, *key_data, *user_data;
	const char *config_drive;                 /* "True" or "" as Nova stores it */
	bool auto_disk_config;
	const char *access_ip_v4, *access_ip_v6, *reservation_id;
	int64_t launch_index;
	const char *root_device_name, *vm_state, *task_state;
	int64_t power_state, progress;
	const char *locked_by, *locked_reason, *trusted_certs;
	int64_t launched_at, terminated_at, created_at, updated_at, deleted_at;
	bool deleted;
	/* loaded on demand by srv_load_extras() */
	json_t *metadata;                         /* object */
	json_t *tags;                             /* array of strings */
	json_t *fault;                            /* {code, created, message, details} or NULL */
	const char *group;                        /* server group uuid or NULL */
};

/* Columns in the order srv_from_row() reads them (table alias i). */
#define SRV_COLUMNS "i.uuid, i.id, i.project_id, i.user_id, i.display_name, i.display_description," \
	" i.hostname, i.host, i.node, i.availability_zone, i.flavorid, i.flavor_name, i.vcpus, i.memory_mb," \
	" i.root_gb, i.ephemeral_gb, i.swap, i.flavor_extra_specs, i.image_ref, i.kernel_id, i.ramdisk_id," \
	" i.key_name, i.key_data, i.user_data, i.config_drive, i.auto_disk_config, i.access_ip_v4," \
	" i.access_ip_v6, i.reservation_id, i.launch_index, i.root_device_name, i.vm_state, i.task_state," \
	" i.power_state, i.progress, i.locked_by, i.locked_reason, i.trusted_certs, i.launched_at," \
	" i.terminated_at, i.created_at, i.updated_at, i.deleted_at, i.deleted"
#define SRV_NCOLUMNS 44

/* --- server_record.c --- */
/* Fills s from row i of a SELECT SRV_COLUMNS (strings copied into a). */
void srv_from_row(struct arena *a, const struct db_rows *rows, int i, struct srv *s);
/* The instance uuid the caller may see (its project's, or any for admins), not deleted unless
 * read_deleted: 0, or 404 "Instance X could not be found." recorded in r. */
int srv_get(struct http_req *r, const char *uuid, bool read_deleted, struct srv *out);
/* Loads metadata, tags, the latest fault and the group of n instances in a few queries. */
int srv_load_extras(struct http_req *r, struct srv *list, int n);
/* Nova's status from vm_state and task_state (common.status_from_state); "DELETED" if deleted. */
const char *srv_status(const struct srv *s);
/* For the status filter: the vm_states (and task_states, NULL-terminated, "default" meaning
 * none) that map to status. False when the status maps to nothing. */
bool srv_status_states(const char *status, const char **vm_states, int *nvm, const char **task_states,
		       int *ntask, bool *any_task);
/* The 0-or-409 state checks of nova.compute.api (check_instance_state, check_instance_lock,
 * check_instance_host). vm_states/task_states are NULL-terminated lists (NULL list: any);
 * a task list containing "" means task_state None. */
int srv_check_state(struct http_req *r, const struct srv *s, const char *method,
		    const char *const *vm_states, const char *const *task_states, bool must_have_launched);
int srv_check_lock(struct http_req *r, const struct srv *s);
int srv_check_host(struct http_req *r, const struct srv *s);
/* Nova's hostId: sha224 hex of project_id + host ("" without a host), into out[57]. */
void srv_host_id(const char *project_id, const char *host, char out[57]);
/* Generates Nova's style of admin password (12 characters) into out[13]. */
void srv_password(char out[13]);
/* Records the start of an instance action for the request (action "create", "reboot", ...). */
int srv_action_start(struct db_conn *c, const char *uuid, const char *request_id, const char *action,
		     const char *project_id, const char *user_id);
/* Starts or finishes an event of an action (finish: result "Success"/"Error" and finish time);
 * the action's finish time and message follow the events. */
int srv_event_start(struct db_conn *c, const char *uuid, const char *request_id, const char *event,
		    const char *host);
int srv_event_finish(struct db_conn *c, const char *uuid, const char *request_id, const char *event,
		     bool ok, const char *traceback);
/* The request id of the latest action of uuid (into out[64]): 0, or ERR_NOTFOUND. */
int srv_last_request(struct db_conn *c, const char *uuid, char out[64]);
/* Adds a fault to an instance. */
int srv_fault_add(struct db_conn *c, const char *uuid, int code, const char *message, const char *details,
		  const char *host);
/* Marks an instance deleted (the row stays, deleted = 1): releases its placement allocations and
 * those of its migrations, leaves its server group. */
int srv_mark_deleted(struct db_conn *c, const char *uuid);
/* True when the compute service of host reported within service_down_time. */
bool srv_host_up(struct db_conn *c, const char *host);
/* The next integer id of a counter ("instances", "migrations"): increments it in the open
 * transaction. */
int srv_next_id(struct db_conn *c, const char *counter, int64_t n, int64_t *first);

/* servers.c: deletes s for the request (task_state deleting, or at once when it has no live
 * host), recording the instance action `action`. */
int srv_delete(struct http_req *r, struct srv *s, const char *action);

/* --- actions.c, action_move.c --- */
/* Moves s to task (from no task, or from one of the NULL-terminated from), records the instance
 * action and wakes the agent; 409 when the instance changed meanwhile. */
int srv_start_task(struct http_req *r, struct srv *s, const char *method, const char *action, const char *task,
		   const char *const *from);
/* The guest's VNC address as vnc://host:port (no proxy exists): 0, 409 not ready, 501. */
int srv_vnc_url(struct http_req *r, struct srv *s, const char **url);
int srv_rebuild(struct http_req *r, struct srv *s, json_t *arg);
int srv_resize(struct http_req *r, struct srv *s, json_t *arg);
int srv_migrate(struct http_req *r, struct srv *s, json_t *arg);
int srv_live_migrate(struct http_req *r, struct srv *s, json_t *arg);
int srv_confirm_resize(struct http_req *r, struct srv *s, json_t *arg);
int srv_revert_resize(struct http_req *r, struct srv *s, json_t *arg);
int srv_create_image(struct http_req *r, struct srv *s, json_t *arg);
int srv_create_backup(struct http_req *r, struct srv *s, json_t *arg);

/* --- server_render.c --- */
struct srv_view_opts {
	bool detail;                  /* the full view (show, detail) rather than id/name/links */
	bool all_attrs;               /* PUT and rebuild at >= 2.75 show everything */
	bool update_view;             /* PUT/rebuild below 2.75: the reduced set */
	bool rebuild;                 /* no OS-EXT-SRV-ATTR:user_data (rebuild adds user_data itself) */
	bool server_groups;           /* 2.71 show/update/rebuild */
	int ext_attr;                 /* -1: decide by policy, 0 no, 1 yes */
	int extra_specs;              /* -1: decide by policy */
	int host_status;              /* -1: decide by policy, 0: none */
	const char *host_status_value;/* precomputed (lists) or NULL */
};
/* The JSON of a server. New reference. */
json_t *srv_view(struct http_req *r, const struct srv *s, const struct srv_view_opts *o);
/* host_status of host now ("UP", "DOWN", "MAINTENANCE", "UNKNOWN", or "" without host). */
const char *srv_host_status(struct http_req *r, const char *host);
/* Whether r may see host_status: 1 any, 2 UNKNOWN only, 0 none (project of the target). */
int srv_host_status_policy(struct http_req *r, const char *project_id);

/* --- server_create.c / servers.c --- */
/* An image checked for booting flavor (visible, active, min_ram/min_disk, zero-disk policy; its
 * kernel and ramdisk visible): 400 notfound when missing. */
struct srv_image {
	json_t *image;                /* as image_lookup gives it (freed with the request) */
	const char *kernel_id, *ramdisk_id;   /* "" when none */
	const char *props;            /* the image's attributes as JSON text (for the agent) */
};
int srv_check_image(struct http_req *r, const char *image_ref, const struct cmp_flavor *flavor,
		    const char *notfound, struct srv_image *out);
int srv_validate_metadata(struct http_req *r, const json_t *md, const char *field);
int srv_check_metadata_quota(struct http_req *r, const char *project_id, int64_t count);
/* Nova's name rule (printable, no leading/trailing whitespace, 1..255). */
int srv_validate_name(struct http_req *r, const json_t *v, const char *field);
/* A validated tag (1..60 characters, no ',' or '/'). */
int srv_validate_tag(struct http_req *r, const char *tag);
/* Nova's bool_from_string(strict) for API booleans: 0 and *out, or -1. */
int srv_parse_bool(const json_t *v, bool *out);
/* An IPv4 (af AF_INET) or IPv6 address in its canonical text form (as netaddr prints it), or
 * NULL when v is not one. */
const char *srv_ip_canonical(struct http_req *r, const json_t *v, int af);
/* base64 validity (standard alphabet with padding, as Nova's format checker). */
bool srv_base64_valid(const char *s);

/* --- scheduler and agent (sched.c, servers_life.c, ctl.c) --- */
int cmp_sched_start(struct compute_svc *svc, char *err, size_t errlen);
void cmp_sched_stop(struct compute_svc *svc);
/* The controller's own service rows (nova-scheduler, nova-conductor): created or heartbeaten. */
int cmp_ctl_controller_services(struct compute_svc *svc);
void cmp_sched_wake(struct compute_svc *svc);
void cmp_agent_wake(struct compute_svc *svc);
/* The driver of the agent that runs host (in process or remote), from its compute node's
 * hypervisor type: "fake", "qemu", or "none" (unknown host, no host yet). */
const char *cmp_host_driver(struct http_req *r, const char *host);
/* Synchronous calls the API makes on the agent owning host (console log, VNC). 0, ERR_NOTFOUND
 * (no such guest), ERR_NOTIMPL (the driver cannot), or ERR_CONFLICT (no agent for that host). */
int cmp_agent_console_log(struct compute_svc *svc, const char *host, const char *uuid, size_t max,
			  char **out, size_t *len);
int cmp_agent_vnc(struct compute_svc *svc, const char *host, const char *uuid, char hostbuf[64], int *port);

/* --- usage.c: Nova's exact quota messages --- */
/* Checks instances/cores/ram for adding count instances of flavor f (min..max like Nova): the
 * number allowed in *allowed, or 403 "Quota exceeded for ..." recorded. */
int srv_quota_instances(struct http_req *r, const char *project_id, const char *user_id,
			const struct cmp_flavor *f, int64_t min_count, int64_t max_count, int64_t *allowed);
/* Checks the extra cores/ram of a resize (deltas may be <= 0: nothing to check). */
int srv_quota_resize(struct http_req *r, const char *project_id, const char *user_id, int64_t dcores,
		     int64_t dram);

/* --- handlers listed in servers.c's table --- */
int srv_h_create(struct http_req *r);      /* server_create.c */
int srv_h_index(struct http_req *r);       /* server_list.c */
int srv_h_detail(struct http_req *r);

/* --- route families beyond servers.c, actions.c and server_sub.c --- */

#endif
