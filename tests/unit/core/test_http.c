/* test_http.c — the HTTP server end to end on loopback: routing to services, request ids,
 * 404/405, buffered bodies and their limit, streamed bodies, and the before hook's veto. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http.h"
#include "core/router.h"

static atomic_size_t streamed;       /* bytes seen by the streaming handler */
static atomic_int body_calls;

static int h_hello(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:s}", "hello", r->subpath));
}

static int h_echo_len(struct http_req *r)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%zu", r->body_len);
	return http_reply_text(r, 200, "text/plain", buf, (size_t)n);
}

static int on_stream(struct http_req *r, const char *data, size_t len)
{
	(void)r;
	(void)data;
	atomic_fetch_add(&body_calls, 1);
	atomic_fetch_add(&streamed, len);
	return 0;
}

static int h_stream_done(struct http_req *r)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%zu", (size_t)atomic_load(&streamed));
	return http_reply_text(r, 201, "text/plain", buf, (size_t)n);
}

static int before(struct http_req *r)
{
	const char *deny = http_header(r, "X-Deny");
	if (deny)
		return http_error(r, ERR_FORBIDDEN, "denied by the before hook");
	return 0;
}

static const struct route routes[] = {
	{ "GET", "/hello", h_hello, NULL, 0 },
	{ "POST", "/echo", h_echo_len, NULL, 0 },
	{ "PUT", "/stream", h_stream_done, NULL, 0, on_stream },
	{ 0 },
};

static struct http_service svc = {
	.name = "test", .prefix = "/t", .routes = routes, .before = before, .max_body = 1024,
};

static struct http_server *srv;
static unsigned port;

static int setup(void **state)
{
	(void)state;
	char err[256];
	static struct http_service *list[] = { &svc };   /* the server keeps the pointer */
	struct http_config cfg = { .bind = "127.0.0.1:0", .threads = 2 };
	cfg.listen_fd = http_listen(cfg.bind, &port, err, sizeof err);
	if (cfg.listen_fd < 0)
		return -1;
	return http_server_start(&cfg, list, 1, &srv, err, sizeof err);
}

static int teardown(void **state)
{
	(void)state;
	http_server_stop(srv);
	return 0;
}

/* Sends head + body (body_len bytes of 'x' when body is NULL) and reads the whole answer. */
static char *roundtrip(const char *head, const char *body, size_t body_len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_true(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
	static char chunk[65536];
	memset(chunk, 'x', sizeof chunk);
	size_t sent = 0;
	while (sent < body_len) {
		size_t n = body_len - sent < sizeof chunk ? body_len - sent : sizeof chunk;
		ssize_t w = write(fd, body ? body + sent : chunk, n);
		if (w <= 0)
			break;              /* the server may answer early and close */
		sent += (size_t)w;
	}
	size_t cap = 65536, len = 0;
	char *out = malloc(cap);
	ssize_t n;
	while ((n = read(fd, out + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap)
			out = realloc(out, cap *= 2);
	}
	out[len] = 0;
	close(fd);
	return out;
}

static void test_get_and_request_id(void **state)
{
	(void)state;
	char *resp = roundtrip("GET /t/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0);
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "x-openstack-request-id: req-"));
	assert_non_null(strstr(resp, "{\"hello\":\"/hello\"}"));
	free(resp);
}

static void test_not_found_and_method(void **state)
{
	(void)state;
	char *resp = roundtrip("GET /t/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0);
	assert_non_null(strstr(resp, "HTTP/1.1 404"));
	assert_non_null(strstr(resp, "\"code\":404"));
	free(resp);
	resp = roundtrip("DELETE /t/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0);
	assert_non_null(strstr(resp, "HTTP/1.1 405"));
	free(resp);
	resp = roundtrip("GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0);
	assert_non_null(strstr(resp, "HTTP/1.1 404"));
	free(resp);
}

static void test_buffered_body_and_limit(void **state)
{
	(void)state;
	char *resp = roundtrip("POST /t/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			       "Content-Length: 1000\r\n\r\n", NULL, 1000);
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "\r\n\r\n1000"));
	free(resp);
	resp = roundtrip("POST /t/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			 "Content-Length: 5000\r\n\r\n", NULL, 5000);
	assert_non_null(strstr(resp, "HTTP/1.1 413"));
	free(resp);
}

static void test_streamed_body(void **state)
{
	(void)state;
	atomic_store(&streamed, 0);
	atomic_store(&body_calls, 0);
	size_t big = 8u << 20;          /* far over the 1 KiB buffered limit */
	char head[256];
	snprintf(head, sizeof head, "PUT /t/stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		 "Content-Length: %zu\r\n\r\n", big);
	char *resp = roundtrip(head, NULL, big);
	assert_non_null(strstr(resp, "HTTP/1.1 201"));
	char want[64];
	snprintf(want, sizeof want, "\r\n\r\n%zu", big);
	assert_non_null(strstr(resp, want));
	assert_true(atomic_load(&body_calls) > 1);    /* it came in pieces, not one buffer */
	free(resp);
}

static void test_before_hook_vetoes_stream(void **state)
{
	(void)state;
	atomic_store(&streamed, 0);
	atomic_store(&body_calls, 0);
	char *resp = roundtrip("PUT /t/stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Deny: 1\r\n"
			       "Content-Length: 100000\r\n\r\n", NULL, 100000);
	assert_non_null(strstr(resp, "HTTP/1.1 403"));
	assert_non_null(strstr(resp, "denied by the before hook"));
	assert_int_equal(atomic_load(&body_calls), 0);
	free(resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_request_id),
		cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_buffered_body_and_limit),
		cmocka_unit_test(test_streamed_body),
		cmocka_unit_test(test_before_hook_vetoes_stream),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
