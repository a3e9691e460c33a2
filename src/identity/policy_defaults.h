/* policy_defaults.h — Keystone's default policy rules (Zed, legacy defaults still honoured),
 * to pass to policy_new(); an operator's policy.yaml overrides them with policy_load_file(). */
#ifndef IDENTITY_POLICY_DEFAULTS_H
#define IDENTITY_POLICY_DEFAULTS_H

/* All 202 rules Keystone 22 registers (base rules and every identity:*), one per line.
 *
 * The target a handler passes to policy_check() is Keystone's flattened policy dict:
 *   - path arguments at the top level: "user_id", "project_id", "group_id", "role_id",
 *     "domain_id", "credential_id", ... (the rule "owner" is user_id:%(user_id)s);
 *   - the loaded object(s) under "target.<type>.<attr>", every attribute of the row
 *     (e.g. target.user.id, target.user.domain_id, target.user.name, ...);
 *   - for routes with an X-Subject-Token: "target.token.user_id" (the subject's user).
 * Leave a key out when there is nothing to put there: a missing key never matches. Never pass
 * JSON null unless the value really is None: null prints as "None", which equals an unset
 * credential (e.g. domain_id:%(target.domain_id)s would match every project-scoped token).
 * The one place the rules want null is target.role.domain_id for a global role.
 *
 * Target keys by family (beyond the path arguments):
 *   tokens  check_token, validate_token, revoke_token: target.token.user_id (subject token).
 *   auth    get_auth_catalog/projects/domains/system: none (always allowed).
 *   domains get_domain: target.domain.id; list/create/update/delete_domain: none.
 *   projects get/update/delete_project, list_project_tags, get_project_tag,
 *           update_project_tags, create_project_tag, delete_project_tag(s):
 *           target.project.id, target.project.domain_id;
 *           list_projects: target.domain_id = the caller's domain, only for a domain-scoped token;
 *           create_project: target.project.* from the request body (domain_id, parent_id, ...);
 *           list_user_projects (GET /users/{user_id}/projects): user_id (path),
 *           target.user.id, target.user.domain_id.
 *   users   get_user, update_user, delete_user, list_groups_for_user: user_id (path),
 *           target.user.id, target.user.domain_id;
 *           list_users: target.domain_id = the caller's domain, only for a domain-scoped token;
 *           create_user: target.user.* from the body. (Changing one's own password,
 *           POST /users/{id}/password, is not policy-checked: the old password proves it.)
 *   groups  get_group, update_group, delete_group, list_users_in_group: target.group.id,
 *           target.group.domain_id; list_groups: target.group.domain_id = the caller's domain,
 *           only for a domain-scoped token; create_group: target.group.* from the body;
 *           check_user_in_group, add_user_to_group, remove_user_from_group:
 *           target.group.id, target.group.domain_id, target.user.id, target.user.domain_id.
 *   roles   get/list/create/update/delete_role, list_domain_roles, create_domain_role: none;
 *           get/update/delete_domain_role: target.role.id, target.role.domain_id.
 *   implied list_implied_roles, get/check/create/delete_implied_role: target.prior_role.*,
 *           target.implied_role.* (unused by the defaults); list_role_inference_rules: none.
 *   grants  check_grant, list_grants, create_grant, revoke_grant (also OS-INHERIT):
 *           target.role.id + target.role.domain_id (null for a global role; list_grants has
 *           no role), target.user.domain_id or target.group.domain_id, and
 *           target.project.domain_id (project grants) or target.domain.id (domain grants).
 *   system grants (list/check/create/revoke_system_grant_for_user/group): target.role.*,
 *           target.user.* or target.group.* (unused by the defaults).
 *   role assignments list_role_assignments: target.domain_id = the caller's domain, only for
 *           a domain-scoped token; list_role_assignments_for_tree: target.project.id,
 *           target.project.domain_id when ?scope.project.id= names a project.
 *   regions, services, endpoints, endpoint groups, policies, federation, OAuth1, domain
 *           configs, revoke events, registered limits, list_limits, get_limit_model: none.
 *   application credentials list/create_application_credential: user_id (path);
 *           get/delete_application_credential: user_id = the credential's owner (looked up,
 *           not taken from the path) and target.user_id, the same. Keystone additionally
 *           refuses create when the path user is not the token's user.
 *   credentials get/update/delete_credential: target.credential.user_id (+ the row);
 *           create_credential: target.credential.* from the body (user_id); list_credentials:
 *           target.credential.user_id = the caller's user_id unless system-scoped, then each
 *           row is filtered through get_credential.
 *   ec2 credentials (/users/{user_id}/credentials/OS-EC2): user_id (path) always;
 *           ec2_create_credential: target.credential.user_id = the path user;
 *           ec2_get_credential, ec2_delete_credential: target.credential.user_id of the row;
 *           ec2_list_credentials: path only.
 *   limits  get_limit: target.limit.project_id (null for a domain limit), and
 *           target.limit.project.domain_id (project limit) or target.limit.domain.id.
 *   trusts  create_trust: target.trust.trustor_user_id (body); get_trust, delete_trust,
 *           list_roles_for_trust, get_role_for_trust: target.trust.trustor_user_id,
 *           target.trust.trustee_user_id; list_trusts_for_trustor/trustee: the matching one.
 *   access rules get/list/delete_access_rule: target.user.id (the path user).
 */
extern const char identity_policy_defaults[];

#endif
