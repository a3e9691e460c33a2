/* fuzz_token.c — libFuzzer target for token_decode() (src/identity/token_payload.c), which
 * parses every X-Auth-Token and X-Subject-Token. Input byte 0 picks the mode:
 *   even: the rest is a token string, as a client would send it;
 *   odd:  the rest is a payload, sealed with the service's own keys first, so the fuzzer
 *         reaches the payload parser behind the HMAC. What decodes must re-encode to a token
 *         that decodes to the same payload. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keys never change here: token_payload.c's reload hook does nothing (service.c not linked). */
void ident_keys_refresh(struct identity *id) { (void)id; }

static struct identity *service(void)
{
	static struct identity id;
	static bool ready;
	if (ready)
		return &id;
	char dir[] = "/tmp/monostack-fuzz-token-XXXXXX", keys[64], err[256], p[96];
	if (!mkdtemp(dir))
		abort();
	snprintf(keys, sizeof keys, "%s/keys", dir);
	if (fernet_setup(keys, err, sizeof err) || !(id.keys = fernet_load(keys, err, sizeof err))) {
		fprintf(stderr, "fuzz_token: %s\n", err);
		abort();
	}
	for (int i = 0; i < 2; i++) {     /* the keys are in memory now */
		snprintf(p, sizeof p, "%s/%d", keys, i);
		unlink(p);
	}
	rmdir(keys);
	rmdir(dir);
	pthread_rwlock_init(&id.keys_lock, NULL);
	ready = true;
	return &id;
}

static bool same(const struct token_payload *a, const struct token_payload *b)
{
	return a->methods == b->methods && a->scope == b->scope &&
	       !strcmp(a->user_id, b->user_id) && !strcmp(a->scope_id, b->scope_id) &&
	       !strcmp(a->app_cred_id, b->app_cred_id) && !strcmp(a->audit_id, b->audit_id) &&
	       !strcmp(a->audit_chain_id, b->audit_chain_id) &&
	       a->issued_at == b->issued_at && a->expires_at == b->expires_at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	struct identity *id = service();
	struct token_payload p;
	char *token;
	if (data[0] % 2 == 0) {
		token = malloc(size);
		memcpy(token, data + 1, size - 1);
		token[size - 1] = 0;
	} else {
		token = fernet_encrypt(id->keys, data + 1, size - 1, 1795396130);
	}
	if (token_decode(id, token, &p) == 0) {
		if (!p.user_id[0] || p.scope > SCOPE_SYSTEM || strlen(p.user_id) > IDENT_ID_MAX ||
		    strlen(p.scope_id) > IDENT_ID_MAX || strlen(p.app_cred_id) > IDENT_ID_MAX ||
		    strlen(p.audit_id) >= sizeof p.audit_id || strlen(p.audit_chain_id) >= sizeof p.audit_chain_id)
			abort();
		char *again = token_encode(id, &p);
		struct token_payload q;
		if (!again || token_decode(id, again, &q) || !same(&p, &q))
			abort();                  /* a payload we accept must survive a round trip */
		free(again);
	}
	free(token);
	return 0;
}
