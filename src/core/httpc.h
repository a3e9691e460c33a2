/* httpc.h — a small blocking HTTP/1.1 client (one request per connection, http:// and https://
 * with certificate checks through OpenSSL) for the few calls monostack makes to itself across
 * machines: a remote compute agent talking to its controller. Bodies go from memory or a file
 * descriptor, and come back into memory or into a file descriptor, so image data streams. */
#ifndef CORE_HTTPC_H
#define CORE_HTTPC_H
#include <stddef.h>
#include <stdint.h>

struct httpc_req {
	const char *method;           /* "GET" */
	const char *url;              /* http[s]://HOST[:PORT]/PATH[?QUERY] */
	const char *const *headers;   /* "Name: value" lines, NULL-terminated; may be NULL */
	const void *body;             /* request body in memory (body_len bytes), or NULL */
	int body_fd;                  /* or: body_len bytes read from this fd (-1: none) */
	int64_t body_len;
	int out_fd;                   /* >= 0: a 2xx response body is written here, not kept */
	int timeout_ms;               /* per socket operation; 0 means 30 s */
	const char *ca_file;          /* PEM bundle to trust for https (NULL: the system's) */
};

struct httpc_resp {
	int status;
	char *headers;                /* the raw header block (after the status line) */
	char *body;                   /* NUL-terminated; NULL when written to out_fd */
	size_t len;                   /* body bytes (also when written to out_fd) */
};

/* Performs q: 0 and *out filled (any status), or -1 with a message in err (no connection,
 * timeout, malformed answer, TLS failure). Bodies kept in memory are limited to 64 MiB. */
int httpc_do(const struct httpc_req *q, struct httpc_resp *out, char *err, size_t errlen);
/* A response header's value (case-insensitive name) copied into buf, or NULL. */
const char *httpc_header(const struct httpc_resp *r, const char *name, char *buf, size_t len);
/* Frees what *r holds; accepts a zeroed struct. */
void httpc_resp_free(struct httpc_resp *r);

#endif
