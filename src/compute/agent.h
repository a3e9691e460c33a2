/* agent.h — the compute agent (agent.c: drives a virt driver on its hosts) and the narrow
 * interface through which it talks to the controller (ctl.c: database, placement, images). The
 * agent never touches the database itself: everything it learns or reports goes through these
 * calls, in process for `monostack up`, and the same calls can later travel over HTTP for a remote
 * `monostack compute --controller URL`. Tasks are JSON objects so they cross that boundary as
 * they are. Not for use outside src/compute. */
#ifndef COMPUTE_AGENT_H
#define COMPUTE_AGENT_H
#include <stdbool.h>
#include <jansson.h>
#include "virt/virt.h"

struct compute_svc;
struct cmp_ctl;

/* --- controller side (ctl.c) --- */
struct cmp_ctl *cmp_ctl_new(struct compute_svc *svc);
void cmp_ctl_free(struct cmp_ctl *c);
/* Start-up repair before any agent runs: builds a dead process left half done become ERROR
 * with a fault (their allocations released), interrupted snapshots fail; other tasks stay
 * queued and are done again. 0 or -1 with err. */
int cmp_ctl_recover(struct cmp_ctl *c, char *err, size_t errlen);
/* Registers hosts: a nova-compute service row and a compute node per host, and the node's
 * placement provider (inventories with the [compute] ratios and reserved memory, traits). */
int cmp_ctl_register(struct cmp_ctl *c, const struct virt_host_info *hosts, int n, char *err, size_t errlen);
/* Heartbeat of the agent's hosts: 0, ERR_NOTFOUND when some host is no longer registered (its
 * service row was deleted, or the database is new: the agent registers again), or an error. */
int cmp_ctl_heartbeat(struct cmp_ctl *c, const char *const *hosts, int n);
/* The work waiting on these hosts: *tasks is a JSON array of task objects (new reference), each
 * with "uuid", "task" (the task_state that asks for it), "host", "node", "request_id" and what
 * the work needs ("spec": the guest to create). */
int cmp_ctl_fetch(struct cmp_ctl *c, const char *const *hosts, int n, json_t **tasks);
/* Takes a task: moves the instance to the task's working state (a build goes networking →
 * spawning) and starts its event. ERR_CONFLICT when the instance changed meanwhile. */
int cmp_ctl_begin(struct cmp_ctl *c, const json_t *task);
/* Reports a task's outcome: ok, or the error text; power is the guest's state afterwards. */
int cmp_ctl_report(struct cmp_ctl *c, const json_t *task, bool ok, const char *error, int power);
/* The instances the database places on these hosts (reconciliation): array of {uuid, vm_state,
 * task_state, power_state, spec}. */
int cmp_ctl_instances(struct cmp_ctl *c, const char *const *hosts, int n, json_t **out);
/* The driver found the guest in power state p (reconciliation). */
int cmp_ctl_sync_power(struct cmp_ctl *c, const char *uuid, int p);
/* Image data for a spawn (written to fd), and a snapshot's upload (path NULL: it failed). */
int cmp_ctl_image_fetch(struct cmp_ctl *c, const char *image_id, int fd, char *err, size_t errlen);
int cmp_ctl_snapshot_upload(struct cmp_ctl *c, const char *image_id, const char *path, char *err, size_t errlen);

/* --- agent side (agent.c) --- */
struct cmp_agent;
/* An agent over driver d (owned), talking to ctl. */
struct cmp_agent *cmp_agent_new(struct virt_driver *d, struct cmp_ctl *ctl);
/* Registers, reconciles, and starts the agent's threads. 0 or -1 with err. */
int cmp_agent_start(struct cmp_agent *a, char *err, size_t errlen);
/* Stops the threads (waiting for running tasks) and frees, driver included; accepts NULL. */
void cmp_agent_free(struct cmp_agent *a);
/* Wakes the agent: work may be waiting. */
void cmp_agent_kick(struct cmp_agent *a);
/* Direct calls on a guest the agent runs (console log, VNC): 0, ERR_NOTFOUND, ERR_NOTIMPL. */
int cmp_agent_log(struct cmp_agent *a, const char *uuid, size_t max, char **out, size_t *len);
int cmp_agent_vnc_addr(struct cmp_agent *a, const char *uuid, char host[64], int *port);
bool cmp_agent_has_host(struct cmp_agent *a, const char *host);

#endif
