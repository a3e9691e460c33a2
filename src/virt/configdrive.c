/* configdrive.c — the files of an OpenStack config drive, following what Nova's metadata code
 * puts on one (nova/api/metadata/base.py, metadata_for_config_drive): for every OpenStack
 * metadata version and "latest", meta_data.json with the keys that version has, user_data when
 * given, vendor_data.json from Havana on, network_data.json from Liberty on, vendor_data2.json
 * from Newton on; written with the ISO 9660 writer (iso9660.c). */
#include "virt/configdrive.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "virt/iso9660.h"

/* Nova's OPENSTACK_VERSIONS, oldest first; "latest" is the newest. */
static const char *const versions[] = {
	"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
	"2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14",
};
#define NVERSIONS (int)(sizeof versions / sizeof versions[0])
enum { V_GRIZZLY = 1, V_HAVANA = 2, V_LIBERTY = 3, V_NEWTON_ONE = 4, V_NEWTON_TWO = 5, V_VICTORIA = 8 };

static int version_index(const char *v)
{
	if (!strcmp(v, "latest"))
		return NVERSIONS - 1;
	for (int i = 0; i < NVERSIONS; i++)
		if (!strcmp(v, versions[i]))
			return i;
	return -1;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

int configdrive_meta_data(const struct virt_spec *spec, const char *version, char **out, char *err, size_t errlen)
{
	int vi = version_index(version);
	if (vi < 0) {
		snprintf(err, errlen, "unknown metadata version %s", version);
		return -1;
	}
	json_t *meta = NULL;
	if (spec->meta_json && *spec->meta_json) {
		json_error_t je;
		meta = json_loads(spec->meta_json, JSON_REJECT_DUPLICATES, &je);
		if (!meta || !json_is_object(meta)) {
			json_decref(meta);
			snprintf(err, errlen, "server metadata is not a JSON object");
			return -1;
		}
	}
	json_t *md = json_object();
	size_t expect = 5 + (meta && json_object_size(meta)) + (spec->admin_pass != NULL) +
			2 * (spec->key_name && spec->public_key) + (vi >= V_GRIZZLY) + (vi >= V_LIBERTY) +
			(vi >= V_NEWTON_ONE) + (vi >= V_VICTORIA);
	json_object_set_new(md, "uuid", str_or_null(spec->uuid));
	if (meta && json_object_size(meta))
		json_object_set(md, "meta", meta);
	json_decref(meta);
	if (spec->admin_pass)
		json_object_set_new(md, "admin_pass", json_string(spec->admin_pass));
	if (spec->key_name && spec->public_key) {
		json_t *pk = json_object();
		json_object_set_new(pk, spec->key_name, json_string(spec->public_key));
		json_object_set_new(md, "public_keys", pk);
		json_t *key = json_pack("{s:s, s:s, s:s}", "name", spec->key_name, "type", "ssh",
					"data", spec->public_key);
		json_object_set_new(md, "keys", json_pack("[o]", key));
	}
	const char *host = spec->hostname ? spec->hostname : spec->name;
	if (host) {
		char fqdn[512];
		snprintf(fqdn, sizeof fqdn, "%s.%s", host, CONFIGDRIVE_DHCP_DOMAIN);
		json_object_set_new(md, "hostname", json_string(fqdn));
	} else {
		json_object_set_new(md, "hostname", json_null());
	}
	json_object_set_new(md, "name", str_or_null(spec->name));
	json_object_set_new(md, "launch_index", json_integer(spec->launch_index));
	json_object_set_new(md, "availability_zone", str_or_null(spec->availability_zone));
	if (vi >= V_GRIZZLY) {
		unsigned char seed[512];
		char b64[4 * (sizeof seed / 3 + 1) + 1];
		util_random(seed, sizeof seed);
		b64_encode(seed, sizeof seed, b64);
		json_object_set_new(md, "random_seed", json_string(b64));
	}
	if (vi >= V_LIBERTY)
		json_object_set_new(md, "project_id", str_or_null(spec->project_id));
	if (vi >= V_NEWTON_ONE)
		json_object_set_new(md, "devices", json_array());
	if (vi >= V_VICTORIA)
		json_object_set_new(md, "dedicated_cpus", json_array());
	/* Strings that are not UTF-8 make jansson drop the value: fail instead of losing it. */
	*out = json_dumps(md, JSON_PRESERVE_ORDER);
	bool complete = json_object_size(md) == expect;
	json_decref(md);
	if (!*out || !complete) {
		free(*out);
		*out = NULL;
		snprintf(err, errlen, "cannot encode the instance metadata (not UTF-8?)");
		return -1;
	}
	return 0;
}

static int add(struct iso9660 *iso, const char *version, const char *name, const void *data, size_t len,
	       char *err, size_t errlen)
{
	char path[128];
	snprintf(path, sizeof path, "openstack/%s/%s", version, name);
	if (iso9660_add_file(iso, path, data, len)) {
		snprintf(err, errlen, "config drive: cannot add %s (too large?)", path);
		return -1;
	}
	return 0;
}

int configdrive_build(const struct virt_spec *spec, unsigned char **out, size_t *len, char *err, size_t errlen)
{
	static const char nd[] = "{\"links\": [], \"networks\": [], \"services\": []}";
	static const char vd2[] = "{\"static\": {}}";
	struct iso9660 *iso = iso9660_new(CONFIGDRIVE_LABEL);
	if (!iso) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = -1;
	for (int i = 0; i <= NVERSIONS; i++) {
		const char *v = i < NVERSIONS ? versions[i] : "latest";
		int vi = i < NVERSIONS ? i : NVERSIONS - 1;
		char *md;
		if (configdrive_meta_data(spec, v, &md, err, errlen))
			goto out;
		int r = add(iso, v, "meta_data.json", md, strlen(md), err, errlen);
		free(md);
		if (r)
			goto out;
		if (spec->user_data && add(iso, v, "user_data", spec->user_data, spec->user_data_len, err, errlen))
			goto out;
		if (vi >= V_HAVANA && add(iso, v, "vendor_data.json", "{}", 2, err, errlen))
			goto out;
		if (vi >= V_LIBERTY && add(iso, v, "network_data.json", nd, sizeof nd - 1, err, errlen))
			goto out;
		if (vi >= V_NEWTON_TWO && add(iso, v, "vendor_data2.json", vd2, sizeof vd2 - 1, err, errlen))
			goto out;
	}
	if (iso9660_render(iso, (int64_t)time(NULL), out, len)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	iso9660_free(iso);
	return rc;
}

int configdrive_write(const struct virt_spec *spec, const char *path, char *err, size_t errlen)
{
	unsigned char *img;
	size_t len;
	if (configdrive_build(spec, &img, &len, err, errlen))
		return -1;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = -1;
	if (fd < 0) {
		snprintf(err, errlen, "config drive %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (util_write_all(fd, img, len)) {
		snprintf(err, errlen, "config drive %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) || rename(tmp, path)) {
		snprintf(err, errlen, "config drive %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(img);
	return rc;
}
