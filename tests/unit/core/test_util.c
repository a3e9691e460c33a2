/* test_util.c — unit tests for src/core/util.c: UUIDs, time formatting and parsing (offsets,
 * fractions, round trips), base64url, bounded integer and boolean parsing, URL decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

/* 2026-11-23T01:08:50Z */
#define T0 INT64_C(1795396130)

static void test_uuid_hex(void **state)
{
	(void)state;
	char a[33], b[33];
	uuid_hex(a);
	uuid_hex(b);
	assert_int_equal(strlen(a), 32);
	assert_string_not_equal(a, b);
	for (int i = 0; i < 32; i++)
		assert_true(isxdigit((unsigned char)a[i]) && !isupper((unsigned char)a[i]));
	assert_int_equal(a[12], '4');                 /* version 4 */
	assert_non_null(strchr("89ab", a[16]));       /* RFC 4122 variant */
	assert_true(uuid_valid(a));
}

static void test_uuid_dashed(void **state)
{
	(void)state;
	char a[37];
	uuid_dashed(a);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[8], '-');
	assert_int_equal(a[13], '-');
	assert_int_equal(a[18], '-');
	assert_int_equal(a[23], '-');
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_true(uuid_valid(a));
}

static void test_uuid_valid(void **state)
{
	(void)state;
	assert_true(uuid_valid("0123456789abcdef0123456789abcdef"));
	assert_true(uuid_valid("0123456789ABCDEF0123456789ABCDEF"));
	assert_true(uuid_valid("01234567-89ab-cdef-0123-456789abcdef"));
	assert_false(uuid_valid(""));
	assert_false(uuid_valid("default"));
	assert_false(uuid_valid("0123456789abcdef0123456789abcde"));    /* 31 */
	assert_false(uuid_valid("0123456789abcdef0123456789abcdef0"));  /* 33 */
	assert_false(uuid_valid("0123456789abcdef0123456789abcdeg"));
	assert_false(uuid_valid("01234567-89ab-cdef-0123456789abcdef0"));  /* dash misplaced */
	assert_false(uuid_valid("0123456789ab-cdef-0123-456789abcdef"));
	assert_false(uuid_valid("01234567089ab0cdef001230456789abcdef")); /* 36, no dashes */
}

static void check_format(int64_t us, int frac, bool z, const char *want)
{
	char out[40];
	time_format(us, frac, z, out);
	assert_string_equal(out, want);
}

static void test_time_format(void **state)
{
	(void)state;
	check_format(0, 6, true, "1970-01-01T00:00:00.000000Z");
	check_format(0, 0, true, "1970-01-01T00:00:00Z");
	check_format(T0 * 1000000 + 123456, 6, true, "2026-11-23T01:08:50.123456Z");
	check_format(T0 * 1000000 + 123456, 3, true, "2026-11-23T01:08:50.123Z");
	check_format(T0 * 1000000 + 123456, 0, true, "2026-11-23T01:08:50Z");
	check_format(T0 * 1000000 + 123456, 6, false, "2026-11-23T01:08:50.123456");
	check_format(T0 * 1000000, 6, false, "2026-11-23T01:08:50.000000");
	check_format(T0 * 1000000 + 999999, 0, false, "2026-11-23T01:08:50");
	/* Before the epoch the fraction still counts forwards from the whole second below. */
	check_format(-1, 6, true, "1969-12-31T23:59:59.999999Z");
	check_format(-1500000, 6, true, "1969-12-31T23:59:58.500000Z");
	check_format(-1000000, 6, true, "1969-12-31T23:59:59.000000Z");
	/* Leap day. */
	check_format(INT64_C(951782400) * 1000000, 0, true, "2000-02-29T00:00:00Z");
}

static void check_parse(const char *s, int64_t want)
{
	int64_t us = -42;
	if (time_parse(s, &us) != 0)
		fail_msg("time_parse rejected \"%s\"", s);
	if (us != want)
		fail_msg("time_parse(\"%s\") = %lld, want %lld", s, (long long)us, (long long)want);
}

static void test_time_parse(void **state)
{
	(void)state;
	const int64_t t = T0 * 1000000;
	check_parse("2026-11-23T01:08:50Z", t);
	check_parse("2026-11-23T01:08:50", t);            /* no zone: UTC */
	check_parse("2026-11-23t01:08:50z", t);
	check_parse("2026-11-23 01:08:50Z", t);
	check_parse("2026-11-23T01:08:50.123456Z", t + 123456);
	check_parse("2026-11-23T01:08:50.123456", t + 123456);
	check_parse("2026-11-23T01:08:50.5Z", t + 500000);
	check_parse("2026-11-23T01:08:50.000001Z", t + 1);
	check_parse("2026-11-23T01:08:50.123Z", t + 123000);
	check_parse("2026-11-23T01:08:50.123456789Z", t + 123456); /* beyond µs: truncated */
	check_parse("2026-11-23T01:08Z", t - 50 * 1000000);
	check_parse("2026-11-23", (T0 - 3600 - 8 * 60 - 50) * 1000000);
	check_parse("1970-01-01T00:00:00Z", 0);
	check_parse("1969-12-31T23:59:59.5Z", -500000);
	/* Offsets: local time minus the offset is UTC. */
	check_parse("2026-11-23T03:08:50+02:00", t);
	check_parse("2026-11-23T03:08:50+0200", t);
	check_parse("2026-11-23T03:08:50+02", t);
	check_parse("2026-11-22T19:38:50-05:30", t);
	check_parse("2026-11-22T19:38:50.250000-05:30", t + 250000);
	check_parse("2026-11-23T01:08:50+00:00", t);
	check_parse("2026-11-23T01:08:50-00:00", t);
	check_parse("2026-11-23T00:08:50.999999-01:00", t + 999999 + 0);
}

static void check_reject(const char *s)
{
	int64_t us = 777;
	if (time_parse(s, &us) == 0)
		fail_msg("time_parse accepted \"%s\"", s);
	assert_int_equal(us, 777); /* untouched on failure */
}

static void test_time_parse_rejects(void **state)
{
	(void)state;
	check_reject("");
	check_reject("2026");
	check_reject("2026-11");
	check_reject("2026/11/23");
	check_reject("26-11-23");
	check_reject("2026-13-01");
	check_reject("2026-00-01");
	check_reject("2026-11-00");
	check_reject("2026-11-32");
	check_reject("2026-11-23T24:00:00Z");
	check_reject("2026-11-23T01:60:00Z");
	check_reject("2026-11-23T01:08:61Z");
	check_reject("2026-11-23T1:08:50Z");
	check_reject("2026-11-23T01:08:50.Z");
	check_reject("2026-11-23T01:08:50ZZ");
	check_reject("2026-11-23T01:08:50Z ");
	check_reject("2026-11-23T01:08:50+2");
	check_reject("2026-11-23T01:08:50+02:0");
	check_reject("2026-11-23T01:08:50+02:00junk");
	check_reject("2026-11-23T");
	check_reject("2026-11-23Tjunk");
	check_reject("now");
}

static void test_time_round_trip(void **state)
{
	(void)state;
	/* A spread of instants from 1900 to 2999, with and without microseconds. */
	uint64_t seed = UINT64_C(88172645463325252);
	for (int i = 0; i < 2000; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		uint64_t span = (UINT64_C(32503680000) + UINT64_C(2208988800)) * 1000000;
		int64_t us = (int64_t)(seed % span) - INT64_C(2208988800) * 1000000;
		char s[40];
		int64_t back;
		time_format(us, 6, true, s);
		assert_int_equal(time_parse(s, &back), 0);
		assert_int_equal(back, us);
		time_format(us, 6, false, s);
		assert_int_equal(time_parse(s, &back), 0);
		assert_int_equal(back, us);
		/* Whole seconds survive the fraction-less form; floor for negatives. */
		time_format(us, 0, true, s);
		assert_int_equal(time_parse(s, &back), 0);
		int64_t floor_s = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
		assert_int_equal(back, floor_s * 1000000);
	}
	/* And now, which is what tokens carry. */
	int64_t now = time_now_us(), back;
	char s[40];
	time_format(now, 6, true, s);
	assert_int_equal(time_parse(s, &back), 0);
	assert_int_equal(back, now);
}

static void test_time_now(void **state)
{
	(void)state;
	int64_t a = time_now_us();
	int64_t b = (int64_t)time(NULL) * 1000000;
	assert_true(a > b - 2000000 && a < b + 2000000);
	assert_true(time_now_us() >= a);
}

static void check_b64(const char *raw, const char *want)
{
	char out[64];
	unsigned char back[64];
	size_t n = strlen(raw);
	assert_int_equal(b64url_encode((const unsigned char *)raw, n, out), strlen(want));
	assert_string_equal(out, want);
	assert_int_equal(b64url_decode(out, strlen(out), back, sizeof back), (long)n);
	assert_memory_equal(back, raw, n);
}

static void test_b64url_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10, without padding. */
	check_b64("", "");
	check_b64("f", "Zg");
	check_b64("fo", "Zm8");
	check_b64("foo", "Zm9v");
	check_b64("foob", "Zm9vYg");
	check_b64("fooba", "Zm9vYmE");
	check_b64("foobar", "Zm9vYmFy");
	/* The URL-safe alphabet. */
	char out[16];
	const unsigned char hi[] = { 0xfb, 0xff, 0xbf };
	b64url_encode(hi, 3, out);
	assert_string_equal(out, "-_-_");
	b64url_encode(hi, 2, out);
	assert_string_equal(out, "-_8");
	/* Standard base64 keeps its padding and alphabet. */
	b64_encode(hi, 3, out);
	assert_string_equal(out, "+/+/");
	b64_encode((const unsigned char *)"f", 1, out);
	assert_string_equal(out, "Zg==");
	b64_encode((const unsigned char *)"fo", 2, out);
	assert_string_equal(out, "Zm8=");
	b64_encode((const unsigned char *)"", 0, out);
	assert_string_equal(out, "");
}

static void test_url_encode(void **state)
{
	(void)state;
	char out[64], back[64];
	url_encode("a b/c~d_e.f-g&h=%", out, false);
	assert_string_equal(out, "a%20b%2Fc~d_e.f-g%26h%3D%25");
	url_encode("a b+c", out, true);
	assert_string_equal(out, "a+b%2Bc");
	url_decode(out, back, true);                 /* round trip */
	assert_string_equal(back, "a b+c");
	url_encode("\xc3\xa9", out, false);
	assert_string_equal(out, "%C3%A9");
}

static void test_b64url_decode(void **state)
{
	(void)state;
	unsigned char out[16];
	/* Padding optional; the standard alphabet is accepted too. */
	assert_int_equal(b64url_decode("Zg==", 4, out, sizeof out), 1);
	assert_int_equal(out[0], 'f');
	assert_int_equal(b64url_decode("Zm8=", 4, out, sizeof out), 2);
	assert_int_equal(b64url_decode("+/+/", 4, out, sizeof out), 3);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[2], 0xbf);
	assert_int_equal(b64url_decode("-_-_", 4, out, sizeof out), 3);
	assert_int_equal(out[1], 0xff);
	/* Only n bytes are read. */
	assert_int_equal(b64url_decode("Zm9vYmFy", 4, out, sizeof out), 3);
	assert_memory_equal(out, "foo", 3);
	/* Bad input. */
	assert_int_equal(b64url_decode("Z", 1, out, sizeof out), -1);
	assert_int_equal(b64url_decode("Zm9vY", 5, out, sizeof out), -1);
	assert_int_equal(b64url_decode("Zm9v!", 5, out, sizeof out), -1);
	assert_int_equal(b64url_decode("Zm 9v", 5, out, sizeof out), -1);
	assert_int_equal(b64url_decode("Zg==Zg", 6, out, sizeof out), -1);
	assert_int_equal(b64url_decode("Zm9v\n", 5, out, sizeof out), -1);
	/* Never writes past outcap. */
	unsigned char small[4] = { 0, 0, 0, 0x5a };
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, small, 3), -1);
	assert_int_equal(small[3], 0x5a);
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, small, 0), -1);
	assert_int_equal(b64url_decode("", 0, small, 0), 0);
}

static void test_b64url_round_trip(void **state)
{
	(void)state;
	unsigned char in[200], back[200];
	char enc[4 * (200 / 3 + 1) + 1];
	for (size_t n = 0; n <= sizeof in; n++) {
		util_random(in, n);
		size_t el = b64url_encode(in, n, enc);
		assert_int_equal(el, strlen(enc));
		assert_int_equal(el, (n * 4 + 2) / 3);
		assert_null(strpbrk(enc, "+/="));
		assert_int_equal(b64url_decode(enc, el, back, n), (long)n);
		assert_memory_equal(in, back, n);
	}
}

static void test_hex_and_memeq(void **state)
{
	(void)state;
	char out[9];
	const unsigned char b[] = { 0x00, 0x9f, 0xa0, 0xff };
	hex_encode(b, 4, out);
	assert_string_equal(out, "009fa0ff");
	hex_encode(b, 0, out);
	assert_string_equal(out, "");
	assert_true(util_memeq_ct("abcd", "abcd", 4));
	assert_false(util_memeq_ct("abcd", "abce", 4));
	assert_false(util_memeq_ct("xbcd", "abcd", 4));
	assert_true(util_memeq_ct("a", "b", 0));
}

static void test_random(void **state)
{
	(void)state;
	unsigned char a[64], b[64], z[64] = { 0 };
	util_random(a, sizeof a);
	util_random(b, sizeof b);
	assert_memory_not_equal(a, b, sizeof a);
	assert_memory_not_equal(a, z, sizeof a);
	util_random(a, 0);
}

static void test_parse_int64(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(parse_int64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_int64("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_int64("-5", -5, 5, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_int64("+7", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_int64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(parse_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);

	v = 99;
	assert_int_equal(parse_int64("11", 0, 10, &v), -1);
	assert_int_equal(parse_int64("-1", 0, 10, &v), -1);
	assert_int_equal(parse_int64("-6", -5, 5, &v), -1);
	assert_int_equal(parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(parse_int64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(parse_int64("99999999999999999999999", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(parse_int64("", 0, 10, &v), -1);
	assert_int_equal(parse_int64(NULL, 0, 10, &v), -1);
	assert_int_equal(parse_int64("1a", 0, 10, &v), -1);
	assert_int_equal(parse_int64("1 ", 0, 10, &v), -1);
	assert_int_equal(parse_int64("1.5", 0, 10, &v), -1);
	assert_int_equal(parse_int64("0x5", 0, 10, &v), -1);
	assert_int_equal(parse_int64("-", 0, 10, &v), -1);
	assert_int_equal(parse_int64("abc", 0, 10, &v), -1);
	assert_int_equal(v, 99); /* untouched on failure */
}

static void test_parse_bool(void **state)
{
	(void)state;
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "1", "on", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "NO", "0", "off", "Off" };
	static const char *const bad[] = { "", "2", "truee", "y", "n", "t", "f", " true", "00", "enabled" };
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		bool b = false;
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
		bool b = true;
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		bool b = true;
		if (parse_bool(bad[i], &b) != -1)
			fail_msg("parse_bool accepted \"%s\"", bad[i]);
		assert_true(b);
	}
	bool b = true;
	assert_int_equal(parse_bool(NULL, &b), -1);
	assert_true(b);
}

static void check_decode(const char *in, bool form, const char *want)
{
	char out[64];
	url_decode(in, out, form);
	assert_string_equal(out, want);
}

static void test_url_decode(void **state)
{
	(void)state;
	check_decode("", false, "");
	check_decode("plain", false, "plain");
	check_decode("%41%62c", false, "Abc");
	check_decode("%2f%2F", false, "//");
	check_decode("a+b", false, "a+b");
	check_decode("a+b", true, "a b");
	check_decode("a%2Bb", true, "a+b");
	check_decode("%20x%20", false, " x ");
	check_decode("%E2%82%AC", false, "\xe2\x82\xac");
	/* Malformed escapes pass through literally. */
	check_decode("%", false, "%");
	check_decode("%4", false, "%4");
	check_decode("%zz", false, "%zz");
	check_decode("%4g", false, "%4g");
	check_decode("100%", true, "100%");
	check_decode("%%41", false, "%A");
	/* In place works: the output never outgrows the input. */
	char buf[] = "a%20b+c";
	url_decode(buf, buf, true);
	assert_string_equal(buf, "a b c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_hex),
		cmocka_unit_test(test_uuid_dashed),
		cmocka_unit_test(test_uuid_valid),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_parse_rejects),
		cmocka_unit_test(test_time_round_trip),
		cmocka_unit_test(test_time_now),
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_url_encode),
		cmocka_unit_test(test_b64url_decode),
		cmocka_unit_test(test_b64url_round_trip),
		cmocka_unit_test(test_hex_and_memeq),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_parse_int64),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_url_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
