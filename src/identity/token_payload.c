/* token_payload.c — the compact binary payload inside each Fernet token: methods, scope,
 * ids (UUID hex packed into 16 bytes), audit ids, issue and expiry times, and a trailing trust
 * id that only trust-scoped tokens carry. */
#include "identity/token.h"
#include <ctype.h>
#include <string.h>

#define PAYLOAD_VERSION 1
#define PAYLOAD_MAX 512

struct buf { unsigned char d[PAYLOAD_MAX]; size_t n; bool bad; };

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > sizeof b->d) {
		b->bad = true;
		return;
	}
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put_u8(struct buf *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }

static void put_i64(struct buf *b, int64_t v)
{
	unsigned char t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
	put(b, t, 8);
}

static bool is_hex32(const char *s)
{
	if (strlen(s) != 32)
		return false;
	for (int i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* Tag 0: empty; 1: 32 lowercase hex digits as 16 bytes; 2: length-prefixed text. */
static void put_id(struct buf *b, const char *s)
{
	if (!*s) {
		put_u8(b, 0);
	} else if (is_hex32(s)) {
		put_u8(b, 1);
		for (int i = 0; i < 16; i++) {
			char h[3] = { s[2 * i], s[2 * i + 1], 0 };
			put_u8(b, (unsigned)strtoul(h, NULL, 16));
		}
	} else {
		size_t n = strlen(s);
		put_u8(b, 2);
		put_u8(b, (unsigned)n);
		put(b, s, n);
	}
}

/* Audit ids are 22 characters of base64url of 16 random bytes. */
static void put_audit(struct buf *b, const char *a)
{
	unsigned char raw[18];
	if (!*a) {
		put_u8(b, 0);
		return;
	}
	put_u8(b, 1);
	if (b64url_decode(a, strlen(a), raw, sizeof raw) != 16)
		b->bad = true;
	put(b, raw, 16);
}

struct rd { const unsigned char *d; size_t n, i; bool bad; };

static unsigned get_u8(struct rd *r)
{
	if (r->i >= r->n) {
		r->bad = true;
		return 0;
	}
	return r->d[r->i++];
}

static int64_t get_i64(struct rd *r)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | get_u8(r);
	return (int64_t)v;
}

static void get_id(struct rd *r, char out[IDENT_ID_MAX + 1])
{
	unsigned tag = get_u8(r);
	out[0] = 0;
	if (tag == 1) {
		unsigned char raw[16];
		for (int i = 0; i < 16; i++)
			raw[i] = (unsigned char)get_u8(r);
		hex_encode(raw, 16, out);
	} else if (tag == 2) {
		unsigned n = get_u8(r);
		if (n > IDENT_ID_MAX || r->i + n > r->n) {
			r->bad = true;
			return;
		}
		memcpy(out, r->d + r->i, n);
		out[n] = 0;
		r->i += n;
	} else if (tag != 0) {
		r->bad = true;
	}
}

static void get_audit(struct rd *r, char out[24])
{
	out[0] = 0;
	if (get_u8(r) != 1)
		return;
	unsigned char raw[16];
	for (int i = 0; i < 16; i++)
		raw[i] = (unsigned char)get_u8(r);
	b64url_encode(raw, 16, out);
}

void token_new_audit_id(char out[24])
{
	unsigned char raw[16];
	util_random(raw, sizeof raw);
	b64url_encode(raw, 16, out);
}

char *token_encode(struct identity *id, const struct token_payload *p)
{
	struct buf b = { .n = 0 };
	put_u8(&b, PAYLOAD_VERSION);
	put_u8(&b, p->methods);
	put_u8(&b, p->scope);
	put_id(&b, p->user_id);
	put_id(&b, p->scope_id);
	put_id(&b, p->app_cred_id);
	put_audit(&b, p->audit_id);
	put_audit(&b, p->audit_chain_id);
	put_i64(&b, p->issued_at);
	put_i64(&b, p->expires_at);
	if (p->trust_id[0])
		put_id(&b, p->trust_id);
	if (b.bad)
		return NULL;
	ident_keys_refresh(id);
	pthread_rwlock_rdlock(&id->keys_lock);
	char *t = fernet_encrypt(id->keys, b.d, b.n, (uint64_t)(p->issued_at / 1000000));
	pthread_rwlock_unlock(&id->keys_lock);
	return t;
}

int token_decode(struct identity *id, const char *token, struct token_payload *p)
{
	unsigned char d[PAYLOAD_MAX];
	uint64_t ts;
	ident_keys_refresh(id);
	pthread_rwlock_rdlock(&id->keys_lock);
	long n = fernet_decrypt(id->keys, token, d, sizeof d, &ts);
	pthread_rwlock_unlock(&id->keys_lock);
	if (n < 0)
		return -1;
	struct rd r = { d, (size_t)n, 0, false };
	memset(p, 0, sizeof *p);
	if (get_u8(&r) != PAYLOAD_VERSION)
		return -1;
	p->methods = get_u8(&r);
	p->scope = (enum token_scope)get_u8(&r);
	get_id(&r, p->user_id);
	get_id(&r, p->scope_id);
	get_id(&r, p->app_cred_id);
	get_audit(&r, p->audit_id);
	get_audit(&r, p->audit_chain_id);
	p->issued_at = get_i64(&r);
	p->expires_at = get_i64(&r);
	if (!r.bad && r.i < r.n) {        /* a trust id: present means non-empty */
		get_id(&r, p->trust_id);
		if (!p->trust_id[0])
			r.bad = true;
	}
	if (r.bad || r.i != r.n || p->scope > SCOPE_SYSTEM || !p->user_id[0])
		return -1;
	return 0;
}
