/* remote.h — the compute agent protocol over HTTP, for `monostack compute --controller URL` on
 * another host: the agent side's cmp_ctl_* calls carried to the controller's /compute/agent/v1
 * endpoints (ctl_http.c), and the controller side's calls to a remote agent's own small listener
 * for console logs and VNC addresses (agent_host.c). Not for use outside src/compute. */
#ifndef COMPUTE_REMOTE_H
#define COMPUTE_REMOTE_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "virt/virt.h"

struct compute_svc;
struct cmp_ctl;

/* The header a remote agent's listener requires: the secret the controller handed out when the
 * agent registered. */
#define CMP_AGENT_SECRET_HEADER "X-Monostack-Agent-Secret"
/* The agent listener's service prefix. */
#define CMP_AGENT_HOST_PREFIX "/agent-host"

/* --- agent side (ctl_http.c) --- */
struct cmp_ctl_http;
/* A connection to the controller at base URL (scheme://host[:port], the cloud's public URL),
 * authenticating with the [agent] credentials. NULL with err on a bad URL or missing options. */
struct cmp_ctl_http *cmp_ctl_http_new(const char *controller_url, char *err, size_t errlen);
/* Frees; accepts NULL. Usually freed by cmp_ctl_free() of the ctl that owns it. */
void cmp_ctl_http_free(struct cmp_ctl_http *h);
/* The URL of the agent's own listener, sent when it registers (NULL: none). */
void cmp_ctl_http_set_agent_url(struct cmp_ctl_http *h, const char *url);
/* Directory where reports that could not be delivered before a stop wait for the next start. */
void cmp_ctl_http_set_spool(struct cmp_ctl_http *h, const char *dir);
/* Makes every retry loop give up (thread-safe): called before the agent is freed. */
void cmp_ctl_http_stop(struct cmp_ctl_http *h);
/* One Keystone authentication: 0, ERR_UNAUTH (the credentials are refused), or -1 with err
 * (the controller cannot be reached). */
int cmp_ctl_http_login(struct cmp_ctl_http *h, char *err, size_t errlen);
/* True when secret is the one the controller gave at the last registration. */
bool cmp_ctl_http_secret_ok(struct cmp_ctl_http *h, const char *secret);

/* The cmp_ctl_* calls of agent.h over HTTP (ctl.c dispatches to them for a remote ctl). */
int cmp_ctl_http_register(struct cmp_ctl_http *h, const struct virt_host_info *hosts, int n, char *err, size_t errlen);
int cmp_ctl_http_heartbeat(struct cmp_ctl_http *h, const char *const *hosts, int n);
int cmp_ctl_http_fetch(struct cmp_ctl_http *h, const char *const *hosts, int n, json_t **tasks);
int cmp_ctl_http_begin(struct cmp_ctl_http *h, const json_t *task);
int cmp_ctl_http_report(struct cmp_ctl_http *h, const json_t *task, bool ok, const char *error, int power);
int cmp_ctl_http_instances(struct cmp_ctl_http *h, const char *const *hosts, int n, json_t **out);
int cmp_ctl_http_sync_power(struct cmp_ctl_http *h, const char *uuid, int p);
int cmp_ctl_http_image_fetch(struct cmp_ctl_http *h, const char *image_id, int fd, char *err, size_t errlen);
int cmp_ctl_http_snapshot_upload(struct cmp_ctl_http *h, const char *image_id, const char *path, char *err,
				 size_t errlen);

/* ctl.c: a ctl whose calls go to h (owned: freed with the ctl). */
struct cmp_ctl *cmp_ctl_new_remote(struct cmp_ctl_http *h);

/* --- controller side (agent_host.c): asking a remote agent about its guests --- */
/* The console log / VNC address of instance uuid on host through the agent listener that host's
 * service registered: as cmp_agent_log/cmp_agent_vnc_addr, and ERR_CONFLICT when the host has
 * no remote agent or it cannot be reached. */
int cmp_remote_console_log(struct compute_svc *svc, const char *host, const char *uuid, size_t max, char **out,
			   size_t *len);
int cmp_remote_vnc(struct compute_svc *svc, const char *host, const char *uuid, char hostbuf[64], int *port);

#endif
