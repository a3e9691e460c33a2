/* usage_report.c — /os-simple-tenant-usage (all projects, admin) and /{project}: the instance
 * hours, vCPU-, RAM- and disk-hours of every instance active in [start, end) (deleted ones too),
 * per project, with per-server detail; marker/limit paging over servers at 2.40. */
#include "compute/quota.h"
#include "compute/valid.h"
#include <stdio.h>
#include <ctype.h>
#include <string.h>

#define MAX_LIMIT 1000

/* Nova's accepted forms: YYYY-MM-DDTHH:MM:SS[.ffffff] or YYYY-MM-DD HH:MM:SS.ffffff (UTC). */
static int parse_when(const char *s, int64_t *us)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t n = strlen(s);
	if (n < sizeof shape - 1)
		return -1;
	bool space = s[10] == ' ';
	for (size_t i = 0; i < sizeof shape - 1; i++) {
		char c = shape[i];
		if (c == 'd' ? !isdigit((unsigned char)s[i]) : i == 10 ? (s[i] != 'T' && s[i] != ' ') : s[i] != c)
			return -1;
	}
	const char *frac = s + sizeof shape - 1;
	if (*frac) {
		size_t f = strspn(frac + 1, "0123456789");
		if (*frac != '.' || f < 1 || f > 6 || frac[1 + f])
			return -1;
	} else if (space) {
		return -1;
	}
	char buf[40];
	snprintf(buf, sizeof buf, "%.10sT%sZ", s, s + 11);
	return time_parse(buf, us);
}

struct window {
	int64_t start, stop;
	bool detailed;
};

static int parse_window(struct http_req *r, struct window *w)
{
	const char *s = http_query(r, "start"), *e = http_query(r, "end"), *d = http_query(r, "detailed");
	int64_t now = time_now_us();
	w->start = now;
	w->stop = now;
	if ((s && *s && parse_when(s, &w->start)) || (e && *e && parse_when(e, &w->stop)))
		return http_error(r, ERR_BADREQ, "Invalid start time. Datetime is in invalid format");
	if (!(w->start < w->stop))
		return http_error(r, ERR_BADREQ, "Invalid start time. The start time cannot occur after the end time.");
	if (w->stop > now)
		w->stop = now;
	w->detailed = d && !strcmp(d, "1");
	return 0;
}

/* Query parameters at 2.75: the show call takes all but "detailed". */
static const char *const index_query[] = { "start", "end", "limit", "marker", "detailed", NULL };
static const char *const show_query[] = { "start", "end", "limit", "marker", NULL };

static double hours_for(int64_t launched, int64_t terminated, const struct window *w)
{
	if (terminated && terminated < w->start)
		return 0;
	if (launched > w->stop)
		return 0;
	int64_t start = launched > w->start ? launched : w->start;
	int64_t stop = terminated && terminated < w->stop ? terminated : w->stop;
	return (double)(stop - start) / 3600e6;
}

/* Builds the per-project summaries (in first-seen order) of the instances in the window. */
static int report(struct http_req *r, const struct window *w, const char *project, bool detailed,
		  json_t **summaries, json_t **servers, bool *full_page, const char **last)
{
	int64_t limit = MAX_LIMIT;
	const char *marker = NULL;
	bool paged = cmp_mv_ge(r, 2, 40);
	if (paged) {
		int qrc = cmp_q_limit(r, MAX_LIMIT, &limit);
		if (qrc)
			return qrc;
		marker = http_query(r, "marker");
	}
	struct db_rows *rows = NULL;
	int rc;
	const char *mproject = "", *muuid = "";
	if (marker) {
		rc = db_query(cmp_db(r), &rows, "SELECT project_id, uuid FROM cmp_instances WHERE uuid = ?", DB_TEXT(marker));
		if (rc < 0)
			return cmp_db_error(r, rc, "usage marker");
		if (!db_rows_count(rows)) {
			db_rows_free(rows);
			return http_error(r, ERR_BADREQ, "Marker %s could not be found.", marker);
		}
		mproject = arena_strdup(r->arena, db_text(rows, 0, 0));
		muuid = arena_strdup(r->arena, db_text(rows, 0, 1));
		db_rows_free(rows);
	}
	rc = db_query(cmp_db(r), &rows,
		      "SELECT uuid, display_name, project_id, flavor_name, memory_mb, root_gb + ephemeral_gb, vcpus,"
		      " launched_at, terminated_at, vm_state FROM cmp_instances"
		      " WHERE (terminated_at IS NULL OR terminated_at > ?) AND launched_at < ?"
		      " AND (? = '' OR project_id = ?) AND (? = '' OR project_id > ? OR (project_id = ? AND uuid > ?))"
		      " ORDER BY project_id, uuid LIMIT ?",
		      DB_INT(w->start), DB_INT(w->stop), DB_TEXT(project ? project : ""), DB_TEXT(project ? project : ""),
		      DB_TEXT(mproject), DB_TEXT(mproject), DB_TEXT(mproject), DB_TEXT(muuid), DB_INT(limit));
	if (rc < 0)
		return cmp_db_error(r, rc, "usage");
	json_t *byproj = json_object(), *order = json_array(), *all = json_array();
	int64_t now = time_now_us();
	for (int i = 0; i < db_rows_count(rows); i++) {
		int64_t launched = db_int(rows, i, 7), terminated = db_isnull(rows, i, 8) ? 0 : db_int(rows, i, 8);
		double hours = hours_for(launched, terminated, w);
		const char *pid = db_text(rows, i, 2);
		int64_t mem = db_int(rows, i, 4), gb = db_int(rows, i, 5), vcpus = db_int(rows, i, 6);
		json_t *info = json_pack("{s:f,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:s,s:I}", "hours", hours,
					 "flavor", db_text(rows, i, 3) ? db_text(rows, i, 3) : "",
					 "instance_id", db_text(rows, i, 0), "name", db_text(rows, i, 1), "tenant_id", pid,
					 "memory_mb", (json_int_t)mem, "local_gb", (json_int_t)gb, "vcpus", (json_int_t)vcpus,
					 "started_at", cmp_time_json(launched), "ended_at", cmp_time_json(terminated),
					 "state", terminated ? "terminated" : db_text(rows, i, 9),
					 "uptime", (json_int_t)(((terminated ? terminated : now) - launched) / 1000000));
		json_t *sum = json_object_get(byproj, pid);
		if (!sum) {
			sum = json_pack("{s:s,s:f,s:f,s:f,s:f,s:o,s:o}", "tenant_id", pid, "total_local_gb_usage", 0.0,
					"total_vcpus_usage", 0.0, "total_memory_mb_usage", 0.0, "total_hours", 0.0,
					"start", cmp_time_json(w->start), "stop", cmp_time_json(w->stop));
			if (detailed)
				json_object_set_new(sum, "server_usages", json_array());
			json_object_set_new(byproj, pid, sum);
			json_array_append(order, sum);
		}
#define ADD(k, v) json_object_set_new(sum, k, json_real(json_real_value(json_object_get(sum, k)) + (v)))
		ADD("total_local_gb_usage", (double)gb * hours);
		ADD("total_vcpus_usage", (double)vcpus * hours);
		ADD("total_memory_mb_usage", (double)mem * hours);
		ADD("total_hours", hours);
#undef ADD
		if (detailed)
			json_array_append(json_object_get(sum, "server_usages"), info);
		json_array_append_new(all, info);
	}
	*full_page = paged && limit && db_rows_count(rows) == limit;
	*last = db_rows_count(rows) ? arena_strdup(r->arena, db_text(rows, db_rows_count(rows) - 1, 0)) : NULL;
	db_rows_free(rows);
	json_decref(byproj);
	*summaries = order;
	*servers = all;
	return 0;
}

int cmp_h_usage_index(struct http_req *r)
{
	int qrc = cmp_mv_ge(r, 2, 75) ? cmp_q_only(r, index_query) : 0;
	if (qrc)
		return qrc;
	struct window w;
	json_t *sums, *servers;
	bool full;
	const char *last;
	int rc = parse_window(r, &w);
	if (rc || (rc = report(r, &w, NULL, w.detailed, &sums, &servers, &full, &last)))
		return rc;
	json_decref(servers);
	json_t *body = json_pack("{s:o}", "tenant_usages", sums);
	if (full && last)
		json_object_set_new(body, "tenant_usages_links", json_pack("[{s:s,s:s}]", "rel", "next", "href",
			cmp_next_link(r, "os-simple-tenant-usage", last)));
	return http_reply_json(r, 200, body);
}

int cmp_h_usage_show(struct http_req *r)
{
	const char *project = http_param(r, "id");
	int rc = cmp_enforce(r, "os_compute_api:os-simple-tenant-usage:show", project, NULL);
	if (rc)
		return rc;
	int qrc = cmp_mv_ge(r, 2, 75) ? cmp_q_only(r, show_query) : 0;
	if (qrc)
		return qrc;
	struct window w;
	json_t *sums, *servers;
	bool full;
	const char *last;
	if ((rc = parse_window(r, &w)) || (rc = report(r, &w, project, true, &sums, &servers, &full, &last)))
		return rc;
	json_decref(servers);
	json_t *usage = json_array_size(sums) ? json_incref(json_array_get(sums, 0)) : json_object();
	json_decref(sums);
	json_t *body = json_pack("{s:o}", "tenant_usage", usage);
	if (full && last)
		json_object_set_new(body, "tenant_usage_links", json_pack("[{s:s,s:s}]", "rel", "next", "href",
			cmp_next_link(r, arena_printf(r->arena, "os-simple-tenant-usage/%s", project), last)));
	return http_reply_json(r, 200, body);
}
