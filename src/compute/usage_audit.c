/* usage_audit.c — GET /os-instance_usage_audit_log[/{before_timestamp}] (admin): the instance
 * usage audit of the last completed month before now (or before the timestamp). Nova reports
 * the task_log rows its computes' periodic audit wrote; here the audit is computed on demand
 * from the instance rows (active in the period: launched before its end, not terminated before
 * its beginning, deleted ones included) for every nova-compute host, so every host is done. */
#include "compute/cmp.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reads 1..max digits (strptime's %m, %d, %H ... accept one). */
static int digits(const char **p, int min, int max, int *out)
{
	int n = 0, v = 0;
	while (n < max && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n < min)
		return -1;
	*out = v;
	return 0;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* "%Y-%m-%d %H:%M:%S" or, when there is a '.', "%Y-%m-%d %H:%M:%S.%f", as Nova parses the id:
 * 0 and the broken-down time, or -1. */
static int parse_before(const char *s, struct tm *tm)
{
	const char *p = s;
	int Y, M, D, h, m, sec, frac;
	if (digits(&p, 4, 4, &Y) || *p++ != '-' || digits(&p, 1, 2, &M) || *p++ != '-' ||
	    digits(&p, 1, 2, &D) || *p++ != ' ' || digits(&p, 1, 2, &h) || *p++ != ':' ||
	    digits(&p, 1, 2, &m) || *p++ != ':' || digits(&p, 1, 2, &sec))
		return -1;
	if (strchr(s, '.') && (*p++ != '.' || digits(&p, 1, 6, &frac)))
		return -1;
	if (*p || Y < 1 || M < 1 || M > 12 || D < 1 || D > days_in(Y, M) || h > 23 || m > 59 || sec > 59)
		return -1;
	memset(tm, 0, sizeof *tm);
	tm->tm_year = Y - 1900;
	tm->tm_mon = M - 1;
	tm->tm_mday = D;
	tm->tm_hour = h;
	tm->tm_min = m;
	tm->tm_sec = sec;
	return 0;
}

/* The first instant of month (1..12) of year, in microseconds since the epoch (UTC). */
static int64_t month_start(int year, int month)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = 1 };
	return (int64_t)timegm(&tm) * 1000000;
}

/* utils.last_completed_audit_period for the default unit "month": [begin, end). now is the
 * moment (broken down, UTC) and now_us the same in microseconds. */
static void audit_period(const struct tm *now, int64_t now_us, int *by, int *bm, int *ey, int *em)
{
	int y = now->tm_year + 1900, m = now->tm_mon + 1;
	if (month_start(y, m) >= now_us) {   /* exactly at a month's start: that period is not over */
		m--;
		if (!m) {
			m = 12;
			y--;
		}
	}
	*ey = y;
	*em = m;
	m--;
	if (!m) {
		m = 12;
		y--;
	}
	*by = y;
	*bm = m;
}

static int report(struct http_req *r, const char *key, const struct tm *now, int64_t now_us)
{
	int by, bm, ey, em;
	audit_period(now, now_us, &by, &bm, &ey, &em);
	int64_t begin = month_start(by, bm), end = month_start(ey, em);
	struct db_rows *hosts = NULL, *counts = NULL;
	struct db_conn *c = cmp_db(r);
	int rc = db_query(c, &hosts, "SELECT DISTINCT host FROM cmp_services WHERE service_binary = 'nova-compute'"
			  " ORDER BY host");
	if (rc < 0)
		return cmp_db_error(r, rc, "services");
	int64_t t0 = time_now_us();
	rc = db_query(c, &counts, "SELECT host, COUNT(*) FROM cmp_instances WHERE host IS NOT NULL"
		      " AND launched_at < ? AND (terminated_at IS NULL OR terminated_at > ?) GROUP BY host",
		      DB_INT(end), DB_INT(begin));
	if (rc < 0) {
		db_rows_free(hosts);
		return cmp_db_error(r, rc, "instances");
	}
	double secs = (double)(time_now_us() - t0) / 1e6;
	json_t *log = json_object();
	int64_t total = 0;
	int nhosts = db_rows_count(hosts);
	for (int i = 0; i < nhosts; i++) {
		const char *host = db_text(hosts, i, 0);
		int64_t n = 0;
		for (int j = 0; j < db_rows_count(counts); j++)
			if (!strcmp(db_text(counts, j, 0), host))
				n = db_int(counts, j, 1);
		total += n;
		json_object_set_new(log, host, json_pack("{s:s,s:I,s:i,s:s}", "state", "DONE", "instances", (json_int_t)n,
							 "errors", 0, "message",
							 arena_printf(r->arena, "Instance usage audit ran for host %s, %lld"
								      " instances in %.6f seconds.", host, (long long)n, secs)));
	}
	db_rows_free(hosts);
	db_rows_free(counts);
	char b[32], e[32];
	snprintf(b, sizeof b, "%04d-%02d-01 00:00:00", by, bm);
	snprintf(e, sizeof e, "%04d-%02d-01 00:00:00", ey, em);
	json_t *body = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:[],s:I,s:i,s:s,s:o}",
				 "period_beginning", b, "period_ending", e, "num_hosts", nhosts,
				 "num_hosts_done", nhosts, "num_hosts_running", 0, "num_hosts_not_run", 0,
				 "hosts_not_run", "total_instances", (json_int_t)total, "total_errors", 0,
				 "overall_status", "ALL hosts done. 0 errors.", "log", log);
	return http_reply_json(r, 200, json_pack("{s:o}", key, body));
}

static int h_index(struct http_req *r)
{
	int64_t now_us = time_now_us();
	time_t secs = (time_t)(now_us / 1000000);
	struct tm now;
	gmtime_r(&secs, &now);
	return report(r, "instance_usage_audit_logs", &now, now_us);
}

static int h_show(struct http_req *r)
{
	const char *id = http_param(r, "before_timestamp");
	struct tm before;
	if (!id || parse_before(id, &before))
		return http_error(r, ERR_BADREQ, "Invalid timestamp for date %s", id ? id : "");
	struct tm copy = before;
	int64_t us = (int64_t)timegm(&copy) * 1000000;
	const char *dot = strchr(id, '.');
	if (dot) {   /* the fraction, for a timestamp just after a month's start */
		int64_t f = 0, scale = 100000;
		for (const char *p = dot + 1; *p; p++, scale /= 10)
			f += (*p - '0') * scale;
		us += f;
	}
	return report(r, "instance_usage_audit_log", &before, us);
}

const struct route cmp_routes_usage_audit[] = {
	{ "GET", "/v2.1/os-instance_usage_audit_log", h_index, "os_compute_api:os-instance-usage-audit-log:list", 0, NULL },
	{ "GET", "/v2.1/os-instance_usage_audit_log/{before_timestamp}", h_show,
	  "os_compute_api:os-instance-usage-audit-log:show", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
