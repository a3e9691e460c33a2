/* service.c — the compute service object: configuration options, start-up (policy, schema, the
 * servers side's scheduler and agent), the combined route table, the per-request hooks
 * (microversion, token, route policy), and Nova's error bodies. */
#include "compute/cmp.h"
#include "core/conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct conf_opt compute_conf_opts[] = {
	{ "compute", "policy_file", CONF_STR, "$data_dir/compute-policy.yaml",
	  "compute policy overrides in oslo.policy YAML/JSON syntax (a missing file means defaults only)" },
	{ "compute", "driver", CONF_STR, "auto",
	  "virtualisation driver of the in-process agent: qemu, fake, none, or auto (qemu when "
	  "qemu-system-x86_64 is installed, else fake)" },
	{ "compute", "host", CONF_STR, "", "this compute host's name (empty: the machine's hostname)" },
	{ "compute", "fake_hosts", CONF_INT, "1", "hosts the fake driver simulates" },
	{ "compute", "fake_host_prefix", CONF_STR, "fake-host",
	  "names of the fake driver's hosts: PREFIX-1 ... PREFIX-N" },
	{ "compute", "fake_build_delay_ms", CONF_INT, "0",
	  "how long the fake driver takes to build a guest (tests of interrupted builds)" },
	{ "compute", "instances_path", CONF_STR, "$data_dir/instances",
	  "where the qemu driver keeps each instance's disk, console log and sockets" },
	{ "compute", "image_cache_path", CONF_STR, "$data_dir/image-cache",
	  "per-host cache of the images instances boot from" },
	{ "compute", "default_availability_zone", CONF_STR, "nova",
	  "availability zone of hosts that are in no zoned aggregate" },
	{ "compute", "report_interval", CONF_INT, "10", "seconds between an agent's heartbeats" },
	{ "compute", "service_down_time", CONF_INT, "60",
	  "seconds without a heartbeat after which a service is reported down" },
	{ "compute", "weigher", CONF_STR, "spread",
	  "how the scheduler places instances: spread (most free RAM/CPU first) or pack" },
	{ "compute", "cpu_allocation_ratio", CONF_STR, "4.0", "VCPU overcommit published to placement" },
	{ "compute", "ram_allocation_ratio", CONF_STR, "1.0", "MEMORY_MB overcommit published to placement" },
	{ "compute", "disk_allocation_ratio", CONF_STR, "1.0", "DISK_GB overcommit published to placement" },
	{ "compute", "reserved_host_memory_mb", CONF_INT, "512", "memory kept for the host itself" },
	{ "compute", "force_config_drive", CONF_BOOL, "true",
	  "give every server a config drive (there is no metadata service: it is how guests learn "
	  "their name, keys and user data)" },
	{ "compute", "max_concurrent_builds", CONF_INT, "10", "builds an agent runs at once" },
	{ "agent", "username", CONF_STR, "",
	  "`monostack compute`: the user it authenticates as at the controller (admin or service role)" },
	{ "agent", "password", CONF_STR, "", "`monostack compute`: that user's password" },
	{ "agent", "project_name", CONF_STR, "service", "`monostack compute`: the project its token is scoped to" },
	{ "agent", "user_domain_name", CONF_STR, "Default", "`monostack compute`: the user's domain" },
	{ "agent", "project_domain_name", CONF_STR, "Default", "`monostack compute`: the project's domain" },
	{ "agent", "ca_file", CONF_STR, "", "`monostack compute`: PEM bundle trusted for an https controller" },
	{ "agent", "timeout", CONF_INT, "30", "`monostack compute`: seconds a call to the controller may take" },
	{ "agent", "listen", CONF_STR, "127.0.0.1:0",
	  "`monostack compute`: where its listener for the controller (console log, VNC address) binds" },
	{ "agent", "url", CONF_STR, "",
	  "`monostack compute`: that listener's URL as the controller reaches it (empty: http[s]://LISTEN)" },
	{ "agent", "cert_file", CONF_STR, "",
	  "`monostack compute`: PEM certificate: that listener serves HTTPS when set (the controller "
	  "checks it against its own [agent] ca_file or the system's trust)" },
	{ "agent", "key_file", CONF_STR, "", "`monostack compute`: PEM private key of cert_file" },
	{ "quota", "instances", CONF_INT, "10", "default instances per project (-1: unlimited)" },
	{ "quota", "cores", CONF_INT, "20", "default vCPUs per project" },
	{ "quota", "ram", CONF_INT, "51200", "default MiB of RAM per project" },
	{ "quota", "metadata_items", CONF_INT, "128", "metadata items per server" },
	{ "quota", "injected_files", CONF_INT, "5", "personality files per server" },
	{ "quota", "injected_file_content_bytes", CONF_INT, "10240", "bytes per personality file" },
	{ "quota", "injected_file_path_length", CONF_INT, "255", "path length of a personality file" },
	{ "quota", "key_pairs", CONF_INT, "100", "keypairs per user" },
	{ "quota", "server_groups", CONF_INT, "10", "server groups per project" },
	{ "quota", "server_group_members", CONF_INT, "10", "servers per server group" },
	{ NULL, NULL, 0, NULL, NULL },
};

const struct mv_spec cmp_mv_spec = {
	.service = "compute",
	.legacy = "X-OpenStack-Nova-API-Version",
	.min = { 2, 1 },
	.max = { 2, 79 },
};

static const struct route *const families[] = {
	cmp_routes_version, cmp_routes_flavors, cmp_routes_keypairs, cmp_routes_hosts,
	cmp_routes_quotas, cmp_routes_misc, cmp_routes_servers, cmp_routes_actions,
	cmp_routes_server_sub, cmp_routes_server_history, cmp_routes_groups, cmp_routes_images,
	cmp_routes_usage_audit, cmp_routes_agent,
};

/* Nova's fault names by status (webob faults wrapped by nova.api.openstack.wsgi.Fault). */
static const char *fault_name(int st)
{
	switch (st) {
	case 400: return "badRequest";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "itemNotFound";
	case 405: return "badMethod";
	case 409: return "conflictingRequest";
	case 413: return "overLimit";
	case 415: return "badMediaType";
	case 429: return "overLimit";
	case 501: return "notImplemented";
	case 503: return "serviceUnavailable";
	default: return "computeFault";
	}
}

static void render_error(struct http_req *r)
{
	struct cmp_req *cr = r->svc_data;
	int st = err_status(r->err);
	if (cr && cr->mv_ok)
		mv_add_headers(r, &cmp_mv_spec, cr->mv);
	if (st == 401) {   /* keystonemiddleware answers before Nova sees the request */
		http_add_header(r, "WWW-Authenticate",
				arena_printf(r->arena, "Keystone uri=\"%s/identity\"", r->base_url));
		http_reply_json(r, 401, json_pack("{s:{s:i,s:s,s:s}}", "error", "code", 401, "title",
						  "Unauthorized", "message", r->errmsg));
		return;
	}
	if (st >= 500)
		log_error("%s %s failed: %s", r->method, r->path, r->errmsg);
	http_reply_json(r, st, json_pack("{s:{s:i,s:s}}", fault_name(st), "code", st, "message", r->errmsg));
}

static int before(struct http_req *r)
{
	struct cmp_req *cr = arena_alloc(r->arena, sizeof *cr);
	cr->svc = r->svc->data;
	r->svc_data = cr;
	http_add_header(r, "x-compute-request-id", r->request_id);   /* Nova's own name for it */
	if (r->route->flags & ROUTE_PUBLIC)
		return 0;
	int rc = auth_require(r);
	if (rc < 0)
		return rc;
	rc = mv_negotiate(r, &cmp_mv_spec, &cr->mv);
	if (rc < 0)
		return rc;
	cr->mv_ok = true;
	mv_add_headers(r, &cmp_mv_spec, cr->mv);
	if (r->route->policy)
		return cmp_enforce(r, r->route->policy, NULL, NULL);
	return 0;
}

static void after(struct http_req *r)
{
	struct cmp_req *cr = r->svc_data;
	if (cr)
		db_slot_put(&cr->conn);
}

struct compute_svc *cmp_svc(struct http_req *r)
{
	return ((struct cmp_req *)r->svc_data)->svc;
}

struct db_conn *cmp_db(struct http_req *r)
{
	struct cmp_req *cr = r->svc_data;
	return db_slot_get(cr->svc->db, &cr->conn, r->arena);
}

int cmp_begin(struct http_req *r)
{
	int rc = db_begin(cmp_db(r));
	return rc < 0 ? cmp_db_error(r, rc, "begin") : 0;
}

int cmp_commit(struct http_req *r)
{
	int rc = db_commit(cmp_db(r));
	return rc < 0 ? cmp_db_error(r, rc, "commit") : 0;
}

void cmp_rollback(struct http_req *r)
{
	struct cmp_req *cr = r->svc_data;
	if (cr->conn && db_in_tx(cr->conn))
		db_rollback(cr->conn);
}

int cmp_db_error(struct http_req *r, int rc, const char *what)
{
	struct cmp_req *cr = r->svc_data;
	const char *msg = cr->conn ? db_errmsg(cr->conn) : "?";
	log_error("compute database error (%s, %d): %s", what, rc, msg);
	cmp_rollback(r);
	return http_error(r, ERR_INTERNAL, "Unexpected API Error. Please report this at "
			  "https://bugs.launchpad.net/nova/ and attach the Nova API log if possible.");
}

struct mv cmp_mv(struct http_req *r)
{
	return ((struct cmp_req *)r->svc_data)->mv;
}

bool cmp_mv_ge(struct http_req *r, int major, int minor)
{
	return mv_ge(cmp_mv(r), major, minor);
}

const char *cmp_project(struct http_req *r)
{
	return r->auth && r->auth->project_id ? r->auth->project_id : "";
}

const char *cmp_user(struct http_req *r)
{
	return r->auth && r->auth->user_id ? r->auth->user_id : "";
}

bool cmp_is_admin(struct http_req *r)
{
	return r->auth && auth_allowed(cmp_svc(r)->policy, r, "context_is_admin", NULL);
}

bool cmp_allowed(struct http_req *r, const char *rule, const char *project_id, const char *user_id)
{
	json_t *t = json_pack("{s:s,s:s}", "project_id", project_id ? project_id : cmp_project(r),
			      "user_id", user_id ? user_id : cmp_user(r));
	bool ok = auth_allowed(cmp_svc(r)->policy, r, rule, t);
	json_decref(t);
	return ok;
}

int cmp_enforce(struct http_req *r, const char *rule, const char *project_id, const char *user_id)
{
	if (cmp_allowed(r, rule, project_id, user_id))
		return 0;
	return http_error(r, ERR_FORBIDDEN, "Policy doesn't allow %s to be performed.", rule);
}

const char *cmp_url_root(struct http_req *r)
{
	return arena_printf(r->arena, "%s%s", r->base_url, CMP_PREFIX);
}

const char *cmp_url_v21(struct http_req *r)
{
	return arena_printf(r->arena, "%s%s/v2.1", r->base_url, CMP_PREFIX);
}

json_t *cmp_links(struct http_req *r, const char *kind, const char *id)
{
	return json_pack("[{s:s,s:s},{s:s,s:s}]",
			 "rel", "self", "href", arena_printf(r->arena, "%s/%s/%s", cmp_url_v21(r), kind, id),
			 "rel", "bookmark", "href", arena_printf(r->arena, "%s/%s/%s", cmp_url_root(r), kind, id));
}

int cmp_bad_field(struct http_req *r, const char *field, const char *detail)
{
	return http_error(r, ERR_BADREQ, "Invalid input for field/attribute %s. %s", field, detail);
}

int compute_migrate(struct db *db, char *err, size_t errlen)
{
	if (cmp_schema_migrate(db, err, errlen) || cmp_schema_servers_migrate(db, err, errlen))
		return -1;
	return 0;
}

struct compute_svc *compute_new(struct db *db, struct image_svc *images, struct placement *placement,
				char *err, size_t errlen)
{
	struct compute_svc *svc = xcalloc(1, sizeof *svc);
	svc->db = db;
	svc->images = images;
	svc->placement = placement;
	svc->policy = policy_new(cmp_policy_defaults, err, errlen);
	if (!svc->policy)
		goto fail;
	if (policy_load_file(svc->policy, conf_str("compute", "policy_file"), err, errlen))
		goto fail;
	if (cmp_flavors_seed(db, err, errlen))   /* DevStack's default flavors, once */
		goto fail;
	svc->service = (struct http_service){
		.name = "compute",
		.prefix = CMP_PREFIX,
		.routes = router_join(families, sizeof families / sizeof families[0]),
		.render_error = render_error,
		.before = before,
		.after = after,
		.max_body = 1 << 20,
		.data = svc,
	};
	return svc;
fail:
	compute_free(svc);
	return NULL;
}

int compute_start(struct compute_svc *svc, const char *public_url, char *err, size_t errlen)
{
	free(svc->public_url);
	svc->public_url = xstrdup(public_url);
	return cmp_servers_start(svc, err, errlen);
}

void compute_free(struct compute_svc *svc)
{
	if (!svc)
		return;
	cmp_servers_stop(svc);
	policy_free(svc->policy);
	free((void *)svc->service.routes);
	free(svc->public_url);
	free(svc);
}

struct http_service *compute_service(struct compute_svc *svc)
{
	return &svc->service;
}
