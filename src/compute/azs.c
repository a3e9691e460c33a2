/* azs.c — /os-availability-zone and /detail: the zones of the cloud's services (a compute host's
 * zone comes from its aggregates' availability_zone metadata, else [compute]
 * default_availability_zone; other services are "internal", which only the detail shows). A zone
 * with an enabled service is available; one whose services are all disabled is not. */
#include "compute/hosts.h"
#include <stdlib.h>
#include <string.h>

/* Loads every service (API services excluded) with its zone; *n services. NULL on error. */
static struct cmp_service *load_services(struct http_req *r, int *n)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT " CMP_SERVICE_COLUMNS " FROM cmp_services s"
			  " WHERE s.service_binary NOT IN ('nova-osapi_compute', 'nova-metadata') ORDER BY s.host, s.id");
	if (rc < 0) {
		cmp_db_error(r, rc, "services");
		return NULL;
	}
	json_t *zones = cmp_host_zones(r);
	if (!zones) {
		db_rows_free(rows);
		return NULL;
	}
	*n = db_rows_count(rows);
	struct cmp_service *s = arena_alloc(r->arena, sizeof *s * (size_t)(*n + 1));
	for (int i = 0; i < *n; i++) {
		cmp_service_from_row(r, rows, i, &s[i]);
		s[i].zone = arena_strdup(r->arena, cmp_service_zone(zones, &s[i]));
	}
	json_decref(zones);
	db_rows_free(rows);
	return s;
}

/* Zone names in sorted order, split into available (some service enabled) and not. */
static void zone_sets(const struct cmp_service *s, int n, json_t *avail, json_t *unavail)
{
	for (int i = 0; i < n; i++)
		if (!s[i].disabled)
			json_object_set_new(avail, s[i].zone, json_true());
	for (int i = 0; i < n; i++)
		if (s[i].disabled && !json_object_get(avail, s[i].zone))
			json_object_set_new(unavail, s[i].zone, json_false());
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted (arena). */
static const char **sorted_keys(struct http_req *r, json_t *obj, size_t *n)
{
	*n = json_object_size(obj);
	const char **k = arena_alloc(r->arena, sizeof *k * (*n + 1));
	size_t i = 0;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
		k[i++] = key;
	qsort(k, *n, sizeof *k, cmp_key);
	return k;
}

int cmp_h_az_index(struct http_req *r)
{
	int n = 0;
	struct cmp_service *s = load_services(r, &n);
	if (!s)
		return ERR_INTERNAL;
	json_t *avail = json_object(), *unavail = json_object(), *arr = json_array();
	zone_sets(s, n, avail, unavail);
	json_t *sets[2] = { avail, unavail };
	for (int k = 0; k < 2; k++) {
		size_t nk;
		const char **keys = sorted_keys(r, sets[k], &nk);
		for (size_t i = 0; i < nk; i++)
			if (strcmp(keys[i], "internal"))
				json_array_append_new(arr, json_pack("{s:s,s:{s:b},s:n}", "zoneName", keys[i],
								     "zoneState", "available", k == 0, "hosts"));
	}
	json_decref(avail);
	json_decref(unavail);
	return http_reply_json(r, 200, json_pack("{s:o}", "availabilityZoneInfo", arr));
}

int cmp_h_az_detail(struct http_req *r)
{
	int n = 0;
	struct cmp_service *s = load_services(r, &n);
	if (!s)
		return ERR_INTERNAL;
	json_t *avail = json_object(), *unavail = json_object(), *arr = json_array();
	zone_sets(s, n, avail, unavail);
	size_t nk;
	const char **keys = sorted_keys(r, avail, &nk);
	for (size_t i = 0; i < nk; i++) {
		json_t *hosts = json_object();
		for (int j = 0; j < n; j++) {
			if (s[j].disabled || strcmp(s[j].zone, keys[i]))
				continue;
			json_t *h = json_object_get(hosts, s[j].host);
			if (!h) {
				h = json_object();
				json_object_set_new(hosts, s[j].host, h);
			}
			json_object_set_new(h, s[j].binary, json_pack("{s:b,s:b,s:o}", "available", s[j].up,
								      "active", !s[j].disabled, "updated_at",
								      cmp_time_json(s[j].updated_at)));
		}
		json_array_append_new(arr, json_pack("{s:s,s:{s:b},s:o}", "zoneName", keys[i], "zoneState",
						     "available", 1, "hosts", hosts));
	}
	keys = sorted_keys(r, unavail, &nk);
	for (size_t i = 0; i < nk; i++)
		json_array_append_new(arr, json_pack("{s:s,s:{s:b},s:n}", "zoneName", keys[i], "zoneState",
						     "available", 0, "hosts"));
	json_decref(avail);
	json_decref(unavail);
	return http_reply_json(r, 200, json_pack("{s:o}", "availabilityZoneInfo", arr));
}
