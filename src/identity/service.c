/* service.c — the identity service object: configuration options, start-up (keys, policy,
 * validator), the combined route table, the per-request hooks and Keystone's error body. */
#include "identity/token.h"
#include "identity/policy_defaults.h"
#include "core/conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct conf_opt identity_conf_opts[] = {
	{ "identity", "password_hash_rounds", CONF_INT, "10",
	  "bcrypt cost (log2 rounds) for new password and secret hashes; each check costs ~2^cost work" },
	{ "identity", "list_limit", CONF_INT, "0",
	  "maximum entries in a list response (0: no limit); longer lists are marked truncated" },
	{ "token", "expiration", CONF_INT, "3600", "token lifetime in seconds" },
	{ "token", "allow_expired_window", CONF_INT, "172800",
	  "seconds after expiry during which ?allow_expired=1 still validates a token" },
	{ "fernet_tokens", "key_repository", CONF_STR, "$data_dir/fernet-keys",
	  "directory of the Fernet keys that encrypt tokens (created on first start)" },
	{ "fernet_tokens", "max_active_keys", CONF_INT, "3", "keys kept by `monostack fernet-rotate`" },
	{ "credential", "key_repository", CONF_STR, "$data_dir/credential-keys",
	  "directory of the Fernet keys that encrypt stored credentials" },
	{ "oslo_policy", "policy_file", CONF_STR, "$data_dir/policy.yaml",
	  "policy overrides in oslo.policy YAML/JSON syntax (a missing file means defaults only)" },
	{ "security_compliance", "lockout_failure_attempts", CONF_INT, "0",
	  "failed password attempts before a user is locked out (0: never)" },
	{ "security_compliance", "lockout_duration", CONF_INT, "1800", "seconds a lockout lasts" },
	{ "security_compliance", "unique_last_password_count", CONF_INT, "0",
	  "a new password must differ from this many previous ones (0: no history check)" },
	{ "security_compliance", "minimum_password_age", CONF_INT, "0",
	  "days before a user may change their password again (0: any time)" },
	{ "security_compliance", "password_expires_days", CONF_INT, "0",
	  "days after which a password expires (0: never)" },
	{ "security_compliance", "password_regex", CONF_STR, "",
	  "POSIX extended regular expression every new password must match (empty: any)" },
	{ "security_compliance", "password_regex_description", CONF_STR, "",
	  "human description of password_regex, shown when a password is refused" },
	{ NULL, NULL, 0, NULL, NULL },
};

static const struct route *const families[] = {
	ident_routes_version, ident_routes_auth, ident_routes_domains, ident_routes_projects,
	ident_routes_users, ident_routes_groups, ident_routes_roles, ident_routes_assignments,
	ident_routes_catalog, ident_routes_appcreds, ident_routes_credentials,
	ident_routes_project_tags, ident_routes_endpoint_filter, ident_routes_policies,
	ident_routes_trusts,
};

static void render_error(struct http_req *r)
{
	int st = err_status(r->err);
	const char *title = err_title(st);
	if (st == 401) {
		title = "Unauthorized";
		http_add_header(r, "WWW-Authenticate",
				arena_printf(r->arena, "Keystone uri=\"%s%s\"", r->base_url, IDENT_PREFIX));
	}
	if (st >= 500)
		log_error("%s %s failed: %s", r->method, r->path, r->errmsg);
	http_reply_json(r, st, json_pack("{s:{s:i,s:s,s:s}}", "error", "code", st, "title", title,
					 "message", r->errmsg));
}

static int before(struct http_req *r)
{
	struct identity *id = r->svc->data;
	struct ident_req *ir = arena_alloc(r->arena, sizeof *ir);
	ir->id = id;
	r->svc_data = ir;
	if (r->route->flags & ROUTE_PUBLIC)
		return 0;
	int rc = auth_require(r);
	if (rc < 0)
		return rc;
	if (r->route->policy)
		return ident_enforce(r, r->route->policy, NULL);
	return 0;
}

static void after(struct http_req *r)
{
	struct ident_req *ir = r->svc_data;
	if (ir)
		db_slot_put(&ir->conn);   /* as soon as the response is queued */
}

static struct fernet_keys *load_keys(const char *dir, char *err, size_t errlen)
{
	if (fernet_setup(dir, err, errlen))
		return NULL;
	return fernet_load(dir, err, errlen);
}

static int64_t dir_mtime(const char *dir)
{
	struct stat st;
	if (stat(dir, &st))
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

void ident_keys_refresh(struct identity *id)
{
	int64_t now = time_now_us(), last = atomic_load(&id->keys_checked_at);
	if (now - last < 1000000 || !atomic_compare_exchange_strong(&id->keys_checked_at, &last, now))
		return;
	const char *dir = conf_str("fernet_tokens", "key_repository");
	int64_t m = dir_mtime(dir);
	if (m == id->keys_mtime)
		return;
	char err[256];
	struct fernet_keys *k = fernet_load(dir, err, sizeof err);
	if (!k) {
		log_warn("keeping the loaded Fernet keys: %s", err);
		return;
	}
	pthread_rwlock_wrlock(&id->keys_lock);
	struct fernet_keys *old = id->keys;
	id->keys = k;
	id->keys_mtime = m;
	pthread_rwlock_unlock(&id->keys_lock);
	fernet_keys_free(old);
	log_info("reloaded %d Fernet keys from %s", fernet_keys_count(k), dir);
}

struct identity *identity_new(struct db *db, char *err, size_t errlen)
{
	struct identity *id = xcalloc(1, sizeof *id);
	id->db = db;
	pthread_rwlock_init(&id->keys_lock, NULL);
	atomic_init(&id->generation, 1);
	id->keys = load_keys(conf_str("fernet_tokens", "key_repository"), err, errlen);
	id->keys_mtime = dir_mtime(conf_str("fernet_tokens", "key_repository"));
	atomic_init(&id->keys_checked_at, time_now_us());
	if (id->keys)
		id->cred_keys = load_keys(conf_str("credential", "key_repository"), err, errlen);
	if (!id->keys || !id->cred_keys)
		goto fail;
	id->policy = policy_new(identity_policy_defaults, err, errlen);
	if (!id->policy)
		goto fail;
	if (policy_load_file(id->policy, conf_str("oslo_policy", "policy_file"), err, errlen))
		goto fail;
	id->cache = token_cache_new();
	id->service = (struct http_service){
		.name = "identity",
		.prefix = IDENT_PREFIX,
		.routes = router_join(families, sizeof families / sizeof families[0]),
		.render_error = render_error,
		.before = before,
		.after = after,
		.max_body = 114688,             /* Keystone's max_request_body_size */
		.data = id,
	};
	auth_set_validator(token_validate, id);
	return id;
fail:
	identity_free(id);
	return NULL;
}

void identity_free(struct identity *id)
{
	if (!id)
		return;
	auth_set_validator(NULL, NULL);
	fernet_keys_free(id->keys);
	fernet_keys_free(id->cred_keys);
	policy_free(id->policy);
	token_cache_free(id->cache);
	free((void *)id->service.routes);
	pthread_rwlock_destroy(&id->keys_lock);
	free(id);
}

struct http_service *identity_service(struct identity *id)
{
	return &id->service;
}

int identity_rotate_keys(char *err, size_t errlen)
{
	const char *dir = conf_str("fernet_tokens", "key_repository");
	if (fernet_setup(dir, err, errlen))
		return -1;
	return fernet_rotate(dir, (int)conf_int("fernet_tokens", "max_active_keys"), err, errlen);
}
