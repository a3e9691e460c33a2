/* flavors.c — GET /flavors, /flavors/detail and /flavors/{id} (filters, sorting, marker paging
 * with a "next" link) and the flavor-manage calls: create, update the description (2.55),
 * delete. The extra specs and access lists are in flavor_extras.c. */
#include "compute/flavors.h"
#include "compute/valid.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIMIT 1000    /* Nova's [api] max_limit */

/* Sort keys Nova accepts, and the column each sorts by. */
static const struct { const char *key, *col; } sort_keys[] = {
	{ "created_at", "f.created_at" }, { "description", "f.description" }, { "disabled", "f.disabled" },
	{ "ephemeral_gb", "f.ephemeral_gb" }, { "flavorid", "f.flavorid" }, { "id", "f.created_at" },
	{ "is_public", "f.is_public" }, { "memory_mb", "f.memory_mb" }, { "name", "f.name" },
	{ "root_gb", "f.root_gb" }, { "rxtx_factor", "f.rxtx_factor" }, { "swap", "f.swap" },
	{ "updated_at", "f.updated_at" }, { "vcpu_weight", "f.created_at" }, { "vcpus", "f.vcpus" },
};

static const char *const query_names[] = {
	"limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir", NULL,
};

/* Parameters in name order with marker replaced, as Nova builds its "next" links. */
struct link_params {
	struct http_req *r;
	const char *marker;
	const char *names[32], *values[32];
	int n;
};

static int collect_param(void *ctx, const char *name, const char *value)
{
	struct link_params *lp = ctx;
	if (!strcmp(name, "marker") || lp->n == 32)
		return 0;
	lp->names[lp->n] = name;
	lp->values[lp->n++] = value ? value : "";
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* BASE/v2.1/COLLECTION?sorted params&marker=ID (shared with other collections). */
const char *cmp_next_link(struct http_req *r, const char *collection, const char *marker)
{
	struct link_params lp = { .r = r };
	http_query_each(r, collect_param, &lp);
	lp.names[lp.n] = "marker";
	lp.values[lp.n++] = marker;
	const char **idx[32];
	for (int i = 0; i < lp.n; i++)
		idx[i] = &lp.names[i];
	qsort(idx, (size_t)lp.n, sizeof idx[0], cmp_str);
	const char *url = arena_printf(r->arena, "%s/%s?", cmp_url_v21(r), collection);
	for (int i = 0; i < lp.n; i++) {
		int k = (int)(idx[i] - lp.names);
		char *en = arena_alloc(r->arena, 3 * strlen(lp.names[k]) + 1);
		char *ev = arena_alloc(r->arena, 3 * strlen(lp.values[k]) + 1);
		url_encode(lp.names[k], en, true);
		url_encode(lp.values[k], ev, true);
		url = arena_printf(r->arena, "%s%s%s=%s", url, i ? "&" : "", en, ev);
	}
	return url;
}

static int query_int(struct http_req *r, const char *name, int64_t *out)
{
	const char *s = http_query(r, name);
	if (!s || parse_int64(s, 0, INT64_MAX, out))
		return http_error(r, ERR_BADREQ, "Invalid input for query parameters %s. Value: %s. '%s' does "
				  "not match '^[0-9]*$'", name, s ? s : "", s ? s : "");
	return 0;
}

static int list(struct http_req *r, bool detail)
{
	int qrc = cmp_mv_ge(r, 2, 75) ? cmp_q_only(r, query_names) : 0;
	if (qrc)
		return qrc;
	int64_t limit = MAX_LIMIT, min_ram = -1, min_disk = -1;
	if (http_query(r, "limit")) {
		if (query_int(r, "limit", &limit))
			return ERR_BADREQ;
		if (limit > MAX_LIMIT)
			limit = MAX_LIMIT;
	}
	const char *sort_key = http_query(r, "sort_key"), *sort_dir = http_query(r, "sort_dir");
	const char *col = "f.flavorid";
	if (sort_key && *sort_key) {
		col = NULL;
		for (size_t i = 0; i < sizeof sort_keys / sizeof sort_keys[0]; i++)
			if (!strcmp(sort_keys[i].key, sort_key))
				col = sort_keys[i].col;
		if (!col)
			return http_error(r, ERR_BADREQ, "Invalid input for query parameters sort_key. Value: %s. "
					  "'%s' is not one of the valid sort keys", sort_key, sort_key);
	}
	bool desc = false;
	if (sort_dir && *sort_dir) {
		if (strcmp(sort_dir, "asc") && strcmp(sort_dir, "desc"))
			return http_error(r, ERR_BADREQ, "Invalid input for query parameters sort_dir. Value: %s. "
					  "'%s' is not one of ['asc', 'desc']", sort_dir, sort_dir);
		desc = !strcmp(sort_dir, "desc");
	}
	const char *s;
	if ((s = http_query(r, "minRam")) && parse_int64(s, INT64_MIN, INT64_MAX, &min_ram))
		return http_error(r, ERR_BADREQ, "Invalid minRam filter [%s]", s);
	if ((s = http_query(r, "minDisk")) && parse_int64(s, INT64_MIN, INT64_MAX, &min_disk))
		return http_error(r, ERR_BADREQ, "Invalid minDisk filter [%s]", s);

	/* is_public: 1 public (or shared with the caller), 0 private only, -1 all (admins only) */
	int pub = 1;
	bool admin = cmp_is_admin(r);
	if (admin && (s = http_query(r, "is_public"))) {
		bool b;
		if (!strcasecmp(s, "none"))
			pub = -1;
		else if (cmp_parse_bool_strict(s, &b) == 0)
			pub = b;
		else
			return http_error(r, ERR_BADREQ, "Invalid is_public filter [%s]", s);
	}
	const char *project = cmp_project(r);
	const char *sql = arena_printf(r->arena,
		"SELECT " CMP_FLAVOR_COLUMNS " FROM cmp_flavors f WHERE f.memory_mb >= ? AND f.root_gb >= ?"
		"%s%s ORDER BY %s %s, f.flavorid %s",
		admin ? "" : " AND f.disabled = 0 AND (f.is_public = 1 OR EXISTS (SELECT 1 FROM"
			     " cmp_flavor_projects p WHERE p.flavorid = f.flavorid AND p.project_id = ?))",
		pub == 1 ? " AND (f.is_public = 1 OR EXISTS (SELECT 1 FROM cmp_flavor_projects p2"
			   " WHERE p2.flavorid = f.flavorid AND p2.project_id = ?))"
			 : pub == 0 ? " AND f.is_public = 0" : "",
		col, desc ? "DESC" : "ASC", desc ? "DESC" : "ASC");
	struct db_arg args[6];
	int n = 0;
	args[n++] = DB_INT(min_ram);
	args[n++] = DB_INT(min_disk);
	if (!admin)
		args[n++] = DB_TEXT(project);
	if (pub == 1)
		args[n++] = DB_TEXT(project);
	args[n] = DB_END_;
	struct db_rows *rows = NULL;
	int rc = db_query_a(cmp_db(r), &rows, sql, args);
	if (rc < 0)
		return cmp_db_error(r, rc, "flavors");
	int start = 0, count = db_rows_count(rows);
	const char *marker = http_query(r, "marker");
	if (marker) {
		start = -1;
		for (int i = 0; i < count && start < 0; i++)
			if (!strcmp(db_text(rows, i, 0), marker))
				start = i + 1;
		if (start < 0) {
			/* a marker filtered out of this listing but visible to the caller still pages */
			db_rows_free(rows);
			return http_error(r, ERR_BADREQ, "marker [%s] not found", marker);
		}
	}
	bool specs = detail && cmp_flavor_specs_visible(r);
	json_t *arr = json_array();
	const char *last = NULL;
	for (int i = start; i < count && (int64_t)json_array_size(arr) < limit; i++) {
		struct cmp_flavor f;
		cmp_flavor_from_row(r, rows, i, &f);
		if (specs && (rc = cmp_flavor_load_specs(r, &f))) {
			json_decref(arr);
			db_rows_free(rows);
			return rc;
		}
		json_array_append_new(arr, detail ? cmp_flavor_detail(r, &f, specs) : cmp_flavor_brief(r, &f));
		last = f.id;
	}
	db_rows_free(rows);
	json_t *body = json_pack("{s:o}", "flavors", arr);
	if (limit && (int64_t)json_array_size(arr) == limit && last)
		json_object_set_new(body, "flavors_links", json_pack("[{s:s,s:s}]", "rel", "next", "href",
			cmp_next_link(r, detail ? "flavors/detail" : "flavors", last)));
	return http_reply_json(r, 200, body);
}

static int h_index(struct http_req *r)
{
	return list(r, false);
}

static int h_detail(struct http_req *r)
{
	return list(r, true);
}

static int h_show(struct http_req *r)
{
	struct cmp_flavor f;
	int rc = cmp_flavor_get(r, http_param(r, "id"), false, &f);
	if (rc)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "flavor",
						 cmp_flavor_detail(r, &f, cmp_flavor_specs_visible(r))));
}

/* The "id" of a new flavor: string, number or null, matching ^(?! )[a-zA-Z0-9. _-]+(?<! )$. */
static int flavor_id(struct http_req *r, const json_t *v, const char **out)
{
	if (!v || json_is_null(v)) {
		char id[37];
		uuid_dashed(id);
		*out = arena_strdup(r->arena, id);
		return 0;
	}
	const char *s;
	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v))
		s = arena_printf(r->arena, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		s = arena_printf(r->arena, "%.17g", json_real_value(v));
	else
		return cmp_bad_field(r, "id", arena_printf(r->arena, "Value: %s. %s is not of type 'string', "
							   "'number', 'null'", cmp_v_repr(r, v), cmp_v_repr(r, v)));
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= 255 && s[0] != ' ' && s[n - 1] != ' ' &&
		  strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789. _-") == n;
	if (json_is_string(v) && !ok)
		return cmp_bad_field(r, "id", arena_printf(r->arena, "Value: %s. '%s' does not match "
							   "'^(?! )[a-zA-Z0-9. _-]+(?<! )$'", s, s));
	*out = s;
	return 0;
}

static int rxtx(struct http_req *r, const json_t *v, double *out)
{
	double d;
	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v), *p = s;
		size_t digits = strspn(p, "0123456789");
		p += digits;
		if (digits && *p == '.') {
			size_t frac = strspn(p + 1, "0123456789");
			p = frac ? p + 1 + frac : p;
		}
		if (!digits || *p)
			return cmp_bad_field(r, "rxtx_factor", arena_printf(r->arena, "Value: %s. '%s' does not "
					     "match '^[0-9]+(\\.[0-9]+)?$'", s, s));
		d = strtod(s, NULL);
	} else {
		return cmp_bad_field(r, "rxtx_factor", arena_printf(r->arena, "Value: %s. %s is not of type "
				     "'number', 'string'", cmp_v_repr(r, v), cmp_v_repr(r, v)));
	}
	if (!(d > 0) || d > 3.40282e+38 || isnan(d))
		return cmp_bad_field(r, "rxtx_factor", arena_printf(r->arena, "Value: %g. %g is less than or "
				     "equal to the minimum of 0", d, d));
	*out = d;
	return 0;
}

static int h_create(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	static const char *const top[] = { "flavor", NULL };
	static const char *const fields[] = { "name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral",
		"swap", "rxtx_factor", "os-flavor-access:is_public", "description", NULL };
	bool with_desc = cmp_mv_ge(r, 2, 55);
	json_t *fl = json_object_get(body, "flavor");
	if (cmp_v_required(r, body, NULL, "flavor") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, fl, "flavor"))
		return ERR_BADREQ;
	const char *k;
	json_t *v;
	json_object_foreach(fl, k, v) {
		bool ok = false;
		for (int i = 0; fields[i] && !ok; i++)
			ok = !strcmp(fields[i], k) && (with_desc || strcmp(k, "description"));
		if (!ok)
			return cmp_v_unexpected(r, "flavor", k);
	}
	static const char *const req[] = { "name", "ram", "vcpus", "disk", NULL };
	for (int i = 0; req[i]; i++)
		if (cmp_v_required(r, fl, "flavor", req[i]))
			return ERR_BADREQ;
	struct cmp_flavor f = { .rxtx_factor = 1.0, .is_public = true };
	if (cmp_v_name(r, json_object_get(fl, "name"), "name", false))
		return ERR_BADREQ;
	f.name = json_string_value(json_object_get(fl, "name"));
	if (flavor_id(r, json_object_get(fl, "id"), &f.id))
		return ERR_BADREQ;
	if (cmp_v_int(r, json_object_get(fl, "ram"), "ram", 1, 0x7FFFFFFF, &f.memory_mb) ||
	    cmp_v_int(r, json_object_get(fl, "vcpus"), "vcpus", 1, 0x7FFFFFFF, &f.vcpus) ||
	    cmp_v_int(r, json_object_get(fl, "disk"), "disk", 0, 0x7FFFFFFF, &f.root_gb))
		return ERR_BADREQ;
	if ((v = json_object_get(fl, "OS-FLV-EXT-DATA:ephemeral")) &&
	    cmp_v_int(r, v, "OS-FLV-EXT-DATA:ephemeral", 0, 0x7FFFFFFF, &f.ephemeral_gb))
		return ERR_BADREQ;
	if ((v = json_object_get(fl, "swap")) && cmp_v_int(r, v, "swap", 0, 0x7FFFFFFF, &f.swap))
		return ERR_BADREQ;
	if ((v = json_object_get(fl, "rxtx_factor")) && rxtx(r, v, &f.rxtx_factor))
		return ERR_BADREQ;
	if ((v = json_object_get(fl, "os-flavor-access:is_public")) &&
	    cmp_v_bool(r, v, "os-flavor-access:is_public", &f.is_public))
		return ERR_BADREQ;
	if (with_desc && (v = json_object_get(fl, "description"))) {
		if (cmp_v_description(r, v, "description", 65535))
			return ERR_BADREQ;
		f.description = json_string_value(v);
	}
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	struct db_rows *rows = NULL;
	rc = db_query(cmp_db(r), &rows, "SELECT flavorid, name FROM cmp_flavors WHERE flavorid = ? OR name = ?",
		      DB_TEXT(f.id), DB_TEXT(f.name));
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor create");
	bool id_taken = false, name_taken = false;
	for (int i = 0; i < db_rows_count(rows); i++) {
		id_taken |= !strcmp(db_text(rows, i, 0), f.id);
		name_taken |= !strcmp(db_text(rows, i, 1), f.name);
	}
	db_rows_free(rows);
	if (id_taken || name_taken) {
		cmp_rollback(r);
		if (name_taken)
			return http_error(r, ERR_CONFLICT, "Flavor with name %s already exists.", f.name);
		return http_error(r, ERR_CONFLICT, "Flavor with ID %s already exists.", f.id);
	}
	char rx[64];
	snprintf(rx, sizeof rx, "%.17g", f.rxtx_factor);
	rc = db_exec(cmp_db(r), "INSERT INTO cmp_flavors (flavorid, name, description, memory_mb, vcpus, root_gb,"
		     " ephemeral_gb, swap, rxtx_factor, is_public, disabled, created_at)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS REAL), ?, 0, ?)",
		     DB_TEXT(f.id), DB_TEXT(f.name), DB_TEXT(f.description), DB_INT(f.memory_mb), DB_INT(f.vcpus),
		     DB_INT(f.root_gb), DB_INT(f.ephemeral_gb), DB_INT(f.swap), DB_TEXT(rx), DB_BOOL(f.is_public),
		     DB_INT(time_now_us()));
	if (rc == ERR_CONFLICT) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Flavor with ID %s already exists.", f.id);
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor create");
	if ((rc = cmp_commit(r)))
		return rc;
	bool specs = cmp_flavor_specs_visible(r);
	if (specs) {
		f.extra_specs = json_object();
		arena_defer(r->arena, json_decref_void, f.extra_specs);
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "flavor", cmp_flavor_detail(r, &f, specs)));
}

/* PUT /flavors/{id} (2.55): only the description changes. */
static int h_update(struct http_req *r)
{
	if (!cmp_mv_ge(r, 2, 55))
		return http_error(r, ERR_NOTFOUND, "The resource could not be found.");
	int rc = cmp_enforce(r, "os_compute_api:os-flavor-manage:update", NULL, NULL);
	if (rc)
		return rc;
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	static const char *const top[] = { "flavor", NULL }, *const fields[] = { "description", NULL };
	json_t *fl = json_object_get(body, "flavor");
	if (cmp_v_required(r, body, NULL, "flavor") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, fl, "flavor") || cmp_v_only(r, fl, "flavor", fields) ||
	    cmp_v_required(r, fl, "flavor", "description") ||
	    cmp_v_description(r, json_object_get(fl, "description"), "description", 65535))
		return ERR_BADREQ;
	struct cmp_flavor f;
	if ((rc = cmp_begin(r)))
		return rc;
	if ((rc = cmp_flavor_get(r, http_param(r, "id"), true, &f))) {
		cmp_rollback(r);
		return rc;
	}
	f.description = json_string_value(json_object_get(fl, "description"));
	rc = db_exec(cmp_db(r), "UPDATE cmp_flavors SET description = ?, updated_at = ? WHERE flavorid = ?",
		     DB_TEXT(f.description), DB_INT(time_now_us()), DB_TEXT(f.id));
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor update");
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "flavor",
						 cmp_flavor_detail(r, &f, cmp_flavor_specs_visible(r))));
}

static int h_delete(struct http_req *r)
{
	const char *id = http_param(r, "id");
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_flavor_extra_specs WHERE flavorid = ?", DB_TEXT(id));
	if (rc >= 0)
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_flavor_projects WHERE flavorid = ?", DB_TEXT(id));
	if (rc >= 0)
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_flavors WHERE flavorid = ?", DB_TEXT(id));
	if (rc < 0)
		return cmp_db_error(r, rc, "flavor delete");
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Flavor %s could not be found.", id);
	}
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_empty(r, 202);
}

const struct route cmp_routes_flavors[] = {
	{ "GET", "/v2.1/flavors", h_index, NULL, 0, NULL },
	{ "GET", "/v2.1/flavors/detail", h_detail, NULL, 0, NULL },
	{ "POST", "/v2.1/flavors", h_create, "os_compute_api:os-flavor-manage:create", 0, NULL },
	{ "GET", "/v2.1/flavors/{id}", h_show, NULL, 0, NULL },
	{ "PUT", "/v2.1/flavors/{id}", h_update, NULL, 0, NULL },
	{ "DELETE", "/v2.1/flavors/{id}", h_delete, "os_compute_api:os-flavor-manage:delete", 0, NULL },
	{ "GET", "/v2.1/flavors/{flavor_id}/os-extra_specs", cmp_h_specs_index,
	  "os_compute_api:os-flavor-extra-specs:index", 0, NULL },
	{ "POST", "/v2.1/flavors/{flavor_id}/os-extra_specs", cmp_h_specs_create,
	  "os_compute_api:os-flavor-extra-specs:create", 0, NULL },
	{ "GET", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", cmp_h_specs_show,
	  "os_compute_api:os-flavor-extra-specs:show", 0, NULL },
	{ "PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", cmp_h_specs_update,
	  "os_compute_api:os-flavor-extra-specs:update", 0, NULL },
	{ "DELETE", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", cmp_h_specs_delete,
	  "os_compute_api:os-flavor-extra-specs:delete", 0, NULL },
	{ "GET", "/v2.1/flavors/{flavor_id}/os-flavor-access", cmp_h_access_index,
	  "os_compute_api:os-flavor-access", 0, NULL },
	{ "POST", "/v2.1/flavors/{flavor_id}/action", cmp_h_flavor_action, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
