/* qemu.c — the qemu virt driver: one host (this machine), one QEMU process per guest, each
 * guest's files in state_dir/<uuid>/ (disk overlay, config drive, serial log, QMP socket,
 * pidfile, state.json). QEMU daemonizes, so guests outlive monostack; a new driver finds them
 * again through their pidfiles and QMP sockets. Calls on one guest are serialised by an flock
 * on its lock file; different guests proceed in parallel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/util.h"
#include "virt/qemu.h"

static const struct virt_ops qemu_ops;

static struct qemu_driver *drv(struct virt_driver *d)
{
	return (struct qemu_driver *)d;
}

void qemu_path(const struct qemu_driver *d, const char *uuid, const char *file, char *buf)
{
	if (file)
		snprintf(buf, PATH_MAX, "%s/%s/%s", d->state_dir, uuid, file);
	else
		snprintf(buf, PATH_MAX, "%s/%s", d->state_dir, uuid);
}

void qemu_qmp_path(const struct qemu_driver *d, const char *uuid, char *buf)
{
	if (d->sock_dir[0])
		snprintf(buf, PATH_MAX, "%s/%s.sock", d->sock_dir, uuid);
	else
		qemu_path(d, uuid, QEMU_F_QMP, buf);
}

/* A private directory for QMP sockets with a short path (/tmp/monostack-qmp-UID): made 0700,
 * and refused unless it is a real directory of ours that nobody else may write. */
static int short_sock_dir(struct qemu_driver *d, char *err, size_t errlen)
{
	snprintf(d->sock_dir, sizeof d->sock_dir, "/tmp/monostack-qmp-%u", (unsigned)getuid());
	struct stat st;
	if (mkdir(d->sock_dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", d->sock_dir, strerror(errno));
		return -1;
	}
	if (lstat(d->sock_dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
		snprintf(err, errlen, "%s is not a private directory of this user", d->sock_dir);
		return -1;
	}
	return 0;
}

int qemu_lock(const struct qemu_driver *d, const char *uuid)
{
	char path[PATH_MAX];
	qemu_path(d, uuid, QEMU_F_LOCK, path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX))
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	struct stat st;
	if (fstat(fd, &st) || st.st_nlink == 0) {     /* destroyed while we waited */
		close(fd);
		return -1;
	}
	return fd;
}

static bool guest_id_ok(const char *uuid)
{
	return uuid && strlen(uuid) <= 36 && uuid_valid(uuid);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

static int remove_tree(const char *dir)
{
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS) && errno != ENOENT ? -1 : 0;
}

/* ---- host ---- */

static int q_nhosts(struct virt_driver *vd)
{
	return 1;
}

/* "key : value" from /proc/cpuinfo's first processor into out. */
static void cpuinfo_field(const char *key, char *out, size_t len)
{
	out[0] = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return;
	char line[1024];
	size_t kl = strlen(key);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, key, kl) || (line[kl] != ' ' && line[kl] != '\t' && line[kl] != ':'))
			continue;
		char *v = strchr(line, ':');
		if (!v)
			continue;
		v += 1 + (v[1] == ' ');
		v[strcspn(v, "\n")] = 0;
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}

static int q_host_info(struct virt_driver *vd, int idx, struct virt_host_info *out)
{
	struct qemu_driver *d = drv(vd);
	if (idx != 0)
		return -1;
	memset(out, 0, sizeof *out);
	if (gethostname(out->hostname, sizeof out->hostname - 1))
		snprintf(out->hostname, sizeof out->hostname, "localhost");
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	out->vcpus = n > 0 ? (int)n : 1;
	FILE *f = fopen("/proc/meminfo", "re");
	if (f) {
		char line[256];
		long long kb;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "MemTotal: %lld kB", &kb) == 1) {
				out->memory_mb = kb / 1024;
				break;
			}
		fclose(f);
	}
	struct statvfs sv;
	if (statvfs(d->state_dir, &sv) == 0)
		out->disk_gb = (int64_t)((unsigned long long)sv.f_blocks * sv.f_frsize >> 30);
	snprintf(out->hypervisor_type, sizeof out->hypervisor_type, "QEMU");
	out->hypervisor_version = d->version;

	char vendor[64], model[256];
	cpuinfo_field("vendor_id", vendor, sizeof vendor);
	cpuinfo_field("model name", model, sizeof model);
	const char *v = !strcmp(vendor, "GenuineIntel") ? "Intel" : !strcmp(vendor, "AuthenticAMD") ? "AMD" : vendor;
	json_t *ci = json_pack("{s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i}, s:[]}", "arch", "x86_64", "model", model,
			       "vendor", v, "topology", "cells", 1, "sockets", 1, "cores", out->vcpus, "threads", 1,
			       "features");
	char *text = ci ? json_dumps(ci, JSON_PRESERVE_ORDER) : NULL;
	snprintf(out->cpu_info, sizeof out->cpu_info, "%s", text && strlen(text) < sizeof out->cpu_info ? text : "{}");
	free(text);
	json_decref(ci);
	return 0;
}

/* ---- guests ---- */

static int q_spawn(struct virt_driver *vd, const struct virt_spec *spec, char *err, size_t errlen)
{
	struct qemu_driver *d = drv(vd);
	if (!guest_id_ok(spec->uuid)) {
		snprintf(err, errlen, "invalid instance uuid");
		return -1;
	}
	char dir[PATH_MAX];
	qemu_path(d, spec->uuid, NULL, dir);
	if (mkdir(dir, 0700)) {
		snprintf(err, errlen, errno == EEXIST ? "instance %s already exists" : "%s: %s",
			 errno == EEXIST ? spec->uuid : dir, strerror(errno));
		return -1;
	}
	int lfd = qemu_lock(d, spec->uuid);
	if (lfd < 0) {
		snprintf(err, errlen, "instance %s: cannot lock", spec->uuid);
		remove_tree(dir);
		return -1;
	}
	json_t *argv;
	if (qemu_prepare(d, spec, &argv, err, errlen))
		goto fail;
	json_t *st = json_pack("{s:o}", "argv", argv);
	int rc = qemu_state_save(d, spec->uuid, st, err, errlen);
	json_decref(st);
	if (rc || qemu_launch(d, spec->uuid, -1, err, errlen))
		goto fail;
	close(lfd);
	return 0;
fail:
	qemu_kill(d, spec->uuid);
	remove_tree(dir);
	close(lfd);
	return -1;
}

static int q_destroy(struct virt_driver *vd, const char *uuid)
{
	struct qemu_driver *d = drv(vd);
	if (!guest_id_ok(uuid))
		return 0;
	int lfd = qemu_lock(d, uuid);
	if (lfd < 0)
		return 0;                         /* unknown: nothing to do */
	qemu_kill(d, uuid);
	char dir[PATH_MAX];
	if (d->sock_dir[0]) {
		qemu_qmp_path(d, uuid, dir);
		unlink(dir);
	}
	qemu_path(d, uuid, NULL, dir);
	int rc = remove_tree(dir);
	close(lfd);
	return rc;
}

static int q_power(struct virt_driver *vd, const char *uuid, enum virt_action a, char *err, size_t errlen)
{
	if (!guest_id_ok(uuid)) {
		snprintf(err, errlen, "invalid instance uuid");
		return -1;
	}
	return qemu_power(drv(vd), uuid, a, err, errlen);
}

static enum virt_power q_state(struct virt_driver *vd, const char *uuid)
{
	return guest_id_ok(uuid) ? qemu_state(drv(vd), uuid) : VIRT_NOSTATE;
}

static int q_console_log(struct virt_driver *vd, const char *uuid, size_t max, char **out, size_t *len)
{
	struct qemu_driver *d = drv(vd);
	char path[PATH_MAX];
	if (!guest_id_ok(uuid))
		return -1;
	qemu_path(d, uuid, NULL, path);
	if (access(path, F_OK))
		return -1;
	qemu_path(d, uuid, QEMU_F_CONSOLE, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t size = 0;
	if (fd >= 0 && fstat(fd, &st) == 0)
		size = (size_t)st.st_size;
	size_t want = max && max < size ? max : size;
	char *buf = malloc(want + 1);
	if (!buf) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t got = 0;
	if (fd >= 0) {
		off_t off = (off_t)(size - want);
		while (got < want) {
			ssize_t r = pread(fd, buf + got, want - got, off + (off_t)got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		close(fd);
	}
	buf[got] = 0;
	*out = buf;
	*len = got;
	return 0;
}

static int q_vnc(struct virt_driver *vd, const char *uuid, char host[64], int *port)
{
	struct qemu_driver *d = drv(vd);
	int pidfd;
	pid_t pid;
	if (!guest_id_ok(uuid) || !qemu_proc(d, uuid, &pidfd, &pid))
		return -1;
	if (pidfd >= 0)
		close(pidfd);
	json_t *st = qemu_state_load(d, uuid);
	json_t *p = json_object_get(st, "vnc_port");
	int rc = -1;
	if (json_is_integer(p)) {
		snprintf(host, 64, "127.0.0.1");
		*port = (int)json_integer_value(p);
		rc = 0;
	}
	json_decref(st);
	return rc;
}

static int q_list(struct virt_driver *vd, void (*fn)(void *ctx, const char *uuid, enum virt_power p), void *ctx)
{
	struct qemu_driver *d = drv(vd);
	DIR *dir = opendir(d->state_dir);
	if (!dir)
		return -1;
	struct dirent *e;
	while ((e = readdir(dir))) {
		char path[PATH_MAX];
		if (!guest_id_ok(e->d_name))
			continue;
		qemu_path(d, e->d_name, QEMU_F_STATE, path);
		if (access(path, F_OK))
			continue;
		fn(ctx, e->d_name, qemu_state(d, e->d_name));
	}
	closedir(dir);
	return 0;
}

static void q_free(struct virt_driver *vd)
{
	struct qemu_driver *d = drv(vd);
	if (!d)
		return;
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static const struct virt_ops qemu_ops = {
	.name = "qemu",
	.nhosts = q_nhosts,
	.host_info = q_host_info,
	.spawn = q_spawn,
	.destroy = q_destroy,
	.power = q_power,
	.state = q_state,
	.console_log = q_console_log,
	.vnc = q_vnc,
	.list = q_list,
	.free = q_free,
	.snapshot = qemu_snapshot,
};

void virt_qemu_set_stop_timeout(struct virt_driver *vd, int seconds)
{
	if (vd && vd->ops == &qemu_ops && seconds >= 0)
		drv(vd)->stop_timeout_s = seconds;
}

struct virt_driver *virt_qemu_new(const char *state_dir, char *err, size_t errlen)
{
	struct qemu_driver *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->base.ops = &qemu_ops;
	d->stop_timeout_s = QEMU_STOP_TIMEOUT_S;
	pthread_mutex_init(&d->mu, NULL);
	if (!state_dir || util_mkdir_p(state_dir, 0755, 0700) || !realpath(state_dir, d->state_dir)) {
		snprintf(err, errlen, "qemu state dir %s: %s", state_dir ? state_dir : "(none)", strerror(errno));
		goto fail;
	}
	if (strpbrk(d->state_dir, ",\n\r\t")) {
		snprintf(err, errlen, "qemu state dir %s: must not contain commas (QEMU option syntax)", d->state_dir);
		goto fail;
	}
	if (strlen(d->state_dir) > QEMU_STATE_DIR_MAX && short_sock_dir(d, err, errlen))
		goto fail;
	if (qemu_which("qemu-system-x86_64", d->qemu_bin)) {
		snprintf(err, errlen, "qemu-system-x86_64 not found (Debian package qemu-system-x86)");
		goto fail;
	}
	if (qemu_which("qemu-img", d->img_bin)) {
		snprintf(err, errlen, "qemu-img not found (Debian package qemu-utils)");
		goto fail;
	}
	char *argv[] = { d->qemu_bin, "--version", NULL }, *out = NULL;
	if (qemu_run(argv, NULL, -1, 10000, &out, NULL, err, errlen) != 0) {
		if (!out)
			snprintf(err + strlen(err), errlen - strlen(err), " (%s --version)", d->qemu_bin);
		free(out);
		goto fail;
	}
	int maj, min, mic = 0;
	if (sscanf(out, "QEMU emulator version %d.%d.%d", &maj, &min, &mic) >= 2)
		d->version = (int64_t)maj * 1000000 + min * 1000 + mic;
	free(out);
	return &d->base;
fail:
	q_free(&d->base);
	return NULL;
}
