/* keypairs.c — /os-keypairs: list (another user's for admins at 2.10, paged at 2.35), show,
 * create (import an SSH key or X.509 certificate, or generate one and return its private key;
 * type at 2.2, user_id at 2.10), delete; the key_pairs quota; policies target the key's user. */
#include "compute/cmp.h"
#include "compute/keycrypto.h"
#include "compute/valid.h"
#include <stdlib.h>
#include <string.h>

#define MAX_LIMIT 1000

/* The user the request is about: ?user_id= from 2.10 (first value), else the caller. */
static const char *target_user(struct http_req *r)
{
	const char *u = cmp_mv_ge(r, 2, 10) ? http_query(r, "user_id") : NULL;
	return u ? u : cmp_user(r);
}

/* At 2.75 unknown query parameters are refused. */
static int strict_query(struct http_req *r, const char *const *names)
{
	if (!cmp_mv_ge(r, 2, 75))
		return 0;
	return cmp_q_only(r, names);
}

static json_t *keypair_json(struct http_req *r, const struct cmp_keypair *k, int64_t id, bool full)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "name", k->name, "public_key", k->public_key,
			      "fingerprint", k->fingerprint);
	if (cmp_mv_ge(r, 2, 2))
		json_object_set_new(o, "type", json_string(k->type));
	if (full) {
		char t[40];
		time_format(k->created_at, 6, false, t);
		json_object_set_new(o, "user_id", json_string(k->user_id));
		json_object_set_new(o, "created_at", json_string(t));
		json_object_set_new(o, "updated_at", json_null());
		json_object_set_new(o, "deleted_at", json_null());
		json_object_set_new(o, "deleted", json_false());
		json_object_set_new(o, "id", json_integer(id));
	}
	return o;
}

static int h_index(struct http_req *r)
{
	static const char *const q235[] = { "user_id", "limit", "marker", NULL };
	int rc = strict_query(r, q235);
	if (rc)
		return rc;
	const char *user = target_user(r);
	if ((rc = cmp_enforce(r, "os_compute_api:os-keypairs:index", NULL, user)))
		return rc;
	int64_t limit = MAX_LIMIT;
	const char *marker = NULL;
	bool paged = cmp_mv_ge(r, 2, 35);
	if (paged) {
		int qrc = cmp_q_limit(r, MAX_LIMIT, &limit);
		if (qrc)
			return qrc;
		marker = http_query(r, "marker");
	}
	struct db_rows *rows = NULL;
	if (marker) {
		rc = db_query(cmp_db(r), &rows, "SELECT 1 FROM cmp_keypairs WHERE user_id = ? AND name = ?",
			      DB_TEXT(user), DB_TEXT(marker));
		if (rc < 0)
			return cmp_db_error(r, rc, "keypairs");
		int found = db_rows_count(rows);
		db_rows_free(rows);
		if (!found)
			return http_error(r, ERR_BADREQ, "Marker %s could not be found.", marker);
	}
	rc = db_query(cmp_db(r), &rows, "SELECT name, user_id, type, public_key, fingerprint, created_at"
		      " FROM cmp_keypairs WHERE user_id = ? AND name > ? ORDER BY name LIMIT ?",
		      DB_TEXT(user), DB_TEXT(marker ? marker : ""), DB_INT(paged ? limit : MAX_LIMIT * 100));
	if (rc < 0)
		return cmp_db_error(r, rc, "keypairs");
	json_t *arr = json_array();
	const char *last = NULL;
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct cmp_keypair k = { .name = db_text(rows, i, 0), .user_id = db_text(rows, i, 1),
					 .type = db_text(rows, i, 2), .public_key = db_text(rows, i, 3),
					 .fingerprint = db_text(rows, i, 4) };
		json_array_append_new(arr, json_pack("{s:o}", "keypair", keypair_json(r, &k, 0, false)));
		last = arena_strdup(r->arena, k.name);
	}
	db_rows_free(rows);
	json_t *body = json_pack("{s:o}", "keypairs", arr);
	if (paged && limit && (int64_t)json_array_size(arr) == limit && last)
		json_object_set_new(body, "keypairs_links", json_pack("[{s:s,s:s}]", "rel", "next", "href",
								     cmp_next_link(r, "os-keypairs", last)));
	return http_reply_json(r, 200, body);
}

static int h_show(struct http_req *r)
{
	static const char *const q[] = { "user_id", NULL };
	int rc = strict_query(r, q);
	if (rc)
		return rc;
	const char *user = target_user(r);
	if ((rc = cmp_enforce(r, "os_compute_api:os-keypairs:show", NULL, user)))
		return rc;
	struct cmp_keypair k;
	if ((rc = cmp_keypair_get(r, user, http_param(r, "name"), &k)))
		return rc;
	struct db_rows *rows = NULL;
	rc = db_query(cmp_db(r), &rows, "SELECT id FROM cmp_keypairs WHERE user_id = ? AND name = ?",
		      DB_TEXT(user), DB_TEXT(k.name));
	if (rc < 0)
		return cmp_db_error(r, rc, "keypair");
	int64_t id = db_rows_count(rows) ? db_int(rows, 0, 0) : 0;
	db_rows_free(rows);
	return http_reply_json(r, 200, json_pack("{s:o}", "keypair", keypair_json(r, &k, id, true)));
}

static int h_delete(struct http_req *r)
{
	static const char *const q[] = { "user_id", NULL };
	int rc = strict_query(r, q);
	if (rc)
		return rc;
	const char *user = target_user(r), *name = http_param(r, "name");
	if ((rc = cmp_enforce(r, "os_compute_api:os-keypairs:delete", NULL, user)))
		return rc;
	if ((rc = cmp_begin(r)))
		return rc;
	rc = db_exec(cmp_db(r), "DELETE FROM cmp_keypairs WHERE user_id = ? AND name = ?", DB_TEXT(user), DB_TEXT(name));
	if (rc < 0)
		return cmp_db_error(r, rc, "keypair delete");
	if (rc == 0) {
		cmp_rollback(r);
		return http_error(r, ERR_NOTFOUND, "Keypair %s not found for user %s", name, user);
	}
	if ((rc = cmp_commit(r)))
		return rc;
	return http_reply_empty(r, cmp_mv_ge(r, 2, 2) ? 204 : 202);
}

/* Keypair names before 2.92: letters, digits, '_', '-' and spaces (Nova's keypair_name_20). */
static int check_name(struct http_req *r, const json_t *v)
{
	if (cmp_v_name(r, v, "name", false))
		return ERR_BADREQ;
	const char *s = json_string_value(v);
	if (strspn(s, "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(s))
		return http_error(r, ERR_BADREQ, "An invalid 'name' value was provided. Only expected characters: "
				  "[_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]");
	return 0;
}

/* Holds a generated or imported key until the reply. */
struct newkey {
	char *priv, *pub;
	char fp[KEYCRYPTO_FP_MAX];
};

static void newkey_free(void *p)
{
	struct newkey *k = p;
	free(k->priv);
	free(k->pub);
}

static int h_create(struct http_req *r)
{
	json_t *body = http_body_json(r);
	if (!body)
		return ERR_BADREQ;
	static const char *const top[] = { "keypair", NULL };
	static const char *const f21[] = { "name", "public_key", NULL };
	static const char *const f22[] = { "name", "public_key", "type", NULL };
	static const char *const f210[] = { "name", "public_key", "type", "user_id", NULL };
	json_t *kp = json_object_get(body, "keypair"), *v;
	if (cmp_v_required(r, body, NULL, "keypair") || cmp_v_only(r, body, NULL, top) ||
	    cmp_v_object(r, kp, "keypair") ||
	    cmp_v_only(r, kp, "keypair", cmp_mv_ge(r, 2, 10) ? f210 : cmp_mv_ge(r, 2, 2) ? f22 : f21) ||
	    cmp_v_required(r, kp, "keypair", "name") || check_name(r, json_object_get(kp, "name")))
		return ERR_BADREQ;
	const char *name = json_string_value(json_object_get(kp, "name"));
	const char *type = "ssh", *user = cmp_user(r), *pub = NULL;
	if ((v = json_object_get(kp, "type"))) {
		if (!json_is_string(v) || (strcmp(json_string_value(v), "ssh") && strcmp(json_string_value(v), "x509")))
			return cmp_bad_field(r, "type", arena_printf(r->arena, "Value: %s. %s is not one of "
					     "['ssh', 'x509']", cmp_v_repr(r, v), cmp_v_repr(r, v)));
		type = json_string_value(v);
	}
	if ((v = json_object_get(kp, "user_id"))) {
		if (cmp_v_string(r, v, "user_id", 0, 0, false))
			return ERR_BADREQ;
		user = json_string_value(v);
	}
	if ((v = json_object_get(kp, "public_key"))) {
		if (cmp_v_string(r, v, "public_key", 0, 0, false))
			return ERR_BADREQ;
		pub = json_string_value(v);
	}
	int rc = cmp_enforce(r, "os_compute_api:os-keypairs:create", NULL, user);
	if (rc)
		return rc;

	struct newkey *nk = arena_alloc(r->arena, sizeof *nk);
	arena_defer(r->arena, newkey_free, nk);
	if (pub) {
		char why[300];
		if (!strcmp(type, "ssh") && keycrypto_ssh_fingerprint(pub, nk->fp))
			return http_error(r, ERR_BADREQ, "Keypair data is invalid: failed to generate fingerprint");
		if (!strcmp(type, "x509") && keycrypto_x509_fingerprint(pub, nk->fp, why, sizeof why))
			return http_error(r, ERR_BADREQ, "Keypair data is invalid: failed to generate X509 "
					  "fingerprint. Error message: %s", why);
	}

	/* generated before the transaction, so creators do not wait on each other's RSA work */
	if (!pub) {
		int grc = !strcmp(type, "ssh") ? keycrypto_ssh_generate(&nk->priv, &nk->pub, nk->fp)
					       : keycrypto_x509_generate(user, &nk->priv, &nk->pub, nk->fp);
		if (grc)
			return http_error(r, ERR_INTERNAL, "Unexpected API Error. Key generation failed.");
		pub = nk->pub;
	}
	if ((rc = cmp_begin(r)))
		return rc;
	/* taking the id first serialises creators, so the quota count below is exact */
	int64_t limit, id;
	struct db_rows *rows = NULL;
	if ((rc = cmp_next_id(r, "keypairs", &id)) ||
	    (rc = cmp_quota_limit(r, cmp_project(r), user, "key_pairs", &limit)))
		return rc;
	rc = db_query(cmp_db(r), &rows, "SELECT COUNT(*), 0,"
		      " SUM(CASE WHEN name = ? THEN 1 ELSE 0 END) FROM cmp_keypairs WHERE user_id = ?",
		      DB_TEXT(name), DB_TEXT(user));
	if (rc < 0)
		return cmp_db_error(r, rc, "keypair count");
	int64_t count = db_int(rows, 0, 0), exists = db_int(rows, 0, 2);
	db_rows_free(rows);
	if (limit >= 0 && count + 1 > limit) {
		cmp_rollback(r);
		return http_error(r, ERR_FORBIDDEN, "Quota exceeded, too many key pairs.");
	}
	if (exists) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Key pair '%s' already exists.", name);
	}
	struct cmp_keypair k = { .name = name, .user_id = user, .type = type, .public_key = pub,
				 .fingerprint = nk->fp, .created_at = time_now_us() };
	rc = db_exec(cmp_db(r), "INSERT INTO cmp_keypairs (user_id, name, type, public_key, fingerprint,"
		     " created_at, id) VALUES (?, ?, ?, ?, ?, ?, ?)", DB_TEXT(user), DB_TEXT(name), DB_TEXT(type),
		     DB_TEXT(pub), DB_TEXT(nk->fp), DB_INT(k.created_at), DB_INT(id));
	if (rc == ERR_CONFLICT) {
		cmp_rollback(r);
		return http_error(r, ERR_CONFLICT, "Key pair '%s' already exists.", name);
	}
	if (rc < 0)
		return cmp_db_error(r, rc, "keypair create");
	if ((rc = cmp_commit(r)))
		return rc;
	json_t *o = keypair_json(r, &k, id, false);
	json_object_set_new(o, "user_id", json_string(user));
	if (nk->priv)
		json_object_set_new(o, "private_key", json_string(nk->priv));
	return http_reply_json(r, cmp_mv_ge(r, 2, 2) ? 201 : 200, json_pack("{s:o}", "keypair", o));
}

const struct route cmp_routes_keypairs[] = {
	{ "GET", "/v2.1/os-keypairs", h_index, NULL, 0, NULL },
	{ "POST", "/v2.1/os-keypairs", h_create, NULL, 0, NULL },
	{ "GET", "/v2.1/os-keypairs/{name}", h_show, NULL, 0, NULL },
	{ "DELETE", "/v2.1/os-keypairs/{name}", h_delete, NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};
