/* http.c — libmicrohttpd glue: accepts requests, collects bodies within limits, routes them to
 * services by path prefix, renders responses with the request id, and logs one line each. */
#include "core/http.h"
#include "core/router.h"
#include "core/log.h"
#include "core/util.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY (1024 * 1024)

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_service *const *services;
	int nservices;
	bool tls;
	char *tls_cert, *tls_key;
};

/* A response body not in memory. Heap memory: the request owns it until send_response() hands
 * it to libmicrohttpd, whose response then frees it once done (also when the client goes away),
 * possibly after the request's arena is gone. */
struct http_stream {
	http_read_fn read;
	void (*free_ctx)(void *);
	void *ctx;
	int fd;                       /* >= 0: the body is this file */
	int64_t offset, size;         /* size -1: unknown */
};

static void stream_free(struct http_stream *st)
{
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	if (st->free_ctx)
		st->free_ctx(st->ctx);
	free(st);
}

static void drop_stream(struct http_req *r)
{
	stream_free(r->resp_stream);
	r->resp_stream = NULL;
}

static void drop_stream_void(void *r)
{
	drop_stream(r);
}

static void set_stream(struct http_req *r, int status, const char *type, struct http_stream *st)
{
	if (r->resp_json) {
		json_decref(r->resp_json);
		r->resp_json = NULL;
	}
	if (r->resp_stream)
		drop_stream(r);
	else
		arena_defer(r->arena, drop_stream_void, r);   /* unless send_response() takes it */
	r->status = status;
	r->resp_body = NULL;
	r->resp_len = 0;
	r->resp_type = type ? arena_strdup(r->arena, type) : NULL;
	r->resp_stream = st;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *st = cls;
	ssize_t n = st->read(st->ctx, pos, buf, max);
	if (n > 0)
		return n;
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_done(void *cls)
{
	stream_free(cls);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct stat st;
	if (fstat(fileno(f), &st) || st.st_size > 1 << 20) {
		fclose(f);
		return NULL;
	}
	char *buf = xmalloc((size_t)st.st_size + 1);
	size_t n = fread(buf, 1, (size_t)st.st_size, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static const struct http_service *find_service(struct http_server *s, const char *url, const char **sub)
{
	const struct http_service *best = NULL;
	size_t bestlen = 0;
	for (int i = 0; i < s->nservices; i++) {
		const char *p = s->services[i]->prefix;
		size_t n = strlen(p);
		if (!strncmp(url, p, n) && (url[n] == 0 || url[n] == '/') && n >= bestlen) {
			best = s->services[i];
			bestlen = n;
		}
	}
	if (best)
		*sub = url + bestlen;
	return best;
}

static void render_plain_error(struct http_req *r)
{
	int st = err_status(r->err);
	json_t *j = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", st, "title", err_title(st),
			      "message", r->errmsg);
	http_reply_json(r, st, j);
}

/* Records rc (with a default message) unless an error is already recorded. */
static void record(struct http_req *r, int rc)
{
	if (r->err)
		return;
	r->err = rc;
	if (!r->errmsg[0])
		snprintf(r->errmsg, sizeof r->errmsg, "%s", err_title(err_status(rc)));
}

/* Runs as soon as the headers are in: routing and the service's before hook (authentication),
 * so a streamed body only flows to an authorised handler. Errors are kept for the end. */
static void prepare(struct http_req *r)
{
	const struct http_service *svc = r->svc;
	if (!svc) {
		http_error(r, ERR_NOTFOUND, "The resource could not be found.");
		return;
	}
	bool known;
	r->route = router_match(svc->routes, r, r->method, r->subpath, &known);
	if (!r->route) {
		if (known)
			http_error(r, ERR_METHOD, "The method is not allowed for the requested URL.");
		else
			http_error(r, ERR_NOTFOUND, "The resource could not be found.");
		return;
	}
	int rc;
	if (svc->before && (rc = svc->before(r)) < 0)
		record(r, rc);
}

/* Takes one piece of the body: to the route's streaming handler, or into the buffer. */
static void take_body(struct http_req *r, const char *data, size_t n)
{
	if (r->err)
		return;                          /* the answer is already decided: drop the rest */
	if (r->route->on_body) {
		int rc = r->route->on_body(r, data, n);
		if (rc < 0)
			record(r, rc);
		return;
	}
	size_t max = r->svc->max_body ? r->svc->max_body : DEFAULT_MAX_BODY;
	if (r->body_too_big || n > max - r->body_len) {
		r->body_too_big = true;
		return;
	}
	if (r->body_len + n + 1 > r->body_cap) {  /* grow geometrically inside the arena */
		size_t cap = r->body_cap ? r->body_cap : 4096;
		while (cap < r->body_len + n + 1)
			cap *= 2;
		char *nb = arena_alloc(r->arena, cap);
		if (r->body_len)
			memcpy(nb, r->body, r->body_len);
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = 0;
}

static void dispatch(struct http_req *r)
{
	const struct http_service *svc = r->svc;
	if (!r->err && r->body_too_big)
		http_error(r, ERR_TOOBIG, "Request is too large.");
	if (!r->err) {
		int rc = r->route->handler(r);
		if (rc >= 0) {
			if (!r->status)
				http_reply_empty(r, 204);
			return;
		}
		record(r, rc);
	}
	if (r->resp_json) {
		json_decref(r->resp_json);
		r->resp_json = NULL;
	}
	drop_stream(r);
	r->nresp_headers = 0;
	if (svc && svc->render_error)
		svc->render_error(r);
	else
		render_plain_error(r);
}

static enum MHD_Result send_response(struct http_req *r)
{
	char *dumped = NULL;
	const char *body = r->resp_body ? r->resp_body : "";
	size_t len = r->resp_body ? r->resp_len : 0;
	const char *type = r->resp_type;
	if (r->resp_json) {
		dumped = json_dumps(r->resp_json, JSON_COMPACT);
		body = dumped ? dumped : "{}";
		len = strlen(body);
		type = "application/json";
	}
	struct http_stream *st = r->resp_stream;
	struct MHD_Response *resp;
	if (st && st->fd >= 0) {
		resp = MHD_create_response_from_fd_at_offset64((uint64_t)st->size, st->fd,
							       (uint64_t)st->offset);
		if (resp) {
			st->fd = -1;                      /* the response closes it */
			drop_stream(r);
		}
	} else if (st) {
		resp = MHD_create_response_from_callback(st->size < 0 ? MHD_SIZE_UNKNOWN : (uint64_t)st->size,
							 64 * 1024, stream_read, st, stream_done);
		if (resp)
			r->resp_stream = NULL;            /* the response frees it */
	} else {
		resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	}
	free(dumped);
	if (!resp)
		return MHD_NO;                            /* a stream still held goes with the arena */
	if (type && (len || r->resp_json || st))
		MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "x-openstack-request-id", r->request_id);
	for (int i = 0; i < r->nresp_headers; i++)
		MHD_add_response_header(resp, r->resp_headers[i].name, r->resp_headers[i].value);
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (!r) {
		struct arena *a = arena_new();
		r = arena_alloc(a, sizeof *r);
		r->arena = a;
		r->conn = conn;
		r->method = arena_strdup(a, method);
		r->path = arena_strdup(a, url);
		r->head = !strcmp(method, "HEAD");
		char uuid[37];
		uuid_dashed(uuid);
		snprintf(r->request_id, sizeof r->request_id, "req-%s", uuid);
		const char *sub = "";
		r->svc = find_service(s, url, &sub);
		r->subpath = r->svc ? r->path + (sub - url) : r->path;
		const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
		r->base_url = arena_printf(a, "%s://%s", s->tls ? "https" : "http", host ? host : "localhost");
		*con_cls = r;
		log_set_request_id(r->request_id);
		r->t0 = time_now_us();
		prepare(r);
		log_set_request_id(NULL);
		return MHD_YES;
	}
	if (*upload_size) {
		log_set_request_id(r->request_id);
		take_body(r, upload, *upload_size);
		log_set_request_id(NULL);
		*upload_size = 0;
		return MHD_YES;
	}
	(void)version;
	log_set_request_id(r->request_id);
	dispatch(r);
	enum MHD_Result ret = send_response(r);
	if (r->svc && r->svc->after)
		r->svc->after(r);
	log_info("%s %s %d %.1fms", r->method, r->path, r->status, (double)(time_now_us() - r->t0) / 1000.0);
	log_set_request_id(NULL);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_req *r = *con_cls;
	(void)cls; (void)conn; (void)toe;
	if (!r)
		return;
	if (r->resp_json)
		json_decref(r->resp_json);
	arena_free(r->arena);
	*con_cls = NULL;
}

static int parse_bind(const char *bind, struct sockaddr_in *sa)
{
	const char *colon = strrchr(bind, ':');
	if (!colon)
		return -1;
	char host[64];
	size_t hl = (size_t)(colon - bind);
	if (hl >= sizeof host)
		return -1;
	memcpy(host, bind, hl);
	host[hl] = 0;
	int64_t port;
	if (parse_int64(colon + 1, 0, 65535, &port))
		return -1;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (!*host || !strcmp(host, "*"))
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (!strcmp(host, "localhost"))
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

int http_listen(const char *addr, unsigned *port, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	if (parse_bind(addr, &sa)) {
		snprintf(err, errlen, "bad bind address '%s' (want HOST:PORT)", addr);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	socklen_t len = sizeof sa;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int http_server_start(const struct http_config *cfg, struct http_service *const *services,
		      int nservices, struct http_server **out, char *err, size_t errlen)
{
	int fd = cfg->listen_fd;
	unsigned port;
	if (fd < 0 && (fd = http_listen(cfg->bind, &port, err, errlen)) < 0)
		return -1;
	struct http_server *s = xcalloc(1, sizeof *s);
	s->services = services;
	s->nservices = nservices;
	/* poll(), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll misses a client's close
	 * that arrives with the last piece of an unfinished body, and such a request would only
	 * end (and release an upload) at the idle timeout. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	if (cfg->tls_cert_file && *cfg->tls_cert_file) {
		s->tls_cert = read_file(cfg->tls_cert_file);
		s->tls_key = read_file(cfg->tls_key_file ? cfg->tls_key_file : "");
		if (!s->tls_cert || !s->tls_key) {
			snprintf(err, errlen, "cannot read TLS certificate or key file");
			if (cfg->listen_fd < 0)
				close(fd);
			free(s->tls_cert);
			free(s->tls_key);
			free(s);
			return -1;
		}
		s->tls = true;
		flags |= MHD_USE_TLS;
	}
	unsigned threads = cfg->threads ? cfg->threads : 8;
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_LISTEN_SOCKET, fd, NULL },
		{ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s },
		{ MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, 4096, NULL },
		{ s->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls_cert },
		{ s->tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->tls_key },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot serve on %s (TLS setup failed?)", cfg->bind);
		if (cfg->listen_fd < 0)
			close(fd);
		free(s->tls_cert);
		free(s->tls_key);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

unsigned http_server_port(const struct http_server *s)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return i ? i->port : 0;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	free(s->tls_cert);
	free(s->tls_key);
	free(s);
}

/* --- helpers --- */

const char *http_header(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool http_query_present(struct http_req *r, const char *name)
{
	const char *v = NULL;
	return MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name),
					     &v, NULL) == MHD_YES;
}

struct qeach { int (*fn)(void *, const char *, const char *); void *ctx; int rc; };

static enum MHD_Result qeach_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct qeach *q = cls;
	(void)kind;
	q->rc = q->fn(q->ctx, key, value);
	return q->rc ? MHD_NO : MHD_YES;
}

int http_query_each(struct http_req *r, int (*fn)(void *, const char *, const char *), void *ctx)
{
	struct qeach q = { fn, ctx, 0 };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, qeach_cb, &q);
	return q.rc;
}

const char *http_param(struct http_req *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (!strcmp(r->param_names[i], name))
			return r->params[i];
	return NULL;
}

void json_decref_void(void *j)
{
	json_decref(j);
}

json_t *http_body_json(struct http_req *r)
{
	if (r->body_json)
		return r->body_json;
	if (!r->body_len) {
		http_error(r, ERR_BADREQ, "The request body is empty; a JSON object was expected.");
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		http_error(r, ERR_BADREQ, "Malformed JSON in request body: %s", je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_error(r, ERR_BADREQ, "The request body must be a JSON object.");
		return NULL;
	}
	/* Keep it alive exactly as long as the request. */
	arena_defer(r->arena, json_decref_void, j);
	r->body_json = j;
	return j;
}

int http_error(struct http_req *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
	va_end(ap);
	r->err = code;
	return code;
}

int http_reply_json(struct http_req *r, int status, json_t *body)
{
	drop_stream(r);
	if (r->resp_json)
		json_decref(r->resp_json);
	r->status = status;
	r->resp_json = body;
	return 0;
}

int http_reply_text(struct http_req *r, int status, const char *type, const char *body, size_t len)
{
	drop_stream(r);
	r->status = status;
	r->resp_body = arena_strndup(r->arena, body, len);
	r->resp_len = len;
	r->resp_type = type;
	return 0;
}

int http_reply_empty(struct http_req *r, int status)
{
	drop_stream(r);
	r->status = status;
	r->resp_body = NULL;
	r->resp_len = 0;
	return 0;
}

int http_reply_stream(struct http_req *r, int status, const char *type, int64_t size,
		      http_read_fn read, void (*free_ctx)(void *), void *ctx)
{
	struct http_stream *st = xcalloc(1, sizeof *st);
	*st = (struct http_stream){ .read = read, .free_ctx = free_ctx, .ctx = ctx, .fd = -1,
				    .size = size < 0 ? -1 : size };
	set_stream(r, status, type, st);
	return 0;
}

int http_reply_fd(struct http_req *r, int status, const char *type, int fd, int64_t offset,
		  int64_t length)
{
	struct http_stream *st = xcalloc(1, sizeof *st);
	*st = (struct http_stream){ .fd = fd, .offset = offset < 0 ? 0 : offset,
				    .size = length < 0 ? 0 : length };
	set_stream(r, status, type, st);
	return 0;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
	if (r->nresp_headers == HTTP_MAX_RESP_HEADERS)
		return;
	r->resp_headers[r->nresp_headers].name = arena_strdup(r->arena, name);
	r->resp_headers[r->nresp_headers].value = arena_strdup(r->arena, value);
	r->nresp_headers++;
}
