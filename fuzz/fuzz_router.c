/* fuzz_router.c — libFuzzer target for router_match() (src/core/router.c), which matches
 * every request path against a service's route table. The first byte picks the method, the
 * rest is the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int h(struct http_req *r) { (void)r; return 0; }

static const struct route table[] = {
	{ "GET", "/", h, NULL, ROUTE_PUBLIC },
	{ "GET", "/v3", h, NULL, ROUTE_PUBLIC },
	{ "POST", "/v3/auth/tokens", h, NULL, ROUTE_PUBLIC },
	{ "GET", "/v3/auth/tokens", h, "identity:validate_token", 0 },
	{ "HEAD", "/v3/auth/tokens", h, "identity:check_token", 0 },
	{ "DELETE", "/v3/auth/tokens", h, "identity:revoke_token", 0 },
	{ "GET", "/v3/users", h, "identity:list_users", 0 },
	{ "POST", "/v3/users", h, "identity:create_user", 0 },
	{ "GET", "/v3/users/{user_id}", h, "identity:get_user", 0 },
	{ "PATCH", "/v3/users/{user_id}", h, "identity:update_user", 0 },
	{ "DELETE", "/v3/users/{user_id}", h, "identity:delete_user", 0 },
	{ "GET", "/v3/users/{user_id}/groups", h, NULL, 0 },
	{ "PUT", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", h, NULL, 0 },
	{ "GET", "/v3/a/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}", h, NULL, 0 },
	{ "GET", "/v3/b/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}/{p9}", h, NULL, 0 },
	{ "GET", "/v3/{x}", h, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	const char *method = methods[data[0] % 8];
	char *path = malloc(size);
	memcpy(path, data + 1, size - 1);
	path[size - 1] = 0;
	struct http_req r;
	memset(&r, 0, sizeof r);
	r.arena = arena_new();
	bool known = false;
	const struct route *rt = router_match(table, &r, method, path, &known);
	if (rt) {
		if (!known || r.nparams < 0 || r.nparams > HTTP_MAX_PARAMS)
			abort();
		if (strcmp(rt->method, method) && !(strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0))
			abort();
		size_t plen = strlen(path);
		for (int i = 0; i < r.nparams; i++)
			if (!r.params[i] || !r.param_names[i] || !*r.param_names[i] ||
			    strlen(r.params[i]) > plen)
				abort();
	}
	arena_free(r.arena);
	free(path);
	return 0;
}
