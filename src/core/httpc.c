/* httpc.c — the blocking HTTP/1.1 client of httpc.h: parse the URL, connect (TLS when https),
 * send the request with Connection: close, read the status and headers, then the body framed
 * by Content-Length, chunked encoding, or the end of the connection. */
#include "core/httpc.h"
#include "core/arena.h"
#include "core/util.h"
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BODY_MAX (64u << 20)
#define HEAD_MAX (64u << 10)

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[65536];              /* read buffer */
	size_t off, end;
};

static int fail(char *err, size_t errlen, const char *fmt, const char *a)
{
	snprintf(err, errlen, fmt, a);
	return -1;
}

/* Splits url into scheme security, host, port and the request target. */
static int parse_url(const char *url, bool *tls, char *host, size_t hostlen, char *port,
		     const char **target)
{
	const char *p;
	if (!strncasecmp(url, "http://", 7)) {
		*tls = false;
		p = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		*tls = true;
		p = url + 8;
	} else {
		return -1;
	}
	const char *slash = strchr(p, '/');
	size_t hl = slash ? (size_t)(slash - p) : strlen(p);
	*target = slash ? slash : "/";
	char hp[300];
	if (hl == 0 || hl >= sizeof hp)
		return -1;
	memcpy(hp, p, hl);
	hp[hl] = 0;
	char *colon = NULL;
	if (hp[0] == '[') {                          /* [v6]:port */
		char *close = strchr(hp, ']');
		if (!close)
			return -1;
		*close = 0;
		snprintf(host, hostlen, "%s", hp + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strrchr(hp, ':');
		if (colon)
			*colon = 0;
		snprintf(host, hostlen, "%s", hp);
	}
	if (colon) {
		for (const char *d = colon + 1; *d; d++)
			if (!isdigit((unsigned char)*d))
				return -1;
		snprintf(port, 8, "%s", colon + 1);
	} else {
		snprintf(port, 8, "%s", *tls ? "443" : "80");
	}
	return *host ? 0 : -1;
}

static int dial(const char *host, const char *port, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return fail(err, errlen, "cannot resolve %s", host);
	int fd = -1;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, errlen, "cannot connect to %s", host);
	return fd;
}

static int start_tls(struct conn *c, const char *host, const char *ca_file, char *err, size_t errlen)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		return fail(err, errlen, "%s", "TLS context");
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file && *ca_file ? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1
				: SSL_CTX_set_default_verify_paths(c->ctx) != 1)
		return fail(err, errlen, "cannot load the trusted certificates%s", ca_file ? " of ca_file" : "");
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set_tlsext_host_name(c->ssl, host) != 1 ||
	    SSL_set1_host(c->ssl, host) != 1)
		return fail(err, errlen, "%s", "TLS set-up");
	if (SSL_connect(c->ssl) != 1) {
		char e[160];
		ERR_error_string_n(ERR_get_error(), e, sizeof e);
		return fail(err, errlen, "TLS handshake failed: %s", e);
	}
	return 0;
}

static ssize_t raw_read(struct conn *c, void *buf, size_t n)
{
	if (c->ssl) {
		int r = SSL_read(c->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
		if (r > 0)
			return r;
		return SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	for (;;) {
		ssize_t r = read(c->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static int raw_write(struct conn *c, const void *buf, size_t n)
{
	if (!c->ssl)
		return util_write_all(c->fd, buf, n);
	const char *p = buf;
	while (n) {
		int w = SSL_write(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Fills the read buffer when empty: bytes available, 0 at the end, -1 on error. */
static ssize_t fill(struct conn *c)
{
	if (c->off < c->end)
		return (ssize_t)(c->end - c->off);
	ssize_t r = raw_read(c, c->buf, sizeof c->buf);
	if (r <= 0)
		return r;
	c->off = 0;
	c->end = (size_t)r;
	return r;
}

/* One line (without CRLF) into line[cap]: 0, or -1 on error or an over-long line. */
static int read_line(struct conn *c, char *line, size_t cap)
{
	size_t n = 0;
	for (;;) {
		if (fill(c) <= 0)
			return -1;
		char ch = c->buf[c->off++];
		if (ch == '\n') {
			if (n && line[n - 1] == '\r')
				n--;
			line[n] = 0;
			return 0;
		}
		if (n + 1 >= cap)
			return -1;
		line[n++] = ch;
	}
}

struct sink {
	int fd;
	char *mem;
	size_t len, cap;
};

static int sink_put(struct sink *s, const char *p, size_t n)
{
	if (s->fd >= 0) {
		if (util_write_all(s->fd, p, n))
			return -1;
		s->len += n;
		return 0;
	}
	if (s->len + n > BODY_MAX)
		return -1;
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->mem = xrealloc(s->mem, s->cap);
	}
	memcpy(s->mem + s->len, p, n);
	s->len += n;
	s->mem[s->len] = 0;
	return 0;
}

/* Moves up to want bytes (-1: until the end) from the connection to the sink. */
static int copy_body(struct conn *c, struct sink *s, int64_t want)
{
	while (want != 0) {
		ssize_t r = fill(c);
		if (r < 0)
			return -1;
		if (r == 0)
			return want < 0 ? 0 : -1;
		size_t n = (size_t)r;
		if (want > 0 && (int64_t)n > want)
			n = (size_t)want;
		if (sink_put(s, c->buf + c->off, n))
			return -1;
		c->off += n;
		if (want > 0)
			want -= (int64_t)n;
	}
	return 0;
}

static int read_chunked(struct conn *c, struct sink *s)
{
	char line[256];
	for (;;) {
		if (read_line(c, line, sizeof line))
			return -1;
		char *end;
		errno = 0;
		unsigned long long n = strtoull(line, &end, 16);
		if (end == line || errno || n > BODY_MAX * 1024ull)
			return -1;
		if (n == 0)
			break;
		if (copy_body(c, s, (int64_t)n) || read_line(c, line, sizeof line) || line[0])
			return -1;
	}
	do {                                          /* trailers, up to the empty line */
		if (read_line(c, line, sizeof line))
			return -1;
	} while (line[0]);
	return 0;
}

const char *httpc_header(const struct httpc_resp *r, const char *name, char *buf, size_t len)
{
	if (!r->headers)
		return NULL;
	size_t nl = strlen(name);
	for (const char *p = r->headers; *p;) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl = ll - nl - 1;
			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(buf, len, "%.*s", (int)vl, v);
			return buf;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return NULL;
}

void httpc_resp_free(struct httpc_resp *r)
{
	free(r->headers);
	free(r->body);
	*r = (struct httpc_resp){ 0 };
}

static int send_request(struct conn *c, const struct httpc_req *q, const char *host,
			const char *port, const char *target, char *err, size_t errlen)
{
	size_t cap = 4096, len = 0;
	char *head = xmalloc(cap);
	len += (size_t)snprintf(head, cap, "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n",
				q->method, target, host, port);
	bool has_body = q->body || q->body_fd >= 0;
	for (const char *const *h = q->headers; h && *h; h++) {
		size_t hl = strlen(*h);
		if (len + hl + 3 > cap) {
			cap = (len + hl + 3) * 2;
			head = xrealloc(head, cap);
		}
		len += (size_t)snprintf(head + len, cap - len, "%s\r\n", *h);
	}
	if (len + 64 > cap)
		head = xrealloc(head, cap = len + 64);
	if (has_body || !strcmp(q->method, "POST") || !strcmp(q->method, "PUT"))
		len += (size_t)snprintf(head + len, cap - len, "Content-Length: %lld\r\n",
					(long long)(has_body ? q->body_len : 0));
	len += (size_t)snprintf(head + len, cap - len, "\r\n");
	int rc = raw_write(c, head, len);
	free(head);
	if (rc)
		return fail(err, errlen, "sending the request to %s failed", host);
	if (q->body && raw_write(c, q->body, (size_t)q->body_len))
		return fail(err, errlen, "sending the body to %s failed", host);
	if (!q->body && q->body_fd >= 0) {
		int64_t left = q->body_len;
		char *buf = xmalloc(1 << 20);
		while (left > 0 && !rc) {
			ssize_t n = read(q->body_fd, buf, left < (1 << 20) ? (size_t)left : (1 << 20));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || raw_write(c, buf, (size_t)n))
				rc = -1;
			else
				left -= n;
		}
		free(buf);
		if (rc)
			return fail(err, errlen, "sending the body to %s failed", host);
	}
	return 0;
}

static int read_response(struct conn *c, const struct httpc_req *q, struct httpc_resp *out,
			 char *err, size_t errlen)
{
	char line[8192];
	if (read_line(c, line, sizeof line))
		return fail(err, errlen, "%s", "no answer");
	int major, minor, status;
	if (sscanf(line, "HTTP/%d.%d %d", &major, &minor, &status) != 3 || status < 100 || status > 999)
		return fail(err, errlen, "%s", "malformed status line");
	struct sink hs = { .fd = -1 };
	for (;;) {
		if (read_line(c, line, sizeof line) || hs.len + strlen(line) > HEAD_MAX) {
			free(hs.mem);
			return fail(err, errlen, "%s", "malformed headers");
		}
		if (!line[0])
			break;
		sink_put(&hs, line, strlen(line));
		sink_put(&hs, "\n", 1);
	}
	out->status = status;
	out->headers = hs.mem ? hs.mem : xstrdup("");
	if (status == 100)                            /* an interim answer: the real one follows */
		return httpc_resp_free(out), read_response(c, q, out, err, errlen);
	char v[64];
	struct sink body = { .fd = (q->out_fd >= 0 && status / 100 == 2) ? q->out_fd : -1 };
	int rc = 0;
	bool no_body = !strcmp(q->method, "HEAD") || status == 204 || status == 304;
	if (no_body) {
		rc = 0;
	} else if (httpc_header(out, "Transfer-Encoding", v, sizeof v) && strcasestr(v, "chunked")) {
		rc = read_chunked(c, &body);
	} else if (httpc_header(out, "Content-Length", v, sizeof v)) {
		char *end;
		long long n = strtoll(v, &end, 10);
		rc = (*end || n < 0) ? -1 : copy_body(c, &body, n);
	} else {
		rc = copy_body(c, &body, -1);
	}
	out->len = body.len;
	out->body = body.fd >= 0 ? NULL : (body.mem ? body.mem : xstrdup(""));
	if (rc) {
		if (body.fd < 0)
			free(body.mem), out->body = NULL;
		return fail(err, errlen, "%s", "the answer's body was cut short or too large");
	}
	return 0;
}

int httpc_do(const struct httpc_req *q, struct httpc_resp *out, char *err, size_t errlen)
{
	*out = (struct httpc_resp){ 0 };
	bool tls;
	char host[256], port[8];
	const char *target;
	if (parse_url(q->url, &tls, host, sizeof host, port, &target))
		return fail(err, errlen, "bad URL %s", q->url);
	struct conn *c = xcalloc(1, sizeof *c);
	int ms = q->timeout_ms > 0 ? q->timeout_ms : 30000;
	int rc = -1;
	c->fd = dial(host, port, ms, err, errlen);
	if (c->fd >= 0 && (!tls || start_tls(c, host, q->ca_file, err, errlen) == 0) &&
	    send_request(c, q, host, port, target, err, errlen) == 0)
		rc = read_response(c, q, out, err, errlen);
	if (rc)
		httpc_resp_free(out);
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc;
}
