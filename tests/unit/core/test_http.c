/* test_http.c — the HTTP server end to end on loopback: routing to services, request ids,
 * 404/405, buffered bodies and their limit, streamed bodies, the before hook's veto, and
 * responses not in memory (a generated stream, a file range; HEAD; a client that leaves). */
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
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/http.h"
#include "core/router.h"

static atomic_size_t streamed;       /* bytes seen by the streaming handler */
static atomic_int body_calls;
static atomic_int upload_released;   /* requests of the streaming handler freed */

static void count_release(void *arg)
{
	(void)arg;
	atomic_fetch_add(&upload_released, 1);
}

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
	(void)data;
	if (atomic_fetch_add(&body_calls, 1) == 0)
		arena_defer(r->arena, count_release, NULL);
	atomic_fetch_add(&streamed, len);
	return 0;
}

static int h_stream_done(struct http_req *r)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%zu", (size_t)atomic_load(&streamed));
	return http_reply_text(r, 201, "text/plain", buf, (size_t)n);
}

/* A generated body: byte i is 'a' + i % 26; the context counts its release. */
static atomic_int gen_freed, gen_reads;
#define GEN_SIZE (4u << 20)

static ssize_t gen_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	(void)ctx;
	atomic_fetch_add(&gen_reads, 1);
	if (pos >= GEN_SIZE)
		return 0;
	size_t n = GEN_SIZE - pos < max ? (size_t)(GEN_SIZE - pos) : max;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (pos + i) % 26);
	return (ssize_t)n;
}

static void gen_free(void *ctx)
{
	free(ctx);
	atomic_fetch_add(&gen_freed, 1);
}

static int h_gen(struct http_req *r)
{
	const char *fail = http_header(r, "X-Fail");
	http_reply_stream(r, 200, "application/octet-stream", http_header(r, "X-Chunked") ? -1 : (int64_t)GEN_SIZE,
			  gen_read, gen_free, xmalloc(16));
	if (fail)      /* an error after the stream was set must still release it */
		return http_error(r, ERR_CONFLICT, "changed my mind");
	return 0;
}

static char file_path[64];

static int h_file(struct http_req *r)
{
	int fd = open(file_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return http_error(r, ERR_INTERNAL, "open");
	http_add_header(r, "Content-Range", "bytes 10-19/100");
	return http_reply_fd(r, 206, "application/octet-stream", fd, 10, 10);
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
	{ "GET", "/gen", h_gen, NULL, 0 },
	{ "GET", "/file", h_file, NULL, 0 },
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
	snprintf(file_path, sizeof file_path, "/tmp/test_http.XXXXXX");
	int fd = mkstemp(file_path);
	if (fd < 0)
		return -1;
	char content[100];
	for (int i = 0; i < 100; i++)
		content[i] = (char)('0' + i % 10);
	if (write(fd, content, sizeof content) != (ssize_t)sizeof content)
		return -1;
	close(fd);
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
	unlink(file_path);
	return 0;
}

static int connect_server(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* Sends head + body (body_len bytes of 'x' when body is NULL) and reads the whole answer;
 * *out_len (when not NULL) receives its length. */
static char *roundtrip_len(const char *head, const char *body, size_t body_len, size_t *out_len)
{
	int fd = connect_server();
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
	if (out_len)
		*out_len = len;
	return out;
}

static char *roundtrip(const char *head, const char *body, size_t body_len)
{
	return roundtrip_len(head, body, body_len, NULL);
}

/* Waits up to two seconds for *counter to reach want. */
static bool wait_for(atomic_int *counter, int want)
{
	for (int i = 0; i < 200 && atomic_load(counter) < want; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	return atomic_load(counter) >= want;
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

/* A client that goes away in the middle of a streamed upload: the request is freed at once
 * (not when the idle timeout strikes), so its cleanups run. */
static void test_streamed_body_client_leaves(void **state)
{
	(void)state;
	atomic_store(&body_calls, 0);
	atomic_store(&upload_released, 0);
	int fd = connect_server();
	const char *head = "PUT /t/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n";
	assert_true(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
	static char chunk[65536];
	for (int i = 0; i < 32; i++)
		assert_true(write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk);
	close(fd);
	assert_true(wait_for(&upload_released, 1));
	assert_true(atomic_load(&body_calls) > 0);
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

static void test_stream_response(void **state)
{
	(void)state;
	atomic_store(&gen_freed, 0);
	size_t len;
	char *resp = roundtrip_len("GET /t/gen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0, &len);
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "Content-Type: application/octet-stream"));
	char want[64];
	snprintf(want, sizeof want, "Content-Length: %u\r\n", GEN_SIZE);
	assert_non_null(strstr(resp, want));
	char *body = strstr(resp, "\r\n\r\n") + 4;
	assert_int_equal(len - (size_t)(body - resp), GEN_SIZE);
	bool same = true;
	for (size_t i = 0; i < GEN_SIZE && same; i++)
		same = body[i] == (char)('a' + i % 26);
	assert_true(same);
	free(resp);
	assert_true(wait_for(&gen_freed, 1));

	/* size unknown: chunked */
	resp = roundtrip_len("GET /t/gen HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Chunked: 1\r\n\r\n",
			     "", 0, &len);
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "Transfer-Encoding: chunked"));
	assert_true(len > GEN_SIZE);
	free(resp);
	assert_true(wait_for(&gen_freed, 2));
}

static void test_stream_head_and_error(void **state)
{
	(void)state;
	atomic_store(&gen_freed, 0);
	atomic_store(&gen_reads, 0);
	size_t len;
	char *resp = roundtrip_len("HEAD /t/gen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0, &len);
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	char want[64];
	snprintf(want, sizeof want, "Content-Length: %u\r\n", GEN_SIZE);
	assert_non_null(strstr(resp, want));
	assert_true(strstr(resp, "\r\n\r\n") + 4 == resp + len);      /* headers only */
	free(resp);
	assert_true(wait_for(&gen_freed, 1));
	assert_int_equal(atomic_load(&gen_reads), 0);

	/* the handler set a stream, then failed: the error is sent and the stream released */
	resp = roundtrip("GET /t/gen HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Fail: 1\r\n\r\n", "", 0);
	assert_non_null(strstr(resp, "HTTP/1.1 409"));
	assert_non_null(strstr(resp, "changed my mind"));
	free(resp);
	assert_true(wait_for(&gen_freed, 2));
	assert_int_equal(atomic_load(&gen_reads), 0);
}

static void test_stream_client_leaves(void **state)
{
	(void)state;
	atomic_store(&gen_freed, 0);
	int fd = connect_server();
	int small = 4096;    /* a small receive window so the server cannot finish on its own */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	const char *req = "GET /t/gen HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	char buf[1024];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_true(read(fd, buf, sizeof buf) > 0);
	close(fd);             /* mid-body */
	assert_true(wait_for(&gen_freed, 1));
}

static void test_fd_response(void **state)
{
	(void)state;
	size_t len;
	char *resp = roundtrip_len("GET /t/file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0, &len);
	assert_non_null(strstr(resp, "HTTP/1.1 206"));
	assert_non_null(strstr(resp, "Content-Length: 10\r\n"));
	assert_non_null(strstr(resp, "Content-Range: bytes 10-19/100\r\n"));
	char *body = strstr(resp, "\r\n\r\n") + 4;
	assert_int_equal(len - (size_t)(body - resp), 10);
	assert_memory_equal(body, "0123456789", 10);
	free(resp);
	resp = roundtrip_len("HEAD /t/file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0, &len);
	assert_non_null(strstr(resp, "HTTP/1.1 206"));
	assert_non_null(strstr(resp, "Content-Length: 10\r\n"));
	assert_true(strstr(resp, "\r\n\r\n") + 4 == resp + len);
	free(resp);
	/* no descriptor leaks: a fresh descriptor is still a low number */
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(probe >= 0 && probe < 64);
	close(probe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_request_id),
		cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_buffered_body_and_limit),
		cmocka_unit_test(test_streamed_body),
		cmocka_unit_test(test_streamed_body_client_leaves),
		cmocka_unit_test(test_before_hook_vetoes_stream),
		cmocka_unit_test(test_stream_response),
		cmocka_unit_test(test_stream_head_and_error),
		cmocka_unit_test(test_stream_client_leaves),
		cmocka_unit_test(test_fd_response),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
