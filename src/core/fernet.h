/* fernet.h — Fernet tokens (AES-128-CBC + HMAC-SHA256, version 0x80) and a Keystone-style key
 * repository: files named 0..N in one directory, N the primary (encrypting) key, 0 the staged
 * key that the next rotation promotes, all of them accepted for decryption. */
#ifndef CORE_FERNET_H
#define CORE_FERNET_H
#include <stddef.h>
#include <stdint.h>

struct fernet_keys;

/* Creates dir (0700) with a staged and a primary key if it holds no keys. 0 or -1 with err. */
int fernet_setup(const char *dir, char *err, size_t errlen);
/* Rotates: staged key 0 becomes the new primary, a new staged key is made, and the oldest
 * secondary keys beyond max_active keys in all are deleted. 0 or -1 with err. */
int fernet_rotate(const char *dir, int max_active, char *err, size_t errlen);
/* Loads every key of dir; NULL with err when there is none or a key file is bad. */
struct fernet_keys *fernet_load(const char *dir, char *err, size_t errlen);
void fernet_keys_free(struct fernet_keys *k);
/* Number of keys loaded. */
int fernet_keys_count(const struct fernet_keys *k);

/* Encrypts with the primary key at time `now` (seconds); returns a malloc'd URL-safe token
 * without padding. */
char *fernet_encrypt(const struct fernet_keys *k, const void *msg, size_t len, uint64_t now);
/* Verifies and decrypts with any key. Returns the plaintext length (<= cap) and the token's
 * timestamp, or -1 when the token is malformed, forged, or encrypted with an unknown key. */
long fernet_decrypt(const struct fernet_keys *k, const char *token, unsigned char *out, size_t cap,
		    uint64_t *timestamp);

#endif
