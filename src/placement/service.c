/* service.c — the placement service object: options, start-up (policy), the combined route
 * table, the per-request hooks (microversion negotiation, Content-Type/Accept checks,
 * authentication, policy) and Placement's error body
 * {"errors": [{"status", "title", "detail", "code", "request_id"}]}. */
#include "placement/plc.h"
#include "core/conf.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const struct conf_opt placement_conf_opts[] = {
	{ "placement", "policy_file", CONF_STR, "$data_dir/placement-policy.yaml",
	  "placement policy overrides in oslo.policy YAML/JSON syntax (a missing file means defaults only)" },
	{ NULL, NULL, 0, NULL, NULL },
};

const struct mv_spec plc_mv = { "placement", NULL, { 1, 0 }, { 1, 39 } };

static const struct route *const families[] = {
	plc_routes_root, plc_routes_providers, plc_routes_inventories, plc_routes_usages,
	plc_routes_classes, plc_routes_traits, plc_routes_aggregates, plc_routes_allocations,
	plc_routes_candidates,
};

int plc_fail(struct plc_err *e, int rc, const char *code, const char *fmt, ...)
{
	if (!e)
		return rc;
	e->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return rc;
}

struct plc_req *plc_req(struct http_req *r)
{
	return r->svc_data;
}

struct db_conn *plc_db(struct http_req *r)
{
	struct plc_req *pr = r->svc_data;
	return db_slot_get(pr->p->db, &pr->conn, r->arena);
}

struct mv plc_version(struct http_req *r)
{
	struct plc_req *pr = r->svc_data;
	return pr && pr->mv_ok ? pr->mv : plc_mv.min;
}

int plc_error(struct http_req *r, int rc, const char *code, const char *fmt, ...)
{
	struct plc_req *pr = r->svc_data;
	if (pr)
		pr->code = code;
	r->err = rc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
	va_end(ap);
	return rc;
}

int plc_error_from(struct http_req *r, int rc, const struct plc_err *e)
{
	return plc_error(r, rc, e->code, "%s", e->msg);
}

int plc_db_error(struct http_req *r, int rc)
{
	struct plc_req *pr = r->svc_data;
	log_error("placement database error (%d): %s", rc, pr && pr->conn ? db_errmsg(pr->conn) : "?");
	return plc_error(r, ERR_INTERNAL, NULL, "The server has either erred or is incapable of "
			 "performing the requested operation.");
}

int plc_not_found_version(struct http_req *r)
{
	return plc_error(r, ERR_NOTFOUND, NULL, "%s", "");
}

int plc_require_json(struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	char type[128] = "";
	if (ct) {
		size_t n = strcspn(ct, ";");
		while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
			n--;
		snprintf(type, sizeof type, "%.*s", (int)n, ct);
	}
	if (!strcasecmp(type, "application/json"))
		return 0;
	if (!*type)
		snprintf(type, sizeof type, "None");
	return plc_error(r, ERR_UNSUPPORTED_MEDIA, NULL,
			 "The media type %s is not supported, use application/json", type);
}

int plc_body(struct http_req *r, json_t **out)
{
	json_error_t je;
	json_t *j = json_loadb(r->body ? r->body : "", r->body_len,
			       JSON_DECODE_ANY, &je);
	if (!j)
		return plc_error(r, ERR_BADREQ, NULL, "Malformed JSON: %s: line %d column %d (char %d)",
				 je.text, je.line, je.column, je.position);
	arena_defer(r->arena, json_decref_void, j);
	*out = j;
	return 0;
}

static void http_date(int64_t us, char out[64])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void plc_cache_headers(struct http_req *r, int64_t last_modified_us)
{
	if (!plc_ge(r, 1, 15))
		return;
	char d[64];
	http_date(last_modified_us > 0 ? last_modified_us : time_now_us(), d);
	http_add_header(r, "Last-Modified", d);
	http_add_header(r, "Cache-Control", "no-cache");
}

int plc_reply(struct http_req *r, int status, json_t *body, int64_t last_modified_us)
{
	plc_cache_headers(r, last_modified_us);
	return http_reply_json(r, status, body);
}

int plc_tx_begin(struct db_conn *c, bool *own)
{
	*own = !db_in_tx(c);
	if (*own)
		return db_begin(c);
	int rc = db_exec(c, "SAVEPOINT plc_unit");
	return rc < 0 ? rc : 0;
}

int plc_tx_end(struct db_conn *c, bool own, int rc)
{
	if (own) {
		if (rc < 0) {
			db_rollback(c);
			return rc;
		}
		int crc = db_commit(c);
		return crc < 0 ? crc : 0;
	}
	if (rc < 0) {
		db_exec(c, "ROLLBACK TO SAVEPOINT plc_unit");
		db_exec(c, "RELEASE SAVEPOINT plc_unit");
		return rc;
	}
	int rrc = db_exec(c, "RELEASE SAVEPOINT plc_unit");
	return rrc < 0 ? rrc : 0;
}

/* The version asked for in OpenStack-API-Version ("placement X.Y" or "placement latest");
 * 0 and *v, or ERR_BADREQ/ERR_NOTACCEPT recorded with Placement's wording. */
static int negotiate(struct http_req *r, struct mv *v)
{
	*v = plc_mv.min;
	const char *h = http_header(r, "OpenStack-API-Version");
	if (!h)
		return 0;
	const char *p = h;
	char want[64] = "";
	bool found = false;
	while (*p && !found) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t len = strcspn(p, ",");
		if (len > 9 && !strncasecmp(p, "placement", 9) && (p[9] == ' ' || p[9] == '\t')) {
			const char *s = p + 9;
			size_t sl = len - 9;
			while (sl && (*s == ' ' || *s == '\t'))
				s++, sl--;
			while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t'))
				sl--;
			snprintf(want, sizeof want, "%.*s", (int)(sl < sizeof want ? sl : sizeof want - 1), s);
			found = true;
		}
		p += len;
	}
	if (!found)
		return 0;
	if (!strcasecmp(want, "latest")) {
		*v = plc_mv.max;
		return 0;
	}
	struct mv w;
	if (mv_parse(want, &w))
		return plc_error(r, ERR_BADREQ, NULL, "Invalid microversion: invalid version string: %s", want);
	if (mv_cmp(w, plc_mv.min) < 0 || mv_cmp(w, plc_mv.max) > 0)
		return plc_error(r, ERR_NOTACCEPT, NULL,
				 "Invalid microversion: Unacceptable version header: %s", want);
	*v = w;
	return 0;
}

/* True when Accept (absent, or naming application/json, application/any or any/any) allows JSON. */
static bool accepts_json(const char *accept)
{
	if (!accept || !*accept)
		return true;
	const char *p = accept;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ",");
		char item[128];
		snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
		char *semi = strchr(item, ';');
		double q = 1;
		if (semi) {
			*semi = 0;
			char *qs = strstr(semi + 1, "q=");
			if (qs)
				q = strtod(qs + 2, NULL);
		}
		for (char *e = item + strlen(item); e > item && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = 0;
		if (q > 0 && (!strcasecmp(item, "application/json") || !strcasecmp(item, "application/*") ||
			      !strcmp(item, "*/*")))
			return true;
		p += len;
	}
	return false;
}

static void add_version_headers(struct http_req *r)
{
	struct plc_req *pr = r->svc_data;
	if (pr && pr->mv_ok)
		mv_add_headers(r, &plc_mv, pr->mv);
}

static int before(struct http_req *r)
{
	struct plc_req *pr = arena_alloc(r->arena, sizeof *pr);
	pr->p = r->svc->data;
	r->svc_data = pr;
	int rc = negotiate(r, &pr->mv);
	if (rc < 0)
		return rc;
	pr->mv_ok = true;
	add_version_headers(r);
	const char *clen = http_header(r, "Content-Length");
	if (clen && *clen) {
		int64_t n;
		if (parse_int64(clen, 0, INT64_MAX, &n))
			return plc_error(r, ERR_BADREQ, NULL, "content-length header must be an integer");
		const char *ct = http_header(r, "Content-Type");
		if (n > 0 && (!ct || !*ct))
			return plc_error(r, ERR_BADREQ, NULL,
					 "content-type header required when content-length > 0");
	}
	if (r->route->flags & ROUTE_PUBLIC)
		return 0;
	rc = auth_require(r);
	if (rc < 0)
		return rc;
	if ((!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) &&
	    !accepts_json(http_header(r, "Accept")))
		return plc_error(r, ERR_NOTACCEPT, NULL, "Only application/json is provided");
	/* Placement's default target: the caller's own project and user */
	json_t *target = json_pack("{s:s?,s:s?}", "project_id", r->auth->project_id, "user_id",
				   r->auth->user_id);
	arena_defer(r->arena, json_decref_void, target);
	if (r->route->policy && !auth_allowed(pr->p->policy, r, r->route->policy, target))
		return plc_error(r, ERR_FORBIDDEN, NULL, "Policy does not allow %s to be performed.",
				 r->route->policy);
	return 0;
}

static void after(struct http_req *r)
{
	struct plc_req *pr = r->svc_data;
	if (pr)
		db_slot_put(&pr->conn);
}

/* The explanation webob puts before a message, as the detail of Placement's error body shows. */
static const char *detail(struct http_req *r, int st)
{
	const char *m = r->errmsg;
	switch (st) {
	case 400: return arena_printf(r->arena, "The server could not comply with the request since it "
				      "is either malformed or otherwise incorrect.\n\n %s  ", m);
	case 403: return arena_printf(r->arena, "Access was denied to this resource.\n\n %s  ", m);
	case 404: return arena_printf(r->arena, "The resource could not be found.\n\n %s  ", m);
	case 405: return arena_printf(r->arena, "The method %s is not allowed for this resource. \n\n %s",
				      r->method, m);
	case 406: {
		const char *acc = http_header(r, "Accept");
		return arena_printf(r->arena, "The resource could not be generated that was acceptable to "
				    "your browser (content of type %s. \n\n %s",
				    acc && *acc ? acc : "application/json", m);
	}
	case 409: return arena_printf(r->arena, "There was a conflict when trying to complete your "
				      "request.\n\n %s  ", m);
	case 413: return arena_printf(r->arena, "The body of your request was too large for this "
				      "server.\n\n %s  ", m);
	case 415: {
		const char *ct = http_header(r, "Content-Type");
		return arena_printf(r->arena, "The request media type %s is not supported by this "
				    "server. \n\n %s", ct && *ct ? ct : "None", m);
	}
	default:
		return arena_printf(r->arena, "The server has either erred or is incapable of performing "
				    "the requested operation.\n\n %s  ", m);
	}
}

static void render_error(struct http_req *r)
{
	int st = err_status(r->err);
	struct plc_req *pr = r->svc_data;
	if (!pr) {
		/* routing failed before the hook ran: negotiate now for the headers and the code */
		pr = arena_alloc(r->arena, sizeof *pr);
		pr->p = r->svc->data;
		r->svc_data = pr;
		int err = r->err;
		char saved[sizeof r->errmsg];
		memcpy(saved, r->errmsg, sizeof saved);
		if (negotiate(r, &pr->mv) == 0)
			pr->mv_ok = true;
		r->err = err;
		memcpy(r->errmsg, saved, sizeof saved);
		if (st == 404 || st == 405)
			snprintf(r->errmsg, sizeof r->errmsg, "%s",
				 st == 405 ? "The method specified is not allowed for this resource." : "");
	}
	add_version_headers(r);
	if (st == 401) {   /* keystonemiddleware answers these, in its own shape */
		http_add_header(r, "WWW-Authenticate",
				arena_printf(r->arena, "Keystone uri=\"%s/identity\"", r->base_url));
		http_reply_json(r, 401, json_pack("{s:{s:i,s:s,s:s}}", "error", "code", 401, "title",
						  "Unauthorized", "message", r->errmsg));
		return;
	}
	if (st >= 500)
		log_error("%s %s failed: %s", r->method, r->path, r->errmsg);
	if (st == 405 && r->route == NULL) {
		/* the methods the path has, as Routes' 405 lists them */
		static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", NULL };
		char allow[64] = "";
		for (int i = 0; methods[i]; i++) {
			bool known = false;
			struct http_req probe = *r;
			if (router_match(r->svc->routes, &probe, methods[i], r->subpath, &known)) {
				size_t l = strlen(allow);
				snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", methods[i]);
			}
		}
		if (*allow)
			http_add_header(r, "Allow", allow);
	}
	json_t *e = json_pack("{s:i,s:s,s:s}", "status", st, "title", err_title(st), "detail", detail(r, st));
	if (pr->mv_ok && mv_ge(pr->mv, 1, 23))
		json_object_set_new(e, "code", json_string(pr->code ? pr->code : PLC_CODE_DEFAULT));
	json_object_set_new(e, "request_id", json_string(r->request_id));
	if (st == 406 && !pr->mv_ok) {
		char a[16], b[16];
		json_object_set_new(e, "max_version", json_string(mv_format(plc_mv.max, a)));
		json_object_set_new(e, "min_version", json_string(mv_format(plc_mv.min, b)));
	}
	http_reply_json(r, st, json_pack("{s:[o]}", "errors", e));
}

struct placement *placement_new(struct db *db, char *err, size_t errlen)
{
	struct placement *p = xcalloc(1, sizeof *p);
	p->db = db;
	p->policy = policy_new(plc_policy_defaults, err, errlen);
	if (!p->policy)
		goto fail;
	if (policy_load_file(p->policy, conf_str("placement", "policy_file"), err, errlen))
		goto fail;
	p->service = (struct http_service){
		.name = "placement",
		.prefix = PLC_PREFIX,
		.routes = router_join(families, sizeof families / sizeof families[0]),
		.render_error = render_error,
		.before = before,
		.after = after,
		.max_body = 8 << 20,
		.data = p,
	};
	return p;
fail:
	placement_free(p);
	return NULL;
}

void placement_free(struct placement *p)
{
	if (!p)
		return;
	policy_free(p->policy);
	free((void *)p->service.routes);
	free(p);
}

struct http_service *placement_service(struct placement *p)
{
	return &p->service;
}
