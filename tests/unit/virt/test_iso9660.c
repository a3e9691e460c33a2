/* test_iso9660.c — the ISO 9660 writer (src/virt/iso9660.c) read back with an independent
 * reader (isoread.h): volume descriptors and label, path tables, sorted records that never
 * cross a sector, Rock Ridge and Joliet names for the same file data, directories larger than
 * a sector, empty and multi-sector files, and the input it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoread.h"
#include "virt/iso9660.h"

static unsigned char *render(struct iso9660 *iso, size_t *len)
{
	unsigned char *img = NULL;
	assert_int_equal(iso9660_render(iso, 1795400000, &img, len), 0);
	assert_non_null(img);
	assert_int_equal(*len % ISO9660_SECTOR, 0);
	return img;
}

static void expect_file(const unsigned char *img, size_t len, const char *path, const void *data, size_t n)
{
	for (int joliet = 0; joliet < 2; joliet++) {
		const unsigned char *got;
		size_t glen;
		if (isoread_file(img, len, joliet, path, &got, &glen))
			fail_msg("%s not found in the %s tree", path, joliet ? "Joliet" : "primary");
		assert_int_equal(glen, n);
		assert_memory_equal(got, data, n);
	}
}

static void check_trees(const unsigned char *img, size_t len, int files)
{
	char err[256];
	for (int joliet = 0; joliet < 2; joliet++) {
		int n = isoread_check(img, len, joliet, err, sizeof err);
		if (n < 0)
			fail_msg("%s tree: %s", joliet ? "Joliet" : "primary", err);
		assert_int_equal(n, files);
	}
}

static void test_descriptors(void **state)
{
	struct iso9660 *iso = iso9660_new("config-2");
	assert_non_null(iso);
	assert_int_equal(iso9660_add_file(iso, "openstack/latest/meta_data.json", "{}", 2), 0);
	size_t len;
	unsigned char *img = render(iso, &len);
	/* System area empty; primary at 16, Joliet at 17, terminator at 18. */
	for (size_t i = 0; i < 16 * ISO9660_SECTOR; i++)
		assert_int_equal(img[i], 0);
	const unsigned char *pvd = img + 16 * ISO9660_SECTOR;
	assert_int_equal(pvd[0], 1);
	assert_memory_equal(pvd + 1, "CD001\1", 6);
	assert_memory_equal(pvd + 40, "config-2                        ", 32);
	assert_int_equal(pvd[881], 1);
	assert_memory_equal(pvd + 813, "20261123", 8);      /* creation date of mtime */
	const unsigned char *svd = img + 17 * ISO9660_SECTOR;
	assert_int_equal(svd[0], 2);
	assert_memory_equal(svd + 88, "%/E", 3);
	assert_memory_equal(svd + 40, "\0c\0o\0n\0f\0i\0g\0-\0" "2\0 ", 18);
	const unsigned char *term = img + 18 * ISO9660_SECTOR;
	assert_int_equal(term[0], 255);
	assert_memory_equal(term + 1, "CD001\1", 6);

	struct isoread_vol v;
	assert_int_equal(isoread_volume(img, len, false, &v), 0);
	assert_string_equal(v.label, "config-2");
	assert_int_equal(isoread_volume(img, len, true, &v), 0);
	assert_string_equal(v.label, "config-2");
	check_trees(img, len, 1);
	expect_file(img, len, "openstack/latest/meta_data.json", "{}", 2);

	/* The root "." record carries SP and a CE pointing at the RRIP_1991A ER entry. */
	assert_int_equal(isoread_volume(img, len, false, &v), 0);
	const unsigned char *dot = img + (size_t)v.root_lba * ISO9660_SECTOR;
	assert_memory_equal(dot + 34, "SP\7\1\xbe\xef\0", 7);
	assert_memory_equal(dot + 41, "CE\34\1", 4);
	int64_t ce = isoread_733(dot + 45);
	assert_true(ce > 18);
	const unsigned char *er = img + (size_t)ce * ISO9660_SECTOR;
	assert_memory_equal(er, "ER", 2);
	assert_memory_equal(er + 8, "RRIP_1991A", 10);
	free(img);
	iso9660_free(iso);
}

static void test_names_and_data(void **state)
{
	struct iso9660 *iso = iso9660_new("config-2");
	static const char *const paths[] = {
		"openstack/2012-08-10/meta_data.json", "openstack/2012-08-10/user_data",
		"openstack/latest/vendor_data.json", "openstack/latest/vendor_data2.json",
		"openstack/latest/network_data.json", "ec2/latest/meta-data.json", "README",
		"a-name-of-exactly-sixty-four-characters-long-for-the-joliet-limit",
	};
	size_t np = sizeof paths / sizeof paths[0];
	for (size_t i = 0; i < np; i++) {
		int r = iso9660_add_file(iso, paths[i], paths[i], strlen(paths[i]));
		if (strlen(paths[i]) > ISO9660_NAME_MAX)
			assert_int_equal(r, -1);
		else
			assert_int_equal(r, 0);
	}
	/* vendor_data.json and vendor_data2.json map to different ISO identifiers. */
	size_t len;
	unsigned char *img = render(iso, &len);
	check_trees(img, len, (int)np - 1);
	for (size_t i = 0; i + 1 < np; i++)
		expect_file(img, len, paths[i], paths[i], strlen(paths[i]));
	const unsigned char *d;
	size_t dl;
	assert_int_equal(isoread_file(img, len, false, "openstack/latest/missing", &d, &dl), -1);
	assert_int_equal(isoread_file(img, len, false, "openstack", &d, &dl), -1);     /* a directory */
	free(img);
	iso9660_free(iso);
}

static void test_big_directories_and_files(void **state)
{
	struct iso9660 *iso = iso9660_new("BIG");
	char path[128];
	/* 200 entries with long names: the directory spans several sectors. */
	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof path, "many/file-with-a-rather-long-name-number-%03d.json", i);
		assert_int_equal(iso9660_add_file(iso, path, path, strlen(path)), 0);
	}
	size_t big = 3 * ISO9660_SECTOR + 17;
	unsigned char *blob = malloc(big);
	for (size_t i = 0; i < big; i++)
		blob[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(iso9660_add_file(iso, "data/blob.bin", blob, big), 0);
	assert_int_equal(iso9660_add_file(iso, "data/empty", NULL, 0), 0);
	assert_int_equal(iso9660_add_file(iso, "a/b/c/d/e/f/g/deep", "x", 1), 0);
	size_t len;
	unsigned char *img = render(iso, &len);
	check_trees(img, len, 203);
	for (int i = 0; i < 200; i += 37) {
		snprintf(path, sizeof path, "many/file-with-a-rather-long-name-number-%03d.json", i);
		expect_file(img, len, path, path, strlen(path));
	}
	expect_file(img, len, "data/blob.bin", blob, big);
	expect_file(img, len, "data/empty", "", 0);
	expect_file(img, len, "a/b/c/d/e/f/g/deep", "x", 1);
	free(img);
	free(blob);
	iso9660_free(iso);
}

static void test_refused(void **state)
{
	assert_null(iso9660_new(""));
	assert_null(iso9660_new("label with spaces"));
	assert_null(iso9660_new("a-label-that-is-longer-than-32-chars"));
	struct iso9660 *iso = iso9660_new("config-2");
	assert_int_equal(iso9660_add_file(iso, "a/b", "1", 1), 0);
	assert_int_equal(iso9660_add_file(iso, "a/b", "2", 1), -1);            /* duplicate */
	assert_int_equal(iso9660_add_file(iso, "a/b/c", "3", 1), -1);          /* b is a file */
	assert_int_equal(iso9660_add_file(iso, "a", "4", 1), -1);              /* a is a directory */
	assert_int_equal(iso9660_add_file(iso, "", "5", 1), -1);
	assert_int_equal(iso9660_add_file(iso, "/abs", "6", 1), -1);
	assert_int_equal(iso9660_add_file(iso, "a//b2", "7", 1), -1);
	assert_int_equal(iso9660_add_file(iso, "a/../b3", "8", 1), -1);
	assert_int_equal(iso9660_add_file(iso, "a/./b4", "9", 1), -1);
	assert_int_equal(iso9660_add_file(iso, "a/semi;1", "10", 2), -1);
	assert_int_equal(iso9660_add_file(iso, "a/sp ace", "11", 2), -1);
	assert_int_equal(iso9660_add_file(iso, "a/\xc3\xa9t\xc3\xa9", "12", 2), -1);
	assert_int_equal(iso9660_add_file(iso, "1/2/3/4/5/6/7/8/too-deep", "13", 2), -1);
	assert_int_equal(iso9660_add_file(iso, "big", "x", ISO9660_DATA_MAX + 1), -1);
	assert_int_equal(iso9660_add_file(iso, "nodata", NULL, 3), -1);
	size_t len;
	unsigned char *img = render(iso, &len);
	check_trees(img, len, 1);
	expect_file(img, len, "a/b", "1", 1);
	free(img);
	/* Rendering twice gives the same image. */
	unsigned char *img2 = render(iso, &len);
	unsigned char *img3 = render(iso, &len);
	assert_memory_equal(img2, img3, len);
	free(img2);
	free(img3);
	iso9660_free(iso);
	iso9660_free(NULL);
}

/* Names that differ only in case or in characters ISO 9660 cannot hold get distinct
 * identifiers, and each long name still finds its own data. */
static void test_identifier_collisions(void **state)
{
	struct iso9660 *iso = iso9660_new("config-2");
	static const char *const names[] = { "Meta", "meta", "META", "me-ta", "me_ta", "me+ta",
					     "x.json", "X.JSON", "x.Json", "y.tar.gz", "y_tar.gz" };
	size_t n = sizeof names / sizeof names[0];
	char path[64];
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "d/%s", names[i]);
		assert_int_equal(iso9660_add_file(iso, path, names[i], strlen(names[i])), 0);
	}
	size_t len;
	unsigned char *img = render(iso, &len);
	check_trees(img, len, (int)n);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "d/%s", names[i]);
		expect_file(img, len, path, names[i], strlen(names[i]));
	}
	free(img);
	iso9660_free(iso);
}

/* The reader is not vacuous: damage it must notice. */
static void test_reader_catches_damage(void **state)
{
	struct iso9660 *iso = iso9660_new("config-2");
	assert_int_equal(iso9660_add_file(iso, "openstack/latest/meta_data.json", "{}", 2), 0);
	assert_int_equal(iso9660_add_file(iso, "openstack/latest/user_data", "ud", 2), 0);
	size_t len;
	unsigned char *img = render(iso, &len);
	char err[256];
	struct isoread_vol v;
	assert_int_equal(isoread_volume(img, len, false, &v), 0);
	unsigned char *copy = malloc(len);

	memcpy(copy, img, len);
	copy[(size_t)v.pt_m * ISO9660_SECTOR + 2] ^= 1;             /* M table disagrees with L */
	assert_int_equal(isoread_check(copy, len, false, err, sizeof err), -1);

	memcpy(copy, img, len);
	copy[(size_t)v.root_lba * ISO9660_SECTOR + 2] ^= 1;         /* both-endian halves disagree */
	assert_int_equal(isoread_check(copy, len, false, err, sizeof err), -1);

	memcpy(copy, img, len);
	copy[16 * ISO9660_SECTOR + 80] ^= 1;                        /* volume size is wrong */
	assert_int_equal(isoread_check(copy, len, false, err, sizeof err), -1);

	memcpy(copy, img, len);
	unsigned char *nm = memmem(copy, len, "NMuser", 6);         /* no such bytes: NM has a length */
	assert_null(nm);
	nm = memmem(copy, len, "user_data", 9);
	assert_non_null(nm);
	nm[0] = 'U';                                                /* first hit: the Rock Ridge name */
	const unsigned char *d;
	size_t dl;
	assert_int_equal(isoread_file(copy, len, false, "openstack/latest/user_data", &d, &dl), -1);
	assert_int_equal(isoread_file(copy, len, true, "openstack/latest/user_data", &d, &dl), 0);
	free(copy);
	free(img);
	iso9660_free(iso);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptors),
		cmocka_unit_test(test_names_and_data),
		cmocka_unit_test(test_big_directories_and_files),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_identifier_collisions),
		cmocka_unit_test(test_reader_catches_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
