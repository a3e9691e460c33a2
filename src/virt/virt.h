/* virt.h — the virtualisation driver interface a compute agent drives: `fake` (instant, in
 * memory, any number of simulated hosts) and `qemu` (real guests). The agent owns the database
 * side; a driver only knows guests by instance uuid and keeps its own state on disk (qemu) or in
 * memory (fake). Every call is safe from several threads at once. */
#ifndef VIRT_VIRT_H
#define VIRT_VIRT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nova's power_state numbers (OS-EXT-STS:power_state). */
enum virt_power {
	VIRT_NOSTATE = 0,
	VIRT_RUNNING = 1,
	VIRT_PAUSED = 3,
	VIRT_SHUTDOWN = 4,
	VIRT_CRASHED = 6,
	VIRT_SUSPENDED = 7,
};

enum virt_action {
	VIRT_START,           /* power on a stopped guest */
	VIRT_STOP,            /* graceful power-down (ACPI), then hard off after the timeout */
	VIRT_REBOOT_SOFT,     /* graceful reboot; falls back to hard */
	VIRT_REBOOT_HARD,
	VIRT_PAUSE,           /* freeze vCPUs in memory */
	VIRT_UNPAUSE,
	VIRT_SUSPEND,         /* save the guest's memory to disk and stop the process */
	VIRT_RESUME,
};

/* One host a driver presents (the fake driver simulates many; qemu has one). */
struct virt_host_info {
	char hostname[256];
	int vcpus;
	int64_t memory_mb, disk_gb;
	char hypervisor_type[32];      /* "QEMU", "fake" */
	int64_t hypervisor_version;    /* e.g. 7002000 for 7.2.0 */
	char cpu_info[512];            /* JSON text as Nova shows it */
};

/* An instance to create. Strings are borrowed for the call. */
struct virt_spec {
	const char *uuid, *name, *hostname;
	const char *host;              /* which of the driver's hosts (fake) */
	int vcpus;
	int64_t memory_mb, root_gb, ephemeral_gb, swap_mb;
	const char *image_path;        /* the cached image file (virt_cache_get), NULL: no disk */
	const char *image_format;      /* "qcow2", "raw", ... */
	const char *kernel_path, *ramdisk_path;   /* direct kernel boot, or NULL */
	const char *kernel_cmdline;    /* the image's os_command_line, or NULL */
	const unsigned char *user_data;
	size_t user_data_len;
	const char *key_name, *public_key;
	const char *project_id, *user_id, *availability_zone;
	const char *meta_json;         /* the server's metadata as a JSON object text, or NULL */
	const char *admin_pass;        /* or NULL */
	const char *launch_index_json; /* unused for now: NULL */
	int64_t launch_index;
	bool config_drive;             /* attach an OpenStack config drive */
	bool user_nic;                 /* one NIC on QEMU user-mode networking with no route out
					* (tests; servers get NICs from the networking service) */
};

struct virt_driver;

struct virt_ops {
	const char *name;
	/* How many hosts the driver presents, and each one's facts. */
	int (*nhosts)(struct virt_driver *d);
	int (*host_info)(struct virt_driver *d, int idx, struct virt_host_info *out);
	/* Creates and boots the guest: returns once the guest is running (process started). */
	int (*spawn)(struct virt_driver *d, const struct virt_spec *spec, char *err, size_t errlen);
	/* Stops the guest if running and removes everything of it; unknown uuid is not an error. */
	int (*destroy)(struct virt_driver *d, const char *uuid);
	int (*power)(struct virt_driver *d, const char *uuid, enum virt_action a, char *err, size_t errlen);
	/* The guest's power state now (VIRT_NOSTATE when unknown to the driver). */
	enum virt_power (*state)(struct virt_driver *d, const char *uuid);
	/* The last max bytes (0: all) of the serial console log: malloc'd into *out. 0 or -1. */
	int (*console_log)(struct virt_driver *d, const char *uuid, size_t max, char **out, size_t *len);
	/* Where the guest's VNC server listens: 0, or -1 when it has none. */
	int (*vnc)(struct virt_driver *d, const char *uuid, char host[64], int *port);
	/* Calls fn for every guest the driver knows (reconciliation at start). */
	int (*list)(struct virt_driver *d, void (*fn)(void *ctx, const char *uuid, enum virt_power p), void *ctx);
	void (*free)(struct virt_driver *d);
	/* Optional (NULL: the driver cannot): writes a standalone copy of the guest's root disk to
	 * path (createImage), setting *format ("qcow2", "raw"); the guest keeps running. 0 or -1. */
	int (*snapshot)(struct virt_driver *d, const char *uuid, const char *path, char format[16],
			char *err, size_t errlen);
};

struct virt_driver {
	const struct virt_ops *ops;
};

/* Drivers. NULL with err on failure. */
struct virt_driver *virt_fake_new(int nhosts, const char *host_prefix, char *err, size_t errlen);
/* state_dir: per-instance directories (disk overlay, config drive, logs, QMP socket, pidfile). */
struct virt_driver *virt_qemu_new(const char *state_dir, char *err, size_t errlen);
/* How long VIRT_STOP and VIRT_REBOOT_SOFT wait for the guest to power off after the ACPI
 * request before forcing it (seconds, default 10). A no-op on other drivers. */
void virt_qemu_set_stop_timeout(struct virt_driver *d, int seconds);

/* The per-host image cache: the path of image_id's data under cache_dir, fetched once (by
 * fetch, writing the bytes to fd) even when several spawns ask at the same time. 0 and path,
 * or -1 with err. */
typedef int (*virt_fetch_fn)(void *ctx, const char *image_id, int fd, char *err, size_t errlen);
int virt_cache_get(const char *cache_dir, const char *image_id, virt_fetch_fn fetch, void *ctx,
		   char *path, size_t pathlen, char *err, size_t errlen);

#endif
