/* metadef_namespaces.c — /v2/metadefs/namespaces: list (visibility, resource types, keyset
 * pagination by namespace name with first/next links), create (with resource-type
 * associations, objects, properties and tags in one transaction), show (with everything in
 * it, property names prefixed for ?resource_type=), update (a full replacement of the
 * namespace's own attributes) and delete (refused while protected; takes its contents). */
#include "image/metadefs.h"
#include "core/conf.h"
#include <stdio.h>
#include <string.h>

#define MAX_ARGS 64
#define MAX_TYPES 32          /* resource types a list filter names (more are ignored) */

static const char *const ns_readonly[] = { "self", "schema", "created_at", "updated_at", NULL };

/* Moves self and schema to the end of o (Glance's attribute order). */
static void links_last(json_t *o)
{
	json_t *self = json_incref(json_object_get(o, "self"));
	json_t *schema = json_incref(json_object_get(o, "schema"));
	json_object_del(o, "self");
	json_object_del(o, "schema");
	json_object_set_new(o, "self", self);
	json_object_set_new(o, "schema", schema);
}

/* Sets o[key] to v when v has members; takes v. */
static void set_nonempty(json_t *o, const char *key, json_t *v)
{
	if ((json_is_array(v) && json_array_size(v)) || (json_is_object(v) && json_object_size(v)))
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

/* --- links --- */

struct query_echo {
	struct http_req *r;
	json_t *pairs;      /* [[name, value], ...]: a dict of the query, first position, last value */
};

static int echo_param(void *ctx, const char *name, const char *value)
{
	struct query_echo *q = ctx;
	if (!strcmp(name, "marker"))
		return 0;
	size_t i;
	json_t *p;
	json_array_foreach(q->pairs, i, p) {
		if (!strcmp(json_string_value(json_array_get(p, 0)), name)) {
			json_array_set_new(p, 1, json_string(value ? value : ""));
			return 0;
		}
	}
	json_array_append_new(q->pairs, json_pack("[s,s]", name, value ? value : ""));
	return 0;
}

/* Python's urllib.parse.quote_plus. */
static void quote_plus(char *out, size_t cap, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char enc[4];
		size_t n = 1;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-' || c == '~') {
			enc[0] = (char)c;
		} else if (c == ' ') {
			enc[0] = '+';
		} else {
			enc[0] = '%';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			n = 3;
		}
		if (*len + n + 1 > cap)
			return;
		memcpy(out + *len, enc, n);
		*len += n;
		out[*len] = 0;
	}
}

static const char *urlencode(struct http_req *r, const json_t *pairs, const char *marker)
{
	size_t cap = 64, len = 0;
	size_t i;
	json_t *p;
	json_array_foreach(pairs, i, p)
		cap += 3 * (json_string_length(json_array_get(p, 0)) + json_string_length(json_array_get(p, 1))) + 2;
	if (marker)
		cap += 3 * strlen(marker) + 8;
	char *out = arena_alloc(r->arena, cap);
	json_array_foreach(pairs, i, p) {
		if (len)
			out[len++] = '&';
		quote_plus(out, cap, &len, json_string_value(json_array_get(p, 0)));
		out[len++] = '=';
		quote_plus(out, cap, &len, json_string_value(json_array_get(p, 1)));
	}
	if (marker) {
		if (len)
			out[len++] = '&';
		memcpy(out + len, "marker=", 7);
		len += 7;
		quote_plus(out, cap, &len, marker);
	}
	out[len] = 0;
	return out;
}

/* --- list --- */

static const struct sort_col { const char *name, *expr; bool is_int; } sort_cols[] = {
	{ "namespace", "namespace", false }, { "display_name", "COALESCE(display_name, '')", false },
	{ "description", "COALESCE(description, '')", false }, { "visibility", "visibility", false },
	{ "owner", "owner", false }, { "protected", "protected", true },
	{ "created_at", "created_at", true }, { "updated_at", "updated_at", true }, { "id", "id", false },
};

struct sqlq {
	char text[4096];
	size_t len;
	struct db_arg args[MAX_ARGS + 1];
	int nargs;
};

static void add(struct sqlq *q, const char *s)
{
	int n = snprintf(q->text + q->len, sizeof q->text - q->len, "%s", s);
	if (n > 0)
		q->len = q->len + (size_t)n < sizeof q->text ? q->len + (size_t)n : sizeof q->text - 1;
}

static void arg(struct sqlq *q, struct db_arg a)
{
	if (q->nargs < MAX_ARGS)
		q->args[q->nargs++] = a;
}

/* The marker row's sort values (text), after Glance's visibility check on it. */
static int marker_values(struct http_req *r, const char *marker, const struct sort_col *k1,
			 const char **v1, const char **created, const char **id)
{
	struct mdef_ns *ns;
	int rc = mdef_ns_load(r, marker, MDEF_NF_MARKER, &ns);
	if (rc < 0)
		return rc;
	struct db_rows *rows;
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s, created_at, id FROM img_metadef_namespaces WHERE id = ?",
		 k1->expr);
	rc = db_query(img_db(r), &rows, sql, DB_TEXT(ns->id));
	if (rc < 0)
		return img_db_error(r, rc, "marker");
	if (!db_rows_count(rows)) {
		db_rows_free(rows);
		return http_error(r, ERR_NOTFOUND, "Metadata definition namespace=%s was not found.", marker);
	}
	*v1 = arena_strdup(r->arena, db_text(rows, 0, 0));
	*created = arena_strdup(r->arena, db_text(rows, 0, 1));
	*id = arena_strdup(r->arena, db_text(rows, 0, 2));
	db_rows_free(rows);
	return 0;
}

static struct db_arg typed(const char *v, bool is_int)
{
	if (is_int) {
		int64_t n = 0;
		parse_int64(v, INT64_MIN, INT64_MAX, &n);
		return DB_INT(n);
	}
	return DB_TEXT(v);
}

int mdef_ns_list(struct http_req *r)
{
	static const char *const vis[] = { "public", "private", NULL };
	bool desc;
	int64_t limit;
	int rc = mdef_list_params(r, vis, true, &desc, &limit);
	if (rc < 0)
		return rc;
	int64_t max = conf_int("image", "list_limit_max");
	if (limit < 0)
		limit = conf_int("image", "list_limit_default");
	if (max > 0 && limit > max)
		limit = max;
	const char *sort_key = http_query(r, "sort_key");
	if (!sort_key)
		sort_key = "created_at";
	const struct sort_col *k1 = NULL;
	for (size_t i = 0; i < sizeof sort_cols / sizeof sort_cols[0]; i++)
		if (!strcmp(sort_cols[i].name, sort_key))
			k1 = &sort_cols[i];
	if (!k1)
		return http_error(r, ERR_BADREQ, "Invalid sort key: %s", sort_key);
	if (!mdef_allowed(r, "get_metadef_namespaces", NULL))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete get_metadef_namespaces action.");
	if (!mdef_allowed(r, "list_metadef_resource_types", NULL))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete list_metadef_resource_types action.");
	/* created_at and id are always the last keys, as in Glance */
	bool single = !strcmp(k1->name, "created_at") || !strcmp(k1->name, "id");
	const char *dir = desc ? "DESC" : "ASC", *op = desc ? "<" : ">";

	struct sqlq *q = arena_alloc(r->arena, sizeof *q);
	add(q, "SELECT " MDEF_NS_COLUMNS " FROM img_metadef_namespaces WHERE 1 = 1");
	if (!img_is_admin(r)) {
		const char *proj = img_caller_project(r);
		if (*proj) {
			add(q, " AND (owner = ? OR visibility = 'public')");
			arg(q, DB_TEXT(proj));
		} else {
			add(q, " AND visibility = 'public'");
		}
	}
	const char *v = http_query(r, "visibility");
	if (v && *v) {
		add(q, " AND visibility = ?");
		arg(q, DB_TEXT(v));
	}
	const char *types = http_query(r, "resource_types");
	if (types) {
		add(q, " AND id IN (SELECT a.namespace_id FROM img_metadef_ns_resource_types a"
		       " JOIN img_metadef_resource_types t ON t.id = a.resource_type_id WHERE t.name IN (");
		char *list = arena_strdup(r->arena, types), *save = NULL;
		int n = 0;
		for (char *t = strtok_r(list, ",", &save); t && n < MAX_TYPES; t = strtok_r(NULL, ",", &save)) {
			add(q, n++ ? ", ?" : "?");
			arg(q, DB_TEXT(t));
		}
		if (!n)
			add(q, "NULL");
		add(q, "))");
	}
	const char *marker = http_query(r, "marker");
	if (marker) {
		const char *m1 = NULL, *mc = NULL, *mid = NULL;
		if ((rc = marker_values(r, marker, k1, &m1, &mc, &mid)) < 0)
			return rc;
		char buf[512];
		if (single) {
			snprintf(buf, sizeof buf, " AND (created_at %s ? OR (created_at = ? AND id %s ?))", op, op);
			add(q, buf);
			arg(q, typed(mc, true));
			arg(q, typed(mc, true));
			arg(q, DB_TEXT(mid));
		} else {
			snprintf(buf, sizeof buf, " AND (%s %s ? OR (%s = ? AND created_at %s ?)"
				 " OR (%s = ? AND created_at = ? AND id %s ?))",
				 k1->expr, op, k1->expr, op, k1->expr, op);
			add(q, buf);
			arg(q, typed(m1, k1->is_int));
			arg(q, typed(m1, k1->is_int));
			arg(q, typed(mc, true));
			arg(q, typed(m1, k1->is_int));
			arg(q, typed(mc, true));
			arg(q, DB_TEXT(mid));
		}
	}
	char order[256];
	if (single)
		snprintf(order, sizeof order, " ORDER BY created_at %s, id %s LIMIT ?", dir, dir);
	else
		snprintf(order, sizeof order, " ORDER BY %s %s, created_at %s, id %s LIMIT ?",
			 k1->expr, dir, dir, dir);
	add(q, order);
	arg(q, DB_INT(limit));
	q->args[q->nargs] = DB_END_;

	struct db_rows *rows;
	rc = db_query_a(img_db(r), &rows, q->text, q->args);
	if (rc < 0)
		return img_db_error(r, rc, "namespaces");
	/* the namespaces the caller may get, then their associations in one query */
	int n = db_rows_count(rows), shown = 0;
	struct mdef_ns *page = arena_alloc(r->arena, (size_t)(n ? n : 1) * sizeof *page);
	const char **ids = arena_alloc(r->arena, (size_t)(n ? n : 1) * sizeof *ids);
	for (int i = 0; i < n; i++) {
		mdef_ns_from_row(r, rows, i, &page[shown]);
		if (mdef_allowed(r, "get_metadef_namespace", &page[shown])) {
			ids[shown] = page[shown].id;
			shown++;
		}
	}
	db_rows_free(rows);
	json_t *rtas = mdef_rtas_render_many(r, ids, shown);
	if (!rtas)
		return ERR_INTERNAL;
	json_t *list = json_array();
	for (int i = 0; i < shown; i++) {
		json_t *o = mdef_ns_render(r, &page[i]);
		json_t *assoc = json_object_get(rtas, page[i].id);
		if (assoc)
			json_object_set(o, "resource_type_associations", assoc);
		links_last(o);
		json_array_append_new(list, o);
	}
	json_decref(rtas);
	const char *last = shown ? page[shown - 1].name : NULL;

	struct query_echo echo = { r, json_array() };
	http_query_each(r, echo_param, &echo);
	const char *query = urlencode(r, echo.pairs, NULL);
	json_t *body = json_object();
	json_object_set_new(body, "namespaces", list);
	json_object_set_new(body, "first", json_string(*query ? arena_printf(r->arena,
		"/v2/metadefs/namespaces?%s", query) : "/v2/metadefs/namespaces"));
	json_object_set_new(body, "schema", json_string("/v2/schemas/metadefs/namespaces"));
	if (json_array_size(list) && (int64_t)json_array_size(list) == limit)
		json_object_set_new(body, "next", json_string(arena_printf(r->arena,
			"/v2/metadefs/namespaces?%s", urlencode(r, echo.pairs, last))));
	json_decref(echo.pairs);
	return http_reply_json(r, 200, body);
}

/* --- create --- */

/* 400 unless the content e (an association, object or tag: what) has a name the database
 * can hold. */
static int check_name(struct http_req *r, const json_t *e, const char *what)
{
	if (mdef_name_ok(mdef_str(e, "name")))
		return 0;
	return http_error(r, ERR_BADREQ, "Couldn't create metadata namespace: each %s needs a name "
			  "of at most %d characters", what, MDEF_NAME_MAX);
}

/* What wsme would refuse or the database could not hold, before anything is written. */
static int check_contents(struct http_req *r, const json_t *body)
{
	size_t i;
	json_t *e;
	int rc;
	json_array_foreach(json_object_get(body, "resource_type_associations"), i, e) {
		if ((rc = check_name(r, e, "resource type association")) < 0)
			return rc;
		const char *p = mdef_str(e, "prefix"), *t = mdef_str(e, "properties_target");
		if ((p && !mdef_name_ok(p)) || (t && !mdef_name_ok(t)))
			return http_error(r, ERR_BADREQ, "Couldn't create metadata namespace: prefix and "
					  "properties_target are at most %d characters", MDEF_NAME_MAX);
	}
	json_array_foreach(json_object_get(body, "objects"), i, e) {
		if ((rc = check_name(r, e, "object")) < 0)
			return rc;
		const char *k;
		json_t *p;
		json_object_foreach(json_object_get(e, "properties"), k, p)
			if (mdef_property_check(r, p) < 0)
				return ERR_BADREQ;
	}
	json_array_foreach(json_object_get(body, "tags"), i, e)
		if ((rc = check_name(r, e, "tag")) < 0)
			return rc;
	const char *k;
	json_object_foreach(json_object_get(body, "properties"), k, e) {
		if (!mdef_name_ok(k))
			return http_error(r, ERR_BADREQ, "Couldn't create metadata namespace: property "
					  "name %s is longer than %d characters", k, MDEF_NAME_MAX);
		if (mdef_property_check(r, e) < 0)
			return ERR_BADREQ;
	}
	return 0;
}

/* The attributes a create or an update takes from the body, but the owner (which they default
 * differently); what the body leaves out goes back to its default. */
static void ns_from_body(const json_t *body, struct mdef_ns *ns)
{
	ns->name = mdef_str(body, "namespace");
	ns->display_name = mdef_str(body, "display_name");
	ns->description = mdef_str(body, "description");
	ns->visibility = mdef_str(body, "visibility");
	if (!ns->visibility)
		ns->visibility = "private";
	ns->protected_ = json_is_true(json_object_get(body, "protected"));
}

static bool nonempty(const json_t *body, const char *key)
{
	const json_t *v = json_object_get(body, key);
	return json_is_array(v) ? json_array_size(v) > 0 : json_is_object(v) && json_object_size(v) > 0;
}

int mdef_ns_create(struct http_req *r)
{
	json_t *body;
	int rc = mdef_body(r, ns_readonly, MDEF_S_NAMESPACE, &body);
	if (rc < 0)
		return rc;
	static const struct { const char *key, *rule; } parts[] = {
		{ "resource_type_associations", "add_metadef_resource_type_association" },
		{ "objects", "add_metadef_object" }, { "properties", "add_metadef_property" },
		{ "tags", "add_metadef_tag" },
	};
	if (!mdef_allowed(r, "add_metadef_namespace", NULL))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete add_metadef_namespace action.");
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (nonempty(body, parts[i].key) && !mdef_allowed(r, parts[i].rule, NULL))
			return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete %s action.",
					  parts[i].rule);
	if ((rc = check_contents(r, body)) < 0)
		return rc;

	struct mdef_ns *ns = arena_alloc(r->arena, sizeof *ns);
	ns->id = mdef_new_id(r);
	ns_from_body(body, ns);
	ns->owner = json_object_get(body, "owner") ? mdef_str(body, "owner") : img_caller_project(r);
	ns->created_at = ns->updated_at = time_now_us();

	if ((rc = img_begin(r)) < 0)
		return rc;
	rc = db_exec(img_db(r), "INSERT INTO img_metadef_namespaces (id, namespace, display_name,"
		     " description, visibility, protected, owner, created_at, updated_at)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_TEXT(ns->id), DB_TEXT(ns->name),
		     DB_TEXT(ns->display_name), DB_TEXT(ns->description), DB_TEXT(ns->visibility),
		     DB_BOOL(ns->protected_), DB_TEXT(ns->owner), DB_INT(ns->created_at),
		     DB_INT(ns->updated_at));
	if (rc == ERR_CONFLICT)
		return mdef_conflict(r, "The metadata definition namespace=%s already exists.", ns->name);
	if (rc < 0)
		return img_db_error(r, rc, "namespace");
	/* contents a microsecond apart, so that they list in the order given */
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(body, "resource_type_associations"), i, e)
		if ((rc = mdef_rta_insert(r, ns, e, ns->created_at + (int64_t)i)) < 0)
			return rc;
	json_array_foreach(json_object_get(body, "objects"), i, e)
		if ((rc = mdef_object_insert(r, ns, e, ns->created_at + (int64_t)i)) < 0)
			return rc;
	json_array_foreach(json_object_get(body, "tags"), i, e)
		if ((rc = mdef_tag_insert(r, ns, mdef_str(e, "name"), ns->created_at + (int64_t)i)) < 0)
			return rc;
	const char *k;
	i = 0;
	json_object_foreach(json_object_get(body, "properties"), k, e)
		if ((rc = mdef_property_insert(r, ns, k, e, ns->created_at + (int64_t)i++)) < 0)
			return rc;
	if ((rc = img_commit(r)) < 0)
		return rc;

	/* Glance answers with the namespace and the contents as they were asked for */
	json_t *o = mdef_ns_render(r, ns);
	for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
		json_t *v = json_object_get(body, parts[p].key);
		if (v)
			json_object_set_new(o, parts[p].key, json_deep_copy(v));
	}
	links_last(o);
	http_add_header(r, "Location", arena_printf(r->arena, "%s%s/v2/metadefs/namespaces/%s",
						    r->base_url, IMG_PREFIX, ns->name));
	return http_reply_json(r, 201, o);
}

/* --- show --- */

int mdef_ns_show(struct http_req *r)
{
	struct mdef_ns *ns;
	int rc = mdef_ns_load(r, http_param(r, "namespace"), MDEF_NF_SHOW, &ns);
	if (rc < 0)
		return rc;
	static const char *const rules[] = {
		"get_metadef_namespace", "list_metadef_resource_types", "get_metadef_objects",
		"get_metadef_properties", "get_metadef_tags", NULL,
	};
	for (int i = 0; rules[i]; i++)
		if ((rc = mdef_enforce(r, rules[i], ns)) < 0)
			return rc;
	json_t *rtas = mdef_rtas_render(r, ns);
	if (!rtas)
		return ERR_INTERNAL;
	const char *prefix = NULL, *rt = http_query(r, "resource_type");
	size_t i;
	json_t *e;
	if (rt && *rt)
		json_array_foreach(rtas, i, e)
			if (!strcmp(mdef_str(e, "name"), rt)) {
				prefix = arena_strdup(r->arena, mdef_str(e, "prefix"));
				break;
			}
	json_t *objects = mdef_objects_render(r, ns, prefix);
	json_t *props = objects ? mdef_properties_render(r, ns, prefix) : NULL;
	json_t *tags = props ? mdef_tags_render(r, ns) : NULL;
	if (!tags) {
		json_decref(rtas);
		json_decref(objects);
		json_decref(props);
		return ERR_INTERNAL;
	}
	json_t *o = mdef_ns_render(r, ns);
	set_nonempty(o, "objects", objects);
	set_nonempty(o, "resource_type_associations", rtas);
	set_nonempty(o, "properties", props);
	set_nonempty(o, "tags", tags);
	links_last(o);
	return http_reply_json(r, 200, o);
}

/* --- update --- */

int mdef_ns_update(struct http_req *r)
{
	json_t *body;
	int rc = mdef_body(r, ns_readonly, MDEF_S_NAMESPACE, &body);
	if (rc < 0)
		return rc;
	struct mdef_ns *ns;
	if ((rc = mdef_ns_begin(r, MDEF_NF_PLAIN, "modify_metadef_namespace", &ns)) < 0)
		return rc;
	/* Glance replaces every attribute */
	ns_from_body(body, ns);
	const char *owner = mdef_str(body, "owner");
	ns->owner = owner && *owner ? owner : img_caller_project(r);
	ns->updated_at = time_now_us();
	rc = db_exec(img_db(r), "UPDATE img_metadef_namespaces SET namespace = ?, display_name = ?,"
		     " description = ?, visibility = ?, protected = ?, owner = ?, updated_at = ?"
		     " WHERE id = ?", DB_TEXT(ns->name), DB_TEXT(ns->display_name),
		     DB_TEXT(ns->description), DB_TEXT(ns->visibility), DB_BOOL(ns->protected_),
		     DB_TEXT(ns->owner), DB_INT(ns->updated_at), DB_TEXT(ns->id));
	if (rc == ERR_CONFLICT)
		return mdef_conflict(r, "Invalid update. It would result in a duplicate metadata "
				     "definition namespace with the same name of %s", ns->name);
	if (rc < 0)
		return img_db_error(r, rc, "namespace");
	return mdef_commit_reply(r, 200, mdef_ns_render(r, ns));
}

/* --- delete --- */

int mdef_ns_delete(struct http_req *r)
{
	static const char *const stmts[] = {
		"DELETE FROM img_metadef_tags WHERE namespace_id = ?",
		"DELETE FROM img_metadef_objects WHERE namespace_id = ?",
		"DELETE FROM img_metadef_properties WHERE namespace_id = ?",
		"DELETE FROM img_metadef_ns_resource_types WHERE namespace_id = ?",
		"DELETE FROM img_metadef_namespaces WHERE id = ?",
		NULL,
	};
	return mdef_ns_purge(r, NULL, stmts, "delete namespace");
}
