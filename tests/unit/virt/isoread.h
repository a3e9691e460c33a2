/* isoread.h — an independent, bounds-checked ISO 9660 reader for the tests and fuzz targets of
 * the image writer (src/virt/iso9660.c): checks the volume descriptors, path tables and the
 * directory records of both trees, and finds files by their Rock Ridge (primary tree) or Joliet
 * names. Header-only: static functions. */
#ifndef TESTS_ISOREAD_H
#define TESTS_ISOREAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ISOREAD_SEC 2048

static inline uint32_t isoread_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t isoread_be32(const unsigned char *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* A both-endian 32-bit field whose halves agree, or -1. */
static inline int64_t isoread_733(const unsigned char *p)
{
	uint32_t a = isoread_le32(p), b = isoread_be32(p + 4);
	return a == b ? (int64_t)a : -1;
}

struct isoread_rec {
	uint32_t lba, size;
	bool dir;
	char name[256];                   /* Rock Ridge NM or Joliet name, ";1" removed */
	char ident[256];                  /* the raw ISO identifier (primary tree) */
	int kind;                         /* 0 entry, 1 ".", 2 ".." */
};

/* Parses the record at p (avail bytes left in its sector); its length, 0 at the end of the
 * sector, or -1 when malformed. */
static inline int isoread_record(const unsigned char *p, size_t avail, bool joliet, struct isoread_rec *r)
{
	if (avail == 0 || p[0] == 0)
		return 0;
	size_t len = p[0];
	if (len < 34 || len > avail)
		return -1;
	size_t idlen = p[32];
	if (33 + idlen > len)
		return -1;
	int64_t lba = isoread_733(p + 2), size = isoread_733(p + 10);
	if (lba < 0 || size < 0 || p[28] != 1 || p[31] != 1)
		return -1;
	memset(r, 0, sizeof *r);
	r->lba = (uint32_t)lba;
	r->size = (uint32_t)size;
	r->dir = p[25] & 2;
	const unsigned char *id = p + 33;
	if (idlen == 1 && (id[0] == 0 || id[0] == 1)) {
		r->kind = id[0] + 1;
	} else if (joliet) {
		if (idlen % 2)
			return -1;
		size_t k = 0;
		for (size_t i = 0; i < idlen; i += 2) {
			if (id[i] != 0 || id[i + 1] == 0)
				return -1;        /* the writer only makes ASCII names */
			r->name[k++] = (char)id[i + 1];
		}
		if (k >= 2 && !memcmp(r->name + k - 2, ";1", 2))
			k -= 2;
		r->name[k] = 0;
	} else {
		memcpy(r->ident, id, idlen);
		r->ident[idlen] = 0;
	}
	if (!joliet) {
		/* The system use area: Rock Ridge entries. */
		size_t off = 33 + idlen + (idlen % 2 == 0);
		while (off + 4 <= len) {
			const unsigned char *e = p + off;
			size_t el = e[2];
			if (el < 4 || off + el > len)
				return -1;
			if (e[0] == 'N' && e[1] == 'M') {
				if (el < 5)
					return -1;
				memcpy(r->name, e + 5, el - 5);
				r->name[el - 5] = 0;
			}
			off += el;
		}
	}
	return (int)len;
}

/* Calls fn for each entry of the directory extent (lba, size). -1 when malformed. */
static inline int isoread_dir(const unsigned char *img, size_t len, uint32_t lba, uint32_t size, bool joliet,
		       int (*fn)(void *ctx, const struct isoread_rec *r), void *ctx)
{
	if (size == 0 || size % ISOREAD_SEC || (uint64_t)lba * ISOREAD_SEC + size > len)
		return -1;
	for (uint32_t s = 0; s < size / ISOREAD_SEC; s++) {
		const unsigned char *sec = img + ((size_t)lba + s) * ISOREAD_SEC;
		size_t off = 0;
		while (off < ISOREAD_SEC) {
			struct isoread_rec r;
			int n = isoread_record(sec + off, ISOREAD_SEC - off, joliet, &r);
			if (n < 0)
				return -1;
			if (n == 0)
				break;
			if (fn) {
				int rc = fn(ctx, &r);
				if (rc)
					return rc;
			}
			off += (size_t)n;
		}
	}
	return 0;
}

struct isoread_vol {
	uint32_t root_lba, root_size;
	uint32_t pt_size, pt_l, pt_m;
	char label[33];
};

/* The primary (joliet false) or Joliet volume descriptor. 0 or -1. */
static inline int isoread_volume(const unsigned char *img, size_t len, bool joliet, struct isoread_vol *v)
{
	if (len < 19 * ISOREAD_SEC || len % ISOREAD_SEC)
		return -1;
	for (size_t s = 16; s * ISOREAD_SEC < len; s++) {
		const unsigned char *d = img + s * ISOREAD_SEC;
		if (memcmp(d + 1, "CD001", 5) || d[6] != 1)
			return -1;
		if (d[0] == 255)
			return -1;
		bool is_joliet = d[0] == 2 && !memcmp(d + 88, "%/E", 3);
		if ((d[0] == 1 && !joliet) || (is_joliet && joliet)) {
			int64_t total = isoread_733(d + 80);
			if (total < 0 || (uint64_t)total * ISOREAD_SEC != len)
				return -1;
			if (d[128] != 0 || d[129] != 8 || d[130] != 8 || d[131] != 0)    /* 2048, both-endian */
				return -1;
			const unsigned char *r = d + 156;
			if (r[0] != 34 || r[32] != 1 || r[33] != 0 || !(r[25] & 2))
				return -1;
			v->root_lba = (uint32_t)isoread_733(r + 2);
			v->root_size = (uint32_t)isoread_733(r + 10);
			int64_t pts = isoread_733(d + 132);
			if (pts < 0)
				return -1;
			v->pt_size = (uint32_t)pts;
			v->pt_l = isoread_le32(d + 140);
			v->pt_m = isoread_be32(d + 148);
			size_t k = 0;
			if (joliet) {
				for (size_t i = 0; i < 32; i += 2)
					v->label[k++] = (char)d[40 + i + 1];
			} else {
				memcpy(v->label, d + 40, 32);
				k = 32;
			}
			while (k && v->label[k - 1] == ' ')
				k--;
			v->label[k] = 0;
			return 0;
		}
	}
	return -1;
}

struct isoread_find {
	const char *want;
	size_t wlen;
	struct isoread_rec found;
	bool hit;
};

static inline int isoread_match(void *ctx, const struct isoread_rec *r)
{
	struct isoread_find *f = ctx;
	if (r->kind == 0 && strlen(r->name) == f->wlen && !memcmp(r->name, f->want, f->wlen)) {
		f->found = *r;
		f->hit = true;
		return 1;
	}
	return 0;
}

/* Finds path ("a/b/c") in one tree: 0 with the file's bytes, or -1. */
static inline int isoread_file(const unsigned char *img, size_t len, bool joliet, const char *path,
			const unsigned char **data, size_t *dlen)
{
	struct isoread_vol v;
	if (isoread_volume(img, len, joliet, &v))
		return -1;
	uint32_t lba = v.root_lba, size = v.root_size;
	const char *s = path;
	for (;;) {
		const char *slash = strchr(s, '/');
		struct isoread_find f = { .want = s, .wlen = slash ? (size_t)(slash - s) : strlen(s) };
		if (isoread_dir(img, len, lba, size, joliet, isoread_match, &f) < 0 || !f.hit)
			return -1;
		if (!slash) {
			if (f.found.dir || (uint64_t)f.found.lba * ISOREAD_SEC + f.found.size > len)
				return -1;
			*data = img + (size_t)f.found.lba * ISOREAD_SEC;
			*dlen = f.found.size;
			return 0;
		}
		if (!f.found.dir)
			return -1;
		lba = f.found.lba;
		size = f.found.size;
		s = slash + 1;
	}
}

struct isoread_walk {
	const unsigned char *img;
	size_t len;
	bool joliet;
	int depth, files, dirs;
	uint32_t self_lba, parent_lba;
	char err[128];
	char prev[256];
};

static inline int isoread_walk_entry(void *ctx, const struct isoread_rec *r);

static inline int isoread_walk_dir(struct isoread_walk *w, uint32_t lba, uint32_t size, uint32_t parent)
{
	if (++w->depth > 8) {
		snprintf(w->err, sizeof w->err, "too deep");
		return -1;
	}
	uint32_t sl = w->self_lba, pl = w->parent_lba;
	char prev[256];
	memcpy(prev, w->prev, sizeof prev);
	w->self_lba = lba;
	w->parent_lba = parent;
	w->prev[0] = 0;
	w->dirs++;
	int rc = isoread_dir(w->img, w->len, lba, size, w->joliet, isoread_walk_entry, w);
	if (rc < 0 && !w->err[0])
		snprintf(w->err, sizeof w->err, "malformed directory at %u", lba);
	w->self_lba = sl;
	w->parent_lba = pl;
	memcpy(w->prev, prev, sizeof prev);
	w->depth--;
	return rc;
}

static inline int isoread_walk_entry(void *ctx, const struct isoread_rec *r)
{
	struct isoread_walk *w = ctx;
	if (r->kind == 1 && r->lba != w->self_lba) {
		snprintf(w->err, sizeof w->err, "\".\" does not point at its directory");
		return -1;
	}
	if (r->kind == 2 && r->lba != w->parent_lba) {
		snprintf(w->err, sizeof w->err, "\"..\" does not point at the parent");
		return -1;
	}
	if (r->kind)
		return 0;
	if (!r->name[0]) {
		snprintf(w->err, sizeof w->err, "an entry without a %s name", w->joliet ? "Joliet" : "Rock Ridge");
		return -1;
	}
	/* Entries are sorted by identifier (primary) or name (Joliet). */
	const char *key = w->joliet ? r->name : r->ident;
	if (w->prev[0] && strcmp(w->prev, key) >= 0) {
		snprintf(w->err, sizeof w->err, "entries out of order: %s after %s", key, w->prev);
		return -1;
	}
	snprintf(w->prev, sizeof w->prev, "%s", key);
	if ((uint64_t)r->lba * ISOREAD_SEC + r->size > w->len) {
		snprintf(w->err, sizeof w->err, "%s points past the end", r->name);
		return -1;
	}
	if (r->dir)
		return isoread_walk_dir(w, r->lba, r->size, w->self_lba);
	w->files++;
	return 0;
}

/* Checks one tree and its L and M path tables; the number of files, or -1 with err. */
static inline int isoread_check(const unsigned char *img, size_t len, bool joliet, char *err, size_t errlen)
{
	struct isoread_vol v;
	if (isoread_volume(img, len, joliet, &v)) {
		snprintf(err, errlen, "no valid %s volume descriptor", joliet ? "Joliet" : "primary");
		return -1;
	}
	struct isoread_walk w = { .img = img, .len = len, .joliet = joliet };
	if (isoread_walk_dir(&w, v.root_lba, v.root_size, v.root_lba) < 0) {
		snprintf(err, errlen, "%s", w.err[0] ? w.err : "malformed tree");
		return -1;
	}
	/* The path tables: one record per directory, L and M agreeing, root first. */
	if ((uint64_t)v.pt_l * ISOREAD_SEC + v.pt_size > len || (uint64_t)v.pt_m * ISOREAD_SEC + v.pt_size > len) {
		snprintf(err, errlen, "path table past the end");
		return -1;
	}
	const unsigned char *l = img + (size_t)v.pt_l * ISOREAD_SEC, *m = img + (size_t)v.pt_m * ISOREAD_SEC;
	size_t off = 0;
	int n = 0;
	while (off < v.pt_size) {
		size_t idl = l[off];
		size_t rl = 8 + idl + (idl & 1);
		if (idl == 0 || off + rl > v.pt_size || m[off] != idl ||
		    isoread_le32(l + off + 2) != isoread_be32(m + off + 2) ||
		    memcmp(l + off + 8, m + off + 8, idl)) {
			snprintf(err, errlen, "path tables disagree at %zu", off);
			return -1;
		}
		uint16_t parent = (uint16_t)(l[off + 6] | l[off + 7] << 8);
		if (parent == 0 || parent > n + 1 || (n == 0 && (isoread_le32(l + off + 2) != v.root_lba || parent != 1))) {
			snprintf(err, errlen, "bad path table record %d", n + 1);
			return -1;
		}
		off += rl;
		n++;
	}
	if (n != w.dirs) {
		snprintf(err, errlen, "path table has %d directories, the tree %d", n, w.dirs);
		return -1;
	}
	return w.files;
}

#endif
