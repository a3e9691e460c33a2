/* test_router.c — unit tests for src/core/router.c: parameter capture, trailing slashes,
 * 405-versus-404 signalling through path_known, HEAD falling back to GET, decoded parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/router.h"

static int h_list(struct http_req *r) { (void)r; return 0; }
static int h_create(struct http_req *r) { (void)r; return 0; }
static int h_get(struct http_req *r) { (void)r; return 0; }
static int h_update(struct http_req *r) { (void)r; return 0; }
static int h_delete(struct http_req *r) { (void)r; return 0; }
static int h_groups(struct http_req *r) { (void)r; return 0; }
static int h_grant(struct http_req *r) { (void)r; return 0; }
static int h_root(struct http_req *r) { (void)r; return 0; }
static int h_head_only(struct http_req *r) { (void)r; return 0; }
static int h_head_get(struct http_req *r) { (void)r; return 0; }
static int h_post_only(struct http_req *r) { (void)r; return 0; }

static const struct route table[] = {
	{ "GET", "/", h_root, NULL, ROUTE_PUBLIC },
	{ "GET", "/v3/users", h_list, "identity:list_users", 0 },
	{ "POST", "/v3/users", h_create, "identity:create_user", 0 },
	{ "GET", "/v3/users/{user_id}", h_get, "identity:get_user", 0 },
	{ "PATCH", "/v3/users/{user_id}", h_update, "identity:update_user", 0 },
	{ "DELETE", "/v3/users/{user_id}", h_delete, "identity:delete_user", 0 },
	{ "GET", "/v3/users/{user_id}/groups", h_groups, NULL, 0 },
	{ "PUT", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", h_grant, NULL, 0 },
	{ "HEAD", "/v3/auth/tokens", h_head_only, NULL, 0 },
	{ "GET", "/v3/auth/tokens", h_head_get, NULL, 0 },
	{ "POST", "/v3/auth/tokens", h_post_only, NULL, ROUTE_PUBLIC },
	{ "GET", "/v3/many/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_get, NULL, 0 },
	{ "GET", "/v2/images", h_list, NULL, ROUTE_EXACT },
	{ "GET", "/v2/images/{image_id}", h_get, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

static int setup(void **state)
{
	struct http_req *r = calloc(1, sizeof *r);
	r->arena = arena_new();
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct http_req *r = *state;
	arena_free(r->arena);
	free(r);
	return 0;
}

static const struct route *match(struct http_req *r, const char *method, const char *path,
				 bool *known)
{
	return router_match(table, r, method, path, known);
}

static void test_static_paths(void **state)
{
	struct http_req *r = *state;
	bool known = false;
	const struct route *rt = match(r, "GET", "/v3/users", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_list);
	assert_true(known);
	assert_int_equal(r->nparams, 0);

	rt = match(r, "POST", "/v3/users", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_create);
	assert_int_equal(rt->flags, 0);

	rt = match(r, "GET", "/", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_root);
	assert_int_equal(rt->flags, ROUTE_PUBLIC);
	/* An empty path is the root. */
	rt = match(r, "GET", "", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_root);
}

static void test_params(void **state)
{
	struct http_req *r = *state;
	bool known;
	const struct route *rt = match(r, "GET", "/v3/users/abc123", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_get);
	assert_string_equal(rt->policy, "identity:get_user");
	assert_int_equal(r->nparams, 1);
	assert_string_equal(r->param_names[0], "user_id");
	assert_string_equal(r->params[0], "abc123");
	assert_string_equal(http_param(r, "user_id"), "abc123");
	assert_null(http_param(r, "project_id"));

	rt = match(r, "PUT", "/v3/projects/p1/users/u2/roles/r3", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_grant);
	assert_int_equal(r->nparams, 3);
	assert_string_equal(r->param_names[0], "project_id");
	assert_string_equal(r->param_names[1], "user_id");
	assert_string_equal(r->param_names[2], "role_id");
	assert_string_equal(http_param(r, "project_id"), "p1");
	assert_string_equal(http_param(r, "user_id"), "u2");
	assert_string_equal(http_param(r, "role_id"), "r3");

	rt = match(r, "GET", "/v3/users/u9/groups", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_groups);
	assert_int_equal(r->nparams, 1);
	assert_string_equal(http_param(r, "user_id"), "u9");
}

static void test_param_must_not_be_empty(void **state)
{
	struct http_req *r = *state;
	bool known = true;
	assert_null(match(r, "GET", "/v3/users//groups", &known));
	assert_false(known);
	/* "/v3/users/" is the collection with a trailing slash, not an empty id. */
	const struct route *rt = match(r, "GET", "/v3/users/", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_list);
}

static void test_trailing_slash(void **state)
{
	struct http_req *r = *state;
	bool known;
	const struct route *rt = match(r, "GET", "/v3/users/abc/", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_get);
	assert_string_equal(http_param(r, "user_id"), "abc");

	rt = match(r, "GET", "/v3/users/abc/groups/", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_groups);

	/* Only one trailing slash is tolerated. */
	assert_null(match(r, "GET", "/v3/users//", &known));
	assert_false(known);
	assert_null(match(r, "GET", "/v3/users/abc//", &known));
	assert_false(known);
	/* No leading slash: nothing. */
	assert_null(match(r, "GET", "v3/users", &known));
	assert_false(known);
}

/* ROUTE_EXACT: the trailing slash names an empty id (Glance's 404), not the collection. */
static void test_exact_route(void **state)
{
	struct http_req *r = *state;
	bool known = true;
	assert_non_null(match(r, "GET", "/v2/images", &known));
	assert_null(match(r, "GET", "/v2/images/", &known));
	assert_false(known);
	assert_null(match(r, "DELETE", "/v2/images/", &known));
	assert_false(known);
	const struct route *rt = match(r, "GET", "/v2/images/x/", &known);
	assert_non_null(rt);
	assert_string_equal(http_param(r, "image_id"), "x");
}

static void test_join(void **state)
{
	(void)state;
	static const struct route a[] = { { "GET", "/a", h_list, NULL, 0 }, { NULL, NULL, NULL, NULL, 0 } };
	static const struct route b[] = { { NULL, NULL, NULL, NULL, 0 } };
	static const struct route c[] = { { "POST", "/c", h_create, NULL, 0 }, { "GET", "/c/{id}", h_get, NULL, 0 },
					  { NULL, NULL, NULL, NULL, 0 } };
	const struct route *const tables[] = { a, b, c };
	struct route *all = router_join(tables, 3);
	assert_string_equal(all[0].pattern, "/a");
	assert_string_equal(all[1].pattern, "/c");
	assert_ptr_equal(all[2].handler, h_get);
	assert_null(all[3].method);
	free(all);
}

static void test_not_found(void **state)
{
	struct http_req *r = *state;
	bool known = true;
	assert_null(match(r, "GET", "/v3/nothing", &known));
	assert_false(known);
	known = true;
	assert_null(match(r, "GET", "/v3/users/abc/groups/extra", &known));
	assert_false(known);
	known = true;
	assert_null(match(r, "GET", "/v3/user", &known));
	assert_false(known);
	known = true;
	assert_null(match(r, "GET", "/v3/usersx", &known));
	assert_false(known);
	known = true;
	assert_null(match(r, "GET", "/v3", &known));
	assert_false(known);
	known = true;
	assert_null(match(r, "PUT", "/v3/projects/p1/users/u2/roles", &known));
	assert_false(known);
	/* Matching is case-sensitive. */
	known = true;
	assert_null(match(r, "GET", "/V3/users", &known));
	assert_false(known);
}

static void test_method_not_allowed(void **state)
{
	struct http_req *r = *state;
	bool known = false;
	assert_null(match(r, "PUT", "/v3/users", &known));
	assert_true(known);
	known = false;
	assert_null(match(r, "POST", "/v3/users/abc", &known));
	assert_true(known);
	known = false;
	assert_null(match(r, "DELETE", "/v3/users/abc/groups", &known));
	assert_true(known);
	known = false;
	assert_null(match(r, "get", "/v3/users", &known)); /* methods are case-sensitive */
	assert_true(known);
}

static void test_head_falls_back_to_get(void **state)
{
	struct http_req *r = *state;
	bool known = false;
	const struct route *rt = match(r, "HEAD", "/v3/users/abc", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_get);
	assert_string_equal(rt->method, "GET");
	assert_true(known);
	assert_string_equal(http_param(r, "user_id"), "abc");

	rt = match(r, "HEAD", "/", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_root);

	/* An explicit HEAD route wins over the GET one. */
	rt = match(r, "HEAD", "/v3/auth/tokens", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_head_only);
	rt = match(r, "GET", "/v3/auth/tokens", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_head_get);

	/* HEAD on a path that only has other methods is a 405, on no path a 404. */
	assert_null(match(r, "HEAD", "/v3/projects/p/users/u/roles/x", &known));
	assert_true(known);
	assert_null(match(r, "HEAD", "/nowhere", &known));
	assert_false(known);
}

static void test_params_url_decoded(void **state)
{
	struct http_req *r = *state;
	bool known;
	const struct route *rt = match(r, "GET", "/v3/users/a%20b", &known);
	assert_non_null(rt);
	assert_string_equal(http_param(r, "user_id"), "a b");

	/* '+' is literal in a path; %2F decodes inside the segment without splitting it. */
	rt = match(r, "GET", "/v3/users/a+b%2Fc", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_get);
	assert_string_equal(http_param(r, "user_id"), "a+b/c");

	rt = match(r, "PATCH", "/v3/users/%E2%82%AC%zz%", &known);
	assert_non_null(rt);
	assert_ptr_equal(rt->handler, h_update);
	assert_string_equal(http_param(r, "user_id"), "\xe2\x82\xac%zz%");

	rt = match(r, "GET", "/v3/projects/p/users/u/roles/r", &known);
	assert_null(rt);
	assert_true(known);
}

static void test_param_limit(void **state)
{
	struct http_req *r = *state;
	bool known = true;
	/* A pattern with more parameters than HTTP_MAX_PARAMS never matches (nor overflows). */
	assert_null(match(r, "GET", "/v3/many/1/2/3/4/5/6/7/8/9", &known));
	assert_false(known);
}

static void test_params_live_in_arena(void **state)
{
	struct http_req *r = *state;
	bool known;
	char path[64];
	snprintf(path, sizeof path, "%s", "/v3/users/xyz");
	assert_non_null(match(r, "GET", path, &known));
	memset(path, 'Q', strlen(path)); /* the captured value must be a copy */
	assert_string_equal(http_param(r, "user_id"), "xyz");
	/* A later match replaces the parameters. */
	assert_non_null(match(r, "GET", "/v3/users", &known));
	assert_int_equal(r->nparams, 0);
	assert_null(http_param(r, "user_id"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_static_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_param_must_not_be_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trailing_slash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exact_route, setup, teardown),
		cmocka_unit_test(test_join),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_falls_back_to_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params_url_decoded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_param_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params_live_in_arena, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
