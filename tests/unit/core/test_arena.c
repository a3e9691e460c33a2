/* test_arena.c — unit tests for src/core/arena.c: alignment and zeroing, big allocations next
 * to small ones, string helpers, and deferred cleanups running most recent first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

static void test_new_free(void **state)
{
	(void)state;
	arena_free(NULL);                 /* destructors accept NULL */
	struct arena *a = arena_new();
	assert_non_null(a);
	arena_free(a);                    /* an empty arena frees cleanly */
}

static void test_alignment_and_zeroing(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	for (size_t n = 0; n < 300; n++) {
		unsigned char *p = arena_alloc(a, n);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		assert_int_equal((uintptr_t)p % 16, 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(p[i], 0);
		memset(p, 0xa5, n);           /* dirty it: the next block must still come zeroed */
	}
	/* A type that needs the strictest alignment. */
	long double *ld = arena_alloc(a, sizeof *ld * 3);
	ld[0] = 1.5L;
	ld[2] = 2.5L;
	assert_true(ld[0] + ld[2] == 4.0L);
	arena_free(a);
}

/* Fills blocks with their own index and checks none was overwritten by another. */
static void test_blocks_do_not_overlap(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	enum { N = 5000 };
	unsigned char **blocks = calloc(N, sizeof *blocks);
	size_t *sizes = calloc(N, sizeof *sizes);
	for (int i = 0; i < N; i++) {
		sizes[i] = (size_t)(i * 37 % 700) + 1;
		if (i % 500 == 0)
			sizes[i] = 20000 + (size_t)i;     /* now and then a big one */
		blocks[i] = arena_alloc(a, sizes[i]);
		memset(blocks[i], i & 0xff, sizes[i]);
	}
	for (int i = 0; i < N; i++)
		for (size_t j = 0; j < sizes[i]; j++)
			if (blocks[i][j] != (unsigned char)(i & 0xff))
				fail_msg("block %d byte %zu overwritten", i, j);
	free(blocks);
	free(sizes);
	arena_free(a);
}

static void test_big_allocations(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	char *s1 = arena_alloc(a, 32);
	/* Bigger than a chunk: gets its own, zeroed, fully writable. */
	size_t big = 4u << 20;
	unsigned char *b = arena_alloc(a, big);
	assert_non_null(b);
	assert_int_equal((uintptr_t)b % 16, 0);
	assert_int_equal(b[0], 0);
	assert_int_equal(b[big - 1], 0);
	memset(b, 0xff, big);
	/* The big block does not waste the partly used chunk: small blocks keep coming from it. */
	char *s2 = arena_alloc(a, 32);
	assert_ptr_equal(s2, s1 + 32);
	/* Several big blocks in a row, then more small ones. */
	for (int i = 0; i < 8; i++) {
		unsigned char *p = arena_alloc(a, 9000 + (size_t)i * 100000);
		memset(p, i, 9000 + (size_t)i * 100000);
	}
	char *s3 = arena_alloc(a, 32);
	assert_ptr_equal(s3, s2 + 32);
	assert_int_equal(b[big / 2], 0xff);
	arena_free(a);
}

static void test_strings(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	assert_null(arena_strdup(a, NULL));
	assert_null(arena_strndup(a, NULL, 3));
	char src[] = "hello world";
	char *d = arena_strdup(a, src);
	assert_string_equal(d, "hello world");
	assert_ptr_not_equal(d, src);
	src[0] = 'j';
	assert_string_equal(d, "hello world");
	assert_string_equal(arena_strndup(a, "abcdef", 3), "abc");
	assert_string_equal(arena_strndup(a, "abcdef", 0), "");
	assert_string_equal(arena_strdup(a, ""), "");
	assert_string_equal(arena_printf(a, "%s-%d-%05.1f", "x", 42, 3.14159), "x-42-003.1");
	assert_string_equal(arena_printf(a, "%s", ""), "");
	/* Longer than a chunk. */
	char *long_s = malloc(20001);
	memset(long_s, 'z', 20000);
	long_s[20000] = 0;
	char *p = arena_printf(a, "<%s>", long_s);
	assert_int_equal(strlen(p), 20002);
	assert_int_equal(p[0], '<');
	assert_int_equal(p[20001], '>');
	assert_int_equal(p[10000], 'z');
	free(long_s);
	arena_free(a);
}

struct trace {
	char order[16];
	int n;
};

static void mark_a(void *arg) { struct trace *t = arg; t->order[t->n++] = 'a'; }
static void mark_b(void *arg) { struct trace *t = arg; t->order[t->n++] = 'b'; }
static void mark_c(void *arg) { struct trace *t = arg; t->order[t->n++] = 'c'; }

static void test_defer_order(void **state)
{
	(void)state;
	struct trace t = { .n = 0 };
	struct arena *a = arena_new();
	arena_defer(a, mark_a, &t);
	arena_defer(a, mark_b, &t);
	arena_alloc(a, 100000);           /* cleanups survive chunk changes */
	arena_defer(a, mark_c, &t);
	assert_int_equal(t.n, 0);         /* nothing runs before arena_free */
	arena_free(a);
	assert_int_equal(t.n, 3);
	assert_memory_equal(t.order, "cba", 3);
}

/* A cleanup may still read arena memory: cleanups run before the chunks go. */
static int arena_string_checks;

static void check_arena_string(void *arg)
{
	assert_string_equal((const char *)arg, "still here");
	arena_string_checks++;
}

static void test_defer_frees_resources(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	for (int i = 0; i < 100; i++)     /* leak-checked under ASan */
		arena_defer(a, free, xmalloc(64));
	arena_defer(a, check_arena_string, arena_strdup(a, "still here"));
	arena_string_checks = 0;
	arena_free(a);
	assert_int_equal(arena_string_checks, 1);
}

static void test_x_helpers(void **state)
{
	(void)state;
	void *p = xmalloc(0);             /* never NULL, even for zero */
	assert_non_null(p);
	free(p);
	int *z = xcalloc(16, sizeof *z);
	for (int i = 0; i < 16; i++)
		assert_int_equal(z[i], 0);
	z = xrealloc(z, 1024 * sizeof *z);
	z[1023] = 7;
	assert_int_equal(z[0], 0);
	free(z);
	p = xcalloc(0, 0);
	assert_non_null(p);
	free(p);
	char *s = xstrdup("dup");
	assert_string_equal(s, "dup");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_alignment_and_zeroing),
		cmocka_unit_test(test_blocks_do_not_overlap),
		cmocka_unit_test(test_big_allocations),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_defer_order),
		cmocka_unit_test(test_defer_frees_resources),
		cmocka_unit_test(test_x_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
