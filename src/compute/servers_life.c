/* servers_life.c — starting and stopping the servers side: the start-up repair, the controller's
 * own service rows (nova-scheduler, nova-conductor), the virt driver chosen by [compute] driver
 * (fake | qemu | none | auto), the in-process agent and the scheduler; and the calls the API makes
 * on them (wake-ups, console log, VNC address). */
#include "compute/srv.h"
#include "compute/agent.h"
#include "compute/remote.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char buf[4096];
	for (const char *p = path; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
		if (n && access(buf, X_OK) == 0)
			return true;
		p = e ? e + 1 : p + n;
	}
	return false;
}

static struct virt_driver *make_driver(const char *name, char *err, size_t errlen)
{
	if (!strcmp(name, "auto"))
		name = on_path("qemu-system-x86_64") ? "qemu" : "fake";
	if (!strcmp(name, "fake")) {
		int64_t n = conf_int("compute", "fake_hosts");
		return virt_fake_new((int)(n < 1 ? 1 : n > 100000 ? 100000 : n), conf_str("compute", "fake_host_prefix"),
				     err, errlen);
	}
	if (!strcmp(name, "qemu"))
		return virt_qemu_new(conf_str("compute", "instances_path"), err, errlen);
	snprintf(err, errlen, "[compute] driver: unknown driver '%s' (fake, qemu, none or auto)", name);
	return NULL;
}

int cmp_servers_start(struct compute_svc *svc, char *err, size_t errlen)
{
	struct cmp_ctl *ctl = cmp_ctl_new(svc);
	if (cmp_ctl_recover(ctl, err, errlen) < 0) {
		cmp_ctl_free(ctl);
		return -1;
	}
	cmp_ctl_controller_services(svc);
	const char *name = conf_str("compute", "driver");
	if (strcmp(name, "none")) {
		struct virt_driver *d = make_driver(name, err, errlen);
		if (!d) {
			cmp_ctl_free(ctl);
			return -1;
		}
		struct cmp_agent *a = cmp_agent_new(d, ctl);
		if (cmp_agent_start(a, err, errlen) < 0) {
			cmp_agent_free(a);
			return -1;
		}
		svc->agent = a;
	} else {
		cmp_ctl_free(ctl);
	}
	if (cmp_sched_start(svc, err, errlen) < 0) {
		cmp_servers_stop(svc);
		return -1;
	}
	return 0;
}

void cmp_servers_stop(struct compute_svc *svc)
{
	cmp_sched_stop(svc);
	cmp_agent_free(svc->agent);
	svc->agent = NULL;
}

void cmp_agent_wake(struct compute_svc *svc)
{
	if (svc)
		cmp_agent_kick(svc->agent);
}

const char *cmp_host_driver(struct http_req *r, const char *host)
{
	if (!host || !*host)
		return "none";
	struct db_rows *rows;
	if (db_query(cmp_db(r), &rows, "SELECT hypervisor_type FROM cmp_nodes WHERE host = ? LIMIT 1",
		     DB_TEXT(host)) < 0)
		return "none";
	const char *t = db_rows_count(rows) ? db_text(rows, 0, 0) : NULL;
	const char *drv = !t ? "none" : !strcasecmp(t, "qemu") ? "qemu" : !strcasecmp(t, "fake") ? "fake" : "none";
	db_rows_free(rows);
	return drv;
}

int cmp_agent_console_log(struct compute_svc *svc, const char *host, const char *uuid, size_t max, char **out,
			  size_t *len)
{
	if (!svc->agent || !cmp_agent_has_host(svc->agent, host))
		return cmp_remote_console_log(svc, host, uuid, max, out, len);   /* ERR_CONFLICT: no agent */
	return cmp_agent_log(svc->agent, uuid, max, out, len);
}

int cmp_agent_vnc(struct compute_svc *svc, const char *host, const char *uuid, char hostbuf[64], int *port)
{
	if (!svc->agent || !cmp_agent_has_host(svc->agent, host))
		return cmp_remote_vnc(svc, host, uuid, hostbuf, port);   /* ERR_CONFLICT: no agent */
	return cmp_agent_vnc_addr(svc->agent, uuid, hostbuf, port);
}
