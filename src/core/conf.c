/* conf.c — option registry, INI loading through inih, typed getters and the sample writer. */
#include "core/conf.h"
#include "core/arena.h"
#include "core/util.h"
#include <ini.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CONF_MAX_TABLES 32

struct conf_val {
	const struct conf_opt *opt;
	char *value;        /* set value, or NULL for the default */
	char *expanded;     /* default with $data_dir expanded, cached */
};

static const struct conf_opt *tables[CONF_MAX_TABLES];
static int ntables;
static struct conf_val *vals;
static size_t nvals;
static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;

static void rebuild(void)
{
	size_t n = 0;
	for (int t = 0; t < ntables; t++)
		for (const struct conf_opt *o = tables[t]; o->name; o++)
			n++;
	struct conf_val *nv = xcalloc(n, sizeof *nv);
	size_t i = 0;
	for (int t = 0; t < ntables; t++)
		for (const struct conf_opt *o = tables[t]; o->name; o++, i++) {
			nv[i].opt = o;
			for (size_t j = 0; j < nvals; j++)
				if (vals[j].opt == o) {
					nv[i].value = vals[j].value;
					vals[j].value = NULL;
				}
		}
	for (size_t j = 0; j < nvals; j++) {
		free(vals[j].value);
		free(vals[j].expanded);
	}
	free(vals);
	vals = nv;
	nvals = n;
}

void conf_register(const struct conf_opt *opts)
{
	pthread_mutex_lock(&conf_lock);
	for (int t = 0; t < ntables; t++)
		if (tables[t] == opts) {
			pthread_mutex_unlock(&conf_lock);
			return;
		}
	if (ntables == CONF_MAX_TABLES)
		abort();
	tables[ntables++] = opts;
	rebuild();
	pthread_mutex_unlock(&conf_lock);
}

static struct conf_val *find(const char *section, const char *name)
{
	for (size_t i = 0; i < nvals; i++)
		if (!strcmp(vals[i].opt->section, section) && !strcmp(vals[i].opt->name, name))
			return &vals[i];
	return NULL;
}

static int check_type(const struct conf_opt *o, const char *value)
{
	int64_t iv;
	bool bv;
	if (o->type == CONF_INT)
		return parse_int64(value, INT64_MIN, INT64_MAX, &iv);
	if (o->type == CONF_BOOL)
		return parse_bool(value, &bv);
	return 0;
}

int conf_set(const char *section, const char *name, const char *value)
{
	struct conf_val *v = find(section, name);
	if (!v || check_type(v->opt, value))
		return -1;
	free(v->value);
	v->value = xstrdup(value);
	for (size_t i = 0; i < nvals; i++) { /* $data_dir may have changed */
		free(vals[i].expanded);
		vals[i].expanded = NULL;
	}
	return 0;
}

struct load_state {
	char *err;
	size_t errlen;
	int failed;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	if (!name)
		return 1;
	const char *sec = *section ? section : "DEFAULT";
	struct conf_val *v = find(sec, name);
	if (!v) {
		snprintf(st->err, st->errlen, "unknown option [%s] %s", sec, name);
		st->failed = 1;
		return 0;
	}
	if (conf_set(sec, name, value)) {
		snprintf(st->err, st->errlen, "bad value for [%s] %s: %s", sec, name, value);
		st->failed = 1;
		return 0;
	}
	return 1;
}

int conf_load(const char *path, char *err, size_t errlen)
{
	struct load_state st = { err, errlen, 0 };
	int r = ini_parse(path, on_ini, &st);
	if (st.failed)
		return -1;
	if (r < 0) {
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	if (r > 0) {
		snprintf(err, errlen, "%s: syntax error on line %d", path, r);
		return -1;
	}
	return 0;
}

const char *conf_str(const char *section, const char *name)
{
	struct conf_val *v = find(section, name);
	if (!v)
		abort();
	const char *raw = v->value ? v->value : v->opt->def;
	const char *p = strstr(raw, "$data_dir");
	if (!p || !strcmp(name, "data_dir"))
		return raw;
	pthread_mutex_lock(&conf_lock);
	if (!v->expanded) {
		const char *dd = conf_str("DEFAULT", "data_dir");
		size_t n = strlen(raw) + strlen(dd) + 1;
		char *e = xmalloc(n);
		snprintf(e, n, "%.*s%s%s", (int)(p - raw), raw, dd, p + strlen("$data_dir"));
		v->expanded = e;
	}
	pthread_mutex_unlock(&conf_lock);
	return v->expanded;
}

int64_t conf_int(const char *section, const char *name)
{
	int64_t v = 0;
	const char *s = conf_str(section, name);
	if (*s && parse_int64(s, INT64_MIN, INT64_MAX, &v))
		abort();
	return v;
}

bool conf_bool(const char *section, const char *name)
{
	bool b = false;
	const char *s = conf_str(section, name);
	if (*s && parse_bool(s, &b))
		abort();
	return b;
}

void conf_write_sample(FILE *f)
{
	fprintf(f, "# monostack configuration. Every option is shown with its default, commented out.\n");
	const char *last = NULL;
	for (size_t i = 0; i < nvals; i++) {
		const struct conf_opt *o = vals[i].opt;
		if (!last || strcmp(last, o->section)) {
			fprintf(f, "\n[%s]\n", o->section);
			last = o->section;
		}
		fprintf(f, "\n# %s\n", o->help);
		fprintf(f, "# (%s)\n", o->type == CONF_INT ? "integer" : o->type == CONF_BOOL ? "boolean" : "string");
		fprintf(f, "#%s = %s\n", o->name, o->def);
	}
}

void conf_reset(void)
{
	for (size_t i = 0; i < nvals; i++) {
		free(vals[i].value);
		free(vals[i].expanded);
		vals[i].value = vals[i].expanded = NULL;
	}
}
