/* qcow2.h — the virtual size of an image from its disk-format header, read while the data
 * streams past: qcow2 (big-endian header, size at offset 24), and vhd, vhdx, vmdk, vdi, qed the
 * way Glance's format inspector reads them; raw is the data size. Every input is untrusted:
 * the parsers never read outside what they were given, and a probe holds at most ~130 KiB. */
#ifndef IMAGE_QCOW2_H
#define IMAGE_QCOW2_H
#include <stddef.h>
#include <stdint.h>

/* Parses a qcow2 header (magic "QFI\xfb", version 2 or 3) from the first len bytes of a file:
 * 0 and *size (the virtual size in bytes), or -1 when buf does not hold one. */
int img_qcow2_virtual_size(const unsigned char *buf, size_t len, uint64_t *size);

struct img_probe;
/* A probe for data said to be disk_format inside container_format, or NULL when Glance would
 * not inspect it (only "bare" containers of raw, qcow2, vhd, vhdx, vmdk, vdi, qed are), in
 * which case the virtual size stays unknown. Free with img_probe_free(). */
struct img_probe *img_probe_new(const char *disk_format, const char *container_format);
/* Feeds the next len bytes of the data (in order, any chunking). */
void img_probe_feed(struct img_probe *p, const void *data, size_t len);
/* The virtual size once all data was fed, or -1 when unknown (not the declared format,
 * a malformed or unsupported header). p may be NULL (-1). */
int64_t img_probe_virtual_size(const struct img_probe *p);
/* Accepts NULL. */
void img_probe_free(struct img_probe *p);

#endif
