/* test_qcow2.c — the disk-format probe (src/image/qcow2.c): virtual sizes from qcow2 v2/v3,
 * vhd, vhdx, vmdk, vdi and qed headers as Glance's inspector reads them, in any chunking; raw
 * is the data size; wrong or truncated headers and unusual containers give "unknown". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/qcow2.h"

static void put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

/* Feeds buf in pieces of chunk bytes and returns the probe's answer. */
static int64_t probe(const char *disk, const char *container, const unsigned char *buf, size_t len,
		     size_t chunk)
{
	struct img_probe *p = img_probe_new(disk, container);
	for (size_t off = 0; off < len; off += chunk)
		img_probe_feed(p, buf + off, len - off < chunk ? len - off : chunk);
	int64_t v = img_probe_virtual_size(p);
	img_probe_free(p);
	return v;
}

/* The same answer for several chunkings, or a failed test. */
static int64_t probe_all(const char *disk, const unsigned char *buf, size_t len)
{
	static const size_t chunks[] = { 1, 7, 512, 4096, 65536, 1 << 20 };
	int64_t first = probe(disk, "bare", buf, len, chunks[0] > len ? len : chunks[0]);
	for (size_t i = 1; i < sizeof chunks / sizeof chunks[0]; i++)
		assert_int_equal(probe(disk, "bare", buf, len, chunks[i]), first);
	return first;
}

static unsigned char *qcow2_image(uint32_t version, uint64_t size, size_t len)
{
	unsigned char *b = calloc(1, len);
	memcpy(b, "QFI\xfb", 4);
	put_be32(b + 4, version);
	put_be32(b + 20, 16);                     /* cluster bits */
	put_be64(b + 24, size);
	if (version == 3)
		put_be32(b + 100, 104);           /* header length */
	return b;
}

static void test_qcow2_header(void **state)
{
	(void)state;
	uint64_t size = 0;
	unsigned char *b = qcow2_image(3, 1ull << 30, 1024);
	assert_int_equal(img_qcow2_virtual_size(b, 1024, &size), 0);
	assert_true(size == 1ull << 30);
	assert_int_equal(img_qcow2_virtual_size(b, 103, &size), -1);   /* v3 header cut short */
	assert_int_equal(img_qcow2_virtual_size(NULL, 0, &size), -1);
	b[3] = 0xfc;
	assert_int_equal(img_qcow2_virtual_size(b, 1024, &size), -1);  /* bad magic */
	free(b);
	b = qcow2_image(2, 5ull << 40, 72);
	assert_int_equal(img_qcow2_virtual_size(b, 72, &size), 0);
	assert_true(size == 5ull << 40);
	assert_int_equal(img_qcow2_virtual_size(b, 71, &size), -1);
	put_be32(b + 4, 1);                              /* qcow version 1 is another format */
	assert_int_equal(img_qcow2_virtual_size(b, 72, &size), -1);
	put_be32(b + 4, 4);
	assert_int_equal(img_qcow2_virtual_size(b, 72, &size), -1);
	free(b);
}

static void test_qcow2_probe(void **state)
{
	(void)state;
	size_t len = 196624;
	unsigned char *b = qcow2_image(3, 1ull << 30, len);
	assert_int_equal(probe_all("qcow2", b, len), 1ll << 30);
	assert_int_equal(probe_all("qcow2", b, 511), -1);          /* Glance wants 512 bytes */
	assert_int_equal(probe_all("vhd", b, len), -1);            /* declared as something else */
	assert_int_equal(probe("qcow2", "ovf", b, len, 4096), -1); /* not inspected in ovf */
	put_be64(b + 24, UINT64_MAX);                               /* does not fit a size */
	assert_int_equal(probe_all("qcow2", b, len), -1);
	free(b);
	b = qcow2_image(2, 2ull << 30, 512);
	assert_int_equal(probe_all("qcow2", b, 512), 2ll << 30);
	b[0] = 'X';
	assert_int_equal(probe_all("qcow2", b, 512), -1);
	free(b);
}

static void test_raw_and_uninspected(void **state)
{
	(void)state;
	unsigned char *b = calloc(1, 100000);
	assert_int_equal(probe_all("raw", b, 100000), 100000);
	assert_int_equal(probe_all("raw", b, 0), 0);
	assert_null(img_probe_new("iso", "bare"));
	assert_null(img_probe_new("ami", "bare"));
	assert_null(img_probe_new("raw", "ovf"));
	assert_null(img_probe_new(NULL, "bare"));
	assert_int_equal(img_probe_virtual_size(NULL), -1);
	img_probe_feed(NULL, b, 10);
	img_probe_free(NULL);
	free(b);
}

static void test_vhd_vdi_qed(void **state)
{
	(void)state;
	unsigned char *b = calloc(1, 4608);
	memcpy(b, "conectix", 8);
	put_be64(b + 40, 1073995776);
	assert_int_equal(probe_all("vhd", b, 4608), 1073995776);
	assert_int_equal(probe_all("vhd", b, 100), -1);
	memset(b, 0, 4608);
	put_le(b + 0x40, 0xbeda107f, 4);
	put_le(b + 0x170, 1ull << 30, 8);
	assert_int_equal(probe_all("vdi", b, 4608), 1ll << 30);
	b[0x40] = 0;
	assert_int_equal(probe_all("vdi", b, 4608), -1);
	memset(b, 0, 4608);
	memcpy(b, "QED", 4);
	assert_int_equal(probe_all("qed", b, 4608), 4608);         /* Glance: the data size */
	free(b);
}

static unsigned char *vmdk_image(const char *create_type, uint64_t desc_sec, size_t *len)
{
	*len = 196608;
	unsigned char *b = calloc(1, *len);
	memcpy(b, "KDMV", 4);
	put_le(b + 4, 1, 4);
	put_le(b + 12, 2097152, 8);                      /* sectors: 1 GiB */
	put_le(b + 28, desc_sec, 8);
	put_le(b + 36, 20, 8);
	char *d = (char *)b + 512;
	snprintf(d, 20 * 512, "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n"
		 "createType=\"%s\"\n\nRW 2097152 SPARSE \"t.vmdk\"\n", create_type);
	return b;
}

static void test_vmdk(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = vmdk_image("monolithicSparse", 1, &len);
	assert_int_equal(probe_all("vmdk", b, len), 1ll << 30);
	free(b);
	b = vmdk_image("streamOptimized", 1, &len);
	assert_int_equal(probe_all("vmdk", b, len), 1ll << 30);
	free(b);
	b = vmdk_image("monolithicFlat", 1, &len);
	assert_int_equal(probe_all("vmdk", b, len), -1);
	free(b);
	b = vmdk_image("monolithicSparse", 2, &len);      /* the descriptor elsewhere */
	assert_int_equal(probe_all("vmdk", b, len), -1);
	free(b);
	b = vmdk_image("monolithicSparse", 1, &len);
	put_le(b + 56, UINT64_MAX, 8);                    /* grain directory in a footer */
	assert_int_equal(probe_all("vmdk", b, len), -1);
	put_le(b + 56, 0, 8);
	put_le(b + 36, UINT64_MAX, 8);                    /* an absurd descriptor size: capped */
	assert_int_equal(probe_all("vmdk", b, len), 1ll << 30);
	free(b);
}

static const unsigned char metaregion[16] = {
	0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e,
};
static const unsigned char vds_guid[16] = {
	0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8,
};

/* A minimal vhdx: identity, a region table at 192 KiB pointing at metadata at meta_off, whose
 * table's second entry is the virtual disk size item. */
static unsigned char *vhdx_image(size_t meta_off, size_t *len)
{
	*len = (meta_off > 256 * 1024 ? meta_off : 256 * 1024) + 128 * 1024;
	unsigned char *b = calloc(1, *len);
	memcpy(b, "vhdxfile", 8);
	unsigned char *rt = b + 192 * 1024;
	memcpy(rt, "regi", 4);
	put_le(rt + 8, 2, 4);
	memset(rt + 16, 0x11, 16);                        /* some other region first */
	memcpy(rt + 48, metaregion, 16);
	put_le(rt + 64, meta_off, 8);
	put_le(rt + 72, 1 << 20, 4);
	unsigned char *m = b + meta_off;
	memcpy(m, "metadata", 8);
	put_le(m + 10, 2, 2);
	memset(m + 32, 0x22, 16);
	memcpy(m + 64, vds_guid, 16);
	put_le(m + 80, 65536, 4);                         /* item offset in the region */
	put_le(m + 84, 8, 4);
	put_le(m + 65536, 3ull << 30, 8);
	return b;
}

static void test_vhdx(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = vhdx_image(256 * 1024, &len);
	assert_int_equal(probe_all("vhdx", b, len), 3ll << 30);
	assert_int_equal(probe_all("vhdx", b, 256 * 1024 + 65536 + 4), -1); /* the size item cut */
	b[0] = 'V';
	assert_int_equal(probe_all("vhdx", b, len), -1);
	b[0] = 'v';
	put_le(b + 256 * 1024 + 10, 4000, 2);                      /* too many metadata entries */
	assert_int_equal(probe_all("vhdx", b, len), -1);
	free(b);
	b = vhdx_image(64 * 1024, &len);                            /* metadata before the table */
	assert_int_equal(probe_all("vhdx", b, len), -1);
	free(b);
}

/* Deterministic garbage in many chunkings: no crash, and no answer that depends on chunking. */
static void test_garbage(void **state)
{
	(void)state;
	static const char *const fmts[] = { "raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi", "qed" };
	size_t len = 300 * 1024;
	unsigned char *b = malloc(len);
	uint32_t x = 12345;
	for (int round = 0; round < 8; round++) {
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245 + 12345;
			b[i] = (unsigned char)(x >> 16);
		}
		memcpy(b, round & 1 ? "KDMV" : "vhdxfile", round & 1 ? 4 : 8);
		if (round & 2)
			memcpy(b + 192 * 1024, "regi", 4);
		for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
			probe_all(fmts[f], b, len);
	}
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qcow2_header),
		cmocka_unit_test(test_qcow2_probe),
		cmocka_unit_test(test_raw_and_uninspected),
		cmocka_unit_test(test_vhd_vdi_qed),
		cmocka_unit_test(test_vmdk),
		cmocka_unit_test(test_vhdx),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
