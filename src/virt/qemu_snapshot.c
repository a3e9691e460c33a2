/* qemu_snapshot.c — createImage for the qemu driver: a standalone qcow2 copy of the guest's root
 * disk (the overlay flattened with its base image), taken with the guest's vCPUs paused so the
 * copy is crash-consistent, then the guest goes on running. */
#include "virt/qemu.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAPSHOT_TIMEOUT_MS (30 * 60 * 1000)

int qemu_snapshot(struct virt_driver *vd, const char *uuid, const char *path, char format[16],
		  char *err, size_t errlen)
{
	struct qemu_driver *d = (struct qemu_driver *)vd;
	char disk[PATH_MAX];
	qemu_path(d, uuid, QEMU_F_DISK, disk);
	int lfd = qemu_lock(d, uuid);
	if (lfd < 0) {
		snprintf(err, errlen, "instance %s is not on this host", uuid);
		return -1;
	}
	if (access(disk, R_OK)) {
		close(lfd);
		snprintf(err, errlen, "instance %s has no root disk to snapshot", uuid);
		return -1;
	}
	/* Pause a running guest (its writes stop); a stopped or paused one stays as it is. */
	char status[32] = "";
	bool paused_here = false;
	if (qemu_state(d, uuid) == VIRT_RUNNING && qmp_status(d, uuid, status, sizeof status, err, errlen) == 0 &&
	    !strcmp(status, "running")) {
		if (qmp_call(d, uuid, "stop", NULL, NULL, err, errlen)) {
			close(lfd);
			return -1;
		}
		paused_here = true;
	}
	/* -U: QEMU holds the image's lock while it runs; the guest is paused, so reading is safe. */
	char *argv[] = { d->img_bin, "convert", "-U", "-O", "qcow2", disk, (char *)path, NULL };
	char *errout = NULL;
	int rc = qemu_run(argv, NULL, -1, SNAPSHOT_TIMEOUT_MS, NULL, &errout, err, errlen);
	if (rc > 0)
		snprintf(err, errlen, "qemu-img convert failed: %s", errout ? errout : "");
	free(errout);
	char e2[200];
	if (paused_here && qmp_call(d, uuid, "cont", NULL, NULL, e2, sizeof e2))
		snprintf(err, errlen, "the guest could not be resumed after the snapshot: %s", e2), rc = -1;
	close(lfd);
	if (rc) {
		unlink(path);
		return -1;
	}
	snprintf(format, 16, "qcow2");
	return 0;
}
