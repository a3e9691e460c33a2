/* qemu.h — internals of the qemu driver shared by its files: the driver object, instance paths,
 * child processes (qemu_proc.c), the QMP client (qemu_qmp.c), the saved launch state
 * (qemu_state.c) and power actions (qemu_power.c). Not a public header. */
#ifndef VIRT_QEMU_H
#define VIRT_QEMU_H
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "virt/virt.h"

#define QEMU_STATE_DIR_MAX 60            /* beyond this, <dir>/<uuid>/qmp.sock may not fit sun_path */
#define QEMU_STOP_TIMEOUT_S 10
#define QEMU_QMP_TIMEOUT_MS 5000

/* Files in an instance directory. */
#define QEMU_F_STATE "state.json"        /* the launch argv and the VNC port */
#define QEMU_F_PID "qemu.pid"
#define QEMU_F_QMP "qmp.sock"
#define QEMU_F_CONSOLE "console.log"
#define QEMU_F_DISK "disk.qcow2"
#define QEMU_F_CONFIG "config.iso"
#define QEMU_F_SAVE "memory.save"        /* a suspended guest's memory */
#define QEMU_F_LOCK "lock"

struct qemu_driver {
	struct virt_driver base;
	char state_dir[PATH_MAX];
	char sock_dir[108];              /* QMP sockets when state_dir is too long for them, else "" */
	char qemu_bin[PATH_MAX], img_bin[PATH_MAX];
	int stop_timeout_s;
	int64_t version;                 /* 7002022 for 7.2.22 */
	pthread_mutex_t mu;              /* guards accel */
	const char *accel;               /* "kvm" or "tcg" once probed, else NULL */
};

/* state_dir/<uuid>[/file] into buf (PATH_MAX). */
void qemu_path(const struct qemu_driver *d, const char *uuid, const char *file, char *buf);
/* The guest's QMP socket (state_dir/<uuid>/qmp.sock, or sock_dir/<uuid>.sock for a long
 * state_dir) into buf (PATH_MAX). */
void qemu_qmp_path(const struct qemu_driver *d, const char *uuid, char *buf);
/* Takes the instance's lock (an flock on its lock file); the fd to close, or -1 when the
 * instance directory does not exist. */
int qemu_lock(const struct qemu_driver *d, const char *uuid);

/* ---- child processes (qemu_proc.c) ---- */

/* The absolute path of an executable found on PATH into out (PATH_MAX); 0 or -1. */
int qemu_which(const char *name, char *out);
/* Runs argv[0] (an absolute path) with a clean fd set (keep_fd >= 0 becomes fd 3), stdin
 * /dev/null, in cwd (or NULL); waits at most timeout_ms. stdout (when out) and stderr (when
 * errout) are captured, NUL-terminated and malloc'd. Returns the exit status, or -1 with err
 * when it could not run or timed out (then it is killed). */
int qemu_run(char *const argv[], const char *cwd, int keep_fd, int timeout_ms, char **out, char **errout,
	     char *err, size_t errlen);
/* The guest's QEMU process: 1 with a pidfd (or -1 where pidfd_open is missing) and the pid
 * when the pid in its pidfile is alive and is this instance's QEMU; 0 when not running. */
int qemu_proc(const struct qemu_driver *d, const char *uuid, int *pidfd, pid_t *pid);
/* Waits up to timeout_ms for that process to exit: true when it has. */
bool qemu_proc_wait(int pidfd, pid_t pid, int timeout_ms);
/* Sends sig to that process. */
void qemu_proc_kill(int pidfd, pid_t pid, int sig);
/* "kvm" when KVM really runs a probe guest here, else "tcg" (probed once, logged once). */
const char *qemu_accel(struct qemu_driver *d);

/* ---- QMP (qemu_qmp.c) ---- */

struct qmp;
/* Connects to the socket, reads the greeting and negotiates capabilities. 0 or -1 with err. */
int qmp_open(const char *sock, int timeout_ms, struct qmp **out, char *err, size_t errlen);
/* Executes cmd with args (a JSON object, stolen; NULL: none), passing fd along (SCM_RIGHTS)
 * when fd >= 0. 0 with the "return" value in *ret (when ret; json_decref it), or -1 with the
 * QMP error description or an I/O error in err. Events are skipped. */
int qmp_exec(struct qmp *q, const char *cmd, json_t *args, int fd, json_t **ret, char *err, size_t errlen);
void qmp_close(struct qmp *q);
/* Opens the instance's socket, executes one command, closes. */
int qmp_call(const struct qemu_driver *d, const char *uuid, const char *cmd, json_t *args, json_t **ret,
	     char *err, size_t errlen);
/* query-status as a string ("running", "paused", ...) into buf; 0 or -1. */
int qmp_status(const struct qemu_driver *d, const char *uuid, char *buf, size_t len, char *err, size_t errlen);

/* ---- launch state (qemu_state.c) ---- */

/* Prepares disks and the config drive and returns the argv to launch spec with (a JSON
 * array of strings). 0 or -1 with err; files it made stay for the caller to remove. */
int qemu_prepare(struct qemu_driver *d, const struct virt_spec *spec, json_t **argv, char *err, size_t errlen);
/* Reads / writes state.json ({"argv": [...], "vnc_port": N}). */
json_t *qemu_state_load(const struct qemu_driver *d, const char *uuid);
int qemu_state_save(const struct qemu_driver *d, const char *uuid, json_t *state, char *err, size_t errlen);
/* Starts the guest's QEMU from its saved argv (plus "-incoming fd:3" reading incoming_fd when
 * >= 0) and records its VNC port. Returns when QEMU has daemonized. 0 or -1 with err. */
int qemu_launch(struct qemu_driver *d, const char *uuid, int incoming_fd, char *err, size_t errlen);

/* ---- power (qemu_power.c) ---- */

int qemu_power(struct qemu_driver *d, const char *uuid, enum virt_action a, char *err, size_t errlen);
/* Ends the guest's process: QMP quit, then SIGKILL after a grace period. 0 or -1. */
int qemu_kill(struct qemu_driver *d, const char *uuid);
enum virt_power qemu_state(struct qemu_driver *d, const char *uuid);

/* ---- snapshots (qemu_snapshot.c) ---- */

/* virt_ops.snapshot: a standalone qcow2 of the root disk at path, the guest paused meanwhile. */
int qemu_snapshot(struct virt_driver *vd, const char *uuid, const char *path, char format[16],
		  char *err, size_t errlen);

#endif
