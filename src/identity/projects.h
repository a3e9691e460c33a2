/* projects.h — private to the project files (projects.c, project_tags.c): loading a project
 * for a handler with its policy check, and storing its tags. */
#ifndef IDENTITY_PROJECTS_H
#define IDENTITY_PROJECTS_H
#include "identity/ident.h"

/* Looks the {project_id} path parameter up (with domains true, a domain acting as a project
 * too), checks rule against it and records 404 when it does not exist — policy first, as
 * Keystone orders them. *out is freed with the request; *is_domain (may be NULL) says whether
 * it is a domain. 0 or an error recorded in r. (projects.c) */
int proj_load_enforced(struct http_req *r, const char *rule, bool domains, json_t **out, bool *is_domain);
/* Replaces the project's tags (stripped, duplicates dropped) inside the caller's transaction.
 * 0 or a database error code. (project_tags.c) */
int proj_tags_store(struct http_req *r, const char *id, const json_t *tags);

#endif
