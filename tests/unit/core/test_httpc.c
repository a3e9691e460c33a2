/* test_httpc.c — the HTTP client against the project's own server on loopback: bodies in
 * memory and to a file descriptor, Content-Length and chunked framing, request bodies from
 * memory and from a file descriptor, headers, and the failures (bad URL, nothing listening). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/http.h"
#include "core/httpc.h"
#include "core/router.h"

static int h_hello(struct http_req *r)
{
	const char *x = http_header(r, "X-Test");
	http_add_header(r, "X-Seen", x ? x : "none");
	return http_reply_text(r, 200, "text/plain", "hello", 5);
}

/* Echoes the body length and its first byte. */
static int h_echo(struct http_req *r)
{
	char *s = arena_printf(r->arena, "%zu %c", r->body_len, r->body_len ? r->body[0] : '-');
	return http_reply_text(r, 201, "text/plain", s, strlen(s));
}

#define GEN_SIZE 300000

static ssize_t gen_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	(void)ctx;
	if (pos >= GEN_SIZE)
		return 0;
	size_t n = max < 7000 ? max : 7000;
	if (pos + n > GEN_SIZE)
		n = GEN_SIZE - pos;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (pos + i) % 26);
	return (ssize_t)n;
}

static int h_chunked(struct http_req *r)
{
	return http_reply_stream(r, 200, "application/octet-stream", -1, gen_read, NULL, NULL);
}

static int h_missing(struct http_req *r)
{
	return http_error(r, ERR_NOTFOUND, "nothing here");
}

static const struct route routes[] = {
	{ "GET", "/hello", h_hello, NULL, 0 },
	{ "PUT", "/echo", h_echo, NULL, 0 },
	{ "GET", "/chunked", h_chunked, NULL, 0 },
	{ "GET", "/missing", h_missing, NULL, 0 },
	{ 0 },
};

static struct http_service svc = { .name = "t", .prefix = "/t", .routes = routes, .max_body = 1 << 20 };
static struct http_server *srv;
static unsigned port;
static char base[64];

static int setup(void **state)
{
	(void)state;
	char err[256];
	static struct http_service *list[] = { &svc };
	struct http_config cfg = { .bind = "127.0.0.1:0", .threads = 2 };
	cfg.listen_fd = http_listen(cfg.bind, &port, err, sizeof err);
	if (cfg.listen_fd < 0)
		return -1;
	snprintf(base, sizeof base, "http://127.0.0.1:%u/t", port);
	return http_server_start(&cfg, list, 1, &srv, err, sizeof err);
}

static int teardown(void **state)
{
	(void)state;
	http_server_stop(srv);
	return 0;
}

static char *url(const char *path)
{
	static char u[128];
	snprintf(u, sizeof u, "%s%s", base, path);
	return u;
}

static void test_get(void **state)
{
	(void)state;
	const char *hdrs[] = { "X-Test: yes", NULL };
	struct httpc_req q = { .method = "GET", .url = url("/hello"), .headers = hdrs, .body_fd = -1, .out_fd = -1 };
	struct httpc_resp resp;
	char err[256], v[64];
	assert_int_equal(httpc_do(&q, &resp, err, sizeof err), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "hello");
	assert_int_equal(resp.len, 5);
	assert_string_equal(httpc_header(&resp, "x-seen", v, sizeof v), "yes");
	assert_null(httpc_header(&resp, "X-Absent", v, sizeof v));
	httpc_resp_free(&resp);

	q.url = url("/missing");
	assert_int_equal(httpc_do(&q, &resp, err, sizeof err), 0);
	assert_int_equal(resp.status, 404);
	assert_non_null(strstr(resp.body, "nothing here"));
	httpc_resp_free(&resp);
}

static void test_bodies(void **state)
{
	(void)state;
	struct httpc_resp resp;
	char err[256];
	struct httpc_req q = { .method = "PUT", .url = url("/echo"), .body = "xyz", .body_len = 3,
			       .body_fd = -1, .out_fd = -1 };
	assert_int_equal(httpc_do(&q, &resp, err, sizeof err), 0);
	assert_int_equal(resp.status, 201);
	assert_string_equal(resp.body, "3 x");
	httpc_resp_free(&resp);

	/* from a file descriptor */
	FILE *f = tmpfile();
	for (int i = 0; i < 100000; i++)
		fputc('q', f);
	fflush(f);
	rewind(f);
	q = (struct httpc_req){ .method = "PUT", .url = url("/echo"), .body_fd = fileno(f), .body_len = 100000,
				.out_fd = -1 };
	assert_int_equal(httpc_do(&q, &resp, err, sizeof err), 0);
	assert_string_equal(resp.body, "100000 q");
	httpc_resp_free(&resp);
	fclose(f);
}

static void test_chunked(void **state)
{
	(void)state;
	struct httpc_resp resp;
	char err[256];
	struct httpc_req q = { .method = "GET", .url = url("/chunked"), .body_fd = -1, .out_fd = -1 };
	assert_int_equal(httpc_do(&q, &resp, err, sizeof err), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.len, GEN_SIZE);
	for (size_t i = 0; i < GEN_SIZE; i++)
		if (resp.body[i] != (char)('a' + i % 26))
			fail_msg("byte %zu differs", i);
	httpc_resp_free(&resp);

	/* the same into a file descriptor */
	FILE *f = tmpfile();
	q.out_fd = fileno(f);
	assert_int_equal(httpc_do(&q, &resp, err, sizeof err), 0);
	assert_null(resp.body);
	assert_int_equal(resp.len, GEN_SIZE);
	assert_int_equal(ftell(f) >= 0 ? lseek(fileno(f), 0, SEEK_END) : -1, GEN_SIZE);
	httpc_resp_free(&resp);
	fclose(f);
}

static void test_failures(void **state)
{
	(void)state;
	struct httpc_resp resp;
	char err[256];
	static const char *const bad[] = { "ftp://x/", "http://", "http://host:12a/", "nohost" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct httpc_req q = { .method = "GET", .url = bad[i], .body_fd = -1, .out_fd = -1 };
		assert_int_equal(httpc_do(&q, &resp, err, sizeof err), -1);
		assert_non_null(strstr(err, "bad URL"));
	}
	/* a port nothing listens on: the server's port after it stopped would race; use port 1 */
	struct httpc_req q = { .method = "GET", .url = "http://127.0.0.1:1/", .body_fd = -1, .out_fd = -1,
			       .timeout_ms = 2000 };
	assert_int_equal(httpc_do(&q, &resp, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot connect"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_failures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
