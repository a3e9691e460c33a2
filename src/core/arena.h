/* arena.h — a bump allocator for per-request memory, freed all at once.
 * Everything a request allocates from its arena lives until arena_free(). */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H
#include <stddef.h>
#include <stdarg.h>

struct arena;

/* A new empty arena; aborts on out-of-memory (like every allocator here). */
struct arena *arena_new(void);
/* Frees the arena and everything allocated from it; accepts NULL. */
void arena_free(struct arena *a);
/* Zeroed memory of n bytes, aligned for any type. */
void *arena_alloc(struct arena *a, size_t n);
/* Copies of strings; NULL in gives NULL out. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* A formatted string. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);

/* Runs fn(arg) when the arena is freed (most recent first): ties other resources to a request. */
void arena_defer(struct arena *a, void (*fn)(void *), void *arg);

/* Abort-on-failure heap helpers for long-lived objects (free with free()). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
