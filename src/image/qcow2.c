/* qcow2.c — virtual sizes from disk image headers, computed from the data as it streams in
 * (uploads and imports): regions of the file are captured as they pass, then parsed with
 * explicit bounds. Follows what Glance's format inspector accepts, so virtual_size comes out
 * the same: only the declared disk format is tried, and anything odd gives "unknown". */
#include "image/qcow2.h"
#include "core/arena.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_LEN 512
#define VMDK_DESC_MAX (64 * 1024)       /* what we read of the descriptor (Glance: 1 MiB) */
#define VHDX_HEADER_OFF (192 * 1024)    /* the region table */
#define VHDX_HEADER_LEN (64 * 1024)
#define VHDX_META_LEN (2048 * 32)       /* the metadata table: a header and up to 2047 entries */

enum fmt { F_RAW, F_QCOW2, F_VHD, F_VHDX, F_VMDK, F_VDI, F_QED };

/* A region [off, off+len) of the file, filled as the data passes. */
struct region {
	uint64_t off;
	size_t len, got;
	unsigned char *buf;               /* NULL: not wanted (yet) */
	bool missed;                      /* it started before the data we were shown */
};

struct img_probe {
	enum fmt fmt;
	uint64_t total;                   /* bytes fed */
	bool bad;                         /* a format error: the size is unknown */
	struct region head, desc, vhdx_hdr, meta, vds;
	bool vhdx_meta_done;
};

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

int img_qcow2_virtual_size(const unsigned char *buf, size_t len, uint64_t *size)
{
	if (!buf || len < 72 || memcmp(buf, "QFI\xfb", 4))
		return -1;
	uint32_t version = be32(buf + 4);
	if (version != 2 && version != 3)
		return -1;
	if (version == 3 && len < 104)       /* v3 headers are at least 104 bytes */
		return -1;
	*size = be64(buf + 24);
	return 0;
}

static bool region_full(const struct region *g)
{
	return g->buf && g->got == g->len;
}

/* Wants [off, off+len), learnt from the data before `after`: a region starting earlier is
 * never captured (whatever the chunking, so the answer does not depend on it). */
static void region_want(struct region *g, uint64_t off, size_t len, uint64_t after)
{
	g->missed = off < after;
	g->off = off;
	g->len = len;
	g->got = 0;
	g->buf = xmalloc(len ? len : 1);
}

/* Copies what of [pos, pos+n) the region still lacks. */
static void region_feed(struct region *g, uint64_t pos, const unsigned char *d, size_t n)
{
	if (!g->buf || g->missed || g->got == g->len)
		return;
	uint64_t want = g->off + g->got;
	if (want < pos) {
		g->missed = true;
		return;
	}
	if (want - pos >= n)
		return;
	size_t skip = (size_t)(want - pos);
	size_t k = n - skip < g->len - g->got ? n - skip : g->len - g->got;
	memcpy(g->buf + g->got, d + skip, k);
	g->got += k;
}

static void region_free(struct region *g)
{
	free(g->buf);
	g->buf = NULL;
}

static const struct { const char *name; enum fmt fmt; } formats[] = {
	{ "raw", F_RAW }, { "qcow2", F_QCOW2 }, { "vhd", F_VHD }, { "vhdx", F_VHDX },
	{ "vmdk", F_VMDK }, { "vdi", F_VDI }, { "qed", F_QED },
};

struct img_probe *img_probe_new(const char *disk_format, const char *container_format)
{
	if (!disk_format || !container_format || strcmp(container_format, "bare"))
		return NULL;
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		if (strcmp(formats[i].name, disk_format))
			continue;
		struct img_probe *p = xcalloc(1, sizeof *p);
		p->fmt = formats[i].fmt;
		if (p->fmt != F_RAW)
			region_want(&p->head, 0, HEAD_LEN, 0);
		if (p->fmt == F_VHDX)
			region_want(&p->vhdx_hdr, VHDX_HEADER_OFF, VHDX_HEADER_LEN, 0);
		return p;
	}
	return NULL;
}

/* VMDK: once the header is in, the descriptor's place (which must be right after it). */
static void vmdk_header(struct img_probe *p)
{
	const unsigned char *h = p->head.buf;
	if (memcmp(h, "KDMV", 4)) {
		p->bad = true;
		return;
	}
	uint32_t ver = le32(h + 4);
	uint64_t desc_sec = le64(h + 28), desc_num = le64(h + 36), gd_offset = le64(h + 56);
	if (ver < 1 || ver > 3 || gd_offset == UINT64_MAX || desc_sec != 1) {
		p->bad = true;                /* unsupported, a footer, or a misplaced descriptor */
		return;
	}
	size_t len = desc_num > VMDK_DESC_MAX / 512 ? VMDK_DESC_MAX : (size_t)desc_num * 512;
	region_want(&p->desc, 512, len, HEAD_LEN);
}

/* VHDX: the metadata region's offset from the region table. */
static void vhdx_regions(struct img_probe *p)
{
	static const unsigned char metaregion[16] = {   /* 8B7CA206-4790-4B9A-B8FE-575F050F886E */
		0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
		0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e,
	};
	const unsigned char *h = p->vhdx_hdr.buf;
	if (le32(h) != 0x69676572) {     /* "regi" */
		p->bad = true;
		return;
	}
	uint32_t count = le32(h + 8);
	if (count >= 2048) {
		p->bad = true;
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		size_t at = 16 + (size_t)i * 32;
		if (at + 32 > VHDX_HEADER_LEN)
			break;
		if (!memcmp(h + at, metaregion, 16)) {
			region_want(&p->meta, le64(h + at + 16), VHDX_META_LEN,
				    VHDX_HEADER_OFF + VHDX_HEADER_LEN);
			return;
		}
	}
	p->bad = true;                        /* no metadata region */
}

/* VHDX: the Virtual Disk Size item's place, once enough of the metadata table is in. */
static void vhdx_meta(struct img_probe *p)
{
	static const unsigned char vds[16] = {          /* 2FA54224-CD1B-4876-B211-5DBED83BF4B8 */
		0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
		0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8,
	};
	const unsigned char *m = p->meta.buf;
	if (p->meta.got < 32)
		return;
	if (memcmp(m, "metadata", 8)) {
		p->bad = true;
		return;
	}
	uint16_t count = le16(m + 10);
	if (count >= 2048) {
		p->bad = true;
		return;
	}
	size_t table = 32 + (size_t)count * 32;
	if (p->meta.got < table)
		return;
	p->vhdx_meta_done = true;
	for (uint16_t i = 0; i < count; i++) {
		const unsigned char *e = m + 32 + (size_t)i * 32;
		if (!memcmp(e, vds, 16)) {
			uint32_t item_off = le32(e + 16), item_len = le32(e + 20);
			if (item_len < 8) {
				p->bad = true;
				return;
			}
			region_want(&p->vds, p->meta.off + item_off, 8, p->meta.off + table);
			return;
		}
	}
	p->bad = true;
}

void img_probe_feed(struct img_probe *p, const void *data, size_t len)
{
	if (!p || !len)
		return;
	const unsigned char *d = data;
	uint64_t pos = p->total;
	p->total += len;
	if (p->bad || p->fmt == F_RAW)
		return;
	bool had_head = region_full(&p->head);
	region_feed(&p->head, pos, d, len);
	if (p->fmt == F_VMDK && !had_head && region_full(&p->head)) {
		vmdk_header(p);
		region_feed(&p->desc, pos, d, len);   /* it may start in this very chunk */
	} else if (p->fmt == F_VMDK) {
		region_feed(&p->desc, pos, d, len);
	}
	if (p->fmt != F_VHDX || p->bad)
		return;
	bool had_hdr = region_full(&p->vhdx_hdr);
	region_feed(&p->vhdx_hdr, pos, d, len);
	if (!had_hdr && region_full(&p->vhdx_hdr)) {
		vhdx_regions(p);
		if (p->bad)
			return;
	}
	if (p->meta.buf && !p->vhdx_meta_done) {
		region_feed(&p->meta, pos, d, len);
		vhdx_meta(p);
		if (p->bad)
			return;
	}
	region_feed(&p->vds, pos, d, len);
}

/* VMDK: the disk size, for the sparse kinds whose descriptor says so. */
static int64_t vmdk_size(const struct img_probe *p)
{
	if (!region_full(&p->desc))
		return -1;
	static const char key[] = "createType=\"";
	const char *d = (const char *)p->desc.buf;
	size_t n = p->desc.len, klen = sizeof key - 1;
	const char *type = NULL;
	for (size_t i = 0; i + klen <= n; i++) {
		if (!memcmp(d + i, key, klen)) {
			type = d + i + klen;
			break;
		}
	}
	if (!type)
		return -1;
	size_t left = n - (size_t)(type - d);
	const char *end = memchr(type, '"', left);
	if (!end)
		return -1;
	size_t tlen = (size_t)(end - type);
	if (!(tlen == 16 && !memcmp(type, "monolithicSparse", 16)) &&
	    !(tlen == 15 && !memcmp(type, "streamOptimized", 15)))
		return -1;
	uint64_t sectors = le64(p->head.buf + 12);
	return sectors > (uint64_t)INT64_MAX / 512 ? -1 : (int64_t)(sectors * 512);
}

static int64_t checked(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? -1 : (int64_t)v;
}

int64_t img_probe_virtual_size(const struct img_probe *p)
{
	if (!p || p->bad)
		return -1;
	if (p->fmt == F_RAW)
		return checked(p->total);
	if (!region_full(&p->head))
		return -1;
	const unsigned char *h = p->head.buf;
	uint64_t size;
	switch (p->fmt) {
	case F_QCOW2:
		return img_qcow2_virtual_size(h, HEAD_LEN, &size) ? -1 : checked(size);
	case F_VHD:
		return memcmp(h, "conectix", 8) ? -1 : checked(be64(h + 40));
	case F_VDI:
		return le32(h + 0x40) != 0xbeda107f ? -1 : checked(le64(h + 0x170));
	case F_QED:
		return memcmp(h, "QED\0", 4) ? -1 : checked(p->total);
	case F_VMDK:
		return vmdk_size(p);
	case F_VHDX:
		if (memcmp(h, "vhdxfile", 8) || !region_full(&p->vds))
			return -1;
		return checked(le64(p->vds.buf));
	case F_RAW:
		break;
	}
	return -1;
}

void img_probe_free(struct img_probe *p)
{
	if (!p)
		return;
	region_free(&p->head);
	region_free(&p->desc);
	region_free(&p->vhdx_hdr);
	region_free(&p->meta);
	region_free(&p->vds);
	free(p);
}
