/* token.h — the identity service's token payload (inside a Fernet envelope), issuing,
 * validation with its cache, and the pieces the auth handlers share. Private to src/identity. */
#ifndef IDENTITY_TOKEN_H
#define IDENTITY_TOKEN_H
#include "identity/ident.h"

enum token_scope { SCOPE_NONE, SCOPE_PROJECT, SCOPE_DOMAIN, SCOPE_SYSTEM };

struct token_payload {
	unsigned methods;                 /* enum auth_method bits */
	enum token_scope scope;
	char user_id[IDENT_ID_MAX + 1];
	char scope_id[IDENT_ID_MAX + 1];  /* project or domain id; "all" for system */
	char app_cred_id[IDENT_ID_MAX + 1];
	char trust_id[IDENT_ID_MAX + 1];  /* OS-TRUST: set on a trust-scoped token (project scope) */
	char audit_id[24];                /* 22 characters of URL-safe base64 */
	char audit_chain_id[24];          /* "" when this token starts its chain */
	int64_t issued_at, expires_at;    /* microseconds */
};

/* Encrypts a payload into a token string (malloc'd). */
char *token_encode(struct identity *id, const struct token_payload *p);
/* Decrypts and parses a token; 0 or -1 (malformed, forged, unknown key). */
int token_decode(struct identity *id, const char *token, struct token_payload *p);
/* A fresh audit id into out[24]. */
void token_new_audit_id(char out[24]);

/* Builds the validated context and the {"token": {...}} body (without catalog) for a payload,
 * checking revocation and the current state of user, scope, roles and application
 * credential. The context lives in arena a. 0, or ERR_NOTFOUND/ERR_UNAUTH with msg. */
int token_build(struct identity *id, struct db_conn *c, struct arena *a, const char *token,
		const struct token_payload *p, struct auth_ctx **out, char *msg, size_t msglen);

/* The validator registered with auth (cached). */
int token_validate(void *data, struct arena *a, const char *token, bool allow_expired,
		   const struct auth_ctx **out, char *msg, size_t msglen);

/* Token cache, keyed by token text, valid for one identity generation. */
struct token_cache *token_cache_new(void);
void token_cache_free(struct token_cache *tc);

/* True when a revocation event matches the payload (reloads events when the generation moved). */
bool token_revoked(struct identity *id, struct db_conn *c, const struct token_payload *p,
		   const char *user_domain_id, const char *project_domain_id);

/* The catalog for a token scoped to project_id (NULL otherwise): cached per generation unless
 * some endpoint URL carries a $(project_id)s template. New reference. */
json_t *token_catalog(struct identity *id, struct db_conn *c, const char *project_id);

#endif
