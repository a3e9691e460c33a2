/* password.c — password and secret hashing with bcrypt ($2b$) through libxcrypt, and the
 * configurable password rules. Hashing is deliberately slow: callers keep it out of
 * transactions and locks. */
#include "identity/ident.h"
#include "core/conf.h"
#include <crypt.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

char *ident_password_hash(const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char rnd[16];
	util_random(rnd, sizeof rnd);
	int64_t rounds = conf_int("identity", "password_hash_rounds");
	if (!crypt_gensalt_rn("$2b$", (unsigned long)rounds, (const char *)rnd, sizeof rnd, salt, sizeof salt))
		return NULL;
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	char *h = crypt_r(password, salt, cd);
	char *out = (h && h[0] == '$') ? xstrdup(h) : NULL;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return out;
}

bool ident_password_verify(const char *password, const char *hash)
{
	if (!password || !hash || hash[0] != '$')
		return false;
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	char *h = crypt_r(password, hash, cd);
	bool ok = h && h[0] == '$' && strlen(h) == strlen(hash) && util_memeq_ct(h, hash, strlen(hash));
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

int ident_password_policy(struct http_req *r, const char *password)
{
	const char *re = conf_str("security_compliance", "password_regex");
	if (!*re)
		return 0;
	regex_t rx;
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB)) {
		log_error("invalid [security_compliance] password_regex");
		return http_error(r, ERR_INTERNAL, "The password rules are misconfigured.");
	}
	int m = regexec(&rx, password, 0, NULL, 0);
	regfree(&rx);
	if (m) {
		const char *desc = conf_str("security_compliance", "password_regex_description");
		return http_error(r, ERR_BADREQ, "Password validation error: The password does not meet "
				  "the requirements: %s.", *desc ? desc : re);
	}
	return 0;
}
