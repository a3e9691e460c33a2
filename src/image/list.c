/* list.c — GET /v2/images: Glance's visibility rules for lists (own, public, community only when
 * asked, shared by membership status), the filters (attributes with in:/comparison operators,
 * size ranges, times, tags, extra properties), sort keys in both syntaxes, and keyset
 * pagination by marker with `first`/`next` links. */
#include "image/img.h"
#include "core/conf.h"
#include "core/sqlbuf.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ARGS 256
#define MAX_SORT 16

/* Request SQL is built with core/sqlbuf, at most MAX_ARGS arguments (more: "Too many filters."). */
static void arg_text(struct sqlbuf *q, const char *s)
{
	sqlbuf_text(q, arena_strdup(q->a, s));
}

/* sortable keys: column, integer? */
static const struct sort_key { const char *name; bool is_int; } sort_keys[] = {
	{ "name", false }, { "status", false }, { "container_format", false }, { "disk_format", false },
	{ "size", true }, { "id", false }, { "created_at", true }, { "updated_at", true },
};

static const struct sort_key *find_sort_key(const char *name)
{
	for (size_t i = 0; i < sizeof sort_keys / sizeof sort_keys[0]; i++)
		if (!strcmp(sort_keys[i].name, name))
			return &sort_keys[i];
	return NULL;
}

struct params {
	struct http_req *r;
	struct sqlbuf *where;         /* filter conditions, ANDed */
	const char *limit, *marker, *member_status, *visibility, *os_hidden, *protected_;
	const char *sort;
	const char *sort_key[MAX_SORT];
	int nsort_key;
	const char *sort_dir[MAX_SORT];
	int nsort_dir;
	json_t *echo;                 /* query parameters for the links (array of [name, value]) */
	int err;
};

static int bad(struct params *p, const char *fmt, const char *a)
{
	if (!p->err)
		p->err = http_error(p->r, ERR_BADREQ, fmt, a ? a : "");
	return p->err;
}

/* Splits the value of an "in:" filter: comma-separated, optionally "double-quoted". */
static int split_in(struct params *p, const char *list, const char ***out, int *n)
{
	int cap = 8;
	const char **vals = arena_alloc(p->r->arena, sizeof *vals * (size_t)cap);
	*n = 0;
	const char *s = list;
	for (;;) {
		char *v = arena_alloc(p->r->arena, strlen(s) + 1), *w = v;
		if (*s == '"') {
			s++;
			while (*s && *s != '"')
				*w++ = *s++;
			if (*s != '"')
				return bad(p, "Invalid filter value %s. The quote is not closed.", list);
			s++;
			if (*s && *s != ',')
				return bad(p, "Invalid filter value %s. There is no comma after closing quotation mark.", list);
		} else {
			while (*s && *s != ',') {
				if (*s == '"')
					return bad(p, "Invalid filter value %s. There is no comma before opening quotation mark.", list);
				*w++ = *s++;
			}
		}
		*w = 0;
		if (*n == cap) {
			const char **nv = arena_alloc(p->r->arena, sizeof *nv * (size_t)cap * 2);
			memcpy(nv, vals, sizeof *vals * (size_t)cap);
			vals = nv;
			cap *= 2;
		}
		vals[(*n)++] = v;
		if (!*s)
			break;
		s++;
	}
	*out = vals;
	return 0;
}

/* name, id, status, container_format, disk_format: "value", "eq:value" or "in:a,b,\"c,d\"". */
static int attr_filter(struct params *p, const char *col, const char *value)
{
	struct sqlbuf *q = p->where;
	/* "op:value", unless the whole value is a time (which has colons of its own) */
	const char *colon = strchr(value, ':');
	int64_t when;
	if (colon && strncmp(value, "in:", 3) && strncmp(value, "eq:", 3) && time_parse(value, &when) != 0)
		return bad(p, "Unable to filter by unknown operator '%s'.",
			   arena_strndup(p->r->arena, value, (size_t)(colon - value)));
	if (!strncmp(value, "in:", 3)) {
		const char **vals = NULL;
		int n = 0;
		if (split_in(p, value + 3, &vals, &n))
			return p->err;
		sqlbuf_add(q, " AND i.");
		sqlbuf_add(q, col);
		sqlbuf_add(q, " IN (");
		for (int i = 0; i < n; i++) {
			sqlbuf_add(q, i ? ", ?" : "?");
			arg_text(q, vals[i]);
		}
		sqlbuf_add(q, ")");
		return 0;
	}
	if (!strncmp(value, "eq:", 3))
		value += 3;
	sqlbuf_add(q, " AND i.");
	sqlbuf_add(q, col);
	sqlbuf_add(q, " = ?");
	arg_text(q, value);
	return 0;
}

static int time_filter(struct params *p, const char *col, const char *value)
{
	const char *op = "eq", *when = value;
	int64_t us;
	const char *colon = strchr(value, ':');
	if (colon && time_parse(value, &us) != 0) {
		op = arena_strndup(p->r->arena, value, (size_t)(colon - value));
		when = colon + 1;
	}
	if (time_parse(when, &us))
		return bad(p, "Bad \"%s\" query filter format. Use ISO 8601 DateTime notation.", col);
	int64_t sec = us / 1000000 * 1000000, next = sec + 1000000;   /* whole seconds, as Glance stores */
	struct sqlbuf *q = p->where;
	char buf[160];
	if (!strcmp(op, "eq"))
		snprintf(buf, sizeof buf, " AND i.%s >= ? AND i.%s < ?", col, col);
	else if (!strcmp(op, "neq"))
		snprintf(buf, sizeof buf, " AND (i.%s < ? OR i.%s >= ?)", col, col);
	else if (!strcmp(op, "gt"))
		snprintf(buf, sizeof buf, " AND i.%s >= ?", col);
	else if (!strcmp(op, "gte"))
		snprintf(buf, sizeof buf, " AND i.%s >= ?", col);
	else if (!strcmp(op, "lt"))
		snprintf(buf, sizeof buf, " AND i.%s < ?", col);
	else if (!strcmp(op, "lte"))
		snprintf(buf, sizeof buf, " AND i.%s < ?", col);
	else
		return bad(p, "Unable to filter on a unknown operator.%s", NULL);
	sqlbuf_add(q, buf);
	if (!strcmp(op, "eq") || !strcmp(op, "neq")) {
		sqlbuf_arg(q, DB_INT(sec));
		sqlbuf_arg(q, DB_INT(next));
	} else if (!strcmp(op, "gt") || !strcmp(op, "lte")) {
		sqlbuf_arg(q, DB_INT(next));
	} else {
		sqlbuf_arg(q, DB_INT(sec));
	}
	return 0;
}

static int range_filter(struct params *p, const char *name, const char *value)
{
	size_t n = strlen(name);
	const char *col = arena_strndup(p->r->arena, name, n - 4);
	if (strcmp(col, "size") && strcmp(col, "virtual_size") && strcmp(col, "min_ram") && strcmp(col, "min_disk"))
		return bad(p, "Invalid filter: %s", name);
	int64_t v;
	if (parse_int64(value, INT64_MIN, INT64_MAX, &v))
		return bad(p, "Unable to filter on a range with a non-numeric value.%s", NULL);
	char buf[96];
	snprintf(buf, sizeof buf, " AND i.%s %s ?", col, !strcmp(name + n - 4, "_min") ? ">=" : "<=");
	sqlbuf_add(p->where, buf);
	sqlbuf_arg(p->where, DB_INT(v));
	return 0;
}

static int take_param(void *ctx, const char *name, const char *value)
{
	struct params *p = ctx;
	if (!value)
		value = "";
	if (strcmp(name, "marker")) {
		json_t *pair = json_pack("[s,s]", name, value);
		if (pair)
			json_array_append_new(p->echo, pair);
	}
	if (!strcmp(name, "limit")) {
		if (!p->limit)
			p->limit = value;
	} else if (!strcmp(name, "marker")) {
		if (!p->marker)
			p->marker = value;
	} else if (!strcmp(name, "member_status")) {
		if (!p->member_status)
			p->member_status = value;
	} else if (!strcmp(name, "visibility")) {
		p->visibility = value;
	} else if (!strcmp(name, "os_hidden")) {
		p->os_hidden = value;
	} else if (!strcmp(name, "protected")) {
		p->protected_ = value;
	} else if (!strcmp(name, "sort")) {
		p->sort = value;
	} else if (!strcmp(name, "sort_key")) {
		if (p->nsort_key == MAX_SORT)
			return bad(p, "Too many sort keys.%s", NULL);
		p->sort_key[p->nsort_key++] = value;
	} else if (!strcmp(name, "sort_dir")) {
		if (p->nsort_dir == MAX_SORT)
			return bad(p, "Too many sort directions.%s", NULL);
		p->sort_dir[p->nsort_dir++] = value;
	} else if (!strcmp(name, "tag")) {
		sqlbuf_add(p->where, " AND EXISTS (SELECT 1 FROM img_tags t WHERE t.image_id = i.id AND t.value = ?)");
		arg_text(p->where, value);
	} else if (!strcmp(name, "changes-since")) {
		return bad(p, "The \"changes-since\" filter is no longer available on v2.%s", NULL);
	} else if (!strcmp(name, "name") || !strcmp(name, "id") || !strcmp(name, "status") ||
		   !strcmp(name, "container_format") || !strcmp(name, "disk_format")) {
		return attr_filter(p, name, value);
	} else if (!strcmp(name, "owner") || !strcmp(name, "checksum") || !strcmp(name, "os_hash_value")) {
		char buf[64];
		snprintf(buf, sizeof buf, " AND i.%s = ?", name);
		sqlbuf_add(p->where, buf);
		arg_text(p->where, value);
	} else if (!strcmp(name, "size") || !strcmp(name, "virtual_size") || !strcmp(name, "min_ram") ||
		   !strcmp(name, "min_disk")) {
		int64_t v;
		if (parse_int64(value, INT64_MIN, INT64_MAX, &v))
			return bad(p, "Invalid value for the %s filter: an integer is expected.", name);
		char buf[64];
		snprintf(buf, sizeof buf, " AND i.%s = ?", name);
		sqlbuf_add(p->where, buf);
		sqlbuf_arg(p->where, DB_INT(v));
	} else if (!strcmp(name, "created_at") || !strcmp(name, "updated_at")) {
		return time_filter(p, name, value);
	} else if (strlen(name) > 4 && (!strcmp(name + strlen(name) - 4, "_min") ||
					!strcmp(name + strlen(name) - 4, "_max"))) {
		return range_filter(p, name, value);
	} else {
		/* anything else filters on an extra property */
		sqlbuf_add(p->where, " AND EXISTS (SELECT 1 FROM img_properties pr WHERE pr.image_id = i.id"
			      " AND pr.name = ? AND pr.value = ?)");
		arg_text(p->where, name);
		arg_text(p->where, value);
	}
	return p->err;
}

static int bool_param(struct params *p, const char *name, const char *v, bool *out)
{
	if (!strcasecmp(v, "true"))
		*out = true;
	else if (!strcasecmp(v, "false"))
		*out = false;
	else {
		char msg[200];
		snprintf(msg, sizeof msg, "Invalid value '%%s' for '%s' filter. Valid values are 'true' or 'false'.", name);
		return bad(p, msg, v);
	}
	return 0;
}

/* Query-string encoding as Python's urlencode does it (a space as '+'). */
static char *url_escape(struct arena *a, const char *s)
{
	char *out = arena_alloc(a, strlen(s) * 3 + 1);
	url_encode(s, out, true);
	return out;
}

static const char *link(struct http_req *r, const json_t *echo, const char *marker)
{
	struct sqlbuf s = { .a = r->arena };   /* a URL, no arguments */
	sqlbuf_add(&s, "/v2/images");
	size_t i;
	json_t *pair;
	bool first = true;
	json_array_foreach(echo, i, pair) {
		sqlbuf_add(&s, first ? "?" : "&");
		first = false;
		sqlbuf_add(&s, url_escape(r->arena, json_string_value(json_array_get(pair, 0))));
		sqlbuf_add(&s, "=");
		sqlbuf_add(&s, url_escape(r->arena, json_string_value(json_array_get(pair, 1))));
	}
	if (marker) {
		sqlbuf_add(&s, first ? "?marker=" : "&marker=");
		sqlbuf_add(&s, url_escape(r->arena, marker));
	}
	return s.text;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	for (char *e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		e[-1] = 0;
	return s;
}

struct order {
	const struct sort_key *key[MAX_SORT + 2];
	bool desc[MAX_SORT + 2];
	int n;
};

static int parse_sort(struct params *p, struct order *o)
{
	if (p->sort && (p->nsort_key || p->nsort_dir))
		return bad(p, "Old and new sorting syntax cannot be combined%s", NULL);
	bool def_desc = true;
	if (p->sort) {
		char *list = arena_strdup(p->r->arena, p->sort), *save = NULL;
		for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
			char *colon = strchr(item, ':');
			const char *dir = "desc";
			if (colon) {
				*colon = 0;
				dir = colon + 1;
			}
			const char *key = trim(item);
			dir = trim((char *)dir);
			if (!*dir)
				dir = "desc";
			const struct sort_key *k = find_sort_key(key);
			if (!k)
				return bad(p, "Invalid sort key: %s. It must be one of the following: name, status,"
					   " container_format, disk_format, size, id, created_at, updated_at.", key);
			if (strcmp(dir, "asc") && strcmp(dir, "desc"))
				return bad(p, "Invalid sort direction: %s", dir);
			if (o->n == MAX_SORT)
				return bad(p, "Too many sort keys.%s", NULL);
			o->key[o->n] = k;
			o->desc[o->n++] = !strcmp(dir, "desc");
		}
	} else {
		if (p->nsort_dir > 1 && p->nsort_dir != p->nsort_key)
			return bad(p, "Number of sort dirs does not match the number of sort keys%s", NULL);
		for (int i = 0; i < p->nsort_dir; i++)
			if (strcmp(p->sort_dir[i], "asc") && strcmp(p->sort_dir[i], "desc"))
				return bad(p, "Invalid sort direction: %s", p->sort_dir[i]);
		if (p->nsort_dir == 1)
			def_desc = !strcmp(p->sort_dir[0], "desc");
		for (int i = 0; i < p->nsort_key; i++) {
			const struct sort_key *k = find_sort_key(p->sort_key[i]);
			if (!k)
				return bad(p, "Invalid sort key: %s. It must be one of the following: name, status,"
					   " container_format, disk_format, size, id, created_at, updated_at.",
					   p->sort_key[i]);
			o->key[o->n] = k;
			o->desc[o->n++] = p->nsort_dir > 1 ? !strcmp(p->sort_dir[i], "desc") : def_desc;
		}
	}
	if (!o->n) {
		o->key[o->n] = find_sort_key("created_at");
		o->desc[o->n++] = def_desc;
	}
	if (o->n == 1 && p->sort) /* the new syntax's single direction is also the default for the rest */
		def_desc = o->desc[0];
	const char *tail[] = { "created_at", "id" };
	for (int t = 0; t < 2; t++) {
		bool have = false;
		for (int i = 0; i < o->n; i++)
			have |= !strcmp(o->key[i]->name, tail[t]);
		if (!have) {
			o->key[o->n] = find_sort_key(tail[t]);
			o->desc[o->n++] = def_desc;
		}
	}
	return 0;
}

/* Keyset condition "after the marker row" for the ordering (NULLs first ascending, last
 * descending, as the ORDER BY below puts them). */
static void after_marker(struct sqlbuf *q, const struct order *o, const struct img *m)
{
	sqlbuf_add(q, " AND (");
	for (int i = 0; i < o->n; i++) {
		sqlbuf_add(q, i ? " OR (" : "(");
		for (int j = 0; j <= i; j++) {
			const struct sort_key *k = o->key[j];
			const char *sv = NULL;
			int64_t iv = -1;
			if (!strcmp(k->name, "name")) sv = m->name;
			else if (!strcmp(k->name, "status")) sv = m->status;
			else if (!strcmp(k->name, "container_format")) sv = m->container_format;
			else if (!strcmp(k->name, "disk_format")) sv = m->disk_format;
			else if (!strcmp(k->name, "id")) sv = m->id;
			else if (!strcmp(k->name, "size")) iv = m->size;
			else if (!strcmp(k->name, "created_at")) iv = m->created_at;
			else if (!strcmp(k->name, "updated_at")) iv = m->updated_at;
			bool null = k->is_int ? iv < 0 : !sv;
			if (j)
				sqlbuf_add(q, " AND ");
			char buf[160];
			const char *c = k->name;
			if (j < i) {
				snprintf(buf, sizeof buf, null ? "i.%s IS NULL" : "i.%s = ?", c);
			} else if (!o->desc[j]) {
				snprintf(buf, sizeof buf, null ? "i.%s IS NOT NULL" : "i.%s > ?", c);
			} else {
				if (null)
					snprintf(buf, sizeof buf, "1 = 0");
				else
					snprintf(buf, sizeof buf, "(i.%s < ? OR i.%s IS NULL)", c, c);
			}
			sqlbuf_add(q, buf);
			if (!null)
				sqlbuf_arg(q, k->is_int ? DB_INT(iv) : DB_TEXT(sv));
		}
		sqlbuf_add(q, ")");
	}
	sqlbuf_add(q, ")");
}

int img_list_images(struct http_req *r)
{
	if (!img_allowed(r, "get_images", NULL))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to complete get_images action.");
	struct sqlbuf where = { .a = r->arena, .max_args = MAX_ARGS };
	struct params p = { .r = r, .where = &where, .echo = json_array() };
	arena_defer(r->arena, json_decref_void, p.echo);
	if (http_query_each(r, take_param, &p) || p.err)
		return p.err ? p.err : ERR_BADREQ;
	if (where.overflow)
		return http_error(r, ERR_BADREQ, "Too many filters.");

	int64_t limit = conf_int("image", "list_limit_default"), max = conf_int("image", "list_limit_max");
	if (p.limit) {
		if (parse_int64(p.limit, INT64_MIN, INT64_MAX, &limit))
			return http_error(r, ERR_BADREQ, "limit param must be an integer");
		if (limit < 0)
			return http_error(r, ERR_BADREQ, "limit param must be positive");
	}
	if (limit > max)
		limit = max;
	const char *ms = p.member_status ? p.member_status : "accepted";
	if (strcmp(ms, "pending") && strcmp(ms, "accepted") && strcmp(ms, "rejected") && strcmp(ms, "all"))
		return http_error(r, ERR_BADREQ, "Invalid status: %s", ms);
	if (p.visibility && strcmp(p.visibility, "community") && strcmp(p.visibility, "public") &&
	    strcmp(p.visibility, "private") && strcmp(p.visibility, "shared") && strcmp(p.visibility, "all"))
		return http_error(r, ERR_BADREQ, "Invalid visibility value: %s", p.visibility);
	bool hidden = false, prot = false;
	if (p.os_hidden && bool_param(&p, "os_hidden", p.os_hidden, &hidden))
		return p.err;
	if (p.protected_ && bool_param(&p, "protected", p.protected_, &prot))
		return p.err;
	struct order o = { 0 };
	if (parse_sort(&p, &o))
		return p.err;

	struct sqlbuf q = { .a = r->arena, .max_args = MAX_ARGS };
	sqlbuf_add(&q, "SELECT " IMG_COLUMNS " FROM img_images i WHERE i.status NOT IN ('killed', 'deleted')"
		" AND i.os_hidden = ?");
	sqlbuf_arg(&q, DB_BOOL(hidden));
	if (p.protected_) {
		sqlbuf_add(&q, " AND i.protected = ?");
		sqlbuf_arg(&q, DB_BOOL(prot));
	}
	sqlbuf_add(&q, where.text ? where.text : "");
	for (int i = 0; i < where.nargs; i++)
		sqlbuf_arg(&q, where.args[i]);

	const char *proj = img_caller_project(r);
	bool has_proj = *proj != 0;
	if (!img_is_admin(r)) {
		sqlbuf_add(&q, " AND (i.visibility IN ('public', 'community')");
		if (has_proj) {
			sqlbuf_add(&q, " OR i.owner = ? OR (i.visibility = 'shared' AND EXISTS (SELECT 1 FROM img_members m"
				" WHERE m.image_id = i.id AND m.member = ?");
			arg_text(&q, proj);
			arg_text(&q, proj);
			if (strcmp(ms, "all")) {
				sqlbuf_add(&q, " AND m.status = ?");
				arg_text(&q, ms);
			}
			sqlbuf_add(&q, "))");
		}
		sqlbuf_add(&q, ")");
	}
	if (p.visibility) {
		if (strcmp(p.visibility, "all")) {
			sqlbuf_add(&q, " AND i.visibility = ?");
			arg_text(&q, p.visibility);
		}
	} else if (!has_proj) {
		sqlbuf_add(&q, " AND i.visibility <> 'community'");
	} else {
		sqlbuf_add(&q, " AND (i.owner = ? OR i.visibility <> 'community')");
		arg_text(&q, proj);
	}
	if (p.marker) {
		struct img *m;
		int rc = img_load(r, p.marker, &m);
		if (rc < 0) {
			r->err = 0;
			return http_error(r, ERR_BADREQ, "No image found with ID %s", p.marker);
		}
		after_marker(&q, &o, m);
	}
	sqlbuf_add(&q, " ORDER BY ");
	for (int i = 0; i < o.n; i++) {
		char buf[128];
		snprintf(buf, sizeof buf, "%s(i.%s IS NOT NULL) %s, i.%s %s", i ? ", " : "", o.key[i]->name,
			 o.desc[i] ? "DESC" : "ASC", o.key[i]->name, o.desc[i] ? "DESC" : "ASC");
		sqlbuf_add(&q, buf);
	}
	char lim[40];
	snprintf(lim, sizeof lim, " LIMIT %lld", (long long)limit);
	sqlbuf_add(&q, lim);
	if (q.overflow)
		return http_error(r, ERR_BADREQ, "Too many filters.");

	struct img **page;
	int n, rc = img_query_page(r, q.text, sqlbuf_args(&q), &page, &n);
	if (rc < 0)
		return rc;
	json_t *images = json_array();
	const char *last = NULL;
	for (int i = 0; i < n; i++) {
		struct img *im = page[i];
		if (!img_allowed(r, "get_image", im))
			continue;
		json_array_append_new(images, img_render(r, im));
		last = im->id;
	}
	json_t *body = json_pack("{s:o,s:s,s:s}", "images", images, "first", link(r, p.echo, NULL),
				 "schema", "/v2/schemas/images");
	if (n && n == limit && last)
		json_object_set_new(body, "next", json_string(link(r, p.echo, last)));
	return http_reply_json(r, 200, body);
}
