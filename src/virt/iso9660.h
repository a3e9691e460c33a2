/* iso9660.h — a small in-memory ISO 9660 image writer for config drives: files in directories,
 * Rock Ridge names and modes (what Linux isofs and cloud-init read) plus a Joliet tree (what
 * Windows and cloudbase-init read), one volume label. */
#ifndef VIRT_ISO9660_H
#define VIRT_ISO9660_H
#include <stddef.h>
#include <stdint.h>

#define ISO9660_SECTOR 2048
#define ISO9660_NAME_MAX 64              /* bytes of one path component (the Joliet limit) */
#define ISO9660_DEPTH_MAX 7              /* directory levels below the root */
#define ISO9660_FILES_MAX 4096           /* files and directories */
#define ISO9660_DATA_MAX (64u << 20)     /* bytes of file data (Nova's config drive size) */

struct iso9660;

/* A new empty image labelled volume_id (1-32 characters of [A-Za-z0-9_-]); NULL when the label
 * is invalid or memory is short. */
struct iso9660 *iso9660_new(const char *volume_id);
/* Adds a file at path ("a/b/name", components of [A-Za-z0-9._+~=@,-], not "." or ".."),
 * creating the directories on the way; data is copied. 0, or -1 for a bad or duplicate path,
 * a limit above, or no memory. */
int iso9660_add_file(struct iso9660 *iso, const char *path, const void *data, size_t len);
/* Lays the image out: a malloc'd buffer of *len bytes (a multiple of ISO9660_SECTOR) into
 * *out, with every timestamp at mtime (seconds since the epoch). 0 or -1 (no memory). */
int iso9660_render(struct iso9660 *iso, int64_t mtime, unsigned char **out, size_t *len);
void iso9660_free(struct iso9660 *iso);

#endif
