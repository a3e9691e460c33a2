/* domains.c — /v3/domains: create, list, show, update and delete domains. Deleting a (disabled)
 * domain removes its projects, users, groups and domain-specific roles with everything that
 * references them, in one transaction. projects.c reuses the operations for is_domain projects. */
#include "identity/ident.h"
#include <ctype.h>
#include <string.h>

/* resource/schema.py's name length for domains and projects. */
#define RESOURCE_NAME_MAX 64
#define TAG_MAX 255
#define TAGS_MAX 80
#define DOMAIN_COLS "id, name, description, enabled, extra"

/* Attributes with a column or a fixed meaning; everything else goes to "extra". The project
 * keys are dropped when a project acting as a domain is written. */
static const char *const domain_known[] = {
	"id", "name", "description", "enabled", "tags", "options", "explicit_domain_id",
	"is_domain", "domain_id", "parent_id", NULL
};

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* A domain name: a resource name that the federation mapping has not reserved. */
static int domain_name(struct http_req *r, const json_t *obj, bool required, const char **out)
{
	int rc = ident_resource_name(r, obj, required, out);
	if (rc < 0 || !*out)
		return rc;
	/* The federation mapping reserves this name for its shadow domain. */
	const char *name = ident_strip(r, *out);
	if (!strcasecmp(name, "Federated"))
		return http_error(r, ERR_BADREQ, "Domain cannot be named %s", *out);
	*out = name;
	return 0;
}

/* The extra text with key set to value (a borrowed JSON value; NULL removes it). Arena string. */
static char *extra_set(struct http_req *r, const char *extra, const char *key, const json_t *value)
{
	json_t *e = ident_object_parse(extra);
	if (value)
		json_object_set(e, key, (json_t *)value);
	else
		json_object_del(e, key);
	char *out = ident_json_text(r, e);
	json_decref(e);
	return out;
}

/* --- validation shared with projects.c --- */

int ident_resource_name(struct http_req *r, const json_t *obj, bool required, const char **out)
{
	int rc = ident_str(r, obj, "name", required, false, 0, out);
	if (rc < 0 || !*out)
		return rc;
	if (!**out)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'name': '' is too short.");
	if (utf8_chars(*out) > RESOURCE_NAME_MAX)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'name': '%.40s...' is too long.", *out);
	const char *p = *out;
	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'name': '%s' does not match '[\\S]+'.", *out);
	return 0;
}

static int tag_check(struct http_req *r, const char *field, const json_t *v)
{
	const char *s = json_string_value(v);
	if (!s)
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': value is not of type 'string'.", field);
	if (strlen(s) != json_string_length(v))
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': embedded NUL characters are not allowed.", field);
	if (!*s)
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '' is too short.", field);
	if (utf8_chars(s) > TAG_MAX)
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%.40s...' is too long.", field, s);
	if (strpbrk(s, ",/"))
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%s' does not match '^[^,/]*$'.", field, s);
	return 0;
}

int ident_tags_check(struct http_req *r, const json_t *tags)
{
	if (!json_is_array(tags))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'tags': value is not of type 'array'.");
	size_t n = json_array_size(tags);
	if (n > TAGS_MAX)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'tags': the list is too long (at most %d tags).", TAGS_MAX);
	for (size_t i = 0; i < n; i++) {
		int rc = tag_check(r, "tags", json_array_get(tags, i));
		if (rc < 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(tags, i), json_array_get(tags, j)))
				return http_error(r, ERR_BADREQ, "Invalid input for field 'tags': the list has non-unique "
						  "elements ('%s').", json_string_value(json_array_get(tags, i)));
	}
	return 0;
}

json_t *ident_options_merge(struct http_req *r, const json_t *options, const json_t *base)
{
	json_t *out = json_is_object(base) ? json_deep_copy(base) : json_object();
	if (!options)
		return out;
	if (!json_is_object(options)) {
		json_decref(out);
		http_error(r, ERR_BADREQ, "Invalid input for field 'options': value is not of type 'object'.");
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)options, k, v) {
		if (strcmp(k, "immutable")) {
			json_decref(out);
			http_error(r, ERR_BADREQ, "Invalid input for field 'options': Additional properties are not "
				   "allowed ('%.64s' was unexpected).", k);
			return NULL;
		}
		if (json_is_null(v)) {
			json_object_del(out, k);
		} else if (json_is_boolean(v)) {
			json_object_set(out, k, v);
		} else {
			json_decref(out);
			http_error(r, ERR_BADREQ, "Invalid input for field 'options/immutable': value is not of type 'boolean'.");
			return NULL;
		}
	}
	return out;
}

static json_t *domain_render(struct http_req *r, const struct db_rows *rows, int i)
{
	const char *id = db_text(rows, i, 0);
	const char *desc = db_text(rows, i, 2);
	json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "id", id, "name", db_text(rows, i, 1),
			      "description", desc ? desc : "", "enabled", db_bool(rows, i, 3));
	json_t *extra = ident_object_parse(db_text(rows, i, 4));
	json_t *tags = json_object_get(extra, "tags");
	json_t *opts = json_object_get(extra, "options");
	json_object_set_new(o, "tags", json_is_array(tags) ? json_incref(tags) : json_array());
	json_object_set_new(o, "options", json_is_object(opts) ? json_incref(opts) : json_object());
	json_decref(extra);
	json_object_set_new(o, "links", ident_links(r, "/v3/domains/%s", id));
	ident_merge_extra(o, db_text(rows, i, 4));
	return o;
}

static const struct ident_kind domain_kind = {
	"domain", "SELECT " DOMAIN_COLS " FROM domain WHERE id = ?", domain_render,
};

json_t *ident_domain_load(struct http_req *r, const char *id)
{
	return ident_load_row(r, &domain_kind, id);
}

static json_t *domain_target(const char *id, const json_t *dom)
{
	json_t *t = ident_target("domain_id", id, NULL);
	if (dom) {
		json_object_set_new(t, "target.domain.id", json_string(json_string_value(json_object_get(dom, "id"))));
		json_object_set_new(t, "target.domain.name", json_string(json_string_value(json_object_get(dom, "name"))));
		json_object_set(t, "target.domain.enabled", json_object_get(dom, "enabled"));
	}
	return t;
}

static int conflict(struct http_req *r, const char *name)
{
	ident_rollback(r);
	return http_error(r, ERR_CONFLICT, "Conflict occurred attempting to store project - it is not "
			  "permitted to have two projects acting as domains with the same name: %s.", name);
}

/* Validates the fields common to create and update; *tags and *opts are borrowed or NULL. */
static int domain_fields(struct http_req *r, const json_t *body, bool create, const char **name,
			 const char **desc, bool *enabled, bool *has_enabled, json_t **tags, json_t **opts)
{
	int rc;
	if ((rc = domain_name(r, body, create, name)) < 0)
		return rc;
	if ((rc = ident_str(r, body, "description", false, true, 0, desc)) < 0)
		return rc;
	if ((rc = ident_bool(r, body, "enabled", enabled, has_enabled)) < 0)
		return rc;
	*tags = json_object_get(body, "tags");
	if (*tags && (rc = ident_tags_check(r, *tags)) < 0)
		return rc;
	*opts = json_object_get(body, "options");
	return 0;
}

int ident_domain_create(struct http_req *r, const json_t *body, json_t **out)
{
	const char *name, *desc;
	bool enabled = true;
	json_t *tags, *opts;
	int rc = domain_fields(r, body, true, &name, &desc, &enabled, NULL, &tags, &opts);
	if (rc < 0)
		return rc;
	char id[33];
	json_t *explicit_id = json_object_get(body, "explicit_domain_id");
	if (explicit_id && !json_is_null(explicit_id)) {
		const char *e = json_string_value(explicit_id);
		bool ok = e && strlen(e) == 32;
		for (size_t i = 0; ok && i < 32; i++)
			ok = isxdigit((unsigned char)e[i]) && !isupper((unsigned char)e[i]);
		if (!ok)
			return http_error(r, ERR_BADREQ, "Domain ID does not conform to required UUID format.");
		memcpy(id, e, 33);
	} else {
		uuid_hex(id);
	}
	json_t *options = ident_options_merge(r, opts, NULL);
	if (!options)
		return r->err;
	char *extra = ident_extra_new(r, body, domain_known);
	if (tags)
		extra = extra_set(r, extra, "tags", tags);
	if (json_object_size(options))
		extra = extra_set(r, extra, "options", options);
	json_decref(options);

	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	/* Domains and projects share one id space in Keystone. */
	if ((rc = ident_exists(c, "SELECT 1 FROM project WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "domain");
	if (rc)
		return conflict(r, name);
	rc = db_exec(c, "INSERT INTO domain (id, name, description, enabled, extra, created_at)"
		     " VALUES (?, ?, ?, ?, ?, ?)", DB_TEXT(id), DB_TEXT(name), DB_TEXT(desc ? desc : ""),
		     DB_BOOL(enabled), DB_TEXT(extra), DB_INT(time_now_us()));
	if (rc == ERR_CONFLICT)
		return conflict(r, name);
	if (rc < 0)
		return ident_db_error(r, rc, "domain");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	*out = ident_domain_load(r, id);
	return *out ? 0 : r->err;
}

int ident_domain_update(struct http_req *r, const char *id, const json_t *body, json_t **out)
{
	const char *name, *desc;
	bool enabled = true, has_enabled = false;
	json_t *tags, *opts;
	int rc = ident_non_empty(r, body, "domain");
	if (rc < 0 || (rc = domain_fields(r, body, false, &name, &desc, &enabled, &has_enabled, &tags, &opts)) < 0)
		return rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	struct db_conn *c = ident_db(r);
	struct db_rows *rows;
	if ((rc = ident_row_for_update(r, &domain_kind, id, &rows)) < 0)
		return rc;
	json_t *cur = domain_render(r, rows, 0);
	const char *old_extra = arena_strdup(r->arena, db_text(rows, 0, 4));
	db_rows_free(rows);
	arena_defer(r->arena, json_decref_void, cur);
	if (ident_immutable(cur) && !ident_immutable_update_ok(body))
		return ident_abort(r, ERR_FORBIDDEN, "Unable to update immutable domain resource: `%s. Set resource "
				   "option \"immutable\" to false first.", id);
	json_t *options = ident_options_merge(r, opts, json_object_get(cur, "options"));
	if (!options) {
		ident_rollback(r);
		return r->err;
	}
	char *extra = ident_extra(r, body, domain_known, old_extra);
	if (tags)
		extra = extra_set(r, extra, "tags", tags);
	extra = extra_set(r, extra, "options", json_object_size(options) ? options : NULL);
	json_decref(options);
	bool was_enabled = json_is_true(json_object_get(cur, "enabled"));
	if (!has_enabled)
		enabled = was_enabled;
	if (!name)
		name = json_string_value(json_object_get(cur, "name"));
	if (!desc)
		desc = json_object_get(body, "description") ? "" : json_string_value(json_object_get(cur, "description"));
	rc = db_exec(c, "UPDATE domain SET name = ?, description = ?, enabled = ?, extra = ? WHERE id = ?",
		     DB_TEXT(name), DB_TEXT(desc), DB_BOOL(enabled), DB_TEXT(extra), DB_TEXT(id));
	if (rc == ERR_CONFLICT)
		return conflict(r, name);
	if (rc < 0)
		return ident_db_error(r, rc, "domain");
	/* Tokens scoped to the domain, or to its users and projects, stop working. */
	if (was_enabled && !enabled && (rc = ident_revoke(c, NULL, NULL, id, NULL, NULL)) < 0)
		return ident_db_error(r, rc, "domain");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	*out = ident_domain_load(r, id);
	return *out ? 0 : r->err;
}

/* Purges the polymorphic references to every id the query returns. */
static int purge_each(struct db_conn *c, const char *sql, const char *arg)
{
	struct db_rows *rows;
	int rc = db_query(c, &rows, sql, DB_TEXT(arg));
	if (rc < 0)
		return rc;
	for (int i = 0; i < db_rows_count(rows) && rc >= 0; i++)
		rc = ident_assignments_purge(c, db_text(rows, i, 0));
	db_rows_free(rows);
	return rc < 0 ? rc : 0;
}

/* Everything the domain owns, then the domain; inside the caller's transaction. */
static int domain_purge(struct db_conn *c, const char *id)
{
	static const char *const steps[] = {
		"UPDATE users SET default_project_id = NULL WHERE default_project_id IN"
		" (SELECT id FROM project WHERE domain_id = ?)",
		"DELETE FROM project_tag WHERE project_id IN (SELECT id FROM project WHERE domain_id = ?)",
		/* One statement: parent/child references inside the domain are checked at its end. */
		"DELETE FROM project WHERE domain_id = ?",
		"DELETE FROM users WHERE domain_id = ?",
		"DELETE FROM groups WHERE domain_id = ?",
		/* Assignments and implications of the roles go with them (ON DELETE CASCADE). */
		"DELETE FROM role WHERE domain_id = ?",
		"DELETE FROM domain WHERE id = ?",
	};
	int rc;
	if ((rc = purge_each(c, "SELECT id FROM project WHERE domain_id = ?", id)) < 0 ||
	    (rc = purge_each(c, "SELECT id FROM users WHERE domain_id = ?", id)) < 0 ||
	    (rc = purge_each(c, "SELECT id FROM groups WHERE domain_id = ?", id)) < 0 ||
	    (rc = ident_assignments_purge(c, id)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if ((rc = db_exec(c, steps[i], DB_TEXT(id))) < 0)
			return rc;
	return ident_revoke(c, NULL, NULL, id, NULL, NULL);
}

int ident_domain_delete(struct http_req *r, const char *id)
{
	int rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	json_t *cur = ident_load_row(r, &domain_kind, id);
	if (!cur) {
		ident_rollback(r);
		return r->err;
	}
	bool imm = ident_immutable(cur), enabled = json_is_true(json_object_get(cur, "enabled"));
	json_decref(cur);
	if (imm)
		return ident_abort(r, ERR_FORBIDDEN, "Unable to delete immutable domain resource: `%s. Set resource "
				   "option \"immutable\" to false first.", id);
	if (enabled)
		return ident_abort(r, ERR_FORBIDDEN, "Cannot delete a domain that is enabled, please disable it first.");
	if ((rc = domain_purge(ident_db(r), id)) < 0)
		return ident_db_error(r, rc, "domain");
	return ident_commit(r);
}

/* --- handlers --- */

static int h_list_domains(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:list_domains", NULL);
	if (rc < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " DOMAIN_COLS " FROM domain WHERE 1 = 1");
	ident_sql_filter(&q, r, "name", "name");
	ident_sql_filter_bool(&q, r, "enabled", "enabled");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "domain");
	return ident_reply_rows(r, "domains", rows, domain_render);
}

static int h_create_domain(struct http_req *r)
{
	int rc = ident_enforce(r, "identity:create_domain", NULL);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "domain"), *out;
	if (!body)
		return r->err;
	if ((rc = ident_domain_create(r, body, &out)) < 0)
		return rc;
	return ident_reply_one(r, 201, "domain", out);
}

static int h_get_domain(struct http_req *r)
{
	json_t *dom;
	int rc = ident_load_enforced(r, &domain_kind, http_param(r, "domain_id"), "identity:get_domain",
				     domain_target, &dom);
	return rc < 0 ? rc : ident_reply_one(r, 200, "domain", dom);
}

/* PATCH and DELETE look the domain up before policy, as Keystone's enforcer does. */
static int enforce_existing(struct http_req *r, const char *rule, const char *id)
{
	json_t *dom = ident_domain_load(r, id);
	if (!dom)
		return r->err;
	int rc = ident_enforce_steal(r, rule, domain_target(id, dom));
	json_decref(dom);
	return rc;
}

static int h_update_domain(struct http_req *r)
{
	const char *id = http_param(r, "domain_id");
	int rc = enforce_existing(r, "identity:update_domain", id);
	if (rc < 0)
		return rc;
	json_t *body = ident_body(r, "domain"), *out;
	if (!body)
		return r->err;
	if ((rc = ident_domain_update(r, id, body, &out)) < 0)
		return rc;
	return ident_reply_one(r, 200, "domain", out);
}

static int h_delete_domain(struct http_req *r)
{
	const char *id = http_param(r, "domain_id");
	int rc = enforce_existing(r, "identity:delete_domain", id);
	if (rc < 0)
		return rc;
	if ((rc = ident_domain_delete(r, id)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route ident_routes_domains[] = {
	{ "GET", "/v3/domains", h_list_domains, NULL, 0 },
	{ "POST", "/v3/domains", h_create_domain, NULL, 0 },
	{ "GET", "/v3/domains/{domain_id}", h_get_domain, NULL, 0 },
	{ "PATCH", "/v3/domains/{domain_id}", h_update_domain, NULL, 0 },
	{ "DELETE", "/v3/domains/{domain_id}", h_delete_domain, NULL, 0 },
	{ 0 },
};
