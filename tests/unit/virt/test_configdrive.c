/* test_configdrive.c — the OpenStack config drive (src/virt/configdrive.c): label, the
 * openstack/<version>/ layout Nova writes (which files from which version), meta_data.json keys
 * per version, user data bytes, and the input it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isoread.h"
#include "virt/configdrive.h"

static const unsigned char user_data[] = "#cloud-config\n\0binary\xff bytes";

static struct virt_spec spec(void)
{
	return (struct virt_spec){
		.uuid = "4f7a3c1e-2b9d-4e61-8a35-0c6d2e9f1b77", .name = "web 1", .hostname = "web-1",
		.user_data = user_data, .user_data_len = sizeof user_data - 1, .key_name = "mykey",
		.public_key = "ssh-ed25519 AAAAC3 me@host", .project_id = "6a1f0c0e4d8b4b3c9f2e7d1a5b6c8e90",
		.availability_zone = "nova", .meta_json = "{\"role\": \"db\", \"tier\": \"2\"}",
		.admin_pass = "s3cret", .launch_index = 2, .config_drive = true,
	};
}

static json_t *file_json(const unsigned char *img, size_t len, const char *path)
{
	const unsigned char *d;
	size_t n;
	if (isoread_file(img, len, false, path, &d, &n))
		return NULL;
	json_error_t je;
	json_t *j = json_loadb((const char *)d, n, 0, &je);
	assert_non_null(j);
	return j;
}

static bool has_file(const unsigned char *img, size_t len, const char *path)
{
	const unsigned char *d;
	size_t n;
	int a = isoread_file(img, len, false, path, &d, &n), b = isoread_file(img, len, true, path, &d, &n);
	assert_int_equal(a, b);                   /* the two trees agree */
	return a == 0;
}

static void test_layout(void **state)
{
	struct virt_spec s = spec();
	unsigned char *img;
	size_t len;
	char err[256];
	assert_int_equal(configdrive_build(&s, &img, &len, err, sizeof err), 0);
	struct isoread_vol v;
	assert_int_equal(isoread_volume(img, len, false, &v), 0);
	assert_string_equal(v.label, "config-2");
	assert_true(isoread_check(img, len, false, err, sizeof err) > 0);
	assert_true(isoread_check(img, len, true, err, sizeof err) > 0);

	static const struct {
		const char *version;
		bool vendor, network, vendor2;
	} want[] = {
		{ "2012-08-10", false, false, false }, { "2013-04-04", false, false, false },
		{ "2013-10-17", true, false, false },  { "2015-10-15", true, true, false },
		{ "2016-06-30", true, true, false },   { "2016-10-06", true, true, true },
		{ "2017-02-22", true, true, true },    { "2018-08-27", true, true, true },
		{ "2020-10-14", true, true, true },    { "latest", true, true, true },
	};
	char path[128];
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const char *ver = want[i].version;
		snprintf(path, sizeof path, "openstack/%s/meta_data.json", ver);
		assert_true(has_file(img, len, path));
		snprintf(path, sizeof path, "openstack/%s/user_data", ver);
		const unsigned char *d;
		size_t n;
		assert_int_equal(isoread_file(img, len, false, path, &d, &n), 0);
		assert_int_equal(n, sizeof user_data - 1);
		assert_memory_equal(d, user_data, n);
		snprintf(path, sizeof path, "openstack/%s/vendor_data.json", ver);
		assert_int_equal(has_file(img, len, path), want[i].vendor);
		snprintf(path, sizeof path, "openstack/%s/network_data.json", ver);
		assert_int_equal(has_file(img, len, path), want[i].network);
		snprintf(path, sizeof path, "openstack/%s/vendor_data2.json", ver);
		assert_int_equal(has_file(img, len, path), want[i].vendor2);
	}
	json_t *nd = file_json(img, len, "openstack/latest/network_data.json");
	assert_int_equal(json_array_size(json_object_get(nd, "links")), 0);
	assert_true(json_is_array(json_object_get(nd, "networks")));
	assert_true(json_is_array(json_object_get(nd, "services")));
	json_decref(nd);
	json_t *vd = file_json(img, len, "openstack/latest/vendor_data.json");
	assert_int_equal(json_object_size(vd), 0);
	json_decref(vd);
	free(img);
}

static void test_meta_data(void **state)
{
	struct virt_spec s = spec();
	unsigned char *img;
	size_t len;
	char err[256];
	assert_int_equal(configdrive_build(&s, &img, &len, err, sizeof err), 0);
	json_t *md = file_json(img, len, "openstack/latest/meta_data.json");
	assert_string_equal(json_string_value(json_object_get(md, "uuid")), s.uuid);
	assert_string_equal(json_string_value(json_object_get(md, "name")), "web 1");
	assert_string_equal(json_string_value(json_object_get(md, "hostname")), "web-1.novalocal");
	assert_string_equal(json_string_value(json_object_get(md, "availability_zone")), "nova");
	assert_string_equal(json_string_value(json_object_get(md, "project_id")), s.project_id);
	assert_string_equal(json_string_value(json_object_get(md, "admin_pass")), "s3cret");
	assert_int_equal(json_integer_value(json_object_get(md, "launch_index")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(md, "meta"), "role")), "db");
	assert_string_equal(json_string_value(json_object_get(json_object_get(md, "public_keys"), "mykey")),
			    s.public_key);
	json_t *key = json_array_get(json_object_get(md, "keys"), 0);
	assert_string_equal(json_string_value(json_object_get(key, "name")), "mykey");
	assert_string_equal(json_string_value(json_object_get(key, "type")), "ssh");
	assert_string_equal(json_string_value(json_object_get(key, "data")), s.public_key);
	const char *seed = json_string_value(json_object_get(md, "random_seed"));
	assert_non_null(seed);
	assert_int_equal(strlen(seed), 684);      /* 512 bytes in base64 */
	assert_true(json_is_array(json_object_get(md, "devices")));
	assert_true(json_is_array(json_object_get(md, "dedicated_cpus")));
	/* Nova's key order: uuid first, then meta. */
	const char *first = json_object_iter_key(json_object_iter(md));
	assert_string_equal(first, "uuid");
	json_decref(md);

	/* The oldest version has neither random_seed nor project_id nor devices. */
	md = file_json(img, len, "openstack/2012-08-10/meta_data.json");
	assert_null(json_object_get(md, "random_seed"));
	assert_null(json_object_get(md, "project_id"));
	assert_null(json_object_get(md, "devices"));
	assert_string_equal(json_string_value(json_object_get(md, "uuid")), s.uuid);
	json_decref(md);
	md = file_json(img, len, "openstack/2018-08-27/meta_data.json");
	assert_non_null(json_object_get(md, "devices"));
	assert_null(json_object_get(md, "dedicated_cpus"));
	json_decref(md);
	free(img);
}

static void test_minimal(void **state)
{
	struct virt_spec s = { .uuid = "4f7a3c1e-2b9d-4e61-8a35-0c6d2e9f1b77", .name = "m" };
	unsigned char *img;
	size_t len;
	char err[256];
	assert_int_equal(configdrive_build(&s, &img, &len, err, sizeof err), 0);
	assert_false(has_file(img, len, "openstack/latest/user_data"));
	json_t *md = file_json(img, len, "openstack/latest/meta_data.json");
	assert_null(json_object_get(md, "meta"));
	assert_null(json_object_get(md, "public_keys"));
	assert_null(json_object_get(md, "keys"));
	assert_null(json_object_get(md, "admin_pass"));
	assert_true(json_is_null(json_object_get(md, "availability_zone")));
	assert_string_equal(json_string_value(json_object_get(md, "hostname")), "m.novalocal");
	json_decref(md);
	free(img);

	/* Empty metadata gives no "meta" key, like Nova. */
	s.meta_json = "{}";
	assert_int_equal(configdrive_build(&s, &img, &len, err, sizeof err), 0);
	md = file_json(img, len, "openstack/latest/meta_data.json");
	assert_null(json_object_get(md, "meta"));
	json_decref(md);
	free(img);
}

static void test_refused(void **state)
{
	struct virt_spec s = spec();
	unsigned char *img;
	size_t len;
	char err[256];
	s.meta_json = "[1, 2]";
	assert_int_equal(configdrive_build(&s, &img, &len, err, sizeof err), -1);
	s.meta_json = "{\"a\": ";
	assert_int_equal(configdrive_build(&s, &img, &len, err, sizeof err), -1);
	s = spec();
	s.name = "bad \xff utf-8";
	assert_int_equal(configdrive_build(&s, &img, &len, err, sizeof err), -1);
	s = spec();
	s.key_name = "\xc3";
	assert_int_equal(configdrive_build(&s, &img, &len, err, sizeof err), -1);
	char *out;
	assert_int_equal(configdrive_meta_data(&s, "2009-04-04", &out, err, sizeof err), -1);
}

static void test_write(void **state)
{
	char dir[] = "/tmp/test_configdrive.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/config.iso", dir);
	struct virt_spec s = spec();
	char err[256];
	assert_int_equal(configdrive_write(&s, path, err, sizeof err), 0);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	assert_true(n > 0 && n % 2048 == 0);
	fseek(f, 16 * 2048 + 40, SEEK_SET);
	char label[9] = "";
	assert_int_equal(fread(label, 1, 8, f), 8);
	assert_string_equal(label, "config-2");
	fclose(f);
	unlink(path);
	snprintf(path, sizeof path, "%s/no/such/dir/config.iso", dir);
	assert_int_equal(configdrive_write(&s, path, err, sizeof err), -1);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_meta_data),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
