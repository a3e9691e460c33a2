/* compute.h — the Nova v2.1 compute service (API, scheduler, in-process compute agent): the
 * public face main uses to mount it. */
#ifndef COMPUTE_COMPUTE_H
#define COMPUTE_COMPUTE_H
#include <stdbool.h>
#include <stddef.h>
#include "core/conf.h"
#include "core/db.h"
#include "core/http.h"

struct compute_svc;
struct image_svc;
struct placement;

extern const struct conf_opt compute_conf_opts[];

/* Applies the compute schema migrations. 0 or -1 with err. */
int compute_migrate(struct db *db, char *err, size_t errlen);
/* Builds the service over an open, migrated database: policy, scheduler, and the in-process
 * compute agent with the configured driver. images and placement are the in-process services it
 * uses. NULL with err. */
struct compute_svc *compute_new(struct db *db, struct image_svc *images, struct placement *placement,
				char *err, size_t errlen);
/* Starts the background work (scheduler, agent heartbeats); call once serving. 0 or -1. */
int compute_start(struct compute_svc *svc, const char *public_url, char *err, size_t errlen);
/* Stops background work and frees; accepts NULL. */
void compute_free(struct compute_svc *svc);
/* The HTTP service to mount (prefix /compute). */
struct http_service *compute_service(struct compute_svc *svc);

/* --- `monostack compute --controller URL`: a remote compute host (node.c) --- */
struct compute_node;
/* The [compute] driver, an agent that reaches the controller at its base URL over HTTP with the
 * [agent] credentials, and the agent's own listener ([agent] listen), already serving. NULL with
 * err. */
struct compute_node *compute_node_new(const char *controller_url, char *err, size_t errlen);
/* Authenticates once (-1 with err when the credentials are refused), then registers, reconciles
 * and works in the background, retrying while the controller cannot be reached. A failure that
 * retrying cannot mend raises SIGTERM and compute_node_failed() turns true. 0 or -1. */
int compute_node_start(struct compute_node *n, char *err, size_t errlen);
const char *compute_node_url(const struct compute_node *n);
bool compute_node_failed(const struct compute_node *n);
/* Stops (running guests keep running) and frees; accepts NULL. */
void compute_node_free(struct compute_node *n);

#endif
