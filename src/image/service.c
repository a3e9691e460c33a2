/* service.c — the image service object: configuration options, start-up (policy, stores), the
 * combined route table, the per-request hooks, and Glance's error bodies (HTML, JSON or plain
 * text, chosen from the Accept header the way webob does). */
#include "image/img.h"
#include "core/conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct conf_opt image_conf_opts[] = {
	{ "image", "policy_file", CONF_STR, "$data_dir/image-policy.yaml",
	  "image policy overrides in oslo.policy YAML/JSON syntax (a missing file means defaults only)" },
	{ "image", "filesystem_store_datadir", CONF_STR, "$data_dir/images",
	  "directory of the file store (created on start)" },
	{ "image", "staging_dir", CONF_STR, "$data_dir/image-staging",
	  "directory holding data staged for interoperable import (created on start)" },
	{ "image", "image_size_cap", CONF_INT, "1099511627776",
	  "largest image, in bytes, that may be uploaded or imported" },
	{ "image", "user_storage_quota", CONF_STR, "0",
	  "total image bytes one project may store (suffixes KB/MB/GB/TB; 0: unlimited)" },
	{ "image", "image_count_quota", CONF_INT, "-1",
	  "images one project may own (-1: unlimited)" },
	{ "image", "image_member_quota", CONF_INT, "128", "members per image (-1: unlimited)" },
	{ "image", "image_property_quota", CONF_INT, "128",
	  "extra properties per image (-1: unlimited)" },
	{ "image", "image_tag_quota", CONF_INT, "128", "tags per image (-1: unlimited)" },
	{ "image", "list_limit_max", CONF_INT, "1000", "largest page of an image list" },
	{ "image", "list_limit_default", CONF_INT, "25", "page size of an image list without ?limit" },
	{ "image", "tiny_image_dir", CONF_STR, "$data_dir/tiny",
	  "where `make up` builds the tiny test guest; registered as public images on first start" },
	{ NULL, NULL, 0, NULL, NULL },
};

static const struct route *const families[] = {
	img_routes_version, img_routes_schemas, img_routes_images, img_routes_upload,
	img_routes_download, img_routes_import, img_routes_members, img_routes_tags, img_routes_actions,
	img_routes_tasks, img_routes_metadefs,
};

/* Which of text/html and application/json the Accept header prefers (webob's choice: the
 * highest quality, html first on a tie); neither acceptable means plain text. */
static const char *accept_choice(const char *accept)
{
	if (!accept || !*accept)
		return "text/html";
	double q_html = -1, q_json = -1;
	const char *p = accept;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[128];
		snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item - 1 ? len : sizeof item - 1), p);
		double q = 1;
		char *semi = strchr(item, ';');
		if (semi) {
			*semi = 0;
			char *qs = strstr(semi + 1, "q=");
			if (qs)
				q = strtod(qs + 2, NULL);
		}
		char *t = item;
		while (*t == ' ' || *t == '\t')
			t++;
		for (char *e = t + strlen(t); e > t && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = 0;
		bool any = !strcmp(t, "*/*");
		if ((any || !strcasecmp(t, "text/*") || !strcasecmp(t, "text/html")) && q > q_html)
			q_html = q;
		if ((any || !strcasecmp(t, "application/*") || !strcasecmp(t, "application/json")) && q > q_json)
			q_json = q;
		if (!end)
			break;
		p = end + 1;
	}
	if (q_html > 0 && q_html >= q_json)
		return "text/html";
	if (q_json > 0)
		return "application/json";
	return "text/plain";
}

static void render_error(struct http_req *r)
{
	int st = err_status(r->err);
	const char *title = err_title(st);
	if (st == 401) {
		title = "Unauthorized";
		http_add_header(r, "WWW-Authenticate",
				arena_printf(r->arena, "Keystone uri=\"%s/identity\"", r->base_url));
	}
	if (st == 415 && !strcmp(r->method, "PATCH"))   /* which patch dialects we speak */
		http_add_header(r, "Accept-Patch", "application/openstack-images-v2.0-json-patch, "
				"application/openstack-images-v2.1-json-patch");
	if (st >= 500)
		log_error("%s %s failed: %s", r->method, r->path, r->errmsg);
	const char *type = accept_choice(http_header(r, "Accept"));
	if (!strcmp(type, "application/json")) {
		http_reply_json(r, st, json_pack("{s:s,s:s,s:s}", "message", r->errmsg, "code",
						 arena_printf(r->arena, "%d %s", st, title), "title", title));
		return;
	}
	const char *body;
	if (!strcmp(type, "text/html"))
		body = arena_printf(r->arena,
				    "<html>\n <head>\n  <title>%d %s</title>\n </head>\n <body>\n"
				    "  <h1>%d %s</h1>\n  %s<br /><br />\n\n\n\n </body>\n</html>",
				    st, title, st, title, r->errmsg);
	else
		body = arena_printf(r->arena, "%d %s\n\n%s\n\n   ", st, title, r->errmsg);
	http_reply_text(r, st, arena_printf(r->arena, "%s; charset=UTF-8", type), body, strlen(body));
}

static int before(struct http_req *r)
{
	struct img_req *ir = arena_alloc(r->arena, sizeof *ir);
	ir->svc = r->svc->data;
	r->svc_data = ir;
	if (r->route->flags & ROUTE_PUBLIC)
		return 0;
	int rc = auth_require(r);
	if (rc < 0)
		return rc;
	if (r->route->policy && !auth_allowed(ir->svc->policy, r, r->route->policy, NULL))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete %s action.",
				  r->route->policy);
	return 0;
}

static void after(struct http_req *r)
{
	struct img_req *ir = r->svc_data;
	if (ir)
		db_slot_put(&ir->conn);   /* as soon as the response is queued, not after a download */
}

struct image_svc *img_svc(struct http_req *r)
{
	return ((struct img_req *)r->svc_data)->svc;
}

struct db_conn *img_db(struct http_req *r)
{
	struct img_req *ir = r->svc_data;
	return db_slot_get(ir->svc->db, &ir->conn, r->arena);
}

int img_begin(struct http_req *r)
{
	int rc = db_begin(img_db(r));
	return rc < 0 ? img_db_error(r, rc, "begin") : 0;
}

int img_commit(struct http_req *r)
{
	int rc = db_commit(img_db(r));
	return rc < 0 ? img_db_error(r, rc, "commit") : 0;
}

void img_rollback(struct http_req *r)
{
	struct img_req *ir = r->svc_data;
	if (ir->conn && db_in_tx(ir->conn))
		db_rollback(ir->conn);
}

int img_db_error(struct http_req *r, int rc, const char *what)
{
	struct img_req *ir = r->svc_data;
	img_rollback(r);
	log_error("image database error (%s, %d): %s", what, rc, ir->conn ? db_errmsg(ir->conn) : "?");
	return http_error(r, ERR_INTERNAL, "The server has either erred or is incapable of performing the requested operation.");
}

const char *img_caller_project(struct http_req *r)
{
	return r->auth && r->auth->project_id ? r->auth->project_id : "";
}

bool img_is_admin(struct http_req *r)
{
	return r->auth && auth_allowed(img_svc(r)->policy, r, "context_is_admin", NULL);
}

struct image_svc *image_new(struct db *db, char *err, size_t errlen)
{
	struct image_svc *svc = xcalloc(1, sizeof *svc);
	svc->db = db;
	svc->policy = policy_new(img_policy_defaults, err, errlen);
	if (!svc->policy)
		goto fail;
	if (policy_load_file(svc->policy, conf_str("image", "policy_file"), err, errlen))
		goto fail;
	if (img_stores_open(svc, err, errlen) || img_recover(svc, err, errlen))
		goto fail;
	svc->service = (struct http_service){
		.name = "image",
		.prefix = IMG_PREFIX,
		.routes = router_join(families, sizeof families / sizeof families[0]),
		.render_error = render_error,
		.before = before,
		.after = after,
		.max_body = 4 << 20,
		.data = svc,
	};
	return svc;
fail:
	image_free(svc);
	return NULL;
}

void image_free(struct image_svc *svc)
{
	if (!svc)
		return;
	img_stores_close(svc);
	policy_free(svc->policy);
	free((void *)svc->service.routes);
	free(svc);
}

struct http_service *image_service(struct image_svc *svc)
{
	return &svc->service;
}
