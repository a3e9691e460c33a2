/* test_keycrypto.c — unit tests for src/compute/keycrypto.c: Nova's MD5 fingerprints of OpenSSH
 * public keys (RSA, Ed25519, ECDSA, checked against ssh-keygen -E md5), refusal of malformed
 * keys, SHA-1 fingerprints of X.509 certificates (checked against openssl x509 -fingerprint),
 * and generated RSA keypairs and client certificates that verify against their fingerprints. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>

#include "compute/keycrypto.h"

static const char rsa_pub[] =
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDGOjIBOvr5Ir1tqKP/YjYp9t7pQlHpfkURev2dV5rwNuiAMTdnnJ6HW/gGsOX1"
	"jJj6m1hTcEWh++57BFtLMlFeUCBj+votiqwf0HNKAVVK6QaG5OoQirGHPqkeh564Kjt25f/wgcAX+KDZermUtpx4gW9AJQ+Wp2HZ"
	"9sOTybxn8Q== c1";
static const char ed_pub[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJcTBpRf84SsQsk8PzFauXC3u++xEZ5Da6tGyDJ+rb2 c2";
static const char ec_pub[] =
	"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBEN9CcTA5oFLxGQ1FIFiBcppFZ1z"
	"SRd95tWtJw41Ewu8qE8EEuVq6ZkKoF3MzZM7o1hFt43nloRE98ZSNBIE6qMcMUruazYOuWHo6HpcJ0WkZTpci3fsy449pBkCc3Xk"
	"tw== c3";
static const char cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBbTCCAROgAwIBAgIUIveiMzONbeG8up/Vunl+nsg0eOEwCgYIKoZIzj0EAwIw\n"
	"DDEKMAgGA1UEAwwBdDAeFw0yNjExMjMwNzAxNTBaFw0zNjExMjAwNzAxNTBaMAwx\n"
	"CjAIBgNVBAMMAXQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARIEPRgQRlB9Gjk\n"
	"kC3joUUPoamBr789hhSF9laQQ1mqkv+8r/reF5UsWitadZ6cf05v5HEALZIIEXx/\n"
	"ypDaSV8Lo1MwUTAdBgNVHQ4EFgQU7Pez+8YhhI39lGHrEEOIB2f1WRswHwYDVR0j\n"
	"BBgwFoAU7Pez+8YhhI39lGHrEEOIB2f1WRswDwYDVR0TAQH/BAUwAwEB/zAKBggq\n"
	"hkjOPQQDAgNIADBFAiAUkKPodh+ytOWAAK/6gZIFSUqoH/9t22ZXMvCuNFI6pAIh\n"
	"AN5KV1OPO08Ugp5tQQLpAVJaAkz+XZRDtAQCfYtQ/Q1B\n"
	"-----END CERTIFICATE-----\n";

static void test_ssh_fingerprints(void **state)
{
	(void)state;
	char fp[KEYCRYPTO_FP_MAX];
	assert_int_equal(keycrypto_ssh_fingerprint(rsa_pub, fp), 0);
	assert_string_equal(fp, "3c:4b:6f:55:fa:10:bc:d5:6d:18:54:6e:74:d3:0d:b5");
	assert_int_equal(keycrypto_ssh_fingerprint(ed_pub, fp), 0);
	assert_string_equal(fp, "08:be:21:4d:16:58:a5:4d:b6:6b:4b:3e:33:d7:cc:d0");
	assert_int_equal(keycrypto_ssh_fingerprint(ec_pub, fp), 0);
	assert_string_equal(fp, "e6:6b:bb:c4:71:96:d4:6c:c2:1c:3b:b5:89:88:7d:dd");
	/* no comment is fine too */
	assert_int_equal(keycrypto_ssh_fingerprint("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJcTBpRf84SsQsk8P"
						   "zFauXC3u++xEZ5Da6tGyDJ+rb2", fp), 0);
	assert_string_equal(fp, "08:be:21:4d:16:58:a5:4d:b6:6b:4b:3e:33:d7:cc:d0");
}

static void test_ssh_rejects(void **state)
{
	(void)state;
	char fp[KEYCRYPTO_FP_MAX];
	static const char *const bad[] = {
		"", "ssh-rsa", "ssh-rsa ", "garbage", "ssh-rsa AAAA", "ssh-rsa !!!!",
		/* the type outside does not match the blob's */
		"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBJcTBpRf84SsQsk8PzFauXC3u++xEZ5Da6tGyDJ+rb2",
		/* truncated ed25519 key */
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJcTBpRf84SsQsk8PzFauXC3u++xEZ5Da6t",
		/* unknown type */
		"ssh-foo AAAAB3NzaC1mb28=",
		"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDx garbage",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(keycrypto_ssh_fingerprint(bad[i], fp), -1);
}

static void test_x509_fingerprint(void **state)
{
	(void)state;
	char fp[KEYCRYPTO_FP_MAX], err[256];
	assert_int_equal(keycrypto_x509_fingerprint(cert_pem, fp, err, sizeof err), 0);
	assert_string_equal(fp, "30:59:3e:b3:62:3f:f5:18:2c:59:92:50:f9:c0:9e:b5:68:48:21:d0");
	assert_int_equal(keycrypto_x509_fingerprint(rsa_pub, fp, err, sizeof err), -1);
	assert_true(strlen(err) > 0);
}

static void test_ssh_generate(void **state)
{
	(void)state;
	char *priv = NULL, *pub = NULL, fp[KEYCRYPTO_FP_MAX], fp2[KEYCRYPTO_FP_MAX];
	assert_int_equal(keycrypto_ssh_generate(&priv, &pub, fp), 0);
	assert_non_null(strstr(priv, "-----BEGIN RSA PRIVATE KEY-----"));
	assert_int_equal(strncmp(pub, "ssh-rsa AAAAB3NzaC1yc2E", 23), 0);
	assert_non_null(strstr(pub, " Generated-by-Nova"));
	assert_int_equal(keycrypto_ssh_fingerprint(pub, fp2), 0);
	assert_string_equal(fp, fp2);
	assert_int_equal(strlen(fp), 47);
	free(priv);
	free(pub);
}

static void test_x509_generate(void **state)
{
	(void)state;
	char *p12b64 = NULL, *cert = NULL, fp[KEYCRYPTO_FP_MAX], fp2[KEYCRYPTO_FP_MAX], err[256];
	assert_int_equal(keycrypto_x509_generate("user-1", &p12b64, &cert, fp), 0);
	assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
	assert_int_equal(keycrypto_x509_fingerprint(cert, fp2, err, sizeof err), 0);
	assert_string_equal(fp, fp2);
	/* the private part is a PKCS#12 bundle with an empty password */
	size_t n = strlen(p12b64);
	unsigned char *der = malloc(n);
	int len = EVP_DecodeBlock(der, (const unsigned char *)p12b64, (int)n);
	assert_true(len > 0);
	const unsigned char *p = der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, len);
	assert_non_null(p12);
	assert_int_equal(PKCS12_verify_mac(p12, "", 0), 1);
	PKCS12_free(p12);
	free(der);
	free(p12b64);
	free(cert);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_fingerprints),
		cmocka_unit_test(test_ssh_rejects),
		cmocka_unit_test(test_x509_fingerprint),
		cmocka_unit_test(test_ssh_generate),
		cmocka_unit_test(test_x509_generate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
