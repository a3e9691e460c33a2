/* credentials.c — Keystone v3 credentials (blobs encrypted at rest with the credential Fernet
 * keys; an ec2 credential's id is the SHA-256 of its access key) and the OS-EC2 view of the
 * same rows under /v3/users/{user_id}/credentials/OS-EC2. Delegated tokens (application
 * credentials) cannot touch credentials at all. */
#include "identity/ident.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A Fernet token of at most 2048 characters holds 1471 bytes; keep a margin. */
#define CRED_BLOB_MAX 1400
#define CRED_COLS "id, user_id, project_id, type, encrypted_blob, extra"

static const char *const cred_known[] = {
	"id", "user_id", "project_id", "type", "blob", "links", "encrypted_blob", "key_hash", NULL,
};

struct cred {
	const char *id, *user_id, *project_id, *type, *blob, *extra;
};

/* Keystone refuses delegated tokens (here: application credentials) on every credential API. */
static int require_primary_auth(struct http_req *r)
{
	if (r->auth->app_cred_id || (r->auth->methods & AUTH_APP_CRED))
		return http_error(r, ERR_FORBIDDEN, "You are not authorized to perform the requested action: "
				  "Delegated tokens cannot access credentials directly.");
	return 0;
}

/* SHA-256 hex of an ec2 access key: the credential's id, as Keystone computes it. */
static int access_key_id(struct http_req *r, const char *access, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(access, strlen(access), md, &mdlen, EVP_sha256(), NULL) || mdlen != sizeof md)
		return ident_internal(r);
	hex_encode(md, sizeof md, out);
	return 0;
}

static char *encrypt_blob(struct http_req *r, const char *blob)
{
	char *t = fernet_encrypt(ident(r)->cred_keys, blob, strlen(blob), (uint64_t)(time_now_us() / 1000000));
	char *out = arena_strdup(r->arena, t);
	free(t);
	return out;
}

static const char *decrypt_blob(struct http_req *r, const char *token)
{
	size_t cap = strlen(token) + 1;
	unsigned char *buf = arena_alloc(r->arena, cap + 1);
	uint64_t ts;
	long n = fernet_decrypt(ident(r)->cred_keys, token, buf, cap, &ts);
	if (n < 0) {
		log_error("a stored credential cannot be decrypted with the credential keys");
		return NULL;
	}
	buf[n] = 0;
	return (const char *)buf;
}

static void cred_from_row(struct http_req *r, const struct db_rows *rows, int i, struct cred *c)
{
	c->id = arena_strdup(r->arena, db_text(rows, i, 0));
	c->user_id = arena_strdup(r->arena, db_text(rows, i, 1));
	c->project_id = arena_strdup(r->arena, db_text(rows, i, 2));
	c->type = arena_strdup(r->arena, db_text(rows, i, 3));
	c->blob = arena_strdup(r->arena, db_text(rows, i, 4));    /* still encrypted */
	c->extra = arena_strdup(r->arena, db_text(rows, i, 5));
}

/* Decrypts c's blob in place; 0 or 500 recorded. */
static int cred_decrypt(struct http_req *r, struct cred *c)
{
	return (c->blob = decrypt_blob(r, c->blob)) ? 0 : ident_internal(r);
}

/* Loads and decrypts one credential; *found false when it does not exist. */
static int cred_get(struct http_req *r, const char *id, struct cred *c, bool *found)
{
	struct db_rows *rows;
	int rc = db_query(ident_db(r), &rows, "SELECT " CRED_COLS " FROM credential WHERE id = ?", DB_TEXT(id));
	if (rc < 0)
		return ident_db_error(r, rc, "credential");
	*found = db_rows_count(rows) > 0;
	if (*found)
		cred_from_row(r, rows, 0, c);
	db_rows_free(rows);
	return *found ? cred_decrypt(r, c) : 0;
}

static json_t *cred_render(struct http_req *r, const struct cred *c)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", c->id, "user_id", c->user_id, "type", c->type,
			      "blob", c->blob);
	json_object_set_new(o, "project_id", c->project_id ? json_string(c->project_id) : json_null());
	json_object_set_new(o, "links", ident_links(r, "/v3/credentials/%s", c->id));
	ident_merge_extra(o, c->extra);
	return o;
}

static json_t *cred_target(const struct cred *c)
{
	return ident_target("target.credential.id", c->id, "target.credential.user_id", c->user_id,
			    "target.credential.project_id", c->project_id,
			    "target.credential.type", c->type, NULL);
}

/* Loads credential id for a member route and checks rule on it; 404 after the policy check. */
static int cred_load_enforced(struct http_req *r, const char *rule, const char *id, struct cred *c)
{
	bool found = false;
	int rc = cred_get(r, id, c, &found);
	if (rc < 0 || (rc = ident_enforce_steal(r, rule, found ? cred_target(c) : NULL)) < 0)
		return rc;
	return found ? 0 : ident_not_found(r, "credential", id);
}

static bool is_ec2(const char *type)
{
	return type && !strcasecmp(type, "ec2");
}

/* Validates an ec2 blob (JSON with an access key); the parsed blob or NULL with 400. */
static json_t *ec2_blob(struct http_req *r, const char *blob)
{
	json_t *b = json_loads(blob, JSON_DECODE_ANY, NULL);
	if (!b) {
		http_error(r, ERR_BADREQ, "Invalid blob in credential");
		return NULL;
	}
	const char *what = NULL;
	if (!json_is_object(b) || !json_object_size(b))
		what = "blob";
	else if (!json_is_string(json_object_get(b, "access")))
		what = "access";
	if (what) {
		json_decref(b);
		http_error(r, ERR_BADREQ, "Expecting to find %s in credential. The server could not comply "
			   "with the request since it is either malformed or otherwise incorrect. The client "
			   "is assumed to be in error.", what);
		return NULL;
	}
	return b;
}

static int blob_size_ok(struct http_req *r, const char *blob)
{
	if (strlen(blob) > CRED_BLOB_MAX)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'blob': longer than %d bytes.", CRED_BLOB_MAX);
	return 0;
}

/* Replies with the credentials of rows the caller may read (all when visible is NULL),
 * decrypted and rendered; frees rows. */
static int reply_creds(struct http_req *r, struct db_rows *rows,
		       bool (*visible)(struct http_req *, const struct cred *),
		       json_t *(*render)(struct http_req *, const struct cred *))
{
	json_t *list = json_array();
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct cred c;
		cred_from_row(r, rows, i, &c);
		if (visible && !visible(r, &c))
			continue;
		if (cred_decrypt(r, &c) < 0) {
			db_rows_free(rows);
			json_decref(list);
			return r->err;
		}
		json_array_append_new(list, render(r, &c));
	}
	db_rows_free(rows);
	return ident_reply_list(r, "credentials", list);
}

/* ---- /v3/credentials ---- */

/* Only what the caller may read: their own, or everything for readers of the system. */
static bool cred_visible(struct http_req *r, const struct cred *c)
{
	json_t *t = cred_target(c);
	bool ok = auth_allowed(ident(r)->policy, r, "identity:get_credential", t);
	json_decref(t);
	return ok;
}

static int h_list_credentials(struct http_req *r)
{
	int rc;
	json_t *t = r->auth->system_scoped ? NULL
		: ident_target("target.credential.user_id", r->auth->user_id, NULL);
	if ((rc = ident_enforce_steal(r, "identity:list_credentials", t)) < 0)
		return rc;
	struct ident_sql q;
	ident_sql_init(&q, r->arena, "SELECT " CRED_COLS " FROM credential WHERE 1 = 1");
	ident_sql_filter(&q, r, "user_id", "user_id");
	ident_sql_filter(&q, r, "type", "type");
	struct db_rows *rows;
	if ((rc = ident_sql_query(ident_db(r), &q, &rows)) < 0)
		return ident_db_error(r, rc, "credential");
	/* A delegated token sees an empty list. */
	bool delegated = require_primary_auth(r) < 0;
	ident_clear_error(r);
	if (delegated) {
		db_rows_free(rows);
		return ident_reply_list(r, "credentials", json_array());
	}
	return reply_creds(r, rows, cred_visible, cred_render);
}

static int h_get_credential(struct http_req *r)
{
	const char *id = http_param(r, "credential_id");
	struct cred c = { 0 };
	int rc;
	if ((rc = cred_load_enforced(r, "identity:get_credential", id, &c)) < 0)
		return rc;
	if ((rc = require_primary_auth(r)) < 0)
		return rc;
	return ident_reply_one(r, 200, "credential", cred_render(r, &c));
}

/* The string members of a create or update body (present ones must be strings). */
static int cred_fields(struct http_req *r, const json_t *b, bool create, struct cred *c)
{
	int rc;
	if ((rc = ident_str(r, b, "blob", create, false, 0, &c->blob)) < 0 ||
	    (rc = ident_str(r, b, "type", create, false, IDENT_NAME_MAX, &c->type)) < 0 ||
	    (rc = ident_str(r, b, "user_id", create, false, IDENT_ID_MAX, &c->user_id)) < 0 ||
	    (rc = ident_str(r, b, "project_id", false, false, IDENT_ID_MAX, &c->project_id)) < 0)
		return rc;
	if (c->blob && (rc = blob_size_ok(r, c->blob)) < 0)
		return rc;
	return 0;
}

/* Keystone words a duplicate credential by its id, not by a name. */
static int cred_store_error(struct http_req *r, int rc, const char *id)
{
	if (rc != ERR_CONFLICT)
		return ident_db_error(r, rc, "credential");
	ident_rollback(r);
	return http_error(r, ERR_CONFLICT, "Conflict occurred attempting to store credential - "
			  "Duplicate entry found with ID %s.", id);
}

static int h_create_credential(struct http_req *r)
{
	json_t *b = ident_body(r, "credential");
	if (!b)
		return r->err;
	int rc;
	json_t *t = ident_target("target.credential.user_id", json_string_value(json_object_get(b, "user_id")),
				 "target.credential.project_id", json_string_value(json_object_get(b, "project_id")),
				 "target.credential.type", json_string_value(json_object_get(b, "type")), NULL);
	if ((rc = ident_enforce_steal(r, "identity:create_credential", t)) < 0)
		return rc;
	struct cred c = { 0 };
	if ((rc = cred_fields(r, b, true, &c)) < 0)
		return rc;
	if (!strcmp(c.type, "ec2") && !c.project_id)
		return http_error(r, ERR_BADREQ, "Invalid input for field 'project_id': 'project_id' is a "
				  "required property for ec2 credentials.");
	if ((rc = require_primary_auth(r)) < 0)
		return rc;
	char id[65];
	if (is_ec2(c.type)) {
		json_t *blob = ec2_blob(r, c.blob);
		if (!blob)
			return r->err;
		rc = access_key_id(r, json_string_value(json_object_get(blob, "access")), id);
		json_decref(blob);
		if (rc < 0)
			return rc;
	} else {
		uuid_hex(id);
	}
	c.id = id;
	c.extra = ident_extra(r, b, cred_known, NULL);
	const char *enc = encrypt_blob(r, c.blob);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO credential (id, user_id, project_id, type, encrypted_blob, extra)"
		     " VALUES (?, ?, ?, ?, ?, ?)", DB_TEXT(c.id), DB_TEXT(c.user_id), DB_TEXT(c.project_id),
		     DB_TEXT(c.type), DB_TEXT(enc), DB_TEXT(c.extra));
	if (rc < 0)
		return cred_store_error(r, rc, c.id);
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return ident_reply_one(r, 201, "credential", cred_render(r, &c));
}

/* An ec2 credential's scope keys cannot change with its blob. */
static int check_ec2_blob_update(struct http_req *r, const char *old_blob, const char *new_blob)
{
	static const char *const fixed[] = { "trust_id", "app_cred_id", "access_token_id", "access_id", NULL };
	json_t *nb = ec2_blob(r, new_blob);
	if (!nb)
		return r->err;
	json_t *ob = json_loads(old_blob, JSON_DECODE_ANY, NULL);
	int rc = 0;
	for (const char *const *k = fixed; *k && rc == 0; k++) {
		json_t *o = json_is_object(ob) ? json_object_get(ob, *k) : NULL;
		json_t *n = json_object_get(nb, *k);
		if (json_is_null(o))
			o = NULL;
		if (json_is_null(n))
			n = NULL;
		if ((o || n) && !(o && n && json_equal(o, n)))
			rc = http_error(r, ERR_BADREQ, "%s can not be updated for credential", *k);
	}
	json_decref(ob);
	json_decref(nb);
	return rc;
}

static int h_update_credential(struct http_req *r)
{
	const char *id = http_param(r, "credential_id");
	struct cred cur = { 0 };
	int rc;
	if ((rc = cred_load_enforced(r, "identity:update_credential", id, &cur)) < 0)
		return rc;
	json_t *b = ident_body(r, "credential");
	if (!b)
		return r->err;
	if (!json_object_size(b))
		return http_error(r, ERR_BADREQ, "Invalid input for field 'credential': {} does not have enough properties");
	struct cred in = { 0 };
	if ((rc = cred_fields(r, b, false, &in)) < 0)
		return rc;
	if ((rc = require_primary_auth(r)) < 0)
		return rc;
	if (is_ec2(cur.type) && in.blob && (rc = check_ec2_blob_update(r, cur.blob, in.blob)) < 0)
		return rc;
	if ((rc = ident_same_id(r, b, id)) < 0)
		return rc;
	struct cred next = {
		.id = cur.id,
		.user_id = in.user_id ? in.user_id : cur.user_id,
		.project_id = json_object_get(b, "project_id") ? in.project_id : cur.project_id,
		.type = in.type ? in.type : cur.type,
		.blob = in.blob ? in.blob : cur.blob,
		.extra = ident_extra(r, b, cred_known, cur.extra),
	};
	/* The caller must also be allowed to own the result (no handing credentials to others). */
	if ((rc = ident_enforce_steal(r, "identity:update_credential", cred_target(&next))) < 0)
		return rc;
	const char *enc = encrypt_blob(r, next.blob);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "UPDATE credential SET user_id = ?, project_id = ?, type = ?,"
		     " encrypted_blob = ?, extra = ? WHERE id = ?", DB_TEXT(next.user_id),
		     DB_TEXT(next.project_id), DB_TEXT(next.type), DB_TEXT(enc), DB_TEXT(next.extra), DB_TEXT(id));
	if (rc < 0)
		return cred_store_error(r, rc, id);
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return ident_reply_one(r, 200, "credential", cred_render(r, &next));
}

static int h_delete_credential(struct http_req *r)
{
	const char *id = http_param(r, "credential_id");
	struct cred c = { 0 };
	int rc;
	if ((rc = cred_load_enforced(r, "identity:delete_credential", id, &c)) < 0)
		return rc;
	if ((rc = require_primary_auth(r)) < 0)
		return rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	if ((rc = db_exec(ident_db(r), "DELETE FROM credential WHERE id = ?", DB_TEXT(id))) < 0)
		return ident_db_error(r, rc, "credential");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

/* ---- OS-EC2 ---- */

static int user_must_exist(struct http_req *r, const char *user_id)
{
	return ident_must_exist(r, "users", "user", user_id);
}

/* {user_id, tenant_id, access, secret, trust_id, links} of an ec2 credential. */
static json_t *ec2_render(struct http_req *r, const struct cred *c)
{
	json_t *b = ident_object_parse(c->blob);
	json_t *access = json_object_get(b, "access"), *secret = json_object_get(b, "secret");
	json_t *trust = json_object_get(b, "trust_id");
	json_t *o = json_pack("{s:s,s:O,s:O,s:O}", "user_id", c->user_id,
			      "access", access ? access : json_null(), "secret", secret ? secret : json_null(),
			      "trust_id", trust ? trust : json_null());
	json_object_set_new(o, "tenant_id", c->project_id ? json_string(c->project_id) : json_null());
	const char *a = json_string_value(access);
	json_object_set_new(o, "links", ident_links(r, "/v3/users/%s/credentials/OS-EC2/%s", c->user_id, a ? a : ""));
	json_decref(b);
	return o;
}

static json_t *ec2_owner_target(const char *user_id)
{
	return ident_target("user_id", user_id, "target.credential.user_id", user_id, NULL);
}

static int h_ec2_list(struct http_req *r)
{
	const char *user_id = http_param(r, "user_id");
	int rc;
	if ((rc = ident_enforce_steal(r, "identity:ec2_list_credentials", ec2_owner_target(user_id))) < 0 ||
	    (rc = require_primary_auth(r)) < 0 || (rc = user_must_exist(r, user_id)) < 0)
		return rc;
	struct db_rows *rows;
	if ((rc = db_query(ident_db(r), &rows, "SELECT " CRED_COLS " FROM credential WHERE user_id = ?"
			   " AND type = 'ec2'", DB_TEXT(user_id))) < 0)
		return ident_db_error(r, rc, "credential");
	return reply_creds(r, rows, NULL, ec2_render);
}

static int h_ec2_create(struct http_req *r)
{
	const char *user_id = http_param(r, "user_id");
	int rc;
	if ((rc = ident_enforce_steal(r, "identity:ec2_create_credential", ec2_owner_target(user_id))) < 0 ||
	    (rc = user_must_exist(r, user_id)) < 0)
		return rc;
	json_t *b = r->body_len ? http_body_json(r) : NULL;
	if (r->body_len && !b)
		return r->err;
	const char *tenant = json_string_value(json_object_get(b, "tenant_id"));
	if (!tenant)
		return ident_not_found(r, "project", "None");
	if ((rc = ident_must_exist(r, "project", "project", tenant)) < 0)
		return rc;
	if ((rc = require_primary_auth(r)) < 0)
		return rc;
	char access[33], secret[33], id[65];
	uuid_hex(access);
	uuid_hex(secret);
	if ((rc = access_key_id(r, access, id)) < 0)
		return rc;
	json_t *blob = json_pack("{s:s,s:s,s:n}", "access", access, "secret", secret, "trust_id");
	struct cred c = { .id = id, .user_id = user_id, .project_id = tenant, .type = "ec2",
			  .blob = ident_json_text(r, blob) };
	json_decref(blob);
	const char *enc = encrypt_blob(r, c.blob);
	if ((rc = ident_begin(r)) < 0)
		return rc;
	rc = db_exec(ident_db(r), "INSERT INTO credential (id, user_id, project_id, type, encrypted_blob)"
		     " VALUES (?, ?, ?, 'ec2', ?)", DB_TEXT(id), DB_TEXT(user_id), DB_TEXT(tenant), DB_TEXT(enc));
	if (rc < 0)
		return cred_store_error(r, rc, id);
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return ident_reply_one(r, 201, "credential", ec2_render(r, &c));
}

/* Loads the ec2 credential of a path's access key for GET and DELETE, checking rule. */
static int ec2_load(struct http_req *r, const char *rule, struct cred *c)
{
	const char *user_id = http_param(r, "user_id"), *access = http_param(r, "credential_id");
	char id[65];
	bool found = false;
	int rc;
	if ((rc = access_key_id(r, access, id)) < 0 || (rc = cred_get(r, id, c, &found)) < 0)
		return rc;
	if (!found)
		return ident_not_found(r, "credential", id);
	json_t *t = cred_target(c);
	json_object_set_new(t, "user_id", json_string(user_id));
	if ((rc = ident_enforce_steal(r, rule, t)) < 0 || (rc = user_must_exist(r, user_id)) < 0)
		return rc;
	if (strcmp(c->type, "ec2"))
		return http_error(r, ERR_UNAUTH, "EC2 access key not found.");
	return require_primary_auth(r);
}

static int h_ec2_get(struct http_req *r)
{
	struct cred c = { 0 };
	int rc = ec2_load(r, "identity:ec2_get_credential", &c);
	if (rc < 0)
		return rc;
	return ident_reply_one(r, 200, "credential", ec2_render(r, &c));
}

static int h_ec2_delete(struct http_req *r)
{
	struct cred c = { 0 };
	int rc = ec2_load(r, "identity:ec2_delete_credential", &c);
	if (rc < 0)
		return rc;
	if ((rc = ident_begin(r)) < 0)
		return rc;
	if ((rc = db_exec(ident_db(r), "DELETE FROM credential WHERE id = ?", DB_TEXT(c.id))) < 0)
		return ident_db_error(r, rc, "credential");
	if ((rc = ident_commit(r)) < 0)
		return rc;
	return http_reply_empty(r, 204);
}

const struct route ident_routes_credentials[] = {
	{ "GET", "/v3/credentials", h_list_credentials, NULL, 0 },
	{ "POST", "/v3/credentials", h_create_credential, NULL, 0 },
	{ "GET", "/v3/credentials/{credential_id}", h_get_credential, NULL, 0 },
	{ "PATCH", "/v3/credentials/{credential_id}", h_update_credential, NULL, 0 },
	{ "DELETE", "/v3/credentials/{credential_id}", h_delete_credential, NULL, 0 },
	{ "GET", "/v3/users/{user_id}/credentials/OS-EC2", h_ec2_list, NULL, 0 },
	{ "POST", "/v3/users/{user_id}/credentials/OS-EC2", h_ec2_create, NULL, 0 },
	{ "GET", "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}", h_ec2_get, NULL, 0 },
	{ "DELETE", "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}", h_ec2_delete, NULL, 0 },
	{ 0 },
};
