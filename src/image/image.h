/* image.h — the Glance v2 image service: the public face main uses to mount it. */
#ifndef IMAGE_IMAGE_H
#define IMAGE_IMAGE_H
#include <stddef.h>
#include "core/conf.h"
#include "core/db.h"
#include "core/http.h"

struct image_svc;

extern const struct conf_opt image_conf_opts[];

/* Applies the image schema migrations. 0 or -1 with err. */
int image_migrate(struct db *db, char *err, size_t errlen);
/* Builds the service over an open, migrated database (stores, staging area, policy). NULL with
 * err. Token validation comes from auth (the identity service registers it). */
struct image_svc *image_new(struct db *db, char *err, size_t errlen);
void image_free(struct image_svc *svc);
/* The HTTP service to mount (prefix /image). */
struct http_service *image_service(struct image_svc *svc);

#endif
