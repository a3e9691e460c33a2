/* test_token_payload.c — unit tests for src/identity/token_payload.c: every scope, UUID and
 * free-form ids, application credentials and audit chains survive token_encode/token_decode;
 * garbage, forgeries and malformed payloads are rejected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "identity/token.h"

static const struct conf_opt default_opts[] = {
	{ "DEFAULT", "data_dir", CONF_STR, "/nonexistent", "test data directory" },
	{ NULL, NULL, CONF_STR, NULL, NULL },
};

struct fx {
	char dir[64];
	char keys[96];
	struct identity id;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int64_t mtime_ns(const char *dir)
{
	struct stat st;
	if (stat(dir, &st))
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* A struct identity with just what the token code needs: keys and their lock. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	snprintf(f->dir, sizeof f->dir, "/tmp/monostack-test-token-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->keys, sizeof f->keys, "%s/fernet-keys", f->dir);
	conf_register(default_opts);
	conf_register(identity_conf_opts);
	conf_reset();
	if (conf_set("DEFAULT", "data_dir", f->dir) ||
	    conf_set("fernet_tokens", "key_repository", f->keys))
		return -1;
	if (fernet_setup(f->keys, err, sizeof err) || !(f->id.keys = fernet_load(f->keys, err, sizeof err))) {
		fprintf(stderr, "test_token_payload: %s\n", err);
		return -1;
	}
	pthread_rwlock_init(&f->id.keys_lock, NULL);
	f->id.keys_mtime = mtime_ns(f->keys);
	atomic_init(&f->id.keys_checked_at, time_now_us());
	atomic_init(&f->id.generation, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fernet_keys_free(f->id.keys);
	pthread_rwlock_destroy(&f->id.keys_lock);
	int rc = nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	conf_reset();
	free(f);
	return rc;
}

static struct token_payload base_payload(void)
{
	struct token_payload p;
	memset(&p, 0, sizeof p);
	p.methods = AUTH_PASSWORD;
	p.scope = SCOPE_PROJECT;
	uuid_hex(p.user_id);
	uuid_hex(p.scope_id);
	token_new_audit_id(p.audit_id);
	p.issued_at = time_now_us();
	p.expires_at = p.issued_at + INT64_C(3600) * 1000000;
	return p;
}

static void assert_payload_equal(const struct token_payload *a, const struct token_payload *b)
{
	assert_int_equal(a->methods, b->methods);
	assert_int_equal(a->scope, b->scope);
	assert_string_equal(a->user_id, b->user_id);
	assert_string_equal(a->scope_id, b->scope_id);
	assert_string_equal(a->app_cred_id, b->app_cred_id);
	assert_string_equal(a->trust_id, b->trust_id);
	assert_string_equal(a->audit_id, b->audit_id);
	assert_string_equal(a->audit_chain_id, b->audit_chain_id);
	assert_true(a->issued_at == b->issued_at);
	assert_true(a->expires_at == b->expires_at);
}

/* Encodes, decodes and compares; returns the token (malloc'd). */
static char *round_trip(struct identity *id, const struct token_payload *p)
{
	char *t = token_encode(id, p);
	assert_non_null(t);
	struct token_payload back;
	memset(&back, 0x5a, sizeof back);
	if (token_decode(id, t, &back))
		fail_msg("token_decode rejected a fresh token (user %s, scope %d)", p->user_id, p->scope);
	assert_payload_equal(p, &back);
	return t;
}

static void test_project_scope(void **state)
{
	struct fx *f = *state;
	struct token_payload p = base_payload();
	p.methods = AUTH_PASSWORD | AUTH_TOKEN;
	char *t = round_trip(&f->id, &p);
	/* URL-safe, unpadded and short enough for any header (Keystone: < 255 for UUID ids). */
	assert_null(strpbrk(t, "+/= \n"));
	assert_true(strlen(t) < 255);
	/* A fresh IV each time: the same payload never gives the same token. */
	char *t2 = round_trip(&f->id, &p);
	assert_string_not_equal(t, t2);
	/* The Fernet timestamp is the issue time in seconds. */
	unsigned char buf[512];
	uint64_t ts = 0;
	assert_true(fernet_decrypt(f->id.keys, t, buf, sizeof buf, &ts) > 0);
	assert_true(ts == (uint64_t)(p.issued_at / 1000000));
	free(t);
	free(t2);
}

static void test_domain_scope_default(void **state)
{
	struct fx *f = *state;
	struct token_payload p = base_payload();
	p.scope = SCOPE_DOMAIN;
	snprintf(p.scope_id, sizeof p.scope_id, "default");
	free(round_trip(&f->id, &p));
	/* A non-UUID user id as well (users of LDAP-like backends, "admin"). */
	snprintf(p.user_id, sizeof p.user_id, "default");
	free(round_trip(&f->id, &p));
}

static void test_system_scope(void **state)
{
	struct fx *f = *state;
	struct token_payload p = base_payload();
	p.scope = SCOPE_SYSTEM;
	snprintf(p.scope_id, sizeof p.scope_id, "all");
	free(round_trip(&f->id, &p));
}

static void test_unscoped(void **state)
{
	struct fx *f = *state;
	struct token_payload p = base_payload();
	p.scope = SCOPE_NONE;
	p.scope_id[0] = 0;
	char *t = round_trip(&f->id, &p);
	struct token_payload back;
	assert_int_equal(token_decode(&f->id, t, &back), 0);
	assert_string_equal(back.scope_id, "");
	free(t);
}

static void test_app_cred(void **state)
{
	struct fx *f = *state;
	struct token_payload p = base_payload();
	p.methods = AUTH_APP_CRED;
	uuid_hex(p.app_cred_id);
	free(round_trip(&f->id, &p));
	snprintf(p.app_cred_id, sizeof p.app_cred_id, "cred-1");
	free(round_trip(&f->id, &p));
}

static void test_trust(void **state)
{
	struct fx *f = *state;
	struct token_payload p = base_payload();
	uuid_hex(p.trust_id);
	free(round_trip(&f->id, &p));
	snprintf(p.trust_id, sizeof p.trust_id, "trust-1");
	free(round_trip(&f->id, &p));
	/* Without a trust the field decodes empty. */
	p.trust_id[0] = 0;
	free(round_trip(&f->id, &p));
}

static void test_audit_chain(void **state)
{
	struct fx *f = *state;
	struct token_payload p = base_payload();
	/* A rescoped token: new audit id, the original one as its chain. */
	token_new_audit_id(p.audit_chain_id);
	p.methods = AUTH_TOKEN | AUTH_PASSWORD;
	assert_string_not_equal(p.audit_id, p.audit_chain_id);
	free(round_trip(&f->id, &p));
	/* No audit ids at all also round-trips. */
	p.audit_id[0] = p.audit_chain_id[0] = 0;
	free(round_trip(&f->id, &p));
}

static void test_new_audit_id(void **state)
{
	(void)state;
	char a[24], b[24];
	token_new_audit_id(a);
	token_new_audit_id(b);
	assert_int_equal(strlen(a), 22);
	assert_string_not_equal(a, b);
	assert_null(strpbrk(a, "+/="));
	unsigned char raw[17];
	assert_int_equal(b64url_decode(a, 22, raw, sizeof raw), 16);
}

static void test_id_forms(void **state)
{
	struct fx *f = *state;
	static const char *const ids[] = {
		"0123456789abcdef0123456789abcdef",       /* packed as 16 bytes */
		"0123456789ABCDEF0123456789ABCDEF",       /* uppercase: kept verbatim, not packed */
		"01234567-89ab-cdef-0123-456789abcdef",   /* dashed UUID: verbatim */
		"0123456789abcdef0123456789abcdeg",       /* 32 chars, not hex */
		"0123456789abcdef0123456789abcde",        /* 31 hex digits */
		"x",
		"admin",
		"user@example.com",
		"ünïcode-ïd",
		"1234567890123456789012345678901234567890123456789012345678901234", /* IDENT_ID_MAX */
	};
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
		assert_true(strlen(ids[i]) <= IDENT_ID_MAX);
		struct token_payload p = base_payload();
		snprintf(p.user_id, sizeof p.user_id, "%s", ids[i]);
		snprintf(p.scope_id, sizeof p.scope_id, "%s", ids[i]);
		snprintf(p.app_cred_id, sizeof p.app_cred_id, "%s", ids[i]);
		free(round_trip(&f->id, &p));
	}
}

static void test_times(void **state)
{
	struct fx *f = *state;
	static const int64_t times[][2] = {
		{ 0, 0 },
		{ 1, 2 },
		{ INT64_C(1795396130123456), INT64_C(1795399730123456) },
		{ INT64_C(253402300799999999), INT64_C(253402300799999999) },  /* 9999-12-31 */
		{ INT64_C(1795396130123456), INT64_MAX },
	};
	for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
		struct token_payload p = base_payload();
		p.issued_at = times[i][0];
		p.expires_at = times[i][1];
		free(round_trip(&f->id, &p));
	}
	/* Every method combination. */
	for (unsigned m = 0; m < 8; m++) {
		struct token_payload p = base_payload();
		p.methods = m;
		free(round_trip(&f->id, &p));
	}
}

static void test_encode_rejects_bad_audit_id(void **state)
{
	struct fx *f = *state;
	struct token_payload p = base_payload();
	snprintf(p.audit_id, sizeof p.audit_id, "short");
	assert_null(token_encode(&f->id, &p));
	p = base_payload();
	snprintf(p.audit_chain_id, sizeof p.audit_chain_id, "!!!!!!!!!!!!!!!!!!!!!!");
	assert_null(token_encode(&f->id, &p));
	p = base_payload();
	snprintf(p.audit_id, sizeof p.audit_id, "AAAAAAAAAAAAAAAAAAAAAAA"); /* 23: too long */
	assert_null(token_encode(&f->id, &p));
}

static void expect_reject(struct identity *id, const char *token, const char *why)
{
	struct token_payload p;
	if (token_decode(id, token, &p) == 0)
		fail_msg("token_decode accepted %s", why);
}

/* A Fernet token, made with the service's own keys, around arbitrary payload bytes. */
static void expect_payload_reject(struct identity *id, const unsigned char *d, size_t n, const char *why)
{
	char *t = fernet_encrypt(id->keys, d, n, 1795396130);
	expect_reject(id, t, why);
	free(t);
}

static void test_garbage_rejected(void **state)
{
	struct fx *f = *state;
	struct identity *id = &f->id;
	expect_reject(id, "", "the empty string");
	expect_reject(id, "x", "one character");
	expect_reject(id, "gAAAAA", "a stub");
	expect_reject(id, "not a token at all", "words");
	expect_reject(id, "gAAAAABrA5IiSxArdHpO2vXc6Y8qBdKLfpgO7fQzlUBNhXyBw7z3NanBi_l5Q_RXzgtqXI6l",
		      "a foreign Fernet token");
	char junk[400];
	for (int i = 0; i < 200; i++) {
		unsigned char raw[256];
		size_t n = (size_t)(i % 7) * 16 + 57 + (size_t)i % 3;
		util_random(raw, n);
		raw[0] = 0x80;
		b64url_encode(raw, n, junk);
		expect_reject(id, junk, "random bytes");
	}

	/* Tampering with a real token. */
	struct token_payload p = base_payload();
	char *t = token_encode(id, &p);
	size_t n = strlen(t);
	char *bad = malloc(n + 8);
	for (size_t i = 0; i + 1 < n; i += 3) {
		memcpy(bad, t, n + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		expect_reject(id, bad, "a tampered token");
	}
	memcpy(bad, t, n + 1);
	bad[n / 2] = 0;
	expect_reject(id, bad, "a truncated token");
	snprintf(bad, n + 8, "%s====", t);
	struct token_payload back;
	assert_int_equal(token_decode(id, bad, &back), 0);   /* padding is tolerated */
	free(bad);
	free(t);

	/* Valid Fernet around payloads that are not ours. */
	expect_payload_reject(id, (const unsigned char *)"", 0, "an empty payload");
	expect_payload_reject(id, (const unsigned char *)"hello", 5, "plain text");
	unsigned char d[256];
	size_t len = 0;
#define B(x) (d[len++] = (unsigned char)(x))
	/* version, methods, scope, user (text "u"), scope (none), cred (none), audits, times */
#define GOOD_HEAD() (len = 0, B(1), B(1), B(0), B(2), B(1), B('u'), B(0), B(0), B(0), B(0))
#define TIMES() do { for (int k = 0; k < 16; k++) B(0); } while (0)
	GOOD_HEAD();
	TIMES();
	char *ok = fernet_encrypt(id->keys, d, len, 1795396130);
	assert_int_equal(token_decode(id, ok, &back), 0);      /* the hand-made one is valid... */
	assert_string_equal(back.user_id, "u");
	free(ok);
	d[0] = 2;
	expect_payload_reject(id, d, len, "an unknown payload version");
	d[0] = 0;
	expect_payload_reject(id, d, len, "payload version 0");
	GOOD_HEAD();
	TIMES();
	B(0);
	expect_payload_reject(id, d, len, "a trailing byte");
	GOOD_HEAD();
	TIMES();
	expect_payload_reject(id, d, len - 1, "a truncated time");
	expect_payload_reject(id, d, 3, "a payload cut after the scope");
	GOOD_HEAD();
	d[2] = 4;                                              /* scope beyond SCOPE_SYSTEM */
	TIMES();
	expect_payload_reject(id, d, len, "an unknown scope");
	GOOD_HEAD();
	d[2] = 0xff;
	TIMES();
	expect_payload_reject(id, d, len, "scope 255");
	/* An empty user id. */
	len = 0;
	B(1); B(1); B(0); B(0); B(0); B(0); B(0); B(0);
	TIMES();
	expect_payload_reject(id, d, len, "an empty user id");
	/* A bad id tag. */
	len = 0;
	B(1); B(1); B(0); B(3); B(0); B(0); B(0); B(0);
	TIMES();
	expect_payload_reject(id, d, len, "id tag 3");
	/* A text id longer than IDENT_ID_MAX, or longer than the payload. */
	len = 0;
	B(1); B(1); B(0); B(2); B(IDENT_ID_MAX + 1);
	for (int k = 0; k <= IDENT_ID_MAX; k++)
		B('a');
	B(0); B(0); B(0); B(0);
	TIMES();
	expect_payload_reject(id, d, len, "an over-long id");
	len = 0;
	B(1); B(1); B(0); B(2); B(60); B('a'); B('b');
	expect_payload_reject(id, d, len, "an id running past the end");
	/* A packed UUID cut short. */
	len = 0;
	B(1); B(1); B(0); B(1);
	for (int k = 0; k < 10; k++)
		B(0xab);
	expect_payload_reject(id, d, len, "a truncated UUID");
	/* An audit id cut short. */
	GOOD_HEAD();
	len -= 2;
	B(1);
	for (int k = 0; k < 8; k++)
		B(0xcd);
	expect_payload_reject(id, d, len, "a truncated audit id");
#undef B
#undef GOOD_HEAD
#undef TIMES
}

static void test_other_key_set_rejected(void **state)
{
	struct fx *f = *state;
	char other[128], err[256];
	snprintf(other, sizeof other, "%s/other-keys", f->dir);
	assert_int_equal(fernet_setup(other, err, sizeof err), 0);
	struct fernet_keys *theirs = fernet_load(other, err, sizeof err);
	assert_non_null(theirs);
	struct identity them;
	memset(&them, 0, sizeof them);
	them.keys = theirs;
	pthread_rwlock_init(&them.keys_lock, NULL);
	atomic_init(&them.keys_checked_at, time_now_us());

	struct token_payload p = base_payload();
	char *t = token_encode(&them, &p);
	assert_non_null(t);
	struct token_payload back;
	assert_int_equal(token_decode(&them, t, &back), 0);
	assert_int_equal(token_decode(&f->id, t, &back), -1);
	free(t);
	pthread_rwlock_destroy(&them.keys_lock);
	fernet_keys_free(theirs);
}

static void test_rotation_by_another_process(void **state)
{
	struct fx *f = *state;
	char err[256];
	struct token_payload p = base_payload();
	char *before = token_encode(&f->id, &p);
	assert_int_equal(fernet_keys_count(f->id.keys), 2);
	/* keystone-manage fernet_rotate, run elsewhere. */
	assert_int_equal(fernet_rotate(f->keys, 3, err, sizeof err), 0);
	/* The next use after the once-a-second check reloads the repository. */
	atomic_store(&f->id.keys_checked_at, 0);
	char *after = round_trip(&f->id, &p);
	assert_int_equal(fernet_keys_count(f->id.keys), 3);
	struct token_payload back;
	assert_int_equal(token_decode(&f->id, before, &back), 0);
	assert_payload_equal(&p, &back);
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_project_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_scope_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_system_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unscoped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_cred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
		cmocka_unit_test(test_new_audit_id),
		cmocka_unit_test_setup_teardown(test_id_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encode_rejects_bad_audit_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_key_set_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_by_another_process, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
