/* agent.c — the compute agent: registers its driver's hosts, reconciles what the driver runs with
 * what the controller believes, heartbeats every [compute] report_interval, and works through
 * the tasks the controller hands out (builds, deletes, power actions, rebuilds, resizes,
 * snapshots) on a pool of [compute] max_concurrent_builds threads, reporting each outcome.
 * It reaches the controller only through agent.h's cmp_ctl_* calls. */
#include "compute/agent.h"
#include "compute/cmp.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct job {
	struct job *next;
	json_t *task;
};

struct cmp_agent {
	struct virt_driver *d;
	struct cmp_ctl *ctl;
	char **hosts;                    /* the driver's host names */
	int nhosts;
	pthread_mutex_t mu;
	pthread_cond_t wake, work;       /* the loop's wake-up; workers' queue */
	bool kicked, stop, started;
	pthread_t loop;
	pthread_t *workers;
	int nworkers;
	struct job *head, *tail;
	char **inflight;                 /* uuids queued or running */
	int ninflight, capinflight;
};

/* --- in-flight set (caller holds mu) --- */

static bool inflight_has(struct cmp_agent *a, const char *uuid)
{
	for (int i = 0; i < a->ninflight; i++)
		if (!strcmp(a->inflight[i], uuid))
			return true;
	return false;
}

static void inflight_add(struct cmp_agent *a, const char *uuid)
{
	if (a->ninflight == a->capinflight) {
		a->capinflight = a->capinflight ? a->capinflight * 2 : 64;
		a->inflight = xrealloc(a->inflight, sizeof *a->inflight * (size_t)a->capinflight);
	}
	a->inflight[a->ninflight++] = xstrdup(uuid);
}

static void inflight_del(struct cmp_agent *a, const char *uuid)
{
	for (int i = 0; i < a->ninflight; i++)
		if (!strcmp(a->inflight[i], uuid)) {
			free(a->inflight[i]);
			a->inflight[i] = a->inflight[--a->ninflight];
			return;
		}
}

/* --- the work --- */

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static bool stopping(struct cmp_agent *a)
{
	pthread_mutex_lock(&a->mu);
	bool s = a->stop;
	pthread_mutex_unlock(&a->mu);
	return s;
}

struct fetch_ctx {
	struct cmp_ctl *ctl;
};

static int fetch_image(void *ctx, const char *image_id, int fd, char *err, size_t errlen)
{
	struct fetch_ctx *f = ctx;
	return cmp_ctl_image_fetch(f->ctl, image_id, fd, err, errlen);
}

/* Standard base64 (whitespace ignored) into a malloc'd buffer. */
static unsigned char *b64_decode(const char *in, size_t *len)
{
	size_t n = strlen(in);
	char *t = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (ch == '+')
			ch = '-';
		else if (ch == '/')
			ch = '_';
		else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		t[k++] = ch;
	}
	unsigned char *out = xmalloc(k + 1);
	long got = b64url_decode(t, k, out, k + 1);
	free(t);
	if (got < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)got;
	return out;
}

/* Creates the guest the task describes on host, with flavor f (NULL: the spec's own). */
static int spawn(struct cmp_agent *a, const json_t *task, const char *host, const json_t *f, bool delay, char *err,
		 size_t errlen)
{
	const json_t *s = json_object_get(task, "spec");
	const json_t *fl = f ? f : s;
	struct virt_spec v = {
		.uuid = str(s, "uuid"), .name = str(s, "name"), .hostname = str(s, "hostname"), .host = host,
		.vcpus = (int)num(fl, "vcpus"), .memory_mb = num(fl, "memory_mb"), .root_gb = num(fl, "root_gb"),
		.ephemeral_gb = num(fl, "ephemeral_gb"), .swap_mb = num(fl, "swap"),
		.key_name = str(s, "key_name"), .public_key = str(s, "public_key"), .project_id = str(s, "project_id"),
		.user_id = str(s, "user_id"), .availability_zone = str(s, "availability_zone"),
		.admin_pass = str(s, "admin_pass"), .launch_index = num(s, "launch_index"),
		.config_drive = json_is_true(json_object_get(s, "config_drive")),
	};
	char *meta = json_dumps(json_object_get(s, "metadata"), JSON_COMPACT);
	v.meta_json = meta;
	unsigned char *ud = NULL;
	if (str(s, "user_data") && *str(s, "user_data")) {
		ud = b64_decode(str(s, "user_data"), &v.user_data_len);
		v.user_data = ud;
	}
	char image[4096] = "", kernel[4096] = "", ramdisk[4096] = "";
	int rc = 0;
	bool fake = !strcmp(a->d->ops->name, "fake");
	if (fake) {
		int64_t ms = delay ? conf_int("compute", "fake_build_delay_ms") : 0;
		for (int64_t t = 0; t < ms && !stopping(a); t += 50)
			usleep(50000);
	} else {
		const json_t *im = json_object_get(s, "image");
		struct fetch_ctx fc = { a->ctl };
		const char *cache = conf_str("compute", "image_cache_path");
		const char *img = str(s, "image_ref"), *k = str(s, "kernel_id"), *rd = str(s, "ramdisk_id");
		if (img && *img && (rc = virt_cache_get(cache, img, fetch_image, &fc, image, sizeof image, err, errlen)) == 0) {
			v.image_path = image;
			v.image_format = str(im, "disk_format");
		}
		if (rc == 0 && k && *k && (rc = virt_cache_get(cache, k, fetch_image, &fc, kernel, sizeof kernel, err, errlen)) == 0)
			v.kernel_path = kernel;
		if (rc == 0 && rd && *rd && (rc = virt_cache_get(cache, rd, fetch_image, &fc, ramdisk, sizeof ramdisk, err, errlen)) == 0)
			v.ramdisk_path = ramdisk;
		v.kernel_cmdline = str(im, "os_command_line");
	}
	if (rc == 0)
		rc = a->d->ops->spawn(a->d, &v, err, errlen);
	free(meta);
	free(ud);
	return rc;
}

static int power_after(struct cmp_agent *a, const char *uuid, const char *vm_state, char *err, size_t errlen)
{
	if (vm_state && !strcmp(vm_state, "stopped"))
		return a->d->ops->power(a->d, uuid, VIRT_STOP, err, errlen);
	return 0;
}

static int snapshot(struct cmp_agent *a, const json_t *task, char *err, size_t errlen)
{
	const char *uuid = str(task, "uuid"), *image_id = str(task, "task_arg");
	if (!image_id) {
		snprintf(err, errlen, "the snapshot has no image");
		return -1;
	}
	if (!a->d->ops->snapshot) {
		snprintf(err, errlen, "the %s driver cannot take snapshots", a->d->ops->name);
		cmp_ctl_snapshot_upload(a->ctl, image_id, NULL, err, errlen);
		return -1;
	}
	const char *dir = conf_str("compute", "image_cache_path");
	mkdir(dir, 0700);
	char path[4096], format[16] = "";
	snprintf(path, sizeof path, "%s/snapshot-%s.tmp", dir, uuid);
	int rc = a->d->ops->snapshot(a->d, uuid, path, format, err, errlen);
	char e2[256];
	if (rc == 0)
		rc = cmp_ctl_snapshot_upload(a->ctl, image_id, path, err, errlen);
	else
		cmp_ctl_snapshot_upload(a->ctl, image_id, NULL, e2, sizeof e2);
	unlink(path);
	return rc;
}

static void run_task(struct cmp_agent *a, json_t *task)
{
	const char *uuid = str(task, "uuid"), *ts = str(task, "task");
	char err[512] = "";
	if (cmp_ctl_begin(a->ctl, task) < 0)
		return;                  /* the instance moved on meanwhile */
	int rc = 0;
	struct virt_driver *d = a->d;
	static const struct { const char *task; enum virt_action act; } acts[] = {
		{ "powering-off", VIRT_STOP }, { "powering-on", VIRT_START }, { "rebooting", VIRT_REBOOT_SOFT },
		{ "rebooting_hard", VIRT_REBOOT_HARD }, { "pausing", VIRT_PAUSE }, { "unpausing", VIRT_UNPAUSE },
		{ "suspending", VIRT_SUSPEND }, { "resuming", VIRT_RESUME },
	};
	bool done = false;
	for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
		if (strcmp(ts, acts[i].task))
			continue;
		rc = d->ops->power(d, uuid, acts[i].act, err, sizeof err);
		done = true;
	}
	if (done) {
		/* nothing more */
	} else if (!strcmp(ts, "networking")) {
		rc = spawn(a, task, str(task, "host"), NULL, true, err, sizeof err);
		if (rc < 0)
			d->ops->destroy(d, uuid);
	} else if (!strcmp(ts, "deleting")) {
		rc = d->ops->destroy(d, uuid);
		if (rc < 0)
			snprintf(err, sizeof err, "the driver could not destroy the guest");
	} else if (!strcmp(ts, "rebuilding")) {
		d->ops->destroy(d, uuid);
		rc = spawn(a, task, str(task, "host"), NULL, true, err, sizeof err);
		if (rc == 0)
			rc = power_after(a, uuid, str(task, "vm_state"), err, sizeof err);
	} else if (!strcmp(ts, "resize_migrating") || !strcmp(ts, "resize_reverting")) {
		bool revert = !strcmp(ts, "resize_reverting");
		const json_t *mig = json_object_get(task, "migration");
		const json_t *fl = json_object_get(task, revert ? "old_flavor" : "new_flavor");
		const char *to = str(mig, revert ? "source_host" : "dest_host");
		if (!mig || !fl || !to) {
			snprintf(err, sizeof err, "the move has no migration record");
			rc = -1;
		} else {
			d->ops->destroy(d, uuid);
			rc = spawn(a, task, to, fl, true, err, sizeof err);
			if (rc == 0)
				rc = power_after(a, uuid, revert ? str(task, "old_vm_state") : str(task, "vm_state"), err, sizeof err);
		}
	} else if (!strcmp(ts, "migrating")) {
		const char *to = str(json_object_get(task, "migration"), "dest_host");
		if (!to) {
			snprintf(err, sizeof err, "the live migration has no destination");
			rc = -1;
		} else {
			/* the simulated move: the guest stops here and starts there in the same state */
			d->ops->destroy(d, uuid);
			rc = spawn(a, task, to, NULL, false, err, sizeof err);
			if (rc == 0 && !strcmp(str(task, "vm_state"), "paused"))
				rc = d->ops->power(d, uuid, VIRT_PAUSE, err, sizeof err);
		}
	} else if (!strcmp(ts, "image_snapshot")) {
		rc = snapshot(a, task, err, sizeof err);
	} else if (!strcmp(ts, "updating_password")) {
		if (strcmp(d->ops->name, "fake")) {
			snprintf(err, sizeof err, "the %s driver cannot set passwords", d->ops->name);
			rc = -1;
		}
	}
	int p = d->ops->state(d, uuid);
	if (rc < 0 && !err[0])
		snprintf(err, sizeof err, "%s failed", ts);
	if (rc < 0)
		log_warn("compute agent: %s of %s failed: %s", ts, uuid, err);
	cmp_ctl_report(a->ctl, task, rc == 0, rc == 0 ? NULL : err, p);
}

static void *worker(void *arg)
{
	struct cmp_agent *a = arg;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->head && !a->stop)
			pthread_cond_wait(&a->work, &a->mu);
		if (!a->head)
			break;                   /* stopping with nothing queued */
		struct job *j = a->head;
		a->head = j->next;
		if (!a->head)
			a->tail = NULL;
		pthread_mutex_unlock(&a->mu);
		run_task(a, j->task);
		pthread_mutex_lock(&a->mu);
		inflight_del(a, str(j->task, "uuid"));
		a->kicked = true;                /* more work may wait behind this instance */
		pthread_cond_signal(&a->wake);
		json_decref(j->task);
		free(j);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static void enqueue(struct cmp_agent *a, json_t *tasks)
{
	size_t i;
	json_t *t;
	pthread_mutex_lock(&a->mu);
	json_array_foreach(tasks, i, t) {
		const char *uuid = str(t, "uuid");
		if (!uuid || inflight_has(a, uuid))
			continue;
		inflight_add(a, uuid);
		struct job *j = xcalloc(1, sizeof *j);
		j->task = json_incref(t);
		if (a->tail)
			a->tail->next = j;
		else
			a->head = j;
		a->tail = j;
		pthread_cond_signal(&a->work);
	}
	pthread_mutex_unlock(&a->mu);
}

/* Registers the driver's hosts with the controller (the first time, also records their names). */
static int register_hosts(struct cmp_agent *a, char *err, size_t errlen)
{
	int n = a->d->ops->nhosts(a->d);
	struct virt_host_info *info = xcalloc((size_t)n + 1, sizeof *info);
	bool first = !a->hosts;
	if (first)
		a->hosts = xcalloc((size_t)n + 1, sizeof *a->hosts);
	for (int i = 0; i < n; i++) {
		if (a->d->ops->host_info(a->d, i, &info[i]) < 0) {
			snprintf(err, errlen, "the %s driver has no host %d", a->d->ops->name, i);
			free(info);
			return -1;
		}
		if (first)
			a->hosts[a->nhosts++] = xstrdup(info[i].hostname);
	}
	int rc = cmp_ctl_register(a->ctl, info, n, err, errlen);
	free(info);
	return rc < 0 ? -1 : 0;
}

/* A heartbeat found a host unregistered (its service was deleted, or the database is new). */
static void reregister(struct cmp_agent *a)
{
	char err[256];
	if (register_hosts(a, err, sizeof err) < 0)
		log_warn("compute agent: registering again failed: %s", err);
	else
		log_info("compute agent: hosts registered again after a heartbeat found them missing");
}

static void *loop(void *arg)
{
	struct cmp_agent *a = arg;
	int64_t interval = conf_int("compute", "report_interval") * 1000000;
	if (interval <= 0)
		interval = 10000000;
	int64_t next_beat = time_now_us() + interval;
	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		if (!a->kicked) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&a->wake, &a->mu, &ts);
		}
		if (a->stop)
			break;
		a->kicked = false;
		pthread_mutex_unlock(&a->mu);
		if (time_now_us() >= next_beat) {
			if (cmp_ctl_heartbeat(a->ctl, (const char *const *)a->hosts, a->nhosts) == ERR_NOTFOUND)
				reregister(a);
			next_beat = time_now_us() + interval;
		}
		json_t *tasks = NULL;
		if (cmp_ctl_fetch(a->ctl, (const char *const *)a->hosts, a->nhosts, &tasks) == 0)
			enqueue(a, tasks);
		json_decref(tasks);
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* --- reconciliation --- */

struct seen {
	char (*uuids)[37];
	int *power;
	int n, cap;
};

static void list_cb(void *ctx, const char *uuid, enum virt_power p)
{
	struct seen *s = ctx;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->uuids = xrealloc(s->uuids, sizeof *s->uuids * (size_t)s->cap);
		s->power = xrealloc(s->power, sizeof *s->power * (size_t)s->cap);
	}
	snprintf(s->uuids[s->n], 37, "%s", uuid);
	s->power[s->n++] = p;
}

/* What the driver runs against what the controller believes: power states follow the driver;
 * guests the controller does not know are removed; the fake driver, whose guests live in memory,
 * recreates the ones the controller knows (its hosts "kept running" across the restart). */
static void reconcile(struct cmp_agent *a)
{
	json_t *insts = NULL;
	if (cmp_ctl_instances(a->ctl, (const char *const *)a->hosts, a->nhosts, &insts) < 0) {
		log_error("compute agent: reconciliation: cannot list instances");
		return;
	}
	struct seen s = { 0 };
	a->d->ops->list(a->d, list_cb, &s);
	bool fake = !strcmp(a->d->ops->name, "fake");
	size_t i;
	json_t *t;
	int synced = 0, restored = 0, removed = 0;
	json_array_foreach(insts, i, t) {
		const char *uuid = str(t, "uuid"), *vm = str(t, "vm_state"), *ts = str(t, "task");
		int found = -1;
		for (int k = 0; k < s.n && found < 0; k++)
			if (!strcmp(s.uuids[k], uuid))
				found = k;
		if (found >= 0) {
			s.uuids[found][0] = 0;   /* known to both */
			if (!ts && s.power[found] != num(t, "power_state")) {
				cmp_ctl_sync_power(a->ctl, uuid, s.power[found]);
				synced++;
			}
			continue;
		}
		if (!json_is_true(json_object_get(t, "launched")) || !strcmp(vm, "building") || (ts && !strcmp(ts, "deleting")))
			continue;
		if (fake && (!strcmp(vm, "active") || !strcmp(vm, "stopped") || !strcmp(vm, "paused") ||
			     !strcmp(vm, "suspended") || !strcmp(vm, "resized") || !strcmp(vm, "error"))) {
			char err[256];
			if (spawn(a, t, str(t, "host"), NULL, false, err, sizeof err) == 0) {
				int p = (int)num(t, "power_state");
				if (p == VIRT_SHUTDOWN)
					a->d->ops->power(a->d, uuid, VIRT_STOP, err, sizeof err);
				else if (p == VIRT_PAUSED)
					a->d->ops->power(a->d, uuid, VIRT_PAUSE, err, sizeof err);
				else if (p == VIRT_SUSPENDED)
					a->d->ops->power(a->d, uuid, VIRT_SUSPEND, err, sizeof err);
				restored++;
			}
			continue;
		}
		if (num(t, "power_state") != VIRT_SHUTDOWN && !ts) {
			cmp_ctl_sync_power(a->ctl, uuid, VIRT_SHUTDOWN);
			synced++;
		}
	}
	for (int k = 0; k < s.n; k++)
		if (s.uuids[k][0]) {
			a->d->ops->destroy(a->d, s.uuids[k]);
			removed++;
		}
	if (synced || restored || removed)
		log_info("compute agent: reconciled %d power state(s), restored %d fake guest(s), removed %d unknown guest(s)",
			 synced, restored, removed);
	free(s.uuids);
	free(s.power);
	json_decref(insts);
}

/* --- life cycle --- */

struct cmp_agent *cmp_agent_new(struct virt_driver *d, struct cmp_ctl *ctl)
{
	struct cmp_agent *a = xcalloc(1, sizeof *a);
	a->d = d;
	a->ctl = ctl;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->wake, NULL);
	pthread_cond_init(&a->work, NULL);
	return a;
}

int cmp_agent_start(struct cmp_agent *a, char *err, size_t errlen)
{
	if (register_hosts(a, err, errlen) < 0)
		return -1;
	reconcile(a);
	int64_t w = conf_int("compute", "max_concurrent_builds");
	a->nworkers = w < 1 ? 1 : w > 64 ? 64 : (int)w;
	a->workers = xcalloc((size_t)a->nworkers, sizeof *a->workers);
	for (int i = 0; i < a->nworkers; i++)
		if (pthread_create(&a->workers[i], NULL, worker, a)) {
			a->nworkers = i;
			snprintf(err, errlen, "cannot start the compute agent's threads");
			return -1;
		}
	a->kicked = true;
	if (pthread_create(&a->loop, NULL, loop, a)) {
		snprintf(err, errlen, "cannot start the compute agent");
		return -1;
	}
	a->started = true;
	log_info("compute agent: %s driver, %d host(s)", a->d->ops->name, a->nhosts);
	return 0;
}

void cmp_agent_kick(struct cmp_agent *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->kicked = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->mu);
}

void cmp_agent_free(struct cmp_agent *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	/* queued jobs that have not started are dropped: the rows keep them for the next start */
	while (a->head) {
		struct job *j = a->head;
		a->head = j->next;
		json_decref(j->task);
		free(j);
	}
	a->tail = NULL;
	pthread_cond_broadcast(&a->wake);
	pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->mu);
	if (a->started)
		pthread_join(a->loop, NULL);
	for (int i = 0; i < a->nworkers; i++)
		pthread_join(a->workers[i], NULL);
	free(a->workers);
	for (int i = 0; i < a->nhosts; i++)
		free(a->hosts[i]);
	free(a->hosts);
	for (int i = 0; i < a->ninflight; i++)
		free(a->inflight[i]);
	free(a->inflight);
	if (a->d)
		a->d->ops->free(a->d);
	cmp_ctl_free(a->ctl);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->work);
	free(a);
}

int cmp_agent_log(struct cmp_agent *a, const char *uuid, size_t max, char **out, size_t *len)
{
	if (a->d->ops->state(a->d, uuid) == VIRT_NOSTATE && strcmp(a->d->ops->name, "qemu"))
		return ERR_NOTFOUND;
	return a->d->ops->console_log(a->d, uuid, max, out, len) == 0 ? 0 : ERR_NOTFOUND;
}

int cmp_agent_vnc_addr(struct cmp_agent *a, const char *uuid, char host[64], int *port)
{
	if (!a->d->ops->vnc)
		return ERR_NOTIMPL;
	return a->d->ops->vnc(a->d, uuid, host, port) == 0 ? 0 : ERR_NOTIMPL;
}

bool cmp_agent_has_host(struct cmp_agent *a, const char *host)
{
	for (int i = 0; host && i < a->nhosts; i++)
		if (!strcmp(a->hosts[i], host))
			return true;
	return false;
}
