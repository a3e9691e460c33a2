/* try_qemu.c — drives one real guest through the qemu virt driver (built by try-qemu.sh):
 * spawn the tiny image with a config drive, wait for its marker lines on the serial console,
 * then pause/unpause, VNC, suspend/resume, stop/start, hard and soft reboot, a second driver
 * instance finding the guest again, and destroy — checking the power state after each step.
 * Prints "try-qemu: N passed, N failed" and the boot times it measured.
 *
 * Usage: try_qemu IMAGE_DIR STATE_DIR */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "virt/virt.h"

static int passed, failed;
static struct virt_driver *drv;
static char uuid[37];
static const char *state_dir;

#define CHECK(cond, ...)                                                                      \
	do {                                                                                  \
		if (cond) {                                                                   \
			passed++;                                                             \
			printf("ok   ");                                                      \
		} else {                                                                      \
			failed++;                                                             \
			printf("FAIL ");                                                      \
		}                                                                             \
		printf(__VA_ARGS__);                                                          \
		printf("\n");                                                                 \
		fflush(stdout);                                                               \
	} while (0)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *pname(enum virt_power p)
{
	switch (p) {
	case VIRT_RUNNING: return "RUNNING";
	case VIRT_PAUSED: return "PAUSED";
	case VIRT_SHUTDOWN: return "SHUTDOWN";
	case VIRT_CRASHED: return "CRASHED";
	case VIRT_SUSPENDED: return "SUSPENDED";
	default: return "NOSTATE";
	}
}

/* How many times needle occurs in the console log. */
static int console_count(const char *needle)
{
	char *log;
	size_t len;
	if (drv->ops->console_log(drv, uuid, 0, &log, &len))
		return -1;
	int n = 0;
	for (const char *p = log; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(log);
	return n;
}

/* Waits up to timeout seconds for needle's count to reach n; the seconds it took or -1. */
static double wait_console(const char *needle, int n, double timeout)
{
	double t0 = now_s();
	while (now_s() - t0 < timeout) {
		if (console_count(needle) >= n)
			return now_s() - t0;
		usleep(50 * 1000);
	}
	return -1;
}

static bool expect_state(enum virt_power want)
{
	enum virt_power p = drv->ops->state(drv, uuid);
	if (p != want)
		printf("     state is %s, wanted %s\n", pname(p), pname(want));
	return p == want;
}

static bool power(enum virt_action a, const char *what)
{
	char err[512] = "";
	double t0 = now_s();
	int rc = drv->ops->power(drv, uuid, a, err, sizeof err);
	printf("     %s: %s in %.2f s\n", what, rc ? err : "done", now_s() - t0);
	return rc == 0;
}

static bool vnc_banner(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	char buf[16] = "";
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && read(fd, buf, 12) == 12 &&
		  !strncmp(buf, "RFB 003.", 8);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The guest QEMU's resident memory, from its pidfile. */
static long guest_rss_mb(void)
{
	char path[4096], line[256];
	snprintf(path, sizeof path, "%s/%s/qemu.pid", state_dir, uuid);
	FILE *f = fopen(path, "r");
	long pid = 0, kb = -1;
	if (!f || fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	f = pid ? fopen(path, "r") : NULL;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

static void count_state(void *ctx, const char *id, enum virt_power p)
{
	if (!strcmp(id, uuid) && p == VIRT_RUNNING)
		(*(int *)ctx)++;
}

/* Other image formats, each guest started and destroyed at once (with the main guest, two at
 * most): a raw image gets a qcow2 overlay of the flavor's size, an ISO boots as a CD-ROM with a
 * blank root disk, and an image naming a backing file is refused. */
static void formats(const char *qcow2)
{
	char raw[4096], evil[4096], cmd[12288], err[512], other[37], info[4096];
	snprintf(raw, sizeof raw, "%s/tiny.raw", state_dir);
	snprintf(evil, sizeof evil, "%s/evil.qcow2", state_dir);
	snprintf(cmd, sizeof cmd, "qemu-img convert -q -f qcow2 -O raw '%s' '%s' && qemu-img create -q -f qcow2 "
		 "-F qcow2 -b '%s' '%s'", qcow2, raw, qcow2, evil);
	if (system(cmd) != 0) {
		CHECK(false, "preparing format images");
		return;
	}
	struct virt_spec s = { .name = "fmt", .vcpus = 1, .memory_mb = 128, .root_gb = 2, .image_path = raw,
			       .image_format = "raw" };
	uuid_dashed(other);
	s.uuid = other;
	int rc = drv->ops->spawn(drv, &s, err, sizeof err);
	snprintf(cmd, sizeof cmd, "qemu-img info -U --output=json '%s/%s/disk.qcow2' | grep -q '\"virtual-size\": 2147483648'",
		 state_dir, other);
	CHECK(rc == 0 && system(cmd) == 0 && drv->ops->state(drv, other) == VIRT_RUNNING,
	      "raw image: 2 GiB qcow2 overlay, running %s", rc ? err : "");
	drv->ops->destroy(drv, other);

	snprintf(info, sizeof info, "%s/%s/config.iso", state_dir, uuid);
	s.image_path = info;
	s.image_format = "iso";
	s.root_gb = 1;
	uuid_dashed(other);
	rc = drv->ops->spawn(drv, &s, err, sizeof err);
	CHECK(rc == 0 && drv->ops->state(drv, other) == VIRT_RUNNING, "iso image as a CD-ROM: running %s",
	      rc ? err : "");
	drv->ops->destroy(drv, other);

	s.image_path = evil;
	s.image_format = "qcow2";
	uuid_dashed(other);
	rc = drv->ops->spawn(drv, &s, err, sizeof err);
	snprintf(cmd, sizeof cmd, "%s/%s", state_dir, other);
	CHECK(rc == -1 && strstr(err, "backing file") && access(cmd, F_OK) != 0,
	      "an image with a backing file is refused: %s", err);
	s.image_path = qcow2;
	s.root_gb = 0;
	s.image_format = "vhdx";
	rc = drv->ops->spawn(drv, &s, err, sizeof err);
	CHECK(rc == -1, "an image that is not in its declared format is refused: %s", err);
	unlink(raw);
	unlink(evil);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: try_qemu IMAGE_DIR STATE_DIR\n");
		return 2;
	}
	const char *img = argv[1];
	state_dir = argv[2];
	double t_boot = -1, t_spawn = 0;
	char err[1024], kernel[4096], initrd[4096], disk[4096], cmdline[512] = "", path[4096];
	snprintf(kernel, sizeof kernel, "%s/tiny-vmlinuz", img);
	snprintf(initrd, sizeof initrd, "%s/tiny-initrd", img);
	snprintf(disk, sizeof disk, "%s/tiny.qcow2", img);
	snprintf(path, sizeof path, "%s/tiny.cmdline", img);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fgets(cmdline, sizeof cmdline, f))
			cmdline[strcspn(cmdline, "\n")] = 0;
		fclose(f);
	}
	/* The driver adds console=ttyS0 itself. */
	const char *extra = strncmp(cmdline, "console=ttyS0 ", 14) ? cmdline : cmdline + 14;

	drv = virt_qemu_new(state_dir, err, sizeof err);
	if (!drv) {
		fprintf(stderr, "virt_qemu_new: %s\n", err);
		return 1;
	}
	virt_qemu_set_stop_timeout(drv, 10);
	struct virt_host_info hi;
	CHECK(drv->ops->nhosts(drv) == 1 && drv->ops->host_info(drv, 0, &hi) == 0 && hi.vcpus > 0 &&
		      hi.memory_mb > 0 && !strcmp(hi.hypervisor_type, "QEMU") && hi.hypervisor_version > 1000000,
	      "host_info: %s vcpus=%d memory_mb=%lld disk_gb=%lld %s %lld cpu_info=%s", hi.hostname, hi.vcpus,
	      (long long)hi.memory_mb, (long long)hi.disk_gb, hi.hypervisor_type, (long long)hi.hypervisor_version,
	      hi.cpu_info);

	uuid_dashed(uuid);
	static const char ud[] = "#!/bin/sh\necho hello from user data\n";
	struct virt_spec spec = {
		.uuid = uuid, .name = "tiny-try", .hostname = "tiny-try", .vcpus = 1, .memory_mb = 256,
		.root_gb = 1, .image_path = disk, .image_format = "qcow2", .kernel_path = kernel,
		.ramdisk_path = initrd, .kernel_cmdline = extra, .user_data = (const unsigned char *)ud,
		.user_data_len = sizeof ud - 1, .key_name = "try", .public_key = "ssh-ed25519 AAAAC3Nza try@host",
		.project_id = "p-try", .availability_zone = "nova", .meta_json = "{\"role\": \"test\"}",
		.config_drive = true,
		.user_nic = true,
	};
	double t0 = now_s();
	int rc = drv->ops->spawn(drv, &spec, err, sizeof err);
	t_spawn = now_s() - t0;
	CHECK(rc == 0, "spawn %s (returned after %.2f s) %s", uuid, t_spawn, rc ? err : "");
	if (rc)
		goto out;
	/* Times from the spawn call. */
	double w = wait_console("monostack-tiny: booted", 1, 30);
	t_boot = w < 0 ? -1 : now_s() - t0;
	w = wait_console("config-drive name=tiny-try hostname=tiny-try.novalocal", 1, 30);
	double t_cfg = w < 0 ? -1 : now_s() - t0;
	w = wait_console("monostack-tiny: ready", 1, 30);
	double t_ready = w < 0 ? -1 : now_s() - t0;
	CHECK(t_boot >= 0, "booted marker %.2f s after spawn was called", t_boot);
	char want[128];
	snprintf(want, sizeof want, "uuid=%s user_data=%zu", uuid, sizeof ud - 1);
	CHECK(t_cfg >= 0 && console_count(want) == 1, "config drive read in the guest at %.2f s: name, hostname, %s",
	      t_cfg, want);
	CHECK(console_count("monostack-tiny: disk vda ok") == 1, "root disk overlay mounted in the guest");
	CHECK(t_ready >= 0 && console_count("monostack-tiny: dhcp eth0 10.0.2.15") == 1,
	      "DHCP on eth0, guest ready at %.2f s", t_ready);
	CHECK(expect_state(VIRT_RUNNING), "state RUNNING after spawn");
	printf("     guest QEMU RSS: %ld MB\n", guest_rss_mb());

	char *log;
	size_t len;
	CHECK(drv->ops->console_log(drv, uuid, 40, &log, &len) == 0 && len == 40, "console_log tail of 40 bytes");
	if (len)
		free(log);

	char host[64];
	int port = 0;
	CHECK(drv->ops->vnc(drv, uuid, host, &port) == 0 && port >= 5900 && vnc_banner(port),
	      "VNC on %s:%d answers RFB", host, port);

	CHECK(power(VIRT_PAUSE, "pause") && expect_state(VIRT_PAUSED), "pause -> PAUSED");
	CHECK(power(VIRT_UNPAUSE, "unpause") && expect_state(VIRT_RUNNING), "unpause -> RUNNING");

	CHECK(power(VIRT_SUSPEND, "suspend") && expect_state(VIRT_SUSPENDED), "suspend -> SUSPENDED");
	snprintf(path, sizeof path, "%s/%s/memory.save", state_dir, uuid);
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size > 0, "memory.save holds %lld bytes", (long long)st.st_size);
	CHECK(drv->ops->vnc(drv, uuid, host, &port) == -1, "no VNC while suspended");
	CHECK(power(VIRT_RESUME, "resume") && expect_state(VIRT_RUNNING), "resume -> RUNNING");

	/* The resumed guest is alive: it handles the ACPI power button on stop. */
	t0 = now_s();
	bool ok = power(VIRT_STOP, "stop");
	double t_stop = now_s() - t0;
	CHECK(ok && expect_state(VIRT_SHUTDOWN) && console_count("power button, powering off") == 1 && t_stop < 10,
	      "stop -> SHUTDOWN, the resumed guest powered off by itself in %.2f s", t_stop);
	CHECK(power(VIRT_STOP, "stop again") && expect_state(VIRT_SHUTDOWN), "stop of a stopped guest is a no-op");
	CHECK(!power(VIRT_PAUSE, "pause while stopped"), "pause of a stopped guest fails");

	t0 = now_s();
	ok = power(VIRT_START, "start") && expect_state(VIRT_RUNNING);
	double t_boot2 = wait_console("monostack-tiny: booted", 2, 30);
	CHECK(ok && t_boot2 >= 0, "start -> RUNNING, booted again %.2f s after start was called", now_s() - t0);
	CHECK(wait_console("monostack-tiny: disk vda ok", 2, 30) >= 0, "the same disk after start");

	t0 = now_s();
	ok = power(VIRT_REBOOT_HARD, "reboot hard") && expect_state(VIRT_RUNNING);
	CHECK(ok && wait_console("monostack-tiny: booted", 3, 30) >= 0, "hard reboot -> booted again in %.2f s",
	      now_s() - t0);
	wait_console("monostack-tiny: ready", 3, 30);
	t0 = now_s();
	ok = power(VIRT_REBOOT_SOFT, "reboot soft") && expect_state(VIRT_RUNNING);
	CHECK(ok && wait_console("monostack-tiny: booted", 4, 30) >= 0 &&
		      console_count("power button, powering off") == 2,
	      "soft reboot (ACPI off, then start) -> booted again in %.2f s", now_s() - t0);

	/* A new driver instance (as after a monostack restart) finds the running guest. */
	drv->ops->free(drv);
	drv = virt_qemu_new(state_dir, err, sizeof err);
	int found = 0;
	CHECK(drv && drv->ops->list(drv, count_state, &found) == 0 && found == 1,
	      "a new driver lists the guest as RUNNING");

	formats(disk);
out:
	if (drv) {
		snprintf(path, sizeof path, "%s/%s", state_dir, uuid);
		CHECK(drv->ops->destroy(drv, uuid) == 0 && expect_state(VIRT_NOSTATE) && access(path, F_OK) != 0,
		      "destroy: process ended, directory removed");
		CHECK(drv->ops->destroy(drv, uuid) == 0, "destroy of an unknown guest is not an error");
		drv->ops->free(drv);
	}
	printf("try-qemu: boot (spawn called -> marker) %.2f s\n", t_boot);
	printf("try-qemu: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
