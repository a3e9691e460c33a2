/* qemu_qmp.c — a minimal QMP client: connect to a guest's unix socket, read the greeting,
 * negotiate qmp_capabilities, send one command at a time (optionally with a file descriptor
 * for getfd) and read replies line by line, skipping asynchronous events. Every read is bounded
 * by a deadline, since QEMU serves one client at a time. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virt/qemu.h"

#define LINE_MAX_BYTES (1 << 20)

struct qmp {
	int fd;
	int timeout_ms;
	char *buf;
	size_t len, cap;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one JSON message (a line) into *msg. 0 or -1 with err. */
static int read_msg(struct qmp *q, json_t **msg, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + q->timeout_ms;
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - q->buf);
			json_error_t je;
			*msg = json_loadb(q->buf, n, 0, &je);
			memmove(q->buf, nl + 1, q->len - n - 1);
			q->len -= n + 1;
			if (!*msg || !json_is_object(*msg)) {
				json_decref(*msg);
				snprintf(err, errlen, "QMP: bad message: %s", je.text);
				return -1;
			}
			return 0;
		}
		if (q->len >= LINE_MAX_BYTES) {
			snprintf(err, errlen, "QMP: message too long");
			return -1;
		}
		if (q->cap - q->len < 4096) {
			size_t cap = q->cap ? q->cap * 2 : 8192;
			char *b = realloc(q->buf, cap);
			if (!b) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			q->buf = b;
			q->cap = cap;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			snprintf(err, errlen, "QMP: no answer within %d ms", q->timeout_ms);
			return -1;
		}
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;                 /* the deadline check above ends it */
		ssize_t n = recv(q->fd, q->buf + q->len, q->cap - q->len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "QMP: connection closed");
			return -1;
		}
		q->len += (size_t)n;
	}
}

static int send_all(struct qmp *q, const char *s, size_t n, int fd, char *err, size_t errlen)
{
	bool fd_sent = fd < 0;
	while (n) {
		struct iovec iov = { .iov_base = (void *)s, .iov_len = n };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cm;
		if (!fd_sent) {
			memset(&cm, 0, sizeof cm);
			mh.msg_control = cm.b;
			mh.msg_controllen = sizeof cm.b;
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof fd);
		}
		ssize_t w = sendmsg(q->fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "QMP: send: %s", strerror(errno));
			return -1;
		}
		fd_sent = true;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int qmp_exec(struct qmp *q, const char *cmd, json_t *args, int fd, json_t **ret, char *err, size_t errlen)
{
	json_t *req = json_object();
	json_object_set_new(req, "execute", json_string(cmd));
	if (args)
		json_object_set_new(req, "arguments", args);
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = strlen(text);
	int rc = send_all(q, text, n, fd, err, errlen);
	if (!rc)
		rc = send_all(q, "\n", 1, -1, err, errlen);
	free(text);
	if (rc)
		return -1;
	for (;;) {
		json_t *msg;
		if (read_msg(q, &msg, err, errlen))
			return -1;
		json_t *r = json_object_get(msg, "return");
		json_t *e = json_object_get(msg, "error");
		if (r) {
			if (ret)
				*ret = json_incref(r);
			json_decref(msg);
			return 0;
		}
		if (e) {
			const char *desc = json_string_value(json_object_get(e, "desc"));
			snprintf(err, errlen, "QMP %s: %s", cmd, desc ? desc : "error");
			json_decref(msg);
			return -1;
		}
		json_decref(msg);                 /* an event */
	}
}

int qmp_open(const char *sock, int timeout_ms, struct qmp **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "QMP socket path too long");
		return -1;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	struct qmp *q = calloc(1, sizeof *q);
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	q->timeout_ms = timeout_ms;
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof sa)) {
		snprintf(err, errlen, "QMP connect %s: %s", sock, strerror(errno));
		qmp_close(q);
		return -1;
	}
	json_t *greeting;
	if (read_msg(q, &greeting, err, errlen)) {
		qmp_close(q);
		return -1;
	}
	bool ok = json_object_get(greeting, "QMP") != NULL;
	json_decref(greeting);
	if (!ok) {
		snprintf(err, errlen, "QMP: no greeting");
		qmp_close(q);
		return -1;
	}
	if (qmp_exec(q, "qmp_capabilities", NULL, -1, NULL, err, errlen)) {
		qmp_close(q);
		return -1;
	}
	*out = q;
	return 0;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	free(q);
}

int qmp_call(const struct qemu_driver *d, const char *uuid, const char *cmd, json_t *args, json_t **ret,
	     char *err, size_t errlen)
{
	char sock[PATH_MAX];
	qemu_qmp_path(d, uuid, sock);
	struct qmp *q;
	if (qmp_open(sock, QEMU_QMP_TIMEOUT_MS, &q, err, errlen)) {
		json_decref(args);
		return -1;
	}
	int rc = qmp_exec(q, cmd, args, -1, ret, err, errlen);
	qmp_close(q);
	return rc;
}

int qmp_status(const struct qemu_driver *d, const char *uuid, char *buf, size_t len, char *err, size_t errlen)
{
	json_t *r;
	if (qmp_call(d, uuid, "query-status", NULL, &r, err, errlen))
		return -1;
	const char *s = json_string_value(json_object_get(r, "status"));
	int rc = s ? 0 : -1;
	if (s)
		snprintf(buf, len, "%s", s);
	else
		snprintf(err, errlen, "QMP query-status: no status");
	json_decref(r);
	return rc;
}
