/* aggregates.c — /os-aggregates: list, create, show, update (name, availability zone), delete
 * (only when empty), and the actions add_host, remove_host and set_metadata (a null value deletes
 * a key). A host is in at most one availability zone; a zone changes only while its hosts run no
 * instances. Membership is mirrored into placement's provider aggregates. uuid shown at 2.41. */
#include "compute/hosts.h"
#include "compute/valid.h"
#include <stdio.h>
#include <string.h>

struct agg {
	int64_t id, created_at, updated_at;
	const char *uuid, *name;
	json_t *hosts, *metadata;          /* freed with the request */
};

static int load_agg(struct http_req *r, const char *idtext, struct agg *a)
{
	int64_t id;
	if (parse_int64(idtext, INT64_MIN, INT64_MAX, &id))
		return http_error(r, ERR_BADREQ, "Invalid input for field/attribute id. Value: %s. "
				  "id must be an integer", idtext);
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT id, uuid, name, created_at, updated_at FROM cmp_aggregates"
			  " WHERE id = ?", DB_INT(id));
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregate");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Aggregate %s could not be found.", idtext);
	}
	*a = (struct agg){
		.id = id,
		.uuid = arena_strdup(r->arena, db_text(rows, 0, 1)),
		.name = arena_strdup(r->arena, db_text(rows, 0, 2)),
		.created_at = db_int(rows, 0, 3),
		.updated_at = db_isnull(rows, 0, 4) ? 0 : db_int(rows, 0, 4),
		.hosts = json_array(),
		.metadata = json_object(),
	};
	arena_defer(r->arena, json_decref_void, a->hosts);
	arena_defer(r->arena, json_decref_void, a->metadata);
	db_rows_free(rows);
	rc = db_query(cmp_db(r), &rows, "SELECT host FROM cmp_aggregate_hosts WHERE aggregate_id = ? ORDER BY host",
		      DB_INT(id));
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregate hosts");
	for (int i = 0; i < db_rows_count(rows); i++)
		json_array_append_new(a->hosts, json_string(db_text(rows, i, 0)));
	db_rows_free(rows);
	rc = db_query(cmp_db(r), &rows, "SELECT key, value FROM cmp_aggregate_metadata WHERE aggregate_id = ?"
		      " ORDER BY key", DB_INT(id));
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregate metadata");
	for (int i = 0; i < db_rows_count(rows); i++)
		json_object_set_new(a->metadata, db_text(rows, i, 0), json_string(db_text(rows, i, 1)));
	db_rows_free(rows);
	return 0;
}

static json_t *agg_json(struct http_req *r, const struct agg *a, bool full)
{
	json_t *az = json_object_get(a->metadata, "availability_zone");
	json_t *o = json_pack("{s:I,s:s,s:O,s:o,s:o,s:b,s:n}", "id", (json_int_t)a->id, "name", a->name,
			      "availability_zone", az ? az : json_null(), "created_at", cmp_time_json(a->created_at),
			      "updated_at", cmp_time_json(a->updated_at), "deleted", 0, "deleted_at");
	if (full) {
		json_object_set(o, "hosts", a->hosts);
		json_object_set(o, "metadata", a->metadata);
	}
	if (cmp_mv_ge(r, 2, 41))
		json_object_set_new(o, "uuid", json_string(a->uuid));
	return o;
}

static int reply_agg(struct http_req *r, const char *idtext)
{
	struct agg a;
	int rc = load_agg(r, idtext, &a);
	if (rc)
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "aggregate", agg_json(r, &a, true)));
}

/* Ends a change to aggregate id (idtext as in the path): bumps updated_at, commits, replies with
 * the aggregate; what names the step in a database error. */
static int touch_commit_reply(struct http_req *r, int64_t id, const char *idtext, const char *what)
{
	int rc = db_exec(cmp_db(r), "UPDATE cmp_aggregates SET updated_at = ? WHERE id = ?", DB_INT(time_now_us()),
			 DB_INT(id));
	if (rc < 0)
		return cmp_db_error(r, rc, what);
	if ((rc = cmp_commit(r)))
		return rc;
	return reply_agg(r, idtext);
}

int cmp_h_agg_index(struct http_req *r)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT id FROM cmp_aggregates ORDER BY id");
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregates");
	json_t *arr = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct agg a;
		if ((rc = load_agg(r, db_text(rows, i, 0), &a))) {
			json_decref(arr);
			db_rows_free(rows);
			return rc;
		}
		json_array_append_new(arr, agg_json(r, &a, true));
	}
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "aggregates", arr));
}

int cmp_h_agg_show(struct http_req *r)
{
	return reply_agg(r, http_param(r, "id"));
}

/* "availability_zone": an az name or null. */
static int check_az(struct http_req *r, const json_t *v)
{
	if (!v || json_is_null(v))
		return 0;
	return cmp_v_az_name(r, v, "availability_zone");
}

/* Nova's is_safe_to_update_az: the zone must be non-empty, no host of hosts (an array) may be
 * in another aggregate with another zone, and (check_instances) hosts changing zone must run no
 * instances. code is the status for a conflict (409 for add_host, 400 otherwise). */
static int safe_zone(struct http_req *r, const struct agg *a, const json_t *zone, const json_t *hosts,
		     const char *what, int code, bool check_instances)
{
	const char *z = json_string_value(zone);
	if (!z || !*z)
		return http_error(r, ERR_BADREQ, "Cannot %s %lld. Reason: Aggregate %s does not support empty "
				  "named availability zone.", what, (long long)a->id, a->name);
	size_t i;
	json_t *h;
	json_array_foreach(hosts, i, h) {
		struct db_rows *rows = NULL;
		int rc = db_query(cmp_db(r), &rows, "SELECT m.value FROM cmp_aggregate_hosts ah JOIN"
				  " cmp_aggregate_metadata m ON m.aggregate_id = ah.aggregate_id AND m.key ="
				  " 'availability_zone' WHERE ah.host = ? AND ah.aggregate_id <> ? AND m.value <> ?",
				  DB_TEXT(json_string_value(h)), DB_INT(a->id), DB_TEXT(z));
		if (rc < 0)
			return cmp_db_error(r, rc, "aggregate zones");
		if (db_rows_count(rows)) {
			const char *other = arena_strdup(r->arena, db_text(rows, 0, 0));
			db_rows_free(rows);
			return http_error(r, code, "Cannot %s %lld. Reason: One or more hosts already in "
					  "availability zone(s) ['%s'].", what, (long long)a->id, other);
		}
		db_rows_free(rows);
	}
	const char *cur = json_string_value(json_object_get(a->metadata, "availability_zone"));
	if (check_instances && !(cur && !strcmp(cur, z))) {
		json_array_foreach(hosts, i, h) {
			struct db_rows *rows = NULL;
			int rc = db_query(cmp_db(r), &rows, "SELECT COUNT(*) FROM cmp_instances WHERE host = ?"
					  " AND deleted = 0", DB_TEXT(json_string_value(h)));
			if (rc < 0)
				return cmp_db_error(r, rc, "aggregate instances");
			int64_t n = db_int(rows, 0, 0);
			db_rows_free(rows);
			if (n)
				return http_error(r, code, "Cannot %s %lld. Reason: One or more hosts contain "
						  "instances in this zone.", what, (long long)a->id);
		}
	}
	return 0;
}

static int set_meta(struct http_req *r, int64_t id, const char *key, const json_t *v)
{
	int rc = db_exec(cmp_db(r), "DELETE FROM cmp_aggregate_metadata WHERE aggregate_id = ? AND key = ?",
			 DB_INT(id), DB_TEXT(key));
	if (rc >= 0 && json_is_string(v))
		rc = db_exec(cmp_db(r), "INSERT INTO cmp_aggregate_metadata (aggregate_id, key, value) VALUES (?, ?, ?)",
			     DB_INT(id), DB_TEXT(key), DB_TEXT(json_string_value(v)));
	return rc < 0 ? cmp_db_error(r, rc, "aggregate metadata") : 0;
}

static int name_taken(struct http_req *r, const char *name, int64_t except)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_aggregates WHERE name = ? AND id <> ?",
			  DB_TEXT(name), DB_INT(except));
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregate name");
	int n = db_rows_count(rows);
	db_rows_free(rows);
	return n ? http_error(r, ERR_CONFLICT, "Aggregate %s already exists.", name) : 0;
}

int cmp_h_agg_create(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	static const char *const top[] = { "aggregate", NULL }, *const fields[] = { "name", "availability_zone", NULL };
	json_t *ag = json_object_get(body, "aggregate");
	if (cmp_v_required(r, body, NULL, "aggregate") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, ag, "aggregate") || cmp_v_only(r, ag, "aggregate", fields) ||
	    cmp_v_required(r, ag, "aggregate", "name") || cmp_v_name(r, json_object_get(ag, "name"), "name", false) ||
	    check_az(r, json_object_get(ag, "availability_zone")))
		return ERR_BADREQ;
	const char *name = json_string_value(json_object_get(ag, "name"));
	const json_t *az = json_object_get(ag, "availability_zone");
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	if ((rc = name_taken(r, name, -1))) {
		cmp_rollback(r);
		return rc;
	}
	int64_t id;
	if ((rc = cmp_next_id(r, "aggregates", &id)))
		return rc;
	char uuid[37];
	uuid_dashed(uuid);
	rc = db_exec(cmp_db(r), "INSERT INTO cmp_aggregates (id, uuid, name, created_at) VALUES (?, ?, ?, ?)",
		     DB_INT(id), DB_TEXT(uuid), DB_TEXT(name), DB_INT(time_now_us()));
	if (rc == ERR_CONFLICT) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Aggregate %s already exists.", name);
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregate create");
	if (json_is_string(az) && (rc = set_meta(r, id, "availability_zone", az)))
		return rc;
	struct agg a;
	char idtext[24];
	snprintf(idtext, sizeof idtext, "%lld", (long long)id);
	if ((rc = load_agg(r, idtext, &a))) {
		cmp_rollback(r);
		return rc;
	}
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_json(r, 200, json_pack("{s:o}", "aggregate", agg_json(r, &a, false)));
}

int cmp_h_agg_update(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	static const char *const top[] = { "aggregate", NULL }, *const fields[] = { "name", "availability_zone", NULL };
	json_t *ag = json_object_get(body, "aggregate"), *v;
	if (cmp_v_required(r, body, NULL, "aggregate") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, ag, "aggregate") || cmp_v_only(r, ag, "aggregate", fields))
		return ERR_BADREQ;
	if (!json_object_get(ag, "name") && !json_object_get(ag, "availability_zone"))
		return cmp_bad_field(r, "aggregate", arena_printf(r->arena, "Value: %s. %s is not valid under any "
				     "of the given schemas", cmp_v_repr(r, ag), cmp_v_repr(r, ag)));
	if (((v = json_object_get(ag, "name")) && cmp_v_name(r, v, "name", true)) ||
	    check_az(r, json_object_get(ag, "availability_zone")))
		return ERR_BADREQ;
	struct agg a;
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	const char *idtext = http_param(r, "id");
	if ((rc = load_agg(r, idtext, &a)))
		goto fail;
	if ((v = json_object_get(ag, "name"))) {
		const char *name = json_string_value(v);
		if ((rc = name_taken(r, name, a.id)))
			goto fail;
		rc = db_exec(cmp_db(r), "UPDATE cmp_aggregates SET name = ? WHERE id = ?", DB_TEXT(name), DB_INT(a.id));
		if (rc < 0)
			return cmp_db_error(r, rc, "aggregate update");
	}
	if ((v = json_object_get(ag, "availability_zone"))) {
		if ((rc = safe_zone(r, &a, v, a.hosts, "update aggregate", ERR_BADREQ, true)) ||
		    (rc = set_meta(r, a.id, "availability_zone", v)))
			goto fail;
	}
	return touch_commit_reply(r, a.id, idtext, "aggregate update");
fail:
	cmp_rollback(r);
	return rc;
}

int cmp_h_agg_delete(struct http_req *r)
{
	struct agg a;
	int rc = cmp_begin(r);
	if (rc)
		return rc;
	if ((rc = load_agg(r, http_param(r, "id"), &a))) {
		cmp_rollback(r);
		return rc;
	}
	if (json_array_size(a.hosts)) {
		cmp_rollback(r);
		return http_error(r, ERR_BADREQ, "Cannot remove host from aggregate %lld. Reason: Host aggregate is "
				  "not empty.", (long long)a.id);
	}
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_aggregate_metadata WHERE aggregate_id = ?", DB_INT(a.id));
	if (rc >= 0)
		rc = db_exec(cmp_db(r), "DELETE FROM cmp_aggregates WHERE id = ?", DB_INT(a.id));
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregate delete");
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_empty(r, 200);
}

/* {"ACTION": {"host": "..."}}: the host, validated. */
static int action_host(struct http_req *r, const json_t *body, const char *action, const char **host)
{
	static const char *const fields[] = { "host", NULL };
	const char *top[] = { action, NULL };
	json_t *a = json_object_get(body, action);
	if (cmp_v_only(r, body, NULL, top) || cmp_v_object(r, a, action) || cmp_v_only(r, a, action, fields) ||
	    cmp_v_required(r, a, action, "host") || cmp_v_fqdn(r, json_object_get(a, "host"), "host"))
		return ERR_BADREQ;
	*host = json_string_value(json_object_get(a, "host"));
	return 0;
}

static int compute_host_exists(struct http_req *r, const char *host, bool *exists)
{
	struct db_rows *rows = NULL;
	int rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_services WHERE host = ? AND service_binary ="
			  " 'nova-compute'", DB_TEXT(host));
	if (rc < 0)
		return cmp_db_error(r, rc, "compute host");
	*exists = db_rows_count(rows) > 0;
	db_rows_free(rows);
	return 0;
}

/* What add_host and remove_host do first: the policy rule, the body's host, the aggregate id of
 * the path; then a transaction, and whether that compute host exists. 0 or an error recorded. */
static int host_action_begin(struct http_req *r, const json_t *body, const char *rule, const char *action,
			     const char **host, int64_t *id, bool *exists)
{
	const char *idtext = http_param(r, "id");
	int rc = cmp_enforce(r, rule, NULL, NULL);
	if (rc || (rc = action_host(r, body, action, host)))
		return rc;
	if (parse_int64(idtext, INT64_MIN, INT64_MAX, id))
		return http_error(r, ERR_BADREQ, "Invalid input for field/attribute id. Value: %s. "
				  "id must be an integer", idtext);
	if ((rc = cmp_begin(r)))
		return rc;
	return compute_host_exists(r, *host, exists);
}

static int add_host(struct http_req *r, const json_t *body)
{
	const char *host, *idtext = http_param(r, "id");
	int64_t id;
	bool exists;
	int rc = host_action_begin(r, body, "os_compute_api:os-aggregates:add_host", "add_host", &host, &id, &exists);
	if (rc)
		return rc;
	struct agg a;
	if (!exists) {
		rc = http_error(r, ERR_NOTFOUND, "Compute host %s could not be found.", host);
		goto fail;
	}
	if ((rc = load_agg(r, idtext, &a)))
		goto fail;
	json_t *zone = json_object_get(a.metadata, "availability_zone");
	if (zone) {
		json_t *hosts = json_pack("[s]", host);
		rc = safe_zone(r, &a, zone, hosts, "add host to aggregate", ERR_CONFLICT, false);
		json_decref(hosts);
		if (rc)
			goto fail;
	}
	rc = db_exec(cmp_db(r), "INSERT INTO cmp_aggregate_hosts (aggregate_id, host) VALUES (?, ?)",
		     DB_INT(a.id), DB_TEXT(host));
	if (rc == ERR_CONFLICT) {
		rc = http_error(r, ERR_CONFLICT, "Aggregate %s already has host %s.", idtext, host);
		goto fail;
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregate add host");
	if ((rc = cmp_host_sync_placement(r, host)) || (rc = cmp_commit(r)))
		return rc;
	return reply_agg(r, idtext);
fail:
	cmp_rollback(r);
	return rc;
}

static int remove_host(struct http_req *r, const json_t *body)
{
	const char *host, *idtext = http_param(r, "id");
	int64_t id;
	bool exists;
	int rc = host_action_begin(r, body, "os_compute_api:os-aggregates:remove_host", "remove_host", &host, &id, &exists);
	if (rc)
		return rc;
	rc = exists ? db_exec(cmp_db(r), "DELETE FROM cmp_aggregate_hosts WHERE aggregate_id = ? AND host = ?",
			      DB_INT(id), DB_TEXT(host)) : 0;
	if (rc < 0)
		return cmp_db_error(r, rc, "aggregate remove host");
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Cannot remove host %s in aggregate %s", host, idtext);
	}
	if ((rc = cmp_host_sync_placement(r, host)) || (rc = cmp_commit(r)))
		return rc;
	return reply_agg(r, idtext);
}

static int set_metadata(struct http_req *r, const json_t *body)
{
	int rc = cmp_enforce(r, "os_compute_api:os-aggregates:set_metadata", NULL, NULL);
	if (rc)
		return rc;
	static const char *const top[] = { "set_metadata", NULL }, *const fields[] = { "metadata", NULL };
	json_t *sm = json_object_get(body, "set_metadata"), *md, *v;
	if (cmp_v_only(r, body, NULL, top) || cmp_v_object(r, sm, "set_metadata") ||
	    cmp_v_only(r, sm, "set_metadata", fields) || cmp_v_required(r, sm, "set_metadata", "metadata") ||
	    cmp_v_object(r, (md = json_object_get(sm, "metadata")), "metadata"))
		return ERR_BADREQ;
	const char *k;
	json_object_foreach(md, k, v) {
		size_t n = strlen(k);
		if (n < 1 || n > 255 || strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:. ") != n)
			return cmp_v_unexpected(r, "metadata", k);
		if (cmp_v_string(r, v, k, 0, 255, true))
			return ERR_BADREQ;
	}
	const char *idtext = http_param(r, "id");
	struct agg a;
	if ((rc = cmp_begin(r)))
		return rc;
	if ((rc = load_agg(r, idtext, &a)))
		goto fail;
	if ((v = json_object_get(md, "availability_zone")) &&
	    (rc = safe_zone(r, &a, v, a.hosts, "update metadata of aggregate", ERR_BADREQ, true)))
		goto fail;
	json_object_foreach(md, k, v)
		if ((rc = set_meta(r, a.id, k, v)))
			return rc;
	return touch_commit_reply(r, a.id, idtext, "aggregate metadata");
fail:
	cmp_rollback(r);
	return rc;
}

int cmp_h_agg_action(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	if (json_object_get(body, "add_host"))
		return add_host(r, body);
	if (json_object_get(body, "remove_host"))
		return remove_host(r, body);
	if (json_object_get(body, "set_metadata"))
		return set_metadata(r, body);
	return http_error(r, ERR_BADREQ, "There is no such action: %s",
			  json_object_size(body) ? json_object_iter_key(json_object_iter(body)) : "None");
}
