/* fake.c — the `fake` virtualisation driver: any number of simulated hosts ("fake-host-1" ...
 * or PREFIX-N), guests that exist only in memory and change state instantly. It keeps the driver
 * contract (unknown uuid on destroy is fine, power actions check the current state) so the agent
 * and the API behave as with real guests; a snapshot is a small real raw disk file. */
#include "virt/virt.h"
#include "core/arena.h"
#include "core/util.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUCKETS 4096

struct guest {
	struct guest *next;
	char uuid[37];
	int host;
	enum virt_power power;
	int64_t started;
	char log[512];
};

struct fake {
	struct virt_driver base;
	int nhosts;
	char prefix[128];
	pthread_mutex_t mu;
	struct guest *bucket[BUCKETS];
};

static struct fake *F(struct virt_driver *d)
{
	return (struct fake *)d;
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % BUCKETS;
}

/* Caller holds mu. */
static struct guest **slot(struct fake *f, const char *uuid)
{
	struct guest **g = &f->bucket[hash(uuid)];
	while (*g && strcmp((*g)->uuid, uuid))
		g = &(*g)->next;
	return g;
}

static int f_nhosts(struct virt_driver *d)
{
	return F(d)->nhosts;
}

static int f_host_info(struct virt_driver *d, int idx, struct virt_host_info *out)
{
	struct fake *f = F(d);
	if (idx < 0 || idx >= f->nhosts)
		return -1;
	memset(out, 0, sizeof *out);
	snprintf(out->hostname, sizeof out->hostname, "%s-%d", f->prefix, idx + 1);
	out->vcpus = 32;
	out->memory_mb = 65536;
	out->disk_gb = 1024;
	snprintf(out->hypervisor_type, sizeof out->hypervisor_type, "fake");
	out->hypervisor_version = 1000;
	snprintf(out->cpu_info, sizeof out->cpu_info, "{\"arch\": \"x86_64\", \"model\": \"fake\", \"vendor\":"
		 " \"fake\", \"topology\": {\"cells\": 1, \"sockets\": 1, \"cores\": 32, \"threads\": 1},"
		 " \"features\": []}");
	return 0;
}

static int host_index(struct fake *f, const char *host)
{
	size_t pl = strlen(f->prefix);
	if (!host || strncmp(host, f->prefix, pl) || host[pl] != '-')
		return -1;
	int64_t n;
	if (parse_int64(host + pl + 1, 1, f->nhosts, &n) < 0)
		return -1;
	return (int)n - 1;
}

static int f_spawn(struct virt_driver *d, const struct virt_spec *spec, char *err, size_t errlen)
{
	struct fake *f = F(d);
	int idx = spec->host ? host_index(f, spec->host) : 0;
	if (idx < 0) {
		snprintf(err, errlen, "host %s is not one of this driver's hosts", spec->host ? spec->host : "?");
		return -1;
	}
	pthread_mutex_lock(&f->mu);
	struct guest **g = slot(f, spec->uuid);
	if (*g) {
		pthread_mutex_unlock(&f->mu);
		snprintf(err, errlen, "instance %s already exists", spec->uuid);
		return -1;
	}
	struct guest *n = xcalloc(1, sizeof *n);
	snprintf(n->uuid, sizeof n->uuid, "%s", spec->uuid);
	n->host = idx;
	n->power = VIRT_RUNNING;
	n->started = time_now_us();
	snprintf(n->log, sizeof n->log, "FAKE CONSOLE OUTPUT\nbooting %s with %d vCPU and %lld MB\n"
		 "%s login:\nANOTHER\nLAST LINE", spec->name ? spec->name : spec->uuid, spec->vcpus,
		 (long long)spec->memory_mb, spec->hostname ? spec->hostname : "guest");
	*g = n;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static int f_destroy(struct virt_driver *d, const char *uuid)
{
	struct fake *f = F(d);
	pthread_mutex_lock(&f->mu);
	struct guest **g = slot(f, uuid), *x = *g;
	if (x)
		*g = x->next;
	pthread_mutex_unlock(&f->mu);
	free(x);
	return 0;
}

static int f_power(struct virt_driver *d, const char *uuid, enum virt_action a, char *err, size_t errlen)
{
	struct fake *f = F(d);
	int rc = 0;
	pthread_mutex_lock(&f->mu);
	struct guest *g = *slot(f, uuid);
	if (!g) {
		snprintf(err, errlen, "instance %s is not on this host", uuid);
		rc = -1;
		goto out;
	}
	switch (a) {
	case VIRT_START:
	case VIRT_REBOOT_SOFT:
	case VIRT_REBOOT_HARD:
		if (a == VIRT_REBOOT_SOFT && g->power != VIRT_RUNNING) {
			snprintf(err, errlen, "a soft reboot needs a running guest");
			rc = -1;
			break;
		}
		g->power = VIRT_RUNNING;
		g->started = time_now_us();
		break;
	case VIRT_STOP:
		g->power = VIRT_SHUTDOWN;
		break;
	case VIRT_PAUSE:
		if (g->power != VIRT_RUNNING) {
			snprintf(err, errlen, "the guest is not running");
			rc = -1;
		} else {
			g->power = VIRT_PAUSED;
		}
		break;
	case VIRT_UNPAUSE:
		if (g->power != VIRT_PAUSED) {
			snprintf(err, errlen, "the guest is not paused");
			rc = -1;
		} else {
			g->power = VIRT_RUNNING;
		}
		break;
	case VIRT_SUSPEND:
		if (g->power != VIRT_RUNNING && g->power != VIRT_PAUSED) {
			snprintf(err, errlen, "the guest is not running");
			rc = -1;
		} else {
			g->power = VIRT_SUSPENDED;
		}
		break;
	case VIRT_RESUME:
		if (g->power != VIRT_SUSPENDED) {
			snprintf(err, errlen, "the guest is not suspended");
			rc = -1;
		} else {
			g->power = VIRT_RUNNING;
		}
		break;
	}
out:
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static enum virt_power f_state(struct virt_driver *d, const char *uuid)
{
	struct fake *f = F(d);
	pthread_mutex_lock(&f->mu);
	struct guest *g = *slot(f, uuid);
	enum virt_power p = g ? g->power : VIRT_NOSTATE;
	pthread_mutex_unlock(&f->mu);
	return p;
}

static int f_console_log(struct virt_driver *d, const char *uuid, size_t max, char **out, size_t *len)
{
	struct fake *f = F(d);
	pthread_mutex_lock(&f->mu);
	struct guest *g = *slot(f, uuid);
	if (!g) {
		pthread_mutex_unlock(&f->mu);
		return -1;
	}
	size_t n = strlen(g->log);
	const char *start = g->log;
	if (max && n > max) {
		start += n - max;
		n = max;
	}
	*out = xmalloc(n + 1);
	memcpy(*out, start, n + 1);
	*len = n;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static int f_vnc(struct virt_driver *d, const char *uuid, char host[64], int *port)
{
	(void)d; (void)uuid; (void)host; (void)port;
	return -1;                       /* simulated guests have no display */
}

static int f_list(struct virt_driver *d, void (*fn)(void *ctx, const char *uuid, enum virt_power p), void *ctx)
{
	struct fake *f = F(d);
	pthread_mutex_lock(&f->mu);
	for (int b = 0; b < BUCKETS; b++)
		for (struct guest *g = f->bucket[b]; g; g = g->next)
			fn(ctx, g->uuid, g->power);
	pthread_mutex_unlock(&f->mu);
	return 0;
}

/* A 1 MiB raw disk of zeros: a real (if empty) image. */
static int f_snapshot(struct virt_driver *d, const char *uuid, const char *path, char format[16], char *err,
		      size_t errlen)
{
	if (f_state(d, uuid) == VIRT_NOSTATE) {
		snprintf(err, errlen, "instance %s is not on this host", uuid);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(format, 16, "raw");
	return 0;
}

static void f_free(struct virt_driver *d)
{
	struct fake *f = F(d);
	if (!f)
		return;
	for (int b = 0; b < BUCKETS; b++)
		for (struct guest *g = f->bucket[b], *n; g; g = n) {
			n = g->next;
			free(g);
		}
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static const struct virt_ops fake_ops = {
	.name = "fake",
	.nhosts = f_nhosts,
	.host_info = f_host_info,
	.spawn = f_spawn,
	.destroy = f_destroy,
	.power = f_power,
	.state = f_state,
	.console_log = f_console_log,
	.vnc = f_vnc,
	.list = f_list,
	.free = f_free,
	.snapshot = f_snapshot,
};

struct virt_driver *virt_fake_new(int nhosts, const char *host_prefix, char *err, size_t errlen)
{
	if (nhosts < 1 || nhosts > 100000) {
		snprintf(err, errlen, "the fake driver simulates 1 to 100000 hosts, not %d", nhosts);
		return NULL;
	}
	struct fake *f = xcalloc(1, sizeof *f);
	f->base.ops = &fake_ops;
	f->nhosts = nhosts;
	snprintf(f->prefix, sizeof f->prefix, "%s", host_prefix && *host_prefix ? host_prefix : "fake-host");
	pthread_mutex_init(&f->mu, NULL);
	return &f->base;
}
