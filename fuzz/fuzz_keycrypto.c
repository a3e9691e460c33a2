/* fuzz_keycrypto.c — libFuzzer target for the public keys os-keypairs imports
 * (src/compute/keycrypto.c): any input is tried as an OpenSSH key line and as a PEM certificate;
 * neither may crash, and an accepted SSH key's fingerprint must be 16 colon-separated hex bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compute/keycrypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	char fp[KEYCRYPTO_FP_MAX], err[256];
	if (keycrypto_ssh_fingerprint(s, fp) == 0 && strlen(fp) != 47)
		abort();
	if (keycrypto_x509_fingerprint(s, fp, err, sizeof err) == 0 && strlen(fp) != 59)
		abort();
	free(s);
	return 0;
}
