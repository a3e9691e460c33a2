/* fernet.c — the Fernet format over OpenSSL, and the key repository on disk. */
#include "core/fernet.h"
#include "core/arena.h"
#include "core/util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_LEN 32
#define MAX_KEYS 64
#define MAX_TOKEN 2048

struct fernet_keys {
	int n;                      /* keys[0] is the primary; the rest in any order */
	unsigned char keys[MAX_KEYS][KEY_LEN];
};

static int write_key(const char *dir, int index, char *err, size_t errlen)
{
	unsigned char raw[KEY_LEN];
	char b64[64], path[4096], tmp[4096];
	util_random(raw, sizeof raw);
	size_t n = b64url_encode(raw, sizeof raw, b64);
	b64[n++] = '=';             /* Keystone writes padded keys */
	b64[n] = 0;
	snprintf(path, sizeof path, "%s/%d", dir, index);
	snprintf(tmp, sizeof tmp, "%s/.tmp.%d", dir, index);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, b64, n) != (ssize_t)n || fsync(fd) || close(fd) || rename(tmp, path)) {
		snprintf(err, errlen, "cannot write key %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

/* Indices of the key files in dir, sorted ascending; returns count or -1. */
static int list_keys(const char *dir, int idx[MAX_KEYS])
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		int64_t v;
		if (parse_int64(e->d_name, 0, 1000000000, &v))
			continue;
		if (n < MAX_KEYS)
			idx[n++] = (int)v;
	}
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
			int t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	return n;
}

int fernet_setup(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	int idx[MAX_KEYS];
	int n = list_keys(dir, idx);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	if (n > 0)
		return 0;
	if (write_key(dir, 0, err, errlen) || write_key(dir, 1, err, errlen))
		return -1;
	return 0;
}

int fernet_rotate(const char *dir, int max_active, char *err, size_t errlen)
{
	int idx[MAX_KEYS];
	int n = list_keys(dir, idx);
	if (n <= 0) {
		snprintf(err, errlen, "no keys in %s: run setup first", dir);
		return -1;
	}
	if (max_active < 2)
		max_active = 2;
	char from[4096], to[4096];
	int next = idx[n - 1] + 1;
	snprintf(from, sizeof from, "%s/0", dir);
	snprintf(to, sizeof to, "%s/%d", dir, next);
	if (rename(from, to)) {
		snprintf(err, errlen, "cannot promote staged key: %s", strerror(errno));
		return -1;
	}
	if (write_key(dir, 0, err, errlen))
		return -1;
	/* keys now: 0 (staged), idx[1..n-1] (older), next (primary): drop the oldest secondaries */
	int total = n + 1;
	for (int i = 1; i < n && total > max_active; i++, total--) {
		snprintf(from, sizeof from, "%s/%d", dir, idx[i]);
		unlink(from);
	}
	return 0;
}

struct fernet_keys *fernet_load(const char *dir, char *err, size_t errlen)
{
	int idx[MAX_KEYS];
	int n = list_keys(dir, idx);
	if (n <= 0) {
		snprintf(err, errlen, "no Fernet keys in %s", dir);
		return NULL;
	}
	struct fernet_keys *k = xcalloc(1, sizeof *k);
	for (int i = n - 1; i >= 0; i--) {   /* highest index first: it is the primary */
		char path[4096], buf[128];
		snprintf(path, sizeof path, "%s/%d", dir, idx[i]);
		FILE *f = fopen(path, "re");
		size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
			len--;
		buf[len] = 0;
		if (b64url_decode(buf, len, k->keys[k->n], KEY_LEN) != KEY_LEN) {
			snprintf(err, errlen, "bad Fernet key file %s", path);
			free(k);
			return NULL;
		}
		k->n++;
	}
	return k;
}

void fernet_keys_free(struct fernet_keys *k) { free(k); }
int fernet_keys_count(const struct fernet_keys *k) { return k->n; }

static void hmac256(const unsigned char *key, const unsigned char *data, size_t n, unsigned char out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, 16, data, n, out, &len);
}

char *fernet_encrypt(const struct fernet_keys *k, const void *msg, size_t len, uint64_t now)
{
	const unsigned char *key = k->keys[0];
	size_t cap = 1 + 8 + 16 + len + 16 + 32;
	unsigned char *buf = xmalloc(cap);
	buf[0] = 0x80;
	for (int i = 0; i < 8; i++)
		buf[1 + i] = (unsigned char)(now >> (56 - 8 * i));
	util_random(buf + 9, 16);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, finl = 0;
	if (!ctx || !EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key + 16, buf + 9) ||
	    !EVP_EncryptUpdate(ctx, buf + 25, &outl, msg, (int)len) ||
	    !EVP_EncryptFinal_ex(ctx, buf + 25 + outl, &finl))
		abort();
	EVP_CIPHER_CTX_free(ctx);
	size_t n = 25 + (size_t)outl + (size_t)finl;
	hmac256(key, buf, n, buf + n);
	n += 32;
	char *out = xmalloc(4 * (n / 3 + 1) + 1);
	b64url_encode(buf, n, out);
	free(buf);
	return out;
}

long fernet_decrypt(const struct fernet_keys *k, const char *token, unsigned char *out, size_t cap,
		    uint64_t *timestamp)
{
	size_t tl = strlen(token);
	if (tl > MAX_TOKEN)
		return -1;
	unsigned char raw[MAX_TOKEN];
	long n = b64url_decode(token, tl, raw, sizeof raw);
	if (n < 1 + 8 + 16 + 16 + 32 || raw[0] != 0x80 || (n - 57) % 16)
		return -1;
	size_t body = (size_t)n - 32;
	for (int i = 0; i < k->n; i++) {
		unsigned char mac[32];
		hmac256(k->keys[i], raw, body, mac);
		if (!util_memeq_ct(mac, raw + body, 32))
			continue;
		size_t clen = body - 25;
		if (clen > cap + 16)
			return -1;
		unsigned char *tmp = xmalloc(clen + 16);
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		int outl = 0, finl = 0;
		int ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, k->keys[i] + 16, raw + 9) &&
			 EVP_DecryptUpdate(ctx, tmp, &outl, raw + 25, (int)clen) &&
			 EVP_DecryptFinal_ex(ctx, tmp + outl, &finl);
		EVP_CIPHER_CTX_free(ctx);
		size_t plen = (size_t)outl + (size_t)finl;
		if (!ok || plen > cap) {
			free(tmp);
			return -1;
		}
		memcpy(out, tmp, plen);
		free(tmp);
		uint64_t ts = 0;
		for (int b = 0; b < 8; b++)
			ts = ts << 8 | raw[1 + b];
		*timestamp = ts;
		return (long)plen;
	}
	return -1;
}
