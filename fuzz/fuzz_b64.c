/* fuzz_b64.c — libFuzzer target for b64url_decode() (src/core/util.c), which decodes tokens,
 * keys and audit ids from clients. The output buffer is sized exactly so that any write past
 * outcap trips ASan; what decodes must encode and decode back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	/* The first byte picks the output capacity: enough, short by a little, or tiny. */
	size_t n = size - 1, need = n / 4 * 3 + 3;
	size_t cap = data[0] % 3 == 0 ? need : data[0] % 3 == 1 ? need / 2 : data[0] / 3 % 8;
	const char *in = (const char *)data + 1;
	unsigned char *out = malloc(cap ? cap : 1);
	long len = b64url_decode(in, n, out, cap);
	if (len > (long)cap)
		abort();
	if (len >= 0) {
		char *enc = malloc(4 * ((size_t)len / 3 + 1) + 1);
		size_t el = b64url_encode(out, (size_t)len, enc);
		if (el != strlen(enc))
			abort();
		unsigned char *back = malloc((size_t)len + 1);
		if (b64url_decode(enc, el, back, (size_t)len) != len || memcmp(back, out, (size_t)len))
			abort();
		free(back);
		free(enc);
	}
	/* And the other direction: any bytes encode and decode back. */
	char *enc = malloc(4 * (n / 3 + 1) + 1);
	size_t el = b64url_encode((const unsigned char *)in, n, enc);
	unsigned char *back = malloc(n + 1);
	if (b64url_decode(enc, el, back, n) != (long)n || memcmp(back, in, n))
		abort();
	char *std = malloc(4 * (n / 3 + 1) + 1);
	b64_encode((const unsigned char *)in, n, std);
	if (b64url_decode(std, strlen(std), back, n) != (long)n || memcmp(back, in, n))
		abort();
	free(std);
	free(back);
	free(enc);
	free(out);
	return 0;
}
