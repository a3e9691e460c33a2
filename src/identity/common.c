/* common.c — per-request helpers of the identity service: database and transactions, policy
 * enforcement, links and list replies, and Keystone-style input validation and errors. */
#include "identity/ident.h"
#include "core/conf.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct identity *ident(struct http_req *r)
{
	return ((struct ident_req *)r->svc_data)->id;
}

struct db_conn *ident_db(struct http_req *r)
{
	struct ident_req *ir = r->svc_data;
	if (!ir->conn)
		ir->conn = db_get(ir->id->db);
	return ir->conn;
}

int ident_begin(struct http_req *r)
{
	int rc = db_begin(ident_db(r));
	if (rc < 0)
		return http_error(r, ERR_INTERNAL, "An unexpected error prevented the server from fulfilling your request.");
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

static char *url_escape(struct arena *a, const char *v)
{
	static const char hx[] = "0123456789ABCDEF";
	char *out = arena_alloc(a, strlen(v) * 3 + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hx[*p >> 4];
			*o++ = hx[*p & 15];
		}
	}
	*o = 0;
	return out;
}

static int add_query(void *ctx, const char *name, const char *value)
{
	struct qbuf *q = ctx;
	q->s = arena_printf(q->r->arena, "%s%c%s%s%s", q->s, strchr(q->s, '?') ? '&' : '?',
			    url_escape(q->r->arena, name), value ? "=" : "",
			    value ? url_escape(q->r->arena, value) : "");
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

int ident_reply_one(struct http_req *r, int status, const char *key, json_t *obj)
{
	return http_reply_json(r, status, json_pack("{s:o}", key, obj));
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

char *ident_extra(struct http_req *r, const json_t *obj, const char *const *known, const char *base_extra)
{
	json_t *extra = NULL;
	if (base_extra)
		extra = json_loads(base_extra, 0, NULL);
	if (!json_is_object(extra)) {
		json_decref(extra);
		extra = json_object();
	}
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
	char *s = json_dumps(extra, JSON_COMPACT);
	char *out = arena_strdup(r->arena, s ? s : "{}");
	free(s);
	json_decref(extra);
	return out;
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
	return http_error(r, ERR_INTERNAL, "An unexpected error prevented the server from fulfilling your request.");
}

int ident_not_found(struct http_req *r, const char *what, const char *id)
{
	return http_error(r, ERR_NOTFOUND, "Could not find %s: %s.", what, id);
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
