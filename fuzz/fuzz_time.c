/* fuzz_time.c — libFuzzer target for time_parse() (src/core/util.c), which reads times from
 * query strings and request bodies. Checks that whatever it accepts in years 0000-9999
 * formats and parses back to the same instant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define MIN_US (INT64_C(-62167219200) * 1000000)          /* 0000-01-01T00:00:00Z */
#define MAX_US (INT64_C(253402300800) * 1000000 - 1)      /* 9999-12-31T23:59:59.999999Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	int64_t us;
	if (time_parse(s, &us) == 0 && us >= MIN_US && us <= MAX_US) {
		char out[40];
		int64_t back;
		time_format(us, 6, true, out);
		if (time_parse(out, &back) || back != us)
			abort();                  /* the formatter and the parser disagree */
		time_format(us, 0, false, out);
		time_format(us, 3, true, out);
	}
	free(s);
	return 0;
}
