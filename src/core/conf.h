/* conf.h — INI configuration (inih) with a declared default for every option.
 * Modules declare their options as a static table and register it before conf_load();
 * `monostack config-sample` prints every registered option with its help text. */
#ifndef CORE_CONF_H
#define CORE_CONF_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type { CONF_STR, CONF_INT, CONF_BOOL };

struct conf_opt {
	const char *section;
	const char *name;
	enum conf_type type;
	const char *def;    /* default as text; "" for none; "$data_dir" is replaced by [DEFAULT] data_dir */
	const char *help;
};

/* Registers a NULL-name-terminated option table (kept by pointer). At most 32 tables. */
void conf_register(const struct conf_opt *opts);
/* Reads an INI file; unknown sections/options are an error (message into err). 0 or -1. */
int conf_load(const char *path, char *err, size_t errlen);
/* Sets one option (command-line overrides); validates its type. 0 or -1. */
int conf_set(const char *section, const char *name, const char *value);
/* Values: the set value or the default. Asking for an unregistered option aborts. */
const char *conf_str(const char *section, const char *name);
int64_t conf_int(const char *section, const char *name);
bool conf_bool(const char *section, const char *name);
/* Writes a commented sample configuration of every registered option. */
void conf_write_sample(FILE *f);
/* Forgets every set value (tests). */
void conf_reset(void);

#endif
