/* node.c — `monostack compute --controller URL`: a compute host without a database. It builds the
 * [compute] driver, a compute agent whose ctl talks to the controller over HTTP (ctl_http.c), and
 * a small listener of its own (CMP_AGENT_HOST_PREFIX) through which the controller asks for a
 * guest's console log or VNC address, guarded by the secret the controller handed out at
 * registration. Stopping it leaves running guests alone (QEMU guests are daemonized). */
#include "compute/agent.h"
#include "compute/cmp.h"
#include "compute/remote.h"
#include "core/conf.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct compute_node {
	struct cmp_ctl_http *http;       /* owned by the agent's ctl */
	struct cmp_agent *agent;
	struct http_server *srv;
	struct http_service service;
	struct http_service *services[1];   /* the server keeps this array */
	pthread_t starter;
	bool starter_running;
	atomic_bool failed;
	char url[600];
};

/* --- the listener the controller calls --- */

static int host_before(struct http_req *r)
{
	struct compute_node *n = r->svc->data;
	if (!cmp_ctl_http_secret_ok(n->http, http_header(r, CMP_AGENT_SECRET_HEADER)))
		return http_error(r, ERR_UNAUTH, "The agent secret is missing or wrong.");
	return 0;
}

/* GET /v1/instances/{uuid}/console[?max=BYTES] → the console log as text */
static int host_console(struct http_req *r)
{
	struct compute_node *n = r->svc->data;
	const char *uuid = http_param(r, "uuid"), *m = http_query(r, "max");
	int64_t max = 1 << 20;
	if (m && parse_int64(m, 0, 64 << 20, &max) < 0)
		return http_error(r, ERR_BADREQ, "max must be a number of bytes up to 64 MiB");
	if (!uuid_valid(uuid))
		return http_error(r, ERR_NOTFOUND, "No such guest.");
	char *out = NULL;
	size_t len = 0;
	int rc = cmp_agent_log(n->agent, uuid, (size_t)max, &out, &len);
	if (rc < 0)
		return http_error(r, rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_NOTIMPL, "No console log for this guest.");
	http_reply_text(r, 200, "text/plain; charset=utf-8", out ? out : "", out ? len : 0);
	free(out);
	return 0;
}

/* GET /v1/instances/{uuid}/vnc → {"host": H, "port": P} */
static int host_vnc(struct http_req *r)
{
	struct compute_node *n = r->svc->data;
	const char *uuid = http_param(r, "uuid");
	char host[64];
	int port = 0;
	if (!uuid_valid(uuid) || cmp_agent_vnc_addr(n->agent, uuid, host, &port) < 0)
		return http_error(r, ERR_NOTIMPL, "This guest has no VNC display.");
	return http_reply_json(r, 200, json_pack("{s:s,s:i}", "host", host, "port", port));
}

static const struct route host_routes[] = {
	{ "GET", "/v1/instances/{uuid}/console", host_console, NULL, ROUTE_EXACT, NULL },
	{ "GET", "/v1/instances/{uuid}/vnc", host_vnc, NULL, ROUTE_EXACT, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};

/* --- life cycle --- */

static struct virt_driver *make_driver(char *err, size_t errlen)
{
	const char *name = conf_str("compute", "driver");
	if (!strcmp(name, "auto"))
		name = access("/usr/bin/qemu-system-x86_64", X_OK) == 0 ? "qemu" : "fake";
	if (!strcmp(name, "fake")) {
		int64_t k = conf_int("compute", "fake_hosts");
		return virt_fake_new((int)(k < 1 ? 1 : k > 100000 ? 100000 : k), conf_str("compute", "fake_host_prefix"),
				     err, errlen);
	}
	if (!strcmp(name, "qemu"))
		return virt_qemu_new(conf_str("compute", "instances_path"), err, errlen);
	snprintf(err, errlen, "[compute] driver: '%s' cannot run a compute host (fake, qemu or auto)", name);
	return NULL;
}

/* The listener's URL as the controller reaches it: [agent] url, else http[s]://LISTEN-HOST:PORT. */
static void listener_url(struct compute_node *n, unsigned port)
{
	const char *u = conf_str("agent", "url");
	if (*u) {
		snprintf(n->url, sizeof n->url, "%s", u);
		size_t l = strlen(n->url);
		while (l > 8 && n->url[l - 1] == '/')
			n->url[--l] = 0;
		return;
	}
	const char *listen = conf_str("agent", "listen"), *colon = strrchr(listen, ':');
	char host[256];
	snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - listen) : (int)strlen(listen), listen);
	if (!*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "*")) {
		if (gethostname(host, sizeof host - 1) < 0)
			snprintf(host, sizeof host, "127.0.0.1");
		host[sizeof host - 1] = 0;
	}
	snprintf(n->url, sizeof n->url, "%s://%s:%u", *conf_str("agent", "cert_file") ? "https" : "http", host, port);
}

struct compute_node *compute_node_new(const char *controller_url, char *err, size_t errlen)
{
	struct cmp_ctl_http *h = cmp_ctl_http_new(controller_url, err, errlen);
	if (!h)
		return NULL;
	struct virt_driver *d = make_driver(err, errlen);
	if (!d) {
		cmp_ctl_http_free(h);
		return NULL;
	}
	struct compute_node *n = xcalloc(1, sizeof *n);
	n->http = h;
	char spool[4200];
	snprintf(spool, sizeof spool, "%s/agent-spool", conf_str("DEFAULT", "data_dir"));
	cmp_ctl_http_set_spool(h, spool);
	n->agent = cmp_agent_new(d, cmp_ctl_new_remote(h));
	unsigned port = 0;
	int fd = http_listen(conf_str("agent", "listen"), &port, err, errlen);
	if (fd < 0) {
		compute_node_free(n);
		return NULL;
	}
	listener_url(n, port);
	cmp_ctl_http_set_agent_url(h, n->url);
	n->service = (struct http_service){
		.name = "compute-agent",
		.prefix = CMP_AGENT_HOST_PREFIX,
		.routes = host_routes,
		.before = host_before,
		.max_body = 4096,
		.data = n,
	};
	n->services[0] = &n->service;
	struct http_config hc = { .bind = conf_str("agent", "listen"), .listen_fd = fd, .threads = 2,
				  .tls_cert_file = conf_str("agent", "cert_file"), .tls_key_file = conf_str("agent", "key_file") };
	if (http_server_start(&hc, n->services, 1, &n->srv, err, errlen) < 0) {
		close(fd);
		compute_node_free(n);
		return NULL;
	}
	return n;
}

/* Registers (retrying until the controller answers), reconciles and starts the agent's threads;
 * a failure that retrying cannot mend stops the process. */
static void *starter(void *arg)
{
	struct compute_node *n = arg;
	char err[512];
	if (cmp_agent_start(n->agent, err, sizeof err) < 0) {
		if (!strstr(err, "stopped before")) {
			log_error("compute agent: %s", err);
			atomic_store(&n->failed, true);
			kill(getpid(), SIGTERM);
		}
		return NULL;
	}
	log_info("compute agent: working for the controller; listening for it at %s", n->url);
	return NULL;
}

int compute_node_start(struct compute_node *n, char *err, size_t errlen)
{
	int rc = cmp_ctl_http_login(n->http, err, errlen);
	if (rc == ERR_UNAUTH)
		return -1;
	if (rc < 0)
		log_warn("compute agent: %s; retrying until the controller answers", err);
	if (pthread_create(&n->starter, NULL, starter, n)) {
		snprintf(err, errlen, "cannot start the compute agent");
		return -1;
	}
	n->starter_running = true;
	return 0;
}

const char *compute_node_url(const struct compute_node *n)
{
	return n->url;
}

bool compute_node_failed(const struct compute_node *n)
{
	return atomic_load(&n->failed);
}

void compute_node_free(struct compute_node *n)
{
	if (!n)
		return;
	http_server_stop(n->srv);        /* no more calls into the agent from the controller */
	cmp_ctl_http_stop(n->http);      /* retry loops give up; undelivered reports are spooled */
	if (n->starter_running)
		pthread_join(n->starter, NULL);
	cmp_agent_free(n->agent);        /* waits for running tasks; frees driver, ctl and http */
	free(n);
}
