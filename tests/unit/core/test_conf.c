/* test_conf.c — unit tests for src/core/conf.c: registered tables and their defaults,
 * $data_dir expansion, loading INI files, rejection of unknown options and bad values, and
 * the sample configuration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/conf.h"

static const struct conf_opt opts[] = {
	{ "DEFAULT", "data_dir", CONF_STR, "/var/lib/monostack", "directory of everything" },
	{ "unit", "name", CONF_STR, "monostack", "a name" },
	{ "unit", "port", CONF_INT, "8770", "a port number" },
	{ "unit", "debug", CONF_BOOL, "false", "print more" },
	{ "unit", "keys", CONF_STR, "$data_dir/keys", "the key directory" },
	{ "unit", "no_int", CONF_INT, "", "an integer without default" },
	{ "unit", "no_bool", CONF_BOOL, "", "a boolean without default" },
	{ "unit", "no_str", CONF_STR, "", "a string without default" },
	{ "other", "connection", CONF_STR, "sqlite:///$data_dir/monostack.db", "database URL" },
	{ "other", "limit", CONF_INT, "-5", "a negative default" },
	{ NULL, NULL, CONF_STR, NULL, NULL },
};

static const struct conf_opt late_opts[] = {
	{ "late", "answer", CONF_INT, "42", "registered after values were set" },
	{ NULL, NULL, CONF_STR, NULL, NULL },
};

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/monostack-test-conf-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	conf_register(opts);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	conf_reset();
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	(void)state;
	conf_reset();
	return 0;
}

/* Writes text to a file in the temporary directory; returns its path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_defaults(void **state)
{
	(void)state;
	assert_string_equal(conf_str("unit", "name"), "monostack");
	assert_int_equal(conf_int("unit", "port"), 8770);
	assert_false(conf_bool("unit", "debug"));
	assert_int_equal(conf_int("other", "limit"), -5);
	/* An empty default reads as "", 0 and false. */
	assert_string_equal(conf_str("unit", "no_str"), "");
	assert_int_equal(conf_int("unit", "no_int"), 0);
	assert_false(conf_bool("unit", "no_bool"));
}

static void test_register_twice_and_late(void **state)
{
	(void)state;
	conf_register(opts);              /* a no-op */
	assert_int_equal(conf_set("unit", "port", "1234"), 0);
	/* Registering another table keeps the values already set. */
	conf_register(late_opts);
	assert_int_equal(conf_int("unit", "port"), 1234);
	assert_int_equal(conf_int("late", "answer"), 42);
	assert_int_equal(conf_set("late", "answer", "43"), 0);
	assert_int_equal(conf_int("late", "answer"), 43);
	conf_reset();
	assert_int_equal(conf_int("unit", "port"), 8770);
	assert_int_equal(conf_int("late", "answer"), 42);
}

static void test_data_dir_expansion(void **state)
{
	(void)state;
	assert_string_equal(conf_str("unit", "keys"), "/var/lib/monostack/keys");
	assert_string_equal(conf_str("other", "connection"), "sqlite:////var/lib/monostack/monostack.db");
	/* Changing data_dir re-expands (the cached expansion is dropped). */
	assert_int_equal(conf_set("DEFAULT", "data_dir", "/srv/ms"), 0);
	assert_string_equal(conf_str("unit", "keys"), "/srv/ms/keys");
	assert_string_equal(conf_str("other", "connection"), "sqlite:////srv/ms/monostack.db");
	/* A value set explicitly is expanded too (config-sample lines can be uncommented as-is). */
	assert_int_equal(conf_set("unit", "keys", "$data_dir/literal"), 0);
	assert_string_equal(conf_str("unit", "keys"), "/srv/ms/literal");
	assert_int_equal(conf_set("unit", "keys", "/plain/path"), 0);
	assert_string_equal(conf_str("unit", "keys"), "/plain/path");
	conf_reset();
	assert_string_equal(conf_str("unit", "keys"), "/var/lib/monostack/keys");
}

static void test_set_validates(void **state)
{
	(void)state;
	assert_int_equal(conf_set("unit", "port", "80"), 0);
	assert_int_equal(conf_int("unit", "port"), 80);
	assert_int_equal(conf_set("unit", "port", "eighty"), -1);
	assert_int_equal(conf_set("unit", "port", "80x"), -1);
	assert_int_equal(conf_set("unit", "port", ""), -1);
	assert_int_equal(conf_set("unit", "port", "99999999999999999999"), -1);
	assert_int_equal(conf_int("unit", "port"), 80);   /* a rejected value changes nothing */
	assert_int_equal(conf_set("unit", "debug", "Yes"), 0);
	assert_true(conf_bool("unit", "debug"));
	assert_int_equal(conf_set("unit", "debug", "maybe"), -1);
	assert_true(conf_bool("unit", "debug"));
	assert_int_equal(conf_set("unit", "name", "anything at all"), 0);
	assert_string_equal(conf_str("unit", "name"), "anything at all");
	assert_int_equal(conf_set("unit", "nosuch", "1"), -1);
	assert_int_equal(conf_set("nosuch", "name", "1"), -1);
	assert_int_equal(conf_set("other", "name", "1"), -1); /* right name, wrong section */
}

static void test_load_file(void **state)
{
	(void)state;
	char text[512];
	snprintf(text, sizeof text,
		 "# a comment\n"
		 "; another comment\n"
		 "data_dir = %s/data\n"           /* before any section: [DEFAULT] */
		 "\n"
		 "[unit]\n"
		 "name = hello world\n"
		 "port=9000\n"
		 "debug = on\n"
		 "\n"
		 "[other]\n"
		 "limit = -7\n"
		 "[DEFAULT]\n"
		 "\n", tmpdir);
	char err[256] = "";
	assert_int_equal(conf_load(write_file("good.conf", text), err, sizeof err), 0);
	assert_string_equal(conf_str("unit", "name"), "hello world");
	assert_int_equal(conf_int("unit", "port"), 9000);
	assert_true(conf_bool("unit", "debug"));
	assert_int_equal(conf_int("other", "limit"), -7);
	char want[128];
	snprintf(want, sizeof want, "%s/data/keys", tmpdir);
	assert_string_equal(conf_str("unit", "keys"), want);
	/* Options the file does not mention keep their defaults. */
	assert_int_equal(conf_int("unit", "no_int"), 0);

	/* A second file overrides only what it sets. */
	assert_int_equal(conf_load(write_file("more.conf", "[unit]\nport = 9001\n"), err, sizeof err), 0);
	assert_int_equal(conf_int("unit", "port"), 9001);
	assert_string_equal(conf_str("unit", "name"), "hello world");
}

static void test_load_rejects_unknown(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(conf_load(write_file("unknown.conf", "[unit]\nport = 1\nbogus = 1\n"),
				   err, sizeof err), -1);
	assert_non_null(strstr(err, "bogus"));
	assert_non_null(strstr(err, "unit"));

	err[0] = 0;
	assert_int_equal(conf_load(write_file("section.conf", "[nowhere]\nname = x\n"), err, sizeof err), -1);
	assert_non_null(strstr(err, "nowhere"));

	err[0] = 0;
	assert_int_equal(conf_load(write_file("default.conf", "port = 1\n"), err, sizeof err), -1);
	assert_non_null(strstr(err, "DEFAULT"));
}

static void test_load_rejects_bad_values(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(conf_load(write_file("badint.conf", "[unit]\nport = 12abc\n"), err, sizeof err), -1);
	assert_non_null(strstr(err, "port"));
	assert_non_null(strstr(err, "12abc"));
	assert_int_equal(conf_int("unit", "port"), 8770);

	err[0] = 0;
	assert_int_equal(conf_load(write_file("badbool.conf", "[unit]\ndebug = perhaps\n"), err, sizeof err), -1);
	assert_non_null(strstr(err, "debug"));
	assert_false(conf_bool("unit", "debug"));
}

static void test_load_errors(void **state)
{
	(void)state;
	char err[256] = "", path[128];
	snprintf(path, sizeof path, "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(conf_load(path, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot read"));

	err[0] = 0;
	assert_int_equal(conf_load(write_file("syntax.conf", "[unit]\nport = 1\n[broken\n"), err, sizeof err), -1);
	assert_non_null(strstr(err, "line 3"));

	err[0] = 0;
	assert_int_equal(conf_load(write_file("noeq.conf", "[unit]\njust words\n"), err, sizeof err), -1);
	assert_non_null(strstr(err, "line 2"));
}

/* The sample as a string (malloc'd), through a file as `monostack config-sample > f` would. */
static char *sample(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/sample.out", tmpdir);
	FILE *f = fopen(path, "w+");
	assert_non_null(f);
	conf_write_sample(f);
	long len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	char *buf = malloc((size_t)len + 1);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = 0;
	fclose(f);
	return buf;
}

static void test_sample_has_every_option(void **state)
{
	(void)state;
	conf_register(late_opts);
	char *s = sample();
	const struct conf_opt *tabs[] = { opts, late_opts };
	for (size_t t = 0; t < 2; t++)
		for (const struct conf_opt *o = tabs[t]; o->name; o++) {
			char line[256], sec[64], help[256];
			snprintf(line, sizeof line, "\n#%s = %s\n", o->name, o->def);
			snprintf(sec, sizeof sec, "\n[%s]\n", o->section);
			snprintf(help, sizeof help, "\n# %s\n", o->help);
			const char *at_sec = strstr(s, sec);
			if (!at_sec)
				fail_msg("sample lacks section [%s]", o->section);
			const char *at = strstr(at_sec, line);
			if (!at)
				fail_msg("sample lacks [%s] %s", o->section, o->name);
			/* ...inside its own section: no other section header between them. */
			const char *next = strstr(at_sec + 1, "\n[");
			if (next && next < at)
				fail_msg("[%s] %s is printed outside its section", o->section, o->name);
			assert_non_null(strstr(s, help));
		}
	assert_non_null(strstr(s, "(integer)"));
	assert_non_null(strstr(s, "(boolean)"));
	assert_non_null(strstr(s, "(string)"));
	/* Each section header appears once. */
	const char *first = strstr(s, "\n[unit]\n");
	assert_null(strstr(first + 1, "\n[unit]\n"));

	/* The sample loads as it is (everything is commented out)... */
	char err[256] = "";
	assert_int_equal(conf_load(write_file("sample.conf", s), err, sizeof err), 0);
	assert_int_equal(conf_int("unit", "port"), 8770);
	/* ...and with every non-empty default uncommented. */
	size_t n = strlen(s);
	char *un = malloc(n + 1);
	size_t o = 0;
	for (const char *line = s; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) + 1 : strlen(line);
		const char *eq = memchr(line, '=', len);
		bool is_opt = line[0] == '#' && line[1] != ' ' && eq && eq + 2 < line + len - 1;
		memcpy(un + o, line + (is_opt ? 1 : 0), len - (is_opt ? 1 : 0));
		o += len - (is_opt ? 1 : 0);
		line += len;
	}
	un[o] = 0;
	assert_non_null(strstr(un, "\nport = 8770\n"));
	if (conf_load(write_file("uncommented.conf", un), err, sizeof err))
		fail_msg("uncommented sample rejected: %s", err);
	assert_int_equal(conf_int("unit", "port"), 8770);
	assert_string_equal(conf_str("unit", "name"), "monostack");
	free(un);
	free(s);
}

static void test_unregistered_option_aborts(void **state)
{
	(void)state;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		conf_str("nosuch", "option");
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_register_twice_and_late, setup),
		cmocka_unit_test_setup(test_data_dir_expansion, setup),
		cmocka_unit_test_setup(test_set_validates, setup),
		cmocka_unit_test_setup(test_load_file, setup),
		cmocka_unit_test_setup(test_load_rejects_unknown, setup),
		cmocka_unit_test_setup(test_load_rejects_bad_values, setup),
		cmocka_unit_test_setup(test_load_errors, setup),
		cmocka_unit_test_setup(test_sample_has_every_option, setup),
		cmocka_unit_test_setup(test_unregistered_option_aborts, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
