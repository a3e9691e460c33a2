/* http.h — the HTTP server (libmicrohttpd, thread pool) and the request context every handler
 * receives. A request owns an arena; everything hung on it is freed when the response is sent.
 * Handlers return 0 after setting a response, or an error code (core/err.h) after
 * http_error() recorded the message; the owning service renders the error body. */
#ifndef CORE_HTTP_H
#define CORE_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "core/arena.h"
#include "core/err.h"

struct http_server;
struct http_service;
struct route;
struct MHD_Connection;
struct auth_ctx;            /* defined by src/auth; NULL until the auth layer fills it */
struct http_stream;         /* a response body not in memory (http_reply_stream, http_reply_fd) */

#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_RESP_HEADERS 16

struct http_header { const char *name, *value; };

struct http_req {
	struct arena *arena;
	struct MHD_Connection *conn;
	const struct http_service *svc;
	const struct route *route;
	const char *method;           /* "GET", "POST", ... */
	const char *path;             /* full request path, e.g. /identity/v3/users/abc */
	const char *subpath;          /* path after the service prefix, e.g. /v3/users/abc */
	const char *base_url;         /* scheme://host[:port] as the client addressed us */
	char request_id[48];          /* "req-<uuid>", echoed as x-openstack-request-id */
	int64_t t0;                   /* when the headers arrived (microseconds) */

	/* Path parameters captured by the router, in pattern order. */
	const char *param_names[HTTP_MAX_PARAMS];
	const char *params[HTTP_MAX_PARAMS];
	int nparams;

	/* Body (whole, up to the service's limit) and its JSON parse. */
	char *body;
	size_t body_len, body_cap;
	bool body_too_big;
	json_t *body_json;            /* parse cache of http_body_json() */

	struct auth_ctx *auth;        /* who is calling (set by the auth layer), or NULL */
	void *svc_data;               /* per-service per-request data */

	/* Response. */
	int status;
	json_t *resp_json;            /* owned; rendered when set */
	const char *resp_body;        /* arena string, used when resp_json is NULL */
	size_t resp_len;
	const char *resp_type;        /* content type for resp_body */
	struct http_stream *resp_stream; /* body produced on demand instead of resp_body, or NULL */
	struct http_header resp_headers[HTTP_MAX_RESP_HEADERS];
	int nresp_headers;
	bool head;                    /* HEAD request: headers only */

	/* Error set by http_error(). */
	int err;
	char errmsg[512];
};

/* A service's error renderer: sets r's response from r->err and r->errmsg. */
typedef void (*http_error_fn)(struct http_req *r);
/* An optional hook run before every handler of the service (authentication); returns 0 or error. */
typedef int (*http_before_fn)(struct http_req *r);
/* An optional hook run after the handler, before the response is sent (cleanup of svc_data). */
typedef void (*http_after_fn)(struct http_req *r);

struct http_service {
	const char *name;             /* "identity" */
	const char *prefix;           /* "/identity" */
	const struct route *routes;   /* terminated by a route with NULL method */
	http_error_fn render_error;
	http_before_fn before;
	http_after_fn after;
	size_t max_body;              /* bytes; 0 means 1 MiB */
	void *data;                   /* the service's state */
};

struct http_config {
	const char *bind;             /* "127.0.0.1:8770" */
	int listen_fd;                /* a socket from http_listen(), or -1 to bind `bind` here */
	unsigned threads;
	const char *tls_cert_file;    /* PEM paths, or NULL for plain HTTP */
	const char *tls_key_file;
};

/* Binds and listens on HOST:PORT (port 0: any free port) without serving yet, so start-up work
 * can finish while early clients wait in the backlog. Returns the socket (close-on-exec) and
 * the bound port, or -1 with a message in err. */
int http_listen(const char *bind, unsigned *port, char *err, size_t errlen);
/* Starts serving; returns 0 and sets *out, or -1 with a message in err. */
int http_server_start(const struct http_config *cfg, struct http_service *const *services,
		      int nservices, struct http_server **out, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *s);
/* Stops accepting, finishes in-flight requests, frees the server; accepts NULL. */
void http_server_stop(struct http_server *s);

/* --- request helpers for handlers --- */

/* A request header (case-insensitive name), or NULL. */
const char *http_header(struct http_req *r, const char *name);
/* A query argument, or NULL. http_query_present() tells "?x" from absent. */
const char *http_query(struct http_req *r, const char *name);
bool http_query_present(struct http_req *r, const char *name);
/* Calls fn for every query argument (name, value may be NULL); stops when fn returns non-zero. */
int http_query_each(struct http_req *r, int (*fn)(void *ctx, const char *name, const char *value), void *ctx);
/* A path parameter captured by the router by name, or NULL. */
const char *http_param(struct http_req *r, const char *name);

/* Parses the body as a JSON object; on failure records 400 and returns NULL. Borrowed ref
 * (freed with the request). */
json_t *http_body_json(struct http_req *r);

/* json_decref as a void(*)(void*) for arena_defer(). */
void json_decref_void(void *j);

/* Records an error message and returns code, for `return http_error(r, ERR_NOTFOUND, ...)`. */
int http_error(struct http_req *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets a JSON response (steals the reference). Returns 0. */
int http_reply_json(struct http_req *r, int status, json_t *body);
/* Sets a text/other response (body copied into the arena). Returns 0. */
int http_reply_text(struct http_req *r, int status, const char *type, const char *body, size_t len);
/* Sets an empty response (e.g. 204). Returns 0. */
int http_reply_empty(struct http_req *r, int status);
/* Produces up to max bytes of a streamed body at position pos (0 = its first byte) into buf;
 * returns the number of bytes (> 0), 0 at the end, or -1 on error (the connection is closed). */
typedef ssize_t (*http_read_fn)(void *ctx, uint64_t pos, char *buf, size_t max);
/* Sets a response whose body (size bytes, or -1 when unknown: chunked) comes from read(ctx).
 * free_ctx(ctx) (may be NULL) runs exactly once when the body is no longer needed: after it is
 * sent, when the client disconnects, or when the response is replaced (errors). HEAD requests
 * send the headers only. Returns 0. */
int http_reply_stream(struct http_req *r, int status, const char *type, int64_t size,
		      http_read_fn read, void (*free_ctx)(void *), void *ctx);
/* Sets a response of length bytes of the file fd from offset (sent with sendfile where the
 * connection allows). Takes ownership of fd: it is closed in every case, as for free_ctx above.
 * Returns 0. */
int http_reply_fd(struct http_req *r, int status, const char *type, int fd, int64_t offset,
		  int64_t length);
/* Adds a response header (strings copied). */
void http_add_header(struct http_req *r, const char *name, const char *value);

#endif
