/* qemu_proc.c — the qemu driver's child processes: running qemu-img and qemu-system with a
 * clean fd set and captured output (posix_spawn), finding a guest's QEMU through its pidfile
 * (checked against /proc/<pid>/cmdline, held through a pidfd so a reused pid is never
 * signalled), and the one-time KVM probe: a 512-byte boot sector that prints a marker on the
 * serial port and exits through isa-debug-exit, which must finish in time under KVM. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "virt/qemu.h"

extern char **environ;

#define CAPTURE_MAX (1 << 20)
#define PROBE_TIMEOUT_MS 3000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qemu_which(const char *name, char *out)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		if (n && snprintf(out, PATH_MAX, "%.*s/%s", (int)n, path, name) < PATH_MAX && access(out, X_OK) == 0)
			return 0;
		path += n + (colon ? 1 : 0);
	}
	return -1;
}

struct capture {
	int fd;
	char *buf;
	size_t len, cap;
};

static void capture_read(struct capture *c)
{
	char tmp[4096];
	ssize_t n = read(c->fd, tmp, sizeof tmp);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	if (c->len + (size_t)n + 1 > c->cap && c->len < CAPTURE_MAX) {
		size_t cap = c->cap ? c->cap * 2 : 8192;
		while (cap < c->len + (size_t)n + 1)
			cap *= 2;
		char *b = realloc(c->buf, cap);
		if (!b)
			return;
		c->buf = b;
		c->cap = cap;
	}
	if (c->len + (size_t)n + 1 <= c->cap) {
		memcpy(c->buf + c->len, tmp, (size_t)n);
		c->len += (size_t)n;
	}
}

static char *capture_take(struct capture *c)
{
	if (!c->buf)
		return strdup("");
	c->buf[c->len] = 0;
	char *b = c->buf;
	c->buf = NULL;
	return b;
}

int qemu_run(char *const argv[], const char *cwd, int keep_fd, int timeout_ms, char **out, char **errout,
	     char *err, size_t errlen)
{
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, kfd = -1, rc = -1;
	struct capture co = { .fd = -1 }, ce = { .fd = -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	if (keep_fd >= 0) {
		kfd = fcntl(keep_fd, F_DUPFD_CLOEXEC, 10);   /* never 3 itself: dup2(3, 3) keeps CLOEXEC */
		if (kfd < 0) {
			snprintf(err, errlen, "dup: %s", strerror(errno));
			goto out;
		}
		posix_spawn_file_actions_adddup2(&fa, kfd, 3);
	}
	posix_spawn_file_actions_addclosefrom_np(&fa, keep_fd >= 0 ? 4 : 3);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int e = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	if (e) {
		snprintf(err, errlen, "%s: %s", argv[0], strerror(e));
		goto out;
	}
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	co.fd = op[0];
	ce.fd = ep[0];
	op[0] = ep[0] = -1;

	int64_t deadline = now_ms() + timeout_ms;
	bool timed_out = false;
	while (co.fd >= 0 || ce.fd >= 0) {
		struct pollfd p[2] = { { .fd = co.fd, .events = POLLIN }, { .fd = ce.fd, .events = POLLIN } };
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int n = poll(p, 2, (int)left);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (co.fd >= 0 && p[0].revents)
			capture_read(&co);
		if (ce.fd >= 0 && p[1].revents)
			capture_read(&ce);
	}
	int status = 0;
	bool reaped = false;
	while (!reaped) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			reaped = true;
		} else if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "%s: wait: %s", argv[0], strerror(errno));
			goto out;
		} else if (timed_out || now_ms() >= deadline) {
			timed_out = true;
			kill(pid, SIGKILL);
			reaped = waitpid(pid, &status, 0) == pid;
		} else {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	if (timed_out) {
		snprintf(err, errlen, "%s timed out after %d ms", argv[0], timeout_ms);
		goto out;
	}
	if (!WIFEXITED(status)) {
		snprintf(err, errlen, "%s died (signal %d)", argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		goto out;
	}
	rc = WEXITSTATUS(status);
	if (out)
		*out = capture_take(&co);
	if (errout)
		*errout = capture_take(&ce);
out:
	for (int i = 0; i < 2; i++) {
		if (op[i] >= 0)
			close(op[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (co.fd >= 0)
		close(co.fd);
	if (ce.fd >= 0)
		close(ce.fd);
	if (kfd >= 0)
		close(kfd);
	free(co.buf);
	free(ce.buf);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
}

/* ---- a guest's process ---- */

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* True when /proc/<pid>/cmdline has an argument equal to want. */
static bool cmdline_has(pid_t pid, const char *want)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return false;
	}
	ssize_t n;
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	bool found = false;
	for (size_t i = 0; i < len && !found; i += strlen(buf + i) + 1)
		found = !strcmp(buf + i, want);
	free(buf);
	return found;
}

int qemu_proc(const struct qemu_driver *d, const char *uuid, int *pidfd, pid_t *pidp)
{
	char pidfile[PATH_MAX], buf[32];
	qemu_path(d, uuid, QEMU_F_PID, pidfile);
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *end;
	long pid = strtol(buf, &end, 10);
	if (pid <= 1 || pid > 1 << 30 || (*end && *end != '\n'))
		return 0;
	int pfd = pidfd_open_((pid_t)pid);
	if (pfd < 0 && errno != ENOSYS)
		return 0;                         /* ESRCH: gone */
	/* Checked after the pidfd is held, so the pid cannot be reused in between. */
	if (!cmdline_has((pid_t)pid, pidfile)) {
		if (pfd >= 0)
			close(pfd);
		return 0;
	}
	*pidfd = pfd;
	*pidp = (pid_t)pid;
	return 1;
}

static bool pid_gone(pid_t pid)
{
	char path[64], st[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, st, sizeof st - 1);
	close(fd);
	if (n <= 0)
		return true;
	st[n] = 0;
	const char *p = strrchr(st, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

bool qemu_proc_wait(int pidfd, pid_t pid, int timeout_ms)
{
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int64_t deadline = now_ms() + timeout_ms;
		for (;;) {
			int64_t left = deadline - now_ms();
			int n = poll(&p, 1, left > 0 ? (int)left : 0);
			if (n > 0)
				return true;
			if (n == 0 || errno != EINTR)
				return false;
		}
	}
	int64_t deadline = now_ms() + timeout_ms;
	while (!pid_gone(pid)) {
		if (now_ms() >= deadline)
			return false;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return true;
}

void qemu_proc_kill(int pidfd, pid_t pid, int sig)
{
#ifdef SYS_pidfd_send_signal
	if (pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
		return;
	}
#endif
	kill(pid, sig);
}

/* ---- the accelerator ---- */

/* Real mode: print "KVMOK\n" on COM1, then write 0x10 to isa-debug-exit (QEMU exits 33). */
static const unsigned char probe_code[] = {
	0x31, 0xc0,             /* xor ax, ax */
	0x8e, 0xd8,             /* mov ds, ax */
	0xbe, 0x1a, 0x7c,       /* mov si, 0x7c1a (msg) */
	0xba, 0xf8, 0x03,       /* mov dx, 0x3f8 */
	0xac,                   /* lodsb */
	0x84, 0xc0,             /* test al, al */
	0x74, 0x03,             /* jz +3 */
	0xee,                   /* out dx, al */
	0xeb, 0xf8,             /* jmp lodsb */
	0xb0, 0x10,             /* mov al, 0x10 */
	0xe6, 0xf4,             /* out 0xf4, al */
	0xfa,                   /* cli */
	0xf4,                   /* hlt */
	0xeb, 0xfd,             /* jmp hlt */
	'K', 'V', 'M', 'O', 'K', '\n', 0,
};

static bool file_has(const char *path, const char *want)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, want) != NULL;
}

/* Boots the probe sector under KVM: true when it printed and exited within the deadline. */
static bool kvm_probe(struct qemu_driver *d, char *why, size_t whylen)
{
	char dir[PATH_MAX], img[PATH_MAX + 16], serial[PATH_MAX + 16], drive[PATH_MAX + 64], ser[PATH_MAX + 32];
	snprintf(dir, sizeof dir, "%s/.kvm-probe.XXXXXX", d->state_dir);
	if (!mkdtemp(dir)) {
		snprintf(why, whylen, "probe dir: %s", strerror(errno));
		return false;
	}
	snprintf(img, sizeof img, "%s/boot.img", dir);
	snprintf(serial, sizeof serial, "%s/serial", dir);
	unsigned char sector[512] = { 0 };
	memcpy(sector, probe_code, sizeof probe_code);
	sector[510] = 0x55;
	sector[511] = 0xaa;
	bool ok = false;
	int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && write(fd, sector, sizeof sector) == (ssize_t)sizeof sector && close(fd) == 0) {
		fd = -1;
		snprintf(drive, sizeof drive, "file=%s,format=raw,if=ide", img);
		snprintf(ser, sizeof ser, "file:%s", serial);
		char *argv[] = { d->qemu_bin, "-accel", "kvm", "-machine", "pc", "-nodefaults", "-no-user-config",
				 "-display", "none", "-m", "16", "-serial", ser, "-drive", drive,
				 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL };
		char *eout = NULL;
		int64_t t0 = now_ms();
		int rc = qemu_run(argv, dir, -1, PROBE_TIMEOUT_MS, NULL, &eout, why, whylen);
		ok = rc == 33 && file_has(serial, "KVMOK");
		if (rc >= 0 && !ok)
			snprintf(why, whylen, "probe guest exited %d: %.200s", rc, eout ? eout : "");
		else if (ok)
			snprintf(why, whylen, "probe guest booted in %lld ms", (long long)(now_ms() - t0));
		free(eout);
	} else {
		snprintf(why, whylen, "probe image: %s", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	unlink(img);
	unlink(serial);
	rmdir(dir);
	return ok;
}

const char *qemu_accel(struct qemu_driver *d)
{
	pthread_mutex_lock(&d->mu);
	if (d->accel) {
		pthread_mutex_unlock(&d->mu);
		return d->accel;
	}
	char why[512] = "";
	/* MONOSTACK_QEMU_ACCEL: "kvm" or "tcg" decides; "probe" probes even on kvm_pvm hosts. */
	const char *env = getenv("MONOSTACK_QEMU_ACCEL");
	struct stat st;
	if (env && (!strcmp(env, "kvm") || !strcmp(env, "tcg"))) {
		d->accel = !strcmp(env, "kvm") ? "kvm" : "tcg";
		snprintf(why, sizeof why, "MONOSTACK_QEMU_ACCEL");
	} else if (access("/dev/kvm", R_OK | W_OK)) {
		d->accel = "tcg";
		snprintf(why, sizeof why, "no usable /dev/kvm");
	} else if (stat("/sys/module/kvm_pvm", &st) == 0 && !(env && !strcmp(env, "probe"))) {
		d->accel = "tcg";
		snprintf(why, sizeof why, "the host's KVM is kvm_pvm, which runs only PVM guest kernels");
	} else {
		d->accel = kvm_probe(d, why, sizeof why) ? "kvm" : "tcg";
	}
	log_info("qemu: guests use %s (%s)", d->accel, why);
	pthread_mutex_unlock(&d->mu);
	return d->accel;
}
