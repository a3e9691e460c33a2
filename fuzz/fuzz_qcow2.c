/* fuzz_qcow2.c — libFuzzer target for the disk-format probe (src/image/qcow2.c), which parses
 * the first bytes of every uploaded image. The first input byte picks the declared format and
 * the chunk size the rest is fed in; a probe must give the same answer however the data is
 * chunked, and the qcow2 parser must agree with the probe. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const formats[] = { "raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi", "qed", "iso" };

static int64_t probe(const char *fmt, const uint8_t *data, size_t size, size_t chunk)
{
	struct img_probe *p = img_probe_new(fmt, "bare");
	for (size_t off = 0; off < size; off += chunk)
		img_probe_feed(p, data + off, size - off < chunk ? size - off : chunk);
	int64_t v = img_probe_virtual_size(p);
	img_probe_free(p);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1u << 20))
		return 0;
	uint8_t sel = data[0];
	data++;
	size--;
	const char *fmt = formats[sel & 7];
	size_t chunk = (size_t)((sel >> 3) + 1) * 37;
	int64_t a = probe(fmt, data, size, chunk);
	int64_t b = probe(fmt, data, size, size ? size : 1);
	if (a != b)
		abort();                          /* chunking changed the answer */
	if (a < -1)
		abort();
	uint64_t q;
	int rc = img_qcow2_virtual_size(data, size, &q);
	if (!strcmp(fmt, "qcow2") && size >= 512 && a >= 0 && (rc || (int64_t)q != a))
		abort();                          /* the probe and the parser disagree */
	return 0;
}
