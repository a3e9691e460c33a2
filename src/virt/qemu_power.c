/* qemu_power.c — power actions on a guest's QEMU and its power state. Stop asks the guest
 * through ACPI (system_powerdown) and forces it off after the timeout; start launches the saved
 * argv again; pause/unpause are QMP stop/cont; suspend stops the vCPUs and migrates the memory
 * into memory.save through a file descriptor passed with getfd, then quits; resume launches
 * with "-incoming fd:3" reading that file and continues the guest. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "virt/qemu.h"

#define QUIT_GRACE_MS 5000
#define MIGRATE_TIMEOUT_MS (10 * 60 * 1000)
#define INCOMING_TIMEOUT_MS (5 * 60 * 1000)
#define SAVE_FDNAME "monostack-save"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static bool exists(const struct qemu_driver *d, const char *uuid, const char *file)
{
	char path[PATH_MAX];
	qemu_path(d, uuid, file, path);
	return access(path, F_OK) == 0;
}

/* Ends a running process: QMP quit, then SIGKILL. */
static void force_off(struct qemu_driver *d, const char *uuid, int pidfd, pid_t pid)
{
	char err[256];
	if (qmp_call(d, uuid, "quit", NULL, NULL, err, sizeof err) == 0 && qemu_proc_wait(pidfd, pid, QUIT_GRACE_MS))
		return;
	qemu_proc_kill(pidfd, pid, SIGKILL);
	qemu_proc_wait(pidfd, pid, QUIT_GRACE_MS);
}

int qemu_kill(struct qemu_driver *d, const char *uuid)
{
	int pidfd;
	pid_t pid;
	if (!qemu_proc(d, uuid, &pidfd, &pid))
		return 0;
	force_off(d, uuid, pidfd, pid);
	if (pidfd >= 0)
		close(pidfd);
	return 0;
}

/* ACPI power button, then waits: true when the guest powered off in time. */
static bool graceful_off(struct qemu_driver *d, const char *uuid, int pidfd, pid_t pid)
{
	char err[256];
	if (qmp_call(d, uuid, "system_powerdown", NULL, NULL, err, sizeof err))
		return false;
	return qemu_proc_wait(pidfd, pid, d->stop_timeout_s * 1000);
}

static int suspend(struct qemu_driver *d, const char *uuid, char *err, size_t errlen)
{
	char part[PATH_MAX], save[PATH_MAX], sock[PATH_MAX];
	qemu_path(d, uuid, QEMU_F_SAVE ".part", part);
	qemu_path(d, uuid, QEMU_F_SAVE, save);
	qemu_qmp_path(d, uuid, sock);
	int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", part, strerror(errno));
		return -1;
	}
	struct qmp *q = NULL;
	bool stopped = false;
	if (qmp_open(sock, QEMU_QMP_TIMEOUT_MS, &q, err, errlen) ||
	    qmp_exec(q, "stop", NULL, -1, NULL, err, errlen))
		goto fail;
	stopped = true;
	char ignore[256];
	qmp_exec(q, "migrate-set-parameters", json_pack("{s:I}", "max-bandwidth", (json_int_t)10 << 30), -1, NULL,
		 ignore, sizeof ignore);
	if (qmp_exec(q, "getfd", json_pack("{s:s}", "fdname", SAVE_FDNAME), fd, NULL, err, errlen) ||
	    qmp_exec(q, "migrate", json_pack("{s:s}", "uri", "fd:" SAVE_FDNAME), -1, NULL, err, errlen))
		goto fail;
	qmp_close(q);
	q = NULL;
	for (int waited = 0;; waited += 100) {
		json_t *r;
		if (qmp_call(d, uuid, "query-migrate", NULL, &r, err, errlen))
			goto fail;
		const char *st = json_string_value(json_object_get(r, "status"));
		bool done = st && !strcmp(st, "completed");
		bool failed = !st || !strcmp(st, "failed") || !strcmp(st, "cancelled");
		if (failed) {
			const char *why = json_string_value(json_object_get(r, "error-desc"));
			snprintf(err, errlen, "saving the guest's memory failed: %s", why ? why : st ? st : "?");
		}
		json_decref(r);
		if (done)
			break;
		if (failed)
			goto fail;
		if (waited >= MIGRATE_TIMEOUT_MS) {
			qmp_call(d, uuid, "migrate_cancel", NULL, NULL, ignore, sizeof ignore);
			snprintf(err, errlen, "saving the guest's memory timed out");
			goto fail;
		}
		sleep_ms(100);
	}
	if (fsync(fd) || close(fd)) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", part, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(part, save)) {
		snprintf(err, errlen, "%s: %s", save, strerror(errno));
		goto fail;
	}
	qemu_kill(d, uuid);
	return 0;
fail:
	qmp_close(q);
	if (fd >= 0)
		close(fd);
	unlink(part);
	if (stopped)
		qmp_call(d, uuid, "cont", NULL, NULL, ignore, sizeof ignore);
	return -1;
}

static int resume(struct qemu_driver *d, const char *uuid, char *err, size_t errlen)
{
	char save[PATH_MAX];
	qemu_path(d, uuid, QEMU_F_SAVE, save);
	int fd = open(save, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "instance %s is not suspended", uuid);
		return -1;
	}
	int rc = qemu_launch(d, uuid, fd, err, errlen);
	close(fd);
	if (rc)
		return -1;
	char st[64] = "";
	for (int waited = 0;; waited += 100) {
		int pidfd;
		pid_t pid;
		if (!qemu_proc(d, uuid, &pidfd, &pid)) {
			snprintf(err, errlen, "qemu exited while restoring the guest's memory");
			return -1;
		}
		if (pidfd >= 0)
			close(pidfd);
		if (qmp_status(d, uuid, st, sizeof st, err, errlen) == 0 && strcmp(st, "inmigrate"))
			break;
		if (waited >= INCOMING_TIMEOUT_MS) {
			snprintf(err, errlen, "restoring the guest's memory timed out");
			qemu_kill(d, uuid);
			return -1;
		}
		sleep_ms(100);
	}
	/* The memory was saved with the vCPUs stopped, so the guest arrives paused. */
	if (strcmp(st, "running") && qmp_call(d, uuid, "cont", NULL, NULL, err, errlen))
		return -1;
	unlink(save);
	return 0;
}

/* Hard reset of a running guest; a paused one runs again afterwards. */
static int reset(struct qemu_driver *d, const char *uuid, char *err, size_t errlen)
{
	char st[64];
	if (qmp_call(d, uuid, "system_reset", NULL, NULL, err, errlen))
		return -1;
	if (qmp_status(d, uuid, st, sizeof st, err, errlen))
		return -1;
	return strcmp(st, "running") ? qmp_call(d, uuid, "cont", NULL, NULL, err, errlen) : 0;
}

/* Boots a stopped guest afresh (forgetting a suspended memory image). */
static int cold_boot(struct qemu_driver *d, const char *uuid, char *err, size_t errlen)
{
	char path[PATH_MAX];
	qemu_path(d, uuid, QEMU_F_SAVE, path);
	unlink(path);
	return qemu_launch(d, uuid, -1, err, errlen);
}

static int need_running(bool alive, const char *uuid, char *err, size_t errlen)
{
	if (alive)
		return 0;
	snprintf(err, errlen, "instance %s is not running", uuid);
	return -1;
}

int qemu_power(struct qemu_driver *d, const char *uuid, enum virt_action a, char *err, size_t errlen)
{
	int lfd = qemu_lock(d, uuid);
	if (lfd < 0) {
		snprintf(err, errlen, "instance %s not found", uuid);
		return -1;
	}
	int pidfd = -1;
	pid_t pid = 0;
	bool alive = qemu_proc(d, uuid, &pidfd, &pid) == 1;
	bool saved = exists(d, uuid, QEMU_F_SAVE);
	int rc = -1;
	switch (a) {
	case VIRT_START:
		if (alive)
			rc = 0;
		else if (saved)
			snprintf(err, errlen, "instance %s is suspended: resume it", uuid);
		else
			rc = qemu_launch(d, uuid, -1, err, errlen);
		break;
	case VIRT_STOP:
		rc = 0;
		if (alive && !graceful_off(d, uuid, pidfd, pid))
			force_off(d, uuid, pidfd, pid);
		break;
	case VIRT_REBOOT_SOFT:
		/* A guest that ignores the power button is reset instead. */
		rc = alive && !graceful_off(d, uuid, pidfd, pid) ? reset(d, uuid, err, errlen)
								  : cold_boot(d, uuid, err, errlen);
		break;
	case VIRT_REBOOT_HARD:
		rc = alive ? reset(d, uuid, err, errlen) : cold_boot(d, uuid, err, errlen);
		break;
	case VIRT_PAUSE:
		if (!(rc = need_running(alive, uuid, err, errlen)))
			rc = qmp_call(d, uuid, "stop", NULL, NULL, err, errlen);
		break;
	case VIRT_UNPAUSE:
		if (!(rc = need_running(alive, uuid, err, errlen)))
			rc = qmp_call(d, uuid, "cont", NULL, NULL, err, errlen);
		break;
	case VIRT_SUSPEND:
		if (!(rc = need_running(alive, uuid, err, errlen)))
			rc = suspend(d, uuid, err, errlen);
		break;
	case VIRT_RESUME:
		if (alive) {
			snprintf(err, errlen, "instance %s is not suspended", uuid);
			break;
		}
		rc = resume(d, uuid, err, errlen);
		break;
	default:
		snprintf(err, errlen, "unknown power action");
	}
	if (pidfd >= 0)
		close(pidfd);
	close(lfd);
	return rc;
}

enum virt_power qemu_state(struct qemu_driver *d, const char *uuid)
{
	int pidfd;
	pid_t pid;
	if (qemu_proc(d, uuid, &pidfd, &pid)) {
		char st[64], err[256];
		int rc = qmp_status(d, uuid, st, sizeof st, err, sizeof err);
		bool gone = rc && qemu_proc_wait(pidfd, pid, 0);
		if (pidfd >= 0)
			close(pidfd);
		if (rc)
			return gone ? qemu_state(d, uuid) : VIRT_NOSTATE;
		if (!strcmp(st, "running") || !strcmp(st, "colo"))
			return VIRT_RUNNING;
		if (!strcmp(st, "shutdown"))
			return VIRT_SHUTDOWN;
		if (!strcmp(st, "suspended"))
			return VIRT_SUSPENDED;
		if (!strcmp(st, "internal-error") || !strcmp(st, "io-error") || !strcmp(st, "guest-panicked"))
			return VIRT_CRASHED;
		return VIRT_PAUSED;               /* paused, inmigrate, postmigrate, prelaunch, ... */
	}
	if (exists(d, uuid, QEMU_F_SAVE))
		return VIRT_SUSPENDED;
	if (exists(d, uuid, QEMU_F_STATE))
		return VIRT_SHUTDOWN;
	return VIRT_NOSTATE;
}
