/* common.c — per-request helpers of the identity service: database and transactions, policy
 * enforcement, links and list replies, loading rows as resources, and Keystone-style input
 * validation and errors. */
#include "identity/ident.h"
#include "core/conf.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct identity *ident(struct http_req *r)
{
	return ((struct ident_req *)r->svc_data)->id;
}

struct db_conn *ident_db(struct http_req *r)
{
	struct ident_req *ir = r->svc_data;
	return db_slot_get(ir->id->db, &ir->conn, r->arena);
}

int ident_begin(struct http_req *r)
{
	int rc = db_begin(ident_db(r));
	if (rc < 0)
		return ident_internal(r);
	return 0;
}

void ident_invalidate(struct identity *id)
{
	atomic_fetch_add(&id->generation, 1);
}

int ident_commit(struct http_req *r)
{
	struct ident_req *ir = r->svc_data;
	int rc = db_commit(ident_db(r));
	if (rc < 0)
		return ident_db_error(r, rc, "commit");
	ident_invalidate(ir->id);
	return 0;
}

void ident_rollback(struct http_req *r)
{
	struct ident_req *ir = r->svc_data;
	if (ir->conn && db_in_tx(ir->conn))
		db_rollback(ir->conn);
}

int ident_enforce(struct http_req *r, const char *rule, const json_t *target)
{
	if (auth_allowed(ident(r)->policy, r, rule, target))
		return 0;
	return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: %s.", rule);
}

int ident_enforce_steal(struct http_req *r, const char *rule, json_t *target)
{
	int rc = ident_enforce(r, rule, target);
	json_decref(target);
	return rc;
}

int ident_enforce_create(struct http_req *r, const char *rule, const char *prefix, const json_t *body,
			 const char **domain)
{
	const char *dom = json_string_value(json_object_get(body, "domain_id"));
	if (!dom)
		dom = r->auth->domain_id ? r->auth->domain_id : IDENT_DEFAULT_DOMAIN;
	json_t *t = ident_target(arena_printf(r->arena, "%s.domain_id", prefix), dom,
				 arena_printf(r->arena, "%s.name", prefix),
				 json_string_value(json_object_get(body, "name")), NULL);
	int rc = ident_enforce_steal(r, rule, t);
	if (rc < 0)
		return rc;
	*domain = dom;
	return 0;
}

json_t *ident_target(const char *key, ...)
{
	json_t *t = json_object();
	va_list ap;
	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		if (v)
			json_object_set_new(t, k, json_string(v));
	}
	va_end(ap);
	return t;
}

char *ident_url(struct http_req *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *path = arena_vprintf(r->arena, fmt, ap);
	va_end(ap);
	return arena_printf(r->arena, "%s%s%s", r->base_url, IDENT_PREFIX, path);
}

json_t *ident_links(struct http_req *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *path = arena_vprintf(r->arena, fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "self", arena_printf(r->arena, "%s%s%s", r->base_url, IDENT_PREFIX, path));
}

struct qbuf { struct http_req *r; char *s; };

char *ident_url_escape(struct http_req *r, const char *v)
{
	char *out = arena_alloc(r->arena, strlen(v) * 3 + 1);
	url_encode(v, out, false);
	return out;
}

static int add_query(void *ctx, const char *name, const char *value)
{
	struct qbuf *q = ctx;
	q->s = arena_printf(q->r->arena, "%s%c%s%s%s", q->s, strchr(q->s, '?') ? '&' : '?',
			    ident_url_escape(q->r, name), value ? "=" : "",
			    value ? ident_url_escape(q->r, value) : "");
	return 0;
}

char *ident_self_url(struct http_req *r)
{
	struct qbuf q = { r, arena_printf(r->arena, "%s%s", r->base_url, r->path) };
	http_query_each(r, add_query, &q);
	return q.s;
}

int ident_reply_list(struct http_req *r, const char *key, json_t *array)
{
	json_t *body = json_object();
	int64_t limit = conf_int("identity", "list_limit");
	if (limit > 0 && json_array_size(array) > (size_t)limit) {
		while (json_array_size(array) > (size_t)limit)
			json_array_remove(array, json_array_size(array) - 1);
		json_object_set_new(body, "truncated", json_true());
	}
	json_object_set_new(body, key, array);
	json_object_set_new(body, "links", json_pack("{s:s,s:n,s:n}", "self", ident_self_url(r),
						     "previous", "next"));
	return http_reply_json(r, 200, body);
}

int ident_reply_rows(struct http_req *r, const char *key, struct db_rows *rows, ident_render_fn *render)
{
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(list, render(r, rows, i));
	db_rows_free(rows);
	return ident_reply_list(r, key, list);
}

int ident_reply_one(struct http_req *r, int status, const char *key, json_t *obj)
{
	return http_reply_json(r, status, json_pack("{s:o}", key, obj));
}

json_t *ident_body_opt(struct http_req *r, const char *key)
{
	json_t *b = http_body_json(r);
	if (!b)
		return NULL;
	json_t *o = json_object_get(b, key);
	if (!o) {
		o = json_object();
		arena_defer(r->arena, json_decref_void, o);
	}
	if (!json_is_object(o)) {
		http_error(r, ERR_BADREQ, "Invalid input for field '%s': value is not of type 'object'.", key);
		return NULL;
	}
	return o;
}

int ident_non_empty(struct http_req *r, const json_t *body, const char *key)
{
	if (!json_object_size(body))
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': {} does not have enough properties.", key);
	return 0;
}

int ident_same_id(struct http_req *r, const json_t *body, const char *id)
{
	json_t *v = json_object_get(body, "id");
	if (v && !json_is_null(v) && (!json_is_string(v) || strcmp(json_string_value(v), id)))
		return http_error(r, ERR_BADREQ, "Cannot change ID");
	return 0;
}

json_t *ident_body(struct http_req *r, const char *key)
{
	json_t *b = http_body_json(r);
	if (!b)
		return NULL;
	json_t *o = json_object_get(b, key);
	if (!json_is_object(o)) {
		http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%s' is a required property and must be an object.", key, key);
		return NULL;
	}
	return o;
}

int ident_str(struct http_req *r, const json_t *obj, const char *key, bool required,
	      bool nullable, size_t maxlen, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v) {
		if (required)
			return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%s' is a required property.", key, key);
		return 0;
	}
	if (json_is_null(v)) {
		if (nullable)
			return 0;
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': None is not of type 'string'.", key);
	}
	if (!json_is_string(v))
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': value is not of type 'string'.", key);
	size_t n = json_string_length(v);
	if (maxlen && n > maxlen)
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%.40s...' is too long.", key, json_string_value(v));
	if (strlen(json_string_value(v)) != n)
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': embedded NUL characters are not allowed.", key);
	*out = arena_strdup(r->arena, json_string_value(v));
	return 0;
}

int ident_name(struct http_req *r, const json_t *obj, const char *key, bool required, const char **out)
{
	int rc = ident_str(r, obj, key, required, false, IDENT_NAME_MAX, out);
	if (rc < 0 || !*out)
		return rc;
	const char *p = *out;
	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%s' does not match '[\\S]+'.", key, *out);
	return 0;
}

bool ident_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > IDENT_ID_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

int ident_id_field(struct http_req *r, const json_t *obj, const char *key, bool nullable, const char **out)
{
	int rc = ident_str(r, obj, key, false, nullable, IDENT_ID_MAX, out);
	if (rc < 0 || !*out)
		return rc;
	if (!ident_id_ok(*out))
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': '%s' does not match "
				  "'^[a-zA-Z0-9-]+$'", key, *out);
	return 0;
}

const char *ident_strip(struct http_req *r, const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return arena_strndup(r->arena, s, n);
}

int ident_bool(struct http_req *r, const json_t *obj, const char *key, bool *out, bool *present)
{
	json_t *v = json_object_get(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return http_error(r, ERR_BADREQ, "Invalid input for field '%s': value is not of type 'boolean'.", key);
	*out = json_is_true(v);
	return 0;
}

json_t *ident_object_parse(const char *text)
{
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

char *ident_json_text(struct http_req *r, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	char *out = arena_strdup(r->arena, s ? s : "{}");
	free(s);
	return out;
}

json_t *ident_normalized(const json_t *obj)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		char key[256];
		size_t n = strlen(k);
		if (n >= sizeof key) {
			json_object_set(o, k, v);
			continue;
		}
		for (size_t i = 0; i <= n; i++)
			key[i] = (k[i] == ':' || k[i] == '-') ? '_' : k[i];
		json_object_set(o, key, v);
	}
	return o;
}

bool ident_array_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

bool ident_roles_have(const json_t *roles, const char *id)
{
	size_t i;
	json_t *ro;
	json_array_foreach(roles, i, ro) {
		const char *rid = json_string_value(json_object_get(ro, "id"));
		if (rid && id && !strcmp(rid, id))
			return true;
	}
	return false;
}

char *ident_extra(struct http_req *r, const json_t *obj, const char *const *known, const char *base_extra)
{
	json_t *extra = ident_object_parse(base_extra);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		bool skip = false;
		for (const char *const *kn = known; *kn; kn++)
			if (!strcmp(*kn, k))
				skip = true;
		if (!skip)
			json_object_set(extra, k, v);
	}
	char *out = ident_json_text(r, extra);
	json_decref(extra);
	return out;
}

char *ident_extra_new(struct http_req *r, const json_t *obj, const char *const *known)
{
	json_t *norm = ident_normalized(obj);
	char *extra = ident_extra(r, norm, known, NULL);
	json_decref(norm);
	return extra;
}

void ident_merge_extra(json_t *out, const char *extra)
{
	if (!extra || !*extra || !strcmp(extra, "{}"))
		return;
	json_t *e = json_loads(extra, 0, NULL);
	if (json_is_object(e)) {
		const char *k;
		json_t *v;
		json_object_foreach(e, k, v)
			if (!json_object_get(out, k))
				json_object_set(out, k, v);
	}
	json_decref(e);
}

int ident_db_error(struct http_req *r, int rc, const char *what)
{
	ident_rollback(r);
	if (rc == ERR_CONFLICT)
		return http_error(r, ERR_CONFLICT, "Conflict occurred attempting to store %s - Duplicate entry found with name or id.", what);
	if (rc == ERR_BADREQ)
		return http_error(r, ERR_BADREQ, "Invalid input for %s.", what);
	log_error("database error storing %s: %s", what, ident_db(r) ? db_errmsg(ident_db(r)) : "?");
	return ident_internal(r);
}

int ident_not_found(struct http_req *r, const char *what, const char *id)
{
	return http_error(r, ERR_NOTFOUND, "Could not find %s: %s.", what, id);
}

int ident_name_conflict(struct http_req *r, int rc, const char *what, const char *name, const char *domain_id)
{
	if (rc != ERR_CONFLICT)
		return ident_db_error(r, rc, what);
	ident_rollback(r);
	if (!domain_id)
		return http_error(r, ERR_CONFLICT, "Conflict occurred attempting to store %s - Duplicate entry "
				  "found with name %s.", what, name);
	return http_error(r, ERR_CONFLICT, "Conflict occurred attempting to store %s - Duplicate entry found "
			  "with name %s at domain ID %s.", what, name, domain_id);
}

int ident_internal(struct http_req *r)
{
	return http_error(r, ERR_INTERNAL, "An unexpected error prevented the server from fulfilling your request.");
}

int ident_abort(struct http_req *r, int code, const char *fmt, ...)
{
	ident_rollback(r);
	char msg[sizeof r->errmsg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return http_error(r, code, "%s", msg);
}

void ident_clear_error(struct http_req *r)
{
	r->err = 0;
	r->errmsg[0] = 0;
}

/* --- rows and resources --- */

int ident_exists_a(struct db_conn *c, const char *sql, const struct db_arg *args)
{
	struct db_rows *rows;
	int rc = db_query_a(c, &rows, sql, args);
	if (rc < 0)
		return rc;
	rc = db_rows_count(rows) > 0;
	db_rows_free(rows);
	return rc;
}

int ident_must_exist(struct http_req *r, const char *table, const char *what, const char *id)
{
	int rc = ident_exists(ident_db(r), arena_printf(r->arena, "SELECT 1 FROM %s WHERE id = ?", table), DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, what);
	if (!rc) {
		ident_rollback(r);
		return ident_not_found(r, what, id);
	}
	return 0;
}

int ident_get_row(struct http_req *r, const struct ident_kind *k, const char *id, json_t **out)
{
	struct db_rows *rows;
	*out = NULL;
	int rc = db_query(ident_db(r), &rows, k->by_id, DB_TEXT(id));
	if (rc < 0)
		return rc;
	if (db_rows_count(rows))
		*out = k->render(r, rows, 0);
	db_rows_free(rows);
	return 0;
}

json_t *ident_load_row(struct http_req *r, const struct ident_kind *k, const char *id)
{
	json_t *o;
	int rc = ident_get_row(r, k, id, &o);
	if (rc < 0)
		ident_db_error(r, rc, k->what);
	else if (!o)
		ident_not_found(r, k->what, id);
	return o;
}

int ident_load_enforced(struct http_req *r, const struct ident_kind *k, const char *id, const char *rule,
			json_t *(*target)(const char *id, const json_t *resource), json_t **out)
{
	int rc = ident_get_row(r, k, id, out);
	if (rc < 0)
		return ident_db_error(r, rc, k->what);
	if ((rc = ident_enforce_steal(r, rule, target(id, *out))) < 0 || !*out) {
		json_decref(*out);
		*out = NULL;
		return rc < 0 ? rc : ident_not_found(r, k->what, id);
	}
	return 0;
}

int ident_row_for_update(struct http_req *r, const struct ident_kind *k, const char *id, struct db_rows **rows)
{
	int rc = db_query(ident_db(r), rows, k->by_id, DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, k->what);
	if (!db_rows_count(*rows)) {
		db_rows_free(*rows);
		ident_rollback(r);
		return ident_not_found(r, k->what, id);
	}
	return 0;
}

bool ident_immutable(const json_t *resource)
{
	return json_is_true(json_object_get(json_object_get(resource, "options"), "immutable"));
}

bool ident_immutable_update_ok(const json_t *body)
{
	if (json_object_size(body) != 1)
		return false;
	json_t *v = json_object_get(json_object_get(body, "options"), "immutable");
	return v && (json_is_false(v) || json_is_null(v));
}

const char *ident_default_domain(struct http_req *r)
{
	if (r->auth && r->auth->domain_id)
		return r->auth->domain_id;
	if (r->auth && r->auth->project_domain_id)
		return r->auth->project_domain_id;
	return IDENT_DEFAULT_DOMAIN;
}

char *ident_time(struct http_req *r, int64_t us)
{
	if (!us)
		return NULL;
	char buf[40];
	time_format(us, 6, false, buf);
	return arena_strdup(r->arena, buf);
}
