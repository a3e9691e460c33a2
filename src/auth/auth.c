/* auth.c — request authentication through the registered validator, and policy checks. */
#include "auth/auth.h"
#include "core/http.h"
#include <string.h>
#include <strings.h>

static auth_validator validator;
static void *validator_data;

void auth_set_validator(auth_validator fn, void *data)
{
	validator = fn;
	validator_data = data;
}

int auth_validate(struct arena *a, const char *token, bool allow_expired,
		  const struct auth_ctx **out, char *msg, size_t msglen)
{
	if (!validator) {
		snprintf(msg, msglen, "No identity service is available to validate tokens.");
		return ERR_UNAUTH;
	}
	return validator(validator_data, a, token, allow_expired, out, msg, msglen);
}

int auth_require(struct http_req *r)
{
	const char *tok = http_header(r, "X-Auth-Token");
	if (!tok || !*tok)
		return http_error(r, ERR_UNAUTH, "The request you have made requires authentication.");
	const struct auth_ctx *c;
	char msg[256];
	int rc = auth_validate(r->arena, tok, false, &c, msg, sizeof msg);
	if (rc < 0)
		return http_error(r, ERR_UNAUTH, "The request you have made requires authentication.");
	r->auth = (struct auth_ctx *)c;
	return 0;
}

bool auth_allowed(const struct policy *p, const struct http_req *r, const char *rule, const json_t *target)
{
	if (!r->auth)
		return false;
	return policy_check(p, rule, &r->auth->creds, target);
}

void auth_ctx_finish(struct auth_ctx *c)
{
	c->creds.user_id = c->user_id;
	c->creds.user_domain_id = c->user_domain_id;
	c->creds.project_id = c->project_id;
	c->creds.project_domain_id = c->project_domain_id;
	c->creds.domain_id = c->domain_id;
	c->creds.system_scope = c->system_scoped ? "all" : NULL;
	c->creds.roles = c->role_names;
	c->creds.nroles = c->nroles;
	c->creds.is_admin = false;
}

bool auth_has_role(const struct auth_ctx *c, const char *name)
{
	for (int i = 0; i < c->nroles; i++)
		if (!strcasecmp(c->role_names[i], name))
			return true;
	return false;
}
