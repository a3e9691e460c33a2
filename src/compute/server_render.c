/* server_render.c — the JSON of a server as nova/api/openstack/compute/views/servers.py builds it
 * for each microversion: the brief list entry, the detailed view (extended status, server
 * attributes for admins, availability zone, usage times, locks, tags, flavor embedded at 2.47,
 * host_status at 2.16, fault when in ERROR), and the reduced view PUT and rebuild answer with
 * below 2.75. */
#include "compute/srv.h"
#include <stdio.h>
#include <string.h>

static json_t *image_view(struct http_req *r, const struct srv *s)
{
	if (!s->image_ref || !*s->image_ref)
		return json_string("");
	return json_pack("{s:s,s:[{s:s,s:s}]}", "id", s->image_ref, "links", "rel", "bookmark", "href",
			 arena_printf(r->arena, "%s/images/%s", cmp_url_root(r), s->image_ref));
}

static json_t *flavor_view(struct http_req *r, const struct srv *s, bool specs)
{
	if (!cmp_mv_ge(r, 2, 47))
		return json_pack("{s:s,s:[{s:s,s:s}]}", "id", s->flavor.id, "links", "rel", "bookmark", "href",
				 arena_printf(r->arena, "%s/flavors/%s", cmp_url_root(r), s->flavor.id));
	struct cmp_flavor f = s->flavor;
	f.extra_specs = NULL;
	if (specs) {
		f.extra_specs = json_loads(s->flavor_specs ? s->flavor_specs : "{}", 0, NULL);
		if (!f.extra_specs)
			f.extra_specs = json_object();
		arena_defer(r->arena, json_decref_void, f.extra_specs);
	}
	json_t *v = cmp_flavor_embed(r, &f);
	if (!specs)
		json_object_del(v, "extra_specs");
	return v;
}

static json_t *time_or_null(int64_t us)
{
	if (!us)
		return json_null();
	char buf[40];
	time_format(us, 6, false, buf);
	return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

const char *srv_host_status(struct http_req *r, const char *host)
{
	if (!host || !*host)
		return "";
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT disabled, forced_down, last_seen_up FROM cmp_services"
			  " WHERE host = ? AND service_binary = 'nova-compute'", DB_TEXT(host));
	if (rc < 0)
		return "UNKNOWN";
	const char *st = "";
	if (db_rows_count(rows)) {
		int64_t down = conf_int("compute", "service_down_time") * 1000000;
		if (db_bool(rows, 0, 1))
			st = "DOWN";
		else if (db_bool(rows, 0, 0))
			st = "MAINTENANCE";
		else
			st = time_now_us() - db_int(rows, 0, 2) <= down ? "UP" : "UNKNOWN";
	}
	db_rows_free(rows);
	return st;
}

int srv_host_status_policy(struct http_req *r, const char *project_id)
{
	if (cmp_allowed(r, "os_compute_api:servers:show:host_status", project_id, NULL))
		return 1;
	if (cmp_allowed(r, "os_compute_api:servers:show:host_status:unknown-only", project_id, NULL))
		return 2;
	return 0;
}

static const char *const progress_statuses[] = { "ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE",
						  "MIGRATING", NULL };

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

json_t *srv_view(struct http_req *r, const struct srv *s, const struct srv_view_opts *o)
{
	json_t *v = json_pack("{s:s,s:s?,s:o}", "id", s->uuid, "name", s->display_name, "links",
			      cmp_links(r, "servers", s->uuid));
	if (!o->detail)
		return v;
	bool full = !o->update_view || o->all_attrs;
	const char *status = srv_status(s);
	char host_id[57];
	srv_host_id(s->project_id, s->host, host_id);
	char created[40], updated[40];
	time_format(s->created_at, 0, true, created);
	time_format(s->updated_at ? s->updated_at : s->created_at, 0, true, updated);
	int specs = o->extra_specs;
	if (specs < 0)
		specs = cmp_mv_ge(r, 2, 47) &&
			cmp_allowed(r, "os_compute_api:servers:show:flavor-extra-specs", s->project_id, NULL);
	json_object_set_new(v, "status", json_string(status));
	json_object_set_new(v, "tenant_id", json_string(s->project_id ? s->project_id : ""));
	json_object_set_new(v, "user_id", json_string(s->user_id ? s->user_id : ""));
	json_object_set_new(v, "metadata", s->metadata ? json_deep_copy(s->metadata) : json_object());
	json_object_set_new(v, "hostId", json_string(host_id));
	json_object_set_new(v, "image", image_view(r, s));
	json_object_set_new(v, "flavor", flavor_view(r, s, specs));
	json_object_set_new(v, "created", json_string(created));
	json_object_set_new(v, "updated", json_string(updated));
	json_object_set_new(v, "addresses", json_object());
	json_object_set_new(v, "accessIPv4", json_string(s->access_ip_v4 ? s->access_ip_v4 : ""));
	json_object_set_new(v, "accessIPv6", json_string(s->access_ip_v6 ? s->access_ip_v6 : ""));
	json_object_set_new(v, "OS-DCF:diskConfig", json_string(s->auto_disk_config ? "AUTO" : "MANUAL"));
	if ((!strcmp(status, "ERROR") || !strcmp(status, "DELETED")) && s->fault) {
		json_t *f = json_deep_copy(s->fault);
		const char *details = json_string_value(json_object_get(f, "details"));
		if (!details || !*details || (json_integer_value(json_object_get(f, "code")) == 500 && !cmp_is_admin(r)))
			json_object_del(f, "details");
		json_object_set_new(v, "fault", f);
	}
	if (in_list(progress_statuses, status))
		json_object_set_new(v, "progress", json_integer(s->progress));
	if (full) {
		json_object_set_new(v, "OS-EXT-AZ:availability_zone",
				    json_string(s->availability_zone ? s->availability_zone : ""));
		json_object_set_new(v, "config_drive", json_string(s->config_drive ? s->config_drive : ""));
	}
	if (full || (o->rebuild && cmp_mv_ge(r, 2, 54)))
		json_object_set_new(v, "key_name", str_or_null(s->key_name));
	if (full) {
		json_object_set_new(v, "OS-SRV-USG:launched_at", time_or_null(s->launched_at));
		json_object_set_new(v, "OS-SRV-USG:terminated_at", time_or_null(s->terminated_at));
	}
	int ext = o->ext_attr;
	if (ext < 0)
		ext = full && cmp_allowed(r, "os_compute_api:os-extended-server-attributes", s->project_id, NULL);
	if (ext) {
		char name[32];
		snprintf(name, sizeof name, "instance-%08llx", (unsigned long long)s->id);
		json_object_set_new(v, "OS-EXT-SRV-ATTR:host", str_or_null(s->host));
		json_object_set_new(v, "OS-EXT-SRV-ATTR:instance_name", json_string(name));
		json_object_set_new(v, "OS-EXT-SRV-ATTR:hypervisor_hostname", str_or_null(s->node));
		if (cmp_mv_ge(r, 2, 3)) {
			json_object_set_new(v, "OS-EXT-SRV-ATTR:reservation_id", str_or_null(s->reservation_id));
			json_object_set_new(v, "OS-EXT-SRV-ATTR:launch_index", json_integer(s->launch_index));
			json_object_set_new(v, "OS-EXT-SRV-ATTR:hostname", json_string(s->hostname ? s->hostname : ""));
			json_object_set_new(v, "OS-EXT-SRV-ATTR:kernel_id", str_or_null(s->kernel_id));
			json_object_set_new(v, "OS-EXT-SRV-ATTR:ramdisk_id", str_or_null(s->ramdisk_id));
			json_object_set_new(v, "OS-EXT-SRV-ATTR:root_device_name", str_or_null(s->root_device_name));
			if (!o->rebuild)
				json_object_set_new(v, "OS-EXT-SRV-ATTR:user_data", str_or_null(s->user_data));
		}
	}
	if (full) {
		json_object_set_new(v, "OS-EXT-STS:task_state", str_or_null(s->task_state));
		json_object_set_new(v, "OS-EXT-STS:vm_state", json_string(s->vm_state));
		json_object_set_new(v, "OS-EXT-STS:power_state", json_integer(s->power_state));
		json_object_set_new(v, "os-extended-volumes:volumes_attached", json_array());
	}
	if (cmp_mv_ge(r, 2, 16) && full && o->host_status != 0) {
		if (o->host_status_value) {
			json_object_set_new(v, "host_status", json_string(o->host_status_value));
		} else {
			int pol = srv_host_status_policy(r, s->project_id);
			if (pol) {
				const char *hs = srv_host_status(r, s->host);
				if (pol == 1 || !strcmp(hs, "UNKNOWN"))
					json_object_set_new(v, "host_status", json_string(hs));
			}
		}
	}
	if (cmp_mv_ge(r, 2, 9))
		json_object_set_new(v, "locked", json_boolean(s->locked_by != NULL));
	if (cmp_mv_ge(r, 2, 73))
		json_object_set_new(v, "locked_reason", str_or_null(s->locked_reason));
	if (cmp_mv_ge(r, 2, 19))
		json_object_set_new(v, "description", str_or_null(s->display_description));
	if (cmp_mv_ge(r, 2, 26))
		json_object_set_new(v, "tags", s->tags ? json_deep_copy(s->tags) : json_array());
	if (cmp_mv_ge(r, 2, 63)) {
		json_t *tc = s->trusted_certs ? json_loads(s->trusted_certs, 0, NULL) : NULL;
		json_object_set_new(v, "trusted_image_certificates", tc ? tc : json_null());
	}
	if (o->server_groups)
		json_object_set_new(v, "server_groups", s->group ? json_pack("[s]", s->group) : json_array());
	return v;
}
