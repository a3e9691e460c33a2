/* download.c — GET (and HEAD) /v2/images/{id}/file: streams an image's data back from its
 * store, with sendfile when the store hands over a file, and the single byte range of a Range
 * (or legacy Content-Range) request header as Glance honours them. */
#include "image/img.h"
#include "image/store.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses digits (at most 18) at *p; false when there are none. */
static bool digits(const char **p, int64_t *out)
{
	int64_t v = 0;
	int n = 0;
	while (**p >= '0' && **p <= '9') {
		if (++n > 18)
			return false;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return n > 0;
}

static void spaces(const char **p)
{
	while (**p == ' ')
		(*p)++;
}

/* webob's Range: "bytes=A-B" → [A, B+1), "bytes=A-" → [A, end), "bytes=-N" → start -N.
 * end -1: to the end. False when invalid. */
static bool parse_range(const char *s, int64_t *start, int64_t *end)
{
	if (strncasecmp(s, "bytes", 5))
		return false;
	s += 5;
	spaces(&s);
	if (*s++ != '=')
		return false;
	spaces(&s);
	int64_t a = 0, b = 0;
	bool has_a = digits(&s, &a);
	spaces(&s);
	if (*s++ != '-')
		return false;
	spaces(&s);
	bool has_b = digits(&s, &b);
	if (!has_a) {
		if (!has_b)
			return false;
		*start = -b;
		*end = -1;
		return true;
	}
	*start = a;
	*end = has_b ? b + 1 : -1;
	return !has_b || a < *end;
}

/* The legacy Content-Range request header, "bytes A-B/LEN" (LEN may be a star): [A, B+1). */
static bool parse_content_range(const char *s, int64_t *start, int64_t *stop)
{
	if (strncmp(s, "bytes ", 6))
		return false;
	s += 6;
	int64_t a, b, len = -1;
	if (!digits(&s, &a) || *s++ != '-' || !digits(&s, &b) || *s++ != '/')
		return false;
	if (*s == '*')
		s++;
	else if (!digits(&s, &len))
		return false;
	*start = a;
	*stop = b + 1;
	return a < *stop && (len < 0 || (*stop <= len && a < len));
}

/* Works out which part of `size` bytes to send: 0 (with *partial set when 206), or 416/400. */
static int download_range(struct http_req *r, int64_t size, int64_t *offset, int64_t *length,
			  bool *partial)
{
	*offset = 0;
	*length = size;
	*partial = false;
	const char *range = http_header(r, "Range"), *crange = http_header(r, "Content-Range");
	int64_t start, end;
	if (range) {
		if (strchr(range, ','))
			return http_error(r, ERR_BADREQ, "Requests with multiple ranges are not supported in"
					  " Glance. You may make multiple single-range requests instead.");
		if (!parse_range(range, &start, &end))
			return http_error(r, ERR_RANGE, "Invalid Range header.");
		if (start >= size)
			return http_error(r, ERR_RANGE, "Invalid start position in Range header. Start"
					  " position MUST be in the inclusive range [0, %lld].",
					  (long long)(size - 1));
		*offset = start >= 0 ? start : (-start < size ? size + start : 0);
		*length = end >= 0 && end < size ? end - *offset : size - *offset;
	} else if (crange) {
		if (!parse_content_range(crange, &start, &end))
			return http_error(r, ERR_RANGE, "Invalid Content-Range header.");
		if (end > size)
			return http_error(r, ERR_RANGE, "Invalid stop position in Content-Range header. The"
					  " stop position MUST be in the inclusive range [0, %lld].",
					  (long long)(size - 1));
		if (start >= size)
			return http_error(r, ERR_RANGE, "Invalid start position in Content-Range header. Start"
					  " position MUST be in the inclusive range [0, %lld].",
					  (long long)(size - 1));
		*offset = start;
		*length = end - start;
	} else {
		return 0;
	}
	if (*length < 0)
		*length = 0;
	*partial = true;
	http_add_header(r, "Content-Range", arena_printf(r->arena, "bytes %lld-%lld/%lld",
		(long long)*offset, (long long)(*offset + *length - 1), (long long)size));
	return 0;
}

/* A store reader seen from an offset, for http_reply_stream (heap: it may outlive the request). */
struct ranged {
	struct img_reader rd;
	int64_t offset;
};

static ssize_t ranged_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct ranged *g = ctx;
	return g->rd.read(g->rd.ctx, (uint64_t)g->offset + pos, buf, max);
}

static void ranged_free(void *ctx)
{
	struct ranged *g = ctx;
	img_reader_close(&g->rd);
	free(g);
}

/* GET /v2/images/{image_id}/file (and HEAD). */
static int h_download(struct http_req *r)
{
	struct img *im;
	int rc = img_load(r, http_param(r, "image_id"), &im);
	if (rc < 0)
		return rc;
	if (!strcmp(im->status, "deactivated") && !img_is_admin(r))
		return http_error(r, ERR_FORBIDDEN, "The requested image has been deactivated. Image data"
				  " download is forbidden.");
	if ((rc = img_enforce(r, "download_image", im)) < 0)
		return rc;
	struct img_store *store = img_store_find(img_svc(r), im->store);
	struct img_reader rd;
	if (!store || !im->location || img_store_reader(store, im->location, &rd) < 0)
		return http_reply_empty(r, 204);          /* no data (Glance: HTTPNoContent) */
	int64_t offset, length;
	bool partial;
	if ((rc = download_range(r, rd.size, &offset, &length, &partial)) < 0) {
		img_reader_close(&rd);
		return rc;
	}
	if (im->checksum)
		http_add_header(r, "Content-MD5", im->checksum);
	int status = partial ? 206 : 200;
	if (rd.fd >= 0)
		return http_reply_fd(r, status, "application/octet-stream", rd.fd, offset, length);
	struct ranged *g = xmalloc(sizeof *g);
	*g = (struct ranged){ .rd = rd, .offset = offset };
	return http_reply_stream(r, status, "application/octet-stream", length, ranged_read, ranged_free, g);
}

const struct route img_routes_download[] = {
	{ "GET", "/v2/images/{image_id}/file", h_download, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
