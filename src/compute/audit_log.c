/* audit_log.c — /os-instance-usage-audit-log and /{before}: the state of the instance usage audit
 * of the last completed monthly period (before a timestamp). No compute host here runs that
 * periodic audit (Nova's instance_usage_audit is off by default), so every compute host is
 * reported as not run. */
#include "compute/hosts.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The last completed month before `before` (µs): [begin, end) as "YYYY-MM-DD HH:MM:SS". */
static void audit_period(int64_t before, char begin[32], char end[32])
{
	time_t t = (time_t)(before / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	int y = tm.tm_year + 1900, m = tm.tm_mon + 1;   /* end: the 1st of this month */
	bool exact = tm.tm_mday == 1 && !tm.tm_hour && !tm.tm_min && !tm.tm_sec && before % 1000000 == 0;
	if (exact) {   /* the period ending right now is not completed yet */
		if (--m == 0) {
			m = 12;
			y--;
		}
	}
	int by = m == 1 ? y - 1 : y, bm = m == 1 ? 12 : m - 1;
	snprintf(end, 32, "%04d-%02d-01 00:00:00", y, m);
	snprintf(begin, 32, "%04d-%02d-01 00:00:00", by, bm);
}

static int audit_log(struct http_req *r, int64_t before, const char *key)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT DISTINCT host FROM cmp_services WHERE service_binary ="
			  " 'nova-compute' ORDER BY host");
	if (rc < 0)
		return cmp_db_error(r, rc, "audit log hosts");
	int n = db_rows_count(rows);
	json_t *hosts = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(hosts, json_string(db_text(rows, i, 0)));
	db_rows_free(rows);
	char begin[32], end[32];
	audit_period(before, begin, end);
	const char *status = n == 0 ? "ALL hosts done. 0 errors."
				    : arena_printf(r->arena, "0 of %d hosts done. 0 errors.", n);
	json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:o,s:i,s:i,s:s,s:{}}", "period_beginning", begin,
			      "period_ending", end, "num_hosts", n, "num_hosts_done", 0, "num_hosts_running", 0,
			      "num_hosts_not_run", n, "hosts_not_run", hosts, "total_instances", 0, "total_errors", 0,
			      "overall_status", status, "log");
	return http_reply_json(r, 200, json_pack("{s:o}", key, o));
}

int cmp_h_audit_index(struct http_req *r)
{
	return audit_log(r, time_now_us(), "instance_usage_audit_logs");
}

/* {before}: "YYYY-MM-DD HH:MM:SS[.ffffff]". */
int cmp_h_audit_show(struct http_req *r)
{
	const char *id = http_param(r, "before");
	int Y, M, D, h, m, s, used = 0;
	char frac[8] = "";
	bool ok = strlen(id) >= 19 && sscanf(id, "%4d-%2d-%2d %2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &s, &used) == 6 &&
		  used == 19 && M >= 1 && M <= 12 && D >= 1 && D <= 31 && h < 24 && m < 60 && s < 60;
	if (ok && id[19]) {
		size_t f = strspn(id + 20, "0123456789");
		ok = id[19] == '.' && f >= 1 && f <= 6 && !id[20 + f];
		if (ok)
			snprintf(frac, sizeof frac, ".%.*s", (int)f, id + 20);
	}
	char iso[48];
	int64_t us;
	if (ok) {
		snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", Y, M, D, h, m, s, frac);
		ok = time_parse(iso, &us) == 0;
	}
	if (!ok)
		return http_error(r, ERR_BADREQ, "Invalid timestamp for date %s", id);
	return audit_log(r, us, "instance_usage_audit_log");
}
