/* policy.h — oslo.policy-compatible rule evaluation: the defaults each service declares,
 * overridable by a policy.yaml/json file in oslo.policy syntax.
 * Supported: "" / "@" (always), "!" (never), role:NAME, rule:NAME, and/or/not, parentheses,
 * and generic checks KIND:MATCH where MATCH is text with %(key)s substituted from the target.
 * Exactly as oslo.policy: precedence not > and > or; a generic check compares str() of both
 * sides after substitution, KIND being a credential attribute or a literal ('text', True,
 * False, None, an integer: "True:%(target.user.enabled)s", "None:%(target.x)s"); JSON null prints
 * as None and so does an unset plain credential (domain_id of a project token is "None");
 * a %(key)s missing from the target never matches; role: is case-insensitive; a rule:NAME
 * that is not defined is false. Unlike oslo.policy, an unparsable rule is an error at load
 * time (not a silent deny), remote http: checks are refused, and a rule cycle or a runaway
 * evaluation denies the check instead of crashing. */
#ifndef AUTH_POLICY_H
#define AUTH_POLICY_H
#include <stdbool.h>
#include <jansson.h>

struct policy;

/* The caller, as policy sees it. Credential attributes a rule may name:
 * user_id, project_id, domain_id, system_scope ("all" when system-scoped), user_domain_id,
 * project_domain_id, is_admin (boolean), and token.* spellings Keystone uses
 * (token.domain.id, token.project.domain.id). Unknown attributes never match.
 * token.* are present only when the token has that part: token.user.id, token.user.domain.id,
 * token.project.id, token.project.domain.id (project scope), token.domain.id (domain scope),
 * token.system.all ("True" when system-scoped), token.roles.name (any role, exact case);
 * "roles" compares exactly against each role. is_admin matches is_admin:True and is_admin:1. */
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
 * expression). A missing file (or a NULL or empty path) is not an error: 0, or -1 with err.
 * All or nothing: on an error no rule changes. Not safe while other threads check p: load
 * files before serving (or build a new policy and swap it). A null value means "" (allow). */
int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen);
/* True when a rule of that name exists. */
bool policy_has_rule(const struct policy *p, const char *name);
/* Evaluates rule `name` for creds against target (a flat JSON object of string/bool/number
 * values keyed like "target.user.domain_id" or "user_id"; may be NULL). An unknown rule name
 * is denied. Thread-safe for concurrent checks. */
bool policy_check(const struct policy *p, const char *name, const struct policy_creds *creds,
		  const json_t *target);
/* Evaluates an expression text directly (for tests): 1 allowed, 0 denied, -1 on a parse
 * error. p may be NULL (then every rule:NAME is undefined). */
int policy_check_expr(const struct policy *p, const char *expr, const struct policy_creds *creds,
		      const json_t *target);

#endif
