/* iso9660.c — writes an ISO 9660 image in memory, the way genisoimage -J -r lays one out:
 * system area, primary and Joliet volume descriptors, L and M path tables for both trees, a
 * Rock Ridge continuation block (the ER entry), the primary directories (ISO level 2
 * identifiers plus Rock Ridge PX/NM entries), the Joliet directories (UCS-2 names) and the
 * file data that both trees share. */
#include "virt/iso9660.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEC ISO9660_SECTOR
#define IDENT_MAX 31                     /* level 2 identifiers (30 + ".") without ";1" */

struct node {
	char *name;                      /* the real name (Rock Ridge NM, Joliet) */
	char ident[IDENT_MAX + 3];       /* ISO 9660 identifier: "META_DATA.JSON;1", "OPENSTACK" */
	bool dir;
	struct node *parent;
	struct node **kids, **jkids;     /* children in primary and in Joliet order */
	size_t nkids, capkids;
	unsigned char *data;
	size_t len;
	uint32_t lba, size;              /* file data, or the primary directory extent */
	uint32_t jlba, jsize;            /* the Joliet directory extent */
	uint16_t num, jnum;              /* path table numbers (root is 1) */
	int nsubdirs;
};

struct iso9660 {
	char volume_id[33];
	struct node root;
	size_t nnodes, data_bytes;
};

/* The Rock Ridge extension reference (RRIP 1991A), stored in the continuation block. */
static const char er_id[] = "RRIP_1991A";
static const char er_des[] = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
static const char er_src[] = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";
#define ER_LEN (8 + sizeof er_id - 1 + sizeof er_des - 1 + sizeof er_src - 1)
_Static_assert(ER_LEN <= 255, "the ER entry fits one system use entry");

#define SU_SP 7
#define SU_CE 28
#define SU_PX 36
#define SU_NM(n) (5 + (n))

/* ---- byte order helpers (ECMA-119 7.2 and 7.3) ---- */

static void put_le16(unsigned char *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }
static void put_be16(unsigned char *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static void put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[3 - i] = (unsigned char)(v >> (8 * i));
}
static void put_both16(unsigned char *p, uint16_t v) { put_le16(p, v); put_be16(p + 2, v); }
static void put_both32(unsigned char *p, uint32_t v) { put_le32(p, v); put_be32(p + 4, v); }

/* ---- building the tree ---- */

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > ISO9660_NAME_MAX || (n == 1 && s[0] == '.') || (n == 2 && !memcmp(s, "..", 2)))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("._+~=@,-", c)))
			return false;
	}
	return true;
}

struct iso9660 *iso9660_new(const char *volume_id)
{
	size_t n = volume_id ? strlen(volume_id) : 0;
	if (n == 0 || n > 32)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)volume_id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return NULL;
	}
	struct iso9660 *iso = calloc(1, sizeof *iso);
	if (!iso)
		return NULL;
	memcpy(iso->volume_id, volume_id, n + 1);
	iso->root.dir = true;
	iso->root.parent = &iso->root;
	iso->nnodes = 1;
	return iso;
}

static struct node *child(struct node *d, const char *name, size_t n)
{
	for (size_t i = 0; i < d->nkids; i++)
		if (strlen(d->kids[i]->name) == n && !memcmp(d->kids[i]->name, name, n))
			return d->kids[i];
	return NULL;
}

static struct node *add_child(struct iso9660 *iso, struct node *d, const char *name, size_t n, bool dir)
{
	if (iso->nnodes >= ISO9660_FILES_MAX)
		return NULL;
	if (d->nkids == d->capkids) {
		size_t cap = d->capkids ? d->capkids * 2 : 8;
		struct node **k = realloc(d->kids, cap * sizeof *k);
		if (!k)
			return NULL;
		d->kids = k;
		d->capkids = cap;
	}
	struct node *c = calloc(1, sizeof *c);
	if (!c || !(c->name = strndup(name, n))) {
		free(c);
		return NULL;
	}
	c->dir = dir;
	c->parent = d;
	d->kids[d->nkids++] = c;
	if (dir)
		d->nsubdirs++;
	iso->nnodes++;
	return c;
}

int iso9660_add_file(struct iso9660 *iso, const char *path, const void *data, size_t len)
{
	if (!iso || !path || strlen(path) > 255 || len > ISO9660_DATA_MAX ||
	    iso->data_bytes + len > ISO9660_DATA_MAX || (len && !data))
		return -1;
	struct node *d = &iso->root;
	int depth = 0;
	const char *s = path;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (!name_ok(s, n))
			return -1;
		struct node *c = child(d, s, n);
		if (!slash) {
			if (c)
				return -1;                /* a duplicate path */
			c = add_child(iso, d, s, n, false);
			if (!c)
				return -1;
			if (len) {
				c->data = malloc(len);
				if (!c->data) {           /* take the new entry back out */
					d->nkids--;
					iso->nnodes--;
					free(c->name);
					free(c);
					return -1;
				}
				memcpy(c->data, data, len);
				c->len = len;
				iso->data_bytes += len;
			}
			return 0;
		}
		if (++depth > ISO9660_DEPTH_MAX)
			return -1;
		if (c && !c->dir)
			return -1;
		if (!c && !(c = add_child(iso, d, s, n, true)))
			return -1;
		d = c;
		s = slash + 1;
	}
}

static void free_node(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		free_node(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	free(n->jkids);
	free(n->name);
	free(n->data);
}

void iso9660_free(struct iso9660 *iso)
{
	if (!iso)
		return;
	free_node(&iso->root);
	free(iso);
}

/* ---- identifiers and order ---- */

static size_t map_dchars(const char *s, size_t n, char *out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		out[k++] = c;
	}
	return k;
}

/* The level 2 identifier of n, with "~k" worked into the name when k > 0 (to make it unique). */
static void make_ident(struct node *n, int k)
{
	char suffix[12] = "";
	if (k > 0)
		snprintf(suffix, sizeof suffix, "~%d", k);
	size_t sl = strlen(suffix);
	char *o = n->ident;
	if (n->dir) {
		size_t b = map_dchars(n->name, strlen(n->name), o, IDENT_MAX - sl);
		memcpy(o + b, suffix, sl + 1);
		return;
	}
	const char *dot = strrchr(n->name, '.');
	size_t blen = dot ? (size_t)(dot - n->name) : strlen(n->name);
	const char *ext = dot ? dot + 1 : "";
	char e[IDENT_MAX];
	size_t el = map_dchars(ext, strlen(ext), e, 10);
	size_t b = map_dchars(n->name, blen, o, IDENT_MAX - 1 - el - sl);
	if (b == 0 && sl == 0)
		o[b++] = '_';
	memcpy(o + b, suffix, sl);
	b += sl;
	o[b++] = '.';
	memcpy(o + b, e, el);
	b += el;
	memcpy(o + b, ";1", 3);
}

static int cmp_ident(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->ident, (*(struct node *const *)b)->ident);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->name, (*(struct node *const *)b)->name);
}

/* Gives every node of d's subtree a unique identifier and both sort orders. */
static int prepare(struct node *d)
{
	for (size_t i = 0; i < d->nkids; i++) {
		struct node *c = d->kids[i];
		for (int k = 0;; k++) {
			make_ident(c, k);
			size_t j = 0;
			while (j < i && strcmp(d->kids[j]->ident, c->ident))
				j++;
			if (j == i)
				break;
		}
	}
	free(d->jkids);
	d->jkids = NULL;
	if (d->nkids) {
		d->jkids = malloc(d->nkids * sizeof *d->jkids);
		if (!d->jkids)
			return -1;
		memcpy(d->jkids, d->kids, d->nkids * sizeof *d->kids);
		qsort(d->kids, d->nkids, sizeof *d->kids, cmp_ident);
		qsort(d->jkids, d->nkids, sizeof *d->jkids, cmp_name);
	}
	for (size_t i = 0; i < d->nkids; i++)
		if (d->kids[i]->dir && prepare(d->kids[i]))
			return -1;
	return 0;
}

/* Breadth-first directory order (the path table order) of one tree. */
static size_t bfs(struct node *root, bool joliet, struct node **order)
{
	size_t n = 0, head = 0;
	order[n++] = root;
	while (head < n) {
		struct node *d = order[head++];
		if (joliet)
			d->jnum = (uint16_t)head;
		else
			d->num = (uint16_t)head;
		struct node **kids = joliet ? d->jkids : d->kids;
		for (size_t i = 0; i < d->nkids; i++)
			if (kids[i]->dir)
				order[n++] = kids[i];
	}
	return n;
}

/* ---- records ---- */

struct layout {
	unsigned char date7[7];
	uint32_t ce_lba;
};

/* Joliet identifier: the name in UCS-2 big endian, ";1" after a file's. */
static size_t joliet_id(const struct node *n, unsigned char *out)
{
	size_t k = 0;
	for (const char *s = n->name; *s; s++) {
		out[k++] = 0;
		out[k++] = (unsigned char)*s;
	}
	if (!n->dir) {
		memcpy(out + k, "\0;\0" "1", 4);
		k += 4;
	}
	return k;
}

static size_t put_px(unsigned char *p, const struct node *n)
{
	p[0] = 'P'; p[1] = 'X'; p[2] = SU_PX; p[3] = 1;
	put_both32(p + 4, n->dir ? 040555 : 0100444);
	put_both32(p + 12, n->dir ? (uint32_t)(2 + n->nsubdirs) : 1);
	put_both32(p + 20, 0);
	put_both32(p + 28, 0);
	return SU_PX;
}

/* One directory record at p (when p is not NULL); returns its length. kind: 0 the entry
 * itself, 1 ".", 2 "..". */
static size_t record(unsigned char *p, const struct layout *lo, const struct node *n, int kind,
		     bool joliet, bool root_dot)
{
	unsigned char id[2 * ISO9660_NAME_MAX + 4], su[256];
	size_t idlen, sulen = 0;
	if (kind) {
		id[0] = (unsigned char)(kind - 1);
		idlen = 1;
	} else if (joliet) {
		idlen = joliet_id(n, id);
	} else {
		idlen = strlen(n->ident);
		memcpy(id, n->ident, idlen);
	}
	if (!joliet) {
		if (root_dot) {
			unsigned char *s = su;
			s[0] = 'S'; s[1] = 'P'; s[2] = SU_SP; s[3] = 1; s[4] = 0xbe; s[5] = 0xef; s[6] = 0;
			s += SU_SP;
			s[0] = 'C'; s[1] = 'E'; s[2] = SU_CE; s[3] = 1;
			put_both32(s + 4, lo ? lo->ce_lba : 0);
			put_both32(s + 12, 0);
			put_both32(s + 20, (uint32_t)ER_LEN);
			sulen = SU_SP + SU_CE;
		}
		sulen += put_px(su + sulen, n);
		if (!kind) {
			size_t nl = strlen(n->name);
			unsigned char *s = su + sulen;
			s[0] = 'N'; s[1] = 'M'; s[2] = (unsigned char)SU_NM(nl); s[3] = 1; s[4] = 0;
			memcpy(s + 5, n->name, nl);
			sulen += SU_NM(nl);
		}
	}
	size_t len = 33 + idlen;
	len += len & 1;
	size_t total = len + sulen;
	if (!p)
		return total;
	memset(p, 0, total);
	p[0] = (unsigned char)total;
	uint32_t lba = joliet && n->dir ? n->jlba : n->lba;
	uint32_t size = n->dir ? (joliet ? n->jsize : n->size) : (uint32_t)n->len;
	put_both32(p + 2, lba);
	put_both32(p + 10, size);
	memcpy(p + 18, lo->date7, 7);
	p[25] = n->dir ? 2 : 0;
	put_both16(p + 28, 1);
	p[32] = (unsigned char)idlen;
	memcpy(p + 33, id, idlen);
	memcpy(p + len, su, sulen);
	return total;
}

/* Lays out (img NULL: only measures) the directory extent of d; returns its size in bytes. */
static uint32_t dir_extent(unsigned char *img, const struct layout *lo, struct node *d, bool joliet,
			   bool is_root)
{
	unsigned char *base = img ? img + (size_t)(joliet ? d->jlba : d->lba) * SEC : NULL;
	size_t off = 0;
	for (size_t i = 0; i < d->nkids + 2; i++) {
		const struct node *n = i == 0 ? d : i == 1 ? d->parent : (joliet ? d->jkids : d->kids)[i - 2];
		int kind = i < 2 ? (int)i + 1 : 0;
		size_t len = record(NULL, lo, n, kind, joliet, is_root && i == 0);
		if (off % SEC + len > SEC)
			off += SEC - off % SEC;   /* records never cross a sector boundary */
		if (base)
			record(base + off, lo, n, kind, joliet, is_root && i == 0);
		off += len;
	}
	return (uint32_t)((off + SEC - 1) / SEC * SEC);
}

static size_t path_table(unsigned char *p, struct node **order, size_t n, bool joliet, bool msb)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		struct node *d = order[i];
		unsigned char id[2 * ISO9660_NAME_MAX + 4];
		size_t idlen;
		if (i == 0) {
			id[0] = 0;
			idlen = 1;
		} else if (joliet) {
			idlen = joliet_id(d, id);
		} else {
			idlen = strlen(d->ident);
			memcpy(id, d->ident, idlen);
		}
		if (p) {
			uint32_t lba = joliet ? d->jlba : d->lba;
			uint16_t parent = joliet ? d->parent->jnum : d->parent->num;
			p[off] = (unsigned char)idlen;
			p[off + 1] = 0;
			if (msb) {
				put_be32(p + off + 2, lba);
				put_be16(p + off + 6, parent);
			} else {
				put_le32(p + off + 2, lba);
				put_le16(p + off + 6, parent);
			}
			memcpy(p + off + 8, id, idlen);
		}
		off += 8 + idlen + (idlen & 1);
	}
	return off;
}

/* ---- volume descriptors ---- */

static void put_text(unsigned char *p, size_t bytes, const char *s, bool joliet)
{
	size_t n = strlen(s);
	if (!joliet) {
		memset(p, ' ', bytes);
		memcpy(p, s, n < bytes ? n : bytes);
		return;
	}
	for (size_t i = 0; i + 1 < bytes; i += 2) {
		p[i] = 0;
		p[i + 1] = i / 2 < n ? (unsigned char)s[i / 2] : ' ';
	}
}

struct vd {
	uint32_t total, pt_size, pt_l, pt_m;
	const struct node *root;
	char date17[17];
};

static void put_vd(unsigned char *p, const struct iso9660 *iso, const struct layout *lo, const struct vd *v,
		   bool joliet)
{
	p[0] = joliet ? 2 : 1;
	memcpy(p + 1, "CD001", 5);
	p[6] = 1;
	put_text(p + 8, 32, "LINUX", joliet);
	put_text(p + 40, 32, iso->volume_id, joliet);
	put_both32(p + 80, v->total);
	if (joliet)
		memcpy(p + 88, "%/E", 3);         /* UCS-2 level 3 */
	put_both16(p + 120, 1);
	put_both16(p + 124, 1);
	put_both16(p + 128, SEC);
	put_both32(p + 132, v->pt_size);
	put_le32(p + 140, v->pt_l);
	put_be32(p + 148, v->pt_m);
	/* The root directory record (34 bytes, no system use field). */
	unsigned char *r = p + 156;
	r[0] = 34;
	put_both32(r + 2, joliet ? v->root->jlba : v->root->lba);
	put_both32(r + 10, joliet ? v->root->jsize : v->root->size);
	memcpy(r + 18, lo->date7, 7);
	r[25] = 2;
	put_both16(r + 28, 1);
	r[32] = 1;
	put_text(p + 190, 128, "", joliet);
	put_text(p + 318, 128, "monostack", joliet);
	put_text(p + 446, 128, "", joliet);
	put_text(p + 574, 128, "monostack config drive", joliet);
	put_text(p + 702, 37, "", joliet);
	put_text(p + 739, 37, "", joliet);
	put_text(p + 776, 37, "", joliet);
	memcpy(p + 813, v->date17, 17);
	memcpy(p + 830, v->date17, 17);
	memset(p + 847, '0', 16);
	memset(p + 864, '0', 16);
	p[881] = 1;
}

/* ---- the whole image ---- */

int iso9660_render(struct iso9660 *iso, int64_t mtime, unsigned char **out, size_t *outlen)
{
	struct node **order = NULL, **jorder = NULL;
	int rc = -1;
	if (prepare(&iso->root))
		goto out;
	order = calloc(iso->nnodes, sizeof *order);
	jorder = calloc(iso->nnodes, sizeof *jorder);
	if (!order || !jorder)
		goto out;
	size_t ndirs = bfs(&iso->root, false, order);
	bfs(&iso->root, true, jorder);

	struct layout lo = { 0 };
	struct vd pv = { .root = &iso->root }, jv = { .root = &iso->root };
	time_t t = (time_t)mtime;
	struct tm tm;
	gmtime_r(&t, &tm);
	if (tm.tm_year < 70 || tm.tm_year > 255)
		tm = (struct tm){ .tm_year = 70, .tm_mday = 1 };
	unsigned char d7[7] = { (unsigned char)tm.tm_year, (unsigned char)(tm.tm_mon + 1), (unsigned char)tm.tm_mday,
				(unsigned char)tm.tm_hour, (unsigned char)tm.tm_min, (unsigned char)tm.tm_sec, 0 };
	memcpy(lo.date7, d7, 7);
	char d17[18];
	snprintf(d17, sizeof d17, "%04d%02d%02d%02d%02d%02d00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(pv.date17, d17, 16);
	pv.date17[16] = 0;
	memcpy(jv.date17, pv.date17, 17);

	/* Sectors: 0-15 system area, 16 primary, 17 Joliet, 18 terminator, then path tables. */
	uint32_t lba = 19;
	pv.pt_size = (uint32_t)path_table(NULL, order, ndirs, false, false);
	jv.pt_size = (uint32_t)path_table(NULL, jorder, ndirs, true, false);
	uint32_t pt_secs = (pv.pt_size + SEC - 1) / SEC, jpt_secs = (jv.pt_size + SEC - 1) / SEC;
	pv.pt_l = lba; lba += pt_secs;
	pv.pt_m = lba; lba += pt_secs;
	jv.pt_l = lba; lba += jpt_secs;
	jv.pt_m = lba; lba += jpt_secs;
	lo.ce_lba = lba++;
	for (size_t i = 0; i < ndirs; i++) {
		struct node *d = order[i];
		d->size = dir_extent(NULL, &lo, d, false, i == 0);
		d->lba = lba;
		lba += d->size / SEC;
	}
	for (size_t i = 0; i < ndirs; i++) {
		struct node *d = jorder[i];
		d->jsize = dir_extent(NULL, &lo, d, true, i == 0);
		d->jlba = lba;
		lba += d->jsize / SEC;
	}
	for (size_t i = 0; i < ndirs; i++)
		for (size_t k = 0; k < order[i]->nkids; k++) {
			struct node *f = order[i]->kids[k];
			if (f->dir)
				continue;
			f->lba = f->len ? lba : 0;
			lba += (uint32_t)((f->len + SEC - 1) / SEC);
		}
	pv.total = jv.total = lba;

	size_t size = (size_t)lba * SEC;
	unsigned char *img = calloc(1, size);
	if (!img)
		goto out;
	put_vd(img + 16 * SEC, iso, &lo, &pv, false);
	put_vd(img + 17 * SEC, iso, &lo, &jv, true);
	unsigned char *term = img + 18 * SEC;
	term[0] = 255;
	memcpy(term + 1, "CD001", 5);
	term[6] = 1;
	path_table(img + (size_t)pv.pt_l * SEC, order, ndirs, false, false);
	path_table(img + (size_t)pv.pt_m * SEC, order, ndirs, false, true);
	path_table(img + (size_t)jv.pt_l * SEC, jorder, ndirs, true, false);
	path_table(img + (size_t)jv.pt_m * SEC, jorder, ndirs, true, true);

	unsigned char *er = img + (size_t)lo.ce_lba * SEC;
	er[0] = 'E'; er[1] = 'R'; er[2] = (unsigned char)ER_LEN; er[3] = 1;
	er[4] = sizeof er_id - 1; er[5] = sizeof er_des - 1; er[6] = sizeof er_src - 1; er[7] = 1;
	memcpy(er + 8, er_id, sizeof er_id - 1);
	memcpy(er + 8 + sizeof er_id - 1, er_des, sizeof er_des - 1);
	memcpy(er + 8 + sizeof er_id - 1 + sizeof er_des - 1, er_src, sizeof er_src - 1);

	for (size_t i = 0; i < ndirs; i++) {
		dir_extent(img, &lo, order[i], false, i == 0);
		dir_extent(img, &lo, jorder[i], true, i == 0);
		for (size_t k = 0; k < order[i]->nkids; k++) {
			struct node *f = order[i]->kids[k];
			if (!f->dir && f->len)
				memcpy(img + (size_t)f->lba * SEC, f->data, f->len);
		}
	}
	*out = img;
	*outlen = size;
	rc = 0;
out:
	free(order);
	free(jorder);
	return rc;
}
