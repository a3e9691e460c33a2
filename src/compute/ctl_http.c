/* ctl_http.c — agent.h's cmp_ctl_* calls carried over HTTP to a controller's /compute/agent/v1
 * endpoints (agent_api.c), for `monostack compute --controller URL`: Keystone password
 * authentication with the [agent] credentials (the token renewed before it expires or on a 401),
 * JSON bodies, image data streamed into the cache file and snapshots streamed from theirs, and
 * the retry rules: registration and reports are retried until they succeed or the agent stops
 * (a report still undelivered then is spooled to disk and sent at the next start), heartbeats and
 * fetches are simply tried again at the next tick, the rest retry a few times. */
#include "compute/remote.h"
#include "compute/cmp.h"
#include "core/conf.h"
#include "core/httpc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define API "/compute/agent/v1"
#define RENEW_BEFORE_US (120 * 1000000LL)   /* renew a token this long before it expires */
#define FEW_TRIES 4

struct cmp_ctl_http {
	char *base;                   /* scheme://host[:port] of the controller, no trailing slash */
	char *agent_url, *spool;
	char *username, *password, *project, *user_domain, *project_domain, *ca_file;
	int timeout_ms;
	pthread_mutex_t mu;           /* token, secret, reachable */
	char *token;
	int64_t token_expires;
	char secret[80];
	bool reachable;
	atomic_bool stop;
};

static char *dup_opt(const char *section, const char *name)
{
	return xstrdup(conf_str(section, name));
}

struct cmp_ctl_http *cmp_ctl_http_new(const char *controller_url, char *err, size_t errlen)
{
	if (!controller_url || (strncmp(controller_url, "http://", 7) && strncmp(controller_url, "https://", 8))) {
		snprintf(err, errlen, "the controller URL must start with http:// or https://");
		return NULL;
	}
	if (!*conf_str("agent", "username") || !*conf_str("agent", "password")) {
		snprintf(err, errlen, "[agent] username and password are needed to reach the controller");
		return NULL;
	}
	struct cmp_ctl_http *h = xcalloc(1, sizeof *h);
	h->base = xstrdup(controller_url);
	size_t n = strlen(h->base);
	while (n > 8 && h->base[n - 1] == '/')
		h->base[--n] = 0;
	h->username = dup_opt("agent", "username");
	h->password = dup_opt("agent", "password");
	h->project = dup_opt("agent", "project_name");
	h->user_domain = dup_opt("agent", "user_domain_name");
	h->project_domain = dup_opt("agent", "project_domain_name");
	h->ca_file = dup_opt("agent", "ca_file");
	int64_t t = conf_int("agent", "timeout");
	h->timeout_ms = (int)(t < 1 ? 30000 : t > 3600 ? 3600000 : t * 1000);
	h->reachable = true;
	pthread_mutex_init(&h->mu, NULL);
	return h;
}

void cmp_ctl_http_free(struct cmp_ctl_http *h)
{
	if (!h)
		return;
	free(h->base);
	free(h->agent_url);
	free(h->spool);
	free(h->username);
	if (h->password)
		memset(h->password, 0, strlen(h->password));
	free(h->password);
	free(h->project);
	free(h->user_domain);
	free(h->project_domain);
	free(h->ca_file);
	free(h->token);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void cmp_ctl_http_set_agent_url(struct cmp_ctl_http *h, const char *url)
{
	free(h->agent_url);
	h->agent_url = url ? xstrdup(url) : NULL;
}

void cmp_ctl_http_set_spool(struct cmp_ctl_http *h, const char *dir)
{
	free(h->spool);
	h->spool = dir ? xstrdup(dir) : NULL;
}

void cmp_ctl_http_stop(struct cmp_ctl_http *h)
{
	if (h)
		atomic_store(&h->stop, true);
}

static bool stopped(struct cmp_ctl_http *h)
{
	return atomic_load(&h->stop);
}

bool cmp_ctl_http_secret_ok(struct cmp_ctl_http *h, const char *secret)
{
	if (!secret)
		return false;
	pthread_mutex_lock(&h->mu);
	size_t n = strlen(h->secret);
	bool ok = n > 0 && strlen(secret) == n && util_memeq_ct(secret, h->secret, n);
	pthread_mutex_unlock(&h->mu);
	return ok;
}

/* Logs when the controller becomes unreachable and when it answers again, once each. */
static void reachability(struct cmp_ctl_http *h, bool ok, const char *why)
{
	pthread_mutex_lock(&h->mu);
	bool was = h->reachable;
	h->reachable = ok;
	pthread_mutex_unlock(&h->mu);
	if (was && !ok)
		log_warn("compute agent: the controller at %s cannot be reached: %s", h->base, why);
	else if (!was && ok)
		log_info("compute agent: the controller at %s answers again", h->base);
}

/* Sleeps before retry number attempt (0.5 s doubling up to 10 s); false when stopping. */
static bool backoff(struct cmp_ctl_http *h, int attempt)
{
	int64_t ms = 500LL << (attempt < 5 ? attempt : 5);
	if (ms > 10000)
		ms = 10000;
	for (int64_t t = 0; t < ms; t += 100) {
		if (stopped(h))
			return false;
		usleep(100000);
	}
	return !stopped(h);
}

/* --- authentication --- */

/* One password authentication (h->mu held): 0, ERR_UNAUTH, or -1 (transport) with err. */
static int login_locked(struct cmp_ctl_http *h, char *err, size_t errlen)
{
	json_t *body = json_pack("{s:{s:{s:[s],s:{s:{s:s,s:{s:s},s:s}}},s:{s:{s:s,s:{s:s}}}}}",
				 "auth", "identity", "methods", "password", "password", "user", "name", h->username,
				 "domain", "name", h->user_domain, "password", h->password, "scope", "project",
				 "name", h->project, "domain", "name", h->project_domain);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	char url[1024];
	snprintf(url, sizeof url, "%s/identity/v3/auth/tokens", h->base);
	const char *hdrs[] = { "Content-Type: application/json", "Accept: application/json",
			       "User-Agent: monostack-compute", NULL };
	struct httpc_req q = { .method = "POST", .url = url, .headers = hdrs, .body = text,
			       .body_len = (int64_t)strlen(text), .body_fd = -1, .out_fd = -1,
			       .timeout_ms = h->timeout_ms, .ca_file = *h->ca_file ? h->ca_file : NULL };
	struct httpc_resp resp;
	int rc = httpc_do(&q, &resp, err, errlen);
	memset(text, 0, strlen(text));
	free(text);
	if (rc < 0)
		return -1;
	char tok[2048];
	if (resp.status == 401 || resp.status == 403 || resp.status == 404 || resp.status == 400) {
		snprintf(err, errlen, "the controller's identity service refused the [agent] credentials (%d)", resp.status);
		httpc_resp_free(&resp);
		return ERR_UNAUTH;
	}
	if (resp.status != 201 || !httpc_header(&resp, "X-Subject-Token", tok, sizeof tok)) {
		snprintf(err, errlen, "authentication at %s answered %d", url, resp.status);
		httpc_resp_free(&resp);
		return -1;
	}
	int64_t exp = time_now_us() + 3600 * 1000000LL;
	json_t *j = json_loads(resp.body ? resp.body : "", 0, NULL);
	const char *e = json_string_value(json_object_get(json_object_get(j, "token"), "expires_at"));
	int64_t parsed;
	if (e && time_parse(e, &parsed) == 0)
		exp = parsed;
	json_decref(j);
	httpc_resp_free(&resp);
	free(h->token);
	h->token = xstrdup(tok);
	h->token_expires = exp;
	return 0;
}

int cmp_ctl_http_login(struct cmp_ctl_http *h, char *err, size_t errlen)
{
	pthread_mutex_lock(&h->mu);
	int rc = login_locked(h, err, errlen);
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/* A valid token (malloc'd), logging in when there is none, it expires soon, or stale (the one a
 * request just saw refused). NULL with err. */
static char *token_get(struct cmp_ctl_http *h, const char *stale, char *err, size_t errlen)
{
	pthread_mutex_lock(&h->mu);
	bool fresh = h->token && h->token_expires - RENEW_BEFORE_US > time_now_us() &&
		     !(stale && !strcmp(stale, h->token));
	int rc = fresh ? 0 : login_locked(h, err, errlen);
	char *t = rc == 0 ? xstrdup(h->token) : NULL;
	pthread_mutex_unlock(&h->mu);
	return t;
}

/* Forgets tok when it is still the current token (the controller refused it). */
static void token_drop(struct cmp_ctl_http *h, const char *tok)
{
	pthread_mutex_lock(&h->mu);
	if (h->token && !strcmp(h->token, tok))
		h->token_expires = 0;
	pthread_mutex_unlock(&h->mu);
}

/* --- one call --- */

/* Sends q (its method, body and out_fd set by the caller) to API path with a token: 0 with *resp
 * (any status; a 401 is retried once with a new token), or -1 with err when the controller
 * cannot be reached or the agent cannot authenticate. */
static int call(struct cmp_ctl_http *h, struct httpc_req *q, const char *path, struct httpc_resp *resp,
		char *err, size_t errlen)
{
	char url[2048];
	snprintf(url, sizeof url, "%s" API "%s", h->base, path);
	char *stale = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		char *tok = token_get(h, stale, err, errlen);
		free(stale);
		stale = NULL;
		if (!tok) {
			reachability(h, false, err);
			return -1;
		}
		char auth[2100];
		snprintf(auth, sizeof auth, "X-Auth-Token: %s", tok);
		const char *json_hdrs[] = { auth, "Content-Type: application/json", "Accept: application/json",
					    "User-Agent: monostack-compute", NULL };
		const char *bin_hdrs[] = { auth, "Content-Type: application/octet-stream", "User-Agent: monostack-compute",
					   NULL };
		q->url = url;
		q->headers = q->body_fd >= 0 || q->out_fd >= 0 ? bin_hdrs : json_hdrs;
		q->timeout_ms = h->timeout_ms;
		q->ca_file = *h->ca_file ? h->ca_file : NULL;
		int rc = httpc_do(q, resp, err, errlen);
		if (rc < 0) {
			free(tok);
			reachability(h, false, err);
			return -1;
		}
		reachability(h, true, NULL);
		if (resp->status == 401)
			token_drop(h, tok);
		/* a streamed body cannot be sent again here: its caller retries */
		if (resp->status != 401 || attempt == 1 || q->body_fd >= 0 || q->out_fd >= 0) {
			free(tok);
			return 0;
		}
		httpc_resp_free(resp);
		stale = tok;
	}
	return 0;   /* not reached */
}

/* A JSON call: body (may be NULL, borrowed), *out the parsed 2xx answer (may be NULL to drop).
 * Returns 0; ERR_CONFLICT/ERR_NOTFOUND/ERR_BADREQ/ERR_FORBIDDEN for those answers; -2 for a
 * transient failure worth retrying (no connection, 5xx, 429); -1 for other answers. */
#define TRANSIENT (-2)
static int call_json(struct cmp_ctl_http *h, const char *method, const char *path, const json_t *body, json_t **out,
		     char *err, size_t errlen)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct httpc_req q = { .method = method, .body = text, .body_len = text ? (int64_t)strlen(text) : 0,
			       .body_fd = -1, .out_fd = -1 };
	struct httpc_resp resp;
	int rc = call(h, &q, path, &resp, err, errlen);
	free(text);
	if (rc < 0)
		return TRANSIENT;
	int st = resp.status;
	if (st / 100 == 2) {
		if (out) {
			*out = st == 204 ? NULL : json_loads(resp.body ? resp.body : "", 0, NULL);
			if (st != 204 && !*out) {
				snprintf(err, errlen, "%s %s: the controller's answer is not JSON", method, path);
				httpc_resp_free(&resp);
				return -1;
			}
		}
		httpc_resp_free(&resp);
		return 0;
	}
	/* Nova's error body: {"<fault>": {"code": N, "message": "..."}} */
	json_t *j = json_loads(resp.body ? resp.body : "", 0, NULL);
	const char *msg = NULL, *k;
	json_t *v;
	json_object_foreach(j, k, v)
		if (json_is_string(json_object_get(v, "message")))
			msg = json_string_value(json_object_get(v, "message"));
	snprintf(err, errlen, "%s %s: %d %s", method, path, st, msg ? msg : "");
	json_decref(j);
	httpc_resp_free(&resp);
	switch (st) {
	case 400: return ERR_BADREQ;
	case 403: return ERR_FORBIDDEN;
	case 404: return ERR_NOTFOUND;
	case 409: return ERR_CONFLICT;
	case 408: case 429: return TRANSIENT;
	default: return st >= 500 ? TRANSIENT : -1;
	}
}

/* call_json retried while the failure is transient: up to tries times (0: until it succeeds or
 * the agent stops). */
static int call_retry(struct cmp_ctl_http *h, int tries, const char *method, const char *path, const json_t *body,
		      json_t **out, char *err, size_t errlen)
{
	int rc;
	for (int attempt = 0;; attempt++) {
		rc = call_json(h, method, path, body, out, err, errlen);
		if (rc != TRANSIENT || (tries && attempt + 1 >= tries) || !backoff(h, attempt))
			break;
	}
	return rc;
}

static json_t *host_array(const char *const *hosts, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(hosts[i]));
	return a;
}

/* --- reports that could not be delivered --- */

static void spool_report(struct cmp_ctl_http *h, const json_t *report)
{
	const char *uuid = json_string_value(json_object_get(json_object_get(report, "task"), "uuid"));
	if (!h->spool || mkdir(h->spool, 0700) < 0) {
		if (!h->spool || errno != EEXIST) {
			log_error("compute agent: the report of %s is lost: no spool directory", uuid ? uuid : "?");
			return;
		}
	}
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/report-%020lld-%s.json", h->spool, (long long)time_now_us(), uuid ? uuid : "x");
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (json_dump_file(report, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		log_error("compute agent: the report of %s is lost: cannot write %s", uuid ? uuid : "?", path);
		return;
	}
	log_warn("compute agent: the report of %s waits in %s for the controller", uuid ? uuid : "?", path);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sends the spooled reports in the order they were written; stops at the first transient failure. */
static void spool_replay(struct cmp_ctl_http *h)
{
	DIR *d = h->spool ? opendir(h->spool) : NULL;
	if (!d)
		return;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (strncmp(e->d_name, "report-", 7) || l < 5 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		if (n == cap)
			names = xrealloc(names, sizeof *names * (cap = cap ? cap * 2 : 16));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	bool blocked = false;
	for (size_t i = 0; i < n; i++) {
		char path[4096], err[512];
		snprintf(path, sizeof path, "%s/%s", h->spool, names[i]);
		json_t *rep = blocked ? NULL : json_load_file(path, 0, NULL);
		if (rep) {
			int rc = call_json(h, "POST", "/report", rep, NULL, err, sizeof err);
			if (rc == TRANSIENT)
				blocked = true;
			else {
				if (rc < 0)
					log_error("compute agent: spooled report %s refused: %s", names[i], err);
				unlink(path);
			}
			json_decref(rep);
		} else if (!blocked) {
			log_error("compute agent: spooled report %s is unreadable: removed", names[i]);
			unlink(path);
		}
		free(names[i]);
	}
	free(names);
}

/* --- the agent interface --- */

int cmp_ctl_http_register(struct cmp_ctl_http *h, const struct virt_host_info *hosts, int n, char *err, size_t errlen)
{
	json_t *arr = json_array();
	for (int i = 0; i < n; i++) {
		const struct virt_host_info *x = &hosts[i];
		json_array_append_new(arr, json_pack("{s:s,s:i,s:I,s:I,s:s,s:I,s:s}", "hostname", x->hostname,
						     "vcpus", x->vcpus, "memory_mb", (json_int_t)x->memory_mb,
						     "disk_gb", (json_int_t)x->disk_gb, "hypervisor_type", x->hypervisor_type,
						     "hypervisor_version", (json_int_t)x->hypervisor_version,
						     "cpu_info", x->cpu_info));
	}
	json_t *body = json_pack("{s:o,s:o}", "hosts", arr, "agent_url", h->agent_url ? json_string(h->agent_url) : json_null());
	json_t *ans = NULL;
	int rc = call_retry(h, 0, "POST", "/register", body, &ans, err, errlen);
	json_decref(body);
	if (rc < 0) {
		if (rc == TRANSIENT)
			snprintf(err, errlen, "stopped before the controller at %s answered", h->base);
		return -1;
	}
	const char *secret = json_string_value(json_object_get(ans, "secret"));
	pthread_mutex_lock(&h->mu);
	snprintf(h->secret, sizeof h->secret, "%s", secret ? secret : "");
	pthread_mutex_unlock(&h->mu);
	json_decref(ans);
	log_info("compute agent: %d host(s) registered with the controller at %s", n, h->base);
	spool_replay(h);
	return 0;
}

int cmp_ctl_http_heartbeat(struct cmp_ctl_http *h, const char *const *hosts, int n)
{
	char err[512];
	json_t *body = json_pack("{s:o}", "hosts", host_array(hosts, n));
	int rc = call_json(h, "POST", "/heartbeat", body, NULL, err, sizeof err);
	json_decref(body);
	if (rc == ERR_NOTFOUND)
		return ERR_NOTFOUND;       /* the agent registers again */
	if (rc < 0 && rc != TRANSIENT)
		log_warn("compute agent: heartbeat refused: %s", err);
	return rc < 0 ? -1 : 0;    /* a lost heartbeat is not retried: the next one follows */
}

/* POST path {"hosts": [...]} → the array under key. */
static int host_query(struct cmp_ctl_http *h, int tries, const char *path, const char *key, const char *const *hosts,
		      int n, json_t **out)
{
	char err[512];
	json_t *body = json_pack("{s:o}", "hosts", host_array(hosts, n)), *ans = NULL;
	int rc = call_retry(h, tries, "POST", path, body, &ans, err, sizeof err);
	json_decref(body);
	json_t *arr = json_object_get(ans, key);
	if (rc == 0 && json_is_array(arr)) {
		*out = json_incref(arr);
		json_decref(ans);
		return 0;
	}
	json_decref(ans);
	if (rc != TRANSIENT)
		log_warn("compute agent: %s: %s", path, rc == 0 ? "malformed answer" : err);
	*out = json_array();
	return -1;
}

int cmp_ctl_http_fetch(struct cmp_ctl_http *h, const char *const *hosts, int n, json_t **tasks)
{
	return host_query(h, 1, "/fetch", "tasks", hosts, n, tasks);
}

int cmp_ctl_http_instances(struct cmp_ctl_http *h, const char *const *hosts, int n, json_t **out)
{
	return host_query(h, FEW_TRIES * 2, "/instances", "instances", hosts, n, out);
}

int cmp_ctl_http_begin(struct cmp_ctl_http *h, const json_t *task)
{
	char err[512];
	json_t *body = json_pack("{s:O}", "task", task);
	int rc = call_retry(h, FEW_TRIES, "POST", "/begin", body, NULL, err, sizeof err);
	json_decref(body);
	if (rc < 0 && rc != ERR_CONFLICT)
		log_warn("compute agent: begin: %s", err);
	return rc == TRANSIENT ? -1 : rc;
}

int cmp_ctl_http_report(struct cmp_ctl_http *h, const json_t *task, bool ok, const char *error, int power)
{
	char err[512];
	json_t *body = json_pack("{s:O,s:b,s:o,s:i}", "task", task, "ok", ok, "error",
				 error ? json_string(error) : json_null(), "power", power);
	int rc = call_retry(h, 0, "POST", "/report", body, NULL, err, sizeof err);
	if (rc == TRANSIENT)
		spool_report(h, body);       /* stopping: the next start delivers it */
	else if (rc < 0)
		log_error("compute agent: the controller refused a report: %s", err);
	json_decref(body);
	return rc < 0 ? -1 : 0;
}

int cmp_ctl_http_sync_power(struct cmp_ctl_http *h, const char *uuid, int p)
{
	char err[512];
	json_t *body = json_pack("{s:s,s:i}", "uuid", uuid, "power_state", p);
	int rc = call_retry(h, FEW_TRIES, "POST", "/power", body, NULL, err, sizeof err);
	json_decref(body);
	if (rc < 0)
		log_warn("compute agent: power state of %s: %s", uuid, err);
	return rc < 0 ? -1 : 0;
}

static bool path_id_ok(const char *id)
{
	if (!id || !*id || strlen(id) > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-'))
			return false;
	return true;
}

int cmp_ctl_http_image_fetch(struct cmp_ctl_http *h, const char *image_id, int fd, char *err, size_t errlen)
{
	if (!path_id_ok(image_id)) {
		snprintf(err, errlen, "bad image id");
		return -1;
	}
	char path[128];
	snprintf(path, sizeof path, "/images/%s", image_id);
	off_t start = lseek(fd, 0, SEEK_CUR);
	for (int attempt = 0;; attempt++) {
		struct httpc_req q = { .method = "GET", .body_fd = -1, .out_fd = fd };
		struct httpc_resp resp;
		int rc = call(h, &q, path, &resp, err, errlen), st = rc == 0 ? resp.status : 0;
		if (rc == 0 && st == 200) {
			httpc_resp_free(&resp);
			return 0;
		}
		if (rc == 0 && st / 100 == 4 && st != 401 && st != 408 && st != 429) {
			snprintf(err, errlen, st == 404 ? "image %s has no data" : "the controller refused image %s (%d)",
				 image_id, st);
			httpc_resp_free(&resp);
			return st == 404 ? ERR_NOTFOUND : -1;
		}
		if (rc == 0)
			snprintf(err, errlen, "image %s: the controller answered %d", image_id, st);
		httpc_resp_free(&resp);
		/* start again from where the data began */
		if (start < 0 || ftruncate(fd, start) < 0 || lseek(fd, start, SEEK_SET) < 0 || attempt + 1 >= FEW_TRIES ||
		    !backoff(h, attempt))
			return -1;
	}
}

int cmp_ctl_http_snapshot_upload(struct cmp_ctl_http *h, const char *image_id, const char *path, char *err,
				 size_t errlen)
{
	if (!path_id_ok(image_id)) {
		snprintf(err, errlen, "bad image id");
		return -1;
	}
	char api[128];
	snprintf(api, sizeof api, "/snapshots/%s", image_id);
	if (!path) {
		int rc = call_retry(h, FEW_TRIES, "DELETE", api, NULL, NULL, err, errlen);
		return rc < 0 && rc != ERR_NOTFOUND ? -1 : 0;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "snapshot %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = -1;
	for (int attempt = 0;; attempt++) {
		if (lseek(fd, 0, SEEK_SET) < 0)
			break;
		struct httpc_req q = { .method = "PUT", .body_fd = fd, .body_len = (int64_t)st.st_size, .out_fd = -1 };
		struct httpc_resp resp;
		int c = call(h, &q, api, &resp, err, errlen), s = c == 0 ? resp.status : 0;
		httpc_resp_free(&resp);
		if (c == 0 && s / 100 == 2) {
			rc = 0;
			break;
		}
		if (c == 0)
			snprintf(err, errlen, "uploading snapshot %s: the controller answered %d", image_id, s);
		if ((c == 0 && s / 100 == 4 && s != 401 && s != 408 && s != 429) || attempt + 1 >= FEW_TRIES || !backoff(h, attempt))
			break;
	}
	close(fd);
	return rc;
}
