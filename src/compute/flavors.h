/* flavors.h — what the flavor files (flavor_record.c, flavors.c, flavor_extras.c) share: the
 * column list, row decoding and the JSON views. Not for use outside src/compute. */
#ifndef COMPUTE_FLAVORS_H
#define COMPUTE_FLAVORS_H
#include "compute/cmp.h"

/* Columns in the order cmp_flavor_from_row() reads them (table alias f). */
#define CMP_FLAVOR_COLUMNS "f.flavorid, f.name, f.description, f.memory_mb, f.vcpus, f.root_gb," \
	" f.ephemeral_gb, f.swap, f.rxtx_factor, f.is_public, f.disabled"

/* Fills f from row i (strings copied into r's arena; extra_specs not loaded). */
void cmp_flavor_from_row(struct http_req *r, const struct db_rows *rows, int i, struct cmp_flavor *f);
/* Loads f->extra_specs: 0 or a recorded 500. */
int cmp_flavor_load_specs(struct http_req *r, struct cmp_flavor *f);
/* The list view (id, name, links, description at 2.55) and the detail view (with extra_specs when
 * with_specs). New references. */
json_t *cmp_flavor_brief(struct http_req *r, const struct cmp_flavor *f);
json_t *cmp_flavor_detail(struct http_req *r, const struct cmp_flavor *f, bool with_specs);
/* True when responses at this microversion carry extra_specs for this caller (2.61 + policy). */
bool cmp_flavor_specs_visible(struct http_req *r);

/* flavor_extras.c: os-extra_specs, os-flavor-access and the flavor actions. */
int cmp_h_specs_index(struct http_req *r);
int cmp_h_specs_create(struct http_req *r);
int cmp_h_specs_show(struct http_req *r);
int cmp_h_specs_update(struct http_req *r);
int cmp_h_specs_delete(struct http_req *r);
int cmp_h_access_index(struct http_req *r);
int cmp_h_flavor_action(struct http_req *r);

#endif
