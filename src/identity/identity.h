/* identity.h — the Keystone v3 identity service: the public face other modules use
 * (main for start-up and bootstrap; every service through auth/auth.h's validator). */
#ifndef IDENTITY_IDENTITY_H
#define IDENTITY_IDENTITY_H
#include <stdbool.h>
#include <stddef.h>
#include "core/conf.h"
#include "core/db.h"
#include "core/http.h"

struct identity;

extern const struct conf_opt identity_conf_opts[];

/* Applies the identity schema migrations. 0 or -1 with err. */
int identity_migrate(struct db *db, char *err, size_t errlen);

/* Builds the service over an open, migrated database: loads Fernet keys (creating them on
 * first start) and the policy; registers the token validator with auth. NULL with err. */
struct identity *identity_new(struct db *db, char *err, size_t errlen);
void identity_free(struct identity *id);
/* The HTTP service to mount (prefix /identity). */
struct http_service *identity_service(struct identity *id);

/* One catalog entry monostack registers at bootstrap. */
struct identity_endpoint_spec {
	const char *type, *name;      /* "identity", "keystone" */
	const char *url;              /* public URL */
};

struct identity_bootstrap {
	const char *admin_password;   /* used when the admin user is created (NULL: generate) */
	const char *region;           /* "RegionOne" */
	const struct identity_endpoint_spec *endpoints;
	int nendpoints;
	char admin_project_id[65];    /* out: the admin project's id */
};

/* Idempotent first-start setup: domain Default, project admin, user admin, roles
 * admin/member/reader (admin implies member implies reader), service project and users,
 * region, catalog (endpoints updated to the given URLs). *generated is set to a malloc'd
 * password when one was generated for a new admin (else NULL). 0 or -1 with err. */
int identity_bootstrap_run(struct identity *id, struct identity_bootstrap *b,
			   char **generated, char *err, size_t errlen);

/* Rotates the Fernet key repository of the configuration (keystone-manage fernet_rotate). */
int identity_rotate_keys(char *err, size_t errlen);

#endif
