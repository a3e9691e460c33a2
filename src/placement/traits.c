/* traits.c — traits (1.6): the standard ones of os-traits plus CUSTOM_* rows, GET /traits with
 * name=in:/startswith: and associated=, GET/PUT/DELETE /traits/{name}, and a provider's traits
 * (GET/PUT/DELETE /resource_providers/{uuid}/traits, generation-checked, bumped on change). */
#include "placement/plc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int plc_traits_replace(struct db_conn *c, struct plc_rp *rp, const char *const *traits, int n,
		       bool add_only, struct plc_err *e)
{
	char missing[512] = "";
	for (int i = 0; i < n; i++)
		if (!plc_trait_exists(c, traits[i])) {
			size_t l = strlen(missing);
			snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", traits[i]);
		}
	if (*missing)
		return plc_fail(e, ERR_BADREQ, NULL, "No such trait %s", missing);
	struct db_rows *rows;
	if (db_query(c, &rows, "SELECT trait FROM plc_provider_traits WHERE provider_uuid = ?",
		     DB_TEXT(rp->uuid)) < 0)
		return plc_fail(e, ERR_INTERNAL, NULL, "database error");
	int nold = db_rows_count(rows);
	bool changed = false;
	for (int i = 0; i < nold && !add_only && !changed; i++) {
		bool keep = false;
		for (int j = 0; j < n && !keep; j++)
			keep = !strcmp(traits[j], db_text(rows, i, 0));
		changed = !keep;
	}
	for (int j = 0; j < n && !changed; j++) {
		bool have = false;
		for (int i = 0; i < nold && !have; i++)
			have = !strcmp(traits[j], db_text(rows, i, 0));
		changed = !have;
	}
	int rc = 0;
	if (!changed)
		goto out;
	rc = plc_rp_bump(c, rp->uuid, rp->generation, rp);
	if (rc == ERR_CONFLICT) {
		rc = plc_fail(e, rc, PLC_CODE_CONCURRENT, "Another thread concurrently updated the "
			      "resource provider data. Please retry your update");
		goto out;
	}
	if (rc < 0)
		goto dberr;
	for (int i = 0; i < nold && !add_only; i++) {
		bool keep = false;
		for (int j = 0; j < n && !keep; j++)
			keep = !strcmp(traits[j], db_text(rows, i, 0));
		if (!keep && db_exec(c, "DELETE FROM plc_provider_traits WHERE provider_uuid = ? AND trait = ?",
				     DB_TEXT(rp->uuid), DB_TEXT(db_text(rows, i, 0))) < 0)
			goto dberr;
	}
	int64_t now = time_now_us();
	for (int j = 0; j < n; j++) {
		bool have = false;
		for (int i = 0; i < nold && !have; i++)
			have = !strcmp(traits[j], db_text(rows, i, 0));
		for (int k = 0; k < j && !have; k++)
			have = !strcmp(traits[j], traits[k]);
		if (!have && db_exec(c, "INSERT INTO plc_provider_traits (provider_uuid, trait, created_at) "
				     "VALUES (?, ?, ?)", DB_TEXT(rp->uuid), DB_TEXT(traits[j]), DB_INT(now)) < 0)
			goto dberr;
	}
	goto out;
dberr:
	rc = plc_fail(e, ERR_INTERNAL, NULL, "database error");
out:
	db_rows_free(rows);
	return rc;
}

/* --- /traits --- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct trait_filter {
	const char *bad;             /* an unexpected query key */
	const char *name, *associated;
};

static int collect(void *ctx, const char *name, const char *value)
{
	struct trait_filter *f = ctx;
	if (!strcmp(name, "name"))
		f->name = value ? value : "";
	else if (!strcmp(name, "associated"))
		f->associated = value ? value : "";
	else {
		f->bad = name;
		return 1;
	}
	return 0;
}

static bool listed(char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return true;
	return false;
}

static int list(struct http_req *r)
{
	if (!plc_ge(r, 1, 6))
		return plc_not_found_version(r);
	struct trait_filter f = { 0 };
	http_query_each(r, collect, &f);
	if (f.bad)
		return plc_error(r, ERR_BADREQ, NULL, "Invalid query string parameters: Additional "
				 "properties are not allowed ('%s' was unexpected)", f.bad);
	char **in = NULL, *prefix = NULL;
	int nin = -1;                    /* -1: no name=in: filter */
	if (f.name) {
		const char *colon = strchr(f.name, ':');
		if (!colon)
			return plc_error(r, ERR_BADREQ, NULL, "Badly formatted name parameter. Expected name "
					 "query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. "
					 "Got: \"%s\"", f.name);
		size_t oplen = (size_t)(colon - f.name);
		if (oplen == 2 && !strncmp(f.name, "in", 2)) {
			char *v = arena_strdup(r->arena, colon + 1);
			nin = 0;
			in = arena_alloc(r->arena, (strlen(v) / 2 + 2) * sizeof *in);
			for (char *p = v;;) {
				char *comma = strchr(p, ',');
				if (comma)
					*comma = 0;
				in[nin++] = p;
				if (!comma)
					break;
				p = comma + 1;
			}
		} else if (oplen == 10 && !strncmp(f.name, "startswith", 10)) {
			prefix = arena_strdup(r->arena, colon + 1);
		}
	}
	int assoc = -1;
	if (f.associated) {
		if (!strcasecmp(f.associated, "true"))
			assoc = 1;
		else if (!strcasecmp(f.associated, "false"))
			assoc = 0;
		else
			return plc_error(r, ERR_BADREQ, NULL, "The query parameter \"associated\" only "
					 "accepts \"true\" or \"false\"");
	}
	struct db_conn *c = plc_db(r);
	struct db_rows *custom, *used = NULL;
	int rc = db_query(c, &custom, "SELECT name, created_at FROM plc_traits ORDER BY name");
	if (rc < 0)
		return plc_db_error(r, rc);
	if (assoc >= 0 && (rc = db_query(c, &used, "SELECT DISTINCT trait FROM plc_provider_traits")) < 0) {
		db_rows_free(custom);
		return plc_db_error(r, rc);
	}
	int nused = used ? db_rows_count(used) : 0;
	const char **usedv = arena_alloc(r->arena, ((size_t)nused + 1) * sizeof *usedv);
	for (int i = 0; i < nused; i++)
		usedv[i] = db_text(used, i, 0);
	qsort(usedv, (size_t)nused, sizeof *usedv, cmp_str);
	int ncustom = db_rows_count(custom);
	json_t *out = json_array();
	int64_t last = 0;
	for (int k = 0; k < plc_nstd_traits + ncustom; k++) {
		const char *t = k < plc_nstd_traits ? plc_std_traits[k] : db_text(custom, k - plc_nstd_traits, 0);
		if (nin >= 0 && !listed(in, nin, t))
			continue;
		if (prefix && strncmp(t, prefix, strlen(prefix)))
			continue;
		if (assoc >= 0) {
			bool is_used = bsearch(&t, usedv, (size_t)nused, sizeof *usedv, cmp_str) != NULL;
			if (is_used != (assoc == 1))
				continue;
		}
		if (k >= plc_nstd_traits && db_int(custom, k - plc_nstd_traits, 1) > last)
			last = db_int(custom, k - plc_nstd_traits, 1);
		json_array_append_new(out, json_string(t));
	}
	db_rows_free(custom);
	db_rows_free(used);
	return plc_reply(r, 200, json_pack("{s:o}", "traits", out), last);
}

static int show(struct http_req *r)
{
	if (!plc_ge(r, 1, 6))
		return plc_not_found_version(r);
	const char *name = http_param(r, "name");
	if (!plc_trait_exists(plc_db(r), name))
		return plc_error(r, ERR_NOTFOUND, NULL, "No such trait(s): %s.", name);
	plc_cache_headers(r, 0);
	return http_reply_empty(r, 204);
}

static int put(struct http_req *r)
{
	if (!plc_ge(r, 1, 6))
		return plc_not_found_version(r);
	const char *name = http_param(r, "name");
	if (!plc_custom_ok(name) || strlen(name) > PLC_CLASS_MAX)
		return plc_error(r, ERR_BADREQ, NULL, "The trait is invalid. A valid trait must be no "
				 "longer than 255 characters, start with the prefix \"CUSTOM_\" and use following "
				 "characters: \"A\"-\"Z\", \"0\"-\"9\" and \"_\"");
	struct db_conn *c = plc_db(r);
	int status = 204;
	if (!plc_trait_exists(c, name)) {
		int64_t now = time_now_us();
		int rc = db_exec(c, "INSERT INTO plc_traits (name, created_at, updated_at) VALUES (?, ?, ?)",
				 DB_TEXT(name), DB_INT(now), DB_INT(now));
		if (rc < 0 && rc != ERR_CONFLICT)        /* a concurrent create is fine */
			return plc_db_error(r, rc);
		status = rc == 1 ? 201 : 204;
	}
	http_add_header(r, "Location", arena_printf(r->arena, "%s" PLC_PREFIX "/traits/%s", r->base_url, name));
	plc_cache_headers(r, 0);
	return http_reply_empty(r, status);
}

static int delete(struct http_req *r)
{
	if (!plc_ge(r, 1, 6))
		return plc_not_found_version(r);
	const char *name = http_param(r, "name");
	struct db_conn *c = plc_db(r);
	if (!plc_trait_exists(c, name))
		return plc_error(r, ERR_NOTFOUND, NULL, "No such trait(s): %s.", name);
	if (!plc_custom_ok(name))
		return plc_error(r, ERR_BADREQ, NULL, "Cannot delete standard trait %s.", name);
	bool own;
	int rc = plc_tx_begin(c, &own);
	if (rc < 0)
		return plc_db_error(r, rc);
	struct db_rows *rows;
	rc = db_query(c, &rows, "SELECT 1 FROM plc_provider_traits WHERE trait = ? LIMIT 1", DB_TEXT(name));
	if (rc >= 0) {
		bool inuse = db_rows_count(rows) > 0;
		db_rows_free(rows);
		if (inuse)
			rc = plc_error(r, ERR_CONFLICT, NULL, "The trait %s is in use by a resource provider.", name);
		else if ((rc = db_exec(c, "DELETE FROM plc_traits WHERE name = ?", DB_TEXT(name))) == 0)
			rc = plc_error(r, ERR_NOTFOUND, NULL, "No such trait(s): %s.", name);
		else if (rc < 0)
			rc = plc_db_error(r, rc);
	} else {
		rc = plc_db_error(r, rc);
	}
	rc = plc_tx_end(c, own, rc < 0 ? rc : 0);
	if (rc < 0)
		return r->err ? rc : plc_db_error(r, rc);
	return http_reply_empty(r, 204);
}

/* --- /resource_providers/{uuid}/traits --- */

static int load_rp(struct http_req *r, struct plc_rp *rp, bool verbose)
{
	const char *uuid = http_param(r, "uuid");
	int rc = plc_rp_load(plc_db(r), uuid, rp);
	if (rc == ERR_NOTFOUND)
		return verbose ? plc_error(r, rc, NULL, "No resource provider with uuid %s found: No "
					   "resource provider with uuid %s found", uuid, uuid)
			       : plc_error(r, rc, NULL, "No resource provider with uuid %s found", uuid);
	return rc < 0 ? plc_db_error(r, rc) : 0;
}

static int reply_rp_traits(struct http_req *r, const struct plc_rp *rp)
{
	struct db_rows *rows;
	int rc = db_query(plc_db(r), &rows, "SELECT trait FROM plc_provider_traits WHERE provider_uuid = ? "
			  "ORDER BY trait", DB_TEXT(rp->uuid));
	if (rc < 0)
		return plc_db_error(r, rc);
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(arr, json_string(db_text(rows, i, 0)));
	db_rows_free(rows);
	return plc_reply(r, 200, json_pack("{s:o,s:I}", "traits", arr, "resource_provider_generation",
					   (json_int_t)rp->generation), rp->updated_at);
}

static int rp_list(struct http_req *r)
{
	if (!plc_ge(r, 1, 6))
		return plc_not_found_version(r);
	struct plc_rp rp;
	int rc = load_rp(r, &rp, true);
	return rc < 0 ? rc : reply_rp_traits(r, &rp);
}

static int rp_put(struct http_req *r)
{
	if (!plc_ge(r, 1, 6))
		return plc_not_found_version(r);
	int rc = plc_require_json(r);
	json_t *body;
	if (rc < 0 || (rc = plc_body(r, &body)) < 0)
		return rc;
	static const char *const keys[] = { "traits", "resource_provider_generation", NULL };
	int64_t gen;
	if ((rc = plc_v_object(r, body, keys, keys)) < 0 ||
	    (rc = plc_v_int(r, body, "resource_provider_generation", INT64_MIN, INT64_MAX, &gen, NULL)) < 0)
		return rc;
	json_t *tl = json_object_get(body, "traits");
	if (!json_is_array(tl))
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type 'array'",
				 plc_repr(r, tl));
	size_t n = json_array_size(tl);
	if (n > PLC_MAX_ITEMS)
		return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: too many traits");
	const char **traits = arena_alloc(r->arena, (n + 1) * sizeof *traits);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(tl, i);
		if (!json_is_string(v))
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is not of type "
					 "'string'", plc_repr(r, v));
		size_t l = strlen(json_string_value(v));
		if (l < 1 || l > PLC_CLASS_MAX)
			return plc_error(r, ERR_BADREQ, NULL, "JSON does not validate: %s is too %s",
					 plc_repr(r, v), l < 1 ? "short" : "long");
		traits[i] = json_string_value(v);
	}
	struct plc_rp rp;
	if ((rc = load_rp(r, &rp, false)) < 0)
		return rc;
	if (gen != rp.generation)
		return plc_error(r, ERR_CONFLICT, PLC_CODE_CONCURRENT, "Resource provider's generation "
				 "already changed. Please update the generation and try again.");
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	struct plc_err e = { 0 };
	rc = plc_tx_end(c, own, plc_traits_replace(c, &rp, traits, (int)n, false, &e));
	if (rc == ERR_BADREQ || rc == ERR_CONFLICT)
		return plc_error_from(r, rc, &e);
	if (rc < 0)
		return plc_db_error(r, rc);
	return reply_rp_traits(r, &rp);
}

static int rp_delete(struct http_req *r)
{
	if (!plc_ge(r, 1, 6))
		return plc_not_found_version(r);
	struct plc_rp rp;
	int rc = load_rp(r, &rp, false);
	if (rc < 0)
		return rc;
	struct db_conn *c = plc_db(r);
	bool own;
	if ((rc = plc_tx_begin(c, &own)) < 0)
		return plc_db_error(r, rc);
	struct plc_err e = { 0 };
	rc = plc_tx_end(c, own, plc_traits_replace(c, &rp, NULL, 0, false, &e));
	if (rc == ERR_CONFLICT)
		return plc_error_from(r, rc, &e);
	if (rc < 0)
		return plc_db_error(r, rc);
	return http_reply_empty(r, 204);
}

const struct route plc_routes_traits[] = {
	{ "GET", "/traits", list, "placement:traits:list", 0, NULL },
	{ "GET", "/traits/{name}", show, "placement:traits:show", 0, NULL },
	{ "PUT", "/traits/{name}", put, "placement:traits:update", 0, NULL },
	{ "DELETE", "/traits/{name}", delete, "placement:traits:delete", 0, NULL },
	{ "GET", "/resource_providers/{uuid}/traits", rp_list, "placement:resource_providers:traits:list", 0, NULL },
	{ "PUT", "/resource_providers/{uuid}/traits", rp_put, "placement:resource_providers:traits:update", 0, NULL },
	{ "DELETE", "/resource_providers/{uuid}/traits", rp_delete,
	  "placement:resource_providers:traits:delete", 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
