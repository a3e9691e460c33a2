/* keycrypto.h — the key material behind os-keypairs, with OpenSSL: checking an OpenSSH public key
 * and computing Nova's fingerprint of it (MD5 of the key blob, colon hex), the SHA-1 fingerprint of
 * an X.509 PEM certificate, and generating an RSA-2048 SSH keypair or a self-signed client
 * certificate with its PKCS#12 bundle. Pure functions: no request, no database. */
#ifndef COMPUTE_KEYCRYPTO_H
#define COMPUTE_KEYCRYPTO_H
#include <stddef.h>

/* "aa:bb:..." of 16 (MD5) or 20 (SHA-1) bytes needs 60 bytes with the NUL. */
#define KEYCRYPTO_FP_MAX 64

/* Checks an OpenSSH public key line ("TYPE BASE64 [comment]": ssh-rsa, ssh-dss, ssh-ed25519,
 * ecdsa-sha2-nistp256/384/521) and writes Nova's fingerprint. 0, or -1 when it is not a valid
 * key. */
int keycrypto_ssh_fingerprint(const char *public_key, char fp[KEYCRYPTO_FP_MAX]);
/* Checks a PEM X.509 certificate and writes its SHA-1 fingerprint in colon hex. 0 or -1 with a
 * reason in err. */
int keycrypto_x509_fingerprint(const char *pem, char fp[KEYCRYPTO_FP_MAX], char *err, size_t errlen);

/* Generates an RSA-2048 key: *private_pem (PKCS#1 PEM, as paramiko writes it), *public_line
 * ("ssh-rsa BASE64 Generated-by-Nova") and fp. Heap strings: free() them. 0 or -1. */
int keycrypto_ssh_generate(char **private_pem, char **public_line, char fp[KEYCRYPTO_FP_MAX]);
/* Generates a self-signed client certificate for user_id (CN=user_id, UPN user_id@localhost,
 * ten years) as Nova does for WinRM: *private_b64 (base64 of a PKCS#12 bundle with an empty
 * password), *cert_pem and fp. Heap strings: free() them. 0 or -1. */
int keycrypto_x509_generate(const char *user_id, char **private_b64, char **cert_pem,
			    char fp[KEYCRYPTO_FP_MAX]);

#endif
