/* test_policy.c — unit tests for src/auth/policy.c (oslo.policy semantics, override files)
 * and for Keystone's default rules in src/identity/policy_defaults.c, checked per persona. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/policy.h"
#include "identity/policy_defaults.h"

static const char *const admin_roles[] = { "admin", "member", "reader" };
static const char *const member_roles[] = { "member", "reader" };
static const char *const reader_roles[] = { "reader" };

static const struct policy_creds nobody;

static const struct policy_creds project_admin = {
	.user_id = "u-admin", .user_domain_id = "default",
	.project_id = "p-admin", .project_domain_id = "default",
	.roles = admin_roles, .nroles = 3,
};

static const struct policy_creds project_member = {
	.user_id = "u1", .user_domain_id = "default",
	.project_id = "p1", .project_domain_id = "default",
	.roles = member_roles, .nroles = 2,
};

static const struct policy_creds system_reader = {
	.user_id = "u-sys", .user_domain_id = "default",
	.system_scope = "all",
	.roles = reader_roles, .nroles = 1,
};

static const struct policy_creds domain_reader = {
	.user_id = "u-dom", .user_domain_id = "d1",
	.domain_id = "d1",
	.roles = reader_roles, .nroles = 1,
};

/* A flat target from "key", value pairs; a value "=null"/"=true"/"=false" is that JSON. */
static json_t *target_of(const char *first, ...)
{
	json_t *t = json_object();
	va_list ap;

	va_start(ap, first);
	for (const char *k = first; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		json_t *jv = !strcmp(v, "=null") ? json_null() : !strcmp(v, "=true") ? json_true() :
			     !strcmp(v, "=false") ? json_false() : json_string(v);
		json_object_set_new(t, k, jv);
	}
	va_end(ap);
	return t;
}

static int expr(const char *e, const struct policy_creds *c, const json_t *t)
{
	return policy_check_expr(NULL, e, c, t);
}

static void test_constants(void **state)
{
	(void)state;
	assert_int_equal(expr("", &nobody, NULL), 1);
	assert_int_equal(expr("@", &nobody, NULL), 1);
	assert_int_equal(expr("!", &nobody, NULL), 0);
	assert_int_equal(expr("not !", &nobody, NULL), 1);
	assert_int_equal(expr("not not !", &nobody, NULL), 0);
}

static void test_precedence(void **state)
{
	(void)state;
	/* and binds tighter than or: @ or (! and !) */
	assert_int_equal(expr("@ or ! and !", &nobody, NULL), 1);
	assert_int_equal(expr("! and ! or @", &nobody, NULL), 1);
	assert_int_equal(expr("! and @ or @ and !", &nobody, NULL), 0);
	assert_int_equal(expr("! or @ and @ or !", &nobody, NULL), 1);
	/* not binds tighter than and/or */
	assert_int_equal(expr("not @ or @", &nobody, NULL), 1);
	assert_int_equal(expr("not @ and !", &nobody, NULL), 0);
	assert_int_equal(expr("not (@ and !)", &nobody, NULL), 1);
	assert_int_equal(expr("not ! and not !", &nobody, NULL), 1);
	/* parentheses override, and may hug the checks and each other */
	assert_int_equal(expr("(@ or !) and !", &nobody, NULL), 0);
	assert_int_equal(expr("((@))", &nobody, NULL), 1);
	assert_int_equal(expr("(not(@))", &nobody, NULL), -1);  /* "not(@" is one check word */
	assert_int_equal(expr("(not (!))", &nobody, NULL), 1);
	assert_int_equal(expr("@ and (! or (@ and (@)))", &nobody, NULL), 1);
	/* keywords are case-insensitive, whitespace is any */
	assert_int_equal(expr("! OR\t@", &nobody, NULL), 1);
	assert_int_equal(expr("@ AnD\n!", &nobody, NULL), 0);
	assert_int_equal(expr("NOT !", &nobody, NULL), 1);
}

static void test_role_check(void **state)
{
	const char *const roles[] = { "Admin", "member" };
	struct policy_creds c = { .user_id = "u", .roles = roles, .nroles = 2 };
	json_t *t = target_of("target.role.name", "MEMBER", NULL);

	(void)state;
	assert_int_equal(expr("role:admin", &c, NULL), 1);
	assert_int_equal(expr("role:ADMIN", &c, NULL), 1);
	assert_int_equal(expr("role:reader", &c, NULL), 0);
	assert_int_equal(expr("role:%(target.role.name)s", &c, t), 1);
	assert_int_equal(expr("role:%(target.nothing)s", &c, t), 0);
	assert_int_equal(expr("role:admin", &nobody, NULL), 0);
	/* the generic "roles" attribute compares exactly */
	assert_int_equal(expr("roles:Admin", &c, NULL), 1);
	assert_int_equal(expr("roles:admin", &c, NULL), 0);
	json_decref(t);
}

static void test_generic_check(void **state)
{
	json_t *t = target_of("target.user.id", "u1", "target.user.domain_id", "default",
			      "target.enabled", "=true", "target.off", "=false",
			      "target.role.domain_id", "=null", "target.name", "Member",
			      "user_id", "u1", NULL);

	(void)state;
	json_object_set_new(t, "target.count", json_integer(3));
	assert_int_equal(expr("user_id:%(target.user.id)s", &project_member, t), 1);
	assert_int_equal(expr("user_id:%(user_id)s", &project_member, t), 1);
	assert_int_equal(expr("user_id:%(target.user.id)s", &project_admin, t), 0);
	/* a missing key never matches, whatever else holds */
	assert_int_equal(expr("user_id:%(target.missing)s", &project_member, t), 0);
	assert_int_equal(expr("user_id:%(target.user.id)s", &project_member, NULL), 0);
	assert_int_equal(expr("not user_id:%(target.missing)s", &project_member, t), 1);
	/* literals on the left, compared with str() of the substituted value */
	assert_int_equal(expr("True:%(target.enabled)s", &nobody, t), 1);
	assert_int_equal(expr("True:%(target.off)s", &nobody, t), 0);
	assert_int_equal(expr("False:%(target.off)s", &nobody, t), 1);
	assert_int_equal(expr("None:%(target.role.domain_id)s", &nobody, t), 1);
	assert_int_equal(expr("None:%(target.user.id)s", &nobody, t), 0);
	assert_int_equal(expr("'Member':%(target.name)s", &nobody, t), 1);
	assert_int_equal(expr("\"Member\":%(target.name)s", &nobody, t), 1);
	assert_int_equal(expr("'member':%(target.name)s", &nobody, t), 0);
	assert_int_equal(expr("3:%(target.count)s", &nobody, t), 1);
	assert_int_equal(expr("True:True", &nobody, NULL), 1);
	/* plain text and mixed templates; %% is a literal percent */
	assert_int_equal(expr("project_id:p1", &project_member, NULL), 1);
	assert_int_equal(expr("project_id:P1", &project_member, NULL), 0);
	assert_int_equal(expr("user_id:u%(target.count)s", &(struct policy_creds){ .user_id = "u3" }, t), 1);
	assert_int_equal(expr("user_id:50%%", &(struct policy_creds){ .user_id = "50%" }, NULL), 1);
	/* scope attributes; an unset one is None, as in Keystone's creds dict */
	assert_int_equal(expr("system_scope:all", &system_reader, NULL), 1);
	assert_int_equal(expr("system_scope:all", &project_member, NULL), 0);
	assert_int_equal(expr("domain_id:None", &project_member, NULL), 1);
	assert_int_equal(expr("domain_id:d1", &domain_reader, NULL), 1);
	assert_int_equal(expr("user_domain_id:default", &project_member, NULL), 1);
	assert_int_equal(expr("project_domain_id:default", &project_member, NULL), 1);
	/* unknown attributes never match */
	assert_int_equal(expr("tenant:p1", &project_member, NULL), 0);
	assert_int_equal(expr("not tenant:p1", &project_member, NULL), 1);
	json_decref(t);
}

static void test_token_attributes(void **state)
{
	json_t *t = target_of("target.domain.id", "default", "target.user.domain_id", "d1", NULL);

	(void)state;
	assert_int_equal(expr("token.project.domain.id:%(target.domain.id)s", &project_member, t), 1);
	assert_int_equal(expr("token.project.id:p1", &project_member, NULL), 1);
	assert_int_equal(expr("token.user.id:u1", &project_member, NULL), 1);
	assert_int_equal(expr("token.user.domain.id:default", &project_member, NULL), 1);
	assert_int_equal(expr("token.domain.id:%(target.user.domain_id)s", &domain_reader, t), 1);
	/* absent parts of the token are missing keys, not None */
	assert_int_equal(expr("token.domain.id:None", &project_member, NULL), 0);
	assert_int_equal(expr("token.project.domain.id:%(target.domain.id)s", &domain_reader, t), 0);
	assert_int_equal(expr("token.system.all:True", &system_reader, NULL), 1);
	assert_int_equal(expr("token.system.all:True", &project_member, NULL), 0);
	assert_int_equal(expr("token.roles.name:member", &project_member, NULL), 1);
	json_decref(t);
}

static void test_is_admin(void **state)
{
	struct policy_creds c = { .is_admin = true };

	(void)state;
	assert_int_equal(expr("is_admin:True", &c, NULL), 1);
	assert_int_equal(expr("is_admin:1", &c, NULL), 1);
	assert_int_equal(expr("is_admin:1", &nobody, NULL), 0);
	assert_int_equal(expr("is_admin:False", &nobody, NULL), 1);
}

static void test_rules(void **state)
{
	char err[256] = "";
	struct policy *p = policy_new(
		"# a comment\n"
		"\"admin\": \"role:admin\"\n"
		"\"admin_or_owner\": \"rule:admin or user_id:%(target.user.id)s\"\n"
		"\"everyone\": \"\"\n"
		"\"no_one\": \"!\"\n"
		"\"dangling\": \"rule:undefined_rule\"\n"
		"'not_dangling': 'not rule:undefined_rule'\n", err, sizeof(err));
	json_t *t = target_of("target.user.id", "u1", NULL);

	(void)state;
	assert_non_null(p);
	assert_true(policy_has_rule(p, "admin"));
	assert_false(policy_has_rule(p, "undefined_rule"));
	assert_true(policy_check(p, "admin", &project_admin, NULL));
	assert_false(policy_check(p, "admin", &project_member, NULL));
	assert_true(policy_check(p, "admin_or_owner", &project_member, t));
	assert_true(policy_check(p, "admin_or_owner", &project_admin, t));
	assert_false(policy_check(p, "admin_or_owner", &system_reader, t));
	assert_true(policy_check(p, "everyone", &nobody, NULL));
	assert_true(policy_check(p, "everyone", NULL, NULL));
	assert_false(policy_check(p, "no_one", &project_admin, NULL));
	/* undefined rules: referenced or checked directly, they deny */
	assert_false(policy_check(p, "dangling", &project_admin, NULL));
	assert_true(policy_check(p, "not_dangling", &project_admin, NULL));
	assert_false(policy_check(p, "no_such_rule", &project_admin, NULL));
	assert_false(policy_check(p, NULL, &project_admin, NULL));
	assert_int_equal(policy_check_expr(p, "rule:admin and rule:everyone", &project_admin, NULL), 1);
	assert_int_equal(policy_check_expr(p, "rule:nope", &project_admin, NULL), 0);
	json_decref(t);
	policy_free(p);
	policy_free(NULL);
}

static void test_cycles(void **state)
{
	char err[256] = "", text[8192];
	size_t off = 0;
	struct policy *p = policy_new(
		"'a': 'rule:b'\n"
		"'b': 'rule:a'\n"
		"'self': 'rule:self or @'\n"
		"'not_a': 'not rule:a'\n"
		"'safe': '@ or rule:a'\n", err, sizeof(err));

	(void)state;
	assert_non_null(p);
	assert_false(policy_check(p, "a", &project_admin, NULL));
	assert_false(policy_check(p, "self", &project_admin, NULL));
	/* a tripped guard denies the whole check; it is not a false that "not" can flip */
	assert_false(policy_check(p, "not_a", &project_admin, NULL));
	assert_int_equal(policy_check_expr(p, "not rule:a", &project_admin, NULL), 0);
	/* short-circuit never reaches the cycle */
	assert_true(policy_check(p, "safe", &project_admin, NULL));
	policy_free(p);

	/* an exponential DAG (2^30 paths) is stopped by the step budget, quickly */
	off += (size_t)snprintf(text + off, sizeof(text) - off, "'r0': '!'\n");
	for (int i = 1; i <= 30; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"'r%d': 'rule:r%d or rule:r%d'\n", i, i - 1, i - 1);
	p = policy_new(text, err, sizeof(err));
	assert_non_null(p);
	assert_false(policy_check(p, "r30", &project_admin, NULL));
	assert_false(policy_check(p, "r5", &project_admin, NULL));
	policy_free(p);
}

static void expect_parse_error(const char *rule_text, const char *needle)
{
	char text[512], err[256] = "";
	struct policy *p;

	snprintf(text, sizeof(text), "'good': '@'\n'bad': '%s'\n", rule_text);
	p = policy_new(text, err, sizeof(err));
	if (p)
		fail_msg("rule '%s' parsed", rule_text);
	if (!strstr(err, "bad") || !strstr(err, ":2:") || (needle && !strstr(err, needle)))
		fail_msg("rule '%s': unexpected message \"%s\"", rule_text, err);
	assert_int_equal(policy_check_expr(NULL, rule_text, &project_admin, NULL), -1);
}

static void test_parse_errors(void **state)
{
	char err[256] = "";

	(void)state;
	expect_parse_error("(role:admin", "')'");
	expect_parse_error("role:admin)", "\")\"");
	expect_parse_error("role:admin and", "end of rule");
	expect_parse_error("or role:admin", "\"or\"");
	expect_parse_error("role:admin role:member", "role:member");
	expect_parse_error("()", "\")\"");
	expect_parse_error("not", "end of rule");
	expect_parse_error("admin", "not a check");
	expect_parse_error("\"quoted\"", "quoted");
	expect_parse_error("user_id:%(user_id)d", "substitution");
	expect_parse_error("user_id:%(user_id", "substitution");
	expect_parse_error("user_id:100%", "substitution");
	expect_parse_error("http:http://example.com/check", "not supported");
	expect_parse_error("   ", "blank");
	/* nesting is bounded */
	char deep[128];
	memset(deep, '(', 40);
	deep[40] = '@';
	memset(deep + 41, ')', 40);
	deep[81] = '\0';
	expect_parse_error(deep, "nested");
	/* YAML-level errors in the defaults text */
	assert_null(policy_new("'a': '@'\n'b': ['@']\n", err, sizeof(err)));
	assert_non_null(strstr(err, "string"));
	assert_null(policy_new("'a': '@\n", err, sizeof(err)));
	assert_non_null(strstr(err, "YAML"));
	assert_null(policy_new("- '@'\n", err, sizeof(err)));
	assert_non_null(strstr(err, "mapping"));
	/* an empty defaults text is an empty policy */
	struct policy *p = policy_new("# nothing\n", err, sizeof(err));
	assert_non_null(p);
	assert_false(policy_check(p, "anything", &project_admin, NULL));
	policy_free(p);
}

/* Writes text to a new temporary file with the given suffix; returns its path (free it). */
static char *write_temp(const char *suffix, const char *text)
{
	char tmpl[] = "/tmp/test_policy_XXXXXX";
	int fd = mkstemp(tmpl);
	size_t len = strlen(text);
	char *path;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_true(asprintf(&path, "%s%s", tmpl, suffix) > 0);
	assert_int_equal(rename(tmpl, path), 0);
	return path;
}

static struct policy *base_policy(void)
{
	char err[256] = "";
	struct policy *p = policy_new("'admin_required': 'role:admin'\n"
				      "'identity:get_user': 'rule:admin_required'\n"
				      "'identity:list_users': 'rule:admin_required'\n", err, sizeof(err));
	assert_non_null(p);
	return p;
}

static void test_yaml_override(void **state)
{
	char err[256] = "";
	struct policy *p = base_policy();
	char *path = write_temp(".yaml",
		"# operator overrides\n"
		"---\n"
		"\"identity:get_user\": \"rule:admin_required or rule:reader_here\"\n"
		"reader_here: role:reader\n"
		"identity:open_rule:\n"
		"'identity:quoted': 'user_id:%(target.user.id)s'\n");
	json_t *t = target_of("target.user.id", "u1", NULL);

	(void)state;
	assert_false(policy_check(p, "identity:get_user", &system_reader, NULL));
	assert_int_equal(policy_load_file(p, path, err, sizeof(err)), 0);
	assert_true(policy_check(p, "identity:get_user", &system_reader, NULL));
	assert_true(policy_check(p, "identity:get_user", &project_admin, NULL));
	assert_false(policy_check(p, "identity:list_users", &system_reader, NULL));
	assert_true(policy_check(p, "identity:open_rule", &nobody, NULL));   /* null value is "" */
	assert_true(policy_check(p, "identity:quoted", &project_member, t));
	assert_true(policy_has_rule(p, "reader_here"));

	/* a bad file changes nothing and says where */
	char *bad = write_temp(".yaml", "'identity:list_users': '@'\n'identity:get_user': 'role:a and'\n");
	assert_int_equal(policy_load_file(p, bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, bad));
	assert_non_null(strstr(err, ":2:"));
	assert_non_null(strstr(err, "identity:get_user"));
	assert_false(policy_check(p, "identity:list_users", &system_reader, NULL));
	assert_true(policy_check(p, "identity:get_user", &system_reader, NULL));

	/* a missing file is not an error; an empty one overrides nothing */
	assert_int_equal(policy_load_file(p, "/nonexistent/policy.yaml", err, sizeof(err)), 0);
	char *empty = write_temp(".yaml", "");
	assert_int_equal(policy_load_file(p, empty, err, sizeof(err)), 0);
	assert_true(policy_check(p, "identity:get_user", &system_reader, NULL));

	unlink(path);
	unlink(bad);
	unlink(empty);
	free(path);
	free(bad);
	free(empty);
	json_decref(t);
	policy_free(p);
}

static void test_json_override(void **state)
{
	char err[256] = "";
	struct policy *p = base_policy();
	char *path = write_temp(".json",
		"{\n  \"identity:list_users\": \"role:reader and system_scope:all\",\n"
		"  \"identity:new\": \"rule:admin_required\",\n  \"identity:open\": null\n}\n");
	char *noext = write_temp(".policy", "  {\"identity:get_user\": \"!\"}");
	char *bad = write_temp(".json", "{\"identity:get_user\": [[\"role:admin\"]]}");
	char *broken = write_temp(".json", "{\"identity:get_user\": ");

	(void)state;
	assert_int_equal(policy_load_file(p, path, err, sizeof(err)), 0);
	assert_true(policy_check(p, "identity:list_users", &system_reader, NULL));
	assert_false(policy_check(p, "identity:list_users", &project_admin, NULL));
	assert_true(policy_check(p, "identity:new", &project_admin, NULL));
	assert_true(policy_check(p, "identity:open", &nobody, NULL));
	/* JSON is recognised by content too */
	assert_true(policy_check(p, "identity:get_user", &project_admin, NULL));
	assert_int_equal(policy_load_file(p, noext, err, sizeof(err)), 0);
	assert_false(policy_check(p, "identity:get_user", &project_admin, NULL));
	/* errors */
	assert_int_equal(policy_load_file(p, bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "list syntax"));
	assert_int_equal(policy_load_file(p, broken, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "JSON"));
	assert_false(policy_check(p, "identity:get_user", &project_admin, NULL));

	unlink(path);
	unlink(noext);
	unlink(bad);
	unlink(broken);
	free(path);
	free(noext);
	free(bad);
	free(broken);
	policy_free(p);
}

/* ---- Keystone's defaults ---- */

static struct policy *keystone(void)
{
	char err[512] = "";
	struct policy *p = policy_new(identity_policy_defaults, err, sizeof(err));

	if (!p)
		fail_msg("identity defaults: %s", err);
	return p;
}

static bool allowed(const struct policy *p, const char *rule, const struct policy_creds *c,
		    json_t *t)
{
	bool r;

	if (!policy_has_rule(p, rule))
		fail_msg("no rule %s", rule);
	r = policy_check(p, rule, c, t);
	json_decref(t);
	return r;
}

static void test_identity_defaults_load(void **state)
{
	struct policy *p = keystone();
	static const char *const names[] = {
		"admin_required", "service_role", "service_or_admin", "owner", "admin_or_owner",
		"token_subject", "admin_or_token_subject", "service_admin_or_token_subject",
		"identity:check_token", "identity:validate_token", "identity:revoke_token",
		"identity:get_domain", "identity:list_projects", "identity:create_project_tag",
		"identity:add_user_to_group", "identity:get_domain_role", "identity:create_implied_role",
		"identity:check_grant", "identity:list_role_assignments_for_tree",
		"identity:create_system_grant_for_group", "identity:get_region", "identity:list_services",
		"identity:update_endpoint", "identity:delete_application_credential",
		"identity:update_credential", "identity:get_auth_system", "identity:get_limit",
		"identity:delete_registered_limit", "identity:ec2_delete_credential",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!policy_has_rule(p, names[i]))
			fail_msg("missing %s", names[i]);
	policy_free(p);
}

static void test_identity_personas(void **state)
{
	struct policy *p = keystone();

	(void)state;
	/* users */
	assert_true(allowed(p, "identity:list_users", &project_admin, NULL));
	assert_false(allowed(p, "identity:list_users", &project_member, NULL));
	assert_true(allowed(p, "identity:list_users", &system_reader, NULL));
	assert_true(allowed(p, "identity:list_users", &domain_reader,
			    target_of("target.domain_id", "d1", NULL)));
	assert_false(allowed(p, "identity:list_users", &domain_reader, NULL));
	assert_true(allowed(p, "identity:get_user", &project_member,
			    target_of("user_id", "u1", "target.user.id", "u1",
				      "target.user.domain_id", "default", NULL)));
	assert_false(allowed(p, "identity:get_user", &project_member,
			     target_of("user_id", "u2", "target.user.id", "u2",
				       "target.user.domain_id", "default", NULL)));
	assert_true(allowed(p, "identity:get_user", &system_reader,
			    target_of("user_id", "u2", "target.user.id", "u2",
				      "target.user.domain_id", "default", NULL)));
	assert_true(allowed(p, "identity:get_user", &domain_reader,
			    target_of("user_id", "u2", "target.user.id", "u2",
				      "target.user.domain_id", "d1", NULL)));
	assert_false(allowed(p, "identity:get_user", &domain_reader,
			     target_of("user_id", "u2", "target.user.id", "u2",
				       "target.user.domain_id", "default", NULL)));
	assert_true(allowed(p, "identity:create_user", &project_admin, NULL));
	assert_false(allowed(p, "identity:create_user", &project_member, NULL));
	assert_false(allowed(p, "identity:create_user", &system_reader, NULL));
	assert_false(allowed(p, "identity:update_user", &project_member,
			     target_of("user_id", "u1", "target.user.id", "u1", NULL)));

	/* projects */
	assert_true(allowed(p, "identity:create_project", &project_admin, NULL));
	assert_false(allowed(p, "identity:create_project", &project_member, NULL));
	assert_true(allowed(p, "identity:get_project", &project_member,
			    target_of("project_id", "p1", "target.project.id", "p1",
				      "target.project.domain_id", "default", NULL)));
	assert_false(allowed(p, "identity:get_project", &project_member,
			     target_of("project_id", "p2", "target.project.id", "p2",
				       "target.project.domain_id", "default", NULL)));
	assert_true(allowed(p, "identity:get_project", &project_admin,
			    target_of("project_id", "p2", "target.project.id", "p2",
				      "target.project.domain_id", "default", NULL)));
	assert_false(allowed(p, "identity:list_projects", &project_member, NULL));
	assert_true(allowed(p, "identity:list_user_projects", &project_member,
			    target_of("user_id", "u1", "target.user.id", "u1",
				      "target.user.domain_id", "default", NULL)));
	assert_false(allowed(p, "identity:list_user_projects", &project_member,
			     target_of("user_id", "u2", "target.user.id", "u2",
				       "target.user.domain_id", "default", NULL)));
	assert_true(allowed(p, "identity:list_project_tags", &project_member,
			    target_of("target.project.id", "p1", NULL)));
	assert_false(allowed(p, "identity:create_project_tag", &project_member,
			     target_of("target.project.id", "p1", NULL)));

	/* domains: a project member may read its own project's domain */
	assert_true(allowed(p, "identity:get_domain", &project_member,
			    target_of("target.domain.id", "default", NULL)));
	assert_false(allowed(p, "identity:get_domain", &project_member,
			     target_of("target.domain.id", "d1", NULL)));
	assert_false(allowed(p, "identity:list_domains", &project_member, NULL));
	assert_true(allowed(p, "identity:create_domain", &project_admin, NULL));

	/* tokens */
	assert_true(allowed(p, "identity:validate_token", &project_member,
			    target_of("target.token.user_id", "u1", NULL)));
	assert_false(allowed(p, "identity:validate_token", &project_member,
			     target_of("target.token.user_id", "u2", NULL)));
	assert_true(allowed(p, "identity:check_token", &project_admin,
			    target_of("target.token.user_id", "u2", NULL)));
	assert_true(allowed(p, "identity:revoke_token", &project_member,
			    target_of("target.token.user_id", "u1", NULL)));
	const char *const svc[] = { "service" };
	struct policy_creds service = { .user_id = "nova", .project_id = "service",
					.roles = svc, .nroles = 1 };
	assert_true(allowed(p, "identity:validate_token", &service,
			    target_of("target.token.user_id", "u2", NULL)));
	assert_false(allowed(p, "identity:revoke_token", &service,
			     target_of("target.token.user_id", "u2", NULL)));

	/* catalog, regions, services, roles */
	assert_true(allowed(p, "identity:get_auth_catalog", &project_member, NULL));
	assert_true(allowed(p, "identity:get_auth_projects", &project_member, NULL));
	assert_true(allowed(p, "identity:get_region", &project_member, NULL));
	assert_false(allowed(p, "identity:create_region", &project_member, NULL));
	assert_false(allowed(p, "identity:list_services", &project_member, NULL));
	assert_true(allowed(p, "identity:list_services", &system_reader, NULL));
	assert_false(allowed(p, "identity:list_roles", &project_member, NULL));
	assert_true(allowed(p, "identity:create_role", &project_admin, NULL));

	/* application credentials and EC2 credentials: own only */
	assert_true(allowed(p, "identity:create_application_credential", &project_member,
			    target_of("user_id", "u1", NULL)));
	assert_true(allowed(p, "identity:list_application_credentials", &project_member,
			    target_of("user_id", "u1", NULL)));
	assert_true(allowed(p, "identity:get_application_credential", &project_member,
			    target_of("user_id", "u1", "target.user_id", "u1", NULL)));
	assert_false(allowed(p, "identity:delete_application_credential", &project_member,
			     target_of("user_id", "u2", "target.user_id", "u2", NULL)));
	assert_true(allowed(p, "identity:delete_application_credential", &project_member,
			    target_of("user_id", "u1", "target.user_id", "u1", NULL)));
	assert_true(allowed(p, "identity:ec2_create_credential", &project_member,
			    target_of("user_id", "u1", "target.credential.user_id", "u1", NULL)));
	assert_false(allowed(p, "identity:ec2_create_credential", &project_member,
			     target_of("user_id", "u2", "target.credential.user_id", "u2", NULL)));
	assert_true(allowed(p, "identity:ec2_list_credentials", &project_member,
			    target_of("user_id", "u1", NULL)));
	assert_false(allowed(p, "identity:ec2_list_credentials", &project_member,
			     target_of("user_id", "u2", NULL)));
	assert_true(allowed(p, "identity:ec2_get_credential", &project_member,
			    target_of("user_id", "u1", "target.credential.user_id", "u1", NULL)));
	assert_false(allowed(p, "identity:ec2_get_credential", &project_member,
			     target_of("user_id", "u1", "target.credential.user_id", "u2", NULL)));
	assert_true(allowed(p, "identity:ec2_delete_credential", &project_member,
			    target_of("user_id", "u1", "target.credential.user_id", "u1", NULL)));
	assert_true(allowed(p, "identity:get_credential", &project_member,
			    target_of("target.credential.user_id", "u1", NULL)));
	assert_false(allowed(p, "identity:get_credential", &project_member,
			     target_of("target.credential.user_id", "u2", NULL)));

	/* grants: the project admin keeps the legacy powers; a global role is domain_id null */
	json_t *grant = target_of("target.role.domain_id", "=null", "target.user.domain_id", "d1",
				  "target.project.domain_id", "d1", NULL);
	assert_true(allowed(p, "identity:create_grant", &project_admin, json_incref(grant)));
	assert_false(allowed(p, "identity:create_grant", &project_member, json_incref(grant)));
	assert_true(allowed(p, "identity:check_grant", &domain_reader, json_incref(grant)));
	assert_false(allowed(p, "identity:create_grant", &domain_reader, json_incref(grant)));
	assert_true(allowed(p, "identity:check_grant", &system_reader, grant));
	assert_false(allowed(p, "identity:check_grant", &domain_reader,
			     target_of("target.role.domain_id", "d2", "target.user.domain_id", "d1",
				       "target.project.domain_id", "d1", NULL)));

	/* role assignments: a domain reader needs its own domain, not None = None */
	assert_true(allowed(p, "identity:list_role_assignments", &domain_reader,
			    target_of("target.domain_id", "d1", NULL)));
	assert_false(allowed(p, "identity:list_role_assignments", &project_member, NULL));
	assert_false(allowed(p, "identity:list_role_assignments", &project_member,
			     target_of("target.domain_id", "=null", NULL)));
	assert_true(allowed(p, "identity:list_role_assignments", &project_admin, NULL));

	/* groups */
	assert_false(allowed(p, "identity:list_groups", &project_member, NULL));
	assert_true(allowed(p, "identity:list_groups_for_user", &project_member,
			    target_of("user_id", "u1", "target.user.id", "u1", NULL)));
	assert_true(allowed(p, "identity:add_user_to_group", &project_admin, NULL));
	assert_false(allowed(p, "identity:add_user_to_group", &project_member, NULL));

	/* limits */
	assert_true(allowed(p, "identity:list_limits", &project_member, NULL));
	assert_true(allowed(p, "identity:get_limit", &project_member,
			    target_of("target.limit.project_id", "p1", NULL)));
	assert_false(allowed(p, "identity:get_limit", &project_member,
			     target_of("target.limit.project_id", "p2", NULL)));
	assert_false(allowed(p, "identity:get_limit", &project_member,
			     target_of("target.limit.project_id", "=null",
				       "target.limit.domain.id", "d1", NULL)));
	assert_true(allowed(p, "identity:get_limit", &domain_reader,
			    target_of("target.limit.project_id", "=null",
				      "target.limit.domain.id", "d1", NULL)));
	assert_false(allowed(p, "identity:create_limits", &project_member, NULL));

	/* an internal is_admin context passes admin_required (Keystone's is_admin:1) */
	struct policy_creds internal = { .is_admin = true };
	assert_true(allowed(p, "identity:create_project", &internal, NULL));
	policy_free(p);
}

/* Overriding one of Keystone's rules from a policy.yaml, as an operator would. */
static void test_identity_defaults_override(void **state)
{
	char err[256] = "";
	struct policy *p = keystone();
	char *path = write_temp(".yaml", "\"identity:list_users\": \"role:member\"\n");

	(void)state;
	assert_false(policy_check(p, "identity:list_users", &project_member, NULL));
	assert_int_equal(policy_load_file(p, path, err, sizeof(err)), 0);
	assert_true(policy_check(p, "identity:list_users", &project_member, NULL));
	assert_false(policy_check(p, "identity:list_users", &system_reader, NULL));
	unlink(path);
	free(path);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constants),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_role_check),
		cmocka_unit_test(test_generic_check),
		cmocka_unit_test(test_token_attributes),
		cmocka_unit_test(test_is_admin),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_yaml_override),
		cmocka_unit_test(test_json_override),
		cmocka_unit_test(test_identity_defaults_load),
		cmocka_unit_test(test_identity_personas),
		cmocka_unit_test(test_identity_defaults_override),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
