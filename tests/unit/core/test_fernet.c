/* test_fernet.c — unit tests for src/core/fernet.c: the key repository (setup, load, rotate
 * with max_active), token round trips, rejection of tampered and foreign tokens, and
 * compatibility with the reference implementation (Python `cryptography`). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fernet.h"
#include "core/util.h"

#define PYTHON "/usr/bin/python3"
#define NOW UINT64_C(1795396130)

/* The test vector of the Fernet specification (github.com/fernet/spec, generate.json). */
static const char SPEC_KEY[] = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
static const char SPEC_TOKEN[] = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuV"
				 "UPgJobwOz7JcbmrR64jVmpU4IwqDA==";
/* A multi-block vector made once with Python cryptography 38 (Fernet.encrypt_at_time). */
static const char PY_KEY[] = "xAgy5WHi2rFLPAyFrnwICtKUpRJ75zvPyzYwqunT24k=";
static const char PY_MSG[] = "monostack fernet compatibility vector: a message longer than one AES "
			     "block, 0123456789.";
static const char PY_TOKEN[] = "gAAAAABrA5IiSxArdHpO2vXc6Y8qBdKLfpgO7fQzlUBNhXyBw7z3NanBi_l5Q_RXzgtqXI6l"
			       "4UFKoMjBG3p-xC4bo_IYFeOTDFJXyUAG8bA2fsVf1vdmUYUHtlEBIyb66qN93UmI_UxRT7St"
			       "u-kc32OjsHJN_MsnlIC7CynB6qoL2KjSLb9-_NCFmhbguUWyzRruzEoS5YFI";

struct fx {
	char dir[64];                 /* temporary directory of the test */
	char keys[96];                /* dir/keys: the repository */
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/monostack-test-fernet-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int rc = nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

static bool file_exists(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static int count_files(const char *dir)
{
	int n = 0;
	char name[16];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "%d", i);
		n += file_exists(dir, name);
	}
	return n;
}

static void read_file(const char *dir, const char *name, char *out, size_t cap)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *fp = fopen(p, "r");
	assert_non_null(fp);
	size_t n = fread(out, 1, cap - 1, fp);
	out[n] = 0;
	fclose(fp);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static struct fernet_keys *load(const char *dir)
{
	char err[256] = "";
	struct fernet_keys *k = fernet_load(dir, err, sizeof err);
	if (!k)
		fail_msg("fernet_load(%s): %s", dir, err);
	return k;
}

static void setup_keys(const char *dir)
{
	char err[256] = "";
	if (fernet_setup(dir, err, sizeof err))
		fail_msg("fernet_setup(%s): %s", dir, err);
}

static void rotate(const char *dir, int max_active)
{
	char err[256] = "";
	if (fernet_rotate(dir, max_active, err, sizeof err))
		fail_msg("fernet_rotate(%s): %s", dir, err);
}

/* Decrypts into a NUL-terminated buffer; returns the length or -1. */
static long decrypt(const struct fernet_keys *k, const char *token, char *out, size_t cap,
		    uint64_t *ts)
{
	uint64_t t = 0;
	long n = fernet_decrypt(k, token, (unsigned char *)out, cap - 1, &t);
	if (n >= 0) {
		out[n] = 0;
		if (ts)
			*ts = t;
	}
	return n;
}

static void test_setup_creates_keys(void **state)
{
	struct fx *f = *state;
	setup_keys(f->keys);
	struct stat st;
	assert_int_equal(stat(f->keys, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(file_exists(f->keys, "0"));
	assert_true(file_exists(f->keys, "1"));
	assert_int_equal(count_files(f->keys), 2);
	char k0[128], k1[128];
	read_file(f->keys, "0", k0, sizeof k0);
	read_file(f->keys, "1", k1, sizeof k1);
	/* 32 random bytes, URL-safe base64 with padding, as Keystone writes them. */
	assert_int_equal(strlen(k0), 44);
	assert_int_equal(k0[43], '=');
	assert_null(strpbrk(k0, "+/\n"));
	assert_string_not_equal(k0, k1);
	char p[256];
	snprintf(p, sizeof p, "%s/0", f->keys);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Setup again is a no-op: the keys stay. */
	setup_keys(f->keys);
	char again[128];
	read_file(f->keys, "0", again, sizeof again);
	assert_string_equal(again, k0);
	read_file(f->keys, "1", again, sizeof again);
	assert_string_equal(again, k1);
	assert_int_equal(count_files(f->keys), 2);

	struct fernet_keys *k = load(f->keys);
	assert_int_equal(fernet_keys_count(k), 2);
	fernet_keys_free(k);
	fernet_keys_free(NULL);
}

static void test_setup_errors(void **state)
{
	struct fx *f = *state;
	char err[256] = "", p[160];
	snprintf(p, sizeof p, "%s/no/such/parent", f->dir);
	assert_int_equal(fernet_setup(p, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot create"));

	/* Nothing to load or rotate in an empty directory. */
	err[0] = 0;
	assert_null(fernet_load(f->dir, err, sizeof err));
	assert_non_null(strstr(err, "no Fernet keys"));
	err[0] = 0;
	assert_int_equal(fernet_rotate(f->dir, 3, err, sizeof err), -1);
	assert_true(err[0] != 0);

	/* A damaged key file is reported, not half-loaded. */
	setup_keys(f->keys);
	write_file(f->keys, "1", "not base64 at all!");
	err[0] = 0;
	assert_null(fernet_load(f->keys, err, sizeof err));
	assert_non_null(strstr(err, "bad Fernet key"));
	write_file(f->keys, "1", "c2hvcnQ=");   /* valid base64, too short */
	assert_null(fernet_load(f->keys, err, sizeof err));
	/* Files not named by a number are ignored; a trailing newline is tolerated. */
	write_file(f->keys, "1", "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=\n");
	write_file(f->keys, "README", "ignored");
	write_file(f->keys, ".tmp.7", "ignored");
	struct fernet_keys *k = load(f->keys);
	assert_int_equal(fernet_keys_count(k), 2);
	fernet_keys_free(k);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	setup_keys(f->keys);
	struct fernet_keys *k = load(f->keys);
	char out[4096];
	uint64_t ts = 0;

	char *t = fernet_encrypt(k, "hello", 5, NOW);
	assert_non_null(t);
	assert_null(strpbrk(t, "+/="));                  /* URL-safe, unpadded */
	assert_int_equal(strncmp(t, "gAAAAA", 6), 0);    /* version 0x80, then the time */
	assert_int_equal(decrypt(k, t, out, sizeof out, &ts), 5);
	assert_string_equal(out, "hello");
	assert_true(ts == NOW);
	/* A fresh IV every time. */
	char *t2 = fernet_encrypt(k, "hello", 5, NOW);
	assert_string_not_equal(t, t2);
	free(t);
	free(t2);

	/* Every length around the block size, binary content included. */
	unsigned char msg[300];
	for (size_t n = 0; n < sizeof msg; n += (n < 40 ? 1 : 13)) {
		util_random(msg, n);
		t = fernet_encrypt(k, msg, n, NOW + n);
		assert_int_equal(decrypt(k, t, out, sizeof out, &ts), (long)n);
		assert_memory_equal(out, msg, n);
		assert_true(ts == NOW + n);
		free(t);
	}

	/* A plaintext larger than cap is refused, one that fits exactly is not. */
	t = fernet_encrypt(k, "0123456789abcdefXYZ", 19, NOW);
	assert_int_equal(fernet_decrypt(k, t, (unsigned char *)out, 18, &ts), -1);
	assert_int_equal(fernet_decrypt(k, t, (unsigned char *)out, 19, &ts), 19);
	assert_int_equal(fernet_decrypt(k, t, (unsigned char *)out, 3, &ts), -1);
	free(t);
	fernet_keys_free(k);
}

static void test_tampered_rejected(void **state)
{
	struct fx *f = *state;
	setup_keys(f->keys);
	struct fernet_keys *k = load(f->keys);
	char out[256];
	char *t = fernet_encrypt(k, "a payload worth forging", 23, NOW);
	size_t n = strlen(t);
	char *bad = malloc(n + 8);

	/* Flip each character in turn (to another valid base64 character). */
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, t, n + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		long r = decrypt(k, bad, out, sizeof out, NULL);
		/* The last character carries 2 unused bits: flipping only those is harmless. */
		if (r >= 0 && i != n - 1)
			fail_msg("tampered token (char %zu) accepted", i);
	}
	/* Truncated, extended, empty, garbage, wrong version. */
	memcpy(bad, t, n + 1);
	bad[n - 4] = 0;
	assert_int_equal(decrypt(k, bad, out, sizeof out, NULL), -1);
	snprintf(bad, n + 8, "%sAAAA", t);
	assert_int_equal(decrypt(k, bad, out, sizeof out, NULL), -1);
	assert_int_equal(decrypt(k, "", out, sizeof out, NULL), -1);
	assert_int_equal(decrypt(k, "not a token", out, sizeof out, NULL), -1);
	assert_int_equal(decrypt(k, "gAAAAA", out, sizeof out, NULL), -1);
	memcpy(bad, t, n + 1);
	bad[0] = 'g' == bad[0] ? 'A' : 'g';
	assert_int_equal(decrypt(k, bad, out, sizeof out, NULL), -1);
	/* Far too long. */
	char *huge = malloc(10001);
	memset(huge, 'A', 10000);
	huge[10000] = 0;
	assert_int_equal(decrypt(k, huge, out, sizeof out, NULL), -1);
	free(huge);
	free(bad);
	free(t);
	fernet_keys_free(k);
}

static void test_foreign_key_set_rejected(void **state)
{
	struct fx *f = *state;
	char other[128];
	snprintf(other, sizeof other, "%s/other", f->dir);
	setup_keys(f->keys);
	setup_keys(other);
	struct fernet_keys *mine = load(f->keys), *theirs = load(other);
	char out[64];
	char *t = fernet_encrypt(theirs, "from elsewhere", 14, NOW);
	assert_int_equal(decrypt(mine, t, out, sizeof out, NULL), -1);
	assert_int_equal(decrypt(theirs, t, out, sizeof out, NULL), 14);
	free(t);
	fernet_keys_free(mine);
	fernet_keys_free(theirs);
}

static void test_rotate(void **state)
{
	struct fx *f = *state;
	char out[64];
	setup_keys(f->keys);
	struct fernet_keys *k1 = load(f->keys);          /* 0 staged, 1 primary */
	char *t1 = fernet_encrypt(k1, "one", 3, NOW);

	char staged[128];
	read_file(f->keys, "0", staged, sizeof staged);
	rotate(f->keys, 3);
	/* The staged key became primary 2; a new staged key 0 appeared. */
	assert_true(file_exists(f->keys, "0"));
	assert_true(file_exists(f->keys, "1"));
	assert_true(file_exists(f->keys, "2"));
	assert_int_equal(count_files(f->keys), 3);
	char promoted[128], fresh[128];
	read_file(f->keys, "2", promoted, sizeof promoted);
	read_file(f->keys, "0", fresh, sizeof fresh);
	assert_string_equal(promoted, staged);
	assert_string_not_equal(fresh, staged);

	struct fernet_keys *k2 = load(f->keys);
	assert_int_equal(fernet_keys_count(k2), 3);
	char *t2 = fernet_encrypt(k2, "two", 3, NOW);
	/* Old tokens still validate after the rotation... */
	assert_int_equal(decrypt(k2, t1, out, sizeof out, NULL), 3);
	assert_string_equal(out, "one");
	/* ...and a node that has not reloaded yet accepts the new primary's tokens: staged key. */
	assert_int_equal(decrypt(k1, t2, out, sizeof out, NULL), 3);
	assert_string_equal(out, "two");

	/* A second rotation with max_active 3 drops key 1, which made t1. */
	rotate(f->keys, 3);
	assert_false(file_exists(f->keys, "1"));
	assert_true(file_exists(f->keys, "2"));
	assert_true(file_exists(f->keys, "3"));
	assert_int_equal(count_files(f->keys), 3);
	struct fernet_keys *k3 = load(f->keys);
	assert_int_equal(fernet_keys_count(k3), 3);
	assert_int_equal(decrypt(k3, t1, out, sizeof out, NULL), -1);
	assert_int_equal(decrypt(k3, t2, out, sizeof out, NULL), 3);
	char *t3 = fernet_encrypt(k3, "three", 5, NOW);
	assert_int_equal(decrypt(k3, t3, out, sizeof out, NULL), 5);
	assert_int_equal(decrypt(k1, t3, out, sizeof out, NULL), -1);  /* k1 never knew key 3's */
	assert_int_equal(decrypt(k2, t3, out, sizeof out, NULL), 5);   /* k2 had it staged */

	/* A larger max_active keeps more; a smaller one prunes down to it on the next rotation. */
	rotate(f->keys, 5);
	assert_int_equal(count_files(f->keys), 4);
	rotate(f->keys, 5);
	assert_int_equal(count_files(f->keys), 5);
	rotate(f->keys, 2);
	assert_int_equal(count_files(f->keys), 2);
	assert_true(file_exists(f->keys, "0"));
	assert_true(file_exists(f->keys, "6"));
	/* max_active below 2 still keeps the staged and the primary key. */
	rotate(f->keys, 0);
	assert_int_equal(count_files(f->keys), 2);
	assert_true(file_exists(f->keys, "7"));

	free(t1);
	free(t2);
	free(t3);
	fernet_keys_free(k1);
	fernet_keys_free(k2);
	fernet_keys_free(k3);
}

static void test_spec_vectors(void **state)
{
	struct fx *f = *state;
	char out[256];
	uint64_t ts = 0;
	assert_int_equal(mkdir(f->keys, 0700), 0);
	write_file(f->keys, "0", SPEC_KEY);
	struct fernet_keys *k = load(f->keys);
	assert_int_equal(decrypt(k, SPEC_TOKEN, out, sizeof out, &ts), 5);
	assert_string_equal(out, "hello");
	assert_true(ts == 499162800);                    /* 1985-10-26T01:20:00-07:00 */
	fernet_keys_free(k);

	write_file(f->keys, "1", PY_KEY);                /* now the primary; key 0 still accepted */
	k = load(f->keys);
	assert_int_equal(decrypt(k, PY_TOKEN, out, sizeof out, &ts), (long)strlen(PY_MSG));
	assert_string_equal(out, PY_MSG);
	assert_true(ts == NOW);
	assert_int_equal(decrypt(k, SPEC_TOKEN, out, sizeof out, &ts), 5);
	fernet_keys_free(k);
}

static bool have_python_cryptography(void)
{
	if (access(PYTHON, X_OK))
		return false;
	return system(PYTHON " -c 'import cryptography.fernet' >/dev/null 2>&1") == 0;
}

/* Runs a Python one-liner; its first output line into out. 0 or -1. */
static int python(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	out[0] = 0;
	if (!fgets(out, (int)cap, p))
		out[0] = 0;
	int rc = pclose(p);
	out[strcspn(out, "\n")] = 0;
	return rc == 0 ? 0 : -1;
}

static void test_python_cryptography_interop(void **state)
{
	struct fx *f = *state;
	if (!have_python_cryptography())
		skip();
	/* A key generated by Python, a token encrypted by Python. */
	char key[128], token[1024], cmd[2048], out[1024];
	assert_int_equal(python(PYTHON " -c 'from cryptography.fernet import Fernet; "
				"print(Fernet.generate_key().decode())'", key, sizeof key), 0);
	assert_int_equal(strlen(key), 44);
	snprintf(cmd, sizeof cmd, PYTHON " -c 'import sys; from cryptography.fernet import Fernet; "
		 "print(Fernet(sys.argv[1].encode()).encrypt_at_time(sys.argv[2].encode(), %llu).decode())' "
		 "'%s' 'made by python: {\"ok\": true}'", (unsigned long long)NOW, key);
	assert_int_equal(python(cmd, token, sizeof token), 0);
	assert_true(strlen(token) > 57);

	assert_int_equal(mkdir(f->keys, 0700), 0);
	write_file(f->keys, "0", key);
	struct fernet_keys *k = load(f->keys);
	uint64_t ts = 0;
	const char *pmsg = "made by python: {\"ok\": true}";
	assert_int_equal(decrypt(k, token, out, sizeof out, &ts), (long)strlen(pmsg));
	assert_string_equal(out, pmsg);
	assert_true(ts == NOW);

	/* And the other way: Python reads our (unpadded, like Keystone's) tokens. */
	const char *msg = "made by monostack, with a longer text spanning several AES blocks";
	char *ours = fernet_encrypt(k, msg, strlen(msg), NOW);
	snprintf(cmd, sizeof cmd, PYTHON " -c 'import sys; from cryptography.fernet import Fernet; "
		 "t = sys.argv[2]; t += \"=\" * (-len(t) %% 4); "
		 "f = Fernet(sys.argv[1].encode()); "
		 "print(f.decrypt(t.encode()).decode(), f.extract_timestamp(t.encode()))' '%s' '%s'",
		 key, ours);
	assert_int_equal(python(cmd, out, sizeof out), 0);
	char want[256];
	snprintf(want, sizeof want, "%s %llu", msg, (unsigned long long)NOW);
	assert_string_equal(out, want);
	free(ours);
	fernet_keys_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setup_creates_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_key_set_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python_cryptography_interop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
