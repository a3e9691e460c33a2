/* assignments.h — private to the role-assignment files (grants.c, role_assignments.c,
 * assign_calc.c, roles.c): one assignment as Keystone's internal refs see it, the query that
 * lists rows of the assignment table, and the project-hierarchy and implied-role helpers. */
#ifndef IDENTITY_ASSIGNMENTS_H
#define IDENTITY_ASSIGNMENTS_H
#include "identity/ident.h"

#define ASG_SYSTEM_TARGET "system"   /* target_id of system grants */

/* A growable list of strings (arena-owned), with a hash index once it grows. Zero-initialise. */
struct id_list {
	const char **v;
	size_t n, cap;
	size_t *slots;                        /* open addressing: index + 1, 0 empty */
	size_t nslots;
};
void ids_push(struct arena *a, struct id_list *l, const char *id);
bool ids_has(const struct id_list *l, const char *id);
/* The position of id in l, or -1. */
long ids_index(const struct id_list *l, const char *id);
/* Pushes id unless already present; returns true when it was added. */
bool ids_add(struct arena *a, struct id_list *l, const char *id);

/* One assignment. Direct rows set the actor, the target and inherited; expanded (effective)
 * ones also say where they came from (ind_*), as Keystone's 'indirect' dict does. */
struct asg {
	const char *user_id, *group_id;       /* the actor: one is set */
	const char *project_id, *domain_id;   /* the target; both NULL for system */
	bool system;
	const char *role_id;
	bool inherited;                       /* inherited_to_projects */
	const char *ind_group_id, *ind_project_id, *ind_domain_id, *ind_role_id;
};
struct asg_list {
	struct asg *v;
	size_t n, cap;
};
void asg_push(struct arena *a, struct asg_list *l, const struct asg *x);

enum asg_actor { ASG_ANY_ACTOR, ASG_USERS, ASG_GROUPS };
enum asg_target { ASG_PROJECT_OR_DOMAIN, ASG_PROJECTS, ASG_DOMAINS, ASG_SYSTEM };

/* What asg_fetch lists (Keystone's driver list_role_assignments, plus system rows). */
struct asg_filter {
	const char *role_id;                  /* NULL: any role */
	enum asg_actor actor_kind;
	const struct id_list *actors;         /* NULL: any actor of that kind; empty: none */
	enum asg_target target_kind;
	const struct id_list *targets;        /* NULL: any target of that kind; empty: none */
	int inherited;                        /* -1: either, 0 or 1 */
};
/* Appends the matching rows to out (arena strings). 0 or a database error code. */
int asg_fetch(struct db_conn *c, struct arena *a, const struct asg_filter *f, struct asg_list *out);

/* Group ids of a user / user ids of a group, appended to out. 0 or an error code. */
int asg_user_groups(struct db_conn *c, struct arena *a, const char *user_id, struct id_list *out);
int asg_group_users(struct db_conn *c, struct arena *a, const char *group_id, struct id_list *out);
/* The ancestors of a project (parent first) appended to out, and its domain (NULL when the
 * project does not exist). 0 or an error code. */
int asg_project_parents(struct db_conn *c, struct arena *a, const char *project_id,
			struct id_list *out, const char **domain_id);
/* Every descendant of a project (not the project itself), appended to out. */
int asg_project_subtree(struct db_conn *c, struct arena *a, const char *project_id, struct id_list *out);
/* Every project of a domain, appended to out. */
int asg_domain_projects(struct db_conn *c, struct arena *a, const char *domain_id, struct id_list *out);

/* The whole implied_role table: pairs prior[i] implies implied[i]. */
struct asg_implied {
	const char **prior, **implied;
	size_t n;
};
int asg_implied_load(struct db_conn *c, struct arena *a, struct asg_implied *out);
/* Adds to ids every role they imply, transitively (no duplicates). */
void asg_implied_expand(struct arena *a, const struct asg_implied *im, struct id_list *ids);

/* Roles by id: parallel arrays (domain_id NULL for global roles); missing ids are skipped. */
struct asg_roles {
	const char **id, **name, **domain_id;
	size_t n;
};
int asg_roles_load(struct db_conn *c, struct arena *a, const struct id_list *ids, struct asg_roles *out);
/* The index of a role in a loaded set, or -1. */
long asg_roles_find(const struct asg_roles *rs, const char *id);

/* Calls fn for every row of "<sql_head> IN (?,...)<sql_tail>" over ids, in chunks small enough
 * for any engine. 0 or an error code (or fn's negative return). */
typedef int (*asg_row_fn)(void *ctx, struct db_rows *rows, int row);
int asg_query_in(struct db_conn *c, struct arena *a, const char *sql_head, const struct id_list *ids,
		 const char *sql_tail, asg_row_fn fn, void *ctx);

/* Sets "<prefix>.<key>" in the flat policy target t for every scalar member of obj (strings,
 * booleans, null), as Keystone flattens the refs it passes to the enforcer. */
void asg_target_add(json_t *t, const char *prefix, const json_t *obj);

/* Appends the rendered roles (as GET /v3/roles/{id} shows them) of the ids that exist to out
 * (roles.c). 0 or a database error code. */
int ident_roles_render(struct http_req *r, const struct id_list *ids, json_t *out);

/* GET /v3/role_assignments (role_assignments.c). */
int ident_list_role_assignments(struct http_req *r);

#endif
