/* log.c — timestamped log lines; one write() per record so threads do not interleave. */
#include "core/log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static int log_fd = 2;
static _Thread_local const char *cur_req_id;

void log_set_level(enum log_level lvl) { min_level = lvl; }
void log_set_request_id(const char *req_id) { cur_req_id = req_id; }

int log_level_parse(const char *s)
{
	if (!strcasecmp(s, "debug")) return LOG_DEBUG;
	if (!strcasecmp(s, "info")) return LOG_INFO;
	if (!strcasecmp(s, "warning") || !strcasecmp(s, "warn")) return LOG_WARN;
	if (!strcasecmp(s, "error")) return LOG_ERROR;
	return -1;
}

int log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	log_fd = fd;
	return 0;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
	if (lvl < min_level)
		return;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof line, "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s [%s] ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec / 1000000, names[lvl], cur_req_id ? cur_req_id : "-");
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : ((size_t)m > sizeof line - (size_t)n - 2 ? sizeof line - (size_t)n - 2 : (size_t)m));
	line[len++] = '\n';
	ssize_t w = write(log_fd, line, len);
	(void)w;
}
