/* server_create.c — POST /servers: the request checks of Nova's create schemas per microversion,
 * the image (visible, active, fits the flavor), flavor, keypair, availability zone, networks
 * (no networking service exists: "none", "auto" or nothing), security groups ("default"), block
 * device mappings (only an image-backed local root disk), server group hint, and the quotas
 * counted from the rows in the same transaction that inserts the instances (BUILD/scheduling: the
 * rows are the scheduler's queue). Answers 202 with adminPass, or the reservation id. */
#include "compute/srv.h"
#include "image/image.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct create {
	const char *name, *description, *image_ref, *flavor_ref, *admin_pass, *key_name, *user_data;
	const char *access_v4, *access_v6, *az, *forced_host, *forced_node, *req_host, *req_node;
	const char *group;
	json_t *metadata, *tags, *personality, *trusted_certs, *hints, *sec_groups;
	bool config_drive, auto_disk, return_resv;
	int64_t min_count, max_count;
	/* resolved */
	struct cmp_flavor flavor;
	const char *kernel_id, *ramdisk_id, *key_data, *image_props;
};

static bool allowed_key(struct http_req *r, const char *k)
{
	static const char *const base[] = {
		"name", "imageRef", "flavorRef", "adminPass", "metadata", "networks", "OS-DCF:diskConfig",
		"accessIPv4", "accessIPv6", "availability_zone", "block_device_mapping",
		"block_device_mapping_v2", "config_drive", "key_name", "min_count", "max_count",
		"return_reservation_id", "security_groups", "user_data", NULL,
	};
	for (int i = 0; base[i]; i++)
		if (!strcmp(base[i], k))
			return true;
	if (!strcmp(k, "personality"))
		return !cmp_mv_ge(r, 2, 57);
	if (!strcmp(k, "description"))
		return cmp_mv_ge(r, 2, 19);
	if (!strcmp(k, "tags"))
		return cmp_mv_ge(r, 2, 52);
	if (!strcmp(k, "trusted_image_certificates"))
		return cmp_mv_ge(r, 2, 63);
	if (!strcmp(k, "host") || !strcmp(k, "hypervisor_hostname"))
		return cmp_mv_ge(r, 2, 74);
	return false;
}

static int str_field(struct http_req *r, json_t *o, const char *k, size_t max, const char **out)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return cmp_bad_field(r, k, "Value is not of type 'string'");
	if (max && json_string_length(v) > max)
		return cmp_bad_field(r, k, arena_printf(r->arena, "Value: %s. It is too long", json_string_value(v)));
	*out = arena_strdup(r->arena, json_string_value(v));
	return 0;
}

static int count_field(struct http_req *r, json_t *o, const char *k, int64_t *out)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return 0;
	int64_t n = -1;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v) && parse_int64(json_string_value(v), 0, INT32_MAX, &n) < 0)
		n = -1;
	if (n < 1)
		return cmp_bad_field(r, k, "Value must be a positive integer");
	*out = n;
	return 0;
}

static bool ip_ok(const char *s, int af)
{
	unsigned char buf[16];
	return inet_pton(af, s, buf) == 1;
}

/* The last path segment of a flavor or image reference (common.get_id_from_href). */
static const char *id_from_href(struct http_req *r, const char *href)
{
	const char *q = strchr(href, '?');
	char *s = q ? arena_strndup(r->arena, href, (size_t)(q - href)) : arena_strdup(r->arena, href);
	size_t n = strlen(s);
	while (n && s[n - 1] == '/')
		s[--n] = 0;
	const char *slash = strrchr(s, '/');
	return slash ? slash + 1 : s;
}

static int parse_networks(struct http_req *r, json_t *v)
{
	if (!v)
		return cmp_mv_ge(r, 2, 37) ? cmp_bad_field(r, "server", "'networks' is a required property") : 0;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (cmp_mv_ge(r, 2, 37) && (!strcmp(s, "none") || !strcmp(s, "auto")))
			return 0;
		return cmp_bad_field(r, "networks", arena_printf(r->arena, "Value: %s. It is not valid", s));
	}
	if (!json_is_array(v))
		return cmp_bad_field(r, "networks", "Value is not of type 'array'");
	size_t i;
	json_t *n;
	json_array_foreach(v, i, n) {
		if (!json_is_object(n))
			return cmp_bad_field(r, "networks", "Value is not of type 'object'");
		const char *k;
		json_t *x;
		json_object_foreach(n, k, x) {
			bool tag_ok = !strcmp(k, "tag") && (cmp_mv_ge(r, 2, 42) || (cmp_mv_ge(r, 2, 32) && !cmp_mv_ge(r, 2, 37)));
			if (strcmp(k, "uuid") && strcmp(k, "port") && strcmp(k, "fixed_ip") && !tag_ok)
				return cmp_v_unexpected(r, "networks", k);
		}
		json_t *port = json_object_get(n, "port"), *uuid = json_object_get(n, "uuid");
		json_t *fixed = json_object_get(n, "fixed_ip");
		if (fixed && (!json_is_string(fixed) || (!ip_ok(json_string_value(fixed), AF_INET) &&
							  !ip_ok(json_string_value(fixed), AF_INET6))))
			return cmp_bad_field(r, "fixed_ip", "Value is not a valid IP address");
		if (port && !json_is_null(port)) {
			if (!json_is_string(port) || !uuid_valid(json_string_value(port)))
				return cmp_bad_field(r, "port", "Value is not a 'uuid'");
			if (fixed)
				return http_error(r, ERR_BADREQ, "Specified Fixed IP '%s' cannot be used with port '%s': the two"
						  " cannot be specified together.", json_string_value(fixed), json_string_value(port));
			return http_error(r, ERR_BADREQ, "Port id %s could not be found.", json_string_value(port));
		}
		if (!uuid)
			return http_error(r, ERR_BADREQ, "Bad network format: missing 'uuid'");
		if (!json_is_string(uuid))
			return cmp_bad_field(r, "uuid", "Value is not of type 'string'");
		if (!uuid_valid(json_string_value(uuid)))
			return cmp_mv_ge(r, 2, 37) ? cmp_bad_field(r, "uuid", "Value is not a 'uuid'")
				: http_error(r, ERR_BADREQ, "Bad networks format: network uuid is not in proper format (%s)",
					     json_string_value(uuid));
		/* there is no networking service: no network exists */
		return http_error(r, ERR_BADREQ, "Network %s could not be found.", json_string_value(uuid));
	}
	return 0;
}

/* block_device_mapping_v2: only one image-backed local root disk (what imageRef gives). */
static int parse_bdms(struct http_req *r, json_t *server, struct create *c)
{
	json_t *legacy = json_object_get(server, "block_device_mapping");
	json_t *v2 = json_object_get(server, "block_device_mapping_v2");
	if (legacy && (!json_is_array(legacy)))
		return cmp_bad_field(r, "block_device_mapping", "Value is not of type 'array'");
	if (v2 && !json_is_array(v2))
		return cmp_bad_field(r, "block_device_mapping_v2", "Value is not of type 'array'");
	if (legacy && json_array_size(legacy) && v2 && json_array_size(v2))
		return http_error(r, ERR_BADREQ, "Using different block_device_mapping syntaxes is not allowed in the same request.");
	if (legacy && json_array_size(legacy))
		return http_error(r, ERR_BADREQ, "Block Device Mapping is Invalid: volumes are not available in this cloud.");
	if (!v2 || !json_array_size(v2))
		return 0;
	if (json_array_size(v2) > 1)
		return http_error(r, ERR_BADREQ, "Block Device Mapping is Invalid: volumes are not available in this cloud.");
	json_t *b = json_array_get(v2, 0);
	if (!json_is_object(b))
		return cmp_bad_field(r, "block_device_mapping_v2", "Value is not of type 'object'");
	const char *src = json_string_value(json_object_get(b, "source_type"));
	const char *dst = json_string_value(json_object_get(b, "destination_type"));
	const char *uuid = json_string_value(json_object_get(b, "uuid"));
	json_t *bi = json_object_get(b, "boot_index");
	bool boot0 = bi && ((json_is_integer(bi) && json_integer_value(bi) == 0) ||
			    (json_is_string(bi) && !strcmp(json_string_value(bi), "0")));
	if (!src || strcmp(src, "image") || (dst && strcmp(dst, "local")) || !uuid || !boot0)
		return http_error(r, ERR_BADREQ, "Block Device Mapping is Invalid: volumes are not available in this cloud.");
	if (c->image_ref && *c->image_ref && strcmp(c->image_ref, uuid))
		return http_error(r, ERR_BADREQ, "Block Device Mapping is Invalid: Boot sequence for the instance and"
				  " image/block device mapping combination is not valid.");
	c->image_ref = arena_strdup(r->arena, uuid);
	return 0;
}

static int parse_personality(struct http_req *r, json_t *p)
{
	if (!json_is_array(p))
		return cmp_bad_field(r, "personality", "Value is not of type 'array'");
	size_t i;
	json_t *f;
	size_t max_path = 0, max_content = 0;
	json_array_foreach(p, i, f) {
		if (!json_is_object(f))
			return cmp_bad_field(r, "personality", "Value is not of type 'object'");
		const char *k;
		json_t *x;
		json_object_foreach(f, k, x)
			if (strcmp(k, "path") && strcmp(k, "contents"))
				return cmp_v_unexpected(r, "personality", k);
		json_t *path = json_object_get(f, "path"), *contents = json_object_get(f, "contents");
		if ((path && !json_is_string(path)) || (contents && !json_is_string(contents)))
			return cmp_bad_field(r, "personality", "Value is not of type 'string'");
		if (contents && !srv_base64_valid(json_string_value(contents)))
			return cmp_bad_field(r, "contents", "Value is not a 'base64'");
		size_t pl = path ? json_string_length(path) : 0;
		size_t cl = contents ? json_string_length(contents) / 4 * 3 : 0;
		max_path = pl > max_path ? pl : max_path;
		max_content = cl > max_content ? cl : max_content;
	}
	int64_t files = -1, path_len = -1, content = -1;
	int rc;
	if ((rc = cmp_quota_limit(r, cmp_project(r), NULL, "injected_files", &files)) < 0 ||
	    (rc = cmp_quota_limit(r, cmp_project(r), NULL, "injected_file_path_bytes", &path_len)) < 0 ||
	    (rc = cmp_quota_limit(r, cmp_project(r), NULL, "injected_file_content_bytes", &content)) < 0)
		return rc;
	if (files >= 0 && (int64_t)json_array_size(p) > files)
		return http_error(r, ERR_FORBIDDEN, "Personality file limit exceeded");
	if (path_len >= 0 && (int64_t)max_path > path_len)
		return http_error(r, ERR_FORBIDDEN, "Personality file path exceeds maximum %lld", (long long)path_len);
	if (content >= 0 && (int64_t)max_content > content)
		return http_error(r, ERR_FORBIDDEN, "Personality file content exceeds maximum %lld", (long long)content);
	return 0;
}

static int parse_hints(struct http_req *r, json_t *body, struct create *c)
{
	json_t *h = json_object_get(body, "os:scheduler_hints");
	if (!h)
		h = json_object_get(body, "OS-SCH-HNT:scheduler_hints");
	if (!h)
		return 0;
	if (!json_is_object(h))
		return cmp_bad_field(r, "os:scheduler_hints", "Value is not of type 'object'");
	c->hints = h;
	json_t *g = json_object_get(h, "group");
	if (g) {
		if (!json_is_string(g) || !uuid_valid(json_string_value(g)))
			return cmp_bad_field(r, "group", "Value is not a 'uuid'");
		c->group = arena_strdup(r->arena, json_string_value(g));
	}
	static const char *const lists[] = { "different_host", "same_host", NULL };
	for (int i = 0; lists[i]; i++) {
		json_t *v = json_object_get(h, lists[i]);
		if (!v)
			continue;
		if (json_is_string(v)) {
			if (!uuid_valid(json_string_value(v)))
				return cmp_bad_field(r, lists[i], "Value is not a 'uuid'");
			continue;
		}
		if (!json_is_array(v))
			return cmp_bad_field(r, lists[i], "Value is not of type 'string' or 'array'");
		size_t j;
		json_t *x;
		json_array_foreach(v, j, x)
			if (!json_is_string(x) || !uuid_valid(json_string_value(x)))
				return cmp_bad_field(r, lists[i], "Value is not a 'uuid'");
	}
	return 0;
}

static int parse(struct http_req *r, json_t *body, struct create *c)
{
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v)
		if (strcmp(k, "server") && strcmp(k, "os:scheduler_hints") && strcmp(k, "OS-SCH-HNT:scheduler_hints"))
			return cmp_v_unexpected(r, "body", k);
	json_t *s = json_object_get(body, "server");
	if (!json_is_object(s))
		return cmp_bad_field(r, "server", "'server' is a required property");
	json_object_foreach(s, k, v)
		if (!allowed_key(r, k))
			return cmp_v_unexpected(r, "server", k);
	int rc;
	if (!json_object_get(s, "name"))
		return cmp_bad_field(r, "server", "'name' is a required property");
	if ((rc = srv_validate_name(r, json_object_get(s, "name"), "name")) < 0)
		return rc;
	c->name = arena_strdup(r->arena, json_string_value(json_object_get(s, "name")));
	json_t *fr = json_object_get(s, "flavorRef");
	if (!fr)
		return cmp_bad_field(r, "server", "'flavorRef' is a required property");
	if (json_is_integer(fr))
		c->flavor_ref = arena_printf(r->arena, "%lld", (long long)json_integer_value(fr));
	else if (json_is_string(fr) && json_string_length(fr) > 0)
		c->flavor_ref = id_from_href(r, json_string_value(fr));
	else
		return cmp_bad_field(r, "flavorRef", "Value is not valid");
	json_t *img = json_object_get(s, "imageRef");
	if (img) {
		if (!json_is_string(img) || (json_string_length(img) && !uuid_valid(json_string_value(img))))
			return cmp_bad_field(r, "imageRef", arena_printf(r->arena, "Value: %s. It is not a 'uuid'",
						json_is_string(img) ? json_string_value(img) : "?"));
		c->image_ref = arena_strdup(r->arena, json_string_value(img));
	}
	if ((rc = str_field(r, s, "adminPass", 0, &c->admin_pass)) < 0 ||
	    (rc = str_field(r, s, "accessIPv4", 0, &c->access_v4)) < 0 ||
	    (rc = str_field(r, s, "accessIPv6", 0, &c->access_v6)) < 0 ||
	    (rc = str_field(r, s, "user_data", SRV_USER_DATA_MAX, &c->user_data)) < 0)
		return rc;
	if (c->access_v4 && !(c->access_v4 = srv_ip_canonical(r, json_object_get(s, "accessIPv4"), AF_INET)))
		return cmp_bad_field(r, "accessIPv4", "Value is not a 'ipv4'");
	if (c->access_v6 && !(c->access_v6 = srv_ip_canonical(r, json_object_get(s, "accessIPv6"), AF_INET6)))
		return cmp_bad_field(r, "accessIPv6", "Value is not a 'ipv6'");
	if (c->user_data && !srv_base64_valid(c->user_data))
		return cmp_bad_field(r, "user_data", "Value is not a 'base64'");
	if ((v = json_object_get(s, "key_name"))) {
		if ((rc = srv_validate_name(r, v, "key_name")) < 0)
			return rc;
		c->key_name = arena_strdup(r->arena, json_string_value(v));
	}
	if ((v = json_object_get(s, "availability_zone"))) {
		if ((rc = srv_validate_name(r, v, "availability_zone")) < 0)
			return rc;
		c->az = arena_strdup(r->arena, json_string_value(v));
	}
	if ((v = json_object_get(s, "description"))) {
		if (!json_is_null(v)) {
			if (!json_is_string(v) || json_string_length(v) > 255)
				return cmp_bad_field(r, "description", "Value is not a valid description");
			c->description = arena_strdup(r->arena, json_string_value(v));
		}
	} else if (!cmp_mv_ge(r, 2, 19)) {
		c->description = c->name;          /* before 2.19 Nova stores the name as description */
	}
	if ((v = json_object_get(s, "metadata"))) {
		if ((rc = srv_validate_metadata(r, v, "metadata")) < 0)
			return rc;
		c->metadata = v;
	}
	if ((v = json_object_get(s, "OS-DCF:diskConfig"))) {
		const char *d = json_string_value(v);
		if (!d || (strcmp(d, "AUTO") && strcmp(d, "MANUAL")))
			return cmp_bad_field(r, "OS-DCF:diskConfig", "Value is not one of ['AUTO', 'MANUAL']");
		c->auto_disk = !strcmp(d, "AUTO");
	}
	if ((v = json_object_get(s, "config_drive")) && srv_parse_bool(v, &c->config_drive) < 0)
		return cmp_bad_field(r, "config_drive", "Value is not a boolean");
	if (conf_bool("compute", "force_config_drive"))
		c->config_drive = true;
	if ((v = json_object_get(s, "return_reservation_id")) && srv_parse_bool(v, &c->return_resv) < 0)
		return cmp_bad_field(r, "return_reservation_id", "Value is not a boolean");
	c->min_count = 1;
	if ((rc = count_field(r, s, "min_count", &c->min_count)) < 0)
		return rc;
	c->max_count = c->min_count;
	if ((rc = count_field(r, s, "max_count", &c->max_count)) < 0)
		return rc;
	if (c->min_count > c->max_count)
		return http_error(r, ERR_BADREQ, "min_count must be <= max_count");
	if (c->max_count > 1000)
		return http_error(r, ERR_BADREQ, "max_count may not exceed 1000");
	json_t *sgs = json_object_get(s, "security_groups");
	if (sgs) {
		if (!json_is_array(sgs))
			return cmp_bad_field(r, "security_groups", "Value is not of type 'array'");
		size_t i;
		json_t *g;
		json_array_foreach(sgs, i, g) {
			if (!json_is_object(g))
				return cmp_bad_field(r, "security_groups", "Value is not of type 'object'");
			json_object_foreach(g, k, v)
				if (strcmp(k, "name"))
					return cmp_v_unexpected(r, "security_groups", k);
			json_t *n = json_object_get(g, "name");
			if (!n)
				continue;
			if ((rc = srv_validate_name(r, n, "name")) < 0)
				return rc;
			if (strcmp(json_string_value(n), "default"))
				return http_error(r, ERR_BADREQ, "Security group %s not found.", json_string_value(n));
		}
		c->sec_groups = sgs;
	}
	if ((v = json_object_get(s, "tags"))) {
		if (!json_is_array(v))
			return cmp_bad_field(r, "tags", "Value is not of type 'array'");
		if (json_array_size(v) > SRV_MAX_TAGS)
			return cmp_bad_field(r, "tags", "Value is too long");
		size_t i;
		json_t *t;
		json_array_foreach(v, i, t) {
			if (!json_is_string(t))
				return cmp_bad_field(r, "tags", "Value is not of type 'string'");
			if ((rc = srv_validate_tag(r, json_string_value(t))) < 0)
				return rc;
		}
		c->tags = v;
	}
	if ((v = json_object_get(s, "trusted_image_certificates")) && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > 50)
			return cmp_bad_field(r, "trusted_image_certificates", "Value must be a list of 1 to 50 ids");
		size_t i, j;
		json_t *t;
		json_array_foreach(v, i, t) {
			if (!json_is_string(t) || json_string_length(t) < 1)
				return cmp_bad_field(r, "trusted_image_certificates", "Value is not a non-empty string");
			for (j = 0; j < i; j++)
				if (json_equal(t, json_array_get(v, j)))
					return cmp_bad_field(r, "trusted_image_certificates", "Value has non-unique elements");
		}
		c->trusted_certs = v;
	}
	static const char *const dest[] = { "host", "hypervisor_hostname" };
	for (int i = 0; i < 2; i++) {
		const char *x = NULL;
		if ((rc = str_field(r, s, dest[i], 255, &x)) < 0)
			return rc;
		if (!x)
			continue;
		if (!*x || strspn(x, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != strlen(x))
			return cmp_bad_field(r, dest[i], arena_printf(r->arena, "Value: %s. It does not match '^[a-zA-Z0-9-._]*$'", x));
		if (i == 0)
			c->req_host = x;
		else
			c->req_node = x;
	}
	if ((v = json_object_get(s, "personality")) && (rc = parse_personality(r, v)) < 0)
		return rc;
	if ((rc = parse_bdms(r, s, c)) < 0)
		return rc;
	if ((rc = parse_networks(r, json_object_get(s, "networks"))) < 0)
		return rc;
	return parse_hints(r, body, c);
}

/* The availability zones that have at least one enabled compute host. */
static int zone_available(struct http_req *r, const char *az, bool *ok)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT (SELECT MIN(m.value) FROM cmp_aggregate_metadata m JOIN cmp_aggregate_hosts h"
			  " ON h.aggregate_id = m.aggregate_id WHERE h.host = s.host AND m.key = 'availability_zone')"
			  " FROM cmp_services s WHERE s.service_binary = 'nova-compute' AND s.disabled = 0");
	if (rc < 0)
		return cmp_db_error(r, rc, "availability zones");
	*ok = false;
	const char *def = conf_str("compute", "default_availability_zone");
	for (int i = 0; i < db_rows_count(rows) && !*ok; i++) {
		const char *z = db_text(rows, i, 0);
		*ok = !strcmp(z ? z : def, az);
	}
	db_rows_free(rows);
	return 0;
}

static int check_destination(struct http_req *r, const char *host, const char *node)
{
	struct db_rows *rows = NULL;
	int rc;
	if (host)
		rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_nodes WHERE host = ? AND (CAST(? AS VARCHAR(255)) IS NULL OR hypervisor_hostname = ?)",
			      DB_TEXT(host), DB_TEXT(node), DB_TEXT(node));
	else
		rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_nodes WHERE hypervisor_hostname = ?", DB_TEXT(node));
	if (rc < 0)
		return cmp_db_error(r, rc, "compute nodes");
	int n = db_rows_count(rows);
	db_rows_free(rows);
	if (!n)
		return http_error(r, ERR_BADREQ, "Compute host %s could not be found.", host ? host : node);
	return 0;
}

static int64_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* Image checks of _validate_flavor_image and _handle_kernel_and_ramdisk. */
int srv_check_image(struct http_req *r, const char *image_ref, const struct cmp_flavor *flavor,
		    const char *notfound, struct srv_image *out)
{
	struct compute_svc *svc = cmp_svc(r);
	json_t *im = NULL;
	char err[256] = "";
	int rc = image_lookup(svc->images, image_ref, cmp_project(r), cmp_is_admin(r), &im, err, sizeof err);
	if (rc == ERR_NOTFOUND)
		return http_error(r, ERR_BADREQ, "%s", notfound);
	if (rc < 0) {
		log_error("image lookup %s: %s", image_ref, err);
		return http_error(r, ERR_INTERNAL, "Unexpected API Error. The image service failed.");
	}
	arena_defer(r->arena, json_decref_void, im);
	const char *status = json_string_value(json_object_get(im, "status"));
	if (!status || strcmp(status, "active"))
		return http_error(r, ERR_BADREQ, "Image %s is not active.", image_ref);
	if (flavor->memory_mb < jint(im, "min_ram"))
		return http_error(r, ERR_BADREQ, "Flavor's memory is too small for requested image.");
	int64_t gi = 1LL << 30, dest = flavor->root_gb * gi;
	int64_t size = jint(im, "size"), min_disk = jint(im, "min_disk") * gi;
	if (dest) {
		if (size > dest)
			return http_error(r, ERR_BADREQ, "Flavor's disk is too small for requested image. Flavor disk is %lld"
					  " bytes, image is %lld bytes.", (long long)dest, (long long)size);
		if (min_disk > dest)
			return http_error(r, ERR_BADREQ, "Flavor's disk is smaller than the minimum size specified in image"
					  " metadata. Flavor disk is %lld bytes, minimum size is %lld bytes.",
					  (long long)dest, (long long)min_disk);
	} else if (!cmp_allowed(r, "os_compute_api:servers:create:zero_disk_flavor", NULL, NULL)) {
		return http_error(r, ERR_FORBIDDEN, "Only volume-backed servers are allowed for flavors with zero disk.");
	}
	const char *kernel = json_string_value(json_object_get(im, "kernel_id"));
	const char *ramdisk = json_string_value(json_object_get(im, "ramdisk_id"));
	if (kernel && !strcmp(kernel, "nokernel"))
		kernel = ramdisk = NULL;
	const char *ids[2] = { kernel, ramdisk };
	for (int i = 0; i < 2; i++) {
		if (!ids[i])
			continue;
		json_t *x = NULL;
		rc = image_lookup(svc->images, ids[i], cmp_project(r), cmp_is_admin(r), &x, err, sizeof err);
		if (rc == ERR_NOTFOUND)
			return http_error(r, ERR_BADREQ, "%s", notfound);
		if (rc < 0)
			return http_error(r, ERR_INTERNAL, "Unexpected API Error. The image service failed.");
		json_decref(x);
	}
	out->kernel_id = kernel ? arena_strdup(r->arena, kernel) : "";
	out->ramdisk_id = ramdisk ? arena_strdup(r->arena, ramdisk) : "";
	out->image = im;
	json_t *props = json_object();
	const char *key;
	json_t *val;
	json_object_foreach(im, key, val)
		if (json_is_string(val) || json_is_integer(val))
			json_object_set(props, key, val);
	char *txt = json_dumps(props, JSON_COMPACT);
	out->props = arena_strdup(r->arena, txt);
	free(txt);
	json_decref(props);
	return 0;
}

/* Nova's sanitize_hostname. */
static char *sanitize_hostname(struct http_req *r, const char *name)
{
	size_t n = strlen(name);
	char *out = arena_alloc(r->arena, n + 1), *w = out;
	size_t kept = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p && kept < 63; p++, kept++) {
		unsigned char ch = *p;
		if (ch >= 0x80)
			continue;              /* outside latin-1 or not a word character here */
		if (ch == ' ' || ch == '_' || ch == '.')
			ch = '-';
		if (!(ch == '-' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
			continue;
		*w++ = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	*w = 0;
	char *s = out;
	while (*s == '-' || *s == '.')
		s++;
	size_t l = strlen(s);
	while (l && (s[l - 1] == '-' || s[l - 1] == '.'))
		s[--l] = 0;
	return s;
}

static char *reservation_id(struct http_req *r)
{
	static const char chars[] = "01234567890abcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[8];
	util_random(rnd, sizeof rnd);
	char *s = arena_alloc(r->arena, 11);
	s[0] = 'r';
	s[1] = '-';
	for (int i = 0; i < 8; i++)
		s[2 + i] = chars[rnd[i] % (sizeof chars - 1)];
	return s;
}

static int check_group(struct http_req *r, struct create *c, int64_t count)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT project_id, (SELECT COUNT(*) FROM cmp_server_group_members m"
			  " JOIN cmp_instances i ON i.uuid = m.instance_uuid AND i.deleted = 0 WHERE m.group_uuid = g.uuid)"
			  " FROM cmp_server_groups g WHERE uuid = ?", DB_TEXT(c->group));
	if (rc < 0)
		return cmp_db_error(r, rc, "server group");
	bool found = db_rows_count(rows) == 1 && (cmp_is_admin(r) || !strcmp(db_text(rows, 0, 0), cmp_project(r)));
	int64_t members = found ? db_int(rows, 0, 1) : 0;
	db_rows_free(rows);
	if (!found)
		return http_error(r, ERR_BADREQ, "Instance group %s could not be found.", c->group);
	int64_t limit = -1;
	if ((rc = cmp_quota_limit(r, cmp_project(r), cmp_user(r), "server_group_members", &limit)) < 0)
		return rc;
	if (limit >= 0 && members + count > limit)
		return http_error(r, ERR_FORBIDDEN, "Quota exceeded, too many servers in group");
	return 0;
}

static int insert_one(struct http_req *r, struct create *c, const char *uuid, int64_t id, int64_t index,
		      int64_t n, const char *resv, const char *admin_pass, const char *spec)
{
	struct db_conn *db = cmp_db(r);
	int64_t now = time_now_us();
	const char *name = n > 1 ? arena_printf(r->arena, "%s-%lld", c->name, (long long)index + 1) : c->name;
	const char *host = sanitize_hostname(r, c->name);
	if (!*host)
		host = arena_printf(r->arena, "Server-%s", uuid);
	else if (n > 1)
		host = arena_printf(r->arena, "%s-%lld", host, (long long)index + 1);
	char *specs = c->flavor.extra_specs ? cmp_json_text(r, c->flavor.extra_specs) : arena_strdup(r->arena, "{}");
	int rc = db_exec(db, "INSERT INTO cmp_instances (uuid, id, project_id, user_id, display_name, display_description,"
			 " hostname, availability_zone, flavorid, flavor_name, vcpus, memory_mb, root_gb, ephemeral_gb, swap,"
			 " flavor_extra_specs, image_ref, kernel_id, ramdisk_id, key_name, key_data, user_data, config_drive,"
			 " auto_disk_config, access_ip_v4, access_ip_v6, reservation_id, launch_index, vm_state, task_state,"
			 " power_state, progress, trusted_certs, created_at, updated_at, deleted, request_spec, admin_pass,"
			 " image_props, task_request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
			 " ?, ?, ?, ?, ?, 'building', 'scheduling', 0, 0, ?, ?, ?, 0, ?, ?, ?, ?)",
			 DB_TEXT(uuid), DB_INT(id), DB_TEXT(cmp_project(r)), DB_TEXT(cmp_user(r)), DB_TEXT(name),
			 DB_TEXT(c->description), DB_TEXT(host), DB_TEXT(c->az), DB_TEXT(c->flavor.id),
			 DB_TEXT(c->flavor.name), DB_INT(c->flavor.vcpus), DB_INT(c->flavor.memory_mb),
			 DB_INT(c->flavor.root_gb), DB_INT(c->flavor.ephemeral_gb), DB_INT(c->flavor.swap), DB_TEXT(specs),
			 DB_TEXT(c->image_ref ? c->image_ref : ""), DB_TEXT(c->kernel_id), DB_TEXT(c->ramdisk_id),
			 DB_TEXT(c->key_name), DB_TEXT(c->key_data), DB_TEXT(c->user_data),
			 DB_TEXT(c->config_drive ? "True" : ""), DB_BOOL(c->auto_disk), DB_TEXT(c->access_v4),
			 DB_TEXT(c->access_v6), DB_TEXT(resv), DB_INT(index), DB_TEXT(cmp_json_text(r, c->trusted_certs)),
			 DB_INT(now), DB_INT(now), DB_TEXT(spec), DB_TEXT(admin_pass), DB_TEXT(c->image_props), DB_TEXT(r->request_id));
	if (rc < 0)
		return rc;
	const char *k;
	json_t *v;
	json_object_foreach(c->metadata, k, v) {
		rc = db_exec(db, "INSERT INTO cmp_instance_metadata (instance_uuid, key, value) VALUES (?, ?, ?)",
			     DB_TEXT(uuid), DB_TEXT(k), DB_TEXT(json_string_value(v)));
		if (rc < 0)
			return rc;
	}
	size_t i;
	json_array_foreach(c->tags, i, v) {
		rc = db_exec(db, "INSERT INTO cmp_instance_tags (instance_uuid, tag) SELECT ?, ? WHERE NOT EXISTS"
			     " (SELECT 1 FROM cmp_instance_tags WHERE instance_uuid = ? AND tag = ?)", DB_TEXT(uuid),
			     DB_TEXT(json_string_value(v)), DB_TEXT(uuid), DB_TEXT(json_string_value(v)));
		if (rc < 0)
			return rc;
	}
	if (c->group) {
		rc = db_exec(db, "INSERT INTO cmp_server_group_members (group_uuid, instance_uuid) VALUES (?, ?)",
			     DB_TEXT(c->group), DB_TEXT(uuid));
		if (rc < 0)
			return rc;
	}
	return srv_action_start(db, uuid, r->request_id, "create", cmp_project(r), cmp_user(r));
}

static char *request_spec(struct http_req *r, struct create *c, int64_t n)
{
	json_t *spec = json_object();
	if (c->group)
		json_object_set_new(spec, "group", json_string(c->group));
	if (c->hints) {
		static const char *const keep[] = { "different_host", "same_host", NULL };
		for (int i = 0; keep[i]; i++) {
			json_t *v = json_object_get(c->hints, keep[i]);
			if (json_is_string(v))
				json_object_set_new(spec, keep[i], json_pack("[O]", v));
			else if (v)
				json_object_set(spec, keep[i], v);
		}
	}
	if (c->forced_host)
		json_object_set_new(spec, "force_host", json_string(c->forced_host));
	if (c->forced_node)
		json_object_set_new(spec, "force_node", json_string(c->forced_node));
	if (c->req_host)
		json_object_set_new(spec, "requested_host", json_string(c->req_host));
	if (c->req_node)
		json_object_set_new(spec, "requested_node", json_string(c->req_node));
	if (c->az)
		json_object_set_new(spec, "availability_zone", json_string(c->az));
	json_object_set_new(spec, "num_instances", json_integer(n));
	char *s = cmp_json_text(r, spec);
	json_decref(spec);
	return s;
}

int srv_h_create(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	struct create c = { 0 };
	int rc = parse(r, body, &c);
	if (rc < 0)
		return rc;
	if ((rc = cmp_enforce(r, "os_compute_api:servers:create", NULL, NULL)) < 0)
		return rc;
	if (c.trusted_certs && (rc = cmp_enforce(r, "os_compute_api:servers:create:trusted_certs", NULL, NULL)) < 0)
		return rc;
	/* zone, zone:host, zone:host:node, zone::node */
	if (c.az && strchr(c.az, ':')) {
		char *az = arena_strdup(r->arena, c.az), *p1 = strchr(az, ':'), *p2;
		*p1++ = 0;
		p2 = strchr(p1, ':');
		if (p2) {
			*p2++ = 0;
			if (strchr(p2, ':'))
				return http_error(r, ERR_BADREQ, "Invalid input received: Unable to parse availability_zone");
			c.forced_node = *p2 ? p2 : NULL;
		}
		c.forced_host = *p1 ? p1 : NULL;
		c.az = *az ? az : NULL;
	}
	if ((c.forced_host || c.forced_node) &&
	    (rc = cmp_enforce(r, "os_compute_api:servers:create:forced_host", NULL, NULL)) < 0)
		return rc;
	if (c.req_host || c.req_node) {
		if ((rc = cmp_enforce(r, "compute:servers:create:requested_destination", NULL, NULL)) < 0)
			return rc;
		if (c.forced_host || c.forced_node)
			return http_error(r, ERR_BADREQ, "One mechanism with host and/or hypervisor_hostname and another"
					  " mechanism with zone:host:node are mutually exclusive.");
	}
	if (!c.image_ref || !*c.image_ref)
		return http_error(r, ERR_BADREQ, "Missing imageRef attribute");
	rc = cmp_flavor_get(r, c.flavor_ref, false, &c.flavor);
	if (rc == ERR_NOTFOUND || (rc == 0 && c.flavor.disabled))
		return http_error(r, ERR_BADREQ, "Flavor %s could not be found.", c.flavor_ref);
	if (rc < 0)
		return rc;
	struct srv_image si;
	if ((rc = srv_check_image(r, c.image_ref, &c.flavor, "Can not find requested image", &si)) < 0)
		return rc;
	c.kernel_id = si.kernel_id;
	c.ramdisk_id = si.ramdisk_id;
	c.image_props = si.props;
	if (c.key_name) {
		struct cmp_keypair kp;
		rc = cmp_keypair_get(r, cmp_user(r), c.key_name, &kp);
		if (rc == ERR_NOTFOUND)
			return http_error(r, ERR_BADREQ, "Invalid key_name provided.");
		if (rc < 0)
			return rc;
		c.key_data = kp.public_key;
	}
	if (c.metadata && (rc = srv_check_metadata_quota(r, cmp_project(r), (int64_t)json_object_size(c.metadata))) < 0)
		return rc;
	if (c.az && !c.forced_host) {
		bool ok = false;
		if ((rc = zone_available(r, c.az, &ok)) < 0)
			return rc;
		if (!ok)
			return http_error(r, ERR_BADREQ, "The requested availability zone is not available");
	}
	if ((c.forced_host || c.forced_node) && (rc = check_destination(r, c.forced_host, c.forced_node)) < 0)
		return rc;
	if ((c.req_host || c.req_node) && (rc = check_destination(r, c.req_host, c.req_node)) < 0)
		return rc;
	char generated[13];
	const char *admin_pass = c.admin_pass;
	if (!admin_pass) {
		srv_password(generated);
		admin_pass = generated;
	}
	const char *resv = reservation_id(r);

	/* the transaction: ids (serialises creators), quotas from the rows, the rows */
	if ((rc = cmp_begin(r)) < 0)
		return rc;
	int64_t first_id = 0, n = c.max_count;
	struct db_conn *db = cmp_db(r);
	if ((rc = srv_next_id(db, "instances", 0, &first_id)) < 0)
		return cmp_db_error(r, rc, "instance ids");
	if ((rc = srv_quota_instances(r, cmp_project(r), cmp_user(r), &c.flavor, c.min_count, c.max_count, &n)) < 0) {
		cmp_rollback(r);
		return rc;
	}
	if (c.group && (rc = check_group(r, &c, n)) < 0) {
		cmp_rollback(r);
		return rc;
	}
	if ((rc = srv_next_id(db, "instances", n, &first_id)) < 0)
		return cmp_db_error(r, rc, "instance ids");
	char *spec = request_spec(r, &c, n);
	char (*uuids)[37] = arena_alloc(r->arena, sizeof *uuids * (size_t)n);
	for (int64_t i = 0; i < n; i++) {
		uuid_dashed(uuids[i]);
		if ((rc = insert_one(r, &c, uuids[i], first_id + i, i, n, resv, admin_pass, spec)) < 0)
			return cmp_db_error(r, rc, "instance insert");
	}
	if ((rc = cmp_commit(r)) < 0)
		return rc;
	cmp_sched_wake(cmp_svc(r));

	if (c.return_resv)
		return http_reply_json(r, 202, json_pack("{s:s}", "reservation_id", resv));
	json_t *sg = c.sec_groups ? json_deep_copy(c.sec_groups) : json_pack("[{s:s}]", "name", "default");
	json_t *server = json_pack("{s:s,s:o,s:s,s:o,s:s}", "id", uuids[0], "links", cmp_links(r, "servers", uuids[0]),
				   "OS-DCF:diskConfig", c.auto_disk ? "AUTO" : "MANUAL", "security_groups", sg,
				   "adminPass", admin_pass);
	http_add_header(r, "Location", arena_printf(r->arena, "%s/servers/%s", cmp_url_v21(r), uuids[0]));
	return http_reply_json(r, 202, json_pack("{s:o}", "server", server));
}
