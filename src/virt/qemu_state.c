/* qemu_state.c — what a guest is made of and how to start it again: the disks (a qcow2 overlay
 * on the cached image, resized to the flavor's root disk; blank ephemeral and swap disks), the
 * config drive, the QEMU argv (saved in state.json so that start, reboot and resume launch the
 * same machine after a monostack restart) and the launch itself. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virt/configdrive.h"
#include "virt/qemu.h"

#define GIB (INT64_C(1) << 30)
#define CONSOLE_ROTATE_BYTES (1 << 20)
#define LAUNCH_TIMEOUT_MS 60000
#define IMG_TIMEOUT_MS 120000

static void push(json_t *argv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void push(json_t *argv, const char *fmt, ...)
{
	char buf[PATH_MAX * 2 + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_array_append_new(argv, json_string(buf));
}

/* A value for a QEMU option list: commas doubled. */
static const char *opt_escape(const char *s, char *buf, size_t len)
{
	size_t k = 0;
	for (; *s && k + 2 < len; s++) {
		if (*s == ',')
			buf[k++] = ',';
		buf[k++] = *s;
	}
	buf[k] = 0;
	return buf;
}

/* QEMU's name for a Glance disk_format, or NULL when the driver cannot boot it. */
static const char *qemu_format(const char *fmt)
{
	static const char *const map[][2] = {
		{ "qcow2", "qcow2" }, { "raw", "raw" }, { "ami", "raw" }, { "iso", "raw" }, { "vmdk", "vmdk" },
		{ "vdi", "vdi" }, { "vhd", "vpc" }, { "vhdx", "vhdx" }, { "qed", "qed" },
	};
	for (size_t i = 0; fmt && i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(fmt, map[i][0]))
			return map[i][1];
	return NULL;
}

static int img_run(struct qemu_driver *d, char *const argv[], char **out, char *err, size_t errlen)
{
	char *eout = NULL;
	int rc = qemu_run(argv, NULL, -1, IMG_TIMEOUT_MS, out, &eout, err, errlen);
	if (rc > 0) {
		const char *msg = eout ? eout : "";
		if (!strncmp(msg, "qemu-img: ", 10))
			msg += 10;
		snprintf(err, errlen, "qemu-img %s: %.*s", argv[1], (int)strcspn(msg, "\n"), msg);
		if (out) {
			free(*out);
			*out = NULL;
		}
	}
	free(eout);
	return rc ? -1 : 0;
}

/* The image's virtual size, refusing images that name other files (a backing file or an
 * external data file would let an image read any file on the host). */
static int image_size(struct qemu_driver *d, const char *path, const char *fmt, int64_t *size, char *err,
		      size_t errlen)
{
	char *argv[] = { d->img_bin, "info", "-f", (char *)fmt, "--output=json", (char *)path, NULL };
	char *out = NULL;
	if (img_run(d, argv, &out, err, errlen))
		return -1;
	json_error_t je;
	json_t *info = json_loads(out, 0, &je);
	free(out);
	json_t *vs = json_object_get(info, "virtual-size");
	json_t *data = json_object_get(json_object_get(info, "format-specific"), "data");
	int rc = -1;
	if (!json_is_integer(vs))
		snprintf(err, errlen, "qemu-img info: no virtual size");
	else if (json_object_get(info, "backing-filename") || json_object_get(info, "full-backing-filename"))
		snprintf(err, errlen, "the image has a backing file: refused");
	else if (json_object_get(data, "data-file"))
		snprintf(err, errlen, "the image has an external data file: refused");
	else {
		*size = json_integer_value(vs);
		rc = 0;
	}
	json_decref(info);
	return rc;
}

static int blank_disk(struct qemu_driver *d, const char *path, const char *size, char *err, size_t errlen)
{
	char *argv[] = { d->img_bin, "create", "-q", "-f", "qcow2", (char *)path, (char *)size, NULL };
	return img_run(d, argv, NULL, err, errlen);
}

int qemu_prepare(struct qemu_driver *d, const struct virt_spec *spec, json_t **out, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX], esc[2 * PATH_MAX], size[64];
	qemu_path(d, spec->uuid, NULL, dir);
	if (spec->vcpus < 1 || spec->vcpus > 255 || spec->memory_mb < 16 || spec->memory_mb > (INT64_C(1) << 22) ||
	    spec->root_gb < 0 || spec->root_gb > 65536 || spec->ephemeral_gb < 0 || spec->ephemeral_gb > 65536 ||
	    spec->swap_mb < 0 || spec->swap_mb > (INT64_C(1) << 26)) {
		snprintf(err, errlen, "flavor out of range for qemu (vcpus, memory, disks)");
		return -1;
	}
	const char *fmt = NULL;
	bool iso = spec->image_format && !strcmp(spec->image_format, "iso");
	if (spec->image_path && !(fmt = qemu_format(spec->image_format))) {
		snprintf(err, errlen, "disk format %s is not supported by the qemu driver",
			 spec->image_format ? spec->image_format : "(none)");
		return -1;
	}
	const char *accel = qemu_accel(d);
	json_t *argv = json_array();
	push(argv, "%s", d->qemu_bin);
	push(argv, "-name");
	push(argv, "guest=%s", spec->uuid);
	push(argv, "-uuid");
	push(argv, "%s", spec->uuid);
	push(argv, "-machine");
	push(argv, "q35");
	push(argv, "-accel");
	push(argv, "%s", accel);
	if (!strcmp(accel, "kvm")) {
		push(argv, "-cpu");
		push(argv, "host");
	}
	push(argv, "-m");
	push(argv, "%" PRId64, spec->memory_mb);
	push(argv, "-smp");
	push(argv, "%d", spec->vcpus);
	push(argv, "-nodefaults");
	push(argv, "-no-user-config");
	push(argv, "-display");
	push(argv, "none");
	push(argv, "-vnc");
	push(argv, "127.0.0.1:0,to=99");
	push(argv, "-device");
	push(argv, "VGA");
	push(argv, "-chardev");
	qemu_path(d, spec->uuid, QEMU_F_CONSOLE, path);
	push(argv, "file,id=serial0,path=%s,append=on", opt_escape(path, esc, sizeof esc));
	push(argv, "-serial");
	push(argv, "chardev:serial0");
	push(argv, "-qmp");
	qemu_qmp_path(d, spec->uuid, path);
	push(argv, "unix:%s,server=on,wait=off", path);
	push(argv, "-pidfile");
	qemu_path(d, spec->uuid, QEMU_F_PID, path);
	push(argv, "%s", path);
	push(argv, "-daemonize");
	push(argv, "-rtc");
	push(argv, "base=utc");
	push(argv, "-smbios");
	push(argv, "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=%s,uuid=%s,"
		   "family=Virtual Machine", spec->uuid, spec->uuid);
	push(argv, "-sandbox");
	/* Not elevateprivileges=deny (it forbids the setsid of -daemonize) nor spawn=deny (fork). */
	push(argv, "on,obsolete=deny,resourcecontrol=deny");

	/* The root disk: an overlay on the cached image, or a blank disk under an ISO. */
	if (spec->image_path) {
		int64_t vsize = 0, want = spec->root_gb * GIB;
		if (image_size(d, spec->image_path, fmt, &vsize, err, errlen))
			goto fail;
		qemu_path(d, spec->uuid, QEMU_F_DISK, path);
		if (iso) {
			push(argv, "-drive");
			push(argv, "file=%s,format=raw,if=none,id=cd0,readonly=on",
			     opt_escape(spec->image_path, esc, sizeof esc));
			push(argv, "-device");
			push(argv, "ide-cd,drive=cd0,bus=ide.0,bootindex=0");
			if (spec->root_gb > 0) {
				snprintf(size, sizeof size, "%" PRId64 "G", spec->root_gb);
				if (blank_disk(d, path, size, err, errlen))
					goto fail;
				push(argv, "-drive");
				push(argv, "file=%s,format=qcow2,if=virtio,discard=unmap", opt_escape(path, esc, sizeof esc));
			}
		} else {
			if (want > 0 && vsize > want) {
				snprintf(err, errlen, "the image's virtual size (%" PRId64 " bytes) is larger than the "
					 "flavor's root disk (%" PRId64 " GiB)", vsize, spec->root_gb);
				goto fail;
			}
			snprintf(size, sizeof size, "%" PRId64, want > vsize ? want : vsize);
			char *img[] = { d->img_bin, "create", "-q", "-f", "qcow2", "-F", (char *)fmt, "-b",
					(char *)spec->image_path, path, size, NULL };
			if (img_run(d, img, NULL, err, errlen))
				goto fail;
			push(argv, "-drive");
			push(argv, "file=%s,format=qcow2,if=virtio,discard=unmap", opt_escape(path, esc, sizeof esc));
		}
	}
	if (spec->ephemeral_gb > 0) {
		qemu_path(d, spec->uuid, "disk.eph0", path);
		snprintf(size, sizeof size, "%" PRId64 "G", spec->ephemeral_gb);
		if (blank_disk(d, path, size, err, errlen))
			goto fail;
		push(argv, "-drive");
		push(argv, "file=%s,format=qcow2,if=virtio,discard=unmap", opt_escape(path, esc, sizeof esc));
	}
	if (spec->swap_mb > 0) {
		qemu_path(d, spec->uuid, "disk.swap", path);
		snprintf(size, sizeof size, "%" PRId64 "M", spec->swap_mb);
		if (blank_disk(d, path, size, err, errlen))
			goto fail;
		push(argv, "-drive");
		push(argv, "file=%s,format=qcow2,if=virtio,discard=unmap", opt_escape(path, esc, sizeof esc));
	}
	if (spec->config_drive) {
		qemu_path(d, spec->uuid, QEMU_F_CONFIG, path);
		if (configdrive_write(spec, path, err, errlen))
			goto fail;
		push(argv, "-drive");
		push(argv, "file=%s,format=raw,if=virtio,readonly=on", opt_escape(path, esc, sizeof esc));
	}

	/* When asked: one NIC on user-mode networking with no route out; the MAC in Nova's fa:16:3e
	 * range. */
	if (spec->user_nic) {
		char hex[7] = "000000";
		for (size_t i = 0, k = 0; spec->uuid[i] && k < 6; i++)
			if (spec->uuid[i] != '-')
				hex[k++] = spec->uuid[i];
		push(argv, "-netdev");
		push(argv, "user,id=net0,restrict=on");
		push(argv, "-device");
		push(argv, "virtio-net-pci,netdev=net0,romfile=,mac=fa:16:3e:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4);
	}

	if (spec->kernel_path) {
		push(argv, "-kernel");
		push(argv, "%s", spec->kernel_path);
		if (spec->ramdisk_path) {
			push(argv, "-initrd");
			push(argv, "%s", spec->ramdisk_path);
		}
		push(argv, "-append");
		push(argv, "console=ttyS0%s%s", spec->kernel_cmdline ? " " : "",
		     spec->kernel_cmdline ? spec->kernel_cmdline : "");
	}
	*out = argv;
	return 0;
fail:
	json_decref(argv);
	return -1;
}

json_t *qemu_state_load(const struct qemu_driver *d, const char *uuid)
{
	char path[PATH_MAX];
	qemu_path(d, uuid, QEMU_F_STATE, path);
	json_error_t je;
	json_t *st = json_load_file(path, 0, &je);
	if (st && !json_is_array(json_object_get(st, "argv"))) {
		json_decref(st);
		return NULL;
	}
	return st;
}

int qemu_state_save(const struct qemu_driver *d, const char *uuid, json_t *state, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	qemu_path(d, uuid, QEMU_F_STATE, path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (json_dump_file(state, tmp, JSON_INDENT(1)) || rename(tmp, path)) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Keeps the serial log bounded: a log past the limit moves to console.log.0 at each launch. */
static void rotate_console(const struct qemu_driver *d, const char *uuid)
{
	char path[PATH_MAX], old[PATH_MAX + 4];
	struct stat st;
	qemu_path(d, uuid, QEMU_F_CONSOLE, path);
	if (stat(path, &st) == 0 && st.st_size > CONSOLE_ROTATE_BYTES) {
		snprintf(old, sizeof old, "%s.0", path);
		rename(path, old);
	}
}

int qemu_launch(struct qemu_driver *d, const char *uuid, int incoming_fd, char *err, size_t errlen)
{
	json_t *st = qemu_state_load(d, uuid);
	if (!st) {
		snprintf(err, errlen, "instance %s has no launch state", uuid);
		return -1;
	}
	json_t *av = json_object_get(st, "argv");
	size_t n = json_array_size(av);
	char **argv = calloc(n + 3, sizeof *argv);
	int rc = -1;
	if (!argv) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!(argv[i] = (char *)json_string_value(json_array_get(av, i)))) {
			snprintf(err, errlen, "instance %s: bad launch state", uuid);
			goto out;
		}
	if (n == 0 || argv[0][0] != '/') {
		snprintf(err, errlen, "instance %s: bad launch state", uuid);
		goto out;
	}
	if (incoming_fd >= 0) {
		argv[n] = "-incoming";
		argv[n + 1] = "fd:3";
	}
	char path[PATH_MAX], dir[PATH_MAX];
	qemu_path(d, uuid, QEMU_F_PID, path);
	unlink(path);
	qemu_qmp_path(d, uuid, path);
	unlink(path);
	rotate_console(d, uuid);
	qemu_path(d, uuid, NULL, dir);
	char *eout = NULL;
	int status = qemu_run(argv, dir, incoming_fd, LAUNCH_TIMEOUT_MS, NULL, &eout, err, errlen);
	if (status > 0) {
		size_t len = eout ? strlen(eout) : 0;
		while (len && (eout[len - 1] == '\n' || eout[len - 1] == '\r'))
			len--;
		snprintf(err, errlen, "qemu failed to start (exit %d): %.*s", status, (int)(len > 400 ? 400 : len),
			 eout ? eout : "");
	}
	free(eout);
	if (status != 0)
		goto out;
	/* The VNC display QEMU found free ("to=99" lets it move on from busy ones). */
	json_t *vnc = NULL;
	char qerr[256];
	if (qmp_call(d, uuid, "query-vnc", NULL, &vnc, qerr, sizeof qerr) == 0) {
		const char *service = json_string_value(json_object_get(vnc, "service"));
		if (service)
			json_object_set_new(st, "vnc_port", json_integer(strtol(service, NULL, 10)));
		json_decref(vnc);
		qemu_state_save(d, uuid, st, qerr, sizeof qerr);
	}
	rc = 0;
out:
	free(argv);
	json_decref(st);
	return rc;
}
