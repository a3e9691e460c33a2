/* seed.c — the images a new cloud starts with: the tiny test guest (kernel, ramdisk and disk
 * built from Debian packages by tests/images/build-tiny.sh) registered once as public images,
 * so a newcomer can boot a server with the first command they try. */
#include "image/img.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool readable(const char *dir, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	return access(path, R_OK) == 0;
}

/* The one-line kernel command line the builder wrote, without its newline. */
static int read_cmdline(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(out, (int)len, f))
		out[0] = 0;
	fclose(f);
	out[strcspn(out, "\r\n")] = 0;
	return 0;
}

static int add(struct image_svc *svc, const char *owner, const char *name, const char *fmt,
	       const json_t *props, const char *path, char id[37], char *err, size_t errlen)
{
	const char *container = !strcmp(fmt, "aki") || !strcmp(fmt, "ari") ? fmt : "bare";
	if (image_create_queued(svc, owner, name, fmt, container, "public", props, id, err, errlen))
		return -1;
	if (image_upload_file(svc, id, path, err, errlen)) {
		char e2[200];
		image_upload_file(svc, id, NULL, e2, sizeof e2);   /* drop the queued image */
		return -1;
	}
	return 0;
}

int image_seed_tiny(struct image_svc *svc, const char *dir, const char *owner, char *err, size_t errlen)
{
	char kernel[4200], ramdisk[4200], disk[4200], cmdfile[4200];
	if (!dir || !*dir || !readable(dir, "tiny-vmlinuz", kernel, sizeof kernel) ||
	    !readable(dir, "tiny-initrd", ramdisk, sizeof ramdisk) ||
	    !readable(dir, "tiny.qcow2", disk, sizeof disk) ||
	    !readable(dir, "tiny.cmdline", cmdfile, sizeof cmdfile))
		return 0;                                          /* nothing to seed */
	struct db_conn *c = db_get(svc->db);
	struct db_rows *rows;
	int rc = db_query(c, &rows, "SELECT 1 FROM img_images WHERE name = 'tiny'");
	bool have = rc >= 0 && db_rows_count(rows) > 0;
	if (rc >= 0)
		db_rows_free(rows);
	else
		snprintf(err, errlen, "image database error: %s", db_errmsg(c));
	db_put(c);
	if (rc < 0)
		return -1;
	if (have)
		return 0;                                          /* seeded before (or made by hand) */
	char cmdline[1024];
	if (read_cmdline(cmdfile, cmdline, sizeof cmdline)) {
		snprintf(err, errlen, "cannot read %s: %s", cmdfile, strerror(errno));
		return -1;
	}
	char kid[37], rid[37], did[37];
	if (add(svc, owner, "tiny-kernel", "aki", NULL, kernel, kid, err, errlen) ||
	    add(svc, owner, "tiny-ramdisk", "ari", NULL, ramdisk, rid, err, errlen))
		return -1;
	json_t *props = json_pack("{s:s,s:s,s:s}", "kernel_id", kid, "ramdisk_id", rid,
				  "os_command_line", cmdline);
	rc = add(svc, owner, "tiny", "qcow2", props, disk, did, err, errlen);
	json_decref(props);
	if (!rc)
		log_info("registered the tiny test image %s (kernel %s, ramdisk %s)", did, kid, rid);
	return rc;
}
