/* server_list.c — GET /servers and /servers/detail: Nova's query rules (non-admins keep only the
 * documented filters, admins any column; unknown parameters are 400 from 2.75), exact filters in
 * SQL, regular-expression filters (name, hostname, ...) applied to the rows, status through the
 * vm/task state map, changes-since/before including deleted rows, tags filters (2.26), locked
 * (2.73), sort keys with Nova's ignored and admin-only keys, and marker/limit paging with
 * servers_links. */
#include "compute/srv.h"
#include "compute/valid.h"
#include "core/sqlbuf.h"
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 64
#define MAX_ARGS 256
#define MAX_LIMIT 1000

struct params {
	int n;
	const char *name[MAX_PARAMS], *value[MAX_PARAMS];
	bool overflow;
};

static int collect(void *ctx, const char *name, const char *value)
{
	struct params *p = ctx;
	if (p->n == MAX_PARAMS) {
		p->overflow = true;
		return 1;
	}
	p->name[p->n] = name;
	p->value[p->n++] = value ? value : "";
	return 0;
}

static const char *get(const struct params *p, const char *name)
{
	for (int i = 0; i < p->n; i++)
		if (p->name[i] && !strcmp(p->name[i], name))
			return p->value[i];
	return NULL;
}

static bool in(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* The properties of Nova's query schema (query_params_v21 and later additions). */
static const char *const schema_props[] = {
	"user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image", "kernel_id", "ramdisk_id",
	"hostname", "key_name", "power_state", "vm_state", "task_state", "host", "node", "flavor",
	"reservation_id", "launched_at", "terminated_at", "availability_zone", "name", "display_name",
	"description", "display_description", "locked_by", "uuid", "root_device_name", "config_drive",
	"access_ip_v4", "access_ip_v6", "auto_disk_config", "progress", "sort_key", "sort_dir", "all_tenants",
	"soft_deleted", "deleted", "status", "changes-since", "ip", "ip6", "created_at", "block_device_mapping",
	"services", "metadata", "system_metadata", "info_cache", "security_groups", "pci_devices", "limit",
	"marker", NULL,
};
static const char *const joined[] = { "block_device_mapping", "services", "metadata", "system_metadata",
				      "info_cache", "security_groups", "pci_devices", NULL };
static const char *const paging[] = { "sort_key", "sort_dir", "limit", "marker", NULL };
static const char *const tag_filters[] = { "tags", "tags-any", "not-tags", "not-tags-any", NULL };

static const char *const valid_sort_keys[] = {
	"access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive", "created_at",
	"display_description", "display_name", "host", "hostname", "image_ref", "instance_type_id", "kernel_id",
	"key_name", "launch_index", "launched_at", "locked_by", "node", "power_state", "progress", "project_id",
	"ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at", "user_id", "uuid",
	"vm_state", NULL,
};
static const char *const ignored_sort_keys[] = {
	"architecture", "cell_name", "cleaned", "default_ephemeral_device", "default_swap_device", "deleted",
	"deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id", "key_data", "launched_on",
	"locked", "memory_mb", "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus",
	"vm_mode", NULL,
};

static bool schema_known(struct http_req *r, const char *name)
{
	if (in(schema_props, name))
		return true;
	if (cmp_mv_ge(r, 2, 26) && in(tag_filters, name))
		return true;
	if (cmp_mv_ge(r, 2, 66) && !strcmp(name, "changes-before"))
		return true;
	if (cmp_mv_ge(r, 2, 73) && !strcmp(name, "locked"))
		return true;
	return false;
}

/* What a non-admin may filter on (servers._get_server_search_options). */
static bool user_allowed(struct http_req *r, const char *name)
{
	static const char *const base[] = { "reservation_id", "name", "status", "image", "flavor", "ip",
					    "changes-since", "all_tenants", NULL };
	if (in(base, name))
		return true;
	if (cmp_mv_ge(r, 2, 5) && !strcmp(name, "ip6"))
		return true;
	if (cmp_mv_ge(r, 2, 26) && in(tag_filters, name))
		return true;
	if (cmp_mv_ge(r, 2, 66) && !strcmp(name, "changes-before"))
		return true;
	if (cmp_mv_ge(r, 2, 73) && !strcmp(name, "locked"))
		return true;
	return false;
}

/* Filters matched as regular expressions, and the columns they apply to. */
static const struct { const char *param, *column; } regex_filters[] = {
	{ "name", "display_name" }, { "display_name", "display_name" }, { "description", "display_description" },
	{ "display_description", "display_description" }, { "hostname", "hostname" }, { "key_name", "key_name" },
	{ "node", "node" }, { "reservation_id", "reservation_id" }, { "availability_zone", "availability_zone" },
	{ "access_ip_v4", "access_ip_v4" }, { "access_ip_v6", "access_ip_v6" }, { "kernel_id", "kernel_id" },
	{ "ramdisk_id", "ramdisk_id" }, { "root_device_name", "root_device_name" }, { "config_drive", "config_drive" },
	{ "locked_by", "locked_by" },
};
#define NREGEX (sizeof regex_filters / sizeof regex_filters[0])

/* SQL with a text argument (copied), built with core/sqlbuf (at most MAX_ARGS arguments). */
static void add_text(struct sqlbuf *q, const char *sql, const char *v)
{
	sqlbuf_add(q, sql);
	sqlbuf_text(q, arena_strdup(q->a, v));
}

/* Splits a comma-separated list into the arena. */
static int split(struct arena *a, const char *s, const char ***out)
{
	int n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	const char **v = arena_alloc(a, sizeof *v * (size_t)n);
	int k = 0;
	const char *start = s;
	for (const char *p = s;; p++) {
		if (*p == ',' || !*p) {
			v[k++] = arena_strndup(a, start, (size_t)(p - start));
			if (!*p)
				break;
			start = p + 1;
		}
	}
	*out = v;
	return k;
}

static void tag_clause(struct sqlbuf *q, const char *which, const char *value)
{
	const char **tags;
	int n = split(q->a, value, &tags);
	if (!strcmp(which, "tags") || !strcmp(which, "not-tags")) {
		sqlbuf_add(q, !strcmp(which, "tags") ? " AND (1 = 1" : " AND NOT (1 = 1");
		for (int i = 0; i < n; i++)
			add_text(q, " AND EXISTS (SELECT 1 FROM cmp_instance_tags t WHERE t.instance_uuid = i.uuid AND t.tag = ?)",
				 tags[i]);
		sqlbuf_add(q, ")");
		return;
	}
	sqlbuf_add(q, !strcmp(which, "tags-any") ? " AND EXISTS" : " AND NOT EXISTS");
	sqlbuf_add(q, " (SELECT 1 FROM cmp_instance_tags t WHERE t.instance_uuid = i.uuid AND t.tag IN (");
	for (int i = 0; i < n; i++)
		add_text(q, i ? ", ?" : "?", tags[i]);
	sqlbuf_add(q, "))");
}

struct regex_filter {
	int col;                      /* index in SRV_COLUMNS order */
	regex_t re;
	bool compiled;
	const char *literal;
};

static int column_index(const char *column)
{
	static const char *const cols[] = { "uuid", "id", "project_id", "user_id", "display_name", "display_description",
					    "hostname", "host", "node", "availability_zone", "flavorid", "flavor_name", "vcpus",
					    "memory_mb", "root_gb", "ephemeral_gb", "swap", "flavor_extra_specs", "image_ref",
					    "kernel_id", "ramdisk_id", "key_name", "key_data", "user_data", "config_drive",
					    "auto_disk_config", "access_ip_v4", "access_ip_v6", "reservation_id", "launch_index",
					    "root_device_name", "vm_state", "task_state", "power_state", "progress", "locked_by",
					    NULL };
	for (int i = 0; cols[i]; i++)
		if (!strcmp(cols[i], column))
			return i;
	return -1;
}

static void regfree_void(void *p)
{
	regfree(p);
}

static bool sort_dir_ok(const char *d)
{
	return !strcmp(d, "asc") || !strcmp(d, "desc");
}

/* The SQL expression a sort key orders by. */
static const char *sort_column(const char *key)
{
	if (!strcmp(key, "instance_type_id"))
		return "i.flavorid";
	if (!strcmp(key, "locked"))
		return "i.locked_by";
	return NULL;
}

static int list(struct http_req *r, bool detail)
{
	struct params p = { 0 };
	http_query_each(r, collect, &p);
	if (p.overflow)
		return http_error(r, ERR_BADREQ, "Too many query parameters.");
	bool admin = cmp_is_admin(r);
	int rc = cmp_enforce(r, detail ? "os_compute_api:servers:detail" : "os_compute_api:servers:index", NULL, NULL);
	if (rc < 0)
		return rc;
	/* the schema */
	for (int i = 0; i < p.n; i++) {
		const char *n = p.name[i];
		if (cmp_mv_ge(r, 2, 75) && !schema_known(r, n) && n[0] != '_')
			return cmp_q_unexpected(r, n, p.value[i]);
		if (!strcmp(n, "sort_key")) {
			bool ok = in(valid_sort_keys, p.value[i]) ||
				  (in(ignored_sort_keys, p.value[i]) && !cmp_mv_ge(r, 2, 75)) ||
				  (!strcmp(p.value[i], "locked") && cmp_mv_ge(r, 2, 73));
			if (!ok)
				return http_error(r, ERR_BADREQ, "Invalid input for query parameters sort_key. Value: %s."
						  " '%s' is not one of the valid sort keys", p.value[i], p.value[i]);
		}
		if (!strcmp(n, "limit")) {
			int64_t l;
			if (parse_int64(p.value[i], 0, INT64_MAX, &l) < 0)
				return http_error(r, ERR_BADREQ, "Invalid input for query parameters limit. Value: %s. '%s'"
						  " does not match '^[0-9]*$'", p.value[i], p.value[i]);
		}
		if (!strcmp(n, "changes-since") || !strcmp(n, "changes-before")) {
			int64_t t;
			if (time_parse(p.value[i], &t) < 0)
				return http_error(r, ERR_BADREQ, "Invalid input for query parameters %s. Value: %s. '%s' is"
						  " not a 'date-time'", n, p.value[i], p.value[i]);
		}
	}
	/* what this caller may filter on */
	bool all_filters = cmp_allowed(r, "os_compute_api:servers:allow_all_filters", NULL, NULL);
	for (int i = 0; i < p.n; i++) {
		const char *n = p.name[i];
		if (in(paging, n))
			continue;
		if (!all_filters && !user_allowed(r, n)) {
			p.name[i] = NULL;      /* silently removed, as Nova does */
			continue;
		}
		if (in(joined, n) || n[0] == '_')
			return http_error(r, ERR_BADREQ, "Invalid filter field: %s.", n);
	}

	struct sqlbuf q = { .a = r->arena, .max_args = MAX_ARGS };
	sqlbuf_add(&q, "SELECT " SRV_COLUMNS " FROM cmp_instances i WHERE 1 = 1");
	struct regex_filter *rx = arena_alloc(r->arena, sizeof *rx * (NREGEX + 1));
	int nrx = 0;
	bool empty = false;              /* a filter that matches nothing */

	/* status */
	bool any_status = false;
	const char *vm_states[64], *task_states[64];
	int nvm = 0, ntask = 0;
	bool any_task = false;
	for (int i = 0; i < p.n; i++) {
		if (!p.name[i] || strcmp(p.name[i], "status"))
			continue;
		any_status = true;
		const char *v1[32], *t1[32];
		int n1, m1;
		bool at;
		if (srv_status_states(p.value[i], v1, &n1, t1, &m1, &at)) {
			for (int j = 0; j < n1 && nvm < 64; j++)
				vm_states[nvm++] = v1[j];
			for (int j = 0; j < m1 && ntask < 64; j++)
				task_states[ntask++] = t1[j];
			any_task |= at;
		}
	}
	if (any_status && !nvm) {
		if (cmp_mv_ge(r, 2, 38))
			return http_error(r, ERR_BADREQ, "Invalid status value");
		return http_reply_json(r, 200, json_pack("{s:[]}", "servers"));
	}
	int64_t t_since = 0, t_before = 0;
	bool have_since = false, have_before = false;
	for (int i = 0; i < p.n; i++) {
		if (!p.name[i])
			continue;
		if (!strcmp(p.name[i], "changes-since")) {
			time_parse(p.value[i], &t_since);
			have_since = true;
		} else if (!strcmp(p.name[i], "changes-before")) {
			time_parse(p.value[i], &t_before);
			have_before = true;
		}
	}
	if (have_since && have_before && t_before < t_since)
		return http_error(r, ERR_BADREQ, "The value of changes-since must be less than or equal to changes-before.");
	/* deleted */
	const char *deleted_s = NULL;
	for (int i = 0; i < p.n; i++)
		if (p.name[i] && !strcmp(p.name[i], "deleted"))
			deleted_s = p.value[i];
	int deleted = -1;                 /* -1: both (changes-since), 0, 1 */
	if (!deleted_s) {
		if (!have_since && !have_before)
			deleted = 0;
	} else {
		bool b = false;
		json_t *js = json_string(deleted_s);
		deleted = srv_parse_bool(js, &b) == 0 && b ? 1 : 0;
		json_decref(js);
	}
	if (nvm == 1 && !strcmp(vm_states[0], VM_DELETED)) {
		if (!admin)
			return http_error(r, ERR_FORBIDDEN, "Only administrators may list deleted instances");
		deleted = 1;
	}
	if (deleted == 0)
		sqlbuf_add(&q, " AND i.deleted = 0 AND i.vm_state <> 'soft-delete'");
	else if (deleted == 1)
		sqlbuf_add(&q, " AND (i.deleted = 1 OR i.vm_state = 'soft-delete')");
	if (nvm) {
		sqlbuf_add(&q, " AND i.vm_state IN (");
		for (int i = 0; i < nvm; i++)
			add_text(&q, i ? ", ?" : "?", vm_states[i]);
		sqlbuf_add(&q, ")");
		if (!any_task && ntask) {
			sqlbuf_add(&q, " AND i.task_state IN (");
			for (int i = 0; i < ntask; i++)
				add_text(&q, i ? ", ?" : "?", task_states[i]);
			sqlbuf_add(&q, ")");
		}
	}
	if (have_since) {
		sqlbuf_add(&q, " AND COALESCE(i.updated_at, i.created_at) >= ?");
		sqlbuf_arg(&q, DB_INT(t_since));
	}
	if (have_before) {
		sqlbuf_add(&q, " AND COALESCE(i.updated_at, i.created_at) <= ?");
		sqlbuf_arg(&q, DB_INT(t_before));
	}
	/* all_tenants and the project scope */
	const char *at = NULL;
	bool all_tenants = false;
	for (int i = 0; i < p.n; i++)
		if (p.name[i] && !strcmp(p.name[i], "all_tenants"))
			at = p.value[i];
	if (at) {
		all_tenants = true;
		if (*at) {
			json_t *js = json_string(at);
			bool b;
			int prc = srv_parse_bool(js, &b);
			json_decref(js);
			if (prc < 0)
				return http_error(r, ERR_BADREQ, "Invalid input received: Unrecognized value '%s', acceptable"
						  " values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", at);
			all_tenants = b;
		}
	}
	if (all_tenants) {
		if ((rc = cmp_enforce(r, detail ? "os_compute_api:servers:detail:get_all_tenants"
				      : "os_compute_api:servers:index:get_all_tenants", NULL, NULL)) < 0)
			return rc;
		const char *proj = NULL;
		for (int i = 0; i < p.n; i++)
			if (p.name[i] && (!strcmp(p.name[i], "project_id") || !strcmp(p.name[i], "tenant_id")))
				proj = p.value[i];
		if (proj)
			add_text(&q, " AND i.project_id = ?", proj);
	} else {
		add_text(&q, " AND i.project_id = ?", cmp_project(r));
	}
	/* the other filters */
	for (int i = 0; i < p.n; i++) {
		const char *n = p.name[i], *v = p.value[i];
		if (!n || in(paging, n) || !strcmp(n, "status") || !strcmp(n, "deleted") || !strcmp(n, "all_tenants") ||
		    !strcmp(n, "changes-since") || !strcmp(n, "changes-before") || !strcmp(n, "project_id") ||
		    !strcmp(n, "tenant_id") || !strcmp(n, "soft_deleted"))
			continue;
		if (!strcmp(n, "image") || !strcmp(n, "image_ref")) {
			const char *slash = strrchr(v, '/');
			add_text(&q, " AND i.image_ref = ?", slash ? slash + 1 : v);
		} else if (!strcmp(n, "flavor")) {
			add_text(&q, " AND i.flavorid = ?", v);
		} else if (!strcmp(n, "user_id") || !strcmp(n, "host") || !strcmp(n, "uuid") || !strcmp(n, "vm_state") ||
			   !strcmp(n, "task_state")) {
			sqlbuf_add(&q, arena_printf(r->arena, " AND i.%s = ?", n));
			sqlbuf_arg(&q, DB_TEXT(arena_strdup(r->arena, v)));
		} else if (!strcmp(n, "launch_index") || !strcmp(n, "power_state") || !strcmp(n, "progress")) {
			int64_t x;
			if (parse_int64(v, INT64_MIN, INT64_MAX, &x) < 0) {
				empty = true;
				continue;
			}
			sqlbuf_add(&q, arena_printf(r->arena, " AND i.%s = ?", n));
			sqlbuf_arg(&q, DB_INT(x));
		} else if (!strcmp(n, "locked")) {
			json_t *js = json_string(v);
			bool b;
			int prc = srv_parse_bool(js, &b);
			json_decref(js);
			if (prc < 0)
				return http_error(r, ERR_BADREQ, "Invalid input received: Unrecognized value '%s', acceptable"
						  " values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", v);
			sqlbuf_add(&q, b ? " AND i.locked_by IS NOT NULL" : " AND i.locked_by IS NULL");
		} else if (in(tag_filters, n)) {
			tag_clause(&q, n, v);
		} else if (!strcmp(n, "ip") || !strcmp(n, "ip6")) {
			empty = true;         /* no networking service: no server has an address */
		} else {
			for (size_t k = 0; k < NREGEX; k++) {
				if (strcmp(regex_filters[k].param, n))
					continue;
				struct regex_filter *f = &rx[nrx++];
				f->col = column_index(regex_filters[k].column);
				if (regcomp(&f->re, v, REG_EXTENDED | REG_NOSUB) == 0) {
					f->compiled = true;
					arena_defer(r->arena, regfree_void, &f->re);
				} else {
					f->literal = v;
				}
				break;
			}
		}
	}
	if (q.overflow)
		return http_error(r, ERR_BADREQ, "Too many filter values.");
	/* sorting */
	const char *keys[16], *dirs[16];
	int nkeys = 0, ndirs = 0;
	for (int i = 0; i < p.n; i++)
		if (p.name[i] && !strcmp(p.name[i], "sort_dir") && ndirs < 16)
			dirs[ndirs++] = p.value[i];
	/* sort_key entries (never removed above) */
	for (int i = 0; i < p.n; i++) {
		if (p.name[i] && !strcmp(p.name[i], "sort_key") && nkeys < 16) {
			const char *k = p.value[i];
			bool ignored = in(ignored_sort_keys, k) && !(cmp_mv_ge(r, 2, 73) && !strcmp(k, "locked"));
			if (ignored) {
				if (ndirs > nkeys) {
					memmove(&dirs[nkeys], &dirs[nkeys + 1], sizeof dirs[0] * (size_t)(ndirs - nkeys - 1));
					ndirs--;
				}
				continue;
			}
			if ((!strcmp(k, "host") || !strcmp(k, "node")) && !admin)
				return http_error(r, ERR_FORBIDDEN, "Only administrators can sort servers by %s", k);
			keys[nkeys++] = k;
		}
	}
	for (int i = 0; i < ndirs; i++)
		if (!sort_dir_ok(dirs[i]))
			return http_error(r, ERR_BADREQ, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'");
	if (!nkeys)
		keys[nkeys++] = "created_at";
	const char *def_dir = ndirs ? dirs[0] : "desc";
	sqlbuf_add(&q, " ORDER BY ");
	bool has_created = false, has_id = false;
	for (int i = 0; i < nkeys; i++) {
		const char *col = sort_column(keys[i]);
		const char *d = i < ndirs ? dirs[i] : def_dir;
		sqlbuf_add(&q, arena_printf(r->arena, "%s%s %s", i ? ", " : "", col ? col : arena_printf(r->arena, "i.%s", keys[i]),
				     !strcmp(d, "asc") ? "ASC" : "DESC"));
		has_created |= !strcmp(keys[i], "created_at");
		has_id |= !strcmp(keys[i], "id") || !strcmp(keys[i], "uuid");
	}
	if (!has_created)
		sqlbuf_add(&q, arena_printf(r->arena, ", i.created_at %s", !strcmp(def_dir, "asc") ? "ASC" : "DESC"));
	if (!has_id)
		sqlbuf_add(&q, arena_printf(r->arena, ", i.id %s", !strcmp(def_dir, "asc") ? "ASC" : "DESC"));
	/* paging */
	int64_t limit = MAX_LIMIT;
	const char *ls = get(&p, "limit"), *marker = get(&p, "marker");
	if (ls) {
		int64_t l = 0;
		parse_int64(ls, 0, INT64_MAX, &l);
		limit = l < MAX_LIMIT ? l : MAX_LIMIT;
	}
	struct db_rows *rows = NULL;
	if (!empty) {
		rc = db_query_a(cmp_db(r), &rows, q.text, sqlbuf_args(&q));
		if (rc < 0)
			return cmp_db_error(r, rc, "instance list");
	}
	int total = rows ? db_rows_count(rows) : 0;
	struct srv *items = arena_alloc(r->arena, sizeof *items * (size_t)(total + 1));
	int n = 0;
	bool after_marker = marker == NULL, marker_seen = false;
	for (int i = 0; i < total && n < limit; i++) {
		if (!after_marker) {
			if (!strcmp(db_text(rows, i, 0), marker))
				after_marker = marker_seen = true;
			continue;
		}
		bool ok = true;
		for (int k = 0; k < nrx && ok; k++) {
			const char *val = rx[k].col >= 0 ? db_text(rows, i, rx[k].col) : NULL;
			if (!val)
				ok = false;
			else if (rx[k].compiled)
				ok = regexec(&rx[k].re, val, 0, NULL, 0) == 0;
			else
				ok = strstr(val, rx[k].literal) != NULL;
		}
		if (ok)
			srv_from_row(r->arena, rows, i, &items[n++]);
	}
	db_rows_free(rows);
	if (marker && !marker_seen) {
		/* a marker outside the filtered set: Nova pages from any instance that exists */
		struct db_rows *m = NULL;
		rc = db_query(cmp_db(r), &m, "SELECT 1 FROM cmp_instances WHERE uuid = ?", DB_TEXT(marker));
		if (rc < 0)
			return cmp_db_error(r, rc, "marker");
		int found = db_rows_count(m);
		db_rows_free(m);
		if (!found)
			return http_error(r, ERR_BADREQ, "marker [%s] not found", marker);
	}
	if (detail && (rc = srv_load_extras(r, items, n)) < 0)
		return rc;
	json_t *arr = json_array();
	struct srv_view_opts o = { .detail = detail, .ext_attr = -1, .extra_specs = -1, .host_status = 0 };
	int hs_policy = 0;
	if (detail) {
		o.ext_attr = cmp_allowed(r, "os_compute_api:os-extended-server-attributes", NULL, NULL);
		o.extra_specs = cmp_mv_ge(r, 2, 47) && cmp_allowed(r, "os_compute_api:servers:show:flavor-extra-specs", NULL, NULL);
		if (cmp_mv_ge(r, 2, 16))
			hs_policy = srv_host_status_policy(r, NULL);
	}
	for (int i = 0; i < n; i++) {
		struct srv_view_opts oi = o;
		if (hs_policy) {
			const char *hs = srv_host_status(r, items[i].host);
			if (hs_policy == 1 || !strcmp(hs, "UNKNOWN")) {
				oi.host_status = 1;
				oi.host_status_value = hs;
			}
		}
		json_array_append_new(arr, srv_view(r, &items[i], &oi));
	}
	json_t *resp = json_pack("{s:o}", "servers", arr);
	if (limit && n == limit) {
		/* the next link: every query parameter (sorted), marker replaced */
		char *href = arena_printf(r->arena, "%s/servers%s?", cmp_url_v21(r), detail ? "/detail" : "");
		const char *names[MAX_PARAMS];
		int nn = 0;
		struct params all = { 0 };
		http_query_each(r, collect, &all);
		for (int i = 0; i < all.n; i++)
			if (strcmp(all.name[i], "marker"))
				names[nn++] = (const char *)(intptr_t)i;
		/* insertion sort by name (stable) */
		for (int i = 1; i < nn; i++)
			for (int j = i; j > 0 && strcmp(all.name[(intptr_t)names[j - 1]], all.name[(intptr_t)names[j]]) > 0; j--) {
				const char *t = names[j];
				names[j] = names[j - 1];
				names[j - 1] = t;
			}
		for (int i = 0; i < nn; i++) {
			int idx = (int)(intptr_t)names[i];
			char *en = arena_alloc(r->arena, strlen(all.name[idx]) * 3 + 1);
			char *ev = arena_alloc(r->arena, strlen(all.value[idx]) * 3 + 1);
			url_encode(all.name[idx], en, true);
			url_encode(all.value[idx], ev, true);
			href = arena_printf(r->arena, "%s%s=%s&", href, en, ev);
		}
		href = arena_printf(r->arena, "%smarker=%s", href, items[n - 1].uuid);
		json_object_set_new(resp, "servers_links", json_pack("[{s:s,s:s}]", "rel", "next", "href", href));
	}
	return http_reply_json(r, 200, resp);
}

int srv_h_index(struct http_req *r)
{
	return list(r, false);
}

int srv_h_detail(struct http_req *r)
{
	return list(r, true);
}
