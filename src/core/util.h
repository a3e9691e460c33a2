/* util.h — small helpers with no OpenStack meaning: ids, randomness, times, base64url, strings,
 * whole writes and mkdir -p. */
#ifndef CORE_UTIL_H
#define CORE_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cryptographically random bytes (getrandom); aborts if the kernel cannot supply them. */
void util_random(void *buf, size_t n);
/* A random UUID4 as 32 lowercase hex digits (Keystone's id form), into out[33]. */
void uuid_hex(char out[33]);
/* A random UUID4 in the dashed 36-character form, into out[37]. */
void uuid_dashed(char out[37]);
/* True when s is 32 hex digits or a dashed UUID. */
bool uuid_valid(const char *s);

/* Microseconds since the epoch (wall clock). */
int64_t time_now_us(void);
/* Formats microseconds since the epoch as OpenStack prints times:
 * "2026-11-23T01:08:50.123456Z" (frac=6), "2026-11-23T01:08:50.000000Z", or without fraction
 * (frac=0: "2026-11-23T01:08:50Z"); tz_z=false prints no zone suffix ("...:50.123456"). */
void time_format(int64_t us, int frac, bool tz_z, char out[40]);
/* Parses an ISO-8601 time (date, optional time, fraction, Z or +hh:mm); returns 0 or -1. */
int time_parse(const char *s, int64_t *us);

/* URL-safe base64 without padding; returns the encoded length (out must hold 4*ceil(n/3)+1). */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);
/* Decodes URL-safe base64 with or without padding; returns decoded length or -1. */
long b64url_decode(const char *in, size_t n, unsigned char *out, size_t outcap);
/* Standard base64 with padding (for Content-MD5 and the like). */
size_t b64_encode(const unsigned char *in, size_t n, char *out);
/* Lowercase hex of n bytes into out[2n+1]. */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Parses a decimal integer in [min,max]; returns 0 or -1 (no trailing junk). */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses true/false/yes/no/1/0/on/off (case-insensitive); returns 0 or -1. */
int parse_bool(const char *s, bool *out);
/* Constant-time comparison of n bytes. */
bool util_memeq_ct(const void *a, const void *b, size_t n);
/* Decodes %XX (and '+' as space when form is true) into out (at least strlen(in)+1 bytes). */
void url_decode(const char *in, char *out, bool form);
/* Percent-encodes everything but letters, digits and -._~ (a space as '+' when form is true)
 * into out (at least 3 * strlen(in) + 1 bytes). */
void url_encode(const char *in, char *out, bool form);

/* Writes all n bytes to fd, retrying short writes and EINTR: 0, or -1 with errno set. */
int util_write_all(int fd, const void *buf, size_t n);
/* mkdir -p: creates dir and its missing parents (parents with parent_mode, dir itself with
 * mode); existing directories are fine. 0, or -1 with errno set (ENAMETOOLONG past PATH_MAX). */
int util_mkdir_p(const char *dir, unsigned parent_mode, unsigned mode);

#endif
