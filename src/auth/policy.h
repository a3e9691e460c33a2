/* policy.h — oslo.policy-compatible rule evaluation: the defaults each service declares,
 * overridable by a policy.yaml/json file in oslo.policy syntax.
 * Supported: "" / "@" (always), "!" (never), role:NAME, rule:NAME, and/or/not, parentheses,
 * and generic checks ATTR:VALUE where ATTR is a credential attribute and VALUE is a literal
 * ('quoted', True, False, None, or bare text) or %(key)s substituted from the target. */
#ifndef AUTH_POLICY_H
#define AUTH_POLICY_H
#include <stdbool.h>
#include <jansson.h>

struct policy;

/* The caller, as policy sees it. Credential attributes a rule may name:
 * user_id, project_id, domain_id, system_scope ("all" when system-scoped), user_domain_id,
 * project_domain_id, is_admin (boolean), and token.* spellings Keystone uses
 * (token.domain.id, token.project.domain.id). Unknown attributes never match. */
struct policy_creds {
	const char *user_id;
	const char *user_domain_id;
	const char *project_id;
	const char *project_domain_id;
	const char *domain_id;        /* domain scope */
	const char *system_scope;     /* "all" or NULL */
	const char *const *roles;     /* role names (effective, implied roles expanded) */
	int nroles;
	bool is_admin;                /* context is_admin (bootstrap/internal), normally false */
};

/* A policy from a defaults text (one rule per line: "name": "expression", YAML style; lines
 * starting with # ignored). Returns NULL with a message in err on a parse error. */
struct policy *policy_new(const char *defaults, char *err, size_t errlen);
void policy_free(struct policy *p);
/* Overrides rules from a YAML or JSON file in oslo.policy format (a mapping of rule name to
 * expression). A missing file is not an error (returns 0). 0 or -1 with err. */
int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen);
/* True when a rule of that name exists. */
bool policy_has_rule(const struct policy *p, const char *name);
/* Evaluates rule `name` for creds against target (a flat JSON object of string/bool/number
 * values keyed like "target.user.domain_id" or "user_id"; may be NULL). An unknown rule name
 * is denied. Thread-safe for concurrent checks. */
bool policy_check(const struct policy *p, const char *name, const struct policy_creds *creds,
		  const json_t *target);
/* Evaluates an expression text directly (for tests); -1 on a parse error. */
int policy_check_expr(const struct policy *p, const char *expr, const struct policy_creds *creds,
		      const json_t *target);

#endif
