/* keycrypto.c — OpenSSH public key checks and fingerprints, X.509 fingerprints, and key
 * generation for os-keypairs (see keycrypto.h). */
#include "compute/keycrypto.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_KEY_LINE 16384

static void colon_hex(const unsigned char *d, size_t n, char fp[KEYCRYPTO_FP_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 3 < KEYCRYPTO_FP_MAX; i++) {
		if (i)
			fp[o++] = ':';
		fp[o++] = hex[d[i] >> 4];
		fp[o++] = hex[d[i] & 15];
	}
	fp[o] = 0;
}

/* Standard base64 with padding; returns the decoded length or -1. */
static long b64_decode(const char *in, size_t n, unsigned char *out)
{
	if (n == 0 || n % 4)
		return -1;
	int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (len < 0)
		return -1;
	if (in[n - 1] == '=')
		len--;
	if (in[n - 2] == '=')
		len--;
	return len;
}

/* A reader over an SSH wire-format blob. */
struct wire {
	const unsigned char *p;
	size_t left;
};

static int wire_string(struct wire *w, const unsigned char **s, size_t *n)
{
	if (w->left < 4)
		return -1;
	uint32_t len = (uint32_t)w->p[0] << 24 | (uint32_t)w->p[1] << 16 | (uint32_t)w->p[2] << 8 | w->p[3];
	if (len > w->left - 4)
		return -1;
	*s = w->p + 4;
	*n = len;
	w->p += 4 + len;
	w->left -= 4 + len;
	return 0;
}

/* A positive mpint of at least one byte. */
static int wire_mpint(struct wire *w, const unsigned char **s, size_t *n)
{
	if (wire_string(w, s, n) || *n == 0 || ((*s)[0] & 0x80))
		return -1;
	return 0;
}

static bool str_is(const unsigned char *s, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(s, want, n);
}

static int check_ec_point(const char *curve, const unsigned char *pt, size_t n)
{
	int nid = !strcmp(curve, "nistp256") ? NID_X9_62_prime256v1 :
		  !strcmp(curve, "nistp384") ? NID_secp384r1 : NID_secp521r1;
	EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
	EC_POINT *p = g ? EC_POINT_new(g) : NULL;
	int ok = p && n && pt[0] == 0x04 && EC_POINT_oct2point(g, p, pt, n, NULL) == 1 &&
		 EC_POINT_is_on_curve(g, p, NULL) == 1;
	EC_POINT_free(p);
	EC_GROUP_free(g);
	return ok ? 0 : -1;
}

static int check_blob(const char *type, const unsigned char *blob, size_t len)
{
	struct wire w = { blob, len };
	const unsigned char *s, *a;
	size_t n, an;
	if (wire_string(&w, &s, &n) || !str_is(s, n, type))
		return -1;
	if (!strcmp(type, "ssh-rsa")) {
		if (wire_mpint(&w, &s, &n) || wire_mpint(&w, &a, &an))
			return -1;
		if (!(s[n - 1] & 1) || an < 64)   /* e odd; n at least 512 bits */
			return -1;
	} else if (!strcmp(type, "ssh-dss")) {
		for (int i = 0; i < 4; i++)
			if (wire_mpint(&w, &s, &n))
				return -1;
	} else if (!strcmp(type, "ssh-ed25519")) {
		if (wire_string(&w, &s, &n) || n != 32)
			return -1;
	} else if (!strncmp(type, "ecdsa-sha2-", 11)) {
		const char *curve = type + 11;
		if (strcmp(curve, "nistp256") && strcmp(curve, "nistp384") && strcmp(curve, "nistp521"))
			return -1;
		if (wire_string(&w, &s, &n) || !str_is(s, n, curve) || wire_string(&w, &a, &an) ||
		    check_ec_point(curve, a, an))
			return -1;
	} else {
		return -1;
	}
	return w.left == 0 ? 0 : -1;
}

int keycrypto_ssh_fingerprint(const char *public_key, char fp[KEYCRYPTO_FP_MAX])
{
	size_t len = strlen(public_key);
	if (len > MAX_KEY_LINE)
		return -1;
	const char *sp = strchr(public_key, ' ');
	if (!sp || sp == public_key)
		return -1;
	char type[64];
	size_t tn = (size_t)(sp - public_key);
	if (tn >= sizeof type || memchr(public_key, '\t', tn))
		return -1;
	memcpy(type, public_key, tn);
	type[tn] = 0;
	const char *b = sp + 1;
	size_t bn = strcspn(b, " \t\r\n");
	unsigned char *blob = malloc(bn + 4);
	long n = blob ? b64_decode(b, bn, blob) : -1;
	int rc = n > 0 ? check_blob(type, blob, (size_t)n) : -1;
	if (rc == 0) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		if (EVP_Digest(blob, (size_t)n, md, &mdlen, EVP_md5(), NULL) == 1)
			colon_hex(md, mdlen, fp);
		else
			rc = -1;
	}
	free(blob);
	return rc;
}

int keycrypto_x509_fingerprint(const char *pem, char fp[KEYCRYPTO_FP_MAX], char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!x) {
		snprintf(err, errlen, "Unable to load PEM file. See https://cryptography.io/en/latest/faq/"
			 "#why-can-t-i-import-my-pem-file for more details.");
		return -1;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	int rc = X509_digest(x, EVP_sha1(), md, &n) == 1 ? 0 : -1;
	X509_free(x);
	if (rc) {
		snprintf(err, errlen, "cannot compute the certificate's fingerprint");
		return -1;
	}
	colon_hex(md, n, fp);
	return 0;
}

static char *bio_string(BIO *bio)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (s) {
		memcpy(s, data, (size_t)n);
		s[n] = 0;
	}
	return s;
}

static char *b64_encode_alloc(const unsigned char *d, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (s)
		EVP_EncodeBlock((unsigned char *)s, d, (int)n);
	return s;
}

/* Appends an SSH string/mpint to buf at *off (buf big enough). */
static void put_string(unsigned char *buf, size_t *off, const unsigned char *s, size_t n, bool mpint)
{
	bool pad = mpint && n && (s[0] & 0x80);
	uint32_t len = (uint32_t)(n + pad);
	buf[(*off)++] = (unsigned char)(len >> 24);
	buf[(*off)++] = (unsigned char)(len >> 16);
	buf[(*off)++] = (unsigned char)(len >> 8);
	buf[(*off)++] = (unsigned char)len;
	if (pad)
		buf[(*off)++] = 0;
	memcpy(buf + *off, s, n);
	*off += n;
}

int keycrypto_ssh_generate(char **private_pem, char **public_line, char fp[KEYCRYPTO_FP_MAX])
{
	int rc = -1;
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	BIO *bio = NULL;
	unsigned char *blob = NULL, nb[520], eb[16];
	char *b64 = NULL, *priv = NULL;
	if (!pkey || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e) != 1 ||
	    BN_num_bytes(bn_n) > (int)sizeof nb || BN_num_bytes(bn_e) > (int)sizeof eb)
		goto out;
	size_t nn = (size_t)BN_bn2bin(bn_n, nb), en = (size_t)BN_bn2bin(bn_e, eb), off = 0;
	blob = malloc(64 + nn + en);
	if (!blob)
		goto out;
	put_string(blob, &off, (const unsigned char *)"ssh-rsa", 7, false);
	put_string(blob, &off, eb, en, true);
	put_string(blob, &off, nb, nn, true);
	b64 = b64_encode_alloc(blob, off);
	bio = BIO_new(BIO_s_mem());
	if (!b64 || !bio || PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	priv = bio_string(bio);
	size_t ln = strlen(b64) + 32;
	char *line = malloc(ln);
	if (!priv || !line) {
		free(line);
		goto out;
	}
	snprintf(line, ln, "ssh-rsa %s Generated-by-Nova", b64);
	if (keycrypto_ssh_fingerprint(line, fp)) {
		free(line);
		goto out;
	}
	*private_pem = priv;
	*public_line = line;
	priv = NULL;
	rc = 0;
out:
	free(priv);
	free(b64);
	free(blob);
	BIO_free(bio);
	BN_free(bn_n);
	BN_free(bn_e);
	EVP_PKEY_free(pkey);
	return rc;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

int keycrypto_x509_generate(const char *user_id, char **private_b64, char **cert_pem,
			    char fp[KEYCRYPTO_FP_MAX])
{
	int rc = -1;
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	PKCS12 *p12 = NULL;
	BIO *bio = NULL;
	unsigned char *der = NULL, serial[16];
	char *pem = NULL, *b64 = NULL, san[600];
	if (!pkey || !x || strlen(user_id) > 255)
		goto out;
	RAND_bytes(serial, sizeof serial);
	serial[0] &= 0x7F;
	BIGNUM *sn = BN_bin2bn(serial, sizeof serial, NULL);
	int ok = sn && BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) != NULL;
	BN_free(sn);
	X509_NAME *name = X509_get_subject_name(x);
	if (!ok || X509_set_version(x, 2) != 1 || !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400) || X509_set_pubkey(x, pkey) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)user_id, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto out;
	snprintf(san, sizeof san, "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:%s@localhost", user_id);
	if (add_ext(x, NID_basic_constraints, "CA:FALSE") ||
	    add_ext(x, NID_key_usage, "digitalSignature,keyEncipherment") ||
	    add_ext(x, NID_ext_key_usage, "clientAuth") || add_ext(x, NID_subject_alt_name, san) ||
	    X509_sign(x, pkey, EVP_sha256()) <= 0)
		goto out;
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_X509(bio, x) != 1 || !(pem = bio_string(bio)))
		goto out;
	p12 = PKCS12_create("", NULL, pkey, x, NULL, 0, 0, 0, 0, 0);
	int dn = p12 ? i2d_PKCS12(p12, &der) : -1;
	if (dn <= 0 || !(b64 = b64_encode_alloc(der, (size_t)dn)))
		goto out;
	char why[200];
	if (keycrypto_x509_fingerprint(pem, fp, why, sizeof why))
		goto out;
	*private_b64 = b64;
	*cert_pem = pem;
	b64 = pem = NULL;
	rc = 0;
out:
	free(pem);
	free(b64);
	OPENSSL_free(der);
	PKCS12_free(p12);
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}
