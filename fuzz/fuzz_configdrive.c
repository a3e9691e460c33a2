/* fuzz_configdrive.c — libFuzzer target for the config drive (src/virt/configdrive.c), whose
 * inputs come from API users: server name, hostname, metadata JSON, key pair, admin password
 * and user data. The input holds those fields separated by NUL bytes (user data last, taken
 * whole). A drive that builds must carry the name and the user data back unchanged; one that
 * does not must say why. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/virt/isoread.h"
#include "virt/configdrive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = 0;
	const char *field[6] = { 0 };
	size_t off = 0;
	for (int i = 0; i < 6 && off <= size; i++) {
		field[i] = copy + off;
		off += strlen(copy + off) + 1;
	}
	const unsigned char *ud = off <= size ? (const unsigned char *)copy + off : NULL;
	size_t udlen = off <= size ? size - off : 0;
	struct virt_spec s = {
		.uuid = "7d3f4c2a-1e9b-4a8d-b6c5-2f0e1d9a8b7c", .name = field[0], .hostname = field[1],
		.meta_json = field[2], .key_name = field[3], .public_key = field[4], .admin_pass = field[5],
		.user_data = ud, .user_data_len = udlen, .project_id = "p", .availability_zone = "nova",
	};
	unsigned char *img;
	size_t len;
	char err[256] = "";
	if (configdrive_build(&s, &img, &len, err, sizeof err)) {
		if (!err[0])
			abort();
		free(copy);
		return 0;
	}
	const unsigned char *got;
	size_t glen;
	if (isoread_file(img, len, false, "openstack/latest/meta_data.json", &got, &glen))
		abort();
	json_error_t je;
	json_t *md = json_loadb((const char *)got, glen, 0, &je);
	const char *name = json_string_value(json_object_get(md, "name"));
	if (!md || (s.name && (!name || strcmp(name, s.name))))
		abort();
	json_decref(md);
	if (ud) {
		if (isoread_file(img, len, true, "openstack/2012-08-10/user_data", &got, &glen) || glen != udlen ||
		    memcmp(got, ud, udlen))
			abort();
	}
	free(img);
	free(copy);
	return 0;
}
