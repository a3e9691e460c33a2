/* fuzz_iso9660.c — libFuzzer target for the config drive's ISO 9660 writer (src/virt/iso9660.c).
 * The input is a list of files, each [path length: 1 byte][path][data length: 2 bytes LE][data];
 * whatever the writer accepts must come back, byte for byte and under the same name, from both
 * the Rock Ridge and the Joliet tree of the image, read by the independent reader the unit tests
 * use (tests/unit/virt/isoread.h), and the image must pass its structural checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/virt/isoread.h"
#include "virt/iso9660.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct {
		char path[256];
		const uint8_t *data;
		size_t len;
	} files[FILES_MAX];
	int nfiles = 0;
	struct iso9660 *iso = iso9660_new("config-2");
	if (!iso)
		abort();
	size_t off = 0;
	while (off < size && nfiles < FILES_MAX) {
		size_t plen = data[off++];
		if (off + plen + 2 > size)
			break;
		char path[256];
		memcpy(path, data + off, plen);
		path[plen] = 0;
		off += plen;
		size_t dlen = (size_t)data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (dlen > size - off)
			dlen = size - off;
		if (strlen(path) == plen && iso9660_add_file(iso, path, data + off, dlen) == 0) {
			memcpy(files[nfiles].path, path, plen + 1);
			files[nfiles].data = data + off;
			files[nfiles].len = dlen;
			nfiles++;
		}
		off += dlen;
	}
	unsigned char *img;
	size_t len;
	if (iso9660_render(iso, 1700000000, &img, &len))
		abort();
	char err[256];
	for (int joliet = 0; joliet < 2; joliet++) {
		if (isoread_check(img, len, joliet, err, sizeof err) != nfiles)
			abort();
		for (int i = 0; i < nfiles; i++) {
			const unsigned char *got;
			size_t glen;
			if (isoread_file(img, len, joliet, files[i].path, &got, &glen) || glen != files[i].len ||
			    memcmp(got, files[i].data, glen))
				abort();
		}
	}
	free(img);
	iso9660_free(iso);
	return 0;
}
