/* configdrive.h — the OpenStack config drive (ISO 9660, label "config-2") Nova attaches to a
 * guest: openstack/<version>/meta_data.json, user_data, vendor_data.json, vendor_data2.json and
 * network_data.json for every metadata version Nova serves, and "latest". */
#ifndef VIRT_CONFIGDRIVE_H
#define VIRT_CONFIGDRIVE_H
#include <stddef.h>

#include "virt/virt.h"

#define CONFIGDRIVE_LABEL "config-2"
#define CONFIGDRIVE_DHCP_DOMAIN "novalocal"     /* Nova's [api] dhcp_domain default */

/* The meta_data.json text of spec for one metadata version ("2012-08-10" ... or "latest"):
 * malloc'd into *out. 0, or -1 with err (bad meta_json, unknown version, no memory). */
int configdrive_meta_data(const struct virt_spec *spec, const char *version, char **out, char *err, size_t errlen);
/* The whole image: malloc'd into *out (*len bytes). 0 or -1 with err. */
int configdrive_build(const struct virt_spec *spec, unsigned char **out, size_t *len, char *err, size_t errlen);
/* Builds the image and writes it to path (mode 0600, through a temporary name). 0 or -1. */
int configdrive_write(const struct virt_spec *spec, const char *path, char *err, size_t errlen);

#endif
