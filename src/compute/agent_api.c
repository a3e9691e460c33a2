/* agent_api.c — the controller's endpoints for remote compute agents (`monostack compute
 * --controller URL`), under /compute/agent/v1 (monostack's own, not Nova's API): each a thin
 * JSON wrapper over one cmp_ctl_* call of agent.h on the controller's in-process ctl, plus image
 * data streamed out and snapshot data streamed in. Every route needs the
 * "monostack:compute-agent" policy (admin or service role). The agent side is ctl_http.c. */
#include "compute/agent.h"
#include "compute/cmp.h"
#include "compute/remote.h"
#include "core/conf.h"
#include "image/image.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AGENT_RULE "monostack:compute-agent"
#define MAX_HOSTS 10000
#define HOST_MAX 255

/* The controller's own ctl for this request (freed with it). */
static struct cmp_ctl *ctl(struct http_req *r)
{
	struct cmp_ctl *c = cmp_ctl_new(cmp_svc(r));
	arena_defer(r->arena, (void (*)(void *))cmp_ctl_free, c);
	return c;
}

static int bad(struct http_req *r, const char *what)
{
	return http_error(r, ERR_BADREQ, "Invalid agent request: %s.", what);
}

static bool host_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > HOST_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* body {"hosts": ["name", ...]} → names in the arena. */
static int body_hosts(struct http_req *r, const char *const **out, int *n)
{
	json_t *b = http_body_json(r);
	if (!b)
		return r->err;
	json_t *a = json_object_get(b, "hosts");
	if (!json_is_array(a) || json_array_size(a) > MAX_HOSTS)
		return bad(r, "'hosts' must be an array of at most 10000 host names");
	const char **h = arena_alloc(r->arena, sizeof *h * (json_array_size(a) + 1));
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!host_name_ok(json_string_value(v)))
			return bad(r, "a host name is not a string of 1 to 255 printable characters");
		h[i] = json_string_value(v);
	}
	*out = h;
	*n = (int)json_array_size(a);
	return 0;
}

/* body {"task": {...}}: the task object as fetch handed it out. */
static int body_task(struct http_req *r, json_t **task)
{
	json_t *b = http_body_json(r);
	if (!b)
		return r->err;
	json_t *t = json_object_get(b, "task");
	if (!json_is_object(t) || !json_is_string(json_object_get(t, "uuid")) ||
	    !json_is_string(json_object_get(t, "task")) || !uuid_valid(json_string_value(json_object_get(t, "uuid"))))
		return bad(r, "'task' must be a task object with 'uuid' and 'task'");
	*task = t;
	return 0;
}

static int int_field(json_t *o, const char *k, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* POST /agent/v1/register {"hosts": [{hostname, vcpus, memory_mb, disk_gb, hypervisor_type,
 * hypervisor_version, cpu_info}], "agent_url": URL|null} → {"secret": S}: the agent's listener
 * must require S in CMP_AGENT_SECRET_HEADER. */
static int agent_register(struct http_req *r)
{
	json_t *b = http_body_json(r);
	if (!b)
		return r->err;
	json_t *a = json_object_get(b, "hosts"), *urlj = json_object_get(b, "agent_url");
	if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > MAX_HOSTS)
		return bad(r, "'hosts' must be an array of 1 to 10000 hosts");
	const char *url = json_string_value(urlj);
	if (urlj && !json_is_null(urlj) &&
	    (!url || strlen(url) > 1000 || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))))
		return bad(r, "'agent_url' must be an http:// or https:// URL");
	size_t n = json_array_size(a);
	struct virt_host_info *hosts = arena_alloc(r->arena, sizeof *hosts * n);
	memset(hosts, 0, sizeof *hosts * n);
	const char **names = arena_alloc(r->arena, sizeof *names * n);
	for (size_t i = 0; i < n; i++) {
		json_t *h = json_array_get(a, i);
		struct virt_host_info *x = &hosts[i];
		const char *name = json_string_value(json_object_get(h, "hostname"));
		const char *type = json_string_value(json_object_get(h, "hypervisor_type"));
		const char *cpu = json_string_value(json_object_get(h, "cpu_info"));
		int64_t vcpus, mem, disk, ver;
		if (!json_is_object(h) || !host_name_ok(name) || !type || strlen(type) >= sizeof x->hypervisor_type ||
		    (cpu && strlen(cpu) >= sizeof x->cpu_info) || int_field(h, "vcpus", 0, 1 << 20, &vcpus) ||
		    int_field(h, "memory_mb", 0, INT64_C(1) << 40, &mem) || int_field(h, "disk_gb", 0, INT64_C(1) << 40, &disk) ||
		    int_field(h, "hypervisor_version", 0, INT64_MAX, &ver))
			return bad(r, "each host needs hostname, vcpus, memory_mb, disk_gb, hypervisor_type, "
				   "hypervisor_version and cpu_info");
		snprintf(x->hostname, sizeof x->hostname, "%s", name);
		snprintf(x->hypervisor_type, sizeof x->hypervisor_type, "%s", type);
		snprintf(x->cpu_info, sizeof x->cpu_info, "%s", cpu ? cpu : "{}");
		x->vcpus = (int)vcpus;
		x->memory_mb = mem;
		x->disk_gb = disk;
		x->hypervisor_version = ver;
		names[i] = x->hostname;
	}
	char err[512] = "";
	if (cmp_ctl_register(ctl(r), hosts, (int)n, err, sizeof err) < 0) {
		log_error("compute: agent registration: %s", err);
		return http_error(r, ERR_INTERNAL, "The hosts could not be registered.");
	}
	/* where the agent listens, and the secret it will require from us */
	unsigned char raw[32];
	char secret[65];
	util_random(raw, sizeof raw);
	hex_encode(raw, sizeof raw, secret);
	int rc = cmp_begin(r);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		rc = db_exec(cmp_db(r), "UPDATE cmp_services SET agent_url = ?, agent_secret = ? WHERE host = ? AND"
			     " service_binary = 'nova-compute'", url ? DB_TEXT(url) : DB_NULL, DB_TEXT(secret),
			     DB_TEXT(names[i]));
	if (rc < 0)
		return cmp_db_error(r, rc, "agent url");
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	log_info("compute: remote agent registered %zu host(s)%s%s", n, url ? ", listening at " : "", url ? url : "");
	return http_reply_json(r, 200, json_pack("{s:s,s:I}", "secret", secret, "hosts", (json_int_t)n));
}

/* POST /agent/v1/heartbeat {"hosts": [...]} → 204 */
static int agent_heartbeat(struct http_req *r)
{
	const char *const *hosts;
	int n, rc = body_hosts(r, &hosts, &n);
	if (rc < 0)
		return rc;
	rc = cmp_ctl_heartbeat(ctl(r), hosts, n);
	if (rc == ERR_NOTFOUND)
		return http_error(r, ERR_NOTFOUND, "A host of this agent is not registered.");
	if (rc < 0)
		return http_error(r, ERR_INTERNAL, "The heartbeat could not be recorded.");
	return http_reply_empty(r, 204);
}

/* POST /agent/v1/fetch and /instances {"hosts": [...]} → {"tasks"|"instances": [...]} */
static int host_list(struct http_req *r, bool fetch)
{
	const char *const *hosts;
	int n, rc = body_hosts(r, &hosts, &n);
	if (rc < 0)
		return rc;
	json_t *out = NULL;
	rc = fetch ? cmp_ctl_fetch(ctl(r), hosts, n, &out) : cmp_ctl_instances(ctl(r), hosts, n, &out);
	if (rc < 0) {
		json_decref(out);
		return http_error(r, ERR_INTERNAL, "The work of these hosts could not be listed.");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", fetch ? "tasks" : "instances", out));
}

static int agent_fetch(struct http_req *r)
{
	return host_list(r, true);
}

static int agent_instances(struct http_req *r)
{
	return host_list(r, false);
}

/* POST /agent/v1/begin {"task": {...}} → 204, or 409 when the instance moved on */
static int agent_begin(struct http_req *r)
{
	json_t *task;
	int rc = body_task(r, &task);
	if (rc < 0)
		return rc;
	rc = cmp_ctl_begin(ctl(r), task);
	if (rc == ERR_CONFLICT)
		return http_error(r, ERR_CONFLICT, "Instance %s is no longer in task %s.",
				  json_string_value(json_object_get(task, "uuid")), json_string_value(json_object_get(task, "task")));
	if (rc == ERR_BADREQ)
		return bad(r, "unknown task");
	if (rc < 0)
		return http_error(r, ERR_INTERNAL, "The task could not be started.");
	return http_reply_empty(r, 204);
}

/* POST /agent/v1/report {"task": {...}, "ok": bool, "error": text|null, "power": N} → 204 */
static int agent_report(struct http_req *r)
{
	json_t *task;
	int rc = body_task(r, &task);
	if (rc < 0)
		return rc;
	json_t *b = http_body_json(r), *ok = json_object_get(b, "ok"), *e = json_object_get(b, "error");
	int64_t power;
	if (!json_is_boolean(ok) || (e && !json_is_null(e) && !json_is_string(e)) || int_field(b, "power", 0, 7, &power))
		return bad(r, "a report needs 'ok' (boolean), 'error' (string or null) and 'power' (0 to 7)");
	const char *err = json_string_value(e);
	if (err && strlen(err) > 4096)
		err = arena_strndup(r->arena, err, 4096);
	rc = cmp_ctl_report(ctl(r), task, json_is_true(ok), err, (int)power);
	if (rc == ERR_BADREQ)
		return bad(r, "unknown task");
	if (rc < 0)
		return http_error(r, ERR_INTERNAL, "The report could not be recorded.");
	return http_reply_empty(r, 204);
}

/* POST /agent/v1/power {"uuid": U, "power_state": N} → 204 (reconciliation) */
static int agent_power(struct http_req *r)
{
	json_t *b = http_body_json(r);
	if (!b)
		return r->err;
	const char *uuid = json_string_value(json_object_get(b, "uuid"));
	int64_t p;
	if (!uuid || !uuid_valid(uuid) || int_field(b, "power_state", 0, 7, &p))
		return bad(r, "'uuid' and 'power_state' (0 to 7) are required");
	if (cmp_ctl_sync_power(ctl(r), uuid, (int)p) < 0)
		return http_error(r, ERR_INTERNAL, "The power state could not be recorded.");
	return http_reply_empty(r, 204);
}

/* --- image data out: image_fetch runs in a thread writing into a pipe the response reads --- */

struct img_stream {
	struct image_svc *images;
	char id[65];
	int rfd, wfd;
	pthread_t th;
	bool joined;
	int rc;
	char err[256];
};

static void *img_produce(void *arg)
{
	struct img_stream *s = arg;
	s->rc = image_fetch(s->images, s->id, s->wfd, s->err, sizeof s->err);
	close(s->wfd);
	s->wfd = -1;
	return NULL;
}

static ssize_t img_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct img_stream *s = ctx;
	(void)pos;
	for (;;) {
		ssize_t n = read(s->rfd, buf, max);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			return n;
		if (!s->joined) {
			pthread_join(s->th, NULL);
			s->joined = true;
		}
		if (n < 0 || s->rc != 0) {
			log_error("compute: image %s for an agent: %s", s->id, s->rc ? s->err : "read failed");
			return -1;           /* the connection is cut: the agent sees a short body */
		}
		return 0;
	}
}

static void img_free(void *ctx)
{
	struct img_stream *s = ctx;
	close(s->rfd);                   /* a producer still writing gets EPIPE and ends */
	if (!s->joined)
		pthread_join(s->th, NULL);
	free(s);
}

/* GET /agent/v1/images/{image_id} → the active image's data */
static int agent_image(struct http_req *r)
{
	const char *id = http_param(r, "image_id");
	struct compute_svc *svc = cmp_svc(r);
	json_t *img = NULL;
	char err[256] = "";
	int rc = uuid_valid(id) ? image_lookup(svc->images, id, NULL, true, &img, err, sizeof err) : ERR_NOTFOUND;
	if (rc == ERR_NOTFOUND)
		return http_error(r, ERR_NOTFOUND, "Image %s could not be found.", id);
	if (rc < 0)
		return http_error(r, ERR_INTERNAL, "The image could not be read: %s", err);
	const char *status = json_string_value(json_object_get(img, "status"));
	json_t *sz = json_object_get(img, "size");
	int64_t size = json_is_integer(sz) && json_integer_value(sz) > 0 ? json_integer_value(sz) : -1;
	bool active = status && !strcmp(status, "active");
	json_decref(img);
	if (!active)
		return http_error(r, ERR_NOTFOUND, "Image %s has no data.", id);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return http_error(r, ERR_INTERNAL, "The image could not be read.");
	struct img_stream *s = xcalloc(1, sizeof *s);
	s->images = svc->images;
	snprintf(s->id, sizeof s->id, "%s", id);
	s->rfd = p[0];
	s->wfd = p[1];
	if (pthread_create(&s->th, NULL, img_produce, s)) {
		close(p[0]);
		close(p[1]);
		free(s);
		return http_error(r, ERR_INTERNAL, "The image could not be read.");
	}
	return http_reply_stream(r, 200, "application/octet-stream", size, img_read, img_free, s);
}

/* --- snapshot data in: streamed into a temporary file, then handed to the image service --- */

/* One upload in progress, found again by its request (a short list: snapshots are rare). */
struct snap_upload {
	struct snap_upload *next;
	const struct http_req *r;
	int fd;
	char path[4096];
	int64_t len;
};

static pthread_mutex_t uploads_mu = PTHREAD_MUTEX_INITIALIZER;
static struct snap_upload *uploads;

static struct snap_upload *upload_of(const struct http_req *r)
{
	pthread_mutex_lock(&uploads_mu);
	struct snap_upload *u = uploads;
	while (u && u->r != r)
		u = u->next;
	pthread_mutex_unlock(&uploads_mu);
	return u;
}

static void upload_end(void *arg)
{
	struct snap_upload *u = arg;
	pthread_mutex_lock(&uploads_mu);
	for (struct snap_upload **p = &uploads; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			break;
		}
	pthread_mutex_unlock(&uploads_mu);
	close(u->fd);
	unlink(u->path);
	free(u);
}

/* on_body: the first piece creates the temporary file, every piece is appended. */
static int agent_snapshot_body(struct http_req *r, const char *data, size_t len)
{
	struct snap_upload *u = upload_of(r);
	if (!u) {
		u = xcalloc(1, sizeof *u);
		u->r = r;
		snprintf(u->path, sizeof u->path, "%s/agent-snapshot-XXXXXX", conf_str("DEFAULT", "data_dir"));
		u->fd = mkostemp(u->path, O_CLOEXEC);
		if (u->fd < 0) {
			log_error("compute: snapshot upload: %s: %s", u->path, strerror(errno));
			free(u);
			return http_error(r, ERR_INTERNAL, "The snapshot could not be stored.");
		}
		pthread_mutex_lock(&uploads_mu);
		u->next = uploads;
		uploads = u;
		pthread_mutex_unlock(&uploads_mu);
		arena_defer(r->arena, upload_end, u);
	}
	while (len) {
		ssize_t w = write(u->fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_error("compute: snapshot upload: %s: %s", u->path, strerror(errno));
			return http_error(r, ERR_INTERNAL, "The snapshot could not be stored.");
		}
		data += w;
		len -= (size_t)w;
		u->len += w;
	}
	return 0;
}

/* PUT /agent/v1/snapshots/{image_id} (the data) → 204 */
static int agent_snapshot_put(struct http_req *r)
{
	struct snap_upload *u = upload_of(r);
	const char *id = http_param(r, "image_id");
	if (!uuid_valid(id))
		return http_error(r, ERR_NOTFOUND, "Image %s could not be found.", id);
	if (!u || u->len == 0)
		return bad(r, "the snapshot has no data");
	if (fsync(u->fd) < 0)
		return http_error(r, ERR_INTERNAL, "The snapshot could not be stored.");
	char err[512] = "";
	if (cmp_ctl_snapshot_upload(ctl(r), id, u->path, err, sizeof err) < 0) {
		log_error("compute: snapshot %s from an agent: %s", id, err);
		return http_error(r, ERR_INTERNAL, "The snapshot could not be uploaded to the image service.");
	}
	return http_reply_empty(r, 204);
}

/* DELETE /agent/v1/snapshots/{image_id}: the snapshot failed on the agent → 204 */
static int agent_snapshot_failed(struct http_req *r)
{
	const char *id = http_param(r, "image_id");
	if (!uuid_valid(id))
		return http_error(r, ERR_NOTFOUND, "Image %s could not be found.", id);
	char err[512] = "";
	if (cmp_ctl_snapshot_upload(ctl(r), id, NULL, err, sizeof err) < 0)
		log_warn("compute: failed snapshot %s: %s", id, err);
	return http_reply_empty(r, 204);
}

const struct route cmp_routes_agent[] = {
	{ "POST", "/agent/v1/register", agent_register, AGENT_RULE, ROUTE_EXACT, NULL },
	{ "POST", "/agent/v1/heartbeat", agent_heartbeat, AGENT_RULE, ROUTE_EXACT, NULL },
	{ "POST", "/agent/v1/fetch", agent_fetch, AGENT_RULE, ROUTE_EXACT, NULL },
	{ "POST", "/agent/v1/instances", agent_instances, AGENT_RULE, ROUTE_EXACT, NULL },
	{ "POST", "/agent/v1/begin", agent_begin, AGENT_RULE, ROUTE_EXACT, NULL },
	{ "POST", "/agent/v1/report", agent_report, AGENT_RULE, ROUTE_EXACT, NULL },
	{ "POST", "/agent/v1/power", agent_power, AGENT_RULE, ROUTE_EXACT, NULL },
	{ "GET", "/agent/v1/images/{image_id}", agent_image, AGENT_RULE, ROUTE_EXACT, NULL },
	{ "PUT", "/agent/v1/snapshots/{image_id}", agent_snapshot_put, AGENT_RULE, ROUTE_EXACT, agent_snapshot_body },
	{ "DELETE", "/agent/v1/snapshots/{image_id}", agent_snapshot_failed, AGENT_RULE, ROUTE_EXACT, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
