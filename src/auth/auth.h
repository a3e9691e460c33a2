/* auth.h — the shared token-and-policy layer every service uses (what keystonemiddleware and
 * oslo.policy do for OpenStack): who is calling, and may they do this.
 * The identity service registers the validator; other services only call auth_require(). */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "auth/policy.h"

struct arena;
struct http_req;

enum auth_method { AUTH_PASSWORD = 1, AUTH_TOKEN = 2, AUTH_APP_CRED = 4 };

/* A validated token. Immutable once built; strings live as long as the request's arena. */
struct auth_ctx {
	const char *token;                 /* the token itself: never log it */
	const char *user_id, *user_name, *user_domain_id, *user_domain_name;
	const char *project_id, *project_name, *project_domain_id, *project_domain_name;
	const char *domain_id, *domain_name;   /* domain scope */
	bool system_scoped;
	int nroles;
	const char *const *role_ids;
	const char *const *role_names;
	const char *audit_id;              /* this token's audit id */
	const char *audit_chain_id;        /* the first token's audit id in a rescope chain */
	const char *app_cred_id;           /* set when authenticated by an application credential */
	unsigned methods;                  /* enum auth_method bits */
	int64_t issued_at, expires_at;     /* microseconds since the epoch */
	json_t *token_body;                /* identity's rendering {"token": {...}}, borrowed */
	struct policy_creds creds;         /* the same facts as policy sees them */
};

/* Validates a token: 0 and *out (valid for the arena's life), or ERR_UNAUTH/ERR_NOTFOUND with a
 * message. allow_expired accepts tokens expired within the configured window. */
typedef int (*auth_validator)(void *data, struct arena *a, const char *token, bool allow_expired,
			      const struct auth_ctx **out, char *msg, size_t msglen);

void auth_set_validator(auth_validator fn, void *data);
int auth_validate(struct arena *a, const char *token, bool allow_expired,
		  const struct auth_ctx **out, char *msg, size_t msglen);

/* Authenticates r from its X-Auth-Token header and sets r->auth; returns 0 or ERR_UNAUTH with
 * the message recorded in r. */
int auth_require(struct http_req *r);
/* True when r's caller passes rule under policy p for target (flat JSON, may be NULL). */
bool auth_allowed(const struct policy *p, const struct http_req *r, const char *rule, const json_t *target);
/* Fills c->creds from the other fields (call after building a context). */
void auth_ctx_finish(struct auth_ctx *c);
/* True when the context carries a role of that name. */
bool auth_has_role(const struct auth_ctx *c, const char *name);

#endif
